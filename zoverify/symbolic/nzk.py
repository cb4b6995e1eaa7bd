"""The Neural Zeroth-order Kernel (NZK), derived once against the law interface.

For a linear model f(x) = x^T theta (or a linearized network, x -> grad f(x; theta0))
the NZK of one pair of directions (zeta, z) is

    K(x_i, x_j) = (zeta^T x_i)(zeta^T z)(z^T x_j) = x_i^T (zeta zeta^T z z^T) x_j,

so E K(x_i, x_j) = x_i^T M x_j with the *middle matrix*

    independent zeta, z:  M = E[zeta zeta^T] E[z z^T]      (second moments only)
    shared zeta = z:      M = E[z z^T z z^T] = E[(z^T I z) z z^T] = fourth_moment(I)

Orientation (independent pairs): K[i, j] pairs zeta with x_i and z with x_j, as in the NZK
definition of arXiv:2603.21169 (the output difference along zeta at x_i, the one along z at
x_j, times zeta^T z).  The paper's code stores the transpose, K_code[n, m] = (z^T x_n)
(zeta^T x_m)(zeta^T z), and steps with K_code^T, which is this K: the training is the same,
but the stored matrices differ (M^T = E[z z^T] E[zeta zeta^T] against M) whenever E[zeta zeta^T]
and E[z z^T] do not commute.  This orientation is kept because with it the function-space
step reads f_(t+1) = f_t - (eta / N) Kbar (f_t - y) with no transpose, and it is the one the
parameter update below produces.

Nothing here is specific to a law: the Gaussian vector-mean form of the paper,
Corollary 2's (d + 2) sigma^4 and the iid m4 + (d - 1) sigma^4 all fall out of the
law's own ``fourth_moment`` (see :func:`identity_coefficient`).

The parameter-space update that realises the kernel dynamics is
Delta theta = -eta zeta (zeta^T z) (z^T grad L); with L = ||X theta - y||^2 / (2N)
it moves the outputs by -(eta / N) X zeta zeta^T z z^T X^T r, whose mean is
-(eta / N) Kbar r with Kbar = X M X^T.  Because (zeta, z) are fresh each step and
independent of r_t, E r_{t+1} = (I - eta Kbar / N) E r_t exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp
from sympy import Identity, MatAdd, MatMul, MatPow

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.moment_maps import MomentMap
from zoverify.moment_maps import symbols as S
from zoverify.symbolic._evaluate import evaluate

PAIRINGS = ("shared", "independent")
#: the kernel's orientation for independent pairs (see the module docstring)
ORIENTATION = (
    "K(x_i, x_j) = (zeta.x_i)(zeta.z)(z.x_j), the NZK definition of arXiv:2603.21169; the paper's code "
    "stores the transpose (z.x_n)(zeta.x_m)(zeta.z) and trains with its transpose, i.e. this K "
    "(same dynamics; the stored matrices differ when E[zeta zeta^T] and E[z z^T] do not commute)"
)


# -- the middle matrix ---------------------------------------------------------
def common_dimension(*laws: MomentMap, dim: int | None = None) -> sp.Expr:
    """The dimension the laws share: a fixed (vector-mean) dimension, ``dim``, or symbolic d."""
    fixed = {law.fixed_dim for law in laws if law.fixed_dim is not None}
    if len(fixed) > 1:
        raise InvalidParameterError(
            f"laws {', '.join(l.spec for l in laws)} have different fixed dimensions {sorted(fixed)}"
        )
    if fixed:
        (value,) = fixed
        if dim is not None and int(dim) != value:
            raise InvalidParameterError(f"--dim {dim} does not match the law's mean of length {value}")
        return sp.Integer(value)
    if dim is not None:
        if int(dim) < 1:
            raise InvalidParameterError(f"dimension must be a positive integer, got {dim}")
        return sp.Integer(int(dim))
    return S.d


def nzk_middle_matrix(
    law: MomentMap,
    *,
    pairing: str = "shared",
    zeta_law: MomentMap | None = None,
    d: sp.Expr | int | None = None,
) -> sp.MatrixExpr:
    """M with E K(x_i, x_j) = x_i^T M x_j for directions z ~ ``law`` and zeta ~ ``zeta_law``.

    ``pairing="independent"``: zeta and z independent (zeta defaults to z's law);
    ``pairing="shared"``: zeta = z (a different ``zeta_law`` is refused).
    Raises ``MomentDoesNotExistError`` if the law lacks the moments M needs.
    """
    law = _law(law)
    if pairing not in PAIRINGS:
        raise InvalidParameterError(f"pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
    zeta = law if zeta_law is None else _law(zeta_law, role="zeta_law")
    if pairing == "shared" and zeta != law:
        raise InvalidParameterError(
            f"shared pairing uses zeta = z; a different zeta law ({zeta.spec}) is only accepted "
            "with pairing 'independent'"
        )
    dim = common_dimension(law, zeta, dim=None if d is None or isinstance(d, sp.Symbol) else int(d))
    if pairing == "shared":
        return law.fourth_moment(Identity(dim), dim).doit()
    return (zeta.second_moment(dim) * law.second_moment(dim)).doit()  # pyright: ignore[reportReturnType]  # a matrix


EXPLICIT_LIMIT = 64  # largest numeric dimension at which a structured M is expanded entry by entry


def identity_coefficient(M: sp.MatrixExpr) -> sp.Expr | None:
    """c when M is c I (the kernel is c X X^T), else ``None``.

    Read from the expression's structure; a structured node it cannot read (a block law's
    block-trace diagonal, say) is expanded entry by entry when the dimension is a number <= 64.
    """
    expr = sp.sympify(M)
    c = _structural_identity_coefficient(expr)
    if c is None and isinstance(expr, sp.MatrixExpr) and not isinstance(expr, sp.MatrixBase):
        rows, cols = expr.shape
        if rows.is_number and cols.is_number and int(rows) <= EXPLICIT_LIMIT:
            c = _structural_identity_coefficient(expr.as_explicit())
    return c


def _structural_identity_coefficient(M: sp.Basic) -> sp.Expr | None:
    if isinstance(M, Identity):
        return sp.Integer(1)
    if isinstance(M, MatMul):
        scalars = [a for a in M.args if not a.is_Matrix]
        parts = [_structural_identity_coefficient(a) for a in M.args if a.is_Matrix]
        known = [p for p in parts if p is not None]
        return sp.simplify(sp.Mul(*scalars, *known)) if len(known) == len(parts) else None
    if isinstance(M, MatAdd):
        parts = [_structural_identity_coefficient(a) for a in M.args]
        known = [p for p in parts if p is not None]
        return sp.simplify(sp.Add(*known)) if len(known) == len(parts) else None
    if isinstance(M, MatPow) and M.exp.is_Integer:
        base = _structural_identity_coefficient(M.base)
        return None if base is None else sp.simplify(base**M.exp)
    if isinstance(M, sp.MatrixBase):
        n = M.shape[0]
        c = M[0, 0]
        return sp.simplify(c) if M == c * sp.eye(n) else None
    return None


def kernel_factor(law: MomentMap, *, pairing: str = "shared", zeta_law=None, d: S.Dim = S.d) -> sp.Expr:
    """c with E K = c X X^T; ``NotApplicableError`` if M is not a multiple of I."""
    M = nzk_middle_matrix(law, pairing=pairing, zeta_law=zeta_law, d=d)
    c = identity_coefficient(M)
    if c is None:
        raise NotApplicableError(f"the {pairing} NZK of {_law(law).spec} is not a multiple of X X^T")
    return c


# -- the paper's closed forms (statements the general M is checked against) ---------
def shared_gaussian_statement(mu: sp.MatrixExpr, sigma: sp.Expr, d: sp.Expr = S.d) -> sp.MatrixExpr:
    """P1-2: E[||z||^2 z z^T] for z ~ N(mu, sigma^2 I) (docs/nzk.md#shared-gaussian-directions)."""
    # sympy types matrix products as Expr: the index and the returned sum are matrices
    norm2 = (mu.T * mu)[0, 0] if isinstance(mu, sp.MatrixBase) else sp.Trace(mu.T * mu)  # pyright: ignore[reportIndexIssue]
    identity_part = ((d + 2) * sigma**4 + sigma**2 * norm2) * Identity(d)
    return identity_part + ((d + 4) * sigma**2 + norm2) * (mu * mu.T)  # pyright: ignore[reportReturnType]


def iid_shared_statement(m4: sp.Expr, var: sp.Expr, d: sp.Expr = S.d) -> sp.Expr:
    """P1-4: the shared-pair factor m4 + (d - 1) sigma^4 for iid zero-mean coordinates."""
    return m4 + (d - 1) * var**2


def corollary2_statement(sigma: sp.Expr = S.sigma, d: sp.Expr = S.d) -> sp.Expr:
    """P1-3 (Corollary 2): shared N(0, sigma^2 I) gives E K = (d + 2) sigma^4 <x_i, x_j>."""
    return (d + 2) * sigma**4


def zo_gd_speedup(law: MomentMap, d: S.Dim = S.d) -> sp.Expr:
    """P1-7: shared-pair NZK dynamics = ZO-GD with step eta ||z||^2; mean-kernel ratio to plain ZO-GD.

    Plain ZO-GD (Delta theta = -eta z z^T grad L) has mean kernel X E[z z^T] X^T, so the
    "acceleration" is c_shared / c_second (= (d + 2) sigma^2 for N(0, sigma^2 I)).
    """
    law = _law(law)
    dim = common_dimension(law, dim=None if isinstance(d, sp.Symbol) else int(d))
    second = identity_coefficient(law.second_moment(dim).doit())
    if second is None:
        raise NotApplicableError(f"E[z z^T] of {law.spec} is not a multiple of I; no scalar speed-up")
    return sp.simplify(kernel_factor(law, d=dim) / second)


# -- equal kernels ------------------------------------------------------------------
def equal_kernel_parameter(
    make_law: Callable[[sp.Symbol], MomentMap], reference: MomentMap, *, d: int | sp.Expr
) -> sp.Expr:
    """The positive parameter p with shared factor of ``make_law(p)`` equal to ``reference``'s at d.

    E.g. ``equal_kernel_parameter(lambda b: Laplace(b=b), "gaussian", d=2) == 7**(-1/4)``.
    """
    p = sp.Symbol("p", positive=True)
    target = kernel_factor(reference, d=d)
    roots = [r for r in sp.solve(sp.Eq(kernel_factor(make_law(p), d=d), target), p) if r.is_positive]
    if len(roots) != 1:
        raise NotApplicableError(f"no unique positive parameter matches the kernel of {_law(reference).spec}")
    return sp.nsimplify(roots[0])


def _law(law, *, role: str = "law") -> MomentMap:
    if isinstance(law, MomentMap):
        return law
    raise InvalidParameterError(
        f"{role} must be a law object (zoverify.moment_maps.MomentMap), got {law!r}; "
        "zoverify.perturbations.parse_law builds one from a spec, and zoverify.nzk takes specs directly"
    )


# -- numbers from the symbolic layer ------------------------------------------------
def evaluate_middle_matrix(M: sp.MatrixExpr, dim: int) -> np.ndarray:
    """M as a dim x dim float array."""
    return np.asarray(evaluate(M, {S.d: dim}), dtype=float).reshape(dim, dim)


def expected_kernel(X: np.ndarray, M: sp.MatrixExpr) -> np.ndarray:
    """Kbar = X M X^T (rows of X are the inputs or Jacobian features)."""
    X = np.asarray(X, dtype=float)
    return X @ evaluate_middle_matrix(M, X.shape[1]) @ X.T


def mean_evolution_expr(N: sp.Expr = S.N) -> tuple[sp.MatrixExpr, dict[str, sp.Basic]]:
    """P1-6: E f_t = (I - (I - eta Kbar / N)^t) y + (I - eta Kbar / N)^t f_0, as a matrix expression."""
    K, y, f0 = S.matrix("Kbar", N, N), S.vector("y", N), S.vector("f_0", N)
    step = MatPow(Identity(N) - (S.eta / N) * K, S.t)
    expr = (Identity(N) - step) * y + step * f0
    return expr, {"Kbar": K, "y": y, "f0": f0}  # pyright: ignore[reportReturnType]  # expr is a MatAdd


def mean_function(Kbar, y, f0, *, eta: float, steps: int) -> np.ndarray:
    """E f_t of the kernel recursion, evaluated from :func:`mean_evolution_expr`."""
    Kbar = np.asarray(Kbar, dtype=float)
    n = Kbar.shape[0]
    expr, sym = mean_evolution_expr(S.N)
    env = {S.N: n, S.eta: eta, S.t: int(steps), sym["Kbar"]: Kbar, sym["y"]: np.ravel(y), sym["f0"]: np.ravel(f0)}
    return np.ravel(evaluate(expr, env))


def mean_function_curve(Kbar, y, f0, *, eta: float, steps) -> np.ndarray:
    """E f_t for each t in ``steps``: the closed form in Kbar's eigenbasis (symmetric Kbar).

    (I - eta Kbar / N)^t = V diag((1 - eta lambda / N)^t) V^T, so many t cost one
    eigendecomposition; a non-symmetric Kbar falls back to :func:`mean_function`.
    """
    Kbar, y, f0 = np.asarray(Kbar, float), np.ravel(y).astype(float), np.ravel(f0).astype(float)
    if not np.allclose(Kbar, Kbar.T, rtol=0, atol=1e-12 * np.abs(Kbar).max()):
        return np.array([mean_function(Kbar, y, f0, eta=eta, steps=t) for t in steps])
    lam, V = np.linalg.eigh(0.5 * (Kbar + Kbar.T))
    coef = V.T @ (f0 - y)
    mult = (1 - eta * lam / Kbar.shape[0])[None, :] ** np.asarray(steps, float)[:, None]
    return y[None, :] + (mult * coef[None, :]) @ V.T


def stability_threshold_expr(lam_max: sp.Expr = S.lam_max, N: sp.Expr = S.N) -> sp.Expr:
    """P1-8: the kernel recursion is stable iff eta < 2 N / lambda_max(Kbar)."""
    return 2 * N / lam_max


def kernel_gd_threshold(Kbar) -> float:
    """2 N / lambda_max(Kbar) for a kernel with real non-negative spectrum."""
    Kbar = np.asarray(Kbar, dtype=float)
    lam = np.linalg.eigvals(Kbar)
    scale = np.abs(lam).max()
    if np.abs(lam.imag).max() > 1e-9 * scale or lam.real.min() < -1e-9 * scale:
        raise NotApplicableError("Kbar has complex or negative eigenvalues; no step-size threshold")
    return float(evaluate(stability_threshold_expr(), {S.lam_max: lam.real.max(), S.N: Kbar.shape[0]}))


__all__ = [
    "ORIENTATION",
    "PAIRINGS",
    "common_dimension",
    "corollary2_statement",
    "equal_kernel_parameter",
    "evaluate_middle_matrix",
    "expected_kernel",
    "identity_coefficient",
    "iid_shared_statement",
    "kernel_factor",
    "kernel_gd_threshold",
    "mean_evolution_expr",
    "mean_function",
    "mean_function_curve",
    "nzk_middle_matrix",
    "shared_gaussian_statement",
    "stability_threshold_expr",
    "zo_gd_speedup",
]
