"""Partition-based signal distances: how far apart two inputs are in the network's partition.

The spline view labels every input by its VQ code, the activation pattern of the region holding it
(Balestriero & Baraniuk, "A Spline Theory of Deep Networks", ICML 2018, Section 5: the partition-based distance
between two signals is the Hamming distance between their codes, layer by layer). This module holds the code
distances; the per-layer distance here is the one every analysis of partitions (early-bird tickets, pruning)
builds on.

=============================  ==========================================================  ====================
function                       distance between x and x'                                   needs
=============================  ==========================================================  ====================
:func:`layer_code_distance`    per layer, the fraction of its units whose pieces differ    two patterns
:func:`vq_distance`            the sum of those over the layers (the ICML 2018 distance)   the network
:func:`hamming_distance`       the number of units whose pieces differ                     the network
:func:`segment_distance`       region boundaries crossed by the segment [x, x'] (exact)    the network
:func:`graph_distance`         shortest path between their regions in the adjacency graph  a :class:`Partition`
:func:`pairwise_distance`      any of the above between every pair of two point sets       either
=============================  ==========================================================  ====================

For one hidden layer the last three agree: the regions are the cells of a hyperplane arrangement, and the segment
crosses exactly the hyperplanes that separate x from x', which are the units whose signs differ; the shortest
path in the arrangement's adjacency graph crosses each separating hyperplane once and no other. For deeper
networks ``hamming <= graph <= segment``: every facet crossed flips (generically) one unit, and consecutive pieces
of the segment are adjacent regions.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from ._checks import check_bool, check_choice, check_pieces
from .network import Network, _as_points

if TYPE_CHECKING:  # pragma: no cover
    from .partition import Partition

__all__ = ["layer_code_distance", "vq_distance", "hamming_distance", "segment_distance", "graph_distance",
           "pairwise_distance", "METRICS"]

#: The metrics of :func:`pairwise_distance`.
METRICS = ("vq", "hamming", "segment", "graph")


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
        When the patterns do not have ``n_units`` columns, their shapes differ, or they name a piece index a unit
        does not have (below 0, or at least its number of pieces).

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
        check_pieces(arr, network.n_pieces, name)
        arrays.append(arr)
    a, b = arrays
    if a.shape != b.shape:
        raise ValueError(f"patterns_a and patterns_b must have the same shape, got {a.shape} and {b.shape}")
    single = a.ndim == 1
    out = _layer_diff_counts(network, np.atleast_2d(a), np.atleast_2d(b)).astype(np.float64)
    out /= _layer_widths(network)[None, :]
    return out[0] if single else out


def _layer_widths(network: Network) -> np.ndarray:
    """Units per layer, (L,) float64 (identity units included, as the normalisation of the ICML 2018 distance)."""
    return np.bincount(network.unit_layer, minlength=len(network)).astype(np.float64)


def _layer_diff_counts(network: Network, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Units whose pieces differ, per layer: (N, L) int64 for patterns a, b of shape (N, n_units)."""
    diff = a != b
    starts = np.concatenate([[0], np.cumsum([layer.n_units for layer in network.layers])[:-1]])
    return np.add.reduceat(diff, starts, axis=1, dtype=np.int64)  # a layer's units are contiguous


def _check_network(network) -> Network:
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    return network


def _point_pairs(network: Network, x_a, x_b):
    """Inputs x_a, x_b as (N, d) arrays of the same shape, and whether one pair was given as two (d,) points."""
    single = np.ndim(x_a) == 1 and np.ndim(x_b) == 1
    a = _as_points(x_a, "x_a", network.in_dim)
    b = _as_points(x_b, "x_b", network.in_dim)
    if a.shape != b.shape:
        raise ValueError(f"x_a and x_b must have the same shape, got {np.shape(x_a)} and {np.shape(x_b)}")
    return a, b, single


def vq_distance(network: Network, x_a, x_b, per_layer: bool = False) -> np.ndarray:
    """The partition-based distance of Balestriero & Baraniuk between inputs: normalised code distances, summed.

    Parameters
    ----------
    network : Network
    x_a, x_b : array_like, shape (N, d) or (d,), float64
        Inputs, compared row by row.
    per_layer : bool, optional
        Return the per-layer terms (N, L) instead of their sum.

    Returns
    -------
    ndarray, shape (N,) (or (N, L) with ``per_layer``; without the N axis for two (d,) points), float64
        ``sum_l (1 / n_l) #{units k of layer l : q_k(x_a) != q_k(x_b)}``, where ``q_k`` is the piece unit ``k``
        chooses (its VQ code) and ``n_l`` the layer's width; in ``[0, L]``.

    Raises
    ------
    TypeError, ValueError
        When ``network`` is not a Network or the inputs are not finite numeric arrays of the same shape (N, d).

    Notes
    -----
    Balestriero & Baraniuk, "A Spline Theory of Deep Networks", ICML 2018, Section 5 ("a partition-based distance
    between signals"); it is :func:`layer_code_distance` of the inputs' activation patterns, summed over layers.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.distance import vq_distance
    >>> net = relutope.Network.from_weights([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    >>> float(vq_distance(net, [1.0, 1.0], [-1.0, 1.0]))     # one of the two ReLUs differs
    0.5
    """
    network = _check_network(network)
    a, b, single = _point_pairs(network, x_a, x_b)
    d = layer_code_distance(network, network.activation_pattern(a), network.activation_pattern(b))
    out = d if check_bool(per_layer, "per_layer") else d.sum(axis=1)
    return out[0] if single else out


