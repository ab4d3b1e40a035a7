"""Defects found and not yet fixed, each as a strict xfail: it fails today and turns into an error (XPASS) once
fixed, so that the fix must remove the mark.

Each test derives its expected value independently (exact rationals of the float64 weights)."""
from fractions import Fraction

import numpy as np
import pytest

import relutope


def _dead_on_a_region_net():
    # A 2-D integer net on a box of half-width 1e-6 off-centre (found by a random hunt of degenerate nets): on the
    # region whose first layer has units 2, 3, 4, 5 active, the first unit of the second layer sums to exactly 0
    # (its weights cancel the active units' maps exactly, also for the float64 weights taken as exact fractions).
    scale = 1e-6
    off = np.array([1.5552881808461784e-06, -8.208294954147691e-06])
    W1 = np.array([[1, 0], [1, -1], [-1, 0], [1, 1], [1, 1], [-1, 0], [1, 0]], float)
    b1 = np.array([-1, -1, 1, -1, 0, 1, -1], float)
    W2 = np.array([[1, 1, -1, -1, 1, 1, 0], [-1, 1, 1, 1, 1, 1, 0], [1, 1, 0, -1, 1, 1, -1]], float)
    b2 = np.array([-1, 1, -1], float)
    net = relutope.Network.from_weights([(W1 / scale, b1 - W1 @ off / scale), (W2, b2),
                                         (np.ones((1, 3)), np.zeros(1))])
    return net, relutope.Box(off - scale, off + scale)


def _relu_rows(layer):
    ps = layer.piece_start
    W = np.array([layer.A[ps[u] + 1] - layer.A[ps[u]] for u in range(layer.n_units)])
    b = np.array([layer.c[ps[u] + 1] - layer.c[ps[u]] for u in range(layer.n_units)])
    return W, b


@pytest.mark.xfail(strict=True, reason="the LP and polytope paths label a unit whose pre-activation is exactly 0 on "
                   "a whole region as active when float composition leaves a tiny non-zero gradient (enumerate.cpp "
                   "decide: only |grad| <= 1e-300 counts as constant); the polygon path and README's tie rule say "
                   "inactive")
def test_a_unit_exactly_zero_on_a_region_is_inactive_on_every_path():
    net, box = _dead_on_a_region_net()
    (W1, b1), (W2, b2) = _relu_rows(net.layers[0]), _relu_rows(net.layers[1])
    active = [2, 3, 4, 5]
    grad = [sum(Fraction(W2[0, u]) * Fraction(W1[u, j]) for u in active) for j in range(2)]
    offset = sum(Fraction(W2[0, u]) * Fraction(b1[u]) for u in active) + Fraction(b2[0])
    assert grad == [0, 0] and offset == 0  # exactly dead on that region: the README's tie rule makes it inactive
    first = np.zeros(7, np.int8)
    first[active] = 1
    for method in ("polygon", "polytope", "lp"):
        part = relutope.enumerate_regions(net, box, method=method)
        assert part.complete
        (i,) = np.flatnonzero(np.all(part.patterns[:, :7] == first, axis=1))
        assert part.patterns[i, 7] == 0, method


# ---------------------------------------------------------------- found by the API defect hunt 18 (verify.py)
@pytest.mark.xfail(strict=True, reason="verify.output_bounds and min_adversarial read net.out_dim / net.in_dim "
                   "before checking that net is a Network: AttributeError, not a TypeError naming net")
def test_verify_functions_name_a_net_that_is_not_a_network():
    box = relutope.Box(-np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="net"):
        relutope.output_bounds("net.onnx", box)
    with pytest.raises(TypeError, match="net"):
        relutope.min_adversarial("net.onnx", np.zeros(2), 0)


@pytest.mark.xfail(strict=True, reason="output_bounds and verify take prune by truthiness: prune='no' (or 0.0, "
                   "None) switches pruning on or off silently; the other flags go through _checks.check_bool")
def test_verify_prune_must_be_a_bool():
    net = relutope.Network.random([2, 4, 1], seed=0)
    with pytest.raises(TypeError, match="prune"):
        relutope.output_bounds(net, relutope.Box(-np.ones(2), np.ones(2)), prune="no")


@pytest.mark.xfail(strict=True, reason="min_adversarial accepts a negative margin: the target class may then stay "
                   "below the label, and status 'found' comes with x_adv = x0, whose class is unchanged")
def test_min_adversarial_result_changes_the_class_or_margin_is_refused():
    net = relutope.Network.random([3, 5, 2], seed=1)
    x0 = np.zeros(3)
    label = int(np.argmax(net(x0)))
    try:
        res = relutope.min_adversarial(net, x0, label, margin=-1.0)
    except ValueError as exc:
        assert "margin" in str(exc)
    else:  # a forward pass: an adversarial example is classified otherwise
        assert res.status != "found" or int(np.argmax(net(res.x_adv))) != label


@pytest.mark.xfail(strict=True, reason="region_adjacency (cpp) misses a neighbour across a first-layer facet on the "
                   "polygon and polytope paths when a second-layer unit is exactly 0 along it: the facet's forward "
                   "pass finds no region (neighbor -2) though the neighbour found the pair from its side, so "
                   "check_complete reports a gap on a complete partition (the lp path's partition, same regions, is ok)")
def test_float_closure_of_a_complete_degenerate_partition_has_no_gap():
    W = np.array([[2, 1], [0, -1], [-1, -2], [-2, -2], [2, 1], [0, 1], [-2, -4], [0, 0]], float)
    b = np.array([-1, 1, 0, 1, -1, -1, 0, 0.5])
    W2 = np.array([[0, 1, 2, 1, 1, 0, 0, 2], [-1, 2, 1, -2, -1, 2, 0, -2], [1, 1, 2, -2, -2, 2, -2, 0]], float)
    net = relutope.Network.from_weights([(W, b), (W2, np.array([-1.0, -1.0, 0.0])), (np.ones((1, 3)), np.zeros(1))])
    box = relutope.Box([-1, -1], [1, 1])
    lp = relutope.enumerate_regions(net, box, method="lp")
    assert lp.check_complete().ok and lp.volumes().sum() == pytest.approx(4.0, rel=1e-12)
    for method in ("polygon", "polytope"):
        part = relutope.enumerate_regions(net, box, method=method)
        assert sorted(map(tuple, part.patterns.tolist())) == sorted(map(tuple, lp.patterns.tolist()))
        assert part.check_complete().ok, method
