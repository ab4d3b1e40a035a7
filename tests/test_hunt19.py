"""Defects found by the hunt of session 19, each checked against an independent answer."""
import numpy as np
import pytest

import relutope
from relutope.complexity import local_complexity


def test_local_complexity_time_limit_stops_inside_a_neighbourhood():
    # one neighbourhood of 34,358 regions (about 1 s): the run's time_limit must stop its enumeration too, not only
    # be checked between points (it ran the whole neighbourhood and reported it complete)
    net = relutope.Network.random([3, 32, 32, 1], seed=0)
    X = np.full((2, 3), 0.1)
    lc = local_complexity(net, X, 1.0, 3, boundary=False, time_limit=0.01)
    assert lc.status == "time_limit"
    assert not lc.complete.any()
    full = relutope.enumerate_regions(net, relutope.complexity.neighbourhood(X[0], lc.directions[0], 1.0))
    assert 1 <= lc.n_regions[0] < len(full) and lc.n_regions[1] == -1  # a lower bound; the next point not reached


def test_removal_effect_time_limit_bounds_the_whole_call():
    # time_limit was given to each of the 2n + 1 enumerations: 1e-3 s ran 10 s on [3, 24, 24, 2]; now the units it
    # does not reach are marked, and the ones examined match their own enumerations
    from relutope import pruning

    net = relutope.Network.random([2, 16, 16, 1], seed=2)
    box = relutope.Box([-0.7, -1.2], [1.1, 0.4])
    eff = pruning.removal_effect(net, box, time_limit=0.02)
    assert not eff.complete and not eff.examined.all()
    skipped = ~eff.examined
    assert np.all(eff.regions_after[skipped] == -1) and np.all(eff.regions_merged[skipped] == 0)
    assert np.isnan(eff.volume_changed[skipped]).all() and np.isnan(eff.volume_fraction[skipped]).all()
    for k, after in zip(eff.units[eff.examined], eff.regions_after[eff.examined]):
        assert after == len(relutope.enumerate_regions(pruning.remove_units(net, [k]), box))
    with pytest.raises(ValueError, match="time_limit"):
        pruning.removal_effect(net, box, time_limit=0.0)


def test_stable_units_time_limit_bounds_the_whole_call(monkeypatch):
    # time_limit was given to each layer's output_bounds: four layers of 0.1 s each finished "complete" under a
    # limit of 0.15 s. Each bound computation made to last 0.1 s (a sleep after the real one):
    import importlib
    import time

    from relutope import pruning

    verify = importlib.import_module("relutope.verify")  # the module (relutope.verify is the function)
    real = verify.output_bounds

    def slow(*args, **kwargs):
        out = real(*args, **kwargs)
        time.sleep(0.1)
        return out

    net = relutope.Network.random([2, 4, 4, 4, 4, 1], seed=0)
    box = relutope.Box([-1.0, -1.0], [1.0, 1.0])
    full = pruning.stable_units(net, box)
    monkeypatch.setattr(verify, "output_bounds", slow)
    part = pruning.stable_units(net, box, time_limit=0.15)
    assert not part.complete and part.status == "time_limit"
    decided = part.piece >= 0  # what was decided before the limit agrees with the full run
    assert np.array_equal(part.piece[decided], full.piece[decided])


@pytest.mark.parametrize("shape", [(3.5,), 3.5, (True,), "3", (3, 2.0), None])
def test_from_torch_input_shape_of_non_ints_is_a_type_error(shape):
    # (3.5,) was truncated to (3,) and read silently; 3.5 raised "'float' object is not iterable"
    nn = pytest.importorskip("torch").nn
    with pytest.raises(TypeError, match="input_shape must be an int or a sequence of ints"):
        relutope.from_torch(nn.Sequential(nn.Linear(3, 2)), shape)


def test_from_torch_input_shape_of_numpy_ints_is_read():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(3, 2)).double()
    x = np.random.default_rng(0).normal(size=(5, 3))
    for shape in (np.int64(3), (np.int32(3),), [3]):
        net = relutope.from_torch(model, shape)
        np.testing.assert_allclose(net(x), model(torch.from_numpy(x)).detach().numpy(), rtol=1e-15, atol=1e-15)



