"""The stepsize claims' instance: softmax regression on scikit-learn's digits 0-4.

Pixels standardized (constant ones dropped), d = 61 x 5 + 5 = 310 parameters, float64, weights
N(0, 0.1^2) from the claim's instance stream.  Its Hessian is positive semidefinite (a convex
loss), so H_+ = H, and small enough that the dense Hessian from torch.func is the second route.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp
import torch

from zoverify._errors import MomentDoesNotExistError, NotApplicableError
from zoverify.claims.stability.common import claim_dim
from zoverify.numeric.data import load_digits_standardized
from zoverify.numeric.hessian import dense_hessian, flat_loss
from zoverify.symbolic.stability import FourthMomentForm, fourth_moment_form
from zoverify.verify.claim import Context

INIT_SCALE = 0.1  # predictions neither uniform nor saturated
#: dense Hessian columns at a time, for the same numbers: all d at once peaks 50 MB higher here, 160 MB on
#: descent_edge's network
HESSIAN_CHUNK = 16


#: the dimension a law's structured form is asked at (or the next it accepts): the form's shape does not depend on d
FORM_DIM = 8


def structured_form(law) -> FourthMomentForm | str:
    """The law's form E[zz^T] = c I, E[zz^T A zz^T] = a tr(A) I + b A + e Diag(A) (zoverify.symbolic.stability)
    at FORM_DIM or the next dimension it accepts, or why it has another form (a string); NotApplicableError
    where no stepsize claim can judge the law: a fixed dimension (each instance has its own parameter count)
    or no finite fourth moment."""
    if law.fixed_dim is not None:
        raise NotApplicableError(
            f"{law.spec} has a fixed dimension {law.fixed_dim}; the stepsize instances have parameter counts of their own"
        )
    try:
        return fourth_moment_form(law, sp.Integer(claim_dim(law, FORM_DIM)))
    except MomentDoesNotExistError as exc:
        raise NotApplicableError(str(exc)) from None
    except NotApplicableError as exc:
        return str(exc)


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
