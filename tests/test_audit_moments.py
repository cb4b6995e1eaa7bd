"""The fifth- and sixth-order moment maps and the audit claims built on them, each by a second route.

The routes do not use the code under test: exact enumeration of Rademacher's outcomes (of
g g^T and of g itself, from the difference quotients of the test function), Isserlis pairings
enumerated here and raw-moment pattern sums with sympy.stats moments for the Gaussian, and a
seeded numpy Monte Carlo for the sphere whose tolerance is its own standard error.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp
import sympy.stats as st
import torch
from scipy.stats import norm

from zoverify._errors import MomentDoesNotExistError
from zoverify.claims import check, select
from zoverify.claims.audit import common as C
from zoverify.perturbations import AbstractIIDLaw, cubic_moment, fifth_moment, parse_law, sixth_moment
from zoverify.verify.claim import Context

#: enumerations and sums are exact; only rounding separates the routes
ROUNDING = dict(rtol=1e-11, atol=1e-11)


def _symmetric(rng: np.random.Generator, dim: int) -> np.ndarray:
    B = rng.standard_normal((dim, dim))
    return (B + B.T) / 2


def _context(name: str, law: str) -> Context:
    claim = select([name])[0].load()
    return Context(parse_law(law), claim.resolve_params(None), claim.num_samples, 0, torch.device("cpu"), torch.float64)


# ------------------------------------------------------------------ second routes
def _rademacher_outcomes(dim: int):
    Z, p = parse_law("rademacher").enumerate_outcomes(dim)
    return Z.numpy(), p.numpy()


def _pattern_tensor(raw: list[float], dim: int, order: int) -> np.ndarray:
    """E[z_i1 ... z_in] for iid coordinates: the product over distinct indices of the raw moment of its multiplicity."""
    idx = np.array(list(itertools.product(range(dim), repeat=order)))
    counts = (idx[:, :, None] == np.arange(dim)).sum(axis=1)  # multiplicity of each coordinate
    return np.prod(np.asarray(raw, float)[counts], axis=1).reshape((dim,) * order)


def _gaussian_raw_moments(mean: float, order: int) -> list[float]:
    """E[X^k], k = 0..order, for X ~ N(mean, 1), by sympy.stats."""
    X = st.Normal("x", sp.nsimplify(mean), 1)
    return [float(st.E(X**k)) for k in range(order + 1)]


def _pairings(items: tuple[int, ...]):
    """Every perfect matching of ``items`` (15 for six)."""
    if not items:
        yield ()
        return
    first, rest = items[0], items[1:]
    for k, other in enumerate(rest):
        for tail in _pairings(rest[:k] + rest[k + 1 :]):
            yield ((first, other), *tail)


def _isserlis_tensor(dim: int) -> np.ndarray:
    """E[z_i z_j z_k z_l z_a z_b] for N(0, I): the sum over the pairings of products of deltas."""
    eye, total = np.eye(dim), np.zeros((dim,) * 6)
    letters = "ijklab"
    for pairing in _pairings(tuple(range(6))):
        spec = ",".join(letters[p] + letters[q] for p, q in pairing) + "->" + letters
        total += np.einsum(spec, *([eye] * 3))
    return total


def test_six_indices_have_fifteen_pairings_and_they_give_the_isotropic_form():
    """1 + 2 + 4 + 8 = 15 pairings; contracted with A_ij A_kl they give (trA)^2 I + 2 tr(A^2) I + 4 trA A + 8 A^2."""
    assert len(list(_pairings(tuple(range(6))))) == 15
    rng = np.random.default_rng(11)
    for dim in (2, 3, 5):
        A = _symmetric(rng, dim)
        iss = np.einsum("ijklab,ij,kl->ab", _isserlis_tensor(dim), A, A)
        tr = np.trace(A)
        form = (tr**2 + 2 * np.trace(A @ A)) * np.eye(dim) + 4 * tr * A + 8 * A @ A
        assert np.allclose(iss, form, **ROUNDING)
        assert np.allclose(sixth_moment(parse_law("gaussian"), dim, A=A), iss, **ROUNDING)
        # all indices contracted: E||z||^6 = c6 d (d + 2) (d + 4) with c6 = 1
        assert np.einsum("iikkaa->", _isserlis_tensor(dim)) == pytest.approx(dim * (dim + 2) * (dim + 4))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("mean", [0.0, 0.3])
def test_gaussian_maps_match_raw_moment_pattern_sums(dim, mean):
    """Sixth, fifth and cubic maps of N(mean, I) against sums over index patterns with sympy.stats raw moments."""
    raw = _gaussian_raw_moments(mean, 6)
    law = parse_law(f"gaussian(mean={mean})")
    rng = np.random.default_rng(100 + dim)
    A, v, c = _symmetric(rng, dim), rng.standard_normal(dim), rng.standard_normal(dim)
    T6, T5, T4 = (_pattern_tensor(raw, dim, n) for n in (6, 5, 4))
    assert np.allclose(sixth_moment(law, dim, A=A), np.einsum("ijklab,ij,kl->ab", T6, A, A), **ROUNDING)
    assert np.allclose(fifth_moment(law, dim, v=v, A=A), np.einsum("iklab,i,kl->ab", T5, v, A), **ROUNDING)
    assert np.allclose(cubic_moment(law, dim, c=c), np.einsum("iiia,i->a", T4, c), **ROUNDING)


def _forward_quotients(Z, *, x, A, b, mu):
    """(f(x + mu z) - f(x)) / mu for every row z of Z, f = y^T A y / 2 + b^T y evaluated directly."""

    def f(Y):
        return 0.5 * np.einsum("ni,ij,nj->n", Y, A, Y) + Y @ b

    return (f(x + mu * Z) - f(x[None])) / mu


@pytest.mark.parametrize("dim", [3, 4])
def test_forward_second_moment_on_a_quadratic_by_enumerating_rademacher(dim):
    """E[g g^T] of the forward q-query estimate over all 2^(d q) Rademacher outcomes (q = 1, 2), against the formula."""
    Z, p = _rademacher_outcomes(dim)
    rng = np.random.default_rng(7 + dim)
    A, x, b = _symmetric(rng, dim), rng.standard_normal(dim), rng.standard_normal(dim)
    v, mu, scale = A @ x + b, 0.5, 0.7
    law = parse_law("rademacher")
    coeff = _forward_quotients(Z, x=x, A=A, b=b, mu=mu)
    g1 = scale * coeff[:, None] * Z  # one direction per estimate
    exact = {1: np.einsum("n,ni,nj->ij", p, g1, g1)}
    g2 = (g1[:, None, :] + g1[None, :, :]) / 2  # two independent directions, averaged
    exact[2] = np.einsum("n,m,nmi,nmj->ij", p, p, g2, g2)
    for q, second in exact.items():
        ours = C.estimate_second_moment(law, dim, v=v, queries=q, scale=scale, A=A, scheme="forward", mu=mu)
        assert np.allclose(ours, second, **ROUNDING), q
    # and the maps themselves
    quad = np.einsum("ni,ij,nj->n", Z, A, Z)
    assert np.allclose(sixth_moment(law, dim, A=A), np.einsum("n,n,ni,nj->ij", p, quad**2, Z, Z), **ROUNDING)
    assert np.allclose(fifth_moment(law, dim, v=v, A=A), np.einsum("n,n,n,ni,nj->ij", p, Z @ v, quad, Z, Z), **ROUNDING)


def _cubic_quotients(Z, *, f, x, mu, scheme):
    values = np.array([f(x + mu * z) for z in Z])
    if scheme == "central":
        return (values - np.array([f(x - mu * z) for z in Z])) / (2 * mu)
    return (values - f(x)) / mu


@pytest.mark.parametrize("scheme", ["central", "forward"])
def test_cubic_mean_of_the_claim_by_enumerating_rademacher(scheme):
    """The claim's own cubic at d = 6: E g over the 64 Rademacher outcomes, against the prediction; and the
    mu^2 term is at least 10 % of every component (so omitting it is a near miss the claim can see)."""
    name = "audit.estimator_mean_cubic" + ("_forward" if scheme == "forward" else "")
    ctx = _context(name, "rademacher")
    dim, mu = ctx["dim"], ctx["mu"]
    f, x, A, c, v = C.cubic_test_function(ctx, dim)
    # the function is the stated cubic with gradient v at x (central differences at a tiny step)
    h = 1e-5
    numeric = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(dim)])
    assert np.allclose(numeric, v, rtol=0, atol=1e-8)  # O(h^2 |c|) truncation + rounding / h
    Z, p = _rademacher_outcomes(dim)
    mean = p @ (_cubic_quotients(Z, f=f, x=x, mu=mu, scheme=scheme)[:, None] * Z)
    pred = select([name])[0].load().predict(ctx)
    assert np.allclose(pred, np.append(mean, mean @ v / (v @ v)), **ROUNDING)
    # Rademacher z_i^3 = z_i: the mu^2 term is exactly (mu^2/6) c, each component's share >= 1/7
    term = mu**2 / 6 * c
    assert np.all(np.abs(term) >= 0.1 * np.abs(mean))


def test_sphere_maps_by_seeded_monte_carlo():
    """E[(z^T A z)^2 zz^T], E[(z^T v)(z^T A z) zz^T] and E[(sum c_i z_i^3) z] on the sphere of radius sqrt(d).

    z = sqrt(d) u/||u|| from a numpy generator with an explicit seed (not the law's sampler).  Each entry is
    judged against its own standard error at the Bonferroni normal quantile for a family-wise false-failure
    probability of 1e-6 over all entries (CLT; n = 2e5 iid rows).  A wrong c6 (the Gaussian's 1 instead of
    d^2/((d+2)(d+4)) = 1/3 at d = 4) would be dozens of standard errors away.
    """
    dim, n = 4, 200_000
    rng = np.random.default_rng(20240611)
    A, v, c = _symmetric(rng, dim), rng.standard_normal(dim), rng.standard_normal(dim)
    u = rng.standard_normal((n, dim))
    Z = np.sqrt(dim) * u / np.linalg.norm(u, axis=1, keepdims=True)
    quad = np.einsum("ni,ij,nj->n", Z, A, Z)
    zz = np.einsum("ni,nj->nij", Z, Z).reshape(n, -1)
    rows = np.concatenate([quad[:, None] ** 2 * zz, ((Z @ v) * quad)[:, None] * zz, (Z**3 @ c)[:, None] * Z], axis=1)
    law = parse_law("sphere")
    pred = np.concatenate(
        [
            sixth_moment(law, dim, A=A).ravel(),
            fifth_moment(law, dim, v=v, A=A).ravel(),
            cubic_moment(law, dim, c=c),
        ]
    )
    se = rows.std(axis=0, ddof=1) / np.sqrt(n)
    k = norm.isf(1e-6 / (2 * rows.shape[1]))
    assert np.all(np.abs(rows.mean(axis=0) - pred) <= k * se), np.max(np.abs(rows.mean(axis=0) - pred) / se)
    assert law.sixth_moment_factor(sp.Integer(dim)) == sp.Rational(dim**2, (dim + 2) * (dim + 4))


# ------------------------------------------------------------------ the laws' fifth and sixth central moments
def _density_moment(density, x, k, lo=-sp.oo, hi=sp.oo):
    return sp.simplify(sp.integrate(x**k * density, (x, lo, hi)))


def test_fifth_and_sixth_central_moments_of_the_families():
    """m5 and m6 against integrals of the density (sympy), an independent route."""
    x = sp.Symbol("x", real=True)
    b, nu = sp.Rational(3, 5), 10
    s3 = sp.sqrt(3)
    t_density = sp.gamma(sp.Rational(nu + 1, 2)) / (sp.sqrt(nu * sp.pi) * sp.gamma(sp.Rational(nu, 2)))
    t_density = t_density * (1 + x**2 / nu) ** (-sp.Rational(nu + 1, 2))
    cases = {
        "uniform": (1 / (2 * s3), -s3, s3),
        "laplace(b=0.6)": (sp.exp(-sp.Abs(x) / b) / (2 * b), -sp.oo, sp.oo),
        "student_t(nu=10)": (t_density, -sp.oo, sp.oo),
        "gaussian(std=2)": (sp.exp(-(x**2) / 8) / sp.sqrt(8 * sp.pi), -sp.oo, sp.oo),
    }
    for spec, (density, lo, hi) in cases.items():
        mom = parse_law(spec).centred_moments()
        for k in (5, 6):
            assert sp.simplify(mom[f"m{k}"] - _density_moment(density, x, k, lo, hi)) == 0, (spec, k)
    rad = parse_law("rademacher").centred_moments()
    assert (rad["m5"], rad["m6"]) == (0, 1)
    # Exp(1): central moments are the subfactorials (derangement numbers): !5 = 44, !6 = 265
    expo = parse_law("iid(Exponential(1))").centred_moments()
    assert (expo["m5"], expo["m6"]) == (sp.subfactorial(5), sp.subfactorial(6))


def test_missing_sixth_moments_are_named():
    """student_t without a finite sixth (fifth) moment, and an iid law that defines no m6, raise naming both."""
    A = np.eye(3)
    with pytest.raises(MomentDoesNotExistError, match=r"student_t\(nu=6\).*order 6"):
        sixth_moment(parse_law("student_t(nu=6)"), 3, A=A)
    with pytest.raises(MomentDoesNotExistError, match=r"student_t\(nu=5\).*order 5"):
        fifth_moment(parse_law("student_t(nu=5)"), 3, v=np.ones(3), A=A)
    assert np.allclose(fifth_moment(parse_law("student_t(nu=6)"), 3, v=np.ones(3), A=A), 0)

    class FourOnly(AbstractIIDLaw):
        name = "four_only"

        def parameters(self):
            return {}

        def centred_moments(self):
            return {"var": sp.Integer(1), "m3": sp.Integer(0), "m4": sp.Integer(2)}

    with pytest.raises(MomentDoesNotExistError, match=r"four_only.*order 5.*'m5'"):
        sixth_moment(FourOnly(), 3, A=A)
    assert np.allclose(cubic_moment(FourOnly(), 3, c=np.ones(3)), 2)  # the fourth order still serves


# ------------------------------------------------------------------ the claims see the near misses
def _second_term(ctx, *, which: str) -> np.ndarray:
    """The claim's mu or mu^2 term of E[g g^T] (q = 1, scale 1) by a second route at d = 6.

    Rademacher: the 64 outcomes; sphere: c6 times the Isserlis contraction (odd moments 0);
    N(0.3, I): pattern sums of sympy.stats raw moments.
    """
    dim, mu = ctx["dim"], ctx["mu"]
    _, _, A, v = C.test_function(ctx, dim, linear=False)
    spec = ctx.law.spec
    if spec == "rademacher":
        Z, p = _rademacher_outcomes(dim)
        quad = np.einsum("ni,ij,nj->n", Z, A, Z)
        weight = quad**2 / 4 * mu**2 if which == "mu^2" else mu * (Z @ v) * quad
        return np.einsum("n,n,ni,nj->ij", p, weight, Z, Z)
    if spec == "sphere":
        if which == "mu":
            return np.zeros((dim, dim))
        c6 = dim**2 / ((dim + 2) * (dim + 4))
        return mu**2 / 4 * c6 * np.einsum("ijklab,ij,kl->ab", _isserlis_tensor(dim), A, A)
    raw = _gaussian_raw_moments(0.3, 6)
    if which == "mu^2":
        return mu**2 / 4 * np.einsum("ijklab,ij,kl->ab", _pattern_tensor(raw, dim, 6), A, A)
    return mu * np.einsum("iklab,i,kl->ab", _pattern_tensor(raw, dim, 5), v, A)


@pytest.mark.parametrize(
    ("law", "omitted"),
    [("rademacher", ("mu^2",)), ("sphere", ("mu^2",)), ("gaussian(mean=0.3)", ("mu^2", "mu"))],
)
def test_forward_second_moment_claim_rejects_predictions_without_its_mu_terms(law, omitted):
    """The claim passes, and on the same data the prediction without the mu^2 term (and, for a law with a
    mean, without the mu term) is rejected: each is a near miss of the stated size, not a strawman."""
    name = "audit.estimator_second_moment_forward"
    claim = select([name])[0].load()

    def without(ctx, pred):
        alts = []
        for which in omitted:
            term = _second_term(ctx, which=which)
            share = abs(np.trace(term)) / pred[-1]
            assert 0.01 < share < 0.7, (which, share)  # a part of E||g||^2, not all of it
            alts.append((f"without the {which} term", pred - np.append(C.upper(term), np.trace(term))))
        return alts

    result = check(replace(claim, negative_alternatives=without), law=law)
    assert result.verdict == "pass", result.message
    assert result.controls == [f"without the {w} term" for w in omitted] and not result.controls_not_rejected


def test_cubic_claim_rejects_the_prediction_without_the_mu_squared_term():
    """Rademacher (the smallest share, 1/7 to 1/5 per component): the claim passes and the prediction
    that omits (mu^2/6) E[(sum c_i z_i^3) z] = (mu^2/6) c is rejected on the same data."""
    name = "audit.estimator_mean_cubic"
    claim = select([name])[0].load()

    def without(ctx, pred):
        *_, c, v = C.cubic_test_function(ctx, ctx["dim"])
        term = ctx["mu"] ** 2 / 6 * c  # z_i^3 = z_i for Rademacher
        return [("without the mu^2 term", pred - np.append(term, term @ v / (v @ v)))]

    result = check(replace(claim, negative_alternatives=without), law="rademacher")
    assert result.verdict == "pass", result.message
    assert result.controls == ["without the mu^2 term"] and not result.controls_not_rejected


def test_forward_second_moment_prediction_by_enumerating_rademacher_at_the_claims_instance():
    """The registered claim's prediction (every entry of E[g g^T] and its trace) at d = 6, q = 1 and q = 3,
    against the 64 (and 64^3) outcomes of g computed from the test function's forward quotients."""
    name = "audit.estimator_second_moment_forward"
    claim = select([name])[0].load()
    for q in (1, 3):
        ctx = _context(name, "rademacher")
        ctx = replace(ctx, params={**ctx.params, "queries": q, "scale": 0.5})
        dim, mu = ctx["dim"], ctx["mu"]
        f, x, _, _ = C.test_function(ctx, dim, linear=False)
        Z, p = _rademacher_outcomes(dim)
        g = 0.5 * np.array([(f(x + mu * z) - f(x)) / mu for z in Z])[:, None] * Z
        mean, single = p @ g, np.einsum("n,ni,nj->ij", p, g, g)
        # the q directions are independent: E[g g^T] of their average is (1 - 1/q) m m^T + S / q,
        # checked here by brute force at q = 3 (64^3 outcome triples)
        if q == 3:
            avg = (g[:, None, None] + g[None, :, None] + g[None, None, :]) / 3
            w = p[:, None, None] * p[None, :, None] * p[None, None, :]
            second = np.einsum("abc,abci,abcj->ij", w, avg, avg)
            assert np.allclose(second, (2 / 3) * np.outer(mean, mean) + single / 3, **ROUNDING)
        else:
            second = single
        assert np.allclose(claim.predict(ctx), np.append(C.upper(second), np.trace(second)), **ROUNDING)
