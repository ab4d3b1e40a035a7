"""Pictures of partitions of planar domains with matplotlib (imported only when a function is called).

Every function takes ``ax=None`` (then it draws on :func:`matplotlib.pyplot.gca`, or on new axes) and returns the
artists it made. A partition is drawn as one :class:`~matplotlib.collections.PolyCollection` coloured with
``set_array`` (one patch per region would be slow), in domain coordinates ``t`` (for a 2-D box, ``t = x``); the
pictures of slices through three inputs are those of SplineCam (Humayun et al., "SplineCam: Exact Visualization
and Characterization of Deep Network Geometry and Decision Boundaries", CVPR 2023).

Install matplotlib with ``pip install relutope[plot]``.
"""
from __future__ import annotations

import numbers
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ._checks import check_bool, check_choice, check_int, reraise_interrupt
from .domains import Domain
from .network import Network
from .partition import Partition

__all__ = ["partition", "layers", "decision_boundary", "graph", "class_components", "persistence_diagram"]

COLORS = ("pattern", "layer", "output", "volume")


def _axes(ax, three_d: bool = False):
    """``ax``, or the current axes when None; a TypeError naming ``ax`` when it is not matplotlib (3-D) axes."""
    if ax is None:
        import matplotlib.pyplot as plt

        return plt.gcf().add_subplot(projection="3d") if three_d else plt.gca()
    if three_d:
        from mpl_toolkits.mplot3d import Axes3D as kind
    else:
        from matplotlib.axes import Axes as kind
    if not isinstance(ax, kind):
        what = "3-D matplotlib axes (projection='3d')" if three_d else "matplotlib Axes"
        raise TypeError(f"ax must be {what}, got {type(ax).__name__}")
    return ax


def _label_axes(ax, part: Partition) -> None:
    """Equal aspect, and axis labels (unless set): the input coordinates for a box, else ``t_0``, ``t_1``."""
    from .domains import Box

    ax.set_aspect("equal")
    dom = part.domain
    names = [f"$x_{{{i}}}$" for i in dom.free] if isinstance(dom, Box) else ["$t_0$", "$t_1$"]
    if not ax.get_xlabel():
        ax.set_xlabel(names[0])
    if not ax.get_ylabel() and len(names) > 1:
        ax.set_ylabel(names[1])


def _shuffled_ids(keys: np.ndarray) -> np.ndarray:
    """A value in [0, 1] for every row of ``keys`` (R, n): equal rows share a value, others get spread values."""
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    n = int(inverse.max()) + 1 if inverse.size else 0
    perm = np.random.default_rng(12345).permutation(n)
    return perm[inverse] / max(n - 1, 1)


def _check_partition(part) -> None:
    if not isinstance(part, Partition):
        raise TypeError(f"expected a relutope.Partition, got {type(part).__name__}")


