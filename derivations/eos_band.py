# %% [markdown]
# # The band in which eta*(H_t)/eta stays at the edge of stability
#
# Training at step size eta tracks the current Hessian H_t.  Linearized around the trajectory, the
# mean square of the deviation along the operator's Perron mode is multiplied each step by
# rho(eta; H_t), the Perron root of the law's second-moment operator
# (zoverify.symbolic.stability.second_moment_operator; eta*(H) is where rho = 1).  Over a window of W
# steps the mean square changes by prod_t rho_t.  In float64 a mode's relative amplitude lies between
# the unit roundoff u = 2^-53 and 1, so its mean square moves by at most a factor u^-2:
#
# $$\Big|\sum_t \ln\rho_t\Big| \le \Lambda = \ln u^{-2} = 106\ln 2 .$$
#
# Near the edge $\ln\rho_t = \kappa\,\ln(\eta/\eta^*_t) + O(\ln^2)$ with the growth rate
# $\kappa = d\ln\rho/d\ln\eta$ at $\eta^*$, so the window mean obeys
#
# $$\Big|\frac1W\sum_t \ln\frac{\eta^*(H_t)}{\eta}\Big| \le \delta = \frac{\Lambda}{\kappa W}.$$
#
# Nothing is tuned: Lambda is the float64 range, kappa comes from the operator of the current
# Hessian, W is the window.  Below: kappa in closed form for first-order GD and one mode, the
# implicit-function form for any rotation-invariant law, each asserted against
# zoverify.numeric.eos_curvature; and the trace band that eta = eta* implies through Eq. 17 of
# arXiv 2604.14669 (the paper's weaker statement, q-query form).

# %%
import numpy as np
import sympy as sp

from zoverify.numeric.eos_curvature import (
    FLOAT64_LOG_RANGE,
    Curvature,
    edge_band,
    edge_growth_rate,
    edge_step,
)
from zoverify.numeric.eos_edge import FIRST_ORDER_KAPPA
from zoverify.numeric.stability_operator import critical_step_size
from zoverify.perturbations import parse_law

eta, lam, q, mu = sp.symbols("eta lambda q mu", positive=True)

# %% [markdown]
# ## 1. First-order GD: rho = (1 - eta lambda)^2, edge at eta lambda = 2

# %%
rho_fo = (1 - eta * lam) ** 2
kappa_fo = sp.simplify((eta * sp.diff(rho_fo, eta) / rho_fo).subs(eta, 2 / lam))
print("first-order kappa =", kappa_fo)
assert kappa_fo == 4 and FIRST_ORDER_KAPPA == 4

# %% [markdown]
# ## 2. One mode, Gaussian law, q queries
# With H = lambda e_1 e_1^T, x' = x - eta lambda B_11 x and E[B_11^2] = (1 - 1/q) + 3/q, so
# rho = 1 - 2 eta lambda + (1 + 2/q) eta^2 lambda^2, eta* = 2q/((q+2) lambda), and kappa = 4q/(q+2):
# 4/3 at q = 1, rising to first-order's 4 as q grows.

# %%
rho_1 = 1 - 2 * eta * lam + (1 + 2 / q) * eta**2 * lam**2
eta_star_1 = sp.solve(sp.Eq(rho_1, 1), eta)
eta_star_1 = [s for s in eta_star_1 if s != 0][0]
kappa_1 = sp.simplify((eta * sp.diff(rho_1, eta) / rho_1).subs(eta, eta_star_1))
print("eta* =", sp.simplify(eta_star_1), " kappa =", kappa_1)
assert sp.simplify(kappa_1 - 4 * q / (q + 2)) == 0
assert sp.limit(kappa_1, q, sp.oo) == kappa_fo
for qq in (1, 3):
    one = Curvature(1.7, 1.7, 1.7, 0.0, np.array([0.0, 0.0, 0.0, 1.7]), np.eye(4))
    assert abs(edge_step(one, "gaussian", q=qq) - float(eta_star_1.subs({q: qq, lam: 1.7}))) < 1e-10
    assert abs(edge_growth_rate(one, "gaussian", q=qq) / float(kappa_1.subs(q, qq)) - 1) < 1e-6

