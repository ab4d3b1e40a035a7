"""Input domains over which a network's activation regions are enumerated.

Every domain is an affine set of *domain coordinates* ``t`` in R^k mapped into the network's input space,
``x = origin + basis @ t``, together with linear constraints on ``t``:

===============================  ====================================  =========================================
domain                           domain coordinates ``t``              constraints
===============================  ====================================  =========================================
``Box(lo, hi)``                  the free coordinates (``lo < hi``)    ``lo <= x <= hi``
``Polytope(A, b)``               ``t = x``                             ``A x <= b`` (bounded, full-dimensional)
``WholeSpace(d)``                ``t = x``                             none: regions may be unbounded
``Slice(origin, basis, inner)``  ``t`` of the inner domain             ``t`` in ``inner``
===============================  ====================================  =========================================

Coordinates with ``lo == hi`` in a :class:`Box` are fixed; the box is then lower-dimensional and the engine works
in its free coordinates only. A :class:`Slice` is an affine subspace, e.g. the plane through three inputs that
SplineCam draws (Humayun et al., "SplineCam: Exact Visualization and Characterization of Deep Network Geometry and
Decision Boundaries", CVPR 2023): ``Slice.through_points(p0, p1, p2)``.

Distances (the tolerance ``tol`` and the radii of regions) are Euclidean in input units within the domain's
affine hull. The engine therefore runs in orthonormal coordinates ``u = R t`` where ``basis = Q R`` (QR
decomposition), so that ``x = origin + Q u``.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .network import _as_float_array, _as_points

#: Rounding of the arrangement's distances (:func:`_arrangement_frame`): a hyperplane within this many units in
#: the last place of the values at the centre passes through it.
_FRAME_ULPS = 1024.0

__all__ = ["Domain", "Box", "Polytope", "WholeSpace", "Slice"]


def _row_exponents(M: np.ndarray) -> np.ndarray:
    """Per row of ``M`` (n, k), int (n,): the exponent ``e`` of its largest entry ``|m| = f 2**e``, ``1/2 <= f < 1``
    (0 for a row that is all zero or holds inf or NaN), so that the row times ``2**-e`` has entries below 1."""
    with np.errstate(invalid="ignore"):
        big = np.abs(M).max(axis=1)
        return np.where((big > 0) & np.isfinite(big), np.frexp(big)[1], 0)


def _row_norms(M) -> np.ndarray:
    """Euclidean norms of the rows of ``M`` (n, k), shape (n,), without overflow or underflow: each row scaled by
    the power of two of its largest entry (exactly) before the sum of squares, as the core's ``stable_norm``
    (``cpp/include/relutope/norms.hpp``). A row of entries near 1e200 (or 1e-200) has squares beyond float64's
    range: ``numpy.linalg.norm`` gives ``inf`` (or 0) for it. Where the plain sum is in range, the same number up
    to rounding. ``inf`` for a row with an infinite entry, NaN for one with a NaN."""
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[1] == 0:
        return np.zeros(M.shape[0] if M.ndim else 0)
    e = _row_exponents(M)
    with np.errstate(invalid="ignore"):
        return np.ldexp(np.linalg.norm(np.ldexp(M, -e[:, None]), axis=1), e)


def _scaled_rows(A: np.ndarray, b: np.ndarray, reach: int = 64):
    """The constraints ``A t <= b`` with every row whose largest entry lies beyond ``2**+-reach`` divided, with
    its right-hand side, by the power of two of that entry (exactly: the same constraint, its largest entry in
    [0.5, 1)); the other rows as they are, bit for bit. Rows of a Polytope scaled by 1e+-160 were 'unbounded' to
    the 2-D polygon path, whose vertex tests are relative to rows of size ~1."""
    if A.size == 0:
        return A, b
    e = _row_exponents(A)
    e[np.abs(e) <= reach] = 0
    if not e.any():
        return A, b
    return np.ascontiguousarray(np.ldexp(A, -e[:, None])), np.ldexp(b, -e)


def _spectral_norm(M) -> float:
    """The largest singular value of ``M``, computed on ``M`` scaled by a power of two (exactly) so that it
    neither overflows nor underflows (entries near 1e200 or 1e-200)."""
    M = np.asarray(M, dtype=np.float64)
    if M.size == 0:
        return 0.0
    big = float(np.abs(M).max())
    if not (np.isfinite(big) and big > 0):
        return big
    e = int(np.frexp(big)[1])
    return float(np.ldexp(np.linalg.norm(np.ldexp(M, -e), 2), e))


@dataclass(frozen=True)
class _EngineForm:
    """A domain as the engine sees it: x = x0 + Q u, u in {A u <= b}, t = Rinv u."""

    x0: np.ndarray  # (d,)
    Q: np.ndarray  # (d, k) orthonormal columns
    A: np.ndarray  # (m, k)
    b: np.ndarray  # (m,)
    Rinv: np.ndarray  # (k, k): t = Rinv @ u
    R: np.ndarray  # (k, k): u = R @ t


@dataclass(frozen=True)
class _EngineFrame:
    """The coordinates the compiled core computes in: ``u = c + s v``, centred on the domain and in units of its size.

    A similarity (a translation and an isotropic scaling), so unit normals are the same in ``u`` and ``v`` and
    lengths scale by ``s``. The core's tolerances (LP feasibility, slivers, duplicate rows, vertex signs) are
    relative to 1 and to the magnitudes of the numbers it sees; in ``v`` the domain has size ~1 around the origin,
    so the same tolerances hold at every scale and position of the domain (issue 16, item 4). ``form`` is the
    domain in ``v``: ``x = form.x0 + form.Q v`` (``form.Q = s Q``), ``form.A v <= form.b``.
    """

    form: _EngineForm
    c: np.ndarray  # (k,): the domain's centre in u
    s: float  # the domain's size (a WholeSpace's scale: 1 until a network fills it in)

    def to_u(self, v: np.ndarray) -> np.ndarray:
        return self.c + self.s * np.asarray(v, dtype=np.float64)

    def to_v(self, u: np.ndarray) -> np.ndarray:
        return (np.asarray(u, dtype=np.float64) - self.c) / self.s

    def rhs_to_u(self, rows: np.ndarray, rhs_v: np.ndarray) -> np.ndarray:
        """Right-hand sides ``h`` of unit rows ``g . u <= h`` from those in v (rows (F, k), rhs_v (F,))."""
        return self.s * rhs_v + rows @ self.c

    def rhs_to_v(self, rows: np.ndarray, rhs_u: np.ndarray) -> np.ndarray:
        return (rhs_u - rows @ self.c) / self.s


class Domain:
    """Base class of input domains. See the module docstring for the conventions."""

    #: Input dimension of the network the domain is for.
    dim: int
    #: Number of domain coordinates (the dimension of the domain's affine hull).
    intrinsic_dim: int

    def constraints(self):
        """Linear constraints ``(A, b)`` on the domain coordinates, ``A t <= b``; shapes (m, k), (m,)."""
        raise NotImplementedError(f"{type(self).__name__} does not define constraints()")

    def parametrization(self):
        """``(origin, basis)`` with ``x = origin + basis @ t``; shapes (d,), (d, k)."""
        raise NotImplementedError(f"{type(self).__name__} does not define parametrization()")

    @property
    def bounded(self) -> bool:
        """Whether the domain is bounded."""
        return True

    def to_input(self, t) -> np.ndarray:
        """Map domain coordinates ``t`` (N, k) (or one point (k,)) to network inputs ``x`` (N, d)."""
        origin, basis = self.parametrization()
        t = _as_points(t, "t", self.intrinsic_dim)
        return origin + t @ basis.T

    def to_coords(self, x) -> np.ndarray:
        """Domain coordinates ``t`` (N, k) of inputs ``x`` (N, d) (or one point (d,)) (least squares: exact for
        points on the domain)."""
        origin, basis = self.parametrization()
        x = _as_points(x, "x", self.dim)
        return np.linalg.lstsq(basis, (x - origin).T, rcond=None)[0].T

    def contains(self, x, atol: float = 1e-9) -> np.ndarray:
        """Whether each input ``x`` (N, d) (or one point (d,)) lies in the domain, shape (N,) bool.

        Within ``atol`` times the domain's size (the length of the default ``tol``: a box's largest half-width, a
        polytope's Chebyshev radius, a WholeSpace's scale) of its affine hull and of every constraint, plus the
        rounding of the coordinates (16 units in the last place of ``x`` and of the origin, through the basis), so
        the answer does not change when the domain and the points are scaled or moved together. ``atol`` must be
        ``>= 0`` and finite (TypeError, ValueError).
        """
        if isinstance(atol, (bool, np.bool_)) or not isinstance(atol, numbers.Real):
            raise TypeError(f"atol must be a number, got {type(atol).__name__}")
        if not (np.isfinite(atol) and atol >= 0):
            raise ValueError(f"atol must be >= 0 and finite, got {atol}")
        origin, basis = self.parametrization()
        x = _as_points(x, "x", self.dim)
        t = self.to_coords(x)
        size = float(self._default_scale())
        size = size if np.isfinite(size) and size > 0 else 1.0
        ulps = 16 * np.finfo(np.float64).eps
        x_round = ulps * np.sqrt(self.dim) * (np.abs(x).max(axis=1) + np.abs(origin).max())  # (N,), input units
        on_hull = np.linalg.norm(origin + t @ basis.T - x, axis=1) <= atol * size + 2.0 * x_round
        A, b = self.constraints()
        if not A.shape[0]:
            return on_hull
        sigma = np.linalg.svd(basis, compute_uv=False)
        t_size, t_round = size / sigma[0], x_round / sigma[-1]  # in the units of t
        norms = _row_norms(A)
        slack = ((atol * t_size + t_round[:, None]) * norms[None, :] + ulps * (np.abs(t) @ np.abs(A).T + np.abs(b)))
        return on_hull & np.all(t @ A.T - b <= slack, axis=1)

    #: True where the parametrization's basis is exactly orthonormal by construction (its test is skipped).
    _orthonormal_basis = False

    def _engine_form(self) -> _EngineForm:
        origin, basis = self.parametrization()
        A, b = self.constraints()
        k = basis.shape[1]
        if self._orthonormal_basis or np.allclose(basis.T @ basis, np.eye(k), rtol=0, atol=1e-15):
            eye = np.eye(k)
            return _EngineForm(origin, basis, A, b, eye, eye)
        Q, R = np.linalg.qr(basis)
        Rinv = np.linalg.inv(R)
        return _EngineForm(origin, np.ascontiguousarray(Q), np.ascontiguousarray(A @ Rinv), b, Rinv, R)

    def _default_scale(self) -> float:
        """Characteristic length of the domain, used for the default tolerance."""
        return 1.0

    def _for_network(self, net) -> "Domain":
        """The domain as a run of ``net`` on it sees it: itself, or for an unbounded domain one with the size and
        centre taken from the network's arrangement (:class:`WholeSpace`)."""
        return self

    def _engine_frame(self, form: Optional[_EngineForm] = None) -> _EngineFrame:
        """The core's working coordinates: centred on the domain, in units of its size (see :class:`_EngineFrame`).
        ``form``: this domain's :meth:`_engine_form` when the caller has it already (it is not computed again)."""
        form = self._engine_form() if form is None else form
        c = form.R @ self._center()
        s = float(self._default_scale())
        if not (np.isfinite(s) and s > 0):
            s = 1.0
        framed = _EngineForm(form.x0 + form.Q @ c, np.ascontiguousarray(form.Q * s), form.A,
                             (form.b - form.A @ c) / s, form.Rinv, form.R)
        return _EngineFrame(framed, c, s)

    def _center(self) -> np.ndarray:
        """A point in the middle of the domain, in domain coordinates t."""
        return np.zeros(self.intrinsic_dim)

    def _state(self) -> dict:
        """The domain as a dict of arrays (for .npz files); inverse of :func:`_domain_from_state`."""
        raise NotImplementedError(f"{type(self).__name__} does not define _state()")

    def _same(self, other: "Domain") -> bool:
        """Whether ``other`` is the same domain: the same kind and bit-for-bit the same arrays."""
        a, b = self._state(), other._state() if isinstance(other, Domain) else None
        return (b is not None and a.keys() == b.keys()
                and all(a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in a))


