"""relutope.io.onnx.load_onnx: every supported op against onnxruntime (float32 models, 1e-5), and its errors."""
import io
import re
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from relutope import Network  # noqa: E402
from relutope.errors import ModelFormatError  # noqa: E402
from relutope.io.onnx import load_onnx  # noqa: E402

N = 1000
RNG = np.random.default_rng(12345)


def rand(*shape, scale=None):
    """Float32-representable random constant (so relutope and onnxruntime see the same weights)."""
    scale = 1.0 / np.sqrt(shape[-1]) if scale is None and shape else (1.0 if scale is None else scale)
    return (RNG.normal(0.0, scale, shape)).astype(np.float32)


def make_model(nodes, inits, in_shape, opset=13, inits_as_inputs=False, in_name="x", out_name="y"):
    """A model with one float input ``x`` of ``in_shape`` (use a str for a symbolic batch) and output ``y``."""
    initializers = [numpy_helper.from_array(np.asarray(v), name=k) for k, v in inits.items()]
    inputs = [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, list(in_shape))]
    if inits_as_inputs:
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in initializers]
    graph = helper.make_graph(nodes, "test", inputs, [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)],
                              initializer=initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def run_ort(model, x):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # ceil_mode pooling makes onnxruntime warn about onnx's own shape inference
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    if inp.shape[0] == 1:  # fixed batch of one: one sample at a time
        return np.concatenate([sess.run(None, {inp.name: x[i:i + 1]})[0] for i in range(x.shape[0])])
    return sess.run(None, {inp.name: x})[0]


def check(model, sample_shape, scale=1.0, n=N):
    net = load_onnx(model)
    assert isinstance(net, Network)
    assert net.in_dim == int(np.prod(sample_shape))
    x = RNG.normal(0.0, scale, (n,) + tuple(sample_shape)).astype(np.float32)
    ref = run_ort(model, x).reshape(n, -1)
    out = net(x.reshape(n, -1).astype(np.float64))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(ref).max()))
    return net


def node(op, ins, outs, name=None, **attrs):
    return helper.make_node(op, ins, outs, name=name or f"{op}_{outs[0]}", **attrs)


# ---------------------------------------------------------------------------------------------- per-op cases
def case_gemm(transB, alpha, beta, c_shape):
    W = rand(5, 4) if transB else rand(4, 5)
    inits = {"W": W}
    ins = ["x", "W"]
    if c_shape is not None:
        inits["C"] = rand(*c_shape, scale=1.0)
        ins.append("C")
    nodes = [node("Gemm", ins, ["h"], transB=transB, alpha=alpha, beta=beta), node("Relu", ["h"], ["y"])]
    return make_model(nodes, inits, ["N", 4]), (4,)


