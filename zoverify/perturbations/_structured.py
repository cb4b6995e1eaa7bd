"""Structured (non-iid) laws: block-coordinate, sparse, low-rank and random subspace.

Each is z = c P u with a random P (d x r) and u with iid zero-mean coordinates;
``draw_projection`` returns one P (and ``scale`` is c) so the structured
quantities of :mod:`zoverify.symbolic.structured` can be checked given P.  The
moment maps are exact sympy matrix expressions:

block(blocks=B), w iid from ``base`` (var s2, third m3, fourth m4), block b of
the contiguous partition of range(d) (numpy.array_split sizes) chosen with
probability 1/B, z = c D_b w:

    E[z z^T]            = c^2 s2 / B I
    E[(v^T z) z z^T]    = c^3 m3 / B diag(v)
    E[z z^T A z z^T]    = c^4 / B (s2^2 (BlockTrace(A) + 2 BlockDiag(A)) + (m4 - 3 s2^2) Diag(A))

(the iid fourth moment within the chosen block, summed over blocks).  Scaled:
c^2 = B / s2, so E[z z^T] = I for every partition.  With order="cyclic" the
blocks are visited in a fresh random permutation every B steps: each step's
marginal is still uniform over blocks, so the per-step moments are the same
(consecutive samples are then dependent within an epoch; epochs are independent).

sparse(p): z_i = c m_i w_i with m_i ~ Bernoulli(p): iid coordinates with var
c^2 p s2, m3 c^3 p m3, m4 c^4 p m4 (an :class:`AbstractIIDLaw`); scaled c^2 = 1/(p s2).

lowrank(rank=r, shape=(m, n)): z = vec(U V^T)/sqrt(r), U (m x r), V (n x r) iid
N(0, 1), vec row-major.  Isserlis on U and V separately: matching pairings give
the Gaussian term, each of the 6 mismatched pairs of pairings a 1/r term:

    E[z z^T A z z^T] = tr(A) I + 2A + (2/r)(Tr_cols(A) (x) I_n + I_m (x) Tr_rows(A) + R(A))

with R the partial transpose.  subspace(rank=r): z = sqrt(d/r) Q u, Q an
orthonormal basis of a Haar-random r-dim subspace, u ~ N(0, I_r).  It is
rotation invariant, so E[z z^T A z z^T] = k (tr(A) I + 2A), and E||z||^4 =
(d/r)^2 r (r + 2) fixes k = d (r + 2) / (r (d + 2)).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy import DiagMatrix, Identity, Trace, ZeroMatrix

from zoverify._errors import InvalidParameterError, ZoverifyError
from zoverify.moment_maps import symbols as S
from zoverify.perturbations._base import AbstractLaw, float_dtype
from zoverify.perturbations._iid import AbstractIIDLaw, diagonal_part, plain
from zoverify.perturbations._params import (
    Integer,
    IntegerPair,
    LawParam,
    LawSpec,
    OneOf,
    Real,
    Span,
)
from zoverify.perturbations._registry import parse_law
from zoverify.perturbations._sphere import AbstractIsotropicLaw
from zoverify.symbolic.structured import (
    BlockDiagonalPart,
    BlockTraceDiagonal,
    KronPartialTrace,
    PartialTranspose,
    block_index,
)

if TYPE_CHECKING:
    import torch


def _positive_int(name: str, value: Any, *, law: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value) or int(value) < 1:
        raise InvalidParameterError(f"{law}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _base_law(base: Any, *, law: str) -> AbstractIIDLaw:
    """A zero-mean iid law with per-coordinate moments (the within-block / unmasked law)."""
    obj = parse_law(base) if isinstance(base, str) else base
    if not isinstance(obj, AbstractIIDLaw) or obj.scalar_moments() is None or obj.fixed_dim is not None:
        raise InvalidParameterError(
            f"{law}: base must be a zero-mean iid law spec such as 'gaussian' or 'rademacher', got {base!r}"
        )
    if obj.scalar_moments()["mean"] != 0:
        raise InvalidParameterError(f"{law}: base law {obj.spec} must have mean zero")
    return obj


def _is_base_spec(spec: str) -> bool:
    try:
        _base_law(spec, law="base")
    except ZoverifyError:
        return False
    return True


#: the base law inside a block or under a sparse mask
BASE_PARAM = LawParam(
    domain=LawSpec("a zero-mean iid law spec such as 'gaussian' or 'rademacher'", _is_base_spec),
    typical=("gaussian", "rademacher", "uniform", "laplace(b=0.6)"),
    test_values=("gaussian",),
)
SCALED_PARAM = LawParam(domain=OneOf((True, False)), typical=(True, False), test_values=(True,))


def _base_moments(base: AbstractIIDLaw, order: int) -> dict[str, sp.Expr]:
    base.require_moment(order)
    mom = base.centred_moments()
    return {
        "var": mom["var"],
        "m3": mom.get("m3", sp.Integer(0)),
        "m4": mom.get("m4", sp.nan) if order >= 4 else sp.nan,
    }


class _ScaledBase:
    """Shared by laws that rescale a base law by c (z = c P u): c and the spec's tail."""

    scale_sq: sp.Expr
    scaled: bool
    base: AbstractIIDLaw

    @property
    def scale(self) -> float:
        return math.sqrt(float(self.scale_sq))

    def projection_scale(self, dim=None) -> float:
        """c in z = c P u."""
        return self.scale

    def _base_parameters(self) -> dict[str, Any]:
        params: dict[str, Any] = {} if self.scaled else {"scaled": False}
        if self.base.spec != "gaussian":
            params["base"] = self.base.spec
        return params


