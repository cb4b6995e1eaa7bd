"""The descent edge's formula against ZO steps drawn from the law itself, on a network with an indefinite Hessian.

Instance: a 61-6-5 tanh network on scikit-learn's digits 0-4 (pixels standardized, d = 407, float64,
weights N(0, 1/fan_in) from the instance stream) at its initialisation, where the Hessian has
eigenvalues of both signs: the edge needs no positive part, and this is where it differs from eta*.

Prediction (zoverify/numeric/descent.py): eta_d = 2 c ||g||^2 / E[g_hat^T H g_hat] with the law's
structured fourth moment (c, a, b, e) and the exact tr H, g^T H g and sum g_i^2 H_ii of the dense
Hessian (torch.func) and gradient, for q = 1 and q = 4; and, for q = 1, on a 4-dimensional quadratic
(H indefinite, g along the coordinate of the largest H_ii, both from the instance stream) where the
Diag term e sum g_i^2 H_ii is a large share of the denominator (on the network it is about 1/d of it).

Experiment (no formula): N draws of q directions from the law's own sampler give
g_hat = (1/q) sum_j z_j z_j^T g; the edge is 2 mean(g_hat^T g) / mean(g_hat^T H g_hat), a ratio of
means, judged by the delete-a-group jackknife over 32 groups of draws (which removes the ratio's
O(1/N) bias).  The ratio shares the factor (z^T g)^2 between numerator and denominator, so its spread
is that of z^T H z weighted by it, far below either mean's own.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp
import torch

from zoverify._errors import NotApplicableError
from zoverify.claims.stepsize.common import HESSIAN_CHUNK, structured_form
from zoverify.numeric.data import load_digits_standardized
from zoverify.numeric.descent import GradientCurvature, descent_edge
from zoverify.numeric.hessian import dense_hessian, flat_loss
from zoverify.symbolic.stability import fourth_moment_form
from zoverify.verify.claim import Claim, Context
from zoverify.verify.jackknife import DeleteAGroupJackknife
from zoverify.verify.registry import register

HIDDEN = 6
GROUPS = 32
CHUNK = 4096  # draws per batch of the dense products (memory: CHUNK x d)


def applies_to(law) -> str | None:
    """Laws with a structured fourth moment (the formula's form)."""
    try:
        form = structured_form(law)
    except NotApplicableError as exc:
        return str(exc)
    if isinstance(form, str):
        return f"the descent edge formula needs a structured fourth moment ({form})"
    return None


def _small(key: int) -> tuple[np.ndarray, np.ndarray]:
    """(g, H) of the 4-dimensional quadratic: H indefinite with one large diagonal entry, g mostly along it."""
    rng = np.random.default_rng(key + 1)
    A = rng.standard_normal((4, 4))
    H = (A + A.T) / 2 + np.diag([3.0, 0.0, 0.0, 0.0])
    g = np.array([1.0, 0.0, 0.0, 0.0]) + 0.2 * rng.standard_normal(4)
    return g, H


#: (instance, q, draws per sample unit) per component: the 4-dimensional draws are cheap and heavy-tailed
COMPONENTS = (("network", 1, 1), ("network", 4, 1), ("quadratic", 1, 32))


def _pair(ctx: Context, which: str) -> tuple[np.ndarray, np.ndarray]:
    return _instance(_key(ctx)) if which == "network" else _small(_key(ctx))


def network(key: int) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """(model, X, y): the tanh network at its initialisation (weights N(0, 1/fan_in) from ``key``) and its data."""
    X, y = load_digits_standardized(dtype=torch.float64)
    rng = np.random.default_rng(key)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 5))
    model = model.to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.ndim == 2 else 1
            p.copy_(torch.as_tensor(rng.standard_normal(tuple(p.shape)) / np.sqrt(fan_in)))
    return model, X, y


@lru_cache(maxsize=4)
def _instance(key: int) -> tuple[np.ndarray, np.ndarray]:
    """(g, H) of the network's cross-entropy at its initialisation."""
    model, X, y = network(key)
    f, theta = flat_loss(model, X, lambda out: torch.nn.functional.cross_entropy(out, y))
    H = dense_hessian(f, theta, chunk_size=HESSIAN_CHUNK).numpy()
    theta = theta.clone().requires_grad_(True)
    g = torch.autograd.grad(f(theta), theta)[0].detach().numpy()
    return g, (H + H.T) / 2


def _key(ctx: Context) -> int:
    return int(ctx.instance_rng().integers(2**62))


def _predict(ctx: Context) -> list[float]:
    out = []
    for which, q, _ in COMPONENTS:
        g, H = _pair(ctx, which)
        d = g.size
        form = tuple(float(v) for v in fourth_moment_form(ctx.law, sp.Integer(d)).subs(d).__dict__.values())
        gc = GradientCurvature(float(g @ g), float(g @ H @ g))
        diag = float(np.sum(g**2 * np.diag(H)))
        out.append(descent_edge(form, gc, trace=float(np.trace(H)), diag=diag, q=q))  # pyright: ignore[reportArgumentType]
    return out


def _products(z: torch.Tensor, gt: torch.Tensor, Ht: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(g_hat^T g, g_hat^T H g_hat) per draw of the (m, q, d) directions ``z``, which it overwrites."""
    g_hat = z.mul_((z @ gt)[..., None]).mean(dim=1)  # in place: one copy of the draws fewer at the peak
    return (g_hat @ gt).numpy(), ((g_hat @ Ht) * g_hat).sum(dim=1).numpy()


def _simulate(ctx: Context) -> np.ndarray:
    """(32, 3) jackknife pseudo-values of 2 mean(g_hat^T g) / mean(g_hat^T H g_hat) per component."""
    gen = ctx.mc_generator()
    out = np.empty((GROUPS, len(COMPONENTS)))
    for k, (which, q, scale) in enumerate(COMPONENTS):
        n = max(GROUPS, scale * ctx.num_samples // GROUPS * GROUPS)
        g, H = _pair(ctx, which)
        d = g.size
        gt, Ht = torch.as_tensor(g), torch.as_tensor(H)
        # per-group sums as the draws arrive (groups are contiguous runs of n / GROUPS draws): memory
        # does not grow with n
        first, second = np.zeros(GROUPS), np.zeros(GROUPS)
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            z = ctx.law.sample(m * q, d, generator=gen, dtype=torch.float64).cpu().reshape(m, q, d)
            along, curved = _products(z, gt, Ht)
            del z  # before the next chunk is drawn: two chunks of draws are the peak otherwise
            group = np.arange(start, start + m) // (n // GROUPS)
            first += np.bincount(group, weights=along, minlength=GROUPS)
            second += np.bincount(group, weights=curved, minlength=GROUPS)
        total1, total2 = first.sum(), second.sum()
        full = 2 * total1 / total2
        for i in range(GROUPS):
            left = 2 * (total1 - first[i]) / (total2 - second[i])
            out[i, k] = GROUPS * full - (GROUPS - 1) * left
    return out


register(
    Claim(
        name="stepsize.descent_edge",
        predict=_predict,
        simulate=_simulate,
        test=DeleteAGroupJackknife(num_groups=GROUPS),
        applies_to=applies_to,
        laws=("gaussian", "sphere", "rademacher", "laplace"),  # c != a (sphere), e < 0, c != 1 and e > 0
        num_samples=1 << 17,  # detectable error 1-4 % against the 5 % controls (sparse, the heaviest tails)
        labels=lambda ctx: [
            f"eta_d of the {w}, q = {q} ({s * ctx.num_samples} draws of the law)" for w, q, s in COMPONENTS
        ],
    )
)
