"""Comparing partitions: exact enumeration against sampling, and relutope's regions against another tool's list.

:func:`compare_regions` matches the regions another tool lists (as interior points, or activation patterns) to a
:class:`~relutope.Partition` and proves, in exact rational arithmetic, which list is right about every region
where they differ (see its docstring).

:func:`compare_sampling` enumerates a network's regions over a bounded domain exactly, then draws one stream of
uniform samples (:func:`relutope.sample_points`) and reports, at every sample budget ``n`` (the first ``n`` points of
that stream, so budgets are nested), how many of the exact regions were hit, the share of the domain's volume they
cover, the Chao1 richness estimate (:func:`relutope.chao1`) against the exact count, and the wall time.
"""
from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from ._checks import check_int, check_path, check_pieces, check_seed, reraise_interrupt
from .domains import Domain
from .errors import RelutopeError
from .geometry import MAX_VERTEX_DIM
from .network import Network
from .partition import Partition
from .sampling import DEFAULT_CHUNK, _check_domain, _check_net, _Sampler, chao1

__all__ = ["RegionComparison", "RegionDifference", "SamplingComparison",
           "compare_regions", "compare_sampling"]

#: Columns of :attr:`SamplingComparison.rows`, in table order.
COLUMNS = ("samples", "found", "recall", "volume_recall", "unmatched", "chao1", "chao1_lower", "chao1_upper",
           "chao1_covers", "seconds")

#: Sampled points whose pattern is missing from the exact partition are accepted (counted as ``unmatched``) when
#: they lie within ``max(BOUNDARY_ATOL * scale, 100 * tol)`` of one of the local boundaries of their own region.
BOUNDARY_ATOL = 1e-7


@dataclass(eq=False)
class SamplingComparison:
    """The result of :func:`compare_sampling`.

    Attributes
    ----------
    n_regions : int
        Number of regions found by the exact enumeration.
    exact_seconds : float
        Wall time of the exact enumeration (``partition.seconds``; that of the given partition if one was passed).
    volume_seconds : float
        Wall time of the regions' exact volumes (facets included, unless the partition had them cached); NaN when
        the domain's intrinsic dimension is above 6 (:data:`relutope.geometry.MAX_VERTEX_DIM`) and no volumes were
        computed.
    rows : list of dict
        One dict per budget, in increasing order of ``samples``, with the keys of ``COLUMNS``:
        ``samples`` (int), ``found`` (exact regions hit by the first ``samples`` points), ``recall``
        (``found / n_regions``), ``volume_recall`` (share of the domain's volume in the regions found; NaN when
        the domain's intrinsic dimension is above 6), ``unmatched`` (samples whose pattern is not in the exact
        partition: they lie in regions thinner than ``tol``, see :func:`compare_sampling`), ``chao1``,
        ``chao1_lower``, ``chao1_upper`` (the Chao1 estimate of the number of regions and its 95 % interval,
        from the pattern counts of those samples), ``chao1_covers`` (``chao1_lower <= n_regions <= chao1_upper``)
        and ``seconds`` (wall time to draw those samples, run the network on them and tally their patterns).
    first_hit : ndarray, shape (R,), int64
        For every exact region, the 1-based index in the sample stream of the first point that fell in it, or 0
        when none of the ``max(budgets)`` points did. ``recall(n) == mean((first_hit > 0) & (first_hit <= n))``.
    partition : Partition
        The exact partition.
    seed : int or None
        The seed of the sample stream.
    """

    n_regions: int
    exact_seconds: float
    rows: List[dict]
    first_hit: np.ndarray
    partition: Partition
    seed: object = None
    volume_seconds: float = math.nan
    _columns: Sequence[str] = field(default=COLUMNS, repr=False)

    def found(self, n: Optional[int] = None) -> np.ndarray:
        """Boolean mask (R,) of the exact regions hit by the first ``n`` samples (default: all of them)."""
        hit = self.first_hit > 0
        return hit if n is None else hit & (self.first_hit <= n)

    def table(self) -> str:
        """The rows as an aligned text table, headed by the exact count and the times of enumeration and volumes."""
        vols = "" if math.isnan(self.volume_seconds) else f", volumes in {self.volume_seconds:.3g} s"
        head = (f"exact: {self.n_regions} regions in {self.exact_seconds:.3g} s{vols} "
                f"(network {self.partition.network.widths}, domain {self.partition.domain!r})")
        titles = ("samples", "found", "recall", "vol.recall", "unmatched", "chao1", "chao1 95% CI", "covers",
                  "seconds")
        lines = []
        for r in self.rows:
            lines.append((f"{r['samples']:,}", f"{r['found']:,}", f"{r['recall']:.4f}",
                          "nan" if math.isnan(r["volume_recall"]) else f"{r['volume_recall']:.6f}",
                          f"{r['unmatched']:,}", f"{r['chao1']:.1f}",
                          f"[{r['chao1_lower']:.1f}, {r['chao1_upper']:.1f}]", "yes" if r["chao1_covers"] else "no",
                          f"{r['seconds']:.3g}"))
        widths = [max(len(t), *(len(line[i]) for line in lines)) for i, t in enumerate(titles)]
        fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
        return "\n".join([head, fmt(titles)] + [fmt(line) for line in lines])

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        from ._html import result_html

        return result_html(self)

    def to_csv(self, path) -> None:
        """Write the rows to a CSV file with a header line (``COLUMNS``) plus ``n_regions``, ``exact_seconds`` and
        ``volume_seconds`` (``path``: a str or os.PathLike, else TypeError)."""
        with open(check_path(path), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(list(self._columns) + ["n_regions", "exact_seconds", "volume_seconds"])
            for r in self.rows:
                w.writerow([r[c] for c in self._columns] + [self.n_regions, self.exact_seconds, self.volume_seconds])


def _check_budgets(budgets) -> List[int]:
    if isinstance(budgets, (int, np.integer)) and not isinstance(budgets, (bool, np.bool_)):
        budgets = [budgets]
    try:
        values = list(budgets)
    except TypeError:
        raise TypeError(f"budgets must be a sequence of ints, got {type(budgets).__name__}") from None
    if not values:
        raise ValueError("budgets must name at least one sample size")
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"budgets must contain ints, got {v!r} ({type(v).__name__})")
        if v <= 0:
            raise ValueError(f"budgets must be positive, got {v}")
    return sorted({int(v) for v in values})


