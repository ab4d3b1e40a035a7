#include "relutope/verify.hpp"

#include "relutope/attack.hpp"
#include "relutope/norms.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace relutope {

namespace {

// Interval of a + g.u over the box [blo, bhi] (g has k entries, a = g[k]).
inline void affine_interval(const double* g, int k, const double* blo, const double* bhi, double& lo, double& hi) {
  lo = hi = g[k];
  for (int j = 0; j < k; ++j) {
    const double a = g[j] * blo[j], b = g[j] * bhi[j];
    lo += std::min(a, b);
    hi += std::max(a, b);
  }
}

// Tighten the box [lo, hi] (k entries, containing the cell) by the cell's rows a.u <= h (a: the first k entries
// of a row; rows without them are the radius caps), each coordinate by the others' extreme values over the box
// (bound propagation, as presolve and FBBT do), `passes` times over the rows. Every bound moves by at most what
// the row allows, widened by 1e-12 of the magnitudes summed, so the box still contains the cell.
void tighten_box(const RowStack& rows, int k, double* lo, double* hi, int passes) {
  for (int pass = 0; pass < passes; ++pass)
    for (int i = 0; i < rows.m(); ++i) {
      const double* a = rows.row(i);
      double act = 0.0, mag = std::fabs(rows.rhs(i));
      int nz = 0;
      for (int j = 0; j < k; ++j) {
        if (a[j] == 0.0) continue;
        const double t = a[j] > 0.0 ? a[j] * lo[j] : a[j] * hi[j];
        act += t;
        mag += std::fabs(t);
        ++nz;
      }
      if (nz == 0 || !std::isfinite(act)) continue;
      for (int j = 0; j < k; ++j) {
        if (a[j] == 0.0) continue;
        const double own = a[j] > 0.0 ? a[j] * lo[j] : a[j] * hi[j];
        const double res = rows.rhs(i) - (act - own) + 1e-12 * mag;  // a_j u_j <= res on the cell
        if (a[j] > 0.0) {
          const double b = res / a[j];
          if (b < hi[j] && b >= lo[j]) hi[j] = b;
        } else {
          const double b = res / a[j];
          if (b > lo[j] && b <= hi[j]) lo[j] = b;
        }
      }
    }
}

}  // namespace

// ---------------------------------------------------------------- the cell's relaxation

void CellRelaxation::set_time_limit(double seconds) {
  has_deadline_ = seconds >= 0.0;
  if (has_deadline_)
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

bool CellRelaxation::past_deadline() const { return has_deadline_ && std::chrono::steady_clock::now() > deadline_; }

bool CellRelaxation::lp_box(const CellView& v, LPBasis& scratch, std::vector<double>& blo, std::vector<double>& bhi) {
  const int k = v.k;
  blo.assign(k, 0.0);
  bhi.assign(k, 0.0);
  g_.assign(k, 0.0);
  arg_.resize(k);
  for (int j = 0; j < k; ++j) {
    if (past_deadline()) return false;  // 2k LPs: on a wide domain, seconds
    double val;
    g_[j] = 1.0;
    if (cell_max(v, g_.data(), val, arg_.data(), scratch) != LPStatus::Optimal) return false;
    bhi[j] = val;
    g_[j] = -1.0;
    if (cell_max(v, g_.data(), val, arg_.data(), scratch) != LPStatus::Optimal) return false;
    blo[j] = -val;
    g_[j] = 0.0;
  }
  return true;
}

LPStatus CellRelaxation::cell_max(const CellView& v, const double* g, double& value, double* argmax,
                                  LPBasis& scratch) {
  const int k = v.k;
  if (warm_rows_ != v.rows->m()) clear_warm(), warm_rows_ = v.rows->m();
  const LPBasis* start = nullptr;
  double best = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < warm_n_; ++i) {
    double gy = 0.0;
    for (int j = 0; j < k; ++j) gy += g[j] * warm_[i].y[j];
    if (gy > best) best = gy, start = &warm_[i];
  }
  const LPStatus st = v.maximize(g, value, argmax, scratch, start);
  if (st == LPStatus::Optimal) {
    if (warm_.size() != static_cast<size_t>(kWarm)) warm_.resize(kWarm);
    warm_[warm_next_].assign(scratch);
    warm_next_ = (warm_next_ + 1) % kWarm;
    warm_n_ = std::min(warm_n_ + 1, kWarm);
  }
  return st;
}

// The domain's box from its axis-aligned rows (a Box domain: no LP), else by LPs over the domain (the first
// prune() call is on the domain itself).
bool CellRelaxation::domain_box(const CellView& v, LPBasis& scratch) {
  const int k = v.k;
  const double inf = std::numeric_limits<double>::infinity();
  dlo_.assign(k, -inf);
  dhi_.assign(k, inf);
  const RowStack& rows = *v.rows;
  bool axis = true;
  for (int i = 0; i < rows.m() && axis; ++i) {
    const double* a = rows.row(i);
    int nz = -1, count = 0;
    for (int j = 0; j < k; ++j)
      if (a[j] != 0.0) nz = j, ++count;
    if (count == 0) continue;  // the radius cap
    if (count > 1) {
      axis = false;
      break;
    }
    const double bound = rows.rhs(i) / a[nz];
    if (a[nz] > 0.0) dhi_[nz] = std::min(dhi_[nz], bound);
    else dlo_[nz] = std::max(dlo_[nz], bound);
  }
  for (int j = 0; j < k && axis; ++j) axis = std::isfinite(dlo_[j]) && std::isfinite(dhi_[j]);
  if (!axis && !lp_box(v, scratch, dlo_, dhi_)) return false;
  have_domain_box_ = true;
  return true;
}

