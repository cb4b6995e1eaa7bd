"""Branches of the numeric layer that the headline checks do not take, each against a value known
without the code under test: a closed form, an exact identity, or a second route to the same number."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoverify._errors import NotApplicableError
from zoverify._rng import make_generator
from zoverify.numeric import stability_operator as so
from zoverify.numeric.descent import MeanInterval, probes_for_trace
from zoverify.numeric.difference import CAUSE_HIGHER, CAUSE_ROUNDING, CAUSE_THIRD_ORDER, DifferenceError
from zoverify.numeric.eos_curvature import Curvature, block_edge, block_edge_step, curvature, first_order_edge
from zoverify.numeric.eos_edge import track_edge
from zoverify.numeric.eos_training import digits_problem, replicate_generators, train
from zoverify.numeric.function_space import RowSpace, RowSpaceSampler
from zoverify.numeric.mezo import block_schedule
from zoverify.numeric.stepsize import ROUTE_BOUNDS, ROUTE_EXACT, identity_scale, stepsize, weighted_eta_star
from zoverify.numeric.zo_training import simulate_zo_training
from zoverify.perturbations import parse_law
from zoverify.symbolic.stability import SpectralSetting

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")  # tiny problems: one intra-op thread


# ------------------------------------------------------------------------------- difference
@pytest.mark.parametrize(
    ("e1", "e2", "cause"),
    [
        (0.0, 0.0, ""),  # exact difference (a quadratic): no error to attribute
        (1e-3, 4e-3, CAUSE_THIRD_ORDER),  # the mu^2 law: 4x when mu doubles
        (1e-3, 0.5e-3, CAUSE_ROUNDING),  # rounding: halves when mu doubles
        (0.6, 0.9, CAUSE_HIGHER),  # order one and no longer growing 4x
        (1e-3, 1.5e-3, ""),  # between the two laws and small: nothing can be said
    ],
)
def test_difference_cause_is_read_off_the_ratio_when_mu_doubles(e1, e2, cause):
    assert DifferenceError(1e-3, 16, e1, e2).cause == cause


# ---------------------------------------------------------------------------------- descent
def test_one_sample_has_an_unbounded_interval_and_the_full_probe_count():
    one = MeanInterval.of(np.array([2.5]), confidence=0.95)
    assert (one.mean, one.low, one.high) == (2.5, -math.inf, math.inf)
    # one sample has no spread, a zero mean no relative accuracy: both ask for the cap
    assert probes_for_trace(np.array([3.0]), accuracy=0.1, confidence=0.95, cap=77) == 77
    assert probes_for_trace(np.array([1.0, -1.0]), accuracy=0.1, confidence=0.95, cap=77) == 77


# ------------------------------------------------------------------------------------- mezo
def test_uniform_block_schedule_draws_every_block_independently():
    blocks = block_schedule(6000, 3, order="uniform", generator=make_generator(0))
    counts = np.bincount(blocks, minlength=3)
    assert len(blocks) == 6000 and counts.sum() == 6000
    # iid uniform: each count ~ Binomial(6000, 1/3), sd 36.5; 5 sd is a 1e-6 false alarm
    assert np.all(np.abs(counts - 2000) < 5 * 36.5), counts
    # unlike the cyclic order, an epoch of 3 steps often repeats a block: P(a permutation) = 2/9
    epochs = np.asarray(blocks).reshape(-1, 3)
    share = np.mean([len(set(e)) == 3 for e in epochs])
    assert abs(share - 2 / 9) < 5 * math.sqrt(2 / 9 * 7 / 9 / 2000), share


# ---------------------------------------------------------------------------- eos curvature
def _curvature_of(H) -> Curvature:
    lam, V = np.linalg.eigh(np.asarray(H, float))
    return Curvature(float(lam.sum()), float(lam[-1]), float(lam[lam > 0].sum()), 0.0, lam, V)


def test_first_order_edge_is_the_heavy_ball_threshold():
    curv = _curvature_of(np.diag([4.0, 1.0]))
    # GD on a quadratic: 1 - eta l reaches -1 at eta = 2/l; heavy ball at 2(1 + beta)/l
    assert first_order_edge(curv) == pytest.approx(0.5, rel=1e-15)
    assert first_order_edge(curv, beta=0.5) == pytest.approx(0.75, rel=1e-15)


def test_block_edge_step_of_one_block_is_the_gaussian_one_mode_edge():
    # one block is the Gaussian law; with H = l e e^T, E||x||^2 along e grows by 1 - 2 eta l + 3 eta^2 l^2,
    # which reaches 1 at eta* = 2/(3 l); q queries: 1 - 2 eta l + (1 + 2/q) eta^2 l^2, eta* = 2q/((q + 2) l)
    curv = _curvature_of(np.diag([2.0, 0.0, 0.0]))
    assert block_edge_step(curv, blocks=1) == pytest.approx(1 / 3, rel=1e-9)
    assert block_edge_step(curv, blocks=1, q=2) == pytest.approx(0.5, rel=1e-9)
    assert block_edge_step(curv, blocks=3, q=2) == block_edge(curv, blocks=3, q=2)[0]


@pytest.fixture(scope="module")
def digits():
    return digits_problem(num_samples=30, components=3, hidden=(3,))


def test_first_order_track_is_two_over_eta_lambda_max_of_the_dense_hessian(digits):
    init, _ = replicate_generators(2, 2)
    run = train(digits, digits.init(init), optimizer="fo", eta=0.2, steps=3, record=[0, 3])
    track = track_edge(digits, run, eta=0.2, beta=0.5, first_order=True, lanczos_iters=digits.dim)
    assert track.steps == (0, 3) and track.ratio.shape == (2, 2)
    for r in range(2):
        for t in range(2):
            lmax = curvature(digits.loss, run.thetas[r, t]).lambda_max  # dense Hessian, eigh
            assert track.lambda_max[r, t] == pytest.approx(lmax, rel=1e-9)
            assert track.ratio[r, t] == pytest.approx(2 * 1.5 / (0.2 * lmax), rel=1e-9)
    assert np.isnan(track.trace).all() and np.all(track.kappa == 4.0)


# ---------------------------------------------------------------------- stability operator
def test_coordinate_law_edge_is_the_largest_coordinate_step():
    # z = sqrt(d) e_i: on a diagonal H only coordinate i moves, by (1 - eta d h_i), with probability 1/d,
    # so E x_i^2 contracts iff |1 - eta d h_i| < 1: eta* = 2 / (d max h). The law has a = 0 (no trace
    # term), so the search starts without the spectral guess.
    op = so.StructuredOperator(parse_law("coordinate"), np.diag([3.0, 2.0, 1.0]))
    assert op._spectral_guess() is None
    assert op.eta_star() == pytest.approx(2 / 9, rel=1e-12)


def test_top_eigenpair_falls_back_to_arpack_when_lobpcg_fails(monkeypatch):
    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr(so, "lobpcg", broken)
    A = np.diag([1.0, 5.0, 2.0, 0.5, 3.0, 4.0])
    top, vec = so._top_eigenpair(so._linear_operator(6, lambda v: A @ np.ravel(v)), 6, None, tol=1e-12)
    assert top == pytest.approx(5.0, rel=1e-10)
    assert abs(vec[1]) == pytest.approx(1.0, rel=1e-8)


def test_secular_reports_a_reduced_solve_that_does_not_converge(monkeypatch):
    # above EXPLICIT_MAX_DIM with both a trace and a Diag term, h comes from (I - e Phi / q) y = Phi 1 by MINRES
    d = so.EXPLICIT_MAX_DIM + 1
    op = so.StructuredOperator(parse_law("laplace"), np.diag(np.linspace(1.0, 0.1, d)))
    assert np.isfinite(op.secular(0.001))
    monkeypatch.setattr(so, "minres", lambda A, b, **kw: (np.zeros_like(b), 500))  # iteration limit reached
    with pytest.raises(NotApplicableError, match=r"did not converge"):
        op.secular(0.001)


def test_momentum_pair_block_unstable_at_the_root_sends_to_the_dense_operator():
    # Rademacher (Diag term e < 0) with momentum, one stiff direction among 49 flat ones: the coupling's root
    # lies past the stiff direction's own pair-block edge, which the large-d search does not watch
    H = np.diag([1.0] + [1e-2] * 49)
    with pytest.raises(NotApplicableError, match="a pair block is not stable at the root found"):
        so.StructuredOperator(parse_law("rademacher"), H, method="gdm", beta=0.3).eta_star()


def test_edge_is_refused_when_the_diag_coupling_alone_is_unstable_there(monkeypatch):
    # with a >= 0 the full coupling dominates its Diag part, so e/q top(Phi) < 1 at every root found so far;
    # the check stands in case a law breaks that order: make Phi's top eigenvalue read one past 1/e
    law, H = parse_law("laplace"), np.diag([1.0, 0.5, 0.2])
    op = so.StructuredOperator(law, H)
    eta = op.eta_star()
    assert eta == pytest.approx(so.critical_step_size(law, H, solver="dense").eta_star, rel=1e-9)
    real = so._top_eigenpair
    monkeypatch.setattr(so, "_top_eigenpair", lambda *a, **kw: (1.0 / op.e + 1.0, real(*a, **kw)[1]))
    with pytest.raises(NotApplicableError, match="the Diag coupling alone reaches the edge first"):
        op.eta_star()


# -------------------------------------------------------------------------------- stepsize
def test_gain_formula_without_coupling_is_the_first_order_edge():
    # kappa_g = 0: no mode feeds another, the edge is the top mode's own pole 2(1 - beta^2)/(lambda s curv)
    setting = SpectralSetting(kappa_g=0.0, kappa_s=0.0)
    assert weighted_eta_star([4.0, 1.0], [1.0, 1.0], setting, lambda_max=4.0) == pytest.approx(0.5, rel=1e-15)


def test_gain_formula_without_a_pole_is_found_by_doubling():
    # kappa_s = -1 at beta = 0: curvature 0, so g = eta kappa_g lambda / 2 is linear and never has a pole;
    # sum_k w_k g_k = 1 at eta = 2 / (kappa_g sum_k w_k lambda_k) = 2 / (0.5 * 5) = 0.8
    setting = SpectralSetting(kappa_g=0.5, kappa_s=-1.0)
    assert weighted_eta_star([4.0, 1.0], [1.0, 1.0], setting, lambda_max=4.0) == pytest.approx(0.8, rel=1e-12)
    # a target the sum never falls below: no step size is stable
    with pytest.raises(NotApplicableError, match="no stable step size found"):
        weighted_eta_star([4.0, 1.0], [1.0, 1.0], setting, lambda_max=4.0, target=0.0)


@pytest.mark.parametrize(
    ("spec", "scale"),
    [
        ("gaussian", 1.0),  # E zz^T = I
        ("laplace", 2.0),  # unit-scale Laplace: variance 2
        ("student_t(nu=9)", 9 / 7),  # nu / (nu - 2)
        ("block(blocks=2, scaled=False)", 0.5),  # one of two blocks, unscaled: I / B
        ("iid(Normal(1, 1))", None),  # I + 11^T: not a multiple of I
    ],
)
def test_identity_scale_reads_c_off_e_zz(spec, scale):
    assert identity_scale(parse_law(spec), 4) == scale


def _linear_model(inputs: int, outputs: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Linear(inputs, outputs).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    X = torch.randn(12, inputs, generator=gen, dtype=torch.float64)
    Y = torch.randn(12, outputs, generator=gen, dtype=torch.float64)
    return model, lambda m: 0.5 * ((m(X) - Y) ** 2).sum(dim=1).mean(), X


def test_stepsize_block_law_gd_takes_the_block_edge_on_the_dense_hessian():
    model, loss_fn, X = _linear_model(2, 1, seed=0)
    (law,) = stepsize(model, loss_fn, laws=["block(blocks=3)"], method="gd", beta=0.0, accuracy=0.3, seed=0).laws
    # least squares on (x, 1): H = E[(x, 1)(x, 1)^T], and block(3) of three coordinates is coordinate descent
    # with z = sqrt(3) e_i, whose operator the dense solver builds from the law's moments
    feats = torch.cat([X, torch.ones(12, 1, dtype=torch.float64)], dim=1)
    H = (feats.T @ feats / 12).numpy()
    expected = so.critical_step_size(parse_law("block(blocks=3)"), H, solver="dense").eta_star
    assert law.route == ROUTE_EXACT and law.eta_star == pytest.approx(expected, rel=1e-7)


def test_stepsize_block_law_momentum_above_the_dense_limit_gives_the_mean_bound_only():
    model, loss_fn, _ = _linear_model(4, 3, seed=1)  # d = 15 > the dense operator's 12
    (law,) = stepsize(model, loss_fn, laws=["block(blocks=3)"], method="gdm", beta=0.5, accuracy=0.3, seed=0).laws
    low, high = law.eta_star_interval
    assert law.route == ROUTE_BOUNDS and law.eta_star is None
    assert "exact operator not available" in law.note and "no lower bound derived" in law.note
    # E zz^T = I: the mean is stable below the heavy-ball threshold 2(1 + beta)/lambda_max
    assert low == 0.0 and high == pytest.approx(2 * 1.5 / law.lambda_max, rel=1e-12)


# ------------------------------------------------------------------- zo training, function space
def test_first_order_run_tracks_the_parameters_behind_its_residuals():
    gen = torch.Generator().manual_seed(5)
    X = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(4, generator=gen, dtype=torch.float64)
    theta0 = torch.randn(3, generator=gen, dtype=torch.float64)
    trace = simulate_zo_training(
        X, X @ theta0 - y, law="gaussian", method="fo", eta=0.3, steps=2, num_trajectories=1,
        generator=make_generator(0), record=[0, 1, 2], theta0=theta0,
    )  # fmt: skip
    assert trace.thetas is not None
    theta = theta0.clone()
    for t in range(3):
        # gradient descent on ||X theta - y||^2 / (2 N), by hand; the residuals are those of the parameters
        assert torch.allclose(trace.thetas[0, t], theta, rtol=1e-12, atol=1e-14)
        assert torch.allclose(trace.residuals[0, t], X @ theta - y, rtol=1e-12, atol=1e-14)
        theta = theta - 0.3 * X.T @ (X @ theta - y) / 4


@pytest.mark.parametrize("spec", ["gaussian", "sphere"])
def test_full_row_rank_leaves_no_perpendicular_mass(spec):
    # X of rank d: every direction lies in the row space, so ||z||^2 is that of its coordinates alone
    sampler = RowSpaceSampler(RowSpace.from_matrix(torch.eye(3, dtype=torch.float64)), parse_law(spec))
    w, norm2 = sampler.draw_coordinates(5, make_generator(1))
    assert torch.allclose(norm2, (w * w).sum(dim=1), rtol=1e-12)
