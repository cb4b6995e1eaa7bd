"""structured.* claims: pass at defaults with rejected negative controls; mutants fail; n/a reasons."""

from __future__ import annotations

import pytest
import torch

from zoverify.claims import REGISTRY, Status, check
from zoverify.perturbations._structured import Block, Sparse
from zoverify.symbolic import symbols as S
from zoverify.symbolic.structured import block_index

STRUCTURED = [name for name in REGISTRY if name.startswith("structured.")]
CASES = [(name, spec) for name in STRUCTURED for spec in REGISTRY[name].laws]


def test_all_claims_are_registered_with_status_labels():
    assert set(STRUCTURED) == {
        "structured.estimator_moments",
        "structured.effective_overlap",
        "structured.one_step_descent",
        "structured.rate_constant",
        "structured.bcd_eta_star",
        "structured.bcd_mc_eta_star",
        "structured.bcd_decay",
    }
    for name in STRUCTURED:
        assert {Status.DERIVED, Status.DERIVED_CHECKED, Status.INFERRED} & set(REGISTRY[name].status), name


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
    result = check(
        REGISTRY["structured.effective_overlap"], law="block(blocks=3)", params={"dim": 7}, scale=(3 / 7) * 3
    )
    assert result.verdict == "fail"
    assert check(REGISTRY["structured.effective_overlap"], law="block(blocks=3)", params={"dim": 7}).verdict == "pass"


class _BlockPerturbingTwoBlocks(Block):
    """A mutant: perturbs two adjacent blocks per step, so sr doubles while the step size does not change."""

    def sample(self, num_samples, dim, *, generator, dtype=torch.float64, device=None):
        first = super().sample(num_samples, dim, generator=generator, dtype=dtype, device=device)
        w = torch.randn(first.shape, generator=generator, dtype=dtype, device=first.device) * self.scale
        idx = torch.as_tensor(block_index(dim, self.blocks), device=first.device)
        chosen = (first != 0).to(torch.int64).argmax(dim=1)
        neighbour = (idx[chosen] + 1) % self.blocks
        return first + w * (idx[None, :] == neighbour[:, None]).to(dtype)


def test_rate_constant_rejects_a_block_law_whose_sampler_does_not_match_its_rate_constant():
    # two blocks of 6 at eta = 1/(6 + 2): E[f+ | x] = f (1 - 1/64) instead of f (1 - 1/32)
    result = check(REGISTRY["structured.rate_constant"], law=_BlockPerturbingTwoBlocks(blocks=4))
    assert result.verdict == "fail"


def test_effective_overlap_reads_alpha_from_the_laws_sampler():
    # a mutant sampler that keeps twice as many coordinates must move the measured alpha off p
    class _DoubledMask(Sparse):
        def sample(self, num_samples, dim, *, generator, dtype=torch.float64, device=None):
            a = super().sample(num_samples, dim, generator=generator, dtype=dtype, device=device)
            b = super().sample(num_samples, dim, generator=generator, dtype=dtype, device=device)
            return torch.where(a != 0, a, b)

    assert check(REGISTRY["structured.effective_overlap"], law=_DoubledMask(p=0.25)).verdict == "fail"


@pytest.mark.parametrize(
    ("name", "spec", "reason"),
    [
        ("structured.estimator_moments", "rademacher", "not of the form"),
        ("structured.estimator_moments", "block(blocks=2, base='rademacher')", "not of the form"),
        ("structured.effective_overlap", "lowrank(rank=2)", "orthonormal"),
        ("structured.rate_constant", "sparse(p=0.5)", "random"),
        ("structured.rate_constant", "block(blocks=5)", "divisible"),
        ("structured.rate_constant", "block(blocks=4, order='cyclic')", "cyclic block order"),
        ("structured.effective_overlap", "sparse(p=0.5, base='sparse(p=0.5)')", "atom at 0"),
        ("structured.one_step_descent", "student_t(nu=6)", "eighth"),
        ("structured.bcd_eta_star", "block(blocks=4, order='cyclic')", "structured.bcd_decay"),
        ("structured.bcd_eta_star", "block(blocks=2, base='rademacher')", "Gaussian"),
        ("structured.bcd_mc_eta_star", "block(blocks=3, order='cyclic')", "iid directions"),
        ("structured.bcd_decay", "sparse(p=0.5)", "block schedule"),
    ],
)
def test_claims_say_why_they_do_not_apply(name, spec, reason):
    result = check(REGISTRY[name], law=spec)
    assert result.verdict == "n/a" and reason in result.message


def test_bcd_eta_star_rejects_a_block_law_with_a_wrong_fourth_moment():
    # the dense operator is built from the law's maps; a law without the 2 BlockDiag term moves eta*
    assert check(REGISTRY["structured.bcd_eta_star"], law=_BlockWithoutCrossTerm(blocks=4)).verdict == "fail"


def test_bcd_eta_star_rejects_a_near_miss_prediction():
    # a formula 3 % off is far outside the 1e-9 root tolerance
    assert check(REGISTRY["structured.bcd_eta_star"], law="block(blocks=4)", scale=1.03).verdict == "fail"


def test_bcd_mc_eta_star_rejects_a_near_miss_prediction():
    result = check(REGISTRY["structured.bcd_mc_eta_star"], law="block(blocks=3)", scale=1.05)
    assert result.verdict == "fail", result.message


def test_bcd_decay_tells_the_cyclic_order_from_the_uniform_one():
    # chains run with the cyclic schedule; the uniform-order epoch map is one of the negative controls
    result = check(REGISTRY["structured.bcd_decay"], law="block(blocks=4, order='cyclic')")
    assert result.verdict == "pass" and result.num_controls == 9
