"""The batched ZO training engine and the Jacobian features."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as hs

from zoverify import nzk as sym
from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify._rng import make_generator
from zoverify.numeric.linearize import (
    directional_derivatives,
    jacobian_features,
    make_mlp,
    network_output,
)
from zoverify.numeric.zo_training import (
    kernel_gradient_descent,
    simulate_zo_training,
    zo_step,
)
from zoverify.perturbations import parse_law
from zoverify.verify.decision import BatchMeans

U = np.finfo(np.float64).eps


def assert_same_up_to_gemm_rounding(a, b):
    """Same random draws; only BLAS's shape-dependent summation order differs (a few ulps per step)."""
    scale = 1 + float(a.abs().max())
    assert torch.allclose(a, b, rtol=0, atol=64 * U * scale)


def _problem(seed=0, n=6, d=3, device="cpu"):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    theta_gt = rng.integers(1, 10, d).astype(float)
    y = X @ theta_gt
    theta0 = rng.standard_normal(d)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=device)  # noqa: E731
    return t(X), t(y), t(theta0)


@pytest.mark.parametrize("method", ["shared", "independent", "zo_gd"])
def test_max_batch_does_not_change_results(method, device):
    X, y, th = _problem(device=device)
    kw = dict(
        law="laplace(b=0.6)",
        method=method,
        eta=0.05,
        steps=7,
        num_trajectories=50,
        eps=1e-3,
        record=(0, 3, 7),
        block_size=8,
        zeta_law="gaussian(mean=0.2)",
    )
    a = simulate_zo_training(X, X @ th - y, generator=make_generator(5, device=device), max_batch=8, **kw)
    b = simulate_zo_training(X, X @ th - y, generator=make_generator(5, device=device), max_batch=64, **kw)
    assert a.residuals.device.type == device.type
    assert_same_up_to_gemm_rounding(a.residuals, b.residuals)


@settings(max_examples=10)
@given(block=hs.integers(1, 9), per=hs.integers(1, 4), n=hs.integers(1, 30))
def test_chunking_property(block, per, n):
    X, y, th = _problem()
    kw = dict(law="rademacher", method="shared", eta=0.05, steps=4, num_trajectories=n, block_size=block)
    a = simulate_zo_training(X, X @ th - y, generator=make_generator(1), max_batch=block, **kw)
    b = simulate_zo_training(X, X @ th - y, generator=make_generator(1), max_batch=block * per, **kw)
    assert a.residuals.shape == (n, 1, X.shape[0])
    assert_same_up_to_gemm_rounding(a.residuals, b.residuals)


def test_residual_carry_matches_recomputed_outputs():
    X, y, th = _problem()
    tr = simulate_zo_training(
        X,
        X @ th - y,
        law="gaussian",
        method="independent",
        eta=0.05,
        steps=25,
        num_trajectories=40,
        generator=make_generator(2),
        eps=1e-3,
        theta0=th,
        record=(0, 25),
    )
    recomputed = tr.thetas @ X.T - y
    # 25 rank-one updates of O(10) numbers; each adds a few ulps, and the FD quotient at eps=1e-3
    # amplifies the loss's rounding by |r|/eps ~ 1e4: 1e-9 absolute is a generous bound.
    assert torch.allclose(tr.residuals, recomputed, rtol=0, atol=1e-9)


def test_finite_difference_equals_exact_on_quadratic_loss():
    """Central differences of a quadratic are exact; only rounding (~|r|^2 u / eps) separates them."""
    X, y, th = _problem()
    kw = dict(law="gaussian", method="shared", eta=0.05, steps=10, num_trajectories=30, record=(10,))
    exact = simulate_zo_training(X, X @ th - y, generator=make_generator(3), eps=None, **kw)
    fd = simulate_zo_training(X, X @ th - y, generator=make_generator(3), eps=1e-3, **kw)
    scale = float(exact.residuals.abs().max())
    assert torch.allclose(exact.residuals, fd.residuals, rtol=0, atol=1e-8 * (1 + scale))


def test_shared_step_is_zo_gd_with_random_step():
    """P1-7 pathwise: Delta theta(shared NZK) = -eta ||z||^2 g_z z = ZO-GD with step eta ||z||^2."""
    X, y, th = _problem()
    gen = make_generator(4)
    z = torch.randn(100, X.shape[1], generator=gen, dtype=torch.float64)
    r = (X @ th - y).expand(100, -1)
    r_shared, d_shared = zo_step(r, X, z, None, method="shared", eta=0.01, eps=1e-3)
    r_unit, d_unit = zo_step(r, X, z, None, method="zo_gd", eta=1.0, eps=1e-3)
    step = 0.01 * (z * z).sum(dim=1, keepdim=True)
    # same floating-point operations in another order: a few ulps of |Delta|
    assert torch.allclose(d_shared, step * d_unit, rtol=1e-13, atol=0)
    # outputs in the exact directional form (the FD form differs only by the quotient's rounding)
    r_shared, _ = zo_step(r, X, z, None, method="shared", eta=0.01, eps=None)
    r_unit, _ = zo_step(r, X, z, None, method="zo_gd", eta=1.0, eps=None)
    assert torch.allclose(r_shared - r, step * (r_unit - r), rtol=1e-12, atol=64 * U * float(r.abs().max()))


