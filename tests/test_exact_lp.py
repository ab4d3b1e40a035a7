"""Exact rational LP (relutope.exact_lp) against independent references.

References: scipy's HiGHS (float64: values agree to float accuracy, statuses agree), a brute-force vertex
enumeration in Python's ``fractions`` (every n-subset of rows solved by Gaussian elimination in Fraction: exact
and independent of python-flint) for small degenerate LPs, closed forms (boxes, triangles' inradius
2 * area / perimeter), and certificates corrupted on purpose, which the checkers must reject.
"""
import itertools
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import linprog

from oracle import solve_fraction
from relutope.exact_lp import (chebyshev_radius_exact, check_dual_bound, check_farkas, check_interior_point,
                               check_ray, norm_bounds, solve_lp_exact)

flint = pytest.importorskip("flint")


def F(v):
    return Fraction(int(v.p), int(v.q)) if isinstance(v, flint.fmpq) else Fraction(v)


def brute_force_max(c, A, b):
    """max c.x over {A x <= b} by enumerating all vertices in Fraction (bounded, pointed polytopes only);
    None when no vertex is feasible."""
    n = len(c)
    A = [[Fraction(v) for v in row] for row in A]
    b = [Fraction(v) for v in b]
    best = None
    for S in itertools.combinations(range(len(A)), n):
        x = solve_fraction([A[i] for i in S], [b[i] for i in S])
        if x is None or any(sum(a * xi for a, xi in zip(row, x)) > bi for row, bi in zip(A, b)):
            continue
        v = sum(Fraction(ci) * xi for ci, xi in zip(c, x))
        best = v if best is None or v > best else best
    return best


def _highs(c, A, b, A_eq=None, b_eq=None):
    return linprog(-np.asarray(c, float), A_ub=np.asarray(A, float), b_ub=np.asarray(b, float),
                   A_eq=None if A_eq is None else np.asarray(A_eq, float),
                   b_eq=None if b_eq is None else np.asarray(b_eq, float),
                   bounds=[(None, None)] * len(c), method="highs")


def _assert_optimal_certificate(c, A, b, res, A_eq=None, b_eq=None):
    assert res.status == "optimal"
    bound = check_dual_bound(c, A, b, res.y, A_eq, b_eq, res.y_eq if A_eq is not None else None)
    assert bound is not None and bound == res.value
    assert check_interior_point(A, b, res.x, strict=False)
    assert sum(F(ci) * F(xi) for ci, xi in zip(np.asarray(c, dtype=object).tolist(), res.x)) == F(res.value)


def _random_polytope(rng, m, n, scale, centre):
    A = rng.normal(size=(m, n))
    b = rng.uniform(0.5, 2.0, size=m)
    A = np.vstack([A, np.eye(n), -np.eye(n)])
    b = np.concatenate([b, np.full(2 * n, 3.0)])
    # the polytope {A u <= b} mapped to x = centre + scale * u: A x <= b * scale + A centre
    return A, b * scale + A @ centre, b


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
@pytest.mark.parametrize("n", [2, 3, 5])
def test_random_lps_agree_with_highs(scale, n):
    rng = np.random.default_rng(n)
    for trial in range(6):
        centre = rng.normal(size=n) * 10 * scale + 3 * scale
        A, b, b_unit = _random_polytope(rng, 12, n, scale, centre)
        c = rng.normal(size=n)
        res = solve_lp_exact(c, A, b)
        _assert_optimal_certificate(c, A, b, res)
        # HiGHS's tolerances are absolute (1e-7): it solves the unit-scale problem, mapped back exactly
        ref = _highs(c, A, b_unit)
        assert ref.status == 0
        want = c @ centre + scale * (-ref.fun)
        assert abs(float(res.value) - want) <= 1e-9 * (np.abs(c) @ np.abs(centre) + np.abs(c).sum() * scale)


def test_degenerate_many_rows_through_one_vertex_equals_brute_force():
    rng = np.random.default_rng(3)
    v = [Fraction(1, 3), Fraction(-2, 7)]          # not a binary fraction: rational input
    A, b = [], []
    for k in range(9):                             # nine lines through v, all supporting the cone below
        a = [Fraction(int(rng.integers(1, 9))), Fraction(int(rng.integers(-4, 5)))]
        A.append(a)
        b.append(a[0] * v[0] + a[1] * v[1])
    for row, rhs in (([-1, 0], 5), ([0, -1], 5), ([0, 1], 5), ([1, 0], 5)):
        A.append([Fraction(t) for t in row])
        b.append(Fraction(rhs))
    A_obj, b_obj = np.array(A, dtype=object), np.array(b, dtype=object)
    for c in ([1, 0], [1, 1], [2, 1], [0, 1], [-1, 0]):
        res = solve_lp_exact(np.array(c, dtype=object), A_obj, b_obj)
        _assert_optimal_certificate(np.array(c, dtype=object), A_obj, b_obj, res)
        assert F(res.value) == brute_force_max(c, A, b)
    # warm-started from every wrong basis the exact simplex must still reach the same optimum
    c = np.array([1, 1], dtype=object)
    want = brute_force_max([1, 1], A, b)
    pivoted = 0
    for B in itertools.combinations(range(len(A)), 2):
        res = solve_lp_exact(c, A_obj, b_obj, warm_basis=list(B))
        assert res.status == "optimal" and F(res.value) == want
        pivoted += res.method == "simplex"
    assert pivoted > 0   # the dual, primal and auxiliary (phase 1) paths were exercised


