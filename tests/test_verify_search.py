"""The counterexample search (``_core.falsify``) and the input splitting's branching (``_core.split_verify``)."""
import numpy as np
import pytest

import relutope
from relutope import _core
from relutope.network import Layer


def _affine_net(rng, n_in, n_out, scale):
    """Two identity layers: y = A2 (A1 x + b1) + b2, weights of magnitude about 1/scale (inputs of size scale)."""
    A1, b1 = rng.normal(size=(4, n_in)) / scale, rng.normal(size=4)
    A2, b2 = rng.normal(size=(n_out, 4)), rng.normal(size=n_out)
    net = relutope.Network([Layer.affine(A1, b1, "identity"), Layer.affine(A2, b2, "identity")])
    return net, A2 @ A1, A2 @ b1 + b2


def _maxout_net(rng, n_in):
    """A ReLU layer, then a max-pooling layer of three 3-piece units and a linear output (K = 1, 2 and 3)."""
    relu = Layer.affine(rng.normal(size=(6, n_in)), rng.normal(size=6), "relu")
    pool = Layer(rng.normal(size=(9, 6)), rng.normal(size=9), np.array([3, 3, 3]))
    out = Layer.affine(rng.normal(size=(2, 3)), rng.normal(size=2), "identity")
    return relutope.Network([relu, pool, out])


def _no_starts(net):
    return np.zeros((0, net.in_dim))


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_descent_reaches_the_corner_minimum_of_an_affine_net(scale):
    # On an affine net the violation c . y - d is minimised at the box corner chosen by the signs of c A, in closed
    # form; sign-gradient steps (0.25 down to 1e-4 of the widths, summing to more than one width) reach it from any
    # start, so only a wrong gradient (sign or composition through the layers) misses it.
    rng = np.random.default_rng(0)
    net, A, b = _affine_net(rng, 3, 2, scale)
    lo = scale * (3.0 + rng.uniform(-1, 0, 3))  # off-centre
    hi = lo + scale * rng.uniform(0.5, 2.0, 3)
    c = rng.normal(size=2)
    g = c @ A
    corner = np.where(g > 0, lo, hi)
    best = c @ (A @ corner + b)
    d = best - 1e-3 * (1 + abs(best))  # just below the minimum: holds, the search must end at the corner
    out = _core.falsify(net._core(), lo, hi, [(c[None, :], np.array([d]))], 16, 4, 40, 1, _no_starts(net), -1.0)
    assert not out["found"]
    assert out["violation"] == pytest.approx(best - d, rel=1e-6, abs=1e-9 * (1 + abs(best)))
    np.testing.assert_allclose(out["x"], corner, rtol=1e-9, atol=1e-9 * scale)
    d = best + 1e-3 * (1 + abs(best))  # just above: violated at (and only near) the corner
    out = _core.falsify(net._core(), lo, hi, [(c[None, :], np.array([d]))], 16, 4, 40, 1, _no_starts(net), -1.0)
    assert out["found"] and c @ net(out["x"][None])[0] <= d
    assert np.all(out["x"] >= lo) and np.all(out["x"] <= hi)


@pytest.mark.parametrize("seed", range(4))
def test_search_points_are_counterexamples_and_none_past_the_exact_maximum(seed):
    # Against the exact maximum of row . y (the unpruned enumeration): with the unsafe set {row . y >= t}, a
    # threshold above the maximum is never "found"; one below the best sample is found at once; every point found
    # lies in the box and satisfies the term by a forward pass.
    rng = np.random.default_rng(seed)
    net = relutope.Network.random([3, 12, 12, 2], seed=seed) if seed % 2 == 0 else _maxout_net(rng, 3)
    lo = rng.uniform(-2, 0, 3)
    hi = lo + rng.uniform(0.5, 2, 3)
    row = rng.normal(size=2)
    top = relutope.output_bounds(net, relutope.Box(lo, hi), row[None, :], prune=False).upper[0]
    above = top + 1e-6 * (1 + abs(top))
    out = _core.falsify(net._core(), lo, hi, [(-row[None, :], np.array([-above]))], 512, 8, 40, seed,
                        _no_starts(net), -1.0)
    assert not out["found"] and out["violation"] > 0
    assert -row @ net(out["x"][None])[0] + above == pytest.approx(out["violation"], rel=1e-9, abs=1e-12)
    sampled = (net(relutope.Box(lo, hi).sample(64, np.random.default_rng(seed))) @ row).max()
    below = sampled - 1e-3 * (1 + abs(sampled))
    out = _core.falsify(net._core(), lo, hi, [(-row[None, :], np.array([-below]))], 512, 8, 40, seed,
                        _no_starts(net), -1.0)
    assert out["found"] and row @ net(out["x"][None])[0] >= below
    assert np.all(out["x"] >= lo) and np.all(out["x"] <= hi)


