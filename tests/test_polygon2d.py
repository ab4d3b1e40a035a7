"""Tests of the 2-D fast path (cpp/src/polygon2d.cpp, ``enumerate_regions(method="polygon")``) and of
``Partition.polygons``.

Expected values come from outside the fast path: the LP path (a different algorithm: Chebyshev-ball LPs on
H-representations), closed forms (``1 + L + I`` regions for L lines and I crossings inside the box; hand-counted
degenerate arrangements), the domain's area, the network's own forward pass, and adjacency computed from the
regions' H-representations (tests/oracle.py) on the lines of the units where two patterns differ.
"""
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[1]
for _p in (_ROOT / "tests", _ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from oracle import layer_pieces_in_u, region_halfspaces  # noqa: E402

import relutope  # noqa: E402
from relutope import _core  # noqa: E402
from relutope.domains import Box, Polytope, Slice  # noqa: E402
from relutope.network import Layer, Network  # noqa: E402
from relutope.polygons import areas, shared_edges, to_csr  # noqa: E402


def pattern_set(part):
    return {row.tobytes() for row in part.patterns}


def both(net, domain, **kw):
    fast = relutope.enumerate_regions(net, domain, method="polygon", **kw)
    lp = relutope.enumerate_regions(net, domain, method="lp", **kw)
    assert fast.complete and lp.complete
    return fast, lp


def domain_area(domain):
    if isinstance(domain, Slice):
        domain = domain.inner
    if isinstance(domain, Box):
        return domain.volume()
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    A, b = domain.constraints()
    pts = HalfspaceIntersection(np.hstack([A, -b[:, None]]), domain._center()).intersections
    return ConvexHull(pts).volume


def maxpool_net(seed):
    """Dense ReLU layer, then a layer of max-of-3 units over random affine pieces, then a linear output."""
    rng = np.random.default_rng(seed)
    first = Layer.affine(rng.normal(size=(5, 2)), rng.normal(0, 0.3, 5), "relu")
    n_max = 3
    maxl = Layer(rng.normal(size=(3 * n_max, 5)), rng.normal(0, 0.3, 3 * n_max), [3] * n_max)
    out = Layer.affine(rng.normal(size=(1, n_max)), np.zeros(1), "identity")
    return Network([first, maxl, out])


def random_case(seed):
    """A random net and domain; cycles through activations, depths, domain kinds and max-pooling."""
    rng = np.random.default_rng(1000 + seed)
    kind = seed % 6
    if kind == 5:
        return maxpool_net(seed), Box([-1.5, -1.0], [1.0, 2.0])
    act = ("relu", "leaky_relu", "abs")[seed % 3]
    hidden = [int(w) for w in rng.integers(3, 9, size=int(rng.integers(1, 4)))]
    if kind in (0, 1):
        net = Network.random([2] + hidden + [1], seed=seed, activation=act)
        lo = rng.uniform(-2, 0, 2)
        return net, Box(lo, lo + rng.uniform(0.5, 3, 2))
    if kind == 2:  # a random convex polygon (hexagon-ish) as a Polytope
        net = Network.random([2] + hidden + [2], seed=seed, activation=act)
        ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
        A = np.column_stack([np.cos(ang), np.sin(ang)])
        return net, Polytope(A, rng.uniform(0.8, 1.5, 7))
    if kind == 3:  # a 2-D face of a 3-D box
        net = Network.random([3] + hidden + [1], seed=seed, activation=act)
        return net, Box([-1, 0.25, -1], [1, 0.25, 1])
    net = Network.random([6] + hidden + [3], seed=seed, activation=act)  # a slice through three inputs
    p = rng.normal(size=(3, 6))
    return net, Slice.through_points(*p, margin=0.5)


# ---------------------------------------------------------------------------------------- degenerate cases
def one_layer(W, b):
    W = np.asarray(W, dtype=float)
    return Network.from_weights([(W, np.asarray(b, dtype=float)), (np.ones((1, W.shape[0])), np.zeros(1))])


BOX = Box([-1, -1], [1, 1])
S3 = np.sqrt(3.0)
DEGENERATE = {
    # name: (net, domain, number of regions counted by hand)
    "three lines through one point": (one_layer([[1, 0], [0.5, S3 / 2], [-0.5, S3 / 2]], [0, 0, 0]), BOX, 6),
    "three lines through an off-centre point": (
        one_layer([[1, 0], [0, 1], [1, 1]], [-0.25, -0.5, -0.75]), BOX, 6),
    "line touching only a box vertex": (one_layer([[1, 1]], [-2]), BOX, 1),
    "diagonal through two box vertices": (one_layer([[1, -1]], [0]), BOX, 2),
    "line through one vertex and the interior": (one_layer([[1, -2]], [1]), BOX, 2),
    "parallel lines": (one_layer([[1, 0], [1, 0], [2, 0], [1, 0], [0, 1]], [0.5, 0, -1, -0.5, -0.3]), BOX, 8),
    "a line along a box edge": (one_layer([[1, 0], [-1, 0], [0, 1]], [-1, 1, 0]), BOX, 2),
    "a line along a box edge only": (one_layer([[1, 0]], [-1]), BOX, 1),
    "duplicate and opposite units": (one_layer([[1, 1], [1, 1], [-1, -1]], [0.2, 0.2, -0.2]), BOX, 2),
    "dead units": (one_layer([[0, 0], [0, 0], [0, 0], [1, 0]], [0, 1, -1, 0]), BOX, 2),
    # Layer 2's line y = x runs through the point where layer 1's lines x = 0 and y = 0 cross.
    "three lines through one point across layers": (
        Network.from_weights([(np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], float), np.zeros(4)),
                              (np.array([[1, -1, -1, 1]], float), np.zeros(1)),
                              (np.ones((1, 1)), np.zeros(1))]), BOX, 6),
    # relu(relu(x)): the second unit's input is exactly 0 on x < 0 (a tie: piece 0), so 2 regions.
    "zero input on half the box": (
        Network.from_weights([(np.array([[1.0, 0.0]]), np.zeros(1)), (np.ones((1, 1)), np.zeros(1)),
                              (np.ones((1, 1)), np.zeros(1))]), BOX, 2),
    "lines through box corners and the centre": (one_layer([[1, -1], [1, 1], [1, 0], [0, 1]], [0, 0, 0, 0]),
                                                 BOX, 8),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_arrangements(name):
    net, domain, expected = DEGENERATE[name]
    fast, lp = both(net, domain)
    assert len(fast) == expected
    assert pattern_set(fast) == pattern_set(lp)
    assert fast.layer_counts.tolist() == lp.layer_counts.tolist()
    A = areas(*fast._polygon_csr())
    assert np.all(A > 0)
    assert A.sum() == pytest.approx(4.0, rel=1e-12)
    # Every region's pattern is the network's pattern at its witness.
    np.testing.assert_array_equal(net.activation_pattern(fast.witnesses), fast.patterns)


