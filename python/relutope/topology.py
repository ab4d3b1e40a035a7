"""Topology of decision regions: the decision complex, Betti numbers, persistence and class components.

A network's partition of its domain ``D`` into activation regions, refined on every region by the zero sets of the
differences of its output scores, is a polyhedral complex on which every decision set is a subcomplex. This module
builds that complex (:func:`decision_complex`) and answers from it:

- :func:`betti_numbers`: Betti numbers over GF(2) by cellular homology, ``beta_j = n_j - rank d_j - rank d_(j+1)``
  (Hatcher, "Algebraic Topology", 2002, section 2.2, cellular homology of a regular CW complex: every cell of a
  polyhedral complex is a closed ball whose boundary is a union of cells, so over GF(2) the cellular boundary of a
  cell is the sum of its facets);
- :func:`sublevel_persistence`: persistence of the sublevel filtration of an output, lower-star on a triangulation
  of the complex, through GUDHI's :class:`gudhi.SimplexTree` (Edelsbrunner & Harer, "Computational Topology", 2010,
  section VI.3: for a function linear on every simplex the lower-star filtration has the persistence of the
  sublevel sets);
- :func:`class_components`: the connected components of each class region, as labels on the activation regions.

Conventions
-----------
*Scores.* A network with one output ``f`` (a binary classifier's logit) has the scores ``(0, f)``: class 1 is
``{f >= 0}``, class 0 is ``{f <= 0}``. A network with ``m >= 2`` outputs has the scores ``f_0 .. f_(m-1)``.

*Sets.* All sets are taken inside the domain ``D``. The class region of class ``c`` is the *closed* set
``{x in D : f_c(x) >= f_c'(x) for all c'}``; ``"superlevel"`` and ``"sublevel"`` are ``{f >= 0}`` and
``{f <= 0}`` (one output); ``"boundary"`` is the decision boundary, the closed set of points where at least two
classes attain the maximum (``{f = 0}`` for one output); ``"domain"`` is ``D`` itself (its Betti numbers
``(1, 0, ...)`` check the complex). The *open* versions (``open=True``: ``{f > 0}``, ``{f < 0}``, and
``{x : f_c(x) > f_c'(x) for all c' != c}``) can differ: for ``f = |x1| - |x2|`` on a square, ``{f >= 0}`` is
connected (the two cones meet at the origin) and ``{f > 0}`` has two components. An open set is computed as the
full subcomplex on the vertices where the strict inequalities hold: on a cell where the score differences are
affine, ``{g > 0}`` deformation retracts onto the faces whose vertices all have ``g > 0`` (straight-line homotopy
in barycentric coordinates).

*Refinement.* Every activation region is split by the hyperplane ``f_c - f_c' = 0`` of every pair of classes
(one hyperplane for one output) where it crosses the region's interior; a difference that is constant on a region
does not split it. Each resulting cell is a convex polytope; its faces are found from vertex-facet incidences
(every face of a face ``F`` of ``P`` is ``F`` intersected with a facet of ``P``) and identified across cells by
their sets of vertices, the vertices being identified globally within ``vertex_tol`` times the domain's size.
The result is checked: every (k-1)-cell is a facet of one top cell on the domain's boundary or of two inside it,
and the Euler characteristic of the whole complex is 1 (the domain is convex). The cells of a continuous
piecewise-affine function's partition meet face to face (a unit's zero set that reaches a region's facet either
crosses the region or runs along the facet), so the check fails only when the cells do not tile the domain, e.g. a
region thinner than the partition's ``tol`` was not enumerated, or vertices closer than ``vertex_tol`` were
merged: then :class:`~relutope.errors.NumericalError`.

*Whole space.* For :class:`~relutope.WholeSpace` the complex is built on the compactification by a box ``B``: the
bounding box of every vertex of the refined (unbounded) cells, widened on every side by its largest width (by 1
when there is no vertex), and the partition is enumerated anew on ``B``; ``DecisionComplex.compactification``
holds ``B``. The sets reported are then ``S`` intersected with ``B``. Every vertex of the refined cells lies inside
``B``, so outside ``B`` the cells only run off along their recession cones, and ``S`` and ``S`` intersected with
``B`` have the same Betti numbers (the same convention as relucent's truncation at infinity; on the nets of
``bench/compare_relucent.py`` the decision boundaries' Betti numbers agree with relucent's).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._checks import check_bool, check_int
from .domains import Box, WholeSpace
from .errors import NumericalError
from .partition import Partition

__all__ = ["DecisionComplex", "decision_complex", "betti_numbers", "euler_characteristic", "cell_counts",
           "sublevel_persistence", "triangulation", "class_components", "top_cell_polygons", "gf2_rank", "SETS"]

#: Names of the decision sets accepted by :func:`betti_numbers` (besides a class index).
SETS = ("domain", "superlevel", "sublevel", "boundary")

#: Default vertex tolerance, in units of the domain's size (see :func:`decision_complex`).
DEFAULT_VERTEX_TOL = 1e-9


@dataclass
class DecisionComplex:
    """The decision complex of a partition: a polyhedral complex refining the activation regions by the decision
    hyperplanes, with the face relations (made by :func:`decision_complex`).

    Attributes
    ----------
    partition : Partition
        The partition the complex refines (for a :class:`~relutope.WholeSpace` domain: the partition of the
        compactifying box).
    dim : int
        k, the domain's intrinsic dimension (the dimension of the top cells).
    vertices : ndarray, shape (V, k), float64
        Vertices in domain coordinates ``t``.
    vertices_x : ndarray, shape (V, d), float64
        The same vertices in input space.
    scores : ndarray, shape (V, n_classes), float64
        The class scores at every vertex (``(0, f)`` for one output), from the affine map of a region holding it.
    outputs : ndarray, shape (V, m), float64
        The network's outputs at every vertex.
    cells : list of list of tuple of int
        ``cells[j]`` lists the j-cells, each as the sorted tuple of its vertex ids; ``cells[0][i] == (i,)``.
    faces : list of list of tuple of int
        ``faces[j][i]``: the ids of the (j-1)-cells on the boundary of j-cell ``i`` (``faces[0]`` is empty lists).
    region : ndarray, shape (n_k,), int64
        The activation region holding every top cell.
    tolerance : ndarray, shape (V,), float64
        The score tolerance at every vertex: a score difference within it counts as zero.
    compactification : Box or None
        The box on which the complex was built for a :class:`~relutope.WholeSpace` domain.
    seconds : float
        Wall time of the construction.
    """

    partition: Partition
    dim: int
    vertices: np.ndarray
    vertices_x: np.ndarray
    scores: np.ndarray
    outputs: np.ndarray
    cells: List[List[Tuple[int, ...]]]
    faces: List[List[Tuple[int, ...]]]
    region: np.ndarray
    tolerance: np.ndarray
    compactification: Optional[Box] = None
    seconds: float = 0.0
    _membership: Dict = field(default_factory=dict, repr=False)

    @property
    def n_classes(self) -> int:
        """Number of classes (2 for a network with one output)."""
        return int(self.scores.shape[1])

    def __repr__(self) -> str:
        return (f"DecisionComplex(dim={self.dim}, cells={cell_counts(self)}, "
                f"{len(self.partition)} activation regions)")


# ---------------------------------------------------------------------------------------------- construction
def _combos(m: int, k: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(m), k)), dtype=np.int64).reshape(-1, k)


def _cell_vertices(G: np.ndarray, h: np.ndarray, eps: float) -> Tuple[np.ndarray, np.ndarray]:
    """Vertices (V, k) of the bounded polytope ``{v : G v <= h}`` (unit rows) and the incidence (V, m) bool.

    Every k-subset of rows with a well-conditioned matrix is solved; feasible solutions (within ``eps``) are the
    vertices, merged within ``eps``; a row is incident to a vertex when it holds within ``eps``.
    """
    m, k = G.shape
    C = _combos(m, k)
    if len(C) == 0:
        return np.zeros((0, k)), np.zeros((0, m), dtype=bool)
    M = G[C]
    ok = np.abs(np.linalg.det(M)) > 1e-12  # unit rows: |det| bounds the smallest singular value from above
    X = np.linalg.solve(M[ok], h[C[ok]][..., None])[..., 0]
    X = X[np.all(X @ G.T <= h + eps, axis=1)]
    # merge solutions within eps (a vertex on more than k facets is found once per k-subset): keep the first of
    # every group of close points
    close = np.max(np.abs(X[:, None, :] - X[None, :, :]), axis=2) <= eps
    V = X[~np.any(np.tril(close, -1), axis=1)]
    return V, np.abs(V @ G.T - h) <= eps


def _cells_vertices(Gs: Sequence[np.ndarray], hs: Sequence[np.ndarray], eps: float) -> List[Tuple[np.ndarray,
                                                                                                 np.ndarray]]:
    """:func:`_cell_vertices` of many polytopes at once: numpy over every polytope with the same number of rows
    (in chunks), one determinant, solve and merge for all their k-subsets, instead of a call per polytope."""
    out: List[Optional[Tuple[np.ndarray, np.ndarray]]] = [None] * len(Gs)
    groups: Dict[Tuple[int, int], List[int]] = {}
    for i, G in enumerate(Gs):
        groups.setdefault(G.shape, []).append(i)
    for (m, k), members in groups.items():
        C = _combos(m, k)
        if len(C) == 0:
            for i in members:
                out[i] = np.zeros((0, k)), np.zeros((0, m), dtype=bool)
            continue
        step = max(1, (1 << 21) // (len(C) * (k * k + m)))  # polytopes per chunk: a few tens of MB of arrays
        for at in range(0, len(members), step):
            ids = members[at:at + step]
            G, h = np.stack([Gs[i] for i in ids]), np.stack([hs[i] for i in ids])  # (P, m, k), (P, m)
            M = G[:, C]  # (P, nC, k, k)
            rr, cc = np.nonzero(np.abs(np.linalg.det(M)) > 1e-12)  # row-major: grouped by polytope, in order
            X = np.linalg.solve(M[rr, cc], h[rr[:, None], C[cc]][..., None])[..., 0]
            feasible = np.all(np.matmul(X[:, None, :], np.swapaxes(G[rr], 1, 2))[:, 0, :] <= h[rr] + eps, axis=1)
            rr, X = rr[feasible], X[feasible]
            counts = np.bincount(rr, minlength=len(ids))
            pos = np.arange(len(rr)) - np.repeat(np.cumsum(counts) - counts, counts)
            Pts = np.full((len(ids), max(int(counts.max(initial=0)), 1), k), np.nan)
            Pts[rr, pos] = X
            valid = ~np.isnan(Pts[:, :, 0])
            close = np.max(np.abs(Pts[:, :, None, :] - Pts[:, None, :, :]), axis=3) <= eps  # NaN: not close
            keep = valid & ~np.any(np.tril(close, -1), axis=2)  # the first of every group of close points
            inc = np.abs(np.matmul(Pts, np.swapaxes(G, 1, 2)) - h[:, None, :]) <= eps
            for j, i in enumerate(ids):
                out[i] = Pts[j][keep[j]], inc[j][keep[j]]
    return out  # type: ignore[return-value]


def _face_lattice(local: Sequence[frozenset], top: frozenset, k: int):
    """Faces of a k-polytope with vertex set ``top`` from the vertex sets ``local`` of its rows (any superset of
    its facets): yields ``(j, face, facets_of_face)`` for every face of dimension ``j >= 1``, top first."""
    stack = [(k, top)]
    seen = {top}
    while stack:
        j, F = stack.pop()
        cand = {F & T for T in local}
        cand.discard(F)
        cand.discard(frozenset())
        facets = [S for S in cand if not any(S < T for T in cand)]
        yield j, F, facets
        if j > 1:
            for S in facets:
                if S not in seen:
                    seen.add(S)
                    stack.append((j - 1, S))


def _pairs(n: int) -> List[Tuple[int, int]]:
    return [(a, b) for a in range(n) for b in range(a + 1, n)]


def _class_scores(A: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Scores' affine maps from the outputs' ((R, m, n), (R, m)): ``(0, f)`` for one output."""
    if A.shape[1] == 1:
        return np.concatenate([np.zeros_like(A), A], axis=1), np.concatenate([np.zeros_like(b), b], axis=1)
    return A, b


