# %% [markdown]
# # Mean-square stability threshold of block-coordinate ZO (MeZO-BCD)
#
# **Beyond the papers.** The stability paper (arXiv 2604.14669, Thms 1-3) gives the mean-square
# critical step $\eta^\star$ for rotation-invariant directions. MeZO-BCD perturbs one block per step:
# $z = c\,D_b w$, $w\sim\mathcal N(0,I)$, block $b$ of the contiguous partition chosen uniformly (or
# in a cyclic order), $c^2 = B$ (scaled, $\mathbb E zz^\top = I$) or $1$. We derive $\eta^\star$ for
# ZO-GD and ZO-GDM on $f = x^\top Hx/2$ under the second-moment recursion, and assert every step
# against `zoverify.symbolic.bcd_stability` and the library's dense operator (built from the block
# law's own moment maps, `zoverify.numeric.stability_operator.DenseOperator`).

# %%
import itertools

import numpy as np
import sympy as sp

from zoverify.numeric.stability_operator import DenseOperator
from zoverify.perturbations import parse_law
from zoverify.symbolic import symbols as S
from zoverify.symbolic.bcd_stability import (
    bcd_aligned_eta_star,
    bcd_eta_star_bounds,
    bcd_eta_star_general,
    bcd_eta_star_operator,
    bcd_gain,
    bcd_isotropic_eta_star,
    diagonal_blocks,
    gaussian_eta_star,
)
from zoverify.symbolic.stability import pair_system
from zoverify.symbolic.structured import B, block_index

eta, beta, lam, d = S.eta, S.beta, S.lam, S.d

# %% [markdown]
# ## 1. One step on block $b$
# Given the block, $z = c P_b w$ and Isserlis inside the block give
# $\mathbb E[zz^\top\mid b] = c^2P_b$ and $\mathbb E[zz^\top Azz^\top\mid b] = c^4(\mathrm{tr}(P_bA)P_b + 2P_bAP_b)$.
# Checked monomial by monomial at $d = 3$, block $\{0, 1\}$, symbolic $A$; the average over blocks is the
# law's own `fourth_moment`:


# %%
def gaussian_expectation(expr, variables):
    """E over independent N(0, 1) variables of a polynomial."""
    poly = sp.Poly(sp.expand(expr), *variables)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        if all(k % 2 == 0 for k in powers):
            total += coeff * sp.Mul(*[sp.factorial2(k - 1) for k in powers])
    return sp.expand(total)


d0, nb0 = 3, 2
c = sp.Symbol("c", positive=True)
A = sp.Matrix(d0, d0, lambda i, j: sp.Symbol(f"a{min(i, j)}{max(i, j)}", real=True))
ws = sp.symbols("w0:3", real=True)
idx0 = block_index(d0, nb0)
conditional = []
for b in range(nb0):
    Pb = sp.diag(*[1 if idx0[i] == b else 0 for i in range(d0)])
    z = c * Pb * sp.Matrix(ws)
    zz = z * z.T
    F = (zz * A * zz).applyfunc(lambda e: gaussian_expectation(e, ws))
    assert sp.expand(F - c**4 * ((Pb * A).trace() * Pb + 2 * Pb * A * Pb)) == sp.zeros(d0, d0)
    assert sp.expand(zz.applyfunc(lambda e: gaussian_expectation(e, ws)) - c**2 * Pb) == sp.zeros(d0, d0)
    conditional.append(F)
law0 = parse_law(f"block(blocks={nb0}, scaled=False)")
As = S.matrix("A", d0, d0)
library_F = law0.fourth_moment(As, sp.Integer(d0)).subs(As, sp.ImmutableMatrix(A)).doit()
assert sp.expand(sp.Matrix(library_F) - (conditional[0] + conditional[1]).subs(c, 1) / nb0) == sp.zeros(d0, d0)
print("per-block moments checked; their average is the block law's fourth moment")

