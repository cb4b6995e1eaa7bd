"""Replicate blocks: Monte Carlo work in fixed blocks, each with its own generator.

Results depend on (seed, block_size, device) but not on how many blocks are
processed at once, so memory can be bounded without changing the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from zoverify._errors import InvalidParameterError
from zoverify._rng import draw_seed, make_generator

DEFAULT_BLOCK = 1 << 16
#: batches of the batch-means test (:class:`zoverify.verify.decision.BatchMeans`)
DEFAULT_BATCHES = 32


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

    @staticmethod
    def columns(parts: Sequence[object]) -> BatchSums:
        """The sums of the rows ``[x_1 | x_2 | ...]``: streams of the same length and batches, side by side."""
        sums = [p for p in parts if isinstance(p, BatchSums)]
        if not sums or len(sums) != len(parts):
            raise InvalidParameterError(
                f"columns stands one or more BatchSums side by side, got {[type(p).__name__ for p in parts]}"
            )
        first = sums[0]
        for part in sums[1:]:
            if (part.num_samples, part.rows_per_batch, part.sums.shape[0]) != (
                first.num_samples,
                first.rows_per_batch,
                first.sums.shape[0],
            ):
                raise InvalidParameterError("only streams of the same length and batches can stand side by side")
        return BatchSums(
            torch.cat([p.sums for p in sums], dim=1),
            torch.cat([p.total for p in sums]),
            first.rows_per_batch,
            first.num_samples,
        )


def batch_sums(
    fn: Callable[[int, torch.Generator], torch.Tensor],
    num_samples: int,
    *,
    generator: torch.Generator,
    num_batches: int = DEFAULT_BATCHES,
    block_size: int = DEFAULT_BLOCK,
) -> BatchSums:
    """Reduce ``fn(block_len, block_generator)`` block by block into :class:`BatchSums`.

    The rows are those of :func:`map_blocks` (same blocks, same generators), but only
    ``num_batches + 1`` rows of sums are held, so memory does not grow with ``num_samples``.
    """
    acc = BatchAccumulator(num_samples, num_batches=num_batches)
    for n, gen in block_generators(num_samples, generator=generator, block_size=block_size):
        acc.add(fn(n, gen).reshape(n, -1))
    return acc.result()


class BatchAccumulator:
    """Rows that arrive in order, ``add``-ed a run at a time, reduced into the :class:`BatchSums` of
    ``num_samples`` rows: for loops that produce their rows one subject call at a time."""

    def __init__(self, num_samples: int, *, num_batches: int = DEFAULT_BATCHES) -> None:
        if num_batches < 1:
            raise InvalidParameterError(f"num_batches must be positive, got {num_batches}")
        if num_samples < 1:
            raise InvalidParameterError(f"num_samples must be positive, got {num_samples}")
        self.num_samples, self.num_batches = num_samples, num_batches
        self.rows_per_batch = max(num_samples // num_batches, 1)
        self.seen = 0
        self._sums: torch.Tensor | None = None
        self._total: torch.Tensor | None = None

    def add(self, rows) -> None:
        """Reduce the next ``(n, k)`` rows (a tensor or an array)."""
        rows = torch.as_tensor(rows).detach().to("cpu", torch.float64)
        rows = rows.reshape(rows.shape[0], -1)
        n, m, start = rows.shape[0], self.rows_per_batch, self.seen
        if start + n > self.num_samples:
            raise InvalidParameterError(f"{start + n} rows added to a stream of {self.num_samples}")
        if self._sums is None or self._total is None:
            self._sums = torch.zeros(self.num_batches, rows.shape[1], dtype=torch.float64)
            self._total = torch.zeros(rows.shape[1], dtype=torch.float64)
        # one tensor sum per run of rows inside one batch: torch sums each run pairwise, as a
        # whole-array mean would, rather than row by row
        at = start
        while at < start + n and at // m < self.num_batches:
            b = at // m
            end = min(start + n, (b + 1) * m)
            self._sums[b] += rows[at - start : end - start].sum(dim=0)
            at = end
        self._total += rows.sum(dim=0)
        self.seen += n

    def result(self) -> BatchSums:
        """The sums, once every one of the ``num_samples`` rows has been added."""
        if self._sums is None or self._total is None or self.seen != self.num_samples:
            raise InvalidParameterError(f"{self.seen} of {self.num_samples} rows were added")
        return BatchSums(self._sums, self._total, self.rows_per_batch, self.num_samples)


def rows_or_sums(
    fn: Callable[[int, torch.Generator], torch.Tensor],
    num_samples: int,
    *,
    generator: torch.Generator,
    block_size: int = DEFAULT_BLOCK,
    batches: int | None = None,
) -> torch.Tensor | BatchSums:
    """The rows of :func:`map_blocks`, or with ``batches`` their :func:`batch_sums` (same numbers, bounded memory)."""
    if batches is None:
        return map_blocks(fn, num_samples, generator=generator, block_size=block_size)
    return batch_sums(fn, num_samples, generator=generator, num_batches=batches, block_size=block_size)


@dataclass(frozen=True)
class LowerTail:
    """The ``len(lowest)`` smallest of ``num_draws`` draws per column, ascending: all a lower-bound count needs."""

    lowest: torch.Tensor  # (K, k), K <= num_draws
    num_draws: int


class LowerTailAccumulator:
    """Keeps the ``keep`` smallest values of each column of rows that arrive in blocks.

    Rows gather in a buffer of up to ``2 keep + block`` and are cut back to the ``keep`` smallest
    when it fills, so the work is linear in the rows and the memory is O(keep) whatever their number.
    """

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise InvalidParameterError(f"keep must be positive, got {keep}")
        self.keep, self.seen = int(keep), 0
        self._parts: list[torch.Tensor] = []
        self._held = 0

    def add(self, rows) -> None:
        """Take the next ``(m, k)`` rows (a tensor or an array)."""
        rows = torch.as_tensor(rows).detach().to("cpu", torch.float64)
        rows = rows.reshape(rows.shape[0], -1)
        self._parts.append(rows)
        self._held += rows.shape[0]
        self.seen += rows.shape[0]
        if self._held > 2 * self.keep:
            self._cut()

    def _cut(self) -> None:
        held = torch.cat(self._parts, dim=0)
        kept = torch.topk(held, min(self.keep, held.shape[0]), dim=0, largest=False, sorted=False).values
        self._parts, self._held = [kept], kept.shape[0]

    def result(self) -> LowerTail:
        """The kept values, sorted ascending per column."""
        if not self._parts:
            raise InvalidParameterError("no rows were added")
        self._cut()
        return LowerTail(torch.sort(self._parts[0], dim=0).values, self.seen)
