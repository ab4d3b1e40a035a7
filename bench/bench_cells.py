"""CPU seconds of relutope.verify on the ACAS Xu instances whose exact enumeration costs most (issue 15), for this
tree and a baseline build, alternating, in one run:

    python bench/bench_cells.py --baseline /path/to/other/python [--only 4_2:2,3_3:2,1_1:3,1_1:3@1] [--rounds 3]

Each instance ``NET:PROP`` (``@B``: with ``split_boxes=B``) runs in a fresh interpreter per tree and round
(``time.process_time()`` of one ``verify`` call, one thread, loading excluded), the trees alternating so that a
change of the machine's load falls on both. Also printed, from this tree's runs: the verdict, split boxes, open
boxes, cells pruned (of them by their parent's bounds) and regions, which a change of speed alone must leave equal
(the baseline's are checked against them). Networks and properties: ``shared/data/acasxu`` or nnenum's examples.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/data/acasxu")
EXTRA = Path("/work/nnenum-src/examples/acasxu/data")

ONE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import relutope
onnx, prop, sb = sys.argv[2], sys.argv[3], int(sys.argv[4])
net = relutope.load_onnx(onnx)
kw = {} if sb < 0 else {"split_boxes": sb}
c = time.process_time()
r = relutope.verify(net, prop, timeout=120, **kw)
cpu = time.process_time() - c
print(json.dumps({"cpu": cpu, "counts": [r.status, sum(x.get("boxes", 0) for x in r.cases),
      sum(x.get("open_boxes", 0) for x in r.cases), r.pruned, sum(x.get("parent_pruned", 0) for x in r.cases), r.regions]}))
"""


def paths(inst):
    net, prop = inst.split(":")
    onnx, vnn = DATA / "onnx" / f"ACASXU_run2a_{net}_batch_2000.onnx", DATA / "vnnlib" / f"prop_{prop}.vnnlib"
    if not onnx.exists():
        onnx, vnn = EXTRA / f"ACASXU_run2a_{net}_batch_2000.onnx", EXTRA / f"prop_{prop}.vnnlib"
    return str(onnx), str(vnn)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="the baseline's python folder (holding relutope/)")
    ap.add_argument("--only", default="4_2:2,3_3:2,1_1:3,1_1:3@1")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    trees = {"base": a.baseline, "new": str(ROOT / "python")}
    print(f"{'instance':10} {'base s':>20} {'new s':>20} {'new/base':>8}  counts (status boxes open pruned parent regions)")
    for spec in a.only.split(","):
        inst, sb = (spec.split("@") + ["-1"])[:2]
        onnx, vnn = paths(inst)
        cpu, counts = {t: [] for t in trees}, {}
        for _ in range(a.rounds):
            for t, py in trees.items():
                out = subprocess.run([sys.executable, "-c", ONE, py, onnx, vnn, sb], capture_output=True, text=True,
                                     check=True).stdout
                res = json.loads(out.strip().splitlines()[-1])
                cpu[t].append(res["cpu"])
                counts.setdefault(t, res["counts"])
        med = {t: statistics.median(v) for t, v in cpu.items()}
        same = "" if counts["base"] == counts["new"] else f"  DIFFERENT from base {counts['base']}"
        print(f"{spec:10} {' '.join(f'{x:.3f}' for x in cpu['base']):>20} {' '.join(f'{x:.3f}' for x in cpu['new']):>20}"
              f" {med['new'] / med['base']:8.3f}  {counts['new']}{same}", flush=True)


if __name__ == "__main__":
    main()
