"""moments.sampler's panel: the dimension search, moment maps that do not exist, refused panel
lookups, and the batch-means summary's exact-variance and sample-count branches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

import zoverify.claims.moments.sampler as sampler
from zoverify._errors import InvalidParameterError, MomentDoesNotExistError
from zoverify.claims import check, select
from zoverify.numeric._batching import BatchSums
from zoverify.perturbations import AbstractIIDLaw, parse_law
from zoverify.verify.claim import Context


def _ctx(spec_or_law, dim: int) -> Context:
    law = parse_law(spec_or_law) if isinstance(spec_or_law, str) else spec_or_law
    return Context(law, {"dim": dim}, 1, 0, torch.device("cpu"), torch.float64)


# ------------------------------------------------------------------ the dimension search
def test_a_dimension_below_the_block_count_moves_to_the_next_power_of_two_the_law_accepts():
    # block(blocks=8) refuses d = 4 (fewer dimensions than blocks); 8 is the first candidate it takes
    assert sampler._dim(_ctx("block(blocks=8)", 4)) == 8


def test_a_law_that_refuses_every_candidate_is_left_to_name_its_own_problem():
    # 4, 8, ..., 64 are all below 100 blocks: the requested d is returned and the law's error reaches the result
    assert sampler._dim(_ctx("block(blocks=100)", 4)) == 4
    result = check(select(["moments.sampler"])[0], law="block(blocks=100)", params={"dim": 4}, num_samples=256)
    assert result.verdict == "n/a"
    assert "dimension 4 is smaller than the number of blocks 100" in result.message


# ------------------------------------------------------------------ declared slices
def test_orders_whose_moment_maps_do_not_exist_are_dropped_from_the_slices():
    # student_t(nu=3): E z^2 = nu / (nu - 2) = 3 exists, E|z|^3 does not
    slices = sampler.declared_slices(parse_law("student_t(nu=3)"), 4, (1, 2, 3, 4))
    assert slices.orders == (1, 2)
    np.testing.assert_allclose(slices.tensor("second"), 3.0 * np.eye(4))
    assert slices.third is None and slices.fourth is None
    with pytest.raises(ValueError, match=r"the declared third moment was not evaluated \(orders \(1, 2\)\)"):
        slices.tensor("third")


def test_an_exponent_pattern_outside_the_panel_is_refused_by_name():
    slices = sampler.declared_slices(parse_law("gaussian"), 4, (1, 2))
    with pytest.raises(ValueError, match=r"\(1, 1, 1\)"):
        sampler._entries(slices, (1, 1, 1))


def test_a_central_component_has_no_raw_type():
    component = sampler.Component(2, "var (central, iid)", central="var")
    with pytest.raises(ValueError, match=r"component var \(central, iid\) is a central moment, not a raw type"):
        _ = component.raw_type


class _NoMomentMaps(AbstractIIDLaw):
    """A user law that states no tail bound but whose every moment map says it does not exist."""

    name = "nomaps"

    def parameters(self):
        return {}

    def centred_moments(self):
        return {"var": sp.Integer(1), "m3": sp.Integer(0), "m4": sp.Integer(3)}

    def require_moment(self, order: int) -> None:
        raise MomentDoesNotExistError(f"law {self.spec}: no moment of order {order}")

    def _sample_centred(self, shape, generator, dtype):
        return torch.randn(shape, generator=generator, dtype=dtype)


def test_a_law_none_of_whose_maps_exist_is_refused_before_sampling():
    law = _NoMomentMaps()
    assert sampler.testable_orders(law) == [1, 2, 3, 4]  # no bound declared: every order looks testable
    with pytest.raises(MomentDoesNotExistError, match=r"none of its moment maps 1\.\.4 exists"):
        sampler._setup(_ctx(law, 4))


# ------------------------------------------------------------------ the summary
def _panel_sample(num_batches: int, rows_per_batch: int, orders=(2,)) -> sampler.PanelSample:
    k = len(orders)
    rng = np.random.default_rng(3)
    batch_means = rng.normal(1.0, 0.1, (num_batches, k + 4))
    sums = torch.as_tensor(batch_means * rows_per_batch)
    return sampler.PanelSample(
        BatchSums(sums, sums.sum(dim=0), rows_per_batch, num_batches * rows_per_batch),
        torch.float64,
        4,
        list(orders),
    )


def test_an_exact_variance_gives_the_plain_mean_and_its_standard_error():
    observed = _panel_sample(sampler.NUM_BATCHES, 4)
    n = sampler.NUM_BATCHES * 4
    summary = sampler.PanelMeans().summarize(observed, variance=[2.0])
    mean = float(observed.sums.total[0]) / n
    np.testing.assert_allclose(summary.estimate, [mean])
    np.testing.assert_allclose(summary.stderr, [math.sqrt(2.0 / n)])
    assert summary.df is None and summary.method == "exact variance (z)"
    assert summary.rounding is not None and summary.rounding[0] > 0  # the rounding bound still applies


def test_a_sample_with_another_batch_count_is_refused():
    with pytest.raises(InvalidParameterError, match="the sample holds 64 batches, the test needs 128"):
        sampler.PanelMeans().summarize(_panel_sample(64, 8))


def test_fewer_than_two_rows_per_batch_are_refused_with_the_needed_count():
    # 128 batches of one row: n = 128 < 2 B = 256
    with pytest.raises(InvalidParameterError, match=r"at least 256 samples, got 128 \(raise --samples\)"):
        sampler.PanelMeans().summarize(_panel_sample(sampler.NUM_BATCHES, 1))
