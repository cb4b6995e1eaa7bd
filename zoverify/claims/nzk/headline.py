"""P1-10, the NZK paper's headline on real data, as two claims.

Setting (arXiv 2603.21169, Fig. 2; docs/nzk.md#headline-on-digits): binary 3 vs 5, 100 images per class at 8 x 8 (scikit-learn's
bundled digits stand in for MNIST resized to 8 x 8; nothing is downloaded), the FFN
64->10->5->1 linearized at its initialisation (f = Phi theta, d = 711 as in the
paper's code), loss (1/2) mean (f - y)^2, eta = 1e-3, losses read at 2,000 and 14,000
iterations.  The function-space steps use eta / N with N = 200 points; the paper's
code divides by 100 (its per-class count), i.e. doubles every function-space step.

* kernel-gradient ZO with the paper's Monte Carlo NZK (10,000 shared Gaussian draws):
  the kernel's sampling error biases L_t(Khat) up by O(1/S) (about 0.5 % at t = 14,000,
  comparable to one replicate's spread), so each replicate is a delete-a-group
  jackknife estimate, whose bias is O(1/S^2);
* the "standard ZO" baseline (best of 100 directions per step), as intended and as the
  paper's notebook runs it (numeric/best_of.py): the expected loss is exact
  (symbolic/best_of.py).
"""

from __future__ import annotations

import numpy as np

from zoverify._errors import NotApplicableError
from zoverify._rng import make_generator
from zoverify.claims.nzk.common import needs_moments, nzk_claim
from zoverify.numeric.best_of import SAMPLERS, LinearizedProblem, simulate_best_of_zo
from zoverify.numeric.data import load_digits_binary
from zoverify.numeric.linearize import jacobian_features, make_mlp
from zoverify.numeric.nzk_estimate import estimate_shared_nzk
from zoverify.perturbations import Gaussian
from zoverify.symbolic import best_of as sb
from zoverify.symbolic import nzk as sym
from zoverify.verify.decision import BatchMeans
from zoverify.verify.params import Param

ETA = 1e-3
EPS = 1e-3
JACKKNIFE_GROUPS = 4
ITERATIONS = Param(14000, "iterations (losses read at iterations/7 and iterations)", low=7, high=10**6, integer=True)


def headline_problem(ctx) -> tuple[LinearizedProblem, np.ndarray]:
    """The instance: digits 3 vs 5, FFN 64->10->5->1 initialised from the claim's seed; (problem, Phi).

    Built on the CPU in float64 and then cast, so it does not change with the run's device or dtype.
    """
    X, y = load_digits_binary((3, 5), per_class=100)
    seed = int(ctx.instance_rng().integers(0, 2**62))
    model, theta0 = make_mlp((64, 10, 5, 1), generator=make_generator(seed))
    Phi = jacobian_features(model, theta0, X).detach()
    cast = {"dtype": ctx.dtype, "device": ctx.device}
    return LinearizedProblem(Phi.to(**cast), y.to(**cast), theta0.detach().to(**cast)), Phi.numpy()


def best_of_intended_curve(Phi: np.ndarray, y: np.ndarray, theta0: np.ndarray, steps, *, a2, a4, b) -> np.ndarray:
    """E L_t of best-of-K ZO as intended, from H's spectrum, e0 and the floor (one SVD, one cut-off)."""
    lam, e0, floor = sb.least_squares_start(Phi, y, theta0)
    return floor + sb.excess_loss_curve(lam, e0**2, step=ETA, a2=a2, a4=a4, b=b, steps=steps)


def record_steps(ctx) -> tuple[int, int]:
    """The recorded steps: one seventh of the way and the last iteration."""
    return ctx["iterations"] // 7, ctx["iterations"]


def loss_curve(K: np.ndarray, y: np.ndarray, f0: np.ndarray, steps) -> np.ndarray:
    """(1/2) mean (f_t - y)^2 of the kernel recursion f_(t+1) = f_t - (eta / N) K (f_t - y)."""
    f = sym.mean_function_curve(K, y, f0, eta=ETA, steps=steps)
    return 0.5 * ((f - y[None, :]) ** 2).mean(axis=1)


def run_kernel_zo(K: np.ndarray, y: np.ndarray, f0: np.ndarray, steps) -> np.ndarray:
    """(1/2) mean (f_t - y)^2 of kernel-gradient ZO run with a symmetric kernel K, f_(t+1) = f_t - (eta / N)
    K (f_t - y): t steps of the residual in K's own eigenbasis (numpy), not through the symbolic layer's
    closed form (symbolic.nzk.mean_function_curve) that the prediction evaluates."""
    lam, V = np.linalg.eigh(K)
    coef = V.T @ (f0 - y)
    return np.array([0.5 * np.mean((V @ ((1 - ETA * lam / K.shape[0]) ** t * coef)) ** 2) for t in steps])


# -- kernel-gradient ZO with the Monte Carlo NZK ---------------------------------------------------
def _kz_applies(law):
    if law.fixed_dim is not None:
        return f"{law.spec} has a fixed dimension {law.fixed_dim}; the network has 711 parameters"
    return needs_moments(8, law)


def _kz_kernel(ctx, Phi):
    M = sym.nzk_middle_matrix(ctx.law, pairing="shared", d=Phi.shape[1])
    K = sym.expected_kernel(Phi, M)
    if not ETA < sym.kernel_gd_threshold(K):
        raise NotApplicableError(f"eta = {ETA} is above this instance's kernel-GD threshold 2N/lambda_max(Kbar)")
    return K


