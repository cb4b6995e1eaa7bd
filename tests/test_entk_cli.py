"""`zoverify entk-variance` and `zoverify jl`: values, JSON keys, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zoverify.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_entk_variance_json_gaussian_matches_closed_form(capsys):
    a, b, P = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0]), 10
    code, out, _ = _run(
        capsys,
        "entk-variance",
        "--law",
        "gaussian",
        "--a",
        "1,2,3",
        "--b",
        "0.5,-1,2",
        "--queries",
        str(P),
        "--format",
        "json",
    )
    assert code == 0
    payload = json.loads(out)
    assert {"mean", "variance"} <= payload.keys()
    # Isserlis by hand: Var = (|a|^2 |b|^2 + (a.b)^2) / P; float64, a handful of roundings
    want = ((a @ a) * (b @ b) + (a @ b) ** 2) / P
    assert payload["mean"] == pytest.approx(a @ b, rel=1e-14)
    assert payload["variance"] == pytest.approx(want, rel=1e-13)


def test_entk_variance_coordinate_by_enumeration(capsys, tmp_path):
    a, b = np.array([1.0, 2.0, -1.0]), np.array([3.0, 0.5, 1.0])
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    code, out, _ = _run(
        capsys,
        "entk-variance",
        "--law",
        "coordinate",
        "--a",
        str(tmp_path / "a.npy"),
        "--b",
        str(tmp_path / "b.npy"),
        "--queries",
        "4",
        "--format",
        "json",
    )
    assert code == 0
    values = 3 * a * b  # z = sqrt(3) e_I: (a.z)(b.z) = 3 a_I b_I, I uniform
    payload = json.loads(out)
    assert payload["mean"] == pytest.approx(values.mean(), rel=1e-14)
    assert payload["variance"] == pytest.approx(values.var() / 4, rel=1e-13)


def test_entk_variance_text_output(capsys):
    code, out, _ = _run(capsys, "entk-variance", "--law", "rademacher", "--a", "1,2", "--b", "3,4", "--queries", "2")
    assert code == 0 and "Var" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["entk-variance", "--law", "gaussian", "--a", "1,2", "--b", "1,2,3", "--queries", "3"],
        ["entk-variance", "--law", "gaussian", "--a", "1,x", "--b", "1,2", "--queries", "3"],
        ["entk-variance", "--law", "gaussian", "--a", "1,2", "--b", "1,2", "--queries", "0"],
        ["entk-variance", "--law", "nosuchlaw", "--a", "1,2", "--b", "1,2", "--queries", "3"],
        ["entk-variance", "--law", "student_t(nu=3)", "--a", "1,2", "--b", "1,2", "--queries", "3"],
        ["entk-variance", "--law", "gaussian", "--a", "missing.npy", "--b", "1,2", "--queries", "3"],
        ["jl", "--epsilon", "2", "--delta", "0.1", "--points", "5"],
        ["jl", "--epsilon", "0.3", "--delta", "1.5", "--points", "5"],
        ["jl", "--epsilon", "0.3", "--delta", "0.1", "--points", "5", "--law", "sphere"],
        ["jl", "--epsilon", "0.3", "--delta", "0.1", "--points", "5", "--law", "uniform"],
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("zoverify: error:")


def test_jl_refusal_names_the_established_laws(capsys):
    _, _, err = _run(capsys, "jl", "--epsilon", "0.3", "--delta", "0.1", "--points", "5", "--law", "sphere")
    assert "gaussian" in err and "rademacher" in err and "not proven" in err


@pytest.mark.parametrize("law", ["gaussian", "rademacher"])
def test_jl_json_worked_example(capsys, law):
    code, out, _ = _run(
        capsys, "jl", "--epsilon", "0.3", "--delta", "0.1", "--points", "20", "--law", law, "--format", "json"
    )
    assert code == 0
    assert json.loads(out)["perturbations"] == 461  # docs/entk.md#the-jl-bound: V = 10, n = 2V


def test_jl_text(capsys):
    code, out, _ = _run(capsys, "jl", "--epsilon", "0.5", "--delta", "0.05", "--points", "9")
    assert code == 0 and "perturbations" in out
