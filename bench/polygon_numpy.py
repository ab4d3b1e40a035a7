"""The 2-D fast path's polygon algorithm (cpp/src/polygon2d.cpp) in pure Python and numpy, for bench_slice.py.

Same scheme, step for step: the domain polygon; layer by layer, depth first; each unit's line splits a convex
polygon by the signs of its vertices (relative epsilon 1e-12, Sutherland-Hodgman); a part with 2 A <= tol P is
dropped (inradius <= 2 A / P); at the end of a layer a cell with A <= tol P gets an exact Chebyshev LP; every final
region gets one (its witness and radius). The Chebyshev LP is the same three-variable dual simplex. K > 2 units
clip the cell by each piece's K - 1 half-planes. Vertices carry their edge's line (unit normal, offset).

    python bench/polygon_numpy.py      # cross-check against relutope on the demo net
"""
from __future__ import annotations

import time

import numpy as np

SIDE_EPS = 1e-12


def _split(V: np.ndarray, h: np.ndarray, want_neg: bool = True):
    """Split polygon V (n, 5): x, y, nx, ny, c by h . (x, y, 1): returns (side, pos, neg) like split_polygon."""
    a = h[0] * V[:, 0]
    b = h[1] * V[:, 1]
    s = a + b + h[2]
    eps = SIDE_EPS * (np.abs(a) + np.abs(b) + abs(h[2]))
    cls = np.where(s > eps, 1, np.where(s < -eps, -1, 0))
    if not np.any(cls > 0):
        return -1, None, None
    if not np.any(cls < 0):
        return 1, None, None
    inv = 1.0 / np.hypot(h[0], h[1])
    pn = np.array([-h[0] * inv, -h[1] * inv, h[2] * inv])
    nn = -pn
    n = len(V)
    pos, neg = [], []
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        ci, cj = cls[i], cls[j]
        X = None
        if ci * cj < 0:
            t = s[i] / (s[i] - s[j])
            X = V[i, :2] + t * (V[j, :2] - V[i, :2])
            if h[1] == 0.0:
                X[0] = -h[2] / h[0]
            if h[0] == 0.0:
                X[1] = -h[2] / h[1]
        if ci >= 0:
            pos.append(np.concatenate([V[i, :2], pn]) if (ci == 0 and cj < 0) else V[i])
            if ci > 0 and cj < 0:
                pos.append(np.concatenate([X, pn]))
        elif cj > 0:
            pos.append(np.concatenate([X, V[i, 2:]]))
        if want_neg:
            if ci <= 0:
                neg.append(np.concatenate([V[i, :2], nn]) if (ci == 0 and cj > 0) else V[i])
                if ci < 0 and cj > 0:
                    neg.append(np.concatenate([X, nn]))
            elif cj < 0:
                neg.append(np.concatenate([X, V[i, 2:]]))
    return 0, np.array(pos), (np.array(neg) if want_neg else None)


