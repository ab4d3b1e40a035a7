"""check_complete(certify=True) against an exact brute force of the activation regions, on the dead-unit nets.

The reference (:func:`exact_regions`) is built here, independently of relutope.certified_facets: every unit's
pieces composed layer by layer in Python's ``fractions`` from the float64 weights taken exactly, a depth-first
search over the pieces of every unit, each branch kept iff its rows (with the box's) have a positive exact
Chebyshev radius (relutope.exact_lp.chebyshev_radius_exact: an exact LP, not the code under test). The tie rule
of relutope.Network.forward: a unit whose chosen piece equals a lower piece as a function (a persistent tie) is
not a region. A partition is complete exactly (no region missing, however thin) iff its patterns are all of these.

The dead-unit nets of tests/test_dead_units.py put the integer net at x = off + scale t with float64 weights
W1 / scale and b1 - W1 off / scale: the rounding parts hyperplanes that meet in one point of the box's boundary
in t (units 0, 1, 3 and the bent rows of layer 2 at t = (1, 0), unit 1 and the face t_1 = -1 at t = (0, -1)) by an
ulp, which leaves exact slivers ~1e-16 (relative) wide that no float enumeration at tol can see.
"""
import types
from fractions import Fraction

import numpy as np
import pytest
from test_dead_units import _CASES, _assert_dead_exactly, _dead_net, _maxout_net

import relutope
from relutope.certified_facets import certify_adjacency
from relutope.exact_lp import chebyshev_radius_exact

flint = pytest.importorskip("flint")


def exact_regions(net, lo, hi):
    """{pattern (tuple of int): (r, A, b)} of every activation region of ``net`` on the box ``[lo, hi]`` with a
    positive exact inradius (weights and box taken as the exact binary fractions): ``r = (lo, hi)`` exact bounds
    of the inradius (``lo > 0``), ``A x <= b`` (lists of Fraction) the region's rows, the box's first."""
    d = net.in_dim
    F = Fraction
    A0, b0 = [], []
    for j in range(d):
        e = [F(0)] * d
        e[j] = F(1)
        A0.append(e)
        b0.append(F(float(hi[j])))
        A0.append([-v for v in e])
        b0.append(-F(float(lo[j])))
    layers = [([[F(float(v)) for v in row] for row in L.A], [F(float(v)) for v in L.c], L.piece_start.tolist())
              for L in net.layers]
    out = {}

    def radius(A, b):
        return chebyshev_radius_exact(np.array(A, dtype=object), np.array(b, dtype=object))

    def walk(li, u, inp, nxt, A, b, pat, lo_r):
        if li == len(layers):
            out[tuple(pat)] = (lo_r, A, b)
            return
        W, c, ps = layers[li]
        if u == len(ps) - 1:
            walk(li + 1, 0, nxt, [], A, b, pat, lo_r)
            return
        f = []   # the unit's pieces as affine functions (gradient, offset) of x
        for r in range(ps[u], ps[u + 1]):
            f.append(([sum(W[r][i] * inp[i][0][j] for i in range(len(inp))) for j in range(d)],
                      sum(W[r][i] * inp[i][1] for i in range(len(inp))) + c[r]))
        for p in range(len(f)):
            if any(f[s] == f[p] for s in range(p)):
                continue                      # a lower piece is the same function: the tie goes to it
            rows = [([gs - gp for gs, gp in zip(f[s][0], f[p][0])], f[p][1] - f[s][1]) for s in range(len(f))
                    if s != p and f[s] != f[p]]
            A2, b2 = A + [r[0] for r in rows], b + [r[1] for r in rows]
            if rows:
                enc = radius(A2, b2)
                if not (enc.status == "bounded" and enc.lo > 0):
                    continue
                r_lo = (enc.lo, enc.hi)
            else:
                r_lo = lo_r
            walk(li, u + 1, inp, nxt + [f[p]], A2, b2, pat + [p], r_lo)

    x = [([F(int(i == j)) for j in range(d)], F(0)) for i in range(d)]
    enc = radius(A0, b0)
    walk(0, 0, x, [], A0, b0, [], (enc.lo, enc.hi))
    return out


def _patterns(part):
    return {tuple(int(v) for v in p) for p in part.patterns}


