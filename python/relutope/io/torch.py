"""Import of PyTorch ``nn.Sequential`` models as :class:`relutope.Network`, and export back to PyTorch.

The module tree is translated into a :class:`relutope.io.lowering.Graph` and lowered by
:func:`relutope.io.lowering.lower`, the same lowering the ONNX importer uses. ``torch`` is imported only when
:func:`from_torch` or :func:`to_torch` is called (or :class:`Residual`, :class:`Maxout` or :class:`Abs` is first
accessed).

Accepted modules
----------------
* ``nn.Sequential`` (nested to any depth), whose ``forward`` is not overridden;
* ``nn.Linear`` (on the last axis), ``nn.Conv1d``, ``nn.Conv2d``, ``nn.Conv3d`` (``stride``, ``padding`` including
  ``"same"`` and ``"valid"``, ``dilation``, ``groups``; ``padding_mode="zeros"`` only);
* ``nn.ReLU``, ``nn.LeakyReLU`` (any slope), ``nn.PReLU`` (one slope, or one per channel), ``nn.Hardtanh`` (and its
  subclass ``nn.ReLU6``) and ``nn.Hardsigmoid`` (``relu6(x + 3) / 6``): a clamp ``min(max(z, lo), hi)`` has three
  pieces and is lowered with the exact identity ``lo + relu(z - lo) - relu(z - hi)`` (two ReLU units per element,
  since a MASO unit is a maximum of affine pieces); :class:`Abs` (``|x|``) and :class:`Maxout` (maxout units:
  maxima over groups of consecutive features, Goodfellow et al., ICML 2013) from this module;
* ``nn.Identity``, ``nn.Flatten`` (``start_dim >= 1``), ``nn.Unflatten`` (``dim >= 1``), ``nn.Dropout``,
  ``nn.Dropout1d``, ``nn.Dropout2d``, ``nn.Dropout3d`` (identity);
* ``nn.BatchNorm1d``, ``nn.BatchNorm2d``, ``nn.BatchNorm3d`` with running statistics;
* ``nn.AvgPool1d/2d/3d``, ``nn.MaxPool1d/2d/3d`` (without ``return_indices``), ``nn.AdaptiveAvgPool1d/2d/3d`` and
  ``nn.AdaptiveMaxPool1d/2d/3d`` (a fixed ``output_size``; adaptive max-pooling units have one piece per window
  element);
* ``nn.ZeroPad*``, ``nn.ConstantPad*``, ``nn.ReflectionPad*``, ``nn.ReplicationPad*``, ``nn.CircularPad*`` (1d, 2d,
  3d; padding is a fixed affine map);
* residual blocks, see below.

Layers that are not piecewise linear (``nn.Sigmoid``, ``nn.Tanh``, ``nn.GELU``, ``nn.SiLU``, ``nn.ELU``,
``nn.Softplus``, ``nn.Softmax``, ...) raise :class:`relutope.errors.ModelFormatError` naming the module. A final
``nn.Softmax`` or ``nn.LogSoftmax`` does not change the partition (the regions and the predicted class are those of
its input): drop it, or pass ``drop_final_softmax=True`` to :func:`from_torch`.

A module subclassing one of these is accepted only if it does not override ``forward``. Parameters are converted to
float64, whatever the module's dtype. The model is always lowered **in evaluation mode**, as after
``module.eval()``: dropout is the identity and batch normalisation uses the running statistics, whatever
``module.training`` says.

Residual blocks
---------------
``y = shortcut(x) + body(x)``, with ``shortcut`` the identity when absent. Either use :class:`Residual`::

    from relutope.io.torch import Residual
    block = Residual(nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8)))   # y = x + body(x)

or declare your own module class as residual by setting the *class* attribute ``relutope_residual = True``:
its instances must have a ``body`` attribute (a module :func:`from_torch` accepts) and optionally a ``shortcut``
attribute (such a module, or None), and their ``forward(x)`` must return ``shortcut(x) + body(x)`` (or
``x + body(x)`` without shortcut). relutope trusts the declaration: it does not trace ``forward``. A nonlinearity
after the sum (as in ResNet's basic block) goes after the block in the enclosing ``nn.Sequential``.

Export
------
:func:`to_torch` (``Network.to_torch()``) writes a network back as an ``nn.Sequential`` in float64: per layer an
``nn.Linear`` computing every affine piece, followed by ``nn.ReLU`` (layers of ReLU units), :class:`Maxout` (any
other layer with more than one piece per unit) or nothing (identity units). :func:`from_torch` reads it back to the
same layers, bit for bit, except that layers of identity units only (other than the last) are folded into the next
layer.
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from .._checks import check_bool
from ..errors import ModelFormatError
from ..network import Network
from .lowering import Graph, adaptive_windows, group_windows, lower, pad_index, same_padding

__all__ = ["Abs", "Maxout", "Residual", "from_torch", "to_torch"]


def _import_torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("from_torch needs PyTorch (pip install torch)") from exc
    return torch


def _make_modules():
    """The classes :class:`Residual`, :class:`Maxout` and :class:`Abs` (they subclass ``torch.nn.Module``)."""
    torch = _import_torch()

    class Residual(torch.nn.Module):
        """Residual block ``y = shortcut(x) + body(x)`` understood by :func:`relutope.io.torch.from_torch`.

        Parameters
        ----------
        body : torch.nn.Module
            A module :func:`from_torch` accepts (typically an ``nn.Sequential``).
        shortcut : torch.nn.Module or None, optional
            A module :func:`from_torch` accepts (e.g. a 1x1 convolution), or None for the identity.
        """

        relutope_residual = True

        def __init__(self, body, shortcut=None):
            super().__init__()
            self.body = body
            self.shortcut = shortcut

        def forward(self, x):
            return (x if self.shortcut is None else self.shortcut(x)) + self.body(x)

    class Maxout(torch.nn.Module):
        """Maxout units over the last axis: ``y[..., j] = max_r x[..., s_j + r]`` over groups of consecutive
        features (Goodfellow et al., "Maxout Networks", ICML 2013).

        Put it after an ``nn.Linear`` with ``k`` times as many outputs as maxout units: each unit is then a maximum
        of ``k`` affine functions of the layer input, a MASO unit with ``k`` pieces (:meth:`relutope.Layer.maxout`).

        Parameters
        ----------
        pieces : int or sequence of int
            ``k``: groups of ``k`` consecutive features (the last axis must be a multiple of ``k``); or one group
            size per output (they sum to the length of the last axis), for units with different numbers of pieces.
            At most 127 per group.

        Raises
        ------
        ValueError
            When a group size is below 1 or above 127.
        """

        def __init__(self, pieces):
            super().__init__()
            if isinstance(pieces, (int, np.integer)) and not isinstance(pieces, bool):
                groups = None
                k = int(pieces)
                bad = not 1 <= k <= 127
            else:
                groups = tuple(int(v) for v in pieces)
                k = None
                bad = not groups or min(groups) < 1 or max(groups) > 127
            if bad:
                raise ValueError(f"pieces must be an int or a non-empty sequence of ints in [1, 127], got {pieces!r}")
            self.k, self.groups = k, groups
            if groups is not None:  # gather the pieces, padding short groups with copies of their first piece
                idx = np.asarray(_group_rows(groups))
                self.register_buffer("index", torch.as_tensor(idx, dtype=torch.long), persistent=False)

        def counts(self, n_features: int):
            """Group sizes for an input with ``n_features`` features on the last axis (ValueError if unfit)."""
            if self.groups is not None:
                if sum(self.groups) != n_features:
                    raise ValueError(f"the groups {list(self.groups)} sum to {sum(self.groups)} but the input has "
                                     f"{n_features} features")
                return list(self.groups)
            if n_features % self.k:
                raise ValueError(f"{n_features} features are not a multiple of k={self.k}")
            return [self.k] * (n_features // self.k)

        def forward(self, x):
            if self.groups is None:
                return x.unflatten(-1, (-1, self.k)).amax(-1)
            return x[..., self.index].amax(-1)

        def extra_repr(self) -> str:
            return f"k={self.k}" if self.groups is None else f"groups={list(self.groups)}"

    class Abs(torch.nn.Module):
        """The elementwise absolute value ``|x|`` (a two-piece MASO unit ``max(-z, z)``), for ``nn.Sequential``."""

        def forward(self, x):
            return torch.abs(x)

    out = {}
    for cls in (Residual, Maxout, Abs):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
        out[cls.__name__] = cls
    return out


def _group_rows(counts) -> list:
    """Row indices (G, max(counts)) of consecutive groups, short groups padded with their first index."""
    K, out, start = max(counts), [], 0
    for k in counts:
        out.append(list(range(start, start + k)) + [start] * (K - k))
        start += k
    return out


_MODULES = ("Residual", "Maxout", "Abs")


def _modules() -> dict:
    """The module classes, created once (so that ``isinstance`` checks see one class each)."""
    if "Maxout" not in globals():
        globals().update(_make_modules())
    return {n: globals()[n] for n in _MODULES}


def __getattr__(name):
    # These classes subclass torch.nn.Module: create them on first access so importing this module needs no torch.
    if name in _MODULES:
        return _modules()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _np(t) -> np.ndarray:
    """A tensor's values as a float64 array."""
    return np.array(t.detach().cpu().double().numpy(), dtype=np.float64)


