"""Replicate blocks: Monte Carlo work in fixed blocks, each with its own generator.

Results depend on (seed, block_size, device) but not on how many blocks are
processed at once, so memory can be bounded without changing the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from zoverify._rng import draw_seed, make_generator

DEFAULT_BLOCK = 1 << 16


def block_generators(
    num_samples: int, *, generator: torch.Generator, block_size: int = DEFAULT_BLOCK
) -> Iterator[tuple[int, torch.Generator]]:
    """Yield ``(block_len, block_generator)`` covering ``num_samples`` replicates."""
    done = 0
    while done < num_samples:
        size = min(block_size, num_samples - done)
        yield size, make_generator(draw_seed(generator), device=generator.device)
        done += size


def map_blocks(
    fn: Callable[[int, torch.Generator], torch.Tensor],
    num_samples: int,
    *,
    generator: torch.Generator,
    block_size: int = DEFAULT_BLOCK,
) -> torch.Tensor:
    """Concatenate ``fn(block_len, block_generator)`` over replicate blocks."""
    parts = [fn(n, g) for n, g in block_generators(num_samples, generator=generator, block_size=block_size)]
    return torch.cat(parts, dim=0)
