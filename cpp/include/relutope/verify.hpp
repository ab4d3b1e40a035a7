// Exact queries answered region by region during enumeration: output bounds and safety properties.
//
// On each activation region the network is affine, so the maximum of a linear function of the output over the
// region is one LP, and whether the region meets an unsafe output set {C y <= d} is one Chebyshev LP. Before a
// layer is inserted into a cell, linear relaxation bounds through the remaining layers (CROWN / DeepPoly
// back-substitution, relaxation.hpp) over the cell's bounding box, minimised over the cell itself by one LP per
// objective, can prove that no region of the cell matters; the cell is then pruned without being enumerated.
// Pre-activation bounds of the enclosing cell (the parent branch) are reused: units they prove stable stay fixed,
// and a cell is first tested with its parent's bounds as they are (CellRelaxation::from_parent: no LP box, no new
// intermediate bounds), which prunes about half of the cells of ACAS Xu properties 2 and 3.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "relutope/enumerate.hpp"
#include "relutope/relaxation.hpp"

namespace relutope {

// The state that the visitors' prune() keeps along the current branch of the enumeration: the domain's box, the
// cell's box, the relaxation's layer bounds of the last cell seen before each layer (the ancestors of the cell
// being pruned, by the depth-first order), and a deadline. All state is held by value (a visitor can be copied
// for another thread).
class CellRelaxation {
 public:
  // Seconds from now; < 0: no deadline.
  void set_time_limit(double seconds);
  bool past_deadline() const;

  // The cell's box (LPs over the cell when k <= kBoxLPs, else the domain's box) and the layer bounds of layers
  // v.layer.. over it; with k <= kBoxLPs, the quantities that the box leaves unstable are bounded by LPs over the
  // cell itself (Relaxation::set_min), layer by layer, before the layers after them are relaxed. Returns false
  // when they cannot be had (an unbounded cell, an LP failure, the deadline).
  bool compute(const CellView& v, LPBasis& scratch);
  // Without an LP: the bounds of the cell's parent (the enumeration's cell before layer v.layer - 1, when its
  // bounds are still held) as the cell's, layer v.layer's exact ranges over the parent's box intersected in, and
  // the parent's box as the cell's. Valid on the cell (a subset of the parent) and cheap: lower_linear() then costs
  // one back-substitution of the objectives, and most cells are pruned by these bounds (a first test before
  // compute()). Returns false when the parent's bounds are not held (the cell then needs compute()).
  bool from_parent(const CellView& v);
  // After a prune test of v that failed: per unit of layer v.layer, the side (0, 1) on which the bounds in use prove
  // a two-piece unit stable on the cell, else -1 (side: n_units entries). The box's LP error (the optimum of an LP
  // may violate a row by the feasibility tolerance) is allowed for: a side is taken only when the bound clears
  // box_error() x |grad (p1 - p0)|_1. Returns the number of units proven stable, or -1 when no bounds are held.
  int stable_sides(const CellView& v, std::vector<int8_t>& side) const;
  // The same for a thin cell (RegionVisitor::thin): its box by LPs whatever k, widened by the LP's feasibility
  // tolerance, no prior, and the ancestors' bounds left as they were; lower_linear() then uses these bounds.
  bool compute_thin(const CellView& v, LPBasis& scratch);
  // After compute(v): linear lower bounds of C y + d over the cell (q rows), G: q x (k+1) in u.
  void lower_linear(const CellView& v, int q, const double* C, const double* d, std::vector<double>& G);
  // Minimum over the cell's box of an affine function g (k+1 entries), and a bound of its rounding error.
  double box_min(const double* g, double* slack = nullptr) const;
  // The network's output at u in the cell of v (an exact forward pass from layer v.layer's pieces).
  void output_at(const CellView& v, const double* u, std::vector<double>& y);

  static constexpr int kBoxLPs = 12;
  std::vector<double> lo, hi;  // the cell's box, k entries

