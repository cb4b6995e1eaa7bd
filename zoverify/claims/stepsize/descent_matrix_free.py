"""``zoverify stepsize --descent-only`` against the dense Hessian: its descent edge, tr H and lambda_max.

Instances: the 61-6-5 tanh network of ``stepsize.descent_edge`` (d = 407, indefinite Hessian, float64) and
a torch quadratic f(theta) = theta^T A theta / 2 + b^T theta in d = 8 (A diagonal-dominant and indefinite,
one large diagonal entry, theta_0 such that the gradient lies mostly along it, from the instance stream),
where the Diag term e sum g_i^2 H_ii is a large share of the denominator, so a law's e is seen.

Prediction: from the dense Hessian (torch.func) and gradient, the descent edge's formula
(zoverify/numeric/descent.py), tr H and the largest eigenvalue.

Experiment: ``stepsize(..., descent_only=True)``, matrix-free (Hutchinson's trace from its own pilot and
top-up, g^T H g from one product, sum g_i^2 H_ii from weighted probes, lambda_max from the three-term
Lanczos recurrence), at confidence 1 - 1e-4 / 3 for each of its three intervals (Bonferroni: the claim's
default alpha).  Each component is the interval's midpoint with its half-width as the tolerance;
lambda_max's tolerance is the Ritz value's residual bound (plus rounding).  The accuracy asked (5 %)
makes the half-widths small enough that the controls at +-10 % fall outside.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp
import torch

from zoverify._rng import draw_seed
from zoverify.claims.stepsize.common import HESSIAN_CHUNK
from zoverify.claims.stepsize.descent import applies_to, network
from zoverify.numeric.descent import GradientCurvature, descent_edge
from zoverify.numeric.hessian import dense_hessian, flat_loss
from zoverify.numeric.stepsize import stepsize
from zoverify.symbolic.stability import fourth_moment_form
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import Exact
from zoverify.verify.registry import register

ACCURACY = 0.05
CONFIDENCE = 1 - 1e-4 / 3
SMALL_DIM = 8


class Quadratic(torch.nn.Module):
    """f(theta) = theta^T A theta / 2 + b^T theta as a torch model (the loss is the module's output)."""

    def __init__(self, A: np.ndarray, b: np.ndarray, theta0: np.ndarray):
        super().__init__()
        self.register_buffer("A", torch.as_tensor(A))
        self.register_buffer("b", torch.as_tensor(b))
        self.theta = torch.nn.Parameter(torch.as_tensor(theta0))

    def forward(self) -> torch.Tensor:
        """The loss at the current parameters."""
        return 0.5 * self.theta @ (self.A @ self.theta) + self.b @ self.theta  # pyright: ignore[reportOperatorIssue]


def _quadratic(key: int) -> Quadratic:
    rng = np.random.default_rng(key + 2)
    M = rng.standard_normal((SMALL_DIM, SMALL_DIM))
    # diagonal-dominant (Hutchinson's spread is the off-diagonal mass), one negative and one large entry
    A = 0.15 * (M + M.T) + np.diag([6.0, -0.5] + [1.0] * (SMALL_DIM - 2))
    b = rng.standard_normal(SMALL_DIM)
    # theta_0 with gradient A theta_0 + b = (1, small ...): g mostly along the large diagonal entry
    g = np.concatenate([[1.0], 0.2 * rng.standard_normal(SMALL_DIM - 1)])
    return Quadratic(A, b, np.linalg.solve(A, g - b))


def _models(ctx: Context):
    key = int(ctx.instance_rng().integers(2**62))
    model, X, y = network(key)
    yield model, lambda m: torch.nn.functional.cross_entropy(m(X), y)
    small = _quadratic(key)
    yield small, lambda m: m()


@lru_cache(maxsize=8)
def _dense(key: int, which: str, law_spec: str) -> tuple[float, float, float]:
    """(eta_d, tr H, lambda_max) of one instance from its dense Hessian (the prediction; never simulated)."""
    from zoverify.perturbations import parse_law

    if which == "network":
        model, X, y = network(key)
        f, theta = flat_loss(model, X, lambda out: torch.nn.functional.cross_entropy(out, y))
        H = dense_hessian(f, theta, chunk_size=HESSIAN_CHUNK).numpy()
        theta = theta.clone().requires_grad_(True)
        g = torch.autograd.grad(f(theta), theta)[0].detach().numpy()
    else:
        small = _quadratic(key)
        H = small.A.numpy()  # pyright: ignore[reportCallIssue]
        g = (small.A @ small.theta + small.b).detach().numpy()  # pyright: ignore[reportOperatorIssue]
    H = (H + H.T) / 2
    d = g.size
    form = fourth_moment_form(parse_law(law_spec), sp.Integer(d)).subs(d)
    c, a, b, e = (float(v) for v in form.__dict__.values())
    gc = GradientCurvature(float(g @ g), float(g @ H @ g))
    eta = descent_edge((c, a, b, e), gc, trace=float(np.trace(H)), diag=float(np.sum(g**2 * np.diag(H))), q=1)
    return eta, float(np.trace(H)), float(np.linalg.eigvalsh(H)[-1])


def _predict(ctx: Context) -> list[float]:
    key = int(ctx.instance_rng().integers(2**62))
    eta, trace, top = _dense(key, "network", ctx.law.spec)
    small_eta = _dense(key, "quadratic", ctx.law.spec)[0]
    return [eta, trace, top, small_eta]


def _simulate(ctx: Context) -> tuple[list[float], list[float]]:
    gen = ctx.mc_generator()
    values, tolerances = [], []
    for k, (model, loss_fn) in enumerate(_models(ctx)):
        result = stepsize(
            model,
            loss_fn,
            laws=[ctx.law.spec],
            accuracy=ACCURACY,
            confidence=CONFIDENCE,
            seed=draw_seed(gen),
            descent_only=True,
        )
        low, high = result.laws[0].descent_edge_interval
        assert low is not None and high is not None, "applies_to admits only laws with a structured form"
        edge = ((low + high) / 2, (high - low) / 2)
        if k == 0:
            t_low, t_high = result.trace_interval
            rounding = 1e-9 * abs(result.lambda_max)
            values += [edge[0], (t_low + t_high) / 2, result.lambda_max]
            tolerances += [edge[1], (t_high - t_low) / 2, result.lambda_max_residual + rounding]
        else:
            values.append(edge[0])
            tolerances.append(edge[1])
    return values, tolerances


register(
    Claim(
        name="stepsize.descent_matrix_free",
        predict=_predict,
        simulate=_simulate,
        test=Exact(),
        applies_to=applies_to,
        laws=("gaussian", "rademacher", "laplace"),  # e = 0, e < 0, e > 0 with c != 1
        num_samples=1,
        negative_delta=0.1,
        labels=lambda ctx: [
            "descent edge of the network (d = 407), interval midpoint",
            "tr H of the network, Hutchinson interval midpoint",
            "lambda_max of the network, three-term Lanczos",
            f"descent edge of the quadratic (d = {SMALL_DIM}, large Diag term), interval midpoint",
        ],
    )
)
