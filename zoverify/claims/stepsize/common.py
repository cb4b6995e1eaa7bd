"""The stepsize claims' instance: softmax regression on scikit-learn's digits 0-4.

Pixels standardized (constant ones dropped), d = 61 x 5 + 5 = 310 parameters, float64, weights
N(0, 0.1^2) from the claim's instance stream.  Its Hessian is positive semidefinite (a convex
loss), so H_+ = H, and small enough that the dense Hessian from torch.func is the second route.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from zoverify.numeric.data import load_digits_standardized
from zoverify.numeric.hessian import dense_hessian, flat_loss
from zoverify.verify.claim import Context

INIT_SCALE = 0.1  # predictions neither uniform nor saturated
#: dense Hessian columns at a time, for the same numbers: all d at once peaks 50 MB higher here, 160 MB on
#: descent_edge's network
HESSIAN_CHUNK = 16


def _build(key: int):
    X, y = load_digits_standardized(dtype=torch.float64)
    rng = np.random.default_rng(key)
    model = torch.nn.Linear(X.shape[1], int(y.max()) + 1).to(torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.as_tensor(INIT_SCALE * rng.standard_normal(tuple(model.weight.shape))))
        model.bias.copy_(torch.as_tensor(INIT_SCALE * rng.standard_normal(tuple(model.bias.shape))))
    return model, X, y


def _key(ctx: Context) -> int:
    return int(ctx.instance_rng().integers(2**62))


def instance_model(ctx: Context):
    """(model, loss_fn): a fresh copy of the instance, with loss_fn(model) its full-batch cross-entropy."""
    model, X, y = _build(_key(ctx))

    def loss_fn(m: torch.nn.Module) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(m(X), y)

    return model, loss_fn


@dataclass(frozen=True)
class DenseInstance:
    """The instance's Hessian from torch.func (forward-over-reverse), its eigenvalues and trace."""

    hessian: np.ndarray
    eigenvalues: np.ndarray
    trace: float


def dense_instance(ctx: Context) -> DenseInstance:
    """The dense route, computed once per instance."""
    return _dense(_key(ctx))


@lru_cache(maxsize=4)
def _dense(key: int) -> DenseInstance:
    model, X, y = _build(key)
    f, theta = flat_loss(model, X, lambda out: torch.nn.functional.cross_entropy(out, y))
    H = dense_hessian(f, theta, chunk_size=HESSIAN_CHUNK).numpy()
    H = (H + H.T) / 2
    return DenseInstance(H, np.linalg.eigvalsh(H), float(np.trace(H)))
