"""Calibration of the two decision rules in zoverify.claims._slope.

Each test counts rejections over many synthetic experiments with a known truth
and compares the count with a binomial quantile at 1e-4, so each assertion has
a stated false-failure probability.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from zoverify.claims._slope import LogLogSlope, QuantileBound


def _power_law_data(rng, slope: float, *, n: int = 640, grid=(1.0, 4.0, 16.0, 64.0)):
    x = np.array(grid)
    y = x[:, None] ** slope * rng.exponential(1.0, (x.size, n))  # mean x^slope, CV 1
    return x, y


def test_slope_test_is_calibrated_at_the_true_slope():
    rng = np.random.default_rng(11)
    reps, level = 300, 0.1
    rejections = 0
    for _ in range(reps):
        summary = LogLogSlope().summarize([_power_law_data(rng, -1.0)])
        rejections += not summary.decide([-1.0], alpha=level).passed
    # rejections ~ Bin(300, <= 0.1) if calibrated; fails with prob <= 1e-4 when it is
    assert rejections <= stats.binom.isf(1e-4, reps, level)


def test_slope_test_halves_for_root_mean_square_exponent():
    rng = np.random.default_rng(12)
    summary = LogLogSlope(exponent_of_root=True).summarize([_power_law_data(rng, -1.0, n=4096)])
    assert summary.decide([-0.5], alpha=1e-4).passed
    assert not summary.decide([-0.55], alpha=1e-4).passed  # power: the 10 % wrong exponent is rejected


@pytest.mark.parametrize("wrong", [-0.8, -1.2])
def test_slope_test_rejects_a_wrong_exponent(wrong):
    rng = np.random.default_rng(13)
    summary = LogLogSlope().summarize([_power_law_data(rng, -1.0, n=4096)])
    assert not summary.decide([wrong], alpha=1e-4).passed


def test_slope_rejects_bad_shapes():
    with pytest.raises(ValueError):
        LogLogSlope().summarize([(np.array([1.0, 2.0]), np.ones((3, 100)))])
    with pytest.raises(ValueError):
        LogLogSlope().summarize([(np.array([1.0, 2.0]), np.ones((2, 10)))])


def test_quantile_bound_false_rejection_rate_at_the_boundary():
    rng = np.random.default_rng(21)
    delta, reps, level, n = 0.1, 400, 0.05, 500
    t = -np.log(1 - delta)  # P(Exp(1) < t) = delta exactly: the bound holds with equality
    rejections = sum(not QuantileBound(delta).summarize(rng.exponential(1.0, n)).decide([t], alpha=level).passed
                     for _ in range(reps))
    assert rejections <= stats.binom.isf(1e-4, reps, level)


def test_quantile_bound_rejects_a_false_bound_and_reports_its_reach():
    rng = np.random.default_rng(22)
    delta = 0.1
    summary = QuantileBound(delta).summarize(rng.exponential(1.0, 4000))
    t = -np.log(1 - delta)
    assert summary.decide([t], alpha=1e-4).passed
    assert not summary.decide([-np.log(1 - 2 * delta)], alpha=1e-4).passed  # violated 20 % of the time
    mde = summary.decide([t], alpha=1e-4).min_detectable_rel
    assert 0 < mde < (-np.log(1 - 2 * delta)) / t - 1
