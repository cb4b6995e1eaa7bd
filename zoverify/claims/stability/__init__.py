"""Declarations of the stability claims: ZO optimization at the edge of stability (arXiv 2604.14669).

What each claim states and where it comes from; the experiments live in the
modules named here and are imported when a claim runs.
"""

from zoverify.verify.registry import Family
from zoverify.verify.verdict import Status

FAMILY = Family("stability", package=__name__, title="ZO optimization at the edge of stability (arXiv 2604.14669)")

FAMILY.declare(
    "mean_threshold",
    module="thresholds",
    statement="P3-1: the mean-stability threshold equals the first-order one (2/l, 2(1+b)/l, 2(1+b1)/((1-b1) l(P^-1 H))), for any law with E[zz^T] = c I (H scaled by c).",
    source="arXiv 2604.14669, Propositions 1-3 and the mean thresholds of Theorems 1-3; derivations/stability.py §7; docs/stability.md#stability-in-the-mean",
    status=(Status.READ,),
)

FAMILY.declare(
    "gd_threshold",
    module="thresholds",
    statement="P3-2 (Thm 1, Eq. 16): the operator's edge (radius 1) on a rotated H is the root of sum eta l_i / (2(1 - eta l_i)) = 1 (law constants from its moment maps); spectrum-only.",
    source="arXiv 2604.14669, Theorem 1, Eq. 16, Remark 1; derivations/stability.py §1-§2; docs/stability.md#mean-square-threshold",
    status=(Status.READ_2ND, Status.DERIVED_CHECKED),
)

FAMILY.declare(
    "gdm_threshold",
    module="thresholds",
    statement="P3-4 (Thm 2, Eq. 18): ZO-GDM edge = root of sum eta l_i / (2(1-b)(1 - eta l_i/(1-b^2))) = 1; spectrum-only.",
    source="arXiv 2604.14669, Theorem 2, Eq. 18; derivations/stability.py §3; docs/stability.md#momentum",
    status=(Status.READ_2ND, Status.DERIVED_CHECKED),
)

FAMILY.declare(
    "q_query_gd",
    module="thresholds",
    statement="P3-10: q-query ZO-GD edge = root of sum eta l_i / (2q - (q+1) eta l_i) = 1; spectrum-only.",
    source="arXiv 2604.14669, Theorem 1 and Appendix B (multi-query averages); derivations/stability.py §1-§2, §4; docs/stability.md#the-gain-formula",
    status=(Status.DERIVED_CHECKED,),
    status_note="the closed form is derived here; the paper treats multi-query averages in its appendix",
)

FAMILY.declare(
    "q_query_gdm",
    module="thresholds",
    statement="P3-11: q-query ZO-GDM edge = root of sum eta l_i (1+b) / (2q(1-b^2) - eta l_i((q+1) - b(q-1))) = 1.",
    source="arXiv 2604.14669, Theorem 2 and Appendix B (multi-query averages); derivations/stability.py §3; docs/stability.md#the-gain-formula",
    status=(Status.DERIVED_CHECKED,),
    status_note="the closed form is derived here; the paper treats multi-query averages in its appendix",
)

FAMILY.declare(
    "adam_threshold",
    module="thresholds",
    statement="P3-7 (Thm 3, Eq. 20): frozen ZO-Adam with P H = H P has its edge at the root of sum eta l~_i / (2(1 - eta l~_i/(1+b1))) = 1 (l~ = eig P^-1 H); at P = I, eta*_Adam = eta*_GDM(b1) / (1 - b1).",
    source="arXiv 2604.14669, Theorem 3, Eq. 20, Remark 2; derivations/stability.py §3; docs/stability.md#frozen-zo-adam",
    status=(Status.READ_2ND, Status.DERIVED_CHECKED),
)

