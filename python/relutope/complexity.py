"""Local complexity: how finely the partition cuts a small neighbourhood of an input.

Humayun, Balestriero & Baraniuk ("Deep Networks Always Grok and Here is Why", 2024, Section 3) measure the density
of the partition around a point ``x`` on the cross-polytope with vertices ``x +- r v_p`` for ``P`` random
orthonormal directions ``v_1 .. v_P``: the *local complexity* is the number of neurons whose hyperplane cuts that
neighbourhood. Their estimate, :func:`local_complexity_estimate`, evaluates the network at the ``2 P`` vertices
and counts the neurons whose piece at some vertex differs from the piece at ``x``; deeper layers are taken at
their true pre-activations at the vertices, as if the neighbourhood were mapped affinely, so a neuron that bends
through the neighbourhood without changing sign at a vertex is missed: the estimate is a lower bound.

:func:`local_complexity` is the exact count: the neighbourhood is the :class:`~relutope.Slice` ``x + V t`` with
``t`` in the cross-polytope ``{|t|_1 <= r}`` (or the box ``[-r, r]^P``) of its own ``P``-dimensional chart, its
partition is enumerated (:func:`~relutope.enumerate_regions`), and it reports

* ``n_regions``: the activation regions meeting the neighbourhood;
* ``n_cut`` (and ``n_cut_layer``): the units whose piece is not the same on all of them, i.e. whose (bent)
  hyperplane passes through the neighbourhood;
* ``boundary_density`` (``P <= 6``): the total ``(P-1)``-volume of the region boundaries inside the neighbourhood
  per unit of its ``P``-volume (``P = 1``: boundary points per unit length), from the regions' vertices:
  every interior facet is shared by two regions, so it is ``(sum of the regions' surface areas - surface of the
  neighbourhood) / 2``.

For one hidden layer the two agree, and unit ``k`` is cut iff ``|w_k . x + b_k| < r max_p |w_k . v_p|`` (for the
box: ``r sum_p |w_k . v_p|``), the largest change of an affine function over the cross-polytope (box).

Both functions draw the directions from ``numpy.random.default_rng(seed)`` the same way (:func:`directions`), so
with the same seed, points and ``P`` they measure the same neighbourhoods.
"""
from __future__ import annotations

import csv
import functools
import itertools
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._checks import Deadline, check_bool, check_choice, check_int, check_path, check_real, check_seed
from ._progress import region_bar
from .geometry import MAX_VERTEX_DIM
from .network import Network, _as_points

__all__ = ["LocalComplexity", "LocalComplexityEstimate", "directions", "local_complexity",
           "local_complexity_estimate", "neighbourhood", "SHAPES"]

#: Neighbourhood shapes: Humayun et al.'s cross-polytope (the l1 ball) and the box (the l-infinity ball).
SHAPES = ("cross", "box")

#: Largest chart dimension P for which the boundary density is computed (region surfaces by the volume kernel,
#: :data:`relutope.geometry.MAX_VERTEX_DIM`).
MAX_BOUNDARY_DIM = MAX_VERTEX_DIM


# ---------------------------------------------------------------------------------------------------- arguments
def _check_args(network, x, radius, n_dirs, shape):
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    single = np.ndim(x) == 1
    X = _as_points(x, "x", network.in_dim)
    radius = check_real(radius, "radius")  # (True is not a radius)
    n_dirs = check_int(n_dirs, "n_dirs", 1, network.in_dim)
    check_choice(shape, "shape", SHAPES)
    return X, radius, n_dirs, single


def directions(n_points: int, d: int, n_dirs: int, seed=0) -> np.ndarray:
    """Random orthonormal directions, ``n_dirs`` per point: shape (n_points, d, n_dirs), float64.

    The Q factors of ``numpy.random.default_rng(seed).standard_normal((n_points, d, n_dirs))``, with the signs that
    make the diagonal of R positive, i.e. Haar-distributed orthonormal frames (Mezzadri, "How to generate random
    matrices from the classical compact groups", Notices AMS 2007).

    Parameters
    ----------
    n_points, d, n_dirs : int
        How many frames, the input dimension and the directions per frame (``n_dirs <= d``).
    seed : int >= 0, numpy.random.Generator or None, optional
        Seed of :func:`numpy.random.default_rng` (anything else: TypeError or ValueError naming ``seed``).

    Returns
    -------
    ndarray, shape (n_points, d, n_dirs), float64
        Orthonormal columns for every point.

    Raises
    ------
    TypeError
        When a count is not an int.
    ValueError
        When a count is negative, or ``n_dirs > d`` (no such orthonormal frame).

    Examples
    --------
    >>> V = directions(3, 5, 2, seed=0)
    >>> V.shape, bool(np.allclose(V[1].T @ V[1], np.eye(2)))
    ((3, 5, 2), True)
    """
    n_points, d, n_dirs = (check_int(v, name, 0) for name, v in (("n_points", n_points), ("d", d),
                                                                 ("n_dirs", n_dirs)))
    if n_dirs > d:
        raise ValueError(f"n_dirs must be at most d: {n_dirs} orthonormal directions do not fit in {d} dimensions")
    G = np.random.default_rng(check_seed(seed)).standard_normal((n_points, d, n_dirs))
    Q, R = np.linalg.qr(G)
    s = np.sign(np.diagonal(R, axis1=1, axis2=2))
    return Q * np.where(s == 0, 1.0, s)[:, None, :]


