"""The mean-square stable ZO step eta* of a user's torch model, matrix-free (docs/stepsize.md).

Per law, one of three routes (the result says which):

* ``spectrum formula on SLQ density``: laws whose eta* is a function of the spectrum
  (structured fourth moment with e = 0: Gaussian, sphere).  The gain formula
  sum_i g_i(eta) = 1 (docs/stability.md#the-gain-formula; Eqs. 16, 18 of arXiv 2604.14669)
  is a trace, tr g(H_+; eta) = 1, estimated per Rademacher probe by Lanczos quadrature.
  The interval inverts the probes' t-test of "the trace is 1" at each eta, widened by the
  quadrature-error estimate.
* ``exact operator``: other laws at d <= ``exact_max_dim``: the dense Hessian (d products),
  its positive part and the law's exact mean-square operator.
* ``bounds``: other laws above that size: comparison bounds in the cone order
  (docs/stepsize.md#bounds) from the same SLQ density, and the mean threshold.

H_+ = V max(Lambda, 0) V^T throughout: negative eigenvalues are clipped to 0, as in
zoverify/numeric/eos_curvature.py (the negative directions are unstable for every step
at the same slow rate, so they do not move the edge).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sympy as sp
import torch
from scipy import stats

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify.numeric._compat import brentq
from zoverify.numeric.curvature import (
    ParameterHessian,
    ProbeQuadratures,
    slq_probes,
    time_forward_backward,
    top_eigenvalues,
)
from zoverify.numeric.descent import (
    GradientCurvature,
    MeanInterval,
    descent_edge,
    edge_interval,
    gradient_curvature,
    hutchinson_samples,
    probes_for_trace,
)
from zoverify.numeric.difference import DIFFERENCE_DIRECTIONS, REMEDY, DifferenceError, difference_error
from zoverify.perturbations import parse_law
from zoverify.symbolic.stability import SpectralSetting, first_order_threshold, fourth_moment_form

ROUTE_SPECTRAL = "spectrum formula on SLQ density"
ROUTE_EXACT = "exact operator on the dense Hessian's positive part"
ROUTE_BOUNDS = "bounds"
ROUTE_DESCENT_ONLY = "descent edge only, no quadrature"

DEFAULT_LAWS = ("gaussian", "sphere")
CONFIDENCE = 0.95  # of every interval
PILOT_PROBES = 10  # probes before the count is chosen from their spread
MAX_PROBES = 4000
LANCZOS_STEPS = 40  # per probe; the half-run rule estimates the quadrature error left
MINIBATCH_DRAWS = 32  # minibatch gradients behind E ||g_B||^2 and E g_B^T H g_B
MAX_LANCZOS_STEPS = 80  # the basis is kept for reorthogonalization: steps x d float64 numbers
TOP_STEPS = 60  # Lanczos steps for lambda_max and the top eigenvalues
DESCENT_TOP_STEPS = 20  # descent-only runs: lambda_max serves the first-order comparison and the curvature check
EXACT_MAX_DIM = 1000  # the exact operator costs O(d^3) per secular evaluation: ~20 s at d = 650 on one core


# ---------------------------------------------------------------- the gain formula
def gain_terms(eta: float, nodes: np.ndarray, setting: SpectralSetting) -> np.ndarray:
    """g(max(lambda, 0); eta) of the gain formula, elementwise (docs/stability.md#the-gain-formula)."""
    lam = np.clip(nodes, 0.0, None)
    b = setting.beta
    den = 2 * (1 - b**2) - eta * lam * setting.s * setting.curvature
    return eta * setting.kappa_g * lam * setting.s * (1 + b) / den


def gain_elasticity(eta: float, nodes: np.ndarray, setting: SpectralSetting) -> np.ndarray:
    """eta dg/deta = g * 2(1 - b^2)/den: the sensitivity that turns an error in the sum into one in eta."""
    lam = np.clip(nodes, 0.0, None)
    b = setting.beta
    full = 2 * (1 - b**2)
    return gain_terms(eta, nodes, setting) * full / (full - eta * lam * setting.s * setting.curvature)


def pole(setting: SpectralSetting, lambda_max: float) -> float:
    """The first eta where the top mode's denominator vanishes (inf when its coefficient is <= 0)."""
    coef = lambda_max * setting.s * setting.curvature
    return 2 * (1 - setting.beta**2) / coef if coef > 0 else math.inf


def weighted_eta_star(nodes, weights, setting: SpectralSetting, *, lambda_max: float, target: float = 1.0) -> float:
    """Root of sum_k w_k g(lambda_k; eta) = target below the pole (the pole itself if the sum stays below)."""
    nodes, weights = np.ravel(nodes), np.ravel(weights)
    return _first_root(lambda eta: float(weights @ gain_terms(eta, nodes, setting)) - target, setting, lambda_max)


def _first_root(h: Callable[[float], float], setting: SpectralSetting, lambda_max: float) -> float:
    if setting.kappa_g <= 0:
        return pole(setting, lambda_max)
    hi = pole(setting, lambda_max)
    if math.isinf(hi):
        hi = 1.0 / max(lambda_max, 1e-300)
        for _ in range(200):
            if h(hi) >= 0:
                break
            hi *= 2
    else:
        hi = hi * (1 - 1e-12)
        if h(hi) < 0:
            return pole(setting, lambda_max)
    lo = hi
    for _ in range(2000):
        lo /= 2
        if h(lo) < 0:
            break
    else:
        raise NotApplicableError("no stable step size found for the estimated spectrum")
    return brentq(h, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps)


@dataclass(frozen=True)
class SpectralEstimate:
    """eta* of one spectral setting from the SLQ probes, with its interval and the parts of its width."""

    eta_star: float
    low: float
    high: float
    standard_error: float  # of the estimated trace sum at eta*
    quadrature_error: float  # |full rule - half rule| at eta*
    elasticity: float  # eta d(sum)/d eta at eta*
    probe_spread: float  # standard deviation of one probe's sum at eta*


def spectral_estimate(
    quad: ProbeQuadratures, setting: SpectralSetting, *, lambda_max: float, confidence: float = CONFIDENCE
) -> SpectralEstimate:
    """eta* where the probes' mean of tr g(H_+; eta) is 1; interval {eta : |mean - 1| <= t se + quadrature error}."""
    m = quad.num_probes
    t = float(stats.t(m - 1).isf((1 - confidence) / 2))

    def per_probe(eta, nodes, weights):
        return np.sum(weights * gain_terms(eta, nodes, setting), axis=1)

    def parts(eta):
        full = per_probe(eta, quad.nodes, quad.weights)
        half = per_probe(eta, quad.half_nodes, quad.half_weights)
        return float(full.mean()), float(full.std(ddof=1) / math.sqrt(m)), abs(float(np.mean(full - half)))

    eta = _first_root(lambda e: parts(e)[0] - 1.0, setting, lambda_max)

    def widened(sign):
        def h(e):
            mean, se, quad_err = parts(e)
            return mean + sign * (t * se + quad_err) - 1.0

        return h

    low = _first_root(widened(+1), setting, lambda_max)
    high = _first_root(widened(-1), setting, lambda_max)
    mean, se, quad_err = parts(eta)
    spread = se * math.sqrt(m)
    elasticity = float(np.mean(np.sum(quad.weights * gain_elasticity(eta, quad.nodes, setting), axis=1)))
    return SpectralEstimate(eta, min(low, eta), max(high, eta), se, quad_err, elasticity, spread)


def probes_needed(estimate: SpectralEstimate, *, accuracy: float, confidence: float, pilot: int) -> int:
    """Probes for a relative half-width ``accuracy`` by the delta method.

    The interval's half-width is about t * spread / sqrt(m) / elasticity relative to eta*
    (a change dS in the sum moves eta by eta dS / elasticity), so
    m = (t * spread / (accuracy * elasticity))^2, the spread estimated from the pilot probes.
    """
    t = float(stats.t(pilot - 1).isf((1 - confidence) / 2))
    need = (t * estimate.probe_spread / (accuracy * max(estimate.elasticity, 1e-300))) ** 2
    return int(min(MAX_PROBES, max(pilot, math.ceil(need))))


# ---------------------------------------------------------------------- law routes
def structured_setting(c: float, a: float, b: float, *, method: str, beta: float, q: int) -> SpectralSetting:
    """Gain constants of a law with E zz^T = c I and E[zz^T A zz^T] = a tr(A) I + b A (no Diag term).

    kappa_g = a/(q c^2), kappa_s = (b - c^2)/(q c^2) as in zoverify.symbolic.stability.noise_constants.
    """
    beta = 0.0 if method == "gd" else float(beta)
    return SpectralSetting(a / (q * c**2), (b - c**2) / (q * c**2), beta, c)


def mean_threshold_scalar(c: float, lambda_max: float, *, method: str, beta: float) -> float:
    """Stability in the mean (an upper bound on the mean-square eta* by Jensen): FO threshold of c H."""
    return first_order_threshold(c * lambda_max, method=method, beta=beta)


def identity_scale(law, d: int) -> float | None:
    """c when the law's symbolic E zz^T is c I at dimension d, else None (no matrix is formed)."""
    M2 = law.second_moment(sp.Integer(d))
    if isinstance(M2, sp.Identity):
        return 1.0
    if isinstance(M2, sp.MatMul):
        mats = [x for x in M2.args if getattr(x, "is_Matrix", False)]
        if len(mats) == 1 and isinstance(mats[0], sp.Identity):
            return float(sp.Mul(*[x for x in M2.args if not getattr(x, "is_Matrix", False)]).subs(sp.Symbol("d"), d))
    return None


@dataclass
class LawStepsize:
    """eta* for one law: the value, its interval, what was computed, and the curvature it came from."""

    law: str
    route: str
    eta_star: float | None
    eta_star_interval: tuple[float | None, float | None]
    first_order: float
    lambda_max: float
    trace: float
    note: str = ""
    relative_half_width: float | None = None
    descent_edge: float | None = None
    descent_edge_interval: tuple[float | None, float | None] = (None, None)
    #: with ``mu``: the central difference's relative error at mu and 2 mu on the law's directions
    #: (zoverify.numeric.difference), and which error dominates
    difference_error: float | None = None
    difference_error_at_2mu: float | None = None
    difference_cause: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class StepsizeResult:
    """eta* per law for one model, with the shared curvature estimates and the cost."""

    dimension: int
    loss: float
    method: str
    beta: float
    queries: int
    accuracy: float
    confidence: float
    seed: int
    lambda_max: float
    lambda_max_residual: float
    top_eigenvalues: list[float]
    trace: float
    trace_interval: tuple[float, float]
    trace_positive_part: float | None  # None: a descent-only run (no quadrature)
    gradient_norm: float
    gradient_curvature: float  # g^T H g / ||g||^2 (minibatch means E g_B^T H g_B / E ||g_B||^2 when asked)
    minibatch_draws: int  # 0: the descent edges are full-batch ones
    trace_probes: int  # Hutchinson probes behind tr H and the descent edges (the SLQ probes and more)
    quadrature_resolved: bool | None  # False: steps hit their cap before the half-rule gap fit; None: not run
    num_probes: int
    lanczos_steps: int
    hessian_vector_products: int
    seconds: float
    forward_backward_seconds: float
    laws: list[LawStepsize]
    mu: float | None = None  # the finite-difference radius asked about (None: not asked)
    difference_directions: int = 0

    @property
    def cost_in_forward_backward(self) -> float:
        """Wall time of the estimate in units of one forward-backward pass of the loss."""
        return self.seconds / self.forward_backward_seconds

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        out = asdict(self)
        out["cost_in_forward_backward"] = self.cost_in_forward_backward
        return out


def _check_options(method, beta, queries, accuracy, confidence) -> tuple[float, int]:
    from zoverify.numeric.stability_operator import _check_method

    if method not in ("gd", "gdm"):  # a frozen-Adam edge needs a preconditioner this estimate does not have
        raise InvalidParameterError(f"method must be gd or gdm, got {method!r}")
    _, beta, queries = _check_method(method, beta, queries)
    if not 0 < accuracy < 1:
        raise InvalidParameterError(f"accuracy must be a relative half-width in (0, 1), got {accuracy}")
    if not 0 < confidence < 1:
        raise InvalidParameterError(f"confidence must be in (0, 1), got {confidence}")
    return beta, queries


def stepsize(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module], torch.Tensor],
    *,
    laws: Sequence[str] | None = None,
    queries: int = 1,
    method: str = "gd",
    beta: float = 0.9,
    accuracy: float = 0.1,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    device: str | torch.device = "cpu",
    lanczos_steps: int = LANCZOS_STEPS,
    max_lanczos_steps: int = MAX_LANCZOS_STEPS,
    exact_max_dim: int = EXACT_MAX_DIM,
    batch_loss_fn: Callable[[torch.nn.Module, torch.Generator], torch.Tensor] | None = None,
    minibatch_draws: int = MINIBATCH_DRAWS,
    descent_only: bool = False,
    mu: float | None = None,
    difference_directions: int = DIFFERENCE_DIRECTIONS,
) -> StepsizeResult:
    """Mean-square stable step eta* of ZO-GD / ZO-GDM for ``loss_fn(model)`` at the current parameters.

    ``accuracy``: the relative half-width aimed at for the spectral laws' intervals (the probe count
    follows from it); ``laws``: law specs (default Gaussian and sphere).  Parameters are moved to
    ``device``; ``loss_fn`` must put its data on the model's device.  ``batch_loss_fn(model, generator)``,
    the loss of one random minibatch, makes the descent edge that of minibatch ZO-SGD (judged on the
    full-batch loss), from ``minibatch_draws`` minibatch gradients.  ``descent_only``: skip the
    stochastic Lanczos quadrature and eta*; report the descent edges (Hutchinson's tr H, g^T H g) and
    lambda_max from a short Lanczos run, at a fraction of the cost.  ``mu``: the finite-difference radius
    of the user's run; each law's central difference at mu (and 2 mu) is measured against the directional
    derivative on ``difference_directions`` of its directions, and where it is off by more than
    ``accuracy`` the note says that the run does not see the quadratic model eta* is of.
    """
    from zoverify._device import resolve_device
    from zoverify._rng import make_generator, spawn_seeds

    beta, queries = _check_options(method, beta, queries, accuracy, confidence)
    if mu is not None and not (isinstance(mu, (int, float)) and math.isfinite(mu) and mu > 0):
        raise InvalidParameterError(f"mu must be a positive finite number, got {mu!r}")
    if int(difference_directions) < 1:
        raise InvalidParameterError(f"difference_directions must be positive, got {difference_directions}")
    if batch_loss_fn is not None and not callable(batch_loss_fn):
        raise InvalidParameterError(
            f"batch_loss_fn must be callable(model, generator), got {type(batch_loss_fn).__name__}"
        )
    if batch_loss_fn is not None and int(minibatch_draws) < 2:
        raise InvalidParameterError(f"batch_loss_fn needs minibatch_draws >= 2, got {minibatch_draws}")
    parsed = [parse_law(spec) for spec in (laws or DEFAULT_LAWS)]
    dev = resolve_device(device)
    if any(p.device != dev for p in model.parameters()):
        model.to(dev)
    start = time.perf_counter()
    op = ParameterHessian(model, loss_fn)  # validates the model and the loss first
    setup = time.perf_counter() - start
    fb = time_forward_backward(model, loss_fn)
    start = time.perf_counter() - setup
    d = op.dim
    top_seed, pilot_seed, more_seed, trace_seed, diag_seed = spawn_seeds(seed, 5)
    top, residual = top_eigenvalues(  # descent only: O(d) memory; lambda_max serves a comparison there
        op,
        steps=min(DESCENT_TOP_STEPS if descent_only else TOP_STEPS, d),
        generator=make_generator(top_seed, device=dev),
        keep_basis=not descent_only,
    )
    forms = {law.spec: _structured_form(law, d) for law in parsed}
    quad, steps, resolved, lambda_max = None, 0, None, float(top[0])
    if descent_only:
        _require_positive_curvature(op, top, lambda_max)
    else:
        quad, steps, resolved, lambda_max = _quadrature(
            op,
            parsed,
            forms,
            lambda_max=lambda_max,
            d=d,
            method=method,
            beta=beta,
            q=queries,
            exact_max_dim=exact_max_dim,
            accuracy=accuracy,
            confidence=confidence,
            lanczos_steps=lanczos_steps,
            max_lanczos_steps=max_lanczos_steps,
            seeds=(pilot_seed, more_seed),
            device=dev,
        )

    edges = _DescentInputs.measure(
        op,
        None if quad is None else quad.rayleigh,
        parsed,
        forms,
        accuracy=accuracy,
        confidence=confidence,
        seeds=(trace_seed, diag_seed, pilot_seed),
        device=dev,
        batch_loss_fn=batch_loss_fn,
        model=model,
        draws=minibatch_draws,
    )
    trace = edges.trace.mean
    trace_half = (edges.trace.high - edges.trace.low) / 2
    trace_pos = None if quad is None else float(np.mean(np.sum(quad.weights * np.clip(quad.nodes, 0.0, None), axis=1)))

    dense: list = []  # the positive part of the dense Hessian, formed once if a law needs it
    results = []
    for law in parsed:
        if quad is None:
            results.append(_descent_only_result(law, lambda_max=lambda_max, trace=trace, method=method, beta=beta))
        else:
            results.append(
                _law_result(
                    law,
                    forms[law.spec],
                    quad,
                    op,
                    dense,
                    d=d,
                    method=method,
                    beta=beta,
                    q=queries,
                    lambda_max=lambda_max,
                    trace=trace,
                    confidence=confidence,
                    exact_max_dim=exact_max_dim,
                )
            )
        results[-1].descent_edge, results[-1].descent_edge_interval = edges.for_law(forms[law.spec], q=queries)
        if resolved is False and results[-1].route != ROUTE_EXACT:
            results[-1].note = "; ".join(
                x
                for x in (results[-1].note, f"quadrature unresolved at {steps} Lanczos steps (docs/stepsize.md#limits)")
                if x
            )
    if mu is not None:
        difference = difference_seed(seed)
        for law, result in zip(parsed, results, strict=True):
            _attach_difference(
                result,
                difference_error(
                    model,
                    loss_fn,
                    op.params,
                    op.gradient,
                    law,
                    mu=float(mu),
                    generator=make_generator(difference, device=dev),
                    directions=int(difference_directions),
                ),
                accuracy=accuracy,
            )
    seconds = time.perf_counter() - start
    return StepsizeResult(
        dimension=d,
        loss=op.loss,
        method=method,
        beta=beta,
        queries=queries,
        accuracy=float(accuracy),
        confidence=float(confidence),
        seed=int(seed),
        lambda_max=lambda_max,
        lambda_max_residual=residual,
        top_eigenvalues=[float(x) for x in top],
        trace=trace,
        trace_interval=(trace - trace_half, trace + trace_half),
        trace_positive_part=trace_pos,
        gradient_norm=math.sqrt(edges.numerator),
        gradient_curvature=edges.gradient.rayleigh,
        minibatch_draws=edges.minibatch_draws,
        trace_probes=edges.trace_probes,
        quadrature_resolved=resolved,
        num_probes=0 if quad is None else quad.num_probes,
        lanczos_steps=steps,
        hessian_vector_products=op.products,
        seconds=seconds,
        forward_backward_seconds=fb,
        laws=results,
        mu=None if mu is None else float(mu),
        difference_directions=0 if mu is None else int(difference_directions),
    )