def hamming_distance(network: Network, x_a, x_b, per_layer: bool = False) -> np.ndarray:
    """The number of units whose chosen pieces differ between two inputs (the unnormalised code distance).

    Parameters
    ----------
    network : Network
    x_a, x_b : array_like, shape (N, d) or (d,), float64
    per_layer : bool, optional
        Return the counts per layer (N, L) instead of their sum.

    Returns
    -------
    ndarray, shape (N,) (or (N, L); without the N axis for two (d,) points), int64

    Raises
    ------
    TypeError, ValueError
        As :func:`vq_distance`.

    Notes
    -----
    For a network with one hidden layer this is the number of the layer's hyperplanes that separate ``x_a`` from
    ``x_b``, which equals :func:`segment_distance` and :func:`graph_distance` (see the module docstring).
    """
    network = _check_network(network)
    a, b, single = _point_pairs(network, x_a, x_b)
    c = _layer_diff_counts(network, network.activation_pattern(a), network.activation_pattern(b))
    out = c if check_bool(per_layer, "per_layer") else c.sum(axis=1)
    return out[0] if single else out


def segment_distance(network: Network, x_a, x_b, tol: float = 1e-9) -> np.ndarray:
    """The number of region boundaries the segment ``[x_a, x_b]`` crosses, exactly (a geodesic distance).

    Parameters
    ----------
    network : Network
    x_a, x_b : array_like, shape (N, d) or (d,), float64
    tol : float, optional
        Passed to :func:`relutope.line_count` (relative to each segment's length).

    Returns
    -------
    ndarray, shape (N,) (or a 0-d array for two (d,) points), int64
        ``n_regions - 1`` for the regions the segment crosses (0 when both inputs are in one region, or equal).

    Raises
    ------
    TypeError, ValueError
        As :func:`vq_distance`, and for ``tol`` outside (0, 0.5).

    Notes
    -----
    Each segment is walked by :func:`relutope.line_count` (every pre-activation is affine along it between
    breakpoints), one segment after another. Activation regions are convex, so the segment meets each region in
    one piece and the count is a distance along the straight path (Balestriero & Baraniuk's code distance counts
    changed units instead; for one hidden layer the two agree).
    """
    from .sampling import _check_tol, line_count

    network = _check_network(network)
    a, b, single = _point_pairs(network, x_a, x_b)
    tol = _check_tol(tol)  # also when no segment is walked (every pair equal)
    out = np.zeros(a.shape[0], dtype=np.int64)
    for i in range(a.shape[0]):
        if not np.array_equal(a[i], b[i]):
            out[i] = line_count(network, a[i], b[i], tol=tol).n_regions - 1
    return out[0] if single else out


def _regions_of(partition: "Partition", x: np.ndarray, name: str) -> np.ndarray:
    idx = partition.locate(x)
    bad = np.nonzero(idx < 0)[0]
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] (and {bad.size - 1} more) lies outside the partition's domain or in "
                         f"no region of it (an incomplete partition, or a region thinner than its tol)")
    return idx


