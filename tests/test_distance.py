"""Per-layer code distances against direct counts."""
import numpy as np
import pytest

import relutope
from relutope.distance import layer_code_distance


def test_layer_code_distance_counts_differing_units_per_layer():
    net = relutope.Network.random([3, 5, 4, 2], seed=1)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    pa, pb = net.activation_pattern(x), net.activation_pattern(y)
    got = layer_code_distance(net, pa, pb)
    assert got.shape == (50, 3)
    # direct count, layer by layer, from the widths
    starts = np.cumsum([0, 5, 4, 2])
    for l in range(3):
        s, e = starts[l], starts[l + 1]
        np.testing.assert_array_equal(got[:, l], (pa[:, s:e] != pb[:, s:e]).sum(axis=1) / (e - s))
    np.testing.assert_array_equal(layer_code_distance(net, pa[3], pb[3]), got[3])
    assert np.all(layer_code_distance(net, pa, pa) == 0)


def test_layer_code_distance_rejects_bad_patterns():
    net = relutope.Network.random([2, 3, 1], seed=0)
    p = np.zeros((4, 4), dtype=np.int8)
    with pytest.raises(ValueError, match="patterns_a"):
        layer_code_distance(net, p[:, :3], p)
    with pytest.raises(TypeError, match="patterns_b"):
        layer_code_distance(net, p, p.astype(float))
    with pytest.raises(ValueError, match="same shape"):
        layer_code_distance(net, p, p[:2])
    with pytest.raises(TypeError, match="network"):
        layer_code_distance("net", p, p)
    # pieces a unit does not have (ReLUs have 2, the identity output unit 1): were counted as differing pieces
    for bad, name in ((-1, "patterns_a"), (2, "patterns_b")):
        q = p.copy()
        q[1, 0] = bad
        args = (q, p) if name == "patterns_a" else (p, q)
        with pytest.raises(ValueError, match=f"{name} names a piece index"):
            layer_code_distance(net, *args)
    q = p.copy()
    q[0, 3] = 1
    with pytest.raises(ValueError, match="patterns_a names a piece index"):
        layer_code_distance(net, q, p)


# ---------------------------------------------------------------------------------------------- signal distances
from relutope.distance import (graph_distance, hamming_distance, pairwise_distance, segment_distance,  # noqa: E402
                               vq_distance)


def _one_layer(d, n, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(n, d)), rng.normal(size=n) * scale
    return W, b, relutope.Network.from_weights([(W, b), (rng.normal(size=(1, n)), np.zeros(1))])


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_one_hidden_layer_segment_graph_and_hamming_equal_separating_hyperplanes(scale):
    # off-centre box of half-width `scale` around c; the hyperplanes pass through it
    c = np.array([3.0, -2.0]) * scale
    rng = np.random.default_rng(1)
    W = rng.normal(size=(9, 2))
    b = -W @ c + rng.normal(size=9) * 0.5 * scale
    net = relutope.Network.from_weights([(W, b), (rng.normal(size=(1, 9)), np.zeros(1))])
    box = relutope.Box(c - scale, c + scale)
    xa, xb = box.sample(40, rng=2), box.sample(40, rng=3)
    separating = (np.sign(xa @ W.T + b) != np.sign(xb @ W.T + b)).sum(axis=1)  # closed form
    assert separating.max() >= 3
    np.testing.assert_array_equal(hamming_distance(net, xa, xb), separating)
    np.testing.assert_array_equal(segment_distance(net, xa, xb), separating)
    part = relutope.enumerate_regions(net, box)
    np.testing.assert_array_equal(graph_distance(part, xa, xb), separating)
    # the normalised distance: one layer of 9 units, a linear output that never differs
    np.testing.assert_allclose(vq_distance(net, xa, xb), separating / 9, rtol=0, atol=1e-15)


