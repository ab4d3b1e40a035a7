"""Bad input to the analysis modules raises the exception their docstrings' Raises sections name, with a message
naming the argument (every case below is one documented exception of one function)."""
from functools import lru_cache

import numpy as np
import pytest

import relutope
from relutope import gaussian, polygons, pruning, region_stats
from relutope import generative as gen

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
     "chunk must be >= 1"),
    ("shared_edges chunk -1", lambda: polygons.shared_edges([0, 4, 8], TWO, 0.0, 0.0, chunk=-1), ValueError,
     "chunk must be >= 1"),
    ("shared_edges chunk float", lambda: polygons.shared_edges([0, 4, 8], TWO, 0.0, 0.0, chunk=2.5), TypeError,
     "chunk must be an int"),
    ("clip_lines lines of 4 columns", lambda: polygons.clip_lines([0, 4], SQ, np.ones((1, 4))), ValueError,
     r"lines must have shape \(K, 3\)"),
    ("clip_lines 1-D lines", lambda: polygons.clip_lines([0, 4], SQ, np.ones(3)), ValueError, "lines must be 2-D"),
    ("clip_lines text lines", lambda: polygons.clip_lines([0, 4], SQ, [["a", "b", "c"]]), TypeError,
     "lines must be an array of numbers"),
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
    ("clip_halfplanes text b", lambda: polygons.clip_halfplanes([0, 1], np.ones((1, 2)), ["0"], -1, 1),
     TypeError, "b must be an array of numbers"),
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


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_empty_polygons_in_a_csr_pair(scale):
    """Empty polygons (clip_halfplanes makes them) have area 0 and leave their neighbours' rings intact, at any
    scale and away from the origin."""
    c = np.array([7.0, -5.0]) * scale + [100.0, 0.0]  # off-centre
    small, big = c + scale * SQ, c + scale * (2.0 * SQ + [1.0, 0.0])  # [1, 3] x [0, 2] shares x = 1, y in [0, 1]
    off, v = polygons.to_csr([small, [], big, []])
    assert off.tolist() == [0, 4, 4, 8, 8]
    np.testing.assert_allclose(polygons.areas(off, v), np.array([1.0, 0.0, 4.0, 0.0]) * scale ** 2, rtol=1e-6)
    x = c[0] + scale * np.array([0.5, 0.5, 2.0, 2.0])  # the lines x = 0.5 and x = 2 in the squares' frame
    seg, hit = polygons.clip_lines(off, v, np.c_[np.ones(4), np.zeros(4), -x])
    assert hit.tolist() == [True, False, True, False]
    for k, (y0, y1) in ((0, (0.0, 1.0)), (2, (0.0, 2.0))):
        got = seg[k][np.argsort(seg[k][:, 1])]
        np.testing.assert_allclose(got, [[x[k], c[1] + scale * y0], [x[k], c[1] + scale * y1]], rtol=1e-9,
                                   atol=1e-9 * scale)
    assert np.isnan(seg[1]).all() and np.isnan(seg[3]).all()
    assert polygons.shared_edges(off, v, 1e-9 * scale, 0.5 * scale).tolist() == [[0, 2]]


# ---------------------------------------------------------------------------------------------- generative
@lru_cache(maxsize=None)
def gen_parts():
    """Generators R^2 -> R^3 (latent WholeSpace and Box), an incomplete one, one of a 2-D box with a fixed
    coordinate (not full-dimensional), a 1-D output, a 3-D latent and a box without Gaussian mass."""
    net = relutope.Network.random([2, 4, 3], seed=0)
    whole = relutope.WholeSpace(2)
    return {
        "whole": relutope.enumerate_regions(net, whole),
        "box": relutope.enumerate_regions(net, relutope.Box([-1.0, -1.0], [1.0, 1.0])),
        "incomplete": relutope.enumerate_regions(relutope.Network.random([2, 8, 3], seed=0), whole, max_regions=2),
        "flat": relutope.enumerate_regions(net, relutope.Box([-1.0, 0.0], [1.0, 0.0])),
        "scalar": relutope.enumerate_regions(relutope.Network.random([2, 3, 1], seed=0), whole),
        "latent3": relutope.enumerate_regions(relutope.Network.random([3, 3, 3], seed=0), relutope.WholeSpace(3)),
        "far": relutope.enumerate_regions(relutope.Network.random([1, 2, 2], seed=0), relutope.Box([60.0], [61.0])),
        "box7": relutope.enumerate_regions(relutope.Network.random([7, 2, 2], seed=0),
                                           relutope.Box(-np.ones(7), np.ones(7))),
    }


