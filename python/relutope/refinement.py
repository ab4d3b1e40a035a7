"""The common refinement of several networks' partitions of one domain.

Two networks on the same inputs partition a domain into their own activation regions; the cells on which both
codes are constant are the regions of one network that holds both sets of units side by side (a block network:
layer ``l`` carries every network's layer-``l`` units, each reading only its own network's previous layer). Its
activation regions are exactly the common refinement, and each cell's pattern splits into the networks' codes.
This is what exact comparisons of partitions integrate over: the checkpoint distance of early-bird tickets
(:mod:`relutope.early_bird`; You et al., "Max-Affine Spline Insights Into Deep Network Pruning", TMLR 2022,
Section 4) and the effect of removing a unit (:mod:`relutope.pruning`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .domains import Domain
from .network import Layer, Network
from .partition import Partition

__all__ = ["CommonRefinement", "joint_network", "common_refinement", "cell_volumes", "domain_volume"]


def _check_networks(networks) -> List[Network]:
    try:
        nets = list(networks)
    except TypeError:
        raise TypeError(f"networks must be a sequence of relutope.Network, got {type(networks).__name__}") from None
    if not nets:
        raise ValueError("networks must hold at least one Network")
    for i, net in enumerate(nets):
        if not isinstance(net, Network):
            raise TypeError(f"networks[{i}] must be a relutope.Network, got {type(net).__name__}")
        if net.in_dim != nets[0].in_dim:
            raise ValueError(f"networks[{i}] has {net.in_dim} inputs but networks[0] has {nets[0].in_dim}")
    return nets


def joint_network(networks: Sequence[Network]) -> Tuple[Network, List[np.ndarray]]:
    """One network holding the units of several networks side by side (a block network).

    Parameters
    ----------
    networks : sequence of Network
        Networks with the same number of inputs; their depths and widths may differ.

    Returns
    -------
    joint : Network
        Layer ``l`` holds layer ``l`` of every network in order; each network's units read only that network's
        previous layer (zero weights elsewhere; layer 0 reads the shared input). A network shallower than the
        deepest is continued by identity layers that copy its output (no pieces to choose, so no hyperplanes).
        ``joint(x)`` is the concatenation of every ``networks[i](x)``.
    units : list of ndarray of int64, one per network, shape (networks[i].n_units,)
        Where each network's units are among the joint network's: ``joint.activation_pattern(x)[:, units[i]]``
        equals ``networks[i].activation_pattern(x)``.

    Raises
    ------
    TypeError, ValueError
        When an element is not a :class:`Network` or the input dimensions differ.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> from relutope.refinement import joint_network
    >>> a, b = relutope.Network.random([2, 3, 1], seed=0), relutope.Network.random([2, 4, 4, 1], seed=1)
    >>> joint, units = joint_network([a, b])
    >>> x = np.random.default_rng(0).normal(size=(5, 2))
    >>> bool(np.array_equal(joint.activation_pattern(x)[:, units[1]], b.activation_pattern(x)))
    True
    """
    nets = _check_networks(networks)
    depth = max(len(n) for n in nets)
    layers, units = [], [[] for _ in nets]
    prev_widths = None  # widths of every network's previous layer, in joint order
    start = 0  # first joint unit of the current layer
    for l in range(depth):
        rows, offs, pieces, widths = [], [], [], []
        in_dim = nets[0].in_dim if l == 0 else int(sum(prev_widths))
        col = 0
        for i, net in enumerate(nets):
            if l < len(net):
                layer = net.layers[l]
                A, c, K = layer.A, layer.c, layer.n_pieces
                units[i].append(start + int(sum(widths)) + np.arange(layer.n_units))
            else:  # copy the network's output on: identity units
                w = prev_widths[i]
                A, c, K = np.eye(w), np.zeros(w), np.ones(w, dtype=np.int32)
            block = np.zeros((A.shape[0], in_dim))
            if l == 0:
                block[:] = A
            else:
                block[:, col:col + A.shape[1]] = A
                col += A.shape[1]
            rows.append(block)
            offs.append(c)
            pieces.append(K)
            widths.append(len(K))
        layers.append(Layer(np.vstack(rows), np.concatenate(offs), np.concatenate(pieces)))
        start += int(sum(widths))
        prev_widths = widths
    return Network(layers), [np.concatenate(u).astype(np.int64) for u in units]


def cell_volumes(partition: Partition) -> np.ndarray:
    """The volume of every region of a partition, in input units, shape (R,), float64.

    On a bounded two-dimensional domain the areas come from the exact polygons (:meth:`Partition.polygons`, the
    shoelace formula) scaled by the slice's area element ``sqrt(det(B^T B))``; otherwise
    :meth:`Partition.volumes` (domains of dimension <= 6, :data:`relutope.geometry.MAX_VERTEX_DIM`).

    Raises
    ------
    ValueError
        When the domain has more than 4 free coordinates or is unbounded.
    """
    if not isinstance(partition, Partition):
        raise TypeError(f"partition must be a relutope.Partition, got {type(partition).__name__}")
    domain = partition.domain
    if domain.intrinsic_dim == 2 and domain.bounded:
        from .polygons import areas

        _, basis = domain.parametrization()
        return np.abs(areas(*partition._polygon_csr())) * float(np.sqrt(np.linalg.det(basis.T @ basis)))
    return partition.volumes()


def domain_volume(domain: Domain) -> float:
    """The k-dimensional volume of a bounded domain of dimension <= 6, in input units (within its affine hull).

    A :class:`~relutope.Box` multiplies its free widths; any other domain is the one region of a network without
    hidden units, measured as :func:`cell_volumes` measures regions (the same kernel, so a complete partition's
    volumes sum to it up to rounding). What the fractions of the domain in :mod:`relutope.pruning` divide by,
    whether or not a limit stopped the enumeration.

    Raises
    ------
    TypeError
        When ``domain`` is not a Domain.
    ValueError
        When it is unbounded or of more than 6 dimensions.

    Examples
    --------
    >>> import relutope
    >>> round(domain_volume(relutope.Polytope([[1, 0], [0, 1], [-1, -1]], [1, 1, 0])), 12)  # a triangle
    2.0
    """
    from ._checks import check_domain
    from .domains import Box
    from .enumerate import enumerate_regions

    check_domain(domain)
    if isinstance(domain, Box):
        return domain.volume()
    if not domain.bounded:
        raise ValueError(f"domain must be bounded to have a volume, got {domain!r}")
    constant = Network([Layer(np.zeros((1, domain.dim)), np.zeros(1), [1])])
    return float(cell_volumes(enumerate_regions(constant, domain))[0])


@dataclass
class CommonRefinement:
    """The cells of the common refinement of several networks' partitions of a domain.

    Attributes
    ----------
    partition : Partition
        The activation regions of the joint network (:func:`joint_network`) over the domain: one per cell.
    networks : list of Network
    units : list of ndarray of int64
        Each network's units among the joint network's.
    """

    partition: Partition
    networks: List[Network]
    units: List[np.ndarray]

    def __len__(self) -> int:
        return len(self.partition)

    def patterns(self, i: int) -> np.ndarray:
        """The code of network ``i`` on every cell, shape (R, networks[i].n_units), int8."""
        return self.partition.patterns[:, self.units[i]]

    def volumes(self) -> np.ndarray:
        """The volume of every cell in input units, shape (R,), float64 (see :func:`cell_volumes`)."""
        return cell_volumes(self.partition)

    @property
    def complete(self) -> bool:
        return self.partition.complete


def common_refinement(networks: Sequence[Network], domain: Domain, *, tol: Optional[float] = None,
                      max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                      progress: bool = False) -> CommonRefinement:
    """Enumerate the common refinement of several networks' activation partitions of a domain, exactly.

    Parameters
    ----------
    networks : sequence of Network
        Networks with the same number of inputs.
    domain : Domain
    tol, max_regions, time_limit, progress
        As in :func:`relutope.enumerate_regions` (for the joint network).

    Returns
    -------
    CommonRefinement
        Its ``partition`` is incomplete when a limit stopped the run.

    Raises
    ------
    TypeError, ValueError
        As :func:`joint_network` and :func:`relutope.enumerate_regions`.

    Notes
    -----
    The regions of the joint network are the nonempty intersections of the networks' regions (a point's joint
    code is the tuple of its codes), so the enumeration is exact in the same sense as
    :func:`relutope.enumerate_regions`.
    """
    from .enumerate import enumerate_regions

    nets = _check_networks(networks)
    joint, units = joint_network(nets)
    part = enumerate_regions(joint, domain, tol=tol, max_regions=max_regions, time_limit=time_limit,
                             progress=progress)
    return CommonRefinement(part, nets, units)
