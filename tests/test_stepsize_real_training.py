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


def _tiny_context(monkeypatch, *, chains: int, seed: int, **params):
    """A real_training context on a 18-parameter softmax regression registered as model "tiny"."""
    from zoverify.claims.stepsize import real_training
    from zoverify.verify.claim import Context

    def tiny(rng):
        model, data = _least_squares(int(rng.integers(100)))
        X, y = data
        return model, lambda m: torch.nn.functional.cross_entropy(m(X), y), data

    monkeypatch.setitem(real_training.MODELS, "tiny", tiny)
    return Context(
        law=parse_law("gaussian"),
        params={"model": "tiny", **params},
        num_samples=chains,
        seed=seed,
        device=torch.device("cpu"),
        dtype=torch.float64,
    )


def test_chains_are_independent(monkeypatch):
    """Every chain draws its own directions from the one advancing stream: chains from the same theta_0 at the
    same step size part after their first step (a fresh generator per chain would make them copies)."""
    import numpy as np

    from zoverify.claims.stepsize import real_training

    ctx = _tiny_context(monkeypatch, chains=4, seed=3, queries=1, batch=0, steps=2)
    for runs in real_training.chain_losses(ctx):
        firsts = np.array([run[1] for run in runs])
        assert np.all(np.array([run[0] for run in runs]) == runs[0][0])  # every chain starts at theta_0
        assert np.unique(firsts).size == firsts.size, firsts


@pytest.mark.parametrize("k", [0.8, 1.25])
@pytest.mark.parametrize("r2", [0.0, 1.9])
def test_two_gaussian_window_at_one_step_is_the_quadratic_forms_law(k, r2):
    """At T = 1 the step is a quadratic form [a b] M [a b]^T with eigenvalues l1 > 0 > l2 (or one sign):
    P(form < 0) = (2 / pi) arctan sqrt(-l2 / l1), mean tr M, variance 2 tr M^2.  The sampled probability
    must lie within 4.5 binomial standard errors (false failure about 7e-6 per case)."""
    import numpy as np

    from zoverify.claims.stepsize.real_training import two_gaussian_window

    r = math.sqrt(r2)
    c = k / (1 + r2)
    M = np.array([[c - 1, (2 * c * r - r) / 2], [(2 * c * r - r) / 2, c * r2]])
    l_low, l_high = np.linalg.eigvalsh(M)
    if l_low >= 0 or l_high <= 0:  # one sign: the event is sure
        p_negative = 1.0 if l_high <= 0 else 0.0
    else:
        p_negative = 2 / math.pi * math.atan(math.sqrt(-l_low / l_high))
    p_event = p_negative if k < 1 else 1 - p_negative
    draws = 200_000
    p, effect = two_gaussian_window(k, r2, steps=1, draws=draws, rng=np.random.default_rng(0))
    se = math.sqrt(max(p_event * (1 - p_event), 1e-12) / draws)
    assert abs(p - p_event) <= 4.5 * se
    exact_effect = np.trace(M) / math.sqrt(2 * np.trace(M @ M))
    assert effect == pytest.approx(exact_effect, rel=0.03)  # a ratio of moments of 2e5 draws: about 0.5 % spread


def test_the_edge_is_asked_for_the_chains_queries_and_batch(monkeypatch):
    """stepsize is asked for the descent edge of the chains' own q and minibatch sampler."""
    from zoverify.claims.stepsize import real_training

    asked = []
    real = real_training.stepsize

    def spy(*args, **kwargs):
        asked.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(real_training, "stepsize", spy)
    ctx = _tiny_context(monkeypatch, chains=2, seed=0, queries=3, batch=8, steps=1)
    real_training.chain_losses(ctx)
    (kwargs,) = asked
    assert kwargs["queries"] == 3 and kwargs["descent_only"] and callable(kwargs["batch_loss_fn"])


def test_minibatch_claim_sides_and_controls():
    """Mean ratios clearly below 1 at 0.8 eta_d and above at 1.25 eta_d pass; the same columns swapped fail;
    a column at 1 leaves its control standing (no pass)."""
    from dataclasses import replace

    import numpy as np

    from zoverify.verify.check import check
    from zoverify.verify.registry import select

    (entry,) = select(["stepsize.real_training_minibatch"], include_slow=True)
    claim = entry.load()
    rng = np.random.default_rng(0)
    below, above = 0.98 + 0.002 * rng.standard_normal(256), 1.02 + 0.002 * rng.standard_normal(256)
    flat = 1.0 + 0.002 * rng.standard_normal(256)

    def verdict(data):
        return check(replace(claim, simulate=lambda ctx: data), law="gaussian", num_samples=256).verdict

    assert verdict(np.stack([below, above], axis=1)) == "pass"
    assert verdict(np.stack([above, below], axis=1)) == "fail"
    assert verdict(np.stack([flat, above], axis=1)) != "pass"
    assert verdict(np.stack([below, flat], axis=1)) != "pass"
