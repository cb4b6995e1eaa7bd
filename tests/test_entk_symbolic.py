"""The eNTK maps (written against S and F) against independent exact routes.

Independent routes: iid laws expand the polynomial in z and replace each
monomial by a product of coordinate moments from sympy.stats; Rademacher and
coordinate enumerate every outcome; the sphere integrates over the angles at
d = 2 and 3.  None of them uses the law's moment maps.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import sympy as sp
import sympy.stats as st
from hypothesis import given
from hypothesis import strategies as hst

from zoverify._errors import InvalidParameterError
from zoverify.perturbations import parse_law
from zoverify.symbolic import entk as E
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S

IID_SYMPY = {
    "gaussian": lambda: st.Normal("x", 0, 1),
    "gaussian(mean=0.5, std=2)": lambda: st.Normal("x", sp.Rational(1, 2), 2),
    "uniform": lambda: st.Uniform("x", -sp.sqrt(3), sp.sqrt(3)),
    "laplace(b=0.6)": lambda: st.Laplace("x", 0, sp.Rational(3, 5)),
}


@functools.cache
def _raw_moment(spec: str, k: int) -> sp.Expr:
    return sp.simplify(st.E(IID_SYMPY[spec]() ** k))


@functools.cache
def _sphere_monomial(exponents: tuple[int, ...]) -> sp.Expr:
    d = len(exponents)
    r = sp.sqrt(d)
    th, ph = sp.symbols("theta phi", real=True)
    if d == 2:
        coords = (r * sp.cos(th), r * sp.sin(th))
        integrand = sp.Mul(*[c**k for c, k in zip(coords, exponents, strict=True)])
        return sp.simplify(sp.integrate(integrand, (th, 0, 2 * sp.pi)) / (2 * sp.pi))
    coords = (r * sp.sin(ph) * sp.cos(th), r * sp.sin(ph) * sp.sin(th), r * sp.cos(ph))
    integrand = sp.Mul(*[c**k for c, k in zip(coords, exponents, strict=True)]) * sp.sin(ph)
    inner = sp.integrate(integrand, (th, 0, 2 * sp.pi))
    return sp.simplify(sp.integrate(inner, (ph, 0, sp.pi)) / (4 * sp.pi))


def _expectation(spec: str, poly_expr: sp.Expr, z: list[sp.Symbol]) -> sp.Expr:
    """E[poly(z)] by an independent route for the law ``spec``."""
    law = parse_law(spec)
    outcomes = law.enumerate_outcomes(len(z))
    if outcomes is not None:
        values, probs = outcomes
        total = sp.Integer(0)
        for row, p in zip(values.tolist(), probs.tolist(), strict=True):
            point = {
                zi: sp.nsimplify(v) if float(v).is_integer() else sp.sqrt(len(z)) * sp.sign(v)
                for zi, v in zip(z, row, strict=True)
            }
            total += sp.nsimplify(p) * poly_expr.subs(point)
        return sp.expand(total)
    poly = sp.Poly(sp.expand(poly_expr), *z)
    total = sp.Integer(0)
    for exps, coeff in poly.terms():
        if spec == "sphere":
            total += coeff * _sphere_monomial(tuple(exps))
        else:
            total += coeff * sp.Mul(*[_raw_moment(spec, k) for k in exps])
    return sp.expand(total)


LAWS = ["gaussian", "gaussian(mean=0.5, std=2)", "uniform", "laplace(b=0.6)", "rademacher", "coordinate", "sphere"]


def _vec(name: str, d: int) -> sp.Matrix:
    return sp.Matrix(sp.symbols(f"{name}0:{d}", real=True))


@pytest.mark.parametrize("spec", LAWS)
@pytest.mark.parametrize("dim", [2, 3])
def test_entry_mean_and_variance_match_independent_route(spec, dim):
    law = parse_law(spec)
    z = list(sp.symbols(f"z0:{dim}", real=True))
    zv = sp.Matrix(z)
    av, bv = _vec("a", dim), _vec("b", dim)
    a, b = E.entk_row_vectors(sp.Integer(dim))
    binding = {a: av, b: bv}
    ka, kb = (av.T * zv)[0], (bv.T * zv)[0]
    mean = _expectation(spec, ka * kb, z)
    second = _expectation(spec, ka**2 * kb**2, z)
    assert sp.expand(E.explicit_value(E.entk_entry_mean(law, a, b, dim), binding) - mean) == 0
    var = E.explicit_value(E.entk_entry_variance(law, a, b, d=dim, P=S.P), binding)
    assert sp.simplify(var - (second - mean**2) / S.P) == 0


@pytest.mark.parametrize("spec", LAWS)
def test_frobenius_error_is_sum_of_independent_entry_variances(spec):
    dim, v = 3, 2
    law = parse_law(spec)
    z = list(sp.symbols(f"z0:{dim}", real=True))
    zv = sp.Matrix(z)
    Av = sp.Matrix(v, dim, sp.symbols(f"x0:{v * dim}", real=True))
    Bv = sp.Matrix(v, dim, sp.symbols(f"y0:{v * dim}", real=True))
    total = sp.Integer(0)
    for i in range(v):
        for j in range(v):
            ka, kb = (Av[i, :] * zv)[0], (Bv[j, :] * zv)[0]
            m = _expectation(spec, ka * kb, z)
            total += _expectation(spec, ka**2 * kb**2, z) - m**2
    A, B = E.jacobians(sp.Integer(dim), v)
    frob = E.explicit_value(E.entk_frobenius_error(law, A, B, d=dim, P=S.P), {A: Av, B: Bv})
    assert sp.simplify(frob - total / S.P) == 0


@pytest.mark.parametrize("spec", LAWS)
def test_gradient_second_moment_matches_independent_route(spec):
    dim = 3
    law = parse_law(spec)
    z = list(sp.symbols(f"z0:{dim}", real=True))
    zv = sp.Matrix(z)
    gv = _vec("g", dim)
    proj = (gv.T * zv)[0]
    single = _expectation(spec, proj**2 * (zv.T * zv)[0], z)  # E||u u^T g||^2
    mean_vec = sp.Matrix([_expectation(spec, proj * zi, z) for zi in z])  # E[u u^T] g
    expected = (single + (S.P - 1) * (mean_vec.T * mean_vec)[0]) / S.P
    g = S.vector("g", sp.Integer(dim))
    got = E.explicit_value(E.gradient_estimator_second_moment(law, g, d=dim, P=S.P), {g: gv})
    assert sp.simplify(got - expected) == 0


@pytest.mark.parametrize(("spec", "m4"), [("gaussian", 3), ("rademacher", 1), ("uniform", sp.Rational(9, 5))])
def test_unit_variance_iid_laws_reduce_to_the_paper_note_form(spec, m4):
    dim = 3
    law = parse_law(spec)
    av, bv = _vec("a", dim), _vec("b", dim)
    a, b = E.entk_row_vectors(sp.Integer(dim))
    got = E.explicit_value(E.entk_entry_variance(law, a, b, d=dim, P=S.P), {a: av, b: bv})
    na, nb, ab = (av.T * av)[0], (bv.T * bv)[0], (av.T * bv)[0]
    paper = (na * nb + ab**2 + (m4 - 3) * sum(av[k] ** 2 * bv[k] ** 2 for k in range(dim))) / S.P
    assert sp.simplify(got - paper) == 0


@pytest.mark.parametrize(("spec", "extra"), [("gaussian", S.d + 1), ("rademacher", S.d - 1)])
def test_gradient_second_moment_headline_forms_with_symbolic_d(spec, extra):
    law = parse_law(spec)
    g = S.vector("g")
    got = E.gradient_estimator_second_moment(law, g)
    # ratio to ||g||^2 at a random g and several d, via the numeric evaluator
    rng = np.random.default_rng(1)
    for dim in (1, 4, 9):
        gv = rng.standard_normal(dim)
        env = {S.d: dim, g: gv, S.P: 7}
        ratio = evaluate(got, env) / float(gv @ gv)
        want = 1 + float(extra.subs(S.d, dim)) / 7
        assert abs(ratio - want) <= 1e-12 * want  # float64: a few roundings of O(1) terms


@given(dim=hst.integers(1, 6), seed=hst.integers(0, 2**32 - 1), spec=hst.sampled_from(["rademacher", "coordinate"]))
def test_numeric_evaluation_matches_enumeration(dim, seed, spec):
    law = parse_law(spec)
    rng = np.random.default_rng(seed)
    av, bv = rng.standard_normal(dim), rng.standard_normal(dim)
    values, probs = (t.numpy() for t in law.enumerate_outcomes(dim))
    ka, kb = values @ av, values @ bv
    mean = probs @ (ka * kb)
    var = probs @ (ka * kb - mean) ** 2
    a, b = E.entk_row_vectors()
    env = {S.d: dim, a: av, b: bv, S.P: 1}
    scale = float(probs @ (ka * kb) ** 2) + 1.0
    # float64 sums of <= 2^6 terms of size <= scale: error well below 1e-12 * scale
    assert abs(evaluate(E.entk_entry_mean(law, a, b), env) - mean) <= 1e-12 * scale
    assert abs(evaluate(E.entk_entry_variance(law, a, b), env) - var) <= 1e-12 * scale


def test_second_moment_scale():
    assert E.second_moment_scale(parse_law("gaussian")) == 1
    assert E.second_moment_scale(parse_law("laplace(b=0.6)")) == sp.Rational(18, 25)
    assert E.second_moment_scale(parse_law("gaussian(std=2)")) == 4
    assert E.second_moment_scale(parse_law("gaussian(mean=0.5)")) is None


def test_jl_count_matches_achlioptas_form():
    # Achlioptas: k0 = (4 + 2 beta) / (eps^2/2 - eps^3/3) ln n with delta = n^-beta
    for eps, delta, n in [(0.3, 0.1, 20), (0.1, 0.01, 30), (0.5, 0.05, 3)]:
        beta = math.log(1 / delta) / math.log(n)
        k0 = (4 + 2 * beta) / (eps**2 / 2 - eps**3 / 3) * math.log(n)
        assert E.jl_required_perturbations(eps, delta, n) == math.ceil(k0 - 1e-9)
    assert E.jl_required_perturbations(0.3, 0.1, 20) == 461  # docs/entk.md#the-jl-bound worked example


@pytest.mark.parametrize(
    ("eps", "delta", "n"), [(0, 0.1, 5), (1.5, 0.1, 5), (0.3, 1.0, 5), (0.3, 0.1, 1), (0.3, 0.1, 2.5)]
)
def test_jl_count_rejects_bad_input(eps, delta, n):
    with pytest.raises(InvalidParameterError):
        E.jl_required_perturbations(eps, delta, n)


def test_jl_constant_is_established_only_for_gaussian_and_rademacher():
    assert E.jl_constant_reason(parse_law("gaussian")) is None
    assert E.jl_constant_reason(parse_law("rademacher")) is None
    for spec in ["sphere", "coordinate", "uniform", "gaussian(std=2)"]:
        assert "not" in E.jl_constant_reason(parse_law(spec)) or "only" in E.jl_constant_reason(parse_law(spec))


@pytest.mark.parametrize(
    "spec",
    [
        "gaussian",
        "rademacher",
        "uniform",
        "laplace(b=0.6)",
        "student_t(nu=10)",
        "sphere",
        "coordinate",
        "gaussian(mean=0.5)",
    ],
)
def test_frobenius_value_override_matches_general_map(spec):
    law = parse_law(spec)
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((3, 7)), rng.standard_normal((3, 7))
    As, Bs = E.jacobians()
    general = evaluate(E.entk_frobenius_error(law, As, Bs), {S.d: 7, E.V: 3, As: A, Bs: B, S.P: 5})
    fast = E.frobenius_error_value(law, A, B, P=5)
    assert abs(fast - general) <= 1e-12 * abs(general)  # float64 sums of ~100 O(1) terms: rounding ~1e-14 relative
