"""stepsize.quadratic_mc (slow tier) at a size the suite can afford: its step sizes and its controls.

The claim runs ZO-SGD on a 100,010-parameter quadratic model; here the same code runs on a 70-parameter
one (fewer random features), with ``zoverify stepsize``'s interval replaced by a known one, so that what
the claim can see is stated: an interval that is too wide must fail it, and data that sit on the bound
(no decay, or no growth) must not pass it.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from zoverify.claims.stepsize import quadratic_mc
from zoverify.numeric.curvature import ParameterHessian
from zoverify.numeric.stability_operator import critical_step_size
from zoverify.numeric.stepsize import ROUTE_SPECTRAL
from zoverify.perturbations import parse_law
from zoverify.verify.check import check
from zoverify.verify.registry import select

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _claim():
    (entry,) = select(["stepsize.quadratic_mc"], include_slow=True)
    return entry.load()


@pytest.fixture
def small_instance(monkeypatch):
    """The claim's instance with 6 features (d = 70) and the exact operator's eta* on its dense Hessian (the
    instance is convex: H_+ = H)."""
    monkeypatch.setattr(quadratic_mc, "FEATURES", 6)
    torch.set_num_threads(1)
    ctx = SimpleNamespace(instance_rng=lambda: np.random.default_rng(0))
    model, loss_fn = quadratic_mc._instance(ctx)
    H = ParameterHessian(model, loss_fn).dense().numpy()
    return critical_step_size(parse_law("gaussian"), (H + H.T) / 2).eta_star


def _with_interval(monkeypatch, low: float, high: float) -> None:
    law = SimpleNamespace(route=ROUTE_SPECTRAL, eta_star_interval=(low, high))
    monkeypatch.setattr(quadratic_mc, "stepsize", lambda *a, **k: SimpleNamespace(laws=[law]))


def test_an_interval_too_wide_fails(monkeypatch, small_instance):
    """[0.3, 3] eta*: the chains at (1 - delta) high = 2.4 eta* grow, so E[L_T/L_0] <= 1 is rejected.
    (Chains at (1 - delta) low and (1 + delta) high, the ends swapped, would pass whatever the interval.)"""
    eta = small_instance
    _with_interval(monkeypatch, 0.3 * eta, 3.0 * eta)
    result = check(_claim(), law="gaussian", num_samples=64, seed=1)
    assert result.verdict == "fail", result.message


def test_an_interval_around_eta_star_passes(monkeypatch, small_instance):
    """[0.95, 1.05] eta*: chains at 0.84 eta* decay and at 1.14 eta* grow over 200 steps."""
    eta = small_instance
    _with_interval(monkeypatch, 0.95 * eta, 1.05 * eta)
    result = check(_claim(), law="gaussian", num_samples=64, seed=1)
    assert result.verdict == "pass", result.message


@pytest.mark.parametrize("flat", [0, 1])
def test_data_on_the_bound_do_not_pass(flat):
    """Ratios at 1 (no decay, or no growth) in one column: that column's control stands, so no pass; with
    both columns clearly on their sides the same rule passes (the controls can be rejected)."""
    rng = np.random.default_rng(0)
    sided = np.stack([0.5 + 0.01 * rng.standard_normal(64), 2.0 + 0.01 * rng.standard_normal(64)], axis=1)
    data = sided.copy()
    data[:, flat] = 1.0 + 0.01 * rng.standard_normal(64)
    claim = _claim()
    assert check(replace(claim, simulate=lambda ctx: sided), law="gaussian", num_samples=64).verdict == "pass"
    result = check(replace(claim, simulate=lambda ctx: data), law="gaussian", num_samples=64)
    assert result.verdict != "pass", result.message
