"""Batched Monte Carlo of ZO training for linear models and linearized networks.

The model is f(theta) = f_0 + X (theta - theta_0) with X the inputs (a linear
model) or the Jacobian features Phi (a linearized network), and the loss is
L = ||f - y||^2 / (2N).  Trajectories run side by side (a batch dimension); each
step draws fresh directions and moves the residual r = f - y, never recomputing
X theta (one GEMM u = X z per direction and trajectory).

Methods (docs/nzk.md#setting; derivations/nzk.py §1, §4):

* ``"shared"``       NZK with zeta = z:   Delta theta = -eta z (z^T z) g_z
* ``"independent"``  NZK with zeta, z:    Delta theta = -eta zeta (zeta^T z) g_z
* ``"zo_gd"``        plain ZO-GD:         Delta theta = -eta z g_z
* ``"fo"``           first-order GD:      Delta theta = -eta grad L   (deterministic)

where g_z is the directional derivative z^T grad L: exact (``eps=None``) or a real
central difference (L(theta + eps z) - L(theta - eps z)) / (2 eps) of the loss
evaluated at the perturbed outputs r +- eps X z.  In finite-difference mode the
NZK's output direction X zeta is likewise the difference quotient
((r + eps X zeta) - (r - eps X zeta)) / (2 eps), as in the paper's code.

Randomness: trajectories are split into fixed blocks, each with its own
generator (zoverify.numeric.block_generators); ``max_batch`` only decides how
many blocks run at once, so the random draws do not depend on it (the numbers
agree to rounding: BLAS may sum in a shape-dependent order).  All tensors live
on the generator's device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from zoverify._errors import InvalidParameterError
from zoverify.numeric._batching import block_generators
from zoverify.perturbations import AbstractLaw, parse_law

METHODS = ("shared", "independent", "zo_gd", "fo")
#: trajectories per block of the random stream (each holds its residual path); unlike
#: zoverify.numeric._batching.DEFAULT_BLOCK, which counts single draws
TRAJECTORIES_PER_BLOCK = 4096


@dataclass(frozen=True)
class ZOTrace:
    """Recorded residuals ``(num_trajectories, len(steps), N)`` and optionally parameters."""

    steps: tuple[int, ...]
    residuals: torch.Tensor
    thetas: torch.Tensor | None = None


def _directional(r: torch.Tensor, u: torch.Tensor, eps: float | None) -> torch.Tensor:
    """z^T grad L per trajectory, exact or by a central difference of the loss."""
    n = r.shape[1]
    if eps is None:
        return (u * r).sum(dim=1) / n
    plus = 0.5 * ((r + eps * u) ** 2).sum(dim=1) / n
    minus = 0.5 * ((r - eps * u) ** 2).sum(dim=1) / n
    return (plus - minus) / (2 * eps)


def _output_direction(r: torch.Tensor, v: torch.Tensor, eps: float | None) -> torch.Tensor:
    """X zeta, exact or as the output difference quotient at radius eps."""
    if eps is None:
        return v
    return ((r + eps * v) - (r - eps * v)) / (2 * eps)


def zo_step(
    r: torch.Tensor,
    X: torch.Tensor,
    z: torch.Tensor,
    zeta: torch.Tensor | None,
    *,
    method: str,
    eta: float,
    eps: float | None,
    increment: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One step for a batch: returns (new residual, parameter increment or None).

    ``increment=False`` skips the (batch x d) parameter update when only outputs
    are tracked: it is a full pass over d per trajectory that the residual
    recursion does not need.
    """
    u = z @ X.T
    g = _directional(r, u, eps)
    if method == "shared":
        coef = -eta * (z * z).sum(dim=1) * g
        direction, v = z, _output_direction(r, u, eps)
    elif method == "independent":
        if zeta is None:
            raise InvalidParameterError("method 'independent' needs the second direction zeta")
        coef = -eta * (zeta * z).sum(dim=1) * g
        direction, v = zeta, _output_direction(r, zeta @ X.T, eps)
    else:
        coef = -eta * g
        direction, v = z, u
    r_new = torch.addcmul(r, coef[:, None], v)
    return r_new, (coef[:, None] * direction if increment else None)


