"""Bad input to the analysis modules raises the exception their docstrings' Raises sections name, with a message
naming the argument (every case below is one documented exception of one function)."""
import numpy as np
import pytest

from relutope import gaussian, polygons

SQ = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # the unit square, counter-clockwise
TWO = np.vstack([SQ, SQ + [1.0, 0.0]])  # two unit squares sharing the edge x = 1


def cases(*rows):
    """pytest.param(call, exception, pattern, id=...) from (id, call, exception, pattern) rows."""
    return [pytest.param(call, exc, match, id=name) for name, call, exc, match in rows]


# ---------------------------------------------------------------------------------------------- polygons
CSR_FUNCTIONS = {
    "areas": polygons.areas,
    "from_csr": polygons.from_csr,
    "polygon_masses": gaussian.polygon_masses,
    "shared_edges": lambda o, v: polygons.shared_edges(o, v, 1e-9, 1e-9),
    "clip_lines": lambda o, v: polygons.clip_lines(o, v, np.zeros((max(np.size(o) - 1, 0), 3))),
}
BAD_CSR = [
    ("float offsets", [0.0, 4.0], SQ, TypeError, "offsets must be a 1-D array of integers"),
    ("bool offsets", np.array([False, True]), SQ[:1], TypeError, "offsets must be a 1-D array of integers"),
    ("2-D offsets", np.array([[0, 4]]), SQ, ValueError, "offsets must be a 1-D array of at least one"),
    ("empty offsets", np.zeros(0, dtype=int), SQ, ValueError, "offsets must be a 1-D array of at least one"),
    ("offsets past the vertices", [0, 5], SQ, ValueError, r"offsets must run from 0 to len\(vertices\) = 4"),
    ("offsets not from 0", [1, 4], SQ, ValueError, r"offsets must run from 0"),
    ("decreasing offsets", [0, 3, 2, 4], SQ, ValueError, "offsets must be non-decreasing"),
    ("vertices of 3 columns", [0, 2], np.ones((2, 3)), ValueError, r"vertices must have shape \(V, 2\)"),
    ("1-D vertices", [0, 4], np.ones(8), ValueError, r"vertices must have shape \(V, 2\)"),
    ("NaN vertex", [0, 4], np.where(np.eye(4, 2, dtype=bool), np.nan, SQ), ValueError, "vertices contains NaN"),
    ("infinite vertex", [0, 4], np.where(np.eye(4, 2, dtype=bool), np.inf, SQ), ValueError, "vertices contains NaN"),
    ("text vertices", [0, 1], [["a", "b"]], TypeError, "vertices must be an array of numbers"),
]


@pytest.mark.parametrize("fn", CSR_FUNCTIONS.values(), ids=CSR_FUNCTIONS.keys())
@pytest.mark.parametrize("offsets, vertices, exc, match", [pytest.param(*r[1:], id=r[0]) for r in BAD_CSR])
def test_csr_functions_reject_malformed_polygons(fn, offsets, vertices, exc, match):
    with pytest.raises(exc, match=match):
        fn(offsets, vertices)


