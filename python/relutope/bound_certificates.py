"""Certified output bounds: the exact maximum and minimum of ``C y + d`` over a domain, enclosed between two
numbers proven in exact rational arithmetic (``output_bounds(..., certify=True)``).

For every row ``i`` the certificate gives an interval ``[max_lower[i], max_upper[i]]`` that contains the exact
maximum of ``C_i net(x) + d_i`` over the domain, the weights, ``C``, ``d`` and the domain taken as the exact binary
fractions they are (and the same for the minimum):

lower end (attained)
    An exact rational input ``x`` in the closed domain (``argmax_exact[i]``) and its exact forward pass
    (:func:`relutope.exact.exact_forward`): ``C_i net(x) + d_i`` is a value the function takes, so the maximum is
    at least that. ``x`` is the float LP optimum of the best region, taken as the rational it is, when it lies in
    the domain exactly; else that point moved towards the region's witness (strictly inside the domain) until it
    does.
upper end (proven)
    The certified enumeration (``enumerate_regions(..., certify=True)``) lists the regions; on region ``Q`` the
    objective is the exact affine function ``w . t + w0`` (:func:`relutope.exact.exact_affine_map`) and the
    region the exact polytope ``G t <= h`` of its pattern, domain rows included
    (:func:`relutope.certified_facets.exact_region_halfspaces`; the layers converted to rationals once per run).
    The float LP (scipy's HiGHS) of ``max w . t`` gives multipliers ``mu >= 0``, taken as the rationals they are; for every ``t`` of the region
    ``w . t = (w - G^T mu) . t + mu . G t <= mu . h + max over the domain's coordinate box of (w - G^T mu) . t``,
    evaluated exactly (weak duality with the residual bounded over a box: Neumaier & Shcherbina, "Safe bounds in
    linear and mixed-integer linear programming", Math. Programming 99, 2004, Section 2). The maximum over the
    listed regions bounds the objective on their closures.

What the regions do not cover: the cells the certified enumeration discarded as thinner than ``tol`` without
proving them empty (``EnumerationCertificate.n_thin``, recorded in ``thin_records``), and everything when the
enumeration is incomplete. A thin cell proven to have no interior (exact Chebyshev radius ``<= 0``, e.g. the
zero-width side between duplicate hyperplanes or at lines through one point) needs no bound: the finitely many such
closed sets are nowhere dense, so the listed regions together with the other cells are dense in the domain and,
the network being continuous, the supremum over the domain is the supremum over them (the Baire-category argument
in its finite form: a finite union of closed sets without interior has no interior). Each other thin cell is
rebuilt exactly and its own activation regions enumerated in exact arithmetic (depth first over the units it
leaves undecided, a piece kept when its exact set has an interior, exact Chebyshev LPs), so that the objective's
maximum over it is an exact LP per leaf (:func:`_thin_cell_extremes`); a cell that needs more than a budget of
exact LPs (:data:`THIN_CELL_LPS`) is rebuilt exactly (the rows of its partial pattern and the
discarded side), its exact bounding box found by exact LPs (:func:`relutope.exact_lp.solve_lp_exact`), and the
objective bounded over that box by symbolic interval propagation with every rounding error bounded
(:func:`relutope.verdict_certificates.rigorous_box_bounds`: Wang et al., NeurIPS 2018; Zhang et al., NeurIPS
2018); the upper end is the larger of that and the regions' bound. An incomplete run (or thin cells past the
recorded ones) is bounded the same way over the domain's bounding box. ``thin_bounded_by`` says which bound set
an end; the interval is then still proven, only wider than the regions alone would make it.

The cost is that of exact arithmetic: one exact H-representation, affine map and dual check per region and row,
and no pruning (the engine's relaxation pruning is not trusted); meant for small networks and for the check of a
few bounds, not as a replacement of :func:`relutope.output_bounds`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

__all__ = ["OutputBoundsCertificate", "certify_output_bounds", "THIN_CELL_LPS"]


@dataclass
class OutputBoundsCertificate:
    """The proof behind ``output_bounds(..., certify=True)``.

    Attributes
    ----------
    status : str
        ``"certified"``: the certified enumeration is complete and proven and every region bounded, so the
        intervals are as tight as the regions make them. ``"incomplete"``: the enumeration stopped or was not
        proven complete (``message``); the intervals are still proven, with the upper ends from the rigorous
        bound over the whole domain.
    max_lower, max_upper : ndarray, shape (q,), float64
        ``max_lower[i] <= max_x (C_i net(x) + d_i) <= max_upper[i]`` for the exact network on the exact domain
        (floats rounded outwards from the exact rationals ``max_attained`` and ``max_proven``).
    min_lower, min_upper : ndarray, shape (q,), float64
        The same for the minimum; ``min_upper`` is attained.
    max_attained, max_proven, min_attained, min_proven : list of flint.fmpq, length q
        The exact rational ends.
    argmax_exact, argmin_exact : list of ndarray of flint.fmpq, shape (n_inputs,)
        The exact inputs attaining ``max_attained`` and ``min_attained`` (inside the closed domain).
    regions : int
        Regions bounded.
    thin_bounded_by : str
        Which bound set the proven ends beyond the listed regions: ``""`` (nothing needed a bound: every discarded
        cell proven empty or without interior), ``"regions"`` (thin cells with interior were bounded, below the
        regions' bound), ``"thin"`` (a thin cell's rigorous bound over its exact bounding box set an end) or ``"domain"``
        (the rigorous bound over the domain's box did: an incomplete run, or more thin cells than recorded).
    enumeration : relutope.certificates.EnumerationCertificate
    partition : relutope.Partition
        The certified enumeration's regions.
    seconds : float
        Time of the certification after the enumeration.
    message : str
    """

    status: str
    max_lower: np.ndarray
    max_upper: np.ndarray
    min_lower: np.ndarray
    min_upper: np.ndarray
    max_attained: list = field(default_factory=list)
    max_proven: list = field(default_factory=list)
    min_attained: list = field(default_factory=list)
    min_proven: list = field(default_factory=list)
    argmax_exact: list = field(default_factory=list)
    argmin_exact: list = field(default_factory=list)
    regions: int = 0
    thin_bounded_by: str = ""
    enumeration: object = None
    partition: object = None
    seconds: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the intervals are region-tight (``status == "certified"``)."""
        return self.status == "certified"

    def __repr__(self) -> str:
        gap = float(np.max(np.maximum(self.max_upper - self.max_lower, self.min_upper - self.min_lower))) \
            if self.max_upper.size else 0.0
        return (f"OutputBoundsCertificate(status={self.status!r}, rows={self.max_upper.size}, regions={self.regions}, "
                f"largest gap={gap:.3g}, thin_bounded_by={self.thin_bounded_by!r})")


def _up(q) -> float:
    from .certificates import _round_up

    return _round_up(q)


def _down(q) -> float:
    from .certificates import _round_down

    return _round_down(q)


def _domain_box(domain, lo_t, hi_t):
    """Float boxes ``[xlo, xhi]`` (rounded outwards) holding ``x = origin + basis t`` for ``t`` in
    ``[lo_t, hi_t]`` (exact)."""
    from .exact import to_rational

    origin, basis = domain.parametrization()
    oq, Bq = to_rational(origin), to_rational(basis)
    xlo, xhi = [], []
    for i in range(origin.shape[0]):
        lo, hi = oq[i], oq[i]
        for j in range(basis.shape[1]):
            a = Bq[i, j]
            lo += min(a * lo_t[j], a * hi_t[j])
            hi += max(a * lo_t[j], a * hi_t[j])
        xlo.append(_down(lo))
        xhi.append(_up(hi))
    return np.array(xlo), np.array(xhi)


def _in_domain(Aq, bq, t) -> bool:
    return all(sum((Aq[i, j] * t[j] for j in range(len(t))), 0) <= bq[i] for i in range(Aq.shape[0]))


def _attaining_point(Aq, bq, t_star, t_wit):
    """An exact point of the closed domain near the float point ``t_star``: itself, or moved towards the exact
    witness ``t_wit`` (strictly inside the domain) by the first ``theta`` in 1, 1 - 2^-40, 1 - 2^-20, 1/2, 0
    that lands inside."""
    from .certificates import _q

    ts, tw = list(t_star), list(t_wit)
    for e in (None, -40, -20, -1):
        theta = _q(1.0) if e is None else _q(1.0) - _q(2.0 ** e)
        t = [tw[j] + theta * (ts[j] - tw[j]) for j in range(len(ts))]
        if _in_domain(Aq, bq, t):
            return t
    return tw


class _RegionLP:
    """The LPs ``max ws . t + w0`` over one region ``{HA t <= Hb}`` (exact rows, object arrays), each with the
    exact upper bound its float multipliers prove (module docstring).

    The float LP (scipy's HiGHS) runs in the engine's frame ``t = c + s v`` (``cq``, ``sq`` exact) with unit-norm
    rows, so that HiGHS's absolute tolerances mean the same at every scale and position of the domain; the float
    rows are built once per region. The exact check is made on those same rows (a positive rational scaling of a
    row changes nothing), and only on the rows with a non-zero multiplier (at most ``k`` at a vertex), ``v`` in
    the box ``[(lo_t - c) / s, (hi_t - c) / s]``.
    """

    def __init__(self, HA, Hb, lo_t, hi_t, cq, sq):
        self.HA, self.Hb, self.cq, self.sq = HA, Hb, cq, sq
        self.k, self.m = HA.shape[1], len(Hb)
        s, c = float(sq), np.array([float(v) for v in cq])
        G = np.array([[float(v) for v in row] for row in HA], dtype=np.float64).reshape(self.m, self.k)
        h = np.array([float(v) for v in Hb], dtype=np.float64) - G @ c
        G = G * s
        self.norms = np.linalg.norm(G, axis=1)
        self.norms[~(self.norms > 0) | ~np.isfinite(self.norms)] = 1.0
        self.G, self.h = G / self.norms[:, None], h / self.norms
        self.lo_v = [(lo_t[j] - cq[j]) / sq for j in range(self.k)]
        self.hi_v = [(hi_t[j] - cq[j]) / sq for j in range(self.k)]
        self._rows = {}

    def _row(self, i):
        """Row ``i`` in ``v``, scaled by the float norm, exactly: ``(s HA_i / n_i, (Hb_i - HA_i . c) / n_i)``."""
        if i not in self._rows:
            from .certificates import _q

            nq = _q(float(self.norms[i]))
            a = [self.sq * self.HA[i, j] / nq for j in range(self.k)]
            rhs = (self.Hb[i] - sum((self.HA[i, j] * self.cq[j] for j in range(self.k)), 0)) / nq
            self._rows[i] = (a, rhs)
        return self._rows[i]

    def bound(self, ws, w0):
        """``(bound, value, t_star)``: the exact proven bound, the float optimum and the optimal point (exact
        rationals of the float one), or ``None`` when HiGHS finds no optimum."""
        from scipy.optimize import linprog

        from .exact import to_rational

        k = self.k
        wv = [self.sq * v for v in ws]
        w0v = w0 + sum((ws[j] * self.cq[j] for j in range(k)), 0)
        wf = np.array([float(v) for v in wv])
        wn = float(np.linalg.norm(wf)) or 1.0
        res = linprog(-wf / wn, A_ub=self.G, b_ub=self.h, bounds=[(None, None)] * k, method="highs")
        if res.status != 0:
            return None
        y = np.maximum(-res.ineqlin.marginals, 0.0) * wn
        used = np.flatnonzero(y > 0)
        mu = to_rational(y[used])
        resid, bound = list(wv), w0v
        for i, mi in zip(used.tolist(), mu):
            a, rhs = self._row(i)
            for j in range(k):
                resid[j] -= mi * a[j]
            bound += mi * rhs
        bound += sum((max(resid[j] * self.lo_v[j], resid[j] * self.hi_v[j]) for j in range(k)), 0)
        vq = to_rational(res.x)
        return bound, -res.fun * wn + float(w0v), [self.cq[j] + self.sq * vq[j] for j in range(k)]


class _Budget(Exception):
    """More exact LPs than a thin cell's exact enumeration may spend."""


#: Exact LPs a thin cell's exact enumeration may spend before it is bounded over its box instead.
THIN_CELL_LPS = 400


def _thin_cell_extremes(net, domain, where, pattern, objectives, budget: Optional[int] = None):
    """The exact maximum of each objective over the closure of one discarded thin cell, by an exact enumeration
    of its activation regions: ``"empty"`` (no interior: no bound needed), a list ``[(max of f_i, max of -f_i)
    for i]`` of exact rationals, or ``None`` when ``budget`` exact LPs were not enough.

    Depth first over the units the cell leaves undecided (those of its layer after the discarding decision, then
    every later layer), each piece kept when its exact set has an interior (exact Chebyshev radius ``> 0``; sets
    without one are nowhere dense and need no bound, module docstring); at a leaf the output is one exact affine
    map and each objective's maximum over the leaf's closure an exact LP (:func:`relutope.exact_lp.solve_lp_exact`).
    ``objectives``: ``(w, w0)`` pairs, the objective's exact coefficients on the output and its offset.
    """
    from .certificates import _argmax_rows, _redecide_rows
    from .exact import exact_layer_pieces
    from .exact_lp import chebyshev_radius_exact, solve_lp_exact

    kind, layer, unit, piece = (int(v) for v in where)
    built = _redecide_rows(net, domain, kind, layer, unit, piece, pattern)
    if built is None:
        return "empty"
    budget = THIN_CELL_LPS if budget is None else budget
    spent = [0]

    def interior(rows, rhs):
        if spent[0] >= budget:
            raise _Budget
        spent[0] += 1
        return chebyshev_radius_exact(np.array(rows, dtype=object), np.array(rhs, dtype=object)).positive

    rows0, rhs0 = [list(r) for r in built[0]], list(built[1])
    if not interior(rows0, rhs0):
        return "empty"
    origin, basis = domain.parametrization()
    offsets = np.concatenate([[0], np.cumsum([lay.n_units for lay in net.layers])])
    pat = np.asarray(pattern, dtype=np.int64).copy()
    if kind != 2:
        pat[offsets[layer] + unit] = piece
    else:
        layer = 0
        pat[:] = -1
    order = [(j, u) for j, lay in enumerate(net.layers) for u in range(lay.n_units)
             if j >= layer and pat[offsets[j] + u] < 0]
    best = [[None, None] for _ in objectives]

    def leaf(rows, rhs):
        last = len(net.layers) - 1
        G, g = exact_layer_pieces(net, np.maximum(pat, 0), last, origin, basis)[last]
        lay = net.layers[last]
        sel = lay.piece_start[:-1] + np.maximum(pat[offsets[last]:], 0)
        A, b = np.array(rows, dtype=object), np.array(rhs, dtype=object)
        for i, (w, w0) in enumerate(objectives):
            c = [sum((w[o] * G[sel[o], j] for o in range(len(sel))), 0) for j in range(G.shape[1])]
            c0 = sum((w[o] * g[sel[o]] for o in range(len(sel))), 0) + w0
            for sense, sign in ((0, 1), (1, -1)):
                if spent[0] >= budget:
                    raise _Budget
                spent[0] += 1
                res = solve_lp_exact(np.array([sign * v for v in c], dtype=object), A, b)
                if res.status != "optimal":
                    raise _Budget  # (a bounded cell: not reached)
                v = res.value + sign * c0
                if best[i][sense] is None or v > best[i][sense]:
                    best[i][sense] = v

    def descend(idx, rows, rhs, pieces):
        if idx == len(order):
            leaf(rows, rhs)
            return
        j, u = order[idx]
        lay = net.layers[j]
        K = int(lay.n_pieces[u])
        if K < 2:
            pat[offsets[j] + u] = 0
            descend(idx + 1, rows, rhs, pieces)
            pat[offsets[j] + u] = -1
            return
        if pieces is None or pieces[0] != j:  # layer j's pieces: the layers before it are all decided here
            pieces = (j, exact_layer_pieces(net, np.maximum(pat, 0), j, origin, basis)[j])
        G, g = pieces[1]
        p0 = int(lay.piece_start[u])
        for p in range(K):
            r2, h2 = list(rows), list(rhs)
            if _argmax_rows(G, g, p0, p, K, r2, h2) and interior(r2, h2):
                pat[offsets[j] + u] = p
                descend(idx + 1, r2, h2, pieces)
        pat[offsets[j] + u] = -1

    try:
        descend(0, rows0, rhs0, None)
    except _Budget:
        return None
    if best and best[0][0] is None:  # no sub-region with an interior: the cell is nowhere dense after all
        return "empty"
    return best


def _thin_boxes(net, domain, records, lo_t, hi_t):
    """Exact bounding boxes (in domain coordinates) of the discarded thin sets: ``(lo, hi)`` lists of lists,
    from the exact LPs ``max +-t_j`` over each set's exact rows (:func:`relutope.exact_lp.solve_lp_exact`); a set
    proven empty (or empty by a tie rule) or without interior (exact Chebyshev radius ``<= 0``) gives no box."""
    from .certificates import _redecide_rows
    from .exact_lp import chebyshev_radius_exact, solve_lp_exact

    boxes = []
    k = len(lo_t)
    for where, pattern in zip(records["where"], records["pattern"]):
        kind, layer, unit, piece = (int(v) for v in where)
        built = _redecide_rows(net, domain, kind, layer, unit, piece, pattern)
        if built is None:
            continue
        A, b = built
        if not chebyshev_radius_exact(A, b).positive:  # no interior: nowhere dense (module docstring)
            continue
        lo, hi, empty = [], [], False
        for j in range(k):
            e = np.zeros(k)
            e[j] = 1.0
            up = solve_lp_exact(e, A, b)
            if up.status == "infeasible":
                empty = True
                break
            down = solve_lp_exact(-e, A, b)
            hi.append(up.value if up.status == "optimal" else hi_t[j])
            lo.append(-down.value if down.status == "optimal" else lo_t[j])
        if not empty:
            boxes.append((lo, hi))
    return boxes


def certify_output_bounds(net, domain, C, d, *, tol=None, max_regions=None, time_limit=None,
                          threads=None) -> OutputBoundsCertificate:
    """Prove intervals holding the exact maximum and minimum of every row of ``C net(x) + d`` over ``domain``.

    Parameters
    ----------
    net : Network
    domain : Domain
        A domain ``enumerate_regions(..., certify=True)`` accepts (a Box, a Polytope, or an exactly mapped slice).
    C : ndarray, shape (q, n_outputs), float64
    d : ndarray, shape (q,), float64
    tol, max_regions, time_limit, threads
        As in :func:`relutope.enumerate_regions` (the certified enumeration's).

    Returns
    -------
    OutputBoundsCertificate
        See the module docstring for what is proven and how.

    Raises
    ------
    TypeError, ValueError
        As :func:`relutope.enumerate_regions` with ``certify=True``.
    ImportError
        When python-flint is not installed.
    NumericalError
        When HiGHS fails on the LP of a region (a listed region is non-empty, so its LP has an optimum).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.bound_certificates import certify_output_bounds
    >>> net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)),
    ...                                      (np.array([[1.0, 1.0]]), np.zeros(1))])   # |x|
    >>> cert = certify_output_bounds(net, relutope.Box([-2.0], [1.0]), np.eye(1), np.zeros(1))
    >>> cert.status, str(cert.max_attained[0]), str(cert.max_proven[0])   # the maximum 2, attained at x = -2
    ('certified', '2', '2')
    >>> bool(cert.min_lower[0] <= 0.0 <= cert.min_upper[0] < 1e-15)       # the minimum 0, to HiGHS's accuracy
    True
    """
    from .certificates import _coordinate_ranges, _exact_frame
    from .certified_facets import _exact_data, _halfspaces
    from .enumerate import enumerate_regions
    from .errors import NumericalError
    from .exact import _compose, exact_forward, to_rational
    from .verdict_certificates import rigorous_box_bounds

    part = enumerate_regions(net, domain, tol=tol, max_regions=max_regions, time_limit=time_limit, threads=threads,
                             certify=True)
    t0 = time.perf_counter()
    ecert = part.certificate
    q = C.shape[0]
    Cq, dq = to_rational(C), to_rational(d)
    origin, basis = domain.parametrization()
    oq, Bq = to_rational(origin), to_rational(basis)
    Ad, bd = domain.constraints()
    Adq, bdq = to_rational(Ad), to_rational(bd)
    lo_t, hi_t = _coordinate_ranges(domain)
    _, cq, sq = _exact_frame(domain)
    k = basis.shape[1]
    senses = ((0, 1), (1, -1))  # 0: the max of f, 1: the max of -f (the min)
    proven = [[None] * q for _ in range(2)]
    best = [[(-np.inf, None, None)] * q for _ in range(2)]
    patterns = part.patterns
    data = _exact_data(net, domain)  # the layers, the domain rows and x = origin + basis t, exact, converted once
    _, rational, _, _, M0, v0, _ = data
    for r in range(len(part)):
        pat = patterns[r].astype(np.int64)
        H = _halfspaces(data, pat)  # the region's exact rows in t, the domain's included
        for _, _, rows, G, g in _compose(net, pat, M0, v0, rational):
            out_t, off = G[rows], g[rows]  # the output as an exact affine function of t (last layer)
        lps = _RegionLP(H.A, H.b, lo_t, hi_t, cq, sq)
        for i in range(q):
            w, w0 = Cq[i].dot(out_t), Cq[i].dot(off) + dq[i]
            for sense, sign in senses:
                got = lps.bound([sign * v for v in w], sign * w0)
                if got is None:
                    raise NumericalError(f"certified output bounds: HiGHS found no optimum on the LP of region {r}")
                bound, value, t_star = got
                if proven[sense][i] is None or bound > proven[sense][i]:
                    proven[sense][i] = bound
                if value > best[sense][i][0]:
                    best[sense][i] = (value, t_star, r)
    # the attained ends: one exact forward pass per row and sense
    attained = [[None] * q for _ in range(2)]
    points = [[None] * q for _ in range(2)]
    witnesses = part.witness_coords
    for sense, sign in senses:
        for i in range(q):
            _, t_star, r = best[sense][i]
            if r is None:
                continue
            t = _attaining_point(Adq, bdq, t_star, to_rational(witnesses[r]))
            x = oq + Bq.dot(np.array(t, dtype=object))
            y, _, _ = exact_forward(net, x[None, :])
            attained[sense][i] = sign * (Cq[i].dot(y[0]) + dq[i])
            points[sense][i] = x
    # what the listed regions do not cover: the thin cells (bounded over their exact bounding boxes), the thin
    # cells past the recorded ones and an incomplete run (bounded over the domain's box)
    notes, boxes_lo, boxes_hi = [], [], []
    records = ecert.thin_records
    n_recorded = 0 if records is None else int(records["where"].shape[0])
    whole = not ecert.ok or ecert.n_thin > n_recorded or len(part) == 0
    if not ecert.ok:
        notes.append(f"the certified enumeration is {ecert.status}: {ecert.message}")
    if whole:
        xlo, xhi = _domain_box(domain, lo_t, hi_t)
        boxes_lo.append(xlo)
        boxes_hi.append(xhi)
    thin_by = ""
    if ecert.ok and ecert.n_thin and n_recorded:
        objectives = [(Cq[i], dq[i]) for i in range(q)]
        exact_cells, left = 0, {"where": [], "pattern": []}
        for where, pattern in zip(records["where"], records["pattern"]):
            got = _thin_cell_extremes(net, domain, where, pattern, objectives)
            if got is None:
                left["where"].append(where)
                left["pattern"].append(pattern)
                continue
            if got == "empty":
                continue
            exact_cells += 1
            for i in range(q):
                for sense in (0, 1):
                    if got[i][sense] is not None and got[i][sense] > proven[sense][i]:
                        proven[sense][i] = got[i][sense]
                        thin_by = "thin"
        thin_boxes = _thin_boxes(net, domain, left, lo_t, hi_t) if left["where"] else []
        for lo, hi in thin_boxes:
            xlo, xhi = _domain_box(domain, lo, hi)
            boxes_lo.append(xlo)
            boxes_hi.append(xhi)
        thin_by = thin_by or ("regions" if exact_cells or thin_boxes else "")
        notes.append(f"of {ecert.n_thin} cell(s) proven thinner than tol but not empty, {exact_cells} with an "
                     f"interior bounded exactly (their regions enumerated exactly), {len(thin_boxes)} rigorously over "
                     f"their exact bounding boxes; the others have no interior")
    if boxes_lo:
        lower, _ = rigorous_box_bounds(net, np.array(boxes_lo), np.array(boxes_hi), np.vstack([C, -C]))
        thin_by = thin_by or "regions"
        for sense, sign in senses:
            for i in range(q):
                # max of sign (C_i y + d_i) over a box <= -(lower bound of -sign C_i y) + sign d_i
                col = q + i if sign > 0 else i
                top = -to_rational(np.array([np.min(lower[:, col])]))[0] + sign * dq[i]
                if whole and not ecert.ok:  # the regions bound nothing beyond themselves
                    proven[sense][i] = top
                    thin_by = "domain"
                elif proven[sense][i] is None or top > proven[sense][i]:
                    proven[sense][i] = top
                    thin_by = "domain" if whole else "thin"
        if ecert.ok and whole:
            notes.append(f"{ecert.n_thin - n_recorded} thin cell(s) past the recorded ones: bounded over the domain")
    status = "certified" if ecert.ok else "incomplete"
    nan = float("nan")
    cert = OutputBoundsCertificate(
        status=status,
        max_lower=np.array([_down(v) if v is not None else -np.inf for v in attained[0]]),
        max_upper=np.array([_up(v) if v is not None else nan for v in proven[0]]),
        min_lower=np.array([_down(-v) if v is not None else nan for v in proven[1]]),
        min_upper=np.array([_up(-v) if v is not None else np.inf for v in attained[1]]),
        max_attained=attained[0], max_proven=proven[0],
        min_attained=[None if v is None else -v for v in attained[1]],
        min_proven=[None if v is None else -v for v in proven[1]], argmax_exact=points[0], argmin_exact=points[1],
        regions=len(part), thin_bounded_by=thin_by, enumeration=ecert, partition=part,
        seconds=time.perf_counter() - t0, message="; ".join(notes))
    return cert
