"""Exact verification: output bounds, properties (ACAS Xu verdicts), Lipschitz constants."""
import itertools
from pathlib import Path

import numpy as np
import pytest

import relutope
from relutope import vnnlib

DATA = Path(__file__).parent / "data" / "acasxu"
PUBLISHED = {  # tests/data/acasxu/SOURCES.md: VNN-COMP 2021/2022 verdicts
    "1_1": "hhhh", "1_2": "hvhh", "2_1": "hvhh", "3_3": "hhhh", "5_3": "hvhh",
}


def arrangement_vertices(W, b, lo, hi):
    """Every vertex of the arrangement of the lines W x + b = 0 clipped to the box [lo, hi]^2 (independent)."""
    pts = [np.array(c, float) for c in itertools.product(*zip(lo, hi))]
    for (w, c) in zip(W, b):  # line-box edge crossings
        for axis in range(2):
            for val in (lo[axis], hi[axis]):
                other = 1 - axis
                if abs(w[other]) > 1e-14:
                    p = np.empty(2)
                    p[axis] = val
                    p[other] = -(c + w[axis] * val) / w[other]
                    if lo[other] - 1e-12 <= p[other] <= hi[other] + 1e-12:
                        pts.append(p)
    for i, j in itertools.combinations(range(len(W)), 2):  # pairwise crossings inside the box
        M = np.array([W[i], W[j]])
        if abs(np.linalg.det(M)) > 1e-12:
            p = np.linalg.solve(M, -np.array([b[i], b[j]]))
            if np.all(p >= np.array(lo) - 1e-12) and np.all(p <= np.array(hi) + 1e-12):
                pts.append(p)
    return np.array(pts)


