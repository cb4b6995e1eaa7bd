"""``zoverify.audit.audit``: a user's ZO code checked against the theory of its own law.

A subject (estimator, optimizer or torch update, see :mod:`zoverify.subjects`) is loaded,
smoke-called so a broken contract is one clear error, and what is not declared (law,
scheme, radius, number of queries) is inferred from its own queries and outputs.  The
audit properties are registered claims (family ``audit``) judged by :func:`zoverify.verify.check.check`
with the subject as a parameter, so they carry the same negative controls, detectable
sizes and sweeps as every other claim.  Each failure is named where its signature is
known (a scale of 2, a sign flip, a missing d, a rank-one second moment, a wrong scheme
or law, a biased conditional mean, a direction regenerated differently, a restore that
is not exact) and comes with the smallest command that reproduces it.
"""

from zoverify.audit.report import AuditReport, Finding
from zoverify.audit.run import PROPERTIES, audit

__all__ = ["PROPERTIES", "AuditReport", "Finding", "audit"]
