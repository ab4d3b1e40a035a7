"""Exact rational forward passes and affine maps, and the witness certificates built on them.

Independent references: the float64 forward pass (agreement to rounding), exact identities between two exact
computations (the forward pass against the composed affine map, rational equality), points placed exactly on a
unit's hyperplane, and deliberately corrupted partitions that must be rejected.
"""
from fractions import Fraction

import numpy as np
import pytest

import relutope
from relutope import Box, Layer, Network, Partition, Polytope, Slice, enumerate_regions
from relutope.certificates import certify_witnesses
from relutope.exact import exact_affine_map, exact_forward, to_rational

flint = pytest.importorskip("flint")


def test_to_rational_is_the_float_exactly():
    vals = np.array([0.1, -3.5, 1e-300, 2.0 ** 60, 5e-324])
    q = to_rational(vals)
    for v, r in zip(vals.tolist(), q.tolist()):
        assert Fraction(int(r.p), int(r.q)) == Fraction(v)
    with pytest.raises(ValueError, match="finite"):
        to_rational([1.0, np.nan])
    with pytest.raises(TypeError, match="real numbers"):
        to_rational(["a"])


@pytest.mark.parametrize("acts", ["relu", "leaky_relu", "abs"])
def test_exact_forward_agrees_with_float_forward(acts):
    net = Network.random([3, 12, 12, 2], seed=2, activation=acts)
    x = np.random.default_rng(1).normal(size=(100, 3)) * 3 + 1
    y, pats, ties = exact_forward(net, x)
    yf, pf = net.forward(x)
    scale = np.abs(yf).max()
    assert np.abs(y.astype(float) - yf).max() <= 1e-12 * scale
    np.testing.assert_array_equal(pats, pf)
    assert not ties.any()


def test_exact_forward_detects_a_point_on_a_hyperplane():
    # unit 0: relu(x0 - x1), unit 1: relu(x0 + x1 - 0.75); at (0.375, 0.375) both sit exactly on their hyperplanes
    net = Network([Layer.affine([[1.0, -1.0], [1.0, 1.0]], [0.0, -0.75]),
                   Layer.affine([[1.0, 1.0]], [0.0], "identity")])
    _, pats, ties = exact_forward(net, [[0.375, 0.375], [0.375, 0.25]])
    np.testing.assert_array_equal(ties, [[True, True, False], [False, False, False]])
    np.testing.assert_array_equal(pats[0, :2], [0, 0])  # ties go to the lowest piece, as Network.forward


def test_exact_forward_takes_rationals_and_maxout():
    K = 3
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    net = Network([Layer(A, np.zeros(K), [K]), Layer.affine(np.ones((1, 1)), np.zeros(1), "identity")])
    third = Fraction(1, 3)
    y, pats, ties = exact_forward(net, np.array([[third, third]], dtype=object))
    assert y[0, 0] == flint.fmpq(1, 3) and ties[0, 0]  # x0 = x1 = 1/3 > -2/3: pieces 0 and 1 tie
    y, pats, ties = exact_forward(net, np.array([[Fraction(-1, 3), Fraction(-1, 5)]], dtype=object))
    assert y[0, 0] == flint.fmpq(8, 15) and pats[0, 0] == 2 and not ties[0, 0]


def test_exact_affine_map_equals_the_exact_forward_pass():
    net = Network.random([4, 10, 10, 3], seed=5)
    x = np.random.default_rng(3).normal(size=(5, 4))
    y, pats, _ = exact_forward(net, x)
    X = to_rational(x)
    for i in range(5):
        A_Q, b_Q = exact_affine_map(net, pats[i])
        assert all(v == w for v, w in zip(A_Q.dot(X[i]) + b_Q, y[i]))   # rational equality
        A_f, b_f = net.local_affine_map(pats[i])
        assert np.abs(A_Q.astype(float) - A_f).max() <= 1e-12 * np.abs(A_f).max()
    with pytest.raises(ValueError, match="pattern"):
        exact_affine_map(net, pats[0][:-1])
    with pytest.raises(ValueError, match="piece"):
        exact_affine_map(net, pats[0] + 2)


@pytest.mark.parametrize("scale, centre", [(1.0, 0.0), (1e-6, 3e-6), (1e6, -2e6)])
def test_every_enumerated_region_is_certified_at_any_scale(scale, centre):
    net = Network.random([3, 10, 10, 1], seed=1)
    # the same partition, moved and scaled: first layer rescaled so the regions are the same
    W0, b0 = net.layers[0].A[1::2], net.layers[0].c[1::2]
    moved = Network([Layer.affine(W0 / scale, b0 - W0 @ np.full(3, centre) / scale)] + list(net.layers[1:]))
    part = enumerate_regions(moved, Box(np.full(3, centre - scale), np.full(3, centre + scale)))
    assert len(part) > 50
    cert = certify_witnesses(part)
    assert cert.ok, cert
    assert cert.n_by_filter + cert.n_by_exact == len(part)


def test_certified_on_slices_polytopes_and_maxout():
    net = Network.random([5, 8, 8, 2], seed=3)
    sl = Slice(np.full(5, 0.2), np.random.default_rng(0).normal(size=(5, 2)), Box([-1, -1], [1, 1]))
    assert certify_witnesses(enumerate_regions(net, sl)).ok
    tri = Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])
    mx = Network([Layer(np.random.default_rng(2).normal(size=(12, 2)), np.zeros(12), [3] * 4),
                  Layer.affine(np.ones((1, 4)), np.zeros(1), "identity")])
    assert certify_witnesses(enumerate_regions(mx, tri)).ok


