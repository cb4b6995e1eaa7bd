"""The descent edge: the step above which one ZO step raises the loss's quadratic model in expectation.

At theta_0 with gradient g and Hessian H (any sign), one step of q-query ZO-GD with central
differences in the small-mu limit is theta_1 = theta_0 - eta g_hat, g_hat = (1/q) sum_j z_j z_j^T g.
For a law with E zz^T = c I and E[zz^T A zz^T] = a tr(A) I + b A + e Diag(A)
(zoverify.symbolic.stability.fourth_moment_form), with A = g g^T:

    E[g_hat^T g]       = c ||g||^2
    E[g_hat^T H g_hat] = (a ||g||^2 tr H + b g^T H g + e sum_i g_i^2 H_ii) / q + (1 - 1/q) c^2 g^T H g

so the quadratic model's expected change, -eta E[g_hat^T g] + eta^2/2 E[g_hat^T H g_hat], changes sign at

    eta_d = 2 c ||g||^2 / E[g_hat^T H g_hat]        (inf when the denominator is <= 0).

Unlike the mean-square eta* it needs no positive part: tr H is Hutchinson's unbiased mean with
no quadrature error, g^T H g one Hessian-vector product, and sum_i g_i^2 H_ii the Hutchinson
mean of (g o v)^T H (g o v) over Rademacher v.  For a positive semidefinite H both eta_d and the
Gaussian eta* lie in [2/(tr H + 2 lambda_max), 2/tr H] (docs/stepsize.md#the-descent-edge).
The first step of heavy ball from zero momentum is a ZO-GD step, so ZO-GDM has the same edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats


@dataclass(frozen=True)
class GradientCurvature:
    """The gradient's share of the edge: ||g||^2 and g^T H g (one Hessian-vector product)."""

    grad_sq: float
    grad_hessian_grad: float

    @property
    def rayleigh(self) -> float:
        """g^T H g / ||g||^2, the curvature along the gradient."""
        return self.grad_hessian_grad / self.grad_sq if self.grad_sq > 0 else 0.0


def gradient_curvature(op) -> GradientCurvature:
    """||g||^2 and g^T H g at the operator's parameters."""
    g = op.gradient
    return GradientCurvature(float(g @ g), float(g @ op.matvec(g)))


def descent_denominator(
    form: tuple[float, float, float, float], gc: GradientCurvature, *, trace: float, diag: float, q: int
) -> float:
    """E[g_hat^T H g_hat] of the module docstring."""
    c, a, b, e = form
    one = a * gc.grad_sq * trace + b * gc.grad_hessian_grad + e * diag
    return one / q + (1 - 1 / q) * c**2 * gc.grad_hessian_grad


def descent_edge(
    form: tuple[float, float, float, float], gc: GradientCurvature, *, trace: float, diag: float = 0.0, q: int = 1
) -> float:
    """eta_d = 2 c ||g||^2 / E[g_hat^T H g_hat]; inf when that is <= 0 (every small step descends in expectation)."""
    den = descent_denominator(form, gc, trace=trace, diag=diag, q=q)
    return 2 * form[0] * gc.grad_sq / den if den > 0 else math.inf


def rademacher(d: int, generator: torch.Generator, device) -> torch.Tensor:
    """A Rademacher vector in float64 from ``generator``."""
    v = 2.0 * torch.randint(0, 2, (d,), generator=generator, device=generator.device).to(torch.float64) - 1.0
    return v.to(device)


def hutchinson_samples(op, *, num_probes: int, generator: torch.Generator, weight=None) -> np.ndarray:
    """v^T H v (``weight`` None) or (w o v)^T H (w o v) per Rademacher probe v: unbiased for tr H or sum w_i^2 H_ii."""
    out = np.empty(int(num_probes))
    for i in range(out.size):
        v = rademacher(op.dim, generator, op.device)
        if weight is not None:
            v = v * weight
        out[i] = float(v @ op.matvec(v))
    return out


@dataclass(frozen=True)
class MeanInterval:
    """A sample mean with its two-sided t-interval."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: np.ndarray, *, confidence: float) -> MeanInterval:
        """The mean of ``samples`` and its t-interval at ``confidence``."""
        m = samples.size
        mean = float(samples.mean())
        if m < 2:
            return cls(mean, -math.inf, math.inf)
        half = float(stats.t(m - 1).isf((1 - confidence) / 2)) * float(samples.std(ddof=1)) / math.sqrt(m)
        return cls(mean, mean - half, mean + half)


def edge_interval(
    form: tuple[float, float, float, float], gc: GradientCurvature, trace: MeanInterval, diag: MeanInterval, *, q: int
) -> tuple[float, float]:
    """[low, high] of eta_d: it decreases in tr H (a >= 0) and in e * diag, so the ends come from the ends."""
    e = form[3]
    diag_hi, diag_lo = (diag.high, diag.low) if e >= 0 else (diag.low, diag.high)
    low = descent_edge(form, gc, trace=trace.high, diag=diag_hi if e else 0.0, q=q)
    high = descent_edge(form, gc, trace=trace.low, diag=diag_lo if e else 0.0, q=q)
    return low, high


def probes_for_trace(samples: np.ndarray, *, accuracy: float, confidence: float, cap: int) -> int:
    """Hutchinson probes for a relative half-width ``accuracy`` on tr H, from the spread of ``samples``."""
    m = samples.size
    mean = abs(float(samples.mean()))
    if m < 2 or mean == 0:
        return cap
    t = float(stats.t(m - 1).isf((1 - confidence) / 2))
    need = (t * float(samples.std(ddof=1)) / (accuracy * mean)) ** 2
    return int(min(cap, max(m, math.ceil(need))))


__all__ = [
    "GradientCurvature",
    "MeanInterval",
    "descent_denominator",
    "descent_edge",
    "edge_interval",
    "gradient_curvature",
    "hutchinson_samples",
    "probes_for_trace",
]
