"""The checker's parts on inputs with a known answer: decision rules, the two stages, the registry of a user's
own claims, the helpers for researchers' test suites, and device / thread resolution."""

from __future__ import annotations

import math
import os
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import find
from hypothesis.errors import NoSuchExample

from zoverify._device import resolve_device, resolve_dtype
from zoverify._errors import InvalidParameterError
from zoverify._threads import available_cores
from zoverify.testing import assert_claim, dims, laws_and_dims
from zoverify.verify import registry
from zoverify.verify.check import check
from zoverify.verify.claim import Claim
from zoverify.verify.decision import BinomialRates, Decision, ExactSummary, worst_detectable
from zoverify.verify.jackknife import DeleteAGroupJackknife
from zoverify.verify.registry import ClaimEntry, register
from zoverify.verify.slope import BoundSummary, LogLogSlope, QuantileBound
from zoverify.verify.verdict import Status


def shifted(truth: float, *, name: str = "synthetic", n: int = 1024, delta: float = 0.5, **words: Any) -> Claim:
    """Predicts 1 for one Gaussian component of variance 1 (declared); the data have mean ``truth``.

    ``words``: statement, source, status, status_note (a statement and a source by default)."""

    def simulate(ctx):
        gen = torch.Generator().manual_seed(ctx.seed)
        return (truth + torch.randn(ctx.num_samples, 1, generator=gen, dtype=torch.float64)).numpy()

    defaults: dict[str, Any] = {"statement": f"the mean is 1 ({name})", "source": "this test"}
    return Claim(
        name=name,
        predict=lambda _ctx: np.array([1.0]),
        simulate=simulate,
        variance=lambda _ctx: np.array([1.0]),
        num_samples=n,
        negative_delta=delta,
        **(defaults | words),
    )


@pytest.fixture
def own_registry():
    """The registry, restored after the test registers its own claims."""
    saved = dict(registry.REGISTRY)
    yield registry.REGISTRY
    registry.REGISTRY.clear()
    registry.REGISTRY.update(saved)


# --- check: refused arguments and the second stage --------------------------------------------------------


def test_check_refuses_a_negative_seed_and_no_samples():
    with pytest.raises(InvalidParameterError, match="seed must be a non-negative integer, got -1"):
        check(shifted(1.0), seed=-1)
    with pytest.raises(InvalidParameterError, match="num_samples must be positive, got 0"):
        check(shifted(1.0), num_samples=0)
    assert check(shifted(1.0), seed=0, num_samples=1).num_samples == 1  # the near misses


def test_a_second_stage_that_is_inconclusive_too_says_so():
    """Data exactly halfway between the prediction 1 and its control 1.3: at either stage the mean 1.15 is
    within the interval of both, so neither is rejected (at n2 the critical distance is still about 0.58 delta)."""
    claim = Claim.synthetic(
        [1.0], lambda ctx: np.full((ctx.num_samples, 1), 1.15), variance=[1.0], num_samples=64, negative_delta=0.3
    )
    result = check(claim)
    assert result.verdict == "inconclusive" and result.stages == 2 and result.num_samples > 2 * 64
    assert result.message.endswith(f" (after a second stage at {result.num_samples} samples)")
    assert result.controls_not_rejected == ["c0 +30%"]  # the control below, at 0.7, is rejected


# --- decision rules --------------------------------------------------------------------------------------------


def test_worst_detectable_is_the_largest_defined_size():
    assert worst_detectable(None) is None
    assert Decision(True, None, np.zeros(1), np.ones(1), None).min_detectable_rel is None
    assert worst_detectable([np.nan, 0.1, 0.3]) == 0.3 and worst_detectable([np.nan]) is None


def test_exact_summary_has_no_sampling_error_and_widens_by_the_bias():
    summary = ExactSummary(np.array([1.0, 2.0]), np.array([0.1, 0.1]))
    assert np.array_equal(summary.stderr, np.zeros(2))
    # 1.25 is 0.25 from the estimate 1: outside the tolerance 0.1, inside 0.1 + a stated bias of 0.2
    assert not summary.decide([1.25, 2.0], alpha=0.01).passed
    widened = summary.decide([1.25, 2.0], alpha=0.01, bias=[0.2, 0.0])
    assert widened.passed and np.allclose(widened.ci_low, [0.7, 1.9]) and np.allclose(widened.ci_high, [1.3, 2.1])


def test_a_rate_claim_reports_the_observed_rate():
    """600 events in 1000 replicates: the estimate is the rate 0.6; the bound rate >= 0.55 holds and its
    control rate >= 0.715 is 8 standard errors above the data."""
    events = np.zeros((1000, 1))
    events[:600] = 1.0
    claim = Claim.synthetic([0.55], events, test=BinomialRates(), num_samples=1000, negative_delta=0.3)
    result = check(claim, num_samples=1000)
    assert result.estimate == [0.6] and result.verdict == "pass"


