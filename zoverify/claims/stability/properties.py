"""Stability claims on how the edge moves: with momentum (P3-6), with the whole
spectrum (P3-8), at the bounds' extremes (P3-9), for other laws (P3-12), and
against the reference table (P3-14)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from zoverify._errors import NotApplicableError, NotRotationInvariantError
from zoverify.claims.stability.common import (
    REFERENCE_SPECTRUM,
    claim_dim,
    counterexample,
    eta_formula,
    eta_operator,
    exact_claim,
    exact_values,
    haar_rotation,
    has_structured_form,
    law_setting,
    law_spectrum,
    rotated,
    rotated_instance,
    second_moment_scale,
)
from zoverify.numeric.stability_operator import mean_threshold
from zoverify.perturbations import parse_law
from zoverify.symbolic.stability import (
    first_order_threshold,
    noise_constants,
)

# --------------------------------------------------------------- P3-6 monotonicity
_BETAS = (0.0, 0.3, 0.6, 0.9)


def _ref(ctx, spectrum=REFERENCE_SPECTRUM):
    return law_spectrum(ctx.law, spectrum, fill=min(spectrum))


def _mono_predict(ctx):
    spec = _ref(ctx)
    zo = [eta_formula(ctx.law, spec, d=len(spec), method="gdm", beta=b) for b in _BETAS]
    fo = [first_order_threshold(max(spec), method="gdm", beta=b) for b in _BETAS]
    return [zo[i + 1] / zo[i] for i in range(3)] + [fo[i + 1] / fo[i] for i in range(3)]


def _mono_simulate(ctx):
    H, _ = rotated_instance(ctx, _ref(ctx))
    zo = [eta_operator(ctx.law, H, method="gdm", beta=b, solver="structured") for b in _BETAS]
    fo = [mean_threshold(ctx.law, H, method="gdm", beta=b) for b in _BETAS]
    c = second_moment_scale(ctx.law, H.shape[0])
    fo = [x * c for x in fo]  # FO GDM on H (the mean map is FO on c H)
    return exact_values(
        [zo[i + 1] / zo[i] for i in range(3)] + [fo[i + 1] / fo[i] for i in range(3)], _mono_predict(ctx)
    )


exact_claim(
    "stability.momentum_monotone",
    predict=_mono_predict,
    simulate=_mono_simulate,
    labels=lambda ctx: (
        [
            f"ZO-GDM eta* ratio b={_BETAS[i + 1]}/b={_BETAS[i]}"
            + counterexample(
                ctx.law,
                _ref(ctx),
                rotated_instance(ctx, _ref(ctx))[0],
                method="gdm",
                beta=_BETAS[i + 1],
                solver="structured",
            )
            for i in range(3)
        ]
        + [f"FO GDM threshold ratio b={_BETAS[i + 1]}/b={_BETAS[i]}" for i in range(3)]
    ),
)


# --------------------------------------------------------------- P3-8 whole spectrum
_WIDER = (5.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2)  # same l_max, larger trace


def _whole_predict(ctx):
    s1, s2 = _ref(ctx), _ref(ctx, _WIDER)
    d = len(s1)
    return [eta_formula(ctx.law, s1, d=d), eta_formula(ctx.law, s2, d=d), 2 / 5.0 / second_moment_scale(ctx.law, d)]


def _whole_simulate(ctx):
    H1, Q = rotated_instance(ctx, _ref(ctx))
    H2 = rotated(_ref(ctx, _WIDER), Q)
    return exact_values(
        [eta_operator(ctx.law, H1), eta_operator(ctx.law, H2), mean_threshold(ctx.law, H2)], _whole_predict(ctx)
    )


exact_claim(
    "stability.whole_spectrum",
    predict=_whole_predict,
    simulate=_whole_simulate,
    labels=lambda ctx: [
        "eta* H1 (Tr 14.4)" + counterexample(ctx.law, _ref(ctx), rotated_instance(ctx, _ref(ctx))[0]),
        "eta* H2 (Tr 18.3)"
        + counterexample(ctx.law, _ref(ctx, _WIDER), rotated(_ref(ctx, _WIDER), rotated_instance(ctx, _ref(ctx))[1])),
        "mean/FO threshold H2 (= H1's)",
    ],
)


# --------------------------------------------------------------------- P3-9 tightness
_TIGHT_CASES = ((4.0, 1, 8), (1.5, 3, 8))  # (eigenvalue l, multiplicity k, dimension d)
# k unit eigenvalues in d = k + 2 (d > k, so the rotation matters): eta* Tr/2 as l_max/Tr = 1/k -> 0
_TIGHT_TRACE_KS = (10, 100)


def equal_eigenvalue_eta(law, lam: float, k: int, d: int) -> sp.Expr:
    """Closed form of eta* (ZO-GD, one query) for k equal eigenvalues l, from the gain formula.

    k g(eta) = 1 with g = eta kappa_g l c / (2 - eta l c (1 + kappa_s)) is linear in eta:
    eta* = 2 / (l c (1 + kappa_s + k kappa_g)).  Gaussian (kappa_g = kappa_s = c = 1):
    2/((k+2) l), so 2/(3 l) at k = 1.  Sphere of radius sqrt(d) (kappa_g = d/(d+2),
    kappa_s = (d-2)/(d+2)): 2 (d+2) / (d (k+2) l), and eta* Tr/2 = k (d+2) / (d (k+2)),
    which tends to 1 as well.  Laws that are not rotation invariant get their
    diagonal-H constants, laws without the (tr, A, Diag) form the paper's Gaussian ones
    with H scaled by c (the rotated instance then exposes the counter-example).
    """
    try:
        kg, ks, c = noise_constants(law, d=sp.Integer(d))
    except NotRotationInvariantError:
        kg, ks, c = noise_constants(law, d=sp.Integer(d), diagonal_hessian=True)
    except NotApplicableError:
        kg, ks, c = sp.Integer(1), sp.Integer(1), sp.nsimplify(second_moment_scale(law, d))
    return 2 / (sp.nsimplify(lam) * c * (1 + ks + k * kg))


def _tight_cases(law):
    """((l, k, d) cases, trace ks): d the law's dimension >= 8; k + 2 = d for the trace cases.

    A law without the structured form takes the dense operator, so its trace cases stop at
    k = 10 (d = 12 states^2 = 78^2), and a law of fixed dimension gets k = d - 2.
    """
    d8 = claim_dim(law, 8)
    if getattr(law, "fixed_dim", None) is not None:
        return ((4.0, 1, d8), (1.5, 3, d8)), (d8 - 2,)
    ks = tuple(k for k in _TIGHT_TRACE_KS if has_structured_form(law, claim_dim(law, k + 2)) or k <= 10)
    return ((4.0, 1, d8), (1.5, 3, d8)), ks


def _trace_dim(law, k):
    return claim_dim(law, k + 2)


def _tight_predict(ctx):
    cases, ks = _tight_cases(ctx.law)
    out = [equal_eigenvalue_eta(ctx.law, lam, k, d) for lam, k, d in cases]
    out += [equal_eigenvalue_eta(ctx.law, 1.0, k, _trace_dim(ctx.law, k)) * k / 2 for k in ks]
    return [float(x) for x in out]


def _tight_rotations(ctx):
    """Haar rotations for the case dimension and each trace case, drawn in that order from the instance generator."""
    cases, ks = _tight_cases(ctx.law)
    rng = ctx.instance_rng()
    return [haar_rotation(rng, cases[0][2])] + [haar_rotation(rng, _trace_dim(ctx.law, k)) for k in ks]


def _tight_simulate(ctx):
    """The exact operator's eta* (Perron root, no gain formula) on the rotated instances."""
    cases, ks = _tight_cases(ctx.law)
    Q8, *Qk = _tight_rotations(ctx)
    values = [eta_operator(ctx.law, rotated((lam,) * k, Q8)) for lam, k, _ in cases]
    for k, Q in zip(ks, Qk, strict=True):
        values.append(eta_operator(ctx.law, rotated((1.0,) * k, Q), solver="structured") * k / 2)
    return exact_values(values, _tight_predict(ctx))