class Box(Domain):
    """The axis-aligned box ``{x : lo <= x <= hi}``.

    Parameters
    ----------
    lo, hi : array_like, shape (d,), float64
        Bounds; ``lo[i] == hi[i]`` fixes coordinate ``i`` (the box is then ``k``-dimensional, ``k`` the number of
        free coordinates, and the domain coordinates are the free coordinates in order).

    Raises
    ------
    TypeError
        Non-numeric bounds.
    ValueError
        NaN or infinite bounds, shapes that differ, ``lo > hi``, a width ``hi - lo`` that overflows float64, or no
        free coordinate.

    Examples
    --------
    >>> Box([-1, -1], [1, 1]).intrinsic_dim
    2
    >>> Box([0, 0.5, 0], [1, 0.5, 1]).intrinsic_dim
    2
    """

    def __init__(self, lo, hi):
        lo = _as_float_array(lo, "lo", 1, promote=True)
        hi = _as_float_array(hi, "hi", 1, promote=True)
        if lo.shape != hi.shape:
            raise ValueError(f"lo and hi must have the same shape, got {lo.shape} and {hi.shape}")
        bad = np.nonzero(lo > hi)[0]
        if bad.size:
            raise ValueError(f"lo must be <= hi; lo > hi at coordinates {bad.tolist()}")
        with np.errstate(over="ignore"):
            wide = np.nonzero(~np.isfinite(hi - lo))[0]
        if wide.size:  # (every size, centre and scale of the box would be inf, with overflow warnings)
            raise ValueError(f"the width hi - lo overflows float64 at coordinates {wide.tolist()} (lo "
                             f"{lo[wide[0]]!r}, hi {hi[wide[0]]!r})")
        self.lo, self.hi = lo, hi
        self.free = np.nonzero(lo < hi)[0]
        if self.free.size == 0:
            raise ValueError("the box has no free coordinate (lo == hi everywhere): it is a single point")
        self.dim = int(lo.shape[0])
        self.intrinsic_dim = int(self.free.size)

    def constraints(self):
        k = self.intrinsic_dim
        A = np.vstack([np.eye(k), -np.eye(k)])
        b = np.concatenate([self.hi[self.free], -self.lo[self.free]])
        return A, b

    def parametrization(self):
        origin = np.where(self.lo == self.hi, self.lo, 0.0)
        basis = np.zeros((self.dim, self.intrinsic_dim))
        basis[self.free, np.arange(self.intrinsic_dim)] = 1.0
        return origin, basis

    # The basis picks distinct coordinates, so it is exactly orthonormal: Domain._engine_form skips its test (a
    # quarter of the set-up of each of verify's open boxes).
    _orthonormal_basis = True

    def volume(self) -> float:
        """k-dimensional volume of the box (product of the free widths)."""
        return float(np.prod(self.hi[self.free] - self.lo[self.free]))

    def sample(self, n: int, rng=None) -> np.ndarray:
        """``n`` points drawn uniformly from the box, shape (n, d); ``rng``: an int >= 0, a
        :class:`numpy.random.Generator` or None, for :func:`numpy.random.default_rng`."""
        from ._checks import check_int, check_seed

        n = check_int(n, "n", 0)
        rng = np.random.default_rng(check_seed(rng, "rng"))
        return self.lo + rng.random((n, self.dim)) * (self.hi - self.lo)

    def _default_scale(self) -> float:
        return float(np.max(self.hi[self.free] - self.lo[self.free])) / 2.0

    def _center(self) -> np.ndarray:
        return (self.lo[self.free] + self.hi[self.free]) / 2.0

    def _state(self) -> dict:
        return {"kind": np.array("Box"), "lo": self.lo, "hi": self.hi}

    def __repr__(self) -> str:
        return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()})"


