"""``zoverify stepsize``: the matrix-free eta* against the dense Hessian, interval coverage, bad input.

The second route is the dense Hessian from torch.func.hessian (zoverify.numeric.hessian) and
the law's exact operator on its positive part (zoverify.numeric.stability_operator), never
a value produced by the code under test.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from zoverify.cli import main
from zoverify.numeric.hessian import dense_hessian, flat_loss
from zoverify.numeric.stability_operator import critical_step_size
from zoverify.numeric.stepsize import (
    ROUTE_BOUNDS,
    ROUTE_EXACT,
    ROUTE_SPECTRAL,
    stepsize,
    structured_setting,
    weighted_eta_star,
)
from zoverify.perturbations import parse_law
from zoverify.symbolic.stability import spectral_eta_star, spectral_setting

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "stepsize" / "digits_mlp.py"
sys.path.insert(0, str(EXAMPLE.parent))
from digits_mlp import digits_data, digits_mlp  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")  # tiny problems: one intra-op thread


@cache
def dense_positive_part(hidden: int, samples: int) -> np.ndarray:
    """H_+ of the example model from the dense Hessian (torch.func.hessian of the flat loss)."""
    model, _ = digits_mlp(hidden=hidden, samples=samples)
    x, y = digits_data(samples=samples)
    f, theta = flat_loss(model, x, lambda out: torch.nn.functional.cross_entropy(out, y))
    lam, V = np.linalg.eigh(dense_hessian(f, theta).numpy())
    return (V * np.clip(lam, 0.0, None)) @ V.T


def dense_eta(law: str, hidden: int = 8, samples: int = 500, **kw) -> float:
    return critical_step_size(parse_law(law), dense_positive_part(hidden, samples), **kw).eta_star


def test_weighted_root_with_unit_weights_is_the_spectral_formula():
    """The numpy gain sum on exact eigenvalues (weights 1) has the root of zoverify.symbolic's formula."""
    spectrum = np.array([5.0, 3.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1, -0.4])  # a negative one: clipped
    # one dominant eigenvalue: eta* close to the top mode's pole, where the root search's bracket matters
    dominant = np.array([100.0, 1e-3, 1e-3])
    for spec in (spectrum, dominant):
        for law, method, beta, q in (
            ("gaussian", "gd", 0.0, 1),
            ("sphere", "gd", 0.0, 2),
            ("gaussian", "gdm", 0.5, 1),
            ("gaussian", "gd", 0.0, 8),
        ):
            ref = spectral_setting(parse_law(law), method=method, beta=beta, q=q, d=spec.size)
            ours = weighted_eta_star(spec, np.ones_like(spec), ref, lambda_max=float(spec.max()))
            assert ours == pytest.approx(float(spectral_eta_star(spec, ref)), rel=1e-12)
    # the gain constants built from a structured form match the symbolic ones (Gaussian: c, a, b = 1, 1, 2)
    built = structured_setting(1.0, 1.0, 2.0, method="gd", beta=0.0, q=3)
    ref = spectral_setting(parse_law("gaussian"), q=3, d=10)
    assert (built.kappa_g, built.kappa_s) == pytest.approx((ref.kappa_g, ref.kappa_s), rel=1e-15)


def test_matrix_free_eta_inside_its_interval_around_dense():
    """Gaussian and sphere: the dense eta* lies in the 99.9 % interval (false-failure probability <= 2e-3)."""
    model, loss_fn = digits_mlp()
    result = stepsize(model, loss_fn, laws=["gaussian", "sphere"], accuracy=0.25, confidence=0.999, seed=0)
    assert result.dimension == 610
    for law in result.laws:
        exact = dense_eta(law.law, solver="structured")
        low, high = law.eta_star_interval
        assert law.route == ROUTE_SPECTRAL
        assert low <= exact <= high, (law.law, low, exact, high)
    # lambda_max: Ritz values never exceed it, and the top one has converged here
    lam_max = float(np.linalg.eigvalsh(dense_positive_part(8, 500))[-1])
    rounding = result.dimension * np.finfo(float).eps * lam_max  # eigh's backward error on the dense side
    assert result.lambda_max <= lam_max + rounding
    assert result.lambda_max >= lam_max - result.lambda_max_residual - rounding