def _refined_cells(G, h, dom_row, grads, offs, eps, vertices=None):
    """Split the cell ``{G v <= h}`` by the hyperplanes ``grads[i] . v + offs[i] = 0`` that cross its interior.

    Returns a list of ``(G, h, dom_row, V, incidence)``: the pieces' rows (unit), which rows are the domain's, the
    vertices and the incidence. ``vertices``: the cell's ``(V, incidence)`` when already computed.
    """
    V, inc = _cell_vertices(G, h, eps) if vertices is None else vertices
    cells = [(G, h, dom_row, V, inc)]
    for a, c0 in zip(grads, offs):
        na = float(np.linalg.norm(a))
        if na == 0.0:
            continue
        n, r = a / na, -c0 / na  # the hyperplane n . v = r; the difference is <= 0 on n . v <= r
        out = []
        for cell in cells:
            Gc, hc, dc, Vc, _ = cell
            s = Vc @ n - r
            if len(s) == 0 or s.max() <= eps or s.min() >= -eps:
                out.append(cell)
                continue
            for sign in (1.0, -1.0):
                G2 = np.vstack([Gc, sign * n])
                h2 = np.append(hc, sign * r)
                d2 = np.append(dc, False)
                V2, inc2 = _cell_vertices(G2, h2, eps)
                if len(V2) > Gc.shape[1]:
                    out.append((G2, h2, d2, V2, inc2))
        cells = out
    return cells


