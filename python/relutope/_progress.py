"""Progress bars (tqdm) for long loops over regions, quiet unless asked for.

One helper serves the compiled loops (facets, adjacency: the core calls a callback at its checkpoints, every
:data:`CHECKPOINT_EVERY` regions, with the GIL held) and the Python loops (volumes: called after every region).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from ._checks import check_bool

#: Regions between two checkpoints of the compiled geometry loops when a bar is shown (0: the core's default).
CHECKPOINT_EVERY = 2048


@contextmanager
def region_bar(progress: bool, total: int, desc: str,
               unit: str = " regions") -> Iterator[Optional[Callable[[int], None]]]:
    """A tqdm bar over ``total`` regions (or other items, named by ``unit``), handed out as a callback
    ``update(done)`` that moves it to ``done``.

    Yields None when ``progress`` is false (then nothing is imported or drawn). When the block ends without an
    exception the bar is moved to ``total`` (all regions done); it is closed either way.

    Examples
    --------
    >>> with region_bar(False, 10, "volumes") as update:
    ...     update is None
    True
    """
    if not check_bool(progress, "progress"):
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=int(total), desc=desc, unit=unit)

    def update(done: int) -> None:
        bar.update(int(done) - bar.n)

    try:
        yield update
        update(total)
    finally:
        bar.close()