# Box centres (times the scale) off-centre at which the float64 composition leaves a non-zero row for the dead unit
# (the certified enumeration must re-decide it) and, exactly, no sliver: the float patterns are all the regions
# (both asserted below). Found by a random search (seed 5) over centres in [-10, 10]^d; _CASES[5] is one too.
_EXACT_CASES = [(2, 1.0, [6.100058474907605, 6.158815794729875]),
                (2, 1e-6, [3.047382231759755, -5.309795966603521]),
                (2, 1e6, [0.1277000284314198, -5.27611743208273]),
                _CASES[5]]


@pytest.mark.parametrize("d, scale, centre", _EXACT_CASES)
def test_certified_check_complete_accepts_an_exact_partition_with_a_dead_unit(d, scale, centre):
    # Was tests/test_found_defects.py on _CASES[0], whose partition is not exact: five slivers (next test).
    net, box = _dead_net(d, scale, centre)
    _assert_dead_exactly(net)
    cert = relutope.enumerate_regions(net, box, certify=True).certificate
    assert cert.status == "certified" and cert.n_failed >= 1     # the float row of the dead unit is not 0
    part = relutope.enumerate_regions(net, box, method="lp")
    assert _patterns(part) == set(exact_regions(net, box.lo, box.hi))   # the premise: exactly complete
    rep = part.check_complete(certify=True)
    assert rep.ok, rep.gaps


def test_certified_check_complete_accepts_exact_maxout_pieces_equal_on_a_region():
    d, scale, centre = _CASES[5]
    net, box = _maxout_net(d, scale, centre)
    part = relutope.enumerate_regions(net, box, method="lp")
    assert _patterns(part) == set(exact_regions(net, box.lo, box.hi))
    assert part.check_complete(certify=True).ok


def _in_closure(x, A, b):
    xs = [Fraction(int(v.p), int(v.q)) for v in x]
    return all(sum(a * xi for a, xi in zip(row, xs)) <= bi for row, bi in zip(A, b))


@pytest.mark.parametrize("maxout", [False, True])
def test_an_exact_sliver_the_float_partition_lacks_is_reported(maxout):
    # _CASES[0]: the float64 rows of units 1 and 9 (and others) lie an ulp inside a box face or a neighbour's
    # facet, so the exact net has regions of inradius ~1e-22 (scale 1e-6) the float partition cannot hold
    # (below its tol). The certificate claims that no region, however thin, is missing: it must refuse.
    d, scale, centre = _CASES[0]
    net, box = (_maxout_net if maxout else _dead_net)(d, scale, centre)
    part = relutope.enumerate_regions(net, box, method="lp")
    exact = exact_regions(net, box.lo, box.hi)
    missing = set(exact) - _patterns(part)
    assert _patterns(part) <= set(exact) and missing
    tol = flint.fmpq(*float(part.tol).as_integer_ratio())
    assert all(exact[p][0][1] < tol for p in missing)    # slivers: thinner than the float partition's tol
    rep = part.check_complete(certify=True)
    assert not rep.ok
    adj = rep.certificate["adjacency"]
    assert adj.gaps and len(rep.gaps) == len(adj.gaps)
    fac = rep.certificate["facets"]
    for i, u, s in adj.gaps:   # every gap is a facet whose exact relative-interior point touches a missing region
        ex = fac.regions[i]
        g = next(g for g in ex.facets if (u, s) in ex.sources(g))
        assert any(_in_closure(ex.facets[g], exact[p][1], exact[p][2]) for p in missing), (i, u, s)


@pytest.mark.parametrize("maxout", [False, True])
def test_certified_adjacency_needs_no_float_adjacency_across_a_waking_dead_unit(maxout, monkeypatch):
    # Across the facets of the dead unit's cell the unit wakes up: the neighbour is not the flip of the facet's
    # units. It was found only from the float adjacency (a gap without it); the pattern across is now decided
    # exactly at the facet's exact point, so hiding the float adjacency must change no proof.
    d, scale, centre = _EXACT_CASES[0]
    net, box = (_maxout_net if maxout else _dead_net)(d, scale, centre)
    part = relutope.enumerate_regions(net, box, method="lp")
    float_edges = {tuple(e) for e in part.adjacency().edges.tolist()}
    no_edges = types.SimpleNamespace(edges=np.zeros((0, 2), np.int64),
                                     neighbor=np.full(part.adjacency().neighbor.shape, -1))
    monkeypatch.setattr(part, "adjacency", lambda *args, **kwargs: no_edges)
    adj = certify_adjacency(part)
    assert not adj.gaps and adj.n_covered == adj.n_interior_facets
    assert {tuple(e) for e in adj.edges.tolist()} == float_edges == set(adj.extra_edges)
    assert adj.by_method == {"flip": adj.n_covered}
