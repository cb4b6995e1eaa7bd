"""The audit's own rules, each against a near miss: how alpha is shared, when a declared law is
rejected, the scale interval's coverage, which seeds inference may use, what gets a finding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from zoverify.audit import audit
from zoverify.audit.infer import LAW_CRITICAL, _batch_interval
from zoverify.verify.result import ClaimResult

SLIPS = "examples/audit/slips.py"


def test_the_checks_share_the_audit_alpha_over_properties_and_dimensions():
    """A correct subject fails the audit with probability <= alpha: the checks' alphas add up to it (Bonferroni)."""
    report = audit(f"{SLIPS}:correct", law="gaussian", dims=(2, 3), samples=1024, alpha=0.01)
    judged = [r for r in report.results if r.verdict != "n/a"]
    assert len(report.results) == 2 * 5
    assert sum(r.alpha for r in report.results) == pytest.approx(0.01)
    assert {r.alpha for r in judged} == {report.alpha_each}


def test_a_right_declared_law_is_rejected_with_probability_at_most_1e_4():
    """Two moments, each two-sided: four tails share 1e-4 (a critical value for two tails would double it)."""
    assert 4 * stats.norm.sf(LAW_CRITICAL) == pytest.approx(1e-4, rel=1e-9)


def test_the_scale_interval_covers_at_its_stated_99_percent():
    """8,000 synthetic runs of 32 batch means: coverage 0.99 within a binomial band at 1e-6 (4.9 standard errors);
    a 98 % interval (e.g. a one-sided quantile) sits 9 standard errors lower and falls outside the band with
    probability 0.998."""
    rng = np.random.default_rng(20261207)
    n = 8_000
    covered = 0
    for _ in range(n):
        values = rng.standard_normal(32 * 4) + 3.0  # heavy enough to be t with 31 df after batching
        _, (lo, hi) = _batch_interval(values)
        covered += lo <= 3.0 <= hi
    low, high = stats.binom.ppf([0.5e-6, 1 - 0.5e-6], n, 0.99)
    assert low <= covered <= high, covered / n


def test_inference_draws_its_instances_from_its_own_stream():
    """The instances that infer the setting are never the instances a property judges (no reused seeds)."""
    import torch

    from zoverify.audit.run import _infer
    from zoverify.claims import select
    from zoverify.claims.audit.common import replicate_seeds
    from zoverify.perturbations import parse_law
    from zoverify.subjects import remember
    from zoverify.verify.claim import Context

    seen: list[int] = []

    def factory(dim, seed):
        seen.append(int(seed))
        rng = np.random.default_rng(seed)

        def estimate(f, x):
            z = rng.standard_normal(dim)
            return (f(x + 1e-2 * z) - f(x - 1e-2 * z)) / 2e-2 * z

        return estimate

    _infer(remember(factory), dim=3, law="gaussian", seed=5)
    entry = select(["audit.estimator_mean"])[0]
    ctx = Context(
        parse_law("gaussian"), entry.resolve_params({"dim": 3}), 1 << 17, 5, torch.device("cpu"), torch.float64
    )
    judged = set(replicate_seeds(ctx, 1 << 14).tolist())
    assert seen and not judged.intersection(seen)


def test_an_inconclusive_property_gets_a_finding():
    """Exit 3 must say which property could not decide and what to raise."""
    from zoverify.audit.infer import Inferred
    from zoverify.audit.run import _finding

    r = ClaimResult(
        claim="audit.estimator_conditional_mean", law="gaussian", params={"dim": 6}, verdict="inconclusive",
        prediction=[0.0], estimate=[0.1], ci_low=[-1.0], ci_high=[1.2], p_value=0.9, alpha=2e-5, method="batch means",
        seed=0, num_samples=1024, device="cpu", dtype="float64", elapsed_s=0.0, version="0", labels=["spread"],
        message="1/2 negative controls not rejected; raise --samples",
    )  # fmt: skip
    finding = _finding(r, "m:f", {"scale": 1.0}, Inferred(), 0, 1024)
    assert finding is not None and finding.verdict == "inconclusive" and "raise --samples" in finding.diagnosis
    assert "--samples 1024" in finding.reproduce


def test_dimension_two_is_accepted_and_one_refused():
    """The smallest test problem is d = 2 (a near miss at the boundary)."""
    from zoverify._errors import InvalidParameterError
    from zoverify.cli._audit import _dims

    assert _dims("2,6") == (2, 6)
    with pytest.raises(InvalidParameterError, match="integers >= 2"):
        _dims("1,6")


def test_assert_audit_passes_a_correct_subject_and_names_a_slip():
    """For a user's own pytest CI: a pass returns the report, a fail raises with the named finding."""
    from zoverify.testing import assert_audit

    # 2^16 calls: at 2^14 the mean's projection resolves about 6 %, so its +-5 % scale controls stood
    # unrejected (inconclusive) at 3 of seeds 0-3; at 2^16 (3 s) about 3 %
    report = assert_audit(f"{SLIPS}:correct", law="gaussian", samples=1 << 16)
    assert report.exit_code == 0
    with pytest.raises(AssertionError, match="scale 2"):
        assert_audit(f"{SLIPS}:scale_two", law="gaussian", samples=1 << 16)


def test_a_zero_direction_is_read_as_the_declared_scheme():
    """A sparse law's zero direction queries x itself: x, x fits a forward step and a central pair alike."""
    from zoverify.subjects.contracts import QueryLog

    x = np.array([0.5, -1.0, 2.0])
    u = np.array([0.0, 1e-2, -1e-2])
    log = QueryLog()
    log.points = [x, x + u, x.copy()]  # forward, q = 2, the second direction zero
    assert log.pattern(x)[:2] == ("forward", 2)
    log.points = [x.copy(), x.copy()]
    assert log.pattern(x, prefer="forward")[:2] == ("forward", 1)
    assert log.pattern(x, prefer="central")[:2] == ("central", 1)


def test_a_law_of_another_fixed_dimension_runs_at_its_own_and_says_so():
    """A law defined for d = 12 cannot draw the claim's d = 6 directions: the test problem takes the law's 12,
    and the result records dim = 12 (its reproduce line reruns what ran), not the default it replaced."""
    from zoverify.claims import check, select

    r = check(select(["audit.estimator_mean"])[0], law="lowrank(rank=1, shape=[4,3])", num_samples=1 << 14)
    assert r.params["dim"] == 12 and len(r.prediction) == 12 + 1  # 12 components and the projection
    assert r.verdict in ("pass", "inconclusive"), r.message
