"""Benchmark: exact enumeration against uniform sampling of the input box (issue #5, "Exact against sampling").

For a grid of networks (input dim 2-6, depth 1-4, width 8-64; random nets by ``relutope.Network.random(widths,
seed)`` and two scikit-learn ``MLPClassifier`` nets trained on ``make_moons`` / ``make_circles``) it enumerates the
activation regions over the box exactly, then draws ONE stream of up to ``--max-samples`` uniform points
(``relutope.compare_sampling``; budgets are prefixes of the stream) and records, per network:

* ``n50``, ``n90``, ``n99``: the first sample count at which sampling has hit 50 %, 90 %, 99 % of the exact regions
  (exact, from the index of the first sample in every region; empty when not reached within the stream);
* ``n_equal_time`` and ``recall_equal_time``: the samples drawn (and the recall they reach) in the wall time of the
  exact enumeration (the core's own clock, ``partition.seconds``; sampling time is the Python wall time to draw,
  run the network and tally, interpolated log-log between budgets);
* the regions sampling misses: their number, median/max inradius and (d <= 4) median volume against the found ones.

Writes ``sampling.csv`` (one row per network), ``sampling_curves.csv`` (recall at every budget), and two plots,
``sampling_recall.png`` (recall against samples, log x, one line per network) and ``sampling_volumes.png`` (the
region-volume histogram of one network, found and missed stacked) to ``--out`` (default ``bench/results/``).

    python bench/bench_sampling.py
    python bench/bench_sampling.py --max-samples 100000 --out /tmp/bench
"""
from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np

import relutope

RANDOM = [  # (widths, seed)
    ([2, 8, 1], 0), ([2, 64, 1], 1), ([2, 16, 16, 1], 2), ([2, 32, 32, 1], 3), ([2, 16, 16, 16, 16, 1], 4),
    ([3, 32, 1], 5), ([3, 16, 16, 1], 6), ([3, 8, 8, 8, 1], 7),
    ([4, 32, 1], 8), ([4, 12, 12, 1], 9),
    ([5, 16, 1], 10), ([5, 8, 8, 1], 11),
    ([6, 16, 1], 12), ([6, 8, 8, 1], 13),
]
REPRESENTATIVE = "random [3, 16, 16, 1]"


def trained(kind: str):
    """An MLPClassifier (ReLU, 2 hidden layers) trained on moons or circles, and the data's box with a margin."""
    from sklearn.datasets import make_circles, make_moons
    from sklearn.neural_network import MLPClassifier

    if kind == "moons":
        X, y = make_moons(n_samples=500, noise=0.15, random_state=0)
        hidden = (16, 16)
    else:
        X, y = make_circles(n_samples=500, noise=0.08, factor=0.5, random_state=0)
        hidden = (24, 12)
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", max_iter=3000, random_state=0).fit(X, y)
    net = relutope.Network.from_weights([(W.T, b) for W, b in zip(clf.coefs_, clf.intercepts_)])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * (hi - lo)
    return net, relutope.Box(lo - pad, hi + pad), clf.score(X, y)


def networks():
    for widths, seed in RANDOM:
        d = widths[0]
        yield f"random {widths}", "random", relutope.Network.random(widths, seed=seed), \
            relutope.Box(-np.ones(d), np.ones(d))
    for kind in ("moons", "circles"):
        net, box, acc = trained(kind)
        yield f"{kind} {net.widths}", f"trained ({kind}, acc {acc:.2f})", net, box


def first_reaching(first_hit: np.ndarray, q: float):
    """Smallest n at which at least a fraction q of the regions were hit, or None."""
    R = first_hit.size
    need = math.ceil(q * R - 1e-9)
    hits = np.sort(first_hit[first_hit > 0])
    return int(hits[need - 1]) if hits.size >= need else None


def samples_in(seconds: float, rows) -> float:
    """Samples drawn in ``seconds`` of sampling wall time, interpolated log-log in the budgets' times."""
    n = np.array([r["samples"] for r in rows], float)
    s = np.array([r["seconds"] for r in rows], float)
    if seconds <= s[0]:
        return n[0] * seconds / s[0]
    if seconds >= s[-1]:
        return n[-1] * seconds / s[-1]
    return float(np.exp(np.interp(np.log(seconds), np.log(s), np.log(n))))


