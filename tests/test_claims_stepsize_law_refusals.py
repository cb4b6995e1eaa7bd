"""The stepsize claims refuse, as n/a with the reason, every law they cannot judge: never an exception.

A law of fixed dimension cannot match an instance's own parameter count, a law without a finite fourth
moment has no structured form, and each claim's route decides which structured forms are its own.
"""

from __future__ import annotations

import pytest

from zoverify.claims import check, select

STEPSIZE = (
    "stepsize.descent_edge",
    "stepsize.descent_matrix_free",
    "stepsize.routes_vs_dense",
    "stepsize.slq_eta_star",
    "stepsize.real_training",
    "stepsize.real_training_minibatch",
)


def _check(name, law):
    return check(select([name])[0], law=law, num_samples=4)


@pytest.mark.parametrize("name", STEPSIZE)
@pytest.mark.parametrize(
    ("law", "named"),
    [
        ("lowrank(rank=2, shape=[4,3])", "fixed dimension 12"),  # 12 parameters; the instances have hundreds
        ("student_t(nu=3)", "no finite moment of order 4"),  # nu = 3 is the largest integer nu with E z^4 infinite
    ],
)
def test_a_law_no_instance_can_use_is_not_applicable(name, law, named):
    result = _check(name, law)
    assert result.verdict == "n/a", (result.verdict, result.message)
    assert named in result.message


@pytest.mark.parametrize(
    "name", ["stepsize.descent_edge", "stepsize.real_training", "stepsize.real_training_minibatch"]
)
def test_the_descent_edge_needs_a_structured_fourth_moment(name):
    # a nonzero mean makes E[zz^T] = std^2 I + mean^2 11^T, not c I
    result = _check(name, "gaussian(mean=0.5, std=2)")
    assert result.verdict == "n/a"
    assert "needs a structured fourth moment" in result.message


def test_routes_leave_a_spectral_law_to_the_slq_claim():
    # the Gaussian's E[zz^T A zz^T] = tr(A) I + 2 A has no Diag term: eta* is a function of the spectrum
    result = _check("stepsize.routes_vs_dense", "gaussian")
    assert result.verdict == "n/a"
    assert "judged by stepsize.slq_eta_star" in result.message


def test_slq_refuses_a_law_with_a_diag_term_and_names_it():
    # Rademacher: E z^4 = 1, so the Diag coefficient E z^4 - 3 = -2
    result = _check("stepsize.slq_eta_star", "rademacher")
    assert result.verdict == "n/a"
    assert "Diag term e = -2" in result.message
