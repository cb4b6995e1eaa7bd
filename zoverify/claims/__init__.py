"""Claims: symbolic prediction + numeric experiment + calibrated decision rule."""

import importlib

from zoverify.claims._claim import ALPHA as ALPHA
from zoverify.claims._claim import Claim as Claim
from zoverify.claims._claim import ClaimResult as ClaimResult
from zoverify.claims._claim import Context as Context
from zoverify.claims._claim import Param as Param
from zoverify.claims._claim import Verdict as Verdict
from zoverify.claims._claim import check as check
from zoverify.claims._registry import REGISTRY as REGISTRY
from zoverify.claims._registry import register as register
from zoverify.claims._registry import select as select
from zoverify.claims._stats import BatchMeans as BatchMeans
from zoverify.claims._stats import Exact as Exact

# Families register their claims on import, in this order (the order of `zoverify
# list` and of the check table); moments first, since `check --law` runs a law's
# moment check before any paper claim is judged with it.
FAMILIES = ("checker", "moments", "nzk", "entk", "stability", "structured")
for _family in FAMILIES:
    importlib.import_module(f"zoverify.claims.{_family}")

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
    "Verdict",
    "check",
    "register",
    "select",
]