class Polytope(Domain):
    """The polytope ``{x : A x <= b}``, which must be bounded and full-dimensional.

    Parameters
    ----------
    A : array_like, shape (m, d), float64
    b : array_like, shape (m,), float64

    Raises
    ------
    TypeError
        Non-numeric arrays.
    ValueError
        NaN or infinite entries, mismatched shapes, an empty or lower-dimensional polytope (Chebyshev radius
        <= 0), or an unbounded one. Both checks are LPs solved with scipy's HiGHS.
    """

    def __init__(self, A, b):
        from scipy.optimize import linprog

        A = _as_float_array(A, "A", 2)
        b = _as_float_array(b, "b", 1)
        if A.shape[0] != b.shape[0]:
            raise ValueError(f"A has {A.shape[0]} rows but b has {b.shape[0]} entries")
        if A.shape[0] == 0 or A.shape[1] == 0:
            raise ValueError("A must have at least one row and one column")
        m, d = A.shape
        norms = _row_norms(A)
        # The LPs on rows of norm in [1, 2), each scaled by a power of two (exactly: the same problem, bit for bit,
        # as HiGHS's own scaling would see it; but HiGHS's tolerances are absolute, and rows scaled by 1e-9 passed
        # every direction as a ray). A zero row constrains nothing, or, with b_i < 0, empties the polytope.
        unit = np.where(norms > 0, np.ldexp(1.0, np.frexp(norms)[1] - 1), 1.0)
        U, u, nU = A / unit[:, None], b / unit, norms / unit
        # Chebyshev centre: maximise r s.t. U x + |U_i| r <= u.
        res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.c_[U, nU], b_ub=u,
                      bounds=[(None, None)] * d + [(None, 1e300)], method="highs")
        if res.status == 2 or (res.status == 0 and -res.fun <= 0):
            raise ValueError("the polytope A x <= b is empty or not full-dimensional (Chebyshev radius <= 0)")
        # Bounded iff no non-zero direction v with A v <= 0: check max of +-v_j over {U v <= 0, |v| <= 1}.
        for j in range(d):
            for sign in (1.0, -1.0):
                c = np.zeros(d)
                c[j] = -sign
                ray = linprog(c, A_ub=U, b_ub=np.zeros(m), bounds=[(-1, 1)] * d, method="highs")
                if ray.status == 0 and -ray.fun > 1e-9:
                    raise ValueError("the polytope A x <= b is unbounded (use WholeSpace or add rows)")
        self.A, self.b = A, b
        self.dim = self.intrinsic_dim = d
        self._center_point, self._radius = res.x[:d], float(-res.fun)

    def constraints(self):
        return self.A, self.b

    def parametrization(self):
        return np.zeros(self.dim), np.eye(self.dim)

    def _default_scale(self) -> float:
        return self._radius

    def _center(self) -> np.ndarray:
        return self._center_point

    def _state(self) -> dict:
        return {"kind": np.array("Polytope"), "A": self.A, "b": self.b}

    def __repr__(self) -> str:
        return f"Polytope(m={self.A.shape[0]}, d={self.dim})"


