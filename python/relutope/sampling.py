"""Sampling-based and one-dimensional views of a network's activation regions.

These are the cheap, inexact counterparts of the exact enumeration, used to check it and to study networks that are
too large for it:

* :func:`sample_points`, :func:`sample_patterns`, :func:`sample_patterns_gaussian`: draw inputs and tally the
  activation patterns they fall in. Every pattern found is a region of positive measure (with probability 1), so the
  number of distinct patterns is a *lower bound* on the number of regions; regions are found in proportion to
  their volume.
* :func:`chao1`, :func:`ace`: species-richness estimators (Chao 1987; Chao & Lee 1992) that extrapolate from the
  pattern counts to the number of regions not yet hit. They assume that every region has some chance of being
  sampled; their value is a heuristic for networks whose regions are of very unequal size.
* :func:`line_count`: the EXACT number of regions that a segment ``[a, b]`` crosses, by walking along it.
* :func:`line_density`: the Hanin & Rolnick (ICML 2019) estimate of the number of regions crossed per unit length
  by random lines through a domain.

Conventions are those of :mod:`relutope.network`: the pattern of an input is the chosen piece of every unit,
``int8``, ties to the lowest piece index (so a ReLU with zero pre-activation is inactive).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ._checks import check_domain, check_int, check_seed
from .domains import Box, Domain, Slice
from .network import Network, _as_float_array

__all__ = [
    "PatternSample",
    "LineCrossing",
    "LineDensity",
    "RichnessEstimate",
    "sample_points",
    "sample_patterns",
    "sample_patterns_gaussian",
    "line_count",
    "line_density",
    "chao1",
    "ace",
]

DEFAULT_CHUNK = 65536


# ---------------------------------------------------------------------------------------------------- validation
def _check_net(net) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a relutope.Network, got {type(net).__name__}")
    return net


def _check_domain(domain, net: Optional[Network] = None) -> Domain:
    check_domain(domain)
    if net is not None and domain.dim != net.in_dim:
        raise ValueError(f"domain has dimension {domain.dim} but the network takes inputs of length {net.in_dim}")
    if not domain.bounded:
        raise ValueError(f"domain must be bounded to sample uniformly from it, got {domain!r}")
    return domain


def _check_point(value, name: str, d: int) -> np.ndarray:
    arr = _as_float_array(value, name, 1, promote=True)
    if arr.shape[0] != d:
        raise ValueError(f"{name} must have shape ({d},), got {arr.shape}")
    return arr


def _check_tol(tol, name: str = "tol") -> float:
    try:
        tol = float(tol)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(tol).__name__}") from None
    if not (np.isfinite(tol) and 0.0 < tol < 0.5):
        raise ValueError(f"{name} must be in (0, 0.5), got {tol}")
    return tol


# ---------------------------------------------------------------------------------------------------- point sampling
class _Sampler:
    """Uniform sampler of a bounded domain, in domain coordinates ``t`` and inputs ``x``.

    Box: ``x = lo + U (hi - lo)`` with ``U`` of shape (m, d), exactly as :meth:`Box.sample`. Slice of a Box: ``t``
    uniform in the inner box. Anything else bounded: rejection from the bounding box of ``{t : A t <= b}``
    (2 k linear programs). Candidates are drawn from one stream in row order, so the accepted points are the same
    whatever the block size.
    """

    #: Rejection gives up when, after this many candidates, fewer than 1 in 10**4 were accepted.
    MAX_TRIES = 10_000_000

    def __init__(self, domain: Domain):
        self.domain = domain
        self.k = domain.intrinsic_dim
        self.origin, self.basis = domain.parametrization()
        self.A, self.b = domain.constraints()
        if isinstance(domain, Box):
            self.kind = "box"
        elif isinstance(domain, Slice) and isinstance(domain.inner, Box):
            self.kind = "slice_box"
            self.lo, self.hi = domain.inner.lo, domain.inner.hi
        else:
            self.kind = "reject"
            self.lo, self.hi = _bounding_box(self.A, self.b)

    def t_to_x(self, t: np.ndarray) -> np.ndarray:
        return self.origin + t @ self.basis.T

    def x_to_t(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "box":
            return x[:, self.domain.free]
        return self.domain.to_coords(x)

    def chunks(self, n: int, rng: np.random.Generator, chunk: int) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """Yield ``(x, t)`` blocks of at most ``chunk`` points, ``n`` points in all."""
        done = 0
        if self.kind == "box":
            box = self.domain
            while done < n:
                m = min(chunk, n - done)
                x = box.lo + rng.random((m, box.dim)) * (box.hi - box.lo)
                done += m
                yield x, x[:, box.free]
            return
        if self.kind == "slice_box":
            while done < n:
                m = min(chunk, n - done)
                t = self.lo + rng.random((m, self.k)) * (self.hi - self.lo)
                done += m
                yield self.t_to_x(t), t
            return
        tried = 0
        while done < n:
            t = self.lo + rng.random((chunk, self.k)) * (self.hi - self.lo)
            tried += chunk
            keep = np.all(t @ self.A.T <= self.b, axis=1)
            t = t[keep][: n - done]
            if t.shape[0]:
                done += t.shape[0]
                yield self.t_to_x(t), t
            if tried >= self.MAX_TRIES and done < 1e-4 * tried:
                raise RuntimeError(f"rejection sampling accepted {done} of {tried} candidates from the bounding box "
                                   f"of {self.domain!r}; the domain is too thin for rejection sampling")


def _bounding_box(A: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Coordinate-wise bounds of ``{t : A t <= b}`` by 2 k LPs (scipy HiGHS); ValueError when unbounded."""
    from scipy.optimize import linprog

    k = A.shape[1]
    lo, hi = np.empty(k), np.empty(k)
    for j in range(k):
        for sign, out in ((1.0, lo), (-1.0, hi)):
            c = np.zeros(k)
            c[j] = sign
            res = linprog(c, A_ub=A, b_ub=b, bounds=[(None, None)] * k, method="highs")
            if res.status == 3:
                raise ValueError("domain is unbounded: cannot sample it uniformly")
            if res.status != 0:
                raise ValueError(f"cannot bound the domain (linprog status {res.status}: {res.message})")
            out[j] = sign * res.fun
    if np.any(hi <= lo):
        raise ValueError("domain has an empty interior in its own coordinates: cannot sample it uniformly")
    return lo, hi


