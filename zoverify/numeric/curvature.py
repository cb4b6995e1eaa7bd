"""Matrix-free curvature of a torch model's loss: Hessian-vector products, Lanczos, SLQ.

The loss is given as ``loss_fn(model) -> scalar tensor``, so products come from double
backward through one retained graph (Pearlmutter's R-operator): the loss and its
gradient are built once, each H v is one more backward pass over that graph.  The
parameters are seen as one flat vector (the concatenation of the trainable ones).

Randomness only from an explicit ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from zoverify._errors import InvalidParameterError


class ParameterHessian:
    """v -> H v for ``loss_fn(model)`` at the model's current parameters (flat vector view).

    Raises InvalidParameterError (one-line messages) for a model without trainable
    parameters, a loss that is not a finite scalar, or a loss without an autograd
    graph to the parameters (no Hessian-vector product is then possible).
    """

    def __init__(self, model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module], torch.Tensor]):
        if not isinstance(model, torch.nn.Module):
            raise InvalidParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise InvalidParameterError("the model has no trainable parameters (none with requires_grad)")
        self.dim = sum(p.numel() for p in self.params)
        self.dtype, self.device = self.params[0].dtype, self.params[0].device
        with torch.enable_grad():
            try:
                loss = loss_fn(model)
            except Exception as exc:  # the user's code: one line, the cause kept for the API
                raise InvalidParameterError(f"loss_fn(model) raised {type(exc).__name__}: {exc}") from exc
            if not isinstance(loss, torch.Tensor):
                raise InvalidParameterError(f"loss_fn(model) must return a scalar tensor, got {type(loss).__name__}")
            if loss.numel() != 1:
                raise InvalidParameterError(
                    f"loss_fn(model) must return a scalar tensor, got shape {tuple(loss.shape)}"
                )
            if not bool(torch.isfinite(loss.detach()).all()):
                raise InvalidParameterError(f"the loss is not finite at the model's parameters ({loss.item()})")
            if not loss.requires_grad:
                raise InvalidParameterError(
                    "the loss has no autograd graph to the parameters (computed under no_grad, detached or "
                    "through a non-torch step), so no Hessian-vector product exists"
                )
            grads = torch.autograd.grad(loss.reshape(()), self.params, create_graph=True, allow_unused=True)
        self.loss = float(loss.detach())
        flat = [
            torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1)
            for p, g in zip(self.params, grads, strict=True)
        ]
        self._grad = torch.cat(flat)
        # a gradient without a graph is constant in theta: the Hessian is zero (a linear loss)
        self.zero = not self._grad.requires_grad
        self.products = 0

    @property
    def gradient(self) -> torch.Tensor:
        """The loss's gradient at the parameters, flat, detached, float64."""
        return self._grad.detach().to(torch.float64)

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """H v in float64 (v: a flat vector of the parameters' length)."""
        self.products += 1
        if self.zero:
            return torch.zeros(self.dim, dtype=torch.float64, device=self.device)
        try:
            parts = torch.autograd.grad(
                self._grad, self.params, grad_outputs=v.to(self.dtype), retain_graph=True, allow_unused=True
            )
        except RuntimeError as exc:  # an operation without a second derivative in torch
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidParameterError(f"the loss is not twice differentiable by autograd: {first}") from None
        out = torch.cat(
            [
                torch.zeros_like(p).reshape(-1) if h is None else h.reshape(-1)
                for p, h in zip(self.params, parts, strict=True)
            ]
        )
        return out.detach().to(torch.float64)

    def dense(self) -> torch.Tensor:
        """The full d x d Hessian (d products), symmetrized; for small models only."""
        eye = torch.eye(self.dim, dtype=torch.float64, device=self.device)
        H = torch.stack([self.matvec(e) for e in eye], dim=1)
        return (H + H.T) / 2


def time_forward_backward(model: torch.nn.Module, loss_fn, *, repeats: int = 3) -> float:
    """Seconds of one loss evaluation plus its gradient (the unit the cost is reported in); best of ``repeats``."""
    import time

    params = [p for p in model.parameters() if p.requires_grad]
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.enable_grad():
            torch.autograd.grad(loss_fn(model), params, allow_unused=True)
        best = min(best, time.perf_counter() - start)
    return best


