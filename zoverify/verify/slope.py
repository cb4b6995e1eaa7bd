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
    point, all positive in mean).
    """

    num_batches: int = 32
    exponent_of_root: bool = False

    def summarize(self, observed, *, variance=None) -> SlopeSummary:
        """Per ``(x, y)`` pair, the slope of log(mean y) on log x with a batch-means SE and a log-bias bound."""
        if variance is not None:
            raise ValueError("LogLogSlope estimates its own standard error; pass no variance")
        est, se, bias = [], [], []
        for x, y in observed:
            s, e, b = self._one(np.asarray(x, float), _as_array(y))
            est.append(s)
            se.append(e)
            bias.append(b)
        k = 0.5 if self.exponent_of_root else 1.0
        method = f"log-log slope, batch means (B={self.num_batches})"
        return SlopeSummary(k * np.array(est), k * np.array(se), self.num_batches - 1, k * np.array(bias), method)

    def _one(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
        if y.ndim != 2 or y.shape[0] != x.size:
            raise ValueError(f"y must have shape (grid, replicates) = ({x.size}, n), got {y.shape}")
        B = self.num_batches
        n = y.shape[1]
        if n < 2 * B:
            raise ValueError(f"slope test needs at least {2 * B} replicates per grid point, got {n}")
        c = _slope_weights(x)
        means = y.mean(axis=1)
        if np.any(means <= 0):
            raise ValueError("a log-log slope needs positive means at every grid point")
        m = n // B
        batch_means = y[:, : m * B].reshape(x.size, B, m).mean(axis=2)
        batch_slopes = c @ np.log(batch_means)
        stderr = float(batch_slopes.std(ddof=1) / np.sqrt(B))
        cv2 = y.var(axis=1, ddof=1) / means**2
        log_bias = float(np.abs(c) @ (cv2 / n))
        return float(c @ np.log(means)), stderr, log_bias


@dataclass(frozen=True)
class BoundSummary:
    """Per-component draws of T, judged against lower bounds t at violation rate delta."""

    draws: np.ndarray  # (n, k)
    delta: float
    method: str

    @property
    def estimate(self) -> np.ndarray:
        """The empirical delta-quantile of each component (the claim says it is >= t)."""
        return np.quantile(self.draws, self.delta, axis=0)

    @property
    def stderr(self) -> np.ndarray:
        """Zero: the bound is judged by counting violations, not by a standard error."""
        return np.zeros(self.draws.shape[1])

    def violations(self, prediction) -> np.ndarray:
        """Per component, how many draws fall below the predicted bound."""
        t = np.asarray(prediction, float).reshape(self.draws.shape[1])
        return (self.draws < t).sum(axis=0)

    def decide(self, prediction, *, alpha: float, bias=None) -> Decision:
        """Pass iff no component has more draws below t than Bin(n, delta) allows at level alpha / k."""
        t = np.asarray(prediction, float).reshape(self.draws.shape[1])
        if bias is not None:
            t = t - np.asarray(bias, float)
        n, k = self.draws.shape
        counts = (self.draws < t).sum(axis=0)
        p_each = stats.binom.sf(counts - 1, n, self.delta)  # P(Bin(n, delta) >= count)
        p_value = float(min(1.0, k * float(np.min(p_each))))
        level = alpha / k
        # smallest count that is rejected at `level`
        crit = int(stats.binom.isf(level, n, self.delta)) + 1
        while stats.binom.sf(crit - 2, n, self.delta) < level:
            crit -= 1
        sorted_draws = np.sort(self.draws, axis=0)
        threshold = sorted_draws[min(crit, n) - 1] if crit <= n else np.full(k, np.inf)
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
        draws = _as_array(observed)
        draws = draws[:, None] if draws.ndim == 1 else draws
        return BoundSummary(draws, float(delta), f"binomial violation count (delta={float(delta):g})")


def _as_array(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().to("cpu").double().numpy()
    return np.asarray(values, dtype=float)


__all__ = ["BoundSummary", "LogLogSlope", "QuantileBound", "SlopeSummary"]
