"""Benchmark: thread scaling of the enumerator and Dask scaling of relutope.distributed, in one run.

On a net over [-1, 1]^d built by ``relutope.Network.random(widths, seed=0)`` (the recipe of bench_enumerate.py;
default [3, 32, 32, 32, 1], 133,592 regions), it times (best of ``--repeat``, wall clock):

- ``enumerate_regions(net, box, method=m, threads=t)`` for the LP path and the polytope path (``--paths``) and
  t = 1, 2, 4, ... up to the cores this process may use (or ``--threads``), checking that every run gives the
  one-thread partition (patterns, witnesses, radii), and prints the speed-up over one thread, the parallel
  efficiency, the CPU time over all threads, the work ratio (least CPU time over the runs, over one thread's) and
  the share of the CPUs' time the hypervisor stole during the runs (/proc/stat);
- ``relutope.distributed.enumerate_distributed`` on a ``dask.distributed.LocalCluster`` of w = 1, 2 worker
  processes of one thread each (``--workers``), cluster start-up not counted, the same check, and the speed-up
  over one worker, with the CPU time of the client and the workers together (skipped with a message when
  dask.distributed is not installed);
- ``relutope.distributed.verify_distributed`` on the same clusters, on the property "output 0 >= its exact maximum
  + 1e-3" (it holds; the maximum from ``relutope.output_bounds``), against ``relutope.verify`` on one thread (no
  counterexample search, no input splitting: the same exact enumeration with pruning), verdicts checked equal.

With ``--corun``, each path's one-thread run is also timed in two processes at once (one thread each, the same
net, started together): the CPU time each then needs over the one it needs alone (``corun`` work) is what sharing
the machine's two cores costs by itself (a shared L3 cache and memory bandwidth, the clock boost, the hypervisor),
with no work shared between them; the two-thread run's ``work`` can be read against it.

With ``--acasxu 1_1:2,1_1:3`` (ACAS Xu network ``1_1`` of /work/shared/data/acasxu or ``--data``, VNN-LIB property
2, ...), it also times, per thread count, ``relutope.output_bounds`` on the property's input box and
``relutope.verify`` on the property (threaded enumerations with a visitor: one copy per worker, RegionVisitor::clone),
checking the bounds and the verdict against one thread's.

With ``--profile`` (the polytope path), each thread count's run is split into phases, in wall-clock and CPU
seconds (best of ``--repeat`` by wall): the calling thread's set-up before the workers start (``serial``), the
workers (``parallel``; CPU over all of them), the join of their outputs (``join``), the rest of the core call
(``convert``: arguments, results to numpy), the witness check (``witness``: ``_witnesses_pass``, on ``t``
threads) and the rest of ``enumerate_regions`` (``python``). From the CPU seconds it predicts the speed-up an
idle machine would show (Amdahl's law: the parallel phase and the witness check divided by ``t``, the rest
serial), a figure that a loaded machine does not distort the way it does the wall clock.

It prints the date, the cores and the load average at the start and at the end: on a machine shared with other
work the ratios are only as good as the cores that were free (a 2-core machine under a load of 2 cannot show 2x).

    python bench/bench_threads.py                         # [3, 32, 32, 32, 1], threads 1, 2, ..., Dask 1, 2
    python bench/bench_threads.py --widths 4,16,16,16,1 --threads 1,2 --workers 1,2 --repeat 5
    python bench/bench_threads.py --paths polytope --workers ''   # the polytope path's thread scaling only
    python bench/bench_threads.py --paths polytope --workers '' --threads 1,2 --profile   # and its phases
    python bench/bench_threads.py --widths 5,16,16,1 --threads 1,2 --workers '' --corun   # vs two processes
    python bench/bench_threads.py --paths '' --workers '' --threads 1,2 --acasxu 1_1:2,1_1:3 --repeat 3
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import relutope  # noqa: E402
from relutope._threads import available_cores  # noqa: E402


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def same(part, ref) -> bool:
    return (np.array_equal(part.patterns, ref.patterns) and np.array_equal(part.witnesses, ref.witnesses)
            and np.array_equal(part.radii, ref.radii))


def steal() -> tuple:
    """(steal, total) jiffies of all CPUs from /proc/stat ((0, 0) where there is none): the time the hypervisor
    gave this VM's CPUs to others, which slows a run that needs every core and shows in no load average."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return fields[7], sum(fields)
    except (OSError, IndexError, ValueError):
        return 0, 0


