"""Certified enumeration: every discarding decision of the LP enumerator backed by a rigorous dual bound.

Independent references: brute force over all sign patterns with scipy's HiGHS (tests/oracle.py) for the regions,
exact rational arithmetic (python-flint) for the dual bound the C++ core bounds from above, weak duality on cells
whose inradius is known in closed form, and deliberately corrupted certificates that must be rejected.
"""
import numpy as np
import pytest

import relutope
from relutope import Box, Layer, Network, enumerate_regions, _core
from relutope.certificates import (EnumerationCertificate, _certify_options, _enumeration_certificate,
                                   dual_bound_exact)
from relutope.exact import to_rational

from oracle import as_pattern_set, brute_force_patterns

flint = pytest.importorskip("flint")


def _at_scale(net: Network, lo, hi, scale: float, centre: np.ndarray):
    """The net moved onto the box centre + scale * [lo, hi] (x = centre + scale z), and that box."""
    W0, b0 = net.layers[0].A, net.layers[0].c
    first = Layer(W0 / scale, b0 - (W0 / scale) @ centre, net.layers[0].n_pieces)
    return Network([first] + list(net.layers[1:])), Box(centre + scale * np.asarray(lo), centre + scale * np.asarray(hi))


def _nets():
    rng = np.random.default_rng(5)
    relu = lambda W, b, V: Network.from_weights([(np.asarray(W, float), np.asarray(b, float)), (V, np.zeros(1))])
    yield "random", Network.random([2, 4, 3, 1], seed=3)
    yield "three_lines_through_a_point", relu([[1, 0], [0, 1], [1, 1]], [0, 0, 0], np.ones((1, 3)))
    yield "duplicate_units", relu([[1, 2], [1, 2], [2, 4], [-1, 1]], [0.3, 0.3, 0.6, 0.1], np.ones((1, 4)))
    yield "nearly_duplicate_at_the_last_bit", relu([[1, 2], [1, np.nextafter(2, 3)], [-1, 1]],
                                                   [0.3, np.nextafter(0.3, 0), 0.1], np.ones((1, 3)))
    # through the box's vertices (1, 1) and (-1, 1), and along an edge
    yield "through_box_vertices", relu([[1, -1], [1, 1], [0, 1]], [0, 0, -1], rng.normal(size=(1, 3)))
    # dead units: a constant pre-activation, positive, exactly zero (a tie: piece 0) and negative
    yield "dead_units", relu([[0, 0], [0, 0], [0, 0], [1, -2]], [0.5, 0.0, -0.25, 0.1], np.ones((1, 4)))
    # maxout units with identical pieces (ties to the lower index) and pieces parallel at a constant offset
    M = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [-1.0, 0.5], [-1.0, 0.5], [0.3, -1.0]])
    yield "maxout_ties", Network([Layer(M, np.array([0.0, 0.0, -0.5, 0.2, 0.2, 0.0]), [3, 3]),
                                  Layer.affine(np.ones((1, 2)), np.zeros(1), "identity")])
    yield "maxout", Network([Layer(np.random.default_rng(2).normal(size=(9, 2)), np.zeros(9), [3] * 3),
                             Layer.affine(np.ones((1, 3)), np.zeros(1), "identity")])


NETS = list(_nets())


@pytest.mark.parametrize("name, net", NETS, ids=[n for n, _ in NETS])
@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_certified_regions_equal_brute_force(name, net, scale):
    centre = np.array([3.0, -7.0]) * scale  # off-centre at every scale
    moved, box = _at_scale(net, [-1, -1], [1, 1], scale, centre)
    part = enumerate_regions(moved, box, certify=True, threads=1)
    cert = part.certificate
    assert isinstance(cert, EnumerationCertificate)
    assert cert.status == "certified", cert.summary()
    assert cert.n_regions == cert.n_regions_certified == len(part)
    assert cert.n_decisions > 0 and cert.n_decisions_certified + cert.n_failed == cert.n_decisions
    assert cert.n_empty + cert.n_thin == cert.n_decisions_certified
    if name not in ("random", "dead_units", "maxout_ties"):  # zero-width sides: proven thin, not empty
        assert cert.n_thin > 0 and 0 <= cert.max_thin_inradius_bound <= part.tol
    origin, basis = box.parametrization()
    A, b = box.constraints()
    ref, _ = brute_force_patterns(moved, origin, basis, A, b, tol=part.tol)
    assert as_pattern_set(part.patterns) == as_pattern_set(ref)


