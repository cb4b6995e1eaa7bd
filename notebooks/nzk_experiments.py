# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # NZK experiments, small and real
#
# The paper's experiments (arXiv 2603.21169, Section 4; docs/nzk.md#experiments) at toolkit scale, with the closed-form mean (P1-6) drawn over the
# Monte Carlo (MC) mean of batched ZO trajectories.  Run with `python notebooks/nzk_experiments.py`; figures go to
# `zoverify.figures.figure_dir()`.  `ZOVERIFY_QUICK=1` shrinks every run (CI).
#
# Curves: "loss of the mean" is $\frac1{2N}\|\mathbb E f_t-y\|^2$, which the closed form predicts exactly; the band is
# the 10-90 % range of the per-trajectory loss (individual runs are random; only the mean follows the closed form).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from zoverify._rng import make_generator, make_numpy_generator
from zoverify.figures import figure_dir, quick
from zoverify.numeric.best_of import LinearizedProblem, simulate_best_of_zo
from zoverify.numeric.data import load_digits_binary
from zoverify.numeric.linearize import jacobian_features, make_mlp, network_output
from zoverify.numeric.nzk_estimate import estimate_shared_nzk
from zoverify.numeric.zo_training import simulate_zo_training
from zoverify.perturbations import parse_law
from zoverify.symbolic import best_of, nzk

QUICK = quick()
OUT = figure_dir()
torch.set_num_threads(2)


def arc_problem(dim, n=100, *, seed=0, noise=0.02):
    """The paper's linear setup: rand(N, d) rows normalised, theta_gt in {1..9}^d, theta_0 ~ N(0, 1)."""
    rng = make_numpy_generator(seed)
    X = rng.uniform(0, 1, (n, dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    theta_gt = rng.integers(1, 10, dim).astype(float)
    y = X @ theta_gt + noise * rng.standard_normal(n)
    return X, y, rng.standard_normal(dim)


def loss(r):
    return 0.5 * (r**2).mean(-1)


def closed_form_losses(K, y, f0, eta, record):
    return loss(nzk.mean_function_curve(K, y, f0, eta=eta, steps=record) - y[None, :])


def mc_run(X, y, theta0, *, law, method, eta, steps, record, n_traj, seed, zeta_law=None):
    tr = simulate_zo_training(
        torch.as_tensor(X),
        torch.as_tensor(X @ theta0 - y),
        law=law,
        zeta_law=zeta_law,
        method=method,
        eta=eta,
        steps=steps,
        num_trajectories=n_traj,
        generator=make_generator(seed),
        eps=1e-3,
        record=record,
    )
    r = tr.residuals.numpy()
    per_traj = loss(r)
    return loss(r.mean(0)), np.quantile(per_traj, 0.1, axis=0), np.quantile(per_traj, 0.9, axis=0)


def record_steps(steps, points=60):
    return tuple(sorted({0, *np.unique(np.geomspace(1, steps, points).astype(int)).tolist()}))


# %% [markdown]
# ## Figure 1: FO vs ZO with independent vs shared directions (d = 2, N = 100, eta = 1e-3)
# Expected kernels: FO $XX^\top$; independent $\mathcal N(0,I)$ pairs $\mathbb E[\zeta\zeta^\top]\mathbb E[zz^\top]=I$, i.e. the NTK itself;
# shared pairs $(d+2)XX^\top=4XX^\top$.

# %%
STEPS = 300 if QUICK else 16000
N_TRAJ = 16 if QUICK else 256
ETA = 1e-3
X, y, th0 = arc_problem(2)
rec = record_steps(STEPS)
f0 = X @ th0
t0 = time.perf_counter()
fig, ax = plt.subplots(figsize=(6.4, 4.2))
fo = closed_form_losses(X @ X.T, y, f0, ETA, rec)
ax.plot(rec, fo, "k-", lw=2, label="FO (NTK), exact")
for method, color in (("independent", "tab:blue"), ("shared", "tab:red")):
    K = nzk.expected_kernel(X, nzk.nzk_middle_matrix(parse_law("gaussian"), pairing=method, d=2))
    mean_loss, lo, hi = mc_run(
        X, y, th0, law="gaussian", method=method, eta=ETA, steps=STEPS, record=rec, n_traj=N_TRAJ, seed=1
    )
    ax.fill_between(rec, lo, hi, color=color, alpha=0.2, lw=0)
    ax.plot(rec, mean_loss, "o", ms=3, color=color, label=f"ZO {method}: loss of MC mean ({N_TRAJ} runs)")
    ax.plot(rec, closed_form_losses(K, y, f0, ETA, rec), "-", color=color, label=f"ZO {method}: closed form")
ax.set(xscale="log", yscale="log", xlabel="iteration", ylabel="training loss", title="Linear model, d = 2, N = 100")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "nzk_fig1_linear.png", dpi=150)
print(f"figure 1: {time.perf_counter() - t0:.1f} s")

# %% [markdown]
# ## Distribution experiment (shared directions, d = 2)
# The shared kernel is $(m_4+(d-1)\sigma^4)XX^\top$: Gaussian 4, Student-$t_{10}$ 7.81, Laplace(0.605) 3.75 and
# Laplace($7^{-1/4}$) exactly 4.  The paper's "almost identical" Gaussian/Laplace curves are 6 % apart in kernel.

# %%
LAWS = {
    "gaussian": "tab:red",
    "laplace(b=0.605)": "tab:green",
    f"laplace(b={float(7**-0.25):.10f})": "tab:olive",
    "student_t(nu=10)": "tab:purple",
}
t0 = time.perf_counter()
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for i, (law, color) in enumerate(LAWS.items()):
    c = float(nzk.kernel_factor(parse_law(law), d=2))
    mean_loss, lo, hi = mc_run(
        X, y, th0, law=law, method="shared", eta=ETA, steps=STEPS, record=rec, n_traj=N_TRAJ, seed=10 + i
    )
    ax.plot(rec, mean_loss, "o", ms=2.5, color=color)
    ax.plot(rec, closed_form_losses(c * X @ X.T, y, f0, ETA, rec), "-", color=color, label=f"{law}: factor {c:.3f}")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="iteration",
    ylabel="loss of the mean",
    title="Shared directions: the kernel depends on m4 + (d-1) sigma^4",
)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "nzk_distributions.png", dpi=150)
print(f"distributions: {time.perf_counter() - t0:.1f} s")

