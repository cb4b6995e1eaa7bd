"""``zoverify sweep`` and ``zoverify sweep-report``.

Nothing heavy is imported here at module level (dask, torch, the claims load
inside the command), so ``zoverify --help`` stays fast.
"""

from __future__ import annotations

import sys


def add_commands(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run claims over a grid of laws, parameters, sample sizes and seeds on dask; report calibration",
        description="Items are claims x laws x --param values x --samples x --perturb x seeds; results go to "
        "DIR/results.jsonl as they arrive, and a re-run skips the items already there.",
    )
    p.add_argument("names", nargs="*", metavar="CLAIM_OR_FAMILY", help="claim names or families (e.g. stability)")
    p.add_argument(
        "--law",
        action="append",
        default=[],
        metavar="SPEC",
        help="a law to run every claim with (repeatable; default: each claim's own laws)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a claim parameter; a key given twice is a grid axis",
    )
    p.add_argument("--seeds", default=None, metavar="A:B", help="seeds A to B-1")
    p.add_argument(
        "--samples",
        action="append",
        type=int,
        default=[],
        metavar="N",
        help="Monte Carlo sample size (repeatable; default: each claim's own)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="false-failure probability of one check (default: that of `zoverify check`; 0.05 to calibrate)",
    )
    p.add_argument(
        "--perturb",
        action="append",
        type=float,
        default=[],
        metavar="DELTA",
        help="scale predictions by 1+DELTA and report the rejection rate (power; repeatable)",
    )
    p.add_argument("--grid", action="append", default=[], metavar="FILE.toml", help="items from a TOML grid file")
    p.add_argument("--out", required=True, metavar="DIR", help="results and reports go here")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a running dask scheduler (tcp://HOST:PORT); default: an embedded local cluster",
    )
    p.add_argument("--workers", type=int, default=None, help="embedded cluster size (default: one per core)")
    p.add_argument("--connect-timeout", type=float, default=5.0, metavar="S", help="seconds to reach --scheduler")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=run_sweep)

    p = sub.add_parser("sweep-report", help="rewrite the calibration and power reports of a sweep's folder")
    p.add_argument("out", metavar="DIR")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=run_sweep_report)


def sweep_items(args) -> list:
    """The grid of the command line and of every --grid file, validated (nothing has run yet)."""
    from zoverify._errors import InvalidParameterError
    from zoverify.claims import ALPHA
    from zoverify.sweep.grid import (
        build_items,
        load_grid_file,
        parse_param_items,
        parse_seeds,
        unique,
    )

    alpha = ALPHA if args.alpha is None else args.alpha
    items = []
    if args.names or not args.grid:
        if args.seeds is None:
            raise InvalidParameterError("--seeds A:B is required (seeds A to B-1), unless a --grid file sets them")
        items += build_items(
            args.names,
            seeds=parse_seeds(args.seeds),
            laws=args.law,
            params=parse_param_items(args.param),
            samples=args.samples or [None],
            alpha=alpha,
            perturb=args.perturb or [0.0],
        )
    elif args.law or args.param or args.seeds or args.samples or args.perturb:
        raise InvalidParameterError(
            "--law/--param/--seeds/--samples/--perturb apply to named claims; "
            "with only --grid files, set them in the file"
        )
    for path in args.grid:
        items += load_grid_file(path, default_alpha=alpha)
    return unique(items)


def run_sweep(args) -> int:
    import json

    from zoverify._errors import InvalidParameterError
    from zoverify.sweep.engine import connect, open_client, run_dask
    from zoverify.sweep.report import write_reports
    from zoverify.sweep.store import ResultStore

    if args.workers is not None and args.workers < 1:
        raise InvalidParameterError(f"--workers must be positive, got {args.workers}")
    if args.connect_timeout <= 0:
        raise InvalidParameterError(f"--connect-timeout must be positive, got {args.connect_timeout}")
    items = sweep_items(args)
    store = ResultStore(args.out)
    store.prepare()
    if args.scheduler:  # refuse an unreachable scheduler before any item is submitted
        connect(args.scheduler, timeout=args.connect_timeout).close()
    bar = _Progress(enabled=sys.stderr.isatty() and args.format == "text")
    with open_client(args.scheduler, workers=args.workers, connect_timeout=args.connect_timeout) as client:
        try:
            summary = run_dask(items, store, client, on_start=bar.start, on_result=bar.advance)
        finally:
            bar.stop()
    store.write_parquet()
    payload = write_reports(store.rows(), store.folder)
    if args.format == "json":
        print(json.dumps({"summary": vars(summary), "report": payload}, indent=2, default=str))
    else:
        _print_text(summary, store)
    return 1 if summary.errors else 0


def run_sweep_report(args) -> int:
    import json

    from zoverify._errors import ZoverifyError
    from zoverify.sweep.report import write_reports
    from zoverify.sweep.store import ResultStore

    store = ResultStore(args.out)
    if not store.path.is_file():
        raise ZoverifyError(f"no sweep results in {args.out!r} (expected {store.path}); run `zoverify sweep` first")
    payload = write_reports(store.rows(), store.folder)
    if args.format == "json":
        print(json.dumps(payload, indent=2, default=str))
    else:
        _print_tables(store)
    return 0


def _print_text(summary, store) -> None:
    print(
        f"{summary.total} items: {summary.already_done} already done, {summary.ran} run now, "
        f"{summary.errors} raised (see {store.folder / 'errors.jsonl'}; a re-run retries them)"
        if summary.errors
        else f"{summary.total} items: {summary.already_done} already done, {summary.ran} run now on {_where(summary)}"
    )
    _print_tables(store)


def _where(summary) -> str:
    return f"{summary.address} ({summary.workers} worker{'' if summary.workers == 1 else 's'})"


def _print_tables(store) -> None:
    for name in ("calibration.md", "power.md", "controls.md"):
        path = store.folder / name
        if path.is_file():
            print(f"\n{name.removesuffix('.md')} ({path.with_suffix('.png')}):\n{path.read_text()}", end="")


class _Progress:
    """A rich progress bar with an ETA on a terminal; silent otherwise."""

    def __init__(self, *, enabled: bool):
        self.enabled, self.bar = enabled, None

    def start(self, summary) -> None:
        where = _where(summary)
        if summary.dashboard:
            where += f", dashboard {summary.dashboard}"
        print(
            f"zoverify sweep: {summary.total - summary.already_done} of {summary.total} items to run on {where}",
            file=sys.stderr,
        )
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.add_task("items", total=summary.total - summary.already_done)
        self.bar.start()

    def advance(self, _row) -> None:
        if self.bar is not None:
            self.bar.advance(self.bar.task_ids[0])

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
