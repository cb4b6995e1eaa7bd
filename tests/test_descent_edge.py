"""The descent edge (zoverify/numeric/descent.py): its formula against exact expectations, and the
matrix-free estimate of ``zoverify stepsize`` against the dense Hessian.

The formula's second route is exact integration over the law itself: a tensor-product rule per
coordinate (4-node Gauss-Hermite for Gaussian coordinates, exact to degree 7; the two atoms of a
Rademacher coordinate; the mask atom and Hermite nodes of a sparse one), over q independent
directions, of g_hat^T g and g_hat^T H g_hat (degree 2 and 4 in each direction).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

from zoverify.numeric.descent import GradientCurvature, descent_denominator, descent_edge
from zoverify.numeric.hessian import dense_hessian, flat_loss
from zoverify.numeric.stepsize import stepsize
from zoverify.perturbations import parse_law
from zoverify.symbolic.stability import fourth_moment_form

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "stepsize"))
from digits_mlp import digits_data, digits_mlp, digits_mlp_minibatch  # noqa: E402

SPARSE_P = 0.25


def coordinate_rule(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Atoms and probabilities of one coordinate of the law, written from its definition."""
    x, w = np.polynomial.hermite_e.hermegauss(4)
    w = w / w.sum()
    if spec == "gaussian":
        return x, w
    if spec == "rademacher":
        return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    if spec == f"sparse(p={SPARSE_P})":  # z = m w / sqrt(p), m ~ Bernoulli(p), w ~ N(0, 1)
        return np.concatenate([[0.0], x / np.sqrt(SPARSE_P)]), np.concatenate([[1 - SPARSE_P], SPARSE_P * w])
    raise AssertionError(spec)


def exact_moments(spec: str, g: np.ndarray, H: np.ndarray, q: int) -> tuple[float, float]:
    """(E g_hat^T g, E g_hat^T H g_hat) by exact enumeration of q independent directions."""
    atoms, probs = coordinate_rule(spec)
    d = g.size
    first = second = 0.0
    for idx in itertools.product(range(atoms.size), repeat=d * q):
        z = atoms[list(idx)].reshape(q, d)
        p = float(np.prod(probs[list(idx)]))
        g_hat = (z * (z @ g)[:, None]).mean(axis=0)
        first += p * float(g_hat @ g)
        second += p * float(g_hat @ H @ g_hat)
    return first, second


def _instance(d: int = 3):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((d, d))
    H = (A + A.T) / 2  # indefinite: the edge needs no positive part
    g = rng.standard_normal(d)
    return g, H


@pytest.mark.parametrize("spec", ["gaussian", "rademacher", f"sparse(p={SPARSE_P})"])
@pytest.mark.parametrize("q", [1, 2])
def test_formula_is_the_exact_expectation(spec, q):
    g, H = _instance()
    assert np.linalg.eigvalsh(H).min() < 0 < np.linalg.eigvalsh(H).max()
    form = tuple(
        float(v) for v in fourth_moment_form(parse_law(spec), sp.Integer(g.size)).subs(g.size).__dict__.values()
    )
    gc = GradientCurvature(float(g @ g), float(g @ H @ g))
    first, second = exact_moments(spec, g, H, q)
    predicted = descent_denominator(form, gc, trace=float(np.trace(H)), diag=float(np.sum(g**2 * np.diag(H))), q=q)
    assert first == pytest.approx(form[0] * gc.grad_sq, rel=1e-12)
    assert second == pytest.approx(predicted, rel=1e-10)
    # the edge is where the quadratic model's expected change crosses 0
    eta = descent_edge(form, gc, trace=float(np.trace(H)), diag=float(np.sum(g**2 * np.diag(H))), q=q)
    if np.isfinite(eta):
        assert -eta * first + eta**2 / 2 * second == pytest.approx(0.0, abs=1e-12 * eta * first)


def test_dropping_the_diag_term_is_seen():
    """A near miss: the Rademacher edge without its Diag term differs from the exact expectation."""
    g, H = _instance()
    spec = "rademacher"
    form = tuple(float(v) for v in fourth_moment_form(parse_law(spec), sp.Integer(3)).subs(3).__dict__.values())
    gc = GradientCurvature(float(g @ g), float(g @ H @ g))
    _, second = exact_moments(spec, g, H, 1)
    wrong = descent_denominator((*form[:3], 0.0), gc, trace=float(np.trace(H)), diag=0.0, q=1)
    assert abs(wrong - second) > 1e-3 * abs(second)