def _tight_labels(ctx):
    cases, ks = _tight_cases(ctx.law)
    Q8, *Qk = _tight_rotations(ctx)
    d8 = cases[0][2]
    return [
        f"eta* rank one l=4, d={d8} (Gaussian 2/(3l))" + counterexample(ctx.law, (4.0,), rotated((4.0,), Q8)),
        f"eta* three equal l=1.5, d={d8} (Gaussian 2/(5l))"
        + counterexample(ctx.law, (1.5,) * 3, rotated((1.5,) * 3, Q8)),
    ] + [
        f"eta* Tr/2, {k} equal, d={Q.shape[0]} (Gaussian {k}/{k + 2})"
        + counterexample(ctx.law, (1.0,) * k, rotated((1.0,) * k, Q), solver="structured")
        for k, Q in zip(ks, Qk, strict=True)
    ]


exact_claim(
    "stability.tightness",
    predict=_tight_predict,
    simulate=_tight_simulate,
    labels=_tight_labels,
)


# -------------------------------------------------------------- P3-12 other laws
def _other_cases(law):
    """H diagonal only where the law's constants are the diagonal-H ones; rotated otherwise."""
    return "diagonal" if law_setting(law, d=claim_dim(law, 10))[1] == "diagonal" else "rotated"


def _other_predict(ctx):
    spec = _ref(ctx)
    return [eta_formula(ctx.law, spec, d=len(spec), q=q) for q in (1, 2)]


