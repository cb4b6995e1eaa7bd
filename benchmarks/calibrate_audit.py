"""False-failure rate and power of a default ``zoverify audit``, measured over seeds on dask.

* calibration: correct subjects (zoverify's reference implementations, and the user-style
  ``examples/audit/slips.py:correct``), each audited at ``--seeds`` seeds; the audit fails a
  correct subject with probability <= alpha (its checks share alpha, Bonferroni). The rate is
  read at the default alpha and, from the same runs, at alpha = 0.05 (a check fails exactly
  when its p-value is below its share of alpha), where a miscalibration would show within 100 seeds;
* power: every planted slip class of ``examples/audit/slips.py``, audited as a user would
  (with what the user declares), at ``--power-seeds`` seeds: the share of runs that exit 1.

Each (case, seed) is one dask task on an embedded LocalCluster (one single-threaded worker
per core).  Exact Clopper-Pearson 95 % intervals.

    PYTHONPATH=$PWD python benchmarks/calibrate_audit.py [--seeds 100] [--power-seeds 36] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

SLIPS = str(Path(__file__).resolve().parent.parent / "examples" / "audit" / "slips.py")

#: (label, subject, audit options): correct subjects, each must pass
CORRECT = [
    ("user-style Gaussian estimator (slips.py:correct)", f"{SLIPS}:correct", {"law": "gaussian"}),
    ("reference estimator, rademacher, forward, q = 4", ("estimator", "rademacher", {"scheme": "forward", "queries": 4}), {"law": "rademacher", "scheme": "forward", "queries": 4}),
    ("reference estimator, sphere, central, q = 1", ("estimator", "sphere", {}), {"law": "sphere"}),
    ("reference ZO heavy ball, rademacher, beta 0.9", ("optimizer", "rademacher", {"method": "gdm", "beta": 0.9}), {"kind": "optimizer", "law": "rademacher", "method": "gdm", "beta": 0.9}),
    ("reference MeZO-style torch update, gaussian", ("torch-update", "gaussian", {"mu": 1e-3}), {"kind": "torch-update", "mu": 1e-3}),
]  # fmt: skip

#: (slip class, subject, audit options): each must fail
SLIPS_CASES = [
    ("scale 2 (divides by mu, not 2 mu)", f"{SLIPS}:scale_two", {"law": "gaussian"}),
    ("scale 1.07", f"{SLIPS}:scale_107", {"law": "gaussian"}),
    ("sign flip", f"{SLIPS}:sign_flip", {"law": "gaussian"}),
    ("sphere without its d factor", f"{SLIPS}:sphere_without_d", {}),
    ("forward difference declared central", f"{SLIPS}:forward_difference", {"law": "gaussian", "scheme": "central"}),
    ("Rademacher declared Gaussian", f"{SLIPS}:rademacher_directions", {"law": "gaussian"}),
    ("reused direction pool", f"{SLIPS}:reused_pool", {"law": "gaussian"}),
    ("rank-one estimate (broadcast)", f"{SLIPS}:rank_one", {"law": "gaussian"}),
    ("heavy ball with (1 - beta)", f"{SLIPS}:ema_momentum", {"kind": "optimizer", "law": "gaussian", "method": "gdm", "beta": 0.9}),
    ("direction regenerated row-wise at one tensor size", f"{SLIPS}:row_wise_update", {"kind": "torch-update", "mu": 1e-3}),
]  # fmt: skip


def _subject(spec):
    """A spec string as is; a (kind, law, options) triple built into zoverify's reference implementation."""
    if isinstance(spec, str):
        return spec
    from zoverify.perturbations import parse_law
    from zoverify.subjects import reference_estimator, reference_optimizer, reference_torch_update

    kind, law, options = spec
    build = {"estimator": reference_estimator, "optimizer": reference_optimizer, "torch-update": reference_torch_update}
    return build[kind](parse_law(law), **options)


