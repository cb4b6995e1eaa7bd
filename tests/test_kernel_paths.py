"""NZK and ENTK kernel helpers: the kernel-GD step-size refusal, a zeta law without fourth moments, and
Wishart kernels from fewer projections than rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoverify._errors import NotApplicableError
from zoverify.claims import check, select
from zoverify.claims.entk.projection import _wishart_kernels
from zoverify.claims.nzk import headline
from zoverify.perturbations import parse_law
from zoverify.verify.claim import Context


def _ctx() -> Context:
    return Context(parse_law("gaussian"), {}, 1, 0, torch.device("cpu"), torch.float64)


def test_kernel_zo_is_refused_where_eta_is_above_the_kernel_gd_threshold():
    # Gaussian z in p = 3: E[(a.z)(b.z)||z||^2] = (p + 2) a.b, so Phi = c [I_2 0] gives Kbar = 5 c^2 I_2
    # and the threshold 2 N / lambda_max = 4 / (5 c^2) crosses ETA = 1e-3 between c = 28 and c = 29
    assert headline.ETA == 1e-3
    K = headline._kz_kernel(_ctx(), 28.0 * np.eye(2, 3))
    np.testing.assert_allclose(K, 5 * 28.0**2 * np.eye(2), rtol=1e-12)
    with pytest.raises(NotApplicableError, match=r"eta = 0\.001 is above this instance's kernel-GD threshold"):
        headline._kz_kernel(_ctx(), 29.0 * np.eye(2, 3))


def test_an_independent_zeta_law_without_fourth_moments_is_not_applicable():
    result = check(
        select(["nzk.independent_kernel"])[0],
        law="laplace(b=0.6)",
        params={"zeta_law": "student_t(nu=3)"},
        num_samples=1 << 10,
    )
    assert result.verdict == "n/a"
    assert result.message == "student_t(nu=3): the Monte Carlo observation needs finite moments of order 4"


@pytest.mark.parametrize(
    "M",
    [
        np.array([[1.0, 0.2, 0.0], [0.3, 0.8, 0.1], [0.0, -0.4, 1.2]]),  # full rank, P = 2 < 3 rows
        np.array([[1.0, 0.5], [0.0, 1.0], [1.0, 1.5]]),  # rank 2 < 3 rows: no Cholesky factor
    ],
)
def test_fewer_projections_than_rows_give_mean_m_mt_and_rank_at_most_p(M):
    P, n = 2, 20_000
    draws = _wishart_kernels(M, P, n, np.random.default_rng(7))
    assert draws.shape == (n, 3, 3)
    assert max(np.linalg.matrix_rank(k) for k in draws[:50]) <= P
    S = M @ M.T
    # Wishart(P, S)/P: Var K_ij = (S_ij^2 + S_ii S_jj) / P
    se = np.sqrt((S**2 + np.outer(np.diag(S), np.diag(S))) / P / n)
    assert np.all(np.abs(draws.mean(axis=0) - S) < 6 * se)