# %% [markdown]
# ## Dimension experiment (shared Gaussian, d = 10 .. 50)
# The kernel is $(d+2)XX^\top$, so larger $d$ converges faster at a fixed $\eta$.

# %%
t0 = time.perf_counter()
DIMS = (10, 50) if QUICK else (10, 20, 30, 40, 50)
steps_d = 200 if QUICK else 4000
rec_d = record_steps(steps_d, 40)
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for i, dim in enumerate(DIMS):
    Xd, yd, thd = arc_problem(dim, seed=dim)
    color = plt.cm.viridis(i / max(1, len(DIMS) - 1))
    mean_loss, lo, hi = mc_run(
        Xd,
        yd,
        thd,
        law="gaussian",
        method="shared",
        eta=ETA,
        steps=steps_d,
        record=rec_d,
        n_traj=N_TRAJ // 2,
        seed=100 + dim,
    )
    ax.plot(rec_d, mean_loss, "o", ms=2.5, color=color)
    ax.plot(
        rec_d,
        closed_form_losses((dim + 2) * Xd @ Xd.T, yd, Xd @ thd, ETA, rec_d),
        "-",
        color=color,
        label=f"d = {dim} (kernel x{dim + 2})",
    )
ax.set(
    xscale="log", yscale="log", xlabel="iteration", ylabel="loss of the mean", title="Shared Gaussian ZO vs dimension"
)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "nzk_dimension.png", dpi=150)
print(f"dimension: {time.perf_counter() - t0:.1f} s")

# %% [markdown]
# ## Digits 3 vs 5, FFN 64→10→5→1 linearized (711 parameters)
# Kernel-gradient ZO with shared $\mathcal N(0,I)$ directions has $\bar K=713\,\Phi\Phi^\top$ (P1-9), i.e. exactly the
# FO recursion with the step $713\eta$.  The step-size-matched panel asks whether the "acceleration" is more than a
# rescaled learning rate: FO at $713\eta$, plain ZO-GD at $713\eta$ and shared ZO at $\eta$.
# The parametric baseline here is plain ZO-GD (one Gaussian direction per step), not the paper's best-of-100 variant.

