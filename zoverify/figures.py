"""Where notebooks write figures, and whether they run in CI's quick mode."""

from __future__ import annotations

import os
from pathlib import Path

#: the source checkout's figure folder, when the package runs from a checkout
_CHECKOUT_FIGURES = Path(__file__).resolve().parent.parent / "notebooks" / "figures"


def figure_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The output folder for PNG figures (created if missing).

    In order: ``path``; the ``ZOVERIFY_FIGURE_DIR`` environment variable;
    ``notebooks/figures/`` of the source checkout the package runs from; else
    ``figures/`` in the current directory (an installed package never writes
    beside itself in site-packages).
    """
    if path is None:
        path = os.environ.get("ZOVERIFY_FIGURE_DIR")
    if path is None:
        path = _CHECKOUT_FIGURES if _CHECKOUT_FIGURES.parent.is_dir() else Path.cwd() / "figures"
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def quick() -> bool:
    """True in CI's quick mode (``ZOVERIFY_QUICK=1``): CPU-sized runs."""
    return os.environ.get("ZOVERIFY_QUICK") == "1"
