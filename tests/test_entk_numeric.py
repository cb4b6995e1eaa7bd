"""Numeric eNTK tools: the three first-order routes agree, the ZO routes agree.

All deterministic comparisons are in float64.  Tolerances: the routes differ
only in summation order over d <= 2000 parameters, so relative errors are a
few hundred ulps at most; 1e-11 relative to the kernel's largest entry leaves
a wide margin while still catching any real discrepancy (which would be O(1)).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as hst

from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator
from zoverify.numeric import entk as N
from zoverify.perturbations import parse_law

RTOL = 1e-11


def _mlp(seed: int, width: int = 7, inputs: int = 5, outputs: int = 3):
    gen = make_generator(seed)
    model = torch.nn.Sequential(torch.nn.Linear(inputs, width), torch.nn.Tanh(), torch.nn.Linear(width, outputs))
    model = model.to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return model


def _cnn(seed: int):
    gen = make_generator(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 4)
    ).to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return model


def _close(x, y):
    scale = float(y.abs().max())
    assert float((x - y).abs().max()) <= RTOL * max(scale, 1.0)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_first_order_routes_agree(kind):
    gen = make_generator(3)
    if kind == "mlp":
        model, x1, x2 = (
            _mlp(0),
            torch.randn(4, 5, generator=gen, dtype=torch.float64),
            torch.randn(3, 5, generator=gen, dtype=torch.float64),
        )
    else:
        model = _cnn(0)
        x1 = torch.randn(3, 1, 8, 8, generator=gen, dtype=torch.float64)
        x2 = torch.randn(2, 1, 8, 8, generator=gen, dtype=torch.float64)
    direct = N.empirical_ntk(model, x1, x2, method="direct")
    for method in ("jacobian", "ntk_vp"):
        _close(N.empirical_ntk(model, x1, x2, method=method, chunk_size=2), direct)
    # "auto" under a budget too small for Jacobians takes the product route
    _close(N.empirical_ntk(model, x1, x2, method="auto", memory_budget=16), direct)


def test_jacobian_matches_autograd():
    gen = make_generator(4)
    model, x = _mlp(1), torch.randn(5, 5, generator=gen, dtype=torch.float64)
    _close(N.jacobian(model, x, chunk_size=2), N.direct_jacobian(model, x))


@settings(max_examples=8)
@given(
    seed=hst.integers(0, 2**31),
    P=hst.integers(1, 40),
    chunk=hst.integers(1, 16),
    law=hst.sampled_from(["gaussian", "rademacher", "sphere", "coordinate"]),
)
def test_chunked_zo_entk_equals_dense_reference(seed, P, chunk, law):
    model = _mlp(seed % 1000)
    gen = make_generator(seed)
    x1 = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    x2 = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    law_obj = parse_law(law)
    d = N.num_parameters(N.parameters_of(model))
    chunked = N.zo_entk(
        model, x1, x2, law=law_obj, num_directions=P, generator=make_generator(seed + 1), chunk_size=chunk
    )
    U = N.zo_directions(law_obj, P, d, generator=make_generator(seed + 1), chunk_size=chunk)
    j1, j2 = N.jacobian(model, x1), N.jacobian(model, x2)
    dense = N.zo_entk_from_jacobians(j1, j2, U)
    _close(chunked, dense)
    stored = N.zo_entk_jacobian_chunks(
        j1, j2, law=law_obj, num_directions=P, generator=make_generator(seed + 1), chunk_size=chunk
    )
    _close(stored, dense)


def test_finite_differences_converge_at_second_order():
    model = _mlp(2)
    gen = make_generator(5)
    x1, x2 = (
        torch.randn(2, 5, generator=gen, dtype=torch.float64),
        torch.randn(2, 5, generator=gen, dtype=torch.float64),
    )
    law = parse_law("gaussian")
    exact = N.zo_entk(model, x1, x2, law=law, num_directions=6, generator=make_generator(9))
    errs = []
    for mu in (4e-2, 2e-2):
        fd = N.zo_entk(
            model, x1, x2, law=law, num_directions=6, generator=make_generator(9), method="finite_difference", mu=mu
        )
        errs.append(float((fd - exact).abs().max()))
    # central differences: error = c mu^2 + O(mu^4); halving mu divides it by 4 (rounding ~1e-14 is negligible)
    assert 3.5 < errs[0] / errs[1] < 4.5


def test_bad_method_names():
    model = _mlp(0)
    x = torch.zeros(1, 5, dtype=torch.float64)
    with pytest.raises(InvalidParameterError):
        N.empirical_ntk(model, x, x, method="nope")
    with pytest.raises(InvalidParameterError):
        N.zo_entk(model, x, x, law=parse_law("gaussian"), num_directions=2, generator=make_generator(0), method="x")
    with pytest.raises(InvalidParameterError):
        N.zo_entk(model, x, x, law=parse_law("gaussian"), num_directions=0, generator=make_generator(0))


@pytest.mark.gpu
def test_cuda_routes_match_cpu_in_float64():
    torch.backends.cuda.matmul.allow_tf32 = False  # float64 is unaffected; guard float32 callers
    model = _mlp(3)
    gen = make_generator(6)
    x1, x2 = (
        torch.randn(3, 5, generator=gen, dtype=torch.float64),
        torch.randn(2, 5, generator=gen, dtype=torch.float64),
    )
    cpu = N.empirical_ntk(model, x1, x2, method="direct")
    gpu_model = model.to("cuda")
    for method in ("jacobian", "ntk_vp"):
        _close(N.empirical_ntk(gpu_model, x1.cuda(), x2.cuda(), method=method).cpu(), cpu)


def test_replicate_estimates_share_the_single_estimators_directions():
    """zo_entk is replicate 0 of zo_entk_samples (R = 1); the Jacobian route draws the same directions."""
    model = _mlp(3)
    x1, x2 = torch.randn(2, 5, generator=make_generator(4), dtype=torch.float64), torch.ones(1, 5, dtype=torch.float64)
    law = parse_law("rademacher")
    one = N.zo_entk(model, x1, x2, law=law, num_directions=10, generator=make_generator(5), chunk_size=4)
    many = N.zo_entk_samples(
        model, x1, x2, law=law, num_directions=10, num_replicates=1, generator=make_generator(5), chunk_size=4
    )
    assert torch.equal(many[0], one)
    j1, j2 = N.jacobian(model, x1), N.jacobian(model, x2)
    jac = N.zo_entk_jacobian_samples(
        j1, j2, law=law, num_directions=10, num_replicates=3, generator=make_generator(6), chunk_size=4
    )
    mod = N.zo_entk_samples(
        model, x1, x2, law=law, num_directions=10, num_replicates=3, generator=make_generator(6), chunk_size=4
    )
    assert torch.allclose(jac, mod, rtol=RTOL, atol=RTOL * float(mod.abs().max()))
    assert not torch.allclose(mod[0], mod[1])  # replicates use different directions


def test_replicate_estimates_average_to_the_first_order_entk():
    """Mean of R = 2^14 Gaussian replicates (P = 3) against J1 J2^T: every entry within 5 standard errors
    (two-sided z, 2 x 1 x 3 x 3 = 18 entries: false-failure probability < 1e-5)."""
    model = _mlp(7)
    x1, x2 = torch.randn(2, 5, generator=make_generator(8), dtype=torch.float64), torch.ones(1, 5, dtype=torch.float64)
    K = N.zo_entk_samples(
        model,
        x1,
        x2,
        law=parse_law("gaussian"),
        num_directions=3,
        num_replicates=1 << 14,
        generator=make_generator(9),
        chunk_size=3,
    )
    mean, se = K.mean(dim=0), K.std(dim=0) / K.shape[0] ** 0.5
    assert torch.all((mean - N.empirical_ntk(model, x1, x2)).abs() <= 5 * se)


def test_replicate_count_must_be_positive():
    with pytest.raises(InvalidParameterError, match="num_replicates"):
        N.zo_entk_samples(
            _mlp(0),
            torch.ones(1, 5, dtype=torch.float64),
            torch.ones(1, 5, dtype=torch.float64),
            law=parse_law("gaussian"),
            num_directions=2,
            num_replicates=0,
            generator=make_generator(0),
        )
