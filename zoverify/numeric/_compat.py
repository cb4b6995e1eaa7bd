"""Workarounds for torch and scipy behaviour that is not ours to fix."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager

from scipy import optimize

#: what torch says when its forward-mode AD compiles decompositions with ``torch.jit.script``
JIT_SCRIPT_MESSAGE = r".*torch\.jit\.script.*"
#: where torch says it: only warnings raised inside torch's jit module are silenced
JIT_SCRIPT_MODULE = r"torch\.jit\."
#: torch 2.13 warns with DeprecationWarning, 2.14 with FutureWarning (shown to users by default)
JIT_SCRIPT_CATEGORIES = (DeprecationWarning, FutureWarning)


@contextmanager
def quiet_forward_ad():
    """Silence the warning torch emits from inside forward-mode AD about ``torch.jit.script``.

    Its first ``jvp`` compiles decompositions with the deprecated
    ``torch.jit.script``; the warning is about torch's internals, not the
    caller's code, and the test suite turns warnings into errors.  Only that
    message, raised from torch's jit module, in either category is ignored.
    """
    with warnings.catch_warnings():
        for category in JIT_SCRIPT_CATEGORIES:
            warnings.filterwarnings("ignore", message=JIT_SCRIPT_MESSAGE, category=category, module=JIT_SCRIPT_MODULE)
        yield


def brentq(f: Callable[[float], float], a: float, b: float, **options) -> float:
    """``scipy.optimize.brentq(f, a, b, **options)`` that does not keep ``f`` alive after it returns.

    scipy wraps ``f`` in a closure that refers to itself; that cycle, and whatever ``f`` closes over
    (an estimator's samples), lives until a full garbage collection, which with torch and sympy
    loaded is rare, so every root found over N samples kept them.  Here scipy only sees a handle
    to ``f`` that is emptied on return.
    """
    held = [f]
    try:
        root = optimize.brentq(lambda x: held[0](x), a, b, **options)
    finally:
        held.clear()
    return float(root)  # pyright: ignore[reportArgumentType]  # a float without full_output