# %% [markdown]
# So one step on block $b$ maps $X = \mathbb E xx^\top$ to
# $T_b(X) = X - \eta c^2(P_bHX + XHP_b) + \eta^2c^4(\mathrm{tr}(P_bHXH)P_b + 2P_bHXHP_b)$, and a uniformly
# chosen block gives $T = \frac1B\sum_bT_b$.
#
# ## 2. (a) Block-aligned $H$: the blocks decouple
# With $H = \mathrm{diag}(H_1,\dots,H_B)$, $(P_bHX)_{kl} = \delta_{kb}H_bX_{bl}$ and $P_bHXHP_b$ only has the
# block $H_bX_{bb}H_b$, so $X_{bb}$ evolves alone under a law with $M_2 = c'I$, $F(A) = a'\,\mathrm{tr}(A)I + b'A$,
# $c' = c^2/B$, $a' = c^4/B$, $b' = 2c^4/B$ (off-diagonal blocks follow noise-free first-order
# dynamics, stable well below $\eta^\star$). Check on the operator at $d = 3$, $B = 2$: the image of an
# off-diagonal-block entry has no $\eta^2$ term and no diagonal-block entry depends on it.

# %%
H3 = sp.diag(sp.Matrix([[2, 1], [1, 3]]), sp.Matrix([[1]]))
Xs = sp.Matrix(d0, d0, lambda i, j: sp.Symbol(f"x{min(i, j)}{max(i, j)}", real=True))
T = sp.zeros(d0, d0)
for b in range(nb0):
    Pb = sp.diag(*[1 if idx0[i] == b else 0 for i in range(d0)])
    HXH = H3 * Xs * H3
    T += (
        Xs - eta * c**2 * (Pb * H3 * Xs + Xs * H3 * Pb) + eta**2 * c**4 * ((Pb * HXH).trace() * Pb + 2 * Pb * HXH * Pb)
    ) / nb0
T = T.applyfunc(sp.expand)
off = [Xs[0, 2], Xs[1, 2]]
assert all(sp.Poly(T[i, 2], eta).coeff_monomial(eta**2) == 0 for i in (0, 1))
assert all(not T[i, j].has(*off) for i, j in [(0, 0), (0, 1), (1, 1), (2, 2)])
print("aligned H: diagonal blocks closed, off-diagonal blocks noise free")

# %% [markdown]
# The per-mode gain formula (derivations/stability.py §2-§3, docs/stability.md#the-gain-formula),
# with $\kappa_g = a'/c'^2 = B$, $\kappa_s = (b' - c'^2)/c'^2 = 2B - 1$ and $s = c'$, gives, per block,
# $\sum_{i\in b} g_i = 1$ with
# $g_i = \dfrac{\eta c^2\lambda_i(1+\beta)}{2(1-\beta^2) - 2\eta c^2\lambda_i(1 + \beta(1 - 1/B))}$.
# Independent route for GDM: the library's $4\times4$ pair block at $i = j$ with these constants; its
# $X$-response times $a'\lambda^2$ is the gain:

# %%
Ap, vp, (e_, b_, s_, c_, bp_, li, lj, ki, kj) = pair_system()
c2 = sp.Symbol("c2", positive=True)
sub = {li: lam, lj: lam, ki: 1, kj: 1, s_: 1, c_: c2 / B, bp_: 2 * c2**2 / B}
x = sp.Matrix(sp.symbols("x0:4"))
sol = sp.solve(list((sp.eye(4) - Ap.subs(sub)) * x - vp.subs(sub)), list(x), dict=True)[0]
pair_gain = sp.simplify(c2**2 / B * lam**2 * sol[x[0]])
assert sp.simplify(pair_gain - bcd_gain(lam, eta=eta, beta=beta, blocks=B, c2=c2)) == 0
print("GDM block gain:", sp.factor(bcd_gain(lam, eta=eta, beta=beta, blocks=B, c2=c2)))