def difference_seed(seed: int) -> int:
    """The seed of the directions ``stepsize(..., mu=)`` measures its difference on: a stream of its own,
    after the five the estimate uses (same seed, same directions)."""
    from zoverify._rng import spawn_seeds

    return spawn_seeds(seed, 6)[5]


def _attach_difference(result: LawStepsize, err: DifferenceError, *, accuracy: float) -> None:
    result.difference_error, result.difference_error_at_2mu = err.relative_error, err.relative_error_at_2mu
    result.difference_cause = err.cause
    if err.relative_error > accuracy:
        why = f": {err.cause} dominates ({REMEDY[err.cause]})" if err.cause else ""
        warning = (
            f"at mu = {err.mu:g} the central difference is {100 * err.relative_error:.3g} % off the directional "
            f"derivative{why}; the run does not see the quadratic model eta* is of (docs/stepsize.md#the-finite-difference-radius)"
        )
        result.note = "; ".join(x for x in (result.note, warning) if x)


def _quadrature(
    op,
    parsed,
    forms,
    *,
    lambda_max,
    d,
    method,
    beta,
    q,
    exact_max_dim,
    accuracy,
    confidence,
    lanczos_steps,
    max_lanczos_steps,
    seeds,
    device,
) -> tuple[ProbeQuadratures, int, bool, float]:
    """(probes, Lanczos steps, resolved, lambda_max): SLQ probes whose quadrature error fits half the accuracy
    (steps doubled up to the cap) and whose count serves the spectral laws' intervals."""
    from zoverify._rng import make_generator

    pilot_seed, more_seed = seeds
    settings = _spectral_settings(parsed, forms, d=d, method=method, beta=beta, q=q, exact_max_dim=exact_max_dim)
    cap = max(int(lanczos_steps), int(max_lanczos_steps))
    steps = min(int(lanczos_steps), d)
    top = lambda_max
    while True:  # half of the accuracy budget for the quadrature error: more Lanczos steps until it fits
        quad = slq_probes(op, num_probes=PILOT_PROBES, steps=steps, generator=make_generator(pilot_seed, device=device))
        lambda_max = max(top, float(quad.nodes.max()))  # every Ritz value is <= lambda_max
        _require_positive_curvature(op, quad.nodes, lambda_max)
        pilots = [spectral_estimate(quad, st, lambda_max=lambda_max, confidence=confidence) for st in settings]
        quad_rel = max((e.quadrature_error / e.elasticity for e in pilots), default=0.0)
        if quad_rel <= accuracy / 2 or steps >= min(d, cap):
            break
        steps = min(2 * steps, d, cap)
    resolved = quad_rel <= accuracy / 2 or steps >= d
    budget = accuracy - min(quad_rel, accuracy / 2)
    wanted = max(
        [PILOT_PROBES] + [probes_needed(e, accuracy=budget, confidence=confidence, pilot=PILOT_PROBES) for e in pilots]
    )
    if not resolved:  # the quadrature gap, not the probes' spread, sets the width: more probes would not narrow it
        wanted = PILOT_PROBES
    if wanted > quad.num_probes:
        more = slq_probes(
            op, num_probes=wanted - quad.num_probes, steps=steps, generator=make_generator(more_seed, device=device)
        )
        quad = quad.extended(more)
        lambda_max = max(lambda_max, float(quad.nodes.max()))
    return quad, steps, resolved, lambda_max


