"""Bound claims: each side is checked where it is attained, so a bound formula a few percent off fails."""

from __future__ import annotations

import pytest

import zoverify.claims.stability.thresholds as thresholds
from zoverify.claims import REGISTRY, check

BOUNDS = ["stability.gd_bounds", "stability.gdm_bounds"]


@pytest.mark.parametrize("name", BOUNDS)
@pytest.mark.parametrize("side", [0, 1])
@pytest.mark.parametrize("factor", [0.97, 1.02, 0.98, 1.03])
def test_bound_formula_off_by_a_near_miss_fails(monkeypatch, name, side, factor):
    """Either bound 2-3 % off, tighter or looser: the attained/approached instances reject it."""
    original = thresholds.spectral_bounds

    def off(eigs, setting):
        pair = list(original(eigs, setting))
        pair[side] *= factor
        return tuple(pair)

    monkeypatch.setattr(thresholds, "spectral_bounds", off)
    for law in REGISTRY[name].laws:
        assert check(REGISTRY[name], law=law).verdict == "fail", (law, side, factor)


@pytest.mark.parametrize("name", BOUNDS)
def test_bound_controls_are_each_side_both_ways(name):
    result = check(REGISTRY[name])
    assert result.verdict == "pass" and result.num_controls == 4 and not result.controls_not_rejected
    # the upper bound's approach rate at k = d = 400 (<= 1 % for q <= 3) is the least precise component
    assert result.min_detectable_rel < 0.011


def test_rademacher_keeps_the_inequalities_but_not_the_attainment():
    """Rotated H: the Gaussian bounds still hold, but the lower one is no longer attained (a legitimate fail)."""
    result = check(REGISTRY["stability.gd_bounds"], law="rademacher")
    assert result.verdict == "fail" and "(attained)" in result.message
    lo, hi = result.ci_low, result.ci_high
    n = len(result.estimate) // 2
    loose = [i for i, lab in enumerate(result.labels) if "<=" in lab]
    assert all(result.estimate[i] >= lo[i] for i in loose if i < n)
    assert all(result.estimate[i] <= hi[i] for i in loose if i >= n)
