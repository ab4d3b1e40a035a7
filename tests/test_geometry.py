"""Tests of facets (minimal H-representations), vertices and volumes (relutope.geometry).

Expected values come from outside the engine: the unreduced H-representation of every region (the oracle's
composition in tests/oracle.py and Region.halfspaces), LPs solved with scipy's HiGHS, and closed forms (areas of
boxes, slices and half-boxes, the sawtooth's 2^L equal pieces).
"""
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(_ROOT / "tests"))

from gil import ticks_while  # noqa: E402
from oracle import region_halfspaces, sawtooth_net  # noqa: E402

from relutope import Box, Layer, Network, Partition, Polytope, Slice, WholeSpace, enumerate_regions  # noqa: E402

FREE = [(None, None)]


def box(d, lo=-1.0, hi=1.0):
    return Box(np.full(d, lo), np.full(d, hi))


def maxout_net(d, units, K, seed):
    """A layer of `units` max units with K random affine pieces each, then a linear output."""
    rng = np.random.default_rng(seed)
    hidden = Layer(rng.normal(size=(units * K, d)), rng.normal(scale=0.5, size=units * K), [K] * units)
    return Network([hidden, Layer.affine(rng.normal(size=(1, units)), np.zeros(1), "identity")])


def lp_max(c, A, b):
    """max c.t s.t. A t <= b with HiGHS: (value or +inf when unbounded)."""
    res = linprog(-c, A_ub=A, b_ub=b, bounds=FREE * len(c), method="highs")
    if res.status == 2:  # HiGHS' presolve can report an unbounded LP as infeasible: ask again without it
        res = linprog(-c, A_ub=A, b_ub=b, bounds=FREE * len(c), method="highs", options={"presolve": False})
    if res.status == 3:
        return np.inf
    assert res.status == 0, res.message
    return -res.fun


def facet_radius_highs(A, b, j):
    """Chebyshev radius of {t : A t <= b} within the hyperplane A[j] t = b[j] (rows of A unit length)."""
    g = A[j]
    others = np.delete(np.arange(len(b)), j)
    G = A[others]
    pn = np.linalg.norm(G - np.outer(G @ g, g), axis=1)
    k = A.shape[1]
    res = linprog(np.r_[np.zeros(k), -1.0], A_ub=np.c_[G, pn], b_ub=b[others], A_eq=np.r_[g, 0.0][None],
                  b_eq=[b[j]], bounds=FREE * k + [(None, 10.0)], method="highs")
    assert res.status == 0, res.message
    return -res.fun


