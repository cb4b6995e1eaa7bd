"""The table of claims, filled from light declarations; a claim's code is imported when it runs.

A family package (``zoverify/claims/<family>/__init__.py``) declares its claims:
name, statement, source, status and the module that implements each.  Importing
the declarations costs nothing (no torch, no sympy), so ``zoverify list`` and
``--help`` stay fast.  The implementing module calls :func:`register` with the
claim's experiment (prediction, simulation, decision rule); :meth:`ClaimEntry.load`
imports it on first use.  A user's own claim is registered whole, with its
statement and source, by the same :func:`register`.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoverify._errors import UnknownNameError
from zoverify.verify.verdict import Status, format_status

if TYPE_CHECKING:
    from zoverify.verify.claim import Claim

#: attributes of a loaded claim that an entry forwards (they live with the experiment)
_EXPERIMENT_ATTRIBUTES = frozenset(
    {
        "predict",
        "simulate",
        "test",
        "params",
        "laws",
        "num_samples",
        "applies_to",
        "bias_bound",
        "variance",
        "labels",
        "negative_delta",
        "negative_alternatives",
        "resolve_params",
    }
)


@dataclass(eq=False)
class ClaimEntry:
    """A registered claim: its declaration now, its experiment once :meth:`load` has run."""

    name: str
    statement: str
    source: str
    status: tuple[Status, ...]
    status_note: str = ""
    module: str | None = None  # the module whose import registers the experiment
    #: takes minutes: `zoverify check` runs it only when named, or with --slow
    slow: bool = False
    _claim: Claim | None = field(default=None, repr=False)

    @property
    def family(self) -> str:
        """The family: the part of the name before the first dot."""
        return self.name.split(".", 1)[0]

    @property
    def status_text(self) -> str:
        """The status tags and note as one line."""
        return format_status(self.status, self.status_note)

    @property
    def loaded(self) -> bool:
        """Whether the implementing module has been imported and the claim built."""
        return self._claim is not None

    def load(self) -> Claim:
        """The full claim, importing its implementing module the first time."""
        if self._claim is None and self.module is not None:
            importlib.import_module(self.module)
        if self._claim is None:
            raise RuntimeError(f"module {self.module} does not register claim {self.name}")
        return self._claim

    def __getattr__(self, attr: str) -> Any:
        if attr in _EXPERIMENT_ATTRIBUTES:
            return getattr(self.load(), attr)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {attr!r}")


@dataclass(frozen=True)
class Family:
    """A family's declarations, in the order ``zoverify list`` shows them."""

    name: str
    package: str
    title: str
    entries: list[ClaimEntry] = field(default_factory=list)

    def declare(
        self,
        short_name: str,
        *,
        module: str,
        statement: str,
        source: str,
        status: tuple[Status, ...],
        status_note: str = "",
        slow: bool = False,
    ) -> None:
        """Declare ``<family>.<short_name>``, implemented in ``<package>.<module>``."""
        if not status:
            raise ValueError(f"claim {self.name}.{short_name} needs at least one status")
        self.entries.append(
            ClaimEntry(
                name=f"{self.name}.{short_name}",
                statement=statement,
                source=source,
                status=tuple(Status(s) for s in status),
                status_note=status_note,
                module=f"{self.package}.{module}",
                slow=slow,
            )
        )


REGISTRY: dict[str, ClaimEntry] = {}


def add_family(family: Family) -> None:
    """Add a family's declarations to the registry (names are unique)."""
    for entry in family.entries:
        if entry.name in REGISTRY:
            raise ValueError(f"claim {entry.name} declared twice")
        REGISTRY[entry.name] = entry


def register(claim: Claim) -> Claim:
    """Register a claim's experiment.

    For a declared claim the declaration supplies statement, source and status;
    any other claim (a user's own) must carry them itself and is appended.
    """
    entry = REGISTRY.get(claim.name)
    if entry is None:
        if not (claim.statement and claim.source and claim.status):
            raise ValueError(f"claim {claim.name} is not declared, so it needs a statement, a source and a status")
        REGISTRY[claim.name] = ClaimEntry(
            claim.name, claim.statement, claim.source, tuple(claim.status), claim.status_note, module=None, _claim=claim
        )
        return claim
    if entry.loaded:
        raise ValueError(f"claim {claim.name} registered twice")
    if claim.statement and claim.statement != entry.statement:
        raise ValueError(f"claim {claim.name}: the implementation restates a different statement")
    entry._claim = dataclasses.replace(
        claim, statement=entry.statement, source=entry.source, status=entry.status, status_note=entry.status_note
    )
    return entry._claim


def select(names: list[str] | None = None, *, include_slow: bool = False) -> list[ClaimEntry]:
    """Claims by exact name or family prefix (``nzk`` selects ``nzk.*``); all if empty.

    A slow claim is selected by its exact name, or by a prefix only with ``include_slow``.
    """
    if not names:
        return [c for c in REGISTRY.values() if include_slow or not c.slow]
    chosen: list[ClaimEntry] = []
    for name in names:
        matches = [
            c
            for c in REGISTRY.values()
            if c.name == name or (c.name.startswith(name + ".") and (include_slow or not c.slow))
        ]
        if not matches:
            families = sorted({c.family for c in REGISTRY.values()})
            raise UnknownNameError(
                f"unknown claim {name!r}; accepted: a claim name from `zoverify list` "
                f"or a family ({', '.join(families)})"
            )
        chosen += [c for c in matches if c not in chosen]
    return chosen


__all__ = ["REGISTRY", "ClaimEntry", "Family", "add_family", "register", "select"]
