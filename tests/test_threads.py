"""Threads in the enumerator (``threads=``): the same partition as one thread, and clean, exact partial results.

A complete run with any number of threads must give the one-thread partition exactly (same regions in the same
order, witnesses and radii to the bit, same LP count): every subtree handed to another worker runs the LPs one
thread runs there. The core's ``split_all`` test hook hands over *every* pending subtree, so that each snapshot
of the search state is exercised, not only the few an idle worker asks for. The one-thread engine is itself
checked against brute force elsewhere (test_oracle.py, test_enumerate_bruteforce.py); here one small net is also
checked against the brute-force oracle and two against closed-form counts.
"""
import os
import signal
import sys
import threading

import numpy as np
import pytest

import relutope
from relutope import Box, Layer, Network, Slice, WholeSpace, _core, vnnlib
from relutope.enumerate import _engine_call

from oracle import as_pattern_set, brute_force_patterns, general_position_layer, sawtooth_net, zaslavsky_count


def _maxout_net():
    """leaky ReLUs, maxout units of K = 4 and 3 pieces, abs units (as in test_enumerate_bruteforce.py): d = 3."""
    rng = np.random.default_rng(5)
    first = Layer.affine(rng.normal(size=(6, 3)), rng.normal(0, 0.3, 6), "leaky_relu", alpha=0.1)
    pool = Layer(rng.normal(size=(7, 6)) * 0.7, rng.normal(size=7) * 0.3, [4, 3])
    return Network([first, pool, Layer.affine(rng.normal(size=(4, 2)), rng.normal(0, 0.3, 4), "abs"),
                    Layer.affine(rng.normal(size=(1, 4)), np.zeros(1), "identity")])


def _cases():
    c = np.array([5.0, -3.0, 2.0])
    return {
        # off-centre and small: the engine's coordinates are centred and scaled
        "random-offcentre": (Network.random([3, 12, 12, 1], seed=1), Box(c - 1e-2, c + 1e-2)),
        "deep": (Network.random([2, 6, 6, 6, 6, 6, 6, 1], seed=2), Box([-1, -1], [1, 1])),
        "abs": (Network.random([3, 10, 10, 1], seed=3, activation="abs"), Box(-np.ones(3), np.ones(3))),
        "maxout": (_maxout_net(), Box(-np.ones(3), np.ones(3))),
        "wholespace": (general_position_layer(12, 2, seed=4), WholeSpace(2)),
        "slice": (Network.random([5, 10, 10, 1], seed=5),
                  Slice.through_points(np.zeros(5), np.eye(5)[0], np.eye(5)[1], margin=0.5)),
        "sawtooth": (sawtooth_net(6), Box([0.0], [1.0])),
        "large-scale": (Network.random([3, 8, 8, 1], seed=6), Box(-1e6 * np.ones(3), 1e6 * np.ones(3))),
    }


CASES = _cases()


def _run(net, domain, threads, split_all=False, **limits):
    out, _ = _engine_call(_core.enumerate_regions, net, domain, tol=None, progress=False,
                          max_regions=limits.get("max_regions"), time_limit=limits.get("time_limit"),
                          threads=threads, split_all=split_all)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_threads_give_the_one_thread_partition(name):
    net, domain = CASES[name]
    one = _run(net, domain, 1)
    assert one["status"] == "complete" and one["jobs"] == 0
    for threads, split_all in ((2, True), (3, True), (2, False)):
        out = _run(net, domain, threads, split_all)
        assert out["status"] == "complete"
        for key in ("patterns", "centers", "radii", "layer_counts"):
            np.testing.assert_array_equal(out[key], one[key], err_msg=f"{key}, threads={threads}")
        assert out["lps"] == one["lps"] and out["leaves"] == one["leaves"]
        if split_all and len(one["radii"]) > 1:
            assert out["jobs"] > 1  # the subtrees really ran as separate jobs
    # and through the public API (method="lp" forced: the 2-D slice would take the polygon path)
    a = relutope.enumerate_regions(net, domain, threads=1, method="lp")
    b = relutope.enumerate_regions(net, domain, threads=2, method="lp")
    np.testing.assert_array_equal(a.patterns, b.patterns)
    np.testing.assert_array_equal(a.witnesses, b.witnesses)
    np.testing.assert_array_equal(a.radii, b.radii)


