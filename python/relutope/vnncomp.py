"""A VNN-COMP style runner: verify every instance of a benchmark's instance CSV and write the results.

The competition's instance file (``instances.csv``, one instance a row: ONNX path, VNN-LIB path, timeout in
seconds; paths relative to the CSV's folder) is read; for each row the network and property are loaded
(``prepare_instance``, timed apart, as the competition's ``prepare_instance.sh`` is) and then verified within the
row's timeout. The result words are the competition's: ``unsat`` (the property holds), ``sat`` (violated, with a
counterexample), ``timeout``, ``unknown`` and ``error`` (Brix, Mueller, Bak, Johnson & Liu, "First Three Years of
the International Verification of Neural Networks Competition (VNN-COMP)", STTT 2023).
"""
from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

__all__ = ["InstanceResult", "read_instances", "run_instances", "result_text"]


def _existing(path: str) -> str:
    """``path``, or ``path + ".gz"`` when only the gzipped file exists (the benchmark repositories store them so)."""
    return path + ".gz" if not os.path.exists(path) and os.path.exists(path + ".gz") else path


def _stem(path: str) -> str:
    """The file name without folders and without its extensions (``onnx/net.onnx.gz`` -> ``net``)."""
    return os.path.basename(path).split(".")[0] or "instance"


@dataclass
class InstanceResult:
    """The outcome of one instance.

    Attributes
    ----------
    onnx, vnnlib : str
        The paths as written in the instance file.
    timeout : float
        The row's timeout, seconds.
    result : {"unsat", "sat", "timeout", "unknown", "error"}
    prepare_seconds, verify_seconds : float
        Loading the network and property; the verification itself (wall clock).
    message : str
        Why, for ``error``; empty otherwise.
    counterexample, output : numpy.ndarray or None
        For ``sat``: the input (n_in,) float64 found in the unsafe set and the network's output there (n_out,),
        re-checked by a forward pass; None otherwise.
    """

    onnx: str
    vnnlib: str
    timeout: float
    result: str
    prepare_seconds: float
    verify_seconds: float
    message: str = ""
    counterexample: Optional[np.ndarray] = None
    output: Optional[np.ndarray] = None


_WORDS = ("unsat", "sat", "timeout", "unknown", "error", "holds", "violated")  # VNN-COMP's, then verify()'s


def result_text(word: str, counterexample=None, output=None) -> str:
    """The text of a VNN-COMP result file: the result word on its own line, then for ``sat`` the counterexample
    as ``((X_0 v) ... (Y_0 v) ...)``, one assignment a line, values with 17 significant digits (a float64 reads
    back exactly), as the competition's scripts read them (VNN-COMP 2022 rules, "counterexample format").

    Parameters
    ----------
    word : str
        ``unsat``, ``sat``, ``timeout``, ``unknown`` or ``error``; or :func:`relutope.verify`'s ``holds`` /
        ``violated`` (``relutope verify --out`` without ``--vnncomp``).
    counterexample, output : array_like, optional
        The input (n_in,) and output (n_out,) of a ``sat`` result, float64 or convertible; both or neither.

    Raises
    ------
    ValueError
        When ``word`` is not one of these, or only one of ``counterexample`` and ``output`` is given, or a
        value is not finite.
    """
    if word not in _WORDS:
        raise ValueError(f"word must be one of {', '.join(_WORDS)}, got {word!r}")
    if (counterexample is None) != (output is None):
        raise ValueError("counterexample and output must be given together")
    text = word + "\n"
    if counterexample is not None:
        for name, v in (("counterexample", counterexample), ("output", output)):
            if not np.all(np.isfinite(np.asarray(v, dtype=np.float64))):
                raise ValueError(f"{name} must be finite")
        xs = [f"(X_{i} {float(v):.17g})" for i, v in enumerate(np.ravel(counterexample))]
        ys = [f"(Y_{i} {float(v):.17g})" for i, v in enumerate(np.ravel(output))]
        text += "(" + "\n".join(xs + ys) + ")\n"
    return text


def read_instances(path) -> List[tuple]:
    """The rows ``(onnx, vnnlib, timeout)`` of an instance CSV (blank lines skipped; fields may be quoted, with
    spaces around them, and the file may start with a UTF-8 byte-order mark).

    Raises
    ------
    ValueError
        When a row does not have three fields or its timeout is not a positive number (naming the line).
    """
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for line, row in enumerate(csv.reader(fh, skipinitialspace=True), start=1):
            row = [f.strip() for f in row]
            if not row or not any(row):
                continue
            if len(row) != 3:
                raise ValueError(f"{path}, line {line}: expected 'onnx,vnnlib,timeout', got {len(row)} fields")
            try:
                timeout = float(row[2])
            except ValueError:
                raise ValueError(f"{path}, line {line}: timeout {row[2]!r} is not a number") from None
            if not timeout > 0:
                raise ValueError(f"{path}, line {line}: timeout must be positive, got {row[2]!r}")
            rows.append((row[0], row[1], timeout))
    return rows


