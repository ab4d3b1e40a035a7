"""Slices and lower-dimensional boxes against an equivalent full-dimensional problem.

Enumerating ``net`` over ``Slice(origin, basis, inner)`` is enumerating ``net o (t -> origin + basis t)`` over
``inner``; the composition is a network with one more layer in front, ``Layer.affine(basis, origin,
"identity")`` (identity units: always pattern 0). The engine handles the slice by orthonormalising the basis, the
equivalent network by composing weights, so the two runs share neither the coordinates nor the LPs. Radii are in
input units for the slice and in ``t`` units for the equivalent network, so they only agree for an orthonormal
basis; the pattern sets always agree as long as no region is near the tolerance, which every test checks (both
radii are far above ``TOL``).
"""
import numpy as np
import pytest

from oracle import as_pattern_set, brute_force_patterns
from relutope import Box, Layer, Network, Polytope, Slice, WholeSpace, enumerate_regions, min_tol

TOL = 1e-9
MARGIN = 1e-6  # 1000 x TOL


def prepend(net: Network, origin, basis) -> Network:
    """The network t -> net(origin + basis @ t)."""
    return Network([Layer.affine(np.asarray(basis, dtype=float), np.asarray(origin, dtype=float), "identity")]
                   + list(net.layers))


def compare(net: Network, domain, origin, basis, inner, same_radii: bool = False):
    """Regions of `net` on `domain` vs those of the prepended network on `inner`; returns both partitions."""
    part = enumerate_regions(net, domain, tol=TOL)
    ref_net = prepend(net, origin, basis)
    ref = enumerate_regions(ref_net, inner, tol=TOL)
    assert part.complete and ref.complete
    assert part.radii.min() > MARGIN and ref.radii.min() > MARGIN, "bad test case: a region near tol"
    k = np.asarray(basis).shape[1] if np.ndim(basis) == 2 else 1
    assert np.all(ref.patterns[:, :np.shape(basis)[0]] == 0)  # the prepended identity units
    ref_pats = ref.patterns[:, np.shape(basis)[0]:]
    assert len(part) == len(ref)
    assert as_pattern_set(part.patterns) == as_pattern_set(ref_pats)
    np.testing.assert_array_equal(part.layer_counts, ref.layer_counts[1:])
    # the slice's witnesses are on the slice, in the domain, and have their patterns
    assert part.witness_coords.shape == (len(part), k)
    np.testing.assert_allclose(part.witnesses, origin + part.witness_coords @ np.asarray(basis).T, atol=1e-12)
    assert np.all(domain.contains(part.witnesses))
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)
    if same_radii:
        order = {p.tobytes(): i for i, p in enumerate(np.ascontiguousarray(ref_pats))}
        idx = [order[p.tobytes()] for p in part.patterns]
        np.testing.assert_allclose(part.radii, ref.radii[idx], rtol=1e-7)
    return part, ref


def skewed_basis(rng, d, k):
    B = rng.normal(size=(d, k))
    B[:, -1] = 3.0 * B[:, 0] + 0.4 * B[:, -1]  # far from orthogonal and of very different lengths
    return B


@pytest.mark.parametrize("widths,k,seed", [([3, 8, 8, 1], 2, 0), ([4, 10, 6, 1], 2, 1), ([5, 8, 8, 2], 3, 2),
                                           ([6, 12, 1], 1, 3), ([3, 6, 6, 1], 3, 4)])
def test_slice_with_a_skewed_basis(widths, k, seed):
    rng = np.random.default_rng(seed)
    d = widths[0]
    net = Network.random(widths, seed=seed, activation=("relu", "abs", "leaky_relu")[seed % 3])
    origin, basis = rng.normal(size=d) * 0.3, skewed_basis(rng, d, k)
    inner = Box(-rng.uniform(0.3, 1.0, k), rng.uniform(0.3, 1.0, k))
    part, ref = compare(net, Slice(origin, basis, inner), origin, basis, inner)
    assert len(part) > 3
    # radii are in input units: not the t-unit radii of the equivalent network
    assert not np.allclose(np.sort(part.radii), np.sort(ref.radii), rtol=1e-3)


