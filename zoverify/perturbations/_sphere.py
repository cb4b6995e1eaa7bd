"""Uniform on the sphere of radius sqrt(d), and the coordinate law sqrt(d) e_I."""

from __future__ import annotations

import math

import sympy as sp
from sympy import DiagMatrix, Identity, OneMatrix, Trace, ZeroMatrix

from zoverify.moment_maps import symbols as S
from zoverify.perturbations._base import AbstractLaw, float_dtype
from zoverify.perturbations._iid import diagonal_part
from zoverify.perturbations._params import LawParam, OneOf


class AbstractIsotropicLaw(AbstractLaw):
    """Zero-mean, rotation-invariant, E[z z^T] = I: E[z z^T A z z^T] = c(d) (tr(A) I + 2A).

    Rotation invariance forces that form; subclasses give c(d) = E||z||^4 / (d (d + 2)), and
    may give c6(d) = E||z||^6 / (d (d + 2) (d + 4)) for the sixth moments
    (:mod:`zoverify.perturbations._higher`).
    """

    rotation_invariant = True

    def fourth_moment_factor(self, d: sp.Expr) -> sp.Expr:
        raise NotImplementedError

    def sixth_moment_factor(self, d: sp.Expr) -> sp.Expr:
        """c6(d): E[z_i z_j z_k z_l z_a z_b] = c6 x (the sum of the 15 pairings of the indices)."""
        raise NotImplementedError

    def mean(self, d: S.Dim = S.d):
        self.check_dim(d)
        return ZeroMatrix(d, 1)

    def second_moment(self, d: S.Dim = S.d):
        self.check_dim(d)
        return Identity(d)

    def third_moment(self, v, d: S.Dim = S.d):
        self.check_dim(d)
        return ZeroMatrix(d, d)

    def fourth_moment(self, A, d: S.Dim = S.d):
        self.check_dim(d)
        d = sp.sympify(d)  # keep the coefficient exact when d is a Python int
        return self.fourth_moment_factor(d) * (Trace(A) * Identity(d) + 2 * A)


class Sphere(AbstractIsotropicLaw):
    """z uniform on the sphere of radius sqrt(d): E[z z^T] = I, ||z||^2 = d exactly.

    E||z||^4 = d^2, so c(d) = d / (d + 2); E||z||^6 = d^3, so c6(d) = d^2 / ((d + 2)(d + 4)).
    """

    name = "sphere"

    def parameters(self):
        return {}

    def fourth_moment_factor(self, d):
        return d / (d + 2)

    def sixth_moment_factor(self, d):
        return d**2 / ((d + 2) * (d + 4))

    def sample(self, num_samples, dim, *, generator, dtype=None, device=None):
        import torch

        self.check_dim(dim)
        dtype = float_dtype(dtype)
        g = torch.randn((int(num_samples), int(dim)), generator=generator, dtype=dtype, device=generator.device)
        norm = torch.linalg.vector_norm(g, dim=1, keepdim=True)
        out = g.mul_(math.sqrt(dim)).div_(norm)  # in place: two fewer copies of the draws at the peak
        return out.to(self._device(generator, device))


class Coordinate(AbstractLaw):
    """z = sqrt(d) e_I with I uniform on {1..d} (no random sign).

    E[z] = d^(-1/2) 1 is not zero; E[z z^T] = I; E[(v^T z) z z^T] = sqrt(d) diag(v);
    E[z z^T A z z^T] = d Diag(A).  With ``signed=True``, z = +-sqrt(d) e_I and the
    odd moments vanish.
    """

    name = "coordinate"
    law_params = {"signed": LawParam(domain=OneOf((False, True)), typical=(False, True), test_values=(False,))}

    def __init__(self, signed: bool = False):
        self.signed = bool(signed)

    def parameters(self):
        return {"signed": True} if self.signed else {}

    def mean(self, d: S.Dim = S.d):
        self.check_dim(d)
        return ZeroMatrix(d, 1) if self.signed else (1 / sp.sqrt(d)) * OneMatrix(d, 1)

    def second_moment(self, d: S.Dim = S.d):
        self.check_dim(d)
        return Identity(d)

    def third_moment(self, v, d: S.Dim = S.d):
        self.check_dim(d)
        return ZeroMatrix(d, d) if self.signed else sp.sqrt(d) * DiagMatrix(v)

    def fourth_moment(self, A, d: S.Dim = S.d):
        self.check_dim(d)
        return d * diagonal_part(A)

    def enumerate_outcomes(self, dim):
        import torch

        eye = math.sqrt(dim) * torch.eye(dim, dtype=torch.float64)
        outcomes = torch.cat([eye, -eye]) if self.signed else eye
        return outcomes, torch.full((outcomes.shape[0],), 1.0 / outcomes.shape[0], dtype=torch.float64)

    def sample(self, num_samples, dim, *, generator, dtype=None, device=None):
        import torch

        self.check_dim(dim)
        dtype = float_dtype(dtype)
        n, dim = int(num_samples), int(dim)
        idx = torch.randint(0, dim, (n,), generator=generator, device=generator.device)
        out = torch.zeros((n, dim), dtype=dtype, device=generator.device)
        value = torch.full((n,), math.sqrt(dim), dtype=dtype, device=generator.device)
        if self.signed:
            signs = torch.randint(0, 2, (n,), generator=generator, device=generator.device)
            value = value * (2 * signs - 1).to(dtype)
        out[torch.arange(n, device=generator.device), idx] = value
        return out.to(self._device(generator, device))
