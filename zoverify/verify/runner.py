"""Run a list of claims: plan (which law for which claim), execute, gate on moments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape

from zoverify.perturbations import AbstractLaw, parse_law
from zoverify.verify.check import check, unjudged
from zoverify.verify.claim import Claim
from zoverify.verify.registry import REGISTRY, ClaimEntry
from zoverify.verify.result import ClaimResult
from zoverify.verify.verdict import ALPHA, Verdict

MOMENT_CLAIM = "moments.sampler"


def plan_runs(
    claims: Sequence[Claim | ClaimEntry], *, law: str | AbstractLaw | None = None
) -> list[tuple[Claim | ClaimEntry, AbstractLaw]]:
    """(claim, law spec) pairs: each claim's default laws, or ``law`` for all.

    With a law override the law's own moment check runs first, so a law whose
    declared moments disagree with its sampler is caught before it is used.
    """
    if law is None:
        return [(c, parse_law(spec)) for c in claims for spec in c.laws]
    law_obj = parse_law(law)
    ordered = list(claims)
    moments = REGISTRY[MOMENT_CLAIM]
    if moments in ordered:
        ordered.remove(moments)
    return [(moments, law_obj)] + [(c, law_obj) for c in ordered]


def run_plan(
    plan: Sequence[tuple[Claim | ClaimEntry, AbstractLaw]],
    *,
    seed: int = 0,
    num_samples: int | None = None,
    device: str = "cpu",
    dtype: str = "float64",
    alpha: float = ALPHA,
    progress: bool = False,
    params: Mapping[str, Any] | None = None,
) -> list[ClaimResult]:
    """Check every (claim, law) pair; later claims are skipped if a law's moments fail.

    ``params`` set claim parameters; each claim takes the ones it declares.
    """
    results: list[ClaimResult] = []
    bad_laws: set[str] = set()
    bar = _progress(len(plan)) if progress else None
    try:
        for claim, law in plan:
            spec = law.spec
            if bar is not None:
                bar.update(bar.task_ids[0], description=escape(f"{claim.name} [{spec}]"))
            if spec in bad_laws and claim.name != MOMENT_CLAIM:
                result = unjudged(
                    claim.load() if isinstance(claim, ClaimEntry) else claim,
                    verdict=Verdict.SKIPPED,
                    reason="not judged: the law's declared moments disagree with its own sampler",
                    law=spec,
                    seed=seed,
                    alpha=alpha,
                    num_samples=num_samples,
                    device=device,
                    dtype=dtype,
                )
            else:
                own = {k: v for k, v in (params or {}).items() if k in claim.params}
                result = check(
                    claim,
                    law=law,
                    params=own,
                    seed=seed,
                    num_samples=num_samples,
                    device=device,
                    dtype=dtype,
                    alpha=alpha,
                )
                if claim.name == MOMENT_CLAIM and result.verdict == Verdict.FAIL:
                    bad_laws.add(spec)
            results.append(result)
            if bar is not None:
                bar.advance(bar.task_ids[0])
    finally:
        if bar is not None:
            bar.stop()
    return results


def _progress(total: int):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.add_task("starting", total=total)
    bar.start()
    return bar


__all__ = ["plan_runs", "run_plan"]
