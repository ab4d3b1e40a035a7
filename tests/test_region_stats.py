"""Region statistics (relutope.region_stats) against closed forms and Green's-theorem moments of the polygons."""
import numpy as np
import pytest

import relutope
from relutope.region_stats import data_slices, region_stats, slice_summaries


def _green_moments(P):
    """Area, centroid and covariance of a counter-clockwise polygon P (n, 2) by Green's theorem (about its first
    vertex, against cancellation in tiny regions far from the origin)."""
    o = P[0]
    x, y = P[:, 0] - o[0], P[:, 1] - o[1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cr = x * yn - xn * y
    A = cr.sum() / 2
    cx, cy = ((x + xn) * cr).sum() / (6 * A), ((y + yn) * cr).sum() / (6 * A)
    ixx = ((x * x + x * xn + xn * xn) * cr).sum() / (12 * A) - cx * cx
    iyy = ((y * y + y * yn + yn * yn) * cr).sum() / (12 * A) - cy * cy
    ixy = ((x * yn + 2 * x * y + 2 * xn * yn + xn * y) * cr).sum() / (24 * A) - cx * cy
    return A, o + np.array([cx, cy]), np.array([[ixx, ixy], [ixy, iyy]])


def test_planar_regions_against_greens_theorem():
    net = relutope.Network.random([2, 10, 10, 1], seed=0)
    box = relutope.Box([-1.0, -1.2], [2.0, 1.3])  # off-centre
    part = relutope.enumerate_regions(net, box)
    st = region_stats(part)
    assert len(st) == len(part) > 20
    np.testing.assert_allclose(st.volume, part.volumes(), rtol=1e-9)
    np.testing.assert_allclose(st.volume.sum(), 3.0 * 2.5, rtol=1e-9)
    np.testing.assert_array_equal(st.inradius, part.radii)
    for i, poly in enumerate(part.polygons()):
        A, c, cov = _green_moments(poly)
        np.testing.assert_allclose(st.volume[i], A, rtol=1e-9)
        np.testing.assert_allclose(st.centroid[i], c, rtol=0, atol=1e-9)
        lam = np.linalg.eigvalsh(cov)
        np.testing.assert_allclose(st.eccentricity[i], np.sqrt(1 - lam[0] / lam[1]), atol=1e-6)
        assert st.n_vertices[i] <= len(poly) and st.n_vertices[i] == st.n_facets[i]
    assert np.all(part.domain.contains(st.centroid))
    np.testing.assert_array_equal(part.locate(st.centroid), np.arange(len(part)))  # convex: centroid inside


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_box_cells_closed_forms(scale):
    # axis-aligned cuts of an off-centre box: every region is a box with known sides
    cuts = [np.array([0.3, 1.1]), np.array([0.5]), np.array([0.2, 0.9])]
    lo = np.array([10.0, -4.0, 3.0]) * scale
    W, b = [], []
    for axis, cs in enumerate(cuts):
        for c in cs:
            W.append(np.eye(3)[axis])
            b.append(-(lo[axis] + c * scale))
    net = relutope.Network.from_weights([(np.array(W), np.array(b)), (np.ones((1, 5)), np.zeros(1))])
    part = relutope.enumerate_regions(net, relutope.Box(lo, lo + scale * np.array([1.5, 1.0, 1.2])))
    st = region_stats(part)
    assert len(st) == 3 * 2 * 3
    edges = [np.diff(np.r_[0, cs, w]) for cs, w in zip(cuts, (1.5, 1.0, 1.2))]
    sides = np.array(np.meshgrid(*edges, indexing="ij")).reshape(3, -1).T * scale  # (18, 3)
    order = np.lexsort(np.round(st.centroid / scale, 6).T[::-1])
    mids = np.array(np.meshgrid(*[np.cumsum(e) - e / 2 for e in edges], indexing="ij")).reshape(3, -1).T
    ref = np.lexsort(np.round(mids, 6).T[::-1])
    np.testing.assert_allclose(st.volume[order], np.prod(sides[ref], axis=1), rtol=1e-8)
    np.testing.assert_allclose(st.centroid[order], lo + mids[ref] * scale, rtol=1e-9, atol=1e-9 * scale)
    ecc = np.sqrt(1 - sides.min(axis=1) ** 2 / sides.max(axis=1) ** 2)
    np.testing.assert_allclose(st.eccentricity[order], ecc[ref], atol=1e-6)
    np.testing.assert_allclose(st.inradius[order], sides[ref].min(axis=1) / 2, rtol=1e-6)
    assert np.all(st.n_vertices == 8) and np.all(st.n_facets == 6)


def test_slices_through_data_points_and_summaries():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(30, 8)) + 1.0, np.repeat([0, 1, 2], 10)
    net = relutope.Network.random([8, 8, 8, 3], seed=1)
    slices = data_slices(X, 2, seed=4, margin=0.25, labels=y)
    assert len(slices) == 2
    for s in slices:
        assert len(set(y[s.points].tolist())) == 1
        np.testing.assert_allclose(s.to_input(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])), X[s.points])
    rows = slice_summaries(net, slices)
    for s, row in zip(slices, rows):
        part = relutope.enumerate_regions(net, s)
        assert row["count"] == len(part) and row["complete"]
        # regions tile the slice: total area in input units is the square's area times the basis' Gram factor
        B = s.basis
        np.testing.assert_allclose(row["volume_total"], 1.5 ** 2 * np.sqrt(np.linalg.det(B.T @ B)), rtol=1e-9)
        np.testing.assert_allclose(row["volume_mean"], part.volumes().mean(), rtol=1e-9)
    frame = slice_summaries(net, slices[:1], as_frame=True)
    assert list(frame.columns)[:4] == ["slice", "points", "complete", "seconds"] and len(frame) == 1
    assert len(region_stats(relutope.enumerate_regions(net, slices[0])).to_frame()) == rows[0]["count"]