FAMILY.declare(
    "gd_bounds",
    module="thresholds",
    statement="P3-3 (Eq. 17), P3-9 and q-query forms: 2q/(Tr + (q+1) l_max) <= eta* <= 2q/Tr on rotated H; the lower bound is attained for k equal eigenvalues (k = 1, 3 and k = d), the upper one is approached as l_max/Tr -> 0 with 1 - eta* Tr/(2q) <= (q+1) l_max/Tr (checked at k = d = 400 equal eigenvalues).",
    source="arXiv 2604.14669, Eq. 17 and Table 1; derivations/stability.py §4; docs/stability.md#bounds and docs/stability.md#tightness",
    status=(Status.READ, Status.DERIVED_CHECKED),
    status_note="Table 1",
)

FAMILY.declare(
    "gdm_bounds",
    module="thresholds",
    statement="P3-5 (Eq. 19): 2(1-b)/(Tr + 2 l_max/(1+b)) <= eta*_GDM <= 2(1-b)/Tr; Eq. 21 for frozen Adam at P = I (with Tr, l_max of P^-1 H); the lower bound attained for equal eigenvalues, the upper one approached as l_max/Tr -> 0 (1 - eta*/upper <= 2 l_max/((1+b) Tr), checked at k = d = 400).",
    source="arXiv 2604.14669, Eqs. 19 and 21, Table 1; derivations/stability.py §4; docs/stability.md#bounds and docs/stability.md#frozen-zo-adam",
    status=(Status.READ, Status.DERIVED_CHECKED),
    status_note="Table 1",
)

FAMILY.declare(
    "momentum_monotone",
    module="properties",
    statement="P3-6: eta*_ms(ZO-GDM) falls as beta grows (ratios eta*(b_k+1)/eta*(b_k) < 1 for b = 0, .3, .6, .9), while FO GDM's 2(1+b)/l_max rises.",
    source="arXiv 2604.14669, Theorem 2 against Proposition 2 (momentum shrinks the ZO stable range); derivations/stability.py §5; docs/stability.md#momentum-monotonicity",
    status=(Status.READ, Status.DERIVED_CHECKED),
)

FAMILY.declare(
    "whole_spectrum",
    module="properties",
    statement="P3-8: two Hessians with the same l_max = 5 (FO threshold 0.4 for both) but traces 14.4 and 18.3 have different ZO edges, the larger trace giving the smaller eta*.",
    source="arXiv 2604.14669, Theorem 1 against Proposition 1 (the whole spectrum, not lambda_max, sets the ZO edge); derivations/stability.py §4; docs/stability.md#the-whole-spectrum-matters",
    status=(Status.READ, Status.DERIVED),
)

FAMILY.declare(
    "tightness",
    module="properties",
    statement="P3-9: closed forms for k equal eigenvalues l, from the gain formula (eta* = 2/(l c (1 + kappa_s + k kappa_g))), against the exact operator's eta* on Haar-rotated H: Gaussian: one eigenvalue (d = 8) gives 2/(3 l), k = 3 equal give 2/((k+2) l) (the lower bound), and eta* Tr/2 = k/(k+2) -> 1 as l_max/Tr = 1/k -> 0 (k = 10, 100 in d = k + 2); sphere (radius sqrt d): 2(d+2)/(d(k+2) l), and eta* Tr/2 = k(d+2)/(d(k+2)) -> 1.",
    source="arXiv 2604.14669, Eq. 17 and Table 1 (where the bounds are attained); derivations/stability.py §4; docs/stability.md#tightness",
    status=(Status.DERIVED,),
)

FAMILY.declare(
    "other_laws",
    module="properties",
    statement="P3-12: the general gain formula with the law's noise constants (sphere: kappa_g = d/((d+2)q), kappa_s = (d-2)/((d+2)q); iid laws with H diagonal in the coordinate basis: kappa_s = (m4-2)/q, e.g. Rademacher eta* = 2/Tr) gives the operator's edge, q = 1, 2.",
    source="arXiv 2604.14669, Appendix B (non-Gaussian directions); derivations/stability.py §4, §6; docs/stability.md#the-gain-formula",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "reference_values",
    module="properties",
    statement="P3-14: the §3.5 reference table for H = diag(5,3,2,1.5,1,.8,.5,.3,.2,.1) (rotated): the exact operator's eta* rounds to every tabulated value.",
    source="arXiv 2604.14669, Theorems 1-3 and Table 1 on a reference spectrum; derivations/stability.py §4; docs/stability.md#reference-values",
    status=(Status.DERIVED_CHECKED,),
)

