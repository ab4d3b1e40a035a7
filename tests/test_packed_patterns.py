"""Packed activation patterns (cpp/include/relutope/patterns.hpp, Partition.packed_patterns).

References: the layout as documented, packed here bit by bit with numpy (``np.packbits(..., bitorder="little")``);
the network's own forward pass on the witnesses; the piece counts of the network for the sizes.
"""
import numpy as np
import pytest

import relutope
from relutope import Box, Layer, Network, Partition, Slice
from relutope import _core

MIXED_K = [1, 2, 3, 4, 5, 9, 17]


def reference_pack(patterns: np.ndarray, n_pieces) -> np.ndarray:
    """The documented layout: unit i takes ceil(log2 K_i) bits, least significant first, bits little-endian."""
    widths = [int(K - 1).bit_length() for K in n_pieces]  # ceil(log2 K) for K >= 1
    bits = np.zeros((patterns.shape[0], sum(widths)), dtype=np.uint8)
    col = 0
    for i, w in enumerate(widths):
        for j in range(w):
            bits[:, col + j] = (patterns[:, i].astype(np.int64) >> j) & 1
        col += w
    return np.packbits(bits, axis=1, bitorder="little")


def n_bytes(n_pieces) -> int:
    return -(-sum(int(K - 1).bit_length() for K in n_pieces) // 8)


def mixed_net(seed: int, d: int = 2) -> Network:
    """Maxout units of K = 1, 2, 3, 4, 5, 9, 17 pieces (22 bits with the ReLUs: not a multiple of 8), then ReLUs."""
    rng = np.random.default_rng(seed)
    pool = Layer(rng.normal(size=(sum(MIXED_K), d)), rng.normal(size=sum(MIXED_K)) * 0.3, MIXED_K)
    return Network([pool, Layer.affine(rng.normal(size=(5, len(MIXED_K))) * 0.5, rng.normal(size=5) * 0.3),
                    Layer.affine(rng.normal(size=(1, 5)), np.zeros(1), "identity")])


def random_patterns(n_pieces, R: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, K, size=R) for K in n_pieces], axis=1).astype(np.int8)


# ---------------------------------------------------------------------------------------------- the layout
@pytest.mark.parametrize("seed", range(4))
def test_pack_unpack_round_trip_against_the_documented_layout(seed):
    rng = np.random.default_rng(100 + seed)
    n_pieces = rng.choice(MIXED_K, size=int(rng.integers(1, 40)))
    net = Network([Layer(rng.normal(size=(int(n_pieces.sum()), 3)), rng.normal(size=int(n_pieces.sum())),
                         n_pieces)])
    pats = random_patterns(n_pieces, 257, seed)
    pats[0] = n_pieces - 1  # every unit at its last piece
    pats[1] = 0
    packed = _core.pack_patterns(net._core(), pats)
    assert packed.dtype == np.uint8 and packed.shape == (257, n_bytes(n_pieces)) == (257, net._core().pattern_bytes)
    np.testing.assert_array_equal(packed, reference_pack(pats, n_pieces))
    np.testing.assert_array_equal(_core.unpack_patterns(net._core(), packed), pats)


@pytest.mark.parametrize("lead", [0, 1, 3, 7])
def test_runs_of_relus_at_every_bit_alignment(lead):
    """Eight or more ReLUs in a row are packed eight at a time, from any bit offset."""
    n_pieces = np.array([2] * lead + [3] + [2] * 11 + [1] + [2] * 9 + [5] + [2] * 16 + [4])
    rng = np.random.default_rng(lead)
    net = Network([Layer(rng.normal(size=(int(n_pieces.sum()), 2)), np.zeros(int(n_pieces.sum())), n_pieces)])
    pats = random_patterns(n_pieces, 300, lead)
    packed = _core.pack_patterns(net._core(), pats)
    np.testing.assert_array_equal(packed, reference_pack(pats, n_pieces))
    np.testing.assert_array_equal(_core.unpack_patterns(net._core(), packed), pats)
    for bad in (2, -1):  # inside a run of ReLUs
        wrong = pats[:1].copy()
        wrong[0, lead + 20] = bad
        with pytest.raises(ValueError, match=f"unit {lead + 20} has piece {bad}"):
            _core.pack_patterns(net._core(), wrong)


