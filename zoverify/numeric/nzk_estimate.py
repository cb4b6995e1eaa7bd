"""The NZK paper's Monte Carlo kernel: Khat = mean over draws of ||z||^2 (phi_i . z)(phi_j . z)."""

from __future__ import annotations

import torch

from zoverify._errors import InvalidParameterError
from zoverify.numeric.function_space import RowSpace, RowSpaceSampler
from zoverify.perturbations import AbstractLaw, Gaussian, Sphere, parse_law


def estimate_shared_nzk(
    Phi: torch.Tensor,
    *,
    law: AbstractLaw | str,
    num_samples: int,
    generator: torch.Generator,
    groups: int = 1,
    block_size: int = 2048,
) -> torch.Tensor:
    """Shared-direction NZK estimates from ``num_samples`` draws, split into ``groups`` equal
    groups: shape (groups, N, N); their mean is the estimate from all draws.

    Gaussian and sphere laws are drawn in Phi's row space (exactly the same law for
    (Phi z, ||z||^2), O(r^2) work per draw); other laws in parameter space.  The groups
    feed delete-a-group jackknife corrections of smooth functions of the kernel.
    """
    law = parse_law(law)
    if groups < 1 or num_samples < groups or num_samples % groups:
        raise InvalidParameterError(f"num_samples ({num_samples}) must split into {groups} equal groups")
    if generator.device.type != Phi.device.type:
        raise InvalidParameterError(
            f"the generator is on {generator.device} but Phi on {Phi.device}; put both on one device"
        )
    per_group = num_samples // groups
    if isinstance(law, (Gaussian, Sphere)) and (law.fixed_dim is None or law.fixed_dim == Phi.shape[1]):
        space = RowSpace.from_matrix(Phi)
        sampler = RowSpaceSampler(space, law)

        def gram_in_row_space(n: int) -> torch.Tensor:
            w, norm2 = sampler.draw_coordinates(n, generator)
            return (w * norm2[:, None]).T @ w  # r x r; Khat = US (.) US^T

        gram, outer = gram_in_row_space, space.US
    else:

        def gram_of_samples(n: int) -> torch.Tensor:
            z = law.sample(n, Phi.shape[1], generator=generator, dtype=Phi.dtype, device=Phi.device)
            u = z @ Phi.T
            return (u * (z * z).sum(dim=1)[:, None]).T @ u

        gram, outer = gram_of_samples, None
    out = []
    for _ in range(groups):
        total, done = None, 0
        while done < per_group:
            n = min(block_size, per_group - done)
            part = gram(n)
            total = part if total is None else total + part
            done += n
        assert total is not None  # per_group >= 1
        C = total / per_group
        K = C if outer is None else outer @ C @ outer.T
        out.append(0.5 * (K + K.T))
    return torch.stack(out)


__all__ = ["estimate_shared_nzk"]
