"""Exact rational linear programming: optimal solutions, duals and certificates with no rounding at all.

:func:`solve_lp_exact` solves ``max c.x  s.t.  A x <= b,  A_eq x = b_eq`` over the rationals and returns, with
its status, the certificate that proves it: an optimal vertex with a dual ``y >= 0``, ``A^T y + A_eq^T y_eq = c``
whose bound ``b.y + b_eq.y_eq`` equals the value (optimal), a Farkas ray (infeasible) or a feasible point with an
improving ray (unbounded). The checkers :func:`check_farkas`, :func:`check_dual_bound`,
:func:`check_interior_point` and :func:`check_ray` verify such certificates on their own, exactly, and reject
corrupted ones. :func:`chebyshev_radius_exact` encloses the Chebyshev radius (inradius) of ``{A x <= b}`` between
two rationals.

Method (the standard one of exact LP, "floating point to guess, rationals to prove"; Dhiflaoui, Funke, Kwappik,
Mehlhorn, Seel, Schömer, Schulte & Weber, "Certifying and repairing solutions to large LPs: how good are LP-solvers?",
SODA 2003; Koch, "The final NETLIB-LP results", Operations Research Letters 32, 2004; the SoPlex/QSopt_ex
pattern):

1. A float64 solve (scipy's HiGHS) guesses an optimal basis: ``n`` linearly independent rows, chosen among the
   rows with a positive float dual, then by smallest float slack.
2. That basis is recomputed in rationals (python-flint ``fmpq_mat`` solves: the vertex ``x = A_B^{-1} b_B`` and
   the dual ``y_B = A_B^{-T} c``) and checked exactly: primal feasibility ``A x <= b`` and dual feasibility
   ``y_B >= 0``. When both hold the basis is optimal (weak duality: ``c.x = b.y``).
3. When the check fails, an exact simplex warm-started from the guessed basis finishes the job: the dual simplex
   when the basis is dual feasible, the primal simplex when it is primal feasible, else a dual simplex on the
   auxiliary objective ``A_B^T 1`` (for which the basis is dual feasible) to reach a primal feasible basis
   first. Both pivot by Bland's smallest-index rule (Bland, "New finite pivoting rules for the simplex method",
   Mathematics of Operations Research 2, 1977), so they terminate on degenerate problems too: the primal simplex
   here is the textbook one on the slack variables ``s = b - A x`` (the free ``x`` stay basic), the dual simplex
   is the textbook primal simplex on the dual ``min b.y, A^T y = c, y >= 0``.

Equalities and a feasible set with lines (``[A; A_eq]`` of rank below ``n``) are reduced away exactly first:
``x = x0 + N w`` with ``A_eq x0 = b_eq`` and ``N`` a basis of the null space of ``A_eq``, restricted to columns on
which ``A N`` has full column rank; an objective not orthogonal to the lineality space makes a feasible problem
unbounded along it.

Inputs are float64 values (taken as the exact binary fractions they are, :func:`relutope.exact.to_rational`),
Python or numpy integers, or exact rationals (``flint.fmpq``, ``fractions.Fraction``) in object arrays. Outputs
are numpy object arrays of ``flint.fmpq``. python-flint is an optional dependency (``pip install
"relutope[exact]"``), imported only when a function is called. The cost is that of exact arithmetic: meant for
the LPs a certificate has to settle (a region's few hundred rows in a few dimensions), not for large LPs.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

import numpy as np

from ._checks import check_bool, check_int
from .errors import NumericalError

__all__ = ["ExactLPResult", "ChebyshevEnclosure", "solve_lp_exact", "check_farkas", "check_dual_bound",
           "check_interior_point", "check_ray", "chebyshev_radius_exact", "norm_bounds"]


_FLINT = None


def _flint():
    global _FLINT
    if _FLINT is None:
        from .exact import _flint as get

        _FLINT = get()
    return _FLINT


# ---------------------------------------------------------------------------------------------------------------
# conversion


def _q_scalar(v, name: str):
    """One value as an exact fmpq."""
    flint = _flint()
    if isinstance(v, flint.fmpq):
        return v
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must hold numbers, got a bool")
    if isinstance(v, (int, np.integer)):
        return flint.fmpq(int(v))
    if isinstance(v, flint.fmpz):
        return flint.fmpq(v)
    if isinstance(v, Fraction):
        return flint.fmpq(v.numerator, v.denominator)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not np.isfinite(f):
            raise ValueError(f"{name} must be finite (no NaN or infinity)")
        return flint.fmpq(*f.as_integer_ratio())
    raise TypeError(f"{name} must hold float64 values or exact rationals (fmpq, Fraction, int), "
                    f"got {type(v).__name__}")


def _as_q(values, name: str, ndim: int) -> np.ndarray:
    """values as an object array of fmpq with ``ndim`` dimensions, exactly (floats as binary fractions)."""
    from .exact import to_rational

    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.dtype == object:
        if arr.ndim != ndim:
            raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
        fmpq = _flint().fmpq
        if all(type(v) is fmpq for v in arr.reshape(-1).tolist()):
            return arr
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for i, v in enumerate(arr.reshape(-1).tolist()):
            flat[i] = _q_scalar(v, name)
        return out
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        flint = _flint()
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for i, v in enumerate(arr.reshape(-1).tolist()):
            flat[i] = flint.fmpq(int(v))
        return out
    try:
        return to_rational(arr)
    except ValueError as exc:
        raise ValueError(f"{name} must be finite (no NaN or infinity)") from exc


def _as_problem(A, b, name_A="A", name_b="b", n: Optional[int] = None):
    """(A (m, n), b (m,)) as fmpq object arrays with matching shapes."""
    Aq = _as_q(A, name_A, 2)
    bq = _as_q(b, name_b, 1)
    if n is not None and Aq.shape[1] != n:
        raise ValueError(f"{name_A} must have {n} columns, got shape {Aq.shape}")
    if bq.shape[0] != Aq.shape[0]:
        raise ValueError(f"{name_b} must have one entry per row of {name_A} ({Aq.shape[0]}), got {bq.shape[0]}")
    return Aq, bq


def _col(vals):
    flint = _flint()
    vals = list(vals)
    return flint.fmpq_mat(len(vals), 1, vals)


def _entries(M) -> list:
    return list(M.entries())


def _dot(u, v):
    flint = _flint()
    s = flint.fmpq(0)
    for a, b in zip(u, v):
        if a and b:
            s += a * b
    return s


def _matvec(Arows: list, x: list) -> list:
    return [_dot(row, x) for row in Arows]


def _obj(vals) -> np.ndarray:
    out = np.empty(len(vals), dtype=object)
    for i, v in enumerate(vals):
        out[i] = v
    return out


# ---------------------------------------------------------------------------------------------------------------
# exact linear algebra on fmpq_mat: rref, null space, a solution of a consistent system


def _rref(M):
    """(R, rank, pivot columns) of an fmpq_mat."""
    if M.nrows() == 0 or M.ncols() == 0:
        return M, 0, []
    R, rank = M.rref()
    rows = R.table()
    pivots = []
    for i in range(rank):
        row = rows[i]
        j = next(j for j, v in enumerate(row) if v != 0)
        pivots.append(j)
    return R, rank, pivots


def _null_space(M, n: int) -> list:
    """A basis of {v : M v = 0} (M has n columns), as a list of length-n lists of fmpq."""
    flint = _flint()
    if M.nrows() == 0:
        return [[flint.fmpq(int(i == j)) for i in range(n)] for j in range(n)]
    R, rank, piv = _rref(M)
    rows = R.table()
    free = [j for j in range(n) if j not in set(piv)]
    basis = []
    for f in free:
        v = [flint.fmpq(0)] * n
        v[f] = flint.fmpq(1)
        for i, p in enumerate(piv):
            v[p] = -rows[i][f]
        basis.append(v)
    return basis


def _solve_any(M, rhs: list) -> Optional[list]:
    """One exact solution u of M u = rhs (free variables 0), or None when the system is inconsistent."""
    flint = _flint()
    k, n = M.nrows(), M.ncols()
    if k == 0:
        return [flint.fmpq(0)] * n
    aug = flint.fmpq_mat(k, n + 1, [v for i, row in enumerate(M.table()) for v in row + [rhs[i]]])
    R, rank, piv = _rref(aug)
    if n in piv:
        return None
    rows = R.table()
    u = [flint.fmpq(0)] * n
    for i, p in enumerate(piv):
        u[p] = rows[i][n]
    return u


# ---------------------------------------------------------------------------------------------------------------
# results


@dataclass
class ExactLPResult:
    """The outcome of :func:`solve_lp_exact`: a status and the exact certificate that proves it.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"infeasible"``, ``"unbounded"`` or ``"iteration_limit"`` (``max_pivots`` simplex pivots
        made without deciding; no certificate).
    x : ndarray of flint.fmpq, shape (n,), or None
        Optimal: an optimal vertex (of the reduced problem, see the module docstring). Unbounded: a feasible point.
    y : ndarray of flint.fmpq, shape (m,), or None
        Optimal: the dual of the inequalities, ``y >= 0``, ``A^T y + A_eq^T y_eq = c``, zero off the basis.
        Infeasible: a Farkas ray, ``y >= 0``, ``y^T A + y_eq^T A_eq = 0``, ``y^T b + y_eq^T b_eq < 0``.
    y_eq : ndarray of flint.fmpq, shape (p,), or None
        The (free) multipliers of the equalities in either certificate.
    value : flint.fmpq or None
        Optimal: ``c.x``, equal to the dual bound ``b.y + b_eq.y_eq``.
    ray : ndarray of flint.fmpq, shape (n,), or None
        Unbounded: ``A ray <= 0``, ``A_eq ray = 0``, ``c.ray > 0``.
    basis : ndarray of int64
        Rows of ``A`` defining the final vertex (empty when the reduced problem has no free coordinate).
    method : str
        ``"basis"`` (the float solve's basis was proven optimal as it is), ``"simplex"`` (the exact simplex
        finished it), ``"reduction"`` (decided by the exact reduction alone).
    pivots : int
        Exact simplex pivots made.
    seconds : float
        Wall-clock time.
    """

    status: str
    x: Optional[np.ndarray] = None
    y: Optional[np.ndarray] = None
    y_eq: Optional[np.ndarray] = None
    value: object = None
    ray: Optional[np.ndarray] = None
    basis: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    method: str = "basis"
    pivots: int = 0
    seconds: float = 0.0

    def __repr__(self) -> str:
        v = "" if self.value is None else f", value={self.value}"
        return f"ExactLPResult(status={self.status!r}{v}, method={self.method!r}, pivots={self.pivots})"


# ---------------------------------------------------------------------------------------------------------------
# the exact simplex on a full-column-rank inequality system (rows as lists of fmpq)


class _Simplex:
    """max c.w s.t. A w <= b, A (m, r) of full column rank r >= 1, in exact rationals, on row bases."""

    def __init__(self, rows: list, b: list, c: list, max_pivots: int):
        flint = _flint()
        self.rows, self.b, self.c = rows, b, c
        self.m, self.r = len(rows), len(c)
        self.A = flint.fmpq_mat(self.m, self.r, [v for row in rows for v in row])
        self.pivots = 0
        self.max_pivots = max_pivots

    def _basis_mat(self, B):
        flint = _flint()
        return flint.fmpq_mat([self.rows[i] for i in B])

    def vertex(self, B, AB=None):
        AB = self._basis_mat(B) if AB is None else AB
        return _entries(AB.solve(_col([self.b[i] for i in B])))

    def dual(self, B, c, AB=None):
        AB = self._basis_mat(B) if AB is None else AB
        return _entries(AB.transpose().solve(_col(c)))

    def slacks(self, x):
        Ax = _entries(self.A * _col(x))
        return [bi - ai for bi, ai in zip(self.b, Ax)]

    def is_independent(self, B) -> bool:
        return len(B) == self.r and self._basis_mat(B).rank() == self.r

    def primal(self, B, c):
        """Primal simplex from a primal feasible basis. Returns (status, B, x, yB, ray)."""
        flint = _flint()
        B = list(B)
        while True:
            AB = self._basis_mat(B)
            x = self.vertex(B, AB)
            yB = self.dual(B, c, AB)
            neg = [(B[p], p) for p in range(self.r) if yB[p] < 0]
            if not neg:
                return "optimal", B, x, yB, None
            if self.pivots >= self.max_pivots:
                return "iteration_limit", B, x, yB, None
            _, p = min(neg)                              # Bland: the smallest row index leaves the basis
            e = [flint.fmpq(0)] * self.r
            e[p] = flint.fmpq(-1)
            d = _entries(AB.solve(_col(e)))              # a_B d = -e_p: off row p, along the others
            Ad = _entries(self.A * _col(d))
            s = self.slacks(x)
            inB = set(B)
            best, enter = None, None
            for i in range(self.m):
                if i in inB or Ad[i] <= 0:
                    continue
                t = s[i] / Ad[i]
                if best is None or t < best:             # ties keep the smallest index (Bland)
                    best, enter = t, i
            if enter is None:
                return "unbounded", B, x, yB, d
            B[p] = enter
            self.pivots += 1

    def dual_simplex(self, B, c):
        """Dual simplex from a dual feasible basis. Returns (status, B, x, yB, farkas-dict)."""
        B = list(B)
        while True:
            AB = self._basis_mat(B)
            x = self.vertex(B, AB)
            s = self.slacks(x)
            viol = [i for i in range(self.m) if s[i] < 0]
            yB = self.dual(B, c, AB)
            if not viol:
                return "optimal", B, x, yB, None
            if self.pivots >= self.max_pivots:
                return "iteration_limit", B, x, yB, None
            i = viol[0]                                  # Bland: the smallest violated row enters
            lam = _entries(AB.transpose().solve(_col(self.rows[i])))   # a_i = sum_k lam_k a_{B_k}
            best, leave = None, None
            for p in range(self.r):
                if lam[p] > 0:
                    t = yB[p] / lam[p]
                    if best is None or t < best or (t == best and B[p] < B[leave]):
                        best, leave = t, p
            if leave is None:                            # a_i - sum lam_k a_k = 0 with lam <= 0: Farkas
                ray = {i: 1}
                for p in range(self.r):
                    if lam[p] != 0:
                        ray[B[p]] = -lam[p]
                return "infeasible", B, x, yB, ray
            B[leave] = i
            self.pivots += 1


def _to_float(v) -> float:
    """The nearest float of a rational, +-inf beyond float range (a guess only)."""
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def _float_basis_guess(rows_f: np.ndarray, b_f: np.ndarray, c_f: np.ndarray):
    """Row order for the basis: positive float duals first, then by float slack (scipy HiGHS)."""
    from scipy.optimize import linprog

    m, r = rows_f.shape
    if not (np.all(np.isfinite(rows_f)) and np.all(np.isfinite(b_f)) and np.all(np.isfinite(c_f))):
        return list(range(m)), None   # beyond float range: no guess, the exact simplex decides alone
    try:
        with warnings.catch_warnings():   # the float solve is only a guess: its warnings change nothing
            warnings.simplefilter("ignore")
            res = linprog(-c_f, A_ub=rows_f, b_ub=b_f, bounds=[(None, None)] * r, method="highs")
    except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - scipy refuses badly scaled input
        return list(range(m)), None
    if res.status != 0 or res.x is None:
        return list(range(m)), res.status
    y = -np.asarray(res.ineqlin.marginals, dtype=float)
    slack = np.asarray(res.ineqlin.residual, dtype=float)
    rn = np.linalg.norm(rows_f, axis=1)
    rn[rn == 0] = 1.0
    scale = np.abs(b_f).max(initial=0.0) + (rn * np.abs(res.x).max(initial=0.0)).max(initial=0.0) + 1e-300
    positive = y > 1e-9 * max(1.0, np.abs(y).max(initial=0.0))
    order = np.lexsort((slack / rn / scale, ~positive))
    return order.tolist(), res.status


def _pick_independent(sx: _Simplex, order: list, rows_f: np.ndarray) -> list:
    """The first r linearly independent rows in ``order`` (float Gram-Schmidt, checked exactly; exact on failure)."""
    r = sx.r
    Q = []
    B = []
    finite = bool(np.all(np.isfinite(rows_f)))
    for i in (order if finite else []):
        a = rows_f[i]
        na = np.linalg.norm(a)
        if na == 0:
            continue
        v = a / na
        for q in Q:
            v = v - (q @ v) * q
        nv = np.linalg.norm(v)
        if nv > 1e-7:
            Q.append(v / nv)
            B.append(i)
            if len(B) == r:
                break
    if len(B) == r and sx.is_independent(B):
        return B
    flint = _flint()
    B = []
    for i in order:
        trial = B + [i]
        if flint.fmpq_mat([sx.rows[j] for j in trial]).rank() == len(trial):
            B = trial
            if len(B) == r:
                return B
    raise NumericalError("exact LP: no basis of full rank found (rank computation disagrees)")  # pragma: no cover


def _solve_reduced(rows: list, b: list, c: list, max_pivots: int, warm):
    """Solve max c.w s.t. rows w <= b (full column rank). Returns a dict of exact results."""
    flint = _flint()
    r = len(c)
    sx = _Simplex(rows, b, c, max_pivots)
    rows_f = np.array([[_to_float(v) for v in row] for row in rows], dtype=float).reshape(len(rows), r)
    b_f = np.array([_to_float(v) for v in b], dtype=float)
    c_f = np.array([_to_float(v) for v in c], dtype=float)
    if warm is not None:
        order = list(warm) + [i for i in range(len(rows)) if i not in set(warm)]
    else:
        order, _ = _float_basis_guess(rows_f, b_f, c_f)
    B = _pick_independent(sx, order, rows_f)
    AB = sx._basis_mat(B)
    x = sx.vertex(B, AB)
    yB = sx.dual(B, c, AB)
    pf = all(s >= 0 for s in sx.slacks(x))
    df = all(v >= 0 for v in yB)
    if pf and df:
        return dict(status="optimal", B=B, x=x, yB=yB, method="basis", pivots=0)
    if df:
        st, B, x, yB, cert = sx.dual_simplex(B, c)
    elif pf:
        st, B, x, yB, cert = sx.primal(B, c)
    else:
        aux = _entries(AB.transpose() * _col([flint.fmpq(1)] * r))   # y_B = 1 is dual feasible for A_B^T 1
        st, B, x, yB, cert = sx.dual_simplex(B, aux)
        if st == "optimal":
            st, B, x, yB, cert = sx.primal(B, c)
    out = dict(status=st, B=B, x=x, yB=sx.dual(B, c) if st == "optimal" else yB, method="simplex",
               pivots=sx.pivots)
    if st == "unbounded":
        out["ray"] = cert
    elif st == "infeasible":
        out["farkas"] = cert
    return out


# ---------------------------------------------------------------------------------------------------------------
# the public solver


def solve_lp_exact(c, A, b, A_eq=None, b_eq=None, *, max_pivots: int = 100_000, warm_basis=None) -> ExactLPResult:
    """Maximise ``c.x`` subject to ``A x <= b`` and ``A_eq x = b_eq``, exactly, with a certificate.

    Parameters
    ----------
    c : array_like, shape (n,)
        Objective. Float64 values are taken as the exact binary fractions they are; object arrays may hold
        ``flint.fmpq``, ``fractions.Fraction`` or ``int``.
    A : array_like, shape (m, n)
        Inequality rows (``m`` may be 0).
    b : array_like, shape (m,)
    A_eq : array_like, shape (p, n), optional
        Equality rows.
    b_eq : array_like, shape (p,), optional
    max_pivots : int, optional
        Limit of exact simplex pivots; reaching it gives the status ``"iteration_limit"``.
    warm_basis : sequence of int, optional
        Rows of ``A`` to try first as the basis instead of the float solve's guess (only used when the problem
        needs no reduction: no equalities and ``A`` of full column rank).

    Returns
    -------
    ExactLPResult
        The status with its exact certificate (see :class:`ExactLPResult`); every certificate is checked by
        :func:`check_dual_bound` / :func:`check_farkas` / :func:`check_ray` before it is returned.

    Raises
    ------
    TypeError
        When an argument is not numeric, or ``max_pivots`` is not an int.
    ValueError
        When shapes disagree, a value is NaN or infinite, or ``max_pivots < 0``.
    ImportError
        When python-flint is not installed.
    NumericalError
        When a certificate fails its own exact check (a bug, never an outcome).

    Notes
    -----
    A float solve (HiGHS) guesses the basis, the basis is recomputed and checked in rationals, and an exact
    simplex with Bland's rule finishes when the check fails (Dhiflaoui et al., SODA 2003; Koch, Oper. Res. Lett.
    32, 2004; Bland, Math. Oper. Res. 2, 1977); see the module docstring.

    Examples
    --------
    >>> from relutope.exact_lp import solve_lp_exact
    >>> res = solve_lp_exact([1, 1], [[1, 0], [0, 1], [1, 1]], [0.5, 0.5, 0.75])
    >>> res.status, res.value
    ('optimal', 3/4)
    """
    t0 = time.perf_counter()
    flint = _flint()
    cq = _as_q(c, "c", 1)
    n = cq.shape[0]
    Aq, bq = _as_problem(A, b, "A", "b", n)
    if (A_eq is None) != (b_eq is None):
        raise ValueError("A_eq and b_eq must be given together")
    if A_eq is None:
        Eq, eq = np.empty((0, n), dtype=object), np.empty(0, dtype=object)
    else:
        Eq, eq = _as_problem(A_eq, b_eq, "A_eq", "b_eq", n)
    max_pivots = check_int(max_pivots, "max_pivots", 0)
    if warm_basis is not None:
        wb = np.asarray(warm_basis)
        if wb.ndim != 1 or (wb.size and not np.issubdtype(wb.dtype, np.integer)):
            raise TypeError(f"warm_basis must be a sequence of row indices, got {warm_basis!r}")
        if wb.size and (wb.min() < 0 or wb.max() >= Aq.shape[0]):
            raise ValueError(f"warm_basis must name rows of A in [0, {Aq.shape[0]}), got {wb.tolist()}")
        warm_basis = [int(v) for v in wb]
    res = _solve(cq, Aq, bq, Eq, eq, max_pivots, warm_basis)
    res.seconds = time.perf_counter() - t0
    # every certificate is checked independently before it leaves
    if res.status == "optimal":
        bound = check_dual_bound(cq, Aq, bq, res.y, Eq, eq, res.y_eq)
        if bound is None or bound != res.value or not check_interior_point(Aq, bq, res.x, strict=False) \
                or not _on_equalities(Eq, eq, res.x) or _dot(cq.tolist(), res.x.tolist()) != res.value:
            raise NumericalError("exact LP: the optimal certificate failed its exact check")
    elif res.status == "infeasible":
        if not check_farkas(Aq, bq, res.y, Eq, eq, res.y_eq):
            raise NumericalError("exact LP: the Farkas certificate failed its exact check")
    elif res.status == "unbounded":
        if not check_ray(cq, Aq, res.ray, Eq) or not check_interior_point(Aq, bq, res.x, strict=False) \
                or not _on_equalities(Eq, eq, res.x):
            raise NumericalError("exact LP: the unbounded certificate failed its exact check")
    return res


def _on_equalities(Eq, eq, x) -> bool:
    return all(u == v for u, v in zip(_matvec(Eq.tolist(), x.tolist()), eq.tolist()))


def _solve(cq, Aq, bq, Eq, eq, max_pivots, warm) -> ExactLPResult:
    flint = _flint()
    zero = flint.fmpq(0)
    n, m, p = cq.shape[0], Aq.shape[0], Eq.shape[0]
    c, A, b, E, e = cq.tolist(), Aq.tolist(), bq.tolist(), Eq.tolist(), eq.tolist()
    # 1. equalities: x = x0 + N z
    if p:
        Em = flint.fmpq_mat(p, n, [v for row in E for v in row])
        x0 = _solve_any(Em, e)
        if x0 is None:   # z^T A_eq = 0, z^T b_eq = -1 (Fredholm)
            aug = flint.fmpq_mat(n + 1, p, [E[k][j] for j in range(n) for k in range(p)] + e)
            z = _solve_any(aug, [zero] * n + [flint.fmpq(-1)])
            return ExactLPResult("infeasible", y=_obj([zero] * m), y_eq=_obj(z), method="reduction")
        N = _null_space(Em, n)
    else:
        x0 = [zero] * n
        N = None
    # 2. columns: A N restricted to a full-column-rank set J
    if N is None:
        AN = A
        k = n
    else:
        k = len(N)
        AN = [[_dot(row, v) for v in N] for row in A]
    if m and k:
        ANm = flint.fmpq_mat(m, k, [v for row in AN for v in row])
        rank, J = ANm.rank(), list(range(k))
        if rank < k:
            _, rank, J = _rref(ANm)
    else:
        rank, J = 0, []
    if N is None and rank == n:
        P = None                      # the common case: nothing to reduce
    else:
        Pcols = [N[j] for j in J] if N is not None else [[flint.fmpq(int(i == j)) for i in range(n)] for j in J]
        P = Pcols                     # x = x0 + sum_j w_j Pcols[j]
    # the lineality space K = null([A; A_eq]); c must be orthogonal to it for a bounded optimum
    lineal = None
    if rank < k:
        M = flint.fmpq_mat(m + p, n, [v for row in A + E for v in row]) if m + p else None
        K = _null_space(M, n) if M is not None else [[flint.fmpq(int(i == j)) for i in range(n)] for j in range(n)]
        for v in K:
            cv = _dot(c, v)
            if cv != 0:
                lineal = v if cv > 0 else [-t for t in v]
                break
    if P is None:
        rows, bb, cc = A, b, c
    else:
        rows = [[_dot(row, v) for v in P] for row in A]
        Ax0 = _matvec(A, x0)
        bb = [bi - t for bi, t in zip(b, Ax0)]
        cc = [_dot(c, v) for v in P] if lineal is None else [zero] * len(P)
    r = len(cc)
    if r == 0:    # no free coordinate left: x = x0
        bad = [i for i in range(m) if bb[i] < 0]
        if bad:
            y = [zero] * m
            y[bad[0]] = flint.fmpq(1)
            return ExactLPResult("infeasible", y=_obj(y), y_eq=_obj(_eq_multipliers(E, A, y, [zero] * n, n, p)),
                                 method="reduction")
        out = dict(status="optimal", B=[], x=[], yB=[], method="reduction", pivots=0)
    else:
        out = _solve_reduced(rows, bb, cc, max_pivots, warm if P is None else None)
    st = out["status"]
    if st == "iteration_limit":
        return ExactLPResult("iteration_limit", method=out["method"], pivots=out["pivots"])
    if st == "infeasible":
        y = [zero] * m
        for i, v in out["farkas"].items():
            y[i] = flint.fmpq(v)
        y_eq = _eq_multipliers(E, A, y, [zero] * n, n, p)
        return ExactLPResult("infeasible", y=_obj(y), y_eq=_obj(y_eq), basis=np.array(out["B"], dtype=np.int64),
                             method=out["method"], pivots=out["pivots"])
    w = out["x"]
    if P is None:
        x = w if r else x0
    else:
        x = [x0[i] + sum((w[j] * P[j][i] for j in range(r)), zero) for i in range(n)]
    if lineal is not None:
        return ExactLPResult("unbounded", x=_obj(x), ray=_obj(lineal), basis=np.array(out["B"], dtype=np.int64),
                             method=out["method"], pivots=out["pivots"])
    if st == "unbounded":
        d = out["ray"]
        ray = d if P is None else [sum((d[j] * P[j][i] for j in range(r)), zero) for i in range(n)]
        return ExactLPResult("unbounded", x=_obj(x), ray=_obj(ray), basis=np.array(out["B"], dtype=np.int64),
                             method=out["method"], pivots=out["pivots"])
    y = [zero] * m
    for pos, i in enumerate(out["B"]):
        y[i] = out["yB"][pos]
    y_eq = _eq_multipliers(E, A, y, c, n, p)
    value = _dot(c, x)
    return ExactLPResult("optimal", x=_obj(x), y=_obj(y), y_eq=_obj(y_eq), value=value,
                         basis=np.array(out["B"], dtype=np.int64), method=out["method"], pivots=out["pivots"])


def _eq_multipliers(E, A, y, target, n, p) -> list:
    """y_eq with A_eq^T y_eq = target - A^T y (consistent by construction)."""
    flint = _flint()
    if not p:
        return []
    ATy = [sum((y[i] * A[i][j] for i in range(len(A)) if y[i] != 0), flint.fmpq(0)) for j in range(n)]
    rhs = [t - s for t, s in zip(target, ATy)]
    ET = flint.fmpq_mat(n, p, [E[k][j] for j in range(n) for k in range(p)])
    z = _solve_any(ET, rhs)
    if z is None:
        raise NumericalError("exact LP: equality multipliers do not exist (reduction inconsistent)")
    return z


# ---------------------------------------------------------------------------------------------------------------
# checkers


def _opt_eq(A_eq, b_eq, y_eq, n):
    if A_eq is None and b_eq is None and y_eq is None:
        return np.empty((0, n), dtype=object), np.empty(0, dtype=object), np.empty(0, dtype=object)
    if A_eq is None or y_eq is None:
        raise ValueError("A_eq and y_eq must be given together")
    Eq = _as_q(A_eq, "A_eq", 2)
    if Eq.shape[1] != n:
        raise ValueError(f"A_eq must have {n} columns, got shape {Eq.shape}")
    yq = _as_q(y_eq, "y_eq", 1)
    if yq.shape[0] != Eq.shape[0]:
        raise ValueError(f"y_eq must have one entry per row of A_eq ({Eq.shape[0]}), got {yq.shape[0]}")
    eq = None
    if b_eq is not None:
        eq = _as_q(b_eq, "b_eq", 1)
        if eq.shape[0] != Eq.shape[0]:
            raise ValueError(f"b_eq must have one entry per row of A_eq ({Eq.shape[0]}), got {eq.shape[0]}")
    return Eq, eq, yq


def _combination(A, y, E, z, n):
    """A^T y + E^T z as a list of fmpq."""
    flint = _flint()
    out = [flint.fmpq(0)] * n
    for M, w in ((A, y), (E, z)):
        for i, wi in enumerate(w.tolist()):
            if wi != 0:
                row = M[i]
                for j in range(n):
                    if row[j] != 0:
                        out[j] += wi * row[j]
    return out


def _check_y(y, m, name="y"):
    yq = _as_q(y, name, 1)
    if yq.shape[0] != m:
        raise ValueError(f"{name} must have one entry per row of A ({m}), got {yq.shape[0]}")
    return yq


def check_farkas(A, b, y, A_eq=None, b_eq=None, y_eq=None) -> bool:
    """Whether ``y`` proves exactly that ``{A x <= b, A_eq x = b_eq}`` is empty (Farkas' lemma).

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    y : array_like, shape (m,)
        The ray: it proves emptiness when ``y >= 0``, ``y^T A + y_eq^T A_eq = 0`` and ``y^T b + y_eq^T b_eq < 0``
        (a non-negative combination of the rows reading ``0 <= negative``).
    A_eq, b_eq, y_eq : array_like, optional
        Equalities and their free multipliers, shapes (p, n), (p,), (p,).

    Returns
    -------
    bool
        True when every condition holds exactly; False otherwise (a wrong sign, a missing row, a wrong length of
        certificate for the data is an exception, not False).

    Raises
    ------
    TypeError, ValueError
        Non-numeric input, shapes that disagree, NaN or infinity.

    Notes
    -----
    Farkas' lemma (Schrijver, "Theory of Linear and Integer Programming", 1986, Corollary 7.1e). Every value is
    taken exactly (floats as binary fractions).

    Examples
    --------
    >>> from relutope.exact_lp import check_farkas
    >>> check_farkas([[1.0], [-1.0]], [0.0, -1.0], [1, 1])     # x <= 0 and x >= 1
    True
    >>> check_farkas([[1.0], [-1.0]], [0.0, -1.0], [1, -1])    # a negative multiplier proves nothing
    False
    """
    Aq, bq = _as_problem(A, b)
    m, n = Aq.shape
    yq = _check_y(y, m)
    Eq, eq, zq = _opt_eq(A_eq, b_eq, y_eq, n)
    if zq.shape[0] and eq is None:
        raise ValueError("b_eq must be given with A_eq")
    if any(v < 0 for v in yq.tolist()):
        return False
    if any(v != 0 for v in _combination(Aq.tolist(), yq, Eq.tolist(), zq, n)):
        return False
    rhs = _dot(bq.tolist(), yq.tolist()) + (_dot(eq.tolist(), zq.tolist()) if zq.shape[0] else 0)
    return bool(rhs < 0)


def check_dual_bound(c, A, b, y, A_eq=None, b_eq=None, y_eq=None):
    """The exact upper bound that a dual vector proves on ``max c.x  s.t.  A x <= b, A_eq x = b_eq``.

    Parameters
    ----------
    c : array_like, shape (n,)
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    y : array_like, shape (m,)
        A dual vector: it proves ``c.x <= b.y + b_eq.y_eq`` for every feasible ``x`` when ``y >= 0`` and
        ``A^T y + A_eq^T y_eq = c`` exactly (weak duality).
    A_eq, b_eq, y_eq : array_like, optional
        Equalities and their free multipliers, shapes (p, n), (p,), (p,).

    Returns
    -------
    flint.fmpq or None
        The bound ``b.y + b_eq.y_eq`` when ``y`` is a valid dual vector, else None.

    Raises
    ------
    TypeError, ValueError
        Non-numeric input, shapes that disagree, NaN or infinity.

    Notes
    -----
    Weak LP duality (Schrijver 1986, Section 7.4). A redundancy certificate of a row ``a_f x <= b_f`` over other
    rows is ``check_dual_bound(a_f, A_others, b_others, y) <= b_f``.

    Examples
    --------
    >>> from relutope.exact_lp import check_dual_bound
    >>> check_dual_bound([1, 1], [[1, 0], [0, 1]], [0.5, 0.25], [1, 1])
    3/4
    >>> check_dual_bound([1, 1], [[1, 0], [0, 1]], [0.5, 0.25], [1, 0]) is None
    True
    """
    cq = _as_q(c, "c", 1)
    n = cq.shape[0]
    Aq, bq = _as_problem(A, b, n=n)
    yq = _check_y(y, Aq.shape[0])
    Eq, eq, zq = _opt_eq(A_eq, b_eq, y_eq, n)
    if zq.shape[0] and eq is None:
        raise ValueError("b_eq must be given with A_eq")
    if any(v < 0 for v in yq.tolist()):
        return None
    comb = _combination(Aq.tolist(), yq, Eq.tolist(), zq, n)
    if any(u != v for u, v in zip(comb, cq.tolist())):
        return None
    flint = _flint()
    return flint.fmpq(_dot(bq.tolist(), yq.tolist())) + (_dot(eq.tolist(), zq.tolist()) if zq.shape[0] else 0)


def check_interior_point(A, b, x, *, strict: bool = True) -> bool:
    """Whether ``x`` satisfies ``A x < b`` (every row strictly), exactly.

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    x : array_like, shape (n,)
        Float64 values (taken exactly) or exact rationals.
    strict : bool, optional
        ``False`` checks ``A x <= b`` instead (feasibility).

    Returns
    -------
    bool

    Raises
    ------
    TypeError, ValueError
        Non-numeric input, shapes that disagree, NaN or infinity.

    Examples
    --------
    >>> from relutope.exact_lp import check_interior_point
    >>> check_interior_point([[1.0, 1.0]], [1.0], [0.5, 0.5]), check_interior_point([[1.0, 1.0]], [1.0], [0.5, 0.25])
    (False, True)
    """
    strict = check_bool(strict, "strict")
    Aq, bq = _as_problem(A, b)
    xq = _as_q(x, "x", 1)
    if xq.shape[0] != Aq.shape[1]:
        raise ValueError(f"x must have {Aq.shape[1]} entries (the columns of A), got {xq.shape[0]}")
    s = _matvec(Aq.tolist(), xq.tolist())
    if strict:
        return all(u < v for u, v in zip(s, bq.tolist()))
    return all(u <= v for u, v in zip(s, bq.tolist()))


def check_ray(c, A, ray, A_eq=None) -> bool:
    """Whether ``ray`` proves that ``max c.x`` over a non-empty ``{A x <= b, A_eq x = b_eq}`` is unbounded.

    Parameters
    ----------
    c : array_like, shape (n,)
    A : array_like, shape (m, n)
    ray : array_like, shape (n,)
        Proves unboundedness (given one feasible point) when ``A ray <= 0``, ``A_eq ray = 0`` and ``c.ray > 0``.
    A_eq : array_like, shape (p, n), optional

    Returns
    -------
    bool

    Raises
    ------
    TypeError, ValueError
        Non-numeric input, shapes that disagree, NaN or infinity.
    """
    cq = _as_q(c, "c", 1)
    n = cq.shape[0]
    Aq = _as_q(A, "A", 2)
    if Aq.shape[1] != n:
        raise ValueError(f"A must have {n} columns, got shape {Aq.shape}")
    rq = _as_q(ray, "ray", 1)
    if rq.shape[0] != n:
        raise ValueError(f"ray must have {n} entries, got {rq.shape[0]}")
    r = rq.tolist()
    if any(v > 0 for v in _matvec(Aq.tolist(), r)):
        return False
    if A_eq is not None:
        Eq = _as_q(A_eq, "A_eq", 2)
        if Eq.shape[0] and Eq.shape[1] != n:
            raise ValueError(f"A_eq must have {n} columns, got shape {Eq.shape}")
        if any(v != 0 for v in _matvec(Eq.tolist(), r)):
            return False
    return bool(_dot(cq.tolist(), r) > 0)


# ---------------------------------------------------------------------------------------------------------------
# Chebyshev radius


def norm_bounds(A, *, bits: int = 64):
    """Rational lower and upper bounds of the Euclidean norm of every row, with relative gap below ``2**-bits``.

    Parameters
    ----------
    A : array_like, shape (m, n)
    bits : int, optional
        Precision of the bounds.

    Returns
    -------
    lo, hi : ndarray of flint.fmpq, shape (m,)
        ``lo[i] <= ||A[i]||_2 <= hi[i]``, both equal when the norm is rational.

    Raises
    ------
    TypeError, ValueError
        Non-numeric input or ``bits`` not an int (TypeError); NaN or infinity, or ``bits < 1`` (ValueError).

    Notes
    -----
    ``||a||^2 = p/q`` exactly; ``sqrt(p/q) = sqrt(p q 4^t) / (q 2^t)`` and the integer square root ``k`` of
    ``p q 4^t`` gives ``k / (q 2^t) <= ||a|| <= (k + 1) / (q 2^t)`` (``t`` chosen so that ``k >= 2^bits``).

    Examples
    --------
    >>> from relutope.exact_lp import norm_bounds
    >>> lo, hi = norm_bounds([[3.0, 4.0], [1.0, 1.0]])
    >>> lo[0] == hi[0] == 5, float(lo[1]) <= 2 ** 0.5 <= float(hi[1])
    (True, True)
    """
    from math import isqrt

    flint = _flint()
    bits = check_int(bits, "bits")
    Aq = _as_q(A, "A", 2)
    lo = np.empty(Aq.shape[0], dtype=object)
    hi = np.empty(Aq.shape[0], dtype=object)
    for i, row in enumerate(Aq.tolist()):
        s = sum((v * v for v in row), flint.fmpq(0))
        p, q = int(s.p), int(s.q)
        N = p * q
        t = max(0, (2 * bits - N.bit_length()) // 2 + 1)
        N4 = N << (2 * t)
        k = isqrt(N4)
        den = q << t
        lo[i] = flint.fmpq(k, den)
        hi[i] = flint.fmpq(k + (k * k != N4), den)
    return lo, hi


@dataclass
class ChebyshevEnclosure:
    """The outcome of :func:`chebyshev_radius_exact`.

    Attributes
    ----------
    status : str
        ``"bounded"`` (``lo <= r* <= hi``), ``"unbounded"`` (the polyhedron holds balls of every radius) or
        ``"empty"`` (a zero row with ``b_i < 0``: no shift of the rows makes it non-empty; ``lo``, ``hi`` None,
        ``lower_lp`` holds the Farkas ray). Other empty polyhedra are ``"bounded"`` with ``r* < 0``.
    lo, hi : flint.fmpq or None
        Rigorous rational bounds of the exact Chebyshev radius ``r* = max {r : a_i x + ||a_i|| r <= b_i}``.
        ``r* > 0`` iff the polyhedron has interior points; ``r* = 0`` iff it is non-empty without interior;
        ``r* < 0`` iff it is empty (then ``-r*`` is the least uniform shift of all rows that makes it non-empty).
        The sign of ``lo`` and ``hi`` is always the sign of ``r*``.
    centre : ndarray of flint.fmpq, shape (n,), or None
        An exact point whose ball of radius ``lo`` satisfies every row: ``a_i x + ||a_i|| lo <= b_i``.
    lower_lp, upper_lp : ExactLPResult
        The two exact LPs (row norms replaced by their upper resp. lower rational bounds, or the other way round
        when ``r* < 0``), each with its certificate.
    """

    status: str
    lo: object = None
    hi: object = None
    centre: Optional[np.ndarray] = None
    lower_lp: Optional[ExactLPResult] = None
    upper_lp: Optional[ExactLPResult] = None

    @property
    def positive(self) -> bool:
        """True when the exact radius is proven positive (the polyhedron has interior points)."""
        return self.status == "unbounded" or (self.lo is not None and self.lo > 0)


def chebyshev_radius_exact(A, b, *, bits: int = 64) -> ChebyshevEnclosure:
    """A rigorous rational enclosure of the Chebyshev radius (inradius) of ``{x : A x <= b}``.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Rows; a zero row is a constraint ``0 <= b_i`` (infeasible when ``b_i < 0``).
    b : array_like, shape (m,)
    bits : int, optional
        Precision of the rational bounds of the row norms (:func:`norm_bounds`).

    Returns
    -------
    ChebyshevEnclosure
        ``lo <= r* <= hi`` exactly, ``centre`` an exact centre for ``lo``.

    Raises
    ------
    TypeError, ValueError
        Non-numeric input, shapes that disagree, NaN or infinity.

    Notes
    -----
    The Chebyshev LP ``max r  s.t.  a_i x + ||a_i|| r <= b_i`` (Boyd & Vandenberghe, "Convex Optimization", 2004,
    Section 8.5.1) has irrational coefficients. With rational ``l_i <= ||a_i|| <= u_i`` the LP with ``u`` is
    more restrictive at ``r >= 0`` and the one with ``l`` less, so their exact optima bracket ``r*`` (swapped when
    ``r* < 0``, where a larger coefficient is less restrictive). Both are solved by :func:`solve_lp_exact`. The
    sign of the optimum does not depend on the positive weights, so ``lo > 0`` decides full-dimensionality
    exactly whatever ``bits``.

    Examples
    --------
    >>> from relutope.exact_lp import chebyshev_radius_exact
    >>> enc = chebyshev_radius_exact([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], [1.0, 1.0, 3.0, 3.0])
    >>> enc.lo, enc.hi
    (1, 1)
    """
    flint = _flint()
    Aq, bq = _as_problem(A, b)
    m, n = Aq.shape
    lo_n, hi_n = norm_bounds(Aq, bits=bits)
    c = [flint.fmpq(0)] * n + [flint.fmpq(1)]

    def lp(norms):
        rows = np.empty((m, n + 1), dtype=object)
        rows[:, :n] = Aq
        rows[:, n] = norms
        return solve_lp_exact(_obj(c), rows, bq)

    up = lp(hi_n)     # valid lower bound when r* >= 0
    if up.status == "unbounded":
        return ChebyshevEnclosure("unbounded", lower_lp=up)
    if up.status == "infeasible":   # only a zero row with b_i < 0 can make the LP with r free infeasible
        return ChebyshevEnclosure("empty", lower_lp=up)
    if up.status != "optimal":  # pragma: no cover - iteration limit
        raise NumericalError(f"exact Chebyshev LP: unexpected status {up.status}")
    down = lp(lo_n)
    if down.status == "unbounded":  # pragma: no cover - impossible when the u-LP is bounded and lo_n > 0
        return ChebyshevEnclosure("unbounded", lower_lp=up, upper_lp=down)
    a, bb = up.value, down.value
    if a <= bb:
        return ChebyshevEnclosure("bounded", lo=a, hi=bb, centre=up.x[:n].copy(), lower_lp=up, upper_lp=down)
    return ChebyshevEnclosure("bounded", lo=bb, hi=a, centre=down.x[:n].copy(), lower_lp=down, upper_lp=up)
