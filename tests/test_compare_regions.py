"""compare_regions: another tool's region list against a partition, every difference proven exactly.

The truth is checked independently: brute force over all sign patterns with HiGHS Chebyshev LPs (tests/oracle.py),
float forward passes, and closed forms of the designed nets (sliver widths, hyperplanes through known points).
"""
import math

import numpy as np
import pytest

import relutope
from relutope.compare import compare_regions
from relutope.exact import neighbour_patterns

pytest.importorskip("flint")
from oracle import as_pattern_set, brute_force_patterns, chebyshev, region_halfspaces  # noqa: E402

SCALES = [1e-6, 1.0, 1e6]


def scaled_net(seed: int, widths, centre, scale):
    """A random ReLU net composed with u = (x - centre) / scale: the same partition at every scale and place."""
    base = relutope.Network.random(widths, seed=seed)
    pairs = []
    for i, layer in enumerate(base.layers):
        relu = layer.n_pieces.max() == 2
        W, b = (layer.A[1::2], layer.c[1::2]) if relu else (layer.A, layer.c)
        if i == 0:
            W, b = W / scale, b - (W / scale) @ centre
        pairs.append((W, b))
    return relutope.Network.from_weights(pairs)


def box(centre, scale):
    return relutope.Box(np.asarray(centre) - scale, np.asarray(centre) + scale)


def oracle_regions(net, domain, scale):
    A, b = domain.constraints()
    pats, radii, centres = brute_force_patterns(net, Adom=A, bdom=b, tol=1e-6 * scale, return_centers=True)
    return pats, radii, centres


@pytest.mark.parametrize("scale", SCALES)
def test_missing_and_duplicate_are_found_and_proven(scale):
    centre = np.array([3.0, -7.0]) * scale
    net = scaled_net(2, [2, 4, 4, 1], centre, scale)
    domain = box(centre, scale)
    part = relutope.enumerate_regions(net, domain)
    if scale == 1.0:  # the truth, by brute force (the same partition at every scale: compared below)
        assert as_pattern_set(part.patterns) == as_pattern_set(oracle_regions(net, domain, scale)[0])
    else:
        unit = relutope.enumerate_regions(scaled_net(2, [2, 4, 4, 1], centre / scale, 1.0), box(centre / scale, 1.0))
        assert as_pattern_set(part.patterns) == as_pattern_set(unit.patterns)
    R = len(part)
    drop, dup = 3, 5
    W = part.witnesses
    shifted = W[dup] + np.array([0.5 * part.radii[dup], 0.0])
    other = np.vstack([np.delete(W, drop, axis=0), shifted])
    res = compare_regions(part, other)
    assert (res.n_regions, res.n_other, res.n_matched) == (R, R, R - 1)
    [miss] = res.missing
    assert miss.region == drop and miss.verdict == "exists" and miss.exists and "witness" in miss.proof
    # the witness is a point of the dropped pattern, by the float forward pass, and strictly in the box
    assert np.array_equal(net.forward(miss.witness[None])[1][0], part.patterns[drop])
    assert np.all(domain.lo < miss.witness) and np.all(miss.witness < domain.hi)
    # its exact inradius agrees with HiGHS's Chebyshev radius of the oracle's H-representation
    A, b = domain.constraints()
    radius = chebyshev(*region_halfspaces(net, part.patterns[drop], Adom=A, bdom=b), radius_cap=None)[1]
    lo, hi = (float(v) for v in miss.radius_bounds)
    assert lo <= hi and math.isclose(lo, radius, rel_tol=1e-6)
    [twice] = res.duplicates
    assert twice.region == dup and set(twice.other) == {dup - 1, R - 1}  # indices after the deletion
    assert np.array_equal(net.forward(shifted[None])[1][0], part.patterns[dup])
    assert not res.extra and not res.boundary and res.outside.size == 0
    assert res.n_proven == R


def test_agreement_with_patterns_given_and_an_empty_list():
    net = scaled_net(0, [2, 6, 1], np.zeros(2), 1.0)
    part = relutope.enumerate_regions(net, box(np.zeros(2), 1.0))
    res = compare_regions(part, part.witnesses, part.patterns)
    assert res.agree and res.n_matched == len(part) and res.unproven.size == 0
    res = compare_regions(part, np.zeros((0, 2)))
    assert len(res.missing) == len(part) and all(d.exists for d in res.missing)


