"""Pruning by the partition: exactly removable units, spline redundancy scores, layerwise and global pruning.

In the spline view a unit of a layer contributes one hyperplane (for a ReLU, ``w . h + b = 0`` in the layer's
input space) to the subdivision of every cell of the partition of the layers before it (Balestriero & Baraniuk,
"A Spline Theory of Deep Networks", ICML 2018; You, Balestriero et al., "Max-Affine Spline Insights Into Deep
Network Pruning", TMLR 2022, Section 3). Removing units removes those hyperplanes. This module gives

* **exactly removable units** on a domain ``D`` (:func:`stable_units`, :func:`remove_stable_units`): a unit that
  chooses one piece everywhere on ``D`` (a ReLU whose pre-activation keeps one sign) adds no hyperplane there; it
  is deleted when that piece is constant (an always-off ReLU) or folded into the next layer when it is affine (an
  always-on ReLU), and the smaller network equals the original on ``D``;
* **spline redundancy scores** per unit: the cosine similarity of its hyperplane to the other units' of its
  layer (:func:`hyperplane_similarity`, :func:`redundancy_scores`), and the exact effect of removing it on ``D``
  (:func:`removal_effect`: regions merged and the volume whose code changes);
* **layerwise and global pruning** by these scores, or by weight magnitude for comparison (:func:`prune`).
"""
from __future__ import annotations

import numbers
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from ._checks import Deadline, check_domain, check_int
from .domains import Domain
from .network import Layer, Network

__all__ = ["PrunedNetwork", "RemovalEffect", "StableUnits", "hyperplane_similarity", "magnitude_scores", "prune",
           "redundancy_scores", "removal_effect", "remove_stable_units", "remove_units", "select_units",
           "stable_units"]

#: Relative residual below which an always-on unit's weights count as a combination of other always-on units':
#: it is then folded into the next layer through them (the outputs move by about this fraction).
_DEPENDENCE_RTOL = 1e-13


def _check_net(net) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a relutope.Network, got {type(net).__name__}")
    return net


def _unit_offsets(net: Network) -> np.ndarray:
    """Global index of the first unit of every layer, shape (L + 1,)."""
    return np.concatenate([[0], np.cumsum([layer.n_units for layer in net.layers])]).astype(np.int64)


# ---------------------------------------------------------------------------------------------- stable units
@dataclass
class StableUnits:
    """Which units choose one piece on all of a domain.

    Attributes
    ----------
    piece : ndarray, shape (n_units,), int64
        The piece every input of the domain chooses, or -1 where the unit's choice varies (its hyperplane, or one
        of its argmax boundaries, cuts the domain) or could not be decided (``complete`` False).
    margin : ndarray, shape (n_units,), float64
        How far from a tie the chosen piece stays on the domain: ``min over D`` of (chosen piece - every other
        piece), exact; NaN where ``piece`` is -1 and for one-piece units (identity), which are trivially stable.
    rtol : float
        The relative tolerance a margin had to exceed (see :func:`stable_units`).
    complete : bool
        False when a limit stopped a bound computation: the layers from there on are left undecided (-1).
    status : str
    seconds : float
    """

    piece: np.ndarray
    margin: np.ndarray
    rtol: float
    complete: bool
    status: str
    seconds: float

    @property
    def stable(self) -> np.ndarray:
        """Whether each unit is stable on the domain, shape (n_units,), bool."""
        return self.piece >= 0


def _piece_pairs(layer: Layer) -> Tuple[np.ndarray, np.ndarray, List[Tuple[int, int, int]]]:
    """Rows ``C h + d`` = piece s - piece r of every pair r < s of every multi-piece unit, and (unit, r, s)."""
    rows, offs, pairs = [], [], []
    for k in range(layer.n_units):
        p0, K = int(layer.piece_start[k]), int(layer.n_pieces[k])
        for r in range(K):
            for s in range(r + 1, K):
                rows.append(layer.A[p0 + s] - layer.A[p0 + r])
                offs.append(layer.c[p0 + s] - layer.c[p0 + r])
                pairs.append((k, r, s))
    if not rows:
        return np.zeros((0, layer.in_dim)), np.zeros(0), pairs
    return np.array(rows), np.array(offs), pairs