def test_negative_denominator_gives_infinity():
    gc = GradientCurvature(1.0, -5.0)
    assert descent_edge((1.0, 1.0, 2.0, 0.0), gc, trace=-3.0) == np.inf


@pytest.mark.parametrize("descent_only", [False, True])
@pytest.mark.parametrize("law", ["gaussian", "sparse(p=0.25)"])
def test_matrix_free_edge_brackets_the_dense_one(law, descent_only):
    """At confidence 1 - 1e-6 the interval holds the edge of the dense Hessian (false failure <= 1e-6)."""
    torch.set_num_threads(1)
    model, loss_fn = digits_mlp(hidden=8, samples=200)
    x, y = digits_data(samples=200)
    f, theta = flat_loss(model, x, lambda out: torch.nn.functional.cross_entropy(out, y))
    H = dense_hessian(f, theta).numpy()
    H = (H + H.T) / 2
    theta_req = theta.clone().requires_grad_(True)
    g = torch.autograd.grad(f(theta_req), theta_req)[0].detach().numpy()
    d = g.size
    form = tuple(float(v) for v in fourth_moment_form(parse_law(law), sp.Integer(d)).subs(d).__dict__.values())
    gc = GradientCurvature(float(g @ g), float(g @ H @ g))
    dense = descent_edge(form, gc, trace=float(np.trace(H)), diag=float(np.sum(g**2 * np.diag(H))), q=1)
    result = stepsize(
        model,
        loss_fn,
        laws=[law],
        confidence=1 - 1e-6,
        seed=3,
        exact_max_dim=0,
        lanczos_steps=10,
        max_lanczos_steps=10,
        descent_only=descent_only,
    )
    (row,) = result.laws
    low, high = row.descent_edge_interval
    assert low <= dense <= high
    assert result.gradient_norm == pytest.approx(np.sqrt(gc.grad_sq), rel=1e-10)
    assert result.gradient_curvature == pytest.approx(gc.rayleigh, rel=1e-8)


def _exact_minibatch_moments(samples: int, b: int):
    """(g, H, E ||g_B||^2, E g_B^T H g_B) for uniform minibatches of b rows out of N = ``samples``, from
    per-example gradients with the finite-population factor (N - b) / (b (N - 1))."""
    x, y = digits_data(samples=samples)
    model, _ = digits_mlp(hidden=8, samples=samples)
    f, theta = flat_loss(model, x, lambda out: torch.nn.functional.cross_entropy(out, y))
    H = dense_hessian(f, theta).numpy()
    H = (H + H.T) / 2
    per = []
    for i in range(samples):
        fi, th = flat_loss(model, x[i : i + 1], lambda out, i=i: torch.nn.functional.cross_entropy(out, y[i : i + 1]))
        th = th.clone().requires_grad_(True)
        per.append(torch.autograd.grad(fi(th), th)[0].detach().numpy())
    G = np.array(per)
    g = G.mean(axis=0)
    D = G - g
    factor = (samples - b) / (b * (samples - 1))
    e_sq = g @ g + factor * np.mean(np.sum(D * D, axis=1))
    e_ghg = g @ H @ g + factor * np.mean(np.einsum("ij,jk,ik->i", D, H, D))
    return g, H, e_sq, e_ghg


def _batch_loss(samples: int, b: int):
    x, y = digits_data(samples=samples)

    def batch_loss_fn(m, gen):
        rows = torch.randperm(samples, generator=gen)[:b]
        return torch.nn.functional.cross_entropy(m(x[rows]), y[rows])

    return batch_loss_fn


def test_minibatch_moments_are_the_exact_expectations():
    """Each draw's ||g_B||^2 and g_B^T H g_B average to the exact expectations (two-sided t at 1e-6 each,
    400 draws); with 5 of 200 rows the noise term tr(H Cov g_B) is several standard errors, so g_B^T H g
    (the full gradient on one side) would be rejected."""
    from scipy import stats

    from zoverify.numeric.curvature import ParameterHessian
    from zoverify.numeric.descent import minibatch_gradient_moments

    torch.set_num_threads(1)
    samples, b = 200, 5
    g, H, e_sq, e_ghg = _exact_minibatch_moments(samples, b)
    model, loss_fn = digits_mlp(hidden=8, samples=samples)
    op = ParameterHessian(model, loss_fn)
    sq, ghg, _ = minibatch_gradient_moments(
        op, _batch_loss(samples, b), model, draws=400, generator=torch.Generator().manual_seed(0), diag=False
    )
    t = stats.t(399).isf(0.5e-6)
    for values, exact in ((sq, e_sq), (ghg, e_ghg)):
        se = values.std(ddof=1) / np.sqrt(values.size)
        assert abs(values.mean() - exact) <= t * se, (values.mean(), exact, se)
    assert e_ghg - g @ H @ g > 2 * t * ghg.std(ddof=1) / np.sqrt(ghg.size)  # the near miss is visible


