"""NZK claim on a real network (P1-9): the shared NZK of a linearized MLP, observed
through forward-mode jvp's, against Phi M Phi^T with Phi its Jacobian features."""

from __future__ import annotations

from zoverify._rng import make_generator
from zoverify.claims.nzk.common import (
    entries,
    needs_moments,
    nzk_claim,
    pair_labels,
    stacked_samples,
)
from zoverify.numeric.data import load_digits_binary
from zoverify.numeric.linearize import (
    directional_derivatives,
    flatten_parameters,
    jacobian_features,
    make_mlp,
)
from zoverify.symbolic import nzk as sym

LN_PAIRS = [(0, 0), (1, 1), (0, 1), (1, 2)]


def _ln_instance(ctx):
    rng = ctx.instance_rng()
    X, _ = load_digits_binary((3, 5), per_class=100, dtype=ctx.dtype, device=ctx.device)
    pick = rng.choice(X.shape[0], 3, replace=False)
    # initialised on the CPU in float64 and then moved: the instance does not change with device or dtype
    model, _ = make_mlp((64, 10, 5, 1), generator=make_generator(int(rng.integers(0, 2**62))))
    model = model.to(device=ctx.device, dtype=ctx.dtype)
    return model, flatten_parameters(model), X[pick]


def _ln_applies(law):
    if law.fixed_dim is not None:
        return f"{law.spec} has a fixed dimension {law.fixed_dim}; the network has 711 parameters"
    if law.name == "coordinate":
        # one coordinate of 711 per draw: relative variance ~d, MDE ~0.4 at the default sample size
        return "coordinate: at d = 711 its Monte Carlo variance is too large to judge at the default sample size"
    return needs_moments(8, law)


def _ln_predict(ctx):
    model, theta0, X = _ln_instance(ctx)
    Phi = jacobian_features(model, theta0, X).detach().cpu().numpy()
    M = sym.nzk_middle_matrix(ctx.law, pairing="shared", d=Phi.shape[1])
    return entries(sym.expected_kernel(Phi, M), LN_PAIRS)


def _ln_simulate(ctx):
    model, theta0, X = _ln_instance(ctx)
    dim = theta0.numel()

    def columns(n, gen):
        z = ctx.law.sample(n, dim, generator=gen, dtype=ctx.dtype, device=ctx.device)
        u = directional_derivatives(model, theta0, X, z)  # phi(x)^T z by forward-mode jvp
        norm2 = (z * z).sum(dim=1)
        return [u[:, i] * norm2 * u[:, j] for i, j in LN_PAIRS]

    # 2^12 directions of 711 coordinates a block: the forward-mode jvp's tensors stay near 25 MB each
    return stacked_samples(ctx, columns, block_size=1 << 12)


nzk_claim(
    "nzk.linearized_net",
    predict=_ln_predict,
    simulate=_ln_simulate,
    laws=("gaussian",),
    num_samples=1 << 17,
    # 2^17 draws of 711-dim directions (~4 s): worst component ~0.026 Gaussian, ~0.052 for block(blocks=4)
    # (each draw moves one block of the parameters), so the per-component controls sit at 7.5 %
    negative_delta=0.075,
    applies_to=_ln_applies,
    labels=pair_labels("EK_lin", LN_PAIRS),
)
