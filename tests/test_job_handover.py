"""Threads: a subtree handed to another worker (a job) carries a layer's pieces but not their magnitudes; the
receiving worker composes those again from the job's pattern when a unit's row may be constant on the cell
(certify.hpp, composed_zero; enumerate.cpp and polytope.cpp, run_job and compose_magnitudes).

``split_all`` hands over every pending subtree, so that each worker runs many jobs one after the other, each
finding the magnitudes of its previous one left behind. The partitions at 2 and 3 threads are checked against
the brute-force oracle (tests/oracle.py, HiGHS, on the integer net in normalised coordinates) and against one
thread, region for region and bit for bit: patterns, witnesses, radii and H-representations.

The nets of test_dead_units.py have a unit exactly zero on one cell of the layer before, a row decided when the
layer's cell starts (which a job reaches only after composing the layer before anew). A K > 2 unit is decided
piece by piece, inside a job: so _tie_net has a max unit in layer 2 two of whose pieces are equal (exactly, not
in float64) on one cell of layer 1, where the job taking its next piece needs that cell's magnitudes, while a
worker's previous job may have left those of the cell where all of layer 1 is inactive (zero slopes). Its box
centres were found by a random search as ones where a receiver keeping its stale magnitudes (``mag_valid_ = 0``
removed from the LP path's run_job) gives a wrong piece-1 region in every threaded run: this test fails then.
"""
import functools

import numpy as np
import pytest
from oracle import as_pattern_set, brute_force_patterns
from test_dead_units import _CASES, _dead_net, _reference

import relutope
from relutope import Box, Layer, Network, _core
from relutope.enumerate import _engine_call
from relutope.partition import Partition

_ENGINES = {"lp": _core.enumerate_regions, "polytope": _core.enumerate_polytopes}


# Layer 1: relu(t0 + t1), relu(t0 - t1), relu(t0) in t = (x - off) / scale; layer 2: one unit, the max of
# u1 + u2 - 2 u3 (zero where all three are active), 0 and u1 - 1 (ties: the lowest piece).
_W1 = np.array([[1.0, 1], [1, -1], [1, 0]])
_MAX = Layer(np.array([[1.0, 1, -2], [0, 0, 0], [1, 0, 0]]), np.array([0.0, 0, -1]), [3])
_OUT = Layer.affine(np.ones((1, 1)), np.zeros(1), "identity")
_TIE_CASES = [(1e6, [-1.6923192525755066, 6.596079705562055]), (1e-6, [-4.3918248402792015, -0.2961805113672984])]


def _tie_net(scale, centre):
    off = scale * np.array(centre)
    return Network([Layer.affine(_W1 / scale, -_W1 @ off / scale, "relu"), _MAX, _OUT]), Box(off - scale, off + scale)


@functools.lru_cache(maxsize=None)
def _tie_reference():
    net = Network([Layer.affine(_W1, np.zeros(3), "relu"), _MAX, _OUT])
    ref, _ = brute_force_patterns(net, Adom=np.vstack([np.eye(2), -np.eye(2)]), bdom=np.ones(4), tol=1e-7)
    return as_pattern_set(ref)


def _run(engine, net, box, threads):
    out, _ = _engine_call(_ENGINES[engine], net, box, tol=None, max_regions=None, time_limit=None, progress=False,
                          threads=threads, split_all=threads > 1)
    assert out["status"] == "complete"
    return out


def _partition(net, box, out):
    return Partition._from_packed(net, box, out["patterns"].copy(), out["centers"], out["radii"], out["layer_counts"],
                                  tol=out["tol"])


def _nets():
    """(name, net, box, its pattern set by the oracle): test_dead_units' d = 2 and d = 3 nets at the scales 1e-6, 1
    and 1e6, and the max unit's tie, all off-centre."""
    for case in (0, 2, 3, 4, 5, 6):
        d, scale, centre = _CASES[case]
        yield (f"dead-{d}d-{scale:g}", *_dead_net(d, scale, centre), lambda d=d: _reference(d))
    for scale, centre in _TIE_CASES:
        yield (f"tie-{scale:g}", *_tie_net(scale, centre), _tie_reference)


_NETS = {name: rest for name, *rest in _nets()}


@pytest.mark.parametrize("name", sorted(_NETS))
@pytest.mark.parametrize("engine", sorted(_ENGINES))
def test_handed_over_jobs_compose_the_magnitudes_of_their_own_pattern(engine, name):
    net, box, reference = _NETS[name]
    ref = reference()
    one = _run(engine, net, box, 1)
    part1 = _partition(net, box, one)
    assert one["jobs"] == 0 and as_pattern_set(part1.patterns) == ref  # (one thread is itself right)
    one_h = [part1[i].halfspaces() for i in range(len(part1))]
    for threads in (2, 3):
        for _ in range(3):  # which worker runs which job after which depends on timing: a few runs
            out = _run(engine, net, box, threads)
            assert out["jobs"] > len(one["radii"]) // 4  # the subtrees really ran as separate jobs
            part = _partition(net, box, out)
            assert as_pattern_set(part.patterns) == ref, f"threads={threads}"
            for key in ("patterns", "centers", "radii", "layer_counts"):
                np.testing.assert_array_equal(out[key], one[key], err_msg=f"{key}, threads={threads}")
            assert out["lps"] == one["lps"]
            for i, (A1, b1) in enumerate(one_h):
                A, b = part[i].halfspaces()
                np.testing.assert_array_equal(A, A1)
                np.testing.assert_array_equal(b, b1)

