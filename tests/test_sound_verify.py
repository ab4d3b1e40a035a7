"""Sound verification: no cell is skipped for being thin (a sliver of inradius below tol where the output spikes)."""
import itertools
from fractions import Fraction

import numpy as np
import pytest

import relutope
from relutope import vnnlib
from relutope.exact import exact_forward


def sliver_net(c, s, tilt=True, width=1e-9):
    """Two inputs; three ReLUs on nearly parallel lines x = a, x = a + e/2 - delta (y - cy), x = a + e (e = 1e-9 s,
    the default tol) and the output (2 s / e) (r1 - 2 r2 + r3): a hat of height 0.75..1.25 inside a sliver of
    width e between the outer lines, 0 elsewhere. The two cells of the sliver have inradius about e / 4 < tol."""
    e = width * s
    a = c[0] + 0.3 * s
    delta = e / (8 * s) if tilt else 0.0
    W1 = np.array([[1 / s, 0.0], [1 / s, delta / s], [1 / s, 0.0]])
    b1 = np.array([-a / s, (-a - e / 2 - delta * c[1]) / s, (-a - e) / s])
    W2 = np.array([[2 * s / e, -4 * s / e, 2 * s / e]])
    net = relutope.Network.from_weights([(W1, b1), (W2, np.zeros(1))])
    box = relutope.Box(np.asarray(c) - s, np.asarray(c) + s)
    return net, box, (W1, b1)


def exact_max(net, W, b, box):
    """max of the (one hidden layer, two inputs) net over the box, exactly: a continuous piecewise-linear function
    attains it at a vertex of the arrangement of its lines and the box's sides; every vertex is computed in
    rationals (the float weights taken exactly) and evaluated by an exact forward pass."""
    F = lambda v: Fraction(*float(v).as_integer_ratio())  # noqa: E731
    lines = [((F(w[0]), F(w[1])), F(c)) for w, c in zip(W, b)]
    lo, hi = [F(v) for v in box.lo], [F(v) for v in box.hi]
    for axis in range(2):
        for val in (lo[axis], hi[axis]):
            w = [Fraction(0), Fraction(0)]
            w[axis] = Fraction(1)
            lines.append((tuple(w), -val))
    pts = []
    for (w1, c1), (w2, c2) in itertools.combinations(lines, 2):
        det = w1[0] * w2[1] - w1[1] * w2[0]
        if det == 0:
            continue
        x = (-c1 * w2[1] + c2 * w1[1]) / det
        y = (-w1[0] * c2 + w2[0] * c1) / det
        if lo[0] <= x <= hi[0] and lo[1] <= y <= hi[1]:
            pts.append([x, y])
    y, _, _ = exact_forward(net, np.array(pts, dtype=object))
    return max(v[0] for v in y)


def unsafe_above(box, level):
    """The property 'unsafe when y >= level' over the box."""
    return vnnlib.Property(cases=[vnnlib.Case(box.lo, box.hi, [(np.array([[-1.0]]), np.array([-level]))])],
                           n_inputs=2, n_outputs=1)


SCALES = [((0.0, 0.0), 1.0), ((2e6, -3e6), 1e6), ((0.0, 5e-7), 1e-6)]


@pytest.mark.parametrize("c, s", SCALES)
def test_the_core_without_verification_mode_misses_the_sliver(c, s):
    # The defect the verification mode closes: the plain enumeration (thin_min_tol = 0) drops the thin cells, so
    # the maximum (about 1.25, exact_max) is missed (the regions seen reach 0.5 at most).
    from relutope import _core
    from relutope.enumerate import _engine_call

    net, box, (W, b) = sliver_net(c, s)
    true_max = exact_max(net, W, b, box)
    assert true_max > 1
    out, _ = _engine_call(_core.output_bounds, net, box, tol=None, max_regions=None, time_limit=None,
                          progress=False, extra=(np.eye(1), np.zeros(1), False, False))
    assert out["max"][0] < 0.5 * float(true_max)