class WholeSpace(Domain):
    """All of R^d. Regions may be unbounded; their radii are capped (see :func:`relutope.enumerate_regions`).

    A box has a size and a centre, from which the default ``tol``, :func:`relutope.min_tol` and the core's working
    frame follow; R^d has neither. They are taken from the network instead, when a run starts (and when a
    :class:`~relutope.Partition` is made): the centre is the point nearest, in least squares, to the hyperplanes
    of the first layer (every boundary between two pieces of a unit, each at unit norm), and the size is the
    largest distance from it to one of them (if all of them pass through the centre, to a hyperplane of the first
    later layer, linearised at the centre, that does not; if none, the centre's largest coordinate, or 1 at the
    origin). Those hyperplanes meet the arrangement's
    vertices, so this is the size of the part of R^d where the regions are resolved: a network whose hyperplanes
    lie within ``1e-6`` of a point ``c`` gets ``tol = 1e-15`` and the engine works around ``c`` at that scale, as
    on a box around ``c`` holding every vertex of its arrangement. The partition's ``domain`` is then this
    WholeSpace with the scale and centre filled in (``partition.domain.scale``, ``.center``).

    Parameters
    ----------
    d : int
        The input dimension (>= 1).
    scale : float, optional
        The characteristic length (``> 0``, finite, input units): the default ``tol`` is ``1e-9`` of it. Default:
        from the network, as above.
    center : array_like, shape (d,), float64, optional
        The point the engine centres its coordinates on (finite). Default: from the network, as above.

    Raises
    ------
    TypeError
        ``d`` not an int, ``scale`` not a number, ``center`` not numeric.
    ValueError
        ``d < 1``; ``scale`` not positive and finite; ``center`` of another length or not finite.
    """

    def __init__(self, d: int, *, scale: Optional[float] = None, center=None):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"d must be an int, got {type(d).__name__}")
        if d < 1:
            raise ValueError(f"d must be >= 1, got {d}")
        self.dim = self.intrinsic_dim = int(d)
        if scale is not None:
            if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real):
                raise TypeError(f"scale must be a number, got {type(scale).__name__}")
            if not (np.isfinite(scale) and scale > 0):
                raise ValueError(f"scale must be positive and finite, got {scale}")
            scale = float(scale)
        if center is not None:
            center = _as_float_array(center, "center", 1, promote=True)
            if center.shape != (self.dim,):
                raise ValueError(f"center must have length {self.dim}, got shape {center.shape}")
        self._given = (scale, center)  # what the caller fixed (saved with the domain)
        self.scale, self.center = scale, center  # filled in from the network by _for_network

    @property
    def bounded(self) -> bool:
        return False

    def constraints(self):
        return np.zeros((0, self.dim)), np.zeros(0)

    def parametrization(self):
        return np.zeros(self.dim), np.eye(self.dim)

    def _default_scale(self) -> float:
        return 1.0 if self.scale is None else self.scale

    def _center(self) -> np.ndarray:
        return np.zeros(self.dim) if self.center is None else self.center

    def _for_network(self, net, origin=None, basis=None) -> "WholeSpace":
        if self.scale is not None and self.center is not None:
            return self
        center, scale = _arrangement_frame(net, np.zeros(self.dim) if origin is None else origin,
                                           np.eye(self.dim) if basis is None else basis)
        out = WholeSpace(self.dim, scale=self._given[0], center=self._given[1])
        out.scale = scale if self.scale is None else self.scale
        out.center = center if self.center is None else self.center
        return out

    def _state(self) -> dict:
        state = {"kind": np.array("WholeSpace"), "d": np.array(self.dim)}
        if self._given[0] is not None:
            state["scale"] = np.array(self._given[0])
        if self._given[1] is not None:
            state["center"] = self._given[1]
        return state

    def __repr__(self) -> str:
        if self.scale is None and self.center is None:
            return f"WholeSpace({self.dim})"
        centre = None if self.center is None else self.center.tolist()
        return f"WholeSpace({self.dim}, scale={self.scale!r}, center={centre})"