# %% [markdown]
# ## 3. Any rotation-invariant law: the implicit function
# For E[zz^T] = c I and F(A) = a tr(A) I + b A, rho is the root mu of the secular equation
# h(eta, mu) = sum_i (a/q) lambda_i^2 eta^2 / (mu - D_i) = 1 with D_i = 1 - 2 eta c lambda_i + eta^2 b' lambda_i^2,
# b' = (1 - 1/q) c^2 + b/q (derivations/stability.py, section 2), so
# kappa = -eta (dh/deta) / (dh/dmu) at (eta*, 1).

# %%
a, b, c = sp.symbols("a b c", positive=True)
li = sp.Symbol("lambda_i", positive=True)
bp = (1 - 1 / q) * c**2 + b / q
D = 1 - 2 * eta * c * li + eta**2 * bp * li**2
term = (a / q) * li**2 * eta**2 / (mu - D)
d_eta, d_mu = sp.diff(term, eta), sp.diff(term, mu)


def kappa_spectral(spectrum, *, a_, b_, c_, q_):
    f_eta = sp.lambdify((eta, li, mu), d_eta.subs({a: a_, b: b_, c: c_, q: q_}))
    f_mu = sp.lambdify((eta, li, mu), d_mu.subs({a: a_, b: b_, c: c_, q: q_}))
    curv = Curvature(
        float(np.sum(spectrum)),
        float(np.max(spectrum)),
        float(np.sum(spectrum)),
        0.0,
        np.asarray(spectrum, float),
        np.eye(len(spectrum)),
    )
    law = parse_law("gaussian")
    e = edge_step(curv, law, q=q_)
    return -e * sum(f_eta(e, x, 1.0) for x in spectrum) / sum(f_mu(e, x, 1.0) for x in spectrum), curv


spectrum = np.array([5.0, 3.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1])
for q_ in (1, 4):
    k_formula, curv = kappa_spectral(spectrum, a_=1, b_=2, c_=1, q_=q_)  # Gaussian: a = 1, b = 2, c = 1
    k_lib = edge_growth_rate(curv, "gaussian", q=q_)
    print(f"q = {q_}: kappa = {k_formula:.6f} (formula), {k_lib:.6f} (operator)")
    assert abs(k_lib / k_formula - 1) < 1e-6

# %% [markdown]
# ## 4. The band
# delta = Lambda / (kappa W).  First-order GD over W = 400 steps: 106 ln 2 / 1600 = 4.6 %; ZO-GD with
# q = 4 on the digits network (kappa about 0.1) over W = 1000 steps: about 0.7 in ln, i.e. the
# float64 range alone does not confine ZO's edge tightly; the claims report where the runs sit in
# units of delta.

# %%
LAMBDA = 106 * sp.log(2)
assert abs(FLOAT64_LOG_RANGE - float(LAMBDA)) < 1e-12
delta_fo = LAMBDA / (kappa_fo * 400)
print("first-order band over 400 steps:", float(delta_fo))
assert abs(edge_band(4.0, 400) - float(delta_fo)) < 1e-15

# %% [markdown]
# ## 5. The paper's trace band (weaker): eta = eta* puts Tr H in [2q/eta - (q+1) lambda_max, 2q/eta]
# The q-query bounds 2q/(Tr + (q+1) lambda_max) <= eta* <= 2q/Tr (Eq. 17 for q = 1) give, at
# eta = eta*, the position p = (2q/eta - Tr)/((q+1) lambda_max) in [0, 1].  Checked on random
# rotated spectra against the exact operator:

# %%
rng = np.random.default_rng(0)
for _ in range(5):
    spec = rng.exponential(size=12)
    Q, _r = np.linalg.qr(rng.standard_normal((12, 12)))
    H = (Q * spec) @ Q.T
    for q_ in (1, 4):
        e = critical_step_size(parse_law("gaussian"), H, q=q_).eta_star
        p = (2 * q_ / e - spec.sum()) / ((q_ + 1) * spec.max())
        assert 0 <= p <= 1, p
