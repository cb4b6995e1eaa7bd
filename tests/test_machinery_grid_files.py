"""Sweep grids refused before anything runs: each bad grid file or flag is one line and exit 2."""

from __future__ import annotations

import pytest

from zoverify._errors import InvalidParameterError, ZoverifyError
from zoverify.cli import main
from zoverify.sweep.grid import build_items, load_grid_file, parse_param_items

GOOD = 'claims = "stability.mean_threshold"\nseeds = "0:2"\n'


def one_line_error(capsys, argv) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("grid = 1\n", "[[grid]] must be an array of tables"),
        ("grid = []\n", "[[grid]] must be an array of tables"),
        ("grid = [1]\n", "[[grid]] must be an array of tables"),  # a list, but not of tables
        ('claims = "stability.mean_threshold"\n', "a grid needs `claims` and `seeds`"),
        ('seeds = "0:2"\n', "a grid needs `claims` and `seeds`"),
        ('claims = [1]\nseeds = "0:2"\n', "`claims` must be a string or a list of strings"),
        (GOOD + 'laws = ["gaussian", 2]\n', "`laws` must be a string or a list of strings"),
        (GOOD + "params = 3\n", "`params` must be a table"),
        (GOOD + 'samples = ["x"]\n', "`samples` must be an integer"),
        (GOOD + "samples = 1.5\n", "`samples` must be an integer"),  # not silently cut to 1
        (GOOD + 'alpha = "x"\n', "`alpha` must be a number"),
        (GOOD + "alpha = [0.05]\n", "`alpha` must be a number"),
        (GOOD + 'perturb = ["x"]\n', "`perturb` must be a number"),
        (GOOD + "perturb = true\n", "`perturb` must be a number"),
    ],
)
def test_a_bad_grid_file_is_one_line_naming_the_key(capsys, tmp_path, text, fragment):
    grid = tmp_path / "grid.toml"
    grid.write_text(text)
    with pytest.raises(ZoverifyError) as info:
        load_grid_file(grid, default_alpha=0.05)
    assert fragment in str(info.value) and str(grid) in str(info.value)
    err = one_line_error(capsys, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "out")])
    assert fragment in err
    assert not (tmp_path / "out").exists()  # refused before the output folder is made


def test_the_near_miss_of_each_bad_grid_is_accepted(tmp_path):
    """The same keys with values of the right kind: 2 sizes x 2 perturbations x 2 seeds = 8 items at alpha 0.01."""
    grid = tmp_path / "grid.toml"
    grid.write_text(GOOD + 'laws = "gaussian"\nsamples = [100, 200]\nalpha = 0.01\nperturb = [0, 0.1]\n')
    items = load_grid_file(grid, default_alpha=0.05)
    assert len(items) == 8
    assert {i.num_samples for i in items} == {100, 200} and {i.alpha for i in items} == {0.01}
    assert {i.perturb for i in items} == {0.0, 0.1} and {i.seed for i in items} == {0, 1}


def test_a_grid_file_that_cannot_be_read_names_the_file(capsys, tmp_path):
    missing = tmp_path / "no-such-grid.toml"
    with pytest.raises(ZoverifyError, match="cannot read grid file .*no-such-grid.toml"):
        load_grid_file(missing, default_alpha=0.05)
    err = one_line_error(capsys, ["sweep", "--grid", str(missing), "--out", str(tmp_path / "out")])
    assert "cannot read grid file" in err and "No such file" in err


@pytest.mark.parametrize("item", ["iterations", "=3", " =3"])
def test_param_without_a_key_and_value_is_refused(item):
    with pytest.raises(InvalidParameterError, match="--param expects KEY=VALUE"):
        parse_param_items([item])
    assert parse_param_items(["iterations=3", "iterations=4"]) == {"iterations": ["3", "4"]}  # the near miss


def test_a_grid_needs_a_claim_and_a_perturbation_above_minus_one():
    with pytest.raises(InvalidParameterError, match="name at least one claim or family"):
        build_items([], seeds=range(2), alpha=0.05)
    with pytest.raises(InvalidParameterError, match=r"--perturb must exceed -1 .* got -1"):
        build_items(["stability.mean_threshold"], seeds=range(1), alpha=0.05, perturb=[-1.0])
    # -0.99 is the near miss: the prediction scaled by 0.01, still a valid power item
    (item,) = build_items(["stability.mean_threshold"], laws=["gaussian"], seeds=range(1), alpha=0.05, perturb=[-0.99])
    assert item.perturb == -0.99


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["stability.mean_threshold"], "--seeds A:B is required"),
        (["--grid", "GRID", "--seeds", "0:2"], "apply to named claims"),
        (["--grid", "GRID", "--law", "gaussian"], "apply to named claims"),
        (["stability.mean_threshold", "--seeds", "0:2", "--workers", "0"], "--workers must be positive, got 0"),
        (
            ["stability.mean_threshold", "--seeds", "0:2", "--connect-timeout", "0"],
            "--connect-timeout must be positive",
        ),
        (["stability.mean_threshold", "--seeds", "0:2", "--param", "nokey"], "--param expects KEY=VALUE"),
    ],
)
def test_bad_sweep_flags_are_one_line(capsys, tmp_path, argv, fragment):
    grid = tmp_path / "grid.toml"
    grid.write_text(GOOD)
    argv = [str(grid) if a == "GRID" else a for a in argv]
    err = one_line_error(capsys, ["sweep", *argv, "--out", str(tmp_path / "out")])
    assert fragment in err


def test_sweep_report_without_results_says_to_sweep_first(capsys, tmp_path):
    err = one_line_error(capsys, ["sweep-report", str(tmp_path)])
    assert "no sweep results in" in err and "results.jsonl" in err and "run `zoverify sweep` first" in err