# ---------------------------------------------------------------------------------------- random nets
@pytest.mark.parametrize("seed", range(36))
def test_fast_path_matches_lp_path(seed):
    net, domain = random_case(seed)
    fast, lp = both(net, domain)
    assert len(fast) >= 1
    assert pattern_set(fast) == pattern_set(lp)
    assert fast.layer_counts.tolist() == lp.layer_counts.tolist()
    assert len(fast) <= fast.lps < lp.lps  # one radius LP per final region, and a few for thin cells
    # Same Chebyshev radii (unique), and witnesses that are interior points with that radius.
    order = {row.tobytes(): i for i, row in enumerate(lp.patterns)}
    j = np.array([order[row.tobytes()] for row in fast.patterns])
    np.testing.assert_allclose(fast.radii, lp.radii[j], rtol=1e-7, atol=1e-12)
    np.testing.assert_array_equal(net.activation_pattern(fast.witnesses), fast.patterns)
    assert np.all(domain.contains(fast.witnesses))
    # Polygons: counter-clockwise, tiling the domain, each holding its witness' disc.
    offsets, vertices = fast._polygon_csr()
    A = areas(offsets, vertices)
    assert np.all(A > 0)
    assert A.sum() == pytest.approx(domain_area(domain), rel=1e-9)
    form = domain._engine_form()
    for i, poly in enumerate(fast.polygons()):
        u = poly @ form.R.T  # edges in engine coordinates, where radii are measured (u = R t may reflect)
        e = np.roll(u, -1, axis=0) - u
        orient = np.sign(np.linalg.det(form.R))
        normal = orient * np.column_stack([e[:, 1], -e[:, 0]]) / np.linalg.norm(e, axis=1)[:, None]
        c = fast._centers[i]
        dist = np.einsum("ij,ij->i", (u - c), normal)
        assert dist.min() >= fast.radii[i] * (1 - 1e-6) - 1e-12


