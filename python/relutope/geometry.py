"""Polyhedral geometry of activation regions: facets (minimal H-representations), vertices and volumes.

Every activation region is a convex polytope (a polyhedron for unbounded domains). :func:`region_facets` gives its
*minimal* H-representation: one row per facet, that is per (k-1)-dimensional face, with the source of the facet
(a unit of the network, or a row of the domain's constraints) and a point in the facet's relative interior.
Rows that only touch the region in a lower-dimensional face, rows that miss it and duplicate rows are removed.

Coordinates (see :mod:`relutope.domains`): the engine works in orthonormal coordinates ``u`` of the domain's
affine hull, ``x = x0 + Q u``; the domain coordinates are ``t = Rinv u``. Distances (facet radii) and volumes are
in input units, measured within the domain's affine hull, as the regions' radii are.

The facets are computed by the compiled core with its own dual simplex LP solver: for each region the rows are
composed through its activation pattern, cheap filters drop rows that cannot be facets (constant rows, duplicates,
rows that hold on a simplex known to contain the region), and each remaining row gets one LP, the Chebyshev ball
of the region's trace on the row's hyperplane; the row is a facet iff that ball has radius ``> tol`` (which proves
the facet is (k-1)-dimensional). Vertices and volumes (``k <= MAX_VERTEX_DIM``) come from the compiled volume
kernel (``cpp/src/volume.cpp``), region by region on worker threads: the vertices by the double description method
(Motzkin et al. 1953; Fukuda & Prodon 1996) from the facets, the volume by the recursive facet decomposition
(Lasserre 1983; Büeler, Enge & Fukuda, "Exact volume computation for polytopes: a practical study", 2000).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np

from ._checks import check_indices, check_int, check_partition, check_real
from ._progress import CHECKPOINT_EVERY, region_bar
from .domains import _scaled_rows
from .errors import NumericalError

if TYPE_CHECKING:  # pragma: no cover
    from .partition import Partition

__all__ = ["Facets", "RegionFacets", "default_facet_tol", "region_facets", "region_vertices", "region_volumes",
           "MAX_VERTEX_DIM"]

#: Largest number of domain coordinates for which vertices and volumes are computed.
MAX_VERTEX_DIM = 6
#: Volumes in input units are refused (ValueError) beyond ``10**+-MEASURE_EXPONENT_MAX`` times their units.
MEASURE_EXPONENT_MAX = 300


@dataclass(frozen=True)
class RegionFacets:
    """The minimal H-representation of one region and the facts about each facet.

    The region is ``{t : A @ t <= b}`` in domain coordinates, and ``{x : A_x @ x <= b_x}`` within the domain's
    affine hull in input space (for a full-dimensional domain, ``t = x`` and both are the same). Row ``f`` holds
    with equality on facet ``f``.

    Attributes
    ----------
    index : int
        The region's index in its partition.
    A : ndarray, shape (f, k), float64
    b : ndarray, shape (f,), float64
        Facet rows in domain coordinates ``t``.
    A_x : ndarray, shape (f, d), float64
    b_x : ndarray, shape (f,), float64
        The same rows in input space (unit-length rows).
    unit : ndarray, shape (f,), int64
        Source of each facet: the global index of the unit whose piece changes across it, or ``-1 - i`` for row
        ``i`` of the domain's constraints (:meth:`Domain.constraints`).
    piece : ndarray, shape (f,), int8
        The unit's piece on the other side of the facet (for a ReLU, ``1 - pattern[unit]``); -1 for domain facets.
    layer : ndarray, shape (f,), int64
        Layer of the source unit; -1 for domain facets.
    points : ndarray, shape (f, k), float64
        A point in each facet's relative interior, in ``t``: the centre of the largest (k-1)-ball in the facet.
    points_x : ndarray, shape (f, d), float64
        The same points in input space.
    radii : ndarray, shape (f,), float64
        Radius of that ball, in input units (``> tol``; capped for unbounded facets).
    """

    index: int
    A: np.ndarray
    b: np.ndarray
    A_x: np.ndarray
    b_x: np.ndarray
    unit: np.ndarray
    piece: np.ndarray
    layer: np.ndarray
    points: np.ndarray
    points_x: np.ndarray
    radii: np.ndarray

    def __len__(self) -> int:
        return int(self.b.shape[0])

    def __repr__(self) -> str:
        return f"RegionFacets(index={self.index}, {len(self)} facets, units={self.unit.tolist()})"

    @property
    def on_boundary(self) -> np.ndarray:
        """Which facets lie on the domain's boundary, shape (f,), bool."""
        return self.unit < 0

    @property
    def domain_rows(self) -> np.ndarray:
        """Indices of the domain constraints the region has a facet on, shape (n,), int64."""
        return -1 - self.unit[self.unit < 0]


