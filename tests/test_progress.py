"""Progress bars (progress=True) of facets, adjacency, volumes, check_complete and compare_sampling.

The bars are tqdm's; a recording subclass stands in for ``tqdm.auto.tqdm`` and keeps every value the bar was moved
to, so the tests see the compiled loops' checkpoints arrive and the bar end at its total. The results with a bar
must equal those without one.
"""
import io
import re

import numpy as np
import pytest
import tqdm.auto
import tqdm.std

import relutope
from relutope._progress import CHECKPOINT_EVERY
from relutope.cli import main


class Recorder(tqdm.std.tqdm):
    """A tqdm bar writing to a string and recording ``n`` after every update."""

    bars = []

    def __init__(self, *args, **kwargs):
        kwargs["file"] = io.StringIO()
        super().__init__(*args, **kwargs)
        self.seen = []
        Recorder.bars.append(self)

    def update(self, n=1):
        out = super().update(n)
        self.seen.append(self.n)
        return out


@pytest.fixture
def bars(monkeypatch):
    Recorder.bars = []
    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    return Recorder.bars


def _box(d):
    return relutope.Box(-np.ones(d), np.ones(d))


@pytest.fixture(scope="module")
def two_parts():
    """Two separate partitions of the same net (their facets and adjacency are cached separately)."""
    net = relutope.Network.random([2, 64, 64, 1], seed=0)
    a, b = relutope.enumerate_regions(net, _box(2)), relutope.enumerate_regions(net, _box(2))
    assert len(a) > 2 * CHECKPOINT_EVERY  # so the compiled loops reach their checkpoints
    return a, b


def _facet_arrays(f):
    return [f.offsets, f.A, f.b, f.unit, f.piece, f.points, f.radii, f.dup_facet, f.dup_unit, f.dup_piece]


def test_facets_and_adjacency_bars_follow_the_checkpoints(two_parts, bars):
    quiet, shown = two_parts
    G0 = quiet.adjacency_graph()
    assert bars == []  # quiet by default
    G1 = shown.adjacency_graph(progress=True)
    assert [b.desc for b in bars] == ["facets", "adjacency"]
    R = len(shown)
    for bar in bars:
        assert bar.total == R and bar.n == R and bar.seen[-1] == R
        # the core's checkpoints, every CHECKPOINT_EVERY regions, moved the bar before the end
        assert [n for n in bar.seen[:-1] if n] == list(range(CHECKPOINT_EVERY, R, CHECKPOINT_EVERY))
        assert f"{R}/{R}" in bar.fp.getvalue()
    for x, y in zip(_facet_arrays(quiet.facets()), _facet_arrays(shown.facets())):
        assert np.array_equal(x, y)
    assert np.array_equal(quiet.adjacency().edges, shown.adjacency().edges)
    assert np.array_equal(quiet.adjacency().neighbor, shown.adjacency().neighbor)
    assert sorted(G0.edges) == sorted(G1.edges)
    # cached now: no more bars
    shown.check_complete(progress=True)
    assert len(bars) == 2


def test_check_complete_and_subset_facets_with_bars(bars):
    net = relutope.Network.random([2, 8, 8, 1], seed=0)
    part = relutope.enumerate_regions(net, _box(2))
    rep = part.check_complete(progress=True)
    assert rep.ok and rep.n_regions == len(part)
    assert [(b.desc, b.n, b.total) for b in bars] == [("facets", len(part), len(part)), ("adjacency", len(part),
                                                                                          len(part))]
    sub = relutope.geometry.region_facets(part, [3, 1], progress=True)
    assert (bars[-1].n, bars[-1].total) == (2, 2)
    for j, i in enumerate([3, 1]):
        assert np.array_equal(sub[j].A, part.facets(i).A) and np.array_equal(sub[j].unit, part.facets(i).unit)


def test_volumes_bar_follows_the_kernels_checkpoints(two_parts, bars):
    quiet, shown = two_parts
    v0 = quiet.volumes()
    assert [b.desc for b in bars] in ([], ["facets"])  # quiet by default (facets may still be computed)
    v1 = shown.volumes(progress=True)
    assert np.array_equal(v0, v1)
    assert v1.sum() == pytest.approx(4.0, rel=1e-9)  # the regions tile the square
    R = len(shown)
    bar = [b for b in bars if b.desc == "volumes"]
    assert len(bar) == 1 and bar[0].n == bar[0].total == R and bar[0].seen[-1] == R
    # the volume kernel's checkpoints, every CHECKPOINT_EVERY regions, moved the bar before the end
    assert [n for n in bar[0].seen[:-1] if n] == list(range(CHECKPOINT_EVERY, R, CHECKPOINT_EVERY))


def test_callback_errors_propagate_from_the_core(two_parts, monkeypatch):
    class Boom(Recorder):
        def update(self, n=1):
            if self.n + n not in (0, self.total):
                raise RuntimeError("stop at the first checkpoint")
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", Boom)
    part = relutope.Partition(two_parts[0].network, two_parts[0].domain, two_parts[0].patterns,
                              two_parts[0]._centers, two_parts[0].radii, two_parts[0].layer_counts,
                              tol=two_parts[0].tol)
    with pytest.raises(RuntimeError, match="first checkpoint"):
        part.facets(progress=True)
    assert part._facets is None
    assert len(part.facets().counts()) == len(part)  # nothing left behind: a quiet run works


def test_compare_sampling_reports_volume_time(bars, tmp_path, capsys):
    net = relutope.Network.random([2, 8, 8, 1], seed=3)
    res = relutope.compare_sampling(net, _box(2), budgets=[100, 1000], seed=0, progress=True)
    assert [b.desc for b in bars] == ["regions", "facets", "volumes"]
    assert all(b.n == res.n_regions for b in bars)
    assert np.isfinite(res.volume_seconds) and res.volume_seconds >= 0
    assert res.exact_seconds == res.partition.seconds  # the enumeration alone
    head = res.table().splitlines()[0]
    assert re.match(rf"exact: {res.n_regions} regions in \S+ s, volumes in \S+ s ", head)
    quiet = relutope.compare_sampling(net, _box(2), budgets=[100, 1000], seed=0)
    untimed = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert untimed(quiet.rows) == untimed(res.rows) and np.array_equal(quiet.first_hit, res.first_hit)
    res.to_csv(tmp_path / "t.csv")
    header, first = (tmp_path / "t.csv").read_text().splitlines()[:2]
    assert header.endswith(",n_regions,exact_seconds,volume_seconds")
    assert float(first.split(",")[-1]) == res.volume_seconds
    # above 6 dimensions (the volume kernel's limit) there are no volumes, and no volume time
    high = relutope.compare_sampling(relutope.Network.random([7, 4, 1], seed=0), _box(7), budgets=[10])
    assert np.isnan(high.volume_seconds) and "volumes in" not in high.table()

    path = tmp_path / "net.npz"
    net.save(path)
    assert main(["compare-sampling", str(path), "--box", "-1", "1", "--budgets", "100", "--progress"]) == 0
    captured = capsys.readouterr()
    assert re.search(r"^exact: \d+ regions in \S+ s, volumes in \S+ s ", captured.out, re.M)
