# %% [markdown]
# # ZO eNTK experiments: the kernel error is set by P, not by the parameter count
#
# arXiv 2605.03373 (docs/entk.md, P2-3 .. P2-6).  Three experiments, each judged by a calibrated test:
#
# 1. **Dimension-freeness.** One-hidden-layer tanh MLPs on scikit-learn digits with V = 10
#    outputs and parameter counts from 10^3 to 10^6 (quick mode: up to ~3e4).  For one input
#    pair, the relative error ||K_hat - K||_F/||K||_F of the ZO eNTK (forward-mode JVPs, P
#    Gaussian directions regenerated chunk by chunk) is measured over replicates.  A log-log
#    slope test (:class:`zoverify.verify.slope.LogLogSlope`) gives the exponent of the RMS
#    relative error in d (predicted: the slope of the exact formula over the same models, ~0)
#    and in P (predicted -1/2), with confidence intervals.
# 2. **JL violations.** At the JL count P(eps, delta, n = 3V), the entrywise and Frobenius bounds
#    are checked over many draws; violations are counted against delta.
# 3. **Similarity.** A small CNN trained briefly on digits; relative error for the pairs (4, 9)
#    and (0, 1) against the exact prediction (1 + ||A||^2||B||^2/||AB^T||^2)/P.

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

from zoverify._rng import make_generator, spawn_seeds  # noqa: E402
from zoverify.figures import figure_dir, quick  # noqa: E402
from zoverify.numeric import entk as N  # noqa: E402
from zoverify.numeric.data import load_digits_images  # noqa: E402
from zoverify.perturbations import parse_law  # noqa: E402
from zoverify.symbolic import entk as E  # noqa: E402
from zoverify.verify.slope import LogLogSlope, QuantileBound  # noqa: E402

QUICK = quick()
FIG = figure_dir()
torch.set_num_threads(2)
X, y = load_digits_images()
seeds = spawn_seeds(20260505, 8)
gaussian = parse_law("gaussian")


def mlp(width: int, seed: int) -> torch.nn.Module:
    gen = make_generator(seed)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, width), torch.nn.Tanh(), torch.nn.Linear(width, 10)
    ).to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.ndim > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / np.sqrt(fan_in))
    return model


def relative_sq_errors(model, xo, xu, *, P: int, reps: int, seed: int) -> np.ndarray:
    """Squared relative Frobenius errors of `reps` independent ZO eNTKs (JVP route)."""
    K = N.empirical_ntk(model, xo, xu, method="ntk_vp")[0, 0]
    gen = make_generator(seed)
    out = []
    for _ in range(reps):
        Kz = N.zo_entk(model, xo, xu, law=gaussian, num_directions=P, generator=gen, chunk_size=16)[0, 0]
        out.append(float(((Kz - K) ** 2).sum() / (K**2).sum()))
    return np.array(out)


xo, xu = X[y == 4][:1], X[y == 9][:1]

# %% [markdown]
# ## 1. Relative kernel error vs parameter count and vs P

# %%
widths = [13, 40, 133] if QUICK else [13, 133, 1333, 13333]
P_fixed, reps = 8, (16 if QUICK else 32)
batches = 8
rows, y_d, pred_d, dims = [], [], [], []
t0 = time.perf_counter()
for k, w in enumerate(widths):
    model = mlp(w, seeds[0] + k)
    d = N.num_parameters(N.parameters_of(model))
    jo, ju = N.jacobian(model, xo), N.jacobian(model, xu)
    A, B = jo[0].numpy(), ju[0].numpy()
    pred = E.frobenius_error_value(gaussian, A, B, P=P_fixed) / float(((A @ B.T) ** 2).sum())
    errs = relative_sq_errors(model, xo, xu, P=P_fixed, reps=reps, seed=seeds[1] + k)
    dims.append(d)
    y_d.append(errs)
    pred_d.append(pred)
    rows.append((w, d, np.sqrt(pred), np.sqrt(errs.mean())))
    print(
        f"width {w:6d}  d = {d:8d}  predicted RMS rel. error {np.sqrt(pred):.4f}  measured {np.sqrt(errs.mean()):.4f}"
    )
print(f"width sweep: {time.perf_counter() - t0:.1f} s")

