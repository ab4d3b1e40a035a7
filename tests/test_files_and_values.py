"""Files and values that must be refused with an error naming the file, the argument or the point (issue 16)."""
import re
import warnings

import numpy as np
import pytest

import relutope
from relutope import Box, Network, Partition, Slice, WholeSpace, enumerate_regions

NET = Network.random([2, 5, 3, 2], seed=4)
BOX = Box([-1.0, -1.0], [1.0, 1.0])


@pytest.fixture(scope="module")
def part():
    return enumerate_regions(NET, BOX)


def arrays_of(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def rewrite(path, out, **changes):
    """Copy the archive ``path`` to ``out`` with some entries replaced (None deletes one)."""
    arrays = arrays_of(path)
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(out, **arrays)
    return out


# ---------------------------------------------------------------------------------------------- Network.load
def test_network_load_refuses_a_gap_in_the_layers(tmp_path):
    W = np.eye(2)
    np.savez(tmp_path / "gap.npz", W0=W, b0=np.zeros(2), W2=W, b2=np.zeros(2))  # no W1, b1
    with pytest.raises(ValueError, match=r"gap\.npz.*has W2 but no W1"):
        Network.load(tmp_path / "gap.npz")
    np.savez(tmp_path / "nob.npz", W0=W, b0=np.zeros(2), W1=W)
    with pytest.raises(ValueError, match=r"nob\.npz.*has W1 but no b1"):
        Network.load(tmp_path / "nob.npz")
    np.savez(tmp_path / "ok.npz", W0=W, b0=np.zeros(2), W1=W[:1], b1=np.zeros(1))
    net = Network.load(tmp_path / "ok.npz")
    np.testing.assert_array_equal(net(np.array([[1.0, -2.0]])), [[1.0]])  # W1 @ relu(x) = relu(x0)


def test_network_load_refuses_stale_layer_arrays(tmp_path):
    NET.save(tmp_path / "net.npz")
    rewrite(tmp_path / "net.npz", tmp_path / "short.npz", n_layers=np.array(2))
    with pytest.raises(ValueError, match=r"short\.npz.*n_layers is 2 but the archive has arrays for layers \[0, 1, 2"):
        Network.load(tmp_path / "short.npz")
    rewrite(tmp_path / "net.npz", tmp_path / "huge.npz", n_layers=np.array(10 ** 15))
    with pytest.raises(ValueError, match="n_layers is 1000000000000000"):
        Network.load(tmp_path / "huge.npz")


def test_network_load_wraps_corrupt_archives(tmp_path):
    NET.save(tmp_path / "net.npz")
    raw = (tmp_path / "net.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cannot read network file '.*trunc\.npz'"):
        Network.load(tmp_path / "trunc.npz")
    flipped = bytearray(raw)
    flipped[len(raw) // 3] ^= 0x10  # inside the first member's data: the CRC no longer matches
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"cannot read network file '.*flip\.npz'"):
        Network.load(tmp_path / "flip.npz")


def test_network_load_of_a_text_file_gives_no_pickle_advice(tmp_path):
    (tmp_path / "text.npz").write_text("W0 = [[1, 2]]\n")
    with pytest.raises(ValueError, match=r"text\.npz.*not an \.npz archive") as info:
        Network.load(tmp_path / "text.npz")
    assert "pickle" not in str(info.value)


def test_network_load_refuses_object_arrays(tmp_path):
    np.savez(tmp_path / "obj.npz", W0=np.array([[1.0, None]], dtype=object), b0=np.zeros(1))
    with pytest.raises(ValueError, match=r"obj\.npz.*'W0' holds Python objects") as info:
        Network.load(tmp_path / "obj.npz")
    assert "allow_pickle" not in str(info.value)


def test_network_load_checks_declared_sizes_before_allocating(tmp_path):
    # A header that claims 10^12 elements in a member holding 16 bytes is refused before any allocation.
    import zipfile

    np.savez(tmp_path / "net.npz", W0=np.eye(1), b0=np.zeros(1))
    with zipfile.ZipFile(tmp_path / "net.npz") as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["W0.npy"] = members["W0.npy"].replace(b"(1, 1)", b"(1000000, 1000000)", 1)
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match=r"big\.npz.*'W0' declares shape \(1000000, 1000000\)"):
        Network.load(tmp_path / "big.npz")


