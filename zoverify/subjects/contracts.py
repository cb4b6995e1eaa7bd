"""The three subject contracts, each behind a guard that turns a broken subject into one clear error.

* estimator: ``factory(dim, seed) -> estimate``, ``estimate(f, x) -> g`` (float64 numpy vectors);
* optimizer: ``factory(x0, lr, seed) -> step``, ``step(f) -> x_next``;
* torch update: ``update(model, loss_fn, lr, seed) -> None``, parameters changed in place, forward passes only.

The guards record what a subject asks of ``f`` (every query point), so the audit can
infer the law, scheme, radius and number of queries from the subject's own behaviour,
and they refuse what the contract forbids: a gradient, a wrong shape or dtype, NaN,
an exception, a call over the time budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zoverify.subjects._load import SubjectError

#: the default wall-clock budget of one call of a subject, in seconds
DEFAULT_BUDGET_S = 10.0
KINDS = ("estimator", "optimizer", "torch-update")


def _call(fn: Callable, *args, what: str, budget_s: float) -> Any:
    start = time.perf_counter()
    try:
        out = fn(*args)
    except SubjectError:
        raise
    except Exception as exc:  # anything the user's code raises becomes one line naming the call
        if _is_gradient_error(exc):
            raise SubjectError(
                "the subject asked for a gradient; a ZO subject may evaluate f only", prop="no gradients"
            ) from None
        raise SubjectError(f"{what} raised {type(exc).__name__}: {exc}", prop="runs") from None
    took = time.perf_counter() - start
    if took > budget_s:
        raise SubjectError(f"{what} took {took:.3g} s, over the budget of {budget_s:g} s per call", prop="time budget")
    return out


def _build(factory: Callable, *args, what: str, returns: str, budget_s: float) -> Callable:
    """``factory(*args)``, which must return a callable (the instance the contract describes)."""
    made = _call(factory, *args, what=what, budget_s=budget_s)
    if not callable(made):
        raise SubjectError(f"{what} returned {type(made).__name__}; expected a callable {returns}", prop="contract")
    return made


def _is_gradient_error(exc: Exception) -> bool:
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("does not require grad" in text or "grad_fn" in text)


def as_vector(value: Any, dim: int, *, what: str, prop: str = "output") -> np.ndarray:
    """``value`` as a float64 vector of length ``dim``, or a SubjectError naming what was wrong."""
    if isinstance(value, torch.Tensor):
        raise SubjectError(f"{what} returned a torch tensor; the contract asks for a float64 numpy vector", prop=prop)
    if not isinstance(value, np.ndarray):
        raise SubjectError(
            f"{what} returned {type(value).__name__}; the contract asks for a float64 numpy vector", prop=prop
        )
    if value.shape != (dim,):
        raise SubjectError(f"{what} returned shape {value.shape}; expected ({dim},)", prop=prop)
    if value.dtype != np.float64:
        raise SubjectError(f"{what} returned dtype {value.dtype}; expected float64", prop=prop)
    if not np.isfinite(value).all():
        raise SubjectError(f"{what} returned NaN or inf", prop=prop)
    return value


@dataclass
class QueryLog:
    """The points a subject evaluated f at, and the values it got, since the last ``clear``."""

    points: list[np.ndarray] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def clear(self) -> None:
        """Forget the recorded queries."""
        self.points.clear()
        self.values.clear()

    def pattern(self, x: np.ndarray, *, prefer: str | None = None) -> tuple[str | None, int | None, np.ndarray]:
        """(scheme, q, offsets u) of one call's queries around x: central queries come in pairs x + u, x - u;
        a forward scheme queries x once and x + u per direction; (None, None, all offsets) otherwise.

        A zero direction (a sparse law's) queries x itself, so the same points can fit both schemes
        (x, x is a forward step along 0 and a central pair along 0): then ``prefer`` decides.
        """
        P = np.asarray(self.points, float).reshape(len(self.points), -1) - x
        if len(P) < 2:
            return None, None, P
        at_x = np.all(P == 0, axis=1)
        base = int(np.argmax(at_x))
        forward = ("forward", len(P) - 1, np.delete(P, base, axis=0)) if at_x.any() else None
        if at_x.sum() == 1 or (forward is not None and prefer == "forward"):
            return forward  # pyright: ignore[reportReturnType]  # not None: at_x.any()
        if len(P) % 2 == 0:
            plus, minus = P[0::2], P[1::2]
            if np.allclose(plus, -minus, rtol=1e-6, atol=1e-12 * (np.abs(P).max() + 1e-300)):
                return "central", len(P) // 2, plus
        return forward or (None, None, P)


class GuardedFunction:
    """The objective handed to a subject: numpy in, float out, every query recorded.

    A tensor that requires grad, an array of the wrong shape or a non-finite point is
    refused with the contract item it breaks.
    """

    def __init__(self, f: Callable[[np.ndarray], float], dim: int, log: QueryLog):
        self._f, self.dim, self.log = f, int(dim), log

    def __call__(self, x) -> float:
        """f(x), after checking x is a finite vector of the right length (not a tensor needing grad)."""
        if isinstance(x, torch.Tensor):
            if x.requires_grad:
                raise SubjectError("the subject passed f a tensor that requires grad (a gradient)", prop="no gradients")
            x = x.detach().cpu().numpy()
        x = np.asarray(x, dtype=float)
        if x.shape != (self.dim,):
            raise SubjectError(
                f"the subject evaluated f at an array of shape {x.shape}; f takes ({self.dim},)", prop="queries"
            )
        if not np.isfinite(x).all():
            raise SubjectError("the subject evaluated f at a point with NaN or inf", prop="queries")
        value = float(self._f(x))
        self.log.points.append(x.copy())
        self.log.values.append(value)
        return value


class EstimatorInstance:
    """One estimator instance (one training run): ``instance(f, x) -> g``, validated, queries logged."""

    def __init__(self, estimate: Callable, dim: int, budget_s: float):
        self._estimate, self.dim, self.budget_s = estimate, dim, budget_s
        self.log = QueryLog()

    def __call__(self, f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
        """The subject's estimate at x, validated; its queries of f are in ``self.log``."""
        self.log.clear()
        guarded = GuardedFunction(f, self.dim, self.log)
        g = _call(self._estimate, guarded, np.array(x, dtype=np.float64), what="estimate(f, x)", budget_s=self.budget_s)
        return as_vector(g, self.dim, what="estimate(f, x)")


@dataclass(frozen=True)
class EstimatorSubject:
    """A gradient estimator under the contract ``factory(dim, seed) -> estimate(f, x) -> g``."""

    factory: Callable
    name: str = "estimator"
    budget_s: float = DEFAULT_BUDGET_S

    def instance(self, dim: int, seed: int) -> EstimatorInstance:
        """A fresh instance with ``seed``."""
        estimate = _build(
            self.factory,
            int(dim),
            int(seed),
            what="factory(dim, seed)",
            returns="estimate(f, x)",
            budget_s=self.budget_s,
        )
        return EstimatorInstance(estimate, int(dim), self.budget_s)


class OptimizerInstance:
    """One optimizer run: ``run.step(f) -> x_next``, validated, queries of the last step logged."""

    def __init__(self, step: Callable, dim: int, budget_s: float):
        self._step, self.dim, self.budget_s = step, dim, budget_s
        self.log = QueryLog()

    def step(self, f: Callable[[np.ndarray], float]) -> np.ndarray:
        """One step; the next iterate."""
        self.log.clear()
        x = _call(self._step, GuardedFunction(f, self.dim, self.log), what="step(f)", budget_s=self.budget_s)
        return as_vector(x, self.dim, what="step(f)")


@dataclass(frozen=True)
class OptimizerSubject:
    """A ZO optimizer under the contract ``factory(x0, lr, seed) -> step(f) -> x_next``."""

    factory: Callable
    name: str = "optimizer"
    budget_s: float = DEFAULT_BUDGET_S

    def instance(self, x0: np.ndarray, lr: float, seed: int) -> OptimizerInstance:
        """A fresh run from ``x0`` at step size ``lr`` with ``seed``."""
        x0 = np.array(x0, dtype=np.float64)
        step = _build(
            self.factory,
            x0.copy(),
            float(lr),
            int(seed),
            what="factory(x0, lr, seed)",
            returns="step(f)",
            budget_s=self.budget_s,
        )
        return OptimizerInstance(step, x0.size, self.budget_s)


@dataclass
class UpdateRecord:
    """What one torch update did: the parameter offsets at each loss call, the loss values, the final change."""

    offsets: list[list[torch.Tensor]]
    losses: list[float]
    change: list[torch.Tensor]


@dataclass(frozen=True)
class TorchUpdateSubject:
    """A MeZO-style in-place update under the contract ``update(model, loss_fn, lr, seed) -> None``."""

    update: Callable
    name: str = "torch update"
    budget_s: float = 300.0

    def apply(
        self, model: torch.nn.Module, loss_fn: Callable, lr: float, seed: int, *, record: bool = True
    ) -> UpdateRecord:
        """Run one update; with ``record`` keep the offset of every parameter at each loss call (a copy each)."""
        params = [p for p in model.parameters()]
        before = [p.detach().clone() for p in params]
        offsets: list[list[torch.Tensor]] = []
        losses: list[float] = []

        def guarded_loss(m):
            if m is not model:
                raise SubjectError(
                    "the subject called loss_fn with another module than the one it was given", prop="contract"
                )
            if record:
                offsets.append(
                    [(p.detach().to(torch.float64) - b.to(torch.float64)) for p, b in zip(params, before, strict=True)]
                )
            with torch.no_grad():  # a backward through this loss fails, and is reported as a gradient
                value = loss_fn(model)
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise SubjectError("loss_fn must return a scalar tensor", prop="contract")
            if not torch.isfinite(value).all():
                raise SubjectError("the loss is NaN or inf at a point the subject queried", prop="queries")
            losses.append(float(value))
            return value

        out = _call(
            self.update,
            model,
            guarded_loss,
            float(lr),
            int(seed),
            what="update(model, loss_fn, lr, seed)",
            budget_s=self.budget_s,
        )
        if out is not None and not isinstance(out, torch.Tensor | float | int):
            raise SubjectError(f"update returned {type(out).__name__}; the contract returns None", prop="contract")
        if any(p.grad is not None for p in params):
            raise SubjectError(
                "a parameter has a .grad after the update: the subject computed a gradient", prop="no gradients"
            )
        for p, b in zip(params, before, strict=True):
            if p.shape != b.shape or p.dtype != b.dtype:
                raise SubjectError(
                    f"the update changed a parameter's shape or dtype ({tuple(b.shape)} {b.dtype} -> {tuple(p.shape)} {p.dtype})",
                    prop="output",
                )
            if not torch.isfinite(p).all():
                raise SubjectError("the update left NaN or inf in the parameters", prop="output")
        change = [(p.detach().to(torch.float64) - b.to(torch.float64)) for p, b in zip(params, before, strict=True)]
        return UpdateRecord(offsets, losses, change)


__all__ = [
    "DEFAULT_BUDGET_S",
    "KINDS",
    "EstimatorInstance",
    "EstimatorSubject",
    "GuardedFunction",
    "OptimizerInstance",
    "OptimizerSubject",
    "QueryLog",
    "TorchUpdateSubject",
    "UpdateRecord",
    "as_vector",
]
