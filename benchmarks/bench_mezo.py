"""Per-iteration wall-clock of MeZO vs MeZO-BCD (zoverify.numeric.mezo.ZOStep) on CPU.

An MLP with ``--width`` hidden units and ``--layers`` layers (about layers * width^2
parameters) on a small batch: MeZO regenerates and applies d Gaussian numbers three
times per step (+eps, -eps / restore, update), BCD only r = d/B of them, while both
run the same two forward passes.  Timings interleave the methods over rounds and
keep each method's minimum (the CPU may be shared).

    PYTHONPATH=$PWD python benchmarks/bench_mezo.py [--quick] [--dtype float32] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from zoverify._rng import make_generator
from zoverify.numeric.mezo import ZOStep

DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def build(width: int, layers: int, batch: int, dtype: torch.dtype):
    gen = make_generator(0)
    mods = []
    for _ in range(layers):
        lin = torch.nn.Linear(width, width)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen) / width**0.5)
            lin.bias.zero_()
        mods += [lin, torch.nn.Tanh()]
    net = torch.nn.Sequential(*mods).to(dtype)
    X = torch.randn(batch, width, generator=gen).to(dtype)
    return net, lambda: net(X).float().pow(2).mean()


def time_steps(net, loss, *, num_blocks: int, restore: str, steps: int) -> float:
    stepper = ZOStep(list(net.parameters()), num_blocks=num_blocks, restore=restore)
    stepper.step(loss, lr=0.0, eps=1e-3, seed=0, block=0)  # warm-up
    start = time.perf_counter()
    for t in range(steps):
        stepper.step(loss, lr=0.0, eps=1e-3, seed=t, block=t % num_blocks)
    return (time.perf_counter() - start) / steps


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
    net, loss = build(width, args.layers, args.batch, DTYPES[args.dtype])
    d = sum(p.numel() for p in net.parameters())
    configs = [(1, "exact"), (1, "naive")] + [(b, "exact") for b in args.blocks]
    best = {c: float("inf") for c in configs}
    for _ in range(args.rounds):
        for nb, restore in configs:
            best[(nb, restore)] = min(best[(nb, restore)], time_steps(net, loss, num_blocks=nb, restore=restore, steps=steps))
    base = best[(1, "exact")]
    print(f"MLP {args.layers}x{width}, d = {d:,} parameters, batch {args.batch}, {args.dtype}, {args.threads} thread(s), CPU")
    rows = []
    for (nb, restore), sec in best.items():
        label = "MeZO" if nb == 1 else f"BCD B={nb}"
        rows.append({"method": label, "restore": restore, "blocks": nb, "ms_per_iter": 1e3 * sec, "speedup_vs_mezo": base / sec})
        print(f"  {label:>10} ({restore:5}): {1e3 * sec:9.2f} ms/iter   speed-up vs MeZO (exact) {base / sec:5.2f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"d": d, "width": width, "layers": args.layers, "dtype": args.dtype, "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