@pytest.mark.parametrize("seed", range(8))
def test_output_bounds_equal_vertex_extremes_one_hidden_layer(seed):
    rng = np.random.default_rng(seed)
    n, m = 7, 3
    W1, b1 = rng.normal(size=(n, 2)), rng.normal(0, 0.5, n)
    W2, b2 = rng.normal(size=(m, n)), rng.normal(size=m)
    net = relutope.Network.from_weights([(W1, b1), (W2, b2)])
    lo, hi = [-1.0, -2.0], [1.5, 1.0]
    # A piecewise-linear function attains its extremes over a polytope at vertices of its pieces.
    y = net(arrangement_vertices(W1, b1, lo, hi))
    for prune in (True, False):
        bounds = relutope.output_bounds(net, relutope.Box(lo, hi), prune=prune)
        assert bounds.complete
        np.testing.assert_allclose(bounds.upper, y.max(axis=0), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(bounds.lower, y.min(axis=0), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(np.diag(net(bounds.argmax)), bounds.upper, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(np.diag(net(bounds.argmin)), bounds.lower, rtol=1e-9, atol=1e-12)


def test_output_bounds_linear_functions_and_pruning_agree():
    net = relutope.Network.random([3, 12, 12, 4], seed=5)
    box = relutope.Box(-np.ones(3), np.ones(3))
    C = np.array([[1.0, -1.0, 0.0, 0.0], [0.5, 0.5, 2.0, -1.0]])
    d = np.array([0.3, -1.0])
    a = relutope.output_bounds(net, box, C, d, prune=True)
    b = relutope.output_bounds(net, box, C, d, prune=False)
    np.testing.assert_allclose(a.upper, b.upper, rtol=1e-10)
    np.testing.assert_allclose(a.lower, b.lower, rtol=1e-10)
    assert a.regions < b.regions and a.pruned > 0
    # No sample beats the exact bounds, and dense sampling gets close to them.
    y = net(box.sample(100_000, rng=0)) @ C.T + d
    assert np.all(y.max(axis=0) <= a.upper + 1e-12) and np.all(y.min(axis=0) >= a.lower - 1e-12)
    assert np.all(a.upper - y.max(axis=0) < 0.05 * (a.upper - a.lower))


def test_output_bounds_bad_input():
    net = relutope.Network.random([2, 4, 2], seed=0)
    box = relutope.Box([-1, -1], [1, 1])
    with pytest.raises(ValueError, match="C must have 2 columns"):
        relutope.output_bounds(net, box, C=np.ones((1, 3)))
    with pytest.raises(ValueError, match="d must have shape"):
        relutope.output_bounds(net, box, C=np.ones((1, 2)), d=np.ones(2))
    with pytest.raises(ValueError, match="C contains NaN"):
        relutope.output_bounds(net, box, C=np.array([[np.nan, 1.0]]))


def region_extremes_highs(part, c):
    """max and min of c . net over every region of a partition by scipy's HiGHS (independent of the engine)."""
    from scipy.optimize import linprog

    origin, basis = part.domain.parametrization()
    A_Q, b_Q = part.affine_maps()
    hi, lo = -np.inf, np.inf
    for i in range(len(part)):
        A, b = part[i].halfspaces()
        g, g0 = c @ A_Q[i] @ basis, c @ (A_Q[i] @ origin + b_Q[i])
        top = linprog(-g, A_ub=A, b_ub=b, bounds=[(None, None)] * A.shape[1], method="highs")
        bottom = linprog(g, A_ub=A, b_ub=b, bounds=[(None, None)] * A.shape[1], method="highs")
        assert top.status in (0, 3) and bottom.status in (0, 3)  # optimal or unbounded
        hi = max(hi, np.inf if top.status == 3 else g0 - top.fun)
        lo = min(lo, -np.inf if bottom.status == 3 else g0 + bottom.fun)
    return lo, hi


@pytest.mark.parametrize("domain", ["whole", "slice"])
def test_output_bounds_on_unbounded_domains_return_infinite_bounds_with_rays(domain):
    # Issue 16 item 5: used to raise NumericalError with an empty message.
    net = relutope.Network.random([3, 6, 5, 2], seed=3)
    if domain == "whole":
        dom = relutope.WholeSpace(3)
    else:
        dom = relutope.Slice([0.2, -0.1, 0.3], [[1.0, 0.0], [0.5, 1.0], [0.0, -2.0]], relutope.WholeSpace(2))
    C = np.vstack([np.eye(2), [[1.0, -1.0]]])
    bounds = relutope.output_bounds(net, dom, C)
    assert bounds.complete
    part = relutope.enumerate_regions(net, dom)
    for i in range(3):
        lo, hi = region_extremes_highs(part, C[i] @ np.eye(2))
        for value, ref in ((bounds.lower[i], lo), (bounds.upper[i], hi)):
            if np.isinf(ref):
                assert value == ref
            else:
                assert value == pytest.approx(ref, rel=1e-9, abs=1e-12)
    assert np.isinf(bounds.upper).any() or np.isinf(bounds.lower).any()  # the case is not vacuous
    t = np.array([0.0, 1.0, 10.0, 1000.0])
    for i in range(3):
        for value, x0, ray, sign in ((bounds.upper[i], bounds.argmax[i], bounds.ray_max[i], 1.0),
                                     (bounds.lower[i], bounds.argmin[i], bounds.ray_min[i], -1.0)):
            if np.isfinite(value):
                np.testing.assert_array_equal(ray, 0.0)
                continue
            assert dom.contains(x0 + t[-1] * ray)[0]
            pts = x0 + t[:, None] * ray
            pats = net.activation_pattern(pts)
            assert (pats == pats[0]).all()  # the ray stays in one region...
            y = sign * (net(pts) @ C[i])
            slope = (y[1:] - y[0]) / t[1:]
            assert slope[0] > 0  # ... along which the row grows linearly, without bound
            np.testing.assert_allclose(slope, slope[0], rtol=1e-9)


def test_output_bounds_of_abs_on_the_line():
    net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    b = relutope.output_bounds(net, relutope.WholeSpace(1))  # |x| over R: min 0 at 0, max inf
    assert b.lower[0] == pytest.approx(0.0, abs=1e-12) and b.upper[0] == np.inf
    assert abs(b.argmin[0, 0]) < 1e-9 and b.ray_max[0, 0] != 0 and np.all(b.ray_min == 0)
    y = net(b.argmax[0] + np.array([[0.0], [5.0]]) * b.ray_max[0])
    assert y[1, 0] - y[0, 0] == pytest.approx(5.0 * abs(b.ray_max[0, 0]))


def test_unbounded_certificate_check_rejects_a_wrong_ray():
    from relutope.verify import _check_unbounded_ray

    net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    _check_unbounded_ray(net, np.ones(1), np.array([1.0]), np.array([1.0]), "row 0")  # right: |x| grows
    with pytest.raises(relutope.NumericalError, match="row 0 was reported unbounded.*leaves the region"):
        _check_unbounded_ray(net, np.ones(1), np.array([1.0]), np.array([-1.0]), "row 0")
    with pytest.raises(relutope.NumericalError, match="does not increase it"):
        _check_unbounded_ray(net, -np.ones(1), np.array([1.0]), np.array([1.0]), "row 0")


def onnxruntime_output(name, x):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(DATA / "onnx" / f"ACASXU_run2a_{name}_batch_2000.onnx"),
                                providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x.reshape(1, 1, 1, 5).astype(np.float32)})[0].ravel().astype(np.float64)


# 3_3 property 2 (holds) takes tens of seconds on the shared machine: it is checked by bench/bench_verify.py,
# which runs every ACAS Xu instance of the data against its published verdict (issue 15: long instances belong in
# the bench).
@pytest.mark.parametrize("name, prop", [(n, p) for n in sorted(PUBLISHED) for p in (1, 2, 3, 4)
                                        if (n, p) != ("3_3", 2)])
def test_acasxu_verdicts_equal_published(name, prop):
    net = relutope.load_nnet(DATA / "nnet" / f"ACASXU_run2a_{name}_batch_2000.nnet")
    spec = vnnlib.load(DATA / "vnnlib" / f"prop_{prop}.vnnlib")
    res = relutope.verify(net, spec)
    expected = {"h": "holds", "v": "violated"}[PUBLISHED[name][prop - 1]]
    assert res.status == expected
    assert res.vnncomp == {"holds": "unsat", "violated": "sat"}[expected]
    if expected == "violated":
        x = res.counterexample
        case = spec.cases[res.case]
        assert np.all(x >= case.box_lo - 1e-12) and np.all(x <= case.box_hi + 1e-12)
        # Re-checked by onnxruntime on the ONNX model (float32: small slack).
        assert spec.is_unsafe(x[None, :], onnxruntime_output(name, x)[None, :], atol=1e-4)[0]
        assert spec.is_unsafe(x[None, :], net(x[None, :]), atol=1e-9)[0]


def test_verify_pruning_enumerates_fewer_regions():
    net = relutope.load_nnet(DATA / "nnet" / "ACASXU_run2a_1_1_batch_2000.nnet")
    spec = vnnlib.load(DATA / "vnnlib" / "prop_4.vnnlib")
    pruned = relutope.verify(net, spec, prune=True)
    full = relutope.verify(net, spec, prune=False)
    assert pruned.status == full.status == "holds"
    total = len(relutope.enumerate_regions(net, spec.cases[0].domain()))
    assert full.regions == total
    assert pruned.regions < total // 5


def test_verify_finds_planted_counterexample_and_timeout():
    # y = |x|: the unsafe set y <= 0.01 is a thin interval around 0; y <= -1 is empty.
    net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    text = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (>= X_0 -1))\n(assert (<= X_0 3))\n"
    res = relutope.verify(net, vnnlib.loads(text + "(assert (<= Y_0 0.01))"))
    assert res.status == "violated" and abs(res.output[0]) <= 0.01
    assert relutope.verify(net, vnnlib.loads(text + "(assert (<= Y_0 -1))")).status == "holds"
    # A touching unsafe set (only x = 0 has y <= 0) is found too: the closed set is not empty.
    assert relutope.verify(net, vnnlib.loads(text + "(assert (<= Y_0 0))")).status == "violated"
    with pytest.raises(ValueError, match="timeout"):
        relutope.verify(net, vnnlib.loads(text + "(assert (<= Y_0 0))"), timeout=-1)
    with pytest.raises(TypeError, match="spec"):
        relutope.verify(net, 42)


