"""Early-bird tickets from the partition (relutope.early_bird) and the common refinement they integrate over."""
import numpy as np
import pytest

import relutope
from relutope import early_bird, refinement
from relutope.early_bird import (EarlyBirdDetector, EarlyBirdMonitor, exact_distance, grid_points, sampled_distance,
                                 slice_through_inputs)
from relutope.refinement import common_refinement, joint_network

from planar import area, clip, square


def _one_hidden(seed, width=6):
    return relutope.Network.random([2, width, 1], seed=seed)


def _symmetric_difference_mean(net_a, net_b, lo, hi):
    """Mean over units of area(H_a Δ H_b) / area(box), half-planes H = {w . x + b > 0} clipped by shoelace."""
    box = square(lo, hi)
    Wa, ba = net_a.layers[0].A[1::2], net_a.layers[0].c[1::2]
    Wb, bb = net_b.layers[0].A[1::2], net_b.layers[0].c[1::2]
    total = area(box)
    out = []
    for k in range(len(ba)):
        A = clip(box, Wa[k], ba[k])
        B = clip(box, Wb[k], bb[k])
        AB = clip(A, Wb[k], bb[k])
        out.append((area(A) + area(B) - 2 * area(AB)) / total)
    return float(np.mean(out))


def _rescaled(net, lo, hi):
    """The net composed with the affine map taking [0, 1]^2 onto the box [lo, hi]: same picture on the box."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    s = hi - lo
    layers = list(net.layers)
    L0 = layers[0]
    A = L0.A / s[None, :]
    c = L0.c - A @ lo
    return relutope.Network([relutope.Layer(A, c, L0.n_pieces)] + layers[1:])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_distance_is_the_area_of_the_symmetric_differences(seed):
    a, b = _one_hidden(seed), _one_hidden(seed + 10)
    expected = _symmetric_difference_mean(a, b, (0, 0), (1, 1))
    got = exact_distance(a, b, relutope.Box([0, 0], [1, 1]))
    assert got.complete and got.method == "exact"
    assert got.distance == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert got.per_layer[0] == pytest.approx(expected, rel=1e-12) and got.per_layer[1] == 0.0


@pytest.mark.parametrize("lo, size", [((3.0, -7.0), 1e-6), ((-2e6, 5e5), 1e6), ((1e3, 1e3), 1.0)])
def test_exact_distance_does_not_depend_on_the_domain_scale(lo, size):
    a, b = _one_hidden(4), _one_hidden(5)
    hi = (lo[0] + size, lo[1] + size)
    ref = _symmetric_difference_mean(a, b, (0, 0), (1, 1))
    box = relutope.Box(lo, hi)
    tol = max(relutope.default_tol(box), relutope.min_tol(box))  # at (3, -7) float64 resolves 1.6e-12, not 5e-16
    got = exact_distance(_rescaled(a, lo, hi), _rescaled(b, lo, hi), box, tol=tol)
    assert got.distance == pytest.approx(ref, rel=1e-7)


def test_grid_estimate_converges_to_the_exact_distance():
    # Midpoint rule on an n x n grid: a cell that no unit's line crosses is counted exactly, and a line crosses at
    # most 2n - 1 cells, so with two lines per unit |grid - exact| <= 2 * 2n / n^2 = 4 / n.
    a, b = _one_hidden(7, 8), _one_hidden(8, 8)
    box = relutope.Box([0, 0], [1, 1])
    exact = exact_distance(a, b, box).distance
    errors = []
    for n in (10, 100, 400):
        s = sampled_distance(a, b, box, n)
        assert s.samples == n * n and s.method == "grid"
        errors.append(abs(s.distance - exact))
        assert errors[-1] <= 4.0 / n
    assert errors[2] < errors[0]


def test_exact_distance_on_a_slice_of_a_deep_net_matches_a_fine_grid():
    rng = np.random.default_rng(0)
    a = relutope.Network.random([16, 12, 12, 3], seed=0)
    b = relutope.Network.random([16, 12, 12, 3], seed=1)
    sl = slice_through_inputs(rng.normal(size=16), rng.normal(size=16))
    exact = exact_distance(a, b, sl)
    fine = sampled_distance(a, b, sl, 400)
    assert exact.samples > 1
    assert np.all(np.abs(exact.per_layer - fine.per_layer) < 0.02)  # fine-grid agreement, not a bound
    assert exact.distance == pytest.approx(np.mean(exact.per_layer[:2]), rel=1e-12)  # mean over hidden layers
    assert exact_distance(a, a, sl).distance == 0.0


def test_joint_network_carries_both_networks():
    a = relutope.Network.random([3, 5, 4, 2], seed=0)
    b = relutope.Network.random([3, 7, 1], seed=1)
    joint, units = joint_network([a, b])
    x = np.random.default_rng(1).normal(size=(2000, 3))
    y = joint(x)
    np.testing.assert_allclose(y[:, :2], a(x), rtol=1e-13, atol=1e-15)  # the zero blocks change BLAS's sums
    np.testing.assert_allclose(y[:, 2:], b(x), rtol=1e-13, atol=1e-15)
    P = joint.activation_pattern(x)
    np.testing.assert_array_equal(P[:, units[0]], a.activation_pattern(x))
    np.testing.assert_array_equal(P[:, units[1]], b.activation_pattern(x))


def test_common_refinement_cells_are_the_intersections_of_regions():
    a, b = relutope.Network.random([2, 6, 6, 1], seed=2), relutope.Network.random([2, 6, 6, 1], seed=3)
    box = relutope.Box([-1, -1], [1, 1])
    ref = common_refinement([a, b], box)
    pa, pb = relutope.enumerate_regions(a, box), relutope.enumerate_regions(b, box)
    assert max(len(pa), len(pb)) <= len(ref) <= len(pa) * len(pb)
    ia, ib = pa.index_of(ref.patterns(0)), pb.index_of(ref.patterns(1))
    assert np.all(ia >= 0) and np.all(ib >= 0)
    assert len(np.unique(ia)) == len(pa) and len(np.unique(ib)) == len(pb)  # every region is met
    vol = ref.volumes()
    assert vol.sum() == pytest.approx(4.0, rel=1e-12)
    np.testing.assert_allclose(np.bincount(ia, weights=vol, minlength=len(pa)), pa.volumes(), rtol=1e-9)


def test_detector_declares_the_ticket_when_the_window_settles():
    det = EarlyBirdDetector(lambda u, v: abs(u - v))  # Spline-EB: window 3, threshold 0.16
    assert det.window == 3 and det.threshold == 0.16
    stream = [0.0, 1.0, 1.1, 1.3, 1.35, 1.4, 1.42]
    flags = [det.update(v) for v in stream]
    # window at step t: checkpoints t-2, t-1, t; max distance is |v_t - v_{t-2}|
    expected = [False, False] + [abs(stream[t] - stream[t - 2]) < 0.16 for t in range(2, len(stream))]
    assert flags == expected and det.detected == expected.index(True) == 5
    assert np.isnan(det.max_distance[1]) and det.max_distance[3] == pytest.approx(0.3)
    assert [len(h) for h in det.history] == [0, 1, 2, 2, 2, 2, 2]


@pytest.mark.parametrize("kwargs, err", [({"distance": 3}, TypeError), ({"window": 1}, ValueError),
                                         ({"threshold": 0}, ValueError), ({"threshold": True}, ValueError)])
def test_detector_refuses_bad_arguments(kwargs, err):
    args = {"distance": lambda u, v: 0.0, **kwargs}
    with pytest.raises(err):
        EarlyBirdDetector(**args)


def test_bad_input_is_refused():
    a = relutope.Network.random([2, 4, 1], seed=0)
    with pytest.raises(ValueError, match="one architecture"):
        sampled_distance(a, relutope.Network.random([2, 5, 1], seed=0), relutope.Box([0, 0], [1, 1]))
    with pytest.raises(TypeError, match="net_b"):
        exact_distance(a, "net", relutope.Box([0, 0], [1, 1]))
    with pytest.raises(ValueError, match="two-dimensional"):
        grid_points(relutope.Box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(ValueError, match="n must be"):
        grid_points(relutope.Box([0, 0], [1, 1]), 0)
    with pytest.raises(ValueError, match="inputs"):
        joint_network([a, relutope.Network.random([3, 4, 1], seed=0)])


def test_grid_points_of_a_polygon_are_inside_it():
    tri = relutope.Polytope(np.array([[-1.0, 0], [0, -1], [1, 1]]), np.array([0.0, 0, 1]))
    x = grid_points(tri, 50)
    assert np.all(tri.contains(x)) and abs(len(x) / 2500 - 0.5) < 0.05  # half of the bounding square


def test_monitor_records_a_torch_training_run():
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared: threads only add contention for this tiny model
    try:
        _monitor_run(torch)
    finally:
        torch.set_num_threads(old)


def _monitor_run(torch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU(),
                                torch.nn.Linear(8, 2))
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(64, 2)), dtype=torch.float32)
    Y = (X[:, 0] * X[:, 1] > 0).long()
    loader = [(X[i:i + 16], Y[i:i + 16]) for i in range(0, 64, 16)]
    box = relutope.Box([-1, -1], [1, 1])
    monitor = EarlyBirdMonitor(2, [box], n=40, threshold=0.05)
    snapshots = []

    class Spy(EarlyBirdMonitor):
        def record(self, model, epoch=None):
            snapshots.append(relutope.from_torch(model, 2))
            return super().record(model, epoch)

    monitor.__class__ = Spy
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    early_bird.train_with_early_bird(model, loader, torch.nn.functional.cross_entropy, opt, 4, monitor)
    assert [r["epoch"] for r in monitor.records] == [0, 1, 2, 3, 4]
    for t, rec in enumerate(monitor.records):
        assert rec["regions"] == [len(relutope.enumerate_regions(snapshots[t], box))]
        if t:
            ref = sampled_distance(snapshots[t - 1], snapshots[t], box, 40)
            np.testing.assert_allclose(rec["layer_distance"], ref.per_layer, rtol=1e-12)
            assert rec["distance"] == pytest.approx(ref.distance, rel=1e-12)
    D = monitor.distance_matrix()
    assert D.shape == (5, 5) and np.allclose(D, D.T) and np.all(np.diag(D) == 0)
    assert D[0, 4] == pytest.approx(sampled_distance(snapshots[0], snapshots[4], box, 40).distance, rel=1e-12)
    assert monitor.records[-1]["max_window_distance"] == pytest.approx(max(D[4, 2], D[4, 3]), rel=1e-12)



def test_train_with_early_bird_refuses_bad_models_and_batches():
    """The checks that need torch (test_bad_input_analysis.py has the others); no training step runs before."""
    torch = pytest.importorskip("torch")
    from relutope.errors import ModelFormatError

    box = relutope.Box([-1, -1], [1, 1])
    steps = []

    class Opt:
        def zero_grad(self):
            pass

        def step(self):
            steps.append(1)

    def train(model, loader, epochs=2):
        return early_bird.train_with_early_bird(model, loader, lambda y, t: y.sum(), Opt(), epochs,
                                                EarlyBirdMonitor(2, [box], n=4, count_regions=False))

    x = torch.zeros((4, 2))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        train(lambda inputs: inputs, [(x, x)])
    with pytest.raises(ModelFormatError, match="Tanh"):
        train(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh()), [(x, x)])
    with pytest.raises(ModelFormatError, match="input has shape"):
        train(torch.nn.Sequential(torch.nn.Linear(3, 1)), [(x, x)])
    with pytest.raises(ValueError, match=r"loader must yield \(inputs, targets\) pairs, got a Tensor batch"):
        train(torch.nn.Sequential(torch.nn.Linear(2, 1)), [x])
    assert steps == []
    seen = []
    monitor = early_bird.train_with_early_bird(torch.nn.Sequential(torch.nn.Linear(2, 1)), iter([(x, x), (x, x)]),
                                               lambda y, t: seen.append(1) or y.sum(), Opt(), 1,
                                               EarlyBirdMonitor(2, [box], n=4, count_regions=False))
    assert len(seen) == len(steps) == 2 and [r["epoch"] for r in monitor.records] == [0, 1]  # one epoch of an iterator
