"""Exact verification on the activation partition: output bounds, properties, Lipschitz constants.

On each activation region the network is one affine map, so questions about the network over a domain become
one small LP per region (Balestriero & Baraniuk, ICML 2018; the exact-verification view of Katz et al.,
"Reluplex", CAV 2017, and of the VNN-COMP tools). The enumeration runs in the compiled core with a visitor that
answers the question region by region; before a layer is inserted into a cell, linear relaxation bounds of the
remaining layers over the cell (CROWN, Zhang et al., NeurIPS 2018; DeepPoly, Singh et al., POPL 2019; minimised
over the cell by one LP per objective) may prove that no region of the cell can change the answer, and the cell
is pruned without being enumerated. :func:`verify` also searches for counterexamples first (sampling and
projected gradient descent) and splits low-dimensional input boxes (branch and bound on the inputs) before the
exact enumeration.

No cell is skipped for being thin: where the enumeration would discard a cell whose inradius is at most ``tol``
(a sliver between nearly parallel hyperplanes, where the output can still spike), the cell goes to the visitor,
which bounds the question over the cell's closure by the same relaxation (over the thin cell itself); what that
cannot settle is enumerated inside the cell with ``tol / 1000``, down to :func:`relutope.min_tol`; a cell still
unsettled there makes :func:`verify` answer ``unknown`` (never ``holds``) and widens :func:`output_bounds` to the
relaxation's bound (``OutputBounds.widened``).
"""
from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from .domains import Box, Domain
from ._checks import check_bool, check_network, check_real, check_seed
from ._search import check_property as _check_property, check_split_options, falsify as _falsify, \
    split_case as _split_case
from . import _search
from ._threads import resolve_threads
from .enumerate import _engine_call, enumerate_regions
from .errors import NumericalError
from .network import Network, _as_float_array
from .partition import Partition

__all__ = ["OutputBounds", "VerificationResult", "LipschitzResult", "AdversarialResult", "output_bounds", "verify",
           "lipschitz", "min_adversarial"]


@dataclass
class OutputBounds:
    """Exact bounds of linear functions ``C y + d`` of the network's output over a domain.

    Attributes
    ----------
    lower, upper : ndarray, shape (q,), float64
        The minimum and maximum of every row; ``-inf`` / ``inf`` when the row is unbounded (only on an unbounded
        domain: a :class:`~relutope.WholeSpace` or a :class:`~relutope.Slice` of one).
    argmin, argmax : ndarray, shape (q, n_inputs), float64
        Inputs at which they are attained (``C net(argmax[i]) + d`` equals ``upper[i]`` up to rounding). For an
        unbounded row, a point of an unbounded region (its Chebyshev centre) from which :attr:`ray_max` or
        :attr:`ray_min` leads.
    ray_min, ray_max : ndarray, shape (q, n_inputs), float64
        Zero for bounded rows. Where ``upper[i] == inf``, a direction (max-norm 1 in domain coordinates) such that
        ``argmax[i] + t * ray_max[i]`` stays in one region of the domain for every ``t >= 0`` and
        ``C net(.) + d`` grows along it without bound (linearly in ``t``); likewise ``ray_min`` for
        ``lower[i] == -inf``.
    complete : bool
        False when a limit stopped the run: the bounds then hold over the regions visited only.
    status : str
    regions : int
        Regions visited (each cost two LPs per row).
    pruned : int
        Cells discarded because relaxation bounds proved they could not improve any bound.
    seconds : float
    thin : int
        Cells thinner than ``tol`` met by the enumeration, each bounded by the relaxation over it or enumerated
        inside with a smaller ``tol`` (see the module docstring).
    widened : int
        Thin cells settled neither way down to :func:`relutope.min_tol`: the bounds were widened to the
        relaxation's bounds over them, so they contain the true range but need not be attained there
        (``argmax``/``argmin`` is then the cell's centre).
    hinted : int
        Units of the cells that the relaxation's bounds proved stable, so the enumeration decided them without
        their LP (``CellRelaxation::stable_sides`` in the core), summed over the cells.
    certificate : relutope.bound_certificates.OutputBoundsCertificate or None
        With ``certify=True``: the proven intervals ``[max_lower, max_upper]`` and ``[min_lower, min_upper]``
        holding the exact maximum and minimum (``upper`` and ``lower`` are then the proven outer ends).
    """

    lower: np.ndarray
    upper: np.ndarray
    argmin: np.ndarray
    argmax: np.ndarray
    complete: bool
    status: str
    regions: int
    pruned: int
    seconds: float
    ray_min: Optional[np.ndarray] = None
    ray_max: Optional[np.ndarray] = None
    thin: int = 0
    widened: int = 0
    hinted: int = 0
    certificate: Optional[object] = None

    def _repr_html_(self) -> str:
        from ._html import result_html

        return result_html(self)


