// Linear relaxation bounds of a MASO network by back-substitution (CROWN: Zhang, Weng, Chen, Hsieh & Daniel,
// "Efficient Neural Network Robustness Certification with General Activation Functions", NeurIPS 2018; DeepPoly:
// Singh, Gehr, Pueschel & Vechev, "An Abstract Domain for Certifying Neural Networks", POPL 2019).
//
// The set is given by layer `start`'s pieces as affine functions of the coordinates u (exact on the set: on a
// cell of the enumeration, the pattern of the layers before `start` is fixed) and a box [lo, hi] in u that
// contains the set. Every unit of layers start.. is relaxed between two linear functions of its pieces:
//   K = 1            z = p0 (exact);
//   K = 2            z = max(p0, p1) = p0 + relu(p1 - p0); with l <= p1 - p0 <= u on the set: stable when l >= 0
//                    (z = p1) or u <= 0 (z = p0), else p0 + a (p1 - p0) <= z <= p0 + u (p1 - p0 - l) / (u - l)
//                    with a = 1 when u > -l, else 0 (CROWN's adaptive lower slope; ReLU is p0 = 0);
//   K > 2            p_j <= z <= max_i U_i, j the piece with the largest lower bound (a max-pooling unit).
// Pre-activation bounds of each layer come from back-substituting the layer's piece differences to u through
// the relaxations of the layers before it and minimising over the box; the objectives' linear bounds are
// returned as affine functions of u, to be minimised over the box or, by one LP, over the cell itself.
//
// Bounds of an ancestor set (a superset: the parent cell) stay valid on the set: pass them as `prior` and they
// are intersected with the new ones; units they prove stable are not back-substituted again.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "relutope/network.hpp"

namespace relutope {

// Bounds of the relaxed quantities of layers start..L-1: for a unit with K = 2 pieces the slot of its piece 1
// holds the bounds of p1 - p0; for K > 2 every piece's slot holds that piece's bounds; K = 1 slots are unused.
struct LayerBounds {
  std::vector<std::vector<double>> lo, hi;  // per layer (all L layers; layers before start empty): P entries
  bool valid = false;
};

class Relaxation {
 public:
  explicit Relaxation(const Network* net = nullptr) : net_(net) {}
  void reset(const Network* net) {
    net_ = net;
    cache_.clear();  // the relaxations cached are another network's
  }
  const Network* network() const { return net_; }

  // How bound_layers() bounds the pre-activations. Forward carries a lower and an upper affine function of u
  // through the layers (symbolic interval propagation as in Neurify: Wang, Pei, Whitehouse, Yang & Jana, NeurIPS
  // 2018; DeepPoly's bounds without back-substitution): O(L) layer products. Backward (the default) then
  // back-substitutes, layer by layer, every quantity the forward bounds leave unstable to u (CROWN's intermediate
  // bounds: O(l) layer products each) and keeps the tighter bound; from two layers after start on (on the layer
  // after start both are the same relaxation of layer start's exact pieces). The objectives of lower_linear() are always
  // back-substituted.
  enum class Mode { Backward, Forward };
  Mode mode = Mode::Backward;

  // Optional: a lower bound of the minimum of an affine function g (k+1 entries) over the set itself, tighter than
  // its minimum over the box (e.g. one LP over a cell of the enumeration). When set, bound_layers() applies it to
  // both sides of every two-piece quantity that the box leaves unstable (0 inside its bounds), layer by layer, so
  // that the tightened bounds enter the relaxation of the layers after it (the LP-tightened intermediate bounds of
  // planet / ERAN's refinement: Ehlers, ATVA 2017; Singh et al., ICLR 2019). It returns false when it cannot (the
  // box bound stays). What it returns must be a lower bound of the true minimum (the caller's rounding slack
  // included); its results are intersected with the box's.
  std::function<bool(const double* g, double& min)> set_min;

  // Compute the pre-activation bounds of layers start..L-1 over the set (see above) into `out`, intersected with
  // `prior` when it is valid (prior may be &out's previous value of an ancestor; it may alias nothing else).
  // pieces: layer start's pieces, P_start x (k+1) in u. lo, hi: k entries.
  void bound_layers(int start, int k, const double* pieces, const double* lo, const double* hi,
                    const LayerBounds* prior, LayerBounds& out);

  // Linear lower bounds of q objectives C z_{L-1} + d (C: q x out_dim): G (q x (k+1)) with
  // C_i y + d_i >= G_i[:k] . u + G_i[k] on the set, using the relaxations of `bounds` (from bound_layers with the
  // same start, pieces and box).
  void lower_linear(int start, int k, const double* pieces, const LayerBounds& bounds, int q, const double* C,
                    const double* d, std::vector<double>& G);

  // When set, bound_layers() keeps the slopes in u of every two-piece quantity's affine bounds and lower_linear()
  // the coefficients of its rows on every unit, for input_looseness(). Off by default (it costs a little).
  bool attribute = false;

  // The looseness of the last lower_linear() call's bounds, by input, added to score (k entries): for choosing
  // the input along which to split the box [lo, hi] (with `attribute` set for both calls, the same bounds). A
  // two-piece unit that `bounds` leave unstable (l < 0 < u on its quantity d) is relaxed with a gap of at most
  // u (-l) / (u - l) on its upper side and min(u, -l) on its lower side (at the kink, d = 0; unit_relaxation),
  // and costs a row whose coefficient on the unit is m at most |m| times the gap on the side that m's sign uses
  // (the ReLU score of BaBSR: Bunel, Lu, Turkaslan, Torr, Kohli & Kumar, "Branch and Bound for Piecewise Linear
  // Neural Network Verification", JMLR 2020, section 5.1, there from the intercepts alone). That cost is shared
  // among the inputs by each one's part of the unit's range over the box, |slope_j| (hi_j - lo_j) of d's affine
  // bounds (the mean of the lower's and the upper's), so that splitting the inputs of the largest scores narrows
  // the ranges of the units that cost the bound most.
  void input_looseness(int start, int k, const LayerBounds& bounds, const double* lo, const double* hi,
                       double* score) const;

