"""Monte Carlo of ZO-GD / ZO-GDM / frozen ZO-Adam on a quadratic, with real finite differences.

Two estimators of the mean-square edge:

* :func:`chain_second_moments` runs many independent chains and records
  ||x_t||^2; below the edge the sample mean tracks <I, T^t(x0 x0^T)>.  Above it
  the growth is carried by rare chains, so sample means underestimate it
  (docs/stability.md#monte-carlo-protocol) and are not used to decide the edge.
* :func:`mc_eta_star` estimates the one-step operator itself: from n sampled
  directions z_k and the finite-difference rows r_k (c_k(x) = r_k^T x is the
  central difference quotient along z_k, linear in x on a quadratic), the
  sample operator T_n(X) = X - eta (J X + X J^T) + eta^2 (1/n) sum (r_k^T X r_k) z_k z_k^T
  with J = (1/n) sum z_k r_k^T.  Its edge eta*_n is a smooth function of the
  sample moments, so the delete-a-group jackknife gives pseudo-values whose
  t-interval has the usual coverage; no trajectory, hence no heavy tail.
* :func:`mc_eta_star_method` does the same for every engine (ZO-GD with q
  queries, ZO-GDM, frozen ZO-Adam with any preconditioner): one step is the
  random linear map s_+ = A s of the stacked state s = x (GD) or (x, m), with
  A affine in the measured b = (1/q) sum_j z_j r_j^T (the gradient estimate is
  b x).  The sample operator S -> (1/n) sum_k A_k S A_k^T needs only the sample
  second moments of (1, vec b), a (d^2 + 1)^2 matrix per group.
"""

from __future__ import annotations

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify._rng import draw_seed, make_generator
from zoverify.numeric._batching import BatchSums, rows_or_sums


