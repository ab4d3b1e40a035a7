// Dense dual simplex for the small LPs of region enumeration.
//
// Problem form: maximise c . y subject to rows g_i . y <= h_i, y in R^n (n small: up to ~50; m up to a few
// hundred). The solver works on the active set (a "row basis" of n constraints whose normals span R^n), so its
// basis matrix is n x n however many rows there are: one iteration costs O(m n + n^2). This is the dual simplex
// method in the form of Goldfarb & Idnani's active-set view (Chvatal, "Linear Programming", 1983, ch. 10; the
// bounded-variable trick appears as "pins" below).
//
// A basis is dual feasible when c = B^T lambda with lambda >= 0 on real rows; pins (y_j fixed at a value, a free
// variable held non-basic) must carry lambda = 0 and leave the basis at the first chance (ratio 0). Adding rows
// to a problem keeps an optimal basis dual feasible, so the solver warm-starts from a parent cell's basis: this
// is what makes enumeration fast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace relutope {

enum class LPStatus : int { Optimal = 0, Infeasible = 1, Unbounded = 2, IterationLimit = 3, Numerical = 4 };

const char* lp_status_name(LPStatus s);

// The rows g_i . y <= h_i of an LP, stored row-major in a stack so that a depth-first search can push the rows a
// child adds and truncate them when it backtracks.
class RowStack {
 public:
  explicit RowStack(int n) : n_(n) {}
  int n() const { return n_; }
  int m() const { return static_cast<int>(h_.size()); }
  const double* row(int i) const { return g_.data() + static_cast<size_t>(i) * n_; }
  double rhs(int i) const { return h_[i]; }
  void push(const double* g, double h) {
    g_.insert(g_.end(), g, g + n_);
    h_.push_back(h);
  }
  // Empty the stack and set the number of variables.
  void reset(int n) {
    n_ = n;
    g_.clear();
    h_.clear();
  }
  void set_rhs(int i, double h) { h_[i] = h; }
  void truncate(int m) {
    g_.resize(static_cast<size_t>(m) * n_);
    h_.resize(m);
  }

 private:
  int n_;
  std::vector<double> g_;
  std::vector<double> h_;
};

// State of the dual simplex: the active set, the inverse of its basis matrix, multipliers and the vertex.
struct LPBasis {
  int n = 0;
  std::vector<int> active;     // n entries: a row index >= 0, or -1 - j for a pin on variable j
  std::vector<double> binv;    // n x n, row-major: inverse of B (B's rows = normals of the active constraints)
  std::vector<double> rhs;     // n: right-hand sides of the active constraints (a pin's value for pins)
  std::vector<double> lambda;  // n: multipliers, c = B^T lambda
  std::vector<double> y;       // n: the basic solution B^{-1} rhs
  int updates = 0;             // rank-one updates since binv was last computed from scratch
  double binv_max = 1.0;       // an upper bound of max |binv_ij| (exact after refactor()); B's rows have norms ~1,
                               // so it bounds B's condition number

  void resize(int n_);
  // Copy another basis of the same size without reallocating.
  void assign(const LPBasis& other);
};

struct LPCounters {
  int64_t solves = 0;
  int64_t iterations = 0;
};

class DualSimplex {
 public:
  // Tolerances for rows normalised to unit length (|g| ~ 1): a row is violated when g.y - h > feas_tol (1+|h|);
  // a pivot element must exceed pivot_tol.
  double feas_tol = 1e-10;
  double pivot_tol = 1e-9;
  int refactor_every = 64;
  // An optimum reached by pivots on a basis with binv_max above check_above is checked against the rows
  // (accurate()); the dual residual c = B^T lambda is checked to dual_check_tol relative to its terms.
  double check_above = 1e3;
  double dual_check_tol = 1e-9;
  // When set, solve() and primal() read this clock every 8 pivots and give up past it (IterationLimit), so that a
  // caller's time limit holds on LPs that take seconds (wide domains). timed_out() tells such a stop apart.
  const std::chrono::steady_clock::time_point* deadline = nullptr;
  bool timed_out() const { return deadline != nullptr && std::chrono::steady_clock::now() > *deadline; }

  // Run the dual simplex from a dual-feasible basis until the basic solution satisfies every row of `rows`.
  // `c` has length n. Returns Optimal, Infeasible (a row that no feasible point can satisfy was found),
  // IterationLimit or Numerical.
  LPStatus solve(const RowStack& rows, const double* c, LPBasis& basis, LPCounters& counters,
                 int max_iter = 0) const;

  // Primal active-set simplex: from a basis whose vertex B^{-1} rhs satisfies every row (lambda need not be
  // feasible for c), move along edges that improve c.y until the multipliers are dual feasible. Returns Optimal,
  // Unbounded, IterationLimit or Numerical. Used for objectives over a region whose Chebyshev basis is known.
  LPStatus primal(const RowStack& rows, const double* c, LPBasis& basis, LPCounters& counters,
                  int max_iter = 0) const;

  // Recompute binv, y and lambda from the active set (Gaussian elimination with partial pivoting). Returns false
  // when the basis matrix is singular. Negative multipliers (and non-zero ones on pins) are clamped to 0; with
  // `lambda_error`, the largest such violation of dual feasibility is written there.
  bool refactor(const RowStack& rows, const double* c, LPBasis& basis, double* lambda_error = nullptr) const;

  // Whether the basic solution y and the multipliers of `basis` satisfy the active constraints and c = B^T lambda,
  // each to the precision of its terms (feas_tol, dual_check_tol): the updated inverse checked against the rows
  // themselves. O(n^2).
  bool accurate(const RowStack& rows, const double* c, const LPBasis& basis) const;

 private:
  template <int NC>  // solve() for n == NC (NC > 0) or any n (NC == 0)
  LPStatus solve_n(const RowStack& rows, const double* c, LPBasis& basis, LPCounters& counters, int max_iter) const;
  template <int NC>  // primal() for n == NC (NC > 0) or any n (NC == 0)
  LPStatus primal_n(const RowStack& rows, const double* c, LPBasis& basis, LPCounters& counters, int max_iter) const;
  void basis_row(const RowStack& rows, int a, int n, double* out) const;
  // Replace active constraint p by row q, given alpha = B^{-T} g_q (alpha is clobbered) and amax = max |alpha_i|
  // (for the bound binv_max).
  void exchange(const RowStack& rows, LPBasis& B, int p, int q, std::vector<double>& alpha,
                std::vector<double>& col, double amax) const;
};

// A general LP for tests and queries outside the hot loop: maximise c.y s.t. G y <= h and lb <= y <= ub
// (infinite bounds allowed). Free directions are handled with artificial bounds and a ray test for
// unboundedness.
struct LPResult {
  LPStatus status = LPStatus::Numerical;
  std::vector<double> y;
  double value = 0.0;
  int64_t iterations = 0;
};

LPResult solve_lp(int n, int m, const double* c, const double* G, const double* h, const double* lb,
                  const double* ub);

}  // namespace relutope
