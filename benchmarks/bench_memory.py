"""Peak memory of ``zoverify check`` against the sample count: is every claim's memory bounded?

Each (claim, law, samples) runs ``check`` in a fresh process at one thread and reports that process's
peak resident set (``ru_maxrss``), its seconds and its verdict; a run past ``--timeout`` is recorded as
such.  A second process per claim only imports the library and builds the claim's instance at 1,024
samples, so the row also gives the growth over that floor.  The sample counts are a claim's own unit
(draws, chains or probes); the bound asked is a peak RSS of at most 400 MB whatever the count::

    PYTHONPATH=$PWD python benchmarks/bench_memory.py [--claims ...] [--samples 18 21 24] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BOUND_MB = 400.0
FLOOR_SAMPLES = 1024


def _child(claim_name: str, law: str, samples: int) -> None:
    from zoverify import claims  # noqa: F401  (registers the claims)
    from zoverify._threads import thread_limits
    from zoverify.verify.check import check
    from zoverify.verify.registry import select

    entry = select([claim_name])[0]
    start = time.perf_counter()
    with thread_limits(1):
        result = check(entry, law=law, seed=0, num_samples=samples)
    print(
        json.dumps(
            {
                "verdict": result.verdict.value if hasattr(result.verdict, "value") else str(result.verdict),
                "seconds": time.perf_counter() - start,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def run_one(claim: str, law: str, samples: int, *, timeout: float) -> dict:
    """One check in its own process: peak RSS, seconds, verdict (or the timeout / error)."""
    cmd = [sys.executable, __file__, "--child", claim, law, str(samples)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"samples": samples, "timeout_s": timeout}
    if done.returncode != 0:
        return {"samples": samples, "error": done.stderr.strip().splitlines()[-1:]}
    return {"samples": samples} | json.loads(done.stdout.strip().splitlines()[-1])


def default_pairs() -> list[tuple[str, str]]:
    """Every default-tier claim that draws samples (its num_samples > 1), at its first law."""
    from zoverify import claims  # noqa: F401
    from zoverify.verify.registry import select

    pairs = []
    for entry in select():
        claim = entry.load()
        if claim.num_samples > 1:
            pairs.append((entry.name, claim.laws[0]))
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--claims", nargs="+", default=None, help="claim or claim=law (default: every sampling claim)")
    ap.add_argument("--samples", nargs="+", type=int, default=[18, 21, 24], help="log2 of the sample counts")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.claims:
        laws = dict(default_pairs())
        pairs = [(c.split("=")[0], c.split("=")[1] if "=" in c else laws[c]) for c in args.claims]
    else:
        pairs = default_pairs()
    rows = []
    for claim, law in pairs:
        floor = run_one(claim, law, FLOOR_SAMPLES, timeout=args.timeout)
        runs = []
        for k in args.samples:
            run = run_one(claim, law, 2**k, timeout=args.timeout)
            runs.append(run)
            if "timeout_s" in run:
                break  # a larger count would only time out too
        peaks = [r["peak_rss_mb"] for r in runs if "peak_rss_mb" in r]
        row = {
            "claim": claim,
            "law": law,
            "floor_rss_mb": floor.get("peak_rss_mb"),
            "runs": runs,
            "max_rss_mb": max(peaks) if peaks else None,
            "within_bound": bool(peaks) and max(peaks) <= BOUND_MB,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        meta = {
            "machine": platform.machine(),
            "date": time.strftime("%Y-%m-%d"),
            "bound_mb": BOUND_MB,
            "threads": 1,
            "samples_log2": args.samples,
        }
        Path(args.json).write_text(json.dumps(meta | {"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