def test_vnncomp_instances_quoted_with_spaces_and_with_a_bom(tmp_path, capsys):
    # '"a", "b" , 5' kept the quotes of "b" (csv without skipinitialspace): the file was not found; a UTF-8 BOM
    # became part of the first path; an instance that failed to load printed no progress line
    from relutope.vnncomp import read_instances, run_instances

    net = relutope.Network.random([2, 8, 8, 2], seed=1)
    (tmp_path / "onnx").mkdir()
    (tmp_path / "vnnlib").mkdir()
    net.to_onnx(tmp_path / "onnx" / "net.onnx")
    (tmp_path / "vnnlib" / "p.vnnlib").write_text(
        "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
        "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= X_1 -1))\n(assert (<= X_1 1))\n"
        "(assert (>= Y_0 1000))\n")
    rows = ['"onnx/net.onnx", "vnnlib/p.vnnlib" , 5.5', 'onnx/net.onnx ,"vnnlib/p.vnnlib",5',
            "onnx/missing.onnx,vnnlib/p.vnnlib,5"]
    (tmp_path / "instances.csv").write_bytes(b"\xef\xbb\xbf" + ("\n".join(rows) + "\n").encode())
    assert read_instances(tmp_path / "instances.csv")[:2] == [("onnx/net.onnx", "vnnlib/p.vnnlib", 5.5),
                                                               ("onnx/net.onnx", "vnnlib/p.vnnlib", 5.0)]
    got = run_instances(tmp_path / "instances.csv", progress=True)
    expect = relutope.verify(net, str(tmp_path / "vnnlib" / "p.vnnlib")).vnncomp  # the files, directly
    assert expect == "unsat"
    assert [r.result for r in got] == [expect, expect, "error"], [r.message for r in got]
    assert len(capsys.readouterr().out.strip().splitlines()) == 3  # one line per instance, the error's too


def _tiny_benchmark(tmp_path):
    """A [2, 8, 8, 2] network as ONNX and a property on it that holds (y0 >= 1000 is out of reach), both also
    gzipped."""
    import gzip

    net = relutope.Network.random([2, 8, 8, 2], seed=1)
    (tmp_path / "onnx").mkdir()
    (tmp_path / "vnnlib").mkdir()
    net.to_onnx(tmp_path / "onnx" / "net.onnx")
    prop = ("(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
            "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= X_1 -1))\n(assert (<= X_1 1))\n"
            "(assert (>= Y_0 1000))\n")
    (tmp_path / "vnnlib" / "p.vnnlib").write_text(prop)
    (tmp_path / "onnx" / "z.onnx.gz").write_bytes(gzip.compress((tmp_path / "onnx" / "net.onnx").read_bytes()))
    (tmp_path / "vnnlib" / "z.vnnlib.gz").write_bytes(gzip.compress(prop.encode()))
    return net



def test_vnncomp_reads_the_benchmark_repositories_gzipped_files(tmp_path):
    # .onnx.gz models were "unsupported model file"; an instance naming x.onnx / x.vnnlib when the benchmark
    # repository holds x.onnx.gz / x.vnnlib.gz (unpacked by the competition's setup scripts) was "not found"
    from relutope.vnncomp import run_instances

    net = _tiny_benchmark(tmp_path)
    rows = ["onnx/z.onnx.gz,vnnlib/z.vnnlib.gz,5", "onnx/z.onnx,vnnlib/z.vnnlib,5", "onnx/none.onnx,vnnlib/z.vnnlib,5"]
    (tmp_path / "instances.csv").write_text("\n".join(rows) + "\n")
    got = run_instances(tmp_path / "instances.csv")
    expect = relutope.verify(net, str(tmp_path / "vnnlib" / "p.vnnlib")).vnncomp  # the plain files, directly
    assert expect == "unsat"
    assert [r.result for r in got] == [expect, expect, "error"], [r.message for r in got]
    assert "none.onnx" in got[2].message