@pytest.mark.parametrize("p, q", [(2, 2), (1, 1), (1, 2), (np.inf, np.inf), (2, np.inf), (1, np.inf)])
def test_lipschitz_is_exact(p, q):
    net = relutope.Network.random([3, 10, 10, 2], seed=2)
    box = relutope.Box(-np.ones(3), np.ones(3))
    part = relutope.enumerate_regions(net, box)
    res = relutope.lipschitz(part, p, q)
    rng = np.random.default_rng(0)
    # Never exceeded by finite differences on random pairs.
    x1, x2 = box.sample(20_000, rng), box.sample(20_000, rng)
    ratio = np.linalg.norm(net(x1) - net(x2), ord=q, axis=1) / np.linalg.norm(x1 - x2, ord=p, axis=1)
    assert ratio.max() <= res.value * (1 + 1e-9)
    # Attained by a pair inside the maximising region.
    w = part.witnesses[res.region]
    step = 0.5 * part.radii[res.region] / max(np.linalg.norm(res.direction), 1e-300)
    a, b = w, w + step * res.direction
    assert np.array_equal(part.locate(np.array([a, b])), [res.region, res.region])
    attained = np.linalg.norm(net(b[None])[0] - net(a[None])[0], ord=q) / np.linalg.norm(b - a, ord=p)
    assert attained == pytest.approx(res.value, rel=1e-9)


