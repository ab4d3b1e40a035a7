"""Certified enumeration on Polytope (H-representation) domains and on exactly mapped lower-dimensional domains.

Independent references: brute force over all patterns with scipy's HiGHS (tests/oracle.py) for the regions, each
region then re-checked in exact rational arithmetic (exact H-representation of its pattern, rows of the domain
included, and the exact Chebyshev-radius enclosure of relutope.exact_lp); the core's dual certificates rebuilt row
by row in rationals from the weights and the polytope's rows.
"""
import numpy as np
import pytest

from relutope import Box, Layer, Network, Polytope, Slice, enumerate_regions
from relutope.certificates import _certify_options, dual_bound_exact
from relutope.certified_facets import exact_region_halfspaces
from relutope.exact import to_rational
from relutope.exact_lp import chebyshev_radius_exact

from oracle import as_pattern_set, brute_force_patterns
from test_certified_enumeration import NETS, _core_run, _q

flint = pytest.importorskip("flint")


def _rows_of(vertices):
    """The rows ``A z <= b`` of the convex polygon with these counter-clockwise vertices (one row per edge)."""
    V = np.asarray(vertices, dtype=float)
    A, b = [], []
    for p, q in zip(V, np.roll(V, -1, axis=0)):
        n = np.array([q[1] - p[1], p[0] - q[0]])  # outward normal of a counter-clockwise edge
        A.append(n)
        b.append(n @ p)
    return np.array(A), np.array(b)


#: a quadrilateral with the box vertices (1, 1) and (-1, 1) as corners (lines of "through_box_vertices" meet
#: them), and a triangle whose corner (0, 0) is the point "three_lines_through_a_point" passes through
POLYGONS = {"quad": [(-1.0, -1.0), (1.0, -0.6), (1.0, 1.0), (-1.0, 1.0)],
            "triangle": [(0.0, 0.0), (1.0, -0.5), (0.5, 1.0)]}


def _moved(net: Network, A, b, scale: float, centre: np.ndarray):
    """The net moved onto x = centre + scale z, and the polytope {A z <= b} moved with it (rows A x <= b')."""
    W0, b0 = net.layers[0].A, net.layers[0].c
    first = Layer(W0 / scale, b0 - (W0 / scale) @ centre, net.layers[0].n_pieces)
    return Network([first] + list(net.layers[1:])), Polytope(A, scale * b + A @ centre)


def _exact_radius(net, domain, pattern):
    H = exact_region_halfspaces(net, domain, pattern)
    return chebyshev_radius_exact(H.A, H.b)


@pytest.mark.parametrize("name, net", NETS, ids=[n for n, _ in NETS])
@pytest.mark.parametrize("poly", sorted(POLYGONS))
@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_certified_regions_on_polytopes_equal_brute_force(name, net, poly, scale):
    centre = np.array([3.0, -7.0]) * scale  # off-centre at every scale
    moved, P = _moved(net, *_rows_of(POLYGONS[poly]), scale, centre)
    part = enumerate_regions(moved, P, certify=True, threads=1)
    cert = part.certificate
    assert cert.status == "certified", cert.summary()
    assert cert.n_regions == cert.n_regions_certified == len(part) > 0
    assert cert.n_empty + cert.n_thin == cert.n_decisions_certified == cert.n_decisions - cert.n_failed
    ref, _ = brute_force_patterns(moved, *P.parametrization(), *P.constraints(), tol=part.tol)
    assert as_pattern_set(part.patterns) == as_pattern_set(ref)
    # the exact re-check: every listed region has an exact interior in the polytope; at scale 1 every pattern
    # with an exact inradius enclosure above tol is listed (the regions of the brute force, one exact LP pair each)
    tq = to_rational(np.array([part.tol]))[0]
    if scale == 1.0:
        for p in as_pattern_set(part.patterns) | as_pattern_set(ref):
            enc = _exact_radius(moved, P, p)
            assert enc.positive, p
            assert p in as_pattern_set(part.patterns) or not enc.lo > tq, p


