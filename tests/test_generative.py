"""Tests of relutope.generative: the pieces, angles, density, entropy and likelihood of piecewise-affine generators.

Independent references: closed forms (linear generators, ``(a relu z, c relu -z)``, the 45-degree fold, the
two-to-one ``|z| (1, 1)``), scipy.linalg.subspace_angles, numerical quadrature (scipy.integrate.quad) of the
marginal likelihood, Monte Carlo over the latent through the network's own forward pass, and exact rational
arithmetic.
"""
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.linalg import subspace_angles
from scipy.stats import multivariate_normal, norm

import relutope
from relutope import generative as gen
from relutope.network import Layer

GAUSS_H1 = 0.5 * np.log(2 * np.pi * np.e)


def _part(net, domain):
    return relutope.enumerate_regions(net, domain)


def relu_pair(a, c):
    """G(z) = (a relu(z), c relu(-z)), S = 1, D = 2."""
    return relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.diag([a, c]), np.zeros(2))])


def fold():
    """G(z) = (z1, z2, relu(z1))."""
    return relutope.Network([Layer.affine(np.array([[1.0, 0], [0, 1], [1, 0]]), np.zeros(3),
                                          ["identity", "identity", "relu"]),
                             Layer.affine(np.eye(3), np.zeros(3), "identity")])


def abs_fold():
    """G(z) = |z| (1, 1), S = 1, D = 2: two-to-one."""
    return relutope.Network.from_weights([(np.ones((1, 1)), np.zeros(1)), (np.ones((2, 1)), np.zeros(2))],
                                         activation="abs")


@pytest.fixture(scope="module")
def trained():
    """A small leaky-ReLU generator [2, 12, 12, 3] fitted (Adam, plain numpy backpropagation) to the surface
    (z1 cos z1, z2, z1 sin z1) of z ~ N(0, I)."""
    rng = np.random.default_rng(0)
    widths, alpha = [2, 12, 12, 3], 0.1
    params = [[rng.normal(size=(o, i)) * np.sqrt(2.0 / i), np.zeros(o)] for i, o in zip(widths[:-1], widths[1:])]
    m = [[np.zeros_like(p) for p in layer] for layer in params]
    v = [[np.zeros_like(p) for p in layer] for layer in params]
    for step in range(1, 301):
        z = rng.standard_normal((128, 2))
        target = np.stack([z[:, 0] * np.cos(z[:, 0]), z[:, 1], z[:, 0] * np.sin(z[:, 0])], axis=1)
        hs, pre = [z], []
        for li, (W, b) in enumerate(params):
            a = hs[-1] @ W.T + b
            pre.append(a)
            hs.append(np.where(a > 0, a, alpha * a) if li < len(params) - 1 else a)
        g = 2 * (hs[-1] - target) / len(z)
        for li in reversed(range(len(params))):
            if li < len(params) - 1:
                g = g * np.where(pre[li] > 0, 1.0, alpha)
            grads = [g.T @ hs[li], g.sum(axis=0)]
            g = g @ params[li][0]
            for pi in range(2):
                m[li][pi] = 0.9 * m[li][pi] + 0.1 * grads[pi]
                v[li][pi] = 0.999 * v[li][pi] + 0.001 * grads[pi] ** 2
                params[li][pi] -= 1e-2 * (m[li][pi] / (1 - 0.9 ** step)) / (np.sqrt(v[li][pi] / (1 - 0.999 ** step))
                                                                           + 1e-8)
    return relutope.Network.from_weights([tuple(p) for p in params], activation="leaky_relu", alpha=alpha)


# ---------------------------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_linear_generator_entropy_under_both_latents(scale):
    rng = np.random.default_rng(1)
    A, b = rng.normal(size=(4, 2)) * scale, rng.normal(size=4) * scale
    net = relutope.Network.from_weights([(A, b)], activation="identity")
    half_logdet = 0.5 * np.log(np.linalg.det(A.T @ A))
    lo, hi = np.array([3.0, -7.0]) * scale, np.array([3.5, -5.0]) * scale  # off-centre box of volume scale^2
    h = gen.entropy(_part(net, relutope.Box(lo, hi)))
    assert h.masses.method == "volume"
    assert abs(h.entropy - (np.log(np.prod(hi - lo)) + half_logdet)) < 1e-9 * max(1.0, abs(h.entropy))
    h = gen.entropy(_part(net, relutope.WholeSpace(2)))
    assert abs(h.entropy - (2 * GAUSS_H1 + half_logdet)) < 1e-9 * max(1.0, abs(h.entropy))
    assert h.injective and h.singular_mass == 0


