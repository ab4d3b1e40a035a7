"""Bad arguments raise ValueError or TypeError naming the argument, never crash; the core runs without the GIL."""
import threading
import time

import numpy as np
import pytest

import relutope
from gil import ticks_while
from relutope import Box, Layer, Network, Polytope, Slice, WholeSpace, enumerate_regions

NET = Network.random([2, 4, 1], seed=0)
BOX = Box([-1.0, -1.0], [1.0, 1.0])


# ---------------------------------------------------------------------------------------------- layers
@pytest.mark.parametrize("W,b,exc,match", [
    ([[np.nan, 1.0]], [0.0], ValueError, "W contains NaN"),
    ([[np.inf, 1.0]], [0.0], ValueError, "W contains NaN or infinite"),
    ([[1.0, 1.0]], [-np.inf], ValueError, "b contains NaN or infinite"),
    ([[1.0, 1.0]], [0.0, 1.0], ValueError, "b has 2 entries"),
    (np.ones((3, 2)), np.ones(2), ValueError, "W has 3 rows"),
    (np.ones(2), np.ones(1), ValueError, "W must be 2-D"),
    (np.ones((1, 2, 1)), np.ones(1), ValueError, "W must be 2-D"),
    (np.ones((1, 2)), np.ones((1, 1)), ValueError, "b must be 1-D"),
    ([["a", "b"]], [0.0], TypeError, "W must be an array of numbers"),
    (np.array([[1.0, None]], dtype=object), [0.0], TypeError, "W must be an array of numbers"),
    ("abc", [0.0], TypeError, "W must be an array of numbers"),
    ([[1.0, 2.0]], ["x"], TypeError, "b must be an array of numbers"),
    (np.ones((1, 2)) + 1j, [0.0], TypeError, "W must be real"),
])
def test_layer_affine_rejects(W, b, exc, match):
    with pytest.raises(exc, match=match):
        Layer.affine(W, b)


