"""The pieces of stepsize.real_training that its slow-tier run depends on: the ZO-SGD chain and its events."""

from __future__ import annotations

import math

import pytest
import torch

from zoverify.claims.stepsize.real_training import MU, chain_event, zo_sgd_losses
from zoverify.perturbations import parse_law


def _least_squares(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(40, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=gen)
    model = torch.nn.Linear(5, 3).to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.1 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return model, (X, y)


@pytest.mark.parametrize(("queries", "batch"), [(1, 0), (3, 0), (2, 16)])
def test_chain_is_zo_sgd_with_central_differences(queries, batch):
    """The chain against a replica written from the update rule, drawing from the same generator in the same order."""
    law = parse_law("gaussian")
    model, (X, y) = _least_squares()
    replica = [p.detach().clone() for p in model.parameters()]
    eta, steps = 0.05, 4
    losses = zo_sgd_losses(
        model, (X, y), law, eta=eta, steps=steps, queries=queries, batch=batch, gen=torch.Generator().manual_seed(5)
    )

    def loss_at(flat, rows=None):
        w, b = flat[:15].reshape(3, 5), flat[15:]
        xs, ys = (X, y) if rows is None else (X[rows], y[rows])
        return float(torch.nn.functional.cross_entropy(xs @ w.T + b, ys))

    flat = torch.cat([p.reshape(-1) for p in replica])
    gen = torch.Generator().manual_seed(5)
    expected = [loss_at(flat)]
    for _ in range(steps):
        rows = None if batch <= 0 else torch.randperm(X.shape[0], generator=gen)[:batch]
        update = torch.zeros_like(flat)
        for _ in range(queries):
            z = law.sample(1, flat.numel(), generator=gen, dtype=flat.dtype).reshape(-1)
            slope = (loss_at(flat + MU * z, rows) - loss_at(flat - MU * z, rows)) / (2 * MU)
            update += slope * z / queries
        flat = flat - eta * update
        expected.append(loss_at(flat))
    assert losses == pytest.approx(expected, rel=1e-9)
    assert losses[-1] != pytest.approx(losses[0], rel=1e-6)  # the chain moved


def test_events_judge_the_window_mean():
    assert chain_event([1.0, 0.5, 0.9], rising=False) == 1.0
    assert chain_event([1.0, 1.5, 1.0], rising=False) == 0.0
    assert chain_event([1.0, 1.0, 1.0], rising=False) == 0.0  # equal is not below
    assert chain_event([1.0, 1.0, 1.0], rising=True) == 0.0  # nor above
    assert chain_event([1.0, 1.2, 1.1, 0.9], rising=True) == 1.0  # rose first, then fell: the window says rose
    assert chain_event([1.0, 0.9, 0.95, 1.1], rising=False) == 1.0  # fell from the start, ended above
    assert chain_event([1.0, 1.01], rising=True) == 1.0
    assert chain_event([1.0, 1.5, math.nan], rising=True) == 1.0  # a diverged chain rose
    assert chain_event([1.0, 0.5, math.nan], rising=False) == 0.0


def test_networks_are_initialised_at_one_over_fan_in():
    """Weights N(0, 1/fan_in) with fan_in = in_channels x kernel area for the convolutions (the
    parameter count alone would not see a wrong fan-in)."""
    import numpy as np

    from zoverify.claims.stepsize.networks import char_transformer, digits_cnn

    model = digits_cnn(np.random.default_rng(0), channels=(8, 16), hidden=32)
    for p in model.parameters():
        if p.ndim > 1:
            fan_in = p[0].numel()
            assert float(p.detach().std()) == pytest.approx(fan_in**-0.5, rel=0.15)
    assert sum(p.numel() for p in digits_cnn(np.random.default_rng(0)).parameters()) == 1_070_218
    assert sum(p.numel() for p in char_transformer(np.random.default_rng(0)).parameters()) == 1_024_480