def decision_complex(partition: Partition, *, vertex_tol: Optional[float] = None) -> DecisionComplex:
    """The decision complex of a partition (see the module docstring for the construction and conventions).

    Parameters
    ----------
    partition : Partition
        A complete partition of a :class:`~relutope.Box`, :class:`~relutope.Polytope`, bounded
        :class:`~relutope.Slice` or :class:`~relutope.WholeSpace` domain (the last is compactified by a box).
    vertex_tol : float, optional
        Vertex tolerance in units of the domain's size: points closer than it are one vertex, and a row holding
        within it is incident to a vertex. Default: ``DEFAULT_VERTEX_TOL`` (1e-9), or what float64 resolves at the
        domain's coordinates when that is coarser (:func:`relutope.min_tol` over the domain's size: a small box
        far from the origin).

    Returns
    -------
    DecisionComplex

    Raises
    ------
    TypeError
        When ``partition`` is not a Partition.
    ValueError
        When the partition is incomplete, the domain is unbounded and not a WholeSpace, or ``vertex_tol`` is not
        in (0, 1e-3].
    NumericalError
        When the cells do not fit together into a complex (see the module docstring).

    Notes
    -----
    The cost is one vertex enumeration per refined cell: every k-subset of its facet rows is solved (``C(m, k)``
    small systems, vectorised), so it suits low dimensions (k <= 4) and regions with few facets.

    Examples
    --------
    ``f = 1 - |x1| - |x2|`` on ``[-2, 2]^2``: ``{f >= 0}`` is a diamond, ``{f <= 0}`` an annulus.

    >>> import numpy as np, relutope
    >>> from relutope import topology
    >>> W1 = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    >>> net = relutope.Network.from_weights([(W1, np.zeros(4)), (-np.ones((1, 4)), np.ones(1))])
    >>> cx = topology.decision_complex(relutope.enumerate_regions(net, relutope.Box([-2, -2], [2, 2])))
    >>> topology.betti_numbers(cx, "superlevel"), topology.betti_numbers(cx, "sublevel")
    ([1, 0, 0], [1, 1, 0])
    """
    import time

    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    given = vertex_tol is not None
    if given:
        vertex_tol = float(vertex_tol)
        if not (np.isfinite(vertex_tol) and 0 < vertex_tol <= 1e-3):
            raise ValueError(f"vertex_tol must be in (0, 1e-3], got {vertex_tol}")
    if not partition.complete:
        raise ValueError(f"the partition is incomplete (status {partition.status!r}): the decision complex needs "
                         "every region")
    t0 = time.perf_counter()
    dom = partition.domain
    box = None
    if not dom.bounded:
        if not isinstance(dom, WholeSpace):
            raise ValueError(f"an unbounded domain must be a WholeSpace to be compactified, got {dom!r}")
        box = _compactifying_box(partition, vertex_tol if given else _default_vertex_tol(dom))
        from .enumerate import enumerate_regions

        partition = enumerate_regions(partition.network, box)
        if not partition.complete:
            raise ValueError(f"the partition of the compactifying box {box!r} is incomplete "
                             f"(status {partition.status!r})")
    cx = _build(partition, vertex_tol if given else _default_vertex_tol(partition.domain))
    cx.compactification = box
    cx.seconds = time.perf_counter() - t0
    return cx