def test_polygon_path_is_auto_in_2d_only():
    net = Network.random([2, 6, 1], seed=0)
    auto = relutope.enumerate_regions(net, BOX)
    assert auto._polygons is not None and auto.lps == len(auto)  # one radius LP per region
    net3 = Network.random([3, 6, 1], seed=0)
    part3 = relutope.enumerate_regions(net3, Box(-np.ones(3), np.ones(3)))
    assert part3._polygons is None
    with pytest.raises(ValueError, match="intrinsic dimension 2"):
        relutope.enumerate_regions(net3, Box(-np.ones(3), np.ones(3)), method="polygon")
    with pytest.raises(ValueError, match="intrinsic dimension 2"):
        relutope.enumerate_regions(net, relutope.WholeSpace(2), method="polygon")
    assert relutope.enumerate_regions(net, relutope.WholeSpace(2))._polygons is None  # auto: unbounded -> lp
    with pytest.raises(ValueError, match="method"):
        relutope.enumerate_regions(net, BOX, method="simplex")
    with pytest.raises(ValueError, match="polygons"):
        part3.polygons()


def test_one_hidden_layer_count_is_one_plus_lines_plus_crossings():
    """Regions of L lines in general position within a box: 1 + (lines crossing it) + (crossings inside it)."""
    rng = np.random.default_rng(7)
    lo, hi = np.array([-1.0, -0.5]), np.array([1.5, 1.0])
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    for n in (1, 5, 12, 30):
        W, b = rng.normal(size=(n, 2)), rng.normal(0, 0.7, n)
        vals = corners @ W.T + b
        L = int(np.sum((vals.min(axis=0) < 0) & (vals.max(axis=0) > 0)))
        I = 0
        for i, j in combinations(range(n), 2):
            p = np.linalg.solve(W[[i, j]], -b[[i, j]])
            I += bool(np.all((p > lo) & (p < hi)))
        part = relutope.enumerate_regions(one_layer(W, b), Box(lo, hi), method="polygon")
        assert len(part) == 1 + L + I


