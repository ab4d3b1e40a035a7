"""Benchmark: the memory a partition takes per region, before and after packing the patterns.

Two cases, each enumerated in a fresh child process (so that its peak resident set is its own):

* ``slice``: the plane through three inputs of ``relutope.Network.random([784, 10000, 10], seed=0)`` (10,010 units,
  the network of issue 16's report), the points ``numpy.random.default_rng(0).random((3, 784))``,
  ``Slice.through_points(p0, p1, p2)``, the 2-D fast path, stopped at ``--max-regions`` (default 200,000);
* ``box3``: ``relutope.Network.random([3, 64, 64, 64, 1], seed=0)`` over ``[-1, 1]^3``, the LP path, stopped at
  ``--max-regions``.

For each it reports, per region:

* ``dense``: the representation before packing, computed from the same partition: int8 patterns
  (``n_units`` bytes) and, once ``partition.witnesses`` has been used, (R, d) float64 witnesses (``8 d`` bytes),
  besides the centres (``8 k``), radii (8) and, on the 2-D path, polygons that both keep;
* ``held``: measured, the bytes of the arrays the partition holds (``nbytes``), right after the enumeration and
  again after ``partition.patterns``, ``partition.witnesses`` and ``partition.locate`` have been used once;
* ``peak``: measured, the growth of the process' peak resident set (``resource.getrusage``) during the enumeration
  call, and after the dense forms were used.

``--tree DIR`` runs the children on another checkout's ``python/`` folder with its compiled core (e.g. one built
before this change), so that the old code is measured by the same script.

    python bench/bench_memory.py
    python bench/bench_memory.py --cases box3 --max-regions 50000
    python bench/bench_memory.py --tree /path/to/old/checkout/python
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("slice", "box3")


def peak_rss() -> int:
    """The process' peak resident set so far, bytes (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def held_bytes(part) -> int:
    """Bytes of the numpy arrays a partition holds (its attributes, and its polygons' CSR arrays)."""
    import numpy as np

    total = 0
    for value in vars(part).values():
        arrays = value if isinstance(value, tuple) else (value,)
        total += sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
    return total


def child(case: str, max_regions: int) -> dict:
    import numpy as np

    import relutope

    if case == "slice":
        net = relutope.Network.random([784, 10000, 10], seed=0)
        p0, p1, p2 = np.random.default_rng(0).random((3, 784))
        domain = relutope.Slice.through_points(p0, p1, p2)
    else:
        net = relutope.Network.random([3, 64, 64, 64, 1], seed=0)
        domain = relutope.Box(-np.ones(3), np.ones(3))
    base = peak_rss()
    t = time.perf_counter()
    part = relutope.enumerate_regions(net, domain, max_regions=max_regions)
    seconds = time.perf_counter() - t
    peak = peak_rss()
    held = held_bytes(part)
    R = len(part)
    # Use the dense forms once, as a user would, and see what stays.
    pats = part.patterns
    wit = part.witnesses
    part.locate(wit[:100])
    assert np.array_equal(pats[:100], net.activation_pattern(wit[:100]))
    pattern_bytes = int(pats.shape[1])
    del pats, wit
    held_used = held_bytes(part)
    peak_used = peak_rss()
    offsets = getattr(part, "_polygons", None)
    polygon_bytes = sum(a.nbytes for a in offsets) if offsets is not None else 0
    return {"case": case, "regions": R, "status": part.status, "seconds": seconds, "n_units": net.n_units,
            "d": net.in_dim, "k": domain.intrinsic_dim, "dense_pattern_bytes": pattern_bytes,
            "polygon_bytes": polygon_bytes, "held": held, "held_used": held_used, "base_rss": base,
            "peak": peak - base, "peak_used": peak_used - base}


def report(r: dict, label: str) -> None:
    R = max(r["regions"], 1)
    n, d, k = r["n_units"], r["d"], r["k"]
    common = 8 * k + 8 + r["polygon_bytes"] / R  # centres, radii, polygons: kept by both
    dense = n + common
    dense_used = dense + 8 * d
    print(f"{label}: {r['regions']} regions ({r['status']}) in {r['seconds']:.1f} s; n_units {n}, d {d}, k {k}")
    print(f"  bytes per region       dense (computed)   held (measured)   ratio")
    print(f"  after enumeration      {dense:16,.0f}   {r['held'] / R:15,.0f}   {dense / (r['held'] / R):5.1f}x")
    print(f"  after using the dense  {dense_used:16,.0f}   {r['held_used'] / R:15,.0f}   "
          f"{dense_used / (r['held_used'] / R):5.1f}x")
    print(f"  peak RSS growth        enumeration {r['peak'] / R:,.0f} B/region ({r['peak'] / 2**20:,.0f} MiB), "
          f"with the dense forms used once {r['peak_used'] / R:,.0f} B/region ({r['peak_used'] / 2**20:,.0f} MiB)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {CASES}")
    parser.add_argument("--max-regions", type=int, default=200_000)
    parser.add_argument("--tree", default=str(ROOT / "python"), help="the python/ folder to import relutope from")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.max_regions)))
        return 0
    cases = [c for c in args.cases.split(",") if c]
    bad = [c for c in cases if c not in CASES]
    if bad:
        parser.error(f"unknown case(s) {bad}; choose from {CASES}")
    env = dict(os.environ, PYTHONPATH=args.tree, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    print(f"relutope from {args.tree}")
    for case in cases:
        out = subprocess.run([sys.executable, __file__, "--child", case, "--max-regions", str(args.max_regions)],
                             env=env, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        report(json.loads(out.stdout.strip().splitlines()[-1]), case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
