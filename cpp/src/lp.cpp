#include "relutope/lp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "relutope/norms.hpp"

namespace relutope {

const char* lp_status_name(LPStatus s) {
  switch (s) {
    case LPStatus::Optimal: return "optimal";
    case LPStatus::Infeasible: return "infeasible";
    case LPStatus::Unbounded: return "unbounded";
    case LPStatus::IterationLimit: return "iteration_limit";
    case LPStatus::Numerical: return "numerical";
  }
  return "unknown";
}

void LPBasis::resize(int n_) {
  n = n_;
  active.assign(n, 0);
  binv.assign(static_cast<size_t>(n) * n, 0.0);
  rhs.assign(n, 0.0);
  lambda.assign(n, 0.0);
  y.assign(n, 0.0);
  updates = 0;
  binv_max = 1.0;
}

void LPBasis::assign(const LPBasis& o) {
  n = o.n;
  active = o.active;
  binv = o.binv;
  rhs = o.rhs;
  lambda = o.lambda;
  y = o.y;
  updates = o.updates;
  binv_max = o.binv_max;
}

namespace {

// y = B^{-1} rhs: the vertex where the active constraints hold with equality. NC > 0: B.n == NC, known at compile
// time (as in the helpers below).
template <int NC = 0>
void basic_solution(LPBasis& B) {
  const int n = NC > 0 ? NC : B.n;
  for (int i = 0; i < n; ++i) {
    const double* bi = &B.binv[static_cast<size_t>(i) * n];
    double s = 0.0;
    for (int j = 0; j < n; ++j) s += bi[j] * B.rhs[j];
    B.y[i] = s;
  }
}

// out = B^{-T} v: v (a normal or an objective) in terms of the active normals.
template <int NC = 0>
void transpose_solve(const LPBasis& B, const double* v, double* out) {
  const int n = NC > 0 ? NC : B.n;
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (int j = 0; j < n; ++j) s += B.binv[static_cast<size_t>(j) * n + i] * v[j];
    out[i] = s;
  }
}

// Replace active constraint p by row q of `rows` in B (DualSimplex::exchange).
template <int NC = 0>
void exchange_basis(const RowStack& rows, LPBasis& B, int p, int q, double* alpha, double* col, double amax) {
  const int n = NC > 0 ? NC : B.n;
  // Sherman-Morrison for replacing row p of B by g_q: B'^{-1} = B^{-1} - B^{-1} e_p (alpha - e_p)^T / alpha_p.
  const double ap = alpha[p];
  double cmax = 0.0;
  for (int i = 0; i < n; ++i) {
    col[i] = B.binv[static_cast<size_t>(i) * n + p];
    cmax = std::max(cmax, std::fabs(col[i]));
  }
  alpha[p] -= 1.0;
  for (int i = 0; i < n; ++i) {
    const double f = col[i] / ap;
    if (f == 0.0) continue;
    double* bi = &B.binv[static_cast<size_t>(i) * n];
    for (int j = 0; j < n; ++j) bi[j] -= f * alpha[j];
  }
  // |b_ij - f_i alpha_j| <= max |b| + max |f| max |alpha|, with alpha_p - 1 in alpha
  B.binv_max += cmax / std::fabs(ap) * (amax + 1.0);
  B.active[p] = q;
  B.rhs[p] = rows.rhs(q);
  ++B.updates;
}

}  // namespace

bool DualSimplex::accurate(const RowStack& rows, const double* c, const LPBasis& B) const {
  const int n = B.n;
  constexpr double kEps = std::numeric_limits<double>::epsilon();
  // Primal: the active constraints hold at y.
  for (int i = 0; i < n; ++i) {
    const int a = B.active[i];
    double v, size;
    if (a >= 0) {
      const double* g = rows.row(a);
      v = -B.rhs[i];
      size = std::fabs(B.rhs[i]);
      for (int j = 0; j < n; ++j) {
        v += g[j] * B.y[j];
        size += std::fabs(g[j] * B.y[j]);
      }
    } else {
      v = B.y[-1 - a] - B.rhs[i];
      size = std::fabs(B.rhs[i]) + std::fabs(B.y[-1 - a]);
    }
    // feas_tol as in the row test, plus what rounding the terms allows (far from the origin, |y| large).
    if (!(std::fabs(v) <= feas_tol * (1.0 + std::fabs(B.rhs[i])) + 4.0 * n * kEps * size)) return false;
  }
  // Dual: c = B^T lambda, each component to the precision of its terms.
  for (int j = 0; j < n; ++j) {
    double v = -c[j], size = std::fabs(c[j]);
    for (int i = 0; i < n; ++i) {
      const int a = B.active[i];
      const double bij = a >= 0 ? rows.row(a)[j] : (-1 - a == j ? 1.0 : 0.0);
      v += B.lambda[i] * bij;
      size += std::fabs(B.lambda[i] * bij);
    }
    if (!(std::fabs(v) <= dual_check_tol * size)) return false;
  }
  return true;
}

