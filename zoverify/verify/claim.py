"""A claim binds a symbolic prediction to a numeric experiment and a decision rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator, make_numpy_generator, spawn_seeds
from zoverify.perturbations import AbstractLaw
from zoverify.verify.decision import (
    LOWER_BOUND,
    TWO_SIDED,
    UPPER_BOUND,
    BatchMeans,
    DecisionRule,
)
from zoverify.verify.params import Param
from zoverify.verify.verdict import Status, format_status


@dataclass(frozen=True)
class Context:
    """What a claim's predict/simulate functions see."""

    law: AbstractLaw
    params: Mapping[str, Any]
    num_samples: int
    seed: int
    device: torch.device
    dtype: torch.dtype

    def instance_rng(self) -> np.random.Generator:
        """Generator for the problem instance (data, Hessian, test vectors).

        Seeded independently of the Monte Carlo stream, so the instance does not
        change with ``num_samples`` or ``device``.
        """
        return make_numpy_generator(spawn_seeds(self.seed, 2)[0])

    def mc_generator(self) -> torch.Generator:
        """Generator for the Monte Carlo directions, on the run's device."""
        return make_generator(spawn_seeds(self.seed, 2)[1], device=self.device)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


def _always(_law: AbstractLaw) -> str | None:
    return None


@dataclass(frozen=True)
class Claim:
    """A checkable statement.

    ``predict(ctx)`` returns the symbolic layer's prediction as a float array of
    k components; ``simulate(ctx)`` returns what ``test.summarize`` consumes (an
    ``(n, k)`` tensor of iid replicates for :class:`BatchMeans`).  ``applies_to``
    returns ``None`` or the reason the claim does not apply to a law.
    """

    name: str
    predict: Callable[[Context], Any]
    simulate: Callable[[Context], Any]
    test: DecisionRule = field(default_factory=BatchMeans)
    params: Mapping[str, Param] = field(default_factory=dict)
    laws: tuple[str, ...] = ("gaussian",)
    num_samples: int = 100_000
    applies_to: Callable[[AbstractLaw], str | None] = _always
    bias_bound: Callable[[Context], Any] | None = None
    variance: Callable[[Context], Any] | None = None
    labels: Callable[[Context], list[str]] | None = None
    negative_delta: float = 0.05
    #: alternatives to the prediction that must *each* be rejected (the negative
    #: controls).  Default (:func:`component_controls`): one component at a time
    #: moved by negative_delta x |prediction| to each side it is tested on.  A
    #: custom rule returns ``[(name, alternative), ...]`` (or bare arrays) and must
    #: likewise probe one component, or one near miss, at a time.
    negative_alternatives: Callable[[Context, np.ndarray], list[Any]] | None = None
    #: a parameter that a law of fixed dimension sets to its own (a low-rank law's d): the claim runs at the
    #: law's dimension and the result records the dimension that ran
    dim_param: str | None = None

    #: what is claimed and where it comes from; for the built-in claims these are
    #: filled from the family's declaration (zoverify/claims/<family>/__init__.py)
    statement: str = ""
    source: str = ""
    status: tuple[Status, ...] = ()
    status_note: str = ""

    @classmethod
    def synthetic(cls, prediction, simulate, *, variance=None, name: str = "synthetic", **options: Any) -> Claim:
        """A claim with a known truth, for judging the checker itself: a fixed ``prediction``, an experiment
        given as data or as ``simulate(ctx)``, and optionally the exact ``variance`` of one observation."""
        pred = np.asarray(prediction, float)
        return cls(
            name=name,
            predict=lambda _ctx: pred,
            simulate=simulate if callable(simulate) else (lambda _ctx: simulate),
            variance=None if variance is None else (lambda _ctx: np.asarray(variance, float)),
            statement="synthetic",
            source="synthetic",
            **options,
        )

    @property
    def status_text(self) -> str:
        """The status tags and note as one line (``READ + DERIVED+CHECKED (note)``)."""
        return format_status(self.status, self.status_note)

    @property
    def family(self) -> str:
        """The family: the part of the name before the first dot."""
        return self.name.split(".", 1)[0]

    def resolve_params(self, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        """The claim's parameters: defaults, then ``overrides`` validated (an unknown name is refused)."""
        params = {k: p.default for k, p in self.params.items()}
        for key, value in (overrides or {}).items():
            if key not in self.params:
                accepted = ", ".join(self.params) or "none"
                raise InvalidParameterError(f"claim {self.name} has no parameter {key!r}; accepted: {accepted}")
            params[key] = self.params[key].validate(key, value)
        return params


__all__ = ["LOWER_BOUND", "TWO_SIDED", "UPPER_BOUND", "Claim", "Context"]
