"""Enumeration on a Dask cluster: :func:`enumerate_distributed` (with :func:`open_shards` for results on disk),
:func:`output_bounds_distributed` and :func:`verify_distributed`.

The enumeration tree is split at a prefix: the cells of the first ``prefix_layers`` layers (enumerated first, by
the truncated network, on the client) are dealt out in contiguous chunks to tasks, and each task runs the compiled
enumerator on the full network restricted to its cells. The restriction is not a smaller domain but a fixed
prefix pattern: the core follows the path the one-machine search takes to the cell (the same LPs) and then the
cell's whole subtree, so each region is found by exactly one task (the one holding its prefix: every region has
exactly one pattern on the prefix layers), nothing is lost or found twice at cell boundaries, and the
concatenated result is the one-machine partition itself, the same regions in the same order with the same
witnesses and radii. Tasks are pure functions of picklable inputs (network, domain, cells); their results come
back through the scheduler, or, with ``shards=``, are written to a directory (a shared filesystem on a real
cluster) and opened as memory-mapped arrays by :func:`open_shards` (``.npy`` arrays, a JSON file and an ``.npz``
of plain arrays: nothing in a shard directory is unpickled).
"""
from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import List, Optional

import numpy as np

from ._checks import check_domain, check_network, check_seed
from .domains import Box, Domain
from .errors import RelutopeWarning
from .network import Network
from .partition import Partition

__all__ = ["enumerate_distributed", "output_bounds_distributed", "verify_distributed", "open_shards"]

_ARRAYS = ("patterns", "centers", "radii")


def _enumerate_cells(net: Network, domain: Domain, prefixes: np.ndarray, prefix_layers: int, tol: float,
                     radius_cap: float, threads: int, time_limit: Optional[float], shard: Optional[str]) -> dict:
    """One task: the regions of ``net`` in the cells of the given prefix patterns (C, n_prefix_units) int8.

    Returns the arrays (packed patterns, witnesses in domain coordinates, radii) and the counters, or with
    ``shard`` (a path stem) writes the arrays to ``{shard}.{name}.npy`` and returns only the counters.
    """
    from . import _core
    from .enumerate import _engine_call

    out, _ = _engine_call(_core.enumerate_regions, net, domain, tol=tol, max_regions=None, time_limit=time_limit,
                          progress=False, radius_cap=radius_cap, allow_empty=True, threads=threads,
                          prefix=np.ascontiguousarray(prefixes, dtype=np.int8), prefix_layers=prefix_layers)
    result = {"regions": int(out["leaves"]), "layer_counts": np.asarray(out["layer_counts"]),
              "lps": int(out["lps"]), "lp_iterations": int(out["lp_iterations"]), "status": out["status"],
              "message": out["message"], "seconds": float(out["seconds"])}
    if shard is None:
        result.update({name: out[name] for name in _ARRAYS})
    else:
        for name in _ARRAYS:
            np.save(f"{shard}.{name}.npy", out[name])
    return result


