"""Thread counts of torch and of the BLAS / OpenMP pools, chosen rather than inherited.

Left alone, torch and OpenBLAS each start one thread per core in every process; two jobs on the
same cores then oversubscribe them (measured on 2 cores: a dense eigendecomposition 80x slower,
a Monte Carlo claim 10x).  `zoverify check` and the sweep's workers run inside
:func:`thread_limits` with the count :func:`resolve_threads` gives.

``auto`` is one thread per job.  ``benchmarks/bench_threads.py`` runs six claims of the default check
at one thread and at every core, alone and two jobs at once (2 cores, 2026-12-07,
``benchmarks/results/cpu-threads-20261207.json``): a second thread alone gains at most 1.3x (0.77 to
1.04 of the one-thread time); two jobs at one thread each cost 0.98 to 1.09; two jobs at two threads
each cost up to 10.4x.  One thread also makes a check's numbers bitwise those of a sweep item with the
same key (the sweep's workers are single-threaded; a reduction split over threads rounds differently).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from zoverify._errors import InvalidParameterError

AUTO = "auto"
AUTO_THREADS = 1  # benchmarks/bench_threads.py; the module docstring says why


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_threads(value: str | int | None) -> int:
    """``auto`` (or None): ``ZOVERIFY_THREADS`` if set, else :data:`AUTO_THREADS`; an integer from 1 to the
    available cores otherwise."""
    if value is None or value == AUTO:
        env = os.environ.get("ZOVERIFY_THREADS")
        if env is None:
            return min(AUTO_THREADS, available_cores())
        value = env
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"threads must be 'auto' or a positive integer, got {value!r}") from None
    cores = available_cores()
    if not 1 <= n <= cores:
        raise InvalidParameterError(f"threads must be between 1 and the {cores} available cores, got {n}")
    return n


@contextmanager
def thread_limits(threads: int) -> Iterator[int]:
    """torch's intra-op threads and the BLAS / OpenMP pools (threadpoolctl) at ``threads``; restored after."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        with threadpool_limits(limits=int(threads)):
            yield int(threads)
    finally:
        torch.set_num_threads(before)


__all__ = ["AUTO", "AUTO_THREADS", "available_cores", "resolve_threads", "thread_limits"]