@pytest.mark.parametrize("c, s", SCALES)
@pytest.mark.parametrize("prune", [True, False])
def test_output_bounds_contain_the_sliver_maximum(c, s, prune):
    net, box, (W, b) = sliver_net(c, s)
    true_max = float(exact_max(net, W, b, box))
    bounds = relutope.output_bounds(net, box, prune=prune)
    assert bounds.complete and bounds.thin >= 1
    # The float affine map of a sliver region cancels an offset of (2 / width) |x| ~ 5e9: its value is good to
    # about 5e9 * 2**-52 ~ 1e-6 (relative to the maximum, 1.25), whatever the scale.
    rel = 4e-6
    assert bounds.upper[0] >= true_max * (1 - rel)
    if bounds.widened == 0:  # resolved exactly inside the sliver: attained
        assert bounds.upper[0] == pytest.approx(true_max, rel=rel)
        assert net(bounds.argmax[:1])[0, 0] == pytest.approx(bounds.upper[0], rel=rel)
    assert bounds.lower[0] <= 0.0


@pytest.mark.parametrize("c, s", SCALES)
def test_verify_finds_the_counterexample_inside_the_sliver(c, s):
    net, box, _ = sliver_net(c, s)
    res = relutope.verify(net, unsafe_above(box, 0.75), search=False, split_max_dims=0)
    assert res.status == "violated"
    # the witness, checked exactly: in the box and its exact output in the unsafe set
    y, _, _ = exact_forward(net, res.counterexample)
    assert box.contains(res.counterexample[None])[0]
    assert Fraction(int(y[0, 0].p), int(y[0, 0].q)) >= Fraction(3, 4) * (1 - Fraction(1, 10**6))


@pytest.mark.parametrize("c, s", SCALES)
def test_verify_holds_when_the_sliver_stays_below_the_unsafe_level(c, s):
    net, box, (W, b) = sliver_net(c, s)
    assert exact_max(net, W, b, box) < 2
    res = relutope.verify(net, unsafe_above(box, 2.0), search=False, split_max_dims=0)
    assert res.status == "holds"


@pytest.mark.parametrize("level", [0.75, 1.2])
def test_a_sliver_below_min_tol_gives_violated_or_unknown_never_holds(level):
    # A sliver of width 2e-12 (cells of inradius 5e-13, below min_tol = 1e-12): no refinement is left, only the
    # relaxation over the thin cells and its candidate points.
    net, box, (W, b) = sliver_net((0.0, 0.0), 1.0, width=2e-12)
    assert float(exact_max(net, W, b, box)) > level
    res = relutope.verify(net, unsafe_above(box, level), search=False, split_max_dims=0, tol=relutope.min_tol(box))
    assert res.status in ("violated", "unknown")
    if res.status == "unknown":
        assert res.cases[0]["status"] == "thin_open"
    bounds = relutope.output_bounds(net, box, tol=relutope.min_tol(box))
    assert bounds.upper[0] >= float(exact_max(net, W, b, box)) * (1 - 4e-6)


