"""Exact enumeration of activation regions: :func:`enumerate_regions`."""
from __future__ import annotations

import numbers
import time
import warnings
from typing import Optional

import numpy as np

from ._checks import check_bool, check_domain, check_int
from .domains import Domain, _scaled_rows
from .errors import RelutopeWarning
from .network import Network
from .partition import METHODS, Partition

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


def _for_network(domain: Domain, net: Optional[Network]) -> Domain:
    """``domain`` as a run of ``net`` sees it (:meth:`Domain._for_network`), ``net`` checked; itself without one."""
    if net is None:
        return domain
    if not isinstance(net, Network):
        raise TypeError(f"net must be a relutope.Network, got {type(net).__name__}")
    if domain.dim != net.in_dim:
        raise ValueError(f"domain has dimension {domain.dim} but the network takes {net.in_dim} inputs")
    return domain._for_network(net)


def default_tol(domain: Domain, net: Optional[Network] = None) -> float:
    """The default ``tol`` of :func:`enumerate_regions` for a domain.

    ``1e-9`` times the domain's characteristic length: the largest half-width of a :class:`~relutope.Box`'s free
    coordinates, the Chebyshev radius of a :class:`~relutope.Polytope`, for :class:`~relutope.WholeSpace` its
    ``scale`` (by default the size of the network's arrangement, see :class:`~relutope.WholeSpace`: pass ``net``;
    without it and without a ``scale``, 1), and for a :class:`~relutope.Slice` the inner domain's length times the
    basis' spectral norm.

    Parameters
    ----------
    domain : Domain
    net : Network, optional
        The network the run is for; only an unbounded domain without a ``scale`` depends on it.

    Raises
    ------
    TypeError
        When ``domain`` is not a relutope Domain or ``net`` not a Network.
    ValueError
        When ``net`` does not take ``domain.dim`` inputs.
    """
    check_domain(domain)
    domain = _for_network(domain, net)
    return DEFAULT_RELATIVE_TOL * max(domain._default_scale(), 1e-300)


