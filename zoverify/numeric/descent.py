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
    form: tuple[float, float, float, float],
    gc: GradientCurvature,
    *,
    trace: float,
    diag: float = 0.0,
    q: int = 1,
    numerator: float | None = None,
) -> float:
    """eta_d = 2 c ||g||^2 / E[g_hat^T H g_hat]; inf when that is <= 0 (every small step descends in expectation).

    ``numerator``: ||g||^2 of the full-batch gradient when ``gc`` holds minibatch means (E ||g_B||^2,
    E g_B^T H g_B), as for minibatch ZO-SGD judged on the full-batch loss; default ``gc.grad_sq``.
    """
    den = descent_denominator(form, gc, trace=trace, diag=diag, q=q)
    top = gc.grad_sq if numerator is None else numerator
    return 2 * form[0] * top / den if den > 0 else math.inf


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
    def exact(cls, value: float) -> MeanInterval:
        """A value known without sampling error."""
        return cls(value, value, value)

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
    form: tuple[float, float, float, float],
    *,
    grad_sq: MeanInterval,
    grad_hessian_grad: MeanInterval,
    trace: MeanInterval,
    diag: MeanInterval,
    numerator: float,
    q: int,
) -> tuple[float, float]:
    """[low, high] of eta_d over the box of the four means' intervals.

    The denominator is multilinear in them, so its range over the box is spanned by the 16 corners;
    eta_d = 2 c numerator / denominator is then bounded by the corners' extremes (high = inf when the
    box reaches a denominator <= 0).
    """
    dens = [
        descent_denominator(form, GradientCurvature(gs, ghg), trace=tr, diag=dg, q=q)
        for gs in (grad_sq.low, grad_sq.high)
        for ghg in (grad_hessian_grad.low, grad_hessian_grad.high)
        for tr in (trace.low, trace.high)
        for dg in (diag.low, diag.high)
    ]
    top = 2 * form[0] * numerator
    low = top / max(dens) if max(dens) > 0 else math.inf
    high = top / min(dens) if min(dens) > 0 else math.inf
    return low, high


def minibatch_gradient_moments(
    op, batch_loss_fn, model, *, draws: int, generator: torch.Generator, diag: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per minibatch draw: ||g_B||^2, g_B^T H g_B (H the full-batch Hessian of ``op``) and, when ``diag``,
    (g_B o v)^T H (g_B o v) for one Rademacher v (unbiased for sum g_B,i^2 H_ii); zeros otherwise.

    ``batch_loss_fn(model, generator)`` is the loss of one random minibatch drawn with ``generator``.
    """
    sq, ghg, dg = (np.zeros(int(draws)) for _ in range(3))
    for i in range(sq.size):
        with torch.enable_grad():
            loss = batch_loss_fn(model, generator)
            parts = torch.autograd.grad(loss.reshape(()), op.params, allow_unused=True)
        g = (
            torch.cat(
                [
                    torch.zeros_like(p).reshape(-1) if h is None else h.reshape(-1)
                    for p, h in zip(op.params, parts, strict=True)
                ]
            )
            .detach()
            .to(torch.float64)
        )
        sq[i] = float(g @ g)
        ghg[i] = float(g @ op.matvec(g))
        if diag:
            w = g * rademacher(op.dim, generator, op.device)
            dg[i] = float(w @ op.matvec(w))
    return sq, ghg, dg


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
    "minibatch_gradient_moments",
    "probes_for_trace",
]