 private:
  Relaxation relax_;
  std::vector<LayerBounds> anc_;       // per layer: bounds of the last cell pruned before that layer
  // per layer: the pattern of the layers before it on that cell. anc_[l - 1] is a prior for a cell at layer l
  // only when it was computed on that cell's ancestor (same pattern before layer l - 1): after a thread picks up
  // a job handed over by another, or backtracks, the last cell it bounded need not be one.
  std::vector<std::vector<int8_t>> anc_pattern_;
  std::vector<std::vector<double>> anc_lo_, anc_hi_;  // per layer: the box of anc_[l]
  LayerBounds thin_;                   // compute_thin()'s bounds
  bool use_thin_ = false;              // lower_linear() reads thin_ (after compute_thin())
  LayerBounds parent_;                 // from_parent()'s bounds
  bool use_parent_ = false;            // lower_linear() reads parent_ (after from_parent())
  std::vector<double> dlo_, dhi_;      // the domain's box
  bool have_domain_box_ = false;
  // The domain's box, shared by the copies of one visitor (threads): found by whichever copy bounds the root (the
  // domain, at layer 0; every other cell and job comes after it), taken by the copies whose first cell is deeper
  // (a worker that starts on a job handed over), which could not prune at all before.
  struct SharedBox {
    std::atomic<bool> ready{false};
    std::mutex mu;
    std::vector<double> lo, hi;
  };
  std::shared_ptr<SharedBox> shared_box_ = std::make_shared<SharedBox>();
  bool has_deadline_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<double> g_, arg_, z_, neg_;
  bool domain_box(const CellView& v, LPBasis& scratch);
  // How far an LP box (lp_box) may fall inside the cell along a coordinate: 10 x feas_tol x max(1, the box's
  // largest |u|), the LP's own feasibility tolerance in the engine's (domain-scaled) coordinates.
  double box_error(const CellView& v) const;
  bool lp_box(const CellView& v, LPBasis& scratch, std::vector<double>& blo, std::vector<double>& bhi);
  // max g.u over the cell of v (CellView::maximize), started from the optimal basis of an earlier LP over the same
  // cell (lp_box's and set_min's, cached in warm_) whose vertex has the largest g.u, else from the cell's Chebyshev
  // basis: a vertex near the optimum is a few pivots from it. The optimum is the same (up to rounding, and the
  // bounds allow for the LP's error as before); only the path of the primal simplex changes.
  LPStatus cell_max(const CellView& v, const double* g, double& value, double* argmax, LPBasis& scratch);
  void clear_warm() { warm_n_ = warm_next_ = 0; }
  static constexpr int kWarm = 8;      // optimal bases kept per cell (most recent first out)
  std::vector<LPBasis> warm_;          // kWarm slots, the first warm_n_ filled, over warm_rows_ rows of the cell
  int warm_n_ = 0, warm_next_ = 0, warm_rows_ = -1;
};

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
  // The units that prune()'s bounds prove stable (CellRelaxation::stable_sides).
  const int8_t* stable_sides(const CellView& v) override {
    const int n = prune_ ? cell_.stable_sides(v, sides_) : -1;
    if (n < 0) return nullptr;
    hinted += n;
    return sides_.data();
  }
  bool leaf(const CellView& v) override;
  // A thin cell: settled when the relaxation over it proves that no row can improve (as prune()); else, when
  // `last`, every row's bound is widened to the relaxation's bound over the cell (`widened` counts them: the
  // bounds then contain the true range but need not be attained).
  bool thin(const CellView& v, bool last) override;
  // Threads: a copy per worker; merge() keeps the larger max and smaller min (with their points and rays). The
  // copies share their incumbents (the best max and min any of them has reached, `Incumbent`), so that each
  // prunes with the best bound found by all, as one thread prunes with every region before it.
  std::unique_ptr<RegionVisitor> clone() const override;
  void merge(const RegionVisitor& other) override;
  void set_time_limit(double seconds) { cell_.set_time_limit(seconds); }

