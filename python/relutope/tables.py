"""A partition as tables: one row per region (pandas), its adjacency as an edge list, and a JSON document.

:func:`region_frame` (``Partition.to_frame()``) and :func:`adjacency_frame` (``Partition.adjacency_frame()``)
need pandas (``pip install "relutope[tables]"``), imported when they are called, in the manner of xarray's and
geopandas' ``to_frame``/``to_dataframe``. :func:`to_json` / :func:`from_json` (``Partition.to_json()`` /
``Partition.from_json()``) write and read a partition as plain JSON, for small partitions and for tools outside
Python.

Region table columns
--------------------
The index is ``region``, the region's index in the partition (``part[i]``). In order:

=====================  ==============  ==========================================================================
column                 dtype           meaning (units)
=====================  ==============  ==========================================================================
``x0`` .. ``x{d-1}``   float64         the witness (Chebyshev centre, :attr:`Partition.witnesses`) in the network's
                                       input space (input units); only when ``d <= max_input_columns``
``t0`` .. ``t{k-1}``   float64         the witness in domain coordinates ``t`` (:attr:`Partition.witness_coords`);
                                       only when they differ from ``x`` (a :class:`~relutope.Slice`, a box with
                                       fixed coordinates)
``radius``             float64         Chebyshev radius (:attr:`Partition.radii`; input units)
``volume``             float64         k-dimensional volume (:meth:`Partition.volumes`; input units to the power
                                       ``k``); see ``volumes``
``active_{l}``         int64           for every layer ``l``: units of the layer whose chosen piece is not piece 0
                                       (ReLU, leaky ReLU, absolute value: the pre-activation is > 0; identity
                                       units never count)
``y0`` .. ``y{m-1}``   float64         the network's output at the witness (output units)
``predicted``          int64           ``argmax`` of the outputs (ties to the lowest index); only when ``m >= 2``
``grad_norm``          float64         spectral norm (largest singular value) of the region's Jacobian ``A_Q``
                                       (:meth:`Partition.affine_maps`) with respect to the input ``x``: the
                                       Euclidean norm of the gradient when ``m == 1`` (output units per input
                                       unit)
=====================  ==============  ==========================================================================

JSON document
-------------
:func:`to_json` writes one JSON object (strict JSON: no NaN or infinity)::

    {"format": "relutope.Partition/json1",
     "n_regions": R, "widths": [d, n_1, ..., n_L],          # informative, not read back
     "arrays": {NAME: {"dtype": DTYPE, "shape": [...], "data": [...]}, ...}}

``arrays`` holds exactly the arrays of :meth:`Partition.save`'s ``.npz`` file, under the same names:
``format`` (the string ``"relutope.Partition/1"``), ``patterns`` (R, n_units) int8, ``centers`` (R, k) float64 (engine coordinates ``u``), ``radii`` (R,),
``layer_counts`` (L,) int64, ``status``, ``tol``, ``lps``, ``lp_iterations``, ``seconds``, ``net_fingerprint``,
``method``, ``message`` (scalars, shape ``[]``; the last two are optional on reading), the network as ``net_format``, ``net_n_layers``, ``net_layer{i}_A`` (P_i, n_{i-1}),
``net_layer{i}_c`` (P_i,) and ``net_layer{i}_n_pieces`` (n_i,) int32, the domain as ``domain_kind`` and its
arrays (``domain_lo``/``domain_hi`` for a box, ...), and ``polygon_offsets``/``polygon_vertices`` for planar
partitions that have them. ``data`` is the C-order flattening (a list of numbers, or one string for ``dtype``
``"str"``); floats are written with Python's shortest round-tripping representation, so :func:`from_json` gives
back the same arrays bit for bit and checks them as :meth:`Partition.load` does (the network's fingerprint
included).
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

from ._checks import check_int, check_partition, check_path

if TYPE_CHECKING:  # pragma: no cover
    from .partition import Partition

__all__ = ["JSON_FORMAT", "adjacency_frame", "from_json", "region_frame", "to_json"]

#: The ``format`` entry of :func:`to_json`'s documents.
JSON_FORMAT = "relutope.Partition/json1"
_CHUNK = 4096


def _pandas(what: str):
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{what} needs pandas (pip install 'relutope[tables]')") from exc
    return pandas


def _volumes_column(partition: "Partition", volumes: Optional[bool]) -> Optional[np.ndarray]:
    """The volume column: computed when asked, cached ones, or polygon areas of a planar partition."""
    if volumes is True:
        return partition.volumes()
    if volumes is False:
        return None
    if volumes is not None:
        raise TypeError(f"volumes must be None, True or False, got {volumes!r}")
    if partition._volumes is not None:
        return partition._volumes
    if partition._polygons is not None:  # shoelace areas in t, scaled to input units
        from .polygons import areas

        form = partition.domain._engine_form()
        return np.abs(areas(*partition._polygons)) * abs(float(np.linalg.det(form.R)))
    return None


def _grad_norms(partition: "Partition") -> np.ndarray:
    """Spectral norm of every region's Jacobian, in chunks of regions (an (R, m, d) array may not fit)."""
    R = len(partition)
    out = np.empty(R)
    for s in range(0, R, _CHUNK):
        A, _ = partition.network.local_affine_map(partition._patterns_at(slice(s, s + _CHUNK)))
        out[s:s + _CHUNK] = np.linalg.norm(A, ord=2, axis=(1, 2)) if A.shape[1] > 1 else np.linalg.norm(A[:, 0],
                                                                                                          axis=1)
    return out


