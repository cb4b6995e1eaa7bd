"""``zoverify list`` and ``zoverify check``."""

from __future__ import annotations

import json
import sys
import time

from zoverify._errors import InvalidParameterError
from zoverify.verify.verdict import ALPHA, Verdict


def add_commands(sub) -> None:
    p = sub.add_parser("list", help="list the registered claims (with NAMES: their parameters and default laws)")
    p.add_argument("names", nargs="*", metavar="NAME", help="claim names or families to show in detail")
    p.add_argument("--slow", action="store_true", help="include the slow claims (minutes each) in families")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=run_list)

    p = sub.add_parser(
        "check",
        help="check claims (all by default); exit 1 if one fails, 3 if none fails but one is inconclusive",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="claim names or families (e.g. nzk)")
    p.add_argument(
        "--slow",
        action="store_true",
        help="also run the slow claims (minutes each; marked [slow] in `zoverify list`) of the families",
    )
    p.add_argument("--law", default=None, help="check the claims with this law instead of their defaults")
    p.add_argument("--device", default="cpu", help="auto | cpu | cuda (default cpu)")
    p.add_argument("--dtype", default="float64", help="float64 | float32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=None, help="Monte Carlo samples for every claim")
    p.add_argument(
        "--alpha", type=float, default=ALPHA, help=f"false-failure probability per claim (default {ALPHA:g})"
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--threads",
        default="auto",
        help="torch and BLAS threads: a count, or auto (ZOVERIFY_THREADS, else 1: benchmarks/bench_threads.py)",
    )
    p.add_argument("--report", default=None, metavar="DIR", help="write results.json and report.md here")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a claim parameter (repeatable); applies to every selected claim that has it",
    )
    p.set_defaults(run=run_check)


def run_list(args) -> int:
    """The claims' declarations; details (parameters, default laws) load the selected claims."""
    from zoverify.claims import select

    entries = select(args.names, include_slow=True)
    detailed = bool(args.names) or args.format == "json"
    if args.format == "json":
        rows = [
            {
                "name": c.name,
                "statement": c.statement,
                "source": c.source,
                "status": [s.value for s in c.status],
                "status_note": c.status_note,
                "slow": c.slow,
                "laws": list(c.laws),
                "params": {k: {"default": p.default, "doc": p.doc} for k, p in c.params.items()},
            }
            for c in entries
        ]
        print(json.dumps(rows, indent=2))
        return 0
    for c in entries:
        print(f"{c.name}  [{c.status_text}]{'  [slow]' if c.slow else ''}\n    {c.statement}\n    source: {c.source}")
        if detailed:
            print(f"    default laws: {', '.join(c.laws)}")
            for key, p in c.params.items():  # settable with check --param KEY=VALUE
                print(f"    --param {key}={p.default}: {p.doc}")
    return 0


def parse_params(items, claims) -> dict[str, str]:
    """``KEY=VALUE`` strings; every key must be a parameter of at least one selected claim."""
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(f"--param expects KEY=VALUE, got {item!r}")
        params[key.strip()] = value.strip()
    for key in params:
        if not any(key in c.params for c in claims):
            accepted = sorted({k for c in claims for k in c.params}) or ["none"]
            raise InvalidParameterError(f"no selected claim has a parameter {key!r}; accepted: {', '.join(accepted)}")
    for c in claims:  # refuse a bad value before any claim runs
        c.resolve_params({k: v for k, v in params.items() if k in c.params})
    return params


def run_check(args) -> int:
    from zoverify._device import resolve_device, resolve_dtype
    from zoverify._threads import resolve_threads, thread_limits
    from zoverify.claims import select
    from zoverify.cli._report import prepare_report_dir, render_table, write_report
    from zoverify.verify.runner import plan_runs, run_plan

    resolve_device(args.device)  # refuse bad input before any work starts
    resolve_dtype(args.dtype)
    threads = resolve_threads(args.threads)
    if args.seed < 0:
        raise InvalidParameterError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.samples is not None and args.samples < 1:
        raise InvalidParameterError(f"--samples must be positive, got {args.samples}")
    if args.report:
        prepare_report_dir(args.report)
    claims = select(args.names, include_slow=args.slow)
    params = parse_params(args.param, claims)
    plan = plan_runs(claims, law=args.law)
    start = time.perf_counter()
    with thread_limits(threads):
        results = run_plan(
            plan,
            seed=args.seed,
            num_samples=args.samples,
            device=args.device,
            dtype=args.dtype,
            alpha=args.alpha,
            progress=sys.stderr.isatty(),
            params=params,
        )
    elapsed = time.perf_counter() - start
    if args.report:
        write_report(results, args.report, elapsed=elapsed)
    if args.format == "json":
        print(
            json.dumps({"results": [r.to_dict() for r in results], "elapsed_s": elapsed, "threads": threads}, indent=2)
        )
    else:
        render_table(results, elapsed=elapsed)
    return exit_code(results)


#: exit codes of ``zoverify check``: 2 is bad input (raised before any claim runs)
EXIT_PASS, EXIT_FAIL, EXIT_INCONCLUSIVE = 0, 1, 3


def exit_code(results) -> int:
    """1 if a claim fails; else 3 if one is inconclusive (a negative control not rejected); else 0."""
    verdicts = {r.verdict for r in results}
    if Verdict.FAIL in verdicts:
        return EXIT_FAIL
    if Verdict.INCONCLUSIVE in verdicts:
        return EXIT_INCONCLUSIVE
    return EXIT_PASS
