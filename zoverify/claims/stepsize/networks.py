"""A real network of a million parameters for the stepsize claims: a convolutional net on the digits.

Conv(1->32, 3x3) - tanh - Conv(32->64, 3x3) - tanh - Linear(4096->256) - tanh - Linear(256->10), padding 1,
so 1,070,218 parameters, float32, on 512 digit images (8 x 8, all ten classes, pixels standardized
over the set).  Weights N(0, 1/fan_in) from the instance generator, biases 0; then a few full-batch
Adam steps (lr 1e-3) put theta_0 where a user would start ZO fine-tuning: the loss still falling,
the Hessian indefinite (a bulk of eigenvalues on both sides of 0, as in any deep network).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from zoverify.numeric.data import load_digits_images

IMAGES = 512
PRETRAIN_STEPS = 8
PRETRAIN_LR = 1e-3


def digits_cnn(rng: np.random.Generator, *, channels: tuple[int, int] = (32, 64), hidden: int = 256) -> torch.nn.Module:
    """The network, initialised from ``rng`` (no global seeding); smaller ``channels``/``hidden`` for quick runs."""
    c1, c2 = channels
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, c1, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Conv2d(c1, c2, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        torch.nn.Linear(c2 * 8 * 8, hidden),
        torch.nn.Tanh(),
        torch.nn.Linear(hidden, 10),
    )
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim > 1:
                fan_in = p[0].numel()
                p.copy_(torch.as_tensor(rng.standard_normal(tuple(p.shape)) / math.sqrt(fan_in), dtype=p.dtype))
            else:
                p.zero_()
    return model


def pretrained_digits_cnn(rng: np.random.Generator, *, steps: int = PRETRAIN_STEPS, **size):
    """(model, loss_fn, (X, y)): the network after ``steps`` full-batch Adam steps; loss_fn(model) the full batch.

    ``size``: ``channels`` and ``hidden`` of :func:`digits_cnn`."""
    X, y = load_digits_images(dtype=torch.float32)
    X, y = X[:IMAGES], y[:IMAGES]
    X = (X - X.mean()) / X.std()
    model = digits_cnn(rng, **size)

    def loss_fn(m: torch.nn.Module) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(m(X), y)

    opt = torch.optim.Adam(model.parameters(), lr=PRETRAIN_LR)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model).backward()
        opt.step()
    model.zero_grad(set_to_none=True)
    return model, loss_fn, (X, y)


__all__ = ["IMAGES", "digits_cnn", "pretrained_digits_cnn"]
