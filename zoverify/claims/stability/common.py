"""Shared parts of the stability claims: reference spectra, rotated instances, eta*
from the spectral formula and from the exact operator, and the bound test."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from zoverify._errors import (
    InvalidParameterError,
    NotApplicableError,
    NotRotationInvariantError,
)
from zoverify.numeric.stability_operator import DenseOperator, StructuredOperator
from zoverify.perturbations import parse_law
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.symbolic.stability import (
    SpectralSetting,
    fourth_moment_form,
    spectral_eta_star,
    spectral_setting,
)
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import Exact
from zoverify.verify.registry import register

REFERENCE_SPECTRUM = (5.0, 3.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1)
SMALL_SPECTRUM = (5.0, 3.0, 1.5, 0.8, 0.3, 0.1)  # for the dense momentum operator (3 d^2 states)
# Root finding is Brent to 4 eps on a radius whose Perron root is simple; observed
# agreement is ~1e-14 relative, so 1e-9 (the required agreement) leaves a margin.
REL_TOL = 1e-9
ROTATION_INVARIANT_LAWS = ("gaussian", "sphere")


def haar_rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix with the sign fix)."""
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def rotated(spectrum, Q: np.ndarray) -> np.ndarray:
    """Q diag(spectrum, 0, ...) Q^T: a Hessian with the given nonzero spectrum in the basis Q."""
    lam = np.zeros(Q.shape[0])
    lam[: len(spectrum)] = spectrum
    return (Q * lam) @ Q.T


DIM_SEARCH = 64  # a law that refuses d is tried at d + 1, ..., d + DIM_SEARCH


def claim_dim(law, d: int) -> int:
    """The smallest dimension >= d that the law accepts (its fixed dimension if it has one)."""
    if getattr(law, "fixed_dim", None) is not None:
        if law.fixed_dim < d:
            raise NotApplicableError(f"law {law.spec} has dimension {law.fixed_dim}, below the {d} this claim needs")
        return int(law.fixed_dim)
    for n in range(d, d + DIM_SEARCH + 1):
        try:
            law.check_dim(n)
            return n
        except InvalidParameterError:
            continue
    raise NotApplicableError(f"law {law.spec} accepts no dimension in [{d}, {d + DIM_SEARCH}]")


def law_spectrum(law, spectrum, *, fill: float = 0.0) -> tuple[float, ...]:
    """``spectrum`` padded with ``fill`` up to a dimension the law accepts."""
    n = claim_dim(law, len(spectrum))
    return tuple(spectrum) + (fill,) * (n - len(spectrum))


def second_moment_scale(law, d: int) -> float:
    """c with E[zz^T] = c I (NotApplicable otherwise): the scale every spectral formula assumes."""
    M2 = evaluate(law.second_moment(sp.Integer(d)), {S.d: d})
    if not np.allclose(M2, M2[0, 0] * np.eye(d), atol=0, rtol=1e-14):
        raise NotApplicableError(f"law {law.spec}: E[zz^T] is not c I, so no spectral formula of the paper applies")
    return float(M2[0, 0])


def law_setting(law, *, d, method="gd", beta=0.0, q=1):
    """(setting, kind): the gain-formula constants a spectrum-only statement uses for ``law``.

    kind "rotation-invariant": the law's own constants (exact for any eigenbasis);
    "diagonal": constants exact for H diagonal in the coordinate basis (fourth moment with
    a Diag term); "paper": a law whose fourth moment has no (tr, A, Diag) form gets the
    paper's Gaussian constants with H scaled by c (E[zz^T] = c I): the spectrum-only
    formula as printed, tested as it stands.
    """
    try:
        return spectral_setting(law, method=method, beta=beta, q=q, d=d), "rotation-invariant"
    except NotRotationInvariantError:
        return spectral_setting(law, method=method, beta=beta, q=q, d=d, diagonal_hessian=True), "diagonal"
    except NotApplicableError:
        c = second_moment_scale(law, d)
        g = spectral_setting(parse_law("gaussian"), method=method, beta=beta, q=q, d=d)
        return SpectralSetting(g.kappa_g, g.kappa_s, g.beta, g.s * c), "paper"


def eta_formula(law, spectrum, *, d, method="gd", beta=0.0, q=1) -> float:
    """eta* from the spectral gain formula for ``law`` at dimension d (no operator is built)."""
    setting, _ = law_setting(law, d=d, method=method, beta=beta, q=q)
    return float(spectral_eta_star(spectrum, setting))


