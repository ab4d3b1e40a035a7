// Exact enumeration of the activation regions of a MASO network over a polyhedral domain.
//
// Algorithm: an incremental hyperplane arrangement, layer by layer, depth first. On a cell of the partition
// induced by layers 0..l-1 the pre-activations of layer l are affine functions of the domain coordinates u; each
// unit's hyperplane (for K = 2) or argmax cells (K > 2) are inserted into the cell, deciding with Chebyshev-ball LPs
// whether a side holds a ball of radius > tol. Cheap tests on the cell's Chebyshev ball come first: a hyperplane
// that cuts the ball deeply splits the cell without a decision LP, and a child that keeps the parent's ball keeps
// its Chebyshev centre and radius without an LP. Units stable on a layer's cell are detected once per cell.
// (Hyperplane arrangements by incremental insertion: Edelsbrunner, "Algorithms in Combinatorial Geometry", 1987;
// the layer-by-layer refinement of activation regions: Serra, Tjandraatmadja & Ramalingam, ICML 2018; Hanin &
// Rolnick, NeurIPS 2019.)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "relutope/network.hpp"

namespace relutope {

struct EnumOptions {
  double tol = 1e-9;         // a region exists when it holds a ball of this radius (domain units)
  double sliver = 1e-13;     // a side thinner than this is treated as empty: no constraint row is kept for it
  double radius_cap = 1.0;   // radii are capped here (needed for unbounded domains)
  int64_t max_regions = -1;  // < 0: no limit
  double time_limit = -1.0;  // seconds; < 0: no limit
  int64_t checkpoint_every = 4096;
};

enum class EnumStatus : int { Complete = 0, MaxRegions = 1, TimeLimit = 2, Interrupted = 3, Numerical = 4 };
const char* enum_status_name(EnumStatus s);

struct EnumResult {
  int k = 0;                        // domain (engine) coordinates
  int n_units = 0;
  std::vector<int8_t> patterns;     // R x n_units
  std::vector<double> centers;      // R x k: Chebyshev centres in engine coordinates u
  std::vector<double> radii;        // R
  std::vector<int64_t> layer_counts;  // cells after layers 0..l
  int64_t lps = 0;
  int64_t lp_iterations = 0;
  EnumStatus status = EnumStatus::Complete;
  double seconds = 0.0;
  std::string message;
  int64_t regions() const { return static_cast<int64_t>(radii.size()); }
};

// Called every `checkpoint_every` regions with the count so far; returning false stops the run (Interrupted).
using Checkpoint = std::function<bool(int64_t)>;

// Enumerate the regions of `net` on the domain {u in R^k : Adom u <= bdom} embedded as x = x0 + Q u (Q is
// in_dim x k, row-major). `u0` (k) is a point near the middle of the domain used to start the first LP.
EnumResult enumerate_regions(const Network& net, const double* x0, const double* Q, int k, const double* Adom,
                             const double* bdom, int mdom, const double* u0, const EnumOptions& opt,
                             const Checkpoint& checkpoint);

}  // namespace relutope