  std::vector<double> max_value, min_value;  // q
  std::vector<double> argmax, argmin;        // q x k, in u
  std::vector<double> ray_max, ray_min;      // q x k, in u: zero for bounded rows
  bool failed = false;
  bool timed_out = false;                    // an LP of leaf() stopped at the deadline (the run is incomplete)
  std::string message;                       // why, when failed
  int64_t widened = 0;                       // thin cells whose relaxation bound was taken (see thin())
  int64_t parent_pruned = 0;                 // cells pruned by their parent's bounds (from_parent), no LP box
  int64_t hinted = 0;                        // units stable_sides() proved stable (hints to the enumeration)

 private:
  int q_, m_, k_;
  bool cannot_improve(const CellView& v);    // prune()'s test, after cell_.compute(v) or compute_thin(v)
  // The incumbents shared by the copies of one run: per row the largest max and the largest -min reached (values
  // attained by a region, or widened by thin(), so merge() ends with them or better).
  struct Incumbent {
    explicit Incumbent(int q) : hi(q), neg_lo(q) {
      for (int i = 0; i < q; ++i)
        hi[i] = neg_lo[i] = -std::numeric_limits<double>::infinity();
    }
    std::vector<std::atomic<double>> hi, neg_lo;
  };
  std::shared_ptr<Incumbent> shared_;        // this visitor's, copied into (so shared by) its clones
  std::vector<double> best_hi_, best_lo_;    // cannot_improve's copy of the shared incumbents
  void publish(int i);                       // share row i's own max and min (after leaf() or thin() moved them)
  // The relaxation's lower linear bounds G_ (rows 2i and 2i+1) of upper[i] - (C_i y + d_i) and
  // (C_i y + d_i) - lower[i] over the cell (nullptr: zero offsets).
  void bound_both_sides(const CellView& v, const double* upper, const double* lower);
  std::vector<double> C_, d_;
  bool prune_;
  LPBasis scratch_;
  CellRelaxation cell_;
  std::vector<double> map_, g_, point_, ray_, Cd_, dd_, G_;
  std::vector<int8_t> sides_;
};

// A property "unsafe if C_t y <= d_t for some term t" (each term a conjunction of rows). leaf() looks for an
// input of the region in the unsafe set (the Chebyshev centre of region and term, so it is interior when it
// can be); the first one found stops the run when stop_at_first. prune() drops a cell when, for every term, the
// relaxation's lower bounds L_r(u) <= C_r y - d_r leave {u in cell : L_r(u) <= 0 for all rows r} empty (one
// Chebyshev LP over the cell per term, after a test of each row over the box); when that set is not empty its
// Chebyshev centre is a candidate counterexample, checked by a forward pass (a counterexample search during
// the enumeration).
class PropertyVisitor : public RegionVisitor {
 public:
  struct Term {
    int rows;
    std::vector<double> C, d;  // rows x out_dim, rows
  };
  PropertyVisitor(std::vector<Term> terms, int out_dim, int k, bool prune, bool stop_at_first);
  bool prune(const CellView& v) override;
  // The units that prune()'s bounds prove stable (CellRelaxation::stable_sides).
  const int8_t* stable_sides(const CellView& v) override {
    const int n = prune_ ? cell_.stable_sides(v, sides_) : -1;
    if (n < 0) return nullptr;
    hinted += n;
    return sides_.data();
  }
  bool leaf(const CellView& v) override;
  // A thin cell: prune()'s test with the relaxation over the cell itself (compute_thin); its candidate
  // counterexamples are checked the same way.
  bool thin(const CellView& v, bool last) override;
  // Threads: a copy per worker; merge() keeps a counterexample of largest margin (and any failure).
  std::unique_ptr<RegionVisitor> clone() const override;
  void merge(const RegionVisitor& other) override;
  bool stop_requested() const override { return stop_ && violated; }
  void set_time_limit(double seconds) { cell_.set_time_limit(seconds); }

