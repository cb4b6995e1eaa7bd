"""The NZK quantities of :mod:`zoverify.symbolic.nzk` for laws given as objects or spec strings.

:mod:`zoverify.symbolic.nzk` is derived against the moment-map interface and takes
law objects only (the symbolic layer never imports the laws' package); this
module parses specs with :func:`zoverify.perturbations.parse_law` and delegates,
so ``kernel_factor("laplace(b=0.6)")`` works.  Everything else is re-exported.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from zoverify.moment_maps import MomentMap
from zoverify.moment_maps import symbols as S
from zoverify.perturbations import AbstractLaw, parse_law
from zoverify.symbolic import nzk as _sym
from zoverify.symbolic.nzk import (
    EXPLICIT_LIMIT,
    ORIENTATION,
    PAIRINGS,
    common_dimension,
    corollary2_statement,
    evaluate_middle_matrix,
    expected_kernel,
    identity_coefficient,
    iid_shared_statement,
    kernel_gd_threshold,
    mean_evolution_expr,
    mean_function,
    mean_function_curve,
    shared_gaussian_statement,
    stability_threshold_expr,
)

LawLike = AbstractLaw | str  # what parse_law accepts


def _parsed(law: LawLike | None) -> MomentMap | None:
    return None if law is None else parse_law(law)


def nzk_middle_matrix(
    law: LawLike, *, pairing: str = "shared", zeta_law: LawLike | None = None, d: sp.Expr | int | None = None
) -> sp.MatrixExpr:
    """:func:`zoverify.symbolic.nzk.nzk_middle_matrix` with laws as objects or specs."""
    return _sym.nzk_middle_matrix(parse_law(law), pairing=pairing, zeta_law=_parsed(zeta_law), d=d)


def kernel_factor(law: LawLike, *, pairing: str = "shared", zeta_law: LawLike | None = None, d: S.Dim = S.d) -> sp.Expr:
    """:func:`zoverify.symbolic.nzk.kernel_factor` with laws as objects or specs."""
    return _sym.kernel_factor(parse_law(law), pairing=pairing, zeta_law=_parsed(zeta_law), d=d)


def zo_gd_speedup(law: LawLike, d: S.Dim = S.d) -> sp.Expr:
    """:func:`zoverify.symbolic.nzk.zo_gd_speedup` with the law as an object or a spec."""
    return _sym.zo_gd_speedup(parse_law(law), d=d)


def equal_kernel_parameter(
    make_law: Callable[[sp.Symbol], MomentMap], reference: LawLike, *, d: int | sp.Expr
) -> sp.Expr:
    """:func:`zoverify.symbolic.nzk.equal_kernel_parameter` with the reference as an object or a spec.

    E.g. ``equal_kernel_parameter(lambda b: Laplace(b=b), "gaussian", d=2) == 7**(-1/4)``.
    """
    return _sym.equal_kernel_parameter(make_law, parse_law(reference), d=d)


__all__ = [
    "EXPLICIT_LIMIT",
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
