"""Zero-mean iid families: Rademacher, uniform, Laplace, Student-t.

Their coordinate moments are written in closed form here; the tests re-derive
each of them with sympy.stats (an independent route) and check each sampler
against them by Monte Carlo.
"""

from __future__ import annotations

import math

import sympy as sp

from zoverify.perturbations._iid import (
    AbstractIIDLaw,
    _float_param,
    plain,
    positive_number,
)
from zoverify.perturbations._params import LawParam, Real, Span


class Rademacher(AbstractIIDLaw):
    """z_i = +-1 with probability 1/2 each."""

    name = "rademacher"

    def parameters(self):
        return {}

    def centred_moments(self):
        return {
            "var": sp.Integer(1),
            "m3": sp.Integer(0),
            "m4": sp.Integer(1),
            "m5": sp.Integer(0),
            "m6": sp.Integer(1),
        }

    def enumerate_outcomes(self, dim):
        import torch

        grid = torch.cartesian_prod(*[torch.tensor([-1.0, 1.0], dtype=torch.float64)] * dim)
        grid = grid.reshape(-1, dim)
        return grid, torch.full((grid.shape[0],), 0.5**dim, dtype=torch.float64)

    def _sample_centred(self, shape, generator, dtype):
        import torch

        bits = torch.randint(0, 2, shape, generator=generator, device=generator.device)
        return (2 * bits - 1).to(dtype)


class Uniform(AbstractIIDLaw):
    """z_i iid uniform on [-sqrt(3), sqrt(3)] (unit variance): E z^(2k) = 3^k / (2k + 1)."""

    name = "uniform"

    def parameters(self):
        return {}

    def centred_moments(self):
        return {
            "var": sp.Integer(1),
            "m3": sp.Integer(0),
            "m4": sp.Rational(9, 5),
            "m5": sp.Integer(0),
            "m6": sp.Rational(27, 7),
        }

    def _sample_centred(self, shape, generator, dtype):
        import torch

        u = torch.rand(shape, generator=generator, dtype=dtype, device=generator.device)
        return math.sqrt(3.0) * (2 * u - 1)


class Laplace(AbstractIIDLaw):
    """z_i iid Laplace(0, b): density exp(-|x|/b) / (2b); E z^(2k) = (2k)! b^(2k): var 2b^2, m4 24b^4, m6 720b^6."""

    name = "laplace"
    law_params = {"b": LawParam(domain=Real(0), typical=Span(0.2, 3.0), test_values=(0.6,))}

    def __init__(self, b=1):
        self.b = positive_number("b", b, law="laplace")

    def parameters(self):
        return {"b": plain(self.b)} if self.b != 1 else {}

    def centred_moments(self):
        b = self.b
        return {"var": 2 * b**2, "m3": sp.Integer(0), "m4": 24 * b**4, "m5": sp.Integer(0), "m6": 720 * b**6}

    def _sample_centred(self, shape, generator, dtype):
        import torch

        # The difference of two iid Exp(1) variables is Laplace(0, 1).
        e = torch.empty((2, *shape), dtype=dtype, device=generator.device)
        e.exponential_(generator=generator)
        return torch.sub(e[0], e[1]).mul_(_float_param(self.b, "b", self))  # in place: one copy fewer at the peak


class StudentT(AbstractIIDLaw):
    """z_i iid Student-t with ``nu`` degrees of freedom (unscaled).

    var = nu/(nu-2) needs nu > 2; m4 = 3 nu^2 / ((nu-2)(nu-4)) needs nu > 4;
    m5 = 0 needs nu > 5; m6 = 15 nu^3 / ((nu-2)(nu-4)(nu-6)) needs nu > 6
    (E T^(2k) = nu^k Gamma(k + 1/2) Gamma(nu/2 - k) / (sqrt(pi) Gamma(nu/2))).
    """

    name = "student_t"
    # drawn nu >= 9: the Monte Carlo checks of fourth-order maps need finite eighth moments
    law_params = {"nu": LawParam(domain=Real(0), typical=Span(9.0, 60.0), test_values=(10,))}

    def __init__(self, nu=10):
        self.nu = positive_number("nu", nu, law="student_t")
        self.moment_order_bound = float(self.nu) if self.nu.is_number else float("inf")

    def parameters(self):
        return {"nu": plain(self.nu)}

    def centred_moments(self):
        nu = self.nu
        mom = {
            "var": nu / (nu - 2),
            "m3": sp.Integer(0),
            "m4": 3 * nu**2 / ((nu - 2) * (nu - 4)),
            "m5": sp.Integer(0),
            "m6": 15 * nu**3 / ((nu - 2) * (nu - 4) * (nu - 6)),
        }
        if nu.is_number and nu <= 6:
            mom["m6"] = sp.oo
        if nu.is_number and nu <= 5:
            mom["m5"] = sp.oo
        if nu.is_number and nu <= 4:
            # Return what exists; maps that need m4 call require_moment(4) first.
            mom["m4"] = sp.oo
        if nu.is_number and nu <= 2:
            mom["var"] = sp.oo
        return mom

    def _sample_centred(self, shape, generator, dtype):
        import torch

        from zoverify.perturbations._sampling import standard_gamma

        nu = _float_param(self.nu, "nu", self)
        normal = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)
        chi2 = 2.0 * standard_gamma(nu / 2.0, shape, generator=generator, dtype=dtype)
        return normal / torch.sqrt(chi2 / nu)
