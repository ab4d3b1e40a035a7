"""Import of PyTorch ``nn.Sequential`` models as :class:`relutope.Network`.

The module tree is translated into a :class:`relutope.io.lowering.Graph` and lowered by
:func:`relutope.io.lowering.lower`, the same lowering the ONNX importer uses. ``torch`` is imported only when
:func:`from_torch` is called (or :class:`Residual` is first accessed).

Accepted modules
----------------
* ``nn.Sequential`` (nested to any depth), whose ``forward`` is not overridden;
* ``nn.Linear`` (on the last axis), ``nn.Conv1d``, ``nn.Conv2d`` (``stride``, ``padding`` including ``"same"`` and
  ``"valid"``, ``dilation``, ``groups``; ``padding_mode="zeros"`` only);
* ``nn.ReLU``, ``nn.LeakyReLU``, ``nn.Hardtanh`` (and its subclass ``nn.ReLU6``; lowered with two ReLUs per
  element), ``nn.Identity``, ``nn.Flatten`` (``start_dim >= 1``), ``nn.Dropout``, ``nn.Dropout1d``,
  ``nn.Dropout2d`` (identity);
* ``nn.BatchNorm1d``, ``nn.BatchNorm2d`` with running statistics;
* ``nn.AvgPool1d``, ``nn.AvgPool2d``, ``nn.MaxPool1d``, ``nn.MaxPool2d`` (without ``return_indices``);
* residual blocks, see below.

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
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ..errors import ModelFormatError
from ..network import Network
from .lowering import Graph, lower, same_padding

__all__ = ["Residual", "from_torch"]


def _import_torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("from_torch needs PyTorch (pip install torch)") from exc
    return torch


def _make_residual():
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

    Residual.__module__ = __name__
    Residual.__qualname__ = "Residual"
    return Residual


def __getattr__(name):
    # ``Residual`` subclasses torch.nn.Module: create it on first access so importing this module needs no torch.
    if name == "Residual":
        cls = _make_residual()
        globals()["Residual"] = cls
        return cls
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
        self.table = [
            (nn.Linear, self.linear), (nn.Conv1d, self.conv), (nn.Conv2d, self.conv),
            (nn.ReLU, self.relu), (nn.LeakyReLU, self.leaky), (nn.Hardtanh, self.hardtanh),
            (nn.Identity, self.identity), (nn.Dropout, self.identity), (nn.Dropout1d, self.identity),
            (nn.Dropout2d, self.identity), (nn.Flatten, self.flatten),
            (nn.BatchNorm1d, self.batchnorm), (nn.BatchNorm2d, self.batchnorm),
            (nn.AvgPool1d, self.avgpool), (nn.AvgPool2d, self.avgpool),
            (nn.MaxPool1d, self.maxpool), (nn.MaxPool2d, self.maxpool),
        ]

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
        raise TypeError(f"{where} is not supported: from_torch accepts nn.Sequential (nested) of Linear, Conv1d, "
                        f"Conv2d, ReLU, LeakyReLU, Hardtanh, Identity, Flatten, Dropout, BatchNorm1d/2d, "
                        f"AvgPool1d/2d, MaxPool1d/2d and residual blocks (relutope.io.torch.Residual); a module "
                        f"with a custom forward cannot be followed")

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

    def hardtanh(self, m, x, where):
        return self.g.add("clamp", [x], where, lo=float(m.min_val), hi=float(m.max_val))

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
        ok = (2, 3) if isinstance(m, self.nn.BatchNorm1d) else (4,)
        if rank not in ok:
            raise ModelFormatError(f"{where}: expects an input of rank {' or '.join(map(str, ok))} (batch included), "
                                   f"got rank {rank}")
        w = None if m.weight is None else _np(m.weight)
        b = None if m.bias is None else _np(m.bias)
        return self.g.batchnorm(x, where, mean=_np(m.running_mean), var=_np(m.running_var), weight=w, bias=b,
                                eps=float(m.eps))

    def _pool_args(self, m, x, where):
        nd = 1 if isinstance(m, (self.nn.AvgPool1d, self.nn.MaxPool1d)) else 2
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


def from_torch(module, input_shape: Union[int, Sequence[int]]) -> Network:
    """Lower a PyTorch ``nn.Sequential`` model to a :class:`relutope.Network`.

    Parameters
    ----------
    module : torch.nn.Module
        An ``nn.Sequential`` (nested allowed) of the supported layers and residual blocks (see the module
        documentation), or one supported layer or residual block on its own.
    input_shape : int or sequence of int
        Shape of one input sample **without** the batch axis, e.g. ``(1, 28, 28)`` for ``nn.Conv2d`` or ``784``.

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
        supported layer, or with an overridden ``forward``. The message names the submodule by its path.
    ModelFormatError
        (a ``ValueError``) When shapes do not fit (e.g. ``Linear.in_features`` vs. the incoming tensor) or a
        layer uses an unsupported option (``padding_mode``, ``return_indices``, batch norm without running
        statistics).
    ImportError
        When PyTorch is not installed.
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
    g = Graph(shape)
    with torch.no_grad():
        g.output = _Translator(torch, g).translate(module, g.input, "")
    return lower(g)
