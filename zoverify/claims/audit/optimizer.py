"""Audit properties of a ZO optimizer ``factory(x0, lr, seed) -> step(f) -> x_next``.

* the mean path: E x_t after t = 1, 2, 5 steps from x0 on f = (x - x*)^T A (x - x*) / 2
  against the declared method's mean recursion, in which E g = scale (M2 A e + forward term);
* the mean-square stable step: one step of the subject on f = x^T H x / 2 is the random
  linear map x -> x - lr B x (plus a constant for a forward difference).  Running the first
  step of d + 1 fresh instances with one seed from x0 = 0 and x0 = e_j measures that seed's
  B column by column; the sample second moments of (1, vec B) give the subject's one-step
  mean-square operator (zoverify.numeric.stability_mc.SampleOperator, with the declared
  momentum), and its edge, with delete-a-group jackknife pseudo-values, is compared with the
  exact eta* of the declared law, q and method.  No trajectory is run, so the heavy tail of
  ||x_t||^2 near the edge never enters (docs/stability.md#monte-carlo-protocol).
"""

from __future__ import annotations

import numpy as np

from zoverify._errors import NotApplicableError
from zoverify.claims.audit.common import (
    declared_params,
    hessian,
    independent_directions,
    optimizer_subject,
    quadratic_form_mean,
    replicate_seeds,
    second_moment,
    test_dim,
)
from zoverify.claims.stability.common import eta_operator
from zoverify.numeric._batching import BatchAccumulator
from zoverify.numeric.stability_mc import jackknife_edge
from zoverify.verify.claim import Claim
from zoverify.verify.decision import BatchMeans
from zoverify.verify.jackknife import DeleteAGroupJackknife
from zoverify.verify.params import Param
from zoverify.verify.registry import register

_STEPS = (1, 2, 5)
_GROUPS = 32


def method_params(dim: int, *, setting: dict | None = None, **extra):
    """The declared parameters of an optimizer: the estimate's, the method and its constants."""
    return declared_params(
        dim=dim,
        extra={
            "method": Param("gd", "declared update rule", choices=("gd", "gdm", "adam")),
            "beta": Param(
                0.9, "declared momentum (gdm: m = beta m + g, x = x - lr m; adam: beta1)", low=0.0, high=0.999
            ),
            "beta2": Param(
                0.999, "declared second-moment decay of adam (v = beta2 v + (1 - beta2) g^2)", low=0.0, high=0.999999
            ),
            "eps": Param(1e-8, "declared eps of adam (x = x - lr m_hat / (sqrt(v_hat) + eps))", low=0.0),
            **extra,
        },
        **(setting or {}),
    )


def _linear_methods_only(ctx, what: str) -> None:
    """Adam divides by sqrt(v_hat), so neither its mean path nor its one-step map is linear in x."""
    if ctx["method"] not in ("gd", "gdm"):
        raise NotApplicableError(f"{what} is derived for a step linear in x (gd, gdm); {ctx['method']} is not")


#: the default check runs each optimizer property for ZO-GD and for ZO heavy ball with q = 4 directions
#: at a declared scale of 1/2 (the scale divides eta* and multiplies the mean step)
_GDM = {"method": "gdm", "beta": 0.5, "queries": 4, "scale": 0.5}


def _eta_star(ctx, H) -> float:
    """The exact mean-square eta* of the declared law, q and method, for the declared scale."""
    beta = ctx["beta"] if ctx["method"] == "gdm" else 0.0
    return eta_operator(ctx.law, H, method=ctx["method"], beta=beta, q=ctx["queries"]) / abs(ctx["scale"])


def path_problem(ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, x*, x0) of f = (x - x*)^T A (x - x*) / 2, from the claim's instance stream."""
    dim = test_dim(ctx)
    A = hessian(ctx, dim)
    rng = ctx.instance_rng()
    rng.standard_normal(dim * dim)  # the Hessian's Haar draw comes first
    x_min, x0 = rng.standard_normal(dim), rng.standard_normal(dim)
    return A, x_min, x0


def _setup(ctx):
    A, x_min, x0 = path_problem(ctx)
    return A, x_min, x0, ctx["fraction"] * _eta_star(ctx, A)


def mean_path(ctx, *, lr: float, beta: float, ema: bool = False) -> np.ndarray:
    """E x_t at the recorded steps from the mean recursion (``ema``: m = beta m + (1 - beta) g, a near miss)."""
    A, x_min, x0, _ = _setup(ctx)
    dim = test_dim(ctx)
    K = ctx["scale"] * second_moment(ctx.law, dim) @ A
    forward = np.zeros(dim)
    if ctx["scheme"] == "forward":
        forward = ctx["scale"] * 0.5 * ctx["mu"] * quadratic_form_mean(ctx.law, dim, A)
    e, m, out = x0 - x_min, np.zeros(dim), []
    for t in range(1, max(_STEPS) + 1):
        g = K @ e + forward
        if ctx["method"] == "gd":
            e = e - lr * g
        else:
            m = beta * m + ((1 - beta) * g if ema else g)
            e = e - lr * m
        if t in _STEPS:
            out.append(e + x_min)
    return np.concatenate(out)


def _path_predict(ctx):
    _linear_methods_only(ctx, "the mean path")
    independent_directions(ctx, "the mean path E x_t")
    *_, lr = _setup(ctx)
    return mean_path(ctx, lr=lr, beta=ctx["beta"])