def sample_points(domain: Domain, n: int, seed=0) -> np.ndarray:
    """Points drawn independently and uniformly from a bounded domain.

    Parameters
    ----------
    domain : Domain
        A bounded :class:`~relutope.Box`, :class:`~relutope.Polytope` or :class:`~relutope.Slice` (of a bounded
        inner domain).
    n : int
        Number of points (> 0).
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    x : ndarray, shape (n, d), float64
        Network inputs. For a Box they equal ``domain.sample(n, seed)``; fixed coordinates (``lo == hi``) are
        constant. Points of a Slice lie on the slice.

    Raises
    ------
    TypeError
        ``domain`` is not a Domain or ``n`` is not an int.
    ValueError
        ``n <= 0``, or the domain is unbounded (:class:`~relutope.WholeSpace` or a Slice of one).
    RuntimeError
        Rejection sampling accepts fewer than 1 in 10**4 candidates.

    Notes
    -----
    "Uniform" is with respect to the k-dimensional volume of the domain's affine hull (k =
    ``domain.intrinsic_dim``): domain coordinates ``t`` are uniform and ``x = origin + basis @ t`` is affine.
    A Box or a Slice of a Box is sampled directly; a Polytope (or a Slice of one) by rejection from the bounding box
    of its coordinates, found with ``scipy.optimize.linprog``.
    """
    domain = _check_domain(domain)
    n = check_int(n, "n")
    rng = np.random.default_rng(check_seed(seed))
    sampler = _Sampler(domain)
    return np.concatenate([x for x, _ in sampler.chunks(n, rng, DEFAULT_CHUNK)], axis=0)


# ---------------------------------------------------------------------------------------------------- pattern tallies
@dataclass(frozen=True, eq=False)
class PatternSample:
    """Activation patterns hit by a sample of inputs and how often each was hit.

    Attributes
    ----------
    patterns : ndarray, shape (P, n_units), int8
        The distinct patterns, most frequent first (ties in lexicographic order).
    counts : ndarray, shape (P,), int64
        Number of samples in each pattern's region; ``counts.sum() == n_samples``.
    points : ndarray, shape (P, d), float64
        For each pattern, the first sampled input that fell in it (a witness of the region).
    n_samples : int
        Total number of samples.
    """

    patterns: np.ndarray
    counts: np.ndarray
    points: np.ndarray
    n_samples: int

    @property
    def n_patterns(self) -> int:
        """Number of distinct patterns found (a lower bound on the number of regions)."""
        return int(self.counts.shape[0])

    def chao1(self, z: float = 1.959964) -> "RichnessEstimate":
        """:func:`chao1` of :attr:`counts`."""
        return chao1(self.counts, z=z)

    def ace(self, rare: int = 10, z: float = 1.959964) -> "RichnessEstimate":
        """:func:`ace` of :attr:`counts`."""
        return ace(self.counts, rare=rare, z=z)

    def __repr__(self) -> str:
        return f"PatternSample(n_samples={self.n_samples}, n_patterns={self.n_patterns})"


class _PatternTally:
    """Accumulates pattern counts chunk by chunk (dict keyed by the pattern's bytes)."""

    def __init__(self, n_units: int, d: int):
        self.n_units, self.d = n_units, d
        self.index: Dict[bytes, int] = {}
        self.counts: List[int] = []
        self.points: List[np.ndarray] = []
        self.keys: List[bytes] = []
        self.n = 0

    def add(self, x: np.ndarray, pats: np.ndarray) -> None:
        pats = np.ascontiguousarray(pats, dtype=np.int8)
        rows = pats.view(np.dtype((np.void, self.n_units))).ravel()
        uniq, first, cnt = np.unique(rows, return_index=True, return_counts=True)
        for key, i, c in zip(uniq.tolist(), first.tolist(), cnt.tolist()):
            j = self.index.get(key)
            if j is None:
                self.index[key] = len(self.counts)
                self.keys.append(key)
                self.counts.append(c)
                self.points.append(x[i].copy())
            else:
                self.counts[j] += c
        self.n += pats.shape[0]

    def result(self) -> PatternSample:
        counts = np.asarray(self.counts, dtype=np.int64)
        pats = np.frombuffer(b"".join(self.keys), dtype=np.int8).reshape(len(self.keys), self.n_units)
        order = np.lexsort(pats.T[::-1])  # lexicographic ...
        order = order[np.argsort(-counts[order], kind="stable")]  # ... then most frequent first
        points = np.asarray(self.points, dtype=np.float64).reshape(len(self.keys), self.d)
        return PatternSample(patterns=np.ascontiguousarray(pats[order]), counts=counts[order],
                             points=np.ascontiguousarray(points[order]), n_samples=self.n)


