"""Tests of relutope.gaussian: Gaussian measures of intervals, polygons (Owen's T) and polytopes (directional RQMC).

Independent references: scipy.integrate.dblquad over the polygon (bounded and unbounded, split at the vertices'
abscissae so that every piece has linear bounds), products of one-dimensional normal probabilities for boxes,
closed forms for half-planes, orthants and wedges, and scipy's multivariate normal sampler.
"""
import numpy as np
import pytest
from scipy.integrate import dblquad
from scipy.special import ndtr
from scipy.stats import multivariate_normal, norm

from relutope.gaussian import interval_masses, polygon_masses, polytope_mass, polytope_masses
from relutope.polygons import areas, clip_halfplanes


def _dblquad_mass(A, b, mean, cov):
    """P(A z <= b) for z ~ N(mean, cov) by dblquad over x, split at every pairwise line intersection (and cut at 10
    standard deviations, beyond which the mass is below 1e-22)."""
    A, b = np.asarray(A, float), np.asarray(b, float)
    P = np.linalg.inv(cov)
    c0 = 1.0 / (2 * np.pi * np.sqrt(np.linalg.det(cov)))
    p00, p01, p11 = P[0, 0], P[0, 1], P[1, 1]
    m0, m1 = mean

    def pdf(y, x):
        dx, dy = x - m0, y - m1
        return c0 * np.exp(-0.5 * (p00 * dx * dx + 2 * p01 * dx * dy + p11 * dy * dy))
    xs = []
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            M = A[[i, j]]
            if abs(np.linalg.det(M)) > 1e-12:
                xs.append(np.linalg.solve(M, b[[i, j]])[0])
    for i in range(len(b)):  # lines x = const bound the x-range
        if A[i, 1] == 0 and A[i, 0] != 0:
            xs.append(b[i] / A[i, 0])
    cuts = [-np.inf] + sorted(xs) + [np.inf]

    def ylo(x):
        v = [(b[i] - A[i, 0] * x) / A[i, 1] for i in range(len(b)) if A[i, 1] < 0]
        return max(v) if v else -np.inf

    def yhi(x):
        v = [(b[i] - A[i, 0] * x) / A[i, 1] for i in range(len(b)) if A[i, 1] > 0]
        return min(v) if v else np.inf

    def feasible_x(x):
        return all(A[i, 0] * x <= b[i] + 1e-12 for i in range(len(b)) if A[i, 1] == 0)

    total = 0.0
    sd = np.sqrt(np.diag(cov))
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        if hi - lo <= 0:
            continue
        mid = 0.5 * (lo + hi) if np.isfinite(lo + hi) else (hi - 1 if np.isfinite(hi) else lo + 1 if np.isfinite(lo)
                                                            else 0.0)
        if not feasible_x(mid) or ylo(mid) >= yhi(mid):
            continue
        val, _ = dblquad(pdf, max(lo, mean[0] - 10 * sd[0]), min(hi, mean[0] + 10 * sd[0]),
                         lambda x: max(ylo(x), mean[1] - 10 * sd[1]), lambda x: min(yhi(x), mean[1] + 10 * sd[1]),
                         epsabs=1e-13, epsrel=1e-12)
        total += val
    return total


def _random_polygon(rng, bounded):
    """Half-planes around a random point: k tangent lines of a circle (a bounded polygon when they surround it)."""
    c = rng.normal(0, 1.0, 2)
    if bounded:
        k = rng.integers(3, 7)
        ang = np.linspace(0, 2 * np.pi, k, endpoint=False) + rng.uniform(0, 1, k) * 0.5
    else:
        k = rng.integers(1, 4)
        ang = rng.uniform(0, np.pi, k) + rng.uniform(0, 2 * np.pi)  # within a half-circle: unbounded
    A = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    r = rng.uniform(0.3, 2.0, k)
    b = A @ c + r
    return A, b


@pytest.mark.parametrize("bounded", [True, False])
def test_owens_t_masses_agree_with_dblquad(bounded):
    rng = np.random.default_rng(7 if bounded else 8)
    for trial in range(8):
        A, b = _random_polygon(rng, bounded)
        mean = rng.normal(0, 0.5, 2) if trial % 2 else np.zeros(2)
        L = rng.normal(0, 0.4, (2, 2)) + np.eye(2)
        cov = L @ L.T if trial % 2 else np.eye(2)
        m, err = polytope_mass(A, b, mean, cov)
        assert err == 0.0
        assert abs(m - _dblquad_mass(A, b, mean, cov)) < 1e-9