void DualSimplex::basis_row(const RowStack& rows, int a, int n, double* out) const {
  if (a >= 0) {
    const double* g = rows.row(a);
    std::copy(g, g + n, out);
  } else {
    std::fill(out, out + n, 0.0);
    out[-1 - a] = 1.0;
  }
}

bool DualSimplex::refactor(const RowStack& rows, const double* c, LPBasis& B, double* lambda_error) const {
  const int n = B.n;
  // Gauss-Jordan on [M | I] with partial pivoting, M = basis matrix.
  std::vector<double> M(static_cast<size_t>(n) * n), inv(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) {
    basis_row(rows, B.active[i], n, &M[static_cast<size_t>(i) * n]);
    inv[static_cast<size_t>(i) * n + i] = 1.0;
  }
  for (int col = 0; col < n; ++col) {
    int piv = col;
    double best = std::fabs(M[static_cast<size_t>(col) * n + col]);
    for (int r = col + 1; r < n; ++r) {
      double v = std::fabs(M[static_cast<size_t>(r) * n + col]);
      if (v > best) { best = v; piv = r; }
    }
    if (best < 1e-13) return false;
    if (piv != col) {
      for (int j = 0; j < n; ++j) {
        std::swap(M[static_cast<size_t>(piv) * n + j], M[static_cast<size_t>(col) * n + j]);
        std::swap(inv[static_cast<size_t>(piv) * n + j], inv[static_cast<size_t>(col) * n + j]);
      }
    }
    const double d = 1.0 / M[static_cast<size_t>(col) * n + col];
    for (int j = 0; j < n; ++j) {
      M[static_cast<size_t>(col) * n + j] *= d;
      inv[static_cast<size_t>(col) * n + j] *= d;
    }
    for (int r = 0; r < n; ++r) {
      if (r == col) continue;
      const double f = M[static_cast<size_t>(r) * n + col];
      if (f == 0.0) continue;
      for (int j = 0; j < n; ++j) {
        M[static_cast<size_t>(r) * n + j] -= f * M[static_cast<size_t>(col) * n + j];
        inv[static_cast<size_t>(r) * n + j] -= f * inv[static_cast<size_t>(col) * n + j];
      }
    }
  }
  // inv = M^{-1} where M's rows are the normals: this is B^{-1}.
  B.binv.swap(inv);
  transpose_solve(B, c, B.lambda.data());
  double err = 0.0;
  for (int i = 0; i < n; ++i) {
    const double l = B.lambda[i];
    err = std::max(err, B.active[i] < 0 ? std::fabs(l) : -l);
    B.lambda[i] = (B.active[i] < 0) ? 0.0 : std::max(l, 0.0);
  }
  if (lambda_error) *lambda_error = err;
  B.updates = 0;
  B.binv_max = 0.0;
  for (double v : B.binv) B.binv_max = std::max(B.binv_max, std::fabs(v));
  return true;
}

LPStatus DualSimplex::solve(const RowStack& rows, const double* c, LPBasis& B, LPCounters& counters,
                            int max_iter) const {
  switch (B.n) {  // the sizes of the Chebyshev LPs of domains of dimension 2..6, with the loops over n unrolled
    case 3: return solve_n<3>(rows, c, B, counters, max_iter);
    case 4: return solve_n<4>(rows, c, B, counters, max_iter);
    case 5: return solve_n<5>(rows, c, B, counters, max_iter);
    case 6: return solve_n<6>(rows, c, B, counters, max_iter);
    case 7: return solve_n<7>(rows, c, B, counters, max_iter);
    default: return solve_n<0>(rows, c, B, counters, max_iter);
  }
}

