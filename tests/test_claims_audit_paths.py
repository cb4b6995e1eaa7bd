"""The audit's less travelled paths: refused arguments, the report's text and files, diagnoses named from
a property's own data, and the audit claims' n/a settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import zoverify.claims.audit.optimizer as audit_optimizer
from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.audit import audit
from zoverify.audit.infer import Inferred, infer_estimator
from zoverify.audit.report import AuditReport, Finding
from zoverify.audit.run import _finding, _statistic
from zoverify.claims import check, select
from zoverify.claims.audit.common import replicate_seeds
from zoverify.perturbations import parse_law
from zoverify.subjects import EstimatorSubject, reference_optimizer, remember
from zoverify.verify.claim import Context
from zoverify.verify.result import ClaimResult

MU = 1e-2


#: a correct subject for a central declaration: the project's reference ZO-GD (Gaussian directions, mu = 1e-2)
_central_gd = reference_optimizer(parse_law("gaussian"), scheme="central", mu=MU)


# ------------------------------------------------------------------ arguments
def test_an_unknown_kind_is_refused_with_the_kinds():
    with pytest.raises(
        InvalidParameterError, match="kind must be one of estimator, optimizer, torch-update, got 'sgd'"
    ):
        audit("examples/audit/slips.py:correct", kind="sgd")


@pytest.mark.parametrize("dims", [(), (6, 1)])
def test_dims_below_two_are_refused(dims):
    with pytest.raises(InvalidParameterError, match="dims must be integers >= 2"):
        audit("examples/audit/slips.py:correct", dims=dims)


def test_replicate_seeds_are_bounded_by_the_modulus():
    ctx = Context(parse_law("gaussian"), {}, 1, 0, torch.device("cpu"), torch.float64)
    assert len(replicate_seeds(ctx, 2**31 - 2)) == 2**31 - 2  # the largest count the affine map keeps distinct
    with pytest.raises(InvalidParameterError, match=r"at most 2147483646 replicate seeds, asked for 2147483647"):
        replicate_seeds(ctx, 2**31 - 1)


# ------------------------------------------------------------------ the optimizer replay
def test_queries_off_the_declared_pattern_stop_each_replay_and_are_named():
    # central pairs x +- mu z declared forward: no query at x itself, so no step is a forward difference
    report = audit(_central_gd, kind="optimizer", scheme="forward", samples=64, dims=(2,))
    replay = next(r for r in report.results if r.claim == "audit.optimizer_replay")
    assert replay.verdict == "fail"
    assert replay.estimate[-1] == replay.params["instances"]  # every instance stopped at its first step
    finding = next(f for f in report.findings if f.prop == "audit.optimizer_replay")
    assert "steps queried f off the declared forward pattern with q = 1" in finding.diagnosis


def test_an_optimizer_stable_at_every_step_is_not_applicable(monkeypatch):
    # only "no stable step" is a finding (edge 0); any other reason the edge is missing is n/a, with it
    def stays_stable(*args, **kwargs):
        raise NotApplicableError("no stability edge found: the operator stays stable")

    monkeypatch.setattr(audit_optimizer, "jackknife_edge", stays_stable)
    result = check(
        select(["audit.optimizer_stable_step"])[0], params={"subject": remember(_central_gd), "dim": 2}, num_samples=64
    )
    assert result.verdict == "n/a"
    assert "the operator stays stable" in result.message


# ------------------------------------------------------------------ torch updates
def test_the_per_tensor_mean_needs_an_isotropic_second_moment():
    # N(0.5, 2^2) coordinates: E[zz^T] = 4 I + 0.25 11^T, not c I
    result = check(
        select(["audit.torch_update_mean"])[0],
        law="gaussian(mean=0.5, std=2)",
        params={"subject": "examples/audit/mezo_package.py:update"},
        num_samples=64,
    )
    assert result.verdict == "n/a"
    assert "E[zz^T] = c I" in result.message


def _never_queries(model, loss_fn, lr, seed):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)


def test_an_update_that_never_calls_the_loss_has_no_direction_to_judge():
    result = check(
        select(["audit.torch_update_direction"])[0],
        params={"subject": remember(_never_queries), "size": 64, "updates": 1},
    )
    assert result.verdict == "n/a"
    assert "never called loss_fn" in result.message


# ------------------------------------------------------------------ inference
def test_a_subject_mixing_schemes_is_noted_and_gets_no_scheme():
    calls = [0]
    rng = np.random.default_rng(0)

    def factory(dim, seed):
        def estimate(f, x):
            calls[0] += 1
            z = rng.standard_normal(dim)
            if calls[0] % 2:
                return (f(x + MU * z) - f(x - MU * z)) / (2 * MU) * z
            return (f(x + MU * z) - f(x)) / MU * z

        return estimate

    x, v = np.ones(4), np.ones(4)
    inf = infer_estimator(
        EstimatorSubject(factory), lambda y: float(y @ y), x, v, dim=4, calls=4, instances=16,
        seeds=list(range(16)),
    )  # fmt: skip
    assert inf.scheme is None and inf.mu is None
    assert "neither a central nor a forward pattern" in " ".join(inf.notes)


# ------------------------------------------------------------------ diagnoses and the report
def _result(claim, verdict, *, labels, estimate, params=None, prediction=None, message="", **extra):
    n = len(labels)
    return ClaimResult(
        claim=claim, law="gaussian", params=params or {"size": 64}, verdict=verdict,
        prediction=prediction if prediction is not None else [1.0] * n, estimate=estimate,
        ci_low=[0.0] * n, ci_high=[2.0] * n, p_value=None, alpha=1e-3, method="exact", seed=0, num_samples=1,
        device="cpu", dtype="float64", elapsed_s=0.0, version="0", labels=labels, message=message, **extra,
    )  # fmt: skip


_SETTING = {"scale": 1.0, "scheme": "central", "queries": 1}


def test_the_direction_finding_names_the_tensors_updated_off_the_perturbation():
    r = _result("audit.torch_update_direction", "fail", labels=["w (4, 4)", "b (4,)", "big (512,)"],
                estimate=[1.0, 0.995, 0.2])  # fmt: skip
    f = _finding(r, "m:u", _SETTING, Inferred(), 0, None)
    assert f is not None
    assert f.diagnosis.startswith("the update is not along the measured perturbation for big (512,)")
    assert "w (4, 4)" not in f.diagnosis and "b (4,)" not in f.diagnosis  # 0.995 is above the 0.99 cut


def test_the_restore_finding_names_the_tensors_left_changed():
    r = _result("audit.torch_update_restore", "fail", labels=["restored, w", "restored, b"], estimate=[0.0, 3.0])
    f = _finding(r, "m:u", _SETTING, Inferred(), 0, None)
    assert f is not None and f.diagnosis == "parameters not restored bitwise in b"


def test_a_replay_failure_without_a_named_near_miss_says_the_recursion_is_not_the_declared_one():
    r = _result("audit.optimizer_replay", "fail", labels=["step 1", "off"], estimate=[40.0, 0.0],
                params={"method": "gdm", "scheme": "central", "queries": 1}, message="step 1 off by 40 bounds")  # fmt: skip
    f = _finding(r, "m:u", _SETTING, Inferred(), 0, None)
    assert f is not None
    assert (
        f.diagnosis == "x_t is not the declared gdm recursion of the subject's own estimates (step 1 off by 40 bounds)"
    )


def test_an_inconclusive_replay_keeps_its_message():
    r = _result("audit.optimizer_replay", "inconclusive", labels=["step 1", "off"], estimate=[0.5, 0.0],
                params={"method": "gd", "scheme": "central", "queries": 1}, message="raise --samples")  # fmt: skip
    f = _finding(r, "m:u", _SETTING, Inferred(), 0, None)
    assert f is not None and f.diagnosis == "inconclusive: raise --samples"


def test_a_result_without_a_prediction_is_stated_by_its_message():
    r = _result(
        "audit.estimator_queries", "fail", labels=[], estimate=[], prediction=[], message="no two-point pattern"
    )
    assert _statistic(r) == "no two-point pattern"


def _report():
    results = [
        _result("audit.estimator_mean", "fail", labels=["E g[0]"], estimate=[2.0], params={"dim": 6}, message="1 off"),
        _result("audit.torch_update_restore", "pass", labels=["restored, w"], estimate=[0.0], prediction=[0.0]),
    ]
    finding = Finding("audit.estimator_mean", "fail", "scale 2", "E g[0]: expected 1, measured 2", "zoverify check x")
    return AuditReport(
        subject="slips.py:scale_two", kind="estimator", declared={"law": "gaussian"}, inferred={"law": "gaussian"},
        behaves_like="behaves like: gaussian, central", results=results, findings=[finding], elapsed_s=1.25,
        alpha=0.01, alpha_each=0.002,
    )  # fmt: skip


def test_the_report_text_lists_each_property_and_finding():
    lines = _report().text().splitlines()
    assert lines[:3] == [
        "audit of slips.py:scale_two (estimator)",
        "declared: law gaussian",
        "behaves like: gaussian, central",
    ]
    assert lines[3] == "  fail          audit.estimator_mean [gaussian, dim 6]  (1 off)"
    assert lines[4] == "  pass          audit.torch_update_restore [gaussian, size 64]"
    assert lines[5:8] == [
        "FAIL: audit.estimator_mean: scale 2",
        "    E g[0]: expected 1, measured 2",
        "    reproduce: zoverify check x",
    ]
    assert lines[8] == "2 properties, each at alpha 0.002 (audit alpha 0.01), in 1.2 s; exit 1"


def test_a_report_with_nothing_declared_says_so():
    report = AuditReport(subject="s", kind="optimizer", declared={}, inferred={}, behaves_like="")
    assert report.text().splitlines()[1:] == [
        "declared: nothing",
        "0 properties, each at alpha 0.05 (audit alpha 0.05), in 0.0 s; exit 0",
    ]


def test_the_report_is_written_as_json_and_markdown(tmp_path):
    report = _report()
    report.write(tmp_path / "out")
    data = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert data["exit_code"] == 1 and data["subject"] == "slips.py:scale_two"
    assert [r["claim"] for r in data["results"]] == ["audit.estimator_mean", "audit.torch_update_restore"]
    assert data["findings"][0]["diagnosis"] == "scale 2"
    assert (tmp_path / "out" / "audit.md").read_text() == "# zoverify audit\n\n```\n" + report.text() + "\n```\n"


def test_progress_names_each_property_and_setting():
    seen = []
    audit(_central_gd, kind="optimizer", samples=64, dims=(2,), progress=seen.append)
    assert seen == [
        "audit.optimizer_replay [gaussian, dim 2]",
        "audit.optimizer_mean_path [gaussian, dim 2]",
        "audit.optimizer_stable_step [gaussian, dim 2]",
    ]