def test_fingerprint_tells_networks_apart():
    same = Network.from_weights([(l.A[1::2] / 1.0, l.c[1::2]) for l in NET.layers[:-1]]
                                + [(NET.layers[-1].A, NET.layers[-1].c)])
    assert same.fingerprint() == NET.fingerprint() and re.fullmatch(r"[0-9a-f]{64}", NET.fingerprint())
    W = NET.layers[0].A[1::2].copy()
    W[0, 0] = np.nextafter(W[0, 0], np.inf)  # one ulp
    nudged = Network.from_weights([(W, NET.layers[0].c[1::2])] + [(l.A[1::2], l.c[1::2]) for l in NET.layers[1:-1]]
                                  + [(NET.layers[-1].A, NET.layers[-1].c)])
    assert nudged.fingerprint() != NET.fingerprint()
    leaky = Network.from_weights([(l.A[1::2], l.c[1::2]) for l in NET.layers[:-1]]
                                 + [(NET.layers[-1].A, NET.layers[-1].c)], activation="abs")
    assert leaky.fingerprint() != NET.fingerprint()  # same weights, other pieces


# ---------------------------------------------------------------------------------------------- Partition.load
def test_partition_file_stores_and_checks_the_fingerprint(tmp_path, part):
    part.save(tmp_path / "p.npz")
    assert str(arrays_of(tmp_path / "p.npz")["net_fingerprint"]) == NET.fingerprint()
    other = Network.random([2, 5, 3, 2], seed=5)
    swapped = {f"net_{k}": v for k, v in other._to_arrays().items()}
    rewrite(tmp_path / "p.npz", tmp_path / "swap.npz", **swapped)
    with pytest.raises(ValueError, match=r"swap\.npz.*another network's weights"):
        Partition.load(tmp_path / "swap.npz")


def test_partition_file_without_fingerprint_loads_with_a_warning(tmp_path, part):
    part.save(tmp_path / "p.npz")
    rewrite(tmp_path / "p.npz", tmp_path / "old.npz", net_fingerprint=None)
    with pytest.warns(UserWarning, match=r"old\.npz.*no network fingerprint"):
        back = Partition.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(back.patterns, part.patterns)


@pytest.mark.parametrize("change,match", [
    (lambda a: {"patterns": a["patterns"][:, :-1]}, r"patterns must have shape \(R, 10\)"),
    (lambda a: {"patterns": np.where(np.arange(10) == 7, 2, a["patterns"]).astype(np.int8)},
     r"patterns\[0, 7\] = 2, and unit 7 has 2 pieces"),
    (lambda a: {"patterns": np.where(np.arange(10) == 3, -1, a["patterns"]).astype(np.int8)},
     r"patterns\[0, 3\] = -1"),
    (lambda a: {"patterns": np.where(np.arange(10) == 8, 1, a["patterns"]).astype(np.int8)},
     r"patterns\[0, 8\] = 1, and unit 8 has 1 pieces"),  # identity output unit: K = 1
    (lambda a: {"patterns": a["patterns"].astype(np.float64)}, "patterns must be integers"),
    (lambda a: {"centers": np.where(np.arange(len(a["radii"]))[:, None] == 2, np.nan, a["centers"])},
     "centers contains NaN or infinite"),
    (lambda a: {"radii": np.where(np.arange(len(a["radii"])) == 1, np.inf, a["radii"])},
     "radii contains NaN or infinite"),
    (lambda a: {"radii": -a["radii"]}, "radii must be positive"),
    (lambda a: {"centers": a["centers"][:, :1]}, r"centers must have shape \(\d+, 2\)"),
    (lambda a: {"domain_lo": -np.ones(3), "domain_hi": np.ones(3)}, "has dimension 3 but the network takes 2"),
    (lambda a: {"domain_kind": np.array("WholeSpace"), "domain_d": np.array(3)}, "dimension 3"),
    (lambda a: {"domain_lo": None}, r"domain's entry 'lo' is missing"),
    (lambda a: {"layer_counts": a["layer_counts"][:1]}, "layer_counts must be 3 integers"),
    (lambda a: {"tol": np.array(np.nan)}, "tol must be positive and finite"),
    (lambda a: {"tol": np.array([1e-9, 1e-9])}, "tol must be a single value"),
    (lambda a: {"status": np.array("finished")}, "status must be one of"),
    (lambda a: {"radii": None}, "array 'radii' is missing"),
])
def test_partition_load_refuses_inconsistent_files(tmp_path, part, change, match):
    part.save(tmp_path / "p.npz")
    bad = rewrite(tmp_path / "p.npz", tmp_path / "bad.npz", **change(arrays_of(tmp_path / "p.npz")))
    with pytest.raises((ValueError, TypeError), match=r"bad\.npz.*" + match):
        Partition.load(bad)