@pytest.mark.parametrize("kind", ["relu", "leaky_relu", "abs", "maxout"])
@pytest.mark.parametrize("widths", [(3, 1, 15, 2), (5, 16, 17, 33, 3), (600, 50, 2), (4, 530, 2)])
def test_search_passes_agree_with_numpy_at_every_kernel_width(kind, widths):
    # The core's point passes (piece_values: 32 and 16 live pieces at a time, the inputs at 0 skipped, a list on the
    # heap beyond 512 inputs; the gradient 32 and 4 entries at a time, beyond 512 units on the heap): the violation
    # reported at the point returned is numpy's forward pass's there, at layer widths around those blocks.
    rng = np.random.default_rng(sum(widths) + len(kind))
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        if i == len(widths) - 2:
            layers.append(Layer.affine(rng.normal(size=(b, a)), rng.normal(size=b), "identity"))
        elif kind == "maxout":
            layers.append(Layer(rng.normal(size=(3 * b, a)), rng.normal(size=3 * b), np.full(b, 3)))
        else:
            layers.append(Layer.affine(rng.normal(size=(b, a)), rng.normal(size=b), kind))
    net = relutope.Network(layers)
    k, m = widths[0], widths[-1]
    lo = rng.uniform(-2, 0, k)
    hi = lo + rng.uniform(0.5, 2, k)
    C, d = rng.normal(size=(2, m)), rng.normal(size=2)
    top = -np.inf
    for steps in (0, 10):
        out = _core.falsify(net._core(), lo, hi, [(C, d - 1e6)], 64, 2, steps, 1, _no_starts(net), -1.0)
        assert not out["found"]
        y = net(out["x"][None])[0]
        want = np.max(C @ y - (d - 1e6))
        assert out["violation"] == pytest.approx(want, rel=1e-12)
        top = max(top, out["violation"])
    assert np.isfinite(top)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_descent_reaches_the_corner_minimum_of_a_wide_affine_net(scale):
    # As above on 600 inputs and 37 units: the gradient's blocks of 32 and 4 entries and their remainders.
    rng = np.random.default_rng(5)
    A1, b1 = rng.normal(size=(37, 600)) / scale, rng.normal(size=37)
    A2, b2 = rng.normal(size=(2, 37)), rng.normal(size=2)
    net = relutope.Network([Layer.affine(A1, b1, "identity"), Layer.affine(A2, b2, "identity")])
    lo = scale * (3.0 + rng.uniform(-1, 0, 600))
    hi = lo + scale * rng.uniform(0.5, 2.0, 600)
    c = rng.normal(size=2)
    g = c @ A2 @ A1
    corner = np.where(g > 0, lo, hi)
    best = c @ (A2 @ (A1 @ corner + b1) + b2)
    d = best - 1e-3 * (1 + abs(best))
    out = _core.falsify(net._core(), lo, hi, [(c[None, :], np.array([d]))], 16, 4, 40, 1, _no_starts(net), -1.0)
    assert not out["found"]
    np.testing.assert_allclose(out["x"], corner, rtol=1e-9, atol=1e-9 * scale)