CASES = {
    "gemm_plain": lambda: case_gemm(0, 1.0, 1.0, (5,)),
    "gemm_transB_alpha_beta": lambda: case_gemm(1, 0.5, 2.0, (1, 5)),
    "gemm_no_C": lambda: case_gemm(1, 1.5, 1.0, None),
    "gemm_dynamic_C": lambda: (make_model(
        [node("Gemm", ["x", "W", "x"], ["y"], beta=-0.5)], {"W": rand(4, 4)}, ["N", 4]), (4,)),
    "matmul_right": lambda: (make_model(
        [node("MatMul", ["x", "W"], ["h"]), node("Add", ["h", "b"], ["y"])],
        {"W": rand(3, 6), "b": rand(6, scale=1.0)}, ["N", 2, 3]), (2, 3)),
    "matmul_right_vector": lambda: (make_model(
        [node("MatMul", ["x", "w"], ["y"])], {"w": rand(5)}, ["N", 3, 5]), (3, 5)),
    "matmul_left": lambda: (make_model(
        [node("MatMul", ["A", "x"], ["y"])], {"A": rand(4, 3)}, ["N", 2, 3, 5]), (2, 3, 5)),
    "add_sub_mul_div_const": lambda: (make_model(
        [node("Add", ["x", "a"], ["h1"]), node("Sub", ["h1", "s"], ["h2"]), node("Sub", ["s2", "h2"], ["h3"]),
         node("Mul", ["m", "h3"], ["h4"]), node("Div", ["h4", "d"], ["h5"]), node("Relu", ["h5"], ["y"])],
        {"a": rand(4, scale=1.0), "s": rand(3, 1, scale=1.0), "s2": rand(1, 1, 4, scale=1.0),
         "m": rand(3, 4, scale=1.0), "d": np.float32([2.0, -0.5, 4.0, 1.25])}, ["N", 3, 4]), (3, 4)),
    "mul_broadcast_expands": lambda: (make_model(
        [node("Mul", ["x", "m"], ["y"])], {"m": rand(3, 4, scale=1.0)}, ["N", 1, 4]), (1, 4)),
    "add_two_branches": lambda: (make_model(
        [node("MatMul", ["x", "W1"], ["a0"]), node("Relu", ["a0"], ["a"]), node("MatMul", ["x", "W2"], ["b"]),
         node("Add", ["a", "b"], ["y"])], {"W1": rand(4, 5), "W2": rand(4, 5)}, ["N", 4]), (4,)),
    "sub_two_branches": lambda: (make_model(
        [node("MatMul", ["x", "W1"], ["a0"]), node("Relu", ["a0"], ["a"]), node("MatMul", ["x", "W2"], ["b0"]),
         node("Abs", ["b0"], ["b"]), node("Sub", ["a", "b"], ["y"])], {"W1": rand(4, 5), "W2": rand(4, 5)},
        ["N", 4]), (4,)),
    "skip_connection": lambda: (make_model(
        [node("MatMul", ["x", "W1"], ["h0"]), node("Relu", ["h0"], ["h1"]), node("MatMul", ["h1", "W2"], ["h2"]),
         node("Relu", ["h2"], ["h3"]), node("MatMul", ["h3", "W3"], ["h4"]), node("Add", ["x", "h4"], ["s"]),
         node("Relu", ["s"], ["y"])], {"W1": rand(4, 6), "W2": rand(6, 6), "W3": rand(6, 4)}, ["N", 4]), (4,)),
    "relu": lambda: (make_model([node("Relu", ["x"], ["y"])], {}, ["N", 7]), (7,)),
    "leaky_relu": lambda: (make_model([node("LeakyRelu", ["x"], ["y"], alpha=0.2)], {}, ["N", 7]), (7,)),
    "leaky_relu_default": lambda: (make_model([node("LeakyRelu", ["x"], ["y"])], {}, ["N", 7]), (7,)),
    "leaky_relu_steep": lambda: (make_model([node("LeakyRelu", ["x"], ["y"], alpha=3.0)], {}, ["N", 7]), (7,)),
    "abs": lambda: (make_model([node("Abs", ["x"], ["y"])], {}, ["N", 2, 3]), (2, 3)),
    "clip_both": lambda: (make_model([node("Clip", ["x", "lo", "hi"], ["y"])],
                                     {"lo": np.float32(-0.5), "hi": np.float32(1.0)}, ["N", 6]), (6,)),
    "clip_max_only": lambda: (make_model([node("Clip", ["x", "", "hi"], ["y"])], {"hi": np.float32(0.3)},
                                         ["N", 6]), (6,)),
    "clip_min_only": lambda: (make_model([node("Clip", ["x", "lo"], ["y"])], {"lo": np.float32(-0.3)},
                                         ["N", 6]), (6,)),
    "clip_opset6_attrs": lambda: (make_model([node("Clip", ["x"], ["y"], min=-1.0, max=0.5)], {}, ["N", 6],
                                             opset=6), (6,)),
    "conv2d": lambda: (make_model([node("Conv", ["x", "W", "B"], ["y"])],
                                  {"W": rand(4, 2, 3, 3), "B": rand(4, scale=1.0)}, ["N", 2, 6, 5]), (2, 6, 5)),
    "conv2d_options": lambda: (make_model(
        [node("Conv", ["x", "W"], ["y"], strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2], group=2,
              kernel_shape=[3, 2])], {"W": rand(6, 2, 3, 2)}, ["N", 4, 7, 6]), (4, 7, 6)),
    "conv2d_same_upper": lambda: (make_model(
        [node("Conv", ["x", "W"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")], {"W": rand(3, 2, 4, 3)},
        ["N", 2, 7, 6]), (2, 7, 6)),
    "conv2d_same_lower": lambda: (make_model(
        [node("Conv", ["x", "W"], ["y"], strides=[2, 1], auto_pad="SAME_LOWER")], {"W": rand(3, 2, 4, 3)},
        ["N", 2, 7, 6]), (2, 7, 6)),
    "conv2d_valid": lambda: (make_model(
        [node("Conv", ["x", "W"], ["y"], auto_pad="VALID")], {"W": rand(3, 2, 2, 2)}, ["N", 2, 4, 4]), (2, 4, 4)),
    "conv1d": lambda: (make_model(
        [node("Conv", ["x", "W", "B"], ["y"], strides=[2], pads=[2, 1], dilations=[2])],
        {"W": rand(3, 2, 3), "B": rand(3, scale=1.0)}, ["N", 2, 11]), (2, 11)),
    "maxpool": lambda: (make_model([node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])], {},
                                   ["N", 3, 6, 6]), (3, 6, 6)),
    "maxpool_options": lambda: (make_model(
        [node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 1, 1, 1], dilations=[1, 2],
              ceil_mode=1)], {}, ["N", 2, 7, 6]), (2, 7, 6)),
    "maxpool_same": lambda: (make_model(
        [node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")], {},
        ["N", 2, 7, 6]), (2, 7, 6)),
    "maxpool_1d": lambda: (make_model([node("MaxPool", ["x"], ["y"], kernel_shape=[3], strides=[1], pads=[1, 1])],
                                      {}, ["N", 2, 8]), (2, 8)),
    "avgpool": lambda: (make_model([node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])], {},
                                   ["N", 3, 6, 6]), (3, 6, 6)),
    "avgpool_pad_exclude": lambda: (make_model(
        [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 0, 1], ceil_mode=1)],
        {}, ["N", 2, 7, 6]), (2, 7, 6)),
    "avgpool_pad_include": lambda: (make_model(
        [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
              count_include_pad=1)], {}, ["N", 2, 7, 6]), (2, 7, 6)),
    "batchnorm": lambda: (make_model(
        [node("Conv", ["x", "W"], ["c"]),
         node("BatchNormalization", ["c", "g", "b", "m", "v"], ["bn"], epsilon=1e-3), node("Relu", ["bn"], ["y"])],
        {"W": rand(3, 2, 2, 2), "g": rand(3, scale=1.0), "b": rand(3, scale=1.0), "m": rand(3, scale=1.0),
         "v": RNG.uniform(0.5, 2.0, 3).astype(np.float32)}, ["N", 2, 5, 5]), (2, 5, 5)),
    "flatten": lambda: (make_model(
        [node("Flatten", ["x"], ["f"], axis=1), node("Gemm", ["f", "W"], ["y"], transB=1)], {"W": rand(3, 24)},
        ["N", 2, 3, 4]), (2, 3, 4)),
    "flatten_trailing_axis": lambda: (make_model(
        [node("Flatten", ["x"], ["y"], axis=-1)], {}, [1, 1, 1, 5]), (1, 1, 5)),
    "reshape": lambda: (make_model(
        [node("Reshape", ["x", "s1"], ["r1"]), node("Relu", ["r1"], ["h"]), node("Reshape", ["h", "s2"], ["y"])],
        {"s1": np.int64([0, -1]), "s2": np.int64([-1, 4, 6])}, ["N", 2, 3, 4]), (2, 3, 4)),
    "reshape_from_shape_static_batch": lambda: (make_model(
        [node("Shape", ["x"], ["sh"]), node("Gather", ["sh", "zero"], ["n"], axis=0),
         node("Unsqueeze", ["n", "ax"], ["n1"]), node("Concat", ["n1", "minus1"], ["tgt"], axis=0),
         node("Reshape", ["x", "tgt"], ["y"])],
        {"zero": np.int64(0), "ax": np.int64([0]), "minus1": np.int64([-1])}, [1, 2, 3, 4]), (2, 3, 4)),
    "identity_constant_transpose": lambda: (make_model(
        [node("Constant", [], ["W"], value=numpy_helper.from_array(rand(5, 3), name="W")),
         node("Identity", ["x"], ["i"]), node("Transpose", ["i"], ["t"], perm=[0, 2, 3, 1]),
         node("MatMul", ["t", "W"], ["m"]), node("Relu", ["m"], ["y"])], {}, ["N", 5, 2, 3]), (5, 2, 3)),
    "constant_subgraph_folded": lambda: (make_model(
        [node("Transpose", ["Wt"], ["W"], perm=[1, 0]), node("Mul", ["W", "two"], ["W2"]),
         node("MatMul", ["x", "W2"], ["y"])], {"Wt": rand(5, 4), "two": np.float32(2.0)}, ["N", 4]), (4,)),
    "transpose_batch1_unit_axis": lambda: (make_model(
        [node("Transpose", ["x"], ["t"], perm=[1, 0, 2]), node("Relu", ["t"], ["y"])], {}, [1, 1, 6]), (1, 6)),
    "initializers_as_inputs_ir3": lambda: (make_model(
        [node("Sub", ["x", "avg"], ["s"]), node("Flatten", ["s"], ["f"], axis=1), node("MatMul", ["f", "W"], ["m"]),
         node("Add", ["m", "b"], ["a"]), node("Relu", ["a"], ["y"])],
        {"avg": rand(1, 1, 1, 5, scale=1.0), "W": rand(5, 4), "b": rand(4, scale=1.0)}, [1, 1, 1, 5], opset=8,
        inits_as_inputs=True), (1, 1, 5)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_onnxruntime(name):
    model, shape = CASES[name]()
    check(model, shape, scale=2.0 if name.startswith("clip") else 1.0)


def test_layers_of_skip_connection():
    model, _ = CASES["skip_connection"]()
    net = load_onnx(model)
    # layer 1: 6 ReLUs + the 4-dim block input carried; layer 2: 6 ReLUs + 4 carried; layer 3: final ReLU
    assert net.widths == [4, 10, 10, 4]
    assert net.layers[0].n_pieces.tolist() == [2] * 6 + [1] * 4


def test_parallel_nonlinearities_share_a_layer():
    model, _ = CASES["sub_two_branches"]()
    net = load_onnx(model)
    assert net.widths == [4, 10, 5]  # Relu and Abs branches in one layer, then the linear Sub
    assert net.layers[1].n_pieces.tolist() == [1] * 5


def test_accepts_path_bytes_and_modelproto(tmp_path):
    model, shape = CASES["gemm_plain"]()
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    x = RNG.normal(size=(10, 4))
    ys = [load_onnx(src)(x) for src in (model, str(path), path, model.SerializeToString())]
    for y in ys[1:]:
        np.testing.assert_array_equal(y, ys[0])


def test_torch_export_roundtrip():
    torch = pytest.importorskip("torch")
    from relutope.io.torch import Residual, from_torch

    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        Residual(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.LeakyReLU(0.1), nn.Conv2d(4, 4, 1))),
        nn.Hardtanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4 * 2 * 2, 3))
    with torch.no_grad():
        model[1].running_mean.normal_(0, 0.3)
        model[1].running_var.uniform_(0.5, 2.0)
    model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated; it still writes plain ONNX
        torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), buf, dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    exported = onnx.load_from_string(buf.getvalue())
    ops = {n.op_type for n in exported.graph.node}
    assert {"Conv", "MaxPool", "Add", "Clip", "AveragePool", "Flatten", "Gemm"} <= ops
    net_onnx = check(exported, (1, 8, 8), scale=2.0)
    net_torch = from_torch(model, (1, 8, 8))
    x = RNG.normal(size=(N, 64))
    np.testing.assert_allclose(net_onnx(x), net_torch(x), rtol=1e-5, atol=1e-5)
    assert net_onnx.widths == net_torch.widths


