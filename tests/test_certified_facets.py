"""Certified facets and adjacency (relutope.certified_facets) against an exact brute force on degenerate nets.

The reference is independent of the code under test: a ReLU network's region for every sign pattern is built
here in Python's ``fractions`` (layer by layer, from the float64 weights taken exactly), its vertices enumerated
by solving every k-subset of rows in Fraction; a pattern is a region iff its vertices span k dimensions (and, the
issue's criterion, iff its exact Chebyshev radius from relutope.exact_lp is positive: both are asserted to agree);
a row is a facet iff the vertices on it span k - 1 dimensions; two regions are adjacent iff their facets on one
hyperplane (opposite sides) meet in a (k-1)-dimensional set. Nets where floating point is tempted: three lines
(planes) through one point, duplicate units, hyperplanes through box vertices and along box edges, units
differing in the last bit, at scales 2^-20, 1, 2^20 (powers of two keep the degeneracy exact) off-centre.
"""
import itertools
from fractions import Fraction

import numpy as np
import pytest

from oracle import solve_fraction
import relutope
from relutope import Box, Network, enumerate_regions
from relutope.certified_facets import certify_adjacency, certify_facets, exact_region_halfspaces
from relutope.exact_lp import chebyshev_radius_exact, check_dual_bound

flint = pytest.importorskip("flint")


def F(v):
    return Fraction(int(v.p), int(v.q)) if isinstance(v, flint.fmpq) else Fraction(v)


# ------------------------------------------------------------------------------------------ the Fraction oracle
def _rank(vectors):
    rows = [list(v) for v in vectors]
    r = 0
    ncol = len(rows[0]) if rows else 0
    for col in range(ncol):
        piv = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if piv is None:
            continue
        rows[r], rows[piv] = rows[piv], rows[r]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                f = rows[i][col] / rows[r][col]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r])]
        r += 1
    return r


def _affine_dim(points):
    pts = list(points)
    if not pts:
        return -1
    return _rank([[a - b for a, b in zip(p, pts[0])] for p in pts[1:]]) if len(pts) > 1 else 0


def _vertices(rows, k, equal=None):
    """Vertices of {a.x <= b for (a, b) in rows} (and a.x == b for ``equal``), bounded; Fraction."""
    out = set()
    need = k - (1 if equal is not None else 0)
    for S in itertools.combinations(range(len(rows)), need):
        M = [rows[i][0] for i in S] + ([equal[0]] if equal is not None else [])
        rhs = [rows[i][1] for i in S] + ([equal[1]] if equal is not None else [])
        x = solve_fraction(M, rhs)
        if x is None:
            continue
        x = tuple(x)
        if all(sum(a * xi for a, xi in zip(row, x)) <= b for row, b in rows):
            out.add(x)
    return out


def oracle_rows(weights, lo, hi, pattern):
    """Rows ((a, b), (unit, piece)) of a ReLU net's pattern on a box, and whether a constant row rules it out.

    Conventions of relutope (independently re-derived): domain rows x_j <= hi_j then -x_j <= -lo_j (sources
    -1 - i); ReLU pieces [0, z]; an active unit (piece 1) has row -z <= 0 across to piece 0, an inactive one
    z <= 0 across to piece 1; a unit whose z is constant c is active iff c > 0 (ties go to piece 0)."""
    d = len(lo)
    rows, src = [], []
    for j in range(d):
        rows.append(([Fraction(int(i == j)) for i in range(d)], Fraction(hi[j])))
    for j in range(d):
        rows.append(([Fraction(-int(i == j)) for i in range(d)], Fraction(-lo[j])))
    src = [(-1 - i, -1) for i in range(2 * d)]
    M = [[Fraction(int(i == j)) for j in range(d)] for i in range(d)]
    v = [Fraction(0)] * d
    unit = 0
    impossible = False
    for W, b in weights[:-1]:
        Z = [[sum(Fraction(W[i][t]) * M[t][j] for t in range(len(M))) for j in range(d)] for i in range(len(W))]
        z0 = [sum(Fraction(W[i][t]) * v[t] for t in range(len(v))) + Fraction(b[i]) for i in range(len(W))]
        for i in range(len(W)):
            active = pattern[unit] == 1
            if all(c == 0 for c in Z[i]):
                impossible |= (z0[i] > 0) != active
            elif active:
                rows.append(([-c for c in Z[i]], z0[i]))
                src.append((unit, 0))
            else:
                rows.append((list(Z[i]), -z0[i]))
                src.append((unit, 1))
            unit += 1
        M = [Z[i] if pattern[unit - len(W) + i] == 1 else [Fraction(0)] * d for i in range(len(W))]
        v = [z0[i] if pattern[unit - len(W) + i] == 1 else Fraction(0) for i in range(len(W))]
    return rows, src, impossible