# %%
t0 = time.perf_counter()
Xi, yi = load_digits_binary((3, 5), per_class=100)
model, theta0 = make_mlp((64, 10, 5, 1), generator=make_generator(1))
Phi = jacobian_features(model, theta0, Xi).detach()
f0_net = network_output(model, theta0, Xi).detach()
P = Phi.shape[1]
c713 = float(nzk.kernel_factor(parse_law("gaussian"), d=P))
NTK = (Phi @ Phi.T).numpy()
steps_i = 200 if QUICK else 14000
rec_i = record_steps(steps_i, 50)
n_i = 4 if QUICK else 64
r0 = (f0_net - yi).numpy()
Phin, yn, f0n = Phi.numpy(), yi.numpy(), f0_net.numpy()
eta_star = nzk.kernel_gd_threshold(c713 * NTK)
print(f"parameters {P}, NZK/NTK factor {c713:.0f}, kernel-GD threshold {eta_star:.4g} (eta = {ETA})")


# Mean-square (single-run) stability is stricter than the mean's: shared ZO is ZO-GD with step ~ (d+2) eta, and
# ZO-GD on the quadratic with Hessian H = Phi^T Phi / N is mean-square stable only below ~2/(tr H + 2 lambda_max(H))
# (arXiv 2604.14669, Eq. 17; docs/stability.md#bounds).  eta_ms is half of that bound, mapped back through the factor d + 2.
H_eigs = np.linalg.eigvalsh(Phin.T @ Phin / Phin.shape[0])
eta_ms = 0.5 * 2 / (c713 * (H_eigs.sum() + 2 * H_eigs.max()))
print(
    f"tr H = {H_eigs.sum():.4g}, lambda_max(H) = {H_eigs.max():.4g}: shared-ZO step with single-run stability ~ {eta_ms:.3g}"
)


def lin_mc(method, eta, seed):
    tr = simulate_zo_training(
        Phi,
        f0_net - yi,
        law="gaussian",
        method=method,
        eta=eta,
        steps=steps_i,
        num_trajectories=n_i,
        generator=make_generator(seed),
        eps=1e-3,
        record=rec_i,
    )
    r = tr.residuals.numpy()
    return loss(r.mean(0)), np.quantile(loss(r), 0.1, axis=0), np.quantile(loss(r), 0.9, axis=0)


curves = {
    "FO (NTK), eta": closed_form_losses(NTK, yn, f0n, ETA, rec_i),
    "kernel-gradient ZO shared, eta (closed form)": closed_form_losses(c713 * NTK, yn, f0n, ETA, rec_i),
    f"FO, matched step {c713:.0f} eta": closed_form_losses(NTK, yn, f0n, c713 * ETA, rec_i),
}
mc = {
    "shared ZO (NZK), eta": lin_mc("shared", ETA, 7),
    "plain ZO-GD, eta": lin_mc("zo_gd", ETA, 8),
    f"plain ZO-GD, matched step {c713:.0f} eta": lin_mc("zo_gd", c713 * ETA, 9),
    f"shared ZO, stable step {eta_ms:.2g}": lin_mc("shared", eta_ms, 10),
}
curves[f"FO, step {c713:.0f} x {eta_ms:.2g}"] = closed_form_losses(NTK, yn, f0n, c713 * eta_ms, rec_i)
eta_fo = 0.5 * nzk.kernel_gd_threshold(NTK)  # FO's own stability limit is 2 N / lambda_max(Phi Phi^T)
curves["FO at half its own threshold"] = closed_form_losses(NTK, yn, f0n, eta_fo, rec_i)
CAP = 10 * float(loss(r0))  # diverged runs are drawn at the cap


def capped(v):
    v = np.asarray(v, float)
    return np.where(np.isfinite(v) & (v < CAP), v, CAP)


fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
ax = axes[0]
ax.plot(rec_i, curves["FO (NTK), eta"], "k-", lw=2, label="FO (NTK), eta")
ax.plot(
    rec_i, curves["kernel-gradient ZO shared, eta (closed form)"], "r-", label="kernel-gradient ZO shared (closed form)"
)
for (name, (m, lo, hi)), color in zip(list(mc.items())[:2], ("tab:red", "tab:gray"), strict=True):
    ax.fill_between(rec_i, capped(lo), capped(hi), color=color, alpha=0.2, lw=0)
    ax.plot(rec_i, capped(m), "o", ms=2.5, color=color, label=name + f" (MC mean of {n_i}; capped = diverged)")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="iteration",
    ylabel="training loss",
    title="Digits 3 vs 5, linearized FFN, eta=1e-3",
)
ax.legend(fontsize=7)
ax = axes[1]
ax.plot(rec_i, curves[f"FO, matched step {c713:.0f} eta"], "k--", lw=2, label=f"FO, step {c713:.0f} eta")
ax.plot(
    rec_i, curves["kernel-gradient ZO shared, eta (closed form)"], "r-", lw=1, label="kernel-gradient ZO shared, eta"
)
for (name, (m, lo, hi)), color in zip([list(mc.items())[0], list(mc.items())[2]], ("tab:red", "tab:blue"), strict=True):
    ax.fill_between(rec_i, capped(lo), capped(hi), color=color, alpha=0.15, lw=0)
    ax.plot(rec_i, capped(m), "o", ms=2.5, color=color, label=name)
ax.set(xscale="log", xlabel="iteration", title="Matched step: a rescaled learning rate")
ax.legend(fontsize=7)
ax = axes[2]
ax.plot(rec_i, curves["FO (NTK), eta"], "k-", lw=2, label="FO (NTK), eta = 1e-3")
ax.plot(rec_i, curves[f"FO, step {c713:.0f} x {eta_ms:.2g}"], "k:", lw=2, label=f"FO, step {c713:.0f} x {eta_ms:.2g}")
ax.plot(
    rec_i, curves["FO at half its own threshold"], "b-", lw=2, label=f"FO at half its threshold, eta = {eta_fo:.2g}"
)
m, lo, hi = mc[f"shared ZO, stable step {eta_ms:.2g}"]
ax.fill_between(rec_i, capped(lo), capped(hi), color="tab:green", alpha=0.2, lw=0)
ax.plot(rec_i, capped(m), "o", ms=2.5, color="tab:green", label=f"shared ZO at eta = {eta_ms:.2g} (single runs stable)")
ax.set(xscale="log", xlabel="iteration", title="Single-run-stable shared ZO vs FO")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "nzk_digits_linearized.png", dpi=150)
at = rec_i.index(min(rec_i, key=lambda s: abs(s - (14000 if not QUICK else steps_i))))
summary = {k: float(v[at]) for k, v in curves.items()} | {k + " (MC)": float(v[0][at]) for k, v in mc.items()}
print(f"losses at iteration {rec_i[at]} (initial {loss(r0):.4f}):")
for k, v in summary.items():
    print(f"  {k:48s} {v:.4f}")
gap = np.max(
    np.abs(curves[f"FO, matched step {c713:.0f} eta"] - curves["kernel-gradient ZO shared, eta (closed form)"])
)
print(f"max |FO(713 eta) - kernel ZO(eta)| over the curve: {gap:.2e}")
assert gap < 1e-9 * max(1.0, float(loss(r0)))  # the same recursion: they coincide up to rounding
print(f"digits: {time.perf_counter() - t0:.1f} s")

# %% [markdown]
# ## P1-10: the headline numbers, and the "standard ZO" baseline as the paper runs it
# The paper (MNIST 3 vs 5 resized to 8×8, iteration 14,000): FO 0.1097, kernel-gradient ZO 0.0175, best-of-100
# parametric ZO 0.2487, from 0.2965.  Here the same network and step on digits, with the paper's conventions
# f = Φθ and loss ½·mean; function-space steps use η/N with N = 200 (the paper's code divides by its per-class 100).
#
# * Kernel-gradient ZO uses one Monte Carlo NZK from 10,000 shared draws, as the paper; its exact counterpart uses
#   K̄ = 713 ΦΦᵀ.
# * The best-of-100 baseline keeps, each step, the direction with the largest loss difference.  As intended its
#   mean step is GD's at E[max²] ≈ 6.47 times the step size (symbolic/best_of.py).  **As the paper's notebook runs it**,
#   θ has shape (711, 1) and z (1, 711), so θ + εz broadcasts to a 711×711 matrix: 711 copies that each move only
#   along the all-ones direction, and the loss decays geometrically to min_a L(θ₀ + a·1).
# * Right panel: the paper's own printed losses (every 2,000 iterations).  The best-of-100 curve is consistent with
#   one exponential to a floor, as the as-run model predicts (a fit cannot single it out: other slow curves fit too).
#   What does single it out is that it is slower than FO at all: as intended, the baseline's mean step is GD's at
#   ≈6.5× the step size, faster than FO on every instance here.

