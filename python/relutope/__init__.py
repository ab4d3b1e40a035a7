"""relutope: exact activation regions of piecewise-affine neural networks."""
from .domains import Box, Domain, Polytope, Slice, WholeSpace
from .network import ACTIVATIONS, Layer, Network

__all__ = ["ACTIVATIONS", "Box", "Domain", "Layer", "Network", "Polytope", "Slice", "WholeSpace"]
__version__ = "0.1.0"
