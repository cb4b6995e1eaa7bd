"""Stability claims on where the edge lies: the mean threshold (P3-1), the spectral
eta* formulas for ZO-GD, ZO-GDM, q queries and frozen ZO-Adam (P3-2, 4, 7, 10, 11)
and the trace bounds (P3-3, P3-5)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from zoverify._errors import NotApplicableError
from zoverify.claims.stability.common import (
    REFERENCE_SPECTRUM,
    REL_TOL,
    ROTATION_INVARIANT_LAWS,
    SMALL_SPECTRUM,
    any_law,
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
from zoverify.numeric.stability_operator import _first_crossing, mean_threshold
from zoverify.perturbations import parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.symbolic.stability import (
    first_order_threshold,
    mean_operator,
    spectral_bounds,
    spectral_setting,
)
from zoverify.verify.decision import LOWER_BOUND, TWO_SIDED, UPPER_BOUND, SidedTest


# ------------------------------------------------------------------- P3-1 mean threshold
def _mean_instances(ctx):
    spec = law_spectrum(ctx.law, SMALL_SPECTRUM, fill=min(SMALL_SPECTRUM))
    H, Q = rotated_instance(ctx, spec)
    p = ctx.instance_rng().uniform(0.5, 2.0, len(spec))
    P = (Q * p) @ Q.T
    return H, P, [("gd", 0.0, None), ("gdm", 0.5, None), ("adam", 0.9, P)]


def _mean_measured(ctx):
    """The root of the law's symbolic mean map, then the numeric engine's mean_threshold, for each case."""
    H, _, cases = _mean_instances(ctx)
    d = H.shape[0]
    roots = [_mean_operator_root(ctx.law, H, method=method, beta=beta, P=P, d=d) for method, beta, P in cases]
    engine = [mean_threshold(ctx.law, H, method=method, beta=beta, P=P) for method, beta, P in cases]
    return roots + engine


def _mean_operator_root(law, H, *, method, beta, P, d):
    """First eta where the law's symbolic mean map (evaluated) has spectral radius 1."""
    blocks = mean_operator(law, method=method, d=sp.Integer(d))
    K = np.eye(d) if P is None else np.linalg.inv(P)
    env = {
        S.d: d,
        S.matrix("H", sp.Integer(d), sp.Integer(d)): H,
        S.matrix("K", sp.Integer(d), sp.Integer(d)): K,
        S.beta: beta,
    }

    def radius(eta):
        e = {**env, S.eta: eta}
        if method == "gd":
            A = evaluate(blocks["xx"], e)
        else:
            A = np.block(
                [
                    [evaluate(blocks["xx"], e), evaluate(blocks["xm"], e)],
                    [evaluate(blocks["mx"], e), evaluate(blocks["mm"], e)],
                ]
            )
        return float(np.max(np.abs(np.linalg.eigvals(A)))) - 1.0

    return _first_crossing(radius, float(1.0 / np.max(np.linalg.eigvalsh(H))))


def _mean_predict(ctx):
    H, P, cases = _mean_instances(ctx)
    c = second_moment_scale(ctx.law, H.shape[0])  # E[z z^T] = c I
    out = []
    for method, beta, Pm in cases:
        Ht = H if Pm is None else np.linalg.solve(Pm, H)
        out.append(
            first_order_threshold(float(np.max(np.linalg.eigvals(Ht).real)), method=method, beta=beta) / float(c)
        )
    return out + out  # the symbolic map's root and the numeric engine both against the first-order form


exact_claim(
    "stability.mean_threshold",
    laws=("gaussian", "rademacher", "coordinate"),
    predict=_mean_predict,
    simulate=lambda ctx: exact_values(_mean_measured(ctx), _mean_predict(ctx)),
    labels=lambda ctx: [
        f"eta_mean {case}{route}"
        for route in (" (mean map)", " (numeric engine)")
        for case in ("ZO-GD", "ZO-GDM b=0.5", "frozen ZO-Adam b1=0.9, P commuting")
    ],
)


# ------------------------------------------------------------- spectral threshold claims
def _threshold_claim(
    name,
    *,
    method="gd",
    beta=0.0,
    qs=(1,),
    spectrum=REFERENCE_SPECTRUM,
    solver="dense",
    laws=ROTATION_INVARIANT_LAWS,
    betas=None,
):
    cases = [(method, b, q) for b in (betas or (beta,)) for q in qs]

    def spec(ctx):
        return law_spectrum(ctx.law, spectrum, fill=min(spectrum))  # positive definite at the law's dimension

    def inst(ctx):
        return rotated_instance(ctx, spec(ctx))

    def predict(ctx):
        sp_ = spec(ctx)
        return [eta_formula(ctx.law, sp_, d=len(sp_), method=m, beta=b, q=q) for m, b, q in cases]

    def simulate(ctx):
        H, _ = inst(ctx)
        values = [eta_operator(ctx.law, H, method=m, beta=b, q=q, solver=solver) for m, b, q in cases]
        return exact_values(values, predict(ctx))

    def labels(ctx):
        H, _ = inst(ctx)
        out = []
        for m, b, q in cases:
            extra = counterexample(ctx.law, spec(ctx), H, method=m, beta=b, q=q, solver=solver)
            out.append(f"eta* {m} beta={b:g} q={q} on Q diag{tuple(spec(ctx))} Q^T" + extra)
        return out

    return exact_claim(name, laws=laws, predict=predict, simulate=simulate, labels=labels)