def _pair(v, n):
    return (int(v),) * n if isinstance(v, int) else tuple(int(a) for a in v)


class _Translator:
    def __init__(self, torch, g: Graph):
        self.torch = torch
        self.nn = torch.nn
        self.g = g
        nn = torch.nn
        mods = _modules()
        self.table = [
            (nn.Linear, self.linear), (nn.Conv1d, self.conv), (nn.Conv2d, self.conv), (nn.Conv3d, self.conv),
            (nn.ReLU, self.relu), (nn.LeakyReLU, self.leaky), (nn.PReLU, self.prelu), (nn.Hardtanh, self.hardtanh),
            (nn.Hardsigmoid, self.hardsigmoid), (mods["Maxout"], self.maxout), (mods["Abs"], self.abs),
            (nn.Identity, self.identity), (nn.Dropout, self.identity), (nn.Dropout1d, self.identity),
            (nn.Dropout2d, self.identity), (nn.Dropout3d, self.identity), (nn.Flatten, self.flatten),
            (nn.Unflatten, self.unflatten),
            (nn.BatchNorm1d, self.batchnorm), (nn.BatchNorm2d, self.batchnorm), (nn.BatchNorm3d, self.batchnorm),
            (nn.AvgPool1d, self.avgpool), (nn.AvgPool2d, self.avgpool), (nn.AvgPool3d, self.avgpool),
            (nn.MaxPool1d, self.maxpool), (nn.MaxPool2d, self.maxpool), (nn.MaxPool3d, self.maxpool),
            (nn.AdaptiveAvgPool1d, self.adaptive), (nn.AdaptiveAvgPool2d, self.adaptive),
            (nn.AdaptiveAvgPool3d, self.adaptive), (nn.AdaptiveMaxPool1d, self.adaptive),
            (nn.AdaptiveMaxPool2d, self.adaptive), (nn.AdaptiveMaxPool3d, self.adaptive),
        ]
        for mode, names in (("constant", ("ZeroPad", "ConstantPad")), ("reflect", ("ReflectionPad",)),
                            ("edge", ("ReplicationPad",)), ("wrap", ("CircularPad",))):
            for name in names:
                for nd in (1, 2, 3):
                    cls = getattr(nn, f"{name}{nd}d", None)
                    if cls is not None:
                        self.table.append((cls, lambda m, x, where, mode=mode, nd=nd: self.pad(m, x, where, mode,
                                                                                                 nd)))
        self.final = None  # the module whose output is the model's output (for drop_final_softmax)
        self.drop_final_softmax = False

    @staticmethod
    def origin(path: str, m) -> str:
        return f"module {path or '<root>'!r} ({type(m).__name__})"

    def translate(self, m, x: str, path: str) -> str:
        nn = self.nn
        where = self.origin(path, m)
        if getattr(type(m), "relutope_residual", False) is True:
            body = getattr(m, "body", None)
            short = getattr(m, "shortcut", None)
            if not isinstance(body, nn.Module) or not (short is None or isinstance(short, nn.Module)):
                raise TypeError(f"{where} declares relutope_residual but its 'body' is not a module or its "
                                f"'shortcut' is neither a module nor None")
            y = self.translate(body, x, f"{path}.body" if path else "body")
            s = x if short is None else self.translate(short, x, f"{path}.shortcut" if path else "shortcut")
            if self.g.shape(s) != self.g.shape(y):
                raise ModelFormatError(f"{where}: the shortcut gives shape {self.g.shape(s)} but the body gives "
                                       f"{self.g.shape(y)} (batch axis omitted)")
            return self.g.add("sum", [s, y], where, coefs=(1.0, 1.0))
        if isinstance(m, nn.Sequential):
            if type(m).forward is not nn.Sequential.forward:
                raise TypeError(f"{where} overrides nn.Sequential.forward; relutope cannot follow a custom "
                                f"forward (use nn.Sequential, relutope.io.torch.Residual, or a supported layer)")
            for name, child in m.named_children():
                x = self.translate(child, x, f"{path}.{name}" if path else name)
            return x
        for cls, handler in self.table:
            if isinstance(m, cls):
                if type(m).forward is not cls.forward:
                    raise TypeError(f"{where} overrides {cls.__name__}.forward; relutope cannot follow a custom "
                                    f"forward")
                return handler(m, x, where)
        if isinstance(m, (nn.Softmax, nn.LogSoftmax)) and m is self.final:
            if self.drop_final_softmax:
                return x
            raise ModelFormatError(f"{where} is not piecewise linear; as the model's last layer it does not change "
                                   f"the partition (the regions and the predicted class are those of its input): "
                                   f"remove it, or pass drop_final_softmax=True to from_torch")
        if isinstance(m, _non_pwl(nn)):
            raise ModelFormatError(f"{where} is not piecewise linear, so the model has no finite partition into "
                                   f"affine pieces: replace it with a piecewise-linear activation (ReLU, LeakyReLU, "
                                   f"PReLU, Hardtanh, Hardsigmoid) or lower only the part of the model before it")
        raise TypeError(f"{where} is not supported: from_torch accepts nn.Sequential (nested) of Linear, "
                        f"Conv1d/2d/3d, ReLU, LeakyReLU, PReLU, Hardtanh, ReLU6, Hardsigmoid, Identity, Flatten, "
                        f"Unflatten, Dropout, BatchNorm1d/2d/3d, AvgPool1d/2d/3d, MaxPool1d/2d/3d, "
                        f"AdaptiveAvgPool/AdaptiveMaxPool, the padding modules, relutope.io.torch.Maxout and Abs, and "
                        f"residual blocks (relutope.io.torch.Residual); a module with a custom forward cannot be "
                        f"followed")

    # ------------------------------------------------------------------ layers
    def linear(self, m, x, where):
        b = None if m.bias is None else _np(m.bias)
        return self.g.add("dense", [x], where, W=_np(m.weight), b=b)

    def conv(self, m, x, where):
        nd = m.weight.dim() - 2
        if m.padding_mode != "zeros":
            raise ModelFormatError(f"{where}: padding_mode={m.padding_mode!r} is not supported (only 'zeros')")
        kernel, stride, dilation = tuple(m.kernel_size), _pair(m.stride, nd), _pair(m.dilation, nd)
        s = self.g.shape(x)
        if len(s) != nd + 1:
            raise ModelFormatError(f"{where}: needs an input of shape (C, *spatial) with {nd} spatial axis(es) "
                                   f"after the batch axis, got {s}")
        if isinstance(m.padding, str):
            pads = ((0, 0),) * nd if m.padding == "valid" else same_padding(s[1:], kernel, stride, dilation)
        else:
            pads = _pair(m.padding, nd)
        b = None if m.bias is None else _np(m.bias)
        return self.g.add("conv", [x], where, weight=_np(m.weight), bias=b, stride=stride, pads=pads,
                          dilation=dilation, groups=m.groups)

    def relu(self, m, x, where):
        return self.g.add("act", [x], where, kind="relu")

    def leaky(self, m, x, where):
        return self.g.add("act", [x], where, kind="leaky_relu", alpha=float(m.negative_slope))

    def prelu(self, m, x, where):
        a = _np(m.weight).reshape(-1)
        s = self.g.shape(x)
        if a.size == 1:
            return self.g.add("act", [x], where, kind="leaky_relu", alpha=float(a[0]))
        if not s or s[0] != a.size:
            raise ModelFormatError(f"{where}: {a.size} slopes (num_parameters) for an input of shape {s} (batch axis "
                                   f"omitted): PReLU needs one slope per channel, axis 1 of the batched input")
        return self.g.add("act", [x], where, kind="leaky_relu", alpha=a.reshape((a.size,) + (1,) * (len(s) - 1)))

    def hardtanh(self, m, x, where):
        return self.g.add("clamp", [x], where, lo=float(m.min_val), hi=float(m.max_val))

    def hardsigmoid(self, m, x, where):  # relu6(x + 3) / 6
        y = self.g.add("scale", [x], where, add=np.array(3.0))
        y = self.g.add("clamp", [y], where, lo=0.0, hi=6.0)
        return self.g.add("scale", [y], where, mul=np.array(1.0 / 6.0))

    def abs(self, m, x, where):
        return self.g.add("act", [x], where, kind="abs")

    def maxout(self, m, x, where):
        s = self.g.shape(x)
        try:
            counts = m.counts(s[-1])
        except ValueError as exc:
            raise ModelFormatError(f"{where}: {exc}") from None
        return self.g.window_reduce(x, where, group_windows(s, counts), "max")

    def unflatten(self, m, x, where):
        s = self.g.shape(x)
        r = len(s) + 1
        dim = m.dim + r if m.dim < 0 else m.dim
        if not 1 <= dim < r:
            raise ModelFormatError(f"{where}: dim={m.dim} must name an axis after the batch axis of an input of rank "
                                   f"{r}")
        return self.g.add("reshape", [x], where, shape=s[:dim - 1] + tuple(m.unflattened_size) + s[dim:])

    def adaptive(self, m, x, where):
        nn = self.nn
        kinds = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
                 nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
        base = next(b for b in kinds if isinstance(m, b))
        nd = int(base.__name__[-2])
        s = self.g.shape(x)
        if len(s) != nd + 1:
            raise ModelFormatError(f"{where}: needs an input of shape (C, *spatial) with {nd} spatial axis(es) "
                                   f"after the batch axis, got {s}")
        if getattr(m, "return_indices", False):
            raise ModelFormatError(f"{where}: return_indices=True is not supported")
        try:
            win = adaptive_windows(s, m.output_size)
        except ValueError as exc:
            raise ModelFormatError(f"{where}: {exc}") from None
        return self.g.window_reduce(x, where, win, "max" if "Max" in base.__name__ else "mean")

    def pad(self, m, x, where, mode, nd):
        s = self.g.shape(x)
        if len(s) < nd:
            raise ModelFormatError(f"{where}: pads the last {nd} axes but the input has shape {s} (batch omitted)")
        p = [int(v) for v in m.padding]  # (left, right) of the last axis first, as torch.nn.functional.pad
        pads = [(0, 0)] * (len(s) - nd) + [(p[2 * i], p[2 * i + 1]) for i in reversed(range(nd))]
        try:
            index = pad_index(s, pads, mode)
        except ValueError as exc:
            raise ModelFormatError(f"{where}: {exc}") from None
        return self.g.gather(x, where, index, float(getattr(m, "value", 0.0)) if mode == "constant" else 0.0)

    def identity(self, m, x, where):
        return x

    def flatten(self, m, x, where):
        s = self.g.shape(x)
        r = len(s) + 1
        start = m.start_dim + r if m.start_dim < 0 else m.start_dim
        end = m.end_dim + r if m.end_dim < 0 else m.end_dim
        if not 0 <= start < r or not 0 <= end < r:
            raise ModelFormatError(f"{where}: start_dim={m.start_dim}, end_dim={m.end_dim} out of range for an "
                                   f"input of rank {r} (batch included)")
        if start == 0:
            raise ModelFormatError(f"{where}: start_dim=0 would merge the batch axis into the features")
        if end < start:
            return x
        new = s[:start - 1] + (int(np.prod(s[start - 1:end])),) + s[end:]
        return self.g.add("reshape", [x], where, shape=new)

    def batchnorm(self, m, x, where):
        if m.running_mean is None or m.running_var is None:
            raise ModelFormatError(f"{where}: without running statistics (track_running_stats=False) batch "
                                   f"normalisation uses batch statistics and is not a fixed affine map")
        rank = len(self.g.shape(x)) + 1
        ok = (2, 3) if isinstance(m, self.nn.BatchNorm1d) else (4,) if isinstance(m, self.nn.BatchNorm2d) else (5,)
        if rank not in ok:
            raise ModelFormatError(f"{where}: expects an input of rank {' or '.join(map(str, ok))} (batch included), "
                                   f"got rank {rank}")
        w = None if m.weight is None else _np(m.weight)
        b = None if m.bias is None else _np(m.bias)
        return self.g.batchnorm(x, where, mean=_np(m.running_mean), var=_np(m.running_var), weight=w, bias=b,
                                eps=float(m.eps))

    def _pool_args(self, m, x, where):
        nn = self.nn
        nd = next(int(b.__name__[-2]) for b in (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.MaxPool1d, nn.MaxPool2d,
                                                nn.MaxPool3d) if isinstance(m, b))
        s = self.g.shape(x)
        if len(s) != nd + 1:
            raise ModelFormatError(f"{where}: needs an input of shape (C, *spatial) with {nd} spatial axis(es) "
                                   f"after the batch axis, got {s}")
        kernel = _pair(m.kernel_size, nd)
        stride = kernel if m.stride is None or m.stride == () or m.stride == [] else _pair(m.stride, nd)
        pads = _pair(m.padding, nd)
        if any(2 * p > k for p, k in zip(pads, kernel)):
            raise ModelFormatError(f"{where}: padding {pads} must be at most half the kernel size {kernel}")
        return nd, kernel, stride, pads

    def avgpool(self, m, x, where):
        nd, kernel, stride, pads = self._pool_args(m, x, where)
        return self.g.add("avgpool", [x], where, kernel=kernel, stride=stride, pads=pads, ceil_mode=m.ceil_mode,
                          count_include_pad=m.count_include_pad, divisor=getattr(m, "divisor_override", None))

    def maxpool(self, m, x, where):
        if m.return_indices:
            raise ModelFormatError(f"{where}: return_indices=True is not supported")
        nd, kernel, stride, pads = self._pool_args(m, x, where)
        return self.g.add("maxpool", [x], where, kernel=kernel, stride=stride, pads=pads,
                          dilation=_pair(m.dilation, nd), ceil_mode=m.ceil_mode)