template <int NC>
LPStatus DualSimplex::solve_n(const RowStack& rows, const double* c, LPBasis& B, LPCounters& counters,
                              int max_iter) const {
  const int n = NC > 0 ? NC : B.n;
  const int m = rows.m();
  if (max_iter <= 0) max_iter = 50 * (m + n) + 100;
  ++counters.solves;
  // Scratch on the stack for the sizes unrolled (a heap allocation per LP costs as much as a pivot here).
  double small[2 * 8];
  std::vector<double> big(NC > 0 && NC <= 8 ? 0 : 2 * n);
  double* alpha = NC > 0 && NC <= 8 ? small : big.data();
  double* col = alpha + n;
  int degenerate = 0;
  bool bland = false, checked = false;
  for (int it = 0; it < max_iter; ++it) {
    if (deadline && (it & 7) == 7 && timed_out()) return LPStatus::IterationLimit;
    if (B.updates >= refactor_every) {
      if (!refactor(rows, c, B)) return LPStatus::Numerical;
    }
    basic_solution<NC>(B);
    // Entering row: the most violated one (Dantzig), or the first violated one under Bland's rule.
    int q = -1;
    double worst = 0.0;
    for (int i = 0; i < m; ++i) {
      const double* g = rows.row(i);
      double v = -rows.rhs(i);
      for (int j = 0; j < n; ++j) v += g[j] * B.y[j];
      if (v <= feas_tol * (1.0 + std::fabs(rows.rhs(i))) || v <= worst) continue;
      bool is_active = false;
      for (int a : B.active)
        if (a == i) { is_active = true; break; }
      if (is_active) continue;
      q = i;
      worst = v;
      if (bland) break;
    }
    if (q < 0) {
      // After pivots on an ill-conditioned basis, check it against the rows themselves: rank-one updates of such
      // a basis drift, and a drifted y or lambda can pass every row test and still not be optimal (seen: a
      // Chebyshev radius wrong in the 6th digit after 8 updates of a basis of condition 7e4). Refactorise and go
      // on; a basis that is then not dual feasible, or still inaccurate, is beyond this method (Numerical).
      if (it == 0 || B.binv_max <= check_above || accurate(rows, c, B)) return LPStatus::Optimal;
      if (checked) return LPStatus::Numerical;  // inaccurate from a fresh factorisation too
      checked = true;
      double lambda_error;
      if (!refactor(rows, c, B, &lambda_error)) return LPStatus::Numerical;
      double total = 0.0;
      for (double l : B.lambda) total += l;
      if (!(lambda_error <= dual_check_tol * total)) return LPStatus::Numerical;
      continue;
    }
    ++counters.iterations;
    // alpha = B^{-T} g_q: the entering normal in terms of the active normals.
    transpose_solve<NC>(B, rows.row(q), alpha);
    // Ratio test: pins leave first (ratio 0); else min lambda_i / alpha_i over alpha_i > 0.
    int p = -1;
    double best_ratio = std::numeric_limits<double>::infinity();
    double best_alpha = 0.0, amax = 0.0;
    for (int i = 0; i < n; ++i) {
      double ratio, a_abs;
      amax = std::max(amax, std::fabs(alpha[i]));
      if (B.active[i] < 0) {
        a_abs = std::fabs(alpha[i]);
        if (a_abs <= pivot_tol) continue;
        ratio = 0.0;
      } else {
        if (alpha[i] <= pivot_tol) continue;
        a_abs = alpha[i];
        ratio = std::max(B.lambda[i], 0.0) / alpha[i];
      }
      bool better;
      if (ratio < best_ratio - 1e-14) {
        better = true;
      } else if (ratio <= best_ratio + 1e-14) {
        better = bland ? (B.active[i] < B.active[p]) : (a_abs > best_alpha);
      } else {
        better = false;
      }
      if (better) {
        p = i;
        best_ratio = ratio;
        best_alpha = a_abs;
      }
    }
    if (p < 0) return LPStatus::Infeasible;
    const double theta = best_ratio;
    if (theta <= 1e-14) {
      if (++degenerate > 2 * n + 20) bland = true;
    } else {
      degenerate = 0;
    }
    for (int i = 0; i < n; ++i) {
      if (i == p) continue;
      double li = B.lambda[i] - theta * alpha[i];
      B.lambda[i] = (B.active[i] < 0) ? 0.0 : std::max(li, 0.0);
    }
    B.lambda[p] = theta;
    exchange_basis<NC>(rows, B, p, q, alpha, col, amax);
  }
  return LPStatus::IterationLimit;
}

void DualSimplex::exchange(const RowStack& rows, LPBasis& B, int p, int q, std::vector<double>& alpha,
                           std::vector<double>& col, double amax) const {
  exchange_basis(rows, B, p, q, alpha.data(), col.data(), amax);
}

