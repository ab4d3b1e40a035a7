"""Certified ``holds`` by the branch and bound on the ReLUs (relutope.verdict_certificates._relu_bab_certify, in C++:
cpp/src/certify_bab.cpp): its rigorous pieces against exact rationals and the node bound against the numpy one,
corrupted certificates rejected, and the verdicts against brute force (every region of small nets by the test
oracle, each minimised by HiGHS) at scales 1e-6..1e6, off-centre."""
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import linprog

import relutope
from relutope import _core, vnnlib
from relutope import verdict_certificates as vc

from oracle import brute_force_patterns, region_halfspaces

F = Fraction


def exact_box_min(w, Fm, e, lo, hi):
    """min over the box of sum_p w_p (F_p . (x, 1) - e_p), in rationals (a linear function: at a vertex)."""
    k = Fm.shape[1] - 1
    coef = [sum(F(wp) * F(Fm[p, j]) for p, wp in enumerate(w)) for j in range(k + 1)]
    const = coef[k] - sum(F(wp) * F(ep) for wp, ep in zip(w, e))
    return const + sum(c * (F(lo[j]) if c > 0 else F(hi[j])) for j, c in enumerate(coef[:k]))


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_weighted_min_is_a_tight_lower_bound_of_the_exact_minimum(scale):
    rng = np.random.default_rng(int(np.log10(scale)) + 10)
    for _ in range(20):
        p, k = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        centre = 3.7 * scale * rng.normal(size=k)  # off-centre
        lo = centre - scale * rng.uniform(0.1, 1, size=k)
        hi = centre + scale * rng.uniform(0.1, 1, size=k)
        Fm = rng.normal(size=(p, k + 1)) * np.r_[np.full(k, 1.0 / scale), 1.0]
        e = np.abs(rng.normal(size=p)) * 1e-9
        w = np.abs(rng.normal(size=p))
        got = _core.bab_weighted_min(w, Fm, e, lo, hi)
        exact = exact_box_min(w, Fm, e, lo, hi)
        assert F(got) <= exact
        # not vacuous: within 1e-12 of the terms' magnitude
        mag = sum(abs(F(wp)) * (sum(abs(F(v)) * F(max(abs(a), abs(b))) for v, a, b in zip(Fm[i, :k], lo, hi))
                                + abs(F(Fm[i, k]))) for i, wp in enumerate(w))
        assert exact - F(got) <= mag * F(1, 10**12) + F(1, 10**300)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_tighten_box_keeps_every_point_of_the_rows_and_shrinks(scale):
    rng = np.random.default_rng(7 + int(np.log10(scale)))
    for _ in range(10):
        k, p = 3, int(rng.integers(1, 5))
        centre = -2.3 * scale * np.ones(k)
        lo, hi = centre - scale, centre + scale
        rows = np.c_[rng.normal(size=(p, k)) / scale, rng.normal(size=p) * 0.5]
        rows[:, k] -= rows[:, :k] @ centre  # hyperplanes through the box
        erows = np.full(p, 1e-12)
        tlo, thi, empty = _core.bab_tighten_box(rows, erows, lo, hi)
        pts = lo + (hi - lo) * rng.uniform(size=(150, k))
        pts[:8] = np.where(rng.uniform(size=(8, k)) < 0.5, lo, hi)  # vertices
        inside = [x for x in pts if all(sum(F(r[j]) * F(x[j]) for j in range(k)) + F(r[k]) - F(er) <= 0
                                        for r, er in zip(rows, erows))]
        if empty:
            assert not inside
        for x in inside:  # every point of the set, checked exactly, lies in the new box
            assert all(F(tlo[j]) <= F(x[j]) <= F(thi[j]) for j in range(k))
        # and the new box is within rounding of the rows' LP box (one row at a time, as computed): no looser
        for j in range(k):
            for r in rows:
                if r[j] > 0:
                    rest = sum(min(r[i] * lo[i], r[i] * hi[i]) for i in range(k) if i != j)
                    assert thi[j] <= max((-r[k] - rest) / r[j], lo[j]) + 1e-9 * scale or empty
    # two contradicting rows: x_0 <= -0.5 s and x_0 >= 0.5 s (around the centre)
    rows = np.array([[1.0 / scale, 0, 0, 0.5], [-1.0 / scale, 0, 0, 0.5]])
    assert _core.bab_tighten_box(rows, np.zeros(2), np.full(3, -scale), np.full(3, scale))[2]


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_lp_box_keeps_every_point_of_the_rows_and_equals_the_highs_box(scale):
    rng = np.random.default_rng(17 + int(np.log10(scale)))
    for _ in range(8):
        k, p = 3, int(rng.integers(2, 6))
        centre = 1.9 * scale * np.ones(k)  # off-centre
        lo, hi = centre - scale, centre + scale
        rows = np.c_[rng.normal(size=(p, k)) / scale, rng.normal(size=p) * 0.4]
        rows[:, k] -= rows[:, :k] @ centre  # hyperplanes through the box
        erows = np.full(p, 1e-13)
        tlo, thi, empty = _core.bab_lp_box(rows, erows, lo, hi)
        # the rows' bounding box within the box, by HiGHS (2k LPs) in the box's unit coordinates x = centre + scale t
        # (HiGHS's tolerances are absolute: at scale 1e-6 in x they are a tenth of the box)
        ref = []
        for j in range(k):
            for s in (1.0, -1.0):
                res = linprog(s * np.eye(k)[j], A_ub=rows[:, :k] * scale, b_ub=-rows[:, k] - rows[:, :k] @ centre,
                              bounds=[(-1, 1)] * k, method="highs")
                ref.append(res)
        if ref[0].status == 2:  # infeasible: lp_box may or may not prove it; it must not shrink past a point
            continue
        assert not empty
        inner = [centre + scale * r.x for r in ref]
        for j in range(k):
            # as tight as the LP (to its tolerance) and never tighter: HiGHS's extreme points, pulled a hair towards
            # the set's mean (inside, checked exactly), lie in the box
            assert abs(tlo[j] - (centre[j] + scale * ref[2 * j].fun)) <= 1e-7 * scale
            assert abs(thi[j] - (centre[j] - scale * ref[2 * j + 1].fun)) <= 1e-7 * scale
        mid = np.mean(inner, axis=0)
        for x in inner:
            x = x + 1e-7 * (mid - x)
            if all(sum(F(r[i]) * F(x[i]) for i in range(k)) + F(r[k]) - F(er) <= 0 for r, er in zip(rows, erows)):
                assert all(F(tlo[j]) <= F(x[j]) <= F(thi[j]) for j in range(k))
        pts = lo + (hi - lo) * rng.uniform(size=(200, k))
        for x in pts:
            if all(sum(F(r[i]) * F(x[i]) for i in range(k)) + F(r[k]) - F(er) <= 0 for r, er in zip(rows, erows)):
                assert all(F(tlo[j]) <= F(x[j]) <= F(thi[j]) for j in range(k))
    # two contradicting rows (x_0 <= 1.5 s, x_0 >= 1.6 s): an infeasible LP proves nothing here (tighten_box and the
    # node LP's Farkas multipliers prove emptiness), and the box is left as it was
    rows = np.array([[1.0 / scale, 0, 0, -1.5], [-1.0 / scale, 0, 0, 1.6]])
    tlo, thi, empty = _core.bab_lp_box(rows, np.zeros(2), np.full(3, scale), np.full(3, 2 * scale))
    assert not empty and np.all(tlo == scale) and np.all(thi == 2 * scale)
    # a row's error bound widens the box by its amount (x_0 / s - 1.5 - 0.25 <= 0): exactly valid, and tight
    rows = np.array([[1.0 / scale, 0, 0, -1.5]])
    tlo, thi, _ = _core.bab_lp_box(rows, np.array([0.25]), np.full(3, scale), np.full(3, 2 * scale))
    assert F(thi[0]) >= F(1.75) * F(scale) * (1 - F(1, 10**12)) and thi[0] <= 1.75 * scale * (1 + 1e-12)


