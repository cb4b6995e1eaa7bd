"""P1-10 engines on the digits problem (FFN 64->10->5->1 linearized, d = 711, N = 200).

* best-of-100 ZO: trajectory-steps per second of the reduced sampler (the kept
  direction's exact law, in H's eigenbasis) against the literal batched sampler
  (all 100 directions, real central differences) and the paper's loop (one
  trajectory, a Python loop over the 100 candidates);
* the Monte Carlo NZK from 10,000 shared Gaussian draws: row-space draws against
  parameter-space draws (both batched) and the paper's one-draw-at-a-time loop.
"""

from __future__ import annotations

import statistics
import time

import torch

from zoverify._rng import make_generator
from zoverify.numeric.best_of import LinearizedProblem, simulate_best_of_zo
from zoverify.numeric.data import load_digits_binary
from zoverify.numeric.linearize import jacobian_features, make_mlp
from zoverify.numeric.nzk_estimate import estimate_shared_nzk
from zoverify.perturbations import parse_law


def _timed(fn, device, repeats=3):
    times = []
    for _ in range(repeats):
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paper_loop(problem, *, steps, K=100, eta=1e-3, eps=1e-3, gen):
    """One trajectory, the candidates in a Python loop (the notebook's structure, correct shapes)."""
    theta, d = problem.theta0.clone(), problem.Phi.shape[1]
    for _ in range(steps):
        best, z_best = -float("inf"), None
        for _ in range(K):
            z = torch.randn(d, generator=gen, dtype=theta.dtype, device=theta.device)
            diff = float(problem.loss(theta + eps * z) - problem.loss(theta - eps * z))
            if diff > best:
                best, z_best = diff, z
        theta = theta - eta * best / (2 * eps) * z_best
    return theta


def paper_kernel_loop(Phi, *, samples, gen):
    """The notebook's NZK: one draw at a time, ||z||^2 (Phi z)(Phi z)^T accumulated."""
    total = torch.zeros(Phi.shape[0], Phi.shape[0], dtype=Phi.dtype, device=Phi.device)
    for _ in range(samples):
        z = torch.randn(Phi.shape[1], generator=gen, dtype=Phi.dtype, device=Phi.device)
        u = Phi @ z
        total += (z @ z) * torch.outer(u, u)
    return total / samples


def run(profile: str, device: str) -> dict:
    full = profile == "full"
    X, y = load_digits_binary((3, 5), per_class=100, device=device)
    model, theta0 = make_mlp((64, 10, 5, 1), generator=make_generator(1, device=device))
    Phi = jacobian_features(model, theta0, X).detach()
    problem = LinearizedProblem(Phi, y, theta0.detach())
    n, steps = (1024, 200) if full else (64, 40)

    def sim(sampler, n_traj, n_steps):
        return lambda: simulate_best_of_zo(
            problem,
            eta=1e-3,
            steps=n_steps,
            num_trajectories=n_traj,
            generator=make_generator(2, device=device),
            sampler=sampler,
        )

    rate = {
        "reduced": n * steps / _timed(sim("reduced", n, steps), device),
        "literal": 16 * 10 / _timed(sim("literal", 16, 10), device),
        "paper_loop": 5
        / _timed(lambda: paper_loop(problem, steps=5, gen=make_generator(3, device=device)), device, repeats=1),
    }
    gauss, S = parse_law("gaussian"), 10_000
    t_row = _timed(
        lambda: estimate_shared_nzk(Phi, law=gauss, num_samples=S, generator=make_generator(4, device=device)), device
    )
    # parameter-space draws: the same estimator without the row-space reduction (a law that is not rotation invariant
    # takes this path; the Rademacher sampler costs about what the Gaussian's does)
    t_param = _timed(
        lambda: estimate_shared_nzk(Phi, law="rademacher", num_samples=S, generator=make_generator(5, device=device)),
        device,
    )
    loop_samples = 2000 if full else 500
    t_loop = (
        _timed(
            lambda: paper_kernel_loop(Phi, samples=loop_samples, gen=make_generator(6, device=device)),
            device,
            repeats=1,
        )
        * S
        / loop_samples
    )
    return {
        "sizes": {
            "d": Phi.shape[1],
            "N": Phi.shape[0],
            "candidates": 100,
            "trajectories": n,
            "steps": steps,
            "dtype": str(Phi.dtype).removeprefix("torch."),
            "nzk_samples": S,
        },
        "best_of_traj_steps_per_s": rate,
        "reduced_vs_literal": rate["reduced"] / rate["literal"],
        "reduced_vs_paper_loop": rate["reduced"] / rate["paper_loop"],
        "literal_vs_paper_loop": rate["literal"] / rate["paper_loop"],
        "nzk_estimate_s": {"row_space": t_row, "parameter_space": t_param, "paper_loop (scaled)": t_loop},
        "nzk_row_space_vs_paper_loop": t_loop / t_row,
        "nzk_parameter_space_vs_paper_loop": t_loop / t_param,
    }
