"""Declarations of the entk claims: The ZO empirical NTK and Johnson-Lindenstrauss (arXiv 2605.03373).

What each claim states and where it comes from; the experiments live in the
modules named here and are imported when a claim runs.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("entk", package=__name__, title="The ZO empirical NTK and Johnson-Lindenstrauss (arXiv 2605.03373)")

FAMILY.declare(
    "unbiased",
    module="estimator",
    statement="P2-1: E[(1/P) sum_p (J_o u_p)(J_u u_p)^T] = J_o S J_u^T, = J_o J_u^T when E[u u^T] = I (z-test with the exact per-entry variance).",
    source="arXiv 2605.03373, the ZO eNTK of the one-step dynamics; derivations/entk.py §5; docs/entk.md#unbiasedness",
    status=(Status.CODE, Status.DERIVED_CHECKED),
)

FAMILY.declare(
    "entry_variance",
    module="estimator",
    statement="P2-2: Var K_hat_ab = (a^T F(b b^T) a - (a^T S b)^2)/P; for iid unit-variance laws (|a|^2|b|^2 + (a.b)^2 + (m4-3) sum a_k^2 b_k^2)/P.",
    source="arXiv 2605.03373, the ZO eNTK's entrywise error; derivations/entk.py §1; docs/entk.md#entry-variance",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "frobenius_error",
    module="estimator",
    statement="P2-3: E||K_hat - K||_F^2 (K = E K_hat = A S B^T) = (tr(A F(B^T B) A^T) - ||A S B^T||_F^2)/P; iid unit variance: (||A||^2||B||^2 + ||AB^T||^2 + (m4-3) sum_k ||A_:k||^2 ||B_:k||^2)/P.",
    source="arXiv 2605.03373, the ZO eNTK's Frobenius error; derivations/entk.py §2; docs/entk.md#frobenius-error",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "gradient_second_moment",
    module="estimator",
    statement="P2-7: the P-query estimator has E||g_hat||^2 = (g^T F(I) g + (P-1)||S g||^2)/P: ||g||^2 (1 + (d+1)/P) Gaussian, ||g||^2 (1 + (d-1)/P) Rademacher.",
    source="arXiv 2605.03373, the P-query ZO-SGD estimator and its d-dependent rate; derivations/entk.py §3; docs/entk.md#gradient-estimator-second-moment",
    status=(Status.READ_2ND, Status.DERIVED),
)

FAMILY.declare(
    "jl_bounds",
    module="projection",
    statement="P2-4: with P >= (2 ln n + ln(1/delta))/(c eps^2), c = 1/4 - eps/6, n = 3V, with probability >= 1 - delta |dK_ij| <= (eps/2)(|a_i|^2 + |b_j|^2) for all i, j and ||dK||_F^2 <= (eps^2 V/2)(||A||_F^2 + ||B||_F^2)^2 (Achlioptas' constant: Gaussian and Rademacher only).  Conservative: negative controls are bounds 10 % above the delta-quantile of 1/eps_eff calibrated by Wishart sampling, each rejected.",
    source="arXiv 2605.03373, the Johnson-Lindenstrauss bound on the ZO eNTK; Achlioptas (2003) Thm 1.1; derivations/entk.py §4; docs/entk.md#the-jl-bound",
    status=(Status.READ_2ND, Status.DERIVED_CHECKED),
)

FAMILY.declare(
    "dimension_free",
    module="dimension",
    statement="P2-5: at fixed Jacobian Gram structure the RMS relative kernel error scales as d^0 and P^(-1/2) (log-log slope test).  Gaussian: exactly d^0.  Other iid laws: the predicted exponent in d is the slope of the exact Frobenius formula on the same grid (Rademacher: slightly positive at small d, as the (m4-3) column term fades and the error rises to the Gaussian value, which bounds it).  Negative controls: d-exponent + 0.05 and P-exponent x 1.1 are each rejected.",
    source="arXiv 2605.03373, the dimension-free kernel error (abstract); derivations/entk.py §2; docs/entk.md#dimension-freeness",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "similarity",
    module="similarity",
    statement="P2-6: E||dK||_F^2/||K||_F^2 (dK = K_hat - K, K = E K_hat = A S B^T) = (||A||^2||B||^2 + ||AB^T||^2 + (m4-3)...)/(P ||AB^T||^2) for unit-variance iid laws (Gaussian: (1 + ||A||^2||B||^2/||AB^T||^2)/P), K_hat from the library's ZO eNTK of the network: larger when the two inputs' Jacobians are less aligned (the paper's 'dissimilar pairs'); Jacobians of a random tanh MLP at scikit-learn digits (4, 9) and (0, 1) (here (0, 1) is less aligned and errs more; the alignment, not the digit labels, sets the error: see notebooks/entk_experiments.py).",
    source="arXiv 2605.03373, the LeNet/MNIST eNTK error for similar (4, 9) and dissimilar (0, 1) pairs; derivations/entk.py §2; docs/entk.md#similarity-effect",
    status=(Status.DERIVED, Status.READ_2ND),
)
