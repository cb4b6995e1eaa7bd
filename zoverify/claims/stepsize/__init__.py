"""Declarations of the stepsize claims: the stable ZO step of a user's model, matrix-free.

What each claim states and where it comes from; the experiments live in the
modules named here and are imported when a claim runs.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("stepsize", package=__name__, title="The stable ZO step of a user's model (zoverify stepsize)")

FAMILY.declare(
    "slq_eta_star",
    module="slq",
    statement="The matrix-free eta* of zoverify stepsize (Rademacher probes, Lanczos on Hessian-vector products, the gain formula's root) for ZO-GD, ZO-GDM (beta 0.9) and 4-query ZO-GD, and its Hutchinson trace estimate, agree with the exact eta* and trace of the dense Hessian, on softmax regression of the digits (d = 310), within a derived quadrature-error bound.",
    source="arXiv 2604.14669, Theorems 1-2, Eqs. 16, 18 (the gain formula); zoverify/claims/stepsize/slq.py (the quadrature bound); docs/stepsize.md",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "routes_vs_dense",
    module="routes",
    statement="For a law whose eta* is not a function of the spectrum, zoverify stepsize's exact-operator route (the Hessian from d Hessian-vector products) gives the dense Hessian's exact eta* within a rounding bound, and its bounds route brackets it (lower <= eta* <= upper, each at confidence 1 - 1e-6), on softmax regression of the digits (d = 310).",
    source="arXiv 2604.14669, Theorem 1 (the mean-square operator); zoverify/claims/stepsize/routes.py; docs/stepsize.md#route-2-exact-operator-other-laws-d1000",
    status=(Status.DERIVED_CHECKED,),
)
