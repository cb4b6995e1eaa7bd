"""The table of registered claims."""

from __future__ import annotations

from zoverify._errors import UnknownNameError
from zoverify.claims._claim import Claim

REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the registry (names are unique)."""
    if claim.name in REGISTRY:
        raise ValueError(f"claim {claim.name} registered twice")
    REGISTRY[claim.name] = claim
    return claim


def select(names: list[str] | None = None) -> list[Claim]:
    """Claims by exact name or family prefix (``nzk`` selects ``nzk.*``); all if empty."""
    if not names:
        return list(REGISTRY.values())
    chosen: list[Claim] = []
    for name in names:
        matches = [c for c in REGISTRY.values() if c.name == name or c.name.startswith(name + ".")]
        if not matches:
            families = sorted({c.family for c in REGISTRY.values()})
            raise UnknownNameError(
                f"unknown claim {name!r}; accepted: a claim name from `zoverify list` "
                f"or a family ({', '.join(families)})"
            )
        chosen += [c for c in matches if c not in chosen]
    return chosen
