"""Tests of relutope.sampling: exact line walks, pattern sampling and richness estimators."""
import math

import numpy as np
import pytest

from relutope import Box, Layer, Network, Polytope, Slice, WholeSpace
from relutope.sampling import (
    PatternSample,
    ace,
    chao1,
    line_count,
    line_density,
    sample_patterns,
    sample_patterns_gaussian,
    sample_points,
)

Z95 = 1.959964


# ---------------------------------------------------------------------------------------------------- helpers
def sawtooth(L):
    """t(x) = 2 relu(x) - 4 relu(x - 1/2) composed L times: 2**L linear pieces on [0, 1] (Telgarsky 2016)."""
    weights = [(np.array([[1.0], [1.0]]), np.array([0.0, -0.5]))]
    for _ in range(L - 1):
        weights.append((np.array([[2.0, -4.0], [2.0, -4.0]]), np.array([0.0, -0.5])))
    weights.append((np.array([[2.0, -4.0]]), np.array([0.0])))
    return Network.from_weights(weights)


def maxout_net(d, widths, K, seed):
    """Max-out network: every hidden unit is the max of K random affine pieces."""
    rng = np.random.default_rng(seed)
    layers, fan = [], d
    for w in widths:
        layers.append(Layer(rng.normal(0, 1 / np.sqrt(fan), (w * K, fan)), rng.normal(0, 0.1, w * K), np.full(w, K)))
        fan = w
    layers.append(Layer.affine(rng.normal(0, 1, (1, fan)), np.zeros(1), "identity"))
    return Network(layers)


def grid_changes(net, a, b, n):
    """Pattern changes on a uniform grid of n points of [a, b]: (grid s, indices i with p[i] != p[i+1], patterns)."""
    s = np.linspace(0.0, 1.0, n)
    p = net.activation_pattern(a + s[:, None] * (b - a))
    ch = np.nonzero(np.any(p[1:] != p[:-1], axis=1))[0]
    return s, ch, p


