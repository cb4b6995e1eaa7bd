"""The ZO empirical NTK (eNTK) and its Johnson-Lindenstrauss (JL) guarantee.

With P directions u_p drawn iid from a law with second moment S = E[u u^T] and
fourth-moment map F(M) = E[u u^T M u u^T] (M symmetric), the ZO eNTK of two
Jacobians A = J(x_o), B = J(x_u) (V x d) is

    K_hat = (1/P) sum_p (A u_p)(B u_p)^T,      E[K_hat] = A S B^T.

Every result below is written once against (S, F), so a law that is not iid
(sphere, coordinate, structured laws) gets its own exact form with no special
case.  For one entry, with a, b rows of A and B:

    Var K_hat_ab = (E[(a^T u)^2 (b^T u)^2] - (a^T S b)^2) / P
                 = (a^T F(b b^T) a - (a^T S b)^2) / P,

since u^T (b b^T) u = (b^T u)^2.  Summing over the V x V entries and using that
F is linear, sum_j F(b_j b_j^T) = F(B^T B), so

    E||K_hat - E K_hat||_F^2 = (tr(A F(B^T B) A^T) - ||A S B^T||_F^2) / P.

For iid unit-variance coordinates F(M) = tr(M) I + 2M + (m4 - 3) Diag(M), which
gives the paper-note forms (||a||^2||b||^2 + (a.b)^2 + (m4-3) sum a_k^2 b_k^2)/P
and its Frobenius analogue (derivations/entk.py shows the reduction).

The P-query gradient estimator g_hat = (1/P) sum_p u_p u_p^T g has
E g_hat = S g and E||g_hat||^2 = (g^T F(I) g + (P - 1) ||S g||^2) / P.

JL (Achlioptas 2003, Thm 1.1): for n points and P >= (2 ln n + ln(1/delta)) /
(c eps^2), c = 1/4 - eps/6 (0 < eps < 3/2), the map x -> U^T x / sqrt(P) keeps
every squared pairwise distance within 1 +- eps with probability >= 1 - delta,
when the entries of U are iid N(0, 1), Rademacher +-1, or sqrt(3) x {+1, 0, -1}
with probabilities {1/6, 2/3, 1/6}.  Applied to {a_i} u {+-b_j} (n = 3V points)
and polarisation, 4 a.b = |a+b|^2 - |a-b|^2, it gives
|Delta K_ij| <= (eps/2)(|a_i|^2 + |b_j|^2) for all i, j, and summing,
||Delta K||_F^2 <= (eps^2 V / 2)(||A||_F^2 + ||B||_F^2)^2.  The constant is not
established here for other laws; :func:`jl_constant_reason` says so.
"""

from __future__ import annotations

import sympy as sp
from sympy import Identity, Trace

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.moment_maps import symbols as S

# Output size of the model (rows of a Jacobian); local to this family.
V = sp.Symbol("V", integer=True, positive=True)


def _dim(law, d):
    # sympy integers, not Python ints: some maps divide by d (sphere: d/(d+2)),
    # which would fall back to float division with a Python int.
    return sp.sympify(law.fixed_dim if law.fixed_dim is not None else d)


def _scalar(expr: sp.MatrixExpr) -> sp.Expr:
    """A 1 x 1 matrix expression as a scalar (its trace)."""
    return Trace(expr)


def jacobians(d: S.Dim = S.d, v=V) -> tuple[sp.MatrixSymbol, sp.MatrixSymbol]:
    """The Jacobian symbols A = J(x_o), B = J(x_u), each v x d."""
    return S.matrix("A", v, d), S.matrix("B", v, d)


def entk_row_vectors(d: S.Dim = S.d) -> tuple[sp.MatrixSymbol, sp.MatrixSymbol]:
    """Two Jacobian rows a, b as d x 1 symbols (one output of each input)."""
    return S.vector("a", d), S.vector("b", d)


# -- one entry ------------------------------------------------------------------
def entk_entry_mean(law, a: sp.MatrixExpr, b: sp.MatrixExpr, d: S.Dim = S.d) -> sp.Expr:
    """E[K_hat_ab] = a^T S b (equals a^T b when E[u u^T] = I)."""
    d = _dim(law, d)
    return _scalar(a.T * law.second_moment(d) * b)


def entk_entry_single_moment(law, a: sp.MatrixExpr, b: sp.MatrixExpr, d: S.Dim = S.d) -> sp.Expr:
    """E[(a^T u)^2 (b^T u)^2] = a^T F(b b^T) a for one direction u."""
    d = _dim(law, d)
    return _scalar(a.T * law.fourth_moment(b * b.T, d) * a)


