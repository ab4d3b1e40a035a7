"""Importers: ONNX models, PyTorch modules and ACAS Xu ``.nnet`` files to :class:`relutope.Network`.

* :func:`relutope.io.onnx.load_onnx` -- ONNX models (needs the ``onnx`` package).
* :func:`relutope.io.torch.from_torch` -- ``torch.nn.Sequential`` models (needs ``torch``).
* :func:`relutope.io.nnet.load_nnet` -- the ``.nnet`` text format of the ACAS Xu networks.

The ONNX and PyTorch importers translate into the intermediate :class:`relutope.io.lowering.Graph` and share
:func:`relutope.io.lowering.lower`. Importing this package does not import ``onnx`` or ``torch``.
"""
from __future__ import annotations

from .nnet import NNetInfo, load_nnet
from .onnx import load_onnx
from .torch import from_torch

__all__ = ["NNetInfo", "from_torch", "load_nnet", "load_onnx"]
