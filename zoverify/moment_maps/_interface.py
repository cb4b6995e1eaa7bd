"""The moment-map interface: the symbolic half of a perturbation law.

A law of the direction z in R^d gives its moments as sympy matrix expressions
with the dimension kept symbolic.  Derivations are written once against these
maps; a new law (iid, rotation invariant or structured) only supplies its own
maps, never special cases in the derivations.  Samplers are added on top of this
interface in :mod:`zoverify.perturbations`; the symbolic layer sees only this.

The moment maps (A symmetric d x d, v a d-vector, both sympy matrix expressions):

* ``mean(d)``             E[z]                   (d x 1)
* ``second_moment(d)``    E[z z^T]               (d x d)
* ``third_moment(v, d)``  E[(v^T z) z z^T]       (d x d)
* ``fourth_moment(A, d)`` E[z z^T A z z^T] = E[(z^T A z) z z^T]  (d x d)

These are enough for E[||z||^2 z z^T] (A = I), E[(z^T a)(z^T b)] and
E[(z^T a)^2 (z^T b)^2] (a^T fourth(b b^T) a) and for the mean-square stability
operator S -> E[z z^T H S H z z^T].
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

import sympy as sp

from zoverify._errors import InvalidParameterError
from zoverify.moment_maps import symbols as S


class MomentMap(abc.ABC):
    """The moments of a distribution of ZO directions z in R^d.

    Attributes:
        name: the registered family name (``"gaussian"``).
        fixed_dim: the dimension the law is tied to (a vector mean), else ``None``.
        rotation_invariant: the law of Q z equals that of z for orthogonal Q (after
            centring), so spectral results hold for any eigenbasis.
        iid_coordinates: the centred coordinates are independent and identically
            distributed.
    """

    name: str = "abstract"
    fixed_dim: int | None = None
    rotation_invariant: bool = False
    iid_coordinates: bool = False

    # -- description --------------------------------------------------------
    @abc.abstractmethod
    def parameters(self) -> Mapping[str, Any]:
        """The law's parameters as plain Python values (for specs and reports)."""

    #: set when loaded from ``file.py:Class`` / ``module:name``, so reports name the source
    source_spec: str | None = None

    @property
    def spec(self) -> str:
        """A law spec string that :func:`zoverify.perturbations.parse_law` maps back."""
        if self.source_spec is not None:
            return self.source_spec
        return format_spec(self.name, self.parameters())

    def __repr__(self) -> str:
        return f"<law {self.spec}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MomentMap) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    # -- symbolic moments ---------------------------------------------------
    @abc.abstractmethod
    def mean(self, d: S.Dim = S.d) -> sp.MatrixExpr:
        """E[z] as a d x 1 matrix expression."""

    @abc.abstractmethod
    def second_moment(self, d: S.Dim = S.d) -> sp.MatrixExpr:
        """E[z z^T] as a d x d matrix expression."""

    @abc.abstractmethod
    def third_moment(self, v: sp.MatrixExpr, d: S.Dim = S.d) -> sp.MatrixExpr:
        """E[(v^T z) z z^T] as a d x d matrix expression."""

    @abc.abstractmethod
    def fourth_moment(self, A: sp.MatrixExpr, d: S.Dim = S.d) -> sp.MatrixExpr:
        """E[z z^T A z z^T] for symmetric A, as a d x d matrix expression."""

    def scalar_moments(self) -> dict[str, sp.Expr] | None:
        """Coordinate moments {mean, var, m3, m4} (central) for iid laws, else None."""
        return None

    # -- helpers for implementations -----------------------------------------
    def check_dim(self, dim: Any) -> None:
        """Refuse a dimension the law cannot take."""
        if isinstance(dim, sp.Expr) and not dim.is_number:  # a symbolic size such as d
            if self.fixed_dim is not None:
                raise InvalidParameterError(
                    f"law {self.spec} has fixed dimension {self.fixed_dim}; a symbolic dimension is not accepted"
                )
            return
        n = int(dim)
        if n < 1:
            raise InvalidParameterError(f"dimension must be a positive integer, got {dim}")
        if self.fixed_dim is not None and n != self.fixed_dim:
            raise InvalidParameterError(
                f"law {self.spec} has a mean of length {self.fixed_dim}; dimension {n} does not match"
            )


def format_spec(name: str, params: Mapping[str, Any]) -> str:
    """``name`` or ``name(key=value, ...)``: the spec string of a family and its parameters."""
    if not params:
        return name
    inner = ", ".join(f"{k}={_format_value(v)}" for k, v in params.items())
    return f"{name}({inner})"


def _format_value(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_format_value(x) for x in v) + "]"
    # str, not repr, for numbers: repr(numpy.float64(2.0)) is "np.float64(2.0)", which no spec parses
    return repr(v) if isinstance(v, str) else str(v)
