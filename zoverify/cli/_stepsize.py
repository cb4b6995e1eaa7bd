"""``zoverify stepsize``: the mean-square stable ZO step eta* of a user's torch model, matrix-free."""

from __future__ import annotations

import json
import math

from zoverify._errors import InvalidParameterError


def add_commands(sub) -> None:
    p = sub.add_parser(
        "stepsize",
        help="mean-square stable ZO-GD / ZO-GDM step eta* of a torch model (MODEL: module:callable or file.py:callable)",
    )
    p.add_argument(
        "model",
        metavar="MODEL",
        help="module:callable or path/to/file.py:callable returning (model, loss_fn) or (model, loss_fn, "
        "batch_loss_fn) with batch_loss_fn(model, generator) the loss of one random minibatch",
    )
    p.add_argument(
        "--law", action="append", default=None, help="direction law spec, repeatable (default gaussian and sphere)"
    )
    p.add_argument("--queries", type=int, default=1, help="directions averaged per step (default 1)")
    p.add_argument("--method", choices=["gd", "gdm"], default="gd")
    p.add_argument("--beta", type=float, default=None, help="momentum of gdm (default 0.9)")
    p.add_argument("--accuracy", type=float, default=0.1, help="relative half-width aimed at (default 0.1)")
    p.add_argument(
        "--descent-only",
        action="store_true",
        help="skip the Lanczos quadrature and eta*: the descent edges, tr H and lambda_max only (a fraction of the cost)",
    )
    p.add_argument(
        "--mu",
        type=float,
        default=None,
        help="the finite-difference radius of your run: its central difference is measured against the "
        "directional derivative at mu and 2 mu (off by more than --accuracy: eta* does not describe the run)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=run_stepsize)


def load_model(spec: str):
    """(model, loss_fn, batch_loss_fn or None) from the user's callable (one-line errors for anything else)."""
    from zoverify.subjects._load import load_callable

    factory = load_callable(spec)
    try:
        made = factory()
    except Exception as exc:  # the user's code failed: one line
        raise InvalidParameterError(f"{spec}() raised {type(exc).__name__}: {exc}") from None
    if not (isinstance(made, tuple) and len(made) in (2, 3) and all(callable(f) for f in made[1:])):
        raise InvalidParameterError(
            f"{spec}() must return (model, loss_fn) or (model, loss_fn, batch_loss_fn), got {type(made).__name__}"
            + (f" of length {len(made)}" if isinstance(made, tuple) else "")
        )
    return made[0], made[1], made[2] if len(made) == 3 else None


def run_stepsize(args) -> int:
    from zoverify.numeric.stepsize import ROUTE_DESCENT_ONLY, stepsize

    if args.method == "gd" and args.beta is not None:
        raise InvalidParameterError("--beta is not used with --method gd")
    if args.seed < 0:
        raise InvalidParameterError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.mu is not None and not (math.isfinite(args.mu) and args.mu > 0):
        raise InvalidParameterError(f"--mu must be a positive finite number, got {args.mu}")
    model, loss_fn, batch_loss_fn = load_model(args.model)
    result = stepsize(
        model,
        loss_fn,
        batch_loss_fn=batch_loss_fn,
        laws=args.law,
        queries=args.queries,
        method=args.method,
        beta=0.9 if args.beta is None else args.beta,
        accuracy=args.accuracy,
        seed=args.seed,
        device=args.device,
        descent_only=args.descent_only,
        mu=args.mu,
    )
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    r = result
    print(
        f"d = {r.dimension}, loss {r.loss:.6g}, method {r.method}"
        + (f", beta {r.beta:g}" if r.method != "gd" else "")
        + f", queries {r.queries}"
    )
    print(
        f"  lambda_max  {_fmt(r.lambda_max)}  (Lanczos; top Ritz values {', '.join(_fmt(x) for x in r.top_eigenvalues)})"
    )
    print(f"  Tr H        {_fmt(r.trace)}  [{_fmt(r.trace_interval[0])}, {_fmt(r.trace_interval[1])}]  (Hutchinson)")
    if r.trace_positive_part is not None:
        print(f"  Tr H_+      {_fmt(r.trace_positive_part)}  (SLQ, negative eigenvalues clipped to 0)")
    print(f"  |g|         {_fmt(r.gradient_norm)}  g^T H g / |g|^2 {_fmt(r.gradient_curvature)}")
    for law in r.laws:
        low, high = law.eta_star_interval
        shown = (
            "not estimated" if law.route == ROUTE_DESCENT_ONLY else f"{_fmt(law.eta_star)}  [{_fmt(low)}, {_fmt(high)}]"
        )
        print(
            f"  {law.law:<12} eta* {shown}  first-order {_fmt(law.first_order)}"
            f"  ({law.route}{'; ' + law.note if law.note else ''})"
        )
        if law.descent_edge is not None:
            dlo, dhi = law.descent_edge_interval
            which = f"minibatch, {r.minibatch_draws} draws" if r.minibatch_draws else "full batch"
            print(
                f"  {'':<12} descent edge {_fmt(law.descent_edge)}  [{_fmt(dlo)}, {_fmt(dhi)}]  (first ZO step, {which}, any sign of H)"
            )
        if law.difference_error is not None:
            cause = f"; {law.difference_cause} dominates" if law.difference_cause else ""
            print(
                f"  {'':<12} central difference at mu = {r.mu:g}: {_fmt(law.difference_error)} relative error"
                f" ({_fmt(law.difference_error_at_2mu)} at 2 mu{cause}; {r.difference_directions} directions)"
            )
    sizes = (
        f"{r.trace_probes} Hutchinson probes"
        if r.num_probes == 0
        else f"{r.num_probes} probes x {r.lanczos_steps} Lanczos steps"
    )
    print(
        f"  {sizes}, {r.hessian_vector_products} Hessian-vector products,"
        f" {r.seconds:.3g} s = {r.cost_in_forward_backward:.3g} forward-backward passes;"
        f" intervals at {r.confidence:.0%}"
    )
    return 0


def _fmt(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.6g}"
