"""Calibration of the two decision rules in zoverify.verify.slope.

Each test counts rejections over many synthetic experiments with a known truth
and compares the count with a binomial quantile at 1e-4, so each assertion has
a stated false-failure probability.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from zoverify.verify.slope import LogLogSlope, QuantileBound


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
    # power: an exponent 4 % off is ~10 standard errors (0.002) away, the acceptance half-width ~4.6 of them
    assert not summary.decide([-0.52], alpha=1e-4).passed
    assert not summary.decide([-0.48], alpha=1e-4).passed


@pytest.mark.parametrize("wrong", [-0.97, -1.03])
def test_slope_test_rejects_an_exponent_3_percent_off(wrong):
    # standard error ~0.002 at 2^14 replicates: 0.03 is ~15 of them, the half-width ~4.6
    rng = np.random.default_rng(13)
    summary = LogLogSlope().summarize([_power_law_data(rng, -1.0, n=1 << 14)])
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
    rejections = sum(
        not QuantileBound(delta).summarize(rng.exponential(1.0, n)).decide([t], alpha=level).passed for _ in range(reps)
    )
    assert rejections <= stats.binom.isf(1e-4, reps, level)


def test_quantile_bound_rejects_a_bound_5_percent_high_and_reports_its_reach():
    rng = np.random.default_rng(22)
    delta, n = 0.1, 200_000
    summary = QuantileBound(delta).summarize(rng.exponential(1.0, n))
    t = -np.log(1 - delta)
    assert summary.decide([t], alpha=1e-4).passed
    # t 5 % high is violated with probability 1 - exp(-1.05 t) = 0.1047: ~940 excess violations,
    # ~7 binomial standard deviations (134) against a one-sided critical value of ~3.7
    assert not summary.decide([1.05 * t], alpha=1e-4).passed
    mde = summary.decide([t], alpha=1e-4).min_detectable_rel
    assert 0 < mde < 0.05
