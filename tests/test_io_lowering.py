"""relutope.io.lowering: matrix helpers and the graph lowering (scheduling, carries), checked against NumPy."""
import numpy as np
import pytest

from relutope import Network
from relutope.errors import ModelFormatError
from relutope.io.lowering import (Graph, avgpool_matrix, compose, conv_matrix, lower, maxpool_windows,
                                  pool_output_size, same_padding)

RNG = np.random.default_rng(2024)


def naive_conv(x, w, b, stride, pads, dilation, groups):
    """Direct loops over one (C, H, W) sample: the textbook definition of a zero-padded cross-correlation."""
    C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    xp = np.zeros((C, H + pads[0][0] + pads[0][1], W + pads[1][0] + pads[1][1]))
    xp[:, pads[0][0]:pads[0][0] + H, pads[1][0]:pads[1][0] + W] = x
    Ho = (xp.shape[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    Wo = (xp.shape[2] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((O, Ho, Wo))
    for o in range(O):
        g = o // (O // groups)
        for i in range(Ho):
            for j in range(Wo):
                patch = xp[g * Cg:(g + 1) * Cg, i * stride[0]:i * stride[0] + dilation[0] * (kh - 1) + 1:dilation[0],
                           j * stride[1]:j * stride[1] + dilation[1] * (kw - 1) + 1:dilation[1]]
                out[o, i, j] = np.sum(patch * w[o]) + b[o]
    return out


def test_compose():
    W2, b2, W1, b1 = RNG.normal(size=(3, 4)), RNG.normal(size=3), RNG.normal(size=(4, 5)), RNG.normal(size=4)
    W, b = compose(W2, b2, W1, b1)
    x = RNG.normal(size=5)
    np.testing.assert_allclose(W @ x + b, W2 @ (W1 @ x + b1) + b2, rtol=1e-12)
    with pytest.raises(ValueError, match="W2 takes inputs of length 4 but W1 has 3 outputs"):
        compose(W2, b2, W1[:3], b1[:3])


@pytest.mark.parametrize("stride,pads,dilation,groups", [
    ((1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    ((2, 1), ((1, 2), (0, 1)), (1, 2), 2),
    ((1, 3), ((2, 2), (1, 0)), (2, 1), 4),
])
def test_conv_matrix_matches_naive(stride, pads, dilation, groups):
    x = RNG.normal(size=(4, 7, 8))
    w, b = RNG.normal(size=(8, 4 // groups, 3, 2)), RNG.normal(size=8)
    W, bias, out_shape = conv_matrix(w, b, x.shape, stride, pads, dilation, groups)
    ref = naive_conv(x, w, b, stride, pads, dilation, groups)
    assert out_shape == ref.shape and W.shape == (ref.size, x.size)
    np.testing.assert_allclose(W @ x.ravel() + bias, ref.ravel(), rtol=1e-12, atol=1e-12)
    Ws, _, _ = conv_matrix(w, b, x.shape, stride, pads, dilation, groups, sparse=True)
    np.testing.assert_array_equal(Ws.toarray(), W)


def test_conv_matrix_errors():
    with pytest.raises(ValueError, match="does not fit an input with 3 channels"):
        conv_matrix(np.ones((2, 2, 3, 3)), None, (3, 5, 5))
    with pytest.raises(ValueError, match="does not fit in the padded input"):
        conv_matrix(np.ones((2, 3, 7, 3)), None, (3, 5, 5))


def test_pool_helpers_match_naive():
    x = RNG.normal(size=(2, 5, 6))
    A, shape = avgpool_matrix(x.shape, 2, stride=2, padding=0)
    assert shape == (2, 2, 3)
    ref = x[:, :4, :].reshape(2, 2, 2, 3, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(A @ x.ravel(), ref.ravel(), rtol=1e-12)
    win, counts, shape = maxpool_windows(x.shape, 2, stride=2)
    assert shape == (2, 2, 3) and np.all(counts == 4) and win.shape == (12, 4)
    ref = x[:, :4, :].reshape(2, 2, 2, 3, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(x.ravel()[win].max(axis=1), ref.ravel())
    # padding: border windows have fewer pieces, listed first, -1 after
    win, counts, _ = maxpool_windows((1, 3), 3, stride=1, padding=1)
    assert counts.tolist() == [2, 3, 2]
    assert win.tolist() == [[0, 1, -1], [0, 1, 2], [1, 2, -1]]


def test_output_size_and_same_padding():
    assert pool_output_size(7, 3, 2, 1, 1, ceil_mode=False) == 4
    assert pool_output_size(6, 2, 2, 0, 1, ceil_mode=True) == 3  # last window would start in the end padding
    assert pool_output_size(5, 2, 2, 0, 0, ceil_mode=True) == 3
    assert same_padding((7, 6), (4, 3), (2, 1), (1, 1), "upper") == ((1, 2), (1, 1))
    assert same_padding((7, 6), (4, 3), (2, 1), (1, 1), "lower") == ((2, 1), (1, 1))
    with pytest.raises(ValueError, match="does not fit"):
        pool_output_size(3, 5, 1, 0, 0)


# ---------------------------------------------------------------------------------------------- graph lowering
def evaluate(graph, x):
    """Direct NumPy evaluation of a graph of dense/scale/sum/act/clamp/reshape/transpose ops (batch first)."""
    vals = {graph.input: x.reshape((x.shape[0],) + graph.shape(graph.input))}
    for op in graph.ops:
        a = [vals[i] for i in op.inputs]
        p = op.params
        if op.kind == "dense":
            y = a[0] @ p["W"].T + (0 if p["b"] is None else p["b"])
        elif op.kind == "scale":
            y = a[0] * (1 if p["mul"] is None else p["mul"]) + (0 if p["add"] is None else p["add"])
        elif op.kind == "sum":
            y = sum(c * v for c, v in zip(p["coefs"], a))
        elif op.kind == "act":
            z = a[0]
            y = {"relu": np.maximum(z, 0), "abs": np.abs(z),
                 "leaky_relu": np.where(z >= 0, z, p["alpha"] * z)}[p["kind"]]
        elif op.kind == "clamp":
            y = np.clip(a[0], p["lo"], p["hi"])
        elif op.kind == "reshape":
            y = a[0].reshape((a[0].shape[0],) + p["shape"])
        elif op.kind == "transpose":
            y = a[0].transpose((0,) + tuple(q + 1 for q in p["perm"]))
        else:
            raise NotImplementedError(op.kind)
        vals[op.output] = y
    return vals[graph.output].reshape(x.shape[0], -1)


def random_graph(rng, n_ops, d=4):
    """A random DAG: each op reads one or two earlier values (any earlier one, so skips span several layers)."""
    g = Graph((d,))
    names = [g.input]
    for k in range(n_ops):
        kind = rng.choice(["dense", "act", "clamp", "sum", "scale"], p=[0.3, 0.3, 0.1, 0.2, 0.1])
        x = names[rng.integers(len(names))]
        if kind == "dense":
            y = g.add("dense", [x], f"op{k}", W=rng.normal(0, 0.7, (d, d)), b=rng.normal(0, 0.3, d))
        elif kind == "act":
            act = rng.choice(["relu", "leaky_relu", "abs"])
            alpha = rng.choice([0.1, 1.0, 2.5, -0.3])
            y = g.add("act", [x], f"op{k}", kind=act, alpha=alpha)
        elif kind == "clamp":
            lo, hi = rng.choice([(-1.0, 1.0), (-np.inf, 0.5), (-0.2, np.inf), (-np.inf, np.inf)])
            y = g.add("clamp", [x], f"op{k}", lo=lo, hi=hi)
        elif kind == "scale":
            y = g.add("scale", [x], f"op{k}", mul=rng.normal(size=d), add=rng.normal(size=d))
        else:
            x2 = names[rng.integers(len(names))]
            y = g.add("sum", [x, x2], f"op{k}", coefs=tuple(rng.normal(size=2)))
        names.append(y)
    # the output mixes the last value and a random earlier one
    g.output = g.add("sum", [names[-1], names[rng.integers(len(names))]], "out", coefs=(1.0, 0.5))
    return g


@pytest.mark.parametrize("seed", range(25))
def test_random_dags_match_numpy(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(rng, n_ops=int(rng.integers(5, 30)))
    net = lower(g)
    assert isinstance(net, Network)
    x = rng.normal(0, 2, (1000, 4))
    ref = evaluate(g, x)
    np.testing.assert_allclose(net(x), ref, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(ref).max()))


def test_carry_state_when_cheaper():
    # two 4-dim values of a 4-dim state are needed after the layer: carrying the 4-dim state beats carrying 8
    g = Graph((4,))
    a = g.add("dense", [g.input], "a", W=RNG.normal(size=(4, 4)), b=np.zeros(4))
    b = g.add("dense", [g.input], "b", W=RNG.normal(size=(4, 4)), b=np.ones(4))
    r = g.add("act", [g.input], "r", kind="relu")
    s = g.add("sum", [a, b, r], "s", coefs=(1.0, -1.0, 2.0))
    g.output = s
    net = lower(g)
    assert net.widths == [4, 8, 4]
    assert net.layers[0].n_pieces.tolist() == [2] * 4 + [1] * 4
    x = RNG.normal(size=(1000, 4))
    np.testing.assert_allclose(net(x), evaluate(g, x), rtol=1e-12, atol=1e-12)


def test_pure_affine_graph_is_one_identity_layer():
    g = Graph((2, 3))
    t = g.add("transpose", [g.input], "t", perm=(1, 0))
    r = g.add("reshape", [t], "r", shape=(-1,))
    g.output = g.add("scale", [r], "s", mul=2.0, add=1.0)
    net = lower(g)
    assert net.widths == [6, 6] and np.all(net.layers[0].n_pieces == 1)
    x = np.arange(6.0)[None]
    np.testing.assert_array_equal(net(x), [[1.0, 7.0, 3.0, 9.0, 5.0, 11.0]])


def test_output_of_last_nonlinearity_needs_no_extra_layer():
    g = Graph((3,))
    h = g.add("dense", [g.input], "d", W=np.eye(3), b=np.zeros(3))
    g.output = g.add("act", [h], "r", kind="relu")
    assert lower(g).widths == [3, 3]


def test_maxpool_units_and_tie_free_values():
    g = Graph((1, 4))
    g.output = g.add("maxpool", [g.input], "mp", kernel=2, stride=1)
    net = lower(g)
    assert net.layers[0].n_pieces.tolist() == [2, 2, 2]
    y, pat = net.forward(np.array([[1.0, 3.0, 2.0, 0.0]]))
    assert y.tolist() == [[3.0, 3.0, 2.0]] and pat[0, :3].tolist() == [1, 0, 0]


def test_graph_errors_name_the_origin():
    g = Graph((3,))
    with pytest.raises(ModelFormatError, match=r"^layer 'fc': weight of shape \(2, 4\) takes vectors of length 4"):
        g.add("dense", [g.input], "layer 'fc'", W=np.ones((2, 4)))
    with pytest.raises(ModelFormatError, match=r"^t: perm \(1, 0\) is not a permutation of the 1 axes"):
        g.add("transpose", [g.input], "t", perm=(1, 0))
    with pytest.raises(ModelFormatError,
                       match=r"^r: cannot reshape a tensor of shape \(3,\) \(3 elements\) to \(2, -1\)"):
        g.add("reshape", [g.input], "r", shape=(2, -1))
    with pytest.raises(ModelFormatError, match=r"^c: clamp bounds must satisfy lo <= hi"):
        g.add("clamp", [g.input], "c", lo=1.0, hi=0.0)
    with pytest.raises(ModelFormatError, match=r"^w: W contains NaN or infinite values"):
        g.add("dense", [g.input], "w", W=np.full((2, 3), np.nan))
    with pytest.raises(ModelFormatError, match="the graph has no output"):
        lower(g)
    with pytest.raises(ModelFormatError, match="input shape must have positive entries"):
        Graph((3, 0))


def test_importing_io_does_not_import_torch_or_onnx():
    import subprocess
    import sys

    code = ("import sys, relutope.io, relutope.io.torch, relutope.io.onnx; "
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
