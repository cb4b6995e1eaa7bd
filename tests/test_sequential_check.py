"""The two-stage design of ``check``: when stage 2 runs, at what size and level, and what it reports.

The design's rates are the claim ``checker.sequential_design`` (exact, over thousands of synthetic
checks); these tests pin the rules one by one, each against its near miss.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.claims.checker.sequential import exact_rates, stage_sizes
from zoverify.verify.check import STAGE2_ALPHA_SHARE, STAGE2_MAX_FACTOR, check
from zoverify.verify.claim import Claim

SIGMA = 1.0


def synthetic(truth: float, *, n1: int = 64, delta: float = 0.3, calls: list | None = None) -> Claim:
    """One Gaussian component, known variance, prediction 1; records each stage's sample size."""

    def simulate(ctx):
        if calls is not None:
            calls.append(ctx.num_samples)
        gen = torch.Generator().manual_seed(ctx.num_samples)
        return (truth + SIGMA * torch.randn(ctx.num_samples, generator=gen, dtype=torch.float64)).numpy()[:, None]

    return Claim.synthetic([1.0], simulate, variance=[SIGMA**2], num_samples=n1, negative_delta=delta)


def test_inconclusive_first_stage_runs_a_larger_second_stage():
    calls: list[int] = []
    result = check(synthetic(1.0, calls=calls))
    assert len(calls) == 2 and calls[0] == 64 and calls[1] > 2 * 64
    assert result.stages == 2 and result.num_samples == calls[1]
    assert result.verdict == "pass"  # at n2 the detectable error is delta / 1.3: the controls fall


def test_given_sample_size_is_one_stage_at_the_full_alpha():
    calls: list[int] = []
    result = check(synthetic(1.0, calls=calls), num_samples=64)
    assert calls == [64] and result.stages == 1 and result.verdict == "inconclusive"
    need = int(result.message.rsplit("--samples ", 1)[1].rstrip(")"))
    assert need > 64 and "would decide it" in result.message
    again = check(synthetic(1.0), num_samples=need)
    assert again.verdict == "pass"  # the size it names does decide it


def test_stage_one_is_judged_at_its_share_of_alpha():
    # a z statistic between the two critical values: rejected at alpha, not at (1 - s) alpha
    from scipy import stats

    alpha = 0.2
    c_full = stats.norm.isf(alpha / 2)
    c_stage1 = stats.norm.isf(alpha * (1 - STAGE2_ALPHA_SHARE) / 2)
    z = 0.5 * (c_full + c_stage1)
    n = 400
    data = (1.0 + z * SIGMA / np.sqrt(n)) * np.ones((n, 1))
    claim = Claim.synthetic(
        [1.0], lambda ctx: data[: ctx.num_samples], variance=[SIGMA**2], num_samples=n, negative_delta=0.5
    )
    assert check(claim, num_samples=n, alpha=alpha).verdict == "fail"
    assert check(claim, alpha=alpha).verdict != "fail"


def test_a_first_stage_fail_is_final():
    calls: list[int] = []
    result = check(synthetic(1.5, calls=calls))
    assert result.verdict == "fail" and calls == [64] and result.stages == 1


def test_second_stage_beyond_the_budget_is_reported_not_run():
    calls: list[int] = []
    result = check(synthetic(1.0, delta=0.01, calls=calls))
    assert calls == [64] and result.verdict == "inconclusive"
    need = int(result.message.rsplit("--samples ", 1)[1].rstrip(")"))
    assert need > STAGE2_MAX_FACTOR * 64
    calls.clear()
    bigger = check(synthetic(1.0, delta=0.01, calls=calls), max_samples=need)
    assert calls == [64, need] and bigger.stages == 2


def test_max_samples_below_the_first_stage_is_refused():
    with pytest.raises(InvalidParameterError, match="max_samples"):
        check(synthetic(1.0), max_samples=10)


def test_design_sizes_and_rates_are_the_derived_ones():
    n1, n2 = stage_sizes()
    # by hand: stage 1 at 0.36 (c1 = 0.9154), stage 2 at 0.04 (c2 = 2.0537), z_0.9 = 1.2816, sigma / sqrt(n1) = 0.075:
    # mde1 = 2.1969 x 0.075 = 0.16477; n2 = 64 (1.3 x 0.16477 / 0.1)^2 (3.3353 / 2.1969)^2 = 676.8 -> 677
    assert (n1, n2) == (64, 677)
    fail, passed, near = exact_rates()
    assert 0.36 < fail <= 0.4  # <= alpha: Bonferroni over the stages
    assert passed == pytest.approx(1 - fail, abs=1e-6)  # after stage 2 almost nothing is left inconclusive
    assert near > fail


def test_max_samples_with_a_given_first_stage_runs_two_stages():
    calls: list[int] = []
    result = check(synthetic(1.0, calls=calls), num_samples=64, max_samples=64 * 16)
    assert calls[0] == 64 and len(calls) == 2 and result.stages == 2


