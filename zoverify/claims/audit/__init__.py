"""Declarations of the audit claims: a user's zeroth-order code checked against the theory of its own law.

Each claim takes the subject as a parameter (``--param subject=module:callable``; default
``reference``, zoverify's own implementation) beside the law; ``zoverify audit`` runs them
for one subject, infers what is not declared and names the slip behind a failure.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("audit", package=__name__, title="Audits of a user's ZO estimator, optimizer or MeZO-style update")

_SOURCE = "arXiv 2604.14669, Section 2 (the two-point estimator and its moments) and Appendix B; docs/audit.md"

FAMILY.declare(
    "estimator_mean",
    module="estimator",
    statement="E g = scale x E[zz^T] grad f on a quadratic (central: exact; forward: plus (mu/2) E[(z^T A z) z]), over fresh instances.",
    source=f"{_SOURCE}#mean",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_second_moment",
    module="estimator",
    statement="E[g g^T] = scale^2 ((1 - 1/q) M2 v v^T M2 + E[(z^T v)^2 z z^T]/q), every entry, from the law's moment maps.",
    source=f"{_SOURCE}#second-moment",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_mean_forward",
    module="estimator",
    statement="The mean with a forward difference at mu = 0.5 and q = 4, for laws whose E[(z^T A z) z] does not vanish: scale (M2 v + (mu/2) E[(z^T A z) z]).",
    source=f"{_SOURCE}#mean",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_second_moment_q4",
    module="estimator",
    statement="E[g g^T] of a q = 4 forward-difference average on a linear function at a declared scale of 1/2: scale^2 ((3/4) M2 v v^T M2 + E[(z^T v)^2 z z^T]/4).",
    source=f"{_SOURCE}#second-moment",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_second_moment_forward",
    module="estimator",
    statement="E[g g^T] of a forward difference on a quadratic at mu = 0.5: scale^2 ((1 - 1/q) m m^T + S/q), S = E[(z^T v)^2 zz^T] + mu E[(z^T v)(z^T A z) zz^T] + (mu^2/4) E[(z^T A z)^2 zz^T] (fifth and sixth moments), every entry.",
    source=f"{_SOURCE}#second-moment",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_mean_cubic",
    module="estimator",
    statement="E g on a cubic f = y^T A y/2 + b^T y + sum c_i y_i^3/6 at mu = 0.5: the central difference is exactly z^T grad f + (mu^2/6) sum c_i z_i^3, so E g = scale (M2 grad f + (mu^2/6) E[(sum c_i z_i^3) z]).",
    source=f"{_SOURCE}#mean-on-a-cubic",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_mean_cubic_forward",
    module="estimator",
    statement="The forward difference's mean on the same cubic at mu = 0.5: scale (M2 grad f + (mu/2) E[(z^T H z) z] + (mu^2/6) E[(sum c_i z_i^3) z]), H = A + diag(c x) the Hessian at x.",
    source=f"{_SOURCE}#mean-on-a-cubic",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_conditional_mean",
    module="estimator",
    statement="Training-like use: calls of one instance are independent draws, so calls x ||mean of the calls - E g||^2 averages to tr Cov(g) (a reused direction pool, a counter that never advances or a seed reused between calls inflate it).",
    source=f"{_SOURCE}#training-like-use",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_reproducible",
    module="estimator",
    statement="The same seed replays the same outputs bitwise; different seeds give different outputs.",
    source=f"{_SOURCE}#reproducibility",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_queries",
    module="estimator",
    statement="The subject queries f as it declares: a central scheme at pairs x + mu z, x - mu z, a forward one at x and x + mu z, q directions per call.",
    source=f"{_SOURCE}#queries",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "estimator_queries_forward",
    module="estimator",
    statement="The same for a forward scheme with q = 4: x queried once and x + mu z_k for each of the 4 directions.",
    source=f"{_SOURCE}#queries",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "optimizer_mean_path",
    module="optimizer",
    statement="E x_t of the declared method (GD: x - lr g; heavy ball: m = beta m + g, x - lr m) with E g = scale M2 grad f, at t = 1, 2, 5 on a quadratic.",
    source="arXiv 2604.14669, Propositions 1-2 (the mean dynamics); docs/audit.md#optimizer",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "optimizer_stable_step",
    module="optimizer",
    statement="The subject's mean-square stable step (the edge of its one-step operator, measured by probing its first step) is the exact eta* of the declared law, q and method; +-10 % rejected: stable at 0.9 eta*, unstable at 1.1 eta*.",
    source="arXiv 2604.14669, Theorems 1-2; zoverify/numeric/stability_operator.py; docs/audit.md#stable-step",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "optimizer_replay",
    module="replay",
    statement="Replaying the declared method on the estimates that the subject's own queries of f define (declared scheme, mu, q, scale) reproduces its x_t at every step, within a first-order floating-point bound; lr x 1.01 and 0.99 rejected.",
    source="arXiv 2604.14669, Section 2 (the estimate); Higham, Accuracy and Stability of Numerical Algorithms, Sections 2.2 and 3.1 (the rounding bound); docs/audit.md#replay",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "optimizer_replay_gdm",
    module="replay",
    statement="The replay of ZO heavy ball (m = beta m + g, x = x - lr m; beta 0.5, q = 4, scale 1/2) reproduces the subject's x_t; m = beta m + (1 - beta) g and lr x 1.01 rejected.",
    source="arXiv 2604.14669, Proposition 2 (heavy ball); Higham, Accuracy and Stability of Numerical Algorithms, Sections 2.2 and 3.1; docs/audit.md#replay",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "optimizer_replay_adam",
    module="replay",
    statement="The replay of ZO-Adam (beta1 0.9, beta2 0.999, eps 1e-8, bias-corrected m and v) on a forward difference with q = 2 reproduces the subject's x_t; Adam without bias correction and lr x 1.01 rejected.",
    source="Kingma and Ba, Adam, ICLR 2015, Algorithm 1; Higham, Accuracy and Stability of Numerical Algorithms, Sections 2.2 and 3.1; docs/audit.md#replay",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "torch_update_mean",
    module="torch_update",
    statement="On a linear loss sum_t <c_t, theta_t>, E[<delta theta_t, c_t>] = -lr scale <c_t, (E zz^T) c>_t for every parameter tensor t.",
    source=f"{_SOURCE}#torch-update",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "optimizer_mean_path_gdm",
    module="optimizer",
    statement="The mean path of ZO heavy ball (beta = 0.5) with q = 4 directions at a declared scale of 1/2: m = beta m + g, x = x - lr m, E g = scale M2 grad f.",
    source="arXiv 2604.14669, Propositions 1-2 (the mean dynamics); docs/audit.md#optimizer",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "optimizer_stable_step_gdm",
    module="optimizer",
    statement="The mean-square stable step of ZO heavy ball (beta = 0.5, q = 4, scale 1/2), measured by probing its first step, is the exact eta* of the declared law divided by the scale; +-10 % rejected.",
    source="arXiv 2604.14669, Theorem 2; zoverify/numeric/stability_operator.py; docs/audit.md#stable-step",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "torch_update_mean_q4",
    module="torch_update",
    statement="The per-tensor mean of a q = 4 update on a linear loss: E[<delta theta_t, c_t>] = -lr scale <c_t, (E zz^T) c>_t (the q directions averaged).",
    source="arXiv 2604.14669, Section 2 and Appendix B; docs/audit.md#torch-update",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "torch_update_direction",
    module="torch_update",
    statement="On a linear loss the update of every tensor lies along the direction the subject perturbed it with (|cos| = 1 up to rounding), at sizes up to millions of entries and shapes that are not multiples of 8.",
    source=f"{_SOURCE}#torch-update",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "torch_update_restore",
    module="torch_update",
    statement="With lr = 0 the update gives back every parameter bitwise, in float32, bfloat16 and float16.",
    source=f"{_SOURCE}#exact-restore",
    status=(Status.DERIVED_CHECKED,),
)
FAMILY.declare(
    "torch_update_stable_step",
    module="torch_update",
    statement="A torch update run on one float64 parameter vector with the loss theta^T H theta / 2 has the mean-square stable step of ZO-GD with its declared law and q (the exact eta*, divided by the declared scale), measured by probing first updates; +-10 % rejected.",
    source="arXiv 2604.14669, Theorem 1; zoverify/numeric/stability_operator.py; docs/audit.md#torch-update-stable-step",
    status=(Status.DERIVED_CHECKED,),
)
