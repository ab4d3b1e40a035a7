"""Fuzzing the readers: corrupt files give a result or a documented exception, in bounded time and memory.

Every reader gets a valid file (from tests/data/ or made here) with seeded mutations: truncations, random bit
flips, garbage overwrites and insertions, and for ``.npz`` archives also bit flips in the arrays of an otherwise
valid archive (so that the content checks, not just the zip CRCs, are exercised). The documented outcomes:

=====================  ================================================================================
reader                 outcomes (see the Raises sections)
=====================  ================================================================================
``load_onnx``          a Network, or ``ModelFormatError``
``load_nnet``          a Network, or ``ModelFormatError``
``vnnlib.loads``       a Property, or ``ValueError``
``vnnlib.load``        a Property, or ``ValueError`` (``.vnnlib`` and ``.vnnlib.gz``)
``Network.load``       a Network, or ``ValueError`` / ``TypeError``
``Partition.load``     a Partition, or ``ValueError`` / ``TypeError``
=====================  ================================================================================

Each case runs under a deadline (a hang guard, far above the milliseconds a case takes) and ``tracemalloc``, whose
peak must stay below :data:`MEMORY_BOUND`.
"""
import contextlib
import gzip
import io
import signal
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import relutope
from relutope import Box, Network, Partition, enumerate_regions, vnnlib
from relutope.errors import ModelFormatError
from relutope.io.nnet import load_nnet

DATA = Path(__file__).parent / "data" / "acasxu"
CASES = 30  # mutations per reader and kind of input
MEMORY_BOUND = 256 * 2 ** 20
DEADLINE = 30.0  # seconds per case


class Hang(Exception):
    pass


