"""Law specs and law metadata: bad specs, user-law loading and parameter declarations are refused clearly.

Every refusal is an InvalidParameterError (what the CLI turns into one line and
exit code 2) whose message names what was wrong and what is accepted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given

from zoverify._errors import InvalidParameterError
from zoverify.moment_maps import symbols as S
from zoverify.moment_maps._interface import format_spec
from zoverify.perturbations import AbstractIIDLaw, Gaussian, parse_law, register_law
from zoverify.perturbations._params import (
    Integer,
    IntegerPair,
    LawParam,
    LawSpec,
    OneOf,
    Real,
    RealOrVector,
    Span,
)
from zoverify.perturbations._registry import metadata_problems
from zoverify.perturbations._sympy_law import SympyIIDLaw
from zoverify.perturbations.catalogue import defaults_of


# -- spec strings ----------------------------------------------------------------------
def test_repr_names_the_spec_that_parses_back():
    law = parse_law("gaussian(std=2)")
    assert repr(law) == "<law gaussian(std=2)>"
    assert parse_law(repr(law)[len("<law ") : -1]) == law


def test_numpy_float_parameters_format_as_plain_numbers_that_parse_back():
    # a user law's parameters() may hold numpy floats; repr would write np.float64(2.0)
    spec = format_spec("gaussian", {"mean": [np.float64(0.5), np.float64(1.0)], "std": np.float64(2.0)})
    assert spec == "gaussian(mean=[0.5,1.0], std=2.0)"
    assert parse_law(spec) == Gaussian(mean=[0.5, 1.0], std=2)


@pytest.mark.parametrize("spec", ["", "   ", None, 3])
def test_empty_or_non_string_spec_is_refused(spec):
    with pytest.raises(InvalidParameterError, match=r"a law spec must be a non-empty string, got"):
        parse_law(spec)  # pyright: ignore[reportArgumentType]  # the wrong type is the point


def test_a_spec_that_is_python_but_not_a_law_call_lists_what_is_accepted():
    # an attribute access parses as Python but is neither name nor name(...)
    with pytest.raises(
        InvalidParameterError, match=r"cannot parse law spec 'laws\.gaussian'; accepted: gaussian,.*iid"
    ):
        parse_law("laws.gaussian")


def test_iid_needs_a_distribution_call():
    with pytest.raises(InvalidParameterError, match=r"write iid\(Dist\(args\)\), e\.g\. iid\(Logistic\(0, 1\)\)"):
        parse_law("iid(Logistic)")


def test_iid_refuses_a_mapping_of_parameters():
    with pytest.raises(InvalidParameterError, match=r"write the distribution's parameters out, not \*\*mapping"):
        parse_law("iid(Normal(**{'mean': 0, 'std': 1}))")


@pytest.mark.parametrize(
    ("spec", "why"),
    [("iid(Normal(0, -1))", "Standard deviation must be positive"), ("iid(Normal(0))", "missing 1 required")],
)
def test_iid_reports_what_sympy_refused(spec, why):
    with pytest.raises(InvalidParameterError, match=rf"sympy\.stats\.Normal refused the parameters: .*{why}"):
        parse_law(spec)


def test_iid_of_a_discrete_distribution_is_refused():
    with pytest.raises(InvalidParameterError, match=r"expected a continuous sympy\.stats univariate random symbol"):
        parse_law("iid(Poisson(1))")


def test_iid_parameters_are_the_distribution_call():
    law = parse_law("iid(Logistic(0, 1))")
    assert law.parameters() == {"dist": "Logistic(0, 1)"}
    assert isinstance(law, SympyIIDLaw) and law.spec == "iid(Logistic(0, 1))"


def test_iid_dist_domain_accepts_only_a_distribution_call():
    domain = SympyIIDLaw.law_params["dist"].domain
    assert domain.contains("Logistic(0, 1)")
    assert not domain.contains("Logistic(0, ")  # a syntax error, not an exception
    assert not domain.contains("Nonesuch(1)")


# -- user laws from files and modules ------------------------------------------------------
def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_law_instance_in_a_file_keeps_the_file_spec(tmp_path):
    path = _write(tmp_path, "laws.py", "from zoverify.perturbations import Gaussian\nWIDE = Gaussian(std=3)\n")
    law = parse_law(f"{path}:WIDE")
    assert isinstance(law, Gaussian) and law.std == 3
    assert law.spec == f"{path}:WIDE"  # reports name the source, which parses back
    assert parse_law(law.spec) == law


def test_a_file_python_cannot_import_is_refused(tmp_path):
    path = _write(tmp_path, "laws.txt", "WIDE = 1\n")  # no loader for a .txt suffix
    with pytest.raises(InvalidParameterError, match=r"laws\.txt cannot be loaded as a Python module"):
        parse_law(f"{path}:WIDE")


def test_an_error_while_importing_user_code_is_one_line(tmp_path):
    path = _write(tmp_path, "laws.py", "raise RuntimeError('no torch here')\n")
    with pytest.raises(InvalidParameterError, match=r"cannot load .*laws\.py: RuntimeError: no torch here"):
        parse_law(f"{path}:WIDE")


def test_a_missing_module_is_refused():
    with pytest.raises(InvalidParameterError, match=r"cannot load zoverify\.nonesuch: ModuleNotFoundError"):
        parse_law("zoverify.nonesuch:Law")


def test_a_missing_attribute_is_named(tmp_path):
    path = _write(tmp_path, "laws.py", "WIDE = 1\n")
    with pytest.raises(InvalidParameterError, match=r"laws\.py has no attribute 'NARROW'"):
        parse_law(f"{path}:NARROW")


def test_a_factory_that_raises_is_reported_with_its_error(tmp_path):
    path = _write(tmp_path, "laws.py", "def make():\n    raise ValueError('needs a dimension')\n")
    with pytest.raises(InvalidParameterError, match=r"calling make\(\) failed: ValueError: needs a dimension"):
        parse_law(f"{path}:make")


# -- parameter metadata --------------------------------------------------------------------
def test_domain_refuses_a_span_for_listed_values():
    assert OneOf(("uniform", "cyclic")).check_typical(Span(0, 1)) == (
        "typical must list values of one of 'uniform', 'cyclic', not a span"
    )


@pytest.mark.parametrize("typical", [(), ["uniform"]])
def test_domain_needs_a_non_empty_tuple_of_typical_values(typical):
    assert OneOf(("uniform",)).check_typical(typical) == (
        f"typical must be a non-empty tuple of values, got {typical!r}"
    )


@pytest.mark.parametrize("value", [True, "1", math.nan, math.inf, None])
def test_real_domain_holds_finite_numbers_only(value):
    assert not Real().contains(value)


def test_real_and_integer_domains_check_listed_typical_values():
    assert Real(0).check_typical((1.0, -1.0)) == "typical values [-1.0] are outside real numbers in (0, inf)"
    assert Real(0).check_typical((1.0, 2.5)) is None
    assert Integer(1, 4).check_typical((2, 5)) == "typical values [5] are outside integers in [1, 4]"
    assert Integer(1).check_typical((1, 3)) is None


@given(Real(0).strategy((0.5, 2.0)))
def test_real_strategy_draws_the_listed_typical_values(x):
    assert x in (0.5, 2.0)


@given(Integer(1).strategy((2, 7)))
def test_integer_strategy_draws_the_listed_typical_values(n):
    assert n in (2, 7)


@pytest.mark.parametrize(
    ("domain", "bad", "described"),
    [
        (RealOrVector(), "x", "a real number or a non-empty list of real numbers"),
        (IntegerPair(), (0, 3), "a pair (m, n) of positive integers"),
        (LawSpec("a zero-mean iid law spec", lambda s: s == "gaussian"), "sphere", "a zero-mean iid law spec"),
    ],
)
def test_test_values_outside_the_domain_are_named_with_its_description(domain, bad, described):
    typical = (bad,) if not isinstance(domain, LawSpec) else ("gaussian",)
    problems = LawParam(domain=domain, typical=typical, test_values=(bad,)).problems()
    assert f"test values [{bad!r}] are outside {described}" in problems


def test_test_values_must_be_a_tuple():
    with pytest.raises(InvalidParameterError, match=r"LawParam test_values must be a tuple, got \[1\]"):
        LawParam(domain=Integer(1), typical=Span(1, 3), test_values=[1])  # pyright: ignore[reportArgumentType]


class _Scaled(AbstractIIDLaw):
    """A law class declared the way a user declares one (never registered here)."""

    name = "scaled_for_metadata"
    law_params = {"k": LawParam(domain=Integer(1), typical=Span(1, 3))}

    def __init__(self, k):
        self.k = k

    def parameters(self):
        return {"k": self.k}

    def centred_moments(self):
        return {"var": sp.Integer(self.k)}


def test_a_required_parameter_needs_a_test_value():
    assert metadata_problems(_Scaled) == ["k: a parameter without a default needs at least one test value"]


def test_law_params_must_be_a_mapping():
    class NoMetadata(_Scaled):
        law_params = None  # pyright: ignore[reportAssignmentType]  # the missing declaration is the point

    assert metadata_problems(NoMetadata) == ["law_params must be a mapping of parameter name to LawParam, got None"]


def test_register_law_of_a_class_takes_no_factory():
    with pytest.raises(InvalidParameterError, match=r"register_law\(cls\) takes the class alone"):
        register_law(_Scaled, lambda: _Scaled(1))  # pyright: ignore[reportArgumentType]


def test_defaults_of_are_the_constructor_defaults():
    assert defaults_of(Gaussian) == {"mean": 0, "std": 1}
    assert defaults_of(SympyIIDLaw) == {}  # built from iid(Dist(...)): no default distribution


# -- dimensions ----------------------------------------------------------------------------
def test_a_vector_mean_fixes_the_dimension():
    law = Gaussian(mean=[0.5, -1.0])
    with pytest.raises(InvalidParameterError, match=r"fixed dimension 2; a symbolic dimension is not accepted"):
        law.second_moment(S.d)
    with pytest.raises(InvalidParameterError, match=r"mean of length 2; dimension 3 does not match"):
        law.second_moment(3)


@pytest.mark.parametrize("dim", [0, -1])
def test_dimension_must_be_positive(dim):
    with pytest.raises(InvalidParameterError, match=rf"dimension must be a positive integer, got {dim}"):
        parse_law("gaussian").second_moment(dim)
