"""relutope: exact activation regions of piecewise-affine neural networks.

The main entry point is :func:`enumerate_regions`, which returns a :class:`Partition` of a :class:`Domain` into
the activation regions of a :class:`Network` (Balestriero & Baraniuk, "A Spline Theory of Deep Networks",
ICML 2018).
"""
from .domains import Box, Domain, Polytope, Slice, WholeSpace
from .enumerate import default_tol, enumerate_regions
from .errors import ModelFormatError, NumericalError, RelutopeError
from .network import ACTIVATIONS, Layer, Network
from .partition import Partition, Region

__all__ = [
    "ACTIVATIONS", "Box", "Domain", "Layer", "ModelFormatError", "Network", "NumericalError", "Partition",
    "Polytope", "Region", "RelutopeError", "Slice", "WholeSpace", "default_tol", "enumerate_regions",
]
__version__ = "0.1.0"
