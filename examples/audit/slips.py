"""Planted slips of a Gaussian central-difference estimator (mu = 1e-2), one per class the audit names.

Each is ``factory(dim, seed) -> estimate(f, x)``:  zoverify audit examples/audit/slips.py:scale_two --law gaussian
"""

import numpy as np

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
