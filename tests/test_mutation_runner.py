"""The mutation catalogue is well-formed against the current tree, and the runner catches a mutant end to end.

The catalogue test fails as soon as a search string no longer occurs exactly once
(the code it patches has changed), so drift is flagged by the default suite.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

import pytest

from zoverify.claims import select
from zoverify.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _load_runner():
    spec = importlib.util.spec_from_file_location("zoverify_mutation_run", ROOT / "mutation" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class body runs
    spec.loader.exec_module(module)
    return module


run = _load_runner()
MUTANTS = run.load_catalogue()


def test_catalogue_size_and_areas():
    assert len(MUTANTS) >= 30
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)
    assert {m.area for m in MUTANTS} == set(run.AREAS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_applies_to_current_tree(mutant):
    """File and test files exist, the search string occurs exactly once, the check commands parse."""
    assert run.drift(mutant) is None, run.drift(mutant)
    for argv in mutant.check_argv():
        args = build_parser().parse_args(["check", *argv])
        assert select(args.names)  # unknown claim names raise UnknownNameError


def test_drift_is_refused(tmp_path):
    """A search string that occurs twice, or not at all, is refused with the count."""
    (tmp_path / "m.py").write_text("x = 1\nx = 1\n")
    twice = run.Mutant("t", "laws", "m.py", "d", "x = 1", "x = 2", ("moments",), ())
    absent = run.Mutant("a", "laws", "m.py", "d", "y = 1", "y = 2", ("moments",), ())
    assert "occurs 2 times" in run.drift(twice, tmp_path)
    assert "occurs 0 times" in run.drift(absent, tmp_path)


def test_malformed_catalogue_is_refused(tmp_path):
    base = '[[mutant]]\nid = "a"\narea = "laws"\nfile = "f"\ndescription = "d"\nsearch = "x"\nreplace = "y"\n'
    (tmp_path / "dup.toml").write_text(
        base + 'checks = ["moments"]\ntests = []\n' + base + 'checks = ["moments"]\ntests = []\n'
    )
    (tmp_path / "area.toml").write_text(base.replace('"laws"', '"physics"') + 'checks = ["moments"]\ntests = []\n')
    (tmp_path / "missing.toml").write_text(base)
    with pytest.raises(run.CatalogueError, match="duplicate id"):
        run.load_catalogue(tmp_path / "dup.toml")
    with pytest.raises(run.CatalogueError, match="area"):
        run.load_catalogue(tmp_path / "area.toml")
    with pytest.raises(run.CatalogueError, match="missing checks, tests"):
        run.load_catalogue(tmp_path / "missing.toml")


def test_classify_check_outcomes():
    assert run.classify_check(0, "") == "survived"
    assert run.classify_check(1, "") == "fail"
    assert run.classify_check(3, "") == "inconclusive"
    assert run.classify_check(2, "zoverify: error: ...") == "error"
    assert run.classify_check(1, "Traceback (most recent call last):\n  ...") == "crash"
    assert run.classify_check(None, "") == "timeout"


def test_one_mutant_end_to_end():
    """Control: the unmutated copy passes `check moments --law rademacher`; the mutant (Rademacher m4 = 3,
    the Gaussian value) run in its own copy fails it.  The runner also verifies that the copy's zoverify,
    not the installed one, is imported; a caught mutant shows the patch reached the code that ran."""
    (mutant,) = [m for m in MUTANTS if m.id == "law-rademacher-m4"]
    messages = []
    controls = run.run_controls([mutant], sys.executable, suite=False, timeout=600, log=messages.append)
    assert [c.outcome for c in controls.values()] == ["survived"], [c.tail for c in controls.values()]
    result = run.run_mutant(
        mutant, sys.executable, suite=False, timeout=600, controls=controls, stop_early=True, log=messages.append
    )
    assert result.status == "applied", result.reason
    assert result.check == "fail", result.commands[-1].tail
    assert result.caught_by_check
    assert result.commands[0].argv[-3:] == shlex.split(mutant.checks[0])[-3:]