def test_region_stats_bad_input():
    with pytest.raises(TypeError, match="partition"):
        region_stats("part")
    net = relutope.Network.random([7, 4, 1], seed=0)
    with pytest.raises(ValueError, match="dimension <= 6"):
        region_stats(relutope.enumerate_regions(net, relutope.Box(-np.ones(7), np.ones(7))))
    with pytest.raises(ValueError, match="at least 3"):
        data_slices(np.zeros((2, 4)), 1)
    with pytest.raises(ValueError, match="n_slices"):
        data_slices(np.random.default_rng(0).normal(size=(5, 4)), 0)
    with pytest.raises(ValueError, match="collinear"):
        data_slices(np.outer(np.arange(5.0), np.ones(4)), 1)


def test_a_degenerate_vertex_set_is_a_numerical_error_naming_the_region(monkeypatch):
    """A region whose vertex set comes out flat (collinear in 2-D: what rounding can do to a sliver) cannot be
    hulled by Qhull for its moments: region_stats raises relutope's NumericalError naming the region, never
    scipy's QhullError."""
    from relutope import geometry
    from relutope.errors import NumericalError

    bad = 1

    def flat(partition, regions=None, _real=geometry._polytope_measures, **kw):
        m = _real(partition, regions, **kw)
        V = m.vertices.copy()
        s = slice(int(m.offsets[bad]), int(m.offsets[bad + 1]))
        t = np.linspace(-1.0, 1.0, s.stop - s.start)
        V[s] = partition._centers[bad] + 1e-3 * t[:, None] * np.array([1.0, 0.0])   # collinear points
        return geometry._Measures(m.regions, m.offsets, V, m.volumes, m.surfaces)

    monkeypatch.setattr(geometry, "_polytope_measures", flat)
    part = relutope.enumerate_regions(relutope.Network.random([2, 6, 1], seed=0), relutope.Box([2.0, -1.0],
                                                                                              [4.0, 0.5]))
    assert len(part) > bad
    with pytest.raises(NumericalError, match=rf"Qhull failed on region {bad}\b"):
        region_stats(part)