def test_threads_against_independent_counts():
    net, domain = CASES["wholespace"]
    assert len(relutope.enumerate_regions(net, domain, method="lp", threads=2)) == zaslavsky_count(12, 2)
    net, domain = CASES["sawtooth"]
    assert len(relutope.enumerate_regions(net, domain, method="lp", threads=2)) == 2 ** 6  # Telgarsky: 2^L pieces
    net = Network.random([2, 4, 3, 1], seed=7)
    out = _run(net, Box([-1, -1], [1, 1]), 2, split_all=True)
    part = relutope.Partition._from_packed(net, Box([-1, -1], [1, 1]), out["patterns"], out["centers"], out["radii"],
                                           out["layer_counts"], tol=out["tol"])
    lo, hi = -np.ones(2), np.ones(2)
    oracle, _ = brute_force_patterns(net, Adom=np.vstack([np.eye(2), -np.eye(2)]), bdom=np.concatenate([hi, -lo]))
    assert as_pattern_set(part.patterns) == as_pattern_set(oracle)


def _exact(net, part):
    """Every region found is a true region: its witness has its pattern; no pattern twice."""
    if len(part) == 0:  # (a loaded machine can reach a time limit before the first region)
        return
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)
    assert len(np.unique(part.patterns, axis=0)) == len(part)


def test_max_regions_with_threads_is_exact():
    net = Network.random([3, 12, 12, 12, 1], seed=0)  # 3,601 regions
    box = Box(-np.ones(3), np.ones(3))
    full = relutope.enumerate_regions(net, box, method="lp", threads=1)
    for n in (1, 1000, len(full) - 1):
        part = relutope.enumerate_regions(net, box, method="lp", threads=2, max_regions=n)
        assert len(part) == n and part.status == "max_regions" and not part.complete
        _exact(net, part)
        assert as_pattern_set(part.patterns) <= as_pattern_set(full.patterns)
    at = relutope.enumerate_regions(net, box, method="lp", threads=2, max_regions=len(full))
    assert at.complete and len(at) == len(full)  # stopping at the count itself is no truncation
    out = _run(net, box, 3, split_all=True, max_regions=777)
    assert out["status"] == "max_regions" and len(out["radii"]) == 777


def test_lp_breakdown_in_one_worker_stops_all_with_exact_regions():
    net = Network.random([3, 16, 16, 1], seed=0)
    box = Box(-np.ones(3), np.ones(3))
    full = relutope.enumerate_regions(net, box, method="lp", threads=1)
    # lp_max_iter = 7: an LP of the first few thousand regions fails (the hook of test_lp_recovery.py)
    out, _ = _engine_call(_core.enumerate_regions, net, box, tol=None, progress=False, max_regions=None,
                          time_limit=None, lp_max_iter=7, threads=3, split_all=True)
    assert out["status"] == "numerical" and out["message"].startswith("LP solver failed (iteration_limit)")
    part = relutope.Partition._from_packed(net, box, out["patterns"], out["centers"], out["radii"],
                                           out["layer_counts"], tol=out["tol"])
    assert 0 < len(part) < len(full)
    _exact(net, part)
    assert as_pattern_set(part.patterns) <= as_pattern_set(full.patterns)


def test_time_limit_with_threads_is_exact():
    net = Network.random([4, 16, 16, 16, 1], seed=0)  # about 150 000 regions: seconds of work
    part = relutope.enumerate_regions(net, Box(-np.ones(4), np.ones(4)), method="lp", threads=2, time_limit=0.05)
    assert part.status == "time_limit" and not part.complete and part.seconds < 1.0
    _exact(net, part)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to self is POSIX-only")
@pytest.mark.parametrize("method", ["lp", "polytope"])
def test_sigint_with_threads_returns_exact_partial_partition(method):
    net = Network.random([3, 48, 48, 48, 48, 1], seed=3)  # millions of regions: never finishes in time
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        part = relutope.enumerate_regions(net, Box(-np.ones(3), np.ones(3)), method=method, threads=2,
                                          time_limit=60.0)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert part.status == "interrupted" and not part.complete and len(part) > 0
    _exact(net, part)