def stable_units(net: Network, domain: Domain, *, rtol: float = 1e-9, tol: Optional[float] = None,
                 max_regions: Optional[int] = None, time_limit: Optional[float] = None) -> StableUnits:
    """Find the units that choose one piece on all of a domain, from exact pre-activation bounds.

    Parameters
    ----------
    net : Network
    domain : Domain
        Bounded (a :class:`~relutope.Box`, :class:`~relutope.Polytope` or bounded :class:`~relutope.Slice`).
    rtol : float, optional
        Relative safety margin: piece ``r`` of a unit is declared chosen on all of ``D`` only when, for every
        other piece ``s``, ``min_D (f_r - f_s) > rtol * M`` with ``M = |c_r - c_s| + sum_i |a_r,i - a_s,i|
        max_D |h_i|`` the size of the terms the difference is computed from (``h`` the layer's input). The test
        is invariant under rescaling of the inputs, weights and domain, and a unit whose pre-activation merely
        touches zero on ``D`` (a tie) is never declared stable.
    tol, max_regions
        As in :func:`relutope.output_bounds` (for every layer's bound computation).
    time_limit : float, optional
        Seconds for the whole call, every layer's bound computation given what is left of it.

    Returns
    -------
    StableUnits

    Raises
    ------
    TypeError, ValueError
        On a bad network, domain or ``rtol``, or an unbounded domain.

    Notes
    -----
    The pre-activations of layer ``l`` are affine functions of the output ``h`` of layers ``0 .. l-1``; their
    exact minimum and maximum over ``D`` are those of the truncated network's outputs, computed by
    :func:`relutope.output_bounds` region by region of the truncated network's partition (for layer 0, of the
    identity map). For a unit with pieces ``f_0 .. f_{K-1}`` (a ReLU: ``f_0 = 0``, ``f_1 = z``) piece ``r`` is
    chosen everywhere on ``D`` iff ``f_r - f_s > 0`` on ``D`` for every ``s != r`` (ties aside). Stable units are
    the *stably active / inactive* neurons of the verification literature (Tjeng, Xiao & Tedrake, "Evaluating
    Robustness of Neural Networks with Mixed Integer Programming", ICLR 2019), here decided exactly.

    The bounds are exact over the regions :func:`relutope.output_bounds` visits, those holding a ball of radius
    ``tol``; a sliver thinner than that lies within about ``tol`` of visited regions, where a pre-activation can
    differ from the visited values by its Lipschitz constant times about ``tol`` (``1e-9`` of the domain's size
    by default), well inside the margin ``rtol * M`` unless the layer's input varies far more steeply than its
    range over the domain suggests.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.pruning import stable_units
    >>> net = relutope.Network.from_weights([(np.array([[1.0], [1.0], [-1.0]]), np.array([0.0, 5.0, -5.0])),
    ...                                      (np.ones((1, 3)), np.zeros(1))])
    >>> stable_units(net, relutope.Box([-1.0], [1.0])).piece.tolist()   # cut, always on, always off, output
    [-1, 1, 0, 0]
    """
    from .verify import output_bounds

    _check_net(net)
    check_domain(domain)
    if not domain.bounded:
        raise ValueError("domain must be bounded: stable units are decided from finite pre-activation bounds")
    if isinstance(rtol, (bool, np.bool_)) or not isinstance(rtol, numbers.Real) or not (0 < rtol < 1):
        raise ValueError(f"rtol must be a number in (0, 1), got {rtol!r}")
    start = time.perf_counter()
    piece = np.full(net.n_units, -1, dtype=np.int64)
    margin = np.full(net.n_units, np.nan)
    offsets = _unit_offsets(net)
    status, complete = "complete", True
    clock = Deadline(time_limit)  # one limit for the whole call (it was given to every layer's output_bounds)
    for l, layer in enumerate(net.layers):
        one = np.flatnonzero(layer.n_pieces == 1)
        piece[offsets[l] + one] = 0
        rows, offs, pairs = _piece_pairs(layer)
        if not pairs:
            continue
        prefix = Network(net.layers[:l]) if l > 0 else Network([Layer.affine(np.eye(net.in_dim),
                                                                            np.zeros(net.in_dim), "identity")])
        n_in = layer.in_dim
        C = np.vstack([rows, np.eye(n_in)])
        if clock.passed():
            status, complete = "time_limit", False
            break
        b = output_bounds(prefix, domain, C, np.concatenate([offs, np.zeros(n_in)]), tol=tol,
                          max_regions=max_regions, time_limit=clock.left())
        if not b.complete:
            status, complete = b.status, False
            break
        hmax = np.maximum(np.abs(b.lower[len(pairs):]), np.abs(b.upper[len(pairs):]))
        scale = np.abs(offs) + np.abs(rows) @ hmax
        lo, hi = b.lower[:len(pairs)], b.upper[:len(pairs)]
        thr = rtol * scale
        # best[k][r]: min over D of f_r - f_s over s != r (the margin of piece r)
        K = layer.n_pieces
        best = [np.full(int(K[k]), np.inf) for k in range(layer.n_units)]
        ok = [np.ones(int(K[k]), dtype=bool) for k in range(layer.n_units)]
        for i, (k, r, s) in enumerate(pairs):  # row i is f_s - f_r
            best[k][s] = min(best[k][s], lo[i])
            best[k][r] = min(best[k][r], -hi[i])
            ok[k][s] &= lo[i] > thr[i]
            ok[k][r] &= -hi[i] > thr[i]
        for k in range(layer.n_units):
            if K[k] < 2:
                continue
            winners = np.flatnonzero(ok[k])
            if winners.size == 1:
                piece[offsets[l] + k] = int(winners[0])
                margin[offsets[l] + k] = float(best[k][winners[0]])
    return StableUnits(piece, margin, float(rtol), complete, status, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------- network surgery
class _Editable:
    """A network as per-layer lists of units (their pieces' rows and offsets), for surgery."""

    def __init__(self, net: Network):
        self.rows: List[List[np.ndarray]] = []  # rows[l][k]: (K, in_dim) pieces of unit k of layer l
        self.offs: List[List[np.ndarray]] = []
        self.origin: List[List[int]] = []  # original global unit index of every unit
        g = 0
        for layer in net.layers:
            self.rows.append([layer.A[layer.piece_start[k]:layer.piece_start[k + 1]].copy()
                              for k in range(layer.n_units)])
            self.offs.append([layer.c[layer.piece_start[k]:layer.piece_start[k + 1]].copy()
                              for k in range(layer.n_units)])
            self.origin.append(list(range(g, g + layer.n_units)))
            g += layer.n_units

    def next_weights(self, l: int) -> Tuple[np.ndarray, np.ndarray]:
        """All pieces of layer l + 1 stacked: A (P, n_l), c (P,)."""
        return np.vstack(self.rows[l + 1]), np.concatenate(self.offs[l + 1])

    def set_next(self, l: int, A: np.ndarray, c: np.ndarray) -> None:
        counts = [len(o) for o in self.offs[l + 1]]
        cut = np.cumsum(counts)[:-1]
        self.rows[l + 1] = list(np.split(A, cut))
        self.offs[l + 1] = list(np.split(c, cut))

    def delete(self, l: int, keep: Sequence[int]) -> None:
        """Keep only the units ``keep`` of layer l (and the matching columns of layer l + 1)."""
        keep = list(keep)
        self.rows[l] = [self.rows[l][k] for k in keep]
        self.offs[l] = [self.offs[l][k] for k in keep]
        self.origin[l] = [self.origin[l][k] for k in keep]
        if l + 1 < len(self.rows):
            self.rows[l + 1] = [r[:, keep] for r in self.rows[l + 1]]

    def network(self) -> Network:
        layers = [Layer(np.vstack(r), np.concatenate(o), np.array([len(x) for x in o], dtype=np.int32))
                  for r, o in zip(self.rows, self.offs)]
        return Network(layers)


def _hidden_unit_indices(net: Network, units, name: str = "units") -> np.ndarray:
    arr = np.asarray(units)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer) or arr.ndim != 1:
        raise TypeError(f"{name} must be a 1-D array of integer unit indices, got dtype {arr.dtype} and shape "
                        f"{arr.shape}")
    last = _unit_offsets(net)[-2]
    if np.any(arr < 0) or np.any(arr >= last):
        raise ValueError(f"{name} must index hidden units (0 <= unit < {last}; the output layer's units cannot be "
                         f"removed), got {arr[(arr < 0) | (arr >= last)][:5].tolist()}")
    if len(np.unique(arr)) != len(arr):
        raise ValueError(f"{name} names a unit twice")
    return arr.astype(np.int64)


