"""relutope.io.nnet.load_nnet: the .nnet text format, normalisation folding, and corrupt files."""
import re

import numpy as np
import pytest

from relutope import Network
from relutope.errors import ModelFormatError
from relutope.io.nnet import NNetInfo, load_nnet

# A 2-3-2-1 network written by hand: layer 0 W = [[1, 2], [-1, 0.5], [0, -3]], b = [0.5, -1, 2];
# layer 1 W = [[1, -1, 2], [0.25, 0, 1]], b = [0, 1]; layer 2 W = [[2, -1]], b = [-0.5].
SMALL = """\
// A small test network
// second comment line
3,2,1,3,
2,3,2,1,
0,
-10.0,0.0,
10.0,4.0,
1.0,2.0,0.5,
4.0,0.5,3.0,
1.0,2.0,
-1.0,0.5,
0.0,-3.0,
0.5,
-1.0,
2.0,
1.0,-1.0,2.0,
0.25,0.0,1.0,
0.0,
1.0,
2.0,-1.0,
-0.5,
"""
SMALL_W = [(np.array([[1, 2], [-1, 0.5], [0, -3.0]]), np.array([0.5, -1, 2.0])),
           (np.array([[1, -1, 2], [0.25, 0, 1.0]]), np.array([0, 1.0])),
           (np.array([[2, -1.0]]), np.array([-0.5]))]


def numpy_forward(weights, x):
    h = x
    for i, (W, b) in enumerate(weights):
        h = h @ W.T + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return h


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.nnet"
    path.write_text(SMALL)
    return path


def write_nnet(path, weights, means, ranges, mins, maxs):
    sizes = [weights[0][0].shape[1]] + [W.shape[0] for W, _ in weights]
    fmt = lambda v: ",".join(f"{x:.17g}" for x in np.ravel(v)) + ","  # noqa: E731
    lines = ["// written by the test suite", f"{len(weights)},{sizes[0]},{sizes[-1]},{max(sizes)},",
             fmt(sizes).replace(".0", ""), "0,", fmt(mins), fmt(maxs), fmt(means), fmt(ranges)]
    for W, b in weights:
        lines += [fmt(row) for row in W] + [fmt([v]) for v in b]
    path.write_text("\n".join(lines) + "\n")


def test_small_file_values(small):
    net, info = load_nnet(small, return_info=True)
    assert isinstance(net, Network) and isinstance(info, NNetInfo)
    assert net.widths == [2, 3, 2, 1]
    assert info.layer_sizes == (2, 3, 2, 1)
    np.testing.assert_array_equal(info.input_min, [-10.0, 0.0])
    np.testing.assert_array_equal(info.input_max, [10.0, 4.0])
    np.testing.assert_array_equal(info.input_mean, [1.0, 2.0])
    np.testing.assert_array_equal(info.input_range, [4.0, 0.5])
    assert info.output_mean == 0.5 and info.output_range == 3.0
    x = np.random.default_rng(0).normal(0, 3, (1000, 2))
    np.testing.assert_allclose(net(x), numpy_forward(SMALL_W, x), rtol=1e-14, atol=1e-14)
    # hidden layers are ReLU (2 pieces), the output layer linear (1 piece)
    assert [np.unique(layer.n_pieces).tolist() for layer in net.layers] == [[2], [2], [1]]


def test_fold_normalisation(small):
    net, info = load_nnet(small, return_info=True)
    folded = load_nnet(small, normalize="fold")
    x_raw = np.random.default_rng(1).uniform(info.input_min, info.input_max, (1000, 2))
    expected = (numpy_forward(SMALL_W, (x_raw - [1.0, 2.0]) / [4.0, 0.5])) * 3.0 + 0.5
    np.testing.assert_allclose(folded(x_raw), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(info.denormalize_output(net(info.normalize_input(x_raw))), expected, rtol=1e-12,
                               atol=1e-12)


def test_roundtrip_random_network(tmp_path):
    rng = np.random.default_rng(2)
    sizes = [4, 7, 6, 3]
    weights = [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(sizes[:-1], sizes[1:])]
    path = tmp_path / "rand.nnet"
    write_nnet(path, weights, means=np.zeros(5), ranges=np.ones(5), mins=-np.ones(4), maxs=np.ones(4))
    net = load_nnet(path)
    x = rng.normal(size=(1000, 4))
    np.testing.assert_allclose(net(x), numpy_forward(weights, x), rtol=1e-13, atol=1e-13)


def test_bad_normalize_argument(small):
    with pytest.raises(ValueError, match="normalize must be 'none' or 'fold', got 'yes'"):
        load_nnet(small, normalize="yes")


def test_fold_with_zero_range(tmp_path):
    path = tmp_path / "zero_range.nnet"
    path.write_text(SMALL.replace("4.0,0.5,3.0,", "0.0,0.5,3.0,"))
    assert load_nnet(path).widths == [2, 3, 2, 1]  # fine without folding
    with pytest.raises(ValueError, match="input range is zero"):
        load_nnet(path, normalize="fold")


def _expect(tmp_path, text, pattern, name="bad.nnet"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ModelFormatError, match=re.escape(str(path)) + pattern):
        load_nnet(path)


def test_truncated_in_weights(tmp_path):
    lines = SMALL.splitlines()
    _expect(tmp_path, "\n".join(lines[:15]) + "\n", r", line 16: file ends early, expected layer 1 weight row 0")


def test_truncated_in_header(tmp_path):
    _expect(tmp_path, "\n".join(SMALL.splitlines()[:5]) + "\n", r", line 6: file ends early, expected input minimums")


def test_truncated_mid_line(tmp_path):
    _expect(tmp_path, SMALL[: SMALL.index("0.25,0.0,1.0") + 6],
            r", line 17: expected 3 value\(s\) \(layer 1 weight row 1\), found 2")


def test_empty_file(tmp_path):
    _expect(tmp_path, "", r", line 1: file ends early, expected numLayers")


def test_not_a_number(tmp_path):
    _expect(tmp_path, SMALL.replace("-1.0,0.5,", "-1.0,abc,"), r", line 11: cannot read 'abc' as a number "
                                                                 r"\(layer 0 weight row 1\)")


def test_nan_value(tmp_path):
    _expect(tmp_path, SMALL.replace("0.25,0.0,1.0,", "0.25,nan,1.0,"),
            r", line 17: NaN or infinite value \(layer 1 weight row 1\)")


def test_wrong_layer_sizes(tmp_path):
    _expect(tmp_path, SMALL.replace("2,3,2,1,", "3,3,2,1,"), r", line 4: layer sizes \[3, 3, 2, 1\] must be positive "
                                                              r"and start with inputSize 2")


def test_trailing_content(tmp_path):
    _expect(tmp_path, SMALL + "1.0,\n", r", line 22: unexpected content after the last layer's biases")


def test_binary_garbage(tmp_path):
    _expect(tmp_path, b"3,2,1,3,\n\x89PNG\x00\xff", r", line 2: not a text file")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_nnet(tmp_path / "missing.nnet")


def test_huge_declared_size_allocates_nothing(tmp_path):
    import tracemalloc

    path = tmp_path / "huge.nnet"
    path.write_text(SMALL.replace("2,3,2,1,", "2,300000000,2,1,"))  # a corrupt hidden size
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match=r"line 13: expected 2 value\(s\) \(layer 0 weight row 3\)"):
            load_nnet(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2 ** 20  # np.empty((300000000, 2)) asked for 4.8 GB before the first row was read