def partition(partition: Partition, ax=None, color: str = "pattern", edges: bool = True, cmap=None,
              layer: int = 0, **kwargs):
    """Draw every region of a partition of a planar domain.

    Parameters
    ----------
    partition : Partition
        A partition of a bounded domain of intrinsic dimension 2 (its :meth:`Partition.polygons` are drawn).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    color : {"pattern", "layer", "output", "volume"}, optional
        ``"pattern"``: every region its own colour (spread over ``cmap``, neighbours rarely alike). ``"layer"``:
        regions of the same cell of the partition induced by layers ``0..layer`` share a colour. ``"output"``: the
        network's output at the region's witness (a scalar output on a diverging scale centred at 0, else the
        argmax class). ``"volume"``: the region's area, on a log scale.
    edges : bool, optional
        Draw the region boundaries as thin dark lines.
    cmap : str or matplotlib.colors.Colormap, optional
        Default: ``"Spectral"`` for pattern and layer, ``"RdBu_r"`` (scalar) or ``"tab10"`` (classes) for output,
        ``"viridis"`` for volume.
    layer : int, optional
        The layer of ``color="layer"`` (0 = the first hidden layer).
    **kwargs
        Passed to :class:`~matplotlib.collections.PolyCollection` (e.g. ``alpha``, ``linewidths``).

    Returns
    -------
    matplotlib.collections.PolyCollection
        One polygon per region, in region order; its array holds the colour values (R,) float64.

    Raises
    ------
    TypeError
        When ``partition`` is not a Partition, or ``layer`` is not an int.
    ValueError
        When ``color`` or ``layer`` is unknown, ``layer`` is given (non-zero) with a ``color`` other than
        ``"layer"``, or the domain is not bounded and two-dimensional.

    Examples
    --------
    >>> import relutope, relutope.plot
    >>> from matplotlib.figure import Figure
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 6, 1], seed=0), relutope.Box([-1, -1], [1, 1]))
    >>> coll = relutope.plot.partition(part, ax=Figure().add_subplot())
    >>> len(coll.get_paths()) == len(part)
    True
    """
    check_bool(edges, "edges")
    from matplotlib import colors as mcolors
    from matplotlib.collections import PolyCollection

    _check_partition(partition)
    check_choice(color, "color", COLORS)
    layer = check_int(layer, "layer", 0, len(partition.network) - 1)
    if layer != 0 and color != "layer":
        raise ValueError(f"layer={layer} is only used with color='layer', got color={color!r}")
    polys = partition.polygons()
    norm = None
    if color == "pattern":
        values = _shuffled_ids(partition.patterns)
        cmap = cmap or "Spectral"
    elif color == "layer":
        net = partition.network
        end = int(sum(lay.n_units for lay in net.layers[:layer + 1]))
        values = _shuffled_ids(partition.patterns[:, :end])
        cmap = cmap or "Spectral"
    elif color == "output":
        y = partition.network(partition.witnesses) if len(partition) else np.zeros((0, partition.network.out_dim))
        if y.shape[1] == 1:
            values = y[:, 0]
            bound = float(np.abs(values).max()) if values.size else 1.0
            norm = mcolors.Normalize(-bound, bound)
            cmap = cmap or "RdBu_r"
        else:
            values = np.argmax(y, axis=1).astype(np.float64)
            norm = mcolors.Normalize(-0.5, max(y.shape[1], 10) - 0.5)
            cmap = cmap or "tab10"
    else:
        from .polygons import areas

        values = np.abs(areas(*partition._polygon_csr()))
        positive = values[values > 0]
        if positive.size:
            norm = mcolors.LogNorm(positive.min(), positive.max())
        cmap = cmap or "viridis"
    style = {"edgecolors": "0.1", "linewidths": 0.25} if edges else {"edgecolors": "face", "linewidths": 0.0}
    style.update(kwargs)
    coll = PolyCollection(polys, array=np.asarray(values, dtype=np.float64), cmap=cmap, norm=norm, **style)
    ax = _axes(ax)
    ax.add_collection(coll)
    ax.autoscale_view()
    _label_axes(ax, partition)
    return coll


def _split_layers(net: Network) -> List[int]:
    """Indices of the layers with a unit of two or more pieces (the layers that split regions)."""
    return [i for i, lay in enumerate(net.layers) if int(np.max(lay.n_pieces)) >= 2]


def layers(net: Network, domain: Domain, ax=None, color: str = "pattern", edges: bool = True, cmap=None,
           tol: Optional[float] = None, method: str = "auto", **kwargs) -> List:
    """Draw the partition after layer 1, layers 1-2, 1-2-3, ... side by side: how the regions are built.

    Panel ``l`` is the partition of the truncated network ``Network(net.layers[:l + 1])``, enumerated afresh,
    for every layer ``l`` that splits regions (a unit with two or more pieces; a linear output layer adds no
    panel). Each panel's title gives the layers and the number of regions.

    Parameters
    ----------
    net : Network
    domain : Domain
        A bounded domain of intrinsic dimension 2.
    ax : sequence of matplotlib.axes.Axes, optional
        One axes per panel (at least as many as panels). Default: a new figure with one row of panels.
    color, edges, cmap, **kwargs
        As in :func:`partition`.
    tol, method : optional
        Passed to :func:`~relutope.enumerate_regions`.

    Returns
    -------
    list of matplotlib.collections.PolyCollection
        One per panel; ``collection.partition`` is the panel's :class:`Partition`.

    Raises
    ------
    TypeError, ValueError
        For a wrong network or domain, too few axes, or the errors of :func:`partition`.
    """
    check_bool(edges, "edges")
    from .enumerate import enumerate_regions

    if not isinstance(net, Network):
        raise TypeError(f"net must be a relutope.Network, got {type(net).__name__}")
    panels = _split_layers(net) or [len(net) - 1]
    if ax is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 4.0), squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.ravel(ax)) if isinstance(ax, (Sequence, np.ndarray)) else [ax]
        if len(axes) < len(panels):
            raise ValueError(f"layers needs {len(panels)} axes (one per splitting layer), got {len(axes)}")
    out = []
    for a, lay in zip(axes, panels):
        # (Ctrl-C stopped one panel's enumeration, then drew it and went on)
        part = reraise_interrupt(enumerate_regions(Network(net.layers[:lay + 1]), domain, tol=tol, method=method))
        coll = partition(part, ax=a, color=color, edges=edges, cmap=cmap, **kwargs)
        coll.partition = part
        which = "layer 1" if lay == 0 else f"layers 1\u2013{lay + 1}"
        a.set_title(f"{which}: {len(part):,} regions")
        out.append(coll)
    return out


