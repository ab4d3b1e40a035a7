"""exact.exact_halfspaces and exact.neighbour_patterns against the float oracle (tests/oracle.py) and the exact
forward pass."""
import numpy as np
import pytest

import relutope
from relutope.exact import exact_forward, exact_halfspaces, exact_pattern, neighbour_patterns, to_rational

pytest.importorskip("flint")
from oracle import region_halfspaces  # noqa: E402


def test_exact_halfspaces_and_neighbour_patterns_against_float():
    net = relutope.Network.random([2, 4, 3, 1], seed=1)
    part = relutope.enumerate_regions(net, relutope.Box(-np.ones(2), np.ones(2)))
    for j in range(0, len(part), 3):
        p, x = part.patterns[j], part.witnesses[j]
        G, h, strict = exact_halfspaces(net, p)
        A, b = region_halfspaces(net, p)  # the oracle's rows, in float
        assert G.shape == A.shape and strict.shape == (A.shape[0],)
        np.testing.assert_allclose(G.astype(float), A, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h.astype(float), b, rtol=1e-12, atol=1e-12)
        slack = h - G.dot(to_rational(x))
        assert all(s > 0 for s in slack)  # the witness is strictly inside, exactly
        cands, complete = neighbour_patterns(net, x)
        assert complete and len(cands) == 1 and np.array_equal(cands[0], exact_pattern(net, x)[0])


def test_neighbour_patterns_on_a_crossing():
    """At the crossing of two lines of the first layer the four patterns around it are listed; the second layer's
    unit is decided there, so exactly four."""
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    net = relutope.Network.from_weights([(W, np.array([-0.5, 0.25])), (np.array([[1.0, 2.0]]), np.array([3.0])),
                                         (np.ones((1, 1)), np.zeros(1))])
    x = np.array([0.5, -0.25])
    ties = exact_forward(net, x)[2][0]
    assert ties[:2].all() and not ties[2:].any()
    cands, complete = neighbour_patterns(net, x)
    assert complete and {tuple(c[:2]) for c in cands} == {(0, 0), (0, 1), (1, 0), (1, 1)} and len(cands) == 4
    # every candidate is the float pattern of a point just beside the crossing
    side = {tuple(net.forward((x + 1e-6 * np.array(s))[None])[1][0]) for s in [(1, 1), (1, -1), (-1, 1), (-1, -1)]}
    assert side == {tuple(int(v) for v in c) for c in cands}
    two, complete = neighbour_patterns(net, x, max_patterns=2)
    assert not complete and len(two) == 2


def test_exact_halfspaces_strict_rows_and_bad_input():
    net = relutope.Network.from_weights([(np.zeros((1, 2)), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    G, h, strict = exact_halfspaces(net, np.array([1, 0], dtype=np.int8))  # active although z == 0 everywhere
    assert G.shape == (1, 2) and all(v == 0 for v in G[0]) and h[0] == 0 and strict[0]
    with pytest.raises(ValueError, match="shape"):
        exact_halfspaces(net, np.zeros(3, dtype=np.int8))
    with pytest.raises(TypeError, match="integer"):
        exact_halfspaces(net, np.zeros(2))
    with pytest.raises(ValueError, match="max_patterns"):
        neighbour_patterns(net, np.zeros(2), max_patterns=0)
    with pytest.raises(TypeError, match="max_patterns must be an int, got float"):
        neighbour_patterns(net, np.zeros(2), max_patterns=2.0)


def test_exact_region_is_the_map_and_the_rows_of_one_composition():
    # exact_region against exact_affine_map and exact_halfspaces (each its own composition), in rationals, on a
    # ReLU net and on one with max-pooling (units of several pieces), and the same errors
    from relutope.exact import exact_affine_map, exact_region

    from relutope.network import Layer

    relu = relutope.Network.random([3, 5, 4, 2], seed=2)
    rng = np.random.default_rng(0)
    maxpool = relutope.Network([Layer.affine(rng.normal(size=(7, 2)), rng.normal(size=7), "relu"),
                                Layer(np.eye(7), np.zeros(7), [3, 4]),
                                Layer.affine(rng.normal(size=(1, 2)), np.zeros(1), "identity")])
    for net in (relu, maxpool):
        x = rng.normal(size=(4, net.in_dim)) * 1e3 + 5e3
        for p in net.activation_pattern(x):
            A, b, G, h, strict = exact_region(net, p)
            A2, b2 = exact_affine_map(net, p)
            G2, h2, strict2 = exact_halfspaces(net, p)
            assert A.shape == A2.shape and G.shape == G2.shape and np.array_equal(strict, strict2)
            assert all(u == v for u, v in zip(A.ravel(), A2.ravel())) and all(u == v for u, v in zip(b, b2))
            assert all(u == v for u, v in zip(G.ravel(), G2.ravel())) and all(u == v for u, v in zip(h, h2))
    with pytest.raises(ValueError, match="pattern"):
        exact_region(relu, relu.activation_pattern(np.zeros((1, 3)))[0][:-1])
