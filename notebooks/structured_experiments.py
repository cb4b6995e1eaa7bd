# %% [markdown]
# # MeZO vs MeZO-BCD: iterations to a tolerance and wall-clock per iteration (CPU)
#
# Paper 4 (arXiv 2501.19099, abstracts only) says MeZO-BCD keeps MeZO's iteration complexity and
# wins on wall-clock per iteration. The reconstructed rate (docs/structured.md#rate-constant, **[INFERRED]**) puts the
# iteration ratio at $(\mathrm{sr}_{BCD}+2)/\alpha_{BCD}\,/\,(d+2) = (d+2B)/(d+2)$.
#
# Protocol. Each method uses the step size of the rate, $\eta = c/(\mathrm{sr}+2)$ with the same $c$
# ($c = 1/L$ where $L$ is known): MeZO $c/(d+2)$, BCD (unscaled blocks, $\|P\|_2=1$) $c/(r+2)$, $r=d/B$,
# blocks visited in cyclic random-permutation order. Iterations to tolerance are the first step with
# loss below the tolerance, median over seeds. Problems: a quadratic, $\ell_2$-regularised logistic
# regression and a one-hidden-layer tanh network on scikit-learn's digits (3 vs 5).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from zoverify._rng import make_generator, spawn_seeds
from zoverify.figures import figure_dir, quick
from zoverify.numeric.data import load_digits_binary
from zoverify.numeric.mezo import ZOStep, run_zo_sgd
from zoverify.symbolic.structured import predicted_iteration_ratio

QUICK = quick()
NUM_SEEDS = 3 if QUICK else 16
torch.set_num_threads(1)


# %%
def quadratic_problem(d, rng):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    H = torch.as_tensor((Q * np.linspace(0.1, 1.0, d)) @ Q.T)
    x0 = torch.as_tensor(rng.standard_normal(d))
    f = lambda x: 0.5 * x @ H @ x  # noqa: E731
    return {"name": "quadratic", "x0": x0, "loss": f, "L": 1.0, "tol": 1e-2 * float(f(x0))}


def logistic_problem(lam=1e-2):
    X, y = load_digits_binary((3, 5), per_class=100)
    Xb = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)

    def f(w):
        return torch.nn.functional.binary_cross_entropy_with_logits(Xb @ w, y) + 0.5 * lam * w @ w

    L = float(torch.linalg.eigvalsh(Xb.T @ Xb)[-1]) / (4 * len(X)) + lam
    w = torch.zeros(Xb.shape[1], dtype=X.dtype, requires_grad=True)  # reference optimum by L-BFGS (first order)
    opt = torch.optim.LBFGS([w], max_iter=500, tolerance_grad=1e-12, line_search_fn="strong_wolfe")
    opt.step(lambda: (opt.zero_grad(), (loss := f(w)), loss.backward(), loss)[-1])
    fstar = float(f(w.detach()))
    x0 = torch.zeros(Xb.shape[1], dtype=X.dtype)
    frac = 0.25 if quick() else 0.1
    return {"name": "logistic", "x0": x0, "loss": f, "L": L, "tol": fstar + frac * (float(f(x0)) - fstar)}


def network_problem(hidden, rng):
    X, y = load_digits_binary((3, 5), per_class=100)
    sizes = [(hidden, 64), (hidden,), (1, hidden), (1,)]
    numel = [int(np.prod(s)) for s in sizes]

    def unpack(theta):
        parts, at = [], 0
        for s, n in zip(sizes, numel, strict=True):
            parts.append(theta[at : at + n].reshape(s))
            at += n
        return parts

    def f(theta):
        W1, b1, W2, b2 = unpack(theta)
        return torch.nn.functional.binary_cross_entropy_with_logits((torch.tanh(X @ W1.T + b1) @ W2.T + b2)[:, 0], y)

    x0 = torch.as_tensor(rng.standard_normal(sum(numel)) * 0.3)
    return {"name": f"network (64-{hidden}-1)", "x0": x0, "loss": f, "L": 1.0, "tol": 0.35}


# %%
def iterations_to_tol(problem, *, num_blocks, c, seed, max_steps):
    x = problem["x0"].clone()
    d = x.numel()
    r = d / num_blocks
    lr = c / (problem["L"] * ((d if num_blocks == 1 else r) + 2))
    hist = run_zo_sgd(
        [x],
        lambda: problem["loss"](x),
        num_steps=max_steps,
        lr=lr,
        eps=1e-4,
        generator=make_generator(seed),
        num_blocks=num_blocks,
        order="cyclic",
        stop_below=problem["tol"],
    )
    reached = hist[-1] < problem["tol"]
    return (len(hist) - 1 if reached else np.nan), hist


def per_iteration_seconds(problem, *, block_counts, repeats, rounds=5):
    """Seconds per step for each block count: rounds interleaved, the minimum kept (the CPU is shared)."""
    best = {nb: np.inf for nb in block_counts}
    for _ in range(rounds):
        for nb in block_counts:
            x = problem["x0"].clone()
            step = ZOStep([x], num_blocks=nb)
            loss = lambda x=x: problem["loss"](x)  # noqa: E731
            start = time.perf_counter()
            for t in range(repeats):
                step.step(loss, lr=0.0, eps=1e-4, seed=t, block=t % nb)
            best[nb] = min(best[nb], (time.perf_counter() - start) / repeats)
    return best


