"""Which exact region count of ACAS Xu 1_1 is right? relutope, nnenum (float32, float64) and relu_edge_subdivision
over the property 3 and 4 boxes, every differing region found and proven in exact arithmetic.

    python bench/bench_region_table.py [--cache DIR] [--peer-path DIR] [--props 3 4] [--weights onnx nnet]
                                       [--no-nnenum] [--no-peer] [--cached-only]
                                       [--out bench/results/region_table.txt]

For each weight file (``.onnx``: float32 weights; ``.nnet``: the float64 originals) and each property box,
relutope enumerates the activation regions, and every peer that can be run lists its regions as interior points:

- nnenum (Bak, NFM 2021) in its exact mode, with the weights and the box cast to float32 (as it runs an ONNX file
  of float32 weights) and to float64; it runs in its own interpreter, ``NNENUM_PYTHON`` (default
  ``/work/venv-verify/bin/python``) with ``NNENUM_SRC`` (default ``/work/nnenum-src/src``) on its path, through
  ``bench/nnenum_stars.py``, which saves each star's pattern (its split decisions, and nnenum's own forward pass
  for the units it never split) and its LP's Chebyshev centre. float32 is run on the ``.onnx`` weights only
  (the ``.nnet`` weights are not float32 numbers: casting them would change the network).
- relu_edge_subdivision (Berzins, ICML 2023), the checkout given by ``--peer-path`` (default
  ``/work/venv-polytope/peer/relu_edge_subdivision``), on the CPU in its own precision (float32). It subdivides
  the cube ``[-1, 1]^k``, so the box's affine map ``x = mid + half * u`` is folded into the first layer (the fixed
  input of property 4 into its bias). Its complex gives vertices with sign vectors; a region is a sign vector
  obtained from a vertex by choosing a sign for every hyperplane through it, its interior point the mean of its
  vertices, and its claimed pattern that sign vector.

Peer outputs are cached under ``--cache`` (default ``/work/cache-certtable``); nnenum's exact enumeration takes
minutes per box (tens of minutes on a loaded machine), ``--cached-only`` uses the cached runs and skips the rest.
A peer that cannot be run is skipped with a message. :func:`relutope.compare.compare_regions` then matches every peer's list to relutope's partition and
proves each difference exactly (module docstring of :mod:`relutope.compare`). The table (counts per tool, and for
every differing region its witness, Chebyshev radius and proof) is printed and written to ``--out``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import relutope  # noqa: E402
from relutope import vnnlib  # noqa: E402

DATA = Path(os.environ.get("RELUTOPE_ACASXU", "/work/shared/data/acasxu"))
MODELS = {"onnx": DATA / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx",
          "nnet": DATA / "nnet" / "ACASXU_run2a_1_1_batch_2000.nnet"}
DEFAULT_PEER = "/work/venv-polytope/peer/relu_edge_subdivision"


def load_case(weights: str, prop: int):
    net = relutope.load_onnx(MODELS[weights]) if weights == "onnx" else relutope.load_nnet(MODELS[weights])
    domain = vnnlib.load(DATA / "vnnlib" / f"prop_{prop}.vnnlib").cases[0].domain()
    return net, domain


def mlp_weights(net):
    """(W, b) of every layer of a ReLU MLP (hidden units: the active piece; the last layer: its single piece)."""
    out = []
    for layer in net.layers:
        relu = layer.n_pieces.max() == 2
        out.append((layer.A[1::2] if relu else layer.A, layer.c[1::2] if relu else layer.c))
    return out


def hidden_units(net) -> np.ndarray:
    """Indices (into the pattern) of the units with two pieces: the ReLUs."""
    return np.nonzero(np.concatenate([layer.n_pieces for layer in net.layers]) == 2)[0]


# ----------------------------------------------------------------------------------------------------- nnenum
def nnenum_stars(net, domain, dtype: str, cache: Path, tag: str, cached_only: bool = False):
    """nnenum's stars (the .npz of bench/nnenum_stars.py), or (None, why) when nnenum cannot be run."""
    out = cache / f"nnenum_{tag}_{dtype}.npz"
    if not out.exists() and cached_only:
        return None, f"no cached run ({out}; --cached-only)"
    if not out.exists():
        py = os.environ.get("NNENUM_PYTHON", "/work/venv-verify/bin/python")
        src = os.environ.get("NNENUM_SRC", "/work/nnenum-src/src")
        env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        weights = cache / f"weights_{tag}.npz"
        arrays = {}
        for i, (W, b) in enumerate(mlp_weights(net)):
            arrays[f"W{i}"], arrays[f"b{i}"] = W, b
        np.savez(weights, lo=domain.lo, hi=domain.hi, **arrays)
        try:
            p = subprocess.run([py, str(ROOT / "bench" / "nnenum_stars.py"), str(weights), dtype, str(out)], env=env,
                               capture_output=True, text=True, timeout=3 * 3600)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"nnenum {dtype} not run ({type(exc).__name__}: {exc})"
        (cache / f"nnenum_{tag}_{dtype}.log").write_text(p.stdout + p.stderr)
        if p.returncode != 0 or not out.exists():
            return None, f"nnenum {dtype} failed: {p.stderr.strip().splitlines()[-1:] or p.returncode}"
    data = np.load(out)
    if str(data["result"]) == "error":
        return None, (f"nnenum {dtype} stopped with result 'error' after {len(data['points'])} stars (log: "
                      f"{cache / f'nnenum_{tag}_{dtype}.log'})")
    return data, ""


