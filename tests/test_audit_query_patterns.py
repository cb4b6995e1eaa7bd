"""Audit paths: central queries that are not the declared antipodal pattern, and the rank-one diagnosis
of a second-moment finding whose scale has no name."""

from __future__ import annotations

import numpy as np

from zoverify.audit.infer import Inferred
from zoverify.audit.run import _finding
from zoverify.claims.audit.replay import estimate_from_queries
from zoverify.verify.result import ClaimResult

_X, _MU = np.array([1.0, 2.0]), 0.5
_Z = np.array([1.0, -1.0])


def _values(points):
    return [float(p @ p) / 2 for p in points]


def test_central_queries_that_are_not_antipodal_are_not_the_declared_pattern():
    # the second query repeats x + mu z instead of x - mu z (a forward step written twice)
    points = [_X + _MU * _Z, _X + _MU * _Z]
    assert estimate_from_queries(_X, points, _values(points), scheme="central", mu=_MU, queries=1, scale=1.0) is None


def test_central_queries_of_the_wrong_count_are_not_the_declared_pattern():
    # two antipodal pairs where one (q = 1) is declared
    points = [_X + _MU * _Z, _X - _MU * _Z, _X + _MU * _Z[::-1], _X - _MU * _Z[::-1]]
    assert estimate_from_queries(_X, points, _values(points), scheme="central", mu=_MU, queries=1, scale=1.0) is None
    # the same queries read with q = 2 are the pattern: g = mean of (z^T x) z over the pairs
    out = estimate_from_queries(_X, points, _values(points), scheme="central", mu=_MU, queries=2, scale=1.0)
    assert out is not None
    expected = ((_Z @ _X) * _Z + (_Z[::-1] @ _X) * _Z[::-1]) / 2
    np.testing.assert_allclose(out[0], expected, atol=1e-14)


def _second_moment_result() -> ClaimResult:
    return ClaimResult(
        claim="audit.estimator_second_moment", law="gaussian", params={"dim": 6}, verdict="fail",
        prediction=[1.0], estimate=[3.0], ci_low=[2.9], ci_high=[3.1], p_value=None, alpha=1e-3,
        method="exact", seed=0, num_samples=1, device="cpu", dtype="float64", elapsed_s=0.0, version="0",
        labels=["E g g^T"], message="second moment off",
    )  # fmt: skip


def test_a_rank_one_second_moment_is_diagnosed_as_such_when_no_scale_is_named():
    # scale 3 +- 0.1 is none of 2, 1/2, -1, 1/d, d (d = 6); the top eigenvalue holds 99.5 % of the trace
    inferred = Inferred(scale=3.0, scale_interval=(2.9, 3.1), top_eigen_share=0.995)
    finding = _finding(_second_moment_result(), "m:f", {"scale": 1.0}, inferred, 0, None)
    assert finding is not None
    assert finding.diagnosis.startswith("rank-one second moment (top eigenvalue 99.5 % of the trace)")


def test_a_spread_second_moment_keeps_the_result_message():
    # the near miss: 90 % in the top eigenvalue is not rank one, and the scale has no name
    inferred = Inferred(scale=3.0, scale_interval=(2.9, 3.1), top_eigen_share=0.9)
    finding = _finding(_second_moment_result(), "m:f", {"scale": 1.0}, inferred, 0, None)
    assert finding is not None and finding.diagnosis == "second moment off"
