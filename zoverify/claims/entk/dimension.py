"""Dimension-freeness (P2-6): the relative error's log-log slope in d is 0.

Paper: arXiv 2605.03373 (docs/entk.md).
"""

from __future__ import annotations

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify.claims.entk.common import (
    iid_draws_reason,
    kernel_mean_value,
    kernel_sums,
    relative_sq_prediction,
    relative_sq_rows,
)
from zoverify.numeric._batching import BatchSums
from zoverify.verify.claim import Claim, Context
from zoverify.verify.params import Param
from zoverify.verify.registry import register
from zoverify.verify.slope import LogLogSlope


# -- P2-5: dimension-freeness (slope test) ----------------------------------------
def _embedded_jacobians(ctx: Context, dims, v: int):
    """A = G_A Q^T, B = G_B Q^T with Q (d x 2V) orthonormal: norms and A B^T fixed across d."""
    rng = ctx.instance_rng()
    r = 2 * v
    if min(dims) < r:  # Q needs 2V orthonormal columns in R^d
        raise InvalidParameterError(
            f"dim_min = {min(dims)} is below 2 x outputs = {r}: the 2V Jacobian rows need d >= {r} to embed"
        )
    GA, GB = rng.standard_normal((v, r)), rng.standard_normal((v, r))
    GB = GB + GA  # correlated inputs
    out = []
    for dim in dims:
        Q, _ = np.linalg.qr(rng.standard_normal((int(dim), r)))
        out.append((GA @ Q.T, GB @ Q.T))
    return out


def _slope_reason(law) -> str | None:
    if law.fixed_dim is not None:
        return f"{law.spec} has a fixed dimension {law.fixed_dim}; the statement is about the error as d grows"
    return iid_draws_reason(law)


def _slope_grids(ctx: Context):
    base = int(ctx["dim_min"])
    dims = [base * 8**k for k in range(int(ctx["num_dims"]))]
    Ps = [2 * 4**k for k in range(5)]
    return dims, Ps


def _slope_predict(ctx: Context) -> np.ndarray:
    v, P = int(ctx["outputs"]), int(ctx["P"])
    dims, Ps = _slope_grids(ctx)
    pairs = _embedded_jacobians(ctx, dims, v)
    pred_d = [relative_sq_prediction(ctx, A, B, P) for A, B in pairs]
    A0, B0 = pairs[0]
    pred_p = [relative_sq_prediction(ctx, A0, B0, p) for p in Ps]

    def half_slope(x, y):
        lx = np.log(x) - np.mean(np.log(x))
        slope = 0.5 * float(lx @ np.log(y) / (lx @ lx))
        # equal values up to rounding (the Gaussian's exactly d-free error) give a slope of ~1e-16: that is 0
        return 0.0 if abs(slope) < 1e-12 else slope

    return np.array([half_slope(dims, pred_d), half_slope(Ps, pred_p)])


def _rel_sq_sums(ctx: Context, A, B, P: int) -> tuple[BatchSums, BatchSums]:
    """The streamed relative squared errors y and their squares y^2 (for the slope test's log-bias bound)."""
    mean = kernel_mean_value(ctx, A, B)

    def rows(K):
        y = relative_sq_rows(K, mean)
        return torch.stack([y, y * y], dim=1)

    both = kernel_sums(ctx, A, B, P, rows=rows, block=max(64, (1 << 22) // (P * A.shape[1])))
    first = BatchSums(both.sums[:, :1], both.total[:1], both.rows_per_batch, both.num_samples)
    second = BatchSums(both.sums[:, 1:], both.total[1:], both.rows_per_batch, both.num_samples)
    return first, second


def _grid_sums(parts: list[tuple[BatchSums, BatchSums]]) -> BatchSums:
    """[y_1 .. y_G, y_1^2 .. y_G^2] over the grid, the layout LogLogSlope reads."""
    return BatchSums.columns([y for y, _ in parts] + [y2 for _, y2 in parts])


def _slope_simulate(ctx: Context):
    v, P = int(ctx["outputs"]), int(ctx["P"])
    dims, Ps = _slope_grids(ctx)
    pairs = _embedded_jacobians(ctx, dims, v)
    y_d = _grid_sums([_rel_sq_sums(ctx, A, B, P) for A, B in pairs])
    A0, B0 = pairs[0]
    y_p = _grid_sums([_rel_sq_sums(ctx, A0, B0, p) for p in Ps])
    return [(np.array(dims, float), y_d), (np.array(Ps, float), y_p)]


#: additive shift of the d-exponent in the negative control.  At the defaults the
#: acceptance half-width of that exponent is ~0.020 (Gaussian) / ~0.015 (Rademacher)
#: and its batch-means standard error ~0.005, so a shift of 0.05 is ~10 standard errors.
D_EXPONENT_SHIFT = 0.05


def _slope_alternatives(ctx: Context, prediction: np.ndarray) -> list[np.ndarray]:
    """The d-exponent is 0 (scaling cannot move it): shift it additively; scale the P-exponent."""
    d_exp, p_exp = prediction
    return [np.array([d_exp + D_EXPONENT_SHIFT, p_exp]), np.array([d_exp, p_exp * 1.1])]


register(
    Claim(
        name="entk.dimension_free",
        applies_to=_slope_reason,
        predict=_slope_predict,
        simulate=_slope_simulate,
        test=LogLogSlope(exponent_of_root=True),
        params={
            "dim_min": Param(16, "smallest d of the grid (grid: dim_min * 8^k)", low=4, high=4096, integer=True),
            "num_dims": Param(3, "number of d values", low=2, high=6, integer=True),
            "outputs": Param(3, "output size V", low=1, high=16, integer=True),
            "P": Param(8, "perturbations for the d sweep", low=1, high=4096, integer=True),
        },
        laws=("gaussian", "rademacher"),
        num_samples=1 << 11,
        labels=lambda ctx: ["exponent in d", "exponent in P"],
        negative_delta=0.1,  # the P-exponent's relative shift (see _slope_alternatives)
        negative_alternatives=_slope_alternatives,
    )
)