def sample_patterns(net: Network, domain: Domain, n: int, seed=0, chunk: int = DEFAULT_CHUNK) -> PatternSample:
    """Tally the activation patterns of ``n`` uniform samples of a bounded domain.

    Parameters
    ----------
    net : Network
    domain : Domain
        A bounded domain with ``domain.dim == net.in_dim`` (see :func:`sample_points`).
    n : int
        Number of samples (> 0).
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng`; the samples are those of ``sample_points(domain, n, seed)``.
    chunk : int, optional
        Samples processed at a time; memory is O(chunk * (d + n_units)) plus O(P * (d + n_units)) for P patterns.

    Returns
    -------
    PatternSample
        Distinct patterns (P, n_units) int8, most frequent first, their counts (P,) int64, a witness input per
        pattern (P, d) and ``n_samples``.

    Raises
    ------
    TypeError
        ``net`` is not a Network, ``domain`` not a Domain, ``n`` or ``chunk`` not an int.
    ValueError
        ``n <= 0``, ``chunk <= 0``, the domain is unbounded or of the wrong dimension.

    Notes
    -----
    ``n_patterns`` is a lower bound on the number of activation regions of positive volume in the domain; a region
    of relative volume ``v`` is missed with probability ``(1 - v)**n``. See :func:`chao1` and :func:`ace` for
    estimates of the number missed.
    """
    net = _check_net(net)
    domain = _check_domain(domain, net)
    n = check_int(n, "n")
    chunk = check_int(chunk, "chunk")
    rng = np.random.default_rng(check_seed(seed))
    tally = _PatternTally(net.n_units, net.in_dim)
    for x, _ in _Sampler(domain).chunks(n, rng, chunk):
        tally.add(x, net.forward(x)[1])
    return tally.result()


def sample_patterns_gaussian(net: Network, center, sigma, n: int, seed=0,
                             chunk: int = DEFAULT_CHUNK) -> PatternSample:
    """Tally the activation patterns of ``n`` Gaussian samples around a point.

    Parameters
    ----------
    net : Network
    center : array_like, shape (d,), float64
        Mean of the samples, ``d = net.in_dim``.
    sigma : float or array_like of shape (d,), float64
        Standard deviation (> 0), the same for every coordinate or one per coordinate.
    n : int
        Number of samples (> 0).
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng`; ``x = center + sigma * rng.standard_normal((m, d))`` block by
        block.
    chunk : int, optional
        Samples processed at a time.

    Returns
    -------
    PatternSample
        As for :func:`sample_patterns`.

    Raises
    ------
    TypeError
        Wrong argument types (the message names the argument).
    ValueError
        ``n <= 0``, ``chunk <= 0``, a wrong shape, a non-finite value or ``sigma <= 0``.
    """
    net = _check_net(net)
    d = net.in_dim
    center = _check_point(center, "center", d)
    sigma_arr = _as_float_array(sigma, "sigma", 1, promote=True)
    if sigma_arr.shape[0] not in (1, d):
        raise ValueError(f"sigma must be a scalar or have shape ({d},), got {np.shape(sigma)}")
    if np.any(sigma_arr <= 0):
        raise ValueError("sigma must be positive")
    n = check_int(n, "n")
    chunk = check_int(chunk, "chunk")
    rng = np.random.default_rng(check_seed(seed))
    tally = _PatternTally(net.n_units, d)
    done = 0
    while done < n:
        m = min(chunk, n - done)
        x = center + sigma_arr * rng.standard_normal((m, d))
        tally.add(x, net.forward(x)[1])
        done += m
    return tally.result()