@pytest.mark.parametrize("a,c", [(2.0, 3.0), (-1e-6, 1e6), (1e3, -0.5)])
def test_relu_pair_entropy_under_both_latents(a, c):
    net = relu_pair(a, c)
    for L in (1e-6, 1.0, 1e6):  # uniform on [-L, L]: each side has mass 1/2
        h = gen.entropy(_part(net, relutope.Box([-L], [L])), latent="uniform")
        assert abs(h.entropy - (np.log(2 * L) + 0.5 * np.log(abs(a * c)))) < 1e-9
    h = gen.entropy(_part(net, relutope.WholeSpace(1)))
    assert h.masses.method == "interval"
    assert abs(h.entropy - (GAUSS_H1 + 0.5 * np.log(abs(a * c)))) < 1e-12
    assert h.injective


def test_fold_has_principal_angles_zero_and_45_degrees():
    part = _part(fold(), relutope.WholeSpace(2))
    pieces = gen.manifold_pieces(part)
    assert pieces.rank.tolist() == [2, 2]
    ang = gen.piece_angles(part, pieces)
    assert ang.edges.tolist() == [[0, 1]]
    assert np.allclose(np.degrees(ang.angles[0]), [45.0, 0.0], atol=1e-12)
    assert np.allclose(ang.angles[0], subspace_angles(pieces.A[0], pieces.A[1]), atol=1e-12)
    assert np.allclose(ang.region_angularity, np.pi / 4)
    # the bases are orthonormal and span the pieces
    for w in range(2):
        U = pieces.basis[w]
        assert np.allclose(U.T @ U, np.eye(2))
        assert np.allclose(U @ U.T @ pieces.A[w], pieces.A[w])
    assert gen.image_overlaps(part, pieces).injective
    # density at a point of each piece: phi_2(z) / sqrt(det(A^T A)), det = 2 on the folded half
    z = np.array([[0.7, -0.3], [-0.4, 1.1]])
    d = gen.manifold_density(part, fold()(z))
    want = multivariate_normal(np.zeros(2)).pdf(z) / np.array([np.sqrt(2.0), 1.0])
    assert d.n_preimages.tolist() == [1, 1] and np.allclose(d.density, want, rtol=1e-12)


def test_angles_agree_with_scipy_on_a_random_generator():
    net = relutope.Network.random([3, 6, 6, 5], seed=4)
    part = _part(net, relutope.Box(-np.ones(3), np.ones(3)))
    pieces = gen.manifold_pieces(part)
    ang = gen.piece_angles(part, pieces)
    assert len(ang.edges) == len(part.adjacency())
    for e in range(0, len(ang.edges), max(1, len(ang.edges) // 25)):
        i, j = ang.edges[e]
        Ui, Uj = pieces.basis[i][:, :pieces.rank[i]], pieces.basis[j][:, :pieces.rank[j]]
        if Ui.shape[1] and Uj.shape[1]:
            want = subspace_angles(Ui, Uj)  # descending
            got = ang.angles[e][:len(want)]
            # Large angles against scipy; every angle by its cosine and sine (Bjorck & Golub, Math. Comp. 1973:
            # the singular values of Ui^T Uj and of (I - Ui Ui^T) Uj, for the smaller basis as Uj). scipy's
            # cosine branch puts an angle of 0 at up to arccos(1 - eps) = 1.5e-8, so it is not the reference there.
            assert np.allclose(got[want > 1e-6], want[want > 1e-6], atol=1e-10)
            small, big = (Ui, Uj) if Ui.shape[1] <= Uj.shape[1] else (Uj, Ui)
            cos = np.linalg.svd(big.T @ small, compute_uv=False)  # descending: angles ascending
            sin = np.linalg.svd(small - big @ (big.T @ small), compute_uv=False)  # descending: angles descending
            assert np.allclose(np.cos(got[::-1]), np.clip(cos, 0, 1), atol=1e-10)
            assert np.allclose(np.sin(got), np.clip(sin, 0, 1), atol=1e-10)
    # generically one non-trivial angle per edge: adjacent maps differ by a rank-one term
    nontrivial = (np.nan_to_num(ang.angles) > 1e-7).sum(axis=1)
    assert np.mean(nontrivial <= 1) > 0.95


def test_non_injective_generator_sums_both_preimages():
    part = _part(abs_fold(), relutope.WholeSpace(1))
    o = gen.image_overlaps(part)
    assert not o.injective and o.pairs.tolist() == [[0, 1]]
    assert o.flat[0] == o.flat[1] >= 0
    a = np.array([0.3, 1.7, 4.0])
    x = np.stack([a, a], axis=1)
    d = gen.manifold_density(part, x)
    assert d.n_preimages.tolist() == [2, 2, 2]
    assert np.allclose(d.density, 2 * norm.pdf(a) / np.sqrt(2), rtol=1e-12)
    assert all(np.allclose(np.sort(p[:, 0]), [-v, v]) for p, v in zip(d.preimages, a))
    # off the manifold, and on the other half of the diagonal: no preimage
    d = gen.manifold_density(part, [[1.0, 1.1], [-1.0, -1.0]])
    assert d.n_preimages.tolist() == [0, 0] and d.density.tolist() == [0.0, 0.0]
    # uniform on [-1, 2]: points above |z| = 1 have one preimage, below two (density 1/3 / sqrt(2) each)
    part = _part(abs_fold(), relutope.Box([-1.0], [2.0]))
    d = gen.manifold_density(part, [[0.5, 0.5], [1.5, 1.5]])
    assert d.n_preimages.tolist() == [2, 1]
    assert np.allclose(d.density, [2 / 3 / np.sqrt(2), 1 / 3 / np.sqrt(2)], rtol=1e-12)
    assert not gen.entropy(part).injective


# ---------------------------------------------------------------------------------------------- masses, entropy
def _weights(widths, seed):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(o, i)) * np.sqrt(2.0 / i), rng.normal(size=o) * 0.1)
            for i, o in zip(widths[:-1], widths[1:])]