@dataclass
class VerificationResult:
    """The verdict on a property.

    Attributes
    ----------
    status : {"holds", "violated", "unknown"}
        ``holds``: no input of the property's boxes has an output in its unsafe set; ``violated``: the
        counterexample does; ``unknown``: a limit stopped the search first. The VNN-COMP words are ``unsat``
        (holds) and ``sat`` (violated), see :attr:`vnncomp`.
    counterexample : ndarray, shape (n_inputs,) or None
        An input in the unsafe set, re-checked by a forward pass.
    output : ndarray, shape (n_outputs,) or None
        ``net(counterexample)``.
    case, term : int or None
        Which case (input box) and term (output polytope) of the property the counterexample satisfies.
    regions, pruned : int
        Regions examined and cells pruned, over all cases.
    seconds : float
    cases : list of dict
        Per-case statistics: ``status`` (the case's verdict; when the exact enumeration stopped early, the
        core's status instead: ``"time_limit"``, ``"numerical"``, ...), ``seconds``, ``regions``, ``pruned``,
        ``boxes`` (input boxes bounded by the input splitting), ``open_boxes`` (boxes it left to the exact
        enumeration), ``parent_pruned`` (the cells of ``pruned`` pruned by their parent cell's relaxation bounds,
        without the LPs of their own box), ``hinted`` (units the cells' relaxation bounds proved stable, decided
        without their LP), ``proven`` (the case's fraction below) and ``found_by`` for the case
        with the counterexample (``"search"``: the counterexample search, before the splitting or in its restarts
        from the box's faces between open boxes; ``"split"``: the input splitting; ``"enumeration"``).
    proven : float
        The fraction of the property's input volume proven safe, in [0, 1] (the mean over cases of the volume
        of each case's box proven safe, over its inputs of positive width): 1 when the property holds, what was
        proven before the limit when it is ``unknown``. Without input splitting (domains of more than
        ``split_max_dims`` free inputs) a case counts 0 until its enumeration is complete.
    certificate : relutope.verdict_certificates.VerdictCertificate or None
        With ``certify=True``: the proof of the verdict, checked in exact / rigorously rounded arithmetic.
    """

    status: str
    counterexample: Optional[np.ndarray] = None
    output: Optional[np.ndarray] = None
    case: Optional[int] = None
    term: Optional[int] = None
    regions: int = 0
    pruned: int = 0
    seconds: float = 0.0
    cases: List[dict] = field(default_factory=list)
    proven: float = 0.0
    certificate: Optional[object] = None

    @property
    def vnncomp(self) -> str:
        """The VNN-COMP result word: ``unsat`` (holds), ``sat`` (violated) or ``unknown``."""
        return {"holds": "unsat", "violated": "sat"}.get(self.status, "unknown")

    def _repr_html_(self) -> str:
        from ._html import result_html

        return result_html(self)


@dataclass
class LipschitzResult:
    """The exact local Lipschitz constant of a network over a partition's domain.

    Attributes
    ----------
    value : float
        ``max_Q ||A_Q||_{p->q}`` over the activation regions.
    region : int
        Index of the maximising region in the partition.
    p, q : float
        The norms of the input and output spaces.
    direction : ndarray, shape (n_inputs,)
        A unit-p-norm input direction (within the domain's affine hull) attaining the norm on that region.
    """

    value: float
    region: int
    p: float
    q: float
    direction: np.ndarray

    def _repr_html_(self) -> str:
        from ._html import result_html

        return result_html(self)


def _linear_objectives(net: Network, C, d) -> Tuple[np.ndarray, np.ndarray]:
    check_network(net)
    if C is None:
        C = np.eye(net.out_dim)
    C = _as_float_array(C, "C", 2, promote=True)
    if C.shape[1] != net.out_dim:
        raise ValueError(f"C must have {net.out_dim} columns (one per output), got shape {C.shape}")
    d = np.zeros(C.shape[0]) if d is None else _as_float_array(d, "d", 1, promote=True)
    if d.shape != (C.shape[0],):
        raise ValueError(f"d must have shape ({C.shape[0]},), got {d.shape}")
    return C, d


