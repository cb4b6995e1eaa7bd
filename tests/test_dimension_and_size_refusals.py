"""Sizes a caller can get wrong, and the search for a dimension a law accepts: each refusal names the value
and what is accepted; each search returns the smallest accepted dimension or says why there is none."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify._rng import make_generator
from zoverify.claims.nzk.common import accepted_dim
from zoverify.claims.stability.common import claim_dim
from zoverify.numeric.curvature import ParameterHessian, slq_probes
from zoverify.numeric.hessian import dense_hessian
from zoverify.perturbations import parse_law


def _quadratic_model():
    model = torch.nn.Linear(3, 1, bias=False).double()

    def loss_fn(m):
        return (m.weight**2).sum()

    return model, loss_fn


@pytest.mark.parametrize("count", [0, -2])
def test_slq_probes_refuse_a_count_below_one(count):
    op = ParameterHessian(*_quadratic_model())
    with pytest.raises(InvalidParameterError, match=f"num_probes must be positive, got {count}"):
        slq_probes(op, num_probes=count, steps=2, generator=make_generator(0))


@pytest.mark.parametrize("chunk", [0, -1])
def test_dense_hessian_refuses_a_chunk_below_one(chunk):
    with pytest.raises(InvalidParameterError, match=f"chunk_size must be positive, got {chunk}"):
        dense_hessian(lambda t: (t**2).sum(), torch.ones(3, dtype=torch.float64), chunk_size=chunk)


def test_dense_hessian_in_chunks_is_the_hessian():
    """f = sum_i i t_i^2 + t_0 t_1 has H = diag(2i) + (e_0 e_1^T + e_1 e_0^T), in one chunk or several."""
    theta = torch.arange(1.0, 5.0, dtype=torch.float64)
    want = torch.diag(2.0 * torch.arange(4, dtype=torch.float64))
    want[0, 1] = want[1, 0] = 1.0

    def f(t):
        return (torch.arange(4, dtype=t.dtype) * t**2).sum() + t[0] * t[1]

    for chunk in (1, 3, 4):
        assert torch.equal(dense_hessian(f, theta, chunk_size=chunk), want)


def test_the_smallest_dimension_a_block_law_accepts():
    """block(blocks=5) needs at least 5 coordinates: asked for 3, both searches give 5."""
    law = parse_law("block(blocks=5)")
    assert accepted_dim(law, 3) == 5
    assert claim_dim(law, 3) == 5
    assert claim_dim(law, 7) == 7


def test_no_accepted_dimension_up_to_the_limit_is_the_laws_own_refusal():
    law = parse_law("block(blocks=50)")
    with pytest.raises(InvalidParameterError, match="block"):
        accepted_dim(law, 3, limit=10)
    with pytest.raises(NotApplicableError, match=r"accepts no dimension in \[3, 67\]"):
        claim_dim(parse_law("block(blocks=100)"), 3)  # the search window (64 past the ask) ends below 100 blocks


def test_a_fixed_dimension_below_the_claims_need_is_not_applicable():
    law = parse_law("lowrank(rank=2, shape=[4,3])")
    assert claim_dim(law, 6) == 12
    with pytest.raises(NotApplicableError, match="has dimension 12, below the 16"):
        claim_dim(law, 16)


def test_a_second_stage_control_that_moves_only_unmeasured_components_falls_back():
    """A control moving only a component predicted 0 (no detectable error there) cannot be reached: the worst
    component's rule sizes the stage."""
    from types import SimpleNamespace

    from zoverify.verify.check import STAGE2_MARGIN, _samples_needed

    pred = np.array([1.0, 0.0])
    stage = SimpleNamespace(
        decision=SimpleNamespace(detectable_rel=np.array([0.3, np.nan]), min_detectable_rel=0.3),
        labels=["c0", "c1"],
        controls=[("c1 moved", pred + np.array([0.0, 0.1]))],
        not_rejected=["c1 moved"],
    )
    got = _samples_needed(stage, 0.1, n=1000, alpha_now=1e-4, alpha_next=1e-4, prediction=pred)  # pyright: ignore[reportArgumentType]
    assert got == int(np.ceil(1000 * (STAGE2_MARGIN * 0.3 / 0.1) ** 2))