# %%
t0 = time.perf_counter()
theta_p = theta0.detach()
problem = LinearizedProblem(Phi, yi, theta_p)
f0p = (Phi @ theta_p).numpy()
steps_h = 1400 if QUICK else 14000
rec_h = record_steps(steps_h, 40)
n_h = 4 if QUICK else 32
K_hat = estimate_shared_nzk(Phi, law="gaussian", num_samples=10_000, generator=make_generator(20)).mean(0).numpy()
curves_h = {
    "FO (NTK)": closed_form_losses(NTK, yn, f0p, ETA, rec_h),
    "kernel ZO, exact NZK 713 ΦΦᵀ": closed_form_losses(c713 * NTK, yn, f0p, ETA, rec_h),
    "kernel ZO, MC NZK (10,000 draws, as the paper)": closed_form_losses(K_hat, yn, f0p, ETA, rec_h),
}
a2, a4 = best_of.max_normal_moments(100)
lam_h, e0_h, floor_h = (v.numpy() if hasattr(v, "numpy") else v for v in problem.eigen())
exact_bo = {"intended": floor_h + best_of.excess_loss_curve(lam_h, e0_h**2, step=ETA, a2=a2, a4=a4, b=1.0, steps=rec_h)}
alpha_l, beta_l, h_l = problem.line()
rho = float(
    best_of.isotropic_factor_expr().subs(
        {best_of.eta: ETA / P, best_of.h: h_l, best_of.m: P, best_of.a2: a2, best_of.a4: a4, best_of.b: 1}
    )
)
exact_bo["broadcast"] = alpha_l - beta_l**2 / (2 * h_l) + beta_l**2 / (2 * h_l) * rho ** np.asarray(rec_h, float)
mc_bo = {
    v: simulate_best_of_zo(
        problem,
        eta=ETA,
        steps=steps_h,
        num_trajectories=n_h,
        generator=make_generator(21),
        record=rec_h,
        variant=v,
        sampler="reduced",
    ).numpy()
    for v in ("intended", "broadcast")
}

paper_t = np.arange(0, 14001, 2000)
paper = {  # the notebook's printed losses (docs/nzk.md#headline-on-digits; chen2hang/NZK FFN_ZOGD_NTK_mnist.ipynb)
    "FO": [0.29654, 0.12456, 0.12176, 0.11911, 0.11658, 0.11417, 0.11188, 0.10969],
    "kernel-gradient ZO": [0.29654, 0.03212, 0.02603, 0.02302, 0.02104, 0.01958, 0.01843, 0.01749],
    "best-of-100 ZO": [0.29654, 0.28863, 0.28110, 0.27390, 0.26711, 0.26065, 0.25455, 0.24870],
}


def one_exponential(t, values):
    """Least squares of v_t = c + b exp(-k t) (k on a grid, c and b linear)."""
    best = None
    for k in np.geomspace(1e-7, 1e-2, 4001):
        A = np.stack([np.ones_like(t, dtype=float), np.exp(-k * t)], axis=1)
        coef, *_ = np.linalg.lstsq(A, values, rcond=None)
        err = np.abs(A @ coef - values).max()
        if best is None or err < best[0]:
            best = (err, k, coef)
    return best


fits = {name: one_exponential(paper_t.astype(float), np.asarray(v)) for name, v in paper.items()}

fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
ax = axes[0]
styles = {
    "FO (NTK)": "k-",
    "kernel ZO, exact NZK 713 ΦΦᵀ": "r-",
    "kernel ZO, MC NZK (10,000 draws, as the paper)": "m--",
}
for name, c in curves_h.items():
    ax.plot(rec_h, c, styles[name], lw=1.8, label=name)
