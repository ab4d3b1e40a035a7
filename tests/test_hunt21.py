"""Defects of session 21 (the brief's list, then a hunt), each checked against an independent answer."""
import warnings
from math import comb

import numpy as np
import pytest

import relutope


# ---------------------------------------------------------------- item 3: bools are not numbers

NET = relutope.Network.random([2, 4, 3], seed=0)


@pytest.mark.parametrize("make, name", [
    (lambda: relutope.Box(np.array([False, False]), np.array([True, True])), "lo"),
    (lambda: relutope.Box([0.0, 0.0], [1.0, True]), "hi"),  # a Python bool inside a list
    (lambda: relutope.Box(False, 1.0), "lo"),
    (lambda: NET(np.array([[True, False]])), "x"),
    (lambda: NET([[0.5, True]]), "x"),
    (lambda: NET.forward(np.array([True, False])), "x"),
    (lambda: relutope.Network.from_weights([(np.ones((2, 2), dtype=bool), np.zeros(2))]), "W"),
    (lambda: relutope.Network.from_weights([(np.ones((2, 2)), np.array([True, False]))]), "b"),
    (lambda: relutope.Network.from_weights([([[1.0, True], [0.0, 1.0]], [0.0, 0.0])]), "W"),
    (lambda: relutope.Layer(np.ones((2, 2), dtype=bool), np.zeros(2), np.array([1, 1])), "A"),
    (lambda: relutope.Polytope(np.eye(2), np.array([True, True])), "b"),
    (lambda: relutope.Slice([0.0, True], np.eye(2)[:, :1], relutope.Box([-1.0], [1.0])), "origin"),
    (lambda: relutope.enumerate_regions(NET, relutope.Box([-1.0, -1.0], [1.0, 1.0])).locate([[True, 0.0]]), "x"),
])
def test_bool_arrays_are_refused_naming_the_argument(make, name):
    with pytest.raises(TypeError, match=rf"\b{name}\b.*bool"):
        make()


def test_integer_arrays_are_still_numbers():
    # the refusal is of bools only: ints (numpy or Python) still convert
    box = relutope.Box(np.array([-1, -1]), [1, 1])
    assert box.lo.dtype == np.float64 and box.lo.tolist() == [-1.0, -1.0]
    x = np.array([[1, 0]])
    assert np.array_equal(NET(x), NET(x.astype(float)))


# ---------------------------------------------------------------- item 2: squared row norms out of float64's range

def _cone(d: int, n: int, seed: int = 0) -> relutope.Network:
    """One hidden layer of ``n`` ReLUs whose hyperplanes all pass through the origin, in general position."""
    rng = np.random.default_rng(seed)
    return relutope.Network.from_weights([(rng.normal(size=(n, d)), np.zeros(n)),
                                          (rng.normal(size=(1, n)), np.zeros(1))])


def _central_regions(d: int, n: int) -> int:
    # regions of n hyperplanes in general position through one point of R^d (Zaslavsky 1975; Stanley, "An
    # introduction to hyperplane arrangements", 2007, Prop. 2.4 for the central case): 2 sum_{i<d} C(n-1, i)
    return 2 * sum(comb(n - 1, i) for i in range(d))


@pytest.mark.parametrize("d, n, methods", [(1, 3, ("lp", "polytope")), (2, 5, ("lp", "polygon", "polytope")),
                                           (3, 6, ("lp", "polytope"))])
@pytest.mark.parametrize("R", [1e150, 1e154, 1.5e154, 1e155, 1e160, 1e200, 1e250, 1e300, 1e307,
                               1e-150, 1e-160, 1e-200, 1e-250, 1e-300, 1e-305])
def test_huge_and_tiny_boxes_give_the_count_or_refuse(d, n, methods, R):
    # Every hyperplane passes through the origin, inside the (off-centre) box at every scale: the count is the
    # central arrangement's, whatever R. float64 either resolves it or the run is refused, never another count.
    net = _cone(d, n)
    expected = 2 if d == 1 else _central_regions(d, n)
    centre = 0.3 * R * np.ones(d)
    box = relutope.Box(centre - R, centre + R)
    for method in methods:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", relutope.RelutopeWarning)
                part = relutope.enumerate_regions(net, box, method=method)
        except ValueError as exc:
            assert "float64" in str(exc) and "domain" in str(exc), (method, str(exc))
            assert not (1e-200 <= R <= 1e200), (method, R, str(exc))  # refused only far out of range
        else:
            assert part.complete and len(part) == expected, (method, R, len(part), part.status)


