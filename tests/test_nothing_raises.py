"""Every (claim, catalogue law, seed, small parameter values) gives a verdict, never an exception.

Hypothesis draws a claim of the default tier, a law from the catalogue's strategy (structured laws
and drawn parameters included), a seed and, for each numeric claim parameter, a value between its
minimum and its default (a choice parameter: any of its choices).  The check runs at the claim's
own sample size (one stage, so the time is bounded) and must return pass, fail, inconclusive or n/a.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoverify.claims import REGISTRY, check
from zoverify.testing import law_specs
from zoverify.verify.verdict import Verdict

CLAIMS = sorted(name for name, entry in REGISTRY.items() if not entry.slow)
#: parameters that state a contract on the audited subject, not the claim's mathematics: a per-call time
#: budget below the subject's real cost makes it a bad subject (one line, exit 2, by design)
CONTRACT_PARAMS = {"budget"}
VERDICTS = {Verdict.PASS.value, Verdict.FAIL.value, Verdict.INCONCLUSIVE.value, Verdict.NOT_APPLICABLE.value}


@st.composite
def claim_settings(draw):
    """(claim name, its parameter values): numeric ones between their minimum and default."""
    name = draw(st.sampled_from(CLAIMS))
    claim = REGISTRY[name].load()
    params = {}
    for key, param in claim.params.items():
        if key in CONTRACT_PARAMS:
            continue
        if param.choices is not None:
            params[key] = draw(st.sampled_from(param.choices))
        elif isinstance(param.default, bool) or not isinstance(param.default, (int, float)):
            continue
        elif param.low is not None and param.low < param.default:
            if param.integer:
                params[key] = draw(st.integers(int(param.low), int(param.default)))
            else:
                params[key] = draw(st.floats(param.low, param.default, allow_nan=False))
    return name, params


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a drawn setting may overflow on its way to n/a
@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setting=claim_settings(), law=law_specs(), seed=st.integers(0, 2**16))
def test_every_drawn_check_gives_a_verdict(setting, law, seed):
    name, params = setting
    claim = REGISTRY[name].load()
    result = check(claim, law=law, params=params, seed=seed, num_samples=claim.num_samples)
    assert result.verdict in VERDICTS, (name, law, params, seed, result.verdict, result.message)
    if result.verdict == Verdict.NOT_APPLICABLE.value:
        assert result.message, "an n/a verdict names its reason"
