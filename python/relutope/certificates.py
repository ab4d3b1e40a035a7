"""Certificates: proofs, checked without trusting floating point, that a partition's regions are what it says.

:func:`certify_witnesses` proves that every region a :class:`~relutope.Partition` lists exists: its witness point
(taken as the exact binary fraction each float64 coordinate is) lies strictly inside the domain, and every unit is
decided on a neighbourhood of it: one piece strictly largest, or the largest pieces the same affine function of
the input there (a tie on the whole neighbourhood, which goes to the lowest piece). A neighbourhood of the witness
then has the region's pattern and lies in the domain, so the region is full-dimensional and non-empty; distinct
patterns are distinct regions. A unit that the floating-point engine decided by rounding (pieces whose difference
is a constant within rounding of zero, so no hyperplane is involved) is re-decided exactly and reported.

The proof runs in two stages (Rump, "Verification methods: Rigorous results using floating-point arithmetic",
Acta Numerica 19, 2010, Sections 2-3): a floating-point forward pass that carries a rigorous bound on its own
rounding error (:mod:`relutope._rigorous`: the a priori bound ``|fl(a . x) - a . x| <= gamma_n |a| . |x|``,
``gamma_n = n u / (1 - n u)``, Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., 2002, Section
3.1, valid for any order of summation and with fused multiply-adds), which settles almost every unit at once;
then, only for the witnesses where some unit's margin is within its error bound, the exact rational pass of
:func:`relutope.exact.exact_pattern`.

:class:`EnumerationCertificate` (``enumerate_regions(..., certify=True)``) adds the other half, that no region is
missing: every decision by which the LP enumerator discarded a side of a hyperplane, an argmax cell or a cell is
checked as the enumeration makes it, by a rigorous upper bound of the exact inradius of the discarded set from the
decision's LP dual (``relutope._core.chebyshev_dual_bound``; Neumaier & Shcherbina, "Safe bounds in linear and
mixed-integer linear programming", Mathematical Programming 99, 2004), evaluated in floating point with a priori
error bounds for the exact network (the rows carry bounds of their own rounding); each decision whose bound fails
is re-decided by an exact rational LP (:func:`relutope.exact_lp.chebyshev_radius_exact`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ._checks import check_int
from .partition import Partition

__all__ = ["WitnessCertificate", "certify_witnesses", "EnumerationCertificate", "certify_partition",
           "dual_bound_exact"]

@dataclass
class WitnessCertificate:
    """The outcome of :func:`certify_witnesses`.

    Attributes
    ----------
    certified : ndarray, shape (R,), bool
        Region ``i``'s existence is proven: its witness lies strictly inside the domain and every point near it
        has its pattern (each unit strictly decided, or its largest pieces the same affine function there: a tie
        on a whole neighbourhood, which goes to the lowest piece); for the ``relabeled`` regions, the pattern is
        the re-decided one.
    n_by_filter : int
        Regions proven by the floating-point forward pass with rigorous error bounds alone.
    n_by_exact : int
        Regions whose witness needed the exact rational forward pass (some margin within its error bound).
    failed : ndarray, shape (F,), int64
        Indices of the regions not proven.
    reasons : list of str, length F
        Why each failed: ``"pattern"`` (the witness has another pattern), ``"tie"`` (the witness lies on a region boundary: pieces of a unit tie there but not
        around it), ``"domain"`` (the witness is not strictly inside the domain) or ``"duplicate"`` (the same
        pattern, after re-deciding, is listed twice).
    relabeled : ndarray, shape (M,), int64
        Certified regions whose stored pattern was re-decided exactly: a unit whose pieces differ by a constant
        within rounding of zero (no hyperplane crosses the region) was decided by rounding; the region exists
        with the exact pattern ``exact_patterns[j]`` instead.
    exact_patterns : ndarray, shape (M, n_units), int8
        The exact patterns of the ``relabeled`` regions.
    seconds : float
        Wall-clock time of the certification.
    """

    certified: np.ndarray
    n_by_filter: int
    n_by_exact: int
    failed: np.ndarray
    reasons: list = field(default_factory=list)
    relabeled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    exact_patterns: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int8))
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every region is proven."""
        return self.failed.size == 0

    def __repr__(self) -> str:
        return (f"WitnessCertificate(regions={self.certified.size}, certified={int(self.certified.sum())}, "
                f"by_filter={self.n_by_filter}, by_exact={self.n_by_exact}, relabeled={self.relabeled.size}, "
                f"failed={self.failed.size})")


def _filter_pass(part: Partition, t: np.ndarray, patterns: np.ndarray):
    """Per region, whether the floating-point pass with error bounds proves its witness, and whether it proves
    the witness has another pattern (two bool arrays). The exact pass decides every region not proven."""
    from ._rigorous import affine_with_error, pattern_bounds, strictly_greater

    dom = part.domain
    A, b = dom.constraints()  # t is exact; the rows A t <= b must hold strictly
    origin, basis = dom.parametrization()
    proven, disproven = pattern_bounds(part.network, origin, basis, t, patterns)
    if A.shape[0]:
        s, err = affine_with_error(t, np.zeros_like(t), A, -b)  # s = A t - b, want s < 0
        proven &= strictly_greater(np.zeros_like(s), s, err).all(axis=1)
    return proven, disproven


