"""Importers (ONNX models, PyTorch modules and ACAS Xu ``.nnet`` files to :class:`relutope.Network`) and exporters.

* :func:`relutope.io.onnx.load_onnx` -- ONNX models (needs the ``onnx`` package).
* :func:`relutope.io.torch.from_torch` -- ``torch.nn.Sequential`` models (needs ``torch``).
* :func:`relutope.io.nnet.load_nnet` -- the ``.nnet`` text format of the ACAS Xu networks.
* :func:`relutope.io.torch.to_torch` and :func:`relutope.io.onnx.to_onnx` (``Network.to_torch()``,
  ``Network.to_onnx()``) -- a network back to PyTorch and ONNX, computing the same function in float64.

The ONNX and PyTorch importers translate into the intermediate :class:`relutope.io.lowering.Graph` and share
:func:`relutope.io.lowering.lower`. Importing this package does not import ``onnx`` or ``torch``.
"""
from __future__ import annotations

from .nnet import NNetInfo, load_nnet
from .onnx import load_onnx, to_onnx
from .torch import from_torch, to_torch

__all__ = ["NNetInfo", "from_torch", "load_nnet", "load_onnx", "to_onnx", "to_torch"]
