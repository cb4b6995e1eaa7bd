"""Bad input to the numeric layer: each refusal has the error type the CLI maps to exit 2 and a message
that names the offending value and what is accepted.

Each case is the smallest input that crosses the boundary (a zero where a positive count is needed,
beta exactly 1, one step past the last), so a check moved by one fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify._rng import make_generator
from zoverify.numeric import curvature, data, difference, eos_training, hessian, mezo, stability_mc
from zoverify.numeric import stability_operator as so
from zoverify.numeric._batching import BatchAccumulator, BatchSums, LowerTailAccumulator
from zoverify.numeric.best_of import LinearizedProblem, simulate_best_of_zo
from zoverify.numeric.eos_curvature import Curvature, block_edge, edge_growth_rate
from zoverify.numeric.eos_edge import track_edge
from zoverify.numeric.function_space import RowSpace, RowSpaceSampler, simulate_function_space
from zoverify.numeric.nzk_estimate import estimate_shared_nzk
from zoverify.numeric.stepsize import stepsize
from zoverify.numeric.zo_training import simulate_zo_training, zo_step
from zoverify.perturbations import parse_law

GAUSSIAN = parse_law("gaussian")


def _gen(seed: int = 0) -> torch.Generator:
    return make_generator(seed)


def _raises(fn, exc, *words):
    with pytest.raises(exc) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, (word, message)
    return message


# --------------------------------------------------------------------------------- batching
def test_batch_sums_columns_take_batch_sums_only():
    sums = BatchSums(torch.zeros(2, 1), torch.zeros(1), 3, 6)
    # a plain tensor among them, or nothing at all: neither is a column of BatchSums
    _raises(
        lambda: BatchSums.columns([sums, torch.zeros(2, 1)]),
        InvalidParameterError,
        "one or more BatchSums side by side",
        "got ['BatchSums', 'Tensor']",
    )
    _raises(lambda: BatchSums.columns([]), InvalidParameterError, "one or more BatchSums", "got []")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: BatchAccumulator(10, num_batches=0), ("num_batches must be positive", "got 0")),
        (lambda: BatchAccumulator(0, num_batches=1), ("num_samples must be positive", "got 0")),
        (lambda: LowerTailAccumulator(0), ("keep must be positive", "got 0")),
        (lambda: LowerTailAccumulator(1).result(), ("no rows were added",)),
    ],
)
def test_accumulators_refuse_empty_streams(make, words):
    _raises(make, InvalidParameterError, *words)


def _weight_sq(m: torch.nn.Module) -> torch.Tensor:
    return (m.get_parameter("weight") ** 2).sum()


# ---------------------------------------------------------------------------------- best of
def _problem(device="cpu"):
    Phi = torch.eye(3, 2, dtype=torch.float64, device=device)
    return LinearizedProblem(Phi, torch.ones(3, dtype=torch.float64, device=device), torch.zeros(2, device=device))


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"variant": "intend"}, ("variant must be one of intended, broadcast", "'intend'")),
        ({"eta": 0.0}, ("eta > 0",)),
        ({"eps": 0.0}, ("eps > 0",)),
        ({"steps": -1}, ("steps >= 0",)),
        ({"num_trajectories": 0}, ("num_trajectories >= 1",)),
        ({"num_candidates": 0}, ("num_candidates must be a positive integer", "got 0")),
        ({"num_candidates": 1.5}, ("num_candidates must be a positive integer", "got 1.5")),
        ({"record": [3]}, ("record must name at least one step in [0, 2]", "(3,)")),
        ({"record": []}, ("record must name at least one step in [0, 2]",)),
    ],
)
def test_best_of_refuses_bad_options(kw, words):
    args = {"eta": 0.1, "steps": 2, "num_trajectories": 1, "generator": _gen(), **kw}
    _raises(lambda: simulate_best_of_zo(_problem(), **args), InvalidParameterError, *words)


def test_best_of_and_nzk_refuse_a_generator_on_another_device():
    # a meta tensor stands for an accelerator here: only the device type is compared before any work
    problem = _problem("meta")
    _raises(
        lambda: simulate_best_of_zo(problem, eta=0.1, steps=1, num_trajectories=1, generator=_gen()),
        InvalidParameterError,
        "the generator is on cpu but the problem on meta",
        "make_generator",
    )
    _raises(
        lambda: estimate_shared_nzk(torch.zeros(2, 3, device="meta"), law="gaussian", num_samples=4, generator=_gen()),
        InvalidParameterError,
        "the generator is on cpu but Phi on meta",
    )


# --------------------------------------------------------------------------------- curvature
def test_parameter_hessian_refuses_a_non_module_and_a_non_tensor_loss():
    _raises(
        lambda: curvature.ParameterHessian(torch.zeros(2), _weight_sq),  # pyright: ignore[reportArgumentType]
        InvalidParameterError,
        "model must be a torch.nn.Module",
        "got Tensor",
    )
    model = torch.nn.Linear(2, 1).double()
    _raises(
        lambda: curvature.ParameterHessian(model, lambda m: 1.0),  # pyright: ignore[reportArgumentType]
        InvalidParameterError,
        "loss_fn(model) must return a scalar tensor",
        "got float",
    )


class _SilentGrad(torch.autograd.Function):
    """Identity whose backward fails with a RuntimeError that carries no text."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError


class _SilentSecond(torch.autograd.Function):
    """x^2 / 2 whose gradient passes through _SilentGrad: the second derivative fails without a message."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (x * x).sum()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * _SilentGrad.apply(x)


def _cdist_loss(m):
    # torch has no derivative of _cdist_backward: the gradient exists, its derivative does not
    x = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3)
    return torch.cdist(m(x), m(x) + 1).sum()


@pytest.mark.parametrize(
    ("loss_fn", "cause"),
    [(_cdist_loss, "'_cdist_backward' is not implemented"), (lambda m: _SilentSecond.apply(m.weight), "RuntimeError")],
    ids=["torch op", "empty message"],
)
def test_hessian_vector_product_of_a_once_differentiable_loss_is_one_line(loss_fn, cause):
    model = torch.nn.Linear(3, 2).double()
    op = curvature.ParameterHessian(model, loss_fn)
    # the first line of torch's message, or the exception's type when it has none
    _raises(
        lambda: op.matvec(torch.ones(op.dim, dtype=torch.float64)),
        InvalidParameterError,
        "the loss is not twice differentiable by autograd: ",
        cause,
    )


# ------------------------------------------------------------------------------------- data
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: data.load_digits_binary((3, 3)), ("classes must be two distinct digits 0-9", "(3, 3)")),
        (lambda: data.load_digits_binary((3, 10)), ("classes must be two distinct digits 0-9", "(3, 10)")),
        (lambda: data.load_digits_binary(per_class=184), ("digit 3 has only 183 images", "asked for 184")),
        (lambda: data.load_digits_standardized((4,)), ("two or more distinct digits 0-9", "(4,)")),
        (lambda: data.load_digits_standardized((1, 1, 2)), ("two or more distinct digits 0-9", "(1, 1, 2)")),
    ],
)
def test_digits_loaders_refuse_bad_classes(call, words):
    _raises(call, InvalidParameterError, *words)


# ------------------------------------------------------------------------------- difference
def _quadratic_model():
    model = torch.nn.Linear(2, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -0.5]], dtype=torch.float64))
    return model


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"mu": 0.0}, ("mu must be a positive finite number", "got 0.0")),
        ({"mu": float("inf")}, ("mu must be a positive finite number", "got inf")),
        ({"mu": "0.1"}, ("mu must be a positive finite number", "got '0.1'")),
        ({"directions": 0}, ("directions must be positive", "got 0")),
    ],
)
def test_difference_error_refuses_bad_radius_and_count(kw, words):
    model = _quadratic_model()
    args = {"mu": 1e-3, "generator": _gen(), **kw}
    _raises(
        lambda: difference.difference_error(
            model, _weight_sq, [model.weight], torch.ones(2, dtype=torch.float64), GAUSSIAN, **args
        ),
        InvalidParameterError,
        *words,
    )


def test_difference_error_needs_a_gradient_some_direction_sees():
    model = _quadratic_model()
    _raises(
        lambda: difference.difference_error(
            model, _weight_sq, [model.weight], torch.zeros(2, dtype=torch.float64), GAUSSIAN,
            mu=1e-3, generator=_gen(),
        ),
        InvalidParameterError,
        "orthogonal to every direction",
    )  # fmt: skip


def test_difference_error_names_a_non_finite_loss_and_restores_the_parameters():
    model = _quadratic_model()
    before = model.weight.detach().clone()

    # finite at the parameters, infinite one radius away along any direction
    def loss(m):
        return torch.where((m.weight - before).abs().max() > 0, torch.tensor(float("inf")), (m.weight**2).sum())

    message = _raises(
        lambda: difference.difference_error(
            model, loss, [model.weight], torch.ones(2, dtype=torch.float64), GAUSSIAN, mu=0.25, generator=_gen()
        ),
        InvalidParameterError,
        "the loss is not finite at the parameters moved by",
    )
    assert "0.25" in message
    assert torch.equal(model.weight.detach(), before)


# ---------------------------------------------------------------------------- eos curvature
def _one_mode(lam=(2.0, 1.0)) -> Curvature:
    eig = np.asarray(lam, float)
    return Curvature(float(eig.sum()), float(eig.max()), float(eig.sum()), 0.0, eig, np.eye(eig.size))


@pytest.mark.parametrize(
    ("blocks", "q", "words"),
    [(0, 1, "got 0, 1"), (3, 1, "got 3, 1"), (1, 0, "got 1, 0"), (1, 1.5, "got 1, 1.5")],
)
def test_block_edge_refuses_blocks_outside_the_dimension(blocks, q, words):
    _raises(lambda: block_edge(_one_mode(), blocks=blocks, q=q), InvalidParameterError, "blocks must be in 1..2", words)


def test_growth_rate_refuses_a_step_too_wide_to_bracket_the_perron_root():
    # one mode, Gaussian: rho(eta) - 1 ~ (4/3) ln(eta/eta*), so +-20% moves rho by ~0.25, past the widest bracket
    _raises(lambda: edge_growth_rate(_one_mode((1.0,)), "gaussian", rel_step=0.2), NotApplicableError, "bracketed")


@pytest.fixture(scope="module")
def digits():
    return eos_training.digits_problem(num_samples=20, components=2, hidden=(2,))


def _run(problem, steps=1, record=(0,)):
    init, dirs = eos_training.replicate_generators(0, 1)
    return eos_training.train(problem, problem.init(init), optimizer="fo", eta=0.1, steps=steps, record=record)


@pytest.mark.parametrize(
    "law", ["block(blocks=2, order='cyclic')", "block(blocks=2)"], ids=["cyclic order", "momentum"]
)
def test_track_edge_block_law_is_zo_gd_with_uniform_order(digits, law):
    beta = 0.5 if "cyclic" not in law else 0.0
    _raises(
        lambda: track_edge(digits, _run(digits), eta=0.1, law=law, beta=beta),
        InvalidParameterError,
        "ZO-GD with uniform order",
    )


def test_track_edge_needs_a_law_for_zo(digits):
    _raises(lambda: track_edge(digits, _run(digits), eta=0.1), InvalidParameterError, "law=")


# ----------------------------------------------------------------------------- eos training
@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"num_samples": 1}, ("num_samples must be in 2..1797", "got 1")),
        ({"num_samples": 1798}, ("num_samples must be in 2..1797", "got 1798")),
        ({"hidden": ()}, ("hidden must list positive widths", "got ()")),
        ({"hidden": (2, 0)}, ("hidden must list positive widths", "got (2, 0)")),
    ],
)
def test_digits_problem_refuses_bad_sizes(kw, words):
    _raises(lambda: eos_training.digits_problem(**({"components": 2} | kw)), InvalidParameterError, *words)


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"steps": -1}, ("steps must be a non-negative integer", "got -1")),
        ({"steps": 1.5}, ("steps must be a non-negative integer", "got 1.5")),
        ({"q": 0}, ("q (directions per step) must be a positive integer", "got 0")),
        ({"mu": 0.0}, ("mu (finite-difference radius) must be positive", "got 0.0")),
        ({"beta": 1.0}, ("beta must be in [0, 1)", "got 1.0")),
        ({"record": [2]}, ("record steps must lie in 0..1", "got (2,)")),
        ({"record": [-1]}, ("record steps must lie in 0..1", "got (-1,)")),
        ({"generators": None}, ("one direction generator per replicate", "got none for 1 replicate")),
        ({"generators": []}, ("one direction generator per replicate", "got 0 for 1 replicate")),
    ],
)
def test_train_refuses_bad_options(digits, kw, words):
    init, dirs = eos_training.replicate_generators(0, 1)
    args = {"optimizer": "zo", "eta": 0.1, "steps": 1, "record": [1], "generators": dirs} | kw
    _raises(lambda: eos_training.train(digits, digits.init(init), **args), InvalidParameterError, *words)


def test_train_refuses_theta0_of_the_wrong_shape(digits):
    theta0 = torch.zeros(digits.dim, dtype=torch.float64)  # one replicate, but without its row axis
    _raises(
        lambda: eos_training.train(digits, theta0, optimizer="fo", eta=0.1, steps=1, record=[1]),
        InvalidParameterError,
        f"theta0 must have shape (replicates, {digits.dim})",
        f"got ({digits.dim},)",
    )


# --------------------------------------------------------------------------- function space
def test_row_space_rank_cannot_exceed_its_dimension():
    space = RowSpace(torch.eye(3, dtype=torch.float64), 2)  # a rank-3 factor claimed to live in d = 2
    _raises(lambda: RowSpaceSampler(space, GAUSSIAN), InvalidParameterError, "rank 3", "dimension 2")


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"method": "independent"}, ("supports methods 'shared' and 'zo_gd'", "'independent'")),
        ({"eta": 0.0}, ("eta > 0",)),
        ({"steps": -1}, ("steps >= 0",)),
        ({"num_trajectories": 0}, ("num_trajectories >= 1",)),
    ],
)
def test_function_space_refuses_bad_options(kw, words):
    args = {"law": "gaussian", "method": "shared", "eta": 0.1, "steps": 1, "num_trajectories": 1} | kw
    X = torch.eye(2, 3, dtype=torch.float64)
    _raises(
        lambda: simulate_function_space(X, torch.ones(2, dtype=torch.float64), generator=_gen(), **args),
        InvalidParameterError,
        *words,
    )


# ---------------------------------------------------------------------------------- hessian
def test_lanczos_and_trace_estimators_refuse_too_few_products():
    def identity(v):
        return v

    _raises(
        lambda: hessian.lanczos(identity, 3, num_iters=0, generator=_gen()),
        InvalidParameterError,
        "num_iters must be positive",
        "got 0",
    )
    _raises(
        lambda: hessian.hutchinson_trace(identity, 3, num_probes=1, generator=_gen()),
        InvalidParameterError,
        "at least 2 probes",
    )
    _raises(
        lambda: hessian.hutchpp_trace(identity, 3, num_matvecs=2, generator=_gen()),
        InvalidParameterError,
        "at least 3 matrix-vector products",
    )


# ------------------------------------------------------------------------------------- mezo
def test_zo_step_refuses_no_parameters_a_bad_restore_and_a_block_out_of_range():
    _raises(lambda: mezo.ZOStep([]), InvalidParameterError, "at least one parameter tensor")
    p = torch.zeros(4, dtype=torch.float64)
    _raises(lambda: mezo.ZOStep([p], restore="copy"), InvalidParameterError, "'exact' or 'naive'", "'copy'")
    step = mezo.ZOStep([p], num_blocks=2)
    _raises(
        lambda: step.projected_gradient(lambda: p.sum(), eps=1e-3, seed=0, block=2),
        InvalidParameterError,
        "block must be in 0..1",
        "got 2",
    )


def test_bcd_chains_refuse_beta_one():
    _raises(
        lambda: mezo.bcd_chain_second_moments(
            parse_law("block(blocks=2)"), np.eye(2), np.ones(2), eta=0.1, record=(2,), num_chains=1,
            generator=_gen(), beta=1.0,
        ),
        InvalidParameterError,
        "beta must be in [0, 1)",
        "got 1.0",
    )  # fmt: skip


# ----------------------------------------------------------------------------- stability mc
def test_stability_mc_refuses_a_bad_difference_queries_and_preconditioner():
    x = torch.zeros(1, 2, dtype=torch.float64)
    _raises(
        lambda: stability_mc.zo_gradient(lambda y: y.sum(-1), x, x, mu=1e-3, difference="backward"),
        InvalidParameterError,
        "'central' or 'forward'",
        "'backward'",
    )
    _raises(
        lambda: stability_mc.sample_estimator_moments(
            GAUSSIAN, np.eye(2), num_samples=4, num_groups=2, generator=_gen(), q=0
        ),
        InvalidParameterError,
        "queries must be a positive integer",
        "got 0",
    )
    # the jackknife's smallest layout is 2 groups of 2 steps: 3 steps are one short
    _raises(
        lambda: stability_mc.sample_estimator_moments(
            GAUSSIAN, np.eye(2), num_samples=3, num_groups=2, generator=_gen()
        ),
        InvalidParameterError,
        "at least 2 groups of at least 2 steps",
        "got 3 samples for 2 groups",
    )
    _raises(
        lambda: stability_mc.mc_eta_star_method(
            GAUSSIAN, np.eye(2), num_samples=4, generator=_gen(), num_groups=2, P=np.eye(2)
        ),
        InvalidParameterError,
        "only used with method 'adam'",
    )


# ----------------------------------------------------------------------- stability operator
@pytest.mark.parametrize(
    ("P", "words"),
    [
        (np.array([[1.0, 0.5], [0.0, 1.0]]), ("finite symmetric",)),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), ("finite symmetric",)),
        (np.array([1.0, 0.0]), ("positive definite",)),
    ],
)
def test_preconditioner_must_be_symmetric_positive_definite(P, words):
    _raises(lambda: so.validate_preconditioner(P, 2), InvalidParameterError, "preconditioner must be", *words)


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"method": "sgd"}, ("method must be one of gd, gdm, adam", "'sgd'")),
        ({"method": "gdm", "beta": 1.0}, ("beta must be in [0, 1)", "got 1.0")),
        ({"q": 0}, ("queries must be a positive integer", "got 0")),
        ({"q": 1.5}, ("queries must be a positive integer", "got 1.5")),
    ],
)
def test_operators_refuse_bad_method_beta_and_queries(kw, words):
    for cls in (so.StructuredOperator, so.DenseOperator):
        _raises(lambda cls=cls: cls(GAUSSIAN, np.eye(2), **kw), InvalidParameterError, *words)


def test_dense_operator_refuses_a_preconditioner_without_adam_and_a_non_invariant_null_space():
    _raises(
        lambda: so.DenseOperator(GAUSSIAN, np.eye(2), P=np.eye(2)),
        InvalidParameterError,
        "only used with method 'adam'",
    )
    # H singular and P not commuting with it: the null space of H is not invariant under K H
    _raises(
        lambda: so.DenseOperator(
            GAUSSIAN, np.diag([1.0, 0.0]), method="adam", beta=0.5, P=np.array([[2.0, 1.0], [1.0, 2.0]])
        ),
        NotApplicableError,
        "singular H",
        "give a positive definite H",
    )


def test_mean_square_norms_need_a_positive_definite_h_for_a_law_that_is_not_rotation_invariant():
    op = so.DenseOperator(parse_law("rademacher"), np.diag([1.0, 0.0]))
    _raises(
        lambda: op.mean_square_norms([1.0, 1.0], 0.1, [1]), InvalidParameterError, "positive definite H", "null-space"
    )


def test_radius_near_one_refuses_a_bracket_outside_zero_one():
    op = so.StructuredOperator(GAUSSIAN, np.eye(2))
    for width, grow in ((1.0, 10.0), (0.0, 10.0), (0.1, 1.0)):
        _raises(
            lambda w=width, g=grow: op.radius_near_one(0.1, width=w, grow=g),
            InvalidParameterError,
            "width must be in (0, 1) and grow above 1",
            f"got {width}, {grow}",
        )


def test_critical_step_size_solver_choices():
    _raises(
        lambda: so.critical_step_size(GAUSSIAN, np.eye(2), solver="exact"),
        InvalidParameterError,
        "solver must be auto, structured or dense",
        "'exact'",
    )
    # a preconditioner that does not commute with H: "structured" reports why instead of falling back
    P = np.array([[2.0, 1.0], [1.0, 2.0]])
    _raises(
        lambda: so.critical_step_size(GAUSSIAN, np.diag([1.0, 2.0]), method="adam", beta=0.5, P=P, solver="structured"),
        NotApplicableError,
        "P H = H P",
    )
    # a law without the structured form needs the dense operator, which stops one past dense_max_dim
    _raises(
        lambda: so.critical_step_size(parse_law("block(blocks=2)"), np.eye(3), dense_max_dim=2),
        NotApplicableError,
        "limited to d <= 2",
        "got d = 3",
    )


def test_mean_threshold_refuses_complex_eigenvalues_of_k_m2_h():
    # iid N(1, 1) coordinates: E zz^T = I + 11^T, anisotropic, so K M2 H (three SPD factors) can be complex
    law = parse_law("iid(Normal(1, 1))")
    P = np.array([[0.043, 0.067], [0.067, 0.431]])
    H = np.array([[0.428, -0.356], [-0.356, 2.607]])
    nu = np.linalg.eigvals(np.linalg.inv(P) @ (np.eye(2) + np.ones((2, 2))) @ H)
    assert np.abs(nu.imag).max() > 0.1 * np.abs(nu).max()  # the case is what it says
    _raises(
        lambda: so.mean_threshold(law, H, method="adam", beta=0.5, P=P),
        NotApplicableError,
        "complex eigenvalues",
    )


def test_first_crossing_reports_an_operator_that_never_turns_unstable():
    # the radius never reaches 1 however far the bracket grows
    _raises(lambda: so._first_crossing(lambda eta: -1.0 / (1.0 + eta), 1.0), NotApplicableError, "stays stable")


# --------------------------------------------------------------------------------- stepsize
@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"method": "adam"}, ("method must be gd or gdm", "'adam'")),
        ({"accuracy": 0.0}, ("accuracy must be a relative half-width in (0, 1)", "got 0.0")),
        ({"accuracy": 1.0}, ("accuracy must be a relative half-width in (0, 1)", "got 1.0")),
        ({"confidence": 1.0}, ("confidence must be in (0, 1)", "got 1.0")),
        ({"difference_directions": 0}, ("difference_directions must be positive", "got 0")),
        ({"batch_loss_fn": "loss"}, ("batch_loss_fn must be callable(model, generator)", "got str")),
        ({"batch_loss_fn": lambda m, g: m.weight.sum(), "minibatch_draws": 1}, ("minibatch_draws >= 2", "got 1")),
    ],
)
def test_stepsize_refuses_bad_options_before_any_work(kw, words):
    def loss(m):
        raise AssertionError("the options are checked before the loss is evaluated")

    model = torch.nn.Linear(2, 1).double()
    args = {"method": "gd", "beta": 0.0} | kw
    _raises(lambda: stepsize(model, loss, **args), InvalidParameterError, *words)


# ------------------------------------------------------------------------------ zo training
def test_zo_step_independent_needs_its_second_direction():
    r, X, z = torch.ones(1, 2), torch.eye(2, 3), torch.ones(1, 3)
    _raises(
        lambda: zo_step(r, X, z, None, method="independent", eta=0.1, eps=None),
        InvalidParameterError,
        "method 'independent' needs the second direction zeta",
    )


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"eta": 0.0}, ("eta must be positive", "got 0.0")),
        ({"steps": -1}, ("steps >= 0",)),
        ({"num_trajectories": 0}, ("num_trajectories >= 1",)),
        ({"block_size": 0}, ("block_size >= 1",)),
    ],
)
def test_simulate_zo_training_refuses_bad_options(kw, words):
    args = {"law": "gaussian", "method": "shared", "eta": 0.1, "steps": 1, "num_trajectories": 1} | kw
    X = torch.eye(2, 3, dtype=torch.float64)
    _raises(
        lambda: simulate_zo_training(X, torch.ones(2, dtype=torch.float64), generator=_gen(), **args),
        InvalidParameterError,
        *words,
    )
