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

from typing import Tuple

import numpy as np

from .network import Network, _as_points

__all__ = ["exact_affine_map", "exact_forward", "to_rational"]


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
    X = np.asarray(x, dtype=object) if np.asarray(x).dtype == object else None
    if X is not None:
        X = np.atleast_2d(X)
        if X.ndim != 2 or X.shape[1] != network.in_dim:
            raise ValueError(f"x must have shape (N, {network.in_dim}), got {np.shape(x)}")
        try:
            X = np.vectorize(lambda v: v if isinstance(v, flint.fmpq) else flint.fmpq(v.numerator, v.denominator),
                             otypes=[object])(X)
        except AttributeError as exc:
            raise TypeError("x must hold float64 values or exact rationals (fmpq, Fraction, int)") from exc
    else:
        X = to_rational(_as_points(x, "x", network.in_dim))
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
    flint = _flint()
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    pat = np.asarray(pattern)
    if not np.issubdtype(pat.dtype, np.integer):
        raise TypeError(f"pattern must be an integer array, got dtype {pat.dtype}")
    if pat.shape != (network.n_units,):
        raise ValueError(f"pattern must have shape ({network.n_units},), got {pat.shape}")
    if np.any(pat < 0) or np.any(pat >= network.n_pieces):
        raise ValueError("pattern names a piece index that a unit does not have")
    d = network.in_dim
    M = flint.fmpq_mat(d, d, [flint.fmpq(int(i == j)) for i in range(d) for j in range(d)])
    v = flint.fmpq_mat(d, 1, [flint.fmpq(0)] * d)
    start = 0
    for layer in network.layers:
        rows = layer.piece_start[:-1] + pat[start:start + layer.n_units]
        start += layer.n_units
        A = _rational_matrix(np.ascontiguousarray(layer.A[rows]))
        M = A * M
        v = A * v + _column(to_rational(layer.c[rows]))
    m = network.out_dim
    A_Q = np.array(M.entries(), dtype=object).reshape(m, d)
    b_Q = np.array(v.entries(), dtype=object).reshape(m)
    return A_Q, b_Q

