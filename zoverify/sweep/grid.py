"""Sweep items: (claim, law, parameters, seed, sample size) and the key that names each.

An item's key is a digest of its canonical JSON, so a result can be matched to
the item it answers whatever order, worker or run produced it (resumption
relies on this).  Grids come from the command line or from a TOML file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zoverify._errors import InvalidParameterError, ZoverifyError


@dataclass(frozen=True)
class Item:
    """One check to run: everything its result depends on.

    ``params`` holds only the parameters set for the sweep (sorted pairs), the
    claim's defaults fill in the rest; ``perturb`` multiplies the prediction by
    ``1 + perturb`` (0 for a calibration item, δ > 0 for a power item).
    """

    claim: str
    law: str
    params: tuple[tuple[str, Any], ...]
    seed: int
    num_samples: int
    alpha: float
    perturb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The item as plain JSON-able values (parameters as a mapping)."""
        data = asdict(self)
        data["params"] = dict(self.params)
        return data

    @property
    def key(self) -> str:
        """A digest of the item's canonical JSON: equal items, equal keys, in any process."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def parse_seeds(text: str) -> range:
    """``A:B`` -> seeds A, ..., B - 1 (non-negative, non-empty)."""
    start, sep, stop = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        first, last = int(start), int(stop)
    except ValueError:
        raise InvalidParameterError(f"--seeds expects A:B (seeds A to B-1, integers), got {text!r}") from None
    if first < 0:
        raise InvalidParameterError(f"--seeds must start at a non-negative seed, got {text!r}")
    if last <= first:
        raise InvalidParameterError(f"empty seed range {text!r}: A:B runs seeds A to B-1, so B must exceed A")
    return range(first, last)


def parse_param_items(items: Iterable[str]) -> dict[str, list[str]]:
    """Repeated ``KEY=VALUE`` strings -> KEY: [values] (a key given twice is a grid axis)."""
    values: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(f"--param expects KEY=VALUE, got {item!r}")
        values.setdefault(key.strip(), []).append(value.strip())
    return values


def build_items(
    names: Sequence[str],
    *,
    seeds: range,
    laws: Sequence[str] = (),
    params: Mapping[str, Sequence[Any]] | None = None,
    samples: Sequence[int | None] = (None,),
    alpha: float,
    perturb: Sequence[float] = (0.0,),
) -> list[Item]:
    """Every combination of claims x laws x parameter values x sizes x perturbations x seeds.

    Without ``laws`` each claim runs with its own default laws.  A parameter
    applies to the claims that declare it; a key no selected claim declares is
    refused.  Everything is validated here, before any item runs.
    """
    from zoverify.claims import select
    from zoverify.perturbations import parse_law

    if not names:
        raise InvalidParameterError("name at least one claim or family to sweep (see `zoverify list`)")
    if len(seeds) == 0:
        raise InvalidParameterError("empty seed range: A:B runs seeds A to B-1, so B must exceed A")
    if not 0 < alpha < 1:
        raise InvalidParameterError(f"--alpha must be in (0, 1), got {alpha}")
    for size in samples:
        if size is not None and int(size) < 1:
            raise InvalidParameterError(f"--samples must be positive, got {size}")
    for delta in perturb:
        if not delta > -1:
            raise InvalidParameterError(
                f"--perturb must exceed -1 (the prediction is scaled by 1 + delta), got {delta}"
            )
    claims = select(list(names))
    params = {k: list(v) for k, v in (params or {}).items()}
    for key in params:
        if not any(key in c.params for c in claims):
            accepted = sorted({k for c in claims for k in c.params}) or ["none"]
            raise InvalidParameterError(f"no selected claim has a parameter {key!r}; accepted: {', '.join(accepted)}")
    law_specs = [parse_law(spec).spec for spec in laws]
    items: list[Item] = []
    for claim in claims:
        own_keys = sorted(k for k in params if k in claim.params)
        combos = []
        for values in itertools.product(*(params[k] for k in own_keys)):
            overrides = dict(zip(own_keys, values, strict=True))
            resolved = claim.resolve_params(overrides)  # validates each value
            combos.append(tuple((k, resolved[k]) for k in own_keys))
        specs = law_specs or [parse_law(spec).spec for spec in claim.laws]
        for spec, combo, size, delta in itertools.product(specs, combos, samples, perturb):
            num_samples = int(size if size is not None else claim.num_samples)
            items += [Item(claim.name, spec, combo, int(s), num_samples, float(alpha), float(delta)) for s in seeds]
    return unique(items)


def unique(items: Iterable[Item]) -> list[Item]:
    """Items in order, each key once."""
    seen: dict[str, Item] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())


#: keys of a grid table in a TOML file, and what each holds
GRID_KEYS = {
    "claims": "claim names or families (list of strings)",
    "laws": "law specs (list of strings; default: each claim's own laws)",
    "seeds": '"A:B" (seeds A to B-1)',
    "samples": "Monte Carlo sample sizes (list of integers; default: each claim's own)",
    "alpha": "false-failure probability of one check (number)",
    "perturb": "relative errors put into the prediction (list of numbers; power items)",
    "params": "table KEY = value or [values]",
}


def load_grid_file(path: str | Path, *, default_alpha: float) -> list[Item]:
    """Items of a TOML grid file: one grid at top level, or several ``[[grid]]`` tables.

    Example::

        claims = ["stability.mc_decay", "entk.jl_bounds"]
        laws = ["gaussian", "rademacher"]
        seeds = "0:100"
        alpha = 0.05
        [params]
        d = [8, 16]
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ZoverifyError(f"cannot read grid file {str(path)!r}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ZoverifyError(f"grid file {str(path)!r} is not valid TOML: {exc}") from None
    tables = data.get("grid", [data]) if set(data) <= {"grid"} else [data]
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ZoverifyError(f"grid file {str(path)!r}: [[grid]] must be an array of tables")
    items: list[Item] = []
    for table in tables:
        items += _grid_table_items(table, where=str(path), default_alpha=default_alpha)
    return unique(items)


def _grid_table_items(table: Mapping[str, Any], *, where: str, default_alpha: float) -> list[Item]:
    unknown = sorted(set(table) - set(GRID_KEYS))
    if unknown:
        accepted = "; ".join(f"{k}: {v}" for k, v in GRID_KEYS.items())
        raise ZoverifyError(f"grid file {where!r}: unknown key {unknown[0]!r}; accepted: {accepted}")
    if "claims" not in table or "seeds" not in table:
        raise ZoverifyError(f'grid file {where!r}: a grid needs `claims` and `seeds` (e.g. seeds = "0:100")')
    raw_params = table.get("params", {})
    if not isinstance(raw_params, dict):
        raise ZoverifyError(f"grid file {where!r}: `params` must be a table (KEY = value or [values])")
    params = {k: v if isinstance(v, list) else [v] for k, v in raw_params.items()}
    samples = _numbers(table["samples"], "samples", where, integer=True) if "samples" in table else [None]
    (alpha,) = _numbers(table["alpha"], "alpha", where, single=True) if "alpha" in table else [default_alpha]
    return build_items(
        _strings(table["claims"], "claims", where),
        seeds=parse_seeds(table["seeds"]),
        laws=_strings(table.get("laws", []), "laws", where),
        params=params,
        samples=samples,
        alpha=float(alpha),
        perturb=[float(d) for d in _numbers(table.get("perturb", [0.0]), "perturb", where)],
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _numbers(value: Any, key: str, where: str, *, integer: bool = False, single: bool = False) -> list[Any]:
    """``value`` as a list of numbers (integers where ``integer``); one line naming the key otherwise."""
    values = [value] if single else _as_list(value)
    kinds = (int,) if integer else (int, float)
    if not all(isinstance(v, kinds) and not isinstance(v, bool) for v in values):
        what = "an integer" if integer else "a number"
        accepted = what if single else f"{what} or a list of them"
        raise ZoverifyError(f"grid file {where!r}: `{key}` must be {accepted}, got {value!r}")
    return values


def _strings(value: Any, key: str, where: str) -> list[str]:
    values = _as_list(value)
    if not all(isinstance(v, str) for v in values):
        raise ZoverifyError(f"grid file {where!r}: `{key}` must be a string or a list of strings")
    return values
