"""The two-stage design of :func:`zoverify.verify.check.check` keeps its stated rates.

A check at the defaults runs in up to two stages: stage 1 at the claim's sample size n1 and
level a1 = (1 - s) a; if it is inconclusive (the prediction stands but a control is not
rejected), stage 2 at n2 samples and level a2 = s a.  A fail at either stage fails, so the
false-failure probability is at most a1 + a2 = a whatever the stages share (Bonferroni).

For one Gaussian component with known variance (the exact-variance z-test) every rate is
exact.  With T = (mean - p) / se ~ N(theta, 1), c the critical value at the stage's level,
and the controls p (1 +- delta), i.e. T -+ D with D = delta |p| / se:

* fail:         |T| > c;
* conclusive:   |T| <= c and both controls rejected, |T - D| > c and |T + D| > c, which
                inside |T| <= c is  c - D < T < D - c  (empty unless D > c);
* inconclusive: the rest of |T| <= c.

Stage 2 is sized from stage 1's reported detectable error mde1 = (c1 + z_0.9) se1 / |p|
(deterministic under a known variance): n2 = max(2 n1, ceil(n1 (1.3 mde1 / delta)^2 r^2)),
r = (c2 + z_0.9) / (c1 + z_0.9), and its data are fresh.  So, with P1, P2 the stage
probabilities,

    P(fail) = P1(fail) + P1(inconclusive) P2(fail),
    P(pass) = P1(conclusive) + P1(inconclusive) P2(conclusive),

under the truth (theta = 0) and under a near miss (the truth 3 % off the prediction).  A
design that spent all of alpha on stage 1, skipped stage 2, sized it wrongly or reused the
stage-1 level moves these rates by more than the claim's detectable size.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats

from zoverify._rng import draw_seed, make_generator, spawn_seeds
from zoverify.numeric._batching import BatchSums, batch_sums
from zoverify.verify.check import STAGE2_ALPHA_SHARE, STAGE2_MARGIN, check
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import POWER_QUANTILE
from zoverify.verify.registry import register
from zoverify.verify.verdict import Verdict

INNER_ALPHA = 0.4  # level of the judged synthetic experiments (large, so the fail rates are measurable)
_PREDICTION = 1.0
_SIGMA = 0.6  # per observation: at n1 = 64 the detectable error is ~ 2.3 x delta, so stage 2 runs often
_N1 = 64
_DELTA = 0.1  # the synthetic claim's negative_delta
_NEAR_MISS = 0.03  # the truth 3 % above the prediction
_LABELS = ("P(fail), true prediction", "P(pass), true prediction", "P(fail), truth 3 % off")


def _stage_rates(theta: float, se: float, level: float) -> tuple[float, float, float]:
    """(fail, conclusive pass, inconclusive) of one z-test stage, T ~ N(theta, 1)."""
    c = float(stats.norm.isf(level / 2))
    D = _DELTA * abs(_PREDICTION) / se
    fail = float(stats.norm.sf(c - theta) + stats.norm.cdf(-c - theta))
    lo, hi = max(-c, c - D), min(c, D - c)
    conclusive = float(stats.norm.cdf(hi - theta) - stats.norm.cdf(lo - theta)) if hi > lo else 0.0
    return fail, conclusive, 1.0 - fail - conclusive


def stage_sizes() -> tuple[int, int]:
    """(n1, n2) of the design for the synthetic claim (the sizing rule of the module docstring)."""
    a1, a2 = INNER_ALPHA * (1 - STAGE2_ALPHA_SHARE), INNER_ALPHA * STAGE2_ALPHA_SHARE
    z = float(stats.norm.ppf(POWER_QUANTILE))
    c1, c2 = float(stats.norm.isf(a1 / 2)), float(stats.norm.isf(a2 / 2))
    mde1 = (c1 + z) * _SIGMA / math.sqrt(_N1) / abs(_PREDICTION)
    n2 = max(2 * _N1, math.ceil(_N1 * (STAGE2_MARGIN * mde1 / _DELTA) ** 2 * ((c2 + z) / (c1 + z)) ** 2))
    return _N1, n2


def exact_rates() -> np.ndarray:
    """[P(fail), P(pass)] under the truth and P(fail) under the near miss, from the stage rates."""
    n1, n2 = stage_sizes()
    a1, a2 = INNER_ALPHA * (1 - STAGE2_ALPHA_SHARE), INNER_ALPHA * STAGE2_ALPHA_SHARE
    out = []
    for offset in (0.0, _NEAR_MISS * _PREDICTION):
        se1, se2 = _SIGMA / math.sqrt(n1), _SIGMA / math.sqrt(n2)
        f1, p1, i1 = _stage_rates(offset / se1, se1, a1)
        f2, p2, _ = _stage_rates(offset / se2, se2, a2)
        out.append((f1 + i1 * f2, p1 + i1 * p2))
    return np.array([out[0][0], out[0][1], out[1][0]])


def _experiment(seed: int, truth: float) -> Claim:
    """A synthetic one-component claim whose every stage draws fresh N(truth, sigma^2) data."""

    def simulate(ctx: Context) -> np.ndarray:
        # the stream depends on the stage's sample size, so stage 2 does not reuse stage 1's draws
        gen = make_generator(spawn_seeds(seed, 2)[0 if ctx.num_samples == _N1 else 1])
        x = truth + _SIGMA * torch.randn(ctx.num_samples, generator=gen, dtype=torch.float64)
        return x.numpy()[:, None]

    return Claim.synthetic(
        [_PREDICTION],
        simulate,
        variance=[_SIGMA**2],
        name="checker.sequential_experiment",
        num_samples=_N1,
        negative_delta=_DELTA,
    )


def _simulate(ctx: Context) -> BatchSums:
    """(R, 3) indicators of R synthetic checks at the defaults (two stages), each through :func:`check`,
    reduced in blocks of checks (memory independent of R)."""
    return batch_sums(
        lambda n, gen: torch.as_tensor(_indicators(ctx, n, gen)),
        ctx.num_samples,
        generator=ctx.mc_generator(),
        block_size=_BLOCK,
    )


_BLOCK = 1 << 10  # synthetic checks per block


def _indicators(ctx: Context, R: int, gen: torch.Generator) -> np.ndarray:
    seeds = spawn_seeds(draw_seed(gen), R)
    out = np.empty((R, 3))
    for r, seed in enumerate(seeds):
        true = check(_experiment(seed, _PREDICTION), law=ctx.law, alpha=INNER_ALPHA)
        off = check(_experiment(seed, _PREDICTION * (1 + _NEAR_MISS)), law=ctx.law, alpha=INNER_ALPHA)
        out[r] = (true.verdict == Verdict.FAIL, true.verdict == Verdict.PASS, off.verdict == Verdict.FAIL)
    return out


def _variance(ctx: Context) -> np.ndarray:
    p = exact_rates()
    return p * (1 - p)  # each column is Bernoulli(p) under the claim


register(
    Claim(
        name="checker.sequential_design",
        predict=lambda ctx: exact_rates(),
        simulate=_simulate,
        variance=_variance,
        labels=lambda ctx: list(_LABELS),
        num_samples=12288,
        negative_delta=0.1,  # a design whose rates are 10 % off the stated ones is miscalibrated
    )
)