@pytest.mark.parametrize("s, c", [(1.0, 0.0), (1e6, 3e6), (1e-6, -4e-6)])
def test_a_corrupted_node_certificate_is_rejected(s, c):
    # node {x_0 <= c} of the box [c - s, c + s]^2; the objective's lower function y >= -1.5 (x_0 - c) / s; unsafe
    # when y <= d. On the node y + 0.5 >= 0.5 (attained at x_0 = c): the row is needed, the margin is 0.5
    lo, hi = np.full(2, c - s), np.full(2, c + s)
    obj = np.array([[-1.5 / s, 0.0, 1.5 * c / s]])
    rows = np.array([[1.0 / s, 0.0, -c / s]])
    args = (obj, np.zeros(1), np.array([-0.5]), rows, np.zeros(1), lo, hi)
    value, bound, empty = _core.bab_node_lp(*args)
    assert not empty and 0.5 * (1 - 1e-9) < bound <= 0.5 and abs(value - 0.5) < 1e-9
    lam, mu = np.array([1.0]), np.array([1.5])
    assert 0.5 * (1 - 1e-9) < _core.bab_check_node(lam, mu, *args) <= 0.5
    assert _core.bab_check_node(lam, -mu, *args) == -np.inf                     # a flipped sign
    assert _core.bab_check_node(lam, mu[:0], obj, np.zeros(1), np.array([-0.5]), rows[:0], np.zeros(0),
                          lo, hi) == -np.inf                               # a dropped row
    assert _core.bab_check_node(lam, mu, obj, np.zeros(1), np.array([-0.5]), -rows, np.zeros(1),
                          lo, hi) == -np.inf                               # the row of the other side
    assert _core.bab_check_node(lam, mu, obj, np.zeros(1), np.array([0.0]), rows, np.zeros(1), lo, hi) == -np.inf
    # a bound slightly too tight: the true minimum of y - d is 0 (d = 0) or just below (d = 1e-12): rejected
    assert _core.bab_check_node(lam, mu, obj, np.zeros(1), np.array([1e-12]), rows, np.zeros(1), lo, hi) == -np.inf
    assert _core.bab_check_node(lam, mu * (1 - 1e-6), *args) < 0.5  # other multipliers: still a valid, weaker bound