  bool violated = false;
  bool failed = false;
  bool timed_out = false;               // an LP of leaf() stopped at the deadline (the run is incomplete)
  std::string message;                  // why, when failed
  std::vector<double> counterexample;  // k, in u
  int term = -1;
  double margin = 0.0;                  // Chebyshev radius of region and unsafe set at the counterexample (a
                                        // leaf's), or min_r (d_r - C_r y) there (found by prune())
  int64_t candidates = 0;               // candidate counterexamples checked by prune()
  int64_t pruned_terms = 0;             // (cell, term) pairs refuted by the box test or the LP
  int64_t parent_pruned = 0;            // cells pruned by their parent's bounds (from_parent), no LP box
  int64_t hinted = 0;                   // units stable_sides() proved stable (hints to the enumeration)

 private:
  std::vector<Term> terms_;
  int m_, k_;
  bool prune_, stop_;
  // prune()'s test, after cell_.compute(v), compute_thin(v) or from_parent(v); terms marked in done_ are skipped
  // (refuted by an earlier test of the same cell) and the terms it refutes are marked.
  bool refute(const CellView& v);
  std::vector<char> done_;
  LPBasis scratch_;
  CellRelaxation cell_;
  std::vector<double> map_, G_, h_, centre_, L_, y_;
  std::vector<int8_t> sides_;
};

}  // namespace relutope