# ---------------------------------------------------------------------------------------------------- exact 1-D walk
@dataclass(frozen=True, eq=False)
class LineCrossing:
    """The activation regions crossed by a segment ``x(s) = a + s (b - a)``, ``0 <= s <= 1``.

    Attributes
    ----------
    n_regions : int
        Number of regions the segment crosses (pieces of positive length).
    breakpoints : ndarray, shape (n_regions - 1,), float64
        Increasing parameters ``s`` in (0, 1) where the pattern changes.
    patterns : ndarray, shape (n_regions, n_units), int8
        Pattern of each piece, in order along the segment (consecutive patterns differ).
    a, b : ndarray, shape (d,), float64
        The end points.
    """

    n_regions: int
    breakpoints: np.ndarray
    patterns: np.ndarray
    a: np.ndarray
    b: np.ndarray

    def __repr__(self) -> str:
        return f"LineCrossing(n_regions={self.n_regions}, length={self.length:.6g})"

    @property
    def length(self) -> float:
        """Euclidean length ``|b - a|``."""
        return float(np.linalg.norm(self.b - self.a))

    @property
    def piece_lengths(self) -> np.ndarray:
        """Euclidean length of each piece, shape (n_regions,)."""
        return np.diff(np.concatenate([[0.0], self.breakpoints, [1.0]])) * self.length

    @property
    def points(self) -> np.ndarray:
        """Midpoint of each piece (a witness input of its region), shape (n_regions, d)."""
        s = np.concatenate([[0.0], self.breakpoints, [1.0]])
        mid = 0.5 * (s[:-1] + s[1:])
        return self.a + mid[:, None] * (self.b - self.a)


class _LayerForm:
    """A layer's pieces padded to (n_units, K_max) for vectorised per-unit work."""

    def __init__(self, layer):
        K = int(layer.n_pieces.max())
        starts = layer.piece_start[:-1]
        offs = np.arange(K)
        self.valid = offs[None, :] < layer.n_pieces[:, None]
        self.rows = np.where(self.valid, starts[:, None] + offs[None, :], 0)
        self.A, self.c = layer.A, layer.c
        self.absA, self.absc = np.abs(layer.A), np.abs(layer.c)
        self.K = K


def _walk_piece(forms: List[_LayerForm], h0: np.ndarray, h1: np.ndarray, s: float, tol_s: float,
                rel_eps: float) -> Tuple[List[np.ndarray], float]:
    """Pattern just to the right of ``s`` and the next breakpoint.

    Along the segment, a layer input is affine in ``s``: ``h(s) = h0 + s h1``. Each unit takes the piece that is
    maximal on ``(s, s + tol_s)``: start from the largest value at ``s``; while some pieces overtake it within
    ``tol_s`` (or are level with it up to rounding, ``rel_eps`` times the magnitude of the terms that were summed),
    switch to the steepest of them (lowest index among equal slopes). The chosen pieces, composed layer by layer,
    give the next layer's input as an affine function of ``s``. The next breakpoint is the first
    ``s' > s + tol_s`` where a non-chosen piece overtakes a chosen one (``inf`` if none).
    """
    pattern, s_next = [], np.inf
    for f in forms:
        z0 = f.A @ h0 + f.c
        z1 = f.A @ h1
        scale = f.absA @ (np.abs(h0) + np.abs(h1)) + f.absc
        V = np.where(f.valid, (z0 + s * z1)[f.rows], -np.inf)
        G = np.where(f.valid, z1[f.rows], 0.0)
        eps = rel_eps * np.max(np.where(f.valid, scale[f.rows], 0.0), axis=1, keepdims=True) + 1e-300
        chosen = np.argmax(V, axis=1)  # largest value at s, lowest index among exact ties
        for _ in range(f.K):
            vch = np.take_along_axis(V, chosen[:, None], axis=1)
            gch = np.take_along_axis(G, chosen[:, None], axis=1)
            dg = G - gch
            # pieces that overtake the chosen one within tol_s after s (or are level with it up to rounding)
            soon = f.valid & (dg > eps) & (vch - V <= tol_s * dg + eps)
            if not np.any(soon):
                break
            Gs = np.where(soon, G, -np.inf)
            gmax = np.max(Gs, axis=1, keepdims=True)
            better = np.argmax(soon & (Gs >= gmax - eps), axis=1)
            chosen = np.where(np.any(soon, axis=1), better, chosen)
        vch = np.take_along_axis(V, chosen[:, None], axis=1)
        gch = np.take_along_axis(G, chosen[:, None], axis=1)
        dg = G - gch
        over = f.valid & (dg > eps)
        if np.any(over):
            with np.errstate(divide="ignore", invalid="ignore"):
                sx = s + (vch - V) / np.where(over, dg, 1.0)
            sx = sx[over & (sx > s + tol_s)]
            if sx.size:
                s_next = min(s_next, float(sx.min()))
        rows = np.take_along_axis(f.rows, chosen[:, None], axis=1)[:, 0]
        pattern.append(chosen.astype(np.int8))
        h0, h1 = z0[rows], z1[rows]
    return pattern, s_next