# ------------------------------------------------------------------------------------ verdicts against brute force
def random_net(seed, scale, centre, degenerate=False):
    """[2, 6, 5, 2] ReLU net over the box centre +- scale; degenerate: duplicate units, units equal to the last
    bit, three lines through one point and a line through a box vertex."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(6, 2))
    b1 = rng.normal(size=6) * 0.5
    if degenerate:
        W1[1], b1[1] = W1[0], b1[0]                                    # a duplicate
        W1[2], b1[2] = W1[0], np.nextafter(b1[0], np.inf)               # equal up to the last bit
        W1[4], b1[4] = rng.normal(size=2), 0.0                          # 3, 4, 5 through the centre
        W1[5], b1[5] = rng.normal(size=2), 0.0
        b1[3] = 0.0
        W1[0], b1[0] = np.array([1.0, 1.0]), 2.0                        # through the vertex (-1, -1)
    layers = [(W1 / scale, b1 - W1 @ np.full(2, centre) / scale),
              (rng.normal(size=(5, 6)), rng.normal(size=5) * 0.3), (rng.normal(size=(2, 5)), rng.normal(size=2))]
    return relutope.Network.from_weights(layers), layers


def brute_min(net, layers, scale, centre, C, d):
    """min over the box of max_r (C_r y - d_r): every region (test oracle, domain coordinates u in [-1, 1]^2),
    the output's affine map composed by hand, one HiGHS LP per region."""
    x0, E = np.full(2, centre), scale * np.eye(2)
    Adom = np.vstack([np.eye(2), -np.eye(2)])
    bdom = np.ones(4)
    best = np.inf
    for pat in brute_force_patterns(net, x0, E, Adom, bdom, tol=1e-9)[0]:
        A, b = E.copy(), x0.copy()
        at = 0
        for (W, c) in layers[:-1]:
            on = np.asarray(pat[at:at + W.shape[0]]) == 1
            A, b = (W @ A) * on[:, None], (W @ b + c) * on
            at += W.shape[0]
        A, b = layers[-1][0] @ A, layers[-1][0] @ b + layers[-1][1]
        G, h = region_halfspaces(net, pat, x0, E, Adom, bdom)
        q = C.shape[0]
        res = linprog(np.r_[0.0, 0.0, 1.0], A_ub=np.vstack([np.c_[C @ A, -np.ones(q)], np.c_[G, np.zeros(len(G))]]),
                      b_ub=np.r_[d - C @ b, h], bounds=[(-1, 1), (-1, 1), (None, None)], method="highs")
        if res.status == 0:
            best = min(best, res.fun)
    return best


