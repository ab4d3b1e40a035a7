"""Lowering of piecewise-affine models to MASO layers, shared by the ONNX and PyTorch importers.

Both importers translate their model into the same small intermediate representation, a :class:`Graph` of
:class:`Op` nodes, and :func:`lower` turns that graph into a :class:`relutope.Network`. Nothing format-specific
happens here.

Conventions
-----------
* Tensors are described **without their batch dimension**: a value of shape ``(C, H, W)`` stands for the
  ``(N, C, H, W)`` tensor of the source framework. A tensor is identified with its C-order (row-major) flattening,
  so a ``(C, H, W)`` value is a vector of length ``C * H * W`` with index ``(c * H + h) * W + w``. The network's
  input and output are these flattenings of the graph's input and output.
* Affine operations (dense, convolution, average pooling, elementwise scale-and-shift, reshape, transpose, sums
  of tensors) are never emitted as layers: they are composed into the pending affine map of every value until a
  nonlinearity consumes it.
* A nonlinearity (ReLU, leaky ReLU, absolute value, clamp/hardtanh, max-pooling) becomes units of a MASO layer.
  Nonlinearities that do not depend on each other are placed in the same layer (the layer of a nonlinearity is one
  more than the largest layer among the nonlinearities it depends on).
* A value that is still needed after a layer (the input of a skip connection, say) is carried through the layer by
  identity units (``K = 1``); when that needs more units than the layer's input has, the layer input itself is
  carried instead. Sums of branches are folded into the next affine map.
* The last layer consists of identity units computing the graph output, unless the output is exactly the output of
  the last nonlinear layer.

Operator kinds (``Op.kind``) and their parameters
-------------------------------------------------
Affine (composed, never emitted on their own):

``"dense"``      ``W`` (m, n), ``b`` (m,) or None: ``y[..., :] = W @ x[..., :] + b`` on the last axis.
``"conv"``       ``weight`` (O, C/groups, *k), ``bias`` (O,) or None, ``stride``, ``pads`` ((begin, end) per spatial
                 axis), ``dilation``, ``groups``: cross-correlation of a ``(C, *spatial)`` input, zero padding.
``"avgpool"``    ``kernel``, ``stride``, ``pads``, ``ceil_mode``, ``count_include_pad``, ``divisor`` (None or int):
                 average pooling of a ``(C, *spatial)`` input with PyTorch's divisor rules.
``"scale"``      ``mul``, ``add`` (arrays broadcastable with the input, None for 1 and 0): ``y = x * mul + add``
                 with NumPy broadcasting (the output may be larger than the input).
``"reshape"``    ``shape``: same data, new shape (one entry may be -1).
``"transpose"``  ``perm``: ``y = x.transpose(perm)``.
``"sum"``        ``coefs`` (one float per input): ``y = sum_i coefs[i] * x_i`` with NumPy broadcasting.
``"linear"``     ``T`` (sparse or dense, size(out) x size(in)), ``t`` (size(out),) or None, ``shape`` (the output
                 shape): ``y = T @ x + t`` on the flattenings; what :meth:`Graph.gather` (pad, slice, gather) and
                 :meth:`Graph.window_reduce` (adaptive and global average pooling, ReduceMean/ReduceSum) emit.
``"concat"``     ``axis``: ``numpy.concatenate`` of the inputs along ``axis`` (the other axes equal).

Nonlinear (emitted as units):

``"act"``        ``kind`` in {"relu", "leaky_relu", "abs"}, ``alpha``: elementwise; a leaky ReLU is
                 ``z if z >= 0 else alpha * z`` for any finite ``alpha``, a scalar or an array broadcasting
                 against the input (PReLU: one slope per channel, shape ``(C, 1, ..., 1)``). Per element: one unit
                 with the pieces ``(alpha z, z)`` when ``alpha < 1``; ``-alpha * max(-z / alpha, -z)`` when
                 ``alpha > 1``; an identity unit when ``alpha == 1``.
``"clamp"``      ``lo``, ``hi`` (``-inf``/``inf`` allowed): ``min(max(z, lo), hi)`` (hardtanh, ReLU6, ONNX Clip),
                 lowered as ``lo + relu(z - lo) - relu(z - hi)``.
``"maxpool"``    ``kernel``, ``stride``, ``pads``, ``dilation``, ``ceil_mode``: max-pooling of a
                 ``(C, *spatial)`` input (padding never wins); one unit per output with one piece per window element.
``"maxsel"``     ``windows`` (int, shape ``out_shape + (K,)``: flat input indices, ``-1`` for unused slots), ``sign``
                 (+1 or -1): ``y[j] = sign * max_r sign * x[windows[j, r]]``, so ``sign=-1`` is a minimum
                 (``min_r x_r = -max_r(-x_r)``). One unit per output with one piece per valid window entry: maxout,
                 adaptive and global max-pooling, ReduceMax/ReduceMin (see :meth:`Graph.window_reduce`).
``"max"``        ``sign``: the elementwise maximum (``sign=+1``) or minimum (``-1``) of several inputs with NumPy
                 broadcasting (ONNX ``Max``/``Min``): one unit per output element with one piece per input.

Every unit is a maximum of affine pieces (a MASO unit), so a minimum is written as a negated maximum of negated
pieces, and a clamp ``min(max(z, lo), hi)`` as the exact identity ``lo + relu(z - lo) - relu(z - hi)`` (two
two-piece units, no rounding beyond the subtractions).
"""
from __future__ import annotations

from collections import Counter
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from ..errors import ModelFormatError
from ..network import Layer, Network

__all__ = [
    "AFFINE_KINDS",
    "MULTI_INPUT_KINDS",
    "NONLINEAR_KINDS",
    "Graph",
    "Op",
    "avgpool_matrix",
    "compose",
    "conv_matrix",
    "lower",
    "adaptive_windows",
    "group_windows",
    "maxpool_windows",
    "pad_index",
    "pool_output_size",
    "reduce_windows",
    "same_padding",
    "slice_index",
]

AFFINE_KINDS = ("dense", "conv", "avgpool", "scale", "reshape", "transpose", "sum", "linear", "concat")
NONLINEAR_KINDS = ("act", "clamp", "maxpool", "maxsel", "max")
#: Kinds that take several inputs.
MULTI_INPUT_KINDS = ("sum", "concat", "max")

Shape = Tuple[int, ...]


# ====================================================================================== public matrix helpers
def compose(W2, b2, W1, b1) -> Tuple[np.ndarray, np.ndarray]:
    """The composition ``x -> W2 @ (W1 @ x + b1) + b2`` of two affine maps.

    Parameters
    ----------
    W2 : array_like, shape (m, k)
    b2 : array_like, shape (m,)
    W1 : array_like, shape (k, n)
    b1 : array_like, shape (k,)

    Returns
    -------
    W : ndarray, shape (m, n), float64
        ``W2 @ W1``.
    b : ndarray, shape (m,), float64
        ``W2 @ b1 + b2``.

    Raises
    ------
    ValueError
        When the shapes do not fit together.

    Examples
    --------
    >>> import numpy as np
    >>> W, b = compose(np.array([[2.0]]), np.array([1.0]), np.array([[1.0, -1.0]]), np.array([3.0]))
    >>> W.tolist(), b.tolist()
    ([[2.0, -2.0]], [7.0])
    """
    W2 = np.asarray(W2, dtype=np.float64)
    W1 = np.asarray(W1, dtype=np.float64)
    b2 = np.asarray(b2, dtype=np.float64)
    b1 = np.asarray(b1, dtype=np.float64)
    if W2.ndim != 2 or W1.ndim != 2 or b2.shape != (W2.shape[0],) or b1.shape != (W1.shape[0],):
        raise ValueError(f"compose needs W2 (m, k), b2 (m,), W1 (k, n), b1 (k,); got {W2.shape}, {b2.shape}, "
                         f"{W1.shape}, {b1.shape}")
    if W2.shape[1] != W1.shape[0]:
        raise ValueError(f"W2 takes inputs of length {W2.shape[1]} but W1 has {W1.shape[0]} outputs")
    return W2 @ W1, W2 @ b1 + b2


