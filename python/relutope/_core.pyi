"""Type stubs of relutope's private compiled core (cpp/bindings.cpp). Use the public relutope API instead."""
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

class Network:
    """A MASO network in the core: layers of (A (P, in_dim), c (P,), n_pieces (n_units,))."""

    def __init__(self, layers: Sequence[Tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]]) -> None: ...
    @property
    def n_units(self) -> int: ...
    @property
    def in_dim(self) -> int: ...
    @property
    def out_dim(self) -> int: ...
    @property
    def pattern_bytes(self) -> int:
        """Bytes of one packed pattern row: ceil(b / 8) for b = the sum of ceil(log2 K) over the units."""

def local_affine_maps(
    net: Network, patterns: npt.NDArray[np.int8]
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """A (R, m, d) and b (R, m) of the local affine maps of R patterns (R, n_units)."""

def pack_patterns(net: Network, patterns: npt.NDArray[np.int8]) -> npt.NDArray[np.uint8]:
    """Pack R patterns (R, n_units) into rows (R, pattern_bytes): ceil(log2 K) bits per unit, little-endian bit
    order (cpp/include/relutope/patterns.hpp). ValueError for a piece index a unit does not have."""

def unpack_patterns(net: Network, packed: npt.NDArray[np.uint8]) -> npt.NDArray[np.int8]:
    """Unpack rows (R, pattern_bytes) into patterns (R, n_units) int8. ValueError for a row holding a piece index
    a unit does not have."""
def witnesses_agree(
    net: Network,
    x0: npt.NDArray[np.float64],
    Q: npt.NDArray[np.float64],
    u: npt.NDArray[np.float64],
    packed: npt.NDArray[np.uint8],
    threads: int = 1,
) -> npt.NDArray[np.uint8]:
    """(R,) 1 where the plain forward pass at x0 + Q u[r] (largest piece, ties to the lowest) chooses the packed
    pattern packed[r] at every unit, else 0 (GIL released, threads workers). ValueError for a row naming a piece
    a unit does not have."""

def region_halfspaces(
    net: Network, pattern: npt.NDArray[np.int8]
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Rows G (rows, d), h (rows,) with G x <= h on the closed region of a pattern (n_units,)."""

def enumerate_regions(
    net: Network,
    x0: npt.NDArray[np.float64],
    Q: npt.NDArray[np.float64],
    A_domain: npt.NDArray[np.float64],
    b_domain: npt.NDArray[np.float64],
    u0: npt.NDArray[np.float64],
    tol: float,
    radius_cap: float,
    max_regions: int,
    time_limit: float,
    checkpoint_every: int,
    callback: Optional[Callable[[int], Optional[bool]]],
    lp_max_iter: int = 0,
    threads: int = 1,
    prefix: Optional[npt.NDArray[np.int8]] = None,
    prefix_layers: int = 0,
    split_all: bool = False,
    certify: Optional[dict] = None,
) -> dict:
    """Enumerate regions on {u : A_domain u <= b_domain}, x = x0 + Q u. Keys: patterns (R, pattern_bytes) uint8
    (packed, see pack_patterns), centers (R, k), radii (R,), layer_counts (L,) int64, lps, lp_iterations, leaves,
    pruned, jobs, status, message, seconds.
    lp_max_iter > 0 caps the dual simplex iterations of every LP (a hook for tests of LP breakdowns).
    threads: worker threads (the same result as 1 on a complete run). prefix (n,) or (C, n) int8 with
    prefix_layers > 0: only the cells with that pattern (those patterns, in turn) on the first prefix_layers
    layers, n their units. split_all: every pending subtree becomes a job (a test hook).
    certify: {dom_err (m,), half (k,), tol, max_failures, max_thin_records, corrupt} (relutope.certificates._certify_options): check
    every discarding decision by a rigorous dual bound; adds key certificate: decisions, certified, empty, thin,
    max_thin (in u), failed, failure_where (F, 4) int32 (kind, layer, unit, piece), failure_bound (F,),
    failure_pattern (F, n_units) int8 (-1: undecided), and thin_where, thin_bound, thin_pattern the same for the first
    certify["max_thin_records"] decisions proven thin but not empty; with the test hook certify["dump_max"] > 0 also dumps: the
    first LP certificates as checked (g, h, e, nl, y, ng, label (m, 4): layer, unit, p, q; pattern; bound)."""

def chebyshev_dual_bound(
    G: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
    E: Optional[npt.NDArray[np.float64]],
    nl: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    half: npt.NDArray[np.float64],
) -> float:
    """A float >= rho = (y.b + sum_j |(A^T y)_j| half_j) / (y.nl) for every exact row (a_i, b_i) within E (m, k+1)
    of (G (m, k), h (m,)) (None: exact), multipliers y >= 0 and norm lower bounds nl: every ball in
    {A t <= b} inside [-half, half] has radius <= rho, and rho < 0 proves it empty. +inf when nothing is proven."""

def norm_lower_bound(g: npt.NDArray[np.float64], e: Optional[npt.NDArray[np.float64]] = None) -> float:
    """A float <= ||a|| for every a with |a - g| <= e entrywise (e = None: a = g)."""

def enumerate_polygons_2d(
    net: Network,
    x0: npt.NDArray[np.float64],
    Q: npt.NDArray[np.float64],
    A_domain: npt.NDArray[np.float64],
    b_domain: npt.NDArray[np.float64],
    u0: npt.NDArray[np.float64],
    tol: float,
    radius_cap: float,
    max_regions: int,
    time_limit: float,
    checkpoint_every: int,
    callback: Optional[Callable[[int], Optional[bool]]],
) -> dict:
    """The 2-D fast path on the bounded polygon {u : A_domain u <= b_domain}, x = x0 + Q u (Q: (d, 2); u0 unused). Keys as
    enumerate_regions (lps: Chebyshev LPs) plus offsets (R+1,) int64, vertices (V, 2) in u (counter-clockwise) and
    edge_labels (V,) int32 (the unit of the edge from each vertex to the next, or -1 - domain row)."""

def enumerate_polytopes(
    net: Network,
    x0: npt.NDArray[np.float64],
    Q: npt.NDArray[np.float64],
    A_domain: npt.NDArray[np.float64],
    b_domain: npt.NDArray[np.float64],
    u0: npt.NDArray[np.float64],
    tol: float,
    radius_cap: float,
    max_regions: int,
    time_limit: float,
    checkpoint_every: int,
    callback: Optional[Callable[[int], Optional[bool]]],
    lp_max_iter: int = 0,
    threads: int = 1,
    split_all: bool = False,
) -> dict:
    """The low-dimensional fast path (double description) on the bounded polytope {u : A_domain u <= b_domain},
    x = x0 + Q u (u0 unused). Keys as enumerate_regions (lps: Chebyshev LPs) plus splits, max_vertices and phases
    (threads: {"serial", "parallel", "join"}: (wall, cpu) seconds). threads > 1: worker threads that share the
    search by work splitting (jobs: the subtrees run as jobs, the whole search one; split_all: a test hook that
    hands over every pending subtree)."""

def output_bounds(
    net: Network, x0: npt.NDArray[np.float64], Q: npt.NDArray[np.float64], A_domain: npt.NDArray[np.float64],
    b_domain: npt.NDArray[np.float64], u0: npt.NDArray[np.float64], tol: float, radius_cap: float,
    max_regions: int, time_limit: float, checkpoint_every: int,
    callback: Optional[Callable[[int], Optional[bool]]], C: npt.ArrayLike, d: npt.ArrayLike, prune: bool,
    store_regions: bool, lp_max_iter: int = 0, threads: int = 1, prefix: Optional[npt.NDArray[np.int8]] = None,
    prefix_layers: int = 0, split_all: bool = False, thin_min_tol: float = 0.0,
) -> dict:
    """Exact min/max of the rows of C y + d over the domain: the keys of enumerate_regions plus max, min (q,)
    (+-inf for a row unbounded on an unbounded region), argmax, argmin (q, k) in u, ray_max, ray_min (q, k) in u
    (recession directions of unbounded rows, zero for bounded ones), leaves and pruned; with thin_min_tol > 0
    (verification mode, engine units) also thin, thin_open, thin_regions and widened (EnumOptions::thin_min_tol)."""

def verify(
    net: Network, x0: npt.NDArray[np.float64], Q: npt.NDArray[np.float64], A_domain: npt.NDArray[np.float64],
    b_domain: npt.NDArray[np.float64], u0: npt.NDArray[np.float64], tol: float, radius_cap: float,
    max_regions: int, time_limit: float, checkpoint_every: int,
    callback: Optional[Callable[[int], Optional[bool]]], terms: Sequence[Tuple[npt.ArrayLike, npt.ArrayLike]],
    prune: bool, stop_at_first: bool, store_regions: bool, lp_max_iter: int = 0, threads: int = 1,
    prefix: Optional[npt.NDArray[np.int8]] = None, prefix_layers: int = 0, split_all: bool = False,
    thin_min_tol: float = 0.0,
) -> dict:
def split_verify(
    net: Network, lo: npt.ArrayLike, hi: npt.ArrayLike, terms: Sequence[Tuple[npt.ArrayLike, npt.ArrayLike]],
    max_depth: int, max_boxes: int, time_limit: float, branch_candidates: int = 1, attack_steps: int = 0,
    pace_from: int = 0, pace_window: int = 32, merge_closed: float = 0.0, attack_patience: int = 0,
    attack_starts: int = 1, attack_share: float = 0.0, branch_score: int = 0, point_slopes: bool = True,
    attack_min_gain: float = 0.0, attack_gap: float = 0.0,
) -> dict: ...
def falsify(
    net: Network, lo: npt.ArrayLike, hi: npt.ArrayLike, terms: Sequence[Tuple[npt.ArrayLike, npt.ArrayLike]],
    samples: int, starts: int, steps: int, seed: int, x0: npt.ArrayLike, time_limit: float, restarts: int = 0,
    faces: int = -1,
) -> dict: ...
def box_linear_bounds(
    net: Network, lo: npt.ArrayLike, hi: npt.ArrayLike, C: npt.ArrayLike, d: npt.ArrayLike, forward: bool = False,
    A: Optional[npt.ArrayLike] = None, b: Optional[npt.ArrayLike] = None, mutate: bool = False,
    point: Optional[npt.ArrayLike] = None,
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    """Search the regions for an input with C_t y <= d_t for some term: the keys of enumerate_regions plus
    violated, term, margin and counterexample (k,) in u."""

def region_facets(
    net: Network,
    x0: npt.NDArray[np.float64],
    Q: npt.NDArray[np.float64],
    A_domain: npt.NDArray[np.float64],
    b_domain: npt.NDArray[np.float64],
    patterns: npt.NDArray[np.int8],
    centers: npt.NDArray[np.float64],
    tol: float,
    radius_cap: float,
    callback: Optional[Callable[[int], object]] = None,
    checkpoint_every: int = 0,
    threads: int = 1,
) -> dict:
    """Minimal H-representations of R regions (patterns (R, n_units), interior points centers (R, k) in u) on
    {u : A_domain u <= b_domain}, x = x0 + Q u. Keys: offsets (R+1,) int64, rows (F, k) unit normals, rhs (F,),
    unit (F,) int64 (-1 - i for domain row i), piece (F,) int8, points (F, k), radii (F,), dup_facet (D,) int64,
    dup_unit (D,) int64, dup_piece (D,) int8 (other units with a facet's hyperplane), dup_exact (D,) int8 (1: the
    rows exactly proportional, 0: equal only within the duplicate tolerance), rows_total, candidates, lps,
    lp_iterations, status ("complete", "interrupted", "numerical"), message, seconds. callback(done) is called with
    the GIL held every checkpoint_every regions (0: 2048) for progress; an exception it raises stops the run and is
    raised. threads: workers over chunks of regions (the same result with any number)."""

def region_adjacency(
    net: Network,
    x0: npt.NDArray[np.float64],
    Q: npt.NDArray[np.float64],
    A_domain: npt.NDArray[np.float64],
    b_domain: npt.NDArray[np.float64],
    patterns: npt.NDArray[np.int8],
    offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.float64],
    rhs: npt.NDArray[np.float64],
    unit: npt.NDArray[np.int64],
    piece: npt.NDArray[np.int8],
    points: npt.NDArray[np.float64],
    radii: npt.NDArray[np.float64],
    dup_facet: npt.NDArray[np.int64],
    dup_unit: npt.NDArray[np.int64],
    dup_piece: npt.NDArray[np.int8],
    dup_exact: npt.NDArray[np.int8],
    contain_tol: float,
    tol: float,
    callback: Optional[Callable[[int], object]] = None,
    checkpoint_every: int = 0,
    threads: int = 1,
) -> dict:
    """Adjacency from region_facets' arrays. Keys: edges (E, 2) int64 (i < j), edge_facet, edge_unit, edge_layer,
    edge_index (E,) int64, undecided_edges (U, 2) int64 and undecided_facet (U,) int64 (pairs across a facet with a
    source equal to its row only within rounding: not edges), undecided (F,) int8, neighbor (F,) int64 (-1 domain
    facet, -2 none found), found_by (F,) int8, expected (F,) int8, forward_passes, status, seconds. callback(done) as in region_facets, every
    checkpoint_every regions (0: 16384)."""

def polytope_measures(
    offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.float64],
    rhs: npt.NDArray[np.float64],
    centers: npt.NDArray[np.float64],
    vertices: bool = True,
    callback: Optional[Callable[[int], object]] = None,
    checkpoint_every: int = 0,
    threads: int = 1,
) -> dict:
    """Vertices and volumes of R bounded polytopes {u : rows u <= rhs} (rows offsets[r]:offsets[r+1] of rows (F, k)
    and rhs (F,); interior points centers (R, k)), by double description and the recursive facet decomposition
    (cpp/src/volume.cpp). Keys: vertex_offsets (R+1,) int64 ((1,) when vertices is False), vertices (V, k),
    volumes (R,), surfaces (R,) (boundary (k-1)-volumes), status ("complete", "interrupted", "numerical",
    "unbounded"; the regions before `region` are kept), region (the one that stopped the run, else -1), message,
    seconds. callback and checkpoint_every as in region_facets (0: 2048); threads: workers over chunks of regions
    (the same result with any number)."""

def solve_lp(
    c: npt.ArrayLike, G: npt.ArrayLike, h: npt.ArrayLike, lb: npt.ArrayLike, ub: npt.ArrayLike
) -> Tuple[str, npt.NDArray[np.float64], float, int]:
    """Maximise c.y s.t. G y <= h, lb <= y <= ub: (status, y, value, iterations)."""

# Branch and bound on the ReLUs for certified holds (cpp/src/certify_bab.cpp).
def relu_node_bound(
    net: Network, lo: npt.ArrayLike, hi: npt.ArrayLike, fix: npt.ArrayLike, C: npt.ArrayLike, refine: bool = True,
    prior: Optional[Tuple[npt.ArrayLike, npt.ArrayLike]] = None,
) -> dict:
    """Rigorous bound of a node (box, signs fix (n_hidden,) int8 or empty; prior (l, u) proven on a superset of
    the node, intersected in): keys X (q, k+1), e (q,), l, u
    (n_hidden,), DL, DU (n_hidden, k+1), eDL, eDU (n_hidden,), empty (bool)."""

def bab_tighten_box(
    rows: npt.ArrayLike, erows: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike, passes: int = 2
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], bool]: ...
def bab_lp_box(
    rows: npt.ArrayLike, erows: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], bool]: ...
def bab_weighted_min(
    w: npt.ArrayLike, F: npt.ArrayLike, e: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike
) -> float: ...
def bab_check_node(
    lam: npt.ArrayLike, mu: npt.ArrayLike, obj: npt.ArrayLike, eobj: npt.ArrayLike, d: npt.ArrayLike,
    rows: npt.ArrayLike, erows: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike,
) -> float: ...
def bab_node_lp(
    obj: npt.ArrayLike, eobj: npt.ArrayLike, d: npt.ArrayLike, rows: npt.ArrayLike, erows: npt.ArrayLike,
    lo: npt.ArrayLike, hi: npt.ArrayLike,
) -> Tuple[float, float, bool]:
    """(LP value, proven lower bound of max_r (C_r y - d_r) or -inf, proven empty)."""

def relu_bab_certify(
    net: Network, lo: npt.ArrayLike, hi: npt.ArrayLike, terms: list, time_limit: float, max_nodes: int,
    refine: bool = ..., checkpoint_every: int = ..., split_unstable: int = ..., max_splits: int = ...,
    input_depth: int = ..., babsr: bool = ..., lp_box: bool = ..., rebound: int = ...,
    cheap_first: bool = ...,
) -> dict:
    """The search over boxes (B, k), GIL released: keys status (proven, unrefuted, time_limit, node_limit,
    interrupted), proven, nodes, lps, by_bound, empty, max_depth, splits, box_leaves, margin, value."""

#: relu_bab_certify's tuning defaults, BabOptions' (cpp/include/relutope/certify_bab.hpp): refine,
#: checkpoint_every, split_unstable, max_splits, input_depth, babsr, lp_box, rebound, cheap_first.
relu_bab_defaults: dict
