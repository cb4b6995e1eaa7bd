"""BinomialRates: rate bounds judged by exact binomial tails, the reversed side for the controls."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from zoverify._errors import InvalidParameterError
from zoverify.verify.decision import LOWER_BOUND, UPPER_BOUND, BinomialRates


def _events(successes: int, n: int = 24) -> np.ndarray:
    return (np.arange(n) < successes).astype(float)[:, None]


@pytest.mark.parametrize("k", range(14, 25))
def test_lower_bound_rejected_exactly_where_the_tail_is_small(k):
    alpha = 1e-2
    decision = BinomialRates(sides=(LOWER_BOUND,)).summarize(_events(k)).decide([0.9], alpha=alpha)
    assert decision.passed == (stats.binom.cdf(k, 24, 0.9) > alpha)


def test_near_miss_of_the_tail_boundary():
    """The largest count the bound rejects and the next one up, at alpha = 1e-4."""
    alpha = 1e-4
    k = max(j for j in range(25) if stats.binom.cdf(j, 24, 0.9) <= alpha)
    rule = BinomialRates(sides=(LOWER_BOUND,))
    assert not rule.summarize(_events(k)).decide([0.9], alpha=alpha).passed
    assert rule.summarize(_events(k + 1)).decide([0.9], alpha=alpha).passed


def test_opposite_side_is_the_coin_control():
    summary = BinomialRates(sides=(LOWER_BOUND, LOWER_BOUND)).summarize(np.hstack([_events(22), _events(21)]))
    coin = summary.opposite()
    assert (coin.sides == UPPER_BOUND).all()
    # 22 of 24 rejects rate <= 0.5 at 1e-4 / 2; 21 of 24 does not (P = 1.4e-4)
    assert not coin.decide([0.5, 1.0], alpha=1e-4).passed
    assert coin.decide([1.0, 0.5], alpha=1e-4).passed


def test_bonferroni_over_components():
    k = 19  # P(Bin(24, 0.9) <= 19) = 0.085
    one = BinomialRates(sides=(LOWER_BOUND,)).summarize(_events(k)).decide([0.9], alpha=0.1)
    two = BinomialRates(sides=(LOWER_BOUND, LOWER_BOUND)).summarize(np.hstack([_events(k), _events(24)]))
    assert not one.passed
    assert two.decide([0.9, 0.9], alpha=0.1).passed


def test_bad_events_refused():
    with pytest.raises(InvalidParameterError, match="0/1"):
        BinomialRates().summarize(np.array([[0.5], [1.0]]))
    with pytest.raises(InvalidParameterError, match="sides"):
        BinomialRates(sides=(0,)).summarize(_events(3))


def test_default_side_is_a_lower_bound():
    summary = BinomialRates().summarize(_events(10))
    assert (summary.sides == LOWER_BOUND).all()
    assert not summary.decide([0.9], alpha=1e-4).passed  # 10 of 24 is far below a rate of 0.9
