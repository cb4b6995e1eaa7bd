"""Subjects under the audit's contracts: each bad spec, import, output and query is refused with one
SubjectError that names the contract item and what was expected."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoverify._errors import InvalidParameterError
from zoverify.perturbations import parse_law
from zoverify.subjects import (
    EstimatorSubject,
    OptimizerSubject,
    QueryLog,
    SubjectError,
    TorchUpdateSubject,
    load_callable,
    reference_estimator,
    reference_optimizer,
)
from zoverify.subjects.contracts import as_vector

GAUSSIAN = parse_law("gaussian")


def _raises(fn, prop, *words):
    with pytest.raises(SubjectError) as info:
        fn()
    assert info.value.prop == prop
    text = str(info.value)
    assert text.startswith(f"{prop}: ")
    for w in words:
        assert w in text, text


# ------------------------------------------------------------------ loading a spec
def test_a_spec_without_a_colon_is_refused_with_both_forms():
    _raises(lambda: load_callable("numpy.linalg"), "load", "'package.module:callable' or 'path/to/file.py:callable'")


def test_a_spec_without_a_name_after_the_colon_is_refused():
    _raises(lambda: load_callable("numpy:"), "load", "needs both a module or file and a callable name")


def test_a_spec_naming_a_non_callable_is_refused():
    _raises(lambda: load_callable("math:pi"), "load", "math:pi is a float, not a callable")


def test_a_missing_file_is_refused(tmp_path):
    where = str(tmp_path / "absent.py")
    _raises(lambda: load_callable(f"{where}:f"), "load", f"no file {where}")


def test_a_file_whose_import_raises_is_one_line_and_can_be_fixed(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("raise ValueError('half written')\n")
    _raises(lambda: load_callable(f"{path}:f"), "load", "raised ValueError: half written")
    # the failed module is not cached: once fixed, the same spec loads
    path.write_text("def f(dim, seed):\n    return None\n")
    assert callable(load_callable(f"{path}:f"))


def test_a_folder_named_like_a_file_is_no_file(tmp_path):
    folder = tmp_path / "pkg.py"
    folder.mkdir()
    _raises(lambda: load_callable(f"{folder}:f"), "load", "no file")


def test_a_module_whose_import_raises_is_refused():
    _raises(lambda: load_callable("zoverify_no_such_module_here:f"), "load", "raised ModuleNotFoundError")


# ------------------------------------------------------------------ calling a subject
def _estimator(estimate):
    return EstimatorSubject(lambda dim, seed: estimate).instance(3, 0)


def _f(x):
    return float(x @ x)


def test_an_exception_in_the_subject_names_the_call():
    def estimate(f, x):
        raise KeyError("state")

    _raises(lambda: _estimator(estimate)(_f, np.zeros(3)), "runs", "estimate(f, x) raised KeyError")


def test_a_gradient_asked_of_a_tensor_without_grad_is_named_as_a_gradient():
    def estimate(f, x):
        torch.zeros(3).sum().backward()  # "does not require grad and does not have a grad_fn"
        return np.zeros(3)

    _raises(lambda: _estimator(estimate)(_f, np.zeros(3)), "no gradients", "asked for a gradient")


def test_a_contract_error_inside_the_subject_keeps_its_own_item():
    # f refuses a point of the wrong length; the guard passes that SubjectError on, not as "runs"
    _raises(lambda: _estimator(lambda f, x: f(np.zeros(4)))(_f, np.zeros(3)), "queries", "shape (4,); f takes (3,)")


def test_a_factory_that_returns_no_callable_is_refused():
    subject = EstimatorSubject(lambda dim, seed: np.zeros(dim))
    _raises(lambda: subject.instance(3, 0), "contract", "returned ndarray; expected a callable estimate(f, x)")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (torch.zeros(3, dtype=torch.float64), "a torch tensor; the contract asks for a float64 numpy vector"),
        ([0.0, 0.0, 0.0], "returned list; the contract asks for a float64 numpy vector"),
        (np.zeros(4), "shape (4,); expected (3,)"),
        (np.zeros(3, dtype=np.float32), "dtype float32; expected float64"),
        (np.array([0.0, np.inf, 0.0]), "NaN or inf"),
    ],
)
def test_an_output_off_the_contract_is_named(value, words):
    _raises(lambda: as_vector(value, 3, what="estimate(f, x)"), "output", "estimate(f, x) returned", words)


def test_f_refuses_a_tensor_that_requires_grad():
    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    _raises(lambda: _estimator(lambda f, _: f(x))(_f, np.zeros(3)), "no gradients", "requires grad")


def test_f_takes_a_tensor_without_grad_as_its_values():
    def estimate(f, x):
        return np.full(3, f(torch.ones(3, dtype=torch.float64)))

    instance = _estimator(estimate)
    assert instance(_f, np.zeros(3)).tolist() == [3.0, 3.0, 3.0]  # f(1, 1, 1) = 3
    assert instance.log.points[0].tolist() == [1.0, 1.0, 1.0]


def test_f_refuses_a_point_with_nan():
    _raises(lambda: _estimator(lambda f, x: f(x * np.nan))(_f, np.ones(3)), "queries", "NaN or inf")


def test_one_query_is_no_pattern():
    log = QueryLog([np.ones(3)], [1.0])
    scheme, q, offsets = log.pattern(np.zeros(3))
    assert (scheme, q) == (None, None)
    assert offsets.tolist() == [[1.0, 1.0, 1.0]]


def test_an_optimizer_step_is_validated():
    subject = OptimizerSubject(lambda x0, lr, seed: lambda f: np.zeros(x0.size + 1))
    _raises(lambda: subject.instance(np.zeros(2), 0.1, 0).step(_f), "output", "step(f) returned shape (3,)")


# ------------------------------------------------------------------ torch updates
def _model():
    model = torch.nn.Linear(2, 1).to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.5)
    return model


def _loss(m):
    return sum((p**2).sum() for p in m.parameters())


def test_an_update_that_calls_the_loss_on_another_module_is_refused():
    def update(model, loss_fn, lr, seed):
        loss_fn(torch.nn.Linear(2, 1))

    _raises(lambda: TorchUpdateSubject(update).apply(_model(), _loss, 0.1, 0), "contract", "another module")


def test_a_loss_that_is_not_a_scalar_tensor_is_refused():
    def update(model, loss_fn, lr, seed):
        loss_fn(model)

    subject = TorchUpdateSubject(update)
    _raises(lambda: subject.apply(_model(), lambda m: 1.0, 0.1, 0), "contract", "scalar tensor")
    _raises(lambda: subject.apply(_model(), lambda m: m.weight, 0.1, 0), "contract", "scalar tensor")


def test_a_loss_queried_at_nan_parameters_is_refused():
    def update(model, loss_fn, lr, seed):
        with torch.no_grad():
            model.bias.fill_(float("nan"))
        loss_fn(model)

    _raises(lambda: TorchUpdateSubject(update).apply(_model(), _loss, 0.1, 0), "queries", "NaN or inf")


def test_an_update_returning_something_else_than_none_is_refused():
    _raises(
        lambda: TorchUpdateSubject(lambda *a: "done").apply(_model(), _loss, 0.1, 0),
        "contract",
        "update returned str; the contract returns None",
    )


def test_an_update_that_leaves_a_grad_is_refused():
    def update(model, loss_fn, lr, seed):
        model.weight.grad = torch.zeros_like(model.weight)

    _raises(lambda: TorchUpdateSubject(update).apply(_model(), _loss, 0.1, 0), "no gradients", "has a .grad")


def test_an_update_that_changes_a_dtype_is_refused():
    def update(model, loss_fn, lr, seed):
        model.bias.data = model.bias.data.float()

    _raises(
        lambda: TorchUpdateSubject(update).apply(_model(), _loss, 0.1, 0),
        "output",
        "shape or dtype ((1,) torch.float64 -> (1,) torch.float32)",
    )


def test_an_update_that_leaves_inf_is_refused():
    def update(model, loss_fn, lr, seed):
        with torch.no_grad():
            model.weight.fill_(float("inf"))

    _raises(lambda: TorchUpdateSubject(update).apply(_model(), _loss, 0.1, 0), "output", "NaN or inf in the parameters")


# ------------------------------------------------------------------ the references' own arguments
@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"scheme": "backward"}, "scheme must be one of central, forward, got 'backward'"),
        ({"mu": 0.0}, "mu must be positive, got 0.0"),
        ({"queries": 1.5}, "queries must be a positive integer, got 1.5"),
        ({"queries": 0}, "queries must be a positive integer, got 0"),
    ],
)
def test_the_reference_estimator_refuses_a_bad_setting(kwargs, words):
    with pytest.raises(InvalidParameterError, match=words.replace("(", r"\(")):
        reference_estimator(GAUSSIAN, **kwargs)


def test_the_reference_optimizer_refuses_an_unknown_method():
    with pytest.raises(InvalidParameterError, match="method must be one of gd, gdm, adam, got 'sgd'"):
        reference_optimizer(GAUSSIAN, method="sgd")
