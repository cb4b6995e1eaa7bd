"""The built-in laws, registered in one explicit order, and the lists derived from their metadata.

Each law class declares ``law_params`` (see :mod:`zoverify.perturbations._params`).
From it come:

* :func:`test_specs`: a family's test laws (the k-th sets every parameter to its
  k-th test value, its default once those run out);
* :func:`default_specs`: every family's test laws, the laws the moments claim
  checks by default;
* the hypothesis strategies of :mod:`zoverify.testing` (:func:`families` and
  each parameter's domain and typical values).

Adding a built-in law: write its class (moment maps, sampler, ``name``,
``law_params``) in one module and append it to :data:`BUILTIN_LAWS`.  A user law
needs no edit here: ``register_law(MyLaw)`` in the user's own file.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from zoverify._errors import UnknownNameError
from zoverify.perturbations._base import AbstractLaw
from zoverify.perturbations._families import Laplace, Rademacher, StudentT, Uniform
from zoverify.perturbations._iid import Gaussian
from zoverify.perturbations._registry import LAWS, law_builder, register_law
from zoverify.perturbations._sphere import Coordinate, Sphere
from zoverify.perturbations._structured import Block, LowRank, Sparse, Subspace
from zoverify.perturbations._sympy_law import SympyIIDLaw

#: registration order (the order of ``law_names()``, CLI help and the derived lists);
#: the structured laws come after the iid laws they take as ``base``
BUILTIN_LAWS: tuple[type[AbstractLaw], ...] = (
    Gaussian,
    Rademacher,
    Sphere,
    Coordinate,
    Uniform,
    Laplace,
    StudentT,
    Block,
    Sparse,
    LowRank,
    Subspace,
)

#: families spelled by the spec grammar itself rather than registered by name
GRAMMAR_FAMILIES: tuple[type[AbstractLaw], ...] = (SympyIIDLaw,)

for _law in BUILTIN_LAWS:
    register_law(_law)


def families() -> dict[str, type[AbstractLaw]]:
    """Every family with parameter metadata, by name: the registered ones in order, then ``iid``."""
    out = {name: f for name, f in LAWS.items() if isinstance(f, type) and issubclass(f, AbstractLaw)}
    out.update({f.name: f for f in GRAMMAR_FAMILIES})
    return out


def family(name: str) -> type[AbstractLaw]:
    """The law class registered as ``name`` (with metadata)."""
    found = families()
    if name not in found:
        raise UnknownNameError(f"no law family {name!r} with parameter metadata; known: {', '.join(found)}")
    return found[name]


def build(law_class: type[AbstractLaw], params: Mapping[str, Any]) -> AbstractLaw:
    """The law of ``law_class`` with ``params`` (through ``from_params`` where the class defines it)."""
    return law_builder(law_class)(**params)


def test_params(law_class: type[AbstractLaw]) -> list[dict[str, Any]]:
    """The parameters of each test law of a family: the k-th test value of every parameter."""
    params = law_class.law_params
    count = max([len(p.test_values) for p in params.values()] + [1])
    return [{name: p.test_values[k] for name, p in params.items() if k < len(p.test_values)} for k in range(count)]


test_params.__test__ = False  # not a pytest test, despite the name


def test_specs(law_class: type[AbstractLaw] | str) -> list[str]:
    """The spec strings of a family's test laws, in canonical form."""
    cls = family(law_class) if isinstance(law_class, str) else law_class
    return [build(cls, p).spec for p in test_params(cls)]


test_specs.__test__ = False


def default_specs() -> tuple[str, ...]:
    """Every family's test laws: the laws the moments claim checks by default."""
    return tuple(spec for cls in families().values() for spec in test_specs(cls))


def defaults_of(law_class: type[AbstractLaw]) -> dict[str, Any]:
    """The constructor defaults of a family's parameters (those that have one)."""
    sig = inspect.signature(law_builder(law_class))
    return {n: p.default for n, p in sig.parameters.items() if p.default is not p.empty}


__all__ = [
    "BUILTIN_LAWS",
    "GRAMMAR_FAMILIES",
    "build",
    "default_specs",
    "defaults_of",
    "families",
    "family",
    "test_params",
    "test_specs",
]