def brute_force(weights, lo, hi):
    """{pattern: (rows, sources, vertices)} of every full-dimensional region, over all sign patterns."""
    d = len(lo)
    n_hidden = sum(len(W) for W, _ in weights[:-1])
    n_out = len(weights[-1][0])
    regions = {}
    # depth-first over units, pruned by the vertex test (a partial pattern's rows must already span k dims)
    def walk(prefix):
        depth = len(prefix)
        pat = list(prefix) + [0] * (n_hidden - depth) + [0] * n_out
        rows, src, impossible = oracle_rows(_truncate(weights, depth), lo, hi, pat)
        if impossible:
            return
        V = _vertices(rows, d)
        if _affine_dim(V) < d:
            return
        if depth == n_hidden:
            regions[tuple(pat)] = (rows, src, V)
            return
        for p in (0, 1):
            walk(prefix + (p,))
    walk(())
    return regions


def _truncate(weights, n_units):
    """The hidden units up to the first ``n_units`` (later ones dropped), for the partial patterns."""
    out, left = [], n_units
    for W, b in weights[:-1]:
        if left <= 0:
            break
        out.append((W[:left], b[:left]))
        left -= len(W)
    return out + [weights[-1]]


def oracle_facets(rows, src, V, k):
    """{frozenset of sources: tight vertices} of the facets, and the sources of the redundant rows."""
    by_face = {}
    redundant = set()
    for (a, b), s in zip(rows, src):
        tight = frozenset(x for x in V if sum(ai * xi for ai, xi in zip(a, x)) == b)
        if _affine_dim(tight) == k - 1:
            by_face.setdefault(tight, set()).add(s)
        else:
            redundant.add(s)
    return {frozenset(s): face for face, s in by_face.items()}, redundant


def _key(a, b):
    j = next(j for j, c in enumerate(a) if c != 0)
    lam = abs(a[j])
    return tuple(c / lam for c in a) + (b / lam,)


def oracle_adjacency(regions, k):
    """Pairs of patterns whose facets on one hyperplane (opposite sides) meet in a (k-1)-dimensional set."""
    facets, facet_rows = {}, {}
    for pat, (rows, src, V) in regions.items():
        fac, _ = oracle_facets(rows, src, V, k)
        facet_rows[pat] = [r for r, s in zip(rows, src) if any(s in f for f in fac)]
        for sources in fac:
            i = next(i for i, s in enumerate(src) if s in sources)
            facets.setdefault(_key(*rows[i]), []).append((pat, rows[i]))
    pairs = set()
    for key, items in facets.items():
        a, b = items[0][1]
        opposite = _key([-c for c in a], -b)
        for pat, row in items:
            for pat2, _ in facets.get(opposite, []):
                if pat2 < pat:
                    continue
                both = {_key(*r): r for r in facet_rows[pat] + facet_rows[pat2]}
                both = [r for kk, r in both.items() if kk not in (key, opposite)]
                if _affine_dim(_vertices(both, k, equal=row)) == k - 1:
                    pairs.add((pat, pat2))
    return pairs