def test_duplicate_rows_and_rows_differing_in_the_last_bit():
    one_up = np.nextafter(1.0, 2.0)
    A = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, one_up], [one_up, 1.0], [-1.0, 0.0], [0.0, -1.0],
                  [1.0, 0.0], [0.0, 1.0]])
    b = np.array([1.0, 1.0, one_up, 1.0, 1.0, 0.0, 0.0, 0.75, 0.75])
    for c in ([1.0, 1.0], [1.0, 0.5], [0.5, 1.0], [1.0, one_up], [one_up, 1.0]):
        res = solve_lp_exact(c, A, b)
        _assert_optimal_certificate(c, A, b, res)
        assert F(res.value) == brute_force_max([Fraction(v) for v in c], A.tolist(), b.tolist())
        ref = _highs(c, A, b)
        assert abs(float(res.value) + ref.fun) <= 1e-12


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_infeasible_lps_get_a_farkas_ray(scale):
    rng = np.random.default_rng(5)
    for trial in range(5):
        n = 3
        A, b, _ = _random_polytope(rng, 8, n, scale, np.full(n, 2.0 * scale))
        # cut it off: c.x >= max + margin
        c = rng.normal(size=n)
        top = -_highs(c, A, b).fun
        A2 = np.vstack([A, -c])
        b2 = np.concatenate([b, [-(top + 0.1 * scale * np.abs(c).sum())]])
        assert _highs(np.zeros(n), A2, b2).status == 2
        res = solve_lp_exact(rng.normal(size=n), A2, b2)
        assert res.status == "infeasible"
        assert check_farkas(A2, b2, res.y)
    # an infeasible system whose margin is the last bit of one coefficient
    A = np.array([[1.0], [-1.0]])
    b = np.array([1.0, -np.nextafter(1.0, 2.0)])
    res = solve_lp_exact([1.0], A, b)
    assert res.status == "infeasible" and check_farkas(A, b, res.y)
    assert solve_lp_exact([1.0], A, np.array([1.0, -1.0])).status == "optimal"


def test_unbounded_lps_get_a_ray():
    A = np.array([[1.0, -1.0], [-1.0, -1.0], [0.0, -1.0]])     # a cone opening upwards
    b = np.array([0.5, 0.5, 3.0])
    assert _highs([0.0, 1.0], A, b).status == 3
    res = solve_lp_exact([0.0, 1.0], A, b)
    assert res.status == "unbounded"
    assert check_ray([0.0, 1.0], A, res.ray) and check_interior_point(A, b, res.x, strict=False)
    # bounded in that direction: the lowest point
    res = solve_lp_exact([0.0, -1.0], A, b)
    assert res.status == "optimal" and res.value == flint.fmpq(1, 2)
    # a line in the feasible set (A of rank 1 < n): unbounded along it, or optimal when c is orthogonal to it
    A = np.array([[1.0, 1.0], [-1.0, -1.0]])
    b = np.array([1.0, 1.0])
    res = solve_lp_exact([1.0, 0.0], A, b)
    assert res.status == "unbounded" and check_ray([1.0, 0.0], A, res.ray)
    res = solve_lp_exact([2.0, 2.0], A, b)
    assert res.status == "optimal" and res.value == 2 and check_dual_bound([2.0, 2.0], A, b, res.y) == 2


