"""The audit claims under structured laws: a correct subject is never failed by a law the claim's
prediction does not cover (n/a, with the reason), and what the prediction does cover is still judged."""

from __future__ import annotations

import pytest
import torch

from zoverify.claims import check, select
from zoverify.claims.audit.torch_update import _alignment

CYCLIC = "block(blocks=4, order='cyclic')"
#: properties that couple several directions of one stream, and what couples them
COUPLED = {
    "audit.estimator_second_moment_q4": "the q = 4 directions of one estimate",
    "audit.estimator_conditional_mean": "successive directions",
    "audit.optimizer_mean_path": "successive directions",
    "audit.optimizer_mean_path_gdm": "successive directions",
    "audit.optimizer_stable_step_gdm": "the q = 4 directions of one estimate",
}


@pytest.mark.parametrize("name", sorted(COUPLED))
def test_a_cyclic_order_is_refused_where_directions_are_coupled(name):
    """One permutation of the blocks per epoch makes successive directions dependent: the reference subject
    failed these five on a correct implementation (E gg^T[1,3] 0.333 against 0.249 at q = 4, a negative
    between-within spread, a mean path 7 % off, eta* 0.42 against 0.33)."""
    result = check(select([name])[0], law=CYCLIC)
    assert result.verdict == "n/a"
    assert "dependent directions" in result.message and COUPLED[name] in result.message


def test_one_direction_properties_are_still_judged_under_a_cyclic_order():
    """A single direction's marginal law is the iid order's: the mean at q = 1 is decided, not refused."""
    result = check(select(["audit.estimator_mean"])[0], law=CYCLIC)
    assert result.verdict == "pass", result.message


def test_alignment_of_a_tensor_the_direction_left_at_zero():
    """A block or sparse direction leaves whole tensors at zero: a correct update does not move them (1);
    moving one the direction left alone, or leaving one it moved, is 0."""
    zero, x = torch.zeros(5), torch.arange(1.0, 6.0)
    assert _alignment(zero, zero) == 1.0
    assert _alignment(zero, 1e-6 * x) == 0.0
    assert _alignment(x, zero) == 0.0
    assert _alignment(x, -3 * x) == pytest.approx(1.0, abs=1e-7)
    assert _alignment(x, x + torch.tensor([1.0, -1, 0, 0, 0])) < 0.99


def test_a_block_law_update_is_aligned_on_every_tensor():
    """The reference update under block(blocks=4) touches one block of the concatenated parameters: the
    tensors outside it must read as aligned, not as min |cos| = 0 (a false failure before)."""
    result = check(select(["audit.torch_update_direction"])[0], law="block(blocks=4)")
    assert result.verdict == "pass", result.message


REDRAWN = '''
import torch
from zoverify._rng import make_generator
from zoverify.perturbations import parse_law

LAW = parse_law("block(blocks=4)")


@torch.no_grad()
def update(model, loss_fn, lr, seed):
    """Block-coordinate MeZO whose update redraws its block (the generator reseeded at seed + 1)."""
    params = [p for p in model.parameters() if p.requires_grad]
    sizes = [p.numel() for p in params]
    saved = [p.detach().clone() for p in params]

    def direction(s):
        return torch.split(LAW.sample(1, sum(sizes), generator=make_generator(s), dtype=torch.float32)[0], sizes)

    values = []
    for sign in (1.0, -1.0):
        for p, keep, zp in zip(params, saved, direction(seed)):
            p.copy_(keep + sign * 1e-2 * zp.view(p.shape))
        values.append(float(loss_fn(model)))
    coeff = (values[0] - values[1]) / 2e-2
    for p, keep, zp in zip(params, saved, direction(seed + 1)):
        p.copy_(keep - lr * coeff * zp.view(p.shape))
'''


def test_an_update_along_another_block_is_not_aligned(tmp_path):
    """The near miss the zero rule must not excuse: the update moves tensors the perturbation left at zero."""
    path = tmp_path / "redrawn.py"
    path.write_text(REDRAWN)
    params = {"subject": f"{path}:update", "mu": 1e-2}
    result = check(select(["audit.torch_update_direction"])[0], law="block(blocks=4)", params=params)
    assert result.verdict == "fail"


@pytest.mark.parametrize(
    "name", ["audit.torch_update_mean", "audit.torch_update_direction", "audit.torch_update_restore"]
)
def test_a_law_of_fixed_dimension_is_refused_before_the_update_runs(name):
    """lowrank(shape=[4,3]) draws 12-d directions: the probe model's 131,403 parameters are a setting it refuses,
    n/a with the reason, where the reference update used to raise inside the subject (a bad-subject error, exit 2,
    on correct code).  The stable step's quadratic takes the law's 12 dimensions instead (decided: pass)."""
    result = check(select([name])[0], law="lowrank(rank=2, shape=[4,3])")
    assert result.verdict == "n/a"
    assert "dimension" in result.message or "refuses" in result.message, result.message


def test_a_declared_law_without_fourth_moments_is_audited_where_it_can_be():
    """student_t(nu=3) has E[zz^T] but no fourth moment: the mean is judged (this subject draws Gaussian
    directions, so E g is a third of the declared law's), the second-moment properties are n/a naming the
    missing moment, and nothing raises out of the audit."""
    from zoverify.audit import audit

    report = audit("examples/audit/slips.py:correct", law="student_t(nu=3)", samples=1024)
    verdicts = {r.claim: r for r in report.results}
    assert verdicts["audit.estimator_mean"].verdict == "fail"
    second = verdicts["audit.estimator_second_moment"]
    assert second.verdict == "n/a" and "order 4" in second.message
    assert verdicts["audit.estimator_conditional_mean"].verdict == "n/a"


def test_a_moment_missing_inside_the_simulation_or_the_controls_is_n_a():
    import numpy as np

    from zoverify._errors import MomentDoesNotExistError
    from zoverify.verify.claim import Claim

    def missing(*_args):
        raise MomentDoesNotExistError("no finite moment of order 4")

    rows = np.ones((64, 1))
    in_simulation = Claim.synthetic([1.0], missing, name="synthetic.simulate")
    in_controls = Claim.synthetic([1.0], rows, name="synthetic.controls", negative_alternatives=missing)
    for claim in (in_simulation, in_controls):
        result = check(claim, num_samples=64)
        assert result.verdict == "n/a" and "order 4" in result.message


def test_the_restore_probe_model_holds_each_dtype_it_is_asked_for():
    """The restore property checks float32, bfloat16 and float16 models: a probe model left in float32 would
    test one dtype three times and never see a restore that is exact only in float32."""
    from zoverify.claims.audit.torch_update import DTYPES, probe_model
    from zoverify.perturbations import parse_law
    from zoverify.verify.claim import Context

    ctx = Context(parse_law("gaussian"), {}, 1, 0, torch.device("cpu"), torch.float64)
    for dtype in DTYPES.values():
        assert {p.dtype for p in probe_model(ctx, 64, dtype=dtype).tensors} == {dtype}
