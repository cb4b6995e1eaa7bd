"""One-sided batch means and their opposite-bound controls: calibration, power and the check contract.

Calibration is measured: datasets drawn with the mean exactly on the bound are judged at
alpha = 0.05 and the false-failure count must be consistent with a rate <= alpha (one-sided
binomial test at ALPHA_META) and not far below it (the one-sided test is exact for normal data).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from zoverify._errors import InvalidParameterError
from zoverify.claims import BatchMeans, Claim, check
from zoverify.verify.decision import LOWER_BOUND, TWO_SIDED, UPPER_BOUND, OppositeBound, SidedBatchMeans

ALPHA_META = 1e-4  # false-failure probability of each calibration assertion below


@pytest.mark.parametrize("side", [LOWER_BOUND, UPPER_BOUND])
def test_a_bound_on_its_boundary_fails_at_rate_alpha(side):
    """Mean exactly on the bound: rejection rate alpha (one-sided t with B - 1 df), not 2 alpha and not 0."""
    rng = np.random.default_rng(11)
    alpha, trials = 0.05, 2000
    rule = SidedBatchMeans(num_batches=8, sides=(side,))
    failures = sum(
        not rule.summarize(rng.standard_normal((16, 1)) + 3.0).decide([3.0], alpha=alpha).passed for _ in range(trials)
    )
    assert stats.binom.sf(failures - 1, trials, alpha) > ALPHA_META, f"{failures}/{trials}"
    assert stats.binom.cdf(failures, trials, alpha) > ALPHA_META, f"{failures}/{trials}: a one-sided test too timid"


def test_the_opposite_bound_is_rejected_only_with_evidence():
    """Claim 'x >= 1' on data with mean 1 + 0.1 SE: the control 'x <= 1' stands (no evidence above the bound);
    at mean 1 + 8 SE (the one-sided t(7) critical value at 1e-4 is 7.1) it is rejected."""
    rng = np.random.default_rng(12)
    base = rng.standard_normal((16, 1))
    base = (base - base.mean()) / base.std(ddof=1)  # the mean is 0 exactly, the batch SE fixed below
    rule = SidedBatchMeans(num_batches=8, sides=(LOWER_BOUND,))
    se = rule.summarize(base).stderr[0]
    for shift, rejected in ((0.1, False), (8.0, True)):
        summary = rule.summarize(base + 1.0 + shift * se)
        assert summary.decide([1.0], alpha=1e-4).passed
        assert summary.opposite().decide([1.0], alpha=1e-4).passed is not rejected


def test_two_sided_components_match_batch_means():
    x = np.random.default_rng(13).standard_normal((64, 2)) + [0.0, 5.0]
    sided = SidedBatchMeans(num_batches=8, sides=(TWO_SIDED, TWO_SIDED)).summarize(x)
    plain = BatchMeans(num_batches=8).summarize(x)
    for pred in ([0.0, 5.0], [0.3, 5.0], [0.0, 4.5]):
        a, b = sided.decide(pred, alpha=1e-3), plain.decide(pred, alpha=1e-3)
        assert a.passed == b.passed and a.p_value == pytest.approx(b.p_value)


def test_bad_sides_are_refused():
    with pytest.raises(InvalidParameterError, match="sides"):
        SidedBatchMeans(num_batches=8, sides=(2,)).summarize(np.zeros((16, 1)))
    with pytest.raises(InvalidParameterError, match="sides"):
        SidedBatchMeans(num_batches=8, sides=(LOWER_BOUND, LOWER_BOUND)).summarize(np.zeros((16, 1)))


def _claim(shift: float, *, test=None) -> Claim:
    """'x >= 1' on 16 normal replicates with mean 1 + shift, with the opposite bound as its control."""
    return Claim(
        name="test.sided",
        predict=lambda ctx: np.array([1.0]),
        simulate=lambda ctx: ctx.instance_rng().standard_normal((16, 1)) * 0.1 + 1.0 + shift,
        test=test or SidedBatchMeans(num_batches=8, sides=(LOWER_BOUND,)),
        num_samples=16,
        negative_alternatives=lambda ctx, p: [("inside: <= 1", OppositeBound(p))],
    )


def test_check_passes_only_when_the_opposite_bound_is_rejected():
    """Far above the bound: pass.  On the bound: the claim stands but its control is not rejected, so the
    verdict is inconclusive.  Well below: fail."""
    assert check(_claim(1.0)).verdict == "pass"
    on_bound = check(_claim(0.0))
    assert on_bound.verdict == "inconclusive" and on_bound.controls_not_rejected == ["inside: <= 1"]
    assert check(_claim(-1.0)).verdict == "fail"


def test_an_opposite_bound_needs_a_sided_summary():
    with pytest.raises(InvalidParameterError, match="OppositeBound"):
        check(_claim(1.0, test=BatchMeans(num_batches=8)))
