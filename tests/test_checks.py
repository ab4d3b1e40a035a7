"""One integer check (relutope._checks.check_int) behind every module's count arguments: the same exceptions and
the same messages wherever a count is refused (they were three near-identical private checkers)."""
import functools

import numpy as np
import pytest

import relutope
import relutope.graph
import relutope.tables
from relutope import (certificates, complexity, early_bird, exact, exact_lp, gaussian, plot, polygons, pruning,
                      region_stats, sampling, topology)
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
    # the exact 2-D path ignored the sampling arguments, and chunk was never checked:
    ("polytope_masses exact replicates", lambda v: gaussian.polytope_masses([0, 2], np.eye(2), np.ones(2),
                                                                            replicates=v), "replicates", 2, None),
    ("polytope_masses chunk", lambda v: gaussian.polytope_masses([0, 3], np.eye(3), np.ones(3), chunk=v), "chunk",
     1, None),
    ("entropy_monte_carlo n", lambda v: gen.entropy_monte_carlo(_latent(), n=v), "n", 2, None),
    ("enumerate_regions max_regions", lambda v: relutope.enumerate_regions(NET, BOX, max_regions=v), "max_regions",
     0, 2 ** 63 - 1),
    ("directions n_points", lambda v: complexity.directions(v, 2, 1), "n_points", 0, None),
    ("directions d", lambda v: complexity.directions(1, v, 0), "d", 0, None),
    ("local_complexity n_dirs", lambda v: complexity.local_complexity(NET, np.zeros(2), 1.0, v), "n_dirs", 1, 2),
    ("data_slices n_slices", lambda v: region_stats.data_slices(np.eye(4)[:, :3] + 1.0, v), "n_slices", 1, None),
    ("solve_lp_exact max_pivots", lambda v: exact_lp.solve_lp_exact([1.0], [[1.0]], [1.0], max_pivots=v),
     "max_pivots", 0, None),
    ("norm_bounds bits", lambda v: exact_lp.norm_bounds([[3.0, 4.0]], bits=v), "bits", 1, None),
    ("sublevel_persistence output", lambda v: topology.sublevel_persistence(_complex(), v), "output", 0, 0),
    ("plot.partition layer", lambda v: plot.partition(_part(), color="layer", layer=v), "layer", 0, 1),
    ("hyperplane_similarity layer", lambda v: pruning.hyperplane_similarity(NET, v), "layer", 0, 1),
    ("exact_layer_pieces layer", lambda v: exact.exact_layer_pieces(NET, [0, 0, 0], v), "layer", 0, 1),
    ("grid_points n", lambda v: early_bird.grid_points(BOX, v), "n", 1, None),
    ("EarlyBirdDetector window", lambda v: early_bird.EarlyBirdDetector(abs, window=v), "window", 2, None),
    ("certify_witnesses chunk", lambda v: certificates.certify_witnesses(_part(), chunk=v), "chunk", 1, None),
    ("Box.sample n", lambda v: BOX.sample(v), "n", 0, None),  # int(n): 2.5 drew 2 points
    # checked only when a point on a boundary needed the neighbour search, and then named max_patterns:
    ("compare_regions max_neighbours", lambda v: relutope.compare_regions(_part(), _part().witnesses[:1],
                                                                          max_neighbours=v), "max_neighbours", 1, None),
]


@functools.lru_cache(maxsize=None)
def _part():
    return relutope.enumerate_regions(NET, BOX)


@functools.lru_cache(maxsize=None)
def _complex():
    return topology.decision_complex(_part())


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


def test_region_indices_are_checked_not_truncated():
    """exact_ranks and certify_facets cast ``regions`` to int64: 0.5 became region 0 and -1 the last region,
    answered as if asked (relutope._checks.check_indices now refuses both)."""
    from relutope._checks import check_indices
    from relutope.certified_facets import certify_facets
    from relutope.generative import exact_ranks

    part = _part()
    R = len(part)
    for call in (lambda r: exact_ranks(part, r), lambda r: certify_facets(part, r).regions):
        assert len(call(np.array([R - 1, 0]))) == 2
        with pytest.raises(TypeError, match=r"^regions must be an array of integer indices, got dtype float64$"):
            call([0.5])
        with pytest.raises(TypeError, match="regions must be an array of integer indices"):
            call([True])
        for bad in (-1, R):
            with pytest.raises(ValueError, match=rf"^regions must be indices in \[0, {R}\), got {bad}$"):
                call([0, bad])
    assert check_indices([], "regions", 0).dtype == np.int64 and check_indices(np.uint8([[1, 2]]), "r", 3).tolist() \
        == [1, 2]


@pytest.mark.parametrize("call", [
    pytest.param(lambda p: relutope.graph.region_adjacency(p), id="region_adjacency"),
    pytest.param(lambda p: relutope.graph.adjacency_graph(p), id="adjacency_graph"),
    pytest.param(lambda p: relutope.graph.linear_regions(p), id="linear_regions"),
    pytest.param(lambda p: relutope.graph.check_complete(p), id="check_complete"),
    pytest.param(lambda p: relutope.tables.region_frame(p), id="region_frame"),
    pytest.param(lambda p: relutope.tables.adjacency_frame(p), id="adjacency_frame"),
    pytest.param(lambda p: relutope.tables.to_json(p), id="to_json"),
])
def test_partition_functions_refuse_other_objects(call):
    """Were AttributeErrors ('str' object has no attribute 'tol', ...) from deep inside."""
    for bad in (None, "part", NET):
        with pytest.raises(TypeError, match=rf"^partition must be a relutope.Partition, got {type(bad).__name__}$"):
            call(bad)


def test_table_counts_are_checked():
    """``int()`` took 2.5 as 2 and 'x' gave int()'s message."""
    part = _part()
    for call, name in ((lambda v: relutope.tables.to_json(part, max_regions=v), "max_regions"),
                       (lambda v: relutope.tables.region_frame(part, max_input_columns=v), "max_input_columns")):
        with pytest.raises(ValueError, match=rf"^{name} must be >= 0, got -1$"):
            call(-1)
        for bad, kind in ((2.5, "float"), ("x", "str"), (None, "NoneType")):
            with pytest.raises(TypeError, match=rf"^{name} must be an int, got {kind}$"):
                call(bad)
    assert "x0" not in relutope.tables.region_frame(part, max_input_columns=0).columns


def test_check_bool():
    from relutope._checks import check_bool

    assert check_bool(True, "flag") is True and check_bool(np.bool_(False), "flag") is False
    for bad in ("no", 1, 0, None, 1.0, np.array([True])):
        with pytest.raises(TypeError, match="flag must be a bool"):
            check_bool(bad, "flag")