def _descent_only_result(law, *, lambda_max, trace, method, beta) -> LawStepsize:
    return LawStepsize(
        law=law.spec,
        route=ROUTE_DESCENT_ONLY,
        eta_star=None,
        eta_star_interval=(None, None),
        first_order=first_order_threshold(lambda_max, method=method, beta=beta),
        lambda_max=lambda_max,
        trace=trace,
    )


@dataclass(frozen=True)
class _DescentInputs:
    """The descent edge's means, each with its interval: tr H, the gradient's ||g||^2 and g^T H g (exact for
    the full batch; minibatch means E ||g_B||^2, E g_B^T H g_B with a ``batch_loss_fn``) and, for laws with a
    Diag term, sum g_i^2 H_ii.  The intervals share the confidence by Bonferroni."""

    numerator: float  # ||g||^2 of the full-batch gradient
    grad_sq: MeanInterval
    grad_hessian_grad: MeanInterval
    trace: MeanInterval
    diag: MeanInterval | None
    trace_probes: int
    minibatch_draws: int

    @property
    def gradient(self) -> GradientCurvature:
        """The full-batch gradient's ||g||^2 and g^T H g (minibatch means when those were asked for)."""
        return GradientCurvature(self.grad_sq.mean, self.grad_hessian_grad.mean)

    @classmethod
    def measure(
        cls, op, rayleigh, parsed, forms, *, accuracy, confidence, seeds, device, batch_loss_fn, model, draws
    ) -> _DescentInputs:
        from zoverify._rng import make_generator
        from zoverify.numeric.descent import minibatch_gradient_moments

        needs_diag = any(forms[law.spec] is not None and forms[law.spec][3] != 0 for law in parsed)
        estimated = 1 + (2 if batch_loss_fn is not None else 0) + int(needs_diag)
        level = 1 - (1 - confidence) / estimated  # Bonferroni over the means estimated
        # to first order the edge's relative error is the sum of its means' (each enters a term of the
        # denominator linearly, the terms sharing a sign): the accuracy is shared evenly among them
        share = accuracy / estimated
        if rayleigh is None:  # no SLQ probes to reuse: a Hutchinson pilot
            rayleigh = hutchinson_samples(
                op, num_probes=PILOT_PROBES, generator=make_generator(seeds[2], device=device)
            )
        samples = rayleigh
        more = probes_for_trace(samples, accuracy=share, confidence=level, cap=MAX_PROBES) - samples.size
        if more > 0:
            extra = hutchinson_samples(op, num_probes=more, generator=make_generator(seeds[0], device=device))
            samples = np.concatenate([samples, extra])
        full = gradient_curvature(op)
        gen = make_generator(seeds[1], device=device)
        diag = None
        if batch_loss_fn is not None:
            sq, ghg, dg = minibatch_gradient_moments(
                op, batch_loss_fn, model, draws=draws, generator=gen, diag=needs_diag
            )
            grad_sq, grad_hg = MeanInterval.of(sq, confidence=level), MeanInterval.of(ghg, confidence=level)
            if needs_diag:
                diag = MeanInterval.of(dg, confidence=level)
        else:
            grad_sq, grad_hg = MeanInterval.exact(full.grad_sq), MeanInterval.exact(full.grad_hessian_grad)
            if needs_diag:
                weight = op.gradient
                pilot = hutchinson_samples(op, num_probes=PILOT_PROBES, generator=gen, weight=weight)
                need = probes_for_trace(pilot, accuracy=share, confidence=level, cap=MAX_PROBES) - pilot.size
                if need > 0:
                    pilot = np.concatenate(
                        [pilot, hutchinson_samples(op, num_probes=need, generator=gen, weight=weight)]
                    )
                diag = MeanInterval.of(pilot, confidence=level)
        return cls(
            full.grad_sq,
            grad_sq,
            grad_hg,
            MeanInterval.of(samples, confidence=level),
            diag,
            int(samples.size),
            int(draws) if batch_loss_fn is not None else 0,
        )

    def for_law(self, form, *, q: int) -> tuple[float | None, tuple[float | None, float | None]]:
        """(eta_d, [low, high]) for one law's structured form; None when the law has no such form."""
        if form is None:
            return None, (None, None)
        diag = self.diag if form[3] != 0 and self.diag is not None else MeanInterval.exact(0.0)
        value = descent_edge(form, self.gradient, trace=self.trace.mean, diag=diag.mean, q=q, numerator=self.numerator)
        low, high = edge_interval(
            form,
            grad_sq=self.grad_sq,
            grad_hessian_grad=self.grad_hessian_grad,
            trace=self.trace,
            diag=diag,
            numerator=self.numerator,
            q=q,
        )
        return value, (low, high)