def test_lipschitz_bad_input():
    part = relutope.enumerate_regions(relutope.Network.random([2, 4, 1], seed=0), relutope.Box([-1, -1], [1, 1]))
    with pytest.raises(ValueError, match="computable exactly"):
        relutope.lipschitz(part, 3, 2)
    with pytest.raises(TypeError, match="Partition"):
        relutope.lipschitz("nope")
    short = relutope.enumerate_regions(relutope.Network.random([2, 8, 1], seed=0), relutope.Box([-1, -1], [1, 1]),
                                       max_regions=2)
    with pytest.raises(ValueError, match="incomplete"):
        relutope.lipschitz(short)


@pytest.mark.parametrize("norm", [1, 2, np.inf])
def test_min_adversarial_is_minimal(norm):
    pytest.importorskip("cvxpy")
    net = relutope.Network.random([2, 8, 8, 3], seed=4)
    x0 = np.array([0.1, -0.2])
    label = int(np.argmax(net(x0[None])[0]))
    res = relutope.min_adversarial(net, x0, label, norm, radius=0.05)
    assert res.status == "found" and res.proven
    # The perturbation changes the class, and its norm is the reported distance.
    assert int(np.argmax(net(res.x_adv[None])[0])) != label
    assert np.linalg.norm(res.x_adv - x0, ord=norm) == pytest.approx(res.distance, rel=1e-5, abs=1e-7)
    # No random perturbation that changes the class is smaller.
    rng = np.random.default_rng(1)
    for scale in (0.5, 1.0, 2.0):
        d = rng.normal(size=(50_000, 2))
        d *= (rng.uniform(0, scale * res.distance, 50_000) / np.linalg.norm(d, ord=norm, axis=1))[:, None]
        changed = np.argmax(net(x0 + d), axis=1) != label
        if changed.any():
            assert np.linalg.norm(d[changed], ord=norm, axis=1).min() >= res.distance * (1 - 1e-6)


def test_min_adversarial_bad_input():
    net = relutope.Network.random([2, 4, 3], seed=0)
    with pytest.raises(ValueError, match="norm"):
        relutope.min_adversarial(net, [0.0, 0.0], 0, norm=3)
    with pytest.raises(ValueError, match="label"):
        relutope.min_adversarial(net, [0.0, 0.0], 5)
    with pytest.raises(ValueError, match="x0"):
        relutope.min_adversarial(net, [0.0, 0.0, 0.0], 0)


# ---------------------------------------------------------------- linear relaxation, splitting, limits (issue 15)

