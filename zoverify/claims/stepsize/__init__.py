"""Declarations of the stepsize claims: the stable ZO step of a user's model, matrix-free.

What each claim states and where it comes from; the experiments live in the
modules named here and are imported when a claim runs.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("stepsize", package=__name__, title="The stable ZO step of a user's model (zoverify stepsize)")

FAMILY.declare(
    "slq_eta_star",
    module="slq",
    statement="The matrix-free eta* of zoverify stepsize (Rademacher probes, Lanczos on Hessian-vector products, the gain formula's root) for ZO-GD, ZO-GDM (beta 0.9) and 4-query ZO-GD, and its Hutchinson trace estimate, agree with the exact eta* and trace of the dense Hessian, on softmax regression of the digits (d = 310), within a derived quadrature-error bound.",
    source="arXiv 2604.14669, Theorems 1-2, Eqs. 16, 18 (the gain formula); zoverify/claims/stepsize/slq.py (the quadrature bound); docs/stepsize.md",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "routes_vs_dense",
    module="routes",
    statement="For a law whose eta* is not a function of the spectrum, zoverify stepsize's exact-operator route (the Hessian from d Hessian-vector products) gives the dense Hessian's exact eta* within a rounding bound, and its bounds route brackets it (lower <= eta* <= upper, each at confidence 1 - 1e-6), on softmax regression of the digits (d = 310).",
    source="arXiv 2604.14669, Theorem 1 (the mean-square operator); zoverify/claims/stepsize/routes.py; docs/stepsize.md#route-2-exact-operator-other-laws-d1000",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "quadratic_mc",
    module="quadratic_mc",
    statement="ZO-SGD on the quadratic model (second-order Taylor, through Hessian-vector products) of a 100,010-parameter random-feature softmax regression of the digits decays at 0.8 x the upper end and grows at 1.2 x the lower end of zoverify stepsize's interval for eta* (confidence 1 - 2e-5): E[L_T/L_0] <= 1 and >= 1 after 200 steps, each with its reversed side rejected.",
    source="arXiv 2604.14669, Theorem 1 (mean-square stability of ZO-GD); zoverify/claims/stepsize/quadratic_mc.py; docs/stepsize.md",
    status=(Status.CHECKED,),
    slow=True,
)

FAMILY.declare(
    "real_training",
    module="real_training",
    statement="Real ZO-SGD (q queries, full batch) on a network of a million parameters (model=cnn: a 1,070,218-parameter convolutional network on the digits; model=transformer: a 1,024,480-parameter character transformer on the standard library's source), from theta_0 after 8 Adam steps, lowers the mean full-batch loss over its first T = 5 steps below L_0 at 0.8 x, and raises it above L_0 (or diverges) at 1.25 x, the descent edge zoverify stepsize --descent-only estimates from Hessian-vector products, each in at least 90 % of chains (exact binomial tails; a coin, rate <= 0.5, rejected).",
    source="zoverify/numeric/descent.py (the descent edge, derived there); arXiv 2604.14669, Theorem 1 (the mean-square edge it is compared with); zoverify/claims/stepsize/real_training.py; docs/stepsize.md#the-descent-edge",
    status=(Status.DERIVED_CHECKED,),
    slow=True,
)

FAMILY.declare(
    "descent_edge",
    module="descent",
    statement="The descent edge eta_d = 2 c ||g||^2 / E[g_hat^T H g_hat] (the step where one q-query ZO step stops lowering the quadratic model in expectation), with E[g_hat^T H g_hat] from the law's structured fourth moment, equals 2 E[g_hat^T g] / E[g_hat^T H g_hat] over directions drawn from the law itself, for q = 1 and 4, on a 407-parameter tanh network of the digits whose Hessian is indefinite.",
    source="zoverify/numeric/descent.py (derived there); docs/stepsize.md#the-descent-edge-every-law-any-sign-of-h",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "descent_matrix_free",
    module="descent_matrix_free",
    statement="zoverify stepsize --descent-only (Hutchinson's tr H, g^T H g and sum g_i^2 H_ii from Hessian-vector products, lambda_max from the three-term Lanczos recurrence) gives intervals holding the dense Hessian's descent edge, tr H and lambda_max, on a 407-parameter tanh network of the digits and on an 8-dimensional quadratic whose Diag term is large.",
    source="zoverify/numeric/descent.py (the edge, derived there); zoverify/claims/stepsize/descent_matrix_free.py; docs/stepsize.md#the-descent-edge-every-law-any-sign-of-h",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "difference_error",
    module="difference",
    statement="zoverify stepsize --mu measures the central difference's relative error at mu and 2 mu as Taylor's theorem gives it: on a 12-dimensional cubic loss, (mu^2 / 6) (sum_z (sum_i a_i z_i^3)^2 / sum_z (z^T g)^2)^(1/2) on the directions drawn, and 4 times that at 2 mu, for Gaussian, Rademacher and Laplace directions.",
    source="zoverify/numeric/difference.py (the expansion, there); zoverify/claims/stepsize/difference.py; docs/stepsize.md#the-finite-difference-radius",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "real_training_minibatch",
    module="real_training",
    statement="Minibatch ZO-SGD (64 of 512 images) on the 1,070,218-parameter digits CNN, from theta_0 after 8 Adam steps, lowers the full-batch loss over its first 5 steps in the mean over chains at 0.8 x, and raises it at 1.25 x, the minibatch descent edge zoverify stepsize estimates (E ||g_B||^2 and E g_B^T H g_B from minibatch gradients); each side with its reversed side rejected.",
    source="zoverify/numeric/descent.py (the minibatch descent edge, derived there); zoverify/claims/stepsize/real_training.py; docs/stepsize.md#the-descent-edge-every-law-any-sign-of-h",
    status=(Status.DERIVED_CHECKED,),
    status_note="passes at seed 1 with 4,096 chains (mean ratios 0.9985 and 1.0056); at seed 0 with 1,024 chains the rise was significant (1.0079) and the fall was not (0.9987)",
    slow=True,
)
