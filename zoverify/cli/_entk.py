"""CLI commands of the entk family: ``entk-variance`` and ``jl``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from zoverify._errors import InvalidParameterError, NotApplicableError

if TYPE_CHECKING:
    import numpy as np


def add_commands(sub) -> None:
    """Register ``entk-variance`` and ``jl``."""
    p = sub.add_parser("entk-variance", help="mean and exact variance of one ZO eNTK entry")
    p.add_argument("--law", required=True, help="direction law spec, e.g. 'rademacher'")
    p.add_argument("--a", required=True, help="Jacobian row a: comma-separated numbers or a .npy file")
    p.add_argument("--b", required=True, help="Jacobian row b: comma-separated numbers or a .npy file")
    p.add_argument("--queries", required=True, type=int, help="number of perturbations P")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=run_variance)

    q = sub.add_parser("jl", help="perturbations the JL statement needs for n points")
    q.add_argument("--epsilon", required=True, type=float, help="distortion eps in (0, 1.5)")
    q.add_argument("--delta", required=True, type=float, help="failure probability in (0, 1)")
    q.add_argument("--points", required=True, type=int, help="number of points n (3V for a V-output kernel)")
    q.add_argument("--law", default="gaussian", help="direction law (the constant holds for gaussian, rademacher)")
    q.add_argument("--format", choices=["text", "json"], default="text")
    q.set_defaults(run=run_jl)


def parse_vector(text: str, name: str) -> np.ndarray:
    """A 1-D float vector from 'x,y,z' or a .npy file; clear errors otherwise."""
    import numpy as np

    if text.endswith(".npy"):
        path = Path(text)
        if not path.is_file():
            raise InvalidParameterError(f"--{name}: file {text} does not exist")
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:  # EOFError: an empty file
            raise InvalidParameterError(f"--{name}: cannot read {text} as a .npy array: {exc}") from None
    else:
        try:
            arr = np.array([float(x) for x in text.split(",")])
        except ValueError:
            raise InvalidParameterError(
                f"--{name}: expected comma-separated numbers (e.g. 1,0.5,-2) or a .npy file, got {text!r}"
            ) from None
    arr = np.asarray(arr, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(f"--{name}: expected a non-empty 1-D vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"--{name}: entries must be finite numbers")
    return arr


def entry_mean_variance(law, a: np.ndarray, b: np.ndarray, queries: int) -> tuple[float, float]:
    """E K_hat_ab and Var K_hat_ab from the symbolic maps, evaluated at a, b."""
    import numpy as np

    from zoverify.symbolic import entk as E
    from zoverify.symbolic import evaluate
    from zoverify.symbolic import symbols as S

    if a.shape != b.shape:
        raise InvalidParameterError(f"--a and --b must have the same length, got {a.size} and {b.size}")
    if queries < 1:
        raise InvalidParameterError(f"--queries must be a positive integer, got {queries}")
    law.check_dim(a.size)
    d = law.fixed_dim or S.d
    av, bv = E.entk_row_vectors(d)
    env = {S.d: a.size, av: a, bv: b, S.P: queries}
    try:
        with np.errstate(over="raise"):
            mean = float(evaluate(E.entk_entry_mean(law, av, bv, d), env))
            var = float(evaluate(E.entk_entry_variance(law, av, bv, d=d), env))
    except (OverflowError, FloatingPointError):
        mean = var = math.inf
    if not (math.isfinite(mean) and math.isfinite(var)):
        raise InvalidParameterError(
            "E and Var of K_hat_ab overflow float64 at these --a, --b (Var grows as |a|^2 |b|^2 / P); rescale them"
        )
    # float64 cancellation can leave a tiny negative where the exact value is 0 (e.g. a = 0)
    scale = float(a @ a) * float(b @ b) / queries
    if -1e-12 * scale <= var < 0:
        var = 0.0
    return mean, var


def run_variance(args) -> int:
    """``zoverify entk-variance``."""
    from zoverify.perturbations import parse_law

    law = parse_law(args.law)
    a, b = parse_vector(args.a, "a"), parse_vector(args.b, "b")
    mean, var = entry_mean_variance(law, a, b, args.queries)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "law": law.spec,
                    "queries": args.queries,
                    "dim": int(a.size),
                    "mean": mean,
                    "variance": var,
                    "std": math.sqrt(max(var, 0.0)),
                }
            )
        )
    else:
        print(f"law {law.spec}, d = {a.size}, P = {args.queries}")
        print(f"E[K_hat_ab]   = {mean:.12g}")
        print(f"Var[K_hat_ab] = {var:.12g}  (std {math.sqrt(max(var, 0.0)):.6g})")
    return 0


def run_jl(args) -> int:
    """``zoverify jl``: refuses laws for which the JL constant is not established."""
    from zoverify.perturbations import parse_law
    from zoverify.symbolic import entk as E

    law = parse_law(args.law)
    reason = E.jl_constant_reason(law)
    if reason is not None:
        raise NotApplicableError(reason)
    p = E.jl_required_perturbations(args.epsilon, args.delta, args.points)
    c = 0.25 - args.epsilon / 6
    if args.format == "json":
        print(
            json.dumps(
                {
                    "law": law.spec,
                    "epsilon": args.epsilon,
                    "delta": args.delta,
                    "points": args.points,
                    "constant": c,
                    "perturbations": p,
                }
            )
        )
    else:
        print(f"P >= (2 ln {args.points} + ln(1/{args.delta:g})) / (c eps^2), c = 1/4 - eps/6 = {c:.6g}")
        print(f"perturbations: {p}   (law {law.spec}; Achlioptas 2003)")
    return 0
