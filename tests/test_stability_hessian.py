"""Hessian tools vs a dense Hessian on a small model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from zoverify._rng import make_generator
from zoverify.numeric.hessian import (
    dense_hessian,
    flat_loss,
    hutchinson_trace,
    hutchpp_trace,
    hvp,
    lambda_max,
    lanczos,
)

ALPHA = 1e-4


@pytest.fixture(scope="module")
def problem():
    gen = torch.Generator().manual_seed(0)  # test-only seeding of the instance
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    X = torch.randn(20, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(20, 1, generator=gen, dtype=torch.float64)
    f, theta = flat_loss(model, X, lambda out: 0.5 * ((out - y) ** 2).mean())
    H = dense_hessian(f, theta)
    return f, theta, H


def test_hvp_matches_dense(problem):
    f, theta, H = problem
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    # forward-over-reverse and torch.func.hessian differ only by float64 rounding of ~100-term sums
    assert torch.allclose(hvp(f, theta)(v), H @ v, rtol=0, atol=1e-12 * float(torch.linalg.norm(H)))


def test_lanczos_lambda_max(problem):
    f, theta, H = problem
    dim = theta.numel()
    exact = torch.linalg.eigvalsh(H)
    ritz = lanczos(hvp(f, theta), dim, num_iters=dim, generator=make_generator(2))
    # a full Krylov space with full reorthogonalization: rounding only (1e-9 x ||H||)
    assert abs(ritz[-1] - float(exact[-1])) < 1e-9 * float(exact.abs().max())
    est = lambda_max(hvp(f, theta), dim, generator=make_generator(3), num_iters=20)
    assert est <= float(exact[-1]) * (1 + 1e-12)  # Ritz values never exceed lambda_max


def test_hutchinson_interval_is_calibrated(problem):
    f, theta, H = problem
    dim = theta.numel()
    n = 100
    est, se, _ = hutchinson_trace(hvp(f, theta), dim, num_probes=n, generator=make_generator(4))
    # z-test with the exact per-probe variance 2 (||H||_F^2 - sum H_ii^2) at alpha = 1e-4
    var = 2 * (float((H**2).sum()) - float((torch.diagonal(H) ** 2).sum()))
    z = abs(est - float(torch.trace(H))) / np.sqrt(var / n)
    assert z < stats.norm.isf(ALPHA / 2)


def test_hutchpp_exact_with_full_sketch(problem):
    f, theta, H = problem
    dim = theta.numel()
    # with m/3 >= dim the sketch spans R^dim: the trace is exact up to rounding
    t = hutchpp_trace(hvp(f, theta), dim, num_matvecs=3 * dim, generator=make_generator(5))
    assert abs(t - float(torch.trace(H))) < 1e-9 * float(torch.linalg.norm(H)) * dim


@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_dense_hessian_in_chunks_is_the_same_hessian(problem, chunk_size):
    f, theta, H = problem
    assert torch.equal(dense_hessian(f, theta, chunk_size=chunk_size), H)
