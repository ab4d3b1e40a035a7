"""Tests of the region adjacency graph, linear regions and the completeness check (relutope.graph).

Expected values are derived without the engine: counts of lines and their intersections inside a box from the line
equations, the sawtooth's path of 2^L pieces, the unreduced H-representation of each region, and the regions met
along random segments (located by the network's forward pass, with bisection to each crossing).
"""
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(_ROOT / "tests"))

from oracle import sawtooth_net  # noqa: E402

from relutope import Box, Layer, Network, Partition, Slice, WholeSpace, enumerate_regions, min_tol  # noqa: E402

nx = pytest.importorskip("networkx")


def box(d, lo=-1.0, hi=1.0):
    return Box(np.full(d, lo), np.full(d, hi))


def one_layer(W, b, V=None):
    V = np.ones((1, W.shape[0])) if V is None else np.atleast_2d(V)
    return Network.from_weights([(W, b), (V, np.zeros(1))])


def maxout_net(d, units, K, seed):
    rng = np.random.default_rng(seed)
    hidden = Layer(rng.normal(size=(units * K, d)), rng.normal(scale=0.5, size=units * K), [K] * units)
    return Network([hidden, Layer.affine(rng.normal(size=(1, units)), np.zeros(1), "identity")])


def without(part, r):
    """The partition with region r removed (a deliberately incomplete partition)."""
    keep = np.arange(len(part)) != r
    return Partition(part.network, part.domain, part.patterns[keep], part._centers[keep], part.radii[keep],
                     part.layer_counts, tol=part.tol)


# ---------------------------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("n,seed", [(4, 0), (6, 1), (8, 2), (10, 3)])
def test_lines_in_a_box(n, seed):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(n, 2)), rng.normal(scale=0.7, size=n)
    part = enumerate_regions(one_layer(W, b), box(2))
    # L: lines meeting the open box (the affine function takes both signs on its corners).
    corners = np.array(list(itertools.product([-1.0, 1.0], repeat=2)))
    vals = corners @ W.T + b
    crosses = (vals.min(axis=0) < 0) & (vals.max(axis=0) > 0)
    L = int(crosses.sum())
    # I: pairwise intersections strictly inside the box.
    I = 0
    for i, j in itertools.combinations(range(n), 2):
        p = np.linalg.solve(W[[i, j]], -b[[i, j]])
        I += bool(np.all(np.abs(p) < 1))
    assert len(part) == 1 + L + I
    adj = part.adjacency()
    assert len(adj) == L + 2 * I
    G = part.adjacency_graph()
    assert G.number_of_nodes() == 1 + L + I and G.number_of_edges() == L + 2 * I
    assert nx.is_connected(G)
    # Regions on each side of the box: 1 + the lines crossing that open side.
    Ad, bd = part.domain.constraints()
    for face in range(len(bd)):
        axis, sign = face % 2, (1.0 if face < 2 else -1.0)
        ends = np.array([[-1.0, -1.0], [1.0, 1.0]])
        ends[:, axis] = sign  # the two corners of this side
        v = ends @ W.T + b
        lines = int(np.sum(v[0] * v[1] < 0))
        touching = [i for i in G.nodes if face in G.nodes[i]["boundary"]]
        assert len(touching) == 1 + lines


@pytest.mark.parametrize("L", [1, 2, 4, 6])
def test_sawtooth_path(L):
    part = enumerate_regions(sawtooth_net(L), Box([0.0], [1.0]))
    G = part.adjacency_graph()
    n = 2 ** L
    assert G.number_of_nodes() == n and G.number_of_edges() == n - 1
    order = np.argsort(part.witnesses[:, 0])
    path = nx.path_graph(order.tolist())
    assert set(map(frozenset, G.edges)) == set(map(frozenset, path.edges))
    pts = sorted(G.edges[e]["facet_point"][0] for e in G.edges)
    np.testing.assert_allclose(pts, np.arange(1, n) / n, atol=1e-12)
    # The two end pieces touch the domain's boundary; the middle ones do not.
    assert sorted(len(G.nodes[i]["boundary"]) for i in G.nodes) == [0] * (n - 2) + [1, 1]
    assert part.check_complete().ok


