"""Replicate blocks: Monte Carlo work in fixed blocks, each with its own generator.

Results depend on (seed, block_size, device) but not on how many blocks are
processed at once, so memory can be bounded without changing the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from zoverify._errors import InvalidParameterError
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


@dataclass(frozen=True)
class BatchSums:
    """Row sums of an ``(n, k)`` stream of replicates, per batch and in total (float64).

    Batch ``b`` is rows ``[b m, (b + 1) m)`` with ``m = n // B``, the batch-means layout
    (the ``n - B m`` rows after the last batch enter only ``total``).
    """

    sums: torch.Tensor  # (B, k)
    total: torch.Tensor  # (k,), over all n rows
    rows_per_batch: int
    num_samples: int

    def batch_means(self) -> torch.Tensor:
        """The ``(B, k)`` batch means."""
        return self.sums / self.rows_per_batch

    def mean(self) -> torch.Tensor:
        """The ``(k,)`` mean over all rows."""
        return self.total / self.num_samples


def batch_sums(
    fn: Callable[[int, torch.Generator], torch.Tensor],
    num_samples: int,
    *,
    generator: torch.Generator,
    num_batches: int,
    block_size: int = DEFAULT_BLOCK,
) -> BatchSums:
    """Reduce ``fn(block_len, block_generator)`` block by block into :class:`BatchSums`.

    The rows are those of :func:`map_blocks` (same blocks, same generators), but only
    ``num_batches + 1`` rows of sums are held, so memory does not grow with ``num_samples``.
    """
    if num_batches < 1:
        raise InvalidParameterError(f"num_batches must be positive, got {num_batches}")
    m = max(num_samples // num_batches, 1)
    sums = total = None
    start = 0
    for n, gen in block_generators(num_samples, generator=generator, block_size=block_size):
        rows = fn(n, gen).detach().to("cpu", torch.float64).reshape(n, -1)
        if sums is None or total is None:
            sums = torch.zeros(num_batches, rows.shape[1], dtype=torch.float64)
            total = torch.zeros(rows.shape[1], dtype=torch.float64)
        # one tensor sum per run of rows inside one batch: torch sums each run pairwise, as a
        # whole-array mean would, rather than row by row
        at = start
        while at < start + n and at // m < num_batches:
            b = at // m
            end = min(start + n, (b + 1) * m)
            sums[b] += rows[at - start : end - start].sum(dim=0)
            at = end
        total += rows.sum(dim=0)
        start += n
    if sums is None or total is None:
        raise InvalidParameterError(f"num_samples must be positive, got {num_samples}")
    return BatchSums(sums, total, m, num_samples)