def run_one(label: str, spec, options: dict, seed: int, alpha_wide: float) -> dict:
    """One audit; whether it fails at the default alpha and, from its p-values, at ``alpha_wide``."""
    import torch

    from zoverify.audit import audit

    torch.set_num_threads(1)
    start = time.perf_counter()
    report = audit(_subject(spec), seed=seed, **options)
    checks = len(report.results)
    wide = any(
        (r.p_value is not None and r.method != "exact" and r.p_value < alpha_wide / checks)
        or (r.verdict == "fail" and (r.p_value is None or r.method == "exact"))
        for r in report.results
    ) or any(f.verdict == "fail" and not f.prop.startswith("audit.") for f in report.findings)
    return {
        "case": label,
        "seed": seed,
        "exit_code": report.exit_code,
        "fails_at_alpha": report.exit_code == 1,
        "fails_at_wide_alpha": bool(wide),
        "alpha": report.alpha,
        "elapsed_s": time.perf_counter() - start,
        "failed": [r.claim for r in report.results if r.verdict == "fail"]
        + [f.prop for f in report.findings if not f.prop.startswith("audit.")],
    }


def _summary(rows, label, *, key):
    from zoverify.sweep.report import clopper_pearson

    mine = [r for r in rows if r["case"] == label]
    k, n = sum(r[key] for r in mine), len(mine)
    lo, hi = clopper_pearson(k, n)
    return {"case": label, "runs": n, "events": k, "rate": k / n if n else float("nan"), "cp95": [lo, hi],
            "inconclusive": sum(r["exit_code"] == 3 for r in mine),
            "mean_s": sum(r["elapsed_s"] for r in mine) / max(n, 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100, help="seeds per correct subject")
    ap.add_argument(
        "--power-seeds", type=int, default=36, help="seeds per slip (36 of 36 caught: power >= 0.90 at 95 %)"
    )
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--alpha-wide", type=float, default=0.05)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--rows", default="audit-calibration-rows.jsonl", help="one line per audit, as each ends; resumed")
    ap.add_argument("--cases", default=None, help="only the cases whose label contains this text")
    args = ap.parse_args()

    from zoverify.sweep.engine import open_client

    tasks = [
        (lab, spec, opt, s) for lab, spec, opt in CORRECT for s in range(args.first_seed, args.first_seed + args.seeds)
    ]
    tasks += [(lab, spec, opt, s) for lab, spec, opt in SLIPS_CASES for s in range(args.first_seed, args.first_seed + args.power_seeds)]  # fmt: skip
    if args.cases:
        tasks = [t for t in tasks if args.cases in t[0]]
    rows_path = Path(args.rows)
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()] if rows_path.exists() else []
    done = {(r["case"], r["seed"]) for r in rows}
    tasks = [t for t in tasks if (t[0], t[3]) not in done]
    tasks.sort(key=lambda t: t[3])  # seed by seed across the cases: a run cut short still covers every case
    start = time.perf_counter()
    from distributed import as_completed

    with open_client(workers=args.workers) as client, rows_path.open("a") as sink:
        futures = [client.submit(run_one, *t, args.alpha_wide, pure=False) for t in tasks]
        for future in as_completed(futures, loop=client.loop):
            row = future.result()
            rows.append(row)
            sink.write(json.dumps(row) + "\n")
            sink.flush()
    ran = {r["case"] for r in rows}
    calibration = [_summary(rows, lab, key="fails_at_alpha") | {"wide": _summary(rows, lab, key="fails_at_wide_alpha")} for lab, _, _ in CORRECT if lab in ran]  # fmt: skip
    power = [_summary(rows, lab, key="fails_at_alpha") for lab, _, _ in SLIPS_CASES if lab in ran]
    out = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "seeds": [args.first_seed, args.first_seed + args.seeds],
        "power_seeds": [args.first_seed, args.first_seed + args.power_seeds],
        "alpha_wide": args.alpha_wide,
        "wall_s": time.perf_counter() - start,
        "calibration": calibration,
        "power": power,
        "rows": rows,
    }
    print("| correct subject | audits | fail at alpha (CP 95 %) | fail at 0.05 (CP 95 %) | inconclusive |")
    print("|---|---|---|---|---|")
    for c in calibration:
        w = c["wide"]
        print(f"| {c['case']} | {c['runs']} | {c['events']} [{c['cp95'][0]:.3f}, {c['cp95'][1]:.3f}] | "
              f"{w['events']} [{w['cp95'][0]:.3f}, {w['cp95'][1]:.3f}] | {c['inconclusive']} |")  # fmt: skip
    print("\n| slip | audits | caught (exit 1) | power (CP 95 %) | inconclusive |")
    print("|---|---|---|---|---|")
    for p in power:
        print(f"| {p['case']} | {p['runs']} | {p['events']} | {p['rate']:.2f} [{p['cp95'][0]:.3f}, {p['cp95'][1]:.3f}] | {p['inconclusive']} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
