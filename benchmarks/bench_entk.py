"""Time and peak memory of eNTK routes for one input pair of a wide MLP (V = 10).

Routes (each in its own subprocess, so peak RSS is per route):

* ``zo_jvp``       ZO eNTK from P directions by forward-mode JVPs, chunked (zoverify.numeric.entk.zo_entk)
* ``zo_fd``        the same by real central finite differences
* ``fo_ntk_vp``    first-order eNTK by NTK-vector products (no Jacobian stored)
* ``fo_jacobian``  first-order eNTK by torch.func Jacobians, contracted
* ``direct``       first-order eNTK from a full autograd Jacobian (one backward per output)

Peak memory is the child's ru_maxrss minus that of a child that only builds the
model and inputs (``baseline``).  Usage::

    python benchmarks/bench_entk.py [--width 13333] [--directions 64] [--device cpu] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROUTES = ["baseline", "zo_jvp", "zo_fd", "fo_ntk_vp", "fo_jacobian", "direct"]


def _child(route: str, width: int, directions: int, device: str) -> dict:
    import torch

    from zoverify._rng import make_generator
    from zoverify.numeric import entk as N
    from zoverify.numeric.data import load_digits_images
    from zoverify.perturbations import parse_law

    torch.set_num_threads(2)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    gen = make_generator(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, width), torch.nn.Tanh(), torch.nn.Linear(width, 10)
    ).to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / (p.shape[-1] ** 0.5))
    model = model.to(device)
    X, y = load_digits_images(device=device)
    xo, xu = X[y == 4][:1], X[y == 9][:1]
    d = N.num_parameters(N.parameters_of(model))
    law = parse_law("gaussian")

    def run():
        return _route(route, model, xo, xu, law, directions, device)

    start = time.perf_counter()
    K = run()  # first call: includes torch.func tracing / decomposition loading
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    cold = time.perf_counter() - start
    start = time.perf_counter()
    K = run()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    out = {
        "route": route,
        "d": d,
        "seconds": elapsed,
        "cold_seconds": cold,
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "kernel_fro": float(K.double().norm()),
    }
    if device.startswith("cuda"):
        out["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _route(route, model, xo, xu, law, directions, device):
    import torch

    from zoverify._rng import make_generator
    from zoverify.numeric import entk as N

    if route == "zo_jvp":
        K = N.zo_entk(
            model, xo, xu, law=law, num_directions=directions, generator=make_generator(1, device=device), chunk_size=16
        )
    elif route == "zo_fd":
        K = N.zo_entk(
            model,
            xo,
            xu,
            law=law,
            num_directions=directions,
            generator=make_generator(1, device=device),
            chunk_size=16,
            method="finite_difference",
            mu=1e-4,
        )
    elif route == "fo_ntk_vp":
        K = N.empirical_ntk(model, xo, xu, method="ntk_vp")
    elif route == "fo_jacobian":
        K = N.empirical_ntk(model, xo, xu, method="jacobian")
    elif route == "direct":
        K = N.empirical_ntk(model, xo, xu, method="direct")
    else:
        K = torch.zeros(1)
    return K


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=13333, help="hidden width (d = 75 width + 10)")
    parser.add_argument("--directions", type=int, default=64, help="P for the ZO routes")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--routes", default=",".join(ROUTES[1:]))
    parser.add_argument("--json", default=None, help="write results here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.width, args.directions, args.device)))
        return []
    results = []
    root = Path(__file__).resolve().parent.parent
    for route in ["baseline", *args.routes.split(",")]:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            route,
            "--width",
            str(args.width),
            "--directions",
            str(args.directions),
            "--device",
            args.device,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env={**_env(), "PYTHONPATH": str(root)})
        if proc.returncode != 0:
            results.append({"route": route, "error": proc.stderr.strip().splitlines()[-1]})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    base = next(r for r in results if r["route"] == "baseline")["maxrss_mib"]
    print(f"\nd = {results[0]['d']}, P = {args.directions}, device {args.device}")
    print(f"{'route':12s} {'seconds':>9s} {'first call s':>13s} {'peak MiB (above baseline)':>26s}")
    for r in results[1:]:
        if "error" in r:
            print(f"{r['route']:12s} failed: {r['error']}")
        else:
            print(f"{r['route']:12s} {r['seconds']:9.2f} {r['cold_seconds']:13.2f} {r['maxrss_mib'] - base:26.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


def run(profile: str, device: str) -> dict:
    """Entry point for benchmarks/run.py: d ~ 1e5 (quick) or ~1e6 (full)."""
    width = 13333 if profile == "full" else 1333
    results = main(["--width", str(width), "--device", device])
    base = next(r for r in results if r["route"] == "baseline")["maxrss_mib"]
    routes = {
        r["route"]: {"seconds": r.get("seconds"), "peak_mib_above_baseline": r.get("maxrss_mib", base) - base}
        for r in results[1:]
    }
    direct = routes.get("direct", {}).get("seconds")
    return {
        "d": results[0].get("d"),
        "P": 64,
        "routes": routes,
        "zo_jvp_vs_direct_time": (routes["zo_jvp"]["seconds"] / direct) if direct else None,
    }


def _env() -> dict:
    import os

    return dict(os.environ)


if __name__ == "__main__":
    main()
