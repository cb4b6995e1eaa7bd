"""Where notebooks write figures: ZOVERIFY_FIGURE_DIR, else notebooks/figures/."""

from __future__ import annotations

import os
from pathlib import Path


def figure_dir() -> Path:
    """The output folder for PNG figures (created if missing)."""
    path = Path(os.environ.get("ZOVERIFY_FIGURE_DIR", Path(__file__).resolve().parent.parent / "notebooks" / "figures"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def quick() -> bool:
    """True in CI's quick mode (ZOVERIFY_QUICK=1): CPU-sized runs."""
    return os.environ.get("ZOVERIFY_QUICK") == "1"
