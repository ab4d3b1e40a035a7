"""Defects found by an adversarial pass over the public API (hunt 18), each checked against what the API
documents: a clear TypeError/ValueError naming the argument, never a crash, a side effect or a silent answer."""
import os

import numpy as np
import pytest

import relutope
from relutope import Box, Network, Partition, enumerate_regions
from relutope import compare, complexity

NET = Network.random([2, 4, 1], seed=0)
BOX = Box(-np.ones(2), np.ones(2))


@pytest.fixture(scope="module")
def part():
    return enumerate_regions(NET, BOX)


# ------------------------------------------------------------------ file arguments are never file descriptors
def _writers(part):
    cs = compare.compare_sampling(NET, BOX, budgets=(10,), partition=part)
    lc = complexity.local_complexity(NET, np.zeros((1, 2)), 0.1)
    return {"Partition.to_json": part.to_json, "tables.to_json": lambda p: relutope.tables.to_json(part, p),
            "SamplingComparison.to_csv": cs.to_csv, "LocalComplexity.to_csv": lc.to_csv}


def test_writers_refuse_an_int_or_bool_path(part):
    # open(fd) writes to the descriptor and closes it: path=True was stdout, path=False stdin.
    for name, write in _writers(part).items():
        r, w = os.pipe()
        try:
            with pytest.raises(TypeError, match=r"path must be a file name \(str or os.PathLike\), got int"):
                write(w)
            os.write(w, b"still open")  # OSError (EBADF) had the writer closed it
            assert os.read(r, 100) == b"still open", name
        finally:
            os.close(r)
            os.close(w)
        with pytest.raises(TypeError, match="path must be a file name.*got bool True"):
            write(True)


def test_loaders_refuse_an_int_path_with_a_type_error(part, tmp_path):
    for load in (Partition.load, Network.load):
        with pytest.raises(TypeError, match=r"path must be a file name \(str or os.PathLike\) or a file object, "
                                            r"got int 5"):
            load(5)
    part.save(tmp_path / "p.npz")  # a path and an open file still load
    with open(tmp_path / "p.npz", "rb") as fh:
        assert np.array_equal(Partition.load(fh).patterns, part.patterns)


# ------------------------------------------------------------------ relutope.geometry's public functions
def test_geometry_functions_check_the_partition_and_the_region_indices(part):
    from relutope import geometry

    for fn in (geometry.region_facets, geometry.region_volumes, lambda p: geometry.region_vertices(p, 0)):
        with pytest.raises(TypeError, match="partition must be a relutope.Partition, got str"):
            fn("part")  # was AttributeError: 'str' object has no attribute 'tol'
    # a float or bool index was truncated to another region (2.5 -> 2, True -> 1), not refused
    for bad in (2.5, [0.5], True):
        with pytest.raises(TypeError, match="regions must be an array of integer indices"):
            geometry.region_facets(part, bad)
    with pytest.raises(TypeError, match="i must be an int"):
        geometry.region_vertices(part, 2.5)
    with pytest.raises(ValueError, match=rf"i must be between 0 and {len(part) - 1}, got {len(part)}"):
        geometry.region_vertices(part, len(part))
    with pytest.raises(ValueError, match=rf"i must be between 0 and {len(part) - 1}, got -1"):
        geometry.region_vertices(part, -1)  # was "offsets: must end at the number of rows"
    # what stays accepted: the same facets as the whole partition's, region by region
    f, g = geometry.region_facets(part, np.array([2, 0], dtype=np.int32)), part.facets()
    np.testing.assert_array_equal(f[0].A, g[2].A)
    np.testing.assert_array_equal(f[1].b, g[0].b)


# ------------------------------------------------------------------ relutope.complexity's arguments
def test_local_complexity_checks_its_flags_and_numbers():
    X = np.array([[0.1, -0.2]])
    off = complexity.local_complexity(NET, X, 0.1, boundary=False)
    assert np.isnan(off.boundary_density).all()
    with pytest.raises(TypeError, match="boundary must be a bool.*got str 'no'"):
        complexity.local_complexity(NET, X, 0.1, boundary="no")  # truthy: it switched the density on
    for fn in (complexity.local_complexity, complexity.local_complexity_estimate):
        with pytest.raises(TypeError, match="radius must be a number, got bool"):
            fn(NET, X, True)  # was read as radius 1
        with pytest.raises(ValueError, match="shape must be one of"):
            fn(NET, X, 0.1, shape=np.array(["cross"]))  # was "The truth value of an array ... is ambiguous"
    with pytest.raises(TypeError, match="time_limit must be a number, got str"):
        complexity.local_complexity(NET, X, 0.1, time_limit="1")  # was "could not convert string to float"
    # inf is no limit, as in enumerate_regions; the counts equal those without one
    lc = complexity.local_complexity(NET, X, 0.1, time_limit=float("inf"))
    np.testing.assert_array_equal(lc.n_regions, off.n_regions)


