"""Topology of decision regions (relutope.topology): Betti numbers, Euler characteristics, persistence and class
components, against closed forms built exactly as ReLU nets and against gudhi.CubicalComplex on fine grids."""
import numpy as np
import pytest

import relutope
from relutope import topology as T
from relutope.errors import NumericalError

gudhi = pytest.importorskip("gudhi")

# |x_i| = relu(x_i) + relu(-x_i): the first layer of every closed form below
ABS2 = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
ABS3 = np.vstack([np.eye(3), -np.eye(3)])


def diamond_net(r=1.0, sign=1.0, scale=1.0, center=(0.0, 0.0)):
    """f(x) = sign * (r - |y1| - |y2|), y = (x - center) / scale."""
    c = np.asarray(center, dtype=float)
    W1 = ABS2 / scale
    return relutope.Network.from_weights([(W1, -W1 @ c), (-sign * np.ones((1, 4)), sign * np.array([r]))])


def two_diamonds_net(r=0.5, c=1.0):
    """f = r - ||x1| - c| - |x2|: diamonds of radius r centred at (-c, 0) and (c, 0)."""
    W2 = np.array([[1.0, 1, 0, 0], [-1, -1, 0, 0], [0, 0, 1, 1]])
    return relutope.Network.from_weights([(ABS2, np.zeros(4)), (W2, np.array([-c, c, 0.0])),
                                          (-np.ones((1, 3)), np.array([r]))])


def box(h, d=2, center=None):
    c = np.zeros(d) if center is None else np.asarray(center, dtype=float)
    return relutope.Box(c - h, c + h)


def complex_of(net, dom, **kw):
    return T.decision_complex(relutope.enumerate_regions(net, dom, **kw))


# ---------------------------------------------------------------------------------------------- grid reference
def grid_scores(net, lo, hi, n):
    d = len(lo)
    axes = [np.linspace(lo[i], hi[i], n) for i in range(d)]
    X = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    y = net(X)
    return (np.c_[np.zeros(len(y)), y] if y.shape[1] == 1 else y).reshape((n,) * d + (-1,))


def cubical_betti(inside_vertices):
    """Betti numbers (over GF(2)) of the union of the closed grid cubes whose corners all satisfy the condition."""
    v = inside_vertices
    d, n = v.ndim, v.shape[0]
    cubes = np.all([v[tuple(slice(o, n - 1 + o) for o in off)] for off in np.ndindex(*(2,) * d)], axis=0)
    cc = gudhi.CubicalComplex(top_dimensional_cells=np.where(cubes, 0.0, 1.0))
    cc.compute_persistence(homology_coeff_field=2)
    b = list(cc.persistent_betti_numbers(0.0, 0.0))
    return b + [0] * (d + 1 - len(b))


def grid_class_betti(S, c):
    return cubical_betti(S[..., c] >= S.max(axis=-1))


def reduced(b):
    return [b[0] - 1] + list(b[1:]) if b[0] > 0 else list(b)


def check_against_grid(cx, net, lo, hi, n):
    """Every class region as on the grid; the boundary by Mayer-Vietoris from the two sides (one output:
    D = {f >= 0} u {f <= 0} is contractible, so the reduced homology of {f = 0} is the sum of the sides')."""
    S = grid_scores(net, lo, hi, n)
    grid = [grid_class_betti(S, c) for c in range(cx.n_classes)]
    for c in range(cx.n_classes):
        assert T.betti_numbers(cx, c) == grid[c], (c, n)
        assert T.euler_characteristic(cx, c) == sum((-1) ** j * b for j, b in enumerate(T.betti_numbers(cx, c)))
    if cx.outputs.shape[1] == 1:
        a, b = grid[1], grid[0]
        expect = [x + y for x, y in zip(reduced(a), reduced(b))]
        got = T.betti_numbers(cx, "boundary")
        assert (reduced(got) if got[0] else got) == expect


