"""The compiled volume kernel (cpp/src/volume.cpp): vertices and volumes of regions from their facets.

Checked against scipy's Qhull (HalfspaceIntersection + ConvexHull, run here on the same facets: an independent
implementation), against the domain's volume (the regions tile it; box, polytope and slice domains at scales 1e-6,
1 and 1e6, off-centre), and against closed forms on degenerate arrangements (many hyperplanes through one point,
through the box's vertices, duplicate units), with 1 and 2 threads.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull, HalfspaceIntersection

import relutope
from gil import ticks_while
from relutope import _core, geometry


def _net(widths, seed, offset=None, scale=1.0):
    """A random ReLU net whose first-layer hyperplanes cut the box of half-width `scale` around `offset`:
    x -> f((x - offset) / scale) with f random (weights N(0, 1), biases N(0, 0.5))."""
    rng = np.random.default_rng(seed)
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers.append([rng.normal(size=(b, a)), 0.5 * rng.normal(size=b)])
    offset = np.zeros(widths[0]) if offset is None else np.asarray(offset, float)
    W, c = layers[0]
    layers[0] = [W / scale, c - W @ offset / scale]
    return relutope.Network.from_weights([tuple(x) for x in layers])


def _qhull(part):
    """Per region: (vertices in u, volume, surface) from Qhull on the partition's facets (k >= 2); for k = 1 the
    interval's ends from the rows in closed form."""
    f = part.facets()
    out = []
    for i in range(len(part)):
        s = slice(int(f.offsets[i]), int(f.offsets[i + 1]))
        A, b, c = f._rows_u[s], f.b[s], part._centers[i]
        if A.shape[1] == 1:
            a = A[:, 0]
            lo, hi = np.max(b[a < 0] / a[a < 0]), np.min(b[a > 0] / a[a > 0])
            out.append((np.array([[lo], [hi]]), hi - lo, 2.0))
            continue
        pts = HalfspaceIntersection(np.c_[A, -b], c).intersections
        hull = ConvexHull(pts)
        out.append((pts[hull.vertices], hull.volume, hull.area))
    return out


def _same_points(P, Q, tol):
    """Whether the point sets P and Q (n, k) are equal within tol (each point of one within tol of the other)."""
    if len(P) != len(Q):
        return False
    D = np.abs(P[:, None, :] - Q[None, :, :]).max(axis=2)
    return bool((D.min(axis=1) <= tol).all() and (D.min(axis=0) <= tol).all())


@pytest.mark.parametrize("widths,seed", [([1, 8, 8, 1], 0), ([2, 10, 10, 1], 1), ([3, 8, 8, 1], 2),
                                         ([4, 6, 6, 1], 3), ([5, 6, 1], 4), ([6, 5, 1], 5)])
def test_volumes_vertices_and_surfaces_equal_qhulls(widths, seed):
    d = widths[0]
    lo, hi = np.full(d, -0.7), np.linspace(0.8, 1.3, d)     # off-centre, not a cube
    part = relutope.enumerate_regions(_net(widths, seed), relutope.Box(lo, hi))
    assert len(part) > 5
    m = geometry._polytope_measures(part)
    ref = _qhull(part)
    scale = float(np.max(hi - lo))
    for i, (V, vol, area) in enumerate(ref):
        assert m.volumes[i] == pytest.approx(vol, rel=1e-9)
        assert m.surfaces[i] == pytest.approx(area, rel=1e-9)
        assert _same_points(m.vertices_of(i), V, 1e-9 * scale), i
    np.testing.assert_allclose(part.volumes(), m.volumes, rtol=0, atol=0)
    assert part.volumes().sum() == pytest.approx(np.prod(hi - lo), rel=1e-9)


def test_vertices_lie_on_k_facets_and_inside_all_with_the_documented_order():
    for d in (1, 2, 3):
        part = relutope.enumerate_regions(_net([d, 8, 8, 1], 7), relutope.Box(-np.ones(d), np.ones(d)))
        f = part.facets()
        for i in range(len(part)):
            V = geometry.region_vertices(part, i)
            s = slice(int(f.offsets[i]), int(f.offsets[i + 1]))
            slack = f.b[s][None, :] - V @ f._rows_u[s].T        # (V, F): >= 0 inside, 0 on a facet
            assert slack.min() > -1e-12
            assert ((np.abs(slack) < 1e-12).sum(axis=1) >= d).all()
            if d == 1:
                assert V[0, 0] < V[1, 0]
            if d == 2:   # counter-clockwise: every turn to the left
                e = np.roll(V, -1, axis=0) - V
                assert (e[:, 0] * np.roll(e, -1, axis=0)[:, 1] - e[:, 1] * np.roll(e, -1, axis=0)[:, 0] > 0).all()


