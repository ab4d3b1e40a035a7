"""A cell's relaxation (CellRelaxation::compute) over 5 inputs, as on ACAS Xu: the LP box and the LP-tightened
layer bounds (set_min), each LP warm-started from the optimum of an earlier LP over the same cell, leave the exact
results unchanged. Checked against the unpruned enumeration (one exact LP per region and row, no relaxation),
off-centre, at scales 1e-6, 1 and 1e6 of the inputs and the outputs."""
import numpy as np
import pytest

import relutope
from test_verify_pruning import SCALES, samples, scaled_net, unsafe_above

WIDTHS = (5, 10, 10, 10, 10, 2)


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("seed", [0, 2])  # seed 1 at 1e6: the unpruned enumeration stops "numerical" (main too)
def test_pruned_output_bounds_over_five_inputs_equal_the_exact_region_bounds(s, seed):
    net, box = scaled_net(seed, s, WIDTHS)
    C = np.array([[1.0, -1.0], [0.5, 2.0]])
    exact = relutope.output_bounds(net, box, C, prune=False)
    pruned = relutope.output_bounds(net, box, C, prune=True)
    assert exact.complete and pruned.complete
    assert pruned.pruned > 0 and pruned.regions < exact.regions
    scale = np.max(np.abs(np.r_[exact.upper, exact.lower]))
    np.testing.assert_allclose(pruned.upper, exact.upper, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(pruned.lower, exact.lower, rtol=0, atol=1e-9 * scale)
    y = net(samples(box, 4000, seed)) @ C.T
    assert np.all(y <= pruned.upper + 1e-9 * scale) and np.all(y >= pruned.lower - 1e-9 * scale)


@pytest.mark.parametrize("s", SCALES)
def test_verdicts_over_five_inputs_at_the_exact_maximum(s):
    net, box = scaled_net(4, s, WIDTHS)
    row = np.array([1.0, -0.5])
    top = relutope.output_bounds(net, box, row[None, :], prune=False).upper[0]
    gap = 1e-6 * abs(top)
    held = relutope.verify(net, unsafe_above(box, row, top + gap), split_boxes=0)
    assert held.status == "holds"
    assert held.cases[0]["pruned"] > held.cases[0]["parent_pruned"]  # cells pruned by compute()'s bounds
    res = relutope.verify(net, unsafe_above(box, row, top - gap), split_boxes=0)
    assert res.status == "violated"
    assert row @ net(res.counterexample[None, :])[0] >= top - gap - 1e-9 * abs(top)