def test_masses_sum_to_one():
    for S, widths in ((1, [1, 8, 8, 2]), (2, [2, 10, 10, 3])):
        W = _weights(widths, 5)
        m = gen.region_masses(_part(relutope.Network.from_weights(W), relutope.WholeSpace(S)))
        assert m.method == ("interval" if S == 1 else "owens_t")
        assert abs(m.mass.sum() - 1.0) < 1e-9 and np.all(m.mass >= 0)
        for scale in (1e-6, 1e6):  # the same generator on an off-centre box, G((x - centre) / scale)
            lo, hi = np.array([3.0, -7.0][:S]) * scale, np.array([4.0, -6.5][:S]) * scale
            centre = (lo + hi) / 2
            W_s = [(W[0][0] / scale, W[0][1] - W[0][0] @ centre / scale)] + W[1:]
            part = _part(relutope.Network.from_weights(W_s), relutope.Box(lo, hi))
            assert len(part) > 1
            m = gen.region_masses(part)
            assert m.method == "volume" and abs(m.mass.sum() - 1.0) < 1e-9
        lo, hi = np.array([-1.0, -0.5])[:S], np.array([2.0, 1.5])[:S]
        mg = gen.region_masses(_part(relutope.Network.from_weights(W), relutope.Box(lo, hi)), latent="gaussian")
        assert abs(mg.mass.sum() - 1.0) < 1e-9  # the Gaussian truncated to the box
    # S = 3: directional sampling sums to 1 direction by direction
    net = relutope.Network.random([3, 6, 6, 4], seed=6)
    m = gen.region_masses(_part(net, relutope.WholeSpace(3)), n_directions=2 ** 10)
    assert m.method == "directional" and abs(m.mass.sum() - 1.0) < 1e-9
    assert np.allclose(m.replicate_mass.sum(axis=1), 1.0, atol=1e-9)


def test_masses_against_sampling_the_latent():
    net = relutope.Network.random([3, 6, 6, 4], seed=6)
    part = _part(net, relutope.WholeSpace(3))
    m = gen.region_masses(part, n_directions=2 ** 12, seed=1)
    n = 2 * 10 ** 5
    freq = np.bincount(part.locate(np.random.default_rng(0).standard_normal((n, 3))), minlength=len(part)) / n
    se = np.hypot(m.error, np.sqrt(m.mass * (1 - m.mass) / n))
    many = m.n_hits >= 100  # regions whose replicate error estimate is reliable
    assert many.sum() > 50
    resid = (freq - m.mass)[many] / se[many]
    assert np.max(np.abs(resid)) < 6 and np.sqrt(np.mean(resid ** 2)) < 2
    rest = m.mass[~many].sum()  # the regions few lines meet, together
    assert abs(freq[~many].sum() - rest) < 5 * np.hypot(np.sqrt(rest * (1 - rest) / n), np.sum(m.error[~many]))