def relu_unit_net(d=2):
    """One ReLU unit z = x_0 (boundary: the hyperplane x_0 = 0), then a linear output."""
    W = np.zeros((1, d))
    W[0, 0] = 1.0
    return Network.from_weights([(W, np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])


# ---------------------------------------------------------------------------------------------------- line_count
NETS = {
    "relu-3x8": lambda: Network.random([3, 8, 8, 8, 1], seed=0),
    "relu-2x12": lambda: Network.random([2, 12, 12, 1], seed=4),
    "abs": lambda: Network.random([2, 10, 10, 1], seed=1, activation="abs"),
    "leaky": lambda: Network.random([2, 10, 10, 1], seed=2, activation="leaky_relu"),
    "maxout-K3": lambda: maxout_net(3, [6, 6], 3, seed=0),
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_line_count_equals_fine_grid(name):
    net = NETS[name]()
    rng = np.random.default_rng(123)
    n_grid = 40_001
    step = 1.0 / (n_grid - 1)
    compared = 0
    for _ in range(10):
        a, b = rng.uniform(-2, 2, net.in_dim), rng.uniform(-2, 2, net.in_dim)
        res = line_count(net, a, b)
        pieces = np.diff(np.concatenate([[0.0], res.breakpoints, [1.0]]))
        if pieces.min() < 20 * step:  # a piece the grid could miss or split badly: not comparable
            continue
        compared += 1
        s, ch, p = grid_changes(net, a, b, n_grid)
        assert res.n_regions == ch.size + 1
        # every breakpoint lies in the grid cell where the pattern changes
        assert np.all(s[ch] <= res.breakpoints + 1e-12) and np.all(res.breakpoints <= s[ch + 1] + 1e-12)
        assert np.array_equal(res.patterns, p[np.concatenate([[0], ch + 1])])
        assert res.n_regions == len({row.tobytes() for row in res.patterns})  # regions are convex
    assert compared >= 5, "too few segments had all pieces longer than the grid resolution"


@pytest.mark.parametrize("L", [1, 2, 3, 5, 8])
def test_line_count_sawtooth_is_two_to_the_L(L):
    net = sawtooth(L)
    res = line_count(net, [0.0], [1.0])
    assert res.n_regions == 2 ** L
    # the breakpoints are the dyadic k / 2**L, exactly representable: the walk finds them to rounding
    np.testing.assert_allclose(res.breakpoints, np.arange(1, 2 ** L) / 2 ** L, rtol=0, atol=1e-12)
    back = line_count(net, [1.0], [0.0])
    assert back.n_regions == 2 ** L
    np.testing.assert_array_equal(back.patterns, res.patterns[::-1])


def test_line_count_three_piece_unit():
    # one unit y = max(-x - 1, 0, x - 1) on [-3, 3]: pieces 0 | 1 | 2 with kinks at x = -1 and x = 1
    layer = Layer(np.array([[-1.0], [0.0], [1.0]]), np.array([-1.0, 0.0, -1.0]), [3])
    res = line_count(Network([layer]), [-3.0], [3.0])
    assert res.n_regions == 3
    np.testing.assert_allclose(res.breakpoints, [1 / 3, 2 / 3], atol=1e-15)
    np.testing.assert_array_equal(res.patterns, [[0], [1], [2]])


def test_line_count_three_pieces_meeting_in_one_point():
    # y = max(-x, 0, x): the middle piece is the maximum only at x = 0, so only 2 regions of positive length
    layer = Layer(np.array([[-1.0], [0.0], [1.0]]), np.zeros(3), [3])
    res = line_count(Network([layer]), [-1.0], [1.0])
    assert res.n_regions == 2
    np.testing.assert_allclose(res.breakpoints, [0.5], atol=1e-15)
    np.testing.assert_array_equal(res.patterns, [[0], [2]])


def test_line_count_segment_inside_one_region_and_along_a_boundary():
    net = relu_unit_net(2)
    inside = line_count(net, [0.5, -1.0], [0.7, 1.0])
    assert inside.n_regions == 1 and inside.breakpoints.size == 0
    along = line_count(net, [0.0, -1.0], [0.0, 1.0])  # on the boundary x_0 = 0: inactive (ties to piece 0)
    assert along.n_regions == 1
    np.testing.assert_array_equal(along.patterns, [[0, 0]])
    across = line_count(net, [-1.0, 0.0], [3.0, 0.0])
    assert across.n_regions == 2
    np.testing.assert_allclose(across.breakpoints, [0.25])
    np.testing.assert_allclose(across.piece_lengths, [1.0, 3.0])


def test_line_count_witness_points_have_the_patterns():
    net = Network.random([2, 16, 16, 1], seed=5)
    res = line_count(net, [-1.0, -1.0], [1.0, 0.5])
    assert res.n_regions > 5
    np.testing.assert_array_equal(net.activation_pattern(res.points), res.patterns)


# ---------------------------------------------------------------------------------------------------- line_density
def test_line_density_sawtooth_1d_is_exact():
    # in 1-D every chord of [0, 1] is [0, 1] itself: 2**4 regions, 15 crossings per unit length, no spread
    res = line_density(sawtooth(4), Box([0.0], [1.0]), n_lines=5, seed=0)
    np.testing.assert_array_equal(res.n_regions, 16)
    np.testing.assert_allclose(res.lengths, 1.0)
    assert res.density == pytest.approx(15.0) and res.std_err == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("domain, boundary_length, area", [
    (Box([-1.0, -1.0], [1.0, 1.0]), 2.0, 4.0),
    (Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [1.0, 1.0, 1.0]), 2.0, 4.5),  # x, y >= -1, x + y <= 1
])
def test_line_density_matches_crofton(domain, boundary_length, area):
    # one boundary (the segment x_0 = 0 inside the domain): the expected crossings per unit length of isotropic
    # uniform random lines is P_L = (2 / pi) * boundary length / area (Cauchy-Crofton; stereology's P_L = 2 L_A / pi)
    res = line_density(relu_unit_net(2), domain, n_lines=1500, seed=7)
    expected = 2.0 / np.pi * boundary_length / area
    assert abs(res.density - expected) < 4 * res.std_err
    assert 0 < res.std_err < 0.02
    assert np.all((res.n_regions == 1) | (res.n_regions == 2))
    assert np.all(domain.contains(res.starts, atol=1e-9)) and np.all(domain.contains(res.ends, atol=1e-9))


# ---------------------------------------------------------------------------------------------------- sampling
def test_sample_points_box_equals_box_sample():
    box = Box([0.0, 0.5, -1.0], [1.0, 0.5, 1.0])
    np.testing.assert_array_equal(sample_points(box, 1000, seed=3), box.sample(1000, 3))


def test_sample_points_polytope_is_uniform():
    tri = Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])  # x, y >= 0, x + y <= 1
    x = sample_points(tri, 20_000, seed=1)
    assert x.shape == (20_000, 2)
    assert np.all(tri.contains(x))
    # centroid (1/3, 1/3); each coordinate has variance 1/18 on this triangle
    se = math.sqrt(1 / 18 / x.shape[0])
    assert np.all(np.abs(x.mean(axis=0) - 1 / 3) < 4 * se)
    # the fraction in {x + y <= 1/2} is the area ratio 1/4
    frac = np.mean(x.sum(axis=1) <= 0.5)
    assert abs(frac - 0.25) < 4 * math.sqrt(0.25 * 0.75 / x.shape[0])