def line_count(net: Network, a, b, tol: float = 1e-9, max_regions: int = 10_000_000) -> LineCrossing:
    """The exact number of activation regions crossed by the segment ``[a, b]``.

    Parameters
    ----------
    net : Network
    a, b : array_like, shape (d,), float64
        End points (network inputs, ``d = net.in_dim``); they must differ.
    tol : float, optional
        Relative tolerance in the segment parameter ``s`` (fraction of ``|b - a|``): breakpoints closer than
        ``tol`` are merged and pieces shorter than ``tol`` are not counted. In (0, 0.5).
    max_regions : int, optional
        Give up (RuntimeError) after this many pieces.

    Returns
    -------
    LineCrossing
        ``n_regions``, the breakpoints (n_regions - 1,) in (0, 1), the pattern (n_regions, n_units) int8 of every
        piece, and the end points.

    Raises
    ------
    TypeError
        ``net`` is not a Network or ``a``/``b`` not numeric.
    ValueError
        ``a``/``b`` of the wrong shape, non-finite, or equal; ``tol`` outside (0, 0.5).
    RuntimeError
        More than ``max_regions`` pieces.

    Warns
    -----
    RuntimeWarning
        When the pattern evaluated with :meth:`Network.forward` at the midpoint of a piece differs from the one the
        walk followed (a sign of degenerate ties or rounding trouble; the forward pattern is reported).

    Notes
    -----
    Along ``x(s) = a + s (b - a)`` every pre-activation is affine in ``s`` as long as the pattern does not change.
    Starting at ``s = 0``, the walk fixes the pattern that holds just to the right of the current ``s`` (largest
    value, then largest slope, per unit and layer by layer), composes the chosen pieces to get every unit's pieces
    as affine functions of ``s``, and jumps to the first ``s' > s`` where a non-chosen piece of some unit overtakes
    the chosen one (for a ReLU, the zero of its pre-activation). For K-piece units (max-pooling) every other piece
    is checked. The result is exact up to floating-point rounding and ``tol``; it needs no sampling. Activation
    regions are convex, so each is crossed in one piece and ``n_regions`` is also the number of distinct patterns.
    The reported pattern of each piece is ``net.forward`` at the piece's midpoint; consecutive pieces with equal
    patterns (breakpoints that were not real) are merged.
    """
    net = _check_net(net)
    d = net.in_dim
    a = _check_point(a, "a", d)
    b = _check_point(b, "b", d)
    if np.array_equal(a, b):
        raise ValueError("a and b must differ (the segment has zero length)")
    tol_s = _check_tol(tol)
    max_regions = check_int(max_regions, "max_regions")
    forms = [_LayerForm(layer) for layer in net.layers]
    direction = b - a
    s, breaks, walk_pats = 0.0, [], []
    while True:
        pat, s_next = _walk_piece(forms, a, direction, s, tol_s, rel_eps=1e-12)
        walk_pats.append(np.concatenate(pat))
        if s_next >= 1.0 - tol_s:
            break
        if len(walk_pats) >= max_regions:
            raise RuntimeError(f"the segment crosses more than max_regions={max_regions} regions")
        breaks.append(s_next)
        s = s_next
    walk_pats = np.asarray(walk_pats, dtype=np.int8)
    edges = np.concatenate([[0.0], breaks, [1.0]])
    mids = 0.5 * (edges[:-1] + edges[1:])
    fwd = net.forward(a + mids[:, None] * direction)[1]
    n_bad = int(np.sum(np.any(fwd != walk_pats, axis=1)))
    if n_bad:
        warnings.warn(f"line_count: {n_bad} of {len(mids)} pieces have a midpoint pattern different from the one "
                      "the walk followed (degenerate ties or rounding); the midpoint patterns are reported",
                      RuntimeWarning, stacklevel=2)
    keep = np.concatenate([[True], np.any(fwd[1:] != fwd[:-1], axis=1)])
    patterns = np.ascontiguousarray(fwd[keep])
    breakpoints = np.asarray(breaks, dtype=np.float64)[keep[1:]]
    return LineCrossing(n_regions=int(patterns.shape[0]), breakpoints=breakpoints, patterns=patterns,
                        a=a.copy(), b=b.copy())


@dataclass(frozen=True, eq=False)
class LineDensity:
    """Regions crossed per unit length by random chords of a domain (see :func:`line_density`).

    Attributes
    ----------
    density : float
        Mean over the chords of ``(n_regions - 1) / length``: boundary crossings, i.e. new regions entered, per
        unit length.
    std_err : float
        Standard error of that mean (``std(ddof=1) / sqrt(n_lines)``; NaN for one line).
    n_regions : ndarray, shape (n_lines,), int64
        Exact number of regions crossed by each chord (:func:`line_count`).
    lengths : ndarray, shape (n_lines,), float64
        Euclidean length of each chord.
    starts, ends : ndarray, shape (n_lines, d), float64
        End points of the chords.
    """

    density: float
    std_err: float
    n_regions: np.ndarray
    lengths: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @property
    def n_lines(self) -> int:
        """Number of chords."""
        return int(self.lengths.shape[0])

    def __repr__(self) -> str:
        return f"LineDensity(density={self.density:.6g}, std_err={self.std_err:.3g}, n_lines={self.n_lines})"


