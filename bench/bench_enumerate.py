"""Benchmark: relutope's engine against a pure-Python implementation of the same algorithm on HiGHS.

Both run in this one process, single-threaded, on fixed nets over the box [-1, 1]^d built by
``relutope.Network.random(widths, seed=0)`` (recipe: ``rng = numpy.random.default_rng(seed)``; for each layer in
order ``W = rng.normal(0, sqrt(2 / fan_in), (fan_out, fan_in))`` then ``b = rng.normal(0, 0.1, fan_out)``; ReLU
after every hidden layer, linear output), so other tools can be run on the same nets.

For each net it prints regions, LPs, seconds, regions/s and peak memory for the engine (best of ``--repeat``
runs), the same for the baseline, and the speed ratio. The baseline takes minutes on the larger nets: by default
it runs for at most ``--baseline-seconds`` per net, and a partial run is compared by regions per second (its
regions are checked to be a subset of the engine's). ``--full-baseline`` runs it to completion; ``--no-baseline``
skips it.

    python bench/bench_enumerate.py                # all nets, baseline capped at 60 s each
    python bench/bench_enumerate.py --nets 2,16,16,16,1 --full-baseline
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import enumerate_baseline  # noqa: E402

import relutope  # noqa: E402

NETS = [[2, 16, 16, 16, 1], [2, 64, 64, 64, 1], [3, 16, 16, 16, 1], [3, 32, 32, 32, 1], [4, 10, 10, 1],
        [5, 6, 6, 6, 1]]
TOL = 1e-7  # the same tolerance for both, so their region sets are comparable


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_engine(net, box, repeat: int):
    best = None
    for _ in range(repeat):
        part = relutope.enumerate_regions(net, box, tol=TOL)
        if best is None or part.seconds < best.seconds:
            best = part
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="*", help="widths as comma lists, e.g. 2,16,16,16,1 (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="engine runs per net (best is reported)")
    parser.add_argument("--baseline-seconds", type=float, default=60.0, help="cap on each baseline run")
    parser.add_argument("--full-baseline", action="store_true", help="run the baseline to completion")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    args = parser.parse_args(argv)
    nets = [[int(v) for v in s.split(",")] for s in args.nets] if args.nets else NETS

    header = (f"{'net':<20} {'regions':>8} {'LPs':>9} {'engine s':>9} {'regions/s':>10} {'peak MB':>8} | "
              f"{'base regions':>12} {'base LPs':>9} {'base s':>8} {'base reg/s':>10} | {'ratio':>7}")
    print(header)
    print("-" * len(header))
    worst = np.inf
    for widths in nets:
        net = relutope.Network.random(widths, seed=0)
        d = widths[0]
        box = relutope.Box(-np.ones(d), np.ones(d))
        rss0 = peak_rss_mb()
        part = run_engine(net, box, args.repeat)
        rss = max(peak_rss_mb() - rss0, 0.0)
        rate = len(part) / part.seconds
        line = (f"{str(widths):<20} {len(part):>8} {part.lps:>9} {part.seconds:>9.3f} {rate:>10,.0f} {rss:>8.1f} | ")
        if args.no_baseline:
            print(line + "baseline skipped")
            continue
        cap = None if args.full_baseline else args.baseline_seconds
        base = enumerate_baseline(net, -1.0, 1.0, tol=TOL, max_seconds=cap)
        engine_set = {row.tobytes() for row in part.patterns}
        if not all(row.tobytes() in engine_set for row in base["patterns"]):
            print(line + "MISMATCH: the baseline found a pattern the engine lacks")
            return 1
        if base["complete"] and base["regions"] != len(part):
            print(line + f"MISMATCH: baseline {base['regions']} regions, engine {len(part)}")
            return 1
        base_rate = base["regions"] / base["seconds"] if base["seconds"] > 0 else float("nan")
        if base["complete"]:
            ratio = base["seconds"] / part.seconds
            note = ""
        else:
            ratio = rate / base_rate if base_rate > 0 else float("inf")
            note = " (baseline partial: ratio of regions/s)"
        worst = min(worst, ratio)
        print(line + f"{base['regions']:>12} {base['lps']:>9} {base['seconds']:>8.2f} {base_rate:>10,.1f} | "
              f"{ratio:>6.0f}x{note}")
    if np.isfinite(worst):
        print(f"\nsmallest speed ratio engine / baseline: {worst:,.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
