"""NZK claims on the expected kernel at a point (P1-1 ... P1-4): sampled directions
and real central finite differences of a linear model against x_i^T M x_j."""

from __future__ import annotations

import numpy as np
import sympy as sp

from zoverify._errors import NotApplicableError
from zoverify.claims.nzk.common import (
    EPS,
    PAIRS,
    as_tensor,
    dim_param,
    entries,
    middle,
    needs_moments,
    nzk_claim,
    pair_labels,
    points,
    problem_dim,
    stacked_samples,
)
from zoverify.perturbations import AbstractLaw, Gaussian, parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import nzk as sym
from zoverify.symbolic import symbols as S
from zoverify.verify.claim import Context
from zoverify.verify.params import Param


def _kernel_samples(ctx: Context, X: np.ndarray, *, zeta_law: AbstractLaw | None, pairs=PAIRS):
    """(n, k) samples of the finite-difference NZK of f = X theta at theta = 0.

    K = [(f(x_i; eps zeta) - f(x_i; -eps zeta)) / 2 eps] (zeta^T z) [(f(x_j; eps z) - f(x_j; -eps z)) / 2 eps].
    """
    Xt = as_tensor(X, ctx)
    dim = X.shape[1]

    def columns(n, gen):
        z = ctx.law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        zeta = z if zeta_law is None else zeta_law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        a = ((EPS * zeta) @ Xt.T - (-EPS * zeta) @ Xt.T) / (2 * EPS)
        b = ((EPS * z) @ Xt.T - (-EPS * z) @ Xt.T) / (2 * EPS)
        c = (zeta * z).sum(dim=1)
        return [a[:, i] * c * b[:, j] for i, j in pairs]

    return stacked_samples(ctx, columns)


def _shared_kernel_samples(ctx):
    return _kernel_samples(ctx, points(ctx, problem_dim(ctx)), zeta_law=None)


def _kernel_claim(name, *, predict, params, laws, applies_to, simulate=_shared_kernel_samples):
    """E K(x_i, x_j) at three test points, from 2^19 sampled directions."""
    return nzk_claim(
        name,
        predict=predict,
        simulate=simulate,
        params=params,
        laws=laws,
        num_samples=1 << 19,
        applies_to=applies_to,
        labels=pair_labels("EK"),
    )


_VECTOR_MEAN_DIM = dim_param(4, doc="dimension d (ignored for a vector-mean law)")


# -- P1-1: independent pairs ---------------------------------------------------------------------
def _indep_predict(ctx):
    zeta = parse_law(ctx["zeta_law"])
    if (reason := needs_moments(4, zeta)) is not None:
        raise NotApplicableError(reason)
    X = points(ctx, problem_dim(ctx))
    return entries(X @ middle(ctx, "independent", zeta) @ X.T)


def _indep_simulate(ctx):
    return _kernel_samples(ctx, points(ctx, problem_dim(ctx)), zeta_law=parse_law(ctx["zeta_law"]))


_kernel_claim(
    "nzk.independent_kernel",
    predict=_indep_predict,
    simulate=_indep_simulate,
    params={
        "dim": _VECTOR_MEAN_DIM,
        # zeta's mean along 1 and z's mean [0.9, -0.3, 0.2] (not orthogonal to 1) make E[zeta zeta^T] and
        # E[z z^T] far from commuting: the orientation moves the (x1, x2) entry by ~26 %
        "zeta_law": Param("gaussian(mean=0.8, std=0.6)", "law of zeta (z has the checked law)"),
    },
    laws=("gaussian(mean=[0.9,-0.3,0.2], std=0.7)", "laplace(b=0.6)"),
    applies_to=lambda law: needs_moments(4, law),
)


# -- P1-2: shared Gaussian with a (vector) mean ------------------------------------------------------
def _gaussian_only(law: AbstractLaw) -> str | None:
    return (
        None if isinstance(law, Gaussian) else f"{law.spec} is not Gaussian; P1-2 is a statement about N(mu, sigma^2 I)"
    )


def _shared_gaussian_predict(ctx):
    dim = problem_dim(ctx)
    mu = np.ravel(evaluate(ctx.law.mean(dim), {S.d: dim}))
    mu_sym = S.vector("mu", dim)
    stated = sym.shared_gaussian_statement(mu_sym, ctx.law.std, sp.Integer(dim))
    M = evaluate(stated, {mu_sym: mu, S.d: dim})
    X = points(ctx, dim)
    return entries(X @ M @ X.T)


_kernel_claim(
    "nzk.shared_gaussian",
    predict=_shared_gaussian_predict,
    params={"dim": _VECTOR_MEAN_DIM},
    laws=("gaussian(mean=[0.3,-0.5,0.2], std=0.7)", "gaussian(mean=0.5, std=1.3)"),
    applies_to=_gaussian_only,
)


# -- P1-3: Corollary 2 -------------------------------------------------------------------------------
def _centred_gaussian(law):
    if not isinstance(law, Gaussian) or law.fixed_dim is not None or law.scalar_mean() != 0:
        return f"{law.spec}: Corollary 2 is about N(0, sigma^2 I)"
    return None


def _isotropic_kernel(ctx, scale):
    """E K at the test points when the middle matrix is scale(d) I."""
    dim = problem_dim(ctx)
    c = float(scale(sp.Integer(dim)))
    X = points(ctx, dim)
    return entries(c * X @ X.T)


def _cor2_predict(ctx):
    return _isotropic_kernel(ctx, lambda d: sym.corollary2_statement(ctx.law.std, d))


_kernel_claim(
    "nzk.corollary2",
    predict=_cor2_predict,
    params={"dim": dim_param(5)},
    laws=("gaussian(std=1.3)",),
    applies_to=_centred_gaussian,
)


# -- P1-4: shared iid non-Gaussian -------------------------------------------------------------------
def _iid_centred(law):
    mom = law.scalar_moments()
    if not law.iid_coordinates or mom is None or mom["mean"] != 0:
        return f"{law.spec}: P1-4 is about iid zero-mean coordinates"
    return needs_moments(8, law)


def _iid_predict(ctx):
    mom = ctx.law.scalar_moments()
    return _isotropic_kernel(ctx, lambda d: sym.iid_shared_statement(mom["m4"], mom["var"], d))


_kernel_claim(
    "nzk.shared_iid",
    predict=_iid_predict,
    params={"dim": dim_param(5)},
    laws=("rademacher", "laplace(b=0.6)", "student_t(nu=10)", "uniform"),
    applies_to=_iid_centred,
)