def line_density(net: Network, domain: Domain, n_lines: int, seed=0, tol: float = 1e-9) -> LineDensity:
    """Hanin & Rolnick's estimate of the number of regions crossed per unit length inside a domain.

    Parameters
    ----------
    net : Network
    domain : Domain
        Bounded, with ``domain.dim == net.in_dim``.
    n_lines : int
        Number of random chords (> 0).
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng`.
    tol : float, optional
        Passed to :func:`line_count`.

    Returns
    -------
    LineDensity
        The mean density, its standard error and the per-chord counts, lengths and end points.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sample_patterns` and :func:`line_count`.

    Notes
    -----
    Each chord is the intersection of the domain with the line through a uniform random point of the domain
    (:func:`sample_points`) in a uniform random direction of the domain's affine hull; the regions it crosses are
    counted exactly by :func:`line_count`. This is the measurement of Hanin & Rolnick, "Complexity of Linear Regions
    in Deep Networks", ICML 2019 (Sec. 5: regions along 1-D lines through input space, per unit length).

    Chords drawn this way are length-biased (a long chord is more likely to contain the random point), which makes
    the plain mean of ``(n_i - 1) / L_i`` unbiased for the ratio ``E[n - 1] / E[L]`` over isotropic uniform random
    lines, i.e. for the boundary "surface density" measured by lines (stereology's ``P_L``); that mean is reported.
    The number of regions itself per unit length is ``(n_i - 1) / L_i + 1 / L_i``; use the per-chord arrays for
    other statistics.
    """
    net = _check_net(net)
    domain = _check_domain(domain, net)
    n_lines = check_int(n_lines, "n_lines")
    tol = _check_tol(tol)
    rng = np.random.default_rng(check_seed(seed))
    sampler = _Sampler(domain)
    t0 = np.concatenate([t for _, t in sampler.chunks(n_lines, rng, DEFAULT_CHUNK)], axis=0)
    basis = sampler.basis
    Q, R = np.linalg.qr(basis)
    A, bvec = sampler.A, sampler.b
    counts = np.empty(n_lines, dtype=np.int64)
    lengths = np.empty(n_lines)
    starts = np.empty((n_lines, domain.dim))
    ends = np.empty((n_lines, domain.dim))
    for i in range(n_lines):
        u = rng.standard_normal(sampler.k)
        u /= np.linalg.norm(u)
        w = np.linalg.solve(R, u)  # basis @ w = Q u: a unit direction in input space
        slack = bvec - A @ t0[i]
        aw = A @ w
        with np.errstate(divide="ignore"):
            ratio = slack / aw
        lam_hi = float(np.min(ratio[aw > 0])) if np.any(aw > 0) else np.inf
        lam_lo = float(np.max(ratio[aw < 0])) if np.any(aw < 0) else -np.inf
        if not (np.isfinite(lam_lo) and np.isfinite(lam_hi)):  # pragma: no cover - bounded domains only
            raise ValueError("domain is unbounded along a random direction")
        pa = sampler.t_to_x((t0[i] + lam_lo * w)[None, :])[0]
        pb = sampler.t_to_x((t0[i] + lam_hi * w)[None, :])[0]
        crossing = line_count(net, pa, pb, tol=tol)
        counts[i] = crossing.n_regions
        lengths[i] = lam_hi - lam_lo
        starts[i], ends[i] = pa, pb
    per = (counts - 1) / lengths
    se = float(np.std(per, ddof=1) / math.sqrt(n_lines)) if n_lines > 1 else float("nan")
    return LineDensity(density=float(per.mean()), std_err=se, n_regions=counts, lengths=lengths,
                       starts=starts, ends=ends)


# ---------------------------------------------------------------------------------------------------- richness
@dataclass(frozen=True)
class RichnessEstimate:
    """An estimate of the number of classes (here: activation regions), seen and unseen.

    Attributes
    ----------
    estimate : float
        Estimated total number of classes.
    lower, upper : float
        Bounds of the confidence interval (95 % by default); ``lower >= s_obs``.
    s_obs : int
        Number of classes observed.
    std_err : float
        Estimated standard error of ``estimate``.
    method : str
        Which formula produced the numbers (see :func:`chao1`, :func:`ace`).
    """

    estimate: float
    lower: float
    upper: float
    s_obs: int
    std_err: float
    method: str


def _check_counts(counts) -> np.ndarray:
    if isinstance(counts, PatternSample):
        counts = counts.counts
    if isinstance(counts, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in counts):
        raise TypeError("counts must be an array of non-negative integers, got a bool entry")
    arr = np.asarray(counts)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"counts must be an array of non-negative integers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"counts must be 1-D, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError("counts contains NaN or infinite values")
        if np.any(arr != np.round(arr)):
            raise ValueError("counts must be whole numbers")
    if np.any(arr < 0):
        raise ValueError("counts must be non-negative")
    arr = arr.astype(np.int64)
    arr = arr[arr > 0]
    if arr.size == 0:
        raise ValueError("counts must contain at least one positive entry")
    return arr


def _check_z(z) -> float:
    try:
        z = float(z)
    except (TypeError, ValueError):
        raise TypeError(f"z must be a number, got {type(z).__name__}") from None
    if not (np.isfinite(z) and z > 0):
        raise ValueError(f"z must be positive and finite, got {z}")
    return z


def _log_normal_ci(estimate: float, s_obs: int, var: float, z: float) -> Tuple[float, float]:
    """Chao (1987) interval: ``T = estimate - s_obs`` is taken log-normal; ``[s_obs + T/K, s_obs + T K]``."""
    T = estimate - s_obs
    try:
        K = math.exp(z * math.sqrt(math.log(1.0 + var / T ** 2)))
    except OverflowError:  # a huge z: the interval's limit [s_obs, inf), not an OverflowError
        K = math.inf
    return float(s_obs + T / K), float(s_obs + T * K)


