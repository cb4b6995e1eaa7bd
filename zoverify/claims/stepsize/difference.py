"""``zoverify stepsize --mu``: the central difference's error against Taylor's theorem on a cubic.

Instance: L(theta) = sum_i a_i theta_i^3 / 6 + theta^T B theta / 2 in d = 12 (a, B and theta_0 from the
instance stream; B symmetric), a torch model in float64.  On a cubic the central difference is off by
exactly

    c(z) - z^T g = (mu^2 / 6) D^3 L[z, z, z] = (mu^2 / 6) sum_i a_i z_i^3

(the quadratic part differences exactly, and a cubic has no mu^4 term), so over the directions z_1..z_n
the relative error is e(mu) = (mu^2 / 6) (sum_k (sum_i a_i z_ki^3)^2 / sum_k (z_k^T g)^2)^(1/2), with
g = a theta^2 / 2 + B theta; e(2 mu) = 4 e(mu).

Prediction: that closed form, on the directions the run draws (the law's sampler, seeded as the run seeds
it).  Experiment: ``stepsize(..., descent_only=True, mu=0.05)``, whose numbers come from losses at
theta +- mu z and theta +- 2 mu z (forward passes of the model, parameters moved in place and restored).
Exact comparison; the tolerance is the rounding of two float64 losses divided by 2 mu, relative to the
directional derivatives (far below the +-5 % controls).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from zoverify._rng import draw_seed, make_generator
from zoverify.numeric.difference import DIFFERENCE_DIRECTIONS
from zoverify.numeric.stepsize import difference_seed, stepsize
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import Exact
from zoverify.verify.registry import register

DIM, MU = 12, 0.05


class Cubic(torch.nn.Module):
    """L(theta) = sum a_i theta_i^3 / 6 + theta^T B theta / 2 (the loss is the module's output)."""

    def __init__(self, a: np.ndarray, B: np.ndarray, theta0: np.ndarray):
        super().__init__()
        self.register_buffer("a", torch.as_tensor(a))
        self.register_buffer("B", torch.as_tensor(B))
        self.theta = torch.nn.Parameter(torch.as_tensor(theta0))

    def forward(self) -> torch.Tensor:
        """The loss at the current parameters."""
        t = self.theta
        return (self.a * t**3).sum() / 6 + 0.5 * t @ (self.B @ t)  # pyright: ignore[reportOperatorIssue]


def _instance(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = ctx.instance_rng()
    a = rng.uniform(0.5, 2.0, DIM) * rng.choice([-1.0, 1.0], DIM)
    M = rng.standard_normal((DIM, DIM))
    B = (M + M.T) / 4 + 2 * np.eye(DIM)
    return a, B, rng.standard_normal(DIM)


def _run_seed(ctx: Context) -> int:
    return draw_seed(ctx.mc_generator())


def _predict(ctx: Context) -> list[float]:
    a, B, theta = _instance(ctx)
    g = a * theta**2 / 2 + B @ theta
    gen = make_generator(difference_seed(_run_seed(ctx)))  # the directions the run draws
    third = den = 0.0
    for _ in range(DIFFERENCE_DIRECTIONS):
        z = ctx.law.sample(1, DIM, generator=gen, dtype=torch.float64)[0].numpy()
        third += float(a @ z**3) ** 2
        den += float(z @ g) ** 2
    e = MU**2 / 6 * math.sqrt(third / den)
    return [e, 4 * e]


def _simulate(ctx: Context) -> tuple[list[float], list[float]]:
    a, B, theta = _instance(ctx)
    model = Cubic(a, B, theta)
    result = stepsize(model, lambda m: m(), laws=[ctx.law.spec], descent_only=True, seed=_run_seed(ctx), mu=MU)
    law = result.laws[0]
    assert law.difference_error is not None and law.difference_error_at_2mu is not None, "stepsize(mu=) sets both"
    # two float64 losses near |L| each rounded by ~d u |L|, divided by 2 mu, against directional derivatives ~|g|
    loss = abs(float(model().detach()))
    rounding = (
        64
        * DIM
        * float(np.finfo(float).eps)
        * max(loss, 1.0)
        / MU
        / float(np.linalg.norm(a * theta**2 / 2 + B @ theta))
    )
    return [law.difference_error, law.difference_error_at_2mu], [rounding, rounding / 2]


register(
    Claim(
        name="stepsize.difference_error",
        predict=_predict,
        simulate=_simulate,
        test=Exact(),
        laws=("gaussian", "rademacher", "laplace"),
        num_samples=1,
        labels=lambda ctx: [f"e(mu) at mu = {MU}", f"e(2 mu) at 2 mu = {2 * MU}"],
    )
)
