"""Claims of the NZK paper (theory.md §1, §5 P1-1 .. P1-9).

Predictions come from zoverify.symbolic.nzk (the middle matrix M written once
against the law interface, or the paper's stated closed forms, which the tests
show equal M); observations come from the numeric engine: sampled directions,
real central finite differences of the loss and of the outputs, batched ZO
trajectories and jvp's of a real network.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from zoverify._errors import NotApplicableError
from zoverify.claims._claim import Claim, Context, Param
from zoverify.claims._registry import register
from zoverify.numeric import map_blocks
from zoverify.numeric.zo_training import simulate_zo_training, zo_step
from zoverify.perturbations import AbstractLaw, Gaussian, parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import nzk as sym
from zoverify.symbolic import symbols as S

EPS = 1e-3  # the paper's finite-difference radius
PAIRS = [(0, 0), (1, 1), (0, 1), (1, 2)]
SOURCE = "theory.md §1.4-1.7, §5"


# -- shared helpers -------------------------------------------------------------------------
def _dim(ctx: Context) -> int:
    return ctx.law.fixed_dim or int(ctx["dim"])


def _points(ctx: Context, dim: int, n: int = 3) -> np.ndarray:
    """Inputs with positive entries (so x_i^T M x_j stays away from 0), rows of unit norm."""
    x = ctx.instance_rng().uniform(0.2, 1.0, (n, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _entries(K: np.ndarray, pairs=PAIRS) -> np.ndarray:
    return np.array([K[i, j] for i, j in pairs])


def _labels(prefix: str, pairs=PAIRS):
    return lambda ctx: [f"{prefix}(x{i},x{j})" for i, j in pairs]


def _needs_moments(order: int, *laws: AbstractLaw) -> str | None:
    for law in laws:
        bound = getattr(law, "moment_order_bound", float("inf"))
        if not order < bound:
            return f"{law.spec}: the Monte Carlo observation needs finite moments of order {order}"
    return None


def _t(x, ctx: Context) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=ctx.dtype, device=ctx.device)


def _kernel_samples(ctx: Context, X: np.ndarray, *, zeta_law: AbstractLaw | None, pairs=PAIRS):
    """(n, k) samples of the finite-difference NZK of f = X theta at theta = 0.

    K = [(f(x_i; eps zeta) - f(x_i; -eps zeta)) / 2 eps] (zeta^T z) [(f(x_j; eps z) - f(x_j; -eps z)) / 2 eps].
    """
    Xt = _t(X, ctx)
    dim = X.shape[1]

    def block(n, gen):
        z = ctx.law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        zeta = z if zeta_law is None else zeta_law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        a = ((EPS * zeta) @ Xt.T - (-EPS * zeta) @ Xt.T) / (2 * EPS)
        b = ((EPS * z) @ Xt.T - (-EPS * z) @ Xt.T) / (2 * EPS)
        c = (zeta * z).sum(dim=1)
        return torch.stack([a[:, i] * c * b[:, j] for i, j in pairs], dim=1)

    return map_blocks(block, ctx.num_samples, generator=ctx.mc_generator())


def _middle(ctx: Context, pairing: str, zeta=None) -> np.ndarray:
    dim = _dim(ctx)
    M = sym.nzk_middle_matrix(ctx.law, pairing=pairing, zeta_law=zeta, d=dim)
    return sym.evaluate_middle_matrix(M, dim)


# -- P1-1: independent pairs ---------------------------------------------------------------------
def _indep_predict(ctx):
    zeta = parse_law(ctx["zeta_law"])
    if (reason := _needs_moments(4, zeta)) is not None:
        raise NotApplicableError(reason)
    X = _points(ctx, _dim(ctx))
    return _entries(X @ _middle(ctx, "independent", zeta) @ X.T)


def _indep_simulate(ctx):
    return _kernel_samples(ctx, _points(ctx, _dim(ctx)), zeta_law=parse_law(ctx["zeta_law"]))


register(
    Claim(
        name="nzk.independent_kernel",
        statement="Independent zeta, z: E K(x_i, x_j) = x_i^T E[zeta zeta^T] E[z z^T] x_j (only first and second moments enter).",
        source=SOURCE + " P1-1",
        status="DERIVED+CHECKED",
        predict=_indep_predict,
        simulate=_indep_simulate,
        params={
            "dim": Param(4, "dimension d (ignored for a vector-mean law)", low=1, high=64, integer=True),
            "zeta_law": Param("gaussian(mean=0.3, std=0.8)", "law of zeta (z has the checked law)"),
        },
        laws=("gaussian(mean=[0.3,-0.5,0.2], std=0.7)", "laplace(b=0.6)"),
        num_samples=1 << 19,
        applies_to=lambda law: _needs_moments(4, law),
        labels=_labels("EK"),
    )
)


# -- P1-2: shared Gaussian with a (vector) mean ------------------------------------------------------
def _gaussian_only(law: AbstractLaw) -> str | None:
    return None if isinstance(law, Gaussian) else f"{law.spec} is not Gaussian; P1-2 is a statement about N(mu, sigma^2 I)"


def _shared_gaussian_predict(ctx):
    dim = _dim(ctx)
    mu = np.ravel(evaluate(ctx.law.mean(dim), {S.d: dim}))
    mu_sym = S.vector("mu", dim)
    stated = sym.shared_gaussian_statement(mu_sym, ctx.law.std, sp.Integer(dim))
    M = evaluate(stated, {mu_sym: mu, S.d: dim})
    X = _points(ctx, dim)
    return _entries(X @ M @ X.T)


register(
    Claim(
        name="nzk.shared_gaussian",
        statement="Shared z ~ N(mu, s^2 I): E[||z||^2 z z^T] = ((d+2)s^4 + s^2|mu|^2) I + ((d+4)s^2 + |mu|^2) mu mu^T.",
        source=SOURCE + " P1-2",
        status="DERIVED+CHECKED",
        predict=_shared_gaussian_predict,
        simulate=lambda ctx: _kernel_samples(ctx, _points(ctx, _dim(ctx)), zeta_law=None),
        params={"dim": Param(4, "dimension d (ignored for a vector-mean law)", low=1, high=64, integer=True)},
        laws=("gaussian(mean=[0.3,-0.5,0.2], std=0.7)", "gaussian(mean=0.5, std=1.3)"),
        num_samples=1 << 19,
        applies_to=_gaussian_only,
        labels=_labels("EK"),
    )
)


# -- P1-3: Corollary 2 -------------------------------------------------------------------------------
def _centred_gaussian(law):
    if not isinstance(law, Gaussian) or law.fixed_dim is not None or law.scalar_mean() != 0:
        return f"{law.spec}: Corollary 2 is about N(0, sigma^2 I)"
    return None


def _cor2_predict(ctx):
    dim = _dim(ctx)
    c = float(sym.corollary2_statement(ctx.law.std, sp.Integer(dim)))
    X = _points(ctx, dim)
    return _entries(c * X @ X.T)


register(
    Claim(
        name="nzk.corollary2",
        statement="Corollary 2: shared z ~ N(0, s^2 I) gives E K(x_i, x_j) = (d+2) s^4 <x_i, x_j>.",
        source=SOURCE + " P1-3",
        status="READ-2nd + DERIVED+CHECKED",
        predict=_cor2_predict,
        simulate=lambda ctx: _kernel_samples(ctx, _points(ctx, _dim(ctx)), zeta_law=None),
        params={"dim": Param(5, "dimension d", low=1, high=64, integer=True)},
        laws=("gaussian(std=1.3)",),
        num_samples=1 << 19,
        applies_to=_centred_gaussian,
        labels=_labels("EK"),
    )
)


# -- P1-4: shared iid non-Gaussian -------------------------------------------------------------------
def _iid_centred(law):
    mom = law.scalar_moments()
    if not law.iid_coordinates or mom is None or mom["mean"] != 0:
        return f"{law.spec}: P1-4 is about iid zero-mean coordinates"
    return _needs_moments(8, law)


def _iid_predict(ctx):
    dim = _dim(ctx)
    mom = ctx.law.scalar_moments()
    c = float(sym.iid_shared_statement(mom["m4"], mom["var"], sp.Integer(dim)))
    X = _points(ctx, dim)
    return _entries(c * X @ X.T)


register(
    Claim(
        name="nzk.shared_iid",
        statement="Shared z with iid zero-mean coordinates: E K = (m4 + (d-1) sigma^4) X X^T (depends on the 4th moment).",
        source=SOURCE + " P1-4",
        status="DERIVED+CHECKED",
        predict=_iid_predict,
        simulate=lambda ctx: _kernel_samples(ctx, _points(ctx, _dim(ctx)), zeta_law=None),
        params={"dim": Param(5, "dimension d", low=1, high=64, integer=True)},
        laws=("rademacher", "laplace(b=0.6)", "student_t(nu=10)", "uniform"),
        num_samples=1 << 19,
        applies_to=_iid_centred,
        labels=_labels("EK"),
    )
)


# -- a linear regression instance (paper §1.8, small) -------------------------------------------------
def _regression(ctx: Context, dim: int, n: int):
    rng = ctx.instance_rng()
    X = rng.uniform(0.0, 1.0, (n, dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    theta_gt = rng.integers(1, 10, dim).astype(float)
    y = X @ theta_gt + 0.02 * rng.standard_normal(n)
    theta0 = rng.standard_normal(dim)
    return X, y, theta0


def _safe_eta(ctx: Context, X: np.ndarray, M: np.ndarray, fraction: float) -> float:
    """A step at ``fraction`` of the kernel-GD threshold 2N / lambda_max(Kbar)."""
    return fraction * sym.kernel_gd_threshold(X @ M @ X.T)


# -- P1-5: time invariance ---------------------------------------------------------------------------
TI_STEPS = (0, 4, 12)
TI_DRAWS = 32  # fresh pairs per recorded theta_t, averaged within a trajectory


def _ti_instance(ctx):
    dim = _dim(ctx)
    X, y, theta0 = _regression(ctx, dim, 6)
    M = _middle(ctx, "shared")
    return X, y, theta0, M, _safe_eta(ctx, X, M, ctx["step_fraction"])


def _ti_predict(ctx):
    X, *_, M, _ = _ti_instance(ctx)
    return np.full(len(TI_STEPS), (X @ M @ X.T)[0, 1])


def _ti_simulate(ctx):
    X, y, theta0, _, eta = _ti_instance(ctx)
    Xt, dim = _t(X, ctx), X.shape[1]

    def block(n, gen):
        trace = simulate_zo_training(
            Xt, _t(X @ theta0 - y, ctx), law=ctx.law, method="shared", eta=eta, steps=max(TI_STEPS),
            num_trajectories=n, generator=gen, eps=EPS, record=TI_STEPS, theta0=_t(theta0, ctx), block_size=n,
        )
        cols = []
        for k in range(len(TI_STEPS)):
            theta = trace.thetas[:, k, None, :]
            z = ctx.law.sample(n * TI_DRAWS, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
            z = z.reshape(n, TI_DRAWS, dim)
            # the NZK at theta_t by real central differences of the model's outputs
            dfd = ((theta + EPS * z) @ Xt.T - (theta - EPS * z) @ Xt.T) / (2 * EPS)
            cols.append((dfd[..., 0] * (z * z).sum(dim=-1) * dfd[..., 1]).mean(dim=1))
        return torch.stack(cols, dim=1)

    return map_blocks(block, ctx.num_samples, generator=ctx.mc_generator(), block_size=1 << 14)


register(
    Claim(
        name="nzk.time_invariance",
        statement="Linear model: the NZK at theta_t, by finite differences with fresh shared z, has mean Kbar = X M X^T at every step t.",
        source=SOURCE + " P1-5",
        status="READ-2nd + DERIVED",
        predict=_ti_predict,
        simulate=_ti_simulate,
        params={
            "dim": Param(3, "parameter dimension d", low=1, high=32, integer=True),
            "step_fraction": Param(0.2, "training step as a fraction of 2N/lambda_max(Kbar)", low=1e-6, high=0.9),
        },
        laws=("gaussian",),
        num_samples=1 << 14,
        applies_to=lambda law: _needs_moments(8, law),
        # float64 rounding of a difference quotient at eps = 1e-3 with |f| <= ~1e2: ~1e-11 relative
        bias_bound=lambda ctx: 1e-9 * np.abs(_ti_predict(ctx)),
        labels=lambda ctx: [f"EK_t(x0,x1) t={t}" for t in TI_STEPS],
    )
)


# -- P1-6: closed-form mean evolution ------------------------------------------------------------------
ME_POINTS = (0, 7)


def _me_instance(ctx):
    dim = _dim(ctx)
    X, y, theta0 = _regression(ctx, dim, 16)
    zeta = parse_law(ctx["zeta_law"]) if ctx["zeta_law"] else ctx.law
    Ms = {"shared": _middle(ctx, "shared"), "independent": _middle(ctx, "independent", zeta)}
    etas = {k: _safe_eta(ctx, X, M, ctx["step_fraction"]) for k, M in Ms.items()}
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
    Xt, yt = _t(X, ctx), _t(y, ctx)

    def block(n, gen):
        cols = []
        for k in ("shared", "independent"):
            trace = simulate_zo_training(
                Xt, Xt @ _t(theta0, ctx) - yt, law=ctx.law, zeta_law=zeta, method=k, eta=etas[k],
                steps=ctx["steps"], num_trajectories=n, generator=gen, eps=EPS, block_size=n, record=(0, ctx["steps"]),
            )
            change = trace.residuals[:, -1] - trace.residuals[:, 0]
            cols += [change[:, i] for i in ME_POINTS]
        return torch.stack(cols, dim=1)

    return map_blocks(block, ctx.num_samples, generator=ctx.mc_generator(), block_size=1 << 14)


register(
    Claim(
        name="nzk.mean_evolution",
        statement="E f_t = (I - (I - eta Kbar/N)^t) y + (I - eta Kbar/N)^t f_0 (checked as E[f_t - f_0]) for ZO training with fresh (zeta, z) each step (shared and independent pairs).",
        source=SOURCE + " P1-6",
        status="READ-2nd form; DERIVED+CHECKED",
        predict=_me_predict,
        simulate=_me_simulate,
        params={
            "dim": Param(2, "parameter dimension d", low=1, high=32, integer=True),
            "steps": Param(12, "training steps t", low=1, high=500, integer=True),
            "step_fraction": Param(0.05, "eta as a fraction of 2N/lambda_max(Kbar)", low=1e-6, high=0.9),
            "zeta_law": Param("", "law of zeta for independent pairs (default: z's law)"),
        },
        laws=("gaussian",),
        num_samples=1 << 14,
        applies_to=lambda law: _needs_moments(4, law),
        labels=lambda ctx: [f"E[f_t - f_0](x{i}) {k}" for k in ("shared", "indep") for i in ME_POINTS],
    )
)


# -- P1-7: shared NZK = ZO-GD with step eta ||z||^2; speed-up c_shared / c_second -----------------------
def _speedup_applies(law):
    try:
        sym.zo_gd_speedup(law)
    except Exception as exc:  # noqa: BLE001 (any refusal of the symbolic layer is the reason)
        return str(exc)
    return _needs_moments(8, law)


def _sp_instance(ctx):
    dim = _dim(ctx)
    X, y, theta0 = _regression(ctx, dim, 5)
    return X, X @ theta0 - y


def _sp_predict(ctx):
    dim = _dim(ctx)
    X, r0 = _sp_instance(ctx)
    speedup = float(sym.zo_gd_speedup(ctx.law, d=dim))
    plain = X @ evaluate(ctx.law.second_moment(dim), {S.d: dim}) @ X.T @ r0 / X.shape[0]
    return -speedup * plain[:3]


def _sp_simulate(ctx):
    X, r0 = _sp_instance(ctx)
    Xt, rt, dim = _t(X, ctx), _t(r0, ctx), X.shape[1]

    def block(n, gen):
        z = ctx.law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        r = rt.expand(n, -1)
        # plain ZO-GD code path (central differences), unit step, then the random step ||z||^2
        r1, _ = zo_step(r, Xt, z, None, method="zo_gd", eta=1.0, eps=EPS)
        return ((z * z).sum(dim=1, keepdim=True) * (r1 - r))[:, :3]

    return map_blocks(block, ctx.num_samples, generator=ctx.mc_generator())


register(
    Claim(
        name="nzk.shared_equals_scaled_zo_gd",
        statement="Shared-pair NZK dynamics are ZO-GD with step eta ||z||^2: the mean function step is c_shared/c_second "
        "(= (d+2) sigma^2 for Gaussians) times plain ZO-GD's.",
        source=SOURCE + " P1-7",
        status="DERIVED",
        predict=_sp_predict,
        simulate=_sp_simulate,
        params={"dim": Param(6, "parameter dimension d", low=1, high=64, integer=True)},
        laws=("gaussian(std=1.3)", "rademacher"),
        num_samples=1 << 18,
        applies_to=_speedup_applies,
        labels=lambda ctx: [f"E df(x{i})/eta" for i in range(3)],
    )
)


# -- P1-8: stability of the kernel recursion --------------------------------------------------------
ST_FACTORS = (0.9, 1.0, 1.1)


def _st_instance(ctx):
    dim = _dim(ctx)
    X, *_ = _regression(ctx, dim, 5)
    K = X @ _middle(ctx, "shared") @ X.T
    lam, vec = np.linalg.eigh(K)
    return X, K, lam[-1], vec[:, -1]


def _st_predict(ctx):
    X, K, lam, _ = _st_instance(ctx)
    eta_star = float(evaluate(sym.stability_threshold_expr(), {S.lam_max: lam, S.N: X.shape[0]}))
    return np.array([(1 - f * eta_star * lam / X.shape[0]) ** ctx["steps"] for f in ST_FACTORS])


def _st_simulate(ctx):
    X, K, _, v = _st_instance(ctx)
    eta_star = sym.kernel_gd_threshold(K)
    Xt, vt = _t(X, ctx), _t(v, ctx)

    def block(n, gen):
        cols = []
        for f in ST_FACTORS:
            trace = simulate_zo_training(
                Xt, vt, law=ctx.law, method="shared", eta=f * eta_star, steps=ctx["steps"],
                num_trajectories=n, generator=gen, eps=None, block_size=n,
            )
            cols.append(trace.residuals[:, -1] @ vt)
        return torch.stack(cols, dim=1)

    return map_blocks(block, ctx.num_samples, generator=ctx.mc_generator())


register(
    Claim(
        name="nzk.kernel_stability",
        statement="The kernel-gradient ZO recursion (the mean dynamics) is stable iff eta < 2N/lambda_max(Kbar): along Kbar's top "
        "eigenvector the mean residual is multiplied by 1 - eta lambda_max/N per step (-1 at the threshold).",
        source=SOURCE + " P1-8",
        status="DERIVED",
        predict=_st_predict,
        simulate=_st_simulate,
        params={
            "dim": Param(3, "parameter dimension d", low=1, high=32, integer=True),
            "steps": Param(1, "steps t (the variance grows geometrically with t)", low=1, high=5, integer=True),
        },
        laws=("gaussian",),
        num_samples=1 << 19,
        applies_to=lambda law: _needs_moments(4, law),
        labels=lambda ctx: [f"E v'r_t/v'r_0 at {f} eta*" for f in ST_FACTORS],
    )
)


# -- P1-9: linearized network -------------------------------------------------------------------------
LN_PAIRS = [(0, 0), (1, 1), (0, 1), (1, 2)]


def _ln_instance(ctx):
    from zoverify._rng import make_generator
    from zoverify.numeric.data import load_digits_binary
    from zoverify.numeric.linearize import make_mlp

    rng = ctx.instance_rng()
    X, _ = load_digits_binary((3, 5), per_class=100, dtype=ctx.dtype, device=ctx.device)
    pick = rng.choice(X.shape[0], 3, replace=False)
    gen = make_generator(int(rng.integers(0, 2**62)), device=ctx.device)
    model, theta0 = make_mlp((64, 10, 5, 1), generator=gen, dtype=ctx.dtype)
    return model, theta0, X[pick]


def _ln_applies(law):
    if law.fixed_dim is not None:
        return f"{law.spec} has a fixed dimension {law.fixed_dim}; the network has 711 parameters"
    if law.name == "coordinate":
        # one coordinate of 711 per draw: relative variance ~d, MDE ~0.4 at the default sample size
        return "coordinate: at d = 711 its Monte Carlo variance is too large to judge at the default sample size"
    return _needs_moments(8, law)


def _ln_predict(ctx):
    from zoverify.numeric.linearize import jacobian_features

    model, theta0, X = _ln_instance(ctx)
    Phi = jacobian_features(model, theta0, X).detach().cpu().numpy()
    M = sym.nzk_middle_matrix(ctx.law, pairing="shared", d=Phi.shape[1])
    return _entries(sym.expected_kernel(Phi, M), LN_PAIRS)


def _ln_simulate(ctx):
    from zoverify.numeric.linearize import directional_derivatives

    model, theta0, X = _ln_instance(ctx)
    dim = theta0.numel()

    def block(n, gen):
        z = ctx.law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        u = directional_derivatives(model, theta0, X, z)  # phi(x)^T z by forward-mode jvp
        norm2 = (z * z).sum(dim=1)
        return torch.stack([u[:, i] * norm2 * u[:, j] for i, j in LN_PAIRS], dim=1)

    return map_blocks(block, ctx.num_samples, generator=ctx.mc_generator(), block_size=1 << 14)


register(
    Claim(
        name="nzk.linearized_net",
        statement="Linearized FFN 64->10->5->1 (d = 711 parameters) on digits 3 vs 5: shared NZK = Phi M Phi^T with Phi the "
        "Jacobian features; for N(0, I) this is 713 x the NTK Phi Phi^T.",
        source=SOURCE + " P1-9",
        status="CODE + DERIVED",
        predict=_ln_predict,
        simulate=_ln_simulate,
        laws=("gaussian",),
        num_samples=1 << 16,
        negative_delta=0.075,  # 2^16 draws of 711-dim directions keep the claim near 3 s; MDE ~0.04
        applies_to=_ln_applies,
        labels=_labels("EK_lin", LN_PAIRS),
    )
)

__all__: list[str] = []
