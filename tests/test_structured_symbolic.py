"""Structured quantities (zoverify.symbolic.structured) against independent routes.

Routes: sympy.stats expectations over explicit Gaussian u at small r; averaging
the given-P formulas over all blocks and comparing with the *law's* moment maps
(written independently in zoverify.perturbations._structured); dense numpy.
Deterministic float64 comparisons use rtol 1e-10 (O(d^2) roundings of O(1) numbers).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import sympy.stats as sps
from hypothesis import given
from hypothesis import strategies as st

from zoverify.perturbations import parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.symbolic.structured import (
    B,
    block_index,
    one_step_change,
    one_step_change_given_projection,
    predicted_iteration_ratio,
    r,
    rate_bound,
    scheme_quantities,
    stable_rank,
    structured_gradient_mean,
    structured_gradient_second_moment,
    structured_second_moment_bound,
)

RTOL = 1e-10


def _explicit_expectations(P: sp.Matrix, g: sp.Matrix):
    us = [sps.Normal(f"u{k}", 0, 1) for k in range(P.shape[1])]
    u = sp.Matrix(us)
    ghat = (u.T * P.T * g)[0, 0] * (P * u)
    mean = ghat.applyfunc(lambda e: sps.E(sp.expand(e)))
    second = sps.E(sp.expand((ghat.T * ghat)[0, 0]))
    return mean, second


def test_estimator_mean_and_second_moment_equal_sympy_stats_expectation():
    P = sp.Matrix([[1, 2], [0, -1], [3, 1]]) / 2
    g = sp.Matrix([1, -2, sp.Rational(1, 3)])
    mean, second = _explicit_expectations(P, g)
    Ps, gs = S.matrix("P", 3, 2), S.vector("g", 3)
    sub = {Ps: sp.ImmutableMatrix(P), gs: sp.ImmutableMatrix(g)}
    got_mean = structured_gradient_mean(Ps, gs).subs(sub).as_explicit()
    got_second = sp.simplify(structured_gradient_second_moment(Ps, gs).subs(sub).doit())
    assert sp.simplify(got_mean - mean) == sp.zeros(3, 1)
    assert sp.simplify(got_second - second) == 0


@given(seed=st.integers(0, 2**32 - 1), d=st.integers(2, 12), rank=st.integers(1, 6))
def test_second_moment_bound_holds_and_is_tight_for_orthonormal_columns(seed, d, rank):
    rng = np.random.default_rng(seed)
    P, g = rng.standard_normal((d, rank)), rng.standard_normal(d)
    Ps, gs = S.matrix("P", d, rank), S.vector("g", d)
    exact = evaluate(structured_gradient_second_moment(Ps, gs), {Ps: P, gs: g})
    bound = structured_second_moment_bound(P, g)
    w = P.T @ g
    assert exact <= bound * (1 + RTOL)
    # the bound written through the stable rank
    assert np.isclose(bound, w @ w * np.linalg.norm(P, 2) ** 2 * (stable_rank(P) + 2), rtol=RTOL)
    Q = np.linalg.qr(P)[0]
    exact_q = evaluate(structured_gradient_second_moment(Ps, gs), {Ps: Q, gs: g})
    assert np.isclose(exact_q, structured_second_moment_bound(Q, g), rtol=RTOL)


def test_stable_rank_of_identity_columns_and_orthonormal_bases_is_the_rank():
    assert stable_rank(np.eye(7)[:, :3]) == pytest.approx(3, rel=RTOL)
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((9, 4)))[0]
    assert stable_rank(Q) == pytest.approx(4, rel=RTOL)
    assert stable_rank(np.outer(np.arange(1.0, 4.0), np.ones(3))) == pytest.approx(1, rel=RTOL)


@pytest.mark.parametrize(("dim", "blocks"), [(8, 4), (7, 3)])
def test_block_law_second_moment_of_estimator_is_the_block_average_of_the_given_P_formula(dim, blocks):
    law = parse_law(f"block(blocks={blocks}, scaled=False)")
    rng = np.random.default_rng(1)
    g = rng.standard_normal(dim)
    idx = block_index(dim, blocks)
    average = 0.0
    for b in range(blocks):
        P = np.eye(dim)[:, idx == b]
        Ps, gs = S.matrix("P", dim, P.shape[1]), S.vector("g", dim)
        average += evaluate(structured_gradient_second_moment(Ps, gs), {Ps: P, gs: g}) / blocks
    I = S.matrix("I", dim, dim)
    from_law = g @ evaluate(law.fourth_moment(I, dim), {I: np.eye(dim)}) @ g  # E||(z^T g) z||^2 = g^T E[zz^T I zz^T] g
    assert np.isclose(average, from_law, rtol=RTOL)


@pytest.mark.parametrize(("dim", "blocks"), [(8, 4), (9, 2)])
def test_one_step_change_from_law_maps_equals_block_average_given_P(dim, blocks):
    law = parse_law(f"block(blocks={blocks}, scaled=False)")
    rng = np.random.default_rng(2)
    G = rng.standard_normal((dim, dim))
    H, x, eta = G @ G.T / dim, rng.standard_normal(dim), 0.1
    g = H @ x
    Hs, gs = S.matrix("H", dim, dim), S.vector("g", dim)
    from_law = evaluate(one_step_change(law, Hs, gs, eta, dim), {Hs: H, gs: g})
    idx = block_index(dim, blocks)
    average = 0.0
    for b in range(blocks):
        P = np.eye(dim)[:, idx == b]
        Ps = S.matrix("P", dim, P.shape[1])
        average += evaluate(one_step_change_given_projection(Ps, gs, Hs, eta), {Ps: P, gs: g, Hs: H}) / blocks
    # dense route: f(x+) averaged exactly over Isserlis for u, block by block
    dense = 0.0
    for b in range(blocks):
        Pb = np.eye(dim)[:, idx == b]
        w, M = Pb.T @ g, Pb.T @ H @ Pb
        dense += (-eta * w @ w + eta**2 / 2 * (w @ w * np.trace(M) + 2 * w @ M @ w)) / blocks
    assert np.isclose(from_law, average, rtol=RTOL) and np.isclose(average, dense, rtol=RTOL)


def test_rate_constants_and_iteration_ratio():
    d = S.d
    assert sp.simplify(scheme_quantities("mezo")["rate_constant"] - (d + 2)) == 0
    assert sp.simplify(scheme_quantities("bcd")["rate_constant"] - (d + 2 * B)) == 0
    assert sp.simplify(scheme_quantities("subspace")["rate_constant"] - d * (1 + 2 / r)) == 0
    assert sp.simplify(predicted_iteration_ratio() - (d + 2 * B) / (d + 2)) == 0
    assert predicted_iteration_ratio(d=64, blocks=4) == sp.Rational(72, 66)
    L, D, T = sp.symbols("L Delta_0 T", positive=True)
    assert sp.simplify(rate_bound("bcd", L=L, delta0=D, T=T) - 2 * L * (d + 2 * B) * D / T) == 0
    with pytest.raises(ValueError, match="accepted"):
        scheme_quantities("kronecker")


def test_subspace_second_moment_of_estimator_from_law_equals_haar_average():
    # E_P[||P^T g||^2 ||P||_F^2 + 2||PP^T g||^2] = (r + 2) E||P^T g||^2 = (r + 2) r/d ||g||^2 for orthonormal P
    dim, rank = 10, 3
    law = parse_law(f"subspace(rank={rank})")
    g = np.random.default_rng(3).standard_normal(dim)
    I = S.matrix("I", dim, dim)
    from_law = g @ evaluate(law.fourth_moment(I, dim), {I: np.eye(dim)}) @ g / (dim / rank) ** 2
    assert np.isclose(from_law, (rank + 2) * rank / dim * (g @ g), rtol=RTOL)


@pytest.mark.parametrize(
    ("spec", "scheme", "blocks"), [("gaussian", "mezo", 1), ("block(blocks=4, scaled=False)", "bcd", 4)]
)
def test_average_squared_gradient_obeys_the_rate_bound(spec, scheme, blocks):
    """(1/T) sum_t E||grad f(x_t)||^2 <= 2 L (sr + 2) Delta_0 / (alpha T) at eta = 1/(L (sr + 2)).

    Complements the claim structured.rate_constant (an equality on the isotropic quadratic,
    where the bound is tight): here H is anisotropic, so only the inequality is checked.

    The telescoped descent lemma bounds the average (hence the min) over t.  One-sided test:
    fail only if the trajectory mean exceeds the bound by more than t_{1-alpha} standard
    errors (alpha = 1e-4, batch means over 32 batches of iid trajectories).
    """
    import torch
    from scipy import stats

    from zoverify._rng import make_generator

    d, T, n = 12, 50, 1024
    rng = np.random.default_rng(5)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    H = torch.as_tensor((Q * np.linspace(0.05, 1.0, d)) @ Q.T)
    L = 1.0
    q = scheme_quantities(scheme, d=d, blocks=blocks)
    eta = 1.0 / (L * (float(q["sr"]) + 2))
    law, gen = parse_law(spec), make_generator(9)
    x = torch.as_tensor(rng.standard_normal(d)).repeat(n, 1)
    delta0 = float(0.5 * x[0] @ H @ x[0])
    total = torch.zeros(n, dtype=torch.float64)
    for _ in range(T):
        g = x @ H
        total += (g * g).sum(dim=1) / T
        z = law.sample(n, d, generator=gen)
        x = x - eta * (z * g).sum(dim=1, keepdim=True) * z
    bound = float(rate_bound(scheme, L=L, delta0=delta0, T=T, d=d, blocks=blocks))
    means = total.numpy().reshape(32, -1).mean(axis=1)
    se = means.std(ddof=1) / np.sqrt(32)
    assert means.mean() - stats.t(31).isf(1e-4) * se <= bound
    # and the bound is not vacuous here: within a factor 30 of the measured average
    assert bound < 30 * means.mean()
