"""Device and dtype resolution for the boundaries (CLI, claims)."""

from __future__ import annotations

import torch

from zoverify._errors import InvalidParameterError

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(name: str | torch.device) -> torch.device:
    """Map ``"auto" | "cpu" | "cuda" | "cuda:N"`` to a device, refusing absent CUDA."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidParameterError(
                f"device {name!r} requested but CUDA is not available; use --device cpu or auto"
            )
        return torch.device(name)
    raise InvalidParameterError(f"unknown device {name!r}; accepted: auto, cpu, cuda, cuda:N")


def resolve_dtype(name: str | torch.dtype) -> torch.dtype:
    """Map ``"float64" | "float32"`` to a torch dtype."""
    if isinstance(name, torch.dtype):
        return name
    try:
        return _DTYPES[name]
    except KeyError:
        raise InvalidParameterError(f"unknown dtype {name!r}; accepted: {', '.join(_DTYPES)}") from None
