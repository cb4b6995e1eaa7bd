"""Structured perturbations z = P u (arXiv 2501.19099; docs/structured.md).

Status: the paper's own definitions were not available (only its abstracts), so
the definitions of stable rank, effective overlap and the rate below are
[INFERRED] reconstructions; the identities are [DERIVED+CHECKED] here and in
tests/test_structured_symbolic.py.

Two layers:

1. Matrix-expression nodes that the structured laws' moment maps need and sympy
   lacks: the block-diagonal part of A for a partition of the coordinates, the
   per-block trace spread on the diagonal, and the partial traces / partial
   transpose of A viewed as an (m n) x (m n) operator on vec(m x n matrices).
   Each node has ``_entry`` (so ``as_explicit`` works at explicit small d) and a
   numpy evaluator registered with :func:`zoverify.symbolic.register_evaluator`.

2. The structured quantities, for z = P u with u ~ N(0, I_r) and P (d x r):

   * E_u[g_hat] = P P^T g, with g_hat = (u^T P^T g) P u (the two-point estimator
     on a quadratic, exact for every finite-difference radius);
   * E_u||g_hat||^2 = ||P^T g||^2 ||P||_F^2 + 2 ||P P^T g||^2
                    <= ||P^T g||^2 ||P||_2^2 (sr(P) + 2),  sr = ||P||_F^2/||P||_2^2;
   * effective overlap alpha = E_P||P^T g||^2 / ||g||^2;
   * the exact expected one-step change of f = x^T H x / 2 under x+ = x - eta g_hat;
   * the rate constant (sr + 2) / alpha for MeZO, BCD and random subspaces.

This module never imports torch.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import sympy as sp
from sympy import MatrixExpr, Trace

from zoverify.moment_maps import symbols as S
from zoverify.symbolic._evaluate import register_evaluator

# Local symbols of this family (the shared table has no block count / rank).
r = sp.Symbol("r", integer=True, positive=True)  # perturbation rank (block size)
B = sp.Symbol("B", integer=True, positive=True)  # number of blocks


# ---------------------------------------------------------------------------
# Partition of range(d) into `blocks` contiguous blocks (numpy.array_split
# convention: the first d mod B blocks have one extra coordinate).
# ---------------------------------------------------------------------------
def block_sizes(dim: int, blocks: int) -> list[int]:
    """Sizes of the contiguous blocks of ``range(dim)``; the first ``dim % blocks`` are one larger."""
    q, rem = divmod(int(dim), int(blocks))
    return [q + 1] * rem + [q] * (int(blocks) - rem)


def block_index(dim: int, blocks: int) -> np.ndarray:
    """The block of each coordinate, an int array of length ``dim``."""
    return np.repeat(np.arange(int(blocks)), block_sizes(dim, blocks))


def _block_of(i: int, dim: int, blocks: int) -> int:
    q, rem = divmod(dim, blocks)
    edge = rem * (q + 1)
    return i // (q + 1) if i < edge else rem + (i - edge) // q


class _MatrixNode(MatrixExpr):
    """Square matrix node whose first argument is the operand A."""

    @property
    def operands(self) -> tuple[Any, ...]:
        """``args`` as they are: A (a matrix) then sizes and tags, which sympy types all as Basic."""
        return self.args

    @property
    def shape(self):
        return self.operands[0].shape

    def _eval_transpose(self):  # every node here maps symmetric A to a symmetric matrix
        return self.func(self.operands[0].T, *self.args[1:])

    def doit(self, **hints):
        args = [a.doit(**hints) if isinstance(a, sp.Basic) else a for a in self.args]
        node = self.func(*args)
        if isinstance(args[0], sp.MatrixBase):
            return node.as_explicit()
        return node


class BlockDiagonalPart(_MatrixNode):
    """sum_b D_b A D_b: A with every entry outside the diagonal blocks zeroed."""

    def __new__(cls, A, blocks):
        """The node for A and the number of blocks."""
        return super().__new__(cls, sp.sympify(A), sp.sympify(blocks))

    def _entry(self, i, j, **kwargs):
        A, blocks = self.operands
        d, nb = int(A.shape[0]), int(blocks)
        same = _block_of(int(i), d, nb) == _block_of(int(j), d, nb)
        return A[i, j] if same else sp.Integer(0)


class BlockTraceDiagonal(_MatrixNode):
    """sum_b tr(D_b A) D_b: diagonal, with tr(A_bb) on the coordinates of block b."""

    def __new__(cls, A, blocks):
        """The node for A and the number of blocks."""
        return super().__new__(cls, sp.sympify(A), sp.sympify(blocks))

    def _entry(self, i, j, **kwargs):
        A, blocks = self.operands
        d, nb = int(A.shape[0]), int(blocks)
        if int(i) != int(j):
            return sp.Integer(0)
        b = _block_of(int(i), d, nb)
        return sp.Add(*[A[k, k] for k in range(d) if _block_of(k, d, nb) == b])


class KronPartialTrace(_MatrixNode):
    """For A on vec(m x n) (row-major): Tr_cols(A) (x) I_n (side="rows") or I_m (x) Tr_rows(A) (side="cols").

    Viewing A as A4[i, j, i', j'] (i, i' < m rows, j, j' < n columns),
    Tr_cols(A)[i, i'] = sum_j A4[i, j, i', j] and Tr_rows(A)[j, j'] = sum_i A4[i, j, i, j'].
    """

    def __new__(cls, A, m, n, side):
        """The node for A on vec(m x n) and the side (``rows`` or ``cols``) traced out."""
        if str(side) not in ("rows", "cols"):
            raise ValueError(f"side must be 'rows' or 'cols', got {side!r}")
        return super().__new__(cls, sp.sympify(A), sp.sympify(m), sp.sympify(n), sp.Symbol(str(side)))

    def _entry(self, i, j, **kwargs):
        A, m, n, side = self.operands
        m, n = int(m), int(n)
        (i1, j1), (i2, j2) = divmod(int(i), n), divmod(int(j), n)
        if side.name == "rows":
            return sp.Add(*[A[i1 * n + k, i2 * n + k] for k in range(n)]) if j1 == j2 else sp.Integer(0)
        return sp.Add(*[A[k * n + j1, k * n + j2] for k in range(m)]) if i1 == i2 else sp.Integer(0)


class PartialTranspose(_MatrixNode):
    """R(A)[(i1, j1), (i2, j2)] = A[(i1, j2), (i2, j1)] for A on vec(m x n) (row-major)."""

    def __new__(cls, A, m, n):
        """The node for A on vec(m x n)."""
        return super().__new__(cls, sp.sympify(A), sp.sympify(m), sp.sympify(n))

    def _entry(self, i, j, **kwargs):
        A, _m, n = self.operands
        n = int(n)
        (i1, j1), (i2, j2) = divmod(int(i), n), divmod(int(j), n)
        return A[i1 * n + j2, i2 * n + j1]


def _int(ev, x) -> int:
    value = ev(x)
    return int(round(float(value)))


@register_evaluator(BlockDiagonalPart)
def _eval_block_diagonal(e, ev):
    A = np.asarray(ev(e.args[0]), dtype=float)
    idx = block_index(A.shape[0], _int(ev, e.args[1]))
    return np.where(idx[:, None] == idx[None, :], A, 0.0)


@register_evaluator(BlockTraceDiagonal)
def _eval_block_trace(e, ev):
    A = np.asarray(ev(e.args[0]), dtype=float)
    idx = block_index(A.shape[0], _int(ev, e.args[1]))
    traces = np.bincount(idx, weights=np.diag(A))
    return np.diag(traces[idx])


@register_evaluator(KronPartialTrace)
def _eval_kron_partial_trace(e, ev):
    A = np.asarray(ev(e.args[0]), dtype=float)
    m, n, side = _int(ev, e.args[1]), _int(ev, e.args[2]), e.args[3].name
    A4 = A.reshape(m, n, m, n)
    if side == "rows":
        return np.kron(np.einsum("ijkj->ik", A4), np.eye(n))
    return np.kron(np.eye(m), np.einsum("ijil->jl", A4))


@register_evaluator(PartialTranspose)
def _eval_partial_transpose(e, ev):
    A = np.asarray(ev(e.args[0]), dtype=float)
    m, n = _int(ev, e.args[1]), _int(ev, e.args[2])
    return A.reshape(m, n, m, n).transpose(0, 3, 2, 1).reshape(m * n, m * n)


# ---------------------------------------------------------------------------
# Structured quantities for z = P u, u ~ N(0, I_r).
# ---------------------------------------------------------------------------
def _scalar(x: sp.Basic) -> sp.Expr:
    """tr(x) of a 1 x 1 matrix product (sympy types matrix products as Basic)."""
    return Trace(x)


def structured_gradient_mean(P: sp.MatrixExpr, g: sp.MatrixExpr) -> sp.MatrixExpr:
    """E_u[(u^T P^T g) P u] = P P^T g (a d x 1 matrix expression)."""
    return P * P.T * g  # pyright: ignore[reportReturnType]  # sympy types matrix products loosely


def structured_gradient_second_moment(P: sp.MatrixExpr, g: sp.MatrixExpr) -> sp.Expr:
    """E_u||(u^T P^T g) P u||^2 = ||P^T g||^2 ||P||_F^2 + 2 ||P P^T g||^2.

    Derivation: with w = P^T g and M = P^T P, ||g_hat||^2 = (u^T w)^2 u^T M u and
    Isserlis gives E[(u^T w)^2 u^T M u] = w^T w tr(M) + 2 w^T M w.
    """
    w: sp.MatrixExpr = P.T * g  # pyright: ignore[reportAssignmentType]  # a d x 1 matrix product
    return _scalar(w.T * w) * _scalar(P.T * P) + 2 * _scalar(w.T * P.T * P * w)


def stable_rank(P) -> float:
    """sr(P) = ||P||_F^2 / ||P||_2^2 of an explicit matrix (numpy array or sympy Matrix)."""
    M = np.asarray(np.array(P, dtype=float))
    if M.size == 0:
        raise ValueError("stable rank of an empty matrix is undefined")
    spec = np.linalg.norm(M, 2)
    return float(np.sum(M * M) / spec**2)


def structured_second_moment_bound(P, g) -> float:
    """||P^T g||^2 ||P||_2^2 (sr(P) + 2) = ||P^T g||^2 (||P||_F^2 + 2 ||P||_2^2), numerically.

    It bounds E_u||g_hat||^2 because ||P P^T g||^2 <= ||P||_2^2 ||P^T g||^2.
    """
    M = np.asarray(P, dtype=float)
    w = M.T @ np.ravel(np.asarray(g, dtype=float))
    return float(w @ w * (np.sum(M * M) + 2 * np.linalg.norm(M, 2) ** 2))


def one_step_change_given_projection(P, g, H, eta) -> sp.Expr:
    """E_u f(x - eta g_hat) - f(x) for f = x^T H x / 2, g = H x, given P.

    = -eta ||P^T g||^2 + eta^2/2 (||P^T g||^2 tr(P^T H P) + 2 g^T P P^T H P P^T g).
    """
    w = P.T * g
    quad = _scalar(w.T * w) * _scalar(P.T * H * P) + 2 * _scalar(w.T * P.T * H * P * w)
    return -eta * _scalar(w.T * w) + eta**2 / 2 * quad


def one_step_change(law, H, g, eta, d: S.Dim = S.d) -> sp.Expr:
    """E f(x - eta g_hat) - f(x) for f = x^T H x / 2, g = H x and g_hat = (z^T g) z, z ~ law.

    Written once against the law interface: -eta g^T E[z z^T] g + eta^2/2 g^T E[z z^T H z z^T] g
    (g_hat^T H g_hat = (z^T g)^2 z^T H z), so it holds for every law with fourth moments.
    """
    first = _scalar(g.T * law.second_moment(d) * g)
    second = _scalar(g.T * law.fourth_moment(H, d) * g)
    return -eta * first + eta**2 / 2 * second


# ---------------------------------------------------------------------------
# Schemes: stable rank, effective overlap and rate constant.  P has orthonormal
# columns (||P||_2 = 1) for all three, so sr(P) = rank.
# ---------------------------------------------------------------------------
def scheme_quantities(
    scheme: str, *, d: S.Dim = S.d, rank: S.Dim = r, blocks: S.Dim = B, p: sp.Expr | float | None = None
) -> dict[str, sp.Expr | None]:
    """{sr, alpha, rate_constant} for scheme "mezo" | "bcd" | "subspace" | "sparse" [INFERRED definitions].

    mezo: P = I_d, sr = d, alpha = 1.  bcd: P = the columns of one of ``blocks``
    equal blocks, chosen uniformly, sr = d/B, alpha = E||g_b||^2/||g||^2 = 1/B
    (for any partition, since the blocks' energies sum to ||g||^2).  subspace: P an
    orthonormal basis of a Haar-random r-dim subspace, sr = r, alpha = r/d
    (E[P P^T] = (r/d) I by rotation invariance).  sparse: P = the identity columns
    of a Bernoulli(p) mask, alpha = p; sr = |mask| is random, so sr and the rate
    constant are None.
    """
    d, rank, blocks = sp.sympify(d), sp.sympify(rank), sp.sympify(blocks)
    if scheme == "mezo":
        sr, alpha = d, sp.Integer(1)
    elif scheme == "bcd":
        sr, alpha = d / blocks, 1 / blocks
    elif scheme == "subspace":
        sr, alpha = rank, rank / d
    elif scheme == "sparse":
        if p is None:
            raise ValueError("scheme 'sparse' needs the keep probability p")
        return {"sr": None, "alpha": sp.sympify(p), "rate_constant": None}
    else:
        raise ValueError(f"unknown scheme {scheme!r}; accepted: mezo, bcd, subspace, sparse")
    return {"sr": sr, "alpha": alpha, "rate_constant": sp.simplify((sr + 2) / alpha)}


def rate_bound(scheme: str, *, L, delta0, T, d: S.Dim = S.d, rank: S.Dim = r, blocks: S.Dim = B) -> sp.Expr:
    """min_t E||grad f(x_t)||^2 <= 2 L (sr + 2) Delta_0 / (alpha T) at eta = 1/(L (sr + 2)) [DERIVED, INFERRED to match the paper]."""
    return 2 * L * _rate_constant(scheme, d=d, rank=rank, blocks=blocks) * delta0 / T


def predicted_iteration_ratio(*, d: S.Dim = S.d, blocks: S.Dim = B) -> sp.Expr:
    """(rate constant of BCD) / (rate constant of MeZO) = (d + 2B)/(d + 2) [INFERRED heuristic]."""
    return sp.simplify(_rate_constant("bcd", d=d, blocks=blocks) / _rate_constant("mezo", d=d))


def _rate_constant(scheme: str, **sizes: S.Dim) -> sp.Expr:
    # before scheme_quantities, which would ask for p: with p given, sparse still has no rate constant
    if scheme == "sparse":
        raise ValueError(
            f"scheme {scheme!r} has a random stable rank, so no rate constant; accepted: mezo, bcd, subspace"
        )
    return cast("sp.Expr", scheme_quantities(scheme, **sizes)["rate_constant"])  # set for every scheme but sparse


__all__ = [
    "B",
    "BlockDiagonalPart",
    "BlockTraceDiagonal",
    "KronPartialTrace",
    "PartialTranspose",
    "block_index",
    "block_sizes",
    "one_step_change",
    "one_step_change_given_projection",
    "predicted_iteration_ratio",
    "r",
    "rate_bound",
    "scheme_quantities",
    "stable_rank",
    "structured_gradient_mean",
    "structured_gradient_second_moment",
    "structured_second_moment_bound",
]
