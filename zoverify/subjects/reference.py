"""Correct reference implementations of every subject contract, for any law of the catalogue.

They are the audit's positive controls: each must pass every property for its own
law, scheme, radius, number of queries and method.  The estimate is

    g = scale * (1/q) sum_k c_k z_k,   c_k = (f(x + mu z_k) - f(x - mu z_k)) / (2 mu)   (central)
                                        c_k = (f(x + mu z_k) - f(x)) / mu                  (forward)

with fresh directions z_k from the law at every call, drawn from a generator seeded
once per instance (a training run).
"""

from __future__ import annotations

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator

SCHEMES = ("central", "forward")
_BLOCK = 16  # calls whose directions one sampler call draws (the sampler's overhead dominates at small d)
METHODS = ("gd", "gdm", "adam")


def _check(scheme: str, mu: float, queries: int) -> None:
    if scheme not in SCHEMES:
        raise InvalidParameterError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    if not mu > 0:
        raise InvalidParameterError(f"mu must be positive, got {mu}")
    if int(queries) != queries or queries < 1:
        raise InvalidParameterError(f"queries must be a positive integer, got {queries}")


def zo_estimate(f, x: np.ndarray, z: np.ndarray, *, scheme: str, mu: float, scale: float) -> np.ndarray:
    """The two-point estimate averaged over the rows of ``z`` (q, d)."""
    coeffs = np.empty(z.shape[0])
    base = f(x) if scheme == "forward" else None
    for k, zk in enumerate(z):
        if scheme == "central":
            coeffs[k] = (f(x + mu * zk) - f(x - mu * zk)) / (2 * mu)
        else:
            coeffs[k] = (f(x + mu * zk) - base) / mu
    return scale * (coeffs @ z) / z.shape[0]


def reference_estimator(law, *, scheme: str = "central", mu: float = 1e-2, queries: int = 1, scale: float = 1.0):
    """``factory(dim, seed) -> estimate(f, x)`` for ``law`` (the estimator contract)."""
    _check(scheme, mu, queries)
    q = int(queries)

    def factory(dim: int, seed: int):
        gen = make_generator(seed)
        block: list = []  # directions drawn _BLOCK calls ahead: one sampler call per block, same law

        def estimate(f, x):
            if not block:
                drawn = law.sample(_BLOCK * q, int(dim), generator=gen).numpy()
                block.extend(drawn.reshape(_BLOCK, q, int(dim))[::-1])
            z = block.pop()
            return zo_estimate(f, x, z, scheme=scheme, mu=mu, scale=scale)

        return estimate

    return factory


def reference_optimizer(
    law,
    *,
    method: str = "gd",
    beta: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    scheme: str = "central",
    mu: float = 1e-2,
    queries: int = 1,
    scale: float = 1.0,
):
    """``factory(x0, lr, seed) -> step(f)``: ZO-GD, ZO-GDM (heavy ball: m = beta m + g, x -= lr m) or ZO-Adam."""
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    estimator = reference_estimator(law, scheme=scheme, mu=mu, queries=queries, scale=scale)

    def factory(x0, lr: float, seed: int):
        x = np.array(x0, dtype=np.float64)
        estimate = estimator(x.size, seed)
        m, v, t = np.zeros_like(x), np.zeros_like(x), 0

        def step(f):
            nonlocal x, m, v, t
            g = estimate(f, x)
            t += 1
            if method == "gd":
                x = x - lr * g
            elif method == "gdm":
                m = beta * m + g
                x = x - lr * m
            else:
                m = beta * m + (1 - beta) * g
                v = beta2 * v + (1 - beta2) * g * g
                x = x - lr * (m / (1 - beta**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
            return x.copy()

        return step

    return factory


def reference_torch_update(law, *, mu: float = 1e-3, queries: int = 1, scale: float = 1.0):
    """``update(model, loss_fn, lr, seed)``: MeZO-style central differences with exact restore.

    The direction is one draw of ``law`` over the concatenated parameters, computed in
    float32 (float64 for float64 parameters) from a generator seeded with ``seed``.  The
    parameters are restored by copying back a saved copy (bitwise exact in every dtype),
    and the update is rounded once per tensor.
    """
    _check("central", mu, queries)
    q = int(queries)

    @torch.no_grad()
    def update(model: torch.nn.Module, loss_fn, lr: float, seed: int) -> None:
        params = [p for p in model.parameters() if p.requires_grad]
        sizes = [p.numel() for p in params]
        total = sum(sizes)
        work = torch.float64 if all(p.dtype == torch.float64 for p in params) else torch.float32
        gen = make_generator(seed, device=params[0].device)
        saved = [p.detach().clone() for p in params]
        step = [torch.zeros(p.shape, dtype=work, device=p.device) for p in params]
        for _ in range(q):
            z = law.sample(1, total, generator=gen, dtype=work, device=params[0].device)[0]
            parts = list(torch.split(z, sizes))
            values = []
            for sign in (1.0, -1.0):
                for p, s, zp in zip(params, saved, parts, strict=True):
                    p.copy_((s.to(work) + sign * mu * zp.view(p.shape)).to(p.dtype))
                values.append(float(loss_fn(model)))
            coeff = (values[0] - values[1]) / (2 * mu)
            for acc, zp in zip(step, parts, strict=True):
                acc.add_(zp.view(acc.shape), alpha=coeff / q)
        for p, s, acc in zip(params, saved, step, strict=True):
            p.copy_((s.to(work) - lr * scale * acc).to(p.dtype))

    return update


__all__ = ["METHODS", "SCHEMES", "reference_estimator", "reference_optimizer", "reference_torch_update", "zo_estimate"]