  // The lower relaxations of the two-piece units that are unstable, by the unit's state at the point u (k entries;
  // layer start's pieces as in bound_layers): slope 1 where its quantity is positive at u, else 0, in place of
  // CROWN's adaptive choice, for the lower_linear() calls that follow, until clear_point_slopes(). Any slope in
  // [0, 1] gives a valid lower bound (Zhang et al. 2018, section 3.2); these make the lower side exact at u, so
  // that a bound whose minimiser is u is tight there (alpha-CROWN's optimised slopes, Xu et al., ICLR 2021,
  // guessed at one point).
  // y, when given: the network's output at u (out_dim entries; the forward pass that chose the slopes, as
  // forward_from's).
  void point_slopes(int start, int k, const double* pieces, const double* u, std::vector<double>* y = nullptr);
  void clear_point_slopes() { point_slopes_.clear(); }

  // Minimum of the affine function g (k+1 entries) over the box.
  static double box_min(const double* g, int k, const double* lo, const double* hi);

  // Intersect b's bounds of layer `start`'s quantities with their exact ranges over the box [lo, hi] (layer
  // start's pieces are affine in u: pieces, P_start x (k+1)); b then bounds a set with layer start's pieces as
  // its own, e.g. a child cell given its parent's bounds (computed from layer start - 1) and the parent's box.
  void tighten_start(int start, int k, const double* pieces, const double* lo, const double* hi,
                     LayerBounds& b) const;

 private:
  const Network* net_;
  // Scratch for the back-substitution: coefficients on the live pieces of a layer (Layer::live), rows x nlive_l, and
  // on its units, rows x n_units.
  std::vector<double> lam_, mu_, next_;
  // Scratch: the relaxations of one layer's units (unit_relaxation): coefficients per live piece (2 x nlive: the
  // lower side's, then the upper side's) and constants per unit (2 x n_units, likewise); one unit's coefficients.
  std::vector<double> ra_, rb_, rk_;
  // relaxations()'s cache, per layer: the bounds its relaxations were made from (2 P: lower, upper) and them (ra,
  // rb as ra_, rb_); cur_ra_, cur_rb_: the arrays of the last relaxations() call (ra_ / rb_ or a cached layer's).
  // used_: the live pieces a block of rows uses (rows_times).
  struct CachedLayer {
    std::vector<double> key, ra, rb;
  };
  std::vector<CachedLayer> cache_;
  const double *cur_ra_ = nullptr, *cur_rb_ = nullptr;
  std::vector<int> used_;
  // Scratch of forward_layers (see there).
  std::vector<double> fp_, fq_, fz_, nlo_, nhi_, dw_, g_;
  std::vector<int> live_out_;
  // With `attribute`: per layer, the mean |slope| in u of each two-piece quantity's affine bounds (P x k, the
  // slots of the quantities), and the last lower_linear() rows' coefficients on the layer's units (q x n_units).
  std::vector<std::vector<double>> slopes_, unit_weights_;
  // point_slopes(): per layer, the lower slope of each unit (1 or 0; empty: CROWN's choice).
  std::vector<std::vector<int8_t>> point_slopes_;

  void forward_layers(int start, int k, const double* pieces, const double* lo, const double* hi,
                      const LayerBounds* prior, LayerBounds& out);
  void refine(int l, int start, int k, const double* pieces, const double* lo, const double* hi,
              const LayerBounds& out, std::vector<double>& nlo, std::vector<double>& nhi);
  // lo, hi of a quantity with affine lower bounds `lower` of it and `neg_upper` of its negation: intersected with
  // set_min's bounds when they straddle 0.
  void tighten_on_set(const double* lower, const double* neg_upper, double& lo, double& hi);
  // Back-substitute `rows` linear functions given by coefficients lam (rows x nlive_l) on the live pieces of layer
  // l (plus constants cst, rows) down to affine functions of u (rows x (k+1), into G): a lower bound of each.
  // mu_ready: the first product (mu_ = lam A_l, and its constants in cst) made by the caller; lam is not read.
  // keep_weights: the rows' coefficients on the units of each layer passed are kept in unit_weights_.
  void backsub(int l, int start, int k, const double* pieces, const LayerBounds& bounds, int rows,
               std::vector<double>& lam, std::vector<double>& cst, std::vector<double>& G, bool mu_ready = false,
               bool keep_weights = false);
  // ra_, rb_ for layer L with bounds blo, bhi (LayerBounds convention), into cur_ra_, cur_rb_: from the cache when
  // the layer's bounds are those it was last made from, to the bit (without point_slopes_, which bypass it). A
  // back-substitution passes every layer below its start: forward_layers' refinement would make each layer's
  // relaxations once per layer above it.
  void relaxations(const Layer& L, const double* blo, const double* bhi);
  // point_slopes_'s lower slope of unit i of layer L (-1: none).
  int point_slope(const Layer& L, int i) const;
};

// The network's output at u, starting from layer start's pieces as affine functions of u (P_start x (k+1)):
// an exact forward pass for points where those pieces are the network's. y gets out_dim entries.
void forward_from(const Network& net, int start, int k, const double* pieces, const double* u, std::vector<double>& z,
                  std::vector<double>& y);

}  // namespace relutope