def test_threads_give_the_same_certificate():
    net = Network.random([3, 10, 8, 1], seed=1)
    box = Box([-1, -2, 0.5], [1, 0, 2])
    one = enumerate_regions(net, box, certify=True, threads=1).certificate
    two = enumerate_regions(net, box, certify=True, threads=2).certificate
    assert one.status == two.status == "certified"
    for key in ("n_regions", "n_regions_certified", "n_decisions", "n_decisions_certified", "n_empty", "n_thin",
                "n_failed"):
        assert getattr(one, key) == getattr(two, key), key
    assert one.n_decisions > 100


def test_certify_rejects_what_it_cannot_prove():
    net = Network.random([2, 4, 1], seed=0)
    with pytest.raises(ValueError, match="LP path"):
        enumerate_regions(net, Box([-1, -1], [1, 1]), certify=True, method="polygon")
    with pytest.raises(ValueError, match="exactly orthonormal"):  # Polytope domains: tests/test_certified_polytope.py
        enumerate_regions(Network.random([3, 4, 1], seed=0), relutope.Slice.through_points(
            [0, 0, 0], [1, 0.5, 0], [0, 1, 1.0]), certify=True)
    with pytest.raises(TypeError, match="certify"):
        enumerate_regions(net, Box([-1, -1], [1, 1]), certify="yes")
    part = enumerate_regions(net, Box([-1, -1], [1, 1]), certify=True)  # auto: the LP path
    assert part.method == "lp" and part.certificate.ok
    stopped = enumerate_regions(net, Box([-1, -1], [1, 1]), certify=True, max_regions=2)
    assert not stopped.complete and stopped.certificate.status == "incomplete"
    assert "stopped early" in stopped.certificate.message


# ---- the checker: the C++ rigorous bound against the exact rational value of the same certificate ----

def _cell_and_dual(rng, k, m, scale):
    """A random bounded cell {G t <= h} inside [-scale, scale]^k (box rows included) and its Chebyshev LP dual
    from HiGHS: rows (m + 2k, k) unit-norm up to rounding, h, multipliers y >= 0 (approximate)."""
    from scipy.optimize import linprog

    G = rng.normal(size=(m, k))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    h = rng.uniform(-0.3, 0.6, size=m) * scale
    G = np.vstack([G, np.eye(k), -np.eye(k)])
    h = np.concatenate([h, np.full(2 * k, scale)])
    nrm = np.linalg.norm(G, axis=1)
    res = linprog(np.r_[np.zeros(k), -1.0], A_ub=np.hstack([G, nrm[:, None]]), b_ub=h,
                  bounds=[(None, None)] * (k + 1), method="highs")
    assert res.status == 0
    return G, h, np.maximum(-res.ineqlin.marginals, 0.0), -res.fun


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_rigorous_bound_is_above_the_exact_bound_on_random_cells(scale):
    rng = np.random.default_rng(11)
    for trial in range(30):
        k, m = int(rng.integers(1, 5)), int(rng.integers(1, 7))
        G, h, y, radius = _cell_and_dual(rng, k, m, scale)
        half = np.full(k, scale)
        nl = np.array([_core.norm_lower_bound(g) for g in G])
        for g, lo in zip(G, nl):  # a lower bound of the exact norm: lo^2 <= sum g^2 in rationals
            assert to_rational(lo) ** 2 <= sum(v * v for v in to_rational(g))
        ours = _core.chebyshev_dual_bound(G, h, None, nl, y, half)
        exact = dual_bound_exact(G, h, nl, y, half)
        assert exact is not None and _q(ours) >= exact
        assert ours <= radius + 1e-9 * scale  # and it is tight: the dual of an optimal LP
        # with rows known only within E: the bound holds for every exact row within E
        E = np.abs(rng.normal(size=(G.shape[0], k + 1))) * 1e-12 * scale
        E[:, :k] /= scale
        ours_e = _core.chebyshev_dual_bound(G, h, E, nl * (1 - 1e-9), y, half)
        for _ in range(3):
            sign = rng.choice([-1.0, 1.0], size=E.shape)
            Gq = to_rational(G) + to_rational(sign[:, :k] * E[:, :k])  # exact: a sign flip
            hq = to_rational(h) + to_rational(sign[:, k] * E[:, k])
            exact_e = dual_bound_exact(Gq, hq, nl * (1 - 1e-9), y, half)
            assert _q(ours_e) >= exact_e


