"""NZK claims on ZO training of a linear regression model (P1-5 ... P1-8): batched
trajectories with real central finite differences against the kernel dynamics."""

from __future__ import annotations

import numpy as np
import torch

from zoverify.claims.nzk.common import (
    EPS,
    as_tensor,
    dim_param,
    middle,
    needs_independent_draws,
    needs_moments,
    nzk_claim,
    problem_dim,
    regression,
    safe_eta,
    stacked_samples,
)
from zoverify.numeric import batch_sums
from zoverify.numeric.zo_training import simulate_zo_training, zo_step
from zoverify.perturbations import parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import nzk as sym
from zoverify.symbolic import symbols as S
from zoverify.verify.params import Param

TRAJECTORY_BLOCK = 1 << 14  # trajectories per block: bounds the memory of recorded traces
#: time invariance draws TI_DRAWS directions per trajectory and recorded step: a smaller block keeps it
#: to tens of MB (2^14 trajectories held about 180 MB)
TI_BLOCK = 1 << 11


def _training_claim(name, *, dim, moments, params, **fields):
    """A claim on a regression instance with ``dim`` parameters, run with Gaussian directions."""
    return nzk_claim(
        name,
        laws=("gaussian",),
        applies_to=lambda law: _training_applies(law, moments),
        params={"dim": dim_param(dim, high=32, doc="parameter dimension d"), **params},
        **fields,
    )


def _training_applies(law, moments):
    return needs_independent_draws(law) or needs_moments(moments, law)


def _step_fraction(default, doc):
    return Param(default, doc, low=1e-6, high=0.9)


def _steps(default, doc, *, high):
    return Param(default, doc, low=1, high=high, integer=True)


# -- P1-5: time invariance ---------------------------------------------------------------------------
TI_STEPS = (0, 4, 12)
TI_DRAWS = 32  # fresh pairs per recorded theta_t, averaged within a trajectory


def _ti_instance(ctx):
    X, y, theta0 = regression(ctx, problem_dim(ctx), 6)
    M = middle(ctx, "shared")
    return X, y, theta0, M, safe_eta(X, M, ctx["step_fraction"])


def _ti_predict(ctx):
    X, *_, M, _ = _ti_instance(ctx)
    return np.full(len(TI_STEPS), (X @ M @ X.T)[0, 1])