def _no_unseen_ci(x: np.ndarray, z: float) -> Tuple[float, float, float]:
    """Interval when the estimate equals ``s_obs`` (``T = 0``): the log-normal interval is undefined.

    With ``P = sum_i f_i exp(-i) / S_obs`` (the Poisson chance that a class with an observed frequency i would have
    been missed) and ``var = sum_i f_i (exp(-i) - exp(-2i)) - (sum_i i exp(-i) f_i)**2 / n``, the interval is
    ``[max(S_obs, S_obs/(1-P) - z sqrt(var)/(1-P)), S_obs/(1-P) + z sqrt(var)/(1-P)]`` (EstimateS 9 User's Guide,
    Appendix B; the same formula as Chao's SpadeR). Returns (lower, upper, var).
    """
    s_obs, n = x.size, float(x.sum())
    vals, f = np.unique(x, return_counts=True)
    e1, e2 = np.exp(-vals.astype(float)), np.exp(-2.0 * vals)
    var = float(np.sum(f * (e1 - e2)) - np.sum(vals * e1 * f) ** 2 / n)
    var = max(var, 0.0)
    P = float(np.sum(f * e1) / s_obs)
    half = z * math.sqrt(var) / (1.0 - P)
    return max(float(s_obs), s_obs / (1.0 - P) - half), s_obs / (1.0 - P) + half, var


def chao1(counts, z: float = 1.959964) -> RichnessEstimate:
    """Bias-corrected Chao1 estimate of the number of classes, with its log-normal confidence interval.

    Parameters
    ----------
    counts : array_like of int, shape (S,), or PatternSample
        How many samples fell in each observed class (zeros are ignored), e.g. :attr:`PatternSample.counts`.
    z : float, optional
        Normal quantile of the interval; 1.959964 gives 95 %.

    Returns
    -------
    RichnessEstimate
        ``estimate``, ``lower``, ``upper``, ``s_obs``, ``std_err`` and ``method``.

    Raises
    ------
    TypeError
        ``counts`` is not numeric.
    ValueError
        ``counts`` is not 1-D, has negative, fractional or non-finite entries, or no positive entry.

    Notes
    -----
    With ``f1`` classes seen exactly once (singletons) and ``f2`` seen exactly twice (doubletons),

    .. math:: \\hat S = S_{obs} + \\frac{f_1 (f_1 - 1)}{2 (f_2 + 1)}

    (the bias-corrected form of Chao's estimator; Chao, "Estimating the population size for capture-recapture data
    with unequal catchability", Biometrics 43, 1987, 783-791; Colwell, EstimateS User's Guide, Appendix B, Eq. 2;
    Gotelli & Colwell 2011). EstimateS 9 and SpadeR multiply the correction by ``(n - 1)/n``; with the sample sizes
    used here (n in the thousands or more) the difference is negligible. Variance (EstimateS, App. B):

    * ``f1 > 0, f2 > 0``: ``f1(f1-1)/(2(f2+1)) + f1(2f1-1)^2/(4(f2+1)^2) + f1^2 f2 (f1-1)^2/(4(f2+1)^4)``;
    * ``f1 > 0, f2 = 0``: ``f1(f1-1)/2 + f1(2f1-1)^2/4 - f1^4/(4 S_hat)``.

    The interval treats ``T = S_hat - S_obs`` as log-normal (Chao 1987):
    ``K = exp(z sqrt(log(1 + var/T^2)))``, ``[S_obs + T/K, S_obs + T K]``; so the lower bound is never below
    ``S_obs``. When ``T = 0`` (``f1 <= 1``) this is undefined and the interval and variance of
    :func:`_no_unseen_ci` are used instead (``method`` then says so).

    Examples
    --------
    >>> r = chao1([1, 1, 1, 2, 5])
    >>> round(r.estimate, 6), r.s_obs
    (6.5, 5)
    """
    x = _check_counts(counts)
    z = _check_z(z)
    s_obs = int(x.size)
    f1, f2 = int(np.sum(x == 1)), int(np.sum(x == 2))
    est = s_obs + f1 * (f1 - 1) / (2.0 * (f2 + 1))
    if est - s_obs <= 0:
        lo, hi, var = _no_unseen_ci(x, z)
        return RichnessEstimate(float(est), lo, hi, s_obs, math.sqrt(var), "chao1 (f1 <= 1: no unseen classes "
                                                                           "estimated; T = 0 interval)")
    if f2 > 0:
        var = (f1 * (f1 - 1) / (2.0 * (f2 + 1)) + f1 * (2 * f1 - 1) ** 2 / (4.0 * (f2 + 1) ** 2)
               + f1 ** 2 * f2 * (f1 - 1) ** 2 / (4.0 * (f2 + 1) ** 4))
    else:
        var = f1 * (f1 - 1) / 2.0 + f1 * (2 * f1 - 1) ** 2 / 4.0 - f1 ** 4 / (4.0 * est)
    var = max(var, 0.0)
    lo, hi = _log_normal_ci(est, s_obs, var, z)
    return RichnessEstimate(float(est), lo, hi, s_obs, math.sqrt(var), "chao1 (bias-corrected)")