class Facets:
    """The facets of every region of a partition, in CSR form (made by :meth:`Partition.facets`).

    The facets of region ``r`` are entries ``offsets[r]:offsets[r + 1]`` of the arrays; ``facets[r]`` gives them
    as a :class:`RegionFacets`.

    Attributes
    ----------
    regions : ndarray, shape (n,), int64
        The partition indices of the regions covered (all regions, ``arange(R)``, unless a subset was asked for).
    offsets : ndarray, shape (n + 1,), int64
    region : ndarray, shape (F,), int64
        The region (partition index) owning each facet.
    A, b, A_x, b_x, unit, piece, layer, points, points_x, radii
        As in :class:`RegionFacets`, stacked over all regions (F rows).
    dup_facet : ndarray, shape (D,), int64
    dup_unit : ndarray, shape (D,), int64
    dup_piece : ndarray, shape (D,), int8
        Other sources of facets: unit ``dup_unit[e]``'s row (towards its piece ``dup_piece[e]``) is the same
        hyperplane as facet ``dup_facet[e]`` (e.g. the two units of ``relu(z) - relu(-z)``), so that unit changes
        across the facet too. ``unit`` names the first source (domain rows first, then units in order).
    dup_exact : ndarray, shape (D,), bool
        Whether that unit's row, as composed in float64, is exactly proportional to the facet's row (the same
        hyperplane as far as floating point can tell), else it coincides with it only within the duplicate
        tolerance (``1e-9`` of the domain's size, at most ``tol / 100``), e.g. for weights differing in the last
        bit: one hyperplane, or two crossing or parallel within rounding with thin regions between them, is then
        not decided in floating point (:attr:`relutope.graph.Adjacency.undecided_edges`).
    tol : float
        Facets are the rows whose trace on the region holds a (k-1)-ball of radius ``> tol``.
    lps, lp_iterations, seconds
        LPs solved, dual simplex iterations and wall time of the compiled computation.
    candidates : int
        Rows that needed an LP (after the cheap filters), out of ``rows_total``.
    """

    def __init__(self, partition: "Partition", out: dict, tol: float, regions: np.ndarray):
        form = partition.domain._engine_form()
        self.tol = float(tol)
        self.regions = regions
        self.offsets = out["offsets"]
        self._rows_u = out["rows"]
        self._rhs_v = out["rhs_v"]
        self.b = out["rhs"]
        self.unit = out["unit"]
        self.piece = out["piece"]
        self._points_u = out["points"]
        self.radii = out["radii"]
        self.dup_facet = out["dup_facet"]
        self.dup_unit = out["dup_unit"]
        self.dup_piece = out["dup_piece"]
        self.dup_exact = out["dup_exact"].astype(bool)
        self.region = np.repeat(regions, np.diff(self.offsets))
        self.A = _mul(self._rows_u, form.R)
        self.points = _mul(self._points_u, form.Rinv.T)
        self.A_x = _mul(self._rows_u, form.Q.T)
        self.b_x = self.b + self.A_x @ form.x0
        self.points_x = form.x0 + _mul(self._points_u, form.Q.T)
        unit_layer = partition.network.unit_layer
        self.layer = np.where(self.unit >= 0, unit_layer[np.maximum(self.unit, 0)], -1).astype(np.int64)
        self.lps = int(out["lps"])
        self.lp_iterations = int(out["lp_iterations"])
        self.candidates = int(out["candidates"])
        self.rows_total = int(out["rows_total"])
        self.seconds = float(out["seconds"])

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    @property
    def n_facets(self) -> int:
        """Total number of facets F."""
        return int(self.b.shape[0])

    def counts(self) -> np.ndarray:
        """Number of facets of every region, shape (R,), int64."""
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> RegionFacets:
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"region index must be an int, got {type(i).__name__}")
        if not -n <= i < n:
            raise IndexError(f"region index {i} out of range for {n} regions")
        i = int(i) % n
        s = slice(int(self.offsets[i]), int(self.offsets[i + 1]))
        return RegionFacets(int(self.regions[i]), self.A[s], self.b[s], self.A_x[s], self.b_x[s], self.unit[s],
                            self.piece[s], self.layer[s], self.points[s], self.points_x[s], self.radii[s])

    def __repr__(self) -> str:
        return f"Facets({len(self)} regions, {self.n_facets} facets)"