def remove_units(net: Network, units) -> Network:
    """Delete hidden units: their output is replaced by zero (their pieces and the next layer's columns go).

    Parameters
    ----------
    net : Network
    units : array_like of int
        Global indices of hidden units (not of the output layer).

    Returns
    -------
    Network
        For a ReLU unit this is the network with the unit switched off everywhere (the usual structured
        pruning of a neuron). Unlike :func:`remove_stable_units` it changes the function where the unit was on.

    Raises
    ------
    TypeError, ValueError
        When ``units`` is not an integer array of distinct hidden units, or would empty a layer.
    """
    _check_net(net)
    units = _hidden_unit_indices(net, units)
    offsets = _unit_offsets(net)
    ed = _Editable(net)
    for l in range(len(net) - 1):
        drop = set((units[(units >= offsets[l]) & (units < offsets[l + 1])] - offsets[l]).tolist())
        if not drop:
            continue
        keep = [k for k in range(net.layers[l].n_units) if k not in drop]
        if not keep:
            raise ValueError(f"units would remove every unit of layer {l}")
        ed.delete(l, keep)
    return ed.network()


@dataclass
class PrunedNetwork:
    """A network with its exactly removable units removed (:func:`remove_stable_units`).

    Attributes
    ----------
    network : Network
        Equal to the original on the domain (up to float64 rounding in the folded weights).
    stable : StableUnits
        The stability of the original's units.
    origin : ndarray, shape (network.n_units,), int64
        For every unit of the pruned network, the original unit it is (always-on units folded through others
        keep the index of the unit kept).
    removed : ndarray, shape (original n_units,), bool
        The original units that are no longer units of their own.
    always_off, always_on : int
        Removed hidden units whose chosen piece is constant (deleted; for a ReLU: inactive on the whole domain)
        or affine (folded into the next layer).
    to_identity : int
        Always-on hidden units kept as one-piece (identity) units: their weights are not a combination of other
        kept always-on units' (the next layer needs them), but they no longer cut the domain.
    layers_merged : int
        Hidden layers in which every unit was stable, composed into the next layer.
    """

    network: Network
    stable: StableUnits
    origin: np.ndarray
    removed: np.ndarray
    always_off: int
    always_on: int
    to_identity: int
    layers_merged: int


