"""The decision rules: calibration (false-failure rate <= alpha) and power.

Calibration is measured, not assumed: many datasets drawn under the null are
judged at a large alpha, and the failure count must be consistent with a rate of
at most alpha (one-sided binomial test at ALPHA_META).
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch
from scipy import stats

from zoverify._errors import InvalidParameterError
from zoverify.claims import (
    REGISTRY,
    BatchMeans,
    Claim,
    ClaimResult,
    Exact,
    Verdict,
    check,
)
from zoverify.claims.checker import decision_rules as checker
from zoverify.verify.check import component_controls

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
        check(claim, law="rademacher", seed=s, num_samples=1 << 12, alpha=alpha).verdict == "fail" for s in range(seeds)
    )
    assert _binomial_ok(failures, seeds, alpha), f"{failures}/{seeds}"


def test_result_records_reproduction_data_and_round_trips_json():
    r = check(REGISTRY["moments.sampler"], law="uniform", seed=5, num_samples=1 << 12)
    d = json.loads(json.dumps(r.to_dict()))
    for key in (
        "claim",
        "law",
        "params",
        "prediction",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "alpha",
        "verdict",
        "seed",
        "num_samples",
        "device",
        "dtype",
        "elapsed_s",
        "version",
    ):
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


# ------------------------------------------------------------------ the verdict contract
def _mean_claim(*, truth: float, scales, delta: float = 0.05) -> Claim:
    """A claim on the means of independent normals: exact, so its verdicts are predictable."""
    scales = np.asarray(scales, float)

    def simulate(ctx):
        gen = ctx.mc_generator()
        noise = torch.randn((ctx.num_samples, scales.size), generator=gen, dtype=torch.float64)
        return truth + noise * torch.as_tensor(scales)

    return Claim(
        name="synthetic.means",
        statement="the means are all `truth`",
        source="test",
        status="TEST",
        predict=lambda ctx: np.full(scales.size, truth),
        simulate=simulate,
        negative_delta=delta,
    )


def test_a_pass_needs_every_component_probed():
    """One noisy component (sd 40 where the others have 1) cannot tell truth from truth x 1.05: inconclusive."""
    claim = _mean_claim(truth=10.0, scales=[1.0, 1.0, 40.0])
    small = check(claim, seed=0, num_samples=4096)
    assert small.verdict == Verdict.INCONCLUSIVE
    assert {"c2 +5%", "c2 -5%"} <= set(small.controls_not_rejected)
    assert not any(name.startswith(("c0", "c1")) for name in small.controls_not_rejected)
    # the reported size is the worst component's: (t + q) x 40 / sqrt(n) / 10, far above the others'
    assert small.min_detectable_rel == max(small.detectable_rel) and small.detectable_rel[2] > 0.05
    assert small.detectable_rel[0] < 0.05
    assert "negative controls not rejected" in small.message and "raise --samples" in small.message
    # enough samples make it conclusive: (t + q) x 40 / sqrt(n) < 0.05 x 10 needs n of about 1e5
    large = check(claim, seed=0, num_samples=1 << 18)
    assert large.verdict == Verdict.PASS and large.num_controls == 6 and not large.controls_not_rejected


def test_a_wrong_prediction_still_fails_rather_than_being_inconclusive():
    claim = _mean_claim(truth=10.0, scales=[1.0, 40.0])
    wrong = check(claim, seed=0, num_samples=1 << 14, scale=1.03)
    assert wrong.verdict == Verdict.FAIL and "c0" in wrong.message


def test_component_controls_move_one_component_each_side_and_bounds_only_inward():
    pred = np.array([2.0, 0.0, -4.0, 1.0])
    controls = component_controls(pred, 0.05, ["a", "zero", "b", "ub"], sides=[0, 0, -1, 1])
    names = [n for n, _ in controls]
    assert names == ["a +5%", "a -5%", "b +5%", "ub -5%"]  # zero has no relative scale
    moved = {n: alt for n, alt in controls}
    np.testing.assert_allclose(moved["a -5%"], [1.9, 0.0, -4.0, 1.0])
    np.testing.assert_allclose(moved["b +5%"], [2.0, 0.0, -3.8, 1.0])  # a lower bound raised
    np.testing.assert_allclose(moved["ub -5%"], [2.0, 0.0, -4.0, 0.95])  # an upper bound lowered


def test_check_exits_3_when_inconclusive_and_1_when_failing(capsys):
    from zoverify.cli import main

    code = main(["check", "checker.decision_rules", "--samples", "400", "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["results"][0]["verdict"] == "inconclusive" and code == 3


# ------------------------------------------------------------------ the checker checks itself
def test_checker_claim_rates_match_an_independent_count():
    """The exact rates against a second route: counting rejections on 400,000 draws of t(31) and N(0, 1) pairs."""
    rng = np.random.default_rng(11)
    k, level = 2, checker.INNER_ALPHA / 2
    rates = checker.exact_rates()
    for j, draw in enumerate((lambda m: rng.standard_t(31, m), rng.standard_normal)):
        t = draw((400_000, k))
        ref = stats.t(31) if j == 0 else stats.norm
        c, q = ref.isf(level / 2), ref.ppf(0.9)
        null = (np.abs(t) > c).any(axis=1).mean()
        moved = ((np.abs(t[:, 0] - (c + q)) > c) | (np.abs(t[:, 1]) > c)).mean()
        se = np.sqrt(0.25 / 400_000)
        assert abs(null - rates[2 * j]) < 5 * se and abs(moved - rates[2 * j + 1]) < 5 * se  # 5 sigma: ~6e-7 each


def test_checker_claim_rejects_a_10_percent_wider_acceptance_region(monkeypatch):
    """A near-miss rule (critical values 10 % too large) is caught by the checker's own claim."""
    from zoverify.verify import decision as _stats

    honest = check(REGISTRY["checker.decision_rules"], seed=3)
    assert honest.verdict == Verdict.PASS
    real = _stats._critical_values

    @functools.cache
    def wider(df, level):
        crit, power = real(df, level)
        return 1.1 * crit, power

    monkeypatch.setattr(_stats, "_critical_values", wider)
    assert check(REGISTRY["checker.decision_rules"], seed=3).verdict == Verdict.FAIL


def test_alpha_reaches_the_decision():
    """The same data judged at alpha = 0.05 and 1e-4: the intervals scale by the ratio of critical values."""
    claim = _mean_claim(truth=1.0, scales=[1.0, 2.0])
    loose = check(claim, seed=4, num_samples=1 << 12, alpha=0.05)
    strict = check(claim, seed=4, num_samples=1 << 12, alpha=1e-4)
    assert loose.estimate == strict.estimate and loose.alpha == 0.05 and strict.alpha == 1e-4
    half = lambda r: np.subtract(r.ci_high, r.ci_low) / 2  # noqa: E731
    ratio = stats.t(31).isf(0.05 / 4) / stats.t(31).isf(1e-4 / 4)  # Bonferroni over 2 components, two-sided
    np.testing.assert_allclose(half(loose) / half(strict), ratio, rtol=1e-12)