def check_minimal_hrep(part, regions):
    """Every check of a minimal H-representation with source labels, against the oracle's full rows."""
    net = part.network
    form = part.domain._engine_form()
    Ad, bd = part.domain.constraints()
    units = np.nonzero(net.n_pieces >= 2)[0]
    for i in regions:
        f = part.facets(int(i))
        assert f.index == i and len(f) >= 2
        assert np.all(f.radii > min(part.tol, 1e-9))
        # The oracle's rows: domain rows, then one row per (unit with K >= 2, piece s != p), in order.
        A_full, b_full = region_halfspaces(net, part.patterns[i], x0=form.x0, E=form.Q, Adom=form.A, bdom=form.b,
                                           ties="closed")
        sources = [("dom", r) for r in range(len(bd))]
        sources += [(int(u), s) for u in units for s in range(net.n_pieces[u]) if s != part.patterns[i][u]]
        A_full, b_full = A_full @ form.R, b_full  # rows in domain coordinates t
        nrm = np.linalg.norm(A_full, axis=1)
        live = nrm > 1e-12
        # 1. Each facet point lies on its own row and inside every other facet row and every full row.
        resid = f.A @ f.points.T - f.b[:, None]
        assert np.all(np.abs(np.diag(resid)) <= 1e-9)
        assert np.all(resid[~np.eye(len(f), dtype=bool)] <= 1e-9)
        assert np.all(A_full[live] @ f.points.T <= b_full[live, None] + 1e-9)
        # 2. The facet rows define the region: every full row is implied by them.
        for a, b in zip(A_full[live], b_full[live]):
            assert lp_max(a, f.A, f.b) <= b + 1e-7 * (1 + abs(b))
        # 3. Minimality: dropping any facet row strictly enlarges the region.
        for j in range(len(f)):
            keep = np.arange(len(f)) != j
            assert lp_max(f.A[j], f.A[keep], f.b[keep]) > f.b[j] + 1e-9
        # 4. Sources: each facet row is its source's row, normalised.
        for j in range(len(f)):
            src = ("dom", int(-1 - f.unit[j])) if f.unit[j] < 0 else (int(f.unit[j]), int(f.piece[j]))
            r = sources.index(src)
            s = np.linalg.norm(f.A[j]) / nrm[r]
            np.testing.assert_allclose(f.A[j], A_full[r] * s, atol=1e-9)
            assert f.b[j] == pytest.approx(b_full[r] * s, abs=1e-9)
            assert f.layer[j] == (-1 if f.unit[j] < 0 else net.unit_layer[f.unit[j]])
        # 5. The facet point is the facet's Chebyshev centre: same radius as HiGHS finds on the full rows.
        if part.domain.bounded:
            Au = A_full[live] @ form.Rinv
            n = np.linalg.norm(Au, axis=1)
            Au, bu = Au / n[:, None], b_full[live] / n
            for j in range(len(f)):
                gu = f.A[j] @ form.Rinv
                bj = f.b[j] / np.linalg.norm(gu)
                row = int(np.argmin(np.abs(Au - gu / np.linalg.norm(gu)).sum(axis=1) + np.abs(bu - bj)))
                assert f.radii[j] == pytest.approx(facet_radius_highs(Au, bu, row), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("widths,seed,activation", [([2, 6, 6, 1], 0, "relu"), ([3, 6, 5, 1], 1, "relu"),
                                                    ([3, 7, 1], 2, "leaky_relu"), ([2, 5, 5, 1], 3, "abs")])
def test_minimal_hrep_random_nets(widths, seed, activation):
    net = Network.random(widths, seed=seed, activation=activation)
    part = enumerate_regions(net, box(widths[0]))
    rng = np.random.default_rng(seed)
    check_minimal_hrep(part, rng.choice(len(part), size=min(12, len(part)), replace=False))


def test_minimal_hrep_maxout_and_slice():
    part = enumerate_regions(maxout_net(2, 3, 3, seed=4), box(2))
    check_minimal_hrep(part, range(len(part)))
    net = Network.random([3, 6, 6, 1], seed=5)
    sl = Slice([0.1, -0.2, 0.3], np.array([[1.0, 0.5], [0.0, 2.0], [0.5, 0.0]]), Box([-0.5, -0.5], [0.5, 0.5]))
    part = enumerate_regions(net, sl)
    check_minimal_hrep(part, np.arange(0, len(part), 3))
    # Input-space form: points map through the slice, and A_x x <= b_x on the witnesses.
    f = part.facets()
    np.testing.assert_allclose(f.points_x, sl.to_input(f.points), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(f.A_x, axis=1), 1.0, rtol=1e-12)
    inside = np.einsum("fd,fd->f", f.A_x, part.witnesses[f.region]) - f.b_x
    assert np.all(inside < 0)


def test_facets_of_a_coarse_partition():
    # With a coarse tol the enumeration omits thin regions, but the regions it reports keep exact, minimal
    # H-representations: small facets are still facets.
    net = Network.random([2, 16, 16, 16, 1], seed=0)
    fine = enumerate_regions(net, box(2))
    part = enumerate_regions(net, box(2), tol=1e-2)
    assert len(part) < len(fine)
    check_minimal_hrep(part, range(0, len(part), 9))
    assert part.facets().radii.min() < part.tol  # facets smaller than the partition's tol are kept
    assert part.volumes().sum() < 4.0 - 1e-3 and fine.volumes().sum() == pytest.approx(4.0, rel=1e-9)


def test_facets_whole_space():
    # Regions of a whole-space partition may be unbounded: their facets still have points and capped radii.
    net = Network.random([2, 5, 1], seed=6)
    part = enumerate_regions(net, WholeSpace(2))
    check_minimal_hrep(part, range(len(part)))
    f = part.facets()
    assert np.all(f.unit >= 0)  # no domain rows


def test_facets_counts_and_arrays():
    part = enumerate_regions(Network.random([2, 8, 8, 1], seed=7), box(2))
    f = part.facets()
    assert part.facets() is f  # cached
    assert len(f) == len(part) and f.offsets.shape == (len(part) + 1,) and f.offsets[0] == 0
    assert f.offsets[-1] == f.n_facets == f.A.shape[0] == f.points.shape[0] == f.radii.shape[0]
    assert f.unit.dtype == np.int64 and f.piece.dtype == np.int8 and f.A.dtype == np.float64
    np.testing.assert_array_equal(f.counts(), [len(part.facets(i)) for i in range(len(part))])
    # A region's facets computed alone are the same as in the batch.
    g = part[5].facets()
    s = slice(f.offsets[5], f.offsets[6])
    np.testing.assert_array_equal(g.unit, f.unit[s])
    np.testing.assert_allclose(g.points, f.points[s], atol=1e-12)
    # A polygon in the plane: every region has at least 3 facets; sum over regions of (facets) = 2 E + boundary.
    assert np.all(f.counts() >= 3)
    # A bigger tol keeps exactly the facets whose radius exceeds it.
    assert part.facets(tol=0.05).n_facets == int(np.sum(f.radii > 0.05)) < f.n_facets
    with pytest.raises(ValueError):
        part.facets(tol=-1.0)
    with pytest.raises(IndexError):
        part.facets(len(part))


def test_facets_release_the_gil():
    # While the core computes facets in a thread, the main thread keeps running Python code: there is no long
    # gap between its ticks. Holding the GIL would stop it for the whole call.
    part = enumerate_regions(Network.random([3, 24, 24, 1], seed=8), box(3))
    # not the cached default: one call of the core
    facets, ticks = ticks_while(lambda: part.facets(tol=part.tol * 1.0001))
    core = facets.seconds
    assert core > 0.05
    assert np.diff(ticks).max() < 0.5 * core


# ---------------------------------------------------------------------------------------------- volumes, vertices
@pytest.mark.parametrize("widths,seed", [([2, 8, 8, 8, 1], 0), ([3, 8, 8, 1], 1), ([3, 12, 1], 2)])
def test_volumes_sum_to_box(widths, seed):
    d = widths[0]
    dom = Box(np.linspace(-1.0, -0.5, d), np.linspace(0.5, 1.5, d))
    part = enumerate_regions(Network.random(widths, seed=seed), dom)
    vol = part.volumes()
    assert vol.shape == (len(part),) and vol.dtype == np.float64 and np.all(vol > 0)
    assert vol.sum() == pytest.approx(dom.volume(), rel=1e-9)
    assert part.volumes() is vol  # cached
    # A region's volume is at least that of its Chebyshev ball.
    ball = np.pi * part.radii ** 2 if d == 2 else 4 / 3 * np.pi * part.radii ** 3
    assert np.all(vol >= ball * (1 - 1e-9))


def test_volumes_polytope_and_slice():
    # A triangle of area 1/2 * 2 * 1.5.
    tri = Polytope([[-1.0, 0.0], [0.0, -1.0], [0.75, 1.0]], [0.0, 0.0, 1.5])
    part = enumerate_regions(Network.random([2, 6, 6, 1], seed=3), tri)
    assert part.volumes().sum() == pytest.approx(1.5, rel=1e-9)
    # The slice x = p0 + B t, t in [0, 1]^2, has area sqrt(det(B^T B)) in input units.
    B = np.array([[1.0, 0.5], [0.0, 2.0], [0.5, -1.0]])
    sl = Slice(np.zeros(3), B, Box([0, 0], [1, 1]))
    part = enumerate_regions(Network.random([3, 6, 6, 1], seed=4), sl)
    assert part.volumes().sum() == pytest.approx(np.sqrt(np.linalg.det(B.T @ B)), rel=1e-9)


def test_volumes_and_vertices_of_a_split_square():
    # One unit z = x0 - 0.3 on [0, 1]^2: the rectangles [0, 0.3] x [0, 1] and [0.3, 1] x [0, 1].
    net = Network.from_weights([(np.array([[1.0, 0.0]]), np.array([-0.3])), (np.ones((1, 1)), np.zeros(1))])
    part = enumerate_regions(net, Box([0, 0], [1, 1]))
    assert len(part) == 2
    left = int(part.locate([[0.1, 0.5]])[0])
    np.testing.assert_allclose(sorted(part.volumes()), [0.3, 0.7], rtol=1e-12)
    assert part[left].volume() == pytest.approx(0.3, rel=1e-12)
    V = part[left].vertices()
    np.testing.assert_allclose(sorted(map(tuple, np.round(V, 12))), [(0, 0), (0, 1), (0.3, 0), (0.3, 1)], atol=1e-12)
    # Counter-clockwise in the plane: positive signed area.
    x, y = V[:, 0], V[:, 1]
    assert 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) == pytest.approx(0.3, rel=1e-12)