def remove_stable_units(net: Network, domain: Domain, *, stable: Optional[StableUnits] = None,
                        **kwargs) -> PrunedNetwork:
    """The smaller network equal to ``net`` on ``domain``: stable hidden units deleted or folded into the next layer.

    Parameters
    ----------
    net : Network
    domain : Domain
        Bounded.
    stable : StableUnits, optional
        From :func:`stable_units` for this network and domain; computed when not given.
    **kwargs
        Passed to :func:`stable_units` (``rtol``, ``tol``, ``max_regions``, ``time_limit``).

    Returns
    -------
    PrunedNetwork

    Raises
    ------
    TypeError, ValueError
        As :func:`stable_units`, or when ``stable`` does not fit the network.

    Notes
    -----
    Layer by layer (hidden layers only; the output layer is kept): a stable unit computes its chosen piece
    ``f(h) = a . h + c`` on all of the domain. When ``a = 0`` (an always-off ReLU) it is the constant ``c``, added
    to the next layer's offsets through the unit's column, and the unit is deleted. Otherwise (an always-on
    ReLU) it is affine: when ``a`` is a combination ``sum_j m_j a_j`` of always-on units ``j`` already kept
    (relative residual below ``1e-13``; the candidates are taken
    in the order of a column-pivoted QR factorisation, most independent first), the next layer reads it through them (its column ``w`` moves to
    ``w m_j`` on their columns, plus ``w (c - sum_j m_j c_j)`` to the offsets) and it is deleted; otherwise it
    is kept as an identity unit computing ``f``. When every unit of a hidden layer is stable the layer is the
    affine map ``h -> S h + s`` on the domain and is composed into the next layer. No kept unit changes its
    function on the domain, and a removed unit added no hyperplane there, so the partition of the domain is
    the same (You, Balestriero et al., TMLR 2022, Section 3: a node whose hyperplane does not cut the region of
    interest does not shape its partition).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.pruning import remove_stable_units
    >>> net = relutope.Network.random([2, 16, 16, 1], seed=3)
    >>> box = relutope.Box([0.5, 0.5], [0.6, 0.6])
    >>> pruned = remove_stable_units(net, box)
    >>> pruned.network.n_units < net.n_units
    True
    >>> x = box.sample(1000, rng=0)
    >>> bool(np.allclose(pruned.network(x), net(x), rtol=1e-12, atol=0))
    True
    """
    _check_net(net)
    if stable is None:
        stable = stable_units(net, domain, **kwargs)
    elif not isinstance(stable, StableUnits) or stable.piece.shape != (net.n_units,):
        raise ValueError(f"stable must be the StableUnits of this network ({net.n_units} units)")
    ed = _Editable(net)
    off = on = ident = merged = 0
    l = 0
    while l < len(ed.rows) - 1:
        origin = ed.origin[l]
        chosen = [int(stable.piece[g]) for g in origin]
        if all(p >= 0 for p in chosen):  # the layer is affine on the domain: compose it into the next
            S = np.array([ed.rows[l][k][p] for k, p in enumerate(chosen)])
            s = np.array([ed.offs[l][k][p] for k, p in enumerate(chosen)])
            A, c = ed.next_weights(l)
            new_rows = A @ S
            counts = [len(o) for o in ed.offs[l + 1]]
            ed.rows[l + 1] = list(np.split(new_rows, np.cumsum(counts)[:-1]))
            ed.offs[l + 1] = list(np.split(c + A @ s, np.cumsum(counts)[:-1]))
            for k, p in enumerate(chosen):
                if net.n_pieces[origin[k]] > 1 and not np.any(ed.rows[l][k][p]):
                    off += 1
                else:
                    on += 1
            del ed.rows[l], ed.offs[l], ed.origin[l]
            merged += 1
            continue  # the next layer is now layer l
        A, c = ed.next_weights(l)
        keep, affine = [], []
        for k, p in enumerate(chosen):
            if p < 0:
                keep.append(k)
            elif not np.any(ed.rows[l][k][p]):  # constant on the domain: into the next layer's offsets
                c = c + A[:, k] * float(ed.offs[l][k][p])
                off += 1
            else:
                affine.append(k)
        if affine:  # most independent rows first (column-pivoted QR), so that the basis is well conditioned
            from scipy.linalg import qr

            rows = np.array([ed.rows[l][k][chosen[k]] for k in affine])
            affine = [affine[i] for i in qr(rows.T, mode="r", pivoting=True)[1]]
        basis: List[int] = []  # indices (in layer l) of the always-on units kept, as identity units
        for k in affine:
            a, b0 = ed.rows[l][k][chosen[k]], float(ed.offs[l][k][chosen[k]])
            if basis:
                B = np.array([ed.rows[l][j][0] for j in basis])
                m, *_ = np.linalg.lstsq(B.T, a, rcond=None)
                if np.linalg.norm(B.T @ m - a) <= _DEPENDENCE_RTOL * np.linalg.norm(a):
                    cb = np.array([float(ed.offs[l][j][0]) for j in basis])
                    A[:, basis] += np.outer(A[:, k], m)
                    c = c + A[:, k] * (b0 - m @ cb)
                    on += 1
                    continue
            if net.n_pieces[origin[k]] > 1:
                ident += 1
            ed.rows[l][k] = a[None, :].copy()
            ed.offs[l][k] = np.array([b0])
            basis.append(k)
            keep.append(k)
        ed.set_next(l, A, c)
        ed.delete(l, sorted(keep))
        l += 1
    pruned = ed.network()
    origin = np.concatenate([np.asarray(o, dtype=np.int64) for o in ed.origin])
    removed = np.ones(net.n_units, dtype=bool)
    removed[origin] = False
    return PrunedNetwork(pruned, stable, origin, removed, off, on, ident, merged)


