"""Ctrl-C during an enumeration stops it cleanly with partial, exact results."""
import os
import signal
import sys
import threading

import numpy as np
import pytest

import relutope


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to self is POSIX-only")
def test_sigint_returns_partial_partition():
    net = relutope.Network.random([3, 48, 48, 48, 48, 1], seed=3)  # millions of regions: never finishes in time
    box = relutope.Box(-np.ones(3), np.ones(3))
    # A process started in the background (as CI may be) inherits SIGINT ignored: install Python's own handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        part = relutope.enumerate_regions(net, box, time_limit=60.0)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert part.status == "interrupted"
    assert not part.complete
    assert len(part) > 0
    # What was found is exact: every witness has the pattern it claims.
    assert np.array_equal(net.activation_pattern(part.witnesses), part.patterns)


def test_callback_exception_propagates():
    from relutope import _core

    net = relutope.Network.random([2, 32, 32, 1], seed=0)
    form = relutope.Box([-1, -1], [1, 1])._engine_form()

    def boom(regions):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        _core.enumerate_regions(net._core(), form.x0, form.Q, form.A, form.b, np.zeros(2), 1e-9, 3.0, -1, -1.0,
                                16, boom)
