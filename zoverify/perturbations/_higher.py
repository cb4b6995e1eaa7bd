"""Moment maps of order five and six (and the fourth-order cubic map) as numbers at a given dimension.

    fifth_moment(law, d, v=v, A=A) = E[(z^T v)(z^T A z) z z^T]
    sixth_moment(law, d, A=A)      = E[(z^T A z)^2 z z^T]
    cubic_moment(law, d, c=c)      = E[(sum_i c_i z_i^3) z]

They are what the forward difference on a quadratic and the central difference on a cubic add
to an estimator's moments (docs/audit.md, "Second moment" and "Mean on a cubic").

iid laws (any mean, any skew).  Independent coordinates have no joint cumulant unless every
index is the same, so the moment-cumulant formula reads

    E[z_{i_1} ... z_{i_n}] = sum over set partitions P of {1..n} of prod_{B in P} [i_k equal on B] kappa_|B|(i_B)

with kappa_r(i) the r-th cumulant of coordinate i (kappa_1 the mean, kappa_2..6 from the central
moments var, m3..m6).  Contracting with the operands turns each partition into one einsum in
which the positions of a block share one index, weighted by the block's cumulant vector: exact
at any d, Bell(6) = 203 terms, fewer when odd cumulants or the mean vanish.

Isotropic laws (E[zz^T] = I, rotation invariant).  The only rotation-invariant symmetric
six-tensors are multiples of the sum of the 15 pairings of delta_ij delta_kl delta_ab, so
E[z_i z_j z_k z_l z_a z_b] = c6 (sum of the 15 pairings), and contracting every index gives
E||z||^6 = c6 d (d + 2) (d + 4).  Contracting the pairings with A_ij A_kl (1 pairing keeps
(ij)(kl)(ab), 2 pair i, j across to k, l, 4 pair a and b into one A, 8 split a and b between the two):

    E[(z^T A z)^2 z z^T] = c6 ((tr A)^2 I + 2 tr(A^2) I + 4 tr(A) A + 8 A^2)

(1 + 2 + 4 + 8 = 15); c6 = 1 for N(0, I) and d^2 / ((d + 2)(d + 4)) on the sphere of radius
sqrt(d).  z -> -z leaves the law unchanged, so every odd moment vanishes; E[z_i^4] = 3 c4 with
c4 = E||z||^4 / (d (d + 2)) the law's fourth-moment factor, and E[z_i^3 z_j] = 0 for i != j.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from zoverify._errors import MomentDoesNotExistError, NotApplicableError
from zoverify.perturbations._base import AbstractLaw
from zoverify.perturbations._iid import AbstractIIDLaw
from zoverify.perturbations._sphere import AbstractIsotropicLaw

_CENTRAL = {2: "var", 3: "m3", 4: "m4", 5: "m5", 6: "m6"}


def _finite(law: AbstractLaw, value, order: int) -> float:
    expr = sp.sympify(value)
    if not expr.is_number or not expr.is_finite:
        raise MomentDoesNotExistError(
            f"law {law.spec} has no finite central moment of order {order} (its centred_moments() gives {value})"
        )
    return float(expr)


def coordinate_cumulants(law: AbstractIIDLaw, dim: int, order: int) -> dict[int, np.ndarray]:
    """{r: kappa_r of each coordinate, a length-``dim`` array} for r = 1..order.

    kappa_1 is the mean; from the central moments, kappa_2 = var, kappa_3 = m3,
    kappa_4 = m4 - 3 var^2, kappa_5 = m5 - 10 m3 var, kappa_6 = m6 - 15 m4 var - 10 m3^2 + 30 var^3.
    A law whose ``centred_moments()`` lacks an order that is needed is an error naming both.
    """
    if not 1 <= order <= 6:
        raise NotApplicableError(f"cumulants are derived here up to order 6, not {order}")
    law.require_moment(order)
    mom = law.centred_moments()
    central = {1: 0.0}
    for r in range(2, order + 1):
        if _CENTRAL[r] not in mom:
            raise MomentDoesNotExistError(
                f"law {law.spec} does not define its central moment of order {r} "
                f"('{_CENTRAL[r]}' in centred_moments()), which this moment map needs"
            )
        central[r] = _finite(law, mom[_CENTRAL[r]], r)
    s2, m3, m4, m5, m6 = (central.get(r, 0.0) for r in (2, 3, 4, 5, 6))
    scalar = {2: s2, 3: m3, 4: m4 - 3 * s2**2, 5: m5 - 10 * m3 * s2, 6: m6 - 15 * m4 * s2 - 10 * m3**2 + 30 * s2**3}
    mean = np.asarray(law.mean(int(dim)).as_explicit(), dtype=float).reshape(int(dim))
    out = {1: mean}
    for r in range(2, order + 1):
        out[r] = np.full(int(dim), scalar[r])
    return out


@lru_cache(maxsize=8)
def set_partitions(n: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Every set partition of range(n) (Bell(n) of them), blocks in order of their first element."""
    if n == 0:
        return ((),)
    out = []
    for part in set_partitions(n - 1):
        for k in range(len(part)):
            out.append(part[:k] + (part[k] + (n - 1,),) + part[k + 1 :])
        out.append(part + ((n - 1,),))
    return tuple(out)


