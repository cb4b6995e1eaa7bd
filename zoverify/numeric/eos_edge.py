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

from zoverify.numeric.eos_curvature import (
    FLOAT64_LOG_RANGE,
    curvature,
    edge_band,
    edge_growth_rate,
    edge_step,
    first_order_edge,
)
from zoverify.numeric.eos_training import DigitsProblem, TrainingRun

FIRST_ORDER_KAPPA = 4.0  # d ln (1 - eta l)^2 / d ln eta at eta l = 2 (derivations/eos_band.py)


@dataclass(frozen=True)
class EdgeTrack:
    """Per replicate (rows) and recorded step (columns): eta*_t / eta, Tr H_t, lambda_max,t."""

    steps: tuple[int, ...]
    ratio: np.ndarray
    trace: np.ndarray
    lambda_max: np.ndarray
    kappa: np.ndarray  # per replicate, at the first recorded Hessian


def track_edge(problem: DigitsProblem, run: TrainingRun, *, eta: float, law=None, q: int = 1,
               beta: float = 0.0, first_order: bool = False) -> EdgeTrack:
    """eta*(H_t)/eta at every recorded step of every replicate (dense Hessians)."""
    R, T = run.thetas.shape[:2]
    ratio, trace, lmax = (np.empty((R, T)) for _ in range(3))
    kappa = np.empty(R)
    for r in range(R):
        for t in range(T):
            curv = curvature(problem.loss, run.thetas[r, t])
            trace[r, t], lmax[r, t] = curv.trace, curv.lambda_max
            star = first_order_edge(curv, beta=beta) if first_order else edge_step(curv, law, q=q, beta=beta)
            ratio[r, t] = star / eta
            if t == 0:
                kappa[r] = FIRST_ORDER_KAPPA if first_order else edge_growth_rate(curv, law, q=q, beta=beta)
    return EdgeTrack(run.record, ratio, trace, lmax, kappa)


def edge_statistics(track: EdgeTrack, *, eta: float, q: int = 1,
                    log_range: float = FLOAT64_LOG_RANGE) -> dict[str, np.ndarray]:
    """Per replicate: window-mean ln(eta*/eta), its derived band, that mean in band units, trace position."""
    window = track.steps[-1] - track.steps[0]
    log_ratio = np.log(track.ratio).mean(axis=1)
    band = np.array([edge_band(k, window, log_range=log_range) for k in track.kappa])
    position = ((2 * q / eta - track.trace) / ((q + 1) * track.lambda_max)).mean(axis=1)
    return {"log_ratio": log_ratio, "band": band, "in_band_units": log_ratio / band, "trace_position": position}


__all__ = ["FIRST_ORDER_KAPPA", "EdgeTrack", "edge_statistics", "track_edge"]