def _default_vertex_tol(domain) -> float:
    """DEFAULT_VERTEX_TOL, or the float64 resolution at the domain's coordinates in units of its size if coarser."""
    from .enumerate import min_tol

    scale = float(domain._default_scale())
    return max(DEFAULT_VERTEX_TOL, min_tol(domain) / scale) if np.isfinite(scale) and scale > 0 else DEFAULT_VERTEX_TOL


def _region_rows(partition: Partition):
    """Per region: unit rows (F, k) and right-hand sides in the engine frame v, and which rows are the domain's."""
    f = partition.facets()
    frame = partition.domain._engine_frame()
    rhs_v = frame.rhs_to_v(f._rows_u, f.b)
    for i in range(len(partition)):
        s = slice(int(f.offsets[i]), int(f.offsets[i + 1]))
        yield f._rows_u[s], rhs_v[s], f.unit[s] < 0


def _score_maps_v(partition: Partition):
    """Scores' affine maps in v: gradients (R, n, k), offsets (R, n); and the outputs' (R, m, k), (R, m)."""
    frame = partition.domain._engine_frame()
    A, b = partition.affine_maps()
    Av = np.einsum("rmd,dk->rmk", A, frame.form.Q)
    bv = b + np.einsum("rmd,d->rm", A, frame.form.x0)
    Sg, So = _class_scores(Av, bv)
    return Sg, So, Av, bv


def _compactifying_box(partition: Partition, eps: float) -> Box:
    """The box of the WholeSpace compactification (module docstring): every vertex of the refined cells, widened."""
    Sg, So, _, _ = _score_maps_v(partition)
    pairs = _pairs(Sg.shape[1])
    pts = []
    for i, (G, h, _) in enumerate(_region_rows(partition)):
        rows = [(G, h)] + [(np.vstack([G, s * (Sg[i, a] - Sg[i, b])]), np.append(h, -s * (So[i, a] - So[i, b])))
                           for a, b in pairs for s in (1.0, -1.0)]
        for Gr, hr in rows:
            nrm = np.linalg.norm(Gr, axis=1)
            ok = nrm > 0
            V, _ = _cell_vertices(Gr[ok] / nrm[ok, None], hr[ok] / nrm[ok], eps * max(1.0, float(np.abs(hr).max())))
            pts.append(V)
    P = np.vstack(pts) if pts else np.zeros((0, partition.domain.dim))
    d = partition.domain.dim
    if len(P) == 0:
        lo, hi = np.zeros(d), np.zeros(d)
    else:
        lo, hi = P.min(axis=0), P.max(axis=0)
    w = float(np.max(hi - lo)) if len(P) else 0.0
    w = w if w > 0 else max(1.0, float(np.abs(P).max()) if len(P) else 1.0)
    # from the engine frame v (centred on the domain's centre, in units of its size) to the inputs x: for a
    # WholeSpace x = x0 + s v, a translation and a positive scaling, so the box stays a box
    frame = partition.domain._engine_frame()
    corners = frame.form.x0 + np.vstack([lo - w, hi + w]) @ frame.form.Q.T
    return Box(corners.min(axis=0), corners.max(axis=0))