# %% [markdown]
# For GD ($\beta = 0$) $B$ cancels: $\eta^\star_{BCD} = \min_b\eta^\star_G(\mathrm{spec}\,H_b)/c^2$, the Gaussian
# threshold of each block alone. With momentum the $\beta(1-1/B)$ term remains: the momentum keeps
# moving a block during the steps spent on the others. For $H = \lambda I$ and equal blocks of $r = d/B$,
# $r\,g = 1$ solves to the closed form (d, B symbolic):

# %%
iso_gd, iso_gdm = bcd_isotropic_eta_star(), bcd_isotropic_eta_star(momentum=True)
print("GD :", iso_gd, "   GDM:", iso_gdm)
assert sp.simplify(iso_gd - 2 / (lam * (d + 2 * B))) == 0
assert sp.simplify(iso_gdm - 2 * (1 - beta**2) / (lam * ((1 + beta) * (d + 2 * B) - 2 * beta))) == 0
ratio_scaled = sp.simplify(iso_gd / (2 / (lam * (d + 2))))
print("scaled BCD / Gaussian on lambda I:", ratio_scaled, " (the rate constant ratio (d+2)/(d+2B))")
assert sp.simplify(ratio_scaled - (d + 2) / (d + 2 * B)) == 0

# %% [markdown]
# Checked against the dense operator of the block law on the reference spectrum (diagonal, so aligned):

# %%
REF = np.array((5.0, 3.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1))
for nb, scaled in itertools.product((2, 5), (True, False)):
    law = parse_law(f"block(blocks={nb}, scaled={scaled})")
    spectra = [np.diag(h) for h in diagonal_blocks(np.diag(REF), nb)]
    closed = bcd_aligned_eta_star(spectra, scaled=scaled)
    dense = DenseOperator(law, np.diag(REF)).eta_star()
    assert abs(closed / dense - 1) < 1e-9
    print(f"B={nb} scaled={scaled}: eta* = {closed:.8f} (dense {dense:.8f})")
law4 = parse_law("block(blocks=4)")
H6 = np.diag(REF[:6])
gdm_closed = bcd_aligned_eta_star([np.diag(h) for h in diagonal_blocks(H6, 4)], beta=0.5)
assert abs(gdm_closed / DenseOperator(law4, H6, method="gdm", beta=0.5).eta_star() - 1) < 1e-9

# %% [markdown]
# ## 3. (b) General $H$, GD, uniform order: a linear eigenproblem
# $T - I = -\frac{\eta c^2}{B}\mathcal L_H + \eta^2\frac{c^4}{B}N(H\cdot H)$ with $\mathcal L_H(X) = HX + XH$
# and $N(Y) = \mathrm{BlockTrace}(Y) + 2\,\mathrm{BlockDiag}(Y)$, so $T(X) = X \iff \eta c^2K(X) = X$,
# $K = \mathcal L_H^{-1}N\,\mathcal C_H$, $\mathcal C_H(X) = HXH$. $T$ is an average of congruences, so its
# spectral radius is an eigenvalue with a PSD eigenvector; as $\eta$ grows from 0 it first reaches 1
# where $1/(\eta c^2)$ is the largest eigenvalue of $K$:
# $\eta^\star = 1/(c^2\rho(K))$. $\mathcal C_H$ and $\mathcal L_H$ commute, $M = \mathcal C_H\mathcal L_H^{-1}$ is
# self-adjoint positive ($\lambda_i\lambda_j/(\lambda_i+\lambda_j)$ in H's eigenbasis) and $N$ self-adjoint
# PSD, so $\rho(K) = \lambda_{\max}(M^{1/2}NM^{1/2})$ and
#
# $$\frac{1}{c^2\eta^\star} = \max_{Y = Y^\top}\frac{\sum_b(\mathrm{tr}\,Y_{bb})^2 + 2\|Y_{bb}\|_F^2}{2\,\mathrm{tr}(H^{-1}Y^2)}.$$
#
# $B = 1$ is the Gaussian $\eta^\star$ (the reference value 0.0950154 of derivations/stability.py):

