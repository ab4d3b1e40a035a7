// Certified `holds` by branch and bound on the ReLUs: each node's rigorous bound, its box tightening, its LP and
// the weak-duality check of the LP's multipliers, and the search loop (verdict_certificates.certify_holds).
//
// A node is an input box and a sign imposed on some ReLUs (z >= 0 or z <= 0). Its bound is symbolic interval
// propagation (Wang et al., "Efficient Formal Safety Analysis of Neural Networks", NeurIPS 2018) with the imposed
// signs clipping the units' bounds, CROWN back-substitution of the unstable units' bounds and of the objectives
// (Zhang et al., NeurIPS 2018), every rounding error bounded a priori (Higham, "Accuracy and Stability of
// Numerical Algorithms", 2002, Section 3.1: gamma_n, valid for any summation order and with fused multiply-adds),
// so that C_r y >= X_r . (x, 1) - e_r holds on the node for the exact real network, the product taken exactly.
// The LP (our dense dual simplex, lp.hpp) gives multipliers; any non-negative multipliers give a lower bound by
// weak duality, evaluated with its rounding bounded (Neumaier & Shcherbina, "Safe bounds in linear and
// mixed-integer linear programming", Math. Programming 99, 2004), so the LP itself is not trusted.
// This file is compiled with -ffp-contract=off (CMakeLists.txt): the bounds also hold with FMAs, but the
// nextafter-rounded steps are written for separately rounded operations.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "relutope/network.hpp"

