"""The relaxation's shortcuts in the exact enumeration change nothing: a cell's units that its bounds prove stable
skip their LP (RegionVisitor::stable_sides), a child cell's box is tightened by its own rows before its parent's
bounds are tried (tighten_box), and the layer after the relaxation's start is bounded forward only. Checked
against the unpruned enumeration (one exact LP per region and row) and forward passes, off-centre, at scales 1e-6,
1 and 1e6 of the inputs and the outputs."""
import numpy as np
import pytest

import relutope
from relutope import vnnlib

SCALES = [1e-6, 1.0, 1e6]


def scaled_net(seed, s, widths=(3, 12, 12, 12, 2)):
    """A random ReLU net of the inputs x = c + s t (t in [-1, 1]^3, c off-centre) whose outputs are s times those of
    the same net of t; the box of x."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-3.0, 3.0, widths[0]) * s + 7.0 * s
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        W, bias = rng.normal(size=(b, a)) / np.sqrt(a), rng.normal(scale=0.3, size=b)
        if i == 0:  # t = (x - c) / s
            W, bias = W / s, bias - W @ c / s
        if i == len(widths) - 2:
            W, bias = W * s, bias * s
        layers.append((W, bias))
    return relutope.Network.from_weights(layers), relutope.Box(c - s, c + s)


def samples(box, n, seed):
    return np.random.default_rng(seed).uniform(box.lo, box.hi, size=(n, box.dim))


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("seed", [0, 1])
def test_pruned_output_bounds_equal_the_exact_region_bounds(s, seed):
    net, box = scaled_net(seed, s)
    C = np.array([[1.0, -1.0], [0.5, 2.0]])
    exact = relutope.output_bounds(net, box, C, prune=False)
    pruned = relutope.output_bounds(net, box, C, prune=True)
    assert exact.complete and pruned.complete
    assert pruned.pruned > 0  # the pruned enumeration took its shortcuts
    scale = np.max(np.abs(np.r_[exact.upper, exact.lower]))
    np.testing.assert_allclose(pruned.upper, exact.upper, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(pruned.lower, exact.lower, rtol=0, atol=1e-9 * scale)
    y = net(samples(box, 4000, seed)) @ C.T  # forward passes lie inside, and the argmax attains the maximum
    assert np.all(y <= pruned.upper + 1e-9 * scale) and np.all(y >= pruned.lower - 1e-9 * scale)
    np.testing.assert_allclose(np.diag(net(pruned.argmax) @ C.T), pruned.upper, rtol=0, atol=1e-8 * scale)


def unsafe_above(box, row, level):
    """Unsafe when row . y >= level over the box."""
    return vnnlib.Property(cases=[vnnlib.Case(box.lo, box.hi, [(-np.atleast_2d(row), np.array([-level]))])],
                           n_inputs=box.dim, n_outputs=len(row))


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("seed", [2, 3])
def test_verdicts_at_the_exact_maximum_match_the_unpruned_enumeration(s, seed):
    net, box = scaled_net(seed, s)
    row = np.array([1.0, -0.5])
    top = relutope.output_bounds(net, box, row[None, :], prune=False).upper[0]
    gap = 1e-6 * abs(top) + 1e-12 * s
    for level, expected in ((top + gap, "holds"), (top - gap, "violated")):
        spec = unsafe_above(box, row, level)
        for split in (0, 8):  # the enumeration on the whole box, and after the input splitting
            res = relutope.verify(net, spec, search=False, split_max_dims=split)
            assert res.status == expected, (level, split)
            if expected == "violated":
                assert row @ net(res.counterexample[None, :])[0] >= level - 1e-9 * abs(level)
        assert relutope.verify(net, spec, prune=False, search=False).status == expected



def homogeneous_net(seed, s, widths=(3, 12, 12, 12, 2)):
    """A random ReLU net g with every bias s times that of the net f of seed, and the box s (c0 +- 1), c0
    off-centre: g(s t) = s f(t) (ReLU is positively homogeneous), so every pre-activation, bound and margin of g
    is s times f's."""
    rng = np.random.default_rng(seed)
    c0 = rng.uniform(-3.0, 3.0, widths[0]) + 7.0
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        W = rng.normal(size=(b, a)) / np.sqrt(a)
        bias = rng.normal(scale=0.3, size=b) - (W @ c0 if i == 0 else 0.0)
        layers.append((W, bias * s))
    return relutope.Network.from_weights(layers), relutope.Box(s * (c0 - 1.0), s * (c0 + 1.0))


