"""Defects of session 20 (the brief's list, then a hunt), each checked against an independent answer."""
import warnings
from fractions import Fraction

import numpy as np
import pytest

import relutope
from oracle import as_pattern_set, brute_force_patterns


def _moved(base: relutope.Network, s: float, c: np.ndarray) -> relutope.Network:
    """``x -> base((x - c) / s)``: the arrangement of ``base`` moved to ``c`` and scaled by ``s``."""
    first = base.layers[0]
    layers = [relutope.Layer(first.A / s, first.c - first.A @ c / s, first.n_pieces)] + list(base.layers[1:])
    return relutope.Network(layers)


BASE = relutope.Network.random([2, 10, 6, 1], seed=3)


@pytest.fixture(scope="module")
def base_patterns():
    # the oracle (HiGHS, brute force over the pieces) on the unscaled net over R^2; the regions are all wider than
    # 1e-5 there (checked), so the oracle's tol 1e-7 misses none
    patterns, radii = brute_force_patterns(BASE, tol=1e-7)
    assert radii.min() > 1e-5
    return as_pattern_set(patterns)


@pytest.fixture(scope="module")
def base_minimum(base_patterns):
    # the net's minimum over R^2, by an LP (HiGHS) on every region of the oracle: min of its affine map there
    from scipy.optimize import linprog

    from oracle import region_halfspaces

    best = np.inf
    for pattern in base_patterns:
        A, b = region_halfspaces(BASE, pattern)
        M, m = BASE.local_affine_map(np.array([pattern], dtype=np.int8))
        res = linprog(M[0, 0], A_ub=A, b_ub=b, bounds=[(None, None)] * 2, method="highs")
        if res.status == 0:
            best = min(best, res.fun + m[0, 0])
    return best