def prop(centre, scale, C, d):
    lo, hi = np.full(2, centre - scale), np.full(2, centre + scale)
    return vnnlib.Property(cases=[vnnlib.Case(lo, hi, [(C, d)])], n_inputs=2, n_outputs=2)


@pytest.mark.parametrize("seed, scale, centre, degenerate", [(0, 1.0, 0.3, False), (2, 1e6, -3e6, False),
                                                             (4, 1e-6, 5e-6, True)])
def test_certify_holds_agrees_with_brute_force(seed, scale, centre, degenerate):
    net, layers = random_net(seed, scale, centre, degenerate)
    C = np.array([[1.0, 0.0], [0.0, -1.0]])  # unsafe: y0 <= d0 and y1 >= -d1 (two rows: a combination needed)
    d0 = np.zeros(2)
    m = brute_min(net, layers, scale, centre, C, d0)  # min over the box of max(y0, -y1)
    spread = 1e-3 * (1 + abs(m))
    for shift, expect in ((m - spread, True), (m + spread, False)):
        d = np.array([shift, shift])  # max_r (C_r y - d_r) = max(y0, -y1) - shift
        for max_boxes in (1, 8):  # (nearly) all by the branch and bound, or after some splitting
            cert = vc.certify_holds(net, prop(centre, scale, C, d), max_boxes=max_boxes, time_limit=20)
            assert cert.ok == expect, (shift, max_boxes, cert.failures)
            if expect:
                assert 0 < cert.min_margin <= m - shift + 1e-9 * (1 + abs(m)) and cert.pending == []


# ------------------------------------------------------------------------------ the C++ node bound (certify_bab.cpp)
def deep_net(seed, scale, centre, k=3):
    """[k, 7, 6, 5, 3] ReLU net whose inputs live at centre +- scale (first layer scaled by 1 / scale)."""
    rng = np.random.default_rng(seed)
    sizes = [k, 7, 6, 5, 3]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        W, c = rng.normal(size=(b, a)), rng.normal(size=b) * 0.3
        if i == 0:
            W, c = W / scale, c - (W / scale) @ np.full(a, centre)
        layers.append((W, c))
    return relutope.Network.from_weights(layers), layers


def exact_pre_activations(layers, x):
    """Every hidden pre-activation and the output at the rational point x, in Fractions."""
    v = [F(t) for t in x]
    pre = []
    for li, (W, c) in enumerate(layers):
        z = [sum(F(W[i, j]) * v[j] for j in range(W.shape[1])) + F(c[i]) for i in range(W.shape[0])]
        if li < len(layers) - 1:
            pre += z
            v = [max(t, F(0)) for t in z]
        else:
            v = z
    return pre, v


@pytest.mark.parametrize("scale, centre", [(1e-6, 3e-6), (1.0, -0.7), (1e6, 2.5e6)])
def test_node_bound_equals_the_numpy_bound_without_signs(scale, centre):
    net, _ = deep_net(3, scale, centre)
    rng = np.random.default_rng(5)
    C = rng.normal(size=(4, 3))
    for _ in range(5):
        lo = centre + scale * rng.uniform(-1, 0, 3)
        hi = lo + scale * rng.uniform(0.05, 1, 3)
        got = _core.relu_node_bound(net._core(), lo, hi, np.zeros(0, np.int8), C, True)
        X, e, _ = vc._lower_affine(net, lo[None], hi[None], C)  # the numpy bound of the input splitting
        # the same functions up to the order of the sums: the difference is within a few roundings of the terms
        mag = np.abs(X[:, 0]).max(axis=1, keepdims=True) + 1e-300
        assert np.all(np.abs(got["X"] - X[:, 0]) <= 1e-12 * mag)
        assert np.allclose(got["e"], e[:, 0], rtol=1e-6, atol=0)