def _exact_pass(part: Partition, t: np.ndarray, patterns: np.ndarray):
    """The same decision in exact rational arithmetic for a few witnesses.

    Returns (proven bool (n,), reasons (n,) object, exact patterns (n, n_units) int8): a witness strictly inside
    the domain with no unit tied on a boundary is proven for its exact pattern, which may differ from the stored
    one (a unit the floating-point engine decided by rounding: two pieces whose difference is a constant within
    rounding of zero: the same linear part); then it is re-decided, and the reason is ``"relabeled"``. A stored
    piece that differs from the exact one in its linear part is a wrong pattern: ``"pattern"``."""
    from .exact import BOUNDARY_TIE, _pattern_walk, to_rational

    dom = part.domain
    T = to_rational(t)
    A, b = dom.constraints()
    origin, basis = dom.parametrization()
    X = to_rational(origin)[None, :] + T.dot(to_rational(basis).T)
    n = t.shape[0]
    ok = np.ones(n, dtype=bool)
    reasons = np.full(n, "", dtype=object)
    exact = np.array(patterns, dtype=np.int8, copy=True)
    if A.shape[0]:
        slack = to_rational(b)[None, :] - T.dot(to_rational(A).T)
        outside = ~np.all(slack > 0, axis=1)
        ok &= ~outside
        reasons[outside] = "domain"
    for i in np.nonzero(ok)[0]:
        pat, kind, constant_gap = _pattern_walk(part.network, X[i], stored=patterns[i])
        differ = pat != patterns[i]
        if np.any(kind == BOUNDARY_TIE):
            ok[i], reasons[i] = False, "tie"
        elif np.any(differ & ~constant_gap):  # a unit whose hyperplane puts the witness on the other side
            ok[i], reasons[i] = False, "pattern"
        elif np.any(differ):
            exact[i], reasons[i] = pat, "relabeled"
    return ok, reasons, exact


