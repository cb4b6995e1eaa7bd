"""The NZK paper's "standard ZO" baseline, run from the paper's own notebook, as an *optimizer* subject.

Paper: "Model Evolution Under Zeroth-Order Optimization: A Neural Tangent Kernel Perspective"
(arXiv 2603.21169). Code: github.com/BellChingH/NZK (official); read at the identical copy
github.com/chen2hang/NZK, commit ed732c6925c3eb9c5adb1a80237f42a87cf82ef4 (the repository's only
commit, 2026-03-21).

Code run: ``notebooks/FFN_zo_fo_mnist/FFN_ZOGD_NTK_mnist.ipynb``, ``cells[17]`` (the code cell that
holds ``standard_theta_zo = copy.deepcopy(theta_0.detach()).view(-1, 1)``; JSON lines 339-368).
The adapter loads the notebook at run time from ``$ZOVERIFY_NZK_CHECKOUT``, takes that cell's
source, drops its one ``.cuda()`` (CPU), executes the statements before the loop once per run
(``epsilon = 1e-3``, ``minibatch = 100``, ``theta`` of shape (d, 1)) and the body of
``for i in range(iteration_total)`` once per ``step``. Nothing of the cell is copied here.
What the adapter supplies: ``theta_0`` = x0, ``N`` = d, ``eta_zo`` = lr, ``torch``/``copy``, a
silent ``print``, the torch RNG state (seeded by ``seed``, kept per run), and ``l2_loss``: the
cell's ``l2_loss(x, theta, y)`` is ``1/2 mean((x @ theta - y)^2)`` over all entries, which for a
(d, k) ``theta`` equals the mean over its k columns of the loss of each column; the adapter
evaluates exactly that with the contract's ``f``: ``l2_loss(_, theta, _) = mean_j f(theta[:, j])``.

Declared law/scheme (the cell): Gaussian directions z ~ N(0, I_d), central differences
``(L(theta + eps z) - L(theta - eps z)) / (2 eps)`` with eps = 1e-3, step ``theta -= eta_zo * c * z``,
eta_zo = 1e-3 in the paper (here the contract's lr). Not plain ZO-SGD even as written: of
``minibatch = 100`` candidate directions only the one with the largest loss difference is kept
(best-of-100, q = 100 pairs of queries, 200 loss calls per step).

Bug verified (JSON lines 340, 358, 360, 365): ``theta`` is (d, 1) but ``z`` is drawn as (1, d), so
``theta + epsilon * z`` broadcasts to a d x d matrix (711 x 711 for the paper's 8x8 MNIST FFN:
64*10+10 + 10*5+5 + 5*1+1 = 711 parameters) whose column j is ``theta + eps z_j 1``. Every query
therefore moves all coordinates by the same amount, the loss difference is
``2 eps zbar (1^T grad f)`` (zbar = mean of z), and the update makes ``theta`` itself a d x d
matrix whose columns are ``theta_0 - s_j 1``: each of the d copies moves only along the all-ones
vector, never along the gradient. The cell's printed loss is the mean over the copies.

What ``step`` returns: the mean of the d columns (the average copy), a length-d float64 vector;
the full matrix is kept as the run's state, so later steps are the code's own. On a quadratic
with gradient g the first step is ``x1 = x0 - lr * zbar_best^2 (1^T g) 1`` with zbar_best the
extreme of 100 N(0, 1/d) draws, so ``E[x0 - x1] / lr = (E[M^2] / d) 1 1^T g`` (M the maximum of
100 standard normals, E[M^2] ~ 6.47): a rank-one, wrong-direction mean step, where a correct
Gaussian central-difference ZO-GD has ``E[x0 - x1] / lr = g`` (and the correctly shaped
best-of-100 has ``E[M^2] g``). At d = 711 the mean step is ``0.0091 (1^T g) 1``, which is why the
notebook's baseline loss barely moves (0.2965 to 0.2487 in 14,000 iterations, its printed output).
The same broadcast is in the CIFAR and ImageNet notebooks' baseline cells and in
``notebooks/FFN_zo_fo_mnist/Linear_ZOGD_NTK_mnist.ipynb`` (z of shape (1, degree), averaged over 100
directions there). Measured ratios: ``README.md`` in this folder.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import os
from pathlib import Path

import numpy as np
import torch

ENV = "ZOVERIFY_NZK_CHECKOUT"
NOTEBOOK = "notebooks/FFN_zo_fo_mnist/FFN_ZOGD_NTK_mnist.ipynb"
MARKER = "standard_theta_zo = copy.deepcopy(theta_0.detach()).view(-1, 1)"


def _cell_source() -> str:
    root = os.environ.get(ENV)
    if not root:
        raise RuntimeError(f"set {ENV} to a checkout of github.com/BellChingH/NZK (see examples/audit/seeds/README.md)")
    path = Path(root).expanduser() / NOTEBOOK
    if not path.is_file():
        raise RuntimeError(f"{ENV}={root} has no {NOTEBOOK}; is it a checkout of BellChingH/NZK?")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and MARKER in "".join(c["source"])]
    if len(found) != 1:
        raise RuntimeError(f"expected one code cell containing {MARKER!r} in {path}, found {len(found)}")
    return found[0]


def _setup_and_body(source: str):
    """The cell's statements before its training loop, and the loop's body, compiled (``.cuda()`` dropped)."""
    tree = ast.parse(source.replace(".cuda()", ""))
    loops = [k for k, node in enumerate(tree.body) if isinstance(node, ast.For)]
    if len(loops) != 1 or ast.unparse(tree.body[loops[0]].iter) != "range(iteration_total)":
        raise RuntimeError("the baseline cell no longer has one `for i in range(iteration_total)` loop")
    k = loops[0]
    setup = compile(ast.Module(body=tree.body[:k], type_ignores=[]), NOTEBOOK, "exec")
    body = compile(ast.Module(body=tree.body[k].body, type_ignores=[]), NOTEBOOK, "exec")
    return setup, body


def factory(x0, lr: float, seed: int):
    """``factory(x0, lr, seed) -> step(f)``: one run of the notebook's baseline loop, one iteration per step."""
    setup, body = _setup_and_body(_cell_source())
    x0 = np.asarray(x0, dtype=np.float64)
    ns = {
        "__builtins__": builtins,
        "torch": torch,
        "copy": copy,
        "print": lambda *args, **kwargs: None,
        "theta_0": torch.tensor(x0),
        "N": x0.size,
        "eta_zo": float(lr),
        "x": None,
        "y": None,
    }
    exec(setup, ns)  # the cell's own setup: theta (d, 1), epsilon, minibatch, its l2_loss
    rng_state = torch.Generator().manual_seed(int(seed)).get_state()
    t = 0

    def step(f):
        nonlocal rng_state, t

        def l2_loss(x, theta, y):  # the cell's loss of a (d, k) theta: the mean over its columns
            cols = theta.detach().numpy().T
            return torch.tensor(np.mean([f(np.ascontiguousarray(c)) for c in cols]), dtype=torch.float64)

        ns["l2_loss"], ns["i"] = l2_loss, t
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(rng_state)
            exec(body, ns)  # one iteration of the cell's loop
            rng_state = torch.get_rng_state()
        t += 1
        return ns["standard_theta_zo"].detach().to(torch.float64).mean(dim=1).numpy().copy()

    return step


__all__ = ["ENV", "factory"]
