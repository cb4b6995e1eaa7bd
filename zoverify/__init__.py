"""zoverify: verify claims about zeroth-order (ZO) training dynamics.

Sub-packages: ``perturbations`` (laws), ``symbolic`` (sympy, no torch),
``numeric`` (torch Monte Carlo), ``claims`` (prediction + experiment + test).
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING  # noqa: E402

from zoverify._errors import ZoverifyError as ZoverifyError  # noqa: E402

if TYPE_CHECKING:  # for the type checker only; at run time __getattr__ imports it on first use
    from zoverify.numeric.stepsize import stepsize
    from zoverify.perturbations import parse_law


def __getattr__(name):  # lazy, so `import zoverify.symbolic` does not pull in torch
    if name == "parse_law":
        from zoverify.perturbations import parse_law

        return parse_law
    if name == "stepsize":
        from zoverify.numeric.stepsize import stepsize

        return stepsize
    raise AttributeError(f"module 'zoverify' has no attribute {name!r}")


__all__ = ["ZoverifyError", "__version__", "parse_law", "stepsize"]
