"""Best-of-K parametric ZO on a linearized model: the NZK paper's "standard ZO" baseline.

Loss L(theta) = (1/2) mean((Phi theta - y)^2).  Each step draws K directions, keeps
the one with the largest L(theta + eps z) - L(theta - eps z) and steps
theta <- theta - eta (diff / 2 eps) z*.  Two variants:

* ``"intended"``: theta is a vector (the algorithm as described);
* ``"broadcast"``: the paper's notebook as it runs.  There theta has shape (d, 1) and
  z shape (1, d), so theta + eps z is a d x d matrix whose column j is
  theta + eps z_j 1; the loss averages over the d columns and the update keeps the
  matrix.  Every column stays on the line theta0 + a_j 1, so the state is a in R^d
  with phi(a) = L(theta0 + a 1) = alpha + beta a + h a^2 / 2 and the reported loss is
  mean_j phi(a_j) (tests/test_nzk_headline.py checks this against the matrix code).

Two samplers: ``"literal"`` draws all K directions from any law and takes real
central differences of the loss; ``"reduced"`` (zero-mean Gaussian only) draws the
kept direction's law directly (symbolic/best_of.py): its component along the
gradient is sigma max of K normals (one uniform by inverse CDF), the rest an
independent Gaussian.  It works in H's eigenbasis (rank r) for "intended" and with
||a - a*||^2 alone for "broadcast" (H = h I there), so its cost does not grow with K or d.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.numeric._batching import block_generators
from zoverify.perturbations import AbstractLaw, Gaussian, parse_law
from zoverify.perturbations._sampling import standard_gamma
from zoverify.symbolic.best_of import least_squares_start

VARIANTS = ("intended", "broadcast")
SAMPLERS = ("literal", "reduced")
NOISE_CHUNK = 256  # steps of noise drawn per call by the reduced samplers ...
NOISE_BYTES = 1 << 27  # ... at most 128 MiB of it


@dataclass(frozen=True)
class LinearizedProblem:
    """Phi (N x d), targets y and the start theta0; f = Phi theta as in the paper's code."""

    Phi: torch.Tensor
    y: torch.Tensor
    theta0: torch.Tensor

    def __post_init__(self):
        N, d = self.Phi.shape
        if self.y.shape != (N,) or self.theta0.shape != (d,):
            raise InvalidParameterError(
                f"Phi is {N} x {d}: y must have shape ({N},) and theta0 ({d},), got {tuple(self.y.shape)} "
                f"and {tuple(self.theta0.shape)}"
            )

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """The mean squared error 0.5 mean((Phi theta - y)^2) of each row of ``theta``."""
        return 0.5 * ((theta @ self.Phi.T - self.y) ** 2).mean(dim=-1)

    def line(self) -> tuple[float, float, float]:
        """(alpha, beta, h) of phi(a) = L(theta0 + a 1) = alpha + beta a + h a^2 / 2."""
        r0 = self.Phi @ self.theta0 - self.y
        v = self.Phi.sum(dim=1)
        return float(0.5 * (r0 * r0).mean()), float((r0 * v).mean()), float((v * v).mean())

    def eigen(self):
        """H's nonzero eigenvalues, e0 = V^T (theta0 - theta*) and L*, computed once in float64
        (symbolic/best_of.py, the prediction's own route) and cast to the problem's dtype and device."""
        lam, e0, floor = least_squares_start(
            *(t.detach().cpu().double().numpy() for t in (self.Phi, self.y, self.theta0))
        )
        cast = {"dtype": self.Phi.dtype, "device": self.Phi.device}
        return torch.as_tensor(lam, **cast), torch.as_tensor(e0, **cast), floor


