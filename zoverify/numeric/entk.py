"""Empirical NTK of torch models, first order and zeroth order, memory-bounded.

First order, K(x, x')_{ij} = <d f_i(x)/d theta, d f_j(x')/d theta>, three ways:

* ``"jacobian"``: per-example Jacobians by ``torch.func.jacrev`` under ``vmap``,
  contracted chunk by chunk (memory N V d);
* ``"ntk_vp"``: NTK-vector products, K v = J1 (J2^T v), by one ``vjp`` through
  the second batch and one ``jvp`` through the first, for the N2 V unit
  cotangents in chunks (memory N V + d per product, never a Jacobian);
* ``"direct"``: an autograd loop over the outputs (the reference for tests).

``"auto"`` takes the Jacobian route when both Jacobians fit in
``memory_budget`` bytes and the product route otherwise.

Zeroth order, K_hat = (1/P) sum_p (J1 u_p)(J2 u_p)^T with P directions from a
law: directions are drawn in chunks, each chunk from its own generator seeded
from the caller's (so a chunk can be regenerated from its seed and the d x P
matrix never exists), and J u comes from forward-mode ``jvp`` or from real
central finite differences (f(theta + mu u) - f(theta - mu u)) / (2 mu).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from zoverify._errors import InvalidParameterError
from zoverify.numeric._batching import block_generators
from zoverify.numeric._compat import quiet_forward_ad

DEFAULT_MEMORY_BUDGET = 1 << 30  # bytes for the Jacobian route under "auto"


@functools.cache
def _warm_forward_mode() -> None:
    """Run one tiny jvp with torch's ``torch.jit.script`` deprecation silenced.

    torch compiles its forward-mode decompositions with ``torch.jit.script``
    on first use, which warns (DeprecationWarning in 2.13, FutureWarning from 2.14;
    an error under the test suite's filterwarnings); doing it once here keeps that
    out of user code.
    """
    with quiet_forward_ad():
        one = torch.ones(1, dtype=torch.float64)
        jvp(torch.tanh, (one,), (one,))


def parameters_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's trainable parameters, detached (the point theta of the kernel)."""
    return {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}


def num_parameters(params: dict[str, torch.Tensor]) -> int:
    """d, the total parameter count."""
    return sum(p.numel() for p in params.values())


def _unflatten(flat: torch.Tensor, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Split the last axis of ``flat`` (..., d) into tensors shaped like ``params``."""
    out, start = {}, 0
    lead = flat.shape[:-1]
    for k, p in params.items():
        out[k] = flat[..., start : start + p.numel()].reshape(*lead, *p.shape)
        start += p.numel()
    return out


def _output_fn(model: torch.nn.Module) -> Callable:
    def f(params, x):
        return functional_call(model, params, (x,))

    return f


def jacobian(model: torch.nn.Module, x: torch.Tensor, *, params=None, chunk_size: int = 64) -> torch.Tensor:
    """Per-example Jacobians d f(x_n) / d theta as an ``(N, V, d)`` tensor."""
    params = parameters_of(model) if params is None else params
    f = _output_fn(model)

    def one(xi):
        jac = jacrev(lambda p: f(p, xi.unsqueeze(0)).squeeze(0))(params)
        return torch.cat([jac[k].reshape(jac[k].shape[0], -1) for k in params], dim=1)

    return torch.cat([vmap(one)(x[i : i + chunk_size]) for i in range(0, x.shape[0], chunk_size)])


def direct_jacobian(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Reference Jacobian by plain autograd, one output at a time, ``(N, V, d)``."""
    names = [k for k, v in model.named_parameters() if v.requires_grad]
    plist = [dict(model.named_parameters())[k] for k in names]
    rows = []
    for n in range(x.shape[0]):
        out = model(x[n : n + 1]).reshape(-1)
        per_out = []
        for i in range(out.numel()):
            grads = torch.autograd.grad(out[i], plist, retain_graph=True, allow_unused=True)
            per_out.append(
                torch.cat(
                    [
                        (g if g is not None else torch.zeros_like(p)).reshape(-1)
                        for g, p in zip(grads, plist, strict=True)
                    ]
                )
            )
        rows.append(torch.stack(per_out))
    return torch.stack(rows).detach()


def empirical_ntk(
    model: torch.nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor,
    *,
    method: str = "auto",
    params=None,
    chunk_size: int = 64,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> torch.Tensor:
    """The first-order eNTK as an ``(N1, N2, V, V)`` tensor."""
    params = parameters_of(model) if params is None else params
    if method == "auto":
        d = num_parameters(params)
        v = _output_fn(model)(params, x1[:1]).shape[-1]
        itemsize = next(iter(params.values())).element_size()
        method = "jacobian" if (x1.shape[0] + x2.shape[0]) * v * d * itemsize <= memory_budget else "ntk_vp"
    if method == "jacobian":
        j1 = jacobian(model, x1, params=params, chunk_size=chunk_size)
        j2 = jacobian(model, x2, params=params, chunk_size=chunk_size)
        return torch.einsum("avd,bwd->abvw", j1, j2)
    if method == "direct":
        j1, j2 = direct_jacobian(model, x1), direct_jacobian(model, x2)
        return torch.einsum("avd,bwd->abvw", j1, j2)
    if method == "ntk_vp":
        return _ntk_by_products(model, params, x1, x2, chunk_size=chunk_size)
    raise InvalidParameterError(f"unknown eNTK method {method!r}; accepted: auto, jacobian, ntk_vp, direct")


def _ntk_by_products(model, params, x1, x2, *, chunk_size: int) -> torch.Tensor:
    _warm_forward_mode()
    f = _output_fn(model)
    out2, pullback = vjp(lambda p: f(p, x2), params)  # pyright: ignore[reportAssignmentType]  # a pair without has_aux
    n2, v = out2.shape
    eye = torch.eye(n2 * v, dtype=out2.dtype, device=out2.device).reshape(n2 * v, n2, v)

    def column(cot):
        (tangent,) = pullback(cot)  # J2^T cot, shaped like params
        return jvp(lambda p: f(p, x1), (params,), (tangent,))[1]  # J1 J2^T cot: (N1, V)

    cols = torch.cat([vmap(column)(eye[i : i + chunk_size]) for i in range(0, n2 * v, chunk_size)])
    # cols[(b, w), a, v'] = K(x1_a, x2_b)_{v' w}
    return cols.reshape(n2, v, x1.shape[0], -1).permute(2, 0, 3, 1)


def _directional_outputs(model, params, x, directions, *, method: str, mu: float) -> torch.Tensor:
    """J(x) u for each direction row: ``(c, N, V)``."""
    f = _output_fn(model)
    tangents = _unflatten(directions, params)
    if method == "jvp":
        _warm_forward_mode()
        return vmap(lambda t: jvp(lambda p: f(p, x), (params,), (t,))[1])(tangents)
    if method == "finite_difference":

        def shifted(t, sign):
            return f({k: params[k] + sign * mu * t[k] for k in params}, x)

        plus = vmap(lambda t: shifted(t, 1.0))(tangents)
        minus = vmap(lambda t: shifted(t, -1.0))(tangents)
        return (plus - minus) / (2 * mu)
    raise InvalidParameterError(f"unknown directional-derivative method {method!r}; accepted: jvp, finite_difference")


def _zo_estimates(
    outputs: Callable,
    *,
    law,
    dim: int,
    num_directions: int,
    num_replicates: int,
    generator: torch.Generator,
    chunk_size: int,
    dtype,
    device,
) -> torch.Tensor:
    """R independent estimates (1/P) sum_p o1(u_p) o2(u_p)^T as ``(R, N1, N2, V, V)``: the one estimator.

    ``outputs(u)`` maps ``(m, d)`` directions to the pair ``(J1 u, J2 u)`` shaped ``(m, N1, V)``, ``(m, N2, V)``.
    Directions come in chunks of ``chunk_size`` per replicate, each chunk from its own generator seeded from
    ``generator`` (so memory is O(R chunk_size d) whatever P is); with R = 1 a chunk is ``law.sample(c, d)``.
    """
    if num_directions < 1:
        raise InvalidParameterError(f"num_directions must be positive, got {num_directions}")
    if num_replicates < 1:
        raise InvalidParameterError(f"num_replicates must be positive, got {num_replicates}")
    total = None
    for count, gen in block_generators(num_directions, generator=generator, block_size=chunk_size):
        u = law.sample(num_replicates * count, dim, generator=gen, dtype=dtype, device=device)
        o1, o2 = outputs(u)
        o1, o2 = o1.reshape(num_replicates, count, *o1.shape[1:]), o2.reshape(num_replicates, count, *o2.shape[1:])
        part = torch.einsum("rcav,rcbw->rabvw", o1, o2)
        total = part if total is None else total + part
    assert total is not None  # num_directions >= 1: at least one chunk
    return total / num_directions


def zo_entk_samples(
    model: torch.nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor,
    *,
    law,
    num_directions: int,
    num_replicates: int,
    generator: torch.Generator,
    method: str = "jvp",
    mu: float = 1e-3,
    chunk_size: int = 32,
    params=None,
) -> torch.Tensor:
    """``num_replicates`` independent ZO eNTKs of a model, each from P directions: ``(R, N1, N2, V, V)``.

    J u comes from forward-mode ``jvp`` (``method="jvp"``) or from real central differences at radius ``mu``.
    """
    params = parameters_of(model) if params is None else params
    ref = next(iter(params.values()))

    def outputs(u):
        return (
            _directional_outputs(model, params, x1, u, method=method, mu=mu),
            _directional_outputs(model, params, x2, u, method=method, mu=mu),
        )

    return _zo_estimates(
        outputs,
        law=law,
        dim=num_parameters(params),
        num_directions=num_directions,
        num_replicates=num_replicates,
        generator=generator,
        chunk_size=chunk_size,
        dtype=ref.dtype,
        device=ref.device,
    )


def zo_entk(
    model: torch.nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor,
    *,
    law,
    num_directions: int,
    generator: torch.Generator,
    method: str = "jvp",
    mu: float = 1e-3,
    chunk_size: int = 32,
    params=None,
) -> torch.Tensor:
    """The ZO eNTK (1/P) sum_p (J1 u_p)(J2 u_p)^T as ``(N1, N2, V, V)``.

    Directions come in chunks of ``chunk_size``, each from its own generator
    (seeded from ``generator``), so memory is O(chunk_size d) whatever P is, and
    the result depends on (generator state, chunk_size), not on P's layout.
    """
    return zo_entk_samples(
        model,
        x1,
        x2,
        law=law,
        num_directions=num_directions,
        num_replicates=1,
        generator=generator,
        method=method,
        mu=mu,
        chunk_size=chunk_size,
        params=params,
    )[0]


def zo_directions(
    law,
    num_directions: int,
    dim: int,
    *,
    generator: torch.Generator,
    chunk_size: int = 32,
    dtype=torch.float64,
    device=None,
) -> torch.Tensor:
    """The (P, d) directions that :func:`zo_entk` uses, materialised (for tests and small d)."""
    parts = [
        law.sample(c, dim, generator=g, dtype=dtype, device=device)
        for c, g in block_generators(num_directions, generator=generator, block_size=chunk_size)
    ]
    return torch.cat(parts)


def zo_entk_jacobian_samples(
    j1: torch.Tensor,
    j2: torch.Tensor,
    *,
    law,
    num_directions: int,
    num_replicates: int,
    generator: torch.Generator,
    chunk_size: int = 32,
) -> torch.Tensor:
    """``num_replicates`` independent ZO eNTKs from stored ``(N, V, d)`` Jacobians: ``(R, N1, N2, V, V)``."""

    def outputs(u):
        return torch.einsum("avd,pd->pav", j1, u), torch.einsum("bwd,pd->pbw", j2, u)

    return _zo_estimates(
        outputs,
        law=law,
        dim=j1.shape[-1],
        num_directions=num_directions,
        num_replicates=num_replicates,
        generator=generator,
        chunk_size=chunk_size,
        dtype=j1.dtype,
        device=j1.device,
    )


def zo_entk_jacobian_chunks(
    j1: torch.Tensor,
    j2: torch.Tensor,
    *,
    law,
    num_directions: int,
    generator: torch.Generator,
    chunk_size: int = 32,
) -> torch.Tensor:
    """ZO eNTK from stored ``(N, V, d)`` Jacobians, directions drawn chunk by chunk.

    Same directions (same generator, same chunk_size) as :func:`zo_entk`, so the
    two agree to rounding; this route is cheaper when the Jacobians are at hand.
    """
    return zo_entk_jacobian_samples(
        j1, j2, law=law, num_directions=num_directions, num_replicates=1, generator=generator, chunk_size=chunk_size
    )[0]


def zo_entk_from_jacobians(j1: torch.Tensor, j2: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Dense reference (1/P) (J1 U^T)(J2 U^T)^T for ``(N, V, d)`` Jacobians, ``(N1, N2, V, V)``."""
    p1 = torch.einsum("avd,pd->pav", j1, directions)
    p2 = torch.einsum("bwd,pd->pbw", j2, directions)
    return torch.einsum("pav,pbw->abvw", p1, p2) / directions.shape[0]


__all__ = [
    "direct_jacobian",
    "empirical_ntk",
    "jacobian",
    "num_parameters",
    "parameters_of",
    "zo_directions",
    "zo_entk",
    "zo_entk_from_jacobians",
    "zo_entk_jacobian_chunks",
    "zo_entk_jacobian_samples",
    "zo_entk_samples",
]
