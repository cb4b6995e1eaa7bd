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

from zoverify._errors import InvalidParameterError, NotApplicableError
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
        """H_+ = V max(Lambda, 0) V^T."""
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
    return critical_step_size(
        parse_law(law), curv.positive_part(), method=method, beta=beta, q=q, solver="structured"
    ).eta_star


#: ln of the float64 dynamic range of a mean square: a mode's relative amplitude lies in [u, 1], u = 2^-53
FLOAT64_LOG_RANGE = 2 * 53 * float(np.log(2.0))


def edge_growth_rate(
    curv: Curvature, law: AbstractLaw | str, *, q: int = 1, beta: float = 0.0, rel_step: float = 1e-6
) -> float:
    """kappa = d ln rho / d ln eta at eta*: how fast the mean square grows per step per unit ln(eta/eta*).

    rho(eta) is the operator's Perron root (radius_near_one), differentiated by a central difference in
    ln eta (its error is O(rel_step^2) relative).  First-order GD has kappa = 4 (rho = (1 - eta l)^2).
    """
    method = "gd" if beta == 0 else "gdm"
    op = StructuredOperator(parse_law(law), curv.positive_part(), method=method, beta=beta, q=q)
    eta = op.eta_star()
    # the bracket around 1 must hold the Perron root (|rho - 1| ~ kappa rel_step) and no other sign change:
    # with momentum the flat directions' pair blocks put eigenvalues near 1, so start narrow, and accept
    # only a root that crosses 1 the right way (rho > 1 just above eta*, < 1 just below)
    for width in (100 * rel_step, 1e-3, 0.05):
        try:
            up = op.radius_near_one(eta * (1 + rel_step), width=width)
            down = op.radius_near_one(eta * (1 - rel_step), width=width)
        except ValueError:
            continue
        if up > 1 > down:
            return float((np.log(up) - np.log(down)) / (np.log1p(rel_step) - np.log1p(-rel_step)))
    raise NotApplicableError("the Perron root near 1 could not be bracketed for the growth rate")


def edge_band(kappa: float, window: int, *, log_range: float = FLOAT64_LOG_RANGE) -> float:
    """Half-width of the band for the window average of ln(eta*(H_t)/eta) (derivations/eos_band.py).

    Over ``window`` steps the mean square of the edge mode is multiplied by prod_t rho_t, and must stay
    inside a dynamic range exp(log_range); with ln rho_t = kappa ln(eta/eta*_t) to first order,
    |mean_t ln(eta*_t/eta)| <= log_range / (kappa window).
    """
    if not kappa > 0 or int(window) != window or window < 1:
        raise InvalidParameterError(f"kappa must be positive and window a positive integer, got {kappa}, {window}")
    return float(log_range / (kappa * window))


