"""Benchmark: output_bounds(..., certify=True) against plain output_bounds on ACAS Xu 1_1, in one run.

The domain is a random polytope inside a shrunken copy of a VNN-COMP property box (``bench_certify.random_polytope``
on the box scaled by ``--shrink`` about its centre, ``--cuts`` random cuts, seed ``--seed``), small enough that
the exact per-region work (about 0.2 s per ACAS Xu region: the exact H-representation and affine map, two float
LPs per output with their multipliers checked exactly) finishes in minutes. It prints the times and their ratio,
the regions, the certificate's status and, per output, the proven interval of the maximum ``[max_lower,
max_upper]`` next to plain ``output_bounds``' maximum (which must lie in it, up to its rounding), and the same for
the minimum.

    python bench/bench_certified_bounds.py                       # property 3, onnx weights, shrink 0.2, 6 cuts
    python bench/bench_certified_bounds.py --prop 4 --format nnet --shrink 0.1
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import relutope  # noqa: E402
from bench_certify import DATA, load, random_polytope  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prop", type=int, default=3)
    ap.add_argument("--format", default="onnx", choices=["onnx", "nnet"])
    ap.add_argument("--shrink", type=float, default=0.2, help="the box scaled about its centre (default 0.2)")
    ap.add_argument("--cuts", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"# bench_certified_bounds  {datetime.datetime.now().isoformat(timespec='seconds')}  cores "
          f"{os.cpu_count()}  load {load()}  prop {args.prop}  {args.format}  shrink {args.shrink}  cuts {args.cuts}  "
          f"seed {args.seed}")
    box = relutope.vnnlib.load(DATA / "vnnlib" / f"prop_{args.prop}.vnnlib").cases[0].domain()
    c, h = (box.lo + box.hi) / 2, (box.hi - box.lo) / 2 * args.shrink
    domain = random_polytope(relutope.Box(c - h, c + h), args.cuts, args.seed)
    path = DATA / args.format / f"ACASXU_run2a_1_1_batch_2000.{args.format}"
    net = relutope.load_onnx(path) if args.format == "onnx" else relutope.load_nnet(path)
    t = time.perf_counter()
    plain = relutope.output_bounds(net, domain, threads=1)
    t_plain = time.perf_counter() - t
    t = time.perf_counter()
    cert = relutope.output_bounds(net, domain, threads=1, certify=True).certificate
    t_cert = time.perf_counter() - t
    print(f"plain {t_plain:.2f} s ({plain.regions} regions visited, {plain.pruned} cells pruned)  certified "
          f"{t_cert:.2f} s ({cert.regions} regions, {cert.regions and t_cert / cert.regions * 1e3:.0f} ms/region)  "
          f"ratio {t_cert / t_plain:.0f}  status {cert.status}  thin {cert.enumeration.n_thin} "
          f"(bounded by: {cert.thin_bounded_by or 'none needed'})")
    print(f"{'output':>6} {'max_lower':>22} {'plain max':>22} {'max_upper':>22} {'min_lower':>22} {'plain min':>22} "
          f"{'min_upper':>22}")
    for i in range(net.out_dim):
        print(f"{i:>6} {cert.max_lower[i]:22.17g} {plain.upper[i]:22.17g} {cert.max_upper[i]:22.17g} "
              f"{cert.min_lower[i]:22.17g} {plain.lower[i]:22.17g} {cert.min_upper[i]:22.17g}")
    width = np.maximum(cert.max_upper - cert.max_lower, cert.min_upper - cert.min_lower)
    print(f"# widest interval {np.max(width):.3g}  load {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
