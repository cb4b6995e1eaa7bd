"""NZK claims (pass + negative control) and the ``zoverify nzk`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zoverify.claims import REGISTRY, check
from zoverify.cli import main

NZK = sorted(n for n in REGISTRY if n.startswith("nzk."))
EXPECTED = {
    "nzk.independent_kernel",
    "nzk.shared_gaussian",
    "nzk.corollary2",
    "nzk.shared_iid",
    "nzk.time_invariance",
    "nzk.mean_evolution",
    "nzk.shared_equals_scaled_zo_gd",
    "nzk.kernel_stability",
    "nzk.linearized_net",
    "nzk.headline_kernel_zo",
    "nzk.headline_best_of",
}
HEADLINE = {"nzk.headline_kernel_zo", "nzk.headline_best_of"}  # ~5 s each: conformance and test_nzk_headline cover them


def test_all_p1_claims_registered():
    assert EXPECTED <= set(NZK)


@pytest.mark.parametrize("name", sorted(set(NZK) - HEADLINE))
def test_claim_passes_and_negative_control_is_rejected(name):
    claim = REGISTRY[name]
    result = check(claim, law=claim.laws[0])
    assert result.verdict == "pass", result.message
    assert result.negative_control_rejected, (result.min_detectable_rel, claim.negative_delta)
    assert result.min_detectable_rel < claim.negative_delta


@pytest.mark.slow
@pytest.mark.parametrize(("name", "law"), [(n, law) for n in NZK for law in REGISTRY[n].laws[1:]])
def test_claim_other_default_laws(name, law):
    result = check(REGISTRY[name], law=law)
    assert result.passed and result.negative_control_rejected


def test_wrong_statement_fails():
    """A kernel factor 3 % off fails (Rademacher at d = 5: the worst component is determined to ~1 %)."""
    assert check(REGISTRY["nzk.shared_iid"], law="rademacher", scale=1.03).verdict == "fail"
    assert check(REGISTRY["nzk.shared_iid"], law="rademacher", scale=0.97).verdict == "fail"


def test_not_applicable_laws_are_reported():
    assert check(REGISTRY["nzk.corollary2"], law="rademacher").verdict == "n/a"
    assert check(REGISTRY["nzk.shared_iid"], law="student_t(nu=6)").verdict == "n/a"  # 8th moment missing
    assert check(REGISTRY["nzk.shared_gaussian"], law="laplace").verdict == "n/a"
    r = check(REGISTRY["nzk.linearized_net"], law="gaussian(mean=[1,2])")
    assert r.verdict == "n/a" and "711" in r.message


def test_check_nzk_with_another_law(capsys):
    code = main(["check", "nzk.shared_iid", "nzk.corollary2", "--law", "laplace(b=0.7)", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    verdicts = {r["claim"]: r["verdict"] for r in out["results"]}
    assert code == 0
    assert verdicts == {"moments.sampler": "pass", "nzk.shared_iid": "pass", "nzk.corollary2": "n/a"}


# -- the nzk command -------------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(["nzk", *argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_cli_vector_mean_json_matrix(capsys):
    mu, s = np.array([0.3, -0.5, 0.2]), 0.7
    code, out, _ = run_cli(
        capsys, "--law", "gaussian(mean=[0.3,-0.5,0.2], std=0.7)", "--pairing", "shared", "--format", "json"
    )
    assert code == 0
    info = json.loads(out)
    d, n2 = 3, mu @ mu
    # the paper's closed form, computed here in plain numpy
    stated = ((d + 2) * s**4 + s**2 * n2) * np.eye(d) + ((d + 4) * s**2 + n2) * np.outer(mu, mu)
    assert info["dimension"] == 3 and "latex" in info
    assert np.allclose(np.array(info["matrix"]), stated, rtol=1e-14, atol=0)


def test_cli_dim_gaussian_and_independent(capsys):
    code, out, _ = run_cli(capsys, "--law", "gaussian(std=2)", "--dim", "4", "--format", "json")
    info = json.loads(out)
    assert code == 0 and np.allclose(info["matrix"], (4 + 2) * 16 * np.eye(4))
    code, out, _ = run_cli(
        capsys,
        "--law",
        "gaussian(mean=0.5, std=2)",
        "--zeta-law",
        "laplace(b=0.6)",
        "--pairing",
        "independent",
        "--dim",
        "3",
        "--format",
        "json",
    )
    info = json.loads(out)
    expected = (2 * 0.36 * np.eye(3)) @ (4 * np.eye(3) + 0.25 * np.ones((3, 3)))
    assert code == 0 and np.allclose(info["matrix"], expected, rtol=1e-14)


def test_cli_states_the_independent_pair_orientation(capsys):
    code, out, _ = run_cli(capsys, "--law", "gaussian", "--pairing", "independent", "--dim", "2")
    assert code == 0 and "orientation: K(x_i, x_j) = (zeta.x_i)(zeta.z)(z.x_j)" in out and "2603.21169" in out
    code, out, _ = run_cli(capsys, "--law", "gaussian", "--pairing", "independent", "--format", "json")
    assert code == 0 and "transpose" in json.loads(out)["orientation"]
    assert "2603.21169" in REGISTRY["nzk.independent_kernel"].statement


def test_cli_text_and_latex(capsys):
    code, out, _ = run_cli(capsys, "--law", "rademacher")
    assert code == 0 and "c = d" in out
    code, out, _ = run_cli(capsys, "--law", "laplace(b=0.6)", "--format", "latex")
    assert code == 0 and r"\mathbb{I}" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--law", "student_t(nu=3)", "--pairing", "shared"], "order 4"),
        (["--law", "gaussian", "--zeta-law", "rademacher", "--pairing", "shared"], "independent"),
        (["--law", "gaussian(mean=[1,2])", "--dim", "3"], "does not match"),
        (["--law", "nosuchlaw"], "unknown law"),
        (["--law", "gaussian", "--pairing", "both"], "invalid choice"),
        (["--law", "gaussian", "--dim", "0"], "positive"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_shared_update_is_not_plain_zo_gd_with_a_near_miss_speed_up():
    """A speed-up 3 % off (d + 0.18 for d at d = 6, Rademacher: worst component determined to ~1.6 %) fails."""
    claim = REGISTRY["nzk.shared_equals_scaled_zo_gd"]
    assert check(claim, law="rademacher", scale=1.03).verdict == "fail"
    assert check(claim, law="rademacher", scale=0.97).verdict == "fail"


@pytest.mark.parametrize("name", ["nzk.time_invariance", "nzk.mean_evolution", "nzk.kernel_stability"])
def test_training_claims_refuse_dependent_draws(name):
    result = check(REGISTRY[name], law="block(blocks=4, order='cyclic')", params={"dim": 4})
    assert result.verdict == "n/a" and "dependent" in result.message


def test_kernel_stability_decays_below_and_grows_above_the_threshold():
    """The measured t-step means (calibrated intervals at alpha) lie below 1 at 1.9 N/lam_max and above 1 at 2.1."""
    result = check(REGISTRY["nzk.kernel_stability"])
    assert result.verdict == "pass"
    at = {label: i for i, label in enumerate(result.labels)}
    below, above = at["E v'r_t/v'r_0 at eta = 1.9 N/lam_max, t=8"], at["E v'r_t/v'r_0 at eta = 2.1 N/lam_max, t=8"]
    assert result.ci_high[below] < 1 and result.ci_low[above] > 1


@pytest.mark.parametrize("factor", [1.03, 0.97])
def test_kernel_stability_rejects_a_threshold_formula_3_percent_off(monkeypatch, factor):
    """The simulation's step sizes do not come from the threshold formula: a formula 3 % off fails.

    At the defaults the t = 8 means move by ~40 % (per-step factor off by ~2 * 3 % / 0.9) against an
    acceptance half-width of ~0.2 (batch means at alpha = 1e-4, Bonferroni over 4 components).
    """
    from zoverify.symbolic import nzk as sym
    from zoverify.symbolic import symbols as S

    def near_miss(lam_max=S.lam_max, N=S.N):
        return factor * 2 * N / lam_max

    monkeypatch.setattr(sym, "stability_threshold_expr", near_miss)
    assert check(REGISTRY["nzk.kernel_stability"]).verdict == "fail"