@pytest.mark.parametrize("latent", ["gaussian", "uniform"])
def test_exact_entropy_agrees_with_monte_carlo_on_a_trained_generator(trained, latent):
    domain = relutope.WholeSpace(2) if latent == "gaussian" else relutope.Box([-2.0, -1.0], [1.5, 2.0])
    part = _part(trained, domain)
    h = gen.entropy(part, latent=latent)
    assert h.injective and h.singular_mass == 0 and np.isfinite(h.entropy)
    mc = gen.entropy_monte_carlo(part, n=2 * 10 ** 5, latent=latent, seed=1)
    assert abs(h.entropy - mc.entropy) < 4 * mc.standard_error


def test_entropy_of_a_three_dimensional_latent_has_an_error_estimate():
    net = relutope.Network.from_weights(_weights([3, 6, 5], 2), activation="leaky_relu", alpha=0.2)
    part = _part(net, relutope.WholeSpace(3))
    h = gen.entropy(part, n_directions=2 ** 12)
    mc = gen.entropy_monte_carlo(part, n=10 ** 5, seed=3)
    assert h.error > 0
    assert abs(h.entropy - mc.entropy) < 5 * np.hypot(h.error, mc.standard_error)


def test_rank_deficient_pieces_make_the_entropy_singular():
    net = relutope.Network.from_weights([(np.eye(2), np.zeros(2)), (np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
                                                                    np.zeros(3))])
    part = _part(net, relutope.WholeSpace(2))
    pieces = gen.manifold_pieces(part)
    # the quadrants: both units on (rank 2), one on (rank 1), none (rank 0)
    z = part.witnesses
    assert pieces.rank.tolist() == [int(v) for v in (z > 0).sum(axis=1)]
    h = gen.entropy(part)
    assert h.entropy == -np.inf and abs(h.singular_mass - 0.75) < 1e-12


def test_exact_ranks_in_rationals():
    rng = np.random.default_rng(0)
    net = relutope.Network.from_weights([(rng.normal(size=(5, 2)), rng.normal(size=5)),
                                         (rng.normal(size=(4, 5)), rng.normal(size=4))])
    part = _part(net, relutope.Box([-2.0, -2.0], [2.0, 2.0]))
    exact = gen.manifold_pieces(part, exact=True)
    assert exact.exact and exact.rank.tolist() == gen.manifold_pieces(part).rank.tolist()
    # a product of ranks that only rational arithmetic sees: 0.1 * 2.1 - 0.7 * 0.3 != 0 in float64 inputs
    net = relutope.Network.from_weights([(np.array([[0.1, 0.7], [0.3, 2.1]]), np.zeros(2))], activation="identity")
    part = _part(net, relutope.WholeSpace(2))
    assert gen.manifold_pieces(part).rank.tolist() == [1]
    assert gen.manifold_pieces(part, exact=True).rank.tolist() == [2]
    assert gen.manifold_pieces(part, rtol=0.0).rank.tolist() == [2]


# ---------------------------------------------------------------------------------------------- likelihood
def test_log_likelihood_of_a_linear_generator_is_gaussian():
    rng = np.random.default_rng(2)
    for S in (1, 2, 3):
        A, b = rng.normal(size=(4, S)), rng.normal(size=4)
        part = _part(relutope.Network.from_weights([(A, b)], activation="identity"), relutope.WholeSpace(S))
        x = rng.normal(size=(6, 4)) * 2
        for s in (0.05, 0.5):
            ll = gen.log_likelihood(part, x, s)
            want = multivariate_normal(b, s * s * np.eye(4) + A @ A.T).logpdf(x)
            assert np.allclose(ll.log_likelihood, want, rtol=1e-11, atol=1e-11)
            assert np.allclose(ll.responsibilities, 1.0)


