"""Mean-square stability of ZO-GD, ZO-GDM (heavy ball) and frozen ZO-Adam on a quadratic.

Everything here is derived from a law's moment maps, never from a hard-coded
Isserlis identity.  On f = x^T H x / 2 the central two-point estimator with q
directions is g = B H x, B = (1/q) sum_k z_k z_k^T, so only

    E[B]         = M2                         (law.second_moment)
    E[B A B^T]   = (1 - 1/q) M2 A M2 + F(A)/q  (F = law.fourth_moment)

enter the second-moment recursion (forward differences add a state-independent
term for sign-symmetric laws; docs/stability.md#forward-differences).  With m' = beta m + s g and
x' = x - eta K m' (K = P^-1; GD: beta = 0, s = 1, K = I; GDM: s = 1, K = I;
frozen Adam: s = 1 - beta1), X = E[x x^T], C = E[x m^T], Mm = E[m m^T]:

    Mm' = beta^2 Mm + beta s (C^T H M2 + M2 H C) + s^2 E[B H X H B]
    C'  = beta C + s X H M2 - eta K Mm'
    X'  = X - eta (beta C + s X H M2) K^T - eta K (beta C^T + s M2 H X) + eta^2 K Mm' K^T

For laws with M2 = c I and F(A) = a tr(A) I + b A + e Diag(A) the operator is
diagonal in H's eigenbasis up to a trace coupling (a) and a coordinate-diagonal
projection (e).  When e = 0 (rotation-invariant laws) the Perron condition reduces
to the spectrum: sum_i g_i(eta) = 1 with the per-mode gain of docs/stability.md#the-gain-formula
(derivations/stability.py §2-§3; Eq. 16, 18 and 20 of arXiv 2604.14669 are special cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import mpmath
import sympy as sp
from sympy import (
    DiagonalMatrix,
    Identity,
    MatAdd,
    MatMul,
    MatrixSymbol,
    Trace,
    ZeroMatrix,
)

from zoverify._errors import (
    InvalidParameterError,
    NotApplicableError,
    NotRotationInvariantError,
)
from zoverify.moment_maps import symbols as S

if TYPE_CHECKING:
    from mpmath.ctx_mp_python import _mpf  # the class of mpmath.mpf values (mpmath.mpf is a context attribute)

METHODS = ("gd", "gdm", "adam")
_ETA_DPS = 30  # mpmath digits for the spectral root (the table is checked to 1e-9)


# --------------------------------------------------------------------------- operator
@dataclass(frozen=True)
class SecondMomentOperator:
    """The one-step map of the second moments as sympy matrix expressions.

    ``updates`` maps each state symbol (X, and C, Mm for momentum methods) to its
    image; the expressions are linear in the state and polynomial in ``S.eta``.
    """

    method: str
    X: MatrixSymbol
    C: MatrixSymbol | None
    Mm: MatrixSymbol | None
    H: MatrixSymbol
    K: MatrixSymbol | None
    updates: dict


def estimator_second_moment(law, A, *, q, d: S.Dim = S.d):
    """E[B A B^T] for the q-query average B = (1/q) sum z_k z_k^T (A symmetric)."""
    M2 = law.second_moment(d)
    F = law.fourth_moment(A, d)
    q = sp.sympify(q)
    if q == 1:
        return F
    return (1 - 1 / q) * (M2 * A * M2) + F / q


def second_moment_operator(law, *, method: str = "gd", q=1, d: S.Dim = S.d, s=None) -> SecondMomentOperator:
    """The mean-square operator of ``method`` built from ``law``'s moment maps.

    ``s`` is the gradient coefficient (default 1; ``1 - S.beta`` for frozen Adam).
    """
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    X, H = S.matrix("X", d, d), S.matrix("H", d, d)
    M2 = law.second_moment(d)
    eta, beta = S.eta, S.beta
    if method == "gd":
        G = estimator_second_moment(law, H * X * H, q=q, d=d)
        Xn = X - eta * (M2 * H * X + X * H * M2) + eta**2 * G
        return SecondMomentOperator(method, X, None, None, H, None, {X: Xn})
    if s is None:
        s = (1 - beta) if method == "adam" else sp.Integer(1)
    C, Mm, K = S.matrix("C", d, d), S.matrix("Mm", d, d), S.matrix("K", d, d)
    G = estimator_second_moment(law, H * X * H, q=q, d=d)
    Mn = beta**2 * Mm + beta * s * (C.T * H * M2 + M2 * H * C) + s**2 * G
    xm = beta * C + s * X * H * M2  # E[x m'^T]
    Cn = xm - eta * K * Mn
    Xn = X - eta * (xm * K.T + K * xm.T) + eta**2 * K * Mn * K.T
    return SecondMomentOperator(method, X, C, Mm, H, K, {X: Xn, C: Cn, Mm: Mn})


def mean_operator(law, *, method: str = "gd", d: S.Dim = S.d, s=None) -> dict:
    """Blocks of the mean dynamics (E x', E m') = [[xx, xm], [mx, mm]] (E x, E m).

    Unbiasedness E[B] = M2 makes it the first-order map with H replaced by M2 H.
    For GD only the ``xx`` block is present.
    """
    H, K = S.matrix("H", d, d), S.matrix("K", d, d)
    M2 = law.second_moment(d)
    if method == "gd":
        return {"xx": Identity(d) - S.eta * M2 * H}
    if s is None:
        s = (1 - S.beta) if method == "adam" else sp.Integer(1)
    mx, mm = s * M2 * H, S.beta * Identity(d)  # m' = beta m + s M2 H x ; x' = x - eta K m'
    return {"xx": Identity(d) - S.eta * K * mx, "xm": -S.eta * S.beta * K, "mx": mx, "mm": mm}


# --------------------------------------------------------------- structured moment form
@dataclass(frozen=True)
class FourthMomentForm:
    """E[zz^T] = c I and E[zz^T A zz^T] = a tr(A) I + b A + e Diag(A)."""

    c: sp.Expr
    a: sp.Expr
    b: sp.Expr
    e: sp.Expr

    def subs(self, d) -> FourthMomentForm:
        """The form with d replaced by ``d`` in every coefficient."""
        values = (sp.sympify(v).subs(S.d, d) for v in (self.c, self.a, self.b, self.e))
        return FourthMomentForm(*values)  # pyright: ignore[reportArgumentType]  # subs() is typed as Basic


def fourth_moment_form(law, d: S.Dim = S.d) -> FourthMomentForm:
    """Read (c, a, b, e) off the law's own symbolic maps; NotApplicable if they have another form."""
    A = S.matrix("A_probe", d, d)
    M2 = law.second_moment(d)
    c = _identity_coefficient(M2)
    terms = _linear_terms(law.fourth_moment(A, d), A)
    if c is None or terms is None:
        raise NotApplicableError(
            f"law {law.spec}: E[zz^T] is not c I or E[zz^T A zz^T] is not a tr(A) I + b A + e Diag(A); "
            "use the dense operator"
        )
    return FourthMomentForm(sp.simplify(c), *(sp.simplify(terms.get(k, sp.Integer(0))) for k in ("trI", "A", "diag")))


