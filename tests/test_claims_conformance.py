"""Every registered claim, at its defaults, for each of its default laws:

* holds (false-failure probability ALPHA per (claim, law), Bonferroni over k
  components inside the claim), and
* every negative control is rejected on the same data (the verdict is ``pass``,
  not ``inconclusive``); with the default controls (each component alone moved
  by +-negative_delta) the worst component's minimum detectable relative error
  is below negative_delta, so the rejection is not luck.

The number of (claim, law) pairs times ALPHA is this file's false-failure budget
(see tests/README.md).
"""

from __future__ import annotations

import pytest

from zoverify.claims import REGISTRY, check

PAIRS = [(c.name, law) for c in REGISTRY.values() if not c.slow for law in c.laws]
#: claims that take minutes (`zoverify check --slow`): the slow tier
SLOW_PAIRS = [(c.name, law) for c in REGISTRY.values() if c.slow for law in c.laws]


@pytest.mark.parametrize("name, law", PAIRS, ids=[f"{n}[{law}]" for n, law in PAIRS])
def test_claim_holds_and_negative_control_is_rejected(name, law):
    _holds_with_controls_rejected(name, law)


@pytest.mark.slow
@pytest.mark.parametrize("name, law", SLOW_PAIRS, ids=[f"{n}[{law}]" for n, law in SLOW_PAIRS])
def test_slow_claim_holds_and_negative_control_is_rejected(name, law):
    _holds_with_controls_rejected(name, law)


def _holds_with_controls_rejected(name, law):
    claim = REGISTRY[name]
    result = check(claim, law=law, seed=0)
    assert result.verdict == "pass", f"{name} [{law}]: {result.message} (seed 0, n={result.num_samples})"
    assert result.negative_control_rejected and result.num_controls > 0
    if claim.negative_alternatives is None:
        assert result.min_detectable_rel is not None and result.min_detectable_rel < claim.negative_delta


def test_claim_metadata_is_complete():
    for claim in REGISTRY.values():
        assert claim.statement and claim.source and claim.status
        assert claim.laws, claim.name
        assert "." in claim.name
