"""Subjects: a user's own zeroth-order code under one of three contracts, guarded and loaded by spec.

A subject is one more input of an audit claim, beside the law; ``reference_*`` are
zoverify's own correct implementations, the positive controls of every audit property.
"""

from zoverify.subjects._load import SubjectError, load_callable, remember
from zoverify.subjects.contracts import (
    DEFAULT_BUDGET_S,
    KINDS,
    EstimatorSubject,
    OptimizerSubject,
    QueryLog,
    TorchUpdateSubject,
)
from zoverify.subjects.reference import (
    METHODS,
    SCHEMES,
    reference_estimator,
    reference_optimizer,
    reference_torch_update,
)

__all__ = [
    "DEFAULT_BUDGET_S",
    "KINDS",
    "METHODS",
    "SCHEMES",
    "EstimatorSubject",
    "OptimizerSubject",
    "QueryLog",
    "SubjectError",
    "TorchUpdateSubject",
    "load_callable",
    "reference_estimator",
    "reference_optimizer",
    "reference_torch_update",
    "remember",
]