# ------------------------------------------------------------------ pruning.removal_effect under a limit
def test_removal_effect_fractions_are_of_the_domain_under_a_limit():
    from relutope import pruning
    from relutope.refinement import domain_volume

    net = Network.random([2, 6, 6, 1], seed=0)
    box = Box([2.0, -3.0], [2.5, -2.0])  # off-centre, volume 0.5
    full = pruning.removal_effect(net, box, units=[0, 1, 3])
    assert full.complete
    np.testing.assert_allclose(full.volume_fraction, full.volume_changed / 0.5, rtol=1e-15)
    # max_regions=0: no region, nothing changed (was NaN with "RuntimeWarning: invalid value in divide")
    none = pruning.removal_effect(net, box, units=[0, 1, 3], max_regions=0)
    assert not none.complete and none.regions == 0
    np.testing.assert_array_equal(none.volume_fraction, 0.0)
    # a partial run counts the cells it found (exact ones), a part of the changed set: below the full fraction,
    # and of the domain's volume, not of the volume the first regions happened to cover
    part = pruning.removal_effect(net, box, units=[0, 1, 3], max_regions=5)
    assert not part.complete
    np.testing.assert_allclose(part.volume_fraction, part.volume_changed / 0.5, rtol=1e-15)
    assert np.all(part.volume_fraction <= full.volume_fraction + 1e-12)
    # the volume of a domain that is not a box: a triangle and a tilted square (closed forms)
    assert domain_volume(relutope.Polytope([[1, 0], [0, 1], [-1, -1]], [1, 1, 0])) == pytest.approx(2.0, rel=1e-12)
    R = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    sq = relutope.Polytope(np.vstack([R, -R]), 1e-6 * np.ones(4))  # side 2e-6
    assert domain_volume(sq) == pytest.approx(4e-12, rel=1e-9)


# ------------------------------------------------------------------ flags and counts named in their errors
def test_slice_summaries_as_frame_must_be_a_bool():
    from relutope import region_stats

    net = Network.random([3, 4, 1], seed=0)
    sl = [relutope.Slice.through_points(np.zeros(3), np.eye(3)[0], np.eye(3)[1])]
    rows = region_stats.slice_summaries(net, sl)
    assert isinstance(rows, list) and rows[0]["count"] == len(enumerate_regions(net, sl[0]))
    with pytest.raises(TypeError, match="as_frame must be a bool.*got str 'no'"):
        region_stats.slice_summaries(net, sl, as_frame="no")  # was truthy: a DataFrame came back


def test_maxout_names_k_when_it_is_neither_an_int_nor_a_sequence():
    for bad in (2.5, None):
        with pytest.raises(TypeError, match="k must be an int or a sequence of ints, got"):
            relutope.Layer.maxout(np.ones((4, 2)), np.zeros(4), bad)  # was "'float' object is not iterable"
    layer = relutope.Layer.maxout(np.eye(4)[:, :2], np.zeros(4), [3, 1])  # a sequence still works
    assert layer.n_pieces.tolist() == [3, 1]


def test_richness_intervals_of_a_huge_z_are_their_limit():
    # K = exp(z sqrt(log(1 + var / T^2))) overflowed: OverflowError("math range error") from chao1 and ace
    for fn in (relutope.chao1, relutope.ace):
        r = fn([1, 1, 1, 2, 5], z=1e308)
        assert (r.lower, r.upper) == (5.0, np.inf)
        moderate = fn([1, 1, 1, 2, 5], z=3.0)
        assert 5.0 < moderate.lower < moderate.estimate < moderate.upper < np.inf


# ------------------------------------------------------------------ certified closure of a degenerate integer net
def _integer_net_with_a_facet_missed_by_its_forward_pass():
    # Found by a random hunt of integer nets with duplicated, negated, scaled and constant units: on the polygon
    # and polytope paths region (1,1,0,0,1,0,0,1 | 1,0,1 | 0)'s facet on unit 3 gets no neighbour from its own
    # forward pass (a second-layer unit is exactly 0 along it), though the neighbour found it from its side.
    W = np.array([[2, 1], [0, -1], [-1, -2], [-2, -2], [2, 1], [0, 1], [-2, -4], [0, 0]], float)
    b = np.array([-1, 1, 0, 1, -1, -1, 0, 0.5])
    W2 = np.array([[0, 1, 2, 1, 1, 0, 0, 2], [-1, 2, 1, -2, -1, 2, 0, -2], [1, 1, 2, -2, -2, 2, -2, 0]], float)
    b2 = np.array([-1.0, -1.0, 0.0])
    return Network.from_weights([(W, b), (W2, b2), (np.ones((1, 3)), np.zeros(1))]), Box([-1, -1], [1, 1])