def _quadratic(H: torch.Tensor):
    def f(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((x @ H) * x).sum(-1)

    return f


def zo_gradient(f, x: torch.Tensor, z: torch.Tensor, *, mu: float, difference: str) -> torch.Tensor:
    """Two-point estimate for a batch: x (n, d), z (n, d) -> (n, d), with real function values."""
    if difference == "central":
        coeff = (f(x + mu * z) - f(x - mu * z)) / (2 * mu)
    elif difference == "forward":
        coeff = (f(x + mu * z) - f(x)) / mu
    else:
        raise InvalidParameterError(f"difference must be 'central' or 'forward', got {difference!r}")
    return coeff[:, None] * z


def chain_second_moments(
    law,
    H,
    x0,
    *,
    eta: float,
    record: tuple[int, ...],
    num_chains: int,
    generator: torch.Generator,
    method: str = "gd",
    beta: float = 0.0,
    q: int = 1,
    P=None,
    mu: float = 1e-3,
    difference: str = "central",
    dtype: torch.dtype = torch.float64,
    block_size: int = 1 << 16,
    batches: int | None = None,
) -> torch.Tensor | BatchSums:
    """||x_t||^2 at the steps in ``record`` for ``num_chains`` independent chains: (num_chains, len(record)),
    or with ``batches`` their batch sums (memory independent of ``num_chains``)."""
    device = generator.device
    Ht = torch.as_tensor(np.asarray(H, float), dtype=dtype, device=device)
    x0t = torch.as_tensor(np.asarray(x0, float), dtype=dtype, device=device)
    K = None if P is None else torch.linalg.inv(torch.as_tensor(np.asarray(P, float), dtype=dtype, device=device))
    f = _quadratic(Ht)
    d, steps = Ht.shape[0], max(record)
    s = 1.0 - beta if method == "adam" else 1.0
    b = 0.0 if method == "gd" else beta

    def block(n: int, gen: torch.Generator) -> torch.Tensor:
        x = x0t.expand(n, d).clone()
        m = torch.zeros_like(x)
        out = []
        for t in range(1, steps + 1):
            g = torch.zeros_like(x)
            for _ in range(q):
                z = law.sample(n, d, generator=gen, dtype=dtype, device=device)
                g += zo_gradient(f, x, z, mu=mu, difference=difference)
            g /= q
            m = b * m + s * g
            x = x - eta * (m if K is None else m @ K.T)
            if t in record:
                out.append((x * x).sum(-1))
        return torch.stack(out, dim=1)

    return rows_or_sums(block, num_chains, generator=generator, block_size=block_size, batches=batches)


def decay_rate(means: np.ndarray, steps) -> float:
    """Per-step rate (m_t2 / m_t1)^(1/(t2 - t1)) between the first and last recorded steps."""
    return float((means[-1] / means[0]) ** (1.0 / (steps[-1] - steps[0])))


# ------------------------------------------------------------------ MC one-step operator
def sample_operator_moments(
    law,
    H,
    *,
    num_samples: int,
    num_groups: int,
    generator: torch.Generator,
    mu: float = 1e-3,
    dtype: torch.dtype = torch.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group sums (G2: (g, d^2, d^2), J: (g, d, d), counts) of (z (x) z)(r (x) r)^T and z r^T.

    r_k is measured with real central differences of f along z_k at the basis
    points e_j (c_k(e_j) = r_kj), never from H z_k directly.
    """
    if num_groups < 2 or num_samples < 2 * num_groups:
        raise InvalidParameterError(
            f"the jackknife needs at least 2 groups of at least 2 directions: got {num_samples} samples "
            f"for {num_groups} groups (raise --samples to at least {2 * max(num_groups, 2)})"
        )
    device = generator.device
    Ht = torch.as_tensor(np.asarray(H, float), dtype=dtype, device=device)
    f = _quadratic(Ht)
    d = Ht.shape[0]
    eye = torch.eye(d, dtype=dtype, device=device)
    # balanced groups (sizes differ by at most one), each with its own generator; never an empty group
    sizes = [num_samples // num_groups + (1 if i < num_samples % num_groups else 0) for i in range(num_groups)]
    G2 = np.zeros((num_groups, d * d, d * d))
    J = np.zeros((num_groups, d, d))
    counts = np.zeros(num_groups)
    for gi, n in enumerate(sizes):
        gen = make_generator(draw_seed(generator), device=device)
        for m in _chunks(n):  # a group's directions in chunks: memory does not grow with num_samples
            z = law.sample(m, d, generator=gen, dtype=dtype, device=device)
            xs = eye[None, :, :]  # (1, d, d): basis points e_j as rows
            zp = z[:, None, :]
            r = (f(xs + mu * zp) - f(xs - mu * zp)) / (2 * mu)  # (m, d): c_k(e_j)
            zz = (z[:, :, None] * z[:, None, :]).reshape(m, -1)
            rr = (r[:, :, None] * r[:, None, :]).reshape(m, -1)
            G2[gi] += (zz.T @ rr).cpu().numpy()
            J[gi] += (z.T @ r).cpu().numpy()
        counts[gi] = n
    return G2, J, counts


#: directions per chunk of a jackknife group (the default groups fit in one, so their draws are unchanged)
GROUP_CHUNK = 1 << 14


def _chunks(n: int) -> list[int]:
    return [min(GROUP_CHUNK, n - start) for start in range(0, n, GROUP_CHUNK)]


def _symmetric_maps(d: int):
    """(embed, restrict): symmetric coordinates (a <= b) -> row-major vec, and back."""
    pairs = [(a, b) for a in range(d) for b in range(a, d)]
    embed = np.zeros((d * d, len(pairs)))
    restrict = np.zeros((len(pairs), d * d))
    for k, (a, b) in enumerate(pairs):
        embed[a * d + b, k] = embed[b * d + a, k] = 1.0
        restrict[k, a * d + b] = 1.0
    return embed, restrict


def _sample_operator(G2, J, n, eta, maps):
    """T_n on symmetric matrices: it is an average of congruences, so its Perron root lives there."""
    d = J.shape[0]
    Jm = J / n
    eye = np.eye(d)
    # vec (row-major) of J X + X J^T is (J (x) I + I (x) J) vec X
    lin = np.kron(Jm, eye) + np.kron(eye, Jm)
    full = np.eye(d * d) - eta * lin + eta**2 * G2 / n
    embed, restrict = maps
    return restrict @ full @ embed


def sample_eta_star(G2, J, n, *, guess: float, rtol: float = 1e-12) -> float:
    """Edge of the sample operator: first eta with spectral radius 1 (rtol: far below the MC error)."""
    from zoverify.numeric.stability_operator import _first_crossing

    maps = _symmetric_maps(J.shape[0])

    def f(eta):
        return float(np.max(np.abs(np.linalg.eigvals(_sample_operator(G2, J, n, eta, maps))))) - 1.0

    return _first_crossing(f, guess, grow=1.05, rtol=rtol)


def mc_eta_star(
    law,
    H,
    *,
    num_samples: int,
    generator: torch.Generator,
    num_groups: int = 64,
    mu: float = 1e-3,
    guess: float | None = None,
) -> tuple[float, np.ndarray]:
    """(eta*_n from all samples, jackknife pseudo-values per group) for ZO-GD with one query."""
    G2, J, counts = sample_operator_moments(
        law, H, num_samples=num_samples, num_groups=num_groups, generator=generator, mu=mu
    )
    lam = np.linalg.eigvalsh(np.asarray(H, float))
    guess = guess or float(2.0 / (lam.sum() + 2 * lam.max()))
    tot_G2, tot_J, n = G2.sum(0), J.sum(0), counts.sum()
    full = sample_eta_star(tot_G2, tot_J, n, guess=guess)
    g = len(counts)
    loo = np.array([sample_eta_star(tot_G2 - G2[i], tot_J - J[i], n - counts[i], guess=full) for i in range(g)])
    pseudo = g * full - (g - 1) * loo
    return full, pseudo


# ------------------------------------------------- MC one-step operator, every engine
def sample_estimator_moments(
    law,
    H,
    *,
    num_samples: int,
    num_groups: int,
    generator: torch.Generator,
    q: int = 1,
    mu: float = 1e-3,
    dtype: torch.dtype = torch.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group sums of c c^T with c = (1, vec b), b = (1/q) sum_j z_j r_j^T: ((g, d^2+1, d^2+1), counts).

    Each sample is one step's q-query estimator; r_j is measured with real central
    differences of f along z_j at the basis points (never from H z_j directly).
    """
    if num_groups < 2 or num_samples < 2 * num_groups:
        raise InvalidParameterError(
            f"the jackknife needs at least 2 groups of at least 2 steps: got {num_samples} samples "
            f"for {num_groups} groups (raise --samples to at least {2 * max(num_groups, 2)})"
        )
    if int(q) != q or q < 1:
        raise InvalidParameterError(f"queries must be a positive integer, got {q}")
    device = generator.device
    Ht = torch.as_tensor(np.asarray(H, float), dtype=dtype, device=device)
    f = _quadratic(Ht)
    d = Ht.shape[0]
    xs = torch.eye(d, dtype=dtype, device=device)[None, :, :]
    sizes = [num_samples // num_groups + (1 if i < num_samples % num_groups else 0) for i in range(num_groups)]
    out = np.zeros((num_groups, d * d + 1, d * d + 1))
    for gi, n in enumerate(sizes):
        gen = make_generator(draw_seed(generator), device=device)
        for m in _chunks(n):
            b = torch.zeros((m, d, d), dtype=dtype, device=device)
            for _ in range(int(q)):
                z = law.sample(m, d, generator=gen, dtype=dtype, device=device)
                zp = z[:, None, :]
                r = (f(xs + mu * zp) - f(xs - mu * zp)) / (2 * mu)  # (m, d): r_j = c(e_j)
                b += z[:, :, None] * r[:, None, :]
            b /= q
            c = torch.cat([torch.ones((m, 1), dtype=dtype, device=device), b.reshape(m, -1)], dim=1)
            out[gi] += (c.T @ c).cpu().numpy()
    return out, np.asarray(sizes, float)


def _affine_step(d: int, method: str, beta: float, K: np.ndarray):
    """(C0, C1), each (d^2 + 1, D, D): A = sum_u c_u (C0_u + eta C1_u), u = 0 the constant, u = (i, j) b_ij.

    GD: x+ = (I - eta b) x.  Momentum, m+ = beta m + s b x and x+ = x - eta K m+:
    A = [[I - eta s K b, -eta beta K], [s b, beta I]] (s = 1 - beta for frozen Adam).
    """
    E = np.zeros((d * d, d, d))
    E[np.arange(d * d), np.arange(d * d) // d, np.arange(d * d) % d] = 1.0
    if method == "gd":
        C0 = np.concatenate([np.eye(d)[None], np.zeros((d * d, d, d))])
        C1 = np.concatenate([np.zeros((1, d, d)), -np.einsum("ik,ukj->uij", K, E)])
        return C0, C1
    s = 1.0 - beta if method == "adam" else 1.0
    D = 2 * d
    C0 = np.zeros((d * d + 1, D, D))
    C1 = np.zeros((d * d + 1, D, D))
    C0[0, :d, :d] = np.eye(d)
    C0[0, d:, d:] = beta * np.eye(d)
    C0[1:, d:, :d] = s * E
    C1[0, :d, d:] = -beta * K
    C1[1:, :d, :d] = -s * np.einsum("ik,ukj->uij", K, E)
    return C0, C1


class SampleOperator:
    """T_n(eta) S = (1/n) sum_k A_k S A_k^T on symmetric states, from the moments of (1, vec b)."""

    def __init__(self, moments: np.ndarray, count: float, *, d: int, method: str, beta: float, K: np.ndarray):
        M = moments / count
        C0, C1 = _affine_step(d, method, beta, K)
        D = C0.shape[1]

        def pair(P, Q):  # E[(P(c)) (x) (Q(c))] as a (D^2, D^2) matrix, [(p,q),(r,s)] = E[P_pr Q_qs]
            return np.einsum("uv,upr,vqs->pqrs", M, P, Q, optimize=True).reshape(D * D, D * D)

        embed, restrict = _symmetric_maps(D)
        self._T = [restrict @ T @ embed for T in (pair(C0, C0), pair(C0, C1) + pair(C1, C0), pair(C1, C1))]

    def radius(self, eta: float) -> float:
        """Spectral radius of the estimated operator T(eta) = T0 + eta T1 + eta^2 T2."""
        T0, T1, T2 = self._T
        return float(np.max(np.abs(np.linalg.eigvals(T0 + eta * T1 + eta**2 * T2))))

    def eta_star(self, guess: float, *, grow: float = 1.05, rtol: float = 1e-12) -> float:
        """First eta with radius 1, bracketed from ``guess`` by steps of ``grow`` (rtol: far below the MC error)."""
        from zoverify.numeric.stability_operator import _first_crossing

        return _first_crossing(lambda eta: self.radius(eta) - 1.0, guess, grow=grow, rtol=rtol)


def mc_eta_star_method(
    law,
    H,
    *,
    num_samples: int,
    generator: torch.Generator,
    method: str = "gd",
    beta: float = 0.0,
    q: int = 1,
    P=None,
    num_groups: int = 32,
    mu: float = 1e-3,
    guess: float | None = None,
) -> tuple[float, np.ndarray]:
    """(eta*_n from all samples, jackknife pseudo-values per group) for any engine.

    ``num_samples`` counts steps (each a q-query estimate).  ``method`` is "gd",
    "gdm" or "adam" (frozen preconditioner P, default I; beta = beta1).
    """
    from zoverify.numeric.stability_operator import (
        _check_method,
        validate_hessian,
        validate_preconditioner,
    )

    method, beta, q = _check_method(method, beta, q)
    H = validate_hessian(H)
    d = H.shape[0]
    if P is not None and method != "adam":
        raise InvalidParameterError("a preconditioner is only used with method 'adam'")
    K = np.eye(d) if P is None else np.linalg.inv(validate_preconditioner(P, d))
    G, counts = sample_estimator_moments(
        law, H, num_samples=num_samples, num_groups=num_groups, generator=generator, q=q, mu=mu
    )
    lam = np.linalg.eigvalsh(H)
    start = guess or float(2.0 / (lam.sum() + 2 * lam.max()))
    return jackknife_edge(G, counts, d=d, method=method, beta=beta, K=K, guess=start)


def jackknife_edge(
    moments: np.ndarray, counts: np.ndarray, *, d: int, method: str, beta: float, K: np.ndarray, guess: float
) -> tuple[float, np.ndarray]:
    """(eta* of the sample operator from all groups, delete-a-group pseudo-values).

    ``moments[i]`` is group i's sum of c c^T, c = (1, vec b); ``guess`` must lie below the edge.
    """

    def edge(mom, n, start, grow):
        return SampleOperator(mom, n, d=d, method=method, beta=beta, K=K).eta_star(start, grow=grow)

    total, n = moments.sum(0), counts.sum()
    full = edge(total, n, guess, 1.25)
    g = len(counts)
    loo = np.array([edge(total - moments[i], n - counts[i], full, 1.02) for i in range(g)])
    return full, g * full - (g - 1) * loo


__all__ = [
    "SampleOperator",
    "chain_second_moments",
    "decay_rate",
    "jackknife_edge",
    "mc_eta_star",
    "mc_eta_star_method",
    "sample_estimator_moments",
    "sample_operator_moments",
    "zo_gradient",
]