for v, color, label in (
    ("intended", "tab:blue", "best-of-100 ZO as intended"),
    ("broadcast", "tab:orange", "best-of-100 ZO as run (broadcast)"),
):
    ax.fill_between(rec_h, *np.quantile(mc_bo[v], [0.1, 0.9], axis=0), color=color, alpha=0.2, lw=0)
    ax.plot(rec_h, mc_bo[v].mean(0), "o", ms=2.5, color=color, label=f"{label}: MC mean of {n_h}")
    ax.plot(rec_h, exact_bo[v], "-", lw=1, color=color, label=f"{label}: exact E L_t")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="iteration",
    ylabel="training loss",
    title="Digits 3 vs 5, linearized FFN 64-10-5-1, eta = 1e-3",
)
ax.legend(fontsize=7)
ax = axes[1]
tt = np.linspace(0, 14000, 200)
for (name, v), color in zip(paper.items(), ("k", "r", "tab:orange"), strict=True):
    err, k, (c, b) = fits[name]
    ax.plot(paper_t, v, "o", color=color, label=f"paper, {name}")
    ax.plot(
        tt, c + b * np.exp(-k * tt), ":", color=color, lw=1, label=f"one exponential to a floor: max error {err:.1e}"
    )
ax.set(yscale="log", xlabel="iteration", ylabel="training loss", title="The paper's printed MNIST losses")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "nzk_headline.png", dpi=150)

at_h = len(rec_h) - 1
print(f"losses at iteration {rec_h[at_h]} on digits (initial {loss(f0p - yn):.4f}); the paper's MNIST at 14,000:")
ours = {
    "FO": curves_h["FO (NTK)"][at_h],
    "kernel-gradient ZO (MC NZK)": curves_h["kernel ZO, MC NZK (10,000 draws, as the paper)"][at_h],
    "best-of-100 as intended": mc_bo["intended"][:, at_h].mean(),
    "best-of-100 as run": mc_bo["broadcast"][:, at_h].mean(),
}
for name, value in ours.items():
    print(f"  {name:30s} {value:.4f}")
print("  paper:", {k: v[-1] for k, v in paper.items()})
for name, (err, k, (c, _)) in fits.items():
    print(f"  paper {name}: one exponential to a floor {c:.4f}, rate {k:.3g}/iteration, max error {err:.2g}")
assert (
    fits["best-of-100 ZO"][0] < 1e-4 < fits["FO"][0]
)  # consistent with the as-run model; FO's curve is not one exponential
assert ours["kernel-gradient ZO (MC NZK)"] < ours["best-of-100 as intended"] < ours["FO"] < ours["best-of-100 as run"]
# the paper's MC kernel biases L_t up by O(1/S); a delete-a-group jackknife removes the 1/S term
reps = 2 if QUICK else 24
raw, jack = [], []
for s in range(reps):
    parts = estimate_shared_nzk(
        Phi, law="gaussian", num_samples=10_000, generator=make_generator(100 + s), groups=4
    ).numpy()
    full = parts.mean(0)
    raw.append(closed_form_losses(full, yn, f0p, ETA, [steps_h])[0])
    loo = np.mean([closed_form_losses((4 * full - p_) / 3, yn, f0p, ETA, [steps_h])[0] for p_ in parts])
    jack.append(4 * raw[-1] - 3 * loo)
exact_k = curves_h["kernel ZO, exact NZK 713 ΦΦᵀ"][at_h]
for name, v in (("raw MC kernel", raw), ("jackknifed", jack)):
    v = np.asarray(v)
    print(
        f"  L_{steps_h} with the {name}: {v.mean():.6f} +- {v.std(ddof=1) / np.sqrt(v.size):.6f} "
        f"(exact NZK: {exact_k:.6f}, relative bias {(v.mean() / exact_k - 1):+.2%})"
    )
print(f"headline: {time.perf_counter() - t0:.1f} s")

# %% [markdown]
# ## Engine throughput (CPU)
# Trajectory-steps per second of the batched engine (float64, central differences, shared pairs).

# %%
for dim, batch in ((2, 1024 if QUICK else 8192), (1000, 128 if QUICK else 2048)):
    Xt, yt, tht = arc_problem(dim, seed=3)
    steps_b = 20
    t0 = time.perf_counter()
    simulate_zo_training(
        torch.as_tensor(Xt),
        torch.as_tensor(Xt @ tht - yt),
        law="gaussian",
        method="shared",
        eta=1e-6,
        steps=steps_b,
        num_trajectories=batch,
        generator=make_generator(0),
        eps=1e-3,
        block_size=batch,
    )
    el = time.perf_counter() - t0
    print(f"N = 100, d = {dim}: {batch * steps_b / el:.3g} trajectory-steps/s on {torch.get_num_threads()} threads")
