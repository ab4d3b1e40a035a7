"""Early-bird tickets from the partition: how far two checkpoints' partitions are, and when they stop moving.

Early in training a network's pruning mask stops changing, so the pruned subnetwork (the *early-bird ticket*)
can be drawn long before training ends (You et al., "Drawing Early-Bird Tickets", ICLR 2020). In the spline view
the same happens to the partition of the input space: the Spline-EB criterion (You, Balestriero et al.,
"Max-Affine Spline Insights Into Deep Network Pruning", TMLR 2022, Section 4) measures the distance between two
checkpoints' partitions as the normalised Hamming distance of their VQ codes (activation patterns) on a grid of
points of a 2-D slice through inputs, averaged over layers, and declares the ticket once the distances within a
window of recent checkpoints fall below a threshold (window 3, threshold 0.16).

This module gives that sampled distance (:func:`sampled_distance`), the exact one (:func:`exact_distance`: the
integral of the same Hamming distance over the domain, cell by cell of the common refinement of both
checkpoints' partitions, :mod:`relutope.refinement`), the detector (:class:`EarlyBirdDetector`) and a PyTorch
helper that records region counts, distances and the detector's state epoch by epoch (:class:`EarlyBirdMonitor`,
:func:`train_with_early_bird`; torch is imported only there).
"""
from __future__ import annotations

import numbers
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ._checks import check_bool, check_domain, check_int, reraise_interrupt
from .distance import layer_code_distance
from .domains import Box, Domain, Slice
from .network import Network, _as_float_array

__all__ = ["CheckpointDistance", "EarlyBirdDetector", "EarlyBirdMonitor", "code_layers", "exact_distance",
           "grid_points", "sampled_distance", "slice_through_inputs", "train_with_early_bird"]


