"""Exact mean-square eta* at large d (target 3) and dense vs structured at small d.

    PYTHONPATH=. python benchmarks/bench_stability.py [--dims 1024] [--repeats 1] [--out FILE.json]

Writes JSON with the device, torch/numpy versions, sizes, median seconds per solve and the
dense/structured agreement.  The structured solver uses a dense Hessian (Haar-rotated spectrum)
so no law gets the easy diagonal case.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from zoverify.numeric.stability_operator import DenseOperator, StructuredOperator
from zoverify.perturbations import parse_law

LAWS = ("gaussian", "sphere", "rademacher", "uniform", "laplace(b=0.6)", "student_t(nu=10)", "coordinate")


def hessian(d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    Q = Q * np.sign(np.diag(R))
    lam = rng.uniform(0.0, 1.0, d) ** 3 + 1e-3
    return (Q * lam) @ Q.T


def timed(fn, repeats: int):
    times, value = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), value


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", type=int, nargs="*", default=[1024])
    ap.add_argument("--laws", nargs="*", default=list(LAWS))
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--small", type=int, nargs="*", default=[6, 10])
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    out = {
        "device": platform.processor() or platform.machine(),
        "cpu_count": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "large": [],
        "small": [],
    }
    for d in args.small:
        H = hessian(d, 1)
        for spec in ("gaussian", "rademacher", "laplace(b=0.6)"):
            law = parse_law(spec)
            t_dense, e_dense = timed(lambda law=law, H=H: DenseOperator(law, H).eta_star(), args.repeats)
            t_struct, e_struct = timed(lambda law=law, H=H: StructuredOperator(law, H).eta_star(), args.repeats)
            row = {
                "d": d,
                "law": spec,
                "dense_s": t_dense,
                "structured_s": t_struct,
                "rel_diff": abs(e_dense - e_struct) / e_dense,
                "ratio": t_dense / t_struct,
            }
            out["small"].append(row)
            print(row, flush=True)
    for d in args.dims:
        H = hessian(d)
        for spec in args.laws:
            law = parse_law(spec)
            t, eta = timed(lambda law=law, H=H: StructuredOperator(law, H).eta_star(), args.repeats)
            row = {"d": d, "law": spec, "seconds": t, "eta_star": eta}
            out["large"].append(row)
            print(row, flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


def run(profile: str, device: str) -> dict:
    """Entry point for benchmarks/run.py (the solver runs on the CPU with numpy)."""
    dims = ["1024", "2048"] if profile == "full" else ["1024"]
    return main(["--dims", *dims])


if __name__ == "__main__":
    main()
