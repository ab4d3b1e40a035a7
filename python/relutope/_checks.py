"""Argument checks shared by the public functions: integers and random seeds.

Each check returns the value in its canonical form and raises ``TypeError`` (wrong kind) or ``ValueError`` (out of
range) with a message that names the argument, e.g. ``seed must be >= 0, got -1``.
"""
from __future__ import annotations

import numbers
import os
import time
from typing import Optional, Union

import numpy as np

__all__ = ["Deadline", "check_choice", "check_indices", "check_int", "check_partition", "check_path", "check_real",
           "check_seed", "reraise_interrupt"]


def check_bool(value, name: str) -> bool:
    """``value`` as a bool: a public flag (``progress``, ``certify``, ...) must be ``True`` or ``False``.

    Parameters
    ----------
    value : bool or numpy.bool_
        Not an int, a string or None (``progress="no"`` is truthy: it would switch the flag on).
    name : str
        The argument's name, for the message.

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        When ``value`` is not a bool.

    Examples
    --------
    >>> check_bool(True, "progress")
    True
    >>> check_bool("no", "progress")
    Traceback (most recent call last):
    ...
    TypeError: progress must be a bool (True or False), got str 'no'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool (True or False), got {type(value).__name__} {value!r}"[:200])
    return bool(value)


def check_network(value, name: str = "net"):
    """``value`` itself when it is a :class:`relutope.Network`, else a TypeError naming ``name``.

    Examples
    --------
    >>> check_network("net.onnx")
    Traceback (most recent call last):
    ...
    TypeError: net must be a relutope.Network, got str
    """
    from .network import Network  # here: network.py imports this module

    return _check_instance(value, Network, name)


def check_real(value, name: str, *, low: float = 0.0, strict: bool = True) -> float:
    """``value`` as a finite float above ``low`` (``strict``) or at least ``low``, else TypeError or ValueError
    naming ``name``.

    A bool is refused (``tol=True`` is not a tolerance of 1), and so is a string (``float("x")``'s message names
    no argument).

    Examples
    --------
    >>> check_real(1e-9, "tol")
    1e-09
    >>> check_real(True, "tol")
    Traceback (most recent call last):
    ...
    TypeError: tol must be a number, got bool
    >>> check_real(-1.0, "atol", strict=False)
    Traceback (most recent call last):
    ...
    ValueError: atol must be >= 0 and finite, got -1.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not (np.isfinite(value) and (value > low if strict else value >= low)):
        what = ("positive" if strict else ">= 0") if low == 0 else (f"> {low}" if strict else f">= {low}")
        raise ValueError(f"{name} must be {what} and finite, got {value}")
    return value


def check_choice(value, name: str, choices) -> str:
    """``value`` itself when it is one of the names ``choices``, else ValueError naming ``name`` and the choices.

    A non-string (an array, a list) is refused with the same message, not compared: ``array in choices`` raises
    numpy's "truth value of an array is ambiguous", which names nothing.

    Examples
    --------
    >>> check_choice("box", "shape", ("cross", "box"))
    'box'
    >>> check_choice(["box"], "shape", ("cross", "box"))
    Traceback (most recent call last):
    ...
    ValueError: shape must be one of ('cross', 'box'), got ['box']
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}"[:300])
    return value


def check_path(value, name: str = "path", file_like: bool = False):
    """``value`` itself when it names a file: a str, bytes or :class:`os.PathLike` (with ``file_like``, also an
    open file object, anything with a ``read`` or ``write`` method), else TypeError naming ``name``.

    An int or bool is refused: :func:`open` takes it as a file descriptor, so ``path=True`` would write to (and
    close) standard output, ``path=0`` standard input.

    Examples
    --------
    >>> check_path("part.json")
    'part.json'
    >>> check_path(True)
    Traceback (most recent call last):
    ...
    TypeError: path must be a file name (str or os.PathLike), got bool True
    """
    if isinstance(value, (str, bytes, os.PathLike)):
        return value
    if file_like and (hasattr(value, "read") or hasattr(value, "write")):
        return value
    what = "a file name (str or os.PathLike)" + (" or a file object" if file_like else "")
    raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}"[:200])


def check_int(value, name: str, low: int = 1, high: Optional[int] = None) -> int:
    """``value`` as an int in ``[low, high]`` (``high=None``: no upper bound).

    Parameters
    ----------
    value : int or numpy integer
        Not a bool, not a float (``2.0`` is refused: a count is an int).
    name : str
        The argument's name, for the messages.
    low, high : int, optional
        The bounds, inclusive (default: positive, ``>= 1``).

    Returns
    -------
    int

    Raises
    ------
    TypeError
        When ``value`` is not an integer (or is a bool).
    ValueError
        When it is out of range.

    Examples
    --------
    >>> check_int(3, "n"), check_int(0, "epochs", low=0)
    (3, 0)
    >>> check_int(0, "n")
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 1, got 0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if value < low or (high is not None and value > high):
        if high is not None:
            raise ValueError(f"{name} must be between {low} and {high}, got {value}")
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


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


