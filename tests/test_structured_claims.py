"""structured.* claims: pass at defaults with rejected negative controls; mutants fail; n/a reasons."""

from __future__ import annotations

import pytest

from zoverify.claims import REGISTRY, check
from zoverify.perturbations._structured import Block
from zoverify.symbolic import symbols as S

STRUCTURED = [name for name in REGISTRY if name.startswith("structured.")]
CASES = [(name, spec) for name in STRUCTURED for spec in REGISTRY[name].laws]


def test_all_four_claims_are_registered_with_status_labels():
    assert set(STRUCTURED) == {
        "structured.estimator_moments",
        "structured.effective_overlap",
        "structured.one_step_descent",
        "structured.rate_constant",
    }
    for name in STRUCTURED:
        assert any(tag in REGISTRY[name].status for tag in ("DERIVED", "INFERRED"))


@pytest.mark.parametrize(("name", "spec"), CASES, ids=[f"{n}[{s}]" for n, s in CASES])
def test_claim_passes_at_defaults_and_negative_control_is_rejected(name, spec):
    result = check(REGISTRY[name], law=spec, seed=0)
    assert result.verdict == "pass", result.message
    assert result.negative_control_rejected
    assert result.min_detectable_rel < REGISTRY[name].negative_delta


class _BlockWithoutCrossTerm(Block):
    """A mutant: drops the factor 2 on the block-diagonal part (the '2A' Isserlis term)."""

    def fourth_moment(self, A, d=S.d):
        from zoverify.symbolic.structured import BlockDiagonalPart, BlockTraceDiagonal

        return self.scale_sq**2 / self.blocks * (BlockTraceDiagonal(A, self.blocks) + BlockDiagonalPart(A, self.blocks))


def test_one_step_descent_rejects_a_law_with_a_wrong_fourth_moment():
    result = check(REGISTRY["structured.one_step_descent"], law=_BlockWithoutCrossTerm(blocks=4), params={"eta": 0.1})
    assert result.verdict == "fail"


def test_effective_overlap_rejects_the_wrong_scaling_r_over_d_for_unequal_blocks():
    # 1/B holds for any partition; r/d with r the first block's size would not: 7 coords, 3 blocks -> 3/7 != 1/3
    result = check(REGISTRY["structured.effective_overlap"], law="block(blocks=3)", params={"dim": 7}, scale=(3 / 7) * 3)
    assert result.verdict == "fail"
    assert check(REGISTRY["structured.effective_overlap"], law="block(blocks=3)", params={"dim": 7}).verdict == "pass"


@pytest.mark.parametrize(
    ("name", "spec", "reason"),
    [
        ("structured.estimator_moments", "rademacher", "not of the form"),
        ("structured.estimator_moments", "block(blocks=2, base='rademacher')", "not of the form"),
        ("structured.effective_overlap", "lowrank(rank=2)", "orthonormal"),
        ("structured.rate_constant", "sparse(p=0.5)", "random"),
        ("structured.rate_constant", "block(blocks=5)", "divisible"),
        ("structured.one_step_descent", "student_t(nu=6)", "eighth"),
    ],
)
def test_claims_say_why_they_do_not_apply(name, spec, reason):
    result = check(REGISTRY[name], law=spec)
    assert result.verdict == "n/a" and reason in result.message
