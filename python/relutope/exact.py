"""Exact rational arithmetic on a network: forward passes and affine maps with no rounding at all.

A float64 weight is an exact binary fraction, so a network of float64 weights is a network of rational weights,
and its value at a rational point is a rational number that can be computed exactly. This module does that with
python-flint's ``fmpq`` / ``fmpq_mat`` (an optional dependency: ``pip install "relutope[exact]"``), imported
only when one of its functions is called.

Every function takes the network's float64 arrays as the exact rationals they are (``float.as_integer_ratio``):
no decimal conversion and no rounding happens anywhere. The results are numpy object arrays of ``flint.fmpq``
(exact rationals that compare and combine with Python ints and ``fractions.Fraction``).

This is the exact reference the certificates of :mod:`relutope.certificates` fall back on when a floating-point
filter cannot decide (Rump, "Verification methods: Rigorous results using floating-point arithmetic", Acta
Numerica 19, 2010, Section 1: use floating point, prove with error bounds, and compute exactly only where the
bounds do not decide).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ._checks import check_int, check_pieces
from .network import Network, _as_points

__all__ = ["exact_affine_map", "exact_forward", "exact_halfspaces", "exact_layer_pieces", "exact_pattern",
           "exact_region", "neighbour_patterns", "to_rational"]


def _flint():
    try:
        import flint
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("exact arithmetic needs python-flint: pip install \"relutope[exact]\"") from exc
    return flint


def to_rational(values) -> np.ndarray:
    """The exact rationals that float64 values are.

    Parameters
    ----------
    values : array_like, float64, any shape
        Finite numbers.

    Returns
    -------
    ndarray of flint.fmpq, the same shape
        ``values[i] == p / q`` exactly (every float64 is a binary fraction).

    Raises
    ------
    TypeError
        When ``values`` is not numeric.
    ValueError
        When a value is NaN or infinite.

    Examples
    --------
    >>> to_rational([0.5, 0.1])[1]
    3602879701896397/36028797018963968
    """
    flint = _flint()
    arr = np.asarray(values)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"values must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite (no NaN or infinity)")
    out = np.empty(arr.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(arr.reshape(-1).tolist()):
        flat[i] = flint.fmpq(*v.as_integer_ratio())
    return out


def _rational_matrix(arr: np.ndarray):
    """fmpq_mat of a 2-D float64 array, exactly."""
    flint = _flint()
    r, c = arr.shape
    return flint.fmpq_mat(r, c, to_rational(arr).reshape(-1).tolist())


def _column(values) -> "object":
    flint = _flint()
    vals = list(values)
    return flint.fmpq_mat(len(vals), 1, vals)


def _rational_points(network: Network, x) -> np.ndarray:
    """Points (N, d) as an object array of ``flint.fmpq``: float64 values taken exactly, or exact rationals."""
    flint = _flint()
    if np.asarray(x).dtype != object:
        return to_rational(_as_points(x, "x", network.in_dim))
    X = np.atleast_2d(np.asarray(x, dtype=object))
    if X.ndim != 2 or X.shape[1] != network.in_dim:
        raise ValueError(f"x must have shape (N, {network.in_dim}), got {np.shape(x)}")
    try:
        return np.vectorize(lambda v: v if isinstance(v, flint.fmpq) else flint.fmpq(v.numerator, v.denominator),
                            otypes=[object])(X)
    except AttributeError as exc:
        raise TypeError("x must hold float64 values or exact rationals (fmpq, Fraction, int)") from exc


def exact_forward(network: Network, x) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outputs and activation patterns of inputs, in exact rational arithmetic.

    Parameters
    ----------
    network : Network
        Its float64 weights are taken as the exact rationals they are.
    x : array_like, shape (N, d) or (d,)
        Inputs: float64 values (taken exactly), or an object array of exact rationals (``flint.fmpq``,
        ``fractions.Fraction`` or ``int``) such as :func:`to_rational` returns.

    Returns
    -------
    y : ndarray of flint.fmpq, shape (N, m)
        The exact outputs.
    patterns : ndarray, shape (N, n_units), int8
        The chosen piece of every unit (the lowest index among pieces that tie, as :meth:`Network.forward`).
    ties : ndarray, shape (N, n_units), bool
        Whether two or more pieces of the unit attain its maximum exactly (the point lies on the unit's
        hyperplane, or on a tie of a maxout unit): such a unit is not strictly decided at the point.

    Raises
    ------
    TypeError
        When ``network`` is not a :class:`Network` or ``x`` is not numeric.
    ValueError
        When ``x`` has the wrong width or is not finite.

    Notes
    -----
    Each unit computes ``max_r (A_r h + c_r)`` (Balestriero & Baraniuk, ICML 2018, Def. 3) with every product and
    sum exact (``flint.fmpq_mat`` products). The cost grows with the bit length of the numbers, which grows by
    about 53 bits per layer; it is meant for the few points a certificate has to settle, not for large batches.
    """
    flint = _flint()
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    X = _rational_points(network, x)
    n = X.shape[0]
    H = flint.fmpq_mat(network.in_dim, n, X.T.reshape(-1).tolist())  # one column per point
    patterns, ties = [], []
    for layer in network.layers:
        A, c = _rational_matrix(layer.A), to_rational(layer.c)
        Z = A * H
        z = np.array(Z.entries(), dtype=object).reshape(layer.A.shape[0], n)
        z = z + c[:, None]
        out = np.empty((layer.n_units, n), dtype=object)
        pat = np.empty((layer.n_units, n), dtype=np.int8)
        tie = np.zeros((layer.n_units, n), dtype=bool)
        for k in range(layer.n_units):
            block = z[layer.piece_start[k]:layer.piece_start[k + 1]]
            for j in range(n):
                col = block[:, j].tolist()
                best = max(col)
                first = col.index(best)
                out[k, j], pat[k, j] = best, first
                tie[k, j] = col.count(best) > 1
        H = flint.fmpq_mat(layer.n_units, n, out.reshape(-1).tolist())
        patterns.append(pat.T)
        ties.append(tie.T)
    y = np.array(H.entries(), dtype=object).reshape(network.out_dim, n).T
    return y, np.concatenate(patterns, axis=1), np.concatenate(ties, axis=1)


