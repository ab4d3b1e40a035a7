"""The command line: ``relutope enumerate``, ``bounds``, ``verify``, ``vnncomp``, ``compare-sampling``,
``complexity``, ``prune``, ``demo`` (or ``python -m relutope``).

Exit statuses (:data:`EXIT_STATUSES`; also in ``relutope --help``): 0 success (``enumerate``: the partition is
complete; ``verify``: the property holds; ``bounds``: the bounds are exact, with ``--certify`` proven), 1 a
computation failed (e.g. the LP solver broke down), 2 bad usage or input (argparse's status), 3 a computation stopped
early (``enumerate``: ``--max-regions``, ``--time-limit``, Ctrl-C, an LP breakdown: the partition printed and written
is incomplete, and its summary names why; ``complexity``, ``prune``: ``--time-limit`` reached before every
neighbourhood or unit was decided; ``bounds``: ``--time-limit``, or with ``--certify`` intervals not proven
region-tight), 10 ``verify``: violated, 20 ``verify``: unknown, 130 interrupted, 141 the reader of standard output
went away (``relutope ... | head -1``; 128 + SIGPIPE, as the shell reports a process killed by a closed pipe; nothing
is printed).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Dict, List, Optional

import numpy as np

__all__ = ["main", "build_parser", "EXIT_STATUSES"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_VIOLATED = 10
EXIT_UNKNOWN = 20
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

#: Exit status -> meaning, as printed in ``relutope --help``.
EXIT_STATUSES: Dict[int, str] = {
    EXIT_OK: "success (enumerate: the partition is complete; verify: the property holds; bounds: exact, with "
             "--certify proven)",
    EXIT_FAILED: "the computation failed (e.g. the LP solver broke down)",
    EXIT_USAGE: "bad usage or input (unknown option, unreadable model, invalid value)",
    EXIT_INCOMPLETE: "stopped early: the result is incomplete (enumerate: --max-regions, --time-limit, Ctrl-C, an LP "
                     "breakdown; complexity, prune, bounds: --time-limit; bounds --certify: not proven tight)",
    EXIT_VIOLATED: "verify: the property is violated (a counterexample is printed)",
    EXIT_UNKNOWN: "verify: unknown (--timeout reached, or a candidate failed its re-check)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C) outside the enumeration",
    EXIT_BROKEN_PIPE: "standard output was closed early (e.g. piped into head); nothing more is printed",
}

_VERIFY_EXIT = {"holds": EXIT_OK, "violated": EXIT_VIOLATED, "unknown": EXIT_UNKNOWN}

#: The start of a negative number (or list of numbers), which argparse would take for an option.
_NEGATIVE = re.compile(r"-(\d|\.\d|inf|nan)", re.IGNORECASE)

#: Library argument names that the command line spells as flags, in error messages.
_LIBRARY_NAMES = ("tol", "max_regions", "time_limit", "timeout", "budgets", "seed", "threads")


def _epilog(codes, success: Optional[str] = None) -> str:
    """The help's epilog: the exit statuses ``codes`` and their meanings (``success``: the meaning of 0)."""
    text = {**EXIT_STATUSES, **({EXIT_OK: success} if success else {})}
    return "exit status:\n" + "\n".join(f"  {c:<4d}{text[c]}" for c in codes)


def _protect_negative_values(argv: List[str]) -> List[str]:
    """Let negative values through argparse (``--box -1,-1 1,1``, ``--lo -1e-3``, ``--tol -1`` for its message):
    a word that starts like a negative number gets a leading space, since argparse takes a word for an option
    when it starts with '-' (``float`` ignores the space; no option starts with '-' and a digit). Words after
    ``--`` are left alone."""
    out = list(argv)
    for i, word in enumerate(out):
        if word == "--":
            break
        if _NEGATIVE.match(word):
            out[i] = " " + word
    return out


def _flag_names(message: str, flags: Dict[str, str]) -> str:
    """Spell the library's argument names in ``message`` as the command line's flags (``max_regions`` ->
    ``--max-regions``); names inside other words or paths are left alone."""
    for name, flag in flags.items():
        message = re.sub(rf"(?<![\w./\\-]){re.escape(name)}(?![\w/\\-])", flag, message)
    return message


def _floats(text: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, "
                                         f"got {text.strip()!r}") from None


