"""Stability claims checked by Monte Carlo chains with real finite differences:
second moments below the edge (P3-13, P3-15) and eta* from the sampled one-step
operator (P3-15)."""

from __future__ import annotations

import numpy as np

from zoverify.claims._claim import Claim, Param
from zoverify.claims._registry import register
from zoverify.claims._stability_common import (
    SOURCE,
    eta_operator,
    needs_structured_form,
    rotated_instance,
)
from zoverify.claims._stability_jackknife import DeleteAGroupJackknife
from zoverify.claims._stats import BatchMeans
from zoverify.numeric.stability_mc import chain_second_moments, mc_eta_star
from zoverify.numeric.stability_operator import DenseOperator

_MC_SPECTRUM = (3.0, 2.0, 1.0, 0.5, 0.25, 0.1)
_MC_STEPS = (10, 30)


def _mc_applies(law) -> str | None:
    """Chains (one per sample row) and jackknife groups (consecutive rows) are iid only for independent rows."""
    if not getattr(law, "independent_draws", True):
        return (f"law {law.spec} draws dependent rows (e.g. a cyclic order): the Monte Carlo chains and groups "
                "would not be independent replicates")
    return needs_structured_form(law)


def _mc_setup(ctx):
    H, Q = rotated_instance(ctx, _MC_SPECTRUM)
    x0 = Q @ np.ones(len(_MC_SPECTRUM)) / np.sqrt(len(_MC_SPECTRUM))
    op = DenseOperator(ctx.law, H)
    eta = ctx["fraction"] * op.eta_star()
    return H, x0, op, eta


def _mc_predict(ctx):
    """<I, T^t(x0 x0^T)> in the eigenbasis coordinates of the dense operator."""
    H, x0, op, eta = _mc_setup(ctx)
    V = op.eig.V
    y = V.T @ x0
    r = y.size
    sym = [(a, b) for a in range(r) for b in range(a, r)]
    state = np.array([y[a] * y[b] for a, b in sym])
    T = op.matrix(eta)
    out, t_prev = [], 0
    for t in _MC_STEPS:
        state = np.linalg.matrix_power(T, t - t_prev) @ state
        t_prev = t
        out.append(sum(state[i] for i, (a, b) in enumerate(sym) if a == b))
    return out


def _chain_claim(name, statement, pid, *, status, laws, difference, mu, label_suffix=""):
    """Second moments of ZO-GD chains at _MC_STEPS against the law's operator."""

    def simulate(ctx):
        H, x0, _, eta = _mc_setup(ctx)
        return chain_second_moments(ctx.law, H, x0, eta=eta, record=_MC_STEPS, num_chains=ctx.num_samples,
                                    generator=ctx.mc_generator(), mu=mu, difference=difference)

    return register(Claim(
        name=name, statement=statement, source=f"{SOURCE}, {pid}", status=status,
        predict=_mc_predict, simulate=simulate, test=BatchMeans(), laws=laws, num_samples=1 << 14,
        params={"fraction": Param(0.5, "eta as a fraction of the exact eta*", low=0.01, high=0.99)},
        applies_to=_mc_applies,
        labels=lambda ctx: [f"E||x_{t}||^2{label_suffix}" for t in _MC_STEPS],
    ))


_chain_claim(
    "stability.mc_decay",
    "P3-15 (below the edge): E||x_t||^2 of ZO-GD chains with real central differences equals "
    "<I, T^t(x0 x0^T)> of the law's operator at t = 10, 30 (so its decay rate is the operator's).",
    "P3-15", status="CHECKED", laws=("gaussian", "rademacher"), difference="central", mu=1e-3,
)
_chain_claim(
    "stability.forward_difference",
    "P3-13: with forward differences the chains follow the same operator (the extra term is a constant "
    "of order (eta mu)^2, below 1e-9 here at mu = 1e-6), so eta* is unchanged.",
    "P3-13", status="DERIVED + MC", laws=("gaussian",), difference="forward", mu=1e-6,
    label_suffix=" (forward differences)",
)


_JACKKNIFE_GROUPS = 32


def _mc_eta_simulate(ctx):
    """g = 32 jackknife pseudo-values of eta*; ctx.num_samples counts sampled directions (all groups together)."""
    H, _ = rotated_instance(ctx, _MC_SPECTRUM)
    _, pseudo = mc_eta_star(ctx.law, H, num_samples=ctx.num_samples, generator=ctx.mc_generator(),
                            num_groups=_JACKKNIFE_GROUPS)
    return pseudo[:, None]


register(Claim(
    name="stability.mc_eta_star",
    statement="P3-15 (at the edge): the Monte Carlo one-step operator (directions and real central differences) "
              "gives eta* whose delete-a-group jackknife t-interval (g = 32 groups, 31 df) covers the exact "
              "operator's eta*.  num_samples counts the sampled directions z_k (each measured by central "
              "differences at the d basis points), split into 32 groups of about num_samples/32; the test's "
              "replicates are the 32 pseudo-values.",
    source=SOURCE + ", P3-15", status="CHECKED",
    predict=lambda ctx: [eta_operator(ctx.law, rotated_instance(ctx, _MC_SPECTRUM)[0])],
    simulate=_mc_eta_simulate, test=DeleteAGroupJackknife(num_groups=_JACKKNIFE_GROUPS),
    laws=("gaussian",), num_samples=3 << 15, applies_to=_mc_applies,
    labels=lambda ctx: [f"eta* (MC one-step operator, {ctx.num_samples} directions in {_JACKKNIFE_GROUPS} groups)"],
    negative_delta=0.05,
))
