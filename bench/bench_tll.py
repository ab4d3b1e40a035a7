"""Two-level lattice (TLL) networks: generated instances in the manner of VNN-COMP 2022's TLL Verify Bench.

    python bench/bench_tll.py [--sizes 8,16,32,64] [--per-size 4] [--timeout 60] [--seed 0]

A TLL network (Ferlez & Shoukry, "AReN: Assured ReLU NN Architecture for Model Predictive Control of LTI
Systems", HSCC 2020; "Fast BATLLNN: Fast Box Analysis of Two-Level Lattice Neural Networks", HSCC 2022) computes
``f(x) = max_j min_{i in S_j} l_i(x)`` for N local linear functions ``l_i(x) = a_i . x + b_i`` and M selector
sets ``S_j`` of {0..N-1}. Here it is lowered exactly to three MASO layers: the N linear units; M units
``max_{i in S_j} (-l_i) = -min_{i in S_j} l_i`` (one piece per selected function, as max-pooling lowers); one
output unit ``max_j (-(.)_j)``. The bench's instances are 2-input TLLs with N = M of the sizes given, random
selector sets of about N/2 functions, on the box [-1, 1]^2 (Fast BATLLNN's setting), each with the property
"unsafe if f(x) >= t" for a t just above the sampled maximum (most hold: the sampled maximum is below the true
one only in small spots) and one just below it (violated). Every verdict is checked against the exact maximum
of f over the box (``relutope.output_bounds`` without pruning). Times are indicative (shared machine).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import relutope  # noqa: E402
from relutope import vnnlib  # noqa: E402
from relutope.network import Layer  # noqa: E402


def tll_network(n_in: int, N: int, M: int, rng: np.random.Generator) -> relutope.Network:
    """A random TLL network max_j min_{i in S_j} (a_i . x + b_i) as a relutope Network (see the module docs)."""
    A, b = rng.normal(size=(N, n_in)), rng.normal(size=N)
    linear = Layer.affine(A, b, "identity")
    sets = [np.flatnonzero(rng.random(N) < 0.5) for _ in range(M)]
    sets = [s if s.size else np.array([rng.integers(N)]) for s in sets]
    rows = np.zeros((sum(s.size for s in sets), N))
    r = 0
    for s in sets:
        for i in s:
            rows[r, i] = -1.0  # piece -l_i
            r += 1
    mins = Layer(rows, np.zeros(len(rows)), np.array([s.size for s in sets]))
    out = Layer(-np.eye(M), np.zeros(M), np.array([M]))
    return relutope.Network([linear, mins, out])


def threshold_property(lo, hi, t: float) -> vnnlib.Property:
    lines = [f"(declare-const X_{i} Real)" for i in range(len(lo))] + ["(declare-const Y_0 Real)"]
    for i in range(len(lo)):
        lines += [f"(assert (>= X_{i} {float(lo[i])!r}))", f"(assert (<= X_{i} {float(hi[i])!r}))"]
    lines.append(f"(assert (>= Y_0 {float(t)!r}))")
    return vnnlib.loads("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="8,16,32,64", help="N = M values, at most 127 (a unit has at most 127 pieces)")
    ap.add_argument("--per-size", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    lo, hi = -np.ones(2), np.ones(2)
    box = relutope.Box(lo, hi)
    print(f"{'N=M':>5} {'net':>4} {'property':>9} {'exact max':>10} {'threshold':>10} {'expected':>9} {'relutope':>9} "
          f"{'seconds':>8}")
    worst, solved, total = 0.0, 0, 0
    for N in (int(s) for s in args.sizes.split(",")):
        for k in range(args.per_size):
            net = tll_network(2, N, N, rng)
            y = net(box.sample(20_000, rng))[:, 0]
            top = relutope.output_bounds(net, box, prune=False).upper[0]  # exact, independent of the verifier
            spread = float(np.ptp(y))
            for kind, t in (("above", y.max() + 1e-3 * spread), ("below", y.max() - 1e-3 * spread)):
                expected = "holds" if t > top else "violated"
                res = relutope.verify(net, threshold_property(lo, hi, t), timeout=args.timeout)
                total += 1
                solved += res.status == expected
                worst = max(worst, res.seconds)
                flag = "" if res.status == expected else "  <-- WRONG OR UNSOLVED"
                print(f"{N:5d} {k:4d} {kind:>9} {top:10.5f} {t:10.5f} {expected:>9} {res.status:>9} "
                      f"{res.seconds:8.3f}{flag}", flush=True)
    print(f"\n{solved}/{total} solved with the expected verdict; slowest {worst:.2f} s (limit {args.timeout:g} s)")


if __name__ == "__main__":
    main()
