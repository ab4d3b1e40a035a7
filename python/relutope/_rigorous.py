"""A floating-point forward pass that carries a rigorous bound on its own rounding error.

The a priori bound ``|fl(a . x + c) - (a . x + c)| <= gamma_(n+1) (|a| . |x| + |c|)``, ``gamma_n = n u / (1 - n u)``
(Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., 2002, Section 3.1), holds for any order of
summation (BLAS blocking included) and with fused multiply-adds; errors already in ``x`` propagate through ``|a|``.
The max of a unit's pieces is taken exactly, so the bound of a unit's output is the largest bound of its pieces
(Rump, "Verification methods: Rigorous results using floating-point arithmetic", Acta Numerica 19, 2010).

With these bounds a unit's choice at a point is either *proven* (the chosen piece beats every other by more than
both bounds), *disproven* (another piece provably beats it), or undecided (a tie within rounding).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .network import Network

_U = 2.0 ** -53          # unit roundoff of float64
_TINY = 2.0 ** -1074     # smallest subnormal: bounds the absolute error of an underflowing operation


def gamma(n: int) -> float:
    """``gamma_n`` of Higham (3.8), rounded up generously."""
    return (n * _U) / (1.0 - n * _U) * (1.0 + 1e-8)


def inflate(bound: np.ndarray, n_terms: int) -> np.ndarray:
    """An upper bound on a sum of ``n_terms`` non-negative terms whose float computation gave ``bound``."""
    return bound * (1.0 + 4.0 * gamma(n_terms + 2)) + (n_terms + 2) * 4.0 * _TINY


def affine_with_error(h: np.ndarray, e: np.ndarray, A: np.ndarray, c: np.ndarray):
    """``fl(h @ A.T + c)`` and a bound on its distance from ``A x + c`` for every ``x`` with ``|x - h| <= e``."""
    n = A.shape[1]
    z = h @ A.T + c
    # |A x + c - z| <= |A| e + gamma_{n+1} (|A| |h| + |c|) = |A| (e + gamma |h|) + gamma |c|: one product
    err = (e + gamma(n + 1) * np.abs(h)) @ np.abs(A).T + gamma(n + 1) * np.abs(c)
    return z, inflate(err, 2 * n + 1)


def strictly_greater(a, b, err) -> np.ndarray:
    """Whether ``a - b > err`` holds for the real numbers (a, b, err floats), proven despite rounding."""
    return (a - b) * (1.0 - 4.0 * _U) > err * (1.0 + 4.0 * _U) + 4.0 * _TINY


def pattern_bounds(network: Network, origin: np.ndarray, basis: np.ndarray, t: np.ndarray,
                   patterns: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Whether the points ``x = origin + basis @ t`` (exact real numbers) provably have the given patterns.

    Parameters
    ----------
    network : Network
    origin : (d,) float64; basis : (d, k) float64; t : (N, k) float64
        The points, each an exact rational; the first layer is folded with the map, its rounding bounded.
    patterns : (N, n_units) int
        The pattern to check at each point.

    Returns
    -------
    proven : (N,) bool
        Every unit's stored piece beats each other piece of the unit by more than both rounding bounds.
    disproven : (N,) bool
        Some unit has another piece that provably exceeds the stored one: the point has another pattern.
    """
    n_pts = t.shape[0]
    proven = np.ones(n_pts, dtype=bool)
    disproven = np.zeros(n_pts, dtype=bool)
    d, k = basis.shape
    start = 0
    for li, layer in enumerate(network.layers):
        relu = layer._is_relu()  # piece 0 is exactly 0 with no error: only the rows of piece 1
        A, c = (layer.A[1::2], layer.c[1::2]) if relu else (layer.A, layer.c)
        if li == 0:  # folded with the domain's map: (A basis) t + (A origin + c), the fold's rounding bounded
            M, m = A @ basis, A @ origin + c
            EM = inflate(gamma(d) * (np.abs(A) @ np.abs(basis)), d)
            Em = inflate(gamma(d + 1) * (np.abs(A) @ np.abs(origin) + np.abs(c)), d + 1)
            z = t @ M.T + m
            err = inflate(np.abs(t) @ (EM + gamma(k + 1) * np.abs(M)).T + Em + gamma(k + 1) * np.abs(m), 2 * k + 3)
        else:
            z, err = affine_with_error(h, e, A, c)
        stored = patterns[:, start:start + layer.n_units].astype(np.int64)
        start += layer.n_units
        if relu:
            on = stored.astype(bool)
            pos, neg = strictly_greater(z, 0.0, err), strictly_greater(0.0, z, err)
            proven &= np.where(on, pos, neg).all(axis=1)
            disproven |= np.where(on, neg, pos).any(axis=1)
            h, e = np.maximum(z, 0.0), err
            continue
        h = np.empty((n_pts, layer.n_units))
        e = np.empty_like(h)
        for K in np.unique(layer.n_pieces):
            units = np.nonzero(layer.n_pieces == K)[0]
            cols = layer.piece_start[units][:, None] + np.arange(K)[None, :]  # (u, K)
            z3, e3 = z[:, cols], err[:, cols]                                 # (N, u, K)
            j = stored[:, units][:, :, None]                                 # the stored pattern's pieces
            zj = np.take_along_axis(z3, j, axis=2)
            ej = np.take_along_axis(e3, j, axis=2)
            others = np.arange(K)[None, None, :] != j
            proven &= (strictly_greater(zj, z3, ej + e3) | ~others).all(axis=(1, 2))
            disproven |= (strictly_greater(z3, zj, ej + e3) & others).any(axis=(1, 2))
            # the unit's true output is the max of its true pieces: within the largest bound of the float max
            h[:, units], e[:, units] = z3.max(axis=2), e3.max(axis=2)
    return proven, disproven
