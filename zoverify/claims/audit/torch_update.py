"""Audit properties of a MeZO-style update ``update(model, loss_fn, lr, seed)``.

The probe model is a bare list of parameter tensors (shapes that are not multiples of 8,
the largest one ``size`` entries) and the loss is linear, L = sum_t <c_t, theta_t>,
computed in float64: a central difference is then exact, the update of tensor t is
-lr scale c(z) z_t with c(z) = <c, z>, and every quantity below has a closed form.  The
parameters start at 0, so each recorded offset is the perturbation itself.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from zoverify._errors import NotApplicableError
from zoverify._rng import make_numpy_generator, spawn_seeds
from zoverify.claims.audit.common import (
    declared_params,
    hessian,
    independent_directions,
    replicate_seeds,
    test_dim,
    torch_update_subject,
)
from zoverify.claims.audit.optimizer import stable_pseudo_values
from zoverify.claims.stability.common import eta_operator
from zoverify.numeric._batching import BatchAccumulator
from zoverify.subjects import OptimizerSubject, TorchUpdateSubject
from zoverify.verify.claim import Claim
from zoverify.verify.decision import BatchMeans, Exact
from zoverify.verify.jackknife import DeleteAGroupJackknife
from zoverify.verify.params import Param
from zoverify.verify.registry import register

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class ProbeModel(torch.nn.Module):
    """Parameters only: the audit's losses read them directly."""

    def __init__(self, shapes, *, dtype=torch.float32):
        super().__init__()
        self.tensors = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(s, dtype=dtype)) for s in shapes])


def probe_shapes(size: int) -> list[tuple[int, ...]]:
    """Small tensors, a matrix with rows of odd length, and a largest tensor of about ``size`` entries."""
    cols = 347
    rows = max(1, math.ceil(size / cols))
    return [(7,), (13, 5), (3, 5, 11), (rows, cols)]


def probe_model(ctx, size: int, *, dtype=torch.float32) -> ProbeModel:
    """The probe model of :func:`probe_shapes`, once the law accepts its parameter count (a law of fixed
    dimension refuses it: n/a, not an error inside the subject)."""
    shapes = probe_shapes(size)
    ctx.law.check_dim(sum(math.prod(s) for s in shapes))
    return ProbeModel(shapes, dtype=dtype)


def linear_loss(model: ProbeModel, ctx, *, unit: bool = True):
    """(loss_fn, c): L = sum_t <c_t, theta_t> in float64; with ``unit`` every ||c_t|| = 1."""
    rng = make_numpy_generator(spawn_seeds(ctx.seed, 6)[5])
    coeffs = []
    for p in model.tensors:
        c = rng.standard_normal(p.numel())
        coeffs.append(torch.from_numpy(c / np.linalg.norm(c) if unit else c).view(p.shape))

    def loss_fn(m):
        return sum((p.to(torch.float64) * c).sum() for p, c in zip(m.tensors, coeffs, strict=True))

    return loss_fn, coeffs


def _size_params(size: int):
    return declared_params(
        dim=None, extra={"size": Param(size, "entries of the probe model's largest tensor", low=1, integer=True)}
    )


# ------------------------------------------------------------------ the mean, per tensor
def _mean_predict(ctx):
    """-lr scale <c_t, (M2 c)_t>; M2 = E[zz^T] over the concatenated parameters (c I for these laws)."""
    from zoverify.claims.audit.common import second_moment

    c2 = second_moment(ctx.law, 4)
    if not np.allclose(c2, c2[0, 0] * np.eye(4)):
        raise NotApplicableError("the per-tensor mean is derived for laws with E[zz^T] = c I")
    return [-ctx["lr"] * ctx["scale"] * c2[0, 0]] * len(probe_shapes(MEAN_SIZE))


#: the mean needs no large tensor (the direction and restore probes take ``size``); this keeps 2048 updates cheap
MEAN_SIZE = 1 << 12


def _mean_simulate(ctx):
    model = probe_model(ctx, MEAN_SIZE)
    loss_fn, coeffs = linear_loss(model, ctx)
    subject = torch_update_subject(ctx)
    seeds = replicate_seeds(ctx, max(ctx.num_samples, 64))
    acc = BatchAccumulator(len(seeds))
    for seed in seeds:
        with torch.no_grad():
            for p in model.tensors:
                p.zero_()
        rec = subject.apply(model, loss_fn, ctx["lr"], int(seed), record=False)
        acc.add(np.array([[float((ch * c).sum()) for ch, c in zip(rec.change, coeffs, strict=True)]]))
    return acc.result()


for _name, _queries in (("audit.torch_update_mean", 1), ("audit.torch_update_mean_q4", 4)):
    register(
        Claim(
            name=_name,
            predict=_mean_predict,
            simulate=_mean_simulate,
            test=BatchMeans(),
            laws=("gaussian",),
            num_samples=1 << 14,  # the per-tensor product <c, z><c_t, z_t> has variance 5: MDE 14 % at alpha 1e-4 / 3
            params={
                **declared_params(dim=None, queries=_queries),
                "lr": Param(1e-2, "learning rate of the probe updates", low=1e-12),
            },
            labels=lambda ctx: [f"E<delta theta_{t}, c_{t}> {s}" for t, s in enumerate(probe_shapes(MEAN_SIZE))],
            negative_alternatives=lambda ctx, pred: [
                (f"scale x{1 + s * 0.25:.3g}", np.asarray(pred) * (1 + s * 0.25)) for s in (1, -1)
            ],
        )
    )


# ------------------------------------------------------------------ the direction, per tensor
_ROUNDING = 1e-4  # |cos| of two float32 roundings of one direction differs from 1 by ~1e-7 per entry