def part(name):
    return gen_parts()[name]


def ax2d():
    from matplotlib.figure import Figure

    return Figure().add_subplot()


def ax3d():
    from matplotlib.figure import Figure

    return Figure().add_subplot(projection="3d")


GEN_FUNCTIONS = {
    "piece_angles": gen.piece_angles,
    "image_overlaps": gen.image_overlaps,
    "manifold_density": lambda p: gen.manifold_density(p, np.zeros(3)),
    "region_masses": gen.region_masses,
    "entropy": gen.entropy,
    "entropy_monte_carlo": lambda p: gen.entropy_monte_carlo(p, n=10),
    "log_likelihood": lambda p: gen.log_likelihood(p, np.zeros((1, 3)), 1.0),
    "disentanglement": gen.disentanglement,
    "plot_pieces": lambda p: gen.plot_pieces(p, ax=ax3d()),
    "plot_log_det": lambda p: gen.plot_log_det(p, ax=ax2d()),
}


@pytest.mark.parametrize("fn", GEN_FUNCTIONS.values(), ids=GEN_FUNCTIONS.keys())
@pytest.mark.parametrize("which, exc, match", [
    ("not a partition", TypeError, "partition must be a relutope.Partition"),
    ("flat", ValueError, "partition's domain must be a full-dimensional Box or a WholeSpace"),
    ("incomplete", ValueError, "partition is incomplete"),
])
def test_generative_functions_need_a_complete_latent_partition(fn, which, exc, match):
    assert which == "not a partition" or which != "incomplete" or not part("incomplete").complete
    with pytest.raises(exc, match=match):
        fn(which if which == "not a partition" else part(which))


def other_pieces():
    return gen.manifold_pieces(part("box"))  # of another partition: other regions


def box_masses():
    return gen.region_masses(part("box"))  # uniform latent