# ---------------------------------------------------------------------------------------------- errors
def _mlp():
    return make_model([node("MatMul", ["x", "W"], ["h"]), node("Relu", ["h"], ["y"])], {"W": rand(4, 3)}, ["N", 4])


def test_truncated_file(tmp_path):
    data = _mlp().SerializeToString()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) - 7])
    with pytest.raises(ModelFormatError, match=re.escape(str(path)) + ": not a readable ONNX model"):
        load_onnx(path)


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"\xff\xfe this is not protobuf \x00\x13\x37" * 5)
    with pytest.raises(ModelFormatError, match=re.escape(str(path)) + ": not a readable ONNX model"):
        load_onnx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such ONNX file"):
        load_onnx(tmp_path / "nope.onnx")


def test_wrong_argument_type():
    with pytest.raises(TypeError, match="takes a path, bytes or an onnx.ModelProto, got int"):
        load_onnx(3)


def test_unsupported_op_named():
    model = make_model([node("MatMul", ["x", "W"], ["h"], name="mm"), node("CumSum", ["h", "ax"], ["y"], name="cs")],
                       {"W": rand(4, 3), "ax": np.array(1, dtype=np.int64)}, ["N", 4])
    with pytest.raises(ModelFormatError, match=r"node 1 'cs' \(CumSum\): unsupported op 'CumSum'"):
        load_onnx(model)


