"""Sweep grids, the results store and the calibration report (no cluster needed)."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from zoverify._errors import InvalidParameterError, UnknownNameError, ZoverifyError
from zoverify.claims import REGISTRY, Verdict
from zoverify.sweep import report as sweep_report
from zoverify.sweep.grid import (
    Item,
    build_items,
    load_grid_file,
    parse_param_items,
    parse_seeds,
)
from zoverify.sweep.report import ALL_CONTROLS, clopper_pearson, control_rates, pair_rates, write_reports
from zoverify.sweep.store import ResultStore


def test_seed_ranges():
    assert parse_seeds("3:7") == range(3, 7)
    for bad in ("5:5", "7:3"):
        with pytest.raises(InvalidParameterError, match="empty seed range"):
            parse_seeds(bad)
    for bad in ("5", "a:b", "-1:4"):
        with pytest.raises(InvalidParameterError, match="--seeds"):
            parse_seeds(bad)


def test_item_key_names_every_field():
    base = Item("stability.mc_decay", "gaussian", (("fraction", 0.5),), 3, 16384, 0.05, 0.0)
    variants = [
        Item("stability.mc_decay", "rademacher", (("fraction", 0.5),), 3, 16384, 0.05, 0.0),
        Item("stability.mc_decay", "gaussian", (("fraction", 0.25),), 3, 16384, 0.05, 0.0),
        Item("stability.mc_decay", "gaussian", (("fraction", 0.5),), 4, 16384, 0.05, 0.0),
        Item("stability.mc_decay", "gaussian", (("fraction", 0.5),), 3, 8192, 0.05, 0.0),
        Item("stability.mc_decay", "gaussian", (("fraction", 0.5),), 3, 16384, 0.01, 0.0),
        Item("stability.mc_decay", "gaussian", (("fraction", 0.5),), 3, 16384, 0.05, 0.05),
    ]
    keys = {base.key} | {v.key for v in variants}
    assert len(keys) == 1 + len(variants)
    same = Item("stability.mc_decay", "gaussian", (("fraction", 0.5),), 3, 16384, 0.05, 0.0)
    assert same.key == base.key


def test_grid_is_claims_by_default_laws_by_seeds():
    claim = REGISTRY["stability.mc_decay"]
    items = build_items(["stability.mc_decay"], seeds=range(0, 3), alpha=0.05)
    assert len(items) == len(claim.laws) * 3
    assert {i.law for i in items} == set(claim.laws) and {i.num_samples for i in items} == {claim.num_samples}
    # a key given twice is an axis; laws are canonical specs; sizes are an axis too
    items = build_items(
        ["stability.mc_decay"],
        seeds=range(2),
        laws=["gaussian(mean=0, std=1)"],
        params=parse_param_items(["fraction=0.5", "fraction=0.25"]),
        samples=[1024, 2048],
        alpha=0.05,
    )
    assert len(items) == 2 * 2 * 2
    assert {dict(i.params)["fraction"] for i in items} == {0.5, 0.25}
    assert len({i.law for i in items}) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"names": ["stability.no_such_claim"]}, UnknownNameError, "unknown claim"),
        ({"laws": ["gausian"]}, UnknownNameError, "unknown law"),
        ({"params": {"no_such_key": ["1"]}}, InvalidParameterError, "no selected claim has a parameter"),
        ({"params": {"fraction": ["-3"]}}, InvalidParameterError, "fraction"),
        ({"seeds": range(4, 4)}, InvalidParameterError, "empty seed range"),
        ({"alpha": 1.5}, InvalidParameterError, "alpha"),
        ({"samples": [0]}, InvalidParameterError, "samples"),
    ],
)
def test_bad_grids_are_refused(kwargs, error, text):
    args = {"names": ["stability.mc_decay"], "seeds": range(2), "alpha": 0.05, **kwargs}
    with pytest.raises(error, match=text):
        build_items(args.pop("names"), **args)


def test_toml_grid_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        '[[grid]]\nclaims = ["stability.mc_decay"]\nlaws = ["gaussian"]\nseeds = "0:3"\nalpha = 0.05\n'
        "samples = [4096]\nperturb = [0.0, 0.1]\n[grid.params]\nfraction = [0.5, 0.25]\n"
        '[[grid]]\nclaims = "stability.mean_threshold"\nseeds = "10:12"\n'
    )
    items = load_grid_file(path, default_alpha=1e-4)
    mc = [i for i in items if i.claim == "stability.mc_decay"]
    exact = [i for i in items if i.claim == "stability.mean_threshold"]
    assert len(mc) == 3 * 2 * 2 and {i.num_samples for i in mc} == {4096} and {i.perturb for i in mc} == {0.0, 0.1}
    assert len(exact) == 2 * len(REGISTRY["stability.mean_threshold"].laws) and {i.alpha for i in exact} == {1e-4}
    path.write_text('claims = ["stability.mc_decay"]\nseeds = "0:3"\nseed = 4\n')
    with pytest.raises(ZoverifyError, match="unknown key 'seed'"):
        load_grid_file(path, default_alpha=0.05)
    path.write_text('claims = ["stability.mc_decay"\n')
    with pytest.raises(ZoverifyError, match="not valid TOML"):
        load_grid_file(path, default_alpha=0.05)


def test_store_keeps_rows_drops_a_torn_line_and_resumes(tmp_path):
    store = ResultStore(tmp_path / "out")
    store.prepare()
    store.append({"key": "a", "verdict": "pass"})
    store.append({"key": "b", "verdict": "fail"})
    with open(store.path, "a") as fh:  # a crash in the middle of a write
        fh.write('{"key": "c", "verd')
    assert store.done_keys() == {"a", "b"}
    store.prepare()
    store.append({"key": "c", "verdict": "pass"})
    assert [json.loads(line)["key"] for line in store.path.read_text().splitlines()] == ["a", "b", "c"]


def test_unwritable_folder_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ZoverifyError, match="not writable"):
        ResultStore(blocker / "out").prepare()


def test_verdict_strings_match_the_claims():
    assert sweep_report.FAIL == Verdict.FAIL.value and sweep_report.INCONCLUSIVE == Verdict.INCONCLUSIVE.value
    assert set(sweep_report.DECIDED) == {Verdict.PASS.value, Verdict.FAIL.value, Verdict.INCONCLUSIVE.value}


@pytest.mark.parametrize(("k", "n"), [(0, 20), (1, 20), (4, 20), (20, 20), (7, 300)])
def test_clopper_pearson_matches_scipy_exact_interval(k, n):
    # a second route: scipy's binomtest inverts the binomial tail sums directly
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((expected.low, expected.high), rel=1e-9, abs=1e-12)


def _rows(claim, law, verdicts, *, alpha=0.05, perturb=0.0, detectable=0.02):
    return [
        {
            "key": f"{claim}{law}{perturb}{s}",
            "claim": claim,
            "law": law,
            "overrides": {},
            "num_samples": 100,
            "alpha": alpha,
            "perturb": perturb,
            "verdict": v,
            "min_detectable_rel": detectable,
        }
        for s, v in enumerate(verdicts)
    ]


def test_pair_rates_count_failures_flag_excess_and_pool(tmp_path):
    rows = (
        _rows("x.calibrated", "gaussian", ["pass"] * 97 + ["fail"] * 2 + ["inconclusive"])
        + _rows("x.excess", "gaussian", ["pass"] * 80 + ["fail"] * 20)
        + _rows("x.na", "sphere", ["n/a"] * 3)
    )
    pairs = {p.claim: p for p in pair_rates(rows)}
    ok, bad = pairs["x.calibrated"], pairs["x.excess"]
    assert (ok.failures, ok.checks, ok.inconclusive, ok.flagged) == (2, 100, 1, False)
    assert (bad.failures, bad.checks, bad.flagged) == (20, 100, True)
    # 20/100 against 5 %: P(X >= 20) is about 1e-6, below 0.05 / 3 pairs
    assert bad.significant and bad.p_value == pytest.approx(stats.binom.sf(19, 100, 0.05))
    assert pairs["x.na"].checks == 0 and pairs["x.na"].not_applicable == 3 and not pairs["x.na"].flagged
    payload = write_reports(rows, tmp_path)
    (total,) = payload["totals"]
    assert (total["failures"], total["checks"], total["pairs"]) == (22, 200, 3)
    assert (tmp_path / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "**significant**" in (tmp_path / "calibration.md").read_text()


def test_power_pairs_flag_a_rate_below_the_stated_power(tmp_path):
    # delta 5 % against a stated detectable size of 2 %: the rate must reach 90 %
    rows = (
        _rows("x.powered", "gaussian", ["fail"] * 58 + ["pass"] * 2, perturb=0.05)
        + _rows("x.weak", "gaussian", ["fail"] * 40 + ["pass"] * 20, perturb=0.05)
        + _rows("x.small", "gaussian", ["fail"] * 10 + ["pass"] * 50, perturb=0.01)
    )
    pairs = {p.claim: p for p in pair_rates(rows)}
    assert not pairs["x.powered"].flagged and pairs["x.weak"].flagged
    assert not pairs["x.small"].flagged  # 1 % is below the stated size: no power was promised
    payload = write_reports(rows, tmp_path)
    assert payload["calibration"] == [] and len(payload["power"]) == 3
    assert (tmp_path / "power.png").is_file() and "below stated power" in (tmp_path / "power.md").read_text()


def test_a_perturbed_prediction_is_rejected_at_its_stated_power(tmp_path):
    # stability.mc_decay states a detectable size near 2 % at 90 % power; a 10 % error
    # is over four such sizes, so a miss has probability far below 1e-6 per seed
    from zoverify.sweep.engine import run_serial

    items = build_items(["stability.mc_decay"], laws=["gaussian"], seeds=range(3), alpha=0.05, perturb=[0.1])
    store = ResultStore(tmp_path)
    store.prepare()
    summary = run_serial(items, store)
    assert summary.ran == 3 and summary.errors == 0
    (pair,) = pair_rates(store.rows())
    assert pair.perturb == 0.1 and pair.detectable_rel < 0.05 and (pair.failures, pair.checks) == (3, 3)
    assert not pair.flagged


def test_control_rates_count_each_near_miss_and_flag_a_weak_one(tmp_path):
    """Two named controls over 60 seeds: 'near' rejected 58 times (interval reaches 90 %), 'far' 40 times
    (interval below 90 %: flagged); 'every control' counts seeds where both were rejected; a row written
    before names were recorded counts only there."""
    rows = _rows("x.c", "gaussian", ["pass"] * 60)
    for s, row in enumerate(rows):
        kept = (["near"] if s < 2 else []) + (["far"] if s >= 40 else [])
        row.update(controls=["near", "far"], controls_not_rejected=kept, num_controls=2)
    legacy = _rows("x.c", "gaussian", ["pass"])[0] | {"key": "old", "controls_not_rejected": [], "num_controls": 2}
    rates = {c.control: c for c in control_rates([*rows, legacy])}
    assert (rates["near"].rejections, rates["near"].checks, rates["near"].flagged) == (58, 60, False)
    assert (rates["far"].rejections, rates["far"].checks, rates["far"].flagged) == (40, 60, True)
    assert (rates[ALL_CONTROLS].rejections, rates[ALL_CONTROLS].checks) == (39, 61)
    payload = write_reports([*rows, legacy], tmp_path)
    assert len(payload["controls"]) == 3 and "below 90 % power" in (tmp_path / "controls.md").read_text()
    assert (tmp_path / "controls.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_real_sweep_reports_how_often_its_claim_rejected_its_own_controls(tmp_path):
    """stability.mean_threshold over 3 seeds: every control is named in the store and rejected on each seed."""
    from zoverify.sweep.engine import run_serial

    items = build_items(["stability.mean_threshold"], laws=["gaussian"], seeds=range(3), alpha=0.05)
    store = ResultStore(tmp_path)
    store.prepare()
    run_serial(items, store)
    rates = control_rates(store.rows())
    assert rates[-1].control == ALL_CONTROLS and rates[-1].checks == 3
    assert len(rates) >= 2 and all(c.rejections == c.checks == 3 for c in rates)


def test_an_item_that_raises_is_kept_apart_and_retried(tmp_path):
    from zoverify.sweep.engine import run_serial

    good = build_items(["stability.mean_threshold"], laws=["gaussian"], seeds=range(1), alpha=0.05)
    broken = Item("stability.no_such_claim", "gaussian", (), 0, 1, 0.05)  # built past the grid's validation
    store = ResultStore(tmp_path)
    store.prepare()
    summary = run_serial([*good, broken], store)
    assert (summary.ran, summary.errors) == (1, 1)
    (error,) = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert error["key"] == broken.key and "no_such_claim" in error["error"]
    assert store.done_keys() == {good[0].key}
    assert run_serial([*good, broken], store).errors == 1  # retried, not skipped