namespace relutope {

// Input-domain branch and bound for a property on a box (for low-dimensional inputs: ACAS Xu has 5): each box
// gets the linear relaxation bounds of relaxation.hpp (with its parent box's pre-activation bounds as prior);
// a term is refuted on the box when min over the box of max_r L_r(u) > 0 (one LP in (u, t)), whose minimiser is
// also a candidate counterexample checked by a forward pass, as is the box's centre. An unrefuted box is split in
// half along the input of the largest score: the unrefuted terms' |slope| x width of their bounds (the "smear" of
// ReluVal: Wang, Pei, Whitehouse, Yang & Jana, USENIX Security 2018) plus the relaxation's looseness by input
// (Relaxation::input_looseness), each as a fraction of its sum; a box at max_depth is handed back open, for the exact
// enumeration, as is every box left when max_boxes have been bounded. Boxes are taken best first (the one whose
// parent's relaxation was nearest to allowing a term) for half the budget, then depth first. Reference: Bunel, Lu, Turkaslan, Torr, Kohli & Kumar, "Branch and Bound for Piecewise Linear
// Neural Network Verification", JMLR 2020 (input splitting for low-dimensional inputs).
struct SplitResult {
  int status = 0;                   // 0: every box refuted (holds); 1: violated; 2: open boxes remain; 3: time limit
  std::vector<double> counterexample;  // in_dim, when violated
  int term = -1;
  std::vector<double> open_lo, open_hi;  // n_open x in_dim: boxes left for the exact enumeration
  std::vector<double> open_score;        // n_open: min over the box of the relaxation's max_r L_r (its parent's
                                         // for boxes never bounded): the most negative are likeliest unsafe
  double closed_fraction = 0.0;     // volume of the refuted boxes / the box's (over the inputs of positive width)
  int64_t boxes = 0;                // boxes taken from the stack (bounded, then closed, split or left open)
  int64_t bounds = 0;               // relaxation bounds computed (more than boxes with strong branching)
  bool paced = false;               // handed over before max_boxes, behind the pace (SplitOptions::pace_from)
  int64_t merged = 0;               // open boxes handed over as a part of a larger one (SplitOptions::merge_closed)
};

struct SplitOptions {
  // Inputs tried per split: 1 splits the input of largest smear; c > 1 bounds both halves along each of the c
  // inputs of largest smear and splits the one whose worse half has the largest min_box max_r L_r (strong
  // branching on the inputs, as FSB does on ReLUs: De Palma, Bunel, Desmaison, Dvijotham, Kohli, Torr & Kumar,
  // "Improved Branch and Bound for Neural Network Verification via Lagrangian Decomposition", 2021); the halves
  // bounded are kept, so the split itself costs nothing more.
  int branch_candidates = 1;
  // The split score (see split_verify): 0 the smear plus the looseness by input, 1 the smear alone (ReluVal's),
  // 2 the looseness alone (for benchmarks: bench/bench_split_branching.py).
  int branch_score = 0;
  // Sign-gradient steps of a counterexample search (attack.hpp) from the relaxation's minimiser of every box
  // not refuted while boxes are taken best first (0: none).
  int attack_steps = 0;
  // ... each ended after this many steps in a row without a new least violation (AttackOptions::patience; 0: never).
  int attack_patience = 0;
  // ... a new least violation counting only when below the least by more than this fraction of |least|
  // (AttackOptions::min_gain; 0: any).
  double attack_min_gain = 0.0;
  // ... from this many of the box's centre and the relaxation's minimiser, the least violated first (1 or 2).
  int attack_starts = 1;
  // ... only while the descents have taken at most this fraction of the splitting's time so far (0: always).
  double attack_share = 0.0;
  // ... and only in boxes whose bound tmin < 0 leaves a counterexample more than this fraction of the range between
  // it and the violation v at the bound's minimiser: -tmin > attack_gap (v - tmin) (0: every box).
  double attack_gap = 0.0;
  // An adaptive budget: from pace_from boxes on (0: never, a fixed budget), every box left is handed to the exact
  // enumeration as soon as the recent rate of volume closed per box (over the last pace_window boxes) would not
  // close the rest within max_boxes boxes: closed + rate x (max_boxes - boxes) < the box's volume. The best-first
  // phase closes little at first, hence the warm-up. On ACAS Xu the enumeration of a few large boxes (its cells
  // bounded by LPs over each cell) costs less than splitting what the box relaxation closes slowly
  // (bench/results/acas_verify15h.txt).
  int pace_from = 0;
  int pace_window = 32;
  // Merging of what is left open (0: off, every open box handed over as it is): a box of the split tree of which
  // the refuted boxes inside cover at most merge_closed of its volume is handed to the exact enumeration whole
  // instead of as its open descendants (its refuted parts are decided again there, by the cells' bounds). The
  // enumeration of one large box costs less than that of many small ones that share its hyperplanes, each of which
  // bounds its root cell afresh (bench/results/verify_policy_s27.txt).
  double merge_closed = 0.0;
  // A box not refuted is bounded once more with the lower slopes exact at the minimiser of its bound
  // (Relaxation::point_slopes).
  bool point_slopes = true;
};

SplitResult split_verify(const Network& net, const double* lo, const double* hi,
                         const std::vector<PropertyVisitor::Term>& terms, int max_depth, int64_t max_boxes,
                         double time_limit, const SplitOptions& opt = SplitOptions());

// Linear relaxation lower bounds of C y + d over the box [lo, hi] of the inputs (q rows): G (q x (in_dim+1)) with
// C y + d >= G[:, :in_dim] x + G[:, in_dim] on the box, and each row's minimum over the box (lower); forward:
// the intermediate bounds of Relaxation::Mode::Forward instead of Backward. With m > 0 rows A u <= b (m x in_dim,
// m), the set is their polytope within the box: the quantities that the box leaves unstable and the rows' minima
// (lower) are bounded by LPs over it (Relaxation::set_min, as CellRelaxation::compute does on a cell); mutate
// (tests only) makes set_min return the maximum instead of the minimum, an unsound relaxation. point (in_dim
// entries, or null): the objectives' lower relaxations exact there (Relaxation::point_slopes).
void box_linear_bounds(const Network& net, const double* lo, const double* hi, int q, const double* C, const double* d,
                       bool forward, std::vector<double>& G, std::vector<double>& lower, int m = 0,
                       const double* A = nullptr, const double* b = nullptr, bool mutate = false,
                       const double* point = nullptr);

}  // namespace relutope
