"""Calibration and power reports of a sweep's stored results.

Calibration (items with no perturbation): per (claim, law, parameters, sample
size, alpha), the measured false-failure rate, failures / decided checks, with
an exact binomial (Clopper-Pearson) interval and the one-sided binomial p-value
of the count against the stated alpha.  A pair is flagged when its rate is
above alpha, and marked significant when that p-value is below 0.05 divided
by the number of pairs (Bonferroni over pairs).  Inconclusive checks count in
the denominator but not as failures (a lack of power, not a false failure).

Power (items whose prediction was scaled by 1 + delta): the measured rejection
rate against the detectable size the checks state (quoted at 90 % power): a
pair is flagged when delta is at least that size yet the interval's upper end
is below 0.9.

Controls (the same unperturbed items): each claim's own negative controls, the
near misses a pass requires it to reject, judged on every seed's data.  Per
(cell, control) the measured rejection rate with its interval, and per cell the
rate at which every control was rejected; a row is flagged when its interval's
upper end is below 0.9, i.e. the claim rejects its own near miss with
significantly less than 90 % power.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: verdict strings as stored (zoverify.claims.Verdict values)
FAIL, INCONCLUSIVE, DECIDED = "fail", "inconclusive", ("pass", "fail", "inconclusive")
LEVEL = 0.95  # two-sided Clopper-Pearson level of each interval
FAMILY_LEVEL = 0.05  # Bonferroni over pairs for "significant"
POWER_QUANTILE = 0.9  # the power at which checks quote their detectable size


def clopper_pearson(k: int, n: int, *, level: float = LEVEL) -> tuple[float, float]:
    """Exact binomial interval for k successes in n trials (0 and 1 at the edges)."""
    from scipy import stats

    if n <= 0:
        return 0.0, 1.0
    tail = (1 - level) / 2
    low = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - tail, k + 1, n - k))
    return low, high


def binomial_excess_p(k: int, n: int, rate: float) -> float:
    """One-sided p-value P(X >= k) for X ~ Binomial(n, rate)."""
    from scipy import stats

    return float(stats.binom.sf(k - 1, n, rate)) if n else 1.0


def cell_name(claim: str, law: str, params: Mapping[str, Any]) -> str:
    """``claim [law] {parameters set}``: a grid cell's name in tables and plots."""
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{claim} [{law}]" + (f" {{{shown}}}" if shown else "")


@dataclass(frozen=True)
class PairRate:
    """Failures (rejections, for a perturbed pair) of one grid cell over its seeds."""

    claim: str
    law: str
    params: dict[str, Any]  # those the sweep set (the claim's defaults fill in the rest)
    num_samples: int
    alpha: float
    perturb: float
    checks: int  # decided: pass + fail + inconclusive
    failures: int
    inconclusive: int
    not_applicable: int
    rate: float
    ci_low: float
    ci_high: float
    p_value: float  # one-sided, against alpha
    detectable_rel: float | None  # median over seeds of the worst component's stated size
    flagged: bool
    significant: bool = False

    @property
    def label(self) -> str:
        """``claim [law] {parameters set}``, the row's name in tables and plots."""
        return cell_name(self.claim, self.law, self.params)


