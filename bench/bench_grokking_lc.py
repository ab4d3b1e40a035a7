"""Reproduction (issue 9, (ii)): local complexity around training, test and random points over training.

Humayun, Balestriero & Baraniuk ("Deep Networks Always Grok and Here is Why", 2024) train an MLP for a long time
and track the *local complexity* (LC: neurons whose hyperplane cuts a small cross-polytope around a point) around
training points, test points and random points. Their claims: LC around the data first rises, then falls late in
training ("region migration": the partition's regions leave the data and gather near the decision boundary), a
phase they tie to the late, "grokked" gain in robustness; the fall is stronger around data than around random
points.

Small-scale version on scikit-learn's 8x8 digits (pixels scaled to [0, 1]): 1,000 training images, the other 797
for test, random points uniform in the pixel box [0, 1]^64. Setup in the spirit of the paper's MNIST runs (as
we read it: an MLP of width 200, a large initialisation, MSE loss on one-hot targets, AdamW with weight decay):
``[64, 200, 200, 200, 10]`` ReLU MLP, PyTorch default init scaled by ``--init-scale`` (4), AdamW (lr 1e-3,
weight decay 0.01; trained in float32, analysed in float64), batches of 200, ``--steps`` (10,000) steps. At
log-spaced steps it records train and test accuracy and, around ``--points`` (50) points of each set, with
``P = 2`` directions (the same at every checkpoint) and radius ``--radius`` (0.1; pixel norms ~ 3.9):

* ``estimate``: the paper's vertex-sign LC (:func:`relutope.complexity.local_complexity_estimate`), also with
  ``P = 25`` directions, the paper's kind of neighbourhood;
* ``exact``: the units cut, the regions and the boundary density of the same P = 2 neighbourhoods
  (:func:`relutope.complexity.local_complexity`).

Writes ``grokking_lc.csv`` (one row per checkpoint and point set) and ``grokking_lc.png`` (accuracy; LC estimate
and exact against steps, log x).

    python bench/bench_grokking_lc.py                 # ~5 minutes on a loaded 2-core machine
    python bench/bench_grokking_lc.py --steps 5000 --out /tmp/bench
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


def checkpoints(steps: int):
    s = {0, steps}
    for e in range(0, 7):
        for m in (1, 2, 5):
            if m * 10 ** e < steps:
                s.add(m * 10 ** e)
    return sorted(s)


def to_network(model) -> relutope.Network:
    import torch

    lins = [m for m in model if isinstance(m, torch.nn.Linear)]
    return relutope.Network.from_weights([(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
                                          for m in lins])


def main():
    import torch
    from sklearn.datasets import load_digits

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--radius", type=float, default=0.1)
    ap.add_argument("--init-scale", type=float, default=4.0)
    ap.add_argument("--points", type=int, default=50, help="points per set (train, test, random)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    perm = rng.permutation(len(X))
    tr, te = perm[:1000], perm[1000:]
    Xtr, ytr, Xte, yte = X[tr], y[tr], X[te], y[te]
    sets = {"train": Xtr[: args.points], "test": Xte[: args.points], "random": rng.random((args.points, 64))}
    width = 200
    model = torch.nn.Sequential(torch.nn.Linear(64, width), torch.nn.ReLU(), torch.nn.Linear(width, width),
                                torch.nn.ReLU(), torch.nn.Linear(width, width), torch.nn.ReLU(),
                                torch.nn.Linear(width, 10))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(args.init_scale)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    Xt, Yt = torch.tensor(Xtr, dtype=torch.float32), torch.nn.functional.one_hot(torch.tensor(ytr), 10).float()
    marks = set(checkpoints(args.steps))
    rows = []
    t_train = t_lc = 0.0
    for step in range(args.steps + 1):
        if step in marks:
            net = to_network(model)
            t = time.perf_counter()
            acc_tr = float((net(Xtr).argmax(1) == ytr).mean())
            acc_te = float((net(Xte).argmax(1) == yte).mean())
            line = [f"step {step:>6d}: train {acc_tr:.3f} test {acc_te:.3f}"]
            for name, P_ in sets.items():
                est = local_complexity_estimate(net, P_, args.radius, 2, seed=1)
                est25 = local_complexity_estimate(net, P_, args.radius, 25, seed=1)
                lc = local_complexity(net, P_, args.radius, 2, seed=1, max_regions=20000)
                rows.append({"step": step, "set": name, "train_acc": acc_tr, "test_acc": acc_te,
                             "lc_estimate_P2": est.n_cut.mean(), "lc_estimate_P25": est25.n_cut.mean(),
                             "lc_exact_P2": lc.n_cut.mean(), "regions_P2": lc.n_regions.mean(),
                             "boundary_density_P2": float(np.nanmean(lc.boundary_density)),
                             "estimate_below_exact": float(np.mean(est.n_cut < lc.n_cut)),
                             "complete": float(lc.complete.mean())})
                line.append(f"{name}: LC est {est.n_cut.mean():.2f} / exact {lc.n_cut.mean():.2f} "
                            f"(P=25 est {est25.n_cut.mean():.1f}), regions {lc.n_regions.mean():.1f}")
            t_lc += time.perf_counter() - t
            print("; ".join(line), flush=True)
        if step == args.steps:
            break
        t = time.perf_counter()
        idx = torch.randint(0, len(Xt), (200,))
        loss = torch.nn.functional.mse_loss(model(Xt[idx]), Yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        t_train += time.perf_counter() - t
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grokking_lc.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"training {t_train:.1f} s, local complexity {t_lc:.1f} s")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 3.8), layout="constrained")
    axes = fig.subplots(1, 4)
    steps = sorted({r["step"] for r in rows})
    x = [max(s, 1) for s in steps]
    first = [r for r in rows if r["set"] == "train"]
    axes[0].plot(x, [r["train_acc"] for r in first], label="train")
    axes[0].plot(x, [r["test_acc"] for r in first], label="test")
    axes[0].set_title("accuracy")
    for ax, key, title in ((axes[1], "lc_estimate_P25", "LC estimate, P = 25"),
                           (axes[2], "lc_exact_P2", "LC exact (solid) / estimate (dashed), P = 2"),
                           (axes[3], "regions_P2", "regions in the P = 2 neighbourhood")):
        for name, colour in (("train", "C0"), ("test", "C1"), ("random", "C2")):
            r = [row for row in rows if row["set"] == name]
            ax.plot(x, [row[key] for row in r], color=colour, label=name)
            if key == "lc_exact_P2":
                ax.plot(x, [row["lc_estimate_P2"] for row in r], color=colour, ls="--")
        ax.set_title(title)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("optimisation step (0 drawn at 1)")
        ax.legend(fontsize=8)
    fig.suptitle(f"8x8 digits, MLP [64, 200, 200, 200, 10], init x{args.init_scale:g}, radius {args.radius:g}")
    fig.savefig(out / "grokking_lc.png", dpi=110)
    print(f"wrote {out / 'grokking_lc.csv'} and {out / 'grokking_lc.png'}")


if __name__ == "__main__":
    main()
