"""Stability helpers: no counter-example for a law without a Diag term, and the median interval that
too few replicates leave unbounded."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from zoverify.claims.stability.common import counterexample, eta_operator, haar_rotation, rotated
from zoverify.claims.stability.training import MedianSummary
from zoverify.perturbations import parse_law

_SPECTRUM = (2.0, 1.0, 0.5)


def _rotated_h() -> np.ndarray:
    return rotated(_SPECTRUM, haar_rotation(np.random.default_rng(1), 4))


def test_a_law_without_a_diag_term_has_no_counterexample_though_not_rotation_invariant():
    # sparse(p=1) masks nothing: E[zz^T A zz^T] = tr(A) I + 2A, so eta* depends on the spectrum alone
    law = parse_law("sparse(p=1)")
    assert not law.rotation_invariant
    H = _rotated_h()
    assert counterexample(law, _SPECTRUM, H) == ""
    # the reason the text is empty: the diagonal and the rotated instance have the same eta*
    diag = eta_operator(law, np.diag([*_SPECTRUM, 0.0]))
    assert eta_operator(law, H) == pytest.approx(diag, rel=1e-9)


def test_a_law_with_a_diag_term_names_both_eta_star():
    # the near miss: half the coordinates masked gives a Diag term, and two different eta*
    law = parse_law("sparse(p=0.5)")
    text = counterexample(law, _SPECTRUM, _rotated_h())
    assert text.startswith(" [counter-example, law sparse(p=0.5) is not rotation invariant: spectrum (2.0, 1.0, 0.5)")
    assert "diagonal H -> eta*=" in text and "rotated H (Haar, instance seed) -> eta*=" in text


def test_five_replicates_cannot_bound_the_median_at_five_percent():
    # 2 P(Bin(5, 1/2) = 0) = 1/16 > 0.05: no order statistic gives a 95 % interval
    assert 2 * stats.binom.cdf(0, 5, 0.5) > 0.05
    summary = MedianSummary(np.array([3.0, 1.0, 4.0, 1.5, 9.0]))
    assert summary.interval(0.05) == (-math.inf, math.inf)
    assert summary.decide([100.0], alpha=0.05).passed  # an unbounded interval holds any prediction


def test_six_replicates_bound_the_median_by_the_extremes():
    # 2 P(Bin(6, 1/2) = 0) = 1/32 <= 0.05 < 2 P(Bin(6, 1/2) <= 1) = 7/32: k = 1, [x_(1), x_(6)]
    summary = MedianSummary(np.array([3.0, 1.0, 4.0, 1.5, 9.0, 2.0]))
    assert summary.interval(0.05) == (1.0, 9.0)
