"""The symbolic NZK layer against independent routes.

Routes: sympy.stats coordinate moments combined by independence at d = 2, 3
(never the law's own moment maps), exact enumeration of finite laws, explicit
recursions in numpy, and the paper's stated closed forms.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import sympy as sp
import sympy.stats as st
from hypothesis import given
from hypothesis import strategies as hs

from zoverify import nzk
from zoverify._errors import InvalidParameterError, MomentDoesNotExistError
from zoverify.perturbations import Gaussian, Laplace, parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S

# -- an independent expectation engine: sympy.stats univariate moments + independence ----


def expect_polynomial(poly: sp.Expr, coords: list[sp.Symbol], moment) -> sp.Expr:
    """E[poly(x_1..x_d)] for independent coordinates with E[x_i^k] = moment(i, k)."""
    p = sp.Poly(sp.expand(poly), *coords)
    total = sp.Integer(0)
    for powers, coeff in p.terms():
        term = coeff
        for i, k in enumerate(powers):
            if k:
                term *= moment(i, k)
        total += term
    return sp.expand(total)


@functools.cache
def _rv_moment(rv, k):
    return sp.expand(st.E(rv**k))


def stats_moments(rvs):
    return lambda i, k: _rv_moment(rvs[i], k)


def shared_matrix_by_stats(rvs) -> sp.Matrix:
    d = len(rvs)
    x = sp.symbols(f"x0:{d}", real=True)
    n2 = sum(xi**2 for xi in x)
    moment = stats_moments(rvs)
    return sp.Matrix(d, d, lambda i, j: expect_polynomial(x[i] * x[j] * n2, list(x), moment))


def second_matrix_by_stats(rvs) -> sp.Matrix:
    d = len(rvs)
    x = sp.symbols(f"x0:{d}", real=True)
    moment = stats_moments(rvs)
    return sp.Matrix(d, d, lambda i, j: expect_polynomial(x[i] * x[j], list(x), moment))


def explicit(M: sp.MatrixExpr, d: int) -> sp.Matrix:
    return sp.Matrix(sp.sympify(M).subs(S.d, d).as_explicit())


# -- shared Gaussian with a vector mean (P1-2) and its special cases ----------------------


@pytest.mark.parametrize("d", [2, 3])
def test_shared_gaussian_vector_mean_matches_sympy_stats(d):
    mus = sp.symbols(f"mu0:{d}", real=True)
    sigma = S.sigma
    rvs = [st.Normal(f"g{i}", mus[i], sigma) for i in range(d)]
    truth = shared_matrix_by_stats(rvs)
    M = nzk.nzk_middle_matrix(Gaussian(mean=list(mus), std=sigma), pairing="shared")
    assert (explicit(M, d) - truth).expand() == sp.zeros(d, d)
    # The paper's closed form ((d+2)s^4 + s^2|mu|^2) I + ((d+4)s^2 + |mu|^2) mu mu^T is the same matrix.
    stated = nzk.shared_gaussian_statement(sp.Matrix(mus), sigma, sp.Integer(d))
    assert (explicit(stated, d) - truth).expand() == sp.zeros(d, d)


@pytest.mark.slow
def test_direct_sympy_stats_entry_d2():
    """One entry with sympy.stats doing the whole expectation (no independence shortcut)."""
    z = [st.Normal("a", sp.Rational(1, 3), 2), st.Normal("b", -1, 2)]
    entry = st.E(sp.expand(z[0] * z[1] * (z[0] ** 2 + z[1] ** 2)))
    M = nzk.nzk_middle_matrix(Gaussian(mean=[sp.Rational(1, 3), -1], std=2))
    assert sp.nsimplify(explicit(M, 2)[0, 1]) == sp.nsimplify(entry)


def test_symbolic_vector_mean_gives_paper_form_for_symbolic_d():
    mu = S.vector("mu", S.d)
    M = nzk.nzk_middle_matrix(Gaussian(mean=mu, std=S.sigma))
    stated = nzk.shared_gaussian_statement(mu, S.sigma, S.d)
    rng = np.random.default_rng(3)
    for dim in (1, 4, 9):
        m = rng.standard_normal(dim)
        env = {S.d: dim, S.sigma: 0.7, mu: m}
        lhs, rhs = evaluate(M, env), evaluate(stated, env)
        # float64 evaluation of the same polynomial: a few ulps of the largest entry
        assert np.allclose(lhs, rhs, rtol=1e-12, atol=1e-12 * np.abs(rhs).max())


def test_scalar_mean_gaussian_matches_theory_form():
    """P1-2, scalar mean (docs/nzk.md#shared-gaussian-directions): ((d+2)s^4 + d s^2 mu^2) I + ((d+4) s^2 mu^2 + d mu^4) 1 1^T."""
    mu, s = sp.Rational(1, 2), sp.Integer(2)
    M = nzk.nzk_middle_matrix(Gaussian(mean=mu, std=s))
    for d in (2, 5):
        form = ((d + 2) * s**4 + d * s**2 * mu**2) * sp.eye(d) + ((d + 4) * s**2 * mu**2 + d * mu**4) * sp.ones(d, d)
        assert explicit(M, d) == form


def test_corollary2_falls_out_of_general_form():
    c = nzk.kernel_factor(Gaussian(std=S.sigma))
    assert sp.simplify(c - nzk.corollary2_statement(S.sigma, S.d)) == 0
    assert sp.simplify(c - (S.d + 2) * S.sigma**4) == 0


# -- iid laws (P1-4): m4 + (d-1) sigma^4 from sympy.stats moments ---------------------------


IID_STATS = {
    "laplace(b=0.6)": lambda name: st.Laplace(name, 0, sp.Rational(3, 5)),
    "uniform": lambda name: st.Uniform(name, -sp.sqrt(3), sp.sqrt(3)),
    "rademacher": lambda name: (
        st.Rademacher(name) if hasattr(st, "Rademacher") else 2 * st.Bernoulli(name, sp.S.Half) - 1
    ),
    "gaussian(std=1.3)": lambda name: st.Normal(name, 0, sp.Rational(13, 10)),
}


@pytest.mark.parametrize("spec", list(IID_STATS))
@pytest.mark.parametrize("d", [2, 3])
def test_shared_iid_matches_sympy_stats(spec, d):
    truth = shared_matrix_by_stats([IID_STATS[spec]("w")] * d)  # iid: one coordinate's moments
    assert explicit(nzk.nzk_middle_matrix(spec), d) == truth
    x = IID_STATS[spec]("one")
    m4, var = st.E(x**4), st.variance(x)
    assert sp.simplify(nzk.kernel_factor(spec) - nzk.iid_shared_statement(m4, var, S.d)) == 0


def test_student_t_factor_from_integrated_moments():
    nu = 10
    x = sp.Symbol("x", real=True)
    dens = st.density(st.StudentT("t", nu))(x)
    m2 = sp.integrate(x**2 * dens, (x, -sp.oo, sp.oo))
    m4 = sp.integrate(x**4 * dens, (x, -sp.oo, sp.oo))
    diff = nzk.kernel_factor(f"student_t(nu={nu})") - (m4 + (S.d - 1) * m2**2)
    assert sp.simplify(diff.rewrite(sp.gamma)) == 0


def test_student_t_nu3_shared_has_no_kernel():
    with pytest.raises(MomentDoesNotExistError):
        nzk.nzk_middle_matrix("student_t(nu=3)", pairing="shared")
    # independent pairs need only second moments, which exist for nu = 3
    assert nzk.kernel_factor("student_t(nu=3)", pairing="independent") == 9


# -- exact enumeration of finite laws --------------------------------------------------------


@pytest.mark.parametrize("spec", ["rademacher", "coordinate", "coordinate(signed=True)"])
@pytest.mark.parametrize("d", [2, 3, 4])
def test_shared_and_independent_by_enumeration(spec, d):
    law = parse_law(spec)
    z, p = (t.numpy() for t in law.enumerate_outcomes(d))
    shared = np.einsum("k,ki,kj->ij", p, z, z) * 0 + np.einsum("k,k,ki,kj->ij", p, (z**2).sum(1), z, z)
    assert np.allclose(nzk.evaluate_middle_matrix(nzk.nzk_middle_matrix(law), d), shared, rtol=0, atol=1e-12 * d**2)
    # independent: enumerate the product space of (zeta, z) pairs
    indep = np.zeros((d, d))
    for (a, pa), (b, pb) in itertools.product(zip(z, p, strict=True), repeat=2):
        indep += pa * pb * np.outer(a, a) @ np.outer(b, b)
    M = nzk.nzk_middle_matrix(law, pairing="independent")
    assert np.allclose(nzk.evaluate_middle_matrix(M, d), indep, rtol=0, atol=1e-12 * d**2)


# -- independent pairs (P1-1) ------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 3])
def test_independent_pairs_vector_means_sympy_stats(d):
    a = [sp.Rational(k + 1, 4) for k in range(d)]
    b = [sp.Rational(-k, 3) + 1 for k in range(d)]
    zeta_rvs = [st.Normal(f"u{i}", a[i], sp.Rational(1, 2)) for i in range(d)]
    z_rvs = [st.Laplace(f"v{i}", 0, sp.Rational(3, 5)) + b[i] for i in range(d)]
    truth = second_matrix_by_stats(zeta_rvs) * second_matrix_by_stats(z_rvs)
    # the z law: Laplace noise plus a vector mean is not registered; build it as a Gaussian-free check
    M = nzk.nzk_middle_matrix(
        Gaussian(mean=b, std=sp.sqrt(2) * sp.Rational(3, 5)),
        pairing="independent",
        zeta_law=Gaussian(mean=a, std=sp.Rational(1, 2)),
    )
    assert explicit(M, d) == truth  # only second moments enter: Laplace and Gaussian agree


def test_independent_isotropic_vector_mean_statement():
    """P1-1 (docs/nzk.md#independent-directions): both ~ (mu, s^2 I) gives s^4 I + (2 s^2 + |mu|^2) mu mu^T."""
    mus = sp.symbols("m0:3", real=True)
    law = Gaussian(mean=list(mus), std=S.sigma)
    M = explicit(nzk.nzk_middle_matrix(law, pairing="independent"), 3)
    mu = sp.Matrix(mus)
    form = S.sigma**4 * sp.eye(3) + (2 * S.sigma**2 + (mu.T * mu)[0, 0]) * mu * mu.T
    assert (M - form).expand() == sp.zeros(3, 3)


def test_independent_order_follows_update_direction():
    """M = E[zeta zeta^T] E[z z^T]; the two factors do not commute for different vector means."""
    M = explicit(
        nzk.nzk_middle_matrix("gaussian(mean=[1,0])", pairing="independent", zeta_law="gaussian(mean=[0,1])"), 2
    )
    assert M == sp.Matrix([[1, 0], [0, 2]]) * sp.Matrix([[2, 0], [0, 1]]) + sp.zeros(2, 2)
    assert M == sp.Matrix([[2, 0], [0, 2]])
    M2 = explicit(
        nzk.nzk_middle_matrix("gaussian(mean=[1,1])", pairing="independent", zeta_law="gaussian(mean=[1,0])"), 2
    )
    assert M2 == sp.Matrix([[2, 0], [0, 1]]) * sp.Matrix([[2, 1], [1, 2]])


def test_bad_inputs():
    with pytest.raises(InvalidParameterError, match="pairing"):
        nzk.nzk_middle_matrix("gaussian", pairing="both")
    with pytest.raises(InvalidParameterError, match="independent"):
        nzk.nzk_middle_matrix("gaussian", pairing="shared", zeta_law="rademacher")
    with pytest.raises(InvalidParameterError, match="different fixed dimensions"):
        nzk.nzk_middle_matrix("gaussian(mean=[1,2])", pairing="independent", zeta_law="gaussian(mean=[1,2,3])")


# -- equal kernels -----------------------------------------------------------------------------


def test_laplace_scale_matching_gaussian_at_d2():
    b = nzk.equal_kernel_parameter(lambda p: Laplace(b=p), "gaussian", d=2)
    assert sp.simplify(b - sp.Integer(7) ** sp.Rational(-1, 4)) == 0
    # the paper's 0.605 is about 6 % short of the Gaussian's factor 4 at d = 2
    assert nzk.kernel_factor("gaussian", d=2) == 4
    paper = float(nzk.kernel_factor("laplace(b=0.605)", d=2))
    assert paper == pytest.approx(28 * 0.605**4, rel=1e-14)
    assert 0.06 < 1 - paper / 4 < 0.065


def test_speedup_is_d_plus_2_sigma2():
    assert sp.simplify(nzk.zo_gd_speedup(Gaussian(std=S.sigma)) - (S.d + 2) * S.sigma**2) == 0
    assert nzk.zo_gd_speedup("rademacher") == S.d
    assert nzk.zo_gd_speedup("sphere") == S.d


# -- mean evolution and stability (P1-6, P1-8) -------------------------------------------------


@given(seed=hs.integers(0, 2**31 - 1), steps=hs.integers(0, 30), n=hs.integers(1, 6))
def test_mean_evolution_equals_the_recursion(seed, steps, n):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    K = A @ A.T
    eta = 0.5 * n / max(np.linalg.eigvalsh(K).max(), 1e-3)
    y, f0 = rng.standard_normal(n), rng.standard_normal(n)
    f = f0.copy()
    for _ in range(steps):
        f = f - eta / n * K @ (f - y)
    closed = nzk.mean_function(K, y, f0, eta=eta, steps=steps)
    # both are O(steps) products of a contraction; rounding stays a few hundred ulps of |f|
    assert np.allclose(closed, f, rtol=0, atol=1e-12 * (1 + np.abs(f0).max() + np.abs(y).max()))


@given(seed=hs.integers(0, 2**31 - 1), n=hs.integers(1, 6))
def test_mean_curve_equals_matrix_power_form(seed, n):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    K = A @ A.T
    eta = 0.9 * n * 2 / max(np.linalg.eigvalsh(K).max(), 1e-3)
    y, f0 = rng.standard_normal(n), rng.standard_normal(n)
    steps = [0, 1, 5, 40]
    curve = nzk.mean_function_curve(K, y, f0, eta=eta, steps=steps)
    ref = np.array([nzk.mean_function(K, y, f0, eta=eta, steps=t) for t in steps])
    # eigendecomposition vs repeated squaring: both backward stable, a few hundred ulps of the data's scale
    assert np.allclose(curve, ref, rtol=0, atol=1e-10 * (1 + np.abs(y).max() + np.abs(f0).max()))


@given(seed=hs.integers(0, 2**31 - 1), n=hs.integers(1, 6))
def test_threshold_separates_stable_from_unstable(seed, n):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n + 1))
    K = A @ A.T
    eta_star = nzk.kernel_gd_threshold(K)
    for factor, stable in ((0.99, True), (1.01, False)):
        rho = np.abs(np.linalg.eigvals(np.eye(n) - factor * eta_star / n * K)).max()
        assert bool(rho < 1) is stable