print("trace position of eta* within [0, 1] on every instance")

# %% [markdown]
# ## 6. Block-coordinate directions: eta* and kappa from a symmetric eigenproblem
# With q uniformly drawn blocks (scaled, c^2 = B) the one-step map is
# T(X) = X - eta (c^2/B) L_H X + eta^2 (c^4/B) N_q(H X H), N_q(Y) = (BlockTrace Y + 2 BlockDiag Y)/q + ((1 - 1/q)/B) Y
# (zoverify/symbolic/bcd_stability.py gives q = 1).  T X = X iff eta c^2 K X = X, K similar to
# A = M^1/2 N_q M^1/2 with M = C_H L_H^-1, so eta* = 1/(c^2 rho(A)).  With u the top eigenvector of A, the right and
# left Perron vectors of T at eta* are r = C_H^-1 M^1/2 u and l = M^1/2 u; d rho/d eta = (c^2/B) <l, L_H r>/<l, r>, and
# since M L_H C_H^-1 = I and M C_H^-1 = L_H^-1:
#
# $$\kappa = \eta^* \frac{c^2}{B} \frac{\lVert u\rVert^2}{\langle u, L_H^{-1} u\rangle}.$$
#
# Checked against a central difference of the dense operator's radius (the library's law-generic route) at d = 9,
# and, for B = 1, against the Gaussian closed form kappa = 4q/(q+2) of one mode (section 2).

# %%
from zoverify.numeric.eos_curvature import block_edge  # noqa: E402
from zoverify.numeric.stability_operator import DenseOperator  # noqa: E402

rng = np.random.default_rng(3)
spec9 = np.sort(rng.exponential(size=9))
Q9, _r = np.linalg.qr(rng.standard_normal((9, 9)))
curv9 = Curvature(spec9.sum(), spec9[-1], spec9.sum(), 0.0, spec9, Q9)
H9 = (Q9 * spec9) @ Q9.T
for blocks_, q_ in ((3, 1), (3, 4)):
    star, kap = block_edge(curv9, blocks=blocks_, q=q_)
    op = DenseOperator(parse_law(f"block(blocks={blocks_})"), H9, q=q_)
    h = 1e-4
    fd = (np.log(op.radius(star * (1 + h))) - np.log(op.radius(star * (1 - h)))) / (np.log1p(h) - np.log1p(-h))
    print(f"B = {blocks_}, q = {q_}: eta* {star:.6f} (dense {op.eta_star():.6f}), kappa {kap:.6f} (dense, FD {fd:.6f})")
    assert abs(star / op.eta_star() - 1) < 1e-9 and abs(kap / fd - 1) < 1e-6
one_mode = Curvature(1.7, 1.7, 1.7, 0.0, np.array([0.0, 0.0, 1.7]), np.eye(3))
assert abs(block_edge(one_mode, blocks=1, q=3)[1] - float(kappa_1.subs(q, 3))) < 1e-9

# %% [markdown]
# ## 7. What the band can and cannot decide
# The float64 argument bounds the window mean only through kappa W.  First-order GD (kappa = 4) over W = 1500 steps:
# delta = 1.2 %, sharp enough to reject an edge misplaced by a few per cent.  ZO-GD with q = 4 on the digits network
# has kappa of about 0.1 (Gaussian) to 0.2 (16 blocks): delta is 0.4-0.7 in ln over W = 1000 steps, and reaching
# 3 % would take W of about 25,000 steps per replicate.  It is also only one-sided for ZO: the ZO noise keeps
# feeding the edge mode (the flat directions' gradient enters every direction's difference), so a mode held at a
# stationary mean square by that drive can sit at rho < 1 indefinitely; strictly only the unstable side (the mode
# cannot grow past the float64 range) is a bound there.  The ZO claims keep the two-sided band (a run far on the
# stable side never reached its edge), and the measured window means sit well inside it (about +0.07 in ln for
# the Gaussian law, i.e. about 0.1 delta).  Their sharper content is a
# comparison that the band does resolve: for block directions the exact eta*(H) and the spectrum-only one differ by
# a factor of about 2 on these Hessians (more than 2 delta in ln).

