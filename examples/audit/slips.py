"""Planted slips of a Gaussian central-difference estimator (mu = 1e-2), one per class the audit names.

Each is ``factory(dim, seed) -> estimate(f, x)``:  zoverify audit examples/audit/slips.py:scale_two --law gaussian
"""

import numpy as np
import torch

MU = 1e-2


def _factory(*, scale=1.0, forward=False, unit_sphere=False, pool=None, momentum_free=False):
    def factory(dim, seed):
        rng = np.random.default_rng(seed)
        directions = rng.standard_normal((pool, dim)) if pool else None
        calls = [0]

        def estimate(f, x):
            if directions is not None:
                z = directions[calls[0] % pool]  # a pool drawn once per instance and cycled
                calls[0] += 1
            else:
                z = rng.standard_normal(dim)
            if unit_sphere:
                z = z / np.linalg.norm(z)  # a sphere law without its sqrt(d)
            if forward:
                c = (f(x + MU * z) - f(x)) / MU
            else:
                c = (f(x + MU * z) - f(x - MU * z)) / (2 * MU)
            return scale * c * z

        return estimate

    return factory


correct = _factory()
scale_two = _factory(scale=2.0)  # divides by mu instead of 2 mu
scale_107 = _factory(scale=1.07)
sign_flip = _factory(scale=-1.0)
forward_difference = _factory(forward=True)
sphere_without_d = _factory(unit_sphere=True)
reused_pool = _factory(pool=100)


def rademacher_directions(dim, seed):
    """A correct central estimator along Rademacher directions: the slip is declaring it Gaussian."""
    rng = np.random.default_rng(seed)

    def estimate(f, x):
        z = rng.choice([-1.0, 1.0], size=dim)
        return (f(x + MU * z) - f(x - MU * z)) / (2 * MU) * z

    return estimate


def rank_one(dim, seed):
    """Every estimate along one fixed direction (what a broadcast that collapses z does)."""
    rng = np.random.default_rng(seed)
    u = np.ones(dim) / np.sqrt(dim)

    def estimate(f, x):
        s = rng.standard_normal()
        return (f(x + MU * s * u) - f(x - MU * s * u)) / (2 * MU) * s * u * np.sqrt(dim)

    return estimate


def ema_momentum(x0, lr, seed):
    """ZO heavy ball written with (1 - beta) on the gradient, where heavy ball has none (beta = 0.9)."""
    rng = np.random.default_rng(seed)
    x, m = np.array(x0, dtype=float), np.zeros(len(x0))

    def step(f):
        nonlocal x, m
        z = rng.standard_normal(x.size)
        g = (f(x + MU * z) - f(x - MU * z)) / (2 * MU) * z
        m = 0.9 * m + 0.1 * g
        x = x - lr * m
        return x.copy()

    return step


def broadcast_step(x0, lr, seed):
    """ZO-GD whose step collapses onto the all-ones direction (what theta (d, 1) + z (1, d) broadcasting does)."""
    rng = np.random.default_rng(seed)
    x = np.array(x0, dtype=float)

    def step(f):
        nonlocal x
        z = rng.standard_normal(x.size)
        c = (f(x + MU * z) - f(x - MU * z)) / (2 * MU)
        x = x - lr * c * z.mean() * np.ones(x.size)
        return x.copy()

    return step


def adam_without_bias_correction(x0, lr, seed):
    """ZO-Adam (beta1 0.9, beta2 0.999, eps 1e-8) that steps with m / (sqrt(v) + eps), never dividing m and v
    by 1 - beta^t: the first steps are sqrt(1 - beta2) / (1 - beta1) ~ 0.32 of Adam's."""
    rng = np.random.default_rng(seed)
    x, m, v = np.array(x0, dtype=float), np.zeros(len(x0)), np.zeros(len(x0))

    def step(f):
        nonlocal x, m, v
        z = rng.standard_normal(x.size)
        g = (f(x + MU * z) - f(x - MU * z)) / (2 * MU) * z
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - lr * m / (np.sqrt(v) + 1e-8)
        return x.copy()

    return step


def ignores_seed(dim, seed):
    """Every instance seeded with 0: replicates that should be independent are one stream."""
    return correct(dim, 0)


def row_wise_update(model, loss_fn, lr, seed):
    """A MeZO-style update whose update regenerates directions row by row for tensors of 50,000 entries or more,
    while the perturbation drew each tensor at once (the generator is consumed differently)."""
    import torch

    mu = 1e-3
    params = list(model.parameters())

    def directions():
        gen = torch.Generator().manual_seed(seed)
        return [torch.randn(p.shape, generator=gen, dtype=torch.float32) for p in params]

    def shift(factor):
        with torch.no_grad():
            for p, z in zip(params, directions(), strict=True):
                p.add_((factor * z).to(p.dtype))

    shift(mu)
    plus = float(loss_fn(model))
    shift(-2 * mu)
    minus = float(loss_fn(model))
    shift(mu)
    coeff = (plus - minus) / (2 * mu)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in params:
            if p.numel() >= 50_000:
                z = torch.stack([torch.randn(p.shape[1:], generator=gen) for _ in range(p.shape[0])])
            else:
                z = torch.randn(p.shape, generator=gen)
            p.sub_((lr * coeff * z).to(p.dtype))


def in_place(dim, seed):
    """Correct, but perturbs one buffer in place (as MeZO does): the audit must still see what it queried."""
    rng = np.random.default_rng(seed)
    buffer = np.empty(dim)

    def estimate(f, x):
        z = rng.standard_normal(dim)
        buffer[:] = x
        np.add(buffer, MU * z, out=buffer)
        plus = f(buffer)
        np.subtract(buffer, 2 * MU * z, out=buffer)
        minus = f(buffer)
        return (plus - minus) / (2 * MU) * z

    return estimate


def skips_large_tensors(model, loss_fn, lr, seed):
    """A correct MeZO-style step that leaves tensors of 50,000 entries or more where they were (as a size filter
    meant for logging but applied to the update would)."""
    from zoverify.perturbations import parse_law
    from zoverify.subjects import reference_torch_update

    large = [p for p in model.parameters() if p.numel() >= 50_000]
    saved = [p.detach().clone() for p in large]
    reference_torch_update(parse_law("gaussian"), mu=1e-3)(model, loss_fn, lr, seed)
    with torch.no_grad():
        for p, s in zip(large, saved, strict=True):
            p.copy_(s)


def scale_two_update(model, loss_fn, lr, seed):
    """A MeZO-style step that divides the central difference by mu where it needs 2 mu (twice the step)."""
    mu = 1e-3
    params = list(model.parameters())
    gen = torch.Generator().manual_seed(seed)
    z = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
    saved = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, s, zp in zip(params, saved, z, strict=True):
            p.copy_(s + mu * zp)
        plus = float(loss_fn(model))
        for p, s, zp in zip(params, saved, z, strict=True):
            p.copy_(s - mu * zp)
        minus = float(loss_fn(model))
        coeff = (plus - minus) / mu
        for p, s, zp in zip(params, saved, z, strict=True):
            p.copy_(s - lr * coeff * zp)


def lr_ten_percent_update(model, loss_fn, lr, seed):
    """A correct MeZO-style step taken at 1.1 lr (a schedule's warm-up factor left on)."""
    from zoverify.perturbations import parse_law
    from zoverify.subjects import reference_torch_update

    reference_torch_update(parse_law("gaussian"), mu=1e-3)(model, loss_fn, 1.1 * lr, seed)