def test_unsupported_op_in_unused_branch_is_ignored():
    model = make_model([node("Sigmoid", ["x"], ["dead"], name="sig"), node("Relu", ["x"], ["y"])], {}, ["N", 4])
    net = load_onnx(model)
    assert net(np.array([[-1.0, 2.0, -3.0, 4.0]])).tolist() == [[0.0, 2.0, 0.0, 4.0]]


def test_product_of_two_inputs_rejected():
    model = make_model([node("Mul", ["x", "x"], ["y"], name="sq")], {}, ["N", 4])
    with pytest.raises(ModelFormatError, match=r"node 0 'sq' \(Mul\): Mul of two input-dependent tensors is not "
                                               r"piecewise affine"):
        load_onnx(model)


def test_division_by_input_rejected():
    model = make_model([node("Div", ["one", "x"], ["y"], name="inv")], {"one": np.float32(1.0)}, ["N", 4])
    with pytest.raises(ModelFormatError, match=r"node 0 'inv' \(Div\): Div by an input-dependent tensor"):
        load_onnx(model)


def test_shape_mismatch():
    model = make_model([node("MatMul", ["x", "W"], ["y"], name="mm")], {"W": rand(5, 3)}, ["N", 4])
    with pytest.raises(ModelFormatError, match=r"node 0 'mm' \(MatMul\): weight of shape \(3, 5\) takes vectors of "
                                               r"length 5 on the last axis, but the input has shape \(4,\)"):
        load_onnx(model)