@pytest.mark.parametrize("call, exc, match", cases(
    ("piece_angles pieces", lambda: gen.piece_angles(part("whole"), pieces="x"), ValueError,
     "pieces must be the ManifoldPieces of this partition"),
    ("image_overlaps pieces", lambda: gen.image_overlaps(part("whole"), pieces=other_pieces()), ValueError,
     "pieces must be the ManifoldPieces"),
    ("image_overlaps rtol 0", lambda: gen.image_overlaps(part("whole"), rtol=0), ValueError,
     r"rtol must be a number in \(0, 1\)"),
    ("image_overlaps rtol NaN", lambda: gen.image_overlaps(part("whole"), rtol=np.nan), ValueError, "rtol"),
    ("image_overlaps rtol text", lambda: gen.image_overlaps(part("whole"), rtol="1e-9"), ValueError, "rtol"),
    ("manifold_density x (N, 2)", lambda: gen.manifold_density(part("whole"), np.zeros((1, 2))), ValueError,
     r"x must have shape \(N, 3\)"),
    ("manifold_density x NaN", lambda: gen.manifold_density(part("whole"), [np.nan, 0.0, 0.0]), ValueError,
     "x contains NaN"),
    ("manifold_density x text", lambda: gen.manifold_density(part("whole"), ["a", "b", "c"]), TypeError,
     "x must be an array of numbers"),
    ("manifold_density latent", lambda: gen.manifold_density(part("whole"), np.zeros(3), latent="cauchy"),
     ValueError, "latent must be one of"),
    ("manifold_density uniform on R^2", lambda: gen.manifold_density(part("whole"), np.zeros(3), latent="uniform"),
     ValueError, "latent='uniform' needs a Box"),
    ("manifold_density rtol", lambda: gen.manifold_density(part("whole"), np.zeros(3), rtol=1.5), ValueError,
     "rtol"),
    ("manifold_density pieces", lambda: gen.manifold_density(part("whole"), np.zeros(3), pieces=other_pieces()),
     ValueError, "pieces must be"),
    ("region_masses latent", lambda: gen.region_masses(part("whole"), latent="cauchy"), ValueError,
     "latent must be one of"),
    ("region_masses uniform on R^2", lambda: gen.region_masses(part("whole"), latent="uniform"), ValueError,
     "latent='uniform' needs a Box"),
    ("region_masses uniform kwargs", lambda: gen.region_masses(part("box"), latent="uniform", method="exact"),
     TypeError, "unexpected arguments for latent='uniform'"),
    ("region_masses unknown kwarg", lambda: gen.region_masses(part("whole"), foo=1), TypeError, "foo"),
    ("region_masses method", lambda: gen.region_masses(part("whole"), method="qmc"), ValueError,
     "method must be 'auto', 'exact' or 'directional'"),
    ("region_masses n_directions float", lambda: gen.region_masses(part("latent3"), n_directions=2.5), TypeError,
     "n_directions must be an int"),
    ("region_masses replicates 1", lambda: gen.region_masses(part("latent3"), replicates=1), ValueError,
     "replicates must be >= 2"),
    ("region_masses uniform in 7-D", lambda: gen.region_masses(part("box7")), ValueError, "dimension <= 6"),
    ("region_masses no Gaussian mass", lambda: gen.region_masses(part("far"), latent="gaussian"), ValueError,
     "no standard Gaussian mass"),
    ("entropy masses and kwargs", lambda: gen.entropy(part("whole"), masses=gen.region_masses(part("whole")),
                                                      method="exact"), TypeError, "arguments of region_masses"),
    ("entropy masses of another latent", lambda: gen.entropy(part("box"), latent="gaussian", masses=box_masses()),
     ValueError, "masses must be the RegionMasses of this partition"),
    ("entropy masses of a list", lambda: gen.entropy(part("box"), masses=[0.5, 0.5]), ValueError,
     "masses must be the RegionMasses"),
    ("entropy unknown kwarg", lambda: gen.entropy(part("whole"), foo=1), TypeError, "foo"),
    ("entropy latent", lambda: gen.entropy(part("whole"), latent="cauchy"), ValueError, "latent must be one of"),
    ("entropy pieces", lambda: gen.entropy(part("whole"), pieces=other_pieces()), ValueError, "pieces must be"),
    ("entropy_monte_carlo n 1", lambda: gen.entropy_monte_carlo(part("whole"), n=1), ValueError,
     "n must be >= 2"),
    ("entropy_monte_carlo n float", lambda: gen.entropy_monte_carlo(part("whole"), n=1e3), TypeError,
     "n must be an int"),
    ("entropy_monte_carlo chunk 0", lambda: gen.entropy_monte_carlo(part("whole"), n=10, chunk=0), ValueError,
     "chunk must be >= 1"),
    ("entropy_monte_carlo chunk text", lambda: gen.entropy_monte_carlo(part("whole"), n=10, chunk="8"), TypeError,
     "chunk must be an int"),
    ("entropy_monte_carlo latent", lambda: gen.entropy_monte_carlo(part("whole"), n=10, latent="uniform"),
     ValueError, "latent='uniform' needs a Box"),
    ("log_likelihood on a box", lambda: gen.log_likelihood(part("box"), np.zeros((1, 3)), 1.0), ValueError,
     "WholeSpace"),
    ("log_likelihood sigma 0", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), 0.0), ValueError,
     "sigma must be a positive finite number"),
    ("log_likelihood sigma inf", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), np.inf), ValueError,
     "sigma must be a positive finite number"),
    ("log_likelihood sigma text", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), "1"), ValueError,
     "sigma must be"),
    ("log_likelihood x (N, 2)", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 2)), 1.0), ValueError,
     r"x must have shape \(N, 3\)"),
    ("log_likelihood x inf", lambda: gen.log_likelihood(part("whole"), [[np.inf, 0, 0]], 1.0), ValueError,
     "x contains NaN or infinite"),
    ("log_likelihood x text", lambda: gen.log_likelihood(part("whole"), [["a", 0, 0]], 1.0), TypeError,
     "x must be an array of numbers"),
    ("log_likelihood chunk 0", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), 1.0, chunk=0),
     ValueError, "chunk must be >= 1"),
    ("log_likelihood chunk float", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), 1.0, chunk=1e4),
     TypeError, "chunk must be an int"),
    ("log_likelihood unknown kwarg", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), 1.0, foo=2),
     TypeError, r"unexpected keyword arguments \['foo'\]"),
    ("log_likelihood box kwarg", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), 1.0, box=10.0),
     TypeError, r"unexpected keyword arguments \['box'\]"),
    ("log_likelihood method", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), 1.0, method="qmc"),
     ValueError, "method must be"),
    ("log_likelihood n_directions", lambda: gen.log_likelihood(part("latent3"), np.zeros((1, 3)), 1.0,
                                                               n_directions=2.5), TypeError,
     "n_directions must be an int"),
    ("log_likelihood pieces", lambda: gen.log_likelihood(part("whole"), np.zeros((1, 3)), 1.0,
                                                         pieces=other_pieces()), ValueError, "pieces must be"),
    ("disentanglement masses text", lambda: gen.disentanglement(part("whole"), masses=["a"] * len(part("whole"))),
     TypeError, "masses must be an array of numbers"),
    ("disentanglement masses shape", lambda: gen.disentanglement(part("whole"), masses=np.ones(2)), ValueError,
     r"masses must have shape \(\d+,\)"),
    ("disentanglement masses < 0", lambda: gen.disentanglement(part("whole"), masses=-np.ones(len(part("whole")))),
     ValueError, "masses must be non-negative"),
    ("disentanglement masses NaN", lambda: gen.disentanglement(part("whole"),
                                                               masses=np.full(len(part("whole")), np.nan)),
     ValueError, "masses contains NaN"),
    ("disentanglement masses of another partition", lambda: gen.disentanglement(part("whole"), masses=box_masses()),
     ValueError, "masses must have shape"),
    ("disentanglement pieces", lambda: gen.disentanglement(part("whole"), pieces=other_pieces()), ValueError,
     "pieces must be"),
    ("plot_pieces 2-D ax", lambda: gen.plot_pieces(part("whole"), ax=ax2d()), TypeError,
     r"ax must be 3-D matplotlib axes"),
    ("plot_pieces ax 5", lambda: gen.plot_pieces(part("whole"), ax=5), TypeError, "ax must be 3-D"),
    ("plot_pieces color", lambda: gen.plot_pieces(part("whole"), ax=ax3d(), color="rainbow"), ValueError,
     "color must be one of"),
    ("plot_pieces latent", lambda: gen.plot_pieces(part("whole"), ax=ax3d(), latent="cauchy"), ValueError,
     "latent must be one of"),
    ("plot_pieces uniform on R^2", lambda: gen.plot_pieces(part("whole"), ax=ax3d(), latent="uniform"), ValueError,
     "latent='uniform' needs a Box"),
    ("plot_pieces 1-D output", lambda: gen.plot_pieces(part("scalar"), ax=ax3d()), ValueError,
     r"partition must be of a generator R\^2 -> R\^3"),
    ("plot_pieces 3-D latent", lambda: gen.plot_pieces(part("latent3"), ax=ax3d()), ValueError,
     "partition must have a 2-D latent"),
    ("plot_pieces pieces", lambda: gen.plot_pieces(part("whole"), ax=ax3d(), pieces=other_pieces()), ValueError,
     "pieces must be"),
    ("plot_pieces clip 5", lambda: gen.plot_pieces(part("whole"), ax=ax3d(), clip=5), TypeError,
     r"clip must be a pair \(lo, hi\)"),
    ("plot_pieces clip text", lambda: gen.plot_pieces(part("whole"), ax=ax3d(), clip="ab"), TypeError,
     "clip must be a pair"),
    ("plot_log_det ax 5", lambda: gen.plot_log_det(part("whole"), ax=5), TypeError, "ax must be matplotlib Axes"),
    ("plot_log_det 3-D latent", lambda: gen.plot_log_det(part("latent3"), ax=ax2d()), ValueError,
     "partition must have a 2-D latent"),
    ("plot_log_det pieces", lambda: gen.plot_log_det(part("whole"), ax=ax2d(), pieces=other_pieces()), ValueError,
     "pieces must be"),
))
def test_generative_functions_reject(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("draw", [lambda **kw: gen.plot_pieces(part("whole"), ax=ax3d(), **kw),
                                  lambda **kw: gen.plot_log_det(part("whole"), ax=ax2d(), **kw)],
                         ids=["plot_pieces", "plot_log_det"])
@pytest.mark.parametrize("clip, exc, match", [
    ((-1.0, 1.0, 2.0), ValueError, r"clip must be a pair \(lo, hi\), got 3 entries"),
    (([1.0, 1.0], [0.0, 2.0]), ValueError, r"clip must be \(lo, hi\) with lo < hi"),
    (([np.nan, 0.0], [1.0, 1.0]), ValueError, r"clip\[0\] contains NaN"),
    ((-1.0, np.ones(3)), ValueError, r"clip\[1\] must be a number or of shape \(2,\)"),
    (("a", 1.0), TypeError, r"clip\[0\] must be an array of numbers"),
])
def test_pictures_reject_bad_clip_rectangles(draw, clip, exc, match):
    with pytest.raises(exc, match=match):
        draw(clip=clip)


# ---------------------------------------------------------------------------------------------- pruning
NET = relutope.Network.random([2, 4, 4, 1], seed=0)


@pytest.mark.parametrize("call, exc, match", cases(
    ("prune net", lambda: pruning.prune("net", 0.3), TypeError, "net must be a relutope.Network"),
    ("prune amount 1", lambda: pruning.prune(NET, 1.0), ValueError, r"amount must be a fraction in \[0, 1\)"),
    ("prune amount < 0", lambda: pruning.prune(NET, -0.1), ValueError, "amount must be a fraction"),
    ("prune amount NaN", lambda: pruning.prune(NET, np.nan), ValueError, "amount must be a fraction"),
    ("prune amount text", lambda: pruning.prune(NET, "0.3"), ValueError, "amount must be a fraction"),
    ("prune scope", lambda: pruning.prune(NET, 0.3, scope="network"), ValueError, "scope must be 'layer' or"),
    ("prune criterion name", lambda: pruning.prune(NET, 0.3, criterion="l2"), ValueError,
     "criterion must be 'spline', 'magnitude' or an array"),
    ("prune criterion text scores", lambda: pruning.prune(NET, 0.3, criterion=["a"] * NET.n_units), TypeError,
     "criterion must be 'spline', 'magnitude' or an array of scores"),
    ("prune criterion shape", lambda: pruning.prune(NET, 0.3, criterion=np.ones(3)), ValueError,
     rf"criterion scores must have shape \({NET.n_units},\)"),
    ("prune criterion None", lambda: pruning.prune(NET, 0.3, criterion=None), ValueError,
     "criterion scores must have shape"),
    ("redundancy_scores net", lambda: pruning.redundancy_scores(None), TypeError, "net must be a relutope.Network"),
))
def test_pruning_rejects(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------------------------------------- region_stats
UNIT = relutope.Box([0.0, 0.0], [1.0, 1.0])


@pytest.mark.parametrize("call, exc, match", cases(
    ("network", lambda: region_stats.slice_summaries("net", [UNIT]), TypeError,
     "network must be a relutope.Network"),
    ("one domain", lambda: region_stats.slice_summaries(NET, UNIT), TypeError,
     r"slices must be a sequence of domains, got one Box \(pass \[it\]\)"),
    ("not iterable", lambda: region_stats.slice_summaries(NET, 3), TypeError, "slices must be a sequence"),
    ("not a domain", lambda: region_stats.slice_summaries(NET, [UNIT, "box"]), TypeError,
     r"slices\[1\] must be a relutope Domain"),
    ("wrong dimension", lambda: region_stats.slice_summaries(NET, [UNIT, relutope.Box([0, 0, 0], [1, 1, 1])]),
     ValueError, r"slices\[1\] has dimension 3 but the network takes 2 inputs"),
    ("unbounded", lambda: region_stats.slice_summaries(NET, [relutope.WholeSpace(2)]), ValueError,
     r"slices\[0\] must be bounded and of dimension <= 6"),
    ("7-D", lambda: region_stats.slice_summaries(relutope.Network.random([7, 2, 1], seed=0),
                                                 [relutope.Box(-np.ones(7), np.ones(7))]), ValueError,
     r"slices\[0\] must be bounded and of dimension <= 6"),
    ("max_regions < 0", lambda: region_stats.slice_summaries(NET, [UNIT], max_regions=-1), ValueError,
     "max_regions must be between 0"),
    ("max_regions float", lambda: region_stats.slice_summaries(NET, [UNIT], max_regions=1.5), TypeError,
     "max_regions must be"),
))
def test_slice_summaries_rejects(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_slice_summaries_checks_every_slice_before_enumerating(monkeypatch):
    import relutope.enumerate as enum

    calls = []
    monkeypatch.setattr(enum, "enumerate_regions", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError, match=r"slices\[2\]"):
        region_stats.slice_summaries(NET, [UNIT, UNIT, relutope.WholeSpace(2)])
    assert calls == []


def test_slice_summaries_passes_on_a_qhull_failure(monkeypatch):
    import scipy.spatial
    from scipy.spatial import QhullError

    from relutope.errors import NumericalError

    def fail(*args, **kwargs):
        raise QhullError("forced")

    monkeypatch.setattr(scipy.spatial, "ConvexHull", fail)  # the hull of the moments (vertices: the volume kernel)
    with pytest.raises(NumericalError, match="Qhull failed on region 0"):
        region_stats.slice_summaries(NET, [UNIT])


def test_slice_summaries_of_a_run_stopped_before_its_first_region():
    """max_regions=0 gives an empty, incomplete partition: count 0 and NaN statistics, without a warning (the test
    run turns warnings into errors)."""
    row, = region_stats.slice_summaries(NET, [UNIT], max_regions=0)
    assert row["count"] == 0 and not row["complete"]
    assert all(np.isnan(row[c]) for c in region_stats.SUMMARY_COLUMNS if c != "count")


# ---------------------------------------------------------------------------------------------- topology
@lru_cache(maxsize=None)
def complexes():
    from relutope import topology

    box = relutope.Box([-1.0, -1.0], [1.0, 1.0])
    two = topology.decision_complex(relutope.enumerate_regions(relutope.Network.random([2, 5, 1], seed=0), box))
    multi = topology.decision_complex(relutope.enumerate_regions(relutope.Network.random([2, 3, 2], seed=0), box))
    three = topology.decision_complex(relutope.enumerate_regions(relutope.Network.random([3, 2, 1], seed=0),
                                                                 relutope.Box(-np.ones(3), np.ones(3))))
    return {"two": two, "multi": multi, "three": three}


def top_cell_polygons(name, **kwargs):
    from relutope import topology

    return topology.top_cell_polygons(complexes()[name], **kwargs)


@pytest.mark.parametrize("call, exc, match", cases(
    ("triangulation cx", lambda: __import__("relutope.topology").topology.triangulation(part("box")), TypeError,
     "cx must be a DecisionComplex"),
    ("top_cell_polygons cx", lambda: __import__("relutope.topology").topology.top_cell_polygons(None), TypeError,
     "cx must be a DecisionComplex"),
    ("3-D complex", lambda: top_cell_polygons("three"), ValueError, "cx must be a two-dimensional complex"),
    ("which list", lambda: top_cell_polygons("two", which=[1]), TypeError, "which must be a set name"),
    ("which float", lambda: top_cell_polygons("two", which=1.0), TypeError, "which must be a set name"),
    ("which bool", lambda: top_cell_polygons("two", which=True), TypeError, "which must be a set name"),
    ("which unknown", lambda: top_cell_polygons("two", which="interior"), ValueError, "which must be one of"),
    ("which class 2 of 2", lambda: top_cell_polygons("two", which=2), ValueError,
     r"which, a class index, must be in \[0, 2\)"),
    ("superlevel of 2 outputs", lambda: top_cell_polygons("multi", which="superlevel"), ValueError,
     "'superlevel' needs a network with one output"),
    ("open boundary", lambda: top_cell_polygons("two", which="boundary", open=True), ValueError,
     "open=True applies to a class region"),
    ("open without which", lambda: top_cell_polygons("two", open=True), ValueError,
     "open=True applies to a class region.*pass which"),
))
def test_topology_rejects(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------------------------------------- persistence plot
@pytest.mark.parametrize("pairs, exc, match", [
    (None, TypeError, r"pairs must be a list of \(dimension, \(birth, death\)\) pairs"),
    ([(0, 1.0)], ValueError, r"pairs\[0\] must be \(dimension, \(birth, death\)\)"),
    (np.array([[0, 0.0, 1.0]]), ValueError, r"pairs\[0\] must be \(dimension"),
    ([(0, (0.0, 1.0)), (1.5, (0.0, 1.0))], ValueError, r"pairs\[1\] has dimension 1.5: it must be a non-negative"),
    ([(-1, (0.0, 1.0))], ValueError, r"pairs\[0\] has dimension -1"),
    ([("0", (0.0, 1.0))], ValueError, r"pairs\[0\] has dimension '0'"),
    ([(0, ("0", 1.0))], TypeError, r"pairs\[0\] must hold numbers as birth and death"),
    ([(0, (np.nan, 1.0))], ValueError, r"pairs\[0\] must have a finite birth"),
    ([(0, (np.inf, np.inf))], ValueError, r"pairs\[0\] must have a finite birth"),
    ([(0, (0.0, np.nan))], ValueError, r"pairs\[0\] must have a finite birth and a death >= it"),
    ([(0, (2.0, 1.0))], ValueError, r"pairs\[0\] must have a finite birth and a death >= it"),
])
def test_persistence_diagram_rejects_bad_pairs(pairs, exc, match):
    from relutope import plot

    with pytest.raises(exc, match=match):
        plot.persistence_diagram(pairs, ax=ax2d())


def test_persistence_diagram_rejects_bad_axes_and_options():
    pytest.importorskip("gudhi")
    from relutope import plot

    with pytest.raises(TypeError, match="ax must be matplotlib Axes"):
        plot.persistence_diagram([(0, (0.0, 1.0))], ax="axes")
    with pytest.raises(TypeError, match="colour"):  # GUDHI's own message names the argument
        plot.persistence_diagram([(0, (0.0, 1.0))], ax=ax2d(), colour="red")


# ---------------------------------------------------------------------------------------------- demo network
def fake_package(monkeypatch, tmp_path, write):
    """Point importlib.resources.files at a folder whose data/demo_net.npz ``write(path)`` makes."""
    import importlib.resources

    (tmp_path / "data").mkdir()
    if write is not None:
        write(tmp_path / "data" / "demo_net.npz")
    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)


W = {"W0": np.ones((3, 2)), "b0": np.zeros(3), "W1": np.ones((1, 3)), "b1": np.zeros(1)}


@pytest.mark.parametrize("write, match", [
    (None, "cannot read demo network file .*demo_net.npz.*no such file"),
    (lambda p: p.write_bytes(b"not a zip archive"), "cannot read demo network file .*not an .npz archive"),
    (lambda p: np.savez(p, **W), "network file 'relutope/data/demo_net.npz': array 'domain_lo'"),
    (lambda p: np.savez(p, **{**W, "b1": np.zeros(2)}), "network file 'relutope/data/demo_net.npz'"),
    (lambda p: np.savez(p, **W, domain_lo=[0.0, 0.0], domain_hi=[np.nan, 1.0]),
     "network file 'relutope/data/demo_net.npz': the demo box is invalid"),
], ids=["missing", "not a zip", "no box", "bad weights", "bad box"])
def test_demo_network_names_a_damaged_data_file(monkeypatch, tmp_path, write, match):
    from relutope.demo import demo_network

    fake_package(monkeypatch, tmp_path, write)
    with pytest.raises(ValueError, match=match):
        demo_network()


def test_demo_network_reads_a_sound_data_file(monkeypatch, tmp_path):
    from relutope.demo import demo_network

    fake_package(monkeypatch, tmp_path, lambda p: np.savez(p, **W, domain_lo=[0.0, -1.0], domain_hi=[1.0, 2.0]))
    net, box = demo_network()
    assert net.widths == [2, 3, 1] and box.lo.tolist() == [0.0, -1.0] and box.hi.tolist() == [1.0, 2.0]
    x = np.array([[0.5, -0.25]])
    assert np.allclose(net(x), np.maximum(W["W0"] @ x[0], 0).sum())  # relu hidden layer, linear output


# ---------------------------------------------------------------------------------------------- early-bird training
class FakeOptimizer:
    def zero_grad(self):
        pass

    def step(self):
        pass


def train(**kwargs):
    """train_with_early_bird with stand-ins: the checks below fail before torch is imported (the torch model's
    checks are in test_early_bird.py)."""
    from relutope.early_bird import EarlyBirdMonitor, train_with_early_bird

    args = {"model": None, "loader": [], "loss_fn": lambda y, t: 0.0, "optimizer": FakeOptimizer(), "epochs": 2,
            "monitor": EarlyBirdMonitor(2, [UNIT], n=4), "record_initial": False}
    args.update(kwargs)
    return train_with_early_bird(**args)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"epochs": -1}, ValueError, "epochs must be >= 0"),
    ({"epochs": 2.0}, TypeError, "epochs must be an int"),
    ({"epochs": True}, TypeError, "epochs must be an int"),
    ({"monitor": None}, TypeError, "monitor must be an EarlyBirdMonitor"),
    ({"loss_fn": "cross_entropy"}, TypeError, "loss_fn must be callable"),
    ({"optimizer": object()}, TypeError, "optimizer must be a torch.optim.Optimizer"),
    ({"loader": 5}, TypeError, "loader must be an iterable of"),
    ({"loader": "batches"}, TypeError, "loader must be an iterable of"),
    ({"loader": iter([])}, ValueError, "loader is a one-shot iterator"),
])
def test_train_with_early_bird_rejects(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train(**kwargs)


def test_train_with_early_bird_needs_torch(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" now raises ImportError
    with pytest.raises(ImportError, match="PyTorch"):
        train()


# ------------------------------------------------------------------------------------- flags and plot options
@lru_cache(maxsize=None)
def _planar_partition():
    net = relutope.Network.random([2, 6, 1], seed=0)
    return relutope.enumerate_regions(net, relutope.Box([-1.0, -1.0], [1.0, 1.0]))


def _plot(fn, **kw):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    import relutope.plot

    return getattr(relutope.plot, fn)(_planar_partition(), ax=Figure().add_subplot(), **kw)


@pytest.mark.parametrize("call, exc, match", [
    # a truthy string switched the flag on (progress bars drawn; check_complete(certify="no") ran the exact proof)
    (lambda: _planar_partition().volumes(progress="no"), TypeError, "progress must be a bool"),
    (lambda: relutope.enumerate_regions(relutope.Network.random([2, 4, 1], seed=0),
                                        relutope.Box([-1.0, -1.0], [1.0, 1.0]), progress="no"),
     TypeError, "progress must be a bool"),
    (lambda: relutope.output_bounds(relutope.Network.random([2, 4, 1], seed=0),
                                    relutope.Box([-1.0, -1.0], [1.0, 1.0]), progress=1),
     TypeError, "progress must be a bool"),
    (lambda: _planar_partition().facets(progress=1), TypeError, "progress must be a bool"),
    (lambda: _planar_partition().check_complete(certify="no"), TypeError, "certify must be a bool"),
    (lambda: _planar_partition().check_complete(progress=None), TypeError, "progress must be a bool"),
    # an unused layer was ignored, a NaN threshold failed deep inside ("lines contains NaN")
    (lambda: _plot("partition", color="pattern", layer=1), ValueError, "layer=1 is only used with color='layer'"),
    (lambda: _plot("partition", color="pattern", layer="x"), TypeError, "layer must be an int"),
    (lambda: _plot("decision_boundary", threshold=float("nan")), ValueError, "threshold must be finite"),
    (lambda: _plot("decision_boundary", threshold="0"), TypeError, "threshold must be a number"),
    # a bool count was read as 1
    (lambda: relutope.chao1([1, True, 2]), TypeError, "counts"),
    (lambda: relutope.ace([3, 1, np.True_]), TypeError, "counts"),
])
def test_flags_and_plot_options_reject(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_flags_and_plot_options_accept_valid_values():
    part = _planar_partition()
    assert part.check_complete(progress=np.bool_(False)).ok
    assert len(_plot("partition", color="layer", layer=1).get_paths()) == len(part)
    assert len(_plot("partition", color="pattern", layer=0).get_paths()) == len(part)
    _plot("decision_boundary", threshold=np.float32(0.25))


def _plot_module():
    pytest.importorskip("matplotlib")
    import relutope.plot

    return relutope.plot


def _topology():
    from relutope import topology

    return topology


@pytest.mark.parametrize("call", [
    lambda: relutope.distance.vq_distance(relutope.Network.random([2, 4, 1], seed=0), [0.0, 0.0], [1.0, 1.0],
                                          per_layer="no"),
    lambda: relutope.distance.hamming_distance(relutope.Network.random([2, 4, 1], seed=0), [0.0, 0.0], [1.0, 1.0],
                                               per_layer=1),
    lambda: relutope.exact_lp.check_interior_point(np.eye(2), np.ones(2), np.zeros(2), strict="no"),
    lambda: gen.manifold_pieces(_planar_partition(), exact="no"),
    lambda: _topology().betti_numbers(_topology().decision_complex(_planar_partition()), "superlevel", open="no"),
    lambda: _topology().cell_counts(_topology().decision_complex(_planar_partition()), 1, open=1),
    lambda: _plot("partition", edges="no"),
    lambda: _plot_module().layers(relutope.Network.random([2, 4, 1], seed=0), relutope.Box([-1.0, -1.0], [1.0, 1.0]),
                                  edges="no"),
    lambda: _plot_module().class_components(_topology().decision_complex(_planar_partition()), open="no"),
    lambda: _plot_module().class_components(_topology().decision_complex(_planar_partition()), edges=1),
    lambda: gen.entropy(_planar_partition(), check_injective="no"),
    lambda: relutope.early_bird.EarlyBirdMonitor(2, [relutope.Box([-1.0, -1.0], [1.0, 1.0])], count_regions="no"),
    lambda: relutope.early_bird.EarlyBirdMonitor(2, [relutope.Box([-1.0, -1.0], [1.0, 1.0])], exact=1),
])
def test_analysis_bool_flags_reject_non_bools(call):
    """A truthy string or int switched these flags on (per-layer output, exact ranks, strict test)."""
    pytest.importorskip("flint")
    with pytest.raises(TypeError, match="must be a bool"):
        call()