def _nets_for_relaxation():
    rng = np.random.default_rng(11)
    yield "relu", relutope.Network.random([3, 12, 10, 3], seed=1)
    yield "leaky", relutope.Network.random([3, 10, 8, 3], seed=2, activation="leaky_relu")
    yield "abs", relutope.Network.random([3, 8, 8, 3], seed=3, activation="abs")
    # A max-of-3-pieces layer (as max-pooling lowers) between ReLU layers.
    first = relutope.Network.random([3, 9], seed=4).layers[0]
    maxout = relutope.network.Layer(rng.normal(size=(18, 9)), rng.normal(size=18), np.full(6, 3))
    last = relutope.network.Layer.affine(rng.normal(size=(3, 6)), rng.normal(size=3), "identity")
    yield "maxout", relutope.Network([first, maxout, last])


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("forward", [False, True])
def test_relaxation_bounds_contain_exact_bounds(scale, forward):
    from relutope import _core

    rng = np.random.default_rng(int(scale * 7) + forward)
    for kind, net in _nets_for_relaxation():
        # An off-centre box at the given scale: the relaxation's input set.
        centre = rng.normal(size=3) * 3 * scale
        lo, hi = centre - scale * rng.uniform(0.3, 1.0, 3), centre + scale * rng.uniform(0.3, 1.0, 3)
        box = relutope.Box(lo, hi)
        C = np.vstack([np.eye(3), rng.normal(size=(3, 3))])
        d = rng.normal(size=6)
        G, lower = _core.box_linear_bounds(net._core(), lo, hi, np.vstack([C, -C]), np.concatenate([d, -d]),
                                           forward)
        exact = relutope.output_bounds(net, box, C, d, prune=False)  # per-region LPs, no relaxation involved
        assert exact.complete
        width = exact.upper - exact.lower
        assert np.all(lower[:6] <= exact.lower + 1e-9 * (np.abs(exact.lower) + width)), kind
        assert np.all(-lower[6:] >= exact.upper - 1e-9 * (np.abs(exact.upper) + width)), kind
        # The linear bounds themselves hold pointwise (samples and the exact extremes' arguments).
        x = np.vstack([box.sample(2000, rng), exact.argmin, exact.argmax])
        y = net(x)
        lin = x @ G[:, :3].T + G[:, 3]
        val = np.hstack([y @ C.T + d, -(y @ C.T + d)])
        assert np.all(lin <= val + 1e-9 * (np.abs(val) + np.abs(lin).max())), kind


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_pruned_output_bounds_equal_unpruned(activation):
    net = relutope.Network.random([3, 10, 10, 10, 2], seed=7, activation=activation)
    box = relutope.Box([0.5, -2.0, 1.0], [1.5, -1.2, 3.0])
    C = np.array([[1.0, 0.0], [0.3, -2.0]])
    a = relutope.output_bounds(net, box, C, prune=True)
    b = relutope.output_bounds(net, box, C, prune=False)
    np.testing.assert_allclose(a.upper, b.upper, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.lower, b.lower, rtol=1e-10, atol=1e-12)
    assert a.regions < b.regions and a.pruned > 0


def _threshold_property(n_in, lo, hi, row, threshold):
    """VNN-LIB text: x in [lo, hi], unsafe when row . y >= threshold (one output term)."""
    n_out = len(row)
    lines = [f"(declare-const X_{i} Real)" for i in range(n_in)] + [f"(declare-const Y_{j} Real)" for j in range(n_out)]
    for i in range(n_in):
        lines += [f"(assert (>= X_{i} {float(lo[i])!r}))", f"(assert (<= X_{i} {float(hi[i])!r}))"]
    lhs = " ".join(f"(* {float(c)!r} Y_{j})" for j, c in enumerate(row))
    lines.append(f"(assert (>= (+ {lhs}) {float(threshold)!r}))")
    return vnnlib.loads("\n".join(lines))


