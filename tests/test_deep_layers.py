"""Layers with thousands of unstable units (issue 16, item 6).

The depth-first search inserts a layer's unstable units one search level each; it used to recurse once per unit
(about 1 KB of C stack per level on the LP path) and died with SIGSEGV on ``[2, 7000, 1]``. It now runs on an
explicit stack of tasks on the heap. Every check runs in a subprocess, so that a crash fails the test instead of
killing pytest; the small-stack checks run the enumeration in a thread with a 128 KiB stack, where the recursive
search crashed at 500 levels on both the LP and the polygon path.

The nets are built so that the answer is known: units ``s_i (x_1 - c_i)`` (random scales and signs) cut the box
``[-1, 1]^2`` into the slabs between the distinct ``c``; a slab ``a < x_1 < b`` has Chebyshev radius
``min((b - a) / 2, 1)`` and on it every unit's side is the sign of ``s_i (x_1 - c_i)``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import relutope
from relutope.network import Layer, Network

BOX = relutope.Box([-1.0, -1.0], [1.0, 1.0])


def slab_net(c: np.ndarray, copies: int, seed: int = 0):
    """A [2, len(c) * copies, 1] ReLU net whose units are s (x_1 - c_i), each line `copies` times (in turn)."""
    rng = np.random.default_rng(seed)
    line = np.tile(np.arange(len(c)), copies)
    scale = rng.uniform(0.5, 2.0, line.size) * rng.choice([-1.0, 1.0], line.size)
    W = np.zeros((line.size, 2))
    W[:, 0] = scale
    net = Network([Layer.affine(W, -scale * c[line]),
                   Layer.affine(np.ones((1, line.size)), np.zeros(1), "identity")])
    return net, scale, c[line]


def check_slabs(n_lines: int, copies: int, method: str, sort: bool = False) -> None:
    """Enumerate a slab net and compare with the slabs' closed form (raises AssertionError)."""
    rng = np.random.default_rng(1)
    c = rng.choice(np.linspace(-0.9, 0.9, 4 * n_lines + 1), n_lines, replace=False)  # distinct, 0.45/n apart
    if sort:  # the search then goes n_lines levels deep along the last slab
        c = np.sort(c)
    net, scale, offsets = slab_net(c, copies)
    part = relutope.enumerate_regions(net, BOX, method=method)
    assert part.status == "complete"
    assert len(part) == n_lines + 1
    edges = np.concatenate([[-1.0], np.sort(c), [1.0]])
    order = np.argsort(part.witnesses[:, 0])
    x1 = part.witnesses[order, 0]
    assert np.all((edges[:-1] < x1) & (x1 < edges[1:])), "one witness per slab"
    np.testing.assert_allclose(part.radii[order], np.minimum(np.diff(edges) / 2, 1.0), rtol=1e-9)
    mid = (edges[:-1] + edges[1:]) / 2
    expected = (scale[None, :] * (mid[:, None] - offsets[None, :]) > 0).astype(np.int8)
    np.testing.assert_array_equal(part.patterns[order, : net.n_units - 1], expected)
    np.testing.assert_array_equal(part.patterns, net.activation_pattern(part.witnesses))


def check_wide_random(width: int, max_regions: int) -> None:
    """The first regions of Network.random([3, width, 1]) over [-1, 1]^3: each one exact."""
    net = relutope.Network.random([3, width, 1], seed=0)
    box = relutope.Box(-np.ones(3), np.ones(3))
    part = relutope.enumerate_regions(net, box, max_regions=max_regions)
    assert part.status == "max_regions" and len(part) == max_regions
    assert len({p.tobytes() for p in part.patterns}) == max_regions
    np.testing.assert_array_equal(part.patterns, net.activation_pattern(part.witnesses))
    assert np.all(part.radii > part.tol)
    assert np.all(np.abs(part.witnesses).max(axis=1) + part.radii <= 1 + 1e-12), "the ball lies in the box"
    # Most units cross the box, so the first region is found at the bottom of a search as deep as the layer.
    crossing = np.abs(net.layers[0].c) < np.abs(net.layers[0].A).sum(axis=1)
    assert crossing.sum() > 0.9 * width


def run_isolated(call: str, stack_kib: int = 0) -> None:
    """Run `call` (an expression over this module, named t) in a fresh interpreter; with stack_kib, in a thread
    with that stack size. A crash or a failed check fails the calling test with the child's output."""
    code = "\n".join([
        "import sys, threading, traceback",
        "import test_deep_layers as t",
        "error = []",
        "def body():",
        "    try:",
        f"        {call}",
        "    except BaseException:",
        "        error.append(traceback.format_exc())",
        f"if {stack_kib}:",
        f"    threading.stack_size({stack_kib} * 1024)",
        "    th = threading.Thread(target=body); th.start(); th.join()",
        "else:",
        "    body()",
        "sys.stderr.write(''.join(error))",
        "sys.exit(1 if error else 0)",
    ])
    here = Path(__file__).resolve().parent
    package = Path(relutope.__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(here), str(package), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode < 0:
        pytest.fail(f"{call} crashed with signal {-proc.returncode}\n{proc.stderr[-4000:]}")
    assert proc.returncode == 0, f"{call} failed:\n{proc.stderr[-4000:]}"


@pytest.mark.parametrize("method", ["lp", "polygon"])
def test_20000_unit_layer(method):
    # 10 distinct lines, each 2000 times: 20,000 unstable units, one search level each, 11 regions.
    run_isolated(f"t.check_slabs(10, 2000, {method!r})")


@pytest.mark.parametrize("method", ["lp", "polygon"])
def test_500_splits_deep_in_a_small_stack(method):
    # 500 distinct sorted lines: every unit splits the last slab, 500 levels of splits on a 128 KiB stack.
    run_isolated(f"t.check_slabs(500, 1, {method!r}, sort=True)", stack_kib=128)


def test_3_10000_1():
    run_isolated("t.check_wide_random(10000, 50)")


def test_checks_can_fail():
    # The subprocess runner reports a failed check (it is not vacuous).
    with pytest.raises(AssertionError, match="failed"):
        run_isolated("t.check_slabs(3, 1, 'no-such-method')")


def test_slabs_in_process_small():
    # The same closed form in this process, on a net small enough for any stack.
    check_slabs(7, 3, "lp")
    check_slabs(7, 3, "polygon", sort=True)
    thread_ok = []
    th = threading.Thread(target=lambda: thread_ok.append(check_slabs(5, 2, "lp", sort=True) is None))
    th.start()
    th.join()
    assert thread_ok == [True]
