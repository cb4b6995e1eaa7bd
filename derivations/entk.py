# %% [markdown]
# # The ZO eNTK: mean, exact variance, gradient second moment, JL count
#
# "Learning Dynamics of Zeroth-Order Optimization: A Kernel Perspective" (arXiv 2605.03373;
# items P2-1 .. P2-7 of docs/entk.md) estimates the eNTK $K = J_o J_u^\top$ by $\hat K = \frac1P\sum_p (J_o u_p)(J_u u_p)^\top$.
# With $S = E[uu^\top]$ and $F(M) = E[uu^\top M uu^\top]$:
#
# * $E\hat K = J_o S J_u^\top$;
# * $\operatorname{Var}\hat K_{ab} = (a^\top F(bb^\top)a - (a^\top S b)^2)/P$;
# * $E\|\hat K - E\hat K\|_F^2 = (\operatorname{tr}(A F(B^\top B)A^\top) - \|ASB^\top\|_F^2)/P$;
# * $E\|\hat g\|^2 = (g^\top F(I) g + (P-1)\|Sg\|^2)/P$.
#
# This notebook derives the iid forms from index sums (no library maps), then checks that the
# library's general forms reduce to them, and derives the JL direction count from Achlioptas' theorem.

# %%
import itertools

import numpy as np
import sympy as sp

from zoverify.perturbations import parse_law
from zoverify.symbolic import entk as E
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S

m4 = S.m4
dim = 3
a = sp.Matrix(sp.symbols(f"a0:{dim}", real=True))
b = sp.Matrix(sp.symbols(f"b0:{dim}", real=True))

# %% [markdown]
# ## 1. Entry variance for iid unit-variance coordinates, from the fourth-moment tensor
# $E[z_iz_jz_kz_l] = \delta_{ij}\delta_{kl}+\delta_{ik}\delta_{jl}+\delta_{il}\delta_{jk}+(m_4-3)\delta_{ijkl}$.


# %%
def fourth(i, j, k, l):
    d = lambda p, q: int(p == q)  # noqa: E731
    return d(i, j) * d(k, l) + d(i, k) * d(j, l) + d(i, l) * d(j, k) + (m4 - 3) * int(i == j == k == l)


second_moment = sum(
    a[i] * a[j] * b[k] * b[l] * fourth(i, j, k, l) for i, j, k, l in itertools.product(range(dim), repeat=4)
)
variance_by_hand = sp.expand(second_moment - (a.T * b)[0] ** 2)
paper_form = sp.expand(
    (a.T * a)[0] * (b.T * b)[0] + (a.T * b)[0] ** 2 + (m4 - 3) * sum(a[k] ** 2 * b[k] ** 2 for k in range(dim))
)
assert sp.expand(variance_by_hand - paper_form) == 0
print("Var K_hat_ab * P =", paper_form)

# %% [markdown]
# The library's general map, for each unit-variance iid law, gives the same with its own $m_4$
# (Gaussian 3, Rademacher 1, uniform on $[-\sqrt3,\sqrt3]$ 9/5):

# %%
av, bv = E.entk_row_vectors(sp.Integer(dim))
for spec, m4_value in [("gaussian", 3), ("rademacher", 1), ("uniform", sp.Rational(9, 5))]:
    lib = E.explicit_value(E.entk_entry_variance(parse_law(spec), av, bv, d=dim, P=1), {av: a, bv: b})
    assert sp.expand(lib - paper_form.subs(m4, m4_value)) == 0, spec
print("entry variance: library == index-sum derivation for gaussian, rademacher, uniform")

# %% [markdown]
# Laws that are not iid get their own exact form from the same map.  Sphere of radius $\sqrt d$:
# $F(M) = \frac{d}{d+2}(\operatorname{tr}M\, I + 2M)$, so
# $\operatorname{Var} = \big(\tfrac{d}{d+2}(\|a\|^2\|b\|^2 + 2(a\cdot b)^2) - (a\cdot b)^2\big)/P$:

