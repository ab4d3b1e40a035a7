"""Argument checks shared by the public functions: random seeds.

Each check returns the value in its canonical form and raises ``TypeError`` (wrong kind) or ``ValueError`` (out of
range) with a message that names the argument, e.g. ``seed must be >= 0, got -1``.
"""
from __future__ import annotations

import numbers
from typing import Optional, Union

import numpy as np

__all__ = ["check_seed"]


def check_seed(seed, name: str = "seed", generator: bool = True,
               none: bool = True) -> Union[None, int, np.random.Generator]:
    """A seed for :func:`numpy.random.default_rng`: None (fresh entropy), an int ``>= 0`` or a Generator.

    Parameters
    ----------
    seed : None, int or numpy.random.Generator
    name : str, optional
        The argument's name, for the messages.
    generator : bool, optional
        Whether a :class:`numpy.random.Generator` is accepted (it is then used as it is, advancing its state).
    none : bool, optional
        Whether None is accepted.

    Returns
    -------
    None, int or numpy.random.Generator
        ``seed`` itself (a numpy integer as an int), to hand to :func:`numpy.random.default_rng`.

    Raises
    ------
    TypeError
        When ``seed`` is of another kind (a float, a str, a bool, ...).
    ValueError
        When it is a negative int.

    Examples
    --------
    >>> check_seed(0), check_seed(None)
    (0, None)
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be >= 0, got -1
    >>> check_seed(1.5)
    Traceback (most recent call last):
    ...
    TypeError: seed must be an int >= 0, a numpy.random.Generator or None, got float
    """
    if seed is None and none:
        return None
    if generator and isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        kinds = ["an int >= 0"] + (["a numpy.random.Generator"] if generator else []) + (["None"] if none else [])
        what = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]
        raise TypeError(f"{name} must be {what}, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{name} must be >= 0, got {seed}")
    return int(seed)
