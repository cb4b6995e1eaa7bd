"""A real network of a million parameters for the stepsize claims: a convolutional net on the digits.

Conv(1->32, 3x3) - tanh - Conv(32->64, 3x3) - tanh - Linear(4096->256) - tanh - Linear(256->10), padding 1,
so 1,070,218 parameters, float32, on 512 digit images (8 x 8, all ten classes, pixels standardized
over the set).  Weights N(0, 1/fan_in) from the instance generator, biases 0; then a few full-batch
Adam steps (lr 1e-3) put theta_0 where a user would start ZO fine-tuning: the loss still falling,
the Hessian indefinite (a bulk of eigenvalues on both sides of 0, as in any deep network).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from zoverify.numeric.data import load_digits_images

IMAGES = 512
PRETRAIN_STEPS = 8
PRETRAIN_LR = 1e-3


def digits_cnn(rng: np.random.Generator, *, channels: tuple[int, int] = (32, 64), hidden: int = 256) -> torch.nn.Module:
    """The network, initialised from ``rng`` (no global seeding); smaller ``channels``/``hidden`` for quick runs."""
    c1, c2 = channels
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, c1, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Conv2d(c1, c2, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        torch.nn.Linear(c2 * 8 * 8, hidden),
        torch.nn.Tanh(),
        torch.nn.Linear(hidden, 10),
    )
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim > 1:
                fan_in = p[0].numel()
                p.copy_(torch.as_tensor(rng.standard_normal(tuple(p.shape)) / math.sqrt(fan_in), dtype=p.dtype))
            else:
                p.zero_()
    return model


def pretrained_digits_cnn(rng: np.random.Generator, *, steps: int = PRETRAIN_STEPS, **size):
    """(model, loss_fn, (X, y)): the network after ``steps`` full-batch Adam steps; loss_fn(model) the full batch.

    ``size``: ``channels`` and ``hidden`` of :func:`digits_cnn`."""
    X, y = load_digits_images(dtype=torch.float32)
    X, y = X[:IMAGES], y[:IMAGES]
    X = (X - X.mean()) / X.std()
    return _pretrained(digits_cnn(rng, **size), X, y, steps=steps)


__all__ = ["IMAGES", "digits_cnn", "pretrained_digits_cnn"]


# ------------------------------------------------------------------ a character-level transformer
SOURCE_MODULES = ("textwrap", "heapq", "string", "bisect")  # the standard library's own source, on every machine
VOCAB = [chr(c) for c in range(32, 127)] + ["\n"]  # printable ASCII and newline; anything else maps to "?"
CONTEXT = 64
SEQUENCES = 16


def stdlib_text() -> str:
    """The source of a few standard-library modules, concatenated (what ships with this Python)."""
    import importlib
    import inspect

    return "\n".join(inspect.getsource(importlib.import_module(name)) for name in SOURCE_MODULES)


def encode(text: str) -> torch.Tensor:
    """Character indices into :data:`VOCAB`."""
    index = {c: i for i, c in enumerate(VOCAB)}
    unknown = index["?"]
    return torch.tensor([index.get(c, unknown) for c in text], dtype=torch.long)


class CausalBlock(torch.nn.Module):
    """Pre-norm transformer block with explicit attention (matmul and softmax, so twice differentiable)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = torch.nn.LayerNorm(width), torch.nn.LayerNorm(width)
        self.qkv = torch.nn.Linear(width, 3 * width)
        self.proj = torch.nn.Linear(width, width)
        self.up, self.down = torch.nn.Linear(width, 4 * width), torch.nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One block on ``(batch, time, width)``."""
        b, t, w = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(w // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        attn = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, t, w))
        return x + self.down(torch.tanh(self.up(self.norm2(x))))


class CharTransformer(torch.nn.Module):
    """Token and position embeddings, ``depth`` causal blocks, a final norm and a linear head."""

    def __init__(self, *, width: int, depth: int, heads: int):
        super().__init__()
        self.embed = torch.nn.Embedding(len(VOCAB), width)
        self.position = torch.nn.Parameter(torch.zeros(CONTEXT, width))
        self.blocks = torch.nn.Sequential(*(CausalBlock(width, heads) for _ in range(depth)))
        self.norm = torch.nn.LayerNorm(width)
        self.head = torch.nn.Linear(width, len(VOCAB))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-character scores for ``(batch, time)`` tokens."""
        x = self.embed(tokens) + self.position[: tokens.shape[1]]
        return self.head(self.norm(self.blocks(x)))


def char_transformer(rng: np.random.Generator, *, width: int = 128, depth: int = 5, heads: int = 4) -> CharTransformer:
    """The transformer, matrices N(0, 1/fan_in) from ``rng`` (embeddings N(0, 0.02^2)), biases 0, norms 1."""
    model = CharTransformer(width=width, depth=depth, heads=heads)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            elif name in ("embed.weight", "position"):
                p.copy_(torch.as_tensor(0.02 * rng.standard_normal(tuple(p.shape)), dtype=p.dtype))
            elif p.ndim > 1:
                p.copy_(torch.as_tensor(rng.standard_normal(tuple(p.shape)) / math.sqrt(p.shape[1]), dtype=p.dtype))
            else:
                p.zero_()
    return model


def pretrained_char_transformer(rng: np.random.Generator, *, steps: int = PRETRAIN_STEPS, **size):
    """(model, loss_fn, (X, Y)): the transformer after ``steps`` Adam steps on a fixed batch of
    ``SEQUENCES`` windows of the standard library's source; loss_fn(model) that batch's next-character
    cross-entropy.  ``size``: ``width``, ``depth``, ``heads``."""
    tokens = encode(stdlib_text())
    starts = torch.as_tensor(np.sort(rng.choice(tokens.numel() - CONTEXT - 1, SEQUENCES, replace=False)))
    X = torch.stack([tokens[s : s + CONTEXT] for s in starts])
    Y = torch.stack([tokens[s + 1 : s + CONTEXT + 1] for s in starts])
    model = char_transformer(rng, **size)
    return _pretrained(model, X, Y, steps=steps)


def _pretrained(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, *, steps: int):
    """(model, loss_fn, (X, Y)) after ``steps`` full-batch Adam steps on the cross-entropy over every target."""

    def loss_fn(m: torch.nn.Module) -> torch.Tensor:
        out = m(X)
        return torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), Y.reshape(-1))

    opt = torch.optim.Adam(model.parameters(), lr=PRETRAIN_LR)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model).backward()
        opt.step()
    model.zero_grad(set_to_none=True)
    return model, loss_fn, (X, Y)
