"""Claims about the checker itself: its decision rules reject at the rates they state.

Every verdict zoverify prints rests on two numbers the decision rules promise:
a true prediction is rejected with probability at most alpha (Bonferroni over
k components), and a component off by the reported minimum detectable error is
rejected with probability 0.9.  For Gaussian observations both are exact, so
they can be tested like any other claim: R synthetic experiments with a known
truth are judged by the library's own rules at a fixed inner level, and the
rejection frequencies are compared with the exact rates.

Exact rates (k independent components, inner level a, critical value c of the
reference law F, power quantile q = F^-1(0.9)):

* null, either rule: each component is rejected with probability a/k exactly
  (batch means of Gaussian data are Gaussian, so the batch-means statistic is
  exactly Student t with B - 1 degrees of freedom; the z statistic with the
  exact variance is exactly normal), so P(reject) = 1 - (1 - a/k)^k;
* component 0 moved by its own reported detectable size (c + q) x se, where se
  is the rule's standard error (estimated for batch means, exact for z): the
  statistic T of the true mean satisfies |T - (c + q)| > c, with probability
  p1 = F(q) + (1 - F(2c + q)) = 0.9 + F(-(2c + q)); the other k - 1 components
  stay null, so P(reject) = 1 - (1 - p1)(1 - a/k)^(k - 1).

A rule with a dropped Bonferroni correction, an ignored alpha, a widened
acceptance region or a wrong reference law changes these rates by far more than
the claim's detectable size.  The inner level is fixed (not the run's alpha), so
the rates are large enough to estimate.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from zoverify.numeric._batching import BatchSums, batch_sums
from zoverify.verify.check import check
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import POWER_QUANTILE, BatchMeans
from zoverify.verify.registry import register
from zoverify.verify.verdict import Verdict

INNER_ALPHA = 0.5  # level of the judged synthetic experiments (large, so rates are measurable)
_MEANS = np.array([1.5, -0.8])  # k = 2 components with unequal means and scales
_SCALES = np.array([1.0, 3.0])
_N = 64  # observations per synthetic experiment: 32 batches of 2
_RULES = ("batch means (t, B=32)", "exact variance (z)")


def _reference(rule: str):
    return stats.t(BatchMeans().num_batches - 1) if rule.startswith("batch") else stats.norm


def exact_rates() -> np.ndarray:
    """[null rate, rate with component 0 off by its detectable size] for each rule."""
    k = _MEANS.size
    level = INNER_ALPHA / k
    rates = []
    for rule in _RULES:
        ref = _reference(rule)
        c, q = float(ref.isf(level / 2)), float(ref.ppf(POWER_QUANTILE))
        p1 = float(ref.cdf(q) + ref.sf(2 * c + q))
        rates += [1 - (1 - level) ** k, 1 - (1 - p1) * (1 - level) ** (k - 1)]
    return np.array(rates)


def _predict(ctx: Context) -> np.ndarray:
    return exact_rates()


def _simulate(ctx: Context) -> BatchSums:
    """(R, 4) rejection indicators of R Gaussian experiments, each judged by :func:`check` itself.

    Going through ``check`` (not the summaries alone) puts the whole decision path
    a verdict takes under test: the rule, Bonferroni, and how alpha reaches it.  The rows are
    reduced in blocks of experiments (memory independent of R).
    """
    return batch_sums(
        lambda n, gen: torch.as_tensor(_indicators(ctx, n, gen)),
        ctx.num_samples,
        generator=ctx.mc_generator(),
        block_size=_BLOCK,
    )


_BLOCK = 1 << 12  # synthetic experiments per block


def _indicators(ctx: Context, R: int, gen: torch.Generator) -> np.ndarray:
    k = _MEANS.size
    noise = torch.randn((R, _N, k), generator=gen, device=ctx.device, dtype=torch.float64).cpu().numpy()
    data = _MEANS + _SCALES * noise
    out = np.empty((R, 4))
    for r in range(R):
        for j, variance in enumerate((None, _SCALES**2)):
            null = check(_experiment(data[r], _MEANS, variance), law=ctx.law, num_samples=_N, alpha=INNER_ALPHA)
            size = null.detectable_rel[0] if null.detectable_rel else None
            assert size is not None, "every synthetic mean is nonzero, so each has a detectable size"
            moved = _MEANS.copy()
            moved[0] += size * abs(_MEANS[0])
            # the moved prediction is judged by the same rule on the same data (controls are not needed here)
            summary = BatchMeans().summarize(data[r], variance=variance)
            out[r, 2 * j] = null.verdict == Verdict.FAIL
            out[r, 2 * j + 1] = not summary.decide(moved, alpha=INNER_ALPHA).passed
    return out


def _experiment(data: np.ndarray, prediction: np.ndarray, variance) -> Claim:
    """One synthetic experiment as a claim: fixed data, a given prediction, batch means or exact variance."""
    return Claim.synthetic(prediction, data, variance=variance, name="checker.experiment")


def _variance(ctx: Context) -> np.ndarray:
    p = exact_rates()
    return p * (1 - p)  # each column is Bernoulli(p) under the claim


def _labels(ctx: Context) -> list[str]:
    return [f"{rule}: {what}" for rule in _RULES for what in ("null rejection rate", "rejection at the MDE")]


register(
    Claim(
        name="checker.decision_rules",
        predict=_predict,
        simulate=_simulate,
        variance=_variance,
        labels=_labels,
        num_samples=8000,
        negative_delta=0.1,  # a rule whose rejection rate is 10 % off its stated rate is miscalibrated
    )
)
