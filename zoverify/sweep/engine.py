"""Run sweep items on dask.distributed (an embedded LocalCluster, or a running scheduler).

Each item is one task, named by its key.  When a worker dies, the scheduler
hands its unfinished tasks to another worker; results are written only by the
client, one line as each arrives, so nothing is lost and nothing is written
twice.  Workers run one item at a time with torch single-threaded: the result
of an item then depends on its key alone, not on the worker or the cluster
size (float reductions split over threads would not be bitwise reproducible).
"""

from __future__ import annotations

import contextlib
import importlib.util
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from zoverify._errors import ZoverifyError
from zoverify.sweep.grid import Item
from zoverify.sweep.store import ResultStore

#: how long to wait for a scheduler before calling it unreachable (seconds)
CONNECT_TIMEOUT_S = 5.0
#: the dask setting the embedded cluster clears (see open_client); set it to null in
#: the dask configuration of a separately started cluster for the same speed
TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
#: items submitted ahead of their results: every worker stays busy, while the
#: scheduler holds thousands of tasks at most, however large the grid
IN_FLIGHT = 2000


class SchedulerUnreachableError(ZoverifyError):
    """No dask scheduler answered at the given address."""


def run_item(item: Item) -> dict[str, Any]:
    """Check one item; the stored row is the item's key, perturbation and parameters set, and the claim result."""
    from zoverify._threads import thread_limits
    from zoverify.claims import REGISTRY, check

    with thread_limits(1):  # one item per core: torch's and the BLAS's pools single-threaded
        result = check(
            REGISTRY[item.claim],
            law=item.law,
            params=dict(item.params),
            seed=item.seed,
            num_samples=item.num_samples,
            alpha=item.alpha,
            scale=1.0 + item.perturb,
        )
    return {"key": item.key, "perturb": item.perturb, "overrides": dict(item.params), **result.to_dict()}


@dataclass
class SweepSummary:
    """What a run did: items in the grid, skipped as already done, run now, failed to run."""

    total: int
    already_done: int
    ran: int = 0
    errors: int = 0
    address: str = "serial"
    workers: int = 1
    dashboard: str | None = None


def pending(items: Sequence[Item], store: ResultStore) -> list[Item]:
    """The items whose key is not in the store yet."""
    done = store.done_keys()
    return [item for item in items if item.key not in done]


def run_serial(
    items: Sequence[Item], store: ResultStore, *, on_result: Callable[[dict[str, Any]], None] | None = None
) -> SweepSummary:
    """The same items in this process, one after another (the reference for determinism)."""
    todo = pending(items, store)
    summary = SweepSummary(total=len(items), already_done=len(items) - len(todo))
    for item in todo:  # each item sets and restores its own thread counts (run_item)
        _record(store, item, _call(item), summary, on_result)
    return summary


def _call(item: Item) -> dict[str, Any] | BaseException:
    try:
        return run_item(item)
    except Exception as exc:  # one bad item must not end the sweep; it is retried next run
        return exc


def _record(store, item, outcome, summary, on_result) -> None:
    if isinstance(outcome, BaseException):
        store.append_error(
            {
                "key": item.key,
                "item": item.to_dict(),
                "error": "".join(traceback.format_exception_only(outcome)).strip(),
            }
        )
        summary.errors += 1
        return
    store.append(outcome)
    summary.ran += 1
    if on_result is not None:
        on_result(outcome)


@contextlib.contextmanager
def open_client(
    scheduler: str | None = None, *, workers: int | None = None, connect_timeout: float = CONNECT_TIMEOUT_S
) -> Iterator[Any]:
    """A dask client: to ``scheduler`` if given, else to an embedded LocalCluster.

    The embedded cluster has one single-threaded worker process per core (or
    ``workers``).
    """
    import logging

    import dask.config
    from dask.system import CPU_COUNT  # honours CPU affinity and cgroup quotas
    from distributed import Client, LocalCluster

    if scheduler:
        client = connect(scheduler, timeout=connect_timeout)
        try:
            yield client
        finally:
            client.close()
        return
    count = int(CPU_COUNT or 1) if workers is None else int(workers)
    if count < 1:  # 0 too: it is not "one per core"
        raise ZoverifyError(f"--workers must be positive, got {count}")
    # dask's nannies set MALLOC_TRIM_THRESHOLD_, which also freezes glibc's mmap
    # threshold: every large torch buffer is then mapped and unmapped afresh, and
    # a Monte Carlo claim ran 2-2.5x slower on a worker than in a plain process.
    # The dashboard takes a free port: a fixed one clashes with any other cluster.
    with dask.config.set({TRIM_KEY: None}):
        cluster = LocalCluster(
            n_workers=count, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
    with cluster, Client(cluster, set_as_default=False) as client:
        yield client


def connect(address: str, *, timeout: float = CONNECT_TIMEOUT_S):
    """A client of the scheduler at ``address``, or one line saying why not."""
    from distributed import Client

    try:
        return Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchedulerUnreachableError(
            f"cannot reach a dask scheduler at {address!r} within {timeout:g} s ({reason}); "
            "accepted: the address of a running `dask scheduler`, e.g. tcp://127.0.0.1:8786"
        ) from None


def run_dask(
    items: Sequence[Item],
    store: ResultStore,
    client,
    *,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[SweepSummary], None] | None = None,
    in_flight: int = IN_FLIGHT,
) -> SweepSummary:
    """Submit the pending items, at most ``in_flight`` at a time; write each result as it arrives."""
    from distributed import as_completed

    todo = pending(items, store)
    info = client.scheduler_info()
    summary = SweepSummary(
        total=len(items),
        already_done=len(items) - len(todo),
        address=client.scheduler.address,
        workers=len(info.get("workers", {})),
        dashboard=_dashboard(client),
    )
    if on_start is not None:
        on_start(summary)
    queue, futures = iter(todo), {}
    arrivals = as_completed(loop=client.loop)

    def submit_next() -> None:
        item = next(queue, None)
        if item is not None:
            future = client.submit(run_item, item, key=f"zoverify-sweep-{item.key}", pure=False)
            futures[future] = item
            arrivals.add(future)

    try:
        for _ in range(max(1, in_flight)):
            submit_next()
        for future in arrivals:
            item = futures.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the item raised, or it killed workers too often
                outcome = exc
            future.release()
            _record(store, item, outcome, summary, on_result)
            submit_next()
    finally:
        for future in futures:
            future.cancel()
    return summary


def _dashboard(client) -> str | None:
    """The dashboard address, when the scheduler serves one (it needs bokeh, as here)."""
    if importlib.util.find_spec("bokeh") is None or "dashboard" not in client.scheduler_info().get("services", {}):
        return None
    try:
        return client.dashboard_link
    except Exception:  # an address template dask cannot fill in
        return None