def _decision_segments(part: Partition, threshold: float) -> np.ndarray:
    """Segments (S, 2, 2) in t where the argmax output (or the sign of output - threshold) changes."""
    from .polygons import clip_lines

    R = len(part)
    if R == 0:
        return np.zeros((0, 2, 2))
    offsets, vertices = part._polygon_csr()
    A, b = part.affine_maps()
    origin, basis = part.domain.parametrization()
    G = A @ basis  # (R, m, 2): y = G t + g
    g = A @ origin + b
    m = G.shape[1]
    rows = np.arange(R)
    if m == 1:
        lines = np.concatenate([G[:, 0, :], (g[:, 0] - threshold)[:, None]], axis=1)
        seg, hit = clip_lines(offsets, vertices, lines, rows)
        return seg[hit]
    out = []
    for i in range(m):
        for j in range(i + 1, m):
            lines = np.concatenate([G[:, i, :] - G[:, j, :], (g[:, i] - g[:, j])[:, None]], axis=1)
            seg, hit = clip_lines(offsets, vertices, lines, rows)
            seg, r = seg[hit], rows[hit]
            if not len(seg):
                continue
            # Keep the part where classes i and j beat every other class: an interval of the segment's parameter.
            P, Q = seg[:, 0], seg[:, 1]
            yP = np.einsum("rkc,rc->rk", G[r], P) + g[r]
            yQ = np.einsum("rkc,rc->rk", G[r], Q) + g[r]
            dP = yP[:, [i]] - yP  # (S, m): y_i - y_k at P, >= 0 wanted
            dQ = yQ[:, [i]] - yQ
            lo = np.zeros(len(seg))
            hi = np.ones(len(seg))
            for k in range(m):
                if k in (i, j):
                    continue
                a0, a1 = dP[:, k], dQ[:, k]  # y_i - y_k = a0 + s (a1 - a0)
                slope = a1 - a0
                with np.errstate(divide="ignore", invalid="ignore"):
                    root = np.where(slope != 0, -a0 / slope, 0.0)
                lo = np.where(slope > 0, np.maximum(lo, root), lo)
                hi = np.where(slope < 0, np.minimum(hi, root), hi)
                dead = (slope == 0) & (a0 < 0)
                hi = np.where(dead, -1.0, hi)
            keep = hi > lo
            s0, s1 = lo[keep, None], hi[keep, None]
            P, Q = P[keep], Q[keep]
            out.append(np.stack([P + s0 * (Q - P), P + s1 * (Q - P)], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2, 2))


def decision_boundary(partition: Partition, ax=None, threshold: float = 0.0, **kwargs):
    """Draw the decision boundary of a classifier exactly, as line segments clipped region by region.

    On every region the network is affine, ``y = G t + g`` in domain coordinates, so its decision boundary there is
    straight: for one output, the line ``y_0 = threshold`` (the sign of a logit); for ``m > 1`` outputs, for every
    pair of classes ``i < j`` the part of the line ``y_i = y_j`` where both beat every other class. Each line is
    clipped to the region's polygon; the segments of neighbouring regions meet, since the network is continuous.

    Parameters
    ----------
    partition : Partition
        A partition of a bounded planar domain.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    threshold : float, optional
        For a single output, the level drawn (0: the sign of a logit).
    **kwargs
        Passed to :class:`~matplotlib.collections.LineCollection` (default ``colors="k"``, ``linewidths=1.5``).

    Returns
    -------
    matplotlib.collections.LineCollection
        The segments, shape (S, 2, 2) in ``t`` (``collection.get_segments()``).

    Raises
    ------
    TypeError, ValueError
        When ``partition`` is not a partition of a bounded planar domain, or ``threshold`` is not a finite number.
    """
    from matplotlib.collections import LineCollection

    _check_partition(partition)
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number, got {type(threshold).__name__}")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    seg = _decision_segments(partition, float(threshold))
    style = {"colors": "k", "linewidths": 1.5}
    style.update(kwargs)
    coll = LineCollection(seg, **style)
    ax = _axes(ax)
    ax.add_collection(coll)
    ax.autoscale_view()
    _label_axes(ax, partition)
    return coll