def _build(partition: Partition, eps: float) -> DecisionComplex:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    dom = partition.domain
    k = dom.intrinsic_dim
    frame = dom._engine_frame()
    Sg, So, Av, bv = _score_maps_v(partition)
    n_cls = Sg.shape[1]
    pairs = _pairs(n_cls)
    # 1. refine every region; collect the pieces with local vertices
    pieces = []  # (region, dom_row, V, inc)
    rows = list(_region_rows(partition))
    vertices = _cells_vertices([G for G, _, _ in rows], [h for _, h, _ in rows], eps)  # every region at once
    for i, (G, h, drow) in enumerate(rows):
        grads = [Sg[i, a] - Sg[i, b] for a, b in pairs]
        offs = [So[i, a] - So[i, b] for a, b in pairs]
        for (_, _, d2, V2, inc2) in _refined_cells(G, h, drow, grads, offs, eps, vertices[i]):
            pieces.append((i, d2, V2, inc2))
    if not pieces:
        raise NumericalError("the decision complex has no cell")
    # 2. identify vertices globally (within eps in v, a unit-size frame)
    allV = np.vstack([p[2] for p in pieces])
    owner = np.concatenate([np.full(len(p[2]), j) for j, p in enumerate(pieces)])
    pairs_close = cKDTree(allV).query_pairs(eps, output_type="ndarray")
    n_pts = len(allV)
    adj = coo_matrix((np.ones(len(pairs_close)), (pairs_close[:, 0], pairs_close[:, 1])), shape=(n_pts, n_pts))
    n_vert, gid = connected_components(adj, directed=False)
    first = np.full(n_vert, -1)
    first[gid[::-1]] = np.arange(n_pts)[::-1]
    vert_v = allV[first]
    if np.max(np.abs(allV - vert_v[gid]), initial=0.0) > 4 * eps:
        raise NumericalError(f"vertices chain together over more than {4 * eps:.3g} of the domain's size: "
                             "vertex_tol is too coarse for this partition")
    # 3. scores at the vertices (from the region of a piece holding each) and per-vertex tolerances
    reg_of_pt = np.array([pieces[j][0] for j in owner])
    r0 = reg_of_pt[first]
    scores = np.einsum("vnk,vk->vn", Sg[r0], vert_v) + So[r0]
    outputs = np.einsum("vmk,vk->vm", Av[r0], vert_v) + bv[r0]
    gscale = np.zeros(len(partition))
    for a, b in pairs:
        gscale = np.maximum(gscale, np.linalg.norm(Sg[:, a] - Sg[:, b], axis=1))
    tol = np.zeros(n_vert)
    np.maximum.at(tol, gid, gscale[reg_of_pt])
    tol = 16 * eps * tol + 1e-13 * max(float(np.abs(scores).max(initial=0.0)), 1e-300)
    # 4. face lattices, identified by vertex sets
    cell_id: List[Dict[Tuple[int, ...], int]] = [dict() for _ in range(k + 1)]
    cells: List[List[Tuple[int, ...]]] = [[] for _ in range(k + 1)]
    faces: List[List[Tuple[int, ...]]] = [[] for _ in range(k + 1)]
    for v in range(n_vert):
        cell_id[0][(v,)] = v
        cells[0].append((v,))
        faces[0].append(())
    top_region = []
    boundary_facet = set()
    start = 0
    for j, (reg, drow, V, inc) in enumerate(pieces):
        g = gid[start:start + len(V)]
        start += len(V)
        if len(set(g.tolist())) != len(g):
            raise NumericalError(f"two vertices of a cell of region {reg} are closer than vertex_tol")
        local = [frozenset(g[inc[:, r]].tolist()) for r in range(inc.shape[1])]
        dom_sets = [local[r] for r in range(len(local)) if drow[r]]
        top = frozenset(g.tolist())
        for dim, F, facets in _face_lattice(local, top, k):
            key = tuple(sorted(F))
            if dim < k and cell_id[dim].get(key, -1) != -1:
                continue
            if dim == k and key in cell_id[k]:
                raise NumericalError(f"two cells of the complex have the same vertices (region {reg})")
            fk = []
            for S in facets:
                sk = tuple(sorted(S))
                if dim == k and any(S <= T for T in dom_sets):
                    boundary_facet.add(sk)
                if len(S) == 1:
                    fk.append(sk[0])
                    continue
                if sk not in cell_id[dim - 1]:
                    cell_id[dim - 1][sk] = -1  # placeholder: filled when the face is visited
                fk.append(sk)
            cell_id[dim][key] = len(cells[dim])
            cells[dim].append(key)
            faces[dim].append(tuple(fk))
            if dim == k:
                top_region.append(reg)
    # resolve face keys to ids
    for dim in range(2, k + 1):
        ids = cell_id[dim - 1]
        faces[dim] = [tuple(ids[s] for s in fk) for fk in faces[dim]]
    if any(v == -1 for dmap in cell_id for v in dmap.values()):
        raise NumericalError("a face of a cell was not reached by the face enumeration")
    vert_t = frame.to_u(vert_v) @ dom._engine_form().Rinv.T
    cx = DecisionComplex(partition, k, vert_t, frame.form.x0 + vert_v @ frame.form.Q.T, scores, outputs, cells, faces,
                         np.asarray(top_region, dtype=np.int64), tol)
    _check(cx, boundary_facet, cell_id)
    return cx


def _check(cx: DecisionComplex, boundary_facet: set, cell_id) -> None:
    """Pseudo-manifold check of the top cells' facets and Euler characteristic 1 of the (convex) domain."""
    k = cx.dim
    if k >= 1:
        count = np.zeros(len(cx.cells[k - 1]), dtype=np.int64)
        for fk in cx.faces[k]:
            count[list(fk)] += 1
        on_bd = np.zeros(len(count), dtype=bool)
        for sk in boundary_facet:
            on_bd[sk[0] if k == 1 else cell_id[k - 1][sk]] = True
        bad = np.flatnonzero(~(((count == 1) & on_bd) | ((count == 2) & ~on_bd)))
        if bad.size:
            i = int(bad[0])
            raise NumericalError(
                f"the cells do not fit together: {bad.size} facet(s) of top cells are shared by the wrong number "
                f"of cells (e.g. the {k - 1}-cell with vertices {cx.vertices[list(cx.cells[k - 1][i])].tolist()} is "
                f"in {int(count[i])}, {'on' if on_bd[i] else 'off'} the domain's boundary); the regions do not tile "
                "the domain (a region thinner than the partition's tol missing?) or vertex_tol merged vertices")
    chi = euler_characteristic(cx)
    if chi != 1:
        raise NumericalError(f"the decision complex of the convex domain has Euler characteristic {chi}, not 1")


# ---------------------------------------------------------------------------------------------- subcomplexes
def _check_complex(cx) -> None:
    if not isinstance(cx, DecisionComplex):
        raise TypeError(f"cx must be a DecisionComplex (from topology.decision_complex), got {type(cx).__name__}")


