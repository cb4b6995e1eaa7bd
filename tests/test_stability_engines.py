"""Every engine's Monte Carlo path (q queries, heavy ball, frozen Adam with any P) against the exact operator."""

from __future__ import annotations

import numpy as np
import pytest

from tests._enumerated import EnumeratedRademacher
from zoverify._rng import make_generator
from zoverify.numeric.stability_mc import (
    chain_second_moments,
    mc_eta_star,
    mc_eta_star_method,
)
from zoverify.numeric.stability_operator import DenseOperator
from zoverify.perturbations import parse_law
from zoverify.verify.decision import BatchMeans

ALPHA = 1e-4


def _instance(d=3, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    H = (Q * np.linspace(2.0, 0.3, d)) @ Q.T
    A = rng.standard_normal((d, d))
    return H, np.diag(rng.uniform(0.5, 2.0, d)), A @ A.T / d + 0.5 * np.eye(d)


def _engines(d=3):
    H, P_diag, P_gen = _instance(d)
    return H, [("gd", 0.0, None), ("gdm", 0.5, None), ("gdm", 0.9, None), ("adam", 0.9, P_diag), ("adam", 0.5, P_gen)]


@pytest.mark.parametrize("case", range(5))
def test_sampled_step_operator_is_exact_on_exact_samples(case):
    """With one query and the full Rademacher outcome set in every group the sampled operator is the law's:
    its eta* equals the dense operator's (built from the symbolic maps) to rounding (mu = 1e-3 differences)."""
    H, engines = _engines()
    method, beta, P = engines[case]
    exact = DenseOperator(parse_law("rademacher"), H, method=method, beta=beta, P=P).eta_star()
    full, pseudo = mc_eta_star_method(
        EnumeratedRademacher(3),
        H,
        num_samples=8 * 16,
        num_groups=16,
        generator=make_generator(0),
        method=method,
        beta=beta,
        P=P,
    )
    assert abs(full - exact) < 1e-10 * exact
    assert np.allclose(pseudo, exact, rtol=1e-9, atol=0)


def test_general_engine_reduces_to_the_one_query_gd_estimator():
    H, _, _ = _instance()
    law = parse_law("gaussian")
    a, pa = mc_eta_star(law, H, num_samples=1 << 10, num_groups=8, generator=make_generator(3))
    b, pb = mc_eta_star_method(law, H, num_samples=1 << 10, num_groups=8, generator=make_generator(3))
    assert abs(a - b) < 1e-12 * a and np.allclose(pa, pb, rtol=1e-10, atol=0)


def test_q_query_interval_covers_exact():
    """q = 3 Gaussian queries: the jackknife interval covers the exact q-query eta* (alpha = 1e-4)."""
    H, _, _ = _instance(3, 1)
    law = parse_law("gaussian")
    exact = DenseOperator(law, H, q=3).eta_star()
    _, pseudo = mc_eta_star_method(law, H, q=3, num_samples=1 << 16, num_groups=32, generator=make_generator(4))
    from zoverify.verify.jackknife import DeleteAGroupJackknife

    summary = DeleteAGroupJackknife(32).summarize(pseudo)
    assert summary.decide([exact], alpha=ALPHA).passed
    # a near miss (4 %) either way is rejected: the jackknife SE here is ~0.45 % of eta*, so +-4 % sits ~9 SE
    # out, beyond the 4.5 SE critical value with non-rejection probability < 1e-6
    for factor in (0.96, 1.04):
        assert not summary.decide([exact * factor], alpha=ALPHA).passed


@pytest.mark.parametrize("case", [1, 3, 4])
def test_momentum_chains_follow_the_operator(case):
    """Heavy-ball and frozen-Adam chains: E||x_t||^2 matches the dense operator's powers (batch means, alpha 1e-4)."""
    H, engines = _engines()
    method, beta, P = engines[case]
    law = parse_law("rademacher")
    op = DenseOperator(law, H, method=method, beta=beta, P=P)
    eta = 0.5 * op.eta_star()
    x0 = np.ones(3) / np.sqrt(3)
    steps = (5, 10)
    obs = chain_second_moments(
        law,
        H,
        x0,
        eta=eta,
        record=steps,
        num_chains=1 << 13,
        generator=make_generator(5),
        method=method,
        beta=beta,
        P=P,
    )
    assert BatchMeans().summarize(obs).decide(op.mean_square_norms(x0, eta, steps), alpha=ALPHA).passed


def test_mean_square_norms_is_the_explicit_recursion():
    """Against the (x, m) second-moment recursion iterated directly on E[s s^T] with the law's enumerated outcomes."""
    H, P_diag, _ = _instance()
    law = parse_law("rademacher")
    Z, prob = law.enumerate_outcomes(3)
    Z, prob = Z.numpy(), prob.numpy()
    beta, eta = 0.9, 0.2
    K, s = np.linalg.inv(P_diag), 1 - beta
    x0 = np.array([0.3, -0.5, 0.8])
    S = np.zeros((6, 6))
    S[:3, :3] = np.outer(x0, x0)
    out = []
    for t in range(1, 7):
        new = np.zeros_like(S)
        for z, p in zip(Z, prob, strict=True):
            b = np.outer(z, z) @ H
            A = np.block([[np.eye(3) - eta * s * K @ b, -eta * beta * K], [s * b, beta * np.eye(3)]])
            new += p * A @ S @ A.T
        S = new
        if t in (3, 6):
            out.append(np.trace(S[:3, :3]))
    op = DenseOperator(law, H, method="adam", beta=beta, P=P_diag)
    assert np.allclose(op.mean_square_norms(x0, eta, (3, 6)), out, rtol=1e-12, atol=0)