def _kz_predict(ctx):
    problem, Phi = headline_problem(ctx)
    y, f0 = problem.y.cpu().numpy(), Phi @ problem.theta0.cpu().numpy()
    return loss_curve(_kz_kernel(ctx, Phi), y, f0, record_steps(ctx))


def _kz_simulate(ctx):
    problem, Phi = headline_problem(ctx)
    _kz_kernel(ctx, Phi)  # the same applicability check as the prediction
    y, f0 = problem.y.cpu().numpy(), Phi @ problem.theta0.cpu().numpy()
    steps, G, gen = record_steps(ctx), JACKKNIFE_GROUPS, ctx.mc_generator()
    rows = []
    for _ in range(ctx.num_samples):
        parts = (
            estimate_shared_nzk(problem.Phi, law=ctx.law, num_samples=ctx["kernel_samples"], generator=gen, groups=G)
            .cpu()
            .numpy()
            .astype(float)
        )
        full = parts.mean(axis=0)
        leave_out = [(G * full - parts[g]) / (G - 1) for g in range(G)]
        loo = np.mean([run_kernel_zo(K, y, f0, steps) for K in leave_out], axis=0)
        rows.append(G * run_kernel_zo(full, y, f0, steps) - (G - 1) * loo)  # jackknife: removes the 1/S bias
    return np.array(rows)


nzk_claim(
    "nzk.headline_kernel_zo",
    predict=_kz_predict,
    simulate=_kz_simulate,
    params={
        "iterations": ITERATIONS,
        "kernel_samples": Param(
            10000, "draws S in the Monte Carlo NZK (the paper: 10,000)", low=100, high=10**7, integer=True
        ),
    },
    laws=("gaussian",),
    num_samples=32,
    test=BatchMeans(num_batches=16),
    applies_to=_kz_applies,
    labels=lambda ctx: [f"L_t kernel ZO (MC NZK), t={t}" for t in record_steps(ctx)],
)


# -- the best-of-100 baseline, as intended and as run -----------------------------------------------
def _bo_applies(law):
    moments = law.scalar_moments() if isinstance(law, Gaussian) else None
    if moments is None or moments["mean"] != 0:
        return f"{law.spec}: the kept direction's law is derived for N(0, sigma^2 I) directions"
    return None


def _bo_predict(ctx):
    problem, Phi = headline_problem(ctx)
    y, theta0 = problem.y.cpu().numpy().astype(float), problem.theta0.cpu().numpy().astype(float)
    d = Phi.shape[1]
    sigma = float(ctx.law.std)
    a2, a4 = sb.max_normal_moments(ctx["candidates"], sigma=sigma)
    steps = record_steps(ctx)
    intended = best_of_intended_curve(Phi, y, theta0, steps, a2=a2, a4=a4, b=sigma**2)
    # as run: 711 copies on the line theta0 + a 1, H = h I_d, step eta / d; E||a - a*||^2 is geometric
    v, r0 = Phi.sum(axis=1), Phi @ theta0 - y
    a_star = -np.dot(v, r0) / np.dot(v, v)
    line_floor = 0.5 * np.mean((r0 + a_star * v) ** 2)
    h = float(np.mean(v * v))
    rho = float(
        sb.isotropic_factor_expr().subs({sb.eta: ETA / d, sb.a2: a2, sb.a4: a4, sb.b: sigma**2, sb.h: h, sb.m: d})
    )
    broadcast = [line_floor + 0.5 * h * a_star**2 * rho**t for t in steps]  # (1/d) (h/2) d a*^2 rho^t
    return np.concatenate([intended, broadcast])


def _bo_simulate(ctx):
    problem, _ = headline_problem(ctx)
    gen = ctx.mc_generator()
    cols = [
        simulate_best_of_zo(
            problem,
            law=ctx.law,
            num_candidates=ctx["candidates"],
            eta=ETA,
            steps=ctx["iterations"],
            num_trajectories=ctx.num_samples,
            generator=gen,
            record=record_steps(ctx),
            eps=EPS,
            variant=v,
            sampler=ctx["sampler"],
            # each trajectory holds its K candidates' directions and outputs (about 0.6 MB): 64 a block keeps a
            # block near 40 MB (1,024 at once peaked at 0.99 GB); the default 32 fit in one block, as before
            block_size=64,
        )
        for v in ("intended", "broadcast")
    ]
    return np.concatenate([c.cpu().numpy() for c in cols], axis=1)


nzk_claim(
    "nzk.headline_best_of",
    predict=_bo_predict,
    simulate=_bo_simulate,
    params={
        "iterations": ITERATIONS,
        "candidates": Param(100, "directions K drawn per step (the paper: 100)", low=1, high=10**4, integer=True),
        "sampler": Param(
            "reduced",
            "'reduced' (the kept direction's exact law) or 'literal' (all K directions "
            "and real central differences; slow)",
            choices=SAMPLERS,
        ),
    },
    laws=("gaussian",),
    num_samples=32,
    test=BatchMeans(num_batches=16),
    applies_to=_bo_applies,
    labels=lambda ctx: [
        f"E L_t best-of-{ctx['candidates']} {v}, t={t}"
        for v in ("intended", "as run (broadcast)")
        for t in record_steps(ctx)
    ],
)
