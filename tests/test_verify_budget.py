"""The input splitting's adaptive budget (``SplitOptions::pace_from``): boxes handed to the exact enumeration early
when the splitting closes volume too slowly, with the same verdicts."""
from pathlib import Path

import numpy as np
import pytest

import relutope
from relutope import _core, _search, vnnlib

DATA = Path(__file__).parent / "data" / "acasxu"


def _terms(case):
    return [(np.atleast_2d(C), np.atleast_1d(d)) for C, d in case.terms]


def _volume(lo, hi, free):
    return np.prod((hi - lo)[..., free], axis=-1)


def _mapped_acas(net_id, prop, scale):
    """ACAS Xu network net_id and property prop's first case, its box mapped affinely to an off-centre box of size
    ~scale (the first layer rescaled to match, so the network on the mapped box is the same function): the mapped
    network, the case, the mapped box (lo, hi) and the inputs of positive width."""
    net = relutope.load_nnet(DATA / "nnet" / f"ACASXU_run2a_{net_id}_batch_2000.nnet")
    case = vnnlib.load(DATA / "vnnlib" / f"prop_{prop}.vnnlib").cases[0]
    lo0, hi0 = case.box_lo, case.box_hi
    free = hi0 > lo0
    shift = 3.0 * scale * (1.0 + np.arange(net.in_dim))
    s = np.where(free, scale * (1.0 + np.arange(net.in_dim)) / np.where(free, hi0 - lo0, 1.0), 1.0)
    lo, hi = shift + s * (lo0 - lo0), shift + s * (hi0 - lo0)   # x = lo0 + (z - shift) / s
    L0 = net.layers[0]
    layers = [relutope.network.Layer(L0.A / s[None, :], L0.c - (L0.A / s[None, :]) @ (shift - s * lo0), L0.n_pieces)]
    mapped = relutope.Network(layers + list(net.layers[1:]))
    z = lo + (hi - lo) * np.random.default_rng(0).uniform(size=(8, net.in_dim))
    y = net(lo0 + (z - shift) / s)  # the same function, up to the rounding of the shifted first layer's bias
    np.testing.assert_allclose(mapped(z), y, rtol=1e-6, atol=1e-6 * np.abs(y).max())
    return mapped, case, lo, hi, free


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_paced_split_tiles_the_box_and_stops_before_the_budget(scale):
    # ACAS Xu 1_1 property 3 (holds; the box relaxation closes it slowly), mapped to scale: with the pace the
    # splitting hands over before the budget, and then the closed fraction and the open boxes' volumes add up to
    # the whole box, every open box inside it; without it (pace_from=0) the budget is spent.
    mapped, case, lo, hi, free = _mapped_acas("1_1", 3, scale)
    fixed = _core.split_verify(mapped._core(), lo, hi, _terms(case), 40, 256, -1.0, 1, 0, 0)
    paced = _core.split_verify(mapped._core(), lo, hi, _terms(case), 40, 256, -1.0, 1, 0, 48, 32)
    assert fixed["boxes"] == 256 and not fixed["paced"]
    assert paced["paced"] and 48 <= paced["boxes"] < 256 and paced["status"] == 2
    open_vol = _volume(paced["open_lo"], paced["open_hi"], free).sum() / _volume(lo, hi, free)
    assert paced["closed_fraction"] + open_vol == pytest.approx(1.0, rel=1e-9)
    assert np.all(paced["open_lo"] >= lo) and np.all(paced["open_hi"] <= hi)
    # The same first boxes: what the paced run closed, the fixed run closed too (and more).
    assert paced["closed_fraction"] <= fixed["closed_fraction"]


def test_pace_keeps_splitting_a_box_it_closes_fast():
    # An affine network: its relaxation is exact, so every box on the safe side of the term's hyperplane is refuted
    # at once and the volume closes fast; the pace must not stop it, and the splitting ends with the property
    # proven (status 0) or only boxes cut by the hyperplane open. The verdict (holds: the term's threshold lies
    # below the exact minimum of c . y over the box, attained at a corner) is checked by every corner.
    rng = np.random.default_rng(1)
    A1, A2 = rng.normal(size=(4, 3)), rng.normal(size=(1, 4))
    Layer = relutope.network.Layer
    net = relutope.Network([Layer.affine(A1, np.zeros(4), "identity"), Layer.affine(A2, np.zeros(1), "identity")])
    lo, hi = np.array([1.0, 2.0, -3.0]), np.array([2.0, 4.0, -1.0])
    corners = np.array(np.meshgrid(*zip(lo, hi))).reshape(3, -1).T
    ymin = float(net(corners).min())
    term = [(np.array([[1.0]]), np.array([ymin - 1e-3]))]  # unsafe: y <= ymin - 1e-3, empty
    out = _core.split_verify(net._core(), lo, hi, term, 24, 256, -1.0, 1, 0, 48, 32)
    assert out["status"] == 0 and out["closed_fraction"] == pytest.approx(1.0) and not out["paced"]


def _random_property(seed):
    rng = np.random.default_rng(seed)
    net = relutope.Network.random([5, 16, 16, 3], seed=seed)
    lo = rng.uniform(-2, 1, 5)
    hi = lo + rng.uniform(0.5, 2, 5)
    x = lo + (hi - lo) * rng.uniform(size=(4000, 5))
    y = net(x)
    margin = y[:, 0] - y[:, 1]
    # Unsafe: y0 - y1 >= t, t near the sampled maximum (above it on even seeds: mostly holds; below: violated).
    t = float(margin.max()) + (0.02 if seed % 2 == 0 else -0.02) * float(np.ptp(margin))
    case = vnnlib.Case(lo, hi, [(np.array([[-1.0, 1.0, 0.0]]), np.array([-t]))])
    return net, vnnlib.Property(cases=[case], n_inputs=5, n_outputs=3), t