# ---------------------------------------------------------------------------------------------- closed forms
def test_diamond_and_annulus_closed_forms():
    cx = complex_of(diamond_net(1.0), box(2.0))
    assert T.betti_numbers(cx, "superlevel") == [1, 0, 0]          # the diamond
    assert T.betti_numbers(cx, "sublevel") == [1, 1, 0]            # the square minus the open diamond
    assert T.betti_numbers(cx, "boundary") == [1, 1, 0]            # the diamond's outline, a circle
    assert T.betti_numbers(cx, "domain") == [1, 0, 0]
    assert T.betti_numbers(cx, 1) == T.betti_numbers(cx, "superlevel")
    for which in ("domain", "superlevel", "sublevel", "boundary"):
        n = T.cell_counts(cx, which)
        assert T.euler_characteristic(cx, which) == n[0] - n[1] + n[2]
    assert T.euler_characteristic(cx, "sublevel") == 0 and T.euler_characteristic(cx, "domain") == 1


def test_two_disjoint_diamonds():
    cx = complex_of(two_diamonds_net(0.5, 1.0), box(2.0))
    assert T.betti_numbers(cx, "superlevel") == [2, 0, 0]
    assert T.betti_numbers(cx, "sublevel") == [1, 2, 0]
    assert T.betti_numbers(cx, "boundary") == [2, 2, 0]
    labels, n = T.class_components(cx, "superlevel")
    assert n == 2
    part = cx.partition
    X = np.random.default_rng(0).uniform(-2, 2, (4000, 2))
    f = part.network(X)[:, 0]
    reg = part.locate(X)
    # every region holding a point of a diamond is labelled by the diamond's side, and no other region is
    inside = f > 1e-9
    assert np.all(labels[reg[inside]] >= 0)
    left, right = set(labels[reg[inside & (X[:, 0] < 0)]].tolist()), set(labels[reg[inside & (X[:, 0] > 0)]].tolist())
    assert len(left) == 1 and len(right) == 1 and left != right
    touched = np.zeros(len(part), dtype=bool)
    touched[reg[inside]] = True
    assert np.all(labels[~touched] == -1)
    assert np.count_nonzero(touched) == 8                                    # the quarters of the two diamonds


def test_cross_polytope_complement_in_a_cube():
    W2 = -np.ones((1, 6))
    net = relutope.Network.from_weights([(ABS3, np.zeros(6)), (-W2, -np.ones(1))])  # f = |x|_1 - 1
    cx = complex_of(net, box(2.0, d=3))
    assert T.betti_numbers(cx, "superlevel") == [1, 0, 1, 0]       # {|x|_1 >= 1}: a cube with a cavity
    assert T.betti_numbers(cx, "sublevel") == [1, 0, 0, 0]         # the octahedron
    assert T.betti_numbers(cx, "boundary") == [1, 0, 1, 0]         # its surface, a 2-sphere
    assert T.euler_characteristic(cx, "boundary") == 2


def test_open_versus_closed():
    net = relutope.Network.from_weights([(ABS2, np.zeros(4)), (np.array([[1.0, 1, -1, -1]]), np.zeros(1))])
    cx = complex_of(net, box(1.0))                                  # f = |x1| - |x2|
    assert T.betti_numbers(cx, "superlevel") == [1, 0, 0]           # the closed cones meet at the origin
    assert T.betti_numbers(cx, "superlevel", open=True) == [2, 0, 0]
    assert T.betti_numbers(cx, "sublevel", open=True) == [2, 0, 0]
    assert T.betti_numbers(cx, "boundary") == [1, 0, 0]             # the two diagonals, a cross
    labels, n = T.class_components(cx, "superlevel", open=True)
    assert n == 2 and len(cx.partition) == 4                        # the quadrants, each cut by a diagonal
    side = np.sign(cx.partition.witnesses[:, 0])
    assert set(labels[side > 0].tolist()) != set(labels[side < 0].tolist())
    assert len(set(labels[side > 0].tolist())) == 1 and len(set(labels[side < 0].tolist())) == 1
    labels_closed, n_closed = T.class_components(cx, "superlevel")
    assert n_closed == 1 and set(labels_closed[labels >= 0].tolist()) == {0}
    # the grid sees the same (the origin is a grid point): the cubes whose corners all have f > 0, and the
    # cubical complex of the grid's cells whose vertices all have f >= 0 (a pinch point is no whole cube)
    S = grid_scores(net, -np.ones(2), np.ones(2), 201)
    assert cubical_betti(S[..., 1] > 0) == [2, 0, 0]
    cc = gudhi.CubicalComplex(vertices=np.where(S[..., 1] >= 0, 0.0, 1.0))
    cc.compute_persistence(homology_coeff_field=2)
    assert list(cc.persistent_betti_numbers(0.0, 0.0))[:2] == [1, 0]


