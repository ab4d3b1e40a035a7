"""Import of ONNX models (with the ``onnx`` package) as :class:`relutope.Network`.

The graph is translated node by node into a :class:`relutope.io.lowering.Graph` and lowered by
:func:`relutope.io.lowering.lower`, the same lowering the PyTorch importer uses.

Supported models
----------------
* One real graph input (initializers also listed as inputs, as in older exporters, are constants) of rank >= 2
  whose first dimension is the batch (fixed or symbolic); the other dimensions must be fixed. ``in_dim`` is their
  product and the input vector is the C-order flattening of one sample.
* Or an input of rank 1 and fixed size ``[n]``, with no batch axis (as in the VNN-COMP 2021 test networks
  ``test_nano.onnx``, ``test_tiny.onnx``, ``test_small.onnx``): ``in_dim = n``. It is read as one sample of a batch
  of one, which computes the same values for the operators that do not name axes, the only ones accepted on such
  a model: ``Identity``, ``Dropout``, the elementwise nonlinearities, ``Gemm``, ``MatMul``, ``Add``, ``Sub``, ``Mul``,
  ``Div``.
* One graph output; ``out_dim`` is the size of one sample of it (C-order flattening).
* Operators of the default domain, on input-dependent tensors:

  ==========================  ===============================================================================
  ``Gemm``                    every ``transA``, ``transB``, ``alpha``, ``beta``, optional ``C``: one operand
                              constant, the other input-dependent with its batch axis as the product's outer
                              axis: ``x W^T`` (batch first) or ``W x^T`` (after a ``Transpose`` that put the
                              batch axis last; the result stays batch-last until transposed back)
  ``MatMul``                  one constant operand of rank 1 or 2
  ``Add``, ``Sub``            with a constant (broadcasting), or of two input-dependent tensors (skip connections)
  ``Mul``, ``Div``            by a constant (``Div`` with the constant as divisor); ``Neg``
  ``Relu``, ``LeakyRelu``,    elementwise nonlinearities (``LeakyRelu``: any ``alpha``; ``PRelu``: a constant
  ``PRelu``, ``Abs``,         slope broadcasting against the input, e.g. one per channel). ``Clip`` with
  ``Clip``, ``HardSigmoid``   constant bounds and ``HardSigmoid`` (``clip(alpha x + beta, 0, 1)``) have three
                              pieces; a MASO unit is a maximum of affine pieces, so they are lowered with the
                              exact identity ``lo + relu(z - lo) - relu(z - hi)`` (two units per element)
  ``Max``, ``Min``            elementwise over any number of inputs (broadcasting; constants allowed): one unit
                              per element with one piece per input (a minimum is ``-max(-x_i)``)
  ``Conv``                    constant weights and bias; ``strides``, ``pads``, ``dilations``, ``group``,
                              ``auto_pad``
  ``MaxPool``                 any number of spatial axes, without the ``Indices`` output; ``ceil_mode``,
                              ``dilations``, ``auto_pad``
  ``AveragePool``             ``count_include_pad``, ``ceil_mode``, ``auto_pad``
  ``GlobalMaxPool``,          over every spatial axis
  ``GlobalAveragePool``
  ``ReduceMax``,              over axes other than the batch axis, ``keepdims``; ``axes`` as attribute or
  ``ReduceMin``,              input (opset 18; 13 for ``ReduceSum``); max/min units have one piece per element
  ``ReduceMean``,
  ``ReduceSum``
  ``BatchNormalization``      inference mode (constant statistics)
  ``Flatten``, ``Reshape``,   as long as the leading (batch) axis stays in place
  ``Squeeze``, ``Unsqueeze``
  ``Transpose``               permutations that keep the batch axis first (or, with a fixed batch of 1, move
                              only a length-1 axis into the batch position); of a 2-D tensor, for ``Gemm``
  ``Concat``                  of input-dependent tensors along an axis other than the batch axis
  ``Pad``                     constant ``pads`` (negative ones crop), ``constant``, ``reflect``, ``edge`` and
                              ``wrap`` modes, optional ``axes``; not along the batch axis
  ``Slice``, ``Gather``       constant starts/ends/axes/steps (clamped as ONNX specifies), constant indices; not
                              along the batch axis
  ``Identity``, ``Shape``     ``Shape`` of an input-dependent tensor only when the batch size is fixed
  ``Dropout``                 inference mode, the identity: ``training_mode`` absent or a constant false (from
                              opset 12), ``is_test=1`` (before opset 7); its ``mask`` output is not represented
  ==========================  ===============================================================================

* Operators that are not piecewise linear (``Sigmoid``, ``Tanh``, ``Gelu``, ``Erf``, ``Exp``, ``Softmax``, ...)
  raise :class:`relutope.errors.ModelFormatError` naming the node and what to do. A final ``Softmax`` or
  ``LogSoftmax`` does not change the partition (the regions and the predicted class are those of its input): pass
  ``drop_final_softmax=True`` to read the model without it.
* Any node whose inputs are all constants (``Constant``, initializers, results of other such nodes) is evaluated
  with ``onnx.reference.ReferenceEvaluator``, whatever its operator.

Everything else raises :class:`relutope.errors.ModelFormatError` naming the operator, the node's name and its
position in ``graph.node``.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from .._checks import check_bool
from ..errors import ModelFormatError
from ..network import Network
from .lowering import Graph, lower, pad_index, reduce_windows, same_padding, slice_index

__all__ = ["load_onnx", "to_onnx"]

_FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}


class _Poison:
    """Marks a node output relutope cannot represent; an error is raised only if something uses it."""

    def __init__(self, reason: str):
        self.reason = reason


class _Ctx:
    """Translation state shared by the op handlers."""

    def __init__(self, onnx, g: Graph, batch: Optional[int], opset: int, batchless: bool = False):
        self.onnx = onnx
        self.g = g
        self.batch = batch  # fixed batch size, or None when symbolic (1 for a model without batch axis)
        self.batchless = batchless  # the input has no batch axis: read as a batch of one
        self.opset = opset
        self.origin = ""

    def error(self, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.origin}: {msg}")

    def add(self, kind: str, inputs, /, **params) -> str:
        return self.g.add(kind, inputs, self.origin, **params)

    def rank(self, x: str) -> int:
        """Rank of a dynamic value including the batch axis."""
        return len(self.g.shape(x)) + 1

    def full_shape(self, x: str) -> tuple:
        return (self.batch,) + self.g.shape(x)


def _is_dyn(v) -> bool:
    return isinstance(v, str)


def _attrs(onnx, node) -> dict:
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _const_for_sample(ctx: _Ctx, c: np.ndarray, x: str, what: str) -> np.ndarray:
    """A constant broadcast against dynamic ``x`` (with batch), as an array broadcasting against one sample."""
    c = np.asarray(c, dtype=np.float64)
    r = ctx.rank(x)
    if c.ndim > r or (c.ndim == r and c.shape[0] != 1):
        raise ctx.error(f"{what} of shape {c.shape} would broadcast along the batch axis of an input of shape "
                        f"{ctx.full_shape(x)}")
    return c[0] if c.ndim == r else c


def _spatial(ctx: _Ctx, x: str, at: dict, kernel: Sequence[int]):
    """(stride, pads, dilation) of a conv/pool node, resolving ``auto_pad``."""
    nd = len(kernel)
    sp_shape = ctx.g.shape(x)[1:]
    if len(sp_shape) != nd:
        raise ctx.error(f"kernel of {nd} spatial axes for an input of shape {ctx.full_shape(x)}")
    stride = tuple(at.get("strides", [1] * nd))
    dilation = tuple(at.get("dilations", [1] * nd))
    auto_pad = at.get("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", ""):
        pads = list(at.get("pads", [0] * (2 * nd)))
        if len(pads) != 2 * nd:
            raise ctx.error(f"pads must have {2 * nd} entries, got {len(pads)}")
        pads = tuple((pads[i], pads[i + nd]) for i in range(nd))
    elif auto_pad == "VALID":
        pads = ((0, 0),) * nd
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = same_padding(sp_shape, kernel, stride, dilation, "upper" if auto_pad == "SAME_UPPER" else "lower")
    else:
        raise ctx.error(f"unknown auto_pad {auto_pad!r}")
    return stride, pads, dilation


# ---------------------------------------------------------------------------------------------- op handlers
def _identity(ctx, node, args, at):
    return [args[0]]


def _dropout(ctx, node, args, at):
    """Dropout at inference is the identity (ONNX operator spec): ``training_mode`` (an input from opset 12) must be
    absent or a constant false, ``is_test`` (an attribute before opset 7) nonzero. The ``mask`` output is not
    represented (using it is an error)."""
    if ctx.opset < 7 and not at.get("is_test", 0):
        raise ctx.error("Dropout with is_test=0 (opset < 7) runs in training mode (random zeros): relutope reads "
                        "inference models; export the model in evaluation mode (is_test=1)")
    mode = args[2] if len(args) > 2 else None
    if mode is not None:
        if _is_dyn(mode):
            raise ctx.error("Dropout's training_mode is input-dependent: relutope reads inference models (a "
                            "constant false or no training_mode)")
        if np.asarray(mode).size != 1:
            raise ctx.error(f"Dropout's training_mode must be a scalar, got shape {list(np.shape(mode))}")
        if bool(np.asarray(mode).reshape(())):
            raise ctx.error("Dropout with training_mode=1 zeroes inputs at random: relutope reads inference models; "
                            "export the model in evaluation mode (model.eval()) or set training_mode to false")
    return [args[0]]


def _act(kind):
    def handler(ctx, node, args, at):
        (x,) = args[:1]
        return [ctx.add("act", [x], kind=kind, alpha=float(at.get("alpha", 0.01)))]
    return handler


def _clip(ctx, node, args, at):
    x = args[0]
    if ctx.opset < 11:
        lo, hi = at.get("min", -np.inf), at.get("max", np.inf)
    else:
        bounds = []
        for v, default in zip(list(args[1:3]) + [None] * (3 - len(args)), (-np.inf, np.inf)):
            if _is_dyn(v):
                raise ctx.error("Clip bounds must be constants")
            bounds.append(default if v is None else float(np.asarray(v).reshape(())))
        lo, hi = bounds
    return [ctx.add("clamp", [x], lo=lo, hi=hi)]


class _Transposed:
    """A rank-2 input-dependent tensor stored with its batch axis last: the ONNX tensor is ``x^T`` of shape
    ``(n, batch)``, for graph value ``x`` of sample shape ``(n,)``. Only ``Transpose``, ``Gemm`` and elementwise
    operators accept it (the form ``(W @ x^T)^T`` of a dense layer)."""

    def __init__(self, name: str):
        self.name = name


def _gemm(ctx, node, args, at):
    A, B = args[0], args[1]
    C = args[2] if len(args) > 2 else None
    alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))

    def t(v):  # the transpose of an operand
        if isinstance(v, _Transposed):
            return v.name
        if _is_dyn(v):
            if ctx.rank(v) != 2:
                raise ctx.error(f"Gemm needs 2-D operands, got shape {ctx.full_shape(v)}")
            return _Transposed(v)
        return np.asarray(v, dtype=np.float64).T

    def batch_form(v):  # "D": (batch, n); "T": (n, batch); None: constant
        return "T" if isinstance(v, _Transposed) else "D" if _is_dyn(v) else None

    Ap = t(A) if at.get("transA", 0) else A
    Bp = t(B) if at.get("transB", 0) else B
    fa, fb = batch_form(Ap), batch_form(Bp)
    if fa and fb:
        raise ctx.error("Gemm of two input-dependent tensors is not piecewise affine")
    if fa == "T" or fb == "D":
        raise ctx.error("Gemm would contract the batch axis (the input-dependent operand's batch axis is the inner "
                        "dimension of the product)")
    const = np.asarray(Bp if fa else Ap, dtype=np.float64)
    if const.ndim != 2:
        raise ctx.error(f"Gemm needs a 2-D constant operand, got shape {const.shape}")
    if fa == "D":  # Y = alpha A' B' + beta C, batch on axis 0
        if ctx.rank(Ap) != 2:
            raise ctx.error(f"Gemm needs a 2-D A, got shape {ctx.full_shape(Ap)}")
        y = ctx.add("dense", [Ap], W=alpha * const.T, b=None)
        if C is None:
            return [y]
        if isinstance(C, _Transposed):
            raise ctx.error("Gemm's C has its batch axis last but the product has it first")
        if _is_dyn(C):
            return [ctx.add("sum", [y, C], coefs=(1.0, beta))]
        return [ctx.add("scale", [y], add=beta * _const_for_sample(ctx, C, y, "Gemm's C"))]
    # fb == "T": Y = alpha A' x^T + beta C = (alpha x A'^T + beta C^T)^T, batch on axis 1
    x = Bp.name
    y = ctx.add("dense", [x], W=alpha * const, b=None)
    if C is None:
        return [_Transposed(y)]
    if isinstance(C, _Transposed):
        return [_Transposed(ctx.add("sum", [y, C.name], coefs=(1.0, beta)))]
    if _is_dyn(C):
        raise ctx.error("Gemm's C has its batch axis first but the product has it last")
    c = np.asarray(C, dtype=np.float64)
    if c.ndim == 2 and c.shape[1] != 1 or c.ndim > 2:
        raise ctx.error(f"Gemm's C of shape {c.shape} would broadcast along the batch axis (the product's last "
                        f"axis here)")
    c = c[:, 0] if c.ndim == 2 else c
    return [_Transposed(ctx.add("scale", [y], add=beta * c))]


def _matmul(ctx, node, args, at):
    a, b = args
    if _is_dyn(a) and _is_dyn(b):
        raise ctx.error("MatMul of two input-dependent tensors is not piecewise affine")
    if _is_dyn(a):
        B = np.asarray(b, dtype=np.float64)
        if B.ndim == 2:
            return [ctx.add("dense", [a], W=B.T, b=None)]
        if B.ndim == 1:
            y = ctx.add("dense", [a], W=B[None, :], b=None)
            return [ctx.add("reshape", [y], shape=ctx.g.shape(y)[:-1])]
        raise ctx.error(f"MatMul with a constant of rank {B.ndim} (batched matrix product) is not supported")
    A = np.asarray(a, dtype=np.float64)
    if ctx.batchless and ctx.rank(b) == 2 and A.ndim in (1, 2):
        # a vector without batch axis: A @ x acts on its only axis (a batch of one gives the same values)
        y = ctx.add("dense", [b], W=np.atleast_2d(A), b=None)
        return [ctx.add("reshape", [y], shape=ctx.g.shape(y)[:-1]) if A.ndim == 1 else y]
    if A.ndim != 2 or ctx.rank(b) < 3:
        raise ctx.error(f"MatMul of a constant of shape {A.shape} and an input-dependent tensor of shape "
                        f"{ctx.full_shape(b)} would mix the batch axis (needs a 2-D constant and rank >= 3)")
    r = len(ctx.g.shape(b))
    perm = tuple(range(r - 2)) + (r - 1, r - 2)
    y = ctx.add("transpose", [b], perm=perm)
    y = ctx.add("dense", [y], W=A, b=None)
    return [ctx.add("transpose", [y], perm=perm)]


def _binary(op_type):
    def handler(ctx, node, args, at):
        a, b = args
        if _is_dyn(a) and _is_dyn(b):
            if op_type in ("Mul", "Div"):
                raise ctx.error(f"{op_type} of two input-dependent tensors is not piecewise affine")
            if ctx.rank(a) != ctx.rank(b):
                raise ctx.error(f"{op_type} of tensors of shapes {ctx.full_shape(a)} and {ctx.full_shape(b)} would "
                                f"broadcast along the batch axis")
            return [ctx.add("sum", [a, b], coefs=(1.0, 1.0 if op_type == "Add" else -1.0))]
        x, c, x_first = (a, b, True) if _is_dyn(a) else (b, a, False)
        c = _const_for_sample(ctx, c, x, f"constant operand of {op_type}")
        if op_type == "Add":
            return [ctx.add("scale", [x], add=c)]
        if op_type == "Sub":
            return [ctx.add("scale", [x], add=-c) if x_first else ctx.add("scale", [x], mul=-1.0, add=c)]
        if op_type == "Mul":
            return [ctx.add("scale", [x], mul=c)]
        if not x_first:
            raise ctx.error("Div by an input-dependent tensor is not piecewise affine")
        if np.any(c == 0):
            raise ctx.error("Div by a constant containing zeros")
        return [ctx.add("scale", [x], mul=1.0 / c)]
    return handler


def _conv(ctx, node, args, at):
    x, w = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    if not _is_dyn(x) or _is_dyn(w) or _is_dyn(b):
        raise ctx.error("Conv is supported with an input-dependent X and constant W and B")
    w = np.asarray(w, dtype=np.float64)
    kernel = tuple(at.get("kernel_shape", w.shape[2:]))
    if kernel != tuple(w.shape[2:]):
        raise ctx.error(f"kernel_shape {kernel} does not match W of shape {w.shape}")
    stride, pads, dilation = _spatial(ctx, x, at, kernel)
    return [ctx.add("conv", [x], weight=w, bias=b, stride=stride, pads=pads, dilation=dilation,
                    groups=int(at.get("group", 1)))]


def _maxpool(ctx, node, args, at):
    x = args[0]
    kernel = tuple(at["kernel_shape"])
    stride, pads, dilation = _spatial(ctx, x, at, kernel)
    y = ctx.add("maxpool", [x], kernel=kernel, stride=stride, pads=pads, dilation=dilation,
                ceil_mode=bool(at.get("ceil_mode", 0)))
    return [y, _Poison("the Indices output of MaxPool is not supported")]


def _avgpool(ctx, node, args, at):
    x = args[0]
    kernel = tuple(at["kernel_shape"])
    stride, pads, dilation = _spatial(ctx, x, at, kernel)
    if any(d != 1 for d in dilation):
        raise ctx.error("AveragePool with dilations is not supported")
    return [ctx.add("avgpool", [x], kernel=kernel, stride=stride, pads=pads, ceil_mode=bool(at.get("ceil_mode", 0)),
                    count_include_pad=bool(at.get("count_include_pad", 0)), divisor=None)]


def _batchnorm(ctx, node, args, at):
    x, scale, bias, mean, var = (list(args) + [None] * 5)[:5]
    if any(_is_dyn(v) or v is None for v in (scale, bias, mean, var)):
        raise ctx.error("BatchNormalization needs constant scale, B, mean and var")
    if at.get("training_mode", 0):
        raise ctx.error("BatchNormalization in training mode normalises with batch statistics")
    if not at.get("spatial", 1):
        raise ctx.error("BatchNormalization with spatial=0 is not supported")
    if ctx.rank(x) < 2:
        raise ctx.error(f"BatchNormalization needs an input of rank >= 2, got {ctx.full_shape(x)}")
    y = ctx.g.batchnorm(x, ctx.origin, mean=mean, var=var, weight=scale, bias=bias,
                        eps=float(at.get("epsilon", 1e-5)))
    return [y] + [_Poison("the running statistics outputs of BatchNormalization are not supported")] * 4


def _flatten(ctx, node, args, at):
    x = args[0]
    r = ctx.rank(x)
    axis = int(at.get("axis", 1))
    axis = axis + r if axis < 0 else axis
    s = ctx.g.shape(x)
    if axis == 0 and ctx.batch != 1 or axis > 1 and int(np.prod(s[:axis - 1])) != 1:
        raise ctx.error(f"Flatten with axis={at.get('axis', 1)} on shape {ctx.full_shape(x)} would merge the batch "
                        f"axis with other axes")
    return [ctx.add("reshape", [x], shape=(int(np.prod(s)),))]


def _reshape(ctx, node, args, at):
    x = args[0]
    if ctx.opset < 5:
        target = list(at.get("shape", []))
    else:
        if len(args) < 2 or _is_dyn(args[1]) or args[1] is None:
            raise ctx.error("Reshape needs a constant target shape")
        target = [int(v) for v in np.asarray(args[1]).reshape(-1)]
    full = ctx.full_shape(x)
    if not at.get("allowzero", 0):
        target = [full[i] if v == 0 and i < len(full) and i > 0 else v for i, v in enumerate(target)]
        if target and target[0] == 0:
            target[0] = "batch"
    if not target:
        raise ctx.error(f"Reshape to a scalar would drop the batch axis of shape {full}")
    t0, rest = target[0], target[1:]
    size = int(np.prod(ctx.g.shape(x)))
    ok = (t0 == "batch" or (ctx.batch is not None and t0 == ctx.batch)
          or (t0 == -1 and -1 not in rest and int(np.prod(rest)) == size))
    if not ok:
        raise ctx.error(f"Reshape of a tensor of shape {full} to {tuple(target)} would change the batch axis")
    return [ctx.add("reshape", [x], shape=tuple(rest))]


def _transpose(ctx, node, args, at):
    x = args[0]
    if isinstance(x, _Transposed):
        perm = tuple(int(p) for p in at.get("perm", (1, 0)))
        if perm not in ((1, 0), (0, 1)):
            raise ctx.error(f"perm {perm} is not a permutation of 2 axes")
        return [x.name if perm == (1, 0) else x]
    r = ctx.rank(x)
    perm = tuple(int(p) for p in at.get("perm", range(r - 1, -1, -1)))
    if sorted(perm) != list(range(r)):
        raise ctx.error(f"perm {perm} is not a permutation of {r} axes")
    if perm[0] == 0:
        return [ctx.add("transpose", [x], perm=tuple(p - 1 for p in perm[1:]))]
    full = ctx.full_shape(x)
    if ctx.batch == 1 and full[perm[0]] == 1:  # one sample: transpose the whole tensor, a length-1 axis leads
        y = ctx.add("reshape", [x], shape=(1,) + ctx.g.shape(x))
        y = ctx.add("transpose", [y], perm=perm)
        return [ctx.add("reshape", [y], shape=ctx.g.shape(y)[1:])]
    if r == 2:  # (batch, n) -> (n, batch): kept as such for a Gemm or a Transpose back
        return [_Transposed(x)]
    raise ctx.error(f"Transpose with perm {perm} of shape {full} moves the batch axis")


def _shape(ctx, node, args, at):
    x = args[0]
    if ctx.batch is None:
        raise ctx.error("Shape of an input-dependent tensor needs a fixed batch size (the model's is symbolic)")
    full = np.array(ctx.full_shape(x), dtype=np.int64)
    start, end = at.get("start", 0), at.get("end", None)
    return [full[start:end]]


def _prelu(ctx, node, args, at):
    x, slope = args[0], args[1]
    if _is_dyn(slope):
        raise ctx.error("PRelu needs a constant slope")
    a = _const_for_sample(ctx, slope, x, "slope")
    return [ctx.add("act", [x], kind="leaky_relu", alpha=a)]


def _neg(ctx, node, args, at):
    return [ctx.add("scale", [args[0]], mul=np.array(-1.0))]


def _hardsigmoid(ctx, node, args, at):  # max(0, min(1, alpha x + beta))
    y = ctx.add("scale", [args[0]], mul=np.array(float(at.get("alpha", 0.2))), add=np.array(float(at.get("beta", 0.5))))
    return [ctx.add("clamp", [y], lo=0.0, hi=1.0)]


def _maxmin(op_type):
    def handler(ctx, node, args, at):
        dyn = [a for a in args if _is_dyn(a)]
        ranks = {ctx.rank(a) for a in dyn}
        vals = []
        for a in args:
            if _is_dyn(a):
                if ctx.rank(a) != max(ranks):
                    raise ctx.error(f"{op_type} of tensors of ranks {sorted(ranks)} would broadcast along the batch "
                                    f"axis")
                vals.append(a)
            else:  # a constant operand: the affine map 0 * x + c of an input-dependent one
                c = _const_for_sample(ctx, a, dyn[0], f"constant operand of {op_type}")
                vals.append(ctx.add("scale", [dyn[0]], mul=np.array(0.0), add=c))
        if len(vals) == 1:
            return [vals[0]]
        return [ctx.add("max", vals, sign=1 if op_type == "Max" else -1)]
    return handler


def _sample_axes(ctx, x, axes, what):
    """Axes of the full tensor (batch first) as axes of the sample; the batch axis is refused."""
    r = ctx.rank(x)
    out = []
    for a in axes:
        a = int(a) + r if int(a) < 0 else int(a)
        if not 0 <= a < r:
            raise ctx.error(f"{what} axis {a} out of range for shape {ctx.full_shape(x)}")
        if a == 0:
            raise ctx.error(f"{what} over the batch axis mixes samples")
        out.append(a - 1)
    return out


def _axes_arg(ctx, args, at, opset_input: int):
    """The ``axes`` of a node: an attribute before ``opset_input``, the second input from it on (None if absent)."""
    if ctx.opset < opset_input:
        return at.get("axes")
    if len(args) < 2 or args[1] is None:
        return None
    if _is_dyn(args[1]):
        raise ctx.error("axes must be a constant")
    return [int(v) for v in np.asarray(args[1]).reshape(-1)]


def _reduce(op_type):
    reduce = {"ReduceMax": "max", "ReduceMin": "min", "ReduceMean": "mean", "ReduceSum": "sum"}[op_type]

    def handler(ctx, node, args, at):
        x = args[0]
        axes = _axes_arg(ctx, args, at, 13 if op_type == "ReduceSum" else 18)
        if axes is None or len(axes) == 0:
            if at.get("noop_with_empty_axes", 0):
                return [x]
            raise ctx.error(f"{op_type} over every axis (no axes given) mixes samples across the batch axis")
        ax = _sample_axes(ctx, x, axes, op_type)
        keep = bool(at.get("keepdims", 1))
        return [ctx.g.window_reduce(x, ctx.origin, reduce_windows(ctx.g.shape(x), ax, keep), reduce)]
    return handler


def _global_pool(reduce):
    def handler(ctx, node, args, at):
        x = args[0]
        s = ctx.g.shape(x)
        if len(s) < 2:
            raise ctx.error(f"global pooling needs an input of shape (N, C, *spatial), got {ctx.full_shape(x)}")
        return [ctx.g.window_reduce(x, ctx.origin, reduce_windows(s, range(1, len(s)), True), reduce)]
    return handler


def _concat(ctx, node, args, at):
    if not all(_is_dyn(a) for a in args):
        raise ctx.error("Concat of a constant with an input-dependent tensor is not supported")
    (ax,) = _sample_axes(ctx, args[0], [at["axis"]], "Concat")
    return [ctx.add("concat", list(args), axis=ax)]


def _pad(ctx, node, args, at):
    x = args[0]
    r = ctx.rank(x)
    if ctx.opset < 11:
        pads, value, axes = list(at.get("pads", [])), float(at.get("value", 0.0)), None
    else:
        if any(_is_dyn(a) for a in args[1:]):
            raise ctx.error("Pad needs constant pads, constant_value and axes")
        pads = [int(v) for v in np.asarray(args[1]).reshape(-1)] if len(args) > 1 and args[1] is not None else []
        value = float(np.asarray(args[2]).reshape(())) if len(args) > 2 and args[2] is not None else 0.0
        axes = [int(v) for v in np.asarray(args[3]).reshape(-1)] if len(args) > 3 and args[3] is not None else None
    axes = list(range(r)) if axes is None else [a + r if a < 0 else a for a in axes]
    if len(pads) != 2 * len(axes):
        raise ctx.error(f"pads must have {2 * len(axes)} entries, got {len(pads)}")
    per_axis = {a: (pads[i], pads[i + len(axes)]) for i, a in enumerate(axes)}
    if per_axis.get(0, (0, 0)) != (0, 0):
        raise ctx.error("Pad along the batch axis is not supported")
    mode = at.get("mode", "constant")
    s = ctx.g.shape(x)
    try:
        index = pad_index(s, [per_axis.get(a + 1, (0, 0)) for a in range(len(s))], mode)
    except ValueError as exc:
        raise ctx.error(str(exc)) from None
    return [ctx.g.gather(x, ctx.origin, index, value if mode == "constant" else 0.0)]


def _slice(ctx, node, args, at):
    x = args[0]
    if ctx.opset < 10:
        starts, ends, axes, steps = at["starts"], at["ends"], at.get("axes"), None
    else:
        if any(_is_dyn(a) for a in args[1:]):
            raise ctx.error("Slice needs constant starts, ends, axes and steps")
        starts, ends = (np.asarray(args[i]).reshape(-1).tolist() for i in (1, 2))
        axes = np.asarray(args[3]).reshape(-1).tolist() if len(args) > 3 and args[3] is not None else None
        steps = np.asarray(args[4]).reshape(-1).tolist() if len(args) > 4 and args[4] is not None else None
    r = ctx.rank(x)
    axes = list(range(len(starts))) if axes is None else [int(a) + r if int(a) < 0 else int(a) for a in axes]
    steps = [1] * len(starts) if steps is None else list(steps)
    keep = []
    for i, a in enumerate(axes):
        if a == 0:
            full = int(starts[i]) == 0 and int(steps[i]) == 1 and (int(ends[i]) >= 2 ** 31 - 1 or
                                                                   (ctx.batch is not None and int(ends[i]) >= ctx.batch))
            if not full:
                raise ctx.error("Slice along the batch axis is not supported")
        else:
            keep.append(i)
    if not keep:
        return [x]
    try:
        index = slice_index(ctx.g.shape(x), [starts[i] for i in keep], [ends[i] for i in keep],
                            [axes[i] - 1 for i in keep], [steps[i] for i in keep])
    except ValueError as exc:
        raise ctx.error(str(exc)) from None
    return [ctx.g.gather(x, ctx.origin, index)]


def _gather(ctx, node, args, at):
    x, ind = args[0], args[1]
    if _is_dyn(ind):
        raise ctx.error("Gather with input-dependent indices is not piecewise affine")
    (ax,) = _sample_axes(ctx, x, [at.get("axis", 0)], "Gather")
    s = ctx.g.shape(x)
    ind = np.asarray(ind, dtype=np.int64)
    ind = np.where(ind < 0, ind + s[ax], ind)
    if np.any(ind < 0) or np.any(ind >= s[ax]):
        raise ctx.error(f"Gather indices out of range for axis of length {s[ax]}")
    index = np.take(np.arange(int(np.prod(s)), dtype=np.int64).reshape(s), ind, axis=ax)
    return [ctx.g.gather(x, ctx.origin, index)]


def _squeeze(op_type):
    def handler(ctx, node, args, at):
        x = args[0]
        axes = _axes_arg(ctx, args, at, 13)
        s = list(ctx.g.shape(x))
        if op_type == "Squeeze":
            if axes is None and ctx.batch == 1 and not ctx.batchless:
                raise ctx.error("Squeeze without axes on a batch of 1 would also squeeze the batch axis; give axes")
            ax = [a for a in range(len(s)) if s[a] == 1] if axes is None else _sample_axes(ctx, x, axes, op_type)
            if any(s[a] != 1 for a in ax):
                raise ctx.error(f"Squeeze of axes of length != 1 in shape {ctx.full_shape(x)}")
            new = [v for a, v in enumerate(s) if a not in ax]
        else:
            if axes is None:
                raise ctx.error("Unsqueeze needs axes")
            r = ctx.rank(x) + len(axes)
            full = sorted(int(a) + r if int(a) < 0 else int(a) for a in axes)
            if 0 in full:
                raise ctx.error("Unsqueeze at axis 0 would move the batch axis")
            new = list(s)
            for a in full:
                new.insert(a - 1, 1)
        return [ctx.add("reshape", [x], shape=tuple(new))]
    return handler


#: Operators that are not piecewise linear: named in a clear error.
_NON_PWL = frozenset({"Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Gelu", "Erf", "Exp", "Log", "Softplus",
                      "Softsign", "Elu", "Selu", "Celu", "HardSwish", "Mish", "Sqrt", "Pow", "Reciprocal", "Sin",
                      "Cos", "Hardmax", "ThresholdedRelu", "Round", "Floor", "Ceil", "Sign"})

#: Elementwise operators that accept an input stored with its batch axis last (see _Transposed).
_ELEMENTWISE = frozenset({"Identity", "Dropout", "Relu", "LeakyRelu", "Abs", "Clip", "Neg", "HardSigmoid"})


_HANDLERS = {
    "Identity": _identity,
    "Dropout": _dropout,
    "Relu": _act("relu"),
    "LeakyRelu": _act("leaky_relu"),
    "Abs": _act("abs"),
    "Clip": _clip,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Add": _binary("Add"),
    "Sub": _binary("Sub"),
    "Mul": _binary("Mul"),
    "Div": _binary("Div"),
    "Conv": _conv,
    "MaxPool": _maxpool,
    "AveragePool": _avgpool,
    "BatchNormalization": _batchnorm,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Shape": _shape,
    "PRelu": _prelu,
    "Neg": _neg,
    "HardSigmoid": _hardsigmoid,
    "Max": _maxmin("Max"),
    "Min": _maxmin("Min"),
    "ReduceMax": _reduce("ReduceMax"),
    "ReduceMin": _reduce("ReduceMin"),
    "ReduceMean": _reduce("ReduceMean"),
    "ReduceSum": _reduce("ReduceSum"),
    "GlobalMaxPool": _global_pool("max"),
    "GlobalAveragePool": _global_pool("mean"),
    "Concat": _concat,
    "Pad": _pad,
    "Slice": _slice,
    "Gather": _gather,
    "Squeeze": _squeeze("Squeeze"),
    "Unsqueeze": _squeeze("Unsqueeze"),
}


#: Operators whose results on a sample without batch axis equal those on a batch of one (they name no axis).
_BATCHLESS_OPS = frozenset({"Identity", "Dropout", "Relu", "LeakyRelu", "Abs", "Clip", "Gemm", "MatMul", "Add", "Sub", "Mul",
                            "Div", "Neg", "HardSigmoid", "Max", "Min"})


# ---------------------------------------------------------------------------------------------- driver
def _load_model(onnx, path_or_model):
    if isinstance(path_or_model, onnx.ModelProto):
        return path_or_model, "<ModelProto>"
    if isinstance(path_or_model, (bytes, bytearray)):
        source, loader = "<bytes>", lambda: onnx.load_from_string(bytes(path_or_model))
    elif isinstance(path_or_model, (str, os.PathLike)):
        source = os.fspath(path_or_model)
        if not os.path.exists(source):
            raise FileNotFoundError(f"no such ONNX file: {source!r}")
        loader = lambda: onnx.load(source)  # noqa: E731
    else:
        raise TypeError(f"load_onnx takes a path, bytes or an onnx.ModelProto, got {type(path_or_model).__name__}")
    try:
        return loader(), source
    except Exception as exc:  # protobuf raises DecodeError, RuntimeWarning-free ValueErrors, ...
        raise ModelFormatError(f"{source}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None


def _input_shape(source: str, vi):
    """``(batch, sample shape, batchless)`` of the graph input: batch None when symbolic; a rank-1 input ``[n]``
    is one sample without batch axis (``batchless``, read as a batch of one)."""
    t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
    if t is None or not t.HasField("shape"):
        raise ModelFormatError(f"{source}: graph input {vi.name!r} has no tensor shape")
    if t.elem_type not in _FLOAT_TYPES:
        raise ModelFormatError(f"{source}: graph input {vi.name!r} has a non-floating-point element type "
                               f"({t.elem_type})")
    dims = []
    for d in t.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else None)
    if len(dims) == 1:
        if dims[0] is None or dims[0] < 1:
            raise ModelFormatError(f"{source}: graph input {vi.name!r} of rank 1 (no batch axis) must have a fixed "
                                   f"size, got {['?' if dims[0] is None else dims[0]]}")
        return 1, (int(dims[0]),), True
    if len(dims) < 2:
        raise ModelFormatError(f"{source}: graph input {vi.name!r} must have a batch axis and at least one more "
                               f"axis, or be a vector of rank 1; got rank {len(dims)}")
    if any(d is None or d < 1 for d in dims[1:]):
        raise ModelFormatError(f"{source}: graph input {vi.name!r} must have fixed sizes after the batch axis, got "
                               f"{[d if d is not None else '?' for d in dims]}")
    return (dims[0] if dims[0] else None), tuple(int(d) for d in dims[1:]), False


def load_onnx(path_or_model: Union[str, os.PathLike, bytes, "onnx.ModelProto"],  # noqa: F821
              *, drop_final_softmax: bool = False) -> Network:
    """Read an ONNX model as a :class:`relutope.Network`.

    Parameters
    ----------
    path_or_model : str, os.PathLike, bytes or onnx.ModelProto
        A ``.onnx`` file, its serialized bytes, or a loaded model.
    drop_final_softmax : bool, optional
        Read the model without a ``Softmax`` / ``LogSoftmax`` node that computes the graph output (the network
        then outputs the logits): softmax is strictly increasing in each logit given the others, so the activation
        regions, their patterns and the predicted class do not change. Without it such a node raises
        :class:`~relutope.errors.ModelFormatError` saying so.

    Returns
    -------
    Network
        Float64 weights. ``in_dim`` is the product of the input shape after the batch axis (or ``n`` for an input
        ``[n]`` without batch axis) and the input vector is the C-order flattening of one sample; likewise for the
        output. See the module documentation for the
        supported operators and the layer layout.

    Raises
    ------
    ModelFormatError
        (a ``ValueError``) When the model cannot be parsed (truncated, corrupt, not ONNX), has not exactly one real
        input and one output, uses an operator or attribute that is not supported (the message names the operator,
        the node's name and its position in ``graph.node``), or when shapes do not fit. These, ``TypeError`` and
        ``FileNotFoundError`` are the only exceptions a model can raise.
    FileNotFoundError
        When the path does not exist.
    TypeError
        When ``path_or_model`` is of another type, or ``drop_final_softmax`` is not a bool.
    ImportError
        When the ``onnx`` package is not installed.
    """
    try:
        import onnx
        import onnx.numpy_helper
        from onnx.reference import ReferenceEvaluator
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("load_onnx needs the 'onnx' package (pip install onnx)") from exc

    drop_final_softmax = check_bool(drop_final_softmax, "drop_final_softmax")  # ("no" was truthy: it dropped it)
    model, source = _load_model(onnx, path_or_model)
    graph = model.graph
    opset = None
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = int(imp.version)
    if opset is None:
        raise ModelFormatError(f"{source}: the model imports no version of the default ONNX operator set")

    env: Dict[str, object] = {}
    try:
        for t in graph.initializer:
            env[t.name] = onnx.numpy_helper.to_array(t)
    except Exception as exc:
        raise ModelFormatError(f"{source}: cannot read initializer {t.name!r}: {exc}") from None
    inputs = [vi for vi in graph.input if vi.name not in env]
    if len(inputs) != 1:
        raise ModelFormatError(f"{source}: the model must have exactly one input that is not an initializer, got "
                               f"{[vi.name for vi in inputs]}")
    if len(graph.output) != 1:
        raise ModelFormatError(f"{source}: the model must have exactly one output, got "
                               f"{[vi.name for vi in graph.output]}")
    batch, shape, batchless = _input_shape(source, inputs[0])
    g = Graph(shape)
    env[inputs[0].name] = g.input
    ctx = _Ctx(onnx, g, batch, opset, batchless)

    # only the nodes the output depends on
    producer = {}
    for pos, node in enumerate(graph.node):
        for out in node.output:
            if out:
                producer[out] = pos
    needed, stack = set(), [graph.output[0].name]
    while stack:
        name = stack.pop()
        pos = producer.get(name)
        if pos is None or pos in needed:
            continue
        needed.add(pos)
        stack.extend(i for i in graph.node[pos].input if i)

    for pos, node in enumerate(graph.node):
        if pos not in needed:
            continue
        ctx.origin = f"{source}: node {pos} {node.name!r} ({node.op_type})"
        if node.domain not in ("", "ai.onnx"):
            raise ctx.error(f"unsupported op '{node.domain}.{node.op_type}' (custom domain)")
        args: List[object] = []
        for name in node.input:
            if not name:
                args.append(None)
                continue
            if name not in env:
                raise ctx.error(f"input {name!r} is not produced by an earlier node (graph not topologically sorted "
                                f"or corrupt)")
            v = env[name]
            if isinstance(v, _Poison):
                raise ctx.error(f"uses {name!r}: {v.reason}")
            args.append(v)
        moved = [a for a in args if isinstance(a, _Transposed)]
        if moved and node.op_type in _ELEMENTWISE and all(not _is_dyn(a) for a in args):
            # an elementwise op on a tensor stored batch-last: apply it to the stored value
            outs = [_Transposed(v) if _is_dyn(v) else v
                    for v in _HANDLERS[node.op_type](ctx, node, [moved[0].name] + args[1:], _attrs(onnx, node))]
        elif moved and node.op_type not in ("Gemm", "Transpose"):
            raise ctx.error("the input has its batch axis last (after a Transpose); relutope follows such a tensor "
                            "only through Gemm, Transpose and elementwise activations")
        elif (node.op_type in ("Softmax", "LogSoftmax") and drop_final_softmax
              and list(node.output)[:1] == [graph.output[0].name]):
            outs = [args[0]]  # dropped: the partition and the argmax are those of the logits
        elif node.op_type in _NON_PWL and any(_is_dyn(a) for a in args):
            if node.op_type in ("Softmax", "LogSoftmax") and list(node.output)[:1] == [graph.output[0].name]:
                raise ctx.error(f"{node.op_type} is not piecewise linear; as the model's last node it does not "
                                f"change the partition (the regions and the predicted class are those of its input): "
                                f"remove it, or pass drop_final_softmax=True to load_onnx")
            raise ctx.error(f"{node.op_type} is not piecewise linear, so the model has no finite partition into "
                            f"affine pieces: replace it with a piecewise-linear operator (Relu, LeakyRelu, PRelu, "
                            f"Clip, HardSigmoid) or cut the model before this node")
        elif not any(_is_dyn(a) for a in args) and not moved:
            try:
                feeds = {n: a for n, a in zip(node.input, args) if n}
                outs = ReferenceEvaluator(node, opsets={"": opset}).run(None, feeds)
            except Exception as exc:
                raise ctx.error(f"cannot evaluate the constant node: {type(exc).__name__}: {exc}") from None
        else:
            handler = _HANDLERS.get(node.op_type)
            if handler is None:
                raise ctx.error(f"unsupported op '{node.op_type}'")
            if batchless and node.op_type not in _BATCHLESS_OPS:
                raise ctx.error(f"'{node.op_type}' names axes, which relutope reads only on models with a batch "
                                f"axis; the input {inputs[0].name!r} of shape {list(shape)} has none (supported "
                                f"there: {', '.join(sorted(_BATCHLESS_OPS))})")
            try:
                outs = handler(ctx, node, args, _attrs(onnx, node))
            except ModelFormatError:
                raise
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise ctx.error(f"invalid node ({type(exc).__name__}: {exc})") from None
        for name, value in zip(node.output, outs):
            if name:
                env[name] = value
        for name in list(node.output)[len(outs):]:
            if name:
                env[name] = _Poison(f"output {name!r} of {node.op_type} is not supported")

    out_name = graph.output[0].name
    if out_name not in env:
        raise ModelFormatError(f"{source}: the graph output {out_name!r} is not produced by any node")
    out = env[out_name]
    if isinstance(out, _Poison):
        raise ModelFormatError(f"{source}: graph output {out_name!r}: {out.reason}")
    if isinstance(out, _Transposed):
        raise ModelFormatError(f"{source}: the graph output {out_name!r} has its batch axis last; transpose it back")
    if not _is_dyn(out):
        raise ModelFormatError(f"{source}: the graph output {out_name!r} does not depend on the input")
    g.output = out
    return lower(g)


def to_onnx(net: Network, path: Union[str, os.PathLike, None] = None, *, opset: int = 17):
    """Write a network as an ONNX model (float64) that computes the same function.

    Parameters
    ----------
    net : relutope.Network
    path : str, os.PathLike or None, optional
        Where to save the model; None only returns it.
    opset : int, optional
        Default-domain operator set, 13 to 17 (``ReduceMax`` takes ``axes`` as an attribute up to 17).

    Returns
    -------
    onnx.ModelProto
        Input ``"x"`` of shape ``(N, in_dim)`` and output ``"y"`` of shape ``(N, out_dim)``, both ``double``, ``N``
        symbolic. Per layer a ``Gemm`` computes the affine pieces (``transB=1``, ``W`` shaped like
        ``Layer.A``), then ``Relu`` (layers of ReLU units; the ``Gemm`` then has one row per unit), or
        ``Reshape`` to ``(N, n_units, K)`` and ``ReduceMax`` over the last axis (units of ``K`` pieces; in a layer
        whose units have different numbers of pieces, short units are padded with copies of their first piece,
        which leaves every maximum, and the pattern under the lowest-index tie rule, unchanged), or nothing
        (identity units). The model passes ``onnx.checker.check_model``; :func:`load_onnx` reads it back to the
        same layers bit for bit, except for such padded units and for layers of identity units only (other than
        the last), which are folded into the next layer.

    Raises
    ------
    TypeError
        When ``net`` is not a :class:`relutope.Network`.
    ValueError
        When ``opset`` is outside 13..17.
    ImportError
        When the ``onnx`` package is not installed.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.random([3, 4, 2], seed=0)
    >>> back = relutope.load_onnx(net.to_onnx())
    >>> all(np.array_equal(a.A, b.A) for a, b in zip(net.layers, back.layers))
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"to_onnx needs a relutope.Network, got {type(net).__name__}")
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not 13 <= int(opset) <= 17:
        raise ValueError(f"opset must be an int from 13 to 17, got {opset!r}")
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_onnx needs the 'onnx' package (pip install onnx)") from exc
    from .torch import _group_rows, _relu_layer

    nodes, inits = [], []
    h = "x"
    for i, layer in enumerate(net.layers):
        relu = _relu_layer(layer)
        A, c = (layer.A[1::2], layer.c[1::2]) if relu else (layer.A, layer.c)
        K = int(layer.n_pieces.max())
        if not relu and K > 1 and np.any(layer.n_pieces != K):
            rows = np.asarray(_group_rows(layer.n_pieces.tolist())).ravel()
            A, c = A[rows], c[rows]
        inits += [numpy_helper.from_array(np.array(A), f"W{i}"), numpy_helper.from_array(np.array(c), f"b{i}")]
        last = i == len(net.layers) - 1
        z = "y" if last and not relu and K == 1 else f"z{i}"
        nodes.append(helper.make_node("Gemm", [h, f"W{i}", f"b{i}"], [z], name=f"layer{i}_pieces", transB=1))
        out = "y" if last else f"h{i}"
        if relu:
            nodes.append(helper.make_node("Relu", [z], [out], name=f"layer{i}_relu"))
        elif K > 1:
            inits.append(numpy_helper.from_array(np.array([0, layer.n_units, K], dtype=np.int64), f"shape{i}"))
            nodes.append(helper.make_node("Reshape", [z, f"shape{i}"], [f"p{i}"], name=f"layer{i}_units"))
            nodes.append(helper.make_node("ReduceMax", [f"p{i}"], [out], name=f"layer{i}_max", axes=[2], keepdims=0))
        else:
            out = z
        h = out
    graph = helper.make_graph(nodes, "relutope_network",
                              [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", net.in_dim])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", net.out_dim])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", int(opset))], producer_name="relutope")
    model.ir_version = 8
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model
