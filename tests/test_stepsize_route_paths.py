"""stepsize.* claims: which laws each route claim takes, the routes' values for a law sent down another
route, and the quadrature error bound's linear and pole-inside cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoverify.claims.stepsize import routes, slq
from zoverify.perturbations import parse_law
from zoverify.symbolic.stability import SpectralSetting
from zoverify.verify.claim import Context


def test_a_law_without_a_structured_form_is_judged_by_the_routes_claim_not_by_slq():
    # block(blocks=4): E[zz^T A zz^T] has no (tr A, A, Diag A) form, so eta* is not a spectrum function
    law = parse_law("block(blocks=4)")
    assert routes.applies_to(law) is None
    reason = slq.applies_to(law)
    assert reason is not None
    assert reason.startswith("eta* of block(blocks=4) is not a function of the spectrum (law block(blocks=4):")
    assert reason.endswith("zoverify stepsize uses its exact operator or bounds")


def test_a_law_sent_down_the_spectral_route_gives_no_exact_or_bounds_values(monkeypatch):
    # N(0, I) has no Diag term: stepsize takes the spectrum route for both runs, so neither the exact
    # component nor the bounds can be read off them (nan: a finding, not a silent n/a).  The tolerance
    # (the dense Hessian's spread) is not what is judged here, and is the slow part: it is stubbed.
    monkeypatch.setattr(routes, "_tolerance", lambda ctx: [0.0, 0.0, 0.0])
    ctx = Context(parse_law("gaussian"), {}, 1, 0, torch.device("cpu"), torch.float64)
    values, _, _ = routes._simulate(ctx)
    assert all(math.isnan(v) for v in values)


def test_a_linear_gain_has_only_the_clipping_term():
    # kappa_s = -1, beta = 0: curvature (1 + kappa_s) - 0 = 0, so B = 0 and g is linear in lambda
    setting = SpectralSetting(1.0, -1.0, 0.0, 1.0)
    assert setting.curvature == 0
    eta, d = 0.1, 5
    # A = eta, D = 2: the clip term is 2 d |A low / D| = d eta |low| for low < 0, and 0 for low >= 0
    bound = slq.quadrature_error_bound(setting, eta, low=-1.0, high=4.0, steps=12, d=d)
    assert bound == pytest.approx(d * eta * 1.0, rel=1e-12)
    assert slq.quadrature_error_bound(setting, eta, low=0.0, high=4.0, steps=12, d=d) == 0.0


def test_a_pole_inside_the_spectrum_interval_has_no_finite_bound():
    # Gaussian gd: curvature 2, so B = 2 eta and D = 2 put the pole of g at lambda = 1 / eta
    setting = SpectralSetting(1.0, 1.0, 0.0, 1.0)
    assert slq.quadrature_error_bound(setting, 0.2, low=0.0, high=10.0, steps=12, d=4) == math.inf  # pole at 5
    near = slq.quadrature_error_bound(setting, 0.05, low=0.0, high=10.0, steps=12, d=4)  # pole at 20, outside
    assert np.isfinite(near) and near >= 0
