"""The words of a check: verdicts, evidence statuses and the default false-failure probability.

Plain enums, no numerics: the CLI's light commands import this module alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

ALPHA = 1e-4  # default false-failure probability of one claim


class Verdict(StrEnum):
    """What a check concluded.

    ``INCONCLUSIVE``: the prediction was not rejected, but neither was some
    negative control, so the data could not have told the claim from a near miss.
    """

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "n/a"
    SKIPPED = "skipped"


class Status(StrEnum):
    """Where a claim's statement comes from and what was done with it (docs/README.md)."""

    READ = "READ"  # stated in the paper and read there
    READ_2ND = "READ-2nd"  # stated in the paper, read at second hand (its code, a summary)
    CODE = "CODE"  # what the paper's released code does
    INFERRED = "INFERRED"  # reconstructed where the paper could not be read
    DERIVED = "DERIVED"  # derived in this repository
    CHECKED = "CHECKED"  # checked numerically, with no closed form to derive
    DERIVED_CHECKED = "DERIVED+CHECKED"  # derived here and confirmed by a second, independent route


def format_status(status: Iterable[Status], note: str = "") -> str:
    """``"READ-2nd + DERIVED+CHECKED (note)"``: the statuses joined, then the note."""
    text = " + ".join(Status(s).value for s in status)
    return f"{text} ({note})" if note else text


__all__ = ["ALPHA", "Status", "Verdict", "format_status"]
