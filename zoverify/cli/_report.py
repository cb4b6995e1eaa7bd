"""Result tables (terminal) and reports (JSON + Markdown)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.markup import escape

from zoverify._errors import ZoverifyError
from zoverify.claims import ClaimResult

_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "bold magenta", "n/a": "yellow", "skipped": "yellow"}
_VERDICTS = ("pass", "fail", "inconclusive", "n/a", "skipped")


def controls_cell(r: ClaimResult) -> str:
    """How many of the claim's negative controls were rejected ("4/4 rejected")."""
    if r.negative_control_rejected is None:
        return ""
    if not r.num_controls:  # a result stored before controls were counted
        return "rejected" if r.negative_control_rejected else "NOT rejected"
    return f"{r.num_controls - len(r.controls_not_rejected)}/{r.num_controls} rejected"


def worst_component(r: ClaimResult, *, markup: bool = False) -> str:
    """'label: predicted vs measured' for the component farthest from its prediction."""
    if not r.prediction or r.verdict == "inconclusive":
        return escape(r.message) if markup else r.message
    pred, est = np.asarray(r.prediction), np.asarray(r.estimate)
    half = (np.asarray(r.ci_high) - np.asarray(r.ci_low)) / 2
    i = int(np.argmax(np.abs(est - pred) / np.maximum(half, 1e-300)))
    text = f"{r.labels[i]}: {pred[i]:.5g} vs {est[i]:.5g} ± {half[i]:.2g}"
    return escape(text) if markup else text


def summary_line(results: Sequence[ClaimResult], elapsed: float) -> str:
    counts = {v: sum(r.verdict == v for r in results) for v in _VERDICTS}
    decided = counts["pass"] + counts["fail"] + counts["inconclusive"]
    alpha = results[0].alpha if results else 0.0
    parts = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    staged = sum(getattr(r, "stages", 1) == 2 for r in results)
    second = (
        f" {staged} {'was' if staged == 1 else 'were'} decided at a second, larger stage (its sample size is "
        "the n of the report)."
        if staged
        else ""
    )
    return (
        f"{len(results)} checks: {parts} in {elapsed:.1f} s. Each decided check has false-failure "
        f"probability <= {alpha:g}; for the run, <= {decided * alpha:.2g} (Bonferroni).{second}"
    )


def render_table(results: Sequence[ClaimResult], *, elapsed: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    # fit the terminal: below 140 columns drop p, n and seconds (all in --report and --format json)
    wide = console.width >= 140
    columns = ["claim", "law", "verdict", "worst component: predicted vs measured", "p", "MDE", "neg. ctrl", "n", "s"]
    keep = [c for c in columns if wide or c not in ("p", "n", "s")]
    table = Table(show_lines=False)
    for col in keep:
        table.add_column(col, overflow="fold")
    for r in results:
        cells = {
            "claim": r.claim,
            "law": escape(r.law),
            "verdict": f"[{_STYLE.get(r.verdict, '')}]{r.verdict}[/]",
            "worst component: predicted vs measured": worst_component(r, markup=True),
            "p": "" if r.p_value is None else f"{r.p_value:.2g}",
            "MDE": "" if r.min_detectable_rel is None else f"{100 * r.min_detectable_rel:.2g}%",
            "neg. ctrl": controls_cell(r),
            "n": f"{r.num_samples:,}" if r.num_samples else "",
            "s": f"{r.elapsed_s:.1f}",
        }
        table.add_row(*(cells[c] for c in keep))
    console.print(table)
    console.print(summary_line(results, elapsed))
    if results:
        r = results[0]
        console.print(
            f"seed {r.seed}, device {r.device}, dtype {r.dtype}, zoverify {r.version}. "
            "MDE: relative error of the least precise component detected with 90% power; neg. ctrl: "
            "the claim's negative controls (by default each component alone moved by +-delta) rejected "
            "on the same data. A pass needs every control rejected; otherwise the check is inconclusive."
        )


def prepare_report_dir(directory: str) -> Path:
    """Create the report folder and check it is writable, before any claim runs."""
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".zoverify-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ZoverifyError(f"cannot write a report to {directory}: {exc.strerror or exc}") from None
    return out


def write_report(results: Sequence[ClaimResult], directory: str, *, elapsed: float) -> None:
    out = prepare_report_dir(directory)
    (out / "results.json").write_text(json.dumps([r.to_dict() for r in results], indent=2))
    lines = [
        "# zoverify check report",
        "",
        summary_line(results, elapsed),
        "",
        "| claim | law | verdict | worst component | p | MDE | neg. ctrl | n | seed | device | dtype |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.claim} | `{r.law}` | {r.verdict} | {worst_component(r)} | "
            f"{'' if r.p_value is None else f'{r.p_value:.2g}'} | "
            f"{'' if r.min_detectable_rel is None else f'{100 * r.min_detectable_rel:.2g}%'} | "
            f"{controls_cell(r)} | "
            f"{r.num_samples} | {r.seed} | {r.device} | {r.dtype} |"
        )
    (out / "report.md").write_text("\n".join(lines) + "\n")
