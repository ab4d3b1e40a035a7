"""The ``threads=`` argument of the compiled loops: how many worker threads a call may use."""
from __future__ import annotations

import numbers
import os
from typing import Optional


def available_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: Optional[int], name: str = "threads") -> int:
    """``threads`` checked: a positive int, or ``None`` for :func:`available_cores`.

    Raises
    ------
    TypeError
        When ``threads`` is not an int (a bool is not one).
    ValueError
        When ``threads`` is below 1.
    """
    if threads is None:
        return available_cores()
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"{name} must be an int or None, got {type(threads).__name__}")
    if threads < 1 or threads > 4096:
        raise ValueError(f"{name} must be between 1 and 4096, got {threads}")
    return int(threads)
