"""Cost of ``zoverify audit`` at a user's CI sizes, as a ratio to the subject's own cost per call.

* a default estimator audit (the four estimator properties plus the inference probe) of
  zoverify's reference Gaussian estimator at d = 100;
* the torch-update direction and restore probes at 10^7 parameters in total (the largest
  tensor about 10^7 entries), against one update of that model by the reference.

The ratio says how many of the subject's own calls the audit costs, so it carries over to a
slower or faster subject.  Peak resident memory is read from the process (ru_maxrss).

    PYTHONPATH=$PWD python benchmarks/bench_audit.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from zoverify.audit import audit
from zoverify.claims import check, select
from zoverify.claims.audit.torch_update import ProbeModel, probe_shapes
from zoverify.perturbations import parse_law
from zoverify.subjects import reference_estimator, reference_torch_update, remember


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def estimator_row(dim: int) -> dict:
    factory = reference_estimator(parse_law("gaussian"))
    rng = np.random.default_rng(0)
    A = rng.standard_normal((dim, dim)) / dim
    A = A @ A.T

    def f(x):
        return float(0.5 * x @ A @ x)

    estimate, x = factory(dim, 0), rng.standard_normal(dim)
    calls = 2000
    start = time.perf_counter()
    for _ in range(calls):
        estimate(f, x)
    per_call = (time.perf_counter() - start) / calls
    start = time.perf_counter()
    report = audit(factory, law="gaussian", dims=(dim,))
    elapsed = time.perf_counter() - start
    return {
        "dim": dim,
        "audit_s": elapsed,
        "subject_call_s": per_call,
        "audit_in_subject_calls": elapsed / per_call,
        "exit_code": report.exit_code,
        "peak_rss_mb": _rss_mb(),
    }


def torch_update_row(size: int) -> dict:

    update = reference_torch_update(parse_law("gaussian"), mu=1e-3)
    model = ProbeModel(probe_shapes(size))
    total = sum(p.numel() for p in model.parameters())

    def loss_fn(m):
        return sum(p.double().square().sum() for p in m.tensors)

    update(model, loss_fn, 1e-3, 0)  # warm-up
    start = time.perf_counter()
    reps = 3
    for seed in range(reps):
        update(model, loss_fn, 1e-3, seed)
    per_update = (time.perf_counter() - start) / reps
    start = time.perf_counter()
    verdicts = [
        check(select([name])[0], params={"subject": remember(update), "mu": 1e-3, "size": size}).verdict
        for name in ("audit.torch_update_direction", "audit.torch_update_restore")
    ]
    elapsed = time.perf_counter() - start
    return {
        "parameters": total,
        "largest_tensor": max(p.numel() for p in model.parameters()),
        "audit_s": elapsed,
        "subject_update_s": per_update,
        "audit_in_subject_updates": elapsed / per_update,
        "verdicts": verdicts,
        "peak_rss_mb": _rss_mb(),
    }


def run(profile: str = "quick", device: str = "cpu") -> dict:
    """Rows of benchmarks/run.py: the estimator audit at d = 100 and the torch probes at 10^7 (10^6 quick)."""
    size = 10_000_000 if profile == "full" else 1_000_000
    return {"estimator_d100": estimator_row(100), f"torch_update_{size}": torch_update_row(size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="torch probes at 10^6 instead of 10^7 parameters")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    out = run("quick" if args.quick else "full")
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
