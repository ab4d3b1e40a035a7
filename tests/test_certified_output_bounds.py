"""output_bounds(..., certify=True): intervals proven to hold the exact maximum and minimum of each objective.

Independent references: brute force over all patterns (tests/oracle.py) and one HiGHS LP per region of the float
affine map over the float H-representation (the per-region maxima), float forward passes at the attaining
inputs, exact membership of those inputs in the domain (relutope.exact_lp.check_interior_point), and the exact
LP optimum (relutope.exact_lp.solve_lp_exact) under any multipliers' bound.
"""
import numpy as np
import pytest
from scipy.optimize import linprog

from relutope import Box, Network, WholeSpace, bound_certificates, output_bounds
from relutope.exact import exact_forward, to_rational
from relutope.exact_lp import check_interior_point

from oracle import brute_force_patterns, region_halfspaces
from test_certified_enumeration import NETS
from test_certified_polytope import POLYGONS, _moved, _rows_of

flint = pytest.importorskip("flint")


def _highs_range(net, domain, C, d, tol):
    """The max and min of every row of C net + d: the best of the per-region HiGHS LPs over brute force."""
    origin, basis = domain.parametrization()
    A0, b0 = domain.constraints()
    pats, _ = brute_force_patterns(net, origin, basis, A0, b0, tol=tol)
    hi = np.full(C.shape[0], -np.inf)
    lo = np.full(C.shape[0], np.inf)
    for p in pats:
        G, h = region_halfspaces(net, p, origin, basis, A0, b0)
        Aq, bq = net.local_affine_map(p)
        for i in range(C.shape[0]):
            w = (C[i] @ Aq) @ basis
            w0 = C[i] @ (Aq @ origin + bq) + d[i]
            for sign in (1.0, -1.0):
                res = linprog(-sign * w, A_ub=G, b_ub=h, bounds=[(None, None)] * basis.shape[1], method="highs")
                assert res.status == 0
                v = -sign * res.fun + w0
                hi[i], lo[i] = (max(hi[i], v), lo[i]) if sign > 0 else (hi[i], min(lo[i], v))
    return lo, hi


def _check(net, domain, C, d, b, lo, hi):
    cert = b.certificate
    spread = float(np.max(hi - lo)) + float(np.max(np.abs(hi))) + 1.0  # the objective's own size
    eps = 1e-9 * spread
    # the proven intervals hold the per-region maxima (HiGHS's optima are within rounding of the exact ones)
    assert np.all(cert.max_lower <= hi + eps) and np.all(hi - eps <= cert.max_upper)
    assert np.all(cert.min_lower <= lo + eps) and np.all(lo - eps <= cert.min_upper)
    assert np.all(cert.max_lower <= cert.max_upper) and np.all(cert.min_lower <= cert.min_upper)
    assert np.array_equal(b.upper, cert.max_upper) and np.array_equal(b.lower, cert.min_lower)
    # the attained values: exact inputs in the closed domain, exact forward passes
    A0, b0 = domain.constraints()
    for i in range(C.shape[0]):
        for x, value in ((cert.argmax_exact[i], cert.max_attained[i]), (cert.argmin_exact[i], cert.min_attained[i])):
            assert check_interior_point(A0, b0, x, strict=False)  # t = x on these domains
            y, _, _ = exact_forward(net, np.array(x, dtype=object)[None, :])
            assert sum(to_rational(C[i])[o] * y[0][o] for o in range(C.shape[1])) + to_rational(d[i:i + 1])[0] \
                == value
            yf = C[i] @ net(np.array([[float(v) for v in x]]))[0] + d[i]
            assert abs(yf - float(value)) <= eps
    return cert


CASES = [(name, net, 1.0) for name, net in NETS if name != "maxout"] + [
    (name, net, scale) for name, net in NETS if name in ("three_lines_through_a_point", "through_box_vertices",
                                                          "nearly_duplicate_at_the_last_bit") for scale in (1e-6, 1e6)]


@pytest.mark.parametrize("name, net, scale", CASES, ids=[f"{n}-{s:g}" for n, _, s in CASES])
def test_certified_bounds_on_polytopes_hold_the_region_maxima(name, net, scale):
    moved, P = _moved(net, *_rows_of(POLYGONS["quad"]), scale, np.array([3.0, -7.0]) * scale)
    C, d = np.array([[1.0], [-0.5]]), np.array([0.25, -1.0])
    b = output_bounds(moved, P, C, d, certify=True, threads=1)
    lo, hi = _highs_range(moved, P, C, d, b.certificate.enumeration.tol)
    cert = _check(moved, P, C, d, b, lo, hi)
    assert cert.status == "certified" and b.complete
    if cert.thin_bounded_by in ("", "regions"):  # region-tight: the interval is the maximum up to rounding
        size = float(np.max(np.abs(hi))) + float(np.max(hi - lo)) + 1.0
        assert np.all(cert.max_upper - cert.max_lower <= 1e-10 * size)  # HiGHS's optimum, to its accuracy
        assert np.all(cert.min_upper - cert.min_lower <= 1e-10 * size)