def test_slice_with_an_orthonormal_basis_keeps_radii():
    rng = np.random.default_rng(5)
    net = Network.random([4, 10, 10, 1], seed=5)
    basis = np.linalg.qr(rng.normal(size=(4, 2)))[0]
    origin = rng.normal(size=4) * 0.2
    inner = Box([-1.0, -0.5], [0.7, 1.0])
    compare(net, Slice(origin, basis, inner), origin, basis, inner, same_radii=True)


def test_slice_matches_the_oracle():
    """The oracle takes x = x0 + E t with E as given (not orthonormalised)."""
    rng = np.random.default_rng(6)
    net = Network.random([3, 5, 5, 1], seed=6, activation="abs")
    origin, basis = rng.normal(size=3) * 0.3, skewed_basis(rng, 3, 2)
    inner = Box([-1.0, -1.0], [1.0, 1.0])
    part = enumerate_regions(net, Slice(origin, basis, inner), tol=1e-7)
    pats, radii = brute_force_patterns(net, x0=origin, E=basis, Adom=inner.constraints()[0],
                                       bdom=inner.constraints()[1], tol=1e-9)
    assert radii.min() > MARGIN
    assert as_pattern_set(part.patterns) == as_pattern_set(pats)


def test_slice_of_a_polytope_and_of_the_whole_space():
    rng = np.random.default_rng(7)
    net = Network.random([3, 8, 6, 1], seed=7)
    origin, basis = rng.normal(size=3) * 0.3, skewed_basis(rng, 3, 2)
    tri = Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [1.0, 1.0, 1.0])
    compare(net, Slice(origin, basis, tri), origin, basis, tri)
    # the whole plane: radii are capped (at 1 in input units vs 1 in t units), the patterns still agree
    part = enumerate_regions(net, Slice(origin, basis, WholeSpace(2)), tol=TOL)
    ref = enumerate_regions(prepend(net, origin, basis), WholeSpace(2), tol=TOL)
    assert part.complete and part.radii.min() > MARGIN and ref.radii.min() > MARGIN
    assert as_pattern_set(part.patterns) == as_pattern_set(ref.patterns[:, 3:])
    bounded = enumerate_regions(net, Slice(origin, basis, Box([-1, -1], [1, 1])), tol=TOL)
    assert as_pattern_set(bounded.patterns) <= as_pattern_set(part.patterns) and len(part) > len(bounded)


@pytest.mark.parametrize("fixed", [[1], [0, 2], [3]])
def test_box_with_fixed_coordinates(fixed):
    d = 4
    rng = np.random.default_rng(len(fixed) + fixed[0])
    net = Network.random([d, 10, 8, 1], seed=8 + fixed[0])
    lo, hi = -rng.uniform(0.5, 1.0, d), rng.uniform(0.5, 1.0, d)
    value = rng.uniform(-0.4, 0.4, len(fixed))
    lo[fixed], hi[fixed] = value, value
    box = Box(lo, hi)
    free = [i for i in range(d) if i not in fixed]
    assert box.intrinsic_dim == len(free)
    origin = np.zeros(d)
    origin[fixed] = value
    basis = np.eye(d)[:, free]  # orthonormal: radii agree too
    inner = Box(lo[free], hi[free])
    part, _ = compare(net, box, origin, basis, inner, same_radii=True)
    np.testing.assert_array_equal(part.witnesses[:, fixed], np.broadcast_to(value, (len(part), len(fixed))))
    np.testing.assert_array_equal(part.witness_coords, part.witnesses[:, free])
    # the same box as a Slice gives the same partition
    again = enumerate_regions(net, Slice(origin, basis, inner), tol=TOL)
    assert as_pattern_set(again.patterns) == as_pattern_set(part.patterns)


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_slice_through_points(margin):
    rng = np.random.default_rng(9)
    net = Network.random([5, 12, 12, 1], seed=9)
    p0, p1, p2 = rng.normal(size=(3, 5))
    sl = Slice.through_points(p0, p1, p2, margin=margin)
    np.testing.assert_allclose(sl.to_input([[0, 0], [1, 0], [0, 1]]), [p0, p1, p2], atol=1e-14)
    basis = np.column_stack([p1 - p0, p2 - p0])
    inner = Box([-margin, -margin], [1 + margin, 1 + margin])
    part, _ = compare(net, sl, p0, basis, inner)
    # the three points lie in the slice (at its corners when margin = 0): locate finds their regions
    pts = np.array([p0, p1, p2]) * (1 - 1e-6) + 1e-6 * (p0 + p1 + p2) / 3  # nudged into the triangle
    idx = part.locate(pts)
    assert np.all(idx >= 0)
    np.testing.assert_array_equal(part.patterns[idx], net.activation_pattern(pts))
    assert np.all(part.locate(p0 + 5.0 * (p1 - p0)) == -1)  # off the slice's box