def test_coverage_over_seeds():
    """95 % intervals on a smaller network (d = 310), 6 seeds: at most 2 misses.

    If the coverage is at least 95 %, P(3 or more misses of 6) <= 2.3e-3: the false-failure
    probability.  The 50-seed measurement is benchmarks/stepsize_coverage.py.
    """
    seeds, allowed = 6, 2
    assert stats.binom(seeds, 0.05).sf(allowed) < 2.3e-3
    model, loss_fn = digits_mlp(hidden=4, samples=200)
    exact = dense_eta("gaussian", hidden=4, samples=200, solver="structured")
    misses = 0
    for seed in range(seeds):
        (law,) = stepsize(model, loss_fn, laws=["gaussian"], accuracy=0.2, seed=seed).laws
        misses += not (law.eta_star_interval[0] <= exact <= law.eta_star_interval[1])
    assert misses <= allowed


def test_other_laws_exact_and_bounds():
    """Rademacher (e < 0) and sparse (e > 0): exact operator at small d; above the limit the bounds hold it."""
    model, loss_fn = digits_mlp(hidden=4, samples=200)
    exact = {parse_law(s).spec: dense_eta(s, hidden=4, samples=200) for s in ("rademacher", "sparse")}
    small = stepsize(model, loss_fn, laws=["rademacher"], accuracy=0.3, seed=1)
    for law in small.laws:
        assert law.route == ROUTE_EXACT and law.eta_star == pytest.approx(exact[law.law], rel=1e-9)
    big = stepsize(model, loss_fn, laws=["rademacher", "sparse"], accuracy=0.3, seed=1, exact_max_dim=100)
    for law in big.laws:
        low, high = law.eta_star_interval
        assert law.route == ROUTE_BOUNDS and law.eta_star is None and "Diag" in law.note
        assert low <= exact[law.law] <= high, (law.law, low, exact[law.law], high)