# ---------------------------------------------------------------------------------------------- degenerate nets
def _scaled(weights, lo, hi, scale, shift):
    """The net and box moved to x = shift + scale * u exactly (scale a power of two, shift dyadic)."""
    (W1, b1), rest = weights[0], weights[1:]
    W1 = np.asarray(W1, float)
    b1n = np.asarray(b1, float) - W1 @ np.asarray(shift, float) / scale
    out = [(W1 / scale, b1n)] + [(np.asarray(W, float), np.asarray(b, float)) for W, b in rest]
    for W, b in out:   # the scaling must be exact for the degeneracy to survive
        assert np.all(np.isfinite(W)) and np.all(np.isfinite(b))
    lo2 = np.asarray(shift, float) + scale * np.asarray(lo, float)
    hi2 = np.asarray(shift, float) + scale * np.asarray(hi, float)
    assert np.array_equal((lo2 - shift) / scale, lo) and np.array_equal((hi2 - shift) / scale, hi)
    assert np.array_equal(W1 @ np.asarray(shift, float) / scale, (W1 / scale) @ np.asarray(shift, float))
    return out, lo2, hi2


NETS = {
    # three lines through (0.25, -0.5), inside the box; a second layer unit through the same point
    "three_lines_one_point_2d": ([(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -2.0]]),
                                   -np.array([0.25, -0.25, 1.25])),
                                  (np.array([[1.0, -1.0, 0.5]]), np.array([0.0])),
                                  (np.array([[1.0]]), np.array([0.0]))], [-1.0, -1.0], [1.0, 1.0]),
    # duplicate units and a line through two box vertices (the diagonal) and one touching a vertex only
    "duplicates_and_box_vertices_2d": ([(np.array([[1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [0.5, 1.0]]),
                                         np.array([0.0, 0.0, -2.0, 0.25])),
                                        (np.array([[1.0, 1.0, 1.0, 1.0]]), np.array([0.0]))],
                                       [-1.0, -1.0], [1.0, 1.0]),
    # three planes through one line, a fourth through the same point; a plane touching the box along an edge
    # only (x + y = 2 at x = y = 1)
    "planes_through_a_point_3d": ([(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0],
                                              [1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]),
                                    np.array([0.0, 0.0, 0.0, 0.0, -2.0])),
                                   (np.array([[1.0, 1.0, 1.0, 1.0, 1.0]]), np.array([0.0]))],
                                  [-0.5, -0.5, -1.0], [1.0, 1.0, 1.0]),
}


def _net(weights):
    return Network.from_weights([(W, b) for W, b in weights])


