"""The symbolic base below both the perturbation laws and the symbolic derivations.

It holds the shared sympy symbols (:mod:`zoverify.moment_maps.symbols`) and the
moment-map interface :class:`MomentMap` (E[z], E[z z^T], E[(v^T z) z z^T],
E[z z^T A z z^T] as sympy matrix expressions).  It imports sympy only: never
torch, never the laws' samplers, never the derivations.
"""

from zoverify.moment_maps import symbols as symbols
from zoverify.moment_maps._interface import MomentMap as MomentMap
from zoverify.moment_maps._interface import format_spec as format_spec

__all__ = ["MomentMap", "format_spec", "symbols"]
