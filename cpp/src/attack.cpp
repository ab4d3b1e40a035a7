#include "relutope/attack.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "relutope/wide.hpp"

namespace relutope {

namespace {

// next (L.in_dim entries) = sum over the units i with g_i != 0, in increasing order, of g_i times the row of the
// piece chosen[i] (the gradient of g . z_L in z_{L-1} on the point's region): 32 or 4 entries of next at a time
// in registers.
RELUTOPE_WIDE_VECTORS
void pull_back(const Layer& L, const int* chosen, const double* g, double* next) {
  const int n = L.in_dim;
  int local[512];  // the units that contribute (on the stack for up to 512 units)
  std::vector<int> heap;
  int* rows = local;
  if (L.n_units > 512) heap.resize(L.n_units), rows = heap.data();
  int nr = 0;
  for (int i = 0; i < L.n_units; ++i)  // no branch: which units contribute is as good as random
    rows[nr] = i, nr += (g[i] != 0.0) & !L.zero_piece[chosen[i]];
  int j0 = 0;
#ifdef RELUTOPE_HAVE_V4D
  for (; j0 + 32 <= n; j0 += 32) {  // 8 chains of 4-wide additions (the adder's latency hidden)
    v4d s[8] = {};
    for (int r = 0; r < nr; ++r) {
      const int i = rows[r];
      const v4d gi = {g[i], g[i], g[i], g[i]};
      const double* a = &L.A[static_cast<size_t>(chosen[i]) * n + j0];
      for (int q = 0; q < 8; ++q) {
        v4d c;
        load4(c, a + 4 * q);
        s[q] += gi * c;
      }
    }
    for (int q = 0; q < 8; ++q) store4(next + j0 + 4 * q, s[q]);
  }
  for (; j0 + 4 <= n; j0 += 4) {
    v4d s = {};
    for (int r = 0; r < nr; ++r) {
      const int i = rows[r];
      const v4d gi = {g[i], g[i], g[i], g[i]};
      v4d c;
      load4(c, &L.A[static_cast<size_t>(chosen[i]) * n + j0]);
      s += gi * c;
    }
    store4(next + j0, s);
  }
#endif
  for (int j = j0; j < n; ++j) {
    double s = 0.0;
    for (int r = 0; r < nr; ++r) s += g[rows[r]] * L.A[static_cast<size_t>(chosen[rows[r]]) * n + j];
    next[j] = s;
  }
}

// Forward and reverse passes of one point through a MASO network, with scratch kept between calls.
class PointPass {
 public:
  explicit PointPass(const Network& net) : net_(net), chosen_(net.layers().size()) {}

  // y = net(x); remembers every unit's chosen piece (the largest, ties to the lowest index, as numpy.argmax).
  const std::vector<double>& forward(const double* x) {
    const auto& layers = net_.layers();
    h_.assign(x, x + net_.in_dim());
    for (size_t l = 0; l < layers.size(); ++l) {
      const Layer& L = layers[l];
      chosen_[l].resize(L.n_units);
      out_.assign(L.n_units, 0.0);
      vals_.resize(L.total_pieces());
      piece_values(L, h_.data(), vals_.data());
      for (int i = 0; i < L.n_units; ++i) {
        double best = -std::numeric_limits<double>::infinity();
        int arg = L.piece_start[i];
        for (int p = L.piece_start[i]; p < L.piece_start[i + 1]; ++p) {  // selects, not branches (random)
          const bool gt = vals_[p] > best;
          best = gt ? vals_[p] : best;
          arg = gt ? p : arg;
        }
        out_[i] = best;
        chosen_[l][i] = arg;
      }
      h_.swap(out_);
    }
    return h_;
  }

  // The gradient in x of w . y at the last forward()'s point, on its activation region: g (in_dim entries).
  void gradient(const double* w, std::vector<double>& g) {
    const auto& layers = net_.layers();
    g.assign(w, w + net_.out_dim());
    for (size_t l = layers.size(); l-- > 0;) {
      const Layer& L = layers[l];
      next_.resize(L.in_dim);
      pull_back(L, chosen_[l].data(), g.data(), next_.data());
      g.swap(next_);
    }
  }

