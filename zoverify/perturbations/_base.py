"""The interface every perturbation law implements: moment maps plus a seeded sampler.

The symbolic half (the moment maps, the parameters, the flags) is
:class:`zoverify.moment_maps.MomentMap`; this adds the sampler half.  torch is
imported only when a law samples, so building a law and asking for its moments
never imports it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from zoverify.moment_maps import MomentMap
from zoverify.perturbations._params import LawParam

if TYPE_CHECKING:
    import torch


class AbstractLaw(MomentMap):
    """A distribution of ZO directions z in R^d: moment maps and a seeded torch sampler.

    Attributes (beyond :class:`~zoverify.moment_maps.MomentMap`'s):
        law_params: metadata of each constructor parameter (domain, typical and
            test values); registration reads it.
        independent_draws: successive rows of one ``sample`` call are independent.
    """

    law_params: ClassVar[Mapping[str, LawParam]] = {}
    #: successive rows of one ``sample`` call are independent (False for e.g. a
    #: cyclic block order); estimators that group consecutive draws need this
    independent_draws: bool = True

    def enumerate_outcomes(self, dim: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """All outcomes and their probabilities at ``dim`` for finite laws, else None."""
        return None

    # -- sampling -------------------------------------------------------------
    @abc.abstractmethod
    def sample(
        self,
        num_samples: int,
        dim: int,
        *,
        generator: torch.Generator,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Draw ``num_samples`` directions, a ``(num_samples, dim)`` tensor.

        ``dtype`` defaults to float64 and ``device`` to the generator's device;
        randomness comes only from ``generator``.
        """

    @staticmethod
    def _device(generator: torch.Generator, device) -> torch.device:
        import torch

        return torch.device(device) if device is not None else generator.device


def float_dtype(dtype):
    """``dtype``, or torch.float64 when it is None (the samplers' default)."""
    import torch

    return torch.float64 if dtype is None else dtype