def test_spurious_patterns_are_proven_empty():
    """Patterns that brute force finds no region for (HiGHS radius < 0): each proven empty by the exact LP."""
    centre, scale = np.array([0.25, 0.5]), 1.0
    net = scaled_net(4, [2, 4, 3, 1], centre, scale)
    domain = box(centre, scale)
    part = relutope.enumerate_regions(net, domain)
    truth = as_pattern_set(oracle_regions(net, domain, scale)[0])
    A, b = domain.constraints()
    rng = np.random.default_rng(0)
    spurious = []
    while len(spurious) < 4:
        p = part.patterns[rng.integers(len(part))].copy()
        p[rng.choice(7, size=2, replace=False)] ^= 1
        if tuple(int(v) for v in p) in truth or any(np.array_equal(p, q) for q in spurious):
            continue
        if chebyshev(*region_halfspaces(net, p, Adom=A, bdom=b), radius_cap=None)[1] < -1e-6:
            spurious.append(p)
    claims = np.vstack([part.patterns] + spurious)
    points = np.vstack([part.witnesses, part.witnesses[:len(spurious)]])  # points that do not prove the claims
    res = compare_regions(part, points, claims)
    assert len(res.extra) == 4 and not res.missing
    assert res.unproven.tolist() == list(range(len(part), len(part) + 4))  # their points lie in other regions
    for d, p in zip(res.extra, spurious):
        assert np.array_equal(d.pattern, p) and d.verdict == "empty" and d.exists is False
        if d.proof == "constant-row":  # a unit dead on the pattern's set decides it away everywhere
            assert d.radius_bounds is None
        else:
            assert d.proof == "exact-lp" and d.radius_bounds[1] <= 0
        assert d.witness is None


@pytest.mark.parametrize("scale", SCALES)
def test_thin_sliver_and_impossible_pattern(scale):
    """Two parallel lines 2e-10 * scale apart: the sliver between them (inradius 1e-10 * scale, below the default
    tol of 1e-9 * scale) is left out by relutope and proven thin; the pattern 'left of both and right of both' is
    proven empty (a constant row: the lines are parallel, so the pattern's set is a strip of negative width)."""
    centre = np.array([-5.0, 11.0]) * scale
    gap = 2e-10 * scale
    W = np.array([[1.0, 0.0], [1.0, 0.0], [0.3, 1.0]]) / scale
    b = -W @ centre - np.array([0.0, gap / scale, 0.0])
    net = relutope.Network.from_weights([(W, b), (np.ones((1, 3)), np.zeros(1))])
    domain = box(centre, scale)
    part = relutope.enumerate_regions(net, domain)
    sliver = centre + np.array([0.5 * gap, 0.2 * scale])
    sliver_pattern = net.forward(sliver[None])[1][0]
    assert list(sliver_pattern[:2]) == [1, 0]
    assert part.index_of(sliver_pattern)[0] == -1  # left out by design
    impossible = part.patterns[0].copy()
    impossible[:2] = [0, 1]  # x0 below the first line and above the second, which lies to its right
    claims = np.vstack([part.patterns, sliver_pattern, impossible])
    points = np.vstack([part.witnesses, sliver, sliver])
    res = compare_regions(part, points, claims)
    thin, empty = res.extra
    assert thin.verdict == "thin" and thin.exists and "witness" in thin.proof
    lo, hi = (float(v) for v in thin.radius_bounds)
    half = 0.5 * (b[0] - b[1]) * scale  # the closed form: half the strip's width, as the float weights have it
    assert math.isclose(lo, half, rel_tol=1e-6) and math.isclose(hi, half, rel_tol=1e-6)
    assert hi <= part.tol
    assert empty.verdict == "empty" and empty.exists is False
    assert res.n_thin == 1 and res.n_proven == len(part) + 1
    # without claimed patterns the sliver's point is named by its own exact pattern
    res = compare_regions(part, np.vstack([part.witnesses, sliver]))
    [d] = res.extra
    assert d.verdict == "thin" and np.array_equal(d.pattern, sliver_pattern)


