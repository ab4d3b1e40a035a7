"""Hunt for wrong verdicts of check_complete(certify=True) on random degenerate nets, against an exact brute force.

The certified closure claims that no activation region, however thin, is missing. So on every net its verdict
must be ``ok`` exactly when the float partition's patterns are all the exact regions (the brute force of
tests/test_certified_closure.py: exact rationals of the float64 weights, every branch kept iff its exact inradius
is positive): ``ok`` with a region missing is unsound, a gap on an exactly complete partition is a false alarm.

Nets: the integer ReLU nets of bench/hunt_degenerate.py (duplicate units, multiples, dead units, hyperplanes
through box vertices, parallel pairs with a later unit exactly 0), d = 2, 3, two hidden layers of 2 .. 4 units,
and maxout nets of the same first layer and a second layer of maxout units with equal pieces (duplicated rows,
pieces equal on a cell), each put at x = off + scale t: scale 1e-6, 1, 1e6 with off up to 10 scales from the
origin (the rounding of W1 / scale leaves exact slivers), and scale 2^-20, 1, 2^20 with dyadic off (exact).

    python bench/hunt_certified_closure.py                  # 40 nets x 6 placements
    python bench/hunt_certified_closure.py --nets 100 --seed 3

Prints per kind: nets, exactly complete, certified ok, false alarms, unsound verdicts, float patterns that are no
exact region (extra: the certificate must refuse them too), and every such net.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python"), str(ROOT / "tests"), str(ROOT / "bench")]

import relutope  # noqa: E402
from hunt_degenerate import degenerate_layer, random_net  # noqa: E402
from test_certified_closure import exact_regions  # noqa: E402


def maxout_net(rng, d, n1, n2, k):
    """A degenerate ReLU layer, then n2 maxout units of k pieces, often two equal pieces or a piece equal to
    another on the cell where two parallel units below are active; a linear output."""
    W1, b1 = degenerate_layer(rng, n1, d)
    Wm = rng.integers(-2, 3, size=(n2 * k, n1)).astype(float)
    bm = rng.integers(-2, 3, size=n2 * k).astype(float)
    for u in range(n2):
        r0 = u * k
        if rng.random() < 0.5:          # two equal pieces
            i, j = rng.choice(k, 2, replace=False)
            Wm[r0 + j], bm[r0 + j] = Wm[r0 + i], bm[r0 + i]
        if rng.random() < 0.3:          # a zero piece next to one that is 0 on a cell
            Wm[r0], bm[r0] = 0.0, 0.0
    return [("affine", W1, b1), ("maxout", Wm, bm, k), ("out", rng.integers(-1, 2, size=(1, n2)).astype(float))]


def build(spec, scale, off):
    """The network in x = off + scale t."""
    layers = []
    for item in spec:
        if item[0] == "affine":
            _, W, b = item
            layers.append(relutope.Layer.affine(W / scale, b - W @ off / scale))
        elif item[0] == "relu":
            layers.append(relutope.Layer.affine(item[1], item[2]))
        elif item[0] == "maxout":
            layers.append(relutope.Layer.maxout(item[1], item[2], item[3]))
        else:
            layers.append(relutope.Layer.affine(item[1], np.zeros(item[1].shape[0]), "identity"))
    return relutope.Network(layers)


def relu_spec(rng, d):
    layers = random_net(rng, d, [int(rng.integers(2, 5))] * 2)
    (W1, b1), rest = layers[0], layers[1:]
    return [("affine", W1, b1)] + [("relu", W, b) for W, b in rest[:-1]] + [("out", rest[-1][0])]


def placements(rng, d):
    for scale in (1e-6, 1.0, 1e6):
        yield "rounded", scale, scale * rng.uniform(-10, 10, d)
    for e in (-20, 0, 20):
        scale = 2.0 ** e
        yield "dyadic", scale, scale * rng.integers(-40, 41, d) / 4.0


def run(seed, n_nets):
    rng = np.random.default_rng(seed)
    counts, bad = {}, []
    for t in range(n_nets):
        d = int(rng.integers(2, 4))
        kind = "maxout" if t % 2 else "relu"
        spec = (maxout_net(rng, d, int(rng.integers(2, 5)), int(rng.integers(1, 3)), int(rng.integers(2, 4)))
                if kind == "maxout" else relu_spec(rng, d))
        for place, scale, off in placements(rng, d):
            net = build(spec, scale, off)
            box = relutope.Box(off - scale, off + scale)
            part = relutope.enumerate_regions(net, box, method="lp")
            got = {tuple(int(v) for v in p) for p in part.patterns}
            exact = set(exact_regions(net, box.lo, box.hi))
            rep = part.check_complete(certify=True)
            c = counts.setdefault(f"{kind}/{place}", dict(nets=0, exact=0, ok=0, false_alarm=0, unsound=0,
                                                           extra=0))
            c["nets"] += 1
            c["exact"] += got == exact
            c["ok"] += bool(rep.ok)
            c["extra"] += bool(got - exact)
            if rep.ok != (got == exact) or got - exact:
                what = "unsound" if rep.ok else ("false_alarm" if got == exact else "extra")
                c[what] += what != "extra"
                bad.append(dict(seed=seed, t=t, kind=kind, place=place, d=d, scale=scale, what=what,
                                n_float=len(got), n_exact=len(exact), gaps=rep.gaps[:6], off=off.tolist(),
                                extra=[list(x) for x in sorted(got - exact)[:3]],
                                mismatches=rep.mismatches[:6]))
    return counts, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.time()
    counts, bad = run(args.seed, args.nets)
    print(f"{'kind':16s} {'nets':>5s} {'exact':>6s} {'ok':>5s} {'false alarm':>11s} {'unsound':>7s} "
          f"{'extra':>5s}   ({time.time() - t0:.0f} s)")
    for k, c in sorted(counts.items()):
        print(f"{k:16s} {c['nets']:5d} {c['exact']:6d} {c['ok']:5d} {c['false_alarm']:11d} {c['unsound']:7d} "
              f"{c['extra']:5d}")
    for b in bad:
        print(json.dumps(b, default=str))


if __name__ == "__main__":
    main()
