"""Exact enumeration of activation regions: :func:`enumerate_regions`."""
from __future__ import annotations

import numbers
import time
import warnings
from typing import Optional

import numpy as np

from .domains import Domain
from .errors import RelutopeWarning
from .network import Network
from .partition import Partition

__all__ = ["enumerate_regions", "default_tol", "min_tol"]

#: Relative default tolerance: ``tol = DEFAULT_RELATIVE_TOL * domain scale``.
DEFAULT_RELATIVE_TOL = 1e-9
#: The smallest relative tolerance accepted. The core works in coordinates centred on the domain and scaled to its
#: size, and its LPs accept a row as satisfied within ``min(1e-10, tol / 10)`` there; below ``1e-12`` that would
#: approach the rounding of the LPs themselves.
MIN_RELATIVE_TOL = 1e-12
#: Float64 resolution: a coordinate of magnitude ``|x|`` is only known to ``eps |x|``, and so are the hyperplanes
#: through it; a region is resolvable when it is wider than this many units in the last place of the domain's
#: largest coordinate.
RESOLUTION_ULPS = 1024.0


def default_tol(domain: Domain) -> float:
    """The default ``tol`` of :func:`enumerate_regions` for a domain.

    ``1e-9`` times the domain's characteristic length: the largest half-width of a :class:`~relutope.Box`'s free
    coordinates, the Chebyshev radius of a :class:`~relutope.Polytope`, 1 for :class:`~relutope.WholeSpace`, and
    for a :class:`~relutope.Slice` the inner domain's length times the basis' spectral norm.
    """
    return DEFAULT_RELATIVE_TOL * max(domain._default_scale(), 1e-300)


def min_tol(domain: Domain) -> float:
    """The smallest ``tol`` :func:`enumerate_regions` accepts on a domain (input units).

    The larger of ``MIN_RELATIVE_TOL`` (``1e-12``) times the domain's size (the core's LP feasibility tolerance is
    ``min(1e-10, tol / 10)`` of it) and ``RESOLUTION_ULPS`` (1024) units in the last place of the largest
    coordinate of the domain (``|x|`` at its centre plus its size): float64 cannot place a hyperplane more precisely than that, so thinner
    regions would be artefacts of rounding. For a box of half-width ``1e-7`` centred at ``(3, -7)`` that is
    ``1024 * eps * 7 ~ 1.6e-12``, far above the relative default ``1e-16``. (Spacing of float64 numbers: Goldberg,
    "What Every Computer Scientist Should Know About Floating-Point Arithmetic", ACM Computing Surveys 1991.)

    Parameters
    ----------
    domain : Domain

    Returns
    -------
    float
        The floor, in input units (the units of ``tol``).

    Raises
    ------
    TypeError
        When ``domain`` is not a relutope Domain.

    Examples
    --------
    >>> import relutope
    >>> relutope.min_tol(relutope.Box([-1, -1], [1, 1]))
    1e-12
    """
    if not isinstance(domain, Domain):
        raise TypeError(f"domain must be a relutope Domain (Box, Polytope, WholeSpace, Slice), "
                        f"got {type(domain).__name__}")
    scale = max(domain._default_scale(), 1e-300)
    origin, basis = domain.parametrization()
    centre = origin + basis @ domain._center()
    extent = float(np.max(np.abs(centre), initial=0.0)) + scale
    return max(MIN_RELATIVE_TOL * scale, RESOLUTION_ULPS * np.finfo(np.float64).eps * extent)


def _resolve_tol(domain: Domain, tol) -> float:
    """The ``tol`` to run with: the default raised to :func:`min_tol` (with a warning), or an explicit one checked."""
    floor = min_tol(domain)
    if tol is None:
        tol = default_tol(domain)
        if tol < floor:
            warnings.warn(f"the default tol ({tol:.3g}, 1e-9 of the domain's size) is below what float64 resolves at "
                          f"the domain's coordinates; using tol={floor:.3g} (see relutope.min_tol)", RelutopeWarning,
                          stacklevel=4)
            tol = floor
        return tol
    tol = float(_check_positive(tol, "tol"))
    if tol < floor:
        raise ValueError(f"tol={tol:.3g} is below {floor:.3g}, the smallest tolerance the engine resolves on this "
                         f"domain (1e-12 of its size, or 1024 float64 ulps of its coordinates; see relutope.min_tol)")
    return tol