def _check_pattern(network: Network, pattern, decided: Optional[int] = None) -> np.ndarray:
    """One pattern (n_units,) checked: an integer array naming a piece of every unit (of its first ``decided``
    units only, when given: later entries are ignored)."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    pat = np.asarray(pattern)
    if not np.issubdtype(pat.dtype, np.integer):
        raise TypeError(f"pattern must be an integer array, got dtype {pat.dtype}")
    if pat.shape != (network.n_units,):
        raise ValueError(f"pattern must have shape ({network.n_units},), got {pat.shape}")
    n = network.n_units if decided is None else decided
    check_pieces(pat[:n], network.n_pieces[:n], "pattern")
    return pat


def _identity(d: int):
    flint = _flint()
    return (flint.fmpq_mat(d, d, [flint.fmpq(int(i == j)) for i in range(d) for j in range(d)]),
            flint.fmpq_mat(d, 1, [flint.fmpq(0)] * d))


def _rational_layers(network: Network) -> list:
    """Every layer's ``(A, c)`` as exact fmpq_mat columns, converted once (for :func:`_compose` on many patterns)."""
    return [(_rational_matrix(layer.A), _column(to_rational(layer.c))) for layer in network.layers]


def _layer_pieces(layer, M, v, rational=None, at=None):
    """Every piece of one layer as an exact affine function of the input, given the layer's input ``h = M x + v``
    (fmpq_mat): (G (P, d), g (P,)) object arrays of fmpq. ``rational``: the layer's ``(A, c)`` already exact.
    ``at``: a point (fmpq_mat column (d, 1)); then also the pieces' values there, a list (P,) of fmpq."""
    A, c = rational if rational is not None else (_rational_matrix(layer.A), _column(to_rational(layer.c)))
    G = A * M
    g = A * v + c
    out = (np.array(G.entries(), dtype=object).reshape(G.nrows(), G.ncols()),
           np.array(g.entries(), dtype=object).reshape(G.nrows()))
    return out if at is None else out + ((G * at + g).entries(),)