def code_layers(network: Network) -> np.ndarray:
    """The layers whose codes carry information: those with a unit of at least two pieces, shape (L,), bool.

    The Spline-EB distance averages over these (a layer of identity units, such as a linear output layer, has a
    constant code and would only dilute the mean).

    Parameters
    ----------
    network : Network

    Returns
    -------
    ndarray, shape (L,), bool

    Raises
    ------
    TypeError
        When ``network`` is not a :class:`~relutope.Network`.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    return np.array([bool(np.any(layer.n_pieces > 1)) for layer in network.layers])


def slice_through_inputs(x1, x2, margin: float = 0.0) -> Slice:
    """The 2-D slice spanned by two inputs: ``x = t_0 x1 + t_1 x2`` for ``t`` in ``[-margin, 1 + margin]^2``.

    The plane through the origin and the two inputs (:meth:`Slice.through_points` with ``p0 = 0``), the slice
    through two inputs that Spline-EB draws its grid on; for another plane use :class:`Slice` directly.

    Raises
    ------
    TypeError, ValueError
        As :meth:`Slice.through_points` (the inputs must be linearly independent).
    """
    x1 = _as_float_array(x1, "x1", 1, promote=True)
    return Slice.through_points(np.zeros_like(x1), x1, x2, margin=margin)


def _coordinate_box(domain: Domain):
    """The bounding box (lo, hi) of a bounded 2-D domain in its coordinates t (LPs on its constraints)."""
    check_domain(domain)
    if domain.intrinsic_dim != 2 or not domain.bounded:
        raise ValueError(f"the grid needs a bounded two-dimensional domain (a 2-D box or slice), got {domain!r}")
    inner = domain.inner if isinstance(domain, Slice) else domain
    if isinstance(inner, Box) and inner.intrinsic_dim == 2:
        free = inner.lo != inner.hi
        return inner.lo[free], inner.hi[free]
    from scipy.optimize import linprog

    A, b = _centred_constraints(inner)  # (HiGHS's absolute tolerances would blur a small or far-off polygon)
    m, s = inner._center(), inner._default_scale()
    lo, hi = np.empty(2), np.empty(2)
    for j in range(2):
        c = np.eye(2)[j]
        lo[j] = m[j] + s * linprog(c, A_ub=A, b_ub=b, bounds=(None, None), method="highs").fun
        hi[j] = m[j] - s * linprog(-c, A_ub=A, b_ub=b, bounds=(None, None), method="highs").fun
    return lo, hi


def _centred_constraints(inner: Domain):
    """The constraints of a domain in coordinates ``u = (t - centre) / scale``, rows of unit norm: ``A u <= b``."""
    A, b = inner.constraints()
    m, s = inner._center(), inner._default_scale()
    norms = np.linalg.norm(A, axis=1)
    return A / norms[:, None], (b - A @ m) / (s * norms)


def grid_points(domain: Domain, n: int = 100) -> np.ndarray:
    """The centres of an ``n x n`` grid of equal cells over a bounded 2-D domain, as network inputs.

    Parameters
    ----------
    domain : Domain
        A bounded domain of intrinsic dimension 2 (a 2-D :class:`Box`, or a :class:`Slice` such as
        :func:`slice_through_inputs`).
    n : int, optional
        Points per side (Spline-EB: 100).

    Returns
    -------
    ndarray, shape (N, d), float64
        ``N = n * n`` for a box of coordinates; for another polygon, the centres of the cells of its bounding box
        that lie in it. Their mean of a function is the midpoint rule for its mean over the domain.

    Raises
    ------
    TypeError, ValueError
        When the domain is not a bounded 2-D domain, or ``n`` is not an int (TypeError) or is below 1 (ValueError).
    """
    n = check_int(n, "n")
    lo, hi = _coordinate_box(domain)
    axes = [lo[j] + (np.arange(n) + 0.5) * (hi[j] - lo[j]) / n for j in range(2)]
    t = np.stack(np.meshgrid(axes[0], axes[1], indexing="ij"), axis=-1).reshape(-1, 2)
    inner = domain.inner if isinstance(domain, Slice) else domain
    A, b = _centred_constraints(inner)
    u = (t - inner._center()) / inner._default_scale()  # (an absolute slack kept cells outside a small domain)
    inside = np.all(u @ A.T <= b + 1e-12, axis=1) if A.shape[0] else np.ones(len(t), bool)
    return domain.to_input(t[inside])


@dataclass
class CheckpointDistance:
    """The distance between two checkpoints' partitions of a domain.

    Attributes
    ----------
    distance : float
        The mean over the domain (over grid points, or integrated exactly) of the per-layer normalised Hamming
        distance of the codes, averaged over the layers of :func:`code_layers`; in [0, 1].
    per_layer : ndarray, shape (L,), float64
        The same mean for every layer separately.
    method : {"grid", "exact"}
    samples : int
        Grid points (``"grid"``) or cells of the common refinement (``"exact"``).
    complete : bool
        False when a limit stopped the exact enumeration (the value then covers the cells found only).
    seconds : float
    status : str
        ``"complete"``, or why the exact enumeration stopped (``"max_regions"``, ``"time_limit"``,
        ``"interrupted"``, ...).
    """

    distance: float
    per_layer: np.ndarray
    method: str
    samples: int
    complete: bool
    seconds: float
    status: str = "complete"


def _check_pair(net_a, net_b) -> None:
    for name, net in (("net_a", net_a), ("net_b", net_b)):
        if not isinstance(net, Network):
            raise TypeError(f"{name} must be a relutope.Network, got {type(net).__name__}")
    same = (net_a.widths == net_b.widths and net_a.n_pieces.shape == net_b.n_pieces.shape
            and np.array_equal(net_a.n_pieces, net_b.n_pieces))
    if not same:
        raise ValueError(f"net_a and net_b must be checkpoints of one architecture (the same units and pieces), "
                         f"got widths {net_a.widths} and {net_b.widths}")


def _layer_mean(network: Network, per_layer: np.ndarray) -> float:
    mask = code_layers(network)
    return float(per_layer[mask].mean()) if mask.any() else 0.0


def sampled_distance(net_a: Network, net_b: Network, domain: Domain, n: int = 100) -> CheckpointDistance:
    """The Spline-EB distance: normalised Hamming distance of the two checkpoints' codes on an ``n x n`` grid.

    Parameters
    ----------
    net_a, net_b : Network
        Two checkpoints of one architecture.
    domain : Domain
        A bounded 2-D domain (e.g. :func:`slice_through_inputs`).
    n : int, optional
        Grid points per side.

    Returns
    -------
    CheckpointDistance
        ``method="grid"``.

    Raises
    ------
    TypeError, ValueError
        When the networks differ in architecture, or as :func:`grid_points`.

    Notes
    -----
    You, Balestriero et al., TMLR 2022, Section 4 (Spline EB): the layer-wise Hamming distance of the codes of
    grid points of a 2-D slice, normalised by the layer's width, then averaged over layers and points. The grid
    mean is the midpoint rule for :func:`exact_distance`, to which it converges as ``n`` grows.
    """
    _check_pair(net_a, net_b)
    start = time.perf_counter()
    x = grid_points(domain, n)
    per_point = layer_code_distance(net_a, net_a.activation_pattern(x), net_b.activation_pattern(x))
    per_layer = per_point.mean(axis=0)
    return CheckpointDistance(_layer_mean(net_a, per_layer), per_layer, "grid", len(x), True,
                              time.perf_counter() - start)


def exact_distance(net_a: Network, net_b: Network, domain: Domain, *, tol: Optional[float] = None,
                   max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                   progress: bool = False) -> CheckpointDistance:
    """The exact partition distance of two checkpoints: the Hamming distance integrated over the domain.

    Parameters
    ----------
    net_a, net_b : Network
        Two checkpoints of one architecture.
    domain : Domain
        A bounded domain of dimension <= 6 (:data:`relutope.geometry.MAX_VERTEX_DIM`; volumes are exact there),
        typically a 2-D slice.
    tol, max_regions, time_limit, progress
        As in :func:`relutope.enumerate_regions`, for the enumeration of the common refinement.

    Returns
    -------
    CheckpointDistance
        ``method="exact"``; ``samples`` is the number of cells of the common refinement.

    Raises
    ------
    TypeError, ValueError
        When the networks differ in architecture, or the domain is unbounded or of dimension > 4.

    Notes
    -----
    On each cell ``C`` of the common refinement of both partitions (the activation regions of
    :func:`relutope.refinement.joint_network` of the pair) both codes are constant, so the per-layer distance
    ``h_l(C)`` is too, and its mean over the domain is ``sum_C vol(C) h_l(C) / vol(D)`` exactly. This is the
    quantity the grid of :func:`sampled_distance` estimates (You, Balestriero et al., TMLR 2022, Section 4).
    """
    from .refinement import common_refinement

    _check_pair(net_a, net_b)
    start = time.perf_counter()
    ref = common_refinement([net_a, net_b], domain, tol=tol, max_regions=max_regions, time_limit=time_limit,
                            progress=progress)
    vol = ref.volumes()
    per_cell = layer_code_distance(net_a, ref.patterns(0), ref.patterns(1))
    per_layer = (vol @ per_cell) / vol.sum() if len(vol) else np.zeros(len(net_a))
    return CheckpointDistance(_layer_mean(net_a, per_layer), per_layer, "exact", len(ref), ref.complete,
                              time.perf_counter() - start, ref.partition.status)


class EarlyBirdDetector:
    """Declare the early-bird ticket when recent checkpoints stop moving (Spline-EB's window test).

    Parameters
    ----------
    distance : callable
        ``distance(a, b) -> float`` between two checkpoints (what :meth:`update` is given), e.g.
        ``lambda a, b: sampled_distance(a, b, slice_).distance`` for networks.
    window : int, optional
        Checkpoints in the window, the newest included (Spline-EB: 3).
    threshold : float, optional
        The ticket is declared when the newest checkpoint is within ``threshold`` of every other checkpoint of a
        full window (Spline-EB: 0.16).

    Attributes
    ----------
    detected : int or None
        Index (0-based, in the order of :meth:`update` calls) of the checkpoint at which the ticket was first
        declared, or None.
    history : list of ndarray
        For every checkpoint, its distances to the older checkpoints of the window (oldest first; fewer than
        ``window - 1`` while the window fills).
    max_distance : list of float
        For every checkpoint, the maximum of its window's distances (``nan`` while the window is not full).

    Raises
    ------
    TypeError, ValueError
        When ``distance`` is not callable, ``window`` is not an int >= 2 or ``threshold`` is not a positive number.

    Notes
    -----
    The window is the FIFO queue of You et al., "Drawing Early-Bird Tickets", ICLR 2020 (Algorithm 1), with the
    spline partition distance in place of the mask distance (You, Balestriero et al., TMLR 2022, Section 4).

    Examples
    --------
    >>> det = EarlyBirdDetector(lambda a, b: abs(a - b), window=3, threshold=0.16)
    >>> [det.update(v) for v in (0.0, 1.0, 1.5, 1.6, 1.65, 1.7)]
    [False, False, False, False, True, True]
    >>> det.detected
    4
    """

    def __init__(self, distance: Callable, window: int = 3, threshold: float = 0.16):
        if not callable(distance):
            raise TypeError(f"distance must be callable, got {type(distance).__name__}")
        window = check_int(window, "window", 2)
        if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real) or not threshold > 0:
            raise ValueError(f"threshold must be a positive number, got {threshold!r}")
        self.distance = distance
        self.window = window
        self.threshold = float(threshold)
        self._queue: deque = deque(maxlen=self.window - 1)
        self.detected: Optional[int] = None
        self.history: List[np.ndarray] = []
        self.max_distance: List[float] = []

    def update(self, checkpoint) -> bool:
        """Add the next checkpoint; return whether the window test passes now (the ticket is there)."""
        d = np.array([float(self.distance(old, checkpoint)) for old in self._queue])
        self._queue.append(checkpoint)
        self.history.append(d)
        full = len(d) == self.window - 1
        m = float(d.max()) if full else float("nan")
        self.max_distance.append(m)
        emerged = full and m < self.threshold
        if emerged and self.detected is None:
            self.detected = len(self.history) - 1
        return emerged


def _grid_code_distance(network: Network):
    """Sampled partition distance between two lists of grid codes (one array per slice)."""
    def distance(codes_a, codes_b) -> float:
        return float(np.mean([_layer_mean(network, layer_code_distance(network, a, b).mean(axis=0))
                              for a, b in zip(codes_a, codes_b)]))
    return distance


class EarlyBirdMonitor:
    """Record a PyTorch model's partition epoch by epoch: region counts, checkpoint distances, early-bird state.

    Parameters
    ----------
    input_shape : int or sequence of int
        The model's input shape without the batch axis, as :func:`relutope.from_torch` takes it.
    slices : sequence of Domain
        Fixed bounded 2-D domains (e.g. :func:`slice_through_inputs` of training inputs) on which the regions
        are counted and the codes sampled.
    n : int, optional
        Grid points per side of every slice.
    window, threshold : optional
        Of the :class:`EarlyBirdDetector` (Spline-EB: 3 and 0.16); the distance is the grid distance of
        :func:`sampled_distance`, averaged over the slices.
    count_regions : bool, optional
        Enumerate every slice exactly at every epoch and record the number of regions.
    exact : bool, optional
        Also record the exact distance (:func:`exact_distance`) to the previous checkpoint on every slice.

    Attributes
    ----------
    records : list of dict
        One per :meth:`record` call: ``epoch``, ``regions`` (list of int per slice, or None), ``layer_distance``
        (ndarray (L,): the grid distance per layer to the previous checkpoint, averaged over slices; NaN at the
        first epoch), ``distance`` (float), ``exact_distance`` (float or None), ``max_window_distance`` and
        ``early_bird`` (the detector's state after this epoch).
    detector : EarlyBirdDetector
    codes : list of list of ndarray
        The grid codes of every epoch and slice (for :meth:`distance_matrix`).

    Notes
    -----
    torch is imported by :func:`relutope.from_torch` when :meth:`record` is first called; the model is read in
    evaluation mode and left in the mode it was in.
    """

    def __init__(self, input_shape, slices: Sequence[Domain], *, n: int = 100, window: int = 3,
                 threshold: float = 0.16, count_regions: bool = True, exact: bool = False):
        count_regions = check_bool(count_regions, "count_regions")
        exact = check_bool(exact, "exact")
        slices = list(slices)
        if not slices:
            raise ValueError("slices must hold at least one 2-D domain")
        self.input_shape = input_shape
        self.slices = slices
        self.points = [grid_points(s, n) for s in slices]
        self.count_regions = bool(count_regions)
        self.exact = bool(exact)
        self.window, self.threshold = window, threshold
        self.detector: Optional[EarlyBirdDetector] = None
        self.records: List[Dict] = []
        self.codes: List[List[np.ndarray]] = []
        self._network: Optional[Network] = None

    @property
    def detected_epoch(self) -> Optional[int]:
        """The epoch of the first record at which the ticket was declared, or None."""
        det = self.detector
        return None if det is None or det.detected is None else self.records[det.detected]["epoch"]

    def record(self, model, epoch: Optional[int] = None) -> Dict:
        """Convert ``model`` (:func:`relutope.from_torch`) and record its partition; returns the new record."""
        from .enumerate import enumerate_regions
        from .io import from_torch

        net = from_torch(model, self.input_shape)
        if self.detector is None:
            self.detector = EarlyBirdDetector(_grid_code_distance(net), self.window, self.threshold)
        else:
            _check_pair(self._network, net)
        codes = [net.activation_pattern(x) for x in self.points]
        prev = self.codes[-1] if self.codes else None
        if prev is None:
            layer_distance = np.full(len(net), np.nan)
        else:
            layer_distance = np.mean([layer_code_distance(net, a, b).mean(axis=0) for a, b in zip(prev, codes)],
                                     axis=0)
        exact = None
        if self.exact and self._network is not None:
            exact = float(np.mean([reraise_interrupt(exact_distance(self._network, net, s)).distance
                                   for s in self.slices]))  # (Ctrl-C stopped one slice, then went on)
        emerged = self.detector.update(codes)
        rec = {"epoch": len(self.records) if epoch is None else epoch,
               "regions": [len(reraise_interrupt(enumerate_regions(net, s))) for s in self.slices]
               if self.count_regions else None,
               "layer_distance": layer_distance,
               "distance": _layer_mean(net, layer_distance) if prev is not None else float("nan"),
               "exact_distance": exact,
               "max_window_distance": self.detector.max_distance[-1],
               "early_bird": emerged}
        self.records.append(rec)
        self.codes.append(codes)
        self._network = net
        return rec

    def distance_matrix(self) -> np.ndarray:
        """The grid distance between every pair of recorded epochs, shape (E, E), float64 (symmetric, zero
        diagonal): the epoch-by-epoch matrix Spline-EB plots."""
        E = len(self.codes)
        D = np.zeros((E, E))
        dist = self.detector.distance if self.detector is not None else None
        for i in range(E):
            for j in range(i + 1, E):
                D[i, j] = D[j, i] = dist(self.codes[i], self.codes[j])
        return D


def train_with_early_bird(model, loader, loss_fn, optimizer, epochs: int, monitor: EarlyBirdMonitor, *,
                          stop_at_ticket: bool = False, record_initial: bool = True) -> EarlyBirdMonitor:
    """Train a PyTorch model for some epochs, recording its partition with ``monitor`` after every epoch.

    Parameters
    ----------
    model : torch.nn.Module
        A model :func:`relutope.from_torch` accepts.
    loader : iterable of (inputs, targets)
        One epoch of batches (e.g. a ``torch.utils.data.DataLoader``); iterated once per epoch.
    loss_fn : callable
        ``loss_fn(model(inputs), targets)`` -> scalar tensor.
    optimizer : torch.optim.Optimizer
    epochs : int
    monitor : EarlyBirdMonitor
    stop_at_ticket : bool, optional
        Stop after the epoch at which the early-bird ticket is first declared.
    record_initial : bool, optional
        Record the model before training as epoch 0 (epochs are then numbered from 1).

    Returns
    -------
    EarlyBirdMonitor
        ``monitor``, with one record per epoch.

    Raises
    ------
    TypeError
        When ``epochs`` is not an int, ``monitor`` is not an :class:`EarlyBirdMonitor`, ``loss_fn`` is not
        callable, ``optimizer`` has no ``zero_grad`` and ``step``, ``loader`` is not iterable, or ``model`` is not
        a ``torch.nn.Module`` (checked in this order, before any training).
    ValueError
        When ``epochs`` is negative, ``loader`` is a one-shot iterator and ``epochs > 1`` (later epochs would
        train on nothing: pass a ``DataLoader`` or a list of batches), or a batch is not an ``(inputs, targets)``
        pair (raised at that batch).
    ModelFormatError
        When :func:`relutope.from_torch` cannot lower ``model`` with the monitor's ``input_shape`` (raised by
        the first record, before any training when ``record_initial``).
    ImportError
        When PyTorch is not installed.
    """
    from collections.abc import Iterator

    from ._checks import check_int

    epochs = check_int(epochs, "epochs", 0)
    if not isinstance(monitor, EarlyBirdMonitor):
        raise TypeError(f"monitor must be an EarlyBirdMonitor, got {type(monitor).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (outputs, targets) -> loss, got {type(loss_fn).__name__}")
    if not all(callable(getattr(optimizer, m, None)) for m in ("zero_grad", "step")):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer (with zero_grad() and step()), got "
                        f"{type(optimizer).__name__}")
    if not (hasattr(loader, "__iter__") or hasattr(loader, "__getitem__")) or isinstance(loader, (str, bytes)):
        raise TypeError(f"loader must be an iterable of (inputs, targets) batches, got {type(loader).__name__}")
    if isinstance(loader, Iterator) and epochs > 1:
        raise ValueError(f"loader is a one-shot iterator ({type(loader).__name__}): the first epoch would exhaust it "
                         "and later epochs train on nothing; pass a DataLoader or a list of batches")
    from .io.torch import _import_torch

    if not isinstance(model, _import_torch().nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if record_initial:
        monitor.record(model, epoch=0)
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in loader:
            try:
                inputs, targets = batch
            except (TypeError, ValueError):
                raise ValueError(f"loader must yield (inputs, targets) pairs, got a {type(batch).__name__} batch"
                                 ) from None
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
        model.eval()
        rec = monitor.record(model, epoch=epoch)
        if stop_at_ticket and rec["early_bird"]:
            break
    return monitor
