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

This proves that the listed regions exist, not that none is missing (that needs the enumerator's LP decisions
certified; not done yet).
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
        When ``partition`` is not a :class:`~relutope.Partition`.
    ValueError
        When ``chunk`` is not a positive integer.
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
    if isinstance(chunk, (bool, np.bool_)) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
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