def _npz_path(path: str) -> str:
    """The file :func:`numpy.savez_compressed` (:meth:`Partition.save`) writes for ``path``: ``.npz`` appended."""
    return path if path.endswith(".npz") else path + ".npz"


def _check_npz_out(path: Optional[str], flag: str = "--out") -> None:
    """:func:`_check_writable` for an ``.npz`` output, whose name gets ``.npz`` appended: a directory (``--out
    /tmp`` wrote ``/tmp.npz`` beside it, ``--out dir/`` a hidden ``dir/.npz``) is refused first."""
    if path and (os.path.isdir(path) or path.endswith(("/", os.sep))):
        raise ValueError(f"{flag} {path!r} is a directory; give a file name")
    _check_writable(path and _npz_path(path), flag)


def _check_writable(path: Optional[str], flag: str) -> None:
    """Fail before the run when ``path`` cannot be written: its directory must exist and be writable."""
    if not path:
        return
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path!r} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{flag} {path!r}: directory {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path!r}: directory {folder!r} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ValueError(f"{flag} {path!r}: the file exists and is not writable")


def _load_network(path: str):
    from .io import load_nnet, load_onnx
    from .network import Network

    lower = path.lower()
    if lower.endswith(".npz"):
        return Network.load(path)
    if lower.endswith(".onnx"):
        return load_onnx(path)
    if lower.endswith(".onnx.gz"):  # as the VNN-COMP benchmark repositories store them
        import gzip
        import zlib

        from .errors import ModelFormatError

        if not os.path.exists(path):
            raise FileNotFoundError(f"no such ONNX file: {path!r}")
        try:
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        except (OSError, EOFError, zlib.error) as exc:
            raise ModelFormatError(f"{path}: not a readable gzip file ({exc})") from None
        try:
            return load_onnx(raw)
        except ModelFormatError as exc:  # name the file, not "<bytes>"
            raise ModelFormatError(str(exc).replace("<bytes>", path, 1)) from None
    if lower.endswith(".nnet"):
        return load_nnet(path)
    raise ValueError(f"unsupported model file {path!r}: expected .onnx, .onnx.gz, .nnet or .npz")


def _box(net, args):
    """The Box of ``--box LO HI`` or ``--lo ... --hi ...`` (one value: every coordinate), or None when neither."""
    from .domains import Box

    per_coordinate = args.lo is not None or args.hi is not None
    if args.box is not None and per_coordinate:
        raise ValueError("give the box with either --box LO HI or --lo/--hi, not both")
    if args.box is None and not per_coordinate:
        return None
    if per_coordinate:
        if args.lo is None or args.hi is None:
            raise ValueError("--lo and --hi go together: give both")
        lo, hi = np.concatenate(args.lo), np.concatenate(args.hi)
        names = {"lo": "--lo", "hi": "--hi"}
    else:
        lo, hi = args.box
        names = {"lo": "--box LO", "hi": "--box HI"}
    d = net.in_dim
    lo = np.broadcast_to(lo, (d,)) if lo.size == 1 else lo
    hi = np.broadcast_to(hi, (d,)) if hi.size == 1 else hi
    if lo.shape != (d,) or hi.shape != (d,):
        raise ValueError(f"{names['lo']} and {names['hi']} need 1 or {d} values each (the model has {d} inputs), "
                         f"got {lo.size} and {hi.size}")
    try:
        return Box(lo, hi)
    except ValueError as exc:
        raise ValueError(_flag_names(str(exc), names)) from None


def _report(part, out: Optional[str]) -> None:
    print(part.summary())
    if out:
        part.save(out)
        print(f"partition      written to {_npz_path(out)}")


def _domain(net, args):
    """The domain of ``--box``/``--lo``/``--hi`` or ``--vnnlib`` (exactly one of them; a property of one box)."""
    box = _box(net, args)
    if (box is None) == (args.vnnlib is None):
        raise ValueError("give the domain with exactly one of --box LO HI, --lo/--hi or --vnnlib PROP")
    if box is not None:
        return box
    from . import vnnlib

    prop = vnnlib.load(args.vnnlib)
    if prop.n_inputs != net.in_dim:
        raise ValueError(f"{args.vnnlib} has {prop.n_inputs} inputs but the model has {net.in_dim}")
    if len(prop.cases) != 1:
        raise ValueError(f"{args.vnnlib} has {len(prop.cases)} input boxes; --vnnlib takes one")
    return prop.cases[0].domain()