def _identity_coefficient(expr):
    if isinstance(expr, Identity):
        return sp.Integer(1)
    if isinstance(expr, MatMul):
        scal = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        mats = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        if len(mats) == 1 and isinstance(mats[0], Identity):
            return sp.Mul(*scal)
    return None


def _linear_terms(expr, A):  # a small pattern matcher
    """{'trI': coeff, 'A': coeff, 'diag': coeff} for an expression linear in A, or None."""
    if isinstance(expr, ZeroMatrix):
        return {}
    if expr == A:
        return {"A": sp.Integer(1)}
    if isinstance(expr, DiagonalMatrix) and expr.args[0] == A:
        return {"diag": sp.Integer(1)}
    if isinstance(expr, MatAdd):
        out: dict = {}
        for arg in expr.args:
            sub = _linear_terms(arg, A)
            if sub is None:
                return None
            for k, v in sub.items():
                out[k] = out.get(k, 0) + v
        return out
    if isinstance(expr, MatMul):
        scal = sp.Mul(*[a for a in expr.args if not getattr(a, "is_Matrix", False)])
        mats = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        if len(mats) != 1:
            return None
        tr = Trace(A)
        if isinstance(mats[0], Identity):
            coeff = sp.simplify(scal / tr)
            return {"trI": coeff} if not coeff.has(A) else None
        if scal.has(A):
            return None
        sub = _linear_terms(mats[0], A)
        return None if sub is None else {k: scal * v for k, v in sub.items()}
    return None


