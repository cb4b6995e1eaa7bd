"""The numeric evaluator of sympy expressions: each node type against numpy, and unbound or unknown input refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from sympy import HadamardProduct, Identity, Inverse, MatrixSymbol

from zoverify._errors import InvalidParameterError
from zoverify.moment_maps import symbols as S
from zoverify.symbolic._evaluate import evaluate

X, Y = MatrixSymbol("X", 2, 2), MatrixSymbol("Y", 2, 2)
XV = np.array([[2.0, 1.0], [0.5, 3.0]])
YV = np.array([[-1.0, 4.0], [2.0, 0.25]])
x = sp.Symbol("x", real=True)


def test_hadamard_product_is_entrywise():
    np.testing.assert_array_equal(evaluate(HadamardProduct(X, Y), {X: XV, Y: YV}), XV * YV)


def test_inverse_inverts():
    np.testing.assert_allclose(evaluate(Inverse(X), {X: XV}) @ XV, np.eye(2), atol=1e-15)


def test_matrix_element_reads_the_bound_matrix():
    assert evaluate(X[1, 0], {X: XV}) == 0.5


def test_piecewise_takes_the_first_branch_that_holds():
    expr = sp.Piecewise((x, x > 0), (-2 * x, True))
    assert evaluate(expr, {x: 3.0}) == 3.0
    assert evaluate(expr, {x: -3.0}) == 6.0


def test_piecewise_with_no_branch_that_holds_is_refused():
    with pytest.raises(InvalidParameterError, match=r"no branch of Piecewise\(\(x, x > 0\)\) applies"):
        evaluate(sp.Piecewise((x, x > 0)), {x: -1.0})


@pytest.mark.parametrize(
    ("expr", "expected"),
    [(sp.exp(x), math.exp(0.7)), (sp.log(x), math.log(0.7)), (sp.gamma(x), math.gamma(0.7))],
)
def test_functions_are_evaluated_at_the_bound_value(expr, expected):
    assert evaluate(expr, {x: 0.7}) == pytest.approx(expected, rel=1e-15)


def test_unbound_symbols_are_named():
    with pytest.raises(InvalidParameterError, match=r"no value bound for symbol d"):
        evaluate(S.d + 1, {})
    with pytest.raises(InvalidParameterError, match=r"no value bound for matrix symbol X"):
        evaluate(X * Y, {Y: YV})


def test_a_dimension_must_evaluate_to_an_integer():
    with pytest.raises(InvalidParameterError, match=r"dimension d evaluated to non-integer 2.5"):
        evaluate(Identity(S.d), {S.d: 2.5})


def test_a_node_with_no_numeric_meaning_is_a_type_error():
    with pytest.raises(TypeError, match=r"cannot evaluate StrictGreaterThan: x > 0"):
        evaluate(x > 0, {x: 1.0})
