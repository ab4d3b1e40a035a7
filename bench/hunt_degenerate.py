"""Hunt for wrong answers in the enumeration paths' decision numerics on random degenerate integer nets.

Each net is an integer ReLU net in normalised coordinates t (duplicate units, units equal up to scale, dead units,
hyperplanes through a box vertex or the centre, parallel pairs with a later unit exactly 0 where both are active),
d = 2 .. 6, put at x = off + scale t for scale 1e-6, 1 and 1e6 with off up to 10 scales from the origin. Every
path (method="lp", "polytope" and, for d = 2, "polygon") must give the same patterns, complete and without a
warning; every `--exact-every`-th net (d <= 4, two hidden layers of 2 .. 4 units) is also compared with an exact
brute force over the ReLU sides in rationals of the float64 weights. Prints the counts and every disagreement.

    python bench/hunt_degenerate.py                      # 300 nets x 3 scales, every third brute-forced
    python bench/hunt_degenerate.py --nets 150 --seed 11

Without a finding it only bounds how rare such defects are: on the build before the dead-unit fix (tests/
test_dead_units.py) it found none either, as the cancellations it builds seldom leave composition noise.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from fractions import Fraction

import numpy as np

import relutope
from relutope.exact_lp import chebyshev_radius_exact


def degenerate_layer(rng, n, d):
    """n x d integer weights and biases in [-2, 2] with duplicates, multiples, dead units, hyperplanes through a
    box vertex or the centre, and (often) a parallel pair of units with offsets apart."""
    W = rng.integers(-2, 3, size=(n, d)).astype(float)
    b = rng.integers(-2, 3, size=n).astype(float)
    if n >= 2 and rng.random() < 0.7:  # a parallel pair with offsets apart
        W[1] = W[0] * float(rng.choice([1, 2]))
        b[1] = b[0] * 2 - float(rng.choice([1, -1, 2]))
    for i in range(n):
        r = rng.random()
        if i > 0 and r < 0.2:   # duplicate
            j = rng.integers(0, i)
            W[i], b[i] = W[j], b[j]
        elif i > 0 and r < 0.3:  # same up to scale
            j = rng.integers(0, i)
            c = float(rng.choice([2, -1, -2, 3]))
            W[i], b[i] = c * W[j], c * b[j]
        elif r < 0.4:  # dead unit
            W[i] = 0
            b[i] = float(rng.choice([-1, 0, 1]))
        elif r < 0.55:  # through a box vertex of [-1,1]^d
            v = rng.choice([-1.0, 1.0], size=d)
            b[i] = -W[i] @ v
        elif r < 0.65:  # through the centre
            b[i] = 0.0
    return W, b


def random_net(rng, d, widths):
    """(W, b) per layer in t; a later layer often gets a unit exactly 0 where a parallel pair below is active."""
    layers = []
    ins = d
    for w in widths:
        W, b = degenerate_layer(rng, w, ins)
        if layers and rng.random() < 0.7:  # a unit exactly dead where two parallel units of the layer below are on
            Wp, bp = layers[-1]
            pairs = [(i, j, Wp[j] @ Wp[i] / (Wp[i] @ Wp[i])) for i in range(len(bp)) for j in range(len(bp))
                     if i != j and Wp[i] @ Wp[i] > 0 and np.allclose(Wp[j], (Wp[j] @ Wp[i] / (Wp[i] @ Wp[i])) * Wp[i])
                     and Wp[j] @ Wp[i] > 0]
            if pairs:
                i, j, c = pairs[rng.integers(len(pairs))]
                u = int(rng.integers(w))
                W[u] = 0.0
                W[u, i], W[u, j] = c, -1.0
                b[u] = -(c * bp[i] - bp[j])
        layers.append((W, b))
        ins = w
    layers.append((rng.integers(-1, 2, size=(1, ins)).astype(float), np.zeros(1)))
    return layers


def scaled(layers, scale, off):
    """The net in x = off + scale t."""
    (W1, b1) = layers[0]
    return [(W1 / scale, b1 - W1 @ off / scale)] + layers[1:]


def exact_patterns(net, lo, hi, tol):
    """Every pattern whose region holds a ball of radius > tol, by a depth-first search over the ReLU sides in
    exact rationals of the float64 weights (x coordinates; relutope.exact_lp.chebyshev_radius_exact at every
    node). Tie rule: a unit exactly 0 on the cell is inactive. 'undecided' entries: the enclosure straddles tol."""
    d = net.in_dim
    Fq = lambda v: Fraction(float(v))
    base_A, base_b = [], []
    for j in range(d):
        for sgn, bound in ((1, Fq(hi[j])), (-1, -Fq(lo[j]))):
            e = [Fraction(0)] * d
            e[j] = Fraction(sgn)
            base_A.append(e)
            base_b.append(bound)
    rows = []
    for L in net.layers[:-1]:
        ps = L.piece_start
        W = [[Fq(x) for x in (L.A[ps[u] + 1] - L.A[ps[u]])] for u in range(L.n_units)]
        bb = [Fq(L.c[ps[u] + 1] - L.c[ps[u]]) for u in range(L.n_units)]
        rows.append((W, bb, [int(L.n_pieces[u]) for u in range(L.n_units)]))
    out = []
    import flint
    tq = flint.fmpq(*Fraction(tol).as_integer_ratio())
    def radius(A, b):
        enc = chebyshev_radius_exact(np.array(A, dtype=object), np.array(b, dtype=object))
        return enc
    def rec(l, u, inp, A, b, pat, cur):
        # inp: list of affine functions (grad list, offset) of x: the current layer's inputs
        if l == len(rows):  # the last layer: linear output, no split
            out.append(tuple(pat) + (0,) * net.layers[-1].n_units)
            return
        W, bb, K = rows[l]
        if u == len(W):
            rec(l + 1, 0, cur, A, b, pat, [])
            return
        if K[u] == 1:
            rec(l, u + 1, inp, A, b, pat + [0], cur + [([Fraction(0)] * d, Fraction(0))])
            return
        g = [sum(W[u][i] * inp[i][0][j] for i in range(len(inp))) for j in range(d)]
        o = sum(W[u][i] * inp[i][1] for i in range(len(inp))) + bb[u]
        if all(x == 0 for x in g):
            if o > 0:
                rec(l, u + 1, inp, A, b, pat + [1], cur + [(g, o)])
            else:
                rec(l, u + 1, inp, A, b, pat + [0], cur + [([Fraction(0)] * d, Fraction(0))])
            return
        for side in (1, 0):
            if side == 1:
                A2, b2 = A + [[-x for x in g]], b + [o]          # -g x <= o  i.e. h >= 0
            else:
                A2, b2 = A + [g], b + [-o]                        # g x <= -o  i.e. h <= 0
            enc = radius(A2, b2)
            if enc.lo is not None and enc.lo > tq:
                ok = True
            elif enc.hi is not None and enc.hi <= tq:
                ok = False
            else:
                ok = None
            if ok is None:
                out.append(("undecided", tuple(pat)))
                continue
            if ok:
                zero = ([Fraction(0)] * d, Fraction(0))
                rec(l, u + 1, inp, A2, b2, pat + [side], cur + [(g, o) if side else zero])
    inp0 = []
    for j in range(d):
        e = [Fraction(0)] * d
        e[j] = Fraction(1)
        inp0.append((e, Fraction(0)))
    rec(0, 0, inp0, base_A, base_b, [], [])
    return out


def run(seed, n_nets, exact_every):
    """n_nets random nets at the three scales; every exact_every-th one (d <= 4) tiny and brute-forced."""
    rng = np.random.default_rng(seed)
    bad = []
    nnets = 0
    for t in range(n_nets):
        d = int(rng.integers(2, 7))
        tiny = (t % exact_every == 0) and d <= 4
        widths = [int(rng.integers(2, 5))] * (2 if tiny else int(rng.integers(1, 3)))
        if not tiny:
            widths = [int(rng.integers(3, 7 if d <= 3 else 5)) for _ in widths]
        base = random_net(rng, d, widths)
        for scale in (1e-6, 1.0, 1e6):
            off = scale * rng.uniform(-10, 10, d)
            layers = scaled(base, scale, off)
            net = relutope.Network.from_weights(layers)
            box = relutope.Box(off - scale, off + scale)
            methods = ["lp", "polytope"] + (["polygon"] if d == 2 else [])
            res = {}
            for m in methods:
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    part = relutope.enumerate_regions(net, box, method=m)
                res[m] = (set(map(tuple, part.patterns.tolist())), part.status, [str(x.message)[:100] for x in w])
            nnets += 1
            ref = res["lp"][0]
            for m in methods:
                if res[m][0] != ref or res[m][1] != "complete" or res[m][2]:
                    bad.append(dict(seed=seed, t=t, d=d, scale=scale, widths=widths, kind="paths", method=m,
                                    n={k: len(v[0]) for k, v in res.items()}, status=res[m][1], warn=res[m][2],
                                    diff=[list(x) for x in list(res[m][0] ^ ref)[:4]]))
                    break
            if tiny:
                tol = float(part.tol)
                ex = exact_patterns(net, box.lo, box.hi, tol)
                und = [e for e in ex if e and e[0] == "undecided"]
                exs = set(e for e in ex if not (e and e[0] == "undecided"))
                if exs != ref or und:
                    bad.append(dict(seed=seed, t=t, d=d, scale=scale, widths=widths, kind="exact", n_exact=len(exs),
                                    n_lp=len(ref), undecided=len(und),
                                    only_exact=[list(x) for x in list(exs - ref)[:4]],
                                    only_lp=[list(x) for x in list(ref - exs)[:4]]))
    return nnets, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--exact-every", type=int, default=3)
    args = ap.parse_args()
    t0 = time.time()
    n, bad = run(args.seed, args.nets, args.exact_every)
    print(f"{n} nets (x scales), {len(bad)} disagreements, {time.time() - t0:.1f} s")
    for b in bad:
        print(json.dumps(b))


if __name__ == "__main__":
    main()
