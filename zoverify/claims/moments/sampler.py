"""Claims: each law's declared moments match its own sampler, order by order, undiluted.

A law declares E z, E zz^T, E[(v^T z) zz^T] and E[(z^T A z) zz^T].  Contracted
with random test objects these give scalar functionals in which, e.g., the
fourth moment of an iid law enters only through the (m4 - 3 s2^2) Diag(A) term,
a fraction of the total.  This claim instead tests each moment order through
coordinate functionals it enters whole, averaged over coordinates at a small d
(default 4).  With index tuples of one *type* (pattern of repeated indices):

    order 1   E[z_i]
    order 2   E[z_i^2]            E[z_i z_j]            (i != j)
    order 3   E[z_i^3]            E[z_i^2 z_j]
    order 4   E[z_i^4]            E[z_i^3 z_j]          E[z_i^2 z_j^2]

each averaged over the ordered tuples of distinct indices, with weight
sign(declared entry) on each tuple (+1 where it is 0), so entries of mixed sign
(a mean vector [0.3, -0.5, 0.2]) add rather than cancel.  The signs only pick
which fixed function of z is averaged; the estimate is the sample average of
that function.  The declared value of a component is the same weighted average
of the declared tensor entries, read off the maps at unit test objects:
E[z_i z_j z_k] = third(e_i)[j, k] and E[z_i z_i z_j z_k] = fourth(e_i e_i^T)[j, k].
The fourth map is linear in A, so diagonal test matrices do not pin it down: the
order-4 pair functionals are also declared through fourth(sym(e_i e_j^T)), whose
[i, i] and [i, j] entries are E z_i^3 z_j and E z_i^2 z_j^2 (a map whose response
to off-diagonal A is wrong fails there, whatever it does on the diagonal).

For an iid law with a non-zero mean the pair functionals mix the mean into every
order (E[z_i z_j] = mu^2), so they are replaced by the central moments of one
coordinate, estimated without the mean by U-statistics over distinct
coordinates (w = z - mu):

    var  = E[z_i^2] - E[z_i z_j]                                          = E w^2
    m3   = E[z_i^3] - 3 E[z_i^2 z_j] + 2 E[z_i z_j z_k]                   = E w^3
    m4   = E[z_i^4] - 4 E[z_i^3 z_j] + 6 E[z_i^2 z_j z_k] - 3 E[z_i z_j z_k z_l] = E w^4
    var^2 = E[z_i^2 z_j^2] - 2 E[z_i^2 z_j z_k] + E[z_i z_j z_k z_l]      = (E w^2)^2

(all indices distinct).  So each declared moment (mean, var, m3, m4) is a
component of its own, and a 2 % error in it moves that component by 2 %.

An order-k functional has a finite variance only if moments of order 2k exist;
for heavy-tailed laws the orders whose Monte Carlo variance is infinite are
left out (student_t(nu): order k is tested when 2k < nu), since no
finite-sample test of them has a known false-failure rate.  The decision is the
batch-means t-test (B = 128 batches) with Bonferroni over the components; its
per-component detectable sizes are reported with the result.  The per-sample
values are reduced block by block into the batches' sums (memory independent of
the sample count); the test is the same as on the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import permutations

import numpy as np
import torch

from zoverify._errors import InvalidParameterError, MomentDoesNotExistError
from zoverify.numeric._batching import BatchSums, batch_sums
from zoverify.perturbations import AbstractLaw, default_specs
from zoverify.symbolic import evaluate
from zoverify.symbolic import symbols as S
from zoverify.verify.claim import Claim, Context
from zoverify.verify.decision import MeanSummary
from zoverify.verify.params import Param
from zoverify.verify.registry import register

ORDER_LABELS = ["E[a.z]", "E[(a.z)(b.z)]", "E[(v.z)(a.z)(b.z)]", "E[(z'Az)(a.z)(b.z)]"]

#: raw coordinate functionals: (order, exponents of the distinct indices, label)
RAW_TYPES = (
    (1, (1,), "E[z_i]"),
    (2, (2,), "E[z_i^2]"),
    (2, (1, 1), "E[z_i z_j]"),
    (3, (3,), "E[z_i^3]"),
    (3, (2, 1), "E[z_i^2 z_j]"),
    (4, (4,), "E[z_i^4]"),
    (4, (3, 1), "E[z_i^3 z_j]"),
    (4, (2, 2), "E[z_i^2 z_j^2]"),
)
#: the same order-4 pair functionals declared through the fourth-moment map at an
#: off-diagonal test matrix, sym(e_i e_j^T): a map linear in A is only pinned down by
#: its response to every symmetric basis matrix, not just the diagonal ones
OFF_DIAGONAL_TYPES = (
    (4, (3, 1), "E[z_i^3 z_j] via fourth(sym e_i e_j^T)"),
    (4, (2, 2), "E[z_i^2 z_j^2] via fourth(sym e_i e_j^T)"),
)
#: central moments of one coordinate of an iid law: (order, name, distinct indices needed)
CENTRAL_TYPES = ((2, "var", 2), (3, "m3", 3), (4, "m4", 4), (4, "var^2", 4))
#: pair functionals replaced by the central moments when an iid law has a non-zero mean
_MEAN_MIXED = {(1, 1), (2, 1), (3, 1)}
#: relative size below which a declared value is taken as an exact zero (evaluation rounding)
_ZERO_REL = 1e-12


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


# -- the declared tensors ------------------------------------------------------


@dataclass(frozen=True)
class DeclaredSlices:
    """The declared moment tensors at dimension ``dim``, as far as the panel needs them.

    ``mean[i] = E z_i``; ``second[i, j] = E z_i z_j``; ``third[i] = third(e_i)``, so
    ``third[i][j, k] = E z_i z_j z_k``; ``fourth[i] = fourth(e_i e_i^T)``, so
    ``fourth[i][j, k] = E z_i^2 z_j z_k``; ``distinct[k]`` is the sum of the order-k
    tensor over tuples of pairwise distinct indices (k = 3, 4; central panel only).
    """

    dim: int
    orders: tuple[int, ...]
    mean: np.ndarray | None
    second: np.ndarray | None
    third: np.ndarray | None
    fourth: np.ndarray | None
    distinct: dict[int, float]
    fourth_off: np.ndarray | None = None  # [i, j] = fourth(sym(e_i e_j^T)), i != j (zeros on i == j)

    def tensor(self, name: str) -> np.ndarray:
        """The declared tensor ``name`` (``mean``, ``second``, ``third``, ``fourth``, ``fourth_off``)."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"the declared {name} moment was not evaluated (orders {self.orders})")
        return value


