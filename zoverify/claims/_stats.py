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

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

from zoverify._errors import InvalidParameterError

POWER_QUANTILE = 0.9  # minimum detectable deviation is quoted at 90 % power


@dataclass(frozen=True)
class Decision:
    """The verdict of a summary against one prediction."""

    passed: bool
    p_value: float | None
    ci_low: np.ndarray
    ci_high: np.ndarray
    min_detectable_rel: float | None  # smallest relative error rejected with 90 % power


@dataclass(frozen=True)
class MeanSummary:
    """Estimates with standard errors; ``df=None`` means a normal (z) reference."""

    estimate: np.ndarray
    stderr: np.ndarray
    df: int | None
    method: str

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        pred = np.asarray(prediction, dtype=float).reshape(self.estimate.shape)
        bias = np.zeros_like(pred) if bias is None else np.broadcast_to(np.asarray(bias, float), pred.shape)
        k = pred.size
        level = alpha / k
        ref = stats.norm if self.df is None else stats.t(self.df)
        crit = float(ref.isf(level / 2))
        power = float(ref.ppf(POWER_QUANTILE))
        excess = np.maximum(np.abs(self.estimate - pred) - bias, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            zscores = np.where(self.stderr > 0, excess / self.stderr, np.where(excess > 0, np.inf, 0.0))
        p_each = 2 * ref.sf(zscores)
        p_value = float(min(1.0, k * float(np.min(p_each))))
        passed = bool(np.all(excess <= crit * self.stderr))
        half = crit * self.stderr + bias
        nz = np.abs(pred) > 0
        mde = None
        if nz.any():
            mde = float(np.min(((crit + power) * self.stderr[nz] + bias[nz]) / np.abs(pred[nz])))
        return Decision(passed, p_value, self.estimate - half, self.estimate + half, mde)


@dataclass(frozen=True)
class ExactSummary:
    """A deterministic computation with a derived numerical tolerance."""

    estimate: np.ndarray
    tolerance: np.ndarray
    method: str = "exact"
    df: int | None = field(default=None)

    @property
    def stderr(self) -> np.ndarray:
        return np.zeros_like(self.estimate)

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        pred = np.asarray(prediction, dtype=float).reshape(self.estimate.shape)
        tol = np.broadcast_to(np.asarray(self.tolerance, float), pred.shape)
        if bias is not None:
            tol = tol + np.asarray(bias, float)
        passed = bool(np.all(np.abs(self.estimate - pred) <= tol))
        nz = np.abs(pred) > 0
        mde = float(np.min(tol[nz] / np.abs(pred[nz]))) if nz.any() else None
        return Decision(passed, None, self.estimate - tol, self.estimate + tol, mde)


@dataclass(frozen=True)
class BatchMeans:
    """Batch-means t-test on an ``(n, k)`` tensor of iid replicate observations."""

    num_batches: int = 32

    def summarize(self, observed, *, variance=None) -> MeanSummary:
        x = _as_2d(observed)
        n = x.shape[0]
        if variance is not None:
            var = np.asarray(variance, dtype=float).reshape(x.shape[1])
            return MeanSummary(x.mean(axis=0), np.sqrt(var / n), None, "exact variance (z)")
        B = self.num_batches
        if n < 2 * B:
            raise InvalidParameterError(f"batch means needs at least {2 * B} samples, got {n} (raise --samples)")
        m = n // B
        means = x[: m * B].reshape(B, m, -1).mean(axis=1)
        se = means.std(axis=0, ddof=1) / np.sqrt(B)
        return MeanSummary(means.mean(axis=0), se, B - 1, f"batch means (B={B})")


@dataclass(frozen=True)
class Exact:
    """Deterministic comparison; the experiment supplies ``(values, tolerance)``."""

    def summarize(self, observed, *, variance=None) -> ExactSummary:
        values, tolerance = observed
        return ExactSummary(np.atleast_1d(np.asarray(values, float)), np.atleast_1d(np.asarray(tolerance, float)))


def _as_2d(observed) -> np.ndarray:
    if isinstance(observed, torch.Tensor):
        observed = observed.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(observed, dtype=float)
    return x[:, None] if x.ndim == 1 else x.reshape(x.shape[0], -1)