def certify_witnesses(partition: Partition, *, chunk: int = 1 << 14) -> WitnessCertificate:
    """Prove that every region a partition lists exists, from its witness point.

    Parameters
    ----------
    partition : Partition
        Its witnesses are taken as exact points: the domain coordinates ``partition.witness_coords`` (float64,
        each an exact binary fraction), mapped to the input exactly (``x = origin + basis @ t`` in rationals).
    chunk : int, optional
        Regions per floating-point batch (memory: about ``chunk`` x the largest layer's pieces doubles).

    Returns
    -------
    WitnessCertificate
        ``certified[i]`` is a proof that region ``i`` is a full-dimensional activation region of the network on
        the domain with pattern ``partition.patterns[i]`` (or its re-decided pattern, see ``relabeled``): a ball
        around its witness lies in the domain and has that pattern.

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition` or ``chunk`` is not an int.
    ValueError
        When ``chunk < 1``.
    ImportError
        When a witness needs the exact pass and python-flint is not installed.

    Notes
    -----
    A floating-point forward pass with rigorous error bounds (module docstring; Rump 2010, Higham 2002, Section
    3.1) proves almost every unit's decision; the witnesses where some margin is within its bound are decided
    exactly (:func:`relutope.exact.exact_pattern`). This proves that listed regions exist, not that no region is
    missing.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.certificates import certify_witnesses
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 8, 1], seed=0),
    ...                                   relutope.Box(-np.ones(2), np.ones(2)))
    >>> certify_witnesses(part).ok
    True
    """
    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    chunk = check_int(chunk, "chunk")
    t0 = time.perf_counter()
    R = len(partition)
    t_all = partition.witness_coords
    certified = np.empty(R, dtype=bool)
    disproven = np.empty(R, dtype=bool)
    reason = np.full(R, "", dtype=object)
    for s in range(0, R, chunk):
        rows = slice(s, min(R, s + chunk))
        certified[rows], disproven[rows] = _filter_pass(partition, t_all[rows], partition._patterns_at(rows))
    n_filter = int(certified.sum())
    undecided = np.nonzero(~certified)[0]
    relabeled = np.zeros(0, dtype=np.int64)
    new_patterns = np.zeros((0, partition.network.n_units), dtype=np.int8)
    packed = partition.packed_patterns
    if undecided.size:
        ok, why, exact = _exact_pass(partition, t_all[undecided], partition._patterns_at(undecided))
        # a stored piece that loses by more than rounding was not a rounding decision: a wrong pattern
        beyond = disproven[undecided] & (why == "relabeled")
        ok[beyond], why[beyond] = False, "pattern"
        certified[undecided] = ok
        reason[undecided] = why
        moved = why == "relabeled"
        relabeled, new_patterns = undecided[moved], exact[moved]
        if relabeled.size:
            from .partition import _pack

            packed = packed.copy()
            packed[relabeled] = _pack(partition.network, new_patterns)
    # two listings of one pattern are one region
    _, first, counts = np.unique(packed, axis=0, return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup = np.ones(R, dtype=bool)
        dup[first] = False
        reason[dup & certified] = "duplicate"
        certified &= ~dup
    failed = np.nonzero(~certified)[0]
    keep = certified[relabeled]
    return WitnessCertificate(certified=certified, n_by_filter=n_filter, n_by_exact=int(undecided.size),
                              failed=failed, reasons=[str(reason[i]) for i in failed],
                              relabeled=relabeled[keep], exact_patterns=new_patterns[keep],
                              seconds=time.perf_counter() - t0)


@dataclass
class EnumerationCertificate:
    """The proof that comes with ``enumerate_regions(..., certify=True)``: the regions listed are all the regions.

    Attributes
    ----------
    status : str
        ``"certified"``: the statement is proven. ``"refuted"``: an exact re-decision found that a discarded set
        holds a ball of radius ``> tol`` (see ``refuted``). ``"incomplete"``: neither (the run stopped early, a
        region's existence or a decision could not be proven; see ``message``).
    statement : str
        What ``"certified"`` proves, in words.
    tol : float
        The radius of the statement (input units).
    n_regions, n_regions_certified : int
        Regions listed, and those whose existence :func:`certify_witnesses` proved.
    n_decisions : int
        Discarding decisions the enumerator made (a side of a hyperplane, an argmax cell or a cell called thinner
        than ``tol`` or empty; a constant pre-activation's sign).
    n_decisions_certified : int
        Of them, proven by their rigorous dual bound (or the rigorous range of a constant pre-activation).
    n_empty, n_thin : int
        Certified decisions whose discarded set was proven empty, or proven to hold no ball of radius ``> tol``
        without being proven empty.
    max_thin_inradius_bound : float
        The largest certified inradius bound among the thin ones (input units; ``-inf`` when there is none).
    n_failed : int
        Decisions whose bound failed; each recorded one is re-decided exactly.
    n_confirmed : int
        Failed decisions that the exact re-decision confirmed.
    refuted : list of dict
        Decisions the exact re-decision refuted: ``layer``, ``unit``, ``kind`` (``"side"``, ``"piece"`` or
        ``"domain"``), ``piece`` (the side or piece discarded), ``pattern`` (the cell's pattern, ``-1`` for
        units not decided there) and ``radius_lo`` (a proven lower bound of the discarded set's inradius).
        :func:`certify_partition` adds refuted regions: ``kind`` ``"missing_region"`` (a region of inradius
        ``> tol`` the partition lacks: ``pattern``, ``witness`` (input), ``radius_lo``), ``"absent_region"``
        (a listed pattern whose exact region has no interior: ``index``, ``pattern``, ``radius_hi``) or
        ``"duplicate_region"`` (``index``, ``pattern``).
    undecided : list of dict
        Failed decisions neither confirmed nor refuted (the same keys, with ``radius_hi``), and those past the
        recorded ones (``n_failed`` above ``max_failures``) are counted in ``message``.
    witnesses : WitnessCertificate
        The existence half.
    seconds : float
        Time of the certification after the enumeration (witnesses and re-decisions; the checks during the
        enumeration are in the partition's ``seconds``).
    message : str
    method : str
        How completeness was proven: ``"enumeration"`` (the certified run that made the partition),
        ``"re-enumeration"`` or ``"closure"`` (:func:`certify_partition`, after the fact).
    closure : relutope.graph.CompletenessReport or None
        With ``method="closure"``: the exact facet-closure report behind the certificate.
    thin_records : dict or None
        The first :data:`MAX_FAILURES` decisions proven thin but not empty, as ``where`` (T, 4) int32 (kind,
        layer, unit, piece, as ``refuted``), ``pattern`` (T, n_units) int8 (the cell's pattern, ``-1`` where not
        decided) and ``bound`` (T,) float64 (the proven inradius bound, engine units); :func:`_redecide_rows`
        rebuilds each discarded set exactly (certified output bounds bound the objective over them).

    Notes
    -----
    Design. Each discarding decision is checked in the compiled core as it is made, from the approximate dual of
    the LP that made it (its final basis' multipliers): the bound ``r <= (y.b + sum_j |(A^T y)_j| half_j) /
    (y.l)`` holds for every ball in the exact discarded set (weak duality; ``l_i`` lower bounds of the exact row
    norms), and is evaluated with a priori bounds of floating-point rounding (Higham 2002, Section 3.1) and of the
    rows' distance from the exact rows, which the core carries through its compositions of the layers (Neumaier &
    Shcherbina, "Safe bounds in linear and mixed-integer linear programming", Math. Programming 99, 2004). This
    costs ``O(k^2)`` per decision and keeps memory bounded (nothing is stored but counts and the failed
    decisions), where recomputing every decision's basis in rationals (Dhiflaoui et al. 2003; Koch 2004) would cost
    exact arithmetic on numbers growing ~53 bits a layer for each of the hundreds of thousands of decisions; that
    exact route (:func:`relutope.exact_lp.chebyshev_radius_exact`, on the rows of the decision's cell rebuilt
    exactly by :func:`relutope.exact.exact_layer_pieces`) is taken only for the decisions whose bound fails.

    Examples
    --------
    >>> import relutope
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 8, 1], seed=0),
    ...                                   relutope.Box([-1, -1], [1, 1]), certify=True)
    >>> part.certificate.status, part.certificate.n_failed
    ('certified', 0)
    """

    status: str
    statement: str
    tol: float
    n_regions: int
    n_regions_certified: int
    n_decisions: int
    n_decisions_certified: int
    n_empty: int
    n_thin: int
    max_thin_inradius_bound: float
    n_failed: int
    n_confirmed: int
    refuted: list = field(default_factory=list)
    undecided: list = field(default_factory=list)
    witnesses: "WitnessCertificate" = None
    seconds: float = 0.0
    message: str = ""
    method: str = "enumeration"
    closure: object = None
    thin_records: Optional[dict] = None

    @property
    def ok(self) -> bool:
        """True when the statement is proven."""
        return self.status == "certified"

    def summary(self) -> str:
        """A few lines for people (the ``relutope enumerate --certify`` output)."""
        lines = [f"certificate    {self.status}",
                 f"regions        {self.n_regions_certified} of {self.n_regions} proven to exist",
                 f"decisions      {self.n_decisions_certified} of {self.n_decisions} certified "
                 f"({self.n_empty} empty, {self.n_thin} thin, largest thin inradius bound "
                 f"{self.max_thin_inradius_bound:.3g}; tol {self.tol:.3g})",
                 f"re-decided     {self.n_failed} failed bound(s): {self.n_confirmed} confirmed exactly, "
                 f"{len(self.refuted)} refuted, {len(self.undecided)} undecided"]
        if self.method != "enumeration":
            lines.append(f"proof          {self.method}")
        if self.message:
            lines.append(f"message        {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"EnumerationCertificate(status={self.status!r}, regions={self.n_regions_certified}/"
                f"{self.n_regions}, decisions={self.n_decisions_certified}/{self.n_decisions}, "
                f"thin={self.n_thin}, failed={self.n_failed}, refuted={len(self.refuted)})")


#: At most this many failed decisions are recorded (and re-decided) per run.
MAX_FAILURES = 10_000


def _round_up(q) -> float:
    """The smallest float64 >= the rational ``q``."""
    f = float(q)
    return f if _q(f) >= q else float(np.nextafter(f, np.inf))


def _round_down(q) -> float:
    f = float(q)
    return f if _q(f) <= q else float(np.nextafter(f, -np.inf))


def _q(v):
    from .exact import to_rational

    return to_rational(np.array([v]))[0]


def _exact_frame(domain):
    """The engine frame of ``domain`` checked to be an exact similarity of its domain coordinates.

    Returns ``(frame, cq, sq)``: the frame (``Domain._engine_frame``, ``x = x0 + Q v``) with its exact centre
    ``cq`` (the rational ``t`` at ``x0``: ``frame.c`` up to the rounding of ``x0``) and ``s`` as rationals, after
    proving in exact arithmetic that ``x0 + Q v = origin + basis (c + s v)`` and that the rows
    are the domain's own (``A t <= b`` with ``t = c + s v``), and that the basis has exactly orthonormal columns
    (so a ball of radius ``r`` in ``v`` is a ball of radius ``s r`` in input units, within the domain's affine
    hull). Raises ValueError naming what fails.
    """
    from .exact import to_rational

    if not domain.bounded:
        raise ValueError(f"certify=True needs a bounded domain (the certificates bound each cell inside a box), got "
                         f"{domain!r}")
    frame = domain._engine_frame()
    fv, s = frame.form, frame.s
    origin, basis = domain.parametrization()
    A, _ = domain.constraints()
    k = basis.shape[1]
    Bq = to_rational(basis)
    sq = _q(s)
    gram = Bq.T.dot(Bq)
    one, zero = _q(1.0), _q(0.0)
    orthonormal = all(gram[i, j] == (one if i == j else zero) for i in range(k) for j in range(k))
    if not orthonormal or not np.array_equal(fv.A, A):
        raise ValueError(f"certify=True needs domain coordinates that the engine maps exactly (a Box, a Polytope, or "
                         f"a Slice whose basis has exactly orthonormal columns, such as coordinate axes); the basis "
                         f"of {domain!r} is not exactly orthonormal (or its rows are not the domain's), so its engine "
                         f"coordinates (a QR factor, rounded) are not an exact map of the inputs")
    Qq, x0q = to_rational(fv.Q), to_rational(fv.x0)
    # The frame's origin x0 = origin + basis c, rounded to float64 (as it must be wherever c's last bits fall
    # below the origin's): the exact centre is the rational t with origin + basis t = x0, which the orthonormal
    # basis gives as basis^T (x0 - origin) when x0 - origin lies in its range (checked below).
    originq = to_rational(origin)
    cq = Bq.T.dot(x0q - originq)
    exact_x0 = originq + Bq.dot(cq)
    if not (all(Qq[i, j] == Bq[i, j] * sq for i in range(Bq.shape[0]) for j in range(k))
            and all(x0q[i] == exact_x0[i] for i in range(x0q.shape[0]))):
        raise ValueError(f"certify=True: the engine coordinates of {domain!r} are not an exact map of its inputs "
                         f"(the centre or the scale rounds in x = origin + basis t)")
    return frame, cq, sq


def _coordinate_ranges(domain):
    """Exact bounds ``(lo, hi)`` (lists of rationals) of every domain coordinate ``t_j`` over the domain.

    A :class:`~relutope.Box` gives its bounds; any other bounded domain, the exact optima of ``max +-t_j`` over
    ``A t <= b`` (:func:`relutope.exact_lp.solve_lp_exact`, each optimum proven by its exact dual).
    """
    from .domains import Box, Slice
    from .exact import to_rational
    from .exact_lp import solve_lp_exact

    inner = domain.inner if isinstance(domain, Slice) else domain
    if isinstance(inner, Box):
        return list(to_rational(inner.lo[inner.free])), list(to_rational(inner.hi[inner.free]))
    A, b = domain.constraints()
    k = A.shape[1]
    lo, hi = [], []
    for j in range(k):
        e = np.zeros(k)
        e[j] = 1.0
        up, down = solve_lp_exact(e, A, b), solve_lp_exact(-e, A, b)
        if up.status != "optimal" or down.status != "optimal":
            raise ValueError(f"certify=True: the domain {domain!r} is not proven bounded in coordinate {j} "
                             f"({up.status}, {down.status})")
        hi.append(up.value)
        lo.append(-down.value)
    return lo, hi


def _certify_options(domain, tol: float, corrupt: bool = False) -> dict:
    """The core's options for a certified run on ``domain``: the exact domain in the engine's frame.

    The frame (``Domain._engine_frame``) runs in ``v`` with ``x = x0 + Q v``. For a :class:`~relutope.Box` (a
    selection of coordinates), a :class:`~relutope.Polytope` (``t = x``) and a :class:`~relutope.Slice` whose
    basis has exactly orthonormal columns, the map is exact: ``Q = s * basis`` and ``x0 = origin + basis @ c``
    hold exactly in floats, which :func:`_exact_frame` proves in rationals (a general slice's QR factors round,
    and is rejected). Then ``x`` is in the domain iff ``A v <= (b - A c) / s`` exactly: the domain's rows are
    exact in their coefficients (``A``, the float64 values as the binary fractions they are) and the core's
    right-hand sides are that quotient rounded; their errors (``dom_err``), the box ``[-half, half]`` holding the
    domain in ``v`` (exact coordinate ranges, :func:`_coordinate_ranges`) and the certificate radius ``tol / s``
    (rounded down) are computed here in rationals. Every cell the core certifies carries the domain's rows like
    any other row (their bounds in ``dom_err``), so a side is proven empty or thin in the domain.
    """
    frame, cq, sq = _exact_frame(domain)
    from .exact import to_rational

    fv, c, s = frame.form, frame.c, frame.s
    A, b = domain.constraints()
    bq = to_rational(b)
    Aq = to_rational(A)
    exact_rhs = [(bq[i] - sum((Aq[i, j] * cq[j] for j in range(len(c))), _q(0.0))) / sq for i in range(len(b))]
    fb = to_rational(fv.b)
    dom_err = np.array([_round_up(abs(fb[i] - exact_rhs[i])) for i in range(len(b))])
    lo, hi = _coordinate_ranges(domain)
    half = np.array([_round_up(max(abs((hi[j] - cq[j]) / sq), abs((lo[j] - cq[j]) / sq))) for j in range(len(c))])
    return {"dom_err": dom_err, "half": half, "tol": _round_down(_q(tol) / sq), "max_failures": MAX_FAILURES,
            "max_thin_records": MAX_FAILURES, "corrupt": bool(corrupt), "_s": s}


def dual_bound_exact(G, h, nl, y, half):
    """The exact value of the dual inradius bound that ``_core.chebyshev_dual_bound`` bounds from above.

    Parameters
    ----------
    G : array_like, shape (m, k); h : (m,)
        Rows ``G t <= h`` (float64 taken exactly, or exact rationals).
    nl : array_like, shape (m,)
        Lower bounds of the rows' norms ``||G_i||``.
    y : array_like, shape (m,)
        Multipliers.
    half : array_like, shape (k,)
        The cell lies in the box ``[-half, half]``.

    Returns
    -------
    flint.fmpq or None
        ``rho = (y . h + sum_j |(G^T y)_j| half_j) / (y . nl)`` exactly; ``None`` when ``y`` has a negative entry
        or ``y . nl <= 0`` (the certificate proves nothing). Every ball of radius ``r >= 0`` in the cell has
        ``r <= rho``, and ``rho < 0`` proves the cell empty (weak duality; module docstring).

    Raises
    ------
    ValueError
        When the shapes disagree.

    Examples
    --------
    The slab ``-1/2 <= t_1 <= 1/2`` has inradius 1/2, proven by the multipliers 1/2 on its two rows:

    >>> from relutope.certificates import dual_bound_exact
    >>> G = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
    >>> str(dual_bound_exact(G, [0.5, 0.5, 1.0, 1.0], [1, 1, 1, 1], [0.5, 0.5, 0, 0], [1.0, 1.0]))
    '1/2'
    """
    from .exact import to_rational

    def q(a):
        a = np.asarray(a)
        return a if a.dtype == object else to_rational(a)

    Gq, hq, nq, yq, bq = q(G), q(h), q(nl), q(y), q(half)
    m = Gq.shape[0]
    if Gq.ndim != 2 or hq.shape != (m,) or nq.shape != (m,) or yq.shape != (m,) or bq.shape != (Gq.shape[1],):
        raise ValueError("G (m, k), h (m,), nl (m,), y (m,) and half (k,) must agree in shape")
    if any(v < 0 for v in yq):
        return None
    D = sum((yq[i] * nq[i] for i in range(m)), _q(0.0))
    if not D > 0:
        return None
    N = sum((yq[i] * hq[i] for i in range(m)), _q(0.0))
    for j in range(Gq.shape[1]):
        N += abs(sum((yq[i] * Gq[i, j] for i in range(m)), _q(0.0))) * bq[j]
    return N / D


_KINDS = {0: "side", 1: "piece", 2: "domain"}


def _argmax_rows(G, g, p0: int, p: int, K: int, rows: list, rhs: list) -> bool:
    """Append the exact rows "piece ``p`` is the unit's argmax", ``f_q - f_p <= 0`` for the unit's pieces ``p0 ..
    p0 + K - 1`` (rows of ``G t + g``), to ``rows``/``rhs``; False when a tie rule makes it impossible (a piece
    identical to ``p``, or above it by a constant: the lower index wins ties)."""
    for qq in range(K):
        if qq == p:
            continue
        dG = [G[p0 + qq, j] - G[p0 + p, j] for j in range(G.shape[1])]
        dg = g[p0 + qq] - g[p0 + p]
        if all(v == 0 for v in dG):
            if dg > 0 or (dg == 0 and qq < p):
                return False
            continue
        rows.append(dG)
        rhs.append(-dg)
    return True


def _redecide_rows(network, domain, kind: int, layer: int, unit: int, piece: int, pattern):
    """The exact rows ``(A, b)`` (object arrays, domain coordinates ``t``) of the set a failed decision discarded,
    or ``None`` when it is empty by a tie rule alone (identical pieces: the lower index wins)."""
    from .exact import exact_layer_pieces, to_rational

    A0, b0 = domain.constraints()
    rows = [list(r) for r in to_rational(A0)]
    rhs = list(to_rational(b0))
    if kind == 2:
        return np.array(rows, dtype=object), np.array(rhs, dtype=object)
    origin, basis = domain.parametrization()
    pat = np.where(np.asarray(pattern) < 0, 0, pattern).astype(np.int64)
    pieces = exact_layer_pieces(network, pat, layer, origin, basis)

    def wins(G, g, p0, p, K):
        return _argmax_rows(G, g, p0, p, K, rows, rhs)

    off = 0
    for j, lay in enumerate(network.layers[:layer + 1]):
        G, g = pieces[j]
        for u in range(lay.n_units):
            p0, K = int(lay.piece_start[u]), int(lay.n_pieces[u])
            if K < 2:
                continue
            if j == layer and u == unit:
                if not wins(G, g, p0, piece, K):
                    return None
            elif (j < layer or pattern[off + u] >= 0) and not wins(G, g, p0, int(pat[off + u]), K):
                return None
        off += lay.n_units
    return np.array(rows, dtype=object), np.array(rhs, dtype=object)


def _redecide(network, domain, tol: float, kind, layer, unit, piece, pattern) -> dict:
    """Re-decide one failed decision exactly: ``"confirmed"`` (the set holds no ball of radius ``> tol``),
    ``"refuted"`` (it holds one) or ``"undecided"``, with the rational enclosure of its inradius."""
    info = {"kind": _KINDS[int(kind)], "layer": int(layer), "unit": int(unit), "piece": int(piece),
            "pattern": np.asarray(pattern, dtype=np.int8).copy()}
    built = _redecide_rows(network, domain, int(kind), int(layer), int(unit), int(piece), pattern)
    if built is None:
        info.update(outcome="confirmed", radius_lo=None, radius_hi=None)
        return info
    info.update(_radius_outcome(*built, _q(tol)))
    return info


def _radius_outcome(A, b, tq) -> dict:
    """The exact inradius of ``{A t <= b}`` (object arrays) against the rational ``tq``: ``outcome``
    ``"confirmed"`` (at most ``tq``), ``"refuted"`` (above it) or ``"undecided"``, with the float enclosure
    ``radius_lo``, ``radius_hi`` (rounded outwards) and ``positive`` (an interior point proven)."""
    from .exact_lp import chebyshev_radius_exact

    for bits in (64, 256):
        enc = chebyshev_radius_exact(A, b, bits=bits)
        if enc.status == "empty":
            return {"outcome": "confirmed", "radius_lo": None, "radius_hi": None, "positive": False}
        if enc.status == "bounded" and enc.hi <= tq:
            return {"outcome": "confirmed", "radius_lo": float(enc.lo), "radius_hi": _round_up(enc.hi),
                    "positive": enc.positive}
        if enc.positive and (enc.status == "unbounded" or enc.lo > tq):
            return {"outcome": "refuted", "radius_lo": _round_down(enc.lo) if enc.lo is not None else float("inf"),
                    "radius_hi": None if enc.hi is None else _round_up(enc.hi), "positive": True}
    return {"outcome": "undecided", "radius_lo": float(enc.lo) if enc.lo is not None else None,
            "radius_hi": float(enc.hi) if enc.hi is not None else None, "positive": enc.positive}


def _enumeration_certificate(partition: Partition, core: dict, options: dict) -> EnumerationCertificate:
    """Assemble the certificate of a certified run: the core's counts, the witnesses, the failures re-decided."""
    t0 = time.perf_counter()
    net, dom, tol = partition.network, partition.domain, float(partition.tol)
    s = options["_s"]
    wit = certify_witnesses(partition)
    where, pats = core["failure_where"], core["failure_pattern"]
    confirmed, refuted, undecided = 0, [], []
    for i in range(where.shape[0]):
        kind, layer, unit, piece = (int(v) for v in where[i])
        res = _redecide(net, dom, tol, kind, layer, unit, piece, pats[i])
        if res["outcome"] == "confirmed":
            confirmed += 1
        elif res["outcome"] == "refuted":
            refuted.append(res)
        else:
            undecided.append(res)
    notes = []
    if not partition.complete:
        notes.append(f"the enumeration stopped early (status {partition.status!r})")
    if not wit.ok:
        notes.append(f"{wit.failed.size} region(s) not proven to exist")
    unrecorded = int(core["failed"]) - int(where.shape[0])
    if unrecorded > 0:
        notes.append(f"{unrecorded} failed decision(s) past the first {MAX_FAILURES} not re-decided")
    if undecided:
        notes.append(f"{len(undecided)} failed decision(s) undecided exactly")
    if refuted:
        first = refuted[0]
        notes.append(f"{len(refuted)} decision(s) refuted: e.g. the {first['kind']} {first['piece']} of unit "
                     f"{first['unit']} of layer {first['layer']} holds a ball of radius >= {first['radius_lo']:.3g}")
        status = "refuted"
    elif notes:
        status = "incomplete"
    else:
        status = "certified"
    statement = (f"Every listed region exists (an exact rational witness strictly inside the domain with every unit "
                 f"decided), and every activation region of the network over the domain (weights and bounds taken as "
                 f"the exact binary fractions they are) that contains a ball of radius > {tol:.6g} is listed: each of "
                 f"the {int(core['decisions'])} decisions that discarded a side, argmax cell or cell is proven by a "
                 f"rigorous LP dual bound or by an exact rational LP.")
    max_thin = float(core["max_thin"])
    return EnumerationCertificate(
        status=status, statement=statement, tol=tol, n_regions=len(partition),
        n_regions_certified=int(wit.certified.sum()), n_decisions=int(core["decisions"]),
        n_decisions_certified=int(core["certified"]), n_empty=int(core["empty"]), n_thin=int(core["thin"]),
        max_thin_inradius_bound=max_thin * s * (1 + 1e-15) if np.isfinite(max_thin) else max_thin,
        n_failed=int(core["failed"]), n_confirmed=confirmed, refuted=refuted, undecided=undecided, witnesses=wit,
        seconds=time.perf_counter() - t0, message="; ".join(notes),
        thin_records={key: core[f"thin_{key}"] for key in ("where", "pattern", "bound")} if "thin_where" in core
        else None)


def _exact_packed(partition: Partition, wit: WitnessCertificate) -> np.ndarray:
    """The packed patterns of ``partition`` with the re-decided ones of ``wit`` in place of the stored ones."""
    packed = partition.packed_patterns
    if wit.relabeled.size:
        from .partition import _pack

        packed = packed.copy()
        packed[wit.relabeled] = _pack(partition.network, wit.exact_patterns)
    return packed


def _pattern_radius(network, domain, pattern, tq) -> dict:
    """:func:`_radius_outcome` of the exact region of ``pattern`` on ``domain`` (its exact H-representation,
    domain rows included: :func:`relutope.certified_facets.exact_region_halfspaces`)."""
    from .certified_facets import exact_region_halfspaces

    H = exact_region_halfspaces(network, domain, pattern)
    return _radius_outcome(H.A, H.b, tq)


def _listed_regions_exist(partition: Partition, wit: WitnessCertificate, tq):
    """The regions whose witness failed, decided by their exact region: ``(proven, refuted, undecided)`` with
    ``proven`` the count proven to exist after all (an exact interior), ``refuted`` the absent and duplicate
    listings (dicts as :attr:`EnumerationCertificate.refuted`), ``undecided`` the indices left."""
    proven, refuted, undecided = 0, [], []
    patterns = partition._patterns_at(wit.failed) if wit.failed.size else None
    for j, (i, why) in enumerate(zip(wit.failed.tolist(), wit.reasons)):
        pattern = patterns[j].copy()
        if why == "duplicate":
            refuted.append({"kind": "duplicate_region", "index": int(i), "pattern": pattern})
            continue
        res = _pattern_radius(partition.network, partition.domain, pattern, tq)
        if res["positive"]:
            proven += 1
        elif res["outcome"] == "confirmed" and (res["radius_hi"] is None or res["radius_hi"] <= 0):
            refuted.append({"kind": "absent_region", "index": int(i), "pattern": pattern,
                            "radius_hi": res["radius_hi"]})
        else:
            undecided.append(int(i))
    return proven, refuted, undecided


#: At most this many regions that a partition lacks are decided exactly by :func:`certify_partition`.
MAX_REGION_CHECKS = 100


def certify_partition(partition: Partition, *, method: str = "enumerate", time_limit: Optional[float] = None,
                      threads: Optional[int] = None) -> EnumerationCertificate:
    """Certify a partition after the fact: its regions exist and none of inradius ``> tol`` is missing.

    Parameters
    ----------
    partition : Partition
        Any partition (from :func:`~relutope.enumerate_regions` with any ``method``, loaded from a file, or
        assembled by hand); its network, domain and ``tol`` define the statement.
    method : {"enumerate", "closure"}, optional
        How completeness is proven (existence is proven the same way by both, see Notes).

        ``"enumerate"`` (default): the certified enumeration is run again on the partition's network, domain
        and ``tol`` (``enumerate_regions(..., certify=True)``), and every region it finds must be listed or be
        proven exactly to have inradius ``<= tol`` (its exact H-representation and the exact Chebyshev LPs of
        :func:`relutope.exact_lp.chebyshev_radius_exact`). Proves: every region of inradius ``> tol`` is listed.
        A region of inradius ``> tol`` that the partition lacks refutes it (``"missing_region"``); at most
        :data:`MAX_REGION_CHECKS` lacking regions are decided (two exact LPs each), the rest are counted.

        ``"closure"``: exact facet-neighbour closure (:func:`relutope.certified_facets.certified_completeness`,
        as ``partition.check_complete(certify=True)``): every row of every listed region proven a facet or
        redundant, and every facet inside the domain shared with a listed neighbour. Proves more: the closures of
        the listed regions cover the domain, so no region at all is missing, however thin; a gap is not a
        refutation (the region across it may be listed but not proven to cover the facet), so a partition with a
        gap comes back ``"incomplete"``. Costs exact LPs per facet (about 0.3 s per ACAS Xu region); the
        statement fails on a partition whose ``tol`` dropped thin regions.
    time_limit : float, optional
        Seconds for the re-enumeration (``"enumerate"``); past it the certificate is ``"incomplete"``.
    threads : int, optional
        Threads of the re-enumeration (default: every core).

    Returns
    -------
    EnumerationCertificate
        ``method`` says which proof ran (``"re-enumeration"`` or ``"closure"``). With ``"re-enumeration"`` the
        decision counts are those of the certified re-run; ``status`` is ``"certified"``, ``"refuted"`` (a
        listed region proven absent, a pattern listed twice, or a region of inradius ``> tol`` proven missing:
        see ``refuted``) or ``"incomplete"`` (``message`` says what was not proven).

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`.
    ValueError
        When ``method`` is unknown, or (``"enumerate"``) the domain cannot be certified (see
        :func:`~relutope.enumerate_regions`' ``certify``) or ``time_limit`` is not positive.
    ImportError
        When python-flint is not installed.

    Notes
    -----
    Existence: :func:`certify_witnesses` (an exact witness strictly inside the domain with every unit decided);
    a listed region whose witness fails is decided on its exact region instead: an exact interior point proves
    it exists, an exact Chebyshev radius ``<= 0`` proves it absent. The partition's own floating-point
    decisions are not stored, so completeness cannot be checked from them; it is proven afresh, by the
    certified enumeration (its design and sources: :class:`EnumerationCertificate`; Neumaier & Shcherbina 2004)
    or by the exact facet closure (a polyhedral complex whose every interior facet is shared covers the
    connected domain: Ziegler, "Lectures on Polytopes", 1995, Section 5.1, for the facet structure).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 6, 1], seed=0),
    ...                                   relutope.Box([-1, -1], [1, 1]))
    >>> cert = part.certify()
    >>> cert.status, cert.method, cert.n_regions == len(part)
    ('certified', 're-enumeration', True)
    """
    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    if method not in ("enumerate", "closure"):
        raise ValueError(f"method must be 'enumerate' or 'closure', got {method!r}")
    t0 = time.perf_counter()
    net, dom, tol = partition.network, partition.domain, float(partition.tol)
    tq = _q(tol)
    if method == "closure":
        from .certified_facets import certified_completeness

        rep = certified_completeness(partition)
        wit = rep.certificate["witnesses"]
        proven, refuted, undecided = _listed_regions_exist(partition, wit, tq)
        notes = []
        if undecided:
            notes.append(f"{len(undecided)} listed region(s) not proven to exist")
        if rep.gaps:
            notes.append(f"{len(rep.gaps)} interior facet(s) not proven covered by a listed neighbour")
        if not rep.certificate["facets"].ok:
            notes.append("some rows were proven neither facets nor redundant")
        if not len(partition):
            notes.append("the partition lists no region")
        status = "refuted" if refuted else ("incomplete" if notes else "certified")
        statement = ("Every listed region exists (an exact rational witness strictly inside the domain with every "
                     "unit decided, or an exact interior point of its exact region), and the closures of the listed "
                     "regions cover the domain (every row of every region proven a facet or redundant, every "
                     "interior facet shared with a listed neighbour, in exact arithmetic): no activation region, "
                     "however thin, is missing.")
        return EnumerationCertificate(
            status=status, statement=statement, tol=tol, n_regions=len(partition),
            n_regions_certified=int(wit.certified.sum()) + proven, n_decisions=0, n_decisions_certified=0,
            n_empty=0, n_thin=0, max_thin_inradius_bound=-np.inf, n_failed=0, n_confirmed=0, refuted=refuted,
            witnesses=wit, seconds=time.perf_counter() - t0, message="; ".join(notes), method="closure",
            closure=rep)
    from .enumerate import enumerate_regions

    ref = enumerate_regions(net, dom, tol=tol, certify=True, time_limit=time_limit, threads=threads)
    rc = ref.certificate
    wit = certify_witnesses(partition)
    proven, refuted, undecided = _listed_regions_exist(partition, wit, tq)
    notes = []
    if rc.status != "certified":
        notes.append(f"the certified re-enumeration is {rc.status}: {rc.message}")
    if undecided:
        notes.append(f"{len(undecided)} listed region(s) not proven to exist")
    listed = {bytes(row) for row in _exact_packed(partition, wit)}
    ref_packed = _exact_packed(ref, rc.witnesses)
    lacking = [i for i in range(len(ref)) if bytes(ref_packed[i]) not in listed]
    thin_missing, open_missing = 0, 0
    if len(lacking) > MAX_REGION_CHECKS:
        notes.append(f"{len(lacking) - MAX_REGION_CHECKS} more region(s) of the re-enumeration are not listed (not "
                     f"checked: at most {MAX_REGION_CHECKS} are)")
        lacking = lacking[:MAX_REGION_CHECKS]
    if lacking:
        from . import _core

        pats = _core.unpack_patterns(net._core(), np.ascontiguousarray(ref_packed[lacking]))
        wx = ref._witnesses_at(np.array(lacking))
        for j, i in enumerate(lacking):
            res = _pattern_radius(net, dom, pats[j], tq)
            if res["outcome"] == "refuted":
                refuted.append({"kind": "missing_region", "pattern": pats[j].copy(), "witness": wx[j].copy(),
                                "radius_lo": res["radius_lo"]})
            elif res["outcome"] == "confirmed":
                thin_missing += 1
            else:
                open_missing += 1
    if open_missing:
        notes.append(f"{open_missing} region(s) of the re-enumeration are not listed and their inradius is not "
                     f"decided against tol")
    if thin_missing:
        notes.append(f"{thin_missing} region(s) of the re-enumeration are not listed, each proven of inradius <= tol")
    if refuted:
        status = "refuted"
    elif any(not n.endswith("proven of inradius <= tol") for n in notes):
        status = "incomplete"
    else:
        status = "certified"
    statement = (f"Every listed region exists (an exact rational witness strictly inside the domain with every unit "
                 f"decided, or an exact interior point of its exact region), and every activation region of the "
                 f"network over the domain (weights and bounds taken as the exact binary fractions they are) that "
                 f"contains a ball of radius > {tol:.6g} is listed: a certified re-enumeration "
                 f"({rc.n_decisions} decisions, each proven) found no region of inradius > tol that is not listed.")
    return EnumerationCertificate(
        status=status, statement=statement, tol=tol, n_regions=len(partition),
        n_regions_certified=int(wit.certified.sum()) + proven, n_decisions=rc.n_decisions,
        n_decisions_certified=rc.n_decisions_certified, n_empty=rc.n_empty, n_thin=rc.n_thin,
        max_thin_inradius_bound=rc.max_thin_inradius_bound, n_failed=rc.n_failed, n_confirmed=rc.n_confirmed,
        refuted=refuted, undecided=list(rc.undecided), witnesses=wit,
        seconds=time.perf_counter() - t0, message="; ".join(notes), method="re-enumeration")