# --------------------------------------------------------------------------- Lanczos
def lanczos_tridiagonal(matvec, start: torch.Tensor, *, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, beta) of ``steps`` Lanczos steps from ``start``, full reorthogonalization.

    Stops early at an invariant subspace (then the quadrature below is exact).
    """
    dim = start.numel()
    k = min(int(steps), dim)
    Q = torch.zeros((k, dim), dtype=torch.float64, device=start.device)
    Q[0] = start.to(torch.float64) / torch.linalg.vector_norm(start)
    alpha, beta = [], []
    for j in range(k):
        w = matvec(Q[j])
        alpha.append(float(torch.dot(w, Q[j])))
        for _ in range(2):  # reorthogonalize twice: one pass loses orthogonality once Ritz values converge
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(torch.linalg.vector_norm(w))
        beta.append(b)  # the last one is kept for the residual bound
        if j == k - 1 or b <= 1e-12 * max(abs(a) for a in alpha):
            break
        Q[j + 1] = w / b
    return np.array(alpha), np.array(beta)


def lanczos_three_term(matvec, start: torch.Tensor, *, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, beta) like :func:`lanczos_tridiagonal` but keeping only the last two Lanczos vectors.

    Without the basis, orthogonality is lost once a Ritz value converges and copies of it appear, but
    the extreme Ritz values stay accurate (Paige's analysis of the finite-precision recurrence); the
    memory is three vectors instead of ``steps`` (1.6 GB at 10^7 parameters and 20 steps).
    """
    dim = start.numel()
    k = min(int(steps), dim)
    q = start.to(torch.float64) / torch.linalg.vector_norm(start)
    previous = torch.zeros_like(q)
    alpha, beta = [], []
    b_prev = 0.0
    for j in range(k):
        w = matvec(q) - b_prev * previous
        a = float(torch.dot(w, q))
        alpha.append(a)
        w = w - a * q
        w = w - float(torch.dot(w, q)) * q  # local reorthogonalization against the current vector
        b = float(torch.linalg.vector_norm(w))
        beta.append(b)
        if j == k - 1 or b <= 1e-12 * max(abs(x) for x in alpha):
            break
        previous, q, b_prev = q, w / b, b
    return np.array(alpha), np.array(beta)