def _ace_value(F: np.ndarray, s_abund: float) -> float:
    """ACE as a function of the rare frequency counts F = (F_1, ..., F_rare) (floats, for differentiation)."""
    q = np.arange(1, F.size + 1, dtype=float)
    s_rare = F.sum()
    n_rare = float(q @ F)
    if n_rare == 0:
        return s_abund
    C = 1.0 - F[0] / n_rare
    denom = n_rare * (n_rare - 1.0)
    g2 = max(s_rare / C * float((q * (q - 1.0)) @ F) / denom - 1.0, 0.0) if denom > 0 else 0.0
    return s_abund + s_rare / C + F[0] / C * g2


def ace(counts, rare: int = 10, z: float = 1.959964) -> RichnessEstimate:
    """Abundance-based coverage estimator (ACE) of the number of classes, with a log-normal interval.

    Parameters
    ----------
    counts : array_like of int, shape (S,), or PatternSample
        How many samples fell in each observed class (zeros are ignored).
    rare : int, optional
        Classes seen at most ``rare`` times are "rare" (10 in Chao & Lee's and EstimateS's default).
    z : float, optional
        Normal quantile of the interval; 1.959964 gives 95 %.

    Returns
    -------
    RichnessEstimate

    Raises
    ------
    TypeError
        ``counts`` is not numeric or ``rare`` not an int.
    ValueError
        Bad ``counts`` (see :func:`chao1`) or ``rare <= 0``.

    Notes
    -----
    Chao & Lee, "Estimating the number of classes via sample coverage", JASA 87, 1992, 210-217, in the form of
    the EstimateS User's Guide (Appendix B) and Chao's SpadeR. With ``F_i`` classes seen exactly ``i`` times,
    ``S_rare = sum_{i<=rare} F_i``, ``S_abund`` the other classes, ``N_rare = sum_{i<=rare} i F_i``,
    sample coverage ``C = 1 - F_1 / N_rare`` and

    .. math:: \\gamma^2 = \\max\\left(\\frac{S_{rare}}{C} \\frac{\\sum_{i\\le rare} i(i-1)F_i}{N_{rare}(N_{rare}-1)}
              - 1, 0\\right), \\qquad
              \\hat S = S_{abund} + \\frac{S_{rare}}{C} + \\frac{F_1}{C}\\gamma^2 .

    The variance is the delta-method one of Chao & Lee / SpadeR: ``sum_ij (dS/dF_i)(dS/dF_j) cov(F_i, F_j)`` with
    ``cov(F_i, F_i) = F_i (1 - F_i / S_hat)`` and ``cov(F_i, F_j) = -F_i F_j / S_hat`` (``dS/dF_i = 1`` for the
    abundant classes; the other derivatives are taken by central differences). The interval is Chao's log-normal
    one, as in :func:`chao1`. When every rare class is a singleton (``C = 0``) ACE is undefined and, as EstimateS
    does, the bias-corrected Chao1 is returned (``method`` says so). When ``S_hat = S_obs`` the ``T = 0`` interval
    of :func:`chao1` is used.

    Examples
    --------
    >>> r = ace([1, 1, 2, 3, 20])
    >>> r.s_obs, r.estimate > r.s_obs
    (5, True)
    """
    x = _check_counts(counts)
    rare = check_int(rare, "rare")
    z = _check_z(z)
    s_obs = int(x.size)
    F = np.bincount(x[x <= rare], minlength=rare + 1)[1:].astype(float)
    s_abund = float(np.sum(x > rare))
    n_rare = float(np.arange(1, rare + 1) @ F)
    if n_rare > 0 and F[0] == n_rare:
        r = chao1(x, z=z)
        return RichnessEstimate(r.estimate, r.lower, r.upper, r.s_obs, r.std_err,
                                "chao1 (ACE undefined: every rare class is a singleton)")
    est = _ace_value(F, s_abund)
    if abs(est - s_obs) < 1e-9 * max(1.0, s_obs):
        lo, hi, var = _no_unseen_ci(x, z)
        return RichnessEstimate(float(est), lo, hi, s_obs, math.sqrt(var), "ace (no unseen classes estimated; "
                                                                           "T = 0 interval)")
    # delta method over the frequency classes present
    grad = np.zeros(rare)
    for i in np.nonzero(F)[0]:
        h = 1e-6 * max(1.0, F[i])
        Fp, Fm = F.copy(), F.copy()
        Fp[i] += h
        Fm[i] -= h
        grad[i] = (_ace_value(Fp, s_abund) - _ace_value(Fm, s_abund)) / (2 * h)
    # all abundant classes have derivative 1: sum g^2 F and sum g F over them are both s_abund
    sum_g2F = float(grad ** 2 @ F) + s_abund
    sum_gF = float(grad @ F) + s_abund
    var = max(sum_g2F - sum_gF ** 2 / est, 0.0)
    lo, hi = _log_normal_ci(est, s_obs, var, z)
    return RichnessEstimate(float(est), lo, hi, s_obs, math.sqrt(var), "ace")