def output_bounds(net: Network, domain: Domain, C=None, d=None, *, prune: bool = True, tol: Optional[float] = None,
                  max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                  progress: bool = False, threads: Optional[int] = 1, certify: bool = False,
                  client=None) -> OutputBounds:
    """The exact minimum and maximum of every output (or of linear functions of the outputs) over a domain.

    Parameters
    ----------
    net : Network
    domain : Domain
    C : array_like, shape (q, n_outputs), optional
        Rows of linear functions ``C y + d`` to bound; default: the identity (every output).
    d : array_like, shape (q,), optional
        Offsets; default zero.
    prune : bool, optional
        Skip cells whose linear relaxation bounds (CROWN / DeepPoly back-substitution over the cell's bounding
        box, then one LP over the cell per bound) prove that they cannot improve any bound (branch and bound).
        The result is the same.
    tol, max_regions, time_limit, progress
        As in :func:`relutope.enumerate_regions`.
    threads : int, optional
        Worker threads (``None``: every core). The bounds are the same with any number; on ties, which input
        attaining a bound is returned (and, with ``prune``, how many cells are pruned) may depend on timing.
    certify : bool, optional
        Prove the bounds in exact arithmetic (:func:`relutope.bound_certificates.certify_output_bounds`): a
        certified enumeration (no pruning), every region's bound proven by its LP's multipliers checked exactly,
        the thin cells it discards bounded rigorously, and the attained values by exact forward passes at exact
        inputs. ``upper`` is then a proven upper bound of the exact maximum and ``certificate.max_lower`` a value
        attained (likewise ``lower`` and ``certificate.min_upper``); an incomplete run keeps both proven, from a
        rigorous bound over the domain. Needs python-flint and a domain ``enumerate_regions(..., certify=True)``
        accepts; costs exact arithmetic per region (small networks).
    client : dask.distributed.Client, optional
        Run on a Dask cluster (:func:`relutope.distributed.output_bounds_distributed`): the domain split into
        cells of the first layer, one task per chunk of cells. The same bounds; not with ``certify``,
        ``max_regions`` or ``progress``.

    Returns
    -------
    OutputBounds
        ``complete`` is False when a limit or an LP breakdown that the core could not repair
        (``status="numerical"``) stopped the run: the bounds then hold over the regions visited only (with
        ``certify=True``: they stay proven over the whole domain, see ``certificate``).

    Raises
    ------
    TypeError, ValueError
        On bad arguments (see :func:`relutope.enumerate_regions`) or a ``C``/``d`` of the wrong shape; with
        ``certify=True``, a domain that cannot be certified (unbounded, or a slice whose basis is not exactly
        orthonormal), or ``certify`` not a bool.
    NumericalError
        When the certificate of an unbounded row does not check out (see Notes).

    Notes
    -----
    On region ``Q`` the output is ``A_Q x + b_Q``, so ``max C_i y`` over the region is an LP, solved from the
    region's Chebyshev basis by a primal simplex. The maximum over the domain is the maximum over regions.

    On an unbounded domain a region may be unbounded and the LP with it: the row's bound is then infinite, and
    the engine returns a recession direction ``v`` of the region with ``C_i A_Q v > 0`` (an LP over the region's
    recession cone). Before it is returned, the certificate is checked here independently of the engine: the
    region is the one of the pattern at ``argmax[i]``, every row ``G x <= h`` of its H-representation
    (:meth:`Region.halfspaces`, all units included) has ``G v <= 0`` (so the ray stays in the region), and the
    slope ``C_i A_Q v`` of the region's affine map along it is positive.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)),
    ...                                      (np.array([[1.0, 1.0]]), np.zeros(1))])   # |x|
    >>> b = relutope.output_bounds(net, relutope.Box([-2.0], [1.0]))
    >>> float(b.lower[0]), float(b.upper[0])
    (0.0, 2.0)
    """
    from . import _core

    C, d = _linear_objectives(net, C, d)
    check_bool(certify, "certify")
    check_bool(prune, "prune")
    if client is not None:  # the Dask path
        if certify or max_regions is not None or progress:
            raise ValueError("client: output_bounds on a Dask cluster takes no certify, max_regions or progress")
        from .distributed import output_bounds_distributed

        return output_bounds_distributed(net, domain, client, C, d, prune=prune, tol=tol, threads=threads,
                                         time_limit=time_limit)
    if certify:
        from .bound_certificates import certify_output_bounds

        cert = certify_output_bounds(net, domain, C, d, tol=tol, max_regions=max_regions, time_limit=time_limit,
                                     threads=threads)
        part = cert.partition
        as_float = lambda xs: np.array([[float(v) for v in x] if x is not None else [np.nan] * net.in_dim  # noqa: E731
                                        for x in xs]).reshape(C.shape[0], net.in_dim)
        zero = np.zeros((C.shape[0], net.in_dim))
        return OutputBounds(lower=cert.min_lower, upper=cert.max_upper, argmin=as_float(cert.argmin_exact),
                            argmax=as_float(cert.argmax_exact), complete=part.complete and cert.ok,
                            status=part.status, regions=len(part), pruned=0, seconds=part.seconds + cert.seconds,
                            ray_min=zero, ray_max=zero.copy(), thin=cert.enumeration.n_thin, certificate=cert)
    out, form = _engine_call(_core.output_bounds, net, domain, tol=tol, max_regions=max_regions,
                             time_limit=time_limit, progress=progress,
                             extra=(C, d, bool(prune), False), threads=resolve_threads(threads), thin=True)
    if out["status"] == "complete" and int(out["thin_open"]) > 0:  # a thin cell left unbounded (an LP failure)
        out["status"] = "numerical"
    to_x = lambda u: form.x0 + u @ form.Q.T  # noqa: E731
    bounds = OutputBounds(lower=out["min"], upper=out["max"], argmin=to_x(out["argmin"]),
                          argmax=to_x(out["argmax"]), complete=out["status"] == "complete", status=out["status"],
                          regions=int(out["leaves"]), pruned=int(out["pruned"]), seconds=float(out["seconds"]),
                          ray_min=out["ray_min"] @ form.Q.T, ray_max=out["ray_max"] @ form.Q.T,
                          thin=int(out["thin"]), widened=int(out["widened"]), hinted=int(out["hinted"]))
    for i in range(C.shape[0]):
        if bounds.upper[i] == np.inf:
            _check_unbounded_ray(net, C[i], bounds.argmax[i], bounds.ray_max[i], f"the maximum of row {i}")
        if bounds.lower[i] == -np.inf:
            _check_unbounded_ray(net, -C[i], bounds.argmin[i], bounds.ray_min[i], f"the minimum of row {i}")
    return bounds


def _check_unbounded_ray(net: Network, c: np.ndarray, x: np.ndarray, v: np.ndarray, what: str) -> None:
    """Check that ``x + t v`` (t >= 0) stays in the activation region of ``x`` and ``c . net`` grows along it.

    Raises NumericalError naming ``what`` when the engine's certificate of an unbounded row fails."""
    from . import _core
    from .errors import NumericalError

    pattern = net.activation_pattern(x[None, :])[0]
    G, _ = _core.region_halfspaces(net._core(), np.ascontiguousarray(pattern))
    A, _ = net.local_affine_map(pattern)
    scale = float(np.linalg.norm(v))
    in_cone = bool(np.all(G @ v <= 1e-9 * np.linalg.norm(G, axis=1) * scale)) and scale > 0
    slope = float(c @ (A @ v))
    if not (in_cone and slope > 1e-9 * float(np.linalg.norm(c @ A)) * scale):
        raise NumericalError(f"{what} was reported unbounded, but the direction {v.tolist()} from {x.tolist()} "
                             f"{'leaves the region' if not in_cone else 'does not increase it'} (slope {slope:.3g})")


def _box_volume(lo: np.ndarray, hi: np.ndarray, free: np.ndarray) -> float:
    return float(np.prod((hi - lo)[free])) if free.any() else 1.0