def test_the_jackknife_takes_no_exact_variance():
    with pytest.raises(InvalidParameterError, match="the jackknife test takes no exact variance"):
        DeleteAGroupJackknife(num_groups=4).summarize(np.ones((4, 1)), variance=[1.0])
    assert DeleteAGroupJackknife(num_groups=4).summarize(np.arange(4.0)).estimate == [1.5]


def test_log_log_slope_of_an_exact_power_law():
    """y = x^1.5 at every replicate: the least-squares slope is 1.5, even with two grid points equal."""
    x = np.array([2.0, 2.0, 4.0])
    y = np.repeat((x**1.5)[:, None], 64, axis=1)
    summary = LogLogSlope().summarize([(x, y)])
    assert summary.estimate == pytest.approx([1.5], rel=1e-12) and summary.log_bias == pytest.approx([0.0], abs=1e-30)
    with pytest.raises(ValueError, match="at least two distinct grid points"):
        LogLogSlope().summarize([(np.full(3, 2.0), y)])
    with pytest.raises(ValueError, match="estimates its own standard error; pass no variance"):
        LogLogSlope().summarize([(x, y)], variance=[1.0])
    y[1] = -y[1]  # a mean of -2^1.5 at the second point has no log
    with pytest.raises(ValueError, match="positive means at every grid point"):
        LogLogSlope().summarize([(x, y)])


def test_quantile_bound_needs_a_rate_in_zero_one_and_reads_tensors():
    draws = torch.arange(10.0, requires_grad=True)  # a tensor still in a graph is detached, not refused
    summary = QuantileBound(delta=0.1).summarize(draws)
    assert np.array_equal(summary.lowest[:, 0], np.arange(10.0)) and summary.num_draws == 10
    assert np.array_equal(summary.stderr, np.zeros(1))
    for delta in (0.0, 1.0):
        with pytest.raises(ValueError, match=f"a violation rate delta in \\(0, 1\\), got {delta}"):
            QuantileBound().summarize((np.arange(10.0), delta))


def test_quantile_estimate_needs_the_draws_around_the_quantile():
    draws = np.random.default_rng(7).standard_normal(100)
    lowest = np.sort(draws)[:, None]
    # the median sits between the 50th and 51st smallest: 10 kept are too few, 51 are enough
    with pytest.raises(ValueError, match="needs the 51 smallest draws, 10 were kept"):
        _ = BoundSummary(lowest[:10], 100, 0.5, "m").estimate
    assert BoundSummary(lowest[:51], 100, 0.5, "m").estimate == pytest.approx([np.quantile(draws, 0.5)], rel=1e-15)


def _binomial_tail(c: int, n: int, p: Fraction) -> Fraction:
    """P(Bin(n, p) >= c), exactly."""
    return sum((math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(max(c, 0), n + 1)), Fraction(0))


def test_quantile_bound_bias_lowers_the_bound():
    """Draws 0, 0.01, ..., 0.99 and delta = 0.1: 20 lie below t = 0.2, only 8 below t - bias = 0.075."""
    summary = QuantileBound(delta=0.1).summarize(np.arange(100) / 100)
    assert not summary.decide([0.2], alpha=0.05).passed
    widened = summary.decide([0.2], alpha=0.05, bias=[0.125])
    assert widened.passed
    assert widened.p_value == pytest.approx(float(_binomial_tail(8, 100, Fraction(1, 10))), rel=1e-9)


@pytest.mark.parametrize("alpha", [1e-4, 1e-30])
def test_quantile_bound_threshold_is_the_smallest_rejected_count(alpha):
    """At 1e-30, scipy's binom.isf is off (it returns n): the threshold must still be the exact count."""
    n, delta = 100, Fraction(1, 20)
    level = Fraction(alpha)
    crit = next(c for c in range(n + 1) if _binomial_tail(c, n, delta) < level)
    summary = QuantileBound(delta=0.05).summarize(np.arange(n, dtype=float))
    decision = summary.decide([0.0], alpha=alpha)
    # at least crit draws below t are rejected: t = the crit-th smallest draw (crit - 1 below it) passes
    assert decision.ci_high == [crit - 1]
    assert summary.decide([crit - 1.0], alpha=alpha).passed and not summary.decide([crit + 0.5], alpha=alpha).passed


# --- claims: their names, statuses and registration -------------------------------------------------------------


def test_a_claims_family_and_status_line():
    claim = shifted(1.0, name="mine.sub.x", status=(Status.READ_2ND, Status.CHECKED), status_note="its code")
    assert claim.family == "mine" and claim.status_text == "READ-2nd + CHECKED (its code)"
    assert shifted(1.0, status=(Status.DERIVED,)).status_text == "DERIVED"


