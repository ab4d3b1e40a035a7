"""The VNN-COMP runner's per-instance result files: the result word, and for ``sat`` a counterexample that a
forward pass of the ONNX model (onnxruntime) puts in the unsafe set."""
import re

import numpy as np
import pytest

import relutope
from relutope.cli import main
from relutope.vnncomp import result_text, run_instances

_PROP = ("(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
         "(assert (>= X_0 {lo0}))\n(assert (<= X_0 {hi0}))\n(assert (>= X_1 {lo1}))\n(assert (<= X_1 {hi1}))\n"
         "(assert (>= Y_0 {c}))\n")


def _parse(text):
    vals = {m.group(1): float(m.group(2)) for m in re.finditer(r"\((X_\d+|Y_\d+) ([^()\s]+)\)", text)}
    x = np.array([vals[f"X_{i}"] for i in range(sum(k.startswith("X") for k in vals))])
    y = np.array([vals[f"Y_{i}"] for i in range(sum(k.startswith("Y") for k in vals))])
    return x, y


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_results_dir_holds_the_word_and_a_counterexample_that_onnxruntime_confirms(tmp_path, scale):
    ort = pytest.importorskip("onnxruntime")
    net = relutope.Network.random([2, 8, 8, 2], seed=3)
    lo, hi = np.array([2.5, -5.5]) * scale, np.array([3.5, -4.5]) * scale  # off-centre, of size scale
    # the exact maximum of y0 over the box (independent: every region's affine map at its vertices, by the
    # enumeration's exact bounds) decides which properties hold
    ymax = relutope.output_bounds(net, relutope.Box(lo, hi), prune=False).upper[0]
    net.to_onnx(tmp_path / "net.onnx")
    box = dict(lo0=f"{lo[0]:.17g}", hi0=f"{hi[0]:.17g}", lo1=f"{lo[1]:.17g}", hi1=f"{hi[1]:.17g}")
    (tmp_path / "sat.vnnlib").write_text(_PROP.format(c=f"{ymax - 1e-3 * abs(ymax):.17g}", **box))
    (tmp_path / "unsat.vnnlib").write_text(_PROP.format(c=f"{ymax + 1e-3 * abs(ymax) + 1e-300:.17g}", **box))
    (tmp_path / "instances.csv").write_text("net.onnx,sat.vnnlib,30\nnet.onnx,unsat.vnnlib,30\n")
    out = tmp_path / "results"
    got = run_instances(tmp_path / "instances.csv", results_dir=str(out))
    assert [r.result for r in got] == ["sat", "unsat"], [r.message for r in got]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["0000_net_sat.txt", "0001_net_unsat.txt"]
    assert (out / files[1]).read_text() == "unsat\n"
    text = (out / files[0]).read_text()
    assert text.splitlines()[0] == "sat"
    x, y = _parse(text)
    assert np.all(x >= lo) and np.all(x <= hi)
    sess = ort.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    y_ort = sess.run(None, {sess.get_inputs()[0].name: x[None, :].astype(np.float64)
                            if sess.get_inputs()[0].type == "tensor(double)" else x[None, :].astype(np.float32)})[0][0]
    np.testing.assert_allclose(y, y_ort, rtol=1e-5, atol=1e-6 * abs(ymax))
    assert y[0] >= ymax - 1e-3 * abs(ymax) - 1e-12 * abs(ymax)  # in the unsafe set


def test_result_text_round_trips_float64():
    x, y = np.array([0.1, -1e-300, 1e300]), np.array([np.nextafter(1.0, 2.0)])
    xs, ys = _parse(result_text("sat", x, y))
    assert np.array_equal(xs, x) and np.array_equal(ys, y)
    assert result_text("timeout") == "timeout\n"
    assert result_text("violated", x, y).startswith("violated\n((X_0 ")  # relutope verify --out without --vnncomp
    with pytest.raises(ValueError, match="word must be one of"):
        result_text("safe")
    with pytest.raises(ValueError, match="together"):
        result_text("sat", x)
    with pytest.raises(ValueError, match="output must be finite"):
        result_text("sat", x, [np.nan])


def test_cli_results_dir_that_is_a_file_is_refused(tmp_path, capsys):
    net = relutope.Network.random([2, 4, 2], seed=0)
    net.to_onnx(tmp_path / "net.onnx")
    (tmp_path / "p.vnnlib").write_text(_PROP.format(lo0="0", hi0="1", lo1="0", hi1="1", c="1e9"))
    (tmp_path / "instances.csv").write_text("net.onnx,p.vnnlib,10\n")
    (tmp_path / "taken").write_text("")
    with pytest.raises(ValueError, match="results_dir"):
        run_instances(tmp_path / "instances.csv", results_dir=str(tmp_path / "taken"))
    assert main(["vnncomp", str(tmp_path / "instances.csv"), "--results-dir", str(tmp_path / "res")]) == 0
    assert (tmp_path / "res" / "0000_net_p.txt").read_text() == "unsat\n"