# ---------------------------------------------------------------------------------------------- redundancy scores
def _hyperplanes(layer: Layer) -> np.ndarray:
    """Augmented hyperplane ``[a, c]`` (n_units, in_dim + 1) of every two-piece unit (f_1 - f_0); NaN rows for
    units with another number of pieces."""
    H = np.full((layer.n_units, layer.in_dim + 1), np.nan)
    two = np.flatnonzero(layer.n_pieces == 2)
    p = layer.piece_start[two]
    H[two, :-1] = layer.A[p + 1] - layer.A[p]
    H[two, -1] = layer.c[p + 1] - layer.c[p]
    return H


def _layer_index(net: Network, layer) -> int:
    return check_int(layer, "layer", 0, len(net) - 1)


def hyperplane_similarity(net: Network, layer: int) -> np.ndarray:
    """Cosine similarity between the hyperplanes of a layer's units, in the layer's input space.

    Parameters
    ----------
    net : Network
    layer : int
        Index of the layer.

    Returns
    -------
    ndarray, shape (n, n), float64
        ``S[j, k] = <u_j, u_k> / (|u_j| |u_k|)`` with ``u_k = [a_k, c_k]`` the normal and offset of unit ``k``'s
        hyperplane ``a_k . h + c_k = 0`` (for a two-piece unit, piece 1 minus piece 0: a ReLU's weights and bias).
        NaN in the rows and columns of units with another number of pieces or a zero ``u_k``. ``|S[j, k]| = 1``
        when the two units cut the layer's input space along the same hyperplane.

    Raises
    ------
    TypeError, ValueError
        On a bad network or layer index.

    Notes
    -----
    You, Balestriero et al., "Max-Affine Spline Insights Into Deep Network Pruning", TMLR 2022, Section 5
    (spline pruning): units whose hyperplanes nearly coincide with another's subdivide the partition
    redundantly, and the similarity of ``(w, b)`` measures it.
    """
    _check_net(net)
    H = _hyperplanes(net.layers[_layer_index(net, layer)])
    norm = np.linalg.norm(H, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        U = H / np.where(norm > 0, norm, np.nan)[:, None]
    return U @ U.T


def redundancy_scores(net: Network) -> np.ndarray:
    """The spline redundancy of every unit: its largest ``|cosine|`` to another hyperplane of its layer.

    Parameters
    ----------
    net : Network

    Returns
    -------
    ndarray, shape (n_units,), float64
        ``max_{k' != k} |S[k, k']|`` of :func:`hyperplane_similarity` within the unit's layer, in [0, 1]; NaN for
        units without a hyperplane (identity units, units of other than two pieces) and for the only unit with
        one in its layer.

    Raises
    ------
    TypeError
        When ``net`` is not a :class:`~relutope.Network`.
    """
    _check_net(net)
    out = []
    for l in range(len(net)):
        S = np.abs(hyperplane_similarity(net, l))
        np.fill_diagonal(S, np.nan)
        with np.errstate(invalid="ignore"):
            ok = ~np.all(np.isnan(S), axis=1)
        score = np.full(S.shape[0], np.nan)
        score[ok] = np.nanmax(S[ok], axis=1)
        out.append(score)
    return np.concatenate(out)


def magnitude_scores(net: Network) -> np.ndarray:
    """The l1 norm of every unit's incoming weights: the magnitude criterion of structured pruning (Li et al.,
    "Pruning Filters for Efficient ConvNets", ICLR 2017), small first.

    Parameters
    ----------
    net : Network

    Returns
    -------
    ndarray, shape (n_units,), float64
        For a two-piece unit the l1 norm of its hyperplane's normal; for others, of all its pieces' rows.

    Raises
    ------
    TypeError
        When ``net`` is not a :class:`~relutope.Network`.
    """
    _check_net(net)
    out = []
    for layer in net.layers:
        H = _hyperplanes(layer)
        mag = np.abs(H[:, :-1]).sum(axis=1)
        for k in np.flatnonzero(np.isnan(mag)):
            p0, p1 = layer.piece_start[k], layer.piece_start[k + 1]
            mag[k] = np.abs(layer.A[p0:p1]).sum()
        out.append(mag)
    return np.concatenate(out)


@dataclass
class RemovalEffect:
    """The exact effect on a domain of removing single units (:func:`removal_effect`).

    Attributes
    ----------
    units : ndarray, shape (n,), int64
        The units examined (global indices).
    regions : int
        Activation regions of the network on the domain.
    regions_after : ndarray, shape (n,), int64
        Regions of the network without unit ``units[i]`` (:func:`remove_units`).
    regions_merged : ndarray, shape (n,), int64
        ``regions - regions_after`` (negative when the downstream layers, moved by the removal, split more).
    volume_changed : ndarray, shape (n,), float64
        Volume (input units, within the domain's affine hull) of the inputs whose code on the remaining units
        changes when the unit is removed.
    volume_fraction : ndarray, shape (n,), float64
        ``volume_changed`` divided by the domain's volume.
    complete : bool
        False when a limit stopped an enumeration (the counts and volumes of the units examined are then those
        of the regions and cells found).
    examined : ndarray, shape (n,), bool
        False for the units the ``time_limit`` left unexamined: their ``regions_after`` is -1, their
        ``regions_merged`` 0 and their volumes NaN.
    """

    units: np.ndarray
    regions: int
    regions_after: np.ndarray
    regions_merged: np.ndarray
    volume_changed: np.ndarray
    volume_fraction: np.ndarray
    complete: bool
    examined: np.ndarray


def removal_effect(net: Network, domain: Domain, units=None, *, tol: Optional[float] = None,
                   max_regions: Optional[int] = None, time_limit: Optional[float] = None) -> RemovalEffect:
    """The exact effect on a domain of removing each of some hidden units: regions merged, volume whose code changes.

    Parameters
    ----------
    net : Network
    domain : Domain
        Bounded, of dimension <= 6 (:data:`relutope.geometry.MAX_VERTEX_DIM`; the volumes are exact there).
    units : array_like of int, optional
        Global indices of hidden units; default: every hidden unit.
    tol, max_regions
        As in :func:`relutope.enumerate_regions` (for every enumeration).
    time_limit : float, optional
        Seconds for the whole call, every enumeration given what is left of it; the units not reached are left
        unexamined (``examined``).

    Returns
    -------
    RemovalEffect

    Raises
    ------
    TypeError, ValueError
        On bad units (as :func:`remove_units`), a bad ``time_limit``, or a domain that is unbounded or of dimension
        > 6 (:data:`relutope.geometry.MAX_VERTEX_DIM`).

    Notes
    -----
    For each unit ``k`` the network without it (:func:`remove_units`) is compared with the original on the
    common refinement of their partitions (:func:`relutope.refinement.common_refinement`): on every cell both
    codes are constant, and the cell's volume counts when the original's code on the units other than ``k``
    differs from the pruned network's code. Removing a unit deletes its hyperplane and moves every hyperplane
    downstream of it (You, Balestriero et al., TMLR 2022, Section 3).
    """
    from .enumerate import enumerate_regions
    from .refinement import common_refinement, domain_volume

    _check_net(net)
    if units is None:
        units = np.arange(_unit_offsets(net)[-2])
    units = _hidden_unit_indices(net, units)
    clock = Deadline(time_limit)  # one limit for the whole call (it was given to each of its 2n + 1 enumerations)
    kw = dict(tol=tol, max_regions=max_regions)
    base = enumerate_regions(net, domain, time_limit=clock.left(), **kw)
    complete = base.complete
    total = domain_volume(domain)  # (not the volume of the regions found: a limit may have stopped the run)
    after = np.full(len(units), -1, dtype=np.int64)
    changed = np.full(len(units), np.nan)
    examined = np.zeros(len(units), dtype=bool)
    for i, k in enumerate(units):
        if clock.passed() or base.status == "interrupted":
            complete = False
            break
        smaller = remove_units(net, [k])
        part = enumerate_regions(smaller, domain, time_limit=clock.left(), **kw)
        if clock.passed() or part.status == "interrupted":
            complete = False
            break
        ref = common_refinement([net, smaller], domain, time_limit=clock.left(), **kw)
        if ref.partition.status == "interrupted":
            complete = False
            break
        after[i], examined[i] = len(part), True
        complete = complete and part.complete and ref.complete
        others = np.delete(np.arange(net.n_units), k)
        differ = np.any(ref.patterns(0)[:, others] != ref.patterns(1), axis=1)
        changed[i] = float(ref.volumes()[differ].sum())
    merged = np.where(examined, len(base) - after, 0)
    return RemovalEffect(units, len(base), after, merged, changed, changed / total, complete, examined)


# ---------------------------------------------------------------------------------------------- pruning
def select_units(net: Network, amount: float, *, scope: str = "layer",
                 criterion: Union[str, np.ndarray] = "spline") -> np.ndarray:
    """Choose hidden units to prune, layer by layer or over the whole network.

    Parameters
    ----------
    net : Network
    amount : float
        Fraction of hidden units to prune, in [0, 1): per layer (``scope="layer"``: ``round(amount * width)`` of
        each hidden layer) or of all hidden units (``scope="global"``). Every layer keeps at least one unit.
    scope : {"layer", "global"}, optional
    criterion : {"spline", "magnitude"} or ndarray of shape (n_units,), optional
        ``"spline"``: greedily the unit whose hyperplane is most similar to a remaining one of its layer
        (:func:`redundancy_scores`, recomputed among the remaining units after every choice, so that of two
        coinciding hyperplanes one stays); ``"magnitude"``: the smallest :func:`magnitude_scores`; an array:
        the largest scores first (e.g. ``-removal_effect(...).volume_changed`` laid out per unit). NaN scores
        (units without a hyperplane) are chosen last.

    Returns
    -------
    ndarray of int64
        Global indices of the units to prune, in the order chosen.

    Raises
    ------
    TypeError, ValueError
        As :func:`prune`.
    """
    _check_net(net)
    if isinstance(amount, (bool, np.bool_)) or not isinstance(amount, numbers.Real) or not (0 <= amount < 1):
        raise ValueError(f"amount must be a fraction in [0, 1), got {amount!r}")
    if not isinstance(scope, str) or scope not in ("layer", "global"):
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
    offsets = _unit_offsets(net)
    hidden = range(len(net) - 1)
    widths = [net.layers[l].n_units for l in hidden]
    if isinstance(criterion, str):
        if criterion not in ("spline", "magnitude"):
            raise ValueError(f"criterion must be 'spline', 'magnitude' or an array of scores, got {criterion!r}")
        fixed = -magnitude_scores(net) if criterion == "magnitude" else None
    else:
        try:
            fixed = np.asarray(criterion, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"criterion must be 'spline', 'magnitude' or an array of scores (numbers), got "
                            f"{type(criterion).__name__}") from None
        if fixed.shape != (net.n_units,):
            raise ValueError(f"criterion scores must have shape ({net.n_units},), got {fixed.shape}")
    if scope == "layer":
        quota = {l: min(int(round(amount * widths[l])), widths[l] - 1) for l in hidden}
        total = sum(quota.values())
    else:
        quota = {l: widths[l] - 1 for l in hidden}
        total = min(int(round(amount * sum(widths))), sum(quota.values()))
    alive = [np.ones(w, dtype=bool) for w in widths]
    sims = [np.abs(hyperplane_similarity(net, l)) for l in hidden] if fixed is None else None
    chosen: List[int] = []
    while len(chosen) < total:
        best, best_score = None, -np.inf
        for l in hidden:
            if quota[l] == 0:
                continue
            if fixed is None:
                S = sims[l][np.ix_(alive[l], alive[l])].copy()
                np.fill_diagonal(S, np.nan)
                idx = np.flatnonzero(alive[l])
                with np.errstate(invalid="ignore"):
                    score = np.array([np.nanmax(r) if np.any(~np.isnan(r)) else np.nan for r in S])
            else:
                idx = np.flatnonzero(alive[l])
                score = fixed[offsets[l] + idx]
            score = np.where(np.isnan(score), -np.inf, score)
            j = int(np.argmax(score))
            if best is None or score[j] > best_score:
                best, best_score = (l, int(idx[j])), score[j]
        if best is None:
            break
        l, k = best
        alive[l][k] = False
        quota[l] -= 1
        chosen.append(int(offsets[l] + k))
    return np.array(chosen, dtype=np.int64)


def prune(net: Network, amount: float, *, scope: str = "layer",
          criterion: Union[str, np.ndarray] = "spline") -> Tuple[Network, np.ndarray]:
    """Prune a fraction of the hidden units by a criterion (:func:`select_units`, then :func:`remove_units`).

    Parameters
    ----------
    net : Network
    amount : float
        Fraction of hidden units to prune, in [0, 1) (as :func:`select_units`).
    scope : {"layer", "global"}, optional
    criterion : {"spline", "magnitude"} or ndarray of shape (n_units,), optional
        As :func:`select_units`.

    Returns
    -------
    network : Network
        The smaller network (it differs from the original where a pruned unit was active).
    units : ndarray of int64
        The original indices of the units pruned.

    Raises
    ------
    TypeError
        When ``net`` is not a :class:`~relutope.Network`, or ``criterion`` is neither a name nor numeric scores.
    ValueError
        When ``amount`` is not a number in [0, 1), ``scope`` is unknown, or ``criterion`` is an unknown name or
        scores not of shape (n_units,).

    Examples
    --------
    >>> import relutope
    >>> from relutope.pruning import prune
    >>> net = relutope.Network.random([4, 10, 10, 2], seed=0)
    >>> small, units = prune(net, 0.3, scope="layer", criterion="spline")
    >>> small.widths, len(units)
    ([4, 7, 7, 2], 6)
    """
    units = select_units(net, amount, scope=scope, criterion=criterion)
    return remove_units(net, units), units