def _check_against_oracle(weights, lo, hi):
    regions = brute_force([(W.tolist(), b.tolist()) for W, b in weights], lo.tolist(), hi.tolist())
    k = len(lo)
    net = _net(weights)
    box = Box(lo, hi)
    part = enumerate_regions(net, box)
    assert part.complete
    # 1. regions: the enumerator's patterns are the brute force's, exactly
    got = {tuple(int(v) for v in p) for p in part.patterns}
    assert got == set(regions)
    # the criterion agrees with the vertex test over every sign pattern: a pattern is a region iff its
    # exact H-representation has a positive exact inradius (and no constant row rules it out)
    n_hidden = sum(len(W) for W, _ in weights[:-1])
    by_lp = set()
    for head in itertools.product((0, 1), repeat=n_hidden):
        pat = list(head) + [0] * len(weights[-1][0])
        rows, _, impossible = oracle_rows([(W.tolist(), b.tolist()) for W, b in weights], lo.tolist(),
                                          hi.tolist(), pat)
        if impossible:
            continue
        enc = chebyshev_radius_exact(np.array([r[0] for r in rows], dtype=object),
                                     np.array([r[1] for r in rows], dtype=object))
        if enc.positive:
            by_lp.add(tuple(pat))
    assert by_lp == set(regions)
    # 2. certified facets equal the oracle's facets and redundant rows, region by region
    cert = certify_facets(part)
    assert cert.ok and not cert.findings
    for ex in cert.regions:
        pat = tuple(int(v) for v in part.patterns[ex.index])
        rows, src, V = regions[pat]
        want, redundant = oracle_facets(rows, src, V, k)
        have = {frozenset(ex.sources(g)) for g in ex.facets}
        assert have == set(want)
        H = ex.halfspaces
        for i, st in enumerate(ex.status):
            s = (int(H.unit[i]), int(H.piece[i]))
            if st == "redundant" and ex.group[i] >= 0:
                assert s in redundant
                # the redundancy certificate, checked on its own: y over the rows off the hyperplane
                y = np.zeros(len(H), dtype=object)
                y[:] = [flint.fmpq(0)] * len(H)
                for j, val in ex.certificates[i].items():
                    assert ex.group[j] != ex.group[i]
                    y[j] = val
                bound = check_dual_bound(H.A[i], H.A, H.b, y)
                assert bound is not None and bound <= H.b[i]
        for g, x in ex.facets.items():   # the facet point, checked on its own (Fraction, not flint)
            xs = [F(v) for v in x]
            for i in range(len(H)):
                slack = F(H.b[i]) - sum(F(a) * xi for a, xi in zip(H.A[i], xs))
                if ex.group[i] == -1:        # a row 0 <= b (a dead unit): no constraint when b >= 0
                    assert not any(H.A[i]) and slack >= 0
                else:
                    assert slack == 0 if ex.group[i] == g else slack > 0
    # 3. certified adjacency equals the oracle's
    adj = certify_adjacency(part, cert)
    assert adj.ok
    want_pairs = oracle_adjacency(regions, k)
    idx = {tuple(int(v) for v in p): i for i, p in enumerate(part.patterns)}
    assert {tuple(e) for e in adj.edges.tolist()} == {tuple(sorted((idx[p], idx[q]))) for p, q in want_pairs}
    # each edge's exact point lies in both closures, and every row tight there (of either region) is on one
    # hyperplane: a neighbourhood of it in that hyperplane is in both, so it is in a shared facet's relative interior
    pats = {i: p for p, i in idx.items()}
    for (i, j), x in zip(adj.edges.tolist(), adj.points):
        xs = [F(v) for v in x]
        tight = set()
        for r in (i, j):
            rows = regions[pats[r]][0]
            for a, b in rows:
                slack = b - sum(ai * xi for ai, xi in zip(a, xs))
                assert slack >= 0
                if slack == 0:
                    key = _key(a, b)
                    tight.add(min(key, _key([-c for c in a], -b)))
        assert len(tight) == 1
    return part, regions, cert, adj


@pytest.mark.parametrize("name", sorted(NETS))
def test_degenerate_nets_equal_the_exact_brute_force(name):
    weights, lo, hi = NETS[name]
    weights = [(np.asarray(W, float), np.asarray(b, float)) for W, b in weights]
    part, regions, cert, adj = _check_against_oracle(weights, np.asarray(lo), np.asarray(hi))
    assert part.check_complete(certify=True).ok
    # the LP path of the enumerator finds the same regions as the low-dimensional path did
    lp = enumerate_regions(part.network, part.domain, method="lp")
    assert {tuple(int(v) for v in p) for p in lp.patterns} == set(regions)