@pytest.mark.parametrize("scale, centre", [(1e-6, 3e-6), (1.0, -0.7), (1e6, 2.5e6)])
def test_node_bound_holds_in_exact_rationals_with_signs_imposed(scale, centre):
    net, layers = deep_net(11, scale, centre)
    rng = np.random.default_rng(13)
    C = rng.normal(size=(3, 3))
    n_hidden = 18
    checked = 0
    for trial in range(4):
        lo = centre + scale * rng.uniform(-1, -0.2, 3)
        hi = centre + scale * rng.uniform(0.2, 1, 3)
        pts = lo + (hi - lo) * rng.uniform(size=(40, 3))
        pts[:8] = np.where(rng.uniform(size=(8, 3)) < 0.5, lo, hi)  # vertices
        exact = [exact_pre_activations(layers, x) for x in pts]
        fix = np.zeros(n_hidden, np.int8)
        if trial:  # the signs some of the points have, so that the node is not empty
            ref = exact[int(rng.integers(len(pts)))][0]
            for j in rng.choice(n_hidden, 2 * trial, replace=False):
                fix[j] = 1 if ref[j] >= 0 else -1
        for refine in (False, True):
            nb = _core.relu_node_bound(net._core(), lo, hi, fix, C, refine)
            on_node = [(x, pre, y) for x, (pre, y) in zip(pts, exact)
                       if all((pre[j] >= 0) if fix[j] > 0 else (pre[j] <= 0) if fix[j] < 0 else True
                              for j in range(n_hidden))]
            if nb["empty"]:
                assert not on_node
            for x, pre, y in on_node:
                xs = [F(t) for t in x] + [F(1)]
                for r in range(C.shape[0]):
                    lower = sum(F(a) * b for a, b in zip(nb["X"][r], xs)) - F(nb["e"][r])
                    assert sum(F(C[r, o]) * y[o] for o in range(3)) >= lower
                for j in range(n_hidden):
                    assert F(nb["l"][j]) <= pre[j] <= F(nb["u"][j])
                    assert sum(F(a) * b for a, b in zip(nb["DL"][j], xs)) - F(nb["eDL"][j]) <= pre[j] \
                        <= sum(F(a) * b for a, b in zip(nb["DU"][j], xs)) + F(nb["eDU"][j])
                checked += 1
    assert checked > 100  # not vacuous


@pytest.mark.parametrize("scale, centre", [(1e-6, 3e-6), (1.0, -0.7), (1e6, 2.5e6)])
def test_node_bound_from_a_parent_prior_holds_in_exact_rationals(scale, centre):
    # the parent's unit bounds intersected into a child's (a sub-box with a sign more): valid on the child's points
    # and no looser than either bound alone; a prior crossing the child's bound proves the node empty
    net, layers = deep_net(19, scale, centre)
    rng = np.random.default_rng(23)
    C = rng.normal(size=(3, 3))
    n_hidden = 18
    lo, hi = centre - scale * np.ones(3), centre + scale * np.ones(3)
    parent = _core.relu_node_bound(net._core(), lo, hi, np.zeros(n_hidden, np.int8), C, True)
    checked = 0
    for _ in range(3):
        clo = lo + (hi - lo) * rng.uniform(0, 0.4, 3)
        chi = hi - (hi - lo) * rng.uniform(0, 0.4, 3)
        pts = clo + (chi - clo) * rng.uniform(size=(40, 3))
        exact = [exact_pre_activations(layers, x) for x in pts]
        fix = np.zeros(n_hidden, np.int8)
        j = int(rng.integers(n_hidden))
        fix[j] = 1 if exact[0][0][j] >= 0 else -1
        alone = _core.relu_node_bound(net._core(), clo, chi, fix, C, True)
        nb = _core.relu_node_bound(net._core(), clo, chi, fix, C, True, prior=(parent["l"], parent["u"]))
        assert not nb["empty"]
        assert np.all(nb["u"] <= parent["u"]) and np.all(nb["l"] >= parent["l"])
        for x, (pre, y) in zip(pts, exact):
            if not ((pre[j] >= 0) if fix[j] > 0 else (pre[j] <= 0)):
                continue
            xs = [F(t) for t in x] + [F(1)]
            for r in range(C.shape[0]):
                lower = sum(F(a) * b for a, b in zip(nb["X"][r], xs)) - F(nb["e"][r])
                assert sum(F(C[r, o]) * y[o] for o in range(3)) >= lower
            for i in range(n_hidden):
                assert F(nb["l"][i]) <= pre[i] <= F(nb["u"][i])
            checked += 1
        bad_l = parent["l"].copy()
        bad_l[0] = alone["u"][0] + 1 + abs(alone["u"][0])  # a corrupted prior: above the unit's proven upper bound
        assert _core.relu_node_bound(net._core(), clo, chi, fix, C, True, prior=(bad_l, parent["u"]))["empty"]
    assert checked > 20  # not vacuous
    with pytest.raises(ValueError, match="prior.l"):
        _core.relu_node_bound(net._core(), lo, hi, np.zeros(0, np.int8), C, True, prior=(parent["l"][:3], parent["u"]))


