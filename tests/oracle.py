"""Pure-Python reference ("oracle") for the activation regions of a :class:`relutope.Network`.

This module is a test helper, not a test file. It enumerates activation regions by brute force (a depth-first
search over every combination of pieces, pruned by exact Chebyshev-ball LPs solved with HiGHS through
:func:`scipy.optimize.linprog`) and builds small networks whose region counts are known in closed form.

Definitions (shared with the C++ engine)
----------------------------------------
The engine works in domain coordinates ``u`` (length ``k``): the network input is ``x = x0 + E @ u`` and the
domain is ``{u : Adom @ u <= bdom}`` (no rows: the whole space). Given an activation pattern (one chosen piece
``p`` per unit), every unit's pieces ``f_r`` are affine functions of ``u`` once the earlier layers' chosen pieces
are composed; the *region* of the pattern is the domain intersected with ``f_s(u) - f_p(u) <= 0`` for every unit
and every ``s != p``. The region *exists* iff its Chebyshev radius (largest Euclidean ball inside it) is
``> tol``; without domain rows the radius is capped at ``radius_cap``.

Ties: when two pieces of a unit are *identical* functions of ``u`` (for example a ReLU whose input is identically
zero because every unit of the previous layer is dead), the closed inequalities above hold for both pieces
everywhere. The network itself picks the lowest index (:func:`numpy.argmax`), so with ``ties="lowest"`` (the
default) the constraint ``f_s - f_p < 0`` for ``s < p`` is made strict for such constant rows; only then do the
enumerated patterns agree with :meth:`relutope.Network.activation_pattern`.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import List, Optional, Tuple

import numpy as np
from scipy.optimize import linprog

from relutope.network import Network

__all__ = [
    "ZERO_TOL",
    "MAX_COMBINATIONS",
    "layer_pieces_in_u",
    "unit_constraints",
    "region_halfspaces",
    "chebyshev",
    "brute_force_patterns",
    "as_pattern_set",
    "zaslavsky_count",
    "sawtooth_net",
    "general_position_layer",
]

#: A constraint row (or a hyperplane normal) whose Euclidean norm is at most this is treated as constant.
ZERO_TOL = 1e-12
#: :func:`brute_force_patterns` refuses networks with more piece combinations than this.
MAX_COMBINATIONS = 2 ** 16

_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


def _domain(net: Network, x0, E, Adom, bdom) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate and default the domain: returns x0 (d,), E (d, k), Adom (m, k), bdom (m,), all float64."""
    d = net.in_dim
    E = np.eye(d) if E is None else np.array(E, dtype=np.float64, ndmin=2)
    if E.ndim != 2 or E.shape[0] != d or E.shape[1] < 1:
        raise ValueError(f"E must have shape ({d}, k) with k >= 1, got {E.shape}")
    k = E.shape[1]
    x0 = np.zeros(d) if x0 is None else np.asarray(x0, dtype=np.float64).reshape(-1)
    if x0.shape != (d,):
        raise ValueError(f"x0 must have shape ({d},), got {x0.shape}")
    if (Adom is None) != (bdom is None):
        raise ValueError("give both Adom and bdom, or neither (whole space)")
    if Adom is None:
        Adom, bdom = np.zeros((0, k)), np.zeros(0)
    else:
        Adom = np.array(Adom, dtype=np.float64, ndmin=2)
        bdom = np.asarray(bdom, dtype=np.float64).reshape(-1)
        if Adom.shape != (bdom.shape[0], k):
            raise ValueError(f"Adom must have shape (m, {k}) and bdom (m,), got {Adom.shape} and {bdom.shape}")
    return x0, E, Adom, bdom


def layer_pieces_in_u(net: Network, x0, E, pattern) -> List[List[Tuple[np.ndarray, np.ndarray]]]:
    """Every unit's affine pieces as functions of the domain coordinates ``u``.

    Parameters
    ----------
    net : relutope.Network
    x0 : array_like, shape (d,), float64
        Input offset (``x = x0 + E @ u``).
    E : array_like, shape (d, k), float64
        Input embedding of the domain coordinates.
    pattern : array_like of int, shape (n_units,)
        Chosen piece of every unit. Only the entries of layers *before* a layer affect that layer's pieces, so a
        partial pattern may be padded with anything (zeros) after the units of interest.

    Returns
    -------
    pieces : list of list of (M, m)
        ``pieces[l][j] = (M, m)`` with ``M`` of shape (K, k) float64 and ``m`` of shape (K,) float64: piece ``r``
        of unit ``j`` of layer ``l`` is ``u -> M[r] @ u + m[r]`` given the choices of layers ``0..l-1``.

    Raises
    ------
    ValueError
        When the pattern has the wrong length or names a piece a unit does not have.
    """
    x0, E, _, _ = _domain(net, x0, E, None, None)
    pattern = np.asarray(pattern).reshape(-1)
    if pattern.shape != (net.n_units,):
        raise ValueError(f"pattern must have shape ({net.n_units},), got {pattern.shape}")
    if np.any(pattern < 0) or np.any(pattern >= net.n_pieces):
        raise ValueError("pattern names a piece index that a unit does not have")
    G, g = E, x0  # current layer input = G @ u + g
    out = []
    offset = 0
    for layer in net.layers:
        Pm = layer.A @ G  # (P, k)
        pv = layer.A @ g + layer.c  # (P,)
        starts = layer.piece_start
        out.append([(Pm[starts[j]:starts[j + 1]], pv[starts[j]:starts[j + 1]]) for j in range(layer.n_units)])
        chosen = starts[:-1] + pattern[offset:offset + layer.n_units].astype(np.int64)
        G, g = Pm[chosen], pv[chosen]
        offset += layer.n_units
    return out


