"""Monte Carlo layer: chains follow the operator; the MC one-step operator is exact on exact samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from tests._enumerated import EnumeratedRademacher
from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator
from zoverify.claims import REGISTRY, check
from zoverify.numeric.stability_mc import (
    chain_second_moments,
    decay_rate,
    mc_eta_star,
    sample_operator_moments,
    zo_gradient,
)
from zoverify.numeric.stability_operator import DenseOperator
from zoverify.perturbations import parse_law
from zoverify.verify.decision import BatchMeans
from zoverify.verify.jackknife import DeleteAGroupJackknife

ALPHA = 1e-4


def _H(d, seed=0):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return (Q * np.linspace(2.0, 0.3, d)) @ Q.T


def test_mc_operator_is_exact_on_exact_samples():
    d = 3
    H = _H(d)
    exact = DenseOperator(parse_law("rademacher"), H).eta_star()
    full, pseudo = mc_eta_star(
        EnumeratedRademacher(d), H, num_samples=8 * 16, num_groups=16, generator=make_generator(0)
    )
    # central differences are exact on a quadratic up to rounding (mu = 1e-3, values O(1)): 1e-10
    assert abs(full - exact) < 1e-10 * exact
    assert np.allclose(pseudo, exact, rtol=1e-9, atol=0)


def test_mc_eta_star_interval_covers_exact():
    d = 4
    H = _H(d, 1)
    law = parse_law("gaussian")
    exact = DenseOperator(law, H).eta_star()
    _, pseudo = mc_eta_star(law, H, num_samples=1 << 14, num_groups=32, generator=make_generator(3))
    summary = DeleteAGroupJackknife(num_groups=32).summarize(pseudo[:, None])
    assert summary.df == 31
    assert summary.decide([exact], alpha=ALPHA).passed


def test_jackknife_summary_is_the_textbook_delete_a_group_jackknife():
    d, g = 3, 16
    full, pseudo = mc_eta_star(
        parse_law("gaussian"), _H(d, 2), num_samples=1 << 11, num_groups=g, generator=make_generator(8)
    )
    loo = (g * full - pseudo) / (g - 1)  # the leave-one-group-out estimates
    summary = DeleteAGroupJackknife(num_groups=g).summarize(pseudo)
    # Quenouille/Tukey: estimate g theta - (g-1) mean(theta_(i)); variance (g-1)/g sum (theta_(i) - mean)^2
    # float64 sums of 16 values O(0.3): agreement to 1e-12 relative
    assert np.isclose(summary.estimate[0], g * full - (g - 1) * loo.mean(), rtol=1e-12, atol=0)
    assert np.isclose(summary.stderr[0], np.sqrt((g - 1) / g * ((loo - loo.mean()) ** 2).sum()), rtol=1e-12, atol=0)
    assert summary.df == g - 1 and summary.method == f"delete-a-group jackknife (g={g})"


def test_jackknife_t_interval_has_its_stated_level():
    # For a sample mean, the pseudo-values are the group means: with normal data the t(g-1) interval is exact,
    # so the rejection rate of a true mean must be alpha; a z reference (or g/2 - 1 df) would reject ~1.8x as often.
    rng = np.random.default_rng(11)
    g, reps, level = 8, 4000, 0.05
    groups = rng.standard_normal((reps, g, 5)).mean(axis=2)
    test = DeleteAGroupJackknife(num_groups=g)
    rejected = sum(not test.summarize(groups[i]).decide([0.0], alpha=level).passed for i in range(reps))
    assert stats.binomtest(rejected, reps, level).pvalue > ALPHA


def test_groups_are_balanced_and_never_empty():
    _, _, counts = sample_operator_moments(
        parse_law("gaussian"), _H(2), num_samples=33, num_groups=16, generator=make_generator(0)
    )
    assert counts.sum() == 33 and counts.min() == 2 and counts.max() == 3
    with pytest.raises(InvalidParameterError, match="at least 2 groups of at least 2"):
        sample_operator_moments(
            parse_law("gaussian"), _H(2), num_samples=31, num_groups=16, generator=make_generator(0)
        )


def test_jackknife_refuses_wrong_number_of_groups():
    with pytest.raises(InvalidParameterError, match="expected 32 jackknife pseudo-values"):
        DeleteAGroupJackknife(num_groups=32).summarize(np.zeros(16))


def test_chain_second_moment_matches_operator_power():
    d = 3
    H = _H(d, 2)
    law = parse_law("rademacher")
    op = DenseOperator(law, H)
    eta = 0.6 * op.eta_star()
    x0 = np.ones(d) / np.sqrt(d)
    steps = (4, 12)
    obs = chain_second_moments(law, H, x0, eta=eta, record=steps, num_chains=1 << 13, generator=make_generator(5))
    V = op.eig.V
    y = V.T @ x0
    sym = [(a, b) for a in range(d) for b in range(a, d)]
    state = np.array([y[a] * y[b] for a, b in sym])
    pred = []
    for t in steps:
        st = np.linalg.matrix_power(op.matrix(eta), t) @ state
        pred.append(sum(st[i] for i, (a, b) in enumerate(sym) if a == b))
    assert BatchMeans().summarize(obs).decide(pred, alpha=ALPHA).passed
    rate = decay_rate(np.array(pred), steps)
    assert rate < 1  # below the edge the second moment decays


def test_forward_and_central_estimates_on_quadratic():
    H = torch.tensor(_H(3, 4))
    x = torch.randn(5, 3, generator=make_generator(6), dtype=torch.float64)
    z = torch.randn(5, 3, generator=make_generator(7), dtype=torch.float64)

    def f(v):
        return 0.5 * ((v @ H) * v).sum(-1)

    central = zo_gradient(f, x, z, mu=1e-2, difference="central")
    forward = zo_gradient(f, x, z, mu=1e-2, difference="forward")
    exact = ((z @ H) * x).sum(-1, keepdim=True) * z
    extra = 0.5e-2 * ((z @ H) * z).sum(-1, keepdim=True) * z  # (mu/2) (z^T H z) z
    # float64 differences of O(1) values divided by mu = 1e-2: rounding ~1e-13
    assert torch.allclose(central, exact, rtol=0, atol=1e-11)
    assert torch.allclose(forward, exact + extra, rtol=0, atol=1e-11)


def test_stability_claims_leave_a_cyclic_block_order_to_its_epoch_map():
    """The family is about a fresh direction every step; a cyclic order is decided by structured.bcd_decay."""
    law = parse_law("block(blocks=3, order='cyclic')")
    for name in ("stability.mc_decay", "stability.mc_decay_engines", "stability.gd_threshold"):
        result = check(REGISTRY[name], law=law, num_samples=1 << 10)
        assert result.verdict == "n/a" and "structured.bcd_decay" in result.message