def _q(v):
    return to_rational(np.array([v]))[0]


def _slab(tau):
    """{0 <= t1 <= 2 tau, -1 <= t2 <= 1}: inradius tau exactly, certified by y = (1/2, 1/2) on the t1 rows."""
    G = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    h = np.array([2 * tau, 0.0, 1.0, 1.0])
    return G, h, np.array([0.5, 0.5, 0.0, 0.0]), np.ones(4), np.array([1.0, 1.0])


def test_corrupted_certificates_are_rejected():
    tau = 2.0 ** -30
    G, h, y, nl, half = _slab(tau)
    assert dual_bound_exact(G, h, nl, y, half) == to_rational(tau)  # exactly at the threshold: accepted exactly
    # the a priori rounding bound of the residual costs ~ m u |y| |G| half (here ~1e-15 of the unit box)
    assert _core.chebyshev_dual_bound(G, h, None, nl, y, half) <= tau + 1e-14
    # a flipped sign
    bad = y.copy()
    bad[0] = -bad[0]
    assert dual_bound_exact(G, h, nl, bad, half) is None
    assert _core.chebyshev_dual_bound(G, h, None, nl, bad, half) == np.inf
    # a dropped row: what is left proves nothing close to tau
    bad = y.copy()
    bad[1] = 0.0
    assert dual_bound_exact(G, h, nl, bad, half) > 1
    assert _core.chebyshev_dual_bound(G, h, None, nl, bad, half) > 1.0
    # the row t1 <= 2 tau perturbed at its last bit the wrong way (outwards): the claim radius <= tau is false
    h2 = h.copy()
    h2[0] = np.nextafter(h2[0], np.inf)
    assert dual_bound_exact(G, h2, nl, y, half) > to_rational(tau)
    assert _core.chebyshev_dual_bound(G, h2, None, nl, y, half) > tau
    # a coefficient perturbed at its last bit: the residual A^T y is no longer zero, the box term pays for it
    G2 = G.copy()
    G2[0, 1] = np.nextafter(0.0, 1.0) * 2 ** 40
    assert dual_bound_exact(G2, h, nl, y, half) > to_rational(tau)
    assert _core.chebyshev_dual_bound(G2, h, None, nl, y, half) > tau
    # a norm bound that is not a lower bound makes D larger: the exact checker sees a smaller rho, but the
    # C++ bound of the honest certificate stays above the exact value
    with pytest.raises(ValueError):
        _core.chebyshev_dual_bound(G, h, None, nl[:3], y, half)


