"""What the command line prints: claim listings, the table cells, the stability text when no bound applies,
and the progress shown on a terminal (forced on: the test's stderr stands in for a terminal)."""

from __future__ import annotations

import io
import json
import sys
import threading
from typing import Any

import numpy as np
import pytest
import torch

from zoverify.claims import REGISTRY, ClaimResult
from zoverify.cli import main
from zoverify.cli._report import controls_cell, worst_component
from zoverify.perturbations import parse_law
from zoverify.verify.claim import Claim
from zoverify.verify.runner import run_plan


def as_terminal(monkeypatch) -> None:
    """sys.stderr reports a terminal, as rich and the commands see it.

    Called in the test itself: capsys puts its stream in place only when the test starts."""
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)


def test_list_names_details_only_for_the_claims_asked_for(capsys):
    assert main(["list", "nzk.mean_evolution", "nzk.headline_best_of"]) == 0
    out = capsys.readouterr().out
    entry = REGISTRY["nzk.headline_best_of"]
    assert out.startswith(
        "nzk.mean_evolution  [READ-2nd + DERIVED+CHECKED (the form is second hand)]\n"
        f"    {REGISTRY['nzk.mean_evolution'].statement}\n"
    )
    assert f"nzk.headline_best_of  [CODE + DERIVED (the notebook's output)]\n    {entry.statement}\n" in out
    assert f"    default laws: {', '.join(entry.laws)}\n" in out
    for key in ("iterations", "candidates", "sampler"):  # each settable with check --param KEY=VALUE
        assert f"    --param {key}={entry.params[key].default}: {entry.params[key].doc}\n" in out
    # without names: every claim, one entry each, no details
    assert main(["list"]) == 0
    everything = capsys.readouterr().out
    assert "default laws:" not in everything and "--param" not in everything
    assert sum(line.startswith("    source: ") for line in everything.splitlines()) == len(REGISTRY)


def _result(**fields: Any) -> ClaimResult:
    base: dict[str, Any] = dict(
        claim="c", law="gaussian", params={}, verdict="pass", prediction=[1.0], estimate=[1.0], ci_low=[0.9],
        ci_high=[1.1], p_value=0.5, alpha=1e-4, method="", seed=0, num_samples=10, device="cpu",
        dtype="float64", elapsed_s=0.0, version="0", labels=["m"],
    )  # fmt: skip
    return ClaimResult(**(base | fields))


def test_controls_cell_counts_or_says_why_not():
    assert controls_cell(_result(negative_control_rejected=None)) == ""  # no control was judged
    # a result stored before controls were counted: only whether all were rejected is known
    assert controls_cell(_result(negative_control_rejected=True, num_controls=0)) == "rejected"
    assert controls_cell(_result(negative_control_rejected=False, num_controls=0)) == "NOT rejected"
    counted = _result(negative_control_rejected=False, num_controls=4, controls_not_rejected=["m +5%"])
    assert controls_cell(counted) == "3/4 rejected"


def test_an_inconclusive_message_shows_its_brackets_in_the_table():
    """The message is shown as written: '[gaussian]' is not taken for rich markup and dropped."""
    from rich.console import Console

    r = _result(verdict="inconclusive", message="1/2 controls of x [gaussian] not rejected")
    assert worst_component(r) == r.message
    console = Console(file=io.StringIO(), record=True, width=200)
    console.print(worst_component(r, markup=True))
    assert console.export_text() == r.message + "\n"


