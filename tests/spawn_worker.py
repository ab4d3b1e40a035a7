"""Work done in a child process of a ``multiprocessing`` spawn pool (tests/test_pickle.py).

A module of its own because the test modules are imported by pytest's importlib mode, under names a child
process cannot import; conftest.py puts tests/ on ``sys.path``, which a spawned child inherits.
"""
import numpy as np


def evaluate(obj, X):
    """``(obj, relutope's path, results)``: what the unpickled ``obj`` computes on the points ``X`` (N, d)."""
    import relutope

    if isinstance(obj, relutope.Network):
        y, pats = obj.forward(X)
        A, b = obj.local_affine_map(pats)
        results = {"y": y, "patterns": pats, "A": A, "b": b}
    elif isinstance(obj, relutope.Domain):
        results = {"contains": obj.contains(X), "coords": obj.to_coords(X)}
    elif isinstance(obj, relutope.Partition):
        results = {"locate": obj.locate(X), "witnesses": obj.witnesses, "affine": obj.affine_maps()[0]}
    elif isinstance(obj, relutope.Region):
        results = {"halfspaces": np.hstack([obj.halfspaces()[0], obj.halfspaces()[1][:, None]]),
                   "affine": obj.affine_map()[0]}
    else:
        raise TypeError(f"unexpected {type(obj).__name__}")
    return obj, relutope.__file__, results
