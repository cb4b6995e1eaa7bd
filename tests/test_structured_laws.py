"""Structured laws: moment maps against independent routes.

Routes: exact enumeration (finite laws: block / sparse with a Rademacher base),
conditioning on the discrete part and using the *Gaussian* law's own map on the
sub-blocks (block / sparse with a Gaussian base), brute-force Isserlis over the
factors (lowrank), sympy integration and the sphere law (subspace), sympy
``as_explicit`` of the custom nodes, and Monte Carlo through the core moment claim.
Deterministic float64 comparisons use rtol 1e-10: the routes differ only by
O(d^2) roundings of O(1) numbers (about 1e-14 relative).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator
from zoverify.claims import check
from zoverify.claims.moments.sampler import MOMENTS
from zoverify.perturbations import (
    Block,
    Gaussian,
    LowRank,
    Sparse,
    Sphere,
    Subspace,
    catalogue,
    parse_law,
)
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.symbolic.structured import (
    BlockDiagonalPart,
    BlockTraceDiagonal,
    KronPartialTrace,
    PartialTranspose,
    block_index,
    block_sizes,
)

RTOL = 1e-10


def _maps(law, dim, A, v):
    d = law.fixed_dim or S.d
    As, vs = S.matrix("A", d, d), S.vector("v", d)
    env = {S.d: dim, As: A, vs: v[:, None]}
    return (
        np.ravel(evaluate(law.mean(d), env)),
        evaluate(law.second_moment(d), env),
        evaluate(law.third_moment(vs, d), env),
        evaluate(law.fourth_moment(As, d), env),
    )


def _objects(dim, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((dim, dim))
    return (g + g.T) / 2, rng.standard_normal(dim)


def _enumerated(law, dim, A, v):
    z, p = (t.numpy() for t in law.enumerate_outcomes(dim))
    assert np.isclose(p.sum(), 1.0, rtol=1e-12)
    quad = np.einsum("ni,ij,nj->n", z, A, z)
    return (
        p @ z,
        np.einsum("n,ni,nj->ij", p, z, z),
        np.einsum("n,n,ni,nj->ij", p, z @ v, z, z),
        np.einsum("n,n,ni,nj->ij", p, quad, z, z),
    )


@pytest.mark.parametrize(
    ("spec", "dim"),
    [
        ("block(blocks=3, base='rademacher')", 7),
        ("block(blocks=2, order='cyclic', base='rademacher')", 5),
        ("block(blocks=4, scaled=False, base='rademacher')", 6),
        ("sparse(p=0.3, base='rademacher')", 4),
        ("sparse(p=1, base='rademacher')", 3),
    ],
)
def test_finite_structured_law_maps_equal_exact_enumeration(spec, dim):
    law = parse_law(spec)
    A, v = _objects(dim)
    for got, want in zip(_maps(law, dim, A, v), _enumerated(law, dim, A, v), strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)


def _gaussian_fourth(A):
    d = A.shape[0]
    As = S.matrix("A", d, d)
    return evaluate(Gaussian().fourth_moment(As, d), {As: A})


@pytest.mark.parametrize(("blocks", "dim", "scaled"), [(3, 7, True), (4, 8, False), (1, 4, True)])
def test_gaussian_block_fourth_moment_equals_gaussian_map_on_each_block(blocks, dim, scaled):
    law = parse_law(f"block(blocks={blocks}, scaled={scaled})")
    A, v = _objects(dim, seed=1)
    c2 = blocks if scaled else 1
    want = np.zeros((dim, dim))
    idx = block_index(dim, blocks)
    for b in range(blocks):
        cols = np.flatnonzero(idx == b)
        want[np.ix_(cols, cols)] += c2**2 / blocks * _gaussian_fourth(A[np.ix_(cols, cols)])
    _, second, third, fourth = _maps(law, dim, A, v)
    np.testing.assert_allclose(fourth, want, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(second, c2 / blocks * np.eye(dim), rtol=RTOL)
    assert np.all(third == 0)


def test_gaussian_sparse_fourth_moment_equals_mask_enumeration():
    p, dim = 0.3, 4
    law = parse_law(f"sparse(p={p})")
    A, _ = _objects(dim, seed=2)
    want = np.zeros((dim, dim))
    for mask in itertools.product([0, 1], repeat=dim):
        cols = np.flatnonzero(mask)
        prob = p ** len(cols) * (1 - p) ** (dim - len(cols))
        if cols.size:
            want[np.ix_(cols, cols)] += prob / p**2 * _gaussian_fourth(A[np.ix_(cols, cols)])
    np.testing.assert_allclose(_maps(law, dim, A, np.zeros(dim))[3], want, rtol=RTOL, atol=1e-12)


def _isserlis(idx):
    """E[x_{idx0} x_{idx1} x_{idx2} x_{idx3}] for iid N(0,1) entries indexed by hashable labels."""
    a, b, c, e = idx
    return float(a == b and c == e) + float(a == c and b == e) + float(a == e and b == c)


@pytest.mark.parametrize(("m", "n", "rank"), [(2, 3, 1), (3, 2, 2)])
def test_lowrank_fourth_moment_equals_brute_force_isserlis(m, n, rank):
    law = parse_law(f"lowrank(rank={rank}, shape=[{m},{n}])")
    d = m * n
    A, _ = _objects(d, seed=3)
    T = np.zeros((d,) * 4)  # E[z_a z_b z_c z_e], z_(i,j) = sum_k U_ik V_jk / sqrt(r)
    for a, b, c, e in itertools.product(range(d), repeat=4):
        ij = [divmod(x, n) for x in (a, b, c, e)]
        total = 0.0
        for ks in itertools.product(range(rank), repeat=4):
            total += _isserlis([(i, k) for (i, _), k in zip(ij, ks, strict=True)]) * _isserlis(
                [(j, k) for (_, j), k in zip(ij, ks, strict=True)]
            )
        T[a, b, c, e] = total / rank**2
    want = np.einsum("abce,ce->ab", T, A)
    np.testing.assert_allclose(_maps(law, d, A, np.zeros(d))[3], want, rtol=RTOL, atol=1e-12)


def test_subspace_rank_one_is_three_times_sphere_and_full_rank_is_gaussian():
    A, _ = _objects(5, seed=4)
    As = S.matrix("A")
    env = {S.d: 5, As: A}
    one = evaluate(parse_law("subspace(rank=1)").fourth_moment(As), env)
    sphere = evaluate(Sphere().fourth_moment(As), env)  # z = sqrt(d) e u, u ~ N(0,1): E u^4 = 3
    np.testing.assert_allclose(one, 3 * sphere, rtol=RTOL)
    full = evaluate(parse_law("subspace(rank=5)").fourth_moment(As), env)
    np.testing.assert_allclose(full, evaluate(Gaussian().fourth_moment(As), env), rtol=RTOL)


def test_subspace_two_dim_rank_one_fourth_moment_by_sympy_integration():
    th, u = sp.symbols("theta u", real=True)
    # z = sqrt(2) (cos th, sin th) u, th uniform on [0, 2 pi), u ~ N(0, 1)
    gauss4 = sp.integrate(u**4 * sp.exp(-(u**2) / 2), (u, -sp.oo, sp.oo)) / sp.sqrt(2 * sp.pi)
    e = lambda f: sp.integrate(f, (th, 0, 2 * sp.pi)) / (2 * sp.pi) * 4 * gauss4  # noqa: E731
    m1111, m1122 = e(sp.cos(th) ** 4), e(sp.cos(th) ** 2 * sp.sin(th) ** 2)
    A = sp.Matrix([[2, 1], [1, 3]])
    want = sp.Matrix(2, 2, lambda i, j: 0)
    want[0, 0] = m1111 * A[0, 0] + m1122 * A[1, 1]
    want[1, 1] = m1111 * A[1, 1] + m1122 * A[0, 0]
    want[0, 1] = want[1, 0] = 2 * m1122 * A[0, 1]
    got = parse_law("subspace(rank=1)").fourth_moment(A, 2).as_explicit()
    assert sp.simplify(got - want) == sp.zeros(2, 2)


@pytest.mark.parametrize("node", ["block_diag", "block_trace", "kron_rows", "kron_cols", "partial_t"])
def test_node_numpy_evaluator_equals_sympy_entries(node):
    m, n = 2, 3
    d = m * n
    A = sp.Matrix(d, d, lambda i, j: sp.Integer((3 * i + 5 * j) % 7 + (i == j)))
    A = (A + A.T) / 2
    expr = {
        "block_diag": BlockDiagonalPart(A, 4),
        "block_trace": BlockTraceDiagonal(A, 4),
        "kron_rows": KronPartialTrace(A, m, n, "rows"),
        "kron_cols": KronPartialTrace(A, m, n, "cols"),
        "partial_t": PartialTranspose(A, m, n),
    }[node]
    explicit = np.array(expr.as_explicit().tolist(), dtype=float)
    np.testing.assert_array_equal(evaluate(expr, {}), explicit)
    np.testing.assert_array_equal(np.array(expr.doit().tolist(), dtype=float), explicit)


@given(dim=st.integers(1, 40), blocks=st.integers(1, 40))
def test_block_partition_covers_every_coordinate_once(dim, blocks):
    if blocks > dim:
        return
    sizes = block_sizes(dim, blocks)
    assert sum(sizes) == dim and max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    idx = block_index(dim, blocks)
    assert np.all(np.diff(idx) >= 0) and np.bincount(idx).tolist() == sizes


def test_cyclic_order_visits_each_block_once_per_epoch():
    law = parse_law("block(blocks=5, order='cyclic')")
    assert not law.independent_draws and parse_law("block(blocks=5)").independent_draws
    chosen = law.sample_blocks(50, generator=make_generator(3)).reshape(10, 5)
    assert all(sorted(row.tolist()) == list(range(5)) for row in chosen)


@pytest.mark.parametrize(
    "spec",
    [s for law in (Block, Sparse, LowRank, Subspace) for s in catalogue.test_specs(law)]
    + [
        "block(blocks=3, order='cyclic')",
        "block(blocks=2, scaled=False, base='laplace(b=0.6)')",
        "sparse(p=0.5, base='uniform')",
    ],
)
def test_structured_sampler_passes_core_moment_claim(spec):
    # cyclic order: rows are dependent within an epoch of B = 3 rows only; the claim's batch
    # means use 128 batches of 2^11 >> B rows each, so the batch means stay ~independent.
    dim = None if spec.startswith("lowrank") else 7
    params = {} if dim is None else {"dim": dim}
    result = check(MOMENTS, law=spec, params=params, num_samples=1 << 18, seed=11)
    assert result.verdict == "pass", result
    assert result.negative_control_rejected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("block(blocks=0)", "positive integer"),
        ("block(order='random')", "order"),
        ("block(base='gaussian(mean=1)')", "mean zero"),
        ("sparse(p=1.5)", "(0, 1]"),
        ("lowrank(shape=[3])", "pair"),
        ("subspace(rank=0)", "positive integer"),
    ],
)
def test_bad_structured_specs_are_refused_with_a_clear_message(spec, fragment):
    with pytest.raises(
        InvalidParameterError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        parse_law(spec)


def test_dimension_below_block_count_or_rank_is_refused():
    with pytest.raises(InvalidParameterError, match="smaller than the number of blocks"):
        parse_law("block(blocks=5)").second_moment(3)
    with pytest.raises(InvalidParameterError, match="smaller than the rank"):
        parse_law("subspace(rank=4)").sample(2, 3, generator=make_generator(0))


def test_draw_projection_reproduces_the_law_scale():
    gen = make_generator(5)
    for spec, dim in [("block(blocks=3)", 9), ("sparse(p=0.5)", 9), ("subspace(rank=3)", 9), ("lowrank(rank=2)", 12)]:
        law = parse_law(spec)
        P = law.draw_projection(dim, generator=gen)
        assert P.shape[0] == dim
        if not spec.startswith("lowrank"):  # orthonormal columns
            torch.testing.assert_close(P.T @ P, torch.eye(P.shape[1], dtype=P.dtype), rtol=0, atol=1e-12)


@settings(max_examples=15)
@given(dim=st.integers(1, 7), blocks=st.integers(1, 7), scaled=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_rademacher_block_maps_equal_enumeration_for_any_partition(dim, blocks, scaled, seed):
    if blocks > dim:
        return
    law = parse_law(f"block(blocks={blocks}, scaled={scaled}, base='rademacher')")
    A, v = _objects(dim, seed=seed)
    for got, want in zip(_maps(law, dim, A, v), _enumerated(law, dim, A, v), strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
