"""Stability claims checked by Monte Carlo chains with real finite differences:
second moments below the edge (P3-13, P3-15) and eta* from the sampled one-step
operator (P3-15), for every engine (ZO-GD with q queries, ZO-GDM, frozen ZO-Adam
with a diagonal and with a general preconditioner).

Every prediction is the exact operator built from the law's own moment maps
(zoverify.numeric.stability_operator.DenseOperator), so every law is decided; the
simulations never see it: the step size of the chains is a fixed fraction of the
exact eta* (an input of the experiment, not the quantity compared), and the
sampled operator's edge is found by its own root search."""

from __future__ import annotations

import numpy as np

from zoverify.claims.stability.common import (
    any_law,
    eta_operator,
    haar_rotation,
    law_spectrum,
    rotated,
    rotated_instance,
)
from zoverify.numeric._batching import DEFAULT_BATCHES, BatchSums
from zoverify.numeric.stability_mc import (
    chain_second_moments,
    mc_eta_star,
    mc_eta_star_method,
)
from zoverify.numeric.stability_operator import DenseOperator
from zoverify.verify.claim import Claim
from zoverify.verify.decision import BatchMeans
from zoverify.verify.jackknife import DeleteAGroupJackknife
from zoverify.verify.params import Param
from zoverify.verify.registry import register

_MC_SPECTRUM = (3.0, 2.0, 1.0, 0.5, 0.25, 0.1)
_MC_STEPS = (10, 30)


_NUM_BATCHES = 32  # BatchMeans' batches
_JACKKNIFE_GROUPS = 32


def _mc_setup(ctx, spectrum=_MC_SPECTRUM, *, method="gd", beta=0.0, q=1, P=None, rng=None):
    """(H, x0, op, eta): positive definite H (padded with the smallest eigenvalue), eta = fraction x exact eta*."""
    spec = law_spectrum(ctx.law, spectrum, fill=min(spectrum))
    d = len(spec)
    Q = haar_rotation(rng if rng is not None else ctx.instance_rng(), d)
    H = rotated(spec, Q)
    x0 = Q @ np.ones(d) / np.sqrt(d)
    op = DenseOperator(ctx.law, H, method=method, beta=beta, q=q, P=P)
    eta = ctx["fraction"] * op.eta_star()
    return H, x0, op, eta


def _mc_predict(ctx):
    """<I, T^t(x0 x0^T)> from the dense operator."""
    _, x0, op, eta = _mc_setup(ctx)
    return op.mean_square_norms(x0, eta, _MC_STEPS)


def _chain_claim(name, *, laws, difference, mu, label_suffix=""):
    """Second moments of ZO-GD chains at _MC_STEPS against the law's operator."""

    def simulate(ctx):
        H, x0, _, eta = _mc_setup(ctx)
        return chain_second_moments(
            ctx.law,
            H,
            x0,
            eta=eta,
            record=_MC_STEPS,
            num_chains=ctx.num_samples,
            generator=ctx.mc_generator(),
            mu=mu,
            difference=difference,
            batches=DEFAULT_BATCHES,
        )

    return register(
        Claim(
            applies_to=any_law,
            name=name,
            predict=_mc_predict,
            simulate=simulate,
            test=BatchMeans(),
            laws=laws,
            num_samples=1 << 14,
            params={"fraction": Param(0.5, "eta as a fraction of the exact eta*", low=0.01, high=0.99)},
            labels=lambda ctx: [f"E||x_{t}||^2{label_suffix}" for t in _MC_STEPS],
        )
    )


_chain_claim(
    "stability.mc_decay",
    laws=("gaussian", "rademacher"),
    difference="central",
    mu=0.5,
)
_chain_claim(
    "stability.forward_difference",
    laws=("gaussian",),
    difference="forward",
    mu=1e-6,
    label_suffix=" (forward differences)",
)


def _mc_eta_instance(ctx):
    H, _ = rotated_instance(ctx, law_spectrum(ctx.law, _MC_SPECTRUM, fill=min(_MC_SPECTRUM)))
    return H


def _mc_eta_simulate(ctx):
    """g = 32 jackknife pseudo-values of eta*; ctx.num_samples counts sampled directions (all groups together)."""
    H = _mc_eta_instance(ctx)
    _, pseudo = mc_eta_star(
        ctx.law, H, num_samples=ctx.num_samples, generator=ctx.mc_generator(), num_groups=_JACKKNIFE_GROUPS
    )
    return pseudo[:, None]


register(
    Claim(
        applies_to=any_law,
        name="stability.mc_eta_star",
        predict=lambda ctx: [eta_operator(ctx.law, _mc_eta_instance(ctx))],
        simulate=_mc_eta_simulate,
        test=DeleteAGroupJackknife(num_groups=_JACKKNIFE_GROUPS),
        laws=("gaussian",),
        num_samples=3 << 17,  # 4x what Gaussian directions need: block and sparse laws have noisier operators
        labels=lambda ctx: [f"eta* (MC one-step operator, {ctx.num_samples} directions in {_JACKKNIFE_GROUPS} groups)"],
        negative_delta=0.05,
    )
)


# ------------------------------------------------------------------ every engine
_ENGINE_SPECTRUM = (3.0, 1.5, 0.6, 0.2)  # d = 4: the momentum sample operator has 36 symmetric states