@pytest.mark.parametrize("seed", [0, 1])
def test_stable_unit_hints_fire_equally_at_every_scale_and_stay_sound(seed):
    """The units a cell's relaxation bounds prove stable (decided without their LP: CellRelaxation::stable_sides)
    are the same number at the scales 1e-6, 1 and 1e6 of an off-centre box and of every pre-activation (the
    stability margin is relative, not absolute), and the results stay those of the unpruned enumeration."""
    C = np.array([[1.0, -1.0], [0.5, 2.0]])
    row = np.array([1.0, -0.5])
    counts, verify_counts = [], []
    for s in SCALES:
        net, box = homogeneous_net(seed, s)
        exact = relutope.output_bounds(net, box, C, prune=False)
        pruned = relutope.output_bounds(net, box, C, prune=True)
        assert exact.complete and pruned.complete and exact.hinted == 0
        scale = np.max(np.abs(np.r_[exact.upper, exact.lower]))
        np.testing.assert_allclose(pruned.upper, exact.upper, rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(pruned.lower, exact.lower, rtol=0, atol=1e-9 * scale)
        counts.append(pruned.hinted)
        # just above the exact maximum of row . y: holds, decided by the enumeration (no input splitting)
        top = relutope.output_bounds(net, box, row[None, :], prune=False).upper[0]
        spec = unsafe_above(box, row, top + 1e-6 * abs(top))
        res = relutope.verify(net, spec, search=False, split_max_dims=0)
        assert res.status == "holds" == relutope.verify(net, spec, prune=False, search=False).status
        verify_counts.append(res.cases[0]["hinted"])
    assert counts[0] > 0 and verify_counts[0] > 0  # the hints fired
    assert counts[0] == counts[1] == counts[2], counts
    assert verify_counts[0] == verify_counts[1] == verify_counts[2], verify_counts


def _cut_polytope(box, rng, cuts=3):
    """The box of x cut by `cuts` halfspaces a.(x - p) <= 0 through points p near its centre: (A, b) of the cuts and
    the Polytope of box and cuts (a set whose bounding box is the box, well inside it)."""
    s = (box.hi - box.lo) / 2
    c = (box.hi + box.lo) / 2
    a = rng.normal(size=(cuts, box.dim)) / s  # normals in the scaled frame t = (x - c) / s
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    p = c + s * rng.uniform(-0.3, 0.3, size=(cuts, box.dim))
    b = np.einsum("ij,ij->i", a, p)
    n = box.dim
    A_all = np.vstack([np.eye(n), -np.eye(n), a])
    return a, b, relutope.Polytope(A_all, np.r_[box.hi, -box.lo, b])


@pytest.mark.parametrize("s", SCALES)
def test_lp_tightened_relaxation_contains_the_exact_polytope_bounds(s):
    """The relaxation with the unstable units' bounds tightened by LPs over the set (Relaxation::set_min, as each
    enumeration cell's compute() does) bounds C y + d on a polytope below its exact minimum (per-region LPs of the
    unpruned enumeration) and above nowhere; the same with set_min returning the maximum (an unsound tightening)
    is caught by the same check."""
    from relutope import _core

    caught = 0
    for seed in range(3):
        net, box = scaled_net(seed, s)
        rng = np.random.default_rng(100 + seed)
        a, b, poly = _cut_polytope(box, rng)
        C = rng.normal(size=(3, net.out_dim))
        d = rng.normal(size=3) * s
        exact = relutope.output_bounds(net, poly, C, d, prune=False)
        assert exact.complete
        scale = np.max(np.abs(np.r_[exact.upper, exact.lower])) + np.max(exact.upper - exact.lower)
        Cs, ds = np.vstack([C, -C]), np.r_[d, -d]
        _, lower_box = _core.box_linear_bounds(net._core(), box.lo, box.hi, Cs, ds)
        G, lower = _core.box_linear_bounds(net._core(), box.lo, box.hi, Cs, ds, A=a, b=b)
        assert np.all(lower[:3] <= exact.lower + 1e-9 * scale)
        assert np.all(-lower[3:] >= exact.upper - 1e-9 * scale)
        # Tighter than the box's relaxation (the set is well inside its box), and pointwise valid on the set.
        assert np.all(lower >= lower_box - 1e-9 * scale) and np.any(lower > lower_box + 1e-3 * scale)
        x = np.vstack([samples(box, 4000, seed), exact.argmin, exact.argmax])
        x = x[np.all(x @ a.T <= b + 1e-12 * np.abs(b).max(), axis=1)]
        val = np.hstack([net(x) @ C.T + d, -(net(x) @ C.T + d)])
        assert np.all(x @ G[:, :-1].T + G[:, -1] <= val + 1e-9 * scale)
        _, bad = _core.box_linear_bounds(net._core(), box.lo, box.hi, Cs, ds, A=a, b=b, mutate=True)
        caught += np.any(bad[:3] > exact.lower + 1e-9 * scale) or np.any(-bad[3:] < exact.upper - 1e-9 * scale)
    assert caught >= 1  # the unsound tightening breaks the bounds
