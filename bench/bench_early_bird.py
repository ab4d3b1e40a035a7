"""Benchmark (issue 9, reproduction iii): early-bird tickets from the partition on scikit-learn's 8x8 digits.

Reproduces at small scale the Spline-EB claims of You, Balestriero et al., "Max-Affine Spline Insights Into Deep
Network Pruning" (TMLR 2022, Sections 4-5):

1. train a ReLU MLP ``[64, H, H, 10]`` on the digits (1,797 images shipped with scikit-learn; 70/30 split) and
   record, after every epoch, the partition on fixed 2-D slices spanned by pairs of training images
   (:class:`relutope.early_bird.EarlyBirdMonitor`: region counts, the grid distance of the VQ codes on a
   100 x 100 grid, and the Spline-EB detector with window 3 and threshold 0.16);
2. at the detected epoch, prune a fraction of the hidden units by the spline criterion (hyperplane redundancy,
   :func:`relutope.pruning.select_units` with ``criterion="spline"``) and by magnitude (l1 norm of the incoming
   weights) at the same sparsity, layerwise and globally, then retrain both for the same number of epochs and
   compare test accuracies (mean and standard deviation over seeds), with random pruning as a baseline;
3. time the exact checkpoint distance (:func:`relutope.early_bird.exact_distance`, integrated over the common
   refinement of two checkpoints' partitions of a slice) against the 100 x 100 grid estimate.

Writes to ``--out`` (default ``bench/results/``): ``early_bird_accuracy.csv`` (one row per seed, scope, criterion
and sparsity), ``early_bird_epochs.csv`` (per seed and epoch: distance to the previous epoch, the window
maximum, region counts, test accuracy), ``early_bird_timing.csv`` (exact vs grid distance per consecutive pair
of seed 0) and ``early_bird_distance_matrix.png`` (the epoch-by-epoch distance matrix of seed 0, the distance
curves with the threshold, and the region counts).

    python bench/bench_early_bird.py
    python bench/bench_early_bird.py --seeds 1 --epochs 20 --out /tmp/eb
    python bench/bench_early_bird.py --random-timing 64,128,256     # exact distance timing only
"""
from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread, as the other benches
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import relutope  # noqa: E402
from relutope.early_bird import EarlyBirdMonitor, exact_distance, sampled_distance, slice_through_inputs  # noqa: E402
from relutope.pruning import select_units  # noqa: E402


def load_digits_split(seed: int = 0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)


def make_model(torch, hidden: int):
    nn = torch.nn
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10)).double()


