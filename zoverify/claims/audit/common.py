"""What every audit property shares: the subject named by the claim's parameters, the test
problem, the law's moment maps as numbers, and the replicate seeds.

A subject is one more input of a claim, beside the law: ``--param subject=SPEC`` names a
user's callable (``module:callable`` or ``path/to/file.py:callable``); the default,
``reference``, is zoverify's own implementation for the claim's law and declared setting,
so every property runs on a correct subject in the default check.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from zoverify._errors import InvalidParameterError, NotApplicableError
from zoverify._rng import make_numpy_generator, spawn_seeds
from zoverify.claims.stability.common import haar_rotation, rotated
from zoverify.perturbations import cubic_moment, fifth_moment, sixth_moment
from zoverify.subjects import (
    EstimatorSubject,
    OptimizerSubject,
    TorchUpdateSubject,
    load_callable,
    reference_estimator,
    reference_optimizer,
    reference_torch_update,
)
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.verify.params import Param

REFERENCE = "reference"
#: the test Hessian's spectrum (padded with its last value, cut at the dimension)
SPECTRUM = (3.0, 2.0, 1.5, 1.0, 0.6, 0.3)
#: |c_i| of the cubic test function: at mu = 0.5 its term (mu^2/6) c_i E[z_i^4] is 1/6 of |v_i| = 1
#: for Rademacher (E z_i^4 = 1, the smallest of the audited laws), so leaving it out is a >= 14 % error
CUBIC = 4.0


def declared_params(*, dim: int | None = 6, extra: dict | None = None, **defaults) -> dict[str, Param]:
    """The parameters every audit claim takes: the subject and what the user declares of it."""
    params = {
        "subject": Param(REFERENCE, "the code audited: module:callable, path/to/file.py:callable, or reference"),
        "scheme": Param("central", "declared difference scheme", choices=("central", "forward")),
        "mu": Param(1e-2, "declared perturbation radius", low=1e-12),
        "queries": Param(1, "declared number of directions per estimate (q)", low=1, high=1024, integer=True),
        "scale": Param(1.0, "declared scale of the estimate (E g = scale x E[zz^T] grad f)"),
        "dim": Param(
            dim, "dimension of the test problem (a law of fixed dimension uses its own)", low=2, high=256, integer=True
        ),
        "budget": Param(10.0, "wall-clock budget of one call of the subject, seconds", low=0.001),
    }
    if dim is None:  # a subject without a test dimension (the torch update)
        del params["dim"]
    params.update(extra or {})
    for key, value in defaults.items():  # a claim variant's own declared setting
        params[key] = replace(params[key], default=value)
    return params


def _subject_callable(ctx, build_reference):
    spec = ctx["subject"]
    return build_reference() if spec == REFERENCE else load_callable(spec)


def test_dim(ctx) -> int:
    """The test problem's dimension: the law's own where it has one (a low-rank law's shape), else ``dim``."""
    return int(ctx.law.fixed_dim or ctx["dim"])


def _law_accepts_dim(ctx) -> None:
    """The law's own refusal of the claim's dimension, before any subject runs (a setting refused: n/a)."""
    if ctx.params.get("dim"):
        ctx.law.check_dim(test_dim(ctx))


def independent_directions(ctx, what: str, *, queries_only: bool = False) -> None:
    """n/a under a law whose successive draws are dependent (the cyclic block order: one permutation of
    the blocks per epoch): ``what`` couples several directions of one stream, and its prediction is
    derived for independent ones.  With ``queries_only`` only q > 1 couples them (the q directions of
    one estimate); a single direction's marginal law is the same as the iid order's."""
    if getattr(ctx.law, "independent_draws", True) or (queries_only and int(ctx["queries"]) == 1):
        return
    coupled = f"the q = {ctx['queries']} directions of one estimate" if queries_only else "successive directions"
    raise NotApplicableError(
        f"law {ctx.law.spec} draws dependent directions (one permutation of its blocks per epoch); {what} "
        f"couples {coupled} and is derived for independent draws (the one-direction properties are checked)"
    )


def estimator_subject(ctx) -> EstimatorSubject:
    """The estimator named by ``ctx['subject']``."""
    _law_accepts_dim(ctx)
    factory = _subject_callable(
        ctx,
        lambda: reference_estimator(
            ctx.law, scheme=ctx["scheme"], mu=ctx["mu"], queries=ctx["queries"], scale=ctx["scale"]
        ),
    )
    return EstimatorSubject(factory, name=ctx["subject"], budget_s=ctx["budget"])


def optimizer_subject(ctx) -> OptimizerSubject:
    """The optimizer named by ``ctx['subject']`` (the reference runs the declared method with its constants)."""
    _law_accepts_dim(ctx)
    adam = {k: ctx.params[k] for k in ("beta2", "eps") if k in ctx.params}
    factory = _subject_callable(
        ctx,
        lambda: reference_optimizer(
            ctx.law,
            method=ctx["method"],
            beta=ctx["beta"],
            scheme=ctx["scheme"],
            mu=ctx["mu"],
            queries=ctx["queries"],
            scale=ctx["scale"],
            **adam,
        ),
    )
    return OptimizerSubject(factory, name=ctx["subject"], budget_s=ctx["budget"])


def torch_update_subject(ctx) -> TorchUpdateSubject:
    """The torch update named by ``ctx['subject']``."""
    _law_accepts_dim(ctx)
    update = _subject_callable(
        ctx, lambda: reference_torch_update(ctx.law, mu=ctx["mu"], queries=ctx["queries"], scale=ctx["scale"])
    )
    return TorchUpdateSubject(update, name=ctx["subject"], budget_s=max(ctx["budget"], 300.0))


_SEED_MODULUS = 2**31 - 1  # a prime: i -> (a i + b) mod p is one-to-one on 0 <= i < p for 0 < a < p


@dataclass(frozen=True)
class ReplicateSeeds(Sequence):
    """``count`` distinct seeds in [0, 2^31 - 1), seed i = (a i + b) mod p with a random a, b: a sequence
    made on demand, so a run of 2^24 instances holds no array of its seeds."""

    a: int
    b: int
    count: int

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._values(np.arange(self.count)[index])
        i = range(self.count)[index]  # the bounds check and negative indices of a range
        return int(self._values(np.array([i]))[0])

    def __iter__(self) -> Iterator[int]:
        for start in range(0, self.count, 4096):
            yield from self._values(np.arange(start, min(start + 4096, self.count))).tolist()

    def _values(self, i: np.ndarray) -> np.ndarray:
        return (self.a * i.astype(np.int64) + self.b) % _SEED_MODULUS  # a i < 2^62: no overflow

    def tolist(self) -> list[int]:
        """All the seeds, as a list."""
        return list(self)


def replicate_seeds(ctx, count: int, *, stream: int = 0) -> ReplicateSeeds:
    """``count`` distinct seeds for fresh instances, from the claim's seed and ``stream``."""
    if not 0 <= count < _SEED_MODULUS:
        raise InvalidParameterError(f"at most {_SEED_MODULUS - 1} replicate seeds, asked for {count}")
    rng = make_numpy_generator(spawn_seeds(ctx.seed, 3 + stream)[2 + stream])
    a, b = (int(v) for v in rng.integers(1, _SEED_MODULUS, size=2))
    return ReplicateSeeds(a, b, int(count))


# ------------------------------------------------------------------ the test problem
def hessian(ctx, dim: int) -> np.ndarray:
    """A Haar-rotated Hessian with the test spectrum (its instance drawn from the claim's seed)."""
    spec = (list(SPECTRUM) + [SPECTRUM[-1]] * dim)[:dim]
    return rotated(np.asarray(spec), haar_rotation(ctx.instance_rng(), dim))


def gradient_point(ctx, dim: int, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, b) with grad f(x) = A x + b = v: |v_i| = 1 for every i (random signs), so no component is near 0.

    The signs never sum to 0: a law with mean m adds m m^T v to E[zz^T] v, which a gradient orthogonal
    to the all-ones vector would hide from every mean and moment the audit compares.
    """
    rng = ctx.instance_rng()
    rng.standard_normal(dim * dim)  # the Haar draw of the Hessian comes first in this stream
    x = rng.standard_normal(dim)
    v = rng.choice([-1.0, 1.0], size=dim)
    if v.sum() == 0:
        v[0] = -v[0]
    return x, v - A @ x


def test_function(ctx, dim: int, *, linear: bool):
    """(f, x, A, v): f = x^T A x / 2 + b^T x (A = 0 when ``linear``) and its gradient v at x."""
    A = np.zeros((dim, dim)) if linear else hessian(ctx, dim)
    x, b = gradient_point(ctx, dim, hessian(ctx, dim))
    v = A @ x + b

    half = 0.5 * A

    def f(y: np.ndarray) -> float:
        return float(y @ (half @ y + b))

    return f, x, A, v


def cubic_test_function(ctx, dim: int):
    """(f, x, A, c, v): f = y^T A y / 2 + b^T y + sum_i c_i y_i^3 / 6 with grad f(x) = v.

    x, A and v are those of :func:`test_function` (b absorbs the cubic's gradient c x^2 / 2), so
    the gradient is the same and only the difference quotient changes: the central one is exactly
    z^T v + (mu^2/6) sum_i c_i z_i^3 (docs/audit.md#mean-on-a-cubic).  c_i = CUBIC v_i (-1)^i: the
    cubic's term raises every other component of the mean and lowers the rest, so leaving it out
    is never a mere rescaling of E g (which a scale error would mimic).
    """
    A = hessian(ctx, dim)
    x, b = gradient_point(ctx, dim, A)
    v = A @ x + b
    c = CUBIC * v * (-1.0) ** np.arange(dim)
    b = b - 0.5 * c * x**2  # the cubic's gradient at x is c x^2 / 2
    half, sixth = 0.5 * A, c / 6

    def f(y: np.ndarray) -> float:
        return float(y @ (half @ y + b) + sixth @ y**3)

    return f, x, A, c, v


# ------------------------------------------------------------------ moment maps as numbers
def _check_dim(law, dim: int) -> None:
    if law.fixed_dim is not None and law.fixed_dim != dim:
        raise InvalidParameterError(
            f"law {law.spec} has dimension {law.fixed_dim}; this claim's test problem has dim = {dim} "
            f"(accepted: --param dim={law.fixed_dim})"
        )


def _symbols(law):
    d = law.fixed_dim or S.d
    return d, S.matrix("A", d, d), S.vector("v", d)


# each map is built on first use, so a law without fourth moments (student_t(nu=3)) still gives E[zz^T]
@lru_cache(maxsize=64)
def second_moment(law, dim: int) -> np.ndarray:
    """E[z z^T]."""
    _check_dim(law, dim)
    return np.asarray(evaluate(law.second_moment(_symbols(law)[0]), {S.d: dim}), float).reshape(dim, dim)


@lru_cache(maxsize=64)
def _fourth_map(law, dim: int):
    _check_dim(law, dim)
    d, As, _ = _symbols(law)
    return law.fourth_moment(As, d), As


@lru_cache(maxsize=64)
def _third_map(law, dim: int):
    _check_dim(law, dim)
    d, _, vs = _symbols(law)
    return law.third_moment(vs, d), vs


def fourth_moment(law, dim: int, A: np.ndarray) -> np.ndarray:
    """E[(z^T A z) z z^T] for symmetric A."""
    expr, As = _fourth_map(law, dim)
    return np.asarray(evaluate(expr, {S.d: dim, As: A}), float).reshape(dim, dim)


def quadratic_form_mean(law, dim: int, A: np.ndarray) -> np.ndarray:
    """E[(z^T A z) z]: component i is tr(A E[z_i z z^T]), from the third-moment map at v = e_i."""
    expr, vs = _third_map(law, dim)
    env = {S.d: dim}
    eye = np.eye(dim)
    return np.array(
        [np.trace(A @ np.asarray(evaluate(expr, env | {vs: eye[:, [i]]}), float).reshape(dim, dim)) for i in range(dim)]
    )


def estimate_mean(law, dim: int, *, A, v, scheme: str, mu: float, scale: float) -> np.ndarray:
    """E g on f = x^T A x / 2 + b^T x: scale (M2 v + [forward] (mu / 2) E[(z^T A z) z]); central is exact."""
    mean = second_moment(law, dim) @ v
    if scheme == "forward" and np.any(A):
        mean = mean + 0.5 * mu * quadratic_form_mean(law, dim, A)
    return scale * mean


def estimate_second_moment(
    law, dim: int, *, v, queries: int, scale: float, A=None, scheme: str = "central", mu: float = 0.0
) -> np.ndarray:
    """E[g g^T] of the q-query estimate: scale^2 ((1 - 1/q) m m^T + S / q) (docs/audit.md#second-moment).

    Where the difference quotient is exactly z^T v (central on a quadratic, anything on a linear
    function: ``A`` None or 0), m = M2 v and S = E[(z^T v)^2 z z^T].  A forward difference on
    f = y^T A y / 2 + b^T y is z^T v + (mu/2) z^T A z, so m gains (mu/2) E[(z^T A z) z] and
    S = E[(z^T v)^2 zz^T] + mu E[(z^T v)(z^T A z) zz^T] + (mu^2/4) E[(z^T A z)^2 zz^T]
    (fifth and sixth moments, :mod:`zoverify.perturbations._higher`).
    """
    M2 = second_moment(law, dim)
    vv = np.outer(v, v)
    q = int(queries)
    mean, single = M2 @ v, fourth_moment(law, dim, vv)
    if scheme == "forward" and A is not None and np.any(A):
        mean = mean + 0.5 * mu * quadratic_form_mean(law, dim, A)
        single = single + mu * fifth_moment(law, dim, v=v, A=A) + 0.25 * mu**2 * sixth_moment(law, dim, A=A)
    return scale**2 * ((1 - 1 / q) * np.outer(mean, mean) + single / q)


def estimate_mean_cubic(law, dim: int, *, A, c, x, v, scheme: str, mu: float, scale: float) -> np.ndarray:
    """E g on the cubic of :func:`cubic_test_function` (docs/audit.md#mean-on-a-cubic).

    Central: scale (M2 v + (mu^2/6) E[(sum_i c_i z_i^3) z]), exact.  Forward adds
    (mu/2) E[(z^T H z) z] with H = A + diag(c x) the Hessian at x.
    """
    mean = second_moment(law, dim) @ v + mu**2 / 6 * cubic_moment(law, dim, c=c)
    if scheme == "forward":
        mean = mean + 0.5 * mu * quadratic_form_mean(law, dim, A + np.diag(c * x))
    return scale * mean


def upper(M: np.ndarray) -> np.ndarray:
    """The upper triangle (with the diagonal) of a square matrix, row by row."""
    return M[np.triu_indices(M.shape[0])]


def upper_labels(dim: int, name: str) -> list[str]:
    """``name[i,j]`` for the upper triangle, in the order of :func:`upper`."""
    i, j = np.triu_indices(dim)
    return [f"{name}[{a},{b}]" for a, b in zip(i, j, strict=True)]


def rounding_bound(predict):
    """bias_bound for a mean of n rows: n eps |prediction| covers float64 summation error, so a statistic
    with no spread (a law whose every draw gives the same projection) is judged exactly, not at zero width."""

    def bound(ctx):
        return ctx.num_samples * np.finfo(float).eps * np.abs(np.asarray(predict(ctx), float))

    return bound


def scale_controls(prediction: np.ndarray, delta: float, *, power: int = 1, what: str = "scale"):
    """The near misses of a subject whose output is (1 +- delta) x right: prediction x (1 +- delta)^power."""
    return [
        (f"{what} x{1 + sign * delta:.3g}", np.asarray(prediction, float) * (1 + sign * delta) ** power)
        for sign in (+1, -1)
    ]


__all__ = [
    "CUBIC",
    "REFERENCE",
    "cubic_test_function",
    "declared_params",
    "estimate_mean",
    "estimate_mean_cubic",
    "estimate_second_moment",
    "estimator_subject",
    "fourth_moment",
    "hessian",
    "independent_directions",
    "test_dim",
    "optimizer_subject",
    "quadratic_form_mean",
    "replicate_seeds",
    "rounding_bound",
    "scale_controls",
    "second_moment",
    "test_function",
    "torch_update_subject",
    "upper",
    "upper_labels",
]