def _mul(X: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``X @ M`` for tall X and a small M, without BLAS threads (and without work when M is the identity)."""
    if M.shape[0] == M.shape[1] and np.array_equal(M, np.eye(M.shape[0])):
        return X
    return np.einsum("fk,kj->fj", X, M)


def _radius_cap(partition: "Partition") -> float:
    """The cap on facet radii: as in enumeration for bounded domains; else the largest region radius (at least the domain's size)."""
    if partition.domain.bounded:
        return 2.0 * partition.domain._default_scale() + 10.0 * partition.tol
    cap = float(partition.radii.max()) if len(partition) else 0.0
    return max(cap, float(partition.domain._default_scale()), 10.0 * partition.tol)


def default_facet_tol(partition: "Partition") -> float:
    """The default facet tolerance: the smaller of the partition's ``tol`` and the domain's default tolerance.

    A facet must be recognised however small it is, or the H-representation would describe a larger set than the
    region; so a partition enumerated with a coarse ``tol`` still gets facets down to ``1e-9`` times the domain's
    size (:func:`relutope.default_tol`). Rows that only touch a region in a lower-dimensional face give facet radii
    at rounding level, far below that.
    """
    from .enumerate import default_tol, min_tol

    return min(partition.tol, max(default_tol(partition.domain), min_tol(partition.domain)))


def region_facets(partition: "Partition", regions=None, tol: Optional[float] = None, progress: bool = False,
                  threads: Optional[int] = None) -> Facets:
    """Minimal H-representations of a partition's regions (see the module docstring).

    Parameters
    ----------
    partition : Partition
    regions : array_like of int, shape (n,), optional
        Indices of the regions to do (default: all, in order). The result's ``facets[j]`` is then region
        ``regions[j]``.
    tol : float, optional
        A row is a facet when the region's trace on its hyperplane holds a (k-1)-ball of radius ``> tol`` (input
        units). Default: :func:`default_facet_tol`.
    progress : bool, optional
        Show a tqdm bar counting regions (updated every few thousand regions).
    threads : int, optional
        Worker threads over chunks of regions (default ``None``: every core; the result is the same with any
        number, each region's facets being computed on their own).

    Returns
    -------
    Facets

    Raises
    ------
    TypeError
        When ``partition`` is not a Partition, ``regions`` not integer indices or ``tol`` not a number.
    ValueError
        When ``tol`` is not positive or a region index is out of range.
    NumericalError
        When an LP breaks down.
    KeyboardInterrupt
        On Ctrl-C (the run checks for signals every few thousand regions; the GIL is released while it runs).

    Examples
    --------
    A square cut by the line x0 = 0.5; the region x0 > 0.5 is a rectangle with four facets:

    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.array([[1.0, 0.0]]), np.array([-0.5])),
    ...                                      (np.ones((1, 1)), np.zeros(1))])
    >>> part = relutope.enumerate_regions(net, relutope.Box([0, 0], [1, 1]))
    >>> f = region_facets(part)
    >>> f.counts().tolist()
    [4, 4]
    >>> r = f[int(part.locate([[0.9, 0.5]])[0])]
    >>> [(int(u), np.round(p, 6).tolist()) for u, p in zip(r.unit, r.points)]  # sources and facet centres
    [(-1, [1.0, 0.5]), (-2, [0.75, 1.0]), (-4, [0.75, 0.0]), (0, [0.5, 0.5])]
    """
    from . import _core
    from ._threads import resolve_threads

    check_partition(partition)
    threads = resolve_threads(threads)
    tol = default_facet_tol(partition) if tol is None else check_real(tol, "tol")
    if regions is None:
        regions = np.arange(len(partition), dtype=np.int64)
        patterns, centers = partition.patterns, partition._centers
    else:
        regions = check_indices(regions, "regions", len(partition))  # (2.5 was truncated to 2, True read as 1)
        patterns, centers = partition._patterns_at(regions), partition._centers[regions]
    # The core works in coordinates centred on the domain and in units of its size (relutope.domains._EngineFrame).
    frame = partition.domain._engine_frame()
    fv = frame.form
    rows, rhs = _scaled_rows(fv.A, fv.b)  # (rows near 1e+-300 to size ~1, exactly, as for the enumeration)
    with region_bar(progress, len(regions), "facets") as update:
        out = _core.region_facets(partition.network._core(), fv.x0, fv.Q, rows, rhs,
                                  np.ascontiguousarray(patterns), np.ascontiguousarray(frame.to_v(centers)),
                                  tol / frame.s, _radius_cap(partition) / frame.s, update,
                                  CHECKPOINT_EVERY if progress else 0, threads)
        if out["status"] == "numerical":
            raise NumericalError(f"facet computation failed: {out['message']}")
    out["rhs_v"] = out["rhs"]  # in the core's frame, for the volume kernel (no rounding from the shift to u)
    out["rhs"] = frame.rhs_to_u(out["rows"], out["rhs"])
    out["points"] = frame.to_u(out["points"])
    out["radii"] = out["radii"] * frame.s
    return Facets(partition, out, tol, regions)


# ---------------------------------------------------------------------------------------------- vertices, volumes
def _check_vertex_dim(partition: "Partition") -> int:
    k = partition.domain.intrinsic_dim
    if k > MAX_VERTEX_DIM:
        raise ValueError(f"vertices and volumes are computed for domains of dimension <= {MAX_VERTEX_DIM}; "
                         f"this domain has {k} free coordinates")
    return k


def _qhull_error():
    """scipy's QhullError class."""
    try:
        from scipy.spatial import QhullError
    except ImportError:  # pragma: no cover - scipy < 1.11 keeps it in the private module only
        from scipy.spatial._qhull import QhullError
    return QhullError


def _convex_hull(V: np.ndarray, index: int):
    """:class:`scipy.spatial.ConvexHull` of the vertices V (n, k) of region ``index``; a Qhull failure (a flat or
    degenerate vertex set) raises :class:`~relutope.errors.NumericalError` naming the region."""
    from scipy.spatial import ConvexHull

    try:
        return ConvexHull(V)
    except _qhull_error() as exc:
        raise NumericalError(f"Qhull failed on region {index} ({len(V)} vertices): {exc}") from None


@dataclass(frozen=True)
class _Measures:
    """The volume kernel's results for n regions: vertices ``vertices[offsets[j]:offsets[j + 1]]`` (engine
    coordinates u) of region ``regions[j]``, its k-volume and the (k-1)-volume of its boundary (input units)."""

    regions: np.ndarray
    offsets: np.ndarray
    vertices: np.ndarray
    volumes: np.ndarray
    surfaces: np.ndarray

    def vertices_of(self, j: int) -> np.ndarray:
        return self.vertices[int(self.offsets[j]):int(self.offsets[j + 1])]


def _polytope_measures(partition: "Partition", regions=None, *, vertices: bool = True, threads: Optional[int] = None,
                       progress: bool = False, what: str = "volumes", measures: bool = True) -> _Measures:
    """Vertices, volumes and boundary measures of the partition's regions (default all) by the compiled kernel.

    The kernel (``cpp/src/volume.cpp``) takes each region's facets (:func:`region_facets`) in the core's frame
    (centred on the domain, in units of its size: tolerances do not depend on the domain's scale or position),
    enumerates its vertices by the double description method from the simplicial cone of k + 1 of its rows, and
    gets the volume by the recursive facet decomposition vol_j(F) = (1/j) sum_G dist(p, aff G) vol_{j-1}(G)
    (Lasserre, JOTA 1983; Büeler, Enge & Fukuda, "Exact volume computation for polytopes: a practical study",
    2000), on ``threads`` workers over chunks of regions with the GIL released (the same result with any number).

    Raises ValueError for a domain of more than MAX_VERTEX_DIM dimensions or an unbounded region, NumericalError
    naming the region when the kernel cannot decide, KeyboardInterrupt on Ctrl-C (and what the progress callback
    raises), TypeError/ValueError for a bad ``threads``; with ``measures`` (not for the vertices alone), ValueError
    when the volumes in input units are out of float64's range (:func:`_check_measure_range`).
    """
    from . import _core
    from ._threads import resolve_threads

    threads = resolve_threads(threads)
    k = _check_vertex_dim(partition)
    if measures:
        _check_measure_range(partition.domain, partition.domain._engine_frame().s, k)
    if regions is None:
        f = partition.facets(progress=progress)
        regions = f.regions
        offsets, rows, rhs_v = f.offsets, f._rows_u, f._rhs_v
    else:
        regions = np.asarray(regions, dtype=np.int64).reshape(-1)
        if partition._facets is not None:
            f = partition._facets
            parts = [slice(int(f.offsets[i]), int(f.offsets[i + 1])) for i in regions]
            offsets = np.concatenate([[0], np.cumsum([p.stop - p.start for p in parts])]).astype(np.int64)
            take = np.concatenate([np.arange(p.start, p.stop) for p in parts]) if parts else np.zeros(0, np.int64)
            rows, rhs_v = f._rows_u[take], f._rhs_v[take]
        else:
            f = region_facets(partition, regions, progress=progress)
            offsets, rows, rhs_v = f.offsets, f._rows_u, f._rhs_v
    frame = partition.domain._engine_frame()
    centers = frame.to_v(partition._centers[regions]).reshape(len(regions), k)
    with region_bar(progress, len(regions), what) as update:
        out = _core.polytope_measures(np.ascontiguousarray(offsets), np.ascontiguousarray(rows),
                                      np.ascontiguousarray(rhs_v), np.ascontiguousarray(centers), vertices, update,
                                      CHECKPOINT_EVERY if progress else 0, threads)
    status = out["status"]
    if status != "complete":
        j = int(out["region"])
        i = int(regions[j]) if 0 <= j < len(regions) else -1
        m = int(offsets[j + 1] - offsets[j]) if 0 <= j < len(regions) else 0
        if status == "unbounded" and not partition.domain.bounded:
            raise ValueError(f"region {i} is unbounded: it has no finite vertex set or volume")
        if status == "unbounded":
            raise NumericalError(f"the volume kernel found region {i} ({m} facets) unbounded on a bounded domain")
        raise NumericalError(f"the volume kernel failed on region {i} ({m} facets): {out['message'] or status}")
    s = frame.s
    with np.errstate(over="ignore", under="ignore"):
        vol_unit, surf_unit = np.float64(s) ** k, np.float64(s) ** max(k - 1, 0)  # (** of a float: OverflowError)
    return _Measures(regions, out["vertex_offsets"], frame.to_u(out["vertices"]) if vertices else out["vertices"],
                     out["volumes"] * vol_unit, out["surfaces"] * surf_unit)


def _check_measure_range(domain, s: float, k: int) -> None:
    """ValueError naming ``domain`` when k-volumes in its units leave float64's range: the kernel's volumes are in
    units of ``s ** k`` (``s`` the domain's size), which overflows past 1.8e308 (a 2-D box of half-width 1e160)
    or underflows to 0 (a box of half-width 1e-200: every volume would be 0, or inexact subnormals)."""
    exponent = k * math.log10(s)
    if not -MEASURE_EXPONENT_MAX <= exponent <= MEASURE_EXPONENT_MAX:
        raise ValueError(f"the regions' {k}-volumes on domain {domain!r} are of order its size to the power {k}, "
                         f"10^{exponent:.0f}, outside float64's range (10^-{MEASURE_EXPONENT_MAX:g} to "
                         f"10^{MEASURE_EXPONENT_MAX:g}); rescale the inputs")


def region_vertices(partition: "Partition", i: int) -> np.ndarray:
    """Vertices (V, k) of region ``i`` in engine coordinates u (see :meth:`Region.vertices`), by the volume kernel
    from the region's facets (cached ones when the partition has them); TypeError/ValueError naming ``partition``
    or ``i`` when it is not a Partition or not an int in ``[0, len(partition))``."""
    check_partition(partition)
    i = check_int(i, "i", 0, len(partition) - 1)
    return _polytope_measures(partition, [i], measures=False).vertices_of(0)


def region_volumes(partition: "Partition", progress: bool = False, threads: Optional[int] = None) -> np.ndarray:
    """Volumes of every region, in input units (see :meth:`Partition.volumes`; ``progress``: tqdm bars for the
    facets and the volumes; ``threads``: workers, default every core; NumericalError when the kernel cannot
    decide a region; TypeError when ``partition`` is not a Partition)."""
    check_partition(partition)
    return _polytope_measures(partition, vertices=False, threads=threads, progress=progress).volumes
