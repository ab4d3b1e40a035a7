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


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_paced_split_tiles_the_box_and_stops_before_the_budget(scale):
    # ACAS Xu 1_1 property 3 (holds; the box relaxation closes it slowly), its box mapped affinely to an off-centre
    # box of size ~scale (the first layer rescaled to match, so the network on the mapped box is the same function):
    # with the pace the splitting hands over before the budget, and then the closed fraction and the open boxes'
    # volumes add up to the whole box, every open box inside it; without it (pace_from=0) the budget is spent.
    net = relutope.load_nnet(DATA / "nnet" / "ACASXU_run2a_1_1_batch_2000.nnet")
    case = vnnlib.load(DATA / "vnnlib" / "prop_3.vnnlib").cases[0]
    lo0, hi0 = case.box_lo, case.box_hi
    free = hi0 > lo0
    shift = 3.0 * scale * (1.0 + np.arange(net.in_dim))
    s = np.where(free, scale * (1.0 + np.arange(net.in_dim)) / np.where(free, hi0 - lo0, 1.0), 1.0)
    lo, hi = shift + s * (lo0 - lo0), shift + s * (hi0 - lo0)   # x = lo0 + (z - shift) / s
    L0 = net.layers[0]
    layers = [relutope.network.Layer(L0.A / s[None, :], L0.c - (L0.A / s[None, :]) @ (shift - s * lo0), L0.n_pieces)]
    mapped = relutope.Network(layers + list(net.layers[1:]))
    z = lo + (hi - lo) * np.random.default_rng(0).uniform(size=(8, net.in_dim))
    np.testing.assert_allclose(mapped(z), net(lo0 + (z - shift) / s), rtol=1e-9, atol=1e-9)
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
