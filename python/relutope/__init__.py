"""relutope: exact activation regions of piecewise-affine neural networks."""
from .network import ACTIVATIONS, Layer, Network

__all__ = ["ACTIVATIONS", "Layer", "Network"]
__version__ = "0.1.0"