# ------------------------------------------------------------------- spectral reduction
def noise_constants(law, *, q=1, d: S.Dim = S.d, diagonal_hessian: bool = False):
    """(kappa_g, kappa_s, c) of g = c H x + xi, Var(xi_i | x) = c^2 (kappa_s l_i^2 x_i^2 + kappa_g ||Hx||^2).

    Derived from the law's (c, a, b, e): kappa_g = a / (q c^2) and
    kappa_s = (b + e - c^2) / (q c^2).  The e term is per-mode only when H is
    diagonal in the coordinate basis, so for e != 0 a spectral formula exists only
    with ``diagonal_hessian=True``.
    """
    form = fourth_moment_form(law, d)
    if form.e != 0 and not diagonal_hessian:
        raise NotRotationInvariantError(
            f"law {law.spec} is not rotation invariant (its fourth moment has a "
            f"{form.e}*Diag(A) term): eta* depends on H's eigenvectors, not only on its spectrum"
        )
    q = sp.sympify(q)
    c2 = form.c**2
    return sp.simplify(form.a / (q * c2)), sp.simplify((form.b + form.e - c2) / (q * c2)), form.c


def gain(
    lam: sp.Expr | float = S.lam,
    *,
    eta: sp.Expr | float = S.eta,
    kappa_g: sp.Expr | float = 1,
    kappa_s: sp.Expr | float = 1,
    beta: sp.Expr | float = 0,
    s: sp.Expr | float = 1,
    p: sp.Expr | float = 1,
):
    """Per-mode gain g_i (docs/stability.md#the-gain-formula; stability boundary: sum_i g_i = 1)."""
    beta = sp.sympify(beta)
    return (eta * kappa_g * lam * s * (1 + beta)) / (
        2 * p * (1 - beta**2) - eta * lam * s * ((1 + kappa_s) - beta * (1 - kappa_s))
    )


@dataclass(frozen=True)
class SpectralSetting:
    """Everything the gain formula needs besides the spectrum (all numbers)."""

    kappa_g: float
    kappa_s: float
    beta: float = 0.0
    s: float = 1.0

    @property
    def curvature(self) -> float:
        """(1 + kappa_s) - beta (1 - kappa_s): the coefficient of eta*lambda in the denominators."""
        return (1 + self.kappa_s) - self.beta * (1 - self.kappa_s)


def spectral_setting(law, *, method="gd", beta=0.0, q=1, d, diagonal_hessian=False) -> SpectralSetting:
    """The gain parameters of ``law`` at dimension ``d`` (beta = beta1 for Adam)."""
    kg, ks, c = noise_constants(law, q=q, d=sp.Integer(d), diagonal_hessian=diagonal_hessian)
    beta = float(beta) if method != "gd" else 0.0
    s = (1 - beta) if method == "adam" else 1.0
    return SpectralSetting(float(kg), float(ks), beta, s * float(c))


def spectral_eta_star(eigs, setting: SpectralSetting, *, dps: int = _ETA_DPS) -> _mpf:
    """Root of sum_i g_i(eta) = 1 (eigenvalues of P^-1 H for Adam), to ``dps`` digits.

    Every g_i increases on (0, pole_i); the root is the first eta where the sum
    reaches 1, or the first pole when kappa_g = 0 (no coupling).
    """
    with mpmath.workdps(dps):
        lam = [mpmath.mpf(float(x)) for x in eigs if float(x) > 0]
        if not lam:
            raise InvalidParameterError("the Hessian has no positive eigenvalue (H = 0): every step is stable")
        st = {k: mpmath.mpf(v) for k, v in setting.__dict__.items()}
        curv = st["kappa_s"] + 1 - st["beta"] * (1 - st["kappa_s"])
        two = 2 * (1 - st["beta"] ** 2)
        pole = two / (max(lam) * st["s"] * curv) if curv > 0 else mpmath.inf
        if st["kappa_g"] == 0:
            return pole

        def excess(eta):
            return (
                mpmath.fsum(
                    eta * st["kappa_g"] * x * st["s"] * (1 + st["beta"]) / (two - eta * x * st["s"] * curv) for x in lam
                )
                - 1
            )

        hi = pole if pole != mpmath.inf else mpmath.mpf(1)
        while pole == mpmath.inf and excess(hi) < 0:
            hi *= 2
        lo = mpmath.mpf(0)
        if pole != mpmath.inf:
            hi = pole * (1 - mpmath.mpf(10) ** (-dps + 5))
        for _ in range(dps * 4):  # bisection: robust near the pole, 2^-(4 dps) relative width
            mid = (lo + hi) / 2
            if excess(mid) < 0:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


