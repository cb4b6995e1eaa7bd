"""The edge-of-stability reproduction's ZO-GD step, run from its own code, as *optimizer*, *estimator* and
*torch update* subjects.

Paper: "Zeroth-Order Optimization at the Edge of Stability" (arXiv 2604.14669). Code (an independent
reproduction, not the authors'): github.com/MachineLearning-Nerd/
icml26-repro-s87tQaKAER-zeroth-order-optimization-at-the-edge-of-stability (renamed
icml26-zeroth-order-edge-of-stability-independent-audit), ``zo_eos/nn_train.py`` read at commit
9759685041f5bbefde5245f09d057ff482e92364 (``zo_grad`` and ``train_zogd`` identical at 4d12446e).

Code run (``zo_eos/nn_train.py`` loaded at run time from ``$ZOVERIFY_EOS_CHECKOUT`` as a private
module, warnings filters restored after its import-time ``warnings.filterwarnings("ignore")``):
``zo_grad`` (lines 107-118), the two-point estimate, and its helpers ``_flatten`` / ``_set_flat``
(lines 87-96); the step is ``train_zogd``'s ``p = _flatten(model) - eta * g; _set_flat(model, p)``
(lines 133-135), with one ``torch.Generator().manual_seed(seed)`` per run (line 122) from which
``zo_grad`` draws one ``randn(d)`` per step. ``zo_grad`` evaluates the loss through the module's
``_loss(model, X, Y)`` (line 99); the adapter routes that name, for the duration of one call, to
the contract's objective (``f`` of the flat parameters, or ``loss_fn(model)``). Nothing of that
code is copied here.

Declared law/scheme (docstring of ``zo_grad``, "Eq. 3"; ``MU = 1e-3`` at line 486): one Gaussian
direction u ~ N(0, I) per step (q = 1, drawn in float32), central differences
``(L(x + mu u) - L(x - mu u)) / (2 mu) u`` with mu = 1e-3, scale 1, ZO-GD ``x -= eta g``. ``g`` has
u's dtype, float32, whatever the parameters' dtype (a 0-d float64 coefficient times a float32
vector); the estimator below returns it widened to float64.

Verified: no bug in this step. The divisor is ``2.0 * mu`` (line 117), the directions are
standard normal and fresh at each step, the parameters are restored exactly (``_set_flat(model,
p0)``), so ``E g = grad f`` on a quadratic (exactly, for any mu) and ``E[x0 - x1] / lr = grad f``.
This seed is the set's control: an audit should pass it. (The repository's other ZO-GD,
``zo_eos/mc.py::simulate_zogd``, reads the Hessian H directly instead of querying f, so it cannot
be run under a zeroth-order contract.)
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import torch

ENV = "ZOVERIFY_EOS_CHECKOUT"
MU = 1e-3


@functools.cache
def _load(path: str):
    spec = importlib.util.spec_from_file_location("zoverify_seed_eos_nn_train", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path} as a module")
    mod = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # the module silences all warnings on import
        try:
            spec.loader.exec_module(mod)
        except ImportError as exc:
            raise RuntimeError(f"importing {path} needs the package {exc.name!r}") from exc
    return mod


def _nn_train():
    root = os.environ.get(ENV)
    if not root:
        raise RuntimeError(
            f"set {ENV} to a checkout of github.com/MachineLearning-Nerd/"
            "icml26-repro-s87tQaKAER-zeroth-order-optimization-at-the-edge-of-stability (see examples/audit/seeds/README.md)"
        )
    path = (Path(root).expanduser() / "zo_eos" / "nn_train.py").resolve()
    if not path.is_file():
        raise RuntimeError(f"{ENV}={root} has no zo_eos/nn_train.py; is it a checkout of the EoS reproduction?")
    return _load(str(path))


@contextlib.contextmanager
def _loss_routed_to(mod, loss):
    saved = mod._loss
    mod._loss = lambda model, X, Y: loss(model)
    try:
        yield
    finally:
        mod._loss = saved


class _Point(torch.nn.Module):
    def __init__(self, x: np.ndarray):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.tensor(x, dtype=torch.float64))


def _vector_loss(f):
    return lambda m: torch.tensor(f(m.theta.detach().numpy().copy()), dtype=torch.float64)


def factory(x0, lr: float, seed: int):
    """``factory(x0, lr, seed) -> step(f)``: ``train_zogd``'s step, one generator per run."""
    nt = _nn_train()
    model = _Point(np.asarray(x0, dtype=np.float64))
    rng = torch.Generator(device=nt.DEVICE).manual_seed(int(seed))

    def step(f):
        with _loss_routed_to(nt, _vector_loss(f)), torch.no_grad():
            g = nt.zo_grad(model, None, None, MU, rng)
            nt._set_flat(model, nt._flatten(model) - lr * g)
        return model.theta.detach().numpy().copy()

    return step


def estimator(dim: int, seed: int):
    """``estimator(dim, seed) -> estimate(f, x)``: ``zo_grad`` alone, one generator per instance."""
    nt = _nn_train()
    model = _Point(np.zeros(int(dim)))
    rng = torch.Generator(device=nt.DEVICE).manual_seed(int(seed))

    def estimate(f, x):
        with _loss_routed_to(nt, _vector_loss(f)), torch.no_grad():
            nt._set_flat(model, torch.from_numpy(np.asarray(x, dtype=np.float64)))
            return nt.zo_grad(model, None, None, MU, rng).to(torch.float64).numpy().copy()

    return estimate


def update(model: torch.nn.Module, loss_fn, lr: float, seed: int) -> None:
    """``update(model, loss_fn, lr, seed)``: one ZO-GD step; ``seed`` seeds this step's generator."""
    nt = _nn_train()
    rng = torch.Generator(device=nt.DEVICE).manual_seed(int(seed))
    with _loss_routed_to(nt, loss_fn), torch.no_grad():
        g = nt.zo_grad(model, None, None, MU, rng)
        nt._set_flat(model, nt._flatten(model) - lr * g)


__all__ = ["ENV", "MU", "estimator", "factory", "update"]