def _other_simulate(ctx):
    H, _ = rotated_instance(ctx, _ref(ctx))
    if _other_cases(ctx.law) == "diagonal":
        H = np.diag(_ref(ctx))
    return exact_values([eta_operator(ctx.law, H, q=q) for q in (1, 2)], _other_predict(ctx))


exact_claim(
    "stability.other_laws",
    predict=_other_predict,
    simulate=_other_simulate,
    laws=("sphere", "rademacher", "uniform", "laplace(b=0.6)", "coordinate"),
    labels=lambda ctx: [
        f"eta* q={q}, H {_other_cases(ctx.law)}"
        + (
            counterexample(ctx.law, _ref(ctx), rotated_instance(ctx, _ref(ctx))[0], q=q)
            if _other_cases(ctx.law) == "rotated"
            else ""
        )
        for q in (1, 2)
    ],
)


# ----------------------------------------------------------- P3-14 reference values
_TABLE = (  # docs/stability.md#reference-values (7 significant digits, computed outside the library)
    ("gaussian", "gd", 0.0, 1, False, 0.0950154),
    ("gaussian", "gd", 0.0, 2, False, 0.1606044),
    ("gaussian", "gd", 0.0, 4, False, 0.2396107),
    ("gaussian", "gd", 0.0, 16, False, 0.3515631),
    ("gaussian", "gdm", 0.5, 1, False, 0.0535785),
    ("gaussian", "gdm", 0.9, 1, False, 0.0112937),
    ("gaussian", "adam", 0.9, 1, False, 0.1129366),
    ("sphere", "gd", 0.0, 1, False, 0.1140185),
    ("rademacher", "gd", 0.0, 1, True, 2 / 14.4),
)
TABLE_HALF_UNIT = 5e-8  # the table is rounded to 7 decimals


def _table_simulate(ctx):
    H, _ = rotated_instance(ctx, REFERENCE_SPECTRUM)
    values = []
    for spec, method, beta, q, diag, _ in _TABLE:
        Hc = np.diag(REFERENCE_SPECTRUM) if diag else H
        values.append(eta_operator(parse_law(spec), Hc, method=method, beta=beta, q=q, solver="structured"))
    return np.array(values), np.full(len(values), TABLE_HALF_UNIT)


exact_claim(
    "stability.reference_values",
    predict=lambda ctx: [row[-1] for row in _TABLE],
    simulate=_table_simulate,
    laws=("gaussian",),
    applies_to=lambda law: None if law.spec == "gaussian" else "the table fixes its own laws (run with gaussian)",
    labels=lambda ctx: [f"{s} {m} b={b:g} q={q}{' diagonal H' if dg else ''}" for s, m, b, q, dg, _ in _TABLE],
    negative_delta=0.01,
)