def _boundary_distance(net: Network, sampler: _Sampler, t: np.ndarray) -> float:
    """Distance (in domain coordinates) from the point ``t`` to the nearest local boundary of its own region.

    The boundaries are the domain's rows ``A t <= b`` and, layer by layer, the ties between a unit's chosen piece
    and its other pieces, affine along the point's own pattern. The distance to the region's boundary is at least
    this, and at most the region's inradius, so a point of a region thinner than ``tol`` gets a value ``<= tol``.
    """
    A, b = sampler.A, sampler.b
    slack = b - A @ t
    norms = np.linalg.norm(A, axis=1)
    best = float(np.min(slack / np.where(norms > 0, norms, np.inf))) if A.shape[0] else math.inf
    h = sampler.t_to_x(t[None, :])[0]
    J = np.array(sampler.basis, dtype=np.float64)  # (d, k): d h / d t
    for layer in net.layers:
        z = layer.A @ h + layer.c
        G = layer.A @ J
        h_next, J_next = np.empty(layer.n_units), np.empty((layer.n_units, J.shape[1]))
        for k in range(layer.n_units):
            s, e = layer.piece_start[k], layer.piece_start[k + 1]
            j = s + int(np.argmax(z[s:e]))
            for r in range(s, e):
                if r != j:
                    g = np.linalg.norm(G[j] - G[r])
                    if g > 0:
                        best = min(best, float((z[j] - z[r]) / g))
            h_next[k], J_next[k] = z[j], G[j]
        h, J = h_next, J_next
    return best