bool CellRelaxation::compute(const CellView& v, LPBasis& scratch) {
  const int nL = static_cast<int>(v.net->layers().size());
  if (relax_.network() != v.net) {
    relax_.reset(v.net);
    anc_.assign(nL, LayerBounds());
    anc_pattern_.assign(nL, std::vector<int8_t>());
    have_domain_box_ = false;
  }
  if (anc_lo_.size() != anc_.size()) {
    anc_lo_.assign(nL, std::vector<double>());
    anc_hi_.assign(nL, std::vector<double>());
  }
  anc_[v.layer].valid = false;
  use_thin_ = use_parent_ = false;
  clear_warm();  // a new cell
  if (past_deadline()) return false;
  if (!have_domain_box_) {
    SharedBox& sb = *shared_box_;
    if (sb.ready.load(std::memory_order_acquire)) {  // a copy that starts on a job handed over
      dlo_ = sb.lo;
      dhi_ = sb.hi;
      have_domain_box_ = true;
    } else if (v.layer != 0 || !domain_box(v, scratch)) {  // the domain: layer 0
      return false;
    } else {
      std::lock_guard<std::mutex> lock(sb.mu);
      if (!sb.ready.load(std::memory_order_relaxed)) {
        sb.lo = dlo_;
        sb.hi = dhi_;
        sb.ready.store(true, std::memory_order_release);
      }
    }
  }
  if (v.k <= kBoxLPs && v.layer > 0) {
    if (!lp_box(v, scratch, lo, hi)) return false;
    for (int j = 0; j < v.k; ++j) lo[j] = std::max(lo[j], dlo_[j]), hi[j] = std::min(hi[j], dhi_[j]);
  } else {
    lo = dlo_;
    hi = dhi_;
  }
  if (past_deadline()) return false;
  const LayerBounds* prior = nullptr;
  if (v.layer > 0 && anc_[v.layer - 1].valid) {
    const std::vector<int8_t>& was = anc_pattern_[v.layer - 1];
    if (std::equal(was.begin(), was.end(), v.pattern)) prior = &anc_[v.layer - 1];
  }
  if (v.k <= kBoxLPs && v.layer > 0) {
    // The quantities that the box leaves unstable, bounded by an LP over the cell itself (min g.u: maximise -g.u),
    // less the LP's error: its optimum may lie box_error() outside the cell along each coordinate.
    const double delta = box_error(v);
    const int k = v.k;
    relax_.set_min = [&, delta, k](const double* g, double& low) {
      if (past_deadline()) return false;
      neg_.resize(k);
      arg_.resize(k);
      double l1 = 0.0, mag = std::fabs(g[k]);
      for (int j = 0; j < k; ++j) {
        neg_[j] = -g[j];
        l1 += std::fabs(g[j]);
        mag += std::fabs(g[j]) * std::max(std::fabs(lo[j]), std::fabs(hi[j]));
      }
      double val;
      if (cell_max(v, neg_.data(), val, arg_.data(), scratch) != LPStatus::Optimal) return false;
      low = g[k] - val - delta * l1 - 1e-9 * mag;
      return true;
    };
  }
  relax_.bound_layers(v.layer, v.k, v.pieces, lo.data(), hi.data(), prior, anc_[v.layer]);
  relax_.set_min = nullptr;
  anc_pattern_[v.layer].assign(v.pattern, v.pattern + v.net->unit_offset(v.layer));
  anc_lo_[v.layer] = lo;
  anc_hi_[v.layer] = hi;
  return true;
}

bool CellRelaxation::from_parent(const CellView& v) {
  use_parent_ = false;
  const int l = v.layer;
  if (l == 0 || relax_.network() != v.net || anc_lo_.size() != anc_.size() || !anc_[l - 1].valid) return false;
  const std::vector<int8_t>& was = anc_pattern_[l - 1];
  if (!std::equal(was.begin(), was.end(), v.pattern) || past_deadline()) return false;
  parent_ = anc_[l - 1];  // layers l-1.. over the parent (a superset of the cell): valid on the cell
  lo = anc_lo_[l - 1];
  hi = anc_hi_[l - 1];
  tighten_box(*v.rows, v.k, lo.data(), hi.data(), 2);  // the cell's own rows (the splits since the parent)
  relax_.tighten_start(l, v.k, v.pieces, lo.data(), hi.data(), parent_);
  use_thin_ = false;
  use_parent_ = true;
  return true;
}

// The error of a box found by LPs (lp_box): an LP's optimum may violate a row a.u <= h (|a| = 1) by
// feas_tol (1 + |h|) (lp.hpp), |h| at most the cell's largest |u|; ten times that. In the engine's coordinates
// (centred on the domain, in units of its size: the frame of enumerate.py's _engine_call), so the same for a
// domain and network scaled together by any factor.
double CellRelaxation::box_error(const CellView& v) const {
  double size = 1.0;
  for (int j = 0; j < v.k; ++j) size = std::max(size, std::max(std::fabs(lo[j]), std::fabs(hi[j])));
  return 10.0 * v.simplex->feas_tol * size;
}

int CellRelaxation::stable_sides(const CellView& v, std::vector<int8_t>& side) const {
  const int l = v.layer, k = v.k;
  if (use_thin_ || relax_.network() != v.net || static_cast<int>(lo.size()) != k) return -1;
  const LayerBounds* b = use_parent_ ? &parent_ : nullptr;
  if (!b && (l >= static_cast<int>(anc_.size()) || !anc_[l].valid)) return -1;
  if (!b) {
    const std::vector<int8_t>& was = anc_pattern_[l];
    if (!std::equal(was.begin(), was.end(), v.pattern)) return -1;  // another cell's bounds
    b = &anc_[l];
  }
  if (static_cast<int>(b->lo.size()) <= l || b->lo[l].empty()) return -1;
  const double delta = box_error(v);
  const Layer& L = v.net->layers()[l];
  side.assign(L.n_units, -1);
  int stable = 0;
  for (int i = 0; i < L.n_units; ++i) {
    if (L.n_pieces(i) != 2) continue;
    const int p0 = L.piece_start[i];
    const double* f0 = v.pieces + static_cast<size_t>(p0) * (k + 1);
    const double* f1 = f0 + (k + 1);
    double g1 = 0.0;
    for (int j = 0; j < k; ++j) g1 += std::fabs(f1[j] - f0[j]);
    const double margin = delta * g1;
    if (b->lo[l][p0 + 1] > margin) side[i] = 1, ++stable;
    else if (b->hi[l][p0 + 1] < -margin) side[i] = 0, ++stable;
  }
  return stable;
}

bool CellRelaxation::compute_thin(const CellView& v, LPBasis& scratch) {
  if (relax_.network() != v.net) {
    relax_.reset(v.net);
    anc_.assign(v.net->layers().size(), LayerBounds());
    anc_pattern_.assign(v.net->layers().size(), std::vector<int8_t>());
    have_domain_box_ = false;
  }
  use_thin_ = use_parent_ = false;
  clear_warm();  // a new cell
  if (past_deadline() || !lp_box(v, scratch, lo, hi)) return false;
  // The LP's optimum may violate a row by its feasibility tolerance: widen by box_error().
  const double slack = box_error(v);
  for (int j = 0; j < v.k; ++j) lo[j] -= slack, hi[j] += slack;
  relax_.bound_layers(v.layer, v.k, v.pieces, lo.data(), hi.data(), nullptr, thin_);
  use_thin_ = true;
  return true;
}

