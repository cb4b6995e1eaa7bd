"""Replay of the declared recursion: an optimizer's iterates against its own queries of f.

The guard records every point at which one step of the subject evaluated f and the value f
returned.  With the declared scheme, radius, q and scale those records define the estimate
the step must have formed (z_k = u_k / mu from the offsets u_k of the queries around the
current iterate):

    central  g = scale (1/q) sum_k (f(x + mu z_k) - f(x - mu z_k)) / (2 mu) z_k
    forward  g = scale (1/q) sum_k (f(x + mu z_k) - f(x)) / mu z_k

Running the declared method's recursion on these g_t from x0 (GD: x - lr g; heavy ball:
m = beta m + g, x - lr m; Adam: m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
x - lr m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t))
must give the subject's x_t at every step up to rounding.  The rounding allowance is a
first-order running error bound (Higham, Accuracy and Stability of Numerical Algorithms,
Sections 2.2 and 3.1: fl(a op b) = (a op b)(1 + delta), |delta| <= u, and a sum of n terms
is off by at most gamma_n times the sum of their magnitudes), carried through the same
recursion for the subject's evaluation and the replay's; docs/audit.md#replay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from zoverify.claims.audit.common import optimizer_subject, replicate_seeds
from zoverify.claims.audit.optimizer import method_params, path_problem
from zoverify.verify.claim import Claim
from zoverify.verify.decision import Exact
from zoverify.verify.params import Param
from zoverify.verify.registry import register

#: the unit roundoff of float64
U = np.finfo(np.float64).eps / 2


@dataclass(frozen=True)
class Recursion:
    """One update rule: the declared method, or a near miss of it."""

    method: str
    lr: float
    beta: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    ema: bool = False  # heavy ball written m = beta m + (1 - beta) g
    bias_correction: bool = True  # adam's m / (1 - beta1^t), v / (1 - beta2^t)


def declared_recursion(ctx, *, lr: float) -> Recursion:
    """The recursion the claim's parameters declare."""
    return Recursion(ctx["method"], lr, beta=ctx["beta"], beta2=ctx["beta2"], eps=ctx["eps"])


