"""Monte Carlo of ZO training: throughput against the device's measured limits.

Target 1: parameter-space ZO-GD on a linear model, d = 1000, N = 100,
Gaussian directions, float32, in trajectory·steps per second, as a fraction of
a roofline computed in the same run from the device's measured FP32 GEMM rate
and memory bandwidth for the work the step really does:

* flops per trajectory-step: 2 d N (u = X z) + 6 N (directional derivative,
  residual update);
* bytes per trajectory-step: z written by the RNG and read by the GEMM (8 d), the
  residual read and written (8 N); X is shared by the batch and stays in cache.
  RNG arithmetic is not counted (generating z inside the GEMM would remove the
  8 d bytes; that ideal is reported too).

Baselines in the same run: a one-trajectory-at-a-time loop, and a batched step
that recomputes X theta instead of carrying the residual.

Target 2: the function-space sampler's per-step cost at d = 1e8 against d = 1e3
(X enters only through a Gram factor, see RowSpace) and its speed-up over the
parameter-space engine at d = 1e6.
"""

from __future__ import annotations

import statistics
import time

import torch

from zoverify._rng import make_generator
from zoverify.numeric.function_space import RowSpace, simulate_function_space
from zoverify.numeric.zo_training import simulate_zo_training


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _median(fn, repeats, device):
    times = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measured_limits(device, *, n=2048):
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    t = _median(lambda: a @ b, 5, device)
    big = torch.empty(1 << 26, device=device)  # 256 MiB
    t_copy = _median(lambda: big.clone(), 5, device)
    return {"fp32_gemm_flops": 2 * n**3 / t, "bandwidth_bytes": 2 * big.numel() * 4 / t_copy}


def _problem(d, n_points, device, dtype=torch.float32):
    gen = make_generator(0, device=device)
    X = torch.randn(n_points, d, generator=gen, device=device, dtype=dtype) / d**0.5
    r0 = torch.randn(n_points, generator=gen, device=device, dtype=dtype)
    return X, r0


def naive_one_at_a_time(X, y, *, steps, eta, device):
    gen = make_generator(1, device=device)
    theta = torch.zeros(X.shape[1], device=device, dtype=X.dtype)
    for _ in range(steps):
        z = torch.randn(X.shape[1], generator=gen, device=device, dtype=X.dtype)
        grad = X.T @ (X @ theta - y) / X.shape[0]
        theta = theta - eta * (z @ grad) * z
    return theta


def naive_batched_recompute(X, y, *, batch, steps, eta, device):
    gen = make_generator(2, device=device)
    theta = torch.zeros(batch, X.shape[1], device=device, dtype=X.dtype)
    for _ in range(steps):
        z = torch.randn(batch, X.shape[1], generator=gen, device=device, dtype=X.dtype)
        grad = (theta @ X.T - y) @ X / X.shape[0]
        theta = theta - eta * (z * grad).sum(1, keepdim=True) * z
    return theta


def run(profile: str, device: str) -> dict:
    full = profile == "full"
    d, n_points = 1000, 100
    trajectories = 131072 if full else 2048  # full: the NZK issue's scale, >= 1e5 trajectories at d >= 1e3
    steps = 50 if full else 10
    X, r0 = _problem(d, n_points, device)
    limits = measured_limits(device)
    flops = 2 * d * n_points + 6 * n_points
    bytes_ = 8 * d + 8 * n_points
    roof = 1 / max(flops / limits["fp32_gemm_flops"], bytes_ / limits["bandwidth_bytes"])
    roof_ideal = 1 / max(flops / limits["fp32_gemm_flops"], 8 * n_points / limits["bandwidth_bytes"])

    def engine():
        simulate_zo_training(
            X,
            r0,
            law="gaussian",
            method="zo_gd",
            eta=1e-3,
            steps=steps,
            num_trajectories=trajectories,
            generator=make_generator(3, device=device),
            block_size=min(trajectories, 4096),
            max_batch=trajectories,
        )

    engine()  # warm-up
    t_engine = _median(engine, 3, device)
    rate_engine = trajectories * steps / t_engine
    y = torch.zeros(n_points, device=device)
    naive_steps = 200 if full else 100
    t_naive = _median(lambda: naive_one_at_a_time(X, y, steps=naive_steps, eta=1e-3, device=device), 3, device)
    t_recompute = _median(
        lambda: naive_batched_recompute(X, y, batch=trajectories, steps=steps, eta=1e-3, device=device), 3, device
    )
    out = {
        "sizes": {"d": d, "N": n_points, "trajectories": trajectories, "steps": steps, "dtype": "float32"},
        "limits": limits,
        "flops_per_traj_step": flops,
        "bytes_per_traj_step": bytes_,
        "roofline_traj_steps_per_s": roof,
        "roofline_ideal_rng_in_gemm": roof_ideal,
        "engine_traj_steps_per_s": rate_engine,
        "engine_fraction_of_roofline": rate_engine / roof,
        "naive_loop_traj_steps_per_s": naive_steps / t_naive,
        "speedup_vs_naive_loop": rate_engine / (naive_steps / t_naive),
        "batched_recompute_traj_steps_per_s": trajectories * steps / t_recompute,
        "speedup_vs_batched_recompute": rate_engine / (trajectories * steps / t_recompute),
    }

    def shared():  # the NZK's shared-pair dynamics on the same problem (one more reduction per step)
        simulate_zo_training(
            X,
            r0,
            law="gaussian",
            method="shared",
            eta=1e-6,
            steps=steps,
            num_trajectories=trajectories,
            generator=make_generator(7, device=device),
            block_size=min(trajectories, 4096),
            max_batch=trajectories,
        )

    shared()
    out["shared_nzk_traj_steps_per_s"] = trajectories * steps / _median(shared, 3, device)
    out["function_space"] = function_space(device, full=full)
    return out


def function_space(device, *, full):
    n_points, rank, traj, steps = 100, 100, 4096, 20
    gen = make_generator(4, device=device)
    US = torch.randn(n_points, rank, generator=gen, device=device) / 10
    r0 = torch.randn(n_points, generator=gen, device=device)
    per_step = {}
    for d in (10**3, 10**6, 10**8):
        space = RowSpace(US, d)

        def fs(space=space):
            simulate_function_space(
                space,
                r0,
                law="gaussian",
                method="shared",
                eta=1e-4,
                steps=steps,
                num_trajectories=traj,
                generator=make_generator(5, device=device),
            )

        fs()
        per_step[d] = _median(fs, 3, device) / (traj * steps)
    # parameter-space engine at d = 1e6 on the same N (few trajectories: it is slow)
    d = 10**6
    X, _ = _problem(d, n_points, device)
    p_traj, p_steps = (64, 5) if full else (16, 3)

    def param():
        simulate_zo_training(
            X,
            r0,
            law="gaussian",
            method="shared",
            eta=1e-4,
            steps=p_steps,
            num_trajectories=p_traj,
            generator=make_generator(6, device=device),
            block_size=p_traj,
        )

    param()
    per_step_param = _median(param, 3, device) / (p_traj * p_steps)
    return {
        "per_traj_step_s": {str(k): v for k, v in per_step.items()},
        "cost_ratio_d1e8_vs_d1e3": per_step[10**8] / per_step[10**3],
        "param_space_per_traj_step_s_d1e6": per_step_param,
        "speedup_vs_param_space_d1e6": per_step_param / per_step[10**6],
    }
