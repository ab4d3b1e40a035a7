"""Benchmark: the 2-D fast path against the LP path and against the same polygon algorithm in pure numpy.

All three run in this one process, single-threaded, on:

* ``slice``: the plane through three inputs of ``relutope.Network.random([784, 64, 64, 10], seed=0)`` (the recipe
  of ``bench_enumerate.py``), the points ``numpy.random.default_rng(0).random((3, 784))``, with
  ``Slice.through_points(p0, p1, p2)`` (``t`` in ``[0, 1]^2``, SplineCam's slices);
* ``slice-m2``: the same plane with ``margin=2`` (``t`` in ``[-2, 3]^2``), a wider view with more regions;
* ``demo``: the built-in demo net ``[2, 16, 16, 16, 1]`` on its box.

For the fast path (``method="polygon"``) and the LP path (``method="lp"``) it reports the best of ``--repeat`` runs
of the compiled core's own clock (``partition.seconds``) and, for the fast path, the wall time of the whole
``enumerate_regions`` call; the numpy version (``bench/polygon_numpy.py``) runs once. Every run is checked to find
the same set of activation patterns.

    python bench/bench_slice.py
    python bench/bench_slice.py --repeat 50 --cases slice,demo
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from polygon_numpy import enumerate_polygons_numpy  # noqa: E402

import relutope  # noqa: E402
from relutope.demo import demo_network  # noqa: E402


def cases():
    net = relutope.Network.random([784, 64, 64, 10], seed=0)
    p0, p1, p2 = np.random.default_rng(0).random((3, 784))
    demo, box = demo_network()
    return {
        "slice": (net, relutope.Slice.through_points(p0, p1, p2)),
        "slice-m2": (net, relutope.Slice.through_points(p0, p1, p2, margin=2.0)),
        "demo": (demo, box),
    }


def best_of(net, domain, method: str, repeat: int):
    best, best_wall = None, np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        part = relutope.enumerate_regions(net, domain, method=method)
        wall = time.perf_counter() - t
        best_wall = min(best_wall, wall)
        if best is None or part.seconds < best.seconds:
            best = part
    return best, best_wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of the core paths (best is reported)")
    parser.add_argument("--cases", default="slice,slice-m2,demo", help="comma list of cases")
    parser.add_argument("--no-numpy", action="store_true", help="skip the pure-numpy version")
    args = parser.parse_args(argv)
    all_cases = cases()
    header = (f"{'case':<9} {'regions':>7} | {'polygon s':>9} {'reg/s':>10} {'wall reg/s':>10} {'LPs':>6} | "
              f"{'LP s':>8} {'reg/s':>9} {'LPs':>7} | {'numpy s':>8} {'reg/s':>7} | {'vs LP':>6} {'vs numpy':>8}")
    print(header)
    print("-" * len(header))
    ok = True
    for name in args.cases.split(","):
        net, dom = all_cases[name]
        fast, wall = best_of(net, dom, "polygon", args.repeat)
        lp, _ = best_of(net, dom, "lp", max(1, args.repeat // 4))
        same = {r.tobytes() for r in fast.patterns} == {r.tobytes() for r in lp.patterns}
        R = len(fast)
        line = (f"{name:<9} {R:>7} | {fast.seconds:>9.5f} {R / fast.seconds:>10,.0f} {R / wall:>10,.0f} "
                f"{fast.lps:>6} | {lp.seconds:>8.4f} {len(lp) / lp.seconds:>9,.0f} {lp.lps:>7} | ")
        if args.no_numpy:
            line += f"{'-':>8} {'-':>7} | {lp.seconds / fast.seconds:>5.0f}x {'-':>8}"
        else:
            out = enumerate_polygons_numpy(net, dom, fast.tol)
            same &= {r.tobytes() for r in out["patterns"]} == {r.tobytes() for r in fast.patterns}
            line += (f"{out['seconds']:>8.3f} {len(out['radii']) / out['seconds']:>7,.0f} | "
                     f"{lp.seconds / fast.seconds:>5.0f}x {out['seconds'] / fast.seconds:>7.0f}x")
        print(line + ("" if same else "   PATTERN SETS DIFFER"))
        ok &= same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
