"""Declarations of the nzk claims: Neural Zeroth-order Kernel (arXiv 2603.21169).

What each claim states and where it comes from; the experiments live in the
modules named here and are imported when a claim runs.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("nzk", package=__name__, title="Neural Zeroth-order Kernel (arXiv 2603.21169)")

FAMILY.declare(
    "independent_kernel",
    module="kernels",
    statement="Independent zeta, z: E K(x_i, x_j) = x_i^T E[zeta zeta^T] E[z z^T] x_j (only first and second moments enter); orientation: K(x_i, x_j) = (zeta.x_i)(zeta.z)(z.x_j) as in the NZK definition of arXiv:2603.21169 (the paper's code stores the transpose and trains with its transpose, the same dynamics).",
    source="arXiv 2603.21169, Eq. 5 and Theorem 1 (Eq. 6); derivations/nzk.py §1-§2; docs/nzk.md#independent-directions",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "shared_gaussian",
    module="kernels",
    statement="Shared z ~ N(mu, s^2 I): E[||z||^2 z z^T] = ((d+2)s^4 + s^2|mu|^2) I + ((d+4)s^2 + |mu|^2) mu mu^T.",
    source="arXiv 2603.21169, Theorem 1 (Eq. 6), shared Gaussian directions with a mean; derivations/nzk.py §2; docs/nzk.md#shared-gaussian-directions",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "corollary2",
    module="kernels",
    statement="Corollary 2: shared z ~ N(0, s^2 I) gives E K(x_i, x_j) = (d+2) s^4 <x_i, x_j>.",
    source="arXiv 2603.21169, Corollary 2 (Eq. 9); derivations/nzk.py §2; docs/nzk.md#corollary-2",
    status=(Status.READ_2ND, Status.DERIVED_CHECKED),
)

FAMILY.declare(
    "shared_iid",
    module="kernels",
    statement="Shared z with iid zero-mean coordinates: E K = (m4 + (d-1) sigma^4) X X^T (depends on the 4th moment).",
    source="arXiv 2603.21169, Theorem 1 (Eq. 6) and Fig. 11 (other direction laws); derivations/nzk.py §2-§3; docs/nzk.md#shared-iid-directions",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "time_invariance",
    module="training",
    statement="Linear model: the NZK at theta_t, by finite differences with fresh shared z, has mean Kbar = X M X^T at every step t.",
    source="arXiv 2603.21169, Theorem 1 (Eq. 6); derivations/nzk.py §5; docs/nzk.md#time-invariance",
    status=(Status.READ_2ND, Status.DERIVED),
)

FAMILY.declare(
    "mean_evolution",
    module="training",
    statement="E f_t = (I - (I - eta Kbar/N)^t) y + (I - eta Kbar/N)^t f_0 (checked as E[f_t - f_0]) for ZO training with fresh (zeta, z) each step (shared and independent pairs).",
    source="arXiv 2603.21169, Eq. 7; derivations/nzk.py §5; docs/nzk.md#closed-form-mean-evolution",
    status=(Status.READ_2ND, Status.DERIVED_CHECKED),
    status_note="the form is second hand",
)

FAMILY.declare(
    "shared_equals_scaled_zo_gd",
    module="training",
    statement="Shared-pair NZK dynamics are ZO-GD with step eta ||z||^2: the mean function step is c_shared/c_second (= (d+2) sigma^2 for Gaussians) times plain ZO-GD's (laws whose E[z z^T] and E[||z||^2 z z^T] are multiples of I at the claim's d).",
    source="arXiv 2603.21169, Corollary 2 (Eq. 9) and the shared-vector acceleration (abstract, Fig. 1); derivations/nzk.py §4; docs/nzk.md#shared-pairs-are-zo-gd-with-a-random-step",
    status=(Status.DERIVED,),
)

FAMILY.declare(
    "kernel_stability",
    module="training",
    statement="The mean ZO recursion E r_(t+1) = (I - eta Kbar/N) E r_t is stable iff eta < eta* = 2N/lambda_max(Kbar): along Kbar's top eigenvector v the per-step factor is 1 - 2 eta/eta*, so E v^T r_t = (1 - 2 eta/eta*)^t v^T r_0 (checked by shared-NZK training at eta = 1.9 and 2.1 N/lambda_max, fixed without the formula, where it decays as (-0.9)^t and grows as (-1.1)^t; q directions averaged per step; a threshold 5 % off is rejected).",
    source="arXiv 2603.21169, Eq. 7 (the kernel-gradient recursion); derivations/nzk.py §6; docs/nzk.md#stability-of-the-kernel-recursion",
    status=(Status.DERIVED,),
)

FAMILY.declare(
    "linearized_net",
    module="network",
    statement="Linearized FFN 64->10->5->1 (d = 711 parameters) on digits 3 vs 5: shared NZK = Phi M Phi^T with Phi the Jacobian features; for N(0, I) this is 713 x the NTK Phi Phi^T.",
    source="arXiv 2603.21169, linearized networks (abstract) and the FFN 64-10-5-1 of Fig. 2 (authors' code); derivations/nzk.py §7; docs/nzk.md#linearized-networks",
    status=(Status.CODE, Status.DERIVED),
)

FAMILY.declare(
    "headline_kernel_zo",
    module="headline",
    statement="Digits 3 vs 5 (for MNIST 8x8), FFN 64->10->5->1 linearized, eta = 1e-3: kernel-gradient ZO with the paper's Monte Carlo NZK (S shared draws) has loss L_t = (1/2) mean(((I - eta Kbar/N)^t (f_0 - y))^2) at t = 2,000 and 14,000, Kbar = Phi M Phi^T (713 Phi Phi^T for N(0, I)); each replicate is jackknifed over the kernel's draws.",
    source="arXiv 2603.21169, Fig. 2 (MNIST 3 vs 5, kernel-gradient ZO; the authors' notebook output); derivations/nzk.py §5, §7; docs/nzk.md#kernel-gradient-zo",
    status=(Status.CODE, Status.DERIVED),
    status_note="the notebook's output",
)

FAMILY.declare(
    "headline_best_of",
    module="headline",
    statement="Digits 3 vs 5, linearized FFN, eta = 1e-3: the paper's 'standard ZO' (best of K = 100 Gaussian directions per step) has E L_t exactly from the kept direction's moments (sigma max of K normals, plus an independent Gaussian): as intended its mean step is GD's at ~6.5x the step size and it beats FO; as the paper's notebook runs it (theta + eps z broadcast to a d x d matrix) every copy moves only along the all-ones direction and the loss decays geometrically to min_a L(theta0 + a 1).",
    source="arXiv 2603.21169, Fig. 2 (the 'standard' parametric ZO baseline; the authors' notebook); derivations/nzk.py §8; docs/nzk.md#the-best-of-k-baseline",
    status=(Status.CODE, Status.DERIVED),
    status_note="the notebook's output",
)
