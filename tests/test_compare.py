"""Exact enumeration against sampling: relutope.compare_sampling, the 1-D line count, the CLI."""
import math

import numpy as np
import pytest

import relutope
from relutope.cli import main


def _box(d):
    return relutope.Box(-np.ones(d), np.ones(d))


@pytest.mark.parametrize("seed", range(12))
def test_line_count_equals_exact_regions_of_the_segment(seed):
    rng = np.random.default_rng(100 + seed)
    d = int(rng.integers(2, 6))
    widths = [d] + [int(w) for w in rng.integers(6, 17, size=int(rng.integers(1, 4)))] + [1]
    net = relutope.Network.random(widths, seed=seed)
    a = rng.uniform(-3, 3, size=d)
    b = -a + rng.normal(0.0, 0.3, size=d)  # through the middle, where the units' hyperplanes are
    walked = relutope.line_count(net, a, b).n_regions
    exact = len(relutope.enumerate_regions(net, relutope.Slice(a, (b - a)[:, None], relutope.Box([0.0], [1.0]))))
    assert walked == exact
    assert walked > 1  # these segments cross several units (the test would be vacuous otherwise)


@pytest.mark.parametrize("widths,seed", [([2, 8, 8, 1], 0), ([3, 12, 6, 1], 1), ([4, 10, 1], 2), ([2, 16, 16, 16, 1], 3)])
def test_sampling_finds_only_exact_regions(widths, seed):
    net = relutope.Network.random(widths, seed=seed)
    box = _box(net.in_dim)
    part = relutope.enumerate_regions(net, box)
    res = relutope.compare_sampling(net, box, budgets=[1000, 20000], seed=seed, partition=part)
    sample = relutope.sample_patterns(net, box, 20000, seed=seed)
    exact = {p.tobytes() for p in part.patterns}
    assert all(p.tobytes() in exact for p in sample.patterns)  # independent of compare_sampling
    assert res.rows[-1]["unmatched"] == 0
    assert res.rows[-1]["found"] == sample.n_patterns
    assert res.rows[0]["found"] == relutope.sample_patterns(net, box, 1000, seed=seed).n_patterns
    # first_hit points at a sample of that very region
    x = relutope.sample_points(box, 20000, seed=seed)
    hit = np.flatnonzero(res.first_hit)
    assert np.array_equal(part.locate(x[res.first_hit[hit] - 1]), hit)


def test_recall_one_on_few_large_regions():
    net = relutope.Network.random([2, 3, 1], seed=0)
    box = _box(2)
    res = relutope.compare_sampling(net, box, budgets=(100, 10000))
    n = len(relutope.enumerate_regions(net, box))
    assert 2 <= n <= 7  # 3 lines cut a square into at most 7 regions
    last = res.rows[-1]
    assert last["found"] == n and last["recall"] == 1.0
    assert last["volume_recall"] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("widths,seed", [([2, 8, 8, 1], 4), ([3, 10, 10, 1], 5)])
def test_volume_recall_between_smallest_and_largest_volumes(widths, seed):
    net = relutope.Network.random(widths, seed=seed)
    box = _box(net.in_dim)
    res = relutope.compare_sampling(net, box, budgets=[10, 100, 1000, 5000], seed=seed)
    v = np.sort(res.partition.volumes())
    assert v.sum() == pytest.approx(box.volume(), rel=1e-9)
    prev = 0.0
    for row in res.rows:
        k = row["found"]
        lo, hi = v[:k].sum() / v.sum(), v[::-1][:k].sum() / v.sum()
        assert lo - 1e-12 <= row["volume_recall"] <= hi + 1e-12
        assert row["volume_recall"] >= prev  # nested budgets
        prev = row["volume_recall"]
        assert row["recall"] == pytest.approx(k / res.n_regions)
        assert row["chao1_lower"] <= row["chao1"] <= row["chao1_upper"]
        assert row["chao1_covers"] == (row["chao1_lower"] <= res.n_regions <= row["chao1_upper"])


def test_volume_recall_nan_above_six_dimensions():
    net = relutope.Network.random([7, 4, 1], seed=0)
    res = relutope.compare_sampling(net, _box(7), budgets=[500])
    assert math.isnan(res.rows[0]["volume_recall"]) and math.isnan(res.volume_seconds)
    assert 0 < res.rows[0]["recall"] <= 1


