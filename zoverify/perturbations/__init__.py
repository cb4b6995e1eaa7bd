"""Perturbation laws: distributions of ZO directions with symbolic moments and samplers."""

from zoverify.perturbations._base import AbstractLaw as AbstractLaw
from zoverify.perturbations._families import Laplace as Laplace
from zoverify.perturbations._families import Rademacher as Rademacher
from zoverify.perturbations._families import StudentT as StudentT
from zoverify.perturbations._families import Uniform as Uniform
from zoverify.perturbations._iid import AbstractIIDLaw as AbstractIIDLaw
from zoverify.perturbations._iid import Gaussian as Gaussian
from zoverify.perturbations._registry import LAWS as LAWS
from zoverify.perturbations._registry import law_names as law_names
from zoverify.perturbations._registry import parse_law as parse_law
from zoverify.perturbations._registry import register_law as register_law
from zoverify.perturbations._sphere import Coordinate as Coordinate
from zoverify.perturbations._sphere import Sphere as Sphere
from zoverify.perturbations._sympy_law import SympyIIDLaw as SympyIIDLaw

register_law("gaussian", Gaussian)
register_law("rademacher", Rademacher)
register_law("sphere", Sphere)
register_law("coordinate", Coordinate)
register_law("uniform", Uniform)
register_law("laplace", Laplace)
register_law("student_t", StudentT)

# Structured (non-iid) laws register themselves from their own module.
from zoverify.perturbations import _structured as _structured  # noqa: E402,F401

__all__ = [
    "AbstractIIDLaw",
    "AbstractLaw",
    "Coordinate",
    "Gaussian",
    "LAWS",
    "Laplace",
    "Rademacher",
    "Sphere",
    "StudentT",
    "SympyIIDLaw",
    "Uniform",
    "law_names",
    "parse_law",
    "register_law",
]