def test_thin_decisions_carry_the_polytope_rows():
    """Lines through a vertex of the triangle: zero-width sides proven thin, with the domain's rows in their
    certificates (the core's dump, rebuilt in rationals: the exact dual bound of the exact rows is below tol)."""
    name, net = next(item for item in NETS if item[0] == "three_lines_through_a_point")
    moved, P = _moved(net, *_rows_of(POLYGONS["triangle"]), 1.0, np.array([0.25, -0.5]))
    part = enumerate_regions(moved, P, certify=True, threads=1)
    assert part.certificate.ok and part.certificate.n_thin > 0
    opts = _certify_options(P, part.tol)
    opts["dump_max"] = 200
    dumps = _core_run(moved, P, part.tol, opts)["certificate"]["dumps"]
    frame = P._engine_frame()
    c, s = to_rational(frame.c), _q(frame.s)
    A, b = P.constraints()
    rhs = [(bq - sum(a * cj for a, cj in zip(row, c))) / s for row, bq in zip(to_rational(A), to_rational(b))]
    with_domain = 0
    for d in dumps:
        if d["bound"] < 0 or not any(lab[0] < 0 for lab in d["label"]):
            continue
        with_domain += 1
        # the domain rows of the certificate are the polytope's exact rows, scaled as the core stores them
        for (layer, unit, _, _), g, h, e, ng in zip(d["label"], d["g"].reshape(-1, 2), d["h"], d["e"].reshape(-1, 3),
                                                    d["ng"]):
            if layer < 0:
                ngq = _q(ng)
                for j in range(2):
                    assert abs(_q(g[j]) - to_rational(A[unit])[j] / ngq) <= _q(e[j])
                assert abs(_q(h) - rhs[unit] / ngq) <= _q(e[2])
        assert d["bound"] <= opts["tol"]
    assert with_domain > 0


def test_corrupted_certificates_on_a_polytope_are_re_decided_exactly():
    """The core's test hook negates a multiplier of every certificate: on a polytope domain every decision then
    fails, and each is re-decided by an exact rational LP on the exact rows (the polytope's included)."""
    from relutope.certificates import _enumeration_certificate

    name, net = next(item for item in NETS if item[0] == "through_box_vertices")
    moved, P = _moved(net, *_rows_of(POLYGONS["quad"]), 1e3, np.array([-2e3, 5e3]))
    part = enumerate_regions(moved, P, certify=True, threads=1)
    opts = _certify_options(P, part.tol, corrupt=True)
    out = _core_run(moved, P, part.tol, opts)
    c = out["certificate"]
    assert c["certified"] == 0 and c["failed"] == c["decisions"] == part.certificate.n_decisions > 0
    cert = _enumeration_certificate(part, c, opts)
    assert cert.status == "certified" and cert.n_confirmed == cert.n_failed
    # a record claiming that the whole polytope is thin (a "domain" decision) is refuted by the exact LP
    fake = {"decisions": 1, "certified": 0, "empty": 0, "thin": 0, "max_thin": -np.inf, "failed": 1,
            "failure_where": np.array([[2, -1, -1, -1]], dtype=np.int32), "failure_bound": np.array([np.inf]),
            "failure_pattern": np.full((1, moved.n_units), -1, dtype=np.int8)}
    bad = _enumeration_certificate(part, fake, _certify_options(P, part.tol))
    assert bad.status == "refuted" and bad.refuted[0]["kind"] == "domain"
    assert bad.refuted[0]["radius_lo"] > part.tol


def test_polytope_scales_and_positions_give_the_same_certificate():
    """The same net and polytope moved by x = centre + scale z: the same regions and decision counts."""
    net = Network.random([2, 6, 5, 1], seed=3)
    rng = np.random.default_rng(0)
    A = rng.normal(size=(7, 2))
    b = np.ones(7)
    seen = set()
    for scale in (1e-6, 1.0, 1e6):
        moved, P = _moved(net, A, b, scale, np.array([3.0, -7.0]) * scale)
        c = enumerate_regions(moved, P, certify=True, threads=1).certificate
        assert c.ok
        seen.add((c.n_regions, c.n_decisions, c.n_empty, c.n_thin))
    assert len(seen) == 1