# ------------------------------------------------------------------------------------- relu_edge_subdivision
def peer_regions(net, domain, peer_path, cache: Path, tag: str):
    """relu_edge_subdivision's regions: (data with patterns (R, n_hidden) int8, points (R, d), n_vertices (R,),
    seconds) or (None, why)."""
    out = cache / f"peer_{tag}.npz"
    if out.exists():
        return np.load(out), ""
    if not peer_path or not (Path(peer_path) / "edge_subdivision.py").is_file():
        return None, f"relu_edge_subdivision skipped (no checkout at {peer_path!r}; pass --peer-path)"
    try:
        import torch
    except ImportError as exc:
        return None, f"relu_edge_subdivision skipped (torch: {exc})"
    sys.path.insert(0, str(peer_path))
    try:
        from NN import Net  # the peer's own modules
        from edge_subdivision import skeletal_subdivision
    except ImportError as exc:
        return None, f"relu_edge_subdivision skipped ({exc})"
    finally:
        sys.path.remove(str(peer_path))
    torch.set_num_threads(1)
    free = domain.free
    mid = (domain.lo + domain.hi) / 2.0
    half = (domain.hi - domain.lo)[free] / 2.0
    layers = mlp_weights(net)[:-1]  # hidden layers only: the output layer does not cut regions
    f = Net(ks=[len(free)] + [W.shape[0] for W, _ in layers])
    with torch.no_grad():
        for i, (fc, (W, b)) in enumerate(zip(f.fcs, layers)):
            if i == 0:  # x = mid + half * u on the free inputs
                W, b = W[:, free] * half, b + W @ mid
            fc.weight.copy_(torch.from_numpy(np.array(W)))
            fc.bias.copy_(torch.from_numpy(np.array(b)))
    t = time.perf_counter()
    with torch.no_grad():
        vs, _, v_sv = skeletal_subdivision(f, bbox=(-1, 1), device="cpu", verbose=False)
    seconds = time.perf_counter() - t
    k = len(free)
    V = vs.numpy().astype(np.float64)
    S = v_sv.numpy()[:, 2 * k:]  # the neurons' signs (-1, 0, +1); the first 2k entries are the cube's faces
    pats, pts, counts = _regions_from_vertices(V, S)
    x = np.repeat(mid[None, :], len(pts), axis=0)
    x[:, free] = mid[free] + half * pts
    np.savez(out, patterns=pats, points=x, n_vertices=counts, seconds=seconds, n_vertices_total=len(V))
    return np.load(out), ""