# ---------------------------------------------------------------------------------------------- completeness
NETS = [
    ("relu2d", lambda: (Network.random([2, 8, 8, 8, 1], seed=0), box(2))),
    ("relu3d", lambda: (Network.random([3, 10, 10, 1], seed=1), box(3))),
    ("leaky", lambda: (Network.random([2, 10, 10, 1], seed=2, activation="leaky_relu"), box(2))),
    ("abs", lambda: (Network.random([2, 6, 6, 1], seed=3, activation="abs"), box(2))),
    ("maxout", lambda: (maxout_net(2, 4, 3, seed=4), box(2))),
    ("slice", lambda: (Network.random([4, 8, 8, 1], seed=5), Slice.through_points(np.zeros(4), np.eye(4)[0],
                                                                                   np.eye(4)[1], margin=0.5))),
    ("whole", lambda: (Network.random([2, 6, 6, 1], seed=6), WholeSpace(2))),
    ("fixed", lambda: (Network.random([3, 8, 8, 1], seed=7), Box([-1, 0.2, -1], [1, 0.2, 1]))),
]


@pytest.mark.parametrize("name,make", NETS, ids=[n for n, _ in NETS])
def test_check_complete_random_nets(name, make):
    net, dom = make()
    part = enumerate_regions(net, dom)
    rep = part.check_complete()
    assert rep.ok and bool(rep) and rep.gaps == [] and rep.mismatches == []
    f = part.facets()
    assert rep.n_facets == f.n_facets and rep.n_edges == len(part.adjacency())
    # Every interior facet is seen from both sides: F = 2 E + (facets on the domain's boundary).
    assert f.n_facets == 2 * rep.n_edges + rep.n_boundary_facets
    if not dom.bounded:
        assert rep.n_boundary_facets == 0


@pytest.mark.parametrize("name,make", NETS[:5], ids=[n for n, _ in NETS[:5]])
def test_check_complete_fails_without_a_region(name, make):
    net, dom = make()
    part = enumerate_regions(net, dom)
    G = part.adjacency_graph()
    r = max(G.nodes, key=G.degree)  # a region with many neighbours
    neighbours = sorted(G.neighbors(r))
    rep = without(part, r).check_complete()
    assert not rep.ok and not bool(rep)
    # The gaps are the neighbours' facets that faced region r: one each (indices shift past r).
    assert sorted(i + (i >= r) for i, _ in rep.gaps) == neighbours
    assert len(rep.gaps) == int(np.sum(part.facets(r).unit >= 0))


def test_coincident_hyperplanes():
    # relu(x0) - relu(-x0) passes x0 through: units 0 and 1 share the hyperplane x0 = 0 and both flip across it.
    W, b = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 0.0, -0.3])
    part = enumerate_regions(one_layer(W, b, V=[[1.0, -1.0, 1.0]]), box(2))
    assert len(part) == 4
    rep = part.check_complete()
    assert rep.ok and rep.n_edges == 4
    f = part.facets()
    on_axis = np.nonzero(np.abs(f.points_x[:, 0]) < 1e-12)[0]
    assert len(on_axis) == 4 and np.all(f.unit[on_axis] == 0)  # the first source is named
    np.testing.assert_array_equal(f.dup_facet, on_axis)
    np.testing.assert_array_equal(f.dup_unit, [1, 1, 1, 1])
    np.testing.assert_array_equal(f.dup_piece, 1 - part.patterns[f.region[on_axis], 1])
    for (i, j), u in zip(part.adjacency().edges, part.adjacency().unit):
        changed = np.nonzero(part.patterns[i] != part.patterns[j])[0].tolist()
        assert changed == ([0, 1] if u == 0 else [2])