 private:
  const Network& net_;
  std::vector<std::vector<int>> chosen_;
  std::vector<double> h_, out_, next_, vals_;
};

// min_t max_r (C_t,r y - d_t,r), with the term and row attaining it.
double violation(const std::vector<PropertyVisitor::Term>& terms, const std::vector<double>& y, int& term, int& row) {
  const int m = static_cast<int>(y.size());
  double best = std::numeric_limits<double>::infinity();
  term = row = -1;
  for (size_t t = 0; t < terms.size(); ++t) {
    const PropertyVisitor::Term& T = terms[t];
    double worst = -std::numeric_limits<double>::infinity();
    int wr = -1;
    for (int r = 0; r < T.rows; ++r) {
      double v = -T.d[r];
      for (int j = 0; j < m; ++j) v += T.C[static_cast<size_t>(r) * m + j] * y[j];
      if (v > worst) worst = v, wr = r;
    }
    if (worst < best) best = worst, term = static_cast<int>(t), row = wr;
  }
  return best;
}

}  // namespace

std::vector<double> face_centres(const double* lo, const double* hi, int n, int max_dim, int max_points) {
  std::vector<double> out;
  std::vector<int> free;
  for (int j = 0; j < n; ++j)
    if (hi[j] > lo[j]) free.push_back(j);
  const int k = static_cast<int>(free.size());
  if (max_dim < 0 || k > 20) return out;
  // Faces of dimension d: C(k, d) choices of the free inputs, 2^(k-d) of bounds for the others.
  int64_t count = 0, binom = 1;  // binom = C(k, d)
  int dims = -1;
  for (int d = 0; d <= std::min(max_dim, k); ++d) {
    if (d > 0) binom = binom * (k - d + 1) / d;
    count += binom << (k - d);
    if (count > max_points) break;
    dims = d;
  }
  std::vector<double> x(n);
  for (int d = 0; d <= dims; ++d)
    for (uint32_t inner = 0; inner < (1u << k); ++inner) {  // the free inputs at their midpoint
      if (__builtin_popcount(inner) != d) continue;
      for (uint32_t s = 0; s < (1u << (k - d)); ++s) {  // the others at a bound, bit by bit
        for (int j = 0; j < n; ++j) x[j] = 0.5 * (lo[j] + hi[j]);
        for (int i = 0, b = 0; i < k; ++i) {
          if (inner >> i & 1u) continue;
          const int j = free[static_cast<size_t>(i)];
          x[j] = (s >> b++ & 1u) ? hi[j] : lo[j];
        }
        out.insert(out.end(), x.begin(), x.end());
      }
    }
  return out;
}

AttackResult falsify_box(const Network& net, const double* lo, const double* hi,
                         const std::vector<PropertyVisitor::Term>& terms, const AttackOptions& opt, const double* x0,
                         int n0) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto past = [&] {
    return opt.time_limit >= 0 && std::chrono::duration<double>(Clock::now() - start).count() > opt.time_limit;
  };
  const int n = net.in_dim(), m = net.out_dim();
  AttackResult res;
  if (terms.empty()) return res;
  PointPass pass(net);
  std::mt19937_64 rng(opt.seed);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const std::vector<double> face = face_centres(lo, hi, n, opt.faces, opt.max_face_points);
  const int nf = static_cast<int>(face.size() / std::max(n, 1));
  const int total = 1 + std::max(n0, 0) + nf + std::max(opt.samples, 0);
  std::vector<double> pts(static_cast<size_t>(total) * n), val(total);
  for (int j = 0; j < n; ++j) pts[j] = 0.5 * (lo[j] + hi[j]);
  for (int s = 0; s < n0; ++s)
    for (int j = 0; j < n; ++j) pts[static_cast<size_t>(1 + s) * n + j] = std::min(std::max(x0[s * n + j], lo[j]), hi[j]);
  std::copy(face.begin(), face.end(), pts.begin() + static_cast<std::ptrdiff_t>(1 + std::max(n0, 0)) * n);
  for (int s = 1 + std::max(n0, 0) + nf; s < total; ++s)
    for (int j = 0; j < n; ++j) pts[static_cast<size_t>(s) * n + j] = lo[j] + unif(rng) * (hi[j] - lo[j]);
  auto record = [&](const double* x, double v, int t) {
    if (v < res.violation) {
      res.violation = v, res.term = t;
      res.x.assign(x, x + n);
      if (v <= 0.0) res.found = true;
    }
  };
  int term, row;
  // Descents from the `starts` points of least violation, then from `restarts` random points of the box's faces.
  // When every point is a start (the split's descents: the box's centre and the relaxation's minimiser), they are
  // not evaluated first: each descent's first step evaluates its start (two passes fewer a box), and the order of
  // the starts is theirs (the centre first).
  const int S = std::min(std::max(opt.starts, 0), total);
  const bool every_start = S == total && opt.steps > 0;
  for (int s = 0; s < total && !every_start; ++s) {
    if ((s & 255) == 255 && past()) break;
    const double* x = &pts[static_cast<size_t>(s) * n];
    val[s] = violation(terms, pass.forward(x), term, row);
    ++res.passes;
    record(x, val[s], term);
    if (res.found) return res;
  }
  std::vector<int> order(total);
  std::iota(order.begin(), order.end(), 0);
  if (!every_start)
    std::partial_sort(order.begin(), order.begin() + S, order.end(), [&](int a, int b) { return val[a] < val[b]; });
  const double decay = opt.steps > 1 ? std::pow(1e-4 / 0.25, 1.0 / (opt.steps - 1)) : 1.0;
  std::vector<double> x(n), g, w(m);
  // One descent from x; true when it found a counterexample.
  auto descend = [&] {
    double step = 0.25, least = std::numeric_limits<double>::infinity();
    int stale = 0;
    for (int it = 0; it < opt.steps; ++it) {
      const std::vector<double>& y = pass.forward(x.data());
      ++res.passes;
      const double v = violation(terms, y, term, row);
      record(x.data(), v, term);
      if (res.found) return true;
      const bool gain = v < least - opt.min_gain * std::fabs(least);
      if (v < least) least = v;
      if (gain) stale = 0;
      else if (opt.patience > 0 && ++stale >= opt.patience) return false;
      // Descend the worst row of the best term: its gradient on the point's region, a sign step, a clip.
      std::copy_n(&terms[term].C[static_cast<size_t>(row) * m], m, w.begin());
      pass.gradient(w.data(), g);
      for (int j = 0; j < n; ++j) {
        const double sg = g[j] > 0.0 ? 1.0 : (g[j] < 0.0 ? -1.0 : 0.0);
        x[j] = std::min(std::max(x[j] - step * (hi[j] - lo[j]) * sg, lo[j]), hi[j]);
      }
      step *= decay;
    }
    const double v = violation(terms, pass.forward(x.data()), term, row);
    ++res.passes;
    record(x.data(), v, term);
    return res.found;
  };
  for (int s = 0; s < S && !past(); ++s) {
    std::copy_n(&pts[static_cast<size_t>(order[s]) * n], n, x.begin());
    if (descend()) return res;
  }
  for (int64_t r = 0; r < opt.restarts && !past(); ++r) {
    for (int j = 0; j < n; ++j) {
      const double a = unif(rng);
      x[j] = a < 1.0 / 3.0 ? lo[j] : (a < 2.0 / 3.0 ? hi[j] : lo[j] + unif(rng) * (hi[j] - lo[j]));
    }
    ++res.restarts;
    if (descend()) return res;
  }
  return res;
}

}  // namespace relutope
