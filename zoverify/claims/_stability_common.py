"""Shared parts of the stability claims: reference spectra, rotated instances, eta*
from the spectral formula and from the exact operator, and the bound test."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from zoverify._errors import NotApplicableError
from zoverify.claims._claim import Claim, Context
from zoverify.claims._registry import register
from zoverify.claims._stats import Decision, Exact, ExactSummary
from zoverify.numeric.stability_operator import DenseOperator, StructuredOperator
from zoverify.symbolic.stability import (
    fourth_moment_form,
    spectral_eta_star,
    spectral_setting,
)

REFERENCE_SPECTRUM = (5.0, 3.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1)
SMALL_SPECTRUM = (5.0, 3.0, 1.5, 0.8, 0.3, 0.1)  # for the dense momentum operator (3 d^2 states)
# Root finding is Brent to 4 eps on a radius whose Perron root is simple; observed
# agreement is ~1e-14 relative, so 1e-9 (the requirement) leaves a margin.
REL_TOL = 1e-9
SOURCE = "theory.md §3.4-3.5 (arXiv 2604.14669, Thms 1-3, Table 1)"
ROTATION_INVARIANT_LAWS = ("gaussian", "sphere")


def haar_rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix with the sign fix)."""
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def rotated(spectrum, Q: np.ndarray) -> np.ndarray:
    lam = np.zeros(Q.shape[0])
    lam[: len(spectrum)] = spectrum
    return (Q * lam) @ Q.T


def law_setting(law, spectrum, *, d, method="gd", beta=0.0, q=1):
    """(setting, is_rotation_invariant): the law's own constants, else its diagonal-H ones."""
    try:
        return spectral_setting(law, method=method, beta=beta, q=q, d=d), True
    except NotApplicableError as exc:
        if "not rotation invariant" not in str(exc):
            raise
        return spectral_setting(law, method=method, beta=beta, q=q, d=d, diagonal_hessian=True), False


def eta_formula(law, spectrum, *, d, method="gd", beta=0.0, q=1) -> float:
    setting, _ = law_setting(law, spectrum, d=d, method=method, beta=beta, q=q)
    return float(spectral_eta_star(spectrum, setting))


@lru_cache(maxsize=256)
def _eta_operator(law, H_bytes: bytes, d: int, method: str, beta: float, q: int, solver: str,
                  P_bytes: bytes | None = None) -> float:
    H = np.frombuffer(H_bytes).reshape(d, d)
    P = None if P_bytes is None else np.frombuffer(P_bytes).reshape(d, d)
    if solver == "dense":
        return DenseOperator(law, H, method=method, beta=beta, q=q, P=P).eta_star()
    return StructuredOperator(law, H, method=method, beta=beta, q=q, P=P).eta_star()


def eta_operator(law, H, *, method="gd", beta=0.0, q=1, solver="dense", P=None) -> float:
    """Exact eta* of the law's operator (cached: claims and labels share the work)."""
    H = np.ascontiguousarray(H, dtype=float)
    Pb = None if P is None else np.ascontiguousarray(P, dtype=float).tobytes()
    return _eta_operator(law, H.tobytes(), H.shape[0], method, float(beta), int(q), solver, Pb)


def rotated_instance(ctx: Context, spectrum, d: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(H = Q diag(spectrum) Q^T, Q) with Q Haar-random from the instance generator."""
    d = d or len(spectrum)
    Q = haar_rotation(ctx.instance_rng(), d)
    return rotated(spectrum, Q), Q


def counterexample(law, spectrum, H_rot, *, method="gd", beta=0.0, q=1, solver="dense") -> str:
    """Text naming the two eta* with the same spectrum, or '' for rotation-invariant laws."""
    try:
        fourth_moment_form(law, sp.Integer(len(H_rot)))
    except NotApplicableError:
        return ""
    if law.rotation_invariant:
        return ""
    d = H_rot.shape[0]
    lam = np.zeros(d)
    lam[: len(spectrum)] = spectrum
    e_diag = eta_operator(law, np.diag(lam), method=method, beta=beta, q=q, solver=solver)
    e_rot = eta_operator(law, H_rot, method=method, beta=beta, q=q, solver=solver)
    return (f" [counter-example, law {law.spec} is not rotation invariant: spectrum {tuple(spectrum)}, "
            f"diagonal H -> eta*={e_diag:.8g}, rotated H (Haar, instance seed) -> eta*={e_rot:.8g}]")


def needs_structured_form(law) -> str | None:
    try:
        fourth_moment_form(law)
    except NotApplicableError as exc:
        return str(exc)
    return None


def exact_values(values, preds_for_tol):
    """(values, tolerance) for the Exact test: REL_TOL relative to the predictions."""
    values = np.asarray(values, float)
    return values, REL_TOL * np.abs(np.asarray(preds_for_tol, float))


class BoundSummary(ExactSummary):
    """Passes iff est >= lower (first half) and est <= upper (second half), relative slack REL_TOL."""

    def decide(self, prediction, *, alpha, bias=None):
        pred = np.asarray(prediction, float).reshape(self.estimate.shape)
        half = pred.size // 2
        lo_ok = self.estimate[:half] >= pred[:half] * (1 - REL_TOL)
        hi_ok = self.estimate[half:] <= pred[half:] * (1 + REL_TOL)
        ok = np.concatenate([lo_ok, hi_ok])
        # accepted region [lower, +inf) / (-inf, upper], written with a finite 1e300 so reports stay
        # JSON-safe; a violated component gets a zero-width interval so the message names it
        low = np.where(ok, np.concatenate([pred[:half], pred[half:] - 1e300]), pred)
        high = np.where(ok, np.concatenate([pred[:half] + 1e300, pred[half:]]), pred)
        # smallest relative raise of the predictions that the test rejects: set by the tightest
        # lower bound (the equal-eigenvalue cases attain it), so a (1 + delta) control is meaningful
        lows, ests = pred[:half], self.estimate[:half]
        pos = lows > 0
        mde = float(np.min(ests[pos] / (lows[pos] * (1 - REL_TOL))) - 1) if pos.any() else None
        return Decision(bool(lo_ok.all() and hi_ok.all()), None, low, high, max(mde, 0.0) if mde is not None else None)


class BoundTest(Exact):
    """Inequality check: the experiment returns eta* twice (against lower and upper bounds)."""

    def summarize(self, observed, *, variance=None):
        values = np.atleast_1d(np.asarray(observed, float))
        return BoundSummary(np.concatenate([values, values]), np.zeros(2 * values.size), method="bounds")


def exact_claim(name, statement, pid, *, status, predict, simulate, labels, test=None,
                laws=ROTATION_INVARIANT_LAWS, applies_to=needs_structured_form, **options) -> Claim:
    """Register a deterministic (one-observation) claim of this family."""
    return register(Claim(
        name=name, statement=statement, source=f"{SOURCE}, {pid}", status=status, predict=predict,
        simulate=simulate, test=Exact() if test is None else test, laws=laws, labels=labels, num_samples=1,
        applies_to=applies_to, **options,
    ))