def _get_directions(directions_, n, d, P, seed):
    seed = check_seed(seed)
    if directions_ is None:
        return directions(n, d, P, seed)
    V = np.asarray(directions_, dtype=np.float64)
    if V.shape != (n, d, P):
        raise ValueError(f"directions must have shape ({n}, {d}, {P}), got {V.shape}")
    if not np.all(np.isfinite(V)):
        raise ValueError("directions must be finite")
    gram = np.einsum("ndp,ndq->npq", V, V)
    if not np.allclose(gram, np.eye(P)[None], rtol=0, atol=1e-9):
        raise ValueError("directions must be orthonormal for every point (V[i].T @ V[i] == I)")
    return V


def _chart_vertices(P: int, radius: float, shape: str) -> np.ndarray:
    """Vertices of the neighbourhood in its chart: (2P, P) for the cross-polytope, (2^P, P) for the box."""
    if shape == "cross":
        return radius * np.vstack([np.eye(P), -np.eye(P)])
    return radius * np.array(list(itertools.product((1.0, -1.0), repeat=P)))


def _unit_layer_matrix(network: Network) -> np.ndarray:
    return np.eye(len(network), dtype=np.int64)[network.unit_layer]


# ---------------------------------------------------------------------------------------------------- the estimate
@dataclass(frozen=True, eq=False)
class LocalComplexityEstimate:
    """The vertex-sign estimate of local complexity (see :func:`local_complexity_estimate`).

    Attributes
    ----------
    points : ndarray, shape (N, d), float64
    radius : float
    shape : str
    directions : ndarray, shape (N, d, P), float64
    cut : ndarray, shape (N, n_units), bool
        Which units' piece at some vertex differs from their piece at the point.
    n_cut : ndarray, shape (N,), int64
        Their number.
    n_cut_layer : ndarray, shape (N, L), int64
        The same, per layer.
    """

    points: np.ndarray
    radius: float
    shape: str
    directions: np.ndarray
    cut: np.ndarray
    n_cut: np.ndarray
    n_cut_layer: np.ndarray

    def __repr__(self) -> str:
        return (f"LocalComplexityEstimate({len(self.n_cut)} points, P={self.directions.shape[2]}, "
                f"radius={self.radius:g}, mean n_cut={self.n_cut.mean():.4g})")


