"""The claim machinery: claims, their registry, the decision rules and the runner.

Content (the families' claims) lives in :mod:`zoverify.claims`; this package
knows nothing about any paper.  Light modules (``verdict``, ``params``,
``result``, ``registry``) import no numerics, so the CLI can list claims
without loading torch; ``claim``, ``check``, ``decision``, ``slope``,
``jackknife`` and ``runner`` carry the numerics.
"""