_threshold_claim("stability.gd_threshold")
_threshold_claim("stability.gdm_threshold", method="gdm", betas=(0.5, 0.9), spectrum=SMALL_SPECTRUM)
_threshold_claim("stability.q_query_gd", qs=(2, 4, 16))
_threshold_claim("stability.q_query_gdm", method="gdm", betas=(0.5,), qs=(3,), spectrum=SMALL_SPECTRUM)


# ----------------------------------------------------------------------- P3-7 Adam
def _adam_spectrum(ctx):
    return law_spectrum(ctx.law, SMALL_SPECTRUM, fill=min(SMALL_SPECTRUM))


def _adam_cases(ctx):
    spec = _adam_spectrum(ctx)
    H, Q = rotated_instance(ctx, spec)
    p = ctx.instance_rng().uniform(0.5, 2.0, len(spec))
    return H, (Q * p) @ Q.T, np.asarray(spec) / p


def _adam_predict(ctx):
    _, _, tilde = _adam_cases(ctx)
    d = len(tilde)
    e_adam = eta_formula(ctx.law, tilde, d=d, method="adam", beta=0.9)
    e_gdm = eta_formula(ctx.law, _adam_spectrum(ctx), d=d, method="gdm", beta=0.9)
    return [e_adam, e_gdm / (1 - 0.9)]


def _adam_simulate(ctx):
    H, P, _ = _adam_cases(ctx)
    values = [eta_operator(ctx.law, H, method="adam", beta=0.9, P=P), eta_operator(ctx.law, H, method="adam", beta=0.9)]
    return exact_values(values, _adam_predict(ctx))


exact_claim(
    "stability.adam_threshold",
    predict=_adam_predict,
    simulate=_adam_simulate,
    labels=lambda ctx: [
        "eta* Adam b1=0.9, random commuting P"
        + counterexample(ctx.law, _adam_spectrum(ctx), _adam_cases(ctx)[0], method="adam", beta=0.9),
        "eta* Adam b1=0.9, P=I  vs  eta*_GDM(0.9)/(1-0.9) (spectral)"
        + counterexample(ctx.law, _adam_spectrum(ctx), _adam_cases(ctx)[0], method="adam", beta=0.9),
    ],
)


# ----------------------------------------------------------------------- bounds
_ISOTROPIC_K = 400  # k equal eigenvalues filling d = k: the upper bound's gap is (curvature / (kappa_g (1+b))) / k


def _bound_setting(law, method, beta, q, d):
    """The law's own gain constants if rotation invariant; else the paper's (Gaussian) bounds with H scaled by c."""
    s, kind = law_setting(law, d=d, method=method, beta=beta, q=q)
    if kind != "rotation-invariant":
        g = spectral_setting(parse_law("gaussian"), method=method, beta=beta, q=q, d=d)
        s = type(s)(g.kappa_g, g.kappa_s, g.beta, g.s * second_moment_scale(law, d))
    return s


def _bound_cases(law, cases):
    """(method, beta, q, spectrum, kind) with spectra padded to a dimension the law accepts.

    kind "loose": both bounds one-sided; "equal": k equal eigenvalues, where the lower
    bound is attained (equality); "isotropic": k = d equal eigenvalues, where the upper
    bound is approached: 0 <= 1 - eta*/upper <= curvature lambda_max / (kappa_g (1+b) Tr)
    (= upper/lower - 1), and the lower bound is attained.  A law without the structured
    form takes the dense operator, so its isotropic instance is d = 12 (a looser rate).
    """
    out = []
    for method, beta, q, spectrum, kind in cases:
        if kind == "isotropic":
            if getattr(law, "fixed_dim", None) is not None:
                k = int(law.fixed_dim)
            else:
                k = _ISOTROPIC_K if has_structured_form(law, _ISOTROPIC_K) else 12
            spectrum = (spectrum[0],) * k
        out.append((method, beta, q, law_spectrum(law, spectrum), kind))
    return out


