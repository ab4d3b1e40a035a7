"""The per-case pieces of verification shared by :func:`relutope.verify` and its Dask path
(:func:`relutope.distributed.verify_distributed`): the property's argument checks, the counterexample search and
the input splitting of a case's box (both in the compiled core, GIL released)."""
from __future__ import annotations

import numbers
import os
from typing import Optional

import numpy as np

from ._checks import check_network
from .network import Network

# The counterexample search's start candidates on the box's boundary (AttackOptions::faces): the centres of its faces
# of dimension 0..FACE_DIM, vertices and edge midpoints (112 points on ACAS Xu's 5 inputs). 1_9 property 7's
# counterexample lies near an edge (four inputs at bounds) and is met from an edge midpoint in under a millisecond,
# where random face restarts needed about 1,000 descents (0.014 s) to find it 17 times in 20.
FACE_DIM = 1
# Seconds of random face restarts at least before the first open box is enumerated (verify's restart search).
RESTART_FLOOR = 0.0

__all__ = ["case_terms", "check_property", "check_split_options", "falsify", "split_case"]


def check_property(net: Network, spec, timeout):
    """``spec`` as a :class:`relutope.vnnlib.Property` (loaded when a path), checked against ``net`` and
    ``timeout``; the argument checks of :func:`relutope.verify` and :func:`relutope.distributed.verify_distributed`.

    Raises TypeError (``net`` not a Network, ``spec`` not a property or path) or ValueError (sizes that do not match
    the network, ``timeout`` not a positive number)."""
    from . import vnnlib

    check_network(net)
    if isinstance(spec, (str, os.PathLike)):
        spec = vnnlib.load(spec)
    if not isinstance(spec, vnnlib.Property):
        raise TypeError(f"spec must be a relutope.vnnlib.Property or a path, got {type(spec).__name__}")
    if spec.n_inputs != net.in_dim or spec.n_outputs != net.out_dim:
        raise ValueError(f"spec has {spec.n_inputs} inputs and {spec.n_outputs} outputs but the network has "
                         f"{net.in_dim} and {net.out_dim}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, numbers.Real)
                                or not timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return spec


def check_split_options(split_max_dims, split_depth, split_boxes, split_candidates) -> None:
    """The input splitting's options of :func:`relutope.verify`: non-negative ints (``split_depth`` and
    ``split_candidates`` may be None), ``split_candidates`` positive; ValueError naming the option."""
    for name, value in (("split_max_dims", split_max_dims), ("split_depth", split_depth),
                        ("split_boxes", split_boxes), ("split_candidates", split_candidates)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                                  or value < 0):
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if split_candidates is not None and split_candidates < 1:
        raise ValueError(f"split_candidates must be a positive int, got {split_candidates!r}")


def case_terms(net: Network, case):
    """A case's terms as float64 ``(C (r, n_outputs), d (r,))`` pairs and its box ``(lo, hi)``."""
    terms = [(np.atleast_2d(np.asarray(C, dtype=np.float64)).reshape(-1, net.out_dim),
              np.atleast_1d(np.asarray(d, dtype=np.float64))) for C, d in case.terms]
    return terms, np.asarray(case.box_lo, dtype=np.float64), np.asarray(case.box_hi, dtype=np.float64)


def falsify(net: Network, lo: np.ndarray, hi: np.ndarray, terms, rng: np.random.Generator,
            samples: int = 256, starts: int = 8, steps: int = 40, time_limit: Optional[float] = None,
            restarts: int = 0, faces: Optional[int] = None) -> Optional[np.ndarray]:
    """A point of the box ``[lo, hi]`` whose output lies in one of ``terms`` (``C y <= d``), or None.

    In the core (``_core.falsify``, GIL released): the box's centre, the centres of its faces of dimension 0 to
    ``faces`` (default ``FACE_DIM``; vertices, edge midpoints, ...: as many dimensions as fit in 2,048 points; -1:
    none) and ``samples`` uniform samples, then projected (sign) gradient descent on the violation
    ``min_t max_r (C_r y - d_r)`` from the ``starts`` best of them, ``steps`` steps each with step sizes from 0.25 down to 1e-4 of the box's widths, the gradient being
    the region's affine map (back-propagated through the pieces each point's activation pattern chooses) and the
    projection a clip to the box (Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks",
    ICLR 2018). Then ``restarts`` further descents (until ``time_limit``), each from a random point of the box's
    faces: every input at its lower bound, its upper bound or uniform between with probability 1/3 each (a
    piecewise-affine violation is often least on the boundary; with ``steps=0`` this is sampling of the faces).
    Every point is evaluated by a forward pass; the point returned is re-checked here by
    :meth:`Network.__call__` (None when that pass disagrees), so it is a counterexample without tolerance.
    """
    from . import _core

    out = _core.falsify(net._core(), np.ascontiguousarray(lo, dtype=np.float64),
                        np.ascontiguousarray(hi, dtype=np.float64), terms, int(samples), int(starts), int(steps),
                        int(rng.integers(2 ** 63)), np.zeros((0, net.in_dim)),
                        -1.0 if time_limit is None else max(float(time_limit), 0.0), int(restarts),
                        FACE_DIM if faces is None else int(faces))
    if not out["found"]:
        return None
    x = out["x"]
    y = net(x[None, :])[0]
    if any(np.all(C @ y <= d) for C, d in terms if C.shape[0]):
        return x
    return None


# The adaptive split budget (SplitOptions::pace_from, pace_window): from PACE_FROM boxes on, the splitting hands
# every box left to the exact enumeration once the volume closed per box over the last PACE_WINDOW boxes would not
# close the case's box within split_boxes. With the merging below, on the 186 VNN-COMP 2021 ACAS Xu instances
# (bench/bench_verify_policy.py, bench/results/verify_policy_s27.txt) 64 took 0.58 of the CPU time of a fixed
# budget (0 here), 32 0.69 (the prop-2 counterexamples that the best-first boxes' descents find came later) and
# 96 / 128 1.06-1.09 of 64's. Since the split score (the smear plus the relaxation's looseness by input, session
# 29) the splitting closes most properties 1-4 that hold by itself: 2_9:1 in 741 bounds, which the smear alone had
# not closed in 20,000, so the budget is larger (verify's split_boxes 1024) and the pace is judged later and over
# more boxes. On the 186 instances (bench/results/verify_policy_s29.txt; with SPLIT_ATTACK_STARTS 2) 1024 boxes
# from 256 over 128 took 14.16 s of CPU, 4096 from 512 over 256 13.21 s, 512 from 128 over 64 17.27 s and 256 from
# 64 over 32 17.39 s; 1024 is kept for the instances of bench_verify.py, where 4096 made 1_1:3 (0.375 against
# 0.180 s) and 3_3:2 (1.82 against 1.40 s) slower.
# In session 30 (bench/results/verify_policy_s30.txt) 192 over 96 took 15.95 s and 128 over 128 16.28 s against
# 15.07 s (the property-1 instances that close fast after a slow start, 4_6:1, 5_9:1, 3_8:1, handed over early),
# though 1_1:3 and 3_3:2 gained a tenth.
PACE_FROM, PACE_WINDOW = 256, 128
# SplitOptions::merge_closed: a box of the split tree whose refuted part is at most MERGE_CLOSED of its volume is
# handed to the exact enumeration whole rather than as its open descendants (0: off).
MERGE_CLOSED = 0.25  # 0.1: 1.03 of 0.25's CPU time on properties 1-2
# SplitOptions::attack_steps: the sign-gradient steps of the descent from each box's LP minimiser while the boxes are
# taken best first (with search=True).
SPLIT_ATTACK_STEPS = 20
# SplitOptions::attack_starts: descents per box, from the LP minimiser and the box's centre (2) or from the less
# violated of them (1). 5_3:2's counterexample lies at the far end of its boxes from their minimisers along an
# input never split: found after 1,709 boxes with 1 (0.58 s), 139 with 2 (0.064 s); 2 took 1.08 of 1's CPU time on
# the 186 instances, the rest on properties that hold.
SPLIT_ATTACK_STARTS = 2
# SplitOptions::attack_share: the descents only while they have taken at most this fraction of the splitting's time
# (0: in every box). 0.35 saved a fifth of the time of 1_1:4 and 1_1:2 (properties that hold), but which boxes
# get a descent then depends on the machine's speed: in one run of the 186 instances 5_3:2's counterexample came
# 3.5x and 1_3:2's 3.7x later, and 0.25 had 5_3:2's after 952 boxes instead of 139. Off.
SPLIT_ATTACK_SHARE = 0.0
# SplitOptions::attack_patience: each of those descents ends after this many steps in a row without a new least
# violation (0: never). On the 186 instances 5 took 0.98 of 0's CPU time (3: 0.99, with 1_3:2 5.7x slower) and
# 0.90 of its instructions in the splitting of 2_1:3, 1_1:4, 1_2:4, 5_3:2 and 1_2:2.
SPLIT_ATTACK_PATIENCE = 5
# SplitOptions::attack_min_gain: a step counts as progress (resets the patience) only when it lowers the least
# violation by more than this fraction of it; sign-gradient steps keep shaving a little off and ran nearly all
# SPLIT_ATTACK_STEPS steps. On the 186 instances (bench/bench_verify_policy.py, one run each) 0.01 took 16.22 s of
# CPU against 16.85 s for 0 (0.02 15.97 s), every counterexample met after as many boxes as with 0 (1_3:2, 1_5:2,
# 4_9:2, 5_3:2 ...); 0.05 had 1_3:2's after 274 boxes instead of 41.
SPLIT_ATTACK_MIN_GAIN = 0.01
# SplitOptions::point_slopes: a box that its bound does not refute is bounded once more with the lower
# relaxations exact at the bound's minimiser (Relaxation::point_slopes: each unstable ReLU's lower slope 1 where it
# is active there, else 0, in place of CROWN's choice by its bounds). On the 22 instances of bench_verify.py it
# saved 8-10% of the bounds (1_1:4 285 against 317, 2_1:3 109 against 121, 1_1:2 339 against 369), and on the
# 186 instances (bench/bench_verify_policy.py, one run each) the CPU time was 16.15 s against 17.01 s without.
SPLIT_POINT_SLOPES = True
# SplitOptions::attack_gap: the descents only in boxes whose bound tmin < 0 leaves a counterexample more than this
# fraction of the range between it and the violation v at the bound's minimiser (-tmin > gap (v - tmin); 0.5: v <
# -tmin, the minimiser's violation above 0 less than the bound below it). In boxes that hold, the descents kept
# finding the same least violation (1_1:4: 0.034 in most of its 142 descended boxes, 21 passes each) while the
# bound closed in on 0. On the 186 instances (bench/bench_verify_policy.py, bench/results/verify_policy_s31_gap.txt)
# 0.5 took 0.99 of 0's CPU time, 1_1:4 0.79, 2_1:3 0.79, 1_2:4 0.80, every counterexample after as many boxes (up to
# 0.7 on the 7 found by the splitting, 1_6:2 ... 5_3:2).
SPLIT_ATTACK_GAP = 0.5


def split_case(net: Network, lo: np.ndarray, hi: np.ndarray, terms, split_depth: Optional[int], split_boxes: int,
               time_limit: Optional[float], split_candidates: Optional[int], search: bool,
               pace_from: Optional[int] = None) -> dict:
    """The input splitting of :func:`relutope.verify` on one case's box, in the core (``_core.split_verify``).

    Branch and bound on the box: CROWN / DeepPoly bounds per box and one LP per box deciding whether they allow a
    term, boxes halved along the input of the largest score (ReluVal's smear plus the relaxation's looseness by
    input, each as a fraction of its sum: ``Relaxation::input_looseness`` in cpp/include/relutope/relaxation.hpp)
    or by strong branching over ``split_candidates`` inputs, up to ``split_depth`` halvings (default
    ``8 * free inputs``) and ``split_boxes`` boxes; with ``search`` ``SPLIT_ATTACK_STARTS``
    ``SPLIT_ATTACK_STEPS``-step descents from each box's LP minimiser and centre (ended after
    ``SPLIT_ATTACK_PATIENCE`` steps without lowering the least violation by ``SPLIT_ATTACK_MIN_GAIN`` of it)
    while they have taken at most ``SPLIT_ATTACK_SHARE`` of the splitting's time, in boxes whose bound leaves a
    counterexample more than ``SPLIT_ATTACK_GAP`` of the range up to the minimiser's violation; a box its bound
    leaves open is bounded once more with the lower relaxations exact at the bound's minimiser
    (``SPLIT_POINT_SLOPES``). With ``pace_from > 0`` (default ``PACE_FROM``, 0: off) the budget is adaptive: from
    ``pace_from`` boxes on, every box left goes to the exact enumeration as soon as the volume closed per box over
    the last ``PACE_WINDOW`` boxes, kept up for the rest of the budget, would not close the box. What is left open
    is merged (``MERGE_CLOSED``): a box of the split tree whose refuted part is at most that fraction of its volume
    is handed over whole (never the root once split). ``split_candidates`` None: 3 (at most the free inputs) for
    networks with units of more than two pieces, else 1 (see :func:`relutope.verify`).

    Returns the core's dict (``status`` 1: ``counterexample`` for ``term`` found, 3: a limit stopped it, else
    the boxes ``open_lo``, ``open_hi`` (B, n_inputs) with ``open_score``; ``boxes``, ``closed_fraction`` of the
    volume proven safe; ``paced``: handed over before the budget, behind the pace; ``merged``: open boxes handed
    over inside larger ones)."""
    from . import _core

    free = int(np.count_nonzero(hi > lo))
    depth = 8 * free if split_depth is None else int(split_depth)
    if split_candidates is None:
        many_pieces = any(int(np.max(layer.n_pieces)) > 2 for layer in net.layers)
        split_candidates = min(3, free) if many_pieces else 1
    return _core.split_verify(net._core(), lo, hi, terms, depth, int(split_boxes),
                              -1.0 if time_limit is None else time_limit, max(int(split_candidates), 1),
                              SPLIT_ATTACK_STEPS if search else 0, PACE_FROM if pace_from is None else int(pace_from),
                              PACE_WINDOW, float(MERGE_CLOSED), int(SPLIT_ATTACK_PATIENCE), int(SPLIT_ATTACK_STARTS),
                              float(SPLIT_ATTACK_SHARE), 0, bool(SPLIT_POINT_SLOPES), float(SPLIT_ATTACK_MIN_GAIN),
                              float(SPLIT_ATTACK_GAP))
