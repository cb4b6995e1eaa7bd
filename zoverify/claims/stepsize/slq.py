"""The matrix-free eta* of ``zoverify stepsize`` against the dense Hessian's exact eta*.

Instance: softmax regression on scikit-learn's digits 0-4 (pixels standardized, d = 310
parameters, float64), weights drawn from the instance stream.  Its Hessian is positive
semidefinite, so the positive part is H itself and the gain function is analytic on the
spectrum (below).

Experiment (what ``zoverify stepsize`` does, matrix-free): N Rademacher probes, each a
k-step Lanczos run on Hessian-vector products (double backward through the torch
graph), give per-probe Gauss rules; eta* is the root of the probes' mean of
sum_j w_j g(node_j; eta) = 1 (the gain formula, docs/stability.md#the-gain-formula), and
tr H is Hutchinson's mean of v^T H v from the same probes.  Both are judged by the
delete-a-group jackknife (32 groups of probes), which removes the root's O(1/N) bias.

Prediction (the second route): the dense Hessian from torch.func (forward-over-reverse,
not the double backward above), its eigendecomposition, and the structured operator's
exact edge (zoverify.numeric.stability_operator.critical_step_size); tr H its trace.

Bias bound (the quadrature): g(l) = A l / (D - B l) has one pole, at l_p = D / B outside
[a, b] = [l_min, l_max].  Mapped to [-1, 1] the pole sits at x_p, |x_p| > 1; g is analytic
inside the Bernstein ellipse E_r for any r < r_p = |x_p| + sqrt(x_p^2 - 1), and bounded
there by M (the ellipse's nearest point to a pole on its axis is its vertex).  The best
polynomial of degree m = 2k - 1 is within 2 M r^-m / (r - 1) of g on [a, b] (Trefethen,
Approximation Theory and Approximation Practice, Thm 8.2); a k-node Gauss rule is exact
for it, and both the rule and the probe's spectral measure have mass d, so each probe's
quadrature error is at most 4 d M r^-m / (r - 1) (r = sqrt(r_p) here), plus 2 d |g(l_min)|
for clipping rounding-level negative eigenvalues to 0.  A sum error e moves the root by at
most e / S'(eta*/2) (S is increasing and convex in eta), doubled for the spread of the
probes' own slope.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from zoverify._errors import NotApplicableError
from zoverify.claims.stepsize.common import dense_instance, instance_model, structured_form
from zoverify.numeric.curvature import ParameterHessian, ProbeQuadratures, slq_probes
from zoverify.numeric.stability_operator import critical_step_size
from zoverify.numeric.stepsize import gain_terms, structured_setting, weighted_eta_star
from zoverify.symbolic.stability import SpectralSetting, fourth_moment_form
from zoverify.verify.claim import Claim, Context
from zoverify.verify.jackknife import DeleteAGroupJackknife
from zoverify.verify.registry import register

LANCZOS_STEPS = 12  # the pole of g is far outside the spectrum at eta*: the bound below is < 1e-20
GROUPS = 32


def applies_to(law) -> str | None:
    """Spectral laws only: their eta* is a function of the spectrum (E[zz^T A zz^T] has no Diag term)."""
    try:
        form = structured_form(law)
    except NotApplicableError as exc:
        return str(exc)
    if isinstance(form, str):
        return f"eta* of {law.spec} is not a function of the spectrum ({form}); zoverify stepsize uses its exact operator or bounds"
    if form.e != 0:
        return f"eta* of {law.spec} is not a function of the spectrum (Diag term e = {form.e}); zoverify stepsize uses its exact operator or bounds"
    return None


#: (label, method, beta, q): each engine's eta* from the same probes, so a term that only
#: momentum or a q-query average carries (the (1 + beta) factor, the 1/q) is judged at the defaults
ENGINES = (("ZO-GD", "gd", 0.0, 1), ("ZO-GDM beta 0.9", "gdm", 0.9, 1), ("ZO-GD q = 4", "gd", 0.0, 4))


def _settings(ctx: Context, d: int) -> list[SpectralSetting]:
    form = fourth_moment_form(ctx.law, sp.Integer(d))
    c, a, b = (float(x) for x in (form.c, form.a, form.b))
    return [structured_setting(c, a, b, method=m, beta=beta, q=q) for _, m, beta, q in ENGINES]


def _predict(ctx: Context) -> list[float]:
    lam, trace = dense_instance(ctx).eigenvalues, dense_instance(ctx).trace
    H_pos = np.diag(np.clip(lam, 0.0, None))  # the spectrum is all the structured operator needs
    etas = [
        critical_step_size(ctx.law, H_pos, method=m, beta=beta, q=q, solver="structured").eta_star
        for _, m, beta, q in ENGINES
    ]
    return [*etas, trace]


def _simulate(ctx: Context) -> np.ndarray:
    """(32, 4) jackknife pseudo-values of (eta* of each engine, tr H) over groups of probes."""
    model, loss_fn = instance_model(ctx)
    op = ParameterHessian(model, loss_fn)
    quad = slq_probes(op, num_probes=ctx.num_samples, steps=LANCZOS_STEPS, generator=ctx.mc_generator())
    lambda_max = float(quad.nodes.max())  # every Ritz value is <= lambda_max: the root stays below the pole
    groups = np.array_split(np.arange(quad.num_probes), GROUPS)
    every = np.arange(quad.num_probes)
    out = np.empty((GROUPS, len(ENGINES) + 1))
    for k, setting in enumerate(_settings(ctx, op.dim)):
        full = _eta(quad, every, setting, lambda_max)
        for i, g in enumerate(groups):
            out[i, k] = GROUPS * full - (GROUPS - 1) * _eta(quad, np.setdiff1d(every, g), setting, lambda_max)
    for i, g in enumerate(groups):
        out[i, -1] = float(quad.rayleigh[g].mean())  # the jackknife of a mean is its group means
    return out


def _eta(quad: ProbeQuadratures, rows: np.ndarray, setting: SpectralSetting, lambda_max: float) -> float:
    return weighted_eta_star(quad.nodes[rows], quad.weights[rows] / rows.size, setting, lambda_max=lambda_max)


def quadrature_error_bound(setting: SpectralSetting, eta: float, *, low: float, high: float, steps: int, d: int):
    """Bound on one probe's |Gauss rule - v^T g(H_+) v| at ``eta`` (module docstring)."""
    beta = setting.beta
    A = eta * setting.kappa_g * setting.s * (1 + beta)
    B = eta * setting.s * setting.curvature
    D = 2 * (1 - beta**2)
    clip = 2 * d * abs(A * min(low, 0.0) / (D - B * min(low, 0.0)))
    if B == 0:  # g is linear: the rule is exact
        return clip
    mid, half = (low + high) / 2, (high - low) / 2
    x_p = (D / B - mid) / half
    if abs(x_p) <= 1:
        return math.inf
    r = math.sqrt(abs(x_p) + math.sqrt(x_p**2 - 1))
    semi = (r + 1 / r) / 2
    M = abs(A) * (abs(mid) + half * semi) / (abs(B) * half * (abs(x_p) - semi))
    m = 2 * steps - 1
    return 4 * d * M * r ** (-m) / (r - 1) + clip


