"""The audit: correct subjects pass, planted slips are caught and named, broken subjects get one line and exit 2."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from zoverify.audit import audit

SLIPS = "examples/audit/slips.py"
BAD = "examples/audit/bad_subjects.py"


def _fails(report, claim):
    return any(r.claim == claim and r.verdict == "fail" for r in report.results)


def test_correct_estimator_passes_and_is_inferred():
    report = audit(f"{SLIPS}:correct", law="gaussian")
    assert report.exit_code == 0, report.text()
    inf = report.inferred
    assert (inf["law"], inf["scheme"], inf["queries"]) == ("gaussian", "central", 1)
    assert inf["scale_interval"][0] <= 1.0 <= inf["scale_interval"][1]
    # 256 x 32 calls: mu^2 is the mean of ||u||^2 / d, whose relative SE for Gaussian directions is
    # sqrt(2 / (d n)); mu's is half that, 0.0032 at d = 6, so 1.6 % is 5 SE (false failure < 1e-6)
    assert abs(inf["mu"] / 1e-2 - 1) < 0.016


@pytest.mark.parametrize(
    ("slip", "claim", "named", "samples"),
    [  # gross slips are judged at 1/8 of the default samples (the suite's time); the others at the default
        ("scale_two", "audit.estimator_mean", "scale 2", 1 << 14),
        ("sign_flip", "audit.estimator_mean", "sign flip", 1 << 14),
        ("sphere_without_d", "audit.estimator_mean", "scale 1/d", 1 << 14),
        ("rank_one", "audit.estimator_second_moment", "rank-one", 1 << 14),
        ("reused_pool", "audit.estimator_conditional_mean", "reused directions", 1 << 16),
        ("ignores_seed", "audit.estimator_reproducible", "two seeds give the same", 1 << 14),
    ],
)
def test_slips_are_caught_and_named(slip, claim, named, samples):
    law = None if slip == "sphere_without_d" else "gaussian"
    report = audit(f"{SLIPS}:{slip}", law=law, samples=samples)
    assert _fails(report, claim), report.text()
    assert any(named in f.diagnosis for f in report.findings if f.prop == claim), report.text()
    assert all(f.reproduce.startswith(("zoverify check", "zoverify audit")) for f in report.findings if f.reproduce)


def test_diverging_streams_at_one_tensor_size_are_caught():
    from zoverify.claims import check, select

    subject = f"{SLIPS}:row_wise_update"
    direction = check(select(["audit.torch_update_direction"])[0], params={"subject": subject, "mu": 1e-3})
    assert direction.verdict == "fail"
    assert direction.estimate[:3] == pytest.approx([1, 1, 1], abs=1e-4)  # the tensors drawn before the large one
    assert direction.estimate[-1] < 0.01  # the 131,186-entry tensor, updated row by row


@pytest.mark.slow  # each property already passes on the reference in test_claims_conformance.py
def test_reference_torch_update_passes():
    from zoverify.perturbations import parse_law
    from zoverify.subjects import reference_torch_update

    report = audit(reference_torch_update(parse_law("gaussian"), mu=1e-3), kind="torch-update", mu=1e-3)
    assert report.exit_code == 0, report.text()


def test_near_miss_scale_is_caught():
    report = audit(f"{SLIPS}:scale_107", law="gaussian")
    assert _fails(report, "audit.estimator_mean") or _fails(report, "audit.estimator_second_moment"), report.text()


def test_forward_declared_central_is_named():
    report = audit(f"{SLIPS}:forward_difference", law="gaussian", scheme="central", samples=1 << 14)
    assert (report.inferred["scheme"], report.inferred["queries"]) == ("forward", 1)
    assert any(f.prop == "scheme" and "forward difference declared central" in f.diagnosis for f in report.findings)
    assert _fails(report, "audit.estimator_queries"), report.text()


def test_rademacher_declared_gaussian_is_named():
    from zoverify.perturbations import parse_law
    from zoverify.subjects import reference_estimator

    report = audit(reference_estimator(parse_law("rademacher")), law="gaussian", samples=1 << 14)
    assert {r.law for r in report.results} == {"gaussian"}  # the declared law is what is judged
    assert any(f.prop == "law" and "rademacher" in f.diagnosis for f in report.findings), report.text()


@pytest.mark.slow  # the reference properties run in test_claims_conformance.py, the slip in test_audit_optimizer.py
def test_reference_optimizers_pass_and_ema_momentum_fails():
    assert audit(f"{SLIPS}:ema_momentum", kind="optimizer", law="gaussian", method="gdm").exit_code == 1
    from zoverify.perturbations import parse_law
    from zoverify.subjects import reference_optimizer

    good = reference_optimizer(parse_law("gaussian"), method="gdm", beta=0.9)
    assert audit(good, kind="optimizer", law="gaussian", method="gdm").exit_code == 0


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("no_arguments", "raised TypeError"),
        ("wrong_shape", "shape (7,); expected (6,)"),
        ("wrong_dtype", "dtype float32"),
        ("not_finite", "NaN"),
        ("raises", "raised ValueError: boom"),
        ("gradient", "gradient"),
        ("nothing_here", "has no attribute"),
        ("one_inf", "NaN or inf"),
        ("returns_number", "returned float; expected a callable"),
        ("NOT_CALLABLE", "not a callable"),
    ],
)
def test_bad_subjects_exit_2_with_one_line(name, words):
    proc = subprocess.run(
        [sys.executable, "-m", "zoverify.cli", "audit", f"{BAD}:{name}", "--law", "gaussian"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_budget_is_enforced():
    from zoverify.claims import check, select

    with pytest.raises(Exception, match="over the budget"):
        check(select(["audit.estimator_mean"])[0], law="gaussian", params={"subject": f"{BAD}:slow", "budget": 0.01})


@pytest.mark.skipif(importlib.util.find_spec("mezo") is None, reason="the registry's mezo package is not installed")
def test_mezo_package_findings():
    from zoverify.claims import check, select

    params = {"subject": "examples/audit/mezo_package.py:update", "mu": 1e-3}
    direction = check(select(["audit.torch_update_direction"])[0], params=params)
    assert direction.verdict == "fail"
    assert direction.estimate[:3] == pytest.approx([1, 1, 1], abs=1e-4)  # tensors below 100,000 entries are right
    assert direction.estimate[3] < 0.01  # the row-by-row path regenerates another direction
    restore = check(select(["audit.torch_update_restore"])[0], params=params)
    assert restore.verdict == "fail"
    assert restore.estimate[0] == 4  # float32 too: every tensor is off by rounding, which only bitwise sees


def test_a_torch_update_that_differentiates_is_refused():
    proc = subprocess.run(
        [sys.executable, "-m", "zoverify.cli", "audit", f"{BAD}:backward_update", "--kind", "torch-update"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no gradients" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_queries_are_recorded_as_made_even_through_one_buffer():
    report = audit(f"{SLIPS}:in_place", law="gaussian", samples=1 << 14)
    assert (report.inferred["scheme"], report.inferred["queries"]) == ("central", 1), report.text()
    assert abs(report.inferred["mu"] / 1e-2 - 1) < 0.016  # 5 SE, as in test_correct_estimator_passes_and_is_inferred


def test_too_few_samples_is_inconclusive_not_a_pass_and_exits_3():
    proc = subprocess.run(
        [sys.executable, "-m", "zoverify.cli", "audit", f"{SLIPS}:correct", "--law", "gaussian", "--samples", "600"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "inconclusive" in proc.stdout and "raise --samples" in proc.stdout


def test_exit_code_precedence():
    from zoverify.audit import AuditReport
    from zoverify.verify.result import ClaimResult

    def result(verdict):
        return ClaimResult(
            claim="c", law="gaussian", params={}, verdict=verdict, prediction=[], estimate=[], ci_low=[],
            ci_high=[], p_value=None, alpha=1e-4, method="", seed=0, num_samples=1, device="cpu",
            dtype="float64", elapsed_s=0.0, version="0", labels=[],
        )  # fmt: skip

    def code(*verdicts):
        return AuditReport("s", "estimator", {}, {}, "", results=[result(v) for v in verdicts]).exit_code

    assert code("pass", "pass") == 0
    assert code("pass", "inconclusive") == 3
    assert code("inconclusive", "fail") == 1
    assert code("fail", "inconclusive", "pass") == 1

    def passed(*verdicts):
        return AuditReport("s", "estimator", {}, {}, "", results=[result(v) for v in verdicts]).passed

    assert passed("pass", "pass") and not passed("pass", "inconclusive") and not passed("fail")


def test_scale_is_judged_against_the_declared_one():
    """A correct estimator declared at scale 1/2 is twice what is declared: named as scale 2."""
    report = audit(f"{SLIPS}:correct", law="gaussian", scale=0.5, samples=1 << 14)
    assert any("scale 2" in f.diagnosis for f in report.findings if f.prop == "audit.estimator_mean"), report.text()


def test_command_line_defaults_are_the_api_defaults():
    import inspect

    from zoverify.cli import build_parser

    args = build_parser().parse_args(["audit", "x.py:f"])
    api = inspect.signature(audit).parameters
    for name in (
        "kind",
        "law",
        "scheme",
        "mu",
        "queries",
        "scale",
        "method",
        "beta",
        "lr",
        "size",
        "samples",
        "seed",
        "alpha",
    ):
        assert getattr(args, name) == api[name].default, name
    assert tuple(int(d) for d in args.dims.split(",")) == api["dims"].default


def test_law_and_radius_are_inferred_when_not_declared():
    report = audit(f"{SLIPS}:correct", samples=1 << 14)
    assert report.inferred["law"] == "gaussian", report.text()
    assert abs(report.inferred["mu"] / 1e-2 - 1) < 0.016  # 5 SE, as in test_correct_estimator_passes_and_is_inferred


def test_a_tensor_left_unchanged_is_not_aligned():
    from zoverify.claims import check, select

    direction = check(select(["audit.torch_update_direction"])[0], params={"subject": f"{SLIPS}:skips_large_tensors"})
    assert direction.verdict == "fail" and direction.estimate[-1] == 0.0
    assert direction.estimate[:3] == pytest.approx([1, 1, 1], abs=1e-4)


def test_near_misses_are_the_stated_sizes():
    """The controls are what the statements say: a 5 % scale for the mean, 10 % for the second moment."""
    import numpy as np

    from zoverify.claims import select

    for name, delta in (("audit.estimator_mean", 0.05), ("audit.estimator_second_moment", 0.1)):
        claim = select([name])[0].load()
        pred = np.array([1.0, 2.0])
        alts = dict(claim.negative_alternatives(None, pred))
        assert set(alts) == {f"{'scale' if delta == 0.05 else 'second moment'} x{1 + s * delta:.3g}" for s in (1, -1)}
        for alt in alts.values():
            assert np.allclose(np.abs(alt / pred - 1), delta)