def min_tol(domain: Domain, net: Optional[Network] = None) -> float:
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
    net : Network, optional
        The network the run is for: the size and centre of a :class:`~relutope.WholeSpace` come from it (see
        :func:`default_tol`).

    Returns
    -------
    float
        The floor, in input units (the units of ``tol``).

    Raises
    ------
    TypeError
        When ``domain`` is not a relutope Domain or ``net`` not a Network.
    ValueError
        When ``net`` does not take ``domain.dim`` inputs.

    Examples
    --------
    >>> import relutope
    >>> relutope.min_tol(relutope.Box([-1, -1], [1, 1]))
    1e-12
    """
    check_domain(domain)
    domain = _for_network(domain, net)
    scale = max(domain._default_scale(), 1e-300)
    origin, basis = domain.parametrization()
    centre = origin + basis @ domain._center()
    extent = float(np.max(np.abs(centre), initial=0.0)) + scale
    return max(MIN_RELATIVE_TOL * scale, RESOLUTION_ULPS * np.finfo(np.float64).eps * extent)


def _resolve_tol(domain: Domain, tol, floor: Optional[float] = None) -> float:
    """The ``tol`` to run with: the default raised to :func:`min_tol` (with a warning), or an explicit one checked.
    ``floor``: ``min_tol(domain)`` when the caller has it already (it is not computed again)."""
    floor = min_tol(domain) if floor is None else floor
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


#: The float64 range the core's numbers must stay in (issue defects21, item 2): slopes of the first layer's
#: hyperplanes in the core's frame (the domain's centre and size) at least ``FRAME_SLOPE_MIN`` (its rounding bounds
#: have absolute floors near 1e-300), and a bound of every piece's value over the domain at most
#: ``FRAME_VALUE_MAX`` (squares and sums of such numbers overflow past 1.8e308).
FRAME_SLOPE_MIN = 1e-250
FRAME_VALUE_MAX = 1e300


def _times_map(A: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """``A @ Q`` for the domain's map ``Q`` (d, k); one with a single non-zero per column (a box's: a scaled
    selection of coordinates) by selecting and scaling ``A``'s columns, ``P d`` products instead of ``P d k`` (a
    784-input box and 10,000 units: 0.95 s before the core started, whose time limit does not cover it). The same
    numbers: each entry of ``A @ Q`` is then one product plus exact zeros."""
    rows, cols = np.nonzero(Q)
    k = Q.shape[1]
    if rows.size == k and np.array_equal(np.bincount(cols, minlength=k), np.ones(k, dtype=np.int64)):
        pick = rows[np.argsort(cols, kind="stable")]
        scale = Q[pick, np.arange(k)]
        return A * scale if k == A.shape[1] and np.array_equal(pick, np.arange(k)) else A[:, pick] * scale
    return A @ Q


def _check_frame(net: Network, domain: Domain, fv) -> None:
    """ValueError naming the domain when the network, in the core's frame of ``domain`` (``fv``: the domain in
    ``v``, ``x = fv.x0 + fv.Q v``, ``|v| <~ 1``), has numbers outside the float64 range the core computes in.

    The first layer's hyperplanes ``(a_r - a_0) . x`` have slopes ``(a_r - a_0) @ fv.Q`` there, the domain's size
    times the weights: one non-zero but below ``FRAME_SLOPE_MIN`` (a box of half-width 1e-300 around a unit-scale
    network) is below what the core tells from a constant; and the pieces' values over the domain are bounded
    layer by layer (``|A_l|`` row sums times the bound before, plus ``|c_l|``): above ``FRAME_VALUE_MAX`` (a box of
    half-width 1e300 around a network of gain 1e10) squares and sums of them overflow. A later layer's boundaries
    ``f_r - f_0`` are bounded the same way (``|A_r - A_0|`` row sums times the bound before, plus
    ``|c_r - c_0|``): one non-zero but below ``FRAME_SLOPE_MIN`` everywhere on the domain (a layer scaled, with
    the biases after it, by 1e-300) is a hyperplane the core cannot tell from a constant either (it dropped 193 of
    1413 regions' witnesses and gave 2). Each would give a wrong count, so the run is refused."""
    layer = net.layers[0]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        slopes = _times_map(layer.A, fv.Q)  # (P, k)
        rows, base = layer._boundary_rows()
        frame_diff = np.abs(slopes[rows] - slopes[base]).max(axis=1, initial=0.0) if rows.size \
            else np.zeros(0)
        bound = (np.abs(slopes).sum(axis=1) + np.abs(layer.A @ fv.x0 + layer.c)).max(initial=0.0)
        faint = None  # (layer, largest value bound) of a later layer whose boundaries are all but zero
        for index, later in enumerate(net.layers[1:], start=1):
            slope_sum, offset_diff = later._boundary_gain()
            reach = slope_sum * bound + offset_diff  # each boundary's values over the domain are at most this
            small = (reach > 0) & (reach < FRAME_SLOPE_MIN)
            if faint is None and small.any():
                faint = (index, float(reach[small].max()))
            gain, offset = later._gain()
            bound = gain * bound + offset
            if not bound < FRAME_VALUE_MAX:
                break
    size = domain._default_scale()
    tiny = (frame_diff > 0) & (frame_diff < FRAME_SLOPE_MIN)  # (an exact 0: a constant the core handles exactly)
    if tiny.any():
        raise ValueError(f"domain {domain!r} is too small for float64 around this network: its size ({size:.3g}) "
                         f"times the first layer's weights gives hyperplane slopes down to "
                         f"{float(frame_diff[tiny].min()):.3g} in the engine's coordinates (the domain scaled to "
                         f"size 1), below {FRAME_SLOPE_MIN:g}, where float64's rounding bounds stop telling a "
                         f"hyperplane from a constant; rescale the inputs (e.g. x -> x / {size:.3g})")
    if faint is not None and bound < FRAME_VALUE_MAX:
        raise ValueError(f"domain {domain!r} is too small for float64 around this network: layer {faint[0]}'s "
                         f"boundaries between pieces reach at most {faint[1]:.3g} over it in the engine's "
                         f"coordinates (the domain scaled to size 1), below {FRAME_SLOPE_MIN:g}, where float64's "
                         f"rounding bounds stop telling a hyperplane from a constant; rescale the network's layers "
                         f"(the weights and biases of layer {faint[0]} and after)")
    if not bound < FRAME_VALUE_MAX:
        raise ValueError(f"domain {domain!r} is too large for float64 around this network: the pieces' values over "
                         f"it may reach {float(bound):.3g} in the engine's coordinates (the domain scaled to size 1), "
                         f"beyond {FRAME_VALUE_MAX:g}, where their squares and sums overflow float64 (max 1.8e308); "
                         f"rescale the inputs or the weights")


def _check_positive(value, name: str, integer: bool = False):
    if value is None:
        return None
    if integer:
        return check_int(value, name, low=0, high=2 ** 63 - 1)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def _engine_call(fn, net: Network, domain: Domain, *, tol, max_regions, time_limit, progress,
                 radius_cap: Optional[float] = None, extra: tuple = (), allow_empty: bool = False,
                 deadline: Optional[float] = None, thin: bool = False, stop=None, **keywords):
    """Validate the common arguments, run a core enumeration ``fn`` (GIL released, with progress and Ctrl-C
    handling) and return its result dict (with the ``tol`` used) and the domain's engine form. ``extra`` follows
    the common arguments, ``keywords`` (``threads``, ``prefix``, ...) are passed by name. A complete run without
    regions means ``tol`` is too large, a ValueError, unless ``allow_empty`` (a run restricted to part of the
    domain, relutope.distributed).

    ``deadline`` (a ``time.perf_counter()`` value) overrides ``time_limit`` with the time left when the core
    starts: the set-up of a wide domain's constraints takes a good part of a second. ``thin``: verification mode,
    no cell skipped for being thin, refined down to :func:`min_tol` (the core's ``thin_min_tol``). ``stop``: a
    callable asked at the core's checkpoints (every 1024 regions); True stops the run (status ``interrupted``).
    Without a ``deadline``, ``time_limit`` counts from this call: the set-up here (the frame check reads every
    weight of the first layer) comes out of it."""
    entered = time.perf_counter()
    if not isinstance(net, Network):
        raise TypeError(f"net must be a relutope.Network, got {type(net).__name__}")
    check_domain(domain)
    domain = _for_network(domain, net)  # the dimension checked; an unbounded domain's size and centre filled in
    floor = min_tol(domain)  # once: the tol check and the thin cells' floor
    tol = _resolve_tol(domain, tol, floor)
    _check_positive(max_regions, "max_regions", integer=True)
    if isinstance(time_limit, numbers.Real) and time_limit == float("inf"):
        time_limit = None  # no limit
    _check_positive(time_limit, "time_limit")
    _check_positive(radius_cap, "radius_cap")
    if domain.bounded:
        radius_cap = 2.0 * domain._default_scale() + 10.0 * tol
    elif radius_cap is None:  # the arrangement's size (a WholeSpace's scale): above tol at every scale
        radius_cap = float(domain._default_scale())
    if radius_cap <= tol:
        raise ValueError(f"radius_cap ({radius_cap}) must exceed tol ({tol})")

    form = domain._engine_form()
    frame = domain._engine_frame(form)
    fv, s = frame.form, frame.s
    _check_frame(net, domain, fv)
    u0 = frame.to_v(form.R @ domain._center())
    bar = None
    callback = None
    if check_bool(progress, "progress"):
        from tqdm.auto import tqdm

        bar = tqdm(desc="regions", unit=" regions", total=max_regions)

        def callback(regions: int) -> bool:
            bar.update(regions - bar.n)
            return True

    if stop is not None:
        shown = callback

        def callback(regions: int) -> bool:
            return (shown is None or shown(regions) is not False) and not stop()

    if thin:
        keywords["thin_min_tol"] = min(floor, tol) / s
    checkpoint_every = 1024 if stop is not None else 4096 if progress else 16384
    core = net._core()  # (built on the first call: a part of the set-up for a wide first layer)
    if deadline is None and time_limit is not None:
        deadline = entered + float(time_limit)
    if deadline is not None:
        time_limit = max(deadline - time.perf_counter(), 1e-3)
    try:
        # (certify's exact checks take the domain's rows as they are)
        rows, rhs = (fv.A, fv.b) if "certify" in keywords else _scaled_rows(fv.A, fv.b)
        out = fn(core, fv.x0, fv.Q, rows, rhs, u0, tol / s, float(radius_cap) / s,
                 -1 if max_regions is None else int(max_regions), -1.0 if time_limit is None else float(time_limit),
                 checkpoint_every, callback, *extra, **keywords)
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
    if (out["status"] == "complete" and int(out["leaves"]) == 0 and int(out.get("pruned", 0)) == 0
            and not allow_empty):
        raise ValueError(f"tol={tol:.3g} is not below the domain's inradius: no region can hold a ball of radius tol")
    out["tol"] = tol
    out["domain"] = domain
    return out, form


def enumerate_regions(net: Network, domain: Domain, *, tol: Optional[float] = None,
                      max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                      progress: bool = False, radius_cap: Optional[float] = None, method: str = "auto",
                      threads: Optional[int] = None, certify: bool = False) -> Partition:
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
        boundaries in double precision. Default: :func:`default_tol` (``1e-9`` times the domain's size; on a
        :class:`~relutope.WholeSpace`, the size of the network's arrangement), raised
        to :func:`min_tol` with a :class:`~relutope.RelutopeWarning` where that is below what float64 resolves at
        the domain's coordinates. Every region's witness is also checked by a forward pass; a region whose
        witness gives another pattern is dropped (``status="numerical"``, with a warning).
    max_regions : int, optional
        Stop after this many regions; the partition is then marked incomplete (``status="max_regions"``).
    time_limit : float, optional
        Stop after about this many seconds from the call, the set-up included (``status="time_limit"``); ``None``
        or ``inf`` for no limit.
    progress : bool, optional
        Show a tqdm bar counting regions (updated every few thousand regions).
    radius_cap : float, optional
        For unbounded domains (:class:`~relutope.WholeSpace`, or a slice of it) the Chebyshev radius of an
        unbounded region is infinite: radii and witnesses are computed with the radius capped at this value
        (input units). Default: the domain's size (a :class:`~relutope.WholeSpace`'s ``scale``: the size of the
        network's arrangement), so that the unbounded regions' witnesses lie as near the arrangement, in units of
        its size, at every scale.
    method : {"auto", "lp", "polygon", "polytope"}, optional
        ``"lp"``: the general engine (Chebyshev-ball LPs, any dimension). ``"polygon"``: the 2-D fast path, for a
        bounded domain of intrinsic dimension 2 (a 2-D :class:`~relutope.Box` or :class:`~relutope.Polytope`, a
        box with all but two coordinates fixed, or a :class:`~relutope.Slice` through three inputs): every region
        is kept as an exact convex polygon, split by each unit's line with vertex sign tests and no LP; only the
        Chebyshev disc of each final region (its witness and radius) is an LP, a 3-variable one. Same regions,
        witnesses and radii as ``"lp"``, and :meth:`Partition.polygons` comes for free. ``"polytope"``: the
        same for a bounded domain of intrinsic dimension ``k`` from 1 to 10 (meant for 3 to 6): every cell is kept
        as its vertices with the constraints tight at each (a double description), split by each unit's
        hyperplane with vertex sign tests, new vertices on the cut edges found by the combinatorial adjacency
        test; only each region's Chebyshev ball (and, at the end of a layer, that of a cell whose centroid ball is
        not wider than ``tol``) is an LP. Same regions, witnesses and radii as ``"lp"``; units with ``K > 2``
        pieces (max-pooling) are supported. ``"auto"`` (default) picks ``"polygon"`` for a bounded 2-D domain,
        ``"polytope"`` for a bounded domain of a dimension where it measured faster than ``"lp"`` on ``threads``
        threads (:data:`AUTO_POLYTOPE`), else ``"lp"``. The choice is ``partition.method``.
    threads : int, optional
        Worker threads of the ``"lp"`` path (default ``None``: every core this process may use; ``1``: the calling
        thread alone). The depth-first search is shared out by splitting off pending subtrees on demand, and each
        subtree runs exactly the LPs one thread runs there, so a complete run gives the same partition with any
        number of threads: the same regions in the same order, the same witnesses and radii to the bit. A run
        stopped early (``max_regions``, ``time_limit``, Ctrl-C) holds exact regions, but with ``threads > 1``
        which ones were found first depends on timing. The ``"polytope"`` path takes threads too (its pending
        subtrees split off on demand in the same way, with the same guarantees); the ``"polygon"`` path runs on
        one thread.
    certify : bool, optional
        Prove the result (:class:`~relutope.certificates.EnumerationCertificate`, then ``partition.certificate``):
        every listed region exists (:func:`~relutope.certificates.certify_witnesses`) and every region of the
        network over the domain, weights and bounds taken as the exact binary fractions they are, that holds a
        ball of radius ``> tol`` is listed: each decision of the LP path that discards a side of a hyperplane, an
        argmax cell or a cell is checked as it is made by a rigorous bound of the discarded set's exact inradius
        from its LP's dual (evaluated with a priori rounding-error bounds; Neumaier & Shcherbina 2004), and each
        one whose bound fails is re-decided by an exact rational LP. Runs the ``"lp"`` path (``method="auto"``
        picks it). Domains: a :class:`~relutope.Box` (fixed coordinates included), a :class:`~relutope.Polytope`
        (its rows ``A x <= b`` exact, part of every cell and of every dual certificate; witnesses proven strictly
        inside them) or a :class:`~relutope.Slice` whose basis has exactly orthonormal columns (coordinate
        axes): domains the engine's coordinates map exactly. Needs python-flint for the exact parts.

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
        When ``certify=True`` with ``method="polygon"`` or ``"polytope"``, or with an unbounded domain or a
        :class:`~relutope.Slice` whose basis is not exactly orthonormal (its engine coordinates, a rounded QR
        factor, are no exact map of the inputs).
        When the domain's dimension is not ``net.in_dim``, ``tol`` is below :func:`min_tol` or not below the
        domain's inradius, ``max_regions``, ``time_limit``, ``radius_cap`` or ``threads`` is out of range,
        ``method`` is unknown, ``method="polygon"`` is asked for a domain that is not bounded and two-dimensional,
        or ``method="polytope"`` for one that is not bounded or has more than 10 free coordinates.

    Notes
    -----
    The algorithm is an incremental hyperplane arrangement, layer by layer, depth first (Serra, Tjandraatmadja &
    Ramalingam, "Bounding and Counting Linear Regions of Deep Neural Networks", ICML 2018; Hanin & Rolnick, "Deep
    ReLU Networks Have Surprisingly Few Activation Patterns", NeurIPS 2019). On a cell of the partition induced by
    the first ``l`` layers, layer ``l``'s pre-activations are affine; each unit's hyperplane (or, for a unit with
    ``K > 2`` pieces, its argmax cells) is inserted, and a side is kept when its Chebyshev ball has radius
    ``> tol``, decided by a warm-started dual simplex LP in the compiled core. A unit whose pre-activation is
    exactly constant on a cell (a dead unit) is stable; if the constant is exactly zero, the tie goes to piece 0
    (inactive), as in :meth:`Network.activation_pattern`. The run holds no GIL. With threads, a worker
    that sees another idle hands it the shallowest pending subtree of its search stack with the state that subtree
    reads, and the outputs are concatenated in the one-thread order (work splitting on demand: Rao & Kumar,
    "Parallel depth first search. Part I", International Journal of Parallel Programming 16(6), 1987).

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

    The polytope path (``method="polytope"``) is the double description method (Motzkin, Raiffa, Thompson &
    Thrall, 1953) run as the same depth-first refinement: two vertices of a ``k``-polytope are the ends of an edge
    iff no third vertex is tight at every constraint tight at both (Fukuda & Prodon, "Double description method
    revisited", 1996), a test on incidences alone that holds for polytopes that are not simple (hyperplanes through
    a common vertex or a vertex of the domain, duplicate units). A part of a split whose vertices are all within
    ``2 tol`` of the cut holds no ball of radius ``tol`` and is dropped.

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
    from ._threads import resolve_threads

    threads = resolve_threads(threads)
    if not isinstance(certify, (bool, np.bool_)):
        raise TypeError(f"certify must be a bool, got {type(certify).__name__}")
    certify_options = None
    if certify:
        from .certificates import _certify_options

        if method not in ("auto", "lp"):
            raise ValueError(f"certify=True runs the LP path (method='lp' or 'auto'), got method={method!r}")
        method = "lp"
        if isinstance(net, Network) and isinstance(domain, Domain) and domain.dim == net.in_dim:
            tol = _resolve_tol(domain._for_network(net), tol)
            certify_options = _certify_options(domain, tol)
    method = _choose_method(method, net, domain, threads)
    polygon = method == "polygon"
    engines = {"lp": _core.enumerate_regions, "polygon": _core.enumerate_polygons_2d,
               "polytope": _core.enumerate_polytopes}
    extra_kw = {"threads": threads} if method in ("lp", "polytope") else {}
    if certify_options is not None:
        extra_kw["certify"] = {k: v for k, v in certify_options.items() if not k.startswith("_")}
    out, form = _engine_call(engines[method], net, domain, tol=tol, max_regions=max_regions, time_limit=time_limit,
                             progress=progress, radius_cap=radius_cap, **extra_kw)
    tol, domain = out["tol"], out["domain"]
    status, message = out["status"], out.get("message", "")
    unchecked = Partition._from_packed(net, domain, out["patterns"], out["centers"], out["radii"],
                                       out["layer_counts"], tol=tol)
    ok = _witnesses_pass(unchecked, threads=threads)
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
    partition.method = method
    if certify_options is not None:
        from .certificates import _enumeration_certificate

        partition.certificate = _enumeration_certificate(partition, out["certificate"], certify_options)
    return partition


#: The largest intrinsic dimension ``method="polytope"`` accepts: its domain starts as a box of ``2**k`` vertices.
POLYTOPE_MAX_DIM = 10


def _choose_method(method, net, domain, threads: int = 1) -> str:
    """The engine :func:`enumerate_regions` runs: ``method`` checked against the domain, or for ``"auto"`` the
    fastest that applies on ``threads`` threads (measured by ``bench/bench_enumerate.py``; see
    :data:`AUTO_POLYTOPE`)."""
    if method != "auto" and method not in METHODS:
        raise ValueError(f"method must be 'auto', 'lp', 'polygon' or 'polytope', got {method!r}")
    if not isinstance(domain, Domain) or not isinstance(net, Network):
        return "lp" if method == "auto" else method  # _engine_call names the bad argument
    k, bounded = domain.intrinsic_dim, domain.bounded
    if method == "polygon" and not (k == 2 and bounded):
        raise ValueError(f"method='polygon' needs a bounded domain of intrinsic dimension 2, got {domain!r}")
    if method == "polytope" and not (1 <= k <= POLYTOPE_MAX_DIM and bounded):
        raise ValueError(f"method='polytope' needs a bounded domain of intrinsic dimension 1 to {POLYTOPE_MAX_DIM}, "
                         f"got {domain!r}")
    if method != "auto":
        return method
    if not bounded:
        return "lp"
    if k == 2:
        return "polygon"
    # both paths run on every thread (bench/bench_threads.py --polytope): the polytope path wins where its
    # one-thread speed-up over the LP path is above 1
    return "polytope" if AUTO_POLYTOPE.get(k, 0.0) > 1.0 else "lp"


#: The polytope path's one-thread speed-up over the LP path on a bounded domain of intrinsic dimension ``k``;
#: ``method="auto"`` runs it when that is above 1 (both paths take threads; else the LP path). From
#: ``bench/bench_enumerate.py --paths``
#: (one thread, ``Network.random`` nets over ``[-1, 1]^d``; bench/results/enumerate_paths.txt): the polytope path
#: took 0.22-0.27x the LP path's time at k = 3 ([3,32,32,32,1], [3,64,64,1]) and 0.8-0.85x at k = 4
#: ([4,16,16,16,1], [4,32,32,1]), but 2x at k = 5 and 4.6x at k = 6: its cost per split grows with the cells'
#: vertex counts (up to 90 at k = 4, 240 at k = 5, 570 at k = 6 on those nets), the LP path's with their facet
#: counts. Widths from 12 to 64 did not change the ratio at a given k.
AUTO_POLYTOPE = {3: 3.7, 4: 1.18}


def _witnesses_pass(part: Partition, budget: int = 1 << 22, threads: Optional[int] = None) -> np.ndarray:
    """Which regions' witnesses are consistent with their region's pattern, shape (R,) bool.

    A forward pass independent of the LPs that found the regions: layer 0's pre-activations are computed from
    the witness ``u`` through the domain's map (``W0 (x0 + Q u) + b0``, folded to ``(W0 Q) u + (W0 x0 + b0)`` so
    that a 784-input slice costs ``k`` multiply-adds per piece, not 784), the later layers as in
    :meth:`Network.forward`, ties to the lowest piece. Where its pattern differs from the region's, the same pass
    with a rigorous bound on its own rounding (:mod:`relutope._rigorous`) decides: a region fails only when its
    witness provably has another pattern (some piece beats the stored one by more than both pieces' rounding
    bounds). Pieces that tie within rounding (e.g. two saturated clamps under a max-pool: equal constants up to
    the rounding of the lowered biases) are not a failure. Chunks of rows keep memory near ``budget`` floats. The
    plain pass runs in the core (``_core.witnesses_agree``: GIL released, ``threads`` workers, default every core,
    no BLAS threads).
    """
    from . import _core
    from ._rigorous import pattern_bounds
    from ._threads import resolve_threads

    net, form, centers = part.network, part.domain._engine_form(), part._centers
    R = len(part)
    ok = np.ones(R, dtype=bool)
    if R == 0:
        return ok
    threads = resolve_threads(threads)
    chunk = max(1, budget // max(centers.shape[1], 1))
    packed = part._packed
    for a in range(0, R, chunk):
        good = _core.witnesses_agree(net._core(), form.x0, form.Q, centers[a:a + chunk], packed[a:a + chunk],
                                     threads).astype(bool)
        odd = np.nonzero(~good)[0]
        if odd.size:  # a disagreement: is it a tie within rounding, or provably another pattern?
            patterns = _core.unpack_patterns(net._core(), packed[a + odd])
            _, wrong = pattern_bounds(net, form.x0, form.Q, centers[a + odd], patterns)
            good[odd] = ~wrong
        ok[a:a + chunk] = good
    return ok


def _reverse_rings(offsets: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Reverse the vertex order of every polygon of a CSR array (offsets (R+1,), vertices (V, 2))."""
    idx = np.arange(vertices.shape[0])
    region = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    return vertices[offsets[region] + offsets[region + 1] - 1 - idx]
