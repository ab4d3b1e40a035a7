"""The partition of a domain into activation regions: :class:`Partition` and :class:`Region`."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from ._checks import check_choice, check_domain, check_pieces
from .domains import Domain, _domain_from_state
from .network import Network, _as_points, _read_npz

if TYPE_CHECKING:  # pragma: no cover
    import networkx
    import pandas

    from .geometry import Facets, RegionFacets
    from .graph import Adjacency, CompletenessReport
    from .certificates import EnumerationCertificate

__all__ = ["Partition", "Region"]

STATUSES = ("complete", "max_regions", "time_limit", "interrupted", "stopped", "numerical")
#: The engines a partition can come from (:attr:`Partition.method`; ``enumerate_regions(method=...)`` adds "auto").
METHODS = ("lp", "polygon", "polytope")


def _pack(network: Network, patterns) -> np.ndarray:
    """Dense patterns (R, n_units), any integer dtype, checked and packed: (R, pattern_bytes) uint8."""
    from . import _core

    pats = np.asarray(patterns)
    if not (np.issubdtype(pats.dtype, np.integer) or (pats.size == 0 and pats.dtype == np.float64)):  # [] too
        raise TypeError(f"patterns must be an integer array, got dtype {pats.dtype}")
    if pats.ndim != 2 or pats.shape[1] != network.n_units:
        raise ValueError(f"patterns must have shape (R, {network.n_units}), got {pats.shape}")
    if pats.size and (pats.min() < 0 or pats.max() > 127):  # before int8 could wrap them onto valid pieces
        raise ValueError("patterns name a piece index that a unit does not have")
    return _core.pack_patterns(network._core(), np.ascontiguousarray(pats, dtype=np.int8))


class Region:
    """One activation region of a :class:`Partition` (a view; cheap to create).

    Attributes
    ----------
    index : int
        Position in the partition.
    pattern : ndarray, shape (n_units,), int8
        The activation pattern (chosen piece of every unit).
    witness : ndarray, shape (d,), float64
        An interior point in the network's input space: the Chebyshev centre of the region.
    radius : float
        The Chebyshev radius (inradius) of the region within the domain, in input units.
    """

    def __init__(self, partition: "Partition", index: int):
        self._partition = partition
        self.index = index

    @property
    def pattern(self) -> np.ndarray:
        return self._partition._patterns_at(slice(self.index, self.index + 1))[0]

    @property
    def witness(self) -> np.ndarray:
        return self._partition._witnesses_at(slice(self.index, self.index + 1))[0]

    @property
    def radius(self) -> float:
        return float(self._partition.radii[self.index])

    def halfspaces(self) -> Tuple[np.ndarray, np.ndarray]:
        """H-representation ``A t <= b`` of the region in domain coordinates ``t``.

        Returns
        -------
        A : ndarray, shape (m, k), float64
        b : ndarray, shape (m,), float64
            The domain's own constraints, then one row ``(f_s - f_p)(x(t)) <= 0`` for every unit with ``K >= 2``
            pieces and every piece ``s`` other than the chosen ``p`` (for a ReLU: ``z <= 0`` if inactive,
            ``-z <= 0`` if active). Rows that vanish identically are dropped. The representation is exact but not
            minimal: rows of units that do not cut the region are redundant. For a full-dimensional
            :class:`~relutope.Box`, :class:`~relutope.Polytope` or :class:`~relutope.WholeSpace`, ``t = x``.
        """
        from . import _core

        part = self._partition
        G, h = _core.region_halfspaces(part.network._core(), np.ascontiguousarray(self.pattern))
        origin, basis = part.domain.parametrization()
        A = G @ basis
        b = h - G @ origin
        keep = np.linalg.norm(A, axis=1) > 0
        Ad, bd = part.domain.constraints()
        return np.vstack([Ad, A[keep]]), np.concatenate([bd, b[keep]])

    def affine_map(self) -> Tuple[np.ndarray, np.ndarray]:
        """The network on this region: ``y = A_Q x + b_Q`` with A_Q (m, d) and b_Q (m,), float64."""
        return self._partition.network.local_affine_map(self.pattern)

    def facets(self) -> "RegionFacets":
        """The region's minimal H-representation with the source and a relative-interior point of every facet.

        See :meth:`Partition.facets` and :class:`~relutope.geometry.RegionFacets`.
        """
        return self._partition.facets(self.index)

    def vertices(self, space: str = "domain") -> np.ndarray:
        """The vertices of the region (domains of dimension k <= 6, :data:`relutope.geometry.MAX_VERTEX_DIM`).

        Parameters
        ----------
        space : {"domain", "input"}, optional
            Return them in domain coordinates ``t`` (V, k) or in input space ``x`` (V, d).

        Returns
        -------
        ndarray, shape (V, k) or (V, d), float64
            For k = 1 the two ends of the interval, lower first; for k = 2 in counter-clockwise order (in the
            engine's orthonormal coordinates); otherwise in the order the kernel finds them.

        Raises
        ------
        ValueError
            When k > 6, the region is unbounded, or ``space`` is unknown.
        NumericalError
            When the volume kernel cannot decide the region's vertices.

        Notes
        -----
        The extreme points of the facets' H-representation by the double description method (Fukuda & Prodon,
        "Double description method revisited", 1996) in the compiled volume kernel (see
        :mod:`relutope.geometry`).
        """
        from .geometry import region_vertices

        check_choice(space, "space", ("domain", "input"))
        part = self._partition
        V = region_vertices(part, self.index)
        form = part.domain._engine_form()
        return V @ form.Rinv.T if space == "domain" else form.x0 + V @ form.Q.T

    def volume(self) -> float:
        """The region's k-dimensional volume in input units (k <= 6); see :meth:`Partition.volumes`."""
        part = self._partition
        if part._volumes is not None:
            return float(part._volumes[self.index])
        from .geometry import _polytope_measures

        return float(_polytope_measures(part, [self.index], vertices=False).volumes[0])

    def __reduce__(self):
        return (Region, (self._partition, self.index))

    def __repr__(self) -> str:
        return f"Region(index={self.index}, radius={self.radius:.3g})"


