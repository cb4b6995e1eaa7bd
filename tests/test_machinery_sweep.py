"""The sweep's machinery on a small real dask cluster: items that raise on a worker, an interrupted run, the
terminal's text and progress bar, and the store and report read back.

The cluster is one scheduler and one single-threaded worker in this process (no worker process to start and
import torch in): the items are the cheapest claim, stability.mean_threshold, about 0.05 s each.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pytest

from zoverify._errors import ZoverifyError
from zoverify.cli import main
from zoverify.sweep import ResultStore, build_items, open_client, run_dask, write_reports
from zoverify.sweep.engine import SweepSummary, run_item
from zoverify.sweep.grid import Item

CLAIM = "stability.mean_threshold"


@pytest.fixture(scope="module")
def cluster():
    """(client, scheduler address) of an in-process cluster with one single-threaded worker."""
    from distributed import Client, LocalCluster

    local = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://", dashboard_address=":0")
    with local, Client(local, set_as_default=False) as client:
        yield client, local.scheduler_address


def items(seeds: str) -> list[Item]:
    start, stop = map(int, seeds.split(":"))
    return build_items([CLAIM], laws=["gaussian"], seeds=range(start, stop), alpha=0.05)


def without_timing(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "elapsed_s"}


def sweep_tasks(client) -> list[str]:
    names = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
    return [k for k in names if k.startswith("zoverify-sweep-")]


def test_no_workers_is_refused_before_a_cluster_starts():
    """0 used to fall through to one worker per core (``workers or CPU_COUNT``)."""
    for bad in (0, -1):
        with pytest.raises(ZoverifyError, match=f"--workers must be positive, got {bad}"), open_client(workers=bad):
            pytest.fail("a cluster was opened")


def test_an_item_that_raises_on_a_worker_is_kept_apart(cluster, tmp_path):
    client, _ = cluster
    (good,) = items("0:1")
    broken = Item("stability.no_such_claim", "gaussian", (), 0, 1, 0.05)  # built past the grid's validation
    store = ResultStore(tmp_path)
    store.prepare()
    summary = run_dask([broken, good], store, client)
    assert (summary.total, summary.ran, summary.errors, summary.workers) == (2, 1, 1, 1)
    (error,) = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert error["key"] == broken.key and "KeyError" in error["error"] and "no_such_claim" in error["error"]
    # the good item's row is the one this process computes for its key
    (row,) = store.rows()
    assert without_timing(row) == without_timing(run_item(good))


def test_an_interrupted_run_cancels_the_items_it_submitted(cluster, tmp_path):
    """The callback raises on the first result: the other submitted items are cancelled on the scheduler even
    while the exception (whose traceback holds run_dask's futures) is still alive."""
    client, _ = cluster
    store = ResultStore(tmp_path)
    store.prepare()
    seen = []

    def interrupt(row):
        seen.append(row["key"])
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here") as info:
        run_dask(items("0:4"), store, client, on_result=interrupt, in_flight=4)
    deadline = time.monotonic() + 30
    while sweep_tasks(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sweep_tasks(client) == [] and info.value is not None
    assert len(seen) == 1 and [r["key"] for r in store.rows()] == seen  # the one result that arrived is kept


def test_sweep_text_output_progress_bar_and_report_on_a_terminal(cluster, tmp_path, capsys, monkeypatch):
    _, address = cluster
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # capsys's stream, standing in for a terminal
    argv = ["sweep", CLAIM, "--law", "gaussian", "--seeds", "0:2", "--alpha", "0.05", "--out", str(tmp_path)]
    code = main([*argv, "--scheduler", address])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"2 items: 0 already done, 2 run now on {address} (1 worker)\n")
    assert f"zoverify sweep: 2 of 2 items to run on {address} (1 worker)" in err
    assert "2/2" in err  # the bar's last frame: items done / to run
    calibration = (tmp_path / "calibration.md").read_text()
    assert f"\ncalibration ({tmp_path / 'calibration.png'}):\n{calibration}" in out
    # the table counts the failures stored: each of the two seeds, at alpha 0.05
    failures = sum(r["verdict"] == "fail" for r in ResultStore(tmp_path).rows())
    assert f"| {failures} / 2 |" in calibration
    # sweep-report prints the same tables, rewritten from the store
    assert main(["sweep-report", str(tmp_path)]) == 0
    again, _ = capsys.readouterr()
    assert again == out.split("\n", 1)[1]


def test_text_summary_of_a_run_with_errors_points_at_the_errors_file(tmp_path, capsys):
    from zoverify.cli._sweep import _print_text

    store = ResultStore(tmp_path)
    _print_text(SweepSummary(total=3, already_done=1, ran=1, errors=1), store)
    assert capsys.readouterr().out == (
        f"3 items: 1 already done, 1 run now, 1 raised (see {tmp_path / 'errors.jsonl'}; a re-run retries them)\n"
    )


def test_the_start_line_names_the_dashboard_when_there_is_one(capsys):
    from zoverify.cli._sweep import _Progress

    summary = SweepSummary(total=5, already_done=2, address="tcp://h:1", workers=3, dashboard="http://h:2/status")
    bar = _Progress(enabled=False)
    bar.start(summary)
    bar.advance({})
    bar.stop()
    assert (
        capsys.readouterr().err
        == "zoverify sweep: 3 of 5 items to run on tcp://h:1 (3 workers), dashboard http://h:2/status\n"
    )


class _FakeClient:
    """What _dashboard reads of a client: the scheduler's services and the dashboard link."""

    def __init__(self, link, services=("dashboard",)):
        self._link, self._services = link, {name: 8787 for name in services}

    def scheduler_info(self):
        return {"services": self._services}

    @property
    def dashboard_link(self):
        if isinstance(self._link, Exception):
            raise self._link
        return self._link


def test_dashboard_link_or_none(monkeypatch):
    """The link when the scheduler serves a dashboard; None when it serves none, or when dask cannot fill in the
    link's template (a KeyError for an unset variable)."""
    import importlib.util

    from zoverify.sweep import engine

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "bokeh" else real(name, *a))
    assert engine._dashboard(_FakeClient("http://h:8787/status")) == "http://h:8787/status"
    assert engine._dashboard(_FakeClient(KeyError("JUPYTERHUB_SERVICE_PREFIX"))) is None
    assert engine._dashboard(_FakeClient("http://h:8787/status", services=())) is None


def test_a_folder_never_swept_reads_as_empty_without_being_made(tmp_path):
    store = ResultStore(tmp_path / "never")
    assert store.rows() == [] and store.done_keys() == set()
    assert not store.folder.exists()


def test_report_of_rows_with_numpy_numbers(tmp_path):
    """Rows held as numpy scalars (as a DataFrame gives them) are written to report.json as plain numbers."""
    rows = [
        {
            "key": f"k{s}",
            "claim": "x.y",
            "law": "gaussian",
            "overrides": {},
            "num_samples": np.int64(100),
            "alpha": np.float64(0.05),
            "perturb": 0.0,
            "verdict": verdict,
            "min_detectable_rel": 0.02,
        }
        for s, verdict in enumerate(["pass", "fail", "pass", "pass"])
    ]
    write_reports(rows, tmp_path)
    (pair,) = json.loads((tmp_path / "report.json").read_text())["calibration"]
    assert pair["num_samples"] == 100 and (pair["failures"], pair["checks"]) == (1, 4)