@pytest.mark.parametrize("scale", [1e-12, 1e-9, 1e-6, 1e6, 1e9])
def test_polytope_rows_at_any_scale(scale):
    """``s A x <= s b`` is the polytope ``A x <= b`` for every ``s > 0``: the same Chebyshev ball (closed form: the
    square of half-width w about c has radius w, centre c) and the same regions as the Box; a strip stays unbounded.
    (Rows scaled by 1e-9 were refused as unbounded: HiGHS's absolute tolerance let every direction pass as a ray.)"""
    c, w = np.array([3.0, -7.0]), 0.5
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    b = A @ c + w
    P = Polytope(scale * A, scale * b)
    assert P._radius == pytest.approx(w, rel=1e-9) and np.allclose(P._center_point, c, rtol=0, atol=1e-9)
    net = Network.random([2, 8, 1], seed=3)
    assert len(enumerate_regions(net, P)) == len(enumerate_regions(net, Box(c - w, c + w)))
    with pytest.raises(ValueError, match="unbounded"):
        Polytope(scale * A[:3], scale * b[:3])
    # a zero row constrains nothing (0 <= 1), or empties the polytope (0 <= -1)
    assert Polytope(np.r_[scale * A, [[0.0, 0.0]]], np.r_[scale * b, 1.0])._radius == pytest.approx(w, rel=1e-9)
    with pytest.raises(ValueError, match="empty"):
        Polytope(np.r_[scale * A, [[0.0, 0.0]]], np.r_[scale * b, -1.0])


@pytest.mark.parametrize("scale", [1e-9, 1e-6, 1.0, 1e6])
@pytest.mark.parametrize("shift", [0.0, 10.0])
def test_contains_does_not_depend_on_the_scale(scale, shift):
    """Points at fixed positions relative to the domain (inside, on a face, 1e-6 or 0.5 of its size outside, off
    the slice's plane) get the answer of their relative position at every scale and offset. (The tolerance was
    1e-9 (1 + |x|) in input units: a box of half-width 1e-9 held points half its size outside, and locate found
    regions for them.)"""
    c = np.array([shift, -2.0 * shift]) * max(scale, 1.0)
    rel = np.array([[0.5, -0.3], [1.0, 1.0], [1.0 + 1e-3, 0.0], [0.0, -1.5], [-1.0, 0.2]])
    expected = [True, True, False, False, True]
    box = Box(c - scale, c + scale)
    assert box.contains(c + scale * rel).tolist() == expected
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert Polytope(A, A @ c + scale).contains(c + scale * rel).tolist() == expected
    origin = np.r_[c, 5.0 * shift]
    basis = scale * np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    sl = Slice(origin, basis, Box([-1.0, -1.0], [1.0, 1.0]))
    on = origin + rel @ basis.T
    assert sl.contains(on).tolist() == expected
    assert not sl.contains(on[0] + [0.0, 0.0, 0.5 * scale])[0]  # off the plane by half the slice's size
    net = Network.random([2, 4, 1], seed=0)
    L = net.layers[0]
    moved = Network([Layer(L.A / scale, L.c - L.A @ c / scale, L.n_pieces)] + list(net.layers[1:]))
    part = enumerate_regions(moved, box, tol=max(1e-9 * scale, min_tol(box)))
    idx = part.locate(c + scale * rel)
    assert np.all((idx >= 0) == np.array(expected)) and idx[0] >= 0 and idx[3] == -1


def test_contains_checks_atol():
    box = Box([-1.0, -1.0], [1.0, 1.0])
    for bad, exc in ((np.nan, ValueError), (-1e-9, ValueError), (np.inf, ValueError), ("1e-9", TypeError),
                     (True, TypeError)):
        with pytest.raises(exc, match="atol"):
            box.contains(np.zeros(2), atol=bad)
