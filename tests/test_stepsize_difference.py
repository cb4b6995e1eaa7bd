"""``stepsize(..., mu=...)`` / ``--mu``: the central difference at the user's radius against the directional derivative.

The expected errors come from a second route: on a cubic loss L = sum_i a_i theta_i^3 / 6 + |theta|^2 / 2
the central difference is off by exactly (mu^2 / 6) sum_i a_i z_i^3 (no higher term), so the relative error
over the same directions is computed here in closed form, never by the code under test.
"""

from __future__ import annotations

import math

import pytest
import torch

from zoverify._rng import make_generator
from zoverify.cli import main
from zoverify.numeric.difference import CAUSE_HIGHER, CAUSE_ROUNDING, CAUSE_THIRD_ORDER, difference_error
from zoverify.numeric.stepsize import difference_seed, stepsize
from zoverify.perturbations import parse_law

A = torch.tensor([0.8, -1.5, 2.0, 0.3, -0.7], dtype=torch.float64)
THETA = torch.tensor([0.4, -0.2, 0.9, 1.1, -0.5], dtype=torch.float64)


class Vector(torch.nn.Module):
    def __init__(self, theta: torch.Tensor):
        super().__init__()
        self.theta = torch.nn.Parameter(theta.clone())


def cubic(model: Vector) -> torch.Tensor:
    t = model.theta
    return (A.to(t.dtype) * t**3).sum() / 6 + 0.5 * (t * t).sum()


def _expected(law: str, mu: float, seed: int, directions: int) -> float:
    gen = make_generator(seed)
    grad = A * THETA**2 / 2 + THETA
    num = den = 0.0
    for _ in range(directions):
        z = parse_law(law).sample(1, 5, generator=gen, dtype=torch.float64)[0]
        num += float(mu**2 / 6 * (A * z**3).sum()) ** 2
        den += float(z @ grad) ** 2
    return math.sqrt(num / den)


@pytest.mark.parametrize("law", ["gaussian", "rademacher", "laplace"])
def test_the_cubic_term_is_measured_exactly_and_named(law):
    model = Vector(THETA)
    params = [model.theta]
    grad = (A * THETA**2 / 2 + THETA).detach()
    before = model.theta.detach().clone()
    err = difference_error(
        model, cubic, params, grad, parse_law(law), mu=0.05, generator=make_generator(4), directions=8
    )
    assert err.relative_error == pytest.approx(_expected(law, 0.05, 4, 8), rel=1e-6)
    assert err.relative_error_at_2mu == pytest.approx(_expected(law, 0.1, 4, 8), rel=1e-6)
    assert err.relative_error_at_2mu / err.relative_error == pytest.approx(4.0, rel=1e-6)
    assert err.cause == CAUSE_THIRD_ORDER and err.directions == 8 and err.mu == 0.05
    assert torch.equal(model.theta.detach(), before)  # restored bitwise


def test_rounding_is_named_when_mu_is_too_small():
    """A quadratic in float32 (central differences exact in exact arithmetic): what remains is rounding, which
    shrinks when mu doubles."""
    model = Vector(THETA.float())

    def quadratic(m):
        return 0.5 * (m.theta * m.theta).sum() + 3.0

    grad = THETA.clone()
    err = difference_error(
        model, quadratic, [model.theta], grad, parse_law("gaussian"), mu=1e-5, generator=make_generator(0)
    )
    assert err.relative_error > err.relative_error_at_2mu and err.cause == CAUSE_ROUNDING
    assert 1e-4 < err.relative_error < 1.0  # float32 losses near 3 differ in the 7th digit at mu = 1e-5


def test_an_error_of_order_one_is_past_the_expansion_not_rounding():
    """L = sum sin(theta_i) at mu = 10: c(z) = sum cos(theta_i) sin(mu z_i) / mu is near 0, so e is near 1 at
    mu and at 2 mu (ratio about 1, which alone would read as rounding)."""
    model = Vector(THETA)

    def sines(m):
        return torch.sin(m.theta).sum()

    err = difference_error(
        model, sines, [model.theta], torch.cos(THETA), parse_law("gaussian"), mu=10.0, generator=make_generator(2)
    )
    assert 0.5 < err.relative_error < 1.5 and err.cause == CAUSE_HIGHER


@pytest.mark.parametrize(("factor", "warned"), [(0.95, False), (1.05, True)])
def test_the_note_warns_exactly_when_the_error_passes_the_accuracy(factor, warned):
    """A near miss each way: mu set from the closed form so that the error is 5 % below or above the accuracy."""
    accuracy = 0.1
    unit = _expected("gaussian", 1.0, difference_seed(0), 16)  # the error at mu = 1 (it scales as mu^2)
    mu = math.sqrt(factor * accuracy / unit)
    model = Vector(THETA)
    result = stepsize(model, cubic, laws=["gaussian"], accuracy=accuracy, descent_only=True, mu=mu)
    law = result.laws[0]
    assert law.difference_error == pytest.approx(factor * accuracy, rel=1e-6)
    assert ("central difference is" in law.note) is warned
    assert result.mu == mu and result.difference_directions == 16
    assert result.to_dict()["laws"][0]["difference_cause"] == CAUSE_THIRD_ORDER


def test_without_mu_nothing_is_measured():
    result = stepsize(Vector(THETA), cubic, laws=["gaussian"], descent_only=True)
    assert result.mu is None and result.difference_directions == 0
    assert result.laws[0].difference_error is None and "central difference" not in result.laws[0].note


MODELS = """
import torch

A = torch.tensor([0.8, -1.5, 2.0, 0.3, -0.7], dtype=torch.float64)

class Vector(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.tensor([0.4, -0.2, 0.9, 1.1, -0.5], dtype=torch.float64))

def cubic():
    return Vector(), lambda m: (A * m.theta**3).sum() / 6 + 0.5 * (m.theta * m.theta).sum()
"""


def test_cli_prints_and_records_the_difference(tmp_path, capsys):
    path = tmp_path / "cubic_model.py"
    path.write_text(MODELS)
    assert main(["stepsize", f"{path}:cubic", "--law", "gaussian", "--descent-only", "--mu", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "central difference at mu = 0.3" in out and "third-order term dominates" in out
    assert (
        main(["stepsize", f"{path}:cubic", "--law", "gaussian", "--descent-only", "--mu", "1e-3", "--format", "json"])
        == 0
    )
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["mu"] == 1e-3 and data["laws"][0]["difference_error"] < 1e-3


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_a_bad_mu_is_one_line_exit_2(tmp_path, capsys, value):
    path = tmp_path / "cubic_model.py"
    path.write_text(MODELS)
    code = main(["stepsize", f"{path}:cubic", "--descent-only", f"--mu={value}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--mu must be a positive finite number" in err, err
    with pytest.raises(Exception, match="mu must be a positive finite number"):
        stepsize(Vector(THETA), cubic, descent_only=True, mu=float(value))