def _path_simulate(ctx):
    A, x_min, x0, lr = _setup(ctx)
    subject = optimizer_subject(ctx)

    def f(y):
        e = y - x_min
        return float(0.5 * e @ A @ e)

    seeds = replicate_seeds(ctx, max(ctx.num_samples, 2 * _GROUPS))
    acc = BatchAccumulator(len(seeds))
    for seed in seeds:
        run = subject.instance(x0, lr, int(seed))
        path = [run.step(f) for _ in range(max(_STEPS))]
        acc.add(np.concatenate([path[t - 1] for t in _STEPS])[None])
    return acc.result()


def _path_controls(ctx, pred):
    *_, lr = _setup(ctx)
    controls = [(f"lr x{1 + s * 0.1:.3g}", mean_path(ctx, lr=lr * (1 + s * 0.1), beta=ctx["beta"])) for s in (1, -1)]
    if ctx["method"] == "gdm":
        controls.append(("m = beta m + (1 - beta) g", mean_path(ctx, lr=lr, beta=ctx["beta"], ema=True)))
    return controls


for _name, _setting in (("audit.optimizer_mean_path", {}), ("audit.optimizer_mean_path_gdm", _GDM)):
    register(
        Claim(
            name=_name,
            dim_param="dim",
            predict=_path_predict,
            simulate=_path_simulate,
            test=BatchMeans(),
            laws=("gaussian", "rademacher"),
            num_samples=1 << 15,
            params=method_params(
                6, setting=_setting, fraction=Param(0.5, "lr as a fraction of the exact eta*", low=0.01, high=0.99)
            ),
            labels=lambda ctx: [f"E x_{t}[{i}]" for t in _STEPS for i in range(test_dim(ctx))],
            negative_alternatives=_path_controls,
        )
    )


# ------------------------------------------------------------------ the stable step
def probe_map_moments(
    ctx, H: np.ndarray, lr: float, seeds, *, groups: int, subject=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per contiguous group of seeds, sum_k c_k c_k^T with c_k = [1, vec B_k], B_k the seed's one-step map
    (x1 = x0 - lr (B x0 + c), from d + 1 first steps); the group sizes; the mean map.  Reduced as the
    maps arrive: memory does not grow with the number of seeds.

    ``subject``: an optimizer subject (default: the one named by the claim's parameters).
    """
    subject = optimizer_subject(ctx) if subject is None else subject
    dim = H.shape[0]

    def f(y):
        return float(0.5 * y @ H @ y)

    basis = np.vstack([np.zeros(dim), np.eye(dim)])
    sizes = np.array([len(g) for g in np.array_split(np.arange(len(seeds)), groups)])
    group_of = np.repeat(np.arange(groups), sizes)  # int per seed: 8 bytes a seed, the one array kept
    moments = np.zeros((groups, dim * dim + 1, dim * dim + 1))
    map_sum = np.zeros((dim, dim))
    for k, seed in enumerate(seeds):
        x1 = np.stack([subject.instance(x0, lr, int(seed)).step(f) for x0 in basis])
        B = ((basis[1:] - x1[1:]) - (0.0 - x1[0])).T / lr
        c = np.concatenate([[1.0], B.ravel()])
        moments[group_of[k]] += np.outer(c, c)
        map_sum += B
    return moments, sizes.astype(float), map_sum / len(seeds)


def _stable_predict(ctx):
    _linear_methods_only(ctx, "the stable-step probe")
    independent_directions(ctx, "the one-step operator", queries_only=True)
    return [_eta_star(ctx, hessian(ctx, test_dim(ctx)))]


def _stable_simulate(ctx):
    return stable_pseudo_values(ctx, method=ctx["method"], beta=ctx["beta"] if ctx["method"] == "gdm" else 0.0)


def stable_pseudo_values(ctx, *, method: str, beta: float, subject=None) -> np.ndarray:
    """(groups, 1): delete-a-group jackknife pseudo-values of the edge of the probed one-step operator."""
    dim = test_dim(ctx)
    H = hessian(ctx, dim)
    lr = 1.0 / np.trace(H)  # any positive step: the probe divides it out
    seeds = replicate_seeds(ctx, max(ctx.num_samples, 2 * _GROUPS))
    moments, counts, mean_map = probe_map_moments(ctx, H, lr, seeds, groups=_GROUPS, subject=subject)
    # a start below any edge, from the data: a fifth of the mean map's first-order threshold
    start = 0.2 / max(float(np.max(np.abs(np.linalg.eigvals(mean_map)))), 1e-12)
    try:
        _, pseudo = jackknife_edge(moments, counts, d=dim, method=method, beta=beta, K=np.eye(dim), guess=start)
    except NotApplicableError as exc:
        if "no stable step" not in str(exc):
            raise
        # unstable at every step size (a map that leaves a direction uncontracted): its edge is 0, a finding
        return np.zeros((_GROUPS, 1))
    return pseudo[:, None]


for _name, _setting in (("audit.optimizer_stable_step", {}), ("audit.optimizer_stable_step_gdm", _GDM)):
    register(
        Claim(
            name=_name,
            dim_param="dim",
            predict=_stable_predict,
            simulate=_stable_simulate,
            test=DeleteAGroupJackknife(num_groups=_GROUPS),
            laws=("gaussian", "rademacher"),
            num_samples=1 << 15,
            params=method_params(4, setting=_setting),
            labels=lambda ctx: [f"eta* ({ctx['method']}, q={ctx['queries']}) of the subject's one-step operator"],
            negative_delta=0.1,
        )
    )