# %%
rng = np.random.default_rng(0)
Q, R = np.linalg.qr(rng.standard_normal((10, 10)))
Q = Q * np.sign(np.diag(R))
H_rot = (Q * REF) @ Q.T
H_rot = (H_rot + H_rot.T) / 2
assert round(bcd_eta_star_general(H_rot, blocks=1), 7) == 0.0950154
for nb, scaled in itertools.product((2, 5), (True, False)):
    law = parse_law(f"block(blocks={nb}, scaled={scaled})")
    general = bcd_eta_star_general(H_rot, blocks=nb, scaled=scaled)
    dense = DenseOperator(law, H_rot).eta_star()
    assert abs(general / dense - 1) < 1e-9
    print(f"rotated H, B={nb} scaled={scaled}: 1/(c^2 rho(K)) = {general:.8f}, dense operator {dense:.8f}")

# %% [markdown]
# **Bounds.** The numerator sees only the diagonal blocks of $Y$. For the denominator,
# $\mathrm{tr}(H^{-1}Y^2) = \max_Z 2\,\mathrm{tr}(Z^\top Y) - \mathrm{tr}(Z^\top HZ)$; the block-diagonal choice
# $Z_{bb} = H_{bb}^{-1}Y_{bb}$ gives $\mathrm{tr}(H^{-1}Y^2)\ge\sum_b\mathrm{tr}(H_{bb}^{-1}Y_{bb}^2)$, the denominator
# of the aligned problem with $H\to\mathrm{BlockDiag}(H)$. A $Y$ supported on one block has
# $\mathrm{tr}(H^{-1}Y^2) = \mathrm{tr}(S_b^{-1}Y_{bb}^2)$, $S_b = ((H^{-1})_{bb})^{-1}$ (Schur complement). Hence
#
# $$\min_b\eta^\star_G(H_{bb})/c^2\ \le\ \eta^\star_{BCD}(H)\ \le\ \min_b\eta^\star_G(S_b)/c^2,$$
#
# with equality for aligned $H$: the block-diagonal part of any $H$ gives a safe step. With the Gaussian
# bracket (Eq. 17) per block, $\eta^\star_{BCD}\ge 2/(c^2\max_b(\mathrm{tr}H_{bb} + 2\lambda_{\max}(H_{bb})))$.

# %%
for seed in range(20):
    r = np.random.default_rng(seed)
    lam_s = np.exp(r.normal(0, 1.5, 6))
    Qs, _ = np.linalg.qr(r.standard_normal((6, 6)))
    Hs = (Qs * lam_s) @ Qs.T
    Hs = (Hs + Hs.T) / 2
    for nb in (2, 3):
        lo, hi = bcd_eta_star_bounds(Hs, blocks=nb)
        exact = DenseOperator(parse_law(f"block(blocks={nb})"), Hs).eta_star()
        assert lo * (1 - 1e-9) <= exact <= hi * (1 + 1e-9)
lo, hi = bcd_eta_star_bounds(H_rot, blocks=5)
print(f"reference spectrum rotated, B = 5: {lo:.6f} <= {bcd_eta_star_general(H_rot, blocks=5):.6f} <= {hi:.6f}")

# %% [markdown]
# GDM on a general $H$: the noise enters through the same $N$, but the deterministic momentum response is
# not linear in $\eta$, so $\eta^\star$ is the root of the operator; the average of the per-block maps is
# the library's dense operator:

# %%
H6r = (Q[:6, :6] * REF[:6]) @ Q[:6, :6].T
H6r = (H6r + H6r.T) / 2 + 0.05 * np.eye(6)
per_block = bcd_eta_star_operator(H6r, blocks=3, method="gdm", beta=0.5)
assert abs(per_block / DenseOperator(parse_law("block(blocks=3)"), H6r, method="gdm", beta=0.5).eta_star() - 1) < 1e-9

