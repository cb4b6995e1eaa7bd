"""Block-coordinate stability: bad Hessians and spectra are refused, and the operator's step-size search.

On d = 1 with one block, z ~ N(0, 1) and x' = (1 - eta lambda z^2) x, so
E x'^2 / x^2 = 1 - 2 eta lambda + 3 eta^2 lambda^2: the epoch radius in closed
form, equal to 1 at eta* = 2 / (3 lambda).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.symbolic.bcd_stability import (
    MAX_RESHUFFLED_BLOCKS,
    bcd_aligned_eta_star,
    bcd_eta_star_operator,
    epoch_operator,
    epoch_radius,
    rho_K,
)

LAM = 2.0
H1 = np.array([[LAM]])


@pytest.mark.parametrize("eta", [0.1, 0.3, 0.5])
def test_epoch_radius_in_one_dimension_is_the_gaussian_second_moment_factor(eta):
    expected = 1 - 2 * eta * LAM + 3 * eta**2 * LAM**2
    assert epoch_radius(H1, blocks=1, eta=eta) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("guess", [None, 5.0, 1e-10, 1e15])
def test_operator_threshold_is_found_from_either_side_of_the_guess(guess):
    # 5.0 and 1e15 lie above eta* = 1/3: the search shrinks the step until it is stable
    assert bcd_eta_star_operator(H1, blocks=1, guess=guess) == pytest.approx(2 / (3 * LAM), rel=1e-12)


def test_a_guess_too_far_above_the_threshold_says_so():
    with pytest.raises(NotApplicableError, match=r"no stable step size found in \[.*, 1e\+25\]; give a smaller guess"):
        bcd_eta_star_operator(H1, blocks=1, guess=1e25)


def test_a_guess_too_far_below_the_threshold_says_so():
    # the radius rounds to 1 there: that is the stable side, not a sign that no step is stable
    with pytest.raises(NotApplicableError, match=r"no stability edge found in \[1e-25, .*\]; give a larger guess"):
        bcd_eta_star_operator(H1, blocks=1, guess=1e-25)


@pytest.mark.parametrize("guess", [0.0, -0.5, math.nan, math.inf])
def test_the_guess_must_be_a_positive_finite_step(guess):
    with pytest.raises(InvalidParameterError, match=r"guess must be a positive finite step size, got"):
        bcd_eta_star_operator(H1, blocks=1, guess=guess)


def test_hessian_must_be_square():
    with pytest.raises(InvalidParameterError, match=r"Hessian must be a square matrix, got shape \(2, 3\)"):
        rho_K(np.ones((2, 3)), blocks=1)


@pytest.mark.parametrize("H", [[[2.0, 1e-6], [0.0, 2.0]], [[2.0, 0.0], [0.0, math.nan]]])
def test_hessian_must_be_finite_and_symmetric(H):
    with pytest.raises(InvalidParameterError, match=r"Hessian must be a finite symmetric matrix"):
        rho_K(np.array(H), blocks=1)


@pytest.mark.parametrize(
    ("spectra", "blocks", "sizes"),
    [
        ([[1.0], []], None, r"2 non-empty block spectra, got sizes \[1, 0\]"),
        ([[1.0], [2.0]], 3, r"3 non-empty block spectra, got sizes \[1, 1\]"),
    ],
)
def test_aligned_threshold_needs_one_non_empty_spectrum_per_block(spectra, blocks, sizes):
    with pytest.raises(InvalidParameterError, match=rf"need {sizes}"):
        bcd_aligned_eta_star(spectra, blocks=blocks)


def test_aligned_threshold_refuses_beta_one_and_non_positive_spectra():
    with pytest.raises(InvalidParameterError, match=r"beta must be in \[0, 1\), got 1.0"):
        bcd_aligned_eta_star([[1.0], [2.0]], beta=1.0)
    with pytest.raises(InvalidParameterError, match=r"block spectra must be positive \(H positive definite\)"):
        bcd_aligned_eta_star([[1.0], [2.0, 0.0]])


def test_reshuffled_order_has_a_block_limit():
    B = MAX_RESHUFFLED_BLOCKS + 1
    with pytest.raises(InvalidParameterError, match=rf"order 'reshuffled' sums 2\^B products; B = {B} exceeds"):
        epoch_operator(np.eye(B), blocks=B, eta=0.1, order="reshuffled")
