"""Certificates: proofs, checked without trusting floating point, that a partition's regions are what it says.

:func:`certify_witnesses` proves that every region a :class:`~relutope.Partition` lists exists: its witness point
(taken as the exact binary fraction each float64 coordinate is) has the region's activation pattern with every
unit *strictly* decided (no two pieces of a unit tie there), and lies strictly inside the domain. By continuity an
open neighbourhood of the witness then has that pattern and lies in the domain, so the region is full-dimensional
and non-empty; distinct stored patterns are distinct regions.

The proof runs in two stages (Rump, "Verification methods: Rigorous results using floating-point arithmetic",
Acta Numerica 19, 2010, Sections 2-3): a floating-point forward pass that carries a rigorous bound on its own
rounding error (the a priori bound ``|fl(a . x) - a . x| <= gamma_n |a| . |x|``, ``gamma_n = n u / (1 - n u)``,
Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., 2002, Section 3.1, valid for any order of
summation and with fused multiply-adds), which settles almost every unit at once; then, only for the witnesses
where some unit's margin is within its error bound, the exact rational forward pass of :mod:`relutope.exact`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .partition import Partition

__all__ = ["WitnessCertificate", "certify_witnesses"]

@dataclass
class WitnessCertificate:
    """The outcome of :func:`certify_witnesses`.

    Attributes
    ----------
    certified : ndarray, shape (R,), bool
        Region ``i``'s existence is proven: its witness has exactly its pattern with every unit strictly decided
        and lies strictly inside the domain.
    n_by_filter : int
        Regions proven by the floating-point forward pass with rigorous error bounds alone.
    n_by_exact : int
        Regions whose witness needed the exact rational forward pass (some margin within its error bound).
    failed : ndarray, shape (F,), int64
        Indices of the regions not proven.
    reasons : list of str, length F
        Why each failed: ``"pattern"`` (the witness has another pattern), ``"tie"`` (a unit is not strictly
        decided at the witness), ``"domain"`` (the witness is not strictly inside the domain) or ``"duplicate"``
        (the same pattern is listed twice).
    seconds : float
        Wall-clock time of the certification.
    """

    certified: np.ndarray
    n_by_filter: int
    n_by_exact: int
    failed: np.ndarray
    reasons: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every region is proven."""
        return self.failed.size == 0

    def __repr__(self) -> str:
        return (f"WitnessCertificate(regions={self.certified.size}, certified={int(self.certified.sum())}, "
                f"by_filter={self.n_by_filter}, by_exact={self.n_by_exact}, failed={self.failed.size})")


def _filter_pass(part: Partition, t: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Per region, whether the floating-point pass with error bounds proves its witness (bool array). A region it
    does not prove is not disproven: the exact pass decides it."""
    from ._rigorous import affine_with_error, pattern_bounds, strictly_greater

    dom = part.domain
    A, b = dom.constraints()  # t is exact; the rows A t <= b must hold strictly
    origin, basis = dom.parametrization()
    proven, _ = pattern_bounds(part.network, origin, basis, t, patterns)
    if A.shape[0]:
        s, err = affine_with_error(t, np.zeros_like(t), A, -b)  # s = A t - b, want s < 0
        proven &= strictly_greater(np.zeros_like(s), s, err).all(axis=1)
    return proven


def _exact_pass(part: Partition, t: np.ndarray, patterns: np.ndarray):
    """The same decision in exact rational arithmetic for a few witnesses: (proven bool array, reasons)."""
    from .exact import exact_forward, to_rational

    dom = part.domain
    T = to_rational(t)
    A, b = dom.constraints()
    origin, basis = dom.parametrization()
    X = to_rational(origin)[None, :] + T.dot(to_rational(basis).T)
    _, pats, ties = exact_forward(part.network, X)
    ok = np.ones(t.shape[0], dtype=bool)
    reasons = np.full(t.shape[0], "", dtype=object)
    if A.shape[0]:
        slack = to_rational(b)[None, :] - T.dot(to_rational(A).T)
        outside = ~np.all(slack > 0, axis=1)
        ok &= ~outside
        reasons[outside] = "domain"
    tie = ties.any(axis=1)
    wrong = np.any(pats != patterns, axis=1)
    reasons[ok & tie] = "tie"
    reasons[ok & ~tie & wrong] = "pattern"
    ok &= ~wrong & ~tie
    return ok, reasons


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
        the domain with pattern ``partition.patterns[i]``: its witness has that pattern with every unit strictly
        decided and lies strictly inside the domain, so a ball around it does too.

    Raises
    ------
    TypeError
        When ``partition`` is not a :class:`~relutope.Partition`.
    ValueError
        When ``chunk`` is not a positive integer.
    ImportError
        When a witness needs the exact pass and python-flint is not installed.

    Notes
    -----
    A floating-point forward pass with rigorous error bounds (module docstring; Rump 2010, Higham 2002, Section
    3.1) proves almost every unit's decision; the witnesses where some margin is within its bound are decided
    exactly (:func:`relutope.exact.exact_forward`). This proves that listed regions exist, not that no region is
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
    if isinstance(chunk, (bool, np.bool_)) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    t0 = time.perf_counter()
    R = len(partition)
    t_all = partition.witness_coords
    certified = np.empty(R, dtype=bool)
    reason = np.full(R, "", dtype=object)
    for s in range(0, R, chunk):
        rows = slice(s, min(R, s + chunk))
        certified[rows] = _filter_pass(partition, t_all[rows], partition._patterns_at(rows))
    n_filter = int(certified.sum())
    undecided = np.nonzero(~certified)[0]
    if undecided.size:
        ok, why = _exact_pass(partition, t_all[undecided], partition._patterns_at(undecided))
        certified[undecided] = ok
        reason[undecided] = why
    # two listings of one pattern are one region
    packed = partition.packed_patterns
    _, first, counts = np.unique(packed, axis=0, return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup = np.ones(R, dtype=bool)
        dup[first] = False
        reason[dup & certified] = "duplicate"
        certified &= ~dup
    failed = np.nonzero(~certified)[0]
    return WitnessCertificate(certified=certified, n_by_filter=n_filter, n_by_exact=int(undecided.size),
                              failed=failed, reasons=[str(reason[i]) for i in failed],
                              seconds=time.perf_counter() - t0)