def test_thin_cells_are_recorded_and_bounded(monkeypatch):
    """Three lines through a corner of the triangle: the zero-width sides the certified enumeration proves thin
    have no interior (nowhere dense: no bound needed), so the interval pins the maximum to rounding; the
    last-bit twin's sliver has an interior and its regions are enumerated exactly (as tight), or, with no exact
    LP to spend, it is bounded over its exact box (a wider interval, still holding the per-region maxima)."""
    name, net = next(item for item in NETS if item[0] == "three_lines_through_a_point")
    moved, P = _moved(net, *_rows_of(POLYGONS["triangle"]), 1.0, np.array([0.25, -0.5]))
    C, d = np.array([[1.0], [-1.0]]), np.zeros(2)
    b = output_bounds(moved, P, C, d, certify=True, threads=1)
    ecert = b.certificate.enumeration
    assert ecert.n_thin > 0 and ecert.thin_records["where"].shape[0] == ecert.n_thin  # (tests/test_certified_polytope.py)
    cert = b.certificate
    assert cert.thin_bounded_by == ""
    lo, hi = _highs_range(moved, P, C, d, ecert.tol)
    _check(moved, P, C, d, b, lo, hi)
    size = float(np.max(np.abs(hi))) + float(np.max(hi - lo)) + 1.0
    assert np.all(cert.max_upper - cert.max_lower <= 1e-10 * size)
    # the last-bit twins leave a sliver with an interior: its regions enumerated exactly, the interval as tight;
    # with no exact LP to spend on it, it is bounded over its exact box instead (wider, still holding the maxima)
    name, net = next(item for item in NETS if item[0] == "nearly_duplicate_at_the_last_bit")
    moved, P = _moved(net, *_rows_of(POLYGONS["quad"]), 1.0, np.array([0.25, -0.5]))
    b = output_bounds(moved, P, C, d, certify=True, threads=1)
    assert "0 with an interior bounded exactly" not in b.certificate.message
    lo, hi = _highs_range(moved, P, C, d, b.certificate.enumeration.tol)
    _check(moved, P, C, d, b, lo, hi)
    size = float(np.max(np.abs(hi))) + float(np.max(hi - lo)) + 1.0
    assert np.all(b.certificate.max_upper - b.certificate.max_lower <= 1e-10 * size)
    monkeypatch.setattr(bound_certificates, "THIN_CELL_LPS", 1)
    boxed = output_bounds(moved, P, C, d, certify=True, threads=1)
    assert "0 with an interior bounded exactly" in boxed.certificate.message
    assert "0 rigorously over their exact bounding boxes" not in boxed.certificate.message
    assert np.all(boxed.certificate.max_upper >= b.certificate.max_upper)
    _check(moved, P, C, d, boxed, lo, hi)


def test_an_incomplete_run_stays_proven():
    net = Network.random([2, 8, 6, 2], seed=0)
    box = Box([-1.0, -0.5], [1.5, 1.0])
    full = output_bounds(net, box)  # the float exact bounds: their reference
    b = output_bounds(net, box, certify=True, max_regions=3)
    cert = b.certificate
    assert not b.complete and cert.status == "incomplete" and cert.thin_bounded_by == "domain"
    assert "stopped early" in cert.message
    spread = float(np.max(full.upper - full.lower))
    assert np.all(cert.max_lower <= full.upper + 1e-9 * spread) and np.all(full.upper <= cert.max_upper)
    assert np.all(cert.min_lower <= full.lower) and np.all(full.lower - 1e-9 * spread <= cert.min_upper)


def test_certify_checks_its_arguments():
    net = Network.random([2, 4, 1], seed=0)
    with pytest.raises(TypeError, match="certify"):
        output_bounds(net, Box([-1, -1], [1, 1]), certify="yes")
    with pytest.raises(ValueError, match="bounded"):
        output_bounds(net, WholeSpace(2), certify=True)
    with pytest.raises(ValueError, match="C must have"):
        output_bounds(net, Box([-1, -1], [1, 1]), C=np.ones((1, 3)), certify=True)
