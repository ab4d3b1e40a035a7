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


# ---------------------------------------------------------------- found by the API defect hunt 18 (verify.py)
@pytest.mark.xfail(strict=True, reason="verify.output_bounds and min_adversarial read net.out_dim / net.in_dim "
                   "before checking that net is a Network: AttributeError, not a TypeError naming net")
def test_verify_functions_name_a_net_that_is_not_a_network():
    box = relutope.Box(-np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="net"):
        relutope.output_bounds("net.onnx", box)
    with pytest.raises(TypeError, match="net"):
        relutope.min_adversarial("net.onnx", np.zeros(2), 0)


@pytest.mark.xfail(strict=True, reason="output_bounds and verify take prune by truthiness: prune='no' (or 0.0, "
                   "None) switches pruning on or off silently; the other flags go through _checks.check_bool")
def test_verify_prune_must_be_a_bool():
    net = relutope.Network.random([2, 4, 1], seed=0)
    with pytest.raises(TypeError, match="prune"):
        relutope.output_bounds(net, relutope.Box(-np.ones(2), np.ones(2)), prune="no")


@pytest.mark.xfail(strict=True, reason="min_adversarial accepts a negative margin: the target class may then stay "
                   "below the label, and status 'found' comes with x_adv = x0, whose class is unchanged")
def test_min_adversarial_result_changes_the_class_or_margin_is_refused():
    net = relutope.Network.random([3, 5, 2], seed=1)
    x0 = np.zeros(3)
    label = int(np.argmax(net(x0)))
    try:
        res = relutope.min_adversarial(net, x0, label, margin=-1.0)
    except ValueError as exc:
        assert "margin" in str(exc)
    else:  # a forward pass: an adversarial example is classified otherwise
        assert res.status != "found" or int(np.argmax(net(res.x_adv))) != label