def compare_sampling(net: Network, domain: Domain, budgets: Sequence[int] = (100, 1000, 10000, 100000), seed=0,
                     partition: Optional[Partition] = None, chunk: int = DEFAULT_CHUNK,
                     progress: bool = False) -> SamplingComparison:
    """Compare the exact activation regions of a network with those found by uniform sampling.

    Parameters
    ----------
    net : Network
    domain : Domain
        A bounded domain with ``domain.dim == net.in_dim`` (see :func:`relutope.sample_points`).
    budgets : sequence of int, optional
        Sample sizes (> 0) to report; they are sorted and deduplicated. All are prefixes of ONE stream of
        ``max(budgets)`` uniform points, ``sample_points(domain, max(budgets), seed)``, so a larger budget finds
        every region a smaller one found.
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng` for the sample stream.
    partition : Partition, optional
        A complete exact partition of ``domain`` for ``net`` (e.g. from an earlier :func:`enumerate_regions`);
        by default it is enumerated here with the default tolerance.
    chunk : int, optional
        Points processed at a time.
    progress : bool, optional
        Show tqdm bars counting regions for the enumeration (when ``partition`` is not given), the facets and the
        volumes.

    Returns
    -------
    SamplingComparison
        ``n_regions``, ``exact_seconds``, ``volume_seconds``, ``rows`` (one dict per budget; see
        :class:`SamplingComparison`), ``first_hit`` (R,) and the partition; ``table()`` and ``to_csv(path)``
        format the rows.

    Raises
    ------
    TypeError
        ``net`` is not a Network, ``domain`` not a Domain, ``partition`` not a Partition, ``budgets`` not a
        sequence of ints.
    ValueError
        ``budgets`` is empty or has an entry ``<= 0``; the domain is unbounded or its dimension is not
        ``net.in_dim``; ``partition`` is incomplete, or belongs to another network (its weights differ from
        ``net``'s: :meth:`Network.fingerprint`) or to another domain (not the same arrays).
    KeyboardInterrupt
        When Ctrl-C stopped the enumeration (no comparison can be made against part of the regions).
    RelutopeError
        A sample fell deep inside a region (farther than ``max(1e-7 * scale, 100 * tol)`` from every local
        boundary) whose pattern the exact partition lacks: the enumeration missed a region of positive inradius,
        which would be a bug.

    Notes
    -----
    Every pattern hit by sampling should be a region of the exact partition. The exception are regions of
    inradius ``<= tol``, which the enumeration leaves out by design (:func:`enumerate_regions`); a point of such a
    region lies within ``tol`` of a boundary (its distance to the boundary is at most the inradius), and floating
    point can also give a point within about ``1e-12`` of a boundary the pattern of an empty cell. Such samples are
    counted in the ``unmatched`` column (and their patterns in the Chao1 counts) instead of raising; a sample with
    an unknown pattern that is NOT that close to a boundary of its own region raises :class:`RelutopeError`.
    For uniform samples a region of relative volume ``v`` is missed by ``n`` points with probability
    ``(1 - v)**n``, so recall (count-weighted) lags far behind volume-weighted recall when regions are of very
    unequal size. Chao1 is Chao's (1987) bias-corrected estimator; see :func:`relutope.chao1`.

    Examples
    --------
    >>> import relutope
    >>> net = relutope.Network.random([2, 3, 1], seed=0)
    >>> res = relutope.compare_sampling(net, relutope.Box([-1, -1], [1, 1]), budgets=[10, 10000])
    >>> res.n_regions == len(relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1])))
    True
    >>> res.rows[-1]["recall"], res.rows[-1]["volume_recall"]
    (1.0, 1.0)
    """
    from .enumerate import enumerate_regions

    net = _check_net(net)
    domain = _check_domain(domain, net)
    budgets = _check_budgets(budgets)
    seed = check_seed(seed)
    chunk = check_int(chunk, "chunk")
    if partition is None:
        # Ctrl-C: stop, as outside the enumeration (it was a ValueError)
        partition = reraise_interrupt(enumerate_regions(net, domain, progress=progress))
    else:
        if not isinstance(partition, Partition):
            raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
        if partition.network is not net and partition.network.fingerprint() != net.fingerprint():
            raise ValueError(f"partition is of another network (widths {partition.network.widths}, fingerprint "
                             f"{partition.network.fingerprint()[:12]}...) than net (widths {net.widths}, "
                             f"fingerprint {net.fingerprint()[:12]}...): their weights differ")
        if partition.domain is not domain and not partition.domain._same(domain):
            raise ValueError(f"partition is over {partition.domain!r}, which is not domain {domain!r}")
    if not partition.complete:
        raise ValueError(f"partition must be complete to compare against, its status is {partition.status!r}")

    R = len(partition)
    index: Dict[bytes, int] = {row.tobytes(): i for i, row in enumerate(partition.patterns)}
    t_vol = time.perf_counter()
    volumes = partition.volumes(progress=progress) if domain.intrinsic_dim <= MAX_VERTEX_DIM else None
    volume_seconds = time.perf_counter() - t_vol if volumes is not None else math.nan
    total_volume = float(volumes.sum()) if volumes is not None else math.nan
    sampler = _Sampler(domain)
    scale = domain._default_scale()
    near = max(BOUNDARY_ATOL * scale, 100.0 * partition.tol)

    counts = np.zeros(R, dtype=np.int64)
    first_hit = np.zeros(R, dtype=np.int64)
    other: Dict[bytes, int] = {}  # unmatched patterns -> counts
    unmatched = 0
    done = 0
    seconds = 0.0
    rows: List[dict] = []
    pending = list(budgets)
    rng = np.random.default_rng(seed)
    width = np.dtype((np.void, net.n_units))
    t0 = time.perf_counter()
    for x, t in sampler.chunks(budgets[-1], rng, chunk):
        start = 0
        while start < x.shape[0]:
            stop = min(x.shape[0], start + pending[0] - done) if pending else x.shape[0]
            xs, ts = x[start:stop], t[start:stop]
            pats = np.ascontiguousarray(net.forward(xs)[1], dtype=np.int8)
            rowkeys = pats.view(width).ravel()
            keys, first, cnt = np.unique(rowkeys, return_index=True, return_counts=True)
            for key, i, c in zip(keys, first.tolist(), cnt.tolist()):
                j = index.get(key.tobytes())
                if j is not None:
                    counts[j] += c
                    if first_hit[j] == 0:
                        first_hit[j] = done + i + 1
                    continue
                other[key.tobytes()] = other.get(key.tobytes(), 0) + c
                unmatched += c
                # every sample of a pattern the partition lacks must lie next to a boundary of its own region
                for q in np.flatnonzero(rowkeys == key):
                    dist = _boundary_distance(net, sampler, ts[q])
                    if dist > near:
                        raise RelutopeError(
                            f"sample {done + int(q) + 1} (x = {xs[q].tolist()}) has an activation pattern that the "
                            f"exact partition ({R} regions, tol {partition.tol:.3g}) lacks, yet lies {dist:.3g} from "
                            f"the nearest boundary of its region (> {near:.3g}): the enumeration missed a region")
            done += xs.shape[0]
            start = stop
            if pending and done == pending[0]:
                seconds += time.perf_counter() - t0
                pending.pop(0)
                hit = counts > 0
                found = int(hit.sum())
                allc = np.concatenate([counts[hit], np.fromiter(other.values(), dtype=np.int64, count=len(other))])
                est = chao1(allc)
                rows.append({
                    "samples": done, "found": found, "recall": found / R if R else math.nan,
                    "volume_recall": float(volumes[hit].sum()) / total_volume if volumes is not None else math.nan,
                    "unmatched": unmatched, "chao1": est.estimate, "chao1_lower": est.lower,
                    "chao1_upper": est.upper, "chao1_covers": bool(est.lower <= R <= est.upper),
                    "seconds": seconds,
                })
                t0 = time.perf_counter()
    return SamplingComparison(n_regions=R, exact_seconds=float(partition.seconds), rows=rows, first_hit=first_hit,
                              partition=partition, seed=seed if isinstance(seed, (int, type(None))) else None,
                              volume_seconds=volume_seconds)


# ------------------------------------------------------------------------------------------------------------------
# relutope's regions against another tool's list
# ------------------------------------------------------------------------------------------------------------------