class Block(_ScaledBase, AbstractLaw):
    """Block-coordinate law: one of ``blocks`` contiguous blocks per step, base law inside it."""

    name = "block"
    law_params = {
        "blocks": LawParam(domain=Integer(1), typical=Span(1, 8), test_values=(4,)),
        "order": LawParam(domain=OneOf(("uniform", "cyclic")), typical=("uniform", "cyclic"), test_values=("uniform",)),
        "scaled": SCALED_PARAM,
        "base": BASE_PARAM,
    }

    def __init__(self, blocks: int = 4, order: str = "uniform", scaled: bool = True, base: Any = "gaussian"):
        self.blocks = _positive_int("blocks", blocks, law="block")
        if order not in ("uniform", "cyclic"):
            raise InvalidParameterError(f"block: order must be 'uniform' or 'cyclic', got {order!r}")
        if not isinstance(scaled, bool):
            raise InvalidParameterError(f"block: scaled must be true or false, got {scaled!r}")
        self.order, self.scaled = order, scaled
        # a cyclic order visits each block once per epoch: consecutive draws are dependent
        self.independent_draws = order == "uniform"
        self.base = _base_law(base, law="block")
        self.moment_order_bound = getattr(self.base, "moment_order_bound", float("inf"))
        var = self.base.centred_moments()["var"] if self.moment_order_bound > 2 else sp.Integer(1)
        self.scale_sq = sp.Integer(self.blocks) / var if scaled else sp.Integer(1)

    def parameters(self):
        params: dict[str, Any] = {"blocks": self.blocks}
        if self.order != "uniform":
            params["order"] = self.order
        return params | self._base_parameters()

    def check_dim(self, dim):
        super().check_dim(dim)
        if not (isinstance(dim, sp.Expr) and not dim.is_number) and int(dim) < self.blocks:
            raise InvalidParameterError(
                f"{self.spec}: dimension {dim} is smaller than the number of blocks {self.blocks}"
            )

    def mean(self, d: S.Dim = S.d):
        self.check_dim(d)
        self.base.require_moment(1)
        return ZeroMatrix(d, 1)

    def second_moment(self, d: S.Dim = S.d):
        self.check_dim(d)
        mom = _base_moments(self.base, 2)
        return self.scale_sq * mom["var"] / self.blocks * Identity(d)

    def third_moment(self, v, d: S.Dim = S.d):
        self.check_dim(d)
        mom = _base_moments(self.base, 3)
        if mom["m3"] == 0:
            return ZeroMatrix(d, d)
        return self.scale_sq ** sp.Rational(3, 2) * mom["m3"] / self.blocks * DiagMatrix(v)

    def fourth_moment(self, A, d: S.Dim = S.d):
        self.check_dim(d)
        mom = _base_moments(self.base, 4)
        s2, excess = mom["var"], sp.simplify(mom["m4"] - 3 * mom["var"] ** 2)
        inner = s2**2 * (BlockTraceDiagonal(A, self.blocks) + 2 * BlockDiagonalPart(A, self.blocks))
        if excess != 0:
            inner = inner + excess * diagonal_part(A)
        return self.scale_sq**2 / self.blocks * inner

    def enumerate_outcomes(self, dim):
        import torch

        self.check_dim(dim)
        idx = block_index(dim, self.blocks)
        outs, probs = [], []
        for b in range(self.blocks):
            cols = torch.as_tensor((idx == b).nonzero()[0])
            inner = self.base.enumerate_outcomes(len(cols))
            if inner is None:
                return None
            values, p = inner
            full = torch.zeros((values.shape[0], dim), dtype=torch.float64)
            full[:, cols] = self.scale * values
            outs.append(full)
            probs.append(p / self.blocks)
        return torch.cat(outs), torch.cat(probs)

    def sample_blocks(self, num_samples: int, *, generator: torch.Generator) -> torch.Tensor:
        """The block index of each of ``num_samples`` consecutive steps (uniform or cyclic order)."""
        import torch

        n, dev = int(num_samples), generator.device
        if self.order == "uniform":
            return torch.randint(0, self.blocks, (n,), generator=generator, device=dev)
        epochs = -(-n // self.blocks)
        keys = torch.rand((epochs, self.blocks), generator=generator, device=dev)
        return keys.argsort(dim=1).reshape(-1)[:n]

    def sample(self, num_samples, dim, *, generator, dtype=None, device=None):
        import torch

        self.check_dim(dim)
        dtype = float_dtype(dtype)
        chosen = self.sample_blocks(num_samples, generator=generator)
        w = self.base.sample(int(num_samples), int(dim), generator=generator, dtype=dtype)
        idx = torch.as_tensor(block_index(dim, self.blocks), device=generator.device)
        out = self.scale * w * (idx[None, :] == chosen[:, None]).to(dtype)
        return out.to(self._device(generator, device))

    def draw_projection(self, dim: int, *, generator: torch.Generator, dtype=None) -> torch.Tensor:
        """P: the identity columns of one uniformly chosen block (z = scale * P u)."""
        import torch

        self.check_dim(dim)
        dtype = float_dtype(dtype)
        b = int(torch.randint(0, self.blocks, (1,), generator=generator, device=generator.device))
        cols = (torch.as_tensor(block_index(dim, self.blocks)) == b).nonzero().ravel()
        return torch.eye(dim, dtype=dtype, device=generator.device)[:, cols.to(generator.device)]


class Sparse(_ScaledBase, AbstractIIDLaw):
    """z_i = c m_i w_i, m_i ~ Bernoulli(p) iid, w_i iid from ``base``; scaled so E[z z^T] = I."""

    name = "sparse"
    law_params = {
        "p": LawParam(domain=Real(0, 1, high_closed=True), typical=Span(0.1, 1.0), test_values=(0.3,)),
        "base": BASE_PARAM,
        "scaled": SCALED_PARAM,
    }

    def __init__(self, p: Any = 0.5, base: Any = "gaussian", scaled: bool = True):
        try:
            value = sp.nsimplify(p) if isinstance(p, float) else sp.sympify(p)
        except (sp.SympifyError, TypeError):
            value = None
        # sympify keeps a list a list and gives complex numbers no order: both are refused here, not by a crash
        if not isinstance(value, sp.Expr) or not value.is_number or not value.is_real or not (0 < value <= 1):
            raise InvalidParameterError(f"sparse: p must be a number in (0, 1], got {p!r}")
        if not isinstance(scaled, bool):
            raise InvalidParameterError(f"sparse: scaled must be true or false, got {scaled!r}")
        self.p, self.scaled = value, scaled
        self.base = _base_law(base, law="sparse")
        self.moment_order_bound = getattr(self.base, "moment_order_bound", float("inf"))
        var = self.base.centred_moments()["var"] if self.moment_order_bound > 2 else sp.Integer(1)
        self.scale_sq = 1 / (self.p * var) if scaled else sp.Integer(1)

    def parameters(self):
        params: dict[str, Any] = {"p": plain(self.p)}
        return params | self._base_parameters()

    def centred_moments(self):
        mom = self.base.centred_moments()
        c2, p = self.scale_sq, self.p
        out = {"var": c2 * p * mom["var"], "m3": c2 ** sp.Rational(3, 2) * p * mom["m3"]}
        for k in (4, 5, 6):  # z_i^k = c^k m_i w_i^k (w centred, m_i a 0/1 mask)
            if f"m{k}" in mom:
                out[f"m{k}"] = c2 ** sp.Rational(k, 2) * p * mom[f"m{k}"]
        return out

    def enumerate_outcomes(self, dim):
        import torch

        inner = self.base.enumerate_outcomes(1)
        if inner is None:
            return None
        values, probs = inner
        vals = torch.cat([torch.zeros(1, dtype=torch.float64), self.scale * values[:, 0]])
        pr = torch.cat([torch.tensor([1 - float(self.p)], dtype=torch.float64), float(self.p) * probs])
        grid = torch.cartesian_prod(*[torch.arange(vals.numel())] * dim).reshape(-1, dim)
        return vals[grid], pr[grid].prod(dim=1)

    def _sample_centred(self, shape, generator, dtype):
        import torch

        keep = torch.rand(shape, generator=generator, dtype=dtype, device=generator.device) < float(self.p)
        w = self.base.sample(shape[0], shape[1], generator=generator, dtype=dtype)
        return self.scale * w * keep.to(dtype)

    def draw_projection(self, dim: int, *, generator: torch.Generator, dtype=None) -> torch.Tensor:
        """P: the identity columns of a Bernoulli(p) coordinate mask (z = scale * P u)."""
        import torch

        self.check_dim(dim)
        dtype = float_dtype(dtype)
        keep = torch.rand(int(dim), generator=generator, dtype=torch.float64, device=generator.device) < float(self.p)
        return torch.eye(int(dim), dtype=dtype, device=generator.device)[:, keep]


class LowRank(AbstractLaw):
    """z = vec(U V^T)/sqrt(rank) for an m x n parameter matrix (row-major vec); E[z z^T] = I."""

    name = "lowrank"
    law_params = {
        "rank": LawParam(domain=Integer(1), typical=Span(1, 4), test_values=(2,)),
        "shape": LawParam(domain=IntegerPair(), typical=((4, 3), (2, 2), (3, 5)), test_values=((4, 3),)),
    }

    def __init__(self, rank: int = 1, shape: Any = (4, 3)):
        self.rank = _positive_int("rank", rank, law="lowrank")
        if not isinstance(shape, (list, tuple)) or len(shape) != 2:
            raise InvalidParameterError(f"lowrank: shape must be a pair (m, n), got {shape!r}")
        self.m, self.n = (_positive_int("shape", s, law="lowrank") for s in shape)
        self.fixed_dim = self.m * self.n

    def parameters(self):
        return {"rank": self.rank, "shape": [self.m, self.n]}

    def mean(self, d=None):
        d = self.fixed_dim if d is None else d
        self.check_dim(d)
        return ZeroMatrix(d, 1)

    def second_moment(self, d=None):
        d = self.fixed_dim if d is None else d
        self.check_dim(d)
        return Identity(d)

    def third_moment(self, v, d=None):
        d = self.fixed_dim if d is None else d
        self.check_dim(d)
        return ZeroMatrix(d, d)

    def fourth_moment(self, A, d=None):
        d = self.fixed_dim if d is None else d
        self.check_dim(d)
        m, n = self.m, self.n
        cross = KronPartialTrace(A, m, n, "rows") + KronPartialTrace(A, m, n, "cols") + PartialTranspose(A, m, n)
        return Trace(A) * Identity(d) + 2 * A + sp.Rational(2, self.rank) * cross

    def sample(self, num_samples, dim=None, *, generator, dtype=None, device=None):
        import torch

        dim = self.fixed_dim if dim is None else dim
        self.check_dim(dim)
        dtype = float_dtype(dtype)
        n_s, dev = int(num_samples), generator.device
        U = torch.randn((n_s, self.m, self.rank), generator=generator, dtype=dtype, device=dev)
        V = torch.randn((n_s, self.n, self.rank), generator=generator, dtype=dtype, device=dev)
        z = (U @ V.transpose(1, 2)).reshape(n_s, self.m * self.n) / math.sqrt(self.rank)
        return z.to(self._device(generator, device))

    def draw_projection(self, dim=None, *, generator: torch.Generator, dtype=None) -> torch.Tensor:
        """P = I_m (x) V / sqrt(rank) with V ~ N(0, 1)^(n x r): given V, z = P vec(U)."""
        import torch

        self.check_dim(self.fixed_dim if dim is None else dim)
        dtype = float_dtype(dtype)
        V = torch.randn((self.n, self.rank), generator=generator, dtype=dtype, device=generator.device)
        return torch.kron(torch.eye(self.m, dtype=dtype, device=generator.device), V) / math.sqrt(self.rank)

    def projection_scale(self, dim=None) -> float:
        """c in z = c P u: 1 (the 1/sqrt(rank) is inside P)."""
        return 1.0


class Subspace(AbstractIsotropicLaw):
    """z = sqrt(d/rank) Q u: Q an orthonormal basis of a Haar-random rank-dim subspace, u ~ N(0, I)."""

    name = "subspace"
    law_params = {"rank": LawParam(domain=Integer(1), typical=Span(1, 4), test_values=(2,))}

    def __init__(self, rank: int = 1):
        self.rank = _positive_int("rank", rank, law="subspace")

    def parameters(self):
        return {"rank": self.rank}

    def check_dim(self, dim):
        super().check_dim(dim)
        if not (isinstance(dim, sp.Expr) and not dim.is_number) and int(dim) < self.rank:
            raise InvalidParameterError(f"{self.spec}: dimension {dim} is smaller than the rank {self.rank}")

    def fourth_moment_factor(self, d):
        return d * (self.rank + 2) / (self.rank * (d + 2))

    def sixth_moment_factor(self, d):
        # ||z||^2 = (d / r) ||u||^2 with E||u||^6 = r (r + 2) (r + 4)
        r = self.rank
        return d**2 * (r + 2) * (r + 4) / (r**2 * (d + 2) * (d + 4))

    def draw_projection(self, dim: int, *, generator: torch.Generator, dtype=None, num: int | None = None):
        """Q (d x rank) with orthonormal columns spanning a Haar-random subspace (``num`` of them if given)."""
        import torch

        self.check_dim(dim)
        dtype = float_dtype(dtype)
        shape = (int(dim), self.rank) if num is None else (int(num), int(dim), self.rank)
        G = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)
        return torch.linalg.qr(G).Q

    def projection_scale(self, dim: int) -> float:
        """c in z = c P u: sqrt(d / rank)."""
        return math.sqrt(int(dim) / self.rank)

    def sample(self, num_samples, dim, *, generator, dtype=None, device=None):
        import torch

        self.check_dim(dim)
        dtype = float_dtype(dtype)
        Q = self.draw_projection(dim, generator=generator, dtype=dtype, num=int(num_samples))
        u = torch.randn((int(num_samples), self.rank, 1), generator=generator, dtype=dtype, device=generator.device)
        z = self.projection_scale(dim) * (Q @ u)[..., 0]
        return z.to(self._device(generator, device))
