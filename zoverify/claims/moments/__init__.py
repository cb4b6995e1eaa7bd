"""Declarations of the moments claims: Each law's symbolic moment maps against its own sampler.

What each claim states and where it comes from; the experiments live in the
modules named here and are imported when a claim runs.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("moments", package=__name__, title="Each law's symbolic moment maps against its own sampler")

FAMILY.declare(
    "sampler",
    module="sampler",
    statement="A law's symbolic mean, second, third and fourth moment maps match its own sampler, each order tested through coordinate functionals it enters undiluted (iid laws: mean, var, m3, m4 each alone).",
    source="each law's moment derivation in its module docstring (zoverify/perturbations/_iid.py, _sphere.py, _structured.py); zoverify/claims/moments/sampler.py (method); docs/README.md#moment-maps-against-samplers",
    status=(Status.DERIVED_CHECKED,),
)