def test_output_bounds_and_verify_with_threads():
    net = Network.random([3, 16, 16, 2], seed=8)
    box = Box(-np.ones(3), np.ones(3))
    one = relutope.output_bounds(net, box, threads=1)
    two = relutope.output_bounds(net, box, threads=2)
    np.testing.assert_allclose(two.upper, one.upper, rtol=1e-12)
    np.testing.assert_allclose(two.lower, one.lower, rtol=1e-12)
    y_hi, _ = net.forward(two.argmax)  # the inputs attain the bounds (a forward pass, not the LPs)
    np.testing.assert_allclose(np.diag(y_hi), two.upper, rtol=1e-9, atol=1e-12)
    head = "".join(f"(declare-const X_{i} Real)\n(assert (>= X_{i} -1))\n(assert (<= X_{i} 1))\n" for i in range(3))
    head += "(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
    mid = 0.5 * (one.lower[0] + one.upper[0])
    bad = relutope.verify(net, vnnlib.loads(head + f"(assert (>= Y_0 {float(mid)!r}))"), threads=2)
    assert bad.status == "violated"
    y, _ = net.forward(np.atleast_2d(bad.counterexample))
    assert y[0, 0] >= mid - 1e-6
    safe = relutope.verify(net, vnnlib.loads(head + f"(assert (>= Y_0 {float(one.upper[0]) + 1.0!r}))"), threads=2,
                           prune=False)
    assert safe.status == "holds" and safe.regions == len(relutope.enumerate_regions(net, box, method="lp", threads=1))


def test_output_bounds_merge_the_copies_each_worker_made_as_one_thread():
    # Each worker makes its copy of the visitor in its own thread; merged in worker order, they give one thread's
    # bounds, attained by their inputs (checked by a forward pass of the inputs, not the LPs).
    net = Network.random([3, 10, 10, 3], seed=11)
    box = Box(np.array([5.0, -3.0, 2.0]) - 1e-2, np.array([5.0, -3.0, 2.0]) + 1e-2)
    one = relutope.output_bounds(net, box, threads=1)
    y, _ = net.forward(np.random.default_rng(0).uniform(box.lo, box.hi, size=(2000, 3)))
    span = 1e-9 * (one.upper - one.lower)
    assert np.all(y <= one.upper + span) and np.all(y >= one.lower - span)  # no sample beyond the bounds
    for threads in (2, 3):
        res = relutope.output_bounds(net, box, threads=threads)
        np.testing.assert_allclose(res.upper, one.upper, rtol=1e-12)
        np.testing.assert_allclose(res.lower, one.lower, rtol=1e-12)
        y_hi, _ = net.forward(res.argmax)
        y_lo, _ = net.forward(res.argmin)
        np.testing.assert_allclose(np.diag(y_hi), res.upper, rtol=1e-9, atol=1e-12 * (1 + abs(res.upper).max()))
        np.testing.assert_allclose(np.diag(y_lo), res.lower, rtol=1e-9, atol=1e-12 * (1 + abs(res.lower).max()))


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError),
                                      ("2", TypeError)])
def test_bad_threads_is_named(bad, exc):
    with pytest.raises(exc, match="threads"):
        relutope.enumerate_regions(Network.random([2, 4, 1], seed=0), Box([-1, -1], [1, 1]), method="lp", threads=bad)


def test_facets_and_adjacency_with_threads_equal_one_thread():
    from relutope import geometry, graph

    net = Network.random([3, 12, 12, 1], seed=9)
    part = relutope.enumerate_regions(net, Box(-np.ones(3), np.ones(3)))
    assert len(part) > 4 * 256  # several chunks of the parallel loops
    one = geometry.region_facets(part, threads=1)
    fields = ("offsets", "A", "b", "unit", "piece", "points", "radii", "dup_facet", "dup_unit", "dup_piece")
    for threads in (2, 3):
        f = geometry.region_facets(part, threads=threads)
        for name in fields:
            np.testing.assert_array_equal(getattr(f, name), getattr(one, name), err_msg=name)
    part._facets = one
    a1 = graph.region_adjacency(part, threads=1)
    a3 = graph.region_adjacency(part, threads=3)
    for name in ("edges", "neighbor", "found_by", "expected"):
        np.testing.assert_array_equal(getattr(a3, name), getattr(a1, name), err_msg=name)
    # and independently of the core: every facet point of a region lies on its row (A p = b) and inside the region
    A, b, p = one.A, one.b, one.points
    np.testing.assert_allclose(np.einsum("fk,fk->f", A, p), b, atol=1e-9)
    for r in range(0, len(part), 97):
        s = slice(one.offsets[r], one.offsets[r + 1])
        assert np.all(A[s] @ p[s].T <= b[s, None] + 1e-9)