@pytest.mark.parametrize("d", [5, 6])
def test_volume_recall_in_five_and_six_dimensions_against_qhull(d):
    """volume_recall (the volume kernel) is the Qhull volume of the regions hit by each prefix of the samples,
    on an off-centre box (it was NaN above d = 4)."""
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    net = relutope.Network.random([d, 5, 1], seed=d)
    box = relutope.Box(np.full(d, 3.0), np.full(d, 3.0) + np.linspace(1.0, 2.0, d))
    moved = relutope.Network.from_weights([(net.layers[0].A[1::2], net.layers[0].c[1::2]
                                            - net.layers[0].A[1::2] @ (box.lo + box.hi) / 2)] +
                                          [(layer.A, layer.c) for layer in net.layers[1:]])
    res = relutope.compare_sampling(moved, box, budgets=[20, 200, 2000], seed=1)
    part = res.partition
    qhull = np.empty(len(part))
    for i in range(len(part)):
        A, b = part[i].halfspaces()
        qhull[i] = ConvexHull(HalfspaceIntersection(np.c_[A, -b], part.witnesses[i]).intersections).volume
    assert qhull.sum() == pytest.approx(box.volume(), rel=1e-9)  # Qhull's volumes tile the box
    for row in res.rows:
        hit = (res.first_hit > 0) & (res.first_hit <= row["samples"])
        assert row["found"] == hit.sum() > 1
        assert row["volume_recall"] == pytest.approx(qhull[hit].sum() / box.volume(), rel=1e-9)


def test_exact_count_and_outputs(tmp_path):
    net = relutope.Network.random([3, 12, 12, 1], seed=7)
    box = _box(3)
    res = relutope.compare_sampling(net, box, budgets=[5000, 100, 1000, 100])
    assert res.n_regions == len(relutope.enumerate_regions(net, box))
    assert [r["samples"] for r in res.rows] == [100, 1000, 5000]
    assert [r["found"] for r in res.rows] == sorted(r["found"] for r in res.rows)
    assert res.exact_seconds > 0
    assert all(r["seconds"] > 0 for r in res.rows)
    table = res.table()
    assert f"{res.n_regions} regions" in table and "recall" in table and "5,000" in table
    path = tmp_path / "cmp.csv"
    res.to_csv(path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("samples,found,recall,volume_recall,unmatched")
    assert len(lines) == 4 and lines[3].startswith(f"5000,{res.rows[2]['found']},")


def test_missing_region_raises():
    net = relutope.Network.random([2, 8, 1], seed=1)
    box = _box(2)
    part = relutope.enumerate_regions(net, box)
    big = int(np.argmax(part.radii))
    keep = np.arange(len(part)) != big
    crippled = relutope.Partition(net, box, part.patterns[keep], part._centers[keep], part.radii[keep],
                                  [int(keep.sum())], tol=part.tol, seconds=part.seconds)
    with pytest.raises(relutope.RelutopeError, match="missed a region"):
        relutope.compare_sampling(net, box, budgets=[2000], partition=crippled)


@pytest.mark.parametrize("budgets,exc", [((), ValueError), ([0, 10], ValueError), ([-5], ValueError),
                                         ([10.5], TypeError), (["100"], TypeError), (None, TypeError)])
def test_bad_budgets(budgets, exc):
    net = relutope.Network.random([2, 4, 1], seed=0)
    with pytest.raises(exc, match="budgets"):
        relutope.compare_sampling(net, _box(2), budgets=budgets)


def test_bad_domain_and_partition():
    net = relutope.Network.random([2, 4, 1], seed=0)
    with pytest.raises(ValueError, match="domain"):
        relutope.compare_sampling(net, _box(3))
    with pytest.raises(TypeError, match="domain"):
        relutope.compare_sampling(net, [(-1, 1), (-1, 1)])
    with pytest.raises(ValueError, match="domain"):
        relutope.compare_sampling(net, relutope.WholeSpace(2))
    with pytest.raises(TypeError, match="partition"):
        relutope.compare_sampling(net, _box(2), partition="part.npz")
    other = relutope.enumerate_regions(relutope.Network.random([2, 5, 1], seed=0), _box(2))
    with pytest.raises(ValueError, match="partition"):
        relutope.compare_sampling(net, _box(2), partition=other)
    with pytest.raises(TypeError, match="net"):
        relutope.compare_sampling("net.npz", _box(2))


def test_cli_prints_table(tmp_path, capsys):
    net = relutope.Network.random([2, 8, 8, 1], seed=3)
    path = tmp_path / "net.npz"
    net.save(path)
    n = len(relutope.enumerate_regions(net, _box(2)))
    assert main(["compare-sampling", str(path), "--box", "-1", "1", "--budgets", "100,1000,20000", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert f"exact: {n} regions" in out
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["samples", "found", "recall"]
    assert [ln.split()[0] for ln in lines[2:5]] == ["100", "1,000", "20,000"]
    found = relutope.sample_patterns(net, _box(2), 20000, seed=2).n_patterns
    assert int(lines[4].split()[1].replace(",", "")) == found


def test_cli_bad_budgets(tmp_path, capsys):
    path = tmp_path / "net.npz"
    relutope.Network.random([2, 4, 1], seed=0).save(path)
    assert main(["compare-sampling", str(path), "--box", "-1", "1", "--budgets", "0,10"]) == 2
    assert "budgets" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare-sampling", str(path), "--box", "-1", "1", "--budgets", "1e3"])
