"""Properties of a Partition checked independently of the engine's own arithmetic.

Witnesses are checked with the network's forward pass (numpy), the regions' H-representations with HiGHS
(scipy.optimize.linprog) and qhull (scipy.spatial), the affine maps against the network's output; the API
(indexing, save/load, locate, limits, progress) against its documentation.
"""
import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, HalfspaceIntersection

from oracle import as_pattern_set
from relutope import Box, Layer, Network, Partition, Polytope, Region, WholeSpace, enumerate_regions


def unit_box(d: int) -> Box:
    return Box(-np.ones(d), np.ones(d))


NETS = [([2, 8, 8, 1], 0, "relu"), ([2, 16, 16, 16, 1], 1, "relu"), ([3, 10, 10, 1], 0, "relu"),
        ([3, 6, 6, 6, 1], 3, "relu"), ([2, 10, 10, 1], 2, "abs"), ([3, 8, 8, 1], 4, "leaky_relu")]


@pytest.fixture(scope="module", params=NETS, ids=lambda p: f"{p[0]}-seed{p[1]}-{p[2]}")
def case(request):
    widths, seed, activation = request.param
    net = Network.random(widths, seed=seed, activation=activation)
    part = enumerate_regions(net, unit_box(widths[0]))
    assert part.complete and len(part) > 20
    return net, part


def row_distances(A: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(A, axis=1)
    keep = norms > 0
    return (b[keep] - A[keep] @ t) / norms[keep]


def highs_chebyshev_radius(A: np.ndarray, b: np.ndarray) -> float:
    """max r s.t. A t + |A_i| r <= b, r >= 0, by HiGHS (no radius cap: the domains here are bounded)."""
    norms = np.linalg.norm(A, axis=1)
    k = A.shape[1]
    res = linprog(np.r_[np.zeros(k), -1.0], A_ub=np.c_[A, norms], b_ub=b,
                  bounds=[(None, None)] * k + [(0, None)], method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    assert res.status == 0, res.message
    return float(-res.fun)


# ---------------------------------------------------------------------------------------------- (d) witnesses
def test_witness_patterns_match_forward_pass(case):
    net, part = case
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)


def test_witnesses_are_deep_inside_their_regions(case):
    net, part = case
    assert np.all(part.domain.contains(part.witnesses, atol=0.0))
    np.testing.assert_array_equal(part.witness_coords, part.witnesses)  # full-dimensional box: t = x
    for i in range(len(part)):
        A, b = part[i].halfspaces()
        dist = row_distances(A, b, part.witness_coords[i])
        assert dist.min() > part.tol
        # the witness is the Chebyshev centre: its nearest face is exactly `radius` away
        assert dist.min() == pytest.approx(part.radii[i], rel=1e-7, abs=1e-12)


def test_patterns_distinct_and_radii_above_tol(case):
    net, part = case
    assert len(as_pattern_set(part.patterns)) == len(part)
    assert part.patterns.shape == (len(part), net.n_units) and part.patterns.dtype == np.int8
    assert np.all(part.radii > part.tol) and np.all(part.radii <= 1.0 + 1e-12)
    assert part.layer_counts[-1] == len(part) and np.all(np.diff(part.layer_counts) >= 0)


def test_radii_equal_highs_chebyshev_radius(case):
    net, part = case
    rng = np.random.default_rng(0)
    for i in rng.choice(len(part), size=min(40, len(part)), replace=False):
        A, b = part[int(i)].halfspaces()
        assert highs_chebyshev_radius(A, b) == pytest.approx(part.radii[i], abs=1e-7)


def test_affine_maps_reproduce_the_network(case):
    net, part = case
    d = net.in_dim
    x = unit_box(d).sample(4000, rng=1)
    idx = part.locate(x)
    assert np.all(idx >= 0)  # a random point lies on no boundary and in no region thinner than tol
    A, b = part.affine_maps()
    assert A.shape == (len(part), net.out_dim, d) and b.shape == (len(part), net.out_dim)
    pred = np.einsum("nmd,nd->nm", A[idx], x) + b[idx]
    np.testing.assert_allclose(pred, net(x), rtol=1e-10, atol=1e-10)
    # the Region view gives the same map
    Ar, br = part[int(idx[0])].affine_map()
    np.testing.assert_allclose(Ar @ x[0] + br, net(x[:1])[0], rtol=1e-10, atol=1e-10)
    # and every region's witness too
    pred_w = np.einsum("nmd,nd->nm", A, part.witnesses) + b
    np.testing.assert_allclose(pred_w, net(part.witnesses), rtol=1e-10, atol=1e-10)


def test_locate_returns_the_region_with_the_point_pattern(case):
    net, part = case
    d = net.in_dim
    x = unit_box(d).sample(500, rng=2)
    idx = part.locate(x)
    np.testing.assert_array_equal(part.patterns[idx], net.activation_pattern(x))
    assert np.all(part.locate(part.witnesses) == np.arange(len(part)))
    outside = np.full((3, d), 1.5)
    assert np.all(part.locate(outside) == -1)


@pytest.mark.parametrize("widths,seed,activation", [([3, 12, 12, 12, 1], 1, "leaky_relu"),
                                                    ([4, 8, 8, 8, 1], 0, "relu"), ([2, 20, 20, 20, 1], 35, "abs")])
def test_every_sampled_point_lies_in_a_found_region(widths, seed, activation):
    """Larger nets than the oracle can take: 100 000 random points, each one's pattern must be a region found
    (a random point falls in a region thinner than tol with negligible probability)."""
    d = widths[0]
    net = Network.random(widths, seed=seed, activation=activation)
    part = enumerate_regions(net, unit_box(d))
    assert part.complete and len(part) > 1000
    x = unit_box(d).sample(100_000, rng=seed)
    idx = part.locate(x)
    assert np.all(idx >= 0), f"{np.sum(idx < 0)} points have a pattern the engine did not report"
    np.testing.assert_array_equal(part.patterns[idx[:1000]], net.activation_pattern(x[:1000]))


@pytest.mark.parametrize("cap", [0.5, 1.0, 100.0])
def test_whole_space_witnesses_and_capped_radii(cap):
    net = Network.random([2, 10, 10, 1], seed=6)
    part = enumerate_regions(net, WholeSpace(2), radius_cap=cap)
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)
    assert np.all(part.radii <= cap * (1 + 1e-12)) and np.any(part.radii >= cap * (1 - 1e-9))
    for i in range(len(part)):  # the capped ball still fits: every face is at least `radius` away
        A, b = part[i].halfspaces()
        assert row_distances(A, b, part.witness_coords[i]).min() >= part.radii[i] * (1 - 1e-9)


