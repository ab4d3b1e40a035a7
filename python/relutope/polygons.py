"""Convex polygons of partitions of planar domains: CSR storage, areas, shared edges and line clipping.

The regions of a :class:`~relutope.Partition` of a two-dimensional domain are convex polygons. relutope keeps
them as one CSR pair, ``offsets`` (R+1,) int64 and ``vertices`` (V, 2) float64: the vertices of region ``i`` are
``vertices[offsets[i]:offsets[i + 1]]``, counter-clockwise, in domain coordinates ``t``. The 2-D fast path of
:func:`~relutope.enumerate_regions` returns them; :meth:`Partition.polygons` computes them for other partitions.
The functions here work on that form with numpy only, padding the polygons to a common vertex count so that every
step is vectorised over regions.
"""
from __future__ import annotations

import numbers
from typing import List, Sequence, Tuple

import numpy as np

from .network import _as_float_array

__all__ = ["to_csr", "from_csr", "areas", "shared_edges", "clip_lines", "clip_halfplanes"]


def _check_vertices(vertices, name: str = "vertices") -> np.ndarray:
    """``vertices`` as a finite float64 (V, 2) array (an empty array of any shape is (0, 2)), or raise."""
    arr = _as_float_array(vertices, name, None)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (V, 2), got shape {arr.shape}")
    return arr


def _check_offsets(offsets, n: int, what: str, name: str = "offsets") -> np.ndarray:
    """A CSR index ``offsets`` (K+1,) as int64, non-decreasing from 0 to ``n`` (the length of ``what``), or raise."""
    arr = np.asarray(offsets)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be a 1-D array of integers (a CSR index), got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"{name} must be a 1-D array of at least one entry (a CSR index), got shape {arr.shape}")
    arr = arr.astype(np.int64)
    if arr[0] != 0 or arr[-1] != n:
        raise ValueError(f"{name} must run from 0 to len({what}) = {n}, got {arr[0]} to {arr[-1]}")
    if np.any(np.diff(arr) < 0):
        raise ValueError(f"{name} must be non-decreasing")
    return arr


def _check_csr(offsets, vertices) -> Tuple[np.ndarray, np.ndarray]:
    """Polygons in CSR form: ``offsets`` (R+1,) int64 and ``vertices`` (V, 2) finite float64, or raise."""
    vertices = _check_vertices(vertices)
    return _check_offsets(offsets, len(vertices), "vertices"), vertices


def _check_length(value, name: str) -> float:
    """A non-negative finite number (a distance), as a float, or raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be >= 0 and finite, got {value}")
    return float(value)


def to_csr(polygons: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """Pack a list of (n_i, 2) vertex arrays into ``offsets`` (R+1,) int64 and ``vertices`` (V, 2) float64.

    Parameters
    ----------
    polygons : iterable of array_like, each of shape (n_i, 2), float64
        The vertices of every polygon (an empty polygon may be any empty array).

    Returns
    -------
    offsets : ndarray, shape (R + 1,), int64
    vertices : ndarray, shape (V, 2), float64

    Raises
    ------
    TypeError
        When ``polygons`` is not iterable or a polygon is not numeric.
    ValueError
        When a polygon does not have shape (n_i, 2) or holds NaN or infinite coordinates.

    Examples
    --------
    >>> off, v = to_csr([[[0, 0], [1, 0], [0, 1]], []])
    >>> off.tolist(), v.shape
    ([0, 3, 3], (3, 2))
    """
    try:
        items = list(polygons)
    except TypeError:
        raise TypeError(f"polygons must be a sequence of (n_i, 2) vertex arrays, got {type(polygons).__name__}"
                        ) from None
    arrays = [_check_vertices(p, f"polygons[{i}]") for i, p in enumerate(items)]
    counts = np.array([len(p) for p in arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    vertices = np.concatenate(arrays) if arrays else np.zeros((0, 2))
    return offsets, vertices


def from_csr(offsets: np.ndarray, vertices: np.ndarray) -> List[np.ndarray]:
    """The polygons of a CSR pair as a list of (n_i, 2) float64 arrays (views into ``vertices`` when it is a
    C-contiguous float64 array).

    Parameters
    ----------
    offsets : array_like of int, shape (R + 1,)
    vertices : array_like, shape (V, 2), float64

    Returns
    -------
    list of ndarray, each of shape (n_i, 2), float64

    Raises
    ------
    TypeError
        When ``offsets`` is not an integer array or ``vertices`` is not numeric.
    ValueError
        When ``offsets`` is not a non-decreasing index from 0 to ``len(vertices)``, or ``vertices`` does not have
        shape (V, 2) or holds NaN or infinite coordinates.
    """
    offsets, vertices = _check_csr(offsets, vertices)
    return [vertices[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def _padded(offsets: np.ndarray, vertices: np.ndarray, rows=None) -> Tuple[np.ndarray, np.ndarray]:
    """Polygons padded to a common count by repeating their last vertex: (R, n_max, 2) and the counts (R,)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    if rows is not None:
        offsets, counts = offsets[rows], counts[rows]
    else:
        offsets = offsets[:-1]
    # at least one column, and a placeholder vertex for empty polygons (their count 0 marks every column unused)
    n_max = max(int(counts.max()) if counts.size else 0, 1)
    k = np.arange(n_max)
    idx = np.maximum(offsets[:, None] + np.minimum(k[None, :], counts[:, None] - 1), 0)
    return (vertices if len(vertices) else np.zeros((1, 2)))[idx], counts