def region_frame(partition: "Partition", *, volumes: Optional[bool] = None, max_input_columns: int = 32):
    """One row per region of a partition, as a ``pandas.DataFrame`` (see the module documentation's columns).

    Parameters
    ----------
    partition : Partition
    volumes : bool or None, optional
        ``True``: a ``volume`` column from :meth:`Partition.volumes` (domains of dimension <= 6; the compiled
        volume kernel); ``False``: none; ``None`` (default): only when it is cheap: volumes already computed,
        or a planar partition's polygon areas.
    max_input_columns : int, optional
        The witness's input coordinates ``x0 ..`` are columns only when the input dimension is at most this.

    Returns
    -------
    pandas.DataFrame
        ``R`` rows indexed by ``region``.

    Raises
    ------
    ImportError
        When pandas is not installed.
    TypeError
        When ``volumes`` is not None or a bool.
    ValueError
        With ``volumes=True`` on a domain of dimension > 4 or with unbounded regions (from :meth:`volumes`).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 4, 2], seed=0),
    ...                                   relutope.Box(-np.ones(2), np.ones(2)))
    >>> df = part.to_frame()
    >>> list(df.columns)
    ['x0', 'x1', 'radius', 'volume', 'active_0', 'active_1', 'y0', 'y1', 'predicted', 'grad_norm']
    >>> bool(np.isclose(df["volume"].sum(), 4.0))
    True
    """
    check_partition(partition)
    max_input_columns = check_int(max_input_columns, "max_input_columns", 0)
    pd = _pandas("to_frame")
    net = partition.network
    cols = {}
    X = partition.witnesses
    k = partition.domain.intrinsic_dim
    if net.in_dim <= max_input_columns:
        cols.update({f"x{i}": X[:, i] for i in range(net.in_dim)})
    T = partition.witness_coords
    if k != net.in_dim or not np.array_equal(T, X):
        cols.update({f"t{i}": T[:, i] for i in range(k)})
    cols["radius"] = partition.radii
    vol = _volumes_column(partition, volumes)
    if vol is not None:
        cols["volume"] = vol
    pats = partition.patterns
    offsets = np.concatenate([[0], np.cumsum([layer.n_units for layer in net.layers])])
    for l in range(len(net.layers)):
        cols[f"active_{l}"] = (pats[:, offsets[l]:offsets[l + 1]] != 0).sum(axis=1).astype(np.int64)
    Y = net(X) if len(partition) else np.zeros((0, net.out_dim))
    cols.update({f"y{j}": Y[:, j] for j in range(net.out_dim)})
    if net.out_dim >= 2:
        cols["predicted"] = np.argmax(Y, axis=1).astype(np.int64)
    cols["grad_norm"] = _grad_norms(partition)
    return pd.DataFrame(cols, index=pd.RangeIndex(len(partition), name="region"))


def adjacency_frame(partition: "Partition", *, progress: bool = False):
    """The adjacency graph's edge list as a ``pandas.DataFrame``: one row per pair of regions sharing a facet.

    Parameters
    ----------
    partition : Partition
    progress : bool, optional
        tqdm bars for the facets and the adjacency when they are not computed yet.

    Returns
    -------
    pandas.DataFrame
        Columns ``source``, ``target`` (region indices, ``source < target``; int64), ``layer``, ``unit`` (global
        unit index) and ``unit_in_layer`` of the unit whose piece changes across the facet (int64), and
        ``t0 .. t{k-1}``, a point in the relative interior of the shared facet in domain coordinates (float64).
        The arrays of :meth:`Partition.adjacency` (``edges``, ``layer``, ``unit``, ``unit_in_layer``,
        ``points``), in its order.

    Raises
    ------
    ImportError
        When pandas is not installed.
    """
    check_partition(partition)
    pd = _pandas("adjacency_frame")
    adj = partition.adjacency(progress=progress)
    cols = {"source": adj.edges[:, 0].astype(np.int64), "target": adj.edges[:, 1].astype(np.int64),
            "layer": adj.layer.astype(np.int64), "unit": adj.unit.astype(np.int64),
            "unit_in_layer": adj.unit_in_layer.astype(np.int64)}
    cols.update({f"t{i}": adj.points[:, i] for i in range(adj.points.shape[1])})
    return pd.DataFrame(cols)