def _require_positive_curvature(op: ParameterHessian, ritz_values, lambda_max: float) -> None:
    scale = max(abs(float(np.min(ritz_values))), abs(lambda_max))
    if op.zero or scale == 0 or lambda_max <= 1e-12 * scale:
        raise InvalidParameterError(
            "the Hessian's positive part is zero at these parameters (no positive curvature): every step is "
            "mean-square stable on the quadratic model, so eta* is not defined"
        )


def _structured_form(law, d: int):
    try:
        return tuple(float(x) for x in (fourth_moment_form(law, sp.Integer(d)).subs(d).__dict__.values()))
    except NotApplicableError:
        return None


def _spectral_settings(parsed, forms, *, d, method, beta, q, exact_max_dim) -> list[SpectralSetting]:
    """The settings whose intervals the probe count must serve (spectral laws; bounds above the exact size)."""
    out = []
    for law in parsed:
        form = forms[law.spec]
        if form is None:
            continue
        c, a, b, e = form
        if e == 0:
            out.append(structured_setting(c, a, b, method=method, beta=beta, q=q))
        elif d > exact_max_dim:
            out.append(structured_setting(c, a + max(e, 0.0), b, method=method, beta=beta, q=q))
    return out


def _law_result(law, form, quad, op, dense, *, d, method, beta, q, lambda_max, trace, confidence, exact_max_dim):
    first = first_order_threshold(lambda_max, method=method, beta=beta)
    common: dict[str, Any] = {"law": law.spec, "first_order": first, "lambda_max": lambda_max, "trace": trace}
    if form is not None and form[3] == 0:
        setting = structured_setting(*form[:3], method=method, beta=beta, q=q)
        est = spectral_estimate(quad, setting, lambda_max=lambda_max, confidence=confidence)
        return LawStepsize(
            route=ROUTE_SPECTRAL,
            eta_star=est.eta_star,
            eta_star_interval=(est.low, est.high),
            relative_half_width=(est.high - est.low) / (2 * est.eta_star),
            details=asdict(est) | {"kappa_g": setting.kappa_g, "kappa_s": setting.kappa_s},
            **common,
        )
    if d <= exact_max_dim:
        try:
            eta = _exact(law, op, dense, method=method, beta=beta, q=q)
            return LawStepsize(route=ROUTE_EXACT, eta_star=eta, eta_star_interval=(eta, eta), **common)
        except NotApplicableError as exc:
            note = f"exact operator not available: {exc}"
    else:
        note = f"d = {d} > {exact_max_dim}: the exact operator was not formed"
    low, high, why = _bounds(
        law, form, quad, d=d, method=method, beta=beta, q=q, lambda_max=lambda_max, confidence=confidence
    )
    return LawStepsize(
        route=ROUTE_BOUNDS, eta_star=None, eta_star_interval=(low, high), note=f"{note}; {why}", **common
    )