def _polytope_domain(offset, scale):
    """A 3-D polytope domain (the convex hull of 12 random points around `offset`) and its volume by Qhull."""
    rng = np.random.default_rng(0)
    P = offset + scale * rng.uniform(-1, 1, size=(12, 3))
    hull = ConvexHull(P)
    A, b = hull.equations[:, :3], -hull.equations[:, 3]
    return relutope.Polytope(A, b), hull.volume


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_regions_tile_the_domain_at_every_scale_off_centre(scale):
    offset = np.array([3.0, -2.0, 5.0]) * scale * 10.0        # ten half-widths off the origin
    net = _net([3, 8, 8, 1], 11, offset=offset, scale=scale)
    box = relutope.Box(offset - scale, offset + np.array([1.0, 0.5, 2.0]) * scale)
    part = relutope.enumerate_regions(net, box)
    assert len(part) > 20
    assert part.volumes().sum() == pytest.approx(box.volume(), rel=1e-9)
    poly, vol = _polytope_domain(offset, scale)
    part = relutope.enumerate_regions(net, poly)
    assert len(part) > 5
    assert part.volumes().sum() == pytest.approx(vol, rel=1e-9)
    # a 3-D slice of a 5-D input space, with a basis that is not orthonormal: volumes in input units
    B = np.array([[1.0, 0.2, 0.0], [0.0, 1.0, 0.3], [0.1, 0.0, 1.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.7]])
    origin = np.r_[offset, 2.0 * scale, -scale]
    net5 = _net([5, 8, 8, 1], 12, offset=origin, scale=scale)
    inner = relutope.Box(-scale * np.ones(3), scale * np.array([1.0, 2.0, 1.5]))
    part = relutope.enumerate_regions(net5, relutope.Slice(origin, B, inner))
    assert len(part) > 5
    expected = inner.volume() * math.sqrt(np.linalg.det(B.T @ B))
    assert part.volumes().sum() == pytest.approx(expected, rel=1e-9)


def _units(rows):
    """A one-hidden-layer net whose units are the hyperplanes w . x + c = 0 given as rows (w, c)."""
    R = np.asarray(rows, dtype=float)
    return relutope.Network.from_weights([(R[:, :-1], R[:, -1]), (np.ones((1, len(R))), np.zeros(1))])


@pytest.mark.parametrize("d", [2, 3, 4])
def test_all_pairwise_diagonals_give_equal_simplices(d):
    """The hyperplanes x_i = x_j (all pairs) through the cube's centre and its vertices (very degenerate: every
    one through the centre and the diagonal) cut [-1, 1]^d into the d! order cones, each of volume 2^d / d!."""
    rows = []
    for i in range(d):
        for j in range(i + 1, d):
            w = np.zeros(d + 1)
            w[i], w[j] = 1.0, -1.0
            rows.append(w)
    part = relutope.enumerate_regions(_units(rows), relutope.Box(-np.ones(d), np.ones(d)))
    assert len(part) == math.factorial(d)
    np.testing.assert_allclose(part.volumes(), 2.0 ** d / math.factorial(d), rtol=1e-12)
    for i in range(len(part)):   # each is the simplex spanned by d + 1 cube vertices (one of them the diagonal's)
        V = geometry.region_vertices(part, i)
        assert len(V) == d + 1
        np.testing.assert_allclose(np.abs(V), 1.0, atol=1e-12)


