#include "relutope/geometry.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "relutope/lp.hpp"
#include "relutope/norms.hpp"
#include "relutope/parallel.hpp"

namespace relutope {

const char* geometry_status_name(GeometryStatus s) {
  switch (s) {
    case GeometryStatus::Complete: return "complete";
    case GeometryStatus::Interrupted: return "interrupted";
    case GeometryStatus::Numerical: return "numerical";
  }
  return "unknown";
}

FacetView view(const FacetSet& f) {
  FacetView v0;
  v0.D = static_cast<int64_t>(f.dup_facet.size());
  v0.dup_facet = f.dup_facet.data();
  v0.dup_unit = f.dup_unit.data();
  v0.dup_piece = f.dup_piece.data();
  v0.dup_exact = f.dup_exact.data();
  FacetView v = v0;
  v.k = f.k;
  v.R = f.regions();
  v.offsets = f.offsets.data();
  v.rows = f.rows.data();
  v.rhs = f.rhs.data();
  v.unit = f.unit.data();
  v.piece = f.piece.data();
  v.points = f.points.data();
  v.radii = f.radii.data();
  return v;
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A row whose normal is zero is constant on the region: it holds everywhere (the region exists) and is never a
// facet. As in the enumerator, only an exact zero (a unit with no path from the inputs) counts: a unit whose
// weights are tiny (1e-15) still has a hyperplane, and the regions were cut by it.
constexpr double kConstantRow = 1e-300;
// Two normalised rows closer than this (normals entrywise, offsets relative to 1 + |h|) are one hyperplane; at
// most tol / 100, so that two hyperplanes that bound a region of radius > tol are never merged. (The domain's
// coordinates are centred on it and scaled to its size, so this is relative to the domain.)
constexpr double kDuplicate = 1e-9;

class FacetFinder {
 public:
  FacetFinder(const Network& net, const DomainForm& dom, const FacetOptions& opt)
      : net_(net), dom_(dom), opt_(opt), k_(dom.k), n_(dom.k + 1), cheb_(dom.k + 1), frows_(dom.k) {
    obj_.assign(n_, 0.0);
    obj_[k_] = 1.0;
    row_.assign(n_, 0.0);
    p0_.assign(k_, 0.0);
    // The LP decides whether a ball of radius tol fits: its feasibility tolerance must stay well below tol.
    simplex_.feas_tol = std::min(simplex_.feas_tol, 0.1 * opt.tol);
    dup_tol_ = std::min(kDuplicate, 0.01 * opt.tol);
    fpoint_.assign(k_, 0.0);
  }

  // Append the facets of one region to `out`; returns false on an LP breakdown.
  bool region(const int8_t* pattern, const double* center, FacetSet& out) {
    collect_rows(pattern);
    out.rows_total += static_cast<int64_t>(h_.size());
    // The region's Chebyshev LP, from pins at the given centre. The cap starts just above the centre's distance
    // to its nearest row (the radius, when the centre is the Chebyshev centre), so that the dual simplex only
    // pivots among the nearest rows; a cap that stays active only disables the simplex filter below.
    RowStack& cheb = cheb_;
    cheb.truncate(0);
    std::vector<double>& row = row_;
    double r_est = opt_.radius_cap;
    for (size_t i = 0; i < h_.size(); ++i) {
      std::copy(&g_[i * k_], &g_[i * k_] + k_, row.begin());
      row[k_] = 1.0;
      cheb.push(row.data(), h_[i]);
      r_est = std::min(r_est, h_[i] - dot(&g_[i * k_], center));
    }
    const double cap_value = std::min(opt_.radius_cap, std::max(r_est, 0.0) * (1.0 + 1e-3) + 1e-3 * opt_.tol);
    const int cap = push_cap(cheb, row, cap_value);
    LPBasis& B = basis_;
    start_basis(B, center, cap, cap_value);
    if (!solve(cheb, B)) return fail("the Chebyshev LP of a region failed");
    // Cheap filter: the simplex of the k + 1 active rows contains the region. Its vertices come from a fresh
    // factorisation of the basis; the slack allows for their rounding errors, which grow with their size.
    const size_t m = h_.size();
    keep_.assign(m, 1);
    if (simplex_.refactor(cheb, obj_.data(), B) && simplex_vertices(B, cap)) {
      double vmax = 0.0;
      for (double v : verts_) vmax = std::max(vmax, std::fabs(v));
      for (size_t i = 0; i < m; ++i) {
        const double* g = &g_[i * k_];
        double top = -INFINITY;
        for (int a = 0; a <= k_; ++a) top = std::max(top, dot(g, &verts_[static_cast<size_t>(a) * k_]));
        if (top < h_[i] - 1e-9 * (1.0 + std::fabs(h_[i]) + vmax)) keep_[i] = 0;
      }
      for (int a = 0; a <= k_; ++a) keep_[B.active[a]] = 1;
    }
    // Duplicates keep their first source; the others are remembered (pairs candidate, duplicate row).
    cand_.clear();
    dups_.clear();
    for (size_t i = 0; i < m; ++i) {
      if (!keep_[i]) continue;
      bool dup = false;
      for (int j : cand_) {
        if (std::fabs(h_[i] - h_[j]) > dup_tol_ * (1.0 + std::fabs(h_[i]))) continue;
        dup = true;
        for (int t = 0; t < k_ && dup; ++t) dup = std::fabs(g_[i * k_ + t] - g_[j * k_ + t]) <= dup_tol_;
        if (dup) {
          // Another unit with the same hyperplane changes across the facet too. Another piece of the same unit
          // does not: its pieces tie beyond the facet and the tie goes to the lowest index, the first source.
          if (src_[i] >= 0 && src_[i] != src_[j]) dups_.emplace_back(j, static_cast<int>(i));
          break;
        }
      }
      if (!dup) cand_.push_back(static_cast<int>(i));
    }
    out.candidates += static_cast<int64_t>(cand_.size());
    // Facet LPs start with a cap on the radius near the region's own radius, so that the dual simplex starts
    // among the nearest rows; a cap still binding at the optimum is raised to radius_cap and the solve resumed.
    const double first_cap = std::min(opt_.radius_cap, 2.0 * std::max(B.y[k_], 0.0) + opt_.tol);
    // One LP per candidate: the Chebyshev ball of the region's trace on the candidate's hyperplane, solved in
    // that hyperplane's own coordinates (see facet_lp).
    std::vector<double>& p0 = p0_;
    for (int i : cand_) {
      const double* gi = &g_[static_cast<size_t>(i) * k_];
      const double s = h_[i] - dot(gi, center);
      for (int t = 0; t < k_; ++t) p0[t] = center[t] + s * gi[t];
      double radius = 0.0;
      const LPStatus st = facet_lp(i, p0.data(), first_cap, radius, fpoint_.data());
      if (st != LPStatus::Optimal) return fail(std::string("a facet LP failed (") + lp_status_name(st) + ")");
      if (!(radius > opt_.tol)) continue;
      out.rows.insert(out.rows.end(), gi, gi + k_);
      out.rhs.push_back(h_[i]);
      out.unit.push_back(src_[i]);
      out.piece.push_back(piece_[i]);
      out.points.insert(out.points.end(), fpoint_.begin(), fpoint_.end());
      out.radii.push_back(radius);
      for (const auto& [c, dup] : dups_) {
        if (c != i) continue;
        out.dup_facet.push_back(static_cast<int64_t>(out.rhs.size()) - 1);
        out.dup_unit.push_back(src_[dup]);
        out.dup_piece.push_back(piece_[dup]);
        out.dup_exact.push_back(proportional(i, dup) ? 1 : 0);
      }
    }
    return true;
  }

  // The facet LP of candidate row i: the largest (k-1)-ball of the region's trace on the hyperplane g_i . u = h_i.
  // It is solved in orthonormal coordinates w of that hyperplane, u = p0 + N w (p0 on the hyperplane, the
  // projection of the region's centre; N, k x (k-1), from a Householder reflection that maps g_i to a coordinate
  // axis), so it is an ordinary Chebyshev LP in k - 1 variables plus r: row j becomes
  //     (N^T g_j / |N^T g_j|) . w + r <= (h_j - g_j . p0) / |N^T g_j|,
  // where |N^T g_j| = |g_j - (g_j . g_i) g_i| is the length of g_j's part along the hyperplane. There is no
  // equality row (a pair of opposite rows g_i . u <= h_i, -g_i . u <= -h_i can look violated by rounding with no
  // pivot to repair it, which made the dual simplex report a real facet infeasible), and every right-hand side is
  // a distance from p0, so the LP's tolerances are relative to the region wherever it lies (regions of an
  // unbounded domain can be 1e6 from the origin). The LP is always feasible (r may go to -inf); a row parallel to
  // the hyperplane is a constant: it removes the whole hyperplane (radius -inf) or none of it.
  // The radius starts capped at `cap` (near the region's own radius, so that the dual simplex pivots among the
  // nearest rows) and the solve is resumed with radius_cap when that cap binds. On Optimal, `radius` and the
  // facet's centre `point` (k, in u) are set.
  LPStatus facet_lp(int i, const double* p0, double cap, double& radius, double* point) {
    const int kw = k_ - 1;  // hyperplane coordinates
    const int nw = k_;      // LP variables (w, r)
    const double* gi = &g_[static_cast<size_t>(i) * k_];
    // Householder vector v = g_i + sign(g_i[m]) e_m (m: g_i's largest entry); H = I - 2 v v^T / v.v maps g_i to
    // -sign(g_i[m]) e_m, and H's other rows (H is symmetric) are an orthonormal basis N of the hyperplane.
    int m = 0;
    for (int t = 1; t < k_; ++t)
      if (std::fabs(gi[t]) > std::fabs(gi[m])) m = t;
    hh_.assign(gi, gi + k_);
    hh_[m] += gi[m] >= 0 ? 1.0 : -1.0;
    const double vv = dot(hh_.data(), hh_.data());
    auto to_plane = [&](const double* g, double* a) {  // a = N^T g (kw entries): H g without entry m
      const double f = 2.0 * dot(hh_.data(), g) / vv;
      for (int t = 0, c = 0; t < k_; ++t)
        if (t != m) a[c++] = g[t] - f * hh_[t];
    };
    RowStack& rows = frows_;
    rows.reset(nw);
    std::vector<double>& row = frow_;
    row.assign(nw, 0.0);
    for (int j : cand_) {
      if (j == i) continue;
      const double* gj = &g_[static_cast<size_t>(j) * k_];
      to_plane(gj, row.data());
      const double na = stable_norm(row.data(), kw);
      const double slack = h_[j] - dot(gj, p0);
      // Parallel to the hyperplane (within rounding of unit normals): the row holds on all of it or on none.
      if (!(na > 1e-12)) {
        if (slack < -dup_tol_ * (1.0 + std::fabs(h_[j]))) {
          radius = -INFINITY;
          return LPStatus::Optimal;
        }
        continue;
      }
      for (int t = 0; t < kw; ++t) row[t] /= na;
      row[kw] = 1.0;
      rows.push(row.data(), slack / na);
    }
    std::fill(row.begin(), row.end(), 0.0);
    row[kw] = 1.0;
    const int fcap = rows.m();
    rows.push(row.data(), cap);
    LPBasis& B = fbasis_;
    std::vector<double>& obj = fobj_;
    obj.assign(nw, 0.0);
    obj[kw] = 1.0;
    auto cold_start = [&](double value) {  // pins at w = 0 (the point p0), the cap active
      B.resize(nw);
      for (int t = 0; t < kw; ++t) B.active[t] = -1 - t;
      B.active[kw] = fcap;
      B.rhs[kw] = value;
      for (int t = 0; t < nw; ++t) B.binv[static_cast<size_t>(t) * nw + t] = 1.0;
      B.lambda[kw] = 1.0;
    };
    cold_start(cap);
    LPStatus st = LPStatus::Numerical;
    for (int attempt = 0; attempt < 3; ++attempt) {
      st = simplex_.solve(rows, obj.data(), B, counters_);
      if (st != LPStatus::Optimal) {  // never infeasible in exact arithmetic: one cold restart, then give up
        cold_start(cap);
        st = simplex_.solve(rows, obj.data(), B, counters_, 200 * (rows.m() + nw));
        if (st != LPStatus::Optimal) return st;
      }
      int pos = -1;
      if (cap < opt_.radius_cap)
        for (int a = 0; a < nw; ++a)
          if (B.active[a] == fcap && B.lambda[a] > 0) pos = a;
      if (pos < 0) break;  // the cap does not bind: optimal for the real cap too
      cap = opt_.radius_cap;
      rows.set_rhs(fcap, cap);
      B.rhs[pos] = cap;
    }
    radius = B.y[kw];
    // u = p0 + N w = p0 + H [w with 0 at m]: embed w, then reflect.
    for (int t = 0, c = 0; t < k_; ++t) point[t] = t == m ? 0.0 : B.y[c++];
    const double f = 2.0 * dot(hh_.data(), point) / vv;
    for (int t = 0; t < k_; ++t) point[t] = p0[t] + point[t] - f * hh_[t];
    return st;
  }

  const LPCounters& counters() const { return counters_; }
  const std::string& message() const { return message_; }

 private:
  const Network& net_;
  const DomainForm& dom_;
  FacetOptions opt_;
  const int k_, n_;
  double dup_tol_ = kDuplicate;
  DualSimplex simplex_;
  LPCounters counters_;
  RowStack cheb_, frows_;           // the region's Chebyshev LP; one facet LP
  LPBasis basis_;
  std::vector<double> obj_, row_, p0_;
  std::vector<double> hh_, frow_, fobj_, fpoint_;  // facet LP: Householder vector, row, objective, centre
  LPBasis fbasis_;
  std::vector<double> g_, h_;       // the region's rows, normalised
  std::vector<double> raw_;         // the same rows as composed ((k + 1) per row: g, h), before normalising
  std::vector<int64_t> src_;        // their sources
  std::vector<int8_t> piece_;
  std::vector<double> graw_, hraw_;  // scratch for Network::region_rows
  std::vector<int> uraw_;
  std::vector<int8_t> praw_;
  std::vector<char> keep_;
  std::vector<int> cand_;
  std::vector<std::pair<int, int>> dups_;
  std::vector<double> verts_;
  std::string message_;

  double dot(const double* a, const double* b) const {
    double s = 0.0;
    for (int t = 0; t < k_; ++t) s += a[t] * b[t];
    return s;
  }

  // Whether rows i and j, as composed (before normalising), are exactly proportional with a positive factor:
  // r_i[t] r_j[p] == r_j[t] r_i[p] for every entry t (p: r_i's largest normal entry), each product held exactly
  // as an unevaluated sum a + e (e = fma(x, y, -a), exact unless a product nears underflow; then: not shown).
  // Rows that are one hyperplane only within dup_tol_ are near duplicates: in floating point, one hyperplane and
  // two hyperplanes crossing (or parallel) within rounding of each other look alike.
  bool proportional(int i, int j) const {
    const double* ri = &raw_[static_cast<size_t>(i) * n_];
    const double* rj = &raw_[static_cast<size_t>(j) * n_];
    int p = 0;
    for (int t = 1; t < k_; ++t)
      if (std::fabs(ri[t]) > std::fabs(ri[p])) p = t;
    if (!(ri[p] != 0.0) || !((ri[p] > 0) == (rj[p] > 0)) || rj[p] == 0.0) return false;
    constexpr double kTiny = 1e-280;  // products below this may lose their rounding error to underflow
    for (int t = 0; t <= k_; ++t) {
      const double a = ri[t] * rj[p], b = rj[t] * ri[p];
      if (a != b) return false;
      if (a == 0.0) {
        if (ri[t] != 0.0 || rj[t] != 0.0) return false;
        continue;
      }
      if (std::fabs(a) < kTiny || !std::isfinite(a)) return false;
      if (std::fma(ri[t], rj[p], -a) != std::fma(rj[t], ri[p], -b)) return false;
    }
    return true;
  }

  bool fail(const std::string& msg) {
    message_ = msg;
    return false;
  }

  int push_cap(RowStack& rows, std::vector<double>& row, double value) const {
    std::fill(row.begin(), row.end(), 0.0);
    row[k_] = 1.0;
    rows.push(row.data(), value);
    return rows.m() - 1;
  }

  // Pins at the point p, the radius cap r <= value active: dual feasible for "maximise r".
  void start_basis(LPBasis& B, const double* p, int cap, double value) const {
    B.resize(n_);
    for (int j = 0; j < k_; ++j) {
      B.active[j] = -1 - j;
      B.rhs[j] = p[j];
    }
    B.active[k_] = cap;
    B.rhs[k_] = value;
    for (int i = 0; i < n_; ++i) B.binv[static_cast<size_t>(i) * n_ + i] = 1.0;
    B.lambda[k_] = 1.0;
  }

  bool solve(const RowStack& rows, LPBasis& B) {
    LPStatus st = simplex_.solve(rows, obj_.data(), B, counters_);
    if (st == LPStatus::Optimal) return true;
    if (simplex_.refactor(rows, obj_.data(), B)) st = simplex_.solve(rows, obj_.data(), B, counters_);
    return st == LPStatus::Optimal;
  }

  void collect_rows(const int8_t* pattern) {
    g_.clear();
    h_.clear();
    raw_.clear();
    src_.clear();
    piece_.clear();
    auto add = [&](const double* g, double h, int64_t src, int8_t piece) {
      const double ng = stable_norm(g, k_);
      if (!(ng > kConstantRow)) return;
      for (int t = 0; t < k_; ++t) g_.push_back(g[t] / ng);
      h_.push_back(h / ng);
      raw_.insert(raw_.end(), g, g + k_);
      raw_.push_back(h);
      src_.push_back(src);
      piece_.push_back(piece);
    };
    for (int i = 0; i < dom_.m; ++i) add(dom_.A + static_cast<size_t>(i) * k_, dom_.b[i], -1 - i, -1);
    graw_.clear();
    hraw_.clear();
    uraw_.clear();
    praw_.clear();
    const int r = net_.region_rows(pattern, dom_.x0, dom_.Q, k_, graw_, hraw_, uraw_, praw_);
    for (int i = 0; i < r; ++i) add(&graw_[static_cast<size_t>(i) * k_], hraw_[i], uraw_[i], praw_[i]);
  }

  // Vertices of the simplex bounded by the k + 1 active rows of an optimal Chebyshev basis, when they are all real
  // rows with positive multipliers (then sum_a lambda_a g_a = 0, sum_a lambda_a = 1 and the simplex is bounded).
  // Vertex a lies on every active hyperplane but a's: (v, 0) = y + t B^{-1} e_a with t = -r / lambda_a, where
  // lambda_a = (B^{-1})_{k a}.
  bool simplex_vertices(const LPBasis& B, int cap) {
    for (int a = 0; a <= k_; ++a) {
      if (B.active[a] < 0 || B.active[a] == cap) return false;
      if (!(B.binv[static_cast<size_t>(k_) * n_ + a] > 1e-9)) return false;
    }
    verts_.assign(static_cast<size_t>(n_) * k_, 0.0);
    const double r = B.y[k_];
    for (int a = 0; a <= k_; ++a) {
      const double t = -r / B.binv[static_cast<size_t>(k_) * n_ + a];
      for (int j = 0; j < k_; ++j)
        verts_[static_cast<size_t>(a) * k_ + j] = B.y[j] + t * B.binv[static_cast<size_t>(j) * n_ + a];
    }
    return true;
  }
};

// Hash map from a pattern (its bytes) to a region index.
using PatternIndex = std::unordered_map<std::string_view, int64_t>;

// Regions per chunk of the parallel loops: enough to make a chunk's bookkeeping negligible, few enough to share out.
constexpr int64_t kChunk = 256;

// Append the facets of `part` (regions of one chunk, offsets from 0) to `out`.
void append_facets(FacetSet& out, const FacetSet& part) {
  const int64_t F0 = static_cast<int64_t>(out.rhs.size());
  for (size_t r = 1; r < part.offsets.size(); ++r) out.offsets.push_back(F0 + part.offsets[r]);
  out.rows.insert(out.rows.end(), part.rows.begin(), part.rows.end());
  out.rhs.insert(out.rhs.end(), part.rhs.begin(), part.rhs.end());
  out.unit.insert(out.unit.end(), part.unit.begin(), part.unit.end());
  out.piece.insert(out.piece.end(), part.piece.begin(), part.piece.end());
  out.points.insert(out.points.end(), part.points.begin(), part.points.end());
  out.radii.insert(out.radii.end(), part.radii.begin(), part.radii.end());
  for (int64_t e : part.dup_facet) out.dup_facet.push_back(F0 + e);
  out.dup_unit.insert(out.dup_unit.end(), part.dup_unit.begin(), part.dup_unit.end());
  out.dup_piece.insert(out.dup_piece.end(), part.dup_piece.begin(), part.dup_piece.end());
  out.dup_exact.insert(out.dup_exact.end(), part.dup_exact.begin(), part.dup_exact.end());
  out.rows_total += part.rows_total;
  out.candidates += part.candidates;
}

// Drop the facets of a region left half done: the offsets describe the regions done.
void drop_partial(FacetSet& out) {
  const int k = out.k;
  const size_t F = static_cast<size_t>(out.offsets.back());
  out.rows.resize(F * k);
  out.rhs.resize(F);
  out.unit.resize(F);
  out.piece.resize(F);
  out.points.resize(F * k);
  out.radii.resize(F);
  while (!out.dup_facet.empty() && out.dup_facet.back() >= static_cast<int64_t>(F)) {
    out.dup_facet.pop_back();
    out.dup_unit.pop_back();
    out.dup_piece.pop_back();
    out.dup_exact.pop_back();
  }
}

FacetSet region_facets_threads(const Network& net, const DomainForm& dom, const int8_t* patterns,
                               const double* centers, int64_t R, const FacetOptions& opt,
                               const Checkpoint& checkpoint) {
  const auto t0 = Clock::now();
  const int nu = net.n_units();
  const int k = dom.k;
  const int64_t n = (R + kChunk - 1) / kChunk;
  std::vector<FacetSet> parts(static_cast<size_t>(n));
  std::vector<std::string> failure(static_cast<size_t>(n));
  std::vector<std::unique_ptr<FacetFinder>> finders;
  for (int w = 0; w < opt.threads; ++w) finders.push_back(std::make_unique<FacetFinder>(net, dom, opt));
  bool interrupted = false;
  const std::vector<int8_t> state =
      parallel_chunks(R, kChunk, opt.threads, opt.checkpoint_every, checkpoint, interrupted, [&](int w, int64_t c) {
        FacetSet& part = parts[static_cast<size_t>(c)];
        part.k = k;
        part.offsets.assign(1, 0);
        for (int64_t r = c * kChunk; r < std::min(R, (c + 1) * kChunk); ++r) {
          if (!finders[w]->region(patterns + r * nu, centers + r * k, part)) {
            failure[static_cast<size_t>(c)] = finders[w]->message() + " at region " + std::to_string(r);
            drop_partial(part);
            return false;
          }
          part.offsets.push_back(static_cast<int64_t>(part.rhs.size()));
        }
        return true;
      });
  FacetSet out;
  out.k = k;
  out.offsets.assign(1, 0);
  for (int64_t c = 0; c < n; ++c) {
    if (state[static_cast<size_t>(c)] == 0) {
      out.status = GeometryStatus::Interrupted;
      break;
    }
    append_facets(out, parts[static_cast<size_t>(c)]);
    parts[static_cast<size_t>(c)] = FacetSet();  // freed once copied
    if (state[static_cast<size_t>(c)] == 2) {
      out.status = GeometryStatus::Numerical;
      out.message = failure[static_cast<size_t>(c)];
      break;
    }
  }
  if (interrupted && out.status == GeometryStatus::Complete && out.regions() < R)
    out.status = GeometryStatus::Interrupted;
  for (const auto& f : finders) {
    out.lps += f->counters().solves;
    out.lp_iterations += f->counters().iterations;
  }
  out.seconds = seconds_since(t0);
  return out;
}

}  // namespace

FacetSet region_facets(const Network& net, const DomainForm& dom, const int8_t* patterns, const double* centers,
                       int64_t R, const FacetOptions& opt, const Checkpoint& checkpoint) {
  if (dom.k < 1) throw std::invalid_argument("domain: needs at least one free coordinate");
  if (!(opt.tol > 0) || !std::isfinite(opt.tol)) throw std::invalid_argument("tol: must be positive and finite");
  if (!(opt.radius_cap > opt.tol)) throw std::invalid_argument("radius_cap: must exceed tol");
  if (R < 0) throw std::invalid_argument("patterns: negative count");
  if (opt.threads > 1 && R > kChunk) return region_facets_threads(net, dom, patterns, centers, R, opt, checkpoint);
  const auto t0 = Clock::now();
  const int nu = net.n_units();
  const int k = dom.k;
  FacetSet out;
  out.k = k;
  out.offsets.reserve(static_cast<size_t>(R) + 1);
  out.offsets.push_back(0);
  FacetFinder finder(net, dom, opt);
  for (int64_t r = 0; r < R; ++r) {
    if (!finder.region(patterns + r * nu, centers + r * k, out)) {
      out.status = GeometryStatus::Numerical;
      out.message = finder.message() + " at region " + std::to_string(r);
      drop_partial(out);
      break;
    }
    out.offsets.push_back(static_cast<int64_t>(out.rhs.size()));
    if (opt.checkpoint_every > 0 && (r + 1) % opt.checkpoint_every == 0 && r + 1 < R && checkpoint &&
        !checkpoint(r + 1)) {
      out.status = GeometryStatus::Interrupted;
      break;
    }
  }
  out.lps = finder.counters().solves;
  out.lp_iterations = finder.counters().iterations;
  out.seconds = seconds_since(t0);
  return out;
}

Adjacency region_adjacency(const Network& net, const DomainForm& dom, const int8_t* patterns, const FacetView& f,
                           const AdjacencyOptions& opt, const Checkpoint& checkpoint) {
  const auto t0 = Clock::now();
  const int nu = net.n_units();
  const int k = f.k;
  const int d = net.in_dim();
  if (k != dom.k) throw std::invalid_argument("facets: dimension does not match the domain");
  const int64_t R = f.R;
  const int64_t F = f.offsets[R];
  // Layer of every unit.
  std::vector<int> layer_of(nu);
  for (int l = 0; l < static_cast<int>(net.layers().size()); ++l)
    for (int j = 0; j < net.layers()[l].n_units; ++j) layer_of[net.unit_offset(l) + j] = l;
  PatternIndex index;
  index.reserve(static_cast<size_t>(R) * 2);
  for (int64_t r = 0; r < R; ++r)
    index.emplace(std::string_view(reinterpret_cast<const char*>(patterns + r * nu), nu), r);

  // Coincident sources of every facet, as CSR.
  std::vector<int64_t> dup_off(static_cast<size_t>(F) + 1, 0);
  for (int64_t a = 0; a < f.D; ++a) {
    if (f.dup_facet[a] < 0 || f.dup_facet[a] >= F || (a > 0 && f.dup_facet[a] < f.dup_facet[a - 1]))
      throw std::invalid_argument("dup_facet: must be sorted facet indices");
    if (f.dup_unit[a] < 0 || f.dup_unit[a] >= nu) throw std::invalid_argument("dup_unit: index out of range");
    ++dup_off[f.dup_facet[a] + 1];
  }
  for (int64_t e = 0; e < F; ++e) dup_off[e + 1] += dup_off[e];

  auto contains = [&](int64_t j, const double* p) {
    for (int64_t e = f.offsets[j]; e < f.offsets[j + 1]; ++e) {
      const double* g = f.rows + e * k;
      double v = -f.rhs[e];
      for (int t = 0; t < k; ++t) v += g[t] * p[t];
      if (v > opt.contain_tol) return false;
    }
    return true;
  };
  auto lookup = [&](const std::vector<int8_t>& pat) -> int64_t {
    auto it = index.find(std::string_view(reinterpret_cast<const char*>(pat.data()), nu));
    return it == index.end() ? -1 : it->second;
  };

  Adjacency out;
  out.neighbor.assign(F, -1);
  out.found_by.assign(F, -1);
  out.expected.assign(F, 0);
  out.undecided.assign(F, 0);
  // (i, j, 1 if undecided else 0, 0 if from i else 1, facet)
  using Found = std::vector<std::tuple<int64_t, int64_t, int, int, int64_t>>;
  // The neighbours across the facets of region i (writes only entries of i's facets); scratch per worker.
  auto region = [&](int64_t i, std::vector<int8_t>& pat, std::vector<double>& x, std::vector<double>& dx,
                    Found& found, int64_t& forward_passes) {
    const int8_t* pi = patterns + i * nu;
    for (int64_t e = f.offsets[i]; e < f.offsets[i + 1]; ++e) {
      const int64_t u = f.unit[e];
      if (u < 0) continue;  // a domain facet
      const double* p = f.points + e * k;
      std::copy(pi, pi + nu, pat.begin());
      pat[u] = f.piece[e];
      for (int64_t a = dup_off[e]; a < dup_off[e + 1]; ++a) pat[f.dup_unit[a]] = f.dup_piece[a];
      int64_t j = lookup(pat);
      int8_t how = 0;
      if (j < 0 || j == i || !contains(j, p)) {
        // The pattern just across the facet: at p + t g for t -> 0+, by values and slopes along the facet's
        // outward normal g (Network::pattern_across). Pieces whose tie passes within tau = tol / 100 of p (the facet's
        // own unit, units with the same hyperplane) are decided by their slopes. No finite step is taken, so no
        // constant decides how far across to look: a region across the facet is the one just across it, however
        // thin it is there; if that pattern is not in the partition (a region thinner than tol), the facet is a gap.
        j = -2;
        how = 1;
        const double* g = f.rows + e * k;
        for (int a = 0; a < d; ++a) {
          double v = dom.x0[a], dv = 0.0;
          const double* qa = dom.Q + static_cast<size_t>(a) * k;
          for (int t = 0; t < k; ++t) {
            v += qa[t] * p[t];
            dv += qa[t] * g[t];
          }
          x[a] = v;
          dx[a] = dv;
        }
        net.pattern_across(x.data(), dx.data(), 0.01 * opt.tol, pat.data());
        ++forward_passes;
        const int64_t c = lookup(pat);
        if (c >= 0 && c != i && contains(c, p)) j = c;
      }
      if (j < 0) {
        out.neighbor[e] = -2;
        continue;
      }
      out.neighbor[e] = j;
      out.found_by[e] = how;
      // The expected change: equal before the unit's layer and on the layer's other units, the unit at piece s
      // (and units with the same hyperplane at theirs).
      const int l = layer_of[u];
      const int end = net.unit_offset(l) + net.layers()[l].n_units;
      const int8_t* pj = patterns + j * nu;
      std::copy(pi, pi + end, pat.begin());
      pat[u] = f.piece[e];
      for (int64_t a = dup_off[e]; a < dup_off[e + 1]; ++a)
        if (f.dup_unit[a] < end) pat[f.dup_unit[a]] = f.dup_piece[a];
      bool ok = true;
      for (int v = 0; v < end && ok; ++v) ok = pj[v] == pat[v];
      out.expected[e] = ok ? 1 : 0;
      // A unit whose row is the facet's hyperplane only within rounding (FacetSet::dup_exact): whether the two
      // rows are one hyperplane (the regions share the facet) or two crossing or parallel within rounding (then
      // thin regions lie between them, and the two touch in a lower-dimensional face at most) is not decided in
      // floating point. The pair is reported as undecided, not as an edge.
      int8_t und = 0;
      for (int64_t a = dup_off[e]; a < dup_off[e + 1] && !und; ++a) und = f.dup_exact[a] ? 0 : 1;
      out.undecided[e] = und;
      if (i < j) found.emplace_back(i, j, und, 0, e);
      else found.emplace_back(j, i, und, 1, e);
    }
  };
  for (int64_t e = 0; e < F; ++e)  // checked before any worker starts
    if (f.unit[e] >= nu) throw std::invalid_argument("facets: unit index out of range");
  Found found;
  if (opt.threads > 1 && R > kChunk) {
    const int64_t n = (R + kChunk - 1) / kChunk;
    std::vector<Found> parts(static_cast<size_t>(n));
    std::vector<int64_t> passes(static_cast<size_t>(opt.threads), 0);
    std::vector<std::vector<int8_t>> pats(opt.threads, std::vector<int8_t>(nu));
    std::vector<std::vector<double>> xs(opt.threads, std::vector<double>(d)), dxs(opt.threads, std::vector<double>(d));
    bool interrupted = false;
    const std::vector<int8_t> state =
        parallel_chunks(R, kChunk, opt.threads, opt.checkpoint_every, checkpoint, interrupted, [&](int w, int64_t c) {
          for (int64_t i = c * kChunk; i < std::min(R, (c + 1) * kChunk); ++i)
            region(i, pats[w], xs[w], dxs[w], parts[static_cast<size_t>(c)], passes[w]);
          return true;
        });
    for (int64_t p : passes) out.forward_passes += p;
    int64_t c = 0;
    for (; c < n && state[static_cast<size_t>(c)] == 1; ++c)
      found.insert(found.end(), parts[static_cast<size_t>(c)].begin(), parts[static_cast<size_t>(c)].end());
    if (c < n) {  // stopped: only the regions done in a row from the first count, as on one thread
      out.status = GeometryStatus::Interrupted;
      for (int64_t e = f.offsets[std::min(R, c * kChunk)]; e < F; ++e) {
        out.neighbor[e] = -1;
        out.found_by[e] = -1;
        out.expected[e] = 0;
        out.undecided[e] = 0;
      }
    }
  } else {
    std::vector<int8_t> pat(nu);
    std::vector<double> x(d), dx(d);
    found.reserve(static_cast<size_t>(F) / 2 + 1);
    for (int64_t i = 0; i < R; ++i) {
      region(i, pat, x, dx, found, out.forward_passes);
      if (opt.checkpoint_every > 0 && (i + 1) % opt.checkpoint_every == 0 && i + 1 < R && checkpoint &&
          !checkpoint(i + 1)) {
        out.status = GeometryStatus::Interrupted;
        break;
      }
    }
  }
  std::sort(found.begin(), found.end());
  for (size_t a = 0; a < found.size(); ++a) {
    const auto& [i, j, und, side, e] = found[a];
    if (a > 0 && std::get<0>(found[a - 1]) == i && std::get<1>(found[a - 1]) == j) continue;
    size_t z = a;  // a pair found undecided across any of its facets is undecided (sorted last among its own)
    while (z + 1 < found.size() && std::get<0>(found[z + 1]) == i && std::get<1>(found[z + 1]) == j) ++z;
    if (std::get<2>(found[z])) {
      out.undecided_edges.push_back(i);
      out.undecided_edges.push_back(j);
      out.undecided_facet.push_back(std::get<4>(found[und ? a : z]));
      continue;
    }
    out.edges.push_back(i);
    out.edges.push_back(j);
    out.edge_facet.push_back(e);
    const int64_t u = f.unit[e];
    const int l = layer_of[u];
    out.edge_unit.push_back(u);
    out.edge_layer.push_back(l);
    out.edge_index.push_back(u - net.unit_offset(l));
    (void)side;
  }
  out.seconds = seconds_since(t0);
  return out;
}

}  // namespace relutope
