"""One integer check (relutope._checks.check_int) behind every module's count arguments: the same exceptions and
the same messages wherever a count is refused (they were three near-identical private checkers)."""
import numpy as np
import pytest

import relutope
from relutope import gaussian, polygons, sampling
from relutope import generative as gen
from relutope._checks import check_int

BOX = relutope.Box([-1.0, -1.0], [1.0, 1.0])
SQ = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
NET = relutope.Network.random([2, 3, 1], seed=0)

# (id, call(value), argument name, smallest value accepted, largest or None)
COUNTS = [
    ("sample_points n", lambda v: sampling.sample_points(BOX, v), "n", 1, None),
    ("line_density n_lines", lambda v: sampling.line_density(NET, BOX, v), "n_lines", 1, None),
    ("shared_edges chunk", lambda v: polygons.shared_edges([0, 4], SQ, 0.0, 0.0, chunk=v), "chunk", 1, None),
    ("polytope_masses replicates", lambda v: gaussian.polytope_masses([0, 3], np.eye(3), np.ones(3), replicates=v),
     "replicates", 2, None),
    ("entropy_monte_carlo n", lambda v: gen.entropy_monte_carlo(_latent(), n=v), "n", 2, None),
    ("enumerate_regions max_regions", lambda v: relutope.enumerate_regions(NET, BOX, max_regions=v), "max_regions",
     0, 2 ** 63 - 1),
]


def _latent():
    return relutope.enumerate_regions(relutope.Network.random([2, 4, 3], seed=0), relutope.WholeSpace(2))


@pytest.mark.parametrize("call, name, low, high", [pytest.param(*r[1:], id=r[0]) for r in COUNTS])
def test_counts_are_refused_alike_in_every_module(call, name, low, high):
    bound = f"between {low} and {high}" if high is not None else f">= {low}"
    with pytest.raises(ValueError, match=rf"^{name} must be {bound}, got {low - 1}$"):
        call(low - 1)
    if high is not None:
        with pytest.raises(ValueError, match=rf"^{name} must be {bound}, got {high + 1}$"):
            call(high + 1)
    bads = [(2.0, "float"), (True, "bool"), ("3", "str")] + ([] if name == "max_regions" else [(None, "NoneType")])
    for bad, kind in bads:  # (max_regions=None: no limit)
        with pytest.raises(TypeError, match=rf"^{name} must be an int, got {kind}$"):
            call(bad)


def test_the_private_copies_are_gone():
    from relutope import enumerate as enum

    assert not hasattr(sampling, "_check_positive_int") and not hasattr(gaussian, "_check_int")
    # enumerate._check_positive keeps its real-number check and hands integers to check_int
    assert enum._check_positive(np.int64(5), "k", integer=True) == 5 and enum._check_positive(None, "k") is None


def test_check_int_bounds_and_types():
    assert check_int(np.uint16(7), "n") == 7 and type(check_int(np.int8(3), "n")) is int
    assert check_int(0, "n", low=0, high=0) == 0
    with pytest.raises(ValueError, match=r"^n must be between -2 and 2, got 3$"):
        check_int(3, "n", low=-2, high=2)
    with pytest.raises(TypeError, match=r"^n must be an int, got bool$"):
        check_int(np.bool_(True), "n")
