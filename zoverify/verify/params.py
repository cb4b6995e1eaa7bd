"""Claim parameters: a default, a valid range and what the parameter means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoverify._errors import InvalidParameterError


@dataclass(frozen=True)
class Param:
    """A claim parameter, settable with ``zoverify check --param KEY=VALUE``."""

    default: Any
    doc: str = ""
    low: float | None = None
    high: float | None = None
    integer: bool = False
    choices: tuple[str, ...] | None = None

    def validate(self, name: str, value: Any) -> Any:
        """``value`` converted to the parameter's type, or a clear error naming what is accepted."""
        if self.choices is not None and value not in self.choices:
            raise InvalidParameterError(f"parameter {name} must be one of {', '.join(self.choices)}, got {value!r}")
        if isinstance(self.default, (int, float)) and not isinstance(self.default, bool):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InvalidParameterError(f"parameter {name} must be a number, got {value!r}") from None
            if self.integer:
                if not value.is_integer():
                    raise InvalidParameterError(f"parameter {name} must be an integer, got {value}")
                value = int(value)
            if self.low is not None and value < self.low:
                raise InvalidParameterError(f"parameter {name}={value} is below its minimum {self.low}")
            if self.high is not None and value > self.high:
                raise InvalidParameterError(f"parameter {name}={value} is above its maximum {self.high}")
        return value


__all__ = ["Param"]