# %%
print("W for a 3 % band at kappa = 0.1:", int(np.ceil(FLOAT64_LOG_RANGE / (0.1 * 0.03))))

# %% [markdown]
# ## 8. First order at the edge is a period-2 orbit: the segment-averaged Hessian
# At its edge GD oscillates along the edge direction with period 2, at an amplitude a that is not small
# on the scale of the curvature's variation, so the Hessian at either iterate is not "the" Hessian of the
# edge.  For any two consecutive iterates x_t, x_{t+1} = x_t - eta grad L(x_t), the fundamental theorem
# of calculus gives, exactly,
#
# $$\nabla L(x_t) - \nabla L(x_{t+1}) = \bar H_t\,(x_t - x_{t+1}),\qquad
#   \bar H_t = \int_0^1 H\big(x_{t+1} + s(x_t - x_{t+1})\big)\,ds ,$$
#
# and on an exact period-2 orbit (x_{t+2} = x_t) the two gradients are (x_t - x_{t+1})/eta and
# -(x_t - x_{t+1})/eta, so
#
# $$\bar H_t\,(x_t - x_{t+1}) = \frac{2}{\eta}\,(x_t - x_{t+1}):$$
#
# the step is an eigenvector of the segment-averaged Hessian with eigenvalue exactly 2/eta (heavy ball:
# 2(1 + beta)/eta).  The Hessians at the iterates and at the orbit's centre differ from H-bar by
# O(a^2).  A quartic along the edge direction, L = lambda x^2/2 + gamma x^4/4, shows all three: the orbit
# +-a has eta (lambda + gamma a^2) = 2; H-bar = lambda + gamma a^2 = 2/eta exactly; the iterates read
# 2/eta + 2 gamma a^2 and the centre 2/eta - gamma a^2.  Simpson's rule
# (H(x_t) + 4 H(centre) + H(x_{t+1}))/6 is exact for a quartic, so its error on the network is O(a^4).
# The first-order claims therefore take lambda_max of the Simpson average over each recorded pair
# (zoverify.numeric.eos_curvature.batched_orbit_lambda_max); the band of section 4 still bounds the window mean.

# %%
x, a, gam = sp.symbols("x a gamma", real=True)
L4 = lam * x**2 / 2 + gam * x**4 / 4
step = sp.diff(L4, x)
# the orbit x -> -x: a - eta L'(a) = -a
eta_orbit = sp.solve(sp.Eq(a - eta * step.subs(x, a), -a), eta)[0]
H4 = sp.diff(L4, x, 2)
s_ = sp.symbols("s", real=True)
H_bar = sp.integrate(H4.subs(x, -a + s_ * 2 * a), (s_, 0, 1))
assert sp.simplify(H_bar - 2 / eta_orbit) == 0
assert sp.simplify(H4.subs(x, a) - (2 / eta_orbit + 2 * gam * a**2)) == 0
assert sp.simplify(H4.subs(x, 0) - (2 / eta_orbit - gam * a**2)) == 0
simpson = (H4.subs(x, a) + 4 * H4.subs(x, 0) + H4.subs(x, -a)) / 6
assert sp.simplify(simpson - H_bar) == 0
print("quartic orbit: H-bar = 2/eta exactly; iterates +2 gamma a^2, centre -gamma a^2; Simpson exact")

# %% [markdown]
# The same on a network, with nothing assumed: GD at eta = 0.4 on the digits MLP, run to its edge; at
# the last pair of steps the Rayleigh quotient of the Simpson average along the step equals
# (1/eta)(1 - <d_t, d_{t+1}>/|d_t|^2) (d_t = x_t - x_{t+1}; the identity above, without assuming the orbit
# closes) to Simpson's error, and both are within a fraction of a per cent of 2/eta, while lambda_max at
# the two iterates read differently.

# %%
import torch  # noqa: E402

from zoverify.numeric.eos_curvature import batched_orbit_lambda_max, curvature  # noqa: E402
from zoverify.numeric.eos_training import digits_problem, replicate_generators, train  # noqa: E402
from zoverify.numeric.hessian import dense_hessian  # noqa: E402

