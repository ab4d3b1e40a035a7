"""The five ACAS Xu networks of tests/data/acasxu: ONNX and .nnet agree with each other and with onnxruntime."""
from pathlib import Path

import numpy as np
import pytest

from relutope.io.nnet import load_nnet

DATA = Path(__file__).parent / "data" / "acasxu"
NETS = ["1_1", "1_2", "2_1", "3_3", "5_3"]
N_POINTS = 10_000


def _paths(name):
    stem = f"ACASXU_run2a_{name}_batch_2000"
    return DATA / "onnx" / f"{stem}.onnx", DATA / "nnet" / f"{stem}.nnet"


def _points(info, seed):
    """Points in the normalised input box given by the file's raw input bounds (rounded to float32)."""
    lo, hi = info.normalize_input(info.input_min), info.normalize_input(info.input_max)
    x = np.random.default_rng(seed).uniform(lo, hi, (N_POINTS, 5))
    return x.astype(np.float32).astype(np.float64)


def test_data_files_present():
    assert (DATA / "SOURCES.md").is_file() and (DATA / "nnet" / "COPYING.ReluplexCav2017").is_file()
    for name in NETS:
        for p in _paths(name):
            assert p.is_file(), p


def test_header_constants_match_sources():
    _, info = load_nnet(_paths("1_1")[1], return_info=True)
    # facts stated in tests/data/acasxu/SOURCES.md
    np.testing.assert_allclose(info.input_mean, [19791.091, 0, 0, 650, 600])
    np.testing.assert_allclose(info.input_range, [60261, 2 * np.pi, 2 * np.pi, 1100, 1200], rtol=1e-10)
    assert info.output_mean == 7.5188840201005975 and info.output_range == 373.94992
    assert info.layer_sizes == (5, 50, 50, 50, 50, 50, 50, 5)


@pytest.mark.parametrize("name", NETS)
def test_onnx_nnet_onnxruntime_agree(name):
    onnx = pytest.importorskip("onnx")  # noqa: F841
    ort = pytest.importorskip("onnxruntime")
    from relutope.io.onnx import load_onnx

    onnx_path, nnet_path = _paths(name)
    net_onnx = load_onnx(onnx_path)
    net_nnet, info = load_nnet(nnet_path, return_info=True)
    for net in (net_onnx, net_nnet):
        assert net.widths == [5, 50, 50, 50, 50, 50, 50, 5]
        assert [np.unique(layer.n_pieces).tolist() for layer in net.layers] == [[2]] * 6 + [[1]]

    x = _points(info, seed=NETS.index(name))
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    x32 = x.astype(np.float32).reshape(N_POINTS, 1, 1, 1, 5)
    ref = np.concatenate([sess.run(None, {inp: xi})[0] for xi in x32])  # the model's batch size is fixed to 1

    y_onnx, pat_onnx = net_onnx.forward(x)
    y_nnet, pat_nnet = net_nnet.forward(x)
    np.testing.assert_allclose(y_onnx, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y_nnet, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y_onnx, y_nnet, rtol=1e-5, atol=1e-5)
    # the comparison is not vacuous: outputs vary, and most sampled points have identical activation patterns in
    # both imports (float32 rounding of the ONNX weights may flip units that are within ~1e-6 of their kink)
    assert np.ptp(ref, axis=0).min() > 1e-3
    assert np.mean(np.all(pat_onnx == pat_nnet, axis=1)) > 0.99


@pytest.mark.parametrize("name", ["1_1", "5_3"])
def test_fold_raw_coordinates(name):
    net, info = load_nnet(_paths(name)[1], return_info=True)
    folded = load_nnet(_paths(name)[1], normalize="fold")
    x_raw = np.random.default_rng(7).uniform(info.input_min, info.input_max, (N_POINTS, 5))
    expected = info.denormalize_output(net(info.normalize_input(x_raw)))
    np.testing.assert_allclose(folded(x_raw), expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