# ---------------------------------------------------------------------------------------------- (e) volumes
def region_volumes(part: Partition) -> np.ndarray:
    vols = []
    for i in range(len(part)):
        A, b = part[i].halfspaces()
        keep = np.linalg.norm(A, axis=1) > 0
        hs = HalfspaceIntersection(np.c_[A[keep], -b[keep]], part.witness_coords[i])
        vols.append(ConvexHull(hs.intersections).volume)
    return np.array(vols)


@pytest.mark.parametrize("widths,seed", [([2, 8, 8, 1], 0), ([2, 16, 16, 16, 1], 1), ([2, 6, 6, 1], 5),
                                         ([3, 8, 8, 1], 0), ([3, 6, 6, 6, 1], 3)])
def test_region_volumes_sum_to_the_box_volume(widths, seed):
    d = widths[0]
    box = Box(-np.arange(1, d + 1) * 0.5, np.ones(d))  # not a cube: volume prod(1 + i / 2)
    part = enumerate_regions(Network.random(widths, seed=seed), box)
    vols = region_volumes(part)
    assert np.all(vols > 0)
    expected = float(np.prod(1.0 + 0.5 * np.arange(1, d + 1)))
    assert box.volume() == pytest.approx(expected, rel=1e-15)
    assert vols.sum() == pytest.approx(expected, rel=1e-9)
    # a region's volume is at least that of its Chebyshev ball
    ball = np.pi * part.radii ** 2 if d == 2 else 4.0 / 3.0 * np.pi * part.radii ** 3
    assert np.all(vols >= ball * (1 - 1e-9))


def test_region_volumes_with_maxout_units():
    rng = np.random.default_rng(2)
    net = Network([Layer(rng.normal(size=(7, 2)), rng.normal(size=7) * 0.3, [3, 4]),
                   Layer.affine(rng.normal(size=(4, 2)), rng.normal(size=4) * 0.3, "abs"),
                   Layer.affine(rng.normal(size=(1, 4)), np.zeros(1), "identity")])
    part = enumerate_regions(net, Box([-1.0, -2.0], [2.0, 1.0]))
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)
    assert region_volumes(part).sum() == pytest.approx(9.0, rel=1e-9)


def test_region_volumes_sum_to_a_polytope_volume():
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(12, 2))
    hull = ConvexHull(pts)
    poly = Polytope(hull.equations[:, :2], -hull.equations[:, 2])
    part = enumerate_regions(Network.random([2, 10, 10, 1], seed=2), poly)
    assert region_volumes(part).sum() == pytest.approx(hull.volume, rel=1e-9)


