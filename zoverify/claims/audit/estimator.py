"""Audit properties of a gradient estimator ``factory(dim, seed) -> estimate(f, x)``.

Replicates are fresh instances (seeds from the claim's seed); each instance is called
``calls`` times at the same point, as a training run calls it, and a row is what that
instance averaged.  Predictions come from the law's moment maps
(:mod:`zoverify.claims.audit.common`); the simulation sees only the subject's outputs.
The test function is a quadratic for a central scheme (the central difference is exact
on it) and a linear function for a forward one (where the forward difference is exact),
except for the mean, whose forward-difference term (mu/2) E[(z^T A z) z] is known, and for
``audit.estimator_second_moment_forward``, which keeps the quadratic and predicts the
forward difference's mu terms (fifth and sixth moments).  ``audit.estimator_mean_cubic``
judges the mean on a cubic, where the central difference has a mu^2 term.
"""

from __future__ import annotations

import numpy as np

from zoverify.claims.audit.common import (
    cubic_test_function,
    declared_params,
    estimate_mean,
    estimate_mean_cubic,
    estimate_second_moment,
    estimator_subject,
    independent_directions,
    replicate_seeds,
    rounding_bound,
    scale_controls,
    test_dim,
    test_function,
    upper,
    upper_labels,
)
from zoverify.verify.claim import Claim
from zoverify.verify.decision import BatchMeans, Exact
from zoverify.verify.params import Param
from zoverify.verify.registry import register

_AUDIT_LAWS = ("gaussian", "rademacher", "sphere")
_MIN_INSTANCES = 64  # two per batch of the batch-means test, whatever --samples asks


