"""The symbol table: every maths symbol zoverify uses, declared once with assumptions.

Other modules import symbols from here rather than calling ``Symbol(...)``, so the
same name always means the same object (sympy compares symbols by name *and*
assumptions).
"""

from typing import TypeAlias

import sympy as sp

d = sp.Symbol("d", integer=True, positive=True)  # parameter dimension
sigma = sp.Symbol("sigma", positive=True)  # per-coordinate standard deviation
mu = sp.Symbol("mu", real=True)  # scalar mean
m3 = sp.Symbol("m_3", real=True)  # central third moment of a coordinate
m4 = sp.Symbol("m_4", positive=True)  # central fourth moment of a coordinate
b = sp.Symbol("b", positive=True)  # Laplace scale
nu = sp.Symbol("nu", positive=True)  # Student-t degrees of freedom
eta = sp.Symbol("eta", positive=True)  # step size
beta = sp.Symbol("beta", nonnegative=True)  # momentum
q = sp.Symbol("q", integer=True, positive=True)  # queries per step
P = sp.Symbol("P", integer=True, positive=True)  # number of perturbations (eNTK)
N = sp.Symbol("N", integer=True, positive=True)  # training points
t = sp.Symbol("t", integer=True, nonnegative=True)  # step index
lam = sp.Symbol("lambda", positive=True)  # an eigenvalue
lam_max = sp.Symbol("lambda_max", positive=True)
tr_h = sp.Symbol("Tr_H", positive=True)
eps = sp.Symbol("epsilon", positive=True)  # finite-difference radius / JL distortion
delta = sp.Symbol("delta", positive=True)  # failure probability

#: a size: a concrete integer, or a symbol or expression such as ``d``
Dim: TypeAlias = sp.Expr | int

# Matrix symbols are created per dimension (their shape depends on d).


def matrix(name: str, rows: Dim = d, cols: Dim = d) -> sp.MatrixSymbol:
    """A named matrix symbol of the given shape (default d x d)."""
    return sp.MatrixSymbol(name, rows, cols)


def vector(name: str, dim: Dim = d) -> sp.MatrixSymbol:
    """A named column-vector symbol of length ``dim``."""
    return sp.MatrixSymbol(name, dim, 1)


__all__ = [
    "Dim",
    "N",
    "P",
    "b",
    "beta",
    "d",
    "delta",
    "eps",
    "eta",
    "lam",
    "lam_max",
    "m3",
    "m4",
    "matrix",
    "mu",
    "nu",
    "q",
    "sigma",
    "t",
    "tr_h",
    "vector",
]