def _core_run(net, box, tol, opts, **kw):
    """The core's certified enumeration with the options of _certify_options (and test hooks)."""
    frame = box._engine_frame()
    fv = frame.form
    return _core.enumerate_regions(net._core(), fv.x0, fv.Q, fv.A, fv.b, frame.to_v(box._center()), tol / frame.s,
                                   2.0 * box._default_scale() / frame.s + 10 * tol / frame.s, -1, -1.0, 16384, None,
                                   certify={k: v for k, v in opts.items() if not k.startswith("_")}, **kw)


def test_snapshots_of_donated_subtrees_carry_the_error_bounds():
    """Every pending subtree handed to another thread (split_all) gives the same certificate counts."""
    net = Network.random([3, 8, 6, 1], seed=4)
    box = Box([-1, -1, -1], [1, 1, 1])
    part = enumerate_regions(net, box, certify=True, threads=1)
    opts = _certify_options(box, part.tol)
    out = _core_run(net, box, part.tol, opts, threads=2, split_all=True)
    c, ref = out["certificate"], part.certificate
    assert out["jobs"] > 10 and int(out["leaves"]) == len(part)
    assert (c["decisions"], c["certified"], c["empty"], c["thin"], c["failed"]) == (
        ref.n_decisions, ref.n_decisions_certified, ref.n_empty, ref.n_thin, ref.n_failed)


def test_failed_certificates_are_re_decided_exactly():
    """The core's test hook negates a multiplier of every certificate: every decision fails (none certified,
    the regions unchanged), and each is re-decided by an exact rational LP, which confirms them all."""
    net = Network.random([2, 4, 3, 1], seed=3)
    box = Box([-1, -1], [1, 1])
    part = enumerate_regions(net, box, certify=True)
    opts = _certify_options(box, part.tol, corrupt=True)
    out = _core_run(net, box, part.tol, opts)
    c = out["certificate"]
    assert c["decisions"] == part.certificate.n_decisions > 0
    assert c["certified"] == 0 and c["failed"] == c["decisions"] == c["failure_where"].shape[0]
    assert int(out["leaves"]) == len(part)
    cert = _enumeration_certificate(part, c, opts)
    assert cert.status == "certified" and cert.n_confirmed == cert.n_failed == c["decisions"]


def test_a_wrong_discard_is_refuted_naming_the_cell():
    """A decision record claiming that a side holding regions (brute force) is thin must come back refuted."""
    net = Network.from_weights([(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.25, 0.0])),
                                (np.ones((1, 2)), np.zeros(1))])
    box = Box([-1, -1], [1, 1])
    part = enumerate_regions(net, box, certify=True)
    opts = _certify_options(box, part.tol)
    fake = {"decisions": 1, "certified": 0, "empty": 0, "thin": 0, "max_thin": -np.inf, "failed": 1,
            # side 1 of unit 1 of layer 0 on the cell where unit 0 is on side 0: {x0 <= -0.25, x1 >= 0}
            "failure_where": np.array([[0, 0, 1, 1]], dtype=np.int32), "failure_bound": np.array([np.inf]),
            "failure_pattern": np.array([[0, -1, -1]], dtype=np.int8)}
    cert = _enumeration_certificate(part, fake, opts)
    assert cert.status == "refuted" and len(cert.refuted) == 1
    r = cert.refuted[0]
    assert (r["layer"], r["unit"], r["piece"], r["kind"]) == (0, 1, 1, "side")
    # the cell {-1 <= x0 <= -0.25, 0 <= x1 <= 1} has inradius 0.375 exactly
    assert r["radius_lo"] <= 0.375 and r["radius_lo"] > part.tol
    ref, radii = brute_force_patterns(net, *box.parametrization(), *box.constraints(), tol=part.tol)
    assert any(p[0] == 0 and p[1] == 1 for p in ref)
    assert "refuted" in cert.summary()


