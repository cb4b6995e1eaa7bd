"""Full-batch training at the edge of stability on scikit-learn's digits, batched over replicates.

The problem is a small tanh MLP with squared loss on a regression target built from
the bundled 8x8 digits (nothing is downloaded).  Replicates (independent
initialisations and direction streams) run side by side: every parameter tensor
carries a leading replicate dimension, so one batched matmul trains all of them.

Optimisers: first-order GD, and zeroth-order GD / GDM with q directions from any
law and two-point central differences at radius mu:

    g = (1/q) sum_k [(L(theta + mu z_k) - L(theta - mu z_k)) / (2 mu)] z_k,
    m' = beta m + g,  theta' = theta - eta m'         (beta = 0: ZO-GD).

Randomness: initialisation and directions come from explicit generators, one per
replicate (``replicate_generators``), so a replicate's numbers do not depend on
how many replicates run together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator, spawn_seeds
from zoverify.perturbations import AbstractLaw, parse_law

OPTIMIZERS = ("fo", "zo")


@dataclass(frozen=True)
class DigitsProblem:
    """Inputs ``X`` (N, p), targets ``y`` (N,) and the layer widths of a tanh MLP with one output."""

    X: torch.Tensor
    y: torch.Tensor
    widths: tuple[int, ...]

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the parameter tensors, in the order of the flat vector: (W_1, b_1, W_2, b_2, ...)."""
        out = []
        for fan_in, fan_out in zip(self.widths[:-1], self.widths[1:], strict=True):
            out += [(fan_out, fan_in), (fan_out,)]
        return out

    @property
    def dim(self) -> int:
        """Number of parameters d."""
        return sum(int(np.prod(s)) for s in self.shapes)

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """L(theta) = mean_n (f(x_n) - y_n)^2 / 2 for theta of shape (..., dim): batched over leading dims."""
        a = self.X
        params = self._unflatten(theta)
        for layer in range(0, len(params), 2):
            W, b = params[layer], params[layer + 1]
            a = a @ W.transpose(-1, -2) + b[..., None, :]
            if layer < len(params) - 2:
                a = torch.tanh(a)
        return 0.5 * ((a[..., 0] - self.y) ** 2).mean(-1)

    def _unflatten(self, theta):
        out, i = [], 0
        for s in self.shapes:
            n = int(np.prod(s))
            out.append(theta[..., i : i + n].reshape(*theta.shape[:-1], *s))
            i += n
        return out

    def init(self, generators: Sequence[torch.Generator]) -> torch.Tensor:
        """(R, dim) parameters: weights N(0, 1/fan_in), biases 0, one generator per replicate.

        Drawn on the generators' device and moved to the data's, so a CPU generator gives the same
        initialisation whatever device trains."""
        rows = []
        for gen in generators:
            parts = []
            for s in self.shapes:
                if len(s) == 2:
                    w = torch.randn(s, generator=gen, dtype=self.X.dtype, device=gen.device)
                    parts.append(w.reshape(-1) / np.sqrt(s[1]))
                else:
                    parts.append(torch.zeros(s, dtype=self.X.dtype, device=gen.device))
            rows.append(torch.cat(parts))
        return torch.stack(rows).to(self.X.device)


def digits_problem(
    *,
    num_samples: int = 500,
    components: int = 16,
    hidden: Sequence[int] = (8, 8),
    target_scale: float = 3.0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> DigitsProblem:
    """The first ``num_samples`` digits, centred and projected on their top principal components
    (scaled to unit variance per coordinate on average); target: the digit's value, standardised and
    times ``target_scale``.  Regressing the value (not a class) keeps the loss from reaching 0 quickly,
    and the target scale sets how far the weights must grow, hence how much the network sharpens."""
    from sklearn.datasets import load_digits

    if not 1 <= components <= 64:
        raise InvalidParameterError(f"components must be in 1..64, got {components}")
    if not 2 <= num_samples <= 1797:
        raise InvalidParameterError(f"num_samples must be in 2..1797, got {num_samples}")
    if not hidden or any(int(h) < 1 for h in hidden):
        raise InvalidParameterError(f"hidden must list positive widths, got {hidden}")
    data = load_digits()  # a Bunch (the stub also admits the return_X_y pair)
    X = torch.as_tensor(data.data[:num_samples] / 16.0, dtype=dtype)  # pyright: ignore[reportAttributeAccessIssue]
    X = X - X.mean(0)
    _, _, Vt = torch.linalg.svd(X, full_matrices=False)
    X = X @ Vt[:components].T
    X = X / X.pow(2).mean().sqrt()
    value = data.target[:num_samples].astype(float)  # pyright: ignore[reportAttributeAccessIssue]
    y = torch.as_tensor((value - value.mean()) / value.std(), dtype=dtype) * target_scale
    device = torch.device(device)
    return DigitsProblem(X.to(device), y.to(device), (components, *(int(h) for h in hidden), 1))


def replicate_generators(
    seed: int, num_replicates: int, *, device: torch.device | str = "cpu"
) -> tuple[list[torch.Generator], list[torch.Generator]]:
    """(initialisation generators, direction generators): independent streams per replicate.

    Replicate i uses children 2i and 2i + 1 of the seed, so its streams do not depend on
    how many replicates are drawn.  Initialisation always draws on the CPU (the same network on
    every device); the direction generators live on ``device``, where the directions are drawn."""
    seeds = spawn_seeds(seed, 2 * num_replicates)
    return [make_generator(s) for s in seeds[0::2]], [make_generator(s, device=device) for s in seeds[1::2]]


@dataclass(frozen=True)
class TrainingRun:
    """Losses at every step (R, steps + 1) and parameters at the recorded steps (R, len(record), dim)."""

    losses: torch.Tensor
    record: tuple[int, ...]
    thetas: torch.Tensor


def _directions(law: AbstractLaw, generators, q: int, d: int, dtype) -> torch.Tensor:
    return torch.stack([law.sample(q, d, generator=g, dtype=dtype) for g in generators])  # (R, q, d)


def zo_gradient(
    loss: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor, z: torch.Tensor, mu: float
) -> torch.Tensor:
    """(1/q) sum_k central difference along z_k times z_k; theta (R, d), z (R, q, d)."""
    points = torch.cat([theta[:, None] + mu * z, theta[:, None] - mu * z], dim=1)  # (R, 2q, d)
    values = loss(points)
    q = z.shape[1]
    slopes = (values[:, :q] - values[:, q:]) / (2 * mu)
    return (slopes[..., None] * z).mean(dim=1)


def fo_gradient(loss, theta: torch.Tensor) -> torch.Tensor:
    """Exact gradient per replicate (the replicates' losses are independent, so grad of the sum)."""
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss(th).sum(), th)
    return g


