"""``zoverify stepsize`` for laws whose eta* is not a function of the spectrum, against the dense route.

For such a law (a Diag term in E[zz^T A zz^T], e != 0: Rademacher, uniform, sparse, ...)
``zoverify stepsize`` forms the Hessian from d Hessian-vector products and runs the law's exact
operator on its positive part (the "exact operator" route, d <= exact_max_dim), or, above that
size, brackets eta* by comparison bounds from the SLQ density (the "bounds" route,
docs/stepsize.md#route-3-bounds-other-laws-larger-d).  The claim runs the whole user-facing
function twice on the instance of zoverify/claims/stepsize/common.py (d = 310): as it is (exact
route) and with ``exact_max_dim=0`` (bounds route, probes drawn from the claim's stream and
intervals at confidence 1 - 1e-6).

Prediction: eta* of the law's exact operator on the positive part of the dense Hessian from
torch.func (a different autograd path from the products).  Components:

* the exact route's eta*, equal within a rounding bound: both Hessians carry float64 summation
  error over the n = 901 samples, at most eps_H = n d eps ||H||_2 in norm each (first-order
  bound on a sum of n terms, d entries per row), so by Weyl every eigenvalue moves by at most
  2 eps_H; the tolerance is half the spread of eta* between H_+ - 2 eps_H I and H_+ + 2 eps_H I.
  Controls: +-5 % of eta*;
* the bounds route's lower bound, <= eta*, and its upper bound, >= eta* (one-sided; each fails
  with probability <= 1e-6 through its SLQ interval, so their power is the exact component's).
"""

from __future__ import annotations

import numpy as np

from zoverify._errors import NotApplicableError
from zoverify._rng import draw_seed
from zoverify.claims.stepsize.common import dense_instance, instance_model, structured_form
from zoverify.numeric.stability_operator import critical_step_size
from zoverify.numeric.stepsize import ROUTE_BOUNDS, ROUTE_EXACT, stepsize
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import LOWER_BOUND, TWO_SIDED, UPPER_BOUND, SidedTest
from zoverify.verify.registry import register

_SAMPLES = 901  # digits 0-4: the summands of every Hessian entry
BOUNDS_CONFIDENCE = 1 - 1e-6
_NO_BOUND = 1e300  # an upper bound the route does not give: always holds, JSON-safe


def applies_to(law) -> str | None:
    """Laws with a Diag term or no structured form; spectral laws are stepsize.slq_eta_star's."""
    try:
        form = structured_form(law)
    except NotApplicableError as exc:
        return str(exc)
    if isinstance(form, str):  # no structured form: the exact operator and the bounds are the routes
        return None
    if form.e == 0:
        return f"eta* of {law.spec} is a function of the spectrum: its route is judged by stepsize.slq_eta_star"
    return None


def _positive_part(H: np.ndarray) -> np.ndarray:
    lam, V = np.linalg.eigh(H)
    return (V * np.clip(lam, 0.0, None)) @ V.T


def _eta(law, H: np.ndarray) -> float:
    return critical_step_size(law, H).eta_star


def _predict(ctx: Context) -> list[float]:
    H = dense_instance(ctx).hessian
    eta = _eta(ctx.law, _positive_part(H))  # NotApplicableError (no exact operator at this d): n/a
    return [eta, eta, eta]


def _simulate(ctx: Context):
    model, loss_fn = instance_model(ctx)
    seed = draw_seed(ctx.mc_generator())
    exact = stepsize(model, loss_fn, laws=[ctx.law.spec], accuracy=0.3, seed=seed).laws[0]
    model, loss_fn = instance_model(ctx)
    bounds = stepsize(
        model, loss_fn, laws=[ctx.law.spec], accuracy=0.3, confidence=BOUNDS_CONFIDENCE, seed=seed, exact_max_dim=0
    ).laws[0]
    low, high = bounds.eta_star_interval
    values = [exact.eta_star, low if low is not None else 0.0, high if high is not None else _NO_BOUND]
    # a law sent down another route is a finding, not n/a: its values cannot be read as these components
    if exact.route != ROUTE_EXACT or exact.eta_star is None:
        values[0] = float("nan")
    if bounds.route != ROUTE_BOUNDS:
        values[1:] = [float("nan"), float("nan")]
    return values, _tolerance(ctx), [TWO_SIDED, UPPER_BOUND, LOWER_BOUND]


def _tolerance(ctx: Context) -> list[float]:
    """Half the spread of the exact eta* over H_+ +- 2 eps_H I (module docstring); 0 for the bounds."""
    dense = dense_instance(ctx)
    lam = dense.eigenvalues
    eps_h = _SAMPLES * lam.size * np.finfo(float).eps * float(np.abs(lam).max())
    H_pos = _positive_part(dense.hessian)
    eye = np.eye(lam.size)
    up, down = _eta(ctx.law, H_pos + 2 * eps_h * eye), _eta(ctx.law, _positive_part(H_pos - 2 * eps_h * eye))
    return [abs(down - up) / 2, 0.0, 0.0]


def _controls(ctx: Context, prediction: np.ndarray) -> list:
    """The exact component moved by +-5 %; the bounds hold the prediction itself."""
    out = []
    for sign in (+1, -1):
        alt = np.array(prediction, float)
        alt[0] *= 1 + sign * 0.05
        out.append((f"exact route eta* {'+' if sign > 0 else '-'}5%", alt))
    return out


register(
    Claim(
        name="stepsize.routes_vs_dense",
        predict=_predict,
        simulate=_simulate,
        test=SidedTest(),
        applies_to=applies_to,
        laws=("rademacher", "sparse(p=0.25)"),  # a Diag term of each sign: both branches of the bounds
        num_samples=1,  # deterministic routes; the bounds' probes come from the claim's stream
        negative_alternatives=_controls,
        labels=lambda ctx: [
            "eta* (exact operator on H_+ from Hessian-vector products)",
            "lower bound (bounds route) <= eta*",
            "upper bound (bounds route) >= eta*",
        ],
    )
)