def _exact(law, op, dense, *, method, beta, q) -> float:
    from zoverify.numeric.eos_curvature import Curvature, block_edge_step
    from zoverify.numeric.stability_operator import critical_step_size

    if not dense:
        H = op.dense().cpu().numpy()
        lam, V = np.linalg.eigh(H)
        curv = Curvature(
            float(lam.sum()), float(lam[-1]), float(lam[lam > 0].sum()), float(-lam[lam < 0].sum()), lam, V
        )
        dense.append(curv)
    curv = dense[0]
    gaussian_blocks = law.name == "block" and getattr(law.base, "spec", "") == "gaussian"
    if gaussian_blocks and method == "gd" and law.independent_draws:  # block_edge's moments are Gaussian ones
        return block_edge_step(curv, blocks=int(law.blocks), q=q, scaled=bool(getattr(law, "scaled", True)))
    return critical_step_size(law, curv.positive_part(), method=method, beta=beta, q=q).eta_star


def _bounds(law, form, quad, *, d, method, beta, q, lambda_max, confidence):
    """(low, high, text): cone-order comparison bounds and the mean threshold (docs/stepsize.md#bounds)."""
    c = form[0] if form is not None else identity_scale(law, d)
    high = None if c is None else mean_threshold_scalar(c, lambda_max, method=method, beta=beta)
    texts = [] if high is None else ["upper: stability in the mean (Jensen)"]
    if form is None:
        return 0.0, high, "; ".join(texts + ["no lower bound derived for this law"])
    c, a, b, e = form
    if e < 0:  # E[B A B] minus a Diag term: at most the e = 0 operator, so eta* is at least its edge
        low = spectral_estimate(
            quad,
            structured_setting(c, a, b, method=method, beta=beta, q=q),
            lambda_max=lambda_max,
            confidence=confidence,
        ).low
        return low, high, "; ".join(["lower: the same law without its Diag term (e < 0)", *texts])
    # e > 0: Diag(Y) <= tr(Y) I moves e into the trace coefficient (lower); dropping it gives the upper
    low = spectral_estimate(
        quad,
        structured_setting(c, a + e, b, method=method, beta=beta, q=q),
        lambda_max=lambda_max,
        confidence=confidence,
    ).low
    upper = spectral_estimate(
        quad, structured_setting(c, a, b, method=method, beta=beta, q=q), lambda_max=lambda_max, confidence=confidence
    ).high
    high = upper if high is None else min(high, upper)
    return (
        low,
        high,
        "lower: Diag(Y) <= tr(Y) I (e > 0); upper: the same law without its Diag term, and the mean threshold",
    )


__all__ = [
    "LawStepsize",
    "ROUTE_BOUNDS",
    "ROUTE_EXACT",
    "ROUTE_SPECTRAL",
    "SpectralEstimate",
    "StepsizeResult",
    "gain_terms",
    "probes_needed",
    "spectral_estimate",
    "stepsize",
    "weighted_eta_star",
]
