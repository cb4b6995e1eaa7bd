"""The structured solver must not report a pair block's pole as the mean-square edge.

Its secular function is set to +inf wherever a pair block is unstable, so a root search can close on
that jump instead of on a zero.  With a Diag term e < 0 (Rademacher) the rest of the operator pulls the
pair's eigenvalue back below 1 there, and with the coordinate law in d = 1 a pair eigenvalue at -1 is
lifted by the Diag term: in both the true edge lies beyond.  The reference here is the exact operator
E[(I - eta zz^T H) X (I - eta zz^T H)^T] summed over every outcome of z, with numpy alone.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import optimize

from zoverify._errors import NotApplicableError
from zoverify.numeric.stability_operator import StructuredOperator, critical_step_size
from zoverify.perturbations import parse_law


def _enumerated_edge(H: np.ndarray, outcomes: list[np.ndarray]) -> float:
    """First eta where the spectral radius of X -> mean_z A X A^T, A = I - eta z z^T H, reaches 1."""
    d = H.shape[0]

    def radius(eta: float) -> float:
        T = sum(np.kron(A, A) for A in (np.eye(d) - eta * np.outer(z, z) @ H for z in outcomes)) / len(outcomes)
        return float(np.max(np.abs(np.linalg.eigvals(T)))) - 1.0

    grid = np.linspace(1e-3, 4.0, 4000)
    first = next(i for i, eta in enumerate(grid) if radius(eta) > 0)
    root = optimize.brentq(radius, grid[first - 1], grid[first], xtol=1e-14)
    return float(root)  # pyright: ignore[reportArgumentType]  # a float without full_output


def _rotated(lam, angle):
    c, s = np.cos(angle), np.sin(angle)
    Q = np.array([[c, -s], [s, c]])
    return (Q * np.asarray(lam)) @ Q.T


RADEMACHER_2 = [np.array(z, float) for z in itertools.product((-1.0, 1.0), repeat=2)]
CASES = [
    ("rademacher", np.array([[1.0]]), [np.array([1.0]), np.array([-1.0])]),  # x' = (1 - eta) x: eta* = 2
    ("rademacher", np.diag([1.0, 0.65]), RADEMACHER_2),
    ("rademacher", _rotated([1.0, 0.3], 0.4), RADEMACHER_2),
    ("coordinate", np.array([[1.0]]), [np.array([1.0]), np.array([-1.0])]),
]


@pytest.mark.parametrize(("spec", "H", "outcomes"), CASES, ids=["rademacher d=1", "diagonal", "rotated", "coordinate"])
def test_structured_solver_refuses_a_pole_and_the_front_end_finds_the_true_edge(spec, H, outcomes):
    law = parse_law(spec)
    expected = _enumerated_edge(H, outcomes)
    with pytest.raises(NotApplicableError, match="not at a zero of the secular function"):
        StructuredOperator(law, H).eta_star()
    step = critical_step_size(law, H)
    assert step.solver == "dense"
    assert step.eta_star == pytest.approx(expected, rel=1e-9)


def test_a_genuine_root_is_still_the_structured_one():
    # a law with e >= 0 and a >= 0 (Gaussian): the secular function crosses zero continuously
    H = _rotated([1.0, 0.3], 0.4)
    step = critical_step_size(parse_law("gaussian"), H)
    assert step.solver == "structured"
    assert step.eta_star == pytest.approx(critical_step_size(parse_law("gaussian"), H, solver="dense").eta_star)
