// Exact queries answered region by region during enumeration: output bounds and safety properties.
//
// On each activation region the network is affine, so the maximum of a linear function of the output over the
// region is one LP, and whether the region meets an unsafe output set {C y <= d} is one Chebyshev LP. Before a
// layer is inserted into a cell, the cell's bounding box (2k LPs) and interval bound propagation through the
// remaining layers (Gowal et al., "On the Effectiveness of Interval Bound Propagation", 2018) can prove that no
// region of the cell matters; the cell is then pruned without being enumerated.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relutope/enumerate.hpp"

namespace relutope {

// Interval bounds of the network's outputs over a cell: the cell's bounding box in u (by LPs), the interval of
// each piece of the cell's current layer, then interval propagation through the remaining layers.
// Returns false if an LP failed. lo/hi get out_dim entries.
bool cell_output_intervals(const CellView& v, LPBasis& scratch, std::vector<double>& lo, std::vector<double>& hi);

// A recession direction of the cell along which g.u grows: maximise g.ray over {a_i.ray <= 0 for every row of
// the cell, -1 <= ray_j <= 1} (solve_lp). Returns false unless the maximum is positive; ray gets k entries.
bool recession_ray(const CellView& v, const double* g, std::vector<double>& ray);

// Exact min and max of every row of C y + d over the domain (C: q x out_dim). On an unbounded region (a domain
// such as WholeSpace) a row can be unbounded: its max is +inf (min -inf), argmax is the region's Chebyshev centre
// and ray_max a recession direction of the region along which the row grows (g.ray > 0, every row of the
// region's H-representation has a.ray <= 0), found by recession_ray(); rows already unbounded are not solved
// again.
class OutputBoundsVisitor : public RegionVisitor {
 public:
  OutputBoundsVisitor(int q, int out_dim, const double* C, const double* d, int k, bool prune);
  bool prune(const CellView& v) override;
  bool leaf(const CellView& v) override;
  // Threads: a copy per worker; merge() keeps the larger max and smaller min (with their points and rays).
  std::unique_ptr<RegionVisitor> clone() const override;
  void merge(const RegionVisitor& other) override;

  std::vector<double> max_value, min_value;  // q
  std::vector<double> argmax, argmin;        // q x k, in u
  std::vector<double> ray_max, ray_min;      // q x k, in u: zero for bounded rows
  bool failed = false;
  std::string message;                       // why, when failed

 private:
  int q_, m_, k_;
  std::vector<double> C_, d_;
  bool prune_;
  LPBasis scratch_;
  std::vector<double> map_, g_, lo_, hi_, point_, ray_;
};

// A property "unsafe if C_t y <= d_t for some term t" (each term a conjunction of rows). leaf() looks for an
// input of the region in the unsafe set (the Chebyshev centre of region and term, so it is interior when it
// can be); the first one found stops the run when stop_at_first.
class PropertyVisitor : public RegionVisitor {
 public:
  struct Term {
    int rows;
    std::vector<double> C, d;  // rows x out_dim, rows
  };
  PropertyVisitor(std::vector<Term> terms, int out_dim, int k, bool prune, bool stop_at_first);
  bool prune(const CellView& v) override;
  bool leaf(const CellView& v) override;
  // Threads: a copy per worker; merge() keeps a counterexample of largest margin (and any failure).
  std::unique_ptr<RegionVisitor> clone() const override;
  void merge(const RegionVisitor& other) override;

  bool violated = false;
  bool failed = false;
  std::string message;                  // why, when failed
  std::vector<double> counterexample;  // k, in u
  int term = -1;
  double margin = 0.0;                  // Chebyshev radius of region and unsafe set at the counterexample

 private:
  std::vector<Term> terms_;
  int m_, k_;
  bool prune_, stop_;
  LPBasis scratch_;
  std::vector<double> map_, G_, h_, lo_, hi_, centre_;
};

}  // namespace relutope
