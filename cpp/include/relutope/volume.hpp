// Vertices, volumes and boundary measures of bounded convex polytopes given by irredundant facet rows (the minimal
// H-representations of geometry.hpp), region by region, on worker threads.
//
// Vertices. A region P = {u : g_i . u <= h_i} with an interior point c (its Chebyshev centre) is moved to c and
// scaled by its largest facet distance s, so that P' = {y : g_i . y <= h'_i}, 0 < h'_i <= 1. Its vertices are the
// extreme rays (w, t), t > 0, of the homogenised cone {(y, t) : g_i . y - h'_i t <= 0, t >= 0}, found by the double
// description method (Motzkin, Raiffa, Thompson & Thrall, 1953; Fukuda & Prodon, "Double description method
// revisited", 1996): start from the simplicial cone of k + 1 linearly independent rows, add the other rows one at a
// time, and join a ray strictly outside a row to a ray strictly inside it when the two are adjacent, by the
// combinatorial test (no third ray is tight at every row tight at both, and they share at least k - 1). The test
// uses only incidences, so it holds for polytopes that are not simple (several facets through a vertex). A ray
// (unit length) is on a row when |g . w - h' t| <= kVolumeEps * (the magnitude of the terms + 1, the ray's own
// rounding) + kVolumeEps * (the magnitudes of the region's original coordinates, in units of s) * t: a relative
// test, so the result does not depend on the region's scale or position. Vertices closer than 100 times that
// tolerance are merged. A ray with t ~ 0 left at the end is a direction of recession: the region is unbounded.
//
// Volumes. By the recursive facet (cone) decomposition of Lasserre ("An analytical expression and an algorithm
// for the volume of a convex polyhedron in R^n", JOTA 1983), as in Büeler, Enge & Fukuda ("Exact volume
// computation for polytopes: a practical study", 2000): vol_j(F) = (1/j) sum_G dist(p, aff G) vol_{j-1}(G) over the
// facets G of a j-face F, with p the centroid of F's vertices, down to the lengths of edges. The facets of a face
// are the vertex sets cut out of it by the rows (deduplicated, a subset of another dropped) whose affine hull has
// dimension j - 1 (pivoted Gram-Schmidt). Lower-dimensional intersections (a row touching the face at a vertex or
// an edge) contribute nothing, so degenerate vertices need no special case. The boundary measure (surface) is the
// sum of the facets' (k-1)-volumes; the facets' outward normals weighted by their measures must sum to zero
// (Minkowski), which is checked: a region whose vertex set is not consistent with its rows is reported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relutope/enumerate.hpp"  // Checkpoint

namespace relutope {

// Relative epsilon of the kernel's incidence tests (see above).
constexpr double kVolumeEps = 1e-11;

enum class VolumeStatus : int { Complete = 0, Interrupted = 1, Numerical = 2, Unbounded = 3 };
const char* volume_status_name(VolumeStatus s);

struct VolumeOptions {
  int threads = 1;                 // worker threads over chunks of regions (the same result with any number)
  int64_t checkpoint_every = 2048;
  bool vertices = true;            // also return the vertices
};

// Per region r: vertices vertex_offsets[r] .. vertex_offsets[r+1]-1 (rows of `vertices`, V x k), its k-volume and
// the (k-1)-volume of its boundary (for k = 1: 2, the two end points). For k = 1 the vertices are the interval's
// ends, lower first; for k = 2 counter-clockwise; otherwise in the order found.
struct PolytopeMeasures {
  int k = 0;
  std::vector<int64_t> vertex_offsets;  // R_done + 1 (only {0} when opt.vertices is false)
  std::vector<double> vertices;         // V x k
  std::vector<double> volume;           // R_done
  std::vector<double> surface;          // R_done
  VolumeStatus status = VolumeStatus::Complete;
  int64_t failed_region = -1;           // the region that stopped the run (Numerical, Unbounded)
  std::string message;
  double seconds = 0.0;
  int64_t regions() const { return static_cast<int64_t>(volume.size()); }
};

// Measures of R regions of dimension k (1 <= k <= 16): region r has the rows offsets[r] .. offsets[r+1]-1 of
// rows (F x k, row-major) and rhs (F), {u : rows u <= rhs}, and the interior point centers[r] (R x k). Regions are
// done in order (chunks of consecutive regions on opt.threads workers, concatenated in order: the same result as one
// thread); the checkpoint is called with the regions done every opt.checkpoint_every regions, false stops the run
// (Interrupted). A region that is unbounded, or where the kernel cannot decide (centre not strictly inside, rows
// not full rank, an inconsistent vertex set), stops the run with the regions before it kept. Throws
// std::invalid_argument on bad sizes.
PolytopeMeasures polytope_measures(int k, int64_t R, const int64_t* offsets, const double* rows, const double* rhs,
                                   const double* centers, const VolumeOptions& opt, const Checkpoint& checkpoint);

}  // namespace relutope