def unit_constraints(M: np.ndarray, m: np.ndarray, p: int, ties: str = "lowest") -> Tuple[np.ndarray, np.ndarray]:
    """Half-spaces ``A @ u <= b`` on which piece ``p`` of a unit with pieces ``(M, m)`` is the maximum.

    Parameters
    ----------
    M : ndarray, shape (K, k), float64
    m : ndarray, shape (K,), float64
        Piece ``r`` is ``M[r] @ u + m[r]``.
    p : int
        The chosen piece.
    ties : {"lowest", "closed"}, optional
        ``"closed"`` keeps every row ``f_s - f_p <= 0`` as is. ``"lowest"`` (default) encodes the network's
        tie rule for pieces that are *constant* apart (``||M[s] - M[p]|| <= ZERO_TOL``): for ``s < p`` piece ``p``
        needs ``f_s - f_p < 0`` strictly, so such a row with ``m[s] - m[p] >= 0`` is replaced by ``0 @ u <= -1``.

    Returns
    -------
    A : ndarray, shape (K - 1, k), float64
    b : ndarray, shape (K - 1,), float64
        One row ``(M[s] - M[p]) @ u <= m[p] - m[s]`` per ``s != p``.
    """
    if ties not in ("lowest", "closed"):
        raise ValueError(f"ties must be 'lowest' or 'closed', got {ties!r}")
    others = [s for s in range(M.shape[0]) if s != p]
    A = M[others] - M[p]
    b = m[p] - m[others]
    if ties == "lowest":
        for i, s in enumerate(others):
            if s < p and np.linalg.norm(A[i]) <= ZERO_TOL and b[i] <= 0.0:
                A[i] = 0.0
                b[i] = -1.0
    return A, b


def region_halfspaces(net: Network, pattern, x0=None, E=None, Adom=None, bdom=None,
                      ties: str = "lowest") -> Tuple[np.ndarray, np.ndarray]:
    """All constraints of a pattern's region: the domain rows, then every unit's argmax rows.

    Parameters
    ----------
    net : relutope.Network
    pattern : array_like of int, shape (n_units,)
    x0 : array_like, shape (d,), optional
        Defaults to zeros.
    E : array_like, shape (d, k), optional
        Defaults to the identity (``k = d``).
    Adom : array_like, shape (m, k), optional
    bdom : array_like, shape (m,), optional
        Domain ``Adom @ u <= bdom``; both ``None`` for the whole space.
    ties : {"lowest", "closed"}, optional
        See :func:`unit_constraints`.

    Returns
    -------
    A : ndarray, shape (m + sum_k (K_k - 1), k), float64
    b : ndarray, shape (m + sum_k (K_k - 1),), float64
        The region is ``{u : A @ u <= b}`` (not normalised; units with one piece add no row).
    """
    x0, E, Adom, bdom = _domain(net, x0, E, Adom, bdom)
    pattern = np.asarray(pattern).reshape(-1)
    pieces = layer_pieces_in_u(net, x0, E, pattern)
    As, bs = [Adom], [bdom]
    j = 0
    for layer_pieces in pieces:
        for M, m in layer_pieces:
            A, b = unit_constraints(M, m, int(pattern[j]), ties)
            As.append(A)
            bs.append(b)
            j += 1
    return np.vstack(As), np.concatenate(bs)


