"""Best-of-K ZO (the NZK paper's "standard ZO" baseline) on a quadratic, exactly.

Each step draws K directions z_k ~ N(0, sigma^2 I), keeps the one with the largest
loss difference L(theta + eps z) - L(theta - eps z) (= 2 eps g.z on a quadratic) and
steps theta <- theta - eta (g.z*) z*.  Because the Gaussian is rotation invariant,
the kept direction is

    z* = X g_hat + z_perp,   X = sigma max_k N_k(0, 1),   z_perp ~ N(0, sigma^2 (I - g_hat g_hat^T)),

with X independent of z_perp.  So E[(g.z*) z*] = a2 g and
E[(g.z*)^2 z* z*^T] = (a4 - a2 b) g g^T + a2 b ||g||^2 I, where a2 = E X^2, a4 = E X^4,
b = sigma^2.  With e = theta - theta*, g = H e and S = E e e^T this closes:

    S' = S - eta a2 (H S + S H) + eta^2 [(a4 - a2 b) H S H + a2 b tr(H S H) I],

and in H's eigenbasis the diagonal s_i = E (v_i^T e)^2 follows a linear recursion
of its own (the off-diagonal entries never feed back), so the expected excess loss
E L_t - L* = (1/2) sum_i lambda_i s_i(t) is exact for every t.  K = 1 is plain
ZO-GD (a2 = sigma^2, a4 = 3 sigma^4).
"""

from __future__ import annotations

from functools import lru_cache

import mpmath as mp
import numpy as np
import sympy as sp

from zoverify._errors import InvalidParameterError

eta, lam, a2, a4, b, h, m = sp.symbols("eta lambda a_2 a_4 b h m", positive=True)


def max_normal_moments(num_candidates: int, *, sigma: float = 1.0) -> tuple[float, float]:
    """(E X^2, E X^4) for X = sigma max of ``num_candidates`` iid N(0, 1), by quadrature of
    x^k K phi(x) Phi(x)^(K-1) (the density of the maximum)."""
    K = _candidates(num_candidates)
    if not sigma > 0:
        raise InvalidParameterError(f"sigma must be positive, got {sigma}")
    m2, m4 = _standard_max_moments(K)
    return sigma**2 * m2, sigma**4 * m4


@lru_cache(maxsize=256)
def _standard_max_moments(K: int) -> tuple[float, float]:
    with mp.workdps(30):
        density = lambda x: K * mp.npdf(x) * mp.ncdf(x) ** (K - 1)  # noqa: E731
        cuts = [-mp.inf, -2, 0, 2, 4, mp.inf]
        # quad returns an mpf (a pair only with error=True)
        m2, m4 = (float(mp.quad(lambda x, k=k: x**k * density(x), cuts)) for k in (2, 4))  # pyright: ignore[reportArgumentType]
    return m2, m4


def mode_factor_expr() -> sp.Expr:
    """One step's factor on s_i from itself: 1 - 2 eta a2 lambda + eta^2 (a4 - a2 b) lambda^2."""
    return 1 - 2 * eta * a2 * lam + eta**2 * (a4 - a2 * b) * lam**2


def isotropic_factor_expr() -> sp.Expr:
    """E ||e_(t+1)||^2 / ||e_t||^2 when H = h I_m: every mode also takes the whole trace term."""
    return mode_factor_expr().subs(lam, h) + eta**2 * a2 * b * m * h**2


def excess_loss_curve(
    eigenvalues, s0, *, step: float, a2: float, a4: float, b: float, steps, scale: float = 1.0
) -> np.ndarray:
    """``scale`` * E (1/2) sum_i lambda_i s_i(t) for each t in ``steps`` (s0: the initial diagonal)."""
    lam_ = np.asarray(eigenvalues, float)
    s = np.asarray(s0, float)
    steps = [int(t) for t in steps]
    if any(t < 0 for t in steps):
        raise InvalidParameterError(f"steps must be non-negative integers, got {steps}")
    if lam_.ndim != 1 or s.shape != lam_.shape:
        raise InvalidParameterError(f"eigenvalues and s0 must be vectors of one length, got {lam_.shape}, {s.shape}")
    if lam_.min(initial=0.0) < 0:
        raise InvalidParameterError("the Hessian must be positive semidefinite (a negative eigenvalue was given)")
    diag = 1 - 2 * step * a2 * lam_ + step**2 * (a4 - a2 * b) * lam_**2
    A = np.diag(diag) + step**2 * a2 * b * np.outer(np.ones_like(lam_), lam_**2)
    out, power, done = [], np.eye(lam_.size), 0
    for t in sorted(steps):
        power = np.linalg.matrix_power(A, t - done) @ power
        done = t
        out.append(scale * 0.5 * float(lam_ @ (power @ s)))
    order = np.argsort(np.argsort(steps))
    return np.asarray(out)[order]


def least_squares_start(Phi, y, theta0) -> tuple[np.ndarray, np.ndarray, float]:
    """The quadratic L = (1/2) mean((Phi theta - y)^2) seen from theta0, in float64: H = Phi^T Phi / N's nonzero
    eigenvalues, e0 = V^T (theta0 - theta*) and the floor L(theta*), theta* the minimum-norm least-squares
    solution.  One SVD with one cut-off, so the modes least squares fits are the modes that carry e0."""
    Phi, y, theta0 = (np.asarray(a, dtype=float) for a in (Phi, y, theta0))
    U, s, Vt = np.linalg.svd(Phi, full_matrices=False)
    keep = s > s.max() * max(Phi.shape) * np.finfo(float).eps
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    theta_star = Vt.T @ ((U.T @ y) / s)
    return s**2 / Phi.shape[0], Vt @ (theta0 - theta_star), float(0.5 * np.mean((Phi @ theta_star - y) ** 2))


def _candidates(num_candidates) -> int:
    if int(num_candidates) != num_candidates or num_candidates < 1:
        raise InvalidParameterError(
            f"the number of candidate directions must be a positive integer, got {num_candidates}"
        )
    return int(num_candidates)


__all__ = [
    "excess_loss_curve",
    "isotropic_factor_expr",
    "least_squares_start",
    "max_normal_moments",
    "mode_factor_expr",
]
