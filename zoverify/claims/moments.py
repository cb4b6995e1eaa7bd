"""Claims: each law's declared moments match its own sampler.

For random test objects a, b, v (vectors) and A (symmetric matrix) drawn from
the instance generator, four scalar functionals are compared with the symbolic
moment maps evaluated at the run's dimension:

    E[a^T z]                    = a^T mean
    E[(a^T z)(b^T z)]           = a^T E[z z^T] b
    E[(v^T z)(a^T z)(b^T z)]    = a^T third(v) b
    E[(z^T A z)(a^T z)(b^T z)]  = a^T fourth(A) b

An order-k functional has a finite variance only if moments of order 2k exist;
for heavy-tailed laws the functionals whose Monte Carlo variance is infinite are
left out (and named in the result), since no finite-sample test of them has a
known false-failure rate.
"""

from __future__ import annotations

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify.claims._claim import Claim, Context, Param
from zoverify.claims._registry import register
from zoverify.numeric import map_blocks
from zoverify.perturbations import AbstractLaw
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S

ORDER_LABELS = ["E[a.z]", "E[(a.z)(b.z)]", "E[(v.z)(a.z)(b.z)]", "E[(z'Az)(a.z)(b.z)]"]


def _dim(ctx: Context) -> int:
    """The requested dimension, or the next power of two the law accepts (e.g. d >= blocks)."""
    if ctx.law.fixed_dim:
        return ctx.law.fixed_dim
    dim = int(ctx["dim"])
    for candidate in [dim] + [2**k for k in range(3, 7) if 2**k > dim]:
        try:
            ctx.law.check_dim(candidate)
            return candidate
        except InvalidParameterError:
            continue
    return dim  # let the law's own error name the problem


def testable_orders(law: AbstractLaw) -> list[int]:
    """Orders k in 1..4 whose order-k functional has finite Monte Carlo variance."""
    bound = getattr(law, "moment_order_bound", float("inf"))
    return [k for k in (1, 2, 3, 4) if 2 * k < bound]


def _test_objects(ctx: Context, dim: int):
    rng = ctx.instance_rng()
    a = rng.uniform(0.5, 1.5, dim)  # positive entries keep E[(a.z)(b.z)] well away from 0
    b = rng.uniform(0.5, 1.5, dim)
    v = rng.standard_normal(dim)
    g = rng.standard_normal((dim, dim))
    A = (g @ g.T) / dim + np.eye(dim)
    return a, b, v, A


def moment_functionals(law: AbstractLaw, dim: int, a, b, v, A, *, orders=(1, 2, 3, 4)) -> np.ndarray:
    """a^T mean, a^T E[zz^T] b, a^T third(v) b, a^T fourth(A) b from the symbolic maps."""
    d = law.fixed_dim or S.d
    As, vs = S.matrix("A", d, d), S.vector("v", d)
    env = {S.d: dim, As: A, vs: v[:, None]}
    maps = {
        1: lambda: law.mean(d),
        2: lambda: law.second_moment(d),
        3: lambda: law.third_moment(vs, d),
        4: lambda: law.fourth_moment(As, d),
    }
    out = []
    for k in orders:
        value = evaluate(maps[k](), env)
        out.append(float(a @ np.ravel(value)) if k == 1 else float(a @ value @ b))
    return np.array(out)


def _predict(ctx: Context) -> np.ndarray:
    dim = _dim(ctx)
    return moment_functionals(ctx.law, dim, *_test_objects(ctx, dim), orders=testable_orders(ctx.law))


def _simulate(ctx: Context) -> torch.Tensor:
    dim = _dim(ctx)
    a, b, v, A = (torch.as_tensor(x, dtype=ctx.dtype, device=ctx.device) for x in _test_objects(ctx, dim))
    orders = testable_orders(ctx.law)

    def block(n: int, gen: torch.Generator) -> torch.Tensor:
        z = ctx.law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        za, zb = z @ a, z @ b
        quad = ((z @ A) * z).sum(dim=1)
        cols = {1: za, 2: za * zb, 3: (z @ v) * za * zb, 4: quad * za * zb}
        return torch.stack([cols[k] for k in orders], dim=1)

    return map_blocks(block, ctx.num_samples, generator=ctx.mc_generator())


def _labels(ctx: Context) -> list[str]:
    return [ORDER_LABELS[k - 1] for k in testable_orders(ctx.law)]


DEFAULT_LAWS = (
    "gaussian",
    "gaussian(mean=0.5, std=2)",
    "gaussian(mean=[0.3,-0.5,0.2], std=0.7)",
    "rademacher",
    "sphere",
    "coordinate",
    "uniform",
    "laplace(b=0.6)",
    "student_t(nu=10)",
    "iid(Exponential(1))",
    "block(blocks=4)",
    "sparse(p=0.3)",
    "lowrank(rank=2)",
    "subspace(rank=2)",
)

MOMENTS = register(
    Claim(
        name="moments.sampler",
        statement="A law's symbolic mean, second, third and fourth moment maps match its own sampler.",
        source="theory.md §0 (moment identities); each law's derivation in zoverify/perturbations",
        status="DERIVED+CHECKED",
        predict=_predict,
        simulate=_simulate,
        params={"dim": Param(4, "dimension d at which the maps are evaluated", low=1, high=64, integer=True)},
        laws=DEFAULT_LAWS,
        num_samples=1 << 19,
        labels=_labels,
    )
)

__all__ = ["MOMENTS", "moment_functionals", "testable_orders"]