# %%
def bootstrap_ratio(num, den, rng, *, draws=2000):
    """90 % bootstrap interval of median(num)/median(den) over seeds."""
    a = rng.choice(num, (draws, num.size)), rng.choice(den, (draws, den.size))
    return np.quantile(np.nanmedian(a[0], axis=1) / np.nanmedian(a[1], axis=1), [0.05, 0.95])


rng = np.random.default_rng(0)
problems = [
    (quadratic_problem(24 if QUICK else 64, rng), (4,) if QUICK else (4, 16), 1.0, 6000 if QUICK else 40000),
    (logistic_problem(), (5,) if QUICK else (5, 13), 1.0, 6000 if QUICK else 60000),
]
if not QUICK:
    net_problem = network_problem(16, rng)
    net_problem["tol"] = 0.25
    problems.append((net_problem, (4, 16), 2.0, 200000))

rows, curves = [], {}
boot = np.random.default_rng(1)
for problem, block_counts, c, max_steps in problems:
    d = problem["x0"].numel()
    seeds = spawn_seeds(sum(map(ord, problem["name"])), NUM_SEEDS)
    res = {}
    for nb in (1, *block_counts):
        its, hists = zip(
            *(iterations_to_tol(problem, num_blocks=nb, c=c, seed=s, max_steps=max_steps) for s in seeds), strict=True
        )
        res[nb] = np.array(its, dtype=float)
        curves[(problem["name"], nb)] = hists[0]
    times = per_iteration_seconds(problem, block_counts=(1, *block_counts), repeats=100 if QUICK else 1000)
    for B in block_counts:
        lo, hi = bootstrap_ratio(res[B], res[1], boot)
        rows.append(
            {
                "problem": problem["name"],
                "d": d,
                "B": B,
                "mezo_iters": np.nanmedian(res[1]),
                "bcd_iters": np.nanmedian(res[B]),
                "measured_ratio": np.nanmedian(res[B]) / np.nanmedian(res[1]),
                "ratio_90": (lo, hi),
                "predicted_ratio": float(predicted_iteration_ratio(d=d, blocks=B)),
                "unreached": int(np.isnan(res[B]).sum() + np.isnan(res[1]).sum()),
                "mezo_ms": 1e3 * times[1],
                "bcd_ms": 1e3 * times[B],
                "speedup": times[1] / times[B],
            }
        )

for row in rows:
    print(
        f"{row['problem']:>22}: d={row['d']:4d} B={row['B']:2d}  iterations MeZO {row['mezo_iters']:.0f}, "
        f"BCD {row['bcd_iters']:.0f}; ratio measured {row['measured_ratio']:.3f} "
        f"[90% {row['ratio_90'][0]:.3f}, {row['ratio_90'][1]:.3f}] vs predicted (d+2B)/(d+2) = "
        f"{row['predicted_ratio']:.3f} (runs not reaching tol: {row['unreached']}); "
        f"ms/iter MeZO {row['mezo_ms']:.3f}, BCD {row['bcd_ms']:.3f}, speed-up {row['speedup']:.2f}x"
    )

# %% [markdown]
# ## Figures

# %%
fig, axes = plt.subplots(1, len(problems), figsize=(5 * len(problems), 3.6))
for ax, (problem, block_counts, _c, _m) in zip(np.atleast_1d(axes), problems, strict=True):
    for nb in (1, *block_counts):
        h = curves[(problem["name"], nb)]
        ax.semilogy(np.arange(len(h)), h, label="MeZO" if nb == 1 else f"BCD (B={nb})")
    ax.axhline(problem["tol"], color="k", ls=":", lw=1, label="tolerance")
    ax.set(title=problem["name"], xlabel="iteration", ylabel="loss")
    ax.legend()
fig.tight_layout()
fig.savefig(figure_dir() / "structured_mezo_vs_bcd_curves.png", dpi=120)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.2))
names = [f"{row['problem'].split()[0]}\nd={row['d']}, B={row['B']}" for row in rows]
xs = np.arange(len(rows))
err = np.array(
    [[row["measured_ratio"] - row["ratio_90"][0], row["ratio_90"][1] - row["measured_ratio"]] for row in rows]
).T
ax1.bar(xs - 0.2, [row["measured_ratio"] for row in rows], 0.4, yerr=err, label="measured (median, 90% bootstrap)")
ax1.bar(xs + 0.2, [row["predicted_ratio"] for row in rows], 0.4, label="(d+2B)/(d+2)")
ax1.set(xticks=xs, ylabel="BCD / MeZO iterations to tol", ylim=(0.8, None))
ax1.set_xticklabels(names, fontsize=8)
ax1.legend(loc="upper left", fontsize=8)
ax2.bar(xs - 0.2, [row["mezo_ms"] for row in rows], 0.4, label="MeZO")
ax2.bar(xs + 0.2, [row["bcd_ms"] for row in rows], 0.4, label="BCD")
ax2.set(xticks=xs, ylabel="ms per iteration (CPU, 1 thread)")
ax2.set_xticklabels(names, fontsize=8)
ax2.legend(fontsize=8)
fig.tight_layout()
fig.savefig(figure_dir() / "structured_iteration_ratio_and_time.png", dpi=120)

# %% [markdown]
# On these small problems the loss evaluation dominates an iteration, so BCD's per-iteration saving
# (RNG and update on r of d coordinates) is modest; `benchmarks/bench_mezo.py` measures it on a model
# where perturbation cost matters. The measured iteration ratios are reported next to $(d+2B)/(d+2)$;
# that prediction is a ratio of *upper bounds* and is **[INFERRED]** as the paper's statement.

# %%
assert all(np.isfinite(row["measured_ratio"]) for row in rows)
