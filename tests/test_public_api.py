"""Package hygiene: public names, no global RNG seeding, symbolic layer free of torch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import zoverify
import zoverify.claims
import zoverify.moment_maps
import zoverify.perturbations
import zoverify.symbolic

SRC = Path(zoverify.__file__).resolve().parent


def test_all_names_exist():
    for module in (zoverify, zoverify.claims, zoverify.moment_maps, zoverify.perturbations, zoverify.symbolic):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_library_never_seeds_global_rng():
    pattern = re.compile(r"torch\.manual_seed\(|np\.random\.seed\(|random\.seed\(|torch\.cuda\.manual_seed")
    offenders = [str(p) for p in SRC.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_symbolic_layer_does_not_import_torch():
    code = "import sys, zoverify.symbolic; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version_is_recorded():
    assert re.fullmatch(r"\d+\.\d+\.\d+", zoverify.__version__)