@pytest.mark.parametrize("seed", range(4))
def test_verify_paths_agree_with_exact_maximum(seed):
    # The verdict of every path (search, input splitting, pruned enumeration, plain enumeration) against the exact
    # maximum of row . y from the unpruned output bounds: holds iff threshold > max.
    rng = np.random.default_rng(seed)
    net = relutope.Network.random([3, 10, 10, 3], seed=seed)
    lo = rng.uniform(-2, 0, 3)
    hi = lo + rng.uniform(0.5, 2, 3)
    row = rng.normal(size=3)
    top = relutope.output_bounds(net, relutope.Box(lo, hi), row[None, :], prune=False).upper[0]
    for threshold, expected in ((top + 1e-3 * (1 + abs(top)), "holds"), (top - 1e-3 * (1 + abs(top)), "violated")):
        spec = _threshold_property(3, lo, hi, row, threshold)
        for kw in (dict(), dict(search=False), dict(search=False, split_max_dims=0), dict(prune=False)):
            res = relutope.verify(net, spec, **kw)
            assert res.status == expected, kw
            if expected == "violated":
                assert row @ net(res.counterexample[None])[0] >= threshold - 1e-9 * (1 + abs(threshold))


def test_counterexample_search_finds_violations_first():
    net = relutope.load_nnet(DATA / "nnet" / "ACASXU_run2a_2_1_batch_2000.nnet")
    res = relutope.verify(net, DATA / "vnnlib" / "prop_2.vnnlib")
    assert res.status == "violated" and res.cases[res.case]["found_by"] == "search"
    assert res.regions == 0 and res.cases[res.case]["boxes"] == 0  # nothing split nor enumerated


def test_timeout_on_a_784_input_network_is_honoured():
    # Issue 15: a 784-input net once overshot its timeout by a minute (the bounding box's 1568 LPs, one LP of
    # seconds). Here a property that no method settles in 1 s must end `unknown` close to the limit.
    import time

    net = relutope.Network.random([784, 32, 32, 10], seed=0)
    rng = np.random.default_rng(0)
    x0, eps = rng.uniform(0.2, 0.8, 784), 0.1
    y = net(x0 + rng.uniform(-eps, eps, (500, 784)))
    spec = _threshold_property(784, x0 - eps, x0 + eps, np.eye(10)[0], y[:, 0].max() + 0.1 * np.ptp(y[:, 0]))
    t = time.perf_counter()
    res = relutope.verify(net, spec, timeout=1.0, search=False)  # (the search finds a counterexample at once)
    elapsed = time.perf_counter() - t
    print(f"784-input net, timeout 1 s: {res.status} after {elapsed:.2f} s (overshoot {elapsed - 1.0:+.2f} s)")
    assert res.status == "unknown" and 0.0 <= res.proven < 1.0
    assert elapsed < 30.0  # generous: the machine is shared; the overshoot printed above is the measurement


def test_unknown_reports_the_proven_fraction():
    # A timeout during the input splitting: what was closed is a fraction of the volume, and an exact enumeration
    # of the same property (no limit) agrees that it holds.
    net = relutope.load_nnet(DATA / "nnet" / "ACASXU_run2a_1_1_batch_2000.nnet")
    spec = vnnlib.load(DATA / "vnnlib" / "prop_3.vnnlib")
    part = relutope.verify(net, spec, search=False, split_boxes=40, split_max_dims=8, timeout=60)
    assert part.status == "holds" and part.proven == 1.0
    assert part.cases[0]["open_boxes"] > 0  # the enumeration finished what the splitting left
    from relutope import _core
    case = spec.cases[0]
    terms = [(np.atleast_2d(C), np.atleast_1d(d)) for C, d in case.terms]
    out = _core.split_verify(net._core(), case.box_lo, case.box_hi, terms, 40, 40, -1.0)
    assert out["status"] == 2 and 0.0 < out["closed_fraction"] < 1.0
    # The closed fraction and the open boxes' volume add up to the case's volume.
    free = case.box_hi > case.box_lo
    vol = lambda lo, hi: np.prod((hi - lo)[..., free], axis=-1)  # noqa: E731
    open_vol = vol(out["open_lo"], out["open_hi"]).sum() / vol(case.box_lo, case.box_hi)
    assert out["closed_fraction"] + open_vol == pytest.approx(1.0, rel=1e-9)