def test_certified_closure_takes_a_neighbour_found_from_the_other_side():
    pytest.importorskip("flint")
    net, box = _integer_net_with_a_facet_missed_by_its_forward_pass()
    parts = {m: enumerate_regions(net, box, method=m) for m in ("lp", "polygon", "polytope")}
    # the three paths list the same regions, and their volumes fill the square (area 4): nothing is missing
    keys = {m: sorted(map(tuple, p.patterns.tolist())) for m, p in parts.items()}
    assert keys["lp"] == keys["polygon"] == keys["polytope"]
    for m, p in parts.items():
        assert p.volumes().sum() == pytest.approx(4.0, rel=1e-12), m
        report = p.check_complete(certify=True)  # was gaps=1 on the polygon and polytope paths
        assert report.ok and len(report.gaps) == 0, (m, report)
    # a region taken out is still a proven gap
    p = parts["polygon"]
    keep = np.arange(1, len(p))
    cut = relutope.Partition(p.network, p.domain, p.patterns[keep], p.witnesses[keep], p.radii[keep],
                             p.layer_counts, status="complete", tol=p.tol)
    assert not cut.check_complete(certify=True).ok


def test_box_whose_width_overflows_is_refused():
    with pytest.raises(ValueError, match=r"the width hi - lo overflows float64 at coordinates \[1\]"):
        Box([0.0, -1e308], [1.0, 1e308])  # was accepted; every use then overflowed (inf size, RuntimeWarning)
    big = Box([0.0, -8e307], [1.0, 8e307])  # the widest that fits: its width 1.6e308 is finite
    assert np.isfinite(big.volume()) and big.volume() == pytest.approx(1.6e308, rel=1e-15)


def test_a_name_argument_given_an_array_is_named_in_the_error():
    # "x not in CHOICES" with an array raised numpy's "truth value of an array ... is ambiguous"
    import matplotlib
    matplotlib.use("Agg")
    from relutope import distance, generative, plot, pruning

    part = enumerate_regions(NET, BOX)
    X = np.zeros((1, 2))
    calls = {"color": lambda v: plot.partition(part, color=v), "metric": lambda v: distance.pairwise_distance(
        NET, X, X, metric=v), "latent": lambda v: generative.region_masses(part, latent=v),
        "init": lambda v: Network.random([2, 3, 1], init=v), "space": lambda v: part[0].vertices(space=v),
        "scope": lambda v: pruning.prune(NET, 0.5, scope=v),
        "shape": lambda v: complexity.local_complexity_estimate(NET, X, 0.1, shape=v)}
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"{name} must be .*, got array\("):
            call(np.array(["a", "b"]))
    assert plot.partition(part, color="volume").get_array().shape == (len(part),)  # a name still works


def test_tolerances_are_numbers_not_bools_or_strings(part):
    from relutope import geometry, graph

    calls = {"tol": lambda v: geometry.region_facets(part, tol=v), "atol": lambda v: graph.linear_regions(part, v),
             "contain_tol": lambda v: graph.region_adjacency(part, contain_tol=v)}
    for name, call in calls.items():
        with pytest.raises(TypeError, match=f"{name} must be a number, got bool"):
            call(True)  # was read as 1.0 (region_facets: every facet dropped, none left)
        with pytest.raises(TypeError, match=f"{name} must be a number, got str"):
            call("1e-9")  # was "could not convert string to float", naming no argument
    # numbers still work: the default facets again, and one linear region per activation region here
    assert geometry.region_facets(part, tol=part.facets().tol).n_facets == part.facets().n_facets
    assert graph.linear_regions(part, 0)[1] <= len(part)


def test_data_slices_names_a_bad_margin_instead_of_calling_the_points_collinear():
    from relutope import region_stats

    X = np.random.default_rng(0).standard_normal((10, 4))  # in general position: no three collinear
    assert len(region_stats.data_slices(X, 2, margin=0.5)) == 2
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="margin must be >= 0 and finite"):
            region_stats.data_slices(X, 2, margin=bad)  # was "10 random triples of X in a row were collinear"


# verify.py: found by the API defect hunt of session 23 (strict xfails until fixed)
def test_verify_functions_name_a_net_that_is_not_a_network():
    box = relutope.Box(-np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="net"):
        relutope.output_bounds("net.onnx", box)
    with pytest.raises(TypeError, match="net"):
        relutope.min_adversarial("net.onnx", np.zeros(2), 0)


def test_verify_prune_must_be_a_bool():
    net = relutope.Network.random([2, 4, 1], seed=0)
    with pytest.raises(TypeError, match="prune"):
        relutope.output_bounds(net, relutope.Box(-np.ones(2), np.ones(2)), prune="no")


def test_min_adversarial_result_changes_the_class_or_margin_is_refused():
    net = relutope.Network.random([3, 5, 2], seed=1)
    x0 = np.zeros(3)
    label = int(np.argmax(net(x0)))
    try:
        res = relutope.min_adversarial(net, x0, label, margin=-1.0)
    except ValueError as exc:
        assert "margin" in str(exc)
    else:  # a forward pass: an adversarial example is classified otherwise
        assert res.status != "found" or int(np.argmax(net(res.x_adv))) != label