def local_complexity_estimate(network: Network, x, radius: float, n_dirs: int = 2, seed=0, shape: str = "cross",
                              directions=None) -> LocalComplexityEstimate:
    """Humayun et al.'s local complexity: units whose sign changes between a point and its neighbourhood's vertices.

    Parameters
    ----------
    network : Network
    x : array_like, shape (N, d) or (d,), float64
        The points.
    radius : float
        ``r > 0``, in input units: the vertices are ``x +- r v_p`` (``shape="cross"``) or ``x + r V s`` for the
        ``2^P`` sign vectors ``s`` (``shape="box"``).
    n_dirs : int, optional
        ``P``, the number of orthonormal directions per point (1 .. d).
    seed : int, numpy.random.Generator or None, optional
        Seed of the directions (:func:`directions`).
    shape : {"cross", "box"}, optional
        The paper's cross-polytope (default) or the box.
    directions : array_like, shape (N, d, P), optional
        Orthonormal directions to use instead of random ones.

    Returns
    -------
    LocalComplexityEstimate
        Per point, the number of units (and per layer) whose chosen piece at some vertex differs from the one at
        ``x``. Units with a single piece (linear outputs) never count.

    Raises
    ------
    TypeError, ValueError
        On a bad network, points, radius, ``n_dirs``, shape or directions (the message names the argument).

    Notes
    -----
    Humayun, Balestriero & Baraniuk, "Deep Networks Always Grok and Here is Why", 2024, Section 3 (local complexity
    on a cross-polytope of ``P`` random orthonormal directions). One forward pass of ``N (2P + 1)`` inputs (box:
    ``N (2^P + 1)``). Every vertex lies in the neighbourhood, so each unit counted really changes there: the
    estimate never exceeds :func:`local_complexity`'s ``n_cut``.

    Examples
    --------
    >>> import relutope
    >>> net = relutope.Network.random([4, 16, 16, 1], seed=0)
    >>> est = local_complexity_estimate(net, np.zeros((3, 4)), radius=0.1, n_dirs=2, seed=0)
    >>> est.n_cut.shape, est.n_cut_layer.shape
    ((3,), (3, 3))
    """
    X, radius, P, _ = _check_args(network, x, radius, n_dirs, shape)
    N, d = X.shape
    V = _get_directions(directions, N, d, P, seed)
    T = _chart_vertices(P, radius, shape)  # (M, P)
    verts = X[:, None, :] + np.einsum("ndp,mp->nmd", V, T)  # (N, M, d)
    pc = network.activation_pattern(X)
    pv = network.activation_pattern(verts.reshape(-1, d)).reshape(N, T.shape[0], -1)
    changed = np.any(pv != pc[:, None, :], axis=1)
    per_layer = changed.astype(np.int64) @ _unit_layer_matrix(network)
    return LocalComplexityEstimate(points=X, radius=radius, shape=shape, directions=V, cut=changed,
                                   n_cut=per_layer.sum(axis=1), n_cut_layer=per_layer)


# ---------------------------------------------------------------------------------------------------- exact
@dataclass(frozen=True, eq=False)
class LocalComplexity:
    """The exact local complexity of neighbourhoods (see :func:`local_complexity`).

    Attributes
    ----------
    points : ndarray, shape (N, d), float64
    radius : float
    shape : str
    directions : ndarray, shape (N, d, P), float64
        The neighbourhood of point ``i`` is ``points[i] + directions[i] @ t`` with ``t`` in the chart's
        cross-polytope or box of radius ``radius``.
    n_regions : ndarray, shape (N,), int64
        Activation regions meeting the neighbourhood (-1 where not computed).
    cut : ndarray, shape (N, n_units), bool
        Which units' piece is not constant on the neighbourhood (False where not computed).
    n_cut : ndarray, shape (N,), int64
        Units whose piece is not constant on the neighbourhood (-1 where not computed).
    n_cut_layer : ndarray, shape (N, L), int64
        The same per layer (-1 where not computed).
    boundary_density : ndarray, shape (N,), float64
        ``(P-1)``-volume of the region boundaries inside the neighbourhood per unit ``P``-volume, in 1 / input
        units (NaN where not computed, and for ``P > 6``).
    complete : ndarray, shape (N,), bool
        Whether the neighbourhood's partition was enumerated completely (False where a limit stopped it or it was
        not reached).
    status : str
        ``"complete"``, or why the run stopped: ``"time_limit"``, ``"interrupted"``; neighbourhoods hitting
        ``max_regions`` are incomplete without stopping the run.
    seconds : float
        Wall time.
    """

    points: np.ndarray
    radius: float
    shape: str
    directions: np.ndarray
    n_regions: np.ndarray
    cut: np.ndarray
    n_cut: np.ndarray
    n_cut_layer: np.ndarray
    boundary_density: np.ndarray
    complete: np.ndarray
    status: str
    seconds: float

    def __len__(self) -> int:
        return int(self.n_regions.shape[0])

    def __repr__(self) -> str:
        short = int(np.count_nonzero(~self.complete))  # (max_regions leaves the status "complete")
        return (f"LocalComplexity({len(self)} points, P={self.directions.shape[2]}, radius={self.radius:g}, "
                f"status={self.status!r}" + (f", {short} incomplete (lower bounds)" if short else "") + ")")

    def to_csv(self, path, estimate: Optional[LocalComplexityEstimate] = None) -> None:
        """Write one row per point: ``point, n_regions, n_cut, n_cut_layer<l>..., boundary_density, complete`` (and
        ``estimate_n_cut`` when an estimate of the same points is given; ``path``: a str or os.PathLike, else
        TypeError)."""
        check_path(path)
        L = self.n_cut_layer.shape[1]
        head = (["point", "n_regions", "n_cut"] + [f"n_cut_layer{l}" for l in range(L)]
                + ["boundary_density", "complete"] + (["estimate_n_cut"] if estimate is not None else []))
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(head)
            for i in range(len(self)):
                row = ([i, int(self.n_regions[i]), int(self.n_cut[i])] + self.n_cut_layer[i].tolist()
                       + [f"{self.boundary_density[i]:.10g}", int(self.complete[i])])
                if estimate is not None:
                    row.append(int(estimate.n_cut[i]))
                w.writerow(row)


