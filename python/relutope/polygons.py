"""Convex polygons of partitions of planar domains: CSR storage, areas, shared edges and line clipping.

The regions of a :class:`~relutope.Partition` of a two-dimensional domain are convex polygons. relutope keeps
them as one CSR pair, ``offsets`` (R+1,) int64 and ``vertices`` (V, 2) float64: the vertices of region ``i`` are
``vertices[offsets[i]:offsets[i + 1]]``, counter-clockwise, in domain coordinates ``t``. The 2-D fast path of
:func:`~relutope.enumerate_regions` returns them; :meth:`Partition.polygons` computes them for other partitions.
The functions here work on that form with numpy only, padding the polygons to a common vertex count so that every
step is vectorised over regions.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

__all__ = ["to_csr", "from_csr", "areas", "shared_edges", "clip_lines", "clip_halfplanes"]


def to_csr(polygons: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """Pack a list of (n_i, 2) vertex arrays into ``offsets`` (R+1,) int64 and ``vertices`` (V, 2) float64."""
    counts = np.array([len(p) for p in polygons], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    vertices = (np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons])
                if len(polygons) else np.zeros((0, 2)))
    return offsets, vertices


def from_csr(offsets: np.ndarray, vertices: np.ndarray) -> List[np.ndarray]:
    """The polygons of a CSR pair as a list of (n_i, 2) float64 arrays (views into ``vertices``)."""
    return [vertices[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def _padded(offsets: np.ndarray, vertices: np.ndarray, rows=None) -> Tuple[np.ndarray, np.ndarray]:
    """Polygons padded to a common count by repeating their last vertex: (R, n_max, 2) and the counts (R,)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    if rows is not None:
        offsets, counts = offsets[rows], counts[rows]
    else:
        offsets = offsets[:-1]
    n_max = int(counts.max()) if counts.size else 0
    k = np.arange(n_max)
    idx = offsets[:, None] + np.minimum(k[None, :], counts[:, None] - 1)
    return vertices[idx], counts


def areas(offsets, vertices) -> np.ndarray:
    """Signed areas (R,) float64 of CSR polygons (shoelace formula relative to each ring's first vertex; positive
    when counter-clockwise)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    vertices = np.asarray(vertices, dtype=np.float64)
    if len(offsets) <= 1:
        return np.zeros(0)
    region = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    nxt = np.arange(len(vertices)) + 1
    nxt[offsets[1:] - 1] = offsets[:-1]  # the last vertex of each ring wraps to its first
    rel = vertices - vertices[offsets[:-1]][region]  # relative to each ring's first vertex: no cancellation
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
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    vertices = np.asarray(vertices, dtype=np.float64)
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
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    vertices = np.asarray(vertices, dtype=np.float64)
    lines = np.asarray(lines, dtype=np.float64).reshape(-1, 3)
    if rows is None:
        rows = np.arange(len(offsets) - 1)
    rows = np.asarray(rows, dtype=np.int64)
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
    offsets = np.asarray(offsets, dtype=np.int64)
    A = np.asarray(A, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (2,))
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (2,))
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