# %%
lib_sphere = E.explicit_value(E.entk_entry_variance(parse_law("sphere"), av, bv, d=dim, P=1), {av: a, bv: b})
na, nb, ab = (a.T * a)[0], (b.T * b)[0], (a.T * b)[0]
sphere_form = sp.Rational(dim, dim + 2) * (na * nb + 2 * ab**2) - ab**2
assert sp.simplify(lib_sphere - sphere_form) == 0
# coordinate sqrt(d) e_I: F(M) = d Diag(M), Var = d sum_k a_k^2 b_k^2 - (a.b)^2
lib_coord = E.explicit_value(E.entk_entry_variance(parse_law("coordinate"), av, bv, d=dim, P=1), {av: a, bv: b})
assert sp.expand(lib_coord - (dim * sum(a[k] ** 2 * b[k] ** 2 for k in range(dim)) - ab**2)) == 0
print("sphere and coordinate: own exact forms")

# %% [markdown]
# ## 2. Frobenius error: summing the entries, $\sum_j F(b_jb_j^\top) = F(B^\top B)$
# For iid laws this is $(\|A\|_F^2\|B\|_F^2 + \|AB^\top\|_F^2 + (m_4-3)\sum_k\|A_{:k}\|^2\|B_{:k}\|^2)/P$.

# %%
V = 2
Am = sp.Matrix(V, dim, sp.symbols(f"x0:{V * dim}", real=True))
Bm = sp.Matrix(V, dim, sp.symbols(f"y0:{V * dim}", real=True))
As, Bs = E.jacobians(sp.Integer(dim), V)
frob_paper = (
    (Am.norm() ** 2) * (Bm.norm() ** 2)
    + (Am * Bm.T).norm() ** 2
    + (m4 - 3) * sum((Am[:, k].T * Am[:, k])[0] * (Bm[:, k].T * Bm[:, k])[0] for k in range(dim))
)
for spec, m4_value in [("gaussian", 3), ("rademacher", 1), ("uniform", sp.Rational(9, 5))]:
    lib = E.explicit_value(E.entk_frobenius_error(parse_law(spec), As, Bs, d=dim, P=1), {As: Am, Bs: Bm})
    assert sp.simplify(lib - frob_paper.subs(m4, m4_value)) == 0, spec
print("Frobenius error: library == paper-note form")

# %% [markdown]
# No $d$ appears once the Jacobian norms and $AB^\top$ are fixed (Gaussian exactly; other iid laws
# only through the $(m_4-3)$ column term, which is $O(1/d)$ for spread-out Jacobians).  The relative
# error $E\|\Delta K\|_F^2/\|K\|_F^2 = (1 + \|A\|_F^2\|B\|_F^2/\|AB^\top\|_F^2)/P$ for Gaussian directions:
# larger when the two inputs' Jacobians are less aligned (the similarity effect, P2-6).

# %%
rng = np.random.default_rng(0)
A_num, B_num = rng.standard_normal((3, 50)), rng.standard_normal((3, 50))
env = {S.d: 50, E.V: 3, S.matrix("A", E.V, S.d): A_num, S.matrix("B", E.V, S.d): B_num, S.P: 7}
A_sym, B_sym = E.jacobians()
rel = evaluate(E.entk_frobenius_error(parse_law("gaussian"), A_sym, B_sym), env) / np.sum((A_num @ B_num.T) ** 2)
by_hand = (1 + np.sum(A_num**2) * np.sum(B_num**2) / np.sum((A_num @ B_num.T) ** 2)) / 7
assert abs(rel - by_hand) <= 1e-12 * by_hand
print(f"Gaussian relative error^2 = {rel:.6f} = (1 + |A|^2|B|^2/|AB^T|^2)/P")

# %% [markdown]
# ## 3. The P-query gradient estimator, with $d$ symbolic

# %%
g = S.vector("g")
norm2 = sp.Trace(g.T * g)
expected = {
    "gaussian": 1 + (S.d + 1) / S.P,
    "rademacher": 1 + (S.d - 1) / S.P,
    "sphere": 1 + (S.d - 1) / S.P,
    "coordinate": 1 + (S.d - 1) / S.P,
    "uniform": 1 + (S.d - sp.Rational(1, 5)) / S.P,
}
for spec, factor in expected.items():
    got = E.gradient_estimator_second_moment(parse_law(spec), g).doit()
    assert sp.simplify(got - factor * norm2) == 0, spec
    print(f"{spec:11s} E||g_hat||^2 = ||g||^2 ({sp.simplify(factor)})")