def _compose(network: Network, pattern: np.ndarray, M=None, v=None, rational=None):
    """Layer by layer along a pattern: yields (layer, offset of its first unit, the chosen pieces' row indices
    (n_units,), G (P, k), g (P,)), the layer's pieces as exact affine functions ``G t + g`` of the input
    ``x = M t + v`` (fmpq_mat; default ``t = x``) (Balestriero & Baraniuk, ICML 2018, Eq. 9). ``rational``: the
    layers of :func:`_rational_layers`, when already converted."""
    flint = _flint()
    if M is None:
        M, v = _identity(network.in_dim)
    off = 0
    for i, layer in enumerate(network.layers):
        rows = layer.piece_start[:-1] + pattern[off:off + layer.n_units]
        G, g = _layer_pieces(layer, M, v, None if rational is None else rational[i])
        yield layer, off, rows, G, g
        off += layer.n_units
        M = flint.fmpq_mat(G[rows].tolist())
        v = _column(g[rows].tolist())


def _pattern_rows(network: Network, pattern: np.ndarray, M=None, v=None, rational=None):
    """The rows of a pattern's set, composed by :func:`_compose` (same arguments): yields (unit, piece s, chosen
    piece p (both within the unit), ``G_s - G_p`` (k,), ``g_p - g_s``) for every unit and every piece ``s != p``,
    in unit order then piece order: ``(G_s - G_p) . t <= g_p - g_s`` where the pattern holds."""
    for layer, off, rows, G, g in _compose(network, pattern, M, v, rational):
        yield from _layer_rows(layer, off, rows, G, g)


def _layer_rows(layer, off: int, rows: np.ndarray, G, g):
    """The rows of :func:`_pattern_rows` for one layer, from one step of :func:`_compose`."""
    for u in range(layer.n_units):
        p0, p1 = int(layer.piece_start[u]), int(layer.piece_start[u + 1])
        p = int(rows[u])
        for s in range(p0, p1):
            if s != p:
                yield off + u, s - p0, p - p0, G[s] - G[p], g[p] - g[s]


def exact_affine_map(network: Network, pattern) -> Tuple[np.ndarray, np.ndarray]:
    """The exact affine map ``y = A_Q x + b_Q`` of an activation pattern's region.

    Parameters
    ----------
    network : Network
    pattern : array_like of int, shape (n_units,)
        The chosen piece of every unit.

    Returns
    -------
    A_Q : ndarray of flint.fmpq, shape (m, d)
    b_Q : ndarray of flint.fmpq, shape (m,)
        Exact rationals; :meth:`Network.local_affine_map` is their rounding.

    Raises
    ------
    TypeError
        When ``network`` is not a :class:`Network` or ``pattern`` is not an integer array.
    ValueError
        When ``pattern`` has the wrong length or names a piece a unit does not have.

    Notes
    -----
    The composition of the chosen pieces layer by layer (Balestriero & Baraniuk, ICML 2018, Eq. 9), each
    product an exact ``fmpq_mat`` product.
    """
    M, v = None, None
    for _, _, rows, A, g in _compose(network, _check_pattern(network, pattern)):
        M, v = A[rows], g[rows]
    return M, v



#: Kinds of a unit's decision at a point, returned by :func:`exact_pattern`.
DECIDED, PERSISTENT_TIE, BOUNDARY_TIE = 0, 1, 2


