"""Certified verdicts of :func:`relutope.verify` (``certify=True``): proofs checked in exact or rigorously
rounded arithmetic, independent of the engine's floating-point decisions.

The property's constants are the exact decimals of the VNN-LIB text (:meth:`relutope.vnnlib.Property.exact_cases`)
and the network's weights the exact binary fractions they are.

``violated``
    The float counterexample, taken as the rational it is, is moved into the exact input box (clamped to it when
    the decimal bounds round outwards) and, should it then miss the unsafe set, snapped to the exact bounds it lies
    within four float spacings of, or moved towards the box's centre in a few steps; its exact forward pass (:func:`relutope.exact.exact_forward`) must satisfy ``C y <= d`` of its term,
    compared in rationals.

``holds``
    Every input box is covered by sub-boxes on each of which some row of every term is proven positive:
    ``C_r y - d_r > 0``. The bound of a sub-box is symbolic interval propagation (a lower and an upper affine
    function of the input per unit, the ReLU relaxed between ``lambda z`` and ``mu (z - l)``: Wang, Pei,
    Whitehouse, Yang & Jana, "Efficient Formal Safety Analysis of Neural Networks", NeurIPS 2018 (Neurify)),
    computed in float64 with a rigorous bound on every rounding error (Higham, "Accuracy and Stability of Numerical
    Algorithms", 2002, Section 3.1, as :mod:`relutope._rigorous`), so the bound holds for the exact real network.
    Sub-boxes come from input splitting along the input of largest smear (ReluVal's choice: Wang et al., USENIX
    Security 2018). A term of several rows is refuted on a box also when no single row is positive on all of it:
    by a convex combination of the rows' lower functions, its multipliers HiGHS's dual of ``min_x max_r`` over
    the box (:func:`_combined_margins`). **The engine's relaxation pruning and input splitting are not trusted**:
    a certificate prunes only by these rigorous bounds. On networks of ReLU layers and an affine output layer (ACAS
    Xu's), each case's box goes to one search in C++ (:func:`_relu_bab_certify`, cpp/src/certify_bab.cpp): input
    splits first (up to 9 on a path and ``max_boxes`` in all), then a branch and bound on the ReLUs: two children
    per split, so the leaves cover the box by construction; each node is bounded by the same rigorous relaxation
    with the signs imposed, its box shrunk by the signed units' rigorous rows, and one LP over those rows whose
    multipliers are checked by a rigorous weak-duality bound (Neumaier & Shcherbina 2004, below);
    :attr:`VerdictCertificate.boxes` counts its leaves without signs, :attr:`VerdictCertificate.nodes` the others.
    On other networks a box still open is covered by its activation regions
    instead (the engine's enumeration of the box, in verification mode): on each region ``Q`` the output is the
    exact affine map ``A_Q x + b_Q`` (:func:`relutope.exact.exact_affine_map`) and the region is the exact
    polytope of its pattern; ``max_r (C_r y - d_r) > 0`` on it is proven by the LP's dual (Neumaier & Shcherbina,
    "Safe bounds in linear and mixed-integer linear programming", Math. Programming 99, 2004): for multipliers
    ``lam >= 0`` of the term's rows and ``mu >= 0`` of the region's rows (HiGHS's, taken as the rationals they
    are), ``lam . (C y - d) >= min over the box of (w . x) + w0`` with ``w = (C A_Q)^T lam + G^T mu``,
    ``w0 = lam . (C b_Q - d) - mu . h``, evaluated exactly. That the enumeration lists every region of the box is
    the enumeration's own certificate (``enumerate_regions(..., certify=True)``, kept in
    ``VerdictCertificate.enumeration``): every side it discards is proven empty or thinner than ``tol``; cells
    proven thin but not empty are named in ``pending`` (they are not bounded).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import List, Optional, Tuple

import numpy as np

from ._rigorous import _TINY, _U, gamma, inflate
from .network import Network

__all__ = ["VerdictCertificate", "certify_counterexample", "certify_holds", "certify_verdict", "rigorous_box_bounds"]


@dataclass
class VerdictCertificate:
    """The proof of a verdict, checked (see the module docstring for what is proven and how).

    Attributes
    ----------
    status : {"violated", "holds"}
        The verdict this certificate is about.
    ok : bool
        Every check passed: the verdict is proven, up to what :attr:`pending` names.
    counterexample : tuple of fractions.Fraction or None
        ``violated``: the exact input (n_inputs rationals) in the exact input box of :attr:`case`.
    output : tuple of fractions.Fraction or None
        Its exact output, which satisfies every row of term :attr:`term` exactly.
    case, term : int or None
    boxes : int
        ``holds``: sub-boxes proven safe by the rigorous bounds.
    regions : int
        ``holds``: activation regions proven safe by exact LP dual bounds (boxes the splitting left open, on
        networks other than ReLU ones).
    nodes : int
        ``holds``: leaves of the search with some ReLU sign imposed (ReLU networks; its leaves with none count in
        :attr:`boxes`), each proven empty or safe.
    min_margin : float
        ``holds``: the smallest proven lower bound of ``max_r (C_r y - d_r)`` over the pieces (rounded down).
    enumeration : list of relutope.certificates.EnumerationCertificate or None
        The completeness certificates of the enumerations behind :attr:`regions` (``enumerate_regions(...,
        certify=True)``, one per open box); None when no box was left open.
    pending : list of str
        Claims the proof rests on that this certificate does not check (cells those enumerations proved thinner
        than ``tol`` but not empty, which are not bounded); empty: the proof is complete.
    failures : list of str
        Why ``ok`` is False.
    seconds : float
        Time spent certifying.
    """

    status: str
    ok: bool = False
    counterexample: Optional[Tuple[Fraction, ...]] = None
    output: Optional[Tuple[Fraction, ...]] = None
    case: Optional[int] = None
    term: Optional[int] = None
    boxes: int = 0
    regions: int = 0
    nodes: int = 0
    min_margin: float = float("inf")
    enumeration: Optional[object] = None
    pending: List[str] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)
    seconds: float = 0.0


def _check_net(net) -> None:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a relutope.Network, got {type(net).__name__}")


def _check_spec(spec) -> None:
    from .vnnlib import Property

    if not isinstance(spec, Property):
        raise TypeError(f"spec must be a relutope.vnnlib.Property, got {type(spec).__name__}")


def _finite(a, name: str, shape) -> np.ndarray:
    """``a`` as float64 of ``shape`` (None: any length there), finite; else a ValueError naming ``name``."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers, got {type(a).__name__}") from None
    if arr.ndim != len(shape) or any(n is not None and arr.shape[i] != n for i, n in enumerate(shape)):
        want = ", ".join("N" if n is None else str(n) for n in shape)
        raise ValueError(f"{name} must have shape ({want}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _fraction(v) -> Fraction:
    """An exact rational (Fraction, flint.fmpq, int or float64) as a Fraction."""
    if isinstance(v, Fraction):
        return v
    if hasattr(v, "p") and hasattr(v, "q"):  # flint.fmpq
        return Fraction(int(v.p), int(v.q))
    return Fraction(v)


def _in_term(y, C, d) -> bool:
    return all(sum(c * v for c, v in zip(row, y)) <= di for row, di in zip(C, d))


def certify_counterexample(net: Network, case, term: int, x) -> Tuple[bool, tuple, tuple, str]:
    """Prove that ``x`` (nudged into the exact box) is a counterexample, in exact rational arithmetic.

    Parameters
    ----------
    net : Network
    case : relutope.vnnlib.ExactCase
        The exact input box and terms.
    term : int
        The term ``x`` is claimed to reach.
    x : array_like, shape (n_inputs,), float64
        The float counterexample (each value taken as the exact binary fraction it is).

    Returns
    -------
    ok : bool
    x_exact, y_exact : tuple of Fraction
        The point checked and its exact output (the last point tried when not ok).
    message : str
        Why not, when not ok.

    Raises
    ------
    TypeError
        When ``net`` is not a Network, ``case`` not an ExactCase or ``x`` not numbers.
    ValueError
        When ``term`` is out of range, or ``x`` has the wrong length or NaN / infinite entries.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope import vnnlib
    >>> net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)),
    ...                                      (np.array([[1.0, 1.0]]), np.zeros(1))])   # |x|
    >>> prop = vnnlib.loads("(declare-const X_0 Real)(declare-const Y_0 Real)"
    ...                     "(assert (>= X_0 -0.3))(assert (<= X_0 0.1))(assert (>= Y_0 0.3))")
    >>> ok, x, y, _ = certify_counterexample(net, prop.exact_cases()[0], 0, [-0.3])
    >>> ok, x, y
    (True, (Fraction(-3, 10),), (Fraction(3, 10),))
    """
    from .exact import exact_forward
    from .vnnlib import ExactCase

    _check_net(net)
    if not isinstance(case, ExactCase):
        raise TypeError(f"case must be a relutope.vnnlib.ExactCase, got {type(case).__name__}")
    if isinstance(term, bool) or not isinstance(term, (int, np.integer)) or not 0 <= term < len(case.terms):
        raise ValueError(f"term must be an int in [0, {len(case.terms)}), got {term!r}")
    lo, hi = case.box_lo, case.box_hi
    C, d = case.terms[term]
    xf = [Fraction(float(v)) for v in _finite(x, "x", (len(lo),))]
    xc = [min(max(v, a), b) for v, a, b in zip(xf, lo, hi)]  # into the closed exact box
    # a coordinate within a few float64 spacings of an exact bound (a decimal bound rounds to a float beside it)
    near = lambda v, a: abs(v - a) <= 4 * Fraction(abs(float(np.spacing(float(a)))))  # noqa: E731
    snapped = [a if near(v, a) else (b if near(v, b) else v) for v, a, b in zip(xc, lo, hi)]
    mid = [(a + b) / 2 for a, b in zip(lo, hi)]
    tries = [xc, snapped] + [[v + t * (m - v) for v, m in zip(xc, mid)]
                             for t in (Fraction(1, 10**12), Fraction(1, 10**9), Fraction(1, 10**6))]
    y = None
    for p in tries:
        y = [_fraction(v) for v in exact_forward(net, np.array([p], dtype=object))[0][0]]
        if _in_term(y, C, d):
            return True, tuple(p), tuple(y), ""
    return False, tuple(tries[0]), tuple(y), (f"the exact output of the counterexample (clamped to the exact box "
                                              f"and nudged towards its centre) misses term {term}")


# ---------------------------------------------------------------------------------------------------- rigorous bounds
def _combine(terms, xm1):
    """``S = sum_i s_i * X_i`` in float64 and a bound ``e`` on ``|S.x - exact sum.x|`` plus the carried errors.

    ``terms``: (s, X, e) with ``s`` (n, N, 1) or a float, ``X`` (n, N, k+1) affine functions (last column the
    constant), ``e`` (n, N) their carried errors (or None). ``xm1`` (1, N, k+1): ``max |x_j|`` over each box and 1.
    The exact sum differs from the float one by at most ``gamma_(m+1) sum |s_i| |X_i|`` per coefficient (Higham
    (3.4)), which moves the value at any point of the box by at most that times ``xm1``."""
    S = mag = carried = None
    for s, X, e in terms:
        sX = s * X
        S = sX if S is None else S + sX
        a = np.abs(sX)
        mag = a if mag is None else mag + a
        if e is not None:
            ce = np.abs(s[..., 0]) * e if isinstance(s, np.ndarray) else abs(s) * e
            carried = ce if carried is None else carried + ce
    m = len(terms)
    err = (gamma(m + 1) * mag * xm1).sum(axis=2)
    if carried is not None:
        err = err + carried
    return S, inflate(err, S.shape[2] + m + 2)


def _box_min(X, e, lo, hi, xm1):
    """A rigorous lower bound of ``X.x - e`` over each box: (n, N). ``lo, hi``: (N, k)."""
    a, b = X[..., :-1], X[..., -1]
    v = np.where(a > 0, a * lo[None], a * hi[None]).sum(axis=2) + b
    k = a.shape[2]
    err = inflate(gamma(k + 1) * (np.abs(X) * xm1).sum(axis=2), k + 1) + e
    return np.nextafter(v - err * (1 + 4 * _U) - 4 * _TINY, -np.inf)


def _mm(W, X):
    """``W @ X`` over the first axis of X (n, ...): one matrix product."""
    return (W @ X.reshape(X.shape[0], -1)).reshape((W.shape[0],) + X.shape[1:])


def rigorous_box_bounds(net: Network, lo, hi, C):
    """Rigorous lower bounds of ``C y`` over input boxes, and the affine lower functions behind them.

    Parameters
    ----------
    net : Network
    lo, hi : array_like, shape (N, n_inputs), float64
        The boxes (``lo <= hi``).
    C : array_like, shape (q, n_outputs), float64
        Rows of the linear functions of the output.

    Returns
    -------
    lower : ndarray, shape (N, q)
        ``lower[i, r] <= min over box i of C_r net(x)`` for the exact real network (float64 weights taken
        exactly), every rounding error of the computation bounded.
    slopes : ndarray, shape (N, q, n_inputs)
        The linear part of each row's lower affine function (for choosing the input to split).

    Raises
    ------
    TypeError
        When ``net`` is not a Network or an array is not numbers.
    ValueError
        When ``lo``, ``hi`` or ``C`` has the wrong shape or NaN / infinite entries, or ``lo > hi`` somewhere.

    Notes
    -----
    Symbolic interval propagation (Neurify; see the module docstring): every quantity ``z`` carries affine
    functions ``L, U`` of the input and error bounds ``eL, eU`` with ``L.x - eL <= z <= U.x + eU`` on the box. An
    affine layer maps them through ``W+`` and ``W-``; a two-piece unit ``p0 + relu(p1 - p0)`` with bounds
    ``l < 0 < u`` of ``D = p1 - p0`` takes ``lambda D`` below (``lambda = u / (u - l)`` clipped to [0, 1]: any
    ``lambda`` in [0, 1] is valid) and ``mu (D - l)`` above (``mu >= u / (u - l)``, rounded up); a unit of more
    pieces is bounded below by its piece of largest lower bound and above by the constant largest upper bound.
    On networks of ReLU and affine layers the bounds of every layer and of the objectives are then tightened by
    back-substitution (CROWN: Zhang et al., NeurIPS 2018; DeepPoly: Singh et al., POPL 2019), every rounding error
    again bounded (:func:`_backsub`).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)),
    ...                                      (np.array([[1.0, 1.0]]), np.zeros(1))])   # |x|
    >>> lower, _ = rigorous_box_bounds(net, [[0.5]], [[2.0]], [[1.0]])
    >>> 0.4999 < float(lower[0, 0]) <= 0.5
    True
    """
    _check_net(net)
    lo = _finite(np.atleast_2d(np.asarray(lo, dtype=object)), "lo", (None, net.in_dim))
    hi = _finite(np.atleast_2d(np.asarray(hi, dtype=object)), "hi", (lo.shape[0], net.in_dim))
    if np.any(lo > hi):
        raise ValueError("lo must be <= hi in every coordinate of every box")
    _finite(np.atleast_2d(np.asarray(C, dtype=object)), "C", (None, net.out_dim))
    X, e, xm1 = _lower_affine(net, lo, hi, C)
    return _box_min(X, e, lo, hi, xm1).T, np.transpose(X[..., :-1], (1, 0, 2))


def _lower_affine(net: Network, lo: np.ndarray, hi: np.ndarray, C) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The affine lower functions behind :func:`rigorous_box_bounds` (arguments checked there).

    Returns ``X`` (q, N, k+1), ``e`` (q, N) and ``xm1`` (1, N, k+1) with ``C_r net(x) >= X[r, i] . (x, 1) - e[r, i]``
    for every exact ``x`` in box ``i``, where the product is exact (its rounding is what :func:`_box_min` and
    :func:`_combine` bound, given ``xm1``: ``max |x_j|`` over each box and 1).

    The branch and bound's node bound (signs imposed on ReLUs) is its C++ twin for ReLU networks
    (``relutope._core.relu_node_bound``, cpp/src/certify_bab.cpp), checked against this one in the tests."""
    N, k = lo.shape
    xm1 = np.concatenate([np.maximum(np.abs(lo), np.abs(hi)), np.ones((N, 1))], axis=1)[None]
    eye = np.concatenate([np.eye(k), np.zeros((k, 1))], axis=1)
    L = np.repeat(eye[:, None, :], N, axis=1)  # (units, N, k+1)
    U = L.copy()
    eL = np.zeros((k, N))
    eU = np.zeros((k, N))

    def affine(W, c):
        Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
        PL, PU = _mm(Wp, L) + _mm(Wn, U), _mm(Wp, U) + _mm(Wn, L)
        if c is not None:
            PL[..., -1] += c[:, None]
            PU[..., -1] += c[:, None]
        # (|W+| |L| + |W-| |U| + |c|) . xm1 <= rowsum|W| * max over units of (|L|, |U|) . xm1 + |c|: a coarse but
        # cheap bound of the magnitude the rounding error is relative to (gamma ~ 1e-14 of it)
        n_in = W.shape[1]
        mag = (np.maximum(np.abs(L), np.abs(U)).max(axis=0) * xm1[0]).sum(axis=1)  # (N,)
        rnd = gamma(2 * n_in + 2) * (np.abs(W).sum(axis=1)[:, None] * mag[None, :]
                                     + (0.0 if c is None else np.abs(c)[:, None]))
        ePL = inflate(rnd + Wp @ eL - Wn @ eU, 2 * n_in + k + 3)
        ePU = inflate(rnd + Wp @ eU - Wn @ eL, 2 * n_in + k + 3)
        return PL, PU, ePL, ePU

    relu_net = all(_is_relu_or_affine(layer) for layer in net.layers)
    records = []  # per layer, for the back-substitution: (lam, mu, shift, Dmax) of ReLU layers, and |z| max
    zmax_prev = xm1[0, :, :-1].T  # (k, N): |x| max over each box
    for li, layer in enumerate(net.layers):
        PL, PU, ePL, ePU = affine(layer.A, layer.c)
        n = layer.n_units
        L, U = np.empty((n, N, k + 1)), np.empty((n, N, k + 1))
        eL, eU = np.empty((n, N)), np.empty((n, N))
        starts = layer.piece_start[:-1]
        K = layer.n_pieces
        one = K == 1
        if one.any():
            r = starts[one]
            L[one], U[one], eL[one], eU[one] = PL[r], PU[r], ePL[r], ePU[r]
        two = K == 2
        if two.any():
            r0, r1 = starts[two], starts[two] + 1
            zero = np.all(layer.A[r0] == 0.0, axis=1) & (layer.c[r0] == 0.0)  # ReLU: D = p1 exactly
            DL, eDL = _combine([(1.0, PL[r1], ePL[r1]), (-1.0, PU[r0], ePU[r0])], xm1)
            DU, eDU = _combine([(1.0, PU[r1], ePU[r1]), (-1.0, PL[r0], ePL[r0])], xm1)
            DL[zero], eDL[zero] = PL[r1[zero]], ePL[r1[zero]]
            DU[zero], eDU[zero] = PU[r1[zero]], ePU[r1[zero]]
            l = _box_min(DL, eDL, lo, hi, xm1)
            u = -_box_min(-DU, eDU, lo, hi, xm1)
            sel = np.flatnonzero(((l < 0) & (u > 0)).any(axis=1))  # units unstable on some box of the batch
            # CROWN's intermediate bounds: back-substitute +-D, keep the tighter
            if relu_net and records and sel.size:
                A1, c1 = layer.A[1::2][sel], layer.c[1::2][sel]
                bl = _box_min(*_backsub(net.layers[:li], np.vstack([A1, -A1]), records, lo, hi, xm1), lo, hi, xm1)
                n2 = A1.shape[0]
                l[sel] = np.maximum(l[sel], np.nextafter(bl[:n2] + c1[:, None], -np.inf))
                u[sel] = np.minimum(u[sel], np.nextafter(-bl[n2:] + c1[:, None], np.inf))
            act, dead = l >= 0, u <= 0
            unst = ~(act | dead)
            width = np.where(unst, u - l, 1.0)
            # lower slope: CROWN's adaptive choice (any value in [0, 1] is valid)
            lam = np.where(act, 1.0, np.where(dead, 0.0, (u > -l).astype(np.float64)))
            mu = np.where(act, 1.0, np.where(dead, 0.0, u / width * (1 + 8 * _U)))
            sh = np.zeros_like(DU)
            sh[..., -1] = np.where(unst, np.nextafter(-mu * l, np.inf), 0.0)  # >= -mu l despite its rounding
            lowD, elowD = _combine([(lam[..., None], DL, eDL)], xm1)
            upD, eupD = _combine([(mu[..., None], DU, eDU), (1.0, sh, None)], xm1)
            # z = p0 + relu(D); for ReLU p0 = 0 exactly
            zl, ezl = _combine([(1.0, PL[r0], ePL[r0]), (1.0, lowD, elowD)], xm1)
            zu, ezu = _combine([(1.0, PU[r0], ePU[r0]), (1.0, upD, eupD)], xm1)
            zl[zero], ezl[zero] = lowD[zero], elowD[zero]
            zu[zero], ezu[zero] = upD[zero], eupD[zero]
            L[two], U[two], eL[two], eU[two] = zl, zu, ezl, ezu
            if relu_net:
                records.append((lam, mu, sh[..., -1], np.maximum(np.abs(l), np.abs(u)), zmax_prev))
                zmax_prev = np.maximum(u, 0.0)
        elif relu_net:
            records.append((None, None, None, None, zmax_prev))
            zmax_prev = np.maximum(np.abs(_box_min(L, eL, lo, hi, xm1)), np.abs(_box_min(-U, eU, lo, hi, xm1)))
        for unit in np.flatnonzero(K > 2):
            rows = np.arange(starts[unit], starts[unit] + K[unit])
            lows = _box_min(PL[rows], ePL[rows], lo, hi, xm1)          # (K, N)
            ups = -_box_min(-PU[rows], ePU[rows], lo, hi, xm1)
            best = rows[np.argmax(lows, axis=0)]
            L[unit], eL[unit] = PL[best, np.arange(N)], ePL[best, np.arange(N)]
            U[unit] = 0.0
            U[unit, :, -1] = ups.max(axis=0)
            eU[unit] = 0.0
    C = np.atleast_2d(np.asarray(C, dtype=np.float64))
    OL, _, eO, _ = affine(C, None)
    if relu_net:  # back-substitution of the objectives (DeepPoly / CROWN), kept where it is tighter
        BX, eB = _backsub(net.layers, C, records, lo, hi, xm1)
        better = _box_min(BX, eB, lo, hi, xm1) > _box_min(OL, eO, lo, hi, xm1)  # (q, N)
        OL = np.where(better[..., None], BX, OL)
        eO = np.where(better, eB, eO)
    return OL, eO, xm1


def _is_relu_or_affine(layer) -> bool:
    """Every unit affine (one piece) or a ReLU (pieces 0 and an affine one), the layers of ACAS Xu."""
    K = layer.n_pieces
    if np.all(K == 1):
        return True
    if not np.all(K == 2):
        return False
    r0 = layer.piece_start[:-1]
    return bool(np.all(layer.A[r0] == 0.0) and np.all(layer.c[r0] == 0.0))


def _backsub(layers, C, records, lo, hi, xm1):
    """Rigorous lower bounds of ``C y`` by back-substitution through the ReLU relaxations of the forward pass.

    ``C y = Lam . z_l + const`` is carried from the output to the input: through an affine layer ``z = A z' + c``
    exactly (``Lam A``, ``Lam . c``), through a ReLU ``z = relu(D)`` by ``lam D`` where a coefficient is
    non-negative and ``mu D + shift`` where it is negative (each a valid bound in that direction). Every product is
    rounded; its error moves the value by at most ``gamma (|Lam| |A|) |z'|max``, bounded with the forward pass's
    magnitudes ``|z'|max`` and added to ``err``. Returns the lower functions ``X`` (q, N, k+1) and ``err`` (q, N):
    ``C_r y >= X[r, i] . (x, 1) - err[r, i]`` on box ``i`` (the product exact)."""
    q = C.shape[0]
    N = lo.shape[0]
    Lam = np.broadcast_to(C[:, None, :], (q, N, C.shape[1])).copy()  # (q, N, n)
    const = np.zeros((q, N))
    err = np.zeros((q, N))
    for layer, (lam, mu, shift, Dmax, zmax_prev) in zip(reversed(layers), reversed(records[:len(layers)])):
        A, c = (layer.A, layer.c) if lam is None else (layer.A[1::2], layer.c[1::2])
        n_prev = A.shape[1]
        # the value moves by gamma (|Lam| |A|) |z'|max through the product with A (and |Lam| |c| through c)
        w = gamma(n_prev + 2) * (np.abs(A) @ zmax_prev + np.abs(c)[:, None])  # (n, N)
        if lam is not None:
            neg = Lam < 0
            sh = np.where(neg, Lam * shift.T[None], 0.0)  # <= 0
            Lam = Lam * np.where(neg, mu.T[None], lam.T[None])
            const = const + sh.sum(axis=2)
            # ... and by 2u |Lam lam| |D|max through the rounded products Lam * slope; const's sums
            w = w + 2 * _U * Dmax
            err = err + gamma(Lam.shape[2] + 2) * (np.abs(sh).sum(axis=2) + np.abs(const))
        err = err + np.matmul(np.abs(Lam).transpose(1, 0, 2), w.T[..., None])[..., 0].T \
            + gamma(Lam.shape[2] + 2) * np.abs(const)
        err = inflate(err, n_prev + Lam.shape[2] + 4)
        const = const + Lam @ c
        Lam = (Lam.reshape(-1, A.shape[0]) @ A).reshape(q, N, n_prev)
    # C y >= Lam . x + const - err on each box
    return np.concatenate([Lam, const[..., None]], axis=2), err


# ------------------------------------------------------------------------------------ branch and bound on the ReLUs
def _relu_structure(net) -> bool:
    """Every layer but the last a ReLU layer (pieces 0 and W x + b), the last affine."""
    layers = net.layers
    return (all(np.all(layer.n_pieces == 2) and _is_relu_or_affine(layer) for layer in layers[:-1])
            and bool(np.all(layers[-1].n_pieces == 1)))


def _relu_bab_certify(net, case, lo, hi, deadline, max_nodes: int = 2_000_000, refine: bool = True,
                      **options):
    """Certify the boxes left open by the input splitting by branch and bound on their ReLUs (Bunel, Turkaslan,
    Torr, Kohli & Mudigonda, "A Unified View of Piecewise Linear Neural Network Verification", NeurIPS 2018), in
    C++ with the GIL released (``relutope._core.relu_bab_certify``, cpp/src/certify_bab.cpp).

    A node is a box and a sign (``z >= 0`` or ``z <= 0``) imposed on some units; a node's two children impose the
    two signs of one more unit, so the leaves cover the box by construction (no enumeration is trusted). On each
    node the rigorous bounds (symbolic intervals with the signs clipping the units' bounds, CROWN back-substitution
    of the unstable units' and the objectives' bounds, every rounding bounded as in :func:`_lower_affine`) prove it
    empty (a sign against a proven bound) or refute a term (a row's bound positive); else the box is shrunk by the
    signed units' rigorous rows (interval constraint propagation, rounded outwards, then the node's bounding box by
    2 k LPs over those rows, each bound proven by its multipliers' rigorous weak-duality bound), the node bounded
    again on the shrunk box while an input's width shrinks by a quarter (up to twice), and one LP over those rows in
    the inputs (our dual simplex, cpp/src/lp.cpp) gives multipliers whose weak-duality bound, evaluated with its
    rounding bounded (Neumaier & Shcherbina 2004), refutes the term or proves the node empty. A node left open is
    split at a unit of the first layer with units unstable on it (the one with the tallest triangle ``-l u / (u -
    l)``), so the signed units' layers before it are decided and their rows are exact up to the bounded rounding;
    with every unit decided the LP is the region's own, so the search ends. Each child starts from its parent's
    proven unit bounds (valid on the child, a subset), intersected into its own.

    Why C++: the numpy version spent ~30 ms a node (20 ms on the vectorised bound of one node, 9 ms on linprog's
    set-up) where the C++ node takes ~0.1 ms, and at that price the CROWN intermediate bounds (``refine``, off in
    numpy) pay for themselves in fewer nodes. ``options``: the search's tuning (``split_unstable``, ``max_splits``,
    ``input_depth``, ``babsr``, ``lp_box``, ``rebound``, ``cheap_first``), each defaulting to the core's
    ``BabOptions`` (cpp/include/relutope/certify_bab.hpp, the one place the defaults are written; read them as
    ``relutope._core.relu_bab_defaults``). Returns (nodes proven, min margin, failure or None, counts dict)."""
    from . import _core

    terms = _term_arrays(case, net.out_dim)
    if any(np.any(dC > 0) for _, dC, _ in terms):
        return 0, np.inf, "the branch and bound on the ReLUs needs the property's rows as exact binary fractions", {}
    left = 0.0 if deadline is None else deadline - time.perf_counter()
    if deadline is not None and left <= 0:
        return 0, np.inf, "the time limit of the certification was reached", {}
    res = _core.relu_bab_certify(net._core(), np.ascontiguousarray(lo, dtype=np.float64),
                                 np.ascontiguousarray(hi, dtype=np.float64), [(C, d) for C, _, d in terms],
                                 time_limit=left, max_nodes=int(max_nodes), refine=bool(refine), **options)
    why = {"proven": None,
           "time_limit": "the time limit of the certification was reached",
           "node_limit": f"the branch and bound on the ReLUs reached {max_nodes} nodes",
           "interrupted": "the certification was interrupted (Ctrl-C)",
           "unrefuted": (f"a node of the branch and bound on the ReLUs with every unit decided is not refuted (LP value "
                         f"{res['value']:.3g}): a counterexample or a rounding tie")}[res["status"]]
    return int(res["proven"]), float(res["margin"]), why, res


def _outer_box(case) -> Tuple[np.ndarray, np.ndarray]:
    """The smallest float64 box containing the exact box (decimal bounds rounded outwards)."""
    lo = np.array([float(v) for v in case.box_lo])
    hi = np.array([float(v) for v in case.box_hi])
    for i, (a, b) in enumerate(zip(case.box_lo, case.box_hi)):
        if Fraction(lo[i]) > a:
            lo[i] = np.nextafter(lo[i], -np.inf)
        if Fraction(hi[i]) < b:
            hi[i] = np.nextafter(hi[i], np.inf)
    return lo, hi


def _term_arrays(case, m):
    """Per term: C (float64, exact when the rationals are binary fractions), the rounding-up bound of
    ``|C_exact - C|`` per row (applied with the output's magnitude) and ``d`` rounded up (so that
    ``C y - d_up <= C y - d_exact``: a positive lower bound of the former proves the latter positive)."""
    out = []
    for C, d in case.terms:
        Cf = np.array([[float(v) for v in row] for row in C], dtype=np.float64).reshape(len(C), m)
        dC = np.array([[abs(float(Fraction(Cf[i, j]) - C[i][j])) for j in range(m)] for i in range(len(C))])
        dC = np.nextafter(dC, np.inf) * (dC > 0)
        dd = np.array([float(v) for v in d], dtype=np.float64)
        for i, v in enumerate(d):
            if Fraction(dd[i]) < v:
                dd[i] = np.nextafter(dd[i], np.inf)  # d up: C y - d_up <= ...; we need a lower bound of C y - d
        out.append((Cf, dC.reshape(len(C), m), dd))
    return out


def _combined_margins(X, e, d, lo, hi, xm1) -> np.ndarray:
    """Rigorous lower bounds of ``max_r (C_r y - d_r)`` over each box from the rows' lower functions, combined.

    ``X`` (q, N, k+1), ``e`` (q, N): ``C_r y >= X_r . (x, 1) - e_r`` on box ``i`` (:func:`_lower_affine`); ``d``
    (q,): rounded up. For multipliers ``lam >= 0`` (not all 0), ``sum_r lam_r (C_r y - d_r) <= (sum_r lam_r)
    max_r (C_r y - d_r)``, so a positive lower bound of the left side over the box proves the term's unsafe set
    ``C y <= d`` empty there even when no single row is positive on all of it. ``lam`` is the dual of the LP
    ``min t s.t. X_r . (x, 1) - d_r <= t, x in the box`` (HiGHS; a guess: any ``lam >= 0`` is valid), and the bound
    of ``sum_r lam_r (X_r . (x, 1) - e_r - d_r)`` over the box is evaluated with its rounding bounded
    (:func:`_combine`, :func:`_box_min`). Returns (N,) bounds divided by ``sum lam`` (rounded down; ``-inf`` where
    no multipliers prove anything)."""
    from scipy.optimize import linprog

    q, N, k1 = X.shape
    k = k1 - 1
    lam = np.zeros((q, N))
    for i in range(N):
        A_ub = np.hstack([X[:, i, :k], -np.ones((q, 1))])
        res = linprog(np.r_[np.zeros(k), 1.0], A_ub=A_ub, b_ub=d - X[:, i, k],
                      bounds=[(a, b) for a, b in zip(lo[i], hi[i])] + [(None, None)], method="highs")
        if res.status == 0 and res.fun > 0:
            lam[:, i] = np.maximum(-res.ineqlin.marginals, 0.0)
    D = np.zeros_like(X)
    D[..., -1] = -d[:, None]
    parts = [(lam[r][None, :, None], X[r][None], e[r][None]) for r in range(q)]
    parts += [(lam[r][None, :, None], D[r][None], None) for r in range(q)]
    S, eS = _combine(parts, xm1)
    bound = _box_min(S, eS, lo, hi, xm1)[0]
    total = inflate(lam.sum(axis=0), q)
    # bound <= sum lam (C y - d) <= total max_r (C_r y - d_r): bound / total, rounded down, when bound > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((bound > 0) & (total > 0), np.nextafter(bound / total, -np.inf), -np.inf)
    return out


def _split_certify(net, case, max_boxes, batch, deadline):
    """Input splitting with rigorous bounds over the case's outer box. Returns (closed boxes, min margin, open
    boxes as (lo, hi) arrays, failure or None)."""
    lo0, hi0 = _outer_box(case)
    span = hi0 - lo0
    terms = _term_arrays(case, net.out_dim)
    allC = np.vstack([C for C, _, _ in terms])
    dCs = np.vstack([dC for _, dC, _ in terms])
    ds = np.concatenate([d for _, _, d in terms])
    sizes = [C.shape[0] for C, _, _ in terms]
    need_y = bool(np.any(dCs > 0))
    stack_lo, stack_hi = [lo0], [hi0]
    closed, margin, bounded = 0, np.inf, 0
    opened_lo, opened_hi = [], []
    while stack_lo:
        if deadline is not None and time.perf_counter() > deadline:
            return closed, margin, None, "the time limit of the certification was reached"
        take = min(batch, len(stack_lo))  # breadth first: the whole frontier in batches (vectorised)
        blo, bhi = np.array(stack_lo[:take]), np.array(stack_hi[:take])
        del stack_lo[:take], stack_hi[:take]
        bounded += take
        X, eX, xm1 = _lower_affine(net, blo, bhi, allC)
        slopes = np.transpose(X[..., :-1], (1, 0, 2))
        if need_y:  # |C_exact - C| |y| with |y| from the outputs' own rigorous bounds
            m = net.out_dim
            yb = rigorous_box_bounds(net, blo, bhi, np.vstack([np.eye(m), -np.eye(m)]))[0]
            ymax = np.maximum(np.abs(yb[:, :m]), np.abs(yb[:, m:]))
            eX = eX + inflate(ymax @ dCs.T, m + 2).T
        low = _box_min(X, eX, blo, bhi, xm1).T
        margins = np.nextafter(low - ds[None, :], -np.inf)  # lower bounds of C_r y - d_r
        refuted = np.ones(take, dtype=bool)
        smear = np.zeros_like(blo)
        best = np.full(take, np.inf)
        at = 0
        for q in sizes:
            mt = margins[:, at:at + q]
            ok = (mt > 0).any(axis=1) if q else np.zeros(take, dtype=bool)
            if q > 1 and not ok.all():  # no single row: a convex combination of the term's rows
                comb = np.full(take, -np.inf)
                rest = np.flatnonzero(~ok)
                comb[rest] = _combined_margins(X[at:at + q][:, rest], eX[at:at + q][:, rest], ds[at:at + q],
                                               blo[rest], bhi[rest], xm1[:, rest])
                mt = np.concatenate([mt, comb[:, None]], axis=1)
                ok = (mt > 0).any(axis=1)
            if q:
                best = np.minimum(best, np.where(ok, mt.max(axis=1), np.inf))
            refuted &= ok
            smear += np.where(ok[:, None], 0.0, (np.abs(slopes[:, at:at + q]).sum(axis=1)) * (bhi - blo))
            at += q
        closed += int(refuted.sum())
        if refuted.any():
            margin = min(margin, float(best[refuted].min()))
        for i in np.flatnonzero(~refuted):
            if bounded >= max_boxes or not np.any(bhi[i] > blo[i]):
                opened_lo.append(blo[i])
                opened_hi.append(bhi[i])
                continue
            # the input of largest smear among those whose width (relative to the case's box) is at least 1/16 of
            # the largest: boxes keep a bounded aspect ratio, so every input is split in time
            rel = (bhi[i] - blo[i]) / np.where(span > 0, span, 1.0)
            j = int(np.argmax(np.where(rel >= rel.max() / 16, smear[i] + 1e-300, -1.0)))
            mid = 0.5 * (blo[i, j] + bhi[i, j])
            a_hi, b_lo = bhi[i].copy(), blo[i].copy()
            a_hi[j], b_lo[j] = mid, mid
            stack_lo += [b_lo, blo[i]]
            stack_hi += [bhi[i], a_hi]
    return closed, margin, (np.array(opened_lo), np.array(opened_hi)), None


def _region_certify(net, case, lo, hi, tol, deadline=None, enumerations=None):
    """Certify the boxes left open by the splitting region by region (exact LP dual bounds), each box's
    enumeration certified complete (``enumerate_regions(..., certify=True)``; its certificate appended to
    ``enumerations``). Returns (regions, min margin, failure or None)."""
    from scipy.optimize import linprog

    from .domains import Box
    from .enumerate import enumerate_regions
    from .exact import exact_region

    regions, margin = 0, np.inf
    terms = case.terms
    for blo, bhi in zip(lo, hi):
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            return regions, margin, "the time limit of the certification was reached"
        part = enumerate_regions(net, Box(blo, bhi), tol=tol, method="lp", time_limit=left, certify=True)
        if not part.complete:
            return regions, margin, f"the enumeration of an open box stopped ({part.status})"
        if enumerations is not None:
            enumerations.append(part.certificate)
        if part.certificate.status != "certified":
            return regions, margin, (f"the enumeration of an open box is not certified complete "
                                     f"({part.certificate.status})")
        bl, bh = [Fraction(float(v)) for v in blo], [Fraction(float(v)) for v in bhi]
        for idx in range(len(part)):
            if deadline is not None and time.perf_counter() > deadline:
                return regions, margin, "the time limit of the certification was reached"
            pattern = part.patterns[idx]
            A_Q, b_Q, Gq, hq, _ = exact_region(net, pattern)  # one composition for the map and the rows
            A_Q = [[_fraction(v) for v in row] for row in A_Q]
            b_Q = [_fraction(v) for v in b_Q]
            Ge = [[_fraction(v) for v in row] for row in Gq]
            he = [_fraction(v) for v in hq]
            Af = np.array([[float(v) for v in row] for row in A_Q])
            bf = np.array([float(v) for v in b_Q])
            G = np.array([[float(v) for v in row] for row in Ge]).reshape(len(Ge), net.in_dim)
            h = np.array([float(v) for v in he])
            for ti, (C, d) in enumerate(terms):
                q = len(C)
                Cf = np.array([[float(v) for v in row] for row in C]).reshape(q, net.out_dim)
                df = np.array([float(v) for v in d])
                # min t s.t. C_r (A x + b) - d_r - t <= 0, G x <= h, x in the box (variables x, t)
                kk = Af.shape[1]
                A_ub = np.vstack([np.hstack([Cf @ Af, -np.ones((q, 1))]), np.hstack([G, np.zeros((len(G), 1))])])
                b_ub = np.concatenate([df - Cf @ bf, h])
                res = linprog(np.r_[np.zeros(kk), 1.0], A_ub=A_ub, b_ub=b_ub,
                              bounds=[(a, b) for a, b in zip(blo, bhi)] + [(None, None)], method="highs")
                if res.status != 0:  # (a region of the enumeration is not empty: the LP has an optimum)
                    return regions, margin, f"the LP of region {idx} of an open box failed ({res.message})"
                duals = -res.ineqlin.marginals
                lam, mu = np.maximum(duals[:q], 0.0), np.maximum(duals[q:], 0.0)
                lamr = [Fraction(float(v)) for v in lam]
                mur = [Fraction(float(v)) for v in mu[:len(Ge)]]
                w = [sum(lamr[r] * sum(C[r][o] * A_Q[o][j] for o in range(net.out_dim)) for r in range(q))
                     + sum(mur[i] * Ge[i][j] for i in range(len(Ge))) for j in range(kk)]
                w0 = (sum(lamr[r] * (sum(C[r][o] * b_Q[o] for o in range(net.out_dim)) - d[r]) for r in range(q))
                      - sum(mur[i] * he[i] for i in range(len(Ge))))
                bound = w0 + sum(wj * (bl[j] if wj > 0 else bh[j]) for j, wj in enumerate(w))
                # lam . (C y - d) >= bound on region and box, and lam . (C y - d) <= sum(lam) max_r (C_r y - d_r)
                ok = bound > 0 and sum(lamr) > 0
                if ok:
                    margin = min(margin, float(bound / sum(lamr)))
                if not ok:
                    return regions, margin, (f"region {idx} of an open box: the dual bound {float(bound):.3g} of "
                                             f"term {ti} is not positive")
            regions += 1
    return regions, margin, None


def certify_holds(net: Network, spec, *, max_boxes: int = 4000, batch: int = 512, tol: Optional[float] = None,
                  time_limit: Optional[float] = None, open_boxes: str = "auto") -> VerdictCertificate:
    """Prove that a property holds: every case's box covered by rigorously bounded boxes and exactly bounded regions.

    Parameters
    ----------
    net : Network
    spec : relutope.vnnlib.Property
    max_boxes : int, optional
        ReLU networks: input splits per case of the search before it branches on ReLUs only. Other networks:
        sub-boxes per case the rigorous splitting may bound before the open ones go to the region certificates.
    batch : int, optional
        Boxes bounded at once (vectorised).
    tol : float, optional
        ``tol`` of the enumeration of the open boxes.
    time_limit : float, optional
        Seconds; past it the certificate fails (``ok=False``) with that reason.
    open_boxes : {"auto", "regions"}, optional
        How boxes left open are proven: ``"auto"``, by the branch and bound on the ReLUs on ReLU networks (else by
        regions); ``"regions"``, by the exact region certificates of their certified enumerations.

    Returns
    -------
    VerdictCertificate
        ``status="holds"``; ``ok`` when every piece is proven (see the module docstring).

    Raises
    ------
    TypeError
        When ``net`` is not a Network, ``spec`` not a Property, or a count not an int.
    ValueError
        When ``max_boxes`` or ``batch`` is below 1, ``time_limit`` is not positive or ``open_boxes`` is not one of
        the choices.
    """
    from .enumerate import _check_positive

    _check_net(net)
    _check_spec(spec)
    if open_boxes not in ("auto", "regions"):
        raise ValueError(f"open_boxes must be 'auto' or 'regions', got {open_boxes!r}")
    for value, name in ((max_boxes, "max_boxes"), (batch, "batch")):
        if _check_positive(value, name, integer=True) == 0:
            raise ValueError(f"{name} must be at least 1, got 0")
    _check_positive(time_limit, "time_limit")
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + float(time_limit)
    cert = VerdictCertificate(status="holds")
    bab = open_boxes != "regions" and _relu_structure(net)
    for ci, case in enumerate(spec.exact_cases()):
        if bab:  # the input splitting and the ReLU branching in one search (C++)
            lo0, hi0 = _outer_box(case)
            leaves, margin, why, counts = _relu_bab_certify(net, case, lo0[None], hi0[None], deadline,
                                                            max_splits=int(max_boxes))
            cert.boxes += int(counts.get("box_leaves", 0))
            cert.nodes += leaves - int(counts.get("box_leaves", 0))
            cert.min_margin = min(cert.min_margin, margin)
            if why is not None:
                cert.failures.append(f"case {ci}: {why}")
                break
            continue
        closed, margin, opened, why = _split_certify(net, case, int(max_boxes), int(batch), deadline)
        cert.boxes += closed
        cert.min_margin = min(cert.min_margin, margin)
        if why is None and len(opened[0]):
            if cert.enumeration is None:
                cert.enumeration = []
            first = len(cert.enumeration)
            regions, rmargin, why = _region_certify(net, case, opened[0], opened[1], tol, deadline,
                                                    cert.enumeration)
            cert.regions += regions
            cert.min_margin = min(cert.min_margin, rmargin)
            thin = sum(e.n_thin for e in cert.enumeration[first:])
            if why is None and thin:  # proven thinner than tol, but not bounded: they could hold a counterexample
                cert.pending.append(f"case {ci}: {thin} cells of its {len(opened[0])} open boxes that the certified "
                                    f"enumerations discard as thinner than tol (proven inradius <= "
                                    f"{max(e.max_thin_inradius_bound for e in cert.enumeration[first:]):.3g}) are "
                                    f"not bounded")
        if why is not None:
            cert.failures.append(f"case {ci}: {why}")
            break
    cert.ok = not cert.failures
    cert.seconds = time.perf_counter() - t0
    return cert


def certify_verdict(net: Network, spec, result, *, time_limit: Optional[float] = None,
                    tol: Optional[float] = None, max_boxes: int = 4000) -> VerdictCertificate:
    """The certificate of a verdict of :func:`relutope.verify` (what ``verify(..., certify=True)`` attaches).

    Parameters
    ----------
    net : Network
    spec : relutope.vnnlib.Property
    result : relutope.VerificationResult
        A ``violated`` (with its counterexample, case and term) or ``holds`` verdict on ``spec``.
    time_limit : float, optional
        Seconds for the certification (``holds``: the splitting and the regions).
    tol : float, optional
        ``tol`` of the enumeration of boxes the splitting leaves open.
    max_boxes : int, optional
        ``holds``: as :func:`certify_holds`.

    Returns
    -------
    VerdictCertificate

    Raises
    ------
    ValueError
        When ``result`` is neither ``holds`` nor ``violated``.
    """
    if result.status not in ("holds", "violated"):
        raise ValueError(f"result: only a holds or violated verdict can be certified, got {result.status!r}")
    if time_limit is not None and time_limit <= 0:
        return VerdictCertificate(status=result.status, failures=["no time was left to certify"])
    if result.status == "holds":
        return certify_holds(net, spec, tol=tol, time_limit=time_limit, max_boxes=max_boxes)
    t0 = time.perf_counter()
    cert = VerdictCertificate(status="violated", case=result.case, term=result.term)
    ok, x, y, why = certify_counterexample(net, spec.exact_cases()[result.case], result.term, result.counterexample)
    cert.ok, cert.counterexample, cert.output = ok, x, y
    if not ok:
        cert.failures.append(why)
    cert.seconds = time.perf_counter() - t0
    return cert
