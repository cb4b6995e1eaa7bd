"""Claims of the stability family: ZO at the edge of stability (theory §3, P3-1 ... P3-15).

Predictions come from the spectral layer (zoverify.symbolic.stability: the gain
formula with noise constants read off the law's moment maps, solved with mpmath);
measurements come from the second-moment operator built from the same law's maps
and evaluated on a rotated Hessian (zoverify.numeric.stability_operator), or from
Monte Carlo chains with real finite differences.

Spectrum-only claims (eta* is a function of the eigenvalues) are tested on
H = Q diag(spectrum) Q^T with a Haar-random Q.  For a law that is not rotation
invariant the only spectral formula is the one for H diagonal in the coordinate
basis; the claim then fails, and its message carries the counter-example
(same spectrum, diagonal versus rotated eigenvectors, two different eta*).

The claims live in the parts below (shared helpers in _stability_common); importing
this module registers them all, in this order.
"""

import importlib

PARTS = ("_stability_thresholds", "_stability_properties", "_stability_mc")
for _part in PARTS:  # importlib, so that import sorting cannot change the claim order
    importlib.import_module(f"zoverify.claims.{_part}")
