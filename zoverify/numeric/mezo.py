"""ZO-SGD in the MeZO style, full and block-coordinate (MeZO-BCD).

Memory: no gradients, activations for backward or optimizer state are kept, and
directions are regenerated instead of stored.  The one extra buffer is the
restore copy of ``restore="exact"`` (below): r values for a BCD step on a block
of r entries, but all d values for full MeZO, which doubles parameter memory.
``restore="naive"`` keeps no copy (MeZO's inference-level memory) at the price
of a restore that is not exact.

One step perturbs the parameters in place by +eps z and -eps z, evaluates the
loss twice, restores the parameters and updates them along z with the
projected gradient (L+ - L-)/(2 eps).  Directions are never stored: every
segment's z is regenerated from (step seed, parameter index) whenever needed.

Exact restore.  MeZO's own scheme, p += eps z; p -= 2 eps z; p += eps z, rounds
three times and does not give back p in low precision (nor, in general, in
float32): fl(fl(fl(p + eps z) - 2 eps z) + eps z) != p.  Rounding p + eps z is
not invertible, so an exact restore needs the original values of what was
perturbed (storing the rounding residuals instead would cost as much: one value
per perturbed entry).  ``restore="exact"`` keeps a copy of exactly the perturbed
entries and copies it back: bitwise exact in every dtype.  Its cost is one value
per perturbed entry, held during the two loss evaluations: r of d for BCD (a
factor B less than the model), d for full MeZO (a second copy of the model, so
exact full MeZO is *not* memory-efficient; use "naive" or BCD where memory binds).  The update is computed from
that copy in float32 (or float64 for float64 parameters) and rounded once.
``restore="naive"`` is MeZO's scheme, kept to demonstrate the failure.

Blocks: the concatenated flat parameter vector is split into ``num_blocks``
contiguous blocks with :func:`zoverify.symbolic.structured.block_sizes` (the
partition of the ``block`` law); a block may span several tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator
from zoverify.numeric._batching import BatchSums, rows_or_sums
from zoverify.symbolic.structured import block_index, block_sizes


@dataclass(frozen=True)
class Segment:
    """Entries [start, stop) of the flattened parameter number ``param``."""

    param: int
    start: int
    stop: int


def partition_parameters(params: Sequence[torch.Tensor], num_blocks: int) -> list[list[Segment]]:
    """Split the concatenated flat parameters into ``num_blocks`` contiguous blocks of segments."""
    sizes = [p.numel() for p in params]
    total = sum(sizes)
    if not 1 <= int(num_blocks) <= total:
        raise InvalidParameterError(f"num_blocks must be between 1 and the parameter count {total}, got {num_blocks}")
    offsets = [0]
    for s in sizes:
        offsets.append(offsets[-1] + s)
    blocks, lo = [], 0
    for size in block_sizes(total, int(num_blocks)):
        hi, segs = lo + size, []
        for i, (a, b) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
            s, e = max(a, lo), min(b, hi)
            if s < e:
                segs.append(Segment(i, s - a, e - a))
        blocks.append(segs)
        lo = hi
    return blocks


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _direction(seed: int, seg: Segment, like: torch.Tensor) -> torch.Tensor:
    """z on one segment, regenerated from (seed, parameter, start): same call, same numbers."""
    gen = make_generator((seed * 1_000_003 + seg.param * 7919 + seg.start) % (2**62), device=like.device)
    return torch.randn(seg.stop - seg.start, generator=gen, dtype=_compute_dtype(like.dtype), device=like.device)


class ZOStep:
    """MeZO / MeZO-BCD steps on a list of parameter tensors (``module.parameters()``).

    Args:
        params: the tensors updated in place.
        num_blocks: 1 for MeZO; B for BCD (one block per step).
        scaled: multiply the block direction by sqrt(B) so that E[z z^T] = I (the scaled
            ``block`` law); False perturbs with plain N(0, I) on the block.
        restore: "exact" (copy back the perturbed entries: an extra buffer of
            :meth:`restore_buffer_numel` values, r for a BCD block, d for full MeZO)
            or "naive" (MeZO's +eps, -2eps, +eps: no buffer, not exact).
    """

    def __init__(
        self, params: Sequence[torch.Tensor], *, num_blocks: int = 1, scaled: bool = False, restore: str = "exact"
    ):
        self.params = list(params)
        if not self.params:
            raise InvalidParameterError("ZOStep needs at least one parameter tensor")
        if restore not in ("exact", "naive"):
            raise InvalidParameterError(f"restore must be 'exact' or 'naive', got {restore!r}")
        self.blocks = partition_parameters(self.params, num_blocks)
        self.num_blocks, self.restore = int(num_blocks), restore
        self.scale = math.sqrt(num_blocks) if scaled else 1.0

    def restore_buffer_numel(self, block: int = 0) -> int:
        """Entries copied by ``restore="exact"`` for a step on ``block`` (0 for "naive")."""
        if self.restore == "naive":
            return 0
        return sum(s.stop - s.start for s in self.blocks[self._check_block(block)])

    def _restore_copy(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        return [v.clone() for v in views]

    def _views(self, segs: list[Segment]) -> list[torch.Tensor]:
        return [self.params[s.param].view(-1)[s.start : s.stop] for s in segs]

    def _shift(self, segs, views, seed: int, factor: float) -> None:
        for seg, v in zip(segs, views, strict=True):
            z = _direction(seed, seg, v)
            v.copy_((v.to(z.dtype) + factor * self.scale * z).to(v.dtype))

    @torch.no_grad()
    def projected_gradient(
        self, loss_fn: Callable[[], torch.Tensor], *, eps: float, seed: int, block: int = 0
    ) -> float:
        """(L(p + eps z) - L(p - eps z)) / (2 eps); the parameters are restored afterwards."""
        segs = self.blocks[self._check_block(block)]
        views = self._views(segs)
        saved = self._restore_copy(views) if self.restore == "exact" else None
        self._shift(segs, views, seed, +eps)
        plus = float(loss_fn())
        if saved is not None:
            for v, s in zip(views, saved, strict=True):
                v.copy_(s)
        self._shift(segs, views, seed, -eps if saved is not None else -2 * eps)
        minus = float(loss_fn())
        if saved is not None:
            for v, s in zip(views, saved, strict=True):
                v.copy_(s)
        else:
            self._shift(segs, views, seed, +eps)
        return (plus - minus) / (2 * eps)

    @torch.no_grad()
    def step(self, loss_fn: Callable[[], torch.Tensor], *, lr: float, eps: float, seed: int, block: int = 0) -> float:
        """One ZO-SGD step on ``block`` with directions from ``seed``; returns the projected gradient."""
        proj = self.projected_gradient(loss_fn, eps=eps, seed=seed, block=block)
        segs = self.blocks[block]
        self._shift(segs, self._views(segs), seed, -lr * proj)
        return proj

    def _check_block(self, block: int) -> int:
        if not 0 <= int(block) < self.num_blocks:
            raise InvalidParameterError(f"block must be in 0..{self.num_blocks - 1}, got {block}")
        return int(block)


def block_schedule(num_steps: int, num_blocks: int, *, order: str, generator: torch.Generator) -> list[int]:
    """Blocks for ``num_steps`` steps: iid uniform, or a fresh random permutation every ``num_blocks`` steps."""
    if order == "uniform":
        return torch.randint(0, num_blocks, (num_steps,), generator=generator).tolist()
    if order == "cyclic":
        epochs = -(-num_steps // num_blocks)
        return torch.rand((epochs, num_blocks), generator=generator).argsort(dim=1).reshape(-1)[:num_steps].tolist()
    raise InvalidParameterError(f"order must be 'uniform' or 'cyclic', got {order!r}")


def run_zo_sgd(
    params: Sequence[torch.Tensor],
    loss_fn: Callable[[], torch.Tensor],
    *,
    num_steps: int,
    lr: float,
    eps: float,
    generator: torch.Generator,
    num_blocks: int = 1,
    order: str = "cyclic",
    scaled: bool = False,
    record_every: int = 1,
    stop_below: float | None = None,
) -> list[float]:
    """Run MeZO (``num_blocks=1``) or MeZO-BCD; returns the loss every ``record_every`` steps.

    Stops early once the recorded loss is below ``stop_below``.
    """
    stepper = ZOStep(params, num_blocks=num_blocks, scaled=scaled)
    blocks = block_schedule(num_steps, num_blocks, order=order, generator=generator)
    seeds = torch.randint(0, 2**62, (num_steps,), generator=generator).tolist()
    history = [float(loss_fn())]
    for t in range(num_steps):
        stepper.step(loss_fn, lr=lr, eps=eps, seed=seeds[t], block=blocks[t])
        if (t + 1) % record_every == 0:
            history.append(float(loss_fn()))
            if stop_below is not None and history[-1] < stop_below:
                break
    return history


def bcd_chain_second_moments(
    law,
    H,
    x0,
    *,
    eta: float,
    record: tuple[int, ...],
    num_chains: int,
    generator: torch.Generator,
    beta: float = 0.0,
    mu: float = 1e-3,
    dtype: torch.dtype = torch.float64,
    block_size: int = 1 << 14,
    batches: int | None = None,
) -> torch.Tensor | BatchSums:
    """||x_t||^2 at the steps in ``record`` of ``num_chains`` independent ZO-GD / ZO-GDM chains on a quadratic
    (``(num_chains, len(record))``, or with ``batches`` their batch sums).

    Each chain follows the block law's own schedule in time (``law.sample_blocks``: iid
    uniform, or a fresh permutation per epoch for ``order="cyclic"``), perturbs only the
    chosen block with ``law.scale`` times a draw of ``law.base``, and forms the projected
    gradient from real central differences of f = x^T H x / 2.  GDM: m' = beta m + g, x' = x - eta m'.
    The chains of a block of ``block_size`` get consecutive stretches of one schedule (each block its own
    generator), so the number of steps must be a multiple of the block count (whole epochs per chain).
    """
    steps = max(record)
    if steps % law.blocks:
        raise InvalidParameterError(f"record up to {steps} steps, not a multiple of the {law.blocks} blocks")
    if not 0 <= beta < 1:
        raise InvalidParameterError(f"beta must be in [0, 1), got {beta}")
    device = generator.device
    Ht = torch.as_tensor(H, dtype=dtype, device=device)
    d = Ht.shape[0]
    idx = torch.as_tensor(block_index(d, law.blocks), device=device)

    def f(y: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((y @ Ht) * y).sum(-1)

    def chains(n: int, gen: torch.Generator) -> torch.Tensor:
        chosen = law.sample_blocks(n * steps, generator=gen).reshape(n, steps)
        x = torch.as_tensor(x0, dtype=dtype, device=device).expand(n, d).clone()
        m = torch.zeros_like(x)
        out = []
        for t in range(steps):
            mask = (idx[None, :] == chosen[:, t : t + 1]).to(dtype)
            z = law.scale * law.base.sample(n, d, generator=gen, dtype=dtype).to(device) * mask
            proj = (f(x + mu * z) - f(x - mu * z)) / (2 * mu)
            m = beta * m + proj[:, None] * z
            x = x - eta * m
            if t + 1 in record:
                out.append((x * x).sum(-1))
        return torch.stack(out, dim=1)

    return rows_or_sums(chains, int(num_chains), generator=generator, block_size=block_size, batches=batches)


__all__ = ["Segment", "ZOStep", "bcd_chain_second_moments", "block_schedule", "partition_parameters", "run_zo_sgd"]