def test_hyperplanes_through_one_point_and_duplicate_units():
    """Three lines through a point in the plane (and a duplicate, and a scaled copy, of one), and four planes
    through a point in space: the sectors' areas in closed form (a sector of the square centred at the common point
    of angle between two lines through the centre) and against Qhull."""
    # 2-D: the lines x = 0, y = 0, x = y through the origin of [-1, 1]^2: regions of area 1 (two), 0.5 (four).
    rows = [[1, 0, 0], [0, 1, 0], [1, -1, 0], [1, 0, 0], [2, 0, 0]]
    part = relutope.enumerate_regions(_units(rows), relutope.Box([-1, -1], [1, 1]))
    np.testing.assert_allclose(np.sort(part.volumes()), [0.5, 0.5, 0.5, 0.5, 1.0, 1.0], rtol=1e-12)
    # 3-D: the planes x = 0, y = 0, z = 0 and x + y + z = 0 through the origin, off-centre box.
    rows = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 0]]
    box = relutope.Box([-1.0, -0.5, -2.0], [1.5, 1.0, 0.5])
    part = relutope.enumerate_regions(_units(rows), box)
    vols = part.volumes()
    np.testing.assert_allclose(vols, [v for _, v, _ in _qhull(part)], rtol=1e-9)
    assert vols.sum() == pytest.approx(box.volume(), rel=1e-12)
    # the plane x + y + z = 0 leaves the octants +++ and --- whole: 1.5 * 1 * 0.5 and 1 * 0.5 * 2
    whole = part.locate(np.array([[0.5, 0.5, 0.25], [-0.5, -0.25, -1.0]]))
    np.testing.assert_allclose(vols[whole], [0.75, 1.0], rtol=1e-12)


def test_planes_through_the_boxs_vertices():
    """Planes through vertices of [-1, 1]^3: x + y + z = 1 through (1, 1, -1), (1, -1, 1), (-1, 1, 1) cuts off the
    corner tetrahedron at (1, 1, 1), of volume 2^3 / 6; x - y - z = 1 through (1, 1, -1), (1, -1, 1), (1, -1, -1)
    touches it along an edge, and x + y = 0 (through two edges of the cube) at the vertex (1, -1, 1) only."""
    rows = [[1, 1, 1, -1], [1, 1, 0, 0], [1, -1, -1, -1]]
    box = relutope.Box(-np.ones(3), np.ones(3))
    part = relutope.enumerate_regions(_units(rows), box)
    vols = part.volumes()
    np.testing.assert_allclose(vols, [v for _, v, _ in _qhull(part)], rtol=1e-9)
    assert vols.sum() == pytest.approx(8.0, rel=1e-12)
    corner = part.locate(np.array([[0.9, 0.9, 0.9]]))[0]
    assert vols[corner] == pytest.approx(8.0 / 6.0, rel=1e-12)
    V = geometry.region_vertices(part, corner)
    assert _same_points(V, np.array([[1.0, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]]), 1e-12)


def test_one_and_two_threads_give_identical_results():
    part = relutope.enumerate_regions(_net([3, 10, 10, 1], 21), relutope.Box(-np.ones(3), np.ones(3)))
    assert len(part) > 4 * 64    # several chunks of the kernel's parallel loop
    one = geometry._polytope_measures(part, threads=1)
    two = geometry._polytope_measures(part, threads=2)
    for a, b in zip((one.offsets, one.vertices, one.volumes, one.surfaces),
                    (two.offsets, two.vertices, two.volumes, two.surfaces)):
        assert np.array_equal(a, b)
    assert np.array_equal(part.volumes(threads=2), one.volumes)


def test_the_kernel_releases_the_gil():
    # While the kernel runs in a thread, the main thread keeps running Python code (as for the facets).
    part = relutope.enumerate_regions(_net([4, 10, 10, 1], 3), relutope.Box(-np.ones(4), np.ones(4)))
    f = part.facets()
    frame = part.domain._engine_frame()
    args = (f.offsets, f._rows_u, f._rhs_v, frame.to_v(part._centers))
    r, ticks = ticks_while(lambda: _core.polytope_measures(*args, True, None, 0, 1))
    core = r["seconds"]
    assert r["status"] == "complete" and core > 0.02
    assert np.diff(ticks).max() < 0.5 * core


