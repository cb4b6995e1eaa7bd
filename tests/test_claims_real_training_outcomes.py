"""stepsize.real_training's outcomes past the pretrained networks: a model without a descent edge is n/a,
a diverged chain stops, and chains become the events and window ratios the two claims judge."""

from __future__ import annotations

import math

import pytest
import torch

import zoverify.claims.stepsize.real_training as rt
from zoverify.claims import check, select
from zoverify.perturbations import parse_law
from zoverify.verify.claim import Context


class _Saddle(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))


def _saddle(rng):
    """L = (t0^2 - 3 t1^2) / 2 + t1 at 0: g = (0, 1), H = diag(1, -3), so for Gaussian directions
    E[g_hat^T H g_hat] = tr(H) |g|^2 + 2 g^T H g = -2 - 6 < 0 (H has positive curvature, yet no edge)."""
    model = _Saddle()

    def loss_fn(m):
        t = m.theta
        return 0.5 * (t[0] ** 2 - 3 * t[1] ** 2) + t[1]

    return model, loss_fn, None


def test_a_model_where_every_step_descends_is_not_applicable(monkeypatch):
    monkeypatch.setitem(rt.MODELS, "cnn", _saddle)
    result = check(select(["stepsize.real_training"])[0], num_samples=4, params={"steps": 2})
    assert result.verdict == "n/a"
    assert "no finite descent edge for gaussian" in result.message


def test_a_diverged_chain_stops_at_its_first_non_finite_loss():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(8, 3, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 2, (8,), generator=gen)
    model = torch.nn.Linear(3, 2).to(torch.float64)
    # a step of 1e308 x a gradient of order 1 overflows the weights, and the logits with them
    losses = rt.zo_sgd_losses(model, (X, y), parse_law("gaussian"), eta=1e308, steps=5, queries=1, batch=0, gen=gen)
    assert math.isfinite(losses[0])
    assert not math.isfinite(losses[-1])
    assert len(losses) < 6  # stopped before the fifth step
    assert all(math.isfinite(v) for v in losses[:-1])


# per step size (0.8 eta_d, 1.25 eta_d), chains of losses L_0, L_1, L_2
_BELOW = [[1.0, 0.5, 0.7], [1.0, 1.5, 1.1]]
_ABOVE = [[2.0, 3.0, 5.0], [2.0, 1.0, math.nan]]


def test_chains_become_events_and_window_ratios(monkeypatch):
    monkeypatch.setattr(rt, "chain_losses", lambda ctx: [_BELOW, _ABOVE])
    ctx = Context(parse_law("gaussian"), {}, 2, 0, torch.device("cpu"), torch.float64)
    events = rt._simulate(ctx)
    # chain 1 fell (mean 0.6 < 1) and rose (4 > 2); chain 2 did not fall (1.3 > 1) and diverged, which counts as rising
    assert events.tolist() == [[1.0, 1.0], [0.0, 1.0]]
    ratios = rt._simulate_means(ctx)
    assert ratios[:, 0] == pytest.approx([0.6, 1.3])
    assert ratios[0, 1] == pytest.approx(2.0)  # mean(3, 5) / 2
    assert ratios[1, 1] == 1e300  # a diverged chain's window: a reversed bound no finite ratio can reject