@pytest.mark.parametrize("what", ["volumes", "Region.volume", "Region.vertices", "boundary_density"])
def test_facets_the_volume_kernel_cannot_close_are_a_numerical_error_naming_the_region(what, monkeypatch):
    """Facet rows that do not bound a polytope around the region's centre (a row moved past it, as a broken facet
    computation could leave them) stop every caller of the volume kernel with relutope's NumericalError naming the
    region."""
    from relutope import complexity, geometry
    from relutope.errors import NumericalError

    bad = 1

    def broken(partition, regions=None, *args, _real=geometry.region_facets, **kw):
        f = _real(partition, regions, *args, **kw)
        j = np.flatnonzero(f.regions == bad)
        if len(j):
            f._rhs_v = f._rhs_v.copy()
            f._rhs_v[int(f.offsets[j[0]])] = -10.0   # the first facet's half-space now misses the centre
        return f

    monkeypatch.setattr(geometry, "region_facets", broken)
    if what == "boundary_density":    # 3-D neighbourhoods: their regions' surfaces from the kernel
        net = relutope.Network.random([3, 6, 1], seed=0)
        with pytest.raises(NumericalError, match=rf"region {bad} \(\d+ facets\).*centre is not strictly inside"):
            complexity.local_complexity(net, np.zeros((1, 3)), 0.5, n_dirs=3, seed=0, boundary=True)
        return
    part = relutope.enumerate_regions(relutope.Network.random([2, 6, 1], seed=0), relutope.Box([2.0, -1.0],
                                                                                              [4.0, 0.5]))
    assert len(part) > bad
    call = {"volumes": part.volumes, "Region.volume": lambda: part[bad].volume(),
            "Region.vertices": lambda: part[bad].vertices()}[what]
    with pytest.raises(NumericalError, match=rf"region {bad} \(\d+ facets\).*centre is not strictly inside"):
        call()


@pytest.mark.parametrize("d", [5, 6])
@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_box_cells_in_five_and_six_dimensions_closed_form(d, scale):
    """Coordinate hyperplanes x_j = cut_j cut an off-centre box into 2^d boxes: volume prod(a), centroid the
    middle, eccentricity sqrt(1 - min a^2 / max a^2) (covariance diag(a^2 / 12)), 2^d vertices, 2d facets."""
    centre, half = np.linspace(3, -7, d) * scale, np.linspace(1.0, 2.0, d) * scale
    cut = centre + np.linspace(-0.5, 0.3, d) * half
    net = relutope.Network.from_weights([(np.eye(d), -cut), (np.ones((1, d)), np.zeros(1))])
    box = relutope.Box(centre - half, centre + half)
    part = relutope.enumerate_regions(net, box)
    st = region_stats(part)
    assert len(part) == 2 ** d
    up = part.patterns[:, :d].astype(bool)
    lo, hi = np.where(up, cut, box.lo), np.where(up, box.hi, cut)
    a = hi - lo
    np.testing.assert_allclose(st.volume, np.prod(a, axis=1), rtol=1e-12)
    np.testing.assert_allclose(st.centroid, (lo + hi) / 2, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(st.eccentricity, np.sqrt(1 - a.min(axis=1) ** 2 / a.max(axis=1) ** 2), atol=1e-12)
    assert np.all(st.n_vertices == 2 ** d) and np.all(st.n_facets == 2 * d)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_slice_summaries_up_to_the_volume_kernels_dimension(scale):
    """slice_summaries takes domains up to MAX_VERTEX_DIM (6), as region_stats does, and refuses 7: the summed
    volumes equal the box's volume (closed form), at any scale off-centre."""
    from relutope.geometry import MAX_VERTEX_DIM
    from relutope.region_stats import slice_summaries
    d = MAX_VERTEX_DIM
    rng = np.random.default_rng(0)
    W0, b0, W1 = rng.standard_normal((4, d)), 0.3 * rng.standard_normal(4), rng.standard_normal((1, 4))
    c = np.linspace(-0.3, 0.4, d)
    box = relutope.Box((c - 1) * scale, (c + 1) * scale)
    # x = scale (c + t), t in [-1, 1]^d: the same partition of t at every scale
    net_s = relutope.Network.from_weights([(W0 / scale, b0 - W0 @ c), (W1, np.zeros(1))])
    (row,) = slice_summaries(net_s, [box])
    assert row["complete"]
    assert row["volume_total"] == pytest.approx((2 * scale) ** d, rel=1e-9)
    wide = relutope.Network.random([d + 1, 4, 1], seed=0)
    with pytest.raises(ValueError, match="dimension <= 6"):
        slice_summaries(wide, [relutope.Box(-np.ones(d + 1), np.ones(d + 1))])
