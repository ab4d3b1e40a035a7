// The low-dimensional fast path: activation regions of a MASO network on a bounded domain of intrinsic dimension
// k (meant for k = 3..6; any k >= 1 works) kept as exact convex polytopes in a double-description form, with LPs
// only for the Chebyshev balls of the regions.
//
// Same scheme and the same region semantics as enumerate.hpp and polygon2d.hpp: layer by layer, depth first; on a
// cell of the partition induced by layers 0..l-1 the pieces of layer l are affine in the domain coordinates u, and
// each unit's hyperplane (K = 2) or argmax cells (K > 2: the cell clipped by the K-1 half-spaces of each piece) are
// inserted into the cell. A cell is its list of vertices, each with the set of constraints (domain rows and cuts
// along the search path) tight at it, as a bitset. A hyperplane splits a cell by the signs of its vertices,
// classified with a relative epsilon (kSideEps, as in polygon2d.hpp) so that a hyperplane through a vertex, along a
// face or through a point where other hyperplanes meet creates no spurious sliver; the new vertices lie on the cut
// edges. Two vertices v, w of a k-polytope are the ends of an edge iff no third vertex is tight at every
// constraint tight at both (the combinatorial adjacency test of the double description method: Fukuda & Prodon,
// "Double description method revisited", 1996), with at least k - 1 shared constraints as a quick
// filter. The test uses only incidences, so it holds for polytopes that are not simple (several hyperplanes
// through a vertex, hyperplanes through the domain's vertices, duplicate units) where counting facets does not.
// (The double description method: Motzkin, Raiffa, Thompson & Thrall, 1953.)
//
// A region exists when it holds a ball of radius > tol. A part of a split whose vertices all lie within 2 tol of
// the cut holds none (a ball of radius r has width 2r in every direction) and is dropped; at the end of a layer a
// cell is kept when the ball at its vertex centroid, of radius its least distance to a facet, is wider than tol,
// else by its exact Chebyshev LP; every final region gets its Chebyshev ball from an LP over its facets (the
// constraints tight at one of its vertices) with the project's dual simplex (lp.hpp). The witness is the
// Chebyshev centre.
//
// Threads (EnumOptions::threads > 1): the workers share the depth-first search by on-demand work splitting, as the
// LP path does (enumerate.hpp): one worker starts from the domain; a worker whose stack holds a pending subtree (a
// split's second part, the next unit of a cell, the remaining pieces of a K > 2 unit) and sees an idle worker
// hands the shallowest one over as a job, a snapshot of what that subtree reads (its cell's vertices and
// incidences, the rows of the constraints so far, the layer's pieces and unstable units, the pattern), leaving a
// marker in its own stack. Each worker appends its regions to its own store; a job's output is a list of ranges of
// that store and markers, concatenated at the end in the one-thread order, so a complete run gives the one-thread
// result bit for bit (every LP starts from a fresh basis at its cell's vertex centroid). (Rao & Kumar, "Parallel
// depth first search. Part I", International Journal of Parallel Programming 16(6), 1987.)
#pragma once

#include <cstdint>
#include <vector>

#include "relutope/enumerate.hpp"
#include "relutope/network.hpp"
#include "relutope/patterns.hpp"

namespace relutope {

// Wall-clock and CPU seconds of the phases of a run (a profile). serial: the calling thread's set-up before the
// workers start; parallel: the search, on worker threads from the first start to the last join (cpu: summed over
// the workers' own clocks), or the whole run on one thread; join: the workers' outputs concatenated.
struct PolytopePhases {
  double serial_wall = 0.0, serial_cpu = 0.0;
  double parallel_wall = 0.0, parallel_cpu = 0.0;
  double join_wall = 0.0, join_cpu = 0.0;
};

struct PolytopeEnumResult {
  EnumResult base;           // patterns, centers, radii, layer_counts, lps (= Chebyshev LPs), status...
  int64_t splits = 0;        // hyperplanes that cut a cell in two
  int64_t max_vertices = 0;  // the most vertices a cell had
  PolytopePhases phases;     // the profile of the run
};

// Enumerate the regions of `net` on the bounded domain {u in R^k : Adom u <= bdom} embedded as x = x0 + Q u (Q is
// in_dim x k, row-major). Options as in enumerate_regions (radius_cap caps the Chebyshev radii; sliver is unused).
// Throws std::invalid_argument for an unbounded domain or bad options.
PolytopeEnumResult enumerate_polytopes(const Network& net, const double* x0, const double* Q, int k,
                                       const double* Adom, const double* bdom, int mdom, const EnumOptions& opt,
                                       const Checkpoint& checkpoint);

}  // namespace relutope
