"""The audit's report: declared and inferred setting, each property's verdict, named findings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from zoverify.verify.result import ClaimResult
from zoverify.verify.verdict import Verdict


@dataclass
class Finding:
    """A failed (or inconclusive) property, what it looks like, and how to reproduce it."""

    prop: str
    verdict: str
    diagnosis: str
    statistic: str
    reproduce: str


@dataclass
class AuditReport:
    """What ``audit`` found for one subject."""

    subject: str
    kind: str
    declared: dict
    inferred: dict
    behaves_like: str
    results: list[ClaimResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: the audit's false-failure probability, and each check's share of it (Bonferroni)
    alpha: float = 0.05
    alpha_each: float = 0.05

    @property
    def exit_code(self) -> int:
        """0 every property holds, 1 one fails, 3 none fails but one is inconclusive (as ``zoverify check``)."""
        verdicts = {r.verdict for r in self.results}
        if Verdict.FAIL.value in verdicts:
            return 1
        if Verdict.INCONCLUSIVE.value in verdicts:
            return 3
        return 0

    @property
    def passed(self) -> bool:
        """Every judged property holds with its controls rejected."""
        return self.exit_code == 0

    def to_dict(self) -> dict:
        """A JSON-ready dictionary."""
        return {
            "subject": self.subject,
            "kind": self.kind,
            "declared": self.declared,
            "inferred": self.inferred,
            "behaves_like": self.behaves_like,
            "exit_code": self.exit_code,
            "alpha": self.alpha,
            "alpha_each": self.alpha_each,
            "results": [r.to_dict() for r in self.results],
            "findings": [asdict(f) for f in self.findings],
            "elapsed_s": self.elapsed_s,
        }

    def text(self) -> str:
        """The report as plain text."""
        lines = [f"audit of {self.subject} ({self.kind})"]
        lines.append("declared: " + (", ".join(f"{k} {v}" for k, v in self.declared.items()) or "nothing"))
        if self.behaves_like:
            lines.append(self.behaves_like)
        for r in self.results:
            extra = f"  ({r.message})" if r.message else ""
            where = f", dim {r.params['dim']}" if "dim" in r.params else f", size {r.params.get('size')}"
            lines.append(f"  {r.verdict:<13} {r.claim} [{r.law}{where}]{extra}")
        for f in self.findings:
            lines.append(f"{f.verdict.upper()}: {f.prop}: {f.diagnosis}")
            lines.append(f"    {f.statistic}")
            lines.append(f"    reproduce: {f.reproduce}")
        lines.append(
            f"{len(self.results)} properties, each at alpha {self.alpha_each:.3g} (audit alpha {self.alpha:g}),"
            f" in {self.elapsed_s:.1f} s; exit {self.exit_code}"
        )
        return "\n".join(lines)

    def write(self, folder: str | Path) -> None:
        """``audit.json`` and ``audit.md`` in ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / "audit.json").write_text(json.dumps(self.to_dict(), indent=2))
        (out / "audit.md").write_text("# zoverify audit\n\n```\n" + self.text() + "\n```\n")


__all__ = ["AuditReport", "Finding"]
