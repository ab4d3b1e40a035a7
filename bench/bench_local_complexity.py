"""Speed (issue 9): local complexity of 1,000 points in P = 2..4 dimensional neighbourhoods of a 64-input MLP.

The points are 1,000 of scikit-learn's 8x8 digits (pixels scaled to [0, 1]); the network is
``relutope.Network.random([64, 64, 64, 10], seed=0)`` with its biases set so that its hyperplanes pass through the
data (layer by layer, each unit's bias is minus the median of its pre-activation over the points), so that the
neighbourhoods are cut. For every P it times, in one run:

* ``estimate``: Humayun et al.'s vertex-sign estimate (:func:`relutope.complexity.local_complexity_estimate`);
* ``exact``: :func:`relutope.complexity.local_complexity` without the boundary density (one enumeration of each
  neighbourhood's partition in its P-dimensional chart);
* ``exact+boundary``: the same with the boundary density (vertices of every region, Qhull).

It prints and writes ``local_complexity_speed.csv``: seconds, points per second, and the mean regions, units cut
(exact and estimated) and boundary density; ratios are within the run.

    python bench/bench_local_complexity.py                 # about 8 minutes on a loaded 2-core machine
    python bench/bench_local_complexity.py --points 200 --radius 0.2
"""
from __future__ import annotations

import os

# One BLAS thread: the products here are small, and on a shared machine threaded BLAS spends its time waiting
# (4x slower local complexity on 2 loaded cores). Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import csv
import time
from pathlib import Path

import numpy as np

import relutope
from relutope.complexity import local_complexity, local_complexity_estimate


def centred_net(X: np.ndarray, widths, seed: int) -> relutope.Network:
    """Network.random(widths, seed) with every hidden unit's bias moved to the median of its pre-activation."""
    base = relutope.Network.random(widths, seed=seed)
    weights, h = [], X
    for i, layer in enumerate(base.layers):
        W = layer.A[1::2] if i < len(base) - 1 else layer.A
        z = h @ W.T
        b = -np.median(z, axis=0) if i < len(base) - 1 else np.zeros(W.shape[0])
        weights.append((W, b))
        h = np.maximum(z + b, 0.0)
    return relutope.Network.from_weights(weights)


def main():
    from sklearn.datasets import load_digits

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--radius", type=float, default=0.1)
    ap.add_argument("--dims", default="2,3,4")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = ap.parse_args()
    X = load_digits().data[: args.points] / 16.0
    net = centred_net(X, [64, 64, 64, 10], seed=0)
    rows = []
    norm = np.linalg.norm(X, axis=1).mean()
    print(f"network {net.widths}, {len(X)} digits, radius {args.radius} (pixel norms ~ {norm:.2f})")
    for P in [int(p) for p in args.dims.split(",")]:
        t = time.perf_counter()
        est = local_complexity_estimate(net, X, args.radius, P, seed=1)
        t_est = time.perf_counter() - t
        lc = local_complexity(net, X, args.radius, P, seed=1, boundary=False)
        lcb = local_complexity(net, X, args.radius, P, seed=1, boundary=True)
        assert np.array_equal(lc.n_regions, lcb.n_regions) and np.all(lc.cut >= est.cut)
        for name, secs in (("estimate", t_est), ("exact", lc.seconds), ("exact+boundary", lcb.seconds)):
            rows.append({"P": P, "method": name, "points": len(X), "seconds": secs, "points_per_s": len(X) / secs,
                         "mean_regions": lc.n_regions.mean() if name != "estimate" else "",
                         "mean_n_cut": (est.n_cut if name == "estimate" else lc.n_cut).mean(),
                         "mean_boundary_density": np.nanmean(lcb.boundary_density) if name == "exact+boundary"
                         else ""})
        print(f"P={P}: estimate {t_est:.3f} s, exact {lc.seconds:.2f} s ({len(X) / lc.seconds:.0f} points/s), "
              f"with boundary density {lcb.seconds:.2f} s; exact/estimate time {lc.seconds / t_est:.0f}x; "
              f"regions {lc.n_regions.mean():.1f} (max {lc.n_regions.max()}), units cut exact {lc.n_cut.mean():.2f} "
              f"vs estimate {est.n_cut.mean():.2f} (estimate < exact at {np.mean(est.n_cut < lc.n_cut):.1%} of "
              f"points), boundary density {np.nanmean(lcb.boundary_density):.3g}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "local_complexity_speed.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {out / 'local_complexity_speed.csv'}")


if __name__ == "__main__":
    main()