def areas(offsets, vertices) -> np.ndarray:
    """Signed areas (R,) float64 of CSR polygons (shoelace formula relative to each ring's first vertex; positive
    when counter-clockwise).

    Parameters
    ----------
    offsets : array_like of int, shape (R + 1,)
    vertices : array_like, shape (V, 2), float64
        The polygons (CSR); a polygon of fewer than three vertices has area 0.

    Returns
    -------
    ndarray, shape (R,), float64
        In squared units of ``vertices``.

    Raises
    ------
    TypeError
        When ``offsets`` is not an integer array or ``vertices`` is not numeric.
    ValueError
        When ``offsets`` is not a non-decreasing index from 0 to ``len(vertices)``, or ``vertices`` does not have
        shape (V, 2) or holds NaN or infinite coordinates.

    Examples
    --------
    >>> areas([0, 4, 4], [[0, 0], [2, 0], [2, 1], [0, 1]]).tolist()   # a 2 x 1 rectangle and an empty polygon
    [2.0, 0.0]
    """
    offsets, vertices = _check_csr(offsets, vertices)
    if len(offsets) <= 1:
        return np.zeros(0)
    counts = np.diff(offsets)
    region = np.repeat(np.arange(len(counts)), counts)
    first = offsets[:-1]
    nxt = np.arange(len(vertices)) + 1
    ring = counts > 0
    nxt[offsets[1:][ring] - 1] = first[ring]  # the last vertex of each ring wraps to its first
    rel = vertices - vertices[first[region]]  # relative to each ring's first vertex: no cancellation
    x, y = rel[:, 0], rel[:, 1]
    terms = x * y[nxt] - y * x[nxt]
    return 0.5 * np.bincount(region, weights=terms, minlength=len(offsets) - 1)


def _candidate_pairs(lo: np.ndarray, hi: np.ndarray, pad: float) -> np.ndarray:
    """Pairs (i, j), i < j, of boxes [lo, hi] (R, 2) that overlap after growing by ``pad`` (sort and sweep)."""
    order = np.argsort(lo[:, 0], kind="stable")
    xs = lo[order, 0]
    right = np.searchsorted(xs, hi[order, 0] + pad, side="right")
    start = np.arange(len(order)) + 1
    counts = np.maximum(right - start, 0)
    first = np.repeat(np.arange(len(order)), counts)
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    second = np.repeat(start, counts) + step
    a, b = order[first], order[second]
    keep = (lo[b, 1] <= hi[a, 1] + pad) & (lo[a, 1] <= hi[b, 1] + pad)
    pairs = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)[keep]
    return pairs