def _check_positive(value, name: str, integer: bool = False):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a {'whole ' if integer else ''}number, got {type(value).__name__}")
    if integer and not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if integer:
        if value < 0 or value >= 2 ** 63:
            raise ValueError(f"{name} must be between 0 and 2**63 - 1, got {value}")
        return int(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not integer):
        raise ValueError(f"{name} must be {'>= 0' if integer else 'positive and finite'}, got {value}")
    return value


def _engine_call(fn, net: Network, domain: Domain, *, tol, max_regions, time_limit, progress,
                 radius_cap: float = 1.0, extra: tuple = (), deadline: Optional[float] = None):
    """Validate the common arguments, run a core enumeration ``fn`` (GIL released, with progress and Ctrl-C
    handling) and return its result dict (with the ``tol`` used) and the domain's engine form.

    ``deadline`` (a ``time.perf_counter()`` value) overrides ``time_limit`` with the time left when the core
    starts: the set-up of a wide domain's constraints takes a good part of a second."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a relutope.Network, got {type(net).__name__}")
    if not isinstance(domain, Domain):
        raise TypeError(f"domain must be a relutope Domain (Box, Polytope, WholeSpace, Slice), "
                        f"got {type(domain).__name__}")
    if domain.dim != net.in_dim:
        raise ValueError(f"domain has dimension {domain.dim} but the network takes {net.in_dim} inputs")
    tol = _resolve_tol(domain, tol)
    _check_positive(max_regions, "max_regions", integer=True)
    if isinstance(time_limit, numbers.Real) and time_limit == float("inf"):
        time_limit = None  # no limit
    _check_positive(time_limit, "time_limit")
    _check_positive(radius_cap, "radius_cap")
    if domain.bounded:
        radius_cap = 2.0 * domain._default_scale() + 10.0 * tol
    if radius_cap <= tol:
        raise ValueError(f"radius_cap ({radius_cap}) must exceed tol ({tol})")

    form = domain._engine_form()
    frame = domain._engine_frame()
    fv, s = frame.form, frame.s
    u0 = frame.to_v(form.R @ domain._center())
    bar = None
    callback = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="regions", unit=" regions", total=max_regions)

        def callback(regions: int) -> bool:
            bar.update(regions - bar.n)
            return True

    checkpoint_every = 4096 if progress else 16384
    if deadline is not None:
        time_limit = max(deadline - time.perf_counter(), 1e-3)
    try:
        out = fn(net._core(), fv.x0, fv.Q, fv.A, fv.b, u0, tol / s, float(radius_cap) / s,
                 -1 if max_regions is None else int(max_regions), -1.0 if time_limit is None else float(time_limit),
                 checkpoint_every, callback, *extra)
        if bar is not None:
            bar.update(int(out["leaves"]) - bar.n)
    finally:
        if bar is not None:
            bar.close()
    # An LP breakdown the core could not repair ends the run like a limit does (status "numerical", the regions
    # found so far, out["message"] naming the failing cell): the caller decides what an incomplete run means.
    # Back from the core's coordinates v to u (points) and input units (radii).
    for key in ("centers", "vertices", "argmin", "argmax", "counterexample"):
        value = out.get(key)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[-1] == frame.c.shape[0]:
            out[key] = frame.to_u(value)
    if "radii" in out:
        out["radii"] = out["radii"] * s
    if out["status"] == "complete" and int(out["leaves"]) == 0 and int(out.get("pruned", 0)) == 0:
        raise ValueError(f"tol={tol:.3g} is not below the domain's inradius: no region can hold a ball of radius tol")
    out["tol"] = tol
    return out, form


def enumerate_regions(net: Network, domain: Domain, *, tol: Optional[float] = None,
                      max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                      progress: bool = False, radius_cap: float = 1.0, method: str = "auto") -> Partition:
    """Enumerate every activation region of a network over a domain, exactly.

    Parameters
    ----------
    net : Network
        The piecewise-affine network.
    domain : Domain
        A :class:`~relutope.Box`, :class:`~relutope.Polytope`, :class:`~relutope.WholeSpace` or
        :class:`~relutope.Slice` of dimension ``net.in_dim``.
    tol : float, optional
        A region exists when it contains a Euclidean ball of radius ``tol`` (in input units, within the domain's
        affine hull). Regions thinner than that are not reported; they are too thin to tell from their
        boundaries in double precision. Default: :func:`default_tol` (``1e-9`` times the domain's size), raised
        to :func:`min_tol` with a :class:`~relutope.RelutopeWarning` where that is below what float64 resolves at
        the domain's coordinates. Every region's witness is also checked by a forward pass; a region whose
        witness gives another pattern is dropped (``status="numerical"``, with a warning).
    max_regions : int, optional
        Stop after this many regions; the partition is then marked incomplete (``status="max_regions"``).
    time_limit : float, optional
        Stop after about this many seconds (``status="time_limit"``); ``None`` or ``inf`` for no limit.
    progress : bool, optional
        Show a tqdm bar counting regions (updated every few thousand regions).
    radius_cap : float, optional
        For unbounded domains (:class:`~relutope.WholeSpace`, or a slice of it) the Chebyshev radius of an
        unbounded region is infinite: radii and witnesses are computed with the radius capped at this value.
    method : {"auto", "lp", "polygon"}, optional
        ``"lp"``: the general engine (Chebyshev-ball LPs, any dimension). ``"polygon"``: the 2-D fast path, for a
        bounded domain of intrinsic dimension 2 (a 2-D :class:`~relutope.Box` or :class:`~relutope.Polytope`, a
        box with all but two coordinates fixed, or a :class:`~relutope.Slice` through three inputs): every region
        is kept as an exact convex polygon, split by each unit's line with vertex sign tests and no LP; only the
        Chebyshev disc of each final region (its witness and radius) is an LP, a 3-variable one. Same regions,
        witnesses and radii as ``"lp"``, and :meth:`Partition.polygons` comes for free. ``"auto"`` (default)
        picks ``"polygon"`` when it applies, else ``"lp"``.

    Returns
    -------
    Partition
        The regions with their patterns, witnesses and radii. ``partition.complete`` is False when a limit,
        Ctrl-C (``status="interrupted"``) or an LP breakdown (``status="numerical"``) stopped the run early; the
        regions found so far are all exact. On ``"numerical"``, ``partition.message`` names the failing cell: the
        LP status, the unit being inserted, its layer, and the pattern of the layers before it.

    Raises
    ------
    TypeError
        When ``net`` or ``domain`` has the wrong type, or a number is not a number.
    ValueError
        When the domain's dimension is not ``net.in_dim``, ``tol`` is below :func:`min_tol` or not below the
        domain's inradius, ``max_regions``, ``time_limit`` or ``radius_cap`` is out of range, ``method`` is
        unknown, or ``method="polygon"`` is asked for a domain that is not bounded and two-dimensional.

    Notes
    -----
    The algorithm is an incremental hyperplane arrangement, layer by layer, depth first (Serra, Tjandraatmadja &
    Ramalingam, "Bounding and Counting Linear Regions of Deep Neural Networks", ICML 2018; Hanin & Rolnick, "Deep
    ReLU Networks Have Surprisingly Few Activation Patterns", NeurIPS 2019). On a cell of the partition induced by
    the first ``l`` layers, layer ``l``'s pre-activations are affine; each unit's hyperplane (or, for a unit with
    ``K > 2`` pieces, its argmax cells) is inserted, and a side is kept when its Chebyshev ball has radius
    ``> tol``, decided by a warm-started dual simplex LP in the compiled core. A unit whose pre-activation is
    exactly constant on a cell (a dead unit) is stable; if the constant is exactly zero, the tie goes to piece 0
    (inactive), as in :meth:`Network.activation_pattern`. The run holds no GIL.

    The warm-started LPs are guarded: an optimum reached on an ill-conditioned basis is checked against the rows
    and refactorised, and an LP that breaks down (on unbounded domains the capped Chebyshev ball of an unbounded
    cell may be centred anywhere on a face of optima, and the simplex can wander to far, ill-conditioned vertices
    of it) is re-solved with a fresh factorisation at every pivot from a fresh basis. Only when that fails too
    does the run stop with ``status="numerical"``.

    The 2-D fast path (``method="polygon"``) runs the same layer-by-layer, depth-first scheme on convex polygons
    (Sutherland & Hodgman's clipping, vertices classified with a relative epsilon); a polygon of area ``A`` and
    perimeter ``P`` has inradius between ``A/P`` and ``2A/P``, which settles most existence questions, and the
    rest are exact Chebyshev LPs. It is the computation behind SplineCam's pictures of 2-D slices (Humayun et al.,
    "SplineCam: Exact Visualization and Characterization of Deep Network Geometry and Decision Boundaries",
    CVPR 2023). ``partition.lps`` then counts those radius LPs.

    Examples
    --------
    >>> import relutope
    >>> net = relutope.Network.random([2, 8, 1], seed=0)
    >>> part = relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1]))
    >>> len(part) > 1, part.complete
    (True, True)
    >>> lp = relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1]), method="lp")
    >>> sorted(map(bytes, part.patterns)) == sorted(map(bytes, lp.patterns))
    True
    >>> len(part.polygons()) == len(part)
    True
    """
    from . import _core

    if method not in ("auto", "lp", "polygon"):
        raise ValueError(f"method must be 'auto', 'lp' or 'polygon', got {method!r}")
    planar = isinstance(domain, Domain) and domain.intrinsic_dim == 2 and domain.bounded
    if method == "polygon" and not planar:
        raise ValueError(f"method='polygon' needs a bounded domain of intrinsic dimension 2, got {domain!r}")
    polygon = method == "polygon" or (method == "auto" and planar)
    out, form = _engine_call(_core.enumerate_polygons_2d if polygon else _core.enumerate_regions, net, domain,
                             tol=tol, max_regions=max_regions, time_limit=time_limit, progress=progress,
                             radius_cap=radius_cap)
    tol = out["tol"]
    status, message = out["status"], out.get("message", "")
    unchecked = Partition._from_packed(net, domain, out["patterns"], out["centers"], out["radii"],
                                       out["layer_counts"], tol=tol)
    ok = _witnesses_pass(unchecked)
    if not ok.all():
        bad = int(np.count_nonzero(~ok))
        dropped = (f"{bad} region(s) dropped: the forward pass of their witness gave another activation pattern "
                   f"(a numerical artefact of the LPs; the partition may miss regions there)")
        message = f"{message}; {dropped}" if message else dropped
        warnings.warn(message, RelutopeWarning, stacklevel=2)
        status = "numerical"
        for key in ("centers", "patterns", "radii"):
            out[key] = out[key][ok]
        polygon_keep = ok
    else:
        polygon_keep = None
    polygons = None
    if polygon:
        # Engine coordinates u to domain coordinates t; a reflection would turn the vertex order clockwise.
        vertices = out["vertices"] @ form.Rinv.T
        if np.linalg.det(form.Rinv) < 0:
            vertices = _reverse_rings(out["offsets"], vertices)
        offsets = out["offsets"]
        if polygon_keep is not None:
            owner = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
            vertices = vertices[polygon_keep[owner]]
            offsets = np.concatenate([[0], np.cumsum(np.diff(offsets)[polygon_keep])]).astype(offsets.dtype)
        polygons = (offsets, vertices)
    partition = Partition._from_packed(net, domain, out["patterns"], out["centers"], out["radii"],
                                       out["layer_counts"], status=status, tol=tol, lps=int(out["lps"]),
                                       lp_iterations=int(out["lp_iterations"]), seconds=float(out["seconds"]),
                                       polygons=polygons)
    partition.message = message
    return partition


def _witnesses_pass(part: Partition, budget: int = 1 << 22) -> np.ndarray:
    """Which regions' witnesses have their region's pattern under a plain forward pass, shape (R,) bool.

    The forward pass is independent of the LPs that found the regions: layer 0's pre-activations are computed
    from the witness ``u`` through the domain's map (``W0 (x0 + Q u) + b0``, folded to ``(W0 Q) u + (W0 x0 + b0)``
    so that a 784-input slice costs ``k`` multiply-adds per piece, not 784), the later layers as in
    :meth:`Network.forward`, ties to the lowest piece. Chunks of rows keep memory near ``budget`` floats.
    """
    from .network import Layer

    net, form, centers = part.network, part.domain._engine_form(), part._centers
    R = len(part)
    ok = np.ones(R, dtype=bool)
    if R == 0:
        return ok
    L0 = net.layers[0]
    first = Layer(L0.A @ form.Q, L0.A @ form.x0 + L0.c, L0.n_pieces)
    widest = max(int(layer.A.shape[0]) for layer in net.layers)
    chunk = max(1, budget // max(widest, 1))
    for a in range(0, R, chunk):
        patterns = part._patterns_at(slice(a, a + chunk))
        h, idx = first._forward(centers[a:a + chunk])
        good = np.all(idx == patterns[:, :L0.n_units], axis=1)
        off = L0.n_units
        for layer in net.layers[1:]:
            h, idx = layer._forward(h)
            good &= np.all(idx == patterns[:, off:off + layer.n_units], axis=1)
            off += layer.n_units
        ok[a:a + chunk] = good
    return ok


def _reverse_rings(offsets: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Reverse the vertex order of every polygon of a CSR array (offsets (R+1,), vertices (V, 2))."""
    idx = np.arange(vertices.shape[0])
    region = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    return vertices[offsets[region] + offsets[region + 1] - 1 - idx]