def test_start_points_are_used_and_clipped():
    net = relutope.Network.random([2, 8, 1], seed=3)
    lo, hi = np.array([-1.0, 0.5]), np.array([1.0, 2.0])
    x = np.array([0.3, 1.2])
    y = net(x[None])[0, 0]
    term = [(np.array([[1.0]]), np.array([y]))]  # unsafe: y <= net(x): x itself is a counterexample
    out = _core.falsify(net._core(), lo, hi, term, 0, 0, 0, 0, np.array([[5.0, 5.0], x]), -1.0)
    assert out["found"] and out["passes"] <= 3
    assert net(out["x"][None])[0, 0] <= y
    # y = x0 + x1 >= 2.9 only near the corner (1, 2) of the box: the start (5, 5), clipped, is a counterexample
    # and the box's centre is not.
    plane = relutope.Network([Layer.affine(np.array([[1.0, 1.0]]), np.zeros(1), "identity")])
    out = _core.falsify(plane._core(), lo, hi, [(np.array([[-1.0]]), np.array([-2.9]))], 0, 0, 0, 0,
                        np.array([[5.0, 5.0]]), -1.0)
    assert out["found"] and out["passes"] == 2
    np.testing.assert_array_equal(out["x"], np.array([1.0, 2.0]))


def test_falsify_rejects_bad_input():
    net = relutope.Network.random([2, 4, 1], seed=0)
    term = [(np.array([[1.0]]), np.array([0.0]))]
    lo, hi = np.zeros(2), np.ones(2)
    with pytest.raises(ValueError, match="lo, hi"):
        _core.falsify(net._core(), hi, lo - 1, term, 8, 1, 1, 0, np.zeros((0, 2)), -1.0)
    with pytest.raises(ValueError, match="x0"):
        _core.falsify(net._core(), lo, hi, term, 8, 1, 1, 0, np.zeros((1, 3)), -1.0)
    with pytest.raises(ValueError, match="samples"):
        _core.falsify(net._core(), lo, hi, term, -1, 1, 1, 0, np.zeros((0, 2)), -1.0)
    with pytest.raises(ValueError, match="branch_candidates"):
        _core.split_verify(net._core(), lo, hi, term, 8, 16, -1.0, 0, 0)
    with pytest.raises(ValueError, match="attack_patience"):
        _core.split_verify(net._core(), lo, hi, term, 8, 16, -1.0, 1, 20, attack_patience=-1)
    for starts in (0, 3):
        with pytest.raises(ValueError, match="attack_starts"):
            _core.split_verify(net._core(), lo, hi, term, 8, 16, -1.0, 1, 20, attack_starts=starts)
    for share in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="attack_share"):
            _core.split_verify(net._core(), lo, hi, term, 8, 16, -1.0, 1, 20, attack_share=share)
    for score in (-1, 3):
        with pytest.raises(ValueError, match="branch_score"):
            _core.split_verify(net._core(), lo, hi, term, 8, 16, -1.0, 1, 20, branch_score=score)
    for gain in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="attack_min_gain"):
            _core.split_verify(net._core(), lo, hi, term, 8, 16, -1.0, 1, 20, attack_min_gain=gain)
    for gap in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="attack_gap"):
            _core.split_verify(net._core(), lo, hi, term, 8, 16, -1.0, 1, 20, attack_gap=gap)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("candidates, attack, patience, starts, gain, slopes, gap",
                         [(1, 0, 0, 1, 0.0, True, 0.0), (2, 0, 0, 1, 0.0, True, 0.0), (3, 20, 0, 1, 0.0, True, 0.0),
                          (5, 20, 0, 2, 0.0, True, 0.0), (1, 20, 5, 1, 0.0, True, 0.0), (1, 20, 5, 2, 0.0, True, 0.0),
                          (3, 20, 1, 2, 0.0, True, 0.0), (1, 20, 5, 2, 0.01, True, 0.0),
                          (1, 20, 2, 2, 0.5, False, 0.0), (1, 0, 0, 1, 0.0, False, 0.0),
                          (1, 20, 5, 2, 0.01, True, 0.5), (1, 20, 5, 2, 0.01, False, 0.9)])