def _arrangement_frame(net, origin: np.ndarray, basis: np.ndarray):
    """Centre (k,) and size of a network's arrangement in the coordinates ``t`` of ``x = origin + basis @ t``.

    The centre is the least-squares point of the first layer's hyperplanes (each boundary ``f_r = f_0`` between
    a unit's pieces, normalised; the minimum-norm one when they do not fix every direction, along which the
    network is constant); the size is the largest distance from it to one of them. When every one passes through
    the centre (no biases), the first later layer with a boundary not through it gives the size: its value at the
    centre over the boundary's gradient bound (the norm of its row times the spectral norms of the layers before,
    which do not depend on the pieces chosen at the centre, where every unit of a cone is at its kink); when none
    does (a positively homogeneous network about the centre), the centre's largest coordinate (1 at the origin).
    """
    center = np.zeros(basis.shape[1])
    value, gain = origin, 1.0  # the layer's input at the centre; a bound on the norm of its Jacobian in t
    identity = basis.shape[0] == basis.shape[1] and np.array_equal(basis, np.eye(basis.shape[0]))
    for i, layer in enumerate(net.layers):
        A = layer.A @ basis if i == 0 and not identity else layer.A  # every piece's slope in t (layer 0) or in y
        rows, base = layer._boundary_rows()  # each piece but a unit's first, against it
        D = A[rows] - A[base]
        norms = _row_norms(D)
        keep = norms > 1e-12 * max(float(norms.max(initial=0.0)), np.finfo(np.float64).tiny)
        rows, base, D, norms = rows[keep], base[keep], D[keep], norms[keep] * gain
        if i == 0 and rows.size:  # the least-squares point of the normalised hyperplanes D t + e = 0
            e0 = (layer.c[rows] - layer.c[base] + (layer.A[rows] - layer.A[base]) @ origin) / norms
            center = np.linalg.lstsq(D / norms[:, None], -e0, rcond=None)[0]
            value = origin + basis @ center
        vals = layer.A @ value + layer.c  # every piece at the centre, with a bound on its rounding
        err = _FRAME_ULPS * np.finfo(np.float64).eps * (np.abs(layer.A) @ np.abs(value) + np.abs(layer.c))
        dist = np.abs(vals[rows] - vals[base]) / norms  # (a lower bound of) the distance to each boundary
        dist[dist <= (err[rows] + err[base]) / norms] = 0.0  # through the centre, within rounding
        size = float(dist.max(initial=0.0))
        if np.isfinite(size) and size > 0:
            return center, size
        chosen = np.array([s + int(np.argmax(vals[s:s + n])) for s, n in zip(layer.piece_start[:-1],
                                                                                layer.n_pieces)], dtype=np.int64)
        value = vals[chosen]
        gain *= _spectral_norm(A)  # (every piece's slope: any choice of them)
        if not (np.isfinite(gain) and gain > 0):
            break
    # a cone about the centre (every hyperplane through it): no size of its own; that of the centre's coordinates
    # (so that the default tol resolves at them), or 1 at the origin
    far = float(np.abs(center).max(initial=0.0))
    return center, far if np.isfinite(far) and far > 0 else 1.0


