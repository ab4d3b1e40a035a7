"""Exceptions raised by relutope.

Bad arguments raise the built-in ``ValueError`` or ``TypeError`` with the argument's name. Failures that are not
the caller's fault derive from :class:`RelutopeError`. Outcomes of a computation (a region limit reached, a run
interrupted, a property violated) are statuses of its result, never exceptions.
"""

__all__ = ["RelutopeError", "NumericalError", "ModelFormatError", "RelutopeWarning"]


class RelutopeError(Exception):
    """Base class of relutope's own errors."""


class NumericalError(RelutopeError):
    """The LP solver broke down (a singular basis or an iteration limit), or a certificate the engine returned
    failed its independent check; no result can be trusted. The message says which LP or certificate."""


class ModelFormatError(RelutopeError, ValueError):
    """A model file or object cannot be read or holds an operation relutope cannot lower."""


class RelutopeWarning(UserWarning):
    """A result was computed, but under a condition the caller should know of (e.g. a tolerance was raised)."""
