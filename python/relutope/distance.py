"""Partition-based signal distances: how far apart two inputs are in the network's partition.

The spline view labels every input by its VQ code, the activation pattern of the region holding it
(Balestriero & Baraniuk, "A Spline Theory of Deep Networks", ICML 2018, Section 5: the partition-based distance
between two signals is the Hamming distance between their codes, layer by layer). This module holds the code
distances; the per-layer distance here is the one every analysis of partitions (early-bird tickets, pruning)
builds on.
"""
from __future__ import annotations

import numpy as np

from .network import Network

__all__ = ["layer_code_distance"]


def layer_code_distance(network: Network, patterns_a, patterns_b) -> np.ndarray:
    """Per-layer normalised Hamming distance between activation patterns.

    Parameters
    ----------
    network : Network
        The network whose units the patterns index (its ``unit_layer`` groups the units by layer).
    patterns_a, patterns_b : array_like of int, shape (N, n_units) or (n_units,)
        Activation patterns (the chosen piece of every unit; for ReLU 1 = active), e.g. from
        :meth:`Network.activation_pattern`. Two rows differ at a unit when they choose different pieces.

    Returns
    -------
    ndarray, shape (N, L) or (L,), float64
        For every pair of rows and every layer ``l`` of ``L``, the fraction of layer ``l``'s units whose pieces
        differ, in [0, 1]. Summing over the last axis gives the ICML 2018 distance.

    Raises
    ------
    TypeError
        When ``network`` is not a :class:`Network` or the patterns are not integer arrays.
    ValueError
        When the patterns do not have ``n_units`` columns or their shapes differ.

    Notes
    -----
    Balestriero & Baraniuk, "A Spline Theory of Deep Networks", ICML 2018, Section 5 (VQ codes and the
    partition-based distance).
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    arrays = []
    for name, value in (("patterns_a", patterns_a), ("patterns_b", patterns_b)):
        arr = np.asarray(value)
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
        if arr.ndim not in (1, 2) or arr.shape[-1] != network.n_units:
            raise ValueError(f"{name} must have shape (N, {network.n_units}) or ({network.n_units},), "
                             f"got {arr.shape}")
        arrays.append(arr)
    a, b = arrays
    if a.shape != b.shape:
        raise ValueError(f"patterns_a and patterns_b must have the same shape, got {a.shape} and {b.shape}")
    single = a.ndim == 1
    diff = (np.atleast_2d(a) != np.atleast_2d(b)).astype(np.float64)
    layer = network.unit_layer
    widths = np.bincount(layer, minlength=len(network)).astype(np.float64)
    out = np.zeros((diff.shape[0], len(network)))
    np.add.at(out.T, layer, diff.T)
    out /= widths[None, :]
    return out[0] if single else out