def _vertex_mask(cx: DecisionComplex, which, open: bool) -> np.ndarray:
    """Which vertices satisfy the set's (strict, when ``open``) inequalities, shape (V,) bool; for "boundary" a
    (V, n_pairs) matrix of vertices in both classes of each pair."""
    check_bool(open, "open")
    S, tol = cx.scores, cx.tolerance[:, None]
    top = S.max(axis=1, keepdims=True)
    if isinstance(which, (int, np.integer)):
        c = int(which)
        if not 0 <= c < cx.n_classes:
            raise ValueError(f"which, a class index, must be in [0, {cx.n_classes}), got {c}")
        if open:
            others = np.delete(S, c, axis=1).max(axis=1) if cx.n_classes > 1 else np.full(len(S), -np.inf)
            return S[:, c] > others + tol[:, 0]
        return S[:, c] >= top[:, 0] - tol[:, 0]
    if which == "domain":
        return np.ones(len(S), dtype=bool)
    if which in ("superlevel", "sublevel"):
        if cx.outputs.shape[1] != 1:
            raise ValueError(f"{which!r} needs a network with one output; this one has {cx.outputs.shape[1]} "
                             "(use a class index)")
        return _vertex_mask(cx, 1 if which == "superlevel" else 0, open)
    if which == "boundary":
        if open:
            raise ValueError("the decision boundary is a closed set: open=True does not apply to 'boundary'")
        inc = S >= top - tol
        return np.stack([inc[:, a] & inc[:, b] for a, b in _pairs(cx.n_classes)], axis=1)
    raise ValueError(f"which must be one of {SETS} or a class index in [0, {cx.n_classes}), got {which!r}")


def _subcomplex(cx: DecisionComplex, which, open: bool = False) -> List[np.ndarray]:
    """Which cells of every dimension lie in the set: a list of (n_j,) bool masks."""
    if isinstance(which, (bool, np.bool_)) or not isinstance(which, (str, int, np.integer)):
        raise TypeError(f"which must be a set name {SETS} or a class index (an int), got {type(which).__name__}")
    key = (which if not isinstance(which, np.integer) else int(which), bool(open))
    if key in cx._membership:
        return cx._membership[key]
    mask = _vertex_mask(cx, which, open)
    out = []
    for j in range(cx.dim + 1):
        if mask.ndim == 1:
            out.append(np.array([bool(mask[list(c)].all()) for c in cx.cells[j]], dtype=bool))
        else:
            out.append(np.array([bool(mask[list(c)].all(axis=0).any()) for c in cx.cells[j]], dtype=bool))
    cx._membership[key] = out
    return out


def _top_cells(cx: DecisionComplex, which, open: bool) -> np.ndarray:
    """The top cells whose relative interior lies in the set, shape (n_k,) bool.

    For a closed set these are the top cells of its subcomplex. For an open class region (strict inequalities)
    they are the top cells of the closed region on which no score difference ``f_c - f_c'`` vanishes identically
    (some vertex has it above tolerance): the open set is dense in them, and each retracts onto its vertices where
    the strict inequalities hold.
    """
    closed = _subcomplex(cx, which, False)[cx.dim]
    if not open:
        return closed
    c = _class_index(cx, which)
    S, tol = cx.scores, cx.tolerance
    out = closed.copy()
    for t in np.flatnonzero(closed):
        vs = list(cx.cells[cx.dim][t])
        diff = S[vs, c][:, None] - np.delete(S[vs], c, axis=1)
        out[t] = bool(np.all(np.any(diff > tol[vs, None], axis=0)))
    return out


def _class_index(cx: DecisionComplex, which) -> int:
    if isinstance(which, (int, np.integer)) and not isinstance(which, (bool, np.bool_)):
        return int(which)
    if which in ("superlevel", "sublevel"):
        return 1 if which == "superlevel" else 0
    raise ValueError(f"open=True applies to a class region or 'superlevel'/'sublevel', got {which!r}")


def gf2_rank(columns: Sequence[int]) -> int:
    """Rank over GF(2) of a matrix given by its columns as bit masks (Python ints; bit i = row i).

    Gaussian elimination on the columns' highest set bits (the column reduction of persistence algorithms:
    Edelsbrunner & Harer, "Computational Topology", 2010, section VII.1), one XOR of Python ints per step.

    Raises
    ------
    TypeError
        When a column is not a non-negative int.

    Examples
    --------
    >>> gf2_rank([0b011, 0b110, 0b101])   # the boundary of a triangle: rank 2 over GF(2)
    2
    """
    pivots: Dict[int, int] = {}
    rank = 0
    for c in columns:
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or c < 0:
            raise TypeError(f"columns must hold non-negative int bit masks, got {c!r}")
        c = int(c)
        while c:
            hb = c.bit_length() - 1
            p = pivots.get(hb)
            if p is None:
                pivots[hb] = c
                rank += 1
                break
            c ^= p
    return rank


def cell_counts(cx: DecisionComplex, which="domain", open: bool = False) -> List[int]:
    """Number of cells of every dimension in a set of the decision complex.

    Parameters
    ----------
    cx : DecisionComplex
    which, open
        The set, as in :func:`betti_numbers` (default: the whole domain).

    Returns
    -------
    list of int, length k + 1
        ``n_0 .. n_k``: the set's vertices, edges, ..., k-cells.

    Raises
    ------
    TypeError, ValueError
        As :func:`betti_numbers`.
    """
    _check_complex(cx)
    return [int(m.sum()) for m in _subcomplex(cx, which, open)]