def test_equalities_agree_with_highs():
    rng = np.random.default_rng(7)
    n = 4
    for trial in range(5):
        A, b, _ = _random_polytope(rng, 6, n, 1.0, np.full(n, 0.5))
        E = rng.normal(size=(2, n))
        E = np.vstack([E, 2 * E[0]])                # a redundant equality (exactly twice the first)
        e = E @ np.full(n, 0.5)
        e[2] = 2 * e[0]
        c = rng.normal(size=n)
        ref = _highs(c, A, b, E, e)
        res = solve_lp_exact(c, A, b, E, e)
        _assert_optimal_certificate(c, A, b, res, E, e)
        assert abs(float(res.value) + ref.fun) <= 1e-9 * (1 + abs(ref.fun))
    # an inconsistent pair of equalities
    res = solve_lp_exact([1.0, 0.0], np.zeros((0, 2)), np.zeros(0), [[1.0, 1.0], [2.0, 2.0]], [1.0, 3.0])
    assert res.status == "infeasible"
    assert check_farkas(np.zeros((0, 2)), np.zeros(0), res.y, [[1.0, 1.0], [2.0, 2.0]], [1.0, 3.0], res.y_eq)


def test_corrupted_certificates_are_rejected():
    rng = np.random.default_rng(11)
    A, b, _ = _random_polytope(rng, 10, 3, 1.0, np.zeros(3))
    c = rng.normal(size=3)
    res = solve_lp_exact(c, A, b)
    y = res.y.copy()
    assert check_dual_bound(c, A, b, y) == res.value
    support = [i for i in range(len(y)) if y[i] != 0]
    flipped = y.copy()
    flipped[support[0]] = -flipped[support[0]]
    assert check_dual_bound(c, A, b, flipped) is None
    dropped = y.copy()
    dropped[support[-1]] = 0
    assert check_dual_bound(c, A, b, dropped) is None
    # dropping the row itself from the data (the multiplier of the next row then sits on the wrong row)
    keep = [i for i in range(len(y)) if i != support[0]]
    assert check_dual_bound(c, A[keep], b[keep], np.delete(y, support[0])) is None
    # a dual vector that is valid but not optimal proves a weaker, still valid bound
    loose = y.copy()
    A2 = np.vstack([A, np.zeros(3)])
    b2 = np.concatenate([b, [1.0]])
    loose = np.concatenate([loose, [flint.fmpq(1)]])
    assert check_dual_bound(c, A2, b2, loose) == res.value + 1
    # Farkas: flip a sign, drop a row
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    b = np.array([0.0, -1.0, 2.0])
    res = solve_lp_exact([0.0, 1.0], A, b)
    assert res.status == "infeasible" and check_farkas(A, b, res.y)
    bad = res.y.copy()
    bad[1] = -bad[1]
    assert not check_farkas(A, b, bad)
    bad = res.y.copy()
    bad[0] = 0
    assert not check_farkas(A, b, bad)
    assert not check_farkas(A, np.array([0.0, 1.0, 2.0]), res.y)   # feasible data: no ray can pass
    # interior points and rays
    assert not check_interior_point(A[:2], [1.0, 0.0], [0.0, 0.0])
    assert check_interior_point(A[:2], [1.0, 0.0], [0.5, 0.0])
    assert not check_ray([0.0, 1.0], [[0.0, 1.0]], [0.0, 1.0])


def test_chebyshev_radius_encloses_closed_forms():
    for scale in (1e-6, 1.0, 1e6):
        centre = np.array([3.0, -7.0]) * scale
        # box: inradius half the smaller width, exactly, from the (rounded) float data
        A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        b = np.array([1.0, 1.0, 3.0, 3.0]) * scale + A @ centre
        q = [Fraction(v) for v in b]
        enc = chebyshev_radius_exact(A, b)
        assert F(enc.lo) == F(enc.hi) == min(q[0] + q[1], q[2] + q[3]) / 2
        # triangle x >= -b0, y >= -b1, 4x + 3y <= b2: legs s/4, s/3, hypotenuse 5s/12 (s = b2 + 4 b0 + 3 b1),
        # inradius (a + b - c) / 2 = s / 12; all norms are rational here, so the enclosure is a point
        A = np.array([[-1.0, 0.0], [0.0, -1.0], [4.0, 3.0]])
        b = np.array([0.0, 0.0, 12.0 * scale]) + A @ centre
        q = [Fraction(v) for v in b]
        enc = chebyshev_radius_exact(A, b)
        assert F(enc.lo) == F(enc.hi) == (q[2] + 4 * q[0] + 3 * q[1]) / 12
        # triangle x >= -b0, y >= -b1, x + y <= b2: inradius s / (2 + sqrt 2) (s = b0 + b1 + b2), irrational:
        # lo (2 + sqrt 2) <= s <= hi (2 + sqrt 2), decided by squaring in Fraction
        A = np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]])
        b = np.array([0.0, 0.0, scale]) + A @ centre
        s = sum(Fraction(v) for v in b)
        enc = chebyshev_radius_exact(A, b)
        lo, hi = F(enc.lo), F(enc.hi)
        assert s - 2 * lo >= 0 and 2 * lo ** 2 <= (s - 2 * lo) ** 2
        assert s - 2 * hi <= 0 or 2 * hi ** 2 >= (s - 2 * hi) ** 2
        assert 0 < hi - lo <= lo * Fraction(1, 2 ** 60)
        # the centre's ball of radius lo satisfies every row with the upper norm bounds
        _, up = norm_bounds(A)
        for row, bi, u in zip(A.tolist(), b.tolist(), up):
            assert sum(F(a) * F(x) for a, x in zip(row, enc.centre)) + F(u) * lo <= Fraction(bi)
        # HiGHS on the unit-scale problem, mapped back
        ref = linprog([0, 0, -1], A_ub=np.hstack([A, np.linalg.norm(A, axis=1)[:, None]]), b_ub=[0, 0, 1],
                      bounds=[(None, None)] * 3, method="highs")
        assert abs(-ref.fun * scale - float(enc.lo)) <= 1e-9 * scale


