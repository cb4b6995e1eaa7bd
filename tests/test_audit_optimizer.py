"""The optimizer replay and the torch update's stable step: references pass, planted slips are caught and named."""

from __future__ import annotations

import numpy as np
import pytest

from zoverify.audit import audit
from zoverify.claims import check, select

SLIPS = "examples/audit/slips.py"


def _run(name, law="gaussian", **params):
    return check(select([name])[0], law=law, params=params)


@pytest.mark.parametrize(
    "name", ["audit.optimizer_replay", "audit.optimizer_replay_gdm", "audit.optimizer_replay_adam"]
)
@pytest.mark.parametrize("law", ["gaussian", "rademacher"])
def test_replay_passes_on_the_reference(name, law):
    r = _run(name, law)
    assert r.verdict == "pass", r.message
    assert (
        r.estimate[-1] == 0 and max(map(abs, r.estimate[:-1])) <= 1
    )  # within the rounding bound, every step on pattern


def test_the_first_adam_step_is_lr_times_the_sign():
    """At t = 1, m_hat = g and v_hat = g^2, so x1 = x0 - lr g / (|g| + eps); without bias correction
    m = 0.1 g and sqrt(v) = sqrt(0.001) |g| (Kingma and Ba, Algorithm 1)."""
    from zoverify.claims.audit.replay import Recursion, replay

    x0, g, lr = np.array([1.0, -2.0]), np.array([3.0, -0.5]), 0.1
    path, bound = replay(x0, [(g, np.zeros(2))], Recursion("adam", lr))
    assert path[0] == pytest.approx(x0 - lr * g / (np.abs(g) + 1e-8), rel=1e-15, abs=1e-15)
    # the rounding bound is nonzero and far below the deviation of the 1 % lr near miss (0.01 lr |g| / |g|)
    assert np.all(bound > 0) and np.all(bound < 1e-6 * 0.01 * lr)
    raw, _ = replay(x0, [(g, np.zeros(2))], Recursion("adam", lr, bias_correction=False))
    assert raw[0] == pytest.approx(x0 - lr * 0.1 * g / (np.sqrt(0.001) * np.abs(g) + 1e-8), rel=1e-15, abs=1e-15)


def test_replay_of_adam_matches_an_independent_loop():
    """Three Adam steps written out here against the replay, on fixed estimates."""
    from zoverify.claims.audit.replay import Recursion, replay

    rng = np.random.default_rng(7)
    gs = rng.standard_normal((3, 4))
    x, m, v = np.zeros(4), np.zeros(4), np.zeros(4)
    expected = []
    for t, g in enumerate(gs, start=1):
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g**2
        x = x - 0.05 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-6)
        expected.append(x)
    path, bound = replay(np.zeros(4), [(g, np.zeros(4)) for g in gs], Recursion("adam", 0.05, 0.8, 0.99, 1e-6))
    assert np.all(np.abs(path - np.array(expected)) <= bound)


def test_the_central_estimate_is_formed_from_the_queries():
    """On f = x^T x / 2 at x = (1, 2) with z = (1, -1) and mu = 0.5 the central difference is z^T x = -1."""
    from zoverify.claims.audit.replay import estimate_from_queries

    x, z, mu = np.array([1.0, 2.0]), np.array([1.0, -1.0]), 0.5
    points = [x + mu * z, x - mu * z]
    g, bound = estimate_from_queries(
        x, points, [p @ p / 2 for p in points], scheme="central", mu=mu, queries=1, scale=1.0
    )
    assert g == pytest.approx([-1.0, 1.0], abs=1e-15) and np.all(bound < 1e-14)
    assert estimate_from_queries(x, points, [0.0, 0.0], scheme="forward", mu=mu, queries=1, scale=1.0) is None


@pytest.mark.parametrize(
    ("slip", "method", "named"),
    [
        ("ema_momentum", "gdm", "m = beta m + (1 - beta) g"),
        ("adam_without_bias_correction", "adam", "Adam without bias correction"),
    ],
)
def test_replay_names_the_slip(slip, method, named):
    # the replay is exact (its samples are its instances); the other properties run at their minimum here
    report = audit(f"{SLIPS}:{slip}", kind="optimizer", law="gaussian", method=method, samples=64)
    replayed = [r for r in report.results if r.claim == "audit.optimizer_replay"]
    assert replayed and replayed[0].verdict == "fail", report.text()
    assert any(named in f.diagnosis for f in report.findings if f.prop == "audit.optimizer_replay"), report.text()
    if method == "adam":  # the mean path and the stable step are derived for steps linear in x only
        assert {r.verdict for r in report.results if r.claim != "audit.optimizer_replay"} == {"n/a"}


def test_lr_off_by_one_percent_is_named():
    from zoverify.perturbations import parse_law
    from zoverify.subjects import reference_optimizer

    inner = reference_optimizer(
        parse_law("gaussian"), method="adam", scheme="forward", queries=2
    )  # as the variant declares

    def factory(x0, lr, seed):
        return inner(x0, 1.01 * lr, seed)

    r = _run("audit.optimizer_replay_adam", subject=_remember(factory))
    assert r.verdict == "fail" and r.controls_not_rejected == ["lr x1.01"]


def _remember(obj):
    from zoverify.subjects import remember

    return remember(obj)


def test_torch_update_stable_step_passes_on_the_reference():
    """Rademacher directions give a tight edge (kurtosis 1): a quarter of the default samples rejects +-10 %."""
    r = check(select(["audit.torch_update_stable_step"])[0], law="rademacher", num_samples=2048)
    assert r.verdict == "pass", r.message


def test_torch_update_with_scale_two_fails_the_stable_step():
    """Twice the step halves the edge: the prediction is rejected at an eighth of the default samples."""
    r = check(
        select(["audit.torch_update_stable_step"])[0],
        law="gaussian",
        params={"subject": f"{SLIPS}:scale_two_update"},
        num_samples=1024,
    )
    assert r.verdict == "fail", r.message
    assert r.ci_high[0] < 0.9 * r.prediction[0]


def test_a_step_along_one_fixed_direction_has_no_stable_step_and_is_named():
    """Every probed one-step map has rank one, so I - lr B keeps eigenvalue 1 at every lr: edge 0, a finding."""
    from zoverify.audit import audit

    report = audit(f"{SLIPS}:broadcast_step", kind="optimizer", law="gaussian", samples=256)
    stable = [r for r in report.results if r.claim == "audit.optimizer_stable_step"]
    assert stable and stable[0].verdict == "fail" and stable[0].estimate == [0.0], report.text()
    named = [f.diagnosis for f in report.findings if f.prop == "audit.optimizer_stable_step"]
    assert named and "no step size is mean-square stable" in named[0], report.text()
    assert report.exit_code == 1


def test_a_property_the_setting_rules_out_is_not_applicable_not_an_error():
    """With q > 1 the update sums directions, so the direction property says n/a, and the audit goes on."""
    r = check(select(["audit.torch_update_direction"])[0], params={"queries": 4, "size": 64})
    assert r.verdict == "n/a" and "q > 1" in r.message


def test_a_torch_update_twice_too_long_is_named_scale_two():
    """The per-tensor mean is 2x its prediction in every tensor: the finding says which slip that is."""
    from zoverify.audit import audit

    report = audit(f"{SLIPS}:scale_two_update", kind="torch-update", samples=4096, size=4096)
    named = [f.diagnosis for f in report.findings if f.prop == "audit.torch_update_mean"]
    assert named and named[0].startswith("update twice too long"), report.text()
