"""Input splitting: the split scores and strong branching, boxes and bounds to close a property.

    python bench/bench_split_branching.py [--candidates 1,2,3] [--scores 0,1,2] [--time-limit 30]

``_core.split_verify`` alone (no exact enumeration: depth 40, no box budget, no descents) on the ACAS Xu
instances of properties 1-4 that hold (networks 1_1, 1_2, 2_1, 3_3, 5_3) and on two-level lattice networks
(bench_tll.py's generator, N = M = 32 and 64, thresholds just above and below the sampled maximum). For each
split score (``branch_score``: 0 the smear plus the relaxation's looseness by input, each as a fraction of its
sum, the default; 1 the smear alone, ReluVal's, the baseline; 2 the looseness alone) and number of candidate
inputs per split (1: the input of largest score; c > 1: the best of the c inputs of largest score by the bounds
of their halves), the status (0 holds, 1 violated, 2 open at depth 40, 3 time limit), the boxes taken, the
relaxation bounds computed (the cost: one CROWN pass and one LP per term each) and the CPU seconds, measured in
one run (the machine is shared); then each column's total bounds and seconds over the ACAS Xu instances, and its
ratio to the first column. The looseness scores two-piece units only: on the lattice networks (units of up to N
pieces) the score is the smear's, and strong branching is what closes them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))

import relutope  # noqa: E402
from relutope import _core, vnnlib  # noqa: E402
from bench_tll import tll_network  # noqa: E402

DATA = Path("/work/shared/data/acasxu")
ACAS = [("1_1", 1), ("1_1", 2), ("1_1", 3), ("1_1", 4), ("1_2", 1), ("1_2", 3), ("1_2", 4), ("2_1", 1), ("2_1", 3),
        ("2_1", 4), ("3_3", 1), ("3_3", 3), ("5_3", 1), ("5_3", 3), ("5_3", 4)]


def instances():
    for name, p in ACAS:
        net = relutope.load_onnx(DATA / "onnx" / f"ACASXU_run2a_{name}_batch_2000.onnx")
        case = vnnlib.load(DATA / "vnnlib" / f"prop_{p}.vnnlib").cases[0]
        terms = [(np.atleast_2d(np.asarray(C, float)).reshape(-1, net.out_dim), np.atleast_1d(np.asarray(d, float)))
                 for C, d in case.terms]
        yield f"acas {name}:{p}", net, np.asarray(case.box_lo, float), np.asarray(case.box_hi, float), terms
    rng = np.random.default_rng(0)
    lo, hi = -np.ones(2), np.ones(2)
    for N in (32, 64):
        net = tll_network(2, N, N, rng)
        y = net(relutope.Box(lo, hi).sample(20_000, rng))[:, 0]
        for kind, t in (("above", y.max() + 1e-3 * np.ptp(y)), ("below", y.max() - 1e-3 * np.ptp(y))):
            yield f"tll N={N} {kind}", net, lo, hi, [(np.array([[-1.0]]), np.array([-t]))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", default="1,2,3")
    ap.add_argument("--scores", default="0,1",
                    help="branch_score values (0: smear + looseness, 1: smear, 2: looseness)")
    ap.add_argument("--time-limit", type=float, default=30.0)
    args = ap.parse_args()
    cols = [(sc, int(c)) for sc in (int(x) for x in args.scores.split(",")) for c in args.candidates.split(",")]
    print(f"{'instance':>18} " + " ".join(f"{f's={sc} c={c} st/boxes/bounds/cpu s':>32}" for sc, c in cols))
    bounds, secs = np.zeros(len(cols)), np.zeros(len(cols))
    for name, net, lo, hi, terms in instances():
        cells = []
        for i, (sc, c) in enumerate(cols):
            t = time.process_time()
            out = _core.split_verify(net._core(), lo, hi, terms, 40, -1, args.time_limit, c, 0, branch_score=sc)
            dt = time.process_time() - t
            if name.startswith("acas"):
                bounds[i] += out["bounds"]
                secs[i] += dt
            cells.append(f"{out['status']}/{out['boxes']}/{out['bounds']}/{dt:.3f}")
        print(f"{name:>18} " + " ".join(f"{s:>32}" for s in cells), flush=True)
    print(f"{'ACAS total bounds':>18} " + " ".join(f"{f'{b:.0f} ({b / bounds[0]:.2f})':>32}" for b in bounds))
    print(f"{'ACAS total cpu s':>18} " + " ".join(f"{f'{t:.2f} ({t / secs[0]:.2f})':>32}" for t in secs))


if __name__ == "__main__":
    main()