def estimate_from_queries(
    x: np.ndarray, points, values, *, scheme: str, mu: float, queries: int, scale: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """(g, E): the declared estimate formed from one step's queries of f around x, and a bound E on
    |the subject's g - this g| per component; None when the queries are not the declared pattern.
    """
    P = np.asarray(points, float).reshape(len(points), -1) - x
    vals = np.asarray(values, float)
    if scheme == "central":
        if len(P) != 2 * queries or not np.allclose(P[0::2], -P[1::2], rtol=1e-6, atol=0.0):
            return None
        offsets, c = P[0::2], (vals[0::2] - vals[1::2]) / (2 * mu)
    else:
        at_x = np.all(P == 0, axis=1)
        if len(P) != queries + 1 or not at_x.any():
            return None
        # the first query at x is the base; any other is a zero direction (a sparse law's), worth 0
        base = int(np.argmax(at_x))
        offsets, c = np.delete(P, base, axis=0), (np.delete(vals, base) - vals[base]) / mu
    z = offsets / mu
    g = scale * (c @ z) / queries
    # the direction recovered from a query point: the subject rounded mu z and x + mu z, the replay
    # rounds p - x and u / mu, so |z_replay - z| <= u (|x| / mu + 4 |z|) per entry
    dz = U * (np.abs(x) / mu + 4 * np.abs(z))
    terms = abs(scale) / queries * (np.abs(c) @ np.abs(z))
    # per evaluation: c to 2u (a difference, a division), the q-term sum to gamma_q, / q and x scale: 2u
    bound = 2 * (queries + 4) * U * terms + abs(scale) / queries * (np.abs(c) @ dz)
    return g, bound


def replay(x0: np.ndarray, estimates, rec: Recursion) -> tuple[np.ndarray, np.ndarray]:
    """(path, bound), each (T, d): x_t of ``rec`` driven by the estimates g_t, and a first-order bound on
    |a second evaluation of the same recursion - this one|, given bounds E_t on the two g_t's difference.

    Every operation adds u |its result| per evaluation (two evaluations: the subject's and this one), a
    constant derived from a declared one (1 - beta, beta^t) its own rounding; errors then propagate
    through the recursion's linearisation.
    """
    x = np.array(x0, float)
    m, v = np.zeros_like(x), np.zeros_like(x)
    ex, em, ev = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    path, bound = [], []
    for t, (g, eg) in enumerate(estimates, start=1):
        if rec.method == "gd":
            step, estep = rec.lr * g, rec.lr * eg
        elif rec.method == "gdm":
            w = (1 - rec.beta) if rec.ema else 1.0
            m_new = rec.beta * m + w * g
            em = rec.beta * em + w * eg + 2 * U * (rec.beta * np.abs(m) + 3 * w * np.abs(g) + np.abs(m_new))
            m = m_new
            step, estep = rec.lr * m, rec.lr * em
        else:
            b1, b2 = 1 - rec.beta, 1 - rec.beta2
            m_new = rec.beta * m + b1 * g
            em = rec.beta * em + b1 * eg + 2 * U * (rec.beta * np.abs(m) + 3 * b1 * np.abs(g) + np.abs(m_new))
            g2, eg2 = g * g, 2 * np.abs(g) * eg + 2 * U * g * g
            v_new = rec.beta2 * v + b2 * g2
            ev = rec.beta2 * ev + b2 * eg2 + 2 * U * (rec.beta2 * v + 3 * b2 * g2 + v_new)
            m, v = m_new, v_new
            if rec.bias_correction:
                # 1 - beta^t: beta^t by pow or by t products (t u beta^t), then the difference (u)
                c1, c2 = 1 - rec.beta**t, 1 - rec.beta2**t
                rel1 = 2 * U * ((t + 1) * rec.beta**t + c1) / c1 + 2 * U
                rel2 = 2 * U * ((t + 1) * rec.beta2**t + c2) / c2 + 2 * U
                mh, emh = m / c1, em / c1 + np.abs(m / c1) * rel1
                vh, evh = v / c2, ev / c2 + np.abs(v / c2) * rel2
            else:
                mh, emh, vh, evh = m, em, v, ev
            s = np.sqrt(vh)
            # |sqrt a - sqrt b| = |a - b| / (sqrt a + sqrt b) <= min(|a - b| / s, sqrt|a - b|)
            with np.errstate(divide="ignore"):
                es = np.minimum(np.where(s > 0, evh / np.where(s > 0, s, 1.0), np.inf), np.sqrt(evh)) + 2 * U * s
            den = s + rec.eps
            r = mh / den
            er = emh / den + np.abs(mh) * (es + 2 * U * den) / den**2 + 2 * U * np.abs(r)
            step, estep = rec.lr * r, rec.lr * er
        x_new = x - step
        ex = ex + estep + 2 * U * (np.abs(step) + np.abs(x_new))
        x = x_new
        path.append(x.copy())
        bound.append(ex.copy())
    return np.asarray(path), np.asarray(bound)


def near_misses(rec: Recursion) -> list[tuple[str, Recursion]]:
    """The slips a replay must tell from the declared rule: lr 1 % off, and the method's own misspellings."""
    out = [(f"lr x{f:.3g}", replace(rec, lr=rec.lr * f)) for f in (1.01, 0.99)]
    if rec.method == "gdm":
        out.append(("m = beta m + (1 - beta) g", replace(rec, ema=True)))
    if rec.method == "adam":
        out.append(("Adam without bias correction", replace(rec, bias_correction=False)))
    return out


# ------------------------------------------------------------------ the claim
def _problem(ctx):
    """f = (x - x*)^T A (x - x*) / 2 and x0, drawn as the mean-path claim draws them."""
    A, x_min, x0 = path_problem(ctx)

    def f(y):
        e = y - x_min
        return float(0.5 * e @ A @ e)

    return f, x0


def _largest(so_far: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """Per step (row), the signed entry largest in magnitude among ``so_far`` and the row of ``ratios``."""
    pick = ratios[np.arange(len(ratios)), np.argmax(np.abs(ratios), axis=1)]
    return np.where(np.abs(pick) > np.abs(so_far), pick, so_far)


def _run(ctx):
    """(deviations (T + 1,), near misses [(name, deviations)]) in units of the rounding bound, worst over instances.

    Component t < T: of (x_t(subject) - x_t(replay)) / bound_t over entries and instances, the value largest in
    magnitude, with its sign (lr x 1.01 and x 0.99 move x_t by the same amount to opposite sides); the last
    component counts the steps whose queries are not the declared pattern (an instance's replay stops there).
    """
    f, x0 = _problem(ctx)
    subject = optimizer_subject(ctx)
    rec = declared_recursion(ctx, lr=ctx["lr"])
    misses = near_misses(rec)
    T = ctx["steps"]
    worst = np.zeros(T)
    alt = np.zeros((len(misses), T))
    off_pattern = 0
    for seed in replicate_seeds(ctx, ctx["instances"], stream=1):
        run = subject.instance(x0, rec.lr, int(seed))
        x, xs, estimates = np.array(x0, float), [], []
        for _ in range(T):
            x_next = run.step(f)
            est = estimate_from_queries(
                x,
                run.log.points,
                run.log.values,
                scheme=ctx["scheme"],
                mu=ctx["mu"],
                queries=ctx["queries"],
                scale=ctx["scale"],
            )
            if est is None:
                off_pattern += 1
                break
            estimates.append(est)
            xs.append(x_next)
            x = x_next
        if not estimates:
            continue
        n = len(estimates)
        path, bound = replay(x0, estimates, rec)
        worst[:n] = _largest(worst[:n], (np.asarray(xs) - path) / bound)
        for k, (_, miss) in enumerate(misses):
            other, _ = replay(x0, estimates, miss)
            alt[k, :n] = _largest(alt[k, :n], (other - path) / bound)
    named = [(name, np.append(alt[k], 0.0)) for k, (name, _) in enumerate(misses)]
    return np.append(worst, off_pattern), named


_LAST: list = [None, None]  # (ctx, near misses) of the last simulation: the controls are judged on the same data


def _simulate(ctx):
    deviations, named = _run(ctx)
    _LAST[:] = [ctx, named]
    # deviations are in units of their bound; the count of off-pattern steps is exact
    return deviations, np.append(np.ones(ctx["steps"]), 0.0)


def _controls(ctx, pred):
    """A subject running a near miss deviates from the declared replay by what the near miss's replay does,
    so each near miss predicts those deviations; one step off the pattern is the queries' control."""
    named = _LAST[1] if _LAST[0] is ctx else _run(ctx)[1]
    return [*named, ("one step queried off the declared pattern", np.append(np.zeros(ctx["steps"]), 1.0))]


def _labels(ctx):
    return [
        *(f"step {t}: (x_t - replay) / rounding bound, largest entry" for t in range(1, ctx["steps"] + 1)),
        f"steps whose queries are not a {ctx['scheme']} difference with q = {ctx['queries']}",
    ]


#: the default check replays ZO-GD, ZO heavy ball (beta 0.5, q 4, scale 1/2) and ZO-Adam with a forward scheme
_VARIANTS = (
    ("audit.optimizer_replay", {}),
    ("audit.optimizer_replay_gdm", {"method": "gdm", "beta": 0.5, "queries": 4, "scale": 0.5}),
    ("audit.optimizer_replay_adam", {"method": "adam", "scheme": "forward", "queries": 2}),
)

for _name, _setting in _VARIANTS:
    register(
        Claim(
            name=_name,
            dim_param="dim",
            predict=lambda ctx: np.zeros(ctx["steps"] + 1),
            simulate=_simulate,
            test=Exact(),
            laws=("gaussian", "rademacher"),
            num_samples=1,
            params=method_params(
                6,
                setting=_setting,
                lr=Param(0.02, "the optimizer's step size", low=1e-12),
                steps=Param(10, "steps replayed per instance", low=1, high=10_000, integer=True),
                instances=Param(8, "instances (seeds) replayed", low=1, integer=True),
            ),
            labels=_labels,
            negative_alternatives=_controls,
        )
    )
