"""The command line: ``relutope enumerate``, ``verify``, ``compare-sampling``, ``demo`` (or ``python -m relutope``)."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import numpy as np

__all__ = ["main"]


def _floats(text: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from None


def _load_network(path: str):
    from .io import load_nnet, load_onnx
    from .network import Network

    lower = path.lower()
    if lower.endswith(".npz"):
        return Network.load(path)
    if lower.endswith(".onnx"):
        return load_onnx(path)
    if lower.endswith(".nnet"):
        return load_nnet(path)
    raise ValueError(f"unsupported model file {path!r}: expected .onnx, .nnet or .npz")


def _box(net, lo: np.ndarray, hi: np.ndarray):
    from .domains import Box

    d = net.in_dim
    lo = np.broadcast_to(lo, (d,)) if lo.size == 1 else lo
    hi = np.broadcast_to(hi, (d,)) if hi.size == 1 else hi
    if lo.shape != (d,) or hi.shape != (d,):
        raise ValueError(f"--box needs 1 or {d} values for each bound, got {lo.size} and {hi.size}")
    return Box(lo, hi)


def _report(part, out: Optional[str]) -> None:
    print(part.summary())
    if out:
        part.save(out)
        print(f"partition      written to {out}")


def _cmd_enumerate(args) -> int:
    from .enumerate import enumerate_regions

    net = _load_network(args.model)
    if (args.box is None) == (args.vnnlib is None):
        raise ValueError("give the domain with exactly one of --box LO HI or --vnnlib PROP")
    if args.vnnlib is not None:
        from . import vnnlib

        prop = vnnlib.load(args.vnnlib)
        if prop.n_inputs != net.in_dim:
            raise ValueError(f"{args.vnnlib} has {prop.n_inputs} inputs but the model has {net.in_dim}")
        if len(prop.cases) != 1:
            raise ValueError(f"{args.vnnlib} has {len(prop.cases)} input boxes; --vnnlib takes one")
        domain = prop.cases[0].domain()
    else:
        domain = _box(net, *args.box)
    part = enumerate_regions(net, domain, tol=args.tol, max_regions=args.max_regions, time_limit=args.time_limit,
                             progress=args.progress)
    _report(part, args.out)
    return 0


def _cmd_verify(args) -> int:
    from .verify import verify

    net = _load_network(args.model)
    res = verify(net, args.property, timeout=args.timeout, prune=not args.no_prune)
    word = res.vnncomp if args.vnncomp else res.status
    lines = [word]
    if res.counterexample is not None:
        lines.append("counterexample x = " + " ".join(f"{v:.17g}" for v in res.counterexample))
        lines.append("output y = " + " ".join(f"{v:.17g}" for v in res.output))
    print("\n".join(lines))
    print(f"({res.seconds:.3f} s, {res.regions} regions examined, {res.pruned} cells pruned)")
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(word + "\n")
            if res.counterexample is not None:  # VNN-COMP's witness format
                fh.write("(" + "\n".join(f"(X_{i} {v:.17g})" for i, v in enumerate(res.counterexample)) + "\n")
                fh.write("\n".join(f"(Y_{i} {v:.17g})" for i, v in enumerate(res.output)) + ")\n")
        print(f"result written to {args.out}")
    return 0


def _budgets(text: str) -> List[int]:
    try:
        return [int(v.replace("_", "")) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _cmd_compare_sampling(args) -> int:
    from .compare import compare_sampling

    net = _load_network(args.model)
    domain = _box(net, *args.box)
    res = compare_sampling(net, domain, budgets=args.budgets, seed=args.seed)
    print(res.table())
    if args.out:
        res.to_csv(args.out)
        print(f"table written to {args.out}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import demo_network
    from .enumerate import enumerate_regions

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relutope", description="Exact activation regions of piecewise-affine "
                                     "neural networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("enumerate", help="enumerate the activation regions of a model over a box")
    p.add_argument("model", help="network file: .onnx, .nnet (ACAS Xu format) or .npz (relutope.Network.save)")
    p.add_argument("--box", nargs=2, type=_floats, metavar=("LO", "HI"),
                   help="domain bounds: one number for every coordinate, or comma-separated values")
    p.add_argument("--vnnlib", metavar="PROP", help="take the domain from a VNN-LIB file's input box")
    p.add_argument("--tol", type=float, default=None, help="radius a region must exceed (default: 1e-9 x size)")
    p.add_argument("--max-regions", type=int, default=None, help="stop after this many regions")
    p.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--out", help="write the partition to this .npz file")
    p.set_defaults(func=_cmd_enumerate)
    p = sub.add_parser("verify", help="decide a VNN-LIB property exactly")
    p.add_argument("model", help="network file: .onnx, .nnet or .npz")
    p.add_argument("property", help="VNN-LIB property file (describes the unsafe set)")
    p.add_argument("--timeout", type=float, default=None, help="seconds before giving up (result: unknown)")
    p.add_argument("--out", help="write the result word (and counterexample) to this file")
    p.add_argument("--vnncomp", action="store_true", help="print unsat/sat instead of holds/violated")
    p.add_argument("--no-prune", action="store_true", help="visit every region (no interval pruning)")
    p.set_defaults(func=_cmd_verify)
    p = sub.add_parser("compare-sampling", help="compare the exact regions of a model over a box with uniform sampling")
    p.add_argument("model", help="network file: .onnx, .nnet or .npz")
    p.add_argument("--box", nargs=2, type=_floats, metavar=("LO", "HI"), required=True,
                   help="domain bounds: one number for every coordinate, or comma-separated values")
    p.add_argument("--budgets", type=_budgets, default=[100, 1000, 10000, 100000],
                   help="comma-separated sample sizes, prefixes of one stream (default: 100,1000,10000,100000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample stream (default: 0)")
    p.add_argument("--out", help="also write the table to this CSV file")
    p.set_defaults(func=_cmd_compare_sampling)
    p = sub.add_parser("demo", help="enumerate the regions of the built-in demo network and draw them")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--out", help="write the partition to this .npz file")
    p.add_argument("--png", default="relutope_demo.png",
                   help="write the picture of the partition and its layer-by-layer build-up here "
                        "(default: relutope_demo.png)")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status (2 for bad input, with the message on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"relutope: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
