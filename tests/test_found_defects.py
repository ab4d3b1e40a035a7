"""Defects found and not yet fixed, each as a strict xfail: it fails today and turns into an error (XPASS) once
fixed, so that the fix must remove the mark.

Each test derives its expected value independently (exact rationals of the float64 weights)."""
import numpy as np
import pytest
from oracle import as_pattern_set
from test_dead_units import _CASES, _dead_net, _reference

import relutope


@pytest.mark.xfail(strict=True, reason="check_complete(certify=True) reports gaps across the units after a unit "
                   "exactly 0 on a region (certified_facets / certify_adjacency), though the partition is exact")
def test_certified_check_complete_accepts_an_exact_partition_with_a_dead_unit():
    pytest.importorskip("flint")
    d, scale, centre = _CASES[0]
    net, box = _dead_net(d, scale, centre)
    part = relutope.enumerate_regions(net, box, method="lp")
    assert as_pattern_set(part.patterns) == _reference(d)
    assert part.check_complete(certify=True).ok


def _checkpoint_counts(net, box, threads, max_regions):
    """The region counts the core's checkpoints report on one LP-path run (every 1024 regions: the interval
    relutope.enumerate sets when a stop hook is given), the regions found and the status."""
    from relutope import _core
    from relutope.enumerate import _engine_call

    seen = []

    def core(*args, **kwargs):  # the core call with a checkpoint callback that records its counts
        args = list(args)
        assert args[10] == 1024
        args[11] = lambda n: seen.append(int(n)) or True
        return _core.enumerate_regions(*args, **kwargs)

    out, _ = _engine_call(core, net, box, tol=None, max_regions=max_regions, time_limit=None, progress=False,
                          threads=threads, stop=lambda: False)
    return seen, int(out["leaves"]), out["status"]


@pytest.mark.xfail(strict=True, reason="watch_workers (enumerate.hpp) calls no checkpoint once the workers are done "
                   "or stopped (its loop breaks on done() and its inner loop needs !stopped()), so a threaded run "
                   "skips its final checkpoints: always the one at max_regions, and every one reached after its last "
                   "10 ms wake-up")
def test_threaded_runs_call_every_checkpoint_one_thread_calls():
    # One thread calls the checkpoint at every multiple of 1024 regions found, up to max_regions (here 1024 and
    # 2048, then it stops); watch_workers' contract is the same counts with threads (relutope.enumerate's progress
    # bars and Ctrl-C checks ride on them). The last one, at max_regions, comes when the workers halt.
    net = relutope.Network.random([2, 64, 64, 1], seed=0)  # 6,671 regions
    box = relutope.Box([-1.0, -1.0], [1.0, 1.0])
    one = _checkpoint_counts(net, box, 1, 2048)
    assert one == ([1024, 2048], 2048, "max_regions")  # the one-thread contract
    two = _checkpoint_counts(net, box, 2, 2048)
    assert two[1:] == (2048, "max_regions") and two[0] == one[0]
