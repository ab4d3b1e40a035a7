"""The main job on real input: every activation region of ACAS Xu 1_1 over the input boxes of properties 3, 4."""
from pathlib import Path

import numpy as np
import pytest

import relutope
from relutope.certificates import certify_witnesses

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

DATA = Path(__file__).parent / "data" / "acasxu"
MODEL = DATA / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx"


def onnxruntime_patterns(x: np.ndarray) -> tuple:
    """ReLU patterns and pre-activations of the hidden layers, read by onnxruntime from intermediate outputs."""
    model = onnx.load(str(MODEL))
    relu_inputs = [node.input[0] for node in model.graph.node if node.op_type == "Relu"]
    for name in relu_inputs:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    z = [np.stack([session.run(relu_inputs, {"input": xi.reshape(1, 1, 1, 5).astype(np.float32)})[j].ravel()
                   for xi in x]) for j in range(len(relu_inputs))]
    z = np.concatenate(z, axis=1).astype(np.float64)
    return (z > 0).astype(np.int8), z


@pytest.mark.parametrize("prop, expected_dim", [(3, 5), (4, 4)])
def test_every_region_of_acasxu_property_box(prop, expected_dim):
    net = relutope.load_onnx(MODEL)
    spec = relutope.vnnlib.load(DATA / "vnnlib" / f"prop_{prop}.vnnlib")
    domain = spec.cases[0].domain()
    assert domain.intrinsic_dim == expected_dim  # property 4 fixes one input
    part = relutope.enumerate_regions(net, domain)
    assert part.complete and len(part) > 10_000
    # The partition is a partition: distinct patterns, and uniform samples all fall in found regions.
    assert len(np.unique(part.patterns, axis=0)) == len(part)
    assert np.all(part.locate(spec.cases[0].domain().to_input(
        np.random.default_rng(0).uniform(0, 1, (2000, expected_dim)) *
        (domain.hi[domain.free] - domain.lo[domain.free]) + domain.lo[domain.free])) >= 0)
    # A sample of regions: onnxruntime's hidden-layer pattern at the witness is the reported one. onnxruntime
    # computes in float32, so units whose pre-activation is within float32 rounding of 0 are not compared.
    rng = np.random.default_rng(prop)
    sample = rng.choice(len(part), size=300, replace=False)
    hidden = net.n_units - net.out_dim
    ort_pat, z = onnxruntime_patterns(part.witnesses[sample])
    ours = part.patterns[sample, :hidden]
    decided = np.abs(z) > 1e-5
    assert decided.mean() > 0.99
    assert np.array_equal(ort_pat[decided], ours[decided])
    # Most sampled witnesses have every unit decided in float32: their whole patterns agree.
    whole = decided.all(axis=1)
    assert whole.sum() >= 150
    assert np.array_equal(ort_pat[whole], ours[whole])
    # Every listed region exists, proven: each witness has its pattern with every unit strictly decided.
    cert = certify_witnesses(part)
    assert cert.ok, cert


def test_cli_enumerate_vnnlib(capsys):
    from relutope.cli import main

    assert main(["enumerate", str(DATA / "nnet" / "ACASXU_run2a_1_1_batch_2000.nnet"),
                 "--vnnlib", str(DATA / "vnnlib" / "prop_4.vnnlib")]) == 0
    out = capsys.readouterr().out
    assert "regions" in out and "LPs solved" in out
    count = int(out.split("regions")[1].split()[0])
    net = relutope.load_nnet(DATA / "nnet" / "ACASXU_run2a_1_1_batch_2000.nnet")
    domain = relutope.vnnlib.load(DATA / "vnnlib" / "prop_4.vnnlib").cases[0].domain()
    assert count == len(relutope.enumerate_regions(net, domain))


def test_cli_bad_model(tmp_path, capsys):
    from relutope.cli import main

    bad = tmp_path / "x.txt"
    bad.write_text("nothing")
    assert main(["enumerate", str(bad), "--box", "0", "1"]) == 2
    assert "unsupported model file" in capsys.readouterr().err