def _alignment(offset, change) -> float:
    """|cos(change, offset)|; a tensor the direction left at zero (a block or sparse law) must not move: 1
    when neither moved, 0 when only one did."""
    norms = float(offset.norm()), float(change.norm())
    if norms[0] == 0 or norms[1] == 0:
        return 1.0 if norms == (0.0, 0.0) else 0.0
    return abs(float((offset * change).sum())) / (norms[0] * norms[1])


def _direction_simulate(ctx):
    if ctx["queries"] != 1:
        raise NotApplicableError("with q > 1 the update is a sum over directions, not along one perturbation")
    model = probe_model(ctx, ctx["size"])
    loss_fn, _ = linear_loss(model, ctx)
    subject = torch_update_subject(ctx)
    worst = np.ones(len(model.tensors))
    for seed in replicate_seeds(ctx, ctx["updates"]):
        with torch.no_grad():
            for p in model.tensors:
                p.zero_()
        rec = subject.apply(model, loss_fn, ctx["lr"], int(seed))
        if not rec.offsets:
            raise NotApplicableError("the subject never called loss_fn")
        for t, (dz, ch) in enumerate(zip(rec.offsets[0], rec.change, strict=True)):
            worst[t] = min(worst[t], _alignment(dz, ch))
    return worst, np.full(worst.shape, _ROUNDING)


register(
    Claim(
        name="audit.torch_update_direction",
        predict=lambda ctx: [1.0] * len(probe_shapes(ctx["size"])),
        simulate=_direction_simulate,
        test=Exact(),
        laws=("gaussian",),
        num_samples=1,
        params={
            **_size_params(1 << 17),
            "lr": Param(1e-2, "learning rate of the probe updates", low=1e-12),
            "updates": Param(4, "updates (seeds) probed", low=1, integer=True),
        },
        labels=lambda ctx: [f"min |cos(update, perturbation)| {s}" for s in probe_shapes(ctx["size"])],
        negative_delta=1e-3,
    )
)


# ------------------------------------------------------------------ exact restore
def _restore_simulate(ctx):
    counts = []
    subject = torch_update_subject(ctx)
    for k, dtype in enumerate(DTYPES.values()):
        model = probe_model(ctx, ctx["size"], dtype=dtype)
        gen = torch.Generator().manual_seed(spawn_seeds(ctx.seed, 8)[7] + k)
        with torch.no_grad():
            for p in model.tensors:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32).to(dtype))
        before = [p.detach().clone() for p in model.tensors]
        loss_fn, _ = linear_loss(model, ctx)
        subject.apply(model, loss_fn, 0.0, int(replicate_seeds(ctx, 1)[0]), record=False)
        counts.append(sum(int(not torch.equal(p, b)) for p, b in zip(model.tensors, before, strict=True)))
    return counts, [0.0] * len(counts)


register(
    Claim(
        name="audit.torch_update_restore",
        predict=lambda ctx: [0.0] * len(DTYPES),
        simulate=_restore_simulate,
        test=Exact(),
        laws=("gaussian",),
        num_samples=1,
        params=_size_params(1 << 17),
        labels=lambda ctx: [f"tensors not restored bitwise at lr = 0, {name}" for name in DTYPES],
        negative_alternatives=lambda ctx, pred: [
            (f"one {name} tensor not restored", np.eye(len(DTYPES))[k]) for k, name in enumerate(DTYPES)
        ],
    )
)


# ------------------------------------------------------------------ the mean-square stable step
class VectorModel(torch.nn.Module):
    """One float64 parameter vector: the quadratic's point."""

    def __init__(self, x0):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.tensor(np.asarray(x0, float), dtype=torch.float64))


def as_optimizer(update: TorchUpdateSubject):
    """``factory(x0, lr, seed) -> step(f)`` running the torch update on a :class:`VectorModel`.

    loss_fn(model) is f at the model's parameters as a float64 tensor, evaluated through f, so the
    optimizer guard records every query.  Step t (from 0) uses seed + t: the stable-step probe reads
    only first steps, which must share the instance's seed (the same direction from every x0).
    """

    def factory(x0, lr, seed):
        model = VectorModel(x0)
        count = [0]

        def step(f):
            def loss_fn(m):
                return torch.tensor(f(m.theta.detach().cpu().numpy()), dtype=torch.float64)

            update.apply(model, loss_fn, lr, (seed + count[0]) % 2**31, record=False)
            count[0] += 1
            return model.theta.detach().cpu().numpy().copy()

        return step

    return factory


def _stable_predict(ctx):
    """eta* of ZO-GD with the declared law and q (arXiv 2604.14669, Theorem 1), divided by the declared scale."""
    independent_directions(ctx, "the one-step operator", queries_only=True)
    return [eta_operator(ctx.law, hessian(ctx, test_dim(ctx)), method="gd", q=ctx["queries"]) / abs(ctx["scale"])]


def _stable_simulate(ctx):
    update = torch_update_subject(ctx)
    subject = OptimizerSubject(as_optimizer(update), name=ctx["subject"], budget_s=update.budget_s)
    return stable_pseudo_values(ctx, method="gd", beta=0.0, subject=subject)


register(
    Claim(
        name="audit.torch_update_stable_step",
        dim_param="dim",
        predict=_stable_predict,
        simulate=_stable_simulate,
        test=DeleteAGroupJackknife(num_groups=32),
        laws=("gaussian", "rademacher"),
        num_samples=1 << 14,  # Gaussian edges at 2^13 resolved 11 % at the audit's share of alpha: +-10 % too close
        params=declared_params(dim=4),
        labels=lambda ctx: [f"eta* (gd, q={ctx['queries']}) of the update's one-step operator on a quadratic"],
        negative_delta=0.1,
    )
)
