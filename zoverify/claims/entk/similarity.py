"""The similarity effect (P2-7) on scikit-learn's digits: similar pairs have the
smaller relative error.

Paper: arXiv 2605.03373 (docs/entk.md).
"""

from __future__ import annotations

import numpy as np
import torch

from zoverify.claims.entk.common import (
    iid_draws_reason,
    kernel_mean_value,
    relative_sq_prediction,
    relative_sq_rows,
)
from zoverify.numeric import batch_sums
from zoverify.numeric import entk as nentk
from zoverify.numeric._batching import BatchSums
from zoverify.verify.claim import Claim, Context
from zoverify.verify.params import Param
from zoverify.verify.registry import register

# -- P2-6: similarity effect on a real network ---------------------------------------
DIGIT_PAIRS = ((4, 9), (0, 1))


def _digit_model(ctx: Context):
    """A random tanh MLP 64 -> width -> 10 and one scikit-learn digit image of each class in DIGIT_PAIRS."""
    from zoverify.numeric.data import load_digits_images

    X, y = load_digits_images(dtype=ctx.dtype)
    seed = int(ctx.instance_rng().integers(2**62))
    gen = torch.Generator().manual_seed(seed)
    width = int(ctx["width"])
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, width), torch.nn.Tanh(), torch.nn.Linear(width, 10)
    ).to(ctx.dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=ctx.dtype) / np.sqrt(p.shape[-1]))
    inputs = [(X[(y == ca).nonzero()[0][0]], X[(y == cb).nonzero()[0][0]]) for ca, cb in DIGIT_PAIRS]
    return model, inputs


def _digit_pair_jacobians(ctx: Context):
    model, inputs = _digit_model(ctx)
    pairs = []
    for xa, xb in inputs:
        J = nentk.jacobian(model, torch.stack([xa, xb]))
        pairs.append((J[0].numpy(), J[1].numpy()))
    return pairs


def _similarity_reason(law) -> str | None:
    if law.fixed_dim is not None:
        return f"{law.spec} has a fixed dimension {law.fixed_dim}; the network's parameter count differs"
    return iid_draws_reason(law)


def _similarity_predict(ctx: Context) -> np.ndarray:
    return np.array([relative_sq_prediction(ctx, A, B, int(ctx["P"])) for A, B in _digit_pair_jacobians(ctx)])


def _similarity_simulate(ctx: Context) -> BatchSums:
    """Per draw, the relative squared error of the library's ZO eNTK of the network itself
    (zoverify.numeric.entk.zo_entk_samples: forward-mode jvp's along the law's directions)."""
    model, inputs = _digit_model(ctx)
    P = int(ctx["P"])
    cols = []
    for (xa, xb), (A, B) in zip(inputs, _digit_pair_jacobians(ctx), strict=True):
        mean = kernel_mean_value(ctx, A, B)

        def one_block(m, gen, xa=xa, xb=xb, mean=mean):
            K = nentk.zo_entk_samples(
                model, xa[None], xb[None], law=ctx.law, num_directions=P, num_replicates=m, generator=gen, chunk_size=P
            )
            return relative_sq_rows(K.reshape(m, -1), mean)

        cols.append(batch_sums(one_block, ctx.num_samples, generator=ctx.mc_generator(), block_size=512))
    return BatchSums.columns(cols)


register(
    Claim(
        name="entk.similarity",
        applies_to=_similarity_reason,
        predict=_similarity_predict,
        simulate=_similarity_simulate,
        params={
            "width": Param(8, "hidden width of the MLP", low=1, high=512, integer=True),
            "P": Param(8, "perturbations", low=1, high=4096, integer=True),
        },
        laws=("gaussian",),
        num_samples=1 << 13,
        labels=lambda ctx: ["rel^2 (4,9)", "rel^2 (0,1)"],
        # squared errors are heavy-tailed: at 2^13 draws the worst component is determined to ~4 % (Gaussian),
        # ~7 % for block(blocks=4)
        negative_delta=0.1,
    )
)
