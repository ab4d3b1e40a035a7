"""Python set-up of one core call on a box (what ``verify`` pays per box its input splitting leaves open).

    python bench/bench_engine_setup.py [--calls 3000]

``_engine_call`` with a stub core (returns at once) on a 5-input ACAS-Xu-sized box, against the same call with the
set-up as it was before (``Domain._engine_form``'s orthonormality test, the form computed twice, ``min_tol``
twice), emulated by patching those back in. Milliseconds per call and their ratio, measured in one run,
alternating the two in rounds.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import relutope  # noqa: E402
from relutope import enumerate as E  # noqa: E402
from relutope.domains import Box, Domain  # noqa: E402


def stub(*args, **keywords):
    return {"status": "complete", "leaves": 1, "pruned": 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3000)
    args = ap.parse_args()
    net = relutope.Network.random([5, 50, 50, 5], seed=0)
    lo = np.array([-0.3, -0.5, -0.49, 0.3, 0.3])
    hi = lo + np.array([0.01, 0.02, 0.001, 0.03, 0.02])

    def run():
        t = time.perf_counter()
        for _ in range(args.calls):
            E._engine_call(stub, net, Box(lo, hi), tol=None, max_regions=None, time_limit=5.0, progress=False,
                           thin=True, threads=1)
        return (time.perf_counter() - t) / args.calls * 1e3

    generic_frame = Domain._engine_frame

    def old_frame(self, form=None):
        return generic_frame(self)  # the form computed again

    def old_resolve(domain, tol, floor=None):
        return resolve(domain, tol)  # min_tol computed again

    resolve = E._resolve_tol
    new, old = [], []
    for _ in range(3):
        new.append(run())
        with mock.patch.object(Box, "_engine_form", Domain._engine_form), \
                mock.patch.object(Domain, "_engine_frame", old_frame), \
                mock.patch.object(E, "_resolve_tol", old_resolve):
            old.append(run())
    n, o = min(new), min(old)
    print(f"set-up per call: before {o:.3f} ms, now {n:.3f} ms, ratio {o / n:.2f}x (best of 3 rounds each)")


if __name__ == "__main__":
    main()