FAMILY.declare(
    "mc_decay",
    module="monte_carlo",
    statement="P3-15 (below the edge): E||x_t||^2 of ZO-GD chains with real central differences equals <I, T^t(x0 x0^T)> of the law's operator at t = 10, 30 (so its decay rate is the operator's). Central differences are exact on a quadratic at any radius, so the chains use mu = 0.5, where a forward difference would add (mu/2)(z^T H z) z to every step.",
    source="arXiv 2604.14669, Theorem 1 (the second-moment recursion); zoverify/numeric/stability_mc.py; docs/stability.md#monte-carlo-protocol",
    status=(Status.CHECKED,),
)

FAMILY.declare(
    "forward_difference",
    module="monte_carlo",
    statement="P3-13: with forward differences the chains follow the same operator (the extra term is a constant of order (eta mu)^2, below 1e-9 here at mu = 1e-6), so eta* is unchanged.",
    source="arXiv 2604.14669, Appendix B (forward finite differences); zoverify/symbolic/stability.py (module docstring); docs/stability.md#forward-differences",
    status=(Status.DERIVED, Status.CHECKED),
    status_note="by Monte Carlo",
)

FAMILY.declare(
    "mc_eta_star",
    module="monte_carlo",
    statement="P3-15 (at the edge): the Monte Carlo one-step operator (directions and real central differences) gives eta* whose delete-a-group jackknife t-interval (g = 32 groups, 31 df) covers the exact operator's eta*.  num_samples counts the sampled directions z_k (each measured by central differences at the d basis points), split into 32 groups of about num_samples/32; the test's replicates are the 32 pseudo-values.",
    source="arXiv 2604.14669, Theorem 1; zoverify/numeric/stability_mc.py (sampled one-step operator); docs/stability.md#monte-carlo-protocol",
    status=(Status.CHECKED,),
)

FAMILY.declare(
    "mc_decay_engines",
    module="monte_carlo",
    statement="P3-15 for every engine: E||x_t||^2 of chains with real central differences equals <I, T^t(x0 x0^T)> of the exact operator (t = 10) for ZO-GD with q = 4 queries (at 0.4 x fraction of its eta*), ZO-GDM (b = 0.5) and frozen ZO-Adam (b1 = 0.9) with a diagonal and with a general SPD preconditioner that does not commute with H.",
    source="arXiv 2604.14669, Theorems 1-3 and Appendix B (multi-query averages); zoverify/numeric/stability_mc.py; docs/stability.md#monte-carlo-protocol",
    status=(Status.CHECKED,),
)

FAMILY.declare(
    "mc_eta_star_engines",
    module="monte_carlo",
    statement="P3-15 (at the edge) for every engine: the Monte Carlo one-step operator S -> mean_k A_k S A_k^T (A_k the sampled step of the stacked state, b_k = (1/q) sum_j z_j r_j^T measured by real central differences) has an eta* whose delete-a-group jackknife interval (32 groups) covers the exact operator's eta*, for ZO-GD q = 4, ZO-GDM b = 0.5, frozen ZO-Adam b1 = 0.9 with a diagonal and with a general SPD P.  num_samples counts steps per engine.",
    source="arXiv 2604.14669, Theorems 1-3 and Appendix B (multi-query averages); zoverify/numeric/stability_mc.py (sampled one-step operator); docs/stability.md#monte-carlo-protocol",
    status=(Status.CHECKED,),
)