problem = digits_problem()
eta_fo = 0.4
init, _ = replicate_generators(0, 1)
steps = 1500
run = train(problem, problem.init(init), optimizer="fo", eta=eta_fo, steps=steps, record=[steps - 2, steps - 1, steps])
x0, x1, x2 = (run.thetas[0, i] for i in range(3))
hess = [dense_hessian(problem.loss, p).numpy() for p in (x0, (x0 + x1) / 2, x1)]
H_simpson = (hess[0] + 4 * hess[1] + hess[2]) / 6
d0, d1 = (x0 - x1).numpy(), (x1 - x2).numpy()
rayleigh = d0 @ H_simpson @ d0 / (d0 @ d0)
identity = (1 - d0 @ d1 / (d0 @ d0)) / eta_fo
top = np.linalg.eigvalsh(H_simpson)[-1]
ends = [curvature(problem.loss, p).lambda_max for p in (x0, x1)]
print(
    f"Rayleigh quotient {rayleigh:.6f}, identity {identity:.6f}, lambda_max(H-bar) {top:.6f}, 2/eta {2 / eta_fo}; "
    f"lambda_max at the iterates {ends[0]:.4f}, {ends[1]:.4f}"
)
assert abs(rayleigh / identity - 1) < 1e-3
assert abs(top * eta_fo / 2 - 1) < 0.01
lanczos = batched_orbit_lambda_max(
    problem.loss, x0[None], x1[None], num_iters=problem.dim, generator=torch.Generator().manual_seed(0)
)
assert abs(lanczos[0] / top - 1) < 1e-10

# %% [markdown]
# ## 9. A large smoothing radius: the central-difference floor
# The two-point difference along z reads
#
# $$\frac{L(\theta + \mu z) - L(\theta - \mu z)}{2\mu} = z^\top\nabla L + \frac{\mu^2}{6} D^3L[z, z, z] + O(\mu^4):$$
#
# the even orders cancel, the cubic term does not vanish where the gradient does, and it is largest in the
# sharp directions.  Once it is as large as the signal the step no longer follows the loss's own curvature,
# and the run is not driven to the loss's edge (notebooks/stability_experiments.py measures the ratio along
# mu on the digits network: 6e-4 at mu = 1e-3, 0.44 at 0.03, about 1 from 0.1).  The claim at mu = 0.3 is
# then one-sided: the window mean of ln(eta*/eta) lies beyond the band of section 4 on the stable side, and
# its control is the opposite bound (the run inside the band), so a pass needs the data to place the run
# outside it.  Checked here: the expansion on a random quartic polynomial in three variables.

# %%
th = sp.symbols("t1:4", real=True)
zz = sp.symbols("z1:4", real=True)
rng_poly = np.random.default_rng(5)
monomials = [
    th[i] * th[j] * th[k] * th[m] for i in range(3) for j in range(i, 3) for k in range(j, 3) for m in range(k, 3)
]
poly = sum(int(c) * mono for c, mono in zip(rng_poly.integers(-3, 4, len(monomials)), monomials, strict=True))
poly += sum(
    int(c) * th[i] * th[j]
    for c, (i, j) in zip(rng_poly.integers(-3, 4, 6), [(0, 0), (0, 1), (1, 2), (2, 2), (0, 2), (1, 1)], strict=True)
)
shifted = {t: t + mu * w for t, w in zip(th, zz, strict=True)}
back = {t: t - mu * w for t, w in zip(th, zz, strict=True)}
central = sp.expand((poly.xreplace(shifted) - poly.xreplace(back)) / (2 * mu))
directional = sum(sp.diff(poly, t) * w for t, w in zip(th, zz, strict=True))
third = sum(
    sp.diff(poly, th[i], th[j], th[k]) * zz[i] * zz[j] * zz[k] for i in range(3) for j in range(3) for k in range(3)
)
assert sp.expand(central - directional - mu**2 / 6 * third) == 0  # a quartic: no O(mu^4) remainder
print("central difference = directional derivative + (mu^2/6) D^3 L[z, z, z] (exact for a quartic)")
