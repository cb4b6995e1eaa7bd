"""Exact mean-square critical step size eta* for a given Hessian, law and method.

Two solvers of the same operator (zoverify.symbolic.stability):

* :class:`DenseOperator` evaluates the law's symbolic second-moment map on a basis
  of states, so it is the operator itself with no algebra of ours in between;
  O(d^4) memory, for d up to ~12 (momentum) or ~20 (GD).  It is the check.
* :class:`StructuredOperator` uses M2 = c I and F(A) = a tr(A) I + b A + e Diag(A):
  in H's eigenbasis each eigenpair (i, j) evolves by a 1x1 (GD) or 4x4 (momentum)
  block, coupled only through w = diag(V (Lambda X Lambda) V^T).  A fixed point at
  eigenvalue mu exists iff w = Phi_mu M w with M = (a 1 1^T + e I)/q, and by the
  matrix determinant lemma iff (a/q) 1^T (I - (e/q) Phi)^-1 Phi 1 = 1: a scalar
  secular equation whose evaluation costs a few O(d^3) products.

eta* is the first eta at which the Perron root (Krein-Rutman: the operator maps
PSD matrices to PSD matrices, so its spectral radius is an eigenvalue) reaches 1.
Zero eigenvalues of H are neutral (their block neither grows nor feeds back) and
are dropped when the law has M2 = c I and P commutes with H.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Literal, overload

import numpy as np
import sympy as sp
from scipy import optimize
from scipy.sparse.linalg import LinearOperator, eigsh, lobpcg, minres

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.symbolic.stability import (
    METHODS,
    fourth_moment_form,
    pair_system,
    second_moment_operator,
)

if TYPE_CHECKING:
    from zoverify.moment_maps import MomentMap

RANGE_TOL = 1e-12  # eigenvalues below this x lambda_max count as zero (null space)
SYM_TOL = 1e-10  # relative asymmetry / negativity accepted as rounding
#: |h(eta*) - 1| at a root the search found (iterative solves leave ~1e-10; a jump at a pair pole is O(1))
SECULAR_ROOT_TOL = 1e-6
EXPLICIT_MAX_DIM = 48  # below this the coupling matrix Phi is formed explicitly (d matvecs)


# ------------------------------------------------------------------------ input checks
@overload
def validate_hessian(H, *, with_eigen: Literal[False] = False) -> np.ndarray: ...
@overload
def validate_hessian(H, *, with_eigen: Literal[True]) -> tuple[np.ndarray, Eigen]: ...
def validate_hessian(H, *, with_eigen: bool = False) -> np.ndarray | tuple[np.ndarray, Eigen]:
    """A finite, square, symmetric, PSD, nonzero Hessian as float64 (else InvalidParameterError).

    With ``with_eigen`` also return its :class:`Eigen` (one eigendecomposition serves both).
    """
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] < 1:
        raise InvalidParameterError(f"Hessian must be a square matrix, got shape {H.shape}")
    if not np.all(np.isfinite(H)):
        raise InvalidParameterError("Hessian has non-finite entries")
    scale = max(np.abs(H).max(), 1e-300)
    if np.abs(H - H.T).max() > SYM_TOL * scale:
        raise InvalidParameterError(
            f"Hessian is not symmetric (max |H - H^T| = {np.abs(H - H.T).max():.3g}); a symmetric matrix is required"
        )
    H = (H + H.T) / 2
    lam, V = np.linalg.eigh(H)
    if lam[0] < -SYM_TOL * max(abs(lam[-1]), scale):
        raise InvalidParameterError(
            f"Hessian is not positive semi-definite (smallest eigenvalue {lam[0]:.6g}); "
            "the linearized dynamics are defined for H >= 0"
        )
    if lam[-1] <= 0:
        raise InvalidParameterError("Hessian is zero: every step size is stable")
    if not with_eigen:
        return H
    keep = lam > RANGE_TOL * lam[-1]
    return H, Eigen(lam[keep], V[:, keep], bool(keep.all()))


def validate_preconditioner(P, d: int) -> np.ndarray:
    """A symmetric positive definite d x d preconditioner (else InvalidParameterError)."""
    P = np.asarray(P, dtype=float)
    if P.ndim == 1:
        P = np.diag(P)
    if P.shape != (d, d):
        raise InvalidParameterError(f"preconditioner has shape {P.shape}, but the Hessian is {d} x {d}")
    if not np.all(np.isfinite(P)) or np.abs(P - P.T).max() > SYM_TOL * np.abs(P).max():
        raise InvalidParameterError("preconditioner must be a finite symmetric matrix")
    if np.linalg.eigvalsh((P + P.T) / 2)[0] <= 0:
        raise InvalidParameterError("preconditioner must be positive definite")
    return (P + P.T) / 2


def _check_method(method: str, beta: float, q: int) -> tuple[str, float, int]:
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    beta = 0.0 if method == "gd" else float(beta)
    if not 0 <= beta < 1:
        raise InvalidParameterError(f"beta must be in [0, 1), got {beta}")
    if int(q) != q or q < 1:
        raise InvalidParameterError(f"queries must be a positive integer, got {q}")
    return method, beta, int(q)


@dataclass(frozen=True)
class Eigen:
    """H = V diag(lam) V^T restricted to the range of H."""

    lam: np.ndarray
    V: np.ndarray
    full_rank: bool


def commutes(P: np.ndarray, H: np.ndarray) -> bool:
    """P H = H P up to rounding (relative to the norms of P and H)."""
    return bool(np.linalg.norm(P @ H - H @ P) <= 1e-10 * np.linalg.norm(P) * np.linalg.norm(H))


def _first_crossing(
    f, guess: float, *, grow: float = 1.25, max_steps: int = 200, rtol: float = 4 * np.finfo(float).eps
) -> float:
    """Root of f (f < 0 below the edge) near ``guess``, bracketed by geometric steps, then Brent."""
    lo = hi = guess
    f_hi = f(hi)
    if f_hi < 0:
        for _ in range(max_steps):
            lo, hi = hi, hi * grow
            f_hi = f(hi)
            if f_hi >= 0:
                break
        else:
            raise NotApplicableError("no stability edge found: the operator stays stable")
    else:
        for _ in range(max_steps):
            hi, lo = lo, lo / grow
            if f(lo) < 0:
                break
        else:
            raise NotApplicableError("no stable step size found")
    # brentq's types are inferred from its code: rtol as float64, the result as a pair (only with full_output)
    root = optimize.brentq(f, lo, hi, xtol=1e-300, rtol=rtol, maxiter=200)  # pyright: ignore[reportArgumentType]
    return float(root)  # pyright: ignore[reportArgumentType]


# ---------------------------------------------------------------------------- dense
class DenseOperator:
    """The second-moment operator as an explicit matrix, T(eta) = T0 + eta T1 + eta^2 T2.

    Columns come from evaluating the law's symbolic update on basis states written
    in H's eigenbasis (restricted to the range of H where that is exact).
    """

    def __init__(self, law, H, *, method: str = "gd", beta: float = 0.0, q: int = 1, P=None):
        self.method, self.beta, self.q = _check_method(method, beta, q)
        self.H, eig = validate_hessian(H, with_eigen=True)
        d = self.H.shape[0]
        law.check_dim(d)
        self.law, self.d = law, d
        if P is not None and self.method != "adam":
            raise InvalidParameterError("a preconditioner is only used with method 'adam'")
        P = np.eye(d) if P is None else validate_preconditioner(P, d)
        self.K = np.linalg.inv(P)
        try:
            isotropic = fourth_moment_form(law, sp.Integer(d)) is not None
        except NotApplicableError:
            isotropic = _second_moment_isotropic(law, d)
        if not eig.full_rank and not (isotropic and commutes(P, self.H)):
            raise NotApplicableError(
                "singular H with an anisotropic law or a non-commuting preconditioner: "
                "the null space is not invariant; give a positive definite H"
            )
        self.eig = eig
        self._T = self._build()

    def _build(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        op = second_moment_operator(self.law, method=self.method, q=self.q, d=sp.Integer(self.d))
        V, r = self.eig.V, self.eig.lam.size
        sym = [(a, b) for a in range(r) for b in range(a, r)]
        full = [(a, b) for a in range(r) for b in range(r)]
        blocks = [(op.X, sym)] + ([(op.C, full), (op.Mm, sym)] if op.C is not None else [])
        env0 = {S.d: self.d, op.H: self.H, S.beta: self.beta}
        if op.K is not None:
            env0[op.K] = self.K
        zero = {sym_: np.zeros((self.d, self.d)) for sym_, _ in blocks}
        cols = {eta: [] for eta in (0.0, 1.0, -1.0)}
        for sym_, index in blocks:
            for a, b in index:
                E = np.zeros((r, r))
                E[a, b] = 1.0
                if index is sym:
                    E[b, a] = 1.0
                state = dict(zero)
                state[sym_] = V @ E @ V.T
                for eta in cols:
                    env = {**env0, **state, S.eta: eta}
                    out = [V.T @ evaluate(op.updates[s], env) @ V for s, _ in blocks]
                    cols[eta].append(np.concatenate([_coords(o, idx) for o, (_, idx) in zip(out, blocks, strict=True)]))
        T0, Tp, Tm = (np.array(cols[e]).T for e in (0.0, 1.0, -1.0))
        return T0, (Tp - Tm) / 2, (Tp + Tm) / 2 - T0

    def matrix(self, eta: float) -> np.ndarray:
        """T(eta) = T0 + eta T1 + eta^2 T2: the mean-square operator at step size eta."""
        T0, T1, T2 = self._T
        return T0 + eta * T1 + eta**2 * T2

    def radius(self, eta: float) -> float:
        """Spectral radius of T(eta)."""
        return float(np.max(np.abs(np.linalg.eigvals(self.matrix(eta)))))

    def eta_star(self, *, guess: float | None = None) -> float:
        """First eta with radius 1."""
        if guess is None:
            guess = float(1.0 / (np.sum(self.eig.lam) + self.eig.lam.max()))
        return _first_crossing(lambda eta: self.radius(eta) - 1.0, guess)

    def mean_square_norms(self, x0, eta: float, steps) -> list[float]:
        """E||x_t||^2 at each t in ``steps`` from x_0 = x0 (m_0 = 0), by powers of T(eta).

        Only the range of H is represented, so H must be positive definite unless the
        law is rotation invariant (its null-space part of x then never moves).
        """
        V = self.eig.V
        if V.shape[1] != self.d and not self.law.rotation_invariant:
            raise InvalidParameterError("E||x_t||^2 needs a positive definite H for this law (null-space leakage)")
        x0 = np.asarray(x0, float)
        y = V.T @ x0
        r = y.size
        sym = [(a, b) for a in range(r) for b in range(a, r)]
        state = np.zeros(self._T[0].shape[0])
        state[: len(sym)] = [y[a] * y[b] for a, b in sym]
        diag = [i for i, (a, b) in enumerate(sym) if a == b]
        null = float(x0 @ x0 - y @ y)
        T = self.matrix(eta)
        out, prev = [], 0
        for t in sorted(steps):
            state = np.linalg.matrix_power(T, t - prev) @ state
            prev = t
            out.append(float(state[diag].sum()) + null)
        return out


def _coords(M: np.ndarray, index) -> np.ndarray:
    return np.array([M[a, b] for a, b in index])


def _second_moment_isotropic(law, d: int) -> bool:
    M2 = evaluate(law.second_moment(sp.Integer(d)), {S.d: d})
    return bool(np.allclose(M2, M2[0, 0] * np.eye(d), atol=0, rtol=1e-14))


# ----------------------------------------------------------------------- structured
@cache
def _pair_functions():
    A, v, syms = pair_system()
    fA = [[sp.lambdify(syms, A[i, j], "numpy") for j in range(4)] for i in range(4)]
    fv = [sp.lambdify(syms, v[i], "numpy") for i in range(4)]
    return fA, fv


@dataclass
class StructuredOperator:
    """The operator in H's eigenbasis: per-pair blocks plus the (t, Diag) coupling."""

    law: MomentMap
    H: np.ndarray
    method: str = "gd"
    beta: float = 0.0
    q: int = 1
    P: np.ndarray | None = None
    eig: Eigen = field(init=False)

    def __post_init__(self):
        self.method, self.beta, self.q = _check_method(self.method, self.beta, self.q)
        self.H, self.eig = validate_hessian(self.H, with_eigen=True)
        d = self.H.shape[0]
        self.law.check_dim(d)
        form = fourth_moment_form(self.law, sp.Integer(d))
        self.c, self.a, self.b, self.e = (float(x) for x in (form.c, form.a, form.b, form.e))
        self._warm = None  # last eigenvector / solution: warm start of the next Krylov solve
        V = self.eig.V
        if self.P is None:
            self.k = np.ones(V.shape[1])
        else:
            P = validate_preconditioner(self.P, d)
            if not commutes(P, self.H):
                raise NotApplicableError(
                    "the structured solver needs P H = H P (Theorem 3's assumption); use the dense operator"
                )
            self.k = 1.0 / np.einsum("ki,kl,li->i", V, P, V)
        self.s = 1.0 - self.beta if self.method == "adam" else 1.0
        self.bp = (1 - 1 / self.q) * self.c**2 + self.b / self.q

    # -- per-pair responses ---------------------------------------------------
    def responses(self, eta: float, mu: float = 1.0, *, check_pairs: bool = True) -> np.ndarray | None:
        """R_ij = X_ij response to a unit coupling, or None where a pair block is not below mu.

        For momentum the 4x4 eigenvalue check costs more than the solve; the root search skips it
        (``check_pairs=False``) and :meth:`_check_edge` applies it once at the root.
        """
        lam, k = self.eig.lam, self.k
        if self.beta == 0.0:
            D = 1 - eta * self.s * self.c * (k * lam)[:, None] - eta * self.s * self.c * (k * lam)[None, :]
            D = D + eta**2 * np.outer(k, k) * self.s**2 * self.bp * np.outer(lam, lam)
            if np.any(np.abs(D) >= mu):
                return None
            return eta**2 * self.s**2 * np.outer(k, k) / (mu - D)
        iu = np.triu_indices(lam.size)
        A, v = self._pair_arrays(eta, iu)
        if check_pairs and np.max(np.abs(np.linalg.eigvals(A))) >= mu:
            return None
        x = np.linalg.solve(mu * np.eye(4) - A, v[..., None])[:, 0, 0]
        R = np.empty((lam.size, lam.size))
        R[iu] = x
        R.T[iu] = x
        return R

    def _pair_arrays(self, eta, iu):
        fA, fv = _pair_functions()
        lam, k = self.eig.lam, self.k
        args = (eta, self.beta, self.s, self.c, self.bp, lam[iu[0]], lam[iu[1]], k[iu[0]], k[iu[1]])
        n = iu[0].size
        A = np.stack([np.stack([np.broadcast_to(f(*args), n) for f in row], -1) for row in fA], -2)
        v = np.stack([np.broadcast_to(f(*args), n) for f in fv], -1)
        return A, v

    # -- the coupling ----------------------------------------------------------
    def _phi(self, L: np.ndarray):
        V = self.eig.V

        def apply(v):
            Y = (V.T * np.ravel(v)) @ V
            return np.einsum("ij,ij->i", V @ (L * Y), V)

        return apply

    def secular(self, eta: float, mu: float = 1.0) -> float:
        """h(eta, mu) - 1; mu is an eigenvalue of T(eta) iff it vanishes (pairs stable)."""
        R = self.responses(eta, mu, check_pairs=d_small(self))
        if R is None or not np.all(np.isfinite(R)):
            return np.inf
        lam = self.eig.lam
        L = np.outer(lam, lam) * R
        alpha, eps = self.a / self.q, self.e / self.q
        if eps == 0.0:
            return alpha * float(np.trace(L)) - 1.0
        phi = self._phi(L)
        d = self.H.shape[0]
        if d <= EXPLICIT_MAX_DIM:  # G = Phi M explicitly: its largest real eigenvalue reaches 1 first
            Phi = np.stack([phi(col) for col in np.eye(d)], axis=1)
            G = Phi @ (alpha * np.ones((d, d)) + eps * np.eye(d))
            ev = np.linalg.eigvals(G)
            real = ev.real[np.abs(ev.imag) <= 1e-12 * max(1.0, np.abs(ev).max())]
            return float(real.max()) - 1.0 if real.size else -1.0
        op = _linear_operator(d, phi)
        if alpha == 0.0:
            top, self._warm = _top_eigenpair(op, d, self._warm, tol=1e-12)
            return eps * top - 1.0
        rhs = phi(np.ones(d))
        sys = _linear_operator(d, lambda y: y - eps * phi(y))
        y, info = minres(sys, rhs, x0=self._warm, rtol=1e-14, maxiter=500)
        self._warm = y
        if info != 0 or np.linalg.norm(sys.matvec(y) - rhs) > 1e-10 * np.linalg.norm(rhs):
            raise NotApplicableError("the reduced system (I - e Phi / q) y = Phi 1 did not converge")
        return alpha * float(np.sum(y)) - 1.0

    def eta_star(self, *, guess: float | None = None) -> float:
        """First eta where the secular function reaches 0; the pair blocks and I - eps Phi are then checked."""
        lam = self.eig.lam
        grow = 1.25
        if guess is None:
            guess = self._spectral_guess()
            grow = 1.03 if guess is not None else grow
        if guess is None:
            guess = 1.0 / (self.c * (np.sum(lam * self.k) + np.max(lam * self.k)))
        eta = _first_crossing(self.secular, guess, grow=grow)
        self._check_edge(eta)
        return eta

    def _spectral_guess(self) -> float | None:
        """The gain-formula root with the Diag term dropped (exact when e = 0): a starting bracket."""
        kg = self.a / (self.q * self.c**2)
        ks = (self.b - self.c**2) / (self.q * self.c**2)
        b, s = self.beta, self.s * self.c
        curv = (1 + ks) - b * (1 - ks)
        lt = self.eig.lam * self.k
        if kg <= 0 or curv <= 0:
            return None
        two = 2 * (1 - b**2)
        lo, hi = 0.0, two / (s * curv * lt.max())
        for _ in range(200):
            mid = (lo + hi) / 2
            total = np.sum(mid * kg * lt * s * (1 + b) / (two - mid * lt * s * curv))
            lo, hi = (mid, hi) if total < 1 else (lo, mid)
        return (lo + hi) / 2

    def _check_edge(self, eta: float) -> None:
        if self.responses(eta) is None:
            raise NotApplicableError("a pair block is not stable at the root found; use the dense operator")
        # the secular function is infinite where a pair block is unstable, so the bracket can close on the
        # jump there (a pair eigenvalue reaching -1, or +1 with a Diag term e < 0 that pulls the whole
        # operator back below it) rather than on a zero: the operator's edge then lies elsewhere
        gap = self.secular(eta)
        if not abs(gap) <= SECULAR_ROOT_TOL:
            raise NotApplicableError(
                f"the root search stopped at eta = {eta:.6g} where a pair block turns unstable, not at a zero of "
                f"the secular function ({gap:.3g} there); use the dense operator"
            )
        eps = self.e / self.q
        if eps > 0 and self.a != 0:
            L = np.outer(self.eig.lam, self.eig.lam) * self.responses(eta)
            d = self.H.shape[0]
            top, _ = _top_eigenpair(_linear_operator(d, self._phi(L)), d, None, tol=1e-8)
            if eps * top >= 1:
                raise NotApplicableError("the Diag coupling alone reaches the edge first; use the dense operator")

    def radius_near_one(self, eta: float, *, width: float = 1e-6, grow: float = 10.0) -> float:
        """The operator eigenvalue nearest 1 within [1 - width, 1 + width] at eta (the Perron root at eta*).

        The bracket starts a few ulps wide and grows geometrically until the secular function changes
        sign the Perron root's way (positive below, negative above): with momentum, the pair blocks of
        nearly flat directions have eigenvalues just below 1, and a fixed bracket that reaches past one
        of them straddles a pole rather than the root.
        """
        if not 0 < width < 1 or not grow > 1:
            raise InvalidParameterError(f"width must be in (0, 1) and grow above 1, got {width}, {grow}")
        w = min(width, 4 * float(np.finfo(float).eps))
        while True:
            below, above = self.secular(eta, 1 - w), self.secular(eta, 1 + w)
            if below > 0 > above:
                break
            if w >= width:
                raise NotApplicableError(
                    f"no eigenvalue of the operator at eta = {eta:.6g} within {width:g} of 1 (the secular "
                    f"function is {below:.3g} at 1 - {width:g} and {above:.3g} at 1 + {width:g})"
                )
            w = min(w * grow, width)
        root = optimize.brentq(lambda mu: -self.secular(eta, mu), 1 - w, 1 + w, xtol=1e-15)
        return float(root)  # pyright: ignore[reportArgumentType]  # a float without full_output


