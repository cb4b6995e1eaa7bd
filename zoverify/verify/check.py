"""Run one claim and judge it: the prediction, then every negative control, on the same data."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from scipy import stats

import zoverify
from zoverify._device import resolve_device, resolve_dtype
from zoverify._errors import (
    InvalidParameterError,
    MomentDoesNotExistError,
    NotApplicableError,
)
from zoverify.perturbations import AbstractLaw, parse_law
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import (
    LOWER_BOUND,
    POWER_QUANTILE,
    TWO_SIDED,
    UPPER_BOUND,
    Decision,
    OppositeBound,
)
from zoverify.verify.registry import ClaimEntry
from zoverify.verify.result import ClaimResult
from zoverify.verify.verdict import ALPHA, Verdict

#: share of alpha held back for the second stage (stage 1 decides at the rest)
STAGE2_ALPHA_SHARE = 0.1
#: the second stage's default budget, as a multiple of the first stage's samples
STAGE2_MAX_FACTOR = 16
#: the second stage aims at a detectable error of delta / STAGE2_MARGIN, so that every control is rejected
#: with high probability, not just 90 %
STAGE2_MARGIN = 1.3


def check(
    claim: Claim | ClaimEntry,
    *,
    law: str | AbstractLaw | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    num_samples: int | None = None,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float64,
    alpha: float = ALPHA,
    scale: float = 1.0,
    max_samples: int | None = None,
) -> ClaimResult:
    """Run one claim and decide it at false-failure probability ``alpha``.

    ``scale`` multiplies the prediction (``1 + delta`` is the negative control).

    Two stages (docs/README.md#sequential-design) when ``num_samples`` is not given or
    ``max_samples`` is: stage 1 at the claim's sample size and ``alpha * (1 - STAGE2_ALPHA_SHARE)``;
    if it is inconclusive, stage 2 at the sample size its detectable error says makes the
    controls rejectable (at most ``max_samples``, default ``STAGE2_MAX_FACTOR`` x stage 1) and
    the rest of alpha.  A fail at either stage fails (Bonferroni over the stages: the
    false-failure probability stays <= alpha).  With ``num_samples`` alone, one stage at alpha.
    """
    claim = claim.load() if isinstance(claim, ClaimEntry) else claim
    if not 0 < alpha < 1:
        raise InvalidParameterError(f"alpha must be in (0, 1), got {alpha}")
    if int(seed) < 0:
        raise InvalidParameterError(f"seed must be a non-negative integer, got {seed}")
    law_obj = parse_law(law if law is not None else claim.laws[0])
    n = int(num_samples if num_samples is not None else claim.num_samples)
    if n < 1:
        raise InvalidParameterError(f"num_samples must be positive, got {n}")
    sequential = num_samples is None or max_samples is not None
    budget = int(max_samples) if max_samples is not None else STAGE2_MAX_FACTOR * n
    if sequential and budget < n:
        raise InvalidParameterError(f"max_samples must be >= the first stage's {n} samples, got {budget}")
    resolved = claim.resolve_params(params)
    if claim.dim_param in resolved and law_obj.fixed_dim is not None:
        resolved[claim.dim_param] = int(law_obj.fixed_dim)
    ctx = Context(law_obj, resolved, n, int(seed), resolve_device(device), resolve_dtype(dtype))
    start = time.perf_counter()
    reason = claim.applies_to(law_obj)
    if reason is not None:
        return _not_applicable(claim, ctx, start, reason, alpha=alpha)
    try:
        prediction = np.atleast_1d(np.asarray(claim.predict(ctx), dtype=float)) * scale
    except (NotApplicableError, MomentDoesNotExistError) as exc:
        return _not_applicable(claim, ctx, start, str(exc), alpha=alpha)
    except InvalidParameterError as exc:
        # the law refuses the claim's setting (e.g. fewer dimensions than blocks)
        return _not_applicable(claim, ctx, start, f"the law refuses this claim's setting: {exc}", alpha=alpha)
    alpha_1 = alpha * (1 - STAGE2_ALPHA_SHARE) if sequential else alpha
    try:
        stage = _run_stage(claim, ctx, prediction, alpha=alpha_1)
    except _SettingRefusedError as exc:
        return _not_applicable(claim, ctx, start, str(exc), alpha=alpha)
    stages = 1
    if stage.verdict == Verdict.INCONCLUSIVE:
        need = _samples_needed(
            stage,
            claim.negative_delta,
            n=n,
            alpha_now=alpha_1,
            alpha_next=alpha * STAGE2_ALPHA_SHARE,
            prediction=prediction,
        )
        if sequential and need is not None and need <= budget:
            try:
                second = _run_stage(claim, replace(ctx, num_samples=need), prediction, alpha=alpha * STAGE2_ALPHA_SHARE)
            except _SettingRefusedError as exc:  # the larger size refused: stage 1's verdict stands, with why
                stage.message += f"; a second stage at {need} samples was refused: {exc}"
            else:
                stage, n, stages, ctx = second, need, 2, replace(ctx, num_samples=need)
                if stage.verdict == Verdict.INCONCLUSIVE:
                    stage.message += f" (after a second stage at {need} samples)"
        elif need is not None:
            stage.message += f"; about {need} samples would decide it (--samples {need})"
    verdict, message, summary, decision = stage.verdict, stage.message, stage.summary, stage.decision
    labels, controls, not_rejected = stage.labels, stage.controls, stage.not_rejected
    detectable = None
    if decision.detectable_rel is not None:
        detectable = [None if np.isnan(v) else float(v) for v in np.atleast_1d(decision.detectable_rel).ravel()]
    return ClaimResult(
        claim=claim.name,
        law=law_obj.spec,
        params=dict(ctx.params),
        verdict=verdict.value,
        prediction=prediction.tolist(),
        estimate=np.asarray(summary.estimate, float).ravel().tolist(),
        ci_low=np.asarray(decision.ci_low, float).ravel().tolist(),
        ci_high=np.asarray(decision.ci_high, float).ravel().tolist(),
        p_value=decision.p_value,
        alpha=alpha,
        method=summary.method,
        seed=ctx.seed,
        num_samples=n,
        device=str(ctx.device),
        dtype=str(ctx.dtype).removeprefix("torch."),
        elapsed_s=time.perf_counter() - start,
        version=zoverify.__version__,
        labels=list(labels),
        min_detectable_rel=decision.min_detectable_rel,
        negative_delta=claim.negative_delta,
        negative_control_rejected=bool(controls) and not not_rejected,
        message=message,
        detectable_rel=detectable,
        controls_not_rejected=not_rejected,
        num_controls=len(controls),
        controls=[name for name, _ in controls],
        stages=stages,
    )


class _SettingRefusedError(Exception):
    """The simulation refused the claim's setting: the check is n/a, with this reason."""


@dataclass
class _Stage:
    verdict: Verdict
    message: str
    summary: Any
    decision: Decision
    labels: list
    controls: list
    not_rejected: list


def _run_stage(claim: Claim, ctx: Context, prediction: np.ndarray, *, alpha: float) -> _Stage:
    """Simulate at ``ctx.num_samples`` and judge the prediction and every control at ``alpha``."""
    try:
        observed = claim.simulate(ctx)
    except (NotApplicableError, MomentDoesNotExistError) as exc:  # the setting rules the property out
        raise _SettingRefusedError(str(exc)) from exc
    except InvalidParameterError as exc:
        raise _SettingRefusedError(f"the law refuses this claim's setting: {exc}") from exc
    variance = claim.variance(ctx) if claim.variance is not None else None
    summary = claim.test.summarize(observed, variance=variance)
    bias = claim.bias_bound(ctx) if claim.bias_bound is not None else None
    decision = summary.decide(prediction, alpha=alpha, bias=bias)
    labels = claim.labels(ctx) if claim.labels is not None else [f"c{i}" for i in range(prediction.size)]
    try:
        controls = (
            _named_controls(claim.negative_alternatives(ctx, prediction))
            if claim.negative_alternatives is not None
            else component_controls(prediction, claim.negative_delta, labels, sides=getattr(summary, "sides", None))
        )
    except (NotApplicableError, MomentDoesNotExistError) as exc:  # a control needs a moment the law lacks
        raise _SettingRefusedError(f"its negative controls cannot be formed: {exc}") from exc
    not_rejected = [name for name, alt in controls if _judge(summary, alt, alpha=alpha, bias=bias).passed]
    if not decision.passed:
        verdict, message = Verdict.FAIL, _describe(decision, summary, prediction, labels)
    elif not controls or not_rejected:
        verdict = Verdict.INCONCLUSIVE
        message = _describe_inconclusive(not_rejected, decision, labels, n_controls=len(controls))
    else:
        verdict, message = Verdict.PASS, ""
    return _Stage(verdict, message, summary, decision, list(labels), controls, not_rejected)


def _samples_needed(
    stage: _Stage, delta: float, *, n: int, alpha_now: float, alpha_next: float, prediction=None
) -> int | None:
    """Samples at which the controls still standing are rejected with margin at ``alpha_next`` (>= 2n).

    A detectable error scales as (z_{a/2k} + z_0.9) / sqrt(n) (k components, Bonferroni).  Each control
    standing moves some components; its reach is the largest move in units of that component's detectable
    error, and the stage is sized so the hardest control's reach is ``STAGE2_MARGIN``:
    n' = n (margin / reach)^2 ((z' + z_0.9) / (z + z_0.9))^2.  For the default controls (one component
    moved by delta) the reach is delta / mde_i; where a control's reach cannot be read (a reversed bound,
    no finite detectable error among the components it moves) the worst component's detectable error
    sizes it, n (margin mde / delta)^2 (...)^2.  None where the rule has no detectable error.
    """
    mde = stage.decision.min_detectable_rel
    if mde is None or not np.isfinite(mde) or mde <= 0 or delta <= 0:
        return None
    k = max(len(stage.labels), 1)
    z_power = stats.norm.ppf(POWER_QUANTILE)
    ratio = (stats.norm.isf(alpha_next / (2 * k)) + z_power) / (stats.norm.isf(alpha_now / (2 * k)) + z_power)
    reach = _hardest_reach(stage, prediction)
    shortfall = STAGE2_MARGIN / reach if reach is not None else STAGE2_MARGIN * mde / delta
    return max(2 * n, int(math.ceil(n * shortfall**2 * ratio**2)))


def _hardest_reach(stage: _Stage, prediction) -> float | None:
    """min over the controls not rejected of max_i |alt_i - pred_i| / (mde_i |pred_i|), or None."""
    detectable = getattr(stage.decision, "detectable_rel", None)
    standing = set(getattr(stage, "not_rejected", ()))
    if prediction is None or detectable is None or not standing:
        return None
    pred = np.asarray(prediction, float).ravel()
    unit = np.asarray(detectable, float).ravel() * np.abs(pred)
    usable = np.isfinite(unit) & (unit > 0)
    reaches = []
    for name, alt in stage.controls:
        if name not in standing:
            continue
        if isinstance(alt, OppositeBound):
            return None
        move = np.abs(np.asarray(alt, float).ravel() - pred)
        if not np.any(usable & (move > 0)):
            return None
        reaches.append(float(np.max(move[usable] / unit[usable])))
    return min(reaches) if reaches else None


def component_controls(prediction, delta: float, labels, *, sides=None) -> list[tuple[str, np.ndarray]]:
    """The default negative controls: each component alone moved by ``delta`` x |its prediction|.

    A two-sided component is moved both ways; a one-sided bound only the way that
    tightens it (a lower bound up, an upper bound down), since the other way can
    never be rejected.  Components predicted 0 have no relative scale and are
    left to a claim's own controls.
    """
    pred = np.asarray(prediction, float).ravel()
    sides = np.zeros(pred.size, int) if sides is None else np.asarray(sides, int).ravel()
    controls = []
    for i in np.flatnonzero(pred):
        step = delta * abs(pred[i])
        moves = {TWO_SIDED: (+1, -1), LOWER_BOUND: (+1,), UPPER_BOUND: (-1,)}[int(sides[i])]
        for sign in moves:
            alt = pred.copy()
            alt[i] += sign * step
            controls.append((f"{labels[i]} {'+' if sign > 0 else '-'}{100 * delta:.3g}%", alt))
    return controls


def _named_controls(alternatives) -> list[tuple[str, np.ndarray | OppositeBound]]:
    named = []
    for k, alt in enumerate(alternatives):
        name, value = (
            (alt[0], alt[1])
            if isinstance(alt, tuple) and len(alt) == 2 and isinstance(alt[0], str)
            else (
                f"control {k + 1}",
                alt,
            )
        )
        named.append((name, value if isinstance(value, OppositeBound) else np.asarray(value, float)))
    return named


def _judge(summary, alt, *, alpha: float, bias) -> Decision:
    """A control's decision: an array is judged like the prediction, an OppositeBound by the reversed bounds."""
    if isinstance(alt, OppositeBound):
        if not hasattr(summary, "opposite"):
            raise InvalidParameterError(f"an OppositeBound control needs a sided summary, not {summary.method}")
        return summary.opposite().decide(np.asarray(alt.value, float), alpha=alpha, bias=bias)
    return summary.decide(alt, alpha=alpha, bias=bias)


def _describe_inconclusive(not_rejected, decision: Decision, labels, *, n_controls: int) -> str:
    if not n_controls:
        return "no negative control could be formed (every prediction is 0); the claim must define its own"
    worst = decision.min_detectable_rel
    size = "" if worst is None else f"; detectable error {100 * worst:.3g}% (worst component)"
    shown = ", ".join(not_rejected[:3]) + (f" and {len(not_rejected) - 3} more" if len(not_rejected) > 3 else "")
    return f"{len(not_rejected)}/{n_controls} negative controls not rejected ({shown}){size}; raise --samples"


def _describe(decision: Decision, summary, prediction, labels) -> str:
    """The component farthest outside its interval, for a decision that failed."""
    err = np.abs(np.asarray(summary.estimate) - prediction)
    width = np.abs(np.asarray(decision.ci_high) - np.asarray(decision.ci_low))
    # one-sided (bound) tests have unbounded intervals: those components never explain a failure
    score = np.where(np.isfinite(width), err / np.maximum(width, 1e-300), 0.0)
    i = int(np.argmax(score))
    return f"{labels[i]}: predicted {prediction[i]:.6g}, measured {summary.estimate[i]:.6g}"


def _not_applicable(claim: Claim, ctx: Context, start: float, reason: str, *, alpha: float) -> ClaimResult:
    return unjudged(
        claim,
        verdict=Verdict.NOT_APPLICABLE,
        reason=reason,
        law=ctx.law.spec,
        params=ctx.params,
        seed=ctx.seed,
        alpha=alpha,
        num_samples=ctx.num_samples,
        device=ctx.device,
        dtype=ctx.dtype,
        elapsed_s=time.perf_counter() - start,
    )


def unjudged(
    claim: Claim,
    *,
    verdict: Verdict,
    reason: str,
    law: str,
    params: Mapping | None = None,
    seed: int = 0,
    alpha: float = ALPHA,
    num_samples: int | None = None,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float64,
    elapsed_s: float = 0.0,
) -> ClaimResult:
    """The result of a check that was not judged (n/a or skipped), with ``reason`` as its message."""
    return ClaimResult(
        claim=claim.name,
        law=law,
        params=dict(params) if params is not None else claim.resolve_params(None),
        verdict=Verdict(verdict).value,
        prediction=[],
        estimate=[],
        ci_low=[],
        ci_high=[],
        p_value=None,
        alpha=alpha,
        method="",
        seed=int(seed),
        num_samples=int(num_samples if num_samples is not None else claim.num_samples),
        device=str(resolve_device(device)),
        dtype=str(resolve_dtype(dtype)).removeprefix("torch."),
        elapsed_s=elapsed_s,
        version=zoverify.__version__,
        labels=[],
        message=reason,
    )


__all__ = ["check", "component_controls", "unjudged"]
