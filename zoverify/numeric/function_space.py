"""Exact function-space sampler for rotation-invariant laws: per-step cost independent of d.

With f = X theta and squared loss, a ZO step touches the outputs only through
u = X z (and ||z||^2 for shared NZK pairs).  Take the thin SVD X = U S V^T (rank
r) and split z = V w + z_perp:

* Gaussian z ~ N(mu, sigma^2 I): w = V^T z ~ N(V^T mu, sigma^2 I_r) is independent
  of z_perp, and ||z_perp||^2 / sigma^2 is a non-central chi^2 with d - r degrees
  of freedom and non-centrality ||mu_perp||^2 / sigma^2.
* Sphere of radius sqrt(d): z = sqrt(d) g / ||g|| with g ~ N(0, I), so
  u = sqrt(d) U S w_g / ||g||, ||g||^2 = ||w_g||^2 + chi^2_{d-r}, ||z||^2 = d.

So u = U S w and ||z||^2 are drawn exactly with O(N r) work whatever d is.  Only
the ``"shared"`` and ``"zo_gd"`` methods are covered (independent pairs need the
cross term zeta_perp^T z_perp); other laws need the parameter-space engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.numeric._batching import block_generators
from zoverify.numeric.zo_training import (
    TRAJECTORIES_PER_BLOCK,
    ZOTrace,
    _directional,
    _output_direction,
)
from zoverify.perturbations import AbstractLaw, Gaussian, Sphere, parse_law
from zoverify.perturbations._sampling import standard_gamma


@dataclass(frozen=True)
class RowSpace:
    """X through its row space: a factor ``US`` (N x r) with X X^T = US US^T, and d.

    Built from X by a thin SVD (``from_matrix``, which also keeps V for laws with
    a mean), or given directly when X is too large to hold: the zero-mean
    dynamics depend on X only through X X^T and d.
    """

    US: torch.Tensor
    dim: int
    V: torch.Tensor | None = None

    @classmethod
    def from_matrix(cls, X: torch.Tensor) -> RowSpace:
        """The row space of X from its thin SVD, dropping singular values at rounding level."""
        U, s, Vh = torch.linalg.svd(X, full_matrices=False)
        keep = s > s.max() * max(X.shape) * torch.finfo(X.dtype).eps
        return cls(U[:, keep] * s[keep], X.shape[1], Vh[keep].T)

    @property
    def rank(self) -> int:
        """The dimension r of the row space."""
        return self.US.shape[1]


class RowSpaceSampler:
    """X's row-space coordinates and the law's reduced description."""

    def __init__(self, space: RowSpace, law: AbstractLaw):
        self.US, self.V = space.US, space.V
        self.d, self.r = space.dim, space.rank
        if self.r > self.d:
            raise InvalidParameterError(f"row space of rank {self.r} cannot live in dimension {self.d}")
        self.law = law
        if isinstance(law, Gaussian):
            self.sigma = float(law.std)
            if self.V is None:
                moments = law.scalar_moments()
                if moments is None or moments["mean"] != 0:
                    raise InvalidParameterError(
                        f"{law.spec}: a law with a mean needs X itself (RowSpace.from_matrix), not only its Gram factor"
                    )
                self.mu_w = torch.zeros(self.r, dtype=self.US.dtype, device=self.US.device)
                self.mu_perp2 = 0.0
            else:
                mu = law.mean_tensor(self.d, dtype=self.US.dtype, device=self.US.device)
                self.mu_w = self.V.T @ mu
                self.mu_perp2 = float(((mu - self.V @ self.mu_w) ** 2).sum())
        elif not isinstance(law, Sphere):
            raise NotApplicableError(
                f"{law.spec}: the function-space sampler covers Gaussian and sphere laws; use simulate_zo_training"
            )

    def draw(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(u = X z, ||z||^2) for n directions."""
        w, norm2 = self.draw_coordinates(n, gen)
        return w @ self.US.T, norm2

    def draw_coordinates(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(w, ||z||^2) with X z = US w: the row-space coordinates, before the N x r factor."""
        dt, dev = self.US.dtype, self.US.device
        g = torch.randn((n, self.r), generator=gen, dtype=dt, device=dev)
        if isinstance(self.law, Sphere):
            perp = _chi2(self.d - self.r, n, gen, dt, dev)
            scale = math.sqrt(self.d) / torch.sqrt((g * g).sum(dim=1) + perp)
            return g * scale[:, None], torch.full((n,), float(self.d), dtype=dt, device=dev)
        perp = _chi2(self.d - self.r, n, gen, dt, dev, noncentrality=self.mu_perp2 / self.sigma**2)
        w = self.mu_w + self.sigma * g
        return w, (w * w).sum(dim=1) + self.sigma**2 * perp


def _chi2(k: int, n: int, gen, dtype, device, *, noncentrality: float = 0.0) -> torch.Tensor:
    """Non-central chi^2_k(lambda) = (Z + sqrt(lambda))^2 + chi^2_{k-1}; chi^2_m = 2 Gamma(m / 2)."""
    if k <= 0:
        return torch.zeros(n, dtype=dtype, device=device)
    z = torch.randn(n, generator=gen, dtype=dtype, device=device) + math.sqrt(noncentrality)
    out = z * z
    if k > 1:
        out = out + 2.0 * standard_gamma((k - 1) / 2.0, (n,), generator=gen, dtype=dtype)
    return out


def simulate_function_space(
    X: torch.Tensor | RowSpace,
    residual0: torch.Tensor,
    *,
    law: AbstractLaw | str,
    method: str,
    eta: float,
    steps: int,
    num_trajectories: int,
    generator: torch.Generator,
    eps: float | None = None,
    record: Sequence[int] | None = None,
    block_size: int = TRAJECTORIES_PER_BLOCK,
) -> ZOTrace:
    """Same dynamics and output as :func:`~zoverify.numeric.zo_training.simulate_zo_training`
    (``method`` "shared" or "zo_gd"), drawn in function space: per-step cost O(N r).

    ``X`` is the feature matrix or a :class:`RowSpace` (its Gram factor and d).
    """
    law = parse_law(law)
    if method not in ("shared", "zo_gd"):
        raise InvalidParameterError(f"function-space sampling supports methods 'shared' and 'zo_gd', got {method!r}")
    if not eta > 0 or steps < 0 or num_trajectories < 1:
        raise InvalidParameterError("eta > 0, steps >= 0 and num_trajectories >= 1 are required")
    record = (steps,) if record is None else tuple(int(s) for s in record)
    space = X if isinstance(X, RowSpace) else RowSpace.from_matrix(X.to(generator.device))
    red = RowSpaceSampler(space, law)
    r0 = residual0.to(space.US).reshape(1, -1)
    parts = []
    for n, gen in block_generators(num_trajectories, generator=generator, block_size=block_size):
        r = r0.expand(n, -1).clone()
        kept = {0: r.clone()}
        for t in range(1, steps + 1):
            u, norm2 = red.draw(n, gen)
            coef = -eta * _directional(r, u, eps)
            if method == "shared":
                coef = coef * norm2
            r = r + coef[:, None] * (_output_direction(r, u, eps) if method == "shared" else u)
            if t in record:
                kept[t] = r.clone()
        parts.append(torch.stack([kept[t] for t in record], dim=1))
    return ZOTrace(record, torch.cat(parts))


__all__ = ["RowSpace", "simulate_function_space"]
