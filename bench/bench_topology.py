"""Benchmark: the decision complex and its topology against the number of activation regions.

For random nets ``relutope.Network.random([d, w, w, 1], seed=0)`` on ``[-1, 1]^d`` (d = 2 and 3, several widths
w), one process, single-threaded: the enumeration, the decision complex (:func:`relutope.topology.decision_complex`:
the facets, the refinement by ``f = 0`` and the face lattices), the Betti numbers of ``{f >= 0}``, ``{f <= 0}`` and
``{f = 0}`` (GF(2) elimination), and the lower-star persistence of ``f`` through GUDHI. Times are wall seconds;
the last columns are the complex's time per region and per cell.

    python bench/bench_topology.py
    python bench/bench_topology.py --widths2 8,16,32,48 --widths3 6,8,10
    python bench/bench_topology.py --batch-vertices 2,80    # the regions' vertices at once against one by one

``--batch-vertices d,w``: the decision complex of ``[d, w, w, 2]`` built twice in one run, with every region's
vertices from one batched numpy pass (``topology._cells_vertices``, the default) and one call per region
(``_cell_vertices``, as before), the ratio of the times and whether the complexes are identical.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import relutope
from relutope import topology as T


def run(d: int, w: int, seed: int = 0) -> dict:
    net = relutope.Network.random([d, w, w, 1], seed=seed)
    t0 = time.perf_counter()
    part = relutope.enumerate_regions(net, relutope.Box(-np.ones(d), np.ones(d)))
    t1 = time.perf_counter()
    cx = T.decision_complex(part)
    t2 = time.perf_counter()
    betti = {w_: T.betti_numbers(cx, w_) for w_ in ("superlevel", "sublevel", "boundary")}
    t3 = time.perf_counter()
    pairs = T.sublevel_persistence(cx)
    t4 = time.perf_counter()
    n = T.cell_counts(cx)
    return dict(d=d, w=w, regions=len(part), cells=n, enumerate=t1 - t0, complex=t2 - t1, betti=t3 - t2,
                persistence=t4 - t3, pairs=len(pairs), b_sup=betti["superlevel"][:d], b_sub=betti["sublevel"][:d],
                b_bd=betti["boundary"][:d], per_region=(t2 - t1) / len(part), per_cell=(t2 - t1) / sum(n))


def batch_vertices(d: int, w: int, seed: int) -> None:
    net = relutope.Network.random([d, w, w, 2], seed=seed)
    part = relutope.enumerate_regions(net, relutope.Box(-np.ones(d), np.ones(d)))
    T.decision_complex(part)  # warm-up (imports, the facets' first call)
    batched = T._cells_vertices
    one_by_one = lambda Gs, hs, eps: [T._cell_vertices(G, h, eps) for G, h in zip(Gs, hs)]  # noqa: E731
    times, cxs = {}, {}
    for name, fn in (("one by one", one_by_one), ("batched", batched), ("one by one ", one_by_one),
                     ("batched ", batched)):
        T._cells_vertices = fn
        try:
            t = time.perf_counter()
            cxs[name.strip()] = T.decision_complex(part)
            times[name.strip()] = min(times.get(name.strip(), np.inf), time.perf_counter() - t)
        finally:
            T._cells_vertices = batched
    a, b = cxs["one by one"], cxs["batched"]
    same = (np.array_equal(a.vertices, b.vertices) and a.cells == b.cells and a.faces == b.faces
            and np.array_equal(a.scores, b.scores) and np.array_equal(a.region, b.region))
    print(f"[{d}, {w}, {w}, 2]: {len(part)} regions; decision complex {times['one by one']:.3f} s one by one, "
          f"{times['batched']:.3f} s batched ({times['one by one'] / times['batched']:.2f}x, best of 2 each); "
          f"complexes {'identical' if same else 'DIFFERENT'}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths2", default="8,16,24,32", help="hidden widths for d = 2")
    ap.add_argument("--widths3", default="6,8,10,12", help="hidden widths for d = 3")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-vertices", default=None, metavar="D,W",
                    help="time the regions' vertices batched against one by one on [D, W, W, 2] (and stop)")
    args = ap.parse_args(argv)
    if args.batch_vertices:
        d, w = (int(v) for v in args.batch_vertices.split(","))
        batch_vertices(d, w, args.seed)
        return
    cases = [(2, int(w)) for w in args.widths2.split(",") if w] + [(3, int(w)) for w in args.widths3.split(",") if w]
    head = (f"{'d':>2} {'w':>3} {'regions':>8} {'cells (n_0..n_k)':>26} {'enum s':>8} {'complex s':>9} "
            f"{'betti s':>8} {'pers s':>7} {'us/region':>9} {'us/cell':>8}  beta(f>=0) beta(f<=0) beta(f=0)")
    run(2, 4, args.seed)  # warm-up: the first call imports scipy.spatial, scipy.sparse.csgraph and gudhi
    print(head)
    rows = []
    for d, w in cases:
        r = run(d, w, args.seed)
        rows.append(r)
        print(f"{d:>2} {w:>3} {r['regions']:>8} {str(r['cells']):>26} {r['enumerate']:>8.3f} {r['complex']:>9.3f} "
              f"{r['betti']:>8.3f} {r['persistence']:>7.3f} {1e6 * r['per_region']:>9.0f} {1e6 * r['per_cell']:>8.1f}"
              f"  {r['b_sup']} {r['b_sub']} {r['b_bd']}", flush=True)
    for d in (2, 3):
        rs = [r for r in rows if r["d"] == d]
        if len(rs) >= 2:
            a, b = rs[0], rs[-1]
            print(f"d={d}: {b['regions'] / a['regions']:.1f}x the regions took {b['complex'] / a['complex']:.1f}x "
                  f"the complex time ({b['per_region'] / a['per_region']:.2f}x per region)")


if __name__ == "__main__":
    main()