def _encode(a: np.ndarray) -> dict:
    a = np.asarray(a)
    if a.dtype.kind == "U":
        return {"dtype": "str", "shape": list(a.shape), "data": str(a)}
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError("a partition with NaN or infinite values cannot be written as JSON")
    return {"dtype": a.dtype.name, "shape": list(a.shape), "data": a.ravel().tolist()}


_DTYPES = ("float64", "float32", "int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64", "bool")


def _decode(name: str, entry) -> np.ndarray:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data"}:
        raise ValueError(f"arrays[{name!r}] must be an object with keys dtype, shape and data")
    dtype, shape, data = entry["dtype"], entry["shape"], entry["data"]
    if not isinstance(shape, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                              for v in shape):
        raise ValueError(f"arrays[{name!r}]['shape'] must be a list of non-negative ints, got {shape!r}")
    if dtype == "str":
        if shape != [] or not isinstance(data, str):
            raise ValueError(f"arrays[{name!r}] of dtype str must hold one string with shape []")
        return np.array(data)
    if dtype not in _DTYPES:
        raise ValueError(f"arrays[{name!r}] has dtype {dtype!r}, not one of {', '.join(_DTYPES + ('str',))}")
    if not isinstance(data, list) or len(data) != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"arrays[{name!r}]['data'] must be a list of {int(np.prod(shape, dtype=np.int64))} numbers "
                         f"(shape {shape})")
    def ok(v):
        return isinstance(v, bool) if dtype == "bool" else isinstance(v, (int, float)) and not isinstance(v, bool)

    if not all(ok(v) for v in data):
        raise ValueError(f"arrays[{name!r}]['data'] must hold only numbers")
    try:
        return np.array(data, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"arrays[{name!r}]: {exc}") from None


def to_json(partition: "Partition", path: Union[str, os.PathLike, None] = None, *,
            max_regions: int = 100_000) -> str:
    """The partition as a JSON document (see the module documentation for its schema).

    Parameters
    ----------
    partition : Partition
    path : str, os.PathLike or None, optional
        Also write the document to this file (UTF-8).
    max_regions : int, optional
        Refuse larger partitions (JSON is meant for small ones; use :meth:`Partition.save` for the others).

    Returns
    -------
    str
        The document.

    Raises
    ------
    ValueError
        When the partition has more than ``max_regions`` regions.
    TypeError
        When ``path`` is not a str or os.PathLike (an int or bool would be taken as a file descriptor).

    Examples
    --------
    >>> import numpy as np, relutope
    >>> part = relutope.enumerate_regions(relutope.Network.random([2, 3, 1], seed=0),
    ...                                   relutope.Box(-np.ones(2), np.ones(2)))
    >>> back = relutope.Partition.from_json(part.to_json())
    >>> bool(np.array_equal(back.patterns, part.patterns) and np.array_equal(back.witnesses, part.witnesses))
    True
    """
    check_partition(partition)
    max_regions = check_int(max_regions, "max_regions", 0)
    if path is not None:
        check_path(path)
    if len(partition) > max_regions:
        raise ValueError(f"the partition has {len(partition)} regions, more than max_regions={max_regions}; "
                         f"JSON is meant for small partitions (use Partition.save for an .npz file)")
    arrays = partition._archive_arrays()
    doc = {"format": JSON_FORMAT, "n_regions": len(partition), "widths": partition.network.widths,
           "arrays": {name: _encode(a) for name, a in arrays.items()}}
    text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    if path is not None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    return text


def from_json(source: Union[str, bytes, os.PathLike]) -> "Partition":
    """Read a partition written by :func:`to_json`.

    Parameters
    ----------
    source : str, bytes or os.PathLike
        The document itself (a str or bytes starting with ``{``) or the path of a file holding it.

    Returns
    -------
    Partition

    Raises
    ------
    ValueError
        When the source is not JSON, not such a document, or its arrays do not fit together (the checks of
        :meth:`Partition.load`, the network's fingerprint included); the message names the entry.
    TypeError
        When ``source`` is of another type.
    """
    from .partition import _partition_from_arrays

    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if isinstance(source, str) and source.lstrip().startswith("{"):
        text, where = source, "<json>"
    elif isinstance(source, (str, os.PathLike)):
        where = os.fspath(source)
        try:
            with open(where, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ValueError(f"cannot read partition JSON file {where!r}: {exc}") from None
    else:
        raise TypeError(f"from_json takes a JSON string, bytes or a path, got {type(source).__name__}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT or not isinstance(doc.get("arrays"), dict):
        raise ValueError(f"{where}: not a relutope partition document (format {JSON_FORMAT!r} with 'arrays')")
    try:
        arrays = {name: _decode(name, entry) for name, entry in doc["arrays"].items()}
        return _partition_from_arrays(arrays, where)
    except (KeyError, TypeError, ValueError) as exc:
        what = f"array {exc} is missing" if isinstance(exc, KeyError) else str(exc)
        raise (TypeError if isinstance(exc, TypeError) else ValueError)(f"{where}: {what}") from None
