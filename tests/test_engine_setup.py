"""The per-call set-up of the core (domain form and frame, tol and its floor) computed once per call, unchanged.

``verify`` calls the core once per box its input splitting leaves open, so that set-up is done once per call:
``Box`` skips the generic orthonormality test of ``_engine_form``, ``_engine_frame`` takes the form already computed and
``_engine_call`` computes :func:`relutope.min_tol` once. Each is checked against the generic computation it
replaces (``Domain._engine_form`` with the test, ``_engine_frame()`` with no argument, ``min_tol`` called afresh), bit for
bit, on boxes off-centre at scales 1e-6..1e6, with and without fixed coordinates.
"""
import numpy as np
import pytest

import relutope
from relutope import Box, Layer, Network, min_tol
from relutope.domains import Domain
from relutope.enumerate import _engine_call, _resolve_tol


def boxes():
    rng = np.random.default_rng(15)
    for scale in (1e-6, 1.0, 1e6):
        for fixed in ((), (1,), (0, 3)):
            centre = rng.uniform(-5, 5, 4) * scale + 3.0 * scale
            half = rng.uniform(0.1, 1.0, 4) * scale
            lo, hi = centre - half, centre + half
            for j in fixed:
                lo[j] = hi[j] = centre[j]
            yield Box(lo, hi)


def same_form(a, b):
    for name in ("x0", "Q", "A", "b", "Rinv", "R"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and np.array_equal(x, y), name


@pytest.mark.parametrize("box", list(boxes()), ids=lambda b: f"{b.intrinsic_dim}d-{b._default_scale():.0e}")
def test_box_engine_form_and_frame_equal_the_generic_ones(box, monkeypatch):
    skipped = box._engine_form()
    monkeypatch.setattr(Box, "_orthonormal_basis", False)  # the generic path: the basis tested, QR where it fails
    same_form(skipped, Domain._engine_form(box))
    monkeypatch.undo()
    given, fresh = box._engine_frame(box._engine_form()), box._engine_frame()
    same_form(given.form, fresh.form)
    assert np.array_equal(given.c, fresh.c) and given.s == fresh.s


@pytest.mark.parametrize("box", list(boxes()), ids=lambda b: f"{b.intrinsic_dim}d-{b._default_scale():.0e}")
def test_engine_call_passes_the_tol_and_floor_of_a_fresh_computation(box):
    net = Network([Layer.affine(np.eye(4), np.zeros(4))])
    seen = {}

    def core(*args, **keywords):
        seen["args"], seen["keywords"] = args, keywords
        return {"status": "complete", "leaves": 1, "pruned": 0}

    out, _ = _engine_call(core, net, box, tol=None, max_regions=None, time_limit=None, progress=False, thin=True)
    frame = box._engine_frame()
    tol = _resolve_tol(box, None)
    assert out["tol"] == tol and seen["args"][6] == tol / frame.s
    assert seen["keywords"]["thin_min_tol"] == min(min_tol(box), tol) / frame.s
    explicit = 4 * min_tol(box)
    _engine_call(core, net, box, tol=explicit, max_regions=None, time_limit=None, progress=False, thin=True)
    assert seen["keywords"]["thin_min_tol"] == min(min_tol(box), explicit) / frame.s
    with pytest.raises(ValueError, match="tol="):
        _engine_call(core, net, box, tol=min_tol(box) / 2, max_regions=None, time_limit=None, progress=False)


def test_resolve_tol_with_a_given_floor_is_the_same():
    box = Box([1e6 - 1e-7, -3.0], [1e6 + 1e-7, -3.0 + 1e-7])
    with pytest.warns(relutope.RelutopeWarning, match="min_tol"):
        a = _resolve_tol(box, None)
    with pytest.warns(relutope.RelutopeWarning, match="min_tol"):
        b = _resolve_tol(box, None, min_tol(box))
    assert a == b == min_tol(box)


def test_verify_checks_threads_once_even_when_no_box_is_left_open():
    from relutope import vnnlib

    net = Network.random([2, 4, 1], seed=0)
    spec = vnnlib.loads("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)"
                        "(assert (>= X_0 0.0))(assert (<= X_0 1.0))(assert (>= X_1 0.0))(assert (<= X_1 1.0))"
                        "(assert (>= Y_0 100.0))")
    top = relutope.output_bounds(net, Box([0, 0], [1, 1]), prune=False).upper[0]
    assert top < 100.0  # the property holds (exact maximum), and the splitting closes it: no core enumeration
    res = relutope.verify(net, spec, threads=1)
    assert res.status == "holds" and res.cases[0]["open_boxes"] == 0
    with pytest.raises(ValueError, match="threads"):
        relutope.verify(net, spec, threads=0)
    with pytest.raises(TypeError, match="threads"):
        relutope.verify(net, spec, threads="2")