#: Kinds of :class:`RegionDifference`.
DIFFERENCE_KINDS = ("missing", "extra", "duplicate", "boundary")
#: Verdicts of :class:`RegionDifference`.
VERDICTS = ("exists", "thin", "empty", "undecided")


@dataclass(eq=False)
class RegionDifference:
    """One region (activation pattern) on which a partition and another tool's list differ, with its proof.

    Attributes
    ----------
    kind : str
        ``"missing"``: a region of the partition that the other list lacks; ``"extra"``: a pattern the other list
        names (by its pattern, or as the exact pattern of its point) that the partition lacks; ``"duplicate"``:
        a pattern the other list names more than once; ``"boundary"``: a point of the other list that lies on a
        region boundary (some unit's largest pieces tie there but not around it), so that it names no single
        region: ``candidates`` are the patterns of the regions around it.
    verdict : str
        What is proven about ``pattern``'s region: ``"exists"`` (an interior point is exhibited and its inradius
        is proven ``> tol``, or exceeds ``tol`` by a witness ball when no exact LP was run), ``"thin"`` (its
        inradius is proven ``<= tol``: the partition leaves it out by design; ``exists`` says whether it is
        non-empty), ``"empty"`` (its inradius is proven ``<= 0``: no open set has this pattern, so it is no
        region) or ``"undecided"`` (the exact radius enclosure straddles ``tol``, or python-flint's exact LP was
        not available). For ``"boundary"``: the verdict of the candidate it was resolved to, else
        ``"undecided"``.
    exists : bool or None
        True when a witness proves the region non-empty and open (full-dimensional); False when it is proven to
        have no interior; None when neither was proven.
    proof : str
        ``"witness"`` (the exact forward pass of ``witness_exact`` decides every unit strictly with ``pattern``,
        and the point lies strictly inside the domain: a ball around it has the pattern), ``"exact-lp"`` (the
        exact Chebyshev LPs of the pattern's exact H-representation, :func:`relutope.exact_lp.chebyshev_radius_
        exact`: ``radius_bounds``), ``"constant-row"`` (a unit whose pieces differ by a constant decides the
        pattern away everywhere), ``"same-pattern"`` (for ``"duplicate"``: the listed points or patterns have one
        exact pattern, and one pattern is one convex region), ``"neighbours"`` (for ``"boundary"``:
        :func:`relutope.exact.neighbour_patterns`), or a combination joined by ``"+"``.
    pattern : ndarray, shape (n_units,), int8
        The pattern concerned (for ``"boundary"``: the candidate it was resolved to, or the first candidate).
    region : int
        Index of the pattern's region in the partition, or -1.
    other : tuple of int
        Indices into the other tool's list of the entries concerned (empty for ``"missing"``).
    witness : ndarray, shape (d,), float64, or None
        The proven interior point rounded to float64 (input space); None when none is known.
    witness_exact : ndarray of flint.fmpq, shape (d,), or None
        The point the proof is about, exactly.
    radius : float
        The region's Chebyshev radius (input units, within the domain): the end of the exact enclosure nearer
        zero, rounded to float, when an exact LP was run (negative for an empty set: minus the least uniform
        shift of its rows that makes it non-empty; 0 for a constant row), else the partition's radius for a
        region of it, else NaN.
    radius_bounds : tuple (flint.fmpq, flint.fmpq) or None
        The exact enclosure ``lo <= r <= hi`` of the inradius (None when no exact LP was run or the H-representation
        was decided by a constant row).
    candidates : ndarray, shape (K, n_units), int8
        For ``"boundary"``: the neighbouring patterns of the point; else empty.
    note : str
        A plain-words account of the proof.
    """

    kind: str
    verdict: str
    exists: Optional[bool]
    proof: str
    pattern: np.ndarray
    region: int = -1
    other: tuple = ()
    witness: Optional[np.ndarray] = None
    witness_exact: Optional[np.ndarray] = None
    radius: float = math.nan
    radius_bounds: Optional[tuple] = None
    candidates: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int8))
    note: str = ""

    def __repr__(self) -> str:
        where = f"region={self.region}" if self.region >= 0 else f"other={list(self.other)[:4]}"
        return (f"RegionDifference({self.kind}, {self.verdict}, proof={self.proof}, {where}, "
                f"radius={self.radius:.3g})")