@pytest.mark.parametrize("R", [1e100, 1e160, 1e200, 1e250, 1e-100, 1e-160, 1e-200, 1e-240])
def test_facets_and_volumes_of_huge_and_tiny_boxes(R):
    # the facets of each region are those at scale 1 (the arrangement scaled with the box: cones through the
    # origin); the volumes sum to the box's area (independent of the regions), or are refused out of float64's range
    net = _cone(2, 5)

    def run(r):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", relutope.RelutopeWarning)
            part = relutope.enumerate_regions(net, relutope.Box([-r, -0.7 * r], [1.3 * r, r]))
        return part, np.lexsort(part.patterns.T)

    ref, ref_order = run(1.0)
    part, order = run(R)
    assert np.array_equal(part.patterns[order], ref.patterns[ref_order])
    assert part.facets().counts()[order].tolist() == ref.facets().counts()[ref_order].tolist()
    try:
        vol = part.volumes()
    except ValueError as exc:
        assert "float64" in str(exc) and not (1e-150 <= R <= 1e150)
    else:
        assert np.sum(vol / R / R) == pytest.approx(2.3 * 1.7, rel=1e-9)


# ---------------------------------------------------------------- item 1: min_adversarial's defaults were absolute

def _moved(base: relutope.Network, s: float, c: np.ndarray) -> relutope.Network:
    """``x -> base((x - c) / s)``: the network of ``base`` on inputs moved to ``c`` and scaled by ``s``."""
    first = base.layers[0]
    layers = [relutope.Layer(first.A / s, first.c - first.A @ c / s, first.n_pieces)] + list(base.layers[1:])
    return relutope.Network(layers)


ADV_NET = relutope.Network.random([2, 6, 3], seed=2)
ADV_X0 = np.array([0.3, -0.4])


@pytest.fixture(scope="module")
def adversarial_oracle():
    # The l_inf distance from ADV_X0 to the nearest input of another class, by brute force: every region of the
    # unscaled net (the oracle's exhaustive search with HiGHS), then for each region and target class the LP
    # min t s.t. x in the region, |x - x0|_inf <= t, (a_j - a_label) x + (b_j - b_label) >= 0 (HiGHS).
    from scipy.optimize import linprog

    from oracle import brute_force_patterns, region_halfspaces

    label = int(np.argmax(ADV_NET(ADV_X0)))
    patterns, _ = brute_force_patterns(ADV_NET, tol=1e-9, radius_cap=1e3)
    best = np.inf
    d = ADV_NET.in_dim
    for pattern in patterns:
        G, h = region_halfspaces(ADV_NET, pattern)
        A, b = ADV_NET.local_affine_map(pattern.astype(np.int64))
        for j in range(ADV_NET.out_dim):
            if j == label:
                continue
            # variables (x, t): minimise t
            rows = [np.hstack([G, np.zeros((len(h), 1))]),
                    np.hstack([np.eye(d), -np.ones((d, 1))]), np.hstack([-np.eye(d), -np.ones((d, 1))]),
                    np.hstack([-(A[j] - A[label]), [0.0]])[None]]
            rhs = np.concatenate([h, ADV_X0, -ADV_X0, [b[j] - b[label]]])
            res = linprog(np.r_[np.zeros(d), 1.0], A_ub=np.vstack(rows), b_ub=rhs,
                          bounds=[(None, None)] * d + [(0, None)], method="highs")
            if res.status == 0:
                best = min(best, res.fun)
    assert np.isfinite(best) and best > 0
    return label, best


@pytest.mark.parametrize("s", [1e-6, 1.0, 1e6])
@pytest.mark.parametrize("c", [(0.0, 0.0), (3.0, -7.0)])
@pytest.mark.parametrize("out", [1.0, 1e-9])
def test_min_adversarial_defaults_at_every_scale_and_position(s, c, out, adversarial_oracle):
    # inputs scaled by s and moved off-centre, outputs scaled by `out`: the same answer, its distance times s
    pytest.importorskip("cvxpy")
    label, expected = adversarial_oracle
    c = np.array(c) * s
    net = _moved(ADV_NET, s, c)
    last = net.layers[-1]
    net = relutope.Network(list(net.layers[:-1]) + [relutope.Layer(last.A * out, last.c * out, last.n_pieces)])
    x0 = c + s * ADV_X0
    res = relutope.min_adversarial(net, x0, label, np.inf)
    assert res.status == "found" and res.proven
    # the oracle's infimum (margin 0); the default margin (1e-7 of the outputs) adds at most ~1e-7 relative
    assert res.distance / s == pytest.approx(expected, rel=1e-5)
    assert np.abs(res.x_adv - x0).max() == pytest.approx(res.distance, rel=1e-6)
    assert int(np.argmax(net(res.x_adv))) != label  # a forward pass: the class has changed
