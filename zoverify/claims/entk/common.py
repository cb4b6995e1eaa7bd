"""Shared parts of the eNTK claims: Jacobian instances, the law's environment for the
symbolic maps, batched sampled kernels and the applicability rules.

Paper: arXiv 2605.03373 (docs/entk.md).
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from zoverify.numeric import batch_sums
from zoverify.numeric import entk as nentk
from zoverify.numeric._batching import BatchSums
from zoverify.symbolic import entk as E
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.verify.claim import Context


def claim_dim(ctx: Context) -> int:
    """The input dimension d: the law's own where it has one, else the claim's ``dim`` parameter."""
    return ctx.law.fixed_dim or int(ctx["dim"])


def jacobians(ctx: Context, v: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Two V x d Jacobian stand-ins, well conditioned for every entry of K = A S B^T.

    All rows lean on one positive direction c (entries 1 + N(0, 1/16)), so every a_i . b_j, the
    off-diagonal ones included, and every coordinate sum is well away from 0 (no cancellation in
    a^T S b for a law with a mean); row-wise parts s_i (N(0, 1/4)) and input-wise noise (N(0, 1/16))
    keep K neither constant nor symmetric.
    """
    rng = ctx.instance_rng()
    common = 1.0 + 0.25 * rng.standard_normal(dim)
    shared = common + 0.5 * rng.standard_normal((v, dim))
    A = shared + 0.25 * rng.standard_normal((v, dim))
    B = shared + 0.25 * rng.standard_normal((v, dim))
    return A / np.sqrt(dim), B / np.sqrt(dim)


def entry_env(ctx: Context, A: np.ndarray, B: np.ndarray, *, P: int) -> tuple[dict, sp.MatrixSymbol, sp.MatrixSymbol]:
    """(symbol values, A, B): the sympy environment binding the Jacobian symbols A, B to the arrays and d, V, P."""
    d = ctx.law.fixed_dim or S.d
    As, Bs = E.jacobians(d, A.shape[0])
    return {S.d: A.shape[1], E.V: A.shape[0], As: A, Bs: B, S.P: P}, As, Bs


def kernel_block(ctx: Context, A: np.ndarray, B: np.ndarray, P: int):
    """``one_block(m, generator)``: m draws of K_hat (flattened V*V) from P directions each."""
    At = torch.as_tensor(A, dtype=ctx.dtype, device=ctx.device)[None]
    Bt = torch.as_tensor(B, dtype=ctx.dtype, device=ctx.device)[None]

    def one_block(m: int, gen: torch.Generator) -> torch.Tensor:
        K = nentk.zo_entk_jacobian_samples(
            At, Bt, law=ctx.law, num_directions=P, num_replicates=m, generator=gen, chunk_size=P
        )
        return K.reshape(m, -1)

    return one_block


def kernel_sums(ctx: Context, A: np.ndarray, B: np.ndarray, P: int, *, rows=None, block: int = 1 << 13) -> BatchSums:
    """``ctx.num_samples`` iid draws of K_hat (flattened V*V) from P directions each, the library's estimator
    (zoverify.numeric.entk.zo_entk_jacobian_samples) on the Jacobians A = J(x_o), B = J(x_u), each row mapped by
    ``rows`` (a row-wise function of the ``(m, V*V)`` block) and reduced into batch sums as it is drawn."""
    one_block = kernel_block(ctx, A, B, P)
    fn = one_block if rows is None else (lambda m, gen: rows(one_block(m, gen)))
    return batch_sums(fn, ctx.num_samples, generator=ctx.mc_generator(), block_size=block)


def iid_draws_reason(law) -> str | None:
    """Every entk claim averages P consecutive draws into one estimate (and the tests treat
    the estimates as iid replicates): dependent consecutive rows break both."""
    if not getattr(law, "independent_draws", True):
        return (
            f"law {law.spec}: draws of this law are not independent (cyclic order); "
            "the P-query estimator assumes iid directions"
        )
    return None


def kernel_mean_value(ctx: Context, A, B) -> np.ndarray:
    """E K_hat = A S B^T (V x V) from the law's second moment (= A B^T when E[u u^T] = I)."""
    env, As, Bs = entry_env(ctx, A, B, P=1)
    v = A.shape[0]
    return np.asarray(evaluate(E.entk_kernel_mean(ctx.law, As, Bs, ctx.law.fixed_dim or S.d), env), float).reshape(v, v)


def relative_sq_prediction(ctx: Context, A, B, P: int) -> float:
    """E||K_hat - E K_hat||_F^2 / ||E K_hat||_F^2."""
    env, As, Bs = entry_env(ctx, A, B, P=P)
    frob = evaluate(E.entk_frobenius_error(ctx.law, As, Bs, d=S.d), env)
    return float(frob / np.sum(kernel_mean_value(ctx, A, B) ** 2))


def relative_sq_rows(K_hat: torch.Tensor, mean: np.ndarray) -> torch.Tensor:
    """||K_hat - E K_hat||_F^2 / ||E K_hat||_F^2 per draw (rows of K_hat are flattened V x V kernels), a
    row-wise map for :func:`kernel_sums`."""
    dK = K_hat - torch.as_tensor(mean.ravel(), dtype=K_hat.dtype, device=K_hat.device)
    return (dK**2).sum(dim=1) / float(np.sum(mean**2))
