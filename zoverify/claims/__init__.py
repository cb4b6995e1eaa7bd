"""Claims: symbolic prediction + numeric experiment + calibrated decision rule."""

from zoverify.claims import entk as entk  # noqa: E402

# Families register their claims on import; moments first, since `check --law`
# runs a law's moment check before any paper claim is judged with it.
from zoverify.claims import moments as moments  # noqa: E402
from zoverify.claims import nzk as nzk  # noqa: E402
from zoverify.claims import stability as stability  # noqa: E402
from zoverify.claims import structured as structured  # noqa: E402
from zoverify.claims._claim import ALPHA as ALPHA
from zoverify.claims._claim import Claim as Claim
from zoverify.claims._claim import ClaimResult as ClaimResult
from zoverify.claims._claim import Context as Context
from zoverify.claims._claim import Param as Param
from zoverify.claims._claim import check as check
from zoverify.claims._registry import REGISTRY as REGISTRY
from zoverify.claims._registry import register as register
from zoverify.claims._registry import select as select
from zoverify.claims._stats import BatchMeans as BatchMeans
from zoverify.claims._stats import Exact as Exact

__all__ = [
    "ALPHA",
    "REGISTRY",
    "BatchMeans",
    "Claim",
    "ClaimResult",
    "Context",
    "Exact",
    "Param",
    "check",
    "register",
    "select",
]
