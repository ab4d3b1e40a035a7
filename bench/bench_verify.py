"""ACAS Xu verification: relutope against nnenum, instance by instance, in the same run on the same machine.

    python bench/bench_verify.py [--timeout 120] [--no-nnenum] [--extra DIR] [--out results.csv] [--pace-from 0]
    python bench/bench_verify.py --certify [--certify-timeout 300] [--certify-max-boxes 4000] [--only 1_1:2,3_3:2]
        --no-nnenum

The 20 instances of ``shared/data/acasxu`` (networks 1_1, 1_2, 2_1, 3_3, 5_3; VNN-COMP 2021 properties 1-4) are
verified by ``relutope.verify`` (loading timed apart, as VNN-COMP's prepare_instance) and, when nnenum can be
run, by nnenum (Bak, "nnenum: Verification of ReLU Neural Networks with Optimized Abstraction Refinement",
NFM 2021) with its default settings on one process, its own time for ``enumerate_network`` (imports and ONNX
loading excluded). nnenum runs in another interpreter: ``NNENUM_PYTHON`` (default ``/work/venv-verify/bin/python``)
with ``NNENUM_SRC`` (default ``/work/nnenum-src/src``, a checkout of github.com/stanleybak/nnenum's ``src``) on its
path; when it cannot be imported the nnenum column is skipped with a message. Every verdict is checked against
the published one (SOURCES.md of the data). ``--extra DIR`` adds instances ``NET:PROP`` from a folder with
nnenum's example layout (``ACASXU_run2a_N_M_batch_2000.onnx``, ``prop_P.vnnlib``), e.g. 1_9:7 and 4_2:2, the two
VNN-COMP 2021 instances relutope once left unknown. The machine is shared: times are indicative, the ratios are
measured in one run; the CPU seconds of both (process time of the verification call, one thread each) depend less
on the other jobs of a loaded machine than the wall-clock seconds. ``--certify`` proves each verdict after it (relutope.verdict_certificates: an exact rational
counterexample, or, on these ReLU networks, one C++ search per case (cpp/src/certify_bab.cpp): rigorously bounded
input boxes, split at most ``--certify-max-boxes`` times, then a branch and bound on the ReLUs) and prints the
certification's time (and its CPU seconds) beside the verification's, with the leaves it took (``boxes``: leaves with no ReLU sign
imposed, ``nodes``: the others), regions (other networks) and what it leaves pending.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import relutope  # noqa: E402
from relutope import vnnlib  # noqa: E402

DATA = Path(os.environ.get("RELUTOPE_ACASXU", "/work/shared/data/acasxu"))
PUBLISHED = {"1_1": "hhhh", "1_2": "hvhh", "2_1": "hvhh", "3_3": "hhhh", "5_3": "hvhh"}
EXTRA_PUBLISHED = {("1_9", 7): "violated", ("4_2", 2): "holds"}  # VNN-COMP 2021 results

NNENUM_DRIVER = r"""
import json, sys, time
import numpy as np
from nnenum.enumerate import enumerate_network
from nnenum.settings import Settings
from nnenum.onnx_network import load_onnx_network_optimized, load_onnx_network
from nnenum import nnenum as front
onnx, prop, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
Settings.NUM_PROCESSES = 1
Settings.PRINT_OUTPUT = False
spec_list, dtype = front.make_spec(prop, onnx)
try:
    network = load_onnx_network_optimized(onnx)
except Exception:
    network = load_onnx_network(onnx)
(front.set_control_settings if len(spec_list[0][0]) < 700 else front.set_image_settings)()
Settings.PRINT_OUTPUT = False
t, c = time.perf_counter(), time.process_time()
result = "none"
for box, spec in spec_list:
    left = timeout - (time.perf_counter() - t)
    if left <= 0:
        result = "timeout"
        break
    Settings.TIMEOUT = left
    res = enumerate_network(np.array(box, dtype=dtype), network, spec)
    result = res.result_str
    if result != "safe":
        break