def entk_entry_variance(law, a: sp.MatrixExpr, b: sp.MatrixExpr, *, d: S.Dim = S.d, P: S.Dim = S.P) -> sp.Expr:
    """Var K_hat_ab = (a^T F(b b^T) a - (a^T S b)^2) / P (P iid directions)."""
    return (entk_entry_single_moment(law, a, b, d) - entk_entry_mean(law, a, b, d) ** 2) / P


# -- the whole V x V kernel ---------------------------------------------------
def entk_kernel_mean(law, A: sp.MatrixExpr, B: sp.MatrixExpr, d: S.Dim = S.d) -> sp.MatrixExpr:
    """E[K_hat] = A S B^T (= A B^T, the first-order eNTK, when S = I)."""
    return A * law.second_moment(_dim(law, d)) * B.T


def entk_frobenius_error(law, A: sp.MatrixExpr, B: sp.MatrixExpr, *, d: S.Dim = S.d, P: S.Dim = S.P) -> sp.Expr:
    """E||K_hat - E K_hat||_F^2 = (tr(A F(B^T B) A^T) - ||A S B^T||_F^2) / P."""
    dd = _dim(law, d)
    mean = entk_kernel_mean(law, A, B, dd)
    return (Trace(A * law.fourth_moment(B.T * B, dd) * A.T) - Trace(mean * mean.T)) / P


def frobenius_error_value(law, A, B, *, P: int) -> float:
    """E||K_hat - E K_hat||_F^2 for numeric ``A``, ``B`` (V x d numpy arrays).

    Closed-form override for zero-mean iid laws (cost O(V d), so d = 10^6 is
    fine): (s2^2 (||A||^2 ||B||^2 + ||A B^T||^2) + (m4 - 3 s2^2) sum_k
    ||A_:k||^2 ||B_:k||^2) / P, which is the general map with
    F(M) = s2^2 (tr(M) I + 2M) + (m4 - 3 s2^2) Diag(M); tests check the two agree.
    Other laws fall back to evaluating the general map (O(d^2) memory).
    """
    import numpy as np

    from zoverify.symbolic._evaluate import evaluate

    A, B = np.asarray(A, float), np.asarray(B, float)
    moments = law.scalar_moments()
    if moments is not None and moments["mean"] == 0:
        s2, m4 = float(moments["var"]), float(moments["m4"])
        cols = (A**2).sum(axis=0) @ (B**2).sum(axis=0)
        value = s2**2 * ((A**2).sum() * (B**2).sum() + ((A @ B.T) ** 2).sum()) + (m4 - 3 * s2**2) * cols
        return float(value / P)
    d = law.fixed_dim or S.d
    As, Bs = jacobians(d, A.shape[0])
    env = {S.d: A.shape[1], V: A.shape[0], As: A, Bs: B, S.P: P}
    return float(evaluate(entk_frobenius_error(law, As, Bs, d=d), env))


def second_moment_scale(law, d: S.Dim = S.d) -> sp.Expr | None:
    """s with E[u u^T] = s I, or None when E[u u^T] is not a multiple of I.

    With s != 1 the unbiased ZO eNTK is K_hat / s.
    """
    d = _dim(law, d)
    second = law.second_moment(d)
    if isinstance(second, Identity):
        return sp.Integer(1)
    if isinstance(second, sp.MatMul) and len(second.args) == 2 and isinstance(second.args[1], Identity):
        return second.args[0]
    if isinstance(second, sp.MatrixBase):
        n = second.shape[0]
        s = second[0, 0]
        if second == s * sp.eye(n):
            return s
    return None


# -- the P-query gradient estimator -------------------------------------------
def gradient_estimator_mean(law, g: sp.MatrixExpr, d: S.Dim = S.d) -> sp.MatrixExpr:
    """E[g_hat] = S g for g_hat = (1/P) sum_p u_p u_p^T g."""
    return law.second_moment(_dim(law, d)) * g


def gradient_estimator_second_moment(law, g: sp.MatrixExpr, *, d: S.Dim = S.d, P: S.Dim = S.P) -> sp.Expr:
    """E||g_hat||^2 = (g^T F(I) g + (P - 1) g^T S^T S g) / P."""
    d = _dim(law, d)
    second = law.second_moment(d)
    single = _scalar(g.T * law.fourth_moment(Identity(d), d) * g)
    cross = _scalar(g.T * second.T * second * g)
    return (single + (P - 1) * cross) / P


# -- Johnson-Lindenstrauss ------------------------------------------------------
JL_LAWS = {
    "gaussian": "Achlioptas (2003) Thm 1.1 / Dasgupta-Gupta: iid N(0, 1) entries",
    "rademacher": "Achlioptas (2003) Thm 1.1: iid +-1 entries",
}