def test_adjacency_from_shared_edges_matches_lp_regions():
    """Pairs of polygons sharing an edge == pairs of LP-path regions whose patterns differ in one unit and whose
    closures meet in a segment (on that unit's line, from both regions' H-representations)."""
    for seed in range(8):
        net, domain = random_case(6 * seed + (seed % 2))  # Boxes, ReLU / leaky ReLU
        fast, lp = both(net, domain)
        origin, basis = domain.parametrization()
        Ad, bd = domain.constraints()
        offsets, vertices = fast._polygon_csr()
        extent = np.ptp(vertices, axis=0).max()
        got = {tuple(sorted(map(bytes, (fast.patterns[a], fast.patterns[b]))))
               for a, b in shared_edges(offsets, vertices, 1e-9 * extent, 1e-7 * extent)}
        expected = set()
        P = lp.patterns
        for a, b in combinations(range(len(lp)), 2):
            diff = np.nonzero(P[a] != P[b])[0]
            if len(diff) != 1:
                continue
            k = int(diff[0])
            M, m = [pieces for layer in layer_pieces_in_u(net, origin, basis, P[a]) for pieces in layer][k]
            h, h0 = M[1] - M[0], m[1] - m[0]
            if np.linalg.norm(h) < 1e-12:
                continue
            p0 = -h0 * h / (h @ h)
            d = np.array([-h[1], h[0]]) / np.linalg.norm(h)
            lo_s, hi_s = -np.inf, np.inf
            for pat in (P[a], P[b]):
                A, bb = region_halfspaces(net, pat, origin, basis, Ad, bd)
                keep = np.ones(len(A), bool)
                keep[len(Ad) + k] = False  # unit k's own row: the line itself
                A, bb = A[keep], bb[keep]
                slope, room = A @ d, bb - A @ p0
                flat = np.abs(slope) <= 1e-12 * np.linalg.norm(A, axis=1)
                if np.any(room[flat] < -1e-9):
                    lo_s, hi_s = 0.0, -1.0
                ratio = room[~flat] / slope[~flat]
                lo_s = max(lo_s, np.max(ratio[slope[~flat] < 0], initial=-np.inf))
                hi_s = min(hi_s, np.min(ratio[slope[~flat] > 0], initial=np.inf))
            if hi_s - lo_s > 1e-7 * extent:
                expected.add(tuple(sorted((bytes(P[a]), bytes(P[b])))))
        assert len(expected) >= len(lp) - 1 and got == expected, seed


def test_edge_labels_name_the_unit_or_domain_row_of_each_edge():
    from relutope.demo import demo_network

    net, box = demo_network()
    form = box._engine_form()
    out = _core.enumerate_polygons_2d(net._core(), form.x0, form.Q, form.A, form.b, np.zeros(2), 1e-9, 10.0, -1, -1.0, 0,
                                      None)
    offsets, V, labels = out["offsets"], out["vertices"], out["edge_labels"]
    nxt = np.arange(len(V)) + 1
    nxt[offsets[1:] - 1] = offsets[:-1]
    mid = 0.5 * (V + V[nxt])
    # h_k = f_1 - f_0 of every unit at the edge midpoints, layer by layer.
    h, diffs = form.x0 + mid @ form.Q.T, []
    for layer in net.layers:
        f = h @ layer.A.T + layer.c
        start = layer.piece_start[:-1]
        diffs.append(np.where(layer.n_pieces >= 2, f[:, np.minimum(start + 1, len(layer.c) - 1)] - f[:, start], 0))
        h, _ = layer._forward(h)
    pre = np.concatenate(diffs, axis=1)
    unit = labels >= 0
    z = pre[np.nonzero(unit)[0], labels[unit]]
    assert np.abs(z).max() < 1e-9 * (1 + np.abs(pre).max())
    rows = -1 - labels[~unit]
    np.testing.assert_allclose(np.einsum("ij,ij->i", form.A[rows], mid[~unit]), form.b[rows], atol=1e-12)


def test_limits_and_save_load(tmp_path):
    net = Network.random([2, 32, 32, 1], seed=3)
    part = relutope.enumerate_regions(net, BOX, method="polygon", max_regions=10)
    assert part.status == "max_regions" and len(part) == 10 and len(part.polygons()) == 10
    full = relutope.enumerate_regions(net, BOX, method="polygon")
    full.save(tmp_path / "p.npz")
    back = relutope.Partition.load(tmp_path / "p.npz")
    assert back._polygons is not None
    for p, q in zip(full.polygons(), back.polygons()):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="polygons"):
        relutope.Partition(net, BOX, full.patterns, full._centers, full.radii, full.layer_counts, tol=full.tol,
                           polygons=(np.zeros(3, np.int64), np.zeros((2, 2))))


def test_polygons_of_lp_partitions_match_the_fast_path():
    """Partition.polygons() of an LP-path partition (Qhull from halfspaces) == the fast path's polygons."""
    dom = Slice.through_points([0.0, 0, 0], [1.0, 0.2, -1], [0.3, 1.0, 0.5], margin=0.2)
    net = Network.random([3, 8, 8, 1], seed=11)
    fast, lp = both(net, dom)
    idx = {row.tobytes(): i for i, row in enumerate(fast.patterns)}
    fast_polys = fast.polygons()
    for i, poly in enumerate(lp.polygons()):
        other = fast_polys[idx[lp.patterns[i].tobytes()]]
        assert areas(*to_csr([poly]))[0] > 0
        # Same vertex sets (up to where the ring starts and vertices closer than 1e-9).
        d = np.linalg.norm(poly[:, None, :] - other[None, :, :], axis=2)
        assert d.min(axis=1).max() < 1e-9 and d.min(axis=0).max() < 1e-9