@pytest.mark.parametrize("call, exc, match", cases(
    ("to_csr None", lambda: polygons.to_csr(None), TypeError, "polygons must be a sequence"),
    ("to_csr (2, 3) polygon", lambda: polygons.to_csr([SQ, np.ones((2, 3))]), ValueError,
     r"polygons\[1\] must have shape \(V, 2\)"),
    ("to_csr NaN", lambda: polygons.to_csr([[[0.0, np.nan]]]), ValueError, r"polygons\[0\] contains NaN"),
    ("to_csr text", lambda: polygons.to_csr([SQ, "abc"]), TypeError, r"polygons\[1\] must be an array of numbers"),
    ("shared_edges atol < 0", lambda: polygons.shared_edges([0, 4, 8], TWO, -1e-9, 0.0), ValueError,
     "atol must be >= 0"),
    ("shared_edges atol NaN", lambda: polygons.shared_edges([0, 4, 8], TWO, np.nan, 0.0), ValueError,
     "atol must be >= 0 and finite"),
    ("shared_edges atol text", lambda: polygons.shared_edges([0, 4, 8], TWO, "0", 0.0), TypeError,
     "atol must be a number"),
    ("shared_edges min_length inf", lambda: polygons.shared_edges([0, 4, 8], TWO, 0.0, np.inf), ValueError,
     "min_length must be >= 0 and finite"),
    ("shared_edges min_length None", lambda: polygons.shared_edges([0, 4, 8], TWO, 0.0, None), TypeError,
     "min_length must be a number"),
    ("shared_edges chunk 0", lambda: polygons.shared_edges([0, 4, 8], TWO, 0.0, 0.0, chunk=0), ValueError,
     "chunk must be positive"),
    ("shared_edges chunk -1", lambda: polygons.shared_edges([0, 4, 8], TWO, 0.0, 0.0, chunk=-1), ValueError,
     "chunk must be positive"),
    ("shared_edges chunk float", lambda: polygons.shared_edges([0, 4, 8], TWO, 0.0, 0.0, chunk=2.5), TypeError,
     "chunk must be an int"),
    ("clip_lines lines of 4 columns", lambda: polygons.clip_lines([0, 4], SQ, np.ones((1, 4))), ValueError,
     r"lines must have shape \(K, 3\)"),
    ("clip_lines 1-D lines", lambda: polygons.clip_lines([0, 4], SQ, np.ones(3)), ValueError, "lines must be 2-D"),
    ("clip_lines NaN line", lambda: polygons.clip_lines([0, 4], SQ, [[1.0, np.nan, 0.0]]), ValueError,
     "lines contains NaN"),
    ("clip_lines one line per polygon", lambda: polygons.clip_lines([0, 4], SQ, np.ones((2, 3))), ValueError,
     r"lines must have shape \(1, 3\) \(one line per polygon\)"),
    ("clip_lines rows too short", lambda: polygons.clip_lines([0, 4], SQ, np.ones((2, 3)), rows=[0]), ValueError,
     r"rows must have shape \(2,\)"),
    ("clip_lines row out of range", lambda: polygons.clip_lines([0, 4], SQ, np.ones((1, 3)), rows=[1]), ValueError,
     r"rows must be polygon indices in \[0, 1\)"),
    ("clip_lines negative row", lambda: polygons.clip_lines([0, 4], SQ, np.ones((1, 3)), rows=[-1]), ValueError,
     r"rows must be polygon indices in \[0, 1\)"),
    ("clip_lines float rows", lambda: polygons.clip_lines([0, 4], SQ, np.ones((1, 3)), rows=[0.0]), TypeError,
     "rows must be an array of polygon indices"),
    ("clip_halfplanes A of 4 columns", lambda: polygons.clip_halfplanes([0, 2], np.ones((1, 4)), [0, 0], -1, 1),
     ValueError, r"A must have shape \(F, 2\)"),
    ("clip_halfplanes b too long", lambda: polygons.clip_halfplanes([0, 1], np.ones((1, 2)), [0, 0], -1, 1),
     ValueError, r"b must have shape \(1,\)"),
    ("clip_halfplanes offsets past A", lambda: polygons.clip_halfplanes([0, 3], np.ones((1, 2)), [0], -1, 1),
     ValueError, r"offsets must run from 0 to len\(A\) = 1"),
    ("clip_halfplanes float offsets", lambda: polygons.clip_halfplanes([0.0, 1.0], np.ones((1, 2)), [0], -1, 1),
     TypeError, "offsets must be a 1-D array of integers"),
    ("clip_halfplanes NaN b", lambda: polygons.clip_halfplanes([0, 1], np.ones((1, 2)), [np.nan], -1, 1),
     ValueError, "b contains NaN"),
    ("clip_halfplanes infinite A", lambda: polygons.clip_halfplanes([0, 1], [[np.inf, 1.0]], [0], -1, 1),
     ValueError, "A contains NaN"),
    ("clip_halfplanes text A", lambda: polygons.clip_halfplanes([0, 1], [["a", "b"]], [0], -1, 1),
     TypeError, "A must be an array of numbers"),
    ("clip_halfplanes NaN lo", lambda: polygons.clip_halfplanes([0, 1], np.ones((1, 2)), [0], np.nan, 1),
     ValueError, "lo contains NaN"),
    ("clip_halfplanes hi of 3", lambda: polygons.clip_halfplanes([0, 1], np.ones((1, 2)), [0], -1, np.ones(3)),
     ValueError, r"hi must be a number or of shape \(2,\)"),
    ("clip_halfplanes text hi", lambda: polygons.clip_halfplanes([0, 1], np.ones((1, 2)), [0], -1, "1"),
     TypeError, "hi must be an array of numbers"),
    ("clip_halfplanes lo >= hi", lambda: polygons.clip_halfplanes([0, 1], np.ones((1, 2)), [0], [0, 1], [1, 1]),
     ValueError, "lo must be < hi"),
))
def test_polygon_functions_reject(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_empty_polygons_in_a_csr_pair():
    """Empty polygons (clip_halfplanes makes them) have area 0 and leave their neighbours' rings intact."""
    big = 2.0 * SQ + [1.0, 0.0]  # [1, 3] x [0, 2]: it shares x = 1, 0 <= y <= 1 with the unit square
    off, v = polygons.to_csr([SQ, [], big, []])
    assert off.tolist() == [0, 4, 4, 8, 8]
    assert polygons.areas(off, v).tolist() == [1.0, 0.0, 4.0, 0.0]  # 1 x 1 and 2 x 2
    seg, hit = polygons.clip_lines(off, v, [[1.0, 0.0, -0.5], [1.0, 0.0, -0.5], [1.0, 0.0, -2.0], [1.0, 0.0, -2.0]])
    assert hit.tolist() == [True, False, True, False]  # x = 0.5 and x = 2 cross the squares; empty ones miss
    assert sorted(map(tuple, seg[0])) == [(0.5, 0.0), (0.5, 1.0)] and sorted(map(tuple, seg[2])) == [(2.0, 0.0),
                                                                                                     (2.0, 2.0)]
    assert np.isnan(seg[1]).all() and np.isnan(seg[3]).all()
    assert polygons.shared_edges(off, v, 0.0, 0.5).tolist() == [[0, 2]]
