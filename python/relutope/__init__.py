"""relutope: exact activation regions of piecewise-affine neural networks.

The main entry point is :func:`enumerate_regions`, which returns a :class:`Partition` of a :class:`Domain` into
the activation regions of a :class:`Network` (Balestriero & Baraniuk, "A Spline Theory of Deep Networks",
ICML 2018).
"""
from .compare import SamplingComparison, compare_sampling
from .compare import RegionComparison, RegionDifference, compare_regions
from .domains import Box, Domain, Polytope, Slice, WholeSpace
from .enumerate import default_tol, enumerate_regions, min_tol
from .errors import ModelFormatError, NumericalError, RelutopeError, RelutopeWarning
from .io import from_torch, load_nnet, load_onnx
from .network import ACTIVATIONS, Layer, Network
from .partition import Partition, Region
from .sampling import (LineCrossing, LineDensity, PatternSample, RichnessEstimate, ace, chao1, line_count,
                       line_density, sample_patterns, sample_patterns_gaussian, sample_points)
from .verify import (AdversarialResult, LipschitzResult, OutputBounds, VerificationResult, lipschitz,
                     min_adversarial, output_bounds, verify)
# The analyses, one module each (heavy optional dependencies are imported inside their functions).
from . import (certificates, complexity, distance, distributed, early_bird, exact, gaussian, generative,
               matched_filters, plot, polygons, pruning, refinement, region_stats, tables, topology, vnnlib)

__all__ = [
    "ACTIVATIONS", "AdversarialResult", "Box", "Domain", "Layer", "LineCrossing", "LineDensity", "LipschitzResult",
    "ModelFormatError", "Network", "NumericalError", "OutputBounds", "Partition", "PatternSample", "Polytope",
    "Region", "RelutopeError", "RelutopeWarning", "RichnessEstimate", "SamplingComparison", "Slice",
    "VerificationResult", "WholeSpace", "ace", "chao1", "compare_sampling", "default_tol", "enumerate_regions",
    "min_tol", "from_torch", "line_count", "line_density", "lipschitz", "load_nnet", "load_onnx", "min_adversarial",
    "output_bounds", "sample_patterns", "sample_patterns_gaussian", "sample_points", "verify",
    "certificates", "complexity", "distance", "distributed", "early_bird", "exact", "gaussian", "generative",
    "matched_filters", "plot", "polygons", "pruning", "refinement", "region_stats", "tables", "topology", "vnnlib",
]
# Exact rational LP with certificates, and certified facets and adjacency (python-flint, imported lazily).
from . import certified_facets, exact_lp  # noqa: E402
__all__ += ["certified_facets", "exact_lp"]
__all__ += ["RegionComparison", "RegionDifference", "compare_regions"]
__version__ = "0.1.0"
