"""Partition.certify(): a partition certified after the fact, by a certified re-enumeration or by exact closure.

Independent references: the certified enumeration itself (the same counts), brute force with HiGHS
(tests/oracle.py) for which patterns exist, and partitions corrupted on purpose (a region removed, a fake one
added, one listed twice) that must be refuted with the culprit named.
"""
import numpy as np
import pytest

from relutope import Box, Network, Partition, Polytope, enumerate_regions
from relutope.certificates import EnumerationCertificate, certify_partition

from oracle import as_pattern_set, brute_force_patterns, chebyshev, region_halfspaces

flint = pytest.importorskip("flint")

#: an off-centre pentagon
PENTAGON = Polytope(np.array([[1.0, 0.3], [0.2, 1.0], [-1.0, 0.4], [-0.3, -1.0], [0.7, -0.8]]),
                np.array([1.1, 0.9, 1.0, 1.2, 1.0]) + np.array([[1.0, 0.3], [0.2, 1.0], [-1.0, 0.4], [-0.3, -1.0],
                                                                [0.7, -0.8]]) @ np.array([0.2, -0.1]))


def _subset(part, keep, extra_pattern=None, extra_center=None):
    P, C, r = part.patterns[keep], part._centers[keep], part.radii[keep]
    if extra_pattern is not None:
        P = np.vstack([P, extra_pattern[None, :]])
        C = np.vstack([C, extra_center[None, :]])
        r = np.concatenate([r, [part.radii[0]]])
    return Partition(part.network, part.domain, P, C, r, part.layer_counts, tol=part.tol)


@pytest.mark.parametrize("domain", [Box([-1.0, -0.5], [1.5, 1.0]), PENTAGON], ids=["box", "polytope"])
def test_certify_agrees_with_the_certified_enumeration(domain):
    net = Network.random([2, 6, 4, 1], seed=0)
    ref = enumerate_regions(net, domain, certify=True, threads=1).certificate
    for method in ("auto", "lp"):  # a partition of another engine, and one of the same
        part = enumerate_regions(net, domain, method=method)
        cert = part.certify(threads=1)
        assert isinstance(cert, EnumerationCertificate) and cert.method == "re-enumeration"
        assert cert.status == "certified", cert.summary()
        assert cert.n_regions == cert.n_regions_certified == len(part) == ref.n_regions
        for key in ("n_decisions", "n_decisions_certified", "n_empty", "n_thin", "n_failed"):
            assert getattr(cert, key) == getattr(ref, key), key
    # the brute force lists the same regions
    pats, _ = brute_force_patterns(net, *domain.parametrization(), *domain.constraints(), tol=part.tol)
    assert as_pattern_set(pats) == as_pattern_set(part.patterns)


def test_certify_by_closure():
    net = Network.random([2, 6, 5, 1], seed=2)
    part = enumerate_regions(net, PENTAGON)
    cert = certify_partition(part, method="closure")
    assert cert.status == "certified" and cert.method == "closure" and cert.closure.ok
    assert cert.n_regions_certified == len(part)
    assert "proof          closure" in cert.summary()
    holed = _subset(part, np.arange(len(part)) != 3)
    bad = holed.certify(method="closure")
    assert bad.status == "incomplete" and "not proven covered" in bad.message


@pytest.mark.parametrize("domain", [Box([-1.0, -1.0], [1.0, 1.0]), PENTAGON], ids=["box", "polytope"])
def test_a_removed_region_is_refuted_and_named(domain):
    net = Network.random([2, 8, 6, 1], seed=0)
    part = enumerate_regions(net, domain)
    drop = int(np.argmax(part.radii))  # the widest region: its exact inradius is far above tol
    cert = _subset(part, np.arange(len(part)) != drop).certify()
    assert cert.status == "refuted" and cert.n_regions == len(part) - 1
    (r,) = cert.refuted
    assert r["kind"] == "missing_region" and np.array_equal(r["pattern"], part.patterns[drop])
    assert part.tol < r["radius_lo"] <= part.radii[drop] * (1 + 1e-9)
    assert net.activation_pattern(r["witness"][None, :])[0].tolist() == part.patterns[drop].tolist()


def test_a_fake_region_and_a_duplicate_are_refuted():
    net = Network.random([2, 8, 6, 1], seed=0)
    domain = Box([-1.0, -1.0], [1.0, 1.0])
    part = enumerate_regions(net, domain)
    listed = as_pattern_set(part.patterns)
    origin, basis = domain.parametrization()
    A0, b0 = domain.constraints()
    fake = None
    for u in range(net.n_units):  # a flip of region 0's pattern whose region HiGHS finds empty
        p = part.patterns[0].copy()
        p[u] = 1 - p[u]
        if tuple(int(v) for v in p) in listed:
            continue
        G, h = region_halfspaces(net, p, origin, basis, A0, b0)
        if chebyshev(G, h)[1] < 0:
            fake = p
            break
    assert fake is not None
    cert = _subset(part, np.arange(len(part)), fake, part._centers[0]).certify()
    assert cert.status == "refuted"
    (r,) = cert.refuted
    assert r["kind"] == "absent_region" and r["index"] == len(part) and np.array_equal(r["pattern"], fake)
    twice = _subset(part, np.r_[np.arange(len(part)), 4]).certify()
    assert twice.status == "refuted" and [r["kind"] for r in twice.refuted] == ["duplicate_region"]


def test_certify_checks_its_arguments():
    part = enumerate_regions(Network.random([2, 4, 1], seed=0), Box([-1, -1], [1, 1]))
    with pytest.raises(ValueError, match="method"):
        part.certify(method="guess")
    with pytest.raises(TypeError, match="partition"):
        certify_partition("part")
    with pytest.raises(ValueError, match="time_limit"):
        part.certify(time_limit=-1.0)
    # 15,628 regions: the re-enumeration needs ~30 ms, so 1 ms stops it (548 regions of a [3, 10, 8, 1] net were
    # re-enumerated within the 1 ms on a fast CI run, and the test failed)
    big = enumerate_regions(Network.random([3, 24, 24, 1], seed=1), Box(-np.ones(3), np.ones(3)))
    stopped = big.certify(time_limit=1e-3)  # the re-enumeration stops: completeness not proven, nothing refuted
    assert stopped.status == "incomplete" and "time_limit" in stopped.message and not stopped.refuted
    # a partition stopped early is refuted by the regions it lacks (each proven wider than tol)
    small = enumerate_regions(Network.random([2, 8, 6, 1], seed=0), Box([-1, -1], [1, 1]), threads=1)
    early = enumerate_regions(small.network, small.domain, max_regions=len(small) - 5, threads=1).certify()
    assert early.status == "refuted" and len(early.refuted) == 5
    assert {r["kind"] for r in early.refuted} == {"missing_region"}
