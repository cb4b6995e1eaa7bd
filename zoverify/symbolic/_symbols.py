"""The shared symbol table, now in :mod:`zoverify.moment_maps.symbols`; kept importable here."""

from zoverify.moment_maps.symbols import *  # noqa: F403
from zoverify.moment_maps.symbols import __all__ as __all__