def test_minibatch_edge_brackets_the_exact_minibatch_expectation():
    """Uniform minibatches of b rows out of N: E ||g_B||^2 and E g_B^T H g_B from per-example gradients
    with the finite-population factor (N - b) / (b (N - 1)); the edge interval at 1 - 1e-6 must hold it."""
    torch.set_num_threads(1)
    samples, b = 200, 20
    model, loss_fn = digits_mlp(hidden=8, samples=samples)
    g, H, e_sq, e_ghg = _exact_minibatch_moments(samples, b)
    form = tuple(
        float(v) for v in fourth_moment_form(parse_law("gaussian"), sp.Integer(g.size)).subs(g.size).__dict__.values()
    )
    exact = descent_edge(form, GradientCurvature(e_sq, e_ghg), trace=float(np.trace(H)), q=1, numerator=float(g @ g))
    full = descent_edge(form, GradientCurvature(float(g @ g), float(g @ H @ g)), trace=float(np.trace(H)), q=1)
    batch_loss_fn = _batch_loss(samples, b)

    result = stepsize(
        model,
        loss_fn,
        laws=["gaussian"],
        confidence=1 - 1e-6,
        seed=4,
        lanczos_steps=10,
        max_lanczos_steps=10,
        batch_loss_fn=batch_loss_fn,
        minibatch_draws=200,
    )
    (row,) = result.laws
    low, high = row.descent_edge_interval
    assert low <= exact <= high
    assert high < full  # gradient noise lowers the edge, and the interval sees it
    assert result.minibatch_draws == 200


def test_mean_interval_has_its_coverage():
    """Two-sided t-interval of 8 normal draws: coverage 0.95 over 4,000 replications (binomial band at 1e-6;
    a one-sided quantile would cover 0.90, 14 standard deviations away)."""
    from scipy import stats

    from zoverify.numeric.descent import MeanInterval

    rng = np.random.default_rng(11)
    n = 4_000
    hits = 0
    for row in rng.standard_normal((n, 8)):
        iv = MeanInterval.of(row, confidence=0.95)
        hits += iv.low <= 0.0 <= iv.high
    lo, hi = stats.binom.ppf([5e-7, 1 - 5e-7], n, 0.95)
    assert lo <= hits <= hi


@pytest.mark.parametrize("spec", ["rademacher", "laplace"])
def test_edge_interval_is_the_range_over_the_box(spec):
    """The corners give the edge's extremes over the box of the four means (checked on a 5^4 grid of the box)."""
    from zoverify.numeric.descent import MeanInterval, edge_interval

    form = tuple(float(v) for v in fourth_moment_form(parse_law(spec), sp.Integer(50)).subs(50).__dict__.values())
    boxes = {
        "grad_sq": MeanInterval(2.0, 1.8, 2.3),
        "grad_hessian_grad": MeanInterval(0.5, 0.3, 0.6),
        "trace": MeanInterval(10.0, 8.0, 12.5),
        "diag": MeanInterval(0.4, -0.1, 0.9),
    }
    low, high = edge_interval(form, **boxes, numerator=1.5, q=2)
    grid = [np.linspace(b.low, b.high, 5) for b in boxes.values()]
    values = [
        descent_edge(form, GradientCurvature(gs, ghg), trace=tr, diag=dg, q=2, numerator=1.5)
        for gs in grid[0]
        for ghg in grid[1]
        for tr in grid[2]
        for dg in grid[3]
    ]
    assert low == pytest.approx(min(values), rel=1e-12)
    assert high == pytest.approx(max(values), rel=1e-12)


