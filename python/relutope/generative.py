"""Deep generative networks: the generated manifold, its density and its entropy, exactly on the latent partition.

A piecewise-affine generator ``G: R^S -> R^D`` (a GAN generator or a VAE decoder with ReLU-family layers) is affine
on every region ``w`` of its latent partition, ``G(z) = A_w z + b_w``, so its image is a union of affine pieces
(Balestriero, Paris & Baraniuk, "Max-Affine Spline Insights into Deep Generative Networks", 2020; cited below as
BPB20). This module answers, from a :class:`~relutope.Partition` of the latent space (``network`` = the generator,
``domain`` = the latent support), the questions that paper answers by sampling:

* :func:`manifold_pieces`: the dimension ``rank(A_w)`` of every piece (float tolerance stated; exact rank in
  rational arithmetic on request), an orthonormal basis and origin of its affine subspace, and
  ``1/2 log det(A_w^T A_w)`` (BPB20 Sec. 3);
* :func:`piece_angles`: the principal angles between adjacent pieces (every edge of
  :meth:`Partition.adjacency`), the *angularity* of BPB20 Sec. 3.2;
* :func:`image_overlaps` and :func:`manifold_density`: pieces whose images overlap (a non-injective generator), and
  the density on the manifold by the change of variables, summed over all preimages (BPB20 Sec. 4.1);
* :func:`region_masses`, :func:`entropy` and :func:`entropy_monte_carlo`: the probability of every region and the
  differential entropy ``H(G(z)) = H(z) + sum_w P(w) 1/2 log det(A_w^T A_w)`` (BPB20 Sec. 4.2);
* :func:`log_likelihood`: the log-likelihood of data under ``x = G(z) + N(0, s^2 I)``, ``z ~ N(0, I)``, region by
  region (BPB20 Sec. 5, the EM view);
* :func:`disentanglement`: per region the Gram matrix of the normalised columns of ``A_w``, and how consistent
  each latent direction's image is across regions (BPB20 Sec. 3.3);
* :func:`plot_pieces` and :func:`plot_log_det`: a 2-D latent mapped to a 3-D output, and the latent partition
  coloured by log-determinant (matplotlib, imported when called).

Latent distributions (``latent=``): ``"uniform"`` on a :class:`~relutope.Box` domain, ``"gaussian"`` (standard
normal) on :class:`~relutope.WholeSpace` or, truncated and renormalised, on a Box; ``"auto"`` picks uniform for a
Box and Gaussian for WholeSpace. The domain must be full-dimensional (the latent is the network's input). Gaussian
measures of regions come from :mod:`relutope.gaussian` (closed forms for S <= 2, directional RQMC with an error
estimate for S >= 3). Entropies are in nats, with respect to the S-dimensional Hausdorff measure on the manifold.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ._checks import check_bool, check_choice, check_indices, check_int, check_seed
from .domains import Box, WholeSpace
from .gaussian import GaussianMasses, _check_method, interval_masses, polytope_masses
from .network import _as_float_array, _as_points
from .partition import Partition

__all__ = ["ManifoldPieces", "PieceAngles", "ImageOverlaps", "ManifoldDensity", "RegionMasses", "GeneratorEntropy",
           "MonteCarloEntropy", "GeneratorLikelihood", "Disentanglement", "manifold_pieces", "exact_ranks",
           "piece_angles", "image_overlaps", "manifold_density", "region_masses", "latent_entropy", "entropy",
           "entropy_monte_carlo", "log_likelihood", "disentanglement", "plot_pieces", "plot_log_det"]

LATENTS = ("auto", "uniform", "gaussian")

#: :func:`log_likelihood` skips the regions whose Gaussian factor is below ``exp(-PRUNE_LOG) / R`` of the total
#: (their posterior masses are at most 1, so together they change ``log p(x)`` by less than ``exp(-PRUNE_LOG)``).
PRUNE_LOG = 40.0

#: The arguments :func:`log_likelihood` passes on to :func:`relutope.gaussian.polytope_masses`.
_LIKELIHOOD_OPTIONS = ("method", "n_directions", "replicates", "seed")

#: S = 2 in :func:`log_likelihood`: posterior masses below this are in the Owen's T fan's rounding (its absolute
#: error is about ``FAN_ULPS`` float64 ulps of 1 per edge); they count as 0 with their tail bound in the error.
TAIL_MASS = 1e-11
FAN_ULPS = 16


# ---------------------------------------------------------------------------------------------- checks
def _check_partition(partition) -> Partition:
    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    dom = partition.domain
    if not isinstance(dom, (Box, WholeSpace)) or dom.intrinsic_dim != partition.network.in_dim:
        raise ValueError(f"the latent partition's domain must be a full-dimensional Box or a WholeSpace, got {dom!r}")
    if not partition.complete:
        raise ValueError(f"the partition is incomplete (status {partition.status!r}): its regions do not cover the "
                         "latent domain, so masses, entropies and likelihoods would be wrong")
    return partition


def _latent(partition: Partition, latent: str) -> str:
    check_choice(latent, "latent", LATENTS)
    dom = partition.domain
    if latent == "auto":
        return "uniform" if isinstance(dom, Box) else "gaussian"
    if latent == "uniform" and not isinstance(dom, Box):
        raise ValueError("latent='uniform' needs a Box domain (a uniform distribution on a bounded box)")
    return latent


def _check_pieces(partition: Partition, pieces) -> "ManifoldPieces":
    if pieces is None:
        return manifold_pieces(partition)
    if not isinstance(pieces, ManifoldPieces) or pieces.A.shape != (len(partition), partition.network.out_dim,
                                                                    partition.network.in_dim) \
            or not np.array_equal(pieces.A, partition.affine_maps()[0]):
        raise ValueError("pieces must be the ManifoldPieces of this partition (from manifold_pieces(partition))")
    return pieces


def _check_rtol(rtol) -> float:
    if not (isinstance(rtol, (int, float, np.floating)) and 0 < rtol < 1):
        raise ValueError(f"rtol must be a number in (0, 1), got {rtol!r}")
    return float(rtol)


# ---------------------------------------------------------------------------------------------- pieces
@dataclass
class ManifoldPieces:
    """The affine pieces ``G(z) = A_w z + b_w`` of a generator, one per region (made by :func:`manifold_pieces`).

    Attributes
    ----------
    A : ndarray, shape (R, D, S), float64
    b : ndarray, shape (R, D), float64
        The affine maps.
    rank : ndarray, shape (R,), int64
        ``rank(A_w)``, the dimension of the piece ``G(w)``.
    singular_values : ndarray, shape (R, min(D, S)), float64
        Singular values of ``A_w``, descending.
    rank_tol : ndarray, shape (R,), float64
        The singular values above which the float rank counts (see :func:`manifold_pieces`).
    basis : ndarray, shape (R, D, S), float64
        Orthonormal basis of ``col(A_w)`` in the first ``rank[w]`` columns (left singular vectors), zeros beyond.
    origin : ndarray, shape (R, D), float64
        The point of the affine subspace ``b_w + col(A_w)`` nearest the origin.
    log_det : ndarray, shape (R,), float64
        ``1/2 log det(A_w^T A_w) = sum_i log sigma_i`` (the log volume change of the piece); ``-inf`` where
        ``rank < S``.
    exact : bool
        Whether ``rank`` was computed in rational arithmetic.
    """

    A: np.ndarray
    b: np.ndarray
    rank: np.ndarray
    singular_values: np.ndarray
    rank_tol: np.ndarray
    basis: np.ndarray
    origin: np.ndarray
    log_det: np.ndarray
    exact: bool = False

    @property
    def full_rank(self) -> np.ndarray:
        """Which pieces have dimension S (the generator is locally injective there), shape (R,), bool."""
        return self.rank == self.A.shape[2]


def exact_ranks(partition: Partition, regions=None) -> np.ndarray:
    """Ranks of the pieces' linear parts in exact rational arithmetic (python-flint).

    Every float64 weight is converted exactly to a rational and the chosen pieces are composed layer by layer in
    ``fmpq_mat`` (Balestriero & Baraniuk, ICML 2018, Eq. 9, without rounding), so the rank is that of the network
    the float weights define, with no tolerance.

    Parameters
    ----------
    partition : Partition
    regions : array_like of int, optional
        The regions (default all).

    Returns
    -------
    ndarray, shape (n,), int64

    Raises
    ------
    TypeError, ValueError
        When ``regions`` is not an integer array of region indices in ``[0, R)``.
    ImportError
        When python-flint is not installed (``pip install relutope[exact]``).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.array([[0.1, 0.7], [0.3, 2.1]]), np.zeros(2))],
    ...                                     activation="identity")
    >>> part = relutope.enumerate_regions(net, relutope.WholeSpace(2))
    >>> int(exact_ranks(part)[0]), int(manifold_pieces(part).rank[0])   # 2.1 != 3 * 0.7 in float64
    (2, 1)
    """
    import flint

    from .exact import exact_affine_map

    _check_partition(partition)
    net = partition.network
    rows = np.arange(len(partition)) if regions is None else check_indices(regions, "regions", len(partition))
    pats = partition._patterns_at(rows)
    out = np.empty(len(rows), dtype=np.int64)
    for k in range(len(rows)):
        A_Q, _ = exact_affine_map(net, pats[k])
        out[k] = flint.fmpq_mat(A_Q.shape[0], A_Q.shape[1], A_Q.reshape(-1).tolist()).rank()
    return out


def manifold_pieces(partition: Partition, rtol: Optional[float] = None, exact: bool = False) -> ManifoldPieces:
    """Dimension, orthonormal basis and log-determinant of every affine piece of a generator.

    Parameters
    ----------
    partition : Partition
        The generator's latent partition (its domain a full-dimensional Box or WholeSpace).
    rtol : float, optional
        Relative rank tolerance: singular values ``sigma_i > rtol * sigma_max`` count. Default
        ``max(D, S) * eps`` (float64 eps), the convention of :func:`numpy.linalg.matrix_rank` (Press et al.,
        Numerical Recipes, Sec. 2.6).
    exact : bool, optional
        Compute the ranks in rational arithmetic instead (:func:`exact_ranks`; python-flint); the basis is still
        the float SVD's leading ``rank`` left singular vectors.

    Returns
    -------
    ManifoldPieces

    Raises
    ------
    TypeError, ValueError
        On a non-partition, an unsupported domain, an incomplete partition, or an invalid ``rtol``.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.eye(2), np.zeros(2)), (np.array([[1.0, 0.0], [0.0, 0.0],
    ...                                       [1.0, 1.0]]), np.zeros(3))])     # (relu z1, 0, relu z1 + relu z2)
    >>> p = manifold_pieces(relutope.enumerate_regions(net, relutope.WholeSpace(2)))
    >>> sorted(p.rank.tolist())
    [0, 1, 1, 2]
    """
    _check_partition(partition)
    exact = check_bool(exact, "exact")
    A, b = partition.affine_maps()
    R, D, S = A.shape
    if rtol is None:
        rtol = max(D, S) * np.finfo(np.float64).eps
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating)) or not 0 <= rtol < 1:
        raise ValueError(f"rtol must be a number in [0, 1), got {rtol!r}")
    U, sv, _ = np.linalg.svd(A, full_matrices=False) if R else (np.zeros((0, D, min(D, S))), np.zeros((0, min(D, S))),
                                                                  None)
    tol = rtol * (sv[:, 0] if sv.shape[1] else np.zeros(R))
    rank = (sv > tol[:, None]).sum(axis=1).astype(np.int64) if R else np.zeros(0, dtype=np.int64)
    if exact:
        rank = exact_ranks(partition)
    basis = np.zeros((R, D, S))
    k = min(D, S)
    basis[:, :, :k] = U * (np.arange(k)[None, None, :] < rank[:, None, None])
    origin = b - np.einsum("rdk,rk->rd", basis, np.einsum("rdk,rd->rk", basis, b))
    log_det = np.full(R, -np.inf)
    if k == S and R:
        ok = rank == S
        log_det[ok] = np.log(sv[ok]).sum(axis=1)
    return ManifoldPieces(A, b, rank, sv, tol, basis, origin, log_det, bool(exact))


# ---------------------------------------------------------------------------------------------- angles
@dataclass
class PieceAngles:
    """Principal angles between the pieces of adjacent regions (made by :func:`piece_angles`).

    Attributes
    ----------
    edges : ndarray, shape (E, 2), int64
        The adjacency edges ``(i, j)`` of :meth:`Partition.adjacency`.
    angles : ndarray, shape (E, S), float64
        Principal angles between ``col(A_i)`` and ``col(A_j)`` in radians, descending (as
        :func:`scipy.linalg.subspace_angles`); ``min(rank_i, rank_j)`` of them, NaN beyond.
    angularity : ndarray, shape (E,), float64
        The largest angle of every edge (0 when a piece has rank 0).
    region_angularity : ndarray, shape (R,), float64
        Every region's largest angularity over its edges (0 for a region without neighbours).
    """

    edges: np.ndarray
    angles: np.ndarray
    angularity: np.ndarray
    region_angularity: np.ndarray


def piece_angles(partition: Partition, pieces: Optional[ManifoldPieces] = None) -> PieceAngles:
    """The angularity of a generator: principal angles between adjacent affine pieces.

    Parameters
    ----------
    partition : Partition
    pieces : ManifoldPieces, optional
        From :func:`manifold_pieces` (computed when not given).

    Returns
    -------
    PieceAngles

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, or the partition is incomplete (a
        limit stopped its enumeration), or ``pieces`` is not the :func:`manifold_pieces` of this partition.

    Notes
    -----
    Principal angles (Bjorck & Golub, "Numerical methods for computing angles between linear subspaces", Math.
    Comp. 27, 1973) from the singular values of ``U_i^T U_j`` (cosines) and of ``U_j - U_i U_i^T U_j`` (sines),
    each used where it is accurate (cosines for angles above 45 degrees, sines below, as
    :func:`scipy.linalg.subspace_angles` does). Across a facet one unit flips, so adjacent maps differ by a
    rank-one term and at most one angle is non-zero (BPB20 Sec. 3.2), unless other units' pieces change on the
    facet too.

    Examples
    --------
    The fold ``G(z) = (z1, z2, relu(z1))`` bends its plane by 45 degrees:

    >>> import numpy as np, relutope
    >>> from relutope.network import Layer
    >>> net = relutope.Network([Layer.affine(np.array([[1.0, 0], [0, 1], [1, 0]]), np.zeros(3),
    ...                                       ["identity", "identity", "relu"]),
    ...                         Layer.affine(np.eye(3), np.zeros(3), "identity")])
    >>> a = piece_angles(relutope.enumerate_regions(net, relutope.WholeSpace(2)))
    >>> np.degrees(a.angles).round(9).tolist()
    [[45.0, 0.0]]
    """
    _check_partition(partition)
    pieces = _check_pieces(partition, pieces)
    R, D, S = pieces.A.shape
    adj = partition.adjacency()
    edges = adj.edges.reshape(-1, 2).astype(np.int64)
    i, j = edges[:, 0], edges[:, 1]
    swap = pieces.rank[j] > pieces.rank[i]
    P = np.where(swap, j, i)
    Q = np.where(swap, i, j)  # rank(Q) <= rank(P)
    UP, UQ = pieces.basis[P], pieces.basis[Q]
    M = np.einsum("edk,edl->ekl", UP, UQ)
    cos = np.linalg.svd(M, compute_uv=False) if len(edges) else np.zeros((0, S))
    B = UQ - np.einsum("edk,ekl->edl", UP, M)
    sin = np.linalg.svd(B, compute_uv=False) if len(edges) else np.zeros((0, min(D, S)))
    n = pieces.rank[Q]
    k = np.arange(S)[None, :]
    valid = k < n[:, None]
    # the n cosines (descending) are those of the angles ascending; reversed, they pair with the n sines descending
    cos_desc = np.take_along_axis(np.pad(cos, ((0, 0), (0, max(S - cos.shape[1], 0)))),
                                  np.clip(n[:, None] - 1 - k, 0, S - 1), axis=1)
    sin_desc = np.pad(sin, ((0, 0), (0, max(S - sin.shape[1], 0))))[:, :S]
    ang = np.where(cos_desc ** 2 <= 0.5, np.arccos(np.clip(cos_desc, -1.0, 1.0)),
                   np.arcsin(np.clip(sin_desc, -1.0, 1.0)))
    ang = np.where(valid, ang, np.nan)
    angularity = np.where(n > 0, np.nanmax(np.where(valid, ang, -np.inf), axis=1, initial=-np.inf), 0.0) \
        if len(edges) else np.zeros(0)
    angularity = np.where(np.isfinite(angularity), angularity, 0.0)
    region = np.zeros(R)
    if len(edges):
        np.maximum.at(region, i, angularity)
        np.maximum.at(region, j, angularity)
    return PieceAngles(edges, ang, angularity, region)


# ---------------------------------------------------------------------------------------------- injectivity, density
@dataclass
class ImageOverlaps:
    """Pairs of full-rank pieces whose images overlap in an S-dimensional set (made by :func:`image_overlaps`).

    Attributes
    ----------
    injective : bool
        No two full-rank pieces overlap (the generator is injective up to a null set on its full-rank part).
    pairs : ndarray, shape (P, 2), int64
        The overlapping pairs of regions ``(i, j)``, ``i < j``.
    radius : ndarray, shape (P,), float64
        Radius of an S-ball (output units, within the common affine subspace) inside both images.
    flat : ndarray, shape (R,), int64
        A label per region: full-rank pieces with the same label lie in the same affine S-flat (-1: rank < S).
    """

    injective: bool
    pairs: np.ndarray
    radius: np.ndarray
    flat: np.ndarray


def _output_scale(partition: Partition, pieces: ManifoldPieces) -> float:
    """A size of the generated set: the largest |G| at the witnesses plus the largest gain times the latent size."""
    if not len(partition):
        return 1.0
    w = partition.witnesses
    y = np.linalg.norm(np.einsum("rds,rs->rd", pieces.A, w) + pieces.b, axis=1)
    gain = pieces.singular_values[:, 0] if pieces.singular_values.shape[1] else np.zeros(len(w))
    lat = partition.domain._default_scale() if partition.domain.bounded else max(float(partition.radii.max()), 1.0)
    return float(max((y + gain * lat).max(), np.finfo(np.float64).tiny))


def _padded_facets(partition: Partition) -> Tuple[np.ndarray, np.ndarray]:
    from .gaussian import _padded_rows

    f = partition.facets()
    return _padded_rows(f.offsets, f.A_x, f.b_x)


def image_overlaps(partition: Partition, pieces: Optional[ManifoldPieces] = None, rtol: float = 1e-9) -> ImageOverlaps:
    """Detect a non-injective generator: full-rank pieces whose images overlap with positive S-volume.

    Two S-dimensional pieces can overlap in an S-dimensional set only when they span the same affine S-flat.
    Pieces are grouped by flat (their projectors and origins equal to ``rtol`` relative to the output's size, found
    with a k-d tree), and every pair in a group is tested with one Chebyshev-ball LP (scipy's HiGHS) in the flat's
    coordinates: the images overlap when a ball of radius ``> rtol * size`` fits in both.

    Parameters
    ----------
    partition : Partition
    pieces : ManifoldPieces, optional
    rtol : float, optional
        Relative tolerance for equal flats and for the overlap ball.

    Returns
    -------
    ImageOverlaps

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, or the partition is incomplete (a
        limit stopped its enumeration), ``pieces`` is not the :func:`manifold_pieces` of this partition, or ``rtol``
        is not a number in (0, 1).

    Examples
    --------
    ``G(z) = |z| (1, 1)`` folds the line onto a ray twice:

    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.ones((1, 1)), np.zeros(1)), (np.ones((2, 1)), np.zeros(2))],
    ...                                     activation="abs")
    >>> o = image_overlaps(relutope.enumerate_regions(net, relutope.WholeSpace(1)))
    >>> o.injective, o.pairs.tolist()
    (False, [[0, 1]])
    """
    _check_partition(partition)
    pieces = _check_pieces(partition, pieces)
    rtol = _check_rtol(rtol)
    from scipy.optimize import linprog
    from scipy.spatial import cKDTree

    R, D, S = pieces.A.shape
    full = np.nonzero(pieces.full_rank)[0]
    flat = np.full(R, -1, dtype=np.int64)
    scale = _output_scale(partition, pieces)
    if full.size == 0:
        return ImageOverlaps(True, np.zeros((0, 2), dtype=np.int64), np.zeros(0), flat)
    probes = np.random.default_rng(0).standard_normal((S + 1, D))
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    U = pieces.basis[full][:, :, :S]
    feat = np.concatenate([np.einsum("rdk,pd,rek->rpe", U, probes, U).reshape(len(full), -1),
                           pieces.origin[full] / scale], axis=1)
    tree = cKDTree(feat)
    pairs_near = tree.query_pairs(r=10 * rtol * np.sqrt(feat.shape[1]), output_type="ndarray")
    # flats: connected components of the near pairs
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    g = sp.coo_matrix((np.ones(len(pairs_near)), (pairs_near[:, 0], pairs_near[:, 1])), shape=(len(full),) * 2) \
        if len(pairs_near) else sp.coo_matrix((len(full), len(full)))
    _, labels = connected_components(g, directed=False)
    flat[full] = labels
    Ap, bp = _padded_facets(partition)
    out_pairs, out_r = [], []
    for lab in np.unique(labels):
        members = full[labels == lab]
        if len(members) < 2:
            continue
        ref = members[0]
        Uref, oref = pieces.basis[ref][:, :S], pieces.origin[ref]
        polys = {}
        for w in members:  # image of region w in flat coordinates y = Uref^T (A z + b - oref) = M z + c
            M = Uref.T @ pieces.A[w]
            c = Uref.T @ (pieces.b[w] - oref)
            Minv = np.linalg.inv(M)
            H = Ap[w] @ Minv
            h = bp[w] + H @ c
            norms = np.linalg.norm(H, axis=1)
            keep = norms > 0
            polys[w] = (H[keep] / norms[keep, None], h[keep] / norms[keep])
        for a_i in range(len(members)):
            for b_i in range(a_i + 1, len(members)):
                wi, wj = members[a_i], members[b_i]
                H = np.vstack([polys[wi][0], polys[wj][0]])
                h = np.concatenate([polys[wi][1], polys[wj][1]])
                if H.shape[0] == 0:
                    out_pairs.append((wi, wj))
                    out_r.append(np.inf)
                    continue
                cobj = np.zeros(S + 1)
                cobj[-1] = -1.0
                res = linprog(cobj, A_ub=np.c_[H, np.ones(len(h))], b_ub=h,
                              bounds=[(None, None)] * S + [(0, scale)], method="highs")
                if res.status == 0 and -res.fun > rtol * scale:
                    out_pairs.append((min(wi, wj), max(wi, wj)))
                    out_r.append(-res.fun)
    found = sorted(zip(out_pairs, out_r))
    pairs = np.array([p for p, _ in found], dtype=np.int64).reshape(-1, 2)
    radius = np.array([r for _, r in found], dtype=np.float64)
    return ImageOverlaps(len(pairs) == 0, pairs, radius, flat)


@dataclass
class ManifoldDensity:
    """The generator's density on its manifold at a batch of points (made by :func:`manifold_density`).

    Attributes
    ----------
    density : ndarray, shape (N,), float64
        ``p_G(x) = sum over preimages z of p_z(z) / sqrt(det(A_w^T A_w))``, per unit S-volume on the manifold;
        0 off the generated set.
    n_preimages : ndarray, shape (N,), int64
        How many distinct preimages each point has in full-rank pieces.
    regions : list of ndarray of int64
        The regions of the preimages of every point.
    preimages : list of ndarray, each (n_i, S), float64
        The preimages themselves.
    """

    density: np.ndarray
    n_preimages: np.ndarray
    regions: list
    preimages: list


def _log_latent_density(partition: Partition, latent: str, z: np.ndarray) -> np.ndarray:
    S = z.shape[-1]
    dom = partition.domain
    if latent == "uniform":
        inside = np.all((z >= dom.lo) & (z <= dom.hi), axis=-1)
        return np.where(inside, -np.log(dom.volume()), -np.inf)
    logp = -0.5 * (z * z).sum(axis=-1) - 0.5 * S * np.log(2.0 * np.pi)
    if isinstance(dom, Box):
        inside = np.all((z >= dom.lo) & (z <= dom.hi), axis=-1)
        return np.where(inside, logp - np.log(np.prod(interval_masses(dom.lo, dom.hi))), -np.inf)
    return logp


def manifold_density(partition: Partition, x, latent: str = "auto", pieces: Optional[ManifoldPieces] = None,
                     rtol: float = 1e-8) -> ManifoldDensity:
    """The density of ``G(z)`` on the generated manifold, summed over every preimage.

    Parameters
    ----------
    partition : Partition
    x : array_like, shape (N, D) or (D,), float64
        Points in output space.
    latent : {"auto", "uniform", "gaussian"}, optional
    pieces : ManifoldPieces, optional
    rtol : float, optional
        A point ``x`` has a preimage in region ``w`` when ``z = A_w^+ (x - b_w)`` reproduces it to ``rtol`` times
        the output's size and ``z`` lies in ``w`` within ``10 tol`` (the partition's contain tolerance). Preimages
        closer than that in two regions (on a shared facet, a null set) count once.

    Returns
    -------
    ManifoldDensity

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`, or ``x`` is not numeric.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, or the partition is incomplete (a
        limit stopped its enumeration); ``latent`` is unknown or does not fit the domain; ``pieces`` is not the
        partition's; ``x`` does not have shape (N, D) or (D,) or is not finite; or ``rtol`` is not a number in (0,
        1).

    Notes
    -----
    Change of variables on each piece (BPB20 Sec. 4.1): on a full-rank piece the S-volume scales by
    ``sqrt(det(A_w^T A_w))``; a non-injective generator (:func:`image_overlaps`) has several preimages and their
    contributions add. Pieces of rank < S carry a singular part of the distribution and are left out.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.ones((1, 1)), np.zeros(1)), (np.ones((2, 1)), np.zeros(2))],
    ...                                     activation="abs")                    # G(z) = |z| (1, 1)
    >>> d = manifold_density(relutope.enumerate_regions(net, relutope.WholeSpace(1)), [0.5, 0.5])
    >>> int(d.n_preimages[0]), bool(np.isclose(d.density[0], 2 * np.exp(-0.125) / np.sqrt(2 * np.pi) / np.sqrt(2)))
    (2, True)
    """
    _check_partition(partition)
    latent = _latent(partition, latent)
    pieces = _check_pieces(partition, pieces)
    R, D, S = pieces.A.shape
    x = _as_points(x, "x", D)
    rtol = _check_rtol(rtol)
    full = np.nonzero(pieces.full_rank)[0]
    pinv = np.linalg.pinv(pieces.A[full]) if full.size else np.zeros((0, S, D))
    Ap, bp = _padded_facets(partition)
    Ap, bp = Ap[full], bp[full]
    scale = _output_scale(partition, pieces)
    contain = 10.0 * partition.tol
    dens = np.zeros(len(x))
    counts = np.zeros(len(x), dtype=np.int64)
    regions, pre = [], []
    step = max(1, 2 ** 20 // max(len(full) * max(D, Ap.shape[1] if full.size else 1), 1))
    for s in range(0, len(x), step):
        xs = x[s:s + step]
        r = xs[:, None, :] - pieces.b[full][None]
        z = np.einsum("wsd,nwd->nws", pinv, r)
        res = np.linalg.norm(np.einsum("wds,nws->nwd", pieces.A[full], z) - r, axis=2)
        ok = res <= rtol * scale
        slack = np.einsum("wms,nws->nwm", Ap, z) - bp[None]
        ok &= np.all(slack <= contain, axis=2)
        for n in range(len(xs)):
            ws = np.nonzero(ok[n])[0]
            zs = z[n, ws]
            keep = []
            for a in range(len(ws)):  # drop repeats of a preimage on a shared facet
                if all(np.linalg.norm(zs[a] - zs[c]) > contain for c in keep):
                    keep.append(a)
            ws, zs = full[ws[keep]], zs[keep]
            if len(ws):
                dens[s + n] = np.exp(_log_latent_density(partition, latent, zs) - pieces.log_det[ws]).sum()
            counts[s + n] = len(ws)
            regions.append(ws.astype(np.int64))
            pre.append(zs.reshape(-1, S))
    return ManifoldDensity(dens, counts, regions, pre)


# ---------------------------------------------------------------------------------------------- masses, entropy
@dataclass
class RegionMasses:
    """The probability of every latent region (made by :func:`region_masses`).

    Attributes
    ----------
    mass : ndarray, shape (R,), float64
        ``P(w)``.
    error : ndarray, shape (R,), float64
        Error estimate per region: 0 for exact methods, the RQMC standard error for directional sampling.
    latent : str
        ``"uniform"`` or ``"gaussian"``.
    method : str
        ``"volume"`` (``vol(w) / vol(box)``, :meth:`Partition.volumes`), ``"interval"``, ``"owens_t"`` or
        ``"directional"`` (:mod:`relutope.gaussian`).
    replicate_mass : ndarray, shape (replicates, R), or None
        Directional sampling: every replicate's masses.
    n_hits : ndarray, shape (R,), int64, or None
        Directional sampling: how many lines met each region (:class:`relutope.gaussian.GaussianMasses`; the error
        estimate of a region few lines meet is unreliable).
    """

    mass: np.ndarray
    error: np.ndarray
    latent: str
    method: str
    replicate_mass: Optional[np.ndarray] = None
    n_hits: Optional[np.ndarray] = None


def region_masses(partition: Partition, latent: str = "auto", **kwargs) -> RegionMasses:
    """The probability ``P(w)`` of every latent region under the latent distribution.

    Parameters
    ----------
    partition : Partition
    latent : {"auto", "uniform", "gaussian"}, optional
        Uniform on the Box domain: ``P(w) = vol(w) / vol(box)`` (exact volumes, S <= 4). Standard Gaussian: the
        Gaussian measure of the region, divided by that of the box for a Box domain (a truncated Gaussian).
    **kwargs
        Passed to :func:`relutope.gaussian.polytope_masses` (``method``, ``n_directions``, ``replicates``,
        ``seed``) for the Gaussian latent.

    Returns
    -------
    RegionMasses
        Masses summing to 1 (to rounding for the exact methods, and for every direction of directional sampling).

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`, or :func:`~relutope.gaussian.polytope_masses`
        refuses ``**kwargs`` (an unknown name, a non-int ``n_directions`` or ``replicates``); any ``**kwargs`` at
        all for the uniform latent.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, or the partition is incomplete (a
        limit stopped its enumeration); ``latent`` is unknown or does not fit the domain; the uniform latent on a
        domain of more than 4 dimensions (no exact volumes); a Box without standard Gaussian mass in float64 for the
        Gaussian latent; or as :func:`~relutope.gaussian.polytope_masses` (an unknown ``method``, too few
        ``n_directions`` or ``replicates``).

    Examples
    --------
    >>> import relutope
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 5, 3], seed=0), relutope.WholeSpace(2))
    >>> m = region_masses(part)
    >>> m.method, bool(abs(m.mass.sum() - 1) < 1e-12)
    ('owens_t', True)
    """
    _check_partition(partition)
    latent = _latent(partition, latent)
    R = len(partition)
    if latent == "uniform":
        if kwargs:
            raise TypeError(f"unexpected arguments for latent='uniform': {sorted(kwargs)}")
        vol = partition.volumes()
        return RegionMasses(vol / partition.domain.volume(), np.zeros(R), "uniform", "volume")
    f = partition.facets()
    g: GaussianMasses = polytope_masses(f.offsets, f.A_x, f.b_x, **kwargs)
    mass, err, rep = g.mass, g.error, g.replicate_mass
    if isinstance(partition.domain, Box):
        dom = partition.domain
        total = float(np.prod(interval_masses(dom.lo, dom.hi)))
        if not total > 0:
            raise ValueError(f"the box {dom!r} has no standard Gaussian mass in float64: latent='gaussian' "
                             "(truncated to the box) is undefined there")
        mass, err = mass / total, err / total
        rep = None if rep is None else rep / total
    return RegionMasses(mass, err, "gaussian", g.method, rep, g.n_hits)


def latent_entropy(partition: Partition, latent: str = "auto") -> float:
    """Differential entropy ``H(z)`` of the latent distribution, nats.

    Uniform on a box: ``log vol(box)``. Standard Gaussian on R^S: ``S/2 log(2 pi e)``. Gaussian truncated to a box:
    the sum of the truncated normals' entropies (:class:`scipy.stats.truncnorm`).

    Parameters
    ----------
    partition : Partition
        The generator's latent partition; its domain fixes the latent (a Box: uniform, WholeSpace: Gaussian).
    latent : {"auto", "uniform", "gaussian"}, optional
        As in :func:`region_masses`.

    Returns
    -------
    float
        ``H(z)`` in nats.

    Raises
    ------
    TypeError, ValueError
        When ``partition`` is not a Partition, or ``latent`` is unknown or does not fit the domain.
    """
    _check_partition(partition)
    latent = _latent(partition, latent)
    dom = partition.domain
    S = partition.network.in_dim
    if latent == "uniform":
        return float(np.log(dom.volume()))
    if isinstance(dom, WholeSpace):
        return 0.5 * S * float(np.log(2.0 * np.pi * np.e))
    from scipy.stats import truncnorm

    return float(sum(truncnorm(lo, hi).entropy() for lo, hi in zip(dom.lo, dom.hi)))


@dataclass
class GeneratorEntropy:
    """The differential entropy of ``G(z)`` (made by :func:`entropy`).

    Attributes
    ----------
    entropy : float
        ``H(z) + sum_w P(w) 1/2 log det(A_w^T A_w)``, nats; ``-inf`` when pieces of rank < S have positive mass
        (the distribution then has a singular part). For a non-injective generator it is an upper bound: the exact
        entropy is lower by ``H(w | G(z))``, the entropy of which preimage produced a point.
    error : float
        Its error estimate (0 for exact masses; the RQMC standard error for directional sampling).
    latent_entropy : float
        ``H(z)``.
    expected_log_det : float
        ``sum_w P(w) 1/2 log det(A_w^T A_w)`` over full-rank pieces.
    singular_mass : float
        Total mass of the pieces of rank < S.
    injective : bool
        From :func:`image_overlaps`.
    masses : RegionMasses
    """

    entropy: float
    error: float
    latent_entropy: float
    expected_log_det: float
    singular_mass: float
    injective: bool
    masses: RegionMasses


def entropy(partition: Partition, latent: str = "auto", pieces: Optional[ManifoldPieces] = None,
            masses: Optional[RegionMasses] = None, check_injective: bool = True, **kwargs) -> GeneratorEntropy:
    """The exact differential entropy of the generated distribution (BPB20 Sec. 4.2).

    Parameters
    ----------
    partition : Partition
    latent : {"auto", "uniform", "gaussian"}, optional
    pieces : ManifoldPieces, optional
    masses : RegionMasses, optional
        From :func:`region_masses` (computed when not given, with ``**kwargs``).
    check_injective : bool, optional
        Run :func:`image_overlaps` (else ``injective`` is reported True unchecked).
    **kwargs
        Passed to :func:`region_masses` when ``masses`` is not given.

    Returns
    -------
    GeneratorEntropy

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`, or ``**kwargs`` is given with ``masses`` (they
        would be ignored) or holds an argument :func:`region_masses` does not take.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, or the partition is incomplete (a
        limit stopped its enumeration); ``latent`` is unknown or does not fit the domain; ``pieces`` is not the
        partition's; ``masses`` is not the :class:`RegionMasses` of this partition under this latent; or as
        :func:`region_masses`.

    Examples
    --------
    ``G(z) = (2 relu(z), 3 relu(-z))`` under N(0, 1) has ``H = 1/2 log(2 pi e) + 1/2 log 6``:

    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)),
    ...                                      (np.diag([2.0, 3.0]), np.zeros(2))])
    >>> h = entropy(relutope.enumerate_regions(net, relutope.WholeSpace(1)))
    >>> bool(abs(h.entropy - 0.5 * np.log(2 * np.pi * np.e * 6)) < 1e-12)
    True
    """
    check_bool(check_injective, "check_injective")
    _check_partition(partition)
    latent = _latent(partition, latent)
    pieces = _check_pieces(partition, pieces)
    if masses is None:
        masses = region_masses(partition, latent, **kwargs)
    elif kwargs:
        raise TypeError(f"{sorted(kwargs)} are arguments of region_masses, which entropy calls only when masses is "
                        "not given: pass them to region_masses instead")
    elif not isinstance(masses, RegionMasses) or masses.mass.shape != (len(partition),) or masses.latent != latent:
        raise ValueError("masses must be the RegionMasses of this partition under the same latent")
    full = pieces.full_rank
    ld = np.where(full, pieces.log_det, 0.0)
    eld = float(np.sum(masses.mass * ld))
    singular = float(np.sum(masses.mass[~full]))
    h0 = latent_entropy(partition, latent)
    err = 0.0
    if masses.replicate_mass is not None:
        reps = masses.replicate_mass @ ld
        err = float(reps.std(ddof=1) / np.sqrt(len(reps)))
    injective = image_overlaps(partition, pieces).injective if check_injective else True
    H = h0 + eld if singular == 0 else -np.inf
    return GeneratorEntropy(H, err, h0, eld, singular, injective, masses)


@dataclass
class MonteCarloEntropy:
    """A Monte Carlo estimate of the entropy (made by :func:`entropy_monte_carlo`).

    Attributes
    ----------
    entropy : float
        ``H(z) + mean over samples of 1/2 log det(J^T J)``, nats.
    standard_error : float
        The sample standard deviation of the log-determinants over ``sqrt(n)``.
    n : int
        Samples drawn.
    n_singular : int
        Samples with a rank-deficient Jacobian (their log-determinant is ``-inf``).
    """

    entropy: float
    standard_error: float
    n: int
    n_singular: int


def entropy_monte_carlo(partition: Partition, n: int = 10 ** 6, latent: str = "auto", seed=0,
                        chunk: int = 2 ** 16) -> MonteCarloEntropy:
    """The entropy estimated by sampling the latent, as BPB20 do: an independent check of :func:`entropy`.

    Only the partition's network and domain are used (not its regions): every sample's Jacobian comes from its own
    forward-pass activation pattern (:meth:`Network.local_affine_map`).

    Parameters
    ----------
    partition : Partition
    n : int, optional
        Latent samples.
    latent : {"auto", "uniform", "gaussian"}, optional
    seed : int >= 0, numpy.random.Generator or None, optional
        Seed of :func:`numpy.random.default_rng` (anything else: TypeError or ValueError).
    chunk : int, optional
        Samples per batch.

    Returns
    -------
    MonteCarloEntropy

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`, or ``n`` or ``chunk`` is not an int.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, or the partition is incomplete (a
        limit stopped its enumeration); ``latent`` is unknown or does not fit the domain; ``n < 2`` or ``chunk <
        1``.
    """
    _check_partition(partition)
    latent = _latent(partition, latent)
    n = check_int(n, "n", 2)
    chunk = check_int(chunk, "chunk", 1)
    seed = check_seed(seed)
    from scipy.stats import truncnorm

    rng = np.random.default_rng(seed)
    net, dom = partition.network, partition.domain
    S = net.in_dim
    total = total2 = 0.0
    singular = 0
    done = 0
    while done < n:
        m = min(chunk, n - done)
        if latent == "uniform":
            z = dom.sample(m, rng)
        elif isinstance(dom, WholeSpace):
            z = rng.standard_normal((m, S))
        else:
            z = truncnorm(dom.lo, dom.hi).rvs(size=(m, S), random_state=rng)
        J, _ = net.local_affine_map(net.activation_pattern(z))
        sign, ld = np.linalg.slogdet(np.einsum("nds,ndt->nst", J, J))
        bad = sign <= 0
        singular += int(bad.sum())
        ld = 0.5 * np.where(bad, 0.0, ld)
        total += float(ld.sum())
        total2 += float((ld * ld).sum())
        done += m
    mean = total / n
    var = max(total2 / n - mean * mean, 0.0) * n / (n - 1)
    h = latent_entropy(partition, latent) + mean if singular == 0 else -np.inf
    return MonteCarloEntropy(h, float(np.sqrt(var / n)), int(n), singular)


# ---------------------------------------------------------------------------------------------- likelihood
@dataclass
class GeneratorLikelihood:
    """Log-likelihoods of data under the noisy generator (made by :func:`log_likelihood`).

    Attributes
    ----------
    log_likelihood : ndarray, shape (N,), float64
        ``log p(x)`` per point, nats.
    error : ndarray, shape (N,), float64
        A bound on the error of each ``log p(x)``, nats: ``log(1 + u / p)`` with ``u`` the total of the terms skipped
        (regions of negligible Gaussian factor, and for S = 2 the posterior masses below ``TAIL_MASS`` taken as 0,
        each at its tail bound ``min(Phi(-d), area exp(-d^2/2) / (2 pi))``, ``d`` the polygon's distance from the
        posterior mean in whitened units) plus the Owen's T fan's rounding; for directional sampling (S >= 3) the
        RQMC standard error of ``log p`` over the replicates is added. ``inf`` when no term was resolved.
    responsibilities : ndarray, shape (N, R), float64
        ``P(w | x)``, the posterior probability of every region (the E-step of BPB20 Sec. 5).
    method : str
        The Gaussian-measure method (:mod:`relutope.gaussian`).
    """

    log_likelihood: np.ndarray
    error: np.ndarray
    responsibilities: np.ndarray
    method: str

    @property
    def total(self) -> float:
        """The batch's log-likelihood, ``sum_n log p(x_n)``."""
        return float(self.log_likelihood.sum())