def _bias_bound(ctx: Context) -> list[float]:
    lam = dense_instance(ctx).eigenvalues
    bounds = []
    for setting, eta in zip(_settings(ctx, lam.size), _predict(ctx)[:-1], strict=True):
        per_probe = quadrature_error_bound(
            setting, eta, low=float(lam[0]), high=float(lam[-1]), steps=LANCZOS_STEPS, d=lam.size
        )
        h = 1e-6 * eta  # S'(eta/2) by a central difference of the exact sum
        up, down = np.sum(gain_terms(eta / 2 + h, lam, setting)), np.sum(gain_terms(eta / 2 - h, lam, setting))
        bounds.append(2 * per_probe / ((up - down) / (2 * h)))
    return [*bounds, 0.0]


register(
    Claim(
        name="stepsize.slq_eta_star",
        predict=_predict,
        simulate=_simulate,
        test=DeleteAGroupJackknife(num_groups=GROUPS),
        bias_bound=_bias_bound,
        applies_to=applies_to,
        laws=("gaussian", "sphere"),
        num_samples=1024,  # detectable error 2-4 % against the 5 % controls
        labels=lambda ctx: [
            *(f"eta* {name} (SLQ: {ctx.num_samples} probes x {LANCZOS_STEPS} Lanczos steps)" for name, *_ in ENGINES),
            "tr H (Hutchinson, the same probes)",
        ],
    )
)
