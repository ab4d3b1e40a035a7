"""Notebook display: the ``_repr_html_`` of :class:`Network`, :class:`Partition` and the result objects.

Each is a short HTML table (escaped text, no scripts, no styles beyond a few inline attributes). A partition of a
bounded planar domain also gets a small inline picture of its regions (PNG, base64), drawn with
:func:`relutope.plot.partition` on a figure of its own (no pyplot state is touched) when matplotlib is importable,
the partition has at most :data:`PICTURE_MAX_REGIONS` regions, and the PNG is at most :data:`PICTURE_MAX_BYTES`.
"""
from __future__ import annotations

import base64
import dataclasses
import html
import io
from typing import Iterable, Tuple

import numpy as np

__all__ = ["PICTURE_MAX_BYTES", "PICTURE_MAX_REGIONS", "network_html", "partition_html", "result_html"]

#: Partitions with more regions are shown without a picture.
PICTURE_MAX_REGIONS = 20_000
#: Largest inline PNG, in bytes (before base64).
PICTURE_MAX_BYTES = 200_000
_MAX_ROWS = 12


def _fmt(value) -> str:
    """A short text form of a value: small arrays in full, large ones by shape and dtype."""
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return np.array2string(value, precision=6, separator=", ", max_line_width=120)
        return f"array of shape {value.shape}, {value.dtype}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"{type(value).__name__} of {len(value)} entries"
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:197] + "..."


def _table(title: str, rows: Iterable[Tuple[str, object]], extra: str = "") -> str:
    cells = "".join(f"<tr><th style=\"text-align:left\">{html.escape(str(k))}</th>"
                    f"<td style=\"text-align:left\">{html.escape(_fmt(v))}</td></tr>" for k, v in rows)
    return (f"<div><table><caption style=\"text-align:left\"><b>{html.escape(title)}</b></caption>{cells}</table>"
            f"{extra}</div>")


def network_html(net) -> str:
    """A table of a network's shape: widths, units, pieces per unit of every layer, fingerprint."""
    rows = [("widths", net.widths), ("units", net.n_units), ("layers", len(net.layers))]
    for i, layer in enumerate(net.layers[:_MAX_ROWS]):
        k, n = np.unique(layer.n_pieces, return_counts=True)
        pieces = ", ".join(f"{c} x {p}" for p, c in zip(k.tolist(), n.tolist()))
        rows.append((f"layer {i}", f"{layer.n_units} units ({pieces} pieces), input {layer.in_dim}"))
    if len(net.layers) > _MAX_ROWS:
        rows.append(("...", f"{len(net.layers) - _MAX_ROWS} more layers"))
    rows.append(("fingerprint", net.fingerprint()[:16]))
    return _table("relutope.Network", rows)


def _picture(partition) -> str:
    """An ``<img>`` of a planar partition, or '' when it cannot or should not be drawn."""
    dom = partition.domain
    if dom.intrinsic_dim != 2 or not dom.bounded or not 0 < len(partition) <= PICTURE_MAX_REGIONS:
        return ""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return ""
    from .plot import partition as draw

    fig = Figure(figsize=(3.0, 3.0), dpi=72)
    ax = fig.add_subplot(1, 1, 1)
    buf = io.BytesIO()
    try:  # a display must not raise: without a picture the table still shows
        draw(partition, ax=ax, edges=len(partition) <= 2000)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.savefig(buf, format="png", bbox_inches="tight")
    except Exception:  # pragma: no cover - matplotlib back-end trouble
        return ""
    data = buf.getvalue()
    if len(data) > PICTURE_MAX_BYTES:
        return ""
    return (f"<img alt=\"activation regions\" src=\"data:image/png;base64,{base64.b64encode(data).decode('ascii')}\""
            f"/>")


def partition_html(partition) -> str:
    """A table of a partition's summary, with a picture of its regions on a planar domain."""
    rows = [("regions", len(partition)), ("status", partition.status + ("" if partition.complete else " (incomplete: the regions found so far)")), ("network", partition.network.widths),
            ("domain", repr(partition.domain)), ("per layer", partition.layer_counts.tolist()),
            ("tolerance", partition.tol), ("seconds", partition.seconds), ("LPs", partition.lps)]
    if partition.message:
        rows.append(("message", partition.message))
    return _table("relutope.Partition", rows, _picture(partition))


def result_html(obj) -> str:
    """A table of a result dataclass's public fields (lists of dicts, such as table rows, as a nested table)."""
    rows, extra = [], ""
    for f in dataclasses.fields(obj):
        if f.name.startswith("_"):
            continue
        value = getattr(obj, f.name)
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            keys = list(value[0])
            head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(k)))}</td>" for k in keys) + "</tr>"
                           for r in value[:_MAX_ROWS])
            extra += f"<table><caption style=\"text-align:left\">{html.escape(f.name)}</caption><tr>{head}</tr>" \
                     f"{body}</table>"
            if len(value) > _MAX_ROWS:
                rows.append((f.name, f"{len(value)} rows (first {_MAX_ROWS} shown)"))
            continue
        rows.append((f.name, value))
    return _table(type(obj).__name__, rows, extra)