void CellRelaxation::lower_linear(const CellView& v, int q, const double* C, const double* d, std::vector<double>& G) {
  relax_.lower_linear(v.layer, v.k, v.pieces, use_thin_ ? thin_ : (use_parent_ ? parent_ : anc_[v.layer]), q, C, d, G);
}

double CellRelaxation::box_min(const double* g, double* slack) const {
  const int k = static_cast<int>(lo.size());
  if (slack) {
    double mag = std::fabs(g[k]);
    for (int j = 0; j < k; ++j) mag += std::fabs(g[j]) * std::max(std::fabs(lo[j]), std::fabs(hi[j]));
    *slack = 1e-9 * mag;
  }
  return Relaxation::box_min(g, k, lo.data(), hi.data());
}

void CellRelaxation::output_at(const CellView& v, const double* u, std::vector<double>& y) {
  forward_from(*v.net, v.layer, v.k, v.pieces, u, z_, y);
}

bool recession_ray(const CellView& v, const double* g, std::vector<double>& ray) {
  const int k = v.k;
  const RowStack& rows = *v.rows;
  std::vector<double> G;
  G.reserve(static_cast<size_t>(rows.m()) * k);
  int m = 0;
  for (int i = 0; i < rows.m(); ++i) {
    const double* a = rows.row(i);  // (a_u, a_r): the cell is {u : a_u.u <= h} at r = 0
    double nrm = 0.0;
    for (int j = 0; j < k; ++j) nrm += a[j] * a[j];
    if (nrm == 0.0) continue;     // the radius rows
    G.insert(G.end(), a, a + k);
    ++m;
  }
  const std::vector<double> zero(m, 0.0), lb(k, -1.0), ub(k, 1.0);
  const LPResult res = solve_lp(k, m, g, G.data(), zero.data(), lb.data(), ub.data());
  double gnorm = 0.0;
  for (int j = 0; j < k; ++j) gnorm += g[j] * g[j];
  if (res.status != LPStatus::Optimal || !(res.value > 1e-9 * std::sqrt(gnorm))) return false;
  ray.assign(res.y.begin(), res.y.end());
  return true;
}

// ---------------------------------------------------------------- output bounds

OutputBoundsVisitor::OutputBoundsVisitor(int q, int out_dim, const double* C, const double* d, int k, bool prune)
    : q_(q), m_(out_dim), k_(k), shared_(std::make_shared<Incumbent>(q)), C_(C, C + static_cast<size_t>(q) * out_dim),
      d_(d, d + q), prune_(prune) {
  max_value.assign(q, -std::numeric_limits<double>::infinity());
  min_value.assign(q, std::numeric_limits<double>::infinity());
  argmax.assign(static_cast<size_t>(q) * k, 0.0);
  argmin.assign(static_cast<size_t>(q) * k, 0.0);
  ray_max.assign(static_cast<size_t>(q) * k, 0.0);
  ray_min.assign(static_cast<size_t>(q) * k, 0.0);
  scratch_.resize(k + 1);
  g_.resize(k + 1);
  point_.resize(k);
}

bool OutputBoundsVisitor::prune(const CellView& v) {
  if (!prune_) return false;
  if (cell_.from_parent(v) && cannot_improve(v)) {  // the parent's bounds first: no LP box
    ++parent_pruned;
    return true;
  }
  if (!cell_.compute(v, scratch_) || v.layer == 0) return false;
  return cannot_improve(v);
}

bool OutputBoundsVisitor::thin(const CellView& v, bool last) {
  if (!cell_.compute_thin(v, scratch_)) {
    if (last && !cell_.past_deadline()) {
      failed = true;
      message = "the relaxation bounds of a thin cell could not be computed";
    }
    return false;
  }
  if (cannot_improve(v)) return true;
  if (!last) return false;
  // The relaxation's bounds of every row over the cell: C_i y + d_i in [-(min of G_{2i+1}), min of G_{2i}] ...
  // with zero offsets: rows 2i (-(C_i y + d_i)) and 2i+1 (C_i y + d_i).
  bound_both_sides(v, nullptr, nullptr);
  for (int r = 0; r < 2 * q_; ++r) {
    const double* g = &G_[static_cast<size_t>(r) * (k_ + 1)];
    double slack;
    const double low = cell_.box_min(g, &slack) - slack;  // a lower bound of row r's objective over the cell
    const int i = r / 2;
    if (r % 2 == 0 && -low > max_value[i]) {
      max_value[i] = -low;
      std::copy(v.basis->y.begin(), v.basis->y.begin() + k_, argmax.begin() + static_cast<size_t>(i) * k_);
    } else if (r % 2 == 1 && low < min_value[i]) {
      min_value[i] = low;
      std::copy(v.basis->y.begin(), v.basis->y.begin() + k_, argmin.begin() + static_cast<size_t>(i) * k_);
    }
    if (r % 2 == 1) publish(i);
  }
  ++widened;
  return true;
}

void OutputBoundsVisitor::bound_both_sides(const CellView& v, const double* upper, const double* lower) {
  Cd_.resize(static_cast<size_t>(2 * q_) * m_);
  dd_.resize(2 * q_);
  for (int i = 0; i < q_; ++i) {
    const double* c = &C_[static_cast<size_t>(i) * m_];
    for (int j = 0; j < m_; ++j) {
      Cd_[static_cast<size_t>(2 * i) * m_ + j] = -c[j];
      Cd_[static_cast<size_t>(2 * i + 1) * m_ + j] = c[j];
    }
    dd_[2 * i] = (upper ? upper[i] : 0.0) - d_[i];
    dd_[2 * i + 1] = d_[i] - (lower ? lower[i] : 0.0);
  }
  cell_.lower_linear(v, 2 * q_, Cd_.data(), dd_.data(), G_);
}

namespace {
void atomic_max(std::atomic<double>& a, double x) {
  double cur = a.load(std::memory_order_relaxed);
  while (x > cur && !a.compare_exchange_weak(cur, x, std::memory_order_relaxed)) {
  }
}
}  // namespace

void OutputBoundsVisitor::publish(int i) {
  atomic_max(shared_->hi[i], max_value[i]);
  atomic_max(shared_->neg_lo[i], -min_value[i]);
}

