"""The symbolic families (eNTK, NZK, stability, best-of-K) on bad input and on the branches the default laws skip.

Expected values come from enumeration of the Rademacher law, direct recursion,
or the Rademacher mean-square recursion on a diagonal Hessian
(s' = (I - 2 eta L + eta^2 1 lambda^2^T) s, whose radius is 1 at eta = 2 / tr H).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from sympy import DiagonalMatrix, Identity, Trace, ZeroMatrix

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.moment_maps import MomentMap
from zoverify.moment_maps import symbols as S
from zoverify.perturbations import parse_law
from zoverify.symbolic import entk as E
from zoverify.symbolic import nzk as N
from zoverify.symbolic._evaluate import evaluate
from zoverify.symbolic.best_of import excess_loss_curve, max_normal_moments
from zoverify.symbolic.stability import (
    FourthMomentForm,
    SpectralSetting,
    fourth_moment_form,
    second_moment_operator,
    spectral_bounds,
    spectral_eta_star,
    spectral_setting,
)


class _Explicit(MomentMap):
    """A two-dimensional law written with explicit sympy matrices: E[z z^T] = diag(s1, s2)."""

    name = "explicit"
    fixed_dim = 2

    def __init__(self, s1, s2):
        self.s1, self.s2 = s1, s2

    def parameters(self):
        return {"s1": self.s1, "s2": self.s2}

    def mean(self, d=2):
        return sp.zeros(2, 1)

    def second_moment(self, d=2):
        return sp.diag(self.s1, self.s2)

    def third_moment(self, v, d=2):
        return sp.zeros(2, 2)

    def fourth_moment(self, A, d=2):
        raise NotImplementedError


class _SpelledOutGaussian(MomentMap):
    """N(0, I) with its fourth moment written generically, m4 = 3 making the Diag(A) term a zero matrix."""

    name = "spelled_out_gaussian"

    def parameters(self):
        return {}

    def mean(self, d=S.d):
        return ZeroMatrix(d, 1)

    def second_moment(self, d=S.d):
        return Identity(d)

    def third_moment(self, v, d=S.d):
        return ZeroMatrix(d, d)

    def fourth_moment(self, A, d=S.d):
        m4 = 3
        return sp.MatAdd(Trace(A) * Identity(d), 2 * A, (m4 - 3) * DiagonalMatrix(A))


class _Rotated(MomentMap):
    """z = Q g, g ~ N(0, I), written through the rotation Q (a matrix symbol): products of several matrices."""

    name = "rotated"

    def parameters(self):
        return {}

    def mean(self, d=S.d):
        return ZeroMatrix(d, 1)

    def second_moment(self, d=S.d):
        Q = S.matrix("Q", d, d)
        return Q * Q.T

    def third_moment(self, v, d=S.d):
        return ZeroMatrix(d, d)

    def fourth_moment(self, A, d=S.d):
        Q = S.matrix("Q", d, d)
        return Q * (Trace(Q.T * A * Q) * Identity(d) + 2 * Q.T * A * Q) * Q.T


# -- eNTK ----------------------------------------------------------------------------------
def test_second_moment_scale_of_an_explicit_matrix():
    assert E.second_moment_scale(_Explicit(3, 3)) == 3
    assert E.second_moment_scale(_Explicit(3, 2)) is None


def test_gradient_estimator_mean_matches_enumeration():
    law, d = parse_law("gaussian(std=2)"), 3
    g_val = np.array([1.0, -2.0, 0.5])
    g = S.vector("g", d)
    got = evaluate(E.gradient_estimator_mean(law, g, sp.Integer(d)), {g: g_val}).ravel()
    np.testing.assert_allclose(got, 4 * g_val)  # E[u u^T] = std^2 I
    rad = parse_law("rademacher")
    outcomes = rad.enumerate_outcomes(d)
    assert outcomes is not None
    u, p = (t.numpy() for t in outcomes)
    expected = (p[:, None] * u * (u @ g_val)[:, None]).sum(axis=0)
    got = evaluate(E.gradient_estimator_mean(rad, g, sp.Integer(d)), {g: g_val}).ravel()
    np.testing.assert_allclose(got, expected, atol=1e-15)


def test_jl_entry_bound_is_attained_by_the_worst_polarisation():
    # |a+b|^2 stretched by 1 + eps and |a-b|^2 shrunk by 1 - eps: Delta(a.b) = eps (|a+b|^2 + |a-b|^2) / 4
    eps, a, b = 0.3, np.array([1.0, 2.0, -1.0]), np.array([0.5, -1.0, 3.0])
    worst = eps * (np.sum((a + b) ** 2) + np.sum((a - b) ** 2)) / 4
    assert E.jl_entry_bound(eps, a @ a, b @ b) == pytest.approx(worst, rel=1e-15)


def test_jl_frobenius_bound_covers_the_entry_bounds():
    rng = np.random.default_rng(7)
    eps, A, B = 0.4, rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    na, nb = (A**2).sum(axis=1), (B**2).sum(axis=1)
    entries = sum(E.jl_entry_bound(eps, x, y) ** 2 for x in na for y in nb)
    bound = E.jl_frobenius_bound(eps, 3, na.sum(), nb.sum())
    assert entries <= bound
    assert E.jl_frobenius_bound(0.5, 2, 3.0, 1.0) == 4.0  # (0.25 * 2 / 2) * 16


def test_explicit_value_of_a_one_by_one_product_is_a_scalar():
    a, b = S.vector("a", 3), S.vector("b", 3)
    out = E.explicit_value(a.T * b, {a: sp.Matrix([1, 2, 3]), b: sp.Matrix([4, -5, 6])})
    assert out == 4 - 10 + 18 and not isinstance(out, sp.MatrixBase)


@pytest.mark.parametrize(
    ("spec", "why"),
    [("gaussian(std=2)", "established for N\\(0, 1\\) entries only"), ("uniform", "it is not proven for this law")],
)
def test_jl_law_is_refused_where_the_constant_is_not_established(spec, why):
    E.require_jl_law(parse_law("gaussian"))
    with pytest.raises(NotApplicableError, match=why):
        E.require_jl_law(parse_law(spec))


# -- NZK -----------------------------------------------------------------------------------
def test_common_dimension_must_be_positive():
    with pytest.raises(InvalidParameterError, match=r"dimension must be a positive integer, got 0"):
        N.common_dimension(parse_law("gaussian"), dim=0)


def test_a_law_with_a_mean_has_no_scalar_kernel_or_speed_up():
    law = parse_law("gaussian(mean=0.5)")
    with pytest.raises(NotApplicableError, match=r"the shared NZK of gaussian\(mean=0.5\) is not a multiple of X X\^T"):
        N.kernel_factor(law)
    with pytest.raises(NotApplicableError, match=r"E\[z z\^T\] of gaussian\(mean=0.5\) is not a multiple of I"):
        N.zo_gd_speedup(law)


def test_equal_kernel_parameter_of_a_family_that_cannot_match():
    # the sphere's shared factor is d at every "parameter"; the Gaussian's is d + 2
    with pytest.raises(NotApplicableError, match=r"no unique positive parameter matches the kernel of gaussian"):
        N.equal_kernel_parameter(lambda p: parse_law("sphere"), parse_law("gaussian"), d=3)


def test_nzk_takes_law_objects_not_specs():
    with pytest.raises(InvalidParameterError, match=r"law must be a law object .*got 'gaussian'.*parse_law"):
        N.kernel_factor("gaussian")  # pyright: ignore[reportArgumentType]  # the spec string is the point


def test_mean_curve_of_a_non_symmetric_kernel_is_the_recursion():
    K, y, f0, eta = np.array([[2.0, 1.0], [0.0, 1.0]]), np.array([1.0, -1.0]), np.zeros(2), 0.5
    f, expected = f0.copy(), []
    for t in range(4):
        if t in (0, 1, 3):
            expected.append(f.copy())
        f = f - eta / 2 * K @ (f - y)  # E f_{t+1} = E f_t - (eta / N) Kbar (E f_t - y)
    got = N.mean_function_curve(K, y, f0, eta=eta, steps=[0, 1, 3])
    np.testing.assert_allclose(got, np.array(expected), atol=1e-14)


@pytest.mark.parametrize("K", [[[1.0, 0.0], [0.0, -0.5]], [[0.0, 1.0], [-1.0, 0.0]]])
def test_kernel_threshold_needs_a_real_non_negative_spectrum(K):
    with pytest.raises(NotApplicableError, match=r"Kbar has complex or negative eigenvalues"):
        N.kernel_gd_threshold(np.array(K))


# -- stability -----------------------------------------------------------------------------
def test_second_moment_operator_names_the_methods():
    with pytest.raises(InvalidParameterError, match=r"method must be one of gd, gdm, adam, got 'sgd'"):
        second_moment_operator(parse_law("gaussian"), method="sgd")


def test_fourth_moment_form_reads_through_a_zero_term():
    assert fourth_moment_form(_SpelledOutGaussian()) == FourthMomentForm(*(sp.Integer(k) for k in (1, 1, 2, 0)))


def test_fourth_moment_form_of_a_law_with_a_mean_is_refused():
    with pytest.raises(NotApplicableError, match=r"gaussian\(mean=0.5\): .*use the dense operator"):
        fourth_moment_form(parse_law("gaussian(mean=0.5)"))


def test_fourth_moment_form_refuses_a_product_of_several_matrices():
    # the pattern reads c tr(A) I + b A + e Diag(A) only; a product through Q is left to the dense operator
    with pytest.raises(NotApplicableError, match=r"law rotated: .*use the dense operator"):
        fourth_moment_form(_Rotated())


def test_spectral_threshold_needs_a_positive_eigenvalue():
    with pytest.raises(InvalidParameterError, match=r"the Hessian has no positive eigenvalue \(H = 0\)"):
        spectral_eta_star([0.0, -1.0], SpectralSetting(kappa_g=1.0, kappa_s=1.0))


def test_rademacher_threshold_on_a_diagonal_hessian_has_no_pole():
    # kappa_s = -1: the gain is linear in eta, so eta* = 2 / tr H; tr H < 2 puts it beyond the first bracket
    setting = spectral_setting(parse_law("rademacher"), d=2, diagonal_hessian=True)
    lam = np.array([0.1, 0.3])
    eta = float(spectral_eta_star(lam, setting))
    assert eta == pytest.approx(2 / lam.sum(), rel=1e-12)
    T = np.eye(2) - 2 * eta * np.diag(lam) + eta**2 * np.outer(np.ones(2), lam**2)
    assert max(abs(np.linalg.eigvals(T))) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    "setting", [SpectralSetting(kappa_g=0.0, kappa_s=1.0), SpectralSetting(kappa_g=1.0, kappa_s=-1.0, beta=0.5)]
)
def test_spectral_bounds_are_absent_without_coupling_or_with_negative_curvature(setting):
    assert spectral_bounds([1.0, 2.0], setting) == (None, None)


# -- best of K -----------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.0, -1.0, math.nan])
def test_best_of_sigma_must_be_positive(sigma):
    with pytest.raises(InvalidParameterError, match=r"sigma must be positive, got"):
        max_normal_moments(3, sigma=sigma)


def test_best_of_steps_must_be_non_negative():
    with pytest.raises(InvalidParameterError, match=r"steps must be non-negative integers, got \[0, -1\]"):
        excess_loss_curve([1.0], [1.0], step=0.1, a2=1.0, a4=3.0, b=1.0, steps=[0, -1])
