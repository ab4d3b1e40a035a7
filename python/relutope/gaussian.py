"""Gaussian measure of convex polytopes: intervals, polygons in closed form, higher dimensions by directional RQMC.

The probability that a Gaussian vector ``z ~ N(mean, cov)`` in R^S falls in the convex polyhedron
``{z : A z <= b}`` (bounded or not). With ``cov = L L^T`` (Cholesky), ``z = mean + L u`` turns it into the standard
normal measure of ``{u : (A L) u <= b - A mean}``, which is what every method below computes:

* ``S = 1``: the polyhedron is an interval ``[lo, hi]`` and its measure is ``Phi(hi) - Phi(lo)``, evaluated on the
  side of the origin where it does not cancel (``scipy.special.ndtr``). Relative accuracy near machine precision.
* ``S = 2``: closed form. The polygon (clipped to the square ``|u|_inf <= box``, default 40; the standard normal
  mass outside that square is below ``4 Phi(-40) < 1e-348``, zero in float64, so unbounded polygons are exact to
  rounding) is fanned from the origin: the triangle ``(0, v_i, v_{i+1})`` on an edge whose line lies at signed
  distance ``c`` from the origin, with ends at positions ``t_1 < t_2`` along the line from the foot of the
  perpendicular, has signed mass ``g(c, t_2) - g(c, t_1)`` with ``g(c, t) = sign(c) (atan(t / |c|) / (2 pi) -
  T(|c|, t / |c|))``, where ``T`` is Owen's T function (``scipy.special.owens_t``; Owen, "Tables for computing
  bivariate normal probabilities", Ann. Math. Statist. 27, 1956: ``T(h, a) = P(X > h, 0 < Y < a X)``). The sum
  over the edges of a counter-clockwise polygon is its mass. Absolute error a few ulps of 1 per edge.
* ``S >= 3``: directional sampling (Deak, "Three digit accurate multiple normal probabilities", Numer. Math. 35,
  1980). Write ``u = r theta`` with ``theta`` uniform on the sphere and ``r`` chi-distributed with S degrees of
  freedom; a line ``{t theta}`` meets the polyhedron in an interval ``[t_1, t_2]`` and the measure is the mean
  over directions of ``H(t_2) - H(t_1)``, ``H(t) = (1 + sign(t) F_chi_S(|t|)) / 2``. Directions come from
  ``replicates`` independently scrambled Sobol sequences (randomised quasi-Monte Carlo); the estimate is the mean
  of the replicate means and its error estimate the standard error over replicates (reliable for polytopes that
  many of the lines meet; see :attr:`GaussianMasses.n_hits`). Polytopes that tile R^S get masses summing to 1 to
  rounding for every direction, not only on average.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ._checks import check_int, check_seed
from .polygons import _check_csr, _check_offsets, _padded, clip_halfplanes

__all__ = ["GaussianMasses", "interval_masses", "polygon_masses", "polytope_masses", "polytope_mass",
           "CLIP_BOX"]

#: Half-width, in standard deviations, of the square that unbounded polygons are clipped to (S = 2).
CLIP_BOX = 40.0


@dataclass
class GaussianMasses:
    """Gaussian measures of a family of polytopes (made by :func:`polytope_masses`).

    Attributes
    ----------
    mass : ndarray, shape (K,), float64
        The probability of every polytope.
    error : ndarray, shape (K,), float64
        An error estimate: 0 for the closed forms (S <= 2, exact to rounding), the standard error over the RQMC
        replicates for directional sampling.
    method : str
        ``"interval"`` (S = 1), ``"owens_t"`` (S = 2) or ``"directional"``.
    n_directions : int
        Directions drawn (0 for the closed forms).
    replicate_mass : ndarray, shape (replicates, K), float64, or None
        Directional sampling only: every replicate's estimate (for error estimates of sums weighted across
        polytopes, whose replicate estimates are correlated).
    n_hits : ndarray, shape (K,), int64, or None
        Directional sampling only: how many of the lines met each polytope. The estimate of a polytope that few
        lines meet (a small solid angle seen from the mean: a small region far from it, or a thin one next to it) is
        heavy-tailed, and its replicate standard error is then unreliable (it tends to be too small); trust
        ``error`` where ``n_hits`` is in the hundreds or more.
    """

    mass: np.ndarray
    error: np.ndarray
    method: str
    n_directions: int = 0
    replicate_mass: Optional[np.ndarray] = None
    n_hits: Optional[np.ndarray] = None


def interval_masses(lo, hi) -> np.ndarray:
    """Standard normal probabilities of intervals ``[lo, hi]``, shape of the broadcast inputs, float64.

    Computed as ``Phi(hi) - Phi(lo)`` on the left of the origin and ``Phi(-lo) - Phi(-hi)`` on the right, so that
    far tails keep their relative accuracy; empty intervals (``hi <= lo``) get 0. Infinite ends are allowed.

    Parameters
    ----------
    lo, hi : array_like, float64
        Interval ends in standard deviations, broadcast together.

    Returns
    -------
    ndarray, float64
        ``P(lo <= Z <= hi)`` for ``Z ~ N(0, 1)``.

    Raises
    ------
    ValueError
        When ``lo`` or ``hi`` is not numeric, is NaN or None, or their shapes do not broadcast.

    Examples
    --------
    >>> float(interval_masses(-np.inf, 0.0)), bool(interval_masses(8.0, np.inf) > 0)
    (0.5, True)
    """
    from scipy.special import ndtr

    try:
        lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lo and hi must be real numbers of broadcastable shapes: {exc}") from None
    for name, v in (("lo", lo), ("hi", hi)):  # (None becomes NaN in asarray: it gave mass 0)
        if np.isnan(v).any():
            raise ValueError(f"{name} must not be NaN (or None)")
    right = lo > 0
    m = np.where(right, ndtr(-lo) - ndtr(-hi), ndtr(hi) - ndtr(lo))
    return np.where(hi > lo, np.maximum(m, 0.0), 0.0)


def _fan_masses(V: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Standard bivariate normal mass of padded counter-clockwise convex polygons V (K, nmax, 2), counts n (K,)."""
    from scipy.special import owens_t

    K, nmax = V.shape[:2]
    if K == 0 or nmax == 0:
        return np.zeros(K)
    W = np.roll(V, -1, axis=1)
    rows = np.arange(K)
    last = np.maximum(n - 1, 0)
    W[rows, last] = V[rows, 0]
    real = np.arange(nmax)[None, :] < n[:, None]
    e = W - V
    length = np.hypot(e[..., 0], e[..., 1])
    use = real & (length > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = e / np.where(use, length, 1.0)[..., None]
    normal = np.stack([tau[..., 1], -tau[..., 0]], axis=-1)  # outward for a counter-clockwise polygon
    c = np.einsum("kij,kij->ki", normal, V)
    t1 = np.einsum("kij,kij->ki", tau, V)
    t2 = np.einsum("kij,kij->ki", tau, W)
    use &= c != 0  # an edge on a line through the origin spans a triangle of zero area
    h = np.where(use, np.abs(c), 1.0)

    def g(t):
        a = np.where(use, t / h, 0.0)
        return np.arctan2(np.where(use, t, 0.0), h) / (2.0 * np.pi) - owens_t(h, a)

    terms = np.where(use, np.sign(c) * (g(t2) - g(t1)), 0.0)
    mass = terms.sum(axis=1)
    return np.where(n >= 3, np.clip(mass, 0.0, 1.0), 0.0)


def _fan_tail_bound(V: np.ndarray, n: np.ndarray) -> np.ndarray:
    """An upper bound (K,) on the standard normal mass of padded counter-clockwise convex polygons that do not contain
    the origin, ``min(Phi(-d), area exp(-d^2 / 2) / (2 pi))`` with ``d`` the distance from the origin (1 for
    polygons that contain it, and 0 for empty ones)."""
    from scipy.special import ndtr

    K, nmax = V.shape[:2]
    if K == 0 or nmax == 0:
        return np.zeros(K)
    W = np.roll(V, -1, axis=1)
    rows = np.arange(K)
    W[rows, np.maximum(n - 1, 0)] = V[rows, 0]
    real = np.arange(nmax)[None, :] < n[:, None]
    e = W - V
    cross = e[..., 0] * (-V[..., 1]) - e[..., 1] * (-V[..., 0])  # origin left of every edge: inside
    inside = np.all(np.where(real, cross >= 0, True), axis=1)
    ee = (e * e).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        tt = np.clip(np.where(ee > 0, -(V * e).sum(axis=2) / ee, 0.0), 0.0, 1.0)
    P = V + tt[..., None] * e
    d = np.sqrt(np.where(real, (P * P).sum(axis=2), np.inf).min(axis=1))
    area = 0.5 * np.where(real, V[..., 0] * W[..., 1] - V[..., 1] * W[..., 0], 0.0).sum(axis=1)
    bound = np.minimum(ndtr(-d), np.abs(area) * np.exp(-0.5 * d * d) / (2.0 * np.pi))
    return np.where(n >= 3, np.where(inside, 1.0, bound), 0.0)


def polygon_masses(offsets, vertices) -> np.ndarray:
    """Standard bivariate normal probabilities of bounded convex polygons, in closed form (Owen's T).

    Parameters
    ----------
    offsets : array_like of int, shape (K + 1,)
    vertices : array_like, shape (V, 2), float64
        The polygons in the CSR form of :mod:`relutope.polygons`, counter-clockwise.

    Returns
    -------
    ndarray, shape (K,), float64
        Their masses (see the module docstring for the fan formula); polygons of fewer than three vertices get 0.

    Raises
    ------
    TypeError
        When ``offsets`` is not an integer array or ``vertices`` is not numeric.
    ValueError
        When ``offsets`` is not a non-decreasing index from 0 to ``len(vertices)``, or ``vertices`` does not have
        shape (V, 2) or holds NaN or infinite coordinates (clip unbounded polygons first, or use
        :func:`polytope_masses`).

    Examples
    --------
    The square ``[0, 1]^2`` has mass ``(Phi(1) - 1/2)^2``:

    >>> from scipy.special import ndtr
    >>> m = polygon_masses([0, 4], [[0, 0], [1, 0], [1, 1], [0, 1]])
    >>> bool(abs(m[0] - (ndtr(1) - 0.5) ** 2) < 1e-15)
    True
    """
    offsets, vertices = _check_csr(offsets, vertices)
    if len(offsets) == 1:
        return np.zeros(0)
    V, n = _padded(offsets, vertices)
    n = np.where(np.diff(offsets) > 0, n, 0)
    return _fan_masses(V, n)


def _padded_rows(offsets: np.ndarray, A: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """CSR rows padded to (K, mmax, S), (K, mmax) with the always-true row ``0 u <= 1``."""
    counts = np.diff(offsets)
    K, S = len(counts), A.shape[1]
    m = max(int(counts.max()) if K else 0, 1)
    Ap = np.zeros((K, m, S))
    bp = np.ones((K, m))
    k = np.repeat(np.arange(K), counts)
    j = np.arange(len(b)) - np.repeat(offsets[:-1], counts)
    Ap[k, j] = A
    bp[k, j] = b
    return Ap, bp


def _chi_upper(t: np.ndarray, S: int) -> np.ndarray:
    """``P(chi_S > |t|)`` (regularised upper incomplete gamma)."""
    from scipy.special import gammaincc

    return gammaincc(S / 2.0, 0.5 * t * t)


def _line_masses(Ap: np.ndarray, bp: np.ndarray, theta: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Sums over the lines ``t theta`` (n, S) of ``H(t_2) - H(t_1)`` (K,), and how many lines meet each polyhedron
    (K,), for padded polyhedra."""
    S = Ap.shape[2]
    a = np.einsum("kms,ns->knm", Ap, theta)
    bb = bp[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = bb / a
    hi = np.where(a > 0, r, np.inf).min(axis=2)
    lo = np.where(a < 0, r, -np.inf).max(axis=2)
    meet = ~np.any((a == 0) & (bb < 0), axis=2) & (hi > lo)
    k, _ = np.nonzero(meet)
    lo, hi = lo[meet], hi[meet]  # only the lines that meet a polyhedron need the chi-distribution
    qlo = np.where(np.isfinite(lo), _chi_upper(np.where(np.isfinite(lo), lo, 0.0), S), 0.0)
    qhi = np.where(np.isfinite(hi), _chi_upper(np.where(np.isfinite(hi), hi, 0.0), S), 0.0)
    # H(t) = 1 - Q(t)/2 for t >= 0, Q(|t|)/2 for t < 0 (Q the chi upper tail; Q(inf) = 0)
    m = np.where(lo >= 0, 0.5 * (qlo - qhi), np.where(hi <= 0, 0.5 * (qhi - qlo), 1.0 - 0.5 * (qlo + qhi)))
    K = Ap.shape[0]
    return np.bincount(k, weights=np.maximum(m, 0.0), minlength=K), np.bincount(k, minlength=K)


def _directions(n: int, S: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.special import ndtri
    from scipy.stats import qmc

    u = qmc.Sobol(S, scramble=True, seed=rng).random(n)
    g = ndtri(np.clip(u, 1e-300, 1.0 - 2.0 ** -53))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


#: The methods of :func:`polytope_masses`.
_METHODS = ("auto", "exact", "directional")


def _check_method(method) -> str:
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be 'auto', 'exact' or 'directional', got {method!r}")
    return method


def polytope_masses(offsets, A, b, mean=None, cov=None, *, method: str = "auto", n_directions: int = 2 ** 14,
                    replicates: int = 16, seed=0, box: float = CLIP_BOX, chunk: int = 2 ** 22) -> GaussianMasses:
    """Gaussian probabilities of convex polyhedra ``{z : A_k z <= b_k}``, bounded or not.

    Parameters
    ----------
    offsets : array_like of int, shape (K + 1,)
        The rows of polyhedron ``k`` are ``A[offsets[k]:offsets[k + 1]]`` (CSR, as :class:`relutope.geometry.Facets`).
        A polyhedron without rows is all of R^S.
    A : array_like, shape (F, S), float64
    b : array_like, shape (F,), float64
    mean : array_like, shape (S,) or (K, S), optional
        The Gaussian's mean, one for all or one per polyhedron (default 0).
    cov : array_like, shape (S, S) or (K, S, S), optional
        Its covariance, symmetric positive definite, one for all or one per polyhedron (default the identity).
    method : {"auto", "exact", "directional"}, optional
        ``"auto"``: the closed forms for S <= 2, directional sampling otherwise. ``"exact"`` refuses S >= 3.
    n_directions : int, optional
        Directions for directional sampling, in total over the replicates (rounded up to ``replicates`` times a
        power of two, as Sobol sequences are balanced at powers of two).
    replicates : int, optional
        Independent scramblings (>= 2) for the error estimate.
    seed : int >= 0, numpy.random.Generator or None, optional
        Seed of :func:`numpy.random.default_rng` for the scramblings (anything else: TypeError or ValueError).
    box : float, optional
        Half-width of the clipping square in whitened units (S = 2); see the module docstring.
    chunk : int, optional
        Rough bound on the working array size of one directional step (memory control).

    Returns
    -------
    GaussianMasses

    Raises
    ------
    TypeError, ValueError
        On mis-shaped, non-finite or non-numeric input, a covariance that is not symmetric positive definite, an
        unknown ``method``, or a bad ``n_directions``, ``replicates``, ``chunk`` or ``box`` (whichever method runs).

    Examples
    --------
    The half-plane ``z_0 <= 1`` under N(0, I_2), and the positive orthant of R^3 (1/8):

    >>> float(polytope_masses([0, 1], [[1.0, 0.0]], [1.0]).mass[0])  # doctest: +ELLIPSIS
    0.841344746068...
    >>> r = polytope_masses([0, 3], -np.eye(3), np.zeros(3), n_directions=4096)
    >>> bool(abs(r.mass[0] - 0.125) < 5 * r.error[0] + 1e-12)
    True
    """
    method = _check_method(method)
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if A.ndim != 2 or A.shape[1] < 1:
        raise ValueError(f"A must have shape (F, S) with S >= 1, got {A.shape}")
    if b.shape != (A.shape[0],):
        raise ValueError(f"b must have shape ({A.shape[0]},), got {b.shape}")
    offsets = _check_offsets(offsets, A.shape[0], "A")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
        raise ValueError("A and b must be finite")
    K, S = len(offsets) - 1, A.shape[1]
    if method == "exact" and S > 2:
        raise ValueError(f"method='exact' needs S <= 2, got S = {S} (use 'directional')")
    if isinstance(box, (bool, np.bool_)) or not isinstance(box, numbers.Real):
        raise TypeError(f"box must be a number, got {type(box).__name__}")
    if not (np.isfinite(box) and box > 0):
        raise ValueError(f"box must be a positive number, got {box!r}")
    seed = check_seed(seed)
    # the sampling arguments are checked whichever method runs (an unused bad one is still a mistake)
    replicates = check_int(replicates, "replicates", 2)
    n_directions = check_int(n_directions, "n_directions", replicates)
    chunk = check_int(chunk, "chunk")
    if mean is None:
        mean = np.zeros(S)
    mean = np.asarray(mean, dtype=np.float64)
    if mean.shape not in ((S,), (K, S)) or not np.all(np.isfinite(mean)):
        raise ValueError(f"mean must be finite of shape ({S},) or ({K}, {S}), got {mean.shape}")
    counts = np.diff(offsets)
    owner = np.repeat(np.arange(K), counts)
    mk = mean if mean.ndim == 1 else mean[owner]
    b = b - (A @ mk if mk.ndim == 1 else np.einsum("fs,fs->f", A, mk))
    if cov is not None:
        cov = np.asarray(cov, dtype=np.float64)
        if cov.shape not in ((S, S), (K, S, S)) or not np.all(np.isfinite(cov)):
            raise ValueError(f"cov must be finite of shape ({S}, {S}) or ({K}, {S}, {S}), got {cov.shape}")
        if not np.allclose(cov, np.swapaxes(cov, -1, -2), rtol=1e-12, atol=0.0):
            raise ValueError("cov must be symmetric")
        try:
            L = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError("cov must be positive definite") from None
        Lk = L if L.ndim == 2 else L[owner]
        A = np.einsum("fs,st->ft", A, Lk) if L.ndim == 2 else np.einsum("fs,fst->ft", A, Lk)
    norms = np.linalg.norm(A, axis=1)
    zero = norms == 0
    A = A / np.where(zero, 1.0, norms)[:, None]
    b = np.where(zero, np.where(b < 0, -1.0, 1.0), b / np.where(zero, 1.0, norms))
    if K == 0:
        return GaussianMasses(np.zeros(0), np.zeros(0), "interval" if S == 1 else "owens_t" if S == 2
                              else "directional")
    if S == 1 and method != "directional":
        Ap, bp = _padded_rows(offsets, A, b)
        a = Ap[:, :, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = bp / a
        hi = np.where(a > 0, r, np.inf).min(axis=1)
        lo = np.where(a < 0, r, -np.inf).max(axis=1)
        empty = np.any((a == 0) & (bp < 0), axis=1)
        m = np.where(empty, 0.0, interval_masses(lo, hi))
        return GaussianMasses(m, np.zeros(K), "interval")
    if S == 2 and method != "directional":
        off, verts = clip_halfplanes(offsets, A, b, -box, box)
        return GaussianMasses(polygon_masses(off, verts), np.zeros(K), "owens_t")
    per = 1 << int(np.ceil(np.log2(max(n_directions / replicates, 1))))
    rng = np.random.default_rng(seed)
    Ap, bp = _padded_rows(offsets, A, b)
    step = max(1, int(chunk // max(K * Ap.shape[1], 1)))
    est = np.zeros((replicates, K))
    hits = np.zeros(K, dtype=np.int64)
    for rep in range(replicates):
        theta = _directions(per, S, rng)
        acc = np.zeros(K)
        for s in range(0, per, step):
            m, h = _line_masses(Ap, bp, theta[s:s + step])
            acc += m
            hits += h
        est[rep] = acc / per
    return GaussianMasses(est.mean(axis=0), est.std(axis=0, ddof=1) / np.sqrt(replicates), "directional",
                          per * replicates, est, hits)


def polytope_mass(A, b, mean=None, cov=None, **kwargs) -> Tuple[float, float]:
    """Gaussian probability of one polyhedron ``{z : A z <= b}``; see :func:`polytope_masses`.

    Parameters
    ----------
    A : array_like, shape (F, S), float64
    b : array_like, shape (F,), float64
    mean : array_like, shape (S,), optional
    cov : array_like, shape (S, S), optional
    **kwargs
        Passed to :func:`polytope_masses` (``method``, ``n_directions``, ``seed``, ...).

    Returns
    -------
    mass : float
    error : float
        The error estimate (0 for the closed forms, S <= 2).

    Raises
    ------
    ValueError
        As :func:`polytope_masses`: shapes that do not fit, or a covariance that is not positive definite.

    Examples
    --------
    >>> m, err = polytope_mass([[1.0]], [0.0], mean=[1.0], cov=[[4.0]])   # P(N(1, 4) <= 0) = Phi(-1/2)
    >>> round(m, 12), err
    (0.308537538726, 0.0)
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise ValueError(f"A must have shape (m, S), got {A.shape}")
    r = polytope_masses(np.array([0, A.shape[0]]), A, b, mean=mean, cov=cov, **kwargs)
    return float(r.mass[0]), float(r.error[0])
