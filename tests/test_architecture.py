"""The package's architecture as tests: layers, a light CLI, declarations that load.

The import-layer contracts themselves live in pyproject.toml and run in CI
(`python3 .ci/dev.py lint`); here they run too, so a broken layer fails the suite.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zoverify.claims import FAMILIES, REGISTRY, select
from zoverify.verify.registry import Family, add_family

ROOT = Path(__file__).resolve().parent.parent
SPECTRUM = "5,3,2,1.5,1,0.8,0.5,0.3,0.2,0.1"
LIGHT_COMMANDS = {  # command -> modules it must not import
    ("--help",): ("torch", "sympy", "numpy"),
    ("list",): ("torch", "sympy", "numpy"),
    ("stability", "--spectrum", SPECTRUM, "--format", "json"): ("torch",),
    ("moments", "--law", "laplace(b=0.6)"): ("torch",),
    ("nzk", "--law", "gaussian", "--dim", "3", "--format", "json"): ("torch",),
    ("jl", "--epsilon", "0.3", "--delta", "0.1", "--points", "30"): ("torch",),
    ("entk-variance", "--law", "rademacher", "--a", "1,2,3", "--b", "0.5,-1,2", "--queries", "10"): ("torch",),
}


@pytest.mark.parametrize("argv", list(LIGHT_COMMANDS), ids=lambda a: " ".join(a[:1]))
def test_light_commands_do_not_import_what_they_do_not_use(argv):
    probe = (
        "import sys, contextlib, io\n"
        "from zoverify.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        code = main({list(argv)!r})\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        f"print(code, [m for m in {list(LIGHT_COMMANDS[argv])!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split("\n")[-2] == "0 []", out.stdout + out.stderr


@pytest.mark.skipif(
    shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None, reason="import-linter is not installed"
)
def test_import_layer_contracts_are_kept():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    out = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "0 broken" in out.stdout


def test_the_nzk_pairings_listed_by_the_cli_are_the_symbolic_layers():
    from zoverify.cli._nzk import PAIRINGS
    from zoverify.symbolic.nzk import PAIRINGS as SYMBOLIC

    assert tuple(PAIRINGS) == tuple(SYMBOLIC)


def test_families_are_registered_in_their_declared_order():
    names = [e.name for family in FAMILIES for e in family.entries]
    assert list(REGISTRY)[: len(names)] == names
    assert [f.name for f in FAMILIES] == [
        "checker",
        "moments",
        "nzk",
        "entk",
        "stability",
        "structured",
        "stepsize",
        "audit",
    ]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_declared_claim_is_implemented_by_its_module(name):
    entry = REGISTRY[name]
    claim = entry.load()
    assert claim.name == name and claim.statement == entry.statement and claim.source == entry.source
    assert claim.status == entry.status and callable(claim.predict) and callable(claim.simulate)
    assert "theory.md" not in entry.source


def test_sources_cite_a_paper_or_the_repository():
    for entry in REGISTRY.values():
        cited = [part for part in ("arXiv ", "derivations/", "docs/", "zoverify/") if part in entry.source]
        assert cited, f"{entry.name}: source {entry.source!r} cites neither a paper nor a file in the repository"
        for path in entry.source.replace(";", " ").replace(",", " ").split():
            path = path.split("#")[0].rstrip(").")
            if path.startswith(("derivations/", "docs/", "zoverify/")) and "." in Path(path).name:
                assert (ROOT / path).exists(), f"{entry.name}: cites {path}, which does not exist"


def test_slow_claims_run_only_when_named_or_asked_for():
    slow = [e for e in REGISTRY.values() if e.slow]
    if not slow:
        pytest.skip("no slow claim is registered")
    assert not set(slow) & set(select())
    assert set(slow) <= set(select(include_slow=True))
    assert select([slow[0].name]) == [slow[0]]
    assert slow[0] not in select([slow[0].family])


def test_a_declaration_needs_a_status_and_a_unique_name():
    family = Family("probe", package="zoverify.claims.nzk", title="probe")
    with pytest.raises(ValueError, match="at least one status"):
        family.declare("x", module="kernels", statement="s", source="arXiv 0000.00000", status=())
    twin = Family("nzk", package="zoverify.claims.nzk", title="twin")
    twin.declare("independent_kernel", module="kernels", statement="s", source="arXiv 0000.00000", status=("READ",))
    with pytest.raises(ValueError, match="declared twice"):
        add_family(twin)


def test_a_declaration_whose_module_registers_nothing_is_reported():
    from zoverify.verify.registry import ClaimEntry

    entry = ClaimEntry("probe.missing", "s", "arXiv 0000.00000", ("READ",), module="zoverify.verify.verdict")
    with pytest.raises(RuntimeError, match="does not register claim probe.missing"):
        entry.load()


def test_figures_go_where_asked_and_never_beside_an_installed_package(tmp_path, monkeypatch):
    from zoverify import figures

    monkeypatch.delenv("ZOVERIFY_FIGURE_DIR", raising=False)
    assert figures.figure_dir(tmp_path / "a") == tmp_path / "a" and (tmp_path / "a").is_dir()
    monkeypatch.setenv("ZOVERIFY_FIGURE_DIR", str(tmp_path / "b"))
    assert figures.figure_dir() == tmp_path / "b"
    monkeypatch.delenv("ZOVERIFY_FIGURE_DIR")
    assert figures.figure_dir() == ROOT / "notebooks" / "figures"  # a source checkout
    # as installed: no notebooks/ beside the package, so the current directory
    monkeypatch.setattr(figures, "_CHECKOUT_FIGURES", tmp_path / "site-packages" / "notebooks" / "figures")
    monkeypatch.chdir(tmp_path)
    assert figures.figure_dir() == tmp_path / "figures"
    assert not (tmp_path / "site-packages").exists()
