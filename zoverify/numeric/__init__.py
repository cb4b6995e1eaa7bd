"""Numeric layer: torch Monte Carlo and exact numerics; sees laws only through ``.sample``.

Nothing is imported eagerly: the exact (numpy) engines must not pay for torch.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the type checker only; at run time __getattr__ imports them on first use
    from zoverify.numeric._batching import batch_sums, block_generators, map_blocks


def __getattr__(name: str):
    if name in ("batch_sums", "block_generators", "map_blocks"):
        from zoverify.numeric import _batching

        return getattr(_batching, name)
    raise AttributeError(f"module 'zoverify.numeric' has no attribute {name!r}")


__all__ = ["batch_sums", "block_generators", "map_blocks"]