def declared_slices(law: AbstractLaw, dim: int, orders, *, distinct: bool = False) -> DeclaredSlices:
    """Evaluate the law's moment maps at unit test objects (orders whose maps raise are dropped)."""
    d = law.fixed_dim or S.d
    As, vs = S.matrix("A", d, d), S.vector("v", d)
    env = {S.d: dim}
    eye = np.eye(dim)
    out: dict = {}
    sums: dict[int, float] = {}
    kept = []
    for k in orders:
        try:
            if k == 1:
                out[1] = np.ravel(np.asarray(evaluate(law.mean(d), env), float))
            elif k == 2:
                out[2] = np.asarray(evaluate(law.second_moment(d), env), float).reshape(dim, dim)
            elif k == 3:
                expr = law.third_moment(vs, d)
                out[3] = np.stack([_eval(expr, env | {vs: eye[:, [i]]}, dim) for i in range(dim)])
                if distinct and dim >= 3:
                    full = _eval(expr, env | {vs: np.ones((dim, 1))}, dim)  # sum_i third(e_i)
                    s111, s21, s3 = full.sum(), np.trace(full), sum(out[3][i, i, i] for i in range(dim))
                    sums[3] = float(s111 - 3 * s21 + 2 * s3)
            elif k == 4:
                expr = law.fourth_moment(As, d)
                out[4] = np.stack([_eval(expr, env | {As: np.outer(eye[i], eye[i])}, dim) for i in range(dim)])
                off = np.zeros((dim, dim, dim, dim))
                for i, j in permutations(range(dim), 2):
                    sym = (np.outer(eye[i], eye[j]) + np.outer(eye[j], eye[i])) / 2
                    off[i, j] = _eval(expr, env | {As: sym}, dim)
                out["off"] = off
                if distinct and dim >= 4:
                    s1111 = _eval(expr, env | {As: np.ones((dim, dim))}, dim).sum()
                    with_i = _eval(expr, env | {As: eye}, dim)  # sum_i fourth(e_i e_i^T)
                    s211, s22 = with_i.sum(), np.trace(with_i)
                    s31 = sum(out[4][i, i].sum() for i in range(dim))
                    s4 = sum(out[4][i, i, i] for i in range(dim))
                    sums[4] = float(s1111 - 6 * s211 + 3 * s22 + 8 * s31 - 6 * s4)
        except MomentDoesNotExistError:
            continue
        kept.append(k)
    return DeclaredSlices(dim, tuple(kept), out.get(1), out.get(2), out.get(3), out.get(4), sums, out.get("off"))


