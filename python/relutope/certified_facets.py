"""Certified facets and adjacency: every facet, redundant row and shared facet of a partition proven exactly.

For each region, the exact H-representation is composed from its activation pattern in rational arithmetic
(:func:`exact_region_halfspaces`: the network's float64 weights and the domain's data taken as the exact binary
fractions they are, as :func:`relutope.exact.exact_affine_map` does). Every row of it is then proven, with a
certificate checked exactly (:mod:`relutope.exact_lp`):

- a **facet**: an exact point on the row's hyperplane strictly inside every other row (the domain's rows among
  them), so a small (k-1)-ball around it in the hyperplane lies in the region's closure; rows that are positive
  multiples of each other (one hyperplane with one side, e.g. duplicate units) form one facet;
- **redundant**: a multiplier vector ``y >= 0`` over the rows off its hyperplane with ``y^T A = a_f`` and
  ``y^T b <= b_f`` (weak duality: the others imply it); a row ``0 <= b_f`` with ``b_f >= 0`` is redundant with
  ``y = 0``.

The floating-point facets of :meth:`Partition.facets` are the hints: the facet point of a float facet, projected
exactly onto the exact hyperplane, usually proves it at once; a float non-facet is usually proven redundant by
the domain's box bound (no LP) or by an exact LP over the proven facets alone. Whatever a hint does not prove is
re-decided exactly (an exact LP over all other rows, then an exact Chebyshev LP on the hyperplane), and a float
decision the exact one contradicts is reported as a finding.

:func:`certify_adjacency` then proves, for every facet inside the domain, that a listed region lies across it.
Exactly one region does: at a point of the facet's relative interior every unit's pieces tied there are equal on
the whole hyperplane (an affine function <= 0 on the facet and 0 at a relative-interior point is 0 on its affine
hull), so the pattern just across, decided by values then slopes along the normal, is the same at every such
point, and its region's closure holds the whole facet; a facet split among several regions on its other side does
not occur. That pattern is computed exactly at the facet's exact point (:func:`_pattern_across`), with the
patterns that set every unit of the facet's hyperplane to its piece across. A listed candidate that differs from
the region only at units whose two pieces are equal on the hyperplane (the facet's units, or units tied on the
whole region, such as a dead unit that wakes up across) has, layer by layer, the same composed maps there, hence
the same rows there: the facet is a facet of the neighbour too, the whole of it ("flip"). The shared facet point
is checked exactly against the neighbour's own rows as well. Another neighbour is proven by exact LPs ("lp"): a
point of the shared relative interior, and each of its rows implied on the facet.

:func:`certified_completeness` combines both with :func:`relutope.certificates.certify_witnesses`: when every
listed region exists, every row of every region is decided, and every interior facet is covered by a listed
neighbour, the closed regions cover the domain: a point of the domain outside their union could be joined to a
region's interior by a generic segment, whose last exit from the union would lie in the relative interior of an
interior facet with no region beyond. No region of the network on the domain, however thin, is then missing.

Memory: the exact rows and certificates of every region are kept (for small networks; the counts are what
large runs report). Cost: exact rationals, meant for small nets and for re-deciding the few rows floating point
cannot.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ._checks import check_domain, check_indices
from .errors import NumericalError

__all__ = ["ExactHalfspaces", "exact_region_halfspaces", "ExactRegionFacets", "FacetCertificate", "certify_facets",
           "AdjacencyCertificate", "certify_adjacency", "certified_completeness"]

FACET, REDUNDANT, FAILED = "facet", "redundant", "failed"


def _flint():
    from .exact_lp import _flint as get  # cached there

    return get()


# ---------------------------------------------------------------------------------------------------------------
# exact H-representation of a pattern


@dataclass
class ExactHalfspaces:
    """The exact H-representation ``A t <= b`` of one activation pattern's region, in domain coordinates ``t``.

    Attributes
    ----------
    A : ndarray of flint.fmpq, shape (n, k)
    b : ndarray of flint.fmpq, shape (n,)
    unit : ndarray, shape (n,), int64
        Source of each row: a global unit index, or ``-1 - i`` for row ``i`` of :meth:`Domain.constraints`.
    piece : ndarray, shape (n,), int8
        The competing piece ``s`` of the unit (row ``f_s - f_p <= 0``, ``p`` the pattern's piece); -1 for domain
        rows.
    """

    A: np.ndarray
    b: np.ndarray
    unit: np.ndarray
    piece: np.ndarray

    def __len__(self) -> int:
        return int(self.b.shape[0])


def exact_region_halfspaces(network, domain, pattern) -> ExactHalfspaces:
    """The exact rows of the region of ``pattern`` on ``domain``: domain rows, then one row per unit and piece.

    In the domain's coordinates ``t``, each row labelled with its source; :func:`relutope.exact.exact_halfspaces`
    gives the unit rows alone, in input space, without the domain.

    Parameters
    ----------
    network : Network
    domain : Domain
        Its constraints ``A t <= b`` and parametrization ``x = origin + basis @ t`` are taken exactly.
    pattern : array_like of int, shape (n_units,)

    Returns
    -------
    ExactHalfspaces
        Domain rows first (``unit = -1 - i``), then for every unit ``u`` with chosen piece ``p`` and every other
        piece ``s`` the row ``(f_s - f_p)(t) <= 0``, where ``f_r`` is piece ``r`` composed exactly through the
        earlier layers' chosen pieces (Balestriero & Baraniuk, ICML 2018, Eq. 9). Ties go to the lowest piece in
        :meth:`Network.forward`; a row that is identically ``0 <= 0`` (a persistent tie) is kept.

    Raises
    ------
    TypeError, ValueError
        As :func:`relutope.exact.exact_affine_map`.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.certified_facets import exact_region_halfspaces
    >>> net = relutope.Network.from_weights([(np.array([[1.0, 0.0]]), np.array([-0.5])),
    ...                                      (np.ones((1, 1)), np.zeros(1))])
    >>> H = exact_region_halfspaces(net, relutope.Box([0, 0], [1, 1]), [1, 0])
    >>> H.A[-1].tolist(), H.b[-1], H.unit.tolist()
    ([-1, 0], -1/2, [-1, -2, -3, -4, 0])
    """
    from .domains import Domain
    from .exact import _check_pattern

    pat = _check_pattern(network, pattern)
    check_domain(domain)
    return _halfspaces(_exact_data(network, domain), pat)


def exact_halfspaces(network, domain, pattern) -> ExactHalfspaces:
    """Deprecated name of :func:`exact_region_halfspaces` (it was easily confused with
    :func:`relutope.exact.exact_halfspaces`, which gives input-space rows without the domain).

    Warns
    -----
    DeprecationWarning
        Always; then it returns and raises as :func:`exact_region_halfspaces`.
    """
    import warnings

    warnings.warn("relutope.certified_facets.exact_halfspaces is deprecated: use exact_region_halfspaces",
                  DeprecationWarning, stacklevel=2)
    return exact_region_halfspaces(network, domain, pattern)


def _exact_data(network, domain):
    """The network's layers and the domain's data as exact rationals, converted once for many patterns."""
    from .exact import _column, _rational_layers, _rational_matrix, to_rational

    Ad, bd = domain.constraints()
    origin, basis = domain.parametrization()
    dom_rows = [list(r) for r in to_rational(Ad).tolist()] if Ad.shape[0] else []
    dom_rhs = to_rational(bd).tolist() if Ad.shape[0] else []
    return (network, _rational_layers(network), dom_rows, dom_rhs,
            _rational_matrix(np.ascontiguousarray(basis, dtype=np.float64)), _column(to_rational(origin).tolist()),
            basis.shape[1])


def _halfspaces(data, pat) -> ExactHalfspaces:
    from .exact import _pattern_rows

    network, rational, dom_rows, dom_rhs, M, v, k = data
    rows: List[list] = [list(r) for r in dom_rows]
    rhs: list = list(dom_rhs)
    units: list = [-1 - i for i in range(len(rows))]
    pieces: list = [-1] * len(rows)
    for unit, s, _, row, h in _pattern_rows(network, pat, M, v, rational):
        rows.append(list(row))
        rhs.append(h)
        units.append(unit)
        pieces.append(s)
    A = np.empty((len(rows), k), dtype=object)
    for i, r in enumerate(rows):
        A[i, :] = r
    b = np.empty(len(rhs), dtype=object)
    b[:] = rhs
    return ExactHalfspaces(A, b, np.array(units, dtype=np.int64), np.array(pieces, dtype=np.int8))


# ---------------------------------------------------------------------------------------------------------------
# facets of one region


@dataclass
class ExactRegionFacets:
    """The exact decision of every row of one region (made by :func:`certify_facets`).

    Attributes
    ----------
    index : int
        The region's index in its partition.
    halfspaces : ExactHalfspaces
        Its exact rows.
    group : ndarray, shape (n,), int64
        The hyperplane class of each row (rows that are positive multiples of each other share one); -1 for rows
        ``0 <= b_i``.
    status : ndarray, shape (n,), object
        ``"facet"``, ``"redundant"`` or ``"failed"`` per row (a facet's duplicates are ``"facet"`` too).
    facets : dict of int to ndarray of flint.fmpq
        Per facet class, its exact relative-interior point (k,): on the class's hyperplane, strictly inside every
        other row.
    certificates : dict of int to dict of int to flint.fmpq
        Per redundant row, its multipliers ``{row: y}`` (``y > 0``, rows off its hyperplane; empty for a row
        ``0 <= b_f``, ``b_f >= 0``).
    how : dict of int to str
        Per class, how it was decided: ``"point"`` (the float facet point, projected exactly), ``"box"`` (the
        domain box bound), ``"bbox"`` (the region's exact bounding box, from ``2 k`` exact LPs over the proven
        facets), ``"facets"`` (exact LP over the proven facets), ``"lp"`` (exact LPs over all rows).
    float_facet : dict of int to int
        Per class, the index (into the partition's :class:`~relutope.geometry.Facets` arrays) of the float facet
        that names one of its sources, when there is one.
    """

    index: int
    halfspaces: ExactHalfspaces
    group: np.ndarray
    status: np.ndarray
    facets: Dict[int, np.ndarray] = field(default_factory=dict)
    certificates: Dict[int, Dict[int, object]] = field(default_factory=dict)
    how: Dict[int, str] = field(default_factory=dict)
    float_facet: Dict[int, int] = field(default_factory=dict)

    def sources(self, g: int) -> List[Tuple[int, int]]:
        """The (unit, piece) sources of class ``g`` (``unit < 0``: a domain row, piece -1)."""
        rows = np.nonzero(self.group == g)[0]
        return [(int(self.halfspaces.unit[i]), int(self.halfspaces.piece[i])) for i in rows]

    def on_boundary(self, g: int) -> bool:
        """Whether facet class ``g`` lies on a domain row (its hyperplane is part of the domain's boundary)."""
        return bool(np.any(self.halfspaces.unit[self.group == g] < 0))


def _row_key(a: list, bi):
    """Canonical form of a row up to a positive factor (None for a zero row), as (numerator, denominator) pairs
    (hashing fmpq pairs is much faster than hashing fmpq)."""
    j = next((j for j, v in enumerate(a) if v != 0), None)
    if j is None:
        return None, None
    lam = abs(a[j])
    key = tuple((w.p, w.q) for w in (v / lam for v in a)) + (((bi / lam).p, (bi / lam).q),)
    return key, lam


class _Region:
    """Exact rows of one region with fmpq_mat helpers."""

    def __init__(self, H: ExactHalfspaces):
        flint = _flint()
        self.H = H
        self.n, self.k = H.A.shape
        self.rows = [list(r) for r in H.A.tolist()]
        self.b = H.b.tolist()
        self.M = flint.fmpq_mat(self.n, self.k, [v for r in self.rows for v in r]) if self.n else None
        self.group = np.full(self.n, -1, dtype=np.int64)
        self.scale: List[object] = [None] * self.n     # row = scale * representative of its class
        keys: dict = {}
        self.keys = keys
        self.members: List[List[int]] = []
        for i in range(self.n):
            key, lam = _row_key(self.rows[i], self.b[i])
            if key is None:
                continue
            g = keys.get(key)
            if g is None:
                g = keys[key] = len(self.members)
                self.members.append([])
            self.group[i] = g
            self.members[g].append(i)
            self.scale[i] = lam
        self.rep = [m[0] for m in self.members]

    def slacks(self, x: list) -> list:
        flint = _flint()
        Ax = (self.M * flint.fmpq_mat(self.k, 1, list(x))).entries()
        return [bi - v for bi, v in zip(self.b, Ax)]

    def point_proves_facet(self, g: int, x: list) -> bool:
        """x on class g's hyperplane, strictly inside every row off it (rows 0 <= b need b > 0)."""
        s = self.slacks(x)
        for i in range(self.n):
            if self.group[i] == g:
                if s[i] != 0:
                    return False
            elif self.group[i] == -1:
                if self.b[i] < 0:       # 0 <= b < 0: nothing satisfies it (0 <= 0, a persistent tie, is no constraint)
                    return False
            elif not s[i] > 0:
                return False
        return True

    def project(self, g: int, p) -> list:
        """The exact orthogonal projection of a point onto class g's hyperplane."""
        from .exact_lp import _as_q

        a, bi = self.rows[self.rep[g]], self.b[self.rep[g]]
        x = _as_q(np.asarray(p, dtype=np.float64), "point", 1).tolist()
        aa = sum((v * v for v in a), _flint().fmpq(0))
        t = (bi - sum((u * v for u, v in zip(a, x)), _flint().fmpq(0))) / aa
        return [xi + t * ai for xi, ai in zip(x, a)]

    def others(self, g: int) -> List[int]:
        """Rows off class g's hyperplane that constrain (not 0 <= b with b >= 0)."""
        return [i for i in range(self.n) if self.group[i] != g and (self.group[i] != -1 or self.b[i] < 0)]


def _box_rows(domain) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """For a domain whose rows are +-e_j (a box in t): (row of +e_j, row of -e_j) per coordinate, else None."""
    A, _ = domain.constraints()
    k = A.shape[1]
    if A.shape[0] == 0:
        return None
    plus, minus = np.full(k, -1), np.full(k, -1)
    for i, row in enumerate(A):
        nz = np.nonzero(row)[0]
        if nz.size != 1 or abs(row[nz[0]]) != 1.0:
            return None
        j = nz[0]
        if row[j] > 0:
            plus[j] = i
        else:
            minus[j] = i
    if np.any(plus < 0) or np.any(minus < 0):
        return None
    return plus, minus


def _box_certificate(reg: _Region, g: int, box) -> Optional[Dict[int, object]]:
    """y over the box rows bounding class g's representative row, when the box alone implies it."""
    plus, minus = box
    i = reg.rep[g]
    a, bf = reg.rows[i], reg.b[i]
    y: Dict[int, object] = {}
    for j, v in enumerate(a):
        if v > 0:
            y[int(plus[j])] = y.get(int(plus[j]), 0) + v
        elif v < 0:
            y[int(minus[j])] = y.get(int(minus[j]), 0) - v
    if any(reg.group[r] == g for r in y):
        return None
    bound = sum((c * reg.b[r] for r, c in y.items()), _flint().fmpq(0))
    return y if bound <= bf else None


def _lp_certificate(reg: _Region, g: int, rows: List[int], warm: Optional[list] = None):
    """Exact LP max a_f.t over ``rows``: ('redundant', y) when its value is <= b_f, ('irredundant', None) when
    it exceeds it or is unbounded, ('empty', None) when the rows are infeasible. ``warm``: a one-element list
    holding a basis (positions in ``rows``) to start from, replaced by the final one (successive LPs over the
    same rows then start at a vertex and skip the float solve)."""
    from .exact_lp import solve_lp_exact

    i = reg.rep[g]
    A = np.empty((len(rows), reg.k), dtype=object)
    for r, row in enumerate(rows):
        A[r, :] = reg.rows[row]
    bb = np.empty(len(rows), dtype=object)
    bb[:] = [reg.b[r] for r in rows]
    c = np.empty(reg.k, dtype=object)
    c[:] = reg.rows[i]
    res = solve_lp_exact(c, A, bb, warm_basis=None if warm is None else warm[0])
    if warm is not None and res.status in ("optimal", "unbounded"):
        warm[0] = res.basis.tolist()
    if res.status == "optimal" and res.value <= reg.b[i]:
        return "redundant", {rows[r]: res.y[r] for r in range(len(rows)) if res.y[r] != 0}
    if res.status == "infeasible":
        return "empty", None
    if res.status == "iteration_limit":  # pragma: no cover
        raise NumericalError("exact LP reached its pivot limit")
    return "irredundant", None


class _FacetLP:
    """max c.t over the proven facet rows of a region, for one objective after another: the first by
    :func:`relutope.exact_lp.solve_lp_exact`, the next ones by the exact primal simplex (Bland's rule) from the
    previous optimal vertex, which skips the float solve (successive objectives share most of their path).

    Certificates of redundancy come from it two ways: the exact bounding box of the region (``2 k`` LPs once; a
    row whose maximum over the box is at most its right-hand side is implied by the box's multipliers, combined
    with the signs of its coefficients), else one LP for the row itself."""

    def __init__(self, reg: _Region, rows: List[int]):
        self.reg, self.rows = reg, rows
        self.sx = None
        self.B = None
        self.bbox = None

    def maximise(self, c: list):
        """(value, {row: y}) of max c.t over the facet rows (y >= 0, y^T A = c, y.b = value), or None."""
        from .exact_lp import _Simplex, solve_lp_exact

        reg = self.reg
        if self.sx is None:
            A = np.empty((len(self.rows), reg.k), dtype=object)
            for r, row in enumerate(self.rows):
                A[r, :] = reg.rows[row]
            b = np.empty(len(self.rows), dtype=object)
            b[:] = [reg.b[r] for r in self.rows]
            cc = np.empty(reg.k, dtype=object)
            cc[:] = c
            # no float solve: the exact simplex starts from the first rows (a few exact pivots on these small LPs)
            res = solve_lp_exact(cc, A, b, warm_basis=list(range(min(reg.k, len(self.rows)))))
            if res.status != "optimal":
                return None
            if len(res.basis) == reg.k:
                self.sx = _Simplex([reg.rows[r] for r in self.rows], [reg.b[r] for r in self.rows], list(c),
                                   max_pivots=100_000)
                self.B = res.basis.tolist()
            return res.value, {self.rows[r]: res.y[r] for r in range(len(self.rows)) if res.y[r] != 0}
        self.sx.pivots = 0
        st, B, _, yB, _ = self.sx.primal(self.B, list(c))
        if st != "optimal":
            return None
        self.B = B
        # the primal simplex keeps y_B >= 0 and A_B^T y_B = c exactly; the bound is y.b
        y = {self.rows[B[p]]: yB[p] for p in range(reg.k) if yB[p] != 0}
        return sum((v * reg.b[r] for r, v in y.items()), _flint().fmpq(0)), y

    def certificate(self, g: int) -> Optional[Dict[int, object]]:
        """Multipliers over the facet rows proving class g's row redundant, or None."""
        reg = self.reg
        i = reg.rep[g]
        out = self.maximise(list(reg.rows[i]))
        return out[1] if out is not None and out[0] <= reg.b[i] else None

    def bbox_certificate(self, g: int) -> Optional[Dict[int, object]]:
        """Multipliers from the region's exact bounding box, when the box implies class g's row; else None."""
        flint = _flint()
        reg = self.reg
        if self.bbox is None:
            boxes = []
            for j in range(reg.k):
                for sign in (1, -1):
                    e = [flint.fmpq(0)] * reg.k
                    e[j] = flint.fmpq(sign)
                    boxes.append(self.maximise(e))
            self.bbox = boxes if all(v is not None for v in boxes) else False
        if self.bbox is False:
            return None
        i = reg.rep[g]
        a = reg.rows[i]
        picks = [(abs(v), self.bbox[2 * j] if v > 0 else self.bbox[2 * j + 1]) for j, v in enumerate(a) if v != 0]
        bound = sum((w * box[0] for w, box in picks), flint.fmpq(0))
        if bound > reg.b[i]:
            return None
        y: Dict[int, object] = {}
        for w, (_, yj) in picks:
            for r, val in yj.items():
                y[r] = y[r] + w * val if r in y else w * val
        return y


def _hyperplane_point(reg: _Region, g: int, extra: Optional[_Region] = None, extra_group: Optional[int] = None):
    """Exact LP max r s.t. on class g's hyperplane, a_i t + r <= b_i for the other rows (and for ``extra``'s rows
    off its class ``extra_group``), r <= 1. Returns the point (list) when r > 0, else None."""
    from .exact_lp import solve_lp_exact

    flint = _flint()
    one, zero = flint.fmpq(1), flint.fmpq(0)
    rows, rhs = [], []
    for src, grp in ((reg, g),) + (((extra, extra_group),) if extra is not None else ()):
        for i in src.others(grp):
            rows.append(list(src.rows[i]) + [one])
            rhs.append(src.b[i])
    rows.append([zero] * reg.k + [one])
    rhs.append(one)
    A = np.empty((len(rows), reg.k + 1), dtype=object)
    for r, row in enumerate(rows):
        A[r, :] = row
    b = np.empty(len(rhs), dtype=object)
    b[:] = rhs
    c = np.empty(reg.k + 1, dtype=object)
    c[:] = [zero] * reg.k + [one]
    E = np.empty((1, reg.k + 1), dtype=object)
    E[0, :] = list(reg.rows[reg.rep[g]]) + [zero]
    e = np.empty(1, dtype=object)
    e[0] = reg.b[reg.rep[g]]
    res = solve_lp_exact(c, A, b, E, e)
    if res.status == "optimal" and res.value > 0:
        return res.x[:reg.k].tolist()
    return None


def _decide_region(partition, r: int, H: ExactHalfspaces, fl, box) -> Tuple[ExactRegionFacets, list]:
    """Decide every row of region r; returns its facets and the findings [(region, unit, piece, kind)]."""
    reg = _Region(H)
    status = np.full(reg.n, REDUNDANT, dtype=object)
    out = ExactRegionFacets(r, H, reg.group, status)
    findings = []
    # float facets of this region: source -> float facet index (domain rows as (-1 - i, -1))
    float_of: Dict[Tuple[int, int], int] = {}
    if fl is not None:
        s0, s1 = int(fl.offsets[r]), int(fl.offsets[r + 1])
        for F in range(s0, s1):
            float_of[(int(fl.unit[F]), int(fl.piece[F]) if fl.unit[F] >= 0 else -1)] = F
        if fl.dup_facet.size:
            sel = (fl.dup_facet >= s0) & (fl.dup_facet < s1)
            for F, u, p in zip(fl.dup_facet[sel], fl.dup_unit[sel], fl.dup_piece[sel]):
                float_of.setdefault((int(u), int(p)), int(F))
    # rows 0 <= b
    for i in np.nonzero(reg.group == -1)[0]:
        if reg.b[i] >= 0:
            out.certificates[int(i)] = {}
        else:
            status[i] = FAILED
    G = len(reg.members)
    claimed = {}
    for g in range(G):
        for i in reg.members[g]:
            F = float_of.get((int(H.unit[i]), int(H.piece[i])))
            if F is not None:
                claimed[g] = F
                break
    out.float_facet = dict(claimed)
    decided: Dict[int, str] = {}
    # 1. float facets: their points, projected exactly onto the exact hyperplane
    for g, F in claimed.items():
        x = reg.project(g, fl.points[F])
        if reg.point_proves_facet(g, x):
            out.facets[g] = np.array(x, dtype=object)
            out.how[g] = "point"
            decided[g] = FACET
    # 2. float non-facets: the box bound, then an LP over the proven facets
    facet_rows = [reg.rep[g] for g in decided]
    constant_bad = [int(i) for i in np.nonzero((reg.group == -1) & (status == FAILED))[0]]
    over_facets = _FacetLP(reg, facet_rows) if facet_rows and not constant_bad else None
    for g in range(G):
        if g in claimed:
            continue
        y = _box_certificate(reg, g, box) if box is not None else None
        how = "box"
        if y is None and over_facets is not None:
            y, how = over_facets.bbox_certificate(g), "bbox"
            if y is None:
                y, how = over_facets.certificate(g), "facets"
        if y is not None:
            decided[g] = REDUNDANT
            out.how[g] = how
            _store_redundant(out, reg, g, y)
    # 3. everything else: exact decision over all rows
    for g in range(G):
        if g in decided:
            continue
        verdict, y = _lp_certificate(reg, g, reg.others(g))
        if verdict == "redundant":
            decided[g] = REDUNDANT
            _store_redundant(out, reg, g, y)
        else:
            x = _hyperplane_point(reg, g) if verdict == "irredundant" else None
            if x is None:
                decided[g] = FAILED
            else:
                decided[g] = FACET
                out.facets[g] = np.array(x, dtype=object)
        out.how[g] = "lp"
        claimed_facet = g in claimed
        if decided[g] == FACET and not claimed_facet:
            findings.extend((r, u, p, "facet missed by floating point") for u, p in out.sources(g)[:1])
        elif decided[g] == REDUNDANT and claimed_facet:
            findings.extend((r, u, p, "float facet is redundant") for u, p in out.sources(g)[:1])
    for g in range(G):
        for i in reg.members[g]:
            status[i] = decided[g]
    out._reg = reg  # exact rows and classes, reused by certify_adjacency
    return out, findings


def _store_redundant(out: ExactRegionFacets, reg: _Region, g: int, y: Dict[int, object]) -> None:
    """Every member of class g gets the class's multipliers, scaled by its factor."""
    rep = reg.rep[g]
    for i in reg.members[g]:
        f = reg.scale[i] / reg.scale[rep]
        out.certificates[int(i)] = {int(j): v * f for j, v in y.items()}


@dataclass
class FacetCertificate:
    """The outcome of :func:`certify_facets`.

    Attributes
    ----------
    regions : list of ExactRegionFacets
        Per region (in the order of ``indices``), every row's exact decision with its certificate.
    indices : ndarray, shape (n,), int64
        The partition indices of the regions done.
    n_rows : int
        Exact rows over all regions (domain rows included).
    n_facets : int
        Facet classes proven by an exact relative-interior point (duplicate rows count once).
    n_facet_rows : int
        Rows on a proven facet (a class with duplicates has several).
    n_redundant : int
        Rows proven redundant by an exact multiplier certificate.
    n_failed : int
        Rows neither proven a facet nor redundant (the region is then empty or lower-dimensional exactly).
    by_method : dict of str to int
        Classes decided by ``"point"``, ``"box"``, ``"bbox"``, ``"facets"``, ``"lp"`` (see
        :class:`ExactRegionFacets`).
    findings : list of (int, int, int, str)
        ``(region, unit, piece, kind)`` where the float facets and the exact decision disagree: ``"float facet is
        redundant"`` or ``"facet missed by floating point"`` (decided exactly, the exact decision stands).
    seconds : float
    """

    regions: List[ExactRegionFacets]
    indices: np.ndarray
    n_rows: int = 0
    n_facets: int = 0
    n_facet_rows: int = 0
    n_redundant: int = 0
    n_failed: int = 0
    by_method: Dict[str, int] = field(default_factory=dict)
    findings: List[Tuple[int, int, int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every row of every region is proven a facet or redundant."""
        return self.n_failed == 0

    def __repr__(self) -> str:
        return (f"FacetCertificate(regions={len(self.regions)}, rows={self.n_rows}, facets={self.n_facets}, "
                f"redundant={self.n_redundant}, failed={self.n_failed}, findings={len(self.findings)})")


def certify_facets(partition, regions=None) -> FacetCertificate:
    """Prove every row of every region's exact H-representation a facet or redundant, exactly.

    Parameters
    ----------
    partition : Partition
    regions : array_like of int, optional
        Indices of the regions to do (default: all).

    Returns
    -------
    FacetCertificate
        The exact decision and certificate of every row, the counts, and the findings where the float facets of
        :meth:`Partition.facets` disagree with the exact decision.

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition` or ``regions`` is not an integer array.
    ValueError
        When a region index is out of range.
    ImportError
        When python-flint is not installed.

    Notes
    -----
    A facet is proven by an exact point of its hyperplane strictly inside all other rows (then a (k-1)-ball of
    the hyperplane around it lies in the region's closure); a redundant row by multipliers ``y >= 0`` of the
    other rows with ``y^T A = a_f``, ``y^T b <= b_f`` (weak duality; Schrijver, "Theory of Linear and Integer
    Programming", 1986, Section 8.2 on implicit equalities and redundant rows of a full-dimensional polyhedron).
    The exact LPs are those of :func:`relutope.exact_lp.solve_lp_exact` (Dhiflaoui et al. 2003; Koch 2004).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.certified_facets import certify_facets
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 5, 1], seed=0), relutope.Box([-1, -1], [1, 1]))
    >>> cert = certify_facets(part)
    >>> cert.ok, cert.n_facets == part.facets().n_facets, cert.findings
    (True, True, [])
    """
    from .partition import Partition

    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    t0 = time.perf_counter()
    R = len(partition)
    if regions is None:
        idx = np.arange(R, dtype=np.int64)
    else:
        idx = check_indices(regions, "regions", R)
    fl = partition.facets() if R else None
    box = _box_rows(partition.domain)
    data = _exact_data(partition.network, partition.domain)
    patterns = partition._patterns_at(idx) if idx.size else np.zeros((0, partition.network.n_units), np.int8)
    cert = FacetCertificate([], idx)
    for r, pat in zip(idx.tolist(), patterns):
        H = _halfspaces(data, pat)
        ex, findings = _decide_region(partition, r, H, fl, box)
        cert.regions.append(ex)
        cert.findings.extend(findings)
        cert.n_rows += len(H)
        cert.n_facets += len(ex.facets)
        cert.n_facet_rows += int(np.sum(ex.status == FACET))
        cert.n_redundant += int(np.sum(ex.status == REDUNDANT))
        cert.n_failed += int(np.sum(ex.status == FAILED))
        for how in ex.how.values():
            cert.by_method[how] = cert.by_method.get(how, 0) + 1
    cert.seconds = time.perf_counter() - t0
    return cert


# ---------------------------------------------------------------------------------------------------------------
# adjacency


@dataclass
class AdjacencyCertificate:
    """The outcome of :func:`certify_adjacency`.

    Attributes
    ----------
    edges : ndarray, shape (E, 2), int64
        Proven adjacent pairs ``(i, j)``, ``i < j``, sorted: an exact point in the relative interior of a shared
        facet is known (``points``).
    points : list of ndarray of flint.fmpq
        One exact shared relative-interior point per edge, in domain coordinates.
    n_interior_facets : int
        Facet classes not on the domain's boundary, over all regions.
    n_covered : int
        Of those, the ones proven covered by a listed neighbour (the whole facet is a facet of the neighbour).
    by_method : dict of str to int
        Covered facets by ``"flip"`` (the neighbour's pattern differs only at units whose two pieces are equal on
        the facet's hyperplane: the facet is the same on both sides by construction) or ``"lp"`` (another
        neighbour, proven by exact LPs).
    gaps : list of (int, int, int)
        ``(region, unit, piece)`` of interior facets no listed region was proven to cover: the region across
        (unique, decided exactly) is not listed, e.g. a sliver thinner than the enumeration's ``tol``.
    missing_float_edges : list of (int, int)
        Pairs of the float adjacency (:meth:`Partition.adjacency`) not proven.
    extra_edges : list of (int, int)
        Proven pairs the float adjacency lacks (findings).
    seconds : float
    """

    edges: np.ndarray
    points: list
    n_interior_facets: int = 0
    n_covered: int = 0
    by_method: Dict[str, int] = field(default_factory=dict)
    gaps: List[Tuple[int, int, int]] = field(default_factory=list)
    missing_float_edges: List[Tuple[int, int]] = field(default_factory=list)
    extra_edges: List[Tuple[int, int]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every interior facet is covered and the proven edges are the float adjacency's."""
        return not self.gaps and not self.missing_float_edges and not self.extra_edges

    def __repr__(self) -> str:
        return (f"AdjacencyCertificate(edges={len(self.edges)}, interior_facets={self.n_interior_facets}, "
                f"covered={self.n_covered}, gaps={len(self.gaps)}, missing={len(self.missing_float_edges)}, "
                f"extra={len(self.extra_edges)})")


def _across_patterns(network, pattern, ex: ExactRegionFacets, g: int):
    """Patterns with every unit of class g's hyperplane set to its piece across (all combinations when a unit
    has several pieces on it)."""
    import itertools

    per_unit: Dict[int, List[int]] = {}
    for u, s in ex.sources(g):
        per_unit.setdefault(u, []).append(s)
    units = sorted(per_unit)
    for combo in itertools.product(*(per_unit[u] for u in units)):
        q = np.array(pattern, dtype=np.int8, copy=True)
        q[units] = combo
        yield q


def _pattern_across(data, x: list, n: list) -> np.ndarray:
    """The activation pattern at ``x + eps n`` for every small enough ``eps > 0``, decided exactly.

    Layer by layer along the pattern chosen so far, every piece's value at ``x`` and slope along ``n`` (exact,
    domain coordinates ``t``) are compared lexicographically; pieces equal in both are equal on the whole ray, and
    the lowest one is taken (the tie rule of :meth:`Network.forward`). The exact counterpart of the float
    ``Network::pattern_across`` (cpp/src/network.cpp), which compares the same pairs in float64."""
    flint = _flint()
    network, rational, _, _, M, v, k = data
    X = flint.fmpq_mat(k, 1, list(x))
    N = flint.fmpq_mat(k, 1, list(n))
    pattern = np.zeros(network.n_units, dtype=np.int8)
    off = 0
    for layer, (A, c) in zip(network.layers, rational):
        G, g = A * M, A * v + c
        val, slope = (G * X + g).entries(), (G * N).entries()
        rows = []
        for u in range(layer.n_units):
            p0, p1 = int(layer.piece_start[u]), int(layer.piece_start[u + 1])
            best = p0
            for r in range(p0 + 1, p1):
                if (val[r], slope[r]) > (val[best], slope[best]):
                    best = r
            pattern[off + u] = best - p0
            rows.append(best)
        M = flint.fmpq_mat([[G[r, j] for j in range(G.ncols())] for r in rows])
        v = flint.fmpq_mat(len(rows), 1, [g[r, 0] for r in rows])
        off += layer.n_units
    return pattern


def _same_on_hyperplane(reg: _Region, H: ExactHalfspaces, g: int, pattern, q) -> bool:
    """Whether every unit where ``q`` differs from ``pattern`` has its two pieces equal on class g's hyperplane:
    its row ``f_q - f_p <= 0`` in ``pattern``'s region is on class g or is ``0 <= 0``. Then, layer by layer, every
    later piece composed along ``q`` equals the one along ``pattern`` on the hyperplane, and so does every row."""
    diff = np.nonzero(np.asarray(q) != np.asarray(pattern))[0]
    for u in diff.tolist():
        i = np.nonzero((H.unit == u) & (H.piece == int(q[u])))[0]
        if i.size != 1:
            return False
        i = int(i[0])
        if reg.group[i] != g and not (reg.group[i] == -1 and reg.b[i] == 0):
            return False
    return True


def _class_of_hyperplane(reg: _Region, a: list, bf) -> Optional[int]:
    """The class of ``reg`` whose row is ``-(a t <= bf)`` up to a positive factor (the other side), if any."""
    key, _ = _row_key([-v for v in a], -bf)
    return reg.keys.get(key)


def _covers(reg_i: _Region, g: int, reg_j: _Region, h: Optional[int]) -> bool:
    """Exact LPs: every row of j off its class h holds on region i's facet g (so the facet lies in j's closure)."""
    from .exact_lp import solve_lp_exact

    others = reg_i.others(g)
    A = np.empty((len(others), reg_i.k), dtype=object)
    for r, i in enumerate(others):
        A[r, :] = reg_i.rows[i]
    b = np.empty(len(others), dtype=object)
    b[:] = [reg_i.b[i] for i in others]
    E = np.empty((1, reg_i.k), dtype=object)
    E[0, :] = reg_i.rows[reg_i.rep[g]]
    e = np.empty(1, dtype=object)
    e[0] = reg_i.b[reg_i.rep[g]]
    def exact_key(row, rhs):
        return tuple((v.p, v.q) for v in row) + ((rhs.p, rhs.q),)

    own = {exact_key(reg_i.rows[i], reg_i.b[i]) for i in range(reg_i.n)}
    for i in reg_j.others(h if h is not None else -2):
        if exact_key(reg_j.rows[i], reg_j.b[i]) in own:
            continue
        c = np.empty(reg_i.k, dtype=object)
        c[:] = reg_j.rows[i]
        res = solve_lp_exact(c, A, b, E, e)
        if res.status != "optimal" or res.value > reg_j.b[i]:
            return False
    return True


def certify_adjacency(partition, facets: Optional[FacetCertificate] = None) -> AdjacencyCertificate:
    """Prove, for every interior facet of every region, a listed region across it sharing the whole facet.

    Parameters
    ----------
    partition : Partition
    facets : FacetCertificate, optional
        Of all regions (default: :func:`certify_facets` of the partition).

    Returns
    -------
    AdjacencyCertificate
        Proven edges with an exact shared relative-interior point each, the covered facets, the gaps, and the
        differences from the float adjacency :meth:`Partition.adjacency`.

    Raises
    ------
    TypeError, ValueError
        When ``partition`` is not a Partition or ``facets`` does not cover all its regions.

    Notes
    -----
    The region across a facet is unique, and its pattern is decided exactly at the facet's exact point from the
    values and slopes along the facet's normal (module docstring), so no float hint is needed: a gap is a region
    of the network missing from the partition (``partition.adjacency()`` is only compared with). A candidate
    that differs from the region only at units whose two pieces agree on the hyperplane (the facet's units, or
    units tied on the whole region) has the same composed maps of every later layer there, so the two regions
    have the same facet; the facet's exact point is also checked against the neighbour's own exact rows (tight
    on the shared hyperplane, strict elsewhere). Any other neighbour is proven by exact LPs. The uniqueness is
    an elementary continuity argument on the composed pieces (Balestriero & Baraniuk, ICML 2018, Eq. 9); the
    lexicographic value-then-slope rule is the float ``Network::pattern_across``'s, in rationals.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.certified_facets import certify_adjacency
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 5, 1], seed=0), relutope.Box([-1, -1], [1, 1]))
    >>> adj = certify_adjacency(part)
    >>> adj.ok, len(adj.edges) == len(part.adjacency())
    (True, True)
    """
    from .partition import Partition

    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    t0 = time.perf_counter()
    R = len(partition)
    if facets is None:
        facets = certify_facets(partition)
    if not isinstance(facets, FacetCertificate):
        raise TypeError(f"facets must be a FacetCertificate, got {type(facets).__name__}")
    if not np.array_equal(facets.indices, np.arange(R)):
        raise ValueError("facets must cover every region of the partition, in order")
    patterns = partition.patterns
    fl = partition.facets() if R else None
    adj = partition.adjacency() if R else None
    data = _exact_data(partition.network, partition.domain)
    cert = AdjacencyCertificate(np.zeros((0, 2), dtype=np.int64), [])
    proven: Dict[Tuple[int, int], object] = {}
    # The float neighbours of each region by its edges, found from either side: a facet's own forward pass can
    # miss a neighbour that the neighbour's pass found (a later unit exactly zero along the facet).
    edge_neighbours: Dict[int, List[int]] = {}
    for a_, b_ in (adj.edges.tolist() if adj is not None else []):
        edge_neighbours.setdefault(a_, []).append(b_)
        edge_neighbours.setdefault(b_, []).append(a_)

    def by_lp(reg_i, g, x, a, bf, jj):
        """The exact point proving that region ``jj`` shares facet ``g`` of ``reg_i`` whole, or None."""
        reg_j = facets.regions[jj]._reg
        h = _class_of_hyperplane(reg_j, a, bf)
        if h is None:
            return None
        pt = x if reg_j.point_proves_facet(h, x) else _hyperplane_point(reg_i, g, reg_j, h)
        return pt if pt is not None and _covers(reg_i, g, reg_j, h) else None

    for ex in facets.regions:
        i = ex.index
        reg_i: _Region = ex._reg
        for g, x in ex.facets.items():
            if ex.on_boundary(g):
                continue
            cert.n_interior_facets += 1
            a, bf = reg_i.rows[reg_i.rep[g]], reg_i.b[reg_i.rep[g]]
            how, j = None, -1
            # the facet's units at their pieces across (most facets), then the pattern across decided exactly;
            # both differ from the region only at units whose two pieces agree on the hyperplane
            flips = _across_patterns(partition.network, patterns[i], ex, g)
            for q in itertools.chain(flips, (None,)):
                if q is None:
                    q = _pattern_across(data, list(x), list(a))
                    if not _same_on_hyperplane(reg_i, ex.halfspaces, g, patterns[i], q):
                        break
                jj = int(partition.index_of(q)[0])
                if jj < 0:
                    continue
                reg_j: _Region = facets.regions[jj]._reg
                h = _class_of_hyperplane(reg_j, a, bf)
                if h is not None and reg_j.point_proves_facet(h, x):
                    how, j = "flip", jj
                    break
            if how is None and q is not None:
                jj = int(partition.index_of(q)[0])
                pt = by_lp(reg_i, g, x, a, bf, jj) if jj >= 0 else None
                if pt is not None:
                    how, j, x = "lp", jj, np.array(pt, dtype=object)
            if how is None and fl is not None:
                first = int(adj.neighbor[ex.float_facet[g]]) if g in ex.float_facet else -1
                for jj in ([first] if first >= 0 else []) + [k for k in edge_neighbours.get(i, []) if k != first]:
                    pt = by_lp(reg_i, g, x, a, bf, jj)
                    if pt is not None:
                        how, j, x = "lp", jj, np.array(pt, dtype=object)
                        break
            if how is None:
                u, s = next((us for us in ex.sources(g) if us[0] >= 0), ex.sources(g)[0])
                cert.gaps.append((i, u, s))
                continue
            cert.n_covered += 1
            cert.by_method[how] = cert.by_method.get(how, 0) + 1
            proven.setdefault((min(i, j), max(i, j)), x)
    keys = sorted(proven)
    cert.edges = np.array(keys, dtype=np.int64).reshape(-1, 2)
    cert.points = [proven[k] for k in keys]
    float_edges = set(map(tuple, adj.edges.tolist())) if adj is not None else set()
    cert.missing_float_edges = sorted(float_edges - set(keys))
    cert.extra_edges = sorted(set(keys) - float_edges)
    cert.seconds = time.perf_counter() - t0
    return cert


# ---------------------------------------------------------------------------------------------------------------
# completeness


def certified_completeness(partition):
    """Facet closure proven exactly: :func:`relutope.graph.check_complete` with ``certify=True``.

    Parameters
    ----------
    partition : Partition

    Returns
    -------
    CompletenessReport
        ``ok`` is a proof that the listed regions are activation regions of the network on the domain and that
        their closures cover the domain (module docstring): every witness certified
        (:func:`relutope.certificates.certify_witnesses`), every row of every region proven a facet or redundant
        (:func:`certify_facets`), every interior facet covered by a listed neighbour
        (:func:`certify_adjacency`). ``gaps`` lists ``(region, facet)`` for uncovered facets (``facet`` indexes
        the region's float facets, -1 when floating point missed the facet), ``mismatches`` the regions with a
        failed witness or row. ``certificate`` holds the three certificates.

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`.
    ImportError
        When python-flint is not installed.
    """
    from .certificates import certify_witnesses
    from .graph import CompletenessReport
    from .partition import Partition

    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    wit = certify_witnesses(partition)
    fac = certify_facets(partition)
    adj = certify_adjacency(partition, fac)
    fl = partition.facets() if len(partition) else None
    gaps = []
    for i, u, s in adj.gaps:
        idx = -1
        if fl is not None:
            s0, s1 = int(fl.offsets[i]), int(fl.offsets[i + 1])
            hit = np.nonzero((fl.unit[s0:s1] == u) & (fl.piece[s0:s1] == s))[0]
            idx = int(hit[0]) if hit.size else -1
        gaps.append((i, idx))
    bad_regions = sorted(set(wit.failed.tolist()) | {ex.index for ex in fac.regions if np.any(ex.status == FAILED)})
    mismatches = [(r, -1) for r in bad_regions]
    n_boundary = sum(1 for ex in fac.regions for g in ex.facets if ex.on_boundary(g))
    ok = len(partition) > 0 and wit.ok and fac.ok and not adj.gaps
    return CompletenessReport(ok=ok, gaps=gaps, mismatches=mismatches, n_regions=len(partition),
                              n_facets=fac.n_facets, n_boundary_facets=n_boundary, n_edges=len(adj.edges),
                              certificate={"witnesses": wit, "facets": fac, "adjacency": adj})
