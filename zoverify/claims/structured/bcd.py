"""Block-coordinate ZO (MeZO-BCD) at its mean-square edge: eta* for aligned and general H,
Monte Carlo of the iteration, and the decay of cyclic block orders.

Predictions come from zoverify.symbolic.bcd_stability (derivations/bcd_stability.py);
measurements from the block law's exact operator and from sampled chains.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from zoverify._errors import NotApplicableError
from zoverify.numeric._batching import DEFAULT_BATCHES, BatchSums
from zoverify.numeric.mezo import bcd_chain_second_moments
from zoverify.numeric.stability_mc import mc_eta_star
from zoverify.numeric.stability_operator import DenseOperator
from zoverify.perturbations import AbstractLaw, Gaussian
from zoverify.perturbations._structured import Block
from zoverify.symbolic.bcd_stability import (
    MAX_RESHUFFLED_BLOCKS,
    bcd_aligned_eta_star,
    bcd_eta_star_general,
    bcd_eta_star_operator,
    diagonal_blocks,
    epoch_operator,
)
from zoverify.symbolic.structured import (
    block_index,
)
from zoverify.verify.check import component_controls
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import Exact
from zoverify.verify.jackknife import DeleteAGroupJackknife
from zoverify.verify.params import Param
from zoverify.verify.registry import register

# ---------------------------------------------------------------------------
# Beyond the papers: the mean-square threshold eta* of block-coordinate ZO.
# ---------------------------------------------------------------------------
# derivations/bcd_stability.py derives eta* for the block law: (a) block-aligned H,
# closed form in the per-block spectra (GD and GDM); (b) any H, GD: 1/(c^2 rho(K)),
# a symmetric eigenproblem; GDM: the root of the per-block maps' operator.
BCD_SPECTRUM = (3.0, 2.0, 1.0, 0.5, 0.25, 0.1)
BCD_MAX_DIM = 12  # the library's dense momentum operator has 2 d^2 + d states
# Both routes are float64 eigenvalue computations on <= 3 d^2 states, solved by Brent to
# 4 eps: the radius moves by ~1e-14 and the root by ~1e-13 relative (observed <= 2e-14);
# 1e-9 relative leaves four orders of margin and is far below any formula error.
BCD_REL_TOL = 1e-9


def _bcd_blocks(law: AbstractLaw) -> tuple[int, bool]:
    """(B, scaled) of the law: a uniform Gaussian block law, or N(0, I) as one block."""
    if isinstance(law, Block):
        return law.blocks, law.scaled
    return 1, True


def _block_law(law: AbstractLaw) -> Block:
    """The law as the block law a decay claim is declared for (its applies_to refuses any other)."""
    if not isinstance(law, Block):
        raise NotApplicableError(f"{law.spec}: the decay claims need a block-coordinate law")
    return law


def _bcd_applies(law: AbstractLaw) -> str | None:
    if isinstance(law, Gaussian) and law.spec == "gaussian":
        return None
    if not isinstance(law, Block) or law.base.spec != "gaussian":
        return f"{law.spec}: the threshold is derived for block-coordinate Gaussian directions (and N(0, I) as B = 1)"
    if not law.independent_draws:
        return (
            f"{law.spec}: the law's moment maps describe one step's marginal, not an epoch of a cyclic "
            "order; the cyclic threshold is checked by structured.bcd_decay"
        )
    if law.blocks > BCD_MAX_DIM:
        return f"{law.spec}: more blocks than the {BCD_MAX_DIM} dimensions the dense operator handles here"
    return None


def _bcd_spectrum(blocks: int) -> np.ndarray:
    if blocks <= len(BCD_SPECTRUM):
        return np.array(BCD_SPECTRUM)
    return np.geomspace(BCD_SPECTRUM[0], BCD_SPECTRUM[-1], blocks)


def _bcd_instances(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """(aligned H, rotated H): the same spectrum, rotated inside each block / by a Haar matrix."""
    blocks, _ = _bcd_blocks(ctx.law)
    lam = _bcd_spectrum(blocks)
    d = lam.size
    rng = ctx.instance_rng()
    idx = block_index(d, blocks)
    U = np.zeros((d, d))
    for b in range(blocks):
        cols = np.flatnonzero(idx == b)
        Q, R = np.linalg.qr(rng.standard_normal((cols.size, cols.size)))
        U[np.ix_(cols, cols)] = Q * np.sign(np.diag(R))
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    Q = Q * np.sign(np.diag(R))
    aligned, rot = (U * lam) @ U.T, (Q * lam) @ Q.T
    return (aligned + aligned.T) / 2, (rot + rot.T) / 2


def _bcd_predict(ctx: Context) -> np.ndarray:
    blocks, scaled = _bcd_blocks(ctx.law)
    beta = float(ctx["beta"])
    aligned, rot = _bcd_instances(ctx)
    spectra = [np.linalg.eigvalsh(h) for h in diagonal_blocks(aligned, blocks)]
    return np.array(
        [
            bcd_aligned_eta_star(spectra, scaled=scaled),
            bcd_eta_star_general(rot, blocks=blocks, scaled=scaled),
            bcd_aligned_eta_star(spectra, scaled=scaled, beta=beta),
            bcd_eta_star_operator(rot, blocks=blocks, scaled=scaled, method="gdm", beta=beta),
        ]
    )


def _bcd_simulate(ctx: Context):
    """The library's dense operator, built from the law's own second- and fourth-moment maps."""
    beta = float(ctx["beta"])
    aligned, rot = _bcd_instances(ctx)
    values = np.array(
        [
            DenseOperator(ctx.law, aligned).eta_star(),
            DenseOperator(ctx.law, rot).eta_star(),
            DenseOperator(ctx.law, aligned, method="gdm", beta=beta).eta_star(),
            DenseOperator(ctx.law, rot, method="gdm", beta=beta).eta_star(),
        ]
    )
    return values, BCD_REL_TOL * values


BCD_ETA_STAR = register(
    Claim(
        name="structured.bcd_eta_star",
        predict=_bcd_predict,
        simulate=_bcd_simulate,
        test=Exact(),
        params={"beta": Param(0.5, "momentum beta of the GDM components", low=0.0, high=0.95)},
        laws=("block(blocks=4)", "block(blocks=3, scaled=False)", "gaussian"),
        num_samples=1,
        applies_to=_bcd_applies,
        labels=lambda ctx: [
            "eta* GD, aligned H",
            "eta* GD, rotated H",
            f"eta* GDM(beta={ctx['beta']:g}), aligned H",
            f"eta* GDM(beta={ctx['beta']:g}), rotated H",
        ],
    )
)


_BCD_JACKKNIFE_GROUPS = 32


def _bcd_mc_applies(law: AbstractLaw) -> str | None:
    reason = _bcd_applies(law)
    if reason is not None and isinstance(law, Block) and not law.independent_draws:
        return (
            f"{law.spec}: the sampled one-step operator needs iid directions; the cyclic order is checked "
            "by structured.bcd_decay"
        )
    return reason


def _bcd_mc_simulate(ctx: Context):
    """32 jackknife pseudo-values of the edge of the sampled one-step operator (directions from the law's
    sampler, rows r_k from real central differences), on the rotated H."""
    _, rot = _bcd_instances(ctx)
    _, pseudo = mc_eta_star(
        ctx.law, rot, num_samples=ctx.num_samples, generator=ctx.mc_generator(), num_groups=_BCD_JACKKNIFE_GROUPS
    )
    return pseudo[:, None]


BCD_MC_ETA_STAR = register(
    Claim(
        name="structured.bcd_mc_eta_star",
        predict=lambda ctx: [
            bcd_eta_star_general(_bcd_instances(ctx)[1], blocks=_bcd_blocks(ctx.law)[0], scaled=_bcd_blocks(ctx.law)[1])
        ],
        simulate=_bcd_mc_simulate,
        test=DeleteAGroupJackknife(num_groups=_BCD_JACKKNIFE_GROUPS),
        laws=("block(blocks=3)", "block(blocks=3, scaled=False)"),
        num_samples=1 << 18,
        applies_to=_bcd_mc_applies,
        labels=lambda ctx: [f"eta* GD, rotated H (MC operator, {ctx.num_samples} directions)"],
    )
)


_BCD_EPOCHS = (2, 6)


def _bcd_decay_applies(law: AbstractLaw) -> str | None:
    if not isinstance(law, Block) or law.base.spec != "gaussian":
        return f"{law.spec}: the chains follow a block schedule; the claim is about Gaussian block-coordinate laws"
    if law.blocks > MAX_RESHUFFLED_BLOCKS:
        return f"{law.spec}: the reshuffled epoch map sums 2^B products; B > {MAX_RESHUFFLED_BLOCKS} is not handled"
    return None


def _bcd_order(law: Block, *, other: bool = False) -> str:
    cyclic = not law.independent_draws
    return "uniform" if cyclic == other else "reshuffled"


def _bcd_decay_setup(ctx: Context):
    _, rot = _bcd_instances(ctx)
    d = rot.shape[0]
    x0 = np.linalg.eigh(rot)[1] @ np.ones(d) / np.sqrt(d)
    return rot, x0


def _bcd_methods(ctx: Context) -> tuple[tuple[str, float], ...]:
    return (("gd", 0.0), ("gdm", float(ctx["beta"])))


@lru_cache(maxsize=16)
def _bcd_decay_etas_cached(
    blocks: int, scaled: bool, seed: int, fraction: float, beta: float, order: str
) -> tuple[float, float]:
    law = Block(blocks=blocks, scaled=scaled)
    ctx = Context(law, {"beta": beta, "fraction": fraction}, 1, seed, torch.device("cpu"), torch.float64)
    rot, _ = _bcd_decay_setup(ctx)
    gd, gdm = (
        fraction * bcd_eta_star_operator(rot, blocks=law.blocks, scaled=law.scaled, method=method, beta=b, order=order)
        for method, b in _bcd_methods(ctx)
    )
    return gd, gdm


def _bcd_decay_etas(ctx: Context, order: str) -> tuple[float, float]:
    """fraction x eta* of ``order`` for GD and GDM on the claim's rotated H (computed once per setting)."""
    law = _block_law(ctx.law)
    return _bcd_decay_etas_cached(law.blocks, law.scaled, ctx.seed, float(ctx["fraction"]), float(ctx["beta"]), order)