def _non_pwl(nn) -> tuple:
    """Module classes that are not piecewise linear (named in a clear error instead of 'not supported')."""
    names = ("Sigmoid", "Tanh", "GELU", "SiLU", "ELU", "CELU", "SELU", "GLU", "Softplus", "Softsign", "Softmax",
             "Softmax2d", "LogSoftmax", "Softmin", "LogSigmoid", "Mish", "Hardswish", "Tanhshrink", "RReLU")
    return tuple(getattr(nn, n) for n in names if hasattr(nn, n))


def _final_module(nn, m):
    """The leaf module whose output is ``m``'s output (the last child of nested ``nn.Sequential``), or None."""
    while isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward and len(m) > 0:
        m = m[-1]
    return m


def from_torch(module, input_shape: Union[int, Sequence[int]], *, drop_final_softmax: bool = False) -> Network:
    """Lower a PyTorch ``nn.Sequential`` model to a :class:`relutope.Network`.

    Parameters
    ----------
    module : torch.nn.Module
        An ``nn.Sequential`` (nested allowed) of the supported layers and residual blocks (see the module
        documentation), or one supported layer or residual block on its own.
    input_shape : int or sequence of int
        Shape of one input sample **without** the batch axis, e.g. ``(1, 28, 28)`` for ``nn.Conv2d`` or ``784``.
    drop_final_softmax : bool, optional
        Lower the model without a final ``nn.Softmax`` / ``nn.LogSoftmax`` (the network then outputs the logits).
        Softmax is strictly increasing in each logit given the others, so the activation regions, their patterns
        and the predicted class (the argmax) do not change. Without it, a final softmax raises
        :class:`~relutope.errors.ModelFormatError` saying so.

    Returns
    -------
    Network
        Float64 weights, evaluation-mode semantics. ``in_dim = prod(input_shape)``; the network's input is the
        C-order flattening of a sample, ``x.reshape(N, -1)``, and its output the flattening of the module's
        output. Layer ``l`` holds the units of the ``l``-th nonlinearity (nonlinearities in parallel branches
        share a layer), then identity units carrying skip-connection inputs; the last layer is linear
        (identity units), unless the model ends with a nonlinearity.

    Raises
    ------
    TypeError
        When ``module`` (or a submodule) is not supported: not an ``nn.Module``, not ``nn.Sequential`` and not a
        supported layer, or with an overridden ``forward``. The message names the submodule by its path. Also
        when ``input_shape`` is not an int or a sequence of ints, or ``drop_final_softmax`` not a bool.
    ModelFormatError
        (a ``ValueError``) When shapes do not fit (e.g. ``Linear.in_features`` vs. the incoming tensor) or a
        layer uses an unsupported option (``padding_mode``, ``return_indices``, batch norm without running
        statistics), or a layer is not piecewise linear (``nn.Sigmoid``, ``nn.GELU``, a softmax that is not the
        last layer, ...; the message names the module and what to do).
    ImportError
        When PyTorch is not installed.

    Examples
    --------
    >>> import torch, relutope
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.PReLU(3), torch.nn.Linear(3, 2),
    ...                             torch.nn.Softmax(dim=1))
    >>> net = relutope.from_torch(model, (2,), drop_final_softmax=True)
    >>> net.widths
    [2, 3, 2]
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    g = Graph(_input_shape(input_shape))
    tr = _Translator(torch, g)
    tr.final = _final_module(torch.nn, module)
    tr.drop_final_softmax = check_bool(drop_final_softmax, "drop_final_softmax")  # ("no" was truthy)
    with torch.no_grad():
        g.output = tr.translate(module, g.input, "")
    return lower(g)


def _input_shape(input_shape) -> tuple:
    """``input_shape`` as a tuple of ints (an int is one axis); a float, bool or str is a TypeError naming it (a
    float such as 3.5 was truncated to 3, a scalar float raised "'float' object is not iterable")."""
    is_int = lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))  # noqa: E731
    if is_int(input_shape):
        return (input_shape,)
    try:
        shape = tuple(input_shape) if not isinstance(input_shape, (str, bytes)) else None
    except TypeError:
        shape = None
    if shape is None or not all(is_int(v) for v in shape):
        raise TypeError(f"input_shape must be an int or a sequence of ints (the shape of one sample, without the "
                        f"batch axis), got {input_shape!r}")
    return shape


def _relu_layer(layer) -> bool:
    """Every unit ``max(0, a . x + c)``: two pieces, the first identically zero."""
    return bool(np.all(layer.n_pieces == 2) and not np.any(layer.A[0::2]) and not np.any(layer.c[0::2]))


def to_torch(net: Network):
    """The network as a float64 ``torch.nn.Sequential`` computing the same function.

    Parameters
    ----------
    net : relutope.Network

    Returns
    -------
    torch.nn.Sequential
        Per layer: an ``nn.Linear(in_dim, P)`` (float64) whose rows are the layer's ``P`` affine pieces, then
        ``nn.ReLU`` when every unit is a ReLU (its zero piece is not stored: the ``nn.Linear`` has one row per
        unit), :class:`Maxout` when units have several pieces (with the group sizes when they differ), and nothing
        for identity units. It takes inputs of shape ``(N, in_dim)`` and returns ``(N, out_dim)``;
        ``from_torch(to_torch(net), net.in_dim)`` gives the same layers bit for bit, except that a layer of
        identity units only, other than the last, is folded into the next one. The module is in evaluation mode.

    Raises
    ------
    TypeError
        When ``net`` is not a :class:`relutope.Network`.
    ImportError
        When PyTorch is not installed.

    Examples
    --------
    >>> import numpy as np, torch, relutope
    >>> net = relutope.Network.random([2, 4, 1], seed=0)
    >>> model = net.to_torch()
    >>> x = np.random.default_rng(0).normal(size=(5, 2))
    >>> bool(np.allclose(model(torch.from_numpy(x)).detach().numpy(), net(x), rtol=0, atol=1e-12))
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"to_torch needs a relutope.Network, got {type(net).__name__}")
    torch = _import_torch()
    Maxout = _modules()["Maxout"]
    mods = []
    for layer in net.layers:
        relu = _relu_layer(layer)
        A, c = (layer.A[1::2], layer.c[1::2]) if relu else (layer.A, layer.c)
        lin = torch.nn.Linear(layer.in_dim, A.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.array(A)))
            lin.bias.copy_(torch.from_numpy(np.array(c)))
        mods.append(lin)
        k = np.unique(layer.n_pieces)
        if relu:
            mods.append(torch.nn.ReLU())
        elif k.size > 1:
            mods.append(Maxout(layer.n_pieces.tolist()))
        elif int(k[0]) > 1:
            mods.append(Maxout(int(k[0])))
    return torch.nn.Sequential(*mods).eval()