def enumerate_distributed(net: Network, domain: Domain, client=None, *, prefix_layers: int = 1,
                          n_tasks: Optional[int] = None, shards=None, tol: Optional[float] = None,
                          radius_cap: Optional[float] = None, threads: int = 1,
                          time_limit: Optional[float] = None) -> Partition:
    """Enumerate every activation region of a network over a domain on a Dask cluster.

    Parameters
    ----------
    net : Network
    domain : Domain
        As in :func:`relutope.enumerate_regions`.
    client : dask.distributed.Client, optional
        The cluster to run on; default: the current client (``dask.distributed.get_client()``). To use an
        existing cluster, ``Client("tcp://scheduler-host:8786")``; for one machine, ``Client(LocalCluster())``.
    prefix_layers : int, optional
        Split the search after this many layers (default 1): the cells of layers ``0..prefix_layers-1`` are the
        units of work. At most the number of layers minus one (a one-layer network runs as one task).
    n_tasks : int, optional
        Number of tasks, each a contiguous chunk of the cells (default: four per worker, at most one per cell).
    shards : str or os.PathLike, optional
        A directory (created if missing; on a real cluster, one the workers and the client share): each task
        writes its regions there as ``.npy`` files instead of sending them back, the client merges them into
        ``patterns.npy``, ``centers.npy``, ``radii.npy`` with ``meta.json``, and the partition returned (as
        :func:`open_shards` would) reads them memory-mapped, for results larger than memory.
    tol, radius_cap : float, optional
        As in :func:`relutope.enumerate_regions` (the default ``tol`` is the whole domain's, for every task).
    threads : int, optional
        Worker threads of each task's enumeration (default 1: one per Dask worker thread).
    time_limit : float, optional
        Seconds for each task; a task that runs out stops with its regions so far (``status="time_limit"``).

    Returns
    -------
    Partition
        The partition of the whole domain, the same regions in the same order as one
        :func:`relutope.enumerate_regions` run, with the same witnesses and radii. With ``shards``, the directory
        also gets ``meta.json`` and ``model.npz`` (see :func:`open_shards`). Incomplete (``complete`` False,
        ``status`` of the first task that stopped early, or ``"interrupted"`` after Ctrl-C, when the tasks not yet
        finished are cancelled) with the regions of the tasks that finished or stopped: all exact.

    Raises
    ------
    TypeError, ValueError
        On bad arguments (as :func:`relutope.enumerate_regions`), ``prefix_layers`` below 1 or ``n_tasks`` below 1.
    ValueError
        When there is no ``client`` and no current Dask client.

    Notes
    -----
    Dividing a depth-first search tree at a frontier of subtrees that are searched independently is the classic
    scheme of distributed tree search (Rao & Kumar, "Parallel depth first search. Part I", International Journal
    of Parallel Programming 16(6), 1987); here the frontier is the partition by the first layers, whose cells the
    truncated network enumerates exactly. Install with ``pip install "relutope[distributed]"`` (dask and
    distributed).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from dask.distributed import Client, LocalCluster
    >>> from relutope.distributed import enumerate_distributed
    >>> net = relutope.Network.random([2, 8, 8, 1], seed=0)
    >>> box = relutope.Box([-1, -1], [1, 1])
    >>> with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \\
    ...      Client(cluster) as client:
    ...     part = enumerate_distributed(net, box, client)
    >>> one = relutope.enumerate_regions(net, box, method="lp")
    >>> np.array_equal(part.patterns, one.patterns) and np.array_equal(part.witnesses, one.witnesses)
    True
    """
    from .enumerate import _witnesses_pass

    start = time.perf_counter()
    domain = _for_network(net, domain)
    client, tol, threads, P, chunks, prefix_counts, prefix_status = _split(
        net, domain, client, prefix_layers, n_tasks, tol, radius_cap, threads, time_limit)
    directory = None
    if shards is not None:
        directory = Path(shards)
        directory.mkdir(parents=True, exist_ok=True)
    stems = [None if directory is None else str(directory / f"part-{i:06d}") for i in range(len(chunks))]

    net_f, dom_f = client.scatter([net, domain], broadcast=True, hash=False)
    done, interrupted = _gather(client, [
        client.submit(_enumerate_cells, net_f, dom_f, chunk, P, tol, radius_cap, threads, time_limit, stem, pure=False)
        for chunk, stem in zip(chunks, stems)])

    layer_counts = np.zeros(len(net.layers), dtype=np.int64)
    for _, r in done:
        layer_counts += r["layer_counts"]
    layer_counts[:P] = prefix_counts  # the tasks count only their own cells on the prefix layers
    stopped = [r for _, r in done if r["status"] != "complete"]
    status = ("interrupted" if interrupted else prefix_status if prefix_status != "complete"
              else stopped[0]["status"] if stopped else "complete")
    message = stopped[0]["message"] if stopped else ""
    counters = {"lps": sum(r["lps"] for _, r in done), "lp_iterations": sum(r["lp_iterations"] for _, r in done)}
    if directory is None:
        arrays = {name: (np.concatenate([r[name] for _, r in done]) if done else None) for name in _ARRAYS}
        if not done:
            arrays = {"patterns": np.zeros((0, net._core().pattern_bytes), dtype=np.uint8),
                      "centers": np.zeros((0, domain.intrinsic_dim)), "radii": np.zeros(0)}
    else:
        _merge_shards(directory, [stems[i] for i, _ in done], [r["regions"] for _, r in done], net, domain)
        arrays = None
    meta = {"status": status, "message": message, "tol": float(tol), "layer_counts": layer_counts.tolist(),
            "seconds": time.perf_counter() - start, "tasks": len(chunks), "prefix_layers": P, **counters}
    if directory is not None:
        _write_model(directory, net, domain)
        (directory / "meta.json").write_text(json.dumps(meta, indent=1))
        return open_shards(directory)
    part = Partition._from_packed(net, domain, arrays["patterns"], arrays["centers"], arrays["radii"], layer_counts,
                                  status=status, tol=tol, lps=meta["lps"], lp_iterations=meta["lp_iterations"],
                                  seconds=meta["seconds"])
    return _checked(part, message, _witnesses_pass)


def _for_network(net, domain):
    """``domain`` as the whole network's run sees it (a WholeSpace's size and centre: those of ``net``'s arrangement,
    not of a prefix's), once for the split and every task; arguments of the wrong kind are left to :func:`_split`."""
    if isinstance(net, Network) and isinstance(domain, Domain) and domain.dim == net.in_dim:
        return domain._for_network(net)
    return domain


