"""Workarounds for torch behaviour that is not ours to fix."""

from __future__ import annotations

import warnings
from contextlib import contextmanager


@contextmanager
def quiet_forward_ad():
    """Silence the DeprecationWarning torch 2.13 emits from inside forward-mode AD.

    Its first ``jvp`` compiles decompositions with the deprecated
    ``torch.jit.script``; the warning is about torch's internals, not the
    caller's code, and the test suite turns warnings into errors.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
        yield
