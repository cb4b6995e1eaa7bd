"""Run every derivation (derivations/*.py) and notebook (notebooks/*.py) as CI does.

Derivations assert their results against the library; notebooks run in quick
mode (ZOVERIFY_QUICK=1) and write figures to a temporary directory.  Each file
must also parse as a jupytext py:percent notebook.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DERIVATIONS = sorted((ROOT / "derivations").glob("*.py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


def _run(path: Path, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOVERIFY_QUICK", "1")
    monkeypatch.setenv("ZOVERIFY_FIGURE_DIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize("path", DERIVATIONS, ids=[p.stem for p in DERIVATIONS])
def test_derivation_runs(path, tmp_path, monkeypatch):
    _run(path, tmp_path, monkeypatch)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_quick(path, tmp_path, monkeypatch):
    _run(path, tmp_path, monkeypatch)
    assert any(tmp_path.glob("*.png")), f"{path.name} wrote no PNG figure"


@pytest.mark.parametrize("path", DERIVATIONS + NOTEBOOKS, ids=[p.stem for p in DERIVATIONS + NOTEBOOKS])
def test_is_jupytext_percent(path):
    jupytext = pytest.importorskip("jupytext")
    nb = jupytext.read(path, fmt="py:percent")
    assert any(c.cell_type == "markdown" for c in nb.cells), "a notebook states its result in markdown"
    assert sum(c.cell_type == "code" for c in nb.cells) >= 2
