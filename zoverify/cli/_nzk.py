"""``zoverify nzk``: the expected NZK middle matrix M (E K(x_i, x_j) = x_i^T M x_j)."""

from __future__ import annotations

import json

from zoverify._errors import InvalidParameterError

#: as zoverify.symbolic.nzk.PAIRINGS (kept literal so `--help` imports no sympy; a test keeps them equal)
PAIRINGS = ("shared", "independent")


def add_commands(sub) -> None:
    p = sub.add_parser("nzk", help="print the expected NZK middle matrix M for a direction law")
    p.add_argument("--law", required=True, help="law of z, e.g. 'gaussian(mean=[1,2], std=0.5)'")
    p.add_argument("--zeta-law", default=None, help="law of zeta for independent pairs (default: the law of z)")
    p.add_argument("--pairing", choices=list(PAIRINGS), default="shared", help="zeta = z (shared) or independent")
    p.add_argument("--dim", type=int, default=None, help="evaluate M at this dimension (inferred from a vector mean)")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.set_defaults(run=run)


def nzk_summary(law_spec: str, *, pairing: str, zeta_spec: str | None = None, dim: int | None = None) -> dict:
    """M and what follows from it, as plain data (the CLI's JSON payload)."""
    import numpy as np
    import sympy as sp

    from zoverify.perturbations import parse_law
    from zoverify.symbolic import nzk as sym
    from zoverify.symbolic import symbols as S

    law = parse_law(law_spec)
    zeta = parse_law(zeta_spec) if zeta_spec is not None else None
    if dim is not None and dim < 1:
        raise InvalidParameterError(f"--dim must be a positive integer, got {dim}")
    d = sym.common_dimension(law, *([zeta] if zeta else []), dim=dim)
    # M is derived with d symbolic when no dimension is fixed, then evaluated
    M = sym.nzk_middle_matrix(law, pairing=pairing, zeta_law=zeta, d=None if dim is None else d)
    factor = sym.identity_coefficient(M)
    out = {
        "law": law.spec,
        "zeta_law": (zeta or law).spec if pairing == "independent" else law.spec,
        "pairing": pairing,
        "dimension": int(d) if d.is_number else "d",
        "M": str(M),
        "latex": sp.latex(M),
        "kernel": "E K(x_i, x_j) = x_i^T M x_j",
        "orientation": sym.ORIENTATION if pairing == "independent" else "K(x_i, x_j) = (z.x_i)(z.z)(z.x_j)",
        "factor": None if factor is None else str(factor),
        "factor_latex": None if factor is None else sp.latex(factor),
    }
    if d.is_number:
        at_d = M.subs(S.d, d) if hasattr(M, "subs") else M
        # a pole at this d (a user's moment with 1/(d - 2), say) is sympy's zoo, which has no float value
        poles = at_d.has(sp.zoo, sp.oo, sp.S.NegativeInfinity, sp.nan)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, as one line
            matrix = None if poles else sym.evaluate_middle_matrix(at_d, int(d))  # pyright: ignore[reportArgumentType]  # subs() is typed loosely
        if matrix is None or not np.all(np.isfinite(matrix)):
            raise InvalidParameterError(f"M of {law.spec} is not finite at d = {int(d)}")
        out["matrix"] = matrix.tolist()
    return out


def run(args) -> int:
    import numpy as np

    info = nzk_summary(args.law, pairing=args.pairing, zeta_spec=args.zeta_law, dim=args.dim)
    if args.format == "json":
        print(json.dumps(info, indent=2))
        return 0
    latex = args.format == "latex"
    head = f"NZK middle matrix, {info['pairing']} pairs, z ~ {info['law']}"
    if info["pairing"] == "independent":
        head += f", zeta ~ {info['zeta_law']}"
    print(head + f" (d {'= ' + str(info['dimension']) if info['dimension'] != 'd' else 'symbolic'})")
    print("E K(x_i, x_j) = x_i^T M x_j,  M = " + (info["latex"] if latex else info["M"]))
    if info["pairing"] == "independent":
        print("orientation: " + info["orientation"])
    if info["factor"] is not None:
        print("M = c I with c = " + (info["factor_latex"] if latex else info["factor"]) + "   (E K = c X X^T)")
    if "matrix" in info:
        print(np.array2string(np.asarray(info["matrix"]), precision=6, suppress_small=True))
    return 0
