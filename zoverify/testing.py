"""Helpers for researchers' own test suites: assert a claim, audit one's own ZO code, hypothesis strategies.

    from zoverify.testing import assert_claim
    assert_claim("moments.sampler", law="my_laws.py:HeavyTail")

    from zoverify.testing import assert_audit
    assert_audit("my_zo.py:make_estimator", law="rademacher", scheme="central")

    from zoverify.testing import laws_and_dims, spectra
    @given(law_and_dim=laws_and_dims(), spectrum=spectra())
    def test_mine(law_and_dim, spectrum): ...

hypothesis is imported lazily, so importing this module does not require it
unless a strategy is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from zoverify.claims import ALPHA, REGISTRY, ClaimResult, check


def assert_claim(
    name: str,
    *,
    law: Any = None,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    num_samples: int | None = None,
    device: str = "cpu",
    alpha: float = ALPHA,
    allow_inconclusive: bool = False,
) -> ClaimResult:
    """Check one registered claim and raise ``AssertionError`` (with the seed) if it fails.

    An ``inconclusive`` result (the prediction held, but some negative control was
    not rejected, so the data could not tell the claim from a near miss) raises
    too unless ``allow_inconclusive``: a check without power proves nothing.
    """
    if name not in REGISTRY:
        raise KeyError(f"unknown claim {name!r}; see `zoverify list`")
    result = check(
        REGISTRY[name], law=law, params=params, seed=seed, num_samples=num_samples, device=device, alpha=alpha
    )
    where = f"alpha={alpha:g}, seed={seed}, n={result.num_samples}, device={device}"
    if result.verdict == "fail":
        raise AssertionError(
            f"claim {name} fails for law {result.law}: {result.message} (p={result.p_value:.3g}, {where})"
        )
    if result.verdict == "inconclusive" and not allow_inconclusive:
        raise AssertionError(
            f"claim {name} is inconclusive for law {result.law}: {result.message} ({where}); "
            "raise num_samples, or pass allow_inconclusive=True"
        )
    return result


def assert_audit(subject: Any, *, kind: str = "estimator", allow_inconclusive: bool = False, **options: Any):
    """Audit ``subject`` (a spec string or the callable) and raise ``AssertionError`` naming every finding.

    ``options`` are those of :func:`zoverify.audit.audit` (law, scheme, mu, queries, scale, method, beta,
    dims, samples, seed, alpha, ...). An inconclusive audit raises too unless ``allow_inconclusive``.
    Returns the report when it passes.
    """
    from zoverify.audit import audit  # the audit layer sits above the claims: imported when used

    report = audit(subject, kind=kind, **options)
    if report.exit_code == 1 or (report.exit_code == 3 and not allow_inconclusive):
        what = "fails" if report.exit_code == 1 else "is inconclusive"
        lines = [f"audit of {report.subject} ({kind}) {what} (alpha={report.alpha:g}):"]
        for f in report.findings:
            lines.append(
                f"  {f.verdict.upper()} {f.prop}: {f.diagnosis}\n    {f.statistic}\n    reproduce: {f.reproduce}"
            )
        raise AssertionError("\n".join(lines))
    return report


def law_specs(*, families=None):
    """Strategy: law spec strings over the registered families, parameters drawn from their metadata.

    Each parameter is drawn from its ``LawParam.typical`` values (see
    :mod:`zoverify.perturbations.catalogue`).  ``families``: the family names to
    draw from (default: every family with metadata, structured ones included; a
    structured law may need d >= its blocks or rank, or a fixed d, see
    :func:`laws_and_dims`).
    """
    from hypothesis import strategies as st

    from zoverify.perturbations import catalogue

    known = catalogue.families()
    names = list(known) if families is None else list(families)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(f"unknown law families {unknown or names}; known: {', '.join(known)}")

    def family_specs(cls):
        drawn = {name: p.domain.strategy(p.typical) for name, p in cls.law_params.items()}
        return st.fixed_dictionaries(drawn).map(lambda params: catalogue.build(cls, params).spec)

    return st.one_of(*[family_specs(known[n]) for n in names])


def laws(*, families=None):
    """Strategy: law objects (built from :func:`law_specs`)."""
    from zoverify.perturbations import parse_law

    return law_specs(families=families).map(parse_law)


def laws_and_dims(min_dim: int = 1, max_dim: int = 64, *, families=None):
    """Strategy: pairs (law, d) with d a dimension the law takes (its fixed one, if any)."""
    from hypothesis import strategies as st

    from zoverify._errors import ZoverifyError

    def accepts(law, d):
        try:
            law.check_dim(d)
        except ZoverifyError:
            return False
        return True

    def with_dim(law):
        if law.fixed_dim is not None:
            return st.just((law, law.fixed_dim))
        low = next((d for d in range(min_dim, max_dim + 1) if accepts(law, d)), None)
        if low is None:
            return st.nothing()
        return st.integers(low, max_dim).map(lambda d: (law, d))

    return laws(families=families).flatmap(with_dim)


def dims(min_dim: int = 1, max_dim: int = 64):
    """Strategy: dimensions d."""
    from hypothesis import strategies as st

    return st.integers(min_dim, max_dim)


def spectra(min_size: int = 1, max_size: int = 32, *, low: float = 1e-3, high: float = 1.0):
    """Strategy: Hessian spectra (positive, sorted decreasing) in [low, high]."""
    from hypothesis import strategies as st

    return st.lists(st.floats(low, high, allow_nan=False), min_size=min_size, max_size=max_size).map(
        lambda xs: np.sort(np.asarray(xs))[::-1]
    )


__all__ = ["assert_audit", "assert_claim", "dims", "law_specs", "laws", "laws_and_dims", "spectra"]
