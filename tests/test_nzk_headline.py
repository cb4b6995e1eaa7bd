"""P1-10: the best-of-K baseline's exact mean loss, its samplers, the notebook's broadcast,
and the Monte Carlo NZK estimate, each against an independent route."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify._rng import make_generator
from zoverify.claims import REGISTRY, check
from zoverify.numeric import block_generators
from zoverify.numeric.best_of import LinearizedProblem, simulate_best_of_zo
from zoverify.numeric.nzk_estimate import estimate_shared_nzk
from zoverify.perturbations import parse_law
from zoverify.symbolic import best_of as sb
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.testing import spectra

ALPHA = 1e-4


def small_problem(seed=0, N=12, d=7):
    rng = np.random.default_rng(seed)
    Phi = torch.as_tensor(rng.standard_normal((N, d)) / np.sqrt(d))
    return LinearizedProblem(Phi, torch.as_tensor(rng.uniform(0, 1, N)), torch.as_tensor(rng.standard_normal(d)))


# -- moments of the kept direction ------------------------------------------------------------------
def test_max_of_one_or_two_normals_has_gaussian_moments():
    # K = 1 is N(0,1); for K = 2, max^2 + min^2 = X1^2 + X2^2 and max, -min are equal in law
    for K in (1, 2):
        m2, m4 = sb.max_normal_moments(K)
        assert m2 == pytest.approx(1.0, abs=1e-12) and m4 == pytest.approx(3.0, abs=1e-11)
    m2, m4 = sb.max_normal_moments(3, sigma=2.0)
    assert (m2, m4) == pytest.approx((4 * sb.max_normal_moments(3)[0], 16 * sb.max_normal_moments(3)[1]), rel=1e-13)


@pytest.mark.parametrize("K", [5, 100])
def test_max_normal_moments_match_monte_carlo(K):
    x = np.random.default_rng(K).standard_normal((200_000, K)).max(axis=1)
    for k, exact in zip((2, 4), sb.max_normal_moments(K), strict=True):
        obs = x**k
        z = (obs.mean() - exact) / (obs.std(ddof=1) / np.sqrt(obs.size))
        assert abs(z) < stats.norm.isf(ALPHA / 4)


def test_bad_candidate_counts_are_refused():
    for bad in (0, 2.5, -3):
        with pytest.raises(InvalidParameterError, match="positive integer"):
            sb.max_normal_moments(bad)


# -- the exact mean-loss recursion ------------------------------------------------------------------
def test_recursion_for_one_candidate_is_zo_gd_from_the_laws_fourth_moment_map():
    """K = 1 is ZO-GD: S' = S - eta E[z z^T] H S - ... + eta^2 E[z z^T H S H z z^T], both moments from the
    law's own symbolic fourth-moment map (no best-of algebra)."""
    d, eta, T = 4, 0.07, 25
    rng = np.random.default_rng(3)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    lam = np.array([0.3, 0.9, 1.4, 2.0])
    H = Q @ np.diag(lam) @ Q.T
    e0 = rng.standard_normal(d)
    A = sp.MatrixSymbol("A", S.d, S.d)
    law = parse_law("gaussian(std=1.2)")
    fourth, second = law.fourth_moment(A), evaluate(law.second_moment(S.d), {S.d: d})
    Smat, losses = np.outer(e0, e0), []
    for _ in range(T + 1):
        losses.append(0.5 * np.trace(H @ Smat))
        Smat = (
            Smat - eta * (second @ H @ Smat + Smat @ H @ second) + eta**2 * evaluate(fourth, {S.d: d, A: H @ Smat @ H})
        )
    s0 = (Q.T @ e0) ** 2
    a2, a4 = sb.max_normal_moments(1, sigma=1.2)
    curve = sb.excess_loss_curve(lam, s0, step=eta, a2=a2, a4=a4, b=1.44, steps=[0, 7, T])
    np.testing.assert_allclose(curve, np.array(losses)[[0, 7, T]], rtol=1e-12)