def _regions_from_vertices(V: np.ndarray, S: np.ndarray):
    """Regions of a complex given by its vertices V (n, k) and their sign vectors S (n, N) in {-1, 0, 1}: every
    choice of signs for the zeros of a vertex (the hyperplanes through it) names a region it is a vertex of.
    Returns (patterns (R, N) int8 with 1 = positive side, mean vertex (R, k), vertex count (R,))."""
    n, N = S.shape
    rng = np.random.default_rng(12345)
    keys = rng.integers(0, 2 ** 63, size=(2, N), dtype=np.int64).astype(np.uint64)  # two 64-bit hashes
    base = np.stack([(keys[j][None, :] * (S > 0)).sum(axis=1, dtype=np.uint64) for j in range(2)], axis=1)
    zeros = S == 0
    m = zeros.sum(axis=1)
    rows_h, rows_v, rows_c = [], [], []
    for mm in np.unique(m):
        sel = np.nonzero(m == mm)[0]
        zpos = np.nonzero(zeros[sel])[1].reshape(len(sel), mm)
        combos = ((np.arange(2 ** mm)[:, None] >> np.arange(mm)[None, :]) & 1).astype(bool)  # (2^m, m)
        for c in combos:
            add = np.stack([(keys[j][zpos] * c[None, :]).sum(axis=1, dtype=np.uint64) for j in range(2)], axis=1)
            rows_h.append(base[sel] + add)
            rows_v.append(sel)
            rows_c.append(np.broadcast_to(c, (len(sel), mm)) if mm else np.zeros((len(sel), 0), bool))
    H = np.concatenate(rows_h)
    vert = np.concatenate(rows_v)
    _, first, inv, counts = np.unique(H.view(np.dtype((np.void, 16))).ravel(), return_index=True,
                                      return_inverse=True, return_counts=True)
    R = len(first)
    sums = np.zeros((R, V.shape[1]))
    np.add.at(sums, inv, V[vert])
    pats = (S[vert[first]] > 0).astype(np.int8)
    # the representative's own choice of signs for its zeros
    offs = np.cumsum([0] + [len(r) for r in rows_v])
    for r, i in enumerate(first):
        blk = np.searchsorted(offs, i, side="right") - 1
        c = rows_c[blk][i - offs[blk]]
        z = np.nonzero(S[vert[i]] == 0)[0]
        pats[r, z] = c
    return pats, sums / counts[:, None], counts


# ------------------------------------------------------------------------------------------------------ table
def _witness_str(w) -> str:
    return "-" if w is None else "[" + ", ".join(f"{v:.17g}" for v in w) + "]"