def test_split_branching_verdicts_agree_with_the_exact_maximum(seed, candidates, attack, patience, starts, gain,
                                                                slopes, gap):
    # Every branching (the split score; strong branching over 2, 3, 5 inputs; with and without the search in each
    # box, its descents, from the LP minimiser or also the centre, run to the end or stopped after 5, 2 or 1 steps
    # without progress, any or of 1% or 50%, in every box or only where the gap rule leaves them hope; with and
    # without the second bound by the point's slopes):
    # "holds" (status 0) only when the threshold is above the exact maximum, a counterexample (status 1) that
    # is one by a forward pass, and the closed volume plus the open boxes' volume equal to the box's.
    rng = np.random.default_rng(10 + seed)
    net = relutope.Network.random([4, 10, 10, 2], seed=10 + seed) if seed < 2 else _maxout_net(rng, 4)
    lo = rng.uniform(-2, 0, 4)
    hi = lo + rng.uniform(0.5, 2, 4)
    row = rng.normal(size=2)
    top = relutope.output_bounds(net, relutope.Box(lo, hi), row[None, :], prune=False).upper[0]
    for t, holds in ((top + 1e-2 * (1 + abs(top)), True), (top - 1e-2 * (1 + abs(top)), False)):
        term = [(-row[None, :], np.array([-t]))]
        out = _core.split_verify(net._core(), lo, hi, term, 24, 400, -1.0, candidates, attack,
                                 attack_patience=patience, attack_starts=starts, attack_min_gain=gain,
                                 point_slopes=slopes, attack_gap=gap)
        assert out["status"] in (0, 1, 2)
        assert out["bounds"] >= out["boxes"]
        if out["status"] == 0:
            assert holds
        if out["status"] == 1:
            x = out["counterexample"]
            assert not holds and row @ net(x[None])[0] >= t and np.all(x >= lo) and np.all(x <= hi)
        if holds:
            assert out["status"] != 1
        vol = np.prod(hi - lo)
        open_vol = np.prod(out["open_hi"] - out["open_lo"], axis=1).sum() / vol if out["status"] == 2 else 0.0
        if out["status"] != 1:
            assert out["closed_fraction"] + open_vol == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("c, s", [(0.0, 1.0), (3e6, 1e6), (-4e-6, 1e-6)])
def test_split_never_halves_an_input_the_network_ignores(c, s):
    # Input 1 has zero weights into every unit: neither the smear nor the relaxation's looseness (the unstable
    # ReLUs' gaps shared by each input's part of their ranges) may score it, so every box left open spans its whole
    # range, while the other inputs are halved; at any scale and off-centre (weights 1/s on boxes of size s).
    rng = np.random.default_rng(3)
    W1 = rng.normal(size=(12, 3)) / s
    W1[:, 1] = 0.0
    b1 = rng.normal(size=12) - W1 @ np.full(3, c)
    net = relutope.Network([Layer.affine(W1, b1, "relu"),
                            Layer.affine(rng.normal(size=(10, 12)), rng.normal(size=10), "relu"),
                            Layer.affine(rng.normal(size=(1, 10)), rng.normal(size=1), "identity")])
    lo, hi = np.full(3, c - s), np.full(3, c + s)
    top = relutope.output_bounds(net, relutope.Box(lo, hi), np.ones((1, 1)), prune=False).upper[0]
    term = [(-np.ones((1, 1)), np.array([-(top + 1e-6 * (1 + abs(top)))]))]  # holds, too thinly for 8 boxes
    out = _core.split_verify(net._core(), lo, hi, term, 12, 8, -1.0, 1, 0)
    assert out["status"] == 2 and out["boxes"] == 8
    widths = out["open_hi"] - out["open_lo"]
    assert np.all(widths[:, 1] == hi[1] - lo[1])
    assert np.all(widths[:, [0, 2]] <= hi[0] - lo[0]) and np.any(widths[:, [0, 2]] < 0.5 * (hi[0] - lo[0]))


def _tll_net(rng, n_in, N, M):
    """A two-level lattice net max_j min_{i in S_j} l_i(x) (Ferlez & Shoukry), lowered as bench/bench_tll.py does:
    N linear units, M units max_{i in S_j} (-l_i), one output max_j (-(.)_j); units of up to N pieces."""
    linear = Layer.affine(rng.normal(size=(N, n_in)), rng.normal(size=N), "identity")
    sets = [np.flatnonzero(rng.random(N) < 0.5) for _ in range(M)]
    sets = [s if s.size else np.array([0]) for s in sets]
    rows = np.zeros((sum(s.size for s in sets), N))
    rows[np.arange(len(rows)), np.concatenate(sets)] = -1.0
    mins = Layer(rows, np.zeros(len(rows)), np.array([s.size for s in sets]))
    return relutope.Network([linear, mins, Layer(-np.eye(M), np.zeros(M), np.array([M]))])


