"""Reproduction (issue 9, (i)): k-nearest-neighbour retrieval by the partition-based (VQ) distance against pixel l2.

Balestriero & Baraniuk ("A Spline Theory of Deep Networks", ICML 2018, Section 5) propose the Hamming distance
between the VQ codes (activation patterns) of two inputs, normalised per layer and summed, as a signal distance,
and report that nearest neighbours under it share the query's class more often than neighbours in pixel space.
This script checks that at small scale on scikit-learn's 8x8 digits (1,797 images, pixels scaled to [0, 1]):

* a ReLU MLP ``[64, 128, 64, 10]`` is trained with scikit-learn's ``MLPClassifier`` on 70 % of the images;
* for every test image, its k nearest training images are retrieved by: pixel l2; the VQ distance of the trained
  net (``relutope.distance.pairwise_distance(metric="vq")``), and of each of its hidden layers alone; the
  unnormalised Hamming distance; the VQ distance of an untrained net of the same shape (``Network.random``,
  He init) as a control; and l2 between the trained net's last hidden activations;
* the *class agreement* (precision@k: the share of the k neighbours with the query's label) and the k-NN vote
  accuracy are recorded for k = 1, 3, 5, 10, 20, 50.

The code distances take few values, so neighbours tie; ties are broken at random (seeded), not by pixel l2, so
the VQ columns measure the codes alone. Writes ``vq_knn.csv`` (one row per metric and k) and ``vq_knn.png``.

    python bench/bench_vq_knn.py                     # ~10 s
    python bench/bench_vq_knn.py --out /tmp/bench --seed 1
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
from relutope.distance import pairwise_distance

KS = (1, 3, 5, 10, 20, 50)


def data(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=seed, stratify=y)


def trained_net(Xtr, ytr, seed: int):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=500, random_state=seed).fit(Xtr, ytr)
    return relutope.Network.from_weights([(W.T, b) for W, b in zip(clf.coefs_, clf.intercepts_)]), clf


def neighbours(D: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (N, k) of the k smallest entries of every row, ties broken at random."""
    noise = rng.random(D.shape)
    order = np.lexsort((noise, D), axis=1) if D.ndim == 2 else None
    return order[:, :k]


def scores(D: np.ndarray, ytr: np.ndarray, yte: np.ndarray, rng) -> dict:
    nb = neighbours(D, max(KS), rng)
    out = {}
    for k in KS:
        lab = ytr[nb[:, :k]]
        agree = (lab == yte[:, None]).mean()
        vote = np.array([np.bincount(row, minlength=10).argmax() for row in lab])
        out[k] = (float(agree), float((vote == yte).mean()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    Xtr, Xte, ytr, yte = data(args.seed)
    t0 = time.perf_counter()
    net, clf = trained_net(Xtr, ytr, args.seed)
    print(f"trained {net.widths}: train accuracy {clf.score(Xtr, ytr):.3f}, test accuracy {clf.score(Xte, yte):.3f} "
          f"({time.perf_counter() - t0:.1f} s)")
    rand = relutope.Network.random(net.widths, seed=args.seed)
    hidden = relutope.Network(net.layers[:-1])  # the trained net's hidden layers: its features
    metrics = {}
    t = time.perf_counter()
    metrics["pixel l2"] = ((Xte[:, None, :] - Xtr[None, :, :]) ** 2).sum(axis=2)
    metrics["VQ (trained)"] = pairwise_distance(net, Xte, Xtr, metric="vq")
    t_vq = time.perf_counter() - t
    for l in range(len(net) - 1):
        sub = relutope.Network(net.layers[:l + 1])
        # layer l's own term of the VQ distance: the distance of the net cut after it, minus the one before it
        prev = pairwise_distance(relutope.Network(net.layers[:l]), Xte, Xtr) if l else 0.0
        metrics[f"VQ layer {l + 1} only"] = pairwise_distance(sub, Xte, Xtr) - prev
    metrics["Hamming (trained)"] = pairwise_distance(net, Xte, Xtr, metric="hamming").astype(float)
    metrics["VQ (untrained)"] = pairwise_distance(rand, Xte, Xtr, metric="vq")
    Htr, Hte = hidden(Xtr), hidden(Xte)
    metrics["last hidden l2"] = ((Hte[:, None, :] - Htr[None, :, :]) ** 2).sum(axis=2)
    rows = []
    rng = np.random.default_rng(args.seed)
    for name, D in metrics.items():
        for k, (agree, acc) in scores(D, ytr, yte, rng).items():
            rows.append({"metric": name, "k": k, "class_agreement": agree, "knn_accuracy": acc})
    with open(out / "vq_knn.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"VQ distance matrix {Xte.shape[0]} x {Xtr.shape[0]} in {t_vq:.3f} s (with the pixel one)")
    print(f"{'metric':<22}" + "".join(f"  k={k:<5d}" for k in KS) + "   (class agreement; k-NN accuracy at k=5)")
    for name in metrics:
        r = [row for row in rows if row["metric"] == name]
        acc5 = next(row["knn_accuracy"] for row in r if row["k"] == 5)
        print(f"{name:<22}" + "".join(f"  {row['class_agreement']:.4f} " for row in r) + f"   {acc5:.4f}")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    for name in metrics:
        r = [row for row in rows if row["metric"] == name]
        ax.plot([row["k"] for row in r], [row["class_agreement"] for row in r], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("k (neighbours retrieved)")
    ax.set_ylabel("class agreement (precision@k)")
    ax.set_title(f"8x8 digits: k-NN retrieval, test against train, net {net.widths}")
    ax.legend(fontsize=8)
    fig.savefig(out / "vq_knn.png", dpi=120)
    print(f"wrote {out / 'vq_knn.csv'} and {out / 'vq_knn.png'}")


if __name__ == "__main__":
    main()