def spectral_bounds(eigs, setting: SpectralSetting) -> tuple[float | None, float | None]:
    """(lower, upper) from lambda_max and Tr (Eq. 17/19/21 and q-query forms).

    Proof: with c_b = curvature >= 0, g_i >= eta kg l_i s (1+b) / (2(1-b^2)) gives the
    upper bound and l_i <= l_max in the denominators gives the lower one.  For
    c_b < 0 neither direction holds and None is returned.
    """
    lam = [float(x) for x in eigs if float(x) > 0]
    tr, lmax = sum(lam), max(lam)
    kg, b, s, curv = setting.kappa_g, setting.beta, setting.s, setting.curvature
    if curv < 0 or kg == 0:
        return None, None
    upper = 2 * (1 - b) / (kg * s * tr)
    lower = 2 * (1 - b**2) / (s * (kg * (1 + b) * tr + curv * lmax))
    return lower, upper


def first_order_threshold(lam_max: float, *, method="gd", beta=0.0) -> float:
    """Props. 1-3: 2/l, 2(1+b)/l, 2(1+b1)/((1-b1) l) (l = lambda_max(P^-1 H) for Adam)."""
    if method == "gd":
        return 2.0 / lam_max
    if method == "gdm":
        return 2.0 * (1 + beta) / lam_max
    return 2.0 * (1 + beta) / ((1 - beta) * lam_max)


@lru_cache(maxsize=1)
def momentum_denominator_slope():
    """d/dbeta of the q-query GDM gain denominator divided by (1+beta) (P3-6, docs/stability.md#momentum-monotonicity).

    Returns the sympy expression; it equals -2q (1 - eta l / (1+beta)^2), negative
    whenever eta l < (1+beta)^2, which holds inside the stable domain.
    """
    lam, eta, beta, q = S.lam, S.eta, S.beta, S.q
    g = gain(lam, eta=eta, kappa_g=1 / q, kappa_s=1 / q, beta=beta)
    den = sp.simplify(eta * lam / g)  # g = eta l / den
    return sp.factor(sp.diff(den, beta))


__all__ = [
    "FourthMomentForm",
    "METHODS",
    "SecondMomentOperator",
    "SpectralSetting",
    "estimator_second_moment",
    "first_order_threshold",
    "fourth_moment_form",
    "gain",
    "mean_operator",
    "momentum_denominator_slope",
    "noise_constants",
    "pair_system",
    "second_moment_operator",
    "spectral_bounds",
    "spectral_eta_star",
    "spectral_setting",
]


# ------------------------------------------------------------- per-eigenpair dynamics
@cache
def pair_system():
    """(A, v, symbols) of the deterministic part of the operator on one eigenpair (i, j).

    State (X_ij, Mm_ij, C_ij, C_ji) in H's eigenbasis, for M2 = c I, K = diag(k) and
    E[B Y B] = bp Y + coupling (bp = (1 - 1/q) c^2 + b/q).  The coupling N_ij (the
    trace and Diag terms) enters Mm' with weight s^2, C' with -eta k s^2 and X'
    with eta^2 k_i k_j s^2: that is ``v``.  Read off the general update above with
    H -> diag(l), so tests compare it with the dense operator.
    """
    eta, beta = S.eta, S.beta
    s, c, bp, li, lj, ki, kj = sp.symbols("s c b_p l_i l_j k_i k_j", real=True)
    m_row = [s**2 * bp * li * lj, beta**2, beta * s * c * li, beta * s * c * lj]
    c_ij = [s * c * lj - eta * ki * m_row[0], -eta * ki * m_row[1], beta - eta * ki * m_row[2], -eta * ki * m_row[3]]
    c_ji = [s * c * li - eta * kj * m_row[0], -eta * kj * m_row[1], -eta * kj * m_row[2], beta - eta * kj * m_row[3]]
    x_row = [
        1 - eta * s * c * (kj * lj + ki * li) + eta**2 * ki * kj * m_row[0],
        eta**2 * ki * kj * m_row[1],
        -eta * kj * beta + eta**2 * ki * kj * m_row[2],
        -eta * ki * beta + eta**2 * ki * kj * m_row[3],
    ]
    A = sp.Matrix([x_row, m_row, c_ij, c_ji])
    v = sp.Matrix([eta**2 * ki * kj * s**2, s**2, -eta * ki * s**2, -eta * kj * s**2])
    return A, v, (eta, beta, s, c, bp, li, lj, ki, kj)