def _engines(ctx, d):
    """(label, method, beta, q, P): q-query GD, heavy ball, frozen Adam with a diagonal and a general P."""
    rng = ctx.instance_rng()
    rng.standard_normal(d * d)  # the Haar draw of the instance comes first in this stream
    p = rng.uniform(0.5, 2.0, d)
    A = rng.standard_normal((d, d))
    P_general = A @ A.T / d + 0.5 * np.eye(d)  # SPD, does not commute with H
    return [
        ("ZO-GD q=4", "gd", 0.0, 4, None),
        ("ZO-GDM b=0.5", "gdm", 0.5, 1, None),
        ("frozen ZO-Adam b1=0.9, diagonal P", "adam", 0.9, 1, np.diag(p)),
        ("frozen ZO-Adam b1=0.9, general SPD P", "adam", 0.9, 1, P_general),
    ]


def _engine_instance(ctx, spectrum):
    spec = law_spectrum(ctx.law, spectrum, fill=min(spectrum))
    d = len(spec)
    Q = haar_rotation(ctx.instance_rng(), d)
    return rotated(spec, Q), Q, _engines(ctx, d)


_ENGINE_STEPS = (10,)  # one time point per engine: the momentum and q-query paths are what it probes
_SETUP_CACHE: dict = {}
_Q_SLOWDOWN = 0.4


def _engine_decay_setups(ctx):
    """Built once per (law, seed, fraction): predict and simulate share the dense operators."""
    key = (ctx.law.spec, ctx.seed, ctx["fraction"])
    if key not in _SETUP_CACHE:
        _SETUP_CACHE.clear()
        _SETUP_CACHE[key] = _build_decay_setups(ctx)
    return _SETUP_CACHE[key]


def _build_decay_setups(ctx):
    H, Q, engines = _engine_instance(ctx, _MC_SPECTRUM)
    d = H.shape[0]
    x0 = Q @ np.ones(d) / np.sqrt(d)
    out = []
    for label, method, beta, q, P in engines:
        op = DenseOperator(ctx.law, H, method=method, beta=beta, q=q, P=P)
        # q-query chains run at 0.4 x fraction of their eta*: a sum in place of the mean (q times the step)
        # then stays below the edge and shows as a wrong decay instead of a divergence no test can resolve
        frac = ctx["fraction"] * (_Q_SLOWDOWN if q > 1 else 1.0)
        out.append((label, method, beta, q, P, op, frac * op.eta_star()))
    return H, x0, out


def _engine_decay_predict(ctx):
    _, x0, setups = _engine_decay_setups(ctx)
    return [v for *_, op, eta in setups for v in op.mean_square_norms(x0, eta, _ENGINE_STEPS)]


def _engine_decay_simulate(ctx):
    H, x0, setups = _engine_decay_setups(ctx)
    gen = ctx.mc_generator()
    cols = [
        chain_second_moments(
            ctx.law,
            H,
            x0,
            eta=eta,
            record=_ENGINE_STEPS,
            num_chains=ctx.num_samples,
            generator=gen,
            method=method,
            beta=beta,
            q=q,
            P=P,
            batches=DEFAULT_BATCHES,
        )
        for _, method, beta, q, P, _, eta in setups
    ]
    return BatchSums.columns(cols)


register(
    Claim(
        applies_to=any_law,
        name="stability.mc_decay_engines",
        predict=_engine_decay_predict,
        simulate=_engine_decay_simulate,
        test=BatchMeans(),
        laws=("gaussian", "rademacher"),
        num_samples=1 << 14,
        params={"fraction": Param(0.5, "eta as a fraction of each engine's exact eta*", low=0.01, high=0.99)},
        labels=lambda ctx: [
            f"E||x_{t}||^2, {e[0]}"
            for e in _engines(ctx, len(law_spectrum(ctx.law, _MC_SPECTRUM)))
            for t in _ENGINE_STEPS
        ],
    )
)


def _engine_eta_predict(ctx):
    H, _, engines = _engine_instance(ctx, _ENGINE_SPECTRUM)
    return [eta_operator(ctx.law, H, method=m, beta=b, q=q, P=P) for _, m, b, q, P in engines]


def _engine_eta_simulate(ctx):
    """(32, 4) jackknife pseudo-values; each engine gets its own directions (num_samples steps each)."""
    H, _, engines = _engine_instance(ctx, _ENGINE_SPECTRUM)
    gen = ctx.mc_generator()
    cols = [
        mc_eta_star_method(
            ctx.law,
            H,
            num_samples=ctx.num_samples,
            generator=gen,
            method=m,
            beta=b,
            q=q,
            P=P,
            num_groups=_JACKKNIFE_GROUPS,
        )[1]
        for _, m, b, q, P in engines
    ]
    return np.stack(cols, axis=1)


register(
    Claim(
        applies_to=any_law,
        name="stability.mc_eta_star_engines",
        predict=_engine_eta_predict,
        simulate=_engine_eta_simulate,
        test=DeleteAGroupJackknife(num_groups=_JACKKNIFE_GROUPS),
        laws=("gaussian",),
        num_samples=1 << 19,  # 4x what Gaussian directions need (block, sparse, low-rank laws)
        labels=lambda ctx: [
            f"eta* (MC one-step operator), {e[0]}" for e in _engines(ctx, len(law_spectrum(ctx.law, _ENGINE_SPECTRUM)))
        ],
    )
)