def best_of(fn, repeat: int, least: bool = False):
    """Best wall time of ``repeat`` runs, the process CPU time (all threads) of that run, and its result; with
    ``least``, also the least CPU time over the runs (the run the least disturbed by other processes)."""
    best, cpu, out, low = float("inf"), float("nan"), None, float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t
        used = time.process_time() - c
        low = min(low, used)
        if wall < best:
            best, cpu = wall, used
    return (best, cpu, out, low) if least else (best, cpu, out)


def timed(fn):
    """Wall and process CPU seconds (all threads) of ``fn()``, and its result."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def _corun_worker(widths, method, repeat, barrier, out):
    """One process of the co-run: the one-thread run ``repeat`` times after the others are ready; the least CPU
    seconds into ``out``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
    import relutope as rt

    net = rt.Network.random(widths, seed=0)
    box = rt.Box(-np.ones(widths[0]), np.ones(widths[0]))
    rt.enumerate_regions(net, box, method=method, threads=1)  # warm-up
    barrier.wait()
    out.put(best_of(lambda: rt.enumerate_regions(net, box, method=method, threads=1), repeat, least=True)[3])


def corun(widths, method: str, repeat: int, alone: float) -> str:
    """The least CPU seconds of the one-thread run in each of two processes running at once, over ``alone`` (the
    least CPU seconds of the same run alone): the machine's cost of two busy cores, with nothing shared."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_corun_worker, args=(widths, method, repeat, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    cpus = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return (f"   corun: 1 thread in 2 processes at once, least cpu s {cpus[0]:.3f} {cpus[1]:.3f}, work "
            f"{cpus[0] / alone:.3f} {cpus[1] / alone:.3f}  (load average {load()})")


def profile_polytope(net, box, threads, repeat: int) -> None:
    """The polytope path's phases on each thread count (wall/cpu seconds, best of ``repeat`` by total wall) and
    the speed-up over one thread that the CPU seconds predict for an idle machine (Amdahl's law)."""
    from relutope import _core
    from relutope.enumerate import _engine_call, _witnesses_pass
    from relutope.partition import Partition

    phases = ("serial", "parallel", "join", "convert", "witness", "python")
    print(f"\nmethod='polytope' phases, wall/cpu seconds (load average {load()})")
    print(f"{'threads':>8} " + " ".join(f"{p:>13}" for p in phases) + f" {'total':>13} {'predicted':>9} "
          f"{'work':>6}")
    one_cpu = one_work = None
    for t in threads:
        best, least = None, float("inf")
        for _ in range(repeat):  # the steps of enumerate_regions (method="polytope"), each timed
            call_w, call_c, (out, _) = timed(lambda: _engine_call(
                _core.enumerate_polytopes, net, box, tol=None, max_regions=None, time_limit=None, progress=False,
                threads=t))
            py_w, py_c, part = timed(lambda: Partition._from_packed(
                net, box, out["patterns"], out["centers"], out["radii"], out["layer_counts"], tol=out["tol"]))
            wit_w, wit_c, ok = timed(lambda: _witnesses_pass(part, threads=t))
            assert ok.all()
            w, c, _ = timed(lambda: Partition._from_packed(
                net, box, out["patterns"], out["centers"], out["radii"], out["layer_counts"], status=out["status"],
                tol=out["tol"], lps=int(out["lps"]), lp_iterations=int(out["lp_iterations"]),
                seconds=float(out["seconds"])))
            ph = {k: tuple(v) for k, v in out["phases"].items()}
            core_w = sum(w for w, _ in ph.values())
            core_c = sum(c for _, c in ph.values())
            ph["convert"] = (max(call_w - core_w, 0.0), max(call_c - core_c, 0.0))
            ph["witness"] = (wit_w, wit_c)
            ph["python"] = (py_w + w, py_c + c)
            tot_w, tot_c = sum(w for w, _ in ph.values()), sum(c for _, c in ph.values())
            least = min(least, ph["parallel"][1])
            if best is None or tot_w < best[0]:
                best = (tot_w, tot_c, ph)
        tot_w, tot_c, ph = best
        cpu = sum(c for _, c in ph.values())
        one_cpu = cpu if one_cpu is None else one_cpu
        # Amdahl: the workers and the witness check run on t threads, the rest on one
        predicted = sum(c / (t if p in ("parallel", "witness") else 1) for p, (_, c) in ph.items())
        # work: the least CPU of the parallel phase over the repeats, over one thread's (the cost of sharing the
        # search out; the least is the run the least disturbed by other processes)
        one_work = least if one_work is None else one_work
        print(f"{t:>8} " + " ".join(f"{ph[p][0]:>6.3f}/{ph[p][1]:<6.3f}" for p in phases)
              + f" {tot_w:>6.3f}/{tot_c:<6.3f} {one_cpu / predicted:>8.2f}x {least / one_work:>6.3f}")


def acasxu(instances: str, data: Path, threads, repeat: int) -> None:
    """Threaded output_bounds and verify on ACAS Xu instances "NET:PROP,..." (best wall of ``repeat``, the process
    CPU seconds of that run), each checked against one thread's bounds and verdict."""
    from relutope import vnnlib

    print(f"\nACAS Xu, output_bounds on the property's input box and verify (load average {load()})")
    print(f"{'instance':>9} {'threads':>8} {'bounds s':>9} {'cpu s':>8} {'regions':>8} {'same':>5} {'verify s':>9} "
          f"{'cpu s':>8} {'verdict':>9}")
    for inst in instances.split(","):
        name, prop = inst.strip().split(":")
        net = relutope.load_onnx(data / "onnx" / f"ACASXU_run2a_{name}_batch_2000.onnx")
        spec = vnnlib.load(data / "vnnlib" / f"prop_{prop}.vnnlib")
        box = relutope.Box(spec.cases[0].box_lo, spec.cases[0].box_hi)
        ref = ref_verdict = None
        for t in threads:
            sec, cpu, res = best_of(lambda: relutope.output_bounds(net, box, threads=t), repeat)
            vsec, vcpu, ver = best_of(lambda: relutope.verify(net, spec, threads=t), repeat)
            ref = res if ref is None else ref
            ref_verdict = ver.status if ref_verdict is None else ref_verdict
            same = bool(np.allclose(res.upper, ref.upper, rtol=1e-12) and np.allclose(res.lower, ref.lower, rtol=1e-12)
                        and ver.status == ref_verdict)
            print(f"{inst:>9} {t:>8} {sec:>9.3f} {cpu:>8.3f} {res.regions:>8,} {str(same):>5} {vsec:>9.3f} "
                  f"{vcpu:>8.3f} {ver.status:>9}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="3,32,32,32,1")
    ap.add_argument("--threads", default=None, help="comma-separated thread counts (default 1, 2, 4, ... cores)")
    ap.add_argument("--workers", default="1,2", help="comma-separated Dask worker counts ('' to skip)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--paths", default="lp,polytope", help="comma-separated enumeration paths to time with threads")
    ap.add_argument("--profile", action="store_true", help="the polytope path's phases, wall and CPU seconds")
    ap.add_argument("--corun", action="store_true",
                    help="also the one-thread run in two processes at once (the machine's cost of two busy cores)")
    ap.add_argument("--acasxu", default="", help="ACAS Xu instances NET:PROP,... for threaded output_bounds/verify")
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/acasxu"), help="the ACAS Xu data folder")
    args = ap.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    cores = available_cores()
    if args.threads is None:
        threads = [1]
        while threads[-1] * 2 <= cores:
            threads.append(threads[-1] * 2)
        if threads[-1] != cores:
            threads.append(cores)
    else:
        threads = [int(t) for t in args.threads.split(",")]
    net = relutope.Network.random(widths, seed=0)
    box = relutope.Box(-np.ones(widths[0]), np.ones(widths[0]))
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}  cores {cores}  "
          f"load average {load()} (1, 5, 15 min)")
    print(f"net {widths} over [-1, 1]^{widths[0]}, best of {args.repeat}")

    ref = relutope.enumerate_regions(net, box, method="lp", threads=1)
    print(f"regions {len(ref):,}")
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    for path in paths:
        # cpu s: the process's CPU time over all its threads in the fastest run; work: the least CPU time over the
        # runs over one thread's least, the cost of sharing the search out (the least is the run the least
        # disturbed by other processes; unlike the wall-clock speed-up it does not depend on free cores); steal:
        # the share of the CPUs' time the hypervisor took during the runs.
        print(f"\nmethod={path!r}  (load average {load()})")
        print(f"{'threads':>8} {'seconds':>9} {'speed-up':>9} {'efficiency':>10} {'cpu s':>8} {'work':>6} "
              f"{'steal':>6}  same partition")
        one = ref if path == "lp" else relutope.enumerate_regions(net, box, method=path, threads=1)
        base = low1 = None
        for t in threads:
            st0 = steal()
            sec, cpu, part, low = best_of(lambda: relutope.enumerate_regions(net, box, method=path, threads=t),
                                          args.repeat, least=True)
            st1 = steal()
            share = (st1[0] - st0[0]) / max(st1[1] - st0[1], 1)
            base = sec if t == 1 or base is None else base
            low1 = low if t == 1 or low1 is None else low1
            print(f"{t:>8} {sec:>9.3f} {base / sec:>8.2f}x {base / sec / t:>10.2f} {cpu:>8.3f} {low / low1:>6.3f} "
                  f"{share:>6.1%}  {same(part, one)}")
        if args.corun:
            print(corun(widths, path, args.repeat, low1))

    if args.profile:
        profile_polytope(net, box, threads, args.repeat)
    if args.acasxu:
        acasxu(args.acasxu, args.data, threads, args.repeat)

    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    if workers:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            print("\ndask.distributed is not installed: Dask scaling skipped (pip install 'relutope[distributed]')")
            workers = []
        from relutope.distributed import enumerate_distributed
    if workers:
        from relutope.distributed import verify_distributed
        from relutope.vnnlib import Case, Property

        top = float(relutope.output_bounds(net, box).upper[0])
        spec = Property([Case(box.lo, box.hi, [(np.eye(1, widths[-1]) * -1.0,
                                                np.array([-(top + 1e-3 * (1 + abs(top)))]))])],
                        widths[0], widths[-1])
        one_sec, one_cpu, one = best_of(lambda: relutope.verify(net, spec, search=False, split_max_dims=0, threads=1),
                                        args.repeat)
        print(f"\nrelutope.verify (one thread, no search, no input splitting): {one.status} in {one_sec:.3f} s "
              f"(cpu {one_cpu:.3f} s), {one.regions:,} regions, {one.pruned:,} cells pruned")
        print(f"\n{'workers':>8} {'seconds':>9} {'speed-up':>9} {'cpu s':>8} {'tasks':>6}  same partition   "
              f"(Dask LocalCluster, processes, 1 thread each; cpu: client and workers)  load {load()}")
        base, rows = None, []
        for w in workers:
            with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                    Client(cluster) as client:
                enumerate_distributed(relutope.Network.random([widths[0], 4, 1], seed=0), box, client)  # warm-up

                def timed(fn):
                    before = sum(client.run(time.process_time).values())
                    sec, cpu, out = best_of(fn, 1)
                    return sec, cpu + sum(client.run(time.process_time).values()) - before, out

                best = min((timed(lambda: enumerate_distributed(net, box, client)) for _ in range(args.repeat)),
                           key=lambda r: r[0])
                vbest = min((timed(lambda: verify_distributed(net, spec, client, search=False))
                             for _ in range(args.repeat)), key=lambda r: r[0])
            sec, cpu, part = best
            base = sec if base is None else base
            print(f"{w:>8} {sec:>9.3f} {base / sec:>8.2f}x {cpu:>8.3f} {4 * w:>6}  {same(part, ref)}")
            rows.append((w, vbest))
        print(f"\n{'workers':>8} {'seconds':>9} {'vs verify':>9} {'cpu s':>8}  verdict  (verify_distributed, "
              f"same property)  load {load()}")
        for w, (sec, cpu, res) in rows:
            print(f"{w:>8} {sec:>9.3f} {one_sec / sec:>8.2f}x {cpu:>8.3f}  {res.status} "
                  f"({'same' if res.status == one.status else 'DIFFERS'}), {res.regions:,} regions, "
                  f"{res.pruned:,} pruned")
    print(f"\nload average at the end {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
