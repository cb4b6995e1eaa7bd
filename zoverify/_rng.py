"""The only place where integer seeds become generators.

Library functions take an explicit ``generator``; seeds appear only at the
boundaries (claims, CLI, tests).  Independent streams come from numpy's
``SeedSequence.spawn`` so that, e.g., a claim's problem instance does not change
when its Monte Carlo sample count changes.
"""

from __future__ import annotations

import numpy as np
import torch


def spawn_seeds(seed: int, num: int) -> list[int]:
    """Return ``num`` independent 63-bit seeds derived from ``seed``."""
    children = np.random.SeedSequence(int(seed)).spawn(num)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def make_generator(seed: int, *, device: str | torch.device = "cpu") -> torch.Generator:
    """Return a ``torch.Generator`` on ``device`` seeded with ``seed``."""
    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(int(seed))
    return gen


def make_numpy_generator(seed: int) -> np.random.Generator:
    """Return a numpy ``Generator`` seeded with ``seed``."""
    return np.random.default_rng(int(seed))


def draw_seed(generator: torch.Generator) -> int:
    """Draw one 62-bit seed from ``generator`` (to seed a child stream)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
