"""Perturbation laws: distributions of ZO directions with symbolic moments and samplers.

Importing this package and asking a law for its moments never imports torch;
the samplers import it when they draw.  The built-in laws are registered in the
explicit order of :data:`zoverify.perturbations.catalogue.BUILTIN_LAWS`.
"""

from zoverify.moment_maps import MomentMap as MomentMap
from zoverify.perturbations._base import AbstractLaw as AbstractLaw
from zoverify.perturbations._families import Laplace as Laplace
from zoverify.perturbations._families import Rademacher as Rademacher
from zoverify.perturbations._families import StudentT as StudentT
from zoverify.perturbations._families import Uniform as Uniform
from zoverify.perturbations._higher import coordinate_cumulants as coordinate_cumulants
from zoverify.perturbations._higher import cubic_moment as cubic_moment
from zoverify.perturbations._higher import fifth_moment as fifth_moment
from zoverify.perturbations._higher import sixth_moment as sixth_moment
from zoverify.perturbations._iid import AbstractIIDLaw as AbstractIIDLaw
from zoverify.perturbations._iid import Gaussian as Gaussian
from zoverify.perturbations._params import Integer as Integer
from zoverify.perturbations._params import IntegerPair as IntegerPair
from zoverify.perturbations._params import LawParam as LawParam
from zoverify.perturbations._params import LawSpec as LawSpec
from zoverify.perturbations._params import OneOf as OneOf
from zoverify.perturbations._params import Real as Real
from zoverify.perturbations._params import RealOrVector as RealOrVector
from zoverify.perturbations._params import Span as Span
from zoverify.perturbations._registry import LAWS as LAWS
from zoverify.perturbations._registry import law_names as law_names
from zoverify.perturbations._registry import parse_law as parse_law
from zoverify.perturbations._registry import register_law as register_law
from zoverify.perturbations._sphere import Coordinate as Coordinate
from zoverify.perturbations._sphere import Sphere as Sphere
from zoverify.perturbations._structured import Block as Block
from zoverify.perturbations._structured import LowRank as LowRank
from zoverify.perturbations._structured import Sparse as Sparse
from zoverify.perturbations._structured import Subspace as Subspace
from zoverify.perturbations._sympy_law import SympyIIDLaw as SympyIIDLaw
from zoverify.perturbations.catalogue import default_specs as default_specs

__all__ = [
    "LAWS",
    "AbstractIIDLaw",
    "AbstractLaw",
    "Block",
    "Coordinate",
    "Gaussian",
    "Integer",
    "IntegerPair",
    "Laplace",
    "LawParam",
    "LawSpec",
    "LowRank",
    "MomentMap",
    "OneOf",
    "Rademacher",
    "Real",
    "RealOrVector",
    "Span",
    "Sparse",
    "Sphere",
    "StudentT",
    "Subspace",
    "SympyIIDLaw",
    "Uniform",
    "coordinate_cumulants",
    "cubic_moment",
    "default_specs",
    "fifth_moment",
    "law_names",
    "parse_law",
    "register_law",
    "sixth_moment",
]