def test_interval():
    net = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)),
                                         (np.ones((1, 2)), np.array([-1.0]))])  # f = |x| - 1 on [-2, 2]
    cx = complex_of(net, relutope.Box([-2.0], [2.0]))
    assert T.betti_numbers(cx, "superlevel") == [2, 0]
    assert T.betti_numbers(cx, "sublevel") == [1, 0]
    assert T.betti_numbers(cx, "boundary") == [2, 0]
    assert T.cell_counts(cx) == [5, 4]


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_scale_and_position_invariance(scale):
    center = (3.0 * scale, -7.0 * scale)
    cx = complex_of(diamond_net(1.0, scale=scale, center=center), box(2.0 * scale, center=center))
    assert T.betti_numbers(cx, "superlevel") == [1, 0, 0]
    assert T.betti_numbers(cx, "sublevel") == [1, 1, 0]
    assert T.betti_numbers(cx, "boundary") == [1, 1, 0]
    # the same cells as the unit-scale complex at the origin, mapped
    ref = complex_of(diamond_net(1.0), box(2.0))
    assert T.cell_counts(cx) == T.cell_counts(ref)
    mapped = np.asarray(center) + scale * ref.vertices
    assert np.allclose(np.sort(cx.vertices, axis=0), np.sort(mapped, axis=0), rtol=0, atol=1e-9 * scale)
    pairs = T.sublevel_persistence(cx)
    assert sorted(d for d, _ in pairs) == [0, 0, 0, 0, 1]


def test_off_centre_absolute():
    cx = complex_of(diamond_net(1.0, center=(100.0, -50.0)), box(2.0, center=(100.0, -50.0)))
    assert T.betti_numbers(cx, "sublevel") == [1, 1, 0]


def test_small_box_far_from_the_origin():
    """A box of half-width 2e-6 centred at (3, -7) (its coordinates resolved to ~1e-9 of its size): the default
    vertex tolerance follows the domain's float64 resolution (it was 1e-9 and the cells did not fit together).
    References: the closed forms, and the complex of the same random net on the centred unit box."""
    center, s = np.array([3.0, -7.0]), 1e-6
    dom = box(2.0 * s, center=center)
    tol = max(1e-9 * 2.0 * s, relutope.min_tol(dom))
    cx = complex_of(diamond_net(1.0, scale=s, center=center), dom, tol=tol)
    assert T.betti_numbers(cx, "superlevel") == [1, 0, 0] and T.betti_numbers(cx, "sublevel") == [1, 1, 0]
    net = relutope.Network.random([2, 8, 8, 2], seed=1)
    ref = complex_of(net, box(1.0))
    L = net.layers[0]
    moved = relutope.Network([relutope.Layer(L.A / s, L.c - L.A @ center / s, L.n_pieces)] + list(net.layers[1:]))
    dom = box(s, center=center)
    cx = complex_of(moved, dom, tol=max(1e-9 * s, relutope.min_tol(dom)))
    assert T.cell_counts(cx) == T.cell_counts(ref)
    assert [T.betti_numbers(cx, c) for c in (0, 1)] == [T.betti_numbers(ref, c) for c in (0, 1)]


