"""Structured-scheme quantities and matrix nodes: bad input refused by name, and the nodes' transposes."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from zoverify.symbolic.structured import (
    BlockDiagonalPart,
    BlockTraceDiagonal,
    KronPartialTrace,
    PartialTranspose,
    rate_bound,
    scheme_quantities,
    stable_rank,
)

# a non-symmetric operator on vec(2 x 3), so a wrong transpose rule shows
A = sp.Matrix(6, 6, lambda i, j: (3 * i + 5 * j) % 7 - 3)
NODES = {
    "block diagonal part": BlockDiagonalPart(A, 2),
    "block trace diagonal": BlockTraceDiagonal(A, 2),
    "partial trace, rows": KronPartialTrace(A, 2, 3, "rows"),
    "partial trace, cols": KronPartialTrace(A, 2, 3, "cols"),
    "partial transpose": PartialTranspose(A, 2, 3),
}


@pytest.mark.parametrize("name", list(NODES))
def test_transpose_of_a_node_is_the_node_of_the_transpose(name):
    node = NODES[name]
    assert A != A.T
    assert node.T.as_explicit() == node.as_explicit().T


def test_partial_trace_side_is_rows_or_cols():
    with pytest.raises(ValueError, match=r"side must be 'rows' or 'cols', got 'diag'"):
        KronPartialTrace(A, 2, 3, "diag")


def test_stable_rank_of_an_empty_matrix_is_refused():
    with pytest.raises(ValueError, match=r"stable rank of an empty matrix is undefined"):
        stable_rank(np.zeros((0, 3)))


def test_sparse_scheme_needs_p_and_has_no_rate_constant():
    with pytest.raises(ValueError, match=r"scheme 'sparse' needs the keep probability p"):
        scheme_quantities("sparse")
    assert scheme_quantities("sparse", p=0.25) == {"sr": None, "alpha": 0.25, "rate_constant": None}


def test_rate_bound_of_the_sparse_scheme_names_the_reason_not_p():
    # rate_bound takes no p: asking for one would send the caller after a parameter that cannot help
    with pytest.raises(ValueError, match=r"scheme 'sparse' has a random stable rank, so no rate constant; accepted"):
        rate_bound("sparse", L=1, delta0=1, T=10)