def test_cli_enumerate_certify(tmp_path, capsys):
    from relutope.cli import main

    net = Network.random([2, 6, 1], seed=2)
    path = tmp_path / "net.npz"
    net.save(path)
    assert main(["enumerate", str(path), "--box", "-1", "1", "--certify"]) == 0
    out = capsys.readouterr().out
    ref = enumerate_regions(net, Box([-1, -1], [1, 1]), certify=True).certificate
    assert "certificate    certified" in out
    assert f"{ref.n_regions_certified} of {ref.n_regions} proven to exist" in out
    assert f"{ref.n_decisions_certified} of {ref.n_decisions} certified" in out


@pytest.mark.parametrize("net, box", [
    (Network.random([2, 6, 6, 5, 1], seed=7), Box([2.0, -3.0], [2.5, 1.0])),
    (Network([Layer(np.random.default_rng(3).normal(size=(9, 3)), np.random.default_rng(4).normal(size=9), [3] * 3),
              Layer.affine(np.random.default_rng(5).normal(size=(4, 3)), np.zeros(4), "relu"),
              Layer.affine(np.ones((1, 4)), np.zeros(1), "identity")]), Box([-1.0, 0.0, 5.0], [1.0, 0.5, 6.0])),
], ids=["relu_deep_off_centre", "maxout_then_relu"])
def test_every_certificate_row_is_within_its_bounds_of_the_exact_row(net, box):
    """The certificates as the core checked them (test hook dump_max): each row rebuilt in exact rationals from
    the weights and the domain (exact_layer_pieces in the engine's coordinates) lies within the row's error
    bounds, its norm bound is below the exact norm, and the exact dual bound of the exact rows is below the
    core's rigorous bound, which is below tol."""
    from relutope.exact import exact_layer_pieces

    part = enumerate_regions(net, box, certify=True, threads=1)
    opts = _certify_options(box, part.tol)
    opts["dump_max"] = 150
    dumps = _core_run(net, box, part.tol, opts)["certificate"]["dumps"]
    assert 20 < len(dumps) <= 150
    frame = box._engine_frame()
    fv, c, s = frame.form, to_rational(frame.c), _q(frame.s)
    A, b = box.constraints()
    rhs = [(bq - sum(a * cj for a, cj in zip(row, c))) / s for row, bq in zip(to_rational(A), to_rational(b))]
    cache = {}
    offsets = np.cumsum([0] + [layer.n_units for layer in net.layers])
    labels_seen = set()
    for d in dumps:
        rows, rh = [], []
        for (layer, unit, p, q), ng in zip(d["label"], d["ng"]):
            ngq = _q(ng)
            if layer < 0:  # domain row `unit`, divided by ng
                rows.append([v / ngq for v in to_rational(A[unit])])
                rh.append(rhs[unit] / ngq)
                continue
            key = (layer, bytes(d["pattern"][:offsets[layer]].astype(np.int8)))
            if key not in cache:
                cache[key] = exact_layer_pieces(net, d["pattern"].astype(np.int64), int(layer), fv.x0, fv.Q)[layer]
            G, g = cache[key]
            p0 = int(net.layers[layer].piece_start[unit])
            rows.append([-(G[p0 + p, j] - G[p0 + q, j]) / ngq for j in range(G.shape[1])])  # f_p - f_q >= 0
            rh.append((g[p0 + p] - g[p0 + q]) / ngq)
            labels_seen.add(int(layer))
        for i in range(len(rows)):
            for j, v in enumerate(rows[i]):
                assert abs(v - _q(d["g"][i, j])) <= _q(d["e"][i, j])
            assert abs(rh[i] - _q(d["h"][i])) <= _q(d["e"][i, -1])
            assert _q(d["nl"][i]) ** 2 <= sum(v * v for v in rows[i])
        exact = dual_bound_exact(np.array(rows, dtype=object), np.array(rh, dtype=object), d["nl"], d["y"],
                                 opts["half"])
        assert exact is not None and exact <= _q(d["bound"]) <= _q(opts["tol"])
    assert len(labels_seen) >= 2  # rows of more than the first layer were checked