def test_whole_space_compactification():
    part = relutope.enumerate_regions(diamond_net(1.0), relutope.WholeSpace(2))
    cx = T.decision_complex(part)
    assert isinstance(cx.compactification, relutope.Box)
    assert np.all(cx.compactification.lo < -1) and np.all(cx.compactification.hi > 1)  # holds the diamond
    assert T.betti_numbers(cx, "superlevel") == [1, 0, 0]
    assert T.betti_numbers(cx, "sublevel") == [1, 1, 0]             # the plane minus a disc
    assert cx.partition.domain is cx.compactification


def test_polytope_domain():
    ang = np.arange(6) * np.pi / 3                                   # a hexagon of inradius 1.5 around the diamond
    A, b = np.c_[np.cos(ang), np.sin(ang)], np.full(6, 1.5)
    cx = complex_of(diamond_net(1.0, center=(0.1, 0.0)), relutope.Polytope(A, b))
    assert T.betti_numbers(cx, "sublevel") == [1, 1, 0]
    assert T.betti_numbers(cx, "superlevel") == [1, 0, 0]
    # a hexagon of inradius 0.8 cuts the diamond's corners off: {f <= 0} is four pieces
    cx = complex_of(diamond_net(1.0), relutope.Polytope(A, np.full(6, 0.8)))
    assert T.betti_numbers(cx, "sublevel")[0] == 4
    assert T.betti_numbers(cx, "superlevel") == [1, 0, 0]


def test_sublevel_persistence_closed_form():
    r = 1.0
    cx = complex_of(diamond_net(r), box(2.0))                        # f = r - |x1| - |x2| on [-2, 2]^2
    pairs = sorted(T.sublevel_persistence(cx))
    # four corner minima f = r - 4 merge at the edge midpoints (f = r - 2), where the ring closes; it fills at
    # the maximum f = r
    assert pairs == [(0, (r - 4, r - 2))] * 3 + [(0, (r - 4, np.inf)), (1, (r - 2, r))]


# ---------------------------------------------------------------------------------------------- random nets
def _lipschitz(part):
    A, _ = part.affine_maps()
    return float(np.linalg.norm(A[:, 0, :], axis=1).max())


@pytest.mark.parametrize("widths, seed", [([2, 8, 8, 1], 2), ([2, 10, 10, 1], 5), ([2, 8, 8, 3], 0)])
def test_random_nets_2d_match_cubical_grid(widths, seed):
    # grids of 201^2 points on [-1, 1]^2; each case agrees at 201^2 and 401^2 (checked when the cases were chosen;
    # random three-class nets often have class regions with slivers thinner than such grids, where they differ)
    net = relutope.Network.random(widths, seed=seed)
    lo, hi = -np.ones(2), np.ones(2)
    cx = complex_of(net, relutope.Box(lo, hi))
    check_against_grid(cx, net, lo, hi, 201)


def test_random_net_3d_matches_cubical_grid():
    # 41^3 points on [-1, 1]^3 (agrees at 41^3, 61^3 and 97^3); {f >= 0} here is a solid torus, beta = (1, 1, 0)
    net = relutope.Network.random([3, 6, 6, 1], seed=0)
    lo, hi = -np.ones(3), np.ones(3)
    cx = complex_of(net, relutope.Box(lo, hi))
    assert T.betti_numbers(cx, 0) == [1, 1, 0, 0]
    check_against_grid(cx, net, lo, hi, 41)