def gauss_quadrature(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the Gauss rule of the Lanczos tridiagonal (Golub-Welsch)."""
    T = np.diag(alpha) + np.diag(beta[: alpha.size - 1], 1) + np.diag(beta[: alpha.size - 1], -1)
    nodes, vecs = np.linalg.eigh(T)
    return nodes, vecs[0] ** 2


@dataclass(frozen=True)
class ProbeQuadratures:
    """Stochastic Lanczos quadrature: per Rademacher probe v, v^T f(H) v ~ sum_k weights[j, k] f(nodes[j, k]).

    ``weights`` are scaled by ||v||^2 = d, so each row estimates tr f(H) without bias (up to the
    quadrature error); ``half_*`` is the rule of the first half of the same Lanczos run, whose gap to
    the full rule estimates that error.  Rows are padded with zero weights.
    """

    nodes: np.ndarray
    weights: np.ndarray
    half_nodes: np.ndarray
    half_weights: np.ndarray
    rayleigh: np.ndarray  # v^T H v per probe: Hutchinson's trace samples
    steps: int

    @property
    def num_probes(self) -> int:
        """Number of probes (rows)."""
        return self.nodes.shape[0]

    def extended(self, other: ProbeQuadratures) -> ProbeQuadratures:
        """The probes of both sets."""
        width = max(self.nodes.shape[1], other.nodes.shape[1])
        hw = max(self.half_nodes.shape[1], other.half_nodes.shape[1])
        nodes, weights, half_nodes, half_weights = (
            np.concatenate([_pad(a, w), _pad(b, w)]) for a, b, w in _pairs(self, other, width, hw)
        )
        rayleigh = np.concatenate([self.rayleigh, other.rayleigh])
        return ProbeQuadratures(nodes, weights, half_nodes, half_weights, rayleigh, self.steps)


def _pairs(a: ProbeQuadratures, b: ProbeQuadratures, width: int, hw: int):
    return [
        (a.nodes, b.nodes, width),
        (a.weights, b.weights, width),
        (a.half_nodes, b.half_nodes, hw),
        (a.half_weights, b.half_weights, hw),
    ]


def _pad(x: np.ndarray, width: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, width - x.shape[1])))


def slq_probes(op: ParameterHessian, *, num_probes: int, steps: int, generator: torch.Generator) -> ProbeQuadratures:
    """``num_probes`` Rademacher probes, each with a ``steps``-step Lanczos quadrature."""
    d, n = op.dim, int(num_probes)
    if n < 1:
        raise InvalidParameterError(f"num_probes must be positive, got {num_probes}")
    k = min(int(steps), d)
    # filled in place: a few small arrays kept per probe pin the heap between the Lanczos bases
    # freed after them (glibc cannot reuse or return those holes), about 36 kB a probe at d = 310
    nodes, weights = np.zeros((n, k)), np.zeros((n, k))
    half_nodes, half_weights = np.zeros((n, max(1, (k + 1) // 2))), np.zeros((n, max(1, (k + 1) // 2)))
    rayleigh = np.empty(n)
    width = hw = 0
    for i in range(n):
        v = 2.0 * torch.randint(0, 2, (d,), generator=generator, device=generator.device).to(torch.float64) - 1.0
        v = v.to(op.device)
        alpha, beta = lanczos_tridiagonal(op.matvec, v, steps=steps)
        half = max(1, (alpha.size + 1) // 2)
        x, w = gauss_quadrature(alpha, beta)
        nodes[i, : x.size], weights[i, : x.size] = x, w * float(d)
        x, w = gauss_quadrature(alpha[:half], beta[: half - 1])
        half_nodes[i, : x.size], half_weights[i, : x.size] = x, w * float(d)
        rayleigh[i] = d * alpha[0]
        width, hw = max(width, alpha.size), max(hw, half)
    return ProbeQuadratures(
        nodes[:, :width].copy() if width < k else nodes,
        weights[:, :width].copy() if width < k else weights,
        half_nodes[:, :hw].copy() if hw < half_nodes.shape[1] else half_nodes,
        half_weights[:, :hw].copy() if hw < half_weights.shape[1] else half_weights,
        rayleigh,
        int(steps),
    )


def top_eigenvalues(
    op: ParameterHessian, *, steps: int, generator: torch.Generator, count: int = 5, keep_basis: bool = True
) -> tuple[np.ndarray, float]:
    """(largest Ritz values, descending; residual bound of the largest) from a Gaussian start.

    Ritz values never exceed lambda_max; ``residual`` = beta_k |s_k1| bounds the distance of the
    top Ritz value to some eigenvalue (the usual a-posteriori bound).  ``keep_basis=False``: the
    three-term recurrence in O(d) memory (see :func:`lanczos_three_term`).
    """
    start = torch.randn(op.dim, generator=generator, dtype=torch.float64, device=generator.device).to(op.device)
    run = lanczos_tridiagonal if keep_basis else lanczos_three_term
    alpha, beta = run(op.matvec, start, steps=steps)
    T = np.diag(alpha) + np.diag(beta[: alpha.size - 1], 1) + np.diag(beta[: alpha.size - 1], -1)
    nodes, vecs = np.linalg.eigh(T)
    last_beta = beta[alpha.size - 1] if alpha.size < op.dim else 0.0  # a full run is exact
    residual = float(abs(last_beta * vecs[-1, -1]))
    return nodes[::-1][:count].copy(), residual


__all__ = [
    "ParameterHessian",
    "ProbeQuadratures",
    "gauss_quadrature",
    "lanczos_three_term",
    "lanczos_tridiagonal",
    "slq_probes",
    "time_forward_backward",
    "top_eigenvalues",
]
