"""A Rademacher law whose draws enumerate every outcome: sample averages equal expectations exactly."""

from __future__ import annotations

import torch

from zoverify.perturbations import parse_law


class EnumeratedRademacher:
    """Every block of 2^d draws is the full outcome set: sample averages equal expectations."""

    def __init__(self, d):
        self.out, _ = parse_law("rademacher").enumerate_outcomes(d)

    def sample(self, n, dim, *, generator, dtype=torch.float64, device=None):
        reps = -(-n // self.out.shape[0])
        return self.out.repeat(reps, 1)[:n].to(dtype)