def _train(X, y, widths, steps, seed):
    """Full-batch gradient descent with momentum on the logistic loss (numpy, deterministic)."""
    rng = np.random.default_rng(seed)
    Ws = [(rng.normal(0, np.sqrt(2 / a), (b, a)), np.zeros(b)) for a, b in zip(widths[:-1], widths[1:])]
    vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in Ws]
    for _ in range(steps):
        hs, h = [X], X
        for i, (W, b) in enumerate(Ws):
            z = h @ W.T + b
            h = np.maximum(z, 0) if i < len(Ws) - 1 else z
            hs.append(h)
        g = (1 / (1 + np.exp(-h[:, 0])) - y)[:, None] / len(X)
        for i in reversed(range(len(Ws))):
            W, b = Ws[i]
            gW, gb = g.T @ hs[i], g.sum(0)
            g = (g @ W) * (hs[i] > 0)
            vW, vb = vel[i]
            vel[i] = (0.9 * vW - 0.5 * gW, 0.9 * vb - 0.5 * gb)
            Ws[i] = (W + vel[i][0], b + vel[i][1])
    return relutope.Network.from_weights(Ws)


@pytest.mark.parametrize("d, n_grid", [(2, 201), (3, 41)])
def test_trained_nets_match_cubical_grid(d, n_grid):
    # a shell data set: class 1 within radius 0.5, class 0 between 0.75 and 1 (a ball and a shell around it)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    rad = np.where(np.arange(400) < 200, rng.uniform(0, 0.5, 400), rng.uniform(0.75, 1.0, 400))
    X *= rad[:, None]
    y = (np.arange(400) < 200).astype(float)
    net = _train(X, y, [d, 8, 8, 1], 400, seed=1)
    assert np.mean((net(X)[:, 0] > 0) == (y > 0)) > 0.95               # it learnt the data set
    lo, hi = -np.ones(d), np.ones(d)
    cx = complex_of(net, relutope.Box(lo, hi))
    # the learnt class 1 is a ball, class 0 the rest of the box: an annulus in 2-D, a shell in 3-D
    assert T.betti_numbers(cx, "superlevel") == [1] + [0] * d
    assert T.betti_numbers(cx, "sublevel") == ([1, 1, 0] if d == 2 else [1, 0, 1, 0])
    check_against_grid(cx, net, lo, hi, n_grid)


def test_persistence_matches_cubical_grid_within_stability_bound():
    # bottleneck distance <= sup |f - f_grid| <= L * h * sqrt(d) (Cohen-Steiner, Edelsbrunner & Harer 2007)
    net = relutope.Network.random([2, 8, 8, 1], seed=3)
    part = relutope.enumerate_regions(net, box(1.0))
    cx = T.decision_complex(part)
    n = 201
    f = grid_scores(net, -np.ones(2), np.ones(2), n)[..., 1]
    cc = gudhi.CubicalComplex(vertices=f)
    cc.compute_persistence(homology_coeff_field=2)
    bound = _lipschitz(part) * (2.0 / (n - 1)) * np.sqrt(2)
    exact = T.sublevel_persistence(cx)
    for dim in (0, 1):
        a = np.array([p for d, p in exact if d == dim]).reshape(-1, 2)
        b = np.array(cc.persistence_intervals_in_dimension(dim)).reshape(-1, 2)
        assert gudhi.bottleneck_distance(a, b) <= bound + 1e-12
    # the essential class is born at the minimum of f over the domain
    assert min(p[0] for d, p in exact if d == 0) == pytest.approx(float(cx.outputs.min()))
    assert float(cx.outputs.min()) <= f.min() + 1e-12


def test_betti_numbers_match_gudhi_on_the_triangulation():
    # the triangulation, through gudhi's own homology, against the cellular homology of the cells
    net = relutope.Network.random([2, 8, 8, 1], seed=5)
    cx = complex_of(net, box(1.0))
    for which, sign in (("sublevel", 1.0), ("superlevel", -1.0)):
        f = sign * cx.outputs[:, 0]
        st = gudhi.SimplexTree()
        for s in T.triangulation(cx):
            st.insert(list(s), float(f.min()))
        for v in range(len(f)):
            st.assign_filtration([v], float(f[v]) if abs(f[v]) > cx.tolerance[v] else 0.0)
        st.make_filtration_non_decreasing()
        st.compute_persistence(homology_coeff_field=2, persistence_dim_max=True)
        got = list(st.persistent_betti_numbers(0.0, 0.0))
        assert got + [0] * (3 - len(got)) == T.betti_numbers(cx, which)
    assert len(T.triangulation(cx)) >= T.cell_counts(cx)[2]