def test_partition_load_accepts_what_save_wrote(tmp_path, part):
    part.save(tmp_path / "p.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = Partition.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(back.patterns, part.patterns)
    np.testing.assert_array_equal(back.witnesses, part.witnesses)


def test_compare_sampling_refuses_another_networks_partition(part):
    other = Network.random([2, 5, 3, 2], seed=5)  # same widths, other weights
    with pytest.raises(ValueError, match="partition is of another network"):
        relutope.compare_sampling(other, BOX, budgets=[100], partition=part)
    with pytest.raises(ValueError, match="which is not domain"):
        relutope.compare_sampling(NET, Box([-1.0, -1.0], [1.0, 0.5]), budgets=[100], partition=part)
    copy = Network([relutope.Layer(l.A.copy(), l.c.copy(), l.n_pieces.copy()) for l in NET.layers])
    res = relutope.compare_sampling(copy, Box([-1.0, -1.0], [1.0, 1.0]), budgets=[100], partition=part)
    assert res.n_regions == len(part)  # an equal network and domain are accepted


# ---------------------------------------------------------------------------------------------- values
@pytest.mark.parametrize("widths,exc,match", [
    ([2, 3.5, 1], TypeError, r"widths\[1\] must be an int, got 3.5"),
    ([2.0, 3, 1], TypeError, r"widths\[0\] must be an int"),
    ([2, True, 1], TypeError, r"widths\[1\] must be an int"),
    ([2, "3", 1], TypeError, r"widths\[1\] must be an int"),
    (5, TypeError, "widths must be a sequence of ints"),
    ([2, 0, 1], ValueError, "widths must list at least two positive sizes"),
])
def test_network_random_refuses_non_integer_widths(widths, exc, match):
    with pytest.raises(exc, match=match):
        Network.random(widths)
    assert Network.random([2, np.int64(3), 1]).widths == [2, 3, 1]


@pytest.mark.parametrize("args,kwargs,exc,match", [
    (([0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0]), {}, ValueError, "p1 has length 3 but p0 has 2"),
    (([0.0, 0.0], [1.0, 0.0], [0.0]), {}, ValueError, "p2 has length 1 but p0 has 2"),
    (([0.0, 0.0], [1.0, np.nan], [0.0, 1.0]), {}, ValueError, "p1 contains NaN"),
    (([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]), {"margin": -0.1}, ValueError, "margin must be >= 0 and finite, got -0.1"),
    (([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]), {"margin": np.nan}, ValueError, "margin must be >= 0 and finite, got nan"),
    (([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]), {"margin": np.inf}, ValueError, "margin must be >= 0 and finite"),
    (([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]), {"margin": "1"}, TypeError, "margin must be a number"),
    (([0.0, 0.0], [1.0, 1.0], [1.0, 1.0]), {}, ValueError, "p0, p1 and p2 lie on one line"),
])
def test_slice_through_points_names_the_point_or_margin(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Slice.through_points(*args, **kwargs)


def test_zero_d_inputs_get_their_own_shape_in_messages(part):
    net1 = Network.random([1, 3, 1], seed=0)
    for call in (NET.forward, NET.activation_pattern, NET.__call__, net1.forward, BOX.contains, BOX.to_coords,
                 part.locate):
        with pytest.raises(ValueError, match=r"must have shape \(N, \d\), or \(\d,\) for one point; got a 0-d"):
            call(np.float64(0.5))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\), or \(2,\) for one point; got shape \(3,\)"):
        NET.forward(np.zeros(3))
    with pytest.raises(ValueError, match=r"got shape \(1, 2, 2\)"):
        NET.forward(np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match=r"t must have shape \(N, 2\), or \(2,\) for one point; got a 0-d"):
        BOX.to_input(0.0)
    np.testing.assert_array_equal(NET(np.zeros(2)), NET(np.zeros((1, 2))))  # one point as (d,)
    # constructors: a 0-d array is reported as shape (), not silently promoted
    with pytest.raises(ValueError, match=r"b must be 1-D, got shape \(\)"):
        relutope.Layer.affine(np.ones((1, 2)), 0.0)
    with pytest.raises(ValueError, match=r"A must be 2-D, got shape \(\)"):
        relutope.Layer(1.0, [0.0], [1])
    with pytest.raises(ValueError, match=r"b must be 1-D, got shape \(\)"):
        relutope.Polytope(np.ones((1, 1)), 1.0)
    with pytest.raises(ValueError, match=r"basis must be 2-D, got shape \(\)"):
        Slice([0.0], 1.0, WholeSpace(1))
    assert Box(0.0, 1.0).dim == 1  # a scalar box bound is one coordinate, as documented