def test_numpy_version_in_bench_matches():
    from polygon_numpy import enumerate_polygons_numpy

    net, domain = random_case(4)
    fast = relutope.enumerate_regions(net, domain, method="polygon")
    out = enumerate_polygons_numpy(net, domain, fast.tol)
    assert {r.tobytes() for r in out["patterns"]} == pattern_set(fast)
    assert out["layer_counts"].tolist() == fast.layer_counts.tolist()


def test_runs_in_two_threads():
    """The core releases the GIL: two enumerations in threads give the same result as one alone."""
    from concurrent.futures import ThreadPoolExecutor

    net = Network.random([2, 32, 32, 1], seed=5)
    ref = relutope.enumerate_regions(net, BOX, method="polygon")
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(lambda _: relutope.enumerate_regions(net, BOX, method="polygon"), range(4)))
    for p in parts:
        np.testing.assert_array_equal(p.patterns, ref.patterns)


@pytest.mark.parametrize("centre, half", [(1e3, 1e-3), (1e6, 1.0), (-5e4, 2.0), (0.0, 1e-6), (0.0, 1e6)])
def test_small_or_large_domains_far_from_the_origin(centre, half):
    """g((x - centre) / half) on the box centre +- half has exactly g's regions on [-1, 1]^2 (same patterns)."""
    base = Network.random([2, 20, 20, 1], seed=1)
    ref = relutope.enumerate_regions(base, BOX, method="lp")
    (W0, b0), rest = (base.layers[0].A[1::2], base.layers[0].c[1::2]), base.layers[1:]
    first = Layer.affine(W0 / half, b0 - W0 @ np.full(2, centre) / half, "relu")
    net = Network([first] + list(rest))
    box = Box([centre - half] * 2, [centre + half] * 2)
    if relutope.min_tol(box) > relutope.default_tol(box):  # 1e-9 of 1e-3 is below float64's spacing at 1e3
        with pytest.warns(relutope.RelutopeWarning, match="below what float64 resolves"):
            fast = relutope.enumerate_regions(net, box, method="polygon")
    else:
        fast = relutope.enumerate_regions(net, box, method="polygon")
    assert pattern_set(fast) == pattern_set(ref)
    assert areas(*fast._polygon_csr()).sum() == pytest.approx(4 * half * half, rel=1e-9)
    np.testing.assert_array_equal(net.activation_pattern(fast.witnesses), fast.patterns)


def test_property_small_integer_nets_match_the_lp_path():
    """Hypothesis: nets with small integer weights (lines through lattice points, parallel, coincident, through
    box corners, along box edges: degenerate everywhere) give the LP path's patterns, tiling the box."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=60, deadline=None, derandomize=True)
    @hypothesis.given(st.integers(1, 5), st.integers(1, 4), st.sampled_from(["relu", "abs", "leaky_relu"]),
                      st.integers(0, 2 ** 31 - 1))
    def check(n1, n2, act, seed):
        rng = np.random.default_rng(seed)
        weights = [(rng.integers(-2, 3, size=(n1, 2)).astype(float), rng.integers(-2, 3, size=n1) * 0.5),
                   (rng.integers(-1, 2, size=(n2, n1)).astype(float), rng.integers(-1, 2, size=n2) * 0.5),
                   (np.ones((1, n2)), np.zeros(1))]
        net = Network.from_weights(weights, activation=act)
        fast, lp = both(net, BOX)
        assert pattern_set(fast) == pattern_set(lp)
        assert areas(*fast._polygon_csr()).sum() == pytest.approx(4.0, rel=1e-12)

    check()
