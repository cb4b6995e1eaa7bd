"""Curvature along a training run: Tr H, lambda_max and the exact mean-square eta*(H_t).

The Hessian of a small network is formed densely (torch.func.hessian).  Away from
a minimum it has a few small negative eigenvalues; the mean-square operator is
defined for H >= 0, so eta* is computed on the positive part H_+ = V max(Lambda, 0) V^T
(the negative directions are unstable in the mean for every step size, slowly: at
rate eta |lambda_min| per step, the same for every law, so they do not move the edge).
``negative_mass`` reports how much was dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify.numeric.hessian import dense_hessian
from zoverify.numeric.stability_operator import StructuredOperator, critical_step_size
from zoverify.perturbations import AbstractLaw, parse_law


@dataclass(frozen=True)
class Curvature:
    """Per recorded point: trace and largest eigenvalue of H, of H_+, and the dropped negative mass."""

    trace: float
    lambda_max: float
    trace_positive: float
    negative_mass: float
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    def positive_part(self) -> np.ndarray:
        lam = np.clip(self.eigenvalues, 0.0, None)
        return (self.eigenvectors * lam) @ self.eigenvectors.T


def curvature(loss, theta: torch.Tensor) -> Curvature:
    """Dense Hessian of ``loss`` at one flat parameter vector, with its eigendecomposition."""
    H = dense_hessian(loss, theta.detach()).to(torch.float64).cpu().numpy()
    lam, V = np.linalg.eigh((H + H.T) / 2)
    neg = float(-lam[lam < 0].sum())
    return Curvature(float(lam.sum()), float(lam[-1]), float(lam[lam > 0].sum()), neg, lam, V)


def edge_step(curv: Curvature, law: AbstractLaw | str, *, q: int = 1, beta: float = 0.0) -> float:
    """Exact mean-square critical step eta*(H_+) of ZO-GD (beta = 0) or ZO-GDM with ``law`` and q queries."""
    method = "gd" if beta == 0 else "gdm"
    return critical_step_size(parse_law(law), curv.positive_part(), method=method, beta=beta, q=q,
                              solver="structured").eta_star


#: ln of the float64 dynamic range of a mean square: a mode's relative amplitude lies in [u, 1], u = 2^-53
FLOAT64_LOG_RANGE = 2 * 53 * float(np.log(2.0))


def edge_growth_rate(curv: Curvature, law: AbstractLaw | str, *, q: int = 1, beta: float = 0.0,
                     rel_step: float = 1e-4) -> float:
    """kappa = d ln rho / d ln eta at eta*: how fast the mean square grows per step per unit ln(eta/eta*).

    rho(eta) is the operator's Perron root (radius_near_one), differentiated by a central difference in
    ln eta (its error is O(rel_step^2) relative).  First-order GD has kappa = 4 (rho = (1 - eta l)^2).
    """
    method = "gd" if beta == 0 else "gdm"
    op = StructuredOperator(parse_law(law), curv.positive_part(), method=method, beta=beta, q=q)
    eta = op.eta_star()
    up = op.radius_near_one(eta * (1 + rel_step), width=0.05)
    down = op.radius_near_one(eta * (1 - rel_step), width=0.05)
    return float((np.log(up) - np.log(down)) / (np.log1p(rel_step) - np.log1p(-rel_step)))


def edge_band(kappa: float, window: int, *, log_range: float = FLOAT64_LOG_RANGE) -> float:
    """Half-width of the band for the window average of ln(eta*(H_t)/eta) (derivations/eos_band.py).

    Over ``window`` steps the mean square of the edge mode is multiplied by prod_t rho_t, and must stay
    inside a dynamic range exp(log_range); with ln rho_t = kappa ln(eta/eta*_t) to first order,
    |mean_t ln(eta*_t/eta)| <= log_range / (kappa window).
    """
    if not kappa > 0 or int(window) != window or window < 1:
        raise InvalidParameterError(f"kappa must be positive and window a positive integer, got {kappa}, {window}")
    return float(log_range / (kappa * window))


def first_order_edge(curv: Curvature, *, beta: float = 0.0) -> float:
    """2(1 + beta)/lambda_max: the first-order GD / heavy-ball threshold (Props. 1-2 of arXiv 2604.14669)."""
    return 2.0 * (1 + beta) / curv.lambda_max


__all__ = ["FLOAT64_LOG_RANGE", "Curvature", "curvature", "edge_band", "edge_growth_rate", "edge_step",
           "first_order_edge"]