def test_fo_matches_kernel_recursion():
    X, y, th = _problem()
    tr = simulate_zo_training(
        X,
        X @ th - y,
        law="gaussian",
        method="fo",
        eta=0.3,
        steps=20,
        num_trajectories=2,
        generator=make_generator(0),
        record=(5, 20),
    )
    ref = kernel_gradient_descent(X @ X.T, X @ th - y, eta=0.3, steps=20, record=(5, 20))
    assert torch.allclose(tr.residuals[0], ref, rtol=0, atol=1e-12)
    closed = sym.mean_function((X @ X.T).numpy(), y.numpy(), (X @ th).numpy(), eta=0.3, steps=20)
    assert np.allclose(tr.residuals[0, -1].numpy() + y.numpy(), closed, rtol=0, atol=1e-11)


@pytest.mark.parametrize(
    ("law", "zeta"),
    [("gaussian(mean=[0.5,-0.2,0.1])", "gaussian(mean=[0.1,0.3,0.2], std=0.5)"), ("uniform", "rademacher")],
)
def test_mean_trajectory_independent_pairs_calibrated(law, zeta):
    """E f_t of independent-pair training against the closed form; batch-means test, alpha = 1e-5."""
    X, y, th = _problem(seed=7)
    M = sym.nzk_middle_matrix(law, pairing="independent", zeta_law=zeta, d=3)
    K = X.numpy() @ sym.evaluate_middle_matrix(M, 3) @ X.numpy().T
    eta = 0.1 * sym.kernel_gd_threshold(K)
    tr = simulate_zo_training(
        X,
        X @ th - y,
        law=law,
        zeta_law=zeta,
        method="independent",
        eta=eta,
        steps=15,
        num_trajectories=1 << 16,
        generator=make_generator(11),
        eps=1e-3,
        record=(0, 15),
    )
    change = (tr.residuals[:, 1] - tr.residuals[:, 0]).numpy()
    pred = sym.mean_function(K, y.numpy(), (X @ th).numpy(), eta=eta, steps=15) - (X @ th).numpy()
    decision = BatchMeans().summarize(change).decide(pred, alpha=1e-5)
    assert decision.passed, (change.mean(0), pred)
    # power: a closed form 5 % off is rejected (the worst component is detectable at ~4 % with 90 % power)
    assert not BatchMeans().summarize(change).decide(1.05 * pred, alpha=1e-5).passed


def test_bad_inputs():
    X, y, th = _problem()
    g = make_generator(0)
    with pytest.raises(InvalidParameterError, match="method"):
        simulate_zo_training(X, y, law="gaussian", method="adam", eta=0.1, steps=1, num_trajectories=1, generator=g)
    with pytest.raises(InvalidParameterError, match="eps"):
        simulate_zo_training(
            X, y, law="gaussian", method="shared", eta=0.1, steps=1, num_trajectories=1, generator=g, eps=0
        )
    with pytest.raises(InvalidParameterError, match="record"):
        simulate_zo_training(
            X, y, law="gaussian", method="shared", eta=0.1, steps=1, num_trajectories=1, generator=g, record=(3,)
        )
    with pytest.raises(InvalidParameterError, match="rows"):
        simulate_zo_training(
            X, y[:2], law="gaussian", method="shared", eta=0.1, steps=1, num_trajectories=1, generator=g
        )


# -- linearized network ------------------------------------------------------------------------------


def test_ffn_has_711_parameters_and_consistent_jacobian():
    model, theta0 = make_mlp((64, 10, 5, 1), generator=make_generator(0))
    assert theta0.numel() == 711
    X = torch.rand(5, 64, generator=make_generator(1), dtype=torch.float64)
    Phi = jacobian_features(model, theta0, X)
    assert Phi.shape == (5, 711)
    z = torch.randn(7, 711, generator=make_generator(2), dtype=torch.float64)
    # reverse mode (jacrev) against forward mode (jvp): the same sums in another order
    assert torch.allclose(directional_derivatives(model, theta0, X, z), z @ Phi.T, rtol=1e-12, atol=1e-12)
    # against the network itself: piecewise linear, so a central difference at a tiny radius is exact
    # unless a ReLU kink lies within h; at h = 1e-7 the rounding error is ~|f| u / h ~ 1e-9
    h = 1e-7
    fd = (network_output(model, theta0 + h * z[0], X) - network_output(model, theta0 - h * z[0], X)) / (2 * h)
    assert torch.allclose(fd, Phi @ z[0], rtol=0, atol=1e-7)


