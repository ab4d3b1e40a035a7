"""Region statistics: the size and shape of every activation region of a partition, and tables of them per slice.

What SplineCam users measure on 2-D slices through data (Humayun, Balestriero, Balakrishnan & Baraniuk,
"SplineCam: Exact Visualization and Characterization of Deep Network Geometry and Decision Boundaries", CVPR 2023,
Section 5: region count, area and its spread, per slice through training or test points), for domains of
dimension ``k <= 6`` (:data:`relutope.geometry.MAX_VERTEX_DIM`):

* ``volume``: the region's ``k``-volume (area for slices), in input units within the domain's affine hull;
* ``inradius``: its Chebyshev radius (the partition's ``radii``);
* ``n_vertices``, ``n_facets``: its extreme points and facets;
* ``eccentricity``: ``sqrt(1 - lambda_min / lambda_max)`` of the covariance of the uniform distribution on the
  region, i.e. the eccentricity of the ellipse (ellipsoid: of its extreme axes) with the same second moments, the
  definition of image analysis (``skimage.measure.regionprops``): 0 for a square or a regular polygon, near 1 for
  a sliver;
* ``centroid``: the region's centre of mass, in input space.

The moments are exact: the region (the convex hull of its vertices, in the engine's orthonormal coordinates) is
cut into simplices from its Chebyshev centre to the triangulated facets of its hull, and a simplex with vertices
``w_0 .. w_k`` and volume ``V`` has ``int x = V mean(w)`` and ``int x x^T = V / ((k+1)(k+2)) (sum w_i w_i^T +
(sum w_i)(sum w_i)^T)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import numpy as np

from ._checks import check_bool, check_int, check_real, check_seed
from ._progress import region_bar

if TYPE_CHECKING:  # pragma: no cover
    from .domains import Slice
    from .network import Network
    from .partition import Partition

__all__ = ["RegionStats", "region_stats", "data_slices", "slice_summaries", "SUMMARY_COLUMNS"]

#: Columns of :meth:`RegionStats.summary` (and of :func:`slice_summaries`, after the slice's own columns).
SUMMARY_COLUMNS = ("count", "volume_mean", "volume_std", "volume_total", "inradius_mean", "inradius_std",
                   "n_vertices_mean", "eccentricity_mean", "eccentricity_std")


@dataclass(frozen=True, eq=False)
class RegionStats:
    """Per-region size and shape of a partition (see the module docstring), one entry per region.

    Attributes
    ----------
    volume : ndarray, shape (R,), float64
        k-volume in input units (area for 2-D slices).
    inradius : ndarray, shape (R,), float64
        Chebyshev radius in input units.
    n_vertices, n_facets : ndarray, shape (R,), int64
    eccentricity : ndarray, shape (R,), float64
        In [0, 1); NaN for k = 1 (an interval has no shape).
    centroid : ndarray, shape (R, d), float64
        Centre of mass in input space.
    dim : int
        k, the dimension of the domain.
    status : str
        The partition's status: ``"complete"``, or why its enumeration stopped early (``"max_regions"``,
        ``"time_limit"``, ``"interrupted"``, ``"numerical"``); then the statistics are those of the regions found
        so far, not of the domain's.
    """

    volume: np.ndarray
    inradius: np.ndarray
    n_vertices: np.ndarray
    n_facets: np.ndarray
    eccentricity: np.ndarray
    centroid: np.ndarray
    dim: int
    status: str = "complete"

    @property
    def complete(self) -> bool:
        """Whether the statistics cover every region of the domain (the partition was complete)."""
        return self.status == "complete"

    def __len__(self) -> int:
        return int(self.volume.shape[0])

    def __repr__(self) -> str:
        return (f"RegionStats({len(self)} regions, k={self.dim}"
                + (")" if self.complete else f", incomplete: {self.status})"))

    def summary(self) -> Dict[str, object]:
        """One row of statistics over the regions: ``complete`` (bool) and ``status`` (str), whether they cover the
        whole domain or why the enumeration stopped (then ``count`` and ``volume_total`` are lower bounds and the
        others those of the regions found), then the :data:`SUMMARY_COLUMNS` (std with ``ddof=0``; NaN without
        regions)."""
        head = {"complete": self.complete, "status": self.status}
        if len(self) == 0:  # a run stopped before its first region (max_regions=0): no statistics, no warnings
            return {**head, **{c: (0 if c == "count" else math.nan) for c in SUMMARY_COLUMNS}}
        ecc = self.eccentricity[np.isfinite(self.eccentricity)]
        return {**head, "count": len(self), "volume_mean": float(self.volume.mean()), "volume_std": float(self.volume.std()),
                "volume_total": float(self.volume.sum()), "inradius_mean": float(self.inradius.mean()),
                "inradius_std": float(self.inradius.std()), "n_vertices_mean": float(self.n_vertices.mean()),
                "eccentricity_mean": float(ecc.mean()) if ecc.size else math.nan,
                "eccentricity_std": float(ecc.std()) if ecc.size else math.nan}

    def to_frame(self):
        """A :class:`pandas.DataFrame`, one row per region: ``volume``, ``inradius``, ``n_vertices``, ``n_facets``,
        ``eccentricity`` (pandas is imported here)."""
        import pandas as pd

        return pd.DataFrame({"volume": self.volume, "inradius": self.inradius, "n_vertices": self.n_vertices,
                             "n_facets": self.n_facets, "eccentricity": self.eccentricity})


def _moments(V: np.ndarray, center: np.ndarray, index: int):
    """Volume, centroid (k,) and covariance (k, k) of the convex hull of V (n, k), k >= 2, the vertices of region
    ``index`` with interior point ``center`` (exact simplex decomposition, see the module docstring).
    NumericalError when Qhull fails on them (a flat or degenerate vertex set)."""
    from .geometry import _convex_hull

    k = V.shape[1]
    hull = _convex_hull(V, index)
    W = np.concatenate([np.broadcast_to(center, (len(hull.simplices), 1, k)), V[hull.simplices]], axis=1)
    W = W - center  # moments about the centre: better conditioned
    vol = np.abs(np.linalg.det(W[:, 1:, :])) / math.factorial(k)  # the first row is the centre, at 0
    total = float(vol.sum())
    s = W.sum(axis=1)  # (S, k)
    first = (vol[:, None] * s).sum(axis=0) / (k + 1)
    second = np.einsum("s,sij->ij", vol / ((k + 1) * (k + 2)),
                       np.einsum("smi,smj->sij", W, W) + s[:, :, None] * s[:, None, :])
    mean = first / total
    cov = second / total - np.outer(mean, mean)
    return total, mean + center, cov, len(hull.vertices)


def region_stats(partition: "Partition", progress: bool = False) -> RegionStats:
    """Volume, inradius, vertex and facet counts, eccentricity and centroid of every region.

    Parameters
    ----------
    partition : Partition
        A partition of a bounded domain of dimension ``k <= 6`` (a 2-D slice, say).
    progress : bool, optional
        tqdm bars for the facets (when not computed yet) and the regions.

    Returns
    -------
    RegionStats
        With the partition's ``status``: an incomplete partition's statistics say so (``summary()["complete"]``).

    Raises
    ------
    TypeError
        When ``partition`` is not a Partition.
    ValueError
        When the domain has more than 6 dimensions or a region is unbounded.
    NumericalError
        When the volume kernel cannot decide a region's vertices, or Qhull fails on their hull for the moments (a
        flat or degenerate vertex set), naming the region.

    Notes
    -----
    Vertices and volumes from the regions' facets by the volume kernel (:mod:`relutope.geometry`), moments by the exact simplex
    decomposition of the module docstring; SplineCam (Humayun et al., CVPR 2023, Sec. 5) reports such statistics
    per slice.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.array([[1.0, 0.0]]), np.array([-1.0])), (np.ones((1, 1)), [0.0])])
    >>> st = region_stats(relutope.enumerate_regions(net, relutope.Box([0, 0], [4, 1])))   # [0,1]x[0,1], [1,4]x[0,1]
    >>> sorted(st.volume.round(12).tolist()), sorted(st.eccentricity.round(6).tolist())
    ([1.0, 3.0], [0.0, 0.942809])
    """
    from .geometry import _check_vertex_dim, _polytope_measures
    from .partition import Partition

    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    k = _check_vertex_dim(partition)
    f = partition.facets(progress=progress)
    form = partition.domain._engine_form()
    R = len(partition)
    meas = _polytope_measures(partition, progress=progress, what="vertices")  # u: orthonormal, input units
    vol, ecc = meas.volumes.copy(), np.full(R, np.nan)
    nv = np.diff(meas.offsets).astype(np.int64)
    cen = np.empty((R, k))
    with region_bar(progress, R, "region stats") as update:
        for i in range(R):
            V = meas.vertices_of(i)
            if k == 1:
                cen[i] = V.mean(axis=0)
            else:
                _, cen[i], cov, _ = _moments(V, partition._centers[i], i)
                lam = np.linalg.eigvalsh(cov)
                ecc[i] = math.sqrt(max(0.0, 1.0 - lam[0] / lam[-1]))
            if update is not None:
                update(i + 1)
    return RegionStats(volume=vol, inradius=partition.radii.copy(), n_vertices=nv, n_facets=f.counts(),
                       eccentricity=ecc, centroid=form.x0 + cen @ form.Q.T, dim=k, status=partition.status)


def data_slices(X, n_slices: int, seed=0, margin: float = 0.0, labels=None) -> List["Slice"]:
    """2-D slices through triples of data points (SplineCam's slices), drawn at random.

    Parameters
    ----------
    X : array_like, shape (N, d), float64
        Data points (N >= 3).
    n_slices : int
        Number of slices (> 0).
    seed : int, numpy.random.Generator or None, optional
        Seed of the triples (``rng.choice(N, 3, replace=False)`` per slice).
    margin : float, optional
        Passed to :meth:`Slice.through_points`.
    labels : array_like, shape (N,), optional
        When given, each triple holds three points of one class (drawn as: a class with >= 3 points, then three
        of its points).

    Returns
    -------
    list of Slice
        Each with the attribute ``points`` (the indices of its three points), int64 (3,).

    Raises
    ------
    TypeError
        ``n_slices`` not an int, ``margin`` not a number.
    ValueError
        Fewer than 3 points (of any class), ``n_slices <= 0``, a negative or non-finite ``margin``, or triples that
        are collinear on every try (10 per slice).
    """
    from .domains import Slice
    from .network import _as_float_array

    X = _as_float_array(X, "X", 2)
    if X.shape[0] < 3:
        raise ValueError(f"X must hold at least 3 points, got {X.shape[0]}")
    n_slices = check_int(n_slices, "n_slices")
    rng = np.random.default_rng(check_seed(seed))
    groups = [np.arange(X.shape[0])]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (X.shape[0],):
            raise ValueError(f"labels must have shape ({X.shape[0]},), got {labels.shape}")
        groups = [np.nonzero(labels == c)[0] for c in np.unique(labels)]
        groups = [g for g in groups if g.size >= 3]
        if not groups:
            raise ValueError("no class of labels has 3 points")
    margin = check_real(margin, "margin", strict=False)  # (through_points' ValueError read as "collinear")
    out = []
    for _ in range(n_slices):
        for _try in range(10):
            g = groups[rng.integers(len(groups))]
            idx = rng.choice(g, 3, replace=False)
            try:
                s = Slice.through_points(X[idx[0]], X[idx[1]], X[idx[2]], margin=margin)
            except ValueError:
                continue
            s.points = idx.astype(np.int64)
            out.append(s)
            break
        else:
            raise ValueError("10 random triples of X in a row were collinear")
    return out


def slice_summaries(network: "Network", slices: Sequence["Slice"], progress: bool = False, as_frame: bool = False,
                    max_regions: Optional[int] = None):
    """Enumerate every slice and summarise its regions: one row per slice.

    Parameters
    ----------
    network : Network
    slices : sequence of Domain
        Bounded domains of dimension <= 6 (:data:`relutope.geometry.MAX_VERTEX_DIM`; e.g. from :func:`data_slices`).
    progress : bool, optional
        A tqdm bar over the slices.
    as_frame : bool, optional
        Return a :class:`pandas.DataFrame` instead of a list of dicts.
    max_regions : int, optional
        Passed to :func:`~relutope.enumerate_regions`; an incomplete slice has ``complete = False``. Ctrl-C stops
        the run after the slice it interrupts (``complete = False``); the slices not reached have no row.

    Returns
    -------
    list of dict or pandas.DataFrame
        Columns ``slice`` (its position), ``points`` (the data indices, for :func:`data_slices`' slices),
        ``complete``, ``seconds`` (enumeration), ``status``, then :data:`SUMMARY_COLUMNS`.

    Raises
    ------
    TypeError
        When ``network`` is not a :class:`~relutope.Network`, ``slices`` is not a sequence of domains,
        ``max_regions`` is not an int or ``as_frame`` not a bool.
    ValueError
        When a slice is not of the network's input dimension, is unbounded or has more than 6 dimensions (checked
        for every slice before the first is enumerated), or ``max_regions`` is negative.
    NumericalError
        As :func:`region_stats`, when Qhull fails on a region.
    """
    from .distance import _check_network
    from .domains import Domain
    from .enumerate import _check_positive, enumerate_regions

    _check_network(network)
    if isinstance(slices, Domain) or isinstance(slices, (str, bytes)):
        raise TypeError(f"slices must be a sequence of domains, got one {type(slices).__name__} (pass [it])")
    from .geometry import MAX_VERTEX_DIM

    try:
        slices = list(slices)
    except TypeError:
        raise TypeError(f"slices must be a sequence of domains, got {type(slices).__name__}") from None
    for j, dom in enumerate(slices):
        if not isinstance(dom, Domain):
            raise TypeError(f"slices[{j}] must be a relutope Domain (e.g. a Slice of data_slices), got "
                            f"{type(dom).__name__}")
        if dom.dim != network.in_dim:
            raise ValueError(f"slices[{j}] has dimension {dom.dim} but the network takes {network.in_dim} inputs")
        if not dom.bounded or dom.intrinsic_dim > MAX_VERTEX_DIM:
            raise ValueError(f"slices[{j}] must be bounded and of dimension <= {MAX_VERTEX_DIM} (region statistics "
                             f"need the regions' vertices), got {dom!r}")
    _check_positive(max_regions, "max_regions", integer=True)
    as_frame = check_bool(as_frame, "as_frame")  # ("no" was truthy: it returned a frame)
    rows = []
    with region_bar(progress, len(slices), "slices", unit=" slices") as update:
        for j, dom in enumerate(slices):
            part = enumerate_regions(network, dom, max_regions=max_regions)
            row = {"slice": j, "points": getattr(dom, "points", None), "complete": part.complete,
                   "seconds": part.seconds}
            row.update(region_stats(part).summary())
            rows.append(row)
            if update is not None:
                update(j + 1)
            if part.status == "interrupted":  # Ctrl-C: stop here (it stopped this slice, then went on)
                break
    if as_frame:
        import pandas as pd

        return pd.DataFrame(rows)
    return rows