def test_log_likelihood_keeps_its_accuracy_for_small_noise():
    """Near the manifold with s = 1e-6, against the Gaussian evaluated in 40-digit arithmetic (mpmath)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    rng = np.random.default_rng(5)
    A, b = rng.normal(size=(4, 2)), rng.normal(size=4)
    part = _part(relutope.Network.from_weights([(A, b)], activation="identity"), relutope.WholeSpace(2))
    s = 1e-6
    x = (A @ rng.normal(size=(2, 3)) + b[:, None]).T + s * rng.normal(size=(3, 4))
    ll = gen.log_likelihood(part, x, s).log_likelihood
    C = mpmath.matrix(4, 4)
    for i in range(4):
        for j in range(4):
            C[i, j] = mpmath.mpf(s) ** 2 * (i == j) + mpmath.fsum(mpmath.mpf(A[i, k]) * mpmath.mpf(A[j, k])
                                                                  for k in range(2))
    for n in range(len(x)):
        r = mpmath.matrix([mpmath.mpf(x[n, i]) - mpmath.mpf(b[i]) for i in range(4)])
        quadform = (r.T * mpmath.lu_solve(C, r))[0]
        want = -0.5 * (4 * mpmath.log(2 * mpmath.pi) + mpmath.log(mpmath.det(C)) + quadform)
        assert abs(ll[n] - float(want)) < 1e-7 * max(1.0, abs(float(want)))


def test_log_likelihood_resolves_far_tails_of_the_posterior():
    """The fold with points on the extension of one piece's plane, outside that piece: that piece's Gaussian factor
    is huge and its posterior mass astronomically small (below the Owen's T fan's rounding). Reference: each
    region is a half-plane, whose posterior mass is a one-dimensional normal tail (scipy's log_ndtr)."""
    from scipy.special import log_ndtr

    part = _part(fold(), relutope.WholeSpace(2))
    s = 0.1
    x = np.array([[-3.0, 0.3, -3.0], [-1.05, 0.3, -1.05], [-0.5, 1.0, -0.4], [2.0, -1.0, 0.1], [0.2, 0.0, 0.3]])
    res = gen.log_likelihood(part, x, s)
    pieces = gen.manifold_pieces(part)
    for n, xn in enumerate(x):
        terms = []
        for w in range(2):
            A, b = pieces.A[w], pieces.b[w]
            Sig = s * s * np.linalg.inv(s * s * np.eye(2) + A.T @ A)
            mu = Sig @ A.T @ (xn - b) / (s * s)
            side = 1.0 if part.witnesses[w, 0] > 0 else -1.0  # the region is side * z1 >= 0
            terms.append(multivariate_normal(b, s * s * np.eye(3) + A @ A.T).logpdf(xn)
                         + log_ndtr(side * mu[0] / np.sqrt(Sig[0, 0])))
        want = np.logaddexp(*terms)
        assert abs(res.log_likelihood[n] - want) <= max(res.error[n], 1e-9 * abs(want))
        assert res.error[n] < 1e-6


def test_log_likelihood_against_quadrature_in_one_dimension():
    part = _part(relu_pair(2.0, -0.5), relutope.WholeSpace(1))
    s = 0.3
    x = np.array([[1.0, 0.1], [0.0, 0.4], [-0.2, -0.3], [3.0, 2.0]])
    ll = gen.log_likelihood(part, x, s).log_likelihood
    for k, xk in enumerate(x):
        def f(z):
            g = np.array([2.0 * max(z, 0), -0.5 * max(-z, 0)])
            return norm.pdf(z) * np.prod(norm.pdf(xk, g, s))
        val = quad(f, -np.inf, 0, epsabs=0, epsrel=1e-13)[0] + quad(f, 0, np.inf, epsabs=0, epsrel=1e-13)[0]
        assert abs(ll[k] - np.log(val)) < 1e-9


def test_log_likelihood_against_monte_carlo_on_a_trained_generator(trained):
    part = _part(trained, relutope.WholeSpace(2))
    rng = np.random.default_rng(4)
    s = 0.5
    x = trained(rng.standard_normal((3, 2))) + s * rng.standard_normal((3, 3))
    res = gen.log_likelihood(part, x, s)
    assert np.allclose(res.responsibilities.sum(axis=1), 1.0)
    with pytest.MonkeyPatch.context() as mp:  # without skipping the regions of negligible Gaussian factor
        mp.setattr(gen, "PRUNE_LOG", np.inf)
        full = gen.log_likelihood(part, x, s)
    assert np.allclose(full.log_likelihood, res.log_likelihood, rtol=1e-14, atol=1e-14)
    z = rng.standard_normal((3 * 10 ** 5, 2))
    G = trained(z)
    for k in range(len(x)):
        lp = norm.logpdf(x[k], G, s).sum(axis=1)
        w = np.exp(lp - lp.max())
        mc = lp.max() + np.log(w.mean())
        se = w.std() / w.mean() / np.sqrt(len(z))  # delta method on the log
        assert abs(res.log_likelihood[k] - mc) < 5 * se


# ---------------------------------------------------------------------------------------------- disentanglement, plots
def test_disentanglement_of_the_fold():
    part = _part(fold(), relutope.WholeSpace(2))
    d = gen.disentanglement(part)
    assert np.allclose(d.off_diagonal, 0.0)  # columns (1,0,0),(0,1,0) and (1,0,1)/sqrt2,(0,1,0): orthogonal
    assert np.allclose(d.column_norms[np.argsort(part.witnesses[:, 0])], [[1, 1], [np.sqrt(2), 1]])
    # latent 1 maps to e1 (mass 1/2) and (e1 + e3)/sqrt2 (mass 1/2): top eigenvalue (1 + cos 45) / 2
    assert np.allclose(d.consistency, [(1 + np.sqrt(0.5)) / 2, 1.0])
    d = gen.disentanglement(part, masses=[1.0, 0.0])
    assert np.allclose(d.consistency, 1.0)


def test_plots_draw_the_pieces_where_the_network_puts_them():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    net = relutope.Network.random([2, 6, 6, 3], seed=1)
    part = _part(net, relutope.Box([-1.0, -0.5], [1.5, 1.0]))
    fig = Figure()
    for color in ("region", "density", "angularity", "log_det"):
        coll = gen.plot_pieces(part, ax=fig.add_subplot(projection="3d"), color=color)
        assert len(coll.regions) == len(part) and np.all(np.isfinite(coll.get_array()))
    pieces = gen.manifold_pieces(part)
    off, verts = gen._latent_polygons(part, None)
    k = 7
    poly3 = np.einsum("ds,vs->vd", pieces.A[k], verts[off[k]:off[k + 1]]) + pieces.b[k]
    assert np.allclose(poly3, net(verts[off[k]:off[k + 1]]), atol=1e-12)  # a piece is the network on its polygon
    coll = gen.plot_log_det(part, ax=fig.add_subplot())
    assert np.allclose(coll.get_array(), pieces.log_det)
    whole = _part(net, relutope.WholeSpace(2))
    coll = gen.plot_log_det(whole, ax=fig.add_subplot(), clip=([-2, -2], [2, 2]))
    assert 0 < len(coll.regions) <= len(whole)


def test_bad_input():
    part = _part(fold(), relutope.WholeSpace(2))
    with pytest.raises(TypeError, match="partition must be a relutope.Partition"):
        gen.manifold_pieces("not a partition")
    with pytest.raises(ValueError, match="latent must be one of"):
        gen.entropy(part, latent="cauchy")
    with pytest.raises(ValueError, match="latent='uniform' needs a Box"):
        gen.region_masses(part, latent="uniform")
    with pytest.raises(ValueError, match="sigma must be a positive"):
        gen.log_likelihood(part, np.zeros((1, 3)), 0.0)
    with pytest.raises(ValueError, match="x"):
        gen.manifold_density(part, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="rtol"):
        gen.manifold_pieces(part, rtol=2.0)
    with pytest.raises(ValueError, match="pieces must be the ManifoldPieces"):
        gen.piece_angles(part, pieces=gen.manifold_pieces(_part(abs_fold(), relutope.WholeSpace(1))))
    with pytest.raises(ValueError, match="WholeSpace"):
        gen.log_likelihood(_part(fold(), relutope.Box([-1, -1], [1, 1])), np.zeros((1, 3)), 1.0)
    with pytest.raises(ValueError, match="full-dimensional Box or a WholeSpace"):
        gen.manifold_pieces(_part(fold(), relutope.Box([-1, 0], [1, 0])))  # z2 fixed: a 1-D domain
    incomplete = relutope.enumerate_regions(relutope.Network.random([2, 8, 3], seed=0), relutope.WholeSpace(2),
                                            max_regions=2)
    with pytest.raises(ValueError, match="incomplete"):
        gen.region_masses(incomplete)
    far = _part(relu_pair(1.0, 1.0), relutope.Box([60.0], [61.0]))
    with pytest.raises(ValueError, match="no standard Gaussian mass"):
        gen.region_masses(far, latent="gaussian")
    with pytest.raises(ValueError, match="plot_pieces draws a 3-D output"):
        gen.plot_pieces(_part(relu_pair(1.0, 1.0), relutope.WholeSpace(1)))