def test_rademacher_entk_entry_has_variance_zero_not_a_rounding_residue(capsys):
    """z_i^2 = 1 for Rademacher directions, so with d = 1 K_ab = a b z^2 = a b exactly: Var 0.

    Evaluated in float64, the variance formula leaves -2.2e-16 at a = 0.7, b = 1.7."""
    argv = ["entk-variance", "--law", "rademacher", "--a", "0.7", "--b", "1.7", "--queries", "1"]
    assert main([*argv, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mean"] == pytest.approx(0.7 * 1.7, rel=1e-15)
    assert out["variance"] == 0.0 and out["std"] == 0.0
    assert main(argv) == 0
    assert "Var[K_hat_ab] = 0  (std 0)" in capsys.readouterr().out


def test_stability_with_a_preconditioner_that_does_not_commute_has_no_bounds(capsys, tmp_path):
    """Theorem 3's bounds assume P H = H P; P = [[2, 1], [1, 1]] and H = diag(2, 1) do not commute."""
    P = tmp_path / "p.npy"
    np.save(P, np.array([[2.0, 1.0], [1.0, 1.0]]))
    argv = ["stability", "--spectrum", "2,1", "--method", "adam", "--preconditioner", str(P)]
    assert main([*argv, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    note = "P and H do not commute (Theorem 3 assumes P H = H P)"
    assert out["lower"] is None and out["upper"] is None and out["bounds_note"] == note
    assert out["eta_star"] > 0
    assert main(argv) == 0
    assert f"  bounds               none apply: {note}\n" in capsys.readouterr().out
    # near miss: the diagonal P = diag(2, 1) commutes with H, and the bounds bracket eta*
    np.save(P, np.array([2.0, 1.0]))
    assert main([*argv, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bounds_note"] is None and out["lower"] <= out["eta_star"] <= out["upper"]


def _claim(name: str, truth: float, *, boom: bool = False) -> Claim:
    """One Gaussian component with known variance 1, predicted 1; the data have mean ``truth``."""

    def simulate(ctx):
        if boom:
            raise RuntimeError("the experiment broke")
        gen = torch.Generator().manual_seed(ctx.seed)
        return (truth + torch.randn(ctx.num_samples, 1, generator=gen, dtype=torch.float64)).numpy()

    return Claim.synthetic([1.0], simulate, variance=[1.0], name=name, num_samples=1024, negative_delta=0.5)


def _running_bars() -> list[threading.Thread]:
    from rich.live import _RefreshThread

    # a stopped bar sets its thread's `done` (the thread itself ends on its next wake-up)
    return [t for t in threading.enumerate() if isinstance(t, _RefreshThread) and not t.done.is_set()]


def test_check_progress_on_a_terminal_names_each_claim_and_law(capsys, monkeypatch):
    """At n = 1024 a shift of 1 is 32 standard errors: truth 1 passes, truth 2 fails (and is not .passed)."""
    as_terminal(monkeypatch)
    gaussian = parse_law("gaussian")
    plan = [(_claim("mine.holds", 1.0), gaussian), (_claim("mine.off", 2.0), gaussian)]
    results = run_plan(plan, progress=True)
    assert [r.verdict for r in results] == ["pass", "fail"]
    assert [r.passed for r in results] == [True, False]
    err = capsys.readouterr().err
    # the last frame: the last claim with its law in brackets (shown, not read as rich markup), 2 of 2 done
    assert "mine.off [gaussian]" in err and "2/2" in err
    assert _running_bars() == []


def test_check_progress_bar_stops_when_a_claim_raises(capsys, monkeypatch):
    as_terminal(monkeypatch)
    gaussian = parse_law("gaussian")
    plan = [(_claim("mine.holds", 1.0), gaussian), (_claim("mine.broken", 1.0, boom=True), gaussian)]
    with pytest.raises(RuntimeError, match="the experiment broke"):
        run_plan(plan, progress=True)
    assert _running_bars() == []  # no bar left redrawing over the traceback
    assert "mine.broken [gaussian]" in capsys.readouterr().err


def test_audit_on_a_terminal_clears_its_progress_line_and_writes_the_report(capsys, monkeypatch, tmp_path):
    """600 samples are too few to reject the audit's near misses: inconclusive, exit 3."""
    as_terminal(monkeypatch)
    argv = ["audit", "examples/audit/slips.py:correct", "--law", "gaussian", "--samples", "600"]
    code = main([*argv, "--format", "json", "--report", str(tmp_path)])
    out, err = capsys.readouterr()
    payload = json.loads(out)
    assert code == 3 == payload["exit_code"]
    assert json.loads((tmp_path / "audit.json").read_text()) == payload
    assert (tmp_path / "audit.md").read_text().startswith("# zoverify audit\n")
    # each progress text overwrites the line; the last write clears it
    assert err.startswith("\r\033[K  ") and err.endswith("\r\033[K") and err.count("\n") == 0