@given(
    lam=spectra(1, 5, low=0.05, high=2.0),
    K=st.integers(1, 200),
    eta=st.floats(0.01, 0.2),
    seed=st.integers(0, 2**31 - 1),
)
def test_recursion_is_the_full_second_moment_map_projected(lam, K, eta, seed):
    """The diagonal recursion against the full matrix map S' = S - eta a2 (HS + SH) + eta^2 [(a4 - a2 b) HSH
    + a2 b tr(HSH) I] iterated on a rotated H (off-diagonal entries kept): the diagonal closes on itself."""
    rng = np.random.default_rng(seed)
    d = lam.size
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    H, e0 = Q @ np.diag(lam) @ Q.T, rng.standard_normal(d)
    a2, a4 = sb.max_normal_moments(K)
    Smat = np.outer(e0, e0)
    for _ in range(12):
        HSH = H @ Smat @ H
        Smat = Smat - eta * a2 * (H @ Smat + Smat @ H) + eta**2 * ((a4 - a2) * HSH + a2 * np.trace(HSH) * np.eye(d))
    curve = sb.excess_loss_curve(lam, (Q.T @ e0) ** 2, step=eta, a2=a2, a4=a4, b=1.0, steps=[12])
    assert curve[0] == pytest.approx(0.5 * np.trace(H @ Smat), rel=1e-9, abs=1e-300)


def test_isotropic_factor_is_the_recursion_with_equal_eigenvalues():
    m, h, eta, a2, a4 = 6, 1.7, 0.05, 6.4, 47.0
    rho = float(sb.isotropic_factor_expr().subs({sb.eta: eta, sb.h: h, sb.m: m, sb.a2: a2, sb.a4: a4, sb.b: 1}))
    curve = sb.excess_loss_curve(np.full(m, h), np.full(m, 0.3), step=eta, a2=a2, a4=a4, b=1.0, steps=[0, 9])
    assert curve[1] / curve[0] == pytest.approx(rho**9, rel=1e-12)


def test_recursion_refuses_bad_spectra():
    with pytest.raises(InvalidParameterError, match="positive semidefinite"):
        sb.excess_loss_curve([1.0, -0.5], [1.0, 1.0], step=0.1, a2=1, a4=3, b=1, steps=[1])
    with pytest.raises(InvalidParameterError, match="one length"):
        sb.excess_loss_curve([1.0, 0.5], [1.0], step=0.1, a2=1, a4=3, b=1, steps=[1])


# -- samplers ---------------------------------------------------------------------------------------
def notebook_broadcast_losses(problem, K, eta, eps, steps, gen):
    """The paper's notebook loop as written: theta (d, 1) and z (1, d), so theta + eps z is d x d."""
    Phi, y = problem.Phi, problem.y.reshape(-1, 1)
    d = Phi.shape[1]

    def l2(theta):
        return 0.5 * ((Phi @ theta - y) ** 2).mean()

    theta, losses = problem.theta0.reshape(-1, 1), []
    for _ in range(steps):
        losses.append(float(l2(theta)))
        z_all = parse_law("gaussian").sample(K, d, generator=gen, dtype=Phi.dtype)  # the engine's draw order
        best, z_best = -np.inf, None
        for k in range(K):
            z = z_all[k].reshape(1, -1)
            diff = l2(theta + eps * z) - l2(theta - eps * z)
            if diff > best:
                best, z_best = diff, z
        theta = theta - eta * best / (2 * eps) * z_best
    losses.append(float(l2(theta)))
    return np.array(losses)


def test_broadcast_variant_is_the_notebooks_matrix_code():
    problem = small_problem(1)
    K, eta, eps, steps = 5, 0.3, 1e-3, 6
    ((_, gen),) = block_generators(1, generator=make_generator(11))
    expected = notebook_broadcast_losses(problem, K, eta, eps, steps, gen)
    got = simulate_best_of_zo(
        problem,
        num_candidates=K,
        eta=eta,
        steps=steps,
        num_trajectories=1,
        generator=make_generator(11),
        record=range(steps + 1),
        eps=eps,
        variant="broadcast",
    )
    np.testing.assert_allclose(got[0].numpy(), expected, rtol=1e-10)
    assert expected[-1] < expected[0]  # it does descend, only along the all-ones direction


