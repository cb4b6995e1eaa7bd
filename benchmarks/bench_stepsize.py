"""Cost of one ``zoverify stepsize`` estimate, in forward-backward passes of the model, and its peak memory.

Models: a 64-w-w-10 tanh network on all 1,797 digits (float32, seeded initialisation), at widths
giving about 10^5, 10^6 and 10^7 parameters.  Each size runs in its own process, so its peak
resident memory (ru_maxrss) is its own; the memory ratio divides it by the resident memory after
the model, its data and one forward-backward pass.  Default accuracy (0.1), Gaussian law.
``--descent-only``: the descent edge alone (no quadrature), the mode that reaches 10^7 parameters.

    PYTHONPATH=$PWD python benchmarks/bench_stepsize.py [--widths 300 1024] [--descent-only] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) / 1024
    return float("nan")


def one(width: int, *, descent_only: bool) -> dict:
    """One size, in this process."""
    import torch
    from sklearn.datasets import load_digits

    from zoverify.numeric.curvature import time_forward_backward
    from zoverify.numeric.stepsize import stepsize

    torch.set_num_threads(1)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, width), torch.nn.Tanh(), torch.nn.Linear(width, width), torch.nn.Tanh(),
        torch.nn.Linear(width, 10),
    )  # fmt: skip
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / p.shape[-1] ** 0.5)

    def loss_fn(m):
        return torch.nn.functional.cross_entropy(m(x), y)

    fb = time_forward_backward(model, loss_fn)
    base = _rss_now_mb()
    start = time.perf_counter()
    result = stepsize(model, loss_fn, laws=["gaussian"], seed=0, descent_only=descent_only)
    seconds = time.perf_counter() - start
    law = result.laws[0]
    low, high = law.eta_star_interval
    return {
        "width": width,
        "mode": "descent edge only" if descent_only else "eta* and descent edge",
        "parameters": result.dimension,
        "forward_backward_s": fb,
        "stepsize_s": seconds,
        "cost_in_forward_backward": seconds / fb,
        "hessian_vector_products": result.hessian_vector_products,
        "probes": result.num_probes,
        "lanczos_steps": result.lanczos_steps,
        "trace_probes": result.trace_probes,
        "eta_star": law.eta_star,
        "descent_edge": law.descent_edge,
        "descent_edge_interval_over_edge": [x / law.descent_edge for x in law.descent_edge_interval],
        "interval_over_eta": [low / law.eta_star, high / law.eta_star] if low and high and law.eta_star else None,
        "rss_after_model_mb": base,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[300, 1024])
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--descent-only", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, descent_only=args.descent_only)))
        return
    rows = []
    for width in args.widths:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(width), *(["--descent-only"] if args.descent_only else [])],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["memory_ratio"] = row["peak_rss_mb"] / row["rss_after_model_mb"]
        rows.append(row)
        print(json.dumps(row))
    if args.json:
        meta = {"machine": platform.machine(), "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}
        Path(args.json).write_text(json.dumps(meta | {"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
