"""Side by side with relucent (PyPI ``relucent``, Gurobi's size-limited licence): Betti numbers of the decision
boundary ``{f = 0}`` of the same nets in the whole input space, and the times.

relucent is not a dependency of relutope: run this in a separate environment that has both, e.g.

    python3.11 -m venv /path/venv-relucent && /path/venv-relucent/bin/pip install relucent torch numpy scipy
    PYTHONPATH=python /path/venv-relucent/bin/python bench/compare_relucent.py

The nets are ``relutope.Network.random(widths, seed)`` (its documented recipe, rebuilt as a ``torch.nn.Sequential``
of float64 ``Linear``/``ReLU`` layers). relucent's recipe for a decision boundary: a ReLU appended to the output
(``add_output_relu``), the complex of the whole space explored by BFS (``explore_for_topology``), then
``Complex.boundary_complex(i)`` of the output neuron ``i`` and its ``betti_numbers()`` (unbounded cells truncated at
infinity). relutope's: ``enumerate_regions`` on ``WholeSpace(d)`` and ``topology.decision_complex`` (compactified by
a box holding every vertex), then ``betti_numbers(cx, "boundary")``. relucent needs a simple (generic) arrangement,
so the closed forms of the tests (``|x| = relu(x) + relu(-x)``) are refused by it (``NonGenericArrangementError``).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import relutope
from relutope import topology as T


def recipe(widths, seed):
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        W = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_out, fan_in))
        b = rng.normal(0.0, 0.1, fan_out)
        out.append((W, b))
    return out


def relucent_boundary(weights):
    import torch
    import torch.nn as nn
    from relucent import Complex, add_output_relu, explore_for_topology

    layers = []
    for i, (W, b) in enumerate(weights):
        lin = nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight[:] = torch.tensor(W)
            lin.bias[:] = torch.tensor(b)
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(nn.ReLU())
    model = add_output_relu(nn.Sequential(*layers))
    t0 = time.perf_counter()
    cx = Complex(model)
    explore_for_topology(cx)
    t1 = time.perf_counter()
    n_hidden = sum(W.shape[0] for W, _ in weights[:-1])
    bd = cx.boundary_complex(n_hidden)
    betti = bd.betti_numbers()
    t2 = time.perf_counter()
    d = weights[0][0].shape[1]
    return [int(betti.get(j, 0)) for j in range(d)], len(cx), t1 - t0, t2 - t1


def relutope_boundary(weights):
    net = relutope.Network.from_weights(weights)
    d = net.in_dim
    t0 = time.perf_counter()
    part = relutope.enumerate_regions(net, relutope.WholeSpace(d))
    t1 = time.perf_counter()
    cx = T.decision_complex(part)
    b = T.betti_numbers(cx, "boundary")[:d]
    t2 = time.perf_counter()
    return b, len(part), t1 - t0, t2 - t1


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="2-8-8-1:0,2-8-8-1:1,2-8-8-1:2,2-10-10-1:0,2-10-10-1:5,3-6-6-1:0",
                    help="comma-separated widths:seed")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"{'net':>12} {'seed':>4} | {'relutope beta':>14} {'regions':>7} {'enum s':>7} {'topo s':>7} | "
          f"{'relucent beta':>14} {'cells':>6} {'bfs s':>7} {'topo s':>7} | agree  speed-up")
    for case in args.cases.split(","):
        wtxt, seed = case.split(":")
        widths = [int(x) for x in wtxt.split("-")]
        weights = recipe(widths, int(seed))
        a = relutope_boundary(weights)
        try:
            b = relucent_boundary(weights)
        except Exception as exc:  # a refusal by relucent is a result of the comparison, not a failure of it
            print(f"{wtxt:>12} {seed:>4} | {str(a[0]):>14} {a[1]:>7} {a[2]:>7.3f} {a[3]:>7.3f} | relucent: "
                  f"{type(exc).__name__}: {str(exc)[:80]}")
            continue
        print(f"{wtxt:>12} {seed:>4} | {str(a[0]):>14} {a[1]:>7} {a[2]:>7.3f} {a[3]:>7.3f} | {str(b[0]):>14} "
              f"{b[1]:>6} {b[2]:>7.2f} {b[3]:>7.2f} | {'yes' if a[0] == b[0] else 'NO':>5}  "
              f"{(b[2] + b[3]) / (a[2] + a[3]):>7.0f}x", flush=True)


if __name__ == "__main__":
    main()