# %%
P_grid = [4, 16, 64] if QUICK else [4, 16, 64, 256]
model = mlp(widths[0] if QUICK else widths[1], seeds[0] + 1)
A, B = N.jacobian(model, xo)[0].numpy(), N.jacobian(model, xu)[0].numpy()
y_p = [relative_sq_errors(model, xo, xu, P=p, reps=reps, seed=seeds[2] + i) for i, p in enumerate(P_grid)]
pred_p = [E.frobenius_error_value(gaussian, A, B, P=p) / float(((A @ B.T) ** 2).sum()) for p in P_grid]

slope = LogLogSlope(num_batches=batches, exponent_of_root=True)
summary = slope.summarize([(np.array(dims, float), np.stack(y_d)), (np.array(P_grid, float), np.stack(y_p))])


def lsq_half_slope(x, v):
    lx = np.log(x) - np.mean(np.log(x))
    return 0.5 * float(lx @ np.log(v) / (lx @ lx))


predicted = np.array([lsq_half_slope(dims, pred_d), lsq_half_slope(P_grid, pred_p)])
decision = summary.decide(predicted, alpha=1e-3)
tcrit = stats.t(summary.df).isf(0.025)
for name, est, se, pr in zip(["d", "P"], summary.estimate, summary.stderr, predicted, strict=True):
    print(
        f"exponent in {name}: {est:+.4f}  95% CI [{est - tcrit * se:+.4f}, {est + tcrit * se:+.4f}]  "
        f"predicted {pr:+.4f}"
    )
print("slope test at alpha = 1e-3:", "pass" if decision.passed else "FAIL")
assert decision.passed

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
rms_d = [np.sqrt(v.mean()) for v in y_d]
axes[0].loglog(dims, rms_d, "o", label="measured (JVP ZO eNTK)")
axes[0].loglog(dims, np.sqrt(pred_d), "-", label="exact formula")
axes[0].set(
    xlabel="parameter count d",
    ylabel=f"RMS relative error, P = {P_fixed}",
    title=f"exponent in d: {summary.estimate[0]:+.3f} ± {tcrit * summary.stderr[0]:.3f}",
)
axes[0].set_ylim(0.5 * min(rms_d), 2 * max(rms_d))  # a factor-4 window, so a flat line looks flat
axes[0].legend()
axes[1].loglog(P_grid, [np.sqrt(v.mean()) for v in y_p], "o", label="measured")
axes[1].loglog(P_grid, np.sqrt(pred_p), "-", label="exact formula ∝ P^-1/2")
axes[1].set(
    xlabel="perturbations P",
    ylabel="RMS relative error",
    title=f"exponent in P: {summary.estimate[1]:+.3f} ± {tcrit * summary.stderr[1]:.3f}",
)
axes[1].legend()
fig.tight_layout()
fig.savefig(FIG / "entk_dimension_free.png", dpi=110)

# %% [markdown]
# ## 2. JL bounds: violations over many draws against delta

# %%
eps, delta, V = 0.3, 0.1, 10
P_jl = E.jl_required_perturbations(eps, delta, E.jl_points_for_kernel(V))
draws = 25 if QUICK else 400
jl_model = mlp(widths[0] if QUICK else widths[1], seeds[3])
jo, ju = N.jacobian(jl_model, xo), N.jacobian(jl_model, xu)
A, B = jo[0].numpy(), ju[0].numpy()
K = A @ B.T
na, nb = (A**2).sum(1), (B**2).sum(1)
jl_results = {}
for spec in ("gaussian", "rademacher"):
    law = parse_law(spec)
    gen = make_generator(seeds[4])
    eff = []
    for _ in range(draws):
        dK = N.zo_entk_jacobian_chunks(jo, ju, law=law, num_directions=P_jl, generator=gen, chunk_size=128)
        dK = dK[0, 0].numpy() - K
        e_entry = float(np.max(2 * np.abs(dK) / (na[:, None] + nb[None, :])))
        e_frob = float(np.sqrt(2 * (dK**2).sum() / (V * (na.sum() + nb.sum()) ** 2)))
        eff.append((e_entry, e_frob))
    eff = np.array(eff)
    bound = QuantileBound(delta).summarize(1 / eff)
    dec = bound.decide([1 / eps, 1 / eps], alpha=1e-3)
    counts = bound.violations([1 / eps, 1 / eps])
    jl_results[spec] = (eff, counts)
    print(
        f"{spec:10s} P = {P_jl}, d = {A.shape[1]}: violations entrywise {counts[0]}/{draws}, Frobenius "
        f"{counts[1]}/{draws} (allowed rate delta = {delta}); (1-delta)-quantile of eps_eff: "
        f"{np.quantile(eff[:, 0], 1 - delta):.3f} (entry), {np.quantile(eff[:, 1], 1 - delta):.3f} (Frobenius) "
        f"vs eps = {eps}; binomial test {'pass' if dec.passed else 'FAIL'}"
    )
    assert dec.passed

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for spec, (eff, _) in jl_results.items():
    ax.hist(eff[:, 0], bins=30, alpha=0.5, label=f"{spec}: entrywise eps_eff")
    ax.hist(eff[:, 1], bins=30, alpha=0.5, label=f"{spec}: Frobenius eps_eff")