LPStatus DualSimplex::primal(const RowStack& rows, const double* c, LPBasis& B, LPCounters& counters,
                             int max_iter) const {
  switch (B.n) {  // as solve(): the sizes of the LPs over cells of dimension 2..6, with the loops over n unrolled
    case 3: return primal_n<3>(rows, c, B, counters, max_iter);
    case 4: return primal_n<4>(rows, c, B, counters, max_iter);
    case 5: return primal_n<5>(rows, c, B, counters, max_iter);
    case 6: return primal_n<6>(rows, c, B, counters, max_iter);
    case 7: return primal_n<7>(rows, c, B, counters, max_iter);
    default: return primal_n<0>(rows, c, B, counters, max_iter);
  }
}

template <int NC>
LPStatus DualSimplex::primal_n(const RowStack& rows, const double* c, LPBasis& B, LPCounters& counters,
                               int max_iter) const {
  const int n = NC > 0 ? NC : B.n;
  const int m = rows.m();
  if (max_iter <= 0) max_iter = 50 * (m + n) + 100;
  ++counters.solves;
  double small[4 * 8];  // as solve_n: no heap allocation for the sizes unrolled
  std::vector<double> big(NC > 0 && NC <= 8 ? 0 : 4 * n);
  double* lam = NC > 0 && NC <= 8 ? small : big.data();
  double* d = lam + n;
  double* alpha = d + n;
  double* col = alpha + n;
  int degenerate = 0;
  bool bland = false;
  const double dual_tol = 1e-11;
  for (int it = 0; it < max_iter; ++it) {
    if (deadline && (it & 7) == 7 && timed_out()) return LPStatus::IterationLimit;
    if (B.updates >= refactor_every && !refactor(rows, c, B)) return LPStatus::Numerical;
    basic_solution<NC>(B);
    transpose_solve<NC>(B, c, lam);
    // Leaving constraint: a row with a negative multiplier, or a pin with a non-zero one.
    int p = -1;
    double best = 0.0;
    for (int i = 0; i < n; ++i) {
      const double score = B.active[i] < 0 ? std::fabs(lam[i]) : -lam[i];
      if (score <= dual_tol) continue;
      if (p < 0 || (bland ? B.active[i] < B.active[p] : score > best)) {
        p = i;
        best = score;
      }
    }
    if (p < 0) {
      for (int i = 0; i < n; ++i) B.lambda[i] = B.active[i] < 0 ? 0.0 : std::max(lam[i], 0.0);
      return LPStatus::Optimal;
    }
    ++counters.iterations;
    const double sigma = B.active[p] < 0 ? (lam[p] > 0 ? 1.0 : -1.0) : -1.0;
    for (int i = 0; i < n; ++i) d[i] = sigma * B.binv[static_cast<size_t>(i) * n + p];
    // Ratio test over the inactive rows that the edge runs into.
    int q = -1;
    double step = std::numeric_limits<double>::infinity(), q_gd = 0.0;
    for (int i = 0; i < m; ++i) {
      const double* g = rows.row(i);
      double gd = 0.0;
      for (int j = 0; j < n; ++j) gd += g[j] * d[j];
      if (gd <= pivot_tol) continue;
      bool is_active = false;
      for (int j = 0; j < n; ++j)
        if (B.active[j] == i) { is_active = true; break; }
      if (is_active) continue;
      double gy = 0.0;
      for (int j = 0; j < n; ++j) gy += g[j] * B.y[j];
      const double t = std::max(rows.rhs(i) - gy, 0.0) / gd;
      if (t < step - 1e-14 || (t <= step + 1e-14 && (bland ? i < q : gd > q_gd))) {
        step = t;
        q = i;
        q_gd = gd;
      }
    }
    if (q < 0) return LPStatus::Unbounded;
    if (step <= 1e-14) {
      if (++degenerate > 2 * n + 20) bland = true;
    } else {
      degenerate = 0;
    }
    transpose_solve<NC>(B, rows.row(q), alpha);
    double amax = 0.0;
    for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(alpha[i]));
    exchange_basis<NC>(rows, B, p, q, alpha, col, amax);
  }
  return LPStatus::IterationLimit;
}