def _run_instances(ctx, *, linear: bool, calls: int, reduce, groups: int | None = None, cubic: bool = False):
    """Rows ``reduce(outputs of one instance)`` for R = num_samples // calls fresh instances.

    With ``groups`` the rows are averaged in that many contiguous groups of equal size as
    they arrive (memory O(groups x k) at any sample size); batch means over the group means
    is the same test as over the rows, since a batch is a run of whole groups.  With ``cubic``
    the function is :func:`cubic_test_function` (same point and gradient as the quadratic).
    """
    dim = test_dim(ctx)
    if cubic:
        f, x, *_ = cubic_test_function(ctx, dim)
    else:
        f, x, _, _ = test_function(ctx, dim, linear=linear)
    subject = estimator_subject(ctx)
    count = max(ctx.num_samples // calls, _MIN_INSTANCES)
    if groups is not None:
        groups = min(groups, count - count % _MIN_INSTANCES)
        count -= count % groups
    sums, rows = None, []
    for i, seed in enumerate(replicate_seeds(ctx, count)):
        estimate = subject.instance(dim, int(seed))
        row = np.asarray(reduce(np.stack([estimate(f, x) for _ in range(calls)])), float)
        if groups is None:
            rows.append(row)
            continue
        if sums is None:
            sums = np.zeros((groups, row.size))
        sums[i * groups // count] += row
    if groups is None or sums is None:
        return np.asarray(rows)
    return sums / (count // groups)


_GROUPS = 256


# ------------------------------------------------------------------ the mean
def _mean_predict(ctx):
    """E g, every component, then its projection <E g, v>/||v||^2 on the gradient.

    The projection pools the components: a scale off by a few percent moves every component by a
    few percent, which one Bonferroni-corrected component cannot see at d = 100 but the projection,
    whose variance is O(1/n) whatever d, does.
    """
    dim = test_dim(ctx)
    _, _, A, v = test_function(ctx, dim, linear=False)
    mean = estimate_mean(ctx.law, dim, A=A, v=v, scheme=ctx["scheme"], mu=ctx["mu"], scale=ctx["scale"])
    return np.append(mean, mean @ v / (v @ v))


def _with_projection(ctx):
    """Per instance: the mean of its calls and the mean of <g, v>/||v||^2 (v the test gradient)."""
    _, _, _, v = test_function(ctx, test_dim(ctx), linear=False)
    return lambda g: np.append(g.mean(0), (g @ v).mean() / (v @ v))


def _cubic_predict(ctx):
    """E g on the cubic (central: the mu^2 term (mu^2/6) E[(sum c_i z_i^3) z]), then its projection on v."""
    dim = test_dim(ctx)
    _, x, A, c, v = cubic_test_function(ctx, dim)
    mean = estimate_mean_cubic(ctx.law, dim, A=A, c=c, x=x, v=v, scheme=ctx["scheme"], mu=ctx["mu"], scale=ctx["scale"])
    return np.append(mean, mean @ v / (v @ v))


def _register_mean(name: str, *, laws, cubic: bool = False, **setting):
    """The mean and its projection on the gradient, on the quadratic or (``cubic``) on the cubic test function."""
    register(
        Claim(
            name=name,
            dim_param="dim",
            predict=_cubic_predict if cubic else _mean_predict,
            simulate=lambda ctx: _run_instances(
                ctx, linear=False, calls=ctx["calls"], reduce=_with_projection(ctx), groups=_GROUPS, cubic=cubic
            ),
            test=BatchMeans(),
            laws=laws,
            num_samples=1 << 17,
            params=declared_params(extra={"calls": Param(8, "calls per instance", low=1, integer=True)}, **setting),
            labels=lambda ctx: [*(f"E g[{i}]" for i in range(test_dim(ctx))), "E <g, grad f>/||grad f||^2"],
            negative_alternatives=lambda ctx, pred: scale_controls(pred, 0.05),
            bias_bound=rounding_bound(_cubic_predict if cubic else _mean_predict),
        )
    )


_register_mean("audit.estimator_mean", laws=_AUDIT_LAWS)
# the forward scheme's mean term (mu/2) E[(z^T A z) z] at a radius where it is large, for a law whose
# third moments do not vanish, averaged over q = 4 directions: the default check runs that code too
_register_mean(
    "audit.estimator_mean_forward", laws=("gaussian(mean=0.3)", "rademacher"), scheme="forward", mu=0.5, queries=4
)


# ------------------------------------------------------------------ the mean on a cubic
# mu = 0.5: the mu^2 term is >= 14 % of every component (common.CUBIC), so a prediction without it is rejected
_register_mean("audit.estimator_mean_cubic", laws=(*_AUDIT_LAWS, "gaussian(mean=0.3)"), cubic=True, mu=0.5)
# the forward scheme on the cubic adds (mu/2) E[(z^T H z) z], H = A + diag(c x): nonzero for a law with a mean
_register_mean(
    "audit.estimator_mean_cubic_forward",
    laws=("gaussian(mean=0.3)", "rademacher"),
    cubic=True,
    scheme="forward",
    mu=0.5,
)


# ------------------------------------------------------------------ the full second moment
def _second_predict(ctx, *, quadratic: bool = False):
    """Every entry of E[g g^T] and its trace; ``quadratic``: a forward scheme too is judged on the quadratic."""
    independent_directions(ctx, "E[g g^T] of one estimate", queries_only=True)
    dim = test_dim(ctx)
    linear = ctx["scheme"] == "forward" and not quadratic
    _, _, A, v = test_function(ctx, dim, linear=linear)
    second = estimate_second_moment(
        ctx.law, dim, v=v, queries=ctx["queries"], scale=ctx["scale"], A=A, scheme=ctx["scheme"], mu=ctx["mu"]
    )
    return np.append(upper(second), np.trace(second))


def _outer_mean(g: np.ndarray) -> np.ndarray:
    """Every entry of the instance's mean g g^T, then its trace E||g||^2 (pooled, as the mean's projection)."""
    outer = g.T @ g / g.shape[0]
    return np.append(upper(outer), np.trace(outer))


def _register_second(name: str, *, laws, quadratic: bool = False, **setting):
    register(
        Claim(
            name=name,
            dim_param="dim",
            predict=lambda ctx: _second_predict(ctx, quadratic=quadratic),
            simulate=lambda ctx: _run_instances(
                ctx,
                linear=ctx["scheme"] == "forward" and not quadratic,
                calls=ctx["calls"],
                reduce=_outer_mean,
                groups=_GROUPS,
            ),
            test=BatchMeans(),
            laws=laws,
            num_samples=1 << 17,
            params=declared_params(extra={"calls": Param(8, "calls per instance", low=1, integer=True)}, **setting),
            labels=lambda ctx: [*upper_labels(test_dim(ctx), "E gg^T"), "E ||g||^2"],
            negative_alternatives=lambda ctx, pred: scale_controls(pred, 0.1, power=1, what="second moment"),
            bias_bound=rounding_bound(lambda ctx: _second_predict(ctx, quadratic=quadratic)),
        )
    )


_register_second("audit.estimator_second_moment", laws=_AUDIT_LAWS)
# q = 4 directions averaged ((1 - 1/q) M2 v v^T M2 + F/q), forward scheme (judged on a linear function), at a
# declared scale of 1/2, so the scale^2 of the prediction is exercised too
_register_second(
    "audit.estimator_second_moment_q4", laws=("gaussian", "sphere"), scheme="forward", queries=4, scale=0.5
)
# the forward scheme on the quadratic at mu = 0.5, where its mu terms are large: S gains
# mu E[(z^T v)(z^T A z) zz^T] (nonzero for a law with a mean) + (mu^2/4) E[(z^T A z)^2 zz^T]
_register_second(
    "audit.estimator_second_moment_forward",
    laws=("gaussian(mean=0.3)", "rademacher", "sphere"),
    quadratic=True,
    scheme="forward",
    mu=0.5,
)


# ------------------------------------------------------------------ training-like use
def _declared_spread(ctx) -> float:
    """tr Cov(g) of the declared estimator: the size of the near misses."""
    dim = test_dim(ctx)
    linear = ctx["scheme"] == "forward"
    _, _, A, v = test_function(ctx, dim, linear=linear)
    mean = estimate_mean(ctx.law, dim, A=A, v=v, scheme=ctx["scheme"], mu=ctx["mu"], scale=ctx["scale"])
    second = estimate_second_moment(ctx.law, dim, v=v, queries=ctx["queries"], scale=ctx["scale"])
    return float(np.trace(second) - mean @ mean)


def _conditional_predict(ctx):
    independent_directions(ctx, "the spread of one instance's successive calls")
    return [0.0]


def _conditional_simulate(ctx):
    """Per instance: m ||mean of its m calls - grand mean||^2 R/(R-1) - tr(its sample covariance).

    With independent calls both terms average to tr Cov(g), whatever the subject's scale or
    law, so the row averages to 0; calls that share directions make the first term larger.
    """
    calls = ctx["calls"]
    rows = _run_instances(
        ctx,
        linear=ctx["scheme"] == "forward",
        calls=calls,
        reduce=lambda g: np.concatenate([g.mean(0), [np.trace(np.cov(g.T, ddof=1))]]),
    )
    means, within = rows[:, :-1], rows[:, -1]
    R = len(rows)
    between = calls * np.sum((means - means.mean(0)) ** 2, axis=1) * R / (R - 1)
    return (between - within)[:, None]


register(
    Claim(
        name="audit.estimator_conditional_mean",
        dim_param="dim",
        predict=_conditional_predict,
        simulate=_conditional_simulate,
        test=BatchMeans(),
        laws=_AUDIT_LAWS,
        num_samples=1 << 17,
        params=declared_params(
            extra={
                "calls": Param(
                    512, "calls per instance (longer than any direction pool it must expose)", low=2, integer=True
                )
            }
        ),
        labels=lambda ctx: [f"between - within spread of {ctx['calls']} calls per instance"],
        negative_alternatives=lambda ctx, pred: [
            (f"spread {sign:+.1f} x tr Cov(g)", [sign * _declared_spread(ctx)]) for sign in (0.5, -0.5)
        ],
    )
)


# ------------------------------------------------------------------ reproducibility
def _reproducible_simulate(ctx):
    """[instances whose replay with the same seed differs, pairs of seeds whose outputs coincide]."""
    dim = test_dim(ctx)
    f, x, _, _ = test_function(ctx, dim, linear=False)
    subject = estimator_subject(ctx)
    seeds = replicate_seeds(ctx, ctx["instances"], stream=1)
    runs = []
    replay_differs = 0
    for seed in seeds:
        first, again = subject.instance(dim, int(seed)), subject.instance(dim, int(seed))
        a = np.stack([first(f, x) for _ in range(ctx["calls"])])
        b = np.stack([again(f, x) for _ in range(ctx["calls"])])
        replay_differs += int(not np.array_equal(a, b))
        runs.append(a)
    coincide = sum(int(np.array_equal(runs[i], runs[j])) for i in range(len(runs)) for j in range(i + 1, len(runs)))
    return [replay_differs, coincide], [0.0, 0.0]


register(
    Claim(
        name="audit.estimator_reproducible",
        dim_param="dim",
        predict=lambda ctx: [0.0, 0.0],
        simulate=_reproducible_simulate,
        test=Exact(),
        laws=("gaussian",),
        num_samples=1,
        params=declared_params(
            extra={
                "calls": Param(16, "calls per instance", low=2, integer=True),
                "instances": Param(8, "seeds tried", low=2, integer=True),
            }
        ),
        labels=lambda ctx: ["instances whose replay with the same seed differs", "seed pairs with identical outputs"],
        negative_alternatives=lambda ctx, pred: [
            ("one replay differs", [1.0, 0.0]),
            ("two seeds coincide", [0.0, 1.0]),
        ],
    )
)


# ------------------------------------------------------------------ the queries
def _queries_simulate(ctx):
    """[calls whose queries are not the declared scheme's pattern, calls with another number of directions than q]."""
    dim = test_dim(ctx)
    f, x, _, _ = test_function(ctx, dim, linear=False)
    subject = estimator_subject(ctx)
    wrong_scheme = wrong_q = 0
    for seed in replicate_seeds(ctx, ctx["instances"], stream=1):
        estimate = subject.instance(dim, int(seed))
        for _ in range(ctx["calls"]):
            estimate(f, x)
            scheme, q, _ = estimate.log.pattern(x, prefer=ctx["scheme"])
            wrong_scheme += int(scheme != ctx["scheme"])
            wrong_q += int(q != ctx["queries"])
    return [wrong_scheme, wrong_q], [0.0, 0.0]


def _register_queries(name: str, **setting):
    register(
        Claim(
            name=name,
            dim_param="dim",
            predict=lambda ctx: [0.0, 0.0],
            simulate=_queries_simulate,
            test=Exact(),
            laws=("gaussian",),
            num_samples=1,
            params=declared_params(
                extra={
                    "calls": Param(4, "calls per instance", low=1, integer=True),
                    "instances": Param(16, "instances", low=1, integer=True),
                },
                **setting,
            ),
            labels=lambda ctx: [
                f"calls whose queries are not a {ctx['scheme']} difference",
                f"calls with another number of directions than q = {ctx['queries']}",
            ],
            negative_alternatives=lambda ctx, pred: [
                ("one call of another scheme", [1.0, 0.0]),
                ("one call with another q", [0.0, 1.0]),
            ],
        )
    )


_register_queries("audit.estimator_queries")
_register_queries("audit.estimator_queries_forward", scheme="forward", queries=4)
