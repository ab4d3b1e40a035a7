"""The relaxation's kernels (cpp/src/relaxation.cpp) at every width they are specialised for: the forward bounds'
rows of 2 (k + 1) entries padded to 4, 8, 12 or 16 columns, or unpadded beyond (k = 1, 2, 3, 5, 7, 8, 11 inputs), and
the back-substitution's blocks of 4, 2 and 1 rows (7 objectives and their negations: 14 rows). The linear lower bounds
G u + g of C y + d are checked pointwise against forward passes (samples of the box and its corners), and their
minima over the box against the sampled minima, on ReLU, leaky-ReLU, |x| and max-of-3 networks, off-centre, at
scales 1e-6, 1 and 1e6."""
import itertools

import numpy as np
import pytest

import relutope
from relutope import _core


def _net(kind, k, seed):
    if kind == "maxout":
        rng = np.random.default_rng(seed)
        first = relutope.Network.random([k, 9], seed=seed).layers[0]
        maxout = relutope.network.Layer(rng.normal(size=(18, 9)), rng.normal(size=18), np.full(6, 3))
        last = relutope.network.Layer.affine(rng.normal(size=(3, 6)), rng.normal(size=3), "identity")
        return relutope.Network([first, maxout, last])
    return relutope.Network.random([k, 9, 7, 6, 3], seed=seed, activation=kind)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
@pytest.mark.parametrize("k", [1, 2, 3, 5, 7, 8, 11])
@pytest.mark.parametrize("kind", ["relu", "leaky_relu", "abs", "maxout"])
def test_linear_bounds_hold_pointwise_at_every_kernel_width(kind, k, scale):
    rng = np.random.default_rng(100 * k + len(kind))
    net = _net(kind, k, seed=k)
    centre = rng.normal(size=k) * 3 * scale
    lo, hi = centre - scale * rng.uniform(0.3, 1.0, k), centre + scale * rng.uniform(0.3, 1.0, k)
    C = rng.normal(size=(7, 3))
    d = rng.normal(size=7) * scale
    Cs, ds = np.vstack([C, -C]), np.concatenate([d, -d])
    G, lower = _core.box_linear_bounds(net._core(), lo, hi, Cs, ds, False)
    assert G.shape == (14, k + 1) and np.all(np.isfinite(G))
    corners = np.array(list(itertools.product(*zip(lo, hi)))) if k <= 8 else np.empty((0, k))
    x = np.vstack([lo + (hi - lo) * rng.uniform(size=(3000, k)), corners])
    val = net(x) @ Cs.T + ds
    lin = x @ G[:, :k].T + G[:, k]
    tol = 1e-9 * (np.abs(val).max() + np.abs(lin).max())
    assert np.all(lin <= val + tol), kind
    assert np.all(lower <= val.min(axis=0) + tol), kind


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
@pytest.mark.parametrize("kind", ["relu", "leaky_relu", "abs", "maxout"])
def test_point_slopes_give_valid_bounds(kind, scale):
    """The lower relaxations made exact at a point (Relaxation::point_slopes, split_verify's second bound of a box)
    still bound C y + d from below everywhere in the box: checked against forward passes, for a point inside the
    box, a corner and a point outside it; and they do change the bounds of ReLU networks."""
    rng = np.random.default_rng(7 + len(kind))
    k = 5
    net = _net(kind, k, seed=3)
    centre = rng.normal(size=k) * 3 * scale
    lo, hi = centre - scale * rng.uniform(1.0, 3.0, k), centre + scale * rng.uniform(1.0, 3.0, k)
    C = rng.normal(size=(4, 3))
    d = rng.normal(size=4) * scale
    x = np.vstack([lo + (hi - lo) * rng.uniform(size=(3000, k)), np.array(list(itertools.product(*zip(lo, hi))))])
    val = net(x) @ C.T + d
    G0, _ = _core.box_linear_bounds(net._core(), lo, hi, C, d)
    changed = False
    points = np.vstack([lo + (hi - lo) * rng.uniform(size=(6, k)), lo, hi + 2 * (hi - lo)])
    for point in points:
        G, lower = _core.box_linear_bounds(net._core(), lo, hi, C, d, point=point)
        lin = x @ G[:, :k].T + G[:, k]
        tol = 1e-9 * (np.abs(val).max() + np.abs(lin).max())
        assert np.all(lin <= val + tol), kind
        assert np.all(lower <= val.min(axis=0) + tol), kind
        changed |= not np.array_equal(G, G0)
    # (at 1e-6 the box is too small for any unit of this network to be unstable: no slope to choose)
    assert changed or kind != "relu" or scale < 1e-3


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_point_slopes_are_exact_at_the_point_with_one_hidden_layer(scale):
    """One ReLU layer and an objective with positive weights on every unit: each unit is relaxed on its lower side
    only, so with the slopes of the point's own activation pattern the linear bound equals the network there (and
    with CROWN's choice by the bounds it does not, for some point: else this test would show nothing)."""
    rng = np.random.default_rng(11)
    k, n = 3, 12
    W1, b1 = rng.normal(size=(n, k)), rng.normal(size=n) * scale
    W2, b2 = np.abs(rng.normal(size=(1, n))), rng.normal(size=1) * scale
    net = relutope.Network([relutope.network.Layer.affine(W1, b1, "relu"),
                            relutope.network.Layer.affine(W2, b2, "identity")])
    centre = rng.normal(size=k) * 2 * scale
    lo, hi = centre - scale, centre + scale
    C, d = np.ones((1, 1)), np.zeros(1)
    gaps = []
    for _ in range(20):
        point = lo + (hi - lo) * rng.uniform(size=k)
        y = float(net(point[None, :])[0, 0])
        G, _ = _core.box_linear_bounds(net._core(), lo, hi, C, d, point=point)
        G0, _ = _core.box_linear_bounds(net._core(), lo, hi, C, d)
        assert G[0, :k] @ point + G[0, k] == pytest.approx(y, rel=1e-9, abs=1e-9 * scale)
        gaps.append(y - (G0[0, :k] @ point + G0[0, k]))
    assert max(gaps) > 1e-6 * scale


def test_point_is_checked():
    net = _net("relu", 3, seed=1)
    lo, hi = -np.ones(3), np.ones(3)
    C, d = np.ones((1, 3)), np.zeros(1)
    with pytest.raises(ValueError, match="point"):
        _core.box_linear_bounds(net._core(), lo, hi, C, d, point=np.zeros(2))
    with pytest.raises(ValueError, match="point"):
        _core.box_linear_bounds(net._core(), lo, hi, C, d, point=np.array([0.0, np.nan, 0.0]))