def iid_expectation(
    kappa: dict[int, np.ndarray], *, letters: str, operands: list[tuple[np.ndarray, str]], output: str
) -> np.ndarray:
    """E[sum over the non-output letters of prod(operands) prod_{l in letters} z_l] for iid coordinates.

    ``letters`` names one coordinate of z per factor (distinct letters), each operand is
    ``(array, subscripts)`` over those letters, and ``output`` lists the free letters; the
    expectation is the sum over set partitions of the letters (see the module docstring).
    """
    dim = len(next(iter(kappa.values())))
    eye = np.eye(dim)
    total = np.zeros((dim,) * len(output))
    for part in set_partitions(len(letters)):
        if any(len(block) not in kappa or not np.any(kappa[len(block)]) for block in part):
            continue  # a vanishing cumulant: no contribution
        rename, terms = {}, []
        for block in part:
            names = [letters[k] for k in block]
            free = [n for n in names if n in output]
            rep = free[0] if free else names[0]
            for n in names:
                rename[n] = n if n in output else rep
            terms += [(eye, rep + n) for n in free[1:]]  # free letters of one block are equal
            terms.append((kappa[len(block)], rep))
        terms += [(array, "".join(rename[s] for s in subs)) for array, subs in operands]
        spec = ",".join(s for _, s in terms) + "->" + output
        total = total + np.einsum(spec, *(a for a, _ in terms))
    return total


def _isotropic_factor(law: AbstractIsotropicLaw, dim: int, order: int) -> float:
    method = {4: law.fourth_moment_factor, 6: law.sixth_moment_factor}[order]
    try:
        return float(method(sp.Integer(int(dim))))
    except NotImplementedError:
        raise MomentDoesNotExistError(
            f"law {law.spec} does not define its moment factor of order {order} "
            f"(E||z||^{order} over its isotropic pairing count)"
        ) from None


def _unsupported(law: AbstractLaw, what: str):
    return NotApplicableError(
        f"law {law.spec}: {what} is derived for iid and isotropic laws only (docs/audit.md#second-moment)"
    )


def sixth_moment(law: AbstractLaw, dim: int, *, A: np.ndarray) -> np.ndarray:
    """E[(z^T A z)^2 z z^T] for symmetric A, a (dim, dim) array."""
    A = np.asarray(A, float)
    if isinstance(law, AbstractIsotropicLaw):
        c6, eye, trace = _isotropic_factor(law, dim, 6), np.eye(int(dim)), np.trace(A)
        return c6 * ((trace**2 + 2 * np.trace(A @ A)) * eye + 4 * trace * A + 8 * A @ A)
    if isinstance(law, AbstractIIDLaw):
        kappa = coordinate_cumulants(law, dim, 6)
        return iid_expectation(kappa, letters="ijklab", operands=[(A, "ij"), (A, "kl")], output="ab")
    raise _unsupported(law, "E[(z^T A z)^2 z z^T]")


def fifth_moment(law: AbstractLaw, dim: int, *, v: np.ndarray, A: np.ndarray) -> np.ndarray:
    """E[(z^T v)(z^T A z) z z^T] for a vector v and symmetric A (zero for isotropic laws)."""
    v, A = np.asarray(v, float), np.asarray(A, float)
    if isinstance(law, AbstractIsotropicLaw):
        return np.zeros((int(dim), int(dim)))
    if isinstance(law, AbstractIIDLaw):
        kappa = coordinate_cumulants(law, dim, 5)
        return iid_expectation(kappa, letters="iklab", operands=[(v, "i"), (A, "kl")], output="ab")
    raise _unsupported(law, "E[(z^T v)(z^T A z) z z^T]")


def cubic_moment(law: AbstractLaw, dim: int, *, c: np.ndarray) -> np.ndarray:
    """E[(sum_i c_i z_i^3) z], a length-dim vector (a fourth-order moment)."""
    c = np.asarray(c, float)
    if isinstance(law, AbstractIsotropicLaw):
        return 3 * _isotropic_factor(law, dim, 4) * c  # E[z_a^4] = 3 c4; E[z_i^3 z_a] = 0 for i != a
    if isinstance(law, AbstractIIDLaw):
        kappa = coordinate_cumulants(law, dim, 4)
        cube = np.zeros((int(dim),) * 3)
        cube[np.diag_indices(int(dim), 3)] = c  # c_i on the diagonal i = j = k
        return iid_expectation(kappa, letters="ijka", operands=[(cube, "ijk")], output="a")
    raise _unsupported(law, "E[(sum_i c_i z_i^3) z]")


__all__ = ["coordinate_cumulants", "cubic_moment", "fifth_moment", "iid_expectation", "set_partitions", "sixth_moment"]
