"""Numeric layer: torch Monte Carlo and exact numerics; sees laws only through ``.sample``.

Nothing is imported eagerly: the exact (numpy) engines must not pay for torch.
"""


def __getattr__(name: str):
    if name in ("block_generators", "map_blocks"):
        from zoverify.numeric import _batching

        return getattr(_batching, name)
    raise AttributeError(f"module 'zoverify.numeric' has no attribute {name!r}")


__all__ = ["block_generators", "map_blocks"]
