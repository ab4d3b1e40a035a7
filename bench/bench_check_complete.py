"""Benchmark and heavy check: facet closure (``check_complete``) of a 6-D partition with nearly a million regions.

The heavy variant of ``tests/test_numerical_robustness.py::test_check_complete_on_a_six_dimensional_box`` (which
checks the corner of the box within 0.3 of the facet below, in about a second): ``Network.random([6, 16, 16, 1],
seed=0)`` over ``[-1, 1]^6`` (935,763 regions, 11.3 million facets). It enumerates, computes the facets and the
adjacency, runs ``check_complete()`` and checks that it passes and that region 1413's facet across unit 18 has
region 1426 on its other side (once missed with a fixed step across facets). It prints the time of every step and
the share of each in the total, the counts, and the load average (on a shared machine the times are only as good
as the cores that were free). About 90 s alone on 2 cores, minutes under load.

    python bench/bench_check_complete.py                      # the net above
    python bench/bench_check_complete.py --widths 6,10,10,1 --seed 1
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import relutope  # noqa: E402
from bench_threads import load  # noqa: E402  (the load average, as the other benchmarks print it)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="6,16,16,1", help="layer widths (default 6,16,16,1)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, load {load()}")
    net = relutope.Network.random(widths, seed=args.seed)
    d = widths[0]
    box = relutope.Box(-np.ones(d), np.ones(d))
    times = {}
    t = time.perf_counter()
    part = relutope.enumerate_regions(net, box)
    times["enumerate"] = time.perf_counter() - t
    t = time.perf_counter()
    f = part.facets()
    times["facets"] = time.perf_counter() - t
    t = time.perf_counter()
    adj = part.adjacency()
    times["adjacency"] = time.perf_counter() - t
    t = time.perf_counter()
    rep = part.check_complete()
    times["check (facets and adjacency cached)"] = time.perf_counter() - t
    # the same check with the mutual-adjacency test by np.isin (as before graph._members), in this run
    from relutope import graph

    members = graph._members
    graph._members = np.isin
    try:
        t = time.perf_counter()
        rep_isin = part.check_complete()
        t_isin = time.perf_counter() - t
    finally:
        graph._members = members
    total = sum(times.values())
    print(f"network {widths} (seed {args.seed}) over [-1, 1]^{d}: {len(part):,} regions, {f.n_facets:,} facets, "
          f"{len(adj):,} edges, {len(adj.undecided_edges):,} undecided pairs")
    for name, s in times.items():
        print(f"  {name:38s} {s:9.2f} s  {s / total:6.1%}")
    print(f"  {'total':38s} {total:9.2f} s")
    print(f"check_complete: {rep}")
    check = times["check (facets and adjacency cached)"]
    print(f"check with np.isin for the mutual test: {t_isin:.2f} s, {t_isin / check:.1f}x the sorted test's "
          f"{check:.2f} s; the same report: {rep_isin == rep}")
    ok = rep.ok
    if widths == [6, 16, 16, 1] and args.seed == 0:
        across = adj.neighbor[f.offsets[1413]:f.offsets[1414]].tolist()
        found = 1426 in across
        print(f"region 1426 across a facet of region 1413: {found}")
        ok = ok and found
    print(f"load at the end {load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
