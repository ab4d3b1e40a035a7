"""Local complexity (relutope.complexity) against closed forms, the line walk and dense sampling."""
import math

import numpy as np
import pytest

import relutope
from relutope.complexity import directions, local_complexity, local_complexity_estimate, neighbourhood


def _one_layer(d, n, seed, centre, scale):
    """One hidden ReLU layer whose hyperplanes pass near `centre` (at distances ~ scale), a linear output."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, d))
    b = -W @ centre + rng.normal(size=n) * scale
    return W, b, relutope.Network.from_weights([(W, b), (rng.normal(size=(1, n)), np.zeros(1))])


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
@pytest.mark.parametrize("shape,P", [("cross", 2), ("cross", 3), ("box", 2)])
def test_one_hidden_layer_cut_iff_closed_form(scale, shape, P):
    d = 5
    centre = np.array([4.0, -3.0, 2.0, 1.0, -1.0]) * scale
    W, b, net = _one_layer(d, 14, 0, centre, scale)
    X = centre + scale * np.random.default_rng(1).normal(size=(6, d))
    r = 0.8 * scale
    V = directions(6, d, P, seed=2)
    reach = np.abs(np.einsum("kd,ndp->nkp", W, V))
    reach = reach.max(axis=2) if shape == "cross" else reach.sum(axis=2)
    closed = np.abs(X @ W.T + b) < r * reach  # (N, 14): unit k cut
    assert 0 < closed.sum() < closed.size
    est = local_complexity_estimate(net, X, r, P, seed=2, shape=shape)
    lc = local_complexity(net, X, r, P, seed=2, shape=shape, boundary=False)
    np.testing.assert_array_equal(est.directions, V)
    np.testing.assert_array_equal(est.cut[:, :14], closed)
    np.testing.assert_array_equal(lc.cut[:, :14], closed)
    assert not lc.cut[:, 14:].any() and np.all(lc.complete) and lc.status == "complete"
    np.testing.assert_array_equal(lc.n_cut, closed.sum(axis=1))
    np.testing.assert_array_equal(lc.n_cut_layer, np.c_[closed.sum(axis=1), np.zeros(6, int)])


def test_segment_neighbourhood_regions_equal_the_line_walk():
    # P = 1: the neighbourhood is the segment [x - r v, x + r v], walked independently by line_count
    net = relutope.Network.random([6, 12, 12, 12, 1], seed=3)
    X = np.random.default_rng(4).normal(size=(8, 6)) + 2.0
    lc = local_complexity(net, X, 1.5, 1, seed=5)
    V = lc.directions[:, :, 0]
    for i in range(8):
        walk = relutope.line_count(net, X[i] - 1.5 * V[i], X[i] + 1.5 * V[i])
        assert lc.n_regions[i] == walk.n_regions
        assert lc.n_cut[i] == int(np.any(walk.patterns != walk.patterns[:1], axis=0).sum())
        np.testing.assert_allclose(lc.boundary_density[i], (walk.n_regions - 1) / 3.0, rtol=1e-12)
    assert lc.n_regions.max() >= 3


@pytest.mark.parametrize("P", [2, 3])
def test_deep_exact_contains_the_vertex_estimate(P):
    net = relutope.Network.random([5, 16, 16, 16, 1], seed=6)
    X = np.random.default_rng(7).normal(size=(12, 5))
    est = local_complexity_estimate(net, X, 0.6, P, seed=8)
    lc = local_complexity(net, X, 0.6, P, seed=8, boundary=False)
    assert np.all(est.cut <= lc.cut)  # every unit the vertices see changes in the neighbourhood
    assert np.all(lc.n_cut >= est.n_cut) and np.any(lc.n_cut > est.n_cut)  # the estimate misses some
    assert np.all(lc.n_regions >= lc.n_cut_layer[:, 0] + 1)  # a cut first-layer unit splits the neighbourhood


@pytest.mark.parametrize("P,shape", [(2, "cross"), (3, "cross"), (2, "box")])
def test_dense_sampling_never_exceeds_exact_and_reaches_it(P, shape):
    net = relutope.Network.random([4, 6, 6, 1], seed=9)
    X = np.random.default_rng(10).normal(size=(3, 4))
    lc = local_complexity(net, X, 0.4, P, seed=11, shape=shape, boundary=False)
    reached = 0
    for i in range(3):
        dom = neighbourhood(X[i], lc.directions[i], 0.4, shape)
        part = relutope.enumerate_regions(net, dom)
        assert len(part) == lc.n_regions[i]
        for n in (200, 50_000):
            s = relutope.sample_patterns(net, dom, n, seed=12)
            assert s.n_patterns <= lc.n_regions[i] and np.all(part.index_of(s.patterns) >= 0)
            assert np.all(np.any(s.patterns != s.patterns[:1], axis=0) <= lc.cut[i])
        # in the limit: every region of volume share > 2e-4 (10 expected hits of 5 10^4) is hit, independent
        # volumes by Qhull; tiny corner regions of the cross-polytope may be missed
        share = part.volumes() / part.volumes().sum()
        hit = np.zeros(len(part), bool)
        hit[part.index_of(s.patterns)] = True
        assert np.all(hit[share > 2e-4])
        if s.n_patterns == lc.n_regions[i]:
            reached += 1
            np.testing.assert_array_equal(np.any(s.patterns != s.patterns[:1], axis=0), lc.cut[i])
    assert reached >= 1 and lc.n_regions.max() >= 5


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
@pytest.mark.parametrize("shape,P", [("box", 2), ("cross", 2), ("box", 3), ("cross", 3), ("cross", 4), ("box", 5),
                                     ("cross", 5), ("box", 6), ("cross", 6)])
def test_boundary_density_of_hyperplanes_closed_form(scale, shape, P):
    # two ReLUs whose hyperplanes are t_1 = c1 and t_2 = c2 in the chart (directions: coordinate axes)
    d, r = 6, 2.0 * scale
    x = np.array([7.0, -3.0, 1.0, 2.0, 5.0, -4.0]) * scale
    c = np.array([0.5, -1.2]) * scale
    W = np.zeros((2, d))
    W[0, 0], W[1, 1] = 1.0, -1.0
    b = np.array([-(x[0] + c[0]), x[1] + c[1]])
    net = relutope.Network.from_weights([(W, b), (np.ones((1, 2)), np.zeros(1))])
    V = np.eye(d)[:, :P][None]
    lc = local_complexity(net, x, r, P, shape=shape, directions=V)
    if shape == "box":
        expected = 2 / (2 * r)  # each section (2r)^(P-1) over (2r)^P
    else:
        a = r - np.abs(c)  # section of the l1 ball at t_1 = c: an l1 ball of radius r - |c| in P - 1 dims
        sec = (2 * a) ** (P - 1) / math.factorial(P - 1)  # the l1 ball of radius a in P - 1 dims
        vol = (2 * r) ** P / math.factorial(P)
        expected = sec.sum() / vol
    np.testing.assert_allclose(lc.boundary_density[0], expected, rtol=1e-9)
    assert lc.n_regions[0] == 4 and lc.n_cut[0] == 2


def test_local_complexity_limits_and_bad_input():
    net = relutope.Network.random([3, 8, 8, 1], seed=0)
    X = np.zeros((4, 3))
    lc = local_complexity(net, X, 1.0, 2, max_regions=1)
    assert not lc.complete.any() and np.all(lc.n_regions == 1) and np.isnan(lc.boundary_density).all()
    lc = local_complexity(net, X, 1.0, 2, time_limit=1e-9)
    assert lc.status == "time_limit" and np.all(lc.n_regions == -1) and not lc.complete.any()
    with pytest.raises(ValueError, match="radius"):
        local_complexity(net, X, 0.0)
    with pytest.raises(ValueError, match="n_dirs"):
        local_complexity_estimate(net, X, 1.0, 4)
    with pytest.raises(TypeError, match="n_dirs"):
        local_complexity(net, X, 1.0, 2.0)
    with pytest.raises(ValueError, match="shape"):
        local_complexity(net, X, 1.0, shape="ball")
    with pytest.raises(ValueError, match="orthonormal"):
        local_complexity(net, X, 1.0, 2, directions=np.ones((4, 3, 2)))
    with pytest.raises(ValueError, match="directions must have shape"):
        local_complexity_estimate(net, X, 1.0, 2, directions=np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="x must"):
        local_complexity(net, np.zeros((4, 2)), 1.0)
    with pytest.raises(ValueError, match="boundary"):
        local_complexity(relutope.Network.random([8, 4, 1]), np.zeros(8), 1.0, 7, boundary=True)
