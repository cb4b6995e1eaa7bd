"""Law constructors and samplers: bad parameters are refused by name, edge parameters give the right law.

Expected values come from the definitions (exact enumeration of a finite law,
raw moments of a Pareto law, numerical quadrature of a density), not from the
closed forms under test.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
import sympy.stats as st
import torch
from scipy.integrate import quad

from zoverify._errors import InvalidParameterError, MomentDoesNotExistError
from zoverify.moment_maps import symbols as S
from zoverify.perturbations import AbstractIIDLaw, Gaussian, parse_law
from zoverify.perturbations._sampling import standard_gamma
from zoverify.perturbations._structured import BASE_PARAM, Block, LowRank, Sparse
from zoverify.perturbations._sympy_law import SympyIIDLaw
from zoverify.symbolic._evaluate import evaluate


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


# -- gaussian ------------------------------------------------------------------------------
@pytest.mark.parametrize("std", [True, "2", None])
def test_gaussian_std_must_be_a_number(std):
    with pytest.raises(InvalidParameterError, match=rf"gaussian: std must be a positive number, got {std!r}"):
        Gaussian(std=std)


def test_gaussian_symbolic_std_must_be_declared_positive():
    with pytest.raises(InvalidParameterError, match=r"gaussian: symbolic std must be declared positive"):
        Gaussian(std=sp.Symbol("s"))
    assert Gaussian(std=sp.Symbol("s", positive=True)).centred_moments()["var"] == sp.Symbol("s", positive=True) ** 2


@pytest.mark.parametrize("mean", [[], [0.5, 1j]])
def test_gaussian_vector_mean_must_be_non_empty_and_real(mean):
    with pytest.raises(InvalidParameterError, match=r"gaussian: mean must be a real scalar or a non-empty real vector"):
        Gaussian(mean=mean)


def test_gaussian_scalar_mean_must_be_real():
    with pytest.raises(InvalidParameterError, match=r"gaussian: mean must be real, got 0.5j"):
        Gaussian(mean=0.5j)


def test_gaussian_symbolic_vector_mean_follows_the_dimension_asked_for():
    law = Gaussian(mean=sp.MatrixSymbol("mu", S.d, 1))
    assert law.mean_vector(3) == sp.MatrixSymbol("mu", 3, 1)
    mu = np.array([0.5, -1.0, 2.0])
    assert np.allclose(evaluate(law.mean(3), {sp.MatrixSymbol("mu", 3, 1): mu}).ravel(), mu)


def test_gaussian_with_a_symbolic_vector_mean_cannot_be_sampled():
    law = Gaussian(mean=sp.MatrixSymbol("mu", S.d, 1))
    with pytest.raises(InvalidParameterError, match=r"gaussian: cannot sample with a symbolic vector mean"):
        law.sample(4, 3, generator=_generator())


def test_gaussian_with_a_symbolic_std_cannot_be_sampled():
    law = Gaussian(std=sp.Symbol("s", positive=True))
    with pytest.raises(InvalidParameterError, match=r"gaussian\(std='s'\): cannot sample with symbolic std"):
        law.sample(4, 3, generator=_generator())


# -- student t -----------------------------------------------------------------------------
def test_student_t_variance_is_infinite_from_nu_2_down():
    edge, inside = parse_law("student_t(nu=2)"), parse_law("student_t(nu=2.5)")
    assert isinstance(edge, AbstractIIDLaw) and isinstance(inside, AbstractIIDLaw)
    assert edge.centred_moments()["var"] == sp.oo
    assert inside.centred_moments()["var"] == 5  # nu / (nu - 2)
    with pytest.raises(MomentDoesNotExistError, match=r"student_t\(nu=2\) has no finite moment of order 2"):
        parse_law("student_t(nu=2)").second_moment(3)


def test_gamma_sampler_needs_a_positive_shape():
    with pytest.raises(ValueError, match=r"gamma shape must be positive, got 0.0"):
        standard_gamma(0.0, (3,), generator=_generator())


# -- structured laws -----------------------------------------------------------------------
def test_block_base_must_be_a_zero_mean_iid_law():
    with pytest.raises(InvalidParameterError, match=r"block: base must be a zero-mean iid law spec .*got 'sphere'"):
        Block(base="sphere")


@pytest.mark.parametrize(
    ("spec", "ok"), [("gaussian", True), ("laplace(b=0.6)", True), ("sphere", False), ("gaussian(mean=1)", False)]
)
def test_base_domain_holds_zero_mean_iid_specs(spec, ok):
    assert BASE_PARAM.domain.contains(spec) is ok


@pytest.mark.parametrize("cls", [Block, Sparse])
def test_scaled_must_be_a_boolean(cls):
    with pytest.raises(InvalidParameterError, match=rf"{cls.name}: scaled must be true or false, got 1"):
        cls(scaled=1)


@pytest.mark.parametrize("p", ["1+", [0.5], 0.5j, 1.5])
def test_sparse_p_must_be_a_number_in_the_unit_interval(p):
    # "1+" is not sympy, a list and a complex number have no order: each is refused, not a crash
    with pytest.raises(InvalidParameterError, match=r"sparse: p must be a number in \(0, 1\], got"):
        Sparse(p=p)


def test_sparse_p_from_a_spec_list_is_refused():
    with pytest.raises(InvalidParameterError, match=r"sparse: p must be a number in \(0, 1\], got \[0.5\]"):
        parse_law("sparse(p=[0.5])")


def test_laws_with_a_continuous_base_have_no_outcome_list():
    assert Block(blocks=2).enumerate_outcomes(4) is None
    assert Sparse(p=0.5).enumerate_outcomes(2) is None
    outcomes = Block(blocks=2, base="rademacher").enumerate_outcomes(4)  # a finite base: every outcome
    assert outcomes is not None
    values, probs = outcomes
    assert values.shape == (8, 4) and float(probs.sum()) == pytest.approx(1.0, abs=1e-15)


class _SkewTwoPoint(AbstractIIDLaw):
    """z_i iid: -1 with probability 2/3, 2 with probability 1/3 (mean 0, var 2, third moment 2)."""

    name = "skew_two_point"
    values, probs = (-1.0, 2.0), (2 / 3, 1 / 3)

    def parameters(self):
        return {}

    def scalar_mean(self):
        return sp.Integer(0)

    def centred_moments(self):
        return {"var": sp.Integer(2), "m3": sp.Integer(2), "m4": sp.Integer(6)}

    def enumerate_outcomes(self, dim):
        grid = list(itertools.product(range(2), repeat=dim))
        out = torch.tensor([[self.values[i] for i in g] for g in grid], dtype=torch.float64)
        pr = torch.tensor([math.prod(self.probs[i] for i in g) for g in grid], dtype=torch.float64)
        return out, pr


def test_block_third_moment_with_a_skewed_base_matches_enumeration():
    base, blocks, d = _SkewTwoPoint(), 2, 3
    v = np.array([1.0, -2.0, 3.0])
    law = Block(blocks=blocks, base=base)
    v_sym = sp.MatrixSymbol("v", d, 1)
    got = evaluate(law.third_moment(v_sym, d), {v_sym: v})
    # z = c D_b w with b uniform over the contiguous blocks and c^2 = B / var
    c = math.sqrt(blocks / 2)
    expected = np.zeros((d, d))
    for cols in np.array_split(np.arange(d), blocks):
        w, p = base.enumerate_outcomes(len(cols))
        for wk, pk in zip(w.numpy(), p.numpy(), strict=True):
            z = np.zeros(d)
            z[cols] = c * wk
            expected += pk / blocks * (v @ z) * np.outer(z, z)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert np.any(np.diag(expected) != 0)  # the skew makes this term non-zero


def test_lowrank_projection_carries_the_whole_scale():
    law, gen = LowRank(rank=2, shape=(3, 4)), _generator(3)
    P = law.draw_projection(generator=gen)
    V = P[: law.n, : law.rank].numpy() * math.sqrt(law.rank)  # P = I_m (x) V / sqrt(rank)
    U = torch.randn((law.m, law.rank), generator=gen, dtype=torch.float64).numpy()
    z = (U @ V.T).reshape(-1) / math.sqrt(law.rank)  # the law's definition, vec row-major
    np.testing.assert_allclose(law.projection_scale() * P.numpy() @ U.reshape(-1), z, rtol=1e-12, atol=1e-14)


# -- laws from sympy.stats -----------------------------------------------------------------
def test_sympy_law_moments_beyond_the_tail_index_are_infinite():
    law = parse_law("iid(Pareto(1, 6))")  # E x^k = 6 / (6 - k) for k < 6, infinite from k = 6
    assert isinstance(law, SympyIIDLaw)
    raw = [sp.Rational(6, 6 - k) if k else sp.Integer(1) for k in range(6)]
    m1 = raw[1]
    central = lambda k: sum(sp.binomial(k, j) * raw[j] * (-m1) ** (k - j) for j in range(k + 1))  # noqa: E731
    mom = law.centred_moments()
    assert mom["m6"] == sp.oo
    assert [mom[k] for k in ("var", "m4", "m5")] == [central(2), central(4), central(5)]


_X = sp.Symbol("x", real=True)
_XX_AREA = sum((-1) ** (n + 1) * float(n) ** -n for n in range(1, 20))  # the sophomore's dream: int_0^1 x^x dx


def test_a_density_without_closed_form_cdf_is_sampled_by_numerical_inversion():
    # sympy cannot integrate x^x, so the quantile comes from the density alone (centre: the middle of [0, 1])
    law = SympyIIDLaw(st.ContinuousRV(_X, _X**_X / sp.Float(_XX_AREA, 17), set=sp.Interval(0, 1)), label="xx")
    with pytest.raises(InvalidParameterError, match=r"sympy gives no closed-form CDF, so it cannot be sampled"):
        law._cdf()
    u = np.array([1e-6, 0.1, 0.5, 0.9, 1 - 1e-6])
    x = law._quantile(u)
    cdf = [quad(lambda t: t**t / _XX_AREA, 0, v, epsabs=1e-12, epsrel=1e-12)[0] for v in x]
    np.testing.assert_allclose(cdf, u, rtol=0, atol=1e-10)  # PINV's u-resolution is 1e-12
    z = law.sample(50, 2, generator=_generator())
    assert z.shape == (50, 2) and bool(((z > 0) & (z < 1)).all())


def test_a_density_that_neither_route_can_invert_is_refused():
    # negative on part of [0, 1]: not a density, so the numerical inversion fails as well
    law = SympyIIDLaw(st.ContinuousRV(_X, _X**_X - sp.Float(0.9), set=sp.Interval(0, 1)), label="bad")
    with pytest.raises(
        InvalidParameterError,
        match=r"no closed-form CDF.*inverting the density numerically failed too .*own sample\(\)",
    ):
        law.sample(4, 1, generator=_generator())


def test_sparse_at_p_one_is_the_dense_law_not_a_refusal():
    """p = 1 is the closed end of (0, 1]: every coordinate kept, c = 1, so the draws are the base law's."""
    from zoverify._rng import make_generator
    from zoverify.perturbations import parse_law

    law = parse_law("sparse(p=1)")
    z = law.sample(64, 5, generator=make_generator(0))
    assert z.shape == (64, 5) and bool((z != 0).all())  # p < 1 would zero about (1 - p) of the entries