def test_make_mlp_is_seeded():
    _, a = make_mlp((3, 4, 1), generator=make_generator(9))
    _, b = make_mlp((3, 4, 1), generator=make_generator(9))
    assert torch.equal(a, b)
    with pytest.raises(InvalidParameterError):
        make_mlp((3,), generator=make_generator(0))


# -- function-space sampler ----------------------------------------------------------------------------


def _two_sample_ok(a: np.ndarray, b: np.ndarray, alpha: float) -> bool:
    """Welch z-test per column on iid samples, Bonferroni over columns, false-failure <= alpha."""
    from scipy import stats

    se = np.sqrt(a.var(0, ddof=1) / len(a) + b.var(0, ddof=1) / len(b))
    z = np.abs(a.mean(0) - b.mean(0)) / se
    return bool(np.all(z < stats.norm.isf(alpha / (2 * a.shape[1]))))


@pytest.mark.parametrize(
    ("law", "method"), [("gaussian(mean=0.3, std=0.8)", "shared"), ("sphere", "shared"), ("gaussian", "zo_gd")]
)
def test_function_space_matches_parameter_space_in_law(law, method):
    """Two independent engines, same dynamics: first and second moments of r_t agree (alpha = 1e-6)."""
    from zoverify.numeric.function_space import simulate_function_space

    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.uniform(0, 1, (4, 40)))
    r0 = torch.as_tensor(rng.standard_normal(4))
    K = X.numpy() @ sym.evaluate_middle_matrix(sym.nzk_middle_matrix(law), 40) @ X.numpy().T
    eta = 0.05 * sym.kernel_gd_threshold(K)
    kw = dict(law=law, method=method, eta=eta, steps=3, num_trajectories=1 << 13, eps=1e-3)
    a = simulate_function_space(X, r0, generator=make_generator(1), **kw).residuals[:, -1].numpy()
    b = simulate_zo_training(X, r0, generator=make_generator(2), **kw).residuals[:, -1].numpy()
    assert _two_sample_ok(np.hstack([a, a**2]), np.hstack([b, b**2]), 1e-6)
    # and a 20 % change of the step is detected by the same test
    c = simulate_zo_training(X, r0, generator=make_generator(3), **(kw | {"eta": 1.2 * eta})).residuals[:, -1].numpy()
    assert not _two_sample_ok(np.hstack([a, a**2]), np.hstack([c, c**2]), 1e-6)


def test_function_space_norm_moments():
    """E||z||^2 = d sigma^2 + |mu|^2 through the reduced draw (non-central chi^2 part included)."""
    from zoverify.numeric.function_space import RowSpace, RowSpaceSampler

    X = RowSpace.from_matrix(torch.as_tensor(np.random.default_rng(1).standard_normal((3, 200))))
    red = RowSpaceSampler(X, parse_law("gaussian(mean=0.5, std=2)"))
    _, n2 = red.draw(1 << 15, make_generator(0))
    expected, var = 200 * 4 + 200 * 0.25, 2 * 200 * 16 + 4 * 4 * 200 * 0.25  # mean and variance of ||z||^2
    se = np.sqrt(var / (1 << 15))
    assert abs(float(n2.mean()) - expected) < 4.9 * se  # two-sided normal quantile at alpha = 1e-6
    with pytest.raises(NotApplicableError, match="function-space"):
        RowSpaceSampler(X, parse_law("rademacher"))
    with pytest.raises(InvalidParameterError, match="needs X itself"):
        RowSpaceSampler(RowSpace(X.US, 200), parse_law("gaussian(mean=0.5, std=2)"))


def test_function_space_from_gram_factor_equals_from_matrix():
    """A RowSpace given by any Gram factor gives the same law of trajectories (same draws here:
    U S from the SVD), so X never has to be materialised at huge d."""
    from zoverify.numeric.function_space import RowSpace, simulate_function_space

    X = torch.as_tensor(np.random.default_rng(2).standard_normal((4, 50)))
    space = RowSpace.from_matrix(X)
    r0 = torch.ones(4, dtype=X.dtype)
    kw = dict(law="gaussian", method="shared", eta=1e-3, steps=5, num_trajectories=64)
    a = simulate_function_space(X, r0, generator=make_generator(0), **kw).residuals
    b = simulate_function_space(RowSpace(space.US, 50), r0, generator=make_generator(0), **kw).residuals
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
