"""Metadata of a law's parameters: their domain, typical values and test values.

Every registered law class declares ``law_params = {"name": LawParam(...)}`` for
each parameter of its constructor.  The registry, the ``zoverify.testing``
strategies, the moments claim's default laws and the test lists are derived
from it (see :mod:`zoverify.perturbations.catalogue`).

* ``domain``: the values the constructor accepts (membership, a description for
  error messages, a hypothesis strategy over a window of it);
* ``typical``: where strategies draw from, a :class:`Span` for numbers or a tuple
  of values;
* ``test_values``: the values the default checks use.  The k-th test law of a
  family sets every parameter to its k-th test value (its constructor default
  once its test values run out), so two parameters that must change together
  (a mean and a standard deviation) are listed side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zoverify._errors import InvalidParameterError


class Domain:
    """The values a parameter may take."""

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def strategy(self, typical: Any):
        """A hypothesis strategy over ``typical`` (already checked to lie in the domain)."""
        from hypothesis import strategies as st

        return st.sampled_from(list(typical))

    def check_typical(self, typical: Any) -> str | None:
        """Why ``typical`` is not a valid drawing window, or None."""
        if isinstance(typical, Span):
            return f"typical must list values of {self.describe()}, not a span"
        if not isinstance(typical, tuple) or not typical:
            return f"typical must be a non-empty tuple of values, got {typical!r}"
        bad = [v for v in typical if not self.contains(v)]
        return f"typical values {bad} are outside {self.describe()}" if bad else None


@dataclass(frozen=True)
class Span:
    """A closed interval [low, high] of numbers to draw from."""

    low: float
    high: float


@dataclass(frozen=True)
class Real(Domain):
    """Real numbers between ``low`` and ``high``, each end open unless said closed."""

    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below

    def describe(self) -> str:
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        return f"real numbers in {left}{_num(self.low)}, {_num(self.high)}{right}"

    def check_typical(self, typical: Any) -> str | None:
        if not isinstance(typical, Span):
            return super().check_typical(typical)
        if not (self.contains(typical.low) and self.contains(typical.high) and typical.low <= typical.high):
            return f"typical span [{typical.low}, {typical.high}] is not inside {self.describe()}"
        return None

    def strategy(self, typical: Any):
        from hypothesis import strategies as st

        if not isinstance(typical, Span):
            return super().strategy(typical)
        # three decimals keep specs short; clamp so rounding cannot leave the span
        return st.floats(typical.low, typical.high, allow_nan=False).map(
            lambda x: min(max(round(x, 3), typical.low), typical.high)
        )


@dataclass(frozen=True)
class Integer(Domain):
    """Integers from ``low`` up to ``high`` (both included)."""

    low: int = 1
    high: float = math.inf

    def contains(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high

    def describe(self) -> str:
        return f"integers >= {self.low}" if self.high == math.inf else f"integers in [{self.low}, {self.high}]"

    def check_typical(self, typical: Any) -> str | None:
        if not isinstance(typical, Span):
            return super().check_typical(typical)
        ok = all(isinstance(x, int) and self.contains(x) for x in (typical.low, typical.high))
        return None if ok and typical.low <= typical.high else f"typical span {typical} is not inside {self.describe()}"

    def strategy(self, typical: Any):
        from hypothesis import strategies as st

        if not isinstance(typical, Span):
            return super().strategy(typical)
        return st.integers(int(typical.low), int(typical.high))


@dataclass(frozen=True)
class OneOf(Domain):
    """One of a few literal values (strings, booleans)."""

    values: tuple

    def contains(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class RealOrVector(Domain):
    """A real number, or a non-empty list of real numbers (a vector, which fixes the dimension)."""

    def contains(self, value: Any) -> bool:
        if isinstance(value, (list, tuple)):
            return bool(value) and all(Real().contains(v) for v in value)
        return Real().contains(value)

    def describe(self) -> str:
        return "a real number or a non-empty list of real numbers"

    def check_typical(self, typical: Any) -> str | None:
        return Real().check_typical(typical) if isinstance(typical, Span) else super().check_typical(typical)

    def strategy(self, typical: Any):
        return Real().strategy(typical)


@dataclass(frozen=True)
class IntegerPair(Domain):
    """A pair (m, n) of positive integers (a parameter matrix's shape)."""

    def contains(self, value: Any) -> bool:
        return isinstance(value, (list, tuple)) and len(value) == 2 and all(Integer(1).contains(v) for v in value)

    def describe(self) -> str:
        return "a pair (m, n) of positive integers"


@dataclass(frozen=True)
class LawSpec(Domain):
    """A law spec string that ``accepts`` (a check on the parsed law) takes."""

    what: str
    accepts: Callable[[str], bool]

    def contains(self, value: Any) -> bool:
        return isinstance(value, str) and self.accepts(value)

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class LawParam:
    """One constructor parameter of a law: its domain, typical values and test values."""

    domain: Domain
    typical: Any
    test_values: tuple = ()

    def __post_init__(self):
        if not isinstance(self.domain, Domain):
            raise InvalidParameterError(f"LawParam domain must be a Domain (Real, Integer, ...), got {self.domain!r}")
        if not isinstance(self.test_values, tuple):
            raise InvalidParameterError(f"LawParam test_values must be a tuple, got {self.test_values!r}")

    def problems(self) -> list[str]:
        """What is wrong with this metadata (checked when the law registers)."""
        out = []
        why = self.domain.check_typical(self.typical)
        if why:
            out.append(why)
        bad = [v for v in self.test_values if not self.domain.contains(v)]
        if bad:
            out.append(f"test values {bad} are outside {self.domain.describe()}")
        return out


def _num(x: float) -> str:
    return {math.inf: "inf", -math.inf: "-inf"}.get(x, f"{x:g}")