def test_width_not_a_multiple_of_eight_and_single_piece_units():
    net = mixed_net(0)
    n_pieces = net.n_pieces
    assert sum(int(K - 1).bit_length() for K in n_pieces) == 22 and n_bytes(n_pieces) == 3
    pats = random_patterns(n_pieces, 100, 1)
    packed = _core.pack_patterns(net._core(), pats)
    np.testing.assert_array_equal(packed, reference_pack(pats, n_pieces))
    assert not np.any(packed[:, 2] >> 6)  # the two padding bits are zero
    np.testing.assert_array_equal(_core.unpack_patterns(net._core(), packed), pats)


def test_a_network_of_single_piece_units_packs_into_no_bytes():
    net = Network([Layer.affine(np.eye(2), np.zeros(2), "identity")])
    part = relutope.enumerate_regions(net, Box([-1, -1], [1, 1]))
    assert len(part) == 1 and part.packed_patterns.shape == (1, 0)
    np.testing.assert_array_equal(part.patterns, np.zeros((1, 2), np.int8))
    np.testing.assert_array_equal(part.locate(np.zeros((3, 2))), [0, 0, 0])


def test_pieces_a_unit_does_not_have_are_rejected():
    net = mixed_net(0)
    pats = np.zeros((1, net.n_units), np.int8)
    pats[0, 2] = 3  # unit 2 has K = 3 pieces: 3 fits in its 2 bits but is no piece
    with pytest.raises(ValueError, match="unit 2 has piece 3"):
        _core.pack_patterns(net._core(), pats)
    row = reference_pack(pats, net.n_pieces)  # the same row written past the check
    with pytest.raises(ValueError, match="unit 2 has piece 3"):
        _core.unpack_patterns(net._core(), row)
    pats[0, 2] = 0
    pats[0, 0] = 1  # a single-piece unit
    with pytest.raises(ValueError, match="unit 0 has piece 1"):
        _core.pack_patterns(net._core(), pats)


