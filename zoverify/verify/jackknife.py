"""Decision rule for an estimate that is a smooth function of all the samples (the
Monte Carlo eta*): the delete-a-group jackknife, following the summary/decide
protocol of zoverify.verify.decision.

The n samples are split into g groups; theta is computed from all of them and
with each group left out (theta_(i)); the pseudo-values are
p_i = g theta - (g - 1) theta_(i).  The jackknife estimate is mean(p) (bias
corrected to O(1/n^2)), its standard error sqrt(var(p) / g), which equals
sqrt((g-1)/g sum_i (theta_(i) - mean theta_(.))^2), and the interval is Student-t
with g - 1 degrees of freedom: the g pseudo-values are the replicates, so no
further batching (which would pair them and halve the degrees of freedom).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoverify._errors import InvalidParameterError
from zoverify.verify.decision import MeanSummary


@dataclass(frozen=True)
class DeleteAGroupJackknife:
    """t-test (g - 1 df) on a ``(g, k)`` array of jackknife pseudo-values, one row per group."""

    num_groups: int = 32

    def summarize(self, observed, *, variance=None) -> MeanSummary:
        """Mean and standard error of the ``g`` pseudo-values per component, with g - 1 degrees of freedom."""
        if variance is not None:
            raise InvalidParameterError("the jackknife test takes no exact variance (its SE comes from the groups)")
        x = np.asarray(observed, dtype=float)
        x = x[:, None] if x.ndim == 1 else x.reshape(x.shape[0], -1)
        g = x.shape[0]
        if g != self.num_groups:
            raise InvalidParameterError(f"expected {self.num_groups} jackknife pseudo-values (one per group), got {g}")
        se = x.std(axis=0, ddof=1) / np.sqrt(g)
        return MeanSummary(x.mean(axis=0), se, g - 1, f"delete-a-group jackknife (g={g})")