def test_cli_json(capsys):
    spec = f"{EXAMPLE}:digits_mlp"
    code = main(["stepsize", spec, "--law", "gaussian", "--accuracy", "0.3", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    (law,) = data["laws"]
    for key in ("eta_star", "eta_star_interval", "lambda_max", "trace", "route", "first_order"):
        assert key in law
    assert law["route"] == ROUTE_SPECTRAL
    assert law["first_order"] == pytest.approx(2 / data["lambda_max"], rel=1e-15)
    assert data["cost_in_forward_backward"] > 0


def test_cli_minibatch_variant(capsys):
    """A callable returning (model, loss_fn, batch_loss_fn) gets the minibatch descent edge (its value is checked
    against exact minibatch moments in test_descent_edge.py; here the plumbing)."""
    full = main(["stepsize", f"{EXAMPLE}:digits_mlp", "--law", "gaussian", "--accuracy", "0.3", "--format", "json"])
    full_data = json.loads(capsys.readouterr().out)
    code = main(
        ["stepsize", f"{EXAMPLE}:digits_mlp_minibatch", "--law", "gaussian", "--accuracy", "0.3", "--format", "json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert full == code == 0
    assert full_data["minibatch_draws"] == 0 and data["minibatch_draws"] == 32
    assert data["laws"][0]["descent_edge"] != pytest.approx(full_data["laws"][0]["descent_edge"], rel=1e-6)
    assert data["gradient_norm"] == pytest.approx(full_data["gradient_norm"], rel=1e-12)  # the numerator is full batch


BAD_MODELS = """
import torch

def no_parameters():
    return torch.nn.Tanh(), lambda m: torch.tensor(1.0)

def _lin():
    torch_gen = torch.Generator().manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=torch_gen, dtype=torch.float64))
    return model

X = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3)

def not_scalar():
    return _lin(), lambda m: m(X) ** 2

def detached():
    return _lin(), lambda m: (m(X) ** 2).sum().detach()

def nan_loss():
    return _lin(), lambda m: (m(X) ** 2).sum() * float("nan")

def linear_loss():
    return _lin(), lambda m: m(X).sum()

def concave_loss():
    return _lin(), lambda m: -(m(X) ** 2).sum()

def raises():
    return _lin(), lambda m: 1 / 0

def not_a_pair():
    return _lin()

def four_things():
    return _lin(), lambda m: (m(X) ** 2).sum(), lambda m, g: (m(X) ** 2).sum(), 3
"""


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("no_parameters", "no trainable parameters"),
        ("not_scalar", "scalar"),
        ("detached", "no autograd graph"),
        ("nan_loss", "not finite"),
        ("linear_loss", "positive part is zero"),
        ("concave_loss", "positive part is zero"),
        ("raises", "ZeroDivisionError"),
        ("not_a_pair", "(model, loss_fn)"),
        ("four_things", "of length 4"),
        ("missing", "no attribute"),
    ],
)
@pytest.mark.parametrize("mode", [[], ["--descent-only"]])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, name, words, mode):
    path = tmp_path / "bad_models.py"
    path.write_text(BAD_MODELS)
    code = main(["stepsize", f"{path}:{name}", *mode])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err and words in err, err


def test_gauss_rules_keep_the_probe_mass_and_its_rayleigh_quotient():
    """Both rules of every probe: weights sum to ||v||^2 = d and sum w * node = v^T H v (Hutchinson's sample)."""
    from zoverify.numeric.curvature import ParameterHessian, slq_probes

    model, loss_fn = digits_mlp(hidden=4, samples=200)
    op = ParameterHessian(model, loss_fn)
    quad = slq_probes(op, num_probes=3, steps=8, generator=torch.Generator().manual_seed(0))
    for nodes, weights in ((quad.nodes, quad.weights), (quad.half_nodes, quad.half_weights)):
        np.testing.assert_allclose(weights.sum(axis=1), op.dim, rtol=1e-12)
        np.testing.assert_allclose((weights * nodes).sum(axis=1), quad.rayleigh, rtol=1e-9)


def test_a_full_lanczos_run_is_exact():
    """d steps on a d x d matrix with a wide spectrum return its eigenvalues (orthogonality kept throughout)."""
    from zoverify.numeric.curvature import gauss_quadrature, lanczos_tridiagonal

    rng = np.random.default_rng(0)
    d = 60
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.concatenate([np.geomspace(1e-3, 1.0, d - 3), [10.0, 50.0, 100.0]])
    A = torch.as_tensor((Q * eig) @ Q.T)
    alpha, beta = lanczos_tridiagonal(lambda v: A @ v, torch.as_tensor(rng.standard_normal(d)), steps=d)
    nodes, weights = gauss_quadrature(alpha, beta)
    np.testing.assert_allclose(np.sort(nodes), np.sort(eig), atol=1e-9 * eig.max())
    assert weights.sum() == pytest.approx(1.0, rel=1e-12)


def test_interval_ends_are_the_two_sided_t_bounds_widened_by_the_quadrature_error():
    """At each end of the interval |mean - 1| = t_{0.975, m-1} se + quadrature error (the two-sided 95 % bound)."""
    from zoverify.numeric.curvature import ParameterHessian, slq_probes
    from zoverify.numeric.stepsize import gain_terms, pole, spectral_estimate

    model, loss_fn = digits_mlp(hidden=4, samples=200)
    op = ParameterHessian(model, loss_fn)
    quad = slq_probes(op, num_probes=40, steps=40, generator=torch.Generator().manual_seed(3))
    setting = spectral_setting(parse_law("gaussian"), d=op.dim)
    lam_max = float(quad.nodes.max())
    est = spectral_estimate(quad, setting, lambda_max=lam_max, confidence=0.95)
    t = stats.t(quad.num_probes - 1).isf(0.025)
    for eta, side in ((est.low, +1), (est.high, -1)):
        full = np.sum(quad.weights * gain_terms(eta, quad.nodes, setting), axis=1)
        half = np.sum(quad.half_weights * gain_terms(eta, quad.half_nodes, setting), axis=1)
        se = full.std(ddof=1) / np.sqrt(quad.num_probes)
        gap = abs(np.mean(full - half))
        assert full.mean() + side * (t * se + gap) - 1 == pytest.approx(0.0, abs=1e-9)
    assert est.low < est.eta_star < est.high < pole(setting, lam_max)  # both ends are roots, not the pole


def test_slq_claim_trace_pseudo_values_have_the_hutchinson_spread():
    """The trace's jackknife values are group means of Rademacher quadratic forms: their variance is
    2 (||H||_F^2 - sum H_ii^2) / (probes per group) exactly, so 31 s^2 / sigma^2 is near chi^2(31);
    two-sided at 1e-4 (group means of 8 forms are close to normal; the false-failure probability is ~1e-4)."""
    from zoverify.claims import REGISTRY
    from zoverify.claims.stepsize.common import dense_instance
    from zoverify.claims.stepsize.slq import GROUPS, _simulate
    from zoverify.verify.claim import Context

    entry = REGISTRY["stepsize.slq_eta_star"].load()
    ctx = Context(parse_law("gaussian"), entry.resolve_params(None), 8 * GROUPS, 0, torch.device("cpu"), torch.float64)
    pseudo = _simulate(ctx)[:, -1]
    H = dense_instance(ctx).hessian
    sigma2 = 2 * (np.sum(H**2) - np.sum(np.diag(H) ** 2)) / 8
    statistic = (GROUPS - 1) * pseudo.var(ddof=1) / sigma2
    chi2 = stats.chi2(GROUPS - 1)
    assert chi2.ppf(5e-5) < statistic < chi2.isf(5e-5)


def test_cli_passes_every_option_through(capsys):
    """The CLI's JSON equals the API's result for the same options (beta 0 included: gdm at beta 0 is gd)."""
    spec = f"{EXAMPLE}:digits_mlp"
    args = ["--law", "gaussian", "--accuracy", "0.35", "--queries", "2", "--seed", "4", "--format", "json"]
    assert main(["stepsize", spec, *args, "--method", "gdm", "--beta", "0"]) == 0
    cli = json.loads(capsys.readouterr().out)
    model, loss_fn = digits_mlp()
    api = stepsize(model, loss_fn, laws=["gaussian"], accuracy=0.35, queries=2, seed=4, method="gdm", beta=0.0)
    assert cli["beta"] == 0.0 and cli["accuracy"] == 0.35 and cli["queries"] == 2 and cli["seed"] == 4
    assert cli["num_probes"] == api.num_probes
    assert cli["laws"][0]["eta_star"] == pytest.approx(api.laws[0].eta_star, rel=1e-12)


def test_top_eigenvalue_residual_is_the_ritz_pairs_residual_norm():
    """residual = beta_k |s_k| equals ||A y - theta y|| for the top Ritz pair, computed here from a numpy Lanczos."""
    from types import SimpleNamespace

    from zoverify.numeric.curvature import top_eigenvalues

    rng = np.random.default_rng(1)
    d, steps = 40, 8
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = (Q * np.geomspace(0.01, 5.0, d)) @ Q.T
    At = torch.as_tensor(A)
    op = SimpleNamespace(dim=d, device=torch.device("cpu"), matvec=lambda v: At @ v)
    top, residual = top_eigenvalues(op, steps=steps, generator=torch.Generator().manual_seed(2))  # pyright: ignore[reportArgumentType]
    start = torch.randn(d, generator=torch.Generator().manual_seed(2), dtype=torch.float64).numpy()
    basis = [start / np.linalg.norm(start)]
    for _ in range(steps - 1):  # Krylov basis by Gram-Schmidt, twice
        w = A @ basis[-1]
        for _ in range(2):
            w = w - np.array(basis).T @ (np.array(basis) @ w)
        basis.append(w / np.linalg.norm(w))
    V = np.array(basis).T
    theta, S = np.linalg.eigh(V.T @ A @ V)
    y = V @ S[:, -1]
    assert top[0] == pytest.approx(theta[-1], rel=1e-10)
    assert residual == pytest.approx(np.linalg.norm(A @ y - theta[-1] * y), rel=1e-6)


def test_half_rule_is_the_first_half_of_the_run():
    """The quadrature-error estimate compares the k-step rule with the rule of the run's first k/2 steps."""
    from zoverify.numeric.curvature import ParameterHessian, gauss_quadrature, lanczos_tridiagonal, slq_probes

    model, loss_fn = digits_mlp(hidden=4, samples=100)
    op = ParameterHessian(model, loss_fn)
    quad = slq_probes(op, num_probes=1, steps=12, generator=torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    v = 2.0 * torch.randint(0, 2, (op.dim,), generator=gen).to(torch.float64) - 1.0
    alpha, beta = lanczos_tridiagonal(op.matvec, v, steps=6)
    nodes, weights = gauss_quadrature(alpha, beta)
    half = quad.half_weights[0] > 0
    assert quad.half_nodes[0][half] == pytest.approx(nodes[weights > 0], rel=1e-9, abs=1e-12)
    assert quad.half_weights[0][half] / op.dim == pytest.approx(weights[weights > 0], rel=1e-9, abs=1e-15)


def test_cli_descent_only(capsys):
    """--descent-only reaches the API (its JSON equals the API's) and the text names what was not estimated."""
    spec = f"{EXAMPLE}:digits_mlp"
    assert main(["stepsize", spec, "--law", "gaussian", "--descent-only", "--seed", "2", "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    model, loss_fn = digits_mlp()
    api = stepsize(model, loss_fn, laws=["gaussian"], seed=2, descent_only=True)
    assert cli["laws"][0]["eta_star"] is None and cli["num_probes"] == 0
    assert cli["laws"][0]["descent_edge"] == pytest.approx(api.laws[0].descent_edge, rel=1e-12)
    assert main(["stepsize", spec, "--law", "gaussian", "--descent-only"]) == 0
    text = capsys.readouterr().out
    assert "eta* not estimated" in text and "Tr H_+" not in text and "Hutchinson probes" in text


def test_three_term_lanczos_finds_the_extremes_without_its_basis():
    """Past the point where orthogonality is lost (60 steps on d = 200), the three-term recurrence's top and
    bottom Ritz values still match the eigenvalues (to 1e-8 relative), and its first steps equal the
    fully reorthogonalized run's."""
    from zoverify.numeric.curvature import lanczos_three_term, lanczos_tridiagonal

    rng = np.random.default_rng(4)
    d = 200
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.concatenate([[9.0, 7.5], rng.uniform(-1, 1, d - 2)])
    A = torch.as_tensor((Q * lam) @ Q.T)
    start = torch.as_tensor(rng.standard_normal(d))
    alpha, beta = lanczos_three_term(lambda v: A @ v, start, steps=60)
    full_alpha, _ = lanczos_tridiagonal(lambda v: A @ v, start, steps=60)
    T = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
    ritz = np.linalg.eigvalsh(T)
    assert ritz[-1] == pytest.approx(9.0, rel=1e-8) and ritz[0] == pytest.approx(lam.min(), rel=1e-8)
    assert alpha[:5] == pytest.approx(full_alpha[:5], rel=1e-10)


def test_cli_refuses_beta_with_gd_even_at_zero(capsys):
    assert main(["stepsize", f"{EXAMPLE}:digits_mlp", "--method", "gd", "--beta", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--beta is not used with --method gd" in err


def test_cli_text_counts_what_it_says():
    """The text's probe count is the trace's Hutchinson probes in a descent-only run, the SLQ probes otherwise."""
    import contextlib
    import io

    spec = f"{EXAMPLE}:digits_mlp"
    for extra, field in ((["--descent-only"], "trace_probes"), ([], "num_probes")):
        text, data = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(text):
            assert main(["stepsize", spec, "--law", "gaussian", "--accuracy", "0.3", *extra]) == 0
        with contextlib.redirect_stdout(data):
            assert main(["stepsize", spec, "--law", "gaussian", "--accuracy", "0.3", *extra, "--format", "json"]) == 0
        count = json.loads(data.getvalue())[field]
        words = "Hutchinson probes" if extra else "probes x"
        assert f"{count} {words}" in text.getvalue(), (count, text.getvalue())