# %% [markdown]
# ## 4. Cyclic orders
# A sweep applies every $T_b$ once: $E = T_{b_B}\cdots T_{b_1}$ (fixed order) or the average over the $B!$
# orders (a fresh permutation per epoch, the `block` law's `order="cyclic"`). For aligned $H$ and GD the
# epoch map on $X_{bb}$ is $T_b$'s own block map (each block is stepped once; the others leave it alone),
# and the uniform per-step map is $(1-\frac1B)I + \frac1B(\cdot)$ of the same block map, whose Perron root
# reaches 1 at the same $\eta$: **the thresholds coincide** (not the rates: per step, the sweep decays as
# $\rho^{1/B}\le 1-(1-\rho)/B$). For a general $H$ the products do not commute, and with momentum even an
# aligned block keeps moving while the others are stepped, so the thresholds differ:

# %%
Ha = np.diag(REF[:6])
assert abs(bcd_eta_star_operator(Ha, blocks=3, order="sweep") / bcd_eta_star_operator(Ha, blocks=3) - 1) < 1e-9
for name, H_, method in (("rotated H, GD", H6r, "gd"), ("aligned H, GDM(0.5)", Ha, "gdm")):
    uni = bcd_eta_star_operator(H_, blocks=3, method=method, beta=0.5)
    row = {
        o: bcd_eta_star_operator(H_, blocks=3, method=method, beta=0.5, order=o) / uni for o in ("sweep", "reshuffled")
    }
    print(
        f"{name}: eta*_sweep/eta*_uniform = {row['sweep']:.4f}, eta*_reshuffled/eta*_uniform = {row['reshuffled']:.4f}"
    )

# %% [markdown]
# ## 5. The step a MeZO-BCD user can afford
# $\eta^\star_{BCD}/\eta^\star_{Gauss}$ for the same $H$ (reference spectrum; aligned = diagonal, rotated =
# Haar-rotated), GD, uniform order. Scaled directions ($\mathbb E zz^\top = I$) must shrink the step
# (the $\lambda I$ case gives $(d+2)/(d+2B)$); unscaled ones ($c^2 = 1$, each step moves only one block)
# can take a larger one.

# %%
eta_g = gaussian_eta_star(REF)
print(f"Gaussian: eta* = {eta_g:.6f}")
print(" B  | scaled aligned | scaled rotated | unscaled aligned | unscaled rotated")
table = {}
for nb in (2, 5, 10):
    row = []
    for scaled in (True, False):
        spectra = [np.diag(h) for h in diagonal_blocks(np.diag(REF), nb)]
        row += [
            bcd_aligned_eta_star(spectra, scaled=scaled) / eta_g,
            bcd_eta_star_general(H_rot, blocks=nb, scaled=scaled) / eta_g,
        ]
    table[nb] = row
    print(f"{nb:3d} | " + " | ".join(f"{v:14.3f}" for v in row))
assert all(v[0] < 1 and v[2] > 1 for v in table.values())
# B = d = 10: every block is one coordinate, the single-mode threshold 2/(3 c^2 lambda_max)
assert abs(table[10][0] * eta_g - 2 / (3 * 10 * REF.max())) < 1e-12

# %% [markdown]
# **Result.** Uniform block choice, GD: $\eta^\star = \min_b\eta^\star_G(H_b)/c^2$ for aligned $H$ and
# $1/(c^2\rho(K))$ in general, bracketed by the same formula on the diagonal blocks (below) and on the Schur
# complements (above). GDM: the aligned gain has an extra $\beta(1-1/B)$ term. Cyclic orders share the
# uniform threshold for aligned GD only. All equal the block law's dense operator to $10^{-9}$.