def _radius_str(d) -> str:
    if d.radius_bounds is not None:
        lo, hi = (float(v) for v in d.radius_bounds)
        return f"{lo:.6g}" if lo == hi else f"[{lo:.6g}, {hi:.6g}]"
    return f"{d.radius:.6g}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("RELUTOPE_CERTTABLE_CACHE",
                                                                       "/work/cache-certtable")))
    ap.add_argument("--peer-path", default=os.environ.get("RELU_EDGE_SUBDIVISION_PATH", DEFAULT_PEER))
    ap.add_argument("--props", type=int, nargs="+", default=[3, 4])
    ap.add_argument("--weights", nargs="+", default=["onnx", "nnet"], choices=sorted(MODELS))
    ap.add_argument("--no-nnenum", action="store_true")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--cached-only", action="store_true", help="use cached nnenum runs only; run none")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "region_table.txt")
    args = ap.parse_args(argv)
    from relutope.compare import compare_regions

    args.cache.mkdir(parents=True, exist_ok=True)
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    say("# python bench/bench_region_table.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    say(f"# {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; ACAS Xu 1_1; peer outputs cached in {args.cache}")
    summary, details = [], []
    for weights in args.weights:
        for prop in args.props:
            net, domain = load_case(weights, prop)
            tag = f"{weights}_p{prop}"
            t = time.perf_counter()
            part = relutope.enumerate_regions(net, domain)
            enum_s = time.perf_counter() - t
            hid = hidden_units(net)
            tools, times = [], {"relutope": enum_s}
            if not args.no_nnenum:
                for dtype in ("float32", "float64"):
                    if dtype == "float32" and weights != "onnx":
                        tools.append((f"nnenum {dtype}", None, None,
                                      "not run: the .nnet weights are not float32 numbers"))
                        continue
                    data, why = nnenum_stars(net, domain, dtype, args.cache, tag, args.cached_only)
                    if data is None:
                        tools.append((f"nnenum {dtype}", None, None, why))
                        continue
                    pts = data["points"]
                    ok = np.isfinite(pts).all(axis=1)
                    if not ok.all():  # a star whose Chebyshev LP failed: no point to prove anything with
                        say(f"{tag}: nnenum {dtype}: {int((~ok).sum())} of {len(pts)} stars have no interior "
                            f"point (their Chebyshev LP failed); left out of the comparison")
                    P = np.zeros((len(pts), net.n_units), np.int8)
                    P[:, hid] = data["patterns"]
                    tools.append((f"nnenum {dtype}", pts[ok], P[ok], ""))
                    times[f"nnenum {dtype}"] = float(data["seconds"])
            if not args.no_peer:
                data, why = peer_regions(net, domain, args.peer_path, args.cache, tag)
                if data is None:
                    tools.append(("relu_edge_subdivision", None, None, why))
                else:
                    P = np.zeros((len(data["patterns"]), net.n_units), np.int8)
                    P[:, hid] = data["patterns"]
                    tools.append(("relu_edge_subdivision", data["points"], P, ""))
                    times["relu_edge_subdivision"] = float(data["seconds"])
            row = {"case": f"{weights} prop {prop}", "relutope": len(part), "enum_s": enum_s}
            proven, thin = set(), set()
            for name, points, patterns, why in tools:
                if points is None:
                    row[name] = "-"
                    say(f"{tag}: {name} skipped: {why}")
                    continue
                t = time.perf_counter()
                res = compare_regions(part, points, patterns)
                row[name] = len(points)
                row["certified"] = res.n_certified
                for d in res.differences:
                    if d.region < 0 and d.exists:
                        proven.add(d.pattern.tobytes())
                    if d.region < 0 and d.verdict == "thin":
                        thin.add(d.pattern.tobytes())
                details.append((tag, name, res, time.perf_counter() - t))
            row["proven"] = row.get("certified", 0) + len(proven)
            row["times"] = times
            row["thin"] = len(thin)
            summary.append(row)
    names = ["nnenum float32", "nnenum float64", "relu_edge_subdivision"]
    say()
    say(f"{'weights, box':>16} | {'relutope':>8} {'certified':>9} | " + " ".join(f"{n:>21}" for n in names) +
        f" | {'proven':>7} {'thin':>5}")
    for row in summary:
        say(f"{row['case']:>16} | {row['relutope']:>8} {row.get('certified', '-'):>9} | " +
            " ".join(f"{row.get(n, '-'):>21}" for n in names) + f" | {row['proven']:>7} {row['thin']:>5}")
    say()
    say("enumeration seconds (this run for relutope; the cached peer runs' own times, on the shared machine):")
    for row in summary:
        say(f"  {row['case']}: " + ", ".join(f"{k} {v:.1f} s" for k, v in row["times"].items()))
    say()
    say("proven: regions proven to exist (an exact witness) among those any tool lists; thin: listed by a peer, "
        "not by relutope, exact inradius <= relutope's tol")
    for tag, name, res, secs in details:
        say()
        say(f"== {tag} vs {name}: {res.n_other} entries, {res.n_matched} of relutope's {res.n_regions} regions "
            f"matched, {len(res.differences)} differences, {res.outside.size} points outside the box, "
            f"{res.unproven.size} points not in their own claimed region (compared in {secs:.1f} s)")
        for d in res.differences:
            who = f"relutope region {d.region}" if d.region >= 0 else "not in relutope"
            say(f"  {d.kind:9} {d.verdict:9} proof={d.proof:18} radius={_radius_str(d):>12} {who}; {name} "
                f"entries {list(d.other)[:4]}")
            say(f"            witness {_witness_str(d.witness)}")
            say(f"            {d.note}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
