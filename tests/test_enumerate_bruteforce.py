"""The engine's regions against the brute-force oracle (tests/oracle.py) on small random networks.

The oracle tries every combination of pieces with a HiGHS Chebyshev LP per partial pattern; it shares no code
with the engine (the C++ dual simplex and incremental arrangement). For every network the oracle is run at a much
smaller tolerance (``ORACLE_TOL``) than the engine (``TOL``) and the smallest region it finds must have radius
``> MARGIN``: then no region has a radius anywhere near ``TOL`` and the engine's set of patterns must equal the
oracle's exactly, whatever rounding either solver does. A seed that violates the margin is a bad test case, not
an engine bug: it is left out of the lists below (and the margin assertion would say so if it came back).
"""
import numpy as np
import pytest

from oracle import as_pattern_set, brute_force_patterns
from relutope import Box, Layer, Network, Polytope, WholeSpace, enumerate_regions

TOL = 1e-6
ORACLE_TOL = 1e-9
MARGIN = 1e-5
KINDS = ("relu", "leaky_relu", "abs")
#: Largest number of hidden units per input dimension (keeps the oracle's search within a second or so).
MAX_UNITS = {1: 12, 2: 12, 3: 9, 4: 7}


def random_net(seed: int, d: int, mixed: bool = False) -> Network:
    """1 to 3 hidden layers (at most MAX_UNITS[d] units in all) of random kinds, then a linear output.

    Each hidden layer is all relu, all leaky_relu (a random alpha in [-0.5, 0.5]) or all abs, or, when ``mixed``
    (or by chance), a random kind per unit.
    """
    rng = np.random.default_rng(seed)
    total = int(rng.integers(max(2, MAX_UNITS[d] // 2), MAX_UNITS[d] + 1))
    n_layers = int(rng.integers(1, 4))
    cuts = np.sort(rng.choice(np.arange(1, total), size=min(n_layers - 1, total - 1), replace=False))
    widths = np.diff(np.concatenate([[0], cuts, [total]])).astype(int).tolist()
    layers, fan_in = [], d
    for i, w in enumerate(widths):
        W = rng.normal(0.0, np.sqrt(2.0 / fan_in), (w, fan_in))
        b = rng.normal(0.0, 0.3, w)
        alpha = float(rng.uniform(-0.5, 0.5))
        if (mixed and i == 0) or rng.random() < 0.25:
            kind = [str(k) for k in rng.choice(KINDS, size=w)]
        else:
            kind = str(rng.choice(KINDS))
        layers.append(Layer.affine(W, b, kind, alpha=alpha))
        fan_in = w
    layers.append(Layer.affine(rng.normal(size=(1, fan_in)), np.zeros(1), "identity"))
    return Network(layers)


def random_box(seed: int, d: int) -> Box:
    rng = np.random.default_rng(seed + 10_000)
    return Box(-rng.uniform(0.5, 1.5, d), rng.uniform(0.5, 1.5, d))


def box_rows(box: Box):
    return box.constraints()  # every coordinate free: t = x


def check_against_oracle(net: Network, domain, Adom=None, bdom=None):
    """Engine at TOL vs oracle at ORACLE_TOL with no oracle region of radius <= MARGIN."""
    part = enumerate_regions(net, domain, tol=TOL)
    assert part.complete and part.status == "complete"
    pats, radii = brute_force_patterns(net, Adom=Adom, bdom=bdom, tol=ORACLE_TOL, radius_cap=1.0)
    assert radii.min() > MARGIN, "bad test case: a region is near the tolerance (pick another seed)"
    got = as_pattern_set(part.patterns)
    want = as_pattern_set(pats)
    assert len(got) == len(part), "the engine reported a pattern twice"
    assert got == want, (f"engine-only patterns: {sorted(got - want)[:5]}; "
                         f"oracle-only patterns: {sorted(want - got)[:5]}")
    assert part.patterns.shape == (len(pats), net.n_units) and part.patterns.dtype == np.int8
    return part


# Seeds whose oracle radii are all > MARGIN (found once by a survey; see the module docstring).
BOX_SEEDS = list(range(32))
MIXED_SEEDS = [100, 101, 102, 103]


@pytest.mark.parametrize("seed", BOX_SEEDS)
def test_random_net_on_a_box(seed):
    d = 1 + seed % 4
    net = random_net(seed, d)
    box = random_box(seed, d)
    check_against_oracle(net, box, *box_rows(box))


@pytest.mark.parametrize("seed", MIXED_SEEDS)
def test_layer_mixing_kinds_unit_by_unit(seed):
    d = 2 + seed % 2
    net = random_net(seed, d, mixed=True)
    kinds = net.layers[0].n_pieces
    assert len(kinds) >= 2
    box = random_box(seed, d)
    check_against_oracle(net, box, *box_rows(box))


def test_mixed_layer_built_by_name():
    """Layer.affine with one activation name per unit: relu, abs, leaky_relu and identity side by side."""
    rng = np.random.default_rng(7)
    first = Layer.affine(rng.normal(size=(6, 2)), rng.normal(0, 0.3, 6),
                         ["relu", "abs", "leaky_relu", "identity", "abs", "relu"], alpha=0.2)
    assert first.n_pieces.tolist() == [2, 2, 2, 1, 2, 2]
    net = Network([first, Layer.affine(rng.normal(size=(3, 6)) * 0.6, rng.normal(0, 0.3, 3), "relu"),
                   Layer.affine(rng.normal(size=(1, 3)), np.zeros(1), "identity")])
    box = Box([-1, -1], [1, 1])
    part = check_against_oracle(net, box, *box_rows(box))
    assert np.all(part.patterns[:, 3] == 0)  # the identity unit has a single piece
    assert len(part) > 1 + 5  # more regions than the first layer's 5 lines alone could make in a line


def random_polytope(seed: int, d: int, m: int) -> Polytope:
    """{x : a_i . x <= 1} for m random unit normals (bounded: checked by Polytope itself)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    return Polytope(A, rng.uniform(0.6, 1.2, m))


@pytest.mark.parametrize("seed,d,m", [(1, 2, 7), (2, 3, 12)])
def test_random_net_on_a_polytope(seed, d, m):
    poly = random_polytope(seed, d, m)
    net = random_net(200 + seed, d)
    check_against_oracle(net, poly, poly.A, poly.b)


@pytest.mark.parametrize("seed,d", [(300, 1), (301, 2), (302, 3)])
def test_random_net_on_the_whole_space(seed, d):
    """Unbounded regions: both sides cap the Chebyshev radius at 1 (the default radius_cap)."""
    net = random_net(seed, d)
    check_against_oracle(net, WholeSpace(d))


def test_whole_space_finds_regions_far_outside_the_unit_box():
    """Three lines x = 5, x = 6, y = 7 in the plane: 3 * 2 = 6 regions, all but one outside [-1, 1]^2."""
    W = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    net = Network([Layer.affine(W, [-5.0, -6.0, -7.0], "relu"), Layer.affine(np.ones((1, 3)), [0.0], "identity")])
    part = check_against_oracle(net, WholeSpace(2))
    assert as_pattern_set(part.patterns) == {(0, 0, 0, 0), (1, 0, 0, 0), (1, 1, 0, 0),
                                             (0, 0, 1, 0), (1, 0, 1, 0), (1, 1, 1, 0)}


# ---------------------------------------------------------------------------------------------- max-pooling
def test_max_of_three_and_four_affine_maps():
    """A first layer of maxout units with K = 3 and K = 4 pieces, then ReLUs (as in test_oracle.py)."""
    rng = np.random.default_rng(2)
    pool = Layer(rng.normal(size=(7, 2)), rng.normal(size=7) * 0.3, [3, 4])
    net = Network([pool, Layer.affine(rng.normal(size=(3, 2)), rng.normal(size=3) * 0.3),
                   Layer.affine(rng.normal(size=(1, 3)), np.zeros(1), "identity")])
    box = Box([-1, -1], [1, 1])
    part = check_against_oracle(net, box, *box_rows(box))
    assert set(part.patterns[:, 0].tolist()) <= {0, 1, 2} and set(part.patterns[:, 1].tolist()) <= {0, 1, 2, 3}


def test_maxout_in_a_second_layer():
    """leaky ReLUs, then two maxout units of K = 3 and 4 pieces over them, then abs units: d = 3."""
    rng = np.random.default_rng(5)
    first = Layer.affine(rng.normal(size=(4, 3)), rng.normal(0, 0.3, 4), "leaky_relu", alpha=0.1)
    pool = Layer(rng.normal(size=(7, 4)) * 0.7, rng.normal(size=7) * 0.3, [4, 3])
    net = Network([first, pool, Layer.affine(rng.normal(size=(2, 2)), rng.normal(0, 0.3, 2), "abs"),
                   Layer.affine(rng.normal(size=(1, 2)), np.zeros(1), "identity")])
    box = Box([-1, -1, -1], [1, 1, 1])
    part = check_against_oracle(net, box, *box_rows(box))
    assert len(set(part.patterns[:, 4].tolist())) >= 3 and len(set(part.patterns[:, 5].tolist())) >= 2


def test_max_pooling_of_relus_with_ties():
    """Max-pooling (pieces are coordinate selections) over ReLU outputs: where the pooled ReLUs are all inactive
    their pieces are identically 0 and the tie goes to the lowest index, on a set of positive volume."""
    rng = np.random.default_rng(11)
    W = np.vstack([[[1.0, 0.2], [0.8, 0.5], [1.0, -0.4]], rng.normal(size=(4, 2))])
    b = np.concatenate([[-0.2, -0.1, 0.0], rng.normal(0, 0.3, 4)])  # units 0-2 all inactive near (-1, 0)
    relus = Layer.affine(W, b, "relu")
    sel = np.eye(7)  # pool units 0-2 (K = 3) and 3-6 (K = 4)
    pool = Layer(sel, np.zeros(7), [3, 4])
    net = Network([relus, pool, Layer.affine(np.ones((1, 2)), np.zeros(1), "identity")])
    box = Box([-1, -1], [1, 1])
    part = check_against_oracle(net, box, *box_rows(box))
    # where all of units 0-2 are inactive the first pool unit picks piece 0
    dead = np.all(part.patterns[:, 0:3] == 0, axis=1)
    assert dead.any() and np.all(part.patterns[dead, 7] == 0)
    np.testing.assert_array_equal(net.activation_pattern(part.witnesses), part.patterns)
