// Polyhedral geometry of activation regions: minimal H-representations (facets) and region adjacency.
//
// Facets. A region (an activation pattern with its Chebyshev centre) is the domain intersected with one row
// (f_s - f_p)(u) <= 0 per unit with K >= 2 pieces and per competing piece s (Network::region_rows). Most rows are
// redundant. The region's Chebyshev LP is re-solved; its k + 1 active rows bound a simplex that contains the
// region (their multipliers are positive and their normals sum to zero with those weights), and a row that holds
// at every vertex of that simplex cannot be a facet. Duplicate rows keep their first source (domain rows first,
// then units in global order). Each remaining row i gets one LP: the Chebyshev ball of the region's trace on the
// hyperplane g_i . u = h_i, i.e. maximise r subject to g_j . u + |g_j - (g_j . g_i) g_i| r <= h_j (j != i) and
// g_i . u = h_i. The row is a facet iff that radius exceeds tol, which proves the facet is (k-1)-dimensional and
// yields a point in its relative interior. A polytope with non-empty interior is the intersection of its
// facet-defining half-spaces (Ziegler, "Lectures on Polytopes", 1995, Sec. 2.1), so the facet rows are a minimal
// H-representation. Every LP is a Chebyshev-ball LP on the project's dense dual simplex (lp.hpp).
//
// Adjacency. Two regions are adjacent when they share a (k-1)-dimensional facet. Across a facet of unit u (layer
// l) the pattern changes at u (to the competing piece s); units of layers < l and the other units of layer l keep
// their pieces (their rows are strict on the facet's relative interior) unless their row is the same hyperplane,
// and later units keep theirs unless their pre-activation vanishes on the whole facet. The neighbour is looked up
// by the flipped pattern; when that region does not exist or does not contain the facet point, by the pattern
// just across the facet point (Network::pattern_across: a forward pass of values and slopes along the facet's
// normal, the limit of a step across that goes to zero, so no step length has to be chosen).
// A neighbour is accepted only when it contains the facet point (its facet rows hold within contain_tol): the
// regions of the partition are face-to-face across facets, so the region that contains points just across a
// facet's relative-interior point and that point itself is the unique neighbour across the facet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relutope/enumerate.hpp"
#include "relutope/network.hpp"

