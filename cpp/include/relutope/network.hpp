// A piecewise-affine network as a composition of max-affine spline operators (MASOs).
//
// Unit k of a layer computes max_r (A[p_k + r] . x + c[p_k + r]) over its K_k >= 1 affine pieces
// (Balestriero & Baraniuk, "A Spline Theory of Deep Networks", ICML 2018). ReLU is the pair of pieces {0, z},
// leaky ReLU {alpha z, z}, absolute value {-z, z}, a linear unit the single piece {z}, max-pooling K pieces.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "relutope/patterns.hpp"

namespace relutope {

struct Layer {
  int in_dim = 0;
  int n_units = 0;
  std::vector<int> piece_start;  // n_units + 1 offsets into the piece rows
  std::vector<double> A;         // P x in_dim, row-major
  std::vector<double> c;         // P
  // Filled by Network's constructor:
  std::vector<char> zero_piece;  // P: the piece is identically zero (a ReLU's inactive piece)
  std::vector<int> live;         // the pieces that are not identically zero, increasing
  std::vector<int> live_unit;    // the unit of each of those
  bool live_is_units = false;    // live_unit[t] == t for every unit (one live piece each: ReLU, linear units)
  int live_stride = 0;           // live.size() rounded up to a multiple of 16
  std::vector<double> live_T;    // in_dim x live_stride, row-major: those pieces' rows of A as columns (0 after)
  std::vector<double> live_c;    // live_stride: their constants (0 after)

  int n_pieces(int unit) const { return piece_start[unit + 1] - piece_start[unit]; }
  int total_pieces() const { return piece_start.back(); }
};

// Piece p of layer L as an affine function of the network input, given the layer's input M x + m:
// out = A[p] M (d entries), off = A[p] . m + c[p].
void piece_in_x(const Layer& L, int p, const std::vector<double>& M, const std::vector<double>& m, int d,
                double* out, double* off);

// The layer's pieces at its input h (in_dim entries): v[p] = c[p] + sum_j A[p][j] h[j] (P entries), each sum from
// c[p] in the order j = 0, 1, ..., the terms with h[j] = 0 skipped, so the same to the bit as one piece at a time
// (up to the sign of a sum that is zero); c[p] for identically zero pieces. L must be a layer of a Network (its
// live_T): the sums of 16 live pieces at a time side by side in registers, over the inputs that are not 0 (a
// ReLU layer leaves about half at 0), vectorised.
void piece_values(const Layer& L, const double* h, double* v);

class Network {
 public:
  // Build from layers; throws std::invalid_argument when they do not fit together.
  explicit Network(std::vector<Layer> layers);

  const std::vector<Layer>& layers() const { return layers_; }
  int in_dim() const { return layers_.front().in_dim; }
  int out_dim() const { return layers_.back().n_units; }
  int n_units() const { return n_units_; }
  int max_pieces() const { return max_pieces_; }
  // Index of the first unit of layer l in a global activation pattern.
  int unit_offset(int l) const { return unit_offset_[l]; }
  // The packed form of this network's activation patterns (patterns.hpp): ceil(log2 K) bits per unit.
  const PatternLayout& pattern_layout() const { return layout_; }

  // Local affine map y = A_Q x + b_Q of an activation pattern (n_units entries); A_Q is out_dim x in_dim
  // row-major. Throws std::invalid_argument for a piece index a unit does not have.
  void local_affine_map(const int8_t* pattern, double* A_out, double* b_out) const;

  // H-representation (in input coordinates) of the closed activation region of a pattern: for every unit with
  // K >= 2 pieces and every piece s other than the chosen piece p, the row (f_s - f_p)(x) <= 0. Rows are
  // appended to G (row-major, in_dim columns) and h; returns the number of rows written.
  int region_halfspaces(const int8_t* pattern, std::vector<double>& G, std::vector<double>& h) const;

  // The rows of region_halfspaces in the coordinates u of an affine embedding x = x0 + Q u (Q is in_dim x k,
  // row-major): G (k columns) and h with G u <= h, not normalised, appended. Each row is labelled with its unit
  // (global index) in `unit` and the competing piece s in `piece`. Returns the number of rows written.
  int region_rows(const int8_t* pattern, const double* x0, const double* Q, int k, std::vector<double>& G,
                  std::vector<double>& h, std::vector<int>& unit, std::vector<int8_t>& piece) const;

  // The activation pattern just past x in direction dx: the pattern of x + t dx for t -> 0+ (a forward pass of
  // values and of their slopes along dx). Two pieces are compared by value, unless the line x + t dx meets the
  // hyperplane where they tie within |t| <= tau (a value difference within tau times the slope difference, i.e.
  // the tie is at x up to rounding): then by slope, and equal slopes go to the lower index. With dx = 0 and tau = 0
  // it is the plain forward pass (largest piece, ties to the lowest index, as numpy.argmax).
  void pattern_across(const double* x, const double* dx, double tau, int8_t* pattern) const;

  // The witness check of an enumeration: for each of the R points x = x0 + Q u (u: rows of `u`, k each; Q is
  // in_dim x k, row-major), whether the plain forward pass (largest piece, ties to the lowest index) chooses the
  // packed pattern's piece at every unit: agree[r] = 1, else 0 (2: the row names a piece its unit does not have).
  // Layer 0 is evaluated as (A0 Q) u + (A0 x0 + c0), so
  // that a wide input costs k multiply-adds per piece. `threads` workers over chunks of rows.
  void witnesses_agree(const double* x0, const double* Q, int k, const double* u, const uint8_t* packed, int64_t R,
                       int threads, uint8_t* agree) const;

 private:
  // Walk the layers under a pattern: visit(l, M, m) sees layer l's input as the affine function M x + m
  // (M is in_dim(l) x d row-major).
  template <typename Visit>
  void walk(const int8_t* pattern, Visit&& visit) const;

  std::vector<Layer> layers_;
  std::vector<int> unit_offset_;
  int n_units_ = 0;
  int max_pieces_ = 1;
  PatternLayout layout_;
};

}  // namespace relutope
