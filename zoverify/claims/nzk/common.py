"""Shared parts of the NZK claims: test inputs, the regression instance, the
evaluated middle matrix, and the claim and sampling shapes the claims share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify.numeric import batch_sums
from zoverify.numeric._batching import DEFAULT_BLOCK, BatchSums
from zoverify.perturbations import AbstractLaw
from zoverify.symbolic import nzk as sym
from zoverify.verify.claim import Claim, Context
from zoverify.verify.params import Param
from zoverify.verify.registry import register

EPS = 1e-3  # the paper's finite-difference radius
PAIRS = [(0, 0), (1, 1), (0, 1), (1, 2)]


def nzk_claim(name: str, **fields) -> Claim:
    """Register the implementation of a claim declared in :mod:`zoverify.claims.nzk`."""
    return register(Claim(name=name, **fields))


def dim_param(default: int, *, high: int = 64, doc: str = "dimension d") -> Param:
    """A claim's integer dimension parameter, from 1 to ``high``."""
    return Param(default, doc, low=1, high=high, integer=True)


def stacked_samples(
    ctx: Context, columns: Callable[[int, torch.Generator], list[torch.Tensor]], *, block_size: int = DEFAULT_BLOCK
) -> BatchSums:
    """The batch sums of the (n, k) observations: ``columns(n, gen)`` returns the k columns of one block of n
    draws (streamed: memory does not grow with n)."""
    return batch_sums(
        lambda n, gen: torch.stack(columns(n, gen), dim=1),
        ctx.num_samples,
        generator=ctx.mc_generator(),
        block_size=block_size,
    )


def problem_dim(ctx: Context) -> int:
    """The law's fixed dimension, else the claim's ``dim`` raised to the smallest dimension the law accepts
    (a block law needs at least as many coordinates as blocks, a subspace law at least its rank)."""
    return ctx.law.fixed_dim or accepted_dim(ctx.law, int(ctx["dim"]))


def accepted_dim(law: AbstractLaw, dim: int, *, limit: int = 4096) -> int:
    """The smallest d >= ``dim`` that ``law`` accepts (asked through ``law.check_dim``)."""
    for d in range(dim, max(dim, limit) + 1):
        try:
            law.check_dim(d)
        except InvalidParameterError:
            continue
        return d
    law.check_dim(dim)  # none up to the limit: the law's own message says why
    return dim


def points(ctx: Context, dim: int, n: int = 3) -> np.ndarray:
    """Inputs with positive entries (so x_i^T M x_j stays away from 0), rows of unit norm."""
    x = ctx.instance_rng().uniform(0.2, 1.0, (n, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def entries(K: np.ndarray, pairs=PAIRS) -> np.ndarray:
    """The kernel entries K[i, j] at the tested index pairs."""
    return np.array([K[i, j] for i, j in pairs])


def pair_labels(prefix: str, pairs=PAIRS):
    """Component labels ``prefix(xi,xj)`` for the tested pairs, as a claim's ``labels`` callable."""
    return lambda ctx: [f"{prefix}(x{i},x{j})" for i, j in pairs]


def needs_moments(order: int, *laws: AbstractLaw) -> str | None:
    """Why a law cannot be used if one of ``laws`` lacks a finite moment of ``order``, else None."""
    for law in laws:
        bound = getattr(law, "moment_order_bound", float("inf"))
        if not order < bound:
            return f"{law.spec}: the Monte Carlo observation needs finite moments of order {order}"
    return None


def needs_independent_draws(law: AbstractLaw) -> str | None:
    """Training claims assume fresh independent directions at every step; a law whose consecutive
    draws are dependent (cyclic block order) makes E over a trajectory a different quantity."""
    if not getattr(law, "independent_draws", True):
        return (
            f"{law.spec}: consecutive draws are dependent; the statement is about fresh independent "
            "directions at every step"
        )
    return None


def as_tensor(x, ctx: Context) -> torch.Tensor:
    """``x`` as a tensor of the run's dtype on the run's device."""
    return torch.as_tensor(np.asarray(x), dtype=ctx.dtype, device=ctx.device)


def middle(ctx: Context, pairing: str, zeta=None) -> np.ndarray:
    """The NZK middle matrix M of the claim's law and ``pairing`` at the problem's dimension, as numbers."""
    d = problem_dim(ctx)
    M = sym.nzk_middle_matrix(ctx.law, pairing=pairing, zeta_law=zeta, d=d)
    return sym.evaluate_middle_matrix(M, d)


def regression(ctx: Context, dim: int, n: int):
    """A small linear regression instance (paper §1.8): X, y, theta0."""
    rng = ctx.instance_rng()
    X = rng.uniform(0.0, 1.0, (n, dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    theta_gt = rng.integers(1, 10, dim).astype(float)
    y = X @ theta_gt + 0.02 * rng.standard_normal(n)
    theta0 = rng.standard_normal(dim)
    return X, y, theta0


def safe_eta(X: np.ndarray, M: np.ndarray, fraction: float) -> float:
    """A step at ``fraction`` of the kernel-GD threshold 2N / lambda_max(Kbar)."""
    return fraction * sym.kernel_gd_threshold(X @ M @ X.T)