class Slice(Domain):
    """An affine slice ``x = origin + basis @ t`` of the input space, with ``t`` in an inner domain.

    Parameters
    ----------
    origin : array_like, shape (d,), float64
    basis : array_like, shape (d, k), float64
        Linearly independent columns (k <= d); they need not be orthonormal.
    inner : Domain
        A domain of dimension k for ``t`` (a :class:`Box`, :class:`Polytope` or :class:`WholeSpace`; not itself a
        lower-dimensional box or slice).

    Raises
    ------
    TypeError
        ``inner`` is not a Domain, or arrays are not numeric.
    ValueError
        Shapes that do not fit, dependent basis columns, non-finite entries, or a lower-dimensional ``inner``.
    """

    def __init__(self, origin, basis, inner: Domain):
        origin = _as_float_array(origin, "origin", 1, promote=True)
        basis = _as_float_array(basis, "basis", 2)
        if not isinstance(inner, Domain):
            raise TypeError(f"inner must be a relutope Domain, got {type(inner).__name__}")
        if isinstance(inner, Slice) or inner.intrinsic_dim != inner.dim:
            raise ValueError("inner must be a full-dimensional Box, Polytope or WholeSpace")
        d, k = basis.shape
        if origin.shape[0] != d:
            raise ValueError(f"origin has length {origin.shape[0]} but basis has {d} rows")
        if inner.dim != k:
            raise ValueError(f"inner has dimension {inner.dim} but basis has {k} columns")
        if k > d or np.linalg.matrix_rank(basis) < k:
            raise ValueError("basis columns must be linearly independent")
        self.origin, self.basis, self.inner = origin, basis, inner
        self.dim, self.intrinsic_dim = d, k

    @classmethod
    def through_points(cls, p0, p1, p2, margin: float = 0.0) -> "Slice":
        """The plane through three inputs, with ``t`` in ``[-margin, 1 + margin]^2`` (SplineCam's slices).

        ``x = p0 + t_0 (p1 - p0) + t_1 (p2 - p0)``.

        Parameters
        ----------
        p0, p1, p2 : array_like, shape (d,), float64
            Three inputs of the same length, not on one line.
        margin : float, optional
            ``>= 0`` and finite: how far the square of ``t`` reaches beyond the triangle's corners.

        Raises
        ------
        TypeError
            Non-numeric points or margin.
        ValueError
            Points that are not 1-D, of different lengths, non-finite or collinear (the message names the
            point), or a negative, NaN or infinite ``margin``.
        """
        pts = [_as_float_array(p, name, 1, promote=True) for p, name in ((p0, "p0"), (p1, "p1"), (p2, "p2"))]
        for p, name in zip(pts[1:], ("p1", "p2")):
            if p.shape != pts[0].shape:
                raise ValueError(f"{name} has length {p.shape[0]} but p0 has {pts[0].shape[0]}: the three points "
                                 f"must be inputs of the same network")
        if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, numbers.Real):
            raise TypeError(f"margin must be a number, got {type(margin).__name__}")
        if not (np.isfinite(margin) and margin >= 0):
            raise ValueError(f"margin must be >= 0 and finite, got {margin}")
        basis = np.column_stack([pts[1] - pts[0], pts[2] - pts[0]])
        if np.linalg.matrix_rank(basis) < 2:
            raise ValueError("p0, p1 and p2 lie on one line (or two of them coincide): they span no plane")
        m = float(margin)
        return cls(pts[0], basis, Box([-m, -m], [1 + m, 1 + m]))

    @property
    def bounded(self) -> bool:
        return self.inner.bounded

    def constraints(self):
        return self.inner.constraints()

    def parametrization(self):
        return self.origin, self.basis

    def _default_scale(self) -> float:
        return self.inner._default_scale() * _spectral_norm(self.basis)

    def _center(self) -> np.ndarray:
        return self.inner._center()

    def _for_network(self, net) -> "Slice":
        if self.inner.bounded:
            return self
        inner = self.inner._for_network(net, self.origin, self.basis)
        return self if inner is self.inner else Slice(self.origin, self.basis, inner)

    def _state(self) -> dict:
        state = {"kind": np.array("Slice"), "origin": self.origin, "basis": self.basis}
        state.update({f"inner_{key}": value for key, value in self.inner._state().items()})
        return state

    def __repr__(self) -> str:
        return f"Slice(d={self.dim}, k={self.intrinsic_dim}, inner={self.inner!r})"