def simulate_zo_training(
    X: torch.Tensor,
    residual0: torch.Tensor,
    *,
    law: AbstractLaw | str,
    method: str,
    eta: float,
    steps: int,
    num_trajectories: int,
    generator: torch.Generator,
    zeta_law: AbstractLaw | str | None = None,
    eps: float | None = None,
    record: Sequence[int] | None = None,
    theta0: torch.Tensor | None = None,
    block_size: int = TRAJECTORIES_PER_BLOCK,
    max_batch: int | None = None,
) -> ZOTrace:
    """Run ``num_trajectories`` ZO trajectories for ``steps`` steps from residual ``residual0``.

    ``record`` lists the step indices (0..steps) whose residuals are kept (default:
    the last).  With ``theta0`` the parameters are tracked too.
    """
    law = parse_law(law)
    zeta = law if zeta_law is None else parse_law(zeta_law)
    _validate(method, eta, steps, num_trajectories, eps, block_size)
    record = (steps,) if record is None else tuple(int(s) for s in record)
    if any(s < 0 or s > steps for s in record):
        raise InvalidParameterError(f"record steps must lie in 0..{steps}, got {record}")
    device = generator.device
    X = X.to(device)
    r0 = residual0.to(device=device, dtype=X.dtype).reshape(1, -1)
    if r0.shape[1] != X.shape[0]:
        raise InvalidParameterError(f"residual has {r0.shape[1]} entries but X has {X.shape[0]} rows")
    blocks = list(block_generators(num_trajectories, generator=generator, block_size=block_size))
    per = max(1, (max_batch or block_size) // block_size)
    res_parts, theta_parts = [], []
    for start in range(0, len(blocks), per):
        group = blocks[start : start + per]
        res, th = _run_group(X, r0, group, law, zeta, method, eta, steps, eps, record, theta0)
        res_parts.append(res)
        if th is not None:
            theta_parts.append(th)
    thetas = torch.cat(theta_parts) if theta_parts else None
    return ZOTrace(record, torch.cat(res_parts), thetas)


def _run_group(X, r0, group, law, zeta_law, method, eta, steps, eps, record, theta0):
    sizes = [n for n, _ in group]
    batch = sum(sizes)
    d = X.shape[1]
    r = r0.expand(batch, -1).clone()
    theta = None if theta0 is None else theta0.to(X).reshape(1, d).expand(batch, -1).clone()
    kept, kept_theta = {}, {}

    def keep(t):
        if t in record:
            kept[t] = r.clone()
            if theta is not None:
                kept_theta[t] = theta.clone()

    keep(0)
    for t in range(1, steps + 1):
        if method == "fo":
            grad_r = r @ X @ X.T / X.shape[0]
            if theta is not None:
                theta = theta - eta * (r @ X) / X.shape[0]
            r = r - eta * grad_r
        else:
            z, zt = _draw(group, law, zeta_law, method, d, X)
            r, dtheta = zo_step(r, X, z, zt, method=method, eta=eta, eps=eps, increment=theta is not None)
            if theta is not None:
                theta = theta + dtheta
        keep(t)
    res = torch.stack([kept[t] for t in record], dim=1)
    th = torch.stack([kept_theta[t] for t in record], dim=1) if theta is not None else None
    return res, th


def _draw(group, law, zeta_law, method, d, X):
    zs, zetas = [], []
    for n, gen in group:
        zs.append(law.sample(n, d, generator=gen, dtype=X.dtype, device=X.device))
        if method == "independent":
            zetas.append(zeta_law.sample(n, d, generator=gen, dtype=X.dtype, device=X.device))
    z = zs[0] if len(zs) == 1 else torch.cat(zs)
    zeta = None if not zetas else (zetas[0] if len(zetas) == 1 else torch.cat(zetas))
    return z, zeta


def _validate(method, eta, steps, num_trajectories, eps, block_size):
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not eta > 0:
        raise InvalidParameterError(f"eta must be positive, got {eta}")
    if steps < 0 or num_trajectories < 1 or block_size < 1:
        raise InvalidParameterError("steps >= 0, num_trajectories >= 1 and block_size >= 1 are required")
    if eps is not None and not eps > 0:
        raise InvalidParameterError(f"eps must be positive or None (exact directional form), got {eps}")


def kernel_gradient_descent(
    K: torch.Tensor, residual0: torch.Tensor, *, eta: float, steps: int, record: Sequence[int]
) -> torch.Tensor:
    """Deterministic function-space recursion r <- r - (eta / N) K r, recorded at ``record``."""
    r = residual0.reshape(-1).clone()
    n = r.shape[0]
    out = {0: r.clone()}
    for t in range(1, steps + 1):
        r = r - eta / n * (K @ r)
        if t in record:
            out[t] = r.clone()
    return torch.stack([out[t] for t in record])


__all__ = ["METHODS", "ZOTrace", "kernel_gradient_descent", "simulate_zo_training", "zo_step"]