@pytest.mark.parametrize(("laws", "estimated"), [(["gaussian"], 1), (["gaussian", "rademacher"], 2)])
@pytest.mark.parametrize("descent_only", [False, True])
def test_trace_probes_meet_the_accuracy(laws, estimated, descent_only):
    """The accuracy is shared evenly among the estimated means (tr H, and sum g_i^2 H_ii when a law has a
    Diag term): tr H's half-width is at most its share, the edge's at most the accuracy, up to the pilot's
    error in the spread (a factor 1.5 here)."""
    torch.set_num_threads(1)
    model, loss_fn = digits_mlp(hidden=8, samples=200)
    result = stepsize(
        model,
        loss_fn,
        laws=laws,
        accuracy=0.2,
        seed=2,
        lanczos_steps=10,
        max_lanczos_steps=10,
        descent_only=descent_only,
    )
    low, high = result.trace_interval
    assert (high - low) / 2 / abs(result.trace) <= 1.5 * 0.2 / estimated
    assert (high - low) / 2 / abs(result.trace) > 0.5 * 0.2 / estimated  # not spent on more probes than asked
    assert result.trace_probes > 10  # topped up beyond the pilot
    for row in result.laws:
        edge_low, edge_high = row.descent_edge_interval
        assert (edge_high - edge_low) / 2 / row.descent_edge <= 1.5 * 0.2


def test_lanczos_steps_double_up_to_their_cap():
    """On the indefinite example the quadrature gap does not fit at 10 steps: the steps double to the cap
    (20), the result says the quadrature is unresolved, and a row's note says so."""
    torch.set_num_threads(1)
    model, loss_fn = digits_mlp(hidden=8, samples=200)
    result = stepsize(model, loss_fn, laws=["gaussian"], accuracy=0.05, seed=2, lanczos_steps=10, max_lanczos_steps=20)
    assert result.lanczos_steps == 20
    assert not result.quadrature_resolved
    assert "quadrature unresolved at 20 Lanczos steps" in result.laws[0].note


def test_descent_only_skips_the_quadrature():
    """No SLQ probes, no eta*, lambda_max from the short Lanczos run (it matches the dense top eigenvalue), and
    the products are the top run's, the trace probes' and g^T H g's."""
    from zoverify.numeric.stepsize import DESCENT_TOP_STEPS, ROUTE_DESCENT_ONLY

    torch.set_num_threads(1)
    model, loss_fn = digits_mlp(hidden=8, samples=200)
    x, y = digits_data(samples=200)
    f, theta = flat_loss(model, x, lambda out: torch.nn.functional.cross_entropy(out, y))
    H = dense_hessian(f, theta).numpy()
    result = stepsize(model, loss_fn, laws=["gaussian"], seed=1, descent_only=True)
    (row,) = result.laws
    assert row.route == ROUTE_DESCENT_ONLY and row.eta_star is None and row.eta_star_interval == (None, None)
    assert result.num_probes == 0 and result.trace_positive_part is None and result.quadrature_resolved is None
    assert result.lambda_max == pytest.approx(float(np.linalg.eigvalsh((H + H.T) / 2)[-1]), rel=1e-6)
    assert result.hessian_vector_products == DESCENT_TOP_STEPS + result.trace_probes + 1


@pytest.mark.parametrize(
    ("laws", "minibatch", "estimated"),
    [(["gaussian"], False, 1), (["gaussian", "rademacher"], False, 2), (["rademacher"], True, 4)],
)
def test_every_estimated_mean_gets_the_bonferroni_level(monkeypatch, laws, minibatch, estimated):
    """The edge's interval is a box over the estimated means (tr H, sum g_i^2 H_ii, the minibatch moments):
    its coverage is the confidence only when each mean's interval is at 1 - (1 - confidence) / k."""
    from zoverify.numeric import descent
    from zoverify.numeric import stepsize as stepsize_module

    levels = []
    real = descent.MeanInterval.of.__func__

    def spy(cls, samples, *, confidence):
        levels.append(confidence)
        return real(cls, samples, confidence=confidence)

    monkeypatch.setattr(stepsize_module.MeanInterval, "of", classmethod(spy))
    torch.set_num_threads(1)
    made = (digits_mlp_minibatch if minibatch else digits_mlp)(hidden=4, samples=100)
    stepsize(
        made[0],
        made[1],
        batch_loss_fn=made[2] if minibatch else None,
        laws=laws,
        accuracy=0.3,
        confidence=0.9,
        seed=0,
        descent_only=True,
    )
    assert len(levels) == estimated
    assert levels == pytest.approx([1 - 0.1 / estimated] * estimated, rel=1e-15)


