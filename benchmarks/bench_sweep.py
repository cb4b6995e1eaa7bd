"""Sweeps on dask.distributed: scaling from one to two workers, and the cost per item.

The same items (``stability.mc_decay`` [gaussian], about 0.1 s each on one
core) run four ways in one process:

* a plain serial loop over ``check`` (the baseline: no store, no cluster);
* ``run_serial``: the same loop writing each result to the store;
* an embedded LocalCluster with one worker, and with two workers.

Clusters are started and warmed (each worker has imported the claims) before
the clock starts, so the rates measure steady state; cluster start-up is
reported apart.  Ratios: items per second with two workers over one, and the
per-item time of each sweep path over the plain loop.
"""

from __future__ import annotations

import tempfile
import time

import torch


def _items(profile: str):
    from zoverify.sweep import build_items

    count = 96 if profile == "full" else 24
    return build_items(["stability.mc_decay"], laws=["gaussian"], seeds=range(1000, 1000 + count), alpha=0.05)


def _plain_loop(items) -> float:
    from zoverify._threads import thread_limits
    from zoverify.claims import REGISTRY, check

    start = time.perf_counter()
    with thread_limits(1):  # as the sweep's items run, so the ratio is the machinery's alone
        for item in items:
            check(
                REGISTRY[item.claim],
                law=item.law,
                params=dict(item.params),
                seed=item.seed,
                num_samples=item.num_samples,
                alpha=item.alpha,
            )
    return time.perf_counter() - start


def _sweep_serial(items) -> float:
    from zoverify.sweep import ResultStore, run_serial

    with tempfile.TemporaryDirectory() as folder:
        store = ResultStore(folder)
        store.prepare()
        start = time.perf_counter()
        run_serial(items, store)
        return time.perf_counter() - start


def _sweep_dask(items, workers: int) -> tuple[float, float]:
    """(seconds for the items on a warm cluster, seconds to start and warm it)."""
    from zoverify.sweep import ResultStore, open_client, run_dask

    start = time.perf_counter()
    with open_client(workers=workers) as client, tempfile.TemporaryDirectory() as folder:
        client.run(__import__, "zoverify.claims")
        warm = time.perf_counter() - start
        store = ResultStore(folder)
        store.prepare()
        start = time.perf_counter()
        summary = run_dask(items, store, client)
        elapsed = time.perf_counter() - start
    if summary.ran != len(items) or summary.errors:
        raise RuntimeError(f"sweep ran {summary.ran} of {len(items)} items, {summary.errors} raised")
    return elapsed, warm


def run(profile: str, device: str) -> dict:
    del device  # sweeps run claims on CPU workers
    items = _items(profile)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as on a worker: one item, one core
    try:
        _plain_loop(items[:2])  # first-call costs (imports, caches) out of the measurement
        plain = _plain_loop(items)
        serial = _sweep_serial(items)
    finally:
        torch.set_num_threads(threads)
    one, start_one = _sweep_dask(items, 1)
    two, start_two = _sweep_dask(items, 2)
    n = len(items)
    return {
        "items": n,
        "claim": "stability.mc_decay [gaussian]",
        "plain_loop_items_per_s": n / plain,
        "sweep_serial_items_per_s": n / serial,
        "dask_1_worker_items_per_s": n / one,
        "dask_2_workers_items_per_s": n / two,
        "cluster_start_s": {"1_worker": start_one, "2_workers": start_two},
        "ratio_2_over_1_workers": one / two,
        "per_item_overhead_s": {"sweep_serial": (serial - plain) / n, "dask_1_worker": (one - plain) / n},
        "ratio_per_item_dask_1_worker_over_plain": one / plain,
        "ratio_per_item_sweep_serial_over_plain": serial / plain,
    }