def verify(net: Network, spec, *, timeout: Optional[float] = None, prune: bool = True,
           tol: Optional[float] = None, atol: float = 1e-6, search: bool = True, split_max_dims: int = 8,
           split_depth: Optional[int] = None, split_boxes: int = 1024, seed: int = 0,
           threads: Optional[int] = 1, split_candidates: Optional[int] = None,
           certify: bool = False, client=None) -> VerificationResult:
    """Decide a safety property exactly: find an input in the unsafe set, or prove there is none.

    Parameters
    ----------
    net : Network
    spec : relutope.vnnlib.Property, str or os.PathLike
        The property, or the path of a VNN-LIB file (read with :func:`relutope.vnnlib.load`). It describes the
        UNSAFE set: inputs in a case's box whose output satisfies ``C y <= d`` for one of the case's terms.
    timeout : float, optional
        Seconds for the whole property; past it the status is ``unknown`` (honoured to a fraction of a second:
        the core's LPs watch the clock).
    prune : bool, optional
        Use the linear relaxation bounds: input splitting, and pruning of the enumeration's cells (the verdict is
        the same; False enumerates every region).
    tol : float, optional
        As in :func:`relutope.enumerate_regions`.
    atol : float, optional
        Tolerance of the forward-pass re-check of a counterexample (``C net(x) <= d + atol``).
    search : bool, optional
        Look for a counterexample by sampling and projected gradient descent before the input splitting and
        before the exact enumeration, and by random restarts on the faces of the case's box before and during
        the exact enumeration (see Notes).
    split_max_dims : int, optional
        Split the input box (branch and bound on the inputs) when it has at most this many free inputs.
    split_depth : int, optional
        Halvings of a box before it is handed to the exact enumeration; default ``8 * free inputs``.
    split_boxes : int, optional
        Boxes the input splitting bounds before it hands every open box to the exact enumeration (sooner when it
        closes volume too slowly, see Notes).
    seed : None, int >= 0 or numpy.random.Generator, optional
        Seed of the counterexample search's samples (a TypeError or ValueError naming ``seed`` for anything else).
    threads : int, optional
        Worker threads of the exact enumeration (``None``: every core). The verdict is the same with any number;
        with ``threads > 1`` which counterexample is found first may depend on timing.
    split_candidates : int, optional
        Inputs tried per split of the input splitting: 1 halves the input of largest score (see Notes); ``c > 1``
        bounds both halves along each of the ``c`` inputs of largest score and keeps the split whose worse half comes
        nearest to being refuted (strong branching). Default: 3 (at most the free inputs) for networks with
        units of more than two pieces (max-pooling, two-level lattices), where it closes boxes in several times
        fewer bounds; 1 for ReLU networks, where the score alone is about as good
        (``bench/bench_split_branching.py``).
    certify : bool, optional
        Prove the verdict (:mod:`relutope.verdict_certificates`): ``violated`` by an exact rational counterexample
        whose exact forward pass lands in the exact unsafe set (the VNN-LIB constants as the decimals written),
        ``holds`` by input boxes bounded with rigorous rounding and regions bounded by exact LP duals. The engine's
        relaxation pruning is not trusted: the certificate re-bounds every piece itself. The proof is in
        :attr:`VerificationResult.certificate`; a verdict whose proof fails becomes ``unknown``. The timeout
        covers the certification too.
    client : dask.distributed.Client, optional
        Run on a Dask cluster (:func:`relutope.distributed.verify_distributed`, ``pip install
        "relutope[distributed]"``): the counterexample search and the input splitting on the client, the exact
        enumeration of the boxes left open split into cells of the first layer and run as tasks. The verdict is
        the same; the statistics in ``cases`` are the distributed run's (see there).

    Returns
    -------
    VerificationResult
        ``unknown`` when the timeout or an LP breakdown that the core could not repair stopped the search before a
        verdict (a counterexample found before it still gives ``violated``: it is re-checked by a forward pass);
        :attr:`VerificationResult.proven` then says how much of the input volume was proven safe.

    Raises
    ------
    TypeError, ValueError
        When ``spec`` is not a property or path, or its input/output sizes do not match the network, or an
        option is out of range.

    Notes
    -----
    Per case (input box): first a counterexample search (:func:`_falsify`: the box's vertices and edge midpoints,
    samples, then projected gradient descent; every point checked by a forward pass), a short one (64 samples,
    two 20-step descents) when the box is split next and the full one (256 samples, eight 40-step descents)
    before the exact enumeration of what the splitting leaves open (or of the whole box without splitting). ACAS
    Xu network 1_9, property 7 has its counterexample next to an edge of the box (four of five inputs at bounds,
    the violation nearly flat elsewhere): it is found from an edge midpoint in about a millisecond. Then, for
    boxes with at most ``split_max_dims`` free inputs, branch and bound on the input box in the core: each box
    gets CROWN / DeepPoly linear relaxation bounds (Zhang et al., NeurIPS 2018; Singh et al., POPL 2019) and one
    LP deciding whether they allow a term, and where they do, once more with each unstable ReLU's lower slope
    set by its state at the LP's minimiser (any slope in [0, 1] is valid: Zhang et al., section 3.2); the LP's
    minimiser and the box's centre are candidate counterexamples, and with ``search`` 20-step descents (as in
    :func:`_falsify`) start from the minimiser and the centre inside the box while boxes are taken best first (the
    first half of the budget), in boxes whose bound lies further below 0 than the violation at its minimiser lies
    above it (``_search.SPLIT_ATTACK_GAP``); boxes not refuted
    are halved along the input of largest score: the bounds' slope times width (ReluVal's smear, Wang et al.,
    USENIX Security 2018) plus the relaxation's looseness by input (the gaps of the unstable ReLUs the bound pays
    for, as BaBSR scores ReLUs: Bunel et al., JMLR 2020, shared among the inputs by their parts of each ReLU's
    range), each as a fraction of its sum; or with
    ``split_candidates > 1`` along the best of several inputs by the bounds of their halves (strong branching, as
    FSB branches on ReLUs: De Palma et al., 2021), up to ``split_depth`` halvings. From 256 boxes on, the
    splitting stops early when the volume it closes per box would not close the case within ``split_boxes``, and
    what it leaves open is merged: a box of its tree whose refuted part is at most a quarter of it is handed to
    the enumeration whole (the enumeration of a few large boxes costs less than that of many small ones, each of
    which bounds its root cell afresh; see ``relutope._search``). When boxes are left open (or there was no
    splitting), ``search`` runs random restarts of short descents from points of the case box's faces (each input
    at a bound with probability 2/3: see :func:`_falsify`) for 10% of the case's time so far before the first
    open box (when that is at least 0.01 s), and for 3% of the enumeration's time before each later one. What is
    left is decided exactly: the activation regions of the box are enumerated depth first, cells whose
    relaxation bounds refute every term being pruned (and their relaxation's minimiser checked as a candidate);
    the units a cell's bounds prove stable are decided without their LP. A cell's bounds of the units its bounding box leaves unstable
    are tightened by one LP over the cell per side, layer by layer (as planet's LP bounds: Ehlers, ATVA 2017),
    before the layers after them are relaxed. On each region the network
    is ``A_Q x + b_Q`` and a term ``C y <= d`` is the polytope ``C A_Q x <= d - C b_Q``; one Chebyshev LP of
    region and term decides whether they meet, and its centre is the counterexample (interior to both when they
    overlap in a full-dimensional set).
    """
    from . import _core

    spec = _check_property(net, spec, timeout)
    check_bool(prune, "prune")
    check_split_options(split_max_dims, split_depth, split_boxes, split_candidates)
    if client is not None:  # the Dask path: the same search and splitting, the exact enumeration on the cluster
        from .distributed import verify_distributed

        return verify_distributed(net, spec, client, timeout=timeout, prune=prune, tol=tol, atol=atol, search=search,
                                  seed=seed, threads=threads, split_max_dims=split_max_dims, split_depth=split_depth,
                                  split_boxes=split_boxes, split_candidates=split_candidates, certify=certify)
    n_threads = resolve_threads(threads)  # once, not per open box (and checked even when no box is left open)
    start = time.perf_counter()
    rng = np.random.default_rng(check_seed(seed))
    result = VerificationResult(status="holds")
    fractions = []

    def remaining():
        return None if timeout is None else timeout - (time.perf_counter() - start)

    def accept(x, ci, ti, stats, how):
        y = net(x[None, :])[0]
        C, d = terms[ti]
        if np.all(C @ y <= d + atol * (1 + np.abs(d))):
            result.status = "violated"
            result.counterexample, result.output = x, y
            result.case, result.term = ci, ti
            stats["found_by"] = how
            return True
        return False

    def accept_found(x, ci, stats):
        """accept() for a point of the counterexample search (None: nothing found), with its best term."""
        if x is None:
            return False
        ti = int(np.argmin([np.max(C @ net(x[None, :])[0] - d) if C.shape[0] else -np.inf for C, d in terms]))
        return accept(x, ci, ti, stats, "search")

    for ci, case in enumerate(spec.cases):
        t_case = time.perf_counter()
        stats = {"case": ci, "regions": 0, "pruned": 0, "boxes": 0, "open_boxes": 0, "proven": 0.0}
        result.cases.append(stats)
        terms = [(np.atleast_2d(np.asarray(C, dtype=np.float64)).reshape(-1, net.out_dim),
                  np.atleast_1d(np.asarray(d, dtype=np.float64))) for C, d in case.terms]
        lo, hi = np.asarray(case.box_lo, dtype=np.float64), np.asarray(case.box_hi, dtype=np.float64)
        free = hi > lo
        left = remaining()
        if left is not None and left <= 0:
            result.status = stats["status"] = "unknown"
            break
        splits = prune and int(free.sum()) <= split_max_dims
        if search and terms and splits:
            # A short search first (64 samples, two 20-step descents: about a millisecond on ACAS Xu), then the
            # input splitting, whose boxes' relaxation bounds close most properties that hold in milliseconds;
            # the full search only when it leaves boxes open.
            if accept_found(_falsify(net, lo, hi, terms, rng, samples=64, starts=2, steps=20, time_limit=left),
                            ci, stats):
                stats["status"] = "violated"
                break
        boxes = [(lo, hi)]
        closed = 0.0
        if splits:
            out = _split_case(net, lo, hi, terms, split_depth, split_boxes, remaining(), split_candidates, search)
            stats["boxes"] = int(out["boxes"])
            closed = float(out["closed_fraction"])
            if out["status"] == 1:
                if accept(out["counterexample"], ci, int(out["term"]), stats, "split"):
                    stats["status"] = "violated"
                    stats["proven"] = closed
                    break
                result.status = stats["status"] = "unknown"  # the point failed the forward-pass re-check
                break
            if out["status"] == 3:
                result.status = stats["status"] = "unknown"
                stats["proven"] = closed
                fractions.append(closed)
                break
            order = np.argsort(out["open_score"], kind="stable")  # likeliest unsafe first
            boxes = [(out["open_lo"][i], out["open_hi"][i]) for i in order]
            stats["open_boxes"] = len(boxes)
        if search and terms and boxes:  # the full search: open boxes after the splitting, or no splitting
            left = remaining()
            if accept_found(_falsify(net, lo, hi, terms, rng, time_limit=left), ci, stats):
                stats["status"] = "violated"
                stats["proven"] = closed
                break
        total = _box_volume(lo, hi, free)
        status, stopped = "holds", None
        searched = first_search = 0.0  # seconds of restart search in this case (all; before the first box)
        t_enum = time.perf_counter()
        for bi, (blo, bhi) in enumerate(boxes):
            left = remaining()
            if left is not None and left <= 0:
                status = "unknown"
                break
            if search and terms:
                # Counterexample search during the exact enumeration: random restarts on the faces of the case's
                # box (see _falsify), before the first box 10% of the case's time so far, then 3% of the
                # enumeration's time.
                if bi == 0:
                    budget = max(0.1 * (t_enum - t_case), _search.RESTART_FLOOR)
                else:
                    budget = 0.03 * (time.perf_counter() - t_enum) - (searched - first_search)
                if left is not None:
                    budget = min(budget, left)
                if budget >= 0.01:
                    t_search = time.perf_counter()
                    x = _falsify(net, lo, hi, terms, rng, samples=0, starts=0, steps=3, time_limit=budget,
                                 restarts=2 ** 62, faces=-1)
                    searched += time.perf_counter() - t_search
                    first_search = searched if bi == 0 else first_search
                    if accept_found(x, ci, stats):
                        status = "violated"
                        break
                    left = remaining()
            out, form = _engine_call(_core.verify, net, Box(blo, bhi), tol=tol, max_regions=None,
                                     time_limit=left, progress=False, extra=(terms, bool(prune), True, False),
                                     deadline=None if timeout is None else start + timeout,
                                     threads=n_threads, thin=True)
            stats["regions"] += int(out["leaves"])
            stats["thin"] = stats.get("thin", 0) + int(out["thin"])
            stats["pruned"] += int(out["pruned"])
            stats["parent_pruned"] = stats.get("parent_pruned", 0) + int(out["parent_pruned"])
            stats["hinted"] = stats.get("hinted", 0) + int(out["hinted"])
            if out["violated"]:
                x = form.x0 + form.Q @ out["counterexample"]
                status = "violated" if accept(x, ci, int(out["term"]), stats, "enumeration") else "unknown"
                break
            if out["status"] != "complete":
                status, stopped = "unknown", out["status"]
                break
            if int(out["thin_open"]) > 0:  # a thin cell neither refuted nor resolvable down to min_tol
                status, stopped = "unknown", "thin_open"
                break
            closed += _box_volume(blo, bhi, free) / total
        result.regions += stats["regions"]
        result.pruned += stats["pruned"]
        stats["seconds"] = time.perf_counter() - t_case
        stats["status"] = stopped if status == "unknown" and stopped else status
        if status == "holds":
            closed = 1.0
        stats["proven"] = min(closed, 1.0)
        fractions.append(stats["proven"])
        if status != "holds":
            result.status = status
            break
    if result.status == "holds":
        result.proven = 1.0
    elif result.status == "unknown":
        result.proven = float(np.sum(fractions) / max(len(spec.cases), 1))
    if certify and result.status in ("holds", "violated"):
        from .verdict_certificates import certify_verdict

        result.certificate = certify_verdict(net, spec, result, time_limit=remaining(), tol=tol)
        if not result.certificate.ok:
            result.status = "unknown"
    result.seconds = time.perf_counter() - start
    return result


