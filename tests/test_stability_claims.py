"""Stability claims: pass at their defaults with negative controls rejected; honest failures for Rademacher."""

from __future__ import annotations

import pytest

from zoverify.claims import REGISTRY, check
from zoverify.verify.runner import plan_runs, run_plan

NAMES = sorted(n for n in REGISTRY if n.startswith("stability."))
SPECTRUM_ONLY = [
    "stability.gd_threshold",
    "stability.gdm_threshold",
    "stability.q_query_gd",
    "stability.whole_spectrum",
    "stability.tightness",
    "stability.adam_threshold",
]
CARRY_OVER = ["stability.mean_threshold", "stability.other_laws"]  # mc_decay: rademacher is a default law


def test_mc_claim_mc_eta_star_passes():
    """One Monte Carlo claim in the default tier (the others are slow tests and run in `zoverify check`)."""
    result = check(REGISTRY["stability.mc_eta_star"])
    assert result.verdict == "pass" and result.negative_control_rejected


def test_p3_1_to_15_registered():
    assert len(NAMES) >= 15


MC_CLAIMS = {
    "stability.mc_decay",
    "stability.forward_difference",
    "stability.mc_eta_star",
    "stability.mc_decay_engines",
    "stability.mc_eta_star_engines",
}
PARAMS = [pytest.param(n, marks=pytest.mark.slow) if n in MC_CLAIMS else n for n in NAMES]


@pytest.mark.parametrize("name", PARAMS)
def test_claim_passes_at_defaults_with_negative_control(name):
    claim = REGISTRY[name]
    for law in claim.laws:
        result = check(claim, law=law)
        assert result.verdict == "pass", (law, result.message)
        assert result.negative_control_rejected, (law, result.min_detectable_rel)
        if result.min_detectable_rel is not None:
            assert result.min_detectable_rel < claim.negative_delta


@pytest.mark.parametrize("name", SPECTRUM_ONLY)
def test_spectrum_only_claims_fail_for_rademacher_with_counterexample(name):
    result = check(REGISTRY[name], law="rademacher")
    assert result.verdict == "fail"
    assert "counter-example" in result.message and "diagonal H -> eta*=" in result.message
    assert "rotated H" in result.message


@pytest.mark.parametrize("name", CARRY_OVER)
def test_carry_over_claims_pass_for_rademacher(name):
    assert check(REGISTRY[name], law="rademacher").verdict == "pass"


def test_reference_values_not_applicable_for_other_laws():
    assert check(REGISTRY["stability.reference_values"], law="sphere").verdict == "n/a"


def test_biased_law_is_not_applicable():
    result = check(REGISTRY["stability.gd_threshold"], law="gaussian(mean=0.5)")
    assert result.verdict == "n/a" and "is not c I" in result.message  # the statement needs E[zz^T] = c I


def test_override_plan_runs_moments_first():
    plan = plan_runs([REGISTRY["stability.mean_threshold"]], law="rademacher")
    results = run_plan(plan)
    assert [r.verdict for r in results] == ["pass", "pass"]


EXACT_FAST = [
    "stability.mean_threshold",
    "stability.gd_threshold",
    "stability.q_query_gd",
    "stability.gd_bounds",
    "stability.whole_spectrum",
    "stability.tightness",
    "stability.other_laws",
]


@pytest.mark.parametrize("law", ["block(blocks=4)", "block(blocks=3, scaled=False)", "lowrank(rank=1)"])
@pytest.mark.parametrize("name", EXACT_FAST)
def test_structured_laws_are_decided_through_the_dense_operator(name, law):
    """No structured form: the claim still decides (pass, or fail with the operator's eta* as counter-example)."""
    result = check(REGISTRY[name], law=law)
    assert result.verdict in ("pass", "fail"), result.message
    if result.verdict == "fail" and name != "stability.gd_bounds":
        assert "counter-example" in result.message and "rotated H" in result.message
