"""structured.* claims: an empty drawn projection, the MeZO overlap (P = I), the guards that refuse a law
outside z = c P u or outside the block laws, and the block-spectrum extension past its six listed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoverify._errors import NotApplicableError
from zoverify.claims import check, select
from zoverify.claims.structured import bcd, perturbation_geometry
from zoverify.perturbations import parse_law
from zoverify.verify.claim import Context


def _ctx(spec: str, params: dict) -> Context:
    return Context(parse_law(spec), params, 1 << 10, 0, torch.device("cpu"), torch.float64)


def test_an_empty_sparse_mask_is_not_applicable_at_that_seed():
    # sparse(p=0.25) at d = 2 draws no coordinate with probability 9/16; seed 0 is such a draw
    result = check(
        select(["structured.estimator_moments"])[0],
        law="sparse(p=0.25)",
        params={"dim": 2},
        seed=0,
        num_samples=1 << 10,
    )
    assert result.verdict == "n/a"
    assert result.message == "sparse(p=0.25): the drawn P is empty at this seed and dimension"


def test_the_mezo_overlap_is_one_with_no_sampling_noise():
    # N(0, I) perturbs every coordinate: P = I, ||P^T g||^2 / ||g||^2 = 1 in every row
    result = check(select(["structured.effective_overlap"])[0], law="gaussian", num_samples=1 << 12)
    assert result.verdict == "pass"
    assert result.prediction == [1.0] and result.estimate == [1.0]


def test_the_projection_refuses_a_law_outside_z_equals_c_p_u():
    # the claims' applies_to refuses an iid law first; the guard keeps a direct call from drawing nonsense
    with pytest.raises(NotApplicableError, match=r"rademacher is not of the form z = c P u with a random P"):
        perturbation_geometry._projection(_ctx("rademacher", {"dim": 4}), 4)


def test_the_rate_simulation_refuses_a_law_outside_z_equals_c_p_u():
    ctx = _ctx("rademacher", {"dim": 4, "steps": 2, "L": 1.0})
    with pytest.raises(NotApplicableError, match=r"rademacher is not of the form z = c P u with a random P"):
        perturbation_geometry._rate_simulate(ctx)


def test_the_decay_claims_refuse_a_law_that_is_not_block_coordinate():
    with pytest.raises(NotApplicableError, match=r"gaussian: the decay claims need a block-coordinate law"):
        bcd._block_law(parse_law("gaussian"))
    law = parse_law("block(blocks=3)")
    assert bcd._block_law(law) is law


def test_more_blocks_than_listed_eigenvalues_spread_geometrically_between_the_ends():
    lam = bcd._bcd_spectrum(8)
    first, last = bcd.BCD_SPECTRUM[0], bcd.BCD_SPECTRUM[-1]
    np.testing.assert_allclose(lam, [first * (last / first) ** (k / 7) for k in range(8)], rtol=1e-12)
    assert bcd._bcd_spectrum(6).tolist() == list(bcd.BCD_SPECTRUM)  # six blocks: the listed values