@pytest.mark.parametrize("scale", [2.0 ** -20, 1.0, 2.0 ** 20])
@pytest.mark.parametrize("kind", ["crossing", "parallel", "identical"])
def test_last_bit_twins_are_undecided_not_edges(kind, scale):
    """Two units whose rows differ only in the last bit (``crossing``: a weight, the two lines crossing inside
    the box; ``parallel``: the bias, a slab of width ~1e-16 between them), at scales 2^-20, 1, 2^20 off-centre
    (powers of two keep the construction exact). In exact arithmetic the two regions either side share only a
    point (or nothing): the float adjacency must not list them as an edge, and marks the pair undecided; the
    certified facets and adjacency (exact rationals) are the reference. ``identical``: the same unit twice, one
    hyperplane exactly: an edge, decided, as certified."""
    from fractions import Fraction

    pytest.importorskip("flint")
    up = np.nextafter(1.0, 2.0)
    c = np.array([3.0, -8.0]) * scale                  # the box [2, 4] x [-9, -7] (times scale)
    # both lines through P = (3.25, -8) scale: x + y + 4.75 s = 0 and x + w y + (8 w - 3.25) s = 0
    w, b1 = {"crossing": (up, (8 * up - 3.25) * scale), "parallel": (1.0, np.nextafter(4.75 * scale, 0.0)),
             "identical": (1.0, 4.75 * scale)}[kind]
    W = np.array([[1.0, 1.0], [1.0, w]])
    b = np.array([4.75 * scale, b1])
    P = (Fraction(3.25) * Fraction(scale), Fraction(-8) * Fraction(scale))
    # independent: the rows as exact rationals; the crossing case meets at P exactly, inside the box
    z = [Fraction(W[i, 0]) * P[0] + Fraction(W[i, 1]) * P[1] + Fraction(b[i]) for i in range(2)]
    assert z[0] == 0 and (z[1] == 0) == (kind != "parallel") and (Fraction(w) != 1) == (kind == "crossing")
    part = enumerate_regions(one_layer(W, b), Box(c - scale, c + scale))
    pats = sorted(map(tuple, part.patterns[:, :2].tolist()))
    assert pats == [(0, 0), (1, 1)]                     # the slivers between the twins are thinner than tol
    adj = part.adjacency()
    rep, cert = part.check_complete(), part.check_complete(certify=True)
    exact_edges = set(map(tuple, cert.certificate["adjacency"].edges.tolist()))
    float_edges = set(map(tuple, adj.edges.tolist()))
    assert float_edges <= exact_edges                   # no edge that exact arithmetic refutes
    assert exact_edges <= float_edges | set(map(tuple, adj.undecided_edges.tolist()))
    if kind == "identical":
        assert exact_edges == float_edges == {(0, 1)} and len(adj.undecided_edges) == 0
        assert rep.ok and cert.ok and np.all(part.facets().dup_exact)
    else:
        assert exact_edges == float_edges == set() and adj.undecided_edges.tolist() == [[0, 1]]
        assert not cert.ok and cert.gaps                # the exact check finds the missing slivers
        assert not rep.ok and rep.undecided and not rep.gaps and not rep.mismatches
        f = part.facets()
        assert f.dup_facet.size and not np.any(f.dup_exact)
        assert np.all(adj.undecided[adj.undecided_facet])