def _bcd_decay_values(ctx: Context, order: str, *, eta_order: str | None = None) -> np.ndarray:
    """<I, E^k(x0 x0^T)> at k = _BCD_EPOCHS for GD and GDM, E the epoch map of ``order`` from the per-block
    maps, at eta = fraction x eta* of ``eta_order`` (default: the law's own order)."""
    law = _block_law(ctx.law)
    rot, x0 = _bcd_decay_setup(ctx)
    d = rot.shape[0]
    sym = [(a, b) for a in range(d) for b in range(a, d)]
    diag = np.array([a == b for a, b in sym])
    out = []
    etas = _bcd_decay_etas(ctx, eta_order or _bcd_order(law))
    for (method, beta), eta in zip(_bcd_methods(ctx), etas, strict=True):
        E = epoch_operator(rot, blocks=law.blocks, eta=eta, scaled=law.scaled, method=method, beta=beta, order=order)
        state = np.concatenate([np.outer(x0, x0)[tuple(np.array(sym).T)], np.zeros(E.shape[0] - len(sym))])
        k_prev = 0
        for k in _BCD_EPOCHS:
            state = np.linalg.matrix_power(E, k - k_prev) @ state
            k_prev = k
            out.append(float(state[: len(sym)][diag].sum()))
    return np.array(out)