namespace relutope {

// The rigorous bound of one node (all of these for the exact real network, float weights taken exactly).
struct NodeBound {
  int k = 0;                        // inputs
  int q = 0;                        // objective rows
  std::vector<double> X, e;         // q x (k+1), q: C_r y >= X_r . (x, 1) - e_r on the node
  std::vector<double> l, u;         // hidden units: proven pre-activation bounds on the node (signs imposed)
  std::vector<double> DL, eDL;      // hidden units x (k+1), hidden units: z >= DL . (x, 1) - eDL on the node
  std::vector<double> DU, eDU;      //                                     z <= DU . (x, 1) + eDU
  bool empty = false;               // an imposed sign contradicts a proven bound: the node holds no input
  std::vector<double> score;        // q x hidden units: what row r's bound pays for unit i's upper relaxation
};

// Whether every layer but the last is a ReLU layer (pieces 0 and W x + b, in that order) and the last is affine.
bool relu_structure(const Network& net);

// The bound of the node [lo, hi] with signs `fix` (one int8 per hidden unit: +1 z >= 0, -1 z <= 0, 0 free; null:
// all free) of the q rows C (q x out_dim, row-major). `refine`: CROWN back-substitution of the intermediate
// bounds of unstable units (tighter, about 10x the cost). Throws std::invalid_argument when !relu_structure(net).
// pl, pu (hidden units each, or null): bounds of the units proven on a superset of the node, intersected in.
void relu_node_bound(const Network& net, const double* lo, const double* hi, const int8_t* fix, int q,
                     const double* C, bool refine, NodeBound& out, const double* pl = nullptr,
                     const double* pu = nullptr);

// A rigorous lower bound over the box [lo, hi] (k entries) of sum_p w_p (F_p . (x, 1) - e_p), w >= 0 (p entries),
// F (p x (k+1), row-major), e (p).
double weighted_min(int p, int k, const double* w, const double* F, const double* e, const double* lo,
                    const double* hi);

// Shrink [lo, hi] (in place) to a box still holding every point of it with rows_j . (x, 1) - erows_j <= 0 (p rows
// of k+1 entries): interval reasoning on each row, every sum rounded outwards. Returns true when the set is proven
// empty (a bound crosses).
bool tighten_box(int p, int k, const double* rows, const double* erows, double* lo, double* hi, int passes = 2);

// Shrink [lo, hi] (in place) by LPs: for each input j, min and max x_j s.t. rows_i . (x, 1) <= 0 and the box (the
// node's bounding box, the LP of verify.cpp's CellRelaxation::lp_box), each proven by its multipliers mu: x_j >=
// (rigorous min over the box of x_j + sum_i mu_i (rows_i . (x, 1) - erows_i)) holds on every point of the node
// (weak duality with the rounding bounded, Neumaier & Shcherbina 2004), so the LP is not trusted. Returns true
// when the set is proven empty (a bound crosses); `lps` (may be null) counts the LPs.
bool lp_box(int p, int k, const double* rows, const double* erows, double* lo, double* hi, int64_t* lps = nullptr);

// The check of a node's certificate: multipliers lam (q) of the objective rows obj (q x (k+1)) with errors eobj
// (C_r y >= obj_r . (x, 1) - eobj_r) and thresholds d (rounded up), mu (p) of the node's rows (rows_j . (x, 1) -
// erows_j <= 0); negative entries count as 0. Returns a rigorous lower bound of max_r (C_r y - d_r) on the node
// when the multipliers prove it positive, else -infinity.
double check_node(int q, int p, int k, const double* lam, const double* mu, const double* obj, const double* eobj,
                  const double* d, const double* rows, const double* erows, const double* lo, const double* hi);

// The node's LP: min t s.t. obj_r . (x, 1) - d_r <= t, rows_j . (x, 1) <= 0, x in [lo, hi], on the dual simplex
// of lp.hpp, its multipliers checked by check_node. When it is infeasible, min s s.t. rows_j . (x, 1) <= s gives
// multipliers that may prove the node empty (weighted_min > 0). `value` is the float LP value (+inf: empty, -inf:
// the LP failed); returns the proven lower bound of max_r (C_r y - d_r) (-inf: nothing proven, +inf: empty).
double node_lp(int q, int p, int k, const double* obj, const double* eobj, const double* d, const double* rows,
               const double* erows, const double* lo, const double* hi, double& value, bool& empty);

// One term of the property: unsafe when C y <= d; C (q x out_dim) exact binary fractions, d rounded up.
struct BabTerm {
  int q = 0;
  std::vector<double> C, d;
};

struct BabOptions {
  double time_limit = 0.0;        // seconds, <= 0: none
  int64_t max_nodes = 200000;     // nodes bounded, all boxes together
  bool refine = true;             // CROWN intermediate bounds on every node
  // A node with no sign imposed (a box) is split along an input while it has more than split_unstable unstable
  // units and fewer than max_splits input splits were made (all boxes together); else on a ReLU.
  int split_unstable = 0;
  int input_depth = 9;            // input splits on one path
  int64_t max_splits = 4000;
  // ReLU choice: BaBSR's score (Bunel et al., JMLR 2020), else the first layer's tallest triangle. Off: on ACAS Xu
  // 1_1:2 it took 2x the nodes of the first-layer rule, and 3_3:2 was no closer (bench notes in certify_bab.cpp).
  bool babsr = false;
  // Each node's box shrunk by LPs over its signed units' rows (lp_box) after the interval pass, and the node bounded
  // again on its smaller box up to `rebound` times while some input's width shrinks by a quarter.
  bool lp_box = true;
  int rebound = 2;
  // A node with a parent is bounded first without the CROWN intermediate bounds (`refine`), from its parent's unit
  // bounds, and with them only when that leaves it open. Off: with the parent's bounds intersected in either way,
  // the cheap stage left ~2/3 of the nodes open on ACAS Xu 1_1:2 and 3_3:2, and cost more than it saved (3_3:2's
  // hardest box of 1/256: 7,521 nodes, 6.5 CPU s with it; 7,823 nodes, 5.5 s without).
  bool cheap_first = false;
  int64_t checkpoint_every = 512; // nodes between calls of `checkpoint` (false: stop, "interrupted")
  std::function<bool(int64_t)> checkpoint;
};

enum class BabStatus : int { Proven = 0, Unrefuted = 1, TimeLimit = 2, NodeLimit = 3, Interrupted = 4 };
const char* bab_status_name(BabStatus s);

struct BabResult {
  BabStatus status = BabStatus::Proven;
  int64_t proven = 0;         // leaves proven empty or safe
  int64_t nodes = 0;          // nodes bounded
  int64_t lps = 0;            // node LPs solved
  int64_t by_bound = 0;       // leaves closed by the bound alone (no LP)
  int64_t empty = 0;          // leaves proven empty
  int max_depth = 0;          // most signs imposed on a node
  int64_t splits = 0;         // input splits
  int64_t box_leaves = 0;     // leaves proven with no sign imposed (boxes)
  int64_t box_lps = 0;        // LPs of lp_box
  int64_t rebounds = 0;       // nodes bounded again on their shrunk box
  int64_t cheap_open = 0;     // nodes the cheap first stage left open (bounded again with refine)
  double margin = 0.0;        // smallest proven lower bound of max_r (C_r y - d_r) over the leaves (+inf: none)
  double value = 0.0;         // Unrefuted: the LP value of the node with every unit decided
};

// The branch and bound over the boxes [lo_i, hi_i] (n_boxes x k, row-major): two children per split, the two
// halves of the box or the two signs of a unit, so the leaves cover each box by construction. A box with many
// unstable units is split along the input of largest smear (sum over the open rows of |slope_j| times the width
// of input j, among the inputs at least 1/16 as wide, relative to the root box, as the widest: ReluVal's choice,
// Wang et al., USENIX Security 2018); wide boxes have many unstable units and a ReLU split of one of them mostly
// yields an empty child, while input splits shrink every unit's range at once. Other nodes are split at a free
// unit of the first layer with unstable units (the tallest triangle -l u / (u - l)), so that with every unit
// decided the LP is the region's own. Each node's box is shrunk by tighten_box, then lp_box, and the node bounded
// again on it (BabOptions::rebound); a child's unit bounds start from its parent's (intersected in). Measured on
// ACAS Xu (bench/results/bench_verify_certify_b.txt): 1_1:2 took 8,213 nodes without the LP box and the priors,
// 1,887 with them. Stops at the first node with every unit decided that is not refuted (Unrefuted), at the limits,
// or when the checkpoint says so; the counts are those reached.
BabResult relu_bab_certify(const Network& net, int n_boxes, const double* lo, const double* hi,
                           const std::vector<BabTerm>& terms, const BabOptions& opt);

}  // namespace relutope
