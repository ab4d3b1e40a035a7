"""The verification policy on the VNN-COMP 2021 ACAS Xu benchmark: several settings of ``relutope.verify``, one run.

    python bench/bench_verify_policy.py --data DIR [--configs "split_boxes=256" "split_boxes=1"] [--timeout 60]
        [--nets 1_1,2_1] [--props 1,2] [--seeds 1] [--out results.csv]

``DIR`` holds the benchmark's 45 networks and 10 properties in nnenum's example layout
(``ACASXU_run2a_N_M_batch_2000.onnx``, ``prop_P.vnnlib``: github.com/stanleybak/nnenum, examples/acasxu/data;
the same files as github.com/stanleybak/vnncomp2021, benchmarks/acasxu). The instances are the competition's 186:
properties 1-4 on every network, then 5 and 6 on 1_1, 7 on 1_9, 8 on 2_9, 9 on 3_3 and 10 on 4_5 (its
instances.csv). Each configuration is a set of keyword arguments of ``relutope.verify`` (``key=value`` pairs,
comma-separated; values are read as Python literals); a key ``module.NAME`` sets the module-level constant ``NAME``
of ``relutope.module`` for that configuration's runs (e.g. ``_search.PACE_FROM=32``: the policy's knobs, for A/B
runs). Every instance runs under every configuration, interleaved
(instance by instance, so that the machine's load falls on all of them alike), after one warm-up call per network;
with ``--seeds S`` every violated-prone run is repeated with seeds 0..S-1 (the counterexample search is random).

Printed: per instance, each configuration's verdict and CPU seconds (``time.process_time``, one thread: the
machine is shared), and the ratio of each configuration to the first; then totals, the worst ratios and the
instances whose verdicts differ between configurations (a verdict may only differ by ``unknown``, from a
timeout: two definite verdicts that differ are a bug and are flagged). Where ``SOURCES.md`` of the project's
shared data publishes a verdict (networks 1_1, 1_2, 2_1, 3_3, 5_3, properties 1-4), it is checked too.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import importlib
import sys
import time
from pathlib import Path

import relutope
from relutope import vnnlib

PUBLISHED = {"1_1": "hhhh", "1_2": "hvhh", "2_1": "hvhh", "3_3": "hhhh", "5_3": "hvhh"}
EXTRA = [("1_1", 5), ("1_1", 6), ("1_9", 7), ("2_9", 8), ("3_3", 9), ("4_5", 10)]


def parse_config(text: str) -> dict:
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, _, value = item.partition("=")
        if not _:
            raise SystemExit(f"--configs: {item!r} is not key=value")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


@contextlib.contextmanager
def knobs(cfg: dict):
    """Set the ``module.NAME`` constants of ``cfg`` in relutope's modules, and restore them after."""
    saved = []
    try:
        for key, value in cfg.items():
            if "." in key:
                mod, name = key.rsplit(".", 1)
                module = importlib.import_module(f"relutope.{mod}")
                if not hasattr(module, name):
                    raise SystemExit(f"--configs: relutope.{mod} has no {name}")
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, value)
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--configs", nargs="+", default=["split_boxes=256", "split_boxes=1"])
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--nets", default=None, help="only these networks (comma-separated, e.g. 1_1,2_9)")
    ap.add_argument("--props", default=None, help="only these properties (comma-separated)")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    configs = [parse_config(c) for c in args.configs]
    nets = [f"{a}_{b}" for a in range(1, 6) for b in range(1, 10)]
    instances = [(n, p) for n in nets for p in range(1, 5)] + EXTRA
    if args.nets:
        keep = set(args.nets.split(","))
        instances = [i for i in instances if i[0] in keep]
    if args.props:
        keep = {int(p) for p in args.props.split(",")}
        instances = [i for i in instances if i[1] in keep]
    names = [" ".join(f"{k}={v}" for k, v in c.items()) or "default" for c in configs]
    for i, n in enumerate(names):
        print(f"config {i}: {n}")
    print(f"{'instance':>9} {'published':>9} " + " ".join(f"{'c' + str(i):>18}" for i in range(len(configs)))
          + "  ratios to c0")
    rows, warmed, flagged = [], set(), []
    for name, p in instances:
        onnx, prop = args.data / f"ACASXU_run2a_{name}_batch_2000.onnx", args.data / f"prop_{p}.vnnlib"
        if not (onnx.exists() and prop.exists()):
            print(f"{name}:{p}: missing {onnx.name} or {prop.name}, skipped")
            continue
        net, spec = relutope.load_onnx(onnx), vnnlib.load(prop)
        if name not in warmed:
            relutope.verify(net, spec, timeout=1.0)
            warmed.add(name)
        published = {"h": "holds", "v": "violated"}[PUBLISHED[name][p - 1]] if name in PUBLISHED and p <= 4 else "-"
        cells, verdicts, cpus = [], [], []
        for cfg in configs:
            best, words = None, set()
            for seed in range(args.seeds):
                with knobs(cfg):
                    t = time.process_time()
                    res = relutope.verify(net, spec, timeout=args.timeout, seed=seed,
                                          **{k: v for k, v in cfg.items() if "." not in k})
                    cpu = time.process_time() - t
                words.add(res.status)
                best = cpu if best is None else max(best, cpu)  # the worst seed: a policy must not rely on luck
            word = "/".join(sorted(words))
            verdicts.append(words)
            cpus.append(best)
            cells.append(f"{word[:9]:>9} {best:8.3f}")
        definite = set().union(*verdicts) - {"unknown"}
        bad = len(definite) > 1 or (published != "-" and definite and definite != {published})
        if bad:
            flagged.append(f"{name}:{p}")
        ratios = " ".join(f"{c / max(cpus[0], 1e-9):5.2f}" for c in cpus[1:])
        print(f"{name + ':' + str(p):>9} {published:>9} " + " ".join(cells) + f"  {ratios}"
              + ("  <-- VERDICTS DIFFER" if bad else ""), flush=True)
        rows.append(dict(instance=f"{name}:{p}", published=published,
                         **{f"c{i}_verdict": "/".join(sorted(v)) for i, v in enumerate(verdicts)},
                         **{f"c{i}_cpu": c for i, c in enumerate(cpus)}))
    if not rows:
        print("no instances")
        return 1
    print()
    for i, n in enumerate(names):
        cpu = [r[f"c{i}_cpu"] for r in rows]
        unknown = sum("unknown" in r[f"c{i}_verdict"] for r in rows)
        line = f"c{i} ({n}): total CPU {sum(cpu):.2f} s, max {max(cpu):.2f} s, {sum(c > 5 for c in cpu)} above 5 s, " \
               f"{unknown} unknown"
        if i:
            base = [r["c0_cpu"] for r in rows]
            rat = sorted(((c / max(b, 1e-9), r["instance"]) for c, b, r in zip(cpu, base, rows)), reverse=True)
            line += f"; total ratio to c0 {sum(cpu) / sum(base):.2f}; worst " + ", ".join(
                f"{inst} {x:.2f}" for x, inst in rat[:5]) + "; best " + ", ".join(f"{inst} {x:.2f}" for x, inst in rat[-3:])
        print(line)
    print(f"instances: {len(rows)}; definite verdicts that differ (or differ from the published): "
          f"{', '.join(flagged) if flagged else 'none'}")
    if args.out:
        with open(args.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