def check_partition(value, name: str = "partition"):
    """``value`` itself when it is a :class:`relutope.Partition`, else TypeError naming ``name``.

    Examples
    --------
    >>> check_partition("part")
    Traceback (most recent call last):
    ...
    TypeError: partition must be a relutope.Partition, got str
    """
    from .partition import Partition  # (partition imports this module's users)

    return _check_instance(value, Partition, name)


def _check_instance(value, cls, name: str):
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a relutope.{cls.__name__}, got {type(value).__name__}")
    return value


def check_pieces(patterns: np.ndarray, n_pieces: np.ndarray, name: str) -> None:
    """ValueError naming ``name`` and its first bad entry when an integer array of activation patterns
    ``patterns`` (..., n) names a piece a unit does not have: every entry must lie in ``[0, n_pieces[u])`` for its
    unit ``u`` (the last axis; ``n_pieces`` (n,) int).

    Examples
    --------
    >>> check_pieces(np.array([[0, 1], [1, 2]]), np.array([2, 2]), "patterns")
    Traceback (most recent call last):
    ...
    ValueError: patterns names a piece index that a unit does not have: patterns[1, 1] = 2, and unit 1 has 2 pieces (entries must lie in [0, 2))
    """
    patterns = np.asarray(patterns)
    if patterns.size == 0:
        return
    bad = np.argwhere((patterns < 0) | (patterns >= n_pieces))
    if bad.size:
        idx = tuple(int(v) for v in bad[0])
        K = int(n_pieces[idx[-1]])
        where = ", ".join(str(v) for v in idx)
        raise ValueError(f"{name} names a piece index that a unit does not have: {name}[{where}] = "
                         f"{int(patterns[idx])}, and unit {idx[-1]} has {K} pieces (entries must lie in [0, {K}))")


def check_domain(value, name: str = "domain"):
    """``value`` itself when it is a relutope :class:`~relutope.Domain` (Box, Polytope, WholeSpace, Slice), else
    TypeError naming ``name``.

    Examples
    --------
    >>> check_domain(None)
    Traceback (most recent call last):
    ...
    TypeError: domain must be a relutope Domain (Box, Polytope, WholeSpace, Slice), got NoneType
    """
    from .domains import Domain

    if not isinstance(value, Domain):
        raise TypeError(f"{name} must be a relutope Domain (Box, Polytope, WholeSpace, Slice), "
                        f"got {type(value).__name__}")
    return value


def check_indices(values, name: str, n: int) -> np.ndarray:
    """``values`` as indices into ``n`` items: a flat int64 array, each in ``[0, n)``.

    Parameters
    ----------
    values : array_like of int
        Any shape (flattened); an integer dtype (not bool, not float: ``0.5`` is refused, not truncated).
    name : str
        The argument's name, for the messages.
    n : int
        How many items there are.

    Returns
    -------
    ndarray, shape (N,), int64

    Raises
    ------
    TypeError
        When ``values`` is not an integer array.
    ValueError
        When an index is negative or ``>= n`` (negative indices do not count from the end here).

    Examples
    --------
    >>> check_indices([2, 0], "regions", 3).tolist()
    [2, 0]
    >>> check_indices([3], "regions", 3)
    Traceback (most recent call last):
    ...
    ValueError: regions must be indices in [0, 3), got 3
    """
    arr = np.asarray(values)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
        if not (arr.size == 0 and arr.dtype == np.float64):  # [] is an empty list of indices
            raise TypeError(f"{name} must be an array of integer indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64).reshape(-1)
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        raise ValueError(f"{name} must be indices in [0, {n}), got {int(bad[0])}")
    return arr


class Deadline:
    """One ``time_limit`` shared by the several enumerations of one call: the seconds each may still take.

    ``time_limit`` is None or ``inf`` (no limit) or a positive finite number of seconds, counted from the
    construction; anything else is a TypeError or ValueError naming ``name``.

    Examples
    --------
    >>> Deadline(None).left() is None, Deadline(float("inf")).passed()
    (True, False)
    >>> 0 < Deadline(60.0).left() <= 60.0
    True
    >>> Deadline(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: time_limit must be positive and finite, got -1.0
    """

    def __init__(self, time_limit, name: str = "time_limit"):
        if isinstance(time_limit, numbers.Real) and not isinstance(time_limit, (bool, np.bool_)) \
                and time_limit == float("inf"):
            time_limit = None
        limit = None if time_limit is None else check_real(time_limit, name)
        self.end = None if limit is None else time.perf_counter() + limit

    def left(self) -> Optional[float]:
        """The ``time_limit`` to give the next call: the seconds left, at least 1 ns (a call made at the deadline
        stops at once), or None without a limit."""
        return None if self.end is None else max(self.end - time.perf_counter(), 1e-9)

    def passed(self) -> bool:
        """Whether the limit is reached."""
        return self.end is not None and time.perf_counter() >= self.end


def reraise_interrupt(result):
    """``result`` (a Partition, or a result with a ``status``), or the KeyboardInterrupt that stopped it.

    The core turns Ctrl-C into a partial result with ``status == "interrupted"``; a function that runs several
    enumerations calls this on each, so that Ctrl-C stops it rather than the one enumeration it hit.
    """
    if getattr(result, "status", None) == "interrupted":
        raise KeyboardInterrupt
    return result