def chebyshev(A, b, radius_cap: Optional[float] = 1.0) -> Tuple[np.ndarray, float]:
    """Chebyshev ball (largest inscribed Euclidean ball) of ``{u : A @ u <= b}``, solved with HiGHS.

    Maximises ``r`` subject to ``A[i] @ u + ||A[i]|| r <= b[i]``, ``0 <= r <= radius_cap``. Rows are divided by
    their norm first; rows with norm ``<= ZERO_TOL`` are dropped after checking ``b[i] >= 0``.

    Parameters
    ----------
    A : array_like, shape (m, k), float64
    b : array_like, shape (m,), float64
    radius_cap : float or None, optional
        Upper bound on ``r`` (needed when the set is unbounded); ``None`` for no bound.

    Returns
    -------
    center : ndarray, shape (k,), float64
        The ball's centre (NaN when the set is empty or the LP is unbounded).
    radius : float
        The radius; ``-inf`` when the set is empty, ``+inf`` when ``radius_cap`` is ``None`` and the set contains
        arbitrarily large balls.

    Raises
    ------
    RuntimeError
        When HiGHS reports anything other than optimal, infeasible or unbounded.
    """
    A = np.array(A, dtype=np.float64, ndmin=2)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    k = A.shape[1]
    norms = np.linalg.norm(A, axis=1)
    zero = norms <= ZERO_TOL
    if np.any(b[zero] < 0.0):
        return np.full(k, np.nan), -math.inf
    A = A[~zero] / norms[~zero, None]
    b = b[~zero] / norms[~zero]
    if A.shape[0] == 0:
        return np.zeros(k), (math.inf if radius_cap is None else float(radius_cap))
    cost = np.zeros(k + 1)
    cost[-1] = -1.0
    A_ub = np.hstack([A, np.ones((A.shape[0], 1))])
    bounds = [(None, None)] * k + [(0.0, radius_cap)]
    res = linprog(cost, A_ub=A_ub, b_ub=b, bounds=bounds, method="highs", options=_HIGHS_OPTIONS)
    if res.status == 0:
        return res.x[:k], float(res.x[k])
    if res.status == 2:
        return np.full(k, np.nan), -math.inf
    if res.status == 3:
        return np.full(k, np.nan), math.inf
    raise RuntimeError(f"HiGHS failed on a Chebyshev LP: {res.message}")


def brute_force_patterns(net: Network, x0=None, E=None, Adom=None, bdom=None, tol: float = 1e-7,
                         radius_cap: float = 1.0, ties: str = "lowest", return_centers: bool = False):
    """Every activation pattern whose region exists, by exhaustive search over the pieces.

    Depth-first over the units in order (layer by layer); at every unit with ``K >= 2`` each piece is tried and
    the Chebyshev LP of the partial constraint set is solved. A partial set's region contains the region of every
    completion, so a branch whose radius is ``<= tol`` is pruned without losing anything.

    Parameters
    ----------
    net : relutope.Network
    x0, E, Adom, bdom : array_like, optional
        The domain, see :func:`region_halfspaces` (default: the whole input space, ``u = x``).
    tol : float, optional
        A region exists iff its Chebyshev radius is ``> tol``.
    radius_cap : float, optional
        Cap on the radius when there are no domain rows (unbounded regions); ignored otherwise.
    ties : {"lowest", "closed"}, optional
        See :func:`unit_constraints`.
    return_centers : bool, optional
        Also return each region's Chebyshev centre.

    Returns
    -------
    patterns : ndarray, shape (R, n_units), int8
        The existing patterns, sorted lexicographically (units with one piece are 0).
    radii : ndarray, shape (R,), float64
        Their Chebyshev radii.
    centers : ndarray, shape (R, k), float64
        Only when ``return_centers``: the Chebyshev centres (in ``u``).

    Raises
    ------
    ValueError
        When the units have more than :data:`MAX_COMBINATIONS` combinations of pieces.
    """
    x0, E, Adom, bdom = _domain(net, x0, E, Adom, bdom)
    K = net.n_pieces.astype(np.int64)
    n = int(K.shape[0])
    n_comb = math.prod(int(v) for v in K)
    if n_comb > MAX_COMBINATIONS:
        raise ValueError(f"{n_comb} combinations of pieces is more than the brute-force limit {MAX_COMBINATIONS}")
    cap = radius_cap if Adom.shape[0] == 0 else None
    layer_of = net.unit_layer
    local = np.concatenate([np.arange(layer.n_units) for layer in net.layers])
    pattern = np.zeros(n, dtype=np.int8)
    found: List[Tuple[np.ndarray, float, np.ndarray]] = []

    def descend(j: int, A: np.ndarray, b: np.ndarray, center: np.ndarray, radius: float) -> None:
        while j < n and K[j] == 1:
            pattern[j] = 0
            j += 1
        if j == n:
            found.append((pattern.copy(), radius, center))
            return
        # Pieces of unit j depend only on earlier layers, whose entries of `pattern` are already set.
        M, m = layer_pieces_in_u(net, x0, E, np.where(np.arange(n) < j, pattern, 0))[layer_of[j]][local[j]]
        for p in range(K[j]):
            pattern[j] = p
            Ap, bp = unit_constraints(M, m, p, ties)
            A2, b2 = np.vstack([A, Ap]), np.concatenate([b, bp])
            c2, r2 = chebyshev(A2, b2, cap)
            if r2 > tol:
                descend(j + 1, A2, b2, c2, r2)
        pattern[j] = 0

    c0, r0 = chebyshev(Adom, bdom, cap)
    if r0 > tol:
        descend(0, Adom, bdom, c0, r0)
    k = E.shape[1]
    if not found:
        empty = (np.zeros((0, n), dtype=np.int8), np.zeros(0))
        return empty + (np.zeros((0, k)),) if return_centers else empty
    pats = np.array([f[0] for f in found], dtype=np.int8)
    radii = np.array([f[1] for f in found], dtype=np.float64)
    centers = np.array([f[2] for f in found], dtype=np.float64).reshape(len(found), k)
    order = np.lexsort(pats.T[::-1])
    if return_centers:
        return pats[order], radii[order], centers[order]
    return pats[order], radii[order]