def test_cli_loads_gzipped_onnx_and_names_the_file_in_its_errors(tmp_path):
    import gzip

    from relutope.cli import _load_network
    from relutope.errors import ModelFormatError

    net = _tiny_benchmark(tmp_path)
    back = _load_network(str(tmp_path / "onnx" / "z.onnx.gz"))
    x = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    np.testing.assert_array_equal(back(x), relutope.load_onnx(tmp_path / "onnx" / "net.onnx")(x))
    np.testing.assert_allclose(back(x), net(x), rtol=1e-14, atol=1e-14)
    (tmp_path / "bad.onnx.gz").write_bytes(gzip.compress(b"not a model"))
    with pytest.raises(ModelFormatError, match="bad.onnx.gz: not a readable ONNX model"):
        _load_network(str(tmp_path / "bad.onnx.gz"))
    (tmp_path / "bad2.onnx.gz").write_bytes(b"not gzip")
    with pytest.raises(ModelFormatError, match="bad2.onnx.gz: not a readable gzip file"):
        _load_network(str(tmp_path / "bad2.onnx.gz"))
    with pytest.raises(FileNotFoundError, match="missing.onnx.gz"):
        _load_network(str(tmp_path / "missing.onnx.gz"))


def test_io_flags_must_be_bools():
    # drop_final_softmax="no" and return_info="no" were truthy: the softmax was dropped, a tuple returned
    from pathlib import Path

    torch = pytest.importorskip("torch")
    nnet = Path(__file__).parent / "data" / "acasxu" / "nnet" / "ACASXU_run2a_1_1_batch_2000.nnet"
    with pytest.raises(TypeError, match="return_info must be a bool"):
        relutope.load_nnet(nnet, return_info="no")
    assert isinstance(relutope.load_nnet(nnet, return_info=np.bool_(False)), relutope.Network)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Softmax(dim=1))
    with pytest.raises(TypeError, match="drop_final_softmax must be a bool"):
        relutope.from_torch(model, (2,), drop_final_softmax="no")
    onnx_model = relutope.Network.random([2, 3], seed=0).to_onnx()
    with pytest.raises(TypeError, match="drop_final_softmax must be a bool"):
        relutope.load_onnx(onnx_model, drop_final_softmax=1)


@pytest.mark.parametrize("command", ["enumerate", "prune"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_cli_npz_out_that_is_a_directory_is_refused(tmp_path, capsys, command, slash):
    # --out DIR wrote DIR.npz beside the directory (and --out DIR/ a hidden DIR/.npz), reporting success
    import os

    from relutope.cli import main

    model = tmp_path / "net.npz"
    relutope.Network.random([2, 4, 1], seed=0).save(model)
    folder = tmp_path / "results"
    folder.mkdir()
    assert main([command, str(model), "--box", "-1", "1", "--out", str(folder) + slash]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["net.npz", "results"] and os.listdir(folder) == []


@pytest.mark.parametrize("c, s", [(0.0, 1.0), (1e4, 1e-6), (1e8, 1e-3), (0.0, 1e-13), (3e6, 1e6)])
def test_grid_points_of_a_small_or_far_off_polygon(c, s):
    # the grid kept the cells whose centre was within an absolute 1e-12 (1 + |b|) of the polygon: at (1e8, 1e8) a
    # triangle of side 1e-3 got 6840 points, 1790 of them outside (its bounding box came from LPs with HiGHS's
    # absolute tolerances too). Triangle t0, t1 >= 0, t0 + t1 <= 1.003, bounding box [0, 1.003]^2, 100 x 100 grid:
    # the centres 1.003 ((i + 1/2) / 100, (j + 1/2) / 100) with i + j <= 99 lie inside, 5050 of them
    from relutope.early_bird import grid_points, sampled_distance

    A = np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]])
    tri = relutope.Polytope(A, np.array([-c, -c, 2 * c + 1.003 * s]))
    t = (grid_points(tri, 100) - c) / s
    assert len(t) == 5050
    ij = np.rint(t / 1.003 * 100 - 0.5)
    np.testing.assert_allclose(t, 1.003 * (ij + 0.5) / 100, atol=1e-4)
    assert np.all(ij.sum(axis=1) <= 99) and len(np.unique(ij, axis=0)) == 5050
    # the Spline-EB distance of two nets on it: that of the same nets at unit scale (inputs mapped back)
    net_a, net_b = relutope.Network.random([2, 6, 6, 1], seed=0), relutope.Network.random([2, 6, 6, 1], seed=1)
    layer = lambda net: relutope.Network([relutope.Layer(net.layers[0].A / s, net.layers[0].c  # noqa: E731
                                                         - net.layers[0].A @ np.full(2, c) / s,
                                                         net.layers[0].n_pieces)] + list(net.layers[1:]))
    unit = relutope.Polytope(A, np.array([0.0, 0.0, 1.003]))
    assert sampled_distance(layer(net_a), layer(net_b), tri).distance == pytest.approx(
        sampled_distance(net_a, net_b, unit).distance, abs=1e-3)