def test_sample_points_on_slices():
    s_box = Slice([0.0, 0.0, 1.0], [[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]], Box([0.0, 0.0], [1.0, 1.0]))
    s_poly = Slice([1.0, 2.0, 3.0], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                   Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0]))
    for dom in (s_box, s_poly):
        x = sample_points(dom, 2000, seed=0)
        assert x.shape == (2000, 3)
        assert np.all(dom.contains(x))
    t = s_poly.to_coords(sample_points(s_poly, 2000, seed=0))
    assert np.all(t >= -1e-12) and np.all(t.sum(axis=1) <= 1 + 1e-12)


@pytest.mark.parametrize("domain", [WholeSpace(2), Slice([0.0, 0.0], [[1.0], [1.0]], WholeSpace(1))])
def test_sample_points_unbounded_raises(domain):
    with pytest.raises(ValueError, match="bounded"):
        sample_points(domain, 10)


def test_sample_patterns_reaches_every_region_of_a_small_net():
    net = Network.random([2, 5, 1], seed=9)
    box = Box([-1.0, -1.0], [1.0, 1.0])
    g = np.linspace(-1, 1, 401)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    gp, gcount = np.unique(net.activation_pattern(grid), axis=0, return_counts=True)
    area = gcount / gcount.sum()
    assert area.min() > 2e-3, "precondition: every region is large, so 20000 samples find all of them"
    res = sample_patterns(net, box, 20_000, seed=0)
    assert res.n_samples == 20_000 and res.counts.sum() == 20_000
    assert {r.tobytes() for r in res.patterns} == {r.tobytes() for r in gp}
    # frequencies follow the areas
    freq = dict(zip((r.tobytes() for r in res.patterns), res.counts / res.n_samples))
    for row, a in zip(gp, area):
        assert abs(freq[row.tobytes()] - a) < 0.015
    # counts sorted, witnesses lie in their regions
    assert np.all(np.diff(res.counts) <= 0)
    np.testing.assert_array_equal(net.activation_pattern(res.points), res.patterns)
    # a nearly exhaustive sample has no singletons: Chao1 then adds nothing
    assert res.chao1().estimate == res.n_patterns


@pytest.mark.parametrize("domain", [Box([-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]),
                                    Polytope(np.vstack([np.eye(3), -np.eye(3), np.ones((1, 3))]),
                                             np.r_[np.ones(6), 1.0])])
def test_sample_patterns_independent_of_chunk_and_equal_to_forward(domain):
    net = Network.random([3, 8, 8, 1], seed=2)
    a = sample_patterns(net, domain, 5000, seed=11)
    b = sample_patterns(net, domain, 5000, seed=11, chunk=997)
    np.testing.assert_array_equal(a.patterns, b.patterns)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.points, b.points)
    pats = net.activation_pattern(sample_points(domain, 5000, seed=11))
    up, uc = np.unique(pats, axis=0, return_counts=True)
    got = dict(zip((r.tobytes() for r in a.patterns), a.counts.tolist()))
    assert got == dict(zip((r.tobytes() for r in up), uc.tolist()))
    assert a.patterns.dtype == np.int8 and a.counts.dtype == np.int64


def test_sample_patterns_gaussian():
    net = Network.random([2, 8, 8, 1], seed=0)
    center = np.array([0.3, -0.2])
    tiny = sample_patterns_gaussian(net, center, 1e-9, 1000, seed=0)
    assert tiny.n_patterns == 1 and tiny.counts[0] == 1000
    np.testing.assert_array_equal(tiny.patterns[0], net.activation_pattern(center[None])[0])
    wide = sample_patterns_gaussian(net, center, [1.0, 2.0], 3000, seed=0, chunk=1000)
    assert wide.n_patterns > 5 and wide.counts.sum() == 3000
    np.testing.assert_array_equal(net.activation_pattern(wide.points), wide.patterns)