bool OutputBoundsVisitor::cannot_improve(const CellView& v) {
  // The incumbents of every copy (this one's included: publish() follows each change of its own).
  best_hi_.resize(q_);
  best_lo_.resize(q_);
  for (int i = 0; i < q_; ++i) {
    best_hi_[i] = shared_->hi[i].load(std::memory_order_relaxed);
    best_lo_[i] = -shared_->neg_lo[i].load(std::memory_order_relaxed);
    if (!std::isfinite(best_hi_[i]) || !std::isfinite(best_lo_[i])) return false;  // nothing to compare with
  }
  // The cell cannot improve row i when max_i - (C_i y + d_i) >= 0 and (C_i y + d_i) - min_i >= 0 on it: rows 2i
  // and 2i+1 of the objectives, each bounded below by the relaxation, over the box and then over the cell.
  bound_both_sides(v, best_hi_.data(), best_lo_.data());
  g_.resize(k_ + 1);
  for (int r = 0; r < 2 * q_; ++r) {
    const double* g = &G_[static_cast<size_t>(r) * (k_ + 1)];
    double slack;
    if (cell_.box_min(g, &slack) >= slack) continue;
    // The minimum over the cell itself: one LP (maximise -g.u).
    if (cell_.past_deadline()) return false;
    for (int j = 0; j < k_; ++j) g_[j] = -g[j];
    double val;
    if (v.maximize(g_.data(), val, point_.data(), scratch_) != LPStatus::Optimal) return false;
    if (g[k_] - val < slack) return false;
  }
  return true;
}

bool OutputBoundsVisitor::leaf(const CellView& v) {
  const double inf = std::numeric_limits<double>::infinity();
  v.output_map(map_);
  for (int i = 0; i < q_; ++i) {
    std::fill(g_.begin(), g_.end(), 0.0);
    const double* c = &C_[static_cast<size_t>(i) * m_];
    for (int o = 0; o < m_; ++o)
      for (int j = 0; j <= k_; ++j) g_[j] += c[o] * map_[static_cast<size_t>(o) * (k_ + 1) + j];
    const double off = g_[k_] + d_[i];
    for (int sense = 0; sense < 2; ++sense) {  // sense 0: max g.u, sense 1: max -g.u
      const bool done = sense == 0 ? max_value[i] == inf : min_value[i] == -inf;
      if (!done) {
        double val;
        const LPStatus st = v.maximize(g_.data(), val, point_.data(), scratch_);
        std::vector<double>& best_arg = sense == 0 ? argmax : argmin;
        if (st == LPStatus::Unbounded) {
          if (!recession_ray(v, g_.data(), ray_)) {
            failed = true;
            message = std::string("the ") + (sense == 0 ? "maximum" : "minimum") + " of row " + std::to_string(i) +
                      " is unbounded on a region, but no recession direction of the region along which it grows "
                      "was found";
            return false;
          }
          (sense == 0 ? max_value[i] : min_value[i]) = sense == 0 ? inf : -inf;
          std::copy(v.basis->y.begin(), v.basis->y.begin() + k_, best_arg.begin() + static_cast<size_t>(i) * k_);
          std::copy(ray_.begin(), ray_.end(), (sense == 0 ? ray_max : ray_min).begin() + static_cast<size_t>(i) * k_);
        } else if (st != LPStatus::Optimal && v.simplex->timed_out()) {
          timed_out = true;
          return false;
        } else if (st != LPStatus::Optimal) {
          failed = true;
          message = std::string("the LP for the ") + (sense == 0 ? "maximum" : "minimum") + " of row " +
                    std::to_string(i) + " on a region failed (" + lp_status_name(st) + ")";
          return false;
        } else if (sense == 0 && val + off > max_value[i]) {
          max_value[i] = val + off;
          std::copy(point_.begin(), point_.end(), best_arg.begin() + static_cast<size_t>(i) * k_);
        } else if (sense == 1 && off - val < min_value[i]) {
          min_value[i] = off - val;
          std::copy(point_.begin(), point_.end(), best_arg.begin() + static_cast<size_t>(i) * k_);
        }
      }
      for (int j = 0; j < k_; ++j) g_[j] = -g_[j];
    }
    publish(i);
  }
  return true;
}

std::unique_ptr<RegionVisitor> OutputBoundsVisitor::clone() const {
  auto copy = std::make_unique<OutputBoundsVisitor>(*this);
  copy->widened = copy->parent_pruned = copy->hinted = 0;  // counts are summed by merge()
  return copy;
}

void OutputBoundsVisitor::merge(const RegionVisitor& other) {
  const auto& o = static_cast<const OutputBoundsVisitor&>(other);
  if (o.failed && !failed) {
    failed = true;
    message = o.message;
  }
  timed_out = timed_out || o.timed_out;
  widened += o.widened;
  parent_pruned += o.parent_pruned;
  hinted += o.hinted;
  const size_t k = static_cast<size_t>(k_);
  for (int i = 0; i < q_; ++i) {
    if (o.max_value[i] > max_value[i]) {
      max_value[i] = o.max_value[i];
      std::copy_n(&o.argmax[i * k], k, &argmax[i * k]);
      std::copy_n(&o.ray_max[i * k], k, &ray_max[i * k]);
    }
    if (o.min_value[i] < min_value[i]) {
      min_value[i] = o.min_value[i];
      std::copy_n(&o.argmin[i * k], k, &argmin[i * k]);
      std::copy_n(&o.ray_min[i * k], k, &ray_min[i * k]);
    }
  }
}

// ---------------------------------------------------------------- properties

PropertyVisitor::PropertyVisitor(std::vector<Term> terms, int out_dim, int k, bool prune, bool stop_at_first)
    : terms_(std::move(terms)), m_(out_dim), k_(k), prune_(prune), stop_(stop_at_first) {
  scratch_.resize(k + 1);
  centre_.resize(k);
}

bool PropertyVisitor::prune(const CellView& v) {
  if (!prune_) return false;
  done_.assign(terms_.size(), 0);
  if (cell_.from_parent(v)) {  // the parent's bounds first: no LP box
    const bool all = refute(v);
    if (all || (stop_ && violated)) {
      parent_pruned += all;
      return true;
    }
  }
  if (!cell_.compute(v, scratch_)) return false;
  return refute(v);
}

bool PropertyVisitor::thin(const CellView& v, bool) {
  done_.assign(terms_.size(), 0);
  return cell_.compute_thin(v, scratch_) && refute(v);
}

