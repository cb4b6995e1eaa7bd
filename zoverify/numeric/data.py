"""Small real datasets that ship with scikit-learn (nothing is downloaded)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import torch

from zoverify._errors import InvalidParameterError

if TYPE_CHECKING:
    from sklearn.utils import Bunch


def _digits() -> Bunch:
    """scikit-learn's bundled digits as a Bunch (its stub also admits the ``return_X_y`` pair)."""
    from sklearn.datasets import load_digits

    return cast("Bunch", load_digits())


def load_digits_binary(
    classes: tuple[int, int] = (3, 5),
    *,
    per_class: int | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    rng: np.random.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits, two classes, labels 0/1, pixels scaled to [0, 1].

    Returns ``(X, y)`` with ``X`` of shape ``(n, 64)``.  With ``per_class`` the
    first ``per_class`` images of each class are kept (or a random subset when
    ``rng`` is given), as in the NZK paper's 100-per-class setup.
    """
    a, b = classes
    if a == b or not all(0 <= c <= 9 for c in classes):
        raise InvalidParameterError(f"classes must be two distinct digits 0-9, got {classes}")
    data = _digits()
    keep = []
    for c in (a, b):
        idx = np.flatnonzero(data.target == c)
        if per_class is not None:
            if per_class > idx.size:
                raise InvalidParameterError(f"digit {c} has only {idx.size} images, asked for {per_class}")
            idx = rng.choice(idx, per_class, replace=False) if rng is not None else idx[:per_class]
        keep.append(idx)
    idx = np.concatenate(keep)
    X = torch.as_tensor(data.data[idx] / 16.0, dtype=dtype, device=device)
    y = torch.as_tensor((data.target[idx] == b).astype(float), dtype=dtype, device=device)
    return X, y


def load_digits_images(
    *, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1797 digits as ``(n, 1, 8, 8)`` images in [0, 1] and integer labels."""
    data = _digits()
    X = torch.as_tensor(data.images / 16.0, dtype=dtype, device=device).unsqueeze(1)
    return X, torch.as_tensor(data.target, dtype=torch.long, device=device)


def load_digits_standardized(
    classes: tuple[int, ...] = (0, 1, 2, 3, 4),
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of the given digit classes, pixels standardized (constant pixels dropped).

    Returns ``(X, y)``: ``X`` of shape ``(n, p)`` with zero-mean, unit-variance columns (p = 61
    for digits 0-4) and ``y`` the class index (0 .. len(classes) - 1, in the order given).
    Standardizing removes the mean-pixel direction that otherwise dominates a linear model's Hessian.
    """
    if len(set(classes)) != len(classes) or len(classes) < 2 or not all(0 <= c <= 9 for c in classes):
        raise InvalidParameterError(f"classes must be two or more distinct digits 0-9, got {classes}")
    data = _digits()
    keep = np.isin(data.target, classes)
    X = data.data[keep].astype(float)
    X = X[:, X.std(axis=0) > 0]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    label = {c: i for i, c in enumerate(classes)}
    y = np.array([label[int(t)] for t in data.target[keep]])
    return torch.as_tensor(X, dtype=dtype, device=device), torch.as_tensor(y, dtype=torch.long, device=device)