def test_threshold_expression():
    assert nzk.stability_threshold_expr() == 2 * S.N / S.lam_max
    c = nzk.kernel_factor(Gaussian(std=S.sigma))
    # Corollary 2's threshold 2N / ((d+2) sigma^4 lambda_max(X X^T))
    thr = nzk.stability_threshold_expr(lam_max=c * S.lam)
    assert sp.simplify(thr - 2 * S.N / ((S.d + 2) * S.sigma**4 * S.lam)) == 0


def test_independent_zero_mean_is_product_of_variances():
    """P1-1 zero-mean isotropic case: E K = sigma_zeta^2 sigma_z^2 X X^T (= the NTK at sigma = 1)."""
    c = nzk.kernel_factor(Gaussian(std=S.sigma), pairing="independent", zeta_law=Gaussian(std=2))
    assert sp.simplify(c - 4 * S.sigma**2) == 0
    assert nzk.kernel_factor("gaussian", pairing="independent") == 1
    assert nzk.kernel_factor("laplace(b=0.6)", pairing="independent", zeta_law="uniform") == sp.Rational(18, 25)


def test_independent_pair_orientation_is_the_transpose_of_the_papers_stored_kernel():
    """The paper's code stores K_code[n, m] = (z.x_n)(zeta.x_m)(zeta.z): its mean is X M^T X^T, ours X M X^T.

    Plain numpy Monte Carlo of the code's formula (2^18 pairs); each entry within z = 5.5 standard errors
    (two-sided, Bonferroni over 9 entries: false-failure probability < 4e-7); the two orientations differ
    here (E[zeta zeta^T] and E[z z^T] do not commute) by many standard errors in some entry.
    """
    import numpy as np

    from zoverify import nzk
    from zoverify.perturbations import Gaussian

    mu_z, mu_zeta, s_z, s_zeta = np.array([1.0, 1.0, 0.0]), np.array([1.5, 0.0, 0.0]), 0.5, 0.5
    M = nzk.evaluate_middle_matrix(
        nzk.nzk_middle_matrix(
            Gaussian(mean=list(mu_z), std=s_z), pairing="independent", zeta_law=Gaussian(mean=list(mu_zeta), std=s_zeta)
        ),
        3,
    )
    rng = np.random.default_rng(5)
    X = np.eye(3) + 0.2 * rng.uniform(0.0, 1.0, (3, 3))
    n = 1 << 18
    z = mu_z + s_z * rng.standard_normal((n, 3))
    zeta = mu_zeta + s_zeta * rng.standard_normal((n, 3))
    first, second, third = z @ X.T, zeta @ X.T, (zeta * z).sum(axis=1)
    samples = first[:, :, None] * second[:, None, :] * third[:, None, None]  # the code's first.T * second * third
    est, se = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(est - X @ M.T @ X.T) <= 5.5 * se)
    assert np.max(np.abs(X @ M @ X.T - X @ M.T @ X.T) / se) > 20  # the orientation is visible here
    # and the code trains with K_code^T = our Kbar: the same function-space step
    assert np.allclose((X @ M.T @ X.T).T, X @ M @ X.T, rtol=1e-14, atol=0)


def test_block_law_kernel_factor_at_equal_blocks():
    """block(blocks=4) at d = 8: z = 2 w on one 2-coordinate block (prob 1/4), w ~ N(0, I_2), so
    E[||z||^2 z_i^2] = (1/4) 16 E[(w_1^2 + w_2^2) w_1^2] = 4 (3 + 1) = 16 and off-diagonals vanish;
    at d = 6 the blocks have sizes 2, 2, 1, 1 and M is not a multiple of I."""
    assert nzk.kernel_factor("block(blocks=4)", d=8) == 16
    assert nzk.zo_gd_speedup("block(blocks=4)", d=8) == 16  # E[z z^T] = I (scaled)
    assert nzk.identity_coefficient(nzk.nzk_middle_matrix("block(blocks=4)", d=6)) is None
