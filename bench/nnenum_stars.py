"""Driver run by bench/bench_region_table.py in nnenum's interpreter: every star of a ReLU MLP over a box.

    NNENUM_PYTHON NNENUM_DRIVER weights.npz dtype out.npz

``weights.npz`` holds ``W0, b0, W1, b1, ...`` (float64, ``W`` shaped (out, in), ReLU after every layer but the
last) and the box ``lo, hi`` (float64). ``dtype`` is ``float32`` or ``float64``: the weights and the box are cast
to it and nnenum (Bak, "nnenum: Verification of ReLU Neural Networks with Optimized Abstraction Refinement",
NFM 2021) enumerates every star in its exact mode (``Settings.BRANCH_MODE = BRANCH_EXACT``, no specification,
one process; floating-point underflow ignored, numpy's default, where nnenum raises by default:
``NNENUM_UNDERFLOW=raise`` restores that). Each finished star is a polytope of the input with one activation pattern; for each its LP's
Chebyshev centre (scipy HiGHS on the star's constraints in nnenum's compressed input coordinates, mapped back
to the input in float64) and radius are saved to ``out.npz`` as ``points`` (S, d) and ``radii`` (S,), its activation
pattern as ``patterns`` (S, hidden units) int8 (1 = active: the branch taken at every split of the star, and for
the units nnenum never split on it, stable in its bounds, the sign of its own forward pass at the centre), with
``seconds`` (nnenum's own enumeration time, the Chebyshev LPs excluded).
"""
import os
import sys
import time

import numpy as np
from scipy.optimize import linprog

from nnenum.enumerate import enumerate_network
from nnenum.network import weights_biases_to_nn
from nnenum.settings import Settings
from nnenum import worker as nnenum_worker

src, dtype_name, out = sys.argv[1], sys.argv[2], sys.argv[3]
dtype = {"float32": np.float32, "float64": np.float64}[dtype_name]
data = np.load(src)
n_layers = sum(1 for k in data.files if k.startswith("W"))
weights = [data[f"W{i}"] for i in range(n_layers)]
biases = [data[f"b{i}"] for i in range(n_layers)]
box = np.stack([data["lo"], data["hi"]], axis=1).astype(dtype)

network = weights_biases_to_nn(weights, biases, dtype=dtype)
Settings.NUM_PROCESSES = 1
Settings.PRINT_OUTPUT = True  # so that a worker's exception is printed (the bench keeps the log)
Settings.PRINT_PROGRESS = False
Settings.BRANCH_MODE = Settings.BRANCH_EXACT
# nnenum raises on floating-point underflow by default (np.seterr(under='raise')); its float32 run on ACAS Xu 1_1
# property 3 stopped with result "error" after 19,593 stars that way (no traceback kept). numpy's default:
Settings.UNDERFLOW_BEHAVIOR = os.environ.get("NNENUM_UNDERFLOW", "ignore")
Settings.TIMEOUT = np.inf

stars = []  # (A, b, lb, ub, init_bm, init_bias) of every finished star: its polytope in compressed coordinates
original = nnenum_worker.Worker.finished_star


def finished_star(self):
    star = self.priv.ss.star
    lpi = star.lpi
    A = lpi.get_constraints_csr().toarray()
    b = lpi.get_rhs()
    bounds = lpi._get_col_bounds()
    bm = None if star.init_bm is None else np.array(star.init_bm, dtype=np.float64)
    bias = None if star.init_bias is None else np.array(star.init_bias, dtype=np.float64)
    stars.append((A, b, bounds, bm, bias, list(self.priv.ss.branch_tuples)))
    original(self)


nnenum_worker.Worker.finished_star = finished_star
t = time.perf_counter()
res = enumerate_network(box, network)
seconds = time.perf_counter() - t

relu_layers = [i for i, layer in enumerate(network.layers) if type(layer).__name__ == "ReluLayer"]
points, radii, patterns = [], [], []
for A, b, bounds, bm, bias, branches in stars:
    k = len(bounds)
    rows = [A] + [np.eye(k)[i:i + 1] for i in range(k) if np.isfinite(bounds[i][1])] + \
           [-np.eye(k)[i:i + 1] for i in range(k) if np.isfinite(bounds[i][0])]
    rhs = [b] + [[bounds[i][1]] for i in range(k) if np.isfinite(bounds[i][1])] + \
          [[-bounds[i][0]] for i in range(k) if np.isfinite(bounds[i][0])]
    G, h = np.vstack(rows), np.concatenate(rhs)
    norms = np.linalg.norm(G, axis=1)
    lp = linprog(np.r_[np.zeros(k), -1.0], A_ub=np.c_[G, norms], b_ub=h, bounds=[(None, None)] * k + [(0, None)],
                 method="highs")
    u = lp.x[:k] if lp.status == 0 else np.full(k, np.nan)
    x = u if bm is None else bm @ u
    if bias is not None:
        x = x + bias
    points.append(x)
    radii.append(lp.x[k] if lp.status == 0 else -1.0)
    # the star's pattern: the sign it was given at every split, and for the units never split (stable on the
    # star, in nnenum's own bounds) the sign of nnenum's forward pass in its dtype at the centre
    if lp.status == 0:
        _, branch_list = network.execute(x.astype(dtype), save_branching=True)
        signs = [np.array(branch_list[i], dtype=np.int8) for i in relu_layers]
    else:
        signs = [np.zeros(network.layers[i].get_output_shape(), dtype=np.int8).ravel() for i in relu_layers]
    for layer_index, neuron, positive in branches:
        signs[relu_layers.index(layer_index)][neuron] = 1 if positive else 0
    patterns.append(np.concatenate(signs))
np.savez(out, points=np.array(points, dtype=np.float64).reshape(len(points), -1), radii=np.array(radii),
         patterns=np.array(patterns, dtype=np.int8).reshape(len(points), -1), seconds=seconds,
         result=res.result_str, total_stars=res.total_stars)
print(f"{len(points)} stars in {seconds:.1f} s")
