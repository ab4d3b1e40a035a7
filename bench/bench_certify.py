"""Benchmark: certified enumeration against plain enumeration on ACAS Xu 1_1, in one run.

For the input boxes of VNN-COMP 2021 properties 3 and 4 (``vnnlib/prop_P.vnnlib``) and both weight files of
network 1_1 in ``shared/data/acasxu`` (``onnx/``: float32 weights; ``nnet/``: the decimal weights of the Reluplex
release read into float64), it times, best of ``--repeat`` (wall clock):

- ``enumerate_regions(net, box, method="lp", threads=t)`` (plain: the LP path with its float witness pass);
- ``enumerate_regions(net, box, threads=t, certify=True)``: the same run with every discarding decision checked
  by its rigorous dual bound, then the witnesses proven (``certify_witnesses``) and failed decisions re-decided
  by exact rational LPs;

and prints the ratio (the goal is at most 3x), the regions, the regions proven to exist, the decisions certified
(proven empty / thin), the largest certified inradius bound of the thin ones (input units), and the failures and
their exact re-decisions, plus where the certified run's time went (the core with its checks; the witnesses; the
re-decisions). It prints the date, cores and load average at the start and end: on a shared machine ratios are only
as good as the cores that were free.

    python bench/bench_certify.py                  # properties 3 and 4, onnx and nnet, one thread
    python bench/bench_certify.py --props 4 --threads 2 --repeat 3
    python bench/bench_certify.py --props 3 --formats onnx --polytope 6   # a random polytope in the box

``--polytope N`` replaces each box by a random polytope inside it (:func:`random_polytope`: the box's rows and
``N`` random cuts at 0.6 of the way to the box's boundary along random directions, in coordinates scaled to the
box, seed ``--seed``): the certified run then carries the polytope's rows exactly in every certificate.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import relutope  # noqa: E402

DATA = Path(os.environ.get("RELUTOPE_ACASXU", "/work/shared/data/acasxu"))


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def best(fn, repeat: int):
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, min(times)


def random_polytope(box, n_cuts: int, seed: int):
    """A random Polytope inside ``box``: the box's rows and ``n_cuts`` rows ``(a / h) . (x - c) <= 0.6`` with
    ``a`` random unit directions, ``c`` the box's centre and ``h`` its half-widths (free coordinates only; the
    fixed ones stay fixed through a Slice along the free axes, an exact map)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    free = box.free
    c = (box.lo[free] + box.hi[free]) / 2
    h = (box.hi[free] - box.lo[free]) / 2
    a = rng.normal(size=(n_cuts, free.size))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    A = np.vstack([np.eye(free.size), -np.eye(free.size), a / h])
    b = np.concatenate([box.hi[free], -box.lo[free], 0.6 + (a / h) @ c])
    inner = relutope.Polytope(A, b)
    if free.size == box.dim:
        return inner
    origin, basis = box.parametrization()
    return relutope.Slice(origin, basis, inner)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--props", default="3,4", help="VNN-COMP properties whose input box to use (default 3,4)")
    ap.add_argument("--formats", default="onnx,nnet", help="weight files (default onnx,nnet)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--polytope", type=int, default=0, metavar="N",
                    help="a random polytope inside the box with N cuts instead of the box (default 0: the box)")
    ap.add_argument("--seed", type=int, default=0, help="seed of --polytope (default 0)")
    args = ap.parse_args(argv)
    print(f"# bench_certify  {datetime.datetime.now().isoformat(timespec='seconds')}  cores {os.cpu_count()}  "
          f"load {load()}  threads {args.threads}  best of {args.repeat}"
          + (f"  polytope: the box and {args.polytope} random cuts (seed {args.seed})" if args.polytope else ""))
    header = (f"{'prop':>4} {'weights':>7} {'plain s':>8} {'cert s':>8} {'ratio':>6} {'regions':>8} {'proven':>8} "
              f"{'decisions':>10} {'certified':>10} {'empty':>10} {'thin':>5} {'max thin bound':>14} {'failed':>6} "
              f"{'confirmed':>9} {'refuted':>7}  status      core+checks witnesses re-decide")
    print(header)
    worst = 0.0
    for prop in [int(p) for p in args.props.split(",")]:
        domain = relutope.vnnlib.load(DATA / "vnnlib" / f"prop_{prop}.vnnlib").cases[0].domain()
        if args.polytope:
            domain = random_polytope(domain, args.polytope, args.seed)
        for fmt in args.formats.split(","):
            path = DATA / fmt / f"ACASXU_run2a_1_1_batch_2000.{fmt}"
            net = relutope.load_onnx(path) if fmt == "onnx" else relutope.load_nnet(path)
            plain, t_plain = best(lambda: relutope.enumerate_regions(net, domain, method="lp", threads=args.threads),
                                  args.repeat)
            part, t_cert = best(lambda: relutope.enumerate_regions(net, domain, threads=args.threads, certify=True),
                                args.repeat)
            c = part.certificate
            assert len(part) == len(plain) and part.complete
            ratio = t_cert / t_plain
            worst = max(worst, ratio)
            print(f"{prop:>4} {fmt:>7} {t_plain:8.2f} {t_cert:8.2f} {ratio:6.2f} {c.n_regions:8d} "
                  f"{c.n_regions_certified:8d} {c.n_decisions:10d} {c.n_decisions_certified:10d} {c.n_empty:10d} "
                  f"{c.n_thin:5d} {c.max_thin_inradius_bound:14.3g} {c.n_failed:6d} {c.n_confirmed:9d} "
                  f"{len(c.refuted):7d}  {c.status:<11} {part.seconds:8.2f} {c.witnesses.seconds:9.2f} "
                  f"{c.seconds - c.witnesses.seconds:9.2f}", flush=True)
    print(f"# worst ratio {worst:.2f} (goal <= 3)  load {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
