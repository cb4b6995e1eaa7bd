"""Symbolic speed: zoverify's d-symbolic moment maps vs sympy.stats at explicit d.

Quantity: E[(z.a)(z.b)||z||^2] for z ~ N(0, I_d), the Corollary-2 kernel entry.
zoverify derives E[||z||^2 z z^T] once with d symbolic and evaluates it at any d;
sympy.stats expands the polynomial at an explicit d and integrates.  Also times
every registered claim's prediction (the symbolic side of `zoverify check`).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import sympy as sp
import sympy.stats as st

from zoverify.claims import REGISTRY, Context
from zoverify.perturbations import parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), value


def ours(dim, a, b):
    law = parse_law("gaussian")
    M = law.fourth_moment(sp.Identity(S.d), S.d)  # d symbolic
    return float(a @ evaluate(M, {S.d: dim}) @ b)


def sympy_stats(dim, a, b):
    z = [st.Normal(f"z{i}", 0, 1) for i in range(dim)]
    za = sum(int(a[i]) * z[i] for i in range(dim))
    zb = sum(int(b[i]) * z[i] for i in range(dim))
    return float(st.E(sp.expand(za * zb * sum(zi**2 for zi in z))))


def predictions_time():
    import torch

    total = 0.0
    for claim in REGISTRY.values():
        for spec in claim.laws:
            ctx = Context(
                parse_law(spec), claim.resolve_params(None), claim.num_samples, 0, torch.device("cpu"), torch.float64
            )
            t = time.perf_counter()
            claim.predict(ctx)
            total += time.perf_counter() - t
    return total


def run(profile: str, device: str) -> dict:
    dim = 10
    a = np.arange(1, dim + 1, dtype=float)
    b = np.ones(dim)
    t_ours, v_ours = _median_time(lambda: ours(dim, a, b), 5)
    t_ref, v_ref = _median_time(lambda: sympy_stats(dim, a, b), 1 if profile == "quick" else 3)
    assert abs(v_ours - v_ref) <= 1e-9 * abs(v_ref), (v_ours, v_ref)
    t_pred = predictions_time()
    return {
        "quantity": "E[(z.a)(z.b)||z||^2], z ~ N(0, I_10)",
        "zoverify_s": t_ours,
        "sympy_stats_s": t_ref,
        "speedup": t_ref / t_ours,
        "value": v_ours,
        "all_claim_predictions_s": t_pred,
        "num_claim_law_pairs": sum(len(c.laws) for c in REGISTRY.values()),
    }
