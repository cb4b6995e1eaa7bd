"""Decision rules: statistical tests with a stated false-failure probability.

A test turns an experiment's output into a *summary* (estimate, standard error or
tolerance); the summary then decides against any prediction.  Keeping the two
apart lets the negative control (prediction x (1 + delta)) be judged on the very
same data, and lets a researcher re-judge a stored result at another alpha.

Batch means (the default): split the n iid replicates into B = 32 equal batches,
compute the mean within each, and use the Student-t interval with B - 1 degrees
of freedom.  Its coverage needs only a finite variance and enough samples per
batch for the batch means to be near normal; it needs no delta-method algebra.
When the symbolic layer gives the exact variance of one observation, the test
uses it instead (a z-test with the exact standard error).

k components are tested jointly with Bonferroni: each at alpha / k, so the
probability that any true component is rejected is at most alpha.  A stated,
derived bias bound (finite-difference epsilon, float32 rounding) widens the
acceptance region; it is never tuned to make a test pass.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from scipy import special, stats

from zoverify._errors import InvalidParameterError
from zoverify.numeric._batching import DEFAULT_BATCHES, BatchSums

POWER_QUANTILE = 0.9  # minimum detectable deviation is quoted at 90 % power

#: sides of a component's test (a summary's optional ``sides``): two-sided, a lower
#: bound (estimate >= prediction) or an upper bound (estimate <= prediction)
TWO_SIDED, LOWER_BOUND, UPPER_BOUND = 0, -1, 1


@dataclass(frozen=True)
class Decision:
    """The verdict of a summary against one prediction.

    ``detectable_rel[i]`` is the smallest relative error of component i alone that
    the rule rejects with 90 % power (NaN where the prediction is 0 or the rule
    cannot see a move of that component); ``min_detectable_rel`` is the worst
    (largest) of them: a claim is only as sharp as its least precise component.
    """

    passed: bool
    p_value: float | None
    ci_low: np.ndarray
    ci_high: np.ndarray
    detectable_rel: np.ndarray | None = None

    @property
    def min_detectable_rel(self) -> float | None:
        """The worst (largest) per-component detectable relative error, or None."""
        return worst_detectable(self.detectable_rel)


@runtime_checkable
class Summary(Protocol):
    """What a decision rule makes of an experiment: judges any prediction on the same data.

    A summary may also expose ``sides`` (one of TWO_SIDED, LOWER_BOUND, UPPER_BOUND
    per component); the default negative controls then move a bound only inward.
    """

    # read-only members, so frozen dataclasses satisfy the protocol
    @property
    def estimate(self) -> np.ndarray:
        """The estimate of each component."""
        ...

    @property
    def method(self) -> str:
        """How the summary was made (shown in reports)."""
        ...

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        """The verdict on ``prediction`` at level ``alpha``, the acceptance region widened by ``bias``."""
        ...


@runtime_checkable
class DecisionRule(Protocol):
    """Turns a claim's experiment output (and an exact variance, if known) into a :class:`Summary`."""

    def summarize(self, observed: Any, *, variance=None) -> Summary:
        """The summary of ``observed`` (with the exact variance of one observation, where the rule uses it)."""
        ...


def worst_detectable(detectable_rel) -> float | None:
    """The largest finite-or-infinite per-component detectable size (None if none is defined)."""
    if detectable_rel is None:
        return None
    d = np.asarray(detectable_rel, float).ravel()
    d = d[~np.isnan(d)]
    return float(d.max()) if d.size else None


