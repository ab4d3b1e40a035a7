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
        "centers.npy", "meta.json", "model.npz", "patterns.npy", "radii.npy"]
    again = open_shards(tmp_path / "shards")
    _same(again, one)
    assert not again._packed.flags.owndata and not again._centers.flags.owndata  # views of the mapped files
    assert again.complete and again.tol == one.tol


class _Trap:
    """Unpickling it would write a file: the proof that a loader ran code from a shard directory."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_shards_are_read_without_pickles_and_checked(client, tmp_path):
    import json
    import shutil

    net = Network.random([2, 6, 6, 1], seed=3)
    box = Box([-1.0, -1.0], [1.0, 1.0])
    good = tmp_path / "good"
    one = enumerate_distributed(net, box, client, shards=good, n_tasks=2)
    trap = tmp_path / "code-ran"

    def broken(name):
        d = tmp_path / name
        shutil.copytree(good, d)
        return d

    d = broken("pickled-patterns")  # an object array (a pickle) where the patterns were
    np.save(d / "patterns.npy", np.array([_Trap(trap)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="patterns.npy"):
        open_shards(d)
    d = broken("pickled-model")
    np.savez(d / "model.npz", format=np.array("relutope.Shards/1"), net_n_layers=np.array([_Trap(trap)]))
    with pytest.raises(ValueError, match="Python objects"):
        open_shards(d)
    assert not trap.exists()
    d = broken("old-layout")  # the former pickled network.pkl / domain.pkl are not read
    (d / "model.npz").unlink()
    with pytest.raises(ValueError, match="model.npz"):
        open_shards(d)
    d = broken("other-weights")  # weights changed behind the stored fingerprint
    with np.load(d / "model.npz") as z:
        arrays = dict(z)
    arrays["net_layer0_A"] = arrays["net_layer0_A"] * 1.5
    np.savez(d / "model.npz", **arrays)
    with pytest.raises(ValueError, match="fingerprint"):
        open_shards(d)
    d = broken("meta")
    meta = json.loads((d / "meta.json").read_text())
    (d / "meta.json").write_text(json.dumps({**meta, "tol": "small"}))
    with pytest.raises(ValueError, match="'tol'"):
        open_shards(d)
    d = broken("centres")  # witnesses of the wrong width
    np.save(d / "centers.npy", np.zeros((len(one), 3)))
    with pytest.raises(ValueError, match="centers.npy"):
        open_shards(d)
    d = broken("rows")  # one radius too few
    np.save(d / "radii.npy", np.ones(len(one) - 1))
    with pytest.raises(ValueError, match="same number of rows"):
        open_shards(d)
    _same(open_shards(good), relutope.enumerate_regions(net, box, method="lp", threads=1))


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


# ---------------------------------------------------------------- verification on the cluster
from relutope.distributed import verify_distributed  # noqa: E402
from relutope.vnnlib import Case, Property  # noqa: E402


def _spike_net(e=1e-11):
    """A hat of height 1 on the slab 0 < x_0 < 2e (two first-layer cells thinner than the default tol), zero
    elsewhere: y = (relu(x0) - 2 relu(x0 - e) + relu(x0 - 2e)) / e, plus a unit on x_1 that splits the box."""
    W0 = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    b0 = np.array([0.0, -e, -2 * e, 0.3])
    return Network([Layer.affine(W0, b0, "relu"), Layer.affine(np.array([[1 / e, -2 / e, 1 / e, 0.0]]),
                                                              np.zeros(1), "identity")])


def _above(lo, hi, row, threshold):
    """One case: the box [lo, hi] is unsafe where output ``row`` is at least ``threshold``."""
    C = np.zeros((1, 2))
    C[0, row] = -1.0
    return Case(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), [(C, np.array([-threshold]))])


def _check_verdict(net, spec, result, expected):
    assert result.status == expected
    if expected == "violated":  # an input of the case's box whose forward pass lies in the unsafe term
        case = spec.cases[result.case]
        x = result.counterexample
        assert np.all(x >= case.box_lo) and np.all(x <= case.box_hi)
        C, d = case.terms[result.term]
        assert np.all(C @ net(x[None, :])[0] <= d + 1e-6 * (1 + np.abs(d)))
        assert result.cases[result.case]["status"] == "violated"
    if expected == "holds":
        assert result.proven == 1.0 and all(c["closed"] == 1.0 for c in result.cases)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_verify_distributed_agrees_with_exact_bounds_and_verify(client, scale):
    # Thresholds just above and below the exact maximum of each output (output_bounds: checked against HiGHS
    # and brute force elsewhere) decide the verdict independently; relutope.verify must agree too.
    centre = np.array([3.0, -2.0, 0.5]) * scale
    net = Network.random([3, 10, 10, 2], seed=6)
    net = Network([Layer(net.layers[0].A / scale, net.layers[0].c - net.layers[0].A @ centre / scale,
                         net.layers[0].n_pieces)] + list(net.layers[1:]))  # the same function around centre
    lo, hi = centre - scale, centre + scale
    top = relutope.output_bounds(net, Box(lo, hi)).upper
    for row in (0, 1):
        gap = 1e-6 * (1 + abs(top[row]))
        for threshold, expected in ((top[row] - gap, "violated"), (top[row] + gap, "holds")):
            spec = Property([_above(lo, hi, row, threshold)], 3, 2)
            for search, prune in ((False, True), (False, False), (True, True)):
                result = verify_distributed(net, spec, client, search=search, prune=prune, n_tasks=3)
                _check_verdict(net, spec, result, expected)
                if not search:
                    assert result.cases[0]["found_by" if expected == "violated" else "status"] in (
                        "enumeration", "holds")
                if expected == "holds" and not prune:  # every region visited by exactly one task
                    assert result.regions == len(relutope.enumerate_regions(net, Box(lo, hi), method="lp"))
            assert relutope.verify(net, spec).status == expected


def test_verify_distributed_several_cases_and_prefix_depths(client):
    # The unsafe set meets only the second case's box (its maximum there, from output_bounds, is above the
    # threshold; in the first box it is below): violated in case 1, and holds once that case is dropped.
    net = Network.random([2, 8, 8, 8, 2], seed=11)
    boxes = [([-1.0, -1.0], [0.0, 0.0]), ([0.0, 0.0], [1.0, 1.0])]
    tops = [relutope.output_bounds(net, Box(lo, hi)).upper[0] for lo, hi in boxes]
    threshold = 0.5 * (tops[0] + tops[1])
    first, second = (0, 1) if tops[0] < tops[1] else (1, 0)
    both = Property([_above(*boxes[first], 0, threshold), _above(*boxes[second], 0, threshold)], 2, 2)
    for P in (1, 3):
        result = verify_distributed(net, both, client, search=False, prefix_layers=P)
        _check_verdict(net, both, result, "violated")
        assert result.case == 1
        assert relutope.verify(net, both, search=False).status == "violated"
        safe = Property([_above(*boxes[first], 0, threshold)], 2, 2)
        _check_verdict(net, safe, verify_distributed(net, safe, client, prefix_layers=P, n_tasks=20), "holds")


def test_verify_distributed_thin_cells_of_the_first_layer(client):
    # The output reaches 1 only inside first-layer cells thinner than tol: the case is not split at them
    # (cells == 1) and the violation is found (relutope.verify finds it too); the bounds see the spike.
    net = _spike_net()
    lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    assert net(np.array([[1e-11, 0.0]]))[0, 0] == pytest.approx(1.0)  # the hat's top, by a forward pass
    spec = Property([Case(lo, hi, [(np.array([[-1.0]]), np.array([-0.5]))])], 2, 1)
    result = verify_distributed(net, spec, client, search=False, split_max_dims=0)  # no input splitting first
    assert result.cases[0]["cells"] == 1
    _check_verdict(net, spec, result, "violated")
    assert relutope.verify(net, spec, search=False).status == "violated"
    from relutope.distributed import output_bounds_distributed

    bounds = output_bounds_distributed(net, Box(lo, hi), client)
    assert bounds.complete and bounds.upper[0] == pytest.approx(1.0, rel=1e-6) and bounds.lower[0] == 0.0


def test_verify_distributed_timeout_is_unknown_never_holds(client):
    net = Network.random([4, 16, 16, 16, 1], seed=0)  # about 150 000 regions: seconds of work without pruning
    lo, hi = -np.ones(4), np.ones(4)
    spec = Property([Case(lo, hi, [(np.array([[-1.0]]), np.array([-1e9]))])], 4, 1)  # unreachable: would hold
    result = verify_distributed(net, spec, client, timeout=0.05, prune=False, search=False, n_tasks=4)
    assert result.status == "unknown" and result.proven == 0.0
    assert result.cases[0]["status"] == "time_limit" and result.cases[0]["closed"] < 1.0


def test_verify_distributed_stop_event_ends_running_and_queued_tasks(client):
    # The client's stop event (set once a counterexample is found): a task that has not started returns at once,
    # and a run's checkpoint hook stops the core with exact partial results.
    from dask.distributed import Event
    from relutope import _core
    from relutope.distributed import _verify_cells
    from relutope.enumerate import _engine_call

    Event("relutope-test-stop", client=client).set()
    net = Network.random([3, 12, 12, 1], seed=1)
    lo, hi = -np.ones(3), np.ones(3)
    r = client.submit(_verify_cells, net, lo, hi, [(np.array([[-1.0]]), np.array([-1e9]))], False,
                      np.zeros((1, 0), np.int8), 0, 1e-9, 1, None, "relutope-test-stop", pure=False).result()
    assert r["status"] == "stopped" and r["leaves"] == 0
    net = Network.random([3, 32, 32, 1], seed=0)
    out, _ = _engine_call(_core.enumerate_regions, net, Box(lo, hi), tol=None, max_regions=None, time_limit=None,
                          progress=False, stop=lambda: True)
    assert out["status"] == "interrupted" and 0 < out["leaves"] < 10 ** 5
    packed = out["patterns"]
    part = relutope.Partition._from_packed(net, Box(lo, hi), packed, out["centers"], out["radii"],
                                           out["layer_counts"], status="interrupted", tol=out["tol"])
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)


@pytest.mark.parametrize("kwargs, exc, word", [({"timeout": 0}, ValueError, "timeout"),
                                               ({"prefix_layers": 0}, ValueError, "prefix_layers"),
                                               ({"threads": 0}, ValueError, "threads")])
def test_verify_distributed_bad_arguments_are_named(client, kwargs, exc, word):
    net = Network.random([2, 4, 1], seed=0)
    spec = Property([Case(-np.ones(2), np.ones(2), [(np.array([[-1.0]]), np.array([-10.0]))])], 2, 1)
    with pytest.raises(exc, match=word):
        verify_distributed(net, spec, client, search=False, **kwargs)
    with pytest.raises(ValueError, match="spec has 2 inputs"):
        verify_distributed(Network.random([3, 4, 1], seed=0), spec, client)
    with pytest.raises(TypeError, match="spec"):
        verify_distributed(net, 3, client)


def test_verify_with_client_is_the_local_verdict_with_input_splitting(client):
    # relutope.verify(..., client=) against the local run and against the exact maximum (output_bounds, checked
    # against HiGHS and brute force elsewhere): thresholds just below it are violated, just above it hold; far
    # above, the input splitting closes the box on the client (no cell enumerated); near it, it leaves boxes
    # open whose cells run as tasks. Off-centre at 1e-6 and 1e6, a ReLU net and one with max-pooling.
    for net, scale in ((Network.random([2, 10, 10, 1], seed=3), 1e-6), (_maxout_net(), 1e6)):
        k = net.in_dim
        centre = np.linspace(2.0, -1.0, k) * scale
        net = Network([Layer(net.layers[0].A / scale, net.layers[0].c - net.layers[0].A @ centre / scale,
                             net.layers[0].n_pieces)] + list(net.layers[1:]))
        lo, hi = centre - scale, centre + scale
        top = float(relutope.output_bounds(net, Box(lo, hi)).upper[0])
        for gap, expected in ((-1e-6, "violated"), (1e-6, "holds"), (1.0, "holds")):
            threshold = top + gap * (1 + abs(top))
            spec = Property([Case(lo, hi, [(np.array([[-1.0]]), np.array([-threshold]))])], k, 1)
            for search in (False, True):
                result = relutope.verify(net, spec, client=client, search=search)
                _check_verdict(net, spec, result, expected)
                assert relutope.verify(net, spec, search=search).status == expected
                stats = result.cases[0]
                if expected == "holds":
                    assert stats["boxes"] > 0  # the input splitting ran on the client
                    assert (stats["open_boxes"] == 0) == (gap == 1.0) and (stats["cells"] > 0) == (gap < 1.0)
    with pytest.raises(ValueError, match="split_boxes"):
        relutope.verify(net, spec, client=client, split_boxes=-1)


def test_verify_with_client_certifies_the_verdict(client):
    pytest.importorskip("flint")
    net = Network.random([2, 6, 6, 1], seed=4)
    lo, hi = np.array([0.5, -1.5]), np.array([1.5, -0.5])
    top = float(relutope.output_bounds(net, Box(lo, hi)).upper[0])
    for threshold, expected in ((top + 1e-3, "holds"), (top - 1e-3, "violated")):
        spec = Property([Case(lo, hi, [(np.array([[-1.0]]), np.array([-threshold]))])], 2, 1)
        result = relutope.verify(net, spec, client=client, certify=True)
        assert result.status == expected and result.certificate is not None and result.certificate.ok


def test_output_bounds_with_client_equal_the_local_bounds(client):
    net = Network.random([3, 10, 10, 2], seed=8)
    centre = np.array([1e6, -2e6, 3e6])
    box = Box(centre - 5e5, centre + 5e5)
    C, d = np.array([[1.0, -2.0], [0.5, 0.5]]), np.array([3.0, -1.0])
    one, dist = relutope.output_bounds(net, box, C, d), relutope.output_bounds(net, box, C, d, client=client)
    assert dist.complete and dist.status == "complete"
    np.testing.assert_array_equal(dist.upper, one.upper)
    np.testing.assert_array_equal(dist.lower, one.lower)
    y = C @ net(dist.argmax).T  # the inputs returned attain the bounds (forward passes)
    np.testing.assert_allclose(np.diag(y) + d, dist.upper, rtol=1e-12, atol=1e-12 * np.abs(dist.upper).max())
    for kwargs in ({"certify": True}, {"max_regions": 10}, {"progress": True}):
        with pytest.raises(ValueError, match="client"):
            relutope.output_bounds(net, box, client=client, **kwargs)
