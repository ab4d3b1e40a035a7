"""The partition of a domain into activation regions: :class:`Partition` and :class:`Region`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple, Union

import numpy as np

from .domains import Domain, _domain_from_state
from .network import Network, _as_float_array, _open_npz

if TYPE_CHECKING:  # pragma: no cover
    import networkx

    from .geometry import Facets, RegionFacets
    from .graph import Adjacency, CompletenessReport

__all__ = ["Partition", "Region"]

STATUSES = ("complete", "max_regions", "time_limit", "interrupted", "stopped", "numerical")


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
        return self._partition.patterns[self.index]

    @property
    def witness(self) -> np.ndarray:
        return self._partition.witnesses[self.index]

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
        """The vertices of the region (domains of dimension k <= 4).

        Parameters
        ----------
        space : {"domain", "input"}, optional
            Return them in domain coordinates ``t`` (V, k) or in input space ``x`` (V, d).

        Returns
        -------
        ndarray, shape (V, k) or (V, d), float64
            For k = 1 the two ends of the interval, lower first; for k = 2 in counter-clockwise order (in the
            engine's orthonormal coordinates); otherwise in Qhull's order.

        Raises
        ------
        ValueError
            When k > 4, the region is unbounded, or ``space`` is unknown.
        NumericalError
            When Qhull fails.

        Notes
        -----
        The vertices of the facets' H-representation by :class:`scipy.spatial.HalfspaceIntersection` with the
        Chebyshev centre as interior point, reduced to the extreme points by :class:`scipy.spatial.ConvexHull`.
        """
        from .geometry import region_vertices

        if space not in ("domain", "input"):
            raise ValueError(f"space must be 'domain' or 'input', got {space!r}")
        part = self._partition
        V = region_vertices(part, self.index)
        form = part.domain._engine_form()
        return V @ form.Rinv.T if space == "domain" else form.x0 + V @ form.Q.T

    def volume(self) -> float:
        """The region's k-dimensional volume in input units (k <= 4); see :meth:`Partition.volumes`."""
        part = self._partition
        if part._volumes is not None:
            return float(part._volumes[self.index])
        V = self.vertices()
        form = part.domain._engine_form()
        U = V @ form.R.T
        if U.shape[1] == 1:
            return float(U[1, 0] - U[0, 0])
        from scipy.spatial import ConvexHull

        return float(ConvexHull(U).volume)

    def __repr__(self) -> str:
        return f"Region(index={self.index}, radius={self.radius:.3g})"


class Partition:
    """The activation regions of a network over a domain, as computed by :func:`relutope.enumerate_regions`.

    Attributes
    ----------
    network : Network
    domain : Domain
    patterns : ndarray, shape (R, n_units), int8
        Activation pattern of every region; rows are distinct.
    witnesses : ndarray, shape (R, d), float64
        Chebyshev centre of every region, in the network's input space.
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
        the layers before it); else empty. Not saved by :meth:`save`.
    tol : float
        The tolerance used: every region holds a ball of radius ``> tol``.
    lps, lp_iterations : int
        LPs solved and dual simplex iterations.
    seconds : float
        Wall time of the enumeration.

    Parameters
    ----------
    polygons : tuple of (offsets, vertices), optional
        For a planar domain: every region's polygon as CSR arrays, ``offsets`` (R+1,) int64 and ``vertices``
        (V, 2) float64 in domain coordinates ``t``, counter-clockwise (see :mod:`relutope.polygons`); the 2-D fast
        path of :func:`~relutope.enumerate_regions` passes them. Otherwise :meth:`polygons` computes them.
    """

    message: str = ""

    def __init__(self, network: Network, domain: Domain, patterns, centers, radii, layer_counts, *,
                 status: str = "complete", tol: float, lps: int = 0, lp_iterations: int = 0,
                 seconds: float = 0.0, polygons: Optional[Tuple[np.ndarray, np.ndarray]] = None):
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self.network = network
        self.domain = domain
        self.patterns = np.asarray(patterns, dtype=np.int8)
        self._centers = np.asarray(centers, dtype=np.float64)
        self.radii = np.asarray(radii, dtype=np.float64)
        self.layer_counts = np.asarray(layer_counts, dtype=np.int64)
        self.status = status
        self.tol = float(tol)
        self._facets: Optional["Facets"] = None
        self._adjacency: Optional["Adjacency"] = None
        self._volumes: Optional[np.ndarray] = None
        self.lps = int(lps)
        self.lp_iterations = int(lp_iterations)
        self.seconds = float(seconds)
        self._witnesses: Optional[np.ndarray] = None
        self._witness_coords: Optional[np.ndarray] = None
        self._index: Optional[dict] = None
        self._polygons: Optional[Tuple[np.ndarray, np.ndarray]] = None
        if polygons is not None:
            offsets = np.asarray(polygons[0], dtype=np.int64)
            vertices = np.asarray(polygons[1], dtype=np.float64)
            if (offsets.shape != (len(self) + 1,) or vertices.ndim != 2 or vertices.shape[1] != 2
                    or offsets[0] != 0 or offsets[-1] != vertices.shape[0] or np.any(np.diff(offsets) < 0)):
                raise ValueError(f"polygons must be (offsets (R+1,), vertices (V, 2)) with offsets from 0 to V for "
                                 f"R = {len(self)} regions, got shapes {offsets.shape} and {vertices.shape}")
            self._polygons = (offsets, vertices)

    @property
    def witnesses(self) -> np.ndarray:
        """Chebyshev centre of every region in the network's input space, (R, d) float64 (computed once)."""
        if self._witnesses is None:
            form = self.domain._engine_form()
            self._witnesses = form.x0 + self._centers @ form.Q.T
        return self._witnesses

    @property
    def witness_coords(self) -> np.ndarray:
        """Chebyshev centre of every region in domain coordinates ``t``, (R, k) float64 (computed once)."""
        if self._witness_coords is None:
            self._witness_coords = self._centers @ self.domain._engine_form().Rinv.T
        return self._witness_coords

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
        return (f"Partition({len(self)} regions, status={self.status!r}, widths={self.network.widths}, "
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
        x : array_like, shape (N, d), float64
            Points in the network's input space.

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
        x = _as_float_array(np.atleast_2d(x), "x", 2)
        if x.shape[1] != self.network.in_dim:
            raise ValueError(f"x must have shape (N, {self.network.in_dim}), got {x.shape}")
        if self._index is None:
            self._index = {row.tobytes(): i for i, row in enumerate(self.patterns)}
        pats = self.network.activation_pattern(x)
        inside = self.domain.contains(x)
        return np.array([self._index.get(p.tobytes(), -1) if ok else -1 for p, ok in zip(pats, inside)],
                        dtype=np.int64)

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

        from .polygons import to_csr

        polys = []
        for region in self:
            A, b = region.halfspaces()
            norms = np.linalg.norm(A, axis=1)
            halfspaces = np.hstack([A, -b[:, None]]) / norms[:, None]
            points = HalfspaceIntersection(halfspaces, self.witness_coords[region.index]).intersections
            polys.append(points[ConvexHull(points).vertices])  # counter-clockwise in 2-D
        self._polygons = to_csr(polys)
        return self._polygons

    # ------------------------------------------------------------------ geometry and graph
    def facets(self, i: Optional[int] = None, *, tol: Optional[float] = None) -> Union["Facets", "RegionFacets"]:
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
            return region_facets(self, tol=tol)
        if self._facets is None:
            self._facets = region_facets(self)
        return self._facets

    def adjacency(self) -> "Adjacency":
        """Which regions share a facet, across which unit, and where: an :class:`~relutope.graph.Adjacency`.

        Computed once and cached (with the facets, see :meth:`facets`); see :func:`relutope.graph.region_adjacency`.
        """
        from .graph import region_adjacency

        if self._adjacency is None:
            self._adjacency = region_adjacency(self)
        return self._adjacency

    def adjacency_graph(self) -> "networkx.Graph":
        """The region adjacency graph (networkx): nodes are regions, edges join regions sharing a facet.

        Node attributes ``pattern``, ``witness``, ``radius``, ``boundary`` (the domain constraints the region has a
        facet on) and, once :meth:`volumes` has run, ``volume``; edge attributes ``layer``, ``unit`` (global
        index), ``unit_in_layer`` and ``facet_point`` (input space). See :func:`relutope.graph.adjacency_graph`.

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

        return adjacency_graph(self)

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

    def check_complete(self) -> "CompletenessReport":
        """Verify facet closure: every facet inside the domain has exactly one region on its other side.

        Returns a :class:`~relutope.graph.CompletenessReport` with ``ok`` and the list of ``gaps``
        ``(region, facet)``; see :func:`relutope.graph.check_complete`.
        """
        from .graph import check_complete

        return check_complete(self)

    def volumes(self) -> np.ndarray:
        """The volume of every region, shape (R,), float64 (computed once and cached).

        Volumes are k-dimensional, in input units within the domain's affine hull (for a :class:`Slice` with a
        basis that is not orthonormal, volumes in domain coordinates are these divided by ``sqrt(det(B^T B))``).
        For k = 1 the lengths of the intervals; for k = 2, 3, 4 the exact volumes of the polytopes spanned by the
        vertices (:class:`scipy.spatial.HalfspaceIntersection`, then :class:`scipy.spatial.ConvexHull`).

        Raises
        ------
        ValueError
            When the domain has more than 4 free coordinates or a region is unbounded.
        NumericalError
            When Qhull fails on a region.
        """
        from .geometry import region_volumes

        if self._volumes is None:
            self._volumes = region_volumes(self)
        return self._volumes

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write the partition, its network, domain (and polygons, when known) to an ``.npz`` file (see :meth:`load`)."""
        arrays = {"format": np.array("relutope.Partition/1"), "patterns": self.patterns,
                  "centers": self._centers, "radii": self.radii, "layer_counts": self.layer_counts,
                  "status": np.array(self.status), "tol": np.array(self.tol), "lps": np.array(self.lps),
                  "lp_iterations": np.array(self.lp_iterations), "seconds": np.array(self.seconds)}
        if self._polygons is not None:
            arrays["polygon_offsets"], arrays["polygon_vertices"] = self._polygons
        arrays.update(self.network._to_arrays("net_"))
        arrays.update({f"domain_{key}": value for key, value in self.domain._state().items()})
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path) -> "Partition":
        """Read a partition written by :meth:`save`.

        Raises
        ------
        ValueError
            When the file cannot be read or is not a relutope partition.
        """
        with _open_npz(path, "partition") as data:
            if "format" not in data.files or str(data["format"]) != "relutope.Partition/1":
                raise ValueError(f"{str(path)!r} is not a relutope partition file")
            arrays = {key: data[key] for key in data.files}
        net = Network._from_arrays(arrays, prefix="net_", source=str(path))
        domain = _domain_from_state({key[7:]: v for key, v in arrays.items() if key.startswith("domain_")})
        return cls(net, domain, arrays["patterns"], arrays["centers"], arrays["radii"], arrays["layer_counts"],
                   status=str(arrays["status"]), tol=float(arrays["tol"]), lps=int(arrays["lps"]),
                   lp_iterations=int(arrays["lp_iterations"]), seconds=float(arrays["seconds"]),
                   polygons=((arrays["polygon_offsets"], arrays["polygon_vertices"])
                             if "polygon_offsets" in arrays else None))