def _ti_simulate(ctx):
    X, y, theta0, _, eta = _ti_instance(ctx)
    Xt, dim = as_tensor(X, ctx), X.shape[1]

    def columns(n, gen):
        trace = simulate_zo_training(
            Xt,
            as_tensor(X @ theta0 - y, ctx),
            law=ctx.law,
            method="shared",
            eta=eta,
            steps=max(TI_STEPS),
            num_trajectories=n,
            generator=gen,
            eps=EPS,
            record=TI_STEPS,
            theta0=as_tensor(theta0, ctx),
            block_size=n,
        )
        assert trace.thetas is not None, "a trace started from theta0 records its parameters"
        cols = []
        for k in range(len(TI_STEPS)):
            theta = trace.thetas[:, k, None, :]
            z = ctx.law.sample(n * TI_DRAWS, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
            z = z.reshape(n, TI_DRAWS, dim)
            # the NZK at theta_t by real central differences of the model's outputs
            dfd = ((theta + EPS * z) @ Xt.T - (theta - EPS * z) @ Xt.T) / (2 * EPS)
            cols.append((dfd[..., 0] * (z * z).sum(dim=-1) * dfd[..., 1]).mean(dim=1))
        return cols

    return stacked_samples(ctx, columns, block_size=TI_BLOCK)


def _ti_bias(ctx):
    """Rounding bias of the observation in ctx.dtype.

    Each output (theta +- eps z)^T x carries a rounding error <= ~d u |f| (u = machine epsilon,
    |f| the output size, d-term dot product); the difference quotient divides it by eps, so each
    factor is off by ~d u |f| / eps relative to |z^T x| ~ 1; two factors, and 8x margin for |f|
    growing along noisy trajectories (the step is a safe fraction of the threshold).
    """
    X, y, theta0, *_ = _ti_instance(ctx)
    u = torch.finfo(ctx.dtype).eps
    size = 1.0 + max(np.abs(y).max(), np.abs(X @ theta0).max())
    rel = 2 * 8 * X.shape[1] * u * size / EPS + 8 * X.shape[1] * u  # + the rounding of z, ||z||^2 themselves
    return rel * np.abs(_ti_predict(ctx))


_training_claim(
    "nzk.time_invariance",
    predict=_ti_predict,
    simulate=_ti_simulate,
    dim=3,
    moments=8,
    params={"step_fraction": _step_fraction(0.2, "training step as a fraction of 2N/lambda_max(Kbar)")},
    num_samples=1 << 15,  # Laplace's heavier tails: worst component ~4 % at 2^15
    bias_bound=lambda ctx: _ti_bias(ctx),
    labels=lambda ctx: [f"EK_t(x0,x1) t={t}" for t in TI_STEPS],
)


# -- P1-6: closed-form mean evolution ------------------------------------------------------------------
ME_POINTS = (0, 7)


def _me_instance(ctx):
    X, y, theta0 = regression(ctx, problem_dim(ctx), 16)
    zeta = parse_law(ctx["zeta_law"]) if ctx["zeta_law"] else ctx.law
    Ms = {"shared": middle(ctx, "shared"), "independent": middle(ctx, "independent", zeta)}
    etas = {k: safe_eta(X, M, ctx["step_fraction"]) for k, M in Ms.items()}
    return X, y, theta0, zeta, Ms, etas


def _me_predict(ctx):
    X, y, theta0, _, Ms, etas = _me_instance(ctx)
    out = []
    for k in ("shared", "independent"):
        f_t = sym.mean_function(X @ Ms[k] @ X.T, y, X @ theta0, eta=etas[k], steps=ctx["steps"])
        out += [f_t[i] - (X @ theta0)[i] for i in ME_POINTS]
    return np.array(out)


def _me_simulate(ctx):
    X, y, theta0, zeta, _, etas = _me_instance(ctx)
    Xt, yt = as_tensor(X, ctx), as_tensor(y, ctx)

    def columns(n, gen):
        cols = []
        for k in ("shared", "independent"):
            trace = simulate_zo_training(
                Xt,
                Xt @ as_tensor(theta0, ctx) - yt,
                law=ctx.law,
                zeta_law=zeta,
                method=k,
                eta=etas[k],
                steps=ctx["steps"],
                num_trajectories=n,
                generator=gen,
                eps=EPS,
                block_size=n,
                record=(0, ctx["steps"]),
            )
            change = trace.residuals[:, -1] - trace.residuals[:, 0]
            cols += [change[:, i] for i in ME_POINTS]
        return cols

    return stacked_samples(ctx, columns, block_size=TRAJECTORY_BLOCK)


_training_claim(
    "nzk.mean_evolution",
    predict=_me_predict,
    simulate=_me_simulate,
    dim=4,
    moments=4,
    params={
        "steps": _steps(12, "training steps t", high=500),
        "step_fraction": _step_fraction(0.05, "eta as a fraction of 2N/lambda_max(Kbar)"),
        "zeta_law": Param("", "law of zeta for independent pairs (default: z's law)"),
    },
    num_samples=1 << 16,
    # independent pairs of a block law move only when zeta and z pick the same block (zeta^T z = 0 otherwise),
    # and heavy-tailed laws (Laplace) have ~3x the Gaussian's update variance: at 2^16 trajectories (~2 s) their
    # worst component is determined to ~7.5 % at 90 % power (Gaussian ~2.5 %), so the per-component controls
    # sit at 10 %
    negative_delta=0.1,
    labels=lambda ctx: [f"E[f_t - f_0](x{i}) {k}" for k in ("shared", "indep") for i in ME_POINTS],
)


# -- P1-7: shared NZK = ZO-GD with step eta ||z||^2; speed-up c_shared / c_second -----------------------
def _speedup_applies(law):
    # whether the speed-up is a scalar depends on d (a block law's at d a multiple of its block count):
    # the prediction asks the symbolic layer at the claim's d and is n/a where it refuses
    return needs_moments(8, law)


def _sp_instance(ctx):
    X, y, theta0 = regression(ctx, problem_dim(ctx), 5)
    return X, X @ theta0 - y


def _sp_predict(ctx):
    dim = problem_dim(ctx)
    X, r0 = _sp_instance(ctx)
    speedup = float(sym.zo_gd_speedup(ctx.law, d=dim))
    plain = X @ evaluate(ctx.law.second_moment(dim), {S.d: dim}) @ X.T @ r0 / X.shape[0]
    return -speedup * plain[:3]


def _sp_simulate(ctx):
    X, r0 = _sp_instance(ctx)
    Xt, rt, dim = as_tensor(X, ctx), as_tensor(r0, ctx), X.shape[1]

    def block(n, gen):
        z = ctx.law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        r = rt.expand(n, -1)
        # the shared-NZK update itself (central differences of the loss and outputs), unit step;
        # the prediction is plain ZO-GD's mean step scaled by the symbolic speed-up
        r1, _ = zo_step(r, Xt, z, None, method="shared", eta=1.0, eps=EPS, increment=False)
        return (r1 - r)[:, :3]

    return batch_sums(block, ctx.num_samples, generator=ctx.mc_generator())


nzk_claim(
    "nzk.shared_equals_scaled_zo_gd",
    predict=_sp_predict,
    simulate=_sp_simulate,
    params={"dim": dim_param(8, doc="parameter dimension d (8: equal blocks for 2, 4 or 8 blocks)")},
    laws=("gaussian(std=1.3)", "rademacher"),
    num_samples=1 << 19,
    applies_to=_speedup_applies,
    labels=lambda ctx: [f"E df(x{i})/eta" for i in range(3)],
)


# -- P1-8: stability of the kernel recursion --------------------------------------------------------
# The simulation runs at step sizes eta = c N / lambda_max(Kbar), c in ST_GRID, with lambda_max and the top
# eigenvector v from numpy's eigh of Kbar: a bracket fixed in advance that never evaluates the threshold formula
# under test (stability_threshold_expr / kernel_gd_threshold).  The prediction goes through the formula: with
# eta* its threshold, the mean recursion along v multiplies v^T r by 1 - 2 eta / eta* per step (the formula says
# that factor is -1 exactly at eta*), so E v^T r_t / v^T r_0 = (1 - 2 eta / eta*)^t.  A threshold formula off by
# a factor (1 + e) moves each per-step factor by about 2e and the t-step means by about 2 e t.
ST_GRID = (1.9, 2.1)  # per-step factors 1 - c = -0.9 (decays) and -1.1 (grows) under the true threshold
ST_NEAR_MISS = 0.05  # negative controls: the threshold formula 5 % high and 5 % low, each rejected
# ... which moves the t-step means by 23-41 % at t = 4 and 41-65 % at t = 8 (about 2 * 0.05 * t / 0.9 per step);
# the components' relative scale quoted by the harness (their worst MDE is ~0.25 Gaussian, ~0.5 Laplace)
ST_RELATIVE_DELTA = 0.4


def _st_record(ctx):
    return sorted({ctx["steps"] // 2, ctx["steps"]} - {0})


def _st_instance(ctx):
    X, *_ = regression(ctx, problem_dim(ctx), 5)
    K = X @ middle(ctx, "shared") @ X.T
    lam, vec = np.linalg.eigh(K)
    return X, K, lam[-1], vec[:, -1]


def _st_curve(ctx, eta_star):
    """(1 - 2 eta / eta*)^t at the grid step sizes, for a threshold eta*."""
    X, _, lam, _ = _st_instance(ctx)
    etas = [c * X.shape[0] / lam for c in ST_GRID]
    return np.array([(1 - 2 * eta / eta_star) ** t for eta in etas for t in _st_record(ctx)])


def _st_threshold(ctx):
    """eta* from the statement's formula 2 N / lambda_max(Kbar)."""
    _, K, *_ = _st_instance(ctx)
    return sym.kernel_gd_threshold(K)


def _st_predict(ctx):
    return _st_curve(ctx, _st_threshold(ctx))


def _st_negatives(ctx, prediction):
    """The statement with a threshold formula off by +-ST_NEAR_MISS (one near-miss formula at a time)."""
    eta_star = _st_threshold(ctx)
    return [_st_curve(ctx, eta_star * (1 + e)) for e in (ST_NEAR_MISS, -ST_NEAR_MISS)]


def _st_simulate(ctx):
    """Shared-NZK ZO training from r_0 = v (Kbar's top eigenvector) at the grid step sizes c N / lambda_max,
    each step the update averaged over q fresh directions (zo_step itself, exact directional derivatives):
    E v^T r_t follows the mean recursion, and q keeps the per-step variance small enough to follow it."""
    X, _, lam, v = _st_instance(ctx)
    Xt, vt, dim, q = as_tensor(X, ctx), as_tensor(v, ctx), X.shape[1], int(ctx["directions"])
    record = _st_record(ctx)

    def columns(n, gen):
        cols = []
        for c in ST_GRID:
            eta = c * X.shape[0] / lam
            r = vt.expand(n, -1).clone()
            for t in range(1, ctx["steps"] + 1):
                z = ctx.law.sample(n * q, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
                rep = r.repeat_interleave(q, dim=0)
                r_new, _ = zo_step(rep, Xt, z, None, method="shared", eta=eta, eps=None, increment=False)
                r = r + (r_new - rep).reshape(n, q, -1).mean(dim=1)
                if t in record:
                    cols.append(r @ vt)
        return cols

    return stacked_samples(ctx, columns, block_size=64)


_training_claim(
    "nzk.kernel_stability",
    predict=_st_predict,
    simulate=_st_simulate,
    dim=8,
    moments=4,
    params={
        "steps": _steps(8, "training steps t (the variance grows geometrically with t)", high=20),
        "directions": Param(256, "directions averaged per step q", low=1, high=4096, integer=True),
    },
    num_samples=512,
    negative_alternatives=_st_negatives,
    negative_delta=ST_RELATIVE_DELTA,
    labels=lambda ctx: [f"E v'r_t/v'r_0 at eta = {c} N/lam_max, t={t}" for c in ST_GRID for t in _st_record(ctx)],
)