def _interrupting(monkeypatch):
    """Make every enumeration return as the core does on Ctrl-C: a partial partition, status "interrupted"."""
    import importlib

    enum = importlib.import_module("relutope.enumerate")
    real = enum.enumerate_regions

    def interrupted(*args, **kwargs):
        part = real(*args, **{**kwargs, "max_regions": 1})
        part.status = "interrupted"  # as the core leaves it on Ctrl-C
        calls.append(part)
        return part

    calls = []
    monkeypatch.setattr(enum, "enumerate_regions", interrupted)
    return calls, lambda: monkeypatch.setattr(enum, "enumerate_regions", real), real


def test_compare_sampling_interrupted_enumeration_is_an_interrupt(monkeypatch, tmp_path):
    # Ctrl-C in the enumeration (a partition returned with status "interrupted") raised ValueError("partition
    # must be complete"), so `relutope compare-sampling` exited 2 (bad usage) instead of 130 (interrupted)
    from relutope.cli import main

    net = relutope.Network.random([2, 6, 1], seed=0)
    box = relutope.Box([-1.0, -1.0], [1.0, 1.0])
    net.save(tmp_path / "net.npz")
    calls, restore, real = _interrupting(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        relutope.compare_sampling(net, box, budgets=[10])
    assert main(["compare-sampling", str(tmp_path / "net.npz"), "--box", "-1", "1", "--budgets", "10"]) == 130
    restore()
    assert relutope.compare_sampling(net, box, budgets=[10]).n_regions == len(real(net, box))  # a later call


def test_ctrl_c_stops_the_functions_that_run_several_enumerations(monkeypatch):
    # Ctrl-C stopped the one enumeration it hit, then the loop went on to the next slice, layer or checkpoint:
    # slice_summaries, plot.layers and EarlyBirdMonitor.record ran every other enumeration regardless
    from relutope import region_stats

    net = relutope.Network.random([2, 6, 6, 1], seed=0)
    slices = [relutope.Box([-1.0, -1.0], [1.0, 1.0]), relutope.Box([0.0, 0.0], [2.0, 1.0])]
    calls, restore, _ = _interrupting(monkeypatch)
    rows = region_stats.slice_summaries(net, slices)
    assert len(rows) == 1 and not rows[0]["complete"] and len(calls) == 1  # stopped there, marked incomplete
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import importlib

    import matplotlib.pyplot as plt

    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        importlib.import_module("relutope.plot").layers(net, slices[0])
    plt.close("all")
    assert len(calls) == 1
    torch = pytest.importorskip("torch")
    from relutope.early_bird import EarlyBirdMonitor

    model = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1))
    restore()
    monitor = EarlyBirdMonitor((2,), slices, n=10, exact=True)
    monitor.record(model)
    calls, restore, _ = _interrupting(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        monitor.record(model)
    assert len(calls) == 1 and len(monitor.records) == 1