def jl_constant(eps: sp.Expr = S.eps) -> sp.Expr:
    """c(eps) = 1/4 - eps/6, from (eps^2/2 - eps^3/3) = 2 c eps^2."""
    return sp.Rational(1, 4) - eps / 6


def jl_constant_reason(law) -> str | None:
    """None when Achlioptas' constant is established for ``law``, else why not."""
    if law.spec in JL_LAWS:
        return None
    if law.name == "gaussian":
        return (
            f"law {law.spec}: the JL constant c = 1/4 - eps/6 is established for N(0, 1) entries "
            "only; rescale the directions to zero mean and unit variance"
        )
    return (
        f"law {law.spec}: the JL constant c = 1/4 - eps/6 is established only for "
        f"{', '.join(JL_LAWS)} entries (Achlioptas 2003); it is not proven for this law"
    )


def jl_perturbations(eps: sp.Expr = S.eps, delta: sp.Expr = S.delta, num_points: int | None = None) -> sp.Expr:
    """(2 ln n + ln(1/delta)) / (c(eps) eps^2): the JL direction count (before rounding up)."""
    n = sp.Symbol("n", integer=True, positive=True) if num_points is None else sp.sympify(num_points)
    return (2 * sp.log(n) + sp.log(1 / delta)) / (jl_constant(eps) * eps**2)


def jl_required_perturbations(eps: float, delta: float, num_points: int) -> int:
    """The smallest integer P with P >= (2 ln n + ln(1/delta)) / (c eps^2)."""
    if not 0 < eps < 1.5:
        raise InvalidParameterError(f"epsilon must be in (0, 1.5) so that c = 1/4 - eps/6 > 0, got {eps}")
    if not 0 < delta < 1:
        raise InvalidParameterError(f"delta must be in (0, 1), got {delta}")
    if int(num_points) != num_points or num_points < 2:
        raise InvalidParameterError(f"points must be an integer >= 2, got {num_points}")
    value = jl_perturbations(sp.nsimplify(eps), sp.nsimplify(delta), int(num_points))
    return int(sp.ceiling(value))


def jl_points_for_kernel(v) -> int:
    """Points in {a_i} u {+-b_j} for V outputs: n = 3V."""
    return 3 * int(v)


def jl_entry_bound(eps, norm_a_sq, norm_b_sq):
    """(eps/2)(|a|^2 + |b|^2): the entrywise JL bound on |Delta K_ab|."""
    return eps / 2 * (norm_a_sq + norm_b_sq)


def jl_frobenius_bound(eps, v, frob_a_sq, frob_b_sq):
    """(eps^2 V / 2)(||A||_F^2 + ||B||_F^2)^2: the Frobenius JL bound on ||Delta K||_F^2."""
    return eps**2 * v / 2 * (frob_a_sq + frob_b_sq) ** 2


def explicit_value(expr: sp.Basic, bindings: dict) -> sp.Basic:
    """Substitute explicit sympy matrices for matrix symbols and expand every node.

    Exact arithmetic (rationals, symbols) throughout; used by the derivation and
    tests to compare the maps with independent small-d computations.
    """
    out = expr.subs(bindings).doit()
    out = out.replace(lambda e: isinstance(e, sp.Identity) and e.rows.is_number, lambda e: sp.eye(int(e.rows)))
    out = out.replace(
        lambda e: isinstance(e, sp.OneMatrix) and e.shape[0].is_number and e.shape[1].is_number,
        lambda e: sp.ones(int(e.shape[0]), int(e.shape[1])),
    )
    out = out.doit()
    diag = lambda e: isinstance(e, sp.DiagonalMatrix) and isinstance(e.arg, sp.MatrixBase)  # noqa: E731
    out = out.replace(diag, lambda e: sp.diag(*[e.arg[i, i] for i in range(e.arg.shape[0])]))
    out = out.doit()
    if isinstance(out, sp.MatrixBase) and out.shape == (1, 1):
        out = out[0, 0]
    return sp.expand(out)


def require_jl_law(law) -> None:
    """Raise :class:`NotApplicableError` when the JL constant is not established for ``law``."""
    reason = jl_constant_reason(law)
    if reason is not None:
        raise NotApplicableError(reason)


__all__ = [
    "JL_LAWS",
    "V",
    "entk_entry_mean",
    "entk_entry_single_moment",
    "entk_entry_variance",
    "entk_frobenius_error",
    "entk_kernel_mean",
    "entk_row_vectors",
    "explicit_value",
    "frobenius_error_value",
    "gradient_estimator_mean",
    "gradient_estimator_second_moment",
    "jacobians",
    "jl_constant",
    "jl_constant_reason",
    "jl_entry_bound",
    "jl_frobenius_bound",
    "jl_perturbations",
    "jl_points_for_kernel",
    "jl_required_perturbations",
    "require_jl_law",
    "second_moment_scale",
]