# ---------------------------------------------------------------------------------------------------- certify=True
def _exact_net(net, x):
    """An independent exact forward pass in Python Fractions (ReLU layers then an affine one)."""
    h = [Fraction(v) for v in x]
    for li, layer in enumerate(net.layers):
        rows = layer.A.tolist()
        c = layer.c.tolist()
        z = [sum(Fraction(a) * v for a, v in zip(r, h)) + Fraction(ci) for r, ci in zip(rows, c)]
        if li < len(net.layers) - 1:  # ReLU in MASO form: pieces (0, a) per unit
            z = [max(z[2 * u], z[2 * u + 1]) for u in range(len(z) // 2)]
        h = z
    return h


@pytest.mark.parametrize("c, s", SCALES)
def test_certified_counterexample_in_the_sliver(c, s):
    net, box, _ = sliver_net(c, s)
    res = relutope.verify(net, unsafe_above(box, 0.75), search=False, split_max_dims=0, certify=True)
    cert = res.certificate
    assert res.status == "violated" and cert.ok and cert.status == "violated"
    x = cert.counterexample
    assert all(Fraction(float(a)) <= v <= Fraction(float(b)) for v, a, b in zip(x, box.lo, box.hi))
    y = _exact_net(net, x)
    assert y == list(cert.output) and y[0] >= Fraction(3, 4)


def test_a_float_counterexample_that_is_not_one_exactly_is_rejected():
    # y = relu(0.1 x) + relu(0.2 x) - relu(0.30000000000000004 x) on [1, 2]: float64 computes y = 0 at x = 1, but
    # with the weights' exact values y = (0.1 + 0.2 - 0.30000000000000004) x < 0 (by 2.8e-17 x). "Unsafe: y >= 0"
    # has no exact counterexample.
    W1 = np.array([[0.1], [0.2], [0.30000000000000004]])
    net = relutope.Network.from_weights([(W1, np.zeros(3)), (np.array([[1.0, 1.0, -1.0]]), np.zeros(1))])
    assert Fraction(0.1) + Fraction(0.2) - Fraction(0.30000000000000004) < 0
    prop = vnnlib.Property(cases=[vnnlib.Case(np.array([1.0]), np.array([2.0]), [(np.array([[-1.0]]),
                                                                                  np.array([0.0]))])],
                           n_inputs=1, n_outputs=1)
    plain = relutope.verify(net, prop)
    assert plain.status == "violated" and net(plain.counterexample[None])[0, 0] >= 0  # the float verdict
    res = relutope.verify(net, prop, certify=True)
    assert res.status == "unknown" and not res.certificate.ok and res.certificate.failures


def test_decimal_bounds_are_exact():
    # x in [0.1, 0.7], y = -x, unsafe: y >= -0.1 (x <= 0.1): the only counterexample is x = 1/10 exactly, which
    # float64 cannot hold (0.1 is 1/10 + 5.6e-18). The certificate snaps it to the exact decimal bound.
    net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)),
                                         (np.array([[-1.0, 1.0]]), np.zeros(1))])
    text = ("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 0.1))(assert (<= X_0 0.7))"
            "(assert (>= Y_0 -0.1))")
    prop = vnnlib.loads(text)
    case = prop.exact_cases()[0]
    assert case.box_lo == (Fraction(1, 10),) and case.terms[0] == (((-1,),), (Fraction(1, 10),))
    res = relutope.verify(net, prop, certify=True)
    assert res.status == "violated" and res.certificate.ok
    assert res.certificate.counterexample == (Fraction(1, 10),) and res.certificate.output == (Fraction(-1, 10),)


def test_rigorous_box_bounds_lie_below_exact_values():
    from relutope.verdict_certificates import rigorous_box_bounds

    rng = np.random.default_rng(3)
    for scale, centre in ((1.0, 0.0), (1e-6, 3.0), (1e4, -2e4)):
        W1 = rng.normal(size=(10, 3)) / scale
        b1 = -W1 @ np.full(3, centre) + rng.normal(0, 0.5, 10)
        net = relutope.Network.from_weights([(W1, b1), (rng.normal(size=(10, 10)), rng.normal(size=10)),
                                             (rng.normal(size=(2, 10)), rng.normal(size=2))])
        lo = centre + scale * rng.uniform(-1, 0, (6, 3))
        hi = lo + scale * rng.uniform(0, 0.5, (6, 3))
        C = np.array([[1.0, 0.0], [-1.0, 1.0]])
        low, _ = rigorous_box_bounds(net, lo, hi, C)
        for i in range(6):
            pts = lo[i] + rng.random((40, 3)) * (hi[i] - lo[i])
            y, _, _ = exact_forward(net, pts)
            vals = [[sum(Fraction(float(cr)) * Fraction(int(v.p), int(v.q)) for cr, v in zip(row, yy)) for row in C]
                    for yy in y]
            assert all(Fraction(float(low[i, r])) <= v[r] for v in vals for r in range(2))
            # and not vacuous: within the spread of the values over the box
            assert all(float(low[i, r]) > min(v[r] for v in vals) - 100 * (1 + abs(min(v[r] for v in vals)))
                       for r in range(2))


def test_holds_certificate_and_a_wrong_claim_is_rejected():
    from relutope.verdict_certificates import certify_holds

    net, box, _ = sliver_net((0.5, -0.5), 1.0, width=1e-3)  # a wide hat: max 1.25
    safe = unsafe_above(box, 1.5)
    res = relutope.verify(net, safe, certify=True)
    assert res.status == "holds" and res.certificate.ok and res.certificate.boxes + res.certificate.regions > 0
    assert res.certificate.min_margin > 0
    # the boxes the splitting leaves open (here after 4) go to the branch and bound on the ReLUs: no enumeration
    cert = certify_holds(net, safe, max_boxes=4)
    assert cert.ok and cert.nodes > 0 and cert.regions == 0 and cert.enumeration is None and cert.pending == []
    # or to exact region certificates, whose completeness is the certified enumeration's: every discarded side
    # proven empty (none thin here), so nothing is pending
    cert = certify_holds(net, safe, max_boxes=4, open_boxes="regions")
    assert cert.ok and cert.regions > 0 and cert.min_margin > 0
    assert cert.enumeration and all(e.status == "certified" for e in cert.enumeration)
    assert sum(e.n_regions for e in cert.enumeration) == cert.regions
    assert [e.n_thin for e in cert.enumeration] == [0] and cert.pending == []
    for max_boxes, how in ((4, "auto"), (4, "regions"), (300, "auto")):  # violated: no proof may succeed
        cert = certify_holds(net, unsafe_above(box, 1.0), max_boxes=max_boxes, open_boxes=how)
        assert not cert.ok and cert.failures