def _tuple(value, n: int, name: str) -> Tuple[int, ...]:
    """``value`` (int or sequence of n ints) as an n-tuple of ints."""
    if np.ndim(value) == 0:
        return (int(value),) * n
    out = tuple(int(v) for v in value)
    if len(out) != n:
        raise ValueError(f"{name} must have {n} entries (one per spatial axis), got {len(out)}")
    return out


def _pads(value, n: int) -> Tuple[Tuple[int, int], ...]:
    """Padding as ((begin, end), ...) from an int, n ints (symmetric) or n (begin, end) pairs."""
    if np.ndim(value) == 0:
        p = int(value)
        return ((p, p),) * n
    value = list(value)
    if len(value) != n:
        raise ValueError(f"padding must have {n} entries (one per spatial axis), got {len(value)}")
    out = []
    for v in value:
        if np.ndim(v) == 0:
            out.append((int(v), int(v)))
        else:
            b, e = v
            out.append((int(b), int(e)))
    if any(b < 0 or e < 0 for b, e in out):
        raise ValueError(f"padding must be >= 0, got {out}")
    return tuple(out)


def same_padding(in_spatial: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int], mode: str = "upper") -> Tuple[Tuple[int, int], ...]:
    """Padding that makes the output length ``ceil(L / stride)`` on every spatial axis.

    Parameters
    ----------
    in_spatial, kernel, stride, dilation : sequence of int
        One entry per spatial axis.
    mode : {"upper", "lower"}, optional
        Where an odd total padding puts the extra element: at the end (``"upper"``; ONNX ``SAME_UPPER`` and
        PyTorch's ``padding="same"``) or at the beginning (``"lower"``; ONNX ``SAME_LOWER``).

    Returns
    -------
    tuple of (int, int)
        ``(begin, end)`` per spatial axis.
    """
    if mode not in ("upper", "lower"):
        raise ValueError(f"mode must be 'upper' or 'lower', got {mode!r}")
    out = []
    for L, k, s, d in zip(in_spatial, kernel, stride, dilation):
        total = max((-(-L // s) - 1) * s + d * (k - 1) + 1 - L, 0)
        small, big = total // 2, total - total // 2
        out.append((small, big) if mode == "upper" else (big, small))
    return tuple(out)


def pool_output_size(length: int, kernel: int, stride: int, pad_begin: int, pad_end: int, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling window sliding along one axis.

    Uses PyTorch's rule: ``floor`` (or ``ceil`` with ``ceil_mode``) of
    ``(length + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride`` plus one, and with ``ceil_mode`` the
    last window must start inside the input or the leading padding.

    Raises
    ------
    ValueError
        When the (dilated) window is larger than the padded input, or a parameter is not positive.
    """
    if kernel < 1 or stride < 1 or dilation < 1:
        raise ValueError(f"kernel, stride and dilation must be >= 1, got {kernel}, {stride}, {dilation}")
    num = length + pad_begin + pad_end - dilation * (kernel - 1) - 1
    if num < 0:
        raise ValueError(f"window of size {dilation * (kernel - 1) + 1} does not fit in the padded input of "
                         f"length {length + pad_begin + pad_end}")
    if ceil_mode:
        out = -(-num // stride) + 1
        if (out - 1) * stride >= length + pad_begin:
            out -= 1
    else:
        out = num // stride + 1
    return int(out)


def _window_indices(in_sp: Shape, out_sp: Shape, kernel: Shape, stride: Shape, pads, dilation: Shape) -> np.ndarray:
    """Flat spatial input index of every (kernel offset, output position), -1 where the window is in the padding.

    Returns an int64 array of shape (prod(kernel), prod(out_sp)); kernel offsets in C order.
    """
    nd = len(in_sp)
    grid = np.indices(out_sp).reshape(nd, -1)
    offs = np.indices(kernel).reshape(nd, -1).T
    st = np.array(stride)[:, None]
    pb = np.array([p[0] for p in pads])[:, None]
    dl = np.array(dilation)[:, None]
    lim = np.array(in_sp)[:, None]
    res = np.empty((offs.shape[0], grid.shape[1]), dtype=np.int64)
    for j, off in enumerate(offs):
        pos = grid * st - pb + off[:, None] * dl
        valid = np.all((pos >= 0) & (pos < lim), axis=0)
        flat = np.ravel_multi_index(tuple(np.where(valid, pos, 0)), in_sp) if nd else np.zeros(grid.shape[1], int)
        res[j] = np.where(valid, flat, -1)
    return res


def _spatial_out(in_sp, kernel, stride, pads, dilation, ceil_mode) -> Shape:
    return tuple(pool_output_size(L, k, s, p[0], p[1], d, ceil_mode)
                 for L, k, s, p, d in zip(in_sp, kernel, stride, pads, dilation))


def _finish(T: sp.spmatrix, sparse: bool):
    return T.tocsr() if sparse else T.toarray()


def conv_matrix(weight, bias, in_shape: Sequence[int], stride=1, padding=0, dilation=1, groups: int = 1,
                sparse: bool = False):
    """The affine map of an N-d convolution (cross-correlation, zero padding) on the flattened input.

    Parameters
    ----------
    weight : array_like, shape (O, C // groups, k_1, ..., k_n)
        Filters, laid out like ``torch.nn.Conv2d.weight`` and ONNX ``Conv``'s ``W``.
    bias : array_like, shape (O,), or None
    in_shape : sequence of int
        ``(C, L_1, ..., L_n)``, the input without batch dimension.
    stride, dilation : int or sequence of n int, optional
    padding : int, sequence of n int, or sequence of n (begin, end) pairs, optional
    groups : int, optional
        ``C`` and ``O`` must both be multiples of it.
    sparse : bool, optional
        Return ``W`` as a ``scipy.sparse.csr_matrix`` instead of a dense array.

    Returns
    -------
    W : ndarray or csr_matrix, shape (O * prod(out_spatial), C * prod(in_spatial)), float64
        Rows and columns in the C-order flattening of ``(O, *out_spatial)`` and ``(C, *in_spatial)``.
    b : ndarray, shape (O * prod(out_spatial),), float64
    out_shape : tuple of int
        ``(O, *out_spatial)``.

    Raises
    ------
    ValueError
        When the shapes, groups or window parameters do not fit together.
    """
    weight = np.asarray(weight, dtype=np.float64)
    in_shape = tuple(int(v) for v in in_shape)
    nd = weight.ndim - 2
    if nd < 1 or len(in_shape) != nd + 1:
        raise ValueError(f"a {nd}-d convolution with weight of shape {weight.shape} needs an input of rank {nd + 1} "
                         f"(C, *spatial), got shape {in_shape}")
    O, Cg = weight.shape[:2]
    C = in_shape[0]
    groups = int(groups)
    if groups < 1 or C % groups or O % groups or Cg * groups != C:
        raise ValueError(f"weight of shape {weight.shape} with groups={groups} does not fit an input with {C} "
                         f"channels")
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    pads = _pads(padding, nd)
    kernel = weight.shape[2:]
    in_sp = in_shape[1:]
    out_sp = _spatial_out(in_sp, kernel, stride, pads, dilation, False)
    idx = _window_indices(in_sp, out_sp, kernel, stride, pads, dilation)
    P, Pin = int(np.prod(out_sp)), int(np.prod(in_sp))
    wk = weight.reshape(O, Cg, -1)
    o = np.arange(O)[:, None, None]
    c = np.arange(Cg)[None, :, None]
    rows, cols, vals = [], [], []
    for j in range(idx.shape[0]):
        p = np.nonzero(idx[j] >= 0)[0]
        q = idx[j][p]
        shape = (O, Cg, p.size)
        rows.append(np.broadcast_to(o * P + p, shape).ravel())
        cols.append(np.broadcast_to(((o // (O // groups)) * Cg + c) * Pin + q, shape).ravel())
        vals.append(np.broadcast_to(wk[:, :, j][:, :, None], shape).ravel())
    T = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(O * P, C * Pin))
    if bias is None:
        b = np.zeros(O * P)
    else:
        bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        if bias.shape != (O,):
            raise ValueError(f"bias must have {O} entries, got {bias.shape}")
        b = np.repeat(bias, P)
    return _finish(T, sparse), b, (O,) + out_sp


def _pool_geometry(in_shape, kernel, stride, padding, dilation, ceil_mode):
    """Normalised pooling parameters: (nd, C, in_spatial, out_spatial, kernel, stride, pads, dilation)."""
    in_shape = tuple(int(v) for v in in_shape)
    nd = len(in_shape) - 1
    if nd < 1:
        raise ValueError(f"pooling needs an input of shape (C, *spatial), got {in_shape}")
    kernel = _tuple(kernel, nd, "kernel")
    stride = kernel if stride is None else _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    pads = _pads(padding, nd)
    C, in_sp = in_shape[0], in_shape[1:]
    out_sp = _spatial_out(in_sp, kernel, stride, pads, dilation, ceil_mode)
    return nd, C, in_sp, out_sp, kernel, stride, pads, dilation


def avgpool_matrix(in_shape: Sequence[int], kernel, stride=None, padding=0, ceil_mode: bool = False,
                   count_include_pad: bool = True, divisor_override: Optional[int] = None, sparse: bool = False):
    """The linear map of N-d average pooling on the flattened input.

    Parameters
    ----------
    in_shape : sequence of int
        ``(C, L_1, ..., L_n)``.
    kernel : int or sequence of n int
    stride : int, sequence of n int, or None (= kernel), optional
    padding : int, sequence of n int, or sequence of n (begin, end) pairs, optional
    ceil_mode : bool, optional
    count_include_pad : bool, optional
        Whether zero padding counts in the divisor. As in PyTorch, positions past the end padding (possible with
        ``ceil_mode``) never count.
    divisor_override : int or None, optional
        Fixed divisor (PyTorch ``AvgPool2d(divisor_override=...)``).
    sparse : bool, optional
        Return a ``scipy.sparse.csr_matrix`` instead of a dense array.

    Returns
    -------
    W : ndarray or csr_matrix, shape (C * prod(out_spatial), C * prod(in_spatial)), float64
    out_shape : tuple of int
        ``(C, *out_spatial)``.

    Raises
    ------
    ValueError
        On inconsistent parameters.
    """
    nd, C, in_sp, out_sp, kernel, stride, pads, dil = _pool_geometry(in_shape, kernel, stride, padding, 1,
                                                                      ceil_mode)
    idx = _window_indices(in_sp, out_sp, kernel, stride, pads, dil)
    P, Pin = int(np.prod(out_sp)), int(np.prod(in_sp))
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise ValueError("divisor_override must not be 0")
        div = np.full(P, float(divisor_override))
    elif count_include_pad:
        grid = np.indices(out_sp).reshape(nd, -1)
        div = np.ones(P)
        for a in range(nd):
            start = grid[a] * stride[a] - pads[a][0]
            end = np.minimum(start + kernel[a], in_sp[a] + pads[a][1])
            div *= end - start
    else:
        div = (idx >= 0).sum(axis=0).astype(np.float64)
    if np.any(div <= 0):
        raise ValueError("a pooling window lies entirely in the padding")
    ch = np.arange(C)[:, None]
    rows, cols, vals = [], [], []
    for j in range(idx.shape[0]):
        p = np.nonzero(idx[j] >= 0)[0]
        q = idx[j][p]
        shape = (C, p.size)
        rows.append(np.broadcast_to(ch * P + p, shape).ravel())
        cols.append(np.broadcast_to(ch * Pin + q, shape).ravel())
        vals.append(np.broadcast_to(1.0 / div[p], shape).ravel())
    T = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(C * P, C * Pin))
    return _finish(T, sparse), (C,) + out_sp


def maxpool_windows(in_shape: Sequence[int], kernel, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
    """The input elements each max-pooling output takes the maximum over (padding excluded).

    Parameters
    ----------
    in_shape : sequence of int
        ``(C, L_1, ..., L_n)``.
    kernel, dilation : int or sequence of n int
    stride : int, sequence of n int, or None (= kernel), optional
    padding : int, sequence of n int, or sequence of n (begin, end) pairs, optional
    ceil_mode : bool, optional

    Returns
    -------
    windows : ndarray, shape (C * prod(out_spatial), prod(kernel)), int64
        Row ``i`` lists the flat input indices of output ``i``'s window in kernel (C) order, valid entries first,
        then ``-1`` for window positions in the padding.
    counts : ndarray, shape (C * prod(out_spatial),), int64
        Number of valid entries of each row (the number of pieces of the unit).
    out_shape : tuple of int
        ``(C, *out_spatial)``.

    Raises
    ------
    ValueError
        On inconsistent parameters or when a window lies entirely in the padding.
    """
    nd, C, in_sp, out_sp, kernel, stride, pads, dilation = _pool_geometry(in_shape, kernel, stride, padding,
                                                                           dilation, ceil_mode)
    idx = _window_indices(in_sp, out_sp, kernel, stride, pads, dilation).T  # (P, K)
    Pin = int(np.prod(in_sp))
    valid = idx >= 0
    counts1 = valid.sum(axis=1)
    if np.any(counts1 == 0):
        raise ValueError("a max-pooling window lies entirely in the padding")
    order = np.argsort(~valid, axis=1, kind="stable")  # valid entries first, kernel order kept
    idx = np.take_along_axis(idx, order, axis=1)
    win = np.where(idx[None] >= 0, idx[None] + (np.arange(C) * Pin)[:, None, None], -1)
    return win.reshape(-1, idx.shape[1]), np.tile(counts1, C), (C,) + out_sp


def pad_index(shape: Sequence[int], pads, mode: str = "constant") -> np.ndarray:
    """Flat input index of every element of a padded (or cropped) tensor, ``-1`` where the padding value goes.

    Parameters
    ----------
    shape : sequence of int
        The input shape (no batch axis).
    pads : sequence of (int, int)
        ``(begin, end)`` per axis of ``shape``; negative entries crop (as in ONNX ``Pad``).
    mode : {"constant", "reflect", "edge", "wrap"}, optional
        As :func:`numpy.pad` (``"reflect"`` mirrors without repeating the edge: PyTorch's ``ReflectionPad``;
        ``"edge"``: ``ReplicationPad``; ``"wrap"``: ``CircularPad``). Cropping and non-constant padding cannot be
        mixed on one axis.

    Returns
    -------
    ndarray of int64, the padded shape

    Raises
    ------
    ValueError
        On a wrong number of pads, an unknown mode, a crop larger than the axis, or a reflection longer than the
        axis allows.

    Examples
    --------
    >>> pad_index((3,), [(1, 2)]).tolist(), pad_index((3,), [(2, 0)], "reflect").tolist()
    ([-1, 0, 1, 2, -1, -1], [2, 1, 0, 1, 2])
    """
    shape = tuple(int(v) for v in shape)
    pads = [(int(b), int(e)) for b, e in pads]
    if len(pads) != len(shape):
        raise ValueError(f"pads must have one (begin, end) pair per axis of shape {shape}, got {len(pads)}")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise ValueError(f"padding mode must be 'constant', 'reflect', 'edge' or 'wrap', got {mode!r}")
    idx = np.arange(_size(shape), dtype=np.int64).reshape(shape)
    crop = tuple(slice(max(-b, 0), n - max(-e, 0)) for (b, e), n in zip(pads, shape))
    if any(max(-b, 0) + max(-e, 0) >= n for (b, e), n in zip(pads, shape)):
        raise ValueError(f"pads {pads} crop away every element of an axis of shape {shape}")
    if mode != "constant" and any((b < 0 < e) or (e < 0 < b) for b, e in pads):
        raise ValueError(f"pads {pads} mix cropping and {mode!r} padding on one axis")
    idx = idx[crop]
    width = [(max(b, 0), max(e, 0)) for b, e in pads]
    if mode == "reflect" and any(max(w) >= n for w, n in zip(width, idx.shape) if max(w) > 0):
        raise ValueError(f"reflect padding {pads} needs every padded axis longer than its padding (shape {shape})")
    if mode == "constant":
        return np.pad(idx, width, mode="constant", constant_values=-1)
    return np.pad(idx, width, mode=mode)


def slice_index(shape: Sequence[int], starts, ends, axes=None, steps=None) -> np.ndarray:
    """Flat input index of every element of a slice (ONNX ``Slice`` semantics, with clamping).

    Parameters
    ----------
    shape : sequence of int
        The input shape (no batch axis).
    starts, ends : sequence of int
        Negative values count from the end; out-of-range values are clamped (``ends`` may be huge, as
        ``INT64_MAX`` in exported models).
    axes : sequence of int or None, optional
        Axes of ``shape`` the entries refer to (default ``0, 1, ...``); negative values count from the end.
    steps : sequence of int or None, optional
        Non-zero; negative steps walk backwards.

    Returns
    -------
    ndarray of int64, the sliced shape

    Raises
    ------
    ValueError
        On lengths that differ, a zero step, a repeated axis, or an empty result.

    Examples
    --------
    >>> slice_index((5,), [1], [100]).tolist(), slice_index((5,), [-1], [-10**9], steps=[-2]).tolist()
    ([1, 2, 3, 4], [4, 2, 0])
    """
    shape = tuple(int(v) for v in shape)
    starts, ends = [int(v) for v in starts], [int(v) for v in ends]
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes]
    steps = [1] * len(starts) if steps is None else [int(v) for v in steps]
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ValueError(f"starts, ends, axes and steps must have the same length, got {len(starts)}, {len(ends)}, "
                         f"{len(axes)}, {len(steps)}")
    axes = [a + len(shape) if a < 0 else a for a in axes]
    if any(not 0 <= a < len(shape) for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"axes {axes} are out of range or repeated for shape {shape}")
    sl = [slice(None)] * len(shape)
    for a, b, e, st in zip(axes, starts, ends, steps):
        n = shape[a]
        if st == 0:
            raise ValueError("slice steps must not be 0")
        b = b + n if b < 0 else b
        e = e + n if e < 0 else e
        if st > 0:
            sl[a] = slice(min(max(b, 0), n), min(max(e, 0), n), st)
        else:
            b, e = min(max(b, 0), n - 1), min(max(e, -1), n - 1)
            sl[a] = slice(b, None if e == -1 else e, st)
    out = np.arange(_size(shape), dtype=np.int64).reshape(shape)[tuple(sl)]
    if out.size == 0:
        raise ValueError(f"the slice of shape {shape} is empty")
    return out


def _windows_from_lists(rows: List[np.ndarray], out_shape: Shape) -> np.ndarray:
    """Window rows of different lengths as one int64 array ``out_shape + (K,)``, padded with -1."""
    K = max(len(r) for r in rows)
    win = np.full((len(rows), K), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        win[i, :len(r)] = r
    return win.reshape(tuple(out_shape) + (K,))


def adaptive_windows(in_shape: Sequence[int], output_size) -> np.ndarray:
    """The windows of adaptive pooling (PyTorch ``AdaptiveAvgPool*d`` / ``AdaptiveMaxPool*d``).

    Output position ``i`` of an axis of length ``L`` pools the input positions
    ``floor(i L / n) <= j < ceil((i + 1) L / n)`` (``n`` the output length), PyTorch's rule.

    Parameters
    ----------
    in_shape : sequence of int
        ``(C, L_1, ..., L_n)``.
    output_size : int or sequence of n int (None keeps an axis)

    Returns
    -------
    ndarray of int64, shape ``(C, *out_spatial, K)``
        Flat input indices of every output's window in C order, ``-1`` padded to the longest window ``K``.

    Examples
    --------
    >>> adaptive_windows((1, 5), 3)[0].tolist()
    [[0, 1, -1], [1, 2, 3], [3, 4, -1]]
    """
    in_shape = tuple(int(v) for v in in_shape)
    nd = len(in_shape) - 1
    if nd < 1:
        raise ValueError(f"adaptive pooling needs an input of shape (C, *spatial), got {in_shape}")
    sizes = [output_size] * nd if np.ndim(output_size) == 0 else list(output_size)
    if len(sizes) != nd:
        raise ValueError(f"output_size must have {nd} entries, got {len(sizes)}")
    sizes = [L if o is None else int(o) for o, L in zip(sizes, in_shape[1:])]
    if any(o < 1 for o in sizes):
        raise ValueError(f"output_size must be positive, got {sizes}")
    ranges = [[np.arange((i * L) // o, -(-((i + 1) * L) // o)) for i in range(o)] for o, L in zip(sizes, in_shape[1:])]
    idx = np.arange(_size(in_shape), dtype=np.int64).reshape(in_shape)
    rows = []
    for c in range(in_shape[0]):
        for pos in np.ndindex(*sizes):
            rows.append(idx[(c,) + np.ix_(*[ranges[a][p] for a, p in enumerate(pos)])].ravel())
    return _windows_from_lists(rows, (in_shape[0],) + tuple(sizes))


def reduce_windows(shape: Sequence[int], axes, keepdims: bool = True) -> np.ndarray:
    """The windows of a reduction over ``axes`` (ONNX ``ReduceMax``, ``GlobalMaxPool``, ...).

    Parameters
    ----------
    shape : sequence of int
        The input shape (no batch axis).
    axes : sequence of int
        Axes of ``shape`` to reduce (negative values count from the end).
    keepdims : bool, optional
        Keep the reduced axes with length 1.

    Returns
    -------
    ndarray of int64, shape ``out_shape + (K,)`` with ``K`` the number of elements reduced per output

    Examples
    --------
    >>> reduce_windows((2, 3), [1], keepdims=False).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    shape = tuple(int(v) for v in shape)
    axes = sorted({int(a) + len(shape) if int(a) < 0 else int(a) for a in axes})
    if any(not 0 <= a < len(shape) for a in axes) or not axes:
        raise ValueError(f"reduction axes {axes} are empty or out of range for shape {shape}")
    kept = [a for a in range(len(shape)) if a not in axes]
    K = _size(tuple(shape[a] for a in axes))
    idx = np.arange(_size(shape), dtype=np.int64).reshape(shape).transpose(kept + axes)
    out = tuple(1 if a in axes else shape[a] for a in range(len(shape))) if keepdims else tuple(shape[a] for a in kept)
    return idx.reshape(out + (K,))


def group_windows(shape: Sequence[int], counts) -> np.ndarray:
    """Windows of consecutive groups along the last axis (maxout): group ``j`` takes ``counts[j]`` elements.

    Parameters
    ----------
    shape : sequence of int
        The input shape; ``shape[-1] == sum(counts)``.
    counts : sequence of int
        Group sizes, each >= 1.

    Returns
    -------
    ndarray of int64, shape ``shape[:-1] + (len(counts), max(counts))``, ``-1`` padded

    Examples
    --------
    >>> group_windows((5,), [2, 3]).tolist()
    [[0, 1, -1], [2, 3, 4]]
    """
    shape = tuple(int(v) for v in shape)
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    if counts.size == 0 or np.any(counts < 1) or not shape or int(counts.sum()) != shape[-1]:
        raise ValueError(f"group sizes {counts.tolist()} must be >= 1 and sum to the last axis of shape {shape}")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    K = int(counts.max())
    r = np.arange(K)
    one = np.where(r[None, :] < counts[:, None], starts[:, None] + r[None, :], -1)  # (G, K)
    lead = _size(shape[:-1])
    base = (np.arange(lead) * shape[-1])[:, None, None]
    win = np.where(one[None] >= 0, one[None] + base, -1)
    return win.reshape(shape[:-1] + (counts.size, K))


# ====================================================================================== the intermediate graph
class Op(NamedTuple):
    """One operation of a :class:`Graph`.

    Attributes
    ----------
    kind : str
        One of :data:`AFFINE_KINDS` or :data:`NONLINEAR_KINDS` (see the module documentation).
    inputs : tuple of str
        Names of the input values.
    output : str
        Name of the output value.
    params : dict
        Normalised parameters (see the module documentation).
    origin : str
        Where the operation comes from, for error messages (e.g. ``"node 3 'conv1' (Conv)"``).
    """

    kind: str
    inputs: Tuple[str, ...]
    output: str
    params: dict
    origin: str


def _farr(value, name: str) -> np.ndarray:
    arr = np.array(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _size(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _prep_dense(shapes, p):
    (s,) = shapes
    W = _farr(p["W"], "W")
    if W.ndim != 2:
        raise ValueError(f"weight must be a matrix, got shape {W.shape}")
    if len(s) < 1 or s[-1] != W.shape[1]:
        raise ValueError(f"weight of shape {W.shape} takes vectors of length {W.shape[1]} on the last axis, but "
                         f"the input has shape {s}")
    b = p.get("b")
    if b is not None:
        b = _farr(b, "bias")
        if b.size != W.shape[0]:
            raise ValueError(f"bias must have {W.shape[0]} entries, got shape {b.shape}")
        b = b.reshape(-1)
    return {"W": W, "b": b}, s[:-1] + (W.shape[0],)


def _prep_conv(shapes, p):
    (s,) = shapes
    weight = _farr(p["weight"], "weight")
    nd = weight.ndim - 2
    if nd < 1:
        raise ValueError(f"convolution weight must have rank >= 3, got shape {weight.shape}")
    if len(s) != nd + 1:
        raise ValueError(f"a {nd}-d convolution needs an input of shape (C, *spatial) with {nd} spatial axes, "
                         f"got shape {s}")
    groups = int(p.get("groups", 1))
    if groups < 1 or s[0] % groups or weight.shape[0] % groups or weight.shape[1] * groups != s[0]:
        raise ValueError(f"weight of shape {weight.shape} (groups={groups}) does not fit an input with {s[0]} "
                         f"channels (shape {s})")
    q = {"weight": weight, "bias": None if p.get("bias") is None else _farr(p["bias"], "bias").reshape(-1),
         "stride": _tuple(p.get("stride", 1), nd, "stride"), "pads": _pads(p.get("pads", 0), nd),
         "dilation": _tuple(p.get("dilation", 1), nd, "dilation"), "groups": groups}
    if q["bias"] is not None and q["bias"].shape != (weight.shape[0],):
        raise ValueError(f"bias must have {weight.shape[0]} entries, got {q['bias'].shape}")
    out = _spatial_out(s[1:], weight.shape[2:], q["stride"], q["pads"], q["dilation"], False)
    return q, (weight.shape[0],) + out


def _prep_pool(shapes, p, kind):
    (s,) = shapes
    nd = len(s) - 1
    if nd < 1:
        raise ValueError(f"pooling needs an input of shape (C, *spatial), got shape {s}")
    kernel = _tuple(p["kernel"], nd, "kernel")
    q = {"kernel": kernel, "stride": kernel if p.get("stride") is None else _tuple(p["stride"], nd, "stride"),
         "pads": _pads(p.get("pads", 0), nd), "ceil_mode": bool(p.get("ceil_mode", False))}
    if kind == "maxpool":
        q["dilation"] = _tuple(p.get("dilation", 1), nd, "dilation")
        if int(np.prod(kernel)) > 127:
            raise ValueError(f"max-pooling window of {int(np.prod(kernel))} elements exceeds the limit of 127 "
                             f"pieces per unit")
    else:
        q["count_include_pad"] = bool(p.get("count_include_pad", True))
        div = p.get("divisor")
        q["divisor"] = None if div is None else int(div)
    out = _spatial_out(s[1:], kernel, q["stride"], q["pads"], q.get("dilation", (1,) * nd), q["ceil_mode"])
    return q, (s[0],) + out


def _prep_scale(shapes, p):
    (s,) = shapes
    q = {}
    shapes_b = [s]
    for key in ("mul", "add"):
        v = p.get(key)
        q[key] = None if v is None else _farr(v, key)
        if q[key] is not None:
            shapes_b.append(q[key].shape)
    try:
        out = tuple(np.broadcast_shapes(*shapes_b))
    except ValueError:
        raise ValueError(f"constants of shapes {shapes_b[1:]} do not broadcast with the input of shape {s}") from None
    return q, out


def _prep_reshape(shapes, p):
    (s,) = shapes
    target = [int(v) for v in p["shape"]]
    n = _size(s)
    if sum(v == -1 for v in target) > 1 or any(v < -1 for v in target):
        raise ValueError(f"invalid target shape {tuple(target)}")
    if -1 in target:
        rest = _size(tuple(v for v in target if v != -1))
        if rest == 0 or n % rest:
            raise ValueError(f"cannot reshape a tensor of shape {s} ({n} elements) to {tuple(target)}")
        target[target.index(-1)] = n // rest
    if _size(tuple(target)) != n:
        raise ValueError(f"cannot reshape a tensor of shape {s} ({n} elements) to {tuple(target)}")
    return {"shape": tuple(target)}, tuple(target)


def _prep_transpose(shapes, p):
    (s,) = shapes
    perm = tuple(int(v) for v in p["perm"])
    if sorted(perm) != list(range(len(s))):
        raise ValueError(f"perm {perm} is not a permutation of the {len(s)} axes of shape {s}")
    return {"perm": perm}, tuple(s[a] for a in perm)


def _prep_sum(shapes, p):
    coefs = tuple(float(c) for c in p.get("coefs", (1.0,) * len(shapes)))
    if len(coefs) != len(shapes) or not shapes:
        raise ValueError(f"sum needs one coefficient per input, got {len(coefs)} for {len(shapes)} inputs")
    try:
        out = tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"shapes {list(shapes)} do not broadcast together") from None
    return {"coefs": coefs}, out


def _prep_act(shapes, p):
    (s,) = shapes
    kind = p["kind"]
    if kind not in ("relu", "leaky_relu", "abs"):
        raise ValueError(f"unknown activation {kind!r}")
    alpha = np.array(p.get("alpha", 0.01), dtype=np.float64)
    if not np.all(np.isfinite(alpha)):
        raise ValueError(f"negative slope must be finite, got {alpha}")
    try:
        ok = tuple(np.broadcast_shapes(alpha.shape, s)) == tuple(s)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"negative slopes of shape {alpha.shape} do not broadcast to the input of shape {s}")
    return {"kind": kind, "alpha": float(alpha) if alpha.ndim == 0 else alpha}, s


def _prep_linear(shapes, p):
    (s,) = shapes
    out = tuple(int(v) for v in p["shape"])
    T = sp.csr_matrix(p["T"], dtype=np.float64)
    if T.shape != (_size(out), _size(s)):
        raise ValueError(f"matrix of shape {T.shape} does not map the input of shape {s} to shape {out}")
    t = None if p.get("t") is None else _farr(p["t"], "offset").reshape(-1)
    if t is not None and t.shape != (_size(out),):
        raise ValueError(f"offset must have {_size(out)} entries, got {t.shape}")
    if not np.all(np.isfinite(T.data)):
        raise ValueError("matrix contains NaN or infinite values")
    return {"T": T, "t": t, "shape": out}, out


def _prep_concat(shapes, p):
    r = len(shapes[0])
    axis = int(p["axis"])
    axis = axis + r if axis < 0 else axis
    if not 0 <= axis < r or any(len(t) != r for t in shapes):
        raise ValueError(f"cannot concatenate shapes {list(shapes)} along axis {p['axis']}")
    if any(t[:axis] + t[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:] for t in shapes):
        raise ValueError(f"shapes {list(shapes)} differ off the concatenation axis {axis}")
    out = shapes[0][:axis] + (sum(t[axis] for t in shapes),) + shapes[0][axis + 1:]
    return {"axis": axis}, out


def _sign(p) -> int:
    sign = int(p.get("sign", 1))
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 (maximum) or -1 (minimum), got {p.get('sign')}")
    return sign


def _prep_maxsel(shapes, p):
    (s,) = shapes
    win = np.asarray(p["windows"])
    if not np.issubdtype(win.dtype, np.integer) or win.ndim < 1:
        raise ValueError("windows must be an integer array of shape out_shape + (K,)")
    win = win.astype(np.int64)
    if np.any(win < -1) or np.any(win >= _size(s)):
        raise ValueError(f"windows name elements outside the input of shape {s}")
    counts = (win >= 0).sum(axis=-1)
    if np.any(counts == 0):
        raise ValueError("a max window is empty")
    if np.any(counts > 127):
        raise ValueError(f"max window of {int(counts.max())} elements exceeds the limit of 127 pieces per unit")
    return {"windows": win, "sign": _sign(p)}, win.shape[:-1]


def _prep_max(shapes, p):
    if len(shapes) > 127:
        raise ValueError(f"an elementwise max of {len(shapes)} inputs exceeds the limit of 127 pieces per unit")
    try:
        out = tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"shapes {list(shapes)} do not broadcast together") from None
    return {"sign": _sign(p)}, out


def _prep_clamp(shapes, p):
    (s,) = shapes
    lo, hi = float(p.get("lo", -np.inf)), float(p.get("hi", np.inf))
    if np.isnan(lo) or np.isnan(hi) or lo > hi or lo == np.inf or hi == -np.inf:
        raise ValueError(f"clamp bounds must satisfy lo <= hi with lo < inf and hi > -inf, got [{lo}, {hi}]")
    return {"lo": lo, "hi": hi}, s


_PREPARE = {
    "dense": _prep_dense,
    "conv": _prep_conv,
    "avgpool": lambda sh, p: _prep_pool(sh, p, "avgpool"),
    "maxpool": lambda sh, p: _prep_pool(sh, p, "maxpool"),
    "scale": _prep_scale,
    "reshape": _prep_reshape,
    "transpose": _prep_transpose,
    "sum": _prep_sum,
    "act": _prep_act,
    "clamp": _prep_clamp,
    "linear": _prep_linear,
    "concat": _prep_concat,
    "maxsel": _prep_maxsel,
    "max": _prep_max,
}


class Graph:
    """A piecewise-affine computation on one input tensor, in the operator kinds of this module.

    Parameters
    ----------
    input_shape : sequence of int
        Shape of the input without batch dimension; every entry >= 1.

    Attributes
    ----------
    input : str
        Name of the input value.
    ops : list of Op
        The operations in a topological order (every input is defined by an earlier operation or is the input).
    output : str or None
        Name of the output value; set it before calling :func:`lower`.

    Raises
    ------
    ModelFormatError
        When ``input_shape`` is not a tuple of positive ints.

    Examples
    --------
    >>> import numpy as np
    >>> g = Graph((2,))
    >>> h = g.add("dense", [g.input], "layer 0", W=np.eye(2), b=np.array([0.0, -1.0]))
    >>> g.output = g.add("act", [h], "relu 0", kind="relu")
    >>> lower(g)(np.array([[3.0, 3.0]])).tolist()
    [[3.0, 2.0]]
    """

    def __init__(self, input_shape: Sequence[int]):
        try:
            shape = tuple(int(v) for v in input_shape)
        except (TypeError, ValueError):
            raise ModelFormatError(f"input shape must be a sequence of ints, got {input_shape!r}") from None
        if any(v < 1 for v in shape):
            raise ModelFormatError(f"input shape must have positive entries, got {shape}")
        self.input = "%0"
        self.ops: List[Op] = []
        self._shapes: Dict[str, Shape] = {self.input: shape}
        self.output: Optional[str] = None

    def shape(self, name: str) -> Shape:
        """Shape (without batch dimension) of value ``name``."""
        return self._shapes[name]

    def add(self, kind: str, inputs: Sequence[str], origin: str, /, **params) -> str:
        """Append an operation and return the name of its output value.

        Parameters
        ----------
        kind : str
            One of :data:`AFFINE_KINDS` or :data:`NONLINEAR_KINDS`.
        inputs : sequence of str
            Names of existing values (one, except for :data:`MULTI_INPUT_KINDS`).
        origin : str
            Human-readable source of the operation, used in error messages.
        **params
            The kind's parameters (see the module documentation).

        Returns
        -------
        str
            Name of the new value.

        Raises
        ------
        ModelFormatError
            When the parameters are invalid or do not fit the input shapes; the message starts with ``origin``.
        """
        if kind not in _PREPARE:
            raise ValueError(f"unknown operation kind {kind!r}")
        inputs = tuple(inputs)
        if (kind not in MULTI_INPUT_KINDS and len(inputs) != 1) or not inputs:
            raise ValueError(f"{kind} takes one input, got {len(inputs)}")
        for name in inputs:
            if name not in self._shapes:
                raise ValueError(f"{origin}: input {name!r} is not a value of this graph")
        try:
            q, out_shape = _PREPARE[kind]([self._shapes[n] for n in inputs], params)
        except ValueError as exc:
            raise ModelFormatError(f"{origin}: {exc}") from None
        if _size(out_shape) < 1:
            raise ModelFormatError(f"{origin}: output shape {out_shape} is empty")
        name = f"%{len(self.ops) + 1}"
        self.ops.append(Op(kind, inputs, name, q, origin))
        self._shapes[name] = tuple(int(v) for v in out_shape)
        return name

    def batchnorm(self, x: str, origin: str, mean, var, weight=None, bias=None, eps: float = 1e-5) -> str:
        """Append inference-mode batch normalisation over axis 0 (channels) of value ``x``.

        ``y = weight * (x - mean) / sqrt(var + eps) + bias`` per channel, as a ``"scale"`` operation.

        Parameters
        ----------
        x : str
            A value of shape ``(C, ...)``.
        origin : str
        mean, var : array_like, shape (C,)
        weight, bias : array_like, shape (C,), or None (1 and 0)
        eps : float

        Returns
        -------
        str

        Raises
        ------
        ModelFormatError
            When the statistics do not have one entry per channel or ``var + eps <= 0``.
        """
        s = self.shape(x)
        C = s[0] if s else 0
        arrs = []
        for nm, v, default in (("mean", mean, 0.0), ("var", var, 1.0), ("weight", weight, 1.0),
                               ("bias", bias, 0.0)):
            a = np.full(C, default) if v is None else np.asarray(v, dtype=np.float64).reshape(-1)
            if a.shape != (C,) or not s:
                raise ModelFormatError(f"{origin}: {nm} has {a.size} entries but the input of shape {s} has "
                                       f"{C} channels on axis 1 (after the batch axis)")
            arrs.append(a)
        mean, var, weight, bias = arrs
        if np.any(var + eps <= 0):
            raise ModelFormatError(f"{origin}: var + eps must be positive")
        mul = weight / np.sqrt(var + float(eps))
        add = bias - mean * mul
        bshape = (C,) + (1,) * (len(s) - 1)
        return self.add("scale", [x], origin, mul=mul.reshape(bshape), add=add.reshape(bshape))


    def gather(self, x: str, origin: str, index, fill: float = 0.0) -> str:
        """Append a selection ``y[j] = x[index[j]]`` (``fill`` where ``index[j] == -1``), as a ``"linear"`` op.

        Parameters
        ----------
        x : str
        origin : str
        index : array_like of int
            Flat indices into ``x`` (its C-order flattening), of the output's shape (see :func:`pad_index`,
            :func:`slice_index`).
        fill : float, optional
            The constant at ``-1`` entries (a padding value).

        Returns
        -------
        str
        """
        index = np.asarray(index, dtype=np.int64)
        flat = index.ravel()
        rows = np.nonzero(flat >= 0)[0]
        T = sp.csr_matrix((np.ones(rows.size), (rows, flat[rows])), shape=(flat.size, _size(self.shape(x))))
        t = np.where(flat >= 0, 0.0, float(fill))
        return self.add("linear", [x], origin, T=T, t=t if np.any(t) else None, shape=index.shape)

    def window_reduce(self, x: str, origin: str, windows, reduce: str) -> str:
        """Append a reduction over windows of ``x``: ``"max"``, ``"min"`` (MASO units), ``"mean"`` or ``"sum"``.

        Parameters
        ----------
        x : str
        origin : str
        windows : array_like of int, shape ``out_shape + (K,)``
            Flat indices into ``x``, ``-1`` for unused slots (:func:`adaptive_windows`, :func:`reduce_windows`,
            :func:`group_windows`).
        reduce : {"max", "min", "mean", "sum"}

        Returns
        -------
        str
        """
        windows = np.asarray(windows, dtype=np.int64)
        if reduce in ("max", "min"):
            return self.add("maxsel", [x], origin, windows=windows, sign=1 if reduce == "max" else -1)
        if reduce not in ("mean", "sum"):
            raise ValueError(f"reduce must be 'max', 'min', 'mean' or 'sum', got {reduce!r}")
        W = windows.reshape(-1, windows.shape[-1])
        valid = W >= 0
        counts = valid.sum(axis=1)
        if np.any(counts == 0):
            raise ModelFormatError(f"{origin}: a pooling window is empty")
        r, k = np.nonzero(valid)
        vals = np.ones(r.size) if reduce == "sum" else 1.0 / counts[r]
        T = sp.csr_matrix((vals, (r, W[r, k])), shape=(W.shape[0], _size(self.shape(x))))
        return self.add("linear", [x], origin, T=T, t=None, shape=windows.shape[:-1])


# ====================================================================================== lowering
def _broadcast_select(in_shape: Shape, out_shape: Shape) -> sp.csr_matrix:
    """0/1 matrix (size(out), size(in)) of NumPy broadcasting ``in_shape`` to ``out_shape``."""
    n_in, n_out = _size(in_shape), _size(out_shape)
    idx = np.broadcast_to(np.arange(n_in).reshape(in_shape), out_shape).ravel()
    return sp.csr_matrix((np.ones(n_out), (np.arange(n_out), idx)), shape=(n_out, n_in))


def _affine_maps(op: Op, in_shapes: List[Shape], out_shape: Shape):
    """Matrices T_i (sparse, size(out) x size(in_i)) and offset t with ``out = sum_i T_i in_i + t``."""
    p = op.params
    n_out = _size(out_shape)
    zero = np.zeros(n_out)
    if op.kind == "dense":
        lead = _size(in_shapes[0][:-1])
        T = sp.kron(sp.identity(lead, format="csr"), sp.csr_matrix(p["W"]), format="csr")
        t = zero if p["b"] is None else np.tile(p["b"], lead)
        return [T], t
    if op.kind == "conv":
        T, t, _ = conv_matrix(p["weight"], p["bias"], in_shapes[0], p["stride"], p["pads"], p["dilation"],
                              p["groups"], sparse=True)
        return [T], t
    if op.kind == "avgpool":
        T, _ = avgpool_matrix(in_shapes[0], p["kernel"], p["stride"], p["pads"], p["ceil_mode"],
                              p["count_include_pad"], p["divisor"], sparse=True)
        return [T], zero
    if op.kind == "scale":
        T = _broadcast_select(in_shapes[0], out_shape)
        if p["mul"] is not None:
            T = sp.diags(np.broadcast_to(p["mul"], out_shape).ravel()) @ T
        t = zero if p["add"] is None else np.broadcast_to(p["add"], out_shape).ravel().astype(np.float64)
        return [sp.csr_matrix(T)], t
    if op.kind == "reshape":
        return [sp.identity(n_out, format="csr")], zero
    if op.kind == "transpose":
        idx = np.arange(n_out).reshape(in_shapes[0]).transpose(p["perm"]).ravel()
        return [sp.csr_matrix((np.ones(n_out), (np.arange(n_out), idx)), shape=(n_out, n_out))], zero
    if op.kind == "sum":
        return [c * _broadcast_select(s, out_shape) for c, s in zip(p["coefs"], in_shapes)], zero
    if op.kind == "linear":
        return [p["T"]], zero if p["t"] is None else p["t"]
    if op.kind == "concat":
        out_idx = np.arange(n_out).reshape(out_shape)
        Ts, off, ax = [], 0, p["axis"]
        for s in in_shapes:
            rows = np.take(out_idx, np.arange(off, off + s[ax]), axis=ax).ravel()
            Ts.append(sp.csr_matrix((np.ones(rows.size), (rows, np.arange(rows.size))), shape=(n_out, rows.size)))
            off += s[ax]
        return Ts, zero
    raise AssertionError(op.kind)  # pragma: no cover


def _slopes(kind: str, alpha: float = 0.01) -> np.ndarray:
    """Piece slopes of a scalar unit kind, in the piece order :class:`relutope.Layer` uses."""
    return Layer.affine(np.ones((1, 1)), np.zeros(1), kind, alpha).A[:, 0].copy()


def _dense(M) -> np.ndarray:
    return M.toarray() if sp.issparse(M) else np.asarray(M)


def _shift_columns(E: sp.spmatrix, offset: int, n_cols: int) -> sp.csr_matrix:
    """``E`` placed at columns ``offset:offset + E.shape[1]`` of a matrix with ``n_cols`` columns."""
    E = sp.csr_matrix(E)
    return sp.csr_matrix((E.data, E.indices + offset, E.indptr), shape=(E.shape[0], n_cols))


def _scalar_units(M, v: np.ndarray, kind: str, alpha: float = 0.01):
    """Units ``kind(M @ s + v)`` (one per row; M dense or sparse), as (A, c, n_pieces)."""
    s = _slopes(kind, alpha)
    M = _dense(M)
    A = (s[None, :, None] * M[:, None, :]).reshape(-1, M.shape[1])
    c = (s[None, :] * v[:, None]).ravel()
    return A, c, np.full(M.shape[0], s.size, dtype=np.int32)


def _leaky_units(M, v: np.ndarray, alpha: np.ndarray):
    """Units of ``z if z >= 0 else alpha_i z`` per element (any finite alphas): (A, c, n_pieces, E, e).

    ``alpha < 1``: pieces ``(alpha z, z)``; ``alpha > 1``: ``-alpha * max(u / alpha, u)`` with ``u = -z``;
    ``alpha == 1``: one identity piece.
    """
    M = _dense(M)
    n = M.shape[0]
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (n,))
    hi, one = a > 1.0, a == 1.0
    sgn = np.where(hi, -1.0, 1.0)
    s0 = np.where(hi, 1.0 / np.where(hi, a, 1.0), a)
    Mb, vb = M * sgn[:, None], v * sgn  # -M exactly where alpha > 1
    A3 = np.stack([s0[:, None] * Mb, Mb], axis=1)
    c2 = np.stack([s0 * vb, vb], axis=1)
    keep = np.ones((n, 2), dtype=bool)
    keep[one, 0] = False
    E = sp.diags(np.where(hi, -a, 1.0), format="csr")
    return A3[keep], c2[keep], np.where(one, 1, 2).astype(np.int32), E, np.zeros(n)


def _units(op: Op, in_shapes: List[Shape], exprs: List[Tuple[sp.csr_matrix, np.ndarray]]):
    """Units of a nonlinear op on inputs ``M_i @ s + v_i``: (A, c, n_pieces, E, e) with ``out = E @ units + e``."""
    p = op.params
    in_shape = in_shapes[0]
    M, v = exprs[0]
    n = M.shape[0]
    I = sp.identity(n, format="csr")
    zero = np.zeros(n)
    if op.kind == "max":
        sign = float(p["sign"])
        out_shape = tuple(np.broadcast_shapes(*in_shapes))
        n_out = _size(out_shape)
        blocks = []
        for s, (Mi, vi) in zip(in_shapes, exprs):
            idx = np.broadcast_to(np.arange(_size(s)).reshape(s), out_shape).ravel()
            blocks.append((sign * _dense(Mi)[idx], sign * vi[idx]))
        A = np.stack([b[0] for b in blocks], axis=1).reshape(n_out * len(blocks), -1)
        c = np.stack([b[1] for b in blocks], axis=1).ravel()
        return (A, c, np.full(n_out, len(blocks), dtype=np.int32), sign * sp.identity(n_out, format="csr"),
                np.zeros(n_out))
    if op.kind == "maxsel":
        sign = float(p["sign"])
        win = p["windows"].reshape(-1, p["windows"].shape[-1])
        flat = win[win >= 0]  # row-major: unit by unit, valid entries in window order
        n_out = win.shape[0]
        return (sign * _dense(M[flat]), sign * v[flat], (win >= 0).sum(axis=1).astype(np.int32),
                sign * sp.identity(n_out, format="csr"), np.zeros(n_out))
    if op.kind == "act":
        kind, alpha = p["kind"], p["alpha"]
        if kind == "leaky_relu":
            return _leaky_units(M, v, np.broadcast_to(alpha, in_shape).ravel())
        return _scalar_units(M, v, kind, 0.01) + (I, zero)
    if op.kind == "clamp":
        lo, hi = p["lo"], p["hi"]
        if np.isfinite(lo) and np.isfinite(hi):  # lo + relu(z - lo) - relu(z - hi)
            A, c, k = _scalar_units(sp.vstack([M, M]), np.concatenate([v - lo, v - hi]), "relu")
            return A, c, k, sp.hstack([I, -I], format="csr"), np.full(n, lo)
        if np.isfinite(lo):  # lo + relu(z - lo)
            return _scalar_units(M, v - lo, "relu") + (I, np.full(n, lo))
        if np.isfinite(hi):  # hi - relu(hi - z)
            return _scalar_units(-M, hi - v, "relu") + (-I, np.full(n, hi))
        return _scalar_units(M, v, "identity") + (I, zero)
    if op.kind == "maxpool":
        win, counts, _ = maxpool_windows(in_shape, p["kernel"], p["stride"], p["pads"], p["dilation"],
                                         p["ceil_mode"])
        flat = win[win >= 0]  # row-major: unit by unit, valid pieces in kernel order
        n_out = counts.size
        return (_dense(M[flat]), v[flat], counts.astype(np.int32), sp.identity(n_out, format="csr"),
                np.zeros(n_out))
    raise AssertionError(op.kind)  # pragma: no cover


def _prune(graph: Graph) -> List[Op]:
    """The ops the output depends on, in graph order."""
    producer = {op.output: op for op in graph.ops}
    needed, stack = set(), [graph.output]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in producer:
            stack.extend(producer[name].inputs)
    return [op for op in graph.ops if op.output in needed]


def lower(graph: Graph) -> Network:
    """Lower a :class:`Graph` to a :class:`relutope.Network`.

    Parameters
    ----------
    graph : Graph
        With ``graph.output`` set.

    Returns
    -------
    Network
        ``in_dim`` = size of the graph input, ``out_dim`` = size of the graph output (C-order flattenings). Layer
        ``l`` holds, in graph order, the units of every nonlinearity at nonlinear depth ``l``, followed by the
        identity units carrying values needed later; the last layer holds identity units computing the output
        (omitted when the output is exactly the previous layer's output).

    Raises
    ------
    ModelFormatError
        When the output is unset or a unit would have more pieces than :class:`relutope.Layer` allows.
    """
    if graph.output is None or graph.output not in graph._shapes:
        raise ModelFormatError("the graph has no output")
    ops = _prune(graph)
    nonlinear = {op.output: op.kind in NONLINEAR_KINDS for op in ops}
    depth = {graph.input: 0}
    for op in ops:
        depth[op.output] = max(depth[i] for i in op.inputs) + int(nonlinear[op.output])
    D = depth[graph.output]
    uses = Counter(i for op in ops for i in op.inputs)
    uses[graph.output] += 1

    n_in = _size(graph.shape(graph.input))
    # every live value as (M, v): value = M @ state + v, M a sparse (size, n_state) matrix
    exprs: Dict[str, Tuple[sp.csr_matrix, np.ndarray]] = {graph.input: (sp.identity(n_in, format="csr"),
                                                                        np.zeros(n_in))}
    n_state = n_in
    layers: List[Layer] = []

    def release(op: Op) -> None:
        for i in op.inputs:
            uses[i] -= 1
            if uses[i] == 0:
                exprs.pop(i, None)

    for L in range(D + 1):
        if L > 0:
            batch = [op for op in ops if nonlinear[op.output] and depth[op.output] == L]
            blocks = []
            for op in batch:
                try:
                    blocks.append((op, _units(op, [graph.shape(i) for i in op.inputs], [exprs[i] for i in op.inputs])))
                except ValueError as exc:
                    raise ModelFormatError(f"{op.origin}: {exc}") from None
            for op in batch:
                release(op)
            live = [name for name in exprs if uses[name] > 0]
            carry_state = sum(exprs[n][0].shape[0] for n in live) > n_state
            if carry_state:
                carries = [(sp.identity(n_state, format="csr"), np.zeros(n_state))]
            else:
                carries = [exprs[n] for n in live]
            A_parts, c_parts, k_parts = [], [], []
            for _, (A, c, k, _, _) in blocks:
                A_parts.append(A), c_parts.append(c), k_parts.append(k)
            for M, v in carries:
                A, c, k = _scalar_units(M, v, "identity")
                A_parts.append(A), c_parts.append(c), k_parts.append(k)
            n_pieces = np.concatenate(k_parts)
            A = A_parts[0] if len(A_parts) == 1 else np.vstack(A_parts)
            layer = Layer(A, np.concatenate(c_parts), n_pieces)
            layers.append(layer)
            n_new = layer.n_units
            new_exprs = {}
            off = 0
            for op, (_, _, k, E, e) in blocks:
                new_exprs[op.output] = (_shift_columns(E, off, n_new), e)
                off += k.size
            if carry_state:
                for name in live:
                    M_old, v_old = exprs[name]
                    new_exprs[name] = (_shift_columns(M_old, off, n_new), v_old)
            else:
                for name in live:
                    size = exprs[name][0].shape[0]
                    new_exprs[name] = (_shift_columns(sp.identity(size), off, n_new), np.zeros(size))
                    off += size
            exprs = new_exprs
            n_state = n_new
        for op in ops:
            if nonlinear[op.output] or depth[op.output] != L:
                continue
            in_shapes = [graph.shape(i) for i in op.inputs]
            try:
                Ts, t = _affine_maps(op, in_shapes, graph.shape(op.output))
            except ValueError as exc:
                raise ModelFormatError(f"{op.origin}: {exc}") from None
            M = sp.csr_matrix(sum(T @ exprs[i][0] for T, i in zip(Ts, op.inputs)))
            v = sum(np.asarray(T @ exprs[i][1]) for T, i in zip(Ts, op.inputs)) + t
            exprs[op.output] = (M, v)
            release(op)

    M, v = exprs[graph.output]
    is_state = M.shape == (n_state, n_state) and (M != sp.identity(n_state, format="csr")).nnz == 0
    if not (layers and is_state and not np.any(v)):
        A, c, k = _scalar_units(M, v, "identity")
        layers.append(Layer(A, c, k))
    return Network(layers)
