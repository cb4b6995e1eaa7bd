"""Threads for ``zoverify check``: claims of the default check at one thread and at every core, alone
and with a second identical job on the same cores at the same time.

Each run is ``zoverify check CLAIM --threads T --format json`` in its own process; the time is the
check's own ``elapsed_s`` (imports excluded).  Ratios are against one thread alone, in one run:

    PYTHONPATH=$PWD python benchmarks/bench_threads.py [--claims ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoverify._threads import available_cores  # noqa: E402

#: one claim per family and kind of work: exact operator roots, Monte Carlo moments, a network's eNTK,
#: finite-difference kernels, the block operator, Hessian-vector products of a torch model
CLAIMS = [
    "stability.gd_threshold",
    "moments.sampler",
    "entk.similarity",
    "nzk.independent_kernel",
    "structured.bcd_eta_star",
    "stepsize.slq_eta_star",
]


def _start(claim: str, threads: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "zoverify", "check", claim, "--threads", str(threads), "--format", "json"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _elapsed(proc: subprocess.Popen) -> float:
    out, _ = proc.communicate()
    return float(json.loads(out)["elapsed_s"])


def measure(claim: str, threads: int, *, jobs: int) -> float:
    """Mean elapsed seconds of ``jobs`` identical checks started together."""
    procs = [_start(claim, threads) for _ in range(jobs)]
    return sum(_elapsed(p) for p in procs) / jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", nargs="+", default=CLAIMS)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    cores = available_cores()
    rows = []
    for claim in args.claims:
        base = measure(claim, 1, jobs=1)
        row = {
            "claim": claim,
            "one_thread_alone_s": base,
            f"{cores}_threads_alone": measure(claim, cores, jobs=1) / base,
            "one_thread_two_jobs": measure(claim, 1, jobs=2) / base,
            f"{cores}_threads_two_jobs": measure(claim, cores, jobs=2) / base,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        meta = {"machine": platform.machine(), "cores": cores, "date": time.strftime("%Y-%m-%d")}
        Path(args.json).write_text(json.dumps(meta | {"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
