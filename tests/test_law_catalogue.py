"""The law catalogue: metadata on every law, the lists derived from it, registration in one step.

Moment correctness of each law is tested in test_perturbations_*.py and
test_structured_laws.py (over the same derived specs); here: that the derived
lists are what the registry holds, that a user law class with metadata registers
in one step, that bad metadata is refused with the reason, and that laws and the
symbolic layer import without torch.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as hs

from zoverify._errors import InvalidParameterError
from zoverify.perturbations import (
    LAWS,
    AbstractIIDLaw,
    Integer,
    LawParam,
    OneOf,
    Real,
    Span,
    catalogue,
    law_names,
    parse_law,
    register_law,
)
from zoverify.perturbations._registry import metadata_problems
from zoverify.testing import law_specs, laws_and_dims


@pytest.fixture
def restore_registry():
    before = dict(LAWS)
    yield
    LAWS.clear()
    LAWS.update(before)


def test_builtin_laws_register_in_the_declared_order():
    assert law_names()[: len(catalogue.BUILTIN_LAWS)] == [cls.name for cls in catalogue.BUILTIN_LAWS]
    for cls in catalogue.BUILTIN_LAWS:
        assert LAWS[cls.name] is cls


@pytest.mark.parametrize("cls", catalogue.BUILTIN_LAWS + catalogue.GRAMMAR_FAMILIES, ids=lambda c: c.name)
def test_every_family_has_complete_metadata(cls):
    assert metadata_problems(cls) == []
    assert catalogue.families()[cls.name] is cls


def test_families_are_the_registered_classes_then_the_grammar_ones():
    registered = [n for n, f in LAWS.items() if isinstance(f, type) and hasattr(f, "law_params")]
    assert list(catalogue.families()) == registered + [f.name for f in catalogue.GRAMMAR_FAMILIES]


def test_default_specs_are_every_familys_test_laws_in_order():
    expected = []
    for name, cls in catalogue.families().items():
        specs = catalogue.test_specs(name)
        counts = [len(p.test_values) for p in cls.law_params.values()]
        assert len(specs) == max(counts + [1])
        expected += specs
    assert catalogue.default_specs() == tuple(expected)
    assert len(set(expected)) == len(expected)


@pytest.mark.parametrize("spec", catalogue.default_specs())
def test_each_default_spec_parses_back_to_itself(spec):
    law = parse_law(spec)
    assert law.spec == spec
    assert parse_law(law.spec) == law


def test_kth_test_law_takes_the_kth_test_value_of_every_parameter():
    # the Gaussian pairs means with standard deviations; each law equals one built by hand
    gaussian = catalogue.family("gaussian")
    by_hand = [gaussian(), gaussian(mean=0.5, std=2), gaussian(mean=[0.3, -0.5, 0.2], std=0.7)]
    assert [parse_law(s) for s in catalogue.test_specs("gaussian")] == by_hand
    laplace = [parse_law(s) for s in catalogue.test_specs("laplace")]
    assert [law.b for law in laplace] == [sp.Rational(3, 5)]


def test_unknown_family_is_named():
    with pytest.raises(Exception, match="no law family 'gausian'.*known: gaussian"):
        catalogue.family("gausian")


# -- a user law in one step ------------------------------------------------------------
class Scaled(AbstractIIDLaw):
    """z_i = s x_i with x_i = +-1: iid, var s^2, m4 s^4."""

    name = "scaled_sign"
    law_params = {"s": LawParam(domain=Real(0), typical=Span(0.5, 2.0), test_values=(0.5, 1.5))}

    def __init__(self, s=1):
        self.s = sp.nsimplify(s)

    def parameters(self):
        return {"s": float(self.s)}

    def centred_moments(self):
        return {"var": self.s**2, "m3": sp.Integer(0), "m4": self.s**4}

    def _sample_centred(self, shape, generator, dtype):
        import torch

        bits = torch.randint(0, 2, shape, generator=generator, device=generator.device)
        return float(self.s) * (2 * bits - 1).to(dtype)


def test_user_law_class_registers_in_one_step(restore_registry):
    assert register_law(Scaled) is Scaled
    assert "scaled_sign" in law_names()
    assert parse_law("scaled_sign(s=0.5)").centred_moments()["m4"] == sp.Rational(1, 16)
    assert catalogue.test_specs("scaled_sign") == ["scaled_sign(s=0.5)", "scaled_sign(s=1.5)"]
    assert {"scaled_sign(s=0.5)", "scaled_sign(s=1.5)"} <= set(catalogue.default_specs())


def test_user_law_file_is_the_only_edit(tmp_path, restore_registry):
    """A new law in one file: the class with its metadata and one register_law call."""
    path = tmp_path / "bimodal.py"
    path.write_text(
        "import sympy as sp\n"
        "from zoverify.perturbations import AbstractIIDLaw, LawParam, Real, Span, register_law\n\n"
        "class Bimodal(AbstractIIDLaw):\n"
        "    name = 'bimodal'\n"
        "    law_params = {'a': LawParam(domain=Real(0), typical=Span(0.5, 2.0), test_values=(0.7,))}\n"
        "    def __init__(self, a=1):\n"
        "        self.a = sp.nsimplify(a)\n"
        "    def parameters(self):\n"
        "        return {'a': float(self.a)}\n"
        "    def centred_moments(self):\n"
        "        return {'var': self.a**2, 'm3': sp.Integer(0), 'm4': self.a**4}\n"
        "    def _sample_centred(self, shape, generator, dtype):\n"
        "        import torch\n"
        "        bits = torch.randint(0, 2, shape, generator=generator, device=generator.device)\n"
        "        return float(self.a) * (2 * bits - 1).to(dtype)\n\n"
        "register_law(Bimodal)\n"
    )
    spec = importlib.util.spec_from_file_location("bimodal_law", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert parse_law("bimodal(a=0.7)").second_moment(3).as_explicit() == sp.Rational(49, 100) * sp.eye(3)
    assert "bimodal(a=0.7)" in catalogue.default_specs()


@given(hs.data())
def test_strategy_draws_a_registered_user_law(data):
    before = dict(LAWS)
    try:
        register_law(Scaled)
        spec = data.draw(law_specs(families=["scaled_sign"]))
        value = parse_law(spec).s
        assert sp.Rational(1, 2) <= value <= 2
    finally:
        LAWS.clear()
        LAWS.update(before)


# -- bad metadata is refused with the reason ---------------------------------------------
def _variant(**attrs):
    return type("Variant", (Scaled,), attrs)


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"law_params": {}}, r"constructor parameters \['s'\] have no LawParam"),
        (
            {"law_params": {"s": LawParam(domain=Real(0), typical=Span(0.5, 2.0)), "t": Scaled.law_params["s"]}},
            r"law_params names \['t'\] that the constructor does not take",
        ),
        (
            {"law_params": {"s": LawParam(domain=Real(0), typical=Span(0.5, 2.0), test_values=(-0.02,))}},
            r"s: test values \[-0.02\] are outside real numbers in \(0, inf\)",
        ),
        (
            {"law_params": {"s": LawParam(domain=Real(0), typical=Span(-0.02, 2.0))}},
            r"s: typical span \[-0.02, 2.0\] is not inside real numbers in \(0, inf\)",
        ),
        (
            {"law_params": {"s": LawParam(domain=Integer(1), typical=Span(1, 3), test_values=(1.5,))}},
            r"test values \[1.5\] are outside integers >= 1",
        ),
        (
            {"law_params": {"s": LawParam(domain=OneOf((1, 2)), typical=(1, 3))}},
            r"typical values \[3\] are outside one of 1, 2",
        ),
        ({"law_params": {"s": "positive"}}, r"entries \['s'\] are not LawParam"),
        ({"name": "iid"}, r"other than 'iid'"),
        ({"name": "two words"}, r"must be a Python identifier"),
    ],
)
def test_bad_metadata_is_refused_with_the_reason(attrs, message, restore_registry):
    with pytest.raises(InvalidParameterError, match=message):
        register_law(_variant(**attrs))
    assert "scaled_sign" not in LAWS and "Variant" not in LAWS


def test_lawparam_refuses_a_non_domain():
    with pytest.raises(InvalidParameterError, match="domain must be a Domain"):
        LawParam(domain=(0, None), typical=Span(0.5, 2.0))


def test_register_law_by_name_still_takes_a_factory(restore_registry):
    register_law("half_gaussian_std", lambda: parse_law("gaussian(std=0.5)"))
    assert parse_law("half_gaussian_std").spec == "gaussian(std=0.5)"
    with pytest.raises(InvalidParameterError, match="factory must be callable"):
        register_law("broken", None)
    with pytest.raises(InvalidParameterError, match="subclass of zoverify.perturbations.AbstractLaw"):
        register_law(object)


# -- strategies ------------------------------------------------------------------------
@given(law_and_dim=laws_and_dims(max_dim=12))
def test_laws_and_dims_draw_a_dimension_the_law_takes(law_and_dim):
    law, d = law_and_dim
    law.check_dim(d)
    assert law.second_moment(d).shape == (d, d)


def test_law_specs_refuses_unknown_families():
    with pytest.raises(ValueError, match="unknown law families"):
        law_specs(families=["gausian"])


# -- layers ----------------------------------------------------------------------------
def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_laws_and_their_moments_do_not_import_torch():
    loaded = _modules_after(
        "import sympy, zoverify.perturbations as p\n"
        "p.parse_law('laplace(b=0.6)').fourth_moment(sympy.Identity(3), 3)\n"
        "p.parse_law('block(blocks=2)').fourth_moment(sympy.Identity(4), 4)\n"
        "p.default_specs()"
    )
    assert "zoverify.perturbations" in loaded and "torch" not in loaded


def test_symbolic_layer_imports_neither_laws_nor_numeric_nor_torch():
    loaded = _modules_after(
        "import zoverify.symbolic, zoverify.symbolic.nzk, zoverify.symbolic.entk, zoverify.symbolic.stability\n"
        "import zoverify.symbolic.structured, zoverify.symbolic.bcd_stability, zoverify.symbolic.best_of"
    )
    assert "zoverify.moment_maps" in loaded
    assert not {"torch", "zoverify.perturbations", "zoverify.numeric"} & loaded