def train(
    problem: DigitsProblem,
    theta0: torch.Tensor,
    *,
    optimizer: str,
    eta: float | Callable[[int], float],
    steps: int,
    record: Sequence[int],
    law: AbstractLaw | str = "gaussian",
    q: int = 1,
    mu: float = 1e-3,
    beta: float = 0.0,
    generators: Sequence[torch.Generator] | None = None,
) -> TrainingRun:
    """Train R replicates (theta0 of shape (R, dim)) for ``steps`` full-batch steps.

    ``eta`` is a number or a schedule t -> eta_t (a step-size increase for the catapult).
    ``generators`` (one per replicate) drive the ZO directions.
    """
    _validate(optimizer, steps, q, mu, beta, theta0, problem)
    law = parse_law(law)
    schedule = eta if callable(eta) else (lambda _t, e=float(eta): e)
    record = tuple(sorted({int(t) for t in record}))
    if record and (record[0] < 0 or record[-1] > steps):
        raise InvalidParameterError(f"record steps must lie in 0..{steps}, got {record}")
    if optimizer == "zo" and (generators is None or len(generators) != theta0.shape[0]):
        got = "none" if generators is None else len(generators)
        raise InvalidParameterError(
            f"zo training needs one direction generator per replicate, got {got} for {theta0.shape[0]} replicates"
        )
    theta, m = theta0.clone(), torch.zeros_like(theta0)
    d = problem.dim
    losses = torch.empty(theta0.shape[0], steps + 1, dtype=theta0.dtype, device=theta0.device)
    kept = []
    for t in range(steps + 1):
        if t in record:
            kept.append(theta.clone())
        with torch.no_grad():
            losses[:, t] = problem.loss(theta)
        if t == steps:
            break
        if optimizer == "fo":
            g = fo_gradient(problem.loss, theta)
        else:
            with torch.no_grad():
                g = zo_gradient(problem.loss, theta, _directions(law, generators, q, d, theta.dtype), mu)
        m = beta * m + g
        theta = theta - schedule(t) * m
    thetas = torch.stack(kept, dim=1) if kept else theta0.new_empty(theta0.shape[0], 0, d)
    return TrainingRun(losses.cpu(), record, thetas)


def _validate(optimizer, steps, q, mu, beta, theta0, problem):
    if optimizer not in OPTIMIZERS:
        raise InvalidParameterError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if int(steps) != steps or steps < 0:
        raise InvalidParameterError(f"steps must be a non-negative integer, got {steps}")
    if int(q) != q or q < 1:
        raise InvalidParameterError(f"q (directions per step) must be a positive integer, got {q}")
    if not mu > 0:
        raise InvalidParameterError(f"mu (finite-difference radius) must be positive, got {mu}")
    if not 0 <= beta < 1:
        raise InvalidParameterError(f"beta must be in [0, 1), got {beta}")
    if theta0.ndim != 2 or theta0.shape[1] != problem.dim:
        raise InvalidParameterError(f"theta0 must have shape (replicates, {problem.dim}), got {tuple(theta0.shape)}")


__all__ = [
    "OPTIMIZERS",
    "DigitsProblem",
    "TrainingRun",
    "digits_problem",
    "fo_gradient",
    "replicate_generators",
    "train",
    "zo_gradient",
]