def _split(net, domain, client, prefix_layers, n_tasks, tol, radius_cap, threads, time_limit, thin=False):
    """Check the arguments common to the distributed calls; enumerate the cells of the first layers on the client
    and deal them out in contiguous chunks. Returns the client, tol, threads, the prefix depth P (0: no split),
    the chunks of prefix patterns (C_i, n_prefix_units) int8, and the prefix run's layer counts and status.

    ``thin``: for the tasks of verification mode (no thin cell skipped, as :func:`relutope.verify` and
    :func:`relutope.output_bounds` run): the cells are found in that mode too, and when the first layers have a
    cell thinner than ``tol`` (which no listed cell contains) the domain is not split (P = 0, one cell)."""
    from . import _core
    from .enumerate import _engine_call, _resolve_tol

    check_network(net)
    check_domain(domain)
    prefix_layers, n_tasks, threads = _check_split(prefix_layers, n_tasks, threads)
    client = _client(client)
    if domain.dim != net.in_dim:
        raise ValueError(f"domain has dimension {domain.dim} but the network takes {net.in_dim} inputs")
    tol = _resolve_tol(domain, tol)
    P = min(prefix_layers, len(net.layers) - 1)
    if P >= 1:
        # The cells of the first P layers, exactly as the full search meets them (the same LPs, the same order).
        prefix_net = Network(net.layers[:P])
        if thin:  # verification mode, as the tasks run: the same rows (no sliver), thin cells counted
            cells, _ = _engine_call(_core.verify, prefix_net, domain, tol=tol, max_regions=None,
                                    time_limit=time_limit, progress=False, radius_cap=radius_cap,
                                    extra=([], False, False, True), threads=threads, thin=True)
        else:
            cells, _ = _engine_call(_core.enumerate_regions, prefix_net, domain, tol=tol, max_regions=None,
                                    time_limit=time_limit, progress=False, radius_cap=radius_cap, threads=threads)
        prefixes = _core.unpack_patterns(prefix_net._core(), cells["patterns"])
        prefix_counts, prefix_status = np.asarray(cells["layer_counts"]), cells["status"]
        if thin and int(cells["thin"]) > 0:
            # A cell of the first layers thinner than tol belongs to no listed cell, so no task would meet it:
            # run the whole domain as one task instead, where the one-machine rule for thin cells applies.
            P, prefixes = 0, np.zeros((1, 0), dtype=np.int8)
    if P < 1:
        prefixes = np.zeros((1, 0), dtype=np.int8)
        prefix_counts, prefix_status = np.zeros(0, dtype=np.int64), "complete"
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    n = len(prefixes)
    n_chunks = max(1, min(n, 4 * n_workers if n_tasks is None else n_tasks))
    bounds = np.linspace(0, n, n_chunks + 1).astype(np.int64)
    chunks = [prefixes[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    return client, tol, threads, P, chunks, prefix_counts, prefix_status


def _check_split(prefix_layers, n_tasks, threads) -> tuple:
    """``prefix_layers`` (>= 1), ``n_tasks`` (None or >= 1) and ``threads`` checked (ValueError or TypeError
    naming the argument), ``threads`` resolved."""
    from ._threads import resolve_threads
    from .enumerate import _check_positive

    prefix_layers = _check_positive(prefix_layers, "prefix_layers", integer=True)
    if prefix_layers < 1:
        raise ValueError(f"prefix_layers must be at least 1, got {prefix_layers}")
    n_tasks = _check_positive(n_tasks, "n_tasks", integer=True)
    if n_tasks is not None and n_tasks < 1:
        raise ValueError(f"n_tasks must be at least 1, got {n_tasks}")
    return prefix_layers, n_tasks, resolve_threads(threads)


def _client(client):
    """``client``, or the current Dask client when None (ValueError naming ``client`` when there is none)."""
    if client is None:
        from dask.distributed import get_client

        try:
            client = get_client()
        except ValueError as exc:
            raise ValueError("client: no Dask client given and none is running; pass client=Client(...) "
                             "(dask.distributed)") from exc
    return client


def _gather(client, futures) -> tuple:
    """The results of the futures in order, as (index, result) pairs of those that finished, and whether Ctrl-C
    stopped the wait (the futures not finished by then are cancelled)."""
    results: List[Optional[dict]] = [None] * len(futures)
    interrupted = False
    try:
        for i, future in enumerate(futures):
            results[i] = future.result()
    except KeyboardInterrupt:
        interrupted = True
        for i, future in enumerate(futures):
            if results[i] is None and future.done() and future.status == "finished":
                results[i] = future.result()
        client.cancel([f for f, r in zip(futures, results) if r is None])
    return [(i, r) for i, r in enumerate(results) if r is not None], interrupted


def _bounds_cells(net: Network, domain: Domain, C: np.ndarray, d: np.ndarray, prune: bool, prefixes: np.ndarray,
                  prefix_layers: int, tol: float, radius_cap: float, threads: int,
                  time_limit: Optional[float]) -> dict:
    """One task of :func:`output_bounds_distributed`: the core's output bounds over the cells of the prefixes."""
    from . import _core
    from .enumerate import _engine_call

    out, _ = _engine_call(_core.output_bounds, net, domain, tol=tol, max_regions=None, time_limit=time_limit,
                          progress=False, radius_cap=radius_cap, allow_empty=True, extra=(C, d, bool(prune), False),
                          threads=threads, prefix=np.ascontiguousarray(prefixes, dtype=np.int8),
                          prefix_layers=prefix_layers, thin=True)
    keys = ("min", "max", "argmin", "argmax", "ray_min", "ray_max", "leaves", "pruned", "status", "message", "thin",
            "thin_open", "widened")
    return {key: out[key] for key in keys}


def output_bounds_distributed(net: Network, domain: Domain, client=None, C=None, d=None, *, prune: bool = True,
                              prefix_layers: int = 1, n_tasks: Optional[int] = None, tol: Optional[float] = None,
                              radius_cap: Optional[float] = None, threads: int = 1, time_limit: Optional[float] = None):
    """:func:`relutope.output_bounds` on a Dask cluster, split as :func:`enumerate_distributed` splits.

    Each task bounds ``C y + d`` over the regions of its cells (with its own branch-and-bound pruning, and no cell
    skipped for being thin, as :func:`relutope.output_bounds`); the client keeps, row by row, the largest maximum
    and the smallest minimum with the inputs attaining them, and checks the
    certificate of every unbounded row as :func:`relutope.output_bounds` does.

    Parameters
    ----------
    net, domain, C, d, prune, tol, radius_cap
        As in :func:`relutope.output_bounds`.
    client, prefix_layers, n_tasks, threads, time_limit
        As in :func:`enumerate_distributed`.

    Returns
    -------
    relutope.verify.OutputBounds
        The same bounds as :func:`relutope.output_bounds` (which of several inputs attaining a bound is returned
        may differ). ``regions``, ``pruned``, ``thin`` and ``widened`` are summed over the tasks (a task prunes
        against its own bounds only, so more regions are visited than on one machine).

    Raises
    ------
    TypeError, ValueError
        As :func:`relutope.output_bounds` and :func:`enumerate_distributed`.
    """
    from .verify import OutputBounds, _check_unbounded_ray, _linear_objectives

    start = time.perf_counter()
    C, d = _linear_objectives(net, C, d)
    domain = _for_network(net, domain)
    client, tol, threads, P, chunks, _, prefix_status = _split(
        net, domain, client, prefix_layers, n_tasks, tol, radius_cap, threads, time_limit, thin=True)
    net_f, dom_f = client.scatter([net, domain], broadcast=True, hash=False)
    done, interrupted = _gather(client, [
        client.submit(_bounds_cells, net_f, dom_f, C, d, prune, chunk, P, tol, radius_cap, threads, time_limit,
                      pure=False) for chunk in chunks])
    q, k = C.shape[0], domain.intrinsic_dim
    lower, upper = np.full(q, np.inf), np.full(q, -np.inf)
    argmin, argmax, ray_min, ray_max = (np.zeros((q, k)) for _ in range(4))
    for _, r in done:  # in task order: the first task attaining a bound keeps it, as the first region does
        hi, lo = r["max"] > upper, r["min"] < lower
        upper[hi], argmax[hi], ray_max[hi] = r["max"][hi], r["argmax"][hi], r["ray_max"][hi]
        lower[lo], argmin[lo], ray_min[lo] = r["min"][lo], r["argmin"][lo], r["ray_min"][lo]
    for _, r in done:  # a thin cell left unbounded (an LP failure), as relutope.output_bounds reports it
        if r["status"] == "complete" and int(r["thin_open"]) > 0:
            r["status"] = "numerical"
    stopped = [r["status"] for _, r in done if r["status"] != "complete"]
    status = ("interrupted" if interrupted else prefix_status if prefix_status != "complete"
              else stopped[0] if stopped else "complete")
    form = domain._engine_form()
    to_x = lambda u: form.x0 + u @ form.Q.T  # noqa: E731
    bounds = OutputBounds(lower=lower, upper=upper, argmin=to_x(argmin), argmax=to_x(argmax),
                          complete=status == "complete", status=status,
                          regions=sum(int(r["leaves"]) for _, r in done),
                          pruned=sum(int(r["pruned"]) for _, r in done), seconds=time.perf_counter() - start,
                          ray_min=ray_min @ form.Q.T, ray_max=ray_max @ form.Q.T,
                          thin=sum(int(r["thin"]) for _, r in done), widened=sum(int(r["widened"]) for _, r in done))
    for i in range(q):
        if bounds.upper[i] == np.inf:
            _check_unbounded_ray(net, C[i], bounds.argmax[i], bounds.ray_max[i], f"the maximum of row {i}")
        if bounds.lower[i] == -np.inf:
            _check_unbounded_ray(net, -C[i], bounds.argmin[i], bounds.ray_min[i], f"the minimum of row {i}")
    return bounds


def _stop_flag(name: Optional[str], every: float = 0.2):
    """A callable telling a task whether the Dask event ``name`` is set (asked of the scheduler at most every
    ``every`` seconds): the client sets it when a counterexample is found, so running tasks stop at their next
    checkpoint. Outside a Dask worker (or without a name) it is always False."""
    if name is None:
        return lambda: False
    try:
        from dask.distributed import Event, get_worker

        get_worker()
        event = Event(name)
    except (ImportError, ValueError):
        return lambda: False
    last = [float("-inf"), False]

    def stop() -> bool:
        now = time.monotonic()
        if not last[1] and now - last[0] >= every:
            last[0], last[1] = now, bool(event.is_set())
        return last[1]

    return stop


def _verify_cells(net: Network, lo: np.ndarray, hi: np.ndarray, terms, prune: bool, prefixes: np.ndarray,
                  prefix_layers: int, tol: float, threads: int, deadline: Optional[float],
                  stop_name: Optional[str]) -> dict:
    """One task of :func:`verify_distributed`: the core's verifier (first counterexample stops it) on the cells of
    the prefixes in the box ``[lo, hi]``. ``deadline`` is a ``time.time()`` value (the clocks of the client and
    the workers are taken to agree). The counterexample comes back in input coordinates."""
    from . import _core
    from .domains import Box
    from .enumerate import _engine_call

    result = {"leaves": 0, "pruned": 0, "thin": 0, "thin_open": 0, "violated": False, "term": -1,
              "counterexample": None, "message": "", "seconds": 0.0}
    stop = _stop_flag(stop_name)
    left = None if deadline is None else deadline - time.time()
    if left is not None and left <= 0:
        return {**result, "status": "time_limit"}
    if stop():
        return {**result, "status": "stopped"}
    out, form = _engine_call(_core.verify, net, Box(lo, hi), tol=tol, max_regions=None, time_limit=left,
                             progress=False, allow_empty=True, extra=(terms, bool(prune), True, False),
                             threads=threads, thin=True, stop=stop,
                             prefix=np.ascontiguousarray(prefixes, dtype=np.int8), prefix_layers=prefix_layers)
    result.update({key: out[key] for key in ("leaves", "pruned", "thin", "thin_open", "violated", "term", "status",
                                             "message", "seconds")})
    if out["violated"]:
        result["counterexample"] = form.x0 + form.Q @ out["counterexample"]
    return result


def _verify_boxes(net: Network, boxes, tols, terms, prune: bool, threads: int, deadline: Optional[float],
                  stop_name: Optional[str]) -> dict:
    """One task of :func:`verify_distributed` when the input splitting leaves many boxes open: the core's verifier
    on each box ``(lo, hi)`` in turn (unsplit, tolerance ``tols[i]``), stopping at the first counterexample or
    the first box not complete; the counts summed."""
    total = {"leaves": 0, "pruned": 0, "thin": 0, "thin_open": 0, "violated": False, "term": -1,
             "counterexample": None, "message": "", "seconds": 0.0, "status": "complete"}
    none = np.zeros((1, 0), dtype=np.int8)
    for (lo, hi), tol in zip(boxes, tols):
        r = _verify_cells(net, lo, hi, terms, prune, none, 0, tol, threads, deadline, stop_name)
        for key in ("leaves", "pruned", "thin", "thin_open", "seconds"):
            total[key] += r[key]
        total.update({key: r[key] for key in ("violated", "term", "counterexample", "message", "status")})
        if r["violated"] or r["status"] != "complete" or r["thin_open"]:
            break
    return total


def _in_term(net: Network, x: np.ndarray, C: np.ndarray, d: np.ndarray, atol: float) -> bool:
    """Whether a forward pass puts ``net(x)`` in the term ``C y <= d`` (within ``atol (1 + |d|)``), as
    :func:`relutope.verify` re-checks a counterexample."""
    y = net(x[None, :])[0]
    return bool(np.all(C @ y <= d + atol * (1 + np.abs(d))))


def verify_distributed(net: Network, spec, client=None, *, timeout: Optional[float] = None, prune: bool = True,
                       tol: Optional[float] = None, atol: float = 1e-6, search: bool = True, seed=0,
                       split_max_dims: int = 8, split_depth: Optional[int] = None, split_boxes: int = 1024,
                       split_candidates: Optional[int] = None, prefix_layers: int = 1, n_tasks: Optional[int] = None,
                       threads: Optional[int] = 1, certify: bool = False):
    """:func:`relutope.verify` on a Dask cluster: every case's box split into cells of the first layers.

    For every case (input box) of the property, the client runs :func:`relutope.verify`'s counterexample search
    (sampling and projected gradient descent) and input splitting (branch and bound on the box, up to
    ``split_boxes`` boxes), the same shared pieces (``relutope._search``), then enumerates the cells of the first
    ``prefix_layers`` layers over every box the splitting leaves open and deals them out, in contiguous chunks,
    to tasks; each task runs the compiled verifier on the full network restricted to its cells (fixed prefix
    patterns, as :func:`enumerate_distributed`), with relaxation pruning, no cell skipped for being thin, and a
    stop at its first counterexample. When a case has at least as many open boxes as tasks, the tasks take
    contiguous chunks of whole boxes instead (each box one cell). ``relutope.verify(..., client=client)`` runs
    this. The tasks of all cases run at once; the verdicts are combined soundly: the first
    counterexample that passes the forward-pass re-check makes the property ``violated`` (the tasks not started
    are cancelled and the running ones stop at their next checkpoint); ``holds`` needs every task of every case
    complete with no thin cell left open; anything else is ``unknown``.

    Parameters
    ----------
    net : Network
    spec : relutope.vnnlib.Property, str or os.PathLike
        The property (its UNSAFE set), or the path of a VNN-LIB file, as in :func:`relutope.verify`.
    client : dask.distributed.Client, optional
        The cluster to run on; default: the current client. See :func:`enumerate_distributed`.
    timeout : float, optional
        Seconds for the whole property (every task stops at the same wall-clock deadline; on a real cluster the
        machines' clocks are taken to agree). Past it the verdict is ``unknown`` unless a counterexample was found.
    prune, tol, atol, search, seed, split_max_dims, split_depth, split_boxes, split_candidates, certify
        As in :func:`relutope.verify` (``tol`` and ``atol`` in input units): the input splitting runs on the
        client, on boxes with at most ``split_max_dims`` free inputs (with ``prune``); with ``certify`` the verdict
        is proven on the client afterwards (:func:`relutope.verdict_certificates.certify_verdict`).
    prefix_layers, n_tasks, threads
        As in :func:`enumerate_distributed`: the split depth, the tasks per case (default four per worker, at most
        one per cell) and the worker threads of each task.

    Returns
    -------
    relutope.verify.VerificationResult
        ``status`` ``holds`` / ``violated`` (with ``counterexample``, ``output``, ``case``, ``term``; re-checked by
        a forward pass) / ``unknown``. ``cases[i]`` holds the case's ``status`` (its verdict, or the first
        non-complete task status: ``"time_limit"``, ``"numerical"``, ``"thin_open"``, ``"interrupted"``, ...),
        ``boxes`` (bounded by the input splitting), ``open_boxes`` (left open by it), ``cells`` (prefix cells of
        the open boxes, or the open boxes themselves when they are many: the units of work), ``tasks``, ``closed`` (the fraction of its cells whose tasks proved
        them safe), ``regions``, ``pruned``, ``thin``, ``seconds`` and, for the violated case, ``found_by``
        (``"search"``, ``"split"`` or ``"enumeration"``). ``proven`` is the fraction of the property's input
        volume proven safe: the mean over cases of 1 for a case that holds, else the share of its box the input
        splitting closed (a cell's volume is not known).
        ``regions`` and ``pruned`` are summed over the tasks.

    Raises
    ------
    TypeError, ValueError
        When ``spec`` is not a property or path, or its sizes do not match the network, or an argument is out of
        range (as :func:`relutope.verify` and :func:`enumerate_distributed`); when there is no client.

    Notes
    -----
    Sound combination: the input splitting's closed boxes are proven safe by their relaxation bounds and its
    open boxes cover the rest of the case's box; the cells of the first layers partition each open box (every point of the box lies in the
    closure of one listed cell, or in a cell of the first layers thinner than ``tol``: when there is one, the
    case is not split and runs as one task, where :func:`relutope.verify`'s rule for thin cells applies), so the
    property holds on the box exactly when it holds on every cell. The split is Rao & Kumar's distributed tree
    search (see :func:`enumerate_distributed`); the per-cell verifier is :func:`relutope.verify`'s exact
    enumeration with CROWN / DeepPoly pruning (Zhang et al., NeurIPS 2018; Singh et al., POPL 2019).

    Cost: the client enumerates the cells of the first layers, and each task follows the one-machine path from
    the root to each of its cells again (the same LPs) before searching below it. Where the relaxation prunes
    most cells right below the prefix layers, that repeated path costs more than the split saves
    (``bench/bench_threads.py`` measures it); the split pays where the cells need deep enumeration (weak
    pruning, ``prune=False``, thresholds near the true bound). A running task notices the stop at its next
    checkpoint (every 1024 regions) or at the deadline.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from dask.distributed import Client, LocalCluster
    >>> from relutope.distributed import verify_distributed
    >>> from relutope.vnnlib import Case, Property
    >>> net = relutope.Network.random([2, 8, 8, 1], seed=0)
    >>> top = float(relutope.output_bounds(net, relutope.Box([-1, -1], [1, 1])).upper[0])
    >>> case = Case(np.array([-1.0, -1]), np.array([1.0, 1]), [(np.array([[-1.0]]), np.array([-top - 1e-3]))])
    >>> spec = Property([case], n_inputs=2, n_outputs=1)     # unsafe: y >= top + 1e-3, never reached
    >>> with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \\
    ...      Client(cluster) as client:
    ...     verify_distributed(net, spec, client).status
    'holds'
    """
    import uuid

    from ._search import case_terms, check_property, check_split_options, falsify, split_case
    from .verify import VerificationResult

    start, wall = time.perf_counter(), time.time()
    spec = check_property(net, spec, timeout)
    check_split_options(split_max_dims, split_depth, split_boxes, split_candidates)
    prefix_layers, n_tasks, threads = _check_split(prefix_layers, n_tasks, threads)
    if not isinstance(certify, (bool, np.bool_)):
        raise TypeError(f"certify must be a bool, got {type(certify).__name__}")
    rng = np.random.default_rng(check_seed(seed))
    client = _client(client)  # after every argument check
    deadline = None if timeout is None else wall + float(timeout)
    remaining = lambda: None if deadline is None else deadline - time.time()  # noqa: E731
    result = VerificationResult(status="holds")
    cases = []
    for ci, case in enumerate(spec.cases):
        terms, lo, hi = case_terms(net, case)
        stats = {"case": ci, "status": "holds", "boxes": 0, "open_boxes": 0, "cells": 0, "tasks": 0, "closed": 0.0,
                 "closed_cells": 0, "regions": 0, "pruned": 0, "thin": 0, "seconds": 0.0, "proven": 0.0}
        result.cases.append(stats)
        cases.append((terms, lo, hi, stats, [(lo, hi)], [0.0]))  # the boxes to enumerate, the split's closed share

    def finish(status: str) -> VerificationResult:
        result.status = status
        if certify and status in ("holds", "violated"):
            from .verdict_certificates import certify_verdict

            result.certificate = certify_verdict(net, spec, result, time_limit=remaining(), tol=tol)
            if not result.certificate.ok:
                result.status = "unknown"
        result.seconds = time.perf_counter() - start
        return result

    def violated(ci: int, ti: int, x: np.ndarray, how: str) -> VerificationResult:
        result.counterexample, result.output = x, net(x[None, :])[0]
        result.case, result.term = ci, ti
        result.cases[ci].update(status="violated", found_by=how)
        for *_, stats, _, _ in cases:
            stats.pop("closed_cells", None)
        result.proven = 0.0
        return finish("violated")

    def found(ci: int, terms, x) -> Optional[VerificationResult]:
        """violated() for a point of the counterexample search (None: nothing found), with its best term."""
        if x is None:
            return None
        ti = int(np.argmin([np.max(C @ net(x[None, :])[0] - d) if C.shape[0] else np.inf for C, d in terms]))
        return violated(ci, ti, x, "search") if _in_term(net, x, *terms[ti], atol) else None

    # On the client, case by case as relutope.verify: the counterexample search (a short one before the input
    # splitting, the full one when boxes are left open) and the input splitting.
    for ci, (terms, lo, hi, stats, boxes, closed) in enumerate(cases):
        splits = prune and int(np.count_nonzero(hi > lo)) <= split_max_dims
        if search and terms and splits and (remaining() is None or remaining() > 0):
            out = found(ci, terms, falsify(net, lo, hi, terms, rng, samples=64, starts=2, steps=20,
                                           time_limit=remaining()))
            if out is not None:
                return out
        if splits:
            left = remaining()
            if left is not None and left <= 0:
                stats["status"], boxes[:] = "time_limit", []
                continue
            out = split_case(net, lo, hi, terms, split_depth, split_boxes, left, split_candidates, search)
            stats["boxes"], closed[0] = int(out["boxes"]), float(out["closed_fraction"])
            if out["status"] == 1:
                ti, x = int(out["term"]), out["counterexample"]
                if _in_term(net, x, *terms[ti], atol):
                    return violated(ci, ti, x, "split")
                stats["status"], boxes[:] = "numerical", []  # the point failed the forward-pass re-check
                continue
            if out["status"] == 3:
                stats["status"], boxes[:] = "time_limit", []
                continue
            order = np.argsort(out["open_score"], kind="stable")  # likeliest unsafe first
            boxes[:] = [(out["open_lo"][i], out["open_hi"][i]) for i in order]
            stats["open_boxes"] = len(boxes)
        if search and terms and boxes and (remaining() is None or remaining() > 0):
            out = found(ci, terms, falsify(net, lo, hi, terms, rng, time_limit=remaining()))
            if out is not None:
                return out
    # The cells of every open box, then all tasks at once.
    stop_name = f"relutope-verify-{uuid.uuid4().hex}"
    futures, owner, cells_of = [], {}, {}
    net_f = None
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    target = 4 * n_workers if n_tasks is None else n_tasks  # tasks per case
    for ci, (terms, lo, hi, stats, boxes, _) in enumerate(cases):
        if len(boxes) >= max(target, 2):  # boxes enough: chunks of whole boxes, in order (likeliest unsafe first)
            from .enumerate import _resolve_tol

            if net_f is None:
                net_f = client.scatter(net, broadcast=True, hash=False)
            tols = [_resolve_tol(Box(blo, bhi), tol) for blo, bhi in boxes]
            bounds = np.linspace(0, len(boxes), target + 1).astype(np.int64)
            for a, b in zip(bounds[:-1], bounds[1:]):
                future = client.submit(_verify_boxes, net_f, boxes[a:b], tols[a:b], terms, prune, threads,
                                       deadline, stop_name, pure=False)
                futures.append(future)
                owner[future.key] = ci
                cells_of[future.key] = int(b - a)
            stats["cells"] += len(boxes)
            stats["tasks"] += len(bounds) - 1
            continue
        per_box = None if not boxes else -(-target // len(boxes))
        for blo, bhi in boxes:
            left = remaining()
            _, tol_c, threads_c, P, chunks, _, prefix_status = _split(
                net, Box(blo, bhi), client, prefix_layers, per_box, tol, 1.0, threads,
                None if left is None else max(left, 1e-3), thin=True)
            if net_f is None:
                net_f = client.scatter(net, broadcast=True, hash=False)
            stats["cells"] += int(sum(len(c) for c in chunks))
            stats["tasks"] += len(chunks)
            if prefix_status != "complete" and stats["status"] == "holds":
                stats["status"] = prefix_status
            for chunk in chunks:
                future = client.submit(_verify_cells, net_f, blo, bhi, terms, prune, chunk, P, tol_c, threads_c,
                                       deadline, stop_name, pure=False)
                futures.append(future)
                owner[future.key] = ci
                cells_of[future.key] = len(chunk)
    interrupted, hit = False, None
    if futures:
        from dask.distributed import Event, as_completed

        try:
            for future in as_completed(futures):
                ci = owner[future.key]
                r = future.result()
                terms, lo, hi, stats, _, _ = cases[ci]
                for key in ("regions", "pruned", "thin"):
                    stats[key] += int(r["leaves" if key == "regions" else key])
                stats["seconds"] = max(stats["seconds"], float(r["seconds"]))
                if r["violated"]:
                    x = r["counterexample"]
                    if _in_term(net, x, *terms[int(r["term"])], atol):
                        hit = (ci, int(r["term"]), x)
                        break
                    if stats["status"] == "holds":  # the point failed the forward-pass re-check
                        stats["status"] = "numerical"
                    continue
                status = r["status"] if r["status"] != "complete" or int(r["thin_open"]) == 0 else "thin_open"
                if status == "complete":
                    stats["closed_cells"] += cells_of[future.key]
                elif stats["status"] == "holds":
                    stats["status"] = status
        except KeyboardInterrupt:
            interrupted = True
        if hit is not None or interrupted:
            Event(stop_name, client=client).set()
            client.cancel([f for f in futures if not f.done()])
    for terms, lo, hi, stats, boxes, closed in cases:
        open_cells = stats["cells"] - stats.pop("closed_cells")
        if stats["cells"]:
            stats["closed"] = 1.0 - open_cells / stats["cells"]
        else:  # no cell: every box closed by the input splitting (1), or none enumerated (0)
            stats["closed"] = 1.0 if not boxes and stats["status"] == "holds" else 0.0
        if stats["status"] == "holds" and (open_cells > 0 or (boxes and stats["cells"] == 0)):
            stats["status"] = "interrupted" if interrupted else "unknown"  # tasks cancelled or never run
        stats["proven"] = 1.0 if stats["status"] == "holds" else closed[0]
        result.regions += stats["regions"]
        result.pruned += stats["pruned"]
    if hit is not None:
        return violated(hit[0], hit[1], hit[2], "enumeration")
    if all(stats["status"] == "holds" for *_, stats, _, _ in cases):
        result.proven = 1.0
        return finish("holds")
    result.proven = float(np.mean([stats["proven"] for *_, stats, _, _ in cases])) if cases else 0.0
    return finish("unknown")


def _checked(part: Partition, message: str, witnesses_pass) -> Partition:
    """The partition with every region whose witness fails the forward pass dropped (status ``numerical``, with a
    warning), as :func:`relutope.enumerate_regions` does."""
    ok = witnesses_pass(part)
    if not ok.all():
        dropped = (f"{int(np.count_nonzero(~ok))} region(s) dropped: the forward pass of their witness gave another "
                   f"activation pattern (a numerical artefact of the LPs; the partition may miss regions there)")
        message = f"{message}; {dropped}" if message else dropped
        warnings.warn(message, RelutopeWarning, stacklevel=3)
        part = Partition._from_packed(part.network, part.domain, np.asarray(part._packed)[ok],
                                      np.asarray(part._centers)[ok], np.asarray(part.radii)[ok], part.layer_counts,
                                      status="numerical", tol=part.tol, lps=part.lps,
                                      lp_iterations=part.lp_iterations, seconds=part.seconds)
    part.message = message
    return part


def _merge_shards(directory: Path, stems: List[str], counts: List[int], net: Network, domain: Domain) -> None:
    """Concatenate the tasks' ``.npy`` files, in task order, into one memory-mappable file per array (streamed:
    one task's arrays in memory at a time), then remove them."""
    R = int(sum(counts))
    widths = {"patterns": (net._core().pattern_bytes,), "centers": (domain.intrinsic_dim,), "radii": ()}
    dtypes = {"patterns": np.uint8, "centers": np.float64, "radii": np.float64}
    for name in _ARRAYS:
        out = np.lib.format.open_memmap(directory / f"{name}.npy", mode="w+", dtype=dtypes[name],
                                        shape=(R,) + widths[name])
        at = 0
        for stem in stems:
            piece = np.load(f"{stem}.{name}.npy", mmap_mode="r")
            out[at:at + len(piece)] = piece
            at += len(piece)
            del piece
            os.remove(f"{stem}.{name}.npy")
        out.flush()
        del out


def _write_model(directory: Path, net: Network, domain: Domain) -> None:
    """``model.npz``: the network's layers with its fingerprint and the domain, as plain arrays (no pickles)."""
    arrays = {"format": np.array("relutope.Shards/1"), "net_fingerprint": np.array(net.fingerprint())}
    arrays.update(net._to_arrays("net_"))
    arrays.update({f"domain_{key}": value for key, value in domain._state().items()})
    np.savez(directory / "model.npz", **arrays)


def _read_model(directory: Path):
    """The network and domain of ``model.npz``, read without pickles and checked (:meth:`Partition.load`'s checks
    of the network, its fingerprint and the domain); ValueError or TypeError naming the file."""
    from .domains import _domain_from_state
    from .network import _read_npz

    path = directory / "model.npz"
    arrays = _read_npz(path, "shard model")
    try:
        if "format" not in arrays or arrays["format"].shape != () or str(arrays["format"]) != "relutope.Shards/1":
            raise ValueError("format is not 'relutope.Shards/1'")
        net = Network._from_arrays(arrays, prefix="net_", source=str(path))
        stored = arrays["net_fingerprint"]
        if stored.shape != () or stored.dtype.kind != "U" or str(stored) != net.fingerprint():
            raise ValueError("the network's weights do not match the fingerprint stored with them")
        domain = _domain_from_state({key[7:]: v for key, v in arrays.items() if key.startswith("domain_")})
    except KeyError as exc:
        raise ValueError(f"shard model file {str(path)!r}: array {exc} is missing") from None
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"shard model file {str(path)!r}: {exc}") from None
    if domain.dim != net.in_dim:
        raise ValueError(f"shard model file {str(path)!r}: the domain has dimension {domain.dim} but the network "
                         f"takes {net.in_dim} inputs")
    return net, domain


def _read_meta(directory: Path, n_layers: int) -> dict:
    """``meta.json``, its entries checked (ValueError naming the file and the entry)."""
    path = directory / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc}") from None
    kinds = {"status": str, "message": str, "tol": float, "layer_counts": list, "seconds": float, "lps": int,
             "lp_iterations": int}
    if not isinstance(meta, dict):
        raise ValueError(f"{str(path)!r}: not a JSON object")
    for key, kind in kinds.items():
        value = meta.get(key)
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float
              else isinstance(value, kind) and not isinstance(value, bool))
        if not ok:
            raise ValueError(f"{str(path)!r}: entry {key!r} must be a {kind.__name__}, got {value!r}")
    counts = meta["layer_counts"]
    if len(counts) != n_layers or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0
                                          for c in counts):
        raise ValueError(f"{str(path)!r}: layer_counts must be {n_layers} non-negative ints (one per layer)")
    if not (np.isfinite(meta["tol"]) and meta["tol"] > 0):
        raise ValueError(f"{str(path)!r}: tol must be positive and finite, got {meta['tol']}")
    return meta