def block_edge(
    curv: Curvature, *, blocks: int, q: int = 1, scaled: bool = True, tol: float = 1e-12
) -> tuple[float, float]:
    """(eta*, kappa) of q-query ZO-GD with uniformly drawn block-coordinate directions, on H_+.

    The one-step map is T(X) = X - eta (c^2/B) L_H(X) + eta^2 (c^4/B) N_q(H X H), L_H(X) = HX + XH,
    N_q(Y) = (BlockTrace(Y) + 2 BlockDiag(Y))/q + ((1 - 1/q)/B) Y (q independent directions average
    to E[B X B] = F(X)/q + (1 - 1/q) M2 X M2, M2 = (c^2/B) I).  As in zoverify/symbolic/bcd_stability.py
    (case (b)), T(X) = X iff eta c^2 K X = X with K similar to A = M^1/2 N_q M^1/2, M = C_H L_H^-1
    (entrywise l_i l_j/(l_i + l_j) in H's eigenbasis, 0 where both vanish), so eta* = 1/(c^2 rho(A)).
    A is a self-adjoint map of symmetric d x d matrices: its top eigenpair (mu, u) comes matrix-free
    from Lanczos (scipy's eigsh), so any d works (the library's dense operator stops at d = 12).

    The growth rate at the edge: T's right and left Perron vectors at eta* are r = C^-1 M^1/2 u and
    l = M^1/2 u, and d rho/d eta = (c^2/B) <l, L_H r>/<l, r>, so (with M L C^-1 = I, M C^-1 = L^-1)

        kappa = eta* (c^2/B) ||u||^2 / <u, L_H^-1 u>.

    One mode (H = l e e^T, B = 1): kappa = 4q/(q+2), the closed form of derivations/eos_band.py.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    from zoverify.symbolic.structured import block_index

    lam = np.clip(curv.eigenvalues, 0.0, None)
    V = curv.eigenvectors
    d = lam.size
    nb = int(blocks)
    if nb < 1 or nb > d or int(q) != q or q < 1:
        raise InvalidParameterError(f"blocks must be in 1..{d} and q a positive integer, got {blocks}, {q}")
    total = np.add.outer(lam, lam)
    weight = np.sqrt(np.divide(np.outer(lam, lam), total, out=np.zeros_like(total), where=total > 0))
    inverse_sum = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    idx = block_index(d, nb)
    same = idx[:, None] == idx[None, :]

    def m_half(Y):
        return V @ (weight * (V.T @ Y @ V)) @ V.T

    def noise(Y):
        traces = np.bincount(idx, weights=np.diag(Y), minlength=nb)
        return (np.diag(traces[idx]) + 2 * np.where(same, Y, 0.0)) / q + ((1 - 1 / q) / nb) * Y

    def apply(y):
        Y = y.reshape(d, d)
        Y = (Y + Y.T) / 2  # the antisymmetric part is not a second moment: project it out
        Z = m_half(noise(m_half(Y)))
        return ((Z + Z.T) / 2).ravel()

    # LinearOperator.__new__ returns a matvec-backed subclass; the checker sees only the abstract __init__
    op = LinearOperator((d * d, d * d), matvec=apply, dtype=float)  # pyright: ignore[reportCallIssue]
    start = (V @ np.diag(lam) @ V.T).ravel()  # a PSD start overlapping the Perron matrix
    mu, u = eigsh(op, k=1, which="LA", v0=start, tol=tol)  # pyright: ignore[reportArgumentType]  # tol=0 infers int
    c2 = float(nb) if scaled else 1.0
    eta = 1.0 / (c2 * float(mu[0]))
    U = V.T @ u[:, 0].reshape(d, d) @ V
    kappa = eta * (c2 / nb) * float(np.sum(U * U)) / float(np.sum(inverse_sum * U * U))
    return eta, kappa


def block_edge_step(curv: Curvature, *, blocks: int, q: int = 1, scaled: bool = True) -> float:
    """eta* of :func:`block_edge` alone."""
    return block_edge(curv, blocks=blocks, q=q, scaled=scaled)[0]


def batched_hvp(loss, theta: torch.Tensor):
    """v -> H(theta_r) v_r for every replicate r at once (theta, v of shape (R, d); losses independent)."""
    with torch.enable_grad():
        x = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss(x).sum(), x, create_graph=True)

    def apply(v: torch.Tensor) -> torch.Tensor:
        (hv,) = torch.autograd.grad(g, x, grad_outputs=v, retain_graph=True)
        return hv.detach()

    return apply


def _lanczos_top(mv, R: int, d: int, dtype, device, *, num_iters: int, generator: torch.Generator) -> np.ndarray:
    """Largest Ritz value per replicate of ``num_iters`` Lanczos steps on the batched operator ``mv``."""
    k = min(int(num_iters), d)
    Q = torch.zeros(R, k + 1, d, dtype=dtype, device=device)
    q0 = torch.randn(R, d, generator=generator, dtype=dtype, device=generator.device).to(device)
    Q[:, 0] = q0 / q0.norm(dim=1, keepdim=True)
    alpha = torch.zeros(R, k, dtype=dtype, device=device)
    beta = torch.zeros(R, k, dtype=dtype, device=device)
    for j in range(k):
        w = mv(Q[:, j])
        alpha[:, j] = (w * Q[:, j]).sum(1)
        for _ in range(2):  # full reorthogonalization, twice
            w = w - torch.einsum("rk,rkd->rd", torch.einsum("rkd,rd->rk", Q[:, : j + 1], w), Q[:, : j + 1])
        beta[:, j] = w.norm(dim=1)
        Q[:, j + 1] = w / beta[:, j : j + 1].clamp_min(1e-300)
    T = torch.diag_embed(alpha) + torch.diag_embed(beta[:, :-1], 1) + torch.diag_embed(beta[:, :-1], -1)
    return torch.linalg.eigvalsh(T)[:, -1].cpu().numpy()


def batched_lambda_max(loss, theta: torch.Tensor, *, num_iters: int, generator: torch.Generator) -> np.ndarray:
    """Largest Ritz value of ``num_iters`` Lanczos steps (full reorthogonalization) per replicate.

    Converges to lambda_max from below; the Hessian-vector products of all R replicates are one
    batched backward pass, so R replicates cost about one.
    """
    R, d = theta.shape
    return _lanczos_top(
        batched_hvp(loss, theta), R, d, theta.dtype, theta.device, num_iters=num_iters, generator=generator
    )


def batched_orbit_lambda_max(
    loss, theta_a: torch.Tensor, theta_b: torch.Tensor, *, num_iters: int, generator: torch.Generator
) -> np.ndarray:
    """lambda_max of the Hessian averaged over the segment [theta_a, theta_b], per replicate.

    The average int_0^1 H(theta_a + s (theta_b - theta_a)) ds is taken by Simpson's rule,
    (H(a) + 4 H((a + b)/2) + H(b))/6, exact when H is quadratic along the segment (the loss
    quartic).  For consecutive iterates of GD on a period-2 orbit this averaged Hessian has the
    step direction as an eigenvector with eigenvalue exactly 2/eta (derivations/eos_band.py, Sec. 8).
    """
    R, d = theta_a.shape
    ends, mid = batched_hvp(loss, torch.cat([theta_a, theta_b])), batched_hvp(loss, (theta_a + theta_b) / 2)

    def mv(v: torch.Tensor) -> torch.Tensor:
        both = ends(torch.cat([v, v]))
        return (both[:R] + 4 * mid(v) + both[R:]) / 6

    return _lanczos_top(mv, R, d, theta_a.dtype, theta_a.device, num_iters=num_iters, generator=generator)


def first_order_edge(curv: Curvature, *, beta: float = 0.0) -> float:
    """2(1 + beta)/lambda_max: the first-order GD / heavy-ball threshold (Props. 1-2 of arXiv 2604.14669)."""
    return 2.0 * (1 + beta) / curv.lambda_max


__all__ = [
    "FLOAT64_LOG_RANGE",
    "Curvature",
    "batched_hvp",
    "batched_lambda_max",
    "batched_orbit_lambda_max",
    "block_edge",
    "block_edge_step",
    "curvature",
    "edge_band",
    "edge_growth_rate",
    "edge_step",
    "first_order_edge",
]