class Partition:
    """The activation regions of a network over a domain, as computed by :func:`relutope.enumerate_regions`.

    Attributes
    ----------
    network : Network
    domain : Domain
    patterns : ndarray, shape (R, n_units), int8
        Activation pattern of every region; rows are distinct. Expanded from :attr:`packed_patterns` on every
        access (see there).
    packed_patterns : ndarray, shape (R, pattern_bytes), uint8
        The patterns as stored: ``ceil(log2 K)`` bits per unit (read-only).
    witnesses : ndarray, shape (R, d), float64
        Chebyshev centre of every region, in the network's input space (computed on every access).
    witness_coords : ndarray, shape (R, k), float64
        The same points in domain coordinates ``t`` (see :mod:`relutope.domains`).
    radii : ndarray, shape (R,), float64
        Chebyshev radius of every region within the domain (input units; capped for unbounded domains).
    layer_counts : ndarray, shape (L,), int64
        ``layer_counts[l]`` is the number of regions of the partition induced by layers ``0..l`` (the last entry
        equals ``len(partition)`` when complete).
    status : str
        ``"complete"``, ``"max_regions"``, ``"time_limit"``, ``"interrupted"`` or ``"numerical"`` (an LP broke
        down; see :attr:`message`).
    message : str
        For ``"numerical"``: the failing cell (the LP status, the unit being inserted, its layer and the pattern of
        the layers before it); else empty. Saved by :meth:`save`.
    method : str
        The engine that found the regions: ``"lp"``, ``"polygon"`` or ``"polytope"`` (see
        :func:`~relutope.enumerate_regions`); ``"lp"`` for partitions built otherwise. Saved by :meth:`save` (files
        written before it was saved load as ``"lp"``).
    tol : float
        The tolerance used: every region holds a ball of radius ``> tol``.
    lps, lp_iterations : int
        LPs solved and dual simplex iterations.
    seconds : float
        Wall time of the enumeration.

    Parameters
    ----------
    network : Network
    domain : Domain
    patterns : array_like of int, shape (R, n_units)
        The activation pattern of every region (the chosen piece of every unit); stored packed.
    centers : array_like, shape (R, k), float64
        An interior point of every region in the domain's engine coordinates ``u`` (``x = x0 + Q u``, see
        :mod:`relutope.domains`): what :func:`~relutope.enumerate_regions` computes, and ``partition._centers``.
    radii : array_like, shape (R,), float64
    layer_counts : array_like of int, shape (L,)
    polygons : tuple of (offsets, vertices), optional
        For a planar domain: every region's polygon as CSR arrays, ``offsets`` (R+1,) int64 and ``vertices``
        (V, 2) float64 in domain coordinates ``t``, counter-clockwise (see :mod:`relutope.polygons`); the 2-D fast
        path of :func:`~relutope.enumerate_regions` passes them. Otherwise :meth:`polygons` computes them.

    Raises
    ------
    TypeError
        When ``network`` or ``domain`` has the wrong type or ``patterns`` is not an integer array.
    ValueError
        When the arrays' shapes do not fit together or a pattern names a piece a unit does not have.

    Notes
    -----
    Storage. A partition keeps per region its pattern packed (``ceil(log2 K)`` bits per unit of ``K`` pieces: one
    bit per ReLU, :attr:`packed_patterns`), its centre in the domain's own ``k`` coordinates and its radius, and
    nothing of the input's size ``d``: for a 2-D slice of a wide MNIST network that is about 1.3 kB per region
    where dense int8 patterns and (R, d) witnesses took 16 kB (``bench/bench_memory.py``). The dense forms
    :attr:`patterns`, :attr:`witnesses` and :attr:`witness_coords` are computed on every access and not cached,
    so that using them once does not keep them: bind the array to a name (``P = part.patterns``) rather than
    indexing ``part.patterns[i]`` in a loop, which expands all R rows every time; ``part[i].pattern`` and
    ``part[i].witness`` compute one row.
    """

    message: str = ""
    method: str = "lp"
    #: ``enumerate_regions(..., certify=True)``: its :class:`~relutope.certificates.EnumerationCertificate`.
    certificate = None

    def __init__(self, network: Network, domain: Domain, patterns, centers, radii, layer_counts, *,
                 status: str = "complete", tol: float, lps: int = 0, lp_iterations: int = 0,
                 seconds: float = 0.0, polygons: Optional[Tuple[np.ndarray, np.ndarray]] = None):
        if not isinstance(network, Network):
            raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
        check_domain(domain)
        self._init(network, domain, _pack(network, patterns), centers, radii, layer_counts, status=status, tol=tol,
                   lps=lps, lp_iterations=lp_iterations, seconds=seconds, polygons=polygons)

    @classmethod
    def _from_packed(cls, network: Network, domain: Domain, packed: np.ndarray, centers, radii, layer_counts,
                     **kwargs) -> "Partition":
        """A partition from patterns already packed by the core, (R, pattern_bytes) uint8 (taken, not copied)."""
        self = cls.__new__(cls)
        self._init(network, domain, packed, centers, radii, layer_counts, **kwargs)
        return self

    def _init(self, network: Network, domain: Domain, packed: np.ndarray, centers, radii, layer_counts, *,
              status: str = "complete", tol: float, lps: int = 0, lp_iterations: int = 0,
              seconds: float = 0.0, polygons: Optional[Tuple[np.ndarray, np.ndarray]] = None):
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        if domain.dim != network.in_dim:
            raise ValueError(f"domain has dimension {domain.dim} but the network takes {network.in_dim} inputs")
        self.network = network
        self.domain = domain._for_network(network)  # (a WholeSpace's size and centre: the network's)
        self._packed = np.asarray(packed, dtype=np.uint8)
        self._packed.flags.writeable = False
        self._centers = np.asarray(centers, dtype=np.float64)
        self.radii = np.asarray(radii, dtype=np.float64)
        R = self._packed.shape[0]
        if self._packed.shape != (R, network._core().pattern_bytes):
            raise ValueError(f"packed patterns must have shape (R, {network._core().pattern_bytes}), "
                             f"got {self._packed.shape}")
        if self._centers.shape != (R, domain.intrinsic_dim):
            raise ValueError(f"centers must have shape ({R}, {domain.intrinsic_dim}) for {R} patterns on a domain "
                             f"of intrinsic dimension {domain.intrinsic_dim}, got {self._centers.shape}")
        if self.radii.shape != (R,):
            raise ValueError(f"radii must have shape ({R},) for {R} patterns, got {self.radii.shape}")
        self.layer_counts = np.asarray(layer_counts, dtype=np.int64)
        self.status = status
        self.tol = float(tol)
        self._facets: Optional["Facets"] = None
        self._adjacency: Optional["Adjacency"] = None
        self._volumes: Optional[np.ndarray] = None
        self.lps = int(lps)
        self.lp_iterations = int(lp_iterations)
        self.seconds = float(seconds)
        self._order: Optional[np.ndarray] = None
        self._polygons: Optional[Tuple[np.ndarray, np.ndarray]] = None
        if polygons is not None:
            offsets = np.asarray(polygons[0], dtype=np.int64)
            vertices = np.asarray(polygons[1], dtype=np.float64)
            if (offsets.shape != (len(self) + 1,) or vertices.ndim != 2 or vertices.shape[1] != 2
                    or offsets[0] != 0 or offsets[-1] != vertices.shape[0] or np.any(np.diff(offsets) < 0)):
                raise ValueError(f"polygons must be (offsets (R+1,), vertices (V, 2)) with offsets from 0 to V for "
                                 f"R = {len(self)} regions, got shapes {offsets.shape} and {vertices.shape}")
            self._polygons = (offsets, vertices)

    # ------------------------------------------------------------------ stored and expanded forms
    @property
    def patterns(self) -> np.ndarray:
        """The activation pattern of every region, (R, n_units) int8 (ReLU: 1 = active).

        Expanded from :attr:`packed_patterns` on every access and not cached (a new, writable array each time,
        ``R * n_units`` bytes): keep the result rather than indexing ``part.patterns[i]`` in a loop, or use
        ``part[i].pattern`` for one region.
        """
        return self._patterns_at(slice(None))

    @property
    def packed_patterns(self) -> np.ndarray:
        """The patterns as stored, (R, pattern_bytes) uint8, read-only.

        Unit ``i`` with ``K_i`` pieces takes ``w_i = ceil(log2 K_i)`` bits (one per ReLU, none for a single-piece
        unit) at bit offset ``o_i = w_0 + ... + w_{i-1}`` of its region's row; bit ``b`` of a row is bit ``b % 8``
        (least significant first) of byte ``b // 8``, and the piece index is written least significant bit first,
        so that ``np.unpackbits(row, bitorder="little")[o_i:o_i + w_i] @ 2 ** np.arange(w_i)`` is unit ``i``'s
        piece. Padding bits are zero: two patterns are equal exactly when their rows are.

        Examples
        --------
        >>> import numpy as np, relutope
        >>> net = relutope.Network.random([2, 5, 5, 1], seed=0)    # ten ReLUs, a linear output: 10 bits
        >>> part = relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1]))
        >>> part.pattern_bytes, part.packed_patterns.shape == (len(part), 2)
        (2, True)
        >>> bits = np.unpackbits(part.packed_patterns, axis=1, bitorder="little")[:, :10]
        >>> bool(np.array_equal(bits, part.patterns[:, :10]))
        True
        """
        return self._packed

    @property
    def pattern_bytes(self) -> int:
        """Bytes of one packed pattern: ``ceil(sum_i ceil(log2 K_i) / 8)`` (see :attr:`packed_patterns`)."""
        return int(self._packed.shape[1])

    @property
    def witnesses(self) -> np.ndarray:
        """Chebyshev centre of every region in the network's input space, (R, d) float64.

        Computed from the stored centres (``k`` coordinates per region) on every access and not cached; keep the
        result, or use ``part[i].witness`` for one region (the same numbers, bit for bit).
        """
        return self._witnesses_at(slice(None))

    @property
    def witness_coords(self) -> np.ndarray:
        """Chebyshev centre of every region in domain coordinates ``t``, (R, k) float64 (computed on every access)."""
        return self._centers @ self.domain._engine_form().Rinv.T

    def _patterns_at(self, rows) -> np.ndarray:
        """The expanded patterns of some regions (a slice or an index array), (n, n_units) int8."""
        from . import _core

        return _core.unpack_patterns(self.network._core(), np.ascontiguousarray(self._packed[rows]))

    def _witnesses_at(self, rows) -> np.ndarray:
        """Witnesses in input space of some regions (a slice or an index array), (n, d) float64.

        One small product per region (a stacked matmul), so that a region's witness does not depend on which
        other regions are converted with it (a single matrix product may round differently by batch size).
        """
        form = self.domain._engine_form()
        x = (self._centers[rows][:, None, :] @ form.Q.T)[:, 0, :]
        x += form.x0  # in place: one (n, d) array
        return x

    @property
    def complete(self) -> bool:
        """True when every region of the domain was enumerated."""
        return self.status == "complete"

    def __len__(self) -> int:
        return int(self.radii.shape[0])

    def __getitem__(self, i: int) -> Region:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"region index must be an int, got {type(i).__name__}")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"region index {i} out of range for {n} regions")
        return Region(self, int(i) % n)

    def __iter__(self) -> Iterator[Region]:
        return (Region(self, i) for i in range(len(self)))

    def __repr__(self) -> str:
        return (f"Partition({len(self)} regions" + ("" if self.complete else ", incomplete")
                + f", status={self.status!r}, widths={self.network.widths}, "
                f"domain={self.domain!r})")

    def summary(self) -> str:
        """A few lines describing the partition."""
        rate = len(self) / self.seconds if self.seconds > 0 else float("inf")
        lines = [
            f"network        {self.network.widths}  ({self.network.n_units} units)",
            f"domain         {self.domain!r}",
            f"regions        {len(self)}" + ("" if self.complete else f"  (incomplete: {self.status})"),
            f"per layer      {self.layer_counts.tolist()}",
            f"time           {self.seconds:.3g} s  ({rate:,.0f} regions/s)",
            f"LPs solved     {self.lps}  ({self.lp_iterations} simplex iterations)",
            f"tolerance      {self.tol:.3g}",
        ]
        if self.message:
            lines.append(f"message        {self.message}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ per-region maps
    def affine_maps(self) -> Tuple[np.ndarray, np.ndarray]:
        """The affine map of every region: ``A`` (R, m, d) and ``b`` (R, m), float64."""
        if len(self) == 0:
            return np.zeros((0, self.network.out_dim, self.network.in_dim)), np.zeros((0, self.network.out_dim))
        return self.network.local_affine_map(self.patterns)

    def locate(self, x) -> np.ndarray:
        """The region containing each point.

        Parameters
        ----------
        x : array_like, shape (N, d) or (d,), float64
            Points in the network's input space (or one point).

        Returns
        -------
        ndarray, shape (N,), int64
            Index of the region whose activation pattern the point has, or -1 when the point is outside the
            domain or its pattern belongs to no region found (a region thinner than ``tol``, or the run was
            incomplete). A point on a boundary gets the pattern of the tie rule (lowest piece index).

        Raises
        ------
        TypeError, ValueError
            When ``x`` is not a finite numeric array of width d.
        """
        x = _as_points(x, "x", self.network.in_dim)
        idx = self.index_of(self.network.activation_pattern(x))
        idx[~self.domain.contains(x)] = -1
        return idx

    def index_of(self, patterns) -> np.ndarray:
        """The region with each activation pattern.

        Parameters
        ----------
        patterns : array_like of int, shape (N, n_units) or (n_units,)

        Returns
        -------
        ndarray, shape (N,), int64
            Index of the region with that pattern, or -1 when no region has it.

        Raises
        ------
        TypeError, ValueError
            When ``patterns`` is not an integer array of width ``n_units`` or names a piece a unit does not have.

        Notes
        -----
        The query patterns are packed and looked up by binary search in the packed rows' byte order (a sort
        computed once and cached: 8 bytes per region, where a hash table of the rows would hold a copy of each).
        """
        query = _pack(self.network, np.atleast_2d(np.asarray(patterns)))
        R, B = self._packed.shape
        if R == 0 or B == 0:  # no region, or every pattern is the empty row
            return np.full(len(query), 0 if R else -1, dtype=np.int64)
        key = np.dtype((np.void, B))
        rows, q = self._packed.view(key).ravel(), query.view(key).ravel()
        if self._order is None:
            self._order = np.argsort(rows, kind="stable")
        idx = self._order[np.minimum(np.searchsorted(rows, q, sorter=self._order), R - 1)]
        return np.where(rows[idx] == q, idx, -1).astype(np.int64)

    # ------------------------------------------------------------------ planar domains
    def polygons(self) -> List[np.ndarray]:
        """Every region as a convex polygon, for a bounded domain of intrinsic dimension 2.

        Returns
        -------
        list of ndarray, each of shape (n_i, 2), float64
            The vertices of region ``i`` in domain coordinates ``t`` (see :mod:`relutope.domains`; for a 2-D box
            ``t = x``), counter-clockwise. They come from the 2-D fast path of :func:`~relutope.enumerate_regions`
            when it made the partition; otherwise they are computed once (and cached) from each region's
            :meth:`Region.halfspaces` and witness with :class:`scipy.spatial.HalfspaceIntersection` (Qhull).

        Raises
        ------
        ValueError
            When the domain is not bounded and two-dimensional.

        Examples
        --------
        >>> import relutope
        >>> net = relutope.Network.random([2, 3, 1], seed=1)
        >>> part = relutope.enumerate_regions(net, relutope.Box([0, 0], [1, 1]))
        >>> from relutope.polygons import areas, to_csr
        >>> polys = part.polygons()
        >>> len(polys) == len(part), bool(abs(areas(*to_csr(polys)).sum() - 1.0) < 1e-12)
        (True, True)
        """
        from .polygons import from_csr

        return from_csr(*self._polygon_csr())

    def _polygon_csr(self) -> Tuple[np.ndarray, np.ndarray]:
        """The polygons as CSR arrays ``offsets`` (R+1,) int64, ``vertices`` (V, 2) float64; see :meth:`polygons`."""
        if self._polygons is not None:
            return self._polygons
        if self.domain.intrinsic_dim != 2 or not self.domain.bounded:
            raise ValueError(f"polygons need a bounded two-dimensional domain, got {self.domain!r}")
        from scipy.spatial import ConvexHull, HalfspaceIntersection

        from .errors import NumericalError
        from .geometry import _qhull_error
        from .polygons import to_csr

        polys = []
        for region in self:
            A, b = region.halfspaces()
            norms = np.linalg.norm(A, axis=1)
            halfspaces = np.hstack([A, -b[:, None]]) / norms[:, None]
            try:
                points = HalfspaceIntersection(halfspaces, self.witness_coords[region.index]).intersections
                polys.append(points[ConvexHull(points).vertices])  # counter-clockwise in 2-D
            except _qhull_error() as exc:
                raise NumericalError(f"Qhull failed on region {region.index}: {exc}") from None
        self._polygons = to_csr(polys)
        return self._polygons

    # ------------------------------------------------------------------ geometry and graph
    def facets(self, i: Optional[int] = None, *, tol: Optional[float] = None,
               progress: bool = False) -> Union["Facets", "RegionFacets"]:
        """Minimal H-representations: every region's facets, their sources and relative-interior points.

        Parameters
        ----------
        i : int, optional
            A region index: return that region's :class:`~relutope.geometry.RegionFacets`. Default: return the
            :class:`~relutope.geometry.Facets` of all regions (computed once and cached; the GIL is released).
        tol : float, optional
            A row is a facet when the region's trace on its hyperplane holds a (k-1)-ball of radius ``> tol``
            (input units); default :func:`relutope.geometry.default_facet_tol`, the partition's ``tol`` unless it
            is coarser than the domain's default (only the default is cached).
        progress : bool, optional
            Show a tqdm bar counting regions (all regions only; updated every few thousand regions).

        Returns
        -------
        Facets or RegionFacets
            Rows ``A t <= b`` in domain coordinates ``t`` (and ``A_x x <= b_x`` in input space), each facet's
            source (``unit``: a global unit index, or ``-1 - i`` for domain constraint ``i``; ``piece``: the unit's
            piece across it) and a point in its relative interior with the radius of the largest (k-1)-ball there.

        Raises
        ------
        IndexError, TypeError
            For a bad region index.
        NumericalError
            When an LP breaks down.

        Notes
        -----
        See :mod:`relutope.geometry`: rows composed through the pattern, cheap filters, then one Chebyshev LP per
        remaining row on its hyperplane, on the compiled dual simplex.

        Examples
        --------
        >>> import numpy as np, relutope
        >>> net = relutope.Network.from_weights([(np.array([[1.0, 0.0]]), np.array([-0.5])),
        ...                                      (np.ones((1, 1)), np.zeros(1))])
        >>> part = relutope.enumerate_regions(net, relutope.Box([0, 0], [1, 1]))
        >>> f = part.facets(part.locate([[0.9, 0.5]])[0])   # the region x0 > 0.5
        >>> sorted(f.unit.tolist())      # unit 0 (x0 = 0.5) and the box rows x0 <= 1, x1 <= 1, x1 >= 0
        [-4, -2, -1, 0]
        """
        from .geometry import region_facets

        if i is not None:
            region = self[i]
            if tol is None and self._facets is not None:
                return self._facets[region.index]
            return region_facets(self, [region.index], tol=tol)[0]
        if tol is not None:
            return region_facets(self, tol=tol, progress=progress)
        if self._facets is None:
            self._facets = region_facets(self, progress=progress)
        return self._facets

    def adjacency(self, *, progress: bool = False) -> "Adjacency":
        """Which regions share a facet, across which unit, and where: an :class:`~relutope.graph.Adjacency`.

        Computed once and cached (with the facets, see :meth:`facets`); see :func:`relutope.graph.region_adjacency`.
        ``progress=True`` shows tqdm bars counting regions while they are computed.
        """
        from .graph import region_adjacency

        if self._adjacency is None:
            self._adjacency = region_adjacency(self, progress=progress)
        return self._adjacency

    def adjacency_graph(self, *, progress: bool = False) -> "networkx.Graph":
        """The region adjacency graph (networkx): nodes are regions, edges join regions sharing a facet.

        Node attributes ``pattern``, ``witness``, ``radius``, ``boundary`` (the domain constraints the region has a
        facet on) and, once :meth:`volumes` has run, ``volume``; edge attributes ``layer``, ``unit`` (global
        index), ``unit_in_layer`` and ``facet_point`` (input space). See :func:`relutope.graph.adjacency_graph`.
        ``progress=True`` shows tqdm bars for the facets and the adjacency (when not cached yet).

        Examples
        --------
        >>> import relutope
        >>> net = relutope.Network.random([2, 4, 1], seed=1)
        >>> part = relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1]))
        >>> G = part.adjacency_graph()
        >>> G.number_of_nodes() == len(part), sorted(G.edges[next(iter(G.edges))])
        (True, ['facet_point', 'layer', 'unit', 'unit_in_layer'])
        """
        from .graph import adjacency_graph

        return adjacency_graph(self, progress=progress)

    def linear_regions(self, atol: float = 1e-9) -> Tuple[np.ndarray, int]:
        """Merge adjacent activation regions with equal affine maps into the function's linear regions.

        An activation region is a set with one activation pattern; a linear region is a maximal connected set on
        which the function is affine. Several activation regions can have the same affine map, e.g. when a dead
        unit (or one whose output is ignored downstream) flips without changing the output; adjacent ones (sharing
        a facet) are then one linear region. See :func:`relutope.graph.linear_regions` for the tolerance.

        Returns
        -------
        labels : ndarray, shape (R,), int64
            The linear region of every activation region (numbered by lowest region index).
        count : int
        """
        from .graph import linear_regions

        return linear_regions(self, atol=atol)

    def check_complete(self, *, progress: bool = False, certify: bool = False) -> "CompletenessReport":
        """Verify facet closure: every facet inside the domain has exactly one region on its other side.

        Returns a :class:`~relutope.graph.CompletenessReport` with ``ok`` and the list of ``gaps``
        ``(region, facet)``; see :func:`relutope.graph.check_complete`. ``progress=True`` shows tqdm bars for the
        facets and the adjacency (when not cached yet). ``certify=True`` proves it in exact arithmetic
        (:func:`relutope.certified_facets.certified_completeness`).
        """
        from .graph import check_complete

        return check_complete(self, progress=progress, certify=certify)

    def certify(self, *, method: str = "enumerate", time_limit: Optional[float] = None,
                threads: Optional[int] = None) -> "EnumerationCertificate":
        """Prove after the fact that the listed regions exist and that none of inradius ``> tol`` is missing.

        ``method="enumerate"`` re-runs the certified enumeration, ``"closure"`` proves the exact facet closure;
        returns an :class:`~relutope.certificates.EnumerationCertificate`. See
        :func:`relutope.certificates.certify_partition` for what each proves, the parameters and the errors.
        """
        from .certificates import certify_partition

        return certify_partition(self, method=method, time_limit=time_limit, threads=threads)

    def volumes(self, *, progress: bool = False, threads: Optional[int] = None) -> np.ndarray:
        """The volume of every region, shape (R,), float64 (computed once and cached).

        Volumes are k-dimensional, in input units within the domain's affine hull (for a :class:`Slice` with a
        basis that is not orthonormal, volumes in domain coordinates are these divided by ``sqrt(det(B^T B))``),
        for k = 1 .. 6 (:data:`relutope.geometry.MAX_VERTEX_DIM`). From each region's facets the compiled volume
        kernel finds its vertices (double description) and its volume by the recursive facet decomposition
        ``vol_k(P) = (1/k) sum_F dist(p, F) vol_{k-1}(F)`` (Lasserre, JOTA 1983; Büeler, Enge & Fukuda, "Exact
        volume computation for polytopes: a practical study", 2000), exact up to rounding, degenerate vertices
        included. ``threads`` worker threads share the regions (default ``None``: every core; the same volumes
        with any number; the GIL is released). ``progress=True`` shows tqdm bars counting regions for the facets
        (when not cached yet) and the volumes.

        Raises
        ------
        ValueError
            When the domain has more than 6 free coordinates, a region is unbounded, ``threads`` is below 1, or the
            volumes leave float64's range (the domain's size to the power k beyond ``10**+-300``, e.g. a 2-D box
            of half-width 1e160 or 1e-160).
        TypeError
            When ``threads`` is not an int.
        NumericalError
            When the kernel cannot decide a region (its facets and vertices do not close up).
        KeyboardInterrupt
            On Ctrl-C (checked every few thousand regions).

        Examples
        --------
        Two triangles of the unit square, cut by its diagonal:

        >>> import numpy as np, relutope
        >>> net = relutope.Network.from_weights([(np.array([[1.0, -1.0]]), np.zeros(1)), (np.ones((1, 1)), [0.0])])
        >>> relutope.enumerate_regions(net, relutope.Box([0, 0], [1, 1])).volumes().round(12).tolist()
        [0.5, 0.5]
        """
        from ._threads import resolve_threads
        from .geometry import region_volumes

        threads = resolve_threads(threads)  # checked even when the volumes are cached
        if self._volumes is None:
            self._volumes = region_volumes(self, progress=progress, threads=threads)
        return self._volumes

    # ------------------------------------------------------------------ persistence
    def _public_state(self) -> dict:
        """The constructor's arguments (public data only), for :meth:`save` and pickling."""
        return dict(network=self.network, domain=self.domain, patterns=self.patterns, centers=self._centers,
                    radii=self.radii, layer_counts=self.layer_counts, status=self.status, tol=self.tol,
                    lps=self.lps, lp_iterations=self.lp_iterations, seconds=self.seconds, polygons=self._polygons)

    def __reduce__(self):
        # Through the constructor with public data, whatever the in-memory layout; caches are recomputed on use.
        return (_partition_from_state, (self._public_state(), {"method": self.method, "message": self.message}))

    def save(self, path) -> None:
        """Write the partition, its network (with its :meth:`~relutope.Network.fingerprint`), domain (and
        polygons, when known) to a compressed ``.npz`` file (see :meth:`load`)."""
        np.savez_compressed(path, **self._archive_arrays())

    def _archive_arrays(self) -> Dict[str, np.ndarray]:
        """The named arrays of :meth:`save`'s file (also the ``arrays`` of :meth:`to_json`'s document)."""
        state = self._public_state()
        arrays = {"format": np.array("relutope.Partition/1"), "patterns": state["patterns"],
                  "centers": state["centers"], "radii": state["radii"], "layer_counts": state["layer_counts"],
                  "status": np.array(state["status"]), "tol": np.array(state["tol"]), "lps": np.array(state["lps"]),
                  "lp_iterations": np.array(state["lp_iterations"]), "seconds": np.array(state["seconds"]),
                  "net_fingerprint": np.array(self.network.fingerprint()), "method": np.array(self.method),
                  "message": np.array(self.message)}
        if state["polygons"] is not None:
            arrays["polygon_offsets"], arrays["polygon_vertices"] = state["polygons"]
        arrays.update(self.network._to_arrays("net_"))
        arrays.update({f"domain_{key}": value for key, value in self.domain._state().items()})
        return arrays

    # ------------------------------------------------------------------ tables and display
    def to_frame(self, *, volumes: Optional[bool] = None, max_input_columns: int = 32) -> "pandas.DataFrame":
        """One row per region (witness, radius, volume, active units per layer, output, predicted class, gradient
        norm) as a ``pandas.DataFrame``; see :func:`relutope.tables.region_frame` for the columns and their
        units."""
        from .tables import region_frame

        return region_frame(self, volumes=volumes, max_input_columns=max_input_columns)

    def adjacency_frame(self, *, progress: bool = False) -> "pandas.DataFrame":
        """The adjacency graph's edge list as a ``pandas.DataFrame``; see :func:`relutope.tables.adjacency_frame`."""
        from .tables import adjacency_frame

        return adjacency_frame(self, progress=progress)

    def to_json(self, path=None, *, max_regions: int = 100_000) -> str:
        """The partition as a JSON document (also written to ``path`` when given); see
        :func:`relutope.tables.to_json` for the schema."""
        from .tables import to_json

        return to_json(self, path, max_regions=max_regions)

    @classmethod
    def from_json(cls, source) -> "Partition":
        """Read a partition from :meth:`to_json`'s document (a string or a path); see
        :func:`relutope.tables.from_json`."""
        from .tables import from_json

        return from_json(source)

    def _repr_html_(self) -> str:
        from ._html import partition_html

        return partition_html(self)

    @classmethod
    def load(cls, path) -> "Partition":
        """Read a partition written by :meth:`save`.

        Parameters
        ----------
        path : str, os.PathLike or file-like
            The ``.npz`` file (read without pickles).

        Returns
        -------
        Partition

        Raises
        ------
        ValueError
            When the file cannot be read (missing, truncated, corrupt, not an ``.npz`` archive), is not a relutope
            partition, or its contents do not fit together: the network's weights differ from the fingerprint
            stored with them (another network's weights, or corrupt ones), the domain's dimension is not the
            network's input dimension, patterns of the wrong width or naming a piece a unit does not have (a unit
            with ``K`` pieces needs entries in ``[0, K)``), NaN or infinite centres or radii, arrays of the wrong
            shapes, an unknown status or a bad tolerance. The message names the file.
        TypeError
            When an array of the file is not numeric where it must be, or ``path`` is neither a path nor a file
            object (an int or bool is not taken as a file descriptor).

        Warns
        -----
        UserWarning
            For files written before fingerprints were stored (no ``net_fingerprint`` entry): they are loaded and
            checked like the others, but whether the network is the one the partition was computed for cannot be
            checked.
        """
        source = str(path)
        arrays = _read_npz(path, "partition")
        if "format" not in arrays or arrays["format"].shape != () or str(arrays["format"]) != "relutope.Partition/1":
            raise ValueError(f"{source!r} is not a relutope partition file")
        try:
            part = _partition_from_arrays(arrays, source)
        except (KeyError, TypeError, ValueError) as exc:
            what = f"array {exc} is missing" if isinstance(exc, KeyError) else str(exc)
            raise (TypeError if isinstance(exc, TypeError) else ValueError)(
                f"partition file {source!r}: {what}") from None
        return part


def _partition_from_state(state: dict, extra: Optional[dict] = None) -> Partition:
    """Inverse of :meth:`Partition.__reduce__` (``extra``: the attributes set after construction)."""
    part = Partition(**state)
    for key, value in (extra or {}).items():
        setattr(part, key, value)
    return part


def _partition_from_arrays(arrays: Dict[str, np.ndarray], source: str) -> Partition:
    """The partition of :meth:`Partition._archive_arrays`'s arrays, checked (for :meth:`Partition.load` and
    :func:`relutope.tables.from_json`)."""
    part = Partition(**_state_from_arrays(arrays, source))
    # Files written before the method and message were saved keep the class defaults ("lp", no message).
    if "method" in arrays:
        part.method = _scalar(arrays, "method", str)
        if part.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {part.method!r}")
    if "message" in arrays:
        part.message = _scalar(arrays, "message", str)
    return part


def _scalar(arrays: Dict[str, np.ndarray], key: str, kind):
    """The 0-d entry ``key`` of an archive as a ``kind`` (float, int or str)."""
    a = arrays[key]
    if a.shape != ():
        raise ValueError(f"{key} must be a single value, got shape {a.shape}")
    if kind is str:
        if a.dtype.kind != "U":
            raise TypeError(f"{key} must be a string, got dtype {a.dtype}")
        return str(a)
    if a.dtype.kind not in ("i", "u", "f") or (kind is int and a.dtype.kind == "f"):
        raise TypeError(f"{key} must be a{'n integer' if kind is int else ' number'}, got dtype {a.dtype}")
    return kind(a)


def _state_from_arrays(arrays: Dict[str, np.ndarray], source: str) -> dict:
    """The constructor's arguments from the arrays of a partition file, checked; see :meth:`Partition.load`."""
    net = Network._from_arrays(arrays, prefix="net_", source=source)
    if "net_fingerprint" in arrays:
        stored = _scalar(arrays, "net_fingerprint", str)
        if stored != net.fingerprint():
            raise ValueError("the network's weights do not match the fingerprint stored with the partition (the "
                             "file holds another network's weights, or corrupt ones)")
    else:
        warnings.warn(f"partition file {source!r} has no network fingerprint (written by an older relutope): "
                      f"whether its network is the one it was computed for cannot be checked", UserWarning,
                      stacklevel=3)
    domain = _domain_from_state({key[7:]: v for key, v in arrays.items() if key.startswith("domain_")})
    if domain.dim != net.in_dim:
        raise ValueError(f"the domain {domain!r} has dimension {domain.dim} but the network takes {net.in_dim} "
                         f"inputs")
    k = domain.intrinsic_dim
    patterns, centers, radii = arrays["patterns"], arrays["centers"], arrays["radii"]
    layer_counts = arrays["layer_counts"]
    if patterns.ndim != 2 or patterns.shape[1] != net.n_units:
        raise ValueError(f"patterns must have shape (R, {net.n_units}) (one entry per unit), got {patterns.shape}")
    R = patterns.shape[0]
    if patterns.dtype.kind not in ("i", "u"):
        raise TypeError(f"patterns must be integers, got dtype {patterns.dtype}")
    check_pieces(patterns, net.n_pieces, "patterns")
    if centers.shape != (R, k) or radii.shape != (R,):
        raise ValueError(f"centers must have shape ({R}, {k}) and radii ({R},), got {centers.shape} and "
                         f"{radii.shape}")
    for name, a in (("centers", centers), ("radii", radii)):
        if a.dtype.kind not in ("f", "i", "u"):
            raise TypeError(f"{name} must be numbers, got dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(radii <= 0):
        raise ValueError("radii must be positive (every region holds a ball)")
    if layer_counts.shape != (len(net.layers),) or layer_counts.dtype.kind not in ("i", "u"):
        raise ValueError(f"layer_counts must be {len(net.layers)} integers (one per layer), got shape "
                         f"{layer_counts.shape} of {layer_counts.dtype}")
    tol = _scalar(arrays, "tol", float)
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be positive and finite, got {tol}")
    polygons = None
    if "polygon_offsets" in arrays or "polygon_vertices" in arrays:
        polygons = (arrays["polygon_offsets"], arrays["polygon_vertices"])
        if polygons[0].dtype.kind not in ("i", "u") or not np.all(np.isfinite(polygons[1])):
            raise ValueError("polygon_offsets must be integers and polygon_vertices finite")
    return dict(network=net, domain=domain, patterns=patterns, centers=centers, radii=radii,
                layer_counts=layer_counts, status=_scalar(arrays, "status", str), tol=tol,
                lps=_scalar(arrays, "lps", int), lp_iterations=_scalar(arrays, "lp_iterations", int),
                seconds=_scalar(arrays, "seconds", float), polygons=polygons)
