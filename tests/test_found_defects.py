"""Defects found and not yet fixed, each as a strict xfail: it fails today and turns into an error (XPASS) once
fixed, so that the fix must remove the mark.

Each test derives its expected value independently (exact rationals of the float64 weights)."""
import pytest
from oracle import as_pattern_set
from test_dead_units import _CASES, _dead_net, _reference

import relutope


@pytest.mark.xfail(strict=True, reason="check_complete(certify=True) reports gaps across the units after a unit "
                   "exactly 0 on a region (certified_facets / certify_adjacency), though the partition is exact")
def test_certified_check_complete_accepts_an_exact_partition_with_a_dead_unit():
    pytest.importorskip("flint")
    d, scale, centre = _CASES[0]
    net, box = _dead_net(d, scale, centre)
    part = relutope.enumerate_regions(net, box, method="lp")
    assert as_pattern_set(part.patterns) == _reference(d)
    assert part.check_complete(certify=True).ok
