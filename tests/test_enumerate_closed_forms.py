"""Region counts the engine must reproduce exactly, known in closed form.

* Zaslavsky (1975): n affine hyperplanes in general position in R^d cut it into sum_{i<=d} C(n, i) regions, of
  which C(n - 1, d) are bounded (the other 2 sum_{i<d} C(n - 1, i) are unbounded and, in general position, hold
  arbitrarily large balls). A single hidden layer of n ReLUs has one activation region per region.
* Telgarsky (COLT 2016): the tent map composed L times is piecewise linear with 2^L pieces of length 2^-L on
  [0, 1]; in the sawtooth network each piece is one activation region and layer l already cuts [0, 1] in 2^l.
* A grid: ReLUs of x, -x, y, -y followed by ReLUs of x - a_i and y - b_j (rebuilt from the first layer as
  relu(x) - relu(-x) - a_i) cut a box into a (len(a) + 2) x (len(b) + 2) grid when 0 is not among the a_i, b_j.
"""
import itertools
import math

import numpy as np
import pytest

from oracle import as_pattern_set, general_position_layer, sawtooth_net, zaslavsky_count
from relutope import Box, Layer, Network, WholeSpace, enumerate_regions


def expected_regions(n: int, d: int) -> int:
    """sum_{i <= d} C(n, i), written out here rather than taken from the oracle."""
    return sum(math.comb(n, i) for i in range(d + 1))


def test_expected_regions_formula():
    assert [expected_regions(n, 2) for n in range(6)] == [1, 2, 4, 7, 11, 16]
    assert expected_regions(30, 3) == 4526 and expected_regions(12, 4) == 794
    assert all(expected_regions(n, d) == zaslavsky_count(n, d) for n in range(12) for d in range(5))


@pytest.mark.parametrize("n,d", [(8, 2), (20, 2), (10, 3), (30, 3), (12, 4)])
@pytest.mark.parametrize("seed", [0, 1])
def test_zaslavsky_whole_space(n, d, seed):
    net = general_position_layer(n, d, seed)
    part = enumerate_regions(net, WholeSpace(d), radius_cap=1e4)
    assert part.complete
    assert len(part) == expected_regions(n, d)
    assert part.layer_counts.tolist() == [expected_regions(n, d)] * 2  # the linear output layer cuts nothing
    assert len(as_pattern_set(part.patterns)) == len(part)
    # unbounded regions hold balls of any size: their radius is the cap; bounded ones are far smaller here
    unbounded = int(np.sum(part.radii >= 1e4 * (1 - 1e-9)))
    assert unbounded == 2 * sum(math.comb(n - 1, i) for i in range(d))
    assert len(part) - unbounded == math.comb(n - 1, d)
    assert part.radii.max() <= 1e4 * (1 + 1e-9) and part.radii.min() > part.tol


@pytest.mark.parametrize("n,d", [(20, 2), (10, 3)])
def test_zaslavsky_in_a_box_holding_every_vertex(n, d):
    """A box that contains every vertex of the arrangement meets every region; the count is unchanged."""
    net = general_position_layer(n, d, seed=4)
    layer = net.layers[0]
    W, b = layer.A[1::2], layer.c[1::2]  # a ReLU's pieces are 0 and w.x + b

    vertices = np.array([np.linalg.solve(W[list(s)], -b[list(s)]) for s in itertools.combinations(range(n), d)])
    half = 2.0 * np.abs(vertices).max() + 1.0
    part = enumerate_regions(net, Box(-np.full(d, half), np.full(d, half)))
    assert len(part) == expected_regions(n, d) and part.complete
    whole = enumerate_regions(net, WholeSpace(d))
    assert as_pattern_set(part.patterns) == as_pattern_set(whole.patterns)


def test_parallel_hyperplanes_are_not_in_general_position():
    """n parallel lines cut the plane into n + 1 strips, fewer than Zaslavsky's count."""
    n = 7
    W = np.tile([[1.0, 2.0]], (n, 1))
    net = Network([Layer.affine(W, -np.arange(n) * 0.3, "relu"), Layer.affine(np.ones((1, n)), [0.0], "identity")])
    part = enumerate_regions(net, WholeSpace(2))
    assert len(part) == n + 1 < expected_regions(n, 2)
    # along the normal the strips are nested: the active sets are {}, {0}, {0, 1}, ...
    assert as_pattern_set(part.patterns) == {tuple([1] * k + [0] * (n - k) + [0]) for k in range(n + 1)}


# ---------------------------------------------------------------------------------------------- sawtooth
def tent_power(x: np.ndarray, L: int) -> np.ndarray:
    for _ in range(L):
        x = np.where(x <= 0.5, 2 * x, 2 - 2 * x)
    return x