bool PropertyVisitor::refute(const CellView& v) {
  const int n1 = k_ + 1;
  bool all_refuted = true;
  if (done_.size() != terms_.size()) done_.assign(terms_.size(), 0);
  for (size_t ti = 0; ti < terms_.size(); ++ti) {
    if (done_[ti]) continue;
    const Term& t = terms_[ti];
    // L_r(u) <= C_r y - d_r on the cell.
    h_.assign(t.d.begin(), t.d.end());
    for (double& x : h_) x = -x;
    cell_.lower_linear(v, t.rows, t.C.data(), h_.data(), L_);
    bool refuted = false;
    for (int r = 0; r < t.rows && !refuted; ++r) {
      double slack;
      refuted = cell_.box_min(&L_[static_cast<size_t>(r) * n1], &slack) > slack;
    }
    if (!refuted) {
      // {u in cell : L_r(u) <= 0 for all r}: empty when its Chebyshev LP's radius is negative.
      if (cell_.past_deadline()) return false;
      G_.resize(static_cast<size_t>(t.rows) * k_);
      for (int r = 0; r < t.rows; ++r) {
        const double* l = &L_[static_cast<size_t>(r) * n1];
        std::copy(l, l + k_, G_.begin() + static_cast<size_t>(r) * k_);
        h_[r] = -l[k_];
      }
      double radius;
      const LPStatus st = v.chebyshev_with(G_.data(), h_.data(), t.rows, radius, centre_.data(), scratch_);
      if (st != LPStatus::Optimal) return false;
      refuted = radius < -1e-9;
      if (!refuted && radius >= 0.0) {
        // A point of the cell where the relaxation allows the term: a candidate counterexample.
        ++candidates;
        cell_.output_at(v, centre_.data(), y_);
        double worst = -std::numeric_limits<double>::infinity();
        for (int r = 0; r < t.rows; ++r) {
          double val = -t.d[r];
          for (int j = 0; j < m_; ++j) val += t.C[static_cast<size_t>(r) * m_ + j] * y_[j];
          worst = std::max(worst, val);
        }
        if (worst <= 0.0 && (!violated || -worst > margin)) {
          violated = true;
          term = static_cast<int>(ti);
          margin = -worst;
          counterexample = centre_;
          if (stop_) return true;  // stop_requested() ends the run
        }
      }
    }
    if (refuted) ++pruned_terms, done_[ti] = 1;
    else all_refuted = false;
  }
  return all_refuted;
}

bool PropertyVisitor::leaf(const CellView& v) {
  v.output_map(map_);
  for (size_t ti = 0; ti < terms_.size(); ++ti) {
    const Term& t = terms_[ti];
    G_.assign(static_cast<size_t>(t.rows) * k_, 0.0);
    h_.assign(t.rows, 0.0);
    for (int r = 0; r < t.rows; ++r) {
      const double* c = &t.C[static_cast<size_t>(r) * m_];
      double off = 0.0;
      for (int o = 0; o < m_; ++o) {
        const double* mo = &map_[static_cast<size_t>(o) * (k_ + 1)];
        for (int j = 0; j < k_; ++j) G_[static_cast<size_t>(r) * k_ + j] += c[o] * mo[j];
        off += c[o] * mo[k_];
      }
      h_[r] = t.d[r] - off;
    }
    double radius;
    const LPStatus st = v.chebyshev_with(G_.data(), h_.data(), t.rows, radius, centre_.data(), scratch_);
    if (st != LPStatus::Optimal && v.simplex->timed_out()) {
      timed_out = true;
      return false;
    }
    if (st != LPStatus::Optimal) {
      failed = true;
      message = "the Chebyshev LP of a region and term " + std::to_string(ti) + " failed (" + lp_status_name(st) + ")";
      return false;
    }
    if (radius >= -1e-12 && (!violated || radius > margin)) {
      violated = true;
      term = static_cast<int>(ti);
      margin = radius;
      counterexample = centre_;
      if (stop_) return false;
    }
  }
  return true;
}

std::unique_ptr<RegionVisitor> PropertyVisitor::clone() const {
  auto copy = std::make_unique<PropertyVisitor>(*this);
  copy->candidates = copy->pruned_terms = copy->parent_pruned = copy->hinted = 0;  // counts are summed by merge()
  return copy;
}

void PropertyVisitor::merge(const RegionVisitor& other) {
  const auto& o = static_cast<const PropertyVisitor&>(other);
  if (o.failed && !failed) {
    failed = true;
    message = o.message;
  }
  timed_out = timed_out || o.timed_out;
  candidates += o.candidates;
  pruned_terms += o.pruned_terms;
  parent_pruned += o.parent_pruned;
  hinted += o.hinted;
  if (o.violated && (!violated || o.margin > margin)) {
    violated = true;
    term = o.term;
    margin = o.margin;
    counterexample = o.counterexample;
  }
}

}  // namespace relutope

// ---------------------------------------------------------------- input splitting