# %% [markdown]
# ## 4. The JL count from Achlioptas (2003), Thm 1.1
# $k \ge \frac{4+2\beta}{\epsilon^2/2-\epsilon^3/3}\ln n$ succeeds with probability $\ge 1-n^{-\beta}$.
# Put $\delta = n^{-\beta}$, i.e. $\beta\ln n = \ln(1/\delta)$:

# %%
eps, delta, n, beta = S.eps, S.delta, sp.Symbol("n", positive=True), sp.Symbol("beta", positive=True)
k0 = (4 + 2 * beta) / (eps**2 / 2 - eps**3 / 3) * sp.log(n)
k0 = k0.subs(beta, sp.log(1 / delta) / sp.log(n))
assert sp.simplify(k0 - E.jl_perturbations(eps, delta, n)) == 0
assert E.jl_required_perturbations(0.3, 0.1, 20) == 461
print("P >=", E.jl_perturbations(eps, delta, n), "; eps=0.3, delta=0.1, n=20 ->", 461)

# %% [markdown]
# Polarisation: if $\|U^\top(a\pm b)\|^2/P$ is within $1\pm\epsilon$ of $\|a\pm b\|^2$, then
# $|\langle U^\top a,U^\top b\rangle/P - a\cdot b| \le \frac\epsilon4(\|a+b\|^2+\|a-b\|^2) = \frac\epsilon2(\|a\|^2+\|b\|^2)$.
# The points $\{a_i\}\cup\{\pm b_j\}$ number $n=3V$.  Summing over the $V^2$ entries with
# $(x+y)^2\le 2(x^2+y^2)$ gives $\|\Delta K\|_F^2 \le \frac{\epsilon^2V}{2}(\|A\|_F^2+\|B\|_F^2)^2$.

# %%
x, y = sp.symbols("x y", nonnegative=True)  # |a_i|^2, |b_j|^2
assert sp.expand((a + b).norm() ** 2 + (a - b).norm() ** 2 - 2 * (na + nb)) == 0
assert sp.expand(2 * (x**2 + y**2) - (x + y) ** 2 - (x - y) ** 2) == 0  # (x+y)^2 <= 2(x^2+y^2)
for spec in ("gaussian", "rademacher", "sphere", "uniform"):
    print(f"{spec:11s} JL constant: {E.jl_constant_reason(parse_law(spec)) or 'established (Achlioptas 2003)'}")

# %% [markdown]
# ## 5. The mean: $E\hat K = J_o S J_u^\top$
# One direction gives $E[(a^\top u)(b^\top u)] = \sum_{ij}a_ib_jE[u_iu_j] = a^\top S b$ for any law, so
# averaging $P$ directions keeps it.  For iid coordinates with mean $m$ and variance $s^2$,
# $E[u_iu_j] = s^2\delta_{ij} + m^2$; the library's entry mean (from the law's second-moment map) agrees,
# and it is the first-order entry $a\cdot b$ for every law with $E[uu^\top] = I$.

# %%
from zoverify.perturbations import Gaussian  # noqa: E402

mean_value, std_value = sp.Rational(1, 2), sp.Integer(2)
mean_by_hand = sum(a[i] * b[j] * (std_value**2 * int(i == j) + mean_value**2) for i in range(dim) for j in range(dim))
lib_mean = E.explicit_value(E.entk_entry_mean(Gaussian(mean=mean_value, std=std_value), av, bv, d=dim), {av: a, bv: b})
assert sp.expand(lib_mean - mean_by_hand) == 0
for spec in ("gaussian", "rademacher", "sphere", "coordinate", "uniform"):
    unit = E.explicit_value(E.entk_entry_mean(parse_law(spec), av, bv, d=dim), {av: a, bv: b})
    assert sp.expand(unit - ab) == 0, spec
print("E K_hat_ab = a^T S b, = a.b for every law with E[uu^T] = I")
