"""The command line: tables, reports, exit codes, and one-line errors."""

from __future__ import annotations

import json

import pytest

from tests._user_laws import two_point_source, write_law
from zoverify.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_claim(capsys):
    code, out, _ = run(capsys, "list", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and any(r["name"] == "moments.sampler" for r in rows)
    assert all(r["statement"] and r["source"] for r in rows)
    params = next(r["params"] for r in rows if r["name"] == "nzk.headline_best_of")
    assert params["candidates"]["default"] == 100 and "directions" in params["candidates"]["doc"]


def test_moments_text_latex_json(capsys):
    code, out, _ = run(capsys, "moments", "--law", "laplace(b=0.6)")
    assert code == 0 and "E[z z^T A z z^T]" in out and "DiagonalMatrix(A)" in out
    code, out, _ = run(capsys, "moments", "--law", "sphere", "--format", "latex")
    assert code == 0 and r"\frac{d}{d + 2}" in out
    code, out, _ = run(capsys, "moments", "--law", "gaussian(mean=[1,0], std=1)", "--format", "json")
    payload = json.loads(out)
    # E||z||^2 z z^T for N(mu, I), mu = e1, d = 2: ((d+2) + 1) I + ((d+4) + 1) e1 e1^T
    assert payload["numeric"]["E[||z||^2 z z^T]"] == [[12.0, 0.0], [0.0, 5.0]]


def test_check_one_law_passes_and_writes_report(capsys, tmp_path):
    code, out, err = run(
        capsys,
        "check",
        "moments.sampler",
        "--law",
        "rademacher",
        "--samples",
        "16384",
        "--format",
        "json",
        "--report",
        str(tmp_path),
    )
    payload = json.loads(out)
    assert code == 0
    assert payload["results"][0]["verdict"] == "pass" and payload["results"][0]["seed"] == 0
    assert json.loads((tmp_path / "results.json").read_text())[0]["claim"] == "moments.sampler"
    assert "| moments.sampler |" in (tmp_path / "report.md").read_text()


def test_check_text_table(capsys):
    code, out, _ = run(capsys, "check", "moments", "--law", "uniform")
    assert code == 0 and "moments.sampler" in out and "pass" in out and "false-failure" in out


@pytest.mark.parametrize("moment", ["var", "m4"])
def test_law_with_a_moment_2_percent_off_fails_and_blocks_other_claims(capsys, tmp_path, moment):
    """A user's law file whose declared variance or fourth moment is 2 % too large (a near miss)."""
    spec = write_law(tmp_path, "laws", two_point_source(**{moment: 1.02}))
    code, out, _ = run(capsys, "check", "moments", "nzk.shared_iid", "--law", spec, "--format", "json")
    results = json.loads(out)["results"]
    assert code == 1
    assert results[0]["claim"] == "moments.sampler" and results[0]["verdict"] == "fail"
    assert all(r["verdict"] == "skipped" for r in results[1:])
    # the same law declared right passes
    spec = write_law(tmp_path, "good", two_point_source())
    code, out, _ = run(capsys, "check", "moments", "--law", spec, "--format", "json")
    assert code == 0 and json.loads(out)["results"][0]["verdict"] == "pass"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["check", "--law", "nosuch"], "unknown law 'nosuch'"),
        (["check", "no.such.claim"], "unknown claim"),
        (["moments", "--law", "laplace(b=-1)"], "b must be a positive number"),
        (["moments", "--law", "student_t(nu=3)"], "no finite moment of order"),
        (["moments", "--law", "nofile.py:X"], "does not exist"),
        (["check", "--device", "tpu"], "unknown device"),
        (["check", "--bogus"], "unrecognized arguments"),
        (["check", "nzk.headline_best_of", "--param", "sampler=fast"], "must be one of literal, reduced"),
        (["check", "nzk.headline_best_of", "--param", "nosuch=1"], "no selected claim has a parameter 'nosuch'"),
        (["check", "nzk.headline_best_of", "--param", "iterations"], "--param expects KEY=VALUE"),
        (["check", "nzk.headline_best_of", "--param", "iterations=3"], "below its minimum"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_check_with_claim_parameters(capsys):
    code, out, _ = run(
        capsys,
        "check",
        "nzk.headline_best_of",
        "--param",
        "iterations=70",
        "--param",
        "candidates=10",
        "--param",
        "sampler=literal",
        "--format",
        "json",
    )
    (result,) = json.loads(out)["results"]
    assert code == 0 and result["verdict"] == "pass"
    assert result["params"] == {"iterations": 70, "candidates": 10, "sampler": "literal"}


def test_moments_dim_evaluates_the_maps_in_text_output_too(capsys):
    """Laplace(b): var = 2 b^2, E z^4 = 24 b^4, so E||z||^2 z_i^2 = (d - 1) var^2 + E z^4 (by hand, b = 0.6, d = 3)."""
    b, d = 0.6, 3
    var, m4 = 2 * b**2, 24 * b**4
    assert main(["moments", "--law", "laplace(b=0.6)", "--dim", str(d)]) == 0
    out = capsys.readouterr().out
    assert f"at d = {d}:" in out
    assert f"{(d - 1) * var**2 + m4:.4f}" in out and f"{var:.2f}" in out