@functools.lru_cache(maxsize=16)
def _chart_domain(P: int, radius: float, shape: str):
    """The neighbourhood in its chart, the inner domain of the Slices (built once per (P, radius, shape): the
    Polytope's check is 2 P + 1 LPs)."""
    from .domains import Box, Polytope

    if shape == "box" or P == 1:
        return Box(-radius * np.ones(P), radius * np.ones(P))
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=P)))
    return Polytope(signs, radius * np.ones(len(signs)))


def neighbourhood(x, directions, radius: float, shape: str = "cross"):
    """The neighbourhood of one point as a domain: the :class:`~relutope.Slice` ``x + V t``, ``t`` in the chart.

    Parameters
    ----------
    x : array_like, shape (d,), float64
    directions : array_like, shape (d, P), float64
        ``V``, orthonormal columns (one point's slice of :attr:`LocalComplexity.directions`).
    radius : float
    shape : {"cross", "box"}, optional
        ``t`` in the cross-polytope ``{|t|_1 <= r}`` (a :class:`~relutope.Polytope` of ``2^P`` rows; for P = 1
        the interval) or the box ``[-r, r]^P``.

    Returns
    -------
    Slice
        The domain :func:`local_complexity` enumerates; e.g. for :func:`relutope.sample_patterns` on it.

    Raises
    ------
    TypeError, ValueError
        On a bad radius or shape, or as :class:`~relutope.Slice` does.
    """
    from .domains import Slice

    V = np.asarray(directions, dtype=np.float64)
    if V.ndim != 2:
        raise ValueError(f"directions must have shape (d, P), got {V.shape}")
    try:
        radius = float(radius)
    except (TypeError, ValueError):
        raise TypeError(f"radius must be a number, got {type(radius).__name__}") from None
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be positive and finite, got {radius}")
    check_choice(shape, "shape", SHAPES)
    return Slice(x, V, _chart_domain(int(V.shape[1]), radius, shape))


def _boundary_length(part, chart_surface: float, chart_volume: float) -> float:
    """Boundary density of a neighbourhood's partition (see the module docstring)."""
    from .geometry import _polytope_measures

    P = part.domain.intrinsic_dim
    if P == 1:
        return (len(part) - 1) / chart_volume
    if P == 2:
        total = 0.0
        for poly in part.polygons():  # chart coordinates are orthonormal: input units
            total += float(np.sum(np.linalg.norm(poly - np.roll(poly, 1, axis=0), axis=1)))
    else:  # the regions' boundary measures from the volume kernel (input units: the chart is orthonormal)
        total = float(_polytope_measures(part, vertices=False).surfaces.sum())
    return max(total - chart_surface, 0.0) / 2.0 / chart_volume


