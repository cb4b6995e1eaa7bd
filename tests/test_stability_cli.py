"""``zoverify stability``: numbers, JSON keys, refusal of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zoverify.cli import main

REF = "5,3,2,1.5,1,0.8,0.5,0.3,0.2,0.1"


def run(capsys, *argv):
    code = main(["stability", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_keys_and_values(capsys):
    code, out, _ = run(capsys, "--spectrum", REF, "--format", "json")
    assert code == 0
    data = json.loads(out)
    for key in ("eta_star", "lower", "upper", "eta_mean", "eta_first_order", "radius_at_eta_star"):
        assert key in data
    assert round(data["eta_star"], 7) == 0.0950154  # docs/stability.md#reference-values
    assert data["lower"] == pytest.approx(2 / 24.4, rel=1e-14) and data["upper"] == pytest.approx(2 / 14.4, rel=1e-14)
    assert data["eta_mean"] == pytest.approx(0.4, rel=1e-12) and data["eta_first_order"] == 0.4
    assert abs(data["radius_at_eta_star"] - 1) < 1e-9


def test_hessian_file_rademacher_has_null_bounds(capsys, tmp_path):
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((10, 10)))
    H = (Q * np.array([float(x) for x in REF.split(",")])) @ Q.T
    np.save(tmp_path / "H.npy", H)
    code, out, _ = run(capsys, "--hessian", str(tmp_path / "H.npy"), "--law", "rademacher", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["lower"] is None and data["upper"] is None
    assert data["eta_star"] < 2 / 14.4 - 1e-3  # differs from the diagonal-H value 2/Tr


def test_gdm_and_adam_text(capsys, tmp_path):
    code, out, _ = run(capsys, "--spectrum", REF, "--method", "gdm", "--beta", "0.5")
    assert code == 0 and "0.0535784759" in out
    np.save(tmp_path / "P.npy", np.ones(10))
    code, out, _ = run(
        capsys,
        "--spectrum",
        REF,
        "--method",
        "adam",
        "--beta",
        "0.9",
        "--preconditioner",
        str(tmp_path / "P.npy"),
        "--format",
        "json",
    )
    assert round(json.loads(out)["eta_star"], 7) == 0.1129366


@pytest.mark.parametrize(
    "matrix,match",
    [
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "not symmetric"),
        (np.diag([1.0, -0.5]), "not positive semi-definite"),
    ],
)
def test_bad_hessian_refused(capsys, tmp_path, matrix, match):
    np.save(tmp_path / "H.npy", matrix)
    code, out, err = run(capsys, "--hessian", str(tmp_path / "H.npy"))
    assert code == 2 and out == "" and match in err and len(err.strip().splitlines()) == 1


def test_mismatched_preconditioner_refused(capsys, tmp_path):
    np.save(tmp_path / "P.npy", np.eye(3))
    code, _, err = run(capsys, "--spectrum", "1,2", "--method", "adam", "--preconditioner", str(tmp_path / "P.npy"))
    assert code == 2 and "shape (3, 3)" in err


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--spectrum", "a,b"], "comma-separated"),
        (["--spectrum", "1,2", "--queries", "0"], "positive integer"),
        (["--spectrum", "1,2", "--method", "gdm", "--beta", "1.5"], "beta"),
        (["--spectrum", "1,2", "--beta", "0.5"], "not used with --method gd"),
        (["--spectrum", "1,2", "--law", "nolaw"], "nolaw"),
    ],
)
def test_bad_options_refused(capsys, argv, match):
    code, _, err = run(capsys, *argv)
    assert code == 2 and match in err
