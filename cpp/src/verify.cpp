#include "relutope/verify.hpp"

#include <algorithm>
#include <cmath>
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

}  // namespace

bool cell_output_intervals(const CellView& v, LPBasis& scratch, std::vector<double>& lo, std::vector<double>& hi) {
  const int k = v.k;
  std::vector<double> blo(k), bhi(k), g(k, 0.0), arg(k);
  for (int j = 0; j < k; ++j) {
    double val;
    g[j] = 1.0;
    if (v.maximize(g.data(), val, arg.data(), scratch) != LPStatus::Optimal) return false;
    bhi[j] = val;
    g[j] = -1.0;
    if (v.maximize(g.data(), val, arg.data(), scratch) != LPStatus::Optimal) return false;
    blo[j] = -val;
    g[j] = 0.0;
  }
  const auto& layers = v.net->layers();
  const Layer& cur = layers[v.layer];
  // Layer v.layer's units over the box: max of the pieces' intervals.
  std::vector<double> zlo(cur.n_units), zhi(cur.n_units);
  for (int i = 0; i < cur.n_units; ++i) {
    zlo[i] = zhi[i] = -std::numeric_limits<double>::infinity();
    for (int p = cur.piece_start[i]; p < cur.piece_start[i + 1]; ++p) {
      double a, b;
      affine_interval(v.pieces + static_cast<size_t>(p) * (k + 1), k, blo.data(), bhi.data(), a, b);
      zlo[i] = std::max(zlo[i], a);
      zhi[i] = std::max(zhi[i], b);
    }
  }
  for (size_t l = v.layer + 1; l < layers.size(); ++l) {
    const Layer& L = layers[l];
    std::vector<double> nlo(L.n_units), nhi(L.n_units);
    for (int i = 0; i < L.n_units; ++i) {
      nlo[i] = nhi[i] = -std::numeric_limits<double>::infinity();
      for (int p = L.piece_start[i]; p < L.piece_start[i + 1]; ++p) {
        const double* a = &L.A[static_cast<size_t>(p) * L.in_dim];
        double plo = L.c[p], phi = L.c[p];
        for (int j = 0; j < L.in_dim; ++j) {
          const double x = a[j] * zlo[j], y = a[j] * zhi[j];
          plo += std::min(x, y);
          phi += std::max(x, y);
        }
        nlo[i] = std::max(nlo[i], plo);
        nhi[i] = std::max(nhi[i], phi);
      }
    }
    zlo.swap(nlo);
    zhi.swap(nhi);
  }
  lo.swap(zlo);
  hi.swap(zhi);
  return true;
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
    : q_(q), m_(out_dim), k_(k), C_(C, C + static_cast<size_t>(q) * out_dim), d_(d, d + q), prune_(prune) {
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
  if (!prune_ || v.layer == 0) return false;
  for (int i = 0; i < q_; ++i)
    if (!std::isfinite(max_value[i])) return false;  // nothing to compare with yet
  if (!cell_output_intervals(v, scratch_, lo_, hi_)) return false;
  for (int i = 0; i < q_; ++i) {
    double olo = d_[i], ohi = d_[i];
    const double* c = &C_[static_cast<size_t>(i) * m_];
    for (int j = 0; j < m_; ++j) {
      const double a = c[j] * lo_[j], b = c[j] * hi_[j];
      olo += std::min(a, b);
      ohi += std::max(a, b);
    }
    if (ohi > max_value[i] || olo < min_value[i]) return false;
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
  }
  return true;
}

std::unique_ptr<RegionVisitor> OutputBoundsVisitor::clone() const {
  return std::make_unique<OutputBoundsVisitor>(*this);
}

void OutputBoundsVisitor::merge(const RegionVisitor& other) {
  const auto& o = static_cast<const OutputBoundsVisitor&>(other);
  if (o.failed && !failed) {
    failed = true;
    message = o.message;
  }
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
  if (!cell_output_intervals(v, scratch_, lo_, hi_)) return false;
  for (const Term& t : terms_) {
    bool impossible = false;  // some row of the term has C y - d > 0 on the whole cell
    for (int r = 0; r < t.rows && !impossible; ++r) {
      double low = -t.d[r];
      const double* c = &t.C[static_cast<size_t>(r) * m_];
      for (int j = 0; j < m_; ++j) low += std::min(c[j] * lo_[j], c[j] * hi_[j]);
      impossible = low > 0.0;
    }
    if (!impossible) return false;
  }
  return true;
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

std::unique_ptr<RegionVisitor> PropertyVisitor::clone() const { return std::make_unique<PropertyVisitor>(*this); }

void PropertyVisitor::merge(const RegionVisitor& other) {
  const auto& o = static_cast<const PropertyVisitor&>(other);
  if (o.failed && !failed) {
    failed = true;
    message = o.message;
  }
  if (o.violated && (!violated || o.margin > margin)) {
    violated = true;
    term = o.term;
    margin = o.margin;
    counterexample = o.counterexample;
  }
}

}  // namespace relutope