def _cmd_enumerate(args) -> int:
    from .enumerate import enumerate_regions

    _check_npz_out(args.out)
    net = _load_network(args.model)
    domain = _domain(net, args)
    part = enumerate_regions(net, domain, tol=args.tol, max_regions=args.max_regions, time_limit=args.time_limit,
                             progress=args.progress, threads=args.threads, certify=args.certify)
    _report(part, args.out)
    if args.certify:  # the proof's summary; a result not proven certified exits as incomplete
        print(part.certificate.summary())
        return EXIT_OK if part.certificate.ok else EXIT_INCOMPLETE
    return EXIT_OK if part.complete else EXIT_INCOMPLETE


def _cmd_bounds(args) -> int:
    from .verify import output_bounds

    net = _load_network(args.model)
    domain = _domain(net, args)
    res = output_bounds(net, domain, prune=not args.no_prune, tol=args.tol, time_limit=args.time_limit,
                        certify=args.certify)
    cert = res.certificate
    for i in range(len(res.upper)):
        line = f"y[{i}]  min {res.lower[i]:.17g}  max {res.upper[i]:.17g}"
        if cert is not None:  # the proven intervals holding the exact minimum and maximum
            line += (f"  (min in [{cert.min_lower[i]:.17g}, {cert.min_upper[i]:.17g}],"
                     f" max in [{cert.max_lower[i]:.17g}, {cert.max_upper[i]:.17g}])")
        print(line)
    print(f"({res.seconds:.3f} s, {res.regions} regions, {res.pruned} cells pruned"
          + (f", {res.widened} thin cells widened" if res.widened else "")
          + (f"; certificate: {cert.status}" if cert is not None else "") + ")")
    if cert is not None:
        return EXIT_OK if cert.status == "certified" else EXIT_INCOMPLETE
    return EXIT_OK if res.complete else EXIT_INCOMPLETE


def _cmd_verify(args) -> int:
    from .verify import verify

    _check_writable(args.out, "--out")
    net = _load_network(args.model)
    res = verify(net, args.property, timeout=args.timeout, prune=not args.no_prune, certify=args.certify)
    word = res.vnncomp if args.vnncomp else res.status
    lines = [word]
    if res.certificate is not None:
        c = res.certificate
        lines.append(f"certificate: {'proven' if c.ok else 'FAILED'} in {c.seconds:.3f} s"
                     + (f" ({c.boxes} boxes, {c.regions} regions, margin >= {c.min_margin:.3g})"
                        if c.status == "holds" else " (exact counterexample)")
                     + "".join(f"; {f}" for f in c.failures) + "".join(f"; pending: {p}" for p in c.pending))
    if res.counterexample is not None:
        lines.append("counterexample x = " + " ".join(f"{v:.17g}" for v in res.counterexample))
        lines.append("output y = " + " ".join(f"{v:.17g}" for v in res.output))
    print("\n".join(lines))
    print(f"({res.seconds:.3f} s, {res.regions} regions examined, {res.pruned} cells pruned)")
    if args.out:
        from .vnncomp import result_text

        with open(args.out, "w") as fh:  # VNN-COMP's result file: the word, then the counterexample
            fh.write(result_text(word, res.counterexample, res.output))
        print(f"result written to {args.out}")
    return _VERIFY_EXIT[res.status]


def _cmd_vnncomp(args) -> int:
    from .vnncomp import run_instances

    _check_writable(args.out, "--out")
    results = run_instances(args.instances, args.out, progress=True, results_dir=args.results_dir)
    counts: Dict[str, int] = {}
    for r in results:
        counts[r.result] = counts.get(r.result, 0) + 1
    print(", ".join(f"{n} {word}" for word, n in sorted(counts.items())) + f" ({len(results)} instances)")
    if args.out:
        print(f"results written to {args.out}")
    return EXIT_OK