def test_conv_shape_mismatch():
    model = make_model([node("Conv", ["x", "W"], ["y"], name="c")], {"W": rand(2, 3, 3, 3)}, ["N", 2, 5, 5])
    with pytest.raises(ModelFormatError, match=r"node 0 'c' \(Conv\): weight of shape \(2, 3, 3, 3\) \(groups=1\) "
                                               r"does not fit an input with 2 channels"):
        load_onnx(model)


def test_two_inputs_rejected():
    g = helper.make_graph([node("Add", ["a", "b"], ["y"])], "g",
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 3]) for n in "ab"],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ModelFormatError, match=r"exactly one input that is not an initializer, got \['a', 'b'\]"):
        load_onnx(model)


def test_scalar_input_rejected():
    model = make_model([node("Relu", ["x"], ["y"])], {}, [])
    with pytest.raises(ModelFormatError, match="must have a batch axis and at least one more axis, or be a vector"):
        load_onnx(model)
    model = make_model([node("Relu", ["x"], ["y"])], {}, ["n"])
    with pytest.raises(ModelFormatError, match=r"of rank 1 \(no batch axis\) must have a fixed size, got \['\?'\]"):
        load_onnx(model)


def run_ort_one_by_one(model, x):
    """onnxruntime on every row of x (N, n) fed as a rank-1 input of shape (n,)."""
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.stack([np.ravel(sess.run(None, {name: row})[0]) for row in x])


def batchless_model(nodes, inits, n, out_shape):
    """A valid model (checked, shapes inferred strictly) whose input ``x`` has shape [n] and no batch axis."""
    model = make_model(nodes, inits, [n])
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape))
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model


BATCHLESS = {  # issue 16 item 10: inputs of shape [n] with no batch axis, as in the VNN-COMP 2021 test networks
    # test_nano.onnx: MatMul of the (1,) input by [[0.5]], then Relu
    "nano": lambda: batchless_model([node("MatMul", ["x", "A"], ["h"]), node("Relu", ["h"], ["y"])],
                                    {"A": np.array([[0.5]], np.float32)}, 1, [1]),
    # test_tiny/test_small style: MatMul, Add, Relu, MatMul, Add
    "small": lambda: batchless_model([node("MatMul", ["x", "W1"], ["a"]), node("Add", ["a", "b1"], ["h"]),
                                      node("Relu", ["h"], ["r"]), node("MatMul", ["r", "W2"], ["c"]),
                                      node("Add", ["c", "b2"], ["y"])],
                                     {"W1": rand(3, 6), "b1": rand(6, scale=0.3), "W2": rand(6, 2), "b2": rand(2)},
                                     3, [2]),
    # a constant on the left, a (1, m) constant that lifts the vector to rank 2 (then Gemm is valid), a vector
    # product at the end
    "mixed": lambda: batchless_model([node("MatMul", ["A", "x"], ["a"]), node("Abs", ["a"], ["b"]),
                                      node("Mul", ["b", "s"], ["c"]), node("LeakyRelu", ["c"], ["d"], alpha=0.2),
                                      node("Gemm", ["d", "G"], ["e"]), node("Clip", ["e", "lo", "hi"], ["f"]),
                                      node("MatMul", ["f", "v"], ["y"])],
                                     {"A": rand(5, 4), "s": rand(1, 5, scale=1.0), "G": rand(5, 3),
                                      "lo": np.array(-0.5, np.float32), "hi": np.array(0.5, np.float32),
                                      "v": rand(3)}, 4, [1]),
}