@pytest.mark.parametrize("lp_box, cheap_first, rebound", [(False, False, 0), (True, False, 2), (True, True, 1)])
def test_branch_and_bound_options_agree_with_brute_force(lp_box, cheap_first, rebound):
    # each way of bounding the nodes proves the property just below the exact minimum (HiGHS per region) and no
    # setting proves it just above; at 1e6 off-centre
    scale, centre = 1e6, 2.5e6
    net, layers = random_net(6, scale, centre)
    C = np.array([[1.0, 0.0], [0.0, -1.0]])
    m = brute_min(net, layers, scale, centre, C, np.zeros(2))
    lo, hi = np.full((1, 2), centre - scale), np.full((1, 2), centre + scale)
    spread = 1e-3 * (1 + abs(m))
    for shift, expect in ((m - spread, "proven"), (m + spread, "unrefuted")):
        res = _core.relu_bab_certify(net._core(), lo, hi, [(C, np.array([shift, shift]))], time_limit=20.0,
                                     max_nodes=10**6, lp_box=lp_box, cheap_first=cheap_first, rebound=rebound)
        assert res["status"] == expect
        if expect == "proven":
            assert 0 < res["margin"] <= m - shift + 1e-9 * (1 + abs(m))


def test_branch_and_bound_limits_stop_with_partial_counts():
    net, _ = deep_net(2, 1.0, 0.0)
    lo, hi = -np.ones((1, 3)), np.ones((1, 3))
    y = np.array([net.forward(np.zeros((1, 3)))[0][0, 0]])
    # unsafe y0 <= value at 0 + 1: not refutable (the point 0 is unsafe): the search runs until a limit
    terms = [(np.array([[1.0, 0.0, 0.0]]), y + 1.0)]
    res = _core.relu_bab_certify(net._core(), lo, hi, terms, time_limit=0.0, max_nodes=5)
    assert res["status"] in ("node_limit", "unrefuted") and res["nodes"] <= 5
    res = _core.relu_bab_certify(net._core(), lo, hi, terms, time_limit=1e-9, max_nodes=10**9)
    assert res["status"] in ("time_limit", "unrefuted")
    res = _core.relu_bab_certify(net._core(), lo, hi, terms, time_limit=30.0, max_nodes=10**6, max_splits=0)
    assert res["status"] == "unrefuted" and res["proven"] < res["nodes"]
    with pytest.raises(ValueError, match="hi"):
        _core.relu_bab_certify(net._core(), lo, hi[:, :2], terms, time_limit=0.0, max_nodes=5)
    with pytest.raises(ValueError, match="terms.C"):
        _core.relu_bab_certify(net._core(), lo, hi, [(np.ones((1, 2)), y)], time_limit=0.0, max_nodes=5)
    with pytest.raises(ValueError, match="max_nodes"):
        _core.relu_bab_certify(net._core(), lo, hi, terms, time_limit=0.0, max_nodes=0)


def test_branch_and_bound_releases_the_gil():
    # two searches in threads give the counts of one alone, and the main thread runs Python meanwhile (were the
    # GIL held through a search, of ~0.5 s here, it could not tick between the threads' start and end)
    import threading

    net = relutope.Network.random([4, 24, 24, 3], seed=3)
    lo, hi = -np.ones((1, 4)), np.ones((1, 4))
    ys = net.forward(lo + (hi - lo) * np.random.default_rng(0).uniform(size=(20000, 4)))[0][:, 0]
    terms = [(np.array([[1.0, 0.0, 0.0]]), np.array([ys.min() - 0.2 * abs(ys.min())]))]
    alone = _core.relu_bab_certify(net._core(), lo, hi, terms, time_limit=0.0, max_nodes=10**6)
    assert alone["status"] == "proven" and alone["nodes"] > 1000
    out = [None, None]

    def run(i):
        out[i] = _core.relu_bab_certify(net._core(), lo, hi, terms, time_limit=0.0, max_nodes=10**6)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    ticks = 0
    while any(t.is_alive() for t in threads):
        ticks += 1
        threads[0].join(0.001)
    assert ticks >= 5
    for r in out:
        assert (r["nodes"], r["status"], r["margin"]) == (alone["nodes"], alone["status"], alone["margin"])