def _budgets(text: str) -> List[int]:
    try:
        return [int(v.replace("_", "")) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _cmd_compare_sampling(args) -> int:
    from .compare import compare_sampling

    _check_writable(args.out, "--out")
    net = _load_network(args.model)
    domain = _box(net, args)
    if domain is None:
        raise ValueError("give the domain with --box LO HI or --lo/--hi")
    res = compare_sampling(net, domain, budgets=args.budgets, seed=args.seed, progress=args.progress)
    print(res.table())
    if args.out:
        res.to_csv(args.out)
        print(f"table written to {args.out}")
    return EXIT_OK


def _load_points(path: str, d: int) -> np.ndarray:
    """Points (N, d) from a .npy file, an .npz file (its array ``x``, or its only array) or a text/CSV table."""
    lower = path.lower()
    if not os.path.isfile(path):
        raise ValueError(f"--points {path!r}: no such file")
    try:
        if lower.endswith(".npy"):
            X = np.load(path, allow_pickle=False)
        elif lower.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                if "x" not in keys and len(keys) != 1:
                    raise ValueError(f"it holds arrays {keys}: name the points 'x'")
                X = z["x" if "x" in keys else keys[0]]
        else:
            with open(path) as fh:
                comma = "," in fh.readline()
            X = np.loadtxt(path, delimiter="," if comma else None, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"--points {path!r}: {exc}") from None
    X = np.atleast_2d(np.asarray(X))
    if X.dtype.kind not in "fiu" or X.ndim != 2 or X.shape[1] != d or X.shape[0] == 0:
        raise ValueError(f"--points {path!r} must hold a numeric (N, {d}) table (the model has {d} inputs), got "
                         f"shape {X.shape} of {X.dtype}")
    return X.astype(np.float64)


def _cmd_complexity(args) -> int:
    from .complexity import local_complexity, local_complexity_estimate

    _check_writable(args.out, "--out")
    net = _load_network(args.model)
    X = _load_points(args.points, net.in_dim)
    flags = {"radius": "--radius", "n_dirs": "--n-dirs", "shape": "--shape", "x": "--points"}
    try:
        est = local_complexity_estimate(net, X, args.radius, args.n_dirs, seed=args.seed, shape=args.shape)
        lc = local_complexity(net, X, args.radius, args.n_dirs, seed=args.seed, shape=args.shape,
                              max_regions=args.max_regions, time_limit=args.time_limit, progress=args.progress)
    except (TypeError, ValueError) as exc:
        raise type(exc)(_flag_names(str(exc), flags)) from None
    done = lc.n_regions >= 0
    bd = lc.boundary_density[np.isfinite(lc.boundary_density)]
    lines = [f"network          {net.widths}  ({net.n_units} units)",
             f"points           {len(X)} from {args.points}  ({int(done.sum())} done, {int(lc.complete.sum())} "
             f"complete)",
             f"neighbourhood    {args.shape}, P = {args.n_dirs}, radius {args.radius:g}, seed {args.seed}"]
    if done.any():
        short = int(np.count_nonzero(done & ~lc.complete))  # stopped neighbourhoods: their counts are lower bounds
        lines += [f"regions          mean {lc.n_regions[done].mean():.4g}  (min {lc.n_regions[done].min()}, max "
                  f"{lc.n_regions[done].max()})"
                  + (f"  (lower bounds: {short} neighbourhoods incomplete)" if short else ""),
                  f"units cut        mean {lc.n_cut[done].mean():.4g}  (vertex estimate {est.n_cut[done].mean():.4g})",
                  f"boundary density " + (f"mean {bd.mean():.4g} per input unit" if bd.size else "not computed")]
    lines.append(f"time             {lc.seconds:.3g} s" + ("" if lc.status == "complete" else f"  ({lc.status})"))
    print("\n".join(lines))
    if args.out:
        lc.to_csv(args.out, estimate=est)
        print(f"table written to {args.out}")
    return EXIT_OK if lc.complete.all() else EXIT_INCOMPLETE


def _cmd_prune(args) -> int:
    from .pruning import prune, remove_stable_units

    _check_npz_out(args.out)
    net = _load_network(args.model)
    domain = _domain(net, args)
    if args.amount is not None and not 0 <= args.amount < 1:
        raise ValueError(f"--amount must be a fraction in [0, 1), got {args.amount}")
    if not 0 < args.rtol < 1:
        raise ValueError(f"--rtol must be in (0, 1), got {args.rtol}")
    if args.time_limit is not None and not args.time_limit > 0:
        raise ValueError(f"--time-limit must be a positive number of seconds, got {args.time_limit}")
    res = remove_stable_units(net, domain, rtol=args.rtol, time_limit=args.time_limit)
    small = res.network
    print(f"network        {net.widths}  ({net.n_units} units)")
    print(f"domain         {domain!r}")
    print(f"stable units   {int(res.stable.stable.sum())} of {net.n_units} choose one piece on the domain "
          f"({res.stable.seconds:.3g} s)")
    print(f"removed        {res.always_off} always off (deleted), {res.always_on} always on (folded into the next "
          f"layer), {res.to_identity} kept as identity units, {res.layers_merged} layers merged")
    print(f"exact pruning  {small.widths}  ({small.n_units} units), equal to the model on the domain")
    if args.amount:
        small, units = prune(small, args.amount, scope=args.scope, criterion=args.criterion)
        print(f"{args.criterion} pruning {small.widths}  ({len(units)} more units, {args.scope}; changes the "
              f"function)")
    if args.out:
        small.save(_npz_path(args.out))
        print(f"network        written to {_npz_path(args.out)}")
    return EXIT_OK if res.stable.complete else EXIT_INCOMPLETE


def _cmd_demo(args) -> int:
    from .demo import demo_network
    from .enumerate import enumerate_regions

    _check_npz_out(args.out)
    _check_writable(args.png, "--png")
    net, box = demo_network()
    print("relutope demo: exact activation regions of a ReLU MLP trained on two moons (scikit-learn)")
    part = enumerate_regions(net, box, progress=args.progress)
    _report(part, args.out)
    x = box.sample(100_000, rng=0)
    found = np.unique(net.activation_pattern(x), axis=0).shape[0]
    print(f"sampling       100,000 uniform points hit {found} of the {len(part)} regions")
    if hasattr(part, "adjacency_graph"):
        G = part.adjacency_graph()
        print(f"graph          {G.number_of_nodes()} regions, {G.number_of_edges()} adjacent pairs")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("picture        not drawn: matplotlib is not installed (pip install relutope[plot])")
        return 0
    demo_picture(net, box, part, args.png)
    print(f"picture        written to {args.png}")
    return 0


def demo_picture(net, box, part, path: str):
    """Write the demo's PNG: the partition after layer 1, 1-2, 1-2-3, then the output and decision boundary.

    Uses matplotlib's Agg renderer through a bare :class:`matplotlib.figure.Figure` (no pyplot, no display) and
    returns the figure.
    """
    from matplotlib.figure import Figure

    from . import plot

    n = len(plot._split_layers(net))
    fig = Figure(figsize=(4.0 * (n + 1) + 1.0, 3.7), layout="constrained")
    axes = fig.subplots(1, n + 1)
    plot.layers(net, box, ax=axes[:n])
    coll = plot.partition(part, ax=axes[n], color="output", edges=True)
    plot.decision_boundary(part, ax=axes[n], linewidths=2.0)
    axes[n].set_title(f"output and decision boundary: {len(part):,} regions")
    fig.colorbar(coll, ax=axes[n], shrink=0.75, label="logit (class 1)")
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.suptitle(f"relutope demo: exact activation regions of a ReLU MLP {net.widths} trained on two moons",
                 fontsize=13)
    fig.savefig(path, dpi=130)
    return fig


def _add_box(p: argparse.ArgumentParser) -> None:
    p.add_argument("--box", nargs=2, type=_floats, metavar=("LO", "HI"),
                   help="domain bounds: one number for every coordinate, or comma-separated values "
                        "(e.g. --box -1 1, --box -1,-2,0 1,2,3)")
    p.add_argument("--lo", action="append", type=_floats, metavar="LO",
                   help="lower bounds instead of --box: comma-separated, or repeated once per coordinate "
                        "(one value: every coordinate); needs --hi")
    p.add_argument("--hi", action="append", type=_floats, metavar="HI", help="upper bounds, as --lo")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``relutope`` and its subcommands (exit statuses in the help's epilogs)."""
    from . import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="relutope", description="Exact activation regions of piecewise-affine "
                                     "neural networks.", epilog=_epilog(sorted(EXIT_STATUSES)), formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"relutope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("enumerate", help="enumerate the activation regions of a model over a box",
                       epilog=_epilog([0, 3, 1, 2], "the partition is complete"), formatter_class=fmt)
    p.add_argument("model", help="network file: .onnx, .nnet (ACAS Xu format) or .npz (relutope.Network.save)")
    _add_box(p)
    p.add_argument("--vnnlib", metavar="PROP", help="take the domain from a VNN-LIB file's input box")
    p.add_argument("--tol", type=float, default=None, help="radius a region must exceed (default: 1e-9 x size)")
    p.add_argument("--max-regions", type=int, default=None, help="stop after this many regions (exit status 3)")
    p.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds (exit status 3)")
    p.add_argument("--progress", action="store_true", help="show a progress bar (on standard error)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: every core; the same "
                   "partition with any number)")
    p.add_argument("--certify", action="store_true", help="prove the result in exact arithmetic (every region "
                   "exists, none thicker than tol is missing) and print the certificate (exit status 3 unless proven)")
    p.add_argument("--out", help="write the partition to this file (.npz is appended unless it ends so)")
    p.set_defaults(func=_cmd_enumerate)
    p = sub.add_parser("bounds", help="exact minimum and maximum of every output of a model over a box",
                       epilog=_epilog([0, 3, 1, 2], "the bounds are exact (with --certify: proven)"),
                       formatter_class=fmt)
    p.add_argument("model", help="network file: .onnx, .nnet or .npz")
    _add_box(p)
    p.add_argument("--vnnlib", metavar="PROP", help="take the domain from a VNN-LIB file's input box")
    p.add_argument("--tol", type=float, default=None, help="radius a region must exceed (default: 1e-9 x size)")
    p.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds (exit status 3)")
    p.add_argument("--no-prune", action="store_true", help="visit every region (no relaxation pruning)")
    p.add_argument("--certify", action="store_true", help="also prove in exact arithmetic an interval holding each "
                   "exact minimum and maximum (relutope.bound_certificates; exit status 3 unless proven)")
    p.set_defaults(func=_cmd_bounds)
    p = sub.add_parser("verify", help="decide a VNN-LIB property exactly",
                       epilog=_epilog([0, 10, 20, 1, 2], "the property holds"), formatter_class=fmt)
    p.add_argument("model", help="network file: .onnx, .nnet or .npz")
    p.add_argument("property", help="VNN-LIB property file (describes the unsafe set)")
    p.add_argument("--timeout", type=float, default=None, help="seconds before giving up (result: unknown)")
    p.add_argument("--out", help="write the result word (and counterexample) to this file")
    p.add_argument("--vnncomp", action="store_true", help="print unsat/sat instead of holds/violated "
                   "(the exit status is the same)")
    p.add_argument("--no-prune", action="store_true", help="visit every region (no interval pruning)")
    p.add_argument("--certify", action="store_true", help="prove the verdict in exact / rigorously rounded "
                   "arithmetic (relutope.verdict_certificates); a verdict not proven is unknown")
    p.set_defaults(func=_cmd_verify)
    p = sub.add_parser("vnncomp", help="verify every instance of a VNN-COMP instance CSV (onnx,vnnlib,timeout)",
                       epilog=_epilog([0, 2], "every instance was run"), formatter_class=fmt)
    p.add_argument("instances", help="the benchmark's instances.csv (paths relative to its folder)")
    p.add_argument("--out", help="write one CSV row per instance: result word, prepare and verify seconds")
    p.add_argument("--results-dir", help="write one VNN-COMP result file per instance into this folder: the "
                   "result word and, for sat, the counterexample ((X_0 v) ... (Y_0 v) ...)")
    p.set_defaults(func=_cmd_vnncomp)
    p = sub.add_parser("compare-sampling", help="compare the exact regions of a model over a box with uniform sampling",
                       epilog=_epilog([0, 1, 2], "success"), formatter_class=fmt)
    p.add_argument("model", help="network file: .onnx, .nnet or .npz")
    _add_box(p)
    p.add_argument("--budgets", type=_budgets, default=[100, 1000, 10000, 100000],
                   help="comma-separated sample sizes, prefixes of one stream (default: 100,1000,10000,100000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample stream (default: 0)")
    p.add_argument("--progress", action="store_true", help="show progress bars for the enumeration, the facets "
                   "and the volumes (on standard error)")
    p.add_argument("--out", help="also write the table to this CSV file")
    p.set_defaults(func=_cmd_compare_sampling)
    p = sub.add_parser("complexity", help="local complexity around points: exact regions and units cut in small "
                       "neighbourhoods, with Humayun et al.'s vertex estimate",
                       epilog=_epilog([0, 3, 1, 2], "every neighbourhood was enumerated completely (3: some were "
                                      "not: --max-regions, --time-limit, Ctrl-C)"), formatter_class=fmt)
    p.add_argument("model", help="network file: .onnx, .nnet or .npz")
    p.add_argument("--points", required=True, metavar="F", help="points: .npy, .npz (array 'x') or a text/CSV table, "
                   "one point per row")
    p.add_argument("--radius", required=True, type=float, metavar="R", help="neighbourhood radius (input units)")
    p.add_argument("--n-dirs", type=int, default=2, metavar="P", help="neighbourhood dimension P (default: 2)")
    p.add_argument("--shape", choices=["cross", "box"], default="cross",
                   help="cross-polytope (Humayun et al., default) or box")
    p.add_argument("--seed", type=int, default=0, help="seed of the random directions (default: 0)")
    p.add_argument("--max-regions", type=int, default=None, help="per neighbourhood: stop there (exit status 3)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds for all points (exit status 3)")
    p.add_argument("--progress", action="store_true", help="show a progress bar (on standard error)")
    p.add_argument("--out", help="write one row per point to this CSV file")
    p.set_defaults(func=_cmd_complexity)
    p = sub.add_parser("prune", help="remove the units that are stable on a box (exactly), then optionally prune "
                       "by a criterion", epilog=_epilog([0, 3, 1, 2], "success"), formatter_class=fmt)
    p.add_argument("model", help="network file: .onnx, .nnet or .npz")
    _add_box(p)
    p.add_argument("--vnnlib", metavar="PROP", help="take the domain from a VNN-LIB file's input box")
    p.add_argument("--rtol", type=float, default=1e-9, help="relative margin a stable unit's pre-activation must "
                   "keep from zero (default: 1e-9)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per layer's bound computation; past it "
                   "the later layers are left as they are (exit status 3)")
    p.add_argument("--amount", type=float, default=None, help="then also prune this fraction of hidden units "
                   "(changes the function)")
    p.add_argument("--scope", choices=("layer", "global"), default="layer", help="with --amount: per layer or "
                   "over the whole network (default: layer)")
    p.add_argument("--criterion", choices=("spline", "magnitude"), default="spline", help="with --amount: "
                   "hyperplane redundancy (spline) or weight magnitude (default: spline)")
    p.add_argument("--out", help="write the pruned network to this file (.npz is appended unless it ends so)")
    p.set_defaults(func=_cmd_prune)
    p = sub.add_parser("demo", help="enumerate the regions of the built-in demo network and draw them",
                       epilog=_epilog([0, 1, 2], "success"), formatter_class=fmt)
    p.add_argument("--progress", action="store_true", help="show a progress bar (on standard error)")
    p.add_argument("--out", help="write the partition to this file (.npz is appended unless it ends so)")
    p.add_argument("--png", default="relutope_demo.png",
                   help="write the picture of the partition and its layer-by-layer build-up here "
                        "(default: relutope_demo.png)")
    p.set_defaults(func=_cmd_demo)
    return parser


def _library_flags(args: argparse.Namespace) -> Dict[str, str]:
    """Library argument name -> flag (``max_regions`` -> ``--max-regions``), for the command's options in
    :data:`_LIBRARY_NAMES` (an option's dest is its flag with '_' for '-')."""
    return {name: "--" + name.replace("_", "-") for name in _LIBRARY_NAMES if hasattr(args, name)}


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line and return its exit status (see :data:`EXIT_STATUSES`).

    Bad input gives 2 with the message on stderr (flags spelt as on the command line); argparse's own usage errors
    raise ``SystemExit(2)``. A closed standard output (``relutope ... | head -1``) gives 141 without a message.
    """
    from .errors import RelutopeError

    parser = build_parser()
    args = parser.parse_args(_protect_negative_values(sys.argv[1:] if argv is None else argv))
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at exit
        return status
    except BrokenPipeError:
        # As the Python docs advise (signal module, "Note on SIGPIPE"): send the rest of the output to devnull so
        # that the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("relutope: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, OSError) as exc:
        print(f"relutope: error: {_flag_names(str(exc), _library_flags(args))}", file=sys.stderr)
        return EXIT_USAGE
    except RelutopeError as exc:
        print(f"relutope: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