@pytest.mark.parametrize("variant", ["intended", "broadcast"])
def test_reduced_and_literal_samplers_agree_with_the_exact_mean(variant):
    """Both samplers against the exact E L_t (z-test per recorded step, Bonferroni), K = 10."""
    problem, K, eta, rec, n = small_problem(2), 10, 0.15, (3, 12), 4000
    lam, e0, floor = problem.eigen()
    a2, a4 = sb.max_normal_moments(K)
    if variant == "intended":
        exact = floor + sb.excess_loss_curve(lam.numpy(), (e0**2).numpy(), step=eta, a2=a2, a4=a4, b=1.0, steps=rec)
    else:
        alpha, beta, h = problem.line()
        d = problem.Phi.shape[1]
        rho = float(sb.isotropic_factor_expr().subs({sb.eta: eta / d, sb.h: h, sb.m: d, sb.a2: a2, sb.a4: a4, sb.b: 1}))
        exact = np.array([alpha - beta**2 / (2 * h) + beta**2 / (2 * h) * rho**t for t in rec])
    crit = stats.norm.isf(ALPHA / 2 / (2 * len(rec)))
    means = {}
    for sampler in ("literal", "reduced"):
        L = simulate_best_of_zo(
            problem,
            num_candidates=K,
            eta=eta,
            steps=max(rec),
            num_trajectories=n,
            generator=make_generator(5),
            record=rec,
            variant=variant,
            sampler=sampler,
        ).numpy()
        z = (L.mean(0) - exact) / (L.std(0, ddof=1) / np.sqrt(n))
        assert np.all(np.abs(z) < crit), (sampler, z)
        means[sampler] = L.mean(0)
    # power: the exact mean for K = 1 (plain ZO-GD) is rejected by the same data
    a2_1, a4_1 = sb.max_normal_moments(1)
    if variant == "intended":
        wrong = floor + sb.excess_loss_curve(lam.numpy(), (e0**2).numpy(), step=eta, a2=a2_1, a4=a4_1, b=1.0, steps=rec)
        assert np.any(np.abs(means["reduced"] - wrong) > 10 * np.abs(means["reduced"] - exact).max())


def test_reduced_sampler_is_seeded_and_refuses_other_laws():
    problem = small_problem()

    def run():
        return simulate_best_of_zo(
            problem,
            eta=0.1,
            steps=30,
            num_trajectories=5,
            generator=make_generator(4),
            sampler="reduced",
        )

    assert torch.equal(run(), run())
    with pytest.raises(NotApplicableError, match="N\\(0, sigma"):
        simulate_best_of_zo(
            problem,
            law="rademacher",
            eta=0.1,
            steps=3,
            num_trajectories=2,
            generator=make_generator(0),
            sampler="reduced",
        )
    with pytest.raises(InvalidParameterError, match="sampler must be one of"):
        simulate_best_of_zo(problem, eta=0.1, steps=3, num_trajectories=2, generator=make_generator(0), sampler="x")
    with pytest.raises(InvalidParameterError, match="y must have shape"):
        LinearizedProblem(problem.Phi, problem.y[:-1], problem.theta0)


# -- the Monte Carlo NZK --------------------------------------------------------------------------
@pytest.mark.parametrize("spec, factor", [("gaussian", 9 + 2), ("rademacher", 9)])
def test_estimated_nzk_is_unbiased(spec, factor):
    """Row-space (Gaussian; N < d, so ||z||^2 has a chi^2 part outside the row space) and parameter-space
    (Rademacher) paths: E Khat = (m4 + (d-1)) Phi Phi^T."""
    problem = small_problem(4, N=6, d=9)
    Phi = problem.Phi
    reps = torch.stack(
        [
            estimate_shared_nzk(Phi, law=spec, num_samples=400, generator=make_generator(s), groups=4).mean(0)
            for s in range(400)
        ]
    ).numpy()
    target = factor * (Phi @ Phi.T).numpy()
    z = (reps.mean(0) - target) / (reps.std(0, ddof=1) / np.sqrt(reps.shape[0]))
    assert np.abs(z).max() < stats.norm.isf(ALPHA / 2 / z.size)
    with pytest.raises(InvalidParameterError, match="equal groups"):
        estimate_shared_nzk(Phi, law=spec, num_samples=10, generator=make_generator(0), groups=3)


