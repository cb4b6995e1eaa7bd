"""The families' claims: what each paper states, bound to an experiment and a decision rule.

Each family is a package whose ``__init__`` declares its claims (statement,
source, status, implementing module) and whose modules implement them.  The
families are registered here, in this order: the order of ``zoverify list`` and
of the check table.  ``moments`` comes before the paper families, since
``check --law`` runs a law's moment check before any paper claim is judged with it.
The machinery (Claim, check, decision rules) lives in :mod:`zoverify.verify`;
importing this package loads declarations only, never torch.
"""

from typing import TYPE_CHECKING

from zoverify.claims import audit, checker, entk, moments, nzk, stability, stepsize, structured
from zoverify.verify.params import Param
from zoverify.verify.registry import REGISTRY, add_family, register, select
from zoverify.verify.result import ClaimResult
from zoverify.verify.verdict import ALPHA, Status, Verdict

if TYPE_CHECKING:  # for the type checker only; at run time __getattr__ imports them on first use
    from zoverify.verify.check import check
    from zoverify.verify.claim import Claim, Context
    from zoverify.verify.decision import BatchMeans, Exact

FAMILIES = (
    checker.FAMILY,
    moments.FAMILY,
    nzk.FAMILY,
    entk.FAMILY,
    stability.FAMILY,
    structured.FAMILY,
    stepsize.FAMILY,
    audit.FAMILY,
)
for _family in FAMILIES:
    add_family(_family)

_HEAVY = {  # numerics, imported on first use so that `import zoverify.claims` stays light
    "Claim": "zoverify.verify.claim",
    "Context": "zoverify.verify.claim",
    "check": "zoverify.verify.check",
    "BatchMeans": "zoverify.verify.decision",
    "Exact": "zoverify.verify.decision",
}


def __getattr__(name: str):
    if name in _HEAVY:
        import importlib

        return getattr(importlib.import_module(_HEAVY[name]), name)
    raise AttributeError(f"module 'zoverify.claims' has no attribute {name!r}")


__all__ = [
    "ALPHA",
    "FAMILIES",
    "REGISTRY",
    "BatchMeans",
    "Claim",
    "ClaimResult",
    "Context",
    "Exact",
    "Param",
    "Status",
    "Verdict",
    "check",
    "register",
    "select",
]
