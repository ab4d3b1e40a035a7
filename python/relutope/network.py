"""Piecewise-affine networks as compositions of max-affine spline operators (MASOs).

A :class:`Layer` maps its input ``x`` (length ``in_dim``) to ``n_units`` outputs; unit ``k`` computes

.. math:: y_k = \\max_{r < K_k} \\left( a_{k,r} \\cdot x + c_{k,r} \\right)

over its ``K_k`` affine *pieces* (Balestriero & Baraniuk, "A Spline Theory of Deep Networks", ICML 2018, Sec. 3).
A :class:`Network` is a sequence of layers. The usual activations are MASO units with the pieces

=================  =====  ======================================  ==========================
kind               K      pieces (z = w . x + b)                   pattern value
=================  =====  ======================================  ==========================
``"identity"``     1      ``z``                                    always 0
``"relu"``         2      ``0``, ``z``                             1 when z > 0 (active)
``"leaky_relu"``   2      ``alpha * z``, ``z`` (alpha < 1)         1 when z > 0
``"abs"``          2      ``-z``, ``z``                            1 when z > 0
max-pooling        K      ``x_{i_1}``, ..., ``x_{i_K}``            index of the maximum
maxout             K      ``w_r . x + b_r``, r < K                 index of the maximum
=================  =====  ======================================  ==========================

The *activation pattern* of an input is, for every unit, the index of the piece that attains the maximum; ties
go to the lowest piece index (the convention of :func:`numpy.argmax`), so a ReLU with ``z == 0`` is inactive.
"""
from __future__ import annotations

import hashlib
import numbers
import re
import zipfile
import zlib
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._checks import check_choice, check_path, check_pieces

__all__ = ["Layer", "Network", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "leaky_relu", "abs", "identity")


def _has_python_bool(value) -> bool:
    """Whether a (nested) list or tuple holds a Python or numpy bool (``np.asarray([True, 0.5])`` is float64: the
    bool would pass as the number 1)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (bool, np.bool_)):
            return True
    return False


def _as_float_array(value, name: str, ndim: Optional[int], promote: bool = False) -> np.ndarray:
    """Convert ``value`` to a finite C-contiguous float64 array of ``ndim`` dimensions (any if None) or raise.

    ``promote``: a value of fewer dimensions is first lifted to ``ndim`` (:func:`numpy.atleast_1d` or
    :func:`numpy.atleast_2d`), as ``x0=0.5`` for one input. A bool (a bool array, or a bool inside a list) is refused
    with a TypeError naming ``name``: ``True`` is not the number 1 here (a mask passed for a point)."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (list, tuple)) and _has_python_bool(value)):
        raise TypeError(f"{name} must be an array of numbers, got bool values")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy raises many kinds of errors here
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from None
    if arr.dtype == bool:
        raise TypeError(f"{name} must be an array of numbers, got dtype bool")
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64, order="C")  # not ascontiguousarray: it turns 0-d into 1-d
    if promote and ndim is not None and arr.ndim < ndim:
        arr = np.atleast_1d(arr) if ndim == 1 else np.atleast_2d(arr)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _as_points(x, name: str, d: int) -> np.ndarray:
    """Points ``x`` of shape (N, d), or one point of shape (d,), as a finite float64 (N, d) array, or raise.

    The messages give the shape the caller passed (a 0-d array is refused: pass ``[[x]]`` for one point)."""
    arr = _as_float_array(x, name, None)
    if arr.ndim not in (1, 2):
        what = "a 0-d array (a scalar)" if arr.ndim == 0 else f"shape {arr.shape}"
        raise ValueError(f"{name} must have shape (N, {d}), or ({d},) for one point; got {what}")
    if arr.shape[-1] != d:
        raise ValueError(f"{name} must have shape (N, {d}), or ({d},) for one point; got shape {arr.shape}")
    return arr.reshape(-1, d)


#: Exceptions that reading a corrupt ``.npz`` archive can raise (zipfile, zlib, numpy's header parser).
_NPZ_ERRORS = (OSError, EOFError, ValueError, KeyError, TypeError, NotImplementedError, RuntimeError,
               OverflowError, SyntaxError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error)


class _Refused(Exception):
    """A member of an ``.npz`` archive that :func:`_read_npz` will not read."""