def train_epoch(torch, model, X, y, opt, batch: int, gen):
    model.train()
    perm = torch.randperm(len(X), generator=gen)
    for i in range(0, len(X), batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()
    model.eval()


def accuracy(torch, model, X, y) -> float:
    with torch.no_grad():
        return float((model(X).argmax(1) == y).double().mean())


def pruned_model(torch, model, units, widths):
    """A smaller nn.Sequential without the hidden units ``units`` (global indices of the relutope network)."""
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    offsets = np.concatenate([[0], np.cumsum(widths[1:])])
    keep = [np.setdiff1d(np.arange(w), units[(units >= offsets[l]) & (units < offsets[l + 1])] - offsets[l])
            for l, w in enumerate(widths[1:-1])]
    new = []
    prev = np.arange(widths[0])
    for l, lin in enumerate(linears):
        rows = keep[l] if l < len(keep) else np.arange(lin.out_features)
        m = torch.nn.Linear(len(prev), len(rows)).double()
        with torch.no_grad():
            m.weight.copy_(lin.weight[rows][:, prev])
            m.bias.copy_(lin.bias[rows])
        new.append(m)
        if l < len(linears) - 1:
            new.append(torch.nn.ReLU())
        prev = rows
    return torch.nn.Sequential(*new)


def run_seed(torch, seed: int, args, slices_idx):
    Xtr, Xte, ytr, yte = load_digits_split(0)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    Xtr_t, Xte_t = torch.tensor(Xtr), torch.tensor(Xte)
    ytr_t, yte_t = torch.tensor(ytr), torch.tensor(yte)
    model = make_model(torch, args.hidden)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    slices = [slice_through_inputs(Xtr[i], Xtr[j]) for i, j in slices_idx]
    monitor = EarlyBirdMonitor(64, slices, n=args.grid, window=3, threshold=args.threshold)
    states, epochs_rows, nets = [], [], []
    model.eval()
    for epoch in range(args.epochs + 1):
        if epoch:
            train_epoch(torch, model, Xtr_t, ytr_t, opt, args.batch, gen)
        rec = monitor.record(model, epoch=epoch)
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        nets.append(relutope.from_torch(model, 64))
        epochs_rows.append({"seed": seed, "epoch": epoch, "distance_to_previous": rec["distance"],
                            "max_window_distance": rec["max_window_distance"], "early_bird": rec["early_bird"],
                            "regions_mean": float(np.mean(rec["regions"])),
                            "test_accuracy": accuracy(torch, model, Xte_t, yte_t)})
    full_acc = epochs_rows[-1]["test_accuracy"]
    detected = monitor.detected_epoch
    prune_epoch = detected if detected is not None else args.epochs
    rows = []
    base = make_model(torch, args.hidden)
    base.load_state_dict(states[prune_epoch])
    net = relutope.from_torch(base, 64)
    for scope in ("layer", "global"):
        for amount in args.sparsity:
            for criterion in ("spline", "magnitude", "random"):
                scores = np.random.default_rng(seed).random(net.n_units) if criterion == "random" else criterion
                units = select_units(net, amount, scope=scope, criterion=scores)
                small = pruned_model(torch, base, units, net.widths)
                acc0 = accuracy(torch, small, Xte_t, yte_t)
                torch.manual_seed(seed + 1000)
                g = torch.Generator().manual_seed(seed + 1000)
                o = torch.optim.SGD(small.parameters(), lr=args.lr, momentum=0.9)
                for _ in range(args.retrain):
                    train_epoch(torch, small, Xtr_t, ytr_t, o, args.batch, g)
                rows.append({"seed": seed, "scope": scope, "sparsity": amount, "criterion": criterion,
                             "detected_epoch": detected, "prune_epoch": prune_epoch,
                             "widths": "-".join(map(str, relutope.from_torch(small, 64).widths)),
                             "acc_pruned": acc0, "acc_retrained": accuracy(torch, small, Xte_t, yte_t),
                             "acc_full_training": full_acc})
    return monitor, nets, epochs_rows, rows


def timing(nets, slice_, grid: int, pairs: int):
    out = []
    for t in range(1, min(len(nets), pairs + 1)):
        e = exact_distance(nets[t - 1], nets[t], slice_)
        s = sampled_distance(nets[t - 1], nets[t], slice_, grid)
        out.append({"pair": f"{t - 1}-{t}", "cells": e.samples, "exact_distance": e.distance,
                    "exact_seconds": e.seconds, "grid_distance": s.distance, "grid_seconds": s.seconds,
                    "abs_difference": abs(e.distance - s.distance)})
    return out


def timing_random(widths, grid: int):
    """Exact vs grid distance between ``Network.random([64, w, w, 10], seed=0)`` and ``seed=1`` on a slice."""
    rng = np.random.default_rng(0)
    for w in widths:
        a = relutope.Network.random([64, w, w, 10], seed=0)
        b = relutope.Network.random([64, w, w, 10], seed=1)
        sl = slice_through_inputs(rng.random(64), rng.random(64))
        e, s = exact_distance(a, b, sl), sampled_distance(a, b, sl, grid)
        print(f"[64, {w}, {w}, 10]: exact {e.distance:.5f} in {e.seconds:.3f} s ({e.samples} cells), "
              f"{grid}x{grid} grid {s.distance:.5f} in {s.seconds:.3f} s, ratio exact/grid "
              f"{e.seconds / s.seconds:.2f}")


def plot(monitor, epochs_rows, threshold, path):
    from matplotlib.figure import Figure

    D = monitor.distance_matrix()
    fig = Figure(figsize=(15, 4.4), layout="constrained")
    ax = fig.subplots(1, 3)
    im = ax[0].imshow(D, cmap="viridis", origin="lower")
    fig.colorbar(im, ax=ax[0], shrink=0.8, label="grid partition distance")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("epoch")
    ax[0].set_title("epoch-by-epoch partition distance (seed 0)")
    ep = [r["epoch"] for r in epochs_rows]
    ax[1].plot(ep, [r["distance_to_previous"] for r in epochs_rows], "o-", label="to previous epoch")
    ax[1].plot(ep, [r["max_window_distance"] for r in epochs_rows], "s-", label="window max (w = 3)")
    ax[1].axhline(threshold, color="k", ls="--", label=f"threshold {threshold}")
    if monitor.detected_epoch is not None:
        ax[1].axvline(monitor.detected_epoch, color="r", ls=":", label=f"early bird: epoch {monitor.detected_epoch}")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("distance")
    ax[1].legend()
    ax[1].set_title("Spline-EB detector")
    ax[2].plot(ep, [r["regions_mean"] for r in epochs_rows], "o-")
    ax[2].set_xlabel("epoch")
    ax[2].set_ylabel("regions per slice (mean)")
    ax2 = ax[2].twinx()
    ax2.plot(ep, [r["test_accuracy"] for r in epochs_rows], "r.-")
    ax2.set_ylabel("test accuracy", color="r")
    ax[2].set_title("exact region count on the slices")
    fig.savefig(path, dpi=120)


def write_csv(path, rows):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--retrain", type=int, default=None, help="retraining epochs (default: --epochs)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--grid", type=int, default=100)
    ap.add_argument("--slices", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=0.16)
    ap.add_argument("--sparsity", type=lambda s: [float(v) for v in s.split(",")], default=[0.3, 0.5, 0.7])
    ap.add_argument("--timing-pairs", type=int, default=10)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    ap.add_argument("--random-timing", type=lambda s: [int(v) for v in s.split(",")], default=None,
                    metavar="W,W,...", help="only time the exact vs grid distance of random [64, W, W, 10] pairs")
    args = ap.parse_args(argv)
    if args.random_timing:
        timing_random(args.random_timing, args.grid)
        return
    if args.retrain is None:
        args.retrain = args.epochs
    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    Xtr = load_digits_split(0)[0]
    slices_idx = [tuple(rng.choice(len(Xtr), 2, replace=False)) for _ in range(args.slices)]
    all_epochs, all_rows = [], []
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        monitor, nets, epochs_rows, rows = run_seed(torch, seed, args, slices_idx)
        all_epochs += epochs_rows
        all_rows += rows
        print(f"seed {seed}: early bird at epoch {monitor.detected_epoch} (threshold {args.threshold}); "
              f"full-training test accuracy {epochs_rows[-1]['test_accuracy']:.4f}; "
              f"distances to previous epoch: "
              + " ".join(f"{r['distance_to_previous']:.3f}" for r in epochs_rows[1:8]) + " ...")
        if seed == 0:
            plot(monitor, epochs_rows, args.threshold, out / "early_bird_distance_matrix.png")
            tim = timing(nets, monitor.slices[0], args.grid, args.timing_pairs)
            write_csv(out / "early_bird_timing.csv", tim)
    write_csv(out / "early_bird_epochs.csv", all_epochs)
    write_csv(out / "early_bird_accuracy.csv", all_rows)
    print(f"\ntest accuracy after pruning at the early-bird epoch, mean +- std over {args.seeds} seeds "
          f"({args.retrain} retraining epochs; random: uniform random scores):")
    crits = ("spline", "magnitude", "random")
    for key, title in (("acc_retrained", "after retraining"), ("acc_pruned", "right after pruning (no retraining)")):
        print(f"{title}:")
        print(f"{'scope':>7} {'sparsity':>8} " + " ".join(f"{c:>17}" for c in crits) + f" {'spline/magnitude':>17}")
        for scope in ("layer", "global"):
            for amount in args.sparsity:
                acc = {c: np.array([r[key] for r in all_rows if r["scope"] == scope and r["sparsity"] == amount
                                    and r["criterion"] == c]) for c in crits}
                print(f"{scope:>7} {amount:8.2f} " + " ".join(f"{acc[c].mean():8.4f} +- {acc[c].std():.4f}"
                                                        for c in crits)
                      + f" {acc['spline'].mean() / acc['magnitude'].mean():17.4f}")
    ex = np.array([r["exact_seconds"] for r in tim])
    gr = np.array([r["grid_seconds"] for r in tim])
    cells = np.array([r["cells"] for r in tim])
    diff = np.array([r["abs_difference"] for r in tim])
    print(f"\nexact checkpoint distance on a 2-D slice of [64, {args.hidden}, {args.hidden}, 10] (seed 0, "
          f"{len(tim)} consecutive pairs): median {np.median(ex):.3f} s ({int(np.median(cells))} cells of the common "
          f"refinement); {args.grid}x{args.grid} grid: median {np.median(gr):.3f} s; ratio exact/grid "
          f"{np.median(ex / gr):.2f}; |grid - exact| max {diff.max():.2e}")
    print(f"total {time.perf_counter() - t0:.1f} s; results in {out}")


if __name__ == "__main__":
    main()
