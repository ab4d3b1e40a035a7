"""Tests of relutope.plot and of the picture of ``relutope demo``.

Drawing is checked through the artists: one polygon per region, colour values, segments that the network's own
forward pass confirms lie on its decision boundary, and graph edges against the adjacency of the polygons.
"""
from itertools import combinations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.collections import LineCollection, PathCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import relutope  # noqa: E402
import relutope.plot as rplot  # noqa: E402
from relutope import cli  # noqa: E402
from relutope.demo import demo_network  # noqa: E402
from relutope.network import Network  # noqa: E402

BOX = relutope.Box([-1.0, -0.5], [1.5, 1.0])


def new_ax():
    return Figure().add_subplot()


@pytest.fixture(scope="module")
def part():
    return relutope.enumerate_regions(Network.random([2, 8, 8, 1], seed=2), BOX)


@pytest.mark.parametrize("color", ["pattern", "layer", "output", "volume"])
def test_partition_draws_one_polygon_per_region(part, color):
    ax = new_ax()
    coll = rplot.partition(part, ax=ax, color=color)
    assert isinstance(coll, PolyCollection) and coll in ax.collections
    assert len(coll.get_paths()) == len(part)
    values = coll.get_array()
    assert values.shape == (len(part),) and np.all(np.isfinite(values))
    if color == "pattern":
        assert len(np.unique(values)) == len(part)  # every region its own colour value
    if color == "layer":  # as many colours as cells after the first layer
        assert len(np.unique(values)) == part.layer_counts[0]
    if color == "output":
        np.testing.assert_allclose(values, part.network(part.witnesses)[:, 0])
    if color == "volume":
        assert values.sum() == pytest.approx(BOX.volume(), rel=1e-9)
    # autoscaled to the domain, equal aspect
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 <= -1.0 and x1 >= 1.5 and y0 <= -0.5 and y1 >= 1.0
    assert ax.get_aspect() == 1.0


def test_partition_rejects_bad_arguments(part):
    with pytest.raises(ValueError, match="color"):
        rplot.partition(part, ax=new_ax(), color="rainbow")
    with pytest.raises(ValueError, match="layer"):
        rplot.partition(part, ax=new_ax(), color="layer", layer=7)
    with pytest.raises(TypeError):
        rplot.partition("not a partition", ax=new_ax())


def test_layers_draws_truncated_networks(part):
    fig = Figure()
    axes = fig.subplots(1, 2)
    colls = rplot.layers(part.network, BOX, ax=axes)
    assert len(colls) == 2  # two hidden layers; the linear output adds no panel
    assert [len(c.get_paths()) for c in colls] == part.layer_counts[:2].tolist()
    assert colls[0] in axes[0].collections and colls[1] in axes[1].collections
    assert axes[1].get_title() == f"layers 1\u20132: {part.layer_counts[1]:,} regions"
    with pytest.raises(ValueError, match="axes"):
        rplot.layers(part.network, BOX, ax=[new_ax()])


def test_decision_boundary_of_an_affine_net_is_its_chord():
    """For y = w.x + c on the box, the boundary is one chord of the line w.x + c = 0, cut region by region."""
    w, c = np.array([1.0, 2.0]), -0.3
    # A ReLU layer that is the identity on the box (units x + 10, y + 10), then the affine output.
    net = Network.from_weights([(np.eye(2), np.full(2, 10.0)), (w[None, :], np.array([c - w.sum() * 10.0]))])
    part = relutope.enumerate_regions(net, BOX)
    seg = rplot.decision_boundary(part, ax=new_ax()).get_segments()
    assert len(seg) == 1
    p, q = seg[0]
    np.testing.assert_allclose([p @ w + c, q @ w + c], 0.0, atol=1e-12)
    # The chord's length from the line's intersections with the box, computed directly.
    pts = []
    for x in (-1.0, 1.5):
        y = (-c - w[0] * x) / w[1]
        if -0.5 <= y <= 1.0:
            pts.append((x, y))
    for y in (-0.5, 1.0):
        x = (-c - w[1] * y) / w[0]
        if -1.0 <= x <= 1.5:
            pts.append((x, y))
    chord = max(np.linalg.norm(np.subtract(a, b)) for a, b in combinations(pts, 2))
    assert np.linalg.norm(p - q) == pytest.approx(chord, rel=1e-12)


