"""Errors raised for bad input.

Every error a user can provoke derives from :class:`ZoverifyError`; the CLI turns
it into one line on stderr and exit code 2, so messages must say what was wrong
and what is accepted.
"""


class ZoverifyError(ValueError):
    """Bad input: an unknown name, an invalid parameter, a missing moment."""


class UnknownNameError(ZoverifyError):
    """A law, claim or command name that is not registered."""


class InvalidParameterError(ZoverifyError):
    """A parameter outside its valid range or of the wrong shape."""


class MomentDoesNotExistError(ZoverifyError):
    """A derivation needs a moment that the law does not have (e.g. t with nu <= 4)."""


class NotApplicableError(ZoverifyError):
    """A claim or derivation that does not apply to the given law."""


class NotRotationInvariantError(NotApplicableError):
    """A spectrum-only formula asked of a law whose result depends on the eigenvectors too."""