def test_cli_verify_certify(tmp_path, capsys):
    from relutope.cli import main

    net, box, _ = sliver_net((0.5, -0.5), 1.0, width=1e-3)
    net.save(tmp_path / "hat.npz")
    lo, hi = box.lo, box.hi
    head = "(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)" + "".join(
        f"(assert (>= X_{i} {float(lo[i])!r}))(assert (<= X_{i} {float(hi[i])!r}))" for i in range(2))
    for level, code, word in (("1.5", 0, "holds"), ("1.0", 10, "violated")):
        (tmp_path / "p.vnnlib").write_text(head + f"(assert (>= Y_0 {level}))")
        assert main(["verify", str(tmp_path / "hat.npz"), str(tmp_path / "p.vnnlib"), "--certify"]) == code
        out = capsys.readouterr().out.splitlines()
        assert out[0] == word and any(line.startswith("certificate: proven") for line in out)


def test_certification_time_limit_fails_cleanly():
    from relutope.verdict_certificates import certify_holds

    net, box, _ = sliver_net((0.5, -0.5), 1.0, width=1e-3)
    for max_boxes in (4, 4000):
        cert = certify_holds(net, unsafe_above(box, 1.5), max_boxes=max_boxes, time_limit=1e-9)
        assert not cert.ok and any("time limit" in f for f in cert.failures)


def test_certificate_functions_reject_bad_input():
    from relutope.verdict_certificates import certify_counterexample, certify_holds, rigorous_box_bounds

    net = relutope.Network.random([2, 4, 1], seed=0)
    box = relutope.Box([0.0, 0.0], [1.0, 1.0])
    spec = unsafe_above(box, 100.0)
    case = spec.exact_cases()[0]
    cases = [
        (lambda: rigorous_box_bounds("net", [[0, 0]], [[1, 1]], [[1.0]]), TypeError, "net"),
        (lambda: rigorous_box_bounds(net, [[0, 0, 0]], [[1, 1, 1]], [[1.0]]), ValueError, "lo"),
        (lambda: rigorous_box_bounds(net, [[0, 0]], [[1, 1], [1, 1]], [[1.0]]), ValueError, "hi"),
        (lambda: rigorous_box_bounds(net, [[1, 1]], [[0, 0]], [[1.0]]), ValueError, "lo must be <= hi"),
        (lambda: rigorous_box_bounds(net, [[0, np.nan]], [[1, 1]], [[1.0]]), ValueError, "lo"),
        (lambda: rigorous_box_bounds(net, [[0, 0]], [[1, 1]], [[1.0, 2.0]]), ValueError, "C"),
        (lambda: certify_holds(net, "spec"), TypeError, "spec"),
        (lambda: certify_holds(net, spec, max_boxes=0), ValueError, "max_boxes"),
        (lambda: certify_holds(net, spec, batch=1.5), TypeError, "batch"),
        (lambda: certify_holds(net, spec, time_limit=-1.0), ValueError, "time_limit"),
        (lambda: certify_holds(net, spec, open_boxes="lp"), ValueError, "open_boxes"),
        (lambda: certify_counterexample(net, "case", 0, [0.0, 0.0]), TypeError, "case"),
        (lambda: certify_counterexample(net, case, 5, [0.0, 0.0]), ValueError, "term"),
        (lambda: certify_counterexample(net, case, 0, [0.0]), ValueError, "x"),
        (lambda: certify_counterexample(net, case, 0, [np.inf, 0.0]), ValueError, "x"),
    ]
    for call, kind, word in cases:
        with pytest.raises(kind, match=word):
            call()
