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
