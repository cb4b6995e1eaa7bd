# %% [markdown]
# # Structured perturbations (paper 4, MeZO-BCD, arXiv 2501.19099)
#
# **Status.** Only the abstracts of paper 4 were read. The definitions below (stable rank in the
# estimator variance, effective overlap, the rate) are **[INFERRED]** reconstructions (docs/structured.md);
# every identity is **[DERIVED+CHECKED]** here by sympy at explicit small sizes and asserted equal to
# the library (`zoverify.symbolic.structured`, the structured laws' moment maps).
#
# Setting: $z = P u$, $u\sim\mathcal N(0,I_r)$, $P\in\mathbb R^{d\times r}$ random and independent of
# the past. On a quadratic the two-point estimator is exactly $\hat g = (u^\top P^\top g)\,P u$.

# %%
import numpy as np
import sympy as sp

from zoverify.perturbations import parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.symbolic.structured import (
    B,
    one_step_change,
    one_step_change_given_projection,
    predicted_iteration_ratio,
    r,
    scheme_quantities,
    structured_gradient_second_moment,
)

# %% [markdown]
# Expectations over independent standard normals are taken monomial by monomial,
# $\mathbb E\prod_k u_k^{n_k} = \prod_k (n_k-1)!!$ for even $n_k$ (0 otherwise): an independent route
# from the library's matrix identities (and much faster than `sympy.stats` on 15-symbol polynomials).


# %%
def gaussian_expectation(expr, variables):
    """E over independent N(0, 1) variables of a polynomial expression."""
    poly = sp.Poly(sp.expand(expr), *variables)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        if all(k % 2 == 0 for k in powers):
            total += coeff * sp.Mul(*[sp.factorial2(k - 1) for k in powers])
    return sp.expand(total)


assert gaussian_expectation(sp.Symbol("x") ** 4, [sp.Symbol("x")]) == 3

# %% [markdown]
# ## 1. P4-1: $\mathbb E_u\hat g = PP^\top g$ and $\mathbb E_u\|\hat g\|^2 = \|P^\top g\|^2\|P\|_F^2 + 2\|PP^\top g\|^2$
#
# Write $w = P^\top g$, $M = P^\top P$: $\|\hat g\|^2 = (u^\top w)^2\,u^\top M u$, and Isserlis gives
# $\mathbb E[(u^\top w)^2 u^\top M u] = w^\top w\,\mathrm{tr} M + 2 w^\top M w$. Check with a fully
# symbolic $P$ ($3\times 2$) and $g$:

# %%
p = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"p{i}{j}", real=True))
gv = sp.Matrix(3, 1, lambda i, j: sp.Symbol(f"g{i}", real=True))
uvars = sp.symbols("u0 u1", real=True)
u = sp.Matrix(uvars)
ghat = (u.T * p.T * gv)[0, 0] * (p * u)
second_by_expectation = gaussian_expectation((ghat.T * ghat)[0, 0], uvars)
mean_by_expectation = ghat.applyfunc(lambda e: gaussian_expectation(e, uvars))
Ps, gs = S.matrix("P", 3, 2), S.vector("g", 3)
library = structured_gradient_second_moment(Ps, gs).subs({Ps: sp.ImmutableMatrix(p), gs: sp.ImmutableMatrix(gv)}).doit()
assert sp.expand(library - second_by_expectation) == 0
assert sp.expand(mean_by_expectation - p * p.T * gv) == sp.zeros(3, 1)
print("E||g_hat||^2 identity: checked for a symbolic 3x2 P")

# %% [markdown]
# The bound: $\|PP^\top g\|^2\le\|P\|_2^2\|P^\top g\|^2$, so
# $\mathbb E_u\|\hat g\|^2\le\|P^\top g\|^2\|P\|_2^2(\mathrm{sr}(P)+2)$ with
# $\mathrm{sr}(P)=\|P\|_F^2/\|P\|_2^2$; equality when $P$ has orthonormal columns.
#
# ## 2. Block law moments (what the derivations written against the law interface see)
#
# $z = c\,D_b w$, block $b$ uniform: $\mathbb E[zz^\top Azz^\top] = \frac{c^4}{B}\sum_b(\mathrm{tr}(D_bA)D_b + 2D_bAD_b)$
# for Gaussian $w$. Check at $d=4$, $B=3$ (blocks of sizes 2, 1, 1) with a symbolic $A$:

# %%
d0, nb = 4, 3
A = sp.Matrix(d0, d0, lambda i, j: sp.Symbol(f"a{min(i, j)}{max(i, j)}", real=True))
w = sp.symbols(f"w0:{d0}", real=True)
expected = sp.zeros(d0, d0)
for cols in ([0, 1], [2], [3]):
    zb = sp.Matrix([w[k] if k in cols else 0 for k in range(d0)]) * sp.sqrt(nb)
    quad = sp.expand((zb.T * A * zb)[0, 0])
    expected += (zb * zb.T).applyfunc(lambda e, quad=quad: gaussian_expectation(quad * e, w)) / nb
law = parse_law(f"block(blocks={nb})")
assert sp.expand(law.fourth_moment(sp.ImmutableMatrix(A), d0).doit() - expected) == sp.zeros(d0, d0)
print("block(blocks=3) fourth moment at d = 4 (blocks of sizes 2, 1, 1): checked")