FAMILY.declare(
    "eos_first_order",
    module="training",
    statement="Sanity check (Sec. 5 setting): full-batch first-order GD (eta = 0.6; lambda_max about 2 at initialisation) on a 16-8-8-1 tanh MLP regressing the digit value of 500 scikit-learn digits sharpens and then hovers at its edge: over steps 1500-3000, at pairs of consecutive steps, the lambda_max of the Hessian averaged over the segment between the pair's iterates (the period-2 orbit's edge statistic: exactly 2/eta on an exact orbit) gives a window mean of ln((2/lambda_max)/eta) that lies, for the median replicate, within the derived band delta = 106 ln 2/(4 W) = 1.2 % (derivations/eos_band.py); 64 replicates (initialisations), batched; the median by its order-statistic interval; controls: the edge misplaced by +-3 %.",
    source="arXiv 2604.14669, Sec. 5; Cohen et al. 2021 (edge of stability); derivations/eos_band.py",
    status=(Status.DERIVED, Status.CHECKED),
    slow=True,
)

FAMILY.declare(
    "eos_catapult",
    module="training",
    statement="The catapult (Sec. 5 setting, first order): GD at its edge with eta = 0.4 has eta raised to 0.5 at step 1500, 25 % beyond the new edge; the loss spikes, the sharpness collapses, and over steps 2000-3000 the median replicate sits at the new edge 2/0.5: the window mean of ln((2/lambda_max)/eta) (segment-averaged Hessian over consecutive-step pairs, as in eos_first_order) lies within delta = 106 ln 2/(4 W) = 1.8 %; 64 replicates; controls: no catapult (still at the old edge, -22 %) and the new edge misplaced by +-3 %.",
    source="arXiv 2604.14669, Sec. 5 (step-size increase); Lewkowycz et al. 2020 (catapult phase); derivations/eos_band.py",
    status=(Status.DERIVED, Status.CHECKED),
    slow=True,
)

FAMILY.declare(
    "eos_large_mu",
    module="training",
    statement="No edge at a large smoothing radius: ZO-GD (Gaussian, q = 4, eta = 0.16) with central differences at mu = 0.3, where the difference's error (mu^2/6) D^3 L[z, z, z] + O(mu^4) is as large as the directional derivative itself, stays on the stable side of its edge: the window mean of ln(eta*(H_t)/eta) exceeds the derived band delta = 106 ln 2/(kappa W), a one-sided bound (>= 1 band width) by batch means over 16 replicates; control: the opposite bound (<= 1 band width, i.e. the run at its edge), which must be rejected.  At mu = 1e-3 the same run is at its edge (eos_zo_gd).",
    source="arXiv 2604.14669, Sec. 5 (smoothing radius); derivations/eos_band.py; notebooks/stability_experiments.py (the mu sweep and the difference-error floor)",
    status=(Status.DERIVED, Status.CHECKED),
    slow=True,
)

FAMILY.declare(
    "eos_zo_gd",
    module="training",
    statement="ZO-GD (q = 4 directions of the law, central differences mu = 1e-3; eta = 0.16, block laws 0.05) on the same network reaches the law's own exact mean-square edge: the window mean of ln(eta*(H_t)/eta), eta* of the current Hessian's positive part for this law (block-coordinate: 1/(c^2 rho(M^1/2 N_q M^1/2)), any d), lies within delta = 106 ln 2/(kappa W) (kappa from the operator, about 0.1-0.2: delta is 0.4-0.7 in ln, too loose to place the edge to a few per cent); 16 replicates (initialisations and direction streams); controls: the band shifted by its width, and for block laws training at the spectrum-only (isotropic) edge.",
    source="arXiv 2604.14669, Sec. 5 and Eq. 17 (q-query form); arXiv 2501.19099 (block-coordinate directions); zoverify/symbolic/bcd_stability.py; derivations/eos_band.py",
    status=(Status.DERIVED, Status.CHECKED),
    slow=True,
)

FAMILY.declare(
    "eos_zo_gdm",
    module="training",
    statement="ZO-GDM (beta = 0.5, q = 4, eta = 0.08) reaches its exact mean-square edge eta*_GDM(H_t): the window mean of ln(eta*/eta) lies within delta = 106 ln 2/(kappa W); 16 replicates; controls: the band shifted by its width.",
    source="arXiv 2604.14669, Sec. 5 and Thm 2; derivations/eos_band.py",
    status=(Status.DERIVED, Status.CHECKED),
    slow=True,
)