def med(a):
    return float(np.median(a)) if len(a) else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-samples", type=int, default=1_000_000, help="length of the sample stream")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"), help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample streams")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    budgets = np.unique(np.round(np.logspace(0, math.log10(args.max_samples), 49)).astype(int)).tolist()
    results, curves = [], {}
    nets = list(networks())
    for name, kind, net, box in tqdm(nets, desc="networks", unit="net"):
        t = time.perf_counter()
        part = relutope.enumerate_regions(net, box)
        wall = time.perf_counter() - t
        res = relutope.compare_sampling(net, box, budgets=budgets, seed=args.seed, partition=part)
        fh = res.first_hit
        R = res.n_regions
        found = fh > 0
        last = res.rows[-1]
        n_eq = samples_in(part.seconds, res.rows)
        row = {
            "network": name, "kind": kind, "d": net.in_dim, "depth": len(net.widths) - 2, "units": net.n_units,
            "regions": R, "exact_s": f"{part.seconds:.3g}", "exact_wall_s": f"{wall:.3g}",
            "samples": last["samples"], "sampling_s": round(last["seconds"], 3),
            "recall": round(last["recall"], 4),
            "volume_recall": round(last["volume_recall"], 6) if not math.isnan(last["volume_recall"]) else "",
            "n50": first_reaching(fh, 0.5), "n90": first_reaching(fh, 0.9), "n99": first_reaching(fh, 0.99),
            "n_equal_time": int(round(n_eq)), "recall_equal_time": round(float(np.mean(found & (fh <= n_eq))), 4),
            "chao1": round(last["chao1"], 1), "chao1_lo": round(last["chao1_lower"], 1),
            "chao1_hi": round(last["chao1_upper"], 1), "unmatched": last["unmatched"],
            "missed": int((~found).sum()),
            "radius_found_median": med(part.radii[found]), "radius_missed_median": med(part.radii[~found]),
            "radius_missed_max": float(part.radii[~found].max()) if (~found).any() else float("nan"),
            "radius_found_min": float(part.radii[found].min()),
        }
        if net.in_dim <= 4:
            v = part.volumes() / box.volume()
            row["rel_volume_found_median"] = med(v[found])
            row["rel_volume_missed_median"] = med(v[~found])
            row["rel_volume_missed_max"] = float(v[~found].max()) if (~found).any() else float("nan")
        for k in ("radius_found_median", "radius_missed_median", "radius_missed_max", "radius_found_min",
                  "rel_volume_found_median", "rel_volume_missed_median", "rel_volume_missed_max"):
            if k in row:
                row[k] = "" if math.isnan(row[k]) else f"{row[k]:.3g}"
        results.append(row)
        curves[name] = (res, part, box)
        tqdm.write(f"{name:<28} {R:>6} regions in {part.seconds:.3g} s; recall {row['recall']:.3f} at "
                   f"{last['samples']:,} samples; n90 {row['n90']}; equal-time recall {row['recall_equal_time']}")

    keys = list(dict.fromkeys(k for r in results for k in r))
    with open(out / "sampling.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(results)
    with open(out / "sampling_curves.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["network", "samples", "found", "recall", "volume_recall", "chao1", "seconds"])
        for name, (res, _, _) in curves.items():
            for r in res.rows:
                w.writerow([name, r["samples"], r["found"], f"{r['recall']:.5f}", f"{r['volume_recall']:.6f}",
                            f"{r['chao1']:.1f}", f"{r['seconds']:.4g}"])
    plot_recall(curves, results, out / "sampling_recall.png")
    plot_volumes(*curves[REPRESENTATIVE][:3], REPRESENTATIVE, out / "sampling_volumes.png")
    print(f"wrote {out / 'sampling.csv'}, sampling_curves.csv, sampling_recall.png, sampling_volumes.png")
    return 0


def plot_recall(curves, results, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 6.2), layout="constrained")
    ax = fig.subplots()
    cmap = {2: "tab:blue", 3: "tab:orange", 4: "tab:green", 5: "tab:red", 6: "tab:purple"}
    styles = ["-", "--", ":", "-.", (0, (6, 2, 1, 2, 1, 2))]
    seen = {}
    for (name, (res, part, _)), row in zip(curves.items(), results):
        d = part.network.in_dim
        i = seen.get(d, 0)
        seen[d] = i + 1
        trained_net = not name.startswith("random")
        n = [r["samples"] for r in res.rows]
        rec = [r["recall"] for r in res.rows]
        line, = ax.plot(n, rec, color="black" if trained_net else cmap[d], ls=styles[i % 5] if not trained_net
                        else ("-" if "moons" in name else "--"), lw=2.2 if trained_net else 1.6,
                        label=f"{name}: {res.n_regions:,} regions, exact {part.seconds:.2g} s")
        ax.plot([max(row["n_equal_time"], 1)], [row["recall_equal_time"]], "o", color=line.get_color(), ms=5)
    for q in (0.5, 0.9, 0.99):
        ax.axhline(q, color="0.7", lw=0.8, zorder=0)
        ax.text(1.1, q + 0.008, f"{q:.0%}", color="0.45", fontsize=8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("uniform samples n (prefixes of one stream)")
    ax.set_ylabel("recall: share of the exact regions hit")
    fig.suptitle("Uniform sampling against exact enumeration: share of the exact activation regions hit by n samples\n"
                 "dots: the samples drawn in the wall time of the exact enumeration (at n = 1 when fewer)", fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5), title="network (colour: input dim)",
              title_fontsize=8)
    fig.savefig(path, dpi=110)


def plot_volumes(res, part, box, name, path):
    from matplotlib.figure import Figure

    v = part.volumes() / box.volume()
    found = res.found()
    bins = np.logspace(np.floor(np.log10(v.min())), 0, 50)
    fig = Figure(figsize=(8.5, 4.8), layout="constrained")
    ax = fig.subplots()
    n = res.rows[-1]["samples"]
    ax.hist([v[found], v[~found]], bins=bins, stacked=True, color=["tab:blue", "tab:red"],
            label=[f"found by {n:,} samples ({found.sum():,})", f"missed ({(~found).sum():,})"])
    ax.axvline(1.0 / n, color="black", ls="--", lw=1)
    ax.text(1.0 / n, ax.get_ylim()[1] * 0.95, " 1 / n", va="top", fontsize=9)
    ax.set_xscale("log")
    ax.set_xlabel("region volume / box volume")
    ax.set_ylabel("regions")
    ax.set_title(f"{name} on [-1, 1]^3: {len(part):,} exact regions; the missed ones are the small ones")
    ax.legend(loc="upper left")
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