def test_vnncomp_runner_writes_results(tmp_path):
    import csv
    import shutil

    from relutope.cli import main

    for sub, name in (("onnx", "ACASXU_run2a_2_1_batch_2000.onnx"), ("vnnlib", "prop_2.vnnlib"),
                      ("vnnlib", "prop_4.vnnlib")):
        (tmp_path / sub).mkdir(exist_ok=True)
        shutil.copy(DATA / sub / name, tmp_path / sub / name)
    rows = ["onnx/ACASXU_run2a_2_1_batch_2000.onnx,vnnlib/prop_2.vnnlib,60",
            "onnx/ACASXU_run2a_2_1_batch_2000.onnx,vnnlib/prop_4.vnnlib,60",
            "onnx/missing.onnx,vnnlib/prop_4.vnnlib,60"]
    (tmp_path / "instances.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "results.csv"
    assert main(["vnncomp", str(tmp_path / "instances.csv"), "--out", str(out)]) == 0
    with out.open() as fh:
        got = list(csv.DictReader(fh))
    # Published: 2_1 property 2 violated (sat), property 4 holds (unsat); a missing file is an error.
    assert [r["result"] for r in got] == ["sat", "unsat", "error"]
    assert all(float(r["prepare_seconds"]) >= 0 and float(r["verify_seconds"]) >= 0 for r in got)
    assert "missing.onnx" in got[2]["message"]
    (tmp_path / "bad.csv").write_text("a,b\n")
    assert main(["vnncomp", str(tmp_path / "bad.csv")]) == 2


@pytest.mark.parametrize("c, s", [(0.0, 1.0), (2e6, 1e6), (-3e-6, 1e-6)])
def test_pruning_by_the_parents_bounds_is_sound(c, s):
    # Most cells are pruned by their parent's relaxation bounds before any LP box (PropertyVisitor::prune,
    # CellRelaxation::from_parent). Against the exact maximum of row . y (the unpruned output bounds: per-region
    # LPs only): a threshold just above it holds, just below it is violated, and the pruned output bounds equal
    # the unpruned ones; off-centre boxes at scales 1e-6..1e6 (weights of size 1/s).
    rng = np.random.default_rng(7)
    used = 0
    for _ in range(3):
        sizes = [3, 10, 10, 10, 2]
        weights = [(rng.normal(size=(m, n)), rng.normal(size=m)) for n, m in zip(sizes[:-1], sizes[1:])]
        centre = c + s * rng.uniform(-1, 1, 3)
        W0, b0 = weights[0]
        weights[0] = (W0 / s, b0 - W0 @ centre / s)  # the net of u = (x - centre) / s
        net = relutope.Network.from_weights(weights)
        lo = centre + s * rng.uniform(-1.0, -0.3, 3)
        hi = centre + s * rng.uniform(0.3, 1.0, 3)
        row = rng.normal(size=2)
        box = relutope.Box(lo, hi)
        exact = relutope.output_bounds(net, box, row[None, :], prune=False)
        pruned = relutope.output_bounds(net, box, row[None, :], prune=True)
        top = exact.upper[0]
        assert pruned.upper[0] == pytest.approx(top, rel=1e-9, abs=1e-12)
        assert pruned.lower[0] == pytest.approx(exact.lower[0], rel=1e-9, abs=1e-12)
        for threshold, expected in ((top + 1e-4 * (1 + abs(top)), "holds"), (top - 1e-4 * (1 + abs(top)), "violated")):
            res = relutope.verify(net, _threshold_property(3, lo, hi, row, threshold), search=False,
                                  split_max_dims=0)
            assert res.status == expected
            used += res.cases[0]["parent_pruned"]
            if expected == "violated":
                assert row @ net(res.counterexample[None])[0] >= threshold - 1e-9 * (1 + abs(threshold))
    assert used > 0  # the parents' bounds pruned cells