def test_components_match_grid_labels():
    from scipy import ndimage

    net = relutope.Network.random([2, 10, 10, 1], seed=2)             # {f >= 0} has three components
    cx = complex_of(net, box(1.0))
    labels, n = T.class_components(cx, 1)
    assert n == T.betti_numbers(cx, 1)[0] == 3
    m = 401
    S = grid_scores(net, -np.ones(2), np.ones(2), m)
    grid_lab, n_grid = ndimage.label(S[..., 1] >= S[..., 0])
    assert n_grid == n
    # each labelled region's witness, where it lies in the class region, has the grid's component there
    part = cx.partition
    w = part.witnesses
    pairs = set()
    for r in np.flatnonzero(labels >= 0):
        if net(w[r:r + 1])[0, 0] > 0:
            i, j = np.round((w[r] + 1) / 2 * (m - 1)).astype(int)
            if grid_lab[i, j]:
                pairs.add((int(labels[r]), int(grid_lab[i, j])))
    assert len(pairs) == n and len({a for a, _ in pairs}) == n and len({b for _, b in pairs}) == n


def test_slice_through_three_inputs():
    net = relutope.Network.random([3, 8, 8, 1], seed=0)
    p = np.array([[0.2, -0.1, 0.3], [-0.4, 0.5, 0.0], [0.3, 0.4, -0.5]])
    sl = relutope.Slice.through_points(*p, margin=0.5)
    cx = complex_of(net, sl)
    assert cx.dim == 2
    assert T.betti_numbers(cx, "domain") == [1, 0, 0]
    # the grid on the slice's parameter box (t in [-0.5, 1.5]^2), through the same map x = origin + basis t
    origin, basis = sl.parametrization()
    A, b = sl.constraints()
    lo, hi = -b[2:], b[:2]
    assert np.allclose(A, np.vstack([np.eye(2), -np.eye(2)]))
    n = 301
    g = [np.linspace(lo[i], hi[i], n) for i in range(2)]
    t = np.stack(np.meshgrid(*g, indexing="ij"), axis=-1).reshape(-1, 2)
    f = net(origin + t @ basis.T)[:, 0].reshape(n, n)
    assert T.betti_numbers(cx, "superlevel") == cubical_betti(f >= 0)
    assert T.betti_numbers(cx, "sublevel") == cubical_betti(f <= 0)


def test_plots():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    import relutope.plot

    cx = complex_of(two_diamonds_net(), box(2.0))
    coll = relutope.plot.class_components(cx, "superlevel", ax=Figure().add_subplot())
    assert len(coll.get_paths()) == T.cell_counts(cx, "superlevel")[2]
    assert sorted(set(coll.get_array().tolist())) == [0.0, 1.0]
    ax = relutope.plot.persistence_diagram(T.sublevel_persistence(cx), ax=Figure().add_subplot())
    assert ax.get_title() == "Persistence diagram"


# ---------------------------------------------------------------------------------------------- bad input
def test_bad_input():
    part = relutope.enumerate_regions(diamond_net(), box(2.0))
    with pytest.raises(TypeError, match="partition"):
        T.decision_complex("not a partition")
    with pytest.raises(ValueError, match="vertex_tol"):
        T.decision_complex(part, vertex_tol=0.0)
    small = relutope.enumerate_regions(relutope.Network.random([2, 8, 1], seed=0), box(1.0), max_regions=3)
    with pytest.raises(ValueError, match="incomplete"):
        T.decision_complex(small)
    cx = T.decision_complex(part)
    with pytest.raises(ValueError, match="which"):
        T.betti_numbers(cx, "nonsense")
    with pytest.raises(ValueError, match="class index"):
        T.betti_numbers(cx, 2)
    with pytest.raises(ValueError, match="closed set"):
        T.betti_numbers(cx, "boundary", open=True)
    with pytest.raises(TypeError, match="DecisionComplex"):
        T.betti_numbers(part)
    with pytest.raises(ValueError, match="output"):
        T.sublevel_persistence(cx, output=1)
    multi = complex_of(relutope.Network.random([2, 6, 3], seed=0), box(1.0))
    with pytest.raises(ValueError, match="one output"):
        T.betti_numbers(multi, "superlevel")
    with pytest.raises(ValueError, match="two-dimensional"):
        T.top_cell_polygons(complex_of(relutope.Network.random([1, 4, 1], seed=0), relutope.Box([-1.0], [1.0])))