@pytest.mark.parametrize("L", range(1, 11))
def test_sawtooth_has_two_to_the_L_regions(L):
    net = sawtooth_net(L)
    part = enumerate_regions(net, Box([0.0], [1.0]))
    assert part.complete
    assert len(part) == 2 ** L
    assert part.layer_counts.tolist() == [2 ** l for l in range(1, L + 1)] + [2 ** L]
    # the pieces are the 2^L intervals [i, i + 1] / 2^L: radius 2^-(L + 1), centred at their midpoints
    np.testing.assert_allclose(part.radii, 2.0 ** -(L + 1), rtol=1e-9)
    mid = (np.arange(2 ** L) + 0.5) / 2 ** L
    order = np.argsort(part.witnesses[:, 0])
    np.testing.assert_allclose(part.witnesses[order, 0], mid, atol=1e-9)
    # layer l's units are relu(t) (always active: t > 0 inside a piece) and relu(t - 1/2), t = tent^(l-1)(x)
    expected = np.zeros((2 ** L, net.n_units), dtype=np.int8)
    for l in range(L):
        expected[:, 2 * l] = 1
        expected[:, 2 * l + 1] = tent_power(mid, l) > 0.5
    np.testing.assert_array_equal(part.patterns[order], expected)


# ---------------------------------------------------------------------------------------------- a grid
def grid_net(a, b) -> Network:
    """relu(x), relu(-x), relu(y), relu(-y); then relu(x - a_i) and relu(y - b_j); then a linear output."""
    first = Layer.affine([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], np.zeros(4), "relu")
    rows = [[1.0, -1.0, 0.0, 0.0]] * len(a) + [[0.0, 0.0, 1.0, -1.0]] * len(b)
    second = Layer.affine(rows, -np.concatenate([a, b]), "relu")
    return Network([first, second, Layer.affine(np.ones((1, len(a) + len(b))), [0.0], "identity")])


@pytest.mark.parametrize("a,b", [([-0.5, 0.25, 0.5], [0.3, -0.6]), ([0.1], [-0.9, -0.3, 0.2, 0.7])])
def test_grid_layer_counts(a, b):
    a, b = np.array(a), np.array(b)
    net = grid_net(a, b)
    part = enumerate_regions(net, Box([-1.0, -1.0], [1.0, 1.0]))
    cells = (len(a) + 2) * (len(b) + 2)
    assert part.layer_counts.tolist() == [4, cells, cells] and len(part) == cells
    # the expected patterns, one per grid cell, from the cells' midpoints by direct comparison
    xs = np.sort(np.concatenate([[-1.0, 0.0, 1.0], a]))
    ys = np.sort(np.concatenate([[-1.0, 0.0, 1.0], b]))
    want = set()
    for x in (xs[:-1] + xs[1:]) / 2:
        for y in (ys[:-1] + ys[1:]) / 2:
            want.add(tuple(int(v) for v in [x > 0, x < 0, y > 0, y < 0, *(x > a), *(y > b), 0]))
    assert as_pattern_set(part.patterns) == want


def test_repeated_layer_adds_no_region():
    """relu(relu(z)) is active exactly where relu(z) is: a second layer copying the first cuts nothing."""
    net1 = general_position_layer(9, 2, seed=5)
    first = net1.layers[0]
    n = first.n_units
    net = Network([first, Layer.affine(np.eye(n), np.zeros(n), "relu"),
                   Layer.affine(np.ones((1, n)), [0.0], "identity")])
    part = enumerate_regions(net, WholeSpace(2))
    z = expected_regions(9, 2)
    assert part.layer_counts.tolist() == [z, z, z]
    np.testing.assert_array_equal(part.patterns[:, :n], part.patterns[:, n:2 * n])


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_abs_folding(depth):
    """x -> |x|, then |x - 1/2|, |x - 1/4|, ... per coordinate: 2^depth intervals per axis, (2^depth)^2 squares."""
    layers = [Layer.affine(np.eye(2), [0.0, 0.0], "abs")]
    for l in range(1, depth):
        layers.append(Layer.affine(np.eye(2), -np.full(2, 2.0 ** -l), "abs"))
    net = Network(layers + [Layer.affine(np.ones((1, 2)), [0.0], "identity")])
    part = enumerate_regions(net, Box([-1.0, -1.0], [1.0, 1.0]))
    assert part.layer_counts.tolist() == [4 ** l for l in range(1, depth + 1)] + [4 ** depth]
    np.testing.assert_allclose(part.radii, 2.0 ** -depth, rtol=1e-9)  # squares of side 2 / 2^depth