def _contact(Va: np.ndarray, na: np.ndarray, Vb: np.ndarray, nb: np.ndarray, atol: float,
             min_length: float) -> np.ndarray:
    """Whether an edge of polygon a (K, n, 2) carries a segment of polygon b's boundary longer than min_length."""
    P = Va
    Q = np.roll(Va, -1, axis=1)
    # Closing edge of a padded ring: from its last real vertex to its first.
    last = na - 1
    K = np.arange(len(Va))
    Q[K, last] = Va[K, 0]
    d = Q - P
    length = np.hypot(d[..., 0], d[..., 1])
    valid = (np.arange(Va.shape[1])[None, :] < na[:, None]) & (length > 0)
    u = d / np.where(length > 0, length, 1.0)[..., None]
    normal = np.stack([u[..., 1], -u[..., 0]], axis=-1)  # outward for counter-clockwise rings
    rel = Vb[:, None, :, :] - P[:, :, None, :]  # (K, edges of a, vertices of b, 2)
    dist = np.einsum("keij,kej->kei", rel, normal)
    along = np.einsum("keij,kej->kei", rel, u)
    real_b = (np.arange(Vb.shape[1])[None, :] < nb[:, None])[:, None, :]
    outside = np.all((dist >= -atol) | ~real_b, axis=2)
    on = (np.abs(dist) <= atol) & real_b
    lo = np.where(on, along, np.inf).min(axis=2)
    hi = np.where(on, along, -np.inf).max(axis=2)
    overlap = np.minimum(hi, length) - np.maximum(lo, 0.0)
    return np.any(valid & outside & (overlap > min_length), axis=1)


def shared_edges(offsets, vertices, atol: float, min_length: float, chunk: int = 20000) -> np.ndarray:
    """Pairs of convex polygons whose boundaries share a segment longer than ``min_length``.

    Two convex polygons with disjoint interiors touch along a segment only on a common edge line: the pair is
    reported when, for an edge of one of them, the other lies outside the edge's line (no vertex deeper than
    ``atol`` inside) and its vertices on the line (within ``atol``) span an interval that overlaps the edge by more
    than ``min_length``. Both orders are tested, so a short edge against a long one (a T-junction) is found from
    the long edge. Candidates come from overlapping bounding boxes (sort and sweep).

    Parameters
    ----------
    offsets : array_like, shape (R+1,), int64
    vertices : array_like, shape (V, 2), float64
        The polygons (CSR, counter-clockwise), with disjoint interiors.
    atol : float
        Distance within which a vertex lies on a line (same units as ``vertices``).
    min_length : float
        Shortest shared segment that counts.
    chunk : int, optional
        Candidate pairs tested at once (memory ~ chunk * n_max^2 * 40 bytes).

    Returns
    -------
    ndarray, shape (E, 2), int64
        Pairs ``(i, j)`` with ``i < j``, sorted.

    Raises
    ------
    TypeError
        When ``offsets`` is not an integer array, ``vertices`` is not numeric, ``atol`` or ``min_length`` is not a
        number, or ``chunk`` is not an int.
    ValueError
        When the CSR pair is malformed (as in :func:`areas`), ``atol`` or ``min_length`` is negative or not finite,
        or ``chunk`` is not positive.
    """
    from ._checks import check_int

    offsets, vertices = _check_csr(offsets, vertices)
    atol = _check_length(atol, "atol")
    min_length = _check_length(min_length, "min_length")
    chunk = check_int(chunk, "chunk")
    R = len(offsets) - 1
    if R < 2:
        return np.zeros((0, 2), dtype=np.int64)
    region = np.repeat(np.arange(R), np.diff(offsets))
    lo = np.full((R, 2), np.inf)
    hi = np.full((R, 2), -np.inf)
    np.minimum.at(lo, region, vertices)
    np.maximum.at(hi, region, vertices)
    pairs = _candidate_pairs(lo, hi, atol)
    found = []
    for s in range(0, len(pairs), chunk):
        p = pairs[s:s + chunk]
        Va, na = _padded(offsets, vertices, p[:, 0])
        Vb, nb = _padded(offsets, vertices, p[:, 1])
        hit = _contact(Va, na, Vb, nb, atol, min_length) | _contact(Vb, nb, Va, na, atol, min_length)
        found.append(p[hit])
    out = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    out = out[np.lexsort((out[:, 1], out[:, 0]))]
    return out.astype(np.int64)


