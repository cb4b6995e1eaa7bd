# %% [markdown]
# # The stable ZO step of a million-parameter network, and real training on either side of it
#
# The digits CNN of `zoverify/claims/stepsize/networks.py` (1,070,218 parameters, float32, 512 images,
# theta_0 after 8 full-batch Adam steps). `zoverify.stepsize` estimates, from Hessian-vector products, the
# mean-square eta* of each catalogue law (with its interval), the descent edge eta_d (docs/stepsize.md) and
# the first-order 2/lambda_max; then real ZO-SGD (Gaussian directions, central differences, mu = 1e-4)
# runs from theta_0 at 0.8 eta_d and 1.25 eta_d. The figure puts these steps beside the learning rates a
# user would have tried: the MeZO paper's grid, 1e-7 to 1e-5, and the first-order edge.

# %%
import json
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from zoverify import stepsize
from zoverify.claims.stepsize.networks import pretrained_digits_cnn
from zoverify.claims.stepsize.real_training import zo_sgd_losses
from zoverify.figures import figure_dir, quick
from zoverify.perturbations import parse_law

QUICK = quick()
torch.set_num_threads(2)
SIZE = {"channels": (2, 4), "hidden": 8} if QUICK else {}
LAWS = ["gaussian", "sphere", "rademacher", "sparse(p=0.25)"]
CHAINS = 2 if QUICK else 8
STEPS = 5 if QUICK else 100
SEED = 0

model, loss_fn, data = pretrained_digits_cnn(np.random.default_rng(SEED), **SIZE)
d = sum(p.numel() for p in model.parameters())
print(f"d = {d:,}, loss at theta_0 {float(loss_fn(model).detach()):.4f}")

# %%
start = time.perf_counter()
# the quadrature of eta* of H_+ does not resolve on this network at any affordable step count
# (docs/stepsize.md#limits-a-wide-bulk-around-zero), so 20 steps show its interval at a fraction of the cost
STEPS_LANCZOS = 5 if QUICK else 20
result = stepsize(
    model, loss_fn, laws=LAWS, queries=1, seed=SEED, lanczos_steps=STEPS_LANCZOS, max_lanczos_steps=STEPS_LANCZOS
)
print(f"{time.perf_counter() - start:.0f} s, {result.cost_in_forward_backward:.0f} forward-backward passes")
print(f"lambda_max {result.lambda_max:.4g}, tr H {result.trace:.4g}, tr H_+ (SLQ) {result.trace_positive_part:.4g}")
rows = []
for law in result.laws:
    rows.append(
        {
            "law": law.law,
            "eta_star": law.eta_star,
            "eta_star_interval": law.eta_star_interval,
            "route": law.route,
            "descent_edge": law.descent_edge,
            "descent_edge_interval": law.descent_edge_interval,
            "first_order": law.first_order,
            "note": law.note,
        }
    )
    print(rows[-1])

# %% [markdown]
# Real ZO-SGD from theta_0, `CHAINS` chains per step size, each with its own directions.

# %%
gaussian = next(r for r in rows if r["law"] == "gaussian")
eta_d = gaussian["descent_edge"]
theta0 = [p.detach().clone() for p in model.parameters()]
curves = {}
for factor in (0.8, 1.25):
    runs = []
    for chain in range(CHAINS):
        for p, p0 in zip(model.parameters(), theta0, strict=True):
            p.data = p0.clone()
        gen = torch.Generator().manual_seed(1000 * chain + int(100 * factor))
        runs.append(
            zo_sgd_losses(
                model, data, parse_law("gaussian"), eta=factor * eta_d, steps=STEPS, queries=1, batch=0, gen=gen
            )
        )
    curves[factor] = runs
    ends = [r[-1] for r in runs]
    print(factor, "L_T / L_0:", np.round(np.array(ends) / runs[0][0], 3))

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for factor, colour in ((0.8, "tab:blue"), (1.25, "tab:red")):
    for k, run in enumerate(curves[factor]):
        left.plot(np.array(run) / run[0], color=colour, alpha=0.6, label=f"{factor:g} x eta_d" if k == 0 else None)
left.axhline(1.0, color="grey", lw=0.8)
left.set_yscale("log")
left.set_xlabel("ZO-SGD step (Gaussian, q = 1, full batch)")
left.set_ylabel("L_t / L_0")
left.set_title(f"digits CNN, d = {d:,}")
left.legend()

names = [r["law"] for r in rows]
y = np.arange(len(rows))
for i, r in enumerate(rows):
    lo, hi = r["descent_edge_interval"]
    right.plot([lo, hi], [i, i], color="black", lw=4, solid_capstyle="butt")
    right.plot(r["descent_edge"], i, "o", color="black", label="descent edge eta_d" if i == 0 else None)
    elo, ehi = r["eta_star_interval"]
    if elo is not None and hi is not None:
        right.plot(
            [max(elo, 1e-9), ehi],
            [i + 0.2, i + 0.2],
            color="tab:green",
            lw=2,
            label="eta* interval" if i == 0 else None,
        )
    right.plot(r["first_order"], i - 0.2, "s", color="tab:orange", label="first order 2/lambda_max" if i == 0 else None)
right.axvspan(1e-7, 1e-5, color="grey", alpha=0.2, label="MeZO grid 1e-7 ... 1e-5")
right.set_xscale("log")
right.set_yticks(y, names)
right.set_xlabel("step size")
right.legend(fontsize=8, loc="lower left")
fig.tight_layout()
out = figure_dir() / "stepsize_digits_cnn.png"
fig.savefig(out, dpi=120)
print(out)

# %%
summary = {
    "dimension": d,
    "seed": SEED,
    "quick": QUICK,
    "lambda_max": result.lambda_max,
    "trace": result.trace,
    "trace_interval": result.trace_interval,
    "trace_positive_part": result.trace_positive_part,
    "gradient_norm": result.gradient_norm,
    "gradient_curvature": result.gradient_curvature,
    "lanczos_steps": result.lanczos_steps,
    "quadrature_resolved": result.quadrature_resolved,
    "seconds": result.seconds,
    "cost_in_forward_backward": result.cost_in_forward_backward,
    "laws": rows,
    "chains": CHAINS,
    "steps": STEPS,
    "final_over_initial": {str(f): [r[-1] / r[0] for r in runs] for f, runs in curves.items()},
}
(figure_dir() / ("stepsize_digits_cnn_quick.json" if QUICK else "stepsize_digits_cnn.json")).write_text(
    json.dumps(summary, indent=2, default=float)
)
