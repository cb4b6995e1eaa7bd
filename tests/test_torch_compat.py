"""zoverify.numeric._compat: torch's ``torch.jit.script`` deprecation is silenced in either category, nothing else.

torch 2.13 warns with DeprecationWarning and 2.14 with FutureWarning from inside forward-mode
AD; the suite turns warnings into errors, so each category is raised here the way torch raises it
(from ``torch.jit._script``), whatever torch is installed.
"""

from __future__ import annotations

import warnings

import pytest

from zoverify.numeric._compat import quiet_forward_ad

TORCH_MESSAGE = "`torch.jit.script` is deprecated. Please switch to `torch.compile` or `torch.export`."


def _warn(message: str, category: type[Warning], module: str) -> None:
    warnings.warn_explicit(message, category, f"{module.replace('.', '/')}.py", 1, module=module)


@pytest.mark.parametrize("category", [DeprecationWarning, FutureWarning])
def test_torch_jit_script_deprecation_is_silenced(category):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with quiet_forward_ad():
            _warn(TORCH_MESSAGE, category, "torch.jit._script")


@pytest.mark.parametrize(
    ("message", "category", "module"),
    [
        ("`torch.compile` is slow here", FutureWarning, "torch.jit._script"),  # another message from torch
        (TORCH_MESSAGE, FutureWarning, "user_model"),  # the same words from the caller's code
        (TORCH_MESSAGE, DeprecationWarning, "user_model"),
        (TORCH_MESSAGE, UserWarning, "torch.jit._script"),  # another category
    ],
)
def test_other_warnings_still_raise(message, category, module):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(category), quiet_forward_ad():
            _warn(message, category, module)
