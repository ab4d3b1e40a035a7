"""The compiled dual simplex, ``relutope._core.solve_lp``, against HiGHS (scipy.optimize.linprog).

``solve_lp(c, G, h, lb, ub)`` maximises ``c . y`` subject to ``G y <= h`` and ``lb <= y <= ub``. Every random LP
below is built so that its status (optimal, infeasible, unbounded) is known by construction; both solvers must
report it, and when optimal the values must agree to 1e-7 (relative) and our point must be feasible and attain
the value.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from relutope._core import solve_lp

HIGHS_STATUS = {0: "optimal", 2: "infeasible", 3: "unbounded"}
FEAS_TOL = 1e-8


def highs(c, G, h, lb, ub):
    """(status, value) of max c.y s.t. G y <= h, lb <= y <= ub by HiGHS.

    HiGHS's presolve (scipy 1.17) calls about 0.3% of the unbounded LPs built below "infeasible" although they have
    a feasible point (see test_highs_presolve_misreads_an_unbounded_lp), and without presolve it sometimes fails
    ("Solve error") on infeasible ones. So an "infeasible" verdict is checked with a feasibility LP (c = 0) and,
    when that finds a point, the LP is solved again without presolve.
    """
    bounds = [(None if np.isinf(lo) else lo, None if np.isinf(hi) else hi) for lo, hi in zip(lb, ub)]
    kw = dict(A_ub=G if len(h) else None, b_ub=h if len(h) else None, bounds=bounds, method="highs")
    res = linprog(-np.asarray(c), **kw)
    if res.status == 2 and linprog(np.zeros(len(c)), **kw).status == 0:
        res = linprog(-np.asarray(c), options={"presolve": False}, **kw)
    status = HIGHS_STATUS.get(res.status, f"highs status {res.status}: {res.message}")
    return status, (-res.fun if res.status == 0 else None)


def check(c, G, h, lb, ub, expected: str):
    c, G, h, lb, ub = (np.asarray(a, dtype=np.float64) for a in (c, G, h, lb, ub))
    status, y, value, iterations = solve_lp(c, G, h, lb, ub)
    ref_status, ref_value = highs(c, G, h, lb, ub)
    assert ref_status == expected, "the generator is wrong (HiGHS disagrees with the construction)"
    assert status == expected, f"solve_lp says {status}, expected {expected}"
    assert iterations >= 0 and y.shape == c.shape
    if expected == "optimal":
        scale = max(1.0, abs(ref_value))
        assert abs(value - ref_value) <= 1e-7 * scale, (value, ref_value)
        assert abs(c @ y - value) <= 1e-9 * max(1.0, np.abs(c) @ np.abs(y))
        slack = h - G @ y
        assert np.all(slack >= -FEAS_TOL * (1 + np.abs(h) + np.abs(G) @ np.abs(y)))
        assert np.all(y >= lb - FEAS_TOL * (1 + np.abs(lb))) and np.all(y <= ub + FEAS_TOL * (1 + np.abs(ub)))
    elif expected == "unbounded":
        assert value == np.inf


# ---------------------------------------------------------------------------------------------- generators
def bounded_feasible(rng):
    """Random rows through a known interior point y0 and finite box bounds around it."""
    n = int(rng.integers(1, 8))
    m = int(rng.integers(0, 15))
    y0 = rng.normal(size=n)
    G = rng.normal(size=(m, n)) * rng.choice([1e-2, 1.0, 1e2], size=(m, 1))
    h = G @ y0 + rng.uniform(0.01, 2.0, m) * np.linalg.norm(G, axis=1)
    lb = y0 - rng.uniform(0.1, 3.0, n)
    ub = y0 + rng.uniform(0.1, 3.0, n)
    if rng.random() < 0.3:  # some bounds infinite, others finite; rows of a simplex keep it bounded
        free = rng.random(n) < 0.5
        lb[free], ub[free] = -np.inf, np.inf
        S = np.vstack([-np.eye(n), np.ones((1, n))])
        G = np.vstack([G, S])
        h = np.concatenate([h, S @ y0 + 1.0])
    return rng.normal(size=n), G, h, lb, ub, "optimal"


def degenerate(rng):
    """Many rows through one vertex v (with c in their cone, v is optimal), duplicated and parallel rows."""
    n = int(rng.integers(2, 6))
    v = rng.normal(size=n)
    k = int(rng.integers(n + 1, 3 * n + 2))
    G = rng.normal(size=(k, n))
    G[:, 0] = np.abs(G[:, 0]) + 0.5  # every row leans along +y_0: the cone of the rows is pointed
    h = G @ v
    c = rng.uniform(0.1, 1.0, k) @ G  # a positive combination of the active rows
    extra = []
    dup = G[rng.integers(0, k, 3)]
    extra.append((dup, dup @ v))  # exact duplicates
    par = G[rng.integers(0, k, 3)] * rng.uniform(0.5, 4.0, (3, 1))
    extra.append((par, par @ v + rng.uniform(0.0, 1.0, 3) * rng.integers(0, 2, 3)))  # parallel, tight or loose
    G = np.vstack([G] + [e[0] for e in extra])
    h = np.concatenate([h] + [e[1] for e in extra])
    perm = rng.permutation(len(h))
    lb = np.where(rng.random(n) < 0.5, -np.inf, v - rng.uniform(0.5, 2.0, n))
    ub = np.where(rng.random(n) < 0.5, np.inf, v + rng.uniform(0.0, 2.0, n))
    tight = rng.random(n) < 0.25
    ub[tight] = v[tight]  # bounds through v as well: still more degenerate, v still optimal
    return c, G[perm], h[perm], lb, ub, "optimal"


def infeasible(rng):
    """A contradictory pair g.y <= a and -g.y <= -a - delta among random feasible rows."""
    c, G, h, lb, ub, _ = bounded_feasible(rng)
    n = len(c)
    g = rng.normal(size=n)
    a = float(rng.normal())
    delta = float(rng.choice([1e-3, 0.1, 1.0]))
    G = np.vstack([G, g, -g])
    h = np.concatenate([h, [a, -a - delta]])
    if rng.random() < 0.5:
        lb, ub = np.full(n, -np.inf), np.full(n, np.inf)
    perm = rng.permutation(len(h))
    return c, G[perm], h[perm], lb, ub, "infeasible"


def infeasible_bounds(rng):
    """A row that the box bounds cannot satisfy: sum y <= sum(lb) - 1."""
    n = int(rng.integers(1, 6))
    lb = rng.normal(size=n)
    ub = lb + rng.uniform(0.1, 2.0, n)
    G = np.ones((1, n))
    return rng.normal(size=n), G, np.array([lb.sum() - 1.0]), lb, ub, "infeasible"


def unbounded(rng):
    """A recession direction r (G r <= 0, within the bounds' free directions) with c . r > 0."""
    n = int(rng.integers(1, 7))
    y0 = rng.normal(size=n)
    r = rng.normal(size=n)
    m = int(rng.integers(0, 12))
    G = rng.normal(size=(m, n))
    G -= np.maximum(G @ r, 0)[:, None] * r / (r @ r)  # now G r <= 0 for every row
    G -= 0.1 * rng.random((m, 1)) * r / np.linalg.norm(r)  # strictly for most
    h = G @ y0 + rng.uniform(0.0, 1.0, m)
    c = rng.normal(size=n)
    c += (1.0 - c @ r) * r / (r @ r)  # c . r = 1
    lb = np.where(r > 0, y0 - 1.0, -np.inf)  # bounds only on the side r does not head to
    ub = np.where(r < 0, y0 + 1.0, np.inf)
    return c, G, h, lb, ub, "unbounded"


GENERATORS = {"bounded": bounded_feasible, "degenerate": degenerate, "infeasible": infeasible,
              "infeasible_bounds": infeasible_bounds, "unbounded": unbounded}
COUNTS = {"bounded": 1200, "degenerate": 700, "infeasible": 500, "infeasible_bounds": 100, "unbounded": 500}


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_random_lps_agree_with_highs(kind):
    rng = np.random.default_rng(sum(map(ord, kind)))
    for i in range(COUNTS[kind]):
        c, G, h, lb, ub, expected = GENERATORS[kind](rng)
        try:
            check(c, G, h, lb, ub, expected)
        except AssertionError as exc:
            raise AssertionError(f"{kind} LP #{i}: c={c!r}, G={G!r}, h={h!r}, lb={lb!r}, ub={ub!r}: {exc}") from None


# ---------------------------------------------------------------------------------------------- hand-made
def test_closed_forms():
    inf = np.inf
    # max y0 + y1 on the unit box: (1, 1)
    status, y, value, _ = solve_lp(np.ones(2), np.zeros((0, 2)), np.zeros(0), np.zeros(2), np.ones(2))
    assert status == "optimal" and value == pytest.approx(2.0) and np.allclose(y, 1.0)
    # max y0 + y1 s.t. y0 + y1 <= 1, free variables: value 1 (a whole edge is optimal)
    status, y, value, _ = solve_lp(np.ones(2), np.ones((1, 2)), np.ones(1), np.full(2, -inf), np.full(2, inf))
    assert status == "optimal" and value == pytest.approx(1.0) and y.sum() == pytest.approx(1.0)
    # free and no rows: unbounded unless c == 0
    assert solve_lp(np.ones(3), np.zeros((0, 3)), np.zeros(0), np.full(3, -inf), np.full(3, inf))[0] == "unbounded"
    status, _, value, _ = solve_lp(np.zeros(3), np.zeros((0, 3)), np.zeros(0), np.full(3, -inf), np.full(3, inf))
    assert status == "optimal" and value == 0.0
    # lb > ub: infeasible
    assert solve_lp(np.ones(2), np.zeros((0, 2)), np.zeros(0), [1.0, 0.0], [0.0, 1.0])[0] == "infeasible"
    # a zero row 0 <= -1: infeasible; 0 <= 0: fine
    assert solve_lp(np.ones(2), np.zeros((1, 2)), [-1.0], np.zeros(2), np.ones(2))[0] == "infeasible"
    assert solve_lp(np.ones(2), np.zeros((1, 2)), [0.0], np.zeros(2), np.ones(2))[2] == pytest.approx(2.0)
    # the Chebyshev LP of the triangle x, y >= 0, x + y <= 1: r = (2 - sqrt 2) / 2
    G = np.array([[-1.0, 0.0, 1.0], [0.0, -1.0, 1.0], [1.0, 1.0, np.sqrt(2.0)]])
    status, y, value, _ = solve_lp([0.0, 0.0, 1.0], G, [0.0, 0.0, 1.0], [-inf, -inf, 0.0], [inf, inf, inf])
    assert status == "optimal" and value == pytest.approx((2 - np.sqrt(2)) / 2, rel=1e-12)
    np.testing.assert_allclose(y[:2], value, rtol=1e-12)
    # no variables at all
    assert solve_lp(np.zeros(0), np.zeros((0, 0)), np.zeros(0), np.zeros(0), np.zeros(0))[0] == "optimal"


def test_klee_minty_cube():
    """The Klee-Minty cube (n = 8): max sum 2^(n-j) y_j; the optimum is y = (0, ..., 0, 5^n), value 5^n."""
    n = 8
    G = np.zeros((n, n))
    h = 5.0 ** np.arange(1, n + 1)
    for i in range(n):
        G[i, :i] = 2.0 ** (i - np.arange(i) + 1)
        G[i, i] = 1.0
    c = 2.0 ** (n - 1 - np.arange(n))
    status, y, value, _ = solve_lp(c, G, h, np.zeros(n), np.full(n, np.inf))
    assert status == "optimal" and value == pytest.approx(5.0 ** n, rel=1e-12)
    np.testing.assert_allclose(y, np.r_[np.zeros(n - 1), 5.0 ** n], atol=1e-6)


def test_highs_presolve_misreads_an_unbounded_lp():
    """An LP from the `unbounded` generator that HiGHS with presolve (scipy 1.17) calls infeasible: it has a
    feasible point and c . y is unbounded on it. solve_lp gets it right."""
    c = np.array([0.4117119455365789, 0.01859464346679011, 0.39232099626780387, -1.34419621281559,
                  -1.1965742760297322])
    G = np.array([[-1.6975155022005777, 0.07613524031844013, -0.700878928536038, -0.907077967450868,
                   -1.2856921140917874],
                  [0.2982467339176039, 0.5590313551236057, 0.14262338323665852, 0.45066602491213964,
                   0.01887421955337578],
                  [-1.9759207712849236, 0.43525342987271964, -0.8447450426867892, 0.1500954091736585,
                   0.7383096342883134]])
    h = np.array([4.210623536965523, 0.897673527101321, 4.446772916831913])
    lb = np.array([-2.7485615751217294, 0.36538592839448447, -np.inf, -np.inf, -1.3840160351485538])
    ub = np.array([np.inf, np.inf, 0.8829727767996924, 0.5716941454046425, np.inf])
    y = np.array([-2.7122066929913617, 0.36538592839448447, 0.8829727767996924, 0.5716941454046425,
                  -0.5570696547565224])
    assert np.all(G @ y <= h + 1e-12) and np.all(lb <= y) and np.all(y <= ub)  # feasible
    for M in (1e3, 1e6):  # c . y reaches any level M on the feasible set (HiGHS, presolve on, is fine here)
        bounds = [(None if np.isinf(lo) else lo, None if np.isinf(hi) else hi) for lo, hi in zip(lb, ub)]
        res = linprog(-c, A_ub=np.vstack([G, c]), b_ub=np.r_[h, M], bounds=bounds, method="highs")
        assert res.status == 0 and -res.fun == pytest.approx(M, rel=1e-9)
    status, _, value, _ = solve_lp(c, G, h, lb, ub)
    assert status == "unbounded" and value == np.inf
    assert highs(c, G, h, lb, ub)[0] == "unbounded"


# ---------------------------------------------------------------------------------------------- hypothesis
small = st.integers(-4, 4).map(float)


@st.composite
def integer_lps(draw):
    n = draw(st.integers(1, 4))
    m = draw(st.integers(0, 6))
    c = draw(st.lists(small, min_size=n, max_size=n))
    G = draw(st.lists(st.lists(small, min_size=n, max_size=n), min_size=m, max_size=m))
    h = draw(st.lists(small, min_size=m, max_size=m))
    lb = draw(st.lists(st.sampled_from([-np.inf, -3.0, -1.0, 0.0]), min_size=n, max_size=n))
    ub = draw(st.lists(st.sampled_from([np.inf, 0.0, 1.0, 3.0]), min_size=n, max_size=n))
    return (np.array(c), np.array(G, dtype=np.float64).reshape(m, n), np.array(h), np.array(lb), np.array(ub))


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(integer_lps())
def test_integer_lps_agree_with_highs(lp):
    """Small integer LPs: any mix of feasible, infeasible, unbounded and degenerate (ties are everywhere)."""
    c, G, h, lb, ub = lp
    ref_status, _ = highs(c, G, h, lb, ub)
    if ref_status not in ("optimal", "infeasible", "unbounded"):
        return  # HiGHS itself undecided ("infeasible or unbounded"): no reference
    check(c, G, h, lb, ub, ref_status)


# ---------------------------------------------------------------------------------------------- bad input
def good():
    return [np.ones(2), np.ones((1, 2)), np.ones(1), np.zeros(2), np.ones(2)]


@pytest.mark.parametrize("position,value,match", [
    (1, np.ones((1, 3)), "G"),
    (1, np.ones(2), "G"),
    (2, np.ones(2), "h"),
    (3, np.zeros(3), "lb"),
    (4, np.ones(1), "ub"),
    (0, np.ones((2, 1)), "c"),
    (0, np.array([1.0, np.nan]), "c"),
    (0, np.array([1.0, np.inf]), "c"),
    (1, np.array([[np.nan, 1.0]]), "G"),
    (1, np.array([[np.inf, 1.0]]), "G"),
    (2, np.array([np.nan]), "h"),
    (2, np.array([np.inf]), "h"),
    (3, np.array([np.nan, 0.0]), "lb"),
    (4, np.array([1.0, np.nan]), "ub"),
])
def test_bad_input_raises_value_error(position, value, match):
    args = good()
    args[position] = value
    with pytest.raises(ValueError, match=match):
        solve_lp(*args)


def test_non_numeric_input_raises_type_error():
    args = good()
    args[0] = ["a", "b"]
    with pytest.raises(TypeError):
        solve_lp(*args)


@pytest.mark.parametrize("lb0,ub0", [(np.inf, np.inf), (-np.inf, -np.inf)])
def test_infinite_bound_on_the_wrong_side(lb0, ub0):
    c, G, h = np.array([1.0, 1.0]), np.zeros((0, 2)), np.zeros(0)
    lb, ub = np.array([lb0, 0.0]), np.array([ub0, 2.0])
    try:
        status = solve_lp(c, G, h, lb, ub)[0]
    except ValueError as exc:
        assert "lb" in str(exc) or "ub" in str(exc)
    else:
        assert status == "infeasible"