def per_component_mde(size: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """``size / |prediction|`` per component; NaN where the prediction is 0."""
    pred = np.abs(np.asarray(prediction, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pred > 0, np.asarray(size, float) / pred, np.nan)


@functools.lru_cache(maxsize=256)
def _critical_values(df: int | None, level: float) -> tuple[float, float]:
    """(two-sided critical value at ``level``, 90 % power quantile) of N(0, 1) or t(df)."""
    ref = stats.norm if df is None else stats.t(df)
    return float(ref.isf(level / 2)), float(ref.ppf(POWER_QUANTILE))


def _upper_tail(df: int | None, x: np.ndarray) -> np.ndarray:
    """P(T > x) for T ~ N(0, 1) or t(df); scipy.special directly (decide runs in inner loops)."""
    return special.ndtr(-x) if df is None else special.stdtr(df, -x)


@dataclass(frozen=True)
class MeanSummary:
    """Estimates with standard errors; ``df=None`` means a normal (z) reference."""

    estimate: np.ndarray
    stderr: np.ndarray
    df: int | None
    method: str

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        """Reject when any component's |estimate - prediction| - bias exceeds its Bonferroni critical value x SE."""
        pred = np.asarray(prediction, dtype=float).reshape(self.estimate.shape)
        bias = np.zeros_like(pred) if bias is None else np.broadcast_to(np.asarray(bias, float), pred.shape)
        k = pred.size
        level = alpha / k
        crit, power = _critical_values(self.df, level)
        excess = np.maximum(np.abs(self.estimate - pred) - bias, 0.0)
        positive = self.stderr > 0
        zscores = np.where(excess > 0, np.inf, 0.0)
        zscores[positive] = excess[positive] / self.stderr[positive]
        p_each = 2 * _upper_tail(self.df, zscores)
        p_value = float(min(1.0, k * float(np.min(p_each))))
        passed = bool(np.all(excess <= crit * self.stderr))
        half = crit * self.stderr + bias
        mde = per_component_mde((crit + power) * self.stderr + bias, pred)
        return Decision(passed, p_value, self.estimate - half, self.estimate + half, mde)


@dataclass(frozen=True)
class SidedMeanSummary(MeanSummary):
    """Estimates with standard errors, each component tested on its side (TWO_SIDED, LOWER_BOUND,
    UPPER_BOUND): a lower bound ``estimate >= prediction`` is rejected only when the estimate lies
    significantly below it (one-sided t or z test), Bonferroni over components."""

    sides: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        """Reject when any component is significantly on the wrong side of its bound (or off its equality)."""
        pred = np.asarray(prediction, dtype=float).reshape(self.estimate.shape)
        bias = np.zeros_like(pred) if bias is None else np.broadcast_to(np.asarray(bias, float), pred.shape)
        sides = np.broadcast_to(np.asarray(self.sides, int), pred.shape)
        level = alpha / pred.size
        two, _ = _critical_values(self.df, level)
        one, _ = _critical_values(self.df, 2 * level)  # the one-sided critical value at level
        shortfall = np.where(
            sides == LOWER_BOUND,
            pred - self.estimate,
            np.where(sides == UPPER_BOUND, self.estimate - pred, np.abs(self.estimate - pred)),
        )
        excess = np.maximum(shortfall - bias, 0.0)
        crit = np.where(sides == TWO_SIDED, two, one)
        positive = self.stderr > 0
        zscores = np.where(excess > 0, np.inf, 0.0)
        zscores[positive] = excess[positive] / self.stderr[positive]
        p_each = np.where(sides == TWO_SIDED, 2, 1) * _upper_tail(self.df, zscores)
        p_value = float(min(1.0, pred.size * float(np.min(p_each))))
        passed = bool((excess <= crit * self.stderr).all())
        half = crit * self.stderr + bias
        # accepted predictions: (-inf, est + half] for a lower bound, [est - half, inf) for an upper bound;
        # written with a finite 1e300 so reports stay JSON-safe
        low = np.where(sides == LOWER_BOUND, -1e300, self.estimate - half)
        high = np.where(sides == UPPER_BOUND, 1e300, self.estimate + half)
        return Decision(passed, p_value, low, high, np.full(pred.shape, np.nan))

    def opposite(self) -> SidedMeanSummary:
        """The same data with every bound's side reversed (equalities stay): judges an :class:`OppositeBound`."""
        return replace(self, sides=-np.asarray(self.sides, int))


@dataclass(frozen=True)
class OppositeBound:
    """A negative control of a one-sided claim: the bound at ``value`` with its side reversed.

    For a claim ``x >= p`` the control ``x <= p`` is the nearest miss there is: rejecting it
    means the data place x above p, not merely that they fail to place it below.  It is judged
    by the summary's ``opposite()``.
    """

    value: Any


@dataclass(frozen=True)
class ExactSummary:
    """A deterministic computation with a derived numerical tolerance."""

    estimate: np.ndarray
    tolerance: np.ndarray
    method: str = "exact"
    df: int | None = field(default=None)

    @property
    def stderr(self) -> np.ndarray:
        """Zero: a deterministic computation has no sampling error."""
        return np.zeros_like(self.estimate)

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        """Pass iff every component lies within its tolerance (plus the bias bound) of the prediction."""
        pred = np.asarray(prediction, dtype=float).reshape(self.estimate.shape)
        tol = np.broadcast_to(np.asarray(self.tolerance, float), pred.shape)
        if bias is not None:
            tol = tol + np.asarray(bias, float)
        passed = bool(np.all(np.abs(self.estimate - pred) <= tol))
        return Decision(passed, None, self.estimate - tol, self.estimate + tol, per_component_mde(tol, pred))


@dataclass(frozen=True)
class BatchMeans:
    """Batch-means t-test on an ``(n, k)`` tensor of iid replicate observations, or on their
    :class:`~zoverify.numeric._batching.BatchSums` (the same batches, reduced while streaming)."""

    num_batches: int = DEFAULT_BATCHES

    def summarize(self, observed, *, variance=None) -> MeanSummary:
        """Batch means of the ``(n, k)`` replicates, or their plain mean with the exact variance when it is given."""
        n, held, mean, batch_means = _rows_or_sums(observed, self.num_batches)
        if variance is not None:
            var = np.asarray(variance, dtype=float).reshape(mean().shape[0])
            return MeanSummary(mean(), np.sqrt(var / n), None, "exact variance (z)")
        B = self.num_batches
        if held != B:
            raise InvalidParameterError(f"the sample holds {held} batches, the test needs {B}")
        if n < 2 * B:
            raise InvalidParameterError(f"batch means needs at least {2 * B} samples, got {n} (raise --samples)")
        means = batch_means()
        se = means.std(axis=0, ddof=1) / np.sqrt(B)
        return MeanSummary(means.mean(axis=0), se, B - 1, f"batch means (B={B})")


def _rows_or_sums(observed, num_batches: int):
    """(n, batches held, mean(), batch_means()) of ``(n, k)`` rows (cut into ``num_batches`` here) or of their sums."""
    if isinstance(observed, BatchSums):
        sums = observed
        return sums.num_samples, sums.sums.shape[0], lambda: sums.mean().numpy(), lambda: sums.batch_means().numpy()
    x = _as_2d(observed)
    n, m = x.shape[0], x.shape[0] // num_batches
    return n, num_batches, lambda: x.mean(axis=0), lambda: x[: m * num_batches].reshape(num_batches, m, -1).mean(axis=1)


@dataclass(frozen=True)
class SidedBatchMeans(BatchMeans):
    """Batch means with a side per component (see :class:`SidedMeanSummary`)."""

    sides: tuple[int, ...] = ()

    def summarize(self, observed, *, variance=None) -> SidedMeanSummary:
        """Batch means of the ``(n, k)`` replicates, each component judged on its side."""
        base = super().summarize(observed, variance=variance)
        sides = np.asarray(self.sides, int) if self.sides else np.zeros(base.estimate.shape, int)
        if sides.shape != base.estimate.shape or not np.isin(sides, (TWO_SIDED, LOWER_BOUND, UPPER_BOUND)).all():
            raise InvalidParameterError(
                f"sides must give one of {TWO_SIDED}, {LOWER_BOUND}, {UPPER_BOUND} per component "
                f"({base.estimate.size}), got {self.sides}"
            )
        return SidedMeanSummary(base.estimate, base.stderr, base.df, base.method + ", sided", sides)


@dataclass(frozen=True)
class Exact:
    """Deterministic comparison; the experiment supplies ``(values, tolerance)``."""

    def summarize(self, observed, *, variance=None) -> ExactSummary:
        """The experiment's ``(values, tolerance)`` as an exact summary."""
        values, tolerance = observed
        return ExactSummary(np.atleast_1d(np.asarray(values, float)), np.atleast_1d(np.asarray(tolerance, float)))


@dataclass(frozen=True)
class RateSummary:
    """Event counts out of ``trials`` per component, each rate judged on its side by exact binomial tails.

    A lower bound ``rate >= p`` is rejected when P(Bin(n, p) <= count) is at most alpha / k (Bonferroni
    over the k components); an upper bound ``rate <= p`` when P(Bin(n, p) >= count) is.  The accepted
    predictions are the one-sided Clopper-Pearson regions.  Equalities are not offered: a rate claim
    here is a bound.
    """

    counts: np.ndarray
    trials: int
    sides: np.ndarray
    method: str = "exact binomial tails (Clopper-Pearson)"

    @property
    def estimate(self) -> np.ndarray:
        """The observed rates."""
        return self.counts / self.trials

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        """Reject when any rate lies significantly on the wrong side of its bound."""
        pred = np.asarray(prediction, float).reshape(self.counts.shape)
        level = alpha / pred.size
        n = self.trials
        tails = np.where(
            self.sides == LOWER_BOUND,
            stats.binom.cdf(self.counts, n, np.clip(pred, 0, 1)),
            stats.binom.sf(self.counts - 1, n, np.clip(pred, 0, 1)),
        )
        upper = np.where(self.counts < n, stats.beta.isf(level, self.counts + 1, np.maximum(n - self.counts, 1)), 1.0)
        lower = np.where(self.counts > 0, stats.beta.ppf(level, np.maximum(self.counts, 1), n - self.counts + 1), 0.0)
        low = np.where(self.sides == LOWER_BOUND, -1e300, lower)
        high = np.where(self.sides == UPPER_BOUND, 1e300, upper)
        p_value = float(min(1.0, pred.size * float(np.min(tails))))
        return Decision(bool((tails > level).all()), p_value, low, high, np.full(pred.shape, np.nan))

    def opposite(self) -> RateSummary:
        """The same counts with every side reversed: judges an :class:`OppositeBound`."""
        return replace(self, sides=-np.asarray(self.sides, int))


@dataclass(frozen=True)
class BinomialRates:
    """Per-replicate events, an ``(n, k)`` array of 0/1, judged as k rates with sides (:class:`RateSummary`)."""

    sides: tuple[int, ...] = ()

    def summarize(self, observed, *, variance=None) -> RateSummary:
        """Counts of the events per component."""
        x = _as_2d(observed)
        if not np.isin(x, (0.0, 1.0)).all():
            raise InvalidParameterError("BinomialRates needs 0/1 events per replicate")
        sides = np.asarray(self.sides, int) if self.sides else np.full(x.shape[1], LOWER_BOUND)
        if sides.shape != (x.shape[1],) or not np.isin(sides, (LOWER_BOUND, UPPER_BOUND)).all():
            raise InvalidParameterError(
                f"sides must give {LOWER_BOUND} or {UPPER_BOUND} per component ({x.shape[1]}), got {self.sides}"
            )
        return RateSummary(x.sum(axis=0), int(x.shape[0]), sides)


def _as_2d(observed) -> np.ndarray:
    if isinstance(observed, torch.Tensor):
        observed = observed.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(observed, dtype=float)
    return x[:, None] if x.ndim == 1 else x.reshape(x.shape[0], -1)


@dataclass(frozen=True)
class SidedSummary(ExactSummary):
    """Exact values tested per component against a lower bound, an upper bound or an equality.

    ``sides[i]``: -1 passes iff est >= pred - tol, +1 iff est <= pred + tol, 0 iff |est - pred| <= tol.
    A one-sided component on a loose instance cannot see a move smaller than its slack, so its
    detectable size is NaN; a bound's power comes from its equality components (the instances
    where the bound is attained, or approached at a stated rate).
    """

    sides: np.ndarray | None = None  # None: every component an equality

    def decide(self, prediction, *, alpha, bias=None):
        """Pass iff every component satisfies its side: a lower bound, an upper bound or an equality within tolerance."""
        pred = np.asarray(prediction, float).reshape(self.estimate.shape)
        tol = np.broadcast_to(np.asarray(self.tolerance, float), pred.shape)
        sides = np.zeros(pred.shape, int) if self.sides is None else np.asarray(self.sides, int)
        lo_ok = self.estimate >= pred - tol
        hi_ok = self.estimate <= pred + tol
        ok = np.where(sides < 0, lo_ok, np.where(sides > 0, hi_ok, lo_ok & hi_ok))
        # accepted region [pred - tol, +inf) / (-inf, pred + tol] / [pred - tol, pred + tol], written with a finite
        # 1e300 so reports stay JSON-safe
        low = np.where(sides > 0, pred - 1e300, pred - tol)
        high = np.where(sides < 0, pred + 1e300, pred + tol)
        detect = np.where(sides == 0, per_component_mde(tol, pred), np.nan)
        return Decision(bool(ok.all()), None, low, high, detect)


class SidedTest(Exact):
    """The experiment returns (values, tolerances, sides)."""

    def summarize(self, observed, *, variance=None):
        """The experiment's ``(values, tolerances, sides)`` as a sided summary."""
        values, tol, sides = observed
        return SidedSummary(
            np.atleast_1d(np.asarray(values, float)),
            np.atleast_1d(np.asarray(tol, float)),
            method="bounds (one-sided where loose, equality where attained)",
            sides=np.atleast_1d(np.asarray(sides, int)),
        )
