"""Bad input to every command ends as one line on stderr and exit 2, naming what was wrong, before any work.

Each refusal is paired with its near miss where one exists (the smallest input that is accepted).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from tests._user_laws import scale_mixture_source, write_law
from zoverify.cli import main


def one_line_error(capsys, *argv) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out, err)
    assert err.count("\n") == 1 and err.startswith("zoverify: error: ") and "Traceback" not in err, err
    return err


# --- files that are not what they claim to be -------------------------------------------------------------


def test_an_empty_npy_file_is_one_line(capsys, tmp_path):
    """An empty file named .npy made numpy raise EOFError, which escaped as a traceback."""
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    err = one_line_error(
        capsys, "entk-variance", "--law", "gaussian", "--a", str(empty), "--b", "1,2", "--queries", "1"
    )
    assert f"--a: cannot read {empty} as a .npy array" in err
    err = one_line_error(capsys, "stability", "--hessian", str(empty))
    assert f"Hessian file {str(empty)!r} is not a .npy array" in err


def test_a_text_file_named_npy_is_not_an_array(capsys, tmp_path):
    fake = tmp_path / "h.npy"
    fake.write_text("1, 2\n3, 4\n")
    err = one_line_error(capsys, "stability", "--hessian", str(fake))
    assert f"Hessian file {str(fake)!r} is not a .npy array" in err
    err = one_line_error(capsys, "stability", "--hessian", str(tmp_path / "absent.npy"))
    assert "absent.npy' does not exist" in err


def test_entk_vectors_must_be_finite_and_one_dimensional(capsys, tmp_path):
    square = tmp_path / "square.npy"
    np.save(square, np.eye(2))
    err = one_line_error(
        capsys, "entk-variance", "--law", "gaussian", "--a", str(square), "--b", "1,2", "--queries", "1"
    )
    assert "--a: expected a non-empty 1-D vector, got shape (2, 2)" in err
    err = one_line_error(capsys, "entk-variance", "--law", "gaussian", "--a", "1,2", "--b", "1,inf", "--queries", "1")
    assert "--b: entries must be finite numbers" in err
    # near miss: the diagonal of that matrix; Gaussian E K_ab = a.b
    np.save(tmp_path / "row.npy", np.diag(np.eye(2)))
    assert (
        main(["entk-variance", "--law", "gaussian", "--a", str(tmp_path / "row.npy"), "--b", "1,2", "--queries", "1"])
        == 0
    )
    assert "E[K_hat_ab]   = 3\n" in capsys.readouterr().out


def test_entk_entries_whose_variance_overflows_are_one_line(capsys):
    """b = 1e308 e1 is finite, but Var K_ab = |b|^2 Var(z1^2) is not: was an OverflowError traceback."""
    err = one_line_error(capsys, "entk-variance", "--law", "gaussian", "--a", "1,0", "--b", "1e308,0", "--queries", "1")
    assert "overflow float64 at these --a, --b" in err
    # near miss b = 1e150 e1: K = 1e150 z1^2, so E K = 1e150 and Var K = 1e300 Var(chi^2_1) = 2e300
    assert (
        main(
            ["entk-variance", "--law", "gaussian", "--a", "1,0", "--b", "1e150,0", "--queries", "1", "--format", "json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["mean"] == pytest.approx(1e150, rel=1e-12) and out["variance"] == pytest.approx(2e300, rel=1e-12)


# --- values out of range ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["check", "moments.sampler", "--seed", "-1"], "--seed must be a non-negative integer, got -1"),
        (["check", "moments.sampler", "--samples", "0"], "--samples must be positive, got 0"),
        (["check", "moments.sampler", "--dtype", "float16"], "unknown dtype 'float16'; accepted: float64, float32"),
        (["check", "moments.sampler", "--param", "dim=four"], "parameter dim must be a number, got 'four'"),
        (["check", "moments.sampler", "--param", "dim=4.5"], "parameter dim must be an integer, got 4.5"),
        (["check", "moments.sampler", "--param", "dim=65"], "parameter dim=65 is above its maximum 64"),
        (["audit", "x.py:f", "--dims", "6,x"], "--dims takes comma-separated integers >= 2, got '6,x'"),
        (["audit", "x.py:f", "--seed", "-1"], "--seed must be a non-negative integer, got -1"),
        (["audit", "x.py:f", "--samples", "0"], "--samples must be positive, got 0"),
        (["stability", "--spectrum", ","], "--spectrum is empty"),
        (["stepsize", "x.py:f", "--seed", "-1"], "--seed must be a non-negative integer, got -1"),
    ],
)
def test_values_out_of_range_are_one_line(capsys, argv, fragment):
    assert fragment in one_line_error(capsys, *argv)


def test_claim_parameter_at_its_maximum_is_accepted():
    """The near miss of dim=65: 64 (and '64.0', an integer written as a float) are the maximum itself."""
    from zoverify.claims import REGISTRY

    param = REGISTRY["moments.sampler"].params["dim"]
    assert param.validate("dim", "64") == 64 and param.validate("dim", "64.0") == 64
    assert isinstance(param.validate("dim", 64.0), int)


def test_a_preconditioner_needs_adam(capsys, tmp_path):
    P = tmp_path / "p.npy"
    np.save(P, np.array([1.0, 2.0]))
    err = one_line_error(capsys, "stability", "--spectrum", "2,1", "--preconditioner", str(P))
    assert "--preconditioner is only used with --method adam" in err
    assert main(["stability", "--spectrum", "2,1", "--preconditioner", str(P), "--method", "adam"]) == 0
    capsys.readouterr()


def test_a_report_folder_that_cannot_be_made_is_refused_before_any_claim(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    err = one_line_error(capsys, "check", "moments.sampler", "--report", str(blocker / "report"))
    assert f"cannot write a report to {blocker / 'report'}" in err


def test_cuda_requested_without_cuda_is_refused(capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    err = one_line_error(capsys, "check", "moments.sampler", "--device", "cuda:0")
    assert "device 'cuda:0' requested but CUDA is not available; use --device cpu or auto" in err


# --- the user's own code or law fails -----------------------------------------------------------------------


def test_a_model_factory_that_raises_is_one_line(capsys, tmp_path):
    model = tmp_path / "model.py"
    model.write_text("def make():\n    raise ValueError('no data here')\n")
    err = one_line_error(capsys, "stepsize", f"{model}:make")
    assert f"{model}:make() raised ValueError: no data here" in err


def _law_with_fourth_moment_times(tmp_path, factor: str) -> str:
    head = "def fourth_moment(self, A, d):\n        return "
    source = scale_mixture_source()
    assert head in source
    return write_law(tmp_path, "mixture", source.replace(head, head + f"{factor} * "))


def test_nzk_middle_matrix_at_a_pole_of_the_law_is_one_line(capsys, tmp_path):
    """A user's fourth moment with the factor (d - 1) / (d - 2): sympy's zoo at d = 2 was a TypeError traceback."""
    spec = _law_with_fourth_moment_times(tmp_path, "(d - 1) / (d - 2)")
    err = one_line_error(capsys, "nzk", "--law", spec, "--dim", "2")
    assert f"M of {spec} is not finite at d = 2" in err
    # near miss d = 3: the factor is 2, so M = 2 (5/4) (d + 2) I = 12.5 I (E s^4 = 5/4, shared pairing)
    assert main(["nzk", "--law", spec, "--dim", "3", "--format", "json"]) == 0
    assert np.allclose(json.loads(capsys.readouterr().out)["matrix"], 12.5 * np.eye(3))


def test_nzk_middle_matrix_beyond_double_range_is_one_line(capsys, tmp_path):
    """A declared moment of 1e400 overflows float64: one line, and no RuntimeWarning line before it."""
    spec = _law_with_fourth_moment_times(tmp_path, "sp.Float('1e400')")
    err = one_line_error(capsys, "nzk", "--law", spec, "--dim", "2")
    assert f"M of {spec} is not finite at d = 2" in err


# --- the process: Ctrl-C, and `python -m zoverify.cli` -------------------------------------------------------


def test_ctrl_c_is_one_line_and_exit_130(capsys, monkeypatch):
    from zoverify.symbolic import entk

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(entk, "jl_required_perturbations", interrupted)
    code = main(["jl", "--epsilon", "0.5", "--delta", "0.1", "--points", "10"])
    out, err = capsys.readouterr()
    assert code == 130 and out == "" and err == "zoverify: interrupted\n"


def test_python_dash_m_runs_the_command_line():
    """``python -m zoverify.cli``: exit 0 with the JL count, exit 2 with one line."""
    command = [sys.executable, "-m", "zoverify.cli", "jl", "--epsilon", "0.5", "--delta", "0.1", "--points", "10"]
    done = subprocess.run([*command, "--format", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Achlioptas: P >= (2 ln n + ln(1/delta)) / (c eps^2), c = 1/4 - eps/6 = 1/6
    assert json.loads(done.stdout)["perturbations"] == math.ceil((2 * math.log(10) + math.log(10)) / (0.25 / 6))
    bad = subprocess.run([*command[:-1], "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1, bad.stderr
    assert "Traceback" not in bad.stderr
