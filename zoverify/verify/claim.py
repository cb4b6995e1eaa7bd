"""A claim binds a symbolic prediction to a numeric experiment and a decision rule."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import torch

import zoverify
from zoverify._device import resolve_device, resolve_dtype
from zoverify._errors import (
    InvalidParameterError,
    MomentDoesNotExistError,
    NotApplicableError,
)
from zoverify._rng import make_generator, make_numpy_generator, spawn_seeds
from zoverify.claims._stats import BatchMeans, Decision
from zoverify.perturbations import AbstractLaw, parse_law

ALPHA = 1e-4  # default false-failure probability of one claim


class Verdict(StrEnum):
    """What a check concluded.

    ``INCONCLUSIVE``: the prediction was not rejected, but neither was some
    negative control, so the data could not have told the claim from a near miss.
    """

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "n/a"
    SKIPPED = "skipped"


#: sides of a component's test: two-sided (the default), or a one-sided bound
TWO_SIDED, LOWER_BOUND, UPPER_BOUND = 0, -1, 1


@dataclass(frozen=True)
class Param:
    """A claim parameter: default, valid range and what it means."""

    default: Any
    doc: str = ""
    low: float | None = None
    high: float | None = None
    integer: bool = False
    choices: tuple[str, ...] | None = None

    def validate(self, name: str, value: Any) -> Any:
        if self.choices is not None and value not in self.choices:
            raise InvalidParameterError(f"parameter {name} must be one of {', '.join(self.choices)}, got {value!r}")
        if isinstance(self.default, (int, float)) and not isinstance(self.default, bool):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InvalidParameterError(f"parameter {name} must be a number, got {value!r}") from None
            if self.integer:
                if not value.is_integer():
                    raise InvalidParameterError(f"parameter {name} must be an integer, got {value}")
                value = int(value)
            if self.low is not None and value < self.low:
                raise InvalidParameterError(f"parameter {name}={value} is below its minimum {self.low}")
            if self.high is not None and value > self.high:
                raise InvalidParameterError(f"parameter {name}={value} is above its maximum {self.high}")
        return value


@dataclass(frozen=True)
class Context:
    """What a claim's predict/simulate functions see."""

    law: AbstractLaw
    params: Mapping[str, Any]
    num_samples: int
    seed: int
    device: torch.device
    dtype: torch.dtype

    def instance_rng(self) -> np.random.Generator:
        """Generator for the problem instance (data, Hessian, test vectors).

        Seeded independently of the Monte Carlo stream, so the instance does not
        change with ``num_samples`` or ``device``.
        """
        return make_numpy_generator(spawn_seeds(self.seed, 2)[0])

    def mc_generator(self) -> torch.Generator:
        """Generator for the Monte Carlo directions, on the run's device."""
        return make_generator(spawn_seeds(self.seed, 2)[1], device=self.device)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


def _always(_law: AbstractLaw) -> str | None:
    return None


