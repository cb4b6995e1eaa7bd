"""Helpers for researchers' own test suites: assert a claim, and hypothesis strategies.

    from zoverify.testing import assert_claim
    assert_claim("moments.sampler", law="my_laws.py:HeavyTail")

    from zoverify.testing import laws, dims, spectra
    @given(law=laws(), d=dims(), spectrum=spectra())
    def test_mine(law, d, spectrum): ...

hypothesis is imported lazily, so importing this module does not require it
unless a strategy is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from zoverify.claims import ALPHA, REGISTRY, ClaimResult, check


def assert_claim(
    name: str,
    *,
    law: Any = None,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    num_samples: int | None = None,
    device: str = "cpu",
    alpha: float = ALPHA,
    allow_inconclusive: bool = False,
) -> ClaimResult:
    """Check one registered claim and raise ``AssertionError`` (with the seed) if it fails.

    An ``inconclusive`` result (the prediction held, but some negative control was
    not rejected, so the data could not tell the claim from a near miss) raises
    too unless ``allow_inconclusive``: a check without power proves nothing.
    """
    if name not in REGISTRY:
        raise KeyError(f"unknown claim {name!r}; see `zoverify list`")
    result = check(REGISTRY[name], law=law, params=params, seed=seed, num_samples=num_samples,
                   device=device, alpha=alpha)
    where = f"alpha={alpha:g}, seed={seed}, n={result.num_samples}, device={device}"
    if result.verdict == "fail":
        raise AssertionError(
            f"claim {name} fails for law {result.law}: {result.message} (p={result.p_value:.3g}, {where})"
        )
    if result.verdict == "inconclusive" and not allow_inconclusive:
        raise AssertionError(
            f"claim {name} is inconclusive for law {result.law}: {result.message} ({where}); "
            "raise num_samples, or pass allow_inconclusive=True"
        )
    return result


def law_specs():
    """Strategy: law spec strings over every built-in family with drawn parameters."""
    from hypothesis import strategies as st

    pos = st.floats(0.2, 3.0, allow_nan=False).map(lambda x: round(x, 3))
    return st.one_of(
        st.sampled_from(["gaussian", "rademacher", "sphere", "coordinate", "uniform"]),
        st.builds(lambda m, s: f"gaussian(mean={m}, std={s})", st.floats(-1, 1).map(lambda x: round(x, 3)), pos),
        st.builds(lambda b: f"laplace(b={b})", pos),
        st.builds(lambda nu: f"student_t(nu={nu})", st.integers(9, 60)),
    )


def laws():
    """Strategy: law objects (built from :func:`law_specs`)."""
    from zoverify.perturbations import parse_law

    return law_specs().map(parse_law)


def dims(min_dim: int = 1, max_dim: int = 64):
    """Strategy: dimensions d."""
    from hypothesis import strategies as st

    return st.integers(min_dim, max_dim)


def spectra(min_size: int = 1, max_size: int = 32, *, low: float = 1e-3, high: float = 1.0):
    """Strategy: Hessian spectra (positive, sorted decreasing) in [low, high]."""
    from hypothesis import strategies as st

    return st.lists(st.floats(low, high, allow_nan=False), min_size=min_size, max_size=max_size).map(
        lambda xs: np.sort(np.asarray(xs))[::-1]
    )


__all__ = ["assert_claim", "dims", "law_specs", "laws", "spectra"]