def test_decision_boundary_segments_lie_on_the_boundary():
    net, box = demo_network()
    part = relutope.enumerate_regions(net, box)
    coll = rplot.decision_boundary(part, ax=new_ax())
    assert isinstance(coll, LineCollection)
    seg = np.array(coll.get_segments())
    assert len(seg) > 10
    pts = seg.reshape(-1, 2)
    assert np.abs(net(pts)[:, 0]).max() < 1e-9 * np.abs(net(part.witnesses)).max()
    # Nearly every end point is shared with another segment (a polyline) or lies on the box's boundary.
    on_box = np.isclose(pts, box.lo).any(axis=1) | np.isclose(pts, box.hi).any(axis=1)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2) + np.eye(len(pts)) * 1e9
    assert np.all(on_box | (d.min(axis=1) < 1e-9))


def test_decision_boundary_of_a_multiclass_net():
    net = Network.random([2, 10, 10, 4], seed=4)
    part = relutope.enumerate_regions(net, BOX)
    seg = np.array(rplot.decision_boundary(part, ax=new_ax()).get_segments())
    assert len(seg) > 0
    mids = seg.mean(axis=1)
    for pts in (seg[:, 0], seg[:, 1], mids):
        top2 = np.sort(net(pts), axis=1)[:, -2:]
        np.testing.assert_allclose(top2[:, 0], top2[:, 1], atol=1e-9)
    # Random points: a segment separates two different argmax classes (points either side of a midpoint).
    d = seg[:, 1] - seg[:, 0]
    n = np.column_stack([d[:, 1], -d[:, 0]]) / np.linalg.norm(d, axis=1)[:, None]
    a = np.argmax(net(mids + 1e-7 * n), axis=1)
    b = np.argmax(net(mids - 1e-7 * n), axis=1)
    assert np.mean(a != b) > 0.95


def test_graph_without_adjacency_graph(part):
    ax = new_ax()
    lines, nodes = rplot.graph(part, ax=ax)
    assert isinstance(lines, LineCollection) and isinstance(nodes, PathCollection)
    assert len(nodes.get_offsets()) == len(part)
    segs = np.array(lines.get_segments())
    # Edges join witnesses of regions whose patterns differ in exactly one unit (a generic ReLU net).
    idx = {tuple(p): i for i, p in enumerate(map(tuple, part.witness_coords))}
    for s in segs:
        i, j = idx[tuple(s[0])], idx[tuple(s[1])]
        assert np.count_nonzero(part.patterns[i] != part.patterns[j]) == 1
    # Planar graph of a tiling: Euler's formula bounds the edges; every region has a neighbour.
    assert len(part) - 1 <= len(segs) <= 3 * len(part) - 6
    assert len({idx[tuple(p)] for s in segs for p in s}) == len(part)


def test_graph_uses_adjacency_graph_when_available(part):
    nx = pytest.importorskip("networkx")

    class WithGraph(relutope.Partition):
        def adjacency_graph(self):
            G = nx.Graph()
            G.add_nodes_from(range(len(self)))
            G.add_edges_from([(0, 1), (1, 2)])
            return G

    fake = WithGraph(part.network, part.domain, part.patterns, part._centers, part.radii, part.layer_counts,
                     tol=part.tol)
    lines, _ = rplot.graph(fake, ax=new_ax())
    np.testing.assert_allclose(np.array(lines.get_segments()), part.witness_coords[[[0, 1], [1, 2]]])


def test_demo_writes_a_png_showing_every_region(tmp_path, capsys):
    path = tmp_path / "demo.png"
    assert cli.main(["demo", "--png", str(path)]) == 0
    assert f"written to {path}" in capsys.readouterr().out
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    net, box = demo_network()
    part = relutope.enumerate_regions(net, box)
    fig = cli.demo_picture(net, box, part, str(tmp_path / "again.png"))
    polys = [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection)]
    assert [len(c.get_paths()) for c in polys] == part.layer_counts[:3].tolist() + [len(part)]
    assert len(np.unique(polys[2].get_array())) == len(part)  # distinct colours, one per region
    titles = [ax.get_title() for ax in fig.axes]
    assert any(f"{len(part):,} regions" in t for t in titles)
