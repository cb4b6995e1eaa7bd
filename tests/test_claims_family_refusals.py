"""Each claim family refuses, as n/a naming why, the laws its statement is not about."""

from __future__ import annotations

import pytest

from zoverify.claims import check, select

FIXED = "lowrank(rank=2, shape=[4,3])"  # a law of fixed dimension 12


@pytest.mark.parametrize(
    ("name", "law", "named"),
    [
        ("entk.dimension_free", FIXED, "fixed dimension 12; the statement is about the error as d grows"),
        ("entk.similarity", FIXED, "fixed dimension 12; the network's parameter count differs"),
        ("nzk.headline_kernel_zo", FIXED, "fixed dimension 12; the network has 711 parameters"),
        ("nzk.linearized_net", FIXED, "fixed dimension 12; the network has 711 parameters"),
        # one coordinate of 711 per draw: too noisy at the claim's sample size
        ("nzk.linearized_net", "coordinate", "its Monte Carlo variance is too large"),
        # N(0.5, 2^2) coordinates are iid but not zero-mean
        ("nzk.shared_iid", "gaussian(mean=0.5, std=2)", "P1-4 is about iid zero-mean coordinates"),
        # 13 blocks: one more than the 12 dimensions of the dense momentum operator
        ("structured.bcd_eta_star", "block(blocks=13)", "more blocks than the 12 dimensions"),
        # 9 blocks: one more than the reshuffled epoch map's 2^8 products
        ("structured.bcd_decay", "block(blocks=9)", "B > 8 is not handled"),
        ("structured.rate_constant", "block(blocks=4, base='rademacher')", "derived for z = c P u with u ~ N(0, I)"),
    ],
)
def test_a_law_outside_the_statement_is_not_applicable(name, law, named):
    result = check(select([name])[0], law=law, num_samples=4)
    assert result.verdict == "n/a", (result.verdict, result.message)
    assert named in result.message