def _adjacency_edges(part: Partition) -> np.ndarray:
    """Pairs of adjacent regions (E, 2) int64: the edges of ``partition.adjacency_graph()``."""
    G = part.adjacency_graph()
    return np.array([(int(a), int(b)) for a, b in G.edges()], dtype=np.int64).reshape(-1, 2)


def graph(partition: Partition, ax=None, node_size: float = 4.0, **kwargs) -> Tuple:
    """Draw the adjacency graph of the regions over their witness points.

    Nodes are the regions' Chebyshev centres (in domain coordinates ``t``); an edge joins two regions that share a
    boundary segment (a facet): the edges of ``partition.adjacency_graph()`` (a networkx Graph on region
    indices).

    Parameters
    ----------
    partition : Partition
        A partition of a bounded planar domain.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    node_size : float, optional
        Marker area of the nodes (points^2).
    **kwargs
        Passed to :class:`~matplotlib.collections.LineCollection` (default ``colors="0.2"``, ``linewidths=0.5``).

    Returns
    -------
    edges : matplotlib.collections.LineCollection
        One segment per edge of the graph.
    nodes : matplotlib.collections.PathCollection
        One marker per region.

    Raises
    ------
    TypeError, ValueError
        When ``partition`` is not a partition of a bounded planar domain, or ``threshold`` is not a finite number.
    """
    from matplotlib.collections import LineCollection

    _check_partition(partition)
    if partition.domain.intrinsic_dim != 2:
        raise ValueError(f"graph draws partitions of planar domains, got {partition.domain!r}")
    pairs = _adjacency_edges(partition)
    pts = partition.witness_coords
    style = {"colors": "0.2", "linewidths": 0.5}
    style.update(kwargs)
    lines = LineCollection(pts[pairs] if len(pairs) else np.zeros((0, 2, 2)), **style)
    ax = _axes(ax)
    ax.add_collection(lines)
    nodes = ax.scatter(pts[:, 0], pts[:, 1], s=node_size, c="k", zorder=3)
    ax.autoscale_view()
    _label_axes(ax, partition)
    return lines, nodes


def class_components(complex, which=1, ax=None, open: bool = False, cmap="tab10", edges: bool = True, **kwargs):
    """Draw the connected components of a decision set on a planar decision complex (a 2-D box, polygon or
    slice through three inputs), one colour per component.

    Parameters
    ----------
    complex : relutope.topology.DecisionComplex
        A complex of dimension 2 (:func:`relutope.topology.decision_complex`).
    which : int or str, optional
        The set, as in :func:`relutope.topology.betti_numbers` (default: class 1, ``{f >= 0}`` for one output).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    open : bool, optional
        The open set instead.
    cmap : str or matplotlib.colors.Colormap, optional
        Colours of the components (cycled when there are more components than colours).
    edges : bool, optional
        Draw the cells' boundaries as thin dark lines.
    **kwargs
        Passed to :class:`~matplotlib.collections.PolyCollection`.

    Returns
    -------
    matplotlib.collections.PolyCollection
        One polygon per top cell of the set (in domain coordinates ``t``); its array holds the component ids (P,)
        float64, the labels of :func:`relutope.topology.class_components` on the cells' activation regions.

    Raises
    ------
    TypeError, ValueError
        When ``complex`` is not a 2-D DecisionComplex or ``which`` is unknown.

    Examples
    --------
    >>> import numpy as np, relutope, relutope.plot
    >>> from relutope import topology
    >>> from matplotlib.figure import Figure
    >>> W1 = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    >>> net = relutope.Network.from_weights([(W1, np.zeros(4)), (np.array([[1.0, 1, -1, -1]]), np.zeros(1))])
    >>> cx = topology.decision_complex(relutope.enumerate_regions(net, relutope.Box([-1, -1], [1, 1])))
    >>> coll = relutope.plot.class_components(cx, open=True, ax=Figure().add_subplot())
    >>> sorted(set(coll.get_array().tolist())), len(coll.get_paths())   # {f > 0}: two components, 4 cells
    ([0.0, 1.0], 4)
    """
    check_bool(open, "open")
    check_bool(edges, "edges")
    from matplotlib import colors as mcolors
    from matplotlib.collections import PolyCollection

    from . import topology

    labels, n = topology.class_components(complex, which, open=open)
    polys, cells = topology.top_cell_polygons(complex, which, open)
    values = labels[complex.region[cells]].astype(np.float64)
    style = {"edgecolors": "0.1", "linewidths": 0.25} if edges else {"edgecolors": "face", "linewidths": 0.0}
    style.update(kwargs)
    import matplotlib

    cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    listed = mcolors.ListedColormap(cm(np.arange(max(n, 1)) % cm.N))  # qualitative colours, cycled
    coll = PolyCollection(polys, array=values, cmap=listed, norm=mcolors.Normalize(-0.5, max(n, 1) - 0.5), **style)
    ax = _axes(ax)
    ax.add_collection(coll)
    ax.autoscale_view()
    _label_axes(ax, complex.partition)
    ax.set_title(f"{n} component{'s' if n != 1 else ''}")
    return coll