def _eval(expr, env, dim: int) -> np.ndarray:
    return np.asarray(evaluate(expr, env), float).reshape(dim, dim)


def _entries(slices: DeclaredSlices, exps: tuple[int, ...], *, off_diagonal: bool = False) -> np.ndarray:
    """Declared E[z_i^e1 z_j^e2] for every ordered tuple of distinct indices (a d or d x d array).

    ``off_diagonal``: the order-4 pair entries read from fourth(sym(e_i e_j^T)):
    its [i, i] entry is E z_i^3 z_j and its [i, j] entry E z_i^2 z_j^2.
    """
    d = slices.dim
    i = np.arange(d)
    if off_diagonal:
        off = slices.tensor("fourth_off")
        out_by_exps: dict[tuple[int, ...], np.ndarray] = {
            (3, 1): off[i[:, None], i[None, :], i[:, None], i[:, None]],
            (2, 2): off[i[:, None], i[None, :], i[:, None], i[None, :]],
        }
        return np.where(np.eye(d, dtype=bool), 0.0, out_by_exps[exps])
    if exps == (1,):
        return slices.tensor("mean")
    if exps == (2,):
        return np.diag(slices.tensor("second"))
    if exps == (1, 1):
        return slices.tensor("second")
    if exps == (3,):
        return slices.tensor("third")[i, i, i]
    if exps == (2, 1):
        return slices.tensor("third")[i, i, :]  # [i, j] = E z_i^2 z_j
    if exps == (4,):
        return slices.tensor("fourth")[i, i, i]
    if exps == (3, 1):
        return slices.tensor("fourth")[i, i, :]  # [i, j] = E z_i^3 z_j
    if exps == (2, 2):
        return slices.tensor("fourth")[:, i, i]  # [i, j] = E z_i^2 z_j^2
    raise ValueError(exps)