def test_chebyshev_sign_decides_full_dimensionality():
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    flat = chebyshev_radius_exact(A, [1.0, 1.0, 0.0, 0.0])          # a segment: radius exactly 0
    assert flat.lo == flat.hi == 0 and not flat.positive
    thin = chebyshev_radius_exact(A, [1.0, 1.0, 5e-324, 0.0])       # the thinnest float box: positive
    assert thin.positive and thin.lo == flint.fmpq(1, 2 ** 1075)
    empty = chebyshev_radius_exact(A, [1.0, 1.0, -0.5, 0.0])        # empty: negative radius
    assert empty.hi < 0 and not empty.positive
    assert chebyshev_radius_exact(A[:1], [1.0]).status == "unbounded"
    assert chebyshev_radius_exact(np.zeros((1, 2)), [-1.0]).status == "empty"


def test_data_beyond_float_range_is_solved_exactly():
    """Rationals too large for float64 (no float guess is possible): the exact simplex alone, against the
    brute force in Fraction."""
    big = flint.fmpq(10) ** 400
    A = np.array([[big, 0], [0, 1], [-1, 0], [0, -1], [1, 1]], dtype=object)
    A = np.vectorize(lambda v: flint.fmpq(v), otypes=[object])(A)
    b = np.array([big, 1, 1, 1, flint.fmpq(3, 2)], dtype=object)
    res = solve_lp_exact(np.array([flint.fmpq(1), flint.fmpq(1)], dtype=object), A, b)
    want = brute_force_max([1, 1], [[F(v) for v in row] for row in A], [F(v) for v in b])
    assert res.status == "optimal" and F(res.value) == want == Fraction(3, 2)


def test_pivot_limit_is_a_status():
    """A pivot limit stops the exact simplex cleanly with the status, not an exception; without the limit the
    same warm start reaches the brute-force optimum."""
    A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 2.0]])
    b = np.array([1.0, 1.0, 1.5, 1.0, 1.0, 2.0])
    res = solve_lp_exact([1.0, 1.0], A, b, warm_basis=[3, 4], max_pivots=0)
    assert res.status == "iteration_limit" and res.x is None
    res = solve_lp_exact([1.0, 1.0], A, b, warm_basis=[3, 4])
    assert res.status == "optimal" and F(res.value) == brute_force_max([1, 1], A.tolist(), b.tolist())
    assert res.pivots > 0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="b must have one entry per row of A"):
        solve_lp_exact([1.0], [[1.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="A must have 2 columns"):
        solve_lp_exact([1.0, 1.0], [[1.0]], [1.0])
    with pytest.raises(ValueError, match="finite"):
        solve_lp_exact([np.nan], [[1.0]], [1.0])
    with pytest.raises(TypeError, match="c must be real numbers"):
        solve_lp_exact(["a"], [[1.0]], [1.0])
    with pytest.raises(TypeError, match="A must hold"):
        solve_lp_exact([1.0], np.array([[object()]], dtype=object), [1.0])
    with pytest.raises(ValueError, match="A_eq and b_eq must be given together"):
        solve_lp_exact([1.0], [[1.0]], [1.0], A_eq=[[1.0]])
    with pytest.raises(ValueError, match="max_pivots"):
        solve_lp_exact([1.0], [[1.0]], [1.0], max_pivots=-1)
    with pytest.raises(ValueError, match="warm_basis must name rows"):
        solve_lp_exact([1.0], [[1.0]], [1.0], warm_basis=[3])
    with pytest.raises(TypeError, match="warm_basis"):
        solve_lp_exact([1.0], [[1.0]], [1.0], warm_basis=[0.5])
    with pytest.raises(ValueError, match="y must have one entry per row of A"):
        check_farkas([[1.0]], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="x must have 1 entries"):
        check_interior_point([[1.0]], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="bits"):
        norm_bounds([[1.0]], bits=0)