# ---------------------------------------------------------------------------------------------- API
def test_save_load_round_trip(tmp_path, case):
    net, part = case
    path = tmp_path / "part.npz"
    part.save(path)
    back = Partition.load(path)
    np.testing.assert_array_equal(back.patterns, part.patterns)
    np.testing.assert_array_equal(back.witnesses, part.witnesses)
    np.testing.assert_array_equal(back.witness_coords, part.witness_coords)
    np.testing.assert_array_equal(back.radii, part.radii)
    np.testing.assert_array_equal(back.layer_counts, part.layer_counts)
    assert (back.status, back.tol, back.lps, back.lp_iterations) == (part.status, part.tol, part.lps,
                                                                     part.lp_iterations)
    assert back.seconds == part.seconds and back.complete
    assert back.network.widths == net.widths
    for la, lb in zip(back.network.layers, net.layers):
        np.testing.assert_array_equal(la.A, lb.A)
        np.testing.assert_array_equal(la.c, lb.c)
        np.testing.assert_array_equal(la.n_pieces, lb.n_pieces)
    np.testing.assert_array_equal(back.domain.lo, part.domain.lo)
    np.testing.assert_array_equal(back.domain.hi, part.domain.hi)
    x = part.domain.sample(50, rng=0)
    np.testing.assert_array_equal(back.locate(x), part.locate(x))
    A1, b1 = back[3].halfspaces()
    A0, b0 = part[3].halfspaces()
    np.testing.assert_array_equal(A1, A0)
    np.testing.assert_array_equal(b1, b0)


def test_save_and_pickle_keep_the_method_and_message(tmp_path):
    import pickle

    net = Network.random([2, 6, 6, 1], seed=4)
    box = Box([-1.0, -1.0], [1.0, 1.0])
    for method in ("polygon", "lp"):
        part = enumerate_regions(net, box, method=method)
        part.message = f"made by {method}"
        path = tmp_path / f"{method}.npz"
        part.save(path)
        for back in (Partition.load(path), pickle.loads(pickle.dumps(part)), Partition.from_json(part.to_json())):
            assert (back.method, back.message) == (method, f"made by {method}")
    arrays = dict(np.load(tmp_path / "lp.npz"))
    arrays["method"] = np.array("simplex")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="method must be one of"):
        Partition.load(tmp_path / "bad.npz")
    del arrays["method"], arrays["message"]  # a file written before they were saved
    np.savez(tmp_path / "old.npz", **arrays)
    old = Partition.load(tmp_path / "old.npz")
    assert (old.method, old.message) == ("lp", "")


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a relutope partition"):
        Partition.load(path)
    with pytest.raises(ValueError, match="cannot read partition file"):
        Partition.load(tmp_path / "missing.npz")


def test_len_and_indexing(case):
    net, part = case
    n = len(part)
    assert n == part.radii.shape[0] == part.patterns.shape[0]
    assert isinstance(part[0], Region) and part[0].index == 0
    assert part[-1].index == n - 1 and part[-n].index == 0
    np.testing.assert_array_equal(part[-1].pattern, part.patterns[n - 1])
    np.testing.assert_array_equal(part[np.int64(2)].witness, part.witnesses[2])
    assert part[1].radius == part.radii[1]
    with pytest.raises(IndexError):
        part[n]
    with pytest.raises(IndexError):
        part[-n - 1]
    with pytest.raises(TypeError, match="index"):
        part[1.0]
    assert [r.index for r in part] == list(range(n))


def test_max_regions_stops_early():
    net = Network.random([3, 12, 12, 1], seed=0)
    part = enumerate_regions(net, unit_box(3), max_regions=5)
    assert len(part) == 5 and not part.complete and part.status == "max_regions"
    full = enumerate_regions(net, unit_box(3))
    assert full.complete and full.status == "complete" and len(full) > 5
    assert as_pattern_set(part.patterns) <= as_pattern_set(full.patterns)  # the regions found are exact
    again = enumerate_regions(net, unit_box(3), max_regions=10 ** 9)
    assert again.complete and len(again) == len(full)
    exact = enumerate_regions(net, unit_box(3), max_regions=len(full))
    assert exact.complete and len(exact) == len(full)  # stopping at the count itself is not a truncation
    one_less = enumerate_regions(net, unit_box(3), max_regions=len(full) - 1)
    assert not one_less.complete and len(one_less) == len(full) - 1


def test_time_limit_stops_a_big_run():
    net = Network.random([4, 16, 16, 16, 1], seed=0)  # about 150 000 regions: seconds of work
    part = enumerate_regions(net, unit_box(4), time_limit=0.02)
    assert part.status == "time_limit" and not part.complete
    assert part.seconds < 1.0
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)


def test_progress_bar(capsys):
    net = Network.random([2, 8, 8, 1], seed=0)
    with_bar = enumerate_regions(net, unit_box(2), progress=True)
    err = capsys.readouterr().err
    assert "regions" in err  # a tqdm bar was drawn on stderr
    without = enumerate_regions(net, unit_box(2))
    np.testing.assert_array_equal(with_bar.patterns, without.patterns)
    assert with_bar.complete


def test_progress_bar_shows_the_final_count(capsys):
    net = Network.random([2, 8, 8, 1], seed=0)
    part = enumerate_regions(net, unit_box(2), progress=True)
    err = capsys.readouterr().err
    assert f"{len(part)} regions" in err.replace("\r", "\n").strip().splitlines()[-1]


def test_summary_and_repr(case):
    net, part = case
    assert f"{len(part)} regions" in repr(part)
    assert str(len(part)) in part.summary() and "complete" in repr(part)