def test_closed_forms_of_simple_sets():
    # half-plane, quadrant, strip, whole plane, wedge through the origin of angle 1 rad (mass 1/(2 pi))
    assert abs(polytope_mass([[0.0, -1.0]], [-0.7])[0] - norm.sf(0.7)) < 1e-15
    assert abs(polytope_mass([[-1.0, 0.0], [0.0, -1.0]], [0.0, 0.0])[0] - 0.25) < 1e-15
    assert abs(polytope_mass([[1.0, 0.0], [-1.0, 0.0]], [1.0, 2.0])[0] - (ndtr(1) - ndtr(-2))) < 1e-15
    assert abs(polytope_masses([0, 0], np.zeros((0, 2)), np.zeros(0)).mass[0] - 1.0) < 1e-15
    a = 1.0
    wedge = np.array([[0.0, -1.0], [-np.sin(a), np.cos(a)]])  # y >= 0 and below the ray at angle a
    assert abs(polytope_mass(wedge, [0.0, 0.0])[0] - a / (2 * np.pi)) < 1e-15
    # a far tail keeps relative accuracy in 1-D
    assert abs(interval_masses(30.0, 31.0) / (norm.sf(30.0) - norm.sf(31.0)) - 1) < 1e-12
    # NaN (and None, which asarray turns into NaN) gave mass 0 silently; infinite ends are intervals
    for lo, hi, name in ((np.nan, 1.0, "lo"), (None, 1.0, "lo"), ([0.0, 1.0], [1.0, np.nan], "hi")):
        with pytest.raises(ValueError, match=f"^{name} must not be NaN"):
            interval_masses(lo, hi)
    assert interval_masses(-np.inf, np.inf) == 1.0 and interval_masses(np.inf, np.inf) == 0.0
    m, _ = polytope_mass([[1.0], [-1.0]], [3.0, -2.0], mean=[0.5], cov=[[0.25]])
    assert abs(m - (norm.cdf(3, 0.5, 0.5) - norm.cdf(2, 0.5, 0.5))) < 1e-15


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_box_masses_at_scale_off_centre(scale):
    """A 2-D box [lo, hi] under N(mu, diag(s^2)) with everything scaled: a product of interval masses."""
    mu = np.array([3.0, -7.0]) * scale
    sd = np.array([0.5, 2.0]) * scale
    lo, hi = mu + np.array([-0.3, -1.0]) * scale, mu + np.array([0.9, 4.0]) * scale
    A = np.vstack([np.eye(2), -np.eye(2)])
    bb = np.concatenate([hi, -lo])
    m, _ = polytope_mass(A, bb, mu, np.diag(sd ** 2))
    want = np.prod(ndtr((hi - mu) / sd) - ndtr((lo - mu) / sd))
    assert abs(m - want) < 1e-14


def test_directional_sampling_in_three_dimensions():
    rng = np.random.default_rng(3)
    lo, hi = np.array([-0.5, 0.1, -2.0]), np.array([0.7, 1.5, 0.3])
    A = np.vstack([np.eye(3), -np.eye(3)])
    rows = [(A, np.concatenate([hi, -lo]), np.prod(ndtr(hi) - ndtr(lo))),          # a box
            (-np.eye(3), np.zeros(3), 0.125),                                         # the positive orthant
            (np.array([[0.3, -0.4, 1.2]]), np.array([0.5]), ndtr(0.5 / 1.3))]         # a half-space
    offsets = np.cumsum([0] + [len(r[1]) for r in rows])
    res = polytope_masses(offsets, np.vstack([r[0] for r in rows]), np.concatenate([r[1] for r in rows]),
                          n_directions=2 ** 13, seed=rng)
    assert res.method == "directional" and res.n_directions == 2 ** 13
    for k, (_, _, want) in enumerate(rows):
        assert res.error[k] >= 0  # the orthant's is 0: a Sobol net puts exactly 1/8 of the points in every orthant
        assert abs(res.mass[k] - want) < 5 * res.error[k] + 1e-12
    # with a mean and a covariance, against a million samples of scipy's sampler
    mean, L = np.array([0.2, -0.1, 0.4]), np.array([[1.0, 0, 0], [0.3, 0.8, 0], [-0.2, 0.1, 1.1]])
    m, err = polytope_mass(A, np.concatenate([hi, -lo]), mean, L @ L.T, n_directions=2 ** 14)
    z = multivariate_normal(mean, L @ L.T).rvs(10 ** 6, random_state=1)
    p = np.mean(np.all((z >= lo) & (z <= hi), axis=1))
    assert abs(m - p) < 5 * np.hypot(err, np.sqrt(p * (1 - p) / 1e6))


def test_directional_agrees_with_owens_t_in_two_dimensions():
    rng = np.random.default_rng(11)
    A, b = _random_polygon(rng, True)
    exact = polytope_mass(A, b)[0]
    m, err = polytope_mass(A, b, method="directional", n_directions=2 ** 14)
    assert abs(m - exact) < 5 * err


def test_clip_halfplanes_matches_areas():
    off, v = clip_halfplanes([0, 1, 1, 3], np.array([[1.0, 1.0], [1.0, 0.0], [-1.0, 0.0]]),
                             np.array([0.0, 0.5, 0.5]), -1.0, 1.0)
    assert np.allclose(areas(off, v), [2.0, 4.0, 2.0])
    off, v = clip_halfplanes([0, 1], np.array([[1.0, 0.0]]), np.array([-5.0]), -1.0, 1.0)  # misses the square
    assert off.tolist() == [0, 0] and polygon_masses(off, v).tolist() == [0.0]


def test_bad_input_is_refused_with_named_arguments():
    with pytest.raises(ValueError, match="cov must be positive definite"):
        polytope_mass([[1.0, 0.0]], [1.0], cov=[[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="cov must be symmetric"):
        polytope_mass([[1.0, 0.0]], [1.0], cov=[[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="method"):
        polytope_mass([[1.0, 0.0]], [1.0], method="qmc")
    with pytest.raises(ValueError, match="S <= 2"):
        polytope_mass(np.eye(3), np.ones(3), method="exact")
    with pytest.raises(ValueError, match="b must have shape"):
        polytope_mass([[1.0, 0.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        polytope_mass([[np.nan, 0.0]], [1.0])
    with pytest.raises(ValueError, match="mean"):
        polytope_mass([[1.0, 0.0]], [1.0], mean=[0.0])
    with pytest.raises(ValueError, match="vertices contains NaN or infinite"):
        polygon_masses([0, 3], [[0, 0], [np.inf, 0], [0, 1]])
    with pytest.raises(TypeError, match="replicates"):
        polytope_mass(np.eye(3), np.ones(3), replicates=2.5)
