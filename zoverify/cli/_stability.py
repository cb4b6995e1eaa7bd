"""``zoverify stability``: the exact mean-square eta* of a Hessian, with bounds and thresholds."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from zoverify._errors import InvalidParameterError, NotApplicableError

if TYPE_CHECKING:
    import numpy as np


def add_commands(sub) -> None:
    p = sub.add_parser("stability", help="exact mean-square critical step size of ZO-GD / ZO-GDM / frozen ZO-Adam")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--spectrum", help='eigenvalues, e.g. "5,3,2,1.5" (H = diag(spectrum))')
    src.add_argument("--hessian", metavar="FILE.npy", help="a symmetric PSD Hessian saved with numpy.save")
    p.add_argument("--law", default="gaussian", help="direction law spec (default gaussian)")
    p.add_argument("--method", choices=["gd", "gdm", "adam"], default="gd")
    p.add_argument("--beta", type=float, default=None, help="momentum (GDM) or beta1 (Adam); default 0.9")
    p.add_argument("--queries", type=int, default=1, help="directions averaged per step (default 1)")
    p.add_argument("--preconditioner", metavar="FILE.npy", help="Adam's frozen P (matrix or diagonal vector)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=run_stability)


def _load_npy(path: str, what: str) -> np.ndarray:
    import numpy as np

    file = Path(path)
    if not file.is_file():
        raise InvalidParameterError(f"{what} file {path!r} does not exist")
    try:
        return np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:  # EOFError: an empty file
        raise InvalidParameterError(f"{what} file {path!r} is not a .npy array ({exc})") from None


def _parse_spectrum(text: str) -> np.ndarray:
    import numpy as np

    try:
        values = [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise InvalidParameterError(f"--spectrum must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise InvalidParameterError("--spectrum is empty")
    return np.diag(values)


def compute(H, *, law_spec="gaussian", method="gd", beta=None, queries=1, P=None) -> dict:
    """The command's result as a dict (JSON keys of the issue)."""
    import numpy as np

    from zoverify.numeric.stability_operator import (
        commutes,
        critical_step_size,
        mean_threshold,
        validate_hessian,
        validate_preconditioner,
    )
    from zoverify.perturbations import parse_law
    from zoverify.symbolic.stability import (
        first_order_threshold,
        spectral_bounds,
        spectral_setting,
    )

    law = parse_law(law_spec)
    H = validate_hessian(H)
    d = H.shape[0]
    if P is not None and method != "adam":
        raise InvalidParameterError("--preconditioner is only used with --method adam")
    if P is not None:
        P = validate_preconditioner(P, d)
    beta = 0.0 if method == "gd" else (0.9 if beta is None else float(beta))
    result = critical_step_size(law, H, method=method, beta=beta, q=queries, P=P)
    Ht = H if P is None else np.linalg.solve(P, H)
    eigs = np.linalg.eigvalsh(H)[::-1] if P is None else np.sort(np.linalg.eigvals(Ht).real)[::-1]
    commuting = P is None or commutes(P, H)
    lower = upper = None
    bounds_note = ""
    try:
        if not commuting:
            raise NotApplicableError("P and H do not commute (Theorem 3 assumes P H = H P)")
        setting = spectral_setting(law, method=method, beta=beta, q=queries, d=d)
        lower, upper = spectral_bounds(eigs, setting)
    except NotApplicableError as exc:
        bounds_note = str(exc)
    return {
        "law": law.spec,
        "method": method,
        "beta": beta,
        "queries": queries,
        "dimension": d,
        "eta_star": result.eta_star,
        "lower": lower,
        "upper": upper,
        "eta_mean": mean_threshold(law, H, method=method, beta=beta, P=P),
        "eta_first_order": first_order_threshold(float(eigs[0]), method=method, beta=beta),
        "radius_at_eta_star": result.radius_at_eta_star,
        "solver": result.solver,
        "bounds_note": bounds_note or None,
    }


def run_stability(args) -> int:
    if args.queries < 1:
        raise InvalidParameterError(f"--queries must be a positive integer, got {args.queries}")
    if args.beta is not None and not 0 <= args.beta < 1:
        raise InvalidParameterError(f"--beta must be in [0, 1), got {args.beta}")
    H = _parse_spectrum(args.spectrum) if args.spectrum is not None else _load_npy(args.hessian, "Hessian")
    P = None if args.preconditioner is None else _load_npy(args.preconditioner, "preconditioner")
    if args.method == "gd" and args.beta is not None:
        raise InvalidParameterError("--beta is not used with --method gd")
    out = compute(H, law_spec=args.law, method=args.method, beta=args.beta, queries=args.queries, P=P)
    if args.format == "json":
        print(json.dumps(out, indent=2))
        return 0
    fmt = _fmt
    print(
        f"law {out['law']}, method {out['method']}"
        + (f", beta {out['beta']:g}" if out["method"] != "gd" else "")
        + f", queries {out['queries']}, d = {out['dimension']}"
    )
    print(
        f"  mean-square eta*     {fmt(out['eta_star'])}   (exact operator, {out['solver']} solver; "
        f"spectral radius there {out['radius_at_eta_star']:.15f})"
    )
    if out["lower"] is not None:
        print(f"  bounds               [{fmt(out['lower'])}, {fmt(out['upper'])}]  (lambda_max and Tr)")
    else:
        print(f"  bounds               none apply: {out['bounds_note']}")
    print(f"  mean-stability eta   {fmt(out['eta_mean'])}")
    print(f"  first-order eta      {fmt(out['eta_first_order'])}")
    return 0


def _fmt(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.10g}"
