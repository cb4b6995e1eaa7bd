"""Monte Carlo of the three seeds' mean gradient (or mean step / lr) on a quadratic, through zoverify's guards.

f(x) = 1/2 x^T A x + b^T x with d = 6; each replicate is a fresh instance (seed r) called once at x0.
For every subject: the mean of g (g = (x0 - x1) / lr for steps, -change / lr for torch updates)
projected on grad f, ratio = <mean g, grad f> / |grad f|^2 with its standard error, the cosine of
mean g with grad f, and the relative residual |mean g - ratio grad f| / |ratio grad f|.

Usage: set ZOVERIFY_NZK_CHECKOUT, ZOVERIFY_ENTK_CHECKOUT, ZOVERIFY_EOS_CHECKOUT, then
``python examples/audit/seeds/measure.py [replicates]`` (default 4000). A seed whose variable is
unset is skipped.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import integrate, stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

import entk_zo_estimate  # noqa: E402
import eos_zo_gd  # noqa: E402
import nzk_baseline  # noqa: E402

from zoverify.subjects import EstimatorSubject, OptimizerSubject, TorchUpdateSubject  # noqa: E402

D, LR = 6, 1e-3
_Q = np.linalg.qr(np.random.default_rng(0).standard_normal((D, D)))[0]
A = _Q @ np.diag([0.5, 1.0, 1.5, 2.0, 3.0, 4.0]) @ _Q.T
B = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 2.0])
X0 = np.array([0.3, -0.1, 0.2, 0.5, -0.4, 0.1])
GRAD = A @ X0 + B


def f(x):
    return float(0.5 * x @ A @ x + B @ x)


class _Point(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.tensor(X0))


def _loss(model):
    t = model.theta
    return 0.5 * t @ torch.from_numpy(A) @ t + torch.from_numpy(B) @ t


def estimates(kind, subject, reps):
    out = np.empty((reps, D))
    for r in range(reps):
        if kind == "estimator":
            out[r] = EstimatorSubject(subject).instance(D, r)(f, X0)
        elif kind == "optimizer":
            out[r] = (X0 - OptimizerSubject(subject).instance(X0, LR, r).step(f)) / LR
        else:
            rec = TorchUpdateSubject(subject).apply(_Point(), _loss, LR, r, record=False)
            out[r] = -rec.change[0].numpy() / LR
    return out


def summary(g):
    proj = g @ GRAD / (GRAD @ GRAD)
    ratio, se = proj.mean(), proj.std(ddof=1) / np.sqrt(len(proj))
    mean = g.mean(axis=0)
    cos = mean @ GRAD / np.linalg.norm(mean) / np.linalg.norm(GRAD)
    resid = np.linalg.norm(mean - ratio * GRAD) / np.linalg.norm(ratio * GRAD)
    return f"ratio {ratio:.4f} +- {se:.4f}   cos {cos:.4f}   residual {resid:.3f}"


def expected_max_sq(k=100):
    """E[M^2] for M the maximum of k standard normals."""
    dens = lambda x: x * x * k * stats.norm.pdf(x) * stats.norm.cdf(x) ** (k - 1)  # noqa: E731
    return integrate.quad(dens, -12, 12)[0]


def main(reps):
    ones = np.ones(D)
    em2 = expected_max_sq()
    subjects = [
        ("ZOVERIFY_NZK_CHECKOUT", "nzk_baseline.factory (optimizer)", "optimizer", nzk_baseline.factory),
        ("ZOVERIFY_ENTK_CHECKOUT", "entk_zo_estimate.factory (estimator)", "estimator", entk_zo_estimate.factory),
        ("ZOVERIFY_ENTK_CHECKOUT", "entk_zo_estimate.update (torch)", "torch", entk_zo_estimate.update),
        ("ZOVERIFY_EOS_CHECKOUT", "eos_zo_gd.factory (optimizer)", "optimizer", eos_zo_gd.factory),
        ("ZOVERIFY_EOS_CHECKOUT", "eos_zo_gd.estimator (estimator)", "estimator", eos_zo_gd.estimator),
        ("ZOVERIFY_EOS_CHECKOUT", "eos_zo_gd.update (torch)", "torch", eos_zo_gd.update),
    ]
    print(f"d = {D}, replicates = {reps}, |grad f| = {np.linalg.norm(GRAD):.4f}; theory (Gaussian central): ratio 1")
    for env, name, kind, subject in subjects:
        if not os.environ.get(env):
            print(f"{name}: skipped ({env} unset)")
            continue
        g = estimates(kind, subject, reps)
        print(f"{name}: {summary(g)}")
        if subject is nzk_baseline.factory:
            pred = em2 / D * (ones @ GRAD) * ones
            off = np.linalg.norm(g.mean(axis=0) - (g.mean(axis=0) @ ones / D) * ones)
            print(
                f"  broadcast prediction E g = (E[M^2]/d)(1^T grad) 1, E[M^2] = {em2:.4f}: ratio "
                f"{pred @ GRAD / (GRAD @ GRAD):.4f}; |mean g - pred| / |pred| = "
                f"{np.linalg.norm(g.mean(axis=0) - pred) / np.linalg.norm(pred):.4f}; part of mean g off the 1 line {off:.2e}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
