"""Exact expectations of low-degree polynomials by tensor-product Gauss quadrature.

An independent route to a law's moments: a K-node Gauss rule integrates
polynomials of degree <= 2K - 1 exactly in each coordinate, so 3 nodes per
coordinate give the degree-4 functionals exactly (up to float rounding).
"""

from __future__ import annotations

import itertools

import numpy as np


def gaussian_rule(mean, std, dim, nodes=3):
    """Points and weights for N(mean, std^2 I) (mean scalar or vector)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)  # weight exp(-x^2/2)
    w = w / w.sum()
    pts, wts = _tensor(x, w, dim)
    return np.asarray(mean, float) + std * pts, wts


def uniform_rule(low, high, dim, nodes=3):
    x, w = np.polynomial.legendre.leggauss(nodes)
    x = low + (high - low) * (x + 1) / 2
    return _tensor(x, w / w.sum(), dim)


def _tensor(x, w, dim):
    pts = np.array(list(itertools.product(x, repeat=dim)))
    wts = np.prod(np.array(list(itertools.product(w, repeat=dim))), axis=1)
    return pts, wts


def functionals(points, weights, a, b, v, A):
    """E[a.z], E[(a.z)(b.z)], E[(v.z)(a.z)(b.z)], E[(z'Az)(a.z)(b.z)] under a discrete law."""
    za, zb, zv = points @ a, points @ b, points @ v
    quad = np.einsum("ni,ij,nj->n", points, A, points)
    return np.array([weights @ za, weights @ (za * zb), weights @ (zv * za * zb), weights @ (quad * za * zb)])
