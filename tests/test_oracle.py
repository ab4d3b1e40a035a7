"""Tests of the reference implementations themselves (tests/oracle.py and bench/baseline.py).

The brute-force oracle is checked against closed forms derived independently of any LP: Zaslavsky's count for
hyperplanes in general position and the 2^L pieces of Telgarsky's sawtooth; it is also checked against the
network's own forward pass. The baseline (the engine's algorithm in Python) is checked against the oracle.
"""
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[1]
for _p in (_ROOT / "tests", _ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from baseline import enumerate_baseline  # noqa: E402
from oracle import (  # noqa: E402
    as_pattern_set,
    brute_force_patterns,
    chebyshev,
    general_position_layer,
    layer_pieces_in_u,
    region_halfspaces,
    sawtooth_net,
    zaslavsky_count,
)
from relutope.network import Layer, Network  # noqa: E402


def box(d, lo=-1.0, hi=1.0):
    """Rows (2d, d) and offsets (2d,) of the box [lo, hi]^d."""
    return np.vstack([np.eye(d), -np.eye(d)]), np.concatenate([np.full(d, hi), np.full(d, -lo)])


# ---------------------------------------------------------------------------------------------- chebyshev
def test_chebyshev_closed_forms():
    A, b = box(2, 0.0, 1.0)
    c, r = chebyshev(A, b)
    assert r == pytest.approx(0.5, abs=1e-9)
    np.testing.assert_allclose(c, [0.5, 0.5], atol=1e-8)
    # right triangle x, y >= 0, x + y <= 1: inradius (2 - sqrt 2) / 2
    _, r = chebyshev([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    assert r == pytest.approx((2 - np.sqrt(2)) / 2, abs=1e-9)
    # rows are normalised: scaling a row does not change the ball
    _, r = chebyshev([[-5, 0], [0, -1], [3, 3]], [0, 0, 3])
    assert r == pytest.approx((2 - np.sqrt(2)) / 2, abs=1e-9)
    assert chebyshev([[1.0], [-1.0]], [0.0, -1.0])[1] == -np.inf  # x <= 0 and x >= 1
    assert chebyshev([[0.0, 0.0]], [-1.0])[1] == -np.inf  # 0 <= -1
    assert chebyshev([[0.0, 0.0], [1.0, 0.0]], [0.0, 2.0])[1] == 1.0  # half-plane: the cap
    assert chebyshev([[1.0, 0.0]], [2.0], radius_cap=None)[1] == np.inf


# ---------------------------------------------------------------------------------------------- composition
def test_layer_pieces_match_forward_pass():
    net = Network.random([3, 5, 4, 2], seed=7, activation="leaky_relu")
    rng = np.random.default_rng(0)
    for x in rng.normal(size=(5, 3)):
        pattern = net.activation_pattern(x[None])[0]
        pieces = layer_pieces_in_u(net, np.zeros(3), np.eye(3), pattern)
        h = x
        for layer, unit_pieces in zip(net.layers, pieces):
            z = layer.A @ h + layer.c  # every piece evaluated at the layer input
            got = np.concatenate([M @ x + m for M, m in unit_pieces])
            np.testing.assert_allclose(got, z, rtol=1e-12, atol=1e-12)
            h = np.array([z[layer.piece_start[j]:layer.piece_start[j + 1]].max() for j in range(layer.n_units)])
    A, b = region_halfspaces(net, pattern, Adom=box(3)[0], bdom=box(3)[1])
    assert A.shape == (6 + int((net.n_pieces - 1).sum()), 3) and b.shape == (A.shape[0],)
    assert np.all(A[6:] @ x <= b[6:] + 1e-12)  # the point satisfies its own pattern's argmax rows
    assert np.all(A[:6] @ x <= b[:6]) == bool(np.all(np.abs(x) <= 1))  # and the box rows iff it is in the box


# ---------------------------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("n,d", [(4, 1), (5, 2), (7, 2), (6, 3)])
@pytest.mark.parametrize("seed", [0, 1])
def test_zaslavsky_whole_space(n, d, seed):
    net = general_position_layer(n, d, seed)
    pats, radii, centers = brute_force_patterns(net, return_centers=True)
    assert len(pats) == zaslavsky_count(n, d)
    assert len(as_pattern_set(pats)) == len(pats)
    assert np.all(radii <= 1.0) and radii.min() > 1e-4  # far from tol: the count is not a tolerance artefact
    np.testing.assert_array_equal(net.activation_pattern(centers), pats)


@pytest.mark.parametrize("n,d", [(5, 2), (6, 3)])
def test_zaslavsky_box_holding_every_vertex(n, d):
    """A box containing every vertex of the arrangement meets every region (each has a vertex or is a slab)."""
    net = general_position_layer(n, d, seed=3)
    W, b = net.layers[0].A[1::2], net.layers[0].c[1::2]  # the ReLU's active pieces are w.x + b
    vertices = np.array([np.linalg.solve(W[list(s)], -b[list(s)]) for s in itertools.combinations(range(n), d)])
    half = 2 * np.abs(vertices).max() + 1
    Adom, bdom = box(d, -half, half)
    pats, _ = brute_force_patterns(net, Adom=Adom, bdom=bdom)
    assert len(pats) == zaslavsky_count(n, d)
    assert as_pattern_set(pats) == as_pattern_set(brute_force_patterns(net)[0])


def test_zaslavsky_count_values():
    assert [zaslavsky_count(n, 2) for n in range(5)] == [1, 2, 4, 7, 11]
    assert zaslavsky_count(3, 3) == 8 and zaslavsky_count(10, 0) == 1


@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_sawtooth_has_two_to_the_L_regions(L):
    net = sawtooth_net(L)
    xs = np.linspace(0, 1, 1001)
    tent = xs.copy()
    for _ in range(L):
        tent = np.where(tent <= 0.5, 2 * tent, 2 - 2 * tent)
    np.testing.assert_allclose(net(xs[:, None])[:, 0], tent, atol=1e-12)  # it is the sawtooth
    pats, radii, centers = brute_force_patterns(net, Adom=[[-1.0], [1.0]], bdom=[0.0, 1.0], return_centers=True)
    assert len(pats) == 2 ** L < 2 ** (2 * L)  # most of the 2^(2L) patterns are empty
    np.testing.assert_allclose(radii, 2.0 ** -(L + 1), atol=1e-9)  # 2^L equal pieces
    np.testing.assert_allclose(np.sort(centers[:, 0]), (2 * np.arange(2 ** L) + 1) / 2 ** (L + 1), atol=1e-8)
    np.testing.assert_array_equal(net.activation_pattern(centers), pats)


# ---------------------------------------------------------------------------------------------- forward pass
def test_brute_force_agrees_with_sampling_on_a_slice():
    net = Network.random([3, 4, 4, 1], seed=11)
    rng = np.random.default_rng(1)
    x0, E = rng.normal(size=3) * 0.1, rng.normal(size=(3, 2))
    Adom, bdom = box(2)
    pats, _, centers = brute_force_patterns(net, x0=x0, E=E, Adom=Adom, bdom=bdom, return_centers=True)
    np.testing.assert_array_equal(net.activation_pattern(x0 + centers @ E.T), pats)
    g = np.linspace(-1, 1, 61)
    U = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    sampled = as_pattern_set(net.activation_pattern(x0 + U @ E.T))
    assert sampled <= as_pattern_set(pats)
    assert len(sampled) >= 0.8 * len(pats)  # a fine grid sees most regions


def test_ties_go_to_the_lowest_piece():
    """A dead first layer makes the second layer's pieces identical (0 and 0 * x): the network picks piece 0."""
    net = Network.from_weights([(np.ones((1, 1)), [-10.0]), (np.array([[1.0], [2.0]]), [0.0, 0.0]),
                                (np.ones((1, 2)), np.zeros(1))])
    Adom, bdom = [[-1.0], [1.0]], [0.0, 1.0]
    pats, _ = brute_force_patterns(net, Adom=Adom, bdom=bdom)
    assert as_pattern_set(pats) == {(0, 0, 0, 0)} == as_pattern_set(net.activation_pattern([[0.3], [0.9]]))
    assert len(brute_force_patterns(net, Adom=Adom, bdom=bdom, ties="closed")[0]) == 4  # the closed reading
    assert as_pattern_set(enumerate_baseline(net, 0.0, 1.0)["patterns"]) == {(0, 0, 0, 0)}


def test_brute_force_refuses_huge_nets():
    with pytest.raises(ValueError, match="combinations"):
        brute_force_patterns(Network.random([2, 17, 1], seed=0))


# ---------------------------------------------------------------------------------------------- baseline
@pytest.mark.parametrize("widths,seed,activation", [
    ([2, 4, 4, 1], 0, "relu"), ([2, 4, 4, 1], 1, "relu"), ([2, 4, 4, 1], 2, "relu"), ([2, 4, 4, 1], 3, "relu"),
    ([3, 4, 4, 1], 0, "relu"), ([3, 4, 4, 1], 1, "relu"),
    ([2, 4, 4, 1], 4, "abs"), ([2, 5, 3, 1], 5, "leaky_relu"),
])
def test_baseline_matches_brute_force(widths, seed, activation):
    net = Network.random(widths, seed=seed, activation=activation)
    d = widths[0]
    out = enumerate_baseline(net, -1.0, 1.0)
    pats, _ = brute_force_patterns(net, Adom=box(d)[0], bdom=box(d)[1])
    assert out["complete"] and out["regions"] == len(out["patterns"]) > 1
    assert out["patterns"].dtype == np.int8 and out["patterns"].shape[1] == net.n_units
    assert as_pattern_set(out["patterns"]) == as_pattern_set(pats)
    assert out["regions"] <= out["lps"] and out["seconds"] > 0


def test_baseline_matches_brute_force_with_max_pooling_units():
    rng = np.random.default_rng(2)
    pool = Layer(rng.normal(size=(7, 2)), rng.normal(size=7) * 0.3, [3, 4])  # max of 3 and of 4 affine maps
    net = Network([pool, Layer.affine(rng.normal(size=(3, 2)), rng.normal(size=3) * 0.3),
                   Layer.affine(rng.normal(size=(1, 3)), np.zeros(1), "identity")])
    out = enumerate_baseline(net, -1.0, 1.0)
    pats, _ = brute_force_patterns(net, Adom=box(2)[0], bdom=box(2)[1])
    assert out["regions"] > 3 and as_pattern_set(out["patterns"]) == as_pattern_set(pats)


def test_thin_regions_follow_tol():
    """ReLUs at 1 - 5e-8 (a sliver of radius 2.5e-8 < tol: dropped) and 1 - 3e-7 (radius 1.25e-7 > tol: kept)."""
    t = np.array([0.5, 1 - 5e-8, 1 - 3e-7])
    net = Network.from_weights([(np.ones((3, 1)), -t), (np.ones((1, 3)), np.zeros(1))])
    expected = {(0, 0, 0, 0), (1, 0, 0, 0), (1, 0, 1, 0)}
    assert as_pattern_set(brute_force_patterns(net, Adom=[[-1.0], [1.0]], bdom=[0.0, 1.0])[0]) == expected
    assert as_pattern_set(enumerate_baseline(net, 0.0, 1.0)["patterns"]) == expected
    # 1 - 2.2e-7 leaves [1 - 2.2e-7, 1 - 5e-8] of radius 8.5e-8 < tol once the sliver is cut off: no region,
    # although the ball kept from before the cut would suggest one.
    net = Network.from_weights([(np.ones((3, 1)), -np.array([0.5, 1 - 5e-8, 1 - 2.2e-7])),
                                (np.ones((1, 3)), np.zeros(1))])
    expected = {(0, 0, 0, 0), (1, 0, 0, 0)}
    assert as_pattern_set(brute_force_patterns(net, Adom=[[-1.0], [1.0]], bdom=[0.0, 1.0])[0]) == expected
    assert as_pattern_set(enumerate_baseline(net, 0.0, 1.0)["patterns"]) == expected


def test_baseline_honours_max_seconds():
    out = enumerate_baseline(Network.random([2, 8, 8, 1], seed=0), -1.0, 1.0, max_seconds=0.0)
    assert not out["complete"] and out["regions"] == 0 and out["patterns"].shape == (0, 17)