def _read_npz(path, what: str) -> Dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, read eagerly and without pickles, or a ValueError naming the file.

    This is the one reader of ``.npz`` files behind :meth:`Network.load` and :meth:`relutope.Partition.load`:
    object (pickled) arrays are refused, every member's header is checked against the member's size before the
    array is allocated (so a corrupt shape cannot ask for gigabytes), and whatever zipfile, zlib or numpy raise on
    a truncated, bit-flipped or foreign file is turned into ``ValueError("cannot read {what} file ...")``.
    """
    check_path(path, file_like=True)
    name = str(path)
    fmt = np.lib.format
    try:
        with zipfile.ZipFile(path) as zf:
            arrays = {}
            for info in zf.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as fh:
                    version = fmt.read_magic(fh)
                    if version not in ((1, 0), (2, 0)):
                        raise _Refused(f"array {key!r} has .npy format version {version}, not 1.0 or 2.0")
                    header = (fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0)(fh)
                    shape, _, dtype = header
                    if dtype.hasobject:
                        raise _Refused(f"array {key!r} holds Python objects (refused: loading them would run "
                                       f"pickled code)")
                    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    if nbytes != info.file_size - fh.tell():
                        raise _Refused(f"array {key!r} declares shape {shape} of {dtype} ({nbytes} bytes) but its "
                                       f"member holds {info.file_size - fh.tell()} bytes of data")
                with zf.open(info) as fh:
                    arrays[key] = fmt.read_array(fh, allow_pickle=False)
    except _Refused as exc:
        raise ValueError(f"cannot read {what} file {name!r}: {exc}") from None
    except FileNotFoundError:
        raise ValueError(f"cannot read {what} file {name!r}: no such file") from None
    except zipfile.BadZipFile as exc:
        raise ValueError(f"cannot read {what} file {name!r}: not an .npz archive (a zip file) or corrupt ({exc})"
                         ) from None
    except _NPZ_ERRORS as exc:
        raise ValueError(f"cannot read {what} file {name!r}: corrupt or not written by numpy.savez "
                         f"({type(exc).__name__}: {exc})") from None
    return arrays


def _unit_pieces(kind: str, alpha: float) -> Tuple[float, ...]:
    """Slopes (s_0, ..., s_{K-1}) such that the unit computes max_r s_r * z."""
    if kind == "relu":
        return (0.0, 1.0)
    if kind == "leaky_relu":
        if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
            raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
        if not (np.isfinite(alpha) and alpha < 1.0):
            raise ValueError(f"alpha must be finite and < 1 for leaky_relu (max(alpha*z, z)), got {alpha}")
        return (float(alpha), 1.0)
    if kind == "abs":
        return (-1.0, 1.0)
    if kind == "identity":
        return (1.0,)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {kind!r}")


class Layer:
    """One MASO layer: ``n_units`` max-affine units of an ``in_dim``-dimensional input.

    Parameters
    ----------
    A : array_like, shape (P, in_dim), float64
        One row per affine piece, the pieces of unit 0 first, then those of unit 1, and so on.
    c : array_like, shape (P,), float64
        The pieces' offsets.
    n_pieces : array_like of int, shape (n_units,)
        ``K_k >= 1``, the number of pieces of each unit; ``sum(n_pieces) == P``.

    Raises
    ------
    TypeError
        When an array is not numeric.
    ValueError
        When shapes disagree, a value is NaN or infinite, or a unit has no piece (or more than 127).

    Notes
    -----
    Unit ``k`` computes ``max_r (A[p_k + r] @ x + c[p_k + r])`` with ``p_k = sum(n_pieces[:k])``
    (Balestriero & Baraniuk, ICML 2018, Def. 3). Use :meth:`affine` for the usual affine-then-activation layers.
    """

    def __init__(self, A, c, n_pieces):
        A = _as_float_array(A, "A", 2)
        c = _as_float_array(c, "c", 1)
        n_pieces = np.asarray(n_pieces)
        if n_pieces.ndim != 1 or not np.issubdtype(n_pieces.dtype, np.integer):
            raise TypeError(f"n_pieces must be a 1-D integer array, got dtype {n_pieces.dtype} "
                            f"and shape {n_pieces.shape}")
        if n_pieces.size == 0:
            raise ValueError("n_pieces must name at least one unit")
        if np.any(n_pieces < 1) or np.any(n_pieces > 127):
            raise ValueError("n_pieces must be between 1 and 127 for every unit")
        if A.shape[0] != c.shape[0] or A.shape[0] != int(n_pieces.sum()):
            raise ValueError(f"A has {A.shape[0]} rows and c has {c.shape[0]} entries, "
                             f"but n_pieces sums to {int(n_pieces.sum())}")
        if A.shape[1] < 1:
            raise ValueError("A must have at least one column (in_dim >= 1)")
        self.A = A
        self.c = c
        self.n_pieces = n_pieces.astype(np.int32)
        self.piece_start = np.concatenate([[0], np.cumsum(self.n_pieces)]).astype(np.int64)
        for arr in (self.A, self.c, self.n_pieces, self.piece_start):
            arr.setflags(write=False)

    @classmethod
    def affine(cls, W, b, activation: Union[str, Sequence[str]] = "relu", alpha: float = 0.01) -> "Layer":
        """An affine map followed by an activation, ``y = act(W @ x + b)``.

        Parameters
        ----------
        W : array_like, shape (out, in), float64
            The weights, laid out like ``torch.nn.Linear.weight``.
        b : array_like, shape (out,), float64
            The biases.
        activation : str or sequence of str, optional
            One of ``"relu"``, ``"leaky_relu"``, ``"abs"``, ``"identity"`` for every unit, or one name per unit
            (kinds may be mixed within a layer).
        alpha : float, optional
            The negative slope of ``"leaky_relu"`` units, ``max(alpha * z, z)``; must be < 1.

        Returns
        -------
        Layer

        Raises
        ------
        TypeError, ValueError
            On non-numeric, non-finite or mis-shaped ``W``/``b``, an unknown activation or an invalid ``alpha``.
        """
        W = _as_float_array(W, "W", 2)
        b = _as_float_array(b, "b", 1)
        if W.shape[0] == 0 or W.shape[1] == 0:
            raise ValueError(f"W must have at least one row (output) and one column (input), got shape {W.shape}")
        if W.shape[0] != b.shape[0]:
            raise ValueError(f"W has {W.shape[0]} rows (outputs) but b has {b.shape[0]} entries")
        if isinstance(activation, str):
            kinds = [activation] * W.shape[0]
        else:
            try:
                kinds = list(activation)
            except TypeError:
                raise TypeError(f"activation must be a name or a sequence of names (one per unit), got "
                                f"{type(activation).__name__}") from None
            if len(kinds) != W.shape[0]:
                raise ValueError(f"activation names {len(kinds)} units but W has {W.shape[0]} rows")
        rows, offs, counts = [], [], []
        for k, kind in enumerate(kinds):
            if not isinstance(kind, str):
                raise TypeError(f"activation[{k}] must be a string, got {type(kind).__name__}")
            slopes = _unit_pieces(kind, alpha)
            counts.append(len(slopes))
            for s in slopes:
                rows.append(s * W[k])
                offs.append(s * b[k])
        layer = cls(np.array(rows), np.array(offs), np.array(counts, dtype=np.int32))
        return layer

    @classmethod
    def maxout(cls, W, b, k: Union[int, Sequence[int]]) -> "Layer":
        """A layer of maxout units: unit ``j`` is the maximum of ``k`` consecutive affine maps ``W[r] @ x + b[r]``.

        The layout of ``nn.Linear(in, n_units * k)`` followed by :class:`relutope.io.torch.Maxout` ``(k)``
        (Goodfellow et al., "Maxout Networks", ICML 2013): rows ``j k, ..., j k + k - 1`` of ``W`` are unit ``j``'s
        pieces, in that order (a tie goes to the lowest row).

        Parameters
        ----------
        W : array_like, shape (n_units * k, in), float64
        b : array_like, shape (n_units * k,), float64
        k : int or sequence of int
            Pieces per unit (1 to 127), or one count per unit (they sum to ``W.shape[0]``).

        Returns
        -------
        Layer

        Raises
        ------
        TypeError, ValueError
            On non-numeric or mis-shaped ``W``/``b``, or counts that do not divide or sum to ``W.shape[0]``.

        Examples
        --------
        >>> import numpy as np
        >>> layer = Layer.maxout(np.array([[1.0], [-1.0], [2.0], [0.0]]), np.zeros(4), 2)   # |x|, relu(2x)
        >>> layer.n_pieces.tolist(), Network([layer])(np.array([[-3.0]])).tolist()
        ([2, 2], [[3.0, 0.0]])
        """
        W = _as_float_array(W, "W", 2)
        b = _as_float_array(b, "b", 1)
        if W.shape[0] != b.shape[0]:
            raise ValueError(f"W has {W.shape[0]} rows (pieces) but b has {b.shape[0]} entries")
        if isinstance(k, (bool, np.bool_)):
            raise TypeError("k must be an int or a sequence of ints, got a bool")
        if isinstance(k, numbers.Integral):
            if k < 1 or W.shape[0] % int(k):
                raise ValueError(f"k={k} must be >= 1 and divide the {W.shape[0]} rows of W")
            counts = np.full(W.shape[0] // int(k), int(k), dtype=np.int32)
        else:
            try:
                counts = np.asarray(list(k))
            except TypeError:  # (2.5 or None: "'float' object is not iterable" named nothing)
                raise TypeError(f"k must be an int or a sequence of ints, got {type(k).__name__} {k!r}") from None
            if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer):
                raise TypeError(f"k must be an int or a sequence of ints, got {k!r}")
            if int(counts.sum()) != W.shape[0]:
                raise ValueError(f"the counts k sum to {int(counts.sum())} but W has {W.shape[0]} rows")
        return cls(W, b, counts)

    @property
    def in_dim(self) -> int:
        """Length of the layer's input."""
        return int(self.A.shape[1])

    @property
    def n_units(self) -> int:
        """Number of units (outputs) of the layer."""
        return int(self.n_pieces.shape[0])

    def __reduce__(self):
        # Through the constructor, so that the unpickled arrays are validated and read-only again.
        return (Layer, (self.A, self.c, self.n_pieces))

    def __repr__(self) -> str:
        k = np.unique(self.n_pieces)
        return f"Layer(in_dim={self.in_dim}, n_units={self.n_units}, pieces per unit={k.tolist()})"

    def _is_relu(self) -> bool:
        """Whether every unit is ``max(0, a.x + c)``: two pieces, piece 0 identically zero (cached)."""
        relu = getattr(self, "_relu_rows", None)
        if relu is None:
            K2 = self.A.shape[0] == 2 * self.n_units and np.all(self.n_pieces == 2)
            relu = bool(K2 and not np.any(self.A[0::2]) and not np.any(self.c[0::2]))
            self._relu_rows = relu
        return relu

    def _gain(self) -> Tuple[float, float]:
        """``max_p sum_j |A_pj|`` and ``max_p |c_p|``: the layer's value bound per unit bound of its inputs
        (cached; the frame check of the enumeration, ``enumerate._check_frame``, asks for it on every call)."""
        gain = getattr(self, "_gain_cache", None)
        if gain is None:
            gain = (float(np.abs(self.A).sum(axis=1).max(initial=0.0)), float(np.abs(self.c).max(initial=0.0)))
            self._gain_cache = gain
        return gain

    def _boundary_rows(self) -> Tuple[np.ndarray, np.ndarray]:
        """The boundaries between pieces: every piece ``r`` but its unit's first, and that first piece ``r0``,
        int64 arrays of shape (P - n_units,) (cached); boundary ``f_r - f_r0`` is a hyperplane of the layer."""
        cached = getattr(self, "_boundary_rows_cache", None)
        if cached is None:
            first = np.repeat(self.piece_start[:-1], self.n_pieces.astype(np.int64))
            rows = np.nonzero(np.arange(self.A.shape[0]) != first)[0]
            cached = self._boundary_rows_cache = (rows, first[rows])
        return cached

    def _boundary_gain(self) -> Tuple[np.ndarray, np.ndarray]:
        """For each boundary between a piece and its unit's first, ``f_r - f_0``: ``sum_j |A_rj - A_0j|`` and
        ``|c_r - c_0|``, shapes (P - n_units,) (cached). Their values are at most ``gain * B + offset`` for inputs
        bounded by ``B`` (the frame check of the enumeration, ``enumerate._check_frame``)."""
        cached = getattr(self, "_boundary_cache", None)
        if cached is None:
            rows, base = self._boundary_rows()
            with np.errstate(over="ignore", invalid="ignore"):
                cached = (np.abs(self.A[rows] - self.A[base]).sum(axis=1), np.abs(self.c[rows] - self.c[base]))
            self._boundary_cache = cached
        return cached

    def _forward(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Outputs (N, n_units) and chosen pieces (N, n_units) int8 for inputs x (N, in_dim)."""
        n = x.shape[0]
        if self._is_relu():  # half the products: piece 1 wins only when it is > 0 (a tie goes to piece 0, as argmax)
            z = x @ self.A[1::2].T + self.c[1::2]
            on = z > 0
            return np.where(on, z, 0.0), on.astype(np.int8)
        z = x @ self.A.T + self.c
        if np.all(self.n_pieces == self.n_pieces[0]):
            K = int(self.n_pieces[0])
            z3 = z.reshape(n, self.n_units, K)
            idx = np.argmax(z3, axis=2)
            y = np.take_along_axis(z3, idx[:, :, None], axis=2)[:, :, 0]
            return y, idx.astype(np.int8)
        y = np.empty((n, self.n_units))
        idx = np.empty((n, self.n_units), dtype=np.int8)
        for k in range(self.n_units):
            block = z[:, self.piece_start[k]:self.piece_start[k + 1]]
            j = np.argmax(block, axis=1)
            idx[:, k] = j
            y[:, k] = block[np.arange(n), j]
        return y, idx


class Network:
    """A piecewise-affine network: a composition of MASO layers.

    Parameters
    ----------
    layers : sequence of Layer
        The layers in order; each layer's ``in_dim`` equals the previous layer's ``n_units``.

    Raises
    ------
    TypeError
        When an element is not a :class:`Layer`.
    ValueError
        When there is no layer or consecutive layers do not fit.

    Notes
    -----
    The network is a composition of max-affine spline operators (Balestriero & Baraniuk, ICML 2018, Thm. 2); on
    each activation region it equals one affine map ``y = A_Q x + b_Q`` (:meth:`local_affine_map`).
    Units are numbered globally: layer 0's units first, then layer 1's, and so on; ``n_units`` counts every unit,
    identity units included (their pattern entry is always 0).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> net = relutope.Network.from_weights([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    >>> net(np.array([[1.0, -2.0]]))
    array([[1.]])
    >>> net.activation_pattern(np.array([[1.0, -2.0]]))
    array([[1, 0, 0]], dtype=int8)
    """

    def __init__(self, layers: Iterable[Layer]):
        try:
            layers = list(layers)
        except TypeError:
            raise TypeError(f"layers must be a sequence of relutope.Layer, got {type(layers).__name__}") from None
        if not layers:
            raise ValueError("layers must contain at least one Layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a relutope.Layer, got {type(layer).__name__}")
            if i > 0 and layer.in_dim != layers[i - 1].n_units:
                raise ValueError(f"layers[{i}] takes inputs of length {layer.in_dim} but layers[{i - 1}] "
                                 f"has {layers[i - 1].n_units} units")
        self.layers: Tuple[Layer, ...] = tuple(layers)
        self._core_net = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_weights(cls, weights: Sequence[Tuple[object, object]], activation: str = "relu",
                     output_activation: str = "identity", alpha: float = 0.01) -> "Network":
        """A multilayer perceptron from a list of ``(W, b)`` pairs.

        Parameters
        ----------
        weights : sequence of (W, b)
            ``W`` of shape (out, in) like ``torch.nn.Linear.weight``, ``b`` of shape (out,).
        activation : str, optional
            Activation after every layer but the last (see :data:`ACTIVATIONS`).
        output_activation : str, optional
            Activation after the last layer, ``"identity"`` (linear output) by default.
        alpha : float, optional
            Negative slope of leaky ReLU units.

        Returns
        -------
        Network

        Raises
        ------
        TypeError, ValueError
            On bad weights or names (the message names the layer).
        """
        weights = list(weights)
        if not weights:
            raise ValueError("weights must contain at least one (W, b) pair")
        layers = []
        for i, pair in enumerate(weights):
            try:
                W, b = pair
            except (TypeError, ValueError):
                raise TypeError(f"weights[{i}] must be a (W, b) pair") from None
            act = output_activation if i == len(weights) - 1 else activation
            try:
                layers.append(Layer.affine(W, b, act, alpha))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"weights[{i}]: {exc}") from None
        return cls(layers)

    @classmethod
    def random(cls, widths: Sequence[int], seed: Optional[int] = 0, init: str = "he",
               activation: str = "relu") -> "Network":
        """A random MLP with the given layer widths, built by a fixed, documented recipe.

        Parameters
        ----------
        widths : sequence of int
            ``[d_in, h_1, ..., h_L, d_out]``; at least two entries.
        seed : int >= 0 or None, optional
            Seed of ``numpy.random.default_rng`` (anything else: TypeError or ValueError naming ``seed``).
        init : {"he", "glorot"}, optional
            Weight scale: He (``sqrt(2 / fan_in)``) or Glorot (``sqrt(2 / (fan_in + fan_out))``).
        activation : str, optional
            Activation of the hidden layers; the output layer is linear.

        Returns
        -------
        Network

        Raises
        ------
        TypeError
            When a width is not an integer (``3.5`` would otherwise be truncated).
        ValueError
            When there are fewer than two widths, a width is below 1, or ``init`` is unknown.

        Notes
        -----
        The recipe, so that other tools can rebuild the same nets: ``rng = numpy.random.default_rng(seed)``; for
        each layer in order, ``W = rng.normal(0, scale, (fan_out, fan_in))`` then ``b = rng.normal(0, 0.1,
        fan_out)``, with ``scale = sqrt(2 / fan_in)`` for ``init="he"`` (He et al., ICCV 2015).
        """
        try:
            widths = list(widths)
        except TypeError:
            raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}") from None
        for i, w in enumerate(widths):
            if isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Integral):
                raise TypeError(f"widths[{i}] must be an int, got {w!r} ({type(w).__name__})")
        widths = [int(w) for w in widths]
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths must list at least two positive sizes, got {widths}")
        check_choice(init, "init", ("he", "glorot"))
        from ._checks import check_seed

        rng = np.random.default_rng(check_seed(seed, generator=False))
        weights = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            scale = np.sqrt(2.0 / fan_in) if init == "he" else np.sqrt(2.0 / (fan_in + fan_out))
            W = rng.normal(0.0, scale, (fan_out, fan_in))
            b = rng.normal(0.0, 0.1, fan_out)
            weights.append((W, b))
        return cls.from_weights(weights, activation=activation)

    # ------------------------------------------------------------------ shape
    @property
    def in_dim(self) -> int:
        """Input dimension d."""
        return self.layers[0].in_dim

    @property
    def out_dim(self) -> int:
        """Output dimension m."""
        return self.layers[-1].n_units

    @property
    def widths(self) -> List[int]:
        """``[d_in, n_1, ..., n_L]``."""
        return [self.in_dim] + [layer.n_units for layer in self.layers]

    @property
    def n_units(self) -> int:
        """Total number of units over all layers (the length of an activation pattern)."""
        return int(sum(layer.n_units for layer in self.layers))

    @property
    def unit_layer(self) -> np.ndarray:
        """Layer index of every unit, shape (n_units,), int64."""
        return np.repeat(np.arange(len(self.layers)), [layer.n_units for layer in self.layers])

    @property
    def n_pieces(self) -> np.ndarray:
        """Number of affine pieces of every unit, shape (n_units,), int32."""
        return np.concatenate([layer.n_pieces for layer in self.layers])

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        return f"Network(widths={self.widths}, n_units={self.n_units})"

    # ------------------------------------------------------------------ evaluation
    def _check_x(self, x) -> np.ndarray:
        return _as_points(x, "x", self.in_dim)

    def forward(self, x) -> Tuple[np.ndarray, np.ndarray]:
        """Outputs and activation patterns of a batch of inputs.

        Parameters
        ----------
        x : array_like, shape (N, d) or (d,), float64
            A batch of inputs, or one input (then ``N = 1``).

        Returns
        -------
        y : ndarray, shape (N, m), float64
        patterns : ndarray, shape (N, n_units), int8
            Chosen piece of every unit (ties to the lowest index).

        Raises
        ------
        TypeError, ValueError
            When ``x`` is not numeric, not finite, 0-d or of more than two dimensions, or of the wrong width.
        """
        h = self._check_x(x)
        pats = []
        for layer in self.layers:
            h, idx = layer._forward(h)
            pats.append(idx)
        return h, np.concatenate(pats, axis=1)

    def __call__(self, x) -> np.ndarray:
        """The network's output ``y`` (N, m) for inputs ``x`` (N, d); see :meth:`forward`."""
        return self.forward(x)[0]

    def activation_pattern(self, x) -> np.ndarray:
        """Activation patterns (N, n_units) int8 of inputs ``x`` (N, d); for ReLU, 1 means active."""
        return self.forward(x)[1]

    def local_affine_map(self, pattern) -> Tuple[np.ndarray, np.ndarray]:
        """The affine map ``y = A_Q x + b_Q`` the network computes on the region of an activation pattern.

        Parameters
        ----------
        pattern : array_like of int, shape (n_units,) or (R, n_units)

        Returns
        -------
        A_Q : ndarray, shape (m, d) or (R, m, d), float64
        b_Q : ndarray, shape (m,) or (R, m), float64

        Raises
        ------
        ValueError
            When the pattern has the wrong length or names a piece a unit does not have.

        Notes
        -----
        Composition of the chosen pieces layer by layer (Balestriero & Baraniuk, ICML 2018, Eq. 9).
        """
        from . import _core

        pats = np.asarray(pattern)
        single = pats.ndim == 1
        pats = np.ascontiguousarray(np.atleast_2d(pats))
        if not np.issubdtype(pats.dtype, np.integer):
            raise TypeError(f"pattern must be an integer array, got dtype {pats.dtype}")
        if pats.ndim != 2 or pats.shape[1] != self.n_units:
            raise ValueError(f"pattern must have shape (n_units,) or (R, n_units) with n_units={self.n_units}, "
                             f"got {np.shape(pattern)}")
        check_pieces(pats, self.n_pieces, "pattern")
        A, b = _core.local_affine_maps(self._core(), pats.astype(np.int8))
        return (A[0], b[0]) if single else (A, b)

    # ------------------------------------------------------------------ persistence
    def _to_arrays(self, prefix: str = "") -> dict:
        arrays = {f"{prefix}format": np.array("relutope.Network/1"), f"{prefix}n_layers": np.array(len(self.layers))}
        for i, layer in enumerate(self.layers):
            arrays[f"{prefix}layer{i}_A"] = layer.A
            arrays[f"{prefix}layer{i}_c"] = layer.c
            arrays[f"{prefix}layer{i}_n_pieces"] = layer.n_pieces
        return arrays

    @classmethod
    def _from_arrays(cls, data, prefix: str = "", source: str = "archive") -> "Network":
        """The network of a dict of arrays (:meth:`_to_arrays`, or a plain ``W0, b0, ...`` MLP archive)."""
        keys = set(data)
        try:
            return cls._from_arrays_unchecked(data, keys, prefix)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"network file {source!r}: {exc}") from None

    @classmethod
    def _from_arrays_unchecked(cls, data, keys, prefix: str) -> "Network":
        if f"{prefix}format" in keys:
            fmt = data[f"{prefix}format"]
            if fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != "relutope.Network/1":
                raise ValueError(f"{prefix}format is {str(fmt)[:40]!r}, not 'relutope.Network/1'")
        if f"{prefix}n_layers" in keys:
            n = int(data[f"{prefix}n_layers"])
            found = sorted({int(m.group(1)) for k in keys
                            if (m := re.fullmatch(re.escape(prefix) + r"layer(\d+)_(?:A|c|n_pieces)", k))})
            if n != len(found) or found != list(range(len(found))):
                raise ValueError(f"n_layers is {n} but the archive has arrays for layers {found}")
            try:
                return cls([Layer(data[f"{prefix}layer{i}_A"], data[f"{prefix}layer{i}_c"],
                                  data[f"{prefix}layer{i}_n_pieces"]) for i in range(n)])
            except KeyError as exc:
                raise ValueError(f"array {exc} is missing") from None
        if f"{prefix}W0" in keys:
            index = {kind: sorted(int(m.group(1)) for k in keys
                                  if (m := re.fullmatch(re.escape(prefix) + kind + r"(\d+)", k)))
                     for kind in "Wb"}
            for kind in "Wb":
                gap = next((i for i, j in enumerate(index[kind]) if i != j), None)
                if gap is not None:
                    raise ValueError(f"it has {kind}{index[kind][-1]} but no {kind}{gap} (layers must be numbered "
                                     f"from 0 without gaps)")
            if index["b"] != index["W"]:
                i = sorted(set(index["W"]) ^ set(index["b"]))[0]
                has, lacks = ("W", "b") if i in index["W"] else ("b", "W")
                raise ValueError(f"it has {has}{i} but no {lacks}{i}")
            weights = [(data[f"{prefix}W{i}"], data[f"{prefix}b{i}"]) for i in index["W"]]
            act = str(data[f"{prefix}activation"]) if f"{prefix}activation" in keys else "relu"
            return cls.from_weights(weights, activation=act)
        raise ValueError(f"it has neither {prefix}n_layers nor {prefix}W0 arrays")

    def save(self, path) -> None:
        """Write the network to an ``.npz`` file (keys ``layer{i}_A``, ``layer{i}_c``, ``layer{i}_n_pieces``)."""
        np.savez(path, **self._to_arrays())

    @classmethod
    def load(cls, path) -> "Network":
        """Read a network written by :meth:`save`.

        Also accepts a plain MLP archive with keys ``W0, b0, W1, b1, ...`` (ReLU hidden layers, linear output;
        an optional string entry ``activation`` names the hidden activation).

        Parameters
        ----------
        path : str, os.PathLike or file-like
            An ``.npz`` archive. It is read without pickles (object arrays are refused).

        Returns
        -------
        Network

        Raises
        ------
        ValueError
            When the file does not exist, cannot be read (truncated, corrupt, not an ``.npz`` archive, object
            arrays), is not such an archive, its layers are not numbered ``0 .. L-1`` without gaps (``W0, b0, W2,
            b2`` is refused, not read as two layers), or its arrays do not fit together. The message names the file.
        TypeError
            When an array of the file is not numeric, or ``path`` is neither a path nor a file object (an int
            or bool is not taken as a file descriptor).
        """
        return cls._from_arrays(_read_npz(path, "network"), source=str(path))

    def to_torch(self):
        """The network as a float64 ``torch.nn.Sequential`` computing the same function; see
        :func:`relutope.io.torch.to_torch` (``from_torch`` reads it back to the same layers)."""
        from .io.torch import to_torch

        return to_torch(self)

    def to_onnx(self, path=None, *, opset: int = 17):
        """The network as a float64 ONNX model (saved to ``path`` when given, and returned); see
        :func:`relutope.io.onnx.to_onnx` (``load_onnx`` reads it back to the same layers)."""
        from .io.onnx import to_onnx

        return to_onnx(self, path, opset=opset)

    def _repr_html_(self) -> str:
        from ._html import network_html

        return network_html(self)

    def fingerprint(self) -> str:
        """A SHA-256 digest (64 hex digits) of the network's layer structure and weights.

        Two networks have the same fingerprint exactly when they have the same layers: the same ``n_pieces``,
        and bit-for-bit the same float64 ``A`` and ``c`` of every layer. :meth:`relutope.Partition.save` stores it
        and :meth:`relutope.Partition.load` checks it, so a partition cannot be paired with another network.

        Examples
        --------
        >>> import relutope
        >>> a, b = relutope.Network.random([2, 3, 1], seed=0), relutope.Network.random([2, 3, 1], seed=0)
        >>> a.fingerprint() == b.fingerprint() != relutope.Network.random([2, 3, 1], seed=1).fingerprint()
        True
        """
        h = hashlib.sha256(b"relutope.Network/1")
        for layer in self.layers:
            h.update(np.array([layer.in_dim, layer.n_units, layer.A.shape[0]], dtype="<i8").tobytes())
            h.update(np.ascontiguousarray(layer.n_pieces, dtype="<i4").tobytes())
            h.update(np.ascontiguousarray(layer.A, dtype="<f8").tobytes())
            h.update(np.ascontiguousarray(layer.c, dtype="<f8").tobytes())
        return h.hexdigest()

    # ------------------------------------------------------------------ pickling
    def __reduce__(self):
        # The compiled twin (a _core.Network) cannot be pickled: rebuild from the layers, and the core on first use.
        return (Network, (self.layers,))

    # ------------------------------------------------------------------ compiled form
    def _core(self):
        """The compiled twin of this network (built once)."""
        if self._core_net is None:
            from . import _core

            self._core_net = _core.Network([(l.A, l.c, l.n_pieces) for l in self.layers])
        return self._core_net
