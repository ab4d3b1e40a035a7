"""Reader of the ``.nnet`` text format of the ACAS Xu networks (Kyle Julian, Stanford 2016).

Layout of a file (values comma-separated, a trailing comma allowed, one record per line):

1. any number of comment lines starting with ``//``;
2. ``numLayers, inputSize, outputSize, maxLayerSize``;
3. the ``numLayers + 1`` layer sizes, input first;
4. a flag (historically "symmetric"; ignored);
5. ``inputSize`` input minimums, then ``inputSize`` input maximums (one line each);
6. ``inputSize + 1`` means, then ``inputSize + 1`` ranges (one line each; the last entry is the output's);
7. for every layer: its ``out`` weight rows of ``in`` values each (``W`` of shape (out, in), row-major), then its
   ``out`` biases, one per line.

Hidden layers are ReLU, the output layer is linear. The network expects *normalised* inputs
``(x_raw - mean) / range`` and produces normalised outputs, ``y_raw = y * output_range + output_mean``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Tuple, Union

import numpy as np

from .._checks import check_bool
from ..errors import ModelFormatError
from ..network import Network
from .lowering import compose

__all__ = ["NNetInfo", "load_nnet"]


@dataclass(frozen=True)
class NNetInfo:
    """Header data of a ``.nnet`` file.

    Attributes
    ----------
    path : str
        The file read.
    layer_sizes : tuple of int
        ``(inputSize, hidden sizes..., outputSize)``.
    input_min, input_max : ndarray, shape (d,), float64
        Bounds of the raw inputs. The reference implementation clips raw inputs to them before normalising;
        relutope never applies them (clipping is not affine), they are informational.
    input_mean, input_range : ndarray, shape (d,), float64
        ``x_norm = (x_raw - input_mean) / input_range``.
    output_mean, output_range : float
        ``y_raw = y_norm * output_range + output_mean`` (the same for every output).
    """

    path: str
    layer_sizes: Tuple[int, ...]
    input_min: np.ndarray
    input_max: np.ndarray
    input_mean: np.ndarray
    input_range: np.ndarray
    output_mean: float
    output_range: float

    def normalize_input(self, x_raw) -> np.ndarray:
        """``(x_raw - input_mean) / input_range`` for raw inputs of shape (N, d) or (d,)."""
        return (np.asarray(x_raw, dtype=np.float64) - self.input_mean) / self.input_range

    def denormalize_output(self, y) -> np.ndarray:
        """``y * output_range + output_mean`` for normalised outputs of any shape."""
        return np.asarray(y, dtype=np.float64) * self.output_range + self.output_mean


class _Lines:
    """Non-comment, non-blank lines of a file with their 1-based line numbers."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.items = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines())
                      if line.strip() and not line.lstrip().startswith("//")]
        self.pos = 0
        self.n_lines = text.count("\n") + 1

    def error(self, lineno: int, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.path}, line {lineno}: {msg}")

    def numbers(self, count: int, what: str, kind=float) -> np.ndarray:
        """The next line, which must hold exactly ``count`` numbers."""
        if self.pos >= len(self.items):
            raise ModelFormatError(f"{self.path}, line {self.n_lines}: file ends early, expected {what}")
        lineno, line = self.items[self.pos]
        self.pos += 1
        fields = [f.strip() for f in line.split(",")]
        if fields and fields[-1] == "":
            fields.pop()
        if len(fields) != count:
            raise self.error(lineno, f"expected {count} value(s) ({what}), found {len(fields)}")
        try:
            if kind is int:
                vals = [int(f) for f in fields]
            else:
                vals = [float(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _parses(f, kind))
            raise self.error(lineno, f"cannot read {bad!r} as {'an integer' if kind is int else 'a number'} "
                                     f"({what})") from None
        arr = np.array(vals, dtype=np.int64 if kind is int else np.float64)
        if kind is float and not np.all(np.isfinite(arr)):
            raise self.error(lineno, f"NaN or infinite value ({what})")
        return arr


def _parses(text: str, kind) -> bool:
    try:
        kind(text)
        return True
    except ValueError:
        return False


def load_nnet(path: Union[str, os.PathLike], normalize: str = "none", return_info: bool = False):
    """Read a ``.nnet`` file (ACAS Xu format) as a :class:`relutope.Network`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    normalize : {"none", "fold"}, optional
        ``"none"``: the network maps normalised inputs to normalised outputs, exactly as stored (and as in the
        ONNX versions of the ACAS Xu networks). ``"fold"``: the input normalisation
        ``x -> (x - input_mean) / input_range`` is folded into the first affine map and the output scaling
        ``y -> y * output_range + output_mean`` into the last, so the network maps raw inputs to raw outputs
        (input clipping to ``[input_min, input_max]`` is *not* applied).
    return_info : bool, optional
        Also return the header data.

    Returns
    -------
    net : Network
        ReLU hidden layers and a linear output layer; ``in_dim = inputSize``, ``out_dim = outputSize``.
    info : NNetInfo
        Only when ``return_info`` is true.

    Raises
    ------
    ModelFormatError
        (a ``ValueError``) When the file is truncated, corrupt or inconsistent (memory grows with the lines read, never by
        the declared sizes); the message names the file and the line.
        Nothing is returned in that case. Apart from these and ``OSError``, no content raises anything else.
    OSError
        When the file cannot be opened.
    ValueError
        When ``normalize`` is not one of the accepted values, or it is ``"fold"`` and an input range is zero.
    TypeError
        When ``return_info`` is not a bool.
    """
    if normalize not in ("none", "fold"):
        raise ValueError(f"normalize must be 'none' or 'fold', got {normalize!r}")
    return_info = check_bool(return_info, "return_info")  # ("no" was truthy: it returned a tuple)
    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        lineno = raw[:exc.start].count(b"\n") + 1
        raise ModelFormatError(f"{path}, line {lineno}: not a text file (byte {raw[exc.start]:#04x})") from None
    lines = _Lines(path, text)

    n_layers, d_in, d_out, _max_size = lines.numbers(4, "numLayers, inputSize, outputSize, maxLayerSize", int)
    header_line = lines.items[lines.pos - 1][0]
    if n_layers < 1 or d_in < 1 or d_out < 1:
        raise lines.error(header_line, f"numLayers, inputSize and outputSize must be positive, got "
                                       f"{n_layers}, {d_in}, {d_out}")
    if n_layers > 10_000:
        raise lines.error(header_line, f"implausible number of layers {n_layers}")
    sizes = lines.numbers(int(n_layers) + 1, "layer sizes", int)
    sizes_line = lines.items[lines.pos - 1][0]
    if np.any(sizes < 1) or sizes[0] != d_in or sizes[-1] != d_out:
        raise lines.error(sizes_line, f"layer sizes {sizes.tolist()} must be positive and start with inputSize "
                                      f"{d_in} and end with outputSize {d_out}")
    lines.numbers(1, "symmetric flag")
    in_min = lines.numbers(int(d_in), "input minimums")
    in_max = lines.numbers(int(d_in), "input maximums")
    means = lines.numbers(int(d_in) + 1, "means (inputs, then output)")
    ranges = lines.numbers(int(d_in) + 1, "ranges (inputs, then output)")

    # Arrays grow with the lines actually read, never by the declared sizes (a corrupt size cannot allocate).
    weights: List[Tuple[np.ndarray, np.ndarray]] = []
    for k in range(int(n_layers)):
        n_in, n_out = int(sizes[k]), int(sizes[k + 1])
        W = np.array([lines.numbers(n_in, f"layer {k} weight row {r}") for r in range(n_out)]).reshape(n_out, n_in)
        b = np.array([lines.numbers(1, f"layer {k} bias {r}")[0] for r in range(n_out)])
        weights.append((W, b))
    if lines.pos < len(lines.items):
        lineno, _ = lines.items[lines.pos]
        raise lines.error(lineno, "unexpected content after the last layer's biases")

    info = NNetInfo(path=path, layer_sizes=tuple(int(s) for s in sizes), input_min=in_min, input_max=in_max,
                    input_mean=means[:-1], input_range=ranges[:-1], output_mean=float(means[-1]),
                    output_range=float(ranges[-1]))
    for arr in (in_min, in_max, means, ranges):
        arr.setflags(write=False)

    if normalize == "fold":
        if np.any(info.input_range == 0):
            raise ValueError(f"{path}: cannot fold the input normalisation, an input range is zero")
        # x_norm = D x_raw + e  with D = diag(1 / range), e = -mean / range
        W0, b0 = weights[0]
        weights[0] = compose(W0, b0, np.diag(1.0 / info.input_range), -info.input_mean / info.input_range)
        WL, bL = weights[-1]
        m = WL.shape[0]
        weights[-1] = compose(np.eye(m) * info.output_range, np.full(m, info.output_mean), WL, bL)
    net = Network.from_weights(weights, activation="relu", output_activation="identity")
    return (net, info) if return_info else net