@pytest.mark.parametrize("seed", range(4))
def test_paced_verdicts_agree_with_the_unpruned_enumeration(seed, monkeypatch):
    # The verdict with the adaptive budget, with a fixed one, and from the exact enumeration without any relaxation
    # (prune=False: every region's LP) agree; a counterexample satisfies the term by a forward pass.
    net, spec, t = _random_property(seed)
    exact = relutope.verify(net, spec, prune=False, search=False)
    monkeypatch.setattr(_search, "PACE_FROM", 0)
    fixed = relutope.verify(net, spec, split_boxes=64)
    monkeypatch.setattr(_search, "PACE_FROM", 8)
    paced = relutope.verify(net, spec, split_boxes=64)
    assert exact.status in ("holds", "violated")
    assert paced.status == fixed.status == exact.status
    for res in (exact, fixed, paced):
        if res.status == "violated":
            y = net(res.counterexample[None])[0]
            assert y[0] - y[1] >= t - 1e-6 * (1 + abs(t))
            assert np.all(res.counterexample >= spec.cases[0].box_lo) and np.all(res.counterexample <= spec.cases[0].box_hi)


def test_pace_options_are_checked():
    net, spec, _ = _random_property(0)
    case = spec.cases[0]
    with pytest.raises(ValueError, match="pace_from"):
        _core.split_verify(net._core(), case.box_lo, case.box_hi, _terms(case), 8, 16, -1.0, 1, 0, -1)
    with pytest.raises(ValueError, match="pace_window"):
        _core.split_verify(net._core(), case.box_lo, case.box_hi, _terms(case), 8, 16, -1.0, 1, 0, 8, 0)


def _inside(lo_a, hi_a, lo_b, hi_b):
    """(A, B) bool: box a inside box b."""
    return np.all((lo_a[:, None] >= lo_b[None]) & (hi_a[:, None] <= hi_b[None]), axis=-1)


@pytest.mark.parametrize("net_id, prop", [("1_1", 3), ("2_1", 1), ("1_2", 4)])
@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_merged_boxes_cover_what_the_split_left_open(net_id, prop, scale):
    # The same splitting (deterministic) with and without merging (SplitOptions::merge_closed): every open box of
    # the unmerged run lies in exactly one merged box; the merged boxes are disjoint (their pairwise overlaps have
    # no volume), inside the case's box, not the whole box once it was split, and cover at least the open volume;
    # a merged box's score is the least of its open boxes'; `merged` counts the boxes absorbed.
    mapped, case, lo, hi, free = _mapped_acas(net_id, prop, scale)
    args = (mapped._core(), lo, hi, _terms(case), 40, 64, -1.0, 1, 0, 0, 32)
    plain = _core.split_verify(*args, 0.0)
    merged = _core.split_verify(*args, 0.25)
    assert plain["status"] == merged["status"] == 2 and plain["boxes"] == merged["boxes"]
    assert plain["closed_fraction"] == merged["closed_fraction"]
    P_lo, P_hi, M_lo, M_hi = plain["open_lo"], plain["open_hi"], merged["open_lo"], merged["open_hi"]
    assert len(M_lo) < len(P_lo) and merged["merged"] == len(P_lo) - len(M_lo)
    inside = _inside(P_lo, P_hi, M_lo, M_hi)
    assert np.all(inside.sum(axis=1) == 1)
    sides = np.minimum(M_hi[:, None], M_hi[None]) - np.maximum(M_lo[:, None], M_lo[None])
    overlap = np.prod(np.clip(sides, 0, None)[..., free], axis=-1)
    np.fill_diagonal(overlap, 0.0)
    assert np.all(overlap == 0.0)
    assert np.all(M_lo >= lo) and np.all(M_hi <= hi)
    assert not np.any(np.all(M_lo == lo, axis=1) & np.all(M_hi == hi, axis=1))
    total = _volume(lo, hi, free)
    assert _volume(M_lo, M_hi, free).sum() >= _volume(P_lo, P_hi, free).sum() * (1 - 1e-12)
    assert _volume(M_lo, M_hi, free).sum() <= total * (1 + 1e-12)
    for i in range(len(M_lo)):
        assert merged["open_score"][i] == plain["open_score"][inside[:, i]].min()


@pytest.mark.parametrize("seed", range(4))
def test_merged_verdicts_agree_with_the_unpruned_enumeration(seed, monkeypatch):
    # Verdicts with every open box handed over as it is and with merging (several thresholds), paced early so that
    # boxes are left open, equal the exact enumeration's without any relaxation.
    net, spec, t = _random_property(seed)
    exact = relutope.verify(net, spec, prune=False, search=False)
    monkeypatch.setattr(_search, "PACE_FROM", 8)
    for merge in (0.0, 0.25, 1.0):
        monkeypatch.setattr(_search, "MERGE_CLOSED", merge)
        res = relutope.verify(net, spec, split_boxes=64, search=False)
        assert res.status == exact.status, merge
        if res.status == "violated":
            y = net(res.counterexample[None])[0]
            assert y[0] - y[1] >= t - 1e-6 * (1 + abs(t))


def test_merge_option_is_checked():
    net, spec, _ = _random_property(0)
    case = spec.cases[0]
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="merge_closed"):
            _core.split_verify(net._core(), case.box_lo, case.box_hi, _terms(case), 8, 16, -1.0, 1, 0, 8, 32, bad)