@dataclass(frozen=True)
class Claim:
    """A checkable statement.

    ``predict(ctx)`` returns the symbolic layer's prediction as a float array of
    k components; ``simulate(ctx)`` returns what ``test.summarize`` consumes (an
    ``(n, k)`` tensor of iid replicates for :class:`BatchMeans`).  ``applies_to``
    returns ``None`` or the reason the claim does not apply to a law.
    """

    name: str
    statement: str
    source: str
    status: str
    predict: Callable[[Context], Any]
    simulate: Callable[[Context], Any]
    test: Any = field(default_factory=BatchMeans)
    params: Mapping[str, Param] = field(default_factory=dict)
    laws: tuple[str, ...] = ("gaussian",)
    num_samples: int = 100_000
    applies_to: Callable[[AbstractLaw], str | None] = _always
    bias_bound: Callable[[Context], Any] | None = None
    variance: Callable[[Context], Any] | None = None
    labels: Callable[[Context], list[str]] | None = None
    negative_delta: float = 0.05
    #: alternatives to the prediction that must *each* be rejected (the negative
    #: controls).  Default (:func:`component_controls`): one component at a time
    #: moved by negative_delta x |prediction| to each side it is tested on.  A
    #: custom rule returns ``[(name, alternative), ...]`` (or bare arrays) and must
    #: likewise probe one component, or one near miss, at a time.
    negative_alternatives: Callable[[Context, np.ndarray], list[Any]] | None = None

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    def resolve_params(self, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        params = {k: p.default for k, p in self.params.items()}
        for key, value in (overrides or {}).items():
            if key not in self.params:
                accepted = ", ".join(self.params) or "none"
                raise InvalidParameterError(f"claim {self.name} has no parameter {key!r}; accepted: {accepted}")
            params[key] = self.params[key].validate(key, value)
        return params


@dataclass(frozen=True)
class ClaimResult:
    """Everything needed to report and reproduce one check."""

    claim: str
    law: str
    params: dict[str, Any]
    verdict: str  # a Verdict value: pass | fail | inconclusive | n/a | skipped
    prediction: list[float]
    estimate: list[float]
    ci_low: list[float]
    ci_high: list[float]
    p_value: float | None
    alpha: float
    method: str
    seed: int
    num_samples: int
    device: str
    dtype: str
    elapsed_s: float
    version: str
    labels: list[str]
    min_detectable_rel: float | None = None  # the worst component's
    negative_delta: float | None = None
    negative_control_rejected: bool | None = None  # every control rejected
    message: str = ""
    detectable_rel: list[float | None] | None = None  # per component (None: prediction 0)
    controls_not_rejected: list[str] = field(default_factory=list)
    num_controls: int = 0

    @property
    def passed(self) -> bool:
        return self.verdict == Verdict.PASS

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClaimResult:
        return cls(**data)


def check(
    claim: Claim,
    *,
    law: str | AbstractLaw | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    num_samples: int | None = None,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float64,
    alpha: float = ALPHA,
    scale: float = 1.0,
) -> ClaimResult:
    """Run one claim and decide it at false-failure probability ``alpha``.

    ``scale`` multiplies the prediction (``1 + delta`` is the negative control).
    """
    if not 0 < alpha < 1:
        raise InvalidParameterError(f"alpha must be in (0, 1), got {alpha}")
    if int(seed) < 0:
        raise InvalidParameterError(f"seed must be a non-negative integer, got {seed}")
    law_obj = parse_law(law if law is not None else claim.laws[0])
    n = int(num_samples if num_samples is not None else claim.num_samples)
    if n < 1:
        raise InvalidParameterError(f"num_samples must be positive, got {n}")
    ctx = Context(law_obj, claim.resolve_params(params), n, int(seed), resolve_device(device), resolve_dtype(dtype))
    start = time.perf_counter()
    reason = claim.applies_to(law_obj)
    if reason is not None:
        return _not_applicable(claim, ctx, reason, alpha, start)
    try:
        prediction = np.atleast_1d(np.asarray(claim.predict(ctx), dtype=float)) * scale
    except (NotApplicableError, MomentDoesNotExistError) as exc:
        return _not_applicable(claim, ctx, str(exc), alpha, start)
    except InvalidParameterError as exc:
        # the law refuses the claim's setting (e.g. fewer dimensions than blocks)
        return _not_applicable(claim, ctx, f"the law refuses this claim's setting: {exc}", alpha, start)
    try:
        observed = claim.simulate(ctx)
    except InvalidParameterError as exc:
        return _not_applicable(claim, ctx, f"the law refuses this claim's setting: {exc}", alpha, start)
    variance = claim.variance(ctx) if claim.variance is not None else None
    summary = claim.test.summarize(observed, variance=variance)
    bias = claim.bias_bound(ctx) if claim.bias_bound is not None else None
    decision = summary.decide(prediction, alpha=alpha, bias=bias)
    labels = claim.labels(ctx) if claim.labels is not None else [f"c{i}" for i in range(prediction.size)]
    controls = (
        _named_controls(claim.negative_alternatives(ctx, prediction))
        if claim.negative_alternatives is not None
        else component_controls(prediction, claim.negative_delta, labels, sides=getattr(summary, "sides", None))
    )
    not_rejected = [
        name for name, alt in controls if summary.decide(np.asarray(alt, float), alpha=alpha, bias=bias).passed
    ]
    if not decision.passed:
        verdict, message = Verdict.FAIL, _describe(decision, summary, prediction, labels)
    elif not controls or not_rejected:
        verdict = Verdict.INCONCLUSIVE
        message = _describe_inconclusive(not_rejected, decision, labels, n_controls=len(controls))
    else:
        verdict, message = Verdict.PASS, ""
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
    )


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


def _named_controls(alternatives) -> list[tuple[str, np.ndarray]]:
    named = []
    for k, alt in enumerate(alternatives):
        if isinstance(alt, tuple) and len(alt) == 2 and isinstance(alt[0], str):
            named.append((alt[0], np.asarray(alt[1], float)))
        else:
            named.append((f"control {k + 1}", np.asarray(alt, float)))
    return named


def _describe_inconclusive(not_rejected, decision: Decision, labels, *, n_controls: int) -> str:
    if not n_controls:
        return "no negative control could be formed (every prediction is 0); the claim must define its own"
    worst = decision.min_detectable_rel
    size = "" if worst is None else f"; detectable error {100 * worst:.3g}% (worst component)"
    shown = ", ".join(not_rejected[:3]) + (f" and {len(not_rejected) - 3} more" if len(not_rejected) > 3 else "")
    return f"{len(not_rejected)}/{n_controls} negative controls not rejected ({shown}){size}; raise --samples"


def _describe(decision: Decision, summary, prediction, labels) -> str:
    if decision.passed:
        return ""
    err = np.abs(np.asarray(summary.estimate) - prediction)
    width = np.abs(np.asarray(decision.ci_high) - np.asarray(decision.ci_low))
    # one-sided (bound) tests have unbounded intervals: those components never explain a failure
    score = np.where(np.isfinite(width), err / np.maximum(width, 1e-300), 0.0)
    i = int(np.argmax(score))
    return f"{labels[i]}: predicted {prediction[i]:.6g}, measured {summary.estimate[i]:.6g}"


def _not_applicable(claim: Claim, ctx: Context, reason: str, alpha: float, start: float) -> ClaimResult:
    return ClaimResult(
        claim=claim.name,
        law=ctx.law.spec,
        params=dict(ctx.params),
        verdict=Verdict.NOT_APPLICABLE.value,
        prediction=[],
        estimate=[],
        ci_low=[],
        ci_high=[],
        p_value=None,
        alpha=alpha,
        method="",
        seed=ctx.seed,
        num_samples=ctx.num_samples,
        device=str(ctx.device),
        dtype=str(ctx.dtype).removeprefix("torch."),
        elapsed_s=time.perf_counter() - start,
        version=zoverify.__version__,
        labels=[],
        message=reason,
    )