@pytest.mark.parametrize("L", [1, 3, 5])
def test_sawtooth_intervals(L):
    part = enumerate_regions(sawtooth_net(L), Box([0.0], [1.0]))
    n = 2 ** L
    np.testing.assert_allclose(part.volumes(), np.full(n, 1.0 / n), rtol=1e-9)
    ends = np.array(sorted(tuple(part[i].vertices()[:, 0]) for i in range(len(part))))
    np.testing.assert_allclose(ends, np.c_[np.arange(n), np.arange(1, n + 1)] / n, atol=1e-12)


def test_volumes_4d():
    part = enumerate_regions(Network.random([4, 6, 1], seed=9), box(4))
    assert part.volumes().sum() == pytest.approx(16.0, rel=1e-9)
    assert part[0].vertices("input").shape[1] == 4


def test_volumes_bad_input():
    part = enumerate_regions(Network.random([7, 3, 1], seed=0), box(7))
    with pytest.raises(ValueError, match="dimension <= 6"):
        part.volumes()
    with pytest.raises(ValueError, match="dimension <= 6"):
        part[0].vertices()
    # Unbounded regions of the whole plane.
    part = enumerate_regions(Network.random([2, 3, 1], seed=0), WholeSpace(2))
    with pytest.raises(ValueError, match="unbounded"):
        part.volumes()
    with pytest.raises(ValueError, match="unbounded"):
        part[0].vertices()
    part = enumerate_regions(Network.random([2, 3, 1], seed=0), box(2))
    with pytest.raises(ValueError, match="space"):
        part[0].vertices(space="u")


def test_partition_without_caches_after_load(tmp_path):
    part = enumerate_regions(Network.random([2, 5, 1], seed=1), box(2))
    part.facets()
    part.save(tmp_path / "p.npz")
    loaded = Partition.load(tmp_path / "p.npz")
    assert loaded._facets is None
    np.testing.assert_array_equal(loaded.facets().unit, part.facets().unit)