def _snap(values: np.ndarray) -> np.ndarray:
    """Exact zeros for entries that are zero up to evaluation rounding."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    return np.where(np.abs(values) <= _ZERO_REL * scale, 0.0, values)


# -- the panel of components ---------------------------------------------------


@dataclass(frozen=True)
class Component:
    """One tested functional: raw (sign-weighted type average) or an iid central moment."""

    order: int
    label: str
    exps: tuple[int, ...] | None = None  # raw type
    weights: np.ndarray | None = None  # +-1 per coordinate (d) or ordered pair (d x d, zero diagonal)
    central: str | None = None  # "var" | "m3" | "m4" | "var^2"
    off_diagonal: bool = False  # declared through the fourth map at sym(e_i e_j^T)

    @property
    def raw_type(self) -> tuple[int, ...]:
        """The exponents of a raw component (an error for a central moment)."""
        if self.exps is None:
            raise ValueError(f"component {self.label} is a central moment, not a raw type average")
        return self.exps


def _central_panel(law: AbstractLaw, slices: DeclaredSlices) -> bool:
    """iid coordinates with one scalar mean that is not zero."""
    if slices.mean is None or law.scalar_moments() is None:
        return False
    return bool(np.any(_snap(np.concatenate([slices.mean, [1.0]]))[:-1] != 0))


def build_panel(law: AbstractLaw, slices: DeclaredSlices) -> list[Component]:
    """The components tested at ``slices.dim`` for the orders the law supports."""
    d = slices.dim
    central = _central_panel(law, slices)
    panel = []
    types = [(t, False) for t in RAW_TYPES] + [(t, True) for t in OFF_DIAGONAL_TYPES]
    for (order, exps, label), off in types:
        if order not in slices.orders or len(exps) > d or (central and exps in _MEAN_MIXED):
            continue
        entries = _snap(np.asarray(_entries(slices, exps, off_diagonal=off), float))
        weights = np.where(entries < 0, -1.0, 1.0)
        if weights.ndim == 2:
            np.fill_diagonal(weights, 0.0)
        panel.append(Component(order, label, exps=exps, weights=weights, off_diagonal=off))
    if central:
        for order, name, need in CENTRAL_TYPES:
            if order in slices.orders and d >= need:
                panel.append(Component(order, f"{name} (central, iid)", central=name))
    return sorted(panel, key=lambda c: c.order)


def _falling(d: int, k: int) -> int:
    return math.prod(range(d - k + 1, d + 1))


def declared_values(panel: list[Component], slices: DeclaredSlices) -> np.ndarray:
    """Each component's declared value from the maps."""
    d = slices.dim
    out = []
    for c in panel:
        if c.central is None:
            entries = np.asarray(_entries(slices, c.raw_type, off_diagonal=c.off_diagonal), float)
            n = d if entries.ndim == 1 else d * (d - 1)
            out.append(float((c.weights * entries).sum()) / n)
            continue
        avg = {
            e: _plain_average(slices, e)
            for e in [(1, 1), (2, 1), (3, 1), (2, 2), (2,), (3,), (4,)]
            if _order(e) in slices.orders
        }
        if c.central == "var":
            out.append(avg[(2,)] - avg[(1, 1)])
        elif c.central == "m3":
            out.append(avg[(3,)] - 3 * avg[(2, 1)] + 2 * slices.distinct[3] / _falling(d, 3))
        else:
            s211 = _distinct_211(slices) / _falling(d, 3)
            s1111 = slices.distinct[4] / _falling(d, 4)
            if c.central == "m4":
                out.append(avg[(4,)] - 4 * avg[(3, 1)] + 6 * s211 - 3 * s1111)
            else:
                out.append(avg[(2, 2)] - 2 * s211 + s1111)
    return _snap_components(np.array(out), panel)


def _order(exps) -> int:
    return sum(exps)


def _plain_average(slices: DeclaredSlices, exps) -> float:
    entries = np.asarray(_entries(slices, exps), float)
    if entries.ndim == 1:
        return float(entries.mean())
    d = slices.dim
    return float((entries.sum() - np.trace(entries)) / (d * (d - 1)))


def _distinct_211(slices: DeclaredSlices) -> float:
    """sum over distinct i, j, k of E z_i^2 z_j z_k, from fourth(e_i e_i^T)."""
    total = 0.0
    for i in range(slices.dim):
        block = np.delete(np.delete(slices.tensor("fourth")[i], i, axis=0), i, axis=1)
        total += block.sum() - np.trace(block)
    return float(total)


def _snap_components(values: np.ndarray, panel: list[Component]) -> np.ndarray:
    out = values.copy()
    for k in {c.order for c in panel}:
        idx = [i for i, c in enumerate(panel) if c.order == k]
        out[idx] = _snap(values[idx])
    return out


# -- simulation -----------------------------------------------------------------


