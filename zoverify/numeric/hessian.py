"""Hessian tools for torch models: HVPs (torch.func), lambda_max by Lanczos, Tr H by Hutchinson / Hutch++.

All functions act on a scalar function of one flat parameter vector; :func:`flat_loss`
turns a module plus a loss on fixed data into one.  Randomness only from an explicit
generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy import stats
from torch.func import functional_call, grad, jvp

from zoverify._errors import InvalidParameterError
from zoverify.numeric._compat import quiet_forward_ad

Matvec = Callable[[torch.Tensor], torch.Tensor]


def flat_loss(model: torch.nn.Module, inputs: torch.Tensor, loss: Callable[[torch.Tensor], torch.Tensor]):
    """(f, theta0): f(theta) = loss(model(inputs) with parameters theta); theta0 the current flat parameters."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    theta0 = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    def unflatten(theta):
        return {n: t.reshape(s) for n, t, s in zip(names, torch.split(theta, sizes), shapes, strict=True)}

    def f(theta: torch.Tensor) -> torch.Tensor:
        return loss(functional_call(model, unflatten(theta), (inputs,)))

    return f, theta0


def hvp(f: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor) -> Matvec:
    """v -> H(theta) v by forward-over-reverse differentiation (one gradient's cost per product)."""
    g = grad(f)

    def apply(v: torch.Tensor) -> torch.Tensor:
        with quiet_forward_ad():
            return jvp(g, (theta,), (v.to(theta.dtype),))[1]

    return apply


def dense_hessian(f, theta: torch.Tensor, *, chunk_size: int | None = None) -> torch.Tensor:
    """The full Hessian (small models only), for checking the matrix-free tools.

    Forward-over-reverse, ``torch.func.hessian``'s route; ``chunk_size`` pushes that many basis
    tangents at a time (the same numbers) instead of all d at once, which batches every
    activation d times (about 50 MB more at the peak at d = 310 on the digits).
    """
    if chunk_size is None:
        with quiet_forward_ad():
            return torch.func.hessian(f)(theta)
    if chunk_size < 1:
        raise InvalidParameterError(f"chunk_size must be positive, got {chunk_size}")
    grad_f = torch.func.jacrev(f)  # as in hessian = jacfwd(jacrev(f))

    def column(v: torch.Tensor) -> torch.Tensor:
        return jvp(grad_f, (theta,), (v,))[1]

    d = theta.numel()
    basis = torch.eye(d, dtype=theta.dtype, device=theta.device).reshape(d, *theta.shape)
    with quiet_forward_ad():
        columns = torch.func.vmap(column, chunk_size=chunk_size)(basis)
    return columns.movedim(0, -1).reshape(*theta.shape, *theta.shape).contiguous()


def lanczos(
    matvec: Matvec, dim: int, *, num_iters: int, generator: torch.Generator, dtype: torch.dtype = torch.float64
) -> np.ndarray:
    """Ritz values of ``num_iters`` Lanczos steps with full reorthogonalization (ascending).

    The largest Ritz value converges to lambda_max from below; with num_iters = dim
    it is exact up to rounding.
    """
    if num_iters < 1:
        raise InvalidParameterError(f"num_iters must be positive, got {num_iters}")
    device = generator.device
    k = min(num_iters, dim)
    Q = torch.zeros((k + 1, dim), dtype=dtype, device=device)
    q = torch.randn(dim, generator=generator, dtype=dtype, device=device)
    Q[0] = q / torch.linalg.vector_norm(q)
    alpha, beta = [], []
    for j in range(k):
        w = matvec(Q[j]).to(dtype)
        a = torch.dot(w, Q[j])
        w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)  # full reorthogonalization (twice is enough)
        w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        alpha.append(float(a))
        b = float(torch.linalg.vector_norm(w))
        if j == k - 1 or b < 1e-12 * max(1.0, abs(alpha[-1])):
            break
        beta.append(b)
        Q[j + 1] = w / b
    T = np.diag(alpha) + np.diag(beta[: len(alpha) - 1], 1) + np.diag(beta[: len(alpha) - 1], -1)
    return np.linalg.eigvalsh(T)


def lambda_max(matvec: Matvec, dim: int, *, generator: torch.Generator, num_iters: int = 30) -> float:
    """Largest eigenvalue estimate by Lanczos."""
    return float(lanczos(matvec, dim, num_iters=num_iters, generator=generator)[-1])


def _rademacher(shape, generator, dtype):
    return (2 * torch.randint(0, 2, shape, generator=generator, device=generator.device) - 1).to(dtype)


def hutchinson_trace(
    matvec: Matvec,
    dim: int,
    *,
    num_probes: int,
    generator: torch.Generator,
    alpha: float = 1e-4,
    dtype: torch.dtype = torch.float64,
) -> tuple[float, float, tuple[float, float]]:
    """(estimate, standard error, (1 - alpha) t-interval) of Tr H from Rademacher probes v^T H v.

    Each probe is unbiased with variance 2 (||H||_F^2 - sum_i H_ii^2).
    """
    if num_probes < 2:
        raise InvalidParameterError("hutchinson_trace needs at least 2 probes for an interval")
    V = _rademacher((num_probes, dim), generator, dtype)
    samples = np.array([float(torch.dot(v, matvec(v).to(dtype))) for v in V])
    est, se = float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(num_probes))
    half = float(stats.t(num_probes - 1).isf(alpha / 2)) * se
    return est, se, (est - half, est + half)


def hutchpp_trace(
    matvec: Matvec, dim: int, *, num_matvecs: int, generator: torch.Generator, dtype: torch.dtype = torch.float64
) -> float:
    """Hutch++ (Meyer et al. 2021): exact trace on a sketched range plus Hutchinson on the rest.

    Uses m/3 sketch vectors, m/3 products to project, m/3 Hutchinson probes.
    """
    m = num_matvecs // 3
    if m < 1:
        raise InvalidParameterError("hutchpp_trace needs at least 3 matrix-vector products")
    S = _rademacher((m, dim), generator, dtype)
    Y = torch.stack([matvec(s).to(dtype) for s in S], dim=1)  # (dim, m)
    Q, _ = torch.linalg.qr(Y)
    HQ = torch.stack([matvec(c).to(dtype) for c in Q.T], dim=1)
    exact_part = float(torch.trace(Q.T @ HQ))
    G = _rademacher((m, dim), generator, dtype)
    G = G - (G @ Q) @ Q.T  # probes in the orthogonal complement
    rest = float(np.mean([float(torch.dot(g, matvec(g).to(dtype))) for g in G]))
    return exact_part + rest


__all__ = ["dense_hessian", "flat_loss", "hutchinson_trace", "hutchpp_trace", "hvp", "lambda_max", "lanczos"]