def test_descent_only_keeps_no_lanczos_basis(monkeypatch):
    """The descent-only run's lambda_max comes from the three-term recurrence (O(d) memory); the full run's
    top eigenvalues from the reorthogonalized one."""
    from zoverify.numeric import curvature

    calls = []
    real = curvature.lanczos_tridiagonal

    def counted(*args, **kwargs):
        calls.append(kwargs.get("steps"))
        return real(*args, **kwargs)

    monkeypatch.setattr(curvature, "lanczos_tridiagonal", counted)
    torch.set_num_threads(1)
    model, loss_fn = digits_mlp(hidden=4, samples=100)
    stepsize(model, loss_fn, laws=["gaussian"], accuracy=0.3, seed=0, descent_only=True)
    assert calls == []
    stepsize(model, loss_fn, laws=["gaussian"], accuracy=0.3, seed=0, lanczos_steps=8, max_lanczos_steps=8)
    assert calls and calls[0] == 60  # the top run (TOP_STEPS) comes first


def test_probe_count_is_the_t_formula_with_m_minus_one_degrees():
    """m = (t_{m-1} s / (accuracy |mean|))^2 from a pilot of three: the t quantile with 2 degrees of freedom
    (4.30 at 95 %) against 3 (3.18) nearly doubles the count."""
    from scipy import stats

    from zoverify.numeric.descent import probes_for_trace

    pilot = np.array([9.0, 11.0, 13.5])
    t = stats.t(2).isf(0.025)
    expected = int(np.ceil((t * pilot.std(ddof=1) / (0.05 * pilot.mean())) ** 2))
    assert probes_for_trace(pilot, accuracy=0.05, confidence=0.95, cap=10**6) == expected


def test_trace_pilot_and_top_up_are_independent_probes(monkeypatch):
    """The descent-only pilot and the top-up draw from different streams: no pilot probe comes back."""
    from zoverify.numeric import stepsize as stepsize_module

    drawn = []
    real = stepsize_module.hutchinson_samples

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        drawn.append(out)
        return out

    monkeypatch.setattr(stepsize_module, "hutchinson_samples", spy)
    torch.set_num_threads(1)
    model, loss_fn = digits_mlp(hidden=4, samples=100)
    stepsize(model, loss_fn, laws=["gaussian"], accuracy=0.1, seed=0, descent_only=True)
    pilot, top_up = drawn[0], np.concatenate(drawn[1:])
    assert top_up.size > 0 and not np.isin(pilot, top_up).any()


def test_lanczos_steps_double_while_the_gap_exceeds_half_the_accuracy():
    """A near miss of the half rule: with the accuracy set to 1.5x the pilot's quadrature gap at 10 steps,
    the gap is above accuracy / 2 (steps must double) but below the accuracy (a whole-accuracy rule would stop)."""
    from zoverify._rng import make_generator, spawn_seeds
    from zoverify.numeric.curvature import ParameterHessian, slq_probes, top_eigenvalues
    from zoverify.numeric.stepsize import PILOT_PROBES, spectral_estimate, structured_setting

    torch.set_num_threads(1)
    model, loss_fn = digits_mlp(hidden=8, samples=200)
    op = ParameterHessian(model, loss_fn)
    top_seed, pilot_seed = spawn_seeds(2, 5)[:2]
    top, _ = top_eigenvalues(op, steps=60, generator=make_generator(top_seed))
    quad = slq_probes(op, num_probes=PILOT_PROBES, steps=10, generator=make_generator(pilot_seed))
    lambda_max = max(float(top[0]), float(quad.nodes.max()))
    est = spectral_estimate(quad, structured_setting(1.0, 1.0, 2.0, method="gd", beta=0.0, q=1), lambda_max=lambda_max)
    gap = est.quadrature_error / est.elasticity
    assert gap > 0
    result = stepsize(
        model, loss_fn, laws=["gaussian"], accuracy=1.5 * gap, seed=2, lanczos_steps=10, max_lanczos_steps=40
    )
    assert result.lanczos_steps > 10


@pytest.mark.gpu
def test_cuda_route_matches_the_cpu_one():
    """The same model on cuda (the example's loss follows the model's device): the cuda run's interval holds
    the CPU run's edge, and lambda_max agrees (skipped without a GPU)."""
    torch.set_num_threads(1)
    cpu = stepsize(
        *digits_mlp(hidden=8, samples=200), laws=["gaussian"], confidence=1 - 1e-6, seed=1, descent_only=True
    )
    gpu = stepsize(
        *digits_mlp(hidden=8, samples=200),
        laws=["gaussian"],
        confidence=1 - 1e-6,
        seed=1,
        device="cuda",
        descent_only=True,
    )
    low, high = gpu.laws[0].descent_edge_interval
    assert low <= cpu.laws[0].descent_edge <= high
    assert gpu.lambda_max == pytest.approx(cpu.lambda_max, rel=1e-6)
