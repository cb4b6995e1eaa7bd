"""The ZO eNTK paper's central ZO estimate, run from the paper's own code, as *estimator* and *torch update* subjects.

Paper: "Learning Dynamics of Zeroth-Order Optimization: A Kernel Perspective" (arXiv 2605.03373).
Code: github.com/RogerRogerUSC/ZO-Learning-Dynamics, read at commit
bb5c48b33ef1b7c39ddb3dc0d1941ade47dad260 (``src/zo_llm/zo_optim.py``; unchanged in the two earlier
stored versions, 28417d96 and one with ``perturbor`` naming) and
48fd6d215436c0c53ae57b951a22cc616d2a0d27 (``src/zo_llm/perturb.py``).

Code run (imported at run time from ``$ZOVERIFY_ENTK_CHECKOUT/src``, which is put on ``sys.path``):
``zo_llm.zo_optim.central_zo_estimate`` (lines 29-41), ``zo_sgd_step`` (lines 44-50) and
``ZOOptimizer.update_model_given_seed`` (lines 85-96), with ``zo_llm.perturb.GaussianPerturb``
(lines 33-45; directions regenerated from ``torch.Generator().manual_seed(seed * (i + 17) + i)``,
lines 24-27). Nothing of that code is copied here.

Declared law/scheme (the paper's configs, e.g.
``src/zo_llm/configs/text_classification/dynamics_experiments/sst2/opt-125m_gaussian_10.yaml``):
``pert_distribution: gaussian`` (u ~ N(0, I), unnormalized), ``grad_estimate_method: rge-central``,
``mu: 0.001``, ``num_pert`` P in {1, 5, 10, 20, 50, 100} across the configs; the adapter uses
``MU = 1e-3`` and ``NUM_PERT = 10``. Scale 1: the estimate meant is
``g = (1/P) sum_p (L(x + mu u_p) - L(x - mu u_p)) / (2 mu) u_p``, and the step ``x -= lr g``.

Bug verified: ``central_zo_estimate`` (line 40) divides the central difference by ``mu``, not
``2 mu``: ``grad_scalars.append((pert_plus_loss - pert_minus_loss) / perturbator.mu)``. Each
directional coefficient is twice the directional derivative, so ``E g = 2 grad f`` (up to
O(mu^2)) instead of ``grad f``, and a step at lr moves like a correct step at 2 lr. The forward
estimate in the same file (line 25) divides by ``mu`` correctly, and the repository's other
estimator (``grad_estimators/random_grad_estimator.py``) divides by ``self.mu * denominator_factor``
with the factor 2 for central differences. Note:
``ZOOptimizer.from_config`` (line 81) hard-wires ``forward_zo_estimate`` and ignores the configs'
``grad_estimate_method: rge-central``, so the LLM runs driven by ``src/llm_dynamics_main.py`` use
forward differences (unbiased to O(mu)); the factor 2 bites whoever selects the central estimate.

Contracts:
* ``factory(dim, seed) -> estimate(f, x)``: x is loaded into a one-parameter float64 module, the
  code's ``central_zo_estimate`` gives the P coefficients, the code's ``zo_sgd_step`` at lr = 1
  applies them, and ``g = x - x_after``. A fresh per-step seed is drawn from ``seed``, as the
  paper's trainer draws ``random.randint(0, 1000000)`` per step (``src/zo_llm/llm_trainer.py``);
  here from [0, 2^40), which only avoids repeated directions across steps and replicates.
* ``update(model, loss_fn, lr, seed)``: the code's ``ZOOptimizer`` with ``central_zo_estimate`` and
  ``GaussianPerturb(mu=1e-3)``, ``update_model_given_seed(iteration=0, seed=seed, ...)`` under
  ``torch.no_grad()`` as in the paper's trainer; ``seed`` alone sets the directions of that step,
  so a caller passes a fresh seed per step. It is taken mod 2^40 so that the code's
  ``seed * (i + 17) + i`` fits ``manual_seed``'s 64 bits.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import torch

ENV = "ZOVERIFY_ENTK_CHECKOUT"
MU = 1e-3
NUM_PERT = 10
SEED_RANGE = 2**40  # seed * (i + 17) + i must fit torch's 64-bit manual_seed


def _zo_optim():
    root = os.environ.get(ENV)
    if not root:
        raise RuntimeError(
            f"set {ENV} to a checkout of github.com/RogerRogerUSC/ZO-Learning-Dynamics (see examples/audit/seeds/README.md)"
        )
    src = (Path(root).expanduser() / "src").resolve()
    if not (src / "zo_llm" / "zo_optim.py").is_file():
        raise RuntimeError(f"{ENV}={root} has no src/zo_llm/zo_optim.py; is it a checkout of ZO-Learning-Dynamics?")
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    try:
        mod = importlib.import_module("zo_llm.zo_optim")
    except ImportError as exc:
        raise RuntimeError(f"importing zo_llm.zo_optim from {src} needs the package {exc.name!r}") from exc
    if Path(mod.__file__).resolve() != src / "zo_llm" / "zo_optim.py":
        raise RuntimeError(f"zo_llm.zo_optim is already imported from {mod.__file__}, not from {ENV}={root}")
    return mod


class _Point(torch.nn.Module):
    def __init__(self, x: np.ndarray):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.tensor(x, dtype=torch.float64))


def factory(dim: int, seed: int):
    """``factory(dim, seed) -> estimate(f, x)``: the code's central estimate with P = NUM_PERT Gaussian directions."""
    zo = _zo_optim()
    seeds = np.random.default_rng(seed)
    model = _Point(np.zeros(int(dim)))
    perturbator = zo.GaussianPerturb("cpu", MU)

    def estimate(f, x):
        def loss_fn(m):
            return torch.tensor(f(m.theta.detach().numpy().copy()), dtype=torch.float64)

        with torch.no_grad():
            model.theta.copy_(torch.from_numpy(np.asarray(x, dtype=np.float64)))
            perturbator.set_seed(int(seeds.integers(0, SEED_RANGE)))
            scalars = zo.central_zo_estimate(model, loss_fn, NUM_PERT, perturbator)
            zo.zo_sgd_step(model, 1.0, perturbator, scalars)  # theta <- theta - 1.0 * g
            return np.asarray(x, dtype=np.float64) - model.theta.detach().numpy()

    return estimate


def update(model: torch.nn.Module, loss_fn, lr: float, seed: int) -> None:
    """``update(model, loss_fn, lr, seed)``: one ``ZOOptimizer`` step with the code's central estimate."""
    zo = _zo_optim()
    device = next(model.parameters()).device
    perturbator = zo.GaussianPerturb(device, MU)
    opt = zo.ZOOptimizer(model, lr, device, NUM_PERT, zo.central_zo_estimate, perturbator)
    with torch.no_grad():
        opt.update_model_given_seed(iteration=0, seed=int(seed) % SEED_RANGE, loss_fn=loss_fn)


__all__ = ["ENV", "MU", "NUM_PERT", "factory", "update"]