# -- the claims -------------------------------------------------------------------------------------
def test_headline_claims_registered_with_the_papers_setting():
    for name in ("nzk.headline_kernel_zo", "nzk.headline_best_of"):
        claim = REGISTRY[name]
        assert "arXiv 2603.21169" in claim.source and claim.params["iterations"].default == 14000
    assert REGISTRY["nzk.headline_kernel_zo"].params["kernel_samples"].default == 10000
    assert REGISTRY["nzk.headline_best_of"].params["candidates"].default == 100


@pytest.mark.parametrize("seed", [0, 1, 10, 23])
def test_best_of_prediction_starts_at_the_initial_loss(seed):
    """At t = 0 the predicted E L_t is L(theta0) exactly: the modes holding the initial excess and the
    modes least squares fits are one set (seed 10 has a mode with tiny singular value)."""
    from zoverify.claims.nzk.headline import best_of_intended_curve, headline_problem
    from zoverify.verify.claim import Context

    claim = REGISTRY["nzk.headline_best_of"]
    ctx = Context(parse_law("gaussian"), claim.resolve_params(None), 32, seed, torch.device("cpu"), torch.float64)
    problem, Phi = headline_problem(ctx)
    y, theta0 = problem.y.numpy(), problem.theta0.numpy()
    L0 = best_of_intended_curve(Phi, y, theta0, [0], a2=6.5, a4=47.0, b=1.0)[0]
    assert L0 == pytest.approx(0.5 * np.mean((Phi @ theta0 - y) ** 2), rel=1e-10)


def test_max_of_normals_sampler_is_finite_at_zero_uniforms_in_float32(monkeypatch):
    from zoverify.numeric import best_of as nb

    monkeypatch.setattr(torch, "rand", lambda shape, **kw: torch.zeros(shape, dtype=kw.get("dtype")))
    x = nb._max_of_normals(1, (4,), None, torch.zeros(1, dtype=torch.float32))
    assert x.dtype == torch.float32 and torch.isfinite(x).all()


def test_best_of_claim_with_the_literal_sampler():
    """The claim on the literal algorithm (all K directions, real central differences), short run."""
    params = {"sampler": "literal", "iterations": 70, "candidates": 10}
    result = check(REGISTRY["nzk.headline_best_of"], params=params)
    assert result.verdict == "pass", result.message
    assert result.negative_control_rejected
    ones = check(REGISTRY["nzk.headline_best_of"], params=params | {"candidates": 1})
    # best-of-10's data reject the best-of-1 (plain ZO-GD) prediction at the first recorded step
    assert not result.ci_low[0] <= ones.prediction[0] <= result.ci_high[0]


def test_best_of_claim_bad_input():
    r = check(REGISTRY["nzk.headline_best_of"], law="rademacher")
    assert r.verdict == "n/a" and "N(0, sigma^2 I)" in r.message
    with pytest.raises(InvalidParameterError, match="sampler must be one of literal, reduced"):
        check(REGISTRY["nzk.headline_best_of"], params={"sampler": "fast"})


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["nzk.headline_kernel_zo", "nzk.headline_best_of"])
def test_headline_claims_on_cuda(name):
    """The same instance (built on the CPU in float64, then moved) and the same decision on a GPU."""
    result = check(REGISTRY[name], device="cuda")
    assert result.verdict == "pass", result.message
    assert result.negative_control_rejected and result.device.startswith("cuda")


def test_kernel_zo_simulation_route_matches_explicit_steps_and_the_closed_form():
    """The claim's simulation route (K's own eigenbasis) against f_(t+1) = f_t - (eta/N) K (f_t - y) stepped
    explicitly, and against the prediction's closed form; float64, 50 steps of a 6 x 6 kernel."""
    from zoverify.claims.nzk.headline import ETA, loss_curve, run_kernel_zo

    rng = np.random.default_rng(3)
    A = rng.standard_normal((6, 4))
    K, y, f0 = 300 * A @ A.T, rng.standard_normal(6), rng.standard_normal(6)
    f, explicit = f0.copy(), []
    for t in range(1, 51):
        f = f - ETA / 6 * K @ (f - y)
        if t in (20, 50):
            explicit.append(0.5 * np.mean((f - y) ** 2))
    assert np.allclose(run_kernel_zo(K, y, f0, (20, 50)), explicit, rtol=1e-12, atol=0)
    assert np.allclose(loss_curve(K, y, f0, (20, 50)), explicit, rtol=1e-12, atol=0)