@pytest.mark.parametrize("width", [1e-3, 0.1, 2.0])
def test_relaxation_of_many_piece_units_contains_the_exact_bounds(width):
    # Pieces dominated on the box (upper bound below another's lower bound) are not back-substituted; the
    # relaxation must still contain the exact range (the unpruned enumeration) of the output, on boxes small
    # (most pieces dominated) and large, off-centre.
    rng = np.random.default_rng(int(1 / width))
    net = _tll_net(rng, 2, 12, 12)
    for _ in range(3):
        lo = rng.uniform(-1, 1, 2)
        hi = lo + width * rng.uniform(0.5, 1.0, 2)
        C = np.array([[1.0], [-1.0]])
        G, lower = _core.box_linear_bounds(net._core(), lo, hi, C, np.zeros(2), False)
        exact = relutope.output_bounds(net, relutope.Box(lo, hi), prune=False)
        assert exact.complete
        span = abs(exact.upper[0]) + (exact.upper[0] - exact.lower[0])
        assert lower[0] <= exact.lower[0] + 1e-9 * span and -lower[1] >= exact.upper[0] - 1e-9 * span
        x = np.vstack([relutope.Box(lo, hi).sample(500, rng), exact.argmin, exact.argmax])
        y = net(x)[:, 0]
        lin = x @ G[:, :2].T + G[:, 2]
        assert np.all(lin[:, 0] <= y + 1e-9 * span) and np.all(lin[:, 1] <= -y + 1e-9 * span)


@pytest.mark.parametrize("candidates", [None, 1, 2])
def test_verify_on_lattice_nets_agrees_with_the_exact_maximum(candidates):
    # verify (default: strong branching on nets of many-piece units) on TLL nets, unsafe set {y >= t}: holds
    # iff t is above the exact maximum (the unpruned enumeration), and a counterexample re-checked by a forward
    # pass otherwise.
    from relutope import vnnlib

    rng = np.random.default_rng(5)
    for _ in range(2):
        net = _tll_net(rng, 2, 10, 10)
        lo = rng.uniform(-1.5, -0.5, 2)
        hi = lo + rng.uniform(1.0, 2.0, 2)
        top = relutope.output_bounds(net, relutope.Box(lo, hi), prune=False).upper[0]
        for t, expected in ((top + 1e-4 * (1 + abs(top)), "holds"), (top - 1e-4 * (1 + abs(top)), "violated")):
            lines = [f"(declare-const X_{i} Real)" for i in range(2)] + ["(declare-const Y_0 Real)"]
            for i in range(2):
                lines += [f"(assert (>= X_{i} {float(lo[i])!r}))", f"(assert (<= X_{i} {float(hi[i])!r}))"]
            lines.append(f"(assert (>= Y_0 {float(t)!r}))")
            res = relutope.verify(net, vnnlib.loads("\n".join(lines)), split_candidates=candidates)
            assert res.status == expected
            if expected == "violated":
                assert net(res.counterexample[None])[0, 0] >= t


def test_verify_rejects_bad_split_candidates():
    from relutope import vnnlib

    net = relutope.Network.random([2, 4, 1], seed=0)
    spec = vnnlib.loads("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)"
                        "(assert (>= X_0 0.0))(assert (<= X_0 1.0))(assert (>= X_1 0.0))(assert (<= X_1 1.0))"
                        "(assert (>= Y_0 100.0))")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="split_candidates"):
            relutope.verify(net, spec, split_candidates=bad)


