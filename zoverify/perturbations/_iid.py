"""Laws whose coordinates are a mean vector plus iid centred noise.

For z = m + w with w_i iid, E[w_i] = 0, E[w_i^2] = s2, E[w_i^3] = m3 and
E[w_i^4] = m4, expanding (z^T A z) z z^T and keeping the non-vanishing moments of
w gives (A symmetric, a = diag(A) as a vector, Diag the diagonal part):

    E[(z^T A z) z z^T] = (m^T A m)(m m^T + s2 I) + 2 s2 (m m^T A + A m m^T)
                         + s2 tr(A) m m^T + s2^2 (tr(A) I + 2A)
                         + (m4 - 3 s2^2) Diag(A)
                         + 2 m3 diag(A m) + m3 (m a^T + a m^T)

and E[(v^T z) z z^T] = (v^T m)(m m^T + s2 I) + s2 (m v^T + v m^T) + m3 diag(v).
The m4 - 3 s2^2 term is the excess kurtosis that separates iid laws from the
Gaussian; it is what makes non-Gaussian stability depend on H's eigenvectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy import (
    DiagMatrix,
    DiagonalMatrix,
    DiagonalOf,
    Identity,
    OneMatrix,
    Trace,
    ZeroMatrix,
)

from zoverify._errors import InvalidParameterError, MomentDoesNotExistError
from zoverify.moment_maps import symbols as S
from zoverify.perturbations._base import AbstractLaw, float_dtype
from zoverify.perturbations._params import LawParam, Real, RealOrVector, Span

if TYPE_CHECKING:
    import torch


class AbstractIIDLaw(AbstractLaw):
    """Mean vector plus iid centred coordinates; subclasses give the coordinate moments."""

    iid_coordinates = True
    #: moments of order < this bound exist (float('inf') for light tails)
    moment_order_bound: float = float("inf")

    def centred_moments(self) -> dict[str, sp.Expr]:
        """{var, m3, m4} and, where the law defines them, {m5, m6}: central moments of one coordinate.

        m5 and m6 serve the fifth- and sixth-order maps (:mod:`zoverify.perturbations._higher`);
        a law without them can still give every map up to the fourth order.
        """
        raise NotImplementedError

    def scalar_mean(self) -> sp.Expr:
        """The per-coordinate mean when it is the same for every coordinate."""
        return sp.Integer(0)

    def mean_vector(self, d: S.Dim) -> sp.MatrixExpr:
        mu = self.scalar_mean()
        if mu == 0:
            return ZeroMatrix(d, 1)
        return mu * OneMatrix(d, 1)  # pyright: ignore[reportReturnType]  # sympy types scalar * matrix as Expr

    def scalar_moments(self) -> dict[str, sp.Expr]:
        return {"mean": self.scalar_mean(), **self.centred_moments()}

    def require_moment(self, order: int) -> None:
        """Raise :class:`MomentDoesNotExistError` if E|z_i|^order is infinite."""
        if not order < self.moment_order_bound:
            raise MomentDoesNotExistError(
                f"law {self.spec} has no finite moment of order {order} "
                f"(moments exist only below order {self.moment_order_bound:g})"
            )

    # -- moment maps --------------------------------------------------------
    def mean(self, d: S.Dim = S.d):
        self.check_dim(d)
        self.require_moment(1)
        return self.mean_vector(d)

    def second_moment(self, d: S.Dim = S.d):
        self.check_dim(d)
        self.require_moment(2)
        m = self.mean_vector(d)
        out = self.centred_moments()["var"] * Identity(d)
        return out if _is_zero(m) else out + m * m.T

    def third_moment(self, v, d: S.Dim = S.d):
        self.check_dim(d)
        self.require_moment(3)
        mom = self.centred_moments()
        s2, m3 = mom["var"], mom["m3"]
        m = self.mean_vector(d)
        terms = []
        if not _is_zero(m):
            terms += [Trace(v.T * m) * (m * m.T + s2 * Identity(d)), s2 * (m * v.T + v * m.T)]
        if m3 != 0:
            terms.append(m3 * DiagMatrix(v))
        return sp.MatAdd(*terms) if terms else ZeroMatrix(d, d)

    def fourth_moment(self, A, d: S.Dim = S.d):
        self.check_dim(d)
        self.require_moment(4)
        mom = self.centred_moments()
        s2, m3, m4 = mom["var"], mom["m3"], mom["m4"]
        m = self.mean_vector(d)
        terms = [s2**2 * (Trace(A) * Identity(d) + 2 * A)]
        excess = sp.simplify(m4 - 3 * s2**2)
        if excess != 0:
            terms.append(excess * diagonal_part(A))
        if not _is_zero(m):
            mm = m * m.T
            terms += [
                Trace(m.T * A * m) * (mm + s2 * Identity(d)),
                2 * s2 * (mm * A + A * mm),
                s2 * Trace(A) * mm,
            ]
            if m3 != 0:
                a = DiagonalOf(A)
                terms += [2 * m3 * DiagMatrix(A * m), m3 * (m * a.T + a * m.T)]
        return sp.MatAdd(*terms)

    # -- sampling -------------------------------------------------------------
    def sample(self, num_samples, dim, *, generator, dtype=None, device=None):
        self.check_dim(dim)
        dtype = float_dtype(dtype)
        out = self._sample_centred((int(num_samples), int(dim)), generator, dtype)
        if not self._has_zero_mean():  # skip a full pass over the samples when E z = 0
            out = out + self._mean_tensor(int(dim), dtype, generator.device)
        return out.to(self._device(generator, device))

    def _has_zero_mean(self) -> bool:
        # memoised: the samplers ask at every draw, and the answer is a sympy simplification
        memo = getattr(self, "_zero_mean_memo", None)
        if memo is None:
            memo = _is_zero(self.mean_vector(S.d)) if self.fixed_dim is None else False
            object.__setattr__(self, "_zero_mean_memo", memo)
        return memo

    def mean_tensor(self, dim: int, *, dtype=None, device=None) -> torch.Tensor:
        """E[z] as a length-``dim`` tensor (for samplers and reduced simulators); float64 by default."""
        self.check_dim(dim)
        return self._mean_tensor(int(dim), float_dtype(dtype), device)

    def _mean_tensor(self, dim: int, dtype, device) -> torch.Tensor:
        import torch

        memo = getattr(self, "_scalar_mean_memo", None)  # memoised like _has_zero_mean
        if memo is None:
            memo = float(self.scalar_mean())
            object.__setattr__(self, "_scalar_mean_memo", memo)
        return torch.full((dim,), memo, dtype=dtype, device=device)

    def _sample_centred(self, shape, generator, dtype) -> torch.Tensor:
        raise NotImplementedError


def _is_zero(m: sp.MatrixExpr) -> bool:
    return isinstance(m, ZeroMatrix)


def diagonal_part(A: sp.MatrixExpr) -> sp.MatrixExpr:
    """Diag(A), the off-diagonal entries zeroed; kept as A when A is already diagonal."""
    if isinstance(A, (Identity, ZeroMatrix)) or (isinstance(A, sp.MatrixBase) and A.is_diagonal()):
        return A
    return DiagonalMatrix(A)


def positive_number(name: str, value: Any, *, law: str) -> sp.Expr:
    """Validate a positive parameter (numeric or a positive sympy symbol)."""
    if isinstance(value, (str, bool)) or value is None:
        raise InvalidParameterError(f"{law}: {name} must be a positive number, got {value!r}")
    expr = sp.sympify(value)
    if expr.is_number:
        if not expr.is_real or not expr > 0:
            raise InvalidParameterError(f"{law}: {name} must be a positive number, got {value}")
        return sp.nsimplify(expr) if isinstance(value, float) else expr
    if expr.is_positive is not True:
        raise InvalidParameterError(f"{law}: symbolic {name} must be declared positive")
    return expr


def plain(value: sp.Expr) -> Any:
    """A sympy number as int/float for reports; symbols as strings."""
    if value.is_Integer:
        return int(value)
    if value.is_number:
        return float(value)
    return str(value)


class Gaussian(AbstractIIDLaw):
    """z ~ N(mean, std^2 I); ``mean`` is a scalar, a list (fixes d) or a d x 1 MatrixSymbol."""

    name = "gaussian"
    rotation_invariant = True
    # the k-th test law pairs the k-th mean with the k-th std: N(0, 1), a scalar mean, a vector mean
    law_params = {
        "mean": LawParam(domain=RealOrVector(), typical=Span(-1.0, 1.0), test_values=(0, 0.5, [0.3, -0.5, 0.2])),
        "std": LawParam(domain=Real(0), typical=Span(0.2, 3.0), test_values=(1, 2, 0.7)),
    }

    def __init__(self, mean: Any = 0, std: Any = 1):
        self.std = positive_number("std", std, law="gaussian")
        if isinstance(mean, (str, bool)) or mean is None:
            raise InvalidParameterError(f"gaussian: mean must be a real number or a list of numbers, got {mean!r}")
        self._vector_mean: sp.MatrixBase | sp.MatrixSymbol | None = None
        if isinstance(mean, sp.MatrixSymbol):
            self._vector_mean = mean
            self._mean = None
        elif isinstance(mean, (list, tuple)) or (hasattr(mean, "shape") and len(getattr(mean, "shape", ())) >= 1):
            values = [sp.nsimplify(float(x)) if isinstance(x, float) else sp.sympify(x) for x in list(mean)]
            if not values or not all(v.is_real for v in values):
                raise InvalidParameterError(
                    f"gaussian: mean must be a real scalar or a non-empty real vector, got {mean}"
                )
            self._vector_mean = sp.Matrix(values)
            self.fixed_dim = len(values)
            self._mean = None
        else:
            m = sp.sympify(mean)
            if m.is_number and not m.is_real:
                raise InvalidParameterError(f"gaussian: mean must be real, got {mean}")
            self._mean = sp.nsimplify(m) if isinstance(mean, float) else m
        self.rotation_invariant = self._is_centred()

    def _is_centred(self) -> bool:
        return self._vector_mean is None and self._mean == 0

    def parameters(self) -> Mapping[str, Any]:
        params: dict[str, Any] = {}
        if self._vector_mean is not None:
            if isinstance(self._vector_mean, sp.MatrixSymbol):
                params["mean"] = self._vector_mean.name
            else:
                params["mean"] = [plain(v) for v in self._vector_mean]
        elif self._mean is not None and self._mean != 0:
            params["mean"] = plain(self._mean)
        if self.std != 1:
            params["std"] = plain(self.std)
        return params

    def scalar_mean(self):
        return self._mean if self._mean is not None else sp.nan

    def mean_vector(self, d):
        if self._vector_mean is not None:
            if isinstance(self._vector_mean, sp.MatrixSymbol) and self._vector_mean.shape[0] != d:
                return sp.MatrixSymbol(self._vector_mean.name, d, 1)
            return self._vector_mean
        return super().mean_vector(d)

    def scalar_moments(self):
        if self._vector_mean is not None:
            return None
        return super().scalar_moments()

    def centred_moments(self):
        s2 = self.std**2
        return {"var": s2, "m3": sp.Integer(0), "m4": 3 * s2**2, "m5": sp.Integer(0), "m6": 15 * s2**3}

    def _mean_tensor(self, dim, dtype, device):
        if self._vector_mean is None:
            return super()._mean_tensor(dim, dtype, device)
        if isinstance(self._vector_mean, sp.MatrixSymbol):
            raise InvalidParameterError("gaussian: cannot sample with a symbolic vector mean")
        import torch

        return torch.tensor([float(v) for v in self._vector_mean], dtype=dtype, device=device)

    def _sample_centred(self, shape, generator, dtype):
        import torch

        std = _float_param(self.std, "std", self)
        noise = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)
        return noise if std == 1.0 else noise.mul_(std)


def _float_param(value: sp.Expr, name: str, law: AbstractLaw) -> float:
    if not value.is_number:
        raise InvalidParameterError(f"{law.spec}: cannot sample with symbolic {name}")
    return float(value)
