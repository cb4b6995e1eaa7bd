"""Symbolic layer: sympy derivations with the dimension d kept symbolic.

This package never imports torch.
"""

from zoverify.moment_maps import symbols as symbols
from zoverify.symbolic._evaluate import evaluate as evaluate
from zoverify.symbolic._evaluate import register_evaluator as register_evaluator

__all__ = ["evaluate", "register_evaluator", "symbols"]