# ---------------------------------------------------------------------------------------------- partitions
@pytest.mark.parametrize("method", ["lp", "polygon"])
def test_enumerated_patterns_are_the_forward_pass_of_the_witnesses(method):
    net = mixed_net(3)
    part = relutope.enumerate_regions(net, Box([-1, -1], [1, 1]), method=method)
    assert len(part) > 20 and part.complete
    pats = part.patterns
    assert pats.dtype == np.int8 and pats.shape == (len(part), net.n_units)
    np.testing.assert_array_equal(pats, net.activation_pattern(part.witnesses))
    np.testing.assert_array_equal(part.packed_patterns, reference_pack(pats, net.n_pieces))
    assert len({row.tobytes() for row in part.packed_patterns}) == len(part)
    for i in (0, len(part) // 2, len(part) - 1):
        np.testing.assert_array_equal(part[i].pattern, pats[i])
        np.testing.assert_array_equal(part[i].witness, part.witnesses[i])


def test_max_pooling_in_three_dimensions_on_the_lp_path():
    net = mixed_net(4, d=3)
    part = relutope.enumerate_regions(net, Box(-np.ones(3), np.ones(3)))
    assert len(part) > 20
    np.testing.assert_array_equal(part.patterns, net.activation_pattern(part.witnesses))


def test_many_regions_across_storage_blocks():
    """Over 64 KiB of every per-region array: the core's block storage is joined in order."""
    net = Network.random([2, 64, 64, 1], seed=0)
    part = relutope.enumerate_regions(net, Box([-1, -1], [1, 1]))
    lp = relutope.enumerate_regions(net, Box([-1, -1], [1, 1]), method="lp")
    assert part.packed_patterns.nbytes > 65536 and part._centers.nbytes > 65536
    np.testing.assert_array_equal(part.patterns, net.activation_pattern(part.witnesses))
    np.testing.assert_array_equal(lp.patterns, net.activation_pattern(lp.witnesses))
    assert {r.tobytes() for r in part.packed_patterns} == {r.tobytes() for r in lp.packed_patterns}
    from relutope.polygons import areas

    offsets, vertices = part._polygon_csr()
    assert abs(areas(offsets, vertices).sum() - 4.0) < 1e-9


def test_a_slice_through_three_inputs():
    net = Network.random([6, 12, 12, 2], seed=2)
    p = np.random.default_rng(0).random((3, 6))
    part = relutope.enumerate_regions(net, Slice.through_points(*p, margin=0.5))
    assert len(part) > 20 and part.witnesses.shape == (len(part), 6)
    np.testing.assert_array_equal(part.patterns, net.activation_pattern(part.witnesses))


# ---------------------------------------------------------------------------------------------- memory
def test_stored_pattern_bytes_and_nothing_dense_kept():
    net = Network.random([3, 20, 20, 20, 1], seed=1)  # 60 ReLUs and a linear output: 8 bytes per region
    part = relutope.enumerate_regions(net, Box(-np.ones(3), np.ones(3)))
    R = len(part)
    assert part.pattern_bytes == n_bytes(net.n_pieces) == 8
    assert part.packed_patterns.nbytes == R * 8
    assert not part.packed_patterns.flags.writeable
    # Using the dense forms keeps none of them: every array the partition holds has R rows of at most k columns
    # or R x pattern_bytes bytes.
    part.patterns, part.witnesses, part.witness_coords, part.locate(part.witnesses[:10]), part[3].pattern
    held = sum(v.nbytes for v in vars(part).values() if isinstance(v, np.ndarray))
    assert held == R * (8 + 3 * 8 + 8 + 8) + part.layer_counts.nbytes  # patterns, centres, radii, lookup order


def test_expansions_are_fresh_arrays():
    net = Network.random([2, 6, 6, 1], seed=0)
    part = relutope.enumerate_regions(net, Box([-1, -1], [1, 1]))
    pats = part.patterns
    pats[:] = 0  # writing the copy does not change the partition
    np.testing.assert_array_equal(part.patterns, net.activation_pattern(part.witnesses))


# ---------------------------------------------------------------------------------------------- look-ups
def test_locate_and_index_of():
    net = mixed_net(5)
    part = relutope.enumerate_regions(net, Box([-1, -1], [1, 1]))
    R = len(part)
    np.testing.assert_array_equal(part.locate(part.witnesses), np.arange(R))
    pats = part.patterns
    order = np.random.default_rng(0).permutation(R)
    np.testing.assert_array_equal(part.index_of(pats[order]), order)
    np.testing.assert_array_equal(part.index_of(pats[3]), [3])
    # A pattern of no region (the region of pattern 0 less one of its regions): -1.
    sub = Partition(net, part.domain, pats[1:], part._centers[1:], part.radii[1:], part.layer_counts, tol=part.tol,
                    status="interrupted")
    np.testing.assert_array_equal(sub.index_of(pats[:3]), [-1, 0, 1])
    np.testing.assert_array_equal(sub.locate(part.witnesses[:3]), [-1, 0, 1])
    with pytest.raises(ValueError, match="shape"):
        part.index_of(pats[:, :-1])
    with pytest.raises(TypeError, match="integer"):
        part.index_of(pats.astype(float))
    bad = pats[:1].copy()
    bad[0, 2] = 3
    with pytest.raises(ValueError, match="piece"):
        part.index_of(bad)


# ---------------------------------------------------------------------------------------------- constructor, files
def test_constructor_packs_dense_patterns(tmp_path):
    net = mixed_net(6)
    part = relutope.enumerate_regions(net, Box([-1, -1], [1, 1]))
    again = Partition(net, part.domain, part.patterns.astype(np.int64), part._centers, part.radii,
                      part.layer_counts, tol=part.tol)
    np.testing.assert_array_equal(again.packed_patterns, part.packed_patterns)
    part.save(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as data:  # the file keeps dense patterns
        np.testing.assert_array_equal(data["patterns"], part.patterns)
    back = Partition.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(back.packed_patterns, part.packed_patterns)
    np.testing.assert_array_equal(back.witnesses, part.witnesses)


def test_constructor_rejects_bad_patterns():
    net = mixed_net(6)
    box = Box([-1, -1], [1, 1])
    ok = np.zeros((2, net.n_units), np.int8)
    args = (np.zeros((2, 2)), np.ones(2), [2, 2, 2])
    with pytest.raises(TypeError, match="integer"):
        Partition(net, box, ok.astype(float), *args, tol=1e-9)
    with pytest.raises(ValueError, match="shape"):
        Partition(net, box, ok[:, 1:], *args, tol=1e-9)
    big = ok.astype(np.int64)
    big[0, 3] = 256  # would wrap to piece 0 as int8
    with pytest.raises(ValueError, match="piece"):
        Partition(net, box, big, *args, tol=1e-9)
    bad = ok.copy()
    bad[1, 2] = 3
    with pytest.raises(ValueError, match="unit 2 has piece 3"):
        Partition(net, box, bad, *args, tol=1e-9)
    with pytest.raises(ValueError, match="centers"):
        Partition(net, box, ok, np.zeros((2, 3)), np.ones(2), [2, 2, 2], tol=1e-9)
    with pytest.raises(ValueError, match="radii"):
        Partition(net, box, ok, np.zeros((2, 2)), np.ones(3), [2, 2, 2], tol=1e-9)
    with pytest.raises(TypeError, match="network"):
        Partition("net", box, ok, *args, tol=1e-9)
