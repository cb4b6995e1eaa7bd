"""Declarations of the checker claims: The decision rules themselves.

What each claim states and where it comes from; the experiments live in the
modules named here and are imported when a claim runs.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("checker", package=__name__, title="The decision rules themselves")

FAMILY.declare(
    "decision_rules",
    module="decision_rules",
    statement="The decision rules reject a true k-component prediction with probability exactly 1 - (1 - a/k)^k (Bonferroni) and a component off by the reported minimum detectable error with probability >= 0.9, for batch means (Student t, B = 32) and the exact-variance z-test (Gaussian data, a = 0.5).",
    source="zoverify/claims/checker/decision_rules.py (exact rejection rates, module docstring); docs/README.md#decision-rules",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "sequential_design",
    module="sequential",
    statement="A check at the defaults runs in two stages (stage 1 at 90 % of alpha; if inconclusive, stage 2 at the remaining 10 % with the sample size its detectable error asks for): its false-failure rate, its rate of conclusive passes and its rate of failing a 3 % near miss are the exact two-stage rates (one Gaussian component, known variance, a = 0.4).",
    source="zoverify/claims/checker/sequential.py (exact stage rates, module docstring); docs/README.md#sequential-design",
    status=(Status.DERIVED_CHECKED,),
)