def test_deep_net_hamming_le_graph_le_segment():
    net = relutope.Network.random([2, 8, 8, 8, 1], seed=4)
    box = relutope.Box([-3.0, -2.0], [3.0, 4.0])
    part = relutope.enumerate_regions(net, box)
    xa, xb = box.sample(60, rng=5), box.sample(60, rng=6)
    h, g, s = hamming_distance(net, xa, xb), graph_distance(part, xa, xb), segment_distance(net, xa, xb)
    assert np.all(h <= g) and np.all(g <= s)
    assert np.any(h < g)  # deep units flip along the way and back: the bound is not an identity
    # the segment's count is its line walk's, and its pieces are adjacent regions
    i = int(np.argmax(s))
    walk = relutope.line_count(net, xa[i], xb[i])
    assert walk.n_regions - 1 == s[i]
    G = part.adjacency_graph()
    idx = part.index_of(walk.patterns)
    assert np.all(idx >= 0) and all(G.has_edge(u, v) for u, v in zip(idx[:-1], idx[1:]))
    # per-layer Hamming counts sum to the total and agree with layer_code_distance x width
    per = hamming_distance(net, xa, xb, per_layer=True)
    np.testing.assert_array_equal(per.sum(axis=1), h)
    lcd = layer_code_distance(net, net.activation_pattern(xa), net.activation_pattern(xb))
    np.testing.assert_allclose(per, lcd * np.array([8, 8, 8, 1]), rtol=0, atol=1e-12)


def test_pairwise_distance_matches_the_pair_functions():
    # a layer of 3-piece max units (argmax codes) and a ReLU layer: the one-hot product covers K > 2
    rng = np.random.default_rng(7)
    maxout = relutope.Layer(rng.normal(size=(12, 3)), rng.normal(size=12), np.full(4, 3))
    net = relutope.Network([maxout, relutope.Layer.affine(rng.normal(size=(5, 4)), rng.normal(size=5)),
                            relutope.Layer.affine(rng.normal(size=(2, 5)), np.zeros(2), "identity")])
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    i, j = np.repeat(np.arange(7), 5), np.tile(np.arange(5), 7)
    for metric, fn in (("vq", vq_distance), ("hamming", hamming_distance), ("segment", segment_distance)):
        D = pairwise_distance(net, X, Y, metric=metric)
        assert D.shape == (7, 5)
        np.testing.assert_allclose(D.ravel(), fn(net, X[i], Y[j]), rtol=0, atol=1e-12)
    part = relutope.enumerate_regions(net, relutope.Box(-4 * np.ones(3), 4 * np.ones(3)))
    np.testing.assert_array_equal(pairwise_distance(part, X, Y, metric="graph").ravel(),
                                  graph_distance(part, X[i], Y[j]))
    DX = pairwise_distance(net, X)
    assert np.all(DX == DX.T) and np.all(np.diag(DX) == 0)
    # direct count from the patterns
    pa, pb = net.activation_pattern(X[i]), net.activation_pattern(Y[j])
    np.testing.assert_array_equal(pairwise_distance(net, X, Y, metric="hamming").ravel(), (pa != pb).sum(axis=1))


def test_signal_distances_reject_bad_input():
    net = relutope.Network.random([2, 4, 1], seed=0)
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="same shape"):
        vq_distance(net, x, x[:2])
    with pytest.raises(ValueError, match="x_b"):
        hamming_distance(net, x, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="metric"):
        pairwise_distance(net, x, metric="euclid")
    with pytest.raises(TypeError, match="Partition"):
        pairwise_distance(net, x, metric="graph")
    with pytest.raises(TypeError, match="partition"):
        graph_distance(net, x, x)
    part = relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1]))
    with pytest.raises(ValueError, match=r"x_b\[1\]"):
        graph_distance(part, x, np.array([[0, 0], [5, 0], [0, 0]]))
    np.testing.assert_array_equal(segment_distance(net, x, x), 0)  # equal points: distance 0, no walk
    # a bad tol was ignored when no segment was walked (equal points) or the metric does not use it
    for bad, exc in ((np.nan, ValueError), (-1.0, ValueError), ("x", TypeError), (None, TypeError)):
        with pytest.raises(exc, match="^tol must be"):
            segment_distance(net, x, x, tol=bad)
        for metric in ("vq", "hamming", "segment"):
            with pytest.raises(exc, match="^tol must be"):
                pairwise_distance(net, x, metric=metric, tol=bad)