# %% [markdown]
# ## 3. Low-rank law moments
#
# $z=\mathrm{vec}(UV^\top)/\sqrt r$ (row-major), $U\in\mathbb R^{m\times r}$, $V\in\mathbb R^{n\times r}$ iid $\mathcal N(0,1)$.
# Isserlis on $U$ and on $V$ separately: equal pairings give the Gaussian term, each of the six unequal
# pairs of pairings a $1/r$ term, so
# $\mathbb E[zz^\top Azz^\top]=\mathrm{tr}(A)I+2A+\frac2r\big(\mathrm{Tr}_{cols}(A)\otimes I_n+I_m\otimes\mathrm{Tr}_{rows}(A)+R(A)\big)$
# with $R$ the partial transpose. Check at $m=n=2$, $r=1$ (where the $1/r$ terms weigh most) with a symbolic $A$:

# %%
m0, n0 = 2, 2
A4 = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"b{min(i, j)}{max(i, j)}", real=True))
Uv, Vv = sp.symbols("U0:2", real=True), sp.symbols("V0:2", real=True)
zl = sp.Matrix([Uv[i] * Vv[j] for i in range(m0) for j in range(n0)])
quad = sp.expand((zl.T * A4 * zl)[0, 0])
expected_lr = (zl * zl.T).applyfunc(lambda e: gaussian_expectation(quad * e, Uv + Vv))
law_lr = parse_law("lowrank(rank=1, shape=[2,2])")
assert sp.expand(law_lr.fourth_moment(sp.ImmutableMatrix(A4), 4).as_explicit() - expected_lr) == sp.zeros(4, 4)
print("lowrank(rank=1, shape=[2,2]) fourth moment: checked")

# %% [markdown]
# ## 4. P4-2: effective overlap
#
# $\alpha = \mathbb E_P\|P^\top g\|^2/\|g\|^2$. Uniform blocks: $\frac1B\sum_b\|g_b\|^2/\|g\|^2 = 1/B$ for
# any partition ($= r/d$ for equal blocks); Haar subspace: $\mathbb E[PP^\top] = \frac rd I$ by rotation
# invariance. In terms of the scaled law, $E[PP^\top] = E[zz^\top]/c^2$, which the moment maps give:

# %%
assert scheme_quantities("bcd", d=24, blocks=4)["alpha"] == sp.Rational(1, 4)
sigma = evaluate(parse_law("block(blocks=4, scaled=False)").second_moment(24), {})
assert np.allclose(sigma, np.eye(24) / 4)
print("alpha(BCD, d=24, B=4) =", scheme_quantities("bcd", d=24, blocks=4)["alpha"])

# %% [markdown]
# ## 5. P4-3: exact one-step descent and the rate constant
#
# For $f=\frac12x^\top Hx$, $x^+ = x-\eta\hat g$:
# $\mathbb E f(x^+)-f(x) = -\eta g^\top\mathbb E[zz^\top]g + \frac{\eta^2}2 g^\top\mathbb E[zz^\top Hzz^\top]g$,
# and given $P$: $-\eta\|P^\top g\|^2+\frac{\eta^2}2(\|P^\top g\|^2\mathrm{tr}(P^\top HP)+2g^\top PP^\top HPP^\top g)$.
# Averaging the second over the blocks reproduces the first (from the law's maps):

# %%
rng = np.random.default_rng(0)
Gm = rng.standard_normal((8, 8))
Hn, gn, eta0 = Gm @ Gm.T / 8, rng.standard_normal(8), 0.05
Hs, gs8 = S.matrix("H", 8, 8), S.vector("g", 8)
from_law = evaluate(one_step_change(parse_law("block(blocks=4, scaled=False)"), Hs, gs8, eta0, 8), {Hs: Hn, gs8: gn})
avg = 0.0
for b in range(4):
    Pb = np.eye(8)[:, 2 * b : 2 * b + 2]
    Pbs = S.matrix("P", 8, 2)
    avg += evaluate(one_step_change_given_projection(Pbs, gs8, Hs, eta0), {Pbs: Pb, gs8: gn, Hs: Hn}) / 4
assert np.isclose(from_law, avg, rtol=1e-12)
print(f"one-step change: law maps {from_law:.10f} = block average {avg:.10f}")

# %% [markdown]
# With $L$-smoothness and $\|P\|_2=1$: $\mathbb E f(x^+)\le f(x)-\eta\|P^\top g\|^2(1-\frac{L\eta}2(\mathrm{sr}+2))$;
# $\eta = 1/(L(\mathrm{sr}+2))$ and telescoping give
# $\min_t\mathbb E\|\nabla f\|^2\le 2L(\mathrm{sr}+2)\Delta_0/(\alpha T)$ **[DERIVED; INFERRED to match the paper]**.
# The rate constants:

# %%
d = S.d
consts = {s: scheme_quantities(s)["rate_constant"] for s in ("mezo", "bcd", "subspace")}
assert sp.simplify(consts["mezo"] - (d + 2)) == 0
assert sp.simplify(consts["bcd"] - (d + 2 * B)) == 0
assert sp.simplify(consts["subspace"] - d * (1 + 2 / r)) == 0
ratio = predicted_iteration_ratio()
assert sp.simplify(ratio - (d + 2 * B) / (d + 2)) == 0
print(consts, "  BCD/MeZO iterations:", ratio, "=", float(ratio.subs({d: 65, B: 5})), "at d=65, B=5")