def euler_characteristic(cx: DecisionComplex, which="domain", open: bool = False) -> int:
    """The Euler characteristic ``sum_j (-1)^j n_j`` of a set's cells: the check on :func:`betti_numbers` (their
    alternating sum is the same number; Hatcher, "Algebraic Topology", 2002, Theorem 2.44).

    Parameters
    ----------
    cx : DecisionComplex
    which, open
        The set, as in :func:`betti_numbers` (default: the whole domain, whose characteristic is 1).

    Returns
    -------
    int

    Raises
    ------
    TypeError, ValueError
        As :func:`betti_numbers`.
    """
    return int(sum((-1) ** j * n for j, n in enumerate(cell_counts(cx, which, open))))


def betti_numbers(cx: DecisionComplex, which="superlevel", *, open: bool = False) -> List[int]:
    """Betti numbers over GF(2) of a decision set, by cellular homology of the decision complex.

    Parameters
    ----------
    cx : DecisionComplex
    which : {"superlevel", "sublevel", "boundary", "domain"} or int, optional
        The set (module docstring): ``{f >= 0}``, ``{f <= 0}`` (one output), the decision boundary, the domain,
        or the closed region of class ``c``.
    open : bool, optional
        The open set instead (``{f > 0}``, ``{f < 0}``, the open class region); not for "boundary" or "domain".

    Returns
    -------
    list of int, length k + 1
        ``beta_0 .. beta_k``, with ``beta_j = n_j - rank d_j - rank d_(j+1)`` over the set's cells (Hatcher 2002,
        section 2.2). Their alternating sum equals :func:`euler_characteristic` of the same set. An empty set has
        all zeros.

    Raises
    ------
    TypeError, ValueError
        When ``cx`` is not a DecisionComplex, or ``which`` is unknown or does not apply to the network.

    Examples
    --------
    ``f = |x1| - |x2|``: the closed set ``{f >= 0}`` is connected, the open ``{f > 0}`` has two components.

    >>> import numpy as np, relutope
    >>> from relutope import topology
    >>> W1 = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    >>> net = relutope.Network.from_weights([(W1, np.zeros(4)), (np.array([[1.0, 1, -1, -1]]), np.zeros(1))])
    >>> cx = topology.decision_complex(relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1])))
    >>> topology.betti_numbers(cx, "superlevel"), topology.betti_numbers(cx, "superlevel", open=True)
    ([1, 0, 0], [2, 0, 0])
    """
    _check_complex(cx)
    if which == "domain" and open:
        raise ValueError("open=True does not apply to 'domain'")
    masks = _subcomplex(cx, which, open)
    k = cx.dim
    n = [int(m.sum()) for m in masks]
    ranks = [0] * (k + 2)
    for j in range(1, k + 1):
        idx = np.full(len(masks[j - 1]), -1, dtype=np.int64)
        idx[masks[j - 1]] = np.arange(n[j - 1])
        cols = []
        for c in np.flatnonzero(masks[j]):
            bits = 0
            for f in cx.faces[j][c]:
                bits ^= 1 << int(idx[f])
            cols.append(bits)
        ranks[j] = gf2_rank(cols)
    return [n[j] - ranks[j] - ranks[j + 1] for j in range(k + 1)]


# ---------------------------------------------------------------------------------------------- persistence
def triangulation(cx: DecisionComplex) -> List[Tuple[int, ...]]:
    """A triangulation of the complex with its vertices: the pulling triangulation (every cell coned from its
    lowest vertex id over the triangulations of its facets that miss that vertex; De Loera, Rambau & Santos,
    "Triangulations", 2010, section 4.3), consistent on shared faces.

    Parameters
    ----------
    cx : DecisionComplex

    Returns
    -------
    list of tuple of int
        The top-dimensional simplices (k + 1 vertex ids each).

    Raises
    ------
    TypeError
        When ``cx`` is not a :class:`DecisionComplex`.
    """
    _check_complex(cx)
    memo: List[Dict[int, List[Tuple[int, ...]]]] = [dict() for _ in range(cx.dim + 1)]

    def tri(j: int, i: int) -> List[Tuple[int, ...]]:
        if j == 0:
            return [cx.cells[0][i]]
        got = memo[j].get(i)
        if got is not None:
            return got
        apex = cx.cells[j][i][0]
        out = []
        for f in cx.faces[j][i]:
            if apex in cx.cells[j - 1][f]:
                continue
            out.extend((apex,) + s for s in tri(j - 1, f))
        memo[j][i] = out
        return out

    simplices: List[Tuple[int, ...]] = []
    for i in range(len(cx.cells[cx.dim])):
        simplices.extend(tri(cx.dim, i))
    return simplices


