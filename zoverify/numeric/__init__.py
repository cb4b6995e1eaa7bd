"""Numeric layer: torch Monte Carlo; sees laws only through ``.sample``."""

from zoverify.numeric._batching import block_generators as block_generators
from zoverify.numeric._batching import map_blocks as map_blocks

__all__ = ["block_generators", "map_blocks"]
