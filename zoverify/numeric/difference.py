"""The two-point difference at a finite radius mu against the directional derivative, on a user's model.

ZO-SGD steps along c(z) z with c(z) = (L(theta + mu z) - L(theta - mu z)) / (2 mu) standing in for
z^T g.  On the quadratic model that eta* is derived on, c(z) = z^T g exactly, whatever mu.  On the
model itself

    c(z) - z^T g = (mu^2 / 6) D^3 L(theta)[z, z, z] + O(mu^4) + rounding,

the rounding being that of two losses in the model's dtype divided by 2 mu, about u |L| / mu (u the
unit roundoff).  So the relative error e(mu) = sqrt(sum_z (c(z) - z^T g)^2 / sum_z (z^T g)^2), over
directions drawn from the law, says whether the run at that mu sees the model eta* describes
(e small) or something else: a smoothed loss when the third-order term dominates (e grows 4x when
mu doubles), noise when rounding does (e halves when mu doubles); an error of order one that no
longer grows 4x is past the expansion (mu far too large).  Both radii are measured on the same
directions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from zoverify._errors import InvalidParameterError

#: directions drawn per law (each costs four forward passes: +-mu and +-2 mu)
DIFFERENCE_DIRECTIONS = 16
#: e(2 mu) / e(mu) above this: the mu^2 term dominates (4 when it alone acts); below 1: rounding (1/2)
THIRD_ORDER_RATIO, ROUNDING_RATIO = 2.0, 1.0
#: an error of this order is past the Taylor expansion: no longer the mu^2 law, and never rounding
NONPERTURBATIVE = 0.5

CAUSE_THIRD_ORDER = "third-order term"
CAUSE_HIGHER = "terms beyond the third order"
CAUSE_ROUNDING = "rounding"
#: what to change when the error is too large, by its cause
REMEDY = {CAUSE_THIRD_ORDER: "mu too large", CAUSE_HIGHER: "mu far too large", CAUSE_ROUNDING: "mu too small"}


@dataclass(frozen=True)
class DifferenceError:
    """The central difference's relative error at ``mu`` and ``2 mu`` on ``directions`` of the law's directions."""

    mu: float
    directions: int
    relative_error: float
    relative_error_at_2mu: float

    @property
    def cause(self) -> str:
        """Which error dominates, read off how e changes when mu doubles (empty when neither is clear)."""
        if self.relative_error == 0.0:
            return ""
        ratio = self.relative_error_at_2mu / self.relative_error
        if ratio >= THIRD_ORDER_RATIO:
            return CAUSE_THIRD_ORDER
        if self.relative_error >= NONPERTURBATIVE:
            return CAUSE_HIGHER
        if ratio <= ROUNDING_RATIO:
            return CAUSE_ROUNDING
        return ""


def difference_error(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module], torch.Tensor],
    params: Sequence[torch.Tensor],
    gradient: torch.Tensor,
    law,
    *,
    mu: float,
    generator: torch.Generator,
    directions: int = DIFFERENCE_DIRECTIONS,
) -> DifferenceError:
    """e(mu) and e(2 mu) of the central difference of ``loss_fn(model)`` along ``directions`` draws of ``law``.

    ``params`` are the model's trainable tensors in the order of the flat ``gradient`` (float64).  The
    parameters are moved in place and restored from a copy, bitwise, after each direction.
    """
    if not (isinstance(mu, (int, float)) and math.isfinite(mu) and mu > 0):
        raise InvalidParameterError(f"mu must be a positive finite number, got {mu!r}")
    if directions < 1:
        raise InvalidParameterError(f"directions must be positive, got {directions}")
    dim = gradient.numel()
    saved = [p.detach().clone() for p in params]
    sq = {1: 0.0, 2: 0.0}
    norm = 0.0
    try:
        for _ in range(directions):
            # one direction at a time: d floats, never (directions, d)
            z = law.sample(1, dim, generator=generator, dtype=torch.float64, device=gradient.device)[0]
            exact = float(z @ gradient)
            norm += exact**2
            for k in (1, 2):
                plus = _loss_at(model, loss_fn, params, saved, z, k * mu)
                minus = _loss_at(model, loss_fn, params, saved, z, -k * mu)
                sq[k] += ((plus - minus) / (2 * k * mu) - exact) ** 2
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)
    if norm == 0.0:
        raise InvalidParameterError("the gradient is orthogonal to every direction drawn: no relative error exists")
    return DifferenceError(float(mu), int(directions), math.sqrt(sq[1] / norm), math.sqrt(sq[2] / norm))


def _loss_at(model, loss_fn, params, saved, z: torch.Tensor, step: float) -> float:
    with torch.no_grad():
        at = 0
        for p, s in zip(params, saved, strict=True):
            n = p.numel()
            p.copy_(s + step * z[at : at + n].reshape(p.shape).to(p.dtype))
            at += n
        loss = float(loss_fn(model))
    if not math.isfinite(loss):
        raise InvalidParameterError(f"the loss is not finite at the parameters moved by {step:g} along a direction")
    return loss


__all__ = [
    "CAUSE_HIGHER",
    "CAUSE_ROUNDING",
    "CAUSE_THIRD_ORDER",
    "DIFFERENCE_DIRECTIONS",
    "REMEDY",
    "DifferenceError",
    "difference_error",
]