namespace {

LPResult solve_lp_impl(int n, int m, const double* c, const double* G, const double* h, const double* lb,
                       const double* ub, int depth) {
  LPResult res;
  res.y.assign(n, 0.0);
  const double inf = std::numeric_limits<double>::infinity();
  double scale = 1.0;
  for (int i = 0; i < m; ++i) scale = std::max(scale, std::fabs(h[i]));
  for (int j = 0; j < n; ++j) {
    if (std::isfinite(lb[j])) scale = std::max(scale, std::fabs(lb[j]));
    if (std::isfinite(ub[j])) scale = std::max(scale, std::fabs(ub[j]));
  }
  for (int j = 0; j < n; ++j) {
    if (lb[j] > ub[j] || lb[j] == std::numeric_limits<double>::infinity() ||
        ub[j] == -std::numeric_limits<double>::infinity()) {
      res.status = LPStatus::Infeasible;
      return res;
    }
  }
  double big = 1e7 * scale;
  DualSimplex ds;
  for (int attempt = 0; attempt < 4; ++attempt, big *= 1e3) {
    RowStack rows(n);
    std::vector<double> g(n);
    for (int i = 0; i < m; ++i) {
      const double norm = stable_norm(G + static_cast<size_t>(i) * n, n);
      if (norm == 0.0) {
        if (h[i] < -1e-12) {
          res.status = LPStatus::Infeasible;
          return res;
        }
        continue;
      }
      for (int j = 0; j < n; ++j) g[j] = G[static_cast<size_t>(i) * n + j] / norm;
      rows.push(g.data(), h[i] / norm);
    }
    LPBasis B;
    B.resize(n);
    std::vector<int> artificial;
    auto unit_row = [&](int j, double sign, double rhs) {
      std::fill(g.begin(), g.end(), 0.0);
      g[j] = sign;
      rows.push(g.data(), rhs);
      return rows.m() - 1;
    };
    std::vector<int> ub_row(n, -1), lb_row(n, -1);
    for (int j = 0; j < n; ++j) {
      if (std::isfinite(ub[j])) ub_row[j] = unit_row(j, 1.0, ub[j]);
      if (std::isfinite(lb[j])) lb_row[j] = unit_row(j, -1.0, -lb[j]);
    }
    for (int j = 0; j < n; ++j) {
      double sign = 1.0;
      if (c[j] > 0) {
        if (ub_row[j] < 0) { ub_row[j] = unit_row(j, 1.0, big); artificial.push_back(ub_row[j]); }
        B.active[j] = ub_row[j];
      } else if (c[j] < 0) {
        if (lb_row[j] < 0) { lb_row[j] = unit_row(j, -1.0, big); artificial.push_back(lb_row[j]); }
        B.active[j] = lb_row[j];
        sign = -1.0;
      } else {
        B.active[j] = -1 - j;
      }
      B.binv[static_cast<size_t>(j) * n + j] = sign;
      B.lambda[j] = std::fabs(c[j]);
      if (B.active[j] >= 0) {
        B.rhs[j] = rows.rhs(B.active[j]);
      } else {
        B.rhs[j] = std::isfinite(lb[j]) ? lb[j] : (std::isfinite(ub[j]) ? ub[j] : 0.0);
      }
    }
    LPCounters counters;
    LPStatus st = ds.solve(rows, c, B, counters);
    res.iterations += counters.iterations;
    if (st != LPStatus::Optimal) {
      res.status = st;
      return res;
    }
    bool artificial_binding = false;
    for (int i = 0; i < n; ++i) {
      if (B.lambda[i] > 1e-12 && std::find(artificial.begin(), artificial.end(), B.active[i]) != artificial.end())
        artificial_binding = true;
    }
    res.y = B.y;
    res.value = 0.0;
    for (int j = 0; j < n; ++j) res.value += c[j] * B.y[j];
    if (!artificial_binding) {
      res.status = LPStatus::Optimal;
      return res;
    }
    if (depth > 0) break;
    // Ray test: the LP is unbounded iff its recession cone holds a direction v with c.v > 0.
    std::vector<double> zero(m, 0.0), vlb(n), vub(n);
    for (int j = 0; j < n; ++j) {
      vlb[j] = std::isfinite(lb[j]) ? 0.0 : -1.0;
      vub[j] = std::isfinite(ub[j]) ? 0.0 : 1.0;
    }
    LPResult ray = solve_lp_impl(n, m, c, G, zero.data(), vlb.data(), vub.data(), depth + 1);
    res.iterations += ray.iterations;
    double cnorm = 0.0;
    for (int j = 0; j < n; ++j) cnorm += c[j] * c[j];
    if (ray.status == LPStatus::Optimal && ray.value > 1e-9 * std::sqrt(cnorm)) {
      res.status = LPStatus::Unbounded;
      res.value = inf;
      res.y = ray.y;
      return res;
    }
  }
  res.status = LPStatus::Numerical;
  return res;
}

}  // namespace

LPResult solve_lp(int n, int m, const double* c, const double* G, const double* h, const double* lb,
                  const double* ub) {
  return solve_lp_impl(n, m, c, G, h, lb, ub, 0);
}

}  // namespace relutope