# ---------------------------------------------------------------------------------------------------- estimators
def test_chao1_hand_example():
    # counts 1,1,1,2,2,3,5,8: S_obs = 8, f1 = 3 singletons, f2 = 2 doubletons
    # S = 8 + 3*2 / (2*3) = 9
    # var = f1(f1-1)/(2(f2+1)) + f1(2f1-1)^2/(4(f2+1)^2) + f1^2 f2 (f1-1)^2/(4(f2+1)^4)
    #     = 6/6 + 3*25/36 + 9*2*4/324 = 36/36 + 75/36 + 8/36 = 119/36 = 3.30556
    # T = S - S_obs = 1, K = exp(1.959964 * sqrt(ln(1 + var/T^2))) = exp(1.959964 * sqrt(ln(155/36)))
    #   = exp(1.959964 * 1.208264) = exp(2.368155) = 10.6777
    # CI = [8 + 1/K, 8 + K] = [8.09365, 18.6777]
    r = chao1([1, 1, 1, 2, 2, 3, 5, 8])
    assert r.s_obs == 8
    assert r.estimate == pytest.approx(9.0)
    assert r.std_err == pytest.approx(math.sqrt(119 / 36))
    assert r.lower == pytest.approx(8.09365, abs=1e-5)
    assert r.upper == pytest.approx(18.6777, abs=1e-4)
    # zeros are unobserved classes and do not count; a PatternSample can be passed directly
    assert chao1([0, 1, 1, 1, 2, 2, 3, 5, 8, 0]).estimate == pytest.approx(9.0)
    ps = PatternSample(np.zeros((8, 1), np.int8), np.array([1, 1, 1, 2, 2, 3, 5, 8]), np.zeros((8, 1)), 23)
    assert chao1(ps).estimate == pytest.approx(9.0)


def test_chao1_without_doubletons():
    # counts 1,1,1,4: f1 = 3, f2 = 0: S = 4 + 3*2/2 = 7
    # var = f1(f1-1)/2 + f1(2f1-1)^2/4 - f1^4/(4 S) = 3 + 75/4 - 81/28 = 18.857142...
    r = chao1([1, 1, 1, 4])
    assert r.estimate == pytest.approx(7.0)
    assert r.std_err ** 2 == pytest.approx(3 + 75 / 4 - 81 / 28)
    K = math.exp(Z95 * math.sqrt(math.log(1 + (3 + 75 / 4 - 81 / 28) / 9)))
    assert (r.lower, r.upper) == pytest.approx((4 + 3 / K, 4 + 3 * K))


def test_chao1_without_singletons():
    # counts 2,3,5: T = 0, so the interval is P = (e^-2 + e^-3 + e^-5)/3 = 0.0639534,
    # var = sum f_i (e^-i - e^-2i) - (sum i e^-i f_i)^2 / n = 0.150434 (n = 10),
    # [max(3, 3/(1-P) - z sqrt(var)/(1-P)), 3/(1-P) + z sqrt(var)/(1-P)] = [3, 4.017096]
    r = chao1([2, 3, 5])
    assert r.estimate == 3.0 and r.lower == 3.0
    assert r.upper == pytest.approx(4.017096, abs=1e-6)
    assert "T = 0" in r.method


def test_ace_hand_example():
    # counts 1,1,2,3,20 with rare = 10: S_rare = 4, S_abund = 1, N_rare = 7, F1 = 2, C = 1 - 2/7 = 5/7
    # sum i(i-1)F_i = 2 (i=2) + 6 (i=3) = 8; gamma^2 = (4 / (5/7)) * 8 / (7*6) - 1 = 16/15 - 1 = 1/15
    # S = 1 + 28/5 + (2 / (5/7)) / 15 = 1 + 28/5 + 14/75 = 509/75
    r = ace([1, 1, 2, 3, 20])
    assert r.estimate == pytest.approx(509 / 75)
    assert r.s_obs == 5 and r.lower >= 5 and r.upper > r.estimate