@pytest.mark.parametrize("scale", [2.0 ** -20, 1.0, 2.0 ** 20])
def test_boundary_point_maps_to_its_neighbours(scale):
    """A point exactly on the line x0 = c0 names no region: it is resolved to the neighbour no other entry names."""
    centre = np.array([1.5, -2.5]) * scale
    rng = np.random.default_rng(3)
    W = np.vstack([[1.0, 0.0], rng.normal(size=(4, 2))]) / scale
    b = np.concatenate([[-centre[0] / scale], -W[1:] @ centre + rng.normal(size=4) * 0.3])
    net = relutope.Network.from_weights([(W, b), (rng.normal(size=(3, 5)), rng.normal(size=3)),
                                         (np.ones((1, 3)), np.zeros(1))])
    domain = box(centre, scale)
    part = relutope.enumerate_regions(net, domain)
    on_line = np.array([centre[0], centre[1] + 0.123 * scale])
    _, ties = relutope.exact.exact_forward(net, on_line)[1:]
    assert ties[0, 0]  # on the first unit's line, exactly
    sides = [on_line + np.array([s * 1e-6 * scale, 0.0]) for s in (-1, 1)]
    right = part.index_of(net.forward(sides[1][None])[1])[0]
    left = part.index_of(net.forward(sides[0][None])[1])[0]
    assert right >= 0 and left >= 0 and right != left
    other = np.vstack([np.delete(part.witnesses, right, axis=0), on_line])
    res = compare_regions(part, other)
    [d] = res.boundary
    assert d.region == right and d.verdict == "exists" and res.n_matched == len(part) and not res.missing
    cands = as_pattern_set(d.candidates)
    assert {tuple(int(v) for v in part.patterns[j]) for j in (left, right)} <= cands
    # with both neighbours named elsewhere the boundary point is a duplicate, and undecided
    res = compare_regions(part, np.vstack([part.witnesses, on_line]))
    [d] = res.boundary
    assert d.verdict == "undecided" and d.region in (left, right) and "duplicate" in d.note


@pytest.mark.parametrize("bad, exc, words", [
    (dict(points=np.zeros((2, 3))), ValueError, "points"),
    (dict(points=np.full((1, 2), np.nan)), ValueError, "points"),
    (dict(patterns=np.zeros((1, 3), np.int8)), ValueError, "patterns must have shape"),
    (dict(patterns=np.zeros((1, 8))), TypeError, "patterns must be an integer"),
    (dict(patterns=np.full((1, 8), 2)), ValueError, "piece index"),
    (dict(tol=-1.0), ValueError, "tol"),
    (dict(tol="x"), TypeError, "tol"),
])
def test_bad_input(bad, exc, words):
    net = scaled_net(0, [2, 7, 1], np.zeros(2), 1.0)
    part = relutope.enumerate_regions(net, box(np.zeros(2), 1.0))
    kw = dict(points=part.witnesses[:1], patterns=None)
    kw.update(bad)
    with pytest.raises(exc, match=words):
        compare_regions(part, kw.pop("points"), **kw)
    with pytest.raises(TypeError, match="partition"):
        compare_regions(part.patterns, part.witnesses)
    with pytest.raises(ValueError, match="max_patterns"):
        neighbour_patterns(net, np.zeros(2), max_patterns=0)
    incomplete = relutope.enumerate_regions(net, box(np.zeros(2), 1.0), max_regions=2)
    with pytest.raises(ValueError, match="complete"):
        compare_regions(incomplete, part.witnesses)


def test_slice_domains():
    """An axis-aligned slice is compared (radii in t are input units); a skewed one is refused with a clear error."""
    net = relutope.Network.random([3, 6, 1], seed=5)
    inner = relutope.Box(-np.ones(2), np.ones(2))
    flat = relutope.Slice(np.array([0.0, 0.0, 0.25]), np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), inner)
    part = relutope.enumerate_regions(net, flat)
    res = compare_regions(part, part.witnesses[1:])
    [d] = res.missing
    assert d.region == 0 and d.verdict == "exists" and np.isclose(float(d.radius_bounds[0]), part.radii[0])
    skew = relutope.Slice(np.zeros(3), np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), inner)
    part = relutope.enumerate_regions(net, skew)
    with pytest.raises(ValueError, match="orthonormal"):
        compare_regions(part, part.witnesses)