def test_bad_input_is_a_clear_error():
    part = relutope.enumerate_regions(_net([2, 4, 1], 0), relutope.Box([-1, -1], [1, 1]))
    with pytest.raises(ValueError, match="threads must be between 1"):
        part.volumes(threads=0)
    with pytest.raises(TypeError, match="threads must be an int"):
        part.volumes(threads=1.5)
    with pytest.raises(TypeError, match="threads must be an int"):
        geometry.region_volumes(part, threads=True)
    part.volumes()
    with pytest.raises(ValueError, match="threads must be between 1"):   # checked when cached too
        part.volumes(threads=-1)
    whole = relutope.enumerate_regions(_net([2, 4, 1], 0), relutope.WholeSpace(2))
    with pytest.raises(ValueError, match=r"region \d+ is unbounded"):
        whole.volumes()
    part7 = relutope.enumerate_regions(_net([7, 2, 1], 0), relutope.Box(-np.ones(7), np.ones(7)))
    with pytest.raises(ValueError, match="dimension <= 6"):
        part7.volumes()
    # the compiled entry point checks its arrays
    off, rows, rhs, cen = np.array([0, 4]), np.r_[np.eye(2), -np.eye(2)], np.ones(4), np.zeros((1, 2))
    assert _core.polytope_measures(off, rows, rhs, cen)["volumes"][0] == pytest.approx(4.0, rel=1e-15)
    with pytest.raises(ValueError, match="offsets"):
        _core.polytope_measures(np.array([0, 3]), rows, rhs, cen)
    with pytest.raises(ValueError, match="offsets"):
        _core.polytope_measures(np.array([0, 5, 4]), rows, rhs, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="rows"):
        _core.polytope_measures(off, np.r_[rows[:3], [[np.nan, 0]]], rhs, cen)
    with pytest.raises(ValueError, match="centers"):
        _core.polytope_measures(off, rows, rhs, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="rhs"):
        _core.polytope_measures(off, rows, rhs[:3], cen)
    with pytest.raises(ValueError, match="threads"):
        _core.polytope_measures(off, rows, rhs, cen, threads=0)
    # outcomes of the kernel are statuses: a centre outside, a set with no vertex (a strip), an unbounded wedge
    out = _core.polytope_measures(off, rows, rhs, np.array([[2.0, 0.0]]))
    assert out["status"] == "numerical" and out["region"] == 0 and "centre" in out["message"]
    assert _core.polytope_measures(np.array([0, 2]), rows[[0, 2]], rhs[:2], cen)["status"] == "unbounded"
    wedge = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 0.0]])
    assert _core.polytope_measures(np.array([0, 2]), wedge[:2], np.ones(2), cen)["status"] == "unbounded"
    out = _core.polytope_measures(np.array([0, 3]), wedge, np.ones(3), cen)   # closed by x >= -1: area 4
    assert out["status"] == "complete" and out["volumes"][0] == pytest.approx(4.0, rel=1e-14)


def test_a_callback_error_or_a_broken_region_stops_the_kernel():
    part = relutope.enumerate_regions(_net([2, 16, 16, 1], 2), relutope.Box([-1, -1], [1, 1]))
    f = part.facets()
    frame = part.domain._engine_frame()
    assert len(part) > 2 * 64

    def boom(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _core.polytope_measures(f.offsets, f._rows_u, f._rhs_v, frame.to_v(part._centers), True, boom, 64, 1)
    # a region the kernel cannot decide (a row moved past its centre) stops the run, the regions before it kept
    bad = f._rhs_v.copy()
    bad[int(f.offsets[3])] = -5.0
    out = _core.polytope_measures(f.offsets, f._rows_u, bad, frame.to_v(part._centers))
    assert out["status"] == "numerical" and out["region"] == 3
    np.testing.assert_array_equal(out["volumes"], part.volumes()[:3])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=st.integers(2, 5), seed=st.integers(0, 2 ** 31), scale_exp=st.sampled_from([-6, 0, 6]))
def test_degenerate_integer_nets_tile_the_box(d, seed, scale_exp):
    """Hyperplanes with weights and biases in {-1, 0, 1} (many through one point, through the box's vertices, along
    its faces, duplicates) on an off-centre box of half-width 10^scale_exp: the volumes tile the box, and every
    region's volume equals Qhull's on the same facets."""
    rng = np.random.default_rng(seed)
    h, scale = int(rng.integers(3, 7)), 10.0 ** scale_exp
    off = 10.0 * scale * rng.normal(size=d)
    W1, b1 = rng.integers(-1, 2, size=(h, d)).astype(float), rng.integers(-1, 2, size=h).astype(float)
    W1[np.all(W1 == 0, axis=1), 0] = 1.0
    W2, b2 = rng.integers(-1, 2, size=(3, h)).astype(float), rng.integers(-1, 2, size=3).astype(float)
    net = relutope.Network.from_weights([(W1 / scale, b1 - W1 @ off / scale), (W2, b2), (np.ones((1, 3)), [0.0])])
    box = relutope.Box(off - scale, off + scale)
    part = relutope.enumerate_regions(net, box)
    vols = part.volumes()
    assert vols.sum() == pytest.approx(box.volume(), rel=1e-9)
    np.testing.assert_allclose(vols, [v for _, v, _ in _qhull(part)], rtol=1e-9)