def _rebuild(part, patterns=None, centers=None):
    return Partition(part.network, part.domain, part.patterns if patterns is None else patterns,
                     part._centers if centers is None else centers, part.radii, part.layer_counts, tol=part.tol)


def test_corrupted_partitions_are_rejected():
    net = Network([Layer.affine([[1.0, -1.0], [1.0, 1.0], [0.5, -2.0]], [0.0, -0.75, 0.1]),
                   Layer.affine([[1.0, 1.0, 1.0]], [0.0], "identity")])
    part = enumerate_regions(net, Box([-1, -1], [1, 1]))
    assert certify_witnesses(part).ok
    pats = part.patterns.copy()
    pats[2, 1] ^= 1                                      # a flipped unit
    cert = certify_witnesses(_rebuild(part, patterns=pats))
    assert 2 in cert.failed.tolist() and cert.reasons[cert.failed.tolist().index(2)] in ("pattern", "duplicate")
    centers = part._centers.copy()
    i = int(np.nonzero((part.patterns[:, 1] == 0) & (part.patterns[:, 2] == 0))[0][0])
    centers[i] = [0.25, 0.25]                             # exactly on unit 0's hyperplane x0 = x1, off the others
    cert = certify_witnesses(_rebuild(part, centers=centers))
    assert cert.failed.tolist() == [i] and cert.reasons == ["tie"] and cert.n_by_exact == 1
    centers = part._centers.copy()
    centers[0] = [1.0, part._centers[0, 1]]               # on the box's boundary: not strictly inside
    cert = certify_witnesses(_rebuild(part, centers=centers))
    assert 0 in cert.failed.tolist() and cert.reasons[cert.failed.tolist().index(0)] in ("domain", "pattern")
    dup = np.vstack([part.patterns, part.patterns[:1]])
    twice = Partition(net, part.domain, dup, np.vstack([part._centers, part._centers[:1]]),
                      np.append(part.radii, part.radii[0]), part.layer_counts, tol=part.tol)
    cert = certify_witnesses(twice)
    assert cert.failed.tolist() == [len(part)] and cert.reasons == ["duplicate"]


def test_certify_witnesses_rejects_bad_arguments():
    with pytest.raises(TypeError, match="partition"):
        certify_witnesses("part")
    part = enumerate_regions(Network.random([2, 4, 1], seed=0), Box([-1, -1], [1, 1]))
    with pytest.raises(ValueError, match="chunk"):
        certify_witnesses(part, chunk=0)


def test_rounding_decided_units_are_relabeled_and_real_errors_are_not():
    """Clamps under a max-pool: where both clamps of a pair saturate at the top, the max's two pieces are equal
    constants up to the rounding of the lowered biases, so the engine's choice there is rounding. The certificate
    re-decides such units exactly (same linear part: a constant gap), proves every region, and gives patterns that
    the exact pass confirms; a piece swapped on a maxout unit whose pieces differ by a real constant is refused."""
    from relutope.exact import DECIDED, PERSISTENT_TIE, exact_pattern

    rng = np.random.default_rng(2)
    n, lo, hi = 4, -0.3, 0.3
    W, b = rng.normal(size=(n, 2)), rng.normal(size=n) * 0.5
    A = np.zeros((n, 2 * n))
    for j in range(n):
        A[j, j], A[j, n + j] = 1.0, -1.0
    net = Network([Layer.affine(np.vstack([W, W]), np.concatenate([b - lo, b - hi])),
                   Layer(A, np.full(n, lo), np.full(n // 2, 2)),
                   Layer.affine(np.ones((1, n // 2)), np.zeros(1), "identity")])
    part = enumerate_regions(net, Box([-3.0, -3.0], [3.0, 3.0]))
    cert = certify_witnesses(part)
    assert cert.ok, cert
    pats = part.patterns.copy()
    pats[cert.relabeled] = cert.exact_patterns
    assert len({tuple(p) for p in pats}) == len(part)
    for i in range(len(part)):
        pat, kind = exact_pattern(net, part.witnesses[i])
        np.testing.assert_array_equal(pat, pats[i])
        assert set(kind.tolist()) <= {DECIDED, PERSISTENT_TIE}
    # a maxout unit max(x0 + 1, x0 + 2): the second piece always wins by 1; claiming the first is a wrong pattern
    mx = Network([Layer(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]),
                        np.array([1.0, 2.0, 0.0, 0.0]), [2, 2]),
                  Layer.affine(np.ones((1, 2)), np.zeros(1), "identity")])
    part = enumerate_regions(mx, Box([-1.0, -1.0], [1.0, 1.0]))
    assert certify_witnesses(part).ok and np.all(part.patterns[:, 0] == 1)
    bad = part.patterns.copy()
    bad[:, 0] = 0
    cert = certify_witnesses(_rebuild(part, patterns=bad))
    assert cert.failed.tolist() == list(range(len(part))) and set(cert.reasons) == {"pattern"}


def test_exact_functions_reject_bad_points():
    from relutope.exact import exact_pattern

    net = Network.random([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="one point"):
        exact_pattern(net, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="shape"):
        exact_pattern(net, [1.0])
    with pytest.raises(TypeError, match="numbers"):
        exact_forward(net, ["a", "b"])
    with pytest.raises(TypeError, match="exact rationals"):
        exact_forward(net, np.array([[1.5, "x"]], dtype=object))
    with pytest.raises(TypeError, match="network"):
        exact_pattern("net", [1.0, 2.0])