def test_branch_and_bound_defaults_are_the_cores_in_one_place():
    # the binding's keyword defaults are BabOptions' (exposed as relu_bab_defaults), and the Python wrapper passes
    # no tuning of its own: the wrapper's search with no options is the core's with every default written out, and
    # an option given to the wrapper reaches the core (max_splits=0: no input split, so fewer box leaves)
    import re

    defaults = _core.relu_bab_defaults
    sig = _core.relu_bab_certify.__doc__.splitlines()[0]
    written = dict(re.findall(r"(\w+): [^=,]+ = (\w+)", sig))
    assert set(written) == set(defaults)
    assert all(written[k] == str(v) for k, v in defaults.items())
    net, _ = deep_net(2, 1.0, 0.0)
    lo, hi = -np.ones(3), np.ones(3)
    y = float(net.forward(np.zeros((1, 3)))[0][0, 0])
    case = vnnlib.Property([vnnlib.Case(lo, hi, [(np.array([[-1.0, 0.0, 0.0]]), np.array([-y - 1e3]))])],
                           n_inputs=3, n_outputs=3).exact_cases()[0]
    keys = ("status", "proven", "nodes", "splits", "box_leaves")
    plain = vc._relu_bab_certify(net, case, lo[None], hi[None], None)[3]
    spelled = _core.relu_bab_certify(net._core(), lo[None], hi[None], [(np.array([[-1.0, 0.0, 0.0]]),
                                     np.array([-y - 1e3]))], time_limit=0.0, max_nodes=2_000_000, **defaults)
    assert plain["status"] == "proven" and all(plain[k] == spelled[k] for k in keys)
    no_split = vc._relu_bab_certify(net, case, lo[None], hi[None], None, max_splits=0)[3]
    assert no_split["status"] == "proven" and no_split["splits"] == 0


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_node_lp_at_any_scale_off_centre_against_highs(scale):
    # The node LP (minmax_lp, solved in the box's own coordinates, not rescaled to unit ones) on random nodes over
    # the box centre +- scale with |centre| ~ 100 scale: its proven bound (multipliers checked rigorously) is never
    # above HiGHS's minimum (solved in unit coordinates u = (x - centre) / scale) and is as tight at every scale.
    rng = np.random.default_rng(int(np.log10(scale)) + 20)
    proven = 0
    for _ in range(40):
        k, q, p = int(rng.integers(2, 6)), int(rng.integers(1, 4)), int(rng.integers(0, 6))
        c = rng.normal(size=k) * 100 * scale
        lo, hi = c - scale, c + scale
        in_x = lambda a, b: np.r_[a / scale, b - a @ c / scale]  # noqa: E731  (a . u + b written in x)
        obj = np.array([in_x(rng.normal(size=k), rng.normal()) for _ in range(q)])
        rows = np.array([in_x(rng.normal(size=k), rng.normal() - 0.5) for _ in range(p)]).reshape(p, k + 1)
        d = rng.normal(size=q) * 0.1 - 1.0
        value, bound, empty = _core.bab_node_lp(obj, np.zeros(q), d, rows, np.zeros(p), lo, hi)
        A = np.vstack([np.hstack([obj[:, :k] * scale, -np.ones((q, 1))]),
                       np.hstack([rows[:, :k] * scale, np.zeros((p, 1))])])
        off = np.r_[obj[:, :k] @ c + obj[:, k] - d, rows[:, :k] @ c + rows[:, k]]
        res = linprog(np.r_[np.zeros(k), 1.0], A_ub=A, b_ub=-off, bounds=[(-1, 1)] * k + [(None, None)],
                      method="highs")
        if res.status == 2:  # infeasible: the node is empty, or nothing is proven
            assert empty or bound == -np.inf
            continue
        assert res.status == 0 and not empty
        ref = res.fun
        assert abs(value - ref) <= 1e-6 * (1 + abs(ref))
        assert bound <= ref + 1e-9 * (1 + abs(ref))  # sound
        if ref > 1e-3:
            assert ref - bound <= 1e-9 * (1 + abs(ref))  # and tight
            proven += 1
    assert proven >= 10  # not vacuous