def test_layer_affine_rejects_bad_activations():
    with pytest.raises(ValueError, match="activation must be one of"):
        Layer.affine(np.ones((1, 2)), [0.0], "tanh")
    with pytest.raises(ValueError, match="activation names 2 units"):
        Layer.affine(np.ones((1, 2)), [0.0], ["relu", "abs"])
    with pytest.raises(TypeError, match=r"activation\[1\] must be a string"):
        Layer.affine(np.ones((2, 2)), [0.0, 0.0], ["relu", 3])
    with pytest.raises(ValueError, match="alpha"):
        Layer.affine(np.ones((1, 2)), [0.0], "leaky_relu", alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        Layer.affine(np.ones((1, 2)), [0.0], "leaky_relu", alpha=np.nan)
    # a non-number alpha and a non-name activation were numpy's / list()'s errors, naming neither argument
    for bad in ("0.1", None, True):
        with pytest.raises(TypeError, match=r"^weights\[0\]: alpha must be a number, got "):
            Network.from_weights([(np.ones((1, 2)), [0.0])], output_activation="leaky_relu", alpha=bad)
    for bad in (None, 3):
        with pytest.raises(TypeError, match=r"^activation must be a name or a sequence of names"):
            Layer.affine(np.ones((1, 2)), [0.0], bad)
    assert Layer.affine(np.ones((1, 2)), [0.0], "relu", alpha=None).n_units == 1  # alpha is for leaky_relu only


@pytest.mark.parametrize("A,c,n_pieces,exc,match", [
    (np.ones((3, 2)), np.ones(3), [1.0, 2.0], TypeError, "n_pieces must be a 1-D integer array"),
    (np.ones((3, 2)), np.ones(3), 3, TypeError, "n_pieces must be a 1-D integer array"),
    (np.ones((3, 2)), np.ones(3), [1, 1], ValueError, "n_pieces sums to 2"),
    (np.ones((3, 2)), np.ones(3), [3, 0], ValueError, "n_pieces must be between 1 and 127"),
    (np.ones((3, 2)), np.ones(3), np.array([], dtype=int), ValueError, "n_pieces must name at least one unit"),
    (np.ones((3, 2)), np.ones(2), [3], ValueError, "c has 2 entries"),
    (np.full((3, 2), np.nan), np.ones(3), [3], ValueError, "A contains NaN"),
    (np.ones((3, 2)), [np.inf, 0, 0], [3], ValueError, "c contains NaN or infinite"),
    (np.ones((3, 0)), np.ones(3), [3], ValueError, "A must have at least one column"),
    (np.array([["1", "2"]] * 3), np.ones(3), [3], TypeError, "A must be an array of numbers"),
])
def test_layer_rejects(A, c, n_pieces, exc, match):
    with pytest.raises(exc, match=match):
        Layer(A, c, n_pieces)


def test_layer_affine_with_no_units_names_w():
    with pytest.raises(ValueError, match="W"):
        Layer.affine(np.zeros((0, 2)), np.zeros(0))


def test_layer_affine_with_no_inputs_names_w():
    with pytest.raises(ValueError, match="W"):
        Layer.affine(np.zeros((2, 0)), np.zeros(2))


# ---------------------------------------------------------------------------------------------- networks
def test_network_rejects():
    L1 = Layer.affine(np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="layers must contain at least one Layer"):
        Network([])
    with pytest.raises(TypeError, match=r"layers\[1\] must be a relutope.Layer"):
        Network([L1, "relu"])
    with pytest.raises(ValueError, match=r"layers\[1\] takes inputs of length 4 but layers\[0\] has 3 units"):
        Network([L1, Layer.affine(np.ones((1, 4)), np.zeros(1))])
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        Network.from_weights([(np.ones((2, 2)), np.zeros(2)), (np.ones((1, 2)), [np.nan])])
    with pytest.raises(ValueError, match="layers\\[1\\] takes inputs of length 3"):
        Network.from_weights([(np.ones((2, 2)), np.zeros(2)), (np.ones((1, 3)), np.zeros(1))])
    with pytest.raises(TypeError, match=r"weights\[0\] must be a \(W, b\) pair"):
        Network.from_weights([(np.ones((1, 1)),)])
    with pytest.raises(ValueError, match="weights must contain"):
        Network.from_weights([])
    with pytest.raises(ValueError, match="widths"):
        Network.random([2])


def test_network_of_none_names_layers():
    with pytest.raises(TypeError, match="layers"):
        Network(None)


def test_forward_rejects():
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        NET(np.ones((2, 3)))
    with pytest.raises(ValueError, match="x contains NaN"):
        NET(np.array([[np.nan, 0.0]]))
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        NET([["a", "b"]])
    with pytest.raises(ValueError, match="pattern must have shape"):
        NET.local_affine_map([0] * 4)
    with pytest.raises(ValueError, match="pattern names a piece index"):
        NET.local_affine_map([2, 0, 0, 0, 0])
    with pytest.raises(TypeError, match="pattern must be an integer array"):
        NET.local_affine_map([0.0] * 5)


# ---------------------------------------------------------------------------------------------- domains
def test_box_rejects():
    with pytest.raises(ValueError, match=r"lo must be <= hi; lo > hi at coordinates \[1\]"):
        Box([0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="lo and hi must have the same shape"):
        Box([0.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="lo contains NaN"):
        Box([0.0, np.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match="hi contains NaN or infinite"):
        Box([0.0, 0.0], [1.0, np.inf])
    with pytest.raises(TypeError, match="lo must be an array of numbers"):
        Box(["a"], [1.0])
    with pytest.raises(TypeError, match="hi must be an array of numbers"):
        Box([0.0], np.array([None], dtype=object))
    with pytest.raises(ValueError, match="no free coordinate"):
        Box([1.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="lo must be 1-D"):
        Box(np.zeros((2, 2)), np.ones((2, 2)))


def test_polytope_rejects():
    with pytest.raises(ValueError, match="unbounded"):
        Polytope([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0])  # a quadrant
    with pytest.raises(ValueError, match="unbounded"):
        Polytope([[1.0, 0.0], [-1.0, 0.0]], [1.0, 1.0])  # a strip
    with pytest.raises(ValueError, match="empty"):
        Polytope([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], [0.0, -1.0, 1.0, 1.0])  # x <= 0, x >= 1
    with pytest.raises(ValueError, match="not full-dimensional"):
        Polytope([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], [0.0, 0.0, 1.0, 1.0])  # a segment
    with pytest.raises(ValueError, match="A has 2 rows but b has 3"):
        Polytope(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="A must have at least one row"):
        Polytope(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match="A contains NaN"):
        Polytope([[np.nan, 0.0]], [1.0])
    with pytest.raises(TypeError, match="b must be an array of numbers"):
        Polytope(np.eye(2), ["a", "b"])


def test_whole_space_and_slice_reject():
    with pytest.raises(ValueError, match="d must be >= 1"):
        WholeSpace(0)
    with pytest.raises(TypeError, match="d must be an int"):
        WholeSpace(2.0)
    with pytest.raises(TypeError, match="d must be an int"):
        WholeSpace(True)
    sq = Box([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="basis columns must be linearly independent"):
        Slice(np.zeros(3), np.ones((3, 2)), sq)
    with pytest.raises(ValueError, match="origin has length 2 but basis has 3 rows"):
        Slice(np.zeros(2), np.eye(3)[:, :2], sq)
    with pytest.raises(TypeError, match="inner must be a relutope Domain"):
        Slice(np.zeros(3), np.eye(3)[:, :2], "box")
    with pytest.raises(ValueError, match="inner has dimension 3 but basis has 2 columns"):
        Slice(np.zeros(3), np.eye(3)[:, :2], Box(np.zeros(3), np.ones(3)))
    with pytest.raises(ValueError, match="inner must be a full-dimensional"):
        Slice(np.zeros(3), np.eye(3)[:, :2], Box([0.0, 0.0, 0.5], [1.0, 1.0, 0.5]))
    with pytest.raises(ValueError, match="basis contains NaN"):
        Slice(np.zeros(3), np.array([[np.nan, 0], [0, 1], [0, 0]]), sq)
    with pytest.raises(ValueError, match="basis columns must be linearly independent"):
        Slice(np.zeros(3), np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]), sq)
    with pytest.raises(ValueError, match="p0, p1 and p2 lie on one line"):
        Slice.through_points([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0])  # collinear


# ---------------------------------------------------------------------------------------------- enumerate_regions
def test_enumerate_rejects_wrong_types():
    with pytest.raises(TypeError, match="net must be a relutope.Network"):
        enumerate_regions("net", BOX)
    with pytest.raises(TypeError, match="net must be a relutope.Network"):
        enumerate_regions(NET.layers[0], BOX)
    with pytest.raises(TypeError, match="domain must be a relutope Domain"):
        enumerate_regions(NET, (np.zeros(2), np.ones(2)))
    with pytest.raises(TypeError, match="domain must be a relutope Domain"):
        enumerate_regions(NET, None)


def test_enumerate_rejects_a_domain_of_the_wrong_dimension():
    for domain in (Box(np.zeros(3), np.ones(3)), WholeSpace(3), Box([0.0], [1.0]),
                   Slice(np.zeros(3), np.eye(3)[:, :2], Box([0.0, 0.0], [1.0, 1.0]))):
        with pytest.raises(ValueError, match="domain has dimension .* but the network takes 2 inputs"):
            enumerate_regions(NET, domain)


@pytest.mark.parametrize("name,value,exc", [
    ("tol", 0.0, ValueError), ("tol", -1e-6, ValueError), ("tol", np.nan, ValueError), ("tol", np.inf, ValueError),
    ("tol", "1e-6", TypeError), ("tol", True, TypeError), ("tol", [1e-6], TypeError),
    ("max_regions", -1, ValueError), ("max_regions", 2.0, TypeError), ("max_regions", 2.5, TypeError),
    ("max_regions", "3", TypeError), ("max_regions", True, TypeError), ("max_regions", np.float64(3), TypeError),
    ("time_limit", 0.0, ValueError), ("time_limit", -1.0, ValueError), ("time_limit", np.nan, ValueError),
    ("time_limit", "1", TypeError),
    ("radius_cap", 0.0, ValueError), ("radius_cap", np.nan, ValueError), ("radius_cap", np.inf, ValueError),
])
def test_enumerate_rejects_bad_numbers(name, value, exc):
    with pytest.raises(exc, match=name):
        enumerate_regions(NET, WholeSpace(2) if name == "radius_cap" else BOX, **{name: value})


def test_radius_cap_must_exceed_tol():
    with pytest.raises(ValueError, match=r"radius_cap \(1e-12\) must exceed tol"):
        enumerate_regions(NET, WholeSpace(2), radius_cap=1e-12)


def test_acceptable_numbers_are_accepted():
    full = enumerate_regions(NET, BOX)
    assert len(enumerate_regions(NET, BOX, max_regions=np.int64(3))) == 3
    assert len(enumerate_regions(NET, BOX, max_regions=0)) == 0
    assert len(enumerate_regions(NET, BOX, tol=np.float32(1e-6))) == len(full)
    assert len(enumerate_regions(NET, BOX, max_regions=2 ** 62)) == len(full)


def test_huge_max_regions_is_named():
    try:
        enumerate_regions(NET, BOX, max_regions=2 ** 70)
    except (TypeError, ValueError) as exc:
        assert "max_regions" in str(exc)


def test_locate_rejects():
    part = enumerate_regions(NET, BOX)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        part.locate([[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="x contains NaN"):
        part.locate([[np.nan, 0.0]])
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        part.locate("ab")


# ---------------------------------------------------------------------------------------------- threads
def same(a, b):
    np.testing.assert_array_equal(a.patterns, b.patterns)
    np.testing.assert_array_equal(a.radii, b.radii)
    np.testing.assert_array_equal(a.witnesses, b.witnesses)
    np.testing.assert_array_equal(a.layer_counts, b.layer_counts)


def test_two_enumerations_in_two_threads():
    jobs = [(Network.random([2, 16, 16, 16, 1], seed=1), Box([-1.0, -1.0], [1.0, 1.0])),
            (Network.random([3, 12, 12, 12, 1], seed=0), Box(-np.ones(3), np.ones(3)))]
    sequential = [enumerate_regions(net, dom) for net, dom in jobs]
    for _ in range(3):
        results = [None, None]
        barrier = threading.Barrier(2)

        def work(i):
            barrier.wait()
            results[i] = enumerate_regions(*jobs[i])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for got, want in zip(results, sequential):
            same(got, want)
    # the same network object in both threads at once (its compiled twin is shared)
    net, dom = jobs[1]
    results = [None, None]
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, enumerate_regions(net, dom)))
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    same(results[0], sequential[1])
    same(results[1], sequential[1])


def test_enumeration_releases_the_gil():
    """While the core works in another thread, this thread keeps running Python code."""
    net, dom = Network.random([2, 64, 64, 64, 1], seed=0), Box([-1.0, -1.0], [1.0, 1.0])
    t0 = time.perf_counter()
    ref = enumerate_regions(net, dom, method="lp")  # the LP path: the 2-D fast path is too quick to tell
    alone = time.perf_counter() - t0
    part, ticks = ticks_while(lambda: enumerate_regions(net, dom, method="lp"))
    same(part, ref)
    # with the GIL held through the run, this loop would stall for its whole length and tick a few times at most
    assert alone > 0.1  # the run is long enough to tell (about 0.2 s alone, 14 000 regions)
    assert len(ticks) > 20
    assert np.median(np.diff(ticks)) < 0.05


def test_small_public_helpers_reject_bad_input():
    """Helpers of the analysis modules name the bad argument instead of failing deep inside."""
    from relutope import complexity, early_bird, gaussian, refinement, topology

    with pytest.raises(TypeError, match="network"):
        early_bird.code_layers(None)
    with pytest.raises(TypeError, match="partition"):
        refinement.cell_volumes(None)
    with pytest.raises(ValueError, match="n_points"):
        complexity.directions(-1, 2, 2)
    with pytest.raises(ValueError, match="n_dirs"):
        complexity.directions(3, 2, 3)
    with pytest.raises(TypeError, match="columns"):
        topology.gf2_rank(["x"])
    with pytest.raises(ValueError, match="lo and hi"):
        gaussian.interval_masses("a", 1.0)


@pytest.mark.parametrize("bad", ["x", None, "2", True])
def test_lipschitz_names_a_bad_norm(bad):
    # a str or a bool is not a norm's order (float() took '2' and True as 2 and 1)
    part = enumerate_regions(Network.random([2, 4, 1], seed=0), Box(-np.ones(2), np.ones(2)))
    for kw in ({"p": bad}, {"q": bad}):
        with pytest.raises(TypeError, match=rf"\b{next(iter(kw))}\b"):
            relutope.lipschitz(part, **kw)


@pytest.mark.parametrize("bad", [None, "box"])
def test_default_tol_names_a_bad_domain(bad):
    # it gave an AttributeError from inside, while min_tol beside it raised this TypeError
    with pytest.raises(TypeError, match="domain must be a relutope Domain"):
        relutope.min_tol(bad)
    with pytest.raises(TypeError, match="domain must be a relutope Domain"):
        relutope.default_tol(bad)