@contextlib.contextmanager
def bounded(what):
    """Run a case under a deadline and tracemalloc; fail naming the case when either bound is passed."""
    def alarm(signum, frame):
        raise Hang(f"{what} did not finish within {DEADLINE} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, DEADLINE)
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert peak < MEMORY_BOUND, f"{what} peaked at {peak / 2 ** 20:.0f} MiB"


def mutations(raw: bytes, seed: int, n: int = CASES):
    """``n`` seeded corruptions of ``raw``: (description, bytes)."""
    rng = np.random.default_rng(seed)
    out = [("empty", b""), ("one byte", raw[:1])]
    while len(out) < n:
        kind = len(out) % 4
        data = bytearray(raw)
        if kind == 0:
            cut = int(rng.integers(1, len(raw)))
            out.append((f"truncated at {cut}", bytes(data[:cut])))
            continue
        if kind == 1:
            flips = rng.integers(0, 8 * len(raw), size=int(rng.integers(1, 9)))
            for f in flips:
                data[f // 8] ^= 1 << (f % 8)
            out.append((f"bits {sorted(flips.tolist())} flipped", bytes(data)))
            continue
        start = int(rng.integers(0, len(raw)))
        junk = rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        if kind == 2:
            data[start:start + len(junk)] = junk
            out.append((f"{len(junk)} garbage bytes over offset {start}", bytes(data[:len(raw)])))
        else:
            out.append((f"{len(junk)} garbage bytes inserted at {start}", bytes(data[:start] + junk + data[start:])))
    return out


def run_cases(tmp_path, name, cases, read, allowed, check=None):
    """Write every case to ``tmp_path / name`` and read it; return the outcomes (type names) for the record."""
    outcomes = {}
    path = tmp_path / name
    for what, data in cases:
        path.write_bytes(data)
        with bounded(f"{name}, {what}"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # e.g. a partition whose fingerprint entry was corrupted away
                    result = read(path)
            except allowed as exc:
                assert str(exc), f"{name}, {what}: {type(exc).__name__} with an empty message"
                outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
                continue
            except Exception as exc:  # noqa: BLE001 - anything else is the failure this test looks for
                pytest.fail(f"{name}, {what}: undocumented {type(exc).__name__}: {exc}")
        if check is not None:
            check(what, result)
        outcomes["result"] = outcomes.get("result", 0) + 1
    return outcomes


def npz_with_flipped_arrays(raw: bytes, seed: int, n: int = CASES, keys=None):
    """Valid archives (correct CRCs) whose arrays have seeded bit flips: (description, bytes, flipped key)."""
    rng = np.random.default_rng(seed)
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    keys = sorted(arrays) if keys is None else keys
    out = []
    for _ in range(n):
        key = keys[int(rng.integers(len(keys)))]
        a = arrays[key]
        if a.nbytes == 0:
            continue
        b = bytearray(a.tobytes())
        bit = int(rng.integers(8 * len(b)))
        b[bit // 8] ^= 1 << (bit % 8)
        changed = dict(arrays)
        changed[key] = np.frombuffer(bytes(b), dtype=a.dtype).reshape(a.shape)
        buf = io.BytesIO()
        np.savez(buf, **changed)
        out.append((f"bit {bit} of array {key!r} flipped", buf.getvalue(), key))
    return out


# ---------------------------------------------------------------------------------------------- .npz readers
NET = Network.random([3, 6, 4, 2], seed=11)


def test_network_load_fuzz(tmp_path):
    NET.save(tmp_path / "net.npz")
    raw = (tmp_path / "net.npz").read_bytes()

    def check(what, net):
        assert isinstance(net, Network)

    outcomes = run_cases(tmp_path, "fuzz.npz", mutations(raw, seed=1), Network.load, (ValueError, TypeError), check)
    assert outcomes.get("ValueError", 0) > CASES // 2  # most byte-level corruptions are caught
    flipped = npz_with_flipped_arrays(raw, seed=2)
    run_cases(tmp_path, "flipped.npz", [(w, d) for w, d, _ in flipped], Network.load, (ValueError, TypeError), check)
    np.savez(tmp_path / "mlp.npz", W0=NET.layers[0].A[1::2], b0=NET.layers[0].c[1::2], W1=np.ones((2, 6)),
             b1=np.zeros(2))
    run_cases(tmp_path, "mlp.npz", mutations((tmp_path / "mlp.npz").read_bytes(), seed=3), Network.load,
              (ValueError, TypeError), check)


def test_partition_load_fuzz(tmp_path):
    part = enumerate_regions(NET, Box(-np.ones(3), np.ones(3)))
    part.save(tmp_path / "part.npz")
    raw = (tmp_path / "part.npz").read_bytes()

    def check(what, back):
        assert isinstance(back, Partition) and back.network.fingerprint() == NET.fingerprint()
        assert np.all(np.isfinite(back.radii)) and np.all(np.isfinite(back.witnesses))

    run_cases(tmp_path, "fuzz.npz", mutations(raw, seed=4), Partition.load, (ValueError, TypeError), check)
    # Valid archives with flipped arrays: a flipped weight of the network must always be caught (fingerprint).
    weights = ["net_layer0_A", "net_layer1_c", "net_layer2_A", "net_layer1_n_pieces"]
    flipped = npz_with_flipped_arrays(raw, seed=5) + npz_with_flipped_arrays(raw, seed=13, n=10, keys=weights)
    path = tmp_path / "flipped.npz"
    for what, data, key in flipped:
        path.write_bytes(data)
        with bounded(what):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    back = Partition.load(path)
            except (ValueError, TypeError) as exc:
                assert str(exc)
                continue
        assert not key.startswith("net_"), f"{what}: another network's weights were accepted"
        check(what, back)


# ---------------------------------------------------------------------------------------------- model readers
def small_onnx_model():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = {"Wc": rng.normal(size=(2, 1, 3, 3)).astype(np.float32), "bc": rng.normal(size=2).astype(np.float32),
             "Wg": rng.normal(size=(8, 3)).astype(np.float32), "bg": rng.normal(size=3).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "Wc", "bc"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "Wg", "bg"], ["y"])]
    graph = helper.make_graph(nodes, "fuzz", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                              initializer=[numpy_helper.from_array(v, name=k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_load_onnx_fuzz(tmp_path):
    raw = small_onnx_model()
    assert relutope.load_onnx(raw).in_dim == 16

    def check(what, net):
        assert isinstance(net, Network)

    run_cases(tmp_path, "fuzz.onnx", mutations(raw, seed=6), relutope.load_onnx, (ModelFormatError,), check)
    for what, data in mutations(raw, seed=7, n=CASES // 2):  # the same through the bytes interface
        with bounded(f"bytes, {what}"):
            try:
                relutope.load_onnx(data)
            except ModelFormatError as exc:
                assert str(exc)
    acas = (DATA / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx").read_bytes()
    cuts = [(f"truncated at {c}", acas[:c]) for c in np.linspace(1, len(acas) - 1, 6).astype(int)]
    run_cases(tmp_path, "acas.onnx", cuts, relutope.load_onnx, (ModelFormatError,), check)


def small_nnet_text(net):
    W = [(l.A[1::2], l.c[1::2]) for l in net.layers[:-1]] + [(net.layers[-1].A, net.layers[-1].c)]
    sizes = [W[0][0].shape[1]] + [w.shape[0] for w, _ in W]
    fmt = lambda v: ",".join(f"{x:.17g}" for x in np.ravel(v)) + ","  # noqa: E731
    d = sizes[0]
    lines = ["// fuzz", f"{len(W)},{d},{sizes[-1]},{max(sizes)},", ",".join(map(str, sizes)) + ",", "0,",
             fmt(-np.ones(d)), fmt(np.ones(d)), fmt(np.zeros(d + 1)), fmt(np.ones(d + 1))]
    for w, b in W:
        lines += [fmt(row) for row in w] + [fmt([v]) for v in b]
    return ("\n".join(lines) + "\n").encode()


def test_load_nnet_fuzz(tmp_path):
    raw = small_nnet_text(NET)
    (tmp_path / "ok.nnet").write_bytes(raw)
    np.testing.assert_array_equal(load_nnet(tmp_path / "ok.nnet")(np.ones((1, 3))), NET(np.ones((1, 3))))

    def check(what, net):
        assert isinstance(net, Network)

    run_cases(tmp_path, "fuzz.nnet", mutations(raw, seed=8), load_nnet, (ModelFormatError,), check)
    # digits flipped in the header: sizes and counts far off
    header = raw.split(b"\n")
    rng = np.random.default_rng(9)
    cases = []
    for _ in range(CASES // 2):
        row = int(rng.integers(1, 3))
        lines = list(header)
        line = bytearray(lines[row])
        digits = [i for i, ch in enumerate(line) if chr(ch).isdigit()]
        line[digits[int(rng.integers(len(digits)))]:][:1] = b"9" * int(rng.integers(1, 10))
        lines[row] = bytes(line)
        cases.append((f"header line {row} changed to {bytes(line)!r}", b"\n".join(lines)))
    run_cases(tmp_path, "header.nnet", cases, load_nnet, (ModelFormatError,), check)
    acas = (DATA / "nnet" / "ACASXU_run2a_1_1_batch_2000.nnet").read_bytes()
    cuts = [(f"truncated at {c}", acas[:c]) for c in np.linspace(1, len(acas) - 1, 4).astype(int)]
    run_cases(tmp_path, "acas.nnet", cuts, load_nnet, (ModelFormatError,), check)


# ---------------------------------------------------------------------------------------------- VNN-LIB
def check_property(what, prop):
    assert isinstance(prop, vnnlib.Property) and prop.n_inputs >= 1 and prop.n_outputs >= 1
    for case in prop.cases:  # every box is a valid, non-empty box
        assert np.all(np.isfinite(case.box_lo)) and np.all(case.box_lo <= case.box_hi)


def test_vnnlib_fuzz(tmp_path):
    raw = (DATA / "vnnlib" / "prop_2.vnnlib").read_bytes()
    run_cases(tmp_path, "fuzz.vnnlib", mutations(raw, seed=10), vnnlib.load, (ValueError,), check_property)
    run_cases(tmp_path, "fuzz.vnnlib.gz", mutations(gzip.compress(raw), seed=11), vnnlib.load, (ValueError,),
              check_property)
    # the text parser, on token-level garbage
    rng = np.random.default_rng(12)
    tokens = ["(", ")", "(", ")", "and", "or", "<=", ">=", "=", "+", "-", "*", "X_0", "X_1", "Y_0", "Y_4", "0.5",
              "-1e3", "1e999", "X_99999999", "assert", "declare-const", "Real", ";", "\n", "true", "false"]
    text = raw.decode()
    for i in range(CASES):
        words = text.split(" ")
        for _ in range(int(rng.integers(1, 6))):
            words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(tokens)))
        mutated = " ".join(words)
        with bounded(f"token case {i}"):
            try:
                check_property(i, vnnlib.loads(mutated))
            except ValueError as exc:
                assert str(exc)


@pytest.mark.parametrize("what,text,match", [
    ("deep nesting", "(declare-const X_0 Real)(declare-const Y_0 Real)(assert " + "(or " * 100_000 + "true"
     + ")" * 100_000 + ")", "nested deeper than"),
    ("huge index", "(declare-const X_0 Real)\n(declare-const X_10000000 Real)\n(declare-const Y_0 Real)\n"
     "(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= Y_0 1))\n", "X_1 is not declared but X_10000000 is"),
    ("empty box", "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 0))(assert (>= X_0 1))"
     "(assert (<= Y_0 0))", "input X_0 has the lower bound"),
])
def test_vnnlib_pathological_inputs_are_refused_in_bounded_memory(what, text, match):
    with bounded(what):
        with pytest.raises(ValueError, match=match):
            vnnlib.loads(text)
    if what == "huge index":  # specifically: 600 bytes used to allocate 1.1 GB
        tracemalloc.start()
        try:
            with pytest.raises(ValueError):
                vnnlib.loads(text)
            assert tracemalloc.get_traced_memory()[1] < 4 * 2 ** 20
        finally:
            tracemalloc.stop()


def test_npz_reader_refuses_zip_members_that_are_not_arrays(tmp_path):
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as zf:
        zf.writestr("W0.npy", b"not an array at all")
    with pytest.raises(ValueError, match=r"cannot read network file '.*zip\.npz': corrupt"):
        Network.load(tmp_path / "zip.npz")
