"""Jacobian features of a small ReLU MLP via torch.func (linearized networks).

f_lin(x; theta) = f(x; theta_0) + phi(x)^T (theta - theta_0), phi(x) = d f(x; theta_0) / d theta.
The NZK results for linear models hold with x replaced by phi(x) and d by the
parameter count (docs/nzk.md#linearized-networks); the FFN 64 -> 10 -> 5 -> 1 has 711 parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.func import functional_call, jacrev, jvp, vmap

from zoverify._errors import InvalidParameterError
from zoverify.numeric._compat import quiet_forward_ad


def make_mlp(
    widths: Sequence[int] = (64, 10, 5, 1),
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.nn.Module, torch.Tensor]:
    """A ReLU MLP and its flat initial parameters theta_0.

    Weights and biases are uniform on +-1/sqrt(fan_in) (PyTorch's default scale),
    drawn from ``generator`` rather than the global RNG.
    """
    if len(widths) < 2 or any(int(w) < 1 for w in widths):
        raise InvalidParameterError(f"widths must be >= 2 positive integers, got {tuple(widths)}")
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b, dtype=dtype, device=generator.device))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, torch.nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                for p in (layer.weight, layer.bias):
                    u = torch.rand(p.shape, generator=generator, dtype=dtype, device=generator.device)
                    p.copy_((2 * u - 1) * bound)
    return model, flatten_parameters(model)


def flatten_parameters(model: torch.nn.Module) -> torch.Tensor:
    """All parameters of ``model`` as one detached flat vector."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _unflatten(model: torch.nn.Module, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    out, i = {}, 0
    for name, p in model.named_parameters():
        out[name] = theta[i : i + p.numel()].reshape(p.shape)
        i += p.numel()
    return out


def network_output(model: torch.nn.Module, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """f(X; theta) as an (N,) vector for a scalar-output network."""
    return functional_call(model, _unflatten(model, theta), (X,)).reshape(-1)


def jacobian_features(model: torch.nn.Module, theta0: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Phi with rows phi(x_i) = d f(x_i; theta_0) / d theta, shape (N, number of parameters)."""
    return jacrev(lambda th: network_output(model, th, X))(theta0)


def directional_derivatives(
    model: torch.nn.Module, theta0: torch.Tensor, X: torch.Tensor, directions: torch.Tensor
) -> torch.Tensor:
    """Phi z for each row z of ``directions`` by forward-mode jvp (a route independent of jacrev)."""

    def one(z):
        return jvp(lambda th: network_output(model, th, X), (theta0,), (z,))[1]

    with quiet_forward_ad():
        return vmap(one)(directions)


__all__ = ["directional_derivatives", "flatten_parameters", "jacobian_features", "make_mlp", "network_output"]