def sublevel_persistence(cx: DecisionComplex, output: int = 0) -> List[Tuple[int, Tuple[float, float]]]:
    """Persistence over GF(2) of the sublevel filtration ``{x in D : f(x) <= t}`` of one output.

    The output is affine on every cell, so the lower-star filtration of a triangulation of the complex with the
    same vertices (:func:`triangulation`; a simplex enters at the largest value of ``f`` at its vertices) has the
    persistence of the sublevel sets (Edelsbrunner & Harer 2010, section VI.3). Computed by
    :class:`gudhi.SimplexTree` (imported here; ``pip install relutope[topology]``).

    Parameters
    ----------
    cx : DecisionComplex
    output : int, optional
        The network output ``f`` (default 0, the logit of a one-output network).

    Returns
    -------
    list of (int, (float, float))
        ``(dimension, (birth, death))`` pairs as :meth:`gudhi.SimplexTree.persistence` gives them; an essential
        class dies at ``inf``. Values are in the output's units.

    Raises
    ------
    TypeError, ValueError
        When ``cx`` is not a DecisionComplex, or ``output`` is not an int or is out of range.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope import topology
    >>> W1 = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    >>> net = relutope.Network.from_weights([(W1, np.zeros(4)), (np.ones((1, 4)), np.zeros(1))])
    >>> cx = topology.decision_complex(relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1])))
    >>> topology.sublevel_persistence(cx)      # |x1| + |x2|: one component born at the minimum 0
    [(0, (0.0, inf))]
    """
    _check_complex(cx)
    m = cx.outputs.shape[1]
    output = check_int(output, "output", 0, m - 1)
    import gudhi

    f = cx.outputs[:, output]
    st = gudhi.SimplexTree()
    low = float(f.min())
    for s in triangulation(cx):
        st.insert(list(s), low)
    for v in range(len(f)):
        st.assign_filtration([v], float(f[v]))
    st.make_filtration_non_decreasing()
    return [(int(d), (float(b), float(e))) for d, (b, e) in st.persistence(homology_coeff_field=2,
                                                                          persistence_dim_max=True)]


# ---------------------------------------------------------------------------------------------- components
def class_components(cx: DecisionComplex, which=1, *, open: bool = False) -> Tuple[np.ndarray, int]:
    """Connected components of a decision set, as labels on the activation regions.

    Parameters
    ----------
    cx : DecisionComplex
    which : int or {"superlevel", "sublevel", "boundary", "domain"}, optional
        The set, as in :func:`betti_numbers` (default: class 1, i.e. ``{f >= 0}`` for one output).
    open : bool, optional
        The open set instead.

    Returns
    -------
    labels : ndarray, shape (R,), int64
        For every activation region of ``cx.partition``, the component (0 .. n-1) of the set holding the region's
        part of it, or -1 when the region meets the set in no full-dimensional cell (an activation region meets a
        closed class region in a convex set, and an open one in a relatively open convex set, so in one component
        at most). Components are numbered in the order of
        their lowest vertex id.
    n : int
        The number of components, ``betti_numbers(cx, which, open=open)[0]``.

    Raises
    ------
    TypeError, ValueError
        As :func:`betti_numbers`.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    _check_complex(cx)
    masks = _subcomplex(cx, which, open)
    V = len(cx.cells[0])
    inside = masks[0]
    edges = (np.array([cx.cells[1][e] for e in np.flatnonzero(masks[1])], dtype=np.int64).reshape(-1, 2)
             if cx.dim >= 1 else np.zeros((0, 2), dtype=np.int64))
    adj = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(V, V))
    _, comp = connected_components(adj, directed=False)
    # renumber the components of the set's vertices 0..n-1 in order of lowest vertex id
    ids = np.full(V, -1, dtype=np.int64)
    uniq, first = np.unique(comp[inside], return_index=True)
    order = np.argsort(first)
    relabel = {int(u): r for r, u in enumerate(uniq[order])}
    ids[inside] = [relabel[int(c)] for c in comp[inside]]
    labels = np.full(len(cx.partition), -1, dtype=np.int64)
    for t in np.flatnonzero(_top_cells(cx, which, open)):
        reg = int(cx.region[t])
        vs = [v for v in cx.cells[cx.dim][t] if inside[v]]
        lab = int(ids[vs[0]])
        if labels[reg] not in (-1, lab):
            raise NumericalError(f"region {reg} meets two components of one class region")
        labels[reg] = lab
    return labels, len(uniq)


def top_cell_polygons(cx: DecisionComplex, which=None, open: bool = False) -> Tuple[List[np.ndarray], np.ndarray]:
    """The top cells of a 2-D complex as counter-clockwise polygons in domain coordinates (for drawing).

    Parameters
    ----------
    cx : DecisionComplex
        Of a two-dimensional domain.
    which : str or int, optional
        A set as in :func:`betti_numbers` (a name of ``SETS`` or a class index); default all top cells.
    open : bool, optional
        The open class region (strict inequalities) instead of the closed one; needs ``which``.

    Returns
    -------
    polygons : list of ndarray, each (n_i, 2), float64
        The vertices of every cell, counter-clockwise.
    cells : ndarray, shape (P,), int64
        The indices of the top cells they are.

    Raises
    ------
    TypeError
        When ``cx`` is not a :class:`DecisionComplex`, or ``which`` is neither a string nor an int.
    ValueError
        When the complex is not two-dimensional, ``which`` names no set or class, a set needs a one-output network
        (``"superlevel"``, ``"sublevel"``), or ``open=True`` is given without a class region or level set.
    """
    _check_complex(cx)
    if cx.dim != 2:
        raise ValueError(f"cx must be a two-dimensional complex for polygons, got dimension {cx.dim}")
    if which is None and open:
        raise ValueError("open=True applies to a class region or 'superlevel'/'sublevel': pass which")
    sel = (np.flatnonzero(_top_cells(cx, which, open)) if which is not None
           else np.arange(len(cx.cells[2])))
    polys = []
    for t in sel:
        P = cx.vertices[list(cx.cells[2][t])]
        c = P.mean(axis=0)
        polys.append(P[np.argsort(np.arctan2(P[:, 1] - c[1], P[:, 0] - c[0]))])
    return polys, sel