def test_output_bounds_of_lattice_nets_are_attained_not_widened():
    # The argmax cells of tied pieces of max units come out of the LP with radii of rounding noise (1e-17): they
    # have no interior and must not be bounded by the relaxation (which widened the bounds by up to 85%). The
    # bounds equal the maxima of the regions' affine maps over their H-representations (HiGHS), off-centre boxes.
    from scipy.optimize import linprog

    rng = np.random.default_rng(5)
    for _ in range(2):
        net = _tll_net(rng, 2, 10, 10)
        lo = rng.uniform(-1.5, -0.5, 2)
        hi = lo + rng.uniform(1.0, 2.0, 2)
        ob = relutope.output_bounds(net, relutope.Box(lo, hi), prune=False)
        best = -np.inf
        for region in relutope.enumerate_regions(net, relutope.Box(lo, hi)):
            A, b = region.halfspaces()
            M, c = region.affine_map()
            res = linprog(-M[0], A_ub=A, b_ub=b, bounds=[(None, None)] * 2, method="highs")
            best = max(best, -res.fun + c[0])
        assert ob.widened == 0
        assert ob.upper[0] == pytest.approx(best, rel=1e-9, abs=1e-12)


def _corner_net(n, c, s, level):
    """y = relu(sum_i (x_i - c) / s - level) on the box [c, c + s]^n: positive only in the corner sum u_i > level
    (u = (x - c) / s), flat zero elsewhere (no gradient leads there). Returns the net and its closed form."""
    hidden = Layer.affine(np.full((1, n), 1.0 / s), np.array([-n * c / s - level]), "relu")
    out = Layer.affine(np.eye(1), np.zeros(1), "identity")
    return relutope.Network([hidden, out]), lambda x: max(float(np.sum((x - c) / s)) - level, 0.0)


@pytest.mark.parametrize("c, s", [(0.0, 1.0), (3e6, 1e6), (-4e-6, 1e-6)])
def test_restarts_on_the_faces_find_a_corner_counterexample(c, s):
    # Unsafe y >= 0.05, i.e. sum u_i >= 3.95 on [0, 1]^4: a corner of volume 2.6e-7 where the violation is flat
    # outside (zero gradient): uniform samples and descents from them miss it, restarts on the faces (each input at a
    # bound with probability 2/3) land on it. Checked by the closed form, not the net.
    n = 4
    net, f = _corner_net(n, c, s, n - 0.1)
    lo, hi = np.full(n, c), np.full(n, c + s)
    term = [(np.array([[-1.0]]), np.array([-0.05]))]
    out = _core.falsify(net._core(), lo, hi, term, 256, 8, 40, 3, _no_starts(net), -1.0)
    assert not out["found"] and out["restarts"] == 0
    out = _core.falsify(net._core(), lo, hi, term, 256, 8, 40, 3, _no_starts(net), -1.0, 5000)
    assert out["found"] and 1 <= out["restarts"] <= 5000
    x = out["x"]
    assert np.all(x >= lo) and np.all(x <= hi) and f(x) >= 0.05


def test_restarts_stop_at_the_time_limit_and_reject_bad_input():
    net, f = _corner_net(3, 0.0, 1.0, 5.0)  # y = 0 on the whole box: never found
    lo, hi = np.zeros(3), np.ones(3)
    term = [(np.array([[-1.0]]), np.array([-0.05]))]
    out = _core.falsify(net._core(), lo, hi, term, 0, 0, 5, 0, _no_starts(net), 0.05, 2 ** 62)
    assert not out["found"] and 0 < out["restarts"] < 2 ** 62
    with pytest.raises(ValueError, match="restarts"):
        _core.falsify(net._core(), lo, hi, term, 0, 0, 5, 0, _no_starts(net), 0.05, -1)


@pytest.mark.parametrize("c, s", [(0.0, 1.0), (3e6, 1e6)])
def test_verify_searches_the_faces_before_the_enumeration(c, s, monkeypatch):
    # The corner is a vertex of the box: the search's face centres (FACE_DIM) evaluate it. Without them the first
    # search (uniform samples and descents) misses it, and with no input splitting the restart search before the
    # enumeration (given a floor of time) finds it (found_by "search"); without any search the enumeration finds
    # it too.
    from relutope import _search, vnnlib
    from relutope.verify import _falsify

    n = 4
    net, f = _corner_net(n, c, s, n - 0.1)
    lo, hi = np.full(n, c), np.full(n, c + s)
    spec = vnnlib.Property(cases=[vnnlib.Case(lo, hi, [(np.array([[-1.0]]), np.array([-0.05]))])],
                           n_inputs=n, n_outputs=1)
    term = [(np.array([[-1.0]]), np.array([-0.05]))]
    assert _falsify(net, lo, hi, term, np.random.default_rng(0)) is not None
    assert _falsify(net, lo, hi, term, np.random.default_rng(0), faces=-1) is None
    monkeypatch.setattr(_search, "FACE_DIM", -1)
    monkeypatch.setattr(_search, "RESTART_FLOOR", 0.02)
    for kw, how in ((dict(), "search"), (dict(search=False), "enumeration")):
        res = relutope.verify(net, spec, split_max_dims=0, **kw)
        assert res.status == "violated" and res.cases[0]["found_by"] == how
        assert f(res.counterexample) >= 0.05 - 1e-9 and np.all(res.counterexample >= lo) \
            and np.all(res.counterexample <= hi)


