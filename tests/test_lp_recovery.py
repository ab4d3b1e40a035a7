"""LP breakdowns (issue 16, item 7).

On unbounded domains the capped Chebyshev ball of an unbounded cell can sit anywhere on a face of optima, and the
warm-started dual simplex used to wander out to far, ill-conditioned vertices of it: runs stopped with "LP solver
failed (infeasible)" or "(numerical)" and threw their regions away, or completed with witnesses outside their
regions. The nets below did so before the fix (the first three in under two seconds, ``[6, 15, 15, 1]`` after
606,549 regions). The checks are independent of the LP: every witness's forward pass gives its region's pattern,
the regions do not depend on the radius cap (it moves witnesses, never decides which regions exist), and random
inputs' patterns are all among the regions.
"""
from __future__ import annotations

import numpy as np
import pytest

import relutope


def pattern_set(part) -> set:
    return {p.tobytes() for p in part.patterns}


def check_exact(net, part) -> None:
    np.testing.assert_array_equal(part.patterns, net.activation_pattern(part.witnesses))
    assert np.all(part.radii > part.tol)
    assert len(pattern_set(part)) == len(part)


def check_wholespace(widths, seed, caps, n_regions=None) -> None:
    net = relutope.Network.random(widths, seed=seed)
    parts = [relutope.enumerate_regions(net, relutope.WholeSpace(widths[0]), radius_cap=cap) for cap in caps]
    for part in parts:
        assert part.status == "complete"
        check_exact(net, part)
    if n_regions is not None:
        assert len(parts[0]) == n_regions
    assert all(pattern_set(p) == pattern_set(parts[0]) for p in parts[1:])
    x = np.random.default_rng(0).normal(0.0, 3.0, (20000, widths[0]))
    seen = {p.tobytes() for p in net.activation_pattern(x)}
    assert seen <= pattern_set(parts[0]), "an input's pattern is missing from the partition"


@pytest.mark.parametrize("widths, seed", [([5, 12, 12, 1], 10), ([5, 10, 10, 10, 1], 0), ([6, 12, 12, 1], 2)])
def test_wholespace_nets_that_broke_down(widths, seed):
    # Before: [5, 12, 12, 1] seed 10 completed with 82 witnesses outside their regions, the other two stopped with
    # "LP solver failed (infeasible)" (after 137,495 and 196,274 regions).
    check_wholespace(widths, seed, caps=(1.0, 10.0))


@pytest.mark.slow
def test_wholespace_6_15_15_1():
    # Before: "LP solver failed (infeasible)" after 606,549 regions with radius_cap=1, "(numerical)" after 517,394
    # with radius_cap=2; caps 0.5 and 10 completed with 803,850 regions.
    check_wholespace([6, 15, 15, 1], 0, caps=(1.0, 2.0), n_regions=803850)