@lru_cache(maxsize=256)
def _eta_operator(
    law, H_bytes: bytes, d: int, method: str, beta: float, q: int, solver: str, P_bytes: bytes | None = None
) -> float:
    H = np.frombuffer(H_bytes).reshape(d, d)
    P = None if P_bytes is None else np.frombuffer(P_bytes).reshape(d, d)
    if solver == "dense":
        return DenseOperator(law, H, method=method, beta=beta, q=q, P=P).eta_star()
    return StructuredOperator(law, H, method=method, beta=beta, q=q, P=P).eta_star()


def has_structured_form(law, d: int) -> bool:
    """Whether the law's moments have the structured form c I, a tr(A) I + b A + e Diag(A) at dimension d."""
    try:
        fourth_moment_form(law, sp.Integer(d))
        return True
    except NotApplicableError:
        return False


def eta_operator(law, H, *, method="gd", beta=0.0, q=1, solver="dense", P=None) -> float:
    """Exact eta* of the law's operator (cached: claims and labels share the work).

    ``solver="structured"`` falls back to the dense operator for a law without the
    (tr, A, Diag) fourth-moment form (the dense one takes any law's maps).
    """
    H = np.ascontiguousarray(H, dtype=float)
    if solver == "structured" and not has_structured_form(law, H.shape[0]):
        solver = "dense"
    Pb = None if P is None else np.ascontiguousarray(P, dtype=float).tobytes()
    return _eta_operator(law, H.tobytes(), H.shape[0], method, float(beta), int(q), solver, Pb)


def rotated_instance(ctx: Context, spectrum, d: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(H = Q diag(spectrum) Q^T, Q) with Q Haar-random from the instance generator (d: the law's, >= len)."""
    d = d or claim_dim(ctx.law, len(spectrum))
    Q = haar_rotation(ctx.instance_rng(), d)
    return rotated(spectrum, Q), Q


def counterexample(law, spectrum, H_rot, *, method="gd", beta=0.0, q=1, solver="dense") -> str:
    """Text naming the two eta* with the same spectrum, or '' for rotation-invariant laws."""
    if law.rotation_invariant:
        return ""
    if has_structured_form(law, H_rot.shape[0]) and fourth_moment_form(law, sp.Integer(H_rot.shape[0])).e == 0:
        return ""  # no Diag term: eta* is a function of the spectrum
    d = H_rot.shape[0]
    lam = np.zeros(d)
    lam[: len(spectrum)] = spectrum
    e_diag = eta_operator(law, np.diag(lam), method=method, beta=beta, q=q, solver=solver)
    e_rot = eta_operator(law, H_rot, method=method, beta=beta, q=q, solver=solver)
    return (
        f" [counter-example, law {law.spec} is not rotation invariant: spectrum {tuple(spectrum)}, "
        f"diagonal H -> eta*={e_diag:.8g}, rotated H (Haar, instance seed) -> eta*={e_rot:.8g}]"
    )


def any_law(law) -> str | None:
    """Every law whose draws are independent across steps is decided (through the dense
    operator where the structured form is missing).

    The family's statements are about ZO-GD with a fresh direction every step; a
    cyclic block order draws dependent directions within an epoch, and its mean-square
    stability is that of the epoch map, which structured.bcd_decay decides.
    """
    if not getattr(law, "independent_draws", True):
        return (
            f"law {law.spec} draws dependent directions within an epoch (a cyclic order); these claims are "
            "about a fresh direction every step (the cyclic schedule's epoch map: structured.bcd_decay)"
        )
    return None


def exact_values(values, preds_for_tol):
    """(values, tolerance) for the Exact test: REL_TOL relative to the predictions."""
    values = np.asarray(values, float)
    return values, REL_TOL * np.abs(np.asarray(preds_for_tol, float))


def exact_claim(
    name, *, predict, simulate, labels, test=None, laws=ROTATION_INVARIANT_LAWS, applies_to=any_law, **options
) -> Claim:
    """Register a deterministic (one-observation) claim of this family."""
    return register(
        Claim(
            name=name,
            predict=predict,
            simulate=simulate,
            test=Exact() if test is None else test,
            laws=laws,
            labels=labels,
            num_samples=1,
            applies_to=applies_to,
            **options,
        )
    )
