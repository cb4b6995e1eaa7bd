"""Sweeps on real dask clusters: a separately started one, the embedded default, a worker killed mid-run.

The separately started cluster is a ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, torn down by pid.  Every result is compared bitwise
(all fields but the timing) with the same items run one after another in this
process: an item's result depends on its key alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from zoverify.cli import main
from zoverify.sweep import (
    ResultStore,
    build_items,
    open_client,
    parse_seeds,
    run_dask,
    run_serial,
)

# Monte Carlo claims that run in about 0.1 s each, so the grid is about randomness, not size
CLAIMS = ["stability.mc_decay", "structured.rate_constant"]
SEEDS = "0:3"
DASK = Path(sys.executable).with_name("dask")


def comparable(rows) -> dict[str, dict]:
    return {r["key"]: {k: v for k, v in r.items() if k != "elapsed_s"} for r in rows}


def serial_rows(tmp_path_factory, items) -> dict[str, dict]:
    store = ResultStore(tmp_path_factory.mktemp("serial"))
    store.prepare()
    run_serial(items, store)
    return comparable(store.rows())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    items = build_items(CLAIMS, seeds=parse_seeds(SEEDS), alpha=0.05)
    return serial_rows(tmp_path_factory, items)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each (a nanny then stops its worker), SIGKILL to any still running after 15 s."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        os.kill(process.pid, signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """``dask scheduler`` + two single-threaded ``dask worker`` processes; yields the address."""
    folder = tmp_path_factory.mktemp("cluster")
    address = f"tcp://127.0.0.1:{free_port()}"
    # what a site sets for speed (see zoverify.sweep.engine.TRIM_KEY); results do not depend on it
    (folder / "dask.yaml").write_text(
        "distributed:\n  nanny:\n    pre-spawn-environ:\n      MALLOC_TRIM_THRESHOLD_: null\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DASK_CONFIG": str(folder)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": folder}
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"], **quiet
        )
    ]
    try:
        for name in ("w0", "w1"):
            processes.append(
                subprocess.Popen(
                    [
                        DASK,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--name",
                        name,
                        "--local-directory",
                        str(folder),
                    ],
                    **quiet,
                )
            )
        from distributed import Client

        with Client(address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        stop(processes[1:])  # the workers first, so none waits for a scheduler that is gone
        stop(processes[:1])


def sweep(capsys, *argv, grid=None):
    items = ["--grid", str(grid)] if grid else [*CLAIMS, "--seeds", SEEDS, "--alpha", "0.05"]
    code = main(["sweep", *items, "--format", "json", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_sweep_on_a_separately_started_cluster_matches_serial_and_resumes(capsys, tmp_path, dask_cluster, reference):
    code, payload, _ = sweep(capsys, "--out", str(tmp_path), "--scheduler", dask_cluster)
    assert code == 0 and payload["summary"]["workers"] == 2 and payload["summary"]["address"] == dask_cluster
    assert comparable(ResultStore(tmp_path).rows()) == reference
    assert (tmp_path / "results.parquet").is_file() and (tmp_path / "calibration.png").is_file()
    assert main(["sweep-report", str(tmp_path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == payload["report"]
    # the same sweep again: every item is already on disk
    code, payload, _ = sweep(capsys, "--out", str(tmp_path), "--scheduler", dask_cluster)
    assert code == 0 and payload["summary"]["ran"] == 0 and payload["summary"]["already_done"] == len(reference)
    assert len(ResultStore(tmp_path).path.read_text().splitlines()) == len(reference)


def test_sweep_on_the_embedded_cluster_matches_serial(capsys, tmp_path, reference):
    # a sweep stopped after some items: the rest are run, the stored ones are not
    store = ResultStore(tmp_path / "out")
    store.prepare()
    kept = list(reference)[:4]
    for key in kept:
        store.append({**reference[key], "elapsed_s": 0.0})
    grid = tmp_path / "grid.toml"  # the same grid as the command line's, from a file
    grid.write_text(f"claims = {json.dumps(CLAIMS)}\nseeds = {json.dumps(SEEDS)}\nalpha = 0.05\n")
    code, payload, err = sweep(capsys, "--out", str(store.folder), "--workers", "2", grid=grid)
    assert code == 0 and payload["summary"]["workers"] == 2, err
    assert payload["summary"]["already_done"] == len(kept) and payload["summary"]["ran"] == len(reference) - len(kept)
    assert comparable(store.rows()) == reference


def test_unreachable_scheduler_is_refused_before_any_item(capsys, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens there
    code = main(
        ["sweep", *CLAIMS, "--seeds", SEEDS, "--out", str(tmp_path), "--scheduler", address, "--connect-timeout", "1"]
    )
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "cannot reach a dask scheduler" in err and address in err
    assert ResultStore(tmp_path).rows() == []


def test_killing_a_worker_mid_sweep_loses_no_item(tmp_path, tmp_path_factory, dask_cluster):
    items = build_items(["stability.mc_decay"], laws=["gaussian"], seeds=parse_seeds("100:110"), alpha=0.05)
    store = ResultStore(tmp_path)
    store.prepare()
    killed = []

    def kill_a_busy_worker(_row):
        if killed:
            return
        busy = [addr for addr, keys in client.processing().items() if keys]
        pids = client.run(os.getpid, workers=busy[:1])
        ((addr, pid),) = pids.items()
        os.kill(pid, signal.SIGKILL)
        killed.append((addr, pid))

    with open_client(dask_cluster) as client:
        summary = run_dask(items, store, client, on_result=kill_a_busy_worker, in_flight=4)
    assert killed, "no worker was busy when the first result arrived"
    assert summary.errors == 0 and summary.ran == len(items)
    keys = [json.loads(line)["key"] for line in store.path.read_text().splitlines()]
    assert sorted(keys) == sorted(i.key for i in items)  # each item once
    assert comparable(store.rows()) == serial_rows(tmp_path_factory, items)


def test_cli_module_imports_nothing_heavy():
    code = (
        "import sys, zoverify.cli._sweep, zoverify.sweep; "
        "heavy = [m for m in ('dask', 'distributed', 'torch', 'sympy', 'numpy', 'zoverify.claims') "
        "if m in sys.modules]; print(heavy); sys.exit(bool(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