def _domain_from_state(state: dict) -> Domain:
    """Rebuild a domain from :meth:`Domain._state`; ValueError or TypeError on a state that is not one."""
    try:
        kind = str(state["kind"])
        if kind == "Box":
            return Box(state["lo"], state["hi"])
        if kind == "Polytope":
            return Polytope(state["A"], state["b"])
        if kind == "WholeSpace":
            d = np.asarray(state["d"])
            if d.shape != () or d.dtype.kind not in ("i", "u"):
                raise ValueError(f"the dimension d of a WholeSpace must be one integer, got {d!r}")
            scale = state.get("scale")
            if scale is not None:
                scale = np.asarray(scale)
                if scale.shape != () or scale.dtype.kind != "f":
                    raise ValueError(f"the scale of a WholeSpace must be one float, got {scale!r}")
                scale = float(scale)
            center = state.get("center")
            if center is not None and np.asarray(center).dtype.kind != "f":
                raise ValueError(f"the center of a WholeSpace must be floats, got {center!r}")
            return WholeSpace(int(d), scale=scale, center=center)
        if kind == "Slice":
            inner = {key[6:]: value for key, value in state.items() if key.startswith("inner_")}
            if str(inner.get("kind")) not in ("Box", "Polytope", "WholeSpace"):
                raise ValueError(f"the inner domain of a Slice must be a Box, Polytope or WholeSpace, got "
                                 f"{str(inner.get('kind'))!r}")
            return Slice(state["origin"], state["basis"], _domain_from_state(inner))
    except KeyError as exc:
        raise ValueError(f"the domain's entry {exc} is missing") from None
    raise ValueError(f"unknown domain kind {kind!r}")