def _induced_norm(A: np.ndarray, p: float, q: float) -> Tuple[float, np.ndarray]:
    """||A||_{p->q} and a unit-p-norm maximiser, for the computable cases."""
    if p == 2 and q == 2:
        _, s, vt = np.linalg.svd(A)
        return float(s[0]), vt[0]
    if p == 1:  # max column q-norm, attained at a basis vector
        cols = np.linalg.norm(A, ord=q, axis=0)
        j = int(np.argmax(cols))
        v = np.zeros(A.shape[1])
        v[j] = 1.0
        return float(cols[j]), v
    if q == np.inf:  # max row dual-norm, attained at the dual vector of that row
        pd = np.inf if p == 1 else (1.0 if p == np.inf else p / (p - 1.0))
        rows = np.linalg.norm(A, ord=pd, axis=1)
        i = int(np.argmax(rows))
        a = A[i]
        if p == np.inf:
            v = np.sign(a)
        else:
            v = np.sign(a) * np.abs(a) ** (pd - 1.0)
            n = np.linalg.norm(v, ord=p)
            v = v / n if n > 0 else v
        return float(rows[i]), v
    raise ValueError(f"||A||_(p->q) is computable exactly for p = 1, q = inf, or p = q = 2; got p={p}, q={q}")


def _norm_order(value, name: str) -> float:
    """A norm's order ``value`` (a real number or ``numpy.inf``, not a bool or a str) as a float; TypeError naming
    ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number (1, 2 or numpy.inf), got {type(value).__name__}")
    return float(value)


def lipschitz(partition: Partition, p: float = 2, q: float = 2) -> LipschitzResult:
    """The exact local Lipschitz constant of the network over the partition's domain.

    Parameters
    ----------
    partition : Partition
        A complete partition (from :func:`relutope.enumerate_regions`).
    p, q : float
        Norms of the input and output spaces: ``p = 1`` (any q), ``q = inf`` (any p), or ``p = q = 2``.

    Returns
    -------
    LipschitzResult

    Raises
    ------
    TypeError
        When ``partition`` is not a Partition, or ``p`` or ``q`` is not a real number (a str or a bool).
    ValueError
        For other (p, q), for an incomplete partition, or for a :class:`~relutope.Slice` with ``(p, q) != (2, 2)``
        (the restriction of a p-norm to a general subspace is not a p-norm in its coordinates).

    Notes
    -----
    A piecewise-affine function is Lipschitz with constant ``max_Q ||A_Q||_{p->q}`` over a convex domain, and
    the maximum is attained on the maximising region (Jordan & Dimakis, "Exactly Computing the Local Lipschitz
    Constant of ReLU Networks", NeurIPS 2020). ``||A||_{1->q}`` is the largest column q-norm, ``||A||_{p->inf}``
    the largest row dual-norm, ``||A||_{2->2}`` the largest singular value. Within a lower-dimensional domain
    the map is restricted to the domain's affine hull.
    """
    from .domains import Slice

    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    if not partition.complete:
        raise ValueError("partition is incomplete: the maximum over the regions found is only a lower bound")
    p, q = _norm_order(p, "p"), _norm_order(q, "q")
    if isinstance(partition.domain, Slice) and not (p == 2 and q == 2):
        raise ValueError("for a Slice domain only p = q = 2 is supported")
    _induced_norm(np.eye(1), p, q)  # validates (p, q)
    A, _ = partition.affine_maps()
    origin, basis = partition.domain.parametrization()
    form = partition.domain._engine_form()
    best, best_i, best_v = -1.0, -1, None
    for i in range(len(partition)):
        Ai = A[i] @ (form.Q if isinstance(partition.domain, Slice) else basis)
        val, v = _induced_norm(Ai, p, q)
        if val > best:
            best, best_i, best_v = val, i, v
    hull = form.Q if isinstance(partition.domain, Slice) else basis
    return LipschitzResult(value=best, region=best_i, p=p, q=q, direction=hull @ best_v)


@dataclass
class AdversarialResult:
    """The minimal perturbation that changes a network's predicted class.

    Attributes
    ----------
    status : {"found", "none"}
        ``none`` when no perturbation of norm <= ``max_radius`` changes the class.
    distance : float
        ``||x_adv - x0||``; ``inf`` when none was found.
    x_adv : ndarray, shape (n_inputs,) or None
        The closest input whose class differs (with the requested margin).
    target : int or None
        The class that wins at ``x_adv``.
    region : int or None
        Index of its activation region in :attr:`partition`.
    partition : Partition
        The partition of the last box searched.
    programs : int
        Convex programs solved.
    proven : bool
        True when the result is the global minimum (it is smaller than the last box's half-width, or the box
        covered the whole ``domain``); False when ``max_radius`` was reached first.
    """

    status: str
    distance: float
    x_adv: Optional[np.ndarray]
    target: Optional[int]
    region: Optional[int]
    partition: Partition
    programs: int
    proven: bool = True

    def _repr_html_(self) -> str:
        from ._html import result_html

        return result_html(self)


def _norm_expr(cp, delta, norm):
    return cp.norm(delta, 1) if norm == 1 else (cp.norm(delta, 2) if norm == 2 else cp.norm(delta, "inf"))


#: The defaults of :func:`min_adversarial`, relative to the network's length scale ``L`` (see there) and to its
#: outputs' magnitude: the first box's half-width, the largest and the margin.
ADVERSARIAL_RADIUS = 1.0
ADVERSARIAL_MAX_RADIUS = 100.0
ADVERSARIAL_MARGIN = 1e-7


def _adversarial_defaults(net: Network, x0: np.ndarray, domain: Optional[Box]):
    """The scale-aware defaults of :func:`min_adversarial` at ``x0``: (radius, max_radius, margin)."""
    from .domains import _arrangement_frame

    centre, size = _arrangement_frame(net, np.zeros(net.in_dim), np.eye(net.in_dim))
    length = max(float(size), float(np.abs(x0 - centre).max(initial=0.0)))
    radius = ADVERSARIAL_RADIUS * size
    if domain is not None:  # the whole domain: the search ends proven (its box covers it) at the latest
        max_radius = float(np.maximum(x0 - domain.lo, domain.hi - x0).max(initial=0.0))
    else:
        max_radius = ADVERSARIAL_MAX_RADIUS * length
    y, pattern = net.forward(x0[None])
    A, _ = net.local_affine_map(pattern[0])
    scale = max(float(np.abs(y).max(initial=0.0)), float(np.abs(A).sum(axis=1).max(initial=0.0)) * length)
    return radius, max_radius, ADVERSARIAL_MARGIN * scale


def min_adversarial(net: Network, x0, label: int, norm: Union[int, float, str] = 2, *,
                    radius: Optional[float] = None, max_radius: Optional[float] = None,
                    margin: Optional[float] = None, domain: Optional[Box] = None,
                    tol: Optional[float] = None) -> AdversarialResult:
    """The exact minimal perturbation of ``x0`` (in the l1, l2 or l_inf norm) that changes the predicted class.

    Parameters
    ----------
    net : Network
        A classifier: the predicted class is the argmax of the outputs (``n_outputs >= 2``).
    x0 : array_like, shape (n_inputs,)
    label : int
        The class to move away from (usually ``argmax net(x0)``).
    norm : {1, 2, inf, "inf"}
    radius : float, optional
        Half-width of the first box ``x0 +- radius`` searched; it doubles until the answer is proven. Default
        (None): the size of the network's arrangement (the largest distance from the least-squares centre of the
        first layer's hyperplanes to one of them, see :class:`~relutope.WholeSpace`), so that the search does
        the same at every scale and position of the inputs.
    max_radius : float, optional
        Give up (``status="none"``) past this half-width. Default (None): with a ``domain``, the half-width at
        which the box covers it (the search then ends proven); without, 100 times the network's length scale
        ``L``, the larger of the arrangement's size and the l_inf distance from its centre to ``x0`` (at least
        ``radius``).
    margin : float, optional
        The target class must beat ``label`` by this much at ``x_adv`` (so that the class really changes in
        floating point); the result is then minimal for that margin. Default (None): ``1e-7`` times the outputs'
        magnitude at ``x0``, the larger of ``max |net(x0)|`` and the local slope's largest row 1-norm times ``L``
        (0 where both vanish: a tie then counts).
    domain : Box, optional
        Valid inputs (e.g. pixel bounds); perturbations stay inside it.
    tol : float, optional
        Enumeration tolerance (see :func:`relutope.enumerate_regions`).

    Returns
    -------
    AdversarialResult

    Raises
    ------
    TypeError, ValueError
        On a bad norm, label, point, radius or margin.
    ImportError
        When cvxpy is not installed (``pip install cvxpy``).
    NumericalError
        When the enumeration of a box stopped on an LP breakdown (an incomplete partition proves nothing).

    Notes
    -----
    The activation regions of the box ``x0 +- R`` are enumerated. A perturbation to class ``j`` inside region
    ``Q`` solves the convex program ``min ||x - x0|| s.t. x in Q, (a_j - a_label) x + (b_j - b_label) >= margin``
    with ``A_Q x + b_Q`` the network on ``Q`` (cvxpy; one parametrised program, canonicalised once, serves every
    region and target; it is posed in ``z = (x - x0) / R`` with unit rows, so that the solver's absolute
    tolerances mean the same at every scale and position). Regions are searched in order of their distance from
    ``x0`` (itself a convex program) and the search stops when the next region is farther than the best
    perturbation found, so the result is the global minimum over the box; it is the global minimum when it is
    smaller than ``R`` (the norm ball of that radius lies in the box), otherwise ``R`` doubles (Jordan et al.,
    "Provable Certificates for Adversarial Examples: Fitting a Ball in the Union of Polytopes", NeurIPS 2019,
    search regions the same way).
    """
    import cvxpy as cp

    check_network(net)
    if margin is not None:
        margin = check_real(margin, "margin", strict=False)
    if norm in ("inf", np.inf, float("inf")):
        norm = np.inf
    elif norm in (1, 2):
        norm = int(norm)
    else:
        raise ValueError(f"norm must be 1, 2 or inf, got {norm!r}")
    x0 = _as_float_array(x0, "x0", 1, promote=True)
    if x0.shape != (net.in_dim,):
        raise ValueError(f"x0 must have shape ({net.in_dim},), got {x0.shape}")
    if net.out_dim < 2:
        raise ValueError("min_adversarial needs a classifier with at least two outputs")
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < net.out_dim:
        raise ValueError(f"label must be an int in [0, {net.out_dim}), got {label!r}")
    for name, value in (("radius", radius), ("max_radius", max_radius)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                  or not (0 < value < np.inf)):
            raise ValueError(f"{name} must be a positive finite number or None, got {value!r}")
    if domain is not None:
        if not isinstance(domain, Box) or domain.dim != net.in_dim:
            raise TypeError("domain must be a relutope.Box of the network's input dimension")
        if not domain.contains(x0[None])[0]:
            raise ValueError("x0 lies outside domain")
    if radius is None or max_radius is None or margin is None:
        radius0, max_radius0, margin0 = _adversarial_defaults(net, x0, domain)
        radius = radius0 if radius is None else radius
        max_radius = max(max_radius0, radius) if max_radius is None else max_radius
        margin = margin0 if margin is None else margin
    programs = 0
    R = float(radius)
    while True:
        lo, hi = x0 - R, x0 + R
        if domain is not None:
            lo, hi = np.maximum(lo, domain.lo), np.minimum(hi, domain.hi)
        box = Box(lo, hi)
        part = enumerate_regions(net, box, tol=tol)
        if not part.complete:
            raise NumericalError(f"the enumeration of {box!r} stopped ({part.status}): {part.message}")
        A, b = part.affine_maps()
        origin, basis = box.parametrization()
        t0 = box.to_coords(x0[None])[0]
        halfspaces = [part[i].halfspaces() for i in range(len(part))]
        # One parametrised program for every region and target (cvxpy's DPP: canonicalised once, not per
        # solve), in z = (t - t0) / R with every row scaled to unit norm (the solver's tolerances are absolute):
        # the rows of a region padded with 0 <= 1 to the most rows of any region, the target's row "g . z >= c"
        # given as 0 >= -1 when there is none.
        kx = box.intrinsic_dim
        m = max(len(hr) for _, hr in halfspaces)
        z, G, h = cp.Variable(kx), cp.Parameter((m, kx)), cp.Parameter(m)
        gt, ct = cp.Parameter(kx), cp.Parameter()
        program = cp.Problem(cp.Minimize(_norm_expr(cp, z, norm)), [G @ z <= h, gt @ z >= ct])

        def unit_rows(rows, rhs):  # rows . t <= rhs as unit rows in z
            rows_z, rhs_z = rows * R, rhs - rows @ t0
            n = np.linalg.norm(rows_z, axis=1)
            n = np.where(n > 0, n, 1.0)
            return rows_z / n[:, None], rhs_z / n

        def solve(rows, rhs, extra=None):
            Gv, hv = np.zeros((m, kx)), np.ones(m)
            Gv[:len(rhs)], hv[:len(rhs)] = unit_rows(rows, rhs)
            G.value, h.value = Gv, hv
            if extra is not None:  # g . t >= c, as -g . t <= -c
                g_z, c_z = unit_rows(-extra[0], -extra[1])
                gt.value, ct.value = -g_z[0], -float(c_z[0])
            else:
                gt.value, ct.value = np.zeros(kx), -1.0
            program.solve()
            ok = program.status in ("optimal", "optimal_inaccurate")
            return (R * float(program.value), t0 + R * np.array(z.value)) if ok else (np.inf, None)

        dist = []
        for i, (Hr, hr) in enumerate(halfspaces):
            dist.append(solve(Hr, hr)[0])
            programs += 1
        best = (np.inf, None, None, None)
        for i in np.argsort(dist):
            if dist[i] >= best[0]:
                break
            Hr, hr = halfspaces[i]
            Ai, bi = A[i] @ basis, A[i] @ origin + b[i]
            for j in range(net.out_dim):
                if j == label:
                    continue
                g = Ai[j] - Ai[label]
                val, t = solve(Hr, hr, (g[None, :], np.array([margin - (bi[j] - bi[label])])))
                programs += 1
                if t is not None and val < best[0]:
                    best = (val, origin + basis @ t, j, int(i))
        whole = domain is not None and np.all(lo <= domain.lo) and np.all(hi >= domain.hi)
        proven = best[0] < R or whole  # every smaller perturbation lies in the box searched
        if proven or R >= max_radius:
            break
        R = min(2 * R, max_radius)
    if best[1] is None:
        return AdversarialResult("none", np.inf, None, None, None, part, programs, proven=proven)
    return AdversarialResult("found", best[0], best[1], best[2], best[3], part, programs, proven=proven)
