"""Benchmark: the compiled volume kernel against the scipy (Qhull) loop it replaced, and its thread scaling, in one run.

For nets over [-1, 1]^d built by ``relutope.Network.random(widths, seed=0)``, d = 2 .. 6, the facets are computed
first (not timed; both methods start from them), then it times (best of ``--repeat``, wall clock and the process
CPU time over all threads):

- ``scipy``: the loop ``Partition.volumes`` ran before the kernel, one region at a time in Python on one thread
  (``scipy.spatial.HalfspaceIntersection`` at the Chebyshev centre, then ``ConvexHull(...).volume``; Qhull holds
  the GIL, so threads cannot share it);
- ``kernel t=1`` and ``kernel t=2`` (``--threads``): ``relutope.geometry.region_volumes(part, threads=t)``;

and prints the ratios measured in this run: scipy over the kernel on one thread, and the kernel on one thread over
t threads, with the largest relative difference between the two methods' volumes (over the regions Qhull did not
fail on; their count is printed), and the relative gap between the sum of the kernel's volumes and the box's
volume. It prints the date, the cores and the load average at the start
and at the end: on a machine shared with other work the thread ratios are only as good as the cores that were
free (the CPU seconds show how much work each run did).

    python bench/bench_volumes.py                          # five nets, d = 2 .. 6
    python bench/bench_volumes.py --nets 3,16,16,1 --threads 1,2,4 --repeat 5
    python bench/bench_volumes.py --no-scipy               # the kernel's thread scaling only
    python bench/bench_volumes.py --degenerate 600         # robustness: 600 random degenerate nets, no timing

``--degenerate N`` instead runs N random nets with first-layer weights and biases in {-1, 0, 1} (many hyperplanes
through one point, through the box's vertices, along its faces, duplicate units) or Gaussian, d = 2 .. 6, on
off-centre boxes of half-width 1e-6, 1 or 1e6, and prints how many raised an error and the worst relative gap
between the sum of the volumes and the box's volume (partitions the enumeration did not complete, e.g. with a
region dropped as a numerical artefact, are skipped and counted).
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import relutope  # noqa: E402
from relutope.geometry import region_volumes  # noqa: E402
from relutope._threads import available_cores  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_threads import best_of, load  # noqa: E402

NETS = ["2,32,32,1", "3,16,16,1", "4,10,10,1", "5,8,8,1", "6,8,4,1"]


def scipy_volumes(part) -> np.ndarray:
    """The former Python loop: Qhull's halfspace intersection and convex hull, region by region (NaN where Qhull
    fails: it can on degenerate regions in 5 and 6 dimensions)."""
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    from relutope.geometry import _qhull_error

    f = part.facets()
    vol = np.empty(len(part))
    for i in range(len(part)):
        s = slice(int(f.offsets[i]), int(f.offsets[i + 1]))
        A, b, c = f._rows_u[s], f.b[s], part._centers[i]
        dist = b - A @ c
        scale = float(dist.max())
        try:
            pts = HalfspaceIntersection(np.c_[A, -dist / scale], np.zeros(A.shape[1])).intersections
            vol[i] = ConvexHull(pts).volume * scale ** A.shape[1]
        except _qhull_error():
            vol[i] = np.nan
    return vol


def degenerate(n: int, seed: int = 0) -> int:
    """The robustness run of ``--degenerate`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    failed, incomplete, worst, t0 = 0, 0, 0.0, time.perf_counter()
    by_dim = {}
    for trial in range(n):
        d, h = int(rng.integers(2, 7)), int(rng.integers(3, 8))
        scale = 10.0 ** float(rng.choice([-6, 0, 6]))
        off = 10.0 * scale * rng.normal(size=d)
        if rng.random() < 0.5:
            W1, b1 = rng.integers(-1, 2, size=(h, d)).astype(float), rng.integers(-1, 2, size=h).astype(float)
            W1[np.all(W1 == 0, axis=1), 0] = 1.0
        else:
            W1, b1 = rng.normal(size=(h, d)), 0.5 * rng.normal(size=h)
        W2, b2 = rng.normal(size=(3, h)), rng.normal(size=3)
        net = relutope.Network.from_weights([(W1 / scale, b1 - W1 @ off / scale), (W2, b2),
                                             (np.ones((1, 3)), np.zeros(1))])
        box = relutope.Box(off - scale, off + scale)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", relutope.RelutopeWarning)
            part = relutope.enumerate_regions(net, box)
        if part.status != "complete":  # the enumeration dropped a region: the volumes cannot tile the box
            incomplete += 1
            continue
        by_dim[d] = by_dim.get(d, 0) + len(part)
        try:
            gap = abs(part.volumes().sum() - box.volume()) / box.volume()
            worst = max(worst, gap)
        except Exception as exc:  # noqa: BLE001 - counted and shown
            failed += 1
            print(f"trial {trial}: d={d}, {len(part)} regions, scale {scale:g}: {exc}")
    print(f"{n - incomplete} nets ({', '.join(f'd={d}: {r} regions' for d, r in sorted(by_dim.items()))}; "
          f"{incomplete} more skipped: enumeration not complete): {failed} errors, "
          f"worst |sum - box volume| / box volume = {worst:.1e}, {time.perf_counter() - t0:.1f} s")
    return 1 if failed or worst > 1e-9 else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default=";".join(NETS), help="';'-separated comma-separated widths")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts for the kernel")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-scipy", action="store_true", help="skip the scipy loop")
    ap.add_argument("--degenerate", type=int, default=0, help="run this many random degenerate nets instead")
    args = ap.parse_args(argv)
    if args.degenerate:
        return degenerate(args.degenerate)
    threads = [int(t) for t in args.threads.split(",")]
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {available_cores()} cores, "
          f"load {load()}; best of {args.repeat}; s = wall seconds (CPU seconds, all threads)")
    head = f"{'net':>16} {'regions':>8} "
    if not args.no_scipy:
        head += f"{'scipy t=1':>20} "
    head += " ".join(f"{f'kernel t={t}':>20}" for t in threads)
    if not args.no_scipy:
        head += f" {'scipy/kernel':>12}"
    head += " " + " ".join(f"{f't=1/t={t}':>9}" for t in threads[1:]) + f" {'max rel diff':>12} {'sum gap':>9}"
    if not args.no_scipy:
        head += f" {'qhull failed':>12}"
    print(head)
    for spec in args.nets.split(";"):
        widths = [int(w) for w in spec.split(",")]
        d = widths[0]
        box = relutope.Box(-np.ones(d), np.ones(d))
        part = relutope.enumerate_regions(relutope.Network.random(widths, seed=0), box)
        part.facets()  # cached: both methods start from the facets
        row = f"{str(widths):>16} {len(part):>8} "
        ref = None
        if not args.no_scipy:
            ws, cs, ref = best_of(lambda: scipy_volumes(part), args.repeat)
            row += f"{f'{ws:.3f} ({cs:.3f})':>20} "
        times = []
        vols = None
        for t in threads:
            w, c, v = best_of(lambda: region_volumes(part, threads=t), args.repeat)
            if vols is not None and not np.array_equal(v, vols):
                raise SystemExit(f"threads={t} gave other volumes than threads={threads[0]} on {widths}")
            vols = v
            times.append(w)
            row += f"{f'{w:.4f} ({c:.4f})':>20} "
        if not args.no_scipy:
            row += f"{ws / times[0]:>12.1f}"
        row += " " + " ".join(f"{times[0] / w:>9.2f}" for w in times[1:])
        diff = float(np.nanmax(np.abs(vols - ref) / ref)) if ref is not None else float("nan")
        gap = abs(vols.sum() - box.volume()) / box.volume()
        row += f" {diff:>12.1e} {gap:>9.1e}"
        if ref is not None:
            row += f" {int(np.isnan(ref).sum()):>12}"
        print(row, flush=True)
    print(f"# load at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