def test_lower_dimensional_domains():
    """A slice along coordinate axes (exactly orthonormal: an exact map) is certified and equals brute force on
    its plane; a general plane through three points (a rounded QR factor) is refused with a clear error."""
    net = Network.random([3, 6, 4, 1], seed=1)
    sl = Slice(np.array([0.3, 0.1, -0.2]), np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]),
               Polytope(*_rows_of(POLYGONS["quad"])))
    part = enumerate_regions(net, sl, certify=True, threads=1)
    assert part.certificate.ok and len(part) > 3
    ref, _ = brute_force_patterns(net, *sl.parametrization(), *sl.constraints(), tol=part.tol)
    assert as_pattern_set(part.patterns) == as_pattern_set(ref)
    with pytest.raises(ValueError, match="exactly orthonormal"):
        enumerate_regions(net, Slice.through_points([0, 0, 0], [1, 0.3, 0], [0, 1, 1.0]), certify=True)
    with pytest.raises(ValueError, match="bounded"):
        from relutope import WholeSpace
        enumerate_regions(net, WholeSpace(3), certify=True)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_off_centre_slices_of_polytopes_are_certified(scale):
    """Slices along coordinate axes of polygons off the origin: the frame's origin origin + basis @ c rounds in
    float64 for most Chebyshev centres c (the centre's last bits below the origin's); such valid domains were
    refused ("not an exact map"). Each is certified and gives the brute-force regions (HiGHS) on its plane."""
    net = Network.random([3, 6, 4, 1], seed=1)
    W0, b0 = net.layers[0].A[1::2], net.layers[0].c[1::2]
    rng = np.random.default_rng(0)
    done = 0
    while done < 3:
        ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
        if np.max(np.diff(np.r_[ang, ang[0] + 2 * np.pi])) >= np.pi:
            continue  # not bounded
        A, b = np.c_[np.cos(ang), np.sin(ang)], rng.uniform(0.5, 1.5, 7) * scale
        centre = rng.normal(size=3) * 3 * scale
        moved = Network([Layer.affine(W0 / scale, b0 - W0 @ centre / scale, "relu")] + list(net.layers[1:]))
        sl = Slice(centre + rng.normal(size=3) * 0.7 * scale, np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]),
                   Polytope(A, b))
        part = enumerate_regions(moved, sl, certify=True, threads=1)
        assert part.certificate.ok, part.certificate.summary()
        ref, _ = brute_force_patterns(moved, *sl.parametrization(), *sl.constraints(), tol=part.tol)
        assert as_pattern_set(part.patterns) == as_pattern_set(ref)
        done += 1


def test_thin_decisions_are_recorded_with_their_cells():
    """Every decision proven thin but not empty is recorded (up to the cap), and each recorded set, rebuilt in
    exact rationals from its record, has an exact inradius <= tol (exact Chebyshev LPs)."""
    from relutope.certificates import _redecide_rows

    seen = 0
    for name, poly in (("three_lines_through_a_point", "triangle"), ("duplicate_units", "quad")):
        net = next(n for label, n in NETS if label == name)
        moved, P = _moved(net, *_rows_of(POLYGONS[poly]), 1.0, np.array([0.25, -0.5]))
        cert = enumerate_regions(moved, P, certify=True, threads=1).certificate
        rec = cert.thin_records
        assert cert.n_thin > 0 and rec["where"].shape[0] == rec["pattern"].shape[0] == cert.n_thin
        assert np.all(rec["bound"] >= 0) and np.all(rec["bound"] * P._engine_frame().s <= cert.tol * (1 + 1e-12))
        tq = to_rational(np.array([cert.tol]))[0]
        for where, pattern in zip(rec["where"], rec["pattern"]):
            built = _redecide_rows(moved, P, *(int(v) for v in where), pattern)
            if built is None:  # empty by a tie rule
                continue
            enc = chebyshev_radius_exact(*built)
            assert enc.status == "empty" or enc.hi <= tq
            seen += 1
    assert seen > 0
