"""The decision rules: calibration (false-failure rate <= alpha) and power.

Calibration is measured, not assumed: many datasets drawn under the null are
judged at a large alpha, and the failure count must be consistent with a rate of
at most alpha (one-sided binomial test at ALPHA_META).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from zoverify._errors import InvalidParameterError
from zoverify.claims import REGISTRY, BatchMeans, ClaimResult, Exact, check

ALPHA_META = 1e-4  # false-failure probability of each calibration assertion below


def _binomial_ok(failures: int, trials: int, rate: float) -> bool:
    """True unless `failures` is implausibly many for a rate <= `rate`."""
    return stats.binom.sf(failures - 1, trials, rate) > ALPHA_META


@pytest.mark.parametrize("dist", ["normal", "lognormal", "t5"])
def test_batch_means_false_failure_rate_is_at_most_alpha(dist):
    rng = np.random.default_rng(0)
    alpha, trials, n, k = 0.05, 1000, 3200, 3
    draw = {
        "normal": lambda: rng.standard_normal((n, k)),
        "lognormal": lambda: rng.lognormal(0, 0.75, (n, k)),
        "t5": lambda: rng.standard_t(5, (n, k)),
    }[dist]
    truth = {"normal": 0.0, "lognormal": np.exp(0.75**2 / 2), "t5": 0.0}[dist]
    test = BatchMeans()
    failures = sum(not test.summarize(draw()).decide(np.full(k, truth), alpha=alpha).passed for _ in range(trials))
    assert _binomial_ok(failures, trials, alpha), f"{failures}/{trials} false failures at alpha={alpha}"


def test_exact_variance_z_test_calibrated():
    rng = np.random.default_rng(1)
    alpha, trials = 0.05, 3000
    failures = 0
    for _ in range(trials):
        x = rng.standard_normal((500, 1)) * 2.0
        failures += not BatchMeans().summarize(x, variance=[4.0]).decide([0.0], alpha=alpha).passed
    assert _binomial_ok(failures, trials, alpha)
    # and it is not vacuous: the rate is near alpha, not near 0 (z-test is exact here)
    assert failures > stats.binom.ppf(ALPHA_META, trials, alpha)


def test_shift_of_the_min_detectable_size_is_detected():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6400, 1)) + 10.0
    summary = BatchMeans().summarize(x)
    dec = summary.decide([10.0], alpha=1e-4)
    assert dec.passed
    shifted = 10.0 * (1 + 1.2 * dec.min_detectable_rel)
    assert not summary.decide([shifted], alpha=1e-4).passed


def test_bias_bound_widens_acceptance_by_exactly_the_bound():
    x = np.full((64, 1), 1.0) + np.random.default_rng(3).standard_normal((64, 1)) * 1e-9
    summary = BatchMeans().summarize(x)
    assert not summary.decide([1.01], alpha=1e-4).passed
    assert summary.decide([1.01], alpha=1e-4, bias=[0.0101]).passed


def test_exact_test_uses_the_tolerance():
    s = Exact().summarize(([1.0, 2.0], [1e-9, 1e-9]))
    assert s.decide([1.0, 2.0 + 5e-10], alpha=1e-4).passed
    assert not s.decide([1.0, 2.0 + 5e-9], alpha=1e-4).passed


def test_too_few_samples_for_batch_means():
    with pytest.raises(ValueError, match="at least 64"):
        BatchMeans().summarize(np.zeros((10, 1)))


def test_real_claim_false_failure_rate_over_seeds():
    """moments.sampler judged over 200 seeds at alpha = 0.05: failures consistent with <= alpha."""
    claim = REGISTRY["moments.sampler"]
    alpha, seeds = 0.05, 200
    failures = sum(
        check(claim, law="rademacher", seed=s, num_samples=1 << 12, alpha=alpha).verdict == "fail"
        for s in range(seeds)
    )
    assert _binomial_ok(failures, seeds, alpha), f"{failures}/{seeds}"


def test_result_records_reproduction_data_and_round_trips_json():
    r = check(REGISTRY["moments.sampler"], law="uniform", seed=5, num_samples=1 << 12)
    d = json.loads(json.dumps(r.to_dict()))
    for key in ("claim", "law", "params", "prediction", "estimate", "ci_low", "ci_high", "p_value", "alpha",
                "verdict", "seed", "num_samples", "device", "dtype", "elapsed_s", "version"):
        assert key in d
    assert ClaimResult.from_dict(d) == r
    again = check(REGISTRY["moments.sampler"], law="uniform", seed=5, num_samples=1 << 12)
    assert again.estimate == r.estimate  # same seed, same device: same numbers


def test_bad_claim_parameters():
    claim = REGISTRY["moments.sampler"]
    with pytest.raises(InvalidParameterError, match="no parameter 'nope'; accepted: dim"):
        check(claim, params={"nope": 1})
    with pytest.raises(InvalidParameterError, match="below its minimum"):
        check(claim, params={"dim": 0})
    with pytest.raises(InvalidParameterError, match="alpha"):
        check(claim, alpha=2.0)