def _bound_claim(name, cases):
    """A bound pair checked on loose instances (inequalities) and where each side is attained (equalities)."""

    def cases_for(ctx):
        return _bound_cases(ctx.law, cases)

    def bounds(ctx):
        """[(lower, upper, upper_rate)] per case."""
        out = []
        for method, beta, q, spectrum, _ in cases_for(ctx):
            st = _bound_setting(ctx.law, method, beta, q, len(spectrum))
            lo, hi = spectral_bounds(spectrum, st)
            if lo is None:
                raise NotApplicableError(f"law {ctx.law.spec}: the bounds need curvature >= 0")
            lam = [x for x in spectrum if x > 0]
            rate = st.curvature * max(lam) / (st.kappa_g * (1 + st.beta) * sum(lam))
            out.append((lo, hi, rate))
        return out

    def predict(ctx):
        b = bounds(ctx)
        return [x[0] for x in b] + [x[1] for x in b]

    def simulate(ctx):
        rng = ctx.instance_rng()
        values, tol, sides = [], [], []
        lows, ups = [], []
        for (method, beta, q, spectrum, kind), (lo, hi, rate) in zip(cases_for(ctx), bounds(ctx), strict=True):
            H = rotated(spectrum, haar_rotation(rng, len(spectrum)))
            values.append(eta_operator(ctx.law, H, method=method, beta=beta, q=q, solver="structured"))
            lows.append((REL_TOL * lo, LOWER_BOUND if kind == "loose" else TWO_SIDED))
            ups.append((hi * (rate + REL_TOL), TWO_SIDED) if kind == "isotropic" else (REL_TOL * hi, UPPER_BOUND))
        for t, sd in lows + ups:
            tol.append(t)
            sides.append(sd)
        return values + values, tol, sides

    def labels(ctx):
        names = [
            f"{m} b={b:g} q={q} spectrum{tuple(s)[:4]}{'...' if len(s) > 4 else ''} d={len(s)}"
            for m, b, q, s, _ in cases_for(ctx)
        ]
        kinds = [k for *_, k in cases_for(ctx)]
        lo = {
            "loose": "lower bound <= eta*",
            "equal": "lower bound = eta* (attained)",
            "isotropic": "lower bound = eta* (attained)",
        }
        hi = {
            "loose": "eta* <= upper bound",
            "equal": "eta* <= upper bound",
            "isotropic": "upper bound approached (gap <= rate)",
        }
        return [f"{lo[k]}, {n}" for k, n in zip(kinds, names, strict=True)] + [
            f"{hi[k]}, {n}" for k, n in zip(kinds, names, strict=True)
        ]

    def alternatives(ctx, prediction):
        """Each bound formula alone off by a near miss, both ways, on every instance at once."""
        pred = np.asarray(prediction, float)
        half = pred.size // 2
        out = []
        for side, sl in (("lower", slice(0, half)), ("upper", slice(half, None))):
            for sign in (+1, -1):
                alt = pred.copy()
                alt[sl] *= 1 + sign * _BOUND_DELTA
                out.append((f"{side} bound formula {'+' if sign > 0 else '-'}{100 * _BOUND_DELTA:g}%", alt))
        return out

    return exact_claim(
        name,
        test=SidedTest(),
        predict=predict,
        simulate=simulate,
        labels=labels,
        applies_to=any_law,
        negative_delta=_BOUND_DELTA,
        negative_alternatives=alternatives,
    )


_BOUND_DELTA = 0.03  # a near miss of either bound formula
_RANDOM = (4.0, 2.5, 2.2, 1.1, 0.7, 0.4, 0.25, 0.05)
_bound_claim(
    "stability.gd_bounds",
    [
        ("gd", 0.0, 1, REFERENCE_SPECTRUM, "loose"),
        ("gd", 0.0, 1, _RANDOM, "loose"),
        ("gd", 0.0, 2, REFERENCE_SPECTRUM, "loose"),
        ("gd", 0.0, 4, _RANDOM, "loose"),
        ("gd", 0.0, 1, (4.0, 0, 0, 0, 0, 0, 0, 0), "equal"),
        ("gd", 0.0, 3, (2.0, 2.0, 2.0, 0, 0, 0, 0, 0), "equal"),
        ("gd", 0.0, 1, (1.0,), "isotropic"),
        ("gd", 0.0, 3, (1.0,), "isotropic"),
    ],
)
_bound_claim(
    "stability.gdm_bounds",
    [
        ("gdm", 0.5, 1, REFERENCE_SPECTRUM, "loose"),
        ("gdm", 0.9, 1, _RANDOM, "loose"),
        ("adam", 0.9, 1, REFERENCE_SPECTRUM, "loose"),
        ("gdm", 0.5, 1, (2.0, 2.0, 2.0, 0, 0, 0, 0, 0), "equal"),
        ("adam", 0.5, 1, (2.0, 2.0, 2.0, 0, 0, 0, 0, 0), "equal"),
        ("gdm", 0.9, 1, (1.0,), "isotropic"),
        ("adam", 0.5, 1, (1.0,), "isotropic"),
    ],
)