def test_an_entry_forwards_only_experiment_attributes():
    entry = registry.REGISTRY["stability.mean_threshold"]
    assert entry.num_samples == entry.load().num_samples  # an experiment attribute, from the loaded claim
    with pytest.raises(AttributeError, match="ClaimEntry has no attribute 'nosuch'"):
        _ = entry.nosuch
    assert not hasattr(entry, "nosuch")


def test_a_users_own_claim_needs_its_statement_source_and_status(own_registry):
    with pytest.raises(ValueError, match="claim mine.x is not declared, so it needs a statement, a source"):
        register(shifted(1.0, name="mine.x", statement="", source="", status=()))
    assert "mine.x" not in own_registry
    claim = register(shifted(1.0, name="mine.x", status=(Status.CHECKED,)))
    entry = own_registry["mine.x"]
    assert entry.loaded and entry.load() is claim and entry.status_text == "CHECKED"
    assert [e.name for e in registry.select(["mine"])] == ["mine.x"]


def test_a_declared_claim_is_registered_once_with_its_declared_words(own_registry):
    own_registry["mine.declared"] = ClaimEntry("mine.declared", "x is 1", "a paper", (Status.READ,), module=None)
    with pytest.raises(ValueError, match="claim mine.declared: the implementation restates a different statement"):
        register(shifted(1.0, name="mine.declared", statement="x is 2"))
    claim = register(shifted(1.0, name="mine.declared", statement="", source=""))
    assert (claim.statement, claim.source, claim.status) == ("x is 1", "a paper", (Status.READ,))
    with pytest.raises(ValueError, match="claim mine.declared registered twice"):
        register(shifted(1.0, name="mine.declared", statement="", source=""))


# --- zoverify.testing ----------------------------------------------------------------------------------------


def test_assert_claim_names_an_unknown_claim():
    with pytest.raises(KeyError, match="unknown claim 'no.such'; see `zoverify list`"):
        assert_claim("no.such")


def test_assert_claim_fails_with_the_seed_to_reproduce(own_registry):
    """Data of mean 2 against the prediction 1, n = 1024: 32 standard errors off."""
    register(shifted(2.0, name="mine.off", status=(Status.CHECKED,)))
    with pytest.raises(AssertionError, match=r"claim mine\.off fails for law gaussian: .*seed=3, n=1024, device=cpu"):
        assert_claim("mine.off", seed=3)
    register(shifted(1.0, name="mine.holds", status=(Status.CHECKED,)))
    assert assert_claim("mine.holds", seed=3).verdict == "pass"  # the near miss


def test_laws_and_dims_leaves_out_laws_that_take_none_of_the_dimensions():
    """subspace(rank=r) needs d >= r: with d = 1 only rank 1 can be drawn."""
    pair = find(laws_and_dims(1, 1, families=["subspace"]), lambda _pair: True)
    assert pair[0].spec == "subspace(rank=1)" and pair[1] == 1
    with pytest.raises(NoSuchExample):
        find(laws_and_dims(1, 1, families=["subspace"]), lambda pair: pair[0].spec != "subspace(rank=1)")
    found = find(laws_and_dims(1, 4, families=["subspace"]), lambda pair: pair[0].spec == "subspace(rank=3)")
    assert found[1] >= 3


def test_dims_draws_from_the_closed_range():
    assert find(dims(3, 5), lambda _d: True) == 3  # shrinks to the smallest
    assert find(dims(3, 5), lambda d: d >= 5) == 5
    with pytest.raises(NoSuchExample):
        find(dims(3, 5), lambda d: d > 5)


# --- devices, dtypes and cores ------------------------------------------------------------------------------


@pytest.mark.parametrize("cuda", [False, True])
def test_auto_is_cuda_exactly_when_cuda_is_available(monkeypatch, cuda):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert resolve_device("auto") == torch.device("cuda" if cuda else "cpu")


def test_a_numbered_cuda_device_is_kept_when_cuda_is_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(InvalidParameterError, match="unknown device 'tpu'; accepted: auto, cpu, cuda, cuda:N"):
        resolve_device("tpu")


def test_unknown_dtype_names_the_accepted_ones():
    with pytest.raises(InvalidParameterError, match="unknown dtype 'float16'; accepted: float64, float32"):
        resolve_dtype("float16")
    assert resolve_dtype("float32") is torch.float32


def test_cores_without_an_affinity_call_are_the_cpu_count(monkeypatch):
    """Platforms without sched_getaffinity (macOS, Windows): os.cpu_count(), or 1 when it is unknown."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert available_cores() == 3
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert available_cores() == 1
