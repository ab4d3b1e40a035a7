"""One certified branch and bound on the ReLUs (cpp/src/certify_bab.cpp) on an ACAS Xu instance, without the 30 s
limit of bench_verify.py --certify: its wall and CPU seconds and every count it keeps.

    python bench/bench_certify_bab.py 3_3:2 [SECONDS] [OPTION=VALUE ...]

OPTION=VALUE are keyword arguments of ``relutope._core.relu_bab_certify`` (e.g. ``lp_box=False rebound=0`` for
the search before its LP bounding box and re-bound, ``input_depth=12``), so that settings are compared in one run
on the same machine. The case's box and terms are those of ``certify_holds`` (``_outer_box``, ``_term_arrays``).
"""
from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import relutope  # noqa: E402
from relutope import _core, vnnlib  # noqa: E402
from relutope.verdict_certificates import _outer_box, _term_arrays  # noqa: E402

DATA = Path(os.environ.get("RELUTOPE_ACASXU", "/work/shared/data/acasxu"))


def main():
    inst = sys.argv[1] if len(sys.argv) > 1 else "3_3:2"
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
    kw = {}
    for a in sys.argv[3:]:
        key, value = a.split("=", 1)
        kw[key] = ast.literal_eval(value)
    name, p = inst.split(":")
    net = relutope.load_onnx(DATA / "onnx" / f"ACASXU_run2a_{name}_batch_2000.onnx")
    spec = vnnlib.load(DATA / "vnnlib" / f"prop_{p}.vnnlib")
    for case in spec.exact_cases():
        lo, hi = _outer_box(case)
        terms = [(C, d) for C, _, d in _term_arrays(case, net.out_dim)]
        t, c = time.perf_counter(), time.process_time()
        r = _core.relu_bab_certify(net._core(), lo[None], hi[None], terms, time_limit=limit, max_nodes=10**8, **kw)
        counts = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items())
        print(f"{inst} {kw or 'defaults'}: {time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s CPU; "
              f"{counts}", flush=True)


if __name__ == "__main__":
    main()