def test_a_unit_passed_through_to_the_next_layer_is_crossed_with_it():
    """Layer 2's first unit is relu(z1) itself: it is identically 0 on one side of z1 = 0 and equal to z1 on the
    other, so crossing that line changes two units; the neighbour is not the one-unit flip. Its pattern is
    decided exactly across the facet point, and the second unit, tied on the whole region (0 <= 0), has its two
    pieces equal on the line: the same facet on both sides by construction ("flip")."""
    weights = [(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([-0.25, 0.125])),
               (np.array([[1.0, 0.0], [1.0, -1.0]]), np.array([0.0, 0.0])),
               (np.array([[1.0, 1.0]]), np.zeros(1))]
    part, regions, cert, adj = _check_against_oracle(weights, np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    pats = part.patterns
    assert any(np.sum(pats[i] != pats[j]) == 2 for i, j in adj.edges.tolist())   # a two-unit crossing
    assert adj.by_method == {"flip": adj.n_covered}
    assert part.check_complete(certify=True).ok


@pytest.mark.parametrize("scale", [2.0 ** -20, 2.0 ** 20])
def test_degenerate_nets_off_centre_at_small_and_large_scale(scale):
    weights, lo, hi = NETS["three_lines_one_point_2d"]
    weights = [(np.asarray(W, float), np.asarray(b, float)) for W, b in weights]
    w2, lo2, hi2 = _scaled(weights, lo, hi, scale, shift=np.array([3.0, -7.0]) * scale)
    part, regions, cert, adj = _check_against_oracle(w2, lo2, hi2)
    assert len(regions) == 7     # six sectors of the three lines, one split by the second layer's unit
    assert part.check_complete(certify=True).ok


def test_nearly_duplicate_units_leave_a_sliver_the_certified_check_reports():
    """Two units whose weights differ in the last bit cross inside the box: two wedges of exact inradius
    ~1e-16, below any float tolerance. The exact brute force finds them; the enumerator (tol >= 1e-12 of the
    box) does not; check_complete(certify=True) proves every listed region and row but reports the gaps."""
    up = np.nextafter(1.0, 2.0)
    weights = [(np.array([[1.0, 1.0], [1.0, up]]), np.array([-0.5, -0.5])), (np.array([[1.0, 1.0]]), np.zeros(1))]
    lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    regions = brute_force([(W.tolist(), b.tolist()) for W, b in weights], lo.tolist(), hi.tolist())
    assert set(regions) == {(0, 0, 0), (1, 1, 0), (0, 1, 0), (1, 0, 0)}
    part = enumerate_regions(_net(weights), Box(lo, hi))
    got = {tuple(int(v) for v in p) for p in part.patterns}
    assert got == {(0, 0, 0), (1, 1, 0)}
    for pat in set(regions) - got:    # what is missing is thinner than the enumeration's tol, proven
        rows = regions[pat][0]
        enc = chebyshev_radius_exact(np.array([r[0] for r in rows], dtype=object),
                                     np.array([r[1] for r in rows], dtype=object))
        assert enc.positive and F(enc.hi) < Fraction(part.tol)
    rep = part.check_complete(certify=True)
    cert = rep.certificate
    assert cert["witnesses"].ok and cert["facets"].ok and not rep.ok
    assert rep.gaps and all(r in (0, 1) for r, _ in rep.gaps)
    # each gap is a facet of a listed region on one of the two hyperplanes, proven exactly
    for ex in cert["facets"].regions:   # the two lines are two facets of both listed regions, not one
        units = sorted(u for g in ex.facets for u, _ in ex.sources(g) if u >= 0)
        assert units == [0, 1]


def test_a_corrupted_partition_fails_the_certified_check():
    weights, lo, hi = NETS["duplicates_and_box_vertices_2d"]
    net = _net([(np.asarray(W, float), np.asarray(b, float)) for W, b in weights])
    part = enumerate_regions(net, Box(lo, hi))
    keep = np.arange(len(part)) != 1
    holed = relutope.Partition(part.network, part.domain, part.patterns[keep], part._centers[keep],
                               part.radii[keep], part.layer_counts, tol=part.tol)
    rep = holed.check_complete(certify=True)
    assert not rep.ok and rep.gaps and not rep.mismatches
    # a region listed with a pattern that does not exist (a flipped unit) fails its witness and its rows
    pats = part.patterns.copy()
    pats[0, 0] = 1 - pats[0, 0]
    wrong = relutope.Partition(part.network, part.domain, pats, part._centers, part.radii, part.layer_counts,
                               tol=part.tol)
    rep = wrong.check_complete(certify=True)
    assert not rep.ok and (0, -1) in rep.mismatches


@pytest.mark.parametrize("case", ["whole_space", "polytope", "slice", "fixed_box_coordinate", "leaky_relu", "abs"])
def test_certified_check_on_other_domains_and_activations(case):
    """The certified facets and adjacency agree with the float engine's (an independent computation) on every
    kind of domain and on other activations, and the certified check passes."""
    from relutope import Polytope, Slice, WholeSpace

    net, dom = {
        "whole_space": (Network.random([2, 4, 1], seed=3), WholeSpace(2)),
        "polytope": (Network.random([2, 6, 1], seed=3),
                     Polytope(np.array([[1.0, 1], [-1, 0], [0, -1], [1, -2]]), np.array([1.0, 1, 1, 1.5]))),
        "slice": (Network.random([4, 5, 4, 1], seed=3), Slice.through_points(np.zeros(4), np.eye(4)[0], np.eye(4)[1])),
        "fixed_box_coordinate": (Network.random([3, 5, 1], seed=3), Box([-1, 0.25, -1], [1, 0.25, 1])),
        "leaky_relu": (Network.random([2, 6, 1], seed=3, activation="leaky_relu"), Box([-1, -1], [1, 1])),
        "abs": (Network.random([2, 4, 3, 1], seed=3, activation="abs"), Box([-1, -1], [1, 1])),
    }[case]
    part = enumerate_regions(net, dom)
    rep = part.check_complete(certify=True)
    assert rep.ok
    fac, adj = rep.certificate["facets"], rep.certificate["adjacency"]
    assert fac.n_facets == part.facets().n_facets and not fac.findings
    assert adj.ok and len(adj.edges) == len(part.adjacency())
    assert rep.n_boundary_facets == int(np.sum(part.facets().unit < 0))


def test_exact_region_halfspaces_agree_with_the_exact_forward_pass():
    """Every row of a region's exact H-representation is strictly satisfied at its certified witness, and the
    witness's exact pattern is the region's (relutope.exact.exact_pattern, a separate exact computation)."""
    from relutope.certificates import certify_witnesses
    from relutope.exact import exact_pattern, to_rational

    net = Network.random([3, 6, 5, 1], seed=4)
    part = enumerate_regions(net, Box([-1.0, -2.0, 0.5], [1.0, 0.5, 2.0]))
    assert certify_witnesses(part).ok
    for r in range(0, len(part), max(1, len(part) // 12)):
        H = exact_region_halfspaces(net, part.domain, part.patterns[r])
        t = to_rational(part.witness_coords[r])
        for a, b in zip(H.A, H.b):
            assert b - sum(ai * ti for ai, ti in zip(a, t)) > 0 or not any(a)
        pat, _ = exact_pattern(net, t)
        assert np.array_equal(pat, part.patterns[r])
    with pytest.raises(ValueError, match="pattern must have shape"):
        exact_region_halfspaces(net, part.domain, [0, 1])
    with pytest.raises(ValueError, match="regions must be indices"):
        certify_facets(part, [len(part)])
    with pytest.raises(TypeError, match="partition must be"):
        certify_facets(net)
    with pytest.raises(TypeError, match="facets must be a FacetCertificate"):
        certify_adjacency(part, facets="all")
    with pytest.raises(ValueError, match="facets must cover every region"):
        certify_adjacency(part, certify_facets(part, [0]))
    with pytest.raises(TypeError, match="domain must be"):
        exact_region_halfspaces(net, "box", part.patterns[0])
    # the old name (in older READMEs) still works, with a DeprecationWarning naming the new one
    from relutope.certified_facets import exact_halfspaces

    with pytest.warns(DeprecationWarning, match="use exact_region_halfspaces"):
        old = exact_halfspaces(net, part.domain, part.patterns[0])
    new = exact_region_halfspaces(net, part.domain, part.patterns[0])
    assert old.A.tolist() == new.A.tolist() and old.b.tolist() == new.b.tolist()
    assert np.array_equal(old.unit, new.unit) and np.array_equal(old.piece, new.piece)