def clip_lines(offsets, vertices, lines: np.ndarray, rows=None) -> Tuple[np.ndarray, np.ndarray]:
    """The segment of each line ``g . t + g0 = 0`` inside its convex polygon.

    Parameters
    ----------
    offsets, vertices : array_like
        The polygons (CSR).
    lines : array_like, shape (K, 3), float64
        ``(g_0, g_1, g0)`` of one line per clipped polygon.
    rows : array_like of int, shape (K,), optional
        The polygon of each line (default: line ``i`` in polygon ``i``).

    Returns
    -------
    segments : ndarray, shape (K, 2, 2), float64
        End points of each segment (NaN where the line misses the polygon's interior).
    hit : ndarray, shape (K,), bool
        Whether the line crosses the polygon's interior.

    Raises
    ------
    TypeError
        When ``offsets`` or ``rows`` is not an integer array, or ``vertices`` or ``lines`` is not numeric.
    ValueError
        When the CSR pair is malformed (as in :func:`areas`), ``lines`` does not have shape (K, 3) or is not
        finite, or ``rows`` does not have shape (K,) or names a polygon out of range.
    """
    offsets, vertices = _check_csr(offsets, vertices)
    R = len(offsets) - 1
    lines = _as_float_array(lines, "lines", 2)
    if lines.shape[1] != 3:
        raise ValueError(f"lines must have shape (K, 3), got shape {lines.shape}")
    if rows is None:
        if len(lines) != R:
            raise ValueError(f"lines must have shape ({R}, 3) (one line per polygon) when rows is not given, got "
                             f"shape {lines.shape}")
        rows = np.arange(R)
    rows = np.asarray(rows)
    if rows.dtype == bool or not np.issubdtype(rows.dtype, np.integer):
        raise TypeError(f"rows must be an array of polygon indices (integers), got dtype {rows.dtype}")
    if rows.shape != (len(lines),):
        raise ValueError(f"rows must have shape ({len(lines)},) (one polygon per line), got shape {rows.shape}")
    if rows.size and (rows.min() < 0 or rows.max() >= R):
        raise ValueError(f"rows must be polygon indices in [0, {R}), got {rows.min()} to {rows.max()}")
    rows = rows.astype(np.int64)
    if len(rows) == 0:
        return np.zeros((0, 2, 2)), np.zeros(0, dtype=bool)
    V, n = _padded(offsets, vertices, rows)
    s = np.einsum("kij,kj->ki", V, lines[:, :2]) + lines[:, 2:3]
    W = np.roll(V, -1, axis=1)
    sw = np.roll(s, -1, axis=1)
    K = np.arange(len(V))
    W[K, n - 1] = V[K, 0]
    sw[K, n - 1] = s[K, 0]
    real = np.arange(V.shape[1])[None, :] < n[:, None]
    cross = real & (((s > 0) & (sw < 0)) | ((s < 0) & (sw > 0)))
    on = real & (s == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(cross, s / (s - sw), 0.0)
    pts = np.where(cross[..., None], V + f[..., None] * (W - V), np.where(on[..., None], V, np.nan))
    direction = np.stack([-lines[:, 1], lines[:, 0]], axis=1)
    along = np.einsum("kij,kj->ki", pts, direction)
    has = cross | on
    hit = (s.max(axis=1, where=real, initial=-np.inf) > 0) & (s.min(axis=1, where=real, initial=np.inf) < 0)
    a = np.where(has, along, np.inf).argmin(axis=1)
    b = np.where(has, along, -np.inf).argmax(axis=1)
    seg = np.stack([pts[K, a], pts[K, b]], axis=1)
    seg[~hit] = np.nan
    return seg, hit


def clip_halfplanes(offsets, A, b, lo, hi) -> Tuple[np.ndarray, np.ndarray]:
    """The convex polygons ``{t : A_k t <= b_k} & [lo, hi]`` (half-plane intersections clipped to a rectangle).

    Parameters
    ----------
    offsets : array_like of int, shape (K + 1,)
        Rows of polygon ``k`` are ``A[offsets[k]:offsets[k + 1]]`` (CSR; a polygon without rows is the rectangle).
    A : array_like, shape (F, 2), float64
    b : array_like, shape (F,), float64
    lo, hi : float or array_like, shape (2,)
        The clipping rectangle (``lo < hi``).

    Returns
    -------
    offsets : ndarray, shape (K + 1,), int64
    vertices : ndarray, shape (V, 2), float64
        The polygons in CSR form, counter-clockwise; an empty intersection has no vertex.

    Raises
    ------
    TypeError
        When ``offsets`` is not an integer array, or ``A``, ``b``, ``lo`` or ``hi`` is not numeric.
    ValueError
        When ``A`` does not have shape (F, 2), ``b`` shape (F,), ``offsets`` is not a non-decreasing index from 0
        to F, ``lo`` or ``hi`` is neither a number nor of shape (2,), any of them is NaN or infinite, or not
        ``lo < hi``.

    Notes
    -----
    Sutherland-Hodgman clipping of the rectangle by one half-plane after another (Sutherland & Hodgman, "Reentrant
    polygon clipping", CACM 17, 1974), vectorised over the polygons. A vertex on a line counts as inside; repeated
    vertices (zero-length edges) may remain.

    Examples
    --------
    >>> off, v = clip_halfplanes([0, 1], [[1.0, 1.0]], [0.0], -1.0, 1.0)   # the square below x + y = 0
    >>> v.tolist()
    [[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]
    """
    A = _as_float_array(A, "A", None)
    A = A.reshape(0, 2) if A.size == 0 else A
    if A.ndim != 2 or A.shape[1] != 2:
        raise ValueError(f"A must have shape (F, 2), got shape {A.shape}")
    b = _as_float_array(b, "b", None)
    b = b.reshape(0) if b.size == 0 else b
    if b.shape != (len(A),):
        raise ValueError(f"b must have shape ({len(A)},) (one entry per row of A), got shape {b.shape}")
    offsets = _check_offsets(offsets, len(A), "A")
    lo, hi = (_as_float_array(v, name, None) for v, name in ((lo, "lo"), (hi, "hi")))
    for v, name in ((lo, "lo"), (hi, "hi")):
        if v.shape not in ((), (1,), (2,)):
            raise ValueError(f"{name} must be a number or of shape (2,), got shape {v.shape}")
    lo, hi = np.broadcast_to(lo, (2,)), np.broadcast_to(hi, (2,))
    if not np.all(lo < hi):
        raise ValueError(f"lo must be < hi, got {lo.tolist()} and {hi.tolist()}")
    counts = np.diff(offsets)
    K = len(counts)
    V = np.broadcast_to(np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]]), (K, 4, 2)).copy()
    n = np.full(K, 4, dtype=np.int64)
    m = int(counts.max()) if K else 0
    rows = np.arange(K)
    for j in range(m):
        has = counts > j
        idx = np.where(has, offsets[:-1] + j, 0)
        a = np.where(has[:, None], A[idx] if len(A) else 0.0, 0.0)
        c = np.where(has, b[idx] if len(b) else 1.0, 1.0)
        s = np.einsum("kij,kj->ki", V, a) - c[:, None]
        W = np.roll(V, -1, axis=1)
        sw = np.roll(s, -1, axis=1)
        last = np.maximum(n - 1, 0)
        W[rows, last] = V[rows, 0]
        sw[rows, last] = s[rows, 0]
        real = np.arange(V.shape[1])[None, :] < n[:, None]
        keep = real & (s <= 0)
        cross = real & (((s < 0) & (sw > 0)) | ((s > 0) & (sw < 0)))
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(cross, s / (s - sw), 0.0)
        P = V + f[..., None] * (W - V)
        out = np.stack([V, P], axis=2).reshape(K, -1, 2)
        mask = np.stack([keep, cross], axis=2).reshape(K, -1)
        order = np.argsort(~mask, axis=1, kind="stable")
        n = mask.sum(axis=1)
        width = max(int(n.max()) if K else 0, 1)
        V = np.take_along_axis(out, order[:, :width, None], axis=1)
    n = np.where(n >= 3, n, 0)
    new_offsets = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
    real = np.arange(V.shape[1])[None, :] < n[:, None]
    return new_offsets, V[real].reshape(-1, 2)
