"""Two laws written the way a user writes one, as file text: a two-point iid law and a Gaussian scale mixture.

``two_point_source(...)`` and ``scale_mixture_source(...)`` return the text of a
``laws.py`` whose declared moments can be put off by a factor (a near miss); the
sampler is never changed.  Tests write the text to a file and load it with the
``path/laws.py:Class`` law spec, exactly as ``zoverify check --law`` does.
"""

from __future__ import annotations

from pathlib import Path

TWO_POINT = '''\
import sympy as sp
import torch

from zoverify.perturbations import AbstractIIDLaw


class TwoPoint(AbstractIIDLaw):
    """z_i iid: 3 with probability 2/5, -1 with probability 3/5."""

    name = "twopoint"

    def parameters(self):
        return {{}}

    def scalar_mean(self):
        return {mean_factor} * sp.Rational(3, 5)

    def centred_moments(self):
        lo, hi = sp.Rational(-8, 5), sp.Rational(12, 5)  # z - 3/5
        central = lambda k: sp.Rational(3, 5) * lo**k + sp.Rational(2, 5) * hi**k
        return {{"var": {var_factor} * central(2), "m3": {m3_factor} * central(3), "m4": {m4_factor} * central(4)}}

    def sample(self, num_samples, dim, *, generator, dtype=torch.float64, device=None):
        u = torch.rand((num_samples, dim), generator=generator, dtype=dtype, device=generator.device)
        hi = torch.full_like(u, 3.0)
        return torch.where(u < 0.4, hi, -torch.ones_like(u))
'''

SCALE_MIXTURE = '''\
import sympy as sp
import torch
from sympy import Identity, Trace, ZeroMatrix

from zoverify.perturbations import AbstractLaw


class ScaleMixture(AbstractLaw):
    """z = s g, g ~ N(0, I), s^2 = 1/2 or 3/2 with probability 1/2: E s^2 = 1, E s^4 = 5/4."""

    name = "scale_mixture"
    rotation_invariant = True

    def parameters(self):
        return {{}}

    def mean(self, d):
        return ZeroMatrix(d, 1)

    def second_moment(self, d):
        return {second_factor} * Identity(d)

    def third_moment(self, v, d):
        return ZeroMatrix(d, d)

    def fourth_moment(self, A, d):
        return {fourth_factor} * sp.Rational(5, 4) * (Trace(A) * Identity(d) + 2 * A)

    def sample(self, num_samples, dim, *, generator, dtype=torch.float64, device=None):
        u = torch.rand((num_samples, 1), generator=generator, dtype=dtype, device=generator.device)
        s = torch.sqrt(torch.where(u < 0.5, torch.full_like(u, 0.5), torch.full_like(u, 1.5)))
        return s * torch.randn((num_samples, dim), generator=generator, dtype=dtype, device=generator.device)
'''

#: (law, declared moment) -> the factors that put that one moment off
TWO_POINT_MOMENTS = ("mean", "var", "m3", "m4")
SCALE_MIXTURE_MOMENTS = ("second", "fourth")


def _factor(x: float) -> str:
    return f"sp.nsimplify({x!r})"


def two_point_source(**off: float) -> str:
    """laws.py text of the two-point law; ``off={'m4': 1.02}`` declares m4 2 % too large."""
    unknown = set(off) - set(TWO_POINT_MOMENTS)
    if unknown:
        raise ValueError(f"unknown moments {sorted(unknown)}; accepted: {', '.join(TWO_POINT_MOMENTS)}")
    return TWO_POINT.format(**{f"{k}_factor": _factor(off.get(k, 1)) for k in TWO_POINT_MOMENTS})


def scale_mixture_source(**off: float) -> str:
    """laws.py text of the scale mixture; ``off={'fourth': 0.98}`` declares E s^4 2 % too small."""
    unknown = set(off) - set(SCALE_MIXTURE_MOMENTS)
    if unknown:
        raise ValueError(f"unknown moments {sorted(unknown)}; accepted: {', '.join(SCALE_MIXTURE_MOMENTS)}")
    return SCALE_MIXTURE.format(**{f"{k}_factor": _factor(off.get(k, 1)) for k in SCALE_MIXTURE_MOMENTS})


def write_law(directory: Path, name: str, source: str) -> str:
    """Write ``source`` to ``directory/name.py`` and return the law spec ``path:Class``."""
    path = Path(directory) / f"{name}.py"
    path.write_text(source)
    cls = "TwoPoint" if "class TwoPoint" in source else "ScaleMixture"
    return f"{path}:{cls}"