def test_dead_unit_wakes_up_across_a_facet():
    # h = relu(x0), relu(x1); z = h0 + h1 with bias 0 is exactly 0 (a tie: inactive) on the quadrant x < 0 and
    # positive on its neighbours, so the layer-2 unit changes too across the layer-1 facets there: the flipped
    # pattern does not exist and the neighbour is found by a forward pass.
    net = Network.from_weights([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1)), (np.ones((1, 1)),
                                                                                          np.zeros(1))])
    part = enumerate_regions(net, box(2))
    assert sorted(part.patterns[:, :3].tolist()) == [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    rep = part.check_complete()
    assert rep.ok and rep.n_edges == 4
    adj = part.adjacency()
    dead = int(np.nonzero(np.all(part.patterns[:, :3] == 0, axis=1))[0][0])
    f = part.facets()
    mine = (f.region == dead) & (f.unit >= 0)
    assert mine.sum() == 2 and np.all(adj.found_by[mine] == 1) and np.all(adj.expected[mine])
    assert np.all(adj.found_by[(f.region != dead) & (f.unit >= 0)] >= 0)


def test_check_complete_reports_holes_of_a_coarse_partition():
    net = Network.random([2, 16, 16, 16, 1], seed=0)
    part = enumerate_regions(net, box(2), tol=1e-2)  # omits the regions thinner than 1e-2
    rep = part.check_complete()
    assert not rep.ok and len(rep.gaps) > 0
    assert enumerate_regions(net, box(2)).check_complete().ok


# ---------------------------------------------------------------------------------------------- edges
def test_edges_facet_points_in_both_regions():
    net = Network.random([3, 8, 8, 1], seed=11)
    part = enumerate_regions(net, box(3))
    adj = part.adjacency()
    assert adj.edges.dtype == np.int64 and adj.edges.shape == (len(adj), 2)
    assert np.all(adj.edges[:, 0] < adj.edges[:, 1])
    assert len(np.unique(adj.edges, axis=0)) == len(adj)
    halfspaces = [part[i].halfspaces() for i in range(len(part))]  # unreduced rows
    offset = np.r_[0, np.cumsum([layer.n_units for layer in net.layers])]
    for (i, j), u, l, v, p in zip(adj.edges, adj.unit, adj.layer, adj.unit_in_layer, adj.points):
        for r in (i, j):
            A, b = halfspaces[r]
            assert np.all(A @ p <= b + 1e-8 * (1 + np.abs(b)))
        assert l == net.unit_layer[u] and u == offset[l] + v
        assert part.patterns[i][u] != part.patterns[j][u]
        # Earlier layers agree across a facet.
        np.testing.assert_array_equal(part.patterns[i][:offset[l]], part.patterns[j][:offset[l]])


def _regions_along(part, a, b, resolution=1e-11):
    """Regions met along the segment a -> b, in order, by forward passes and bisection to every crossing."""
    out = [int(part.locate(a[None])[0])]
    t0 = 0.0
    while True:
        ts = np.linspace(t0, 1.0, 65)
        regs = part.locate(a + ts[:, None] * (b - a))
        change = np.nonzero(regs != out[-1])[0]
        if change.size == 0:
            return out
        lo, hi = ts[change[0] - 1], ts[change[0]]
        while hi - lo > resolution:
            mid = 0.5 * (lo + hi)
            if part.locate((a + mid * (b - a))[None])[0] == out[-1]:
                lo = mid
            else:
                hi = mid
        out.append(int(part.locate((a + hi * (b - a))[None])[0]))
        t0 = hi


@pytest.mark.parametrize("widths,seed", [([2, 10, 10, 1], 12), ([3, 8, 8, 1], 13)])
def test_adjacency_along_random_segments(widths, seed):
    part = enumerate_regions(Network.random(widths, seed=seed), box(widths[0]))
    edges = set(map(tuple, part.adjacency().edges.tolist()))
    rng = np.random.default_rng(seed)
    crossings = 0
    for _ in range(6):
        a, b = rng.uniform(-0.99, 0.99, size=(2, widths[0]))
        seq = _regions_along(part, a, b)
        assert -1 not in seq
        for r, s in zip(seq[:-1], seq[1:]):
            assert (min(r, s), max(r, s)) in edges
            crossings += 1
    assert crossings >= 20


# ---------------------------------------------------------------------------------------------- linear regions
def test_linear_regions_ignore_units_without_output():
    # Two lines crossing at the origin; the second unit's output weight is 0, so its flip changes nothing.
    W, b = np.array([[1.0, 0.2], [-0.3, 1.0]]), np.zeros(2)
    part = enumerate_regions(one_layer(W, b, V=[[1.0, 0.0]]), box(2))
    assert len(part) == 4
    labels, count = part.linear_regions()
    assert count == 2 and labels.shape == (4,) and labels.dtype == np.int64
    side = part.witnesses @ W[0] > 0
    assert len(set(zip(labels.tolist(), side.tolist()))) == 2  # labels follow the side of the first line
    assert labels[0] == 0 and set(labels.tolist()) == {0, 1}
    # With both units feeding the output the four maps differ.
    assert enumerate_regions(one_layer(W, b), box(2)).linear_regions()[1] == 4


def test_linear_regions_equal_maps_apart_stay_apart():
    # relu(x) - 2 relu(x - 1) + relu(x - 2) on [-1, 3]: 0, x, 2 - x, 0. The outer pieces have the same map but
    # do not touch: four linear regions.
    W, b = np.array([[1.0], [1.0], [1.0]]), np.array([0.0, -1.0, -2.0])
    part = enumerate_regions(one_layer(W, b, V=[[1.0, -2.0, 1.0]]), Box([-1.0], [3.0]))
    assert len(part) == 4
    A, c = part.affine_maps()
    outer = np.argsort(part.witnesses[:, 0])[[0, 3]]
    np.testing.assert_allclose(A[outer[0]], A[outer[1]], atol=1e-15)
    labels, count = part.linear_regions()
    assert count == 4 and len(set(labels.tolist())) == 4
    # A unit that never reaches the output splits an activation region into two with the same map.
    W2, b2 = np.r_[W, [[1.0]]], np.r_[b, -2.5]
    part2 = enumerate_regions(one_layer(W2, b2, V=[[1.0, -2.0, 1.0, 0.0]]), Box([-1.0], [3.0]))
    assert len(part2) == 5 and part2.linear_regions()[1] == 4
    with pytest.raises(ValueError):
        part2.linear_regions(atol=-1.0)


@pytest.mark.parametrize("scale", [1e-6, 1e6])
@pytest.mark.parametrize("shift", [0.0, 1e3])
def test_linear_regions_do_not_depend_on_the_scale(scale, shift):
    """The linear regions of the network scaled in output and in input, off-centre: the same counts as at scale 1
    (closed form: two lines through the centre, 4 maps; 2 when the second unit's output weight is 0)."""
    W = np.array([[1.0, 0.2], [-0.3, 1.0]])
    centre = np.full(2, shift)
    for V, expected in (([[1.0, 0.5]], 4), ([[1.0, 0.0]], 2)):
        for s_out in (scale, scale ** 2):  # outputs scaled by 1e-12 .. 1e12: the same linear regions
            out = one_layer(W, np.zeros(2), V=s_out * np.asarray(V))
            assert enumerate_regions(out, box(2)).linear_regions()[1] == expected
        # inputs scaled: the net on centre + scale * [-1, 1]^2 is the one above on [-1, 1]^2
        inp = one_layer(W / scale, -W @ centre / scale, V=V)
        dom = Box(centre - scale, centre + scale)
        part = enumerate_regions(inp, dom, tol=max(1e-9 * scale, min_tol(dom)))
        assert len(part) == 4 and part.linear_regions()[1] == expected


def test_linear_regions_random_net_all_distinct():
    part = enumerate_regions(Network.random([2, 8, 8, 1], seed=14), box(2))
    labels, count = part.linear_regions()
    assert count == len(part)
    np.testing.assert_array_equal(np.sort(labels), np.arange(len(part)))


# ---------------------------------------------------------------------------------------------- graph attributes
def test_graph_attributes():
    part = enumerate_regions(Network.random([2, 6, 6, 1], seed=15), box(2))
    G = part.adjacency_graph()
    assert "volume" not in G.nodes[0]
    for i in (0, len(part) - 1):
        d = G.nodes[i]
        np.testing.assert_array_equal(d["pattern"], part.patterns[i])
        np.testing.assert_array_equal(d["witness"], part.witnesses[i])
        assert d["radius"] == part.radii[i]
        assert d["boundary"] == sorted(part.facets(i).domain_rows.tolist())
    for _, _, data in G.edges(data=True):
        assert "weight" not in data
        assert set(data) == {"layer", "unit", "unit_in_layer", "facet_point"}
        assert data["facet_point"].shape == (2,)
    vol = part.volumes()
    G = part.adjacency_graph()
    assert [G.nodes[i]["volume"] for i in range(len(part))] == vol.tolist()


def test_check_complete_rejects_what_is_not_a_partition():
    from relutope.graph import check_complete

    for certify in (False, True):
        with pytest.raises(TypeError, match="partition must be a relutope.Partition"):
            check_complete("not a partition", certify=certify)


def test_members_is_isin():
    # graph._members (check_complete's mutual-adjacency test, by sorting) against np.isin: the same multiset
    # (every key mutual), keys missing, duplicates, values below and above every key of the pool, empty arrays
    from relutope.graph import _members

    rng = np.random.default_rng(0)
    for n, spread in ((0, 5), (1, 5), (50, 5), (1000, 10 ** 12), (1000, 40)):
        pool = rng.integers(0, spread, n)
        for values in (rng.permutation(pool), rng.integers(-3, spread + 3, n), rng.integers(0, spread, 2 * n + 1),
                       np.zeros(0, dtype=np.int64)):
            np.testing.assert_array_equal(_members(values, pool), np.isin(values, pool))
    assert _members(np.array([1, 2]), np.zeros(0, dtype=np.int64)).tolist() == [False, False]