def test_a_callback_error_in_the_threaded_facet_loop_propagates():
    net = Network.random([3, 12, 12, 1], seed=9)
    part = relutope.enumerate_regions(net, Box(-np.ones(3), np.ones(3)))
    fv = part.domain._engine_frame().form

    def boom(done):
        raise RuntimeError("stop the facets")

    with pytest.raises(RuntimeError, match="stop the facets"):
        _core.region_facets(net._core(), fv.x0, fv.Q, fv.A, fv.b, np.ascontiguousarray(part.patterns),
                            np.ascontiguousarray(part.domain._engine_frame().to_v(part._centers)), 1e-9, 10.0,
                            boom, 256, threads=2)


def test_command_line_threads(tmp_path, capsys):
    from relutope.cli import main

    net = Network.random([3, 8, 8, 1], seed=0)
    net.save(tmp_path / "net.npz")
    expected = len(relutope.enumerate_regions(net, Box(-np.ones(3), np.ones(3)), method="lp", threads=1))
    assert main(["enumerate", str(tmp_path / "net.npz"), "--box", "-1", "1", "--threads", "2"]) == 0
    assert f"regions        {expected}\n" in capsys.readouterr().out
    assert main(["enumerate", str(tmp_path / "net.npz"), "--box", "-1", "1", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err


# ---------------------------------------------------------------- the polytope path (polytope.cpp) with threads
def _polytope_cases():
    """Bounded domains of intrinsic dimension 3..6: off-centre and at scales 1e-6..1e6, K > 2 units, a slice, and
    hyperplanes through one point across layers (a degenerate arrangement of test_polytope.py)."""
    c = np.array([5.0, -3.0, 2.0])
    W1 = np.vstack([np.eye(4)[0], -np.eye(4)[0], np.eye(4)[1], -np.eye(4)[1], np.eye(4)[2]])
    return {
        "random-offcentre": (Network.random([3, 12, 12, 1], seed=1), Box(c - 1e-2, c + 1e-2)),
        "tiny": (Network.random([3, 10, 10, 1], seed=8), Box(1e-6 * c - 1e-6, 1e-6 * c + 1e-6)),
        "large-scale": (Network.random([3, 8, 8, 1], seed=6), Box(-1e6 * np.ones(3), 1e6 * np.ones(3))),
        "maxout": (_maxout_net(), Box(-np.ones(3), np.ones(3))),
        "d4-abs": (Network.random([4, 8, 8, 8, 1], seed=3, activation="abs"), Box(-np.ones(4), np.ones(4))),
        "d5": (Network.random([5, 8, 8, 1], seed=4), Box(-np.ones(5), 2 * np.ones(5))),
        "d6-slice": (Network.random([8, 6, 6, 1], seed=5),
                     Slice(np.zeros(8), np.linalg.qr(np.random.default_rng(0).normal(size=(8, 6)))[0],
                           Box(-np.ones(6), np.ones(6)))),
        "through-one-point": (Network.from_weights([(W1, np.zeros(5)), (np.array([[1.0, -1, 1, -1, 0]]), np.zeros(1)),
                                                    (np.ones((1, 1)), np.zeros(1))]), Box(-np.ones(4), np.ones(4))),
        "one-hidden-layer": (Network.random([3, 10, 1], seed=9), Box(-np.ones(3), np.ones(3))),  # nothing to share
    }


POLYTOPE_CASES = _polytope_cases()


def _run_polytope(net, domain, threads, **kw):
    out, _ = _engine_call(_core.enumerate_polytopes, net, domain, tol=None, progress=False,
                          max_regions=kw.pop("max_regions", None), time_limit=kw.pop("time_limit", None),
                          threads=threads, **kw)
    return out


@pytest.mark.parametrize("name", sorted(POLYTOPE_CASES))
def test_polytope_threads_give_the_one_thread_partition(name):
    # Every cell's LPs start from a fresh basis at its vertex centroid, so each subtree's output depends on the
    # cell alone: the concatenation must be the one-thread output to the bit. The partition itself is checked
    # against the LP path (and that against brute force) in test_polytope.py; here the LP path's pattern set too.
    # split_all hands over every pending subtree (an Insert, SecondPart or MaxPiece task, at any depth), so that
    # every kind of snapshot is restored somewhere.
    net, domain = POLYTOPE_CASES[name]
    one = _run_polytope(net, domain, 1)
    assert one["status"] == "complete" and one["jobs"] == 0
    for threads, split_all in ((2, False), (3, False), (2, True), (3, True)):
        out = _run_polytope(net, domain, threads, split_all=split_all)
        assert out["status"] == "complete"
        for key in ("patterns", "centers", "radii", "layer_counts"):
            np.testing.assert_array_equal(out[key], one[key], err_msg=f"{key}, threads={threads}, {split_all}")
        assert out["lps"] == one["lps"] and out["splits"] == one["splits"]
        assert out["jobs"] >= 1
        if split_all:
            assert out["jobs"] > len(one["radii"]) // 4  # the subtrees really ran as separate jobs
    a = relutope.enumerate_regions(net, domain, method="polytope", threads=2)
    lp = relutope.enumerate_regions(net, domain, method="lp", threads=1)
    assert a.method == "polytope" and as_pattern_set(a.patterns) == as_pattern_set(lp.patterns)


def test_polytope_threads_limits_are_exact():
    net = Network.random([3, 12, 12, 12, 1], seed=0)  # 3,601 regions
    box = Box(-np.ones(3), np.ones(3))
    full = relutope.enumerate_regions(net, box, method="polytope", threads=1)
    for n in (1, 1000, len(full) - 1):
        part = relutope.enumerate_regions(net, box, method="polytope", threads=2, max_regions=n)
        assert len(part) == n and part.status == "max_regions" and not part.complete
        _exact(net, part)
        assert as_pattern_set(part.patterns) <= as_pattern_set(full.patterns)
    at = relutope.enumerate_regions(net, box, method="polytope", threads=3, max_regions=len(full))
    assert at.complete and len(at) == len(full)
    # every pending subtree handed over: the regions of jobs left in an abandoned stack are kept, none twice
    for n in (1, 777):
        out = _run_polytope(net, box, 3, split_all=True, max_regions=n)
        assert out["status"] == "max_regions" and len(out["radii"]) == n and out["jobs"] > 1
        _exact(net, relutope.Partition._from_packed(net, box, out["patterns"], out["centers"], out["radii"],
                                                    out["layer_counts"], tol=out["tol"]))
    big = Network.random([4, 16, 16, 16, 1], seed=0)  # about 150 000 regions: seconds of work
    part = relutope.enumerate_regions(big, Box(-np.ones(4), np.ones(4)), method="polytope", threads=2,
                                      time_limit=0.05)
    assert part.status == "time_limit" and not part.complete and part.seconds < 1.0
    _exact(big, part)
    out = _run_polytope(big, Box(-np.ones(4), np.ones(4)), 2, split_all=True, time_limit=0.05)
    assert out["status"] == "time_limit" and out["seconds"] < 1.0
    _exact(big, relutope.Partition._from_packed(big, Box(-np.ones(4), np.ones(4)), out["patterns"], out["centers"],
                                                out["radii"], out["layer_counts"], tol=out["tol"]))
    # an LP breakdown in one worker (the lp_max_iter hook) stops them all, with exact regions so far
    out = _run_polytope(net, box, 3, lp_max_iter=10)  # fails after the cells of layer 0, in the workers
    assert out["status"] == "numerical" and out["message"].startswith("LP solver failed") and out["jobs"] > 0
    part = relutope.Partition._from_packed(net, box, out["patterns"], out["centers"], out["radii"],
                                           out["layer_counts"], tol=out["tol"])
    assert 0 < len(part) < len(full)
    _exact(net, part)


@pytest.mark.parametrize("engine", ["enumerate_regions", "enumerate_polytopes"])  # the LP and polytope paths
def test_threaded_runs_started_at_once_from_python_threads_equal_one_thread(engine):
    # Each worker is made in its own thread (its memory from that thread's allocator, off the other workers'
    # cache lines): four threaded enumerations started at once from Python threads (the GIL released, 2 or 3
    # workers each, two with every subtree handed over) make their workers concurrently from the same network and
    # domain; each must still give the one-thread result to the bit (the one-thread search itself is checked
    # against brute force and the LP path elsewhere).
    net = Network.random([4, 10, 10, 1], seed=7)
    c = np.array([0.3, -0.2, 0.5, 0.1])
    box = Box(c - 1.0, c + 1.5)
    run = _run if engine == "enumerate_regions" else _run_polytope
    one = run(net, box, 1)
    assert one["status"] == "complete" and len(one["radii"]) > 100
    outs, errors = [None] * 4, []

    def work(i):
        try:
            outs[i] = run(net, box, 2 + i % 2, split_all=i >= 2)
        except BaseException as exc:  # noqa: B902 - re-raised below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert not errors
    for out in outs:
        assert out["status"] == "complete" and out["jobs"] >= 1
        for key in ("patterns", "centers", "radii", "layer_counts"):
            np.testing.assert_array_equal(out[key], one[key], err_msg=key)
        assert out["lps"] == one["lps"]


@pytest.mark.parametrize("engine", ["enumerate_regions", "enumerate_polytopes"])  # the LP and polytope paths
def test_checkpoint_runs_in_the_calling_thread_and_stops_all_workers(engine):
    # A net of 133,592 regions: the workers cannot end it before the stop at 3,000 regions reaches them (with
    # 15,619 the polytope path sometimes did, on a loaded machine).
    net = Network.random([3, 32, 32, 32, 1], seed=0)
    form = Box(-np.ones(3), np.ones(3))._engine_form()
    caller, seen = threading.get_ident(), []

    def checkpoint(regions):
        seen.append((threading.get_ident(), regions))
        return regions < 3000  # then stop

    run = getattr(_core, engine)
    out = run(net._core(), form.x0, form.Q, form.A, form.b, np.zeros(3), 1e-9, 3.0, -1, -1.0, 1000, checkpoint,
              threads=2)
    assert out["status"] == "interrupted" and seen and all(t == caller for t, _ in seen)
    assert [r for _, r in seen] == [1000 * (i + 1) for i in range(len(seen))]  # the counts of one thread
    assert 3000 <= len(out["radii"]) < 133592 // 4  # stopped well before the end
    with pytest.raises(ValueError, match="threads"):
        run(net._core(), form.x0, form.Q, form.A, form.b, np.zeros(3), 1e-9, 3.0, -1, -1.0, 1000, None, threads=0)


@pytest.mark.parametrize("engine", ["enumerate_regions", "enumerate_polytopes"])
def test_checkpoint_counts_of_a_complete_threaded_run_never_pass_its_regions(engine):
    # The watcher adds up one region counter per worker (SharedSearch::found): on a complete run the counts it
    # reports are the multiples of checkpoint_every, in order, none above the regions found (a count that a
    # worker's jobs lost or counted twice would show here), and the regions are the one-thread run's.
    net = Network.random([3, 16, 16, 16, 1], seed=0)
    form = Box(-np.ones(3) + 0.25, np.ones(3) * 1.5)._engine_form()
    run = getattr(_core, engine)
    args = (net._core(), form.x0, form.Q, form.A, form.b, np.zeros(3), 1e-9, 3.0, -1, -1.0)
    one = run(*args, 0, None, threads=1)
    for threads in (2, 3):
        seen = []
        out = run(*args, 100, lambda r: seen.append(r) or True, threads=threads, split_all=threads == 3)
        assert out["status"] == "complete" and np.array_equal(out["patterns"], one["patterns"])
        assert seen == [100 * (i + 1) for i in range(len(seen))] and seen[-1] <= len(one["radii"])


# ---------------------------------------------------------------- the witness check's forward pass in the core
@pytest.mark.parametrize("name", ["random-offcentre", "abs", "maxout", "slice", "large-scale"])
def test_witnesses_agree_is_numpys_forward_pass(name):
    # _core.witnesses_agree against Network.activation_pattern (numpy) at random points of the domain: the
    # patterns it is given are numpy's, then the same with one unit of every other row changed.
    net, domain = CASES[name]
    rng = np.random.default_rng(0)
    form = domain._engine_form()
    k = form.Q.shape[1]
    u = rng.uniform(-1, 1, size=(3001, k)) * domain._default_scale()  # points around the domain, at its scale
    x = form.x0 + u @ form.Q.T
    patterns = net.activation_pattern(x)
    packed = _core.pack_patterns(net._core(), patterns)
    for threads in (1, 3):
        np.testing.assert_array_equal(_core.witnesses_agree(net._core(), form.x0, form.Q, u, packed, threads), 1)
    changed = patterns.copy()
    unit = rng.integers(0, net.n_units, size=len(u))
    changed[::2][np.arange(len(u[::2])), unit[::2]] = (changed[::2][np.arange(len(u[::2])), unit[::2]] + 1) % \
        net.n_pieces[unit[::2]]
    expected = np.all(changed == patterns, axis=1).astype(np.uint8)
    packed = _core.pack_patterns(net._core(), changed)
    for threads in (1, 3):
        np.testing.assert_array_equal(_core.witnesses_agree(net._core(), form.x0, form.Q, u, packed, threads),
                                      expected)


def test_witnesses_agree_refuses_a_piece_the_unit_lacks():
    net, domain = CASES["maxout"]  # units of 4 and 3 pieces: 2 bits each, so the packed 3 of a 3-piece unit fits
    form = domain._engine_form()
    u = np.zeros((5, 3))
    patterns = net.activation_pattern(form.x0 + u @ form.Q.T)
    packed = _core.pack_patterns(net._core(), patterns).copy()
    three = [i for i in range(net.n_units) if net.n_pieces[i] == 3][0]
    bad = patterns.copy()
    bad[2, three] = 2
    bits = _core.pack_patterns(net._core(), bad)
    # set the 3-piece unit's field to 3 (binary 11) by OR-ing the fields of pieces 1 and 2
    bad[2, three] = 1
    packed[2] = bits[2] | _core.pack_patterns(net._core(), bad)[2]
    for rows in (5, 20000):  # in the calling thread, and in worker threads (no exception may escape one)
        many = np.tile(packed, (rows // 5, 1))
        with pytest.raises(ValueError, match="packed: row 2"):
            _core.witnesses_agree(net._core(), form.x0, form.Q, np.tile(u, (rows // 5, 1)), many, 2)
    with pytest.raises(ValueError, match="threads"):
        _core.witnesses_agree(net._core(), form.x0, form.Q, u, packed, 0)


def _checkpoint_counts(net, box, threads, max_regions):
    """The region counts the core's checkpoints report on one LP-path run (every 1024 regions: the interval
    relutope.enumerate sets when a stop hook is given), the regions found and the status."""
    seen = []

    def core(*args, **kwargs):  # the core call with a checkpoint callback that records its counts
        args = list(args)
        assert args[10] == 1024
        args[11] = lambda n: seen.append(int(n)) or True
        return _core.enumerate_regions(*args, **kwargs)

    out, _ = _engine_call(core, net, box, tol=None, max_regions=max_regions, time_limit=None, progress=False,
                          threads=threads, stop=lambda: False)
    return seen, int(out["leaves"]), out["status"]


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


def test_threaded_pruning_is_as_strong_as_one_threads_on_acasxu():
    # Worker copies that start on a job handed over never bounded the root, so they had no domain box and could
    # not prune at all: two threads visited 5,000-17,000 regions of ACAS Xu 1_1's property 2 / 3 boxes where one
    # thread visits ~300 (and verify's 1_1:2, whose regions are all pruned, reached 2,809). The bounds and the
    # verdict are one thread's; the regions visited stay within a small factor of one thread's (which jobs are
    # handed over, and when a worker's incumbent arrives, depend on timing).
    from pathlib import Path

    data = Path(__file__).parent / "data" / "acasxu"
    net = relutope.load_onnx(data / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx")
    case = vnnlib.load(data / "vnnlib" / "prop_3.vnnlib").cases[0]
    box = relutope.Box(case.box_lo, case.box_hi)
    one = relutope.output_bounds(net, box, threads=1)
    two = relutope.output_bounds(net, box, threads=2)
    np.testing.assert_array_equal(two.upper, one.upper)
    np.testing.assert_array_equal(two.lower, one.lower)
    assert two.regions <= 4 * one.regions + 64, (two.regions, one.regions)
    spec = data / "vnnlib" / "prop_2.vnnlib"
    res1, res2 = relutope.verify(net, spec, threads=1), relutope.verify(net, spec, threads=2)
    assert res1.status == res2.status == "holds"  # published (tests/data/acasxu/SOURCES.md)
    assert res2.regions <= 4 * res1.regions + 64, (res2.regions, res1.regions)
