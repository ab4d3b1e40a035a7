"""Certified facets and adjacency: counts and time against the float facets and adjacency, in one run.

    python bench/bench_certified_facets.py [--acas-regions 20] [--seed 0]

1. Degenerate nets (three lines through one point, duplicate units, hyperplanes through box vertices, units
   differing in the last bit): the enumerator's regions against an exact brute force over every sign pattern (a
   pattern is a region iff its exact H-representation, :func:`relutope.certified_facets.exact_region_halfspaces`, has a
   positive exact inradius, :func:`relutope.exact_lp.chebyshev_radius_exact`), and ``check_complete(certify=True)``.
2. Random nets on boxes: ``check_complete(certify=True)`` (witnesses, every row decided exactly, every interior
   facet covered) against the float ``facets()`` + ``adjacency()`` + ``check_complete()``; counts of proven
   facets, redundant rows, failures and findings (float decisions the exact ones contradict).
3. ACAS Xu 1_1 over the property 3 box: :func:`certify_facets` on a random sample of regions (a full run is
   out of reach in exact arithmetic: ~300 rows per region), time per region and counts.

The machine is shared: times are indicative; the ratios are measured in one run.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import relutope  # noqa: E402
from relutope import Box, Network  # noqa: E402
from relutope.certified_facets import certify_facets, exact_region_halfspaces  # noqa: E402
from relutope.exact_lp import chebyshev_radius_exact  # noqa: E402

DATA = ROOT / "tests" / "data" / "acasxu"

UP = float(np.nextafter(1.0, 2.0))
DEGENERATE = {
    "3 lines through 1 point (2-D)": ([(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -2.0]]), -np.array([0.25, -0.25, 1.25])),
                                       (np.array([[1.0, -1.0, 0.5]]), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))],
                                      [-1.0, -1.0], [1.0, 1.0]),
    "duplicates, box vertices (2-D)": ([(np.array([[1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [0.5, 1.0]]),
                                         np.array([0.0, 0.0, -2.0, 0.25])), (np.ones((1, 4)), np.zeros(1))],
                                       [-1.0, -1.0], [1.0, 1.0]),
    "planes through 1 point (3-D)": ([(np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 1.0, 0], [1.0, 1, 1], [1.0, 1.0, 0]]),
                                       np.array([0.0, 0, 0, 0, -2])), (np.ones((1, 5)), np.zeros(1))],
                                     [-0.5, -0.5, -1.0], [1.0, 1.0, 1.0]),
    "last-bit twins (2-D)": ([(np.array([[1.0, 1.0], [1.0, UP]]), np.array([-0.5, -0.5])), (np.ones((1, 2)), np.zeros(1))],
                             [-1.0, -1.0], [1.0, 1.0]),
}


def exact_brute_force(net: Network, domain) -> dict:
    """{pattern: exact inradius enclosure} over every ReLU sign pattern with a positive exact inradius."""
    hidden = net.n_units - net.out_dim
    out = {}
    for head in itertools.product((0, 1), repeat=hidden):
        pat = np.array(list(head) + [0] * net.out_dim, dtype=np.int8)
        H = exact_region_halfspaces(net, domain, pat)
        const = ~np.array([any(a) for a in H.A], dtype=bool)
        # a unit identically 0 (a tie) takes the lowest piece: piece 1 over a constant row 0 <= 0 is impossible
        if np.any(const & (H.piece == 0) & (H.unit >= 0) & np.array([v == 0 for v in H.b])):
            continue
        enc = chebyshev_radius_exact(H.A, H.b)
        if enc.positive:
            out[tuple(int(v) for v in pat)] = enc
    return out


def degenerate_section() -> None:
    print("1. degenerate nets: enumerator vs exact brute force over all sign patterns")
    print(f"{'net':34s} {'brute':>5s} {'enum':>5s} {'missing (exact radius < tol)':>30s} {'certified':>9s} "
          f"{'facets':>6s} {'redund.':>7s} {'edges':>5s} {'gaps':>4s}")
    for name, (weights, lo, hi) in DEGENERATE.items():
        net = Network.from_weights(weights)
        box = Box(lo, hi)
        brute = exact_brute_force(net, box)
        part = relutope.enumerate_regions(net, box)
        got = {tuple(int(v) for v in p) for p in part.patterns}
        assert got <= set(brute), "the enumerator listed a pattern the exact brute force rules out"
        missing = sorted(set(brute) - got)
        radii = ", ".join(f"{float(brute[p].hi):.1e}" for p in missing) or "-"
        rep = part.check_complete(certify=True)
        fac, adj = rep.certificate["facets"], rep.certificate["adjacency"]
        print(f"{name:34s} {len(brute):5d} {len(part):5d} {radii:>30s} {str(rep.ok):>9s} {fac.n_facets:6d} "
              f"{fac.n_redundant:7d} {len(adj.edges):5d} {len(adj.gaps):4d}")


def random_section(seed: int) -> None:
    print("\n2. random nets on boxes: certified check against the float facets + adjacency + check")
    print(f"{'net':18s} {'regions':>7s} {'rows':>6s} {'facets':>6s} {'redund.':>7s} {'failed':>6s} {'findings':>8s} "
          f"{'by point/box/bbox/facets/lp':>28s} {'covered':>7s} {'float s':>8s} {'exact s':>8s} {'ratio':>6s}")
    for arch in ([2, 8, 8, 1], [2, 16, 16, 1], [3, 8, 8, 1], [4, 8, 8, 1]):
        d = arch[0]
        net = Network.random(arch, seed=seed)
        box = Box(-np.ones(d) * 0.5 + 0.25, np.ones(d) * 1.5)
        part = relutope.enumerate_regions(net, box)
        t = time.perf_counter()
        part.facets()
        part.adjacency()
        float_ok = part.check_complete().ok
        t_float = time.perf_counter() - t
        t = time.perf_counter()
        rep = part.check_complete(certify=True)
        t_exact = time.perf_counter() - t
        fac, adj = rep.certificate["facets"], rep.certificate["adjacency"]
        m = fac.by_method
        methods = "/".join(str(m.get(k, 0)) for k in ("point", "box", "bbox", "facets", "lp"))
        print(f"{str(arch):18s} {len(part):7d} {fac.n_rows:6d} {fac.n_facets:6d} {fac.n_redundant:7d} "
              f"{fac.n_failed:6d} {len(fac.findings):8d} {methods:>28s} {adj.n_covered:7d} {t_float:8.3f} "
              f"{t_exact:8.2f} {t_exact / t_float:6.0f}")
        assert rep.ok == float_ok


def acas_section(n: int, seed: int) -> None:
    model = DATA / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx"
    if not model.exists():
        print(f"\n3. ACAS Xu: {model} not found, skipped")
        return
    net = relutope.load_onnx(model)
    spec = relutope.vnnlib.load(DATA / "vnnlib" / "prop_3.vnnlib")
    domain = spec.cases[0].domain()
    t = time.perf_counter()
    part = relutope.enumerate_regions(net, domain)
    t_enum = time.perf_counter() - t
    t = time.perf_counter()
    fl = part.facets()
    t_facets = time.perf_counter() - t
    sample = np.sort(np.random.default_rng(seed).choice(len(part), size=min(n, len(part)), replace=False))
    t = time.perf_counter()
    cert = certify_facets(part, sample)
    t_cert = time.perf_counter() - t
    m = cert.by_method
    print(f"\n3. ACAS Xu 1_1, property 3 box: {len(part)} regions enumerated in {t_enum:.1f} s, float facets of all "
          f"in {t_facets:.1f} s ({t_facets / len(part) * 1e3:.3f} ms per region)")
    print(f"   certify_facets on {len(sample)} sampled regions: {cert.n_rows} rows, {cert.n_facets} facets proven "
          f"(float facets of these regions: {int(fl.counts()[sample].sum())}), {cert.n_redundant} redundant, "
          f"{cert.n_failed} failed, {len(cert.findings)} findings; by point/box/bbox/facets/lp "
          f"{m.get('point', 0)}/{m.get('box', 0)}/{m.get('bbox', 0)}/{m.get('facets', 0)}/{m.get('lp', 0)}; "
          f"{t_cert / len(sample):.2f} s per region ({t_cert / len(sample) / (t_facets / len(part)):.0f}x the float "
          f"facets)")
    for f in cert.findings[:10]:
        print("   finding:", f)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acas-regions", type=int, default=20, help="ACAS Xu regions to certify (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    degenerate_section()
    random_section(args.seed)
    if args.acas_regions > 0:
        acas_section(args.acas_regions, args.seed)


if __name__ == "__main__":
    main()