def as_pattern_set(patterns) -> set:
    """The rows of a (R, n_units) integer array as a set of tuples of Python ints."""
    return {tuple(int(v) for v in row) for row in np.asarray(patterns).reshape(len(patterns), -1)}


def solve_fraction(M, rhs) -> Optional[List[Fraction]]:
    """The solution of the square system ``M x = rhs`` by Gaussian elimination in Fraction (entries taken
    exactly); None when ``M`` is singular."""
    n = len(M)
    T = [list(map(Fraction, row)) + [Fraction(r)] for row, r in zip(M, rhs)]
    for col in range(n):
        piv = next((i for i in range(col, n) if T[i][col] != 0), None)
        if piv is None:
            return None
        T[col], T[piv] = T[piv], T[col]
        for i in range(n):
            if i != col and T[i][col] != 0:
                f = T[i][col] / T[col][col]
                T[i] = [a - f * b for a, b in zip(T[i], T[col])]
    return [T[i][n] / T[i][i] for i in range(n)]


def zaslavsky_count(n: int, d: int) -> int:
    """Number of regions of ``n`` affine hyperplanes in general position in ``R^d``: ``sum_{i<=d} C(n, i)``.

    Zaslavsky (1975); for a one-hidden-layer ReLU network with ``n`` units on ``R^d`` in general position this is
    the number of activation regions.

    Examples
    --------
    >>> zaslavsky_count(3, 2)
    7
    >>> zaslavsky_count(2, 5)
    4
    """
    return sum(math.comb(n, i) for i in range(d + 1))


def sawtooth_net(L: int) -> Network:
    """Telgarsky's sawtooth: ``t(x) = 2 relu(x) - 4 relu(x - 1/2)`` composed ``L`` times (1 input, 1 output).

    On ``[0, 1]``, ``t`` is the tent map and ``t^L`` has ``2^L`` linear pieces (Telgarsky, COLT 2016), one per
    activation region.

    Parameters
    ----------
    L : int
        Number of compositions (hidden layers of 2 ReLUs each), ``L >= 1``.

    Returns
    -------
    relutope.Network
        Widths ``[1, 2, ..., 2, 1]``: hidden layer 1 computes ``relu(x), relu(x - 1/2)``; every further hidden
        layer applies the same two ReLUs to ``t = 2 h_0 - 4 h_1`` (folded into its weights); the linear output
        layer returns ``t``.
    """
    if L < 1:
        raise ValueError(f"L must be >= 1, got {L}")
    split = np.array([0.0, -0.5])
    weights = [(np.array([[1.0], [1.0]]), split)]
    for _ in range(L - 1):
        weights.append((np.array([[2.0, -4.0], [2.0, -4.0]]), split))
    weights.append((np.array([[2.0, -4.0]]), np.zeros(1)))
    return Network.from_weights(weights)


def general_position_layer(n: int, d: int, seed: int = 0) -> Network:
    """One hidden ReLU layer of ``n`` units on ``R^d`` with Gaussian hyperplanes, then a linear output.

    Normals and offsets are i.i.d. standard normal (``rng = numpy.random.default_rng(seed)``; ``W = rng.normal(
    size=(n, d))``, ``b = rng.normal(size=n)``), so the hyperplanes are in general position with probability 1 and
    the network has :func:`zaslavsky_count` ``(n, d)`` activation regions on ``R^d``.

    Returns
    -------
    relutope.Network
        Widths ``[d, n, 1]``.
    """
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, d))
    b = rng.normal(size=n)
    V = rng.normal(size=(1, n))
    return Network.from_weights([(W, b), (V, np.zeros(1))])