def test_ace_variance_when_gamma_vanishes():
    # counts 1,2,2,3,3,20: F = (1, 2, 2), S_rare = 5, N_rare = 11, C = 10/11, gamma^2 = max(0.8 - 1, 0) = 0,
    # so S = S_abund + S_rare N / (N - F1) = 1 + 55/10 = 6.5 and
    # dS/dF_q = ((N + S_rare q)(N - F1) - S_rare N (q - [q=1])) / (N - F1)^2 = 1.6, 1.0, 0.95 for q = 1, 2, 3
    # (and 1 for the abundant class).
    # var = sum g^2 F - (sum g F)^2 / S = (2.56 + 2 + 1.805 + 1) - 6.5^2 / 6.5 = 0.865
    r = ace([1, 2, 2, 3, 3, 20])
    assert r.estimate == pytest.approx(6.5)
    assert r.std_err ** 2 == pytest.approx(0.865, rel=1e-6)
    K = math.exp(Z95 * math.sqrt(math.log(1 + 0.865 / 0.25)))
    assert (r.lower, r.upper) == pytest.approx((6 + 0.5 / K, 6 + 0.5 * K), rel=1e-6)


def test_ace_falls_back_to_chao1_when_all_rare_are_singletons():
    r = ace([1, 1, 1, 50])
    assert r.estimate == pytest.approx(chao1([1, 1, 1, 50]).estimate)
    assert "singleton" in r.method


# ---------------------------------------------------------------------------------------------------- bad input
NET2 = Network.random([2, 4, 1], seed=0)
BOX2 = Box([-1.0, -1.0], [1.0, 1.0])


@pytest.mark.parametrize("call, exc, match", [
    (lambda: sample_points(BOX2, 0), ValueError, "n must be >= 1"),
    (lambda: sample_points(BOX2, -5), ValueError, "n must be >= 1"),
    (lambda: sample_points(BOX2, 2.5), TypeError, "n must be an int"),
    (lambda: sample_points(BOX2, True), TypeError, "n must be an int"),
    (lambda: sample_points("box", 3), TypeError, "domain"),
    (lambda: sample_patterns(NET2, Box([0.0] * 3, [1.0] * 3), 10), ValueError, "domain has dimension 3"),
    (lambda: sample_patterns(NET2, BOX2, 10, chunk=0), ValueError, "chunk"),
    (lambda: sample_patterns("net", BOX2, 10), TypeError, "net"),
    (lambda: sample_patterns_gaussian(NET2, [0.0, 0.0], 0.0, 10), ValueError, "sigma"),
    (lambda: sample_patterns_gaussian(NET2, [0.0, 0.0], [1.0, 1.0, 1.0], 10), ValueError, "sigma"),
    (lambda: sample_patterns_gaussian(NET2, [0.0, np.nan], 1.0, 10), ValueError, "center"),
    (lambda: sample_patterns_gaussian(NET2, [0.0], 1.0, 10), ValueError, "center"),
    (lambda: line_count(NET2, [0.0, 0.0], [0.0, 0.0]), ValueError, "differ"),
    (lambda: line_count(NET2, [0.0, 0.0, 0.0], [1.0, 0.0]), ValueError, "a must have shape"),
    (lambda: line_count(NET2, [0.0, 0.0], [np.inf, 0.0]), ValueError, "b contains NaN or infinite"),
    (lambda: line_count(NET2, [0.0, 0.0], ["x", "y"]), TypeError, "b must be an array of numbers"),
    (lambda: line_count(NET2, [0.0, 0.0], [1.0, 1.0], tol=0.0), ValueError, "tol"),
    (lambda: line_density(NET2, BOX2, 0), ValueError, "n_lines"),
    (lambda: line_density(NET2, WholeSpace(2), 3), ValueError, "bounded"),
    (lambda: chao1([]), ValueError, "positive entry"),
    (lambda: chao1([0, 0]), ValueError, "positive entry"),
    (lambda: chao1([1, -1]), ValueError, "non-negative"),
    (lambda: chao1([1.5, 2]), ValueError, "whole numbers"),
    (lambda: chao1([[1, 2]]), ValueError, "1-D"),
    (lambda: chao1(["a"]), TypeError, "counts"),
    (lambda: chao1([1, np.nan]), ValueError, "NaN"),
    (lambda: ace([1, 2], rare=0), ValueError, "rare"),
])
def test_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