def exact_pattern(network: Network, x) -> Tuple[np.ndarray, np.ndarray]:
    """The activation pattern of a neighbourhood of one point, decided in exact rational arithmetic.

    Parameters
    ----------
    network : Network
    x : array_like, shape (d,)
        One point: float64 values (taken exactly) or exact rationals (``flint.fmpq``, ``Fraction``, ``int``).

    Returns
    -------
    pattern : ndarray, shape (n_units,), int8
        The chosen piece of every unit (the lowest index among pieces that tie).
    kind : ndarray, shape (n_units,), int8
        How each unit is decided: ``DECIDED`` (0, one piece is strictly largest), ``PERSISTENT_TIE`` (1, the
        largest pieces are the same affine function of the input near ``x``, so they tie on a whole
        neighbourhood and the lowest index is chosen throughout it) or ``BOUNDARY_TIE`` (2, pieces tie at ``x``
        but not around it: ``x`` lies on a region boundary).

    Raises
    ------
    TypeError, ValueError
        As :func:`exact_forward`.

    Notes
    -----
    When no unit is a ``BOUNDARY_TIE``, every point near ``x`` has ``pattern``: layer by layer, the local affine
    map ``h = M x + v`` of the units chosen so far is exact (Balestriero & Baraniuk, ICML 2018, Eq. 9), each
    unit's pieces are compared at ``x``, and tied pieces are compared as affine functions (``A_r M``).
    """
    return _pattern_walk(network, x)[:2]


def _exact_point(network: Network, x):
    """The checks of :func:`exact_pattern` and :func:`neighbour_patterns`, and ``x`` as an exact column (d, 1)."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    if np.ndim(x) != 1:
        raise ValueError(f"x must be one point of shape ({network.in_dim},), got {np.shape(x)}")
    return _column(_rational_points(network, x)[0].tolist())


def _maximal_pieces(layer, M, v, X):
    """One layer at the exact point X (fmpq_mat column (d, 1)), given its input ``h = M x + v``: its pieces
    (G (P, d), g (P,)) as :func:`_layer_pieces`, and for every unit its pieces that attain the unit's maximum at X,
    as a pair (the lowest piece index of each linear part among them, sorted; how many attain it)."""
    G, g, z = _layer_pieces(layer, M, v, at=X)
    out = []
    for u in range(layer.n_units):
        p0, p1 = int(layer.piece_start[u]), int(layer.piece_start[u + 1])
        best = max(z[p0:p1])
        groups, n = {}, 0
        for r in range(p0, p1):
            if z[r] == best:
                groups.setdefault(tuple(G[r].tolist()), r - p0)  # the lowest piece of each linear part
                n += 1
        out.append((sorted(groups.values()), n))
    return G, g, out


def _pattern_walk(network: Network, x, stored=None):
    """:func:`exact_pattern`, and with ``stored`` (n_units,) also a bool mask (n_units,): units whose stored piece
    differs from the chosen one by a constant only near ``x`` (the same linear part in the input)."""
    flint = _flint()
    X = _exact_point(network, x)
    M, v = _identity(network.in_dim)
    pattern = np.zeros(network.n_units, dtype=np.int8)
    kind = np.zeros(network.n_units, dtype=np.int8)
    constant_gap = np.zeros(network.n_units, dtype=bool)
    off = 0
    for layer in network.layers:
        G, g, maxima = _maximal_pieces(layer, M, v, X)
        for u, (firsts, n) in enumerate(maxima):
            pattern[off + u] = firsts[0]
            if n > 1:
                kind[off + u] = PERSISTENT_TIE if len(firsts) == 1 else BOUNDARY_TIE
            if stored is not None and int(stored[off + u]) != firsts[0]:
                p0 = int(layer.piece_start[u])
                constant_gap[off + u] = G[p0 + int(stored[off + u])].tolist() == G[p0 + firsts[0]].tolist()
        rows = layer.piece_start[:-1] + pattern[off:off + layer.n_units]
        M, v = flint.fmpq_mat(G[rows].tolist()), _column(g[rows].tolist())
        off += layer.n_units
    return pattern, kind, constant_gap


def exact_layer_pieces(network: Network, pattern, layer: int, origin=None, basis=None):
    """The exact pre-activations of one layer on the cell of a pattern, as affine functions of coordinates ``t``.

    Parameters
    ----------
    network : Network
    pattern : array_like of int, shape (n_units,)
        The chosen piece of every unit of the layers before ``layer`` (later entries are ignored).
    layer : int
        The layer whose pieces are returned, ``0 <= layer < len(network.layers)``.
    origin, basis : array_like, shapes (d,) and (d, k), optional
        The inputs as ``x = origin + basis @ t`` (float64, taken exactly, or exact rationals); default ``t = x``.

    Returns
    -------
    list of (G, g)
        For every layer ``j <= layer``: ``G`` (P_j, k) and ``g`` (P_j,) object arrays of ``flint.fmpq``: piece ``p``
        of layer ``j`` is ``G[p] . t + g[p]`` exactly wherever the layers before ``j`` have ``pattern``.

    Raises
    ------
    TypeError
        When ``network`` is not a :class:`Network`, ``layer`` is not an int or ``pattern`` is not an integer array.
    ValueError
        When ``layer``, ``pattern``, ``origin`` or ``basis`` is out of range or has the wrong shape.

    Notes
    -----
    The composition of :func:`exact_affine_map`, stopped at ``layer`` and started from the affine map of the
    domain (Balestriero & Baraniuk, ICML 2018, Eq. 9), every product an exact ``fmpq_mat`` product.

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.array([[1.0, -1.0]]), np.zeros(1)), (np.array([[2.0]]), np.zeros(1))])
    >>> G, g = exact_layer_pieces(net, [1, 0], 1)[1]
    >>> [str(v) for v in G[0]], str(g[0])
    (['2', '-2'], '0')
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    layer = check_int(layer, "layer", 0, len(network.layers) - 1)
    pat = _check_pattern(network, pattern, decided=sum(lay.n_units for lay in network.layers[:layer]))
    d = network.in_dim
    B = np.asarray(np.eye(d) if basis is None else basis)
    O = np.asarray(np.zeros(d) if origin is None else origin)
    if B.ndim != 2 or B.shape[0] != d or O.shape != (d,):
        raise ValueError(f"origin and basis must have shapes ({d},) and ({d}, k), got {O.shape} and {B.shape}")
    flint = _flint()
    Bq = B if B.dtype == object else to_rational(B)
    Oq = O if O.dtype == object else to_rational(O)
    M = flint.fmpq_mat(d, B.shape[1], [flint.fmpq(v) for v in Bq.reshape(-1).tolist()])
    v = _column([flint.fmpq(x) for x in Oq.tolist()])
    out = []
    for j, (_, _, _, G, g) in enumerate(_compose(network, np.where(pat < 0, 0, pat), M, v)):
        out.append((G, g))
        if j == layer:
            break
    return out