def run_instances(path, out: Optional[str] = None, *, progress: bool = False,
                  results_dir: Optional[str] = None) -> List[InstanceResult]:
    """Verify every instance of the instance CSV ``path``; write ``out`` (CSV) when given.

    The output CSV has the header ``onnx,vnnlib,timeout,result,prepare_seconds,verify_seconds,message``.
    An instance that fails to load or verify (unsupported layer, a numerical breakdown) is ``error`` with the
    message; the run goes on.

    Parameters
    ----------
    path : str or os.PathLike
        The VNN-COMP instance CSV: rows ``onnx, vnnlib, timeout`` (seconds), paths relative to the CSV's folder.
    out : str, optional
        Where to write the results CSV.
    progress : bool, optional
        Print one line per instance as it ends.
    results_dir : str, optional
        Write one VNN-COMP result file per instance into this folder (created if missing):
        ``NNNN_<onnx>_<vnnlib>.txt`` (NNNN: the row's index from 0, the names without folders and extensions),
        holding :func:`result_text`: the result word and, for ``sat``, the counterexample, as the competition's
        ``run_instance.sh`` writes its results file.

    Returns
    -------
    list of InstanceResult
        One per row, in the CSV's order: the result word (``unsat``/``sat``/``timeout``/``unknown``/``error``),
        the loading and lowering time (``prepare_seconds``, as the competition times it apart) and the
        verification time, in seconds.

    Notes
    -----
    The competition's benchmark repositories store their files gzipped (``net.onnx.gz``, ``prop.vnnlib.gz``):
    a path ending in ``.gz`` is read decompressed, and a path that does not exist is read from ``path + ".gz"``
    when that exists, so an instance file naming the uncompressed files runs before they are unpacked.

    Raises
    ------
    ValueError, OSError
        When the CSV cannot be read or a row is malformed (:func:`read_instances`), or ``out`` or
        ``results_dir`` cannot be written.
    """
    from . import vnnlib as vnnlib_mod
    from .cli import _load_network
    from .errors import RelutopeError
    from .verify import verify

    if results_dir is not None and os.path.exists(results_dir) and not os.path.isdir(results_dir):
        raise ValueError(f"results_dir {str(results_dir)!r} exists and is not a folder")
    base = os.path.dirname(os.path.abspath(path))
    results = []
    for onnx, prop, timeout in read_instances(path):
        t0 = time.perf_counter()
        try:
            net = _load_network(_existing(os.path.join(base, onnx)))
            spec = vnnlib_mod.load(_existing(os.path.join(base, prop)))
        except (ValueError, TypeError, OSError, RelutopeError) as exc:
            results.append(InstanceResult(onnx, prop, timeout, "error", time.perf_counter() - t0, 0.0, str(exc)))
        else:
            prepare = time.perf_counter() - t0
            t1 = time.perf_counter()
            x = y = None
            try:
                res = verify(net, spec, timeout=timeout)
                word = res.vnncomp
                if word == "unknown" and time.perf_counter() - t1 >= timeout:
                    word = "timeout"
                if word == "sat":
                    x, y = res.counterexample, res.output
                message = ""
            except (ValueError, TypeError, RelutopeError) as exc:
                word, message = "error", str(exc)
            results.append(InstanceResult(onnx, prop, timeout, word, prepare, time.perf_counter() - t1, message,
                                          x, y))
        if results_dir:
            r = results[-1]
            os.makedirs(results_dir, exist_ok=True)
            name = f"{len(results) - 1:04d}_{_stem(onnx)}_{_stem(prop)}.txt"
            with open(os.path.join(results_dir, name), "w") as fh:
                fh.write(result_text(r.result, r.counterexample, r.output))
        if progress:
            r = results[-1]
            print(f"{r.onnx} {r.vnnlib}: {r.result} ({r.prepare_seconds:.3f} s + {r.verify_seconds:.3f} s)",
                  flush=True)
    if out:
        with open(out, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["onnx", "vnnlib", "timeout", "result", "prepare_seconds", "verify_seconds", "message"])
            for r in results:
                w.writerow([r.onnx, r.vnnlib, r.timeout, r.result, f"{r.prepare_seconds:.6f}",
                            f"{r.verify_seconds:.6f}", r.message])
    return results