namespace relutope {

namespace {

// Layer 0's pieces as affine functions of the input: P x (in_dim+1).
std::vector<double> input_pieces(const Network& net) {
  const Layer& L0 = net.layers()[0];
  const int n = L0.in_dim, P = L0.total_pieces();
  std::vector<double> F(static_cast<size_t>(P) * (n + 1));
  for (int p = 0; p < P; ++p) {
    std::copy(&L0.A[static_cast<size_t>(p) * n], &L0.A[static_cast<size_t>(p + 1) * n], &F[static_cast<size_t>(p) * (n + 1)]);
    F[static_cast<size_t>(p) * (n + 1) + n] = L0.c[p];
  }
  return F;
}

double box_slack(const double* g, int k, const double* lo, const double* hi) {
  double mag = std::fabs(g[k]);
  for (int j = 0; j < k; ++j) mag += std::fabs(g[j]) * std::max(std::fabs(lo[j]), std::fabs(hi[j]));
  return 1e-9 * mag;
}

}  // namespace

void box_linear_bounds(const Network& net, const double* lo, const double* hi, int q, const double* C, const double* d,
                       bool forward, std::vector<double>& G, std::vector<double>& lower, int m, const double* A,
                       const double* bvec, bool mutate, const double* point) {
  const int k = net.in_dim();
  const std::vector<double> F = input_pieces(net);
  Relaxation relax(&net);
  if (forward) relax.mode = Relaxation::Mode::Forward;
  // min g.u over {A u <= b} within the box by one LP (maximise -g.u), less its rounding slack; mutate: the
  // maximum instead (unsound: for tests that must catch it).
  std::vector<double> c(k);
  auto set_min = [&](const double* g, double& low) {
    for (int j = 0; j < k; ++j) c[j] = mutate ? g[j] : -g[j];
    const LPResult lp = solve_lp(k, m, c.data(), A, bvec, lo, hi);
    if (lp.status != LPStatus::Optimal) return false;
    const double slack = box_slack(g, k, lo, hi) + 1e-9 * std::fabs(lp.value);
    low = g[k] + (mutate ? lp.value : -lp.value) - slack;
    return true;
  };
  if (m > 0) relax.set_min = set_min;
  LayerBounds b;
  relax.bound_layers(0, k, F.data(), lo, hi, nullptr, b);
  relax.set_min = nullptr;
  if (point) relax.point_slopes(0, k, F.data(), point);
  relax.lower_linear(0, k, F.data(), b, q, C, d, G);
  lower.resize(q);
  for (int r = 0; r < q; ++r) {
    const double* g = &G[static_cast<size_t>(r) * (k + 1)];
    lower[r] = Relaxation::box_min(g, k, lo, hi) - box_slack(g, k, lo, hi);
    double low;
    if (m > 0 && !mutate && set_min(g, low)) lower[r] = std::max(lower[r], low);
  }
}

namespace {

// A box of the input splitting and its relaxation bounds (once computed).
struct SplitBox {
  std::vector<double> lo, hi;
  int depth = 0;
  LayerBounds prior;   // the parent's pre-activation bounds (a superset's: valid here)
  double score = -std::numeric_limits<double>::infinity();  // the parent's tmin (for the best-first order)
  bool bounded = false;  // the fields below are set
  bool refuted = false;  // every term refuted on the box
  double tmin = std::numeric_limits<double>::infinity();  // min over unrefuted terms of min_box max_r L_r
  std::vector<double> split_score;  // per input: the score of splitting it (see split_verify's bound)
  std::vector<double> argmin;  // the LP minimiser of the term of least tmin (empty when none)
  double argmin_value = 0.0;   // that term's max_r (C_r y - d_r) at it (the network's output y there)
  LayerBounds bounds;
  int node = 0;  // its node of the split tree
};

// A node of the split tree: a box taken from the stack or a half pushed on it (SplitOptions::merge_closed).
struct SplitNode {
  int parent = -1;
  std::vector<double> lo, hi;
  double vol = 0.0, closed = 0.0;  // its volume, and that of the refuted boxes inside it
  int64_t open = 0;                // open boxes inside it (itself included)
  double score = std::numeric_limits<double>::infinity();  // the least open_score of those
  bool leaf = false;               // itself left open
  std::vector<int> children;
};

}  // namespace

SplitResult split_verify(const Network& net, const double* lo0, const double* hi0,
                         const std::vector<PropertyVisitor::Term>& terms, int max_depth, int64_t max_boxes,
                         double time_limit, const SplitOptions& opt) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const int k = net.in_dim(), m = net.out_dim(), n1 = k + 1;
  const std::vector<double> F = input_pieces(net);
  Relaxation relax(&net);
  relax.attribute = opt.branch_score != 1;  // for the split scores (input_looseness)
  SplitResult res;
  double total = 1.0;
  for (int j = 0; j < k; ++j)
    if (hi0[j] > lo0[j]) total *= hi0[j] - lo0[j];
  // Best first for the first half of the budget: the box whose parent's relaxation came nearest to allowing a term
  // (the most negative tmin) next, so that counterexamples in thin unsafe spots are met early; then depth first
  // (last in, first out), which closes whole subtrees and leaves fewer open boxes for the enumeration.
  auto later = [](const SplitBox& a, const SplitBox& b) { return a.score > b.score; };
  std::vector<SplitBox> stack(1);
  stack[0].lo.assign(lo0, lo0 + k);
  stack[0].hi.assign(hi0, hi0 + k);
  std::vector<SplitNode> nodes(1);
  nodes[0].lo = stack[0].lo, nodes[0].hi = stack[0].hi, nodes[0].vol = total;
  const bool merging = opt.merge_closed > 0.0;
  std::vector<double> L, L2, Gt, ht, ht0, lb(n1), ub(n1), c(n1, 0.0), y, z, u(k), u2(k), smear, loose;
  const double inf = std::numeric_limits<double>::infinity();
  c[k] = -1.0;  // maximise -t
  double closed = 0.0;
  // max_r (C_r out - d_r) of term t (rows whose value is NaN ignored), at most 0 when the output out lies in it;
  // whether it does, and whether the point x's output does.
  auto term_value = [&](const PropertyVisitor::Term& t, const std::vector<double>& out) {
    double worst = -inf;
    for (int r = 0; r < t.rows; ++r) {
      double val = -t.d[r];
      for (int j = 0; j < m; ++j) val += t.C[static_cast<size_t>(r) * m + j] * out[j];
      worst = std::max(worst, val);
    }
    return worst;
  };
  auto in_term = [&](const PropertyVisitor::Term& t, const std::vector<double>& out) {
    return term_value(t, out) <= 0.0;
  };
  auto violates = [&](const PropertyVisitor::Term& t, const double* x) {
    forward_from(net, 0, k, F.data(), x, z, y);
    return in_term(t, y);
  };
  auto found = [&](int ti, const double* x) {
    res.status = 1, res.term = ti;
    res.counterexample.assign(x, x + k);
  };
  // Whether x is a counterexample of term ti (then recorded: res.status = 1).
  auto counterexample = [&](size_t ti, const std::vector<double>& x) {
    if (!violates(terms[ti], x.data())) return false;
    found(static_cast<int>(ti), x.data());
    return true;
  };
  // min over the box b of max_r L_r(u) for the term's rows L (t.rows x n1): maximise -t s.t. L_r(u) - t <= 0,
  // lo <= u <= hi, whether it exceeds the rounding slack (refuted), and its minimiser (k entries); false when the
  // LP failed.
  // The LP solver's tolerances are absolute: rows whose variation over the box is outside [2^-8, 2^8) are scaled
  // by a power of two (exactly; t with them), or outputs scaled by 1e-9 had boxes refuted that hold a
  // counterexample.
  auto term_min = [&](const PropertyVisitor::Term& t, const std::vector<double>& Lr, const SplitBox& b, double& value,
                      bool& refuted, std::vector<double>& arg) {
    double gmax = 0.0;
    for (int r = 0; r < t.rows; ++r)
      for (int j = 0; j < k; ++j)
        gmax = std::max(gmax, std::fabs(Lr[static_cast<size_t>(r) * n1 + j]) * (b.hi[j] - b.lo[j]));
    const int e = scale_exponent(gmax);
    Gt.assign(static_cast<size_t>(t.rows) * n1, 0.0);
    ht.assign(t.rows, 0.0);
    double slack = 0.0;
    for (int r = 0; r < t.rows; ++r) {
      const double* g = &Lr[static_cast<size_t>(r) * n1];
      for (int j = 0; j < k; ++j) Gt[static_cast<size_t>(r) * n1 + j] = std::ldexp(g[j], -e);
      Gt[static_cast<size_t>(r) * n1 + k] = -1.0;
      ht[r] = -std::ldexp(g[k], -e);
      slack = std::max(slack, box_slack(g, k, b.lo.data(), b.hi.data()));
    }
    for (int j = 0; j < k; ++j) lb[j] = b.lo[j], ub[j] = b.hi[j];
    lb[k] = -inf, ub[k] = inf;
    const LPResult lp = solve_lp(n1, t.rows, c.data(), Gt.data(), ht.data(), lb.data(), ub.data());
    if (lp.status != LPStatus::Optimal) return false;
    value = std::ldexp(lp.y[k], e);
    refuted = value > slack;
    arg.resize(k);
    for (int j = 0; j < k; ++j) arg[j] = std::min(std::max(lp.y[j], b.lo[j]), b.hi[j]);
    return true;
  };
  // The descents' gap rule (SplitOptions::attack_gap): a box whose bound leaves a counterexample only a small part
  // of the range between its bound and the violation at the bound's minimiser gets none.
  auto hopeful = [&](const SplitBox& b) {
    return opt.attack_gap <= 0.0 || -b.tmin > opt.attack_gap * (b.argmin_value - b.tmin);
  };
  // The relaxation bounds of box b (its prior: b.prior); false when a counterexample was found (res.status = 1).
  // descents: the box gets the descents next (from its LP minimiser and centre) if it is left open with a minimiser
  // and hopeful.
  auto bound = [&](SplitBox& b, bool descents) {
    ++res.bounds;
    b.bounded = true;
    relax.bound_layers(0, k, F.data(), b.lo.data(), b.hi.data(), &b.prior, b.bounds);
    b.prior = LayerBounds();
    b.split_score.assign(k, 0.0);
    b.refuted = true;
    b.tmin = inf;
    b.argmin.clear();
    for (size_t ti = 0; ti < terms.size(); ++ti) {
      const PropertyVisitor::Term& t = terms[ti];
      ht0.assign(t.rows, 0.0);
      for (int r = 0; r < t.rows; ++r) ht0[r] = -t.d[r];
      relax.lower_linear(0, k, F.data(), b.bounds, t.rows, t.C.data(), ht0.data(), L);
      bool refuted = false;
      for (int r = 0; r < t.rows && !refuted; ++r) {
        const double* g = &L[static_cast<size_t>(r) * n1];
        refuted = Relaxation::box_min(g, k, b.lo.data(), b.hi.data()) > box_slack(g, k, b.lo.data(), b.hi.data());
      }
      if (refuted) continue;
      // min over the box of max_r L_r(u) (term_min), then once more with the lower slopes exact at its minimiser
      // (Relaxation::point_slopes): either refutes the box; the larger is the box's bound.
      double tval, fval = inf;
      bool out;
      if (term_min(t, L, b, tval, out, u)) {
        if (out) continue;  // refuted
        if (opt.point_slopes) {
          relax.point_slopes(0, k, F.data(), u.data(), &y);  // and the output at u (one forward pass for both)
          if (in_term(t, y)) {
            found(static_cast<int>(ti), u.data());
            return false;
          }
          fval = term_value(t, y);
          const bool att = relax.attribute;
          relax.attribute = false;  // input_looseness reads the first call's rows
          relax.lower_linear(0, k, F.data(), b.bounds, t.rows, t.C.data(), ht0.data(), L2);
          relax.attribute = att;
          relax.clear_point_slopes();
          double tv2;
          if (term_min(t, L2, b, tv2, out, u2)) {
            if (out) continue;  // refuted
            if (counterexample(ti, u2)) return false;
            if (tv2 > tval) tval = tv2, u.swap(u2), fval = term_value(t, y);
          }
        } else {
          if (counterexample(ti, u)) return false;
          fval = term_value(t, y);
        }
        // The LP's value itself (not less its slack, which differs between boxes of equal bounds and reorders
        // them: TLL 64/3's counterexample came after 1.9 s instead of 0.06 s).
        if (tval < b.tmin) b.tmin = tval, b.argmin = u, b.argmin_value = fval;
      }
      b.refuted = false;
      // The term's split score per input: its smear (sum over the rows of |slope| x width: how much the bounds vary
      // along the input, ReluVal's choice) and the relaxation's looseness by input (Relaxation::input_looseness:
      // the gaps of the unstable units that the rows pay for, shared by each input's part of the units' ranges),
      // each as a fraction of its sum. Summed, on ACAS Xu's properties 1-4 the split closed the 15 instances that
      // hold in 3,637 bounds, against 10,459 by the smear alone and 5,287 by the looseness alone
      // (bench/results/split_score_s29.txt).
      smear.assign(k, 0.0);
      loose.assign(k, 0.0);
      for (int r = 0; r < t.rows; ++r)
        for (int j = 0; j < k; ++j) smear[j] += std::fabs(L[static_cast<size_t>(r) * n1 + j]) * (b.hi[j] - b.lo[j]);
      if (opt.branch_score != 1) relax.input_looseness(0, k, b.bounds, b.lo.data(), b.hi.data(), loose.data());
      double s_sum = 0.0, l_sum = 0.0;
      for (int j = 0; j < k; ++j) s_sum += smear[j], l_sum += loose[j];
      for (int j = 0; j < k; ++j)
        b.split_score[j] += (s_sum > 0.0 && opt.branch_score != 2 ? smear[j] / s_sum : 0.0) +
                            (l_sum > 0.0 && opt.branch_score != 1 ? loose[j] / l_sum : 0.0);
    }
    // Its centre, a candidate counterexample, unless the descents that follow start from it (their first step
    // evaluates it).
    if (b.refuted || (descents && !b.argmin.empty() && hopeful(b))) return true;
    for (int j = 0; j < k; ++j) u[j] = 0.5 * (b.lo[j] + b.hi[j]);
    forward_from(net, 0, k, F.data(), u.data(), z, y);
    for (size_t ti = 0; ti < terms.size(); ++ti)
      if (in_term(terms[ti], y)) {
        found(static_cast<int>(ti), u.data());
        return false;
      }
    return true;
  };
  auto emit = [&](const std::vector<double>& lo, const std::vector<double>& hi, double score) {
    res.open_lo.insert(res.open_lo.end(), lo.begin(), lo.end());
    res.open_hi.insert(res.open_hi.end(), hi.begin(), hi.end());
    res.open_score.push_back(score);
  };
  auto open = [&](const SplitBox& b) {
    const double score = b.bounded ? b.tmin : b.score;
    if (!merging) return emit(b.lo, b.hi, score);
    nodes[static_cast<size_t>(b.node)].leaf = true;
    for (int i = b.node; i >= 0; i = nodes[static_cast<size_t>(i)].parent) {
      SplitNode& nd = nodes[static_cast<size_t>(i)];
      ++nd.open;
      nd.score = std::min(nd.score, score);
    }
  };
  auto refute = [&](int node, double vol) {
    for (int i = node; i >= 0; i = nodes[static_cast<size_t>(i)].parent) nodes[static_cast<size_t>(i)].closed += vol;
  };
  // The open part of the tree, top down: a node whose refuted part is at most merge_closed of it whole, else its
  // children (a node left open itself has none). The root is never handed over whole once split: on ACAS Xu the
  // enumeration of its two halves prunes fewer cells than that of the whole box (260 against 1,048 on 1_2:4).
  std::function<void(int)> hand_over = [&](int i) {
    const SplitNode& nd = nodes[static_cast<size_t>(i)];
    if (nd.open == 0) return;
    if (nd.leaf || (i > 0 && nd.closed <= opt.merge_closed * nd.vol)) {
      res.merged += nd.open - 1;
      return emit(nd.lo, nd.hi, nd.score);
    }
    for (int c : nd.children) hand_over(c);
  };
  auto halves = [&](const SplitBox& b, int j, SplitBox& a, SplitBox& c2) {
    const double mid = 0.5 * (b.lo[j] + b.hi[j]);
    a = SplitBox();
    a.lo = b.lo, a.hi = b.hi, a.depth = b.depth + 1, a.prior = b.bounds, a.score = b.tmin;
    c2 = a;
    a.hi[j] = mid;
    c2.lo[j] = mid;
  };
  AttackOptions attack;
  attack.samples = 0, attack.starts = std::min(std::max(opt.attack_starts, 1), 2), attack.steps = opt.attack_steps;
  attack.patience = opt.attack_patience;
  attack.min_gain = opt.attack_min_gain;
  std::vector<int> dims(k);
  std::vector<double> closed_after;  // the adaptive budget's record of the volume closed (opt.pace_from)
  double attack_seconds = 0.0;       // spent in the descents (opt.attack_share)
  while (!stack.empty()) {
    if (time_limit >= 0 && std::chrono::duration<double>(Clock::now() - start).count() > time_limit) {
      res.status = 3;
      break;
    }
    // Behind the pace: at the recent rate of volume closed per box, the budget would not close the box.
    closed_after.push_back(closed);  // closed_after[i]: the volume closed by the first i boxes
    bool behind = false;
    if (opt.pace_from > 0 && max_boxes > 0 && res.boxes >= opt.pace_from && res.boxes < max_boxes) {
      const int64_t w = std::min<int64_t>(std::max(opt.pace_window, 1), res.boxes);
      const double rate = (closed - closed_after[static_cast<size_t>(res.boxes - w)]) / static_cast<double>(w);
      behind = closed + rate * static_cast<double>(max_boxes - res.boxes) < total;
    }
    if ((max_boxes >= 0 && res.boxes >= max_boxes) || behind) {  // the rest goes to the exact enumeration
      res.paced = behind;
      for (const SplitBox& b : stack) open(b);
      stack.clear();
      break;
    }
    const bool best_first = max_boxes < 0 ? res.boxes < 1024 : 2 * res.boxes < max_boxes;
    if (best_first) std::pop_heap(stack.begin(), stack.end(), later);
    SplitBox box = std::move(stack.back());
    stack.pop_back();
    ++res.boxes;
    // (in the best-first phase the box gets the descents if open and hopeful; with attack_share their turn depends
    // on the time, and bound() checks the centre itself)
    const bool descents = opt.attack_steps > 0 && best_first && opt.attack_share <= 0.0;
    if (!box.bounded && !bound(box, descents)) break;
    double vol = 1.0;
    for (int j = 0; j < k; ++j)
      if (hi0[j] > lo0[j]) vol *= box.hi[j] - box.lo[j];
    if (box.refuted) {
      closed += vol;
      if (merging) refute(box.node, vol);
      continue;
    }
    if (opt.attack_steps > 0 && best_first && !box.argmin.empty() && hopeful(box) &&
        (opt.attack_share <= 0.0 ||
         attack_seconds <= opt.attack_share * std::chrono::duration<double>(Clock::now() - start).count())) {
      // A short descent from the relaxation's minimiser, within the box (a counterexample search while splitting),
      // in the best-first phase (the boxes likeliest unsafe).
      attack.seed = static_cast<uint64_t>(res.boxes);
      const auto t0 = Clock::now();
      const AttackResult a = falsify_box(net, box.lo.data(), box.hi.data(), terms, attack, box.argmin.data(), 1);
      attack_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      if (a.found) {
        found(a.term, a.x.data());
        break;
      }
    }
    int n_free = 0;
    for (int j = 0; j < k; ++j)
      if (box.hi[j] > box.lo[j]) dims[n_free++] = j;
    if (box.depth >= max_depth || n_free == 0) {  // at max_depth, or a point (the LP decided it unless it failed)
      open(box);
      continue;
    }
    // The inputs by score, largest first; with branch_candidates > 1, the best of the first few by the bounds of
    // their halves (strong branching: the input whose worse half comes nearest to being refuted).
    std::stable_sort(dims.begin(), dims.begin() + n_free,
                     [&](int a, int b) { return box.split_score[a] > box.split_score[b]; });
    const int cands = std::min(std::max(opt.branch_candidates, 1), n_free);
    SplitBox a, b;
    halves(box, dims[0], a, b);
    if (cands > 1) {
      double best = -inf;
      SplitBox ta, tb;
      bool stop = false;
      for (int ci = 0; ci < cands && !stop; ++ci) {
        halves(box, dims[ci], ta, tb);
        if (!bound(ta, false) || !bound(tb, false)) {
          stop = true;
          break;
        }
        const double s = std::min(ta.refuted ? inf : ta.tmin, tb.refuted ? inf : tb.tmin);
        if (ci == 0 || s > best) best = s, a = std::move(ta), b = std::move(tb);
      }
      if (stop) break;
    }
    for (SplitBox* h : {&b, &a}) {
      if (merging) {
        SplitNode nd;
        nd.parent = box.node, nd.lo = h->lo, nd.hi = h->hi, nd.vol = 0.5 * vol;
        h->node = static_cast<int>(nodes.size());
        nodes[static_cast<size_t>(box.node)].children.push_back(h->node);
        nodes.push_back(std::move(nd));
      }
      if (h->bounded && h->refuted) {  // refuted in the strong branching: closed now
        closed += 0.5 * vol;
        if (merging) refute(h->node, 0.5 * vol);
        continue;
      }
      if (h->bounded) h->score = h->tmin;
      stack.push_back(std::move(*h));
      if (best_first) std::push_heap(stack.begin(), stack.end(), later);
    }
  }
  if (merging && res.status == 0) hand_over(0);
  if (res.status == 0 && !res.open_lo.empty()) res.status = 2;
  res.closed_fraction = total > 0 ? closed / total : 0.0;
  return res;
}

}  // namespace relutope
