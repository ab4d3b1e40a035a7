"""LP breakdowns (issue 16, item 7).

On unbounded domains the capped Chebyshev ball of an unbounded cell can sit anywhere on a face of optima, and the
warm-started dual simplex used to wander out to far, ill-conditioned vertices of it: runs stopped with "LP solver
failed (infeasible)" or "(numerical)" and threw their regions away, or completed with witnesses outside their
regions. The nets below did so before the fix (the first three in under two seconds, ``[6, 15, 15, 1]`` after
606,549 regions). The checks are independent of the LP: every witness's forward pass gives its region's pattern,
the regions do not depend on the radius cap (it moves witnesses, never decides which regions exist), and random
inputs' patterns are all among the regions.

A breakdown the core cannot repair is forced with the binding's ``lp_max_iter`` hook (dual simplex iterations per
LP): the run then returns what it found, each region exact, with ``status="numerical"``.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pytest

import relutope
from relutope import _core, vnnlib
from relutope.errors import NumericalError


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
        assert part.status == "complete", part.message
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


@pytest.fixture
def lp_max_iter(monkeypatch):
    """Call set(n) to cap every engine LP at n dual simplex iterations (the binding's test hook)."""
    def set_(n: int) -> None:
        for name in ("enumerate_regions", "enumerate_polytopes", "output_bounds", "verify"):
            monkeypatch.setattr(_core, name, functools.partial(getattr(_core, name), lp_max_iter=n))
    return set_


NET = relutope.Network.random([3, 16, 16, 1], seed=0)
BOX = relutope.Box(-np.ones(3), np.ones(3))


def test_breakdown_returns_the_partial_partition(lp_max_iter):
    full = relutope.enumerate_regions(NET, BOX, method="lp")
    assert full.complete and full.message == ""
    lp_max_iter(7)  # the LPs of the first few thousand regions need at most 7 iterations, or recover within them
    part = relutope.enumerate_regions(NET, BOX, method="lp")
    assert part.status == "numerical" and not part.complete
    assert 0 < len(part) < len(full)
    check_exact(NET, part)
    assert pattern_set(part) <= pattern_set(full)
    # The message names the failing cell: a cell of the layers before the unit's, which the full partition refines.
    m = re.fullmatch(r"LP solver failed \(iteration_limit\) inserting unit (\d+) of layer (\d+) into the cell with "
                     r"pattern \[([01 ]+)\] on layers 0\.\.(\d+)", part.message)
    assert m, part.message
    layer, prefix = int(m.group(2)), np.array(m.group(3).split(), dtype=np.int8)
    assert int(m.group(4)) == layer - 1 and int(m.group(1)) < NET.widths[layer + 1]
    assert prefix.size == sum(NET.widths[1:1 + layer])
    assert np.any(np.all(full.patterns[:, : prefix.size] == prefix, axis=1))
    assert "numerical" in part.summary()


@pytest.mark.parametrize("method", ["lp", "polytope"])
def test_breakdown_status_survives_save_and_load(lp_max_iter, tmp_path, method):
    lp_max_iter(3 if method == "polytope" else 7)  # the polytope path's Chebyshev LPs take about 2k iterations
    part = relutope.enumerate_regions(NET, BOX, method=method)
    assert part.status == "numerical" and part.message.startswith("LP solver failed (iteration_limit)")
    check_exact(NET, part)
    part.save(tmp_path / "p.npz")
    back = relutope.Partition.load(tmp_path / "p.npz")
    assert back.status == "numerical" and len(back) == len(part)


def test_output_bounds_on_breakdown_hold_over_the_regions_visited(lp_max_iter):
    full = relutope.output_bounds(NET, BOX)
    assert full.complete
    lp_max_iter(6)
    part = relutope.output_bounds(NET, BOX)
    assert part.status == "numerical" and not part.complete and part.regions > 0
    assert np.all(part.lower >= full.lower - 1e-12) and np.all(part.upper <= full.upper + 1e-12)
    assert part.lower[0] > full.lower[0]  # the breakdown came before the minimiser's region: a partial bound
    np.testing.assert_allclose(NET(part.argmax)[:, 0], part.upper, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(NET(part.argmin)[:, 0], part.lower, rtol=1e-9, atol=1e-12)


def test_verify_on_breakdown_is_unknown(lp_max_iter):
    upper = relutope.output_bounds(NET, BOX).upper[0]
    # Unsafe: y >= upper + 1, which no input reaches.
    prop = vnnlib.Property(cases=[vnnlib.Case(-np.ones(3), np.ones(3), [(np.array([[-1.0]]), np.array([-upper - 1]))])],
                           n_inputs=3, n_outputs=1)
    assert relutope.verify(NET, prop).status == "holds"
    lp_max_iter(6)
    result = relutope.verify(NET, prop, prune=False)
    assert result.status == "unknown"
    assert result.cases[0]["status"] == "numerical"


def test_min_adversarial_on_breakdown_raises(lp_max_iter):
    pytest.importorskip("cvxpy")
    net = relutope.Network.random([3, 16, 16, 2], seed=0)
    x0 = np.zeros(3)
    label = int(np.argmax(net(x0[None])[0]))
    lp_max_iter(3)
    with pytest.raises(NumericalError, match="LP solver failed"):
        relutope.min_adversarial(net, x0, label, radius=0.5, max_radius=1.0)