def test_second_stage_is_at_least_twice_the_first():
    """A first stage left inconclusive by chance (its detectable error already small) still doubles."""
    from types import SimpleNamespace

    from zoverify.verify.check import _samples_needed

    stage = SimpleNamespace(decision=SimpleNamespace(min_detectable_rel=0.01), labels=["c0"])
    assert _samples_needed(stage, 0.1, n=1000, alpha_now=0.9e-4, alpha_next=1e-5) == 2000  # pyright: ignore[reportArgumentType]
    stage.decision.min_detectable_rel = float("nan")
    assert _samples_needed(stage, 0.1, n=1000, alpha_now=0.9e-4, alpha_next=1e-5) is None  # pyright: ignore[reportArgumentType]


def test_the_cli_says_when_a_check_took_two_stages(capsys):
    """entk.frobenius_error under lowrank(rank=2) is inconclusive at its first stage and decided at the second."""
    from zoverify.cli import main

    code = main(["check", "entk.frobenius_error", "--law", "lowrank(rank=2)", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    rows = rows["results"] if isinstance(rows, dict) else rows
    (row,) = [r for r in rows if r["claim"] == "entk.frobenius_error"]
    assert code == 0 and row["verdict"] == "pass" and row["stages"] == 2 and row["num_samples"] > 2 * 65536
    assert main(["check", "entk.frobenius_error", "--law", "lowrank(rank=2)"]) == 0
    assert "second, larger stage" in " ".join(capsys.readouterr().out.split())


def test_a_second_stage_the_claim_refuses_leaves_the_first_stage_verdict():
    base = synthetic(1.0)

    def simulate(ctx):
        if ctx.num_samples > 64:
            raise NotApplicableError("no more than 64 samples here")
        return base.simulate(ctx)

    result = check(replace(base, simulate=simulate))
    assert result.verdict == "inconclusive" and result.stages == 1 and result.num_samples == 64
    assert "second stage" in result.message and "no more than 64 samples" in result.message


def _stage(detectable, controls, standing):
    from types import SimpleNamespace

    return SimpleNamespace(
        decision=SimpleNamespace(detectable_rel=np.asarray(detectable, float), min_detectable_rel=max(detectable)),
        labels=[f"c{i}" for i in range(len(detectable))],
        controls=controls,
        not_rejected=standing,
    )


def test_the_second_stage_is_sized_by_the_controls_still_standing():
    """A whole-vector scale control is as hard as its best component, not the worst component of the
    prediction: a component predicted near 0 (detectable error 1,500 %) must not size the stage."""
    from scipy import stats

    from zoverify.verify.check import STAGE2_MARGIN, _samples_needed

    pred = np.array([1.0, 0.01])
    scale = [("scale x1.1", pred * 1.1), ("scale x0.9", pred * 0.9)]
    stage = _stage([0.15, 15.0], scale, ["scale x1.1", "scale x0.9"])
    z = stats.norm.ppf(0.9)
    ratio = (stats.norm.isf(1e-5 / 4) + z) / (stats.norm.isf(0.9e-4 / 4) + z)
    reach = 0.1 / 0.15  # component 0 moved by 10 % of its prediction, its detectable error 15 %
    want = int(np.ceil(1000 * (STAGE2_MARGIN / reach) ** 2 * ratio**2))
    got = _samples_needed(stage, 0.1, n=1000, alpha_now=0.9e-4, alpha_next=1e-5, prediction=pred)  # pyright: ignore[reportArgumentType]
    assert got == want and got < 10_000
    # a control that moves only the imprecise component is the hardest: it sizes the stage
    only_small = ("c1 +10%", pred + np.array([0.0, 0.001]))
    stage = _stage([0.15, 15.0], [*scale, only_small], ["scale x1.1", "c1 +10%"])
    hard = _samples_needed(stage, 0.1, n=1000, alpha_now=0.9e-4, alpha_next=1e-5, prediction=pred)  # pyright: ignore[reportArgumentType]
    assert hard == int(np.ceil(1000 * (STAGE2_MARGIN * 15.0 / 0.1) ** 2 * ratio**2))


def test_a_reversed_bound_control_falls_back_to_the_worst_component():
    from zoverify.verify.check import STAGE2_MARGIN, _samples_needed
    from zoverify.verify.decision import OppositeBound

    pred = np.array([1.0])
    stage = _stage([0.3], [("opposite", OppositeBound(pred))], ["opposite"])
    got = _samples_needed(stage, 0.1, n=1000, alpha_now=0.9e-4, alpha_next=0.9e-4, prediction=pred)  # pyright: ignore[reportArgumentType]
    assert got == int(np.ceil(1000 * (STAGE2_MARGIN * 0.3 / 0.1) ** 2))