namespace relutope {

// A domain as the engine sees it: x = x0 + Q u (Q is in_dim x k row-major with orthonormal columns), u in
// {A u <= b} (A is m x k row-major; m may be 0). The pointers are borrowed.
struct DomainForm {
  int k = 0;
  int m = 0;
  const double* x0 = nullptr;
  const double* Q = nullptr;
  const double* A = nullptr;
  const double* b = nullptr;
};

enum class GeometryStatus : int { Complete = 0, Interrupted = 1, Numerical = 2 };
const char* geometry_status_name(GeometryStatus s);

struct FacetOptions {
  double tol = 1e-9;         // a facet exists when its Chebyshev ball within its hyperplane has radius > tol
  double radius_cap = 1.0;   // radii are capped here (unbounded regions and facets)
  int64_t checkpoint_every = 2048;
  int threads = 1;           // worker threads over chunks of regions (the same result with any number)
};

// Facets of R regions in CSR form: the facets of region r are entries offsets[r] .. offsets[r+1]-1.
struct FacetSet {
  int k = 0;
  std::vector<int64_t> offsets;  // R + 1
  std::vector<double> rows;      // F x k: unit outward normals g, the facet is on g . u = h
  std::vector<double> rhs;       // F: h
  std::vector<int64_t> unit;     // F: global unit index, or -1 - i for domain row i
  std::vector<int8_t> piece;     // F: the unit's piece across the facet (the competing piece s); -1 for domain rows
  std::vector<double> points;    // F x k: Chebyshev centre of the facet within its hyperplane
  std::vector<double> radii;     // F: the facet's Chebyshev radius (> tol; capped at radius_cap)
  // Other units whose row is the facet's hyperplane (coinciding hyperplanes, e.g. relu(z) and relu(-z)): D
  // entries, sorted by facet; across facet dup_facet[e] unit dup_unit[e] also changes, to piece dup_piece[e].
  std::vector<int64_t> dup_facet;
  std::vector<int64_t> dup_unit;
  std::vector<int8_t> dup_piece;
  // D: 1 when unit dup_unit[e]'s row, as composed in floating point, is exactly proportional to the facet's row
  // (the same hyperplane as far as floating point can tell); 0 when the two coincide only within the duplicate
  // tolerance (e.g. weights differing in the last bit): one hyperplane or two within rounding, not decided.
  std::vector<int8_t> dup_exact;
  int64_t rows_total = 0;        // rows composed over all regions (non-constant ones)
  int64_t candidates = 0;        // rows left after the cheap filters: one facet LP each
  int64_t lps = 0;
  int64_t lp_iterations = 0;
  GeometryStatus status = GeometryStatus::Complete;
  std::string message;
  double seconds = 0.0;
  int64_t regions() const { return static_cast<int64_t>(offsets.size()) - 1; }
};

// Minimal H-representations of R regions (patterns R x n_units; centers R x k: interior points in u, e.g. the
// Chebyshev centres of enumerate_regions). Regions are processed in order; `checkpoint(done)` is called every
// `checkpoint_every` regions and returning false stops the run (status Interrupted, the facets of the regions done
// so far are kept). Throws std::invalid_argument on bad sizes or patterns.
// With opt.threads > 1, workers take chunks of consecutive regions (each with its own LP state; a region's facets
// do not depend on the others'), and the chunks are concatenated in order: the same FacetSet as one thread. The
// calling thread calls the checkpoint, with the regions done in a row from the first (multiples of
// checkpoint_every, as on one thread); a stop keeps the chunks done in a row from the first.
FacetSet region_facets(const Network& net, const DomainForm& dom, const int8_t* patterns, const double* centers,
                       int64_t R, const FacetOptions& opt, const Checkpoint& checkpoint);

// A borrowed view of a FacetSet's arrays (e.g. numpy arrays handed back from Python).
struct FacetView {
  int k = 0;
  int64_t R = 0;
  const int64_t* offsets = nullptr;
  const double* rows = nullptr;
  const double* rhs = nullptr;
  const int64_t* unit = nullptr;
  const int8_t* piece = nullptr;
  const double* points = nullptr;
  const double* radii = nullptr;
  int64_t D = 0;  // coincident sources, as in FacetSet
  const int64_t* dup_facet = nullptr;
  const int64_t* dup_unit = nullptr;
  const int8_t* dup_piece = nullptr;
  const int8_t* dup_exact = nullptr;
};
FacetView view(const FacetSet& f);

struct AdjacencyOptions {
  double contain_tol = 1e-8;  // a region contains a point when every facet row holds within this
  double tol = 1e-9;          // the pattern across a facet decides ties within tol / 100 of the facet point by slope
  int64_t checkpoint_every = 16384;
  int threads = 1;            // worker threads over chunks of regions (the same result with any number)
};

struct Adjacency {
  std::vector<int64_t> edges;       // E x 2: adjacent regions i < j, sorted
  std::vector<int64_t> edge_facet;  // E: the facet (index into the facet arrays) shared by the pair, taken from
                                    // region i when i found j (else from region j)
  std::vector<int64_t> edge_unit;   // E: global index of the unit whose piece changes across the facet
  std::vector<int64_t> edge_layer;  // E: its layer
  std::vector<int64_t> edge_index;  // E: its index within the layer
  // U x 2: pairs i < j found across a facet with a coincident source only within rounding (FacetSet::dup_exact):
  // whether they share the facet is not decided in floating point; they are not in `edges`.
  std::vector<int64_t> undecided_edges;
  std::vector<int64_t> undecided_facet;  // U: the facet across which the pair was found undecided
  std::vector<int64_t> neighbor;    // F: the region across each facet; -1 for domain facets; -2 when none found
  std::vector<int8_t> found_by;     // F: 0 flipped pattern, 1 forward pass, -1 domain facet or not found
  std::vector<int8_t> undecided;    // F: 1 when the facet's neighbour is undecided (see undecided_edges)
  std::vector<int8_t> expected;     // F: 1 when the neighbour's pattern differs as expected (units before the
                                    // crossed unit's layer and its layer's other units equal, the unit at piece s,
                                    // except units whose row coincides with the facet's, at their own piece)
  int64_t forward_passes = 0;
  GeometryStatus status = GeometryStatus::Complete;
  double seconds = 0.0;
};

// Adjacency of R regions (patterns R x n_units, distinct) from their facets. Threads and checkpoints as in
// region_facets: the same result with any number of threads.
Adjacency region_adjacency(const Network& net, const DomainForm& dom, const int8_t* patterns, const FacetView& f,
                           const AdjacencyOptions& opt, const Checkpoint& checkpoint);

}  // namespace relutope
