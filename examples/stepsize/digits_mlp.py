"""A small model for ``zoverify stepsize``: a 64-8-10 tanh network on scikit-learn's digits.

    zoverify stepsize examples/stepsize/digits_mlp.py:digits_mlp --law gaussian --law sphere

``digits_mlp()`` returns ``(model, loss_fn)`` with ``loss_fn(model)`` the full-batch
cross-entropy on 500 digits, in float64, at a seeded initialisation (d = 610 parameters,
small enough that the dense Hessian checks the matrix-free estimate).
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits


def digits_data(*, samples: int = 500, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``samples`` digits, pixels scaled to [0, 1], and their labels."""
    digits = load_digits()
    x = torch.tensor(digits.data[:samples] / 16.0, dtype=dtype)
    y = torch.tensor(digits.target[:samples], dtype=torch.long)
    return x, y


def digits_network(*, hidden: int = 8, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.nn.Module:
    """64-hidden-10 tanh network, initialised from its own generator (no global seeding)."""
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 10)).to(dtype)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.ndim == 2 else hidden
            p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype) / fan_in**0.5)
    return model


def digits_mlp(*, hidden: int = 8, samples: int = 500, seed: int = 0):
    """(model, loss_fn): the network and its full-batch cross-entropy."""
    x, y = digits_data(samples=samples)
    model = digits_network(hidden=hidden, seed=seed)

    def loss_fn(m: torch.nn.Module) -> torch.Tensor:
        device = next(m.parameters()).device
        return torch.nn.functional.cross_entropy(m(x.to(device)), y.to(device))

    return model, loss_fn


def digits_mlp_minibatch(*, hidden: int = 8, samples: int = 500, batch: int = 50, seed: int = 0):
    """(model, loss_fn, batch_loss_fn): as :func:`digits_mlp`, plus the loss of one random minibatch of
    ``batch`` rows (drawn with the generator zoverify passes), for the descent edge of minibatch ZO-SGD."""
    x, y = digits_data(samples=samples)
    model, loss_fn = digits_mlp(hidden=hidden, samples=samples, seed=seed)

    def batch_loss_fn(m: torch.nn.Module, generator: torch.Generator) -> torch.Tensor:
        rows = torch.randperm(samples, generator=generator)[:batch]
        device = next(m.parameters()).device
        return torch.nn.functional.cross_entropy(m(x[rows].to(device)), y[rows].to(device))

    return model, loss_fn, batch_loss_fn
