"""Exact enumeration of activation regions: :func:`enumerate_regions`."""
from __future__ import annotations

import numbers
from typing import Optional

import numpy as np

from .domains import Domain
from .errors import NumericalError
from .network import Network
from .partition import Partition

__all__ = ["enumerate_regions", "default_tol"]

#: Relative default tolerance: ``tol = DEFAULT_RELATIVE_TOL * domain scale``.
DEFAULT_RELATIVE_TOL = 1e-9


def default_tol(domain: Domain) -> float:
    """The default ``tol`` of :func:`enumerate_regions` for a domain.

    ``1e-9`` times the domain's characteristic length: the largest half-width of a :class:`~relutope.Box`'s free
    coordinates, the Chebyshev radius of a :class:`~relutope.Polytope`, 1 for :class:`~relutope.WholeSpace`, and
    for a :class:`~relutope.Slice` the inner domain's length times the basis' spectral norm.
    """
    return DEFAULT_RELATIVE_TOL * max(domain._default_scale(), 1e-300)


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
                 radius_cap: float = 1.0, extra: tuple = ()):
    """Validate the common arguments, run a core enumeration ``fn`` (GIL released, with progress and Ctrl-C
    handling) and return its result dict (with the ``tol`` used) and the domain's engine form."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a relutope.Network, got {type(net).__name__}")
    if not isinstance(domain, Domain):
        raise TypeError(f"domain must be a relutope Domain (Box, Polytope, WholeSpace, Slice), "
                        f"got {type(domain).__name__}")
    if domain.dim != net.in_dim:
        raise ValueError(f"domain has dimension {domain.dim} but the network takes {net.in_dim} inputs")
    tol = default_tol(domain) if tol is None else float(_check_positive(tol, "tol"))
    _check_positive(max_regions, "max_regions", integer=True)
    _check_positive(time_limit, "time_limit")
    _check_positive(radius_cap, "radius_cap")
    if domain.bounded:
        radius_cap = 2.0 * domain._default_scale() + 10.0 * tol
    if radius_cap <= tol:
        raise ValueError(f"radius_cap ({radius_cap}) must exceed tol ({tol})")

    form = domain._engine_form()
    u0 = form.R @ domain._center()
    bar = None
    callback = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="regions", unit=" regions", total=max_regions)

        def callback(regions: int) -> bool:
            bar.update(regions - bar.n)
            return True

    checkpoint_every = 4096 if progress else 16384
    try:
        out = fn(net._core(), form.x0, form.Q, form.A, form.b, u0, tol, float(radius_cap),
                 -1 if max_regions is None else int(max_regions), -1.0 if time_limit is None else float(time_limit),
                 checkpoint_every, callback, *extra)
        if bar is not None:
            bar.update(int(out["leaves"]) - bar.n)
    finally:
        if bar is not None:
            bar.close()
    if out["status"] == "numerical":
        raise NumericalError(f"the LP solver broke down: {out['message']} (after {out['leaves']} regions)")
    out["tol"] = tol
    return out, form


def enumerate_regions(net: Network, domain: Domain, *, tol: Optional[float] = None,
                      max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                      progress: bool = False, radius_cap: float = 1.0) -> Partition:
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
        boundaries in double precision. Default: :func:`default_tol` (``1e-9`` times the domain's size).
    max_regions : int, optional
        Stop after this many regions; the partition is then marked incomplete (``status="max_regions"``).
    time_limit : float, optional
        Stop after about this many seconds (``status="time_limit"``).
    progress : bool, optional
        Show a tqdm bar counting regions (updated every few thousand regions).
    radius_cap : float, optional
        For unbounded domains (:class:`~relutope.WholeSpace`, or a slice of it) the Chebyshev radius of an
        unbounded region is infinite: radii and witnesses are computed with the radius capped at this value.

    Returns
    -------
    Partition
        The regions with their patterns, witnesses and radii. ``partition.complete`` is False when a limit or
        Ctrl-C (``status="interrupted"``) stopped the run early; the regions found so far are all exact.

    Raises
    ------
    TypeError
        When ``net`` or ``domain`` has the wrong type, or a number is not a number.
    ValueError
        When the domain's dimension is not ``net.in_dim`` or ``tol``, ``max_regions``, ``time_limit`` or
        ``radius_cap`` is out of range.
    NumericalError
        When the LP solver breaks down (never observed on valid input; please report it).

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

    Examples
    --------
    >>> import relutope
    >>> net = relutope.Network.random([2, 8, 1], seed=0)
    >>> part = relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1]))
    >>> len(part) > 1, part.complete
    (True, True)
    """
    from . import _core

    out, _ = _engine_call(_core.enumerate_regions, net, domain, tol=tol, max_regions=max_regions,
                          time_limit=time_limit, progress=progress, radius_cap=radius_cap)
    tol = out["tol"]
    return Partition(net, domain, out["patterns"], out["centers"], out["radii"], out["layer_counts"],
                     status=out["status"], tol=tol, lps=int(out["lps"]), lp_iterations=int(out["lp_iterations"]),
                     seconds=float(out["seconds"]))
