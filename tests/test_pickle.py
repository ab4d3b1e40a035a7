"""Networks, domains, partitions and regions pickle, and survive a multiprocessing spawn pool (issue 16 item 13)."""
import multiprocessing
import pickle
from pathlib import Path

import numpy as np
import pytest

import relutope
from relutope import Box, Network, Polytope, Slice, WholeSpace, enumerate_regions
from spawn_worker import evaluate

NET = Network.random([3, 6, 5, 2], seed=7)
SQUARE = Box([-1.0, -1.0], [1.0, 1.0])
DOMAINS = {
    "box": Box([-1.0, 0.0, -2.0], [1.0, 0.0, 2.0]),  # one coordinate fixed
    "polytope": Polytope(np.vstack([np.eye(3), -np.ones((1, 3))]), np.array([1.0, 1.0, 1.0, 1.0])),
    "whole": WholeSpace(3),
    "slice": Slice.through_points([0.0, 0.0, 1.0], [1.0, 0.5, 0.0], [-0.5, 1.0, 0.0], margin=0.25),
    "slice_of_whole": Slice([0.0, 0.0, 1.0], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], WholeSpace(2)),
}
PYTHON_DIR = Path(relutope.__file__).resolve().parent


def points(d, n=64, seed=0):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, (n, d))


@pytest.fixture(scope="module")
def pool():
    with multiprocessing.get_context("spawn").Pool(1) as p:
        yield p


def round_trip(pool, obj, X):
    back, path, results = pool.apply(evaluate, (obj, X))
    assert Path(path).resolve().parent == PYTHON_DIR  # the child ran this checkout's relutope
    return back, results


def assert_same_network(a, b):
    assert a.widths == b.widths and a.fingerprint() == b.fingerprint()
    for la, lb in zip(a.layers, b.layers):
        np.testing.assert_array_equal(la.A, lb.A)
        np.testing.assert_array_equal(la.c, lb.c)
        np.testing.assert_array_equal(la.n_pieces, lb.n_pieces)
        assert not la.A.flags.writeable  # rebuilt through the constructor: read-only again


def assert_same_domain(a, b):
    assert type(a) is type(b) and a.dim == b.dim and a.intrinsic_dim == b.intrinsic_dim
    sa, sb = a._state(), b._state()
    assert sa.keys() == sb.keys()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key])


def test_network_pickles_without_its_compiled_core(pool):
    X = points(3)
    NET.local_affine_map(NET.activation_pattern(X[:1]))  # builds the compiled twin, which cannot be pickled
    assert NET._core_net is not None
    back = pickle.loads(pickle.dumps(NET))
    assert back._core_net is None
    assert_same_network(back, NET)
    back, results = round_trip(pool, NET, X)
    assert_same_network(back, NET)
    y, pats = NET.forward(X)
    A, b = NET.local_affine_map(pats)
    np.testing.assert_array_equal(results["y"], y)
    np.testing.assert_array_equal(results["patterns"], pats)
    np.testing.assert_array_equal(results["A"], A)  # the child rebuilt the core
    np.testing.assert_array_equal(results["b"], b)
    np.testing.assert_array_equal(back(X), y)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_domains_pickle(pool, name):
    dom = DOMAINS[name]
    X = np.vstack([points(3), dom.to_input(np.zeros((1, dom.intrinsic_dim)))])
    back, results = round_trip(pool, dom, X)
    assert_same_domain(back, dom)
    assert back.bounded == dom.bounded
    np.testing.assert_array_equal(results["contains"], dom.contains(X))
    np.testing.assert_array_equal(results["coords"], dom.to_coords(X))
    assert dom.contains(X).any()  # not vacuous


@pytest.mark.parametrize("name", ["box", "slice", "polytope"])
def test_partitions_and_regions_pickle(pool, name):
    dom = DOMAINS[name]
    part = enumerate_regions(NET, dom)
    part.facets()  # caches are not part of the pickle: they are recomputed on use
    X = np.vstack([part.witnesses, dom.to_input(points(dom.intrinsic_dim, seed=1) / 2)])
    back, results = round_trip(pool, part, X)
    assert_same_network(back.network, part.network)
    assert_same_domain(back.domain, part.domain)
    for attr in ("patterns", "radii", "layer_counts", "witnesses", "witness_coords"):
        np.testing.assert_array_equal(getattr(back, attr), getattr(part, attr))
    assert (back.status, back.tol, back.lps, back.lp_iterations, back.seconds) == \
        (part.status, part.tol, part.lps, part.lp_iterations, part.seconds)
    where = part.locate(X)
    assert (where[: len(part)] == np.arange(len(part))).all()
    np.testing.assert_array_equal(results["locate"], where)
    np.testing.assert_array_equal(back.locate(X), where)
    np.testing.assert_array_equal(results["witnesses"], part.witnesses)
    np.testing.assert_array_equal(results["affine"], part.affine_maps()[0])
    if dom.intrinsic_dim == 2:  # polygons of the 2-D fast path travel too
        for pa, pb in zip(back.polygons(), part.polygons()):
            np.testing.assert_array_equal(pa, pb)
    assert back.facets().unit.tolist() == part.facets().unit.tolist()
    region = part[len(part) // 2]
    rback, rres = round_trip(pool, region, X)
    assert rback.index == region.index
    np.testing.assert_array_equal(rback.pattern, region.pattern)
    np.testing.assert_array_equal(rback.witness, region.witness)
    A, b = region.halfspaces()
    np.testing.assert_array_equal(rres["halfspaces"], np.hstack([A, b[:, None]]))
    np.testing.assert_array_equal(rres["affine"], region.affine_map()[0])


def test_incomplete_partition_pickles_its_status():
    part = enumerate_regions(NET, DOMAINS["box"], max_regions=3)
    back = pickle.loads(pickle.dumps(part))
    assert back.status == "max_regions" and not back.complete and len(back) == 3
