"""ZO-SGD on a 10^5-parameter model's own quadratic model: stable below zoverify stepsize's interval, unstable above.

Instance: softmax regression on 10,000 fixed random Fourier features of 300 standardized digits
(all ten classes; features cos(x W + b), W and b from the instance stream and held as buffers,
so the trainable head has 10,000 x 10 + 10 = 100,010 parameters, float64).  Its loss is convex,
so H_+ = H and the spectral route is accurate (docs/stepsize.md#limits-a-wide-bulk-around-zero
says why a deep network's is not yet).

Experiment:

1. ``zoverify stepsize`` on the model (the law asked, ZO-GD, q = 1) gives [low, high] at
   confidence 1 - 2e-5, so eta* lies inside it with probability >= 1 - 2e-5;
2. chains of ZO-SGD on the quadratic model at theta_0, x_{t+1} = x_t - eta (z^T H x_t) z (the
   central difference of a quadratic is exactly z^T H x), with H x from Hessian-vector
   products of the torch model (double backward), x_0 ~ N(0, I) and z from the law's own
   sampler, at eta_s = (1 - delta) high and eta_u = (1 + delta) low, delta = 0.2;
3. per chain, the quadratic model's loss ratio L_T / L_0 (L = x^T H x / 2) after T = 200 steps:
   the loss sees only the positive part, which is what the mean-square edge is about (null
   directions of H never decay, so ||x||^2 would not).

Claim (sided batch means): E[L_T / L_0] <= 1 at eta_s and >= 1 at eta_u; the controls are the
reversed sides, so a pass needs the data to place the first below 1 and the second above it.
The gap in eta it resolves is the interval's width plus 2 delta (about 0.5 eta*): far coarser
than the exact claims of the stability family, which is the point of this one; it tests the
estimate a user would take from ``zoverify stepsize`` on a model of 10^5 parameters.
"""

from __future__ import annotations

import numpy as np
import torch

from zoverify._rng import draw_seed
from zoverify.numeric.curvature import ParameterHessian
from zoverify.numeric.data import load_digits_standardized
from zoverify.numeric.stepsize import ROUTE_SPECTRAL, stepsize
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import LOWER_BOUND, UPPER_BOUND, OppositeBound, SidedBatchMeans
from zoverify.verify.registry import register

FEATURES = 10_000
SAMPLES = 300
DELTA = 0.2
STEPS = 200
CONFIDENCE = 1 - 2e-5
ACCURACY = 0.1
_NEVER = 1e300  # a reversed bound no finite estimate can reject


class RandomFeatureSoftmax(torch.nn.Module):
    """Softmax regression on fixed random Fourier features (only the head is trained)."""

    W: torch.Tensor  # buffers: fixed, not parameters
    b: torch.Tensor

    def __init__(self, inputs: int, classes: int, rng: np.random.Generator):
        super().__init__()
        self.register_buffer("W", torch.as_tensor(rng.standard_normal((inputs, FEATURES)) / np.sqrt(inputs)))
        self.register_buffer("b", torch.as_tensor(rng.uniform(-np.pi, np.pi, FEATURES)))
        self.head = torch.nn.Linear(FEATURES, classes).to(torch.float64)
        with torch.no_grad():
            self.head.weight.copy_(torch.as_tensor(0.01 * rng.standard_normal((classes, FEATURES))))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores of the rows of ``x``."""
        return self.head(torch.cos(x @ self.W + self.b))


def _instance(ctx: Context):
    rng = ctx.instance_rng()
    X, y = load_digits_standardized(classes=tuple(range(10)))
    keep = torch.as_tensor(np.sort(rng.choice(X.shape[0], SAMPLES, replace=False)))
    X, y = X[keep], y[keep]
    model = RandomFeatureSoftmax(X.shape[1], 10, rng)

    def loss_fn(m: torch.nn.Module) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(m(X), y)

    return model, loss_fn


def _loss_ratios(op: ParameterHessian, law, eta: float, *, chains: int, gen: torch.Generator) -> np.ndarray:
    def hvps(x: torch.Tensor) -> torch.Tensor:
        return torch.stack([op.matvec(row) for row in x])

    x = torch.randn(chains, op.dim, generator=gen, dtype=torch.float64)
    Hx = hvps(x)
    start = (x * Hx).sum(1)
    for _ in range(STEPS):
        z = law.sample(chains, op.dim, generator=gen, dtype=torch.float64)
        x = x - eta * (z * Hx).sum(1, keepdim=True) * z
        Hx = hvps(x)
    return ((x * Hx).sum(1) / start).numpy()


def _simulate(ctx: Context) -> np.ndarray:
    """(chains, 2): L_T / L_0 per chain at (1 - delta) high and at (1 + delta) low."""
    model, loss_fn = _instance(ctx)
    gen = ctx.mc_generator()
    result = stepsize(
        model, loss_fn, laws=[ctx.law.spec], accuracy=ACCURACY, confidence=CONFIDENCE, seed=draw_seed(gen)
    )
    (law_result,) = result.laws
    low, high = law_result.eta_star_interval
    # applies_to admits the Gaussian and the sphere only: no Diag term, so stepsize takes the spectral route
    assert law_result.route == ROUTE_SPECTRAL and low is not None and high is not None, law_result.route
    op = ParameterHessian(model, loss_fn)
    stable = _loss_ratios(op, ctx.law, (1 - DELTA) * high, chains=ctx.num_samples, gen=gen)
    unstable = _loss_ratios(op, ctx.law, (1 + DELTA) * low, chains=ctx.num_samples, gen=gen)
    return np.stack([stable, unstable], axis=1)


register(
    Claim(
        name="stepsize.quadratic_mc",
        predict=lambda ctx: [1.0, 1.0],
        simulate=_simulate,
        test=SidedBatchMeans(sides=(UPPER_BOUND, LOWER_BOUND)),
        applies_to=lambda law: (
            None
            if law.spec in ("gaussian", "sphere")
            else f"the spectral route (Gaussian, sphere) is the one with an interval at this size; {law.spec} has bounds"
        ),
        laws=("gaussian",),
        num_samples=64,  # chains per step size: 32 batches of 2
        # one control per step size, each reversing its own bound (the other is set where it can never be rejected)
        negative_alternatives=lambda ctx, pred: [
            ("no decay at (1 - delta) high: E[L_T/L_0] >= 1", OppositeBound([1.0, _NEVER])),
            ("no growth at (1 + delta) low: E[L_T/L_0] <= 1", OppositeBound([-_NEVER, 1.0])),
        ],
        labels=lambda ctx: [
            f"E[L_T/L_0] at {1 - DELTA:g} x high, T = {STEPS} (<= 1: stable)",
            f"E[L_T/L_0] at {1 + DELTA:g} x low, T = {STEPS} (>= 1: unstable)",
        ],
    )
)
