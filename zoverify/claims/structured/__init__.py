"""Declarations of the structured claims: Structured perturbations and MeZO-BCD (arXiv 2501.19099).

What each claim states and where it comes from; the experiments live in the
modules named here and are imported when a claim runs.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("structured", package=__name__, title="Structured perturbations and MeZO-BCD (arXiv 2501.19099)")

FAMILY.declare(
    "estimator_moments",
    module="perturbation_geometry",
    statement="For z = P u, u ~ N(0, I_r), the two-point estimator g_hat = (u^T P^T g) P u has E g_hat = P P^T g and E||g_hat||^2 = ||P^T g||^2 ||P||_F^2 + 2||P P^T g||^2 (given P).",
    source="arXiv 2501.19099 v1 abstract (stable rank); derivations/structured.py §1; docs/structured.md#estimator-moments",
    status=(Status.DERIVED_CHECKED, Status.INFERRED),
    status_note="the stable-rank reading is inferred",
)

FAMILY.declare(
    "effective_overlap",
    module="perturbation_geometry",
    statement="The effective overlap alpha = E_P||P^T g||^2/||g||^2 is 1/B for a uniformly random one of B coordinate blocks (r/d for equal blocks of size r), r/d for a Haar-random r-dim subspace, p for a Bernoulli(p) mask and 1 for MeZO.",
    source="arXiv 2501.19099 v1 abstract (effective overlap) and v2 abstract (subspace alignment); derivations/structured.py §4; docs/structured.md#effective-overlap",
    status=(Status.DERIVED_CHECKED, Status.INFERRED),
    status_note="the identity is derived; the definition of alpha is inferred",
)

FAMILY.declare(
    "one_step_descent",
    module="perturbation_geometry",
    statement="On f = x^T H x/2, one ZO-SGD step x+ = x - eta (z^T g) z changes f in expectation by -eta g^T E[zz^T] g + eta^2/2 g^T E[zz^T H zz^T] g; for z = P u given P this is -eta||P^T g||^2 + eta^2/2 (||P^T g||^2 tr(P^T H P) + 2 g^T PP^T H PP^T g).",
    source="arXiv 2501.19099 (the convergence analysis; abstracts only); derivations/structured.py §5; docs/structured.md#one-step-descent",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "rate_constant",
    module="perturbation_geometry",
    statement="With eta = 1/(L (sr + 2)), min_t E||grad f||^2 <= 2 L (sr + 2) Delta_0/(alpha T), with (sr + 2)/alpha = d + 2 for MeZO, d + 2B for B equal blocks, d (1 + 2/r) for random r-dim subspaces. Checked where the descent step is tight, f = L/2 ||x||^2: along ZO-SGD runs, (1/T) sum_t E||grad f(x_t)||^2 = 2 L K (f(x_0) - E f(x_T))/T and E f(x_T) = f(x_0) (1 - 1/K)^T with K = (sr + 2)/alpha.",
    source="arXiv 2501.19099 v2 abstract (similar convergence rate across subspace perturbations); derivations/structured.py §5; docs/structured.md#rate-constant",
    status=(Status.DERIVED_CHECKED, Status.INFERRED),
    status_note="derived on the isotropic quadratic, where the bound is attained up to E f(x_T); inferred to match the paper",
)

FAMILY.declare(
    "bcd_eta_star",
    module="bcd",
    statement="Block-coordinate ZO (one of B contiguous blocks chosen uniformly per step, z = c D_b w, w ~ N(0, I), c^2 = B scaled or 1): for block-aligned H, eta* = min_b of the root of sum_{i in b} g_i = 1 with g_i = eta c^2 l_i (1+beta) / (2(1-beta^2) - 2 eta c^2 l_i (1 + beta(1 - 1/B))) (GD: beta = 0, eta* = min_b eta*_Gauss(H_b)/c^2); for any H > 0, GD: eta* = 1/(c^2 rho(K)), K = L_H^-1 (BlockTrace + 2 BlockDiag)(H . H); GDM: the root of the per-block maps' operator.  Each equals the first eta where the library's dense second-moment operator (from the law's moment maps) reaches spectral radius 1.",
    source="beyond arXiv 2501.19099 (MeZO-BCD) and arXiv 2604.14669 (Theorems 1-2); derivations/bcd_stability.py §2-§3; docs/structured.md#stability-of-block-coordinate-zo",
    status=(Status.DERIVED_CHECKED,),
    status_note="beyond the papers",
)

FAMILY.declare(
    "bcd_mc_eta_star",
    module="bcd",
    statement="For block-coordinate ZO-GD (uniform block choice) on a rotated H, 1/(c^2 rho(K)) equals the edge of the Monte Carlo one-step operator built from sampled block directions and real central differences (delete-a-group jackknife, 32 groups, t with 31 df).",
    source="beyond arXiv 2501.19099 (MeZO-BCD) and arXiv 2604.14669 (Theorem 1); derivations/bcd_stability.py §3; zoverify/numeric/stability_mc.py; docs/structured.md#general-hessians",
    status=(Status.DERIVED_CHECKED,),
    status_note="beyond the papers",
)

FAMILY.declare(
    "bcd_decay",
    module="bcd",
    statement="ZO-GD and ZO-GDM chains with block-coordinate directions, run in the law's block order (iid uniform, or a fresh random permutation per epoch for order='cyclic') with real central differences, have E||x_t||^2 = <I, E^k(x0 x0^T)> after k epochs, E the epoch map built from the per-block second-moment maps (the average of T_b, or the average over orders of the products T_{b_B} ... T_{b_1}), at eta = fraction x that order's eta*.  The other order's epoch map is a negative control.",
    source="beyond arXiv 2501.19099 (MeZO-BCD, cyclic block order) and arXiv 2604.14669 (Theorems 1-2); derivations/bcd_stability.py §4; docs/structured.md#cyclic-block-orders",
    status=(Status.DERIVED_CHECKED,),
    status_note="beyond the papers",
)