def group_rows(rows: Iterable[Mapping[str, Any]]) -> dict[tuple, list[Mapping[str, Any]]]:
    """Rows by grid cell: (claim, law, parameters set, sample size, alpha, perturbation)."""
    groups: dict[tuple, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        key = (
            row["claim"],
            row["law"],
            json.dumps(row.get("overrides", {}), sort_keys=True),
            row["num_samples"],
            row["alpha"],
            row.get("perturb", 0.0),
        )
        groups[key].append(row)
    return groups


def pair_rates(rows: Iterable[Mapping[str, Any]]) -> list[PairRate]:
    """One PairRate per grid cell, in first-seen order; flags as described in the module."""
    import numpy as np

    out = []
    for (claim, law, params, n_samples, alpha, perturb), group in group_rows(rows).items():
        decided = [r for r in group if r["verdict"] in DECIDED]
        failures = sum(r["verdict"] == FAIL for r in decided)
        checks = len(decided)
        low, high = clopper_pearson(failures, checks)
        sizes = [r["min_detectable_rel"] for r in decided if r.get("min_detectable_rel") is not None]
        detectable = float(np.median(sizes)) if sizes else None
        if perturb == 0:
            flagged = checks > 0 and failures / checks > alpha
        else:
            stated = detectable is not None and abs(perturb) >= detectable
            flagged = checks > 0 and stated and high < POWER_QUANTILE
        out.append(
            PairRate(
                claim=claim,
                law=law,
                params=json.loads(params),
                num_samples=n_samples,
                alpha=alpha,
                perturb=perturb,
                checks=checks,
                failures=failures,
                inconclusive=sum(r["verdict"] == INCONCLUSIVE for r in decided),
                not_applicable=len(group) - checks,
                rate=failures / checks if checks else float("nan"),
                ci_low=low,
                ci_high=high,
                p_value=binomial_excess_p(failures, checks, alpha),
                detectable_rel=detectable,
                flagged=flagged,
            )
        )
    calibration = [p for p in out if p.perturb == 0]
    cut = FAMILY_LEVEL / max(len(calibration), 1)
    return [
        PairRate(**{**asdict(p), "significant": p.flagged and p.p_value < cut}) if p.perturb == 0 else p for p in out
    ]


@dataclass(frozen=True)
class ControlRate:
    """How often one negative control (or, for ``control == ALL_CONTROLS``, every control) was rejected."""

    claim: str
    law: str
    params: dict[str, Any]
    num_samples: int
    alpha: float
    control: str
    checks: int  # decided checks whose controls were recorded
    rejections: int
    rate: float
    ci_low: float
    ci_high: float
    flagged: bool
    significant: bool = False  # (the forest plot's colour key; a control row is only ever flagged)

    @property
    def label(self) -> str:
        """``claim [law] {parameters set}: control``."""
        return f"{cell_name(self.claim, self.law, self.params)}: {self.control}"


ALL_CONTROLS = "every control"


def control_rates(rows: Iterable[Mapping[str, Any]]) -> list[ControlRate]:
    """Per unperturbed cell: each control's rejection rate over its seeds, then every control's at once.

    Rows written before control names were recorded count only towards the ``every control`` row."""
    out = []
    for (claim, law, params, n_samples, alpha, perturb), group in group_rows(rows).items():
        decided = [r for r in group if r["verdict"] in DECIDED and r.get("num_controls")]
        if perturb != 0 or not decided:
            continue
        named = [r for r in decided if r.get("controls")]
        names = list(dict.fromkeys(n for r in named for n in r["controls"]))
        counts = [
            (name, sum(name in r["controls"] for r in named), sum(name in r["controls_not_rejected"] for r in named))
            for name in names
        ]
        counts.append((ALL_CONTROLS, len(decided), sum(bool(r["controls_not_rejected"]) for r in decided)))
        for name, checks, kept in counts:
            rejections = checks - kept
            low, high = clopper_pearson(rejections, checks)
            out.append(
                ControlRate(
                    claim=claim,
                    law=law,
                    params=json.loads(params),
                    num_samples=n_samples,
                    alpha=alpha,
                    control=name,
                    checks=checks,
                    rejections=rejections,
                    rate=rejections / checks,
                    ci_low=low,
                    ci_high=high,
                    flagged=high < POWER_QUANTILE,
                )
            )
    return out


def totals(pairs: Sequence[PairRate]) -> list[dict[str, Any]]:
    """Calibration pairs pooled per alpha: failures / checks, interval and one-sided p."""
    by_alpha: dict[float, list[PairRate]] = defaultdict(list)
    for p in pairs:
        if p.perturb == 0:
            by_alpha[p.alpha].append(p)
    out = []
    for alpha, group in sorted(by_alpha.items()):
        k, n = sum(p.failures for p in group), sum(p.checks for p in group)
        low, high = clopper_pearson(k, n)
        out.append(
            {
                "alpha": alpha,
                "pairs": len(group),
                "failures": k,
                "checks": n,
                "inconclusive": sum(p.inconclusive for p in group),
                "rate": k / n if n else float("nan"),
                "ci_low": low,
                "ci_high": high,
                "p_value": binomial_excess_p(k, n, alpha),
            }
        )
    return out


def write_reports(rows: Sequence[Mapping[str, Any]], folder: str | Path) -> dict[str, Any]:
    """calibration.{md,png}, controls.{md,png} and, for perturbed items, power.{md,png}, with every table in
    report.json; returns the JSON payload."""
    folder = Path(folder)
    rows = list(rows)
    pairs = pair_rates(rows)
    controls = control_rates(rows)
    calibration = [p for p in pairs if p.perturb == 0]
    power = [p for p in pairs if p.perturb != 0]
    payload: dict[str, Any] = {
        "level": LEVEL,
        "calibration": [asdict(p) for p in calibration],
        "totals": totals(pairs),
        "power": [asdict(p) for p in power],
        "controls": [asdict(c) for c in controls],
    }
    if calibration:
        (folder / "calibration.md").write_text(calibration_markdown(calibration, payload["totals"]))
        forest_plot(calibration, folder / "calibration.png", power=False)
    if power:
        (folder / "power.md").write_text(power_markdown(power))
        forest_plot(power, folder / "power.png", power=True)
    if controls:
        (folder / "controls.md").write_text(controls_markdown(controls))
        forest_plot(controls, folder / "controls.png", power=True)
    (folder / "report.json").write_text(json.dumps(payload, indent=2, default=_jsonable))
    return payload


def _jsonable(value):
    return float(value) if hasattr(value, "__float__") else str(value)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.3g} %"


