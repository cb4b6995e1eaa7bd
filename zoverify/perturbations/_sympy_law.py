"""An iid law built from any sympy.stats univariate distribution.

Moments: sympy integrates x^k against the density (exactly, for every k needed).
Sampling: inverse-CDF.  Uniforms come from the torch generator; each is mapped
through the quantile function, found by Newton steps on sympy's closed-form CDF
and density (lambdified to numpy), safeguarded by a bracket that bisection
shrinks whenever a step leaves it, to within a few ulps.  This is exact up to float rounding
for any continuous law with a closed-form CDF, reproducible from the generator,
and needs no sampler from scipy (whose generic fallbacks fail on several sympy
laws, e.g. Logistic).  When sympy's CDF has no closed form or numpy cannot
evaluate it (Student-t's uses a hypergeometric function), the quantile comes from
a polynomial interpolation of the inverse CDF built from the density alone
(scipy's PINV, u-error below 1e-12), still driven by the generator's uniforms.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import sympy as sp
import sympy.stats as st
from sympy.stats.crv import SingleContinuousPSpace
from sympy.stats.rv import RandomSymbol

from zoverify._errors import InvalidParameterError, MomentDoesNotExistError
from zoverify.perturbations._base import float_dtype
from zoverify.perturbations._iid import AbstractIIDLaw
from zoverify.perturbations._params import LawParam, LawSpec

_X = sp.Symbol("x", real=True)


def _is_distribution(text: str) -> bool:
    """``text`` names a sympy.stats distribution called with literal arguments (not built here)."""
    import ast

    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and callable(getattr(st, node.func.id, None))


class SympyIIDLaw(AbstractIIDLaw):
    """z_i iid with the law of a sympy.stats random symbol ``rv``.

    Example: ``SympyIIDLaw(sympy.stats.Logistic("x", 0, 1))``.
    """

    name = "iid"
    # spelled iid(Dist(args)) in specs, not iid(dist=...): see from_params
    law_params = {
        "dist": LawParam(
            domain=LawSpec("a sympy.stats distribution call such as 'Logistic(0, 1)'", _is_distribution),
            typical=("Exponential(1)", "Logistic(0, 1)"),
            test_values=("Exponential(1)",),
        )
    }

    @classmethod
    def from_params(cls, dist: str) -> SympyIIDLaw:
        """The law ``iid(dist)`` (the catalogue builds every family from its parameters)."""
        from zoverify.perturbations._registry import parse_law

        # an iid(...) spec is parsed by the registry's sympy branch alone: a SympyIIDLaw, or an error naming the spec
        return cast("SympyIIDLaw", parse_law(f"iid({dist})"))

    def __init__(self, rv: object, *, label: str | None = None):
        if not isinstance(rv, RandomSymbol) or not isinstance(rv.pspace, SingleContinuousPSpace):
            raise InvalidParameterError(
                "iid: expected a continuous sympy.stats univariate random symbol, "
                f"e.g. sympy.stats.Logistic('x', 0, 1); got {rv!r}"
            )
        self.rv: RandomSymbol = rv
        self.label = label or str(rv.pspace.distribution)
        # density() is typed as a union of its return kinds; a continuous symbol's is a callable pdf
        self._density = st.density(rv)(_X)  # pyright: ignore[reportCallIssue, reportOptionalCall]
        self._moments: dict[int, sp.Expr] = {}
        self._cdf_fn = None
        self._pdf_fn = None
        self._pinv = None
        self.moment_order_bound = self._order_bound()

    def parameters(self):
        return {"dist": self.label}

    @property
    def spec(self) -> str:
        return f"iid({self.label})"

    def raw_moment(self, k: int) -> sp.Expr:
        """E[x^k] by direct integration of the density (cached)."""
        if k not in self._moments:
            try:  # sympy.stats' own route (moment generating function or integral)
                value = st.E(self.rv**k)
            except NotImplementedError:  # e.g. Student-t has no MGF: integrate directly
                support = self.rv.pspace.domain.set
                value = sp.integrate(_X**k * self._density, (_X, support.inf, support.sup))
            value = sp.simplify(value)  # pyright: ignore[reportCallIssue, reportArgumentType]  # E() is untyped
            if value.has(sp.Integral) or value.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
                raise MomentDoesNotExistError(f"law {self.spec}: moment of order {k} does not exist or is not finite")
            self._moments[k] = value
        return self._moments[k]

    def _order_bound(self) -> float:
        # up to 8: the Monte Carlo tests of fourth-order functionals need finite 8th moments
        for k in range(1, 9):
            try:
                self.raw_moment(k)
            except MomentDoesNotExistError:
                return float(k)
        return float("inf")

    def scalar_mean(self):
        return self.raw_moment(1)

    def centred_moments(self):
        m1, m2, m3, m4 = (self.raw_moment(k) for k in (1, 2, 3, 4))
        out = {
            "var": sp.simplify(m2 - m1**2),
            "m3": sp.simplify(m3 - 3 * m1 * m2 + 2 * m1**3),
            "m4": sp.simplify(m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4),
        }
        for k in (5, 6):  # E[(x - m1)^k] by the binomial expansion; infinite where the raw moment is
            if not k < self.moment_order_bound:
                out[f"m{k}"] = sp.oo
                continue
            raw = [sp.Integer(1), *(self.raw_moment(j) for j in range(1, k + 1))]
            out[f"m{k}"] = sp.simplify(sp.Add(*(sp.binomial(k, j) * raw[j] * (-m1) ** (k - j) for j in range(k + 1))))
        return out

    # -- sampling -------------------------------------------------------------
    def _cdf(self):
        if self._cdf_fn is None:
            cdf = st.cdf(self.rv)(_X)  # pyright: ignore[reportCallIssue]  # a continuous symbol's cdf is callable
            if cdf.has(sp.Integral):
                raise InvalidParameterError(
                    f"law {self.spec}: sympy gives no closed-form CDF, so it cannot be sampled "
                    "by inversion; supply a law class with its own sample()"
                )
            self._cdf_fn = sp.lambdify(_X, cdf, modules=["scipy", "numpy"])
        return self._cdf_fn

    def sample(self, num_samples, dim, *, generator, dtype=None, device=None):
        import torch

        self.check_dim(dim)
        dtype = float_dtype(dtype)
        u = torch.rand((int(num_samples), int(dim)), generator=generator, dtype=torch.float64, device=generator.device)
        x = self._quantile(u.cpu().numpy())
        return torch.as_tensor(x, dtype=dtype).to(self._device(generator, device))

    def _quantile(self, u: np.ndarray) -> np.ndarray:
        try:
            cdf = _checked(self._cdf(), self.spec)
            cdf(np.array([self._centre()]))
        except InvalidParameterError as exc:
            return self._density_inverse(str(exc)).ppf(u)
        support = self.rv.pspace.domain.set
        lo = np.full(u.shape, float(support.inf) if support.inf.is_finite else -1.0)
        hi = np.full(u.shape, float(support.sup) if support.sup.is_finite else 1.0)
        with np.errstate(all="ignore"):
            for _ in range(2000):  # widen infinite brackets until they contain u
                low_bad = np.asarray(cdf(lo)) > u
                high_bad = np.asarray(cdf(hi)) < u
                if not (low_bad.any() or high_bad.any()):
                    break
                lo = np.where(low_bad, 2 * lo - np.abs(hi - lo) - 1, lo)
                hi = np.where(high_bad, 2 * hi + np.abs(hi - lo) + 1, hi)
            return self._safeguarded_newton(cdf, u, lo, hi)

    def _safeguarded_newton(self, cdf, u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Solve F(x) = u inside the bracket [lo, hi]: Newton steps with the density, bisection as fallback.

        Every iteration shrinks the bracket with the sign of F(x) - u; a Newton
        step that leaves the bracket, or meets f(x) = 0, is replaced by the
        midpoint, so the bracket always holds the root and each entry converges
        (quadratically once near it) until the step or the bracket is at rounding
        level or the residual F(x) - u is within the rounding of F itself (where f
        is small, in a tail, that is what limits any CDF inversion).
        """
        pdf = self._pdf()
        eps = 4 * np.finfo(float).eps
        x = 0.5 * (lo + hi)
        for _ in range(400):
            F = np.asarray(cdf(x), dtype=float)
            below = F < u
            lo = np.where(below, x, lo)
            hi = np.where(below, hi, x)
            f = np.asarray(pdf(x), dtype=float) * np.ones_like(x)
            newton = x - (F - u) / np.where(f > 0, f, np.inf)
            ok = (f > 0) & (newton >= lo) & (newton <= hi)
            x_next = np.where(ok, newton, 0.5 * (lo + hi))
            tol = eps * np.maximum(1.0, np.abs(x))
            # converged: the step or the bracket is at rounding level, or the residual F(x) - u is
            # within the rounding of a lambdified F (cancelling terms: a few dozen ulps of 1)
            done = (np.abs(x_next - x) <= tol) | (hi - lo <= tol) | (np.abs(F - u) <= 16 * eps)
            x = x_next
            if np.all(done):
                break
        return x

    def _pdf(self):
        if self._pdf_fn is None:
            self._pdf_fn = sp.lambdify(_X, self._density, modules=["scipy", "numpy"])
        return self._pdf_fn

    def _centre(self) -> float:
        support = self.rv.pspace.domain.set
        if support.inf.is_finite and support.sup.is_finite:
            return float((support.inf + support.sup) / 2)
        return (
            float(support.inf + 1)
            if support.inf.is_finite
            else float(support.sup - 1)
            if support.sup.is_finite
            else 0.0
        )

    def _density_inverse(self, why: str):
        """scipy's PINV from the lambdified density (cached); ``why``: the CDF route's failure."""
        if self._pinv is None:
            from scipy.stats.sampling import NumericalInversePolynomial

            support = self.rv.pspace.domain.set
            pdf = sp.lambdify(_X, self._density, modules=["scipy", "numpy"])

            class _Density:
                def pdf(self, x):
                    return float(pdf(x))

                def support(self):
                    return float(support.inf), float(support.sup)

            try:
                # scipy's stub asks for cdf and logpdf too, which PINV documents as optional
                self._pinv = NumericalInversePolynomial(
                    _Density(),  # pyright: ignore[reportArgumentType]
                    center=self._centre(),
                    u_resolution=1e-12,
                )
            except Exception as exc:  # UNU.RAN reports any failure of its setup
                raise InvalidParameterError(
                    f"{why}; inverting the density numerically failed too ({exc}); supply a law class with its own "
                    "sample()"
                ) from None
        return self._pinv


def _checked(cdf, spec: str):
    """Wrap a lambdified CDF so a function numpy/scipy cannot evaluate is a clear error."""

    def call(x):
        try:
            return cdf(x)
        except (NameError, TypeError, AttributeError) as exc:
            raise InvalidParameterError(
                f"law {spec}: sympy's CDF cannot be evaluated numerically ({exc}); "
                "supply a law class with its own sample()"
            ) from None

    return call
