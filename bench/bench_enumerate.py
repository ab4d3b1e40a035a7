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

``--paths`` compares instead, on the d = 2..6 nets of ``PATH_NETS``, the engine's LP path, its fast paths (the
polygon path at d = 2, the polytope path at every d) and, when it can be imported, relu_edge_subdivision's
``skeletal_subdivision`` (Berzins, "Polyhedral Complex Extraction from ReLU Networks using Edge Subdivision",
ICML 2023; its published code on CPU, float32 as published, on the same weights), each on one thread and in a
fresh worker process of its own, so that the peak RSS it adds (``ru_maxrss`` after the run less before it) is its
own (Linux: the peak is reset through ``/proc/self/clear_refs`` before the runs); best of ``--repeat`` runs. The peer is not a package: give its checkout with ``--peer-path`` (or
``RELU_EDGE_SUBDIVISION_PATH``); without it that column is skipped with a message. The peer builds the complex's
vertices and edges, not regions: only times are compared. It prints seconds, regions and bytes per region for
each and the ratios LP / polytope and peer / polytope, and which path ``method="auto"`` takes.

    python bench/bench_enumerate.py --paths --peer-path /path/to/relu_edge_subdivision
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
PATH_NETS = [[2, 64, 64, 64, 1], [3, 32, 32, 32, 1], [4, 16, 16, 16, 1], [5, 16, 16, 1], [6, 12, 12, 1],
             [3, 64, 64, 1]]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_engine(net, box, repeat: int):
    best = None
    for _ in range(repeat):
        part = relutope.enumerate_regions(net, box, tol=TOL)
        if best is None or part.seconds < best.seconds:
            best = part
    return best


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _run_peak_start() -> float:
    """Reset the process' peak RSS to its current RSS (Linux: writing 5 to /proc/self/clear_refs); returns the
    current RSS in MB."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _rss_kb("VmRSS") / 1024.0


def _run_peak_mb(rss0: float) -> float:
    """The peak RSS since _run_peak_start() less the RSS then, in MB."""
    return max(_rss_kb("VmHWM") / 1024.0 - rss0, 0.0)


def _measure(task):
    """In a fresh worker process: run one path on one net ``repeat`` times on one thread; returns (best seconds,
    regions or None, peak RSS added in MB)."""
    widths, path, repeat, peer_path = task
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    net = relutope.Network.random(widths, seed=0)
    d = widths[0]
    box = relutope.Box(-np.ones(d), np.ones(d))
    if path == "peer":
        import torch

        torch.set_num_threads(1)
        sys.path.insert(0, peer_path)
        from NN import Net  # noqa: E402  (the peer's own modules)
        from edge_subdivision import skeletal_subdivision  # noqa: E402

        f = Net(ks=list(widths))
        with torch.no_grad():
            for fc, layer in zip(f.fcs, net.layers):
                A = layer.A[1::2] if layer.n_pieces.max() == 2 else layer.A  # ReLU: the active pieces are W x + b
                c = layer.c[1::2] if layer.n_pieces.max() == 2 else layer.c
                fc.weight.copy_(torch.from_numpy(np.array(A)))
                fc.bias.copy_(torch.from_numpy(np.array(c)))
        rss0 = _run_peak_start()
        best = np.inf
        for _ in range(repeat):
            t = time.perf_counter()
            with torch.no_grad():
                skeletal_subdivision(f, bbox=(-1, 1), device="cpu", verbose=False)
            best = min(best, time.perf_counter() - t)
        return best, None, _run_peak_mb(rss0)
    rss0 = _run_peak_start()
    best = None
    for _ in range(repeat):
        part = relutope.enumerate_regions(net, box, tol=TOL, method=path, threads=1)  # the LP path's default: all cores
        if best is None or part.seconds < best.seconds:
            best = part
    return best.seconds, len(best), _run_peak_mb(rss0)


def compare_paths(nets, repeat: int, peer_path) -> int:
    """The ``--paths`` table (see the module docstring)."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from relutope.enumerate import _choose_method

    if peer_path is None:
        peer_path = os.environ.get("RELU_EDGE_SUBDIVISION_PATH")
    peer_ok = False
    if peer_path and (Path(peer_path) / "edge_subdivision.py").is_file():
        try:
            import torch  # noqa: F401

            peer_ok = True
        except ImportError:
            print("relu_edge_subdivision: skipped (torch is not installed)")
    else:
        print("relu_edge_subdivision: skipped (not importable; pass its checkout with --peer-path or "
              "RELU_EDGE_SUBDIVISION_PATH)")
    ctx = multiprocessing.get_context("spawn")

    def measure(widths, path):
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:  # a fresh process: its peak RSS is this run's
            return pool.submit(_measure, (widths, path, repeat, peer_path)).result()

    header = (f"{'net':<20} {'regions':>8} | {'lp s':>7} {'B/reg':>6} | {'fast':>8} {'fast s':>7} {'B/reg':>6} | "
              f"{'peer s':>7} {'B/reg':>6} | {'lp/fast':>7} {'peer/fast':>9} | auto")
    print(f"every tool at tol={TOL:g} (the same regions for all; relutope's default tol, 1e-9 x the domain's size, "
          f"also counts regions of inradius between the two)")
    print(header)
    print("-" * len(header))
    for widths in nets:
        d = widths[0]
        net = relutope.Network.random(widths, seed=0)
        auto = _choose_method("auto", net, relutope.Box(-np.ones(d), np.ones(d)), threads=1)
        lp_s, R, lp_mb = measure(widths, "lp")
        fasts = ["polygon", "polytope"] if d == 2 else ["polytope"]
        for fast in fasts:
            fs, R2, f_mb = measure(widths, fast)
            if R2 != R:
                print(f"{str(widths):<20} MISMATCH: {fast} path {R2} regions, LP path {R}")
                return 1
            peer = "skipped"
            peer_ratio = "-"
            if peer_ok and fast == fasts[-1]:
                ps, _, p_mb = measure(widths, "peer")
                peer = f"{ps:>7.2f} {p_mb * 2 ** 20 / R:>6.0f}"
                peer_ratio = f"{ps / fs:>8.2f}x"
            print(f"{str(widths):<20} {R:>8} | {lp_s:>7.2f} {lp_mb * 2 ** 20 / R:>6.0f} | {fast:>8} {fs:>7.2f} "
                  f"{f_mb * 2 ** 20 / R:>6.0f} | {peer:>14} | {lp_s / fs:>6.2f}x {peer_ratio:>9} | {auto}",
                  flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="*", help="widths as comma lists, e.g. 2,16,16,16,1 (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="engine runs per net (best is reported)")
    parser.add_argument("--baseline-seconds", type=float, default=60.0, help="cap on each baseline run")
    parser.add_argument("--full-baseline", action="store_true", help="run the baseline to completion")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    parser.add_argument("--paths", action="store_true",
                        help="compare the LP path, the fast paths and relu_edge_subdivision on the d = 2..6 nets")
    parser.add_argument("--peer-path", help="a checkout of relu_edge_subdivision (for --paths)")
    args = parser.parse_args(argv)
    if args.paths:
        nets = [[int(v) for v in s.split(",")] for s in args.nets] if args.nets else PATH_NETS
        return compare_paths(nets, args.repeat, args.peer_path)
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