word = {"safe": "holds"}.get(result, "violated" if "unsafe" in result else result)
print(json.dumps({"result": word, "seconds": time.perf_counter() - t, "cpu": time.process_time() - c}))
"""


def nnenum_command():
    py = os.environ.get("NNENUM_PYTHON", "/work/venv-verify/bin/python")
    src = os.environ.get("NNENUM_SRC", "/work/nnenum-src/src")
    env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        subprocess.run([py, "-c", "import nnenum.enumerate, swiglpk"], env=env, check=True, capture_output=True,
                       timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"nnenum is not importable with {py} and {src} ({type(exc).__name__}): its column is skipped"
    return (py, env), ""


def run_nnenum(cmd, onnx, prop, timeout):
    py, env = cmd
    try:
        p = subprocess.run([py, "-c", NNENUM_DRIVER, str(onnx), str(prop), str(timeout)], env=env,
                           capture_output=True, text=True, timeout=timeout + 120)
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return {"result": "error", "seconds": float("nan"), "cpu": float("nan")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--no-nnenum", action="store_true")
    ap.add_argument("--extra", type=Path, default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--pace-from", type=int, default=None,
                    help="the input splitting's adaptive budget: boxes before its pace test (0: the fixed budget of "
                         "split_boxes; default relutope._search.PACE_FROM), for A/B runs")
    ap.add_argument("--certify", action="store_true", help="certify every verdict and time it")
    ap.add_argument("--certify-timeout", type=float, default=300.0)
    ap.add_argument("--only", default=None, help="--certify: these instances only (NET:PROP, comma-separated)")
    ap.add_argument("--certify-max-boxes", type=int, default=4000,
                    help="--certify: input splits per case before the search branches on ReLUs only")
    args = ap.parse_args()
    if args.pace_from is not None:
        from relutope import _search

        _search.PACE_FROM = args.pace_from
    if args.certify:
        return certify_main(args)
    instances = []
    for name, verdicts in PUBLISHED.items():
        for p in range(1, 5):
            instances.append((name, p, DATA / "onnx" / f"ACASXU_run2a_{name}_batch_2000.onnx",
                              DATA / "vnnlib" / f"prop_{p}.vnnlib", {"h": "holds", "v": "violated"}[verdicts[p - 1]]))
    if args.extra is not None:
        for (name, p), verdict in EXTRA_PUBLISHED.items():
            onnx, prop = args.extra / f"ACASXU_run2a_{name}_batch_2000.onnx", args.extra / f"prop_{p}.vnnlib"
            if onnx.exists() and prop.exists():
                instances.append((name, p, onnx, prop, verdict))
    cmd, why = (None, "nnenum skipped (--no-nnenum)") if args.no_nnenum else nnenum_command()
    if why:
        print(why)
    rows = []
    header = f"{'instance':>9} {'published':>9} {'relutope':>9} {'prep s':>7} {'verify s':>9} {'cpu s':>7} " \
             f"{'nnenum':>9} {'nnenum s':>9} {'ratio':>7} {'cpu ratio':>9}"
    print(header)
    for name, p, onnx, prop, expected in instances:
        t = time.perf_counter()
        net = relutope.load_onnx(onnx)
        spec = vnnlib.load(prop)
        prep = time.perf_counter() - t
        cpu = time.process_time()
        res = relutope.verify(net, spec, timeout=args.timeout)
        cpu = time.process_time() - cpu
        nn = run_nnenum(cmd, onnx, prop, args.timeout) if cmd else {"result": "-", "seconds": float("nan"),
                                                                     "cpu": float("nan")}
        ratio = nn["seconds"] / res.seconds if cmd else float("nan")
        cpu_ratio = nn.get("cpu", float("nan")) / max(cpu, 1e-9) if cmd else float("nan")
        ok = "" if res.status == expected else "  <-- DISAGREES WITH PUBLISHED"
        print(f"{name + ':' + str(p):>9} {expected:>9} {res.status:>9} {prep:7.3f} {res.seconds:9.3f} {cpu:7.3f} "
              f"{nn['result']:>9} {nn['seconds']:9.3f} {ratio:7.1f} {cpu_ratio:9.1f}{ok}", flush=True)
        rows.append(dict(instance=f"{name}:{p}", published=expected, relutope=res.status, prepare_seconds=prep,
                         verify_seconds=res.seconds, cpu_seconds=cpu, nnenum=nn["result"], nnenum_seconds=nn["seconds"],
                         ratio=ratio, nnenum_cpu_seconds=nn.get("cpu", float("nan")), cpu_ratio=cpu_ratio))
    agree = sum(r["relutope"] == r["published"] for r in rows)
    times = [r["verify_seconds"] for r in rows]
    cpus = [r["cpu_seconds"] for r in rows]
    print(f"\nverdicts agreeing with the published ones: {agree}/{len(rows)}; relutope total {sum(times):.2f} s, "
          f"max {max(times):.2f} s, {sum(t > 5 for t in times)} above 5 s; CPU total {sum(cpus):.2f} s, "
          f"max {max(cpus):.2f} s, {sum(t > 5 for t in cpus)} above 5 s")
    if cmd:
        ratios = [r["ratio"] for r in rows if r["ratio"] == r["ratio"]]
        nn_total = sum(r["nnenum_seconds"] for r in rows)
        print(f"nnenum total {nn_total:.2f} s; ratio nnenum/relutope: total {nn_total / sum(times):.1f}x, "
              f"min {min(ratios):.1f}x, {sum(x >= 10 for x in ratios)}/{len(ratios)} instances >= 10x")
        cr = [r["cpu_ratio"] for r in rows if r["cpu_ratio"] == r["cpu_ratio"]]
        if cr:
            print(f"CPU-time ratio nnenum/relutope: min {min(cr):.1f}x, {sum(x >= 10 for x in cr)}/{len(cr)} >= 10x")
    if args.out:
        with open(args.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


def certify_main(args):
    from relutope.verdict_certificates import certify_verdict

    print(f"{'instance':>9} {'published':>9} {'relutope':>9} {'verify s':>9} {'certified':>9} {'cert s':>8} "
          f"{'cert cpu':>8} {'ratio':>6} {'boxes':>7} {'regions':>7} {'nodes':>7} {'margin':>9}  pending / failures")
    rows = []
    for name, verdicts in PUBLISHED.items():
        for p in range(1, 5):
            expected = {"h": "holds", "v": "violated"}[verdicts[p - 1]]
            if args.only and f"{name}:{p}" not in args.only.split(","):
                continue
            net = relutope.load_onnx(DATA / "onnx" / f"ACASXU_run2a_{name}_batch_2000.onnx")
            spec = vnnlib.load(DATA / "vnnlib" / f"prop_{p}.vnnlib")
            res = relutope.verify(net, spec, timeout=args.timeout)
            if res.status in ("holds", "violated"):
                cpu = time.process_time()
                cert = certify_verdict(net, spec, res, time_limit=args.certify_timeout,
                                       max_boxes=args.certify_max_boxes)
                word, secs, cpu = ("proven" if cert.ok else "FAILED"), cert.seconds, time.process_time() - cpu
                notes = "; ".join(cert.failures + [f"pending: {len(cert.pending)} case(s)"] * bool(cert.pending))
                boxes, regions, nodes, margin = cert.boxes, cert.regions, cert.nodes, cert.min_margin
            else:
                word, secs, cpu, notes, margin = "-", float("nan"), float("nan"), "no verdict", float("nan")
                boxes = regions = nodes = 0
            ok = "" if res.status == expected else "  <-- DISAGREES WITH PUBLISHED"
            print(f"{name + ':' + str(p):>9} {expected:>9} {res.status:>9} {res.seconds:9.3f} {word:>9} {secs:8.2f} "
                  f"{cpu:8.2f} {secs / res.seconds:6.1f} {boxes:7d} {regions:7d} {nodes:7d} {margin:9.2g}  {notes}{ok}",
                  flush=True)
            rows.append(dict(instance=f"{name}:{p}", published=expected, relutope=res.status,
                             verify_seconds=res.seconds, certified=word, certify_seconds=secs,
                             certify_cpu_seconds=cpu, boxes=boxes,
                             regions=regions, nodes=nodes, margin=margin, notes=notes))
    proven = sum(r["certified"] == "proven" and r["relutope"] == r["published"] for r in rows)
    print(f"\nverdicts equal to the published ones and proven: {proven}/{len(rows)}; verify total "
          f"{sum(r['verify_seconds'] for r in rows):.2f} s, certification total "
          f"{sum(r['certify_seconds'] for r in rows if r['certify_seconds'] == r['certify_seconds']):.2f} s, its CPU "
          f"total {sum(c for c in (r['certify_cpu_seconds'] for r in rows) if c == c):.2f} s")
    if args.out:
        with open(args.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
