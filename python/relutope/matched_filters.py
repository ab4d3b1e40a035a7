"""Matched filters: the templates a network matches its input against, one per output, on the input's region.

On the activation region ``Q`` holding ``x`` the network is the affine map ``y = A_Q x + b_Q``
(:meth:`Network.local_affine_map`); output ``c`` is the inner product of ``x`` with the row ``A_Q[c]`` plus an
offset. Balestriero & Baraniuk read the rows as a *matched filterbank*: the network classifies ``x`` by the
template it correlates with best, and the templates adapt to the input through its region ("A Spline Theory of
Deep Networks", ICML 2018, Section 4, "Deep networks are template matching machines"; "Mad Max: Affine Spline
Insights into Deep Learning", 2018). For image inputs the templates are images; :func:`plot_matched_filters` draws
them, one panel per class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from .network import Network, _as_points

__all__ = ["MatchedFilters", "matched_filters", "plot_matched_filters"]


@dataclass(frozen=True, eq=False)
class MatchedFilters:
    """The templates of a batch of inputs (see :func:`matched_filters`).

    Attributes
    ----------
    points : ndarray, shape (N, d), float64
        The inputs.
    templates : ndarray, shape (N, m, d), float64
        ``templates[i, c]`` is row ``c`` of ``A_Q`` on the region of ``points[i]``: the filter output ``c`` matches.
    offsets : ndarray, shape (N, m), float64
        ``b_Q`` on that region.
    patterns : ndarray, shape (N, n_units), int8
        The inputs' activation patterns (their regions).
    """

    points: np.ndarray
    templates: np.ndarray
    offsets: np.ndarray
    patterns: np.ndarray

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def __repr__(self) -> str:
        N, m, d = self.templates.shape
        return f"MatchedFilters({N} inputs, {m} templates of length {d})"

    @property
    def scores(self) -> np.ndarray:
        """``<templates[i, c], points[i]> + offsets[i, c]``, (N, m): the network's outputs."""
        return np.einsum("nmd,nd->nm", self.templates, self.points) + self.offsets

    @property
    def correlations(self) -> np.ndarray:
        """Cosine similarity of each input with each of its templates, (N, m) (0 for a zero template or input)."""
        num = np.einsum("nmd,nd->nm", self.templates, self.points)
        den = np.linalg.norm(self.templates, axis=2) * np.linalg.norm(self.points, axis=1)[:, None]
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def matched_filters(network: Network, x) -> MatchedFilters:
    """The matched filters (rows of ``A_Q``) of the region of every input.

    Parameters
    ----------
    network : Network
    x : array_like, shape (N, d) or (d,), float64

    Returns
    -------
    MatchedFilters
        ``templates`` (N, m, d), ``offsets`` (N, m) and the patterns; ``scores`` equals ``network(x)``.

    Raises
    ------
    TypeError, ValueError
        When ``network`` is not a Network or ``x`` is not a finite (N, d) array.

    Notes
    -----
    Balestriero & Baraniuk, "A Spline Theory of Deep Networks", ICML 2018, Section 4 (the rows of the region's
    affine map as templates, Eq. 9 for their composition). On the boundary of regions the tie rule of
    :meth:`Network.activation_pattern` picks the region.

    Examples
    --------
    >>> import relutope
    >>> net = relutope.Network.random([4, 8, 3], seed=0)
    >>> x = np.random.default_rng(0).normal(size=(5, 4))
    >>> mf = matched_filters(net, x)
    >>> mf.templates.shape, bool(np.allclose(mf.scores, net(x)))
    ((5, 3, 4), True)
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a relutope.Network, got {type(network).__name__}")
    X = _as_points(x, "x", network.in_dim)
    pats = network.activation_pattern(X)
    uniq, inv = np.unique(pats, axis=0, return_inverse=True)  # one affine map per region met
    A, b = network.local_affine_map(uniq)
    inv = inv.ravel()
    return MatchedFilters(points=X, templates=A[inv], offsets=b[inv], patterns=pats)


def plot_matched_filters(filters: MatchedFilters, image_shape: Tuple[int, ...], inputs: Sequence[int] = (0,),
                         axes=None, class_names: Optional[Sequence[str]] = None, show_input: bool = True,
                         cmap: str = "RdBu_r"):
    """Draw the templates as images: one row per input, one panel per class (the input first).

    Parameters
    ----------
    filters : MatchedFilters
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)`` with ``H W C == d`` (row-major, as ``x.reshape(image_shape)``); colour images
        are drawn channel-averaged.
    inputs : sequence of int, optional
        Which inputs (rows of the figure).
    axes : array of matplotlib Axes, shape (len(inputs), m + show_input), optional
        Where to draw; default: a new :class:`matplotlib.figure.Figure` (no pyplot).
    class_names : sequence of str, optional
        Panel titles (default: ``"class c"``, with the score).
    show_input : bool, optional
        Draw the input itself in the first column.
    cmap : str, optional
        Colour map of the templates, with limits symmetric about 0 per row.

    Returns
    -------
    ndarray of matplotlib.image.AxesImage, shape (len(inputs), m + show_input)
        The images drawn (``images[0, 0].figure`` is the figure).

    Raises
    ------
    TypeError
        When ``filters`` is not a MatchedFilters.
    ValueError
        When ``image_shape`` does not multiply to ``d``, an input index is out of range, or ``axes`` or
        ``class_names`` has the wrong size.
    """
    if not isinstance(filters, MatchedFilters):
        raise TypeError(f"filters must be a MatchedFilters, got {type(filters).__name__}")
    N, m, d = filters.templates.shape
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or int(np.prod(shape)) != d:
        raise ValueError(f"image_shape must be (H, W) or (H, W, C) with H W C = {d}, got {image_shape}")
    rows = [int(i) for i in inputs]
    if not rows or any(not -N <= i < N for i in rows):
        raise ValueError(f"inputs must be indices in [-{N}, {N}), got {list(inputs)}")
    if class_names is not None and len(class_names) != m:
        raise ValueError(f"class_names must name {m} classes, got {len(class_names)}")
    ncol = m + int(bool(show_input))
    if axes is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(1.4 * ncol, 1.6 * len(rows)), layout="constrained")
        axes = fig.subplots(len(rows), ncol, squeeze=False)
    axes = np.asarray(axes, dtype=object).reshape(-1)
    if axes.size != len(rows) * ncol:
        raise ValueError(f"axes must hold {len(rows) * ncol} Axes ({len(rows)} inputs x {ncol} panels), "
                         f"got {axes.size}")
    axes = axes.reshape(len(rows), ncol)

    def image(v):
        img = v.reshape(shape)
        return img.mean(axis=2) if img.ndim == 3 else img

    scores = filters.scores
    out = np.empty((len(rows), ncol), dtype=object)
    for r, i in enumerate(rows):
        j0 = 0
        if show_input:
            out[r, 0] = axes[r, 0].imshow(image(filters.points[i]), cmap="gray")
            axes[r, 0].set_title("input", fontsize=8)
            j0 = 1
        lim = float(np.abs(filters.templates[i]).max()) or 1.0
        best = int(np.argmax(scores[i]))
        for c in range(m):
            ax = axes[r, j0 + c]
            out[r, j0 + c] = ax.imshow(image(filters.templates[i, c]), cmap=cmap, vmin=-lim, vmax=lim)
            name = class_names[c] if class_names is not None else f"class {c}"
            ax.set_title(f"{name}: {scores[i, c]:.3g}", fontsize=8, fontweight="bold" if c == best else "normal")
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    return out
