"""The region adjacency graph of a partition, its linear regions, and a check that the partition is closed.

Two activation regions are *adjacent* when they share a (k-1)-dimensional facet (touching in a lower-dimensional
face, e.g. at a vertex, does not count). Across a facet of unit ``u`` in layer ``l`` the activation pattern changes
at ``u``; the units of layers before ``l`` and the other units of layer ``l`` keep their pieces, and units of later
layers keep theirs unless their pre-activation vanishes on the whole facet. The compiled core finds the region
across every facet by its pattern: first the pattern with ``u`` set to its piece across the facet, looked up in a
hash map of all patterns; when that region does not exist or does not contain the facet point, the forward-pass
pattern of points just across the facet. A region is accepted only when it contains the facet point.

A facet whose row coincides with another unit's row only within rounding (:attr:`Facets.dup_exact` false, e.g.
weights differing in the last bit) cannot be decided in floating point: the two rows may be one hyperplane (the
regions on both sides share the facet) or two that cross or run parallel within rounding of each other (thin
regions lie between them and the regions on both sides touch in a lower-dimensional face at most). The pair found
across such a facet is reported in :attr:`Adjacency.undecided_edges`, not as an edge, and :func:`check_complete`
does not pass it; ``check_complete(certify=True)`` decides it in exact arithmetic.

Conventions: graph nodes are region indices; edge data never uses the attribute name ``weight`` (reserved by
networkx for a number meant as an edge weight).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Tuple

import numpy as np

from ._checks import check_bool, check_partition, check_real
from ._progress import CHECKPOINT_EVERY, region_bar

if TYPE_CHECKING:  # pragma: no cover
    import networkx

    from .partition import Partition

__all__ = ["Adjacency", "CompletenessReport", "region_adjacency", "adjacency_graph", "linear_regions",
           "check_complete", "DEFAULT_MAP_ATOL"]

#: Default relative tolerance of :func:`linear_regions` for comparing affine maps.
DEFAULT_MAP_ATOL = 1e-9


class Adjacency:
    """The adjacency of a partition's regions (made by :meth:`Partition.adjacency`).

    Attributes
    ----------
    edges : ndarray, shape (E, 2), int64
        Pairs ``(i, j)``, ``i < j``, of regions sharing a facet, sorted.
    undecided_edges : ndarray, shape (U, 2), int64
        Pairs ``(i, j)``, ``i < j``, found across a facet whose row coincides with another unit's only within
        rounding (see the module docstring), sorted; not in ``edges``.
    undecided_facet : ndarray, shape (U,), int64
        The facet (index into :meth:`Partition.facets` arrays) across which each such pair was found.
    unit : ndarray, shape (E,), int64
        Global index of the unit whose piece changes across the shared facet.
    layer : ndarray, shape (E,), int64
        Its layer.
    unit_in_layer : ndarray, shape (E,), int64
        Its index within the layer.
    facet : ndarray, shape (E,), int64
        Index (into :meth:`Partition.facets` arrays) of the shared facet as seen from region ``i`` (from ``j``
        when only ``j`` found ``i``).
    points : ndarray, shape (E, k), float64
        A point in the relative interior of the shared facet, in domain coordinates ``t``.
    points_x : ndarray, shape (E, d), float64
        The same points in input space.
    neighbor : ndarray, shape (F,), int64
        For every facet, the region on its other side; -1 for facets on the domain's boundary, -2 when no region
        of the partition was found there.
    undecided : ndarray, shape (F,), bool
        Whether the facet's neighbour is undecided (it is then in ``undecided_edges``).
    found_by : ndarray, shape (F,), int8
        0 when the neighbour has the facet's flipped pattern, 1 when it was found by a forward pass just across the
        facet, -1 for domain facets and facets without a neighbour.
    expected : ndarray, shape (F,), bool
        Whether the neighbour's pattern differs from the region's as expected: equal on the layers before the
        crossed unit's layer and on that layer's other units, the crossed unit at the facet's ``piece`` (units
        whose row is the same hyperplane, :attr:`Facets.dup_unit`, at their own piece).
    contain_tol : float
        A region contains a point when each of its facet rows holds within this (input units).
    seconds : float
        Wall time of the compiled computation (facets not included).
    """

    def __init__(self, partition: "Partition", out: dict, contain_tol: float):
        facets = partition.facets()
        self.edges = out["edges"]
        self.unit = out["edge_unit"]
        self.layer = out["edge_layer"]
        self.unit_in_layer = out["edge_index"]
        self.facet = out["edge_facet"]
        self.points = facets.points[self.facet]
        self.points_x = facets.points_x[self.facet]
        self.neighbor = out["neighbor"]
        self.undecided_edges = out["undecided_edges"]
        self.undecided_facet = out["undecided_facet"]
        self.undecided = out["undecided"].astype(bool)
        self.found_by = out["found_by"]
        self.expected = out["expected"].astype(bool)
        self.forward_passes = int(out["forward_passes"])
        self.contain_tol = float(contain_tol)
        self.seconds = float(out["seconds"])

    def __len__(self) -> int:
        return int(self.edges.shape[0])

    def __repr__(self) -> str:
        return f"Adjacency({len(self)} edges)"


def default_contain_tol(partition: "Partition") -> float:
    """The default ``contain_tol`` of :func:`region_adjacency`: ``10 tol`` in input units (relative to the domain's
    size, as ``tol`` is)."""
    return 10.0 * partition.tol


def region_adjacency(partition: "Partition", contain_tol: Optional[float] = None, progress: bool = False,
                     threads: Optional[int] = None) -> Adjacency:
    """Which regions share a facet, across which unit, and where (see the module docstring).

    Parameters
    ----------
    partition : Partition
    contain_tol : float, optional
        A region contains a facet point when each of its facet rows holds within this, in input units. Default:
        :func:`default_contain_tol`.
    progress : bool, optional
        Show tqdm bars counting regions, for the facets (when not computed yet) and for the adjacency.
    threads : int, optional
        Worker threads over chunks of regions (default ``None``: every core; the same result with any number).

    Returns
    -------
    Adjacency

    Raises
    ------
    ValueError
        When ``contain_tol`` is not positive.
    NumericalError
        When the facet computation breaks down.
    KeyboardInterrupt
        On Ctrl-C (the GIL is released while the core runs).
    """
    from . import _core
    from ._threads import resolve_threads

    check_partition(partition)
    threads = resolve_threads(threads)
    contain_tol = default_contain_tol(partition) if contain_tol is None else check_real(contain_tol, "contain_tol")
    f = partition.facets(progress=progress)
    # The core works in coordinates centred on the domain and in units of its size (relutope.domains._EngineFrame).
    frame = partition.domain._engine_frame()
    fv, s = frame.form, frame.s
    with region_bar(progress, len(partition), "adjacency") as update:
        out = _core.region_adjacency(partition.network._core(), fv.x0, fv.Q, fv.A, fv.b,
                                     np.ascontiguousarray(partition.patterns), f.offsets, f._rows_u,
                                     frame.rhs_to_v(f._rows_u, f.b), f.unit, f.piece, frame.to_v(f._points_u),
                                     f.radii / s, f.dup_facet, f.dup_unit, f.dup_piece,
                                     f.dup_exact.astype(np.int8), contain_tol / s,
                                     partition.tol / s, update, CHECKPOINT_EVERY if progress else 0, threads)
    return Adjacency(partition, out, contain_tol)


def adjacency_graph(partition: "Partition", progress: bool = False) -> "networkx.Graph":
    """The region adjacency graph as a :class:`networkx.Graph`.

    Nodes are region indices ``0 .. R-1`` with attributes ``pattern`` (ndarray (n_units,) int8, a view),
    ``witness`` (ndarray (d,) float64, the Chebyshev centre in input space), ``radius`` (float), ``boundary``
    (list of int: the rows of :meth:`Domain.constraints` on which the region has a facet; empty for an interior
    region) and, when :meth:`Partition.volumes` has been computed, ``volume`` (float). An edge joins regions sharing
    a facet, with attributes ``layer`` and ``unit`` (the crossed unit: its layer and global index),
    ``unit_in_layer`` (its index within the layer) and ``facet_point`` (ndarray (d,) float64, a point in the
    relative interior of the shared facet, in input space). No attribute is called ``weight``. With
    ``progress=True``, tqdm bars count the regions done by the facets and the adjacency (when not cached yet).

    Raises
    ------
    ImportError
        When networkx is not installed.
    """
    import networkx as nx

    check_partition(partition)
    f = partition.facets(progress=progress)
    adj = partition.adjacency(progress=progress)
    G = nx.Graph()
    dom = f.unit < 0
    boundary: List[List[int]] = [[] for _ in range(len(partition))]
    for r, u in zip(f.region[dom].tolist(), (-1 - f.unit[dom]).tolist()):
        boundary[r].append(u)
    vol = partition._volumes
    pats, wit, rad = partition.patterns, partition.witnesses, partition.radii.tolist()
    if vol is None:
        G.add_nodes_from((i, {"pattern": pats[i], "witness": wit[i], "radius": rad[i], "boundary": boundary[i]})
                         for i in range(len(partition)))
    else:
        vl = vol.tolist()
        G.add_nodes_from((i, {"pattern": pats[i], "witness": wit[i], "radius": rad[i], "boundary": boundary[i],
                              "volume": vl[i]}) for i in range(len(partition)))
    pts = adj.points_x
    G.add_edges_from((i, j, {"layer": l, "unit": u, "unit_in_layer": v, "facet_point": pts[e]})
                     for e, (i, j, l, u, v) in enumerate(zip(adj.edges[:, 0].tolist(), adj.edges[:, 1].tolist(),
                                                             adj.layer.tolist(), adj.unit.tolist(),
                                                             adj.unit_in_layer.tolist())))
    return G


def linear_regions(partition: "Partition", atol: float = DEFAULT_MAP_ATOL) -> Tuple[np.ndarray, int]:
    """Merge adjacent activation regions with equal affine maps into the linear regions of the function.

    An *activation region* is a set of inputs sharing one activation pattern; on it the network is one affine
    map. A *linear region* is a maximal connected open set on which the network (restricted to the domain) is
    affine, up to its boundary. Several activation regions can carry the same affine map, e.g. when a unit whose
    output is ignored downstream (zero outgoing weights, or feeding only dead units) changes its piece: they are
    one linear region when they are connected through shared facets. Activation regions with equal maps that are
    not connected (or touch only in a lower-dimensional face) stay apart. (Hanin & Rolnick, "Complexity of Linear
    Regions in Deep Networks", ICML 2019, discuss the distinction.)

    Two adjacent regions are merged when their maps on the domain, ``t -> A t + c`` with ``A = A_Q @ basis`` and
    ``c = A_Q @ origin + b_Q``, agree entrywise within ``atol`` times the largest absolute entry of the two maps,
    or of all the regions' maps when that is larger: ``max(|A_i - A_j|, |c_i - c_j|) <= atol * max(|A_i|, |A_j|,
    |c_i|, |c_j|, M)`` with ``M`` the largest absolute entry of any region's map (so that maps that cancel to
    rounding noise compare alike, and the outcome does not change when the outputs are scaled). The linear
    regions are the connected components of the graph of merged edges (scipy.sparse.csgraph, the same components
    as networkx's).

    Parameters
    ----------
    partition : Partition
    atol : float, optional
        Relative tolerance (see above); default ``1e-9``.

    Returns
    -------
    labels : ndarray, shape (R,), int64
        Linear region of every activation region, numbered ``0 .. count-1`` in order of their lowest region index.
    count : int
        Number of linear regions.

    Raises
    ------
    ValueError
        When ``atol`` is negative or not finite.
    TypeError
        When ``atol`` is not a number (a bool included).

    Examples
    --------
    Two lines crossing in the square; the second unit's output weight is 0, so crossing its line changes nothing:

    >>> import numpy as np, relutope
    >>> W, V = np.array([[1.0, 0.2], [-0.3, 1.0]]), np.array([[1.0, 0.0]])
    >>> net = relutope.Network.from_weights([(W, np.zeros(2)), (V, np.zeros(1))])
    >>> part = relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1]))
    >>> len(part), part.linear_regions()[1]
    (4, 2)
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    check_partition(partition)
    atol = check_real(atol, "atol", strict=False)
    R = len(partition)
    if R == 0:
        return np.zeros(0, dtype=np.int64), 0
    A_Q, b_Q = partition.affine_maps()
    origin, basis = partition.domain.parametrization()
    A = A_Q @ basis  # (R, m, k)
    c = A_Q @ origin + b_Q  # (R, m)
    flat = np.concatenate([A.reshape(R, -1), c], axis=1)
    mag = np.abs(flat).max(axis=1)
    e = partition.adjacency().edges
    i, j = e[:, 0], e[:, 1]
    diff = np.abs(flat[i] - flat[j]).max(axis=1) if len(e) else np.zeros(0)
    same = diff <= atol * np.maximum(mag.max(), np.maximum(mag[i], mag[j]))
    M = coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(R, R))
    count, labels = connected_components(M, directed=False)
    # Renumber by lowest member so the labels do not depend on scipy's traversal order.
    first = np.full(count, R, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(R))
    rank = np.empty(count, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(count)
    return rank[labels].astype(np.int64), int(count)


@dataclass
class CompletenessReport:
    """The result of :func:`check_complete`.

    Attributes
    ----------
    ok : bool
        True when the partition has regions and every facet inside the domain has a region of the partition on
        its other side whose pattern differs in the expected way and which has the facet back.
    gaps : list of (int, int)
        ``(region, facet)`` for facets with no region on the other side; ``facet`` indexes the region's facets
        (``partition.facets(region)``).
    mismatches : list of (int, int)
        ``(region, facet)`` for facets whose neighbour's pattern differs in an unexpected way (a unit before the
        crossed unit's layer, or another unit of that layer, changed), or whose neighbour does not list the region
        back.
    undecided : list of (int, int)
        ``(region, facet)`` for facets whose row coincides with another unit's only within rounding, so that
        floating point cannot decide whether the region across shares the facet
        (:attr:`Adjacency.undecided_edges`); ``ok`` is then False.
    n_regions, n_facets, n_boundary_facets, n_edges : int
        Sizes: regions, facets, facets on the domain's boundary, adjacent pairs.
    certificate : dict or None
        With ``certify=True``: the exact certificates ``{"witnesses", "facets", "adjacency"}``
        (:func:`relutope.certified_facets.certified_completeness`); None otherwise.
    """

    ok: bool
    gaps: List[Tuple[int, int]] = field(default_factory=list)
    mismatches: List[Tuple[int, int]] = field(default_factory=list)
    n_regions: int = 0
    n_facets: int = 0
    n_boundary_facets: int = 0
    n_edges: int = 0
    certificate: Optional[dict] = None
    undecided: List[Tuple[int, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return (f"CompletenessReport(ok={self.ok}, gaps={len(self.gaps)}, mismatches={len(self.mismatches)}, "
                f"regions={self.n_regions}, facets={self.n_facets}, boundary facets={self.n_boundary_facets}, "
                f"edges={self.n_edges}" + (f", undecided={len(self.undecided)})" if self.undecided else ")"))

    def _repr_html_(self) -> str:
        from ._html import result_html

        return result_html(self)


def _members(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` (int64) is in ``pool``, as ``np.isin(values, pool)``, by sorting: numpy's isin
    (hash tables since numpy 2.3) and a searchsorted of unsorted keys both miss the cache on every key, about 5 s
    per million keys under load, where a sort takes about 0.07 s per million. When the two arrays are the same
    multiset (every adjacency mutual, the usual case) one sort of each decides it; else the values are sorted,
    looked up in order and the answers put back in place."""
    pool = np.sort(pool)
    if len(values) == len(pool) and np.array_equal(np.sort(values), pool):
        return np.ones(len(values), dtype=bool)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    at = np.minimum(np.searchsorted(pool, ordered), max(len(pool) - 1, 0))
    out = np.zeros(len(values), dtype=bool)
    if len(pool):
        out[order] = pool[at] == ordered
    return out


def check_complete(partition: "Partition", progress: bool = False, certify: bool = False) -> CompletenessReport:
    """Verify facet closure: every facet inside the domain has exactly one region on its other side.

    For every facet not on the domain's boundary, the region across it (found as in :func:`region_adjacency`, by
    pattern, and checked to contain the facet point) must exist in the partition, its pattern must differ in the
    expected way (the crossed unit takes the facet's piece; units of earlier layers and the other units of its
    layer are unchanged; units of later layers may change), and it must have the region as its neighbour across
    one of its own facets. A facet whose row coincides with another unit's only within rounding is undecided
    (see the module docstring) and fails the check. A partition missing a region fails: the facets of its neighbours facing it are gaps.
    Exactly one region is on the other side by construction, since patterns are unique and regions are disjoint.
    A partition without any region fails too (a domain is never empty). Regions thinner than the enumeration's
    ``tol`` are not enumerated: with a coarse ``tol`` the partition has holes where they are, and the facets facing
    them are reported (as gaps, or as mismatches when the region found across skipped a missing one).

    Parameters
    ----------
    partition : Partition
    progress : bool, optional
        Show tqdm bars counting regions, for the facets and the adjacency (when not computed yet).
    certify : bool, optional
        Prove the closure in exact rational arithmetic instead (python-flint): every witness, every facet and
        redundant row, and every interior facet covered by a listed neighbour; ``ok`` is then a proof that the
        closed regions cover the domain (:func:`relutope.certified_facets.certified_completeness`).

    Returns
    -------
    CompletenessReport

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`.
    ImportError
        With ``certify=True`` when python-flint is not installed (``pip install "relutope[exact]"``).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 8, 8, 1], seed=0), relutope.Box([-1, -1], [1, 1]))
    >>> part.check_complete().ok
    True
    >>> keep = np.arange(len(part)) != 5       # drop region 5: its neighbours' facets facing it become gaps
    >>> holed = relutope.Partition(part.network, part.domain, part.patterns[keep], part._centers[keep],
    ...                            part.radii[keep], part.layer_counts, tol=part.tol)
    >>> rep = holed.check_complete()
    >>> rep.ok, len(rep.gaps) == int(np.sum(part.facets(5).unit >= 0))
    (False, True)
    """
    check_partition(partition)
    check_bool(progress, "progress")
    if check_bool(certify, "certify"):
        from .certified_facets import certified_completeness

        return certified_completeness(partition)
    f = partition.facets(progress=progress)
    adj = partition.adjacency(progress=progress)
    nb = adj.neighbor
    owner = f.region
    local = np.arange(f.n_facets) - f.offsets[owner]
    interior = f.unit >= 0
    gap = interior & (nb < 0)
    found = interior & (nb >= 0)
    R = np.int64(max(len(partition), 1))
    directed = owner[found] * R + nb[found]
    mutual = np.zeros(f.n_facets, dtype=bool)
    mutual[found] = _members(nb[found] * R + owner[found], directed)
    undecided = found & adj.undecided
    bad = found & ~undecided & (~adj.expected | ~mutual)
    return CompletenessReport(
        ok=len(partition) > 0 and not (gap.any() or bad.any() or undecided.any()),
        gaps=list(zip(owner[gap].tolist(), local[gap].tolist())),
        mismatches=list(zip(owner[bad].tolist(), local[bad].tolist())),
        n_regions=len(partition), n_facets=f.n_facets, n_boundary_facets=int((~interior).sum()), n_edges=len(adj),
        undecided=list(zip(owner[undecided].tolist(), local[undecided].tolist())))