@pytest.mark.parametrize("s", [1e-12, 1e-6, 1.0, 1e6, 1e12])
def test_whole_space_default_tol_follows_the_network(s, base_patterns, base_minimum):
    # WholeSpace's default tol was an absolute 1e-9 (size 1): with the hyperplanes within ~1e-6 of a point, 13 of
    # the 165 regions were lost (152). Now its size and centre are the arrangement's: the same regions at every
    # scale and position as the oracle, and as a box around the arrangement holding every region
    c = np.array([3.0, -7.0]) * s
    net = _moved(BASE, s, c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no tol raised to min_tol: the default resolves the arrangement)
        whole = relutope.enumerate_regions(net, relutope.WholeSpace(2))
    box = relutope.enumerate_regions(net, relutope.Box(c - 1e3 * s, c + 1e3 * s))
    assert whole.complete and as_pattern_set(whole.patterns) == base_patterns
    assert as_pattern_set(box.patterns) == base_patterns
    assert whole.tol == pytest.approx(relutope.default_tol(relutope.WholeSpace(2), net))
    assert 1e-11 * s < whole.tol < 1e-8 * s
    # radii capped at the arrangement's size (an absolute cap of 1 put the unbounded regions' witnesses 1e7 sizes
    # out at s = 1e-6, where facets and adjacency lost their neighbours: check_complete failed)
    assert whole.radii.max() == pytest.approx(whole.domain.scale)
    assert whole.check_complete().ok
    assert np.allclose(whole.domain.center, c, rtol=0, atol=10 * s)
    assert np.array_equal(net.activation_pattern(whole.witnesses), whole.patterns)
    # the same through a slice of R^2 (the plane itself, moved and stretched by 3)
    sl = relutope.Slice(c, 3.0 * np.eye(2), relutope.WholeSpace(2))
    assert as_pattern_set(relutope.enumerate_regions(net, sl).patterns) == base_patterns
    # output_bounds on R^2 (the same engine set-up): the oracle's minimum; the maximum is unbounded
    bounds = relutope.output_bounds(net, relutope.WholeSpace(2))
    assert bounds.complete and bounds.upper[0] == np.inf
    assert bounds.lower[0] == pytest.approx(base_minimum, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("s", [1e-6, 1.0, 1e6])
def test_whole_space_closure_at_every_scale(s):
    base = relutope.Network.random([2, 8, 6, 1], seed=1)
    c = np.array([3.0, -7.0]) * s
    whole = relutope.enumerate_regions(_moved(base, s, c), relutope.WholeSpace(2))
    assert len(whole) == 82 == len(relutope.enumerate_regions(base, relutope.WholeSpace(2)))
    report = whole.check_complete()
    assert report.ok and report.n_edges == 150


def test_whole_space_scale_and_centre_are_kept_and_checked(tmp_path):
    net = _moved(BASE, 1e-6, np.array([3e-6, -7e-6]))
    part = relutope.enumerate_regions(net, relutope.WholeSpace(2))
    back = relutope.Partition.load(_saved(part, tmp_path))
    assert back.domain.scale == part.domain.scale and np.array_equal(back.domain.center, part.domain.center)
    assert part.domain._same(relutope.WholeSpace(2))  # the domain the caller gave
    # an explicit scale is the user's: tol follows it
    fixed = relutope.enumerate_regions(net, relutope.WholeSpace(2, scale=1e-3))
    assert fixed.tol == pytest.approx(1e-12) and fixed.domain.scale == 1e-3
    assert relutope.default_tol(relutope.WholeSpace(2)) == 1e-9  # without a network: size 1, as documented
    for bad, err, match in [(dict(scale=0.0), ValueError, "scale"), (dict(scale="1"), TypeError, "scale"),
                            (dict(scale=np.inf), ValueError, "scale"), (dict(center=[0.0]), ValueError, "center"),
                            (dict(center=[np.nan, 0.0]), ValueError, "center")]:
        with pytest.raises(err, match=match):
            relutope.WholeSpace(2, **bad)
    with pytest.raises(ValueError, match="dimension"):
        relutope.default_tol(relutope.WholeSpace(3), net)


def _saved(part, tmp_path):
    path = tmp_path / "part.npz"
    part.save(path)
    return path


def test_summaries_of_an_incomplete_partition_say_so(tmp_path, capsys):
    # region_stats(...).summary() of a partition stopped by max_regions read like a complete one: count, volumes,
    # and nothing saying the regions were only those found so far
    from relutope import region_stats
    from relutope.cli import EXIT_INCOMPLETE, main
    from relutope.complexity import local_complexity

    net = relutope.Network.random([2, 8, 8, 1], seed=1)
    box = relutope.Box([-1.0, -1.0], [1.0, 1.0])
    full = relutope.enumerate_regions(net, box)
    part = relutope.enumerate_regions(net, box, max_regions=5)
    assert len(part) == 5 < len(full) and not part.complete
    st = region_stats.region_stats(part)
    row = st.summary()
    assert row["complete"] is False and row["status"] == "max_regions" and row["count"] == 5
    assert not st.complete and "incomplete" in repr(st)
    whole = region_stats.region_stats(full).summary()
    assert whole["complete"] is True and whole["status"] == "complete"
    assert row["volume_total"] < whole["volume_total"] == pytest.approx(4.0)
    empty = region_stats.region_stats(relutope.enumerate_regions(net, box, max_regions=0)).summary()
    assert empty["complete"] is False and empty["count"] == 0
    # the partition's own repr, summary and notebook table
    assert "incomplete" in repr(part) and "incomplete" in part.summary() and "incomplete" in part._repr_html_()
    assert "incomplete" not in repr(full) + full.summary() + full._repr_html_()
    # slice_summaries: complete and status per slice
    rows = region_stats.slice_summaries(net, [box], max_regions=5)
    assert rows[0]["complete"] is False and rows[0]["status"] == "max_regions"
    # local complexity: max_regions leaves the run's status "complete", but its repr and the CLI say which
    # neighbourhoods' counts are lower bounds
    X = np.array([[0.1, 0.2], [-0.3, 0.4]])
    lc = local_complexity(net, X, 2.0, 2, seed=0, max_regions=1)
    assert not lc.complete.any() and "2 incomplete" in repr(lc)
    net.save(tmp_path / "net.npz")
    np.save(tmp_path / "x.npy", X)
    assert main(["complexity", str(tmp_path / "net.npz"), "--points", str(tmp_path / "x.npy"), "--radius", "2",
                 "--max-regions", "1"]) == EXIT_INCOMPLETE
    assert "lower bounds: 2 neighbourhoods incomplete" in capsys.readouterr().out


def _dropout_model(opset, mode=None, mask=False, ratio=True, is_test=None):
    """Gemm -> Dropout -> Relu -> MatMul, float32, with an optional ratio, training_mode and mask output."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    W2 = rng.normal(size=(6, 2)).astype(np.float32)
    inits = [numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(W2, "W2")]
    ins = ["h"]
    if opset >= 12:
        if ratio or mode is not None:
            inits.append(numpy_helper.from_array(np.array(0.5, dtype=np.float32), "r"))
            ins.append("r")
        if mode is not None:
            inits.append(numpy_helper.from_array(np.array(mode, dtype=bool), "t"))
            ins.append("t")
    attrs = {} if is_test is None else {"is_test": is_test}
    if opset < 12 and ratio:
        attrs["ratio"] = 0.5
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
             helper.make_node("Dropout", ins, ["d", "m"] if mask else ["d"], **attrs),
             helper.make_node("Relu", ["d"], ["a"]), helper.make_node("MatMul", ["a", "W2"], ["y"])]
    graph = helper.make_graph(nodes, "dropout", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


@pytest.mark.parametrize("opset, mode, mask, ratio", [(13, None, False, False), (13, None, True, True),
                                                      (13, False, True, True), (10, None, True, True),
                                                      (7, None, False, True)])
def test_onnx_dropout_at_inference_is_the_identity(opset, mode, mask, ratio):
    # load_onnx refused Dropout ("unsupported op"); at inference it is the identity (ONNX spec), as onnxruntime runs it
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = _dropout_model(opset, mode, mask, ratio)
    net = relutope.load_onnx(model)
    x = np.random.default_rng(1).normal(size=(200, 3)).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = sess.run(["y"], {"x": x})[0]
    np.testing.assert_allclose(net(x.astype(np.float64)), ref, rtol=1e-5, atol=1e-5)
    assert net.widths == [3, 6, 2]


def test_onnx_dropout_in_training_mode_is_refused():
    pytest.importorskip("onnx")
    from relutope.errors import ModelFormatError

    with pytest.raises(ModelFormatError, match="Dropout with training_mode=1"):
        relutope.load_onnx(_dropout_model(13, mode=True))
    with pytest.raises(ModelFormatError, match="is_test=0"):
        relutope.load_onnx(_dropout_model(6, is_test=0))
    assert relutope.load_onnx(_dropout_model(6, is_test=1)).widths == [3, 6, 2]


def test_onnx_dropout_mask_used_is_refused():
    pytest.importorskip("onnx")
    from onnx import helper
    from relutope.errors import ModelFormatError

    model = _dropout_model(13, mask=True)
    model.graph.node.append(helper.make_node("Identity", ["m"], ["m2"]))
    model.graph.output[0].name = "m2"
    with pytest.raises(ModelFormatError, match="'m' of Dropout"):
        relutope.load_onnx(model)


def test_torch_export_of_dropout_in_eval_mode_loads(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Dropout(0.3), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    model.eval()
    x = torch.randn(7, 3)
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # torch 2.13's TorchScript exporter drops nn.Dropout of a model in eval mode (EVAL and PRESERVE: no Dropout
        # node, checked); training=TRAINING keeps it, with training_mode true
        torch.onnx.export(model, (x,), str(path), dynamo=False, training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False)
    import onnx

    assert "Dropout" in [n.op_type for n in onnx.load(str(path)).graph.node]
    with pytest.raises(relutope.errors.ModelFormatError, match="training_mode=1"):
        relutope.load_onnx(str(path))  # exported in training mode: the node says so


VNN_HEADER = "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"


def test_vnnlib_an_empty_box_in_an_or_is_a_false_disjunct():
    # an `or` of input boxes, one of them empty (X_1 in [0.7, 0.2]), was an error for the whole property; in
    # SMT-LIB that disjunct is false, so the property's input set is the other box
    from relutope.errors import RelutopeWarning

    text = VNN_HEADER + ("(assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0.7) (<= X_1 0.2))\n"
                         "            (and (>= X_0 -1) (<= X_0 0) (>= X_1 0) (<= X_1 1))))\n(assert (>= Y_0 0.5))\n")
    with pytest.warns(RelutopeWarning, match=r"1 disjunct\(s\) .* empty input box .* union of the other 1\): line 4: "
                                             r"input X_1 has the lower bound 0\.7"):
        prop = relutope.vnnlib.loads(text)
    assert len(prop.cases) == 1
    assert prop.cases[0].box_lo.tolist() == [-1.0, 0.0] and prop.cases[0].box_hi.tolist() == [0.0, 1.0]
    exact = prop.exact_cases()
    assert len(exact) == 1 and [float(v) for v in exact[0].box_lo] == [-1.0, 0.0]
    # verify on the remaining box, against a grid of forward passes: y = x_0 + x_1 reaches 1 >= 0.5 at (0, 1)
    net = relutope.Network.from_weights([(np.array([[1.0, 1.0]]), np.array([0.0]))], activation="identity")
    res = relutope.verify(net, prop)
    assert res.status == "violated" and -1 <= res.counterexample[0] <= 0 and 0 <= res.counterexample[1] <= 1
    assert net(res.counterexample[None])[0, 0] >= 0.5 - 1e-12
    with pytest.warns(RelutopeWarning):  # the largest y on [-1, 0] x [0, 1] is 1 (at (0, 1)): 1.5 is never reached
        safe = relutope.vnnlib.loads(text.replace("(>= Y_0 0.5)", "(>= Y_0 1.5)"))
    assert relutope.verify(net, safe).status == "holds"
    # every box empty: no input at all, still an error naming the bounds (a vacuous "holds" would hide a typo)
    both = VNN_HEADER + ("(assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0.7) (<= X_1 0.2))\n"
                         "            (and (>= X_0 2) (<= X_0 1) (>= X_1 0) (<= X_1 1))))\n(assert (>= Y_0 0.5))\n")
    with pytest.raises(ValueError, match=r"line 4: input X_1 .* the input box is empty, so the property would hold "
                                         r"vacuously \(and so are the other 1 disjuncts' boxes\)"):
        relutope.vnnlib.loads(both)


@pytest.mark.parametrize("s", [1e-6, 1.0, 1e6])
def test_decision_complex_of_the_whole_space_at_every_scale(s):
    # f = 1 - |x1| - |x2| moved to c and scaled by s, on R^2: {f >= 0} is a diamond (one component), {f <= 0} its
    # complement, an annulus in the compactifying box (one component, one hole). The box was built in the engine's
    # frame (centred on WholeSpace's centre, in units of its size) but used as inputs: off-centre it missed the
    # arrangement ("a face of a cell was not reached by the face enumeration")
    from relutope import topology

    W1 = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    base = relutope.Network.from_weights([(W1, np.zeros(4)), (-np.ones((1, 4)), np.ones(1))])
    c = np.array([3.0, -7.0]) * s
    net = _moved(base, s, c)
    cx = topology.decision_complex(relutope.enumerate_regions(net, relutope.WholeSpace(2)))
    assert topology.betti_numbers(cx, "superlevel") == [1, 0, 0]
    assert topology.betti_numbers(cx, "sublevel") == [1, 1, 0]
    box = cx.compactification
    assert np.all(box.lo < c - s) and np.all(box.hi > c + s)  # it holds the diamond's corners c +- s e_i
    assert np.all(box.hi - box.lo < 100 * s)


def _cone_net() -> relutope.Network:
    """A first layer of two hyperplanes through one point (a cone), then layers with biases."""
    rng = np.random.default_rng(0)
    return relutope.Network.from_weights([(rng.normal(size=(2, 2)), np.zeros(2)),
                                          (rng.normal(size=(6, 2)), rng.normal(size=6)),
                                          (rng.normal(size=(5, 6)), rng.normal(size=5)), (np.ones((1, 5)), [0.0])])


@pytest.mark.parametrize("s", [1e-6, 1.0, 1e6])
def test_whole_space_size_of_a_cone_first_layer_follows_the_network(s):
    # with every first-layer hyperplane through the centre, the size came from the next layer linearised at the
    # centre, where every unit is at its kink: at s = 1 all were inactive (no gradient, size = 7, the centre's
    # coordinate), at s = 1e-6 rounding made some active (size 10.3 s). Now a bound on the gradient that does not
    # depend on the pieces chosen: the same size in units of s at every scale
    base = _cone_net()
    c = np.array([3.0, -7.0]) * s
    net = _moved(base, s, c)
    ref = relutope.default_tol(relutope.WholeSpace(2), base)
    assert relutope.default_tol(relutope.WholeSpace(2), net) == pytest.approx(ref * s, rel=1e-9)
    want = as_pattern_set(brute_force_patterns(base, tol=1e-7)[0])
    assert as_pattern_set(relutope.enumerate_regions(net, relutope.WholeSpace(2)).patterns) == want


def test_distributed_whole_space_takes_the_whole_networks_size():
    # a guard: the split runs on the prefix network, whose own arrangement (the cone alone) has another size; the
    # domain is resolved from the whole network once, for the split and every task (the same frame everywhere)
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    from relutope.distributed import enumerate_distributed

    net = _moved(_cone_net(), 1e-6, np.array([3e-6, -7e-6]))
    one = relutope.enumerate_regions(net, relutope.WholeSpace(2), method="lp")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        part = enumerate_distributed(net, relutope.WholeSpace(2), client, prefix_layers=1)
    assert part.tol == one.tol and part.domain.scale == one.domain.scale
    assert np.array_equal(part.patterns, one.patterns) and np.array_equal(part.witnesses, one.witnesses)


def test_whole_space_scale_and_centre_in_a_corrupt_file_are_value_errors(tmp_path):
    net = relutope.Network.random([2, 5, 1], seed=0)
    part = relutope.enumerate_regions(net, relutope.WholeSpace(2, scale=0.5, center=[1.0, 2.0]))
    path = tmp_path / "p.npz"
    part.save(path)
    good = dict(np.load(path, allow_pickle=False))
    for key, value, match in [("domain_scale", np.array([0.5, 1.0]), "scale"), ("domain_scale", np.array("x"), "scale"),
                              ("domain_scale", np.array(-1.0), "scale"), ("domain_center", np.array(["a", "b"]),
                                                                          "center"),
                              ("domain_center", np.array([1.0]), "center")]:
        np.savez(path, **{**good, key: value})
        with pytest.raises(ValueError, match=match):
            relutope.Partition.load(path)


def test_vnnlib_boxes_equal_in_float_but_not_exactly_are_two_cases():
    # they were merged into one float case but two exact ones, so exact_cases()[case].terms[term] was not the
    # term verify found: verify(certify=True) raised "term must be an int in [0, 1), got 1"
    text = ("(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)"
            "(assert (or (and (>= X_0 0) (<= X_0 0.1) (>= Y_0 (+ Y_1 1)))"
            "            (and (>= X_0 0) (<= X_0 0.10000000000000000001) (>= Y_1 Y_0))))")
    prop = relutope.vnnlib.loads(text)
    exact = prop.exact_cases()
    assert [len(c.terms) for c in prop.cases] == [len(c.terms) for c in exact] == [1, 1]
    assert prop.cases[0].box_hi[0] == prop.cases[1].box_hi[0] == 0.1  # the same float box, two exact ones
    assert exact[1].box_hi[0] - exact[0].box_hi[0] == Fraction(1, 10 ** 20)
    # y = (x, -x) on [0, 0.1]: y0 >= y1 + 1 never holds (2x <= 0.2), y1 >= y0 holds at x = 0: violated in case 1
    net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2))], activation="identity")
    res = relutope.verify(net, prop, certify=True)
    assert res.status == "violated" and (res.case, res.term) == (1, 0) and res.certificate.ok
    # equal boxes written twice still merge (one case, two terms), in both readings
    same = relutope.vnnlib.loads(text.replace("0.10000000000000000001", "0.1"))
    assert [len(c.terms) for c in same.cases] == [len(c.terms) for c in same.exact_cases()] == [2]
