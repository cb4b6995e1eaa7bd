"""Coverage of ``zoverify stepsize``'s intervals and its agreement with the dense eta*.

On the example model (examples/stepsize/digits_mlp.py, d = 610, float64) the dense Hessian
from torch.func.hessian gives the exact eta* of the positive part through the structured
operator (zoverify.numeric.stability_operator); the matrix-free estimate runs once per seed
and the script counts how often its interval holds the dense value, with a Clopper-Pearson
interval for the coverage, the median relative error, and the cost in forward-backward passes.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/stepsize_coverage.py [--seeds 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from zoverify.numeric.hessian import dense_hessian, flat_loss
from zoverify.numeric.stability_operator import critical_step_size
from zoverify.numeric.stepsize import stepsize
from zoverify.perturbations import parse_law

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "stepsize"))
from digits_mlp import digits_data, digits_mlp  # noqa: E402

LAWS = ("gaussian", "sphere")


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial interval for a proportion k/n."""
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def dense_eta(model) -> dict[str, float]:
    """Exact eta* of H_+ per law, from the dense Hessian (the second route)."""
    x, y = digits_data()
    f, theta = flat_loss(model, x, lambda out: torch.nn.functional.cross_entropy(out, y))
    lam, V = np.linalg.eigh(dense_hessian(f, theta).numpy())
    H_pos = (V * np.clip(lam, 0.0, None)) @ V.T
    return {s: critical_step_size(parse_law(s), H_pos, solver="structured").eta_star for s in LAWS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--accuracy", type=float, default=0.1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    model, loss_fn = digits_mlp()
    exact = dense_eta(model)
    rows = []
    for seed in range(args.seeds):
        r = stepsize(model, loss_fn, laws=LAWS, accuracy=args.accuracy, seed=seed)
        for law in r.laws:
            low, high = law.eta_star_interval
            rows.append(
                {
                    "seed": seed,
                    "law": law.law,
                    "eta_star": law.eta_star,
                    "low": low,
                    "high": high,
                    "exact": exact[law.law],
                    "covered": bool(low <= exact[law.law] <= high),
                    "relative_error": law.eta_star / exact[law.law] - 1,
                    "relative_half_width": law.relative_half_width,
                    "probes": r.num_probes,
                    "steps": r.lanczos_steps,
                    "hvps": r.hessian_vector_products,
                    "cost_in_forward_backward": r.cost_in_forward_backward,
                    "seconds": r.seconds,
                }
            )
    summary = {}
    for s in LAWS:
        sel = [row for row in rows if row["law"] == s]
        k = sum(row["covered"] for row in sel)
        summary[s] = {
            "exact_eta_star": exact[s],
            "coverage": k / len(sel),
            "covered": k,
            "seeds": len(sel),
            "clopper_pearson_95": clopper_pearson(k, len(sel)),
            "median_abs_relative_error": float(np.median([abs(row["relative_error"]) for row in sel])),
            "median_relative_half_width": float(np.median([row["relative_half_width"] for row in sel])),
        }
    summary["median_cost_in_forward_backward"] = float(np.median([row["cost_in_forward_backward"] for row in rows]))
    summary["median_seconds"] = float(np.median([row["seconds"] for row in rows]))
    summary["median_hvps"] = float(np.median([row["hvps"] for row in rows]))
    summary["median_probes"] = float(np.median([row["probes"] for row in rows]))
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
