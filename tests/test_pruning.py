"""Pruning by the partition (relutope.pruning): exactly removable units, redundancy scores, pruning, the CLI."""
import numpy as np
import pytest

import relutope
from relutope import pruning
from relutope.cli import main
from relutope.pruning import (hyperplane_similarity, magnitude_scores, prune, redundancy_scores, removal_effect,
                              remove_stable_units, remove_units, select_units, stable_units)

from planar import area, intersect


def _scaled(net, lo, hi):
    """The net composed with the affine map taking [0, 1]^d onto the box [lo, hi] (same function, moved)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    L0 = net.layers[0]
    A = L0.A / (hi - lo)[None, :]
    return relutope.Network([relutope.Layer(A, L0.c - A @ lo, L0.n_pieces)] + list(net.layers[1:]))


def _forward_long(net, x):
    """The network evaluated in extended precision (numpy.longdouble), an independent forward pass."""
    h = np.asarray(x, dtype=np.longdouble)
    for layer in net.layers:
        z = h @ layer.A.astype(np.longdouble).T + layer.c.astype(np.longdouble)
        h = np.stack([z[:, layer.piece_start[k]:layer.piece_start[k + 1]].max(axis=1)
                      for k in range(layer.n_units)], axis=1)
    return h


def _box(lo, size, d=2):
    lo = np.broadcast_to(np.asarray(lo, float), (d,))
    box = relutope.Box(lo, lo + size)
    return box, max(relutope.default_tol(box), relutope.min_tol(box))


@pytest.mark.parametrize("seed, sub", [(0, (0.3, 0.45)), (1, (0.0, 1.0)), (2, (0.55, 0.6)), (3, (0.1, 0.5))])
def test_removing_stable_units_keeps_outputs_and_regions(seed, sub):
    net = relutope.Network.random([2, 24, 24, 24, 3], seed=seed)
    box = relutope.Box([sub[0], sub[0] - 0.2], [sub[1], sub[1] - 0.2])
    res = remove_stable_units(net, box)
    x = box.sample(100_000, rng=seed)
    y, y2 = net(x), res.network(x)
    assert np.max(np.abs(y - y2)) <= 1e-12 * np.max(np.abs(y))
    assert len(relutope.enumerate_regions(res.network, box)) == len(relutope.enumerate_regions(net, box))
    assert res.network.out_dim == 3 and res.removed.sum() == res.always_off + res.always_on
    assert res.network.n_units == net.n_units - res.removed.sum() or res.layers_merged
    if sub[1] - sub[0] < 0.2:
        assert res.network.n_units < net.n_units / 2  # a small box: most units are stable


@pytest.mark.parametrize("lo, size", [((3.0, -7.0), 1e-6), ((-2e6, 5e5), 1e6), ((1e3, -1e3), 1.0)])
def test_stable_units_do_not_depend_on_the_scale(lo, size):
    net = relutope.Network.random([2, 16, 16, 2], seed=5)
    ref = stable_units(net, relutope.Box([0.2, 0.6], [0.4, 0.8]))
    box, tol = _box(lo, size)
    moved = _scaled(net, np.array(lo) - np.array([0.2, 0.6]) * size / 0.2, np.array(lo) + np.array([0.8, 0.4]) * size / 0.2)
    got = stable_units(moved, box, tol=tol)
    np.testing.assert_array_equal(got.piece, ref.piece)
    res = remove_stable_units(moved, box, stable=got)
    x = box.sample(20_000, rng=0)
    # Far from the origin the moved net's own float64 pass cancels terms of size |W x| ~ 1e6 (an error ~1e-10):
    # both passes are compared with an extended-precision one, the pruned net's error within the original's.
    ref = _forward_long(moved, x)
    err_orig = float(np.max(np.abs(moved(x) - ref)))
    err = float(np.max(np.abs(res.network(x) - ref)))
    assert err <= 1e-12 * float(np.max(np.abs(ref))) + 4 * err_orig


def test_stable_units_of_one_layer_are_the_box_bounds():
    # Closed form: over a box, min / max of w . x + b is b + sum_i min / max(w_i lo_i, w_i hi_i).
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(40, 3)), rng.normal(size=40) * 2
    net = relutope.Network.from_weights([(W, b), (np.ones((1, 40)), np.zeros(1))])
    lo, hi = np.array([-0.5, 0.1, 0.2]), np.array([0.3, 0.4, 0.9])
    zmin = b + np.minimum(W * lo, W * hi).sum(axis=1)
    zmax = b + np.maximum(W * lo, W * hi).sum(axis=1)
    got = stable_units(net, relutope.Box(lo, hi))
    expect = np.where(zmin > 0, 1, np.where(zmax < 0, 0, -1))
    np.testing.assert_array_equal(got.piece[:40], expect)
    on = expect == 1
    np.testing.assert_allclose(got.margin[:40][on], zmin[on], rtol=1e-12)
    np.testing.assert_allclose(got.margin[:40][expect == 0], -zmax[expect == 0], rtol=1e-12)


def test_units_declared_unstable_are_cut_and_stable_ones_are_not():
    net = relutope.Network.random([2, 12, 12, 12, 2], seed=7)
    box = relutope.Box([0.1, -0.4], [0.5, 0.0])
    st = stable_units(net, box)
    pats = relutope.enumerate_regions(net, box).patterns  # the exact regions: independent of the bounds
    varies = pats.min(axis=0) != pats.max(axis=0)
    multi = net.n_pieces > 1
    np.testing.assert_array_equal(st.piece[multi] < 0, varies[multi])
    const = ~varies & multi
    np.testing.assert_array_equal(st.piece[const], pats[0, const])


def test_a_tie_is_never_declared_stable():
    # relu(x) on [0, 1] reaches 0 exactly: the second layer's unit z = h - 0 has min 0 (a tie); z = h + m has
    # min m, declared stable only when m clears the relative margin.
    def net(m):
        return relutope.Network.from_weights([(np.array([[1.0]]), np.zeros(1)),
                                              (np.array([[1.0], [1.0]]), np.array([0.0, m])),
                                              (np.ones((1, 2)), np.zeros(1))])
    for scale in (1e-6, 1.0, 1e6):
        box = relutope.Box([0.0], [scale])
        tol = max(relutope.default_tol(box), relutope.min_tol(box))
        assert stable_units(net(0.0), box, tol=tol).piece[1] == -1
        assert stable_units(net(1e-12 * scale), box, tol=tol).piece[2] == -1
        assert stable_units(net(1e-6 * scale), box, tol=tol).piece[2] == 1


def test_always_on_units_are_folded_through_a_basis():
    # On a box where every first-layer unit of a 2-input net is on, three or more affine units span at most 2
    # dimensions; the layer is then composed into the next one, and a partly stable layer keeps <= 2 identities.
    rng = np.random.default_rng(3)
    W1 = rng.normal(size=(6, 2))
    b1 = 10 + np.abs(W1).sum(axis=1)  # on over [-1, 1]^2
    W2 = rng.normal(size=(5, 6))
    net = relutope.Network.from_weights([(W1, b1), (W2, rng.normal(size=5)), (rng.normal(size=(1, 5)), [0.0])])
    box = relutope.Box([-1, -1], [1, 1])
    res = remove_stable_units(net, box)
    assert res.layers_merged >= 1 and len(res.network) == 3 - res.layers_merged
    x = box.sample(100_000, rng=1)
    assert np.max(np.abs(res.network(x) - net(x))) <= 1e-12 * np.max(np.abs(net(x)))
    W1b = np.vstack([W1, [[1.0, 0.0]]])  # a seventh unit that is cut: the layer stays, with 2 identity units
    net2 = relutope.Network.from_weights([(W1b, np.append(b1, 0.0)), (rng.normal(size=(5, 7)), np.zeros(5)),
                                          (rng.normal(size=(1, 5)), [0.0])])
    res2 = remove_stable_units(net2, box)
    assert res2.network.widths[1] == 3 and res2.to_identity == 2 and res2.always_on >= 4  # 4 folded in layer 0
    assert list(res2.network.layers[0].n_pieces) == [1, 1, 2]
    assert np.max(np.abs(res2.network(x) - net2(x))) <= 1e-12 * np.max(np.abs(net2(x)))


def test_redundancy_scores_against_direct_recomputation():
    net = relutope.Network.random([3, 7, 5, 2], seed=4)
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(7, 3)), rng.normal(size=(5, 7)), rng.normal(size=(2, 5))]
    bs = [rng.normal(size=7), rng.normal(size=5), rng.normal(size=2)]
    W[0][3] = -2.5 * W[0][1]
    bs[0][3] = -2.5 * bs[0][1]  # unit 3 cuts along unit 1's hyperplane
    net = relutope.Network.from_weights(list(zip(W, bs)))
    scores = redundancy_scores(net)
    for l, width in enumerate((7, 5)):
        S = hyperplane_similarity(net, l)
        U = np.hstack([W[l], bs[l][:, None]])
        for j in range(width):
            for k in range(width):
                cos = U[j] @ U[k] / np.linalg.norm(U[j]) / np.linalg.norm(U[k])
                assert S[j, k] == pytest.approx(cos, rel=1e-12, abs=1e-15)
            start = 0 if l == 0 else 7
            direct = max(abs(U[j] @ U[k]) / np.linalg.norm(U[j]) / np.linalg.norm(U[k]) for k in range(width) if k != j)
            assert scores[start + j] == pytest.approx(direct, rel=1e-12)
    assert scores[1] == pytest.approx(1.0) and scores[3] == pytest.approx(1.0)
    assert np.all(np.isnan(scores[12:]))  # identity output units have no hyperplane
    mags = magnitude_scores(net)
    np.testing.assert_allclose(mags[:12], np.concatenate([np.abs(W[0]).sum(1), np.abs(W[1]).sum(1)]), rtol=1e-15)


def _line_crossings_inside(W, b, k, lo, hi):
    n = 0
    for j in range(len(b)):
        if j == k:
            continue
        M = np.array([W[k], W[j]])
        if abs(np.linalg.det(M)) < 1e-12:
            continue
        p = np.linalg.solve(M, -np.array([b[k], b[j]]))
        n += bool(np.all(p > lo) and np.all(p < hi))
    return n


def _cuts_box(w, b, lo, hi):
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [lo[0], hi[1]], [hi[0], hi[1]]])
    z = corners @ w + b
    return z.min() < 0 < z.max()


def test_removal_effect_of_one_hidden_layer_is_the_line_count():
    # Removing line k from an arrangement in general position merges the regions on its two sides: as many as
    # the pieces the other lines cut it into inside the box, 1 + (crossings inside), if it meets the box.
    net = relutope.Network.random([2, 9, 1], seed=2)
    W, b = net.layers[0].A[1::2], net.layers[0].c[1::2]
    lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    eff = removal_effect(net, relutope.Box(lo, hi))
    expect = [(1 + _line_crossings_inside(W, b, k, lo, hi)) if _cuts_box(W[k], b[k], lo, hi) else 0
              for k in range(9)]
    np.testing.assert_array_equal(eff.regions_merged, expect)
    assert np.all(eff.volume_changed == 0)  # no unit downstream of a last hidden layer has a code


def test_removal_effect_volume_against_polygon_intersections():
    net = relutope.Network.random([2, 6, 6, 1], seed=8)
    box = relutope.Box([-1, -1], [1, 1])
    eff = removal_effect(net, box, [0, 2, 4])
    pa = relutope.enumerate_regions(net, box)
    for i, k in enumerate([0, 2, 4]):
        small = remove_units(net, [k])
        pb = relutope.enumerate_regions(small, box)
        assert eff.regions_after[i] == len(pb)
        others = np.delete(np.arange(net.n_units), k)
        changed = 0.0  # sum of the areas of P_i ∩ Q_j over region pairs whose codes on the other units differ
        for P, code in zip(pa.polygons(), pa.patterns[:, others]):
            for Q, code_b in zip(pb.polygons(), pb.patterns):
                if np.any(code != code_b):
                    changed += area(intersect(P, Q))
        assert eff.volume_changed[i] == pytest.approx(changed, rel=1e-9, abs=1e-12)
        assert eff.volume_fraction[i] == pytest.approx(changed / 4.0, rel=1e-9, abs=1e-12)
    assert np.any(eff.volume_changed > 0)


def test_remove_units_switches_them_off():
    net = relutope.Network.random([3, 6, 5, 2], seed=1)
    small = remove_units(net, [1, 4, 7])
    assert small.widths == [3, 4, 4, 2]
    x = np.random.default_rng(0).normal(size=(500, 3))
    W = [net.layers[0].A[1::2], net.layers[1].A[1::2], net.layers[2].A]
    c = [net.layers[0].c[1::2], net.layers[1].c[1::2], net.layers[2].c]
    h = np.maximum(x @ W[0].T + c[0], 0)
    h[:, [1, 4]] = 0
    h = np.maximum(h @ W[1].T + c[1], 0)
    h[:, 1] = 0  # unit 7 is layer 1's unit 1
    np.testing.assert_allclose(small(x), h @ W[2].T + c[2], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="output layer"):
        remove_units(net, [11])
    with pytest.raises(ValueError, match="every unit of layer 0"):
        remove_units(net, list(range(6)))


def test_spline_pruning_keeps_one_of_two_coinciding_hyperplanes():
    rng = np.random.default_rng(2)
    W1, b1 = rng.normal(size=(6, 2)), rng.normal(size=6)
    W1[4], b1[4] = 3 * W1[2], 3 * b1[2]
    net = relutope.Network.from_weights([(W1, b1), (rng.normal(size=(4, 6)), rng.normal(size=4)),
                                         (rng.normal(size=(1, 4)), [0.0])])
    first = select_units(net, 0.1, scope="global")  # 1 of 10 hidden units
    assert len(first) == 1 and first[0] in (2, 4)
    two = select_units(net, 2 / 10, scope="global")
    assert len(set(two) & {2, 4}) == 1  # after one is chosen, its twin is no longer redundant
    small, units = prune(net, 0.25, scope="layer", criterion="magnitude")
    mags = magnitude_scores(net)
    assert small.widths == [2, 4, 3, 1] and set(units) == set(np.argsort(mags[:6])[:2]) | {6 + int(np.argmin(mags[6:10]))}
    g = select_units(net, 0.5, scope="global", criterion=np.arange(net.n_units, dtype=float))
    np.testing.assert_array_equal(g, [9, 8, 7, 5, 4])  # largest scores first, one unit kept per layer


@pytest.mark.parametrize("kw, err", [({"amount": 1.0}, ValueError), ({"scope": "net"}, ValueError),
                                     ({"criterion": "l2"}, ValueError), ({"criterion": np.zeros(3)}, ValueError)])
def test_select_units_refuses_bad_arguments(kw, err):
    net = relutope.Network.random([2, 4, 1], seed=0)
    args = {"amount": 0.5, **kw}
    with pytest.raises(err):
        select_units(net, **args)


def test_stable_units_refuses_bad_input():
    net = relutope.Network.random([2, 4, 1], seed=0)
    with pytest.raises(ValueError, match="bounded"):
        stable_units(net, relutope.WholeSpace(2))
    with pytest.raises(ValueError, match="rtol"):
        stable_units(net, relutope.Box([0, 0], [1, 1]), rtol=0)
    with pytest.raises(TypeError, match="domain"):
        stable_units(net, [0, 1])


def test_cli_prune_writes_a_network_equal_on_the_box(tmp_path, capsys):
    net = relutope.Network.random([2, 16, 16, 1], seed=3)
    net.save(tmp_path / "net.npz")
    out = tmp_path / "small"
    assert main(["prune", str(tmp_path / "net.npz"), "--box", "0.5", "0.6", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "always off" in text and "small.npz" in text
    small = relutope.Network.load(tmp_path / "small.npz")
    box = relutope.Box([0.5, 0.5], [0.6, 0.6])
    x = box.sample(10_000, rng=0)
    assert small.n_units < net.n_units
    assert np.max(np.abs(small(x) - net(x))) <= 1e-12 * np.max(np.abs(net(x)))
    assert main(["prune", str(tmp_path / "net.npz"), "--box", "-1", "1", "--amount", "0.25"]) == 0
    assert "[2, 12, 12, 1]" in capsys.readouterr().out
    assert main(["prune", str(tmp_path / "net.npz"), "--box", "-1", "1", "--amount", "2"]) == 2
    assert "--amount" in capsys.readouterr().err
    assert main(["prune", str(tmp_path / "net.npz")]) == 2


@pytest.mark.parametrize("box", [((0.2, 0.3), (0.35, 0.4)), ((-1.0, -1.0), (1.0, 1.0))])
def test_multi_piece_and_leaky_units(box):
    # A max unit of 3 pieces is removable only when one piece wins on all of D; a leaky ReLU that is always off
    # computes alpha * z, an affine piece, so it is folded (not deleted).
    rng = np.random.default_rng(5)
    L0 = relutope.Layer(rng.normal(size=(3 + 8, 2)), rng.normal(size=11) * 0.5, np.array([3, 2, 2, 2, 2]))
    L1 = relutope.Layer.affine(rng.normal(size=(6, 5)), rng.normal(size=6), "leaky_relu", alpha=0.1)
    L2 = relutope.Layer.affine(rng.normal(size=(2, 6)), np.zeros(2), "identity")
    net = relutope.Network([L0, L1, L2])
    dom = relutope.Box(*box)
    st = stable_units(net, dom)
    pats = relutope.enumerate_regions(net, dom).patterns
    varies = pats.min(axis=0) != pats.max(axis=0)
    multi = net.n_pieces > 1
    np.testing.assert_array_equal(st.piece[multi] < 0, varies[multi])
    res = remove_stable_units(net, dom, stable=st)
    x = dom.sample(100_000, rng=2)
    assert np.max(np.abs(res.network(x) - net(x))) <= 1e-12 * np.max(np.abs(net(x)))
    assert len(relutope.enumerate_regions(res.network, dom)) == len(pats)
    assert res.always_off == 0  # no piece here is the zero function except a ReLU's
