"""What an estimator behaves like, read from its own data: the queries it makes of f and its outputs.

* scheme and q: central queries come in pairs x +- u around the point, a forward scheme
  queries x itself and one point per direction;
* radius and law: the offsets u = mu z; mu^2 = E||u||^2 / tr E[zz^T] (d for the catalogue's
  standard laws), then the candidate laws are compared on E z_1^4 and E||z||^4 (their exact
  values from the moment maps) with z-scores from the sample;
* scale: s = <g, M2 v> / ||M2 v||^2 averaged over calls, with a batch-means interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from zoverify._errors import ZoverifyError
from zoverify.claims.audit.common import fourth_moment, second_moment
from zoverify.perturbations import parse_law
from zoverify.subjects import EstimatorSubject

#: the laws an estimator is compared with when its law is not declared
CANDIDATES = ("gaussian", "rademacher", "sphere", "uniform", "laplace(b=0.7071067811865476)", "coordinate")


@dataclass
class Inferred:
    """What the data say the subject is (None where the data could not tell)."""

    scheme: str | None = None
    queries: int | None = None
    mu: float | None = None
    law: str | None = None
    law_fit: dict = field(default_factory=dict)
    scale: float | None = None
    scale_interval: tuple[float, float] | None = None
    top_eigen_share: float | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line: 'behaves like: rademacher, central, q = 1, mu 0.01, scale 0.500 +- 0.004'."""
        parts = [self.law or "law unknown", self.scheme or "scheme unknown"]
        parts.append(f"q = {self.queries}" if self.queries else "q unknown")
        if self.mu is not None:
            parts.append(f"mu {self.mu:.3g}")
        if self.scale is not None and self.scale_interval is not None:
            half = (self.scale_interval[1] - self.scale_interval[0]) / 2
            parts.append(f"scale {self.scale:.3f} ± {half:.3f}")
        return "behaves like: " + ", ".join(parts)


def infer_estimator(
    subject: EstimatorSubject, f, x: np.ndarray, v: np.ndarray, *, dim: int, calls: int, instances: int, seeds, law=None
) -> Inferred:
    """Run ``instances`` x ``calls`` estimates at x and read scheme, q, mu, law and scale from them."""
    out = Inferred()
    outputs, offsets, schemes, qs = [], [], set(), set()
    for seed in seeds[:instances]:
        estimate = subject.instance(dim, int(seed))
        for _ in range(calls):
            outputs.append(estimate(f, x))
            scheme, q, u = estimate.log.pattern(x)
            schemes.add(scheme)
            qs.add(q)
            offsets.append(u)
    if len(schemes) == 1 and None not in schemes:
        out.scheme = schemes.pop()
    else:
        out.notes.append("its queries follow neither a central nor a forward pattern")
    if len(qs) == 1 and None not in qs:
        out.queries = int(qs.pop())
    U = np.concatenate(offsets) if offsets else np.zeros((0, dim))
    if out.scheme is not None and len(U):
        law_obj = parse_law(law) if law is not None else None
        tr = float(np.trace(second_moment(law_obj, dim))) if law_obj is not None else float(dim)
        out.mu = float(np.sqrt(np.mean(np.sum(U**2, axis=1)) / tr))
        Z = U / out.mu
        out.law, out.law_fit = _closest_law(Z, dim, also=() if law is None else (law,))
    G = np.asarray(outputs)
    law_for_scale = parse_law(law if law is not None else (out.law or "gaussian"))
    p = second_moment(law_for_scale, dim) @ v
    ratios = G @ p / (p @ p)
    out.scale, out.scale_interval = _batch_interval(ratios)
    second = G.T @ G / len(G)
    eig = np.linalg.eigvalsh(second)
    out.top_eigen_share = float(eig[-1] / max(eig.sum(), 1e-300))
    return out


def _batch_interval(values: np.ndarray, *, batches: int = 32, level: float = 0.99) -> tuple[float, tuple[float, float]]:
    m = len(values) // batches
    means = values[: m * batches].reshape(batches, m).mean(1)
    se = means.std(ddof=1) / np.sqrt(batches)
    half = float(stats.t(batches - 1).isf((1 - level) / 2) * se)
    centre = float(means.mean())
    return centre, (centre - half, centre + half)


#: a law whose z-score exceeds this is rejected (two moments, two sides, 1e-4 in all): a declared law that is
#: right is called wrong with probability <= 1e-4, far below the audit's alpha
LAW_CRITICAL = float(stats.norm.isf(1e-4 / 4))


def _closest_law(Z: np.ndarray, dim: int, *, also: tuple[str, ...] = ()) -> tuple[str | None, dict]:
    """The candidate whose E z_1^4 and E||z||^4 (exact) best match the sample; None if all are rejected.

    ``also``: further laws (a declared one) scored beside the candidates.  The Gaussian, a candidate, has both
    moments at every dimension, so some law is always scored.
    """
    n = len(Z)
    z4 = (Z**4).mean(1)  # the mean over coordinates of z_i^4: E z_1^4 for exchangeable laws
    n4 = np.sum(Z**2, axis=1) ** 2
    fit = {}
    eye = np.eye(dim)
    for spec in dict.fromkeys((*CANDIDATES, *also)):
        law = parse_law(spec)
        try:
            e11 = fourth_moment(law, dim, np.outer(eye[0], eye[0]))[0, 0]
            en4 = float(np.trace(fourth_moment(law, dim, eye)))
        except ZoverifyError:  # a law without these moments at this dimension is no candidate
            continue
        scores = [
            abs(z4.mean() - e11) / max(z4.std(ddof=1) / np.sqrt(n), 1e-12),
            abs(n4.mean() - en4) / max(n4.std(ddof=1) / np.sqrt(n), 1e-12),
        ]
        fit[law.spec] = float(max(scores))
    best = min(fit, key=lambda k: fit[k])
    return (best if fit[best] <= LAW_CRITICAL else None), fit


__all__ = ["CANDIDATES", "LAW_CRITICAL", "Inferred", "infer_estimator"]
