"""Each law's symbolic moment maps against independent routes.

Routes: sympy.stats expectations of the expanded polynomial at explicit d = 2, 3
(iid laws); exact enumeration of all outcomes (Rademacher, coordinate); exact
Gauss quadrature (Gaussian with any mean, uniform); angular integration (sphere
at d = 2).  None of them uses the closed forms under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import sympy.stats as st
from hypothesis import given
from hypothesis import strategies as hs

from tests._quadrature import functionals, gaussian_rule, uniform_rule
from zoverify.claims.moments.sampler import moment_functionals
from zoverify.perturbations import Coordinate, Gaussian, Rademacher, Uniform, parse_law

RTOL = 1e-9  # float64 evaluation of exact quantities: only rounding separates them


def _objects(dim, seed=0):
    rng = np.random.default_rng(seed)
    a, b, v = (rng.integers(-3, 4, dim).astype(float) for _ in range(3))
    g = rng.integers(-2, 3, (dim, dim)).astype(float)
    return a, b, v, g + g.T


SYMPY_LAWS = {
    "gaussian(mean=0.5, std=2)": lambda i: st.Normal(f"z{i}", sp.Rational(1, 2), 2),
    "laplace(b=0.6)": lambda i: st.Laplace(f"z{i}", 0, sp.Rational(3, 5)),
    "uniform": lambda i: st.Uniform(f"z{i}", -sp.sqrt(3), sp.sqrt(3)),
    "rademacher": lambda i: st.Rademacher(f"z{i}"),
    "iid(Exponential(1))": lambda i: st.Exponential(f"z{i}", 1),
}


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("spec", list(SYMPY_LAWS))
def test_iid_law_moments_match_sympy_stats(spec, dim):
    law = parse_law(spec)
    a, b, v, A = _objects(dim, seed=dim)
    z = sp.Matrix([SYMPY_LAWS[spec](i) for i in range(dim)])
    za, zb, zv = (sp.Matrix(x.astype(int)).T * z for x in (a, b, v))
    quad = (z.T * sp.Matrix(A.astype(int)) * z)[0]
    exprs = [za[0], za[0] * zb[0], zv[0] * za[0] * zb[0], quad * za[0] * zb[0]]
    expected = np.array([float(st.E(sp.expand(e))) for e in exprs])
    got = moment_functionals(law, dim, a, b, v, A)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-9)


def test_student_t_coordinate_moments_match_sympy_integration():
    law = parse_law("student_t(nu=10)")
    x = sp.Symbol("x", real=True)
    dens = st.density(st.StudentT("t", 10))(x)
    m2 = sp.integrate(x**2 * dens, (x, -sp.oo, sp.oo))
    m4 = sp.integrate(x**4 * dens, (x, -sp.oo, sp.oo))
    mom = law.scalar_moments()
    for ours, integral in ((mom["var"], m2), (mom["m4"], m4)):
        assert sp.simplify(sp.expand_func((ours - integral).rewrite(sp.gamma))) == 0


@pytest.mark.parametrize("dim", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("law", [Rademacher(), Coordinate(), Coordinate(signed=True)], ids=lambda x: x.spec)
def test_finite_laws_match_exact_enumeration(law, dim):
    outcomes, probs = law.enumerate_outcomes(dim)
    assert abs(float(probs.sum()) - 1) < 1e-12
    a, b, v, A = _objects(dim, seed=10 + dim)
    expected = functionals(outcomes.numpy(), probs.numpy(), a, b, v, A)
    np.testing.assert_allclose(moment_functionals(law, dim, a, b, v, A), expected, rtol=RTOL, atol=1e-9)


@given(
    dim=hs.integers(1, 5),
    std=hs.floats(0.1, 3.0),
    mean=hs.lists(hs.floats(-2, 2), min_size=5, max_size=5),
    vector_mean=hs.booleans(),
    seed=hs.integers(0, 2**32 - 1),
)
def test_gaussian_moments_match_gauss_hermite(dim, std, mean, vector_mean, seed):
    m = mean[:dim] if vector_mean else mean[0]
    law = Gaussian(mean=m, std=std)
    a, b, v, A = _objects(dim, seed=seed)
    pts, wts = gaussian_rule(m, std, dim)
    expected = functionals(pts, wts, a, b, v, A)
    got = moment_functionals(law, dim, a, b, v, A)
    scale = np.abs(expected).max() + 1
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * scale)


@given(dim=hs.integers(1, 5), seed=hs.integers(0, 2**32 - 1))
def test_uniform_moments_match_gauss_legendre(dim, seed):
    a, b, v, A = _objects(dim, seed=seed)
    pts, wts = uniform_rule(-np.sqrt(3), np.sqrt(3), dim)
    expected = functionals(pts, wts, a, b, v, A)
    np.testing.assert_allclose(moment_functionals(Uniform(), dim, a, b, v, A), expected, rtol=1e-9, atol=1e-8)


def test_sphere_fourth_moment_by_angular_integration_d2():
    th = sp.Symbol("theta", real=True)
    z = sp.sqrt(2) * sp.Matrix([sp.cos(th), sp.sin(th)])
    a, b, v, A = _objects(2, seed=3)
    za, zb = (sp.Matrix(a.astype(int)).T * z)[0], (sp.Matrix(b.astype(int)).T * z)[0]
    quad = (z.T * sp.Matrix(A.astype(int)) * z)[0]

    def mean_over_circle(e):
        return float(sp.integrate(sp.expand(e), (th, 0, 2 * sp.pi)) / (2 * sp.pi))

    expected = [mean_over_circle(za * zb), mean_over_circle(quad * za * zb)]
    got = moment_functionals(parse_law("sphere"), 2, a, b, v, A, orders=(2, 4))
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def test_symbolic_maps_keep_d_symbolic():
    from zoverify.symbolic import symbols as S

    A = S.matrix("A")
    sphere = parse_law("sphere").fourth_moment(A, S.d)
    assert S.d in sphere.free_symbols  # the coefficient d/(d+2) keeps d symbolic
    shared = parse_law("gaussian").fourth_moment(sp.Identity(S.d), S.d).doit()
    # E||z||^2 z z^T = (d + 2) I for N(0, I): Corollary 2's factor, with d symbolic
    assert shared.shape == (S.d, S.d)
    coeff = shared.args[0] if isinstance(shared, sp.MatMul) else None
    assert coeff is not None and sp.simplify(coeff - (S.d + 2)) == 0


def test_vector_mean_gaussian_shared_form():
    """E[||z||^2 z z^T] for N(mu, s^2 I) with a symbolic vector mean (P1-2, docs/nzk.md#shared-gaussian-directions)."""
    from zoverify.symbolic import evaluate
    from zoverify.symbolic import symbols as S

    mu = S.vector("mu")
    s = S.sigma
    law = Gaussian(mean=mu, std=s)
    M = law.fourth_moment(sp.Identity(S.d), S.d)
    rng = np.random.default_rng(5)
    for dim in (2, 4, 7):
        m = rng.standard_normal(dim)
        env = {S.d: dim, S.vector("mu", dim): m, mu: m, s: 1.3}
        nm = m @ m
        expected = ((dim + 2) * 1.3**4 + 1.3**2 * nm) * np.eye(dim) + ((dim + 4) * 1.3**2 + nm) * np.outer(m, m)
        np.testing.assert_allclose(evaluate(M, env), expected, rtol=1e-12)