def exact_halfspaces(network: Network, pattern) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact H-representation, in the input, of the set where a network has one activation pattern.

    Parameters
    ----------
    network : Network
    pattern : array_like of int, shape (n_units,)
        The chosen piece of every unit.

    Returns
    -------
    G : ndarray of flint.fmpq, shape (m, d)
    h : ndarray of flint.fmpq, shape (m,)
        One row ``(f_s - f_p)(x) <= 0`` for every unit with two or more pieces and every piece ``s`` other than
        the chosen ``p``, in unit order then piece order, both pieces composed exactly through the pattern's
        earlier layers (for a ReLU: ``z <= 0`` when inactive, ``-z <= 0`` when active). Rows whose linear part
        is zero are kept (a constant comparison: ``0 <= h``).
    strict : ndarray, shape (m,), bool
        Rows where ``s < p``: ties go to the lowest piece, so the pattern needs ``f_p > f_s`` there; this
        matters only for a row with a zero linear part (the set's closure is the same either way otherwise).

    Raises
    ------
    TypeError, ValueError
        As :func:`exact_affine_map`.

    Notes
    -----
    The pattern's set is ``{x : G x <= h}`` up to its boundary (Balestriero & Baraniuk, ICML 2018, Eq. 9, the
    pieces composed as in :func:`exact_affine_map`); it is an activation region when it has an interior point,
    which an exact LP decides (:mod:`relutope.exact_lp`).
    """
    pat = _check_pattern(network, pattern)
    G_rows, h_rows, strict = [], [], []
    for _, s, p, row, rhs in _pattern_rows(network, pat):
        G_rows.append(row)
        h_rows.append(rhs)
        strict.append(s < p)
    d = network.in_dim
    return (np.array(G_rows, dtype=object).reshape(len(G_rows), d), np.array(h_rows, dtype=object),
            np.array(strict, dtype=bool))


def exact_region(network: Network, pattern) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The exact affine map and H-representation of an activation pattern's region, from one composition.

    Parameters
    ----------
    network : Network
    pattern : array_like of int, shape (n_units,)
        The chosen piece of every unit.

    Returns
    -------
    A_Q : ndarray of flint.fmpq, shape (m, d)
    b_Q : ndarray of flint.fmpq, shape (m,)
        As :func:`exact_affine_map`.
    G : ndarray of flint.fmpq, shape (r, d)
    h : ndarray of flint.fmpq, shape (r,)
    strict : ndarray, shape (r,), bool
        As :func:`exact_halfspaces`.

    Raises
    ------
    TypeError, ValueError
        As :func:`exact_affine_map`.

    Notes
    -----
    The pieces are composed once, layer by layer (Balestriero & Baraniuk, ICML 2018, Eq. 9): the rows of every
    layer and the last layer's chosen pieces come from the same products, where :func:`exact_affine_map` and
    :func:`exact_halfspaces` called in turn compose the pattern twice.
    """
    pat = _check_pattern(network, pattern)
    G_rows, h_rows, strict = [], [], []
    A, b = None, None
    for layer, off, rows, G, g in _compose(network, pat):
        for _, s, p, row, rhs in _layer_rows(layer, off, rows, G, g):
            G_rows.append(row)
            h_rows.append(rhs)
            strict.append(s < p)
        A, b = G[rows], g[rows]
    d = network.in_dim
    return (A, b, np.array(G_rows, dtype=object).reshape(len(G_rows), d), np.array(h_rows, dtype=object),
            np.array(strict, dtype=bool))


