"""Where a training run sits relative to its edge: eta*(H_t)/eta along the run, in units of the derived band.

For each replicate and each recorded step t of the window, eta*_t is the exact
mean-square critical step of the current Hessian (first-order GD: 2(1 + beta)/lambda_max),
and the run's edge statistics are

* ``log_ratio``: mean_t ln(eta*_t / eta), and ``band``: the derived half-width
  log_range / (kappa W) (derivations/eos_band.py), kappa the growth rate at the window's
  first Hessian and W the window length in steps;
* ``trace_position``: mean_t (2q/eta - Tr H_t) / ((q + 1) lambda_max,t), which lies in
  [0, 1] exactly when Tr H_t is in [2q/eta - (q+1) lambda_max, 2q/eta], the q-query form
  of the band that eta = eta* implies through Eq. 17 of arXiv 2604.14669 (Gaussian).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify.numeric.eos_curvature import (
    FLOAT64_LOG_RANGE,
    batched_lambda_max,
    batched_orbit_lambda_max,
    block_edge,
    curvature,
    edge_band,
    edge_growth_rate,
    edge_step,
)
from zoverify.numeric.eos_training import DigitsProblem, TrainingRun
from zoverify.perturbations import parse_law

FIRST_ORDER_KAPPA = 4.0  # d ln (1 - eta l)^2 / d ln eta at eta l = 2 (derivations/eos_band.py)


@dataclass(frozen=True)
class EdgeTrack:
    """Per replicate (rows) and recorded step (columns): eta*_t / eta, Tr H_t, lambda_max,t."""

    steps: tuple[int, ...]
    ratio: np.ndarray
    trace: np.ndarray
    lambda_max: np.ndarray
    kappa: np.ndarray  # per replicate, at the first recorded Hessian
    spectral_ratio: np.ndarray | None = None  # block laws: the spectrum-only (isotropic) eta*(H_t) / eta


def _law_edge(curv, law, *, q, beta, with_kappa):
    """(eta*, kappa or None, spectrum-only eta* or None) of ``law`` at one Hessian."""
    if getattr(law, "name", None) == "block":
        if beta != 0 or law.order != "uniform":
            raise InvalidParameterError("the block law's exact eta* is available for ZO-GD with uniform order")
        star, kappa = block_edge(curv, blocks=law.blocks, q=q, scaled=law.scaled)
        isotropic = edge_step(curv, "gaussian", q=q) / (1.0 if law.scaled else law.blocks)
        return star, kappa, isotropic
    star = edge_step(curv, law, q=q, beta=beta)
    kappa = edge_growth_rate(curv, law, q=q, beta=beta) if with_kappa else None
    return star, kappa, None


def track_edge(
    problem: DigitsProblem,
    run: TrainingRun,
    *,
    eta: float,
    law=None,
    q: int = 1,
    beta: float = 0.0,
    first_order: bool = False,
    orbit_average: bool = False,
    lanczos_iters: int = 20,
) -> EdgeTrack:
    """eta*(H_t)/eta at every recorded step of every replicate: dense Hessians for ZO; for first-order GD
    lambda_max alone, by batched Lanczos (``lanczos_iters`` steps; Tr H is not formed, reported as NaN).

    ``orbit_average`` (first order): the record holds pairs of consecutive steps (t, t + 1) and each
    pair contributes the lambda_max of the Hessian averaged over the segment between its two iterates
    (the period-2 orbit's edge statistic, derivations/eos_band.py Sec. 8); the track's steps are the
    pairs' first steps."""
    if first_order:
        return _track_first_order(
            problem, run, eta=eta, beta=beta, lanczos_iters=lanczos_iters, orbit_average=orbit_average
        )
    if orbit_average:
        raise InvalidParameterError("orbit_average applies to first-order tracks (first_order=True)")
    if law is None:
        raise InvalidParameterError("a ZO track needs the law of its directions (law=...)")
    law = parse_law(law)
    R, T = run.thetas.shape[:2]
    ratio, trace, lmax, spectral = (np.empty((R, T)) for _ in range(4))
    kappa = np.empty(R)
    has_spectral = False
    for r in range(R):
        for t in range(T):
            curv = curvature(problem.loss, run.thetas[r, t])
            trace[r, t], lmax[r, t] = curv.trace, curv.lambda_max
            star, k, iso = _law_edge(curv, law, q=q, beta=beta, with_kappa=t == 0)
            ratio[r, t] = star / eta
            if iso is not None:
                spectral[r, t], has_spectral = iso / eta, True
            if t == 0:
                kappa[r] = k
    return EdgeTrack(run.record, ratio, trace, lmax, kappa, spectral if has_spectral else None)


def _track_first_order(problem, run, *, eta, beta, lanczos_iters, orbit_average):
    R, T = run.thetas.shape[:2]
    gen = torch.Generator().manual_seed(0)  # Lanczos start vectors: the Ritz value does not depend on them
    if orbit_average:
        starts = [i for i, t in enumerate(run.record[:-1]) if run.record[i + 1] == t + 1 and t - 1 not in run.record]
        if not starts:
            raise InvalidParameterError("orbit_average needs recorded pairs of consecutive steps (t, t + 1)")
        steps = tuple(run.record[i] for i in starts)
        columns = [
            batched_orbit_lambda_max(
                problem.loss, run.thetas[:, i], run.thetas[:, i + 1], num_iters=lanczos_iters, generator=gen
            )
            for i in starts
        ]
    else:
        steps = run.record
        columns = [
            batched_lambda_max(problem.loss, run.thetas[:, t], num_iters=lanczos_iters, generator=gen) for t in range(T)
        ]
    lmax = np.stack(columns, axis=1)
    return EdgeTrack(
        steps, 2.0 * (1 + beta) / (lmax * eta), np.full(lmax.shape, np.nan), lmax, np.full(R, FIRST_ORDER_KAPPA)
    )


def edge_statistics(
    track: EdgeTrack, *, eta: float, q: int = 1, window: int | None = None, log_range: float = FLOAT64_LOG_RANGE
) -> dict[str, np.ndarray]:
    """Per replicate: window-mean ln(eta*/eta) (the mean over the recorded steps, which sample the
    window), its derived band, that mean in band units, the trace position, and for block laws the
    window mean of ln(eta*_exact/eta*_spectrum-only).  ``window``: the window length W in steps
    (default: last recorded step minus first)."""
    window = track.steps[-1] - track.steps[0] if window is None else int(window)
    log_ratio = np.log(track.ratio).mean(axis=1)
    band = np.array([edge_band(k, window, log_range=log_range) for k in track.kappa])
    position = ((2 * q / eta - track.trace) / ((q + 1) * track.lambda_max)).mean(axis=1)
    out = {"log_ratio": log_ratio, "band": band, "in_band_units": log_ratio / band, "trace_position": position}
    if track.spectral_ratio is not None:
        out["exact_over_spectral"] = np.log(track.ratio / track.spectral_ratio).mean(axis=1)
    return out


__all__ = ["FIRST_ORDER_KAPPA", "EdgeTrack", "edge_statistics", "track_edge"]