def open_shards(directory) -> Partition:
    """The partition written by :func:`enumerate_distributed` with ``shards=directory``, its arrays memory-mapped.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds ``patterns.npy`` (R, pattern_bytes) uint8 packed patterns, ``centers.npy`` (R, k) float64 witnesses
        in domain coordinates, ``radii.npy`` (R,) float64, ``meta.json`` (status, tolerance, counters) and
        ``model.npz`` (the network's layers with their fingerprint, and the domain, as plain arrays). Nothing is
        unpickled: the ``.npy`` files are mapped with ``allow_pickle=False`` and ``model.npz`` is read as
        :meth:`relutope.Partition.load` reads its files, so a directory from elsewhere cannot run code.

    Returns
    -------
    Partition
        Read-only arrays mapped from the files (pages are read as they are used). Every witness is checked by a
        forward pass when opened (in chunks), as after :func:`relutope.enumerate_regions`.

    Raises
    ------
    FileNotFoundError
        When ``meta.json`` or an ``.npy`` file is missing.
    ValueError
        When ``model.npz`` is missing or cannot be read, its network does not match its fingerprint, the domain
        does not fit the network, an entry of ``meta.json`` is missing or of the wrong type, or an array has the
        wrong dtype or shape (patterns as wide as the network's packed patterns, witnesses as wide as the
        domain's intrinsic dimension, one radius per region, positive and finite).
    TypeError
        When an array of ``model.npz`` is not numeric where it must be.
    """
    from .enumerate import _witnesses_pass

    directory = Path(directory)
    net, domain = _read_model(directory)
    meta = _read_meta(directory, len(net.layers))
    arrays = {}
    widths = {"patterns": (net._core().pattern_bytes,), "centers": (domain.intrinsic_dim,), "radii": ()}
    dtypes = {"patterns": np.uint8, "centers": np.float64, "radii": np.float64}
    for name in _ARRAYS:
        path = directory / f"{name}.npy"
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"cannot read {str(path)!r}: {exc}") from None
        if a.dtype != dtypes[name] or a.ndim != 1 + len(widths[name]) or a.shape[1:] != widths[name]:
            raise ValueError(f"{str(path)!r} must hold (R{''.join(f', {w}' for w in widths[name])}) "
                             f"{np.dtype(dtypes[name]).name}, got shape {a.shape} of {a.dtype}")
        arrays[name] = a
    R = len(arrays["patterns"])
    if len(arrays["centers"]) != R or len(arrays["radii"]) != R:
        raise ValueError(f"{str(directory)!r}: patterns.npy, centers.npy and radii.npy must have the same number of "
                         f"rows, got {R}, {len(arrays['centers'])} and {len(arrays['radii'])}")
    chunk = 1 << 20
    for a in range(0, R, chunk):  # streamed: the files may be larger than memory
        c, r = arrays["centers"][a:a + chunk], arrays["radii"][a:a + chunk]
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(r)) and np.all(r > 0)):
            raise ValueError(f"{str(directory)!r}: witnesses and radii must be finite, radii positive")
    part = Partition._from_packed(net, domain, arrays["patterns"], arrays["centers"], arrays["radii"],
                                  meta["layer_counts"], status=meta["status"], tol=meta["tol"], lps=meta["lps"],
                                  lp_iterations=meta["lp_iterations"], seconds=meta["seconds"])
    return _checked(part, meta["message"], _witnesses_pass)
