"""Pure-Python baseline of relutope's region enumeration, on HiGHS (``scipy.optimize.linprog``).

It runs the *same* algorithm as the C++ engine, so the benchmark can report a speed ratio and the test-suite
can compare region sets. It is independent of ``tests/oracle.py`` (own LP code) on purpose.

Algorithm
---------
Depth-first over the layers and, within a layer, over the units. A *cell* carries its constraint rows (the box
rows plus the rows added by splits, all with unit-norm normals), an inscribed ball ``(c, r)`` (the Chebyshev
ball from a HiGHS LP), the pattern so far and the current layer's pieces as affine functions of ``u``. For a unit
with two pieces, ``h = f_1 - f_0``:

* ``||grad h|| <= GRAD_TOL``: stable, piece 1 iff the constant is > 0 (ties go to piece 0);
* ``s = h(c) / ||grad h||``; if ``|s| < r`` and ``(r - |s|) / 2 > tol``, each side holds a ball of radius
  ``(r -/+ s) / 2`` > tol: split, and solve the Chebyshev LP of both children;
* otherwise one LP on the side not containing ``c`` (the far side). Radius > tol: split (the near child keeps
  ``(c, r)`` when ``|s| >= r``, else gets its own LP). Radius <= tol: the unit is stable on the near side; if
  that radius was > ``SLIVER`` (a thin sliver, not an empty set) the near-side row is added to the cell so the
  region stays exact.

Before a layer's units are inserted into a cell, every two-piece unit is tested once on that cell with the same
rules (:func:`_precheck`); units stable there are decided for all its sub-cells without further LPs, as the
engine does. A cell that completes the last layer is a region. Units with ``K >= 3`` pieces (max-pooling) are not covered by
the engine's two-piece rule; here every piece whose region the current ball does not fit in gets its own LP.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import List, Optional

import numpy as np
from scipy.optimize import linprog

try:
    from relutope.network import Network
except ImportError:  # running from a source checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
    from relutope.network import Network

__all__ = ["enumerate_baseline", "GRAD_TOL", "SLIVER"]

#: A hyperplane normal of norm at most this is treated as zero (the unit is then constant on the cell).
GRAD_TOL = 1e-12
#: A far side whose Chebyshev radius is at most this is empty: the near-side row is not added.
SLIVER = 1e-12

_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


class _Counter:
    """Chebyshev LPs on HiGHS, counting every call."""

    def __init__(self) -> None:
        self.calls = 0

    def chebyshev(self, A: np.ndarray, b: np.ndarray):
        """Max ``r`` s.t. ``A u + r <= b`` (rows of ``A`` have unit norm), ``r >= 0``; ``(None, -inf)`` if empty."""
        self.calls += 1
        k = A.shape[1]
        cost = np.zeros(k + 1)
        cost[-1] = -1.0
        res = linprog(cost, A_ub=np.hstack([A, np.ones((A.shape[0], 1))]), b_ub=b,
                      bounds=[(None, None)] * k + [(0.0, None)], method="highs", options=_HIGHS_OPTIONS)
        if res.status == 0:
            return res.x[:k], float(res.x[k])
        if res.status == 2:
            return None, -math.inf
        raise RuntimeError(f"HiGHS failed on a Chebyshev LP: {res.message}")


class _Cell:
    """A node of the depth-first search (owned by exactly one stack entry, so it is updated in place)."""

    __slots__ = ("A", "b", "c", "r", "layer", "unit", "Pm", "pv", "chosen", "pattern", "decided")

    def __init__(self, A, b, c, r, layer, unit, Pm, pv, chosen, pattern, decided=None):
        self.A, self.b, self.c, self.r = A, b, c, r
        self.layer, self.unit = layer, unit
        self.Pm, self.pv = Pm, pv  # current layer's pieces in u: rows (P, k), offsets (P,)
        self.chosen: List[int] = chosen  # global piece rows chosen so far in the current layer
        self.pattern: List[int] = pattern
        self.decided: dict = {} if decided is None else decided  # units found stable on the layer's cell

    def child(self, row, rhs, c, r, piece_row: int, piece: int) -> "_Cell":
        """A copy with one more constraint block and the unit decided."""
        return _Cell(np.vstack([self.A, row]), np.concatenate([self.b, np.atleast_1d(rhs)]), c, r,
                     self.layer, self.unit + 1, self.Pm, self.pv, self.chosen + [piece_row], self.pattern + [piece],
                     self.decided)

    def choose(self, piece_row: int, piece: int) -> None:
        """Decide the current unit without splitting."""
        self.chosen.append(piece_row)
        self.pattern.append(piece)
        self.unit += 1


def _two_pieces(cell: _Cell, start: int, lp: _Counter, tol: float) -> Optional[List[_Cell]]:
    """Decide a two-piece unit; returns the children on a split, ``None`` when the cell itself goes on."""
    a = cell.Pm[start + 1] - cell.Pm[start]
    beta = cell.pv[start + 1] - cell.pv[start]
    na = float(np.linalg.norm(a))
    if na <= GRAD_TOL:
        cell.choose(start + int(beta > 0), int(beta > 0))
        return None
    ah, bh = a / na, beta / na
    side = {0: (ah, -bh), 1: (-ah, bh)}  # piece 0: h <= 0, piece 1: h >= 0 (unit normals)
    s = float(ah @ cell.c + bh)
    r = cell.r
    if abs(s) < r and (r - abs(s)) / 2 > tol:  # both caps of the ball hold a ball of radius > tol
        kids = []
        for p in (0, 1):
            A2, b2 = np.vstack([cell.A, side[p][0]]), np.append(cell.b, side[p][1])
            c2, r2 = lp.chebyshev(A2, b2)
            if r2 > tol:  # guaranteed by geometry; guards against LP noise only
                kids.append(cell.child(side[p][0], side[p][1], c2, r2, start + p, p))
        return kids
    near = 1 if s > 0 else 0
    far = 1 - near
    A_far, b_far = np.vstack([cell.A, side[far][0]]), np.append(cell.b, side[far][1])
    c_far, r_far = lp.chebyshev(A_far, b_far)
    if r_far > tol:
        kids = [cell.child(side[far][0], side[far][1], c_far, r_far, start + far, far)]
        if abs(s) >= r:  # the ball lies on the near side, so it is still that child's Chebyshev ball
            c_near, r_near = cell.c, r
        else:
            c_near, r_near = lp.chebyshev(np.vstack([cell.A, side[near][0]]), np.append(cell.b, side[near][1]))
        if r_near > tol:
            kids.append(cell.child(side[near][0], side[near][1], c_near, r_near, start + near, near))
        return sorted(kids, key=lambda kid: kid.pattern[-1])
    if r_far > SLIVER:  # a thin sliver on the far side: cut it off so the region stays exact
        cell.A = np.vstack([cell.A, side[near][0]])
        cell.b = np.append(cell.b, side[near][1])
        if abs(s) < r:  # the ball pokes (by at most 2 tol) into the sliver: keep the ball of the near cap
            cell.c = cell.c - (r - abs(s)) / 2 * side[near][0]  # move away from the cut
            cell.r = (r + abs(s)) / 2
    cell.choose(start + near, near)
    return None


def _precheck(cell: _Cell, layer, lp: _Counter, tol: float) -> dict:
    """The engine's per-layer stability test: decide once, on the layer's cell, every two-piece unit that no
    sub-cell can split. Returns ``{unit: piece}``; thin slivers are cut off the cell as in :func:`_two_pieces`."""
    decided = {}
    for unit in range(layer.n_units):
        if int(layer.n_pieces[unit]) != 2:
            continue
        start = int(layer.piece_start[unit])
        a = cell.Pm[start + 1] - cell.Pm[start]
        beta = cell.pv[start + 1] - cell.pv[start]
        na = float(np.linalg.norm(a))
        if na <= GRAD_TOL:
            decided[unit] = int(beta > 0)
            continue
        ah, bh = a / na, beta / na
        s = float(ah @ cell.c + bh)
        r = cell.r
        if abs(s) < r and (r - abs(s)) / 2 > tol:
            continue  # the hyperplane cuts the ball deeply: unstable
        near = 1 if s > 0 else 0
        far_row, far_rhs = (ah, -bh) if near == 1 else (-ah, bh)
        _, r_far = lp.chebyshev(np.vstack([cell.A, far_row]), np.append(cell.b, far_rhs))
        if r_far > tol:
            continue
        if r_far > SLIVER:
            cell.A = np.vstack([cell.A, -far_row])
            cell.b = np.append(cell.b, -far_rhs)
            if abs(s) < r:
                cell.c = cell.c - (r - abs(s)) / 2 * -far_row
                cell.r = (r + abs(s)) / 2
        decided[unit] = near
    return decided


def _many_pieces(cell: _Cell, start: int, K: int, lp: _Counter, tol: float) -> List[_Cell]:
    """Decide a unit with ``K >= 3`` pieces: one child per piece whose region has radius > tol."""
    M, m = cell.Pm[start:start + K], cell.pv[start:start + K]
    kids = []
    for p in range(K):
        rows, rhs, empty = [], [], False
        for s_ in range(K):
            if s_ == p:
                continue
            a, beta = M[s_] - M[p], m[p] - m[s_]  # f_s - f_p <= 0  <=>  a u <= beta
            na = float(np.linalg.norm(a))
            if na <= GRAD_TOL:  # constant difference; ties go to the lowest index
                if beta < 0 or (beta == 0 and s_ < p):
                    empty = True
                    break
                continue
            rows.append(a / na)
            rhs.append(beta / na)
        if empty:
            continue
        if not rows:
            kids.append(cell.child(np.zeros((0, cell.A.shape[1])), np.zeros(0), cell.c, cell.r, start + p, p))
            continue
        R, q = np.array(rows), np.array(rhs)
        if np.all(R @ cell.c + cell.r <= q):  # the ball already fits: it is this child's Chebyshev ball
            c2, r2 = cell.c, cell.r
        else:
            c2, r2 = lp.chebyshev(np.vstack([cell.A, R]), np.concatenate([cell.b, q]))
        if r2 > tol:
            kids.append(cell.child(R, q, c2, r2, start + p, p))
    return kids


def enumerate_baseline(net: Network, lo, hi, tol: float = 1e-7, max_seconds: Optional[float] = None) -> dict:
    """Enumerate the activation regions of ``net`` on the box ``[lo, hi]^d`` (pure Python + HiGHS).

    Parameters
    ----------
    net : relutope.Network
    lo, hi : float or array_like, shape (d,), float64
        The box; ``lo < hi`` in every coordinate (the domain is full-dimensional, ``u = x``).
    tol : float, optional
        A region exists iff its Chebyshev radius is ``> tol``.
    max_seconds : float, optional
        Stop after this much wall-clock time (then ``complete`` is False and the regions are a subset).

    Returns
    -------
    dict
        ``regions`` (int), ``lps`` (int, every HiGHS call), ``seconds`` (float, wall clock), ``complete``
        (bool) and ``patterns`` (ndarray, shape (regions, n_units), int8, in depth-first order).

    Raises
    ------
    ValueError
        When the box is malformed.
    """
    t0 = time.perf_counter()
    d = net.in_dim
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (d,)).copy()
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (d,)).copy()
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo < hi)):
        raise ValueError("the box needs finite lo < hi in every coordinate")
    lp = _Counter()
    layers = net.layers
    A0 = np.vstack([np.eye(d), -np.eye(d)])
    b0 = np.concatenate([hi, -lo])
    c0, r0 = lp.chebyshev(A0, b0)
    found: List[List[int]] = []
    complete = True
    stack = []
    if r0 > tol:
        root = _Cell(A0, b0, c0, r0, 0, 0, layers[0].A.copy(), layers[0].c.copy(), [], [])
        root.decided = _precheck(root, layers[0], lp, tol)
        stack.append(root)
    while stack:
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            complete = False
            break
        cell = stack.pop()
        while True:
            if cell.layer == len(layers):
                found.append(cell.pattern)
                break
            layer = layers[cell.layer]
            if cell.unit == layer.n_units:  # compose the chosen pieces into the next layer's input
                rows = np.array(cell.chosen, dtype=np.int64)
                G, g = cell.Pm[rows], cell.pv[rows]
                cell.layer += 1
                cell.unit = 0
                cell.chosen = []
                if cell.layer < len(layers):
                    nxt = layers[cell.layer]
                    cell.Pm, cell.pv = nxt.A @ G, nxt.A @ g + nxt.c
                    cell.decided = _precheck(cell, nxt, lp, tol)
                continue
            start = int(layer.piece_start[cell.unit])
            K = int(layer.n_pieces[cell.unit])
            if K == 1:
                cell.choose(start, 0)
                continue
            if cell.unit in cell.decided:
                piece = cell.decided[cell.unit]
                cell.choose(start + piece, piece)
                continue
            kids = _two_pieces(cell, start, lp, tol) if K == 2 else _many_pieces(cell, start, K, lp, tol)
            if kids is None:
                continue
            stack.extend(reversed(kids))  # lowest piece first
            break
    patterns = np.array(found, dtype=np.int8).reshape(len(found), net.n_units)
    return dict(regions=len(found), lps=lp.calls, seconds=time.perf_counter() - t0, complete=complete,
                patterns=patterns)


def main(argv=None) -> int:
    """``python bench/baseline.py 2 16 16 1``: enumerate a random net's regions on a box and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("widths", type=int, nargs="+", help="layer widths d_in h_1 ... d_out (Network.random)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lo", type=float, default=-1.0)
    parser.add_argument("--hi", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-7)
    parser.add_argument("--max-seconds", type=float, default=None)
    args = parser.parse_args(argv)
    net = Network.random(args.widths, seed=args.seed)
    out = enumerate_baseline(net, args.lo, args.hi, tol=args.tol, max_seconds=args.max_seconds)
    print(f"widths={args.widths} seed={args.seed} box=[{args.lo}, {args.hi}]^{net.in_dim}")
    print(f"regions={out['regions']} lps={out['lps']} seconds={out['seconds']:.3f} complete={out['complete']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