ax.axvline(eps, color="k", ls="--", label=f"eps = {eps} (bound)")
ax.set(
    xlabel="smallest eps satisfying the bound in the draw",
    ylabel="draws",
    title=f"JL at P = {P_jl} (V = {V}, delta = {delta})",
)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIG / "entk_jl_violations.png", dpi=110)

# %% [markdown]
# ## 3. The similarity effect on digits: pairs (4, 9) vs (0, 1), small CNN


# %%
def small_cnn(seed: int) -> torch.nn.Module:
    gen = make_generator(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(4 * 36, 10)
    ).to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.ndim > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / np.sqrt(fan_in))
    return model


cnn = small_cnn(seeds[5])
opt = torch.optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
shuffle = make_generator(seeds[6])
for _epoch in range(2 if QUICK else 15):
    order = torch.randperm(X.shape[0], generator=shuffle)
    for i in range(0, X.shape[0], 64):
        idx = order[i : i + 64]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(cnn(X[idx]), y[idx]).backward()
        opt.step()
accuracy = float((cnn(X).argmax(1) == y).double().mean())
print(f"CNN: d = {N.num_parameters(N.parameters_of(cnn))}, training accuracy {accuracy:.3f}")

num_pairs = 3 if QUICK else 12
P_sim = [5, 25, 125]
sim = {}
for pair in ((4, 9), (0, 1)):
    xa, xb = X[y == pair[0]][:num_pairs], X[y == pair[1]][:num_pairs]
    ja, jb = N.jacobian(cnn, xa), N.jacobian(cnn, xb)
    preds, meas, align = [], [], []
    gen = make_generator(seeds[7])
    for i in range(num_pairs):
        A, B = ja[i].numpy(), jb[i].numpy()
        KF = float(((A @ B.T) ** 2).sum())
        align.append(np.sqrt(KF / ((A**2).sum() * (B**2).sum())))
        preds.append([E.frobenius_error_value(gaussian, A, B, P=p) / KF for p in P_sim])
        m = []
        for p in P_sim:
            dK = (
                N.zo_entk_jacobian_chunks(
                    ja[i : i + 1], jb[i : i + 1], law=gaussian, num_directions=p, generator=gen, chunk_size=125
                )[0, 0].numpy()
                - A @ B.T
            )
            m.append(float((dK**2).sum()) / KF)
        meas.append(m)
    sim[pair] = (np.array(align), np.sqrt(np.mean(preds, axis=0)), np.sqrt(np.mean(meas, axis=0)))
    print(
        f"pair {pair}: Jacobian alignment ||AB^T||/(||A|| ||B||) = {np.mean(align):.3f}; RMS rel. error at "
        f"P = {P_sim}: predicted {np.round(sim[pair][1], 3)}, measured {np.round(sim[pair][2], 3)}"
    )

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for pair, (align, pred, meas) in sim.items():
    ax.loglog(P_sim, pred, "-", label=f"{pair} predicted (alignment {align.mean():.2f})")
    ax.loglog(P_sim, meas, "o")
ax.set(xlabel="P", ylabel="RMS relative kernel error", title="similarity effect: less aligned pairs err more")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIG / "entk_similarity.png", dpi=110)
