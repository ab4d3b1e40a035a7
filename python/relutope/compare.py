"""Exact enumeration against sampling: how many activation regions do uniform samples find, and which ones?

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

from .domains import Domain
from .errors import RelutopeError
from .network import Network
from .partition import Partition
from .sampling import DEFAULT_CHUNK, _check_domain, _check_net, _Sampler, chao1

__all__ = ["SamplingComparison", "compare_sampling"]

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
        the domain's intrinsic dimension is above 4 and no volumes were computed.
    rows : list of dict
        One dict per budget, in increasing order of ``samples``, with the keys of ``COLUMNS``:
        ``samples`` (int), ``found`` (exact regions hit by the first ``samples`` points), ``recall``
        (``found / n_regions``), ``volume_recall`` (share of the domain's volume in the regions found; NaN when
        the domain's intrinsic dimension is above 4), ``unmatched`` (samples whose pattern is not in the exact
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
        ``volume_seconds``."""
        with open(path, "w", newline="") as fh:
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
    if isinstance(chunk, (bool, np.bool_)) or not isinstance(chunk, (int, np.integer)):
        raise TypeError(f"chunk must be an int, got {type(chunk).__name__}")
    if chunk <= 0:
        raise ValueError(f"chunk must be positive, got {chunk}")
    if partition is None:
        partition = enumerate_regions(net, domain, progress=progress)
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
    volumes = partition.volumes(progress=progress) if domain.intrinsic_dim <= 4 else None
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