def simulate_best_of_zo(
    problem: LinearizedProblem,
    *,
    law: AbstractLaw | str = "gaussian",
    num_candidates: int = 100,
    eta: float,
    steps: int,
    num_trajectories: int,
    generator: torch.Generator,
    record: Sequence[int] | None = None,
    eps: float = 1e-3,
    variant: str = "intended",
    sampler: str = "literal",
    block_size: int = 1 << 12,
) -> torch.Tensor:
    """Losses at the ``record`` steps, shape (num_trajectories, len(record)); same seed, same numbers."""
    law = parse_law(law)
    if variant not in VARIANTS:
        raise InvalidParameterError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    if sampler not in SAMPLERS:
        raise InvalidParameterError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if not eta > 0 or steps < 0 or num_trajectories < 1 or not eps > 0:
        raise InvalidParameterError("eta > 0, eps > 0, steps >= 0 and num_trajectories >= 1 are required")
    if int(num_candidates) != num_candidates or num_candidates < 1:
        raise InvalidParameterError(f"num_candidates must be a positive integer, got {num_candidates}")
    if generator.device.type != problem.Phi.device.type:
        raise InvalidParameterError(
            f"the generator is on {generator.device} but the problem on {problem.Phi.device}; "
            "make the generator on the problem's device (zoverify._rng.make_generator(seed, device=...))"
        )
    record = (steps,) if record is None else tuple(int(t) for t in record)
    if not record or any(t < 0 or t > steps for t in record):
        raise InvalidParameterError(f"record must name at least one step in [0, {steps}], got {record}")
    run = {
        ("intended", "literal"): _intended_literal,
        ("broadcast", "literal"): _broadcast_literal,
        ("intended", "reduced"): _intended_reduced,
        ("broadcast", "reduced"): _broadcast_reduced,
    }[variant, sampler]
    if sampler == "reduced":
        _gaussian_sigma(law)
    parts = [
        run(problem, law, int(num_candidates), eta, steps, record, eps, n, gen)
        for n, gen in block_generators(num_trajectories, generator=generator, block_size=block_size)
    ]
    return torch.cat(parts, dim=0)


def _loop(state, steps, record, step, loss):
    out = {}
    for t in range(steps + 1):
        if t in record:
            out[t] = loss(state)
        if t < steps:
            state = step(state)
    return torch.stack([out[t] for t in record], dim=1)


def _intended_literal(p, law, K, eta, steps, record, eps, n, gen):
    d = p.Phi.shape[1]

    def step(theta):
        z = law.sample(n * K, d, generator=gen, dtype=p.Phi.dtype, device=p.Phi.device).reshape(n, K, d)
        trial = theta[:, None, :]
        diff = p.loss(trial + eps * z) - p.loss(trial - eps * z)  # (n, K): real central differences
        best = diff.argmax(dim=1)
        rows = torch.arange(n, device=theta.device)
        return theta - eta * (diff[rows, best] / (2 * eps))[:, None] * z[rows, best]

    return _loop(p.theta0.expand(n, -1).clone(), steps, record, step, p.loss)


def _broadcast_literal(p, law, K, eta, steps, record, eps, n, gen):
    alpha, beta, h = p.line()
    d = p.Phi.shape[1]

    def phi(a):
        return alpha + beta * a + 0.5 * h * a * a

    def step(a):
        z = law.sample(n * K, d, generator=gen, dtype=p.Phi.dtype, device=p.Phi.device).reshape(n, K, d)
        trial = a[:, None, :]
        # the d x d matrix's loss is the mean over its columns: mean_j phi(a_j +- eps z_j)
        diff = phi(trial + eps * z).mean(dim=-1) - phi(trial - eps * z).mean(dim=-1)
        best = diff.argmax(dim=1)
        rows = torch.arange(n, device=a.device)
        return a - eta * (diff[rows, best] / (2 * eps))[:, None] * z[rows, best]

    zeros = torch.zeros(n, d, dtype=p.Phi.dtype, device=p.Phi.device)
    return _loop(zeros, steps, record, step, lambda a: phi(a).mean(dim=-1))