def _persistence_pairs(pairs) -> List[Tuple[int, Tuple[float, float]]]:
    """``pairs`` as a list of ``(int, (float, float))``, each a finite birth and a death >= it (or inf), or raise."""
    try:
        items = list(pairs)
    except TypeError:
        raise TypeError(f"pairs must be a list of (dimension, (birth, death)) pairs, got {type(pairs).__name__}"
                        ) from None
    out = []
    for i, item in enumerate(items):
        try:
            d, (b, e) = item
        except (TypeError, ValueError):
            raise ValueError(f"pairs[{i}] must be (dimension, (birth, death)), got {item!r}") from None
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 0:
            raise ValueError(f"pairs[{i}] has dimension {d!r}: it must be a non-negative int")
        if any(isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) for v in (b, e)):
            raise TypeError(f"pairs[{i}] must hold numbers as birth and death, got {(b, e)!r}")
        b, e = float(b), float(e)
        if not np.isfinite(b) or np.isnan(e) or e < b:
            raise ValueError(f"pairs[{i}] must have a finite birth and a death >= it (inf for an essential class), "
                             f"got ({b}, {e})")
        out.append((int(d), (b, e)))
    return out


def persistence_diagram(pairs, ax=None, **kwargs):
    """Draw a persistence diagram (e.g. of :func:`relutope.topology.sublevel_persistence`) with GUDHI's
    :func:`gudhi.plot_persistence_diagram`.

    Parameters
    ----------
    pairs : list of (int, (float, float))
        ``(dimension, (birth, death))`` pairs; deaths at ``inf`` are drawn on GUDHI's infinity line.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    **kwargs
        Passed to :func:`gudhi.plot_persistence_diagram` (e.g. ``legend=True``).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        When ``pairs`` is not iterable, a birth or death is not a number, ``ax`` is not matplotlib Axes, or
        ``**kwargs`` holds an argument GUDHI does not take.
    ValueError
        When an entry of ``pairs`` is not ``(dimension, (birth, death))``, a dimension is not a non-negative int,
        a birth is not finite, or a death is NaN or below its birth.

    Examples
    --------
    >>> import relutope.plot
    >>> from matplotlib.figure import Figure
    >>> ax = relutope.plot.persistence_diagram([(0, (0.0, float("inf"))), (1, (0.5, 1.0))], ax=Figure().add_subplot())
    >>> ax.get_title()
    'Persistence diagram'
    """
    pairs = _persistence_pairs(pairs)
    ax = _axes(ax)
    import gudhi
    from gudhi import persistence_graphical_tools as pgt

    # GUDHI switches matplotlib to LaTeX text when it finds TeX (and warns when it does not): plain text here
    use_tex = pgt._gudhi_matplotlib_use_tex
    pgt._gudhi_matplotlib_use_tex = False
    try:
        return gudhi.plot_persistence_diagram(pairs, axes=ax, **kwargs)
    finally:
        pgt._gudhi_matplotlib_use_tex = use_tex
