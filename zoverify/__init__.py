"""zoverify: verify claims about zeroth-order (ZO) training dynamics."""

__version__ = "0.1.0"

from zoverify._errors import ZoverifyError as ZoverifyError  # noqa: E402
from zoverify.perturbations import parse_law as parse_law  # noqa: E402

__all__ = ["ZoverifyError", "__version__", "parse_law"]