@pytest.mark.parametrize("name", sorted(BATCHLESS))
def test_input_without_batch_axis_is_one_sample(name):
    model = BATCHLESS[name]()
    net = load_onnx(model)
    n = net.in_dim
    x = RNG.normal(0.0, 1.0, (200, n)).astype(np.float32)
    ref = run_ort_one_by_one(model, x)
    out = net(x.astype(np.float64))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(ref).max()))
    if name == "nano":
        assert net.widths == [1, 1] and float(net(np.array([[2.0]]))[0, 0]) == 1.0  # relu(0.5 x)


def test_ops_that_name_axes_are_refused_without_batch_axis():
    model = make_model([node("Relu", ["x"], ["h"]), node("Flatten", ["h"], ["y"])], {}, [4])
    with pytest.raises(ModelFormatError, match=r"node 1 'Flatten_y' \(Flatten\): 'Flatten' names axes.*input 'x' of "
                                               r"shape \[4\] has none"):
        load_onnx(model)


def test_symbolic_feature_axis_rejected():
    model = make_model([node("Relu", ["x"], ["y"])], {}, ["N", "F"])
    with pytest.raises(ModelFormatError, match=r"must have fixed sizes after the batch axis, got \['\?', '\?'\]"):
        load_onnx(model)


def test_reshape_changing_batch_rejected():
    model = make_model([node("Reshape", ["x", "s"], ["y"], name="r")], {"s": np.int64([-1, 2])}, ["N", 4])
    with pytest.raises(ModelFormatError, match=r"node 0 'r' \(Reshape\): Reshape of a tensor of shape \(None, 4\) to "
                                               r"\(-1, 2\) would change the batch axis"):
        load_onnx(model)


def test_transpose_moving_batch_rejected():
    model = make_model([node("Transpose", ["x"], ["y"], name="t", perm=[1, 0, 2])], {}, ["N", 4, 3])
    with pytest.raises(ModelFormatError, match=r"node 0 't' \(Transpose\): Transpose with perm \(1, 0, 2\) .* moves "
                                               r"the batch axis"):
        load_onnx(model)
    # a 2-D transpose is kept batch-last for a Gemm; as the output it is refused
    model = make_model([node("Transpose", ["x"], ["y"], name="t", perm=[1, 0])], {}, ["N", 4])
    with pytest.raises(ModelFormatError, match=r"the graph output 'y' has its batch axis last; transpose it back"):
        load_onnx(model)


def test_shape_with_symbolic_batch_rejected():
    model = make_model([node("Shape", ["x"], ["s"], name="sh"), node("Reshape", ["x", "s"], ["y"])], {}, ["N", 4])
    with pytest.raises(ModelFormatError, match=r"node 0 'sh' \(Shape\): .*needs a fixed batch size"):
        load_onnx(model)


def test_maxpool_indices_rejected_when_used():
    model = make_model([node("MaxPool", ["x"], ["p", "idx"], name="mp", kernel_shape=[2]),
                        node("Cast", ["idx"], ["y"], name="cast", to=TensorProto.FLOAT)], {}, ["N", 1, 4])
    with pytest.raises(ModelFormatError, match=r"node 1 'cast' \(Cast\): uses 'idx': the Indices output of MaxPool"):
        load_onnx(model)


def test_batchnorm_training_mode_rejected():
    model = make_model([node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], name="bn", training_mode=1)],
                       {k: np.ones(3, np.float32) for k in "gbmv"}, ["N", 3, 2], opset=15)
    with pytest.raises(ModelFormatError, match=r"node 0 'bn' \(BatchNormalization\): .*training mode"):
        load_onnx(model)


def test_output_independent_of_input_rejected():
    model = make_model([node("Relu", ["x"], ["unused"]), node("Identity", ["c"], ["y"])], {"c": np.ones(2, np.float32)},
                       ["N", 4])
    with pytest.raises(ModelFormatError, match="does not depend on the input"):
        load_onnx(model)