def log_likelihood(partition: Partition, x, sigma: float, pieces: Optional[ManifoldPieces] = None,
                   chunk: int = 2 ** 16, **kwargs) -> GeneratorLikelihood:
    """Exact log-likelihood of data under ``x = G(z) + N(0, sigma^2 I)`` with ``z ~ N(0, I_S)``.

    Parameters
    ----------
    partition : Partition
        The generator's partition of ``WholeSpace(S)``.
    x : array_like, shape (N, D) or (D,), float64
    sigma : float
        The noise's standard deviation (> 0), output units.
    pieces : ManifoldPieces, optional
    chunk : int, optional
        Point-region pairs per batch (memory control).
    **kwargs
        Passed to :func:`relutope.gaussian.polytope_masses`: ``method``, ``n_directions``, ``replicates``, ``seed``
        (the clipping ``box`` is fixed, see Notes).

    Returns
    -------
    GeneratorLikelihood

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`, ``x`` is not numeric, ``chunk`` is not an int, or
        ``**kwargs`` holds another argument than those above.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, or the partition is incomplete (a
        limit stopped its enumeration); the domain is not a WholeSpace; ``sigma`` is not a positive finite number;
        ``pieces`` is not the partition's; ``x`` does not have shape (N, D) or (D,) or is not finite; ``chunk < 1``;
        or ``method`` is unknown. ``n_directions`` and ``replicates`` are checked (TypeError, ValueError) by
        :func:`~relutope.gaussian.polytope_masses` when directional sampling runs (S >= 3).

    Notes
    -----
    On region ``w``, ``N(z; 0, I) N(x; A z + b, s^2 I) = N(x; b, C_w) N(z; mu_w(x), Sigma_w)`` with
    ``C_w = s^2 I + A A^T``, ``Sigma_w = s^2 (s^2 I + A^T A)^{-1}`` and ``mu_w = (s^2 I + A^T A)^{-1} A^T (x - b)``
    (BPB20 Sec. 5), so ``p(x) = sum_w N(x; b_w, C_w) P_{N(mu_w, Sigma_w)}(w)``, every term exact: the Gaussian
    factor from the SVD ``A = U diag(sigma) V^T`` (``(x - b)^T C^{-1} (x - b) = |x - b - U U^T (x - b)|^2 / s^2 +
    sum_i (u_i^T (x - b))^2 / (s^2 + sigma_i^2)``, which keeps its accuracy for small ``s`` near the manifold,
    where the Woodbury form cancels), the posterior mass of the polytope ``w`` by
    :func:`relutope.gaussian.polytope_masses` (closed forms for S <= 2; directional RQMC with its error estimate
    otherwise; for S = 2 every region's polygon is clipped once to a square reaching 40 units beyond every
    posterior mean, then mapped to each posterior's whitened coordinates: posterior covariances are below the
    identity, so the clipped-off part lies 40 standard deviations out). Posterior masses are computed for the 16 regions of largest Gaussian factor, then for every region
    whose factor exceeds ``exp(-PRUNE_LOG) / R`` of that partial sum (``PRUNE_LOG = 40``); the others, whose
    masses are at most 1, change ``log p(x)`` by less than ``exp(-40)`` together, and get responsibility 0.

    Examples
    --------
    A linear generator gives the Gaussian ``N(b, s^2 I + A A^T)``:

    >>> import numpy as np, relutope
    >>> from scipy.stats import multivariate_normal
    >>> A, b = np.array([[1.0, 0.5], [0.0, 2.0], [1.0, 1.0]]), np.array([0.1, 0.2, 0.3])
    >>> net = relutope.Network.from_weights([(A, b)], activation="identity")
    >>> part = relutope.enumerate_regions(net, relutope.WholeSpace(2))
    >>> x = np.array([[0.3, -1.0, 2.0]])
    >>> ll = log_likelihood(part, x, 0.3).log_likelihood
    >>> bool(np.allclose(ll, multivariate_normal(b, 0.09 * np.eye(3) + A @ A.T).logpdf(x), rtol=1e-12))
    True
    """
    from scipy.special import logsumexp

    _check_partition(partition)
    if not isinstance(partition.domain, WholeSpace):
        raise ValueError("log_likelihood needs the partition of WholeSpace(S) (the Gaussian latent lives on R^S)")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating)) or not (np.isfinite(sigma)
                                                                                         and sigma > 0):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    chunk = check_int(chunk, "chunk", 1)
    unknown = sorted(set(kwargs) - set(_LIKELIHOOD_OPTIONS))
    if unknown:
        raise TypeError(f"log_likelihood got unexpected keyword arguments {unknown} (it passes only "
                        f"{_LIKELIHOOD_OPTIONS} to polytope_masses)")
    _check_method(kwargs.get("method", "auto"))
    pieces = _check_pieces(partition, pieces)
    A, b = pieces.A, pieces.b
    R, D, S = A.shape
    x = _as_points(x, "x", D)
    N = len(x)
    s2 = float(sigma) ** 2
    k = min(D, S)
    U, sv, Vt = np.linalg.svd(A, full_matrices=True) if R else (np.zeros((0, D, D)), np.zeros((0, k)),
                                                                   np.zeros((0, S, S)))
    U = U[:, :, :k]
    lam = np.zeros((R, S))
    lam[:, :k] = sv ** 2
    logdetC = np.log(s2 + lam[:, :k]).sum(axis=1) + (D - k) * np.log(s2)
    post_cov = s2 * np.einsum("rks,rk,rkt->rst", Vt, 1.0 / (s2 + lam), Vt)
    post_cov = 0.5 * (post_cov + np.swapaxes(post_cov, 1, 2))
    f = partition.facets()
    counts = np.diff(f.offsets)
    ll = np.empty(N)
    err = np.zeros(N)
    resp = np.zeros((N, R))
    method = ""
    step = max(1, int(chunk // max(R * max(D, S), 1)))
    cut = PRUNE_LOG + np.log(max(R, 1))

    planar = S == 2 and kwargs.get("method", "auto") != "directional"
    if planar:  # polygons clipped once in z, mapped to every pair's whitened coordinates (see Notes)
        from .gaussian import CLIP_BOX, _fan_masses, _fan_tail_bound
        from .polygons import _padded, clip_halfplanes

        Linv = np.linalg.inv(np.linalg.cholesky(post_cov))
        polys = {}

    def pair_masses(pi, wi, mu):
        """Posterior masses of the (point, region) pairs, in batches of ``chunk`` pairs."""
        mass = np.empty(len(pi))
        reps = None
        if planar:
            B = CLIP_BOX + float(np.abs(mu[pi, wi]).max(initial=0.0))
            if polys.get("B", -1.0) < B:
                off, verts = clip_halfplanes(f.offsets, f.A_x, f.b_x, -2 * B, 2 * B)
                V, nv = _padded(off, verts)
                polys.update(B=2 * B, V=V, n=np.where(np.diff(off) > 0, nv, 0))
            bound = np.empty(len(pi))
            for a in range(0, len(pi), chunk):
                sl = slice(a, a + chunk)
                w = wi[sl]
                Vu = np.einsum("kst,kvt->kvs", Linv[w], polys["V"][w] - mu[pi[sl], w][:, None, :])
                mass[sl] = _fan_masses(Vu, polys["n"][w])
                bound[sl] = _fan_tail_bound(Vu, polys["n"][w])
            # the fan's absolute error, a few ulps of 1 per edge, swamps masses far in the posterior's tail: there
            # the mass is replaced by 0 and its upper bound goes into the error
            slack = FAN_ULPS * np.finfo(np.float64).eps * polys["n"][wi]
            tail = mass < TAIL_MASS
            mass = np.where(tail, 0.0, mass)
            return mass, None, "owens_t", np.where(tail, np.minimum(bound, TAIL_MASS + slack), slack)
        for a in range(0, len(pi), chunk):
            sl = slice(a, a + chunk)
            w = wi[sl]
            cw = counts[w]
            offs = np.concatenate([[0], np.cumsum(cw)]).astype(np.int64)
            rows = np.repeat(f.offsets[:-1][w], cw) + (np.arange(offs[-1]) - np.repeat(offs[:-1], cw))
            g = polytope_masses(offs, f.A_x[rows], f.b_x[rows], mean=mu[pi[sl], w], cov=post_cov[w], **kwargs)
            mass[sl] = g.mass
            if g.replicate_mass is not None:
                if reps is None:
                    reps = np.empty((g.replicate_mass.shape[0], len(pi)))
                reps[:, sl] = g.replicate_mass
        return mass, reps, g.method, None

    for s in range(0, N, step):
        xs = x[s:s + step]
        n = len(xs)
        r = xs[:, None, :] - b[None]
        c = np.einsum("rdk,nrd->nrk", U, r)  # coordinates along the left singular vectors
        perp = r - np.einsum("rdk,nrk->nrd", U, c)  # the part of x - b off the piece's subspace, without cancellation
        quad = (perp * perp).sum(axis=2) / s2 + (c * c / (s2 + lam[None, :, :k])).sum(axis=2)
        logN = -0.5 * (D * np.log(2.0 * np.pi) + logdetC[None] + quad)
        mu = np.einsum("rks,nrk->nrs", Vt[:, :k, :], c * (sv / (s2 + lam[:, :k]))[None])
        logmass = np.full((n, R), -np.inf)
        logslack = np.full((n, R), -np.inf)
        rep_mass = None
        done = np.zeros((n, R), dtype=bool)
        top = min(R, 16)
        first = np.argpartition(-logN, top - 1, axis=1)[:, :top] if R > top else np.tile(np.arange(R), (n, 1))
        for rnd in range(2):  # the regions of largest Gaussian factor, then every region that can still count
            if rnd == 0:
                pi, wi = np.repeat(np.arange(n), first.shape[1]), first.reshape(-1)
            else:
                with np.errstate(invalid="ignore"):
                    bound = logsumexp(logN + logmass, axis=1)
                pi, wi = np.nonzero(~done & (logN > bound[:, None] - cut))
            if len(pi) == 0:
                continue
            m, reps, method, unsure = pair_masses(pi, wi, mu)
            done[pi, wi] = True
            with np.errstate(divide="ignore"):
                logmass[pi, wi] = np.log(m)
                if unsure is not None:
                    logslack[pi, wi] = np.log(unsure)
            if reps is not None:
                if rep_mass is None:
                    rep_mass = np.zeros((reps.shape[0], n, R))
                rep_mass[:, pi, wi] = reps
        logterm = logN + logmass
        ll[s:s + n] = logsumexp(logterm, axis=1)
        with np.errstate(invalid="ignore"):
            resp[s:s + n] = np.where(np.isfinite(ll[s:s + n, None]), np.exp(logterm - ll[s:s + n, None]), 0.0)
            # the skipped regions (below exp(-PRUNE_LOG) of the total, masses <= 1) and the fan's slack
            skipped = np.where(done, -np.inf, logN)
            err[s:s + n] = np.exp(np.logaddexp(logsumexp(logN + logslack, axis=1), logsumexp(skipped, axis=1))
                                  - ll[s:s + n])
            err[s:s + n] = np.where(np.isfinite(ll[s:s + n]), np.log1p(err[s:s + n]), np.inf)
        if rep_mass is not None:
            with np.errstate(divide="ignore"):
                reps = logsumexp(logN[None] + np.log(rep_mass), axis=2)
            err[s:s + n] += reps.std(axis=0, ddof=1) / np.sqrt(reps.shape[0])
    return GeneratorLikelihood(ll, err, resp, method)


# ---------------------------------------------------------------------------------------------- disentanglement
@dataclass
class Disentanglement:
    """Disentanglement diagnostics of a generator's pieces (made by :func:`disentanglement`).

    Attributes
    ----------
    gram : ndarray, shape (R, S, S), float64
        Gram matrix of the normalised columns ``a_j / |a_j|`` of every ``A_w`` (a zero column stays zero).
    off_diagonal : ndarray, shape (R,), float64
        Root mean square of its off-diagonal entries, in [0, 1]: 0 when the latent directions map to orthogonal
        output directions, 1 when they all map to one line (0 for S = 1).
    column_norms : ndarray, shape (R, S), float64
        ``|a_j|``, the gain of every latent direction.
    consistency : ndarray, shape (S,), float64
        For every latent direction ``j``, the largest eigenvalue of ``sum_w P(w) n_j n_j^T / sum_w P(w)`` over the
        regions where ``a_j != 0`` (``n_j = a_j / |a_j|``): 1 when the direction's image is the same line in every
        region, down to ``1/D`` when it points everywhere.
    direction : ndarray, shape (S, D), float64
        The corresponding eigenvectors: each latent direction's dominant output direction (sign arbitrary).
    """

    gram: np.ndarray
    off_diagonal: np.ndarray
    column_norms: np.ndarray
    consistency: np.ndarray
    direction: np.ndarray


def disentanglement(partition: Partition, masses=None, pieces: Optional[ManifoldPieces] = None) -> Disentanglement:
    """Per-region Gram matrices of the normalised latent directions, and their consistency across regions.

    Parameters
    ----------
    partition : Partition
    masses : RegionMasses or array_like of shape (R,), optional
        Region weights for the consistency (default: :func:`region_masses` under the default latent).
    pieces : ManifoldPieces, optional

    Returns
    -------
    Disentanglement

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`, or ``masses`` is not numeric.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, or the partition is incomplete (a
        limit stopped its enumeration); ``pieces`` is not the partition's; or ``masses`` is not of shape (R,),
        non-negative and finite.

    Notes
    -----
    BPB20 Sec. 3.3 read disentanglement off the per-region Jacobians: a latent direction is disentangled when its
    image direction does not depend on the others (an orthogonal Gram matrix) and does not change across regions.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]), np.zeros(3))],
    ...                                     activation="identity")
    >>> d = disentanglement(relutope.enumerate_regions(net, relutope.WholeSpace(2)))
    >>> round(float(d.off_diagonal[0]), 12), d.consistency.round(12).tolist()
    (0.707106781187, [1.0, 1.0])
    """
    _check_partition(partition)
    pieces = _check_pieces(partition, pieces)
    A = pieces.A
    R, D, S = A.shape
    if masses is None:
        w = region_masses(partition).mass
    elif isinstance(masses, RegionMasses):
        w = masses.mass
    else:
        w = _as_float_array(masses, "masses", None)
    if w.shape != (R,):
        raise ValueError(f"masses must have shape ({R},) (one per region), got shape {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"masses must be non-negative, got {w.min()}")
    norms = np.linalg.norm(A, axis=1)
    Nrm = A / np.where(norms > 0, norms, 1.0)[:, None, :]
    gram = np.einsum("rdi,rdj->rij", Nrm, Nrm)
    off = gram - np.einsum("rii->ri", gram)[:, :, None] * np.eye(S)[None]
    off_rms = np.sqrt((off ** 2).sum(axis=(1, 2)) / (S * (S - 1))) if S > 1 else np.zeros(R)
    cons = np.zeros(S)
    direction = np.zeros((S, D))
    for j in range(S):
        ww = w * (norms[:, j] > 0)
        if ww.sum() <= 0:
            continue
        T = np.einsum("r,rd,re->de", ww, Nrm[:, :, j], Nrm[:, :, j]) / ww.sum()
        vals, vecs = np.linalg.eigh(T)
        cons[j], direction[j] = vals[-1], vecs[:, -1]
    return Disentanglement(gram, off_rms, norms, cons, direction)


# ---------------------------------------------------------------------------------------------- pictures
def _latent_polygons(partition: Partition, clip) -> Tuple[np.ndarray, np.ndarray]:
    """CSR polygons of the regions of a 2-D latent, clipped to ``clip`` = (lo, hi) (default: the box, or
    [-3, 3]^2 for WholeSpace)."""
    from .polygons import clip_halfplanes

    if partition.network.in_dim != 2:
        raise ValueError(f"partition must have a 2-D latent for a picture of it, got S = {partition.network.in_dim}")
    dom = partition.domain
    if clip is None:
        clip = (dom.lo, dom.hi) if isinstance(dom, Box) else (-3.0 * np.ones(2), 3.0 * np.ones(2))
    if isinstance(clip, (str, bytes)) or not hasattr(clip, "__len__"):
        raise TypeError(f"clip must be a pair (lo, hi) of numbers or (2,) arrays, got {type(clip).__name__}")
    if len(clip) != 2:
        raise ValueError(f"clip must be a pair (lo, hi), got {len(clip)} entries")
    lo, hi = (_as_float_array(c, f"clip[{i}]", None) for i, c in enumerate(clip))
    for i, c in enumerate((lo, hi)):
        if c.shape not in ((), (2,)):
            raise ValueError(f"clip[{i}] must be a number or of shape (2,), got shape {c.shape}")
    lo, hi = np.broadcast_to(lo, (2,)), np.broadcast_to(hi, (2,))
    if not np.all(lo < hi):
        raise ValueError(f"clip must be (lo, hi) with lo < hi, got {lo.tolist()} and {hi.tolist()}")
    f = partition.facets()
    return clip_halfplanes(f.offsets, f.A_x, f.b_x, lo, hi)


PIECE_COLORS = ("region", "density", "angularity", "log_det")


def plot_pieces(partition: Partition, ax=None, color: str = "region", latent: str = "auto", clip=None,
                pieces: Optional[ManifoldPieces] = None, cmap=None, **kwargs):
    """Draw the generated surface of a 2-D latent in a 3-D output as its affine pieces.

    Parameters
    ----------
    partition : Partition
        A generator ``R^2 -> R^3``.
    ax : mpl_toolkits.mplot3d.Axes3D, optional
        3-D axes (default: new 3-D axes on the current figure).
    color : {"region", "density", "angularity", "log_det"}, optional
        Every piece its own colour; the log-density on the manifold at the piece's centroid
        (:func:`manifold_density`'s formula; constant per piece for a uniform latent); the region's largest angle
        to a neighbour in degrees (:func:`piece_angles`); or ``1/2 log det(A^T A)``.
    latent : str, optional
        For ``color="density"``.
    clip : (lo, hi), optional
        The latent rectangle drawn (default: the Box domain, or ``[-3, 3]^2`` for WholeSpace).
    pieces : ManifoldPieces, optional
    cmap : optional
        Matplotlib colormap (default ``"Spectral"`` for regions, ``"viridis"`` otherwise).
    **kwargs
        Passed to :class:`mpl_toolkits.mplot3d.art3d.Poly3DCollection`.

    Returns
    -------
    mpl_toolkits.mplot3d.art3d.Poly3DCollection
        One polygon per region meeting the clip rectangle, in region order; its array holds the colour values.
        Its ``regions`` attribute, shape (n,), int64, names the region of every polygon.

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`, ``ax`` is not 3-D matplotlib axes, or ``clip`` is
        not a pair of numbers or arrays.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, the partition is incomplete (a
        limit stopped its enumeration) or its latent is not 2-D or its output not 3-D; ``color`` or ``latent`` is
        unknown, or ``latent`` does not fit the domain; ``pieces`` is not the partition's; or ``clip`` is not a pair
        (lo, hi) of finite numbers or (2,) arrays with ``lo < hi``.
    """
    from .plot import _axes, _shuffled_ids

    _check_partition(partition)
    pieces = _check_pieces(partition, pieces)
    check_choice(color, "color", PIECE_COLORS)
    lat = _latent(partition, latent)
    if partition.network.out_dim != 3:
        raise ValueError(f"partition must be of a generator R^2 -> R^3 (plot_pieces draws a 3-D output), got D = "
                         f"{partition.network.out_dim}")
    if ax is not None:
        _axes(ax, three_d=True)
    off, verts = _latent_polygons(partition, clip)
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    counts = np.diff(off)
    regions = np.nonzero(counts > 0)[0]
    owner = np.repeat(np.arange(len(counts)), counts)
    out = np.einsum("vds,vs->vd", pieces.A[owner], verts) + pieces.b[owner]
    polys = [out[off[r]:off[r + 1]] for r in regions]
    if color == "region":
        values = _shuffled_ids(partition.patterns[regions])
        cmap = cmap or "Spectral"
    elif color == "log_det":
        values = np.where(np.isfinite(pieces.log_det[regions]), pieces.log_det[regions], np.nan)
    elif color == "angularity":
        values = np.degrees(piece_angles(partition, pieces).region_angularity[regions])
    else:
        cen = np.array([verts[off[r]:off[r + 1]].mean(axis=0) for r in regions]).reshape(-1, 2)
        values = _log_latent_density(partition, lat, cen) - pieces.log_det[regions]
        values = np.where(np.isfinite(values), values, np.nan)
    style = {"edgecolors": "0.2", "linewidths": 0.2}
    style.update(kwargs)
    coll = Poly3DCollection(polys, cmap=cmap or "viridis", **style)
    coll.set_array(np.asarray(values, dtype=np.float64))
    coll.regions = regions
    ax = _axes(ax, three_d=True)
    ax.add_collection3d(coll)
    if len(out):
        lo, hi = out.min(axis=0), out.max(axis=0)
        pad = 0.05 * np.maximum(hi - lo, 1e-12)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_zlim(lo[2] - pad[2], hi[2] + pad[2])
    return coll


def plot_log_det(partition: Partition, ax=None, clip=None, pieces: Optional[ManifoldPieces] = None, cmap=None,
                 edges: bool = True, **kwargs):
    """Draw the latent partition of a 2-D latent coloured by every region's ``1/2 log det(A_w^T A_w)``.

    Parameters
    ----------
    partition : Partition
    ax : matplotlib.axes.Axes, optional
    clip : (lo, hi), optional
        The latent rectangle drawn (default: the Box domain, or ``[-3, 3]^2`` for WholeSpace).
    pieces : ManifoldPieces, optional
    cmap : optional
        Default ``"viridis"``; rank-deficient pieces (``-inf``) are drawn in the colormap's "bad" colour.
    edges : bool, optional
        Draw region boundaries.
    **kwargs
        Passed to :class:`~matplotlib.collections.PolyCollection`.

    Returns
    -------
    matplotlib.collections.PolyCollection
        One polygon per region meeting the clip rectangle; ``regions`` attribute as in :func:`plot_pieces`.

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`, ``ax`` is not matplotlib Axes, or ``clip`` is not
        a pair of numbers or arrays.
    ValueError
        When the partition's domain is not a full-dimensional Box or WholeSpace, the partition is incomplete (a
        limit stopped its enumeration) or its latent is not 2-D; ``pieces`` is not the partition's; or ``clip`` is
        not a pair (lo, hi) of finite numbers or (2,) arrays with ``lo < hi``.

    Examples
    --------
    >>> import relutope
    >>> from matplotlib.figure import Figure
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 6, 3], seed=0), relutope.Box([-1, -1], [1, 1]))
    >>> coll = plot_log_det(part, ax=Figure().add_subplot())
    >>> len(coll.get_paths()) == len(part)
    True
    """
    check_bool(edges, "edges")
    from matplotlib.collections import PolyCollection

    from .plot import _axes, _label_axes

    _check_partition(partition)
    pieces = _check_pieces(partition, pieces)
    if ax is not None:
        _axes(ax)
    off, verts = _latent_polygons(partition, clip)
    counts = np.diff(off)
    regions = np.nonzero(counts > 0)[0]
    polys = [verts[off[r]:off[r + 1]] for r in regions]
    values = np.where(np.isfinite(pieces.log_det[regions]), pieces.log_det[regions], np.nan)
    style = {"edgecolors": "0.1", "linewidths": 0.25} if edges else {"edgecolors": "face", "linewidths": 0.0}
    style.update(kwargs)
    coll = PolyCollection(polys, array=values, cmap=cmap or "viridis", **style)
    coll.regions = regions
    ax = _axes(ax)
    ax.add_collection(coll)
    ax.autoscale_view()
    _label_axes(ax, partition)
    return coll
