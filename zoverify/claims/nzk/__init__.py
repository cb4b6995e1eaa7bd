"""Claims of the NZK paper (theory.md §1, §5 P1-1 .. P1-10).

Predictions come from zoverify.symbolic.nzk (the middle matrix M written once
against the law interface, or the paper's stated closed forms, which the tests
show equal M); observations come from the numeric engine: sampled directions,
real central finite differences of the loss and of the outputs, batched ZO
trajectories and jvp's of a real network.

The claims live in the parts below (shared helpers in _nzk_common); importing this
module registers them all, in this order.
"""

import importlib

PARTS = ("_nzk_kernels", "_nzk_training", "_nzk_network", "_nzk_headline")
for _part in PARTS:  # importlib, so that import sorting cannot change the claim order
    importlib.import_module(f"zoverify.claims.{_part}")
