"""Subjects that break the contract, each in one way (the audit refuses them with one line, exit 2)."""

import time

import numpy as np
import torch


def no_arguments():
    """A factory with the wrong signature."""
    return None


def wrong_shape(dim, seed):
    return lambda f, x: np.zeros(dim + 1)


def wrong_dtype(dim, seed):
    return lambda f, x: np.zeros(dim, dtype=np.float32)


def not_finite(dim, seed):
    return lambda f, x: np.full(dim, np.nan)


def raises(dim, seed):
    def estimate(f, x):
        raise ValueError("boom")

    return estimate


def gradient(dim, seed):
    def estimate(f, x):
        t = torch.tensor(x, requires_grad=True)
        return np.asarray(f(t), dtype=float) * np.ones(dim)

    return estimate


def slow(dim, seed):
    def estimate(f, x):
        time.sleep(0.05)
        return np.zeros(dim)

    return estimate


def one_inf(dim, seed):
    def estimate(f, x):
        g = np.zeros(dim)
        g[-1] = np.inf
        return g

    return estimate


def returns_number(dim, seed):
    """A factory that returns an estimate instead of the estimator."""
    return 0.0


NOT_CALLABLE = 3.0


def backward_update(model, loss_fn, lr, seed):
    """A torch update that differentiates the loss."""
    loss_fn(model).backward()