def _max_of_normals(K, shape, gen, like) -> torch.Tensor:
    """max of K iid N(0, 1) by inverse CDF, Phi^{-1}(p) with p = U^(1/K), in float64 and then cast: from p
    itself below the median and from the upper tail 1 - p = -expm1(log U / K) above it (both ends accurate)."""
    u = torch.rand(shape, generator=gen, dtype=torch.float64, device=like.device).clamp_min(2.0**-60)
    log_p = torch.log(u) / K
    lower = torch.special.ndtri(torch.exp(log_p))
    upper = -torch.special.ndtri(-torch.expm1(log_p))
    return torch.where(log_p < math.log(0.5), lower, upper).to(like.dtype)


def _intended_reduced(p, law, K, eta, steps, record, eps, n, gen):
    sigma = _gaussian_sigma(law)
    lam, e0, floor = p.eigen()
    e, out = e0.expand(n, -1).clone(), {}
    chunk = max(1, min(NOISE_CHUNK, NOISE_BYTES // (8 * n * e.shape[1])))
    for start in range(0, steps + 1, chunk):  # noise drawn a chunk of steps at a time (fewer calls)
        m = min(chunk, steps - start)
        x = sigma * _max_of_normals(K, (m, n), gen, e)
        w = sigma * torch.randn((m, n, e.shape[1]), generator=gen, dtype=e.dtype, device=e.device)
        for k in range(m + 1 if start + m == steps else m):
            if start + k in record:
                out[start + k] = floor + 0.5 * (lam * e * e).sum(dim=1)
            if k < m:
                # z* = x g_hat + w_perp, so e' = e - eta x [(x - w.g_hat) g + ||g|| w]
                g = lam * e
                gnorm = torch.linalg.vector_norm(g, dim=1).clamp_min(torch.finfo(g.dtype).tiny)
                wg = (w[k] * g).sum(dim=1) / gnorm
                e = e - (eta * x[k] * (x[k] - wg))[:, None] * g - (eta * x[k] * gnorm)[:, None] * w[k]
    return torch.stack([out[t] for t in record], dim=1)


def _broadcast_reduced(p, law, K, eta, steps, record, eps, n, gen):
    sigma = _gaussian_sigma(law)
    alpha, beta, h = p.line()
    d = p.Phi.shape[1]
    c = eta * h / d  # a <- a - (eta / d) (p . z*) z* with p = h (a - a*)
    floor = alpha - beta**2 / (2 * h)
    like = p.Phi
    # ||a' - a*||^2 = ||a - a*||^2 ((1 - c x^2)^2 + c^2 x^2 ||z_perp||^2): iid factors, a running product
    r2 = torch.full((n,), d * (beta / h) ** 2, dtype=like.dtype, device=like.device)  # a0 = 0, a* = -beta / h
    out, chunk = {}, max(1, NOISE_BYTES // (16 * n))
    for start in range(0, steps + 1, chunk):
        m = min(chunk, steps - start)
        x2 = (sigma * _max_of_normals(K, (m, n), gen, like)) ** 2
        perp = sigma**2 * 2.0 * standard_gamma((d - 1) / 2.0, (m, n), generator=gen, dtype=like.dtype)
        path = torch.cat([r2[None], r2 * torch.cumprod((1 - c * x2) ** 2 + c * c * x2 * perp.to(like.device), dim=0)])
        out.update({t: floor + 0.5 * h * path[t - start] / d for t in record if start <= t <= start + m})
        r2 = path[-1]
        if start + m == steps:
            break
    return torch.stack([out[t] for t in record], dim=1)


def _gaussian_sigma(law: AbstractLaw) -> float:
    moments = law.scalar_moments() if isinstance(law, Gaussian) else None
    if not isinstance(law, Gaussian) or moments is None or moments["mean"] != 0:
        raise NotApplicableError(
            f"{law.spec}: the reduced best-of-K sampler needs N(0, sigma^2 I) directions (rotation invariance); "
            "use sampler='literal' for other laws"
        )
    return float(law.std)


__all__ = ["SAMPLERS", "VARIANTS", "LinearizedProblem", "simulate_best_of_zo"]