def _bcd_decay_simulate(ctx: Context) -> BatchSums:
    """ZO-GD and ZO-GDM chains with the law's block schedule in time and real central differences."""
    law = _block_law(ctx.law)
    rot, x0 = _bcd_decay_setup(ctx)
    record = tuple(k * law.blocks for k in _BCD_EPOCHS)
    gen = ctx.mc_generator()
    cols = []
    for (_, beta), eta in zip(_bcd_methods(ctx), _bcd_decay_etas(ctx, _bcd_order(law)), strict=True):
        cols.append(
            bcd_chain_second_moments(
                law,
                rot,
                x0,
                eta=eta,
                record=record,
                num_chains=ctx.num_samples,
                generator=gen,
                beta=beta,
                dtype=ctx.dtype,
                batches=DEFAULT_BATCHES,
            )
        )
    return BatchSums.columns(cols)


def _bcd_decay_alternatives(ctx: Context, prediction: np.ndarray) -> list:
    """Each component +-delta, and the other block order's epoch map at the same step sizes."""
    labels = _bcd_decay_labels(ctx)
    law = _block_law(ctx.law)
    other = _bcd_decay_values(ctx, _bcd_order(law, other=True), eta_order=_bcd_order(law))
    name = "uniform-order" if ctx.law.independent_draws is False else "reshuffled-order"
    return component_controls(prediction, BCD_DECAY_DELTA, labels) + [(f"{name} operator", other)]


def _bcd_decay_labels(ctx: Context) -> list[str]:
    return [f"E||x||^2 {m}, {k} epochs" for m in ("GD", f"GDM(beta={ctx['beta']:g})") for k in _BCD_EPOCHS]


BCD_DECAY_DELTA = 0.05

BCD_DECAY = register(
    Claim(
        name="structured.bcd_decay",
        predict=lambda ctx: _bcd_decay_values(ctx, _bcd_order(_block_law(ctx.law))),
        simulate=_bcd_decay_simulate,
        params={
            "fraction": Param(0.5, "eta as a fraction of the order's eta*", low=0.01, high=0.99),
            "beta": Param(0.5, "momentum beta of the GDM chains", low=0.0, high=0.95),
        },
        laws=("block(blocks=4, order='cyclic')", "block(blocks=4)"),
        num_samples=1 << 15,
        applies_to=_bcd_decay_applies,
        negative_delta=BCD_DECAY_DELTA,
        negative_alternatives=_bcd_decay_alternatives,
        labels=_bcd_decay_labels,
    )
)


__all__ = [
    "BCD_DECAY",
    "BCD_ETA_STAR",
    "BCD_MC_ETA_STAR",
]