def _region_hops(partition: "Partition", sources: np.ndarray) -> np.ndarray:
    """Unweighted shortest-path lengths (len(sources), R) in the adjacency graph (inf: not connected)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    R = len(partition)
    e = partition.adjacency().edges
    M = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(R, R)).tocsr()
    return shortest_path(M, directed=False, unweighted=True, indices=sources)


def graph_distance(partition: "Partition", x_a, x_b) -> np.ndarray:
    """The shortest-path length between the regions of two inputs in the partition's adjacency graph.

    Parameters
    ----------
    partition : Partition
        A partition whose domain holds the inputs (its adjacency is computed once and cached).
    x_a, x_b : array_like, shape (N, d) or (d,), float64

    Returns
    -------
    ndarray, shape (N,) (or 0-d for two (d,) points), float64
        The least number of facets a path through the regions (region to region across shared facets) crosses;
        ``inf`` when the regions are not connected (an incomplete partition).

    Raises
    ------
    TypeError, ValueError
        When ``partition`` is not a Partition, the inputs are malformed, or an input lies outside the domain or in
        no region of the partition.

    Notes
    -----
    The graph is :meth:`Partition.adjacency` (the edges of :meth:`Partition.adjacency_graph`); breadth-first search
    by :func:`scipy.sparse.csgraph.shortest_path`, once per distinct source region.
    """
    from .partition import Partition

    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    a, b, single = _point_pairs(partition.network, x_a, x_b)
    ra, rb = _regions_of(partition, a, "x_a"), _regions_of(partition, b, "x_b")
    src, inv = np.unique(ra, return_inverse=True)
    out = _region_hops(partition, src)[inv.ravel(), rb]
    return out[0] if single else out


def _one_hot(network: Network, patterns: np.ndarray, units: np.ndarray) -> np.ndarray:
    """(N, sum of K over ``units``) float64 one-hot codes of the pieces the given units choose."""
    K = network.n_pieces[units]
    start = np.concatenate([[0], np.cumsum(K)])
    cols = start[:-1][None, :] + patterns[:, units].astype(np.int64)
    out = np.zeros((patterns.shape[0], int(start[-1])))
    np.put_along_axis(out, cols, 1.0, axis=1)
    return out


def pairwise_distance(model, X, Y=None, metric: str = "vq", tol: float = 1e-9) -> np.ndarray:
    """The distance between every point of ``X`` and every point of ``Y`` (default: ``X``).

    Parameters
    ----------
    model : Network or Partition
        A Partition is needed for ``metric="graph"`` (the others use its network).
    X : array_like, shape (N, d), float64
    Y : array_like, shape (M, d), float64, optional
    metric : {"vq", "hamming", "segment", "graph"}, optional
        :func:`vq_distance` (default), :func:`hamming_distance`, :func:`segment_distance` or :func:`graph_distance`.
    tol : float, optional
        Passed to :func:`segment_distance`.

    Returns
    -------
    ndarray, shape (N, M)
        float64 for ``"vq"`` and ``"graph"``, int64 for ``"hamming"`` and ``"segment"``. Entry ``(i, j)`` is the
        metric between ``X[i]`` and ``Y[j]``.

    Raises
    ------
    TypeError, ValueError
        On a bad model, points, metric name (``"graph"`` without a Partition) or ``tol`` (whatever the metric),
        and as the metric's function.

    Notes
    -----
    ``"vq"`` and ``"hamming"`` take one matrix product of one-hot codes per layer: two units agree when their
    one-hot piece vectors have inner product 1, so the number of layer-``l`` units that differ is
    ``n_l - <e_a, e_b>_l`` (units with one piece never differ). ``"segment"`` walks the ``N M`` segments one by
    one (:func:`line_count`), and ``"graph"`` runs one breadth-first search per distinct region of ``X``.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.distance import pairwise_distance
    >>> net = relutope.Network.random([2, 6, 6, 1], seed=0)
    >>> X = np.random.default_rng(0).normal(size=(5, 2))
    >>> D = pairwise_distance(net, X, metric="hamming")
    >>> D.shape, bool(np.all(D == D.T)), bool(np.all(np.diag(D) == 0))
    ((5, 5), True, True)
    """
    from .partition import Partition
    from .sampling import _check_tol

    check_choice(metric, "metric", METRICS)
    tol = _check_tol(tol)  # whatever the metric: a bad tol is an error, not ignored
    partition = model if isinstance(model, Partition) else None
    network = partition.network if partition is not None else model
    network = _check_network(network)
    X = _as_points(X, "X", network.in_dim)
    Y = X if Y is None else _as_points(Y, "Y", network.in_dim)
    if metric == "graph":
        if partition is None:
            raise TypeError(f"metric='graph' needs a relutope.Partition as model, got {type(model).__name__}")
        ra, rb = _regions_of(partition, X, "X"), _regions_of(partition, Y, "Y")
        src, inv = np.unique(ra, return_inverse=True)
        return _region_hops(partition, src)[inv.ravel()][:, rb]
    if metric == "segment":
        N, M = X.shape[0], Y.shape[0]
        ia, ib = np.repeat(np.arange(N), M), np.tile(np.arange(M), N)
        return segment_distance(network, X[ia], Y[ib], tol=tol).reshape(N, M)
    pa, pb = network.activation_pattern(X), network.activation_pattern(Y)
    K, layer = network.n_pieces, network.unit_layer
    counts = np.zeros((len(network), X.shape[0], Y.shape[0]), dtype=np.int64)
    for l in range(len(network)):
        units = np.nonzero((layer == l) & (K >= 2))[0]
        if units.size:
            same = _one_hot(network, pa, units) @ _one_hot(network, pb, units).T  # integers, exact in float64
            counts[l] = units.size - np.rint(same).astype(np.int64)
    if metric == "hamming":
        return counts.sum(axis=0)
    return np.sum(counts / _layer_widths(network)[:, None, None], axis=0)
