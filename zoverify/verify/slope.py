"""Two decision rules for scaling laws and probability bounds.

Both follow the summary/decide protocol of :mod:`zoverify.verify.decision`:
``summarize(observed, variance=None)`` returns an object with ``estimate``,
``stderr``, ``method`` and ``decide(prediction, alpha=, bias=) -> Decision``.

:class:`LogLogSlope` tests the exponent of a power law.  For each component it
takes a grid x_1..x_G and, at each grid point, n iid replicates y with mean
m(x); it estimates the least-squares slope of log m(x) against log x,

    s_hat = sum_g c_g log mean(y_g),   c_g = (l_g - l_bar) / sum_h (l_h - l_bar)^2,

(l_g = log x_g) and gets the standard error by batch means: the replicates at
every grid point are split into B batches, the slope is recomputed within each
batch, and the spread of the B batch slopes gives a Student-t interval with
B - 1 degrees of freedom.  The log of a sample mean is biased by about
-CV^2 / (2 n); the summary carries the bound sum_g |c_g| CV_g^2 / n_g (twice
the leading term) and adds it to any bias the claim states.  With
``exponent_of_root=True`` the slope is halved: squared observations (e.g. the
squared relative error) then give the exponent of their root mean square.

:class:`QuantileBound` tests a high-probability lower bound "T >= t with
probability >= 1 - delta": it counts the draws with T < t and rejects when
the count is improbably large for a violation rate delta (exact one-sided
binomial test, Bonferroni over components).  Its detectable size per component is
the smallest relative raise of t that these data would reject.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from zoverify.numeric._batching import BatchSums, LowerTail
from zoverify.verify.decision import Decision, MeanSummary, per_component_mde


def _slope_weights(x: np.ndarray) -> np.ndarray:
    lx = np.log(np.asarray(x, dtype=float))
    centred = lx - lx.mean()
    denom = float(centred @ centred)
    if denom <= 0:
        raise ValueError("a slope needs at least two distinct grid points")
    return centred / denom


@dataclass(frozen=True)
class SlopeSummary:
    """Slope estimates with batch-means standard errors and a log-bias bound."""

    estimate: np.ndarray
    stderr: np.ndarray
    df: int
    log_bias: np.ndarray
    method: str

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        """Decide on the slopes with the log-scale bias bound added to any given bias."""
        total = self.log_bias if bias is None else self.log_bias + np.asarray(bias, float)
        inner = MeanSummary(self.estimate, self.stderr, self.df, self.method)
        return inner.decide(prediction, alpha=alpha, bias=total)


@dataclass(frozen=True)
class LogLogSlope:
    """Least-squares log-log slope test; ``observed`` is a list of ``(x, y)`` pairs.

    ``x`` has shape ``(G,)``; ``y`` has shape ``(G, n)`` (n replicates per grid
    point, all positive in mean), or is the :class:`~zoverify.numeric._batching.BatchSums`
    of the rows ``[y_1 .. y_G, y_1^2 .. y_G^2]`` (streamed; the same test).
    """

    num_batches: int = 32
    exponent_of_root: bool = False

    def summarize(self, observed, *, variance=None) -> SlopeSummary:
        """Per ``(x, y)`` pair, the slope of log(mean y) on log x with a batch-means SE and a log-bias bound."""
        if variance is not None:
            raise ValueError("LogLogSlope estimates its own standard error; pass no variance")
        est, se, bias = [], [], []
        for x, y in observed:
            s, e, b = self._one(np.asarray(x, float), y if isinstance(y, BatchSums) else _as_array(y))
            est.append(s)
            se.append(e)
            bias.append(b)
        k = 0.5 if self.exponent_of_root else 1.0
        method = f"log-log slope, batch means (B={self.num_batches})"
        return SlopeSummary(k * np.array(est), k * np.array(se), self.num_batches - 1, k * np.array(bias), method)

    def _one(self, x: np.ndarray, y) -> tuple[float, float, float]:
        B, G = self.num_batches, x.size
        if isinstance(y, BatchSums):
            if y.total.shape[0] != 2 * G or y.sums.shape[0] != B:
                raise ValueError(
                    f"the sums must hold the {2 * G} columns [y, y^2] in {B} batches, "
                    f"got {y.total.shape[0]} columns in {y.sums.shape[0]}"
                )
            n = y.num_samples
            means, mean_sq = y.mean().numpy()[:G], y.mean().numpy()[G:]
            batch_means = y.batch_means().numpy()[:, :G].T
            var = (mean_sq - means**2) * n / max(n - 1, 1)
        else:
            if y.ndim != 2 or y.shape[0] != G:
                raise ValueError(f"y must have shape (grid, replicates) = ({G}, n), got {y.shape}")
            n = y.shape[1]
            means = y.mean(axis=1)
            m = n // B
            batch_means = y[:, : m * B].reshape(G, B, m).mean(axis=2) if n >= 2 * B else None
            var = y.var(axis=1, ddof=1)
        if n < 2 * B or batch_means is None:
            raise ValueError(f"slope test needs at least {2 * B} replicates per grid point, got {n}")
        c = _slope_weights(x)
        if np.any(means <= 0):
            raise ValueError("a log-log slope needs positive means at every grid point")
        batch_slopes = c @ np.log(batch_means)
        stderr = float(batch_slopes.std(ddof=1) / np.sqrt(B))
        cv2 = var / means**2
        log_bias = float(np.abs(c) @ (cv2 / n))
        return float(c @ np.log(means)), stderr, log_bias


@dataclass(frozen=True)
class BoundSummary:
    """Per-component draws of T, judged against lower bounds t at violation rate delta.

    ``lowest`` holds the smallest draws of each component, ascending: all of them, or (from a
    :class:`~zoverify.numeric._batching.LowerTail`) the K smallest of ``num_draws``.  A count of draws
    below t is exact while it is below K; a count that reaches K is at least K, and a decision needs
    only that when K is at least the smallest rejected count (checked: otherwise it refuses).
    """

    lowest: np.ndarray  # (K, k), ascending per column
    num_draws: int
    delta: float
    method: str

    @property
    def estimate(self) -> np.ndarray:
        """The empirical delta-quantile of each component (the claim says it is >= t), as numpy's default
        (linear between the order statistics around delta (n - 1))."""
        pos = self.delta * (self.num_draws - 1)
        lo = int(np.floor(pos))
        if lo + 1 >= self.lowest.shape[0] and lo + 1 < self.num_draws:
            raise ValueError(f"the delta-quantile needs the {lo + 2} smallest draws, {self.lowest.shape[0]} were kept")
        hi = min(lo + 1, self.lowest.shape[0] - 1)
        return self.lowest[lo] + (pos - lo) * (self.lowest[hi] - self.lowest[lo])

    @property
    def stderr(self) -> np.ndarray:
        """Zero: the bound is judged by counting violations, not by a standard error."""
        return np.zeros(self.lowest.shape[1])

    def violations(self, prediction) -> np.ndarray:
        """Per component, how many draws fall below the predicted bound (at most the number kept)."""
        t = np.asarray(prediction, float).reshape(self.lowest.shape[1])
        return (self.lowest < t).sum(axis=0)

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        """Pass iff no component has more draws below t than Bin(n, delta) allows at level alpha / k."""
        t = np.asarray(prediction, float).reshape(self.lowest.shape[1])
        if bias is not None:
            t = t - np.asarray(bias, float)
        n, k = self.num_draws, self.lowest.shape[1]
        counts = (self.lowest < t).sum(axis=0)
        p_each = stats.binom.sf(counts - 1, n, self.delta)  # P(Bin(n, delta) >= count)
        p_value = float(min(1.0, k * float(np.min(p_each))))
        level = alpha / k
        # smallest count that is rejected at `level`
        crit = int(stats.binom.isf(level, n, self.delta)) + 1
        while stats.binom.sf(crit - 2, n, self.delta) < level:
            crit -= 1
        if min(crit, n) > self.lowest.shape[0]:
            raise ValueError(
                f"a count of {crit} violations decides at alpha {alpha:g}; only the {self.lowest.shape[0]} "
                f"smallest of {n} draws were kept"
            )
        threshold = self.lowest[min(crit, n) - 1] if crit <= n else np.full(k, np.inf)
        passed = bool(np.all(p_each >= level))
        # per component: the relative raise of t that these data reject (NaN where t = 0)
        return Decision(passed, p_value, np.zeros(k), threshold, per_component_mde(threshold - np.abs(t), t))


@dataclass(frozen=True)
class QuantileBound:
    """Exact binomial test of "T >= t with probability >= 1 - delta".

    ``observed`` is the ``(n, k)`` draws of T, or ``(draws, delta)`` when the
    experiment sets delta (it then overrides the default given here).
    """

    delta: float | None = None

    def summarize(self, observed, *, variance=None) -> BoundSummary:
        """The ``(n, k)`` draws of T (and delta, when the experiment returns ``(draws, delta)``) as a bound summary."""
        delta = self.delta
        if isinstance(observed, tuple):
            observed, delta = observed
        if delta is None or not 0 < float(delta) < 1:
            raise ValueError(f"QuantileBound needs a violation rate delta in (0, 1), got {delta}")
        method = f"binomial violation count (delta={float(delta):g})"
        if isinstance(observed, LowerTail):
            return BoundSummary(observed.lowest.numpy(), observed.num_draws, float(delta), method)
        draws = _as_array(observed)
        draws = draws[:, None] if draws.ndim == 1 else draws
        return BoundSummary(np.sort(draws, axis=0), draws.shape[0], float(delta), method)


def _as_array(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().to("cpu").double().numpy()
    return np.asarray(values, dtype=float)


__all__ = ["BoundSummary", "LogLogSlope", "QuantileBound", "SlopeSummary"]