def _area_perimeter(V: np.ndarray):
    x, y = V[:, 0], V[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    return 0.5 * np.sum(x * yn - y * xn), np.sum(np.hypot(xn - x, yn - y))


def _cross(a, b):
    return a[0] * b[1] - a[1] * b[0]


def chebyshev(V: np.ndarray):
    """Chebyshev disc (centre (2,), radius) of a convex polygon from its edge lines: the 3-variable dual simplex."""
    N, c = V[:, 2:4], V[:, 4]
    n = len(V)
    B = [0, int(np.argmin(N @ N[0])), -1]
    best = -1.0
    for j in range(1, n):
        if j == B[1]:
            continue
        lam = np.array([_cross(N[B[1]], N[j]), _cross(N[j], N[0]), _cross(N[0], N[B[1]])])
        D = lam.sum()
        if abs(D) > 1e-12 and (lam / D).min() > best:
            best, B[2] = (lam / D).min(), j
    if B[2] < 0:
        raise RuntimeError("no dual-feasible start")
    for _ in range(4 * n + 20):
        a, b, e = N[B[0]], N[B[1]], N[B[2]]
        lam = np.array([_cross(b, e), _cross(e, a), _cross(a, b)])
        D = lam.sum()
        r = lam @ c[B] / D
        k = int(np.argmax(np.abs(lam)))
        u, w = [(1, 2), (2, 0), (0, 1)][k]
        nu, nw, det = N[B[u]], N[B[w]], lam[k]
        cu, cw = c[B[u]] - r, c[B[w]] - r
        p = np.array([(cu * nw[1] - cw * nu[1]) / det, (nu[0] * cw - nw[0] * cu) / det])
        np_ = N @ p
        viol = np_ + r - c
        bad = viol > 1e-12 * (np.abs(c) + np.abs(np_) + abs(r))
        if not np.any(bad):
            return p, r
        q = int(np.argmax(np.where(bad, viol, -np.inf)))
        T = N[B]
        area = _cross(T[1] - T[0], T[2] - T[0])
        alpha = np.array([_cross(T[1] - N[q], T[2] - N[q]), _cross(N[q] - T[0], T[2] - T[0]),
                          _cross(T[1] - T[0], N[q] - T[0])]) / area
        lam = lam / area
        ok = alpha > 1e-12
        if not np.any(ok):
            raise RuntimeError("infeasible Chebyshev LP")
        ratio = np.where(ok, np.maximum(lam, 0) / np.where(ok, alpha, 1), np.inf)
        B[int(np.argmin(ratio))] = q
    raise RuntimeError("Chebyshev LP did not converge")


def enumerate_polygons_numpy(net, domain, tol: float):
    """Regions of ``net`` (relutope.Network) on a bounded 2-D ``domain``; returns a dict like the core's."""
    t0 = time.perf_counter()
    form = domain._engine_form()
    layers = net.layers
    L = len(layers)
    split_layers = [i for i, lay in enumerate(layers) if lay.n_pieces.max() >= 2]
    last_split = split_layers[-1] if split_layers else -1
    offsets = np.concatenate([[0], np.cumsum([lay.n_units for lay in layers])])
    # Domain polygon: a square holding every feasible vertex of the rows' arrangement, clipped by the rows.
    A, b = form.A, form.b
    bound = 0.0
    for i in range(len(A)):
        for j in range(i + 1, len(A)):
            M = A[[i, j]]
            if abs(np.linalg.det(M)) > 1e-14 * np.linalg.norm(M[0]) * np.linalg.norm(M[1]):
                x = np.linalg.solve(M, b[[i, j]])
                if np.all(A @ x <= b + 1e-9 * (np.abs(b) + np.linalg.norm(A, axis=1) * np.abs(x).sum())):
                    bound = max(bound, np.abs(x).max())
    B = 2.0 * bound + 1.0
    poly = np.array([[-B, -B, 0, -1, B], [B, -B, 1, 0, B], [B, B, 0, 1, B], [-B, B, -1, 0, B]], dtype=float)
    for a_row, b_i in zip(A, b):
        side, pos, _ = _split(poly, np.array([-a_row[0], -a_row[1], b_i]), want_neg=False)
        if side == 0:
            poly = pos
    F0 = layers[0].A @ np.column_stack([form.Q, form.x0])  # (P, 3): pieces as functions of u
    F0[:, 2] += layers[0].c
    pattern = np.zeros(net.n_units, dtype=np.int8)
    res = {"patterns": [], "centers": [], "radii": [], "polygons": [], "layer_counts": np.zeros(L, np.int64),
           "lps": 0}

    def emit(l, V):
        res["lps"] += 1
        p, r = chebyshev(V)
        if r <= tol:
            return
        res["layer_counts"][l:] += 1
        res["patterns"].append(pattern.copy())
        res["centers"].append(p)
        res["radii"].append(r)
        res["polygons"].append(V[:, :2])

    def thin(V):
        area, per = _area_perimeter(V)
        return not 2 * area > tol * per

    def start_layer(l, V, F):
        lay = layers[l]
        ps = lay.piece_start
        unst = []
        for u in range(lay.n_units):
            K = lay.n_pieces[u]
            pattern[offsets[l] + u] = 0
            if K == 1:
                continue
            if K > 2:
                unst.append(u)
                continue
            h = F[ps[u] + 1] - F[ps[u]]
            if np.hypot(h[0], h[1]) < 1e-14:
                pattern[offsets[l] + u] = 1 if h[2] > 1e-12 else 0
                continue
            s = V[:, 0] * h[0] + V[:, 1] * h[1] + h[2]
            eps = SIDE_EPS * (np.abs(V[:, 0] * h[0]) + np.abs(V[:, 1] * h[1]) + abs(h[2]))
            pos, neg = np.any(s > eps), np.any(s < -eps)
            if pos and neg:
                unst.append(u)
            else:
                pattern[offsets[l] + u] = 1 if pos else 0
        insert(l, unst, 0, V, F)

    def insert(l, unst, idx, V, F):
        if idx == len(unst):
            finish_layer(l, V, F)
            return
        lay = layers[l]
        u = unst[idx]
        gu = offsets[l] + u
        p0 = lay.piece_start[u]
        K = lay.n_pieces[u]
        if K > 2:
            for r in range(K):
                C, empty = V, False
                for s_ in range(K):
                    if s_ == r:
                        continue
                    h = F[p0 + r] - F[p0 + s_]
                    if np.hypot(h[0], h[1]) < 1e-14:
                        if h[2] < -1e-12 or (abs(h[2]) <= 1e-12 and s_ < r):
                            empty = True
                            break
                        continue
                    side, pos, _ = _split(C, h, want_neg=False)
                    if side < 0:
                        empty = True
                        break
                    if side == 0:
                        C = pos
                if not empty and not thin(C):
                    pattern[gu] = r
                    insert(l, unst, idx + 1, C, F)
            return
        side, pos, neg = _split(V, F[p0 + 1] - F[p0])
        if side != 0:
            pattern[gu] = 1 if side > 0 else 0
            insert(l, unst, idx + 1, V, F)
            return
        if not thin(pos):
            pattern[gu] = 1
            insert(l, unst, idx + 1, pos, F)
        if not thin(neg):
            pattern[gu] = 0
            insert(l, unst, idx + 1, neg, F)

    def finish_layer(l, V, F):
        if l >= last_split:
            emit(l, V)
            return
        area, per = _area_perimeter(V)
        if not area > tol * per:
            res["lps"] += 1
            if chebyshev(V)[1] <= tol:
                return
        res["layer_counts"][l] += 1
        lay, nxt = layers[l], layers[l + 1]
        chosen = lay.piece_start[:-1] + pattern[offsets[l]:offsets[l + 1]]
        G = nxt.A @ F[chosen]
        G[:, 2] += nxt.c
        start_layer(l + 1, V, G)

    start_layer(0, poly, F0)
    R = len(res["radii"])
    counts = np.array([len(p) for p in res["polygons"]], dtype=np.int64)
    return {"patterns": np.array(res["patterns"], dtype=np.int8).reshape(R, net.n_units),
            "centers": np.array(res["centers"]).reshape(R, 2), "radii": np.array(res["radii"]),
            "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            "vertices": np.concatenate(res["polygons"]) if R else np.zeros((0, 2)),
            "layer_counts": res["layer_counts"], "lps": res["lps"], "seconds": time.perf_counter() - t0}


if __name__ == "__main__":
    import relutope
    from relutope.demo import demo_network

    net, box = demo_network()
    tol = relutope.default_tol(box)
    out = enumerate_polygons_numpy(net, box, tol)
    part = relutope.enumerate_regions(net, box, method="polygon")
    same = {r.tobytes() for r in out["patterns"]} == {r.tobytes() for r in part.patterns}
    print(f"numpy: {len(out['radii'])} regions in {out['seconds']:.3f} s; core: {len(part)}; same patterns: {same}")
