"""The record of one check: everything needed to report and to reproduce it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zoverify.verify.verdict import Verdict


@dataclass(frozen=True)
class ClaimResult:
    """One (claim, law, seed) check; plain data, JSON-ready through :meth:`to_dict`."""

    claim: str
    law: str
    params: dict[str, Any]
    verdict: str  # a Verdict value: pass | fail | inconclusive | n/a | skipped
    prediction: list[float]
    estimate: list[float]
    ci_low: list[float]
    ci_high: list[float]
    p_value: float | None
    alpha: float
    method: str
    seed: int
    num_samples: int
    device: str
    dtype: str
    elapsed_s: float
    version: str
    labels: list[str]
    min_detectable_rel: float | None = None  # the worst component's
    negative_delta: float | None = None
    negative_control_rejected: bool | None = None  # every control rejected
    message: str = ""
    detectable_rel: list[float | None] | None = None  # per component (None: prediction 0)
    controls_not_rejected: list[str] = field(default_factory=list)
    num_controls: int = 0
    controls: list[str] = field(default_factory=list)  # every control's name, in the order judged
    stages: int = 1  # 2 when a first, inconclusive stage was followed by a larger second one

    @property
    def passed(self) -> bool:
        """Whether the verdict is PASS."""
        return self.verdict == Verdict.PASS

    def to_dict(self) -> dict[str, Any]:
        """The result as a plain dict (the JSON report's record)."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClaimResult:
        """The result from a dict written by :meth:`to_dict`."""
        return cls(**data)


__all__ = ["ClaimResult"]
