"""``zoverify audit``: a user's ZO estimator, optimizer or MeZO-style update against the theory of its law."""

from __future__ import annotations

import json
import sys

from zoverify._errors import InvalidParameterError
from zoverify.verify.verdict import ALPHA


def add_commands(sub) -> None:
    p = sub.add_parser(
        "audit",
        help="audit a user's ZO code (module:callable or file.py:callable); exit 1 fail, 3 inconclusive, 2 bad subject",
    )
    p.add_argument("subject", metavar="SUBJECT", help="module:callable or path/to/file.py:callable")
    p.add_argument("--kind", choices=["estimator", "optimizer", "torch-update"], default="estimator")
    p.add_argument("--law", default=None, help="declared law spec (inferred for an estimator when absent)")
    p.add_argument("--scheme", choices=["central", "forward"], default=None, help="declared difference scheme")
    p.add_argument("--mu", type=float, default=None, help="declared perturbation radius")
    p.add_argument("--queries", type=int, default=None, help="declared number of directions per estimate (q)")
    p.add_argument("--scale", type=float, default=None, help="declared scale (default: judged at 1, inferred)")
    p.add_argument("--method", choices=["gd", "gdm", "adam"], default="gd", help="declared update rule of an optimizer")
    p.add_argument("--beta", type=float, default=0.9, help="declared momentum (gdm; beta1 of adam)")
    p.add_argument("--beta2", type=float, default=0.999, help="declared second-moment decay (adam)")
    p.add_argument("--eps", type=float, default=1e-8, help="declared eps (adam)")
    p.add_argument(
        "--lr", type=float, default=None, help="learning rate of the probes (torch update; the optimizer replay)"
    )
    p.add_argument("--dims", default="6", help="comma-separated test dimensions (estimator, optimizer)")
    p.add_argument("--size", type=int, default=None, help="entries of the largest probe tensor (torch update)")
    p.add_argument("--samples", type=int, default=None, help="Monte Carlo samples of every property")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--alpha",
        type=float,
        default=ALPHA,
        help=f"false-failure probability of the whole audit, split over its checks ({ALPHA:g})",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--report", default=None, metavar="DIR", help="write audit.json and audit.md here")
    p.set_defaults(run=run_audit)


def _dims(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InvalidParameterError(f"--dims takes comma-separated integers >= 2, got {text!r}") from None
    if not dims or min(dims) < 2:
        raise InvalidParameterError(f"--dims takes comma-separated integers >= 2, got {text!r}")
    return dims


def run_audit(args) -> int:
    from zoverify.audit import audit

    if args.seed < 0:
        raise InvalidParameterError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.samples is not None and args.samples < 1:
        raise InvalidParameterError(f"--samples must be positive, got {args.samples}")
    tty = sys.stderr.isatty()
    report = audit(
        args.subject,
        kind=args.kind,
        law=args.law,
        scheme=args.scheme,
        mu=args.mu,
        queries=args.queries,
        scale=args.scale,
        method=args.method,
        beta=args.beta,
        beta2=args.beta2,
        eps=args.eps,
        lr=args.lr,
        dims=_dims(args.dims),
        size=args.size,
        samples=args.samples,
        seed=args.seed,
        alpha=args.alpha,
        progress=(lambda text: print(f"\r\033[K  {text}", end="", file=sys.stderr, flush=True)) if tty else None,
    )
    if tty:
        print("\r\033[K", end="", file=sys.stderr)
    if args.report:
        report.write(args.report)
    print(json.dumps(report.to_dict(), indent=2) if args.format == "json" else report.text())
    return report.exit_code
