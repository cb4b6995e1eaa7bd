"""Evaluate sympy scalar and matrix expressions numerically with numpy.

``sympy``'s ``as_explicit`` builds a d x d matrix of symbolic entries and becomes
slow beyond d ~ 30; the claims need predictions at d in the hundreds.  This walks
the expression tree once and evaluates each node with numpy, so a fourth-moment
map at d = 1000 costs a few matrix products.  New matrix-expression node types
(e.g. a block-diagonal part for structured laws) register an evaluator with
:func:`register_evaluator`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import (
    DiagMatrix,
    DiagonalMatrix,
    DiagonalOf,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    MatPow,
    MatrixSymbol,
    OneMatrix,
    Trace,
    Transpose,
    ZeroMatrix,
)
from sympy.matrices.expressions.matexpr import MatrixElement

from zoverify._errors import InvalidParameterError

Env = Mapping[Any, Any]
_EVALUATORS: dict[type, Callable[[sp.Basic, Callable[[sp.Basic], Any]], Any]] = {}


def register_evaluator(node_type: type):
    """Register ``fn(expr, ev)`` evaluating ``node_type``; ``ev`` evaluates children."""

    def deco(fn):
        _EVALUATORS[node_type] = fn
        return fn

    return deco


def evaluate(expr: sp.Basic, env: Env) -> Any:
    """Evaluate ``expr`` with symbols bound by ``env`` (Symbol -> float, MatrixSymbol -> array).

    Returns a float for scalar expressions and a 2-D ``numpy.ndarray`` for matrices.
    """
    cache: dict[sp.Basic, Any] = {}

    def ev(e: sp.Basic) -> Any:
        if e in cache:
            return cache[e]
        val = _evaluate_node(e, ev, env)
        cache[e] = val
        return val

    return ev(sp.sympify(expr))


def _size(n: sp.Basic, env: Env) -> int:
    value = n if isinstance(n, int) else evaluate(n, env)
    if float(value) != int(value):
        raise InvalidParameterError(f"dimension {n} evaluated to non-integer {value}")
    return int(value)


def _evaluate_node(e: sp.Basic, ev, env: Env) -> Any:  # a dispatch table
    for node_type, fn in _EVALUATORS.items():
        if isinstance(e, node_type):
            return fn(e, ev)
    if isinstance(e, MatrixSymbol):
        if e not in env:
            raise InvalidParameterError(f"no value bound for matrix symbol {e.name}")
        value = np.asarray(env[e], dtype=float)
        if value.ndim == 1:
            value = value[:, None]
        return value
    if isinstance(e, Identity):
        return np.eye(_size(e.rows, env))
    if isinstance(e, ZeroMatrix):
        return np.zeros((_size(e.rows, env), _size(e.cols, env)))
    if isinstance(e, OneMatrix):
        return np.ones((_size(e.rows, env), _size(e.cols, env)))
    if isinstance(e, MatAdd):
        return _as_matrix_sum([ev(a) for a in e.args])
    if isinstance(e, MatMul):
        return _product([ev(a) for a in e.args])
    if isinstance(e, Transpose):
        return ev(e.arg).T
    if isinstance(e, Trace):
        return float(np.trace(ev(e.arg)))
    if isinstance(e, DiagonalMatrix):
        return np.diag(np.diag(ev(e.args[0])))
    if isinstance(e, DiagMatrix):
        return np.diag(np.ravel(ev(e.args[0])))
    if isinstance(e, DiagonalOf):
        return np.diag(ev(e.args[0]))[:, None]
    if isinstance(e, HadamardProduct):
        return np.prod([ev(a) for a in e.args], axis=0)
    if isinstance(e, MatPow):  # Inverse too: it is MatPow(X, -1), and matrix_power inverts for negative powers
        return np.linalg.matrix_power(ev(e.base), int(ev(e.exp)))
    if isinstance(e, MatrixElement):
        return float(ev(e.parent)[int(ev(e.i)), int(ev(e.j))])
    if isinstance(e, sp.MatrixBase):
        return np.array([[float(ev(x)) for x in row] for row in e.tolist()], dtype=float)
    if isinstance(e, sp.Symbol):
        if e not in env:
            raise InvalidParameterError(f"no value bound for symbol {e.name}")
        return float(env[e])
    if isinstance(e, sp.Expr) and (e.is_Number or e in (sp.pi, sp.E)):
        return float(e)
    if isinstance(e, sp.Add):
        return _as_matrix_sum([ev(a) for a in e.args])
    if isinstance(e, sp.Mul):
        return _product([ev(a) for a in e.args])
    if isinstance(e, sp.Pow):
        return float(ev(e.base)) ** float(ev(e.exp))
    if isinstance(e, sp.Piecewise):
        for branch in e.args:  # ExprCondPair(value, condition)
            value, cond = branch.args
            if bool(cond.subs({k: v for k, v in env.items() if isinstance(k, sp.Symbol)})):
                return ev(value)
        raise InvalidParameterError(f"no branch of {e} applies")
    if isinstance(e, sp.Function):
        args = [sp.Float(ev(a), 30) for a in e.args]
        return float(e.func(*args).evalf(30))  # pyright: ignore[reportArgumentType]  # func is a class here
    raise TypeError(f"cannot evaluate {type(e).__name__}: {e}")


def _as_matrix_sum(values: list[Any]) -> Any:
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _product(values: list[Any]) -> Any:
    scalar = 1.0
    mats = []
    for v in values:
        if isinstance(v, np.ndarray):
            mats.append(v)
        else:
            scalar *= float(v)
    if not mats:
        return scalar
    out = mats[0]
    for m in mats[1:]:
        out = out @ m
    return scalar * out