def test_gf2_rank_against_dense_elimination():
    rng = np.random.default_rng(0)
    for _ in range(20):
        M = rng.random((12, 9)) < 0.3
        cols = [int(sum(1 << i for i in np.flatnonzero(M[:, j]))) for j in range(M.shape[1])]
        # dense elimination mod 2
        A = M.astype(np.uint8).copy()
        r = 0
        for c in range(A.shape[1]):
            piv = np.flatnonzero(A[r:, c])
            if piv.size == 0:
                continue
            A[[r, r + piv[0]]] = A[[r + piv[0], r]]
            for i in np.flatnonzero(A[:, c]):
                if i != r:
                    A[i] ^= A[r]
            r += 1
            if r == A.shape[0]:
                break
        assert T.gf2_rank(cols) == r


def test_a_partition_with_a_hole_is_refused():
    # a "complete" partition that lacks one interior region: its neighbours' facets there have no cell on the
    # other side, which the construction's check finds
    part = relutope.enumerate_regions(diamond_net(1.0), box(2.0))
    w = part.witnesses
    keep = np.flatnonzero(np.arange(len(part)) != int(np.argmin(np.linalg.norm(w, axis=1))))
    holed = relutope.Partition(part.network, part.domain, part.patterns[keep], w[keep], part.radii[keep],
                               [len(keep)], tol=part.tol)
    assert holed.complete
    with pytest.raises(NumericalError, match="do not fit together"):
        T.decision_complex(holed)


@pytest.mark.parametrize("k", [2, 3])
def test_cells_vertices_at_once_equal_one_by_one(k):
    # the batched vertex enumeration of the regions (one numpy pass per row count) against the per-polytope one
    # (the decision complexes built on it are checked against closed forms and gudhi above): identical arrays in
    # the same order, on random polytopes, boxes cut by a repeated row (vertices on more than k rows) and a set of
    # fewer than k rows; every vertex found is feasible, on at least k rows, and found once
    rng = np.random.default_rng(k)
    Gs, hs = [], []
    for i in range(60):
        m = int(rng.integers(k + 1, k + 6))
        G = rng.normal(size=(m, k))
        G /= np.linalg.norm(G, axis=1, keepdims=True)
        if i % 3 == 0:
            G = np.vstack([np.eye(k), -np.eye(k), G[:1]])  # a box cut by one row, twice (a repeated row)
            G = np.vstack([G, G[-1:]])
        h = np.abs(rng.normal(size=len(G))) + 0.1
        Gs.append(G)
        hs.append(h)
    Gs.append(np.eye(k)[: k - 1])  # fewer rows than k: no vertex
    hs.append(np.ones(k - 1))
    eps = 1e-9
    batch = T._cells_vertices(Gs, hs, eps)
    for G, h, (V, inc) in zip(Gs, hs, batch):
        V1, inc1 = T._cell_vertices(G, h, eps)
        np.testing.assert_array_equal(V, V1)
        np.testing.assert_array_equal(inc, inc1)
        if len(G) >= k and len(V):  # every vertex feasible, on >= k rows, and distinct
            assert np.all(V @ G.T <= h + eps) and np.all(inc.sum(axis=1) >= k)
            assert len({tuple(np.round(v, 6)) for v in V}) == len(V)
