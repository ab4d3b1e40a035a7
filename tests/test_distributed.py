"""relutope.distributed on a dask.distributed.LocalCluster: the one-machine partition, split at a prefix.

Every region has exactly one pattern on the prefix layers, so it belongs to exactly one task; the tasks follow
the one-machine search's path to their cells, so the concatenated result must be the one-machine partition
itself (patterns, witnesses and radii equal, in the same order) for any prefix depth and number of tasks. The
one-machine engine is checked against brute force and closed forms elsewhere; the closed-form counts are
checked here again on the distributed result.
"""
import numpy as np
import pytest

import relutope
from relutope import Box, Layer, Network, WholeSpace

from oracle import general_position_layer, sawtooth_net, zaslavsky_count

distributed = pytest.importorskip("dask.distributed")
from relutope.distributed import enumerate_distributed, open_shards  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def _maxout_net():
    rng = np.random.default_rng(5)
    first = Layer.affine(rng.normal(size=(6, 3)), rng.normal(0, 0.3, 6), "leaky_relu", alpha=0.1)
    pool = Layer(rng.normal(size=(7, 6)) * 0.7, rng.normal(size=7) * 0.3, [4, 3])
    return Network([first, pool, Layer.affine(rng.normal(size=(4, 2)), rng.normal(0, 0.3, 4), "abs"),
                    Layer.affine(rng.normal(size=(1, 4)), np.zeros(1), "identity")])


c = np.array([5.0, -3.0, 2.0])
CASES = {
    "random-offcentre": (Network.random([3, 12, 12, 1], seed=1), Box(c - 1e-2, c + 1e-2), 1),
    "deep": (Network.random([2, 6, 6, 6, 6, 6, 6, 1], seed=2), Box([-1, -1], [1, 1]), 3),
    "maxout-prefix": (_maxout_net(), Box(-np.ones(3), np.ones(3)), 2),  # the prefix ends on the maxout layer
    "wholespace": (general_position_layer(12, 2, seed=4), WholeSpace(2), 1),
    "sawtooth": (sawtooth_net(6), Box([0.0], [1.0]), 4),
    "one-layer": (Network([Layer.affine(np.eye(2), np.zeros(2))]), Box([-1, -1], [2, 1]), 1),  # no split
}


def _same(part, one):
    np.testing.assert_array_equal(part.patterns, one.patterns)
    np.testing.assert_array_equal(part.witnesses, one.witnesses)
    np.testing.assert_array_equal(part.radii, one.radii)
    np.testing.assert_array_equal(part.layer_counts, one.layer_counts)


@pytest.mark.parametrize("name", sorted(CASES))
def test_distributed_gives_the_one_machine_partition(client, name):
    net, domain, P = CASES[name]
    one = relutope.enumerate_regions(net, domain, method="lp", threads=1)
    part = enumerate_distributed(net, domain, client, prefix_layers=P)
    assert part.complete
    _same(part, one)


def test_distributed_task_counts_and_closed_forms(client):
    net, domain, _ = CASES["deep"]
    one = relutope.enumerate_regions(net, domain, method="lp", threads=1)
    for n_tasks in (1, 3, 10 ** 6):  # one task, a few, one per cell
        _same(enumerate_distributed(net, domain, client, prefix_layers=2, n_tasks=n_tasks, threads=2), one)
    net, domain, _ = CASES["wholespace"]
    assert len(enumerate_distributed(net, domain, client)) == zaslavsky_count(12, 2)
    net, domain, _ = CASES["sawtooth"]
    assert len(enumerate_distributed(net, domain, client, prefix_layers=3)) == 2 ** 6


def test_shards_on_disk_open_memory_mapped(client, tmp_path):
    net = Network.random([3, 12, 12, 12, 1], seed=0)
    box = Box(-np.ones(3), np.ones(3))
    one = relutope.enumerate_regions(net, box, method="lp", threads=1)
    part = enumerate_distributed(net, box, client, shards=tmp_path / "shards", n_tasks=5)
    _same(part, one)
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == [
        "centers.npy", "domain.pkl", "meta.json", "network.pkl", "patterns.npy", "radii.npy"]
    again = open_shards(tmp_path / "shards")
    _same(again, one)
    assert not again._packed.flags.owndata and not again._centers.flags.owndata  # views of the mapped files
    assert again.complete and again.tol == one.tol


def test_time_limit_per_task_gives_exact_partial_results(client):
    net = Network.random([4, 16, 16, 16, 1], seed=0)  # about 150 000 regions: seconds of work
    part = enumerate_distributed(net, Box(-np.ones(4), np.ones(4)), client, time_limit=0.02, n_tasks=2)
    assert part.status == "time_limit" and not part.complete and 0 < len(part) < 146603
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)
    assert len({p.tobytes() for p in part.patterns}) == len(part)


@pytest.mark.parametrize("kwargs, exc, word", [({"prefix_layers": 0}, ValueError, "prefix_layers"),
                                               ({"prefix_layers": 1.5}, TypeError, "prefix_layers"),
                                               ({"n_tasks": 0}, ValueError, "n_tasks"),
                                               ({"threads": 0}, ValueError, "threads")])
def test_bad_arguments_are_named(client, kwargs, exc, word):
    net, domain, _ = CASES["random-offcentre"]
    with pytest.raises(exc, match=word):
        enumerate_distributed(net, domain, client, **kwargs)


def test_output_bounds_distributed_equal_one_machine(client):
    from relutope.distributed import output_bounds_distributed

    net = Network.random([3, 12, 12, 2], seed=8)
    box = Box(np.array([1.0, -2.0, 0.5]) - 0.3, np.array([1.0, -2.0, 0.5]) + 0.3)
    one = relutope.output_bounds(net, box)
    for prune in (True, False):
        dist = output_bounds_distributed(net, box, client, prune=prune, n_tasks=3)
        assert dist.complete
        np.testing.assert_allclose(dist.upper, one.upper, rtol=1e-12)
        np.testing.assert_allclose(dist.lower, one.lower, rtol=1e-12)
        y_hi, _ = net.forward(dist.argmax)  # a forward pass at the inputs returned attains the bounds
        y_lo, _ = net.forward(dist.argmin)
        np.testing.assert_allclose(np.diag(y_hi), dist.upper, rtol=1e-9)
        np.testing.assert_allclose(np.diag(y_lo), dist.lower, rtol=1e-9)
    assert dist.regions == len(relutope.enumerate_regions(net, box))  # no pruning: every region once
    # unbounded on the whole plane: +-inf with checked rays (one general-position layer, then a linear output)
    net, domain, _ = CASES["wholespace"]
    one, dist = relutope.output_bounds(net, domain), output_bounds_distributed(net, domain, client)
    np.testing.assert_array_equal(dist.upper, one.upper)
    np.testing.assert_array_equal(dist.lower, one.lower)
