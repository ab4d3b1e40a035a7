"""Exceptions raised by relutope.

All relutope-specific exceptions derive from :class:`RelutopeError`. Where an error is also a bad *value* in the
usual Python sense, the class derives from the matching builtin too, so ``except ValueError`` keeps working.
"""
from __future__ import annotations

__all__ = ["RelutopeError", "ModelFormatError"]


class RelutopeError(Exception):
    """Base class of the exceptions raised by relutope."""


class ModelFormatError(RelutopeError, ValueError):
    """A model file or model object cannot be read or lowered to a :class:`relutope.Network`.

    Raised for truncated or corrupt files, unsupported operators or modules, and shapes that do not fit. The
    message names the file (and line) or the graph node / module at fault.
    """
