"""Per-iteration wall-clock of MeZO vs MeZO-BCD (zoverify.numeric.mezo.ZOStep) on CPU.

An MLP with ``--width`` hidden units and ``--layers`` layers (about layers * width^2
parameters) on a small batch: MeZO regenerates and applies d Gaussian numbers three
times per step (+eps, -eps / restore, update), BCD only r = d/B of them, while both
run the same two forward passes.  Timings interleave the methods over rounds and
keep each method's minimum (the CPU may be shared).

    PYTHONPATH=$PWD python benchmarks/bench_mezo.py [--quick] [--dtype float32] [--json out.json]

``run(profile, device)`` is the entry point of benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from zoverify._rng import make_generator
from zoverify.numeric.mezo import ZOStep

DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def build(width: int, layers: int, batch: int, dtype: torch.dtype, device: str = "cpu"):
    gen = make_generator(0)
    mods = []
    for _ in range(layers):
        lin = torch.nn.Linear(width, width)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen) / width**0.5)
            lin.bias.zero_()
        mods += [lin, torch.nn.Tanh()]
    net = torch.nn.Sequential(*mods).to(device=device, dtype=dtype)
    X = torch.randn(batch, width, generator=gen).to(device=device, dtype=dtype)
    return net, lambda: net(X).float().pow(2).mean()


def _sync(net) -> None:
    dev = next(net.parameters()).device
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_steps(net, loss, *, num_blocks: int, restore: str, steps: int) -> float:
    stepper = ZOStep(list(net.parameters()), num_blocks=num_blocks, restore=restore)
    stepper.step(loss, lr=0.0, eps=1e-3, seed=0, block=0)  # warm-up
    _sync(net)
    start = time.perf_counter()
    for t in range(steps):
        stepper.step(loss, lr=0.0, eps=1e-3, seed=t, block=t % num_blocks)
    _sync(net)
    return (time.perf_counter() - start) / steps


def measure(*, width, layers, batch, dtype, blocks, steps, rounds, device="cpu") -> dict:
    """ms per iteration and speed-up vs MeZO (exact restore) for each configuration."""
    net, loss = build(width, layers, batch, dtype, device)
    configs = [(1, "exact"), (1, "naive")] + [(b, "exact") for b in blocks]
    best = {c: float("inf") for c in configs}
    for _ in range(rounds):
        for nb, restore in configs:
            best[(nb, restore)] = min(
                best[(nb, restore)], time_steps(net, loss, num_blocks=nb, restore=restore, steps=steps)
            )
    base = best[(1, "exact")]
    rows = [
        {
            "method": "MeZO" if nb == 1 else f"BCD B={nb}",
            "restore": restore,
            "blocks": nb,
            "ms_per_iter": 1e3 * sec,
            "speedup_vs_mezo": base / sec,
        }
        for (nb, restore), sec in best.items()
    ]
    return {"d": sum(p.numel() for p in net.parameters()), "width": width, "layers": layers, "rows": rows}


def run(profile: str, device: str) -> dict:
    """Entry point for benchmarks/run.py (CPU timings single-threaded: multi-threaded ops on a
    shared, oversubscribed CPU are slowed by orders of magnitude only above torch's
    parallel-size threshold, which would favour BCD's small blocks unfairly)."""
    quick = profile == "quick"
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
    try:
        return _run(quick, device)
    finally:
        torch.set_num_threads(threads)


def _run(quick: bool, device: str) -> dict:
    return measure(
        width=256 if quick else 1024,
        layers=4,
        batch=8,
        dtype=torch.float32,
        blocks=[4, 16],
        steps=5 if quick else 20,
        rounds=2 if quick else 3,
        device=device,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small model, few steps (< 30 s)")
    ap.add_argument("--dtype", default="float32", choices=list(DTYPES))
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--blocks", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    width = args.width or (256 if args.quick else 1024)
    steps = 5 if args.quick else 20
    result = measure(
        width=width,
        layers=args.layers,
        batch=args.batch,
        dtype=DTYPES[args.dtype],
        blocks=args.blocks,
        steps=steps,
        rounds=args.rounds,
    )
    print(
        f"MLP {args.layers}x{width}, d = {result['d']:,} parameters, batch {args.batch}, {args.dtype}, "
        f"{args.threads} thread(s), CPU"
    )
    for row in result["rows"]:
        print(
            f"  {row['method']:>10} ({row['restore']:5}): {row['ms_per_iter']:9.2f} ms/iter   "
            f"speed-up vs MeZO (exact) {row['speedup_vs_mezo']:5.2f}x"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**result, "dtype": args.dtype}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