def sample_components(panel: list[Component], z: torch.Tensor) -> torch.Tensor:
    """Per-sample unbiased estimates of the k components, then ||z||_1^1..4: an ``(n, k + 4)`` tensor."""
    d = z.shape[1]
    z2 = z * z
    pw = {1: z, 2: z2, 3: z2 * z, 4: z2 * z2}
    p: dict[int, torch.Tensor] = {}
    cols = []
    for c in panel:
        if c.central is None:
            w = torch.as_tensor(c.weights, dtype=z.dtype, device=z.device)
            if len(c.raw_type) == 1:
                cols.append(pw[c.raw_type[0]] @ (w / d))
            else:
                a, b = c.raw_type
                cols.append(((pw[a] @ (w / (d * (d - 1)))) * pw[b]).sum(dim=1))
            continue
        if not p:
            p = {k: pw[k].sum(dim=1) for k in (1, 2, 3, 4)}
        cols.append(_central_sample(c.central, p, d))
    envelope = z.abs().sum(dim=1)
    cols.append(envelope)  # ||z||_1^k for k = 1..4: magnitudes for the rounding bound
    for _ in (2, 3, 4):
        cols.append(cols[-1] * envelope)
    return torch.stack(cols, dim=1)


def _central_sample(name: str, p: dict[int, torch.Tensor], d: int) -> torch.Tensor:
    """U-statistics over distinct coordinates of one sample (power-sum forms of the type sums)."""
    p1, p2, p3, p4 = p[1], p[2], p[3], p[4]
    f2, f3, f4 = _falling(d, 2), max(_falling(d, 3), 1), max(_falling(d, 4), 1)
    if name == "var":
        return p2 / d - (p1 * p1 - p2) / f2
    if name == "m3":
        return p3 / d - 3 * (p2 * p1 - p3) / f2 + 2 * (p1**3 - 3 * p1 * p2 + 2 * p3) / f3
    s211 = (p2 * p1 * p1 - 2 * p3 * p1 - p2 * p2 + 2 * p4) / f3
    s1111 = (p1**4 - 6 * p1 * p1 * p2 + 3 * p2 * p2 + 8 * p1 * p3 - 6 * p4) / f4
    if name == "m4":
        return p4 / d - 4 * (p3 * p1 - p4) / f2 + 6 * s211 - 3 * s1111
    return (p2 * p2 - p4) / f2 - 2 * s211 + s1111


#: bound on |sum of |coefficients|| of any component's power-sum formula, over its normaliser
_COEFF_BOUND = 512.0


@dataclass(frozen=True)
class RoundedSummary(MeanSummary):
    """Batch means whose acceptance region also covers a derived floating-point rounding bound."""

    rounding: np.ndarray | None = None

    def decide(self, prediction, *, alpha: float, bias=None):
        extra = np.zeros_like(self.estimate) if self.rounding is None else self.rounding
        total = extra if bias is None else extra + np.asarray(bias, float)
        return super().decide(prediction, alpha=alpha, bias=total)


#: batches of the batch-means test (t with 127 df)
NUM_BATCHES = 128


@dataclass(frozen=True)
class PanelSample:
    """What the simulation keeps: the batches' sums of the component and envelope columns."""

    sums: BatchSums
    dtype: torch.dtype
    dim: int
    orders: list[int]


