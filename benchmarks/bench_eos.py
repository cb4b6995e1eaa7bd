"""Edge-of-stability training on digits: cost of a replicate batched vs alone, and of tracking eta*(H_t).

    PYTHONPATH=. python benchmarks/bench_eos.py [--profile quick|full]

Ratios measured in one run (same machine state): seconds per replicate-step of ZO-GD (q = 4) with
R replicates batched over the same with one replicate; the cost of one eta*(H_t) point (dense
Hessian, its eigendecomposition, the law's exact eta* and the growth rate; for block-coordinate
directions the matrix-free eigenproblem) in units of one batched training step; first-order
lambda_max for all R replicates by batched Lanczos over R dense Hessians; and the first-order
claims' edge statistic (lambda_max of the Hessian averaged over a pair of iterates, Simpson's rule:
three Hessian-vector products per Lanczos step) over lambda_max at the pair's two iterates.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from zoverify.numeric.eos_curvature import (
    batched_lambda_max,
    batched_orbit_lambda_max,
    block_edge,
    curvature,
    edge_growth_rate,
    edge_step,
)
from zoverify.numeric.eos_training import digits_problem, replicate_generators, train


def _train_seconds(problem, replicates: int, steps: int) -> float:
    init, dirs = replicate_generators(0, replicates)
    theta0 = problem.init(init)
    start = time.perf_counter()
    train(problem, theta0, optimizer="zo", eta=0.16, steps=steps, record=[], q=4, generators=dirs)
    return time.perf_counter() - start


def _tracking_seconds(problem, law: str) -> tuple[float, float]:
    init, _ = replicate_generators(0, 1)
    theta = problem.init(init)[0]
    edge_step(curvature(problem.loss, theta), law, q=4)  # warm-up: the law's symbolic setup is cached after one call
    start = time.perf_counter()
    curv = curvature(problem.loss, theta)
    hessian = time.perf_counter() - start
    edge_step(curv, law, q=4)
    edge_growth_rate(curv, law, q=4)
    return hessian, time.perf_counter() - start


def _block_seconds(problem) -> float:
    init, _ = replicate_generators(0, 1)
    curv = curvature(problem.loss, problem.init(init)[0])
    start = time.perf_counter()
    block_edge(curv, blocks=16, q=4)
    return time.perf_counter() - start


def _lambda_max_seconds(problem, replicates: int) -> tuple[float, float]:
    """(batched Lanczos for all replicates, dense Hessians of all replicates)."""
    init, _ = replicate_generators(0, replicates)
    theta = problem.init(init)
    start = time.perf_counter()
    batched_lambda_max(problem.loss, theta, num_iters=20, generator=torch.Generator().manual_seed(0))
    lanczos = time.perf_counter() - start
    start = time.perf_counter()
    for r in range(replicates):
        curvature(problem.loss, theta[r])
    return lanczos, time.perf_counter() - start


def _orbit_over_endpoints(problem, replicates: int) -> float:
    """Seconds of the pair's segment-averaged lambda_max over lambda_max at its two iterates (all batched)."""
    init, _ = replicate_generators(0, replicates)
    a = problem.init(init)
    b = a + 1e-2 * torch.randn(a.shape, generator=torch.Generator().manual_seed(1), dtype=a.dtype)
    start = time.perf_counter()
    batched_orbit_lambda_max(problem.loss, a, b, num_iters=20, generator=torch.Generator().manual_seed(0))
    orbit = time.perf_counter() - start
    start = time.perf_counter()
    for end in (a, b):
        batched_lambda_max(problem.loss, end, num_iters=20, generator=torch.Generator().manual_seed(0))
    return orbit / (time.perf_counter() - start)


def run(profile: str, device: str) -> dict:
    """Entry point for benchmarks/run.py (CPU, single-threaded: the cores are shared)."""
    if device != "cpu":
        return {"skipped": "the digits network is CPU-sized; the full profile runs on CPU"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        problem = digits_problem()
        steps, replicates = (100, 16) if profile == "quick" else (500, 64)
        batched = _train_seconds(problem, replicates, steps) / (replicates * steps)
        alone = _train_seconds(problem, 1, steps) / steps
        step_batched = batched * replicates
        out = {
            "d": problem.dim,
            "replicates": replicates,
            "q": 4,
            "seconds_per_replicate_step_batched": batched,
            "seconds_per_replicate_step_alone": alone,
            "replicate_cost_batched_over_alone": batched / alone,
        }
        for law in ("gaussian", "rademacher"):
            hessian, total = _tracking_seconds(problem, law)
            out[f"eta_star_point_{law}_s"] = total
            out[f"eta_star_point_{law}_over_batched_step"] = total / step_batched
            out["dense_hessian_s"] = hessian
        block = _block_seconds(problem)
        out["block16_eta_star_and_kappa_s"] = block
        out["block16_point_over_batched_step"] = block / step_batched
        lanczos, dense = _lambda_max_seconds(problem, replicates)
        out["lambda_max_batched_lanczos_over_dense"] = lanczos / dense
        out["orbit_lambda_max_over_two_endpoints"] = _orbit_over_endpoints(problem, replicates)
        return out
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", choices=("quick", "full"))
    print(json.dumps(run(parser.parse_args().profile, "cpu"), indent=2))