def local_complexity(network: Network, x, radius: float, n_dirs: int = 2, seed=0, shape: str = "cross", *,
                     boundary: Optional[bool] = None, directions=None, tol: Optional[float] = None,
                     max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                     progress: bool = False) -> LocalComplexity:
    """The exact local complexity around every point: regions, units cut and boundary density of its neighbourhood.

    Parameters
    ----------
    network : Network
    x : array_like, shape (N, d) or (d,), float64
        The points.
    radius : float
        ``r > 0`` in input units: the neighbourhood is ``x + V t`` with ``|t|_1 <= r`` (``shape="cross"``) or
        ``|t|_inf <= r`` (``shape="box"``).
    n_dirs : int, optional
        ``P``, the neighbourhood's dimension (1 .. d).
    seed : int, numpy.random.Generator or None, optional
        Seed of the directions; the same as :func:`local_complexity_estimate`'s for the same arguments.
    shape : {"cross", "box"}, optional
    boundary : bool, optional
        Compute the boundary density (default: when ``P <= 6``; ``True`` with ``P > 6`` is a ValueError).
    directions : array_like, shape (N, d, P), optional
        Orthonormal directions to use instead of random ones.
    tol : float, optional
        Passed to :func:`~relutope.enumerate_regions` (default: its relative default, 1e-9 of the radius).
    max_regions : int, optional
        Per neighbourhood: stop its enumeration there (it is then marked incomplete; its counts are lower bounds).
    time_limit : float, optional
        Seconds for the whole run, the enumeration of each neighbourhood given what is left: the neighbourhood it
        stops is marked incomplete (its counts are lower bounds), the points not reached are marked incomplete
        with -1 / NaN entries.
    progress : bool, optional
        A tqdm bar over the points.

    Returns
    -------
    LocalComplexity

    Raises
    ------
    TypeError, ValueError
        On bad arguments (the message names the argument).

    Notes
    -----
    The exact counterpart of Humayun, Balestriero & Baraniuk, "Deep Networks Always Grok and Here is Why", 2024,
    Section 3. Every neighbourhood is enumerated in its own chart (a ``P``-dimensional :class:`~relutope.Slice`
    through the point, with a :class:`~relutope.Polytope` or :class:`~relutope.Box` inner domain built once for
    all points); ``P = 2`` takes the planar fast path. A unit is cut when the neighbourhood's regions do not all
    give it the same piece, which is exactly when its zero set (for deep units, a bent hyperplane) passes through
    the neighbourhood's interior, up to regions thinner than ``tol``. Ctrl-C stops cleanly between points
    (``status="interrupted"``).

    Examples
    --------
    >>> import relutope
    >>> net = relutope.Network.random([4, 16, 16, 1], seed=0)
    >>> X = np.random.default_rng(1).normal(size=(3, 4))
    >>> lc = local_complexity(net, X, radius=0.2, n_dirs=2, seed=0)
    >>> est = local_complexity_estimate(net, X, radius=0.2, n_dirs=2, seed=0)
    >>> bool(np.all(lc.n_cut >= est.n_cut)), bool(np.all(lc.n_regions >= 1))
    (True, True)
    """
    from .enumerate import enumerate_regions

    X, radius, P, _ = _check_args(network, x, radius, n_dirs, shape)
    N, d = X.shape
    if boundary is None:
        boundary = P <= MAX_BOUNDARY_DIM
    elif check_bool(boundary, "boundary") and P > MAX_BOUNDARY_DIM:  # ("no" was truthy: it switched it on)
        raise ValueError(f"boundary density needs n_dirs <= {MAX_BOUNDARY_DIM}, got n_dirs={P}")
    Deadline(time_limit)  # (checks it before the set-up)
    V = _get_directions(directions, N, d, P, seed)
    if boundary and P >= 2:
        from scipy.spatial import ConvexHull

        hull = ConvexHull(_chart_vertices(P, radius, shape))
        chart_surface, chart_volume = float(hull.area), float(hull.volume)
    else:
        chart_surface, chart_volume = 2.0, 2.0 * radius
    L = len(network)
    M = _unit_layer_matrix(network)
    n_regions = np.full(N, -1, dtype=np.int64)
    cut_units = np.zeros((N, network.n_units), dtype=bool)
    n_cut = np.full(N, -1, dtype=np.int64)
    n_cut_layer = np.full((N, L), -1, dtype=np.int64)
    density = np.full(N, np.nan)
    complete = np.zeros(N, dtype=bool)
    status = "complete"
    start = time.perf_counter()
    clock = Deadline(time_limit)  # one limit for the whole run, each neighbourhood given what is left of it
    with region_bar(progress, N, "local complexity", unit=" points") as update:
        try:
            for i in range(N):
                if clock.passed():
                    status = "time_limit"
                    break
                part = enumerate_regions(network, neighbourhood(X[i], V[i], radius, shape), tol=tol,
                                         max_regions=max_regions, time_limit=clock.left())
                if part.status == "interrupted":
                    status = "interrupted"
                    break
                pats = part.patterns
                cut_units[i] = np.any(pats != pats[:1], axis=0)
                n_regions[i] = len(part)
                n_cut_layer[i] = cut_units[i].astype(np.int64) @ M
                n_cut[i] = int(n_cut_layer[i].sum())
                complete[i] = part.complete
                if boundary and part.complete:
                    density[i] = _boundary_length(part, chart_surface, chart_volume)
                if update is not None:
                    update(i + 1)
                if part.status == "time_limit":  # its counts are lower bounds, as under max_regions
                    status = "time_limit"
                    break
        except KeyboardInterrupt:
            status = "interrupted"
    return LocalComplexity(points=X, radius=radius, shape=shape, directions=V, n_regions=n_regions, cut=cut_units,
                           n_cut=n_cut, n_cut_layer=n_cut_layer, boundary_density=density, complete=complete,
                           status=status, seconds=time.perf_counter() - start)