def calibration_markdown(pairs: Sequence[PairRate], pooled: Sequence[Mapping[str, Any]]) -> str:
    """The calibration table, one row per pair and one per alpha pooled."""
    lines = [
        "| claim [law] | n | α | failures / checks | rate | Clopper–Pearson 95 % | one-sided p | inconclusive | flag |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in pairs:
        flag = "**significant**" if p.significant else ("above α" if p.flagged else "")
        lines.append(
            f"| {p.label} | {p.num_samples} | {p.alpha:g} | {p.failures} / {p.checks} | {_pct(p.rate)} | "
            f"[{_pct(p.ci_low)}, {_pct(p.ci_high)}] | {p.p_value:.3g} | {p.inconclusive} | {flag} |"
        )
    for t in pooled:
        lines.append(
            f"| **all {t['pairs']} pairs** | | {t['alpha']:g} | {t['failures']} / {t['checks']} | "
            f"{_pct(t['rate'])} | [{_pct(t['ci_low'])}, {_pct(t['ci_high'])}] | {t['p_value']:.3g} | "
            f"{t['inconclusive']} | |"
        )
    return "\n".join(lines) + "\n"


def power_markdown(pairs: Sequence[PairRate]) -> str:
    """The power table: rejection rate of each perturbed pair against its stated detectable size."""
    lines = [
        "| claim [law] | n | α | δ | stated detectable | rejections / checks | rate | Clopper–Pearson 95 % | flag |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in pairs:
        size = "n/a" if p.detectable_rel is None else _pct(p.detectable_rel)
        lines.append(
            f"| {p.label} | {p.num_samples} | {p.alpha:g} | {p.perturb:g} | {size} | {p.failures} / "
            f"{p.checks} | {_pct(p.rate)} | [{_pct(p.ci_low)}, {_pct(p.ci_high)}] | "
            f"{'below stated power' if p.flagged else ''} |"
        )
    return "\n".join(lines) + "\n"


def controls_markdown(rates: Sequence[ControlRate]) -> str:
    """The controls table: how often each claim rejected its own near misses."""
    lines = [
        "| claim [law] | n | α | control | rejections / checks | rate | Clopper–Pearson 95 % | flag |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in rates:
        name = cell_name(c.claim, c.law, c.params)
        control = f"**{c.control}**" if c.control == ALL_CONTROLS else c.control
        lines.append(
            f"| {name} | {c.num_samples} | {c.alpha:g} | {control} | {c.rejections} / {c.checks} | {_pct(c.rate)} | "
            f"[{_pct(c.ci_low)}, {_pct(c.ci_high)}] | {'below 90 % power' if c.flagged else ''} |"
        )
    return "\n".join(lines) + "\n"


def forest_plot(pairs: Sequence[PairRate] | Sequence[ControlRate], path: str | Path, *, power: bool) -> Path:
    """One row per pair: the rate and its interval, against alpha (or against 90 % power)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = 1.2 + 0.28 * len(pairs)
    fig, ax = plt.subplots(figsize=(8, height))
    for y, p in enumerate(reversed(pairs)):
        colour = "tab:red" if (p.significant or (power and p.flagged)) else ("tab:orange" if p.flagged else "black")
        if p.checks:
            ax.plot([p.ci_low, p.ci_high], [y, y], color=colour, lw=1.5)
            ax.plot([p.rate], [y], "o", color=colour, ms=4)
        ax.plot([POWER_QUANTILE if power else p.alpha], [y], "|", color="tab:blue", ms=10)
    ax.set_yticks(range(len(pairs)), [p.label for p in reversed(pairs)], fontsize=7)
    ax.set_ylim(-0.7, len(pairs) - 0.3)
    # a few-seed pair's interval spans most of [0, 1]: it is clipped rather than allowed to squash the rest
    wide = [p.rate for p in pairs if p.checks] + [p.ci_high for p in pairs if p.checks >= 20]
    ax.set_xlim(0, 1 if power else min(1.0, max([4 * p.alpha for p in pairs] + wide)))
    ax.set_xlabel("rejection rate (blue: 90 % power)" if power else "false-failure rate (blue: stated α)")
    ax.set_title("Clopper–Pearson 95 % intervals over seeds", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