def _spot_net(p_lo, p_hi, c, s, eps):
    """y = -sum_j |u_j - w_j| (u = (x - c) / s, ReLU pairs) on the box [c, c + s]^n (inputs with p_lo == p_hi
    fixed): the unsafe set y >= -eps is the L1 ball of radius eps around the point w = (p_lo + p_hi) / 2 in u,
    volume ~eps^n, which no uniform sample hits. Returns the net and its closed form."""
    w = 0.5 * (np.asarray(p_lo, float) + np.asarray(p_hi, float))
    n = w.size
    A = np.vstack([np.eye(n), -np.eye(n)]) / s
    b = np.concatenate([-(c / s + w), c / s + w])
    hidden = Layer.affine(A, b, "relu")
    out = Layer.affine(-np.ones((1, 2 * n)), np.zeros(1), "identity")
    return relutope.Network([hidden, out]), lambda x: -float(np.abs((x - c) / s - w).sum())


@pytest.mark.parametrize("c, s", [(0.0, 1.0), (3e6, 1e6), (-4e-6, 1e-6)])
def test_face_centres_are_evaluated_up_to_the_dimension_asked(c, s):
    # The unsafe set is a tiny L1 ball around the centre of a face of the box (in u = (x - c) / s: a vertex, an edge
    # midpoint, a 2-face centre), one input of zero width beside; with no samples and no descents (steps=0) only
    # the box's centre and its face centres are evaluated, so the point is found exactly when its face's dimension
    # is at most `faces`. Checked by the closed form.
    n, eps = 6, 1e-3
    lo, hi = np.full(n, c), np.full(n, c + s)
    lo[2] = hi[2] = c + 0.3 * s  # zero width: the face centres keep it at its value
    term = [(np.array([[-1.0]]), np.array([eps]))]  # unsafe: -y <= eps
    targets = {0: [1, 0, 0.3, 1, 1, 0], 1: [1, 0, 0.3, 0.5, 1, 0], 2: [0.5, 0, 0.3, 0.5, 1, 0]}
    for dim, w in targets.items():
        net, f = _spot_net(w, w, c, s, eps)
        for faces in (-1, 0, 1, 2):
            out = _core.falsify(net._core(), lo, hi, term, 0, 0, 0, 0, _no_starts(net), -1.0, 0, faces)
            assert out["found"] == (faces >= dim), (dim, faces)
            if out["found"]:
                x = out["x"]
                assert f(x) >= -eps and np.all(x >= lo) and np.all(x <= hi) and x[2] == lo[2]


def test_face_centres_stop_at_the_dimension_that_no_longer_fits():
    # 11 free inputs: 2,048 vertices fit the cap (2,048 points), the 11 x 1,024 edge midpoints do not, so faces=1
    # evaluates the vertices only; 12 free inputs: not even the vertices fit.
    for n, vertex_found, edge_found in ((11, True, False), (12, False, False)):
        lo, hi = np.zeros(n), np.ones(n)
        term = [(np.array([[-1.0]]), np.array([1e-3]))]
        vertex = np.arange(n) % 2.0
        edge = vertex.copy()
        edge[0] = 0.5
        for w, expected in ((vertex, vertex_found), (edge, edge_found)):
            net, _ = _spot_net(w, w, 0.0, 1.0, 1e-3)
            out = _core.falsify(net._core(), lo, hi, term, 0, 0, 0, 0, _no_starts(net), -1.0, 0, 1)
            assert out["found"] == expected, (n, w)
