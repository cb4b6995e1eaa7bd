"""The ZO eNTK estimator's moments (P2-1 .. P2-4): unbiasedness, the exact entry and
Frobenius variances, the gradient estimator's second moment.

Paper: arXiv 2605.03373 (docs/entk.md).
"""

from __future__ import annotations

import numpy as np
import torch

from zoverify.claims.entk.common import (
    claim_dim,
    entry_env,
    iid_draws_reason,
    jacobians,
    kernel_sums,
)
from zoverify.numeric import batch_sums
from zoverify.numeric._batching import BatchSums
from zoverify.symbolic import entk as E
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.verify.claim import Claim, Context
from zoverify.verify.params import Param
from zoverify.verify.registry import register


def _entry_labels(ctx: Context) -> list[str]:
    v = int(ctx["outputs"])
    return [f"K[{i},{j}]" for i in range(v) for j in range(v)]


# -- P2-1: unbiasedness ---------------------------------------------------------
def _mean_predict(ctx: Context) -> np.ndarray:
    A, B = jacobians(ctx, int(ctx["outputs"]), claim_dim(ctx))
    env, As, Bs = entry_env(ctx, A, B, P=int(ctx["P"]))
    return np.ravel(evaluate(E.entk_kernel_mean(ctx.law, As, Bs, ctx.law.fixed_dim or S.d), env))


def _entry_variances(ctx: Context) -> np.ndarray | None:
    """The exact variance of each entry for iid directions; None (batch means) for a cyclic block order,
    whose P directions of one estimate are dependent although each one's law is the iid order's."""
    if not ctx.law.independent_draws:
        return None
    A, B = jacobians(ctx, int(ctx["outputs"]), claim_dim(ctx))
    d = ctx.law.fixed_dim or S.d
    a, b = E.entk_row_vectors(d)
    expr = E.entk_entry_variance(ctx.law, a, b, d=d)
    env = {S.d: A.shape[1], S.P: int(ctx["P"])}
    return np.array([evaluate(expr, {**env, a: A[i], b: B[j]}) for i in range(A.shape[0]) for j in range(B.shape[0])])


def _kernel_simulate(ctx: Context) -> BatchSums:
    A, B = jacobians(ctx, int(ctx["outputs"]), claim_dim(ctx))
    return kernel_sums(ctx, A, B, int(ctx["P"]))


KERNEL_PARAMS = {
    "dim": Param(8, "parameter dimension d", low=1, high=4096, integer=True),
    "outputs": Param(2, "output size V", low=1, high=8, integer=True),
    "P": Param(4, "perturbations per kernel estimate", low=1, high=4096, integer=True),
}


register(
    Claim(
        name="entk.unbiased",
        dim_param="dim",
        # E K_hat is linear in each direction's second moment, so a cyclic order (the same marginal) is decided
        predict=_mean_predict,
        simulate=_kernel_simulate,
        variance=_entry_variances,
        params=KERNEL_PARAMS,
        laws=("gaussian", "sphere", "coordinate", "gaussian(mean=0.5, std=2)"),
        num_samples=1 << 16,
        labels=_entry_labels,
    )
)


# -- P2-2: entry variance ---------------------------------------------------------
def _sq_dev_simulate(ctx: Context, *, frobenius: bool = False) -> BatchSums:
    A, B = jacobians(ctx, int(ctx["outputs"]), claim_dim(ctx))
    mean = torch.as_tensor(_mean_predict(ctx), dtype=ctx.dtype, device=ctx.device)

    def rows(K: torch.Tensor) -> torch.Tensor:
        sq = (K - mean) ** 2
        return sq.sum(dim=1, keepdim=True) if frobenius else sq

    return kernel_sums(ctx, A, B, int(ctx["P"]), rows=rows)


register(
    Claim(
        name="entk.entry_variance",
        dim_param="dim",
        applies_to=iid_draws_reason,
        predict=_entry_variances,
        simulate=_sq_dev_simulate,
        params=KERNEL_PARAMS,
        laws=("gaussian", "rademacher", "sphere", "coordinate"),
        num_samples=1 << 18,
        labels=_entry_labels,
    )
)


# -- P2-3: Frobenius error --------------------------------------------------------
def _frob_predict(ctx: Context) -> np.ndarray:
    A, B = jacobians(ctx, int(ctx["outputs"]), claim_dim(ctx))
    env, As, Bs = entry_env(ctx, A, B, P=int(ctx["P"]))
    return np.array([evaluate(E.entk_frobenius_error(ctx.law, As, Bs, d=ctx.law.fixed_dim or S.d), env)])


def _frob_simulate(ctx: Context) -> BatchSums:
    return _sq_dev_simulate(ctx, frobenius=True)


FROB_PARAMS = {**KERNEL_PARAMS, "outputs": Param(3, "output size V", low=1, high=8, integer=True)}


register(
    Claim(
        name="entk.frobenius_error",
        dim_param="dim",
        applies_to=iid_draws_reason,
        predict=_frob_predict,
        simulate=_frob_simulate,
        params=FROB_PARAMS,
        laws=("gaussian", "rademacher", "uniform", "coordinate"),
        num_samples=1 << 17,
        labels=lambda ctx: ["E||dK||_F^2"],
    )
)


# -- P2-7: gradient-estimator second moment ---------------------------------------
def _grad_instance(ctx: Context):
    rng = ctx.instance_rng()
    dim = claim_dim(ctx)
    g = rng.standard_normal((dim, dim))
    H = g @ g.T / dim + np.eye(dim)
    theta = rng.standard_normal(dim)
    return H, theta


def _grad_predict(ctx: Context) -> np.ndarray:
    H, theta = _grad_instance(ctx)
    d = ctx.law.fixed_dim or S.d
    gs = S.vector("g", d)
    env = {S.d: H.shape[0], gs: H @ theta, S.P: int(ctx["P"])}
    return np.array([evaluate(E.gradient_estimator_second_moment(ctx.law, gs, d=d), env)])


def _grad_simulate(ctx: Context) -> BatchSums:
    H, theta = (torch.as_tensor(x, dtype=ctx.dtype, device=ctx.device) for x in _grad_instance(ctx))
    P, dim, mu = int(ctx["P"]), H.shape[0], float(ctx["mu"])

    def f(x):  # quadratic loss, batched over rows
        return 0.5 * ((x @ H) * x).sum(dim=-1)

    def one_block(m: int, gen: torch.Generator) -> torch.Tensor:
        u = ctx.law.sample(m * P, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        # real central differences; on a quadratic they equal u^T H theta up to rounding,
        # which is ~1e-12 relative here, far below the Monte Carlo standard error
        slope = (f(theta + mu * u) - f(theta - mu * u)) / (2 * mu)
        ghat = (slope[:, None] * u).reshape(m, P, dim).mean(dim=1)
        return (ghat**2).sum(dim=1, keepdim=True)

    return batch_sums(one_block, ctx.num_samples, generator=ctx.mc_generator(), block_size=1 << 14)


register(
    Claim(
        name="entk.gradient_second_moment",
        dim_param="dim",
        applies_to=iid_draws_reason,
        predict=_grad_predict,
        simulate=_grad_simulate,
        params={
            "dim": Param(16, "parameter dimension d", low=1, high=4096, integer=True),
            "P": Param(4, "queries per estimate", low=1, high=4096, integer=True),
            "mu": Param(1e-2, "finite-difference radius", low=1e-8, high=1.0),
        },
        laws=("gaussian", "rademacher", "coordinate"),
        num_samples=1 << 17,
        labels=lambda ctx: ["E||g_hat||^2"],
    )
)