@dataclass(eq=False)
class RegionComparison:
    """The result of :func:`compare_regions`.

    Attributes
    ----------
    n_regions : int
        Regions of the partition.
    n_certified : int
        Of them, proven to exist by :func:`relutope.certificates.certify_witnesses`.
    n_other : int
        Entries of the other tool's list.
    n_matched : int
        Regions of the partition named by at least one entry of the other list.
    differences : list of RegionDifference
        Every difference, each with its verdict and proof (kinds ``"missing"``, ``"extra"``, ``"duplicate"``,
        ``"boundary"``).
    outside : ndarray, shape (P,), int64
        Entries of the other list whose point is not strictly inside the domain (exactly); their pattern is
        still decided at the point and compared, but the point proves nothing.
    unproven : ndarray, shape (Q,), int64
        With claimed ``patterns``: entries whose point does not prove its claimed pattern (outside the domain, on
        a boundary, or of another exact pattern: the other tool's own geometry of that region is off at the
        point). Empty without ``patterns``.
    tol : float
        The tolerance of the verdicts ``"thin"`` / ``"exists"`` (the partition's).
    seconds : float
        Wall time.
    """

    n_regions: int
    n_certified: int
    n_other: int
    n_matched: int
    differences: List[RegionDifference]
    outside: np.ndarray
    unproven: np.ndarray
    tol: float
    seconds: float = 0.0

    def of_kind(self, kind: str) -> List[RegionDifference]:
        """The differences of one kind (one of ``DIFFERENCE_KINDS``)."""
        if kind not in DIFFERENCE_KINDS:
            raise ValueError(f"kind must be one of {DIFFERENCE_KINDS}, got {kind!r}")
        return [d for d in self.differences if d.kind == kind]

    @property
    def missing(self) -> List[RegionDifference]:
        """Regions of the partition that the other list lacks."""
        return self.of_kind("missing")

    @property
    def extra(self) -> List[RegionDifference]:
        """Patterns of the other list that the partition lacks."""
        return self.of_kind("extra")

    @property
    def duplicates(self) -> List[RegionDifference]:
        """Patterns the other list names more than once."""
        return self.of_kind("duplicate")

    @property
    def boundary(self) -> List[RegionDifference]:
        """Points of the other list on a region boundary."""
        return self.of_kind("boundary")

    @property
    def n_proven(self) -> int:
        """Regions proven to exist among those either list names: the certified regions of the partition and
        the other list's extra patterns (boundary ones included) with a witness."""
        extra = {d.pattern.tobytes() for d in self.differences
                 if d.kind in ("extra", "boundary") and d.region < 0 and d.exists}
        return self.n_certified + len(extra)

    @property
    def n_thin(self) -> int:
        """The other list's extra patterns (boundary ones included) proven thinner than ``tol``."""
        return len({d.pattern.tobytes() for d in self.differences
                    if d.kind in ("extra", "boundary") and d.region < 0 and d.verdict == "thin"})

    @property
    def agree(self) -> bool:
        """True when the lists name the same regions once each."""
        return not self.differences

    def table(self, names=("relutope", "other")) -> str:
        """The differences as text: one line per difference (kind, verdict, proof, radius, witness)."""
        a, b = names
        lines = [f"{a}: {self.n_regions} regions ({self.n_certified} certified); {b}: {self.n_other} entries, "
                 f"{self.n_matched} matched; {len(self.missing)} missing from {b}, {len(self.extra)} extra in {b}, "
                 f"{len(self.duplicates)} duplicated, {len(self.boundary)} on a boundary, {self.outside.size} "
                 f"outside the domain, {self.unproven.size} points not proving their claimed pattern"]
        for d in self.differences:
            w = "-" if d.witness is None else "[" + ", ".join(f"{v:.17g}" for v in d.witness) + "]"
            rb = "" if d.radius_bounds is None else f" in [{float(d.radius_bounds[0]):.3g}, " \
                                                    f"{float(d.radius_bounds[1]):.3g}]"
            lines.append(f"  {d.kind:9} {d.verdict:9} {d.proof:22} r={d.radius:.3g}{rb} region={d.region} "
                         f"{b}={list(d.other)[:3]} witness={w}")
            if d.note:
                lines.append(f"            {d.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _orthonormal_parametrization(domain: Domain):
    origin, basis = domain.parametrization()
    k = basis.shape[1]
    if not np.array_equal(basis.T @ basis, np.eye(k)):
        raise ValueError(f"compare_regions needs a domain whose parametrization x = origin + basis t has exactly "
                         f"orthonormal columns (Box, Polytope, or an axis-aligned Slice), so that radii in t are "
                         f"input units; {domain!r} has not")
    return origin, basis


def _coords(domain: Domain, x: np.ndarray, origin: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Domain coordinates of input points: exactly ``x[free]`` for a Box, else ``(x - origin) @ basis``."""
    from .domains import Box

    if isinstance(domain, Box):
        return np.ascontiguousarray(x[:, domain.free])
    return (x - origin) @ basis


class _Exact:
    """The exact side of :func:`compare_regions`: the network and the domain as rationals, and the proofs."""

    def __init__(self, partition: Partition, tol: float):
        from .exact import to_rational

        self.net = partition.network
        self.domain = partition.domain
        self.tol = tol
        self.tol_q = to_rational(tol).item()  # the exact binary fraction tol is
        self.origin, self.basis = _orthonormal_parametrization(partition.domain)
        self.O, self.B = to_rational(self.origin), to_rational(self.basis)
        A, b = partition.domain.constraints()
        self.A, self.b = to_rational(A), to_rational(b)

    def point(self, t: np.ndarray):
        """(exact x (d,), strictly inside the domain) of float domain coordinates t (k,)."""
        from .exact import to_rational

        T = to_rational(t)
        X = self.O + self.B.dot(T)
        inside = bool(np.all(self.b - self.A.dot(T) > 0)) if self.A.shape[0] else True
        return X, inside

    def pattern_at(self, X):
        """(pattern, strictly decided) at an exact input point."""
        from .exact import BOUNDARY_TIE, exact_pattern

        pat, kind = exact_pattern(self.net, X)
        return pat, not np.any(kind == BOUNDARY_TIE)

    def is_witness(self, X, inside: bool, pattern: np.ndarray) -> bool:
        if not inside:
            return False
        pat, decided = self.pattern_at(X)
        return decided and np.array_equal(pat, pattern)

    def decide(self, pattern: np.ndarray, witnesses=()) -> dict:
        """Everything proven about one pattern's region: verdict, exists, proof, witness, radius, bounds, note.

        ``witnesses`` are candidate exact points (X, inside) tried first; then the exact Chebyshev LPs of the
        pattern's exact H-representation in domain coordinates, whose exact centre is tried as a witness too."""
        from .exact import exact_halfspaces

        out = dict(verdict="undecided", exists=None, proof="", witness_exact=None, radius=math.nan,
                   radius_bounds=None, note="")
        for X, inside in witnesses:
            if self.is_witness(X, inside, pattern):
                out.update(exists=True, proof="witness", witness_exact=X,
                           note="the exact forward pass of the witness decides every unit strictly")
                break
        G, h, strict = exact_halfspaces(self.net, pattern)
        # in domain coordinates: G (origin + B t) <= h
        At = G.dot(self.B) if G.shape[0] else np.zeros((0, self.B.shape[1]), dtype=object)
        bt = h - G.dot(self.O) if G.shape[0] else np.zeros(0, dtype=object)
        zero = np.array([all(v == 0 for v in row) for row in At], dtype=bool)
        dead = np.array([bool(z and (v < 0 or (v == 0 and st))) for z, v, st in zip(zero, bt, strict)], dtype=bool)
        if dead.any():
            if out["exists"]:
                raise RelutopeError("a witness has a pattern that a constant row excludes: exact arithmetic is "
                                    "inconsistent (a bug)")
            r = int(np.nonzero(dead)[0][0])
            out.update(verdict="empty", exists=False, proof="constant-row", radius=0.0,
                       note=f"row {r} of the pattern's H-representation is the constant comparison 0 <= {bt[r]}"
                            f"{' (strict: the tie goes to the lower piece)' if strict[r] else ''}: no point has "
                            f"this pattern")
            return out
        A = np.vstack([self.A, At[~zero]]) if (~zero).any() else self.A
        b = np.concatenate([self.b, bt[~zero]])
        try:
            from .exact_lp import chebyshev_radius_exact
        except ImportError:  # pragma: no cover - until relutope.exact_lp is available
            out["note"] += "; no exact LP (relutope.exact_lp not available)"
            if out["exists"]:
                out.update(verdict="undecided")
            return out
        enc = chebyshev_radius_exact(A, b)
        if enc.status != "bounded":  # the domain is bounded: only a zero row could do this, handled above
            raise RelutopeError(f"exact Chebyshev LP of a pattern over a bounded domain is {enc.status}")
        lo, hi = enc.lo, enc.hi
        out.update(radius_bounds=(lo, hi), radius=float(lo) if lo > 0 else float(hi) if hi <= 0 else 0.0)
        if out["exists"]:
            out["proof"] = "witness+exact-lp"
        else:
            out["proof"] = "exact-lp"
            if lo > 0:  # the ball of radius lo around the exact centre lies in the domain: the centre is inside
                X = self.O + self.B.dot(enc.centre)
                if self.is_witness(X, True, pattern):
                    out.update(exists=True, proof="exact-lp+witness", witness_exact=X,
                               note="the exact Chebyshev centre's forward pass decides every unit strictly")
        if hi <= 0:
            if out["exists"]:
                raise RelutopeError("a witness lies in a pattern whose exact inradius is <= 0 (a bug)")
            out.update(verdict="empty", exists=False,
                       note=f"exact inradius <= {float(hi):.3g} <= 0 (exact Chebyshev LP with its dual "
                            f"certificate): no open set has this pattern")
        elif hi <= self.tol_q:
            out.update(verdict="thin", note=(out["note"] + "; " if out["note"] else "") +
                       f"exact inradius in [{float(lo):.3g}, {float(hi):.3g}] <= tol {self.tol:.3g}")
        elif lo > self.tol_q and out["exists"]:
            out.update(verdict="exists", note=(out["note"] + "; " if out["note"] else "") +
                       f"exact inradius in [{float(lo):.3g}, {float(hi):.3g}] > tol {self.tol:.3g}")
        else:
            out["note"] += f"; exact inradius in [{float(lo):.3g}, {float(hi):.3g}] straddles tol {self.tol:.3g}"
        return out


def _difference(kind: str, pattern, facts: dict, region: int = -1, other=(), candidates=None,
                radius: float = math.nan) -> RegionDifference:
    X = facts["witness_exact"]
    r = facts["radius"] if not math.isnan(facts["radius"]) else radius
    return RegionDifference(kind=kind, verdict=facts["verdict"], exists=facts["exists"], proof=facts["proof"],
                            pattern=np.asarray(pattern, dtype=np.int8), region=int(region), other=tuple(other),
                            witness=None if X is None else np.array([float(v) for v in X]), witness_exact=X,
                            radius=float(r), radius_bounds=facts["radius_bounds"],
                            candidates=np.zeros((0, len(pattern)), np.int8) if candidates is None else candidates,
                            note=facts["note"])


def compare_regions(partition: Partition, points, patterns=None, *, tol: Optional[float] = None,
                    max_neighbours: int = 64) -> RegionComparison:
    """Match another tool's list of activation regions to a partition, and prove every difference exactly.

    Parameters
    ----------
    partition : Partition
        A complete partition of a bounded domain whose parametrization has orthonormal columns (a
        :class:`~relutope.Box`, :class:`~relutope.Polytope`, or an axis-aligned :class:`~relutope.Slice`).
    points : array_like, shape (N, d), float64
        The other tool's regions, one interior point each, in the network's input space (each coordinate taken
        as the exact binary fraction it is; a point off the domain's affine hull is projected onto it, and the
        projected point, exact, is the one proven about).
    patterns : array_like of int, shape (N, n_units), optional
        The patterns the other tool claims for its regions. Without them each region is named by the exact
        pattern at its point; with them by the claimed pattern, the point being only a candidate witness.
    tol : float, optional
        The tolerance of the verdicts ``"exists"`` (inradius proven ``> tol``) and ``"thin"`` (``<= tol``);
        default ``partition.tol``, the radius below which the partition leaves regions out.
    max_neighbours : int, optional
        At most this many neighbouring patterns per boundary point (:func:`relutope.exact.neighbour_patterns`).

    Returns
    -------
    RegionComparison
        Counts, and one :class:`RegionDifference` per difference with its verdict and proof:

        - ``"missing"``: a region of the partition no entry names; its witness certifies it
          (:func:`relutope.certificates.certify_witnesses`), so the other list is short of a region (or leaves
          it out by its own tolerance: see ``radius``).
        - ``"extra"``: a pattern the other list names that the partition lacks; ``"exists"`` (a witness, inradius
          ``> tol``: the partition missed a region), ``"thin"`` (inradius ``<= tol``, left out by design) or
          ``"empty"`` (no interior: the other list is wrong).
        - ``"duplicate"``: a pattern named by several entries (one pattern is one convex region).
        - ``"boundary"``: an entry without a claimed pattern whose point is on a region boundary. It is resolved
          to one of its neighbouring patterns: first a region of the partition that no other entry names, then
          an extra pattern proven to exist, else the first candidate (``verdict`` undecided when none exists).

    Raises
    ------
    TypeError
        ``partition`` is not a Partition, ``points`` or ``patterns`` not numeric / integer, ``max_neighbours`` not
        an int.
    ValueError
        The partition is incomplete or its domain unbounded or not orthonormally parametrized; ``points`` is not
        (N, d) and finite; ``patterns`` is not (N, n_units) or names a piece a unit does not have; ``tol`` is not
        a positive float; ``max_neighbours < 1``.
    ImportError
        python-flint is not installed.
    RelutopeError
        Exact arithmetic contradicts itself (a witness inside a pattern proven empty): a bug.

    Notes
    -----
    Every statement is proven in exact rational arithmetic about the network whose weights are the exact binary
    fractions of its float64 arrays:

    - existence: a witness strictly inside the domain at which every unit is strictly decided (or tied between
      identical affine pieces) with the pattern, by the exact forward pass (:func:`relutope.exact.exact_pattern`);
      the points of the partition and of the other list go first through the floating-point pass with rigorous
      error bounds of :mod:`relutope.certificates` (Rump, Acta Numerica 2010), and only those it cannot decide
      through the exact pass;
    - inradius: the exact H-representation of the pattern (:func:`relutope.exact.exact_halfspaces`), restricted
      to the domain, and the rational enclosure of its Chebyshev radius by two exact LPs
      (:func:`relutope.exact_lp.chebyshev_radius_exact`; exact LP verification from a floating-point basis:
      Dhiflaoui et al. 2003, Koch 2004);
    - boundary points: :func:`relutope.exact.neighbour_patterns` lists every pattern whose region's closure may
      hold the point, each decided as above.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.compare import compare_regions
    >>> net = relutope.Network.random([2, 6, 1], seed=0)
    >>> part = relutope.enumerate_regions(net, relutope.Box(-np.ones(2), np.ones(2)))
    >>> res = compare_regions(part, part.witnesses[1:])     # a list short of region 0
    >>> [(d.kind, d.verdict, d.region) for d in res.differences]
    [('missing', 'exists', 0)]
    """
    from .certificates import _filter_pass, certify_witnesses
    from .exact import neighbour_patterns

    t0 = time.perf_counter()
    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    if not partition.complete:
        raise ValueError(f"partition must be complete to compare against, its status is {partition.status!r}")
    if not partition.domain.bounded:
        raise ValueError(f"compare_regions needs a bounded domain, got {partition.domain!r}")
    max_neighbours = check_int(max_neighbours, "max_neighbours")
    net = partition.network
    from .network import _as_points

    x = _as_points(points, "points", net.in_dim)
    N = x.shape[0]
    if patterns is not None:
        pats = np.asarray(patterns)
        if not np.issubdtype(pats.dtype, np.integer):
            raise TypeError(f"patterns must be an integer array, got dtype {pats.dtype}")
        if pats.shape != (N, net.n_units):
            raise ValueError(f"patterns must have shape (N, n_units) = ({N}, {net.n_units}), got {pats.shape}")
        check_pieces(pats, net.n_pieces, "patterns")
        pats = pats.astype(np.int8)
    if tol is None:
        tol = float(partition.tol)
    elif isinstance(tol, (bool, np.bool_)) or not isinstance(tol, (int, float, np.floating, np.integer)):
        raise TypeError(f"tol must be a float, got {type(tol).__name__}")
    elif not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite float, got {tol!r}")
    ex = _Exact(partition, float(tol))

    # relutope's side: every region certified (relabeled ones under their exact pattern)
    cert = certify_witnesses(partition)
    own = partition.patterns
    if cert.relabeled.size:
        own[cert.relabeled] = cert.exact_patterns
    index: Dict[bytes, int] = {row.tobytes(): i for i, row in enumerate(own)}

    # the other side: each entry's pattern, and whether its point proves it
    t = _coords(partition.domain, x, ex.origin, ex.basis)
    claim = pats if patterns is not None else np.ascontiguousarray(net.forward(x)[1], dtype=np.int8)
    proven, _ = _filter_pass(partition, t, claim) if N else (np.zeros(0, bool), None)
    claim = claim.copy()
    exact_pts: Dict[int, tuple] = {}
    outside, on_boundary, unproven = [], [], []
    for i in np.nonzero(~proven)[0]:
        X, inside = ex.point(t[i])
        exact_pts[int(i)] = (X, inside)
        if not inside:
            outside.append(int(i))
        pat, decided = ex.pattern_at(X)
        if patterns is None:
            if decided:
                claim[i] = pat
            else:
                on_boundary.append(int(i))
        elif not (inside and decided and np.array_equal(pat, claim[i])):
            unproven.append(int(i))
    boundary_set = set(on_boundary)

    def witnesses_of(items):
        for i in items:
            yield exact_pts[i] if i in exact_pts else ex.point(t[i])

    groups: Dict[bytes, List[int]] = {}
    for i in range(N):
        if i not in boundary_set:
            groups.setdefault(claim[i].tobytes(), []).append(i)
    matched = np.zeros(len(partition), dtype=bool)
    diffs: List[RegionDifference] = []
    extra_facts: Dict[bytes, dict] = {}
    for key, items in groups.items():
        j = index.get(key)
        pattern = claim[items[0]]
        if j is not None:
            matched[j] = True
            if len(items) > 1:
                facts = dict(verdict="exists" if cert.certified[j] else "undecided",
                             exists=bool(cert.certified[j]) or None, proof="same-pattern", witness_exact=None,
                             radius=float(partition.radii[j]), radius_bounds=None,
                             note=f"{len(items)} entries name the pattern of region {j}")
                diffs.append(_difference("duplicate", pattern, facts, region=j, other=items))
            continue
        facts = ex.decide(pattern, witnesses_of(items))
        extra_facts[key] = facts
        diffs.append(_difference("extra", pattern, facts, other=items))
        if len(items) > 1:
            diffs.append(_difference("duplicate", pattern, dict(facts, proof="same-pattern",
                                     note=f"{len(items)} entries name this pattern"), other=items))

    for i in on_boundary:
        cands, complete = neighbour_patterns(net, exact_pts[i][0], max_patterns=max_neighbours)
        note = f"the point lies on a boundary between {len(cands)} candidate patterns" + \
               ("" if complete else f" (search stopped at max_neighbours={max_neighbours})")
        js = [index.get(c.tobytes(), -1) for c in cands]
        free = [k for k, j in enumerate(js) if j >= 0 and not matched[j]]
        if free:
            k = free[0]
            matched[js[k]] = True
            facts = dict(verdict="exists" if cert.certified[js[k]] else "undecided",
                         exists=bool(cert.certified[js[k]]) or None, proof="neighbours",
                         witness_exact=None, radius=float(partition.radii[js[k]]), radius_bounds=None,
                         note=note + f"; resolved to region {js[k]}, which no other entry names")
            diffs.append(_difference("boundary", cands[k], facts, region=js[k], other=[i], candidates=cands))
            continue
        chosen, chosen_facts = None, None
        for k, c in enumerate(cands):
            if js[k] >= 0:
                continue
            facts = extra_facts.get(c.tobytes())
            if facts is None:
                facts = extra_facts[c.tobytes()] = ex.decide(c)
            if facts["exists"] and chosen is None:
                chosen, chosen_facts = k, facts
        if chosen is not None:
            diffs.append(_difference("boundary", cands[chosen], dict(chosen_facts, proof="neighbours+" +
                                     chosen_facts["proof"], note=note + "; resolved to a pattern the partition "
                                     "lacks, proven to exist: " + chosen_facts["note"]), other=[i],
                                     candidates=cands))
        else:
            named = [j for j in js if j >= 0]
            why = (f"; its neighbouring regions {named} are named by other entries (a duplicate)" if named else
                   "; no candidate pattern has a region")
            facts = dict(verdict="undecided", exists=None, proof="neighbours", witness_exact=None,
                         radius=math.nan, radius_bounds=None, note=note + why)
            diffs.append(_difference("boundary", cands[0] if len(cands) else claim[i], facts,
                                     region=named[0] if named else -1, other=[i], candidates=cands))

    wit = partition.witnesses
    for j in np.nonzero(~matched)[0]:
        facts = ex.decide(own[j], [ex.point(partition.witness_coords[j])])
        if not cert.certified[j] and facts["exists"] is None:
            facts["note"] += "; the partition's witness failed certification"
        if facts["witness_exact"] is None and cert.certified[j]:
            facts.update(witness_exact=ex.point(partition.witness_coords[j])[0])
        d = _difference("missing", own[j], facts, region=j, radius=float(partition.radii[j]))
        if d.witness is None:
            d.witness = wit[j]
        diffs.append(d)
    return RegionComparison(n_regions=len(partition), n_certified=int(cert.certified.sum()), n_other=N,
                            n_matched=int(matched.sum()), differences=diffs,
                            outside=np.array(sorted(outside), dtype=np.int64),
                            unproven=np.array(sorted(unproven), dtype=np.int64), tol=float(tol),
                            seconds=time.perf_counter() - t0)
