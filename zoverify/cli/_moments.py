"""``zoverify moments``: a law's symbolic moments as text, LaTeX or JSON."""

from __future__ import annotations

import json


def add_commands(sub) -> None:
    p = sub.add_parser("moments", help="print a law's symbolic moments (d symbolic)")
    p.add_argument("--law", required=True, help="law spec, e.g. 'laplace(b=0.6)'")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.add_argument("--dim", type=int, default=None, help="also evaluate the maps at this dimension")
    p.set_defaults(run=run)


def law_moments(law, dim: int | None = None) -> dict:
    """The law's moment maps as sympy expressions (A and v symbolic)."""
    import sympy as sp

    from zoverify.symbolic import symbols as S

    d = law.fixed_dim or S.d
    A, v = S.matrix("A", d, d), S.vector("v", d)
    out = {
        "E[z]": law.mean(d),
        "E[z z^T]": law.second_moment(d),
        "E[(v^T z) z z^T]": law.third_moment(v, d),
        "E[z z^T A z z^T]": law.fourth_moment(A, d),
        "E[||z||^2 z z^T]": law.fourth_moment(sp.Identity(d), d).doit(),
    }
    return out


def run(args) -> int:
    import sympy as sp

    from zoverify.perturbations import parse_law
    from zoverify.symbolic import evaluate
    from zoverify.symbolic import symbols as S

    law = parse_law(args.law)
    if args.dim is not None:
        law.check_dim(args.dim)
    moments = law_moments(law)
    coords = law.scalar_moments()
    if args.format == "json":
        payload = {
            "law": law.spec,
            "dimension": law.fixed_dim if law.fixed_dim else "d",
            "moments": {k: {"text": str(v), "latex": sp.latex(v)} for k, v in moments.items()},
            "coordinate_moments": {k: str(v) for k, v in (coords or {}).items()} or None,
        }
        dim = args.dim or law.fixed_dim
        if dim:
            env = {S.d: dim}
            payload["numeric"] = {
                "dim": dim,
                "E[z]": evaluate(moments["E[z]"], env).ravel().tolist(),
                "E[z z^T]": evaluate(moments["E[z z^T]"], env).tolist(),
                "E[||z||^2 z z^T]": evaluate(moments["E[||z||^2 z z^T]"], env).tolist(),
            }
        print(json.dumps(payload, indent=2))
        return 0
    render = sp.latex if args.format == "latex" else str
    print(
        f"law: {law.spec}   (A symmetric d x d, v in R^d; d {'= ' + str(law.fixed_dim) if law.fixed_dim else 'symbolic'})"
    )
    if coords:
        print("coordinate moments: " + ", ".join(f"{k} = {render(v)}" for k, v in coords.items()))
    for name, expr in moments.items():
        print(f"{name} = {render(expr)}")
    dim = args.dim or law.fixed_dim
    if args.dim is not None:
        import numpy as np

        env = {S.d: dim}
        print(f"at d = {dim}:")
        for name in ("E[z]", "E[z z^T]", "E[||z||^2 z z^T]"):
            value = np.asarray(evaluate(moments[name], env))
            print(
                f"{name} =\n{np.array2string(value.ravel() if name == 'E[z]' else value, precision=6, suppress_small=True)}"
            )
    return 0