def _linear_operator(d: int, matvec) -> LinearOperator:
    """A d x d float64 operator from its matvec."""
    # LinearOperator.__new__ returns a matvec-backed subclass; the checker sees only the abstract __init__
    return LinearOperator((d, d), matvec=matvec, dtype=float)  # pyright: ignore[reportCallIssue]


def _top_eigenpair(op: LinearOperator, d: int, warm, *, tol: float):
    """Largest eigenvalue of a symmetric PSD operator: LOBPCG from a warm start, ARPACK as fallback."""
    x0 = np.ones((d, 1)) if warm is None else np.asarray(warm, float).reshape(d, 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-convergence is detected below
            vals, vecs = lobpcg(op, x0, largest=True, tol=tol, maxiter=100)
        resid = np.linalg.norm(op.matvec(vecs[:, 0]) - vals[0] * vecs[:, 0])
        if resid <= 10 * tol * max(abs(vals[0]), 1e-300):
            return float(vals[0]), vecs[:, 0]
    except (np.linalg.LinAlgError, ValueError):
        pass
    vals, vecs = eigsh(op, k=1, which="LA", tol=tol, v0=x0[:, 0])  # pyright: ignore[reportArgumentType]  # tol=0 infers int
    return float(vals[0]), vecs[:, 0]


def d_small(op: StructuredOperator) -> bool:
    return op.eig.lam.size <= EXPLICIT_MAX_DIM


# ------------------------------------------------------------------------ front end
@dataclass(frozen=True)
class CriticalStep:
    """eta*, the solver that found it and the operator's spectral radius at eta* (1 up to the solver's tolerance)."""

    eta_star: float
    solver: str
    radius_at_eta_star: float


def critical_step_size(
    law, H, *, method="gd", beta=0.0, q=1, P=None, solver="auto", dense_max_dim: int = 12
) -> CriticalStep:
    """Exact mean-square eta* of ``method`` with ``law`` on the quadratic with Hessian H.

    ``solver``: "structured", "dense" or "auto" (structured when the law has the
    structured form and P commutes with H; dense otherwise, up to ``dense_max_dim``).
    """
    H = np.asarray(H, dtype=float)  # the operators validate it (one eigendecomposition each)
    if solver not in ("auto", "structured", "dense"):
        raise InvalidParameterError(f"solver must be auto, structured or dense, got {solver!r}")
    if solver in ("auto", "structured"):
        try:
            op = StructuredOperator(law, H, method=method, beta=beta, q=q, P=P)
            eta = op.eta_star()
            return CriticalStep(eta, "structured", op.radius_near_one(eta))
        except NotApplicableError:
            if solver == "structured":
                raise
    if H.shape[0] > dense_max_dim:
        raise NotApplicableError(
            f"law {law.spec} with this H/P needs the dense operator, which is limited to d <= {dense_max_dim} "
            f"(got d = {H.shape[0]})"
        )
    op = DenseOperator(law, H, method=method, beta=beta, q=q, P=P)
    eta = op.eta_star()
    return CriticalStep(eta, "dense", op.radius(eta))


def mean_threshold(law, H, *, method="gd", beta=0.0, P=None) -> float:
    """Linear stability in the mean: E[B] = M2, so FO with H -> K M2 H (Props. 1-3 shape)."""
    method, beta, _ = _check_method(method, beta, 1)
    H = validate_hessian(H)
    d = H.shape[0]
    M2 = evaluate(law.second_moment(sp.Integer(d)), {S.d: d})
    if P is None and np.array_equal(M2, M2[0, 0] * np.eye(d)):
        nu = M2[0, 0] * np.linalg.eigvalsh(H)  # symmetric case: no general eigensolver needed
    else:
        K = np.eye(d) if P is None else np.linalg.inv(validate_preconditioner(P, d))
        nu = np.linalg.eigvals(K @ M2 @ H)
    if np.max(np.abs(nu.imag)) > 1e-9 * np.max(np.abs(nu)):
        raise NotApplicableError("K M2 H has complex eigenvalues; the mean threshold is not of first-order form")
    top = float(np.max(nu.real))
    if method == "gd":
        return 2.0 / top
    s = 1 - beta if method == "adam" else 1.0
    return 2.0 * (1 + beta) / (s * top)


__all__ = [
    "CriticalStep",
    "commutes",
    "DenseOperator",
    "Eigen",
    "StructuredOperator",
    "critical_step_size",
    "mean_threshold",
    "validate_hessian",
    "validate_preconditioner",
]
