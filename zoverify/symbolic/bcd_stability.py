"""Mean-square stability threshold eta* of block-coordinate ZO (MeZO-BCD) on a quadratic.

Directions: the ``block`` law, z = c D_b w with w ~ N(0, I), block b of the
contiguous partition of range(d) (``block_sizes``), c^2 = B (scaled: E[zz^T] = I)
or 1 (unscaled).  Given the block, E[zz^T | b] = c^2 P_b and
E[zz^T A zz^T | b] = c^4 (tr(P_b A) P_b + 2 P_b A P_b) (Isserlis inside the block),
so one ZO-GD step on block b maps X = E[x x^T] to

    T_b(X) = X - eta c^2 (P_b H X + X H P_b) + eta^2 c^4 (tr(P_b H X H) P_b + 2 P_b H X H P_b).

Uniform order (iid blocks): T = (1/B) sum_b T_b.  Derivation and checks:
derivations/bcd_stability.py.  Results:

(a) Block-aligned H (H = diag(H_1, ..., H_B) in the partition): the diagonal
    blocks X_bb evolve alone (off-diagonal blocks follow noise-free first-order
    dynamics), and X_bb follows a law with M2 = c'I, F(A) = a' tr(A) I + b' A,
    c' = c^2/B, a' = c^4/B, b' = 2 c^4/B.  So kappa_g = B, kappa_s = 2B - 1, s = c^2/B
    in the per-mode gain, and eta* = min_b (root of sum_{i in b} g_i = 1):

        g_i = eta c^2 l_i (1 + beta) / (2 (1 - beta^2) - 2 eta c^2 l_i (1 + beta (1 - 1/B))).

    For GD (beta = 0) B cancels: eta*_BCD = min_b eta*_Gauss(spec H_b) / c^2.  With
    momentum it does not: the beta (1 - 1/B) term lowers eta* below the c^2 scaling.
    H = l I, equal blocks of r = d/B:
    eta* = 2 (1 - beta^2) / (c^2 l ((1 + beta)(d/B + 2) - 2 beta / B)).

(b) General H, GD, uniform order.  T - I = -(eta c^2/B) L_H + eta^2 (c^4/B) N(H . H)
    with L_H(X) = HX + XH and N(Y) = BlockTrace(Y) + 2 BlockDiag(Y), so T(X) = X iff
    eta c^2 K(X) = X, K = L_H^{-1} N C_H (C_H(X) = HXH).  T preserves the PSD cone, so
    its spectral radius is an eigenvalue and the first eta at which it reaches 1 is

        eta* = 1 / (c^2 rho(K)),  rho(K) = max_Y [sum_b (tr Y_bb)^2 + 2 ||Y_bb||_F^2] / (2 tr(H^-1 Y^2))

    (C_H L_H^-1 = M is self-adjoint positive, N is self-adjoint PSD, so K is similar to
    M^1/2 N M^1/2: a symmetric eigenproblem, linear in eta).  Only the diagonal blocks of
    Y enter the numerator and tr(H^-1 Y^2) >= sum_b tr(H_bb^-1 Y_bb^2) (the variational
    form of u^T H^-1 u with a block-diagonal test matrix), so the block-diagonal part
    of H gives a lower bound; Y supported on one block gives an upper bound with the
    Schur complement S_b = ((H^-1)_bb)^-1:

        min_b eta*_G(H_bb) / c^2  <=  eta*_BCD(H)  <=  min_b eta*_G(S_b) / c^2,

    both equalities for block-aligned H.  The same argument with N_G(Y) = tr(Y) I + 2Y
    gives the Gaussian eta* (Eq. 16 of the stability paper) as 1/rho(L_H^-1 N_G C_H).

Cyclic orders: a sweep applies every T_b once, T_{b_B} ... T_{b_1} (fixed order), or a
fresh random permutation per epoch (the ``block`` law's ``order="cyclic"``): the epoch
map is the average of the B! products.  For aligned H and GD the epoch map on X_bb is
T_b's own block map (each block is stepped once), so eta* is that of the uniform
order.  For general H, and for GDM even with aligned H (the momentum keeps moving a
block while others are stepped), the thresholds differ and are computed here from the
per-block maps (:func:`bcd_eta_star_operator`).

This module never imports torch.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp
from scipy import optimize

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.moment_maps import symbols as S
from zoverify.symbolic.stability import SpectralSetting, spectral_eta_star
from zoverify.symbolic.structured import B, block_index, r

ORDERS = ("uniform", "sweep", "reshuffled")
METHODS = ("gd", "gdm")
MAX_RESHUFFLED_BLOCKS = 8


# --------------------------------------------------------------------------- symbolic
def scale_sq(blocks: S.Dim = B, *, scaled: bool = True) -> sp.Expr:
    """c^2 of the block law: B (scaled, E[zz^T] = I) or 1."""
    return sp.sympify(blocks) if scaled else sp.Integer(1)


def bcd_gain(
    lam: sp.Expr | float = S.lam,
    *,
    eta: sp.Expr | float = S.eta,
    beta: sp.Expr | float = 0,
    blocks: S.Dim = B,
    c2: sp.Expr | float | None = None,
) -> sp.Expr:
    """Per-mode gain g_i of block-aligned H under uniform block choice (sum over a block = 1 at eta*).

    It is the general gain of docs/stability.md#the-gain-formula with kappa_g = B, kappa_s = 2B - 1 and
    s = c^2/B, the constants of one block's second-moment map (module docstring).
    """
    blocks = sp.sympify(blocks)
    c2 = blocks if c2 is None else sp.sympify(c2)
    beta = sp.sympify(beta)
    kappa_g, kappa_s, s = blocks, 2 * blocks - 1, c2 / blocks
    return (eta * kappa_g * lam * s * (1 + beta)) / (
        2 * (1 - beta**2) - eta * lam * s * ((1 + kappa_s) - beta * (1 - kappa_s))
    )


@lru_cache(maxsize=8)
def bcd_isotropic_eta_star(*, scaled: bool = True, momentum: bool = False) -> sp.Expr:
    """eta* for H = lambda I and B equal blocks of r = d/B coordinates (d, B, lambda, beta symbolic).

    Solves r g(eta) = 1 for the aligned gain :func:`bcd_gain`:
    2 (1 - beta^2) / (c^2 lambda ((1 + beta)(d/B + 2) - 2 beta/B)); beta = 0 for GD.
    """
    beta = S.beta if momentum else sp.Integer(0)
    g = bcd_gain(S.lam, eta=S.eta, beta=beta, blocks=B, c2=scale_sq(B, scaled=scaled))
    (root,) = sp.solve(sp.Eq(r * g, 1), S.eta)  # r g = 1 is linear in eta once the denominator is cleared
    return sp.factor(sp.simplify(root.subs(r, S.d / B)))  # pyright: ignore[reportReturnType]  # an Expr


# ------------------------------------------------------------------- aligned (numeric)
def _check(blocks: int, dim: int | None = None) -> int:
    if isinstance(blocks, bool) or int(blocks) != blocks or int(blocks) < 1:
        raise InvalidParameterError(f"blocks must be a positive integer, got {blocks!r}")
    if dim is not None and int(blocks) > dim:
        raise InvalidParameterError(f"blocks ({blocks}) must not exceed the dimension ({dim})")
    return int(blocks)


def _hessian(H) -> np.ndarray:
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] < 1:
        raise InvalidParameterError(f"Hessian must be a square matrix, got shape {H.shape}")
    if not np.all(np.isfinite(H)) or np.abs(H - H.T).max() > 1e-10 * max(np.abs(H).max(), 1e-300):
        raise InvalidParameterError("Hessian must be a finite symmetric matrix")
    H = (H + H.T) / 2
    if np.linalg.eigvalsh(H)[0] <= 0:
        raise InvalidParameterError("Hessian must be positive definite (the block thresholds use H^-1)")
    return H


def block_setting(blocks: int, *, scaled: bool = True, beta: float = 0.0) -> SpectralSetting:
    """The gain constants of one block of an aligned H: kappa_g = B, kappa_s = 2B - 1, s = c^2/B."""
    nb = _check(blocks)
    c2 = float(scale_sq(nb, scaled=scaled))
    return SpectralSetting(kappa_g=float(nb), kappa_s=float(2 * nb - 1), beta=float(beta), s=c2 / nb)


def diagonal_blocks(H, blocks: int) -> list[np.ndarray]:
    """The diagonal blocks H_bb of the contiguous partition (numpy.array_split sizes)."""
    H = np.asarray(H, dtype=float)
    idx = block_index(H.shape[0], _check(blocks, H.shape[0]))
    return [H[np.ix_(idx == b, idx == b)] for b in range(int(blocks))]


def is_block_aligned(H, blocks: int, *, rtol: float = 1e-12) -> bool:
    """True iff H has no entries outside the diagonal blocks (up to rtol x max |H|)."""
    H = np.asarray(H, dtype=float)
    idx = block_index(H.shape[0], _check(blocks, H.shape[0]))
    off = np.where(idx[:, None] != idx[None, :], H, 0.0)
    return bool(np.abs(off).max() <= rtol * np.abs(H).max())


def bcd_aligned_eta_star(block_spectra, *, blocks: int | None = None, scaled: bool = True, beta: float = 0.0) -> float:
    """eta* = min over blocks of the root of sum_{i in b} g_i = 1 (case (a)); ``block_spectra``: one list per block."""
    spectra = [np.asarray(s, dtype=float).ravel() for s in block_spectra]
    nb = len(spectra) if blocks is None else _check(blocks)
    if len(spectra) != nb or any(s.size == 0 for s in spectra):
        raise InvalidParameterError(f"need {nb} non-empty block spectra, got sizes {[s.size for s in spectra]}")
    if not 0 <= beta < 1:
        raise InvalidParameterError(f"beta must be in [0, 1), got {beta}")
    if any(np.any(s <= 0) for s in spectra):
        raise InvalidParameterError("block spectra must be positive (H positive definite)")
    setting = block_setting(nb, scaled=scaled, beta=beta)
    with mpmath.workdps(30):
        return float(min(spectral_eta_star(s, setting) for s in spectra))


def gaussian_eta_star(eigs) -> float:
    """eta* of ZO-GD with N(0, I) directions (B = 1): root of sum_i eta l_i / (2 (1 - eta l_i)) = 1."""
    return bcd_aligned_eta_star([eigs], blocks=1, scaled=True)


# ---------------------------------------------------------------- general H, GD, uniform
def _sym_basis(d: int):
    """Orthonormal (Frobenius) basis of symmetric d x d matrices: E_aa and (E_ab + E_ba)/sqrt 2."""
    basis = []
    for a in range(d):
        for b in range(a, d):
            E = np.zeros((d, d))
            if a == b:
                E[a, a] = 1.0
            else:
                E[a, b] = E[b, a] = 1.0 / np.sqrt(2.0)
            basis.append(E)
    return basis


def _gram(op, basis) -> np.ndarray:
    """Matrix of a self-adjoint linear map of symmetric matrices in an orthonormal basis."""
    images = [op(E) for E in basis]
    return np.array([[np.sum(Ei * Fj) for Fj in images] for Ei in basis])


def noise_form(blocks: int):
    """N(Y) = BlockTrace(Y) + 2 BlockDiag(Y) for the contiguous partition (blocks = 1: tr(Y) I + 2Y)."""

    def apply(Y: np.ndarray) -> np.ndarray:
        idx = block_index(Y.shape[0], blocks)
        same = idx[:, None] == idx[None, :]
        traces = np.bincount(idx, weights=np.diag(Y), minlength=blocks)
        return np.diag(traces[idx]) + 2 * np.where(same, Y, 0.0)

    return apply


def rho_K(H, blocks: int) -> float:
    """rho(K) = lambda_max(M^1/2 N M^1/2), M = C_H L_H^-1 (entrywise l_i l_j / (l_i + l_j) in H's eigenbasis)."""
    H = _hessian(H)
    nb = _check(blocks, H.shape[0])
    lam, V = np.linalg.eigh(H)
    basis = _sym_basis(H.shape[0])
    weight = np.sqrt(np.outer(lam, lam) / np.add.outer(lam, lam))

    def m_half(Y):
        return V @ (weight * (V.T @ Y @ V)) @ V.T

    N = noise_form(nb)
    return float(np.linalg.eigvalsh(_gram(lambda Y: m_half(N(m_half(Y))), basis))[-1])


def bcd_eta_star_general(H, *, blocks: int, scaled: bool = True) -> float:
    """eta* of ZO-GD with uniformly chosen blocks on any H > 0: 1 / (c^2 rho(K)) (case (b))."""
    return 1.0 / (float(scale_sq(int(blocks), scaled=scaled)) * rho_K(H, blocks))


def bcd_eta_star_bounds(H, *, blocks: int, scaled: bool = True) -> tuple[float, float]:
    """(lower, upper): the aligned formula on the diagonal blocks H_bb and on the Schur complements S_b.

    lower = min_b eta*_G(H_bb)/c^2 <= eta* <= min_b eta*_G(S_b)/c^2 = upper, S_b = ((H^-1)_bb)^-1.
    """
    H = _hessian(H)
    nb = _check(blocks, H.shape[0])
    c2 = float(scale_sq(nb, scaled=scaled))
    inner = [np.linalg.eigvalsh(h) for h in diagonal_blocks(H, nb)]
    schur = [np.linalg.eigvalsh(np.linalg.inv(s)) for s in diagonal_blocks(np.linalg.inv(H), nb)]
    return min(gaussian_eta_star(s) for s in inner) / c2, min(gaussian_eta_star(s) for s in schur) / c2


# ------------------------------------------------------------- per-block maps (any order)
def _state_index(d: int, method: str):
    sym = [(a, b) for a in range(d) for b in range(a, d)]
    full = [(a, b) for a in range(d) for b in range(d)]
    return [("X", sym)] + ([("C", full), ("M", sym)] if method == "gdm" else [])


def block_step_operator(H, cols, *, eta: float, c2: float, method: str = "gd", beta: float = 0.0) -> np.ndarray:
    """The second-moment map of one step on the block ``cols`` (state X, and C, Mm for GDM), as a matrix.

    From E[zz^T | b] = c^2 P_b and E[zz^T A zz^T | b] = c^4 (tr(P_b A) P_b + 2 P_b A P_b):
    Mm' = beta^2 Mm + beta (C^T H M + M H C) + F(H X H), C' = beta C + X H M - eta Mm',
    X' = X - eta (beta C + X H M) - eta (beta C + X H M)^T + eta^2 Mm' (GD: beta = 0, X only).
    Coordinates: X[a, b] and Mm[a, b] for a <= b (basis E_ab + E_ba), C[a, b] for all a, b.
    """
    T0, T1, T2 = _block_step_coefficients(np.asarray(H, dtype=float), tuple(int(c) for c in cols), c2, method, beta)
    return T0 + eta * T1 + eta**2 * T2


def _block_step_coefficients(H: np.ndarray, cols: tuple, c2: float, method: str, beta: float):
    """(T0, T1, T2) with T(eta) = T0 + eta T1 + eta^2 T2: the map is a quadratic polynomial in eta."""
    d = H.shape[0]
    P = np.zeros((d, d))
    P[list(cols), list(cols)] = 1.0
    M = c2 * P
    layout = _state_index(d, method)
    rows = [(name, np.array([i for i, _ in idx]), np.array([j for _, j in idx])) for name, idx in layout]
    images = {eta: [] for eta in (0.0, 1.0, -1.0)}
    zero = np.zeros((d, d))
    for name, idx in layout:
        for a, b in idx:
            E = np.zeros((d, d))
            E[a, b] = 1.0
            if name != "C":  # X and Mm are symmetric: basis E_ab + E_ba
                E[b, a] = 1.0
            X, C, Mm = (E if name == n else zero for n in ("X", "C", "M"))
            HXH = H @ X @ H
            Mn = beta**2 * Mm + beta * (C.T @ H @ M + M @ H @ C) + c2**2 * (np.trace(P @ HXH) * P + 2 * P @ HXH @ P)
            xm = beta * C + X @ H @ M
            for eta, out in images.items():
                state = {"X": X - eta * (xm + xm.T) + eta**2 * Mn, "C": xm - eta * Mn, "M": Mn}
                out.append(np.concatenate([state[n][i, j] for n, i, j in rows]))
    T0, Tp, Tm = (np.array(images[e]).T for e in (0.0, 1.0, -1.0))
    return T0, (Tp - Tm) / 2, (Tp + Tm) / 2 - T0


def _block_coefficients(H, nb: int, scaled: bool, method: str, beta: float) -> list:
    idx = block_index(H.shape[0], nb)
    c2 = float(scale_sq(nb, scaled=scaled))
    return [_block_step_coefficients(H, tuple(np.flatnonzero(idx == b)), c2, method, beta) for b in range(nb)]


def _epoch(coeffs, eta: float, order: str) -> np.ndarray:
    T = [T0 + eta * T1 + eta**2 * T2 for T0, T1, T2 in coeffs]
    nb = len(T)
    eye = np.eye(T[0].shape[0])
    if order == "uniform":
        return np.linalg.matrix_power(sum(T) / nb, nb)
    if order == "sweep":
        out = eye
        for Tb in T:
            out = Tb @ out
        return out
    F: dict[tuple[int, ...], np.ndarray] = {(): eye}
    for size in range(1, nb + 1):
        for subset in itertools.combinations(range(nb), size):
            F[subset] = sum((T[b] @ F[tuple(x for x in subset if x != b)] for b in subset), np.zeros_like(eye))
    return F[tuple(range(nb))] / float(np.prod(np.arange(1, nb + 1)))


def _check_order(order: str, method: str, blocks: int) -> None:
    if order not in ORDERS:
        raise InvalidParameterError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if order == "reshuffled" and int(blocks) > MAX_RESHUFFLED_BLOCKS:
        raise InvalidParameterError(
            f"order 'reshuffled' sums 2^B products; B = {blocks} exceeds {MAX_RESHUFFLED_BLOCKS}"
        )


def epoch_operator(
    H, *, blocks: int, eta: float, scaled: bool = True, method: str = "gd", beta: float = 0.0, order: str = "uniform"
) -> np.ndarray:
    """Second-moment map over one epoch of B steps.

    ``uniform``: ((1/B) sum_b T_b)^B; ``sweep``: T_{B-1} ... T_0; ``reshuffled``: the average
    over the B! orders (the ``block`` law's ``order="cyclic"``), summed over subsets
    (F(S) = sum_{b in S} T_b F(S - b)) instead of over permutations.
    """
    _check_order(order, method, blocks)
    H = np.asarray(H, dtype=float)
    nb = _check(blocks, H.shape[0])
    beta = 0.0 if method == "gd" else float(beta)
    return _epoch(_block_coefficients(H, nb, scaled, method, beta), float(eta), order)


def epoch_radius(H, **kwargs) -> float:
    """Spectral radius of :func:`epoch_operator`."""
    return float(np.max(np.abs(np.linalg.eigvals(epoch_operator(H, **kwargs)))))


def bcd_eta_star_operator(
    H,
    *,
    blocks: int,
    scaled: bool = True,
    method: str = "gd",
    beta: float = 0.0,
    order: str = "uniform",
    guess: float | None = None,
) -> float:
    """First eta where the epoch map's spectral radius reaches 1 (bracketed geometrically, then Brent)."""
    H = _hessian(H)
    _check_order(order, method, blocks)
    nb = _check(blocks, H.shape[0])
    if not 0 <= beta < 1:
        raise InvalidParameterError(f"beta must be in [0, 1), got {beta}")
    beta = 0.0 if method == "gd" else float(beta)
    coeffs = _block_coefficients(H, nb, scaled, method, beta)

    def excess(eta):
        return float(np.max(np.abs(np.linalg.eigvals(_epoch(coeffs, eta, order))))) - 1.0

    if guess is None:
        guess = 0.5 * bcd_eta_star_bounds(H, blocks=nb, scaled=scaled)[0] * (1 - beta)
    elif not (math.isfinite(guess) and guess > 0):
        raise InvalidParameterError(f"guess must be a positive finite step size, got {guess}")
    lo = hi = float(guess)
    # at a step far below eta* the radius rounds to 1 (excess 0): that is the stable side, so grow from there
    if excess(lo) > 0:
        for _ in range(200):
            hi, lo = lo, lo / 1.25
            if excess(lo) < 0:
                break
        else:
            raise NotApplicableError(f"no stable step size found in [{lo:.3g}, {guess:.3g}]; give a smaller guess")
    else:
        for _ in range(200):
            lo, hi = hi, hi * 1.25
            if excess(hi) > 0:
                break
        else:
            raise NotApplicableError(f"no stability edge found in [{guess:.3g}, {hi:.3g}]; give a larger guess")
    root = optimize.brentq(excess, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)
    return float(root)  # pyright: ignore[reportArgumentType]  # a float without full_output


__all__ = [
    "METHODS",
    "ORDERS",
    "bcd_aligned_eta_star",
    "bcd_eta_star_bounds",
    "bcd_eta_star_general",
    "bcd_eta_star_operator",
    "bcd_gain",
    "bcd_isotropic_eta_star",
    "block_setting",
    "block_step_operator",
    "diagonal_blocks",
    "epoch_operator",
    "epoch_radius",
    "gaussian_eta_star",
    "is_block_aligned",
    "noise_form",
    "rho_K",
    "scale_sq",
]