@dataclass(frozen=True)
class PanelMeans:
    """Batch-means test on the component columns; the envelope columns give the rounding bound.

    Each per-sample value is a polynomial of degree k in z with at most a few
    dozen floating-point operations, each with relative error u (unit roundoff),
    on terms bounded by ``_COEFF_BOUND * ||z||_1^k``; the mean over n samples adds
    at most log2(n) u relative.  The bound (d + log2 n + 16) u ``_COEFF_BOUND``
    E||z||_1^k is below 1e-9 relative in float64; it matters only for functionals
    that are constant in exact arithmetic (e.g. sum z_i^2 = d on the sphere).
    """

    num_batches: int = NUM_BATCHES

    def summarize(self, observed: PanelSample, *, variance=None) -> RoundedSummary:
        """Batch means (or the plain mean with an exact ``variance``) of the components, with the rounding bound."""
        sums, k, n = observed.sums, len(observed.orders), observed.sums.num_samples
        B = self.num_batches
        if variance is not None:
            var = np.asarray(variance, dtype=float).reshape(k)
            base = MeanSummary(sums.mean()[:k].numpy(), np.sqrt(var / n), None, "exact variance (z)")
        else:
            if sums.sums.shape[0] != B:
                raise InvalidParameterError(f"the sample holds {sums.sums.shape[0]} batches, the test needs {B}")
            if n < 2 * B:
                raise InvalidParameterError(f"batch means needs at least {2 * B} samples, got {n} (raise --samples)")
            # the batch means of the rows, as BatchMeans forms them from the full (n, k) array
            means = sums.batch_means()[:, :k].numpy()
            base = MeanSummary(
                means.mean(axis=0), means.std(axis=0, ddof=1) / np.sqrt(B), B - 1, f"batch means (B={B})"
            )
        unit = float(torch.finfo(observed.dtype).eps) / 2
        gamma = (observed.dim + math.log2(max(n, 2)) + 16) * unit * _COEFF_BOUND
        envelope = sums.mean()[k:].numpy()
        rounding = gamma * envelope[np.asarray(observed.orders) - 1]
        return RoundedSummary(base.estimate, base.stderr, base.df, base.method, rounding=rounding)


# -- the claim -------------------------------------------------------------------


def _setup(ctx: Context) -> tuple[int, DeclaredSlices, list[Component]]:
    dim = _dim(ctx)
    orders = testable_orders(ctx.law)
    if not orders:
        raise MomentDoesNotExistError(
            f"law {ctx.law.spec}: no moment order has a Monte Carlo test with finite variance "
            "(order k needs finite moments of order 2k)"
        )
    central = ctx.law.scalar_moments() is not None
    slices = declared_slices(ctx.law, dim, orders, distinct=central)
    if not slices.orders:
        raise MomentDoesNotExistError(f"law {ctx.law.spec}: none of its moment maps 1..4 exists")
    return dim, slices, build_panel(ctx.law, slices)


def _predict(ctx: Context) -> np.ndarray:
    _, slices, panel = _setup(ctx)
    return declared_values(panel, slices)


def _simulate(ctx: Context):
    dim, _, panel = _setup(ctx)

    def block(n: int, gen: torch.Generator) -> torch.Tensor:
        z = ctx.law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        return sample_components(panel, z)

    # only the batches' sums are kept: 2^21 samples of a dozen columns would hold 200+ MB of rows
    sums = batch_sums(block, ctx.num_samples, generator=ctx.mc_generator(), num_batches=NUM_BATCHES)
    return PanelSample(sums, ctx.dtype, dim, [c.order for c in panel])


def _labels(ctx: Context) -> list[str]:
    _, _, panel = _setup(ctx)
    return [f"order {c.order}: {c.label}" for c in panel]


# -- the former random-object functionals (kept for the symbolic tests) ----------


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


def type_average_brute_force(z: np.ndarray, exps: tuple[int, ...]) -> np.ndarray:
    """Per-sample plain average of z_i^e1 z_j^e2 ... over ordered distinct tuples (a slow reference)."""
    d = z.shape[1]
    tuples = list(permutations(range(d), len(exps)))
    acc = np.zeros(z.shape[0])
    for t in tuples:
        term = np.ones(z.shape[0])
        for i, e in zip(t, exps, strict=True):
            term = term * z[:, i] ** e
        acc += term
    return acc / len(tuples)


#: every built-in family's test laws, from the laws' own parameter metadata
DEFAULT_LAWS = default_specs()

MOMENTS = register(
    Claim(
        name="moments.sampler",
        predict=_predict,
        simulate=_simulate,
        test=PanelMeans(),
        params={"dim": Param(4, "dimension d at which the maps are evaluated", low=1, high=64, integer=True)},
        laws=DEFAULT_LAWS,
        num_samples=1 << 21,
        labels=_labels,
    )
)

__all__ = [
    "MOMENTS",
    "Component",
    "DeclaredSlices",
    "PanelMeans",
    "PanelSample",
    "build_panel",
    "declared_slices",
    "declared_values",
    "moment_functionals",
    "sample_components",
    "testable_orders",
    "type_average_brute_force",
]