def neighbour_patterns(network: Network, x, max_patterns: int = 64) -> Tuple[np.ndarray, bool]:
    """The activation patterns of the regions whose closure may hold a point, decided exactly.

    Parameters
    ----------
    network : Network
    x : array_like, shape (d,)
        One point: float64 values (taken exactly) or exact rationals.
    max_patterns : int, optional
        Stop after this many patterns.

    Returns
    -------
    patterns : ndarray, shape (K, n_units), int8
        Every pattern ``Q`` such that, layer by layer along ``Q``, each unit's chosen piece attains the unit's
        maximum at ``x`` (the lowest index among pieces that are the same affine function there). The pattern of
        every region whose closure holds ``x`` is one of them; for a point where every unit is strictly decided
        there is one, :func:`exact_pattern`'s. A pattern listed may have no region near ``x``: an exact LP on its
        :func:`exact_halfspaces` decides that.
    complete : bool
        False when ``max_patterns`` stopped the search.

    Raises
    ------
    TypeError, ValueError
        As :func:`exact_forward`, or when ``max_patterns`` is not a positive int.

    Notes
    -----
    A depth-first search over the layers: at a unit whose largest pieces tie at ``x`` with different linear
    parts (``x`` on its bent hyperplane), every such piece is tried, with the map ``h = M x + v`` of the choices
    so far exact (Balestriero & Baraniuk, ICML 2018, Eq. 9). By continuity a region whose closure holds ``x``
    chooses, at every unit, a piece that is maximal at ``x``.
    """
    import itertools

    flint = _flint()
    X = _exact_point(network, x)
    max_patterns = check_int(max_patterns, "max_patterns")
    layers = network.layers
    found = []

    def walk(li: int, M, v, prefix: list) -> bool:
        if li == len(layers):
            found.append(np.concatenate(prefix) if prefix else np.zeros(0, np.int8))
            return len(found) < max_patterns
        layer = layers[li]
        G, g, maxima = _maximal_pieces(layer, M, v, X)
        for choice in itertools.product(*(firsts for firsts, _ in maxima)):
            rows = layer.piece_start[:-1] + np.array(choice, dtype=np.int64)
            if not walk(li + 1, flint.fmpq_mat(G[rows].tolist()), _column(g[rows].tolist()),
                        prefix + [np.array(choice, dtype=np.int8)]):
                return False
        return True

    M, v = _identity(network.in_dim)
    complete = walk(0, M, v, [])
    return np.array(found, dtype=np.int8).reshape(len(found), network.n_units), complete
