#include "relutope/relaxation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "relutope/wide.hpp"

// The back-substitution's and the forward bounds' inner loops (axpy over a layer's width) are compiled for AVX2
// and for the baseline (wide.hpp): the bounds are the same to the bit on both.

namespace relutope {

namespace {

// Rounding slack added to every computed bound: the bounds are sums of products in float64, each off by a few
// ulps of the largest term; 1e-9 of the bound's magnitude covers it with room to spare.
inline void widen(double& lo, double& hi) {
  const double slack = 1e-9 * std::max(std::fabs(lo), std::fabs(hi)) + 1e-300;
  lo -= slack;
  hi += slack;
}

// Minimum of the affine function g (k+1 entries) over the box [lo, hi] (Relaxation::box_min; inlined here). The
// lesser of g_j lo_j and g_j hi_j is g_j lo_j for g_j >= 0 and g_j hi_j for g_j < 0 (to the bit, the signs of zeros
// included: std::min returns its first argument when they are equal), without a branch on the sign of g_j.
RELUTOPE_INLINE double min_over_box(const double* g, int k, const double* lo, const double* hi) {
  double v = g[k];
  for (int j = 0; j < k; ++j) v += std::min(g[j] * lo[j], g[j] * hi[j]);
  return v;
}

// t unless w is zero, else -0.0 (which added to any sum leaves it as it is, -0.0 included): a select by a mask,
// not a branch.
RELUTOPE_INLINE double unless_zero(double w, double t) {
  uint64_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  const uint64_t keep = -static_cast<uint64_t>(w != 0.0);
  bits = (bits & keep) | (uint64_t{1} << 63 & ~keep);
  std::memcpy(&t, &bits, sizeof t);
  return t;
}

// A unit's coefficient x through one side of its relaxation: x times `lo` (the lower side's, for x >= 0) or `hi`
// (the upper side's, x < 0), without a branch (the signs of x are as good as random: mispredicted branches made
// these loops 3/4 of the back-substitution's time on ACAS Xu); -0.0 for x = 0, which every later product skips
// as zero (a slope or a constant may be infinite or NaN from infinite bounds, and 0 x inf must not enter).
RELUTOPE_INLINE double relaxed(double x, double lo, double hi) { return unless_zero(x, x * (x < 0.0 ? hi : lo)); }

#ifdef RELUTOPE_HAVE_V4D
typedef long long v4l __attribute__((vector_size(32)));
// Four entries side by side (out by reference, not returned: wide.hpp), with the same products and the same
// selects by masks as one at a time: out = unless_zero(w, t) ...
RELUTOPE_INLINE void unless_zero4(v4d& out, const v4d& w, const v4d& t) {
  const v4d zero = {0.0, 0.0, 0.0, 0.0};
  const v4l keep = w != zero;
  const v4l sign = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
  out = (v4d)(((v4l)t & keep) | (sign & ~keep));
}
// ... and out = relaxed(x, lo, hi).
RELUTOPE_INLINE void relaxed4(v4d& out, const v4d& x, const v4d& lo, const v4d& hi) {
  const v4d zero = {0.0, 0.0, 0.0, 0.0};
  const v4l neg = x < zero;
  const v4d a = (v4d)(((v4l)hi & neg) | ((v4l)lo & ~neg));
  unless_zero4(out, x, x * a);
}
#endif

// cst[r] += sum over the live pieces t (in order) of w[r][t] c[t], for R rows of w (nl entries each: rows over a
// layer's live pieces, Layer::live; c: their constants, Layer::live_c), the terms with w = 0 skipped (unless_zero):
// the products 4 at a time, the R sums side by side, each in the order of one row alone.
template <int R>
RELUTOPE_INLINE void constants_block(const double* w, int nl, const double* c, double* cst) {
  double acc[R];
  for (int r = 0; r < R; ++r) acc[r] = cst[r];
  int t = 0;
#ifdef RELUTOPE_HAVE_V4D
  for (; t + 4 <= nl; t += 4) {
    v4d c4, v[R];
    load4(c4, c + t);
    for (int r = 0; r < R; ++r) {
      v4d x;
      load4(x, w + static_cast<size_t>(r) * nl + t);
      unless_zero4(v[r], x, x * c4);
    }
    for (int e = 0; e < 4; ++e)
      for (int r = 0; r < R; ++r) acc[r] += v[r][e];
  }
#endif
  for (; t < nl; ++t)
    for (int r = 0; r < R; ++r) {
      const double x = w[static_cast<size_t>(r) * nl + t];
      acc[r] += unless_zero(x, x * c[t]);
    }
  for (int r = 0; r < R; ++r) cst[r] = acc[r];
}

// One layer's relaxations (Relaxation::relaxations) as backsub() applies them: the coefficient m of a unit's output
// becomes relaxed(m, a_lo, a_hi) on each of its live pieces and relaxed(m, b_lo, b_hi) in the constant.
struct RelaxedLayer {
  int n;                     // units (entries of a row of m)
  int nlive;                 // live pieces (entries of a row of the result)
  const int* ulive;          // the unit of each (Layer::live_unit)
  bool by_unit;              // ulive[t] == t (Layer::live_is_units)
  const double *alo, *ahi;   // per live piece: the lower side's and the upper side's coefficient
  const double *blo, *bhi;   // per unit: the lower side's and the upper side's constant
};

// R rows of m (n entries each) to R rows of coefficients on the live pieces (nlive entries each) and their
// constants added to cst (R): 4 entries at a time where the live pieces are the units (a ReLU layer's). The
// constants' R sums side by side, each in the order of one row alone.
template <int R>
RELUTOPE_INLINE void relax_block(const RelaxedLayer& L, const double* m, double* next, double* cst) {
  for (int r = 0; r < R; ++r) {
    const double* mr = m + static_cast<size_t>(r) * L.n;
    double* nr = next + static_cast<size_t>(r) * L.nlive;
    int t = 0;
    if (L.by_unit) {
#ifdef RELUTOPE_HAVE_V4D
      for (; t + 4 <= L.nlive; t += 4) {
        v4d x, lo, hi;
        load4(x, mr + t), load4(lo, L.alo + t), load4(hi, L.ahi + t);
        relaxed4(x, x, lo, hi);
        store4(nr + t, x);
      }
#endif
      for (; t < L.nlive; ++t) nr[t] = relaxed(mr[t], L.alo[t], L.ahi[t]);
    } else {
      for (; t < L.nlive; ++t) nr[t] = relaxed(mr[L.ulive[t]], L.alo[t], L.ahi[t]);
    }
  }
  double acc[R];
  for (int r = 0; r < R; ++r) acc[r] = cst[r];
  int i = 0;
#ifdef RELUTOPE_HAVE_V4D
  for (; i + 4 <= L.n; i += 4) {
    v4d lo, hi, v[R];
    load4(lo, L.blo + i), load4(hi, L.bhi + i);
    for (int r = 0; r < R; ++r) {
      v4d x;
      load4(x, m + static_cast<size_t>(r) * L.n + i);
      relaxed4(v[r], x, lo, hi);
    }
    for (int e = 0; e < 4; ++e)
      for (int r = 0; r < R; ++r) acc[r] += v[r][e];
  }
#endif
  for (; i < L.n; ++i)
    for (int r = 0; r < R; ++r) acc[r] += relaxed(m[static_cast<size_t>(r) * L.n + i], L.blo[i], L.bhi[i]);
  for (int r = 0; r < R; ++r) cst[r] = acc[r];
}

// Scratch of at least n entries: grown, never shrunk (every entry read is written first), so that calls with
// fewer rows fill nothing.
template <class T>
inline void at_least(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// The relaxation of unit i of layer L (pieces p0..p0+K-1, bounds blo/bhi in the LayerBounds convention) on the
// side asked for: lower (z >= sum_j a_j p_j + b) or upper (z <= ...). a gets K entries.
inline void unit_relaxation(const Layer& L, int i, const double* blo, const double* bhi, bool lower, double* a,
                            double& b, int lower_slope = -1) {
  const int p0 = L.piece_start[i], K = L.n_pieces(i);
  b = 0.0;
  if (K == 1) {
    a[0] = 1.0;
    return;
  }
  if (K == 2) {
    const double l = blo[p0 + 1], u = bhi[p0 + 1];
    if (l >= 0.0) {
      a[0] = 0.0, a[1] = 1.0;
    } else if (u <= 0.0) {
      a[0] = 1.0, a[1] = 0.0;
    } else if (lower) {
      const double al = lower_slope >= 0 ? lower_slope : (u > -l ? 1.0 : 0.0);
      a[0] = 1.0 - al, a[1] = al;
    } else {
      const double s = u / (u - l);
      a[0] = 1.0 - s, a[1] = s;
      b = -s * l;
    }
    return;
  }
  int best = 0;
  for (int j = 1; j < K; ++j)
    if (blo[p0 + j] > blo[p0 + best]) best = j;
  bool dominant = true;  // piece best is the maximum everywhere on the set
  for (int j = 0; j < K && dominant; ++j)
    if (j != best && bhi[p0 + j] > blo[p0 + best]) dominant = false;
  std::fill(a, a + K, 0.0);
  if (lower || dominant) {
    a[best] = 1.0;
    return;
  }
  b = -std::numeric_limits<double>::infinity();
  for (int j = 0; j < K; ++j) b = std::max(b, bhi[p0 + j]);
}

// Columns j0..j0+C-1 of out = w A for R rows (w: rows of nl entries over the live pieces, A: rows of n entries,
// live piece t's row piece[t]) over the live pieces U[0..nU) in their order, the R x C sums in registers.
template <int R, int C>
RELUTOPE_INLINE void block_times(const double* w, int nl, const int* U, int nU, const int* piece, const double* A, int n,
                                 int j0, double* out) {
  double acc[R][C] = {};
  for (int u = 0; u < nU; ++u) {
    const int t = U[u];
    const double* ap = A + static_cast<size_t>(piece[t]) * n + j0;
    for (int r = 0; r < R; ++r) {
      const double wr = w[static_cast<size_t>(r) * nl + t];
      for (int c = 0; c < C; ++c) acc[r][c] += wr * ap[c];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[static_cast<size_t>(r) * n + j0 + c] = acc[r][c];
}

template <int R>
RELUTOPE_INLINE void rows_block(const double* w, int nl, const int* piece, const double* A, int n, double* out,
                                std::vector<int>& used) {
  at_least(used, static_cast<size_t>(nl));  // the live pieces with a non-zero weight in one of the R rows
  int* U = used.data();
  int nU = 0, t = 0;
#ifdef RELUTOPE_HAVE_V4D
  for (; t + 4 <= nl; t += 4) {
    const v4d zero = {0.0, 0.0, 0.0, 0.0};
    v4l any = {0, 0, 0, 0};
    for (int r = 0; r < R; ++r) {
      v4d x;
      load4(x, w + static_cast<size_t>(r) * nl + t);
      any |= x != zero;
    }
    for (int e = 0; e < 4; ++e) U[nU] = t + e, nU += static_cast<int>(any[e] & 1);
  }
#endif
  for (; t < nl; ++t) {
    bool any = false;
    for (int r = 0; r < R; ++r) any |= w[static_cast<size_t>(r) * nl + t] != 0.0;
    U[nU] = t, nU += any;
  }
  int j = 0;
  for (; j + 8 <= n; j += 8) block_times<R, 8>(w, nl, U, nU, piece, A, n, j, out);
  if (j + 4 <= n) block_times<R, 4>(w, nl, U, nU, piece, A, n, j, out), j += 4;
  if (j + 2 <= n) block_times<R, 2>(w, nl, U, nU, piece, A, n, j, out), j += 2;
  if (j < n) block_times<R, 1>(w, nl, U, nU, piece, A, n, j, out);
}

// out (rows x n) = w (rows x nl, coefficients on a layer's nl live pieces) times their rows of A (live piece t's
// is row piece[t], n entries): out[r][j] is the sum over t, in increasing order, of w[r][t] A[piece[t]][j], from
// +0.0, skipping the pieces whose weight is 0 in every row of a block of 4 rows (a register-blocked product).
// Terms with w[r][t] = 0 inside a block are +-0 (A is finite: Network refuses NaN and inf), and adding +-0 leaves
// every such sum as it is (rounding to nearest, a sum is -0 only when both terms are, so a sum from +0.0 never
// is): out is to the bit the sum over the non-zero weights of each row alone. used: scratch.
RELUTOPE_WIDE_VECTORS
void rows_times(const double* w, int nl, int rows, const int* piece, const double* A, int n, double* out,
                std::vector<int>& used) {
  int r = 0;
  for (; r + 4 <= rows; r += 4)
    rows_block<4>(w + static_cast<size_t>(r) * nl, nl, piece, A, n, out + static_cast<size_t>(r) * n, used);
  if (r + 2 <= rows)
    rows_block<2>(w + static_cast<size_t>(r) * nl, nl, piece, A, n, out + static_cast<size_t>(r) * n, used), r += 2;
  if (r < rows) rows_block<1>(w + static_cast<size_t>(r) * nl, nl, piece, A, n, out + static_cast<size_t>(r) * n, used);
}

// ab (W entries: the lower and the upper affine bound of a sum, side by side, and padding) += the terms of
// sum_j w_j z_j over the live outputs z_j of the previous layer, in order, those with w_j = 0 skipped: a
// coefficient c > 0 adds c times z_j's lower bound to the lower one and c times its upper bound to the upper one,
// c < 0 the other way round; fz holds both orders per output (2 W entries: [lower | upper | 0], [upper | lower | 0]).
template <int W>
RELUTOPE_INLINE void bounds_sum_fixed(const double* w, const int* live, int nlive, const double* fz, double* ab) {
  double acc[W];
  for (int e = 0; e < W; ++e) acc[e] = ab[e];
  for (int t = 0; t < nlive; ++t) {
    const int j = live[t];
    const double c = w[j];
    if (c == 0.0) continue;
    const double* f = fz + static_cast<size_t>(j) * 2 * W + (c > 0 ? 0 : W);
    for (int e = 0; e < W; ++e) acc[e] += c * f[e];
  }
  for (int e = 0; e < W; ++e) ab[e] = acc[e];
}

RELUTOPE_INLINE void bounds_sum(const double* w, const int* live, int nlive, const double* fz, int W, double* ab) {
  switch (W) {
    case 4: return bounds_sum_fixed<4>(w, live, nlive, fz, ab);
    case 8: return bounds_sum_fixed<8>(w, live, nlive, fz, ab);
    case 12: return bounds_sum_fixed<12>(w, live, nlive, fz, ab);
    case 16: return bounds_sum_fixed<16>(w, live, nlive, fz, ab);
    default:
      for (int t = 0; t < nlive; ++t) {
        const int j = live[t];
        const double c = w[j];
        if (c == 0.0) continue;
        const double* f = fz + static_cast<size_t>(j) * 2 * W + (c > 0 ? 0 : W);
        for (int e = 0; e < W; ++e) ab[e] += c * f[e];
      }
  }
}

// A forward pass at u from layer start's pieces as affine functions of u (P_start x (k+1)): visit(l, v) sees
// each layer's piece values (P_l entries), z and y are scratch, y the output at the end (out_dim entries).
template <class Visit>
void forward_pieces(const Network& net, int start, int k, const double* pieces, const double* u, std::vector<double>& z,
                    std::vector<double>& y, Visit&& visit) {
  const auto& layers = net.layers();
  std::vector<double> v;  // a layer's pieces
  for (size_t l = static_cast<size_t>(start); l < layers.size(); ++l) {
    const Layer& L = layers[l];
    v.resize(L.total_pieces());
    if (l == static_cast<size_t>(start)) {
      for (int p = 0; p < L.total_pieces(); ++p) {
        const double* f = pieces + static_cast<size_t>(p) * (k + 1);
        double s = f[k];
        for (int j = 0; j < k; ++j) s += f[j] * u[j];
        v[p] = s;
      }
    } else {
      piece_values(L, z.data(), v.data());
    }
    visit(l, v);
    y.assign(L.n_units, 0.0);
    for (int i = 0; i < L.n_units; ++i) {
      double best = -std::numeric_limits<double>::infinity();
      for (int p = L.piece_start[i]; p < L.piece_start[i + 1]; ++p) best = std::max(best, v[p]);
      y[i] = best;
    }
    z.swap(y);
  }
  y = z;
}

}  // namespace

double Relaxation::box_min(const double* g, int k, const double* lo, const double* hi) {
  return min_over_box(g, k, lo, hi);
}

void Relaxation::tighten_start(int start, int k, const double* pieces, const double* lo, const double* hi,
                               LayerBounds& b) const {
  const Layer& L = net_->layers()[start];
  const int n1 = k + 1;
  std::vector<double>& blo = b.lo[start];
  std::vector<double>& bhi = b.hi[start];
  std::vector<double> a(n1), g(n1);
  for (int i = 0; i < L.n_units; ++i) {
    const int p0 = L.piece_start[i], K = L.n_pieces(i);
    if (K == 1) continue;
    for (int j = (K == 2 ? 1 : 0); j < K; ++j) {
      const int s = p0 + j;
      const double* f = pieces + static_cast<size_t>(s) * n1;
      for (int t = 0; t < n1; ++t) a[t] = K == 2 ? f[t] - pieces[static_cast<size_t>(p0) * n1 + t] : f[t];
      for (int t = 0; t < n1; ++t) g[t] = -a[t];
      double lo_s = min_over_box(a.data(), k, lo, hi), hi_s = -min_over_box(g.data(), k, lo, hi);
      widen(lo_s, hi_s);
      blo[s] = std::max(blo[s], lo_s);
      bhi[s] = std::min(bhi[s], hi_s);
    }
  }
}

RELUTOPE_WIDE_VECTORS
void Relaxation::backsub(int l, int start, int k, const double* pieces, const LayerBounds& bounds, int rows,
                         std::vector<double>& lam, std::vector<double>& cst, std::vector<double>& G, bool mu_ready,
                         bool keep_weights) {
  const auto& layers = net_->layers();
  for (; l > start; --l) {
    const Layer& cur = layers[l];
    const Layer& prev = layers[l - 1];
    const int nl = static_cast<int>(cur.live.size()), n = cur.in_dim, npl = static_cast<int>(prev.live.size());
    // mu = lam A_l (rows x n), cst += lam c_l: lam's rows are coefficients on layer l's live pieces (the pieces
    // that are not identically zero, in order: nl entries). With mu_ready, the caller has made them for the first
    // layer (mu_ and cst; lam is not read).
    if (mu_ready) {
      mu_ready = false;
    } else {
      at_least(mu_, static_cast<size_t>(rows) * n);
      int r = 0;
      for (; r + 4 <= rows; r += 4)
        constants_block<4>(&lam[static_cast<size_t>(r) * nl], nl, cur.live_c.data(), &cst[r]);
      for (; r < rows; ++r) constants_block<1>(&lam[static_cast<size_t>(r) * nl], nl, cur.live_c.data(), &cst[r]);
      rows_times(lam.data(), nl, rows, cur.live.data(), cur.A.data(), n, mu_.data(), used_);
    }
    if (keep_weights) unit_weights_[l - 1].assign(mu_.begin(), mu_.begin() + static_cast<size_t>(rows) * n);
    // Units of layer l-1 by their relaxations (per side, made once for all rows): coefficients on the live pieces
    // of layer l-1, m a_j for the unit's coefficient m in mu (-0.0 when m = 0), and the constants m b in cst, unit
    // by unit.
    relaxations(prev, bounds.lo[l - 1].data(), bounds.hi[l - 1].data());
    at_least(next_, static_cast<size_t>(rows) * npl);
    const int U = prev.n_units;
    const RelaxedLayer rl{n, npl, prev.live_unit.data(), prev.live_is_units, cur_ra_, cur_ra_ + npl, cur_rb_,
                          cur_rb_ + U};
    int r = 0;
    for (; r + 4 <= rows; r += 4)
      relax_block<4>(rl, &mu_[static_cast<size_t>(r) * n], &next_[static_cast<size_t>(r) * npl], &cst[r]);
    for (; r < rows; ++r)
      relax_block<1>(rl, &mu_[static_cast<size_t>(r) * n], &next_[static_cast<size_t>(r) * npl], &cst[r]);
    lam.swap(next_);
  }
  // To u through layer start's live pieces (affine in u); its identically zero pieces add nothing.
  const Layer& first = layers[start];
  const int nl = static_cast<int>(first.live.size()), n1 = k + 1;
  G.resize(static_cast<size_t>(rows) * n1);
  rows_times(lam.data(), nl, rows, first.live.data(), pieces, n1, G.data(), used_);
  for (int r = 0; r < rows; ++r) G[static_cast<size_t>(r) * n1 + k] += cst[r];
}

void Relaxation::relaxations(const Layer& L, const double* blo, const double* bhi) {
  const int P = L.total_pieces(), U = L.n_units;
  const size_t nL = net_->layers().size(), l = static_cast<size_t>(&L - net_->layers().data());
  const size_t bytes = static_cast<size_t>(P) * sizeof(double);
  CachedLayer* c = nullptr;  // where they go: the layer's cache entry, or ra_ / rb_ (point slopes)
  if (point_slopes_.empty() && l < nL) {
    if (cache_.size() != nL) cache_.assign(nL, CachedLayer());
    c = &cache_[l];
    if (c->key.size() == 2 * static_cast<size_t>(P) && std::memcmp(c->key.data(), blo, bytes) == 0 &&
        std::memcmp(c->key.data() + P, bhi, bytes) == 0) {
      cur_ra_ = c->ra.data(), cur_rb_ = c->rb.data();
      return;
    }
    c->key.resize(2 * static_cast<size_t>(P));
    std::memcpy(c->key.data(), blo, bytes);
    std::memcpy(c->key.data() + P, bhi, bytes);
  }
  std::vector<double>& ra = c ? c->ra : ra_;
  std::vector<double>& rb = c ? c->rb : rb_;
  const int nl = static_cast<int>(L.live.size());
  at_least(ra, 2 * static_cast<size_t>(nl));
  at_least(rb, 2 * static_cast<size_t>(U));
  at_least(rk_, static_cast<size_t>(net_->max_pieces()));
  for (int side = 0; side < 2; ++side) {
    int t = 0;  // the live piece
    for (int i = 0; i < U; ++i) {
      const int p0 = L.piece_start[i];
      unit_relaxation(L, i, blo, bhi, side == 0, rk_.data(), rb[static_cast<size_t>(side) * U + i],
                      side == 0 ? point_slope(L, i) : -1);
      for (int j = 0; j < L.n_pieces(i); ++j)
        if (!L.zero_piece[p0 + j]) ra[static_cast<size_t>(side) * nl + t++] = rk_[j];
    }
  }
  cur_ra_ = ra.data(), cur_rb_ = rb.data();
}

// Back-substitute the quantities of layer l that the forward bounds leave unstable (K = 2: 0 inside (lo, hi);
// K > 2: every piece of a unit with no dominant piece), and intersect.
void Relaxation::refine(int l, int start, int k, const double* pieces, const double* lo, const double* hi,
                        const LayerBounds& out, std::vector<double>& nlo, std::vector<double>& nhi) {
  const Layer& L = net_->layers()[l];
  const int n1 = k + 1;
  std::vector<int> slot, pa;
  for (int i = 0; i < L.n_units; ++i) {
    const int p0 = L.piece_start[i], K = L.n_pieces(i);
    if (K == 2) {
      if (nlo[p0 + 1] < 0.0 && nhi[p0 + 1] > 0.0) slot.push_back(p0 + 1), pa.push_back(p0);
    } else if (K > 2) {
      // Pieces whose upper bound is below another's lower bound are never the maximum: their bounds enter the
      // unit's relaxation nowhere (unit_relaxation), and tightening the others keeps them below. The rest only.
      double top = -std::numeric_limits<double>::infinity();
      for (int j = 0; j < K; ++j) top = std::max(top, nlo[p0 + j]);
      int live = 0;
      for (int j = 0; j < K; ++j) live += nhi[p0 + j] >= top;
      if (live <= 1) continue;  // one piece dominates on the set: the unit is that piece
      for (int j = 0; j < K; ++j)
        if (nhi[p0 + j] >= top) slot.push_back(p0 + j), pa.push_back(-1);
    }
  }
  const int W = static_cast<int>(slot.size());
  if (W == 0) return;
  // Rows 2w and 2w + 1: the quantity (slot[w], less pa[w]) and its negation, each with one or two non-zero
  // coefficients on layer l's pieces, so their first product with A_l is made here, sparse, with the same terms
  // in the same order as backsub()'s dense loop (pieces in increasing order, pa[w] < slot[w], zero pieces skipped).
  const int n = L.in_dim;
  mu_.assign(static_cast<size_t>(2 * W) * n, 0.0);
  std::vector<double> cst(2 * W, 0.0), G;
  for (int w = 0; w < W; ++w) {
    double* up = &mu_[static_cast<size_t>(2 * w) * n];
    double* dn = up + n;
    const int terms[2] = {pa[w], slot[w]};
    for (int t = 0; t < 2; ++t) {
      const int p = terms[t];
      if (p < 0 || L.zero_piece[p]) continue;
      const double wu = t == 0 ? -1.0 : 1.0;
      const double* ap = &L.A[static_cast<size_t>(p) * n];
      for (int j = 0; j < n; ++j) up[j] += wu * ap[j], dn[j] += -wu * ap[j];
      cst[2 * w] += wu * L.c[p];
      cst[2 * w + 1] += -wu * L.c[p];
    }
  }
  backsub(l, start, k, pieces, out, 2 * W, lam_, cst, G, true);
  for (int w = 0; w < W; ++w) {
    double a = min_over_box(&G[static_cast<size_t>(2 * w) * n1], k, lo, hi);
    double b = -min_over_box(&G[static_cast<size_t>(2 * w + 1) * n1], k, lo, hi);
    widen(a, b);
    nlo[slot[w]] = std::max(nlo[slot[w]], a);
    nhi[slot[w]] = std::min(nhi[slot[w]], b);
    if (set_min && pa[w] >= 0)
      tighten_on_set(&G[static_cast<size_t>(2 * w) * n1], &G[static_cast<size_t>(2 * w + 1) * n1], nlo[slot[w]],
                     nhi[slot[w]]);
  }
}

void Relaxation::tighten_on_set(const double* lower, const double* neg_upper, double& lo, double& hi) {
  if (!(lo < 0.0 && hi > 0.0)) return;  // stable already: the side is decided
  // The side nearer to 0 first (the likelier to prove the quantity's sign), the other only while it is unsettled:
  // a stable unit's relaxation reads no bound of the other side. On ACAS Xu's enumeration-heavy instances 1-3% less
  // time, the same cells pruned.
  double v;
  if (hi < -lo) {
    if (set_min(neg_upper, v)) hi = std::min(hi, -v);
    if (hi > 0.0 && set_min(lower, v)) lo = std::max(lo, v);
    return;
  }
  if (set_min(lower, v)) lo = std::max(lo, v);
  if (lo < 0.0 && set_min(neg_upper, v)) hi = std::min(hi, -v);
}

RELUTOPE_WIDE_VECTORS
void Relaxation::forward_layers(int start, int k, const double* pieces, const double* lo, const double* hi,
                                const LayerBounds* prior, LayerBounds& out) {
  const auto& layers = net_->layers();
  const int nL = static_cast<int>(layers.size());
  const int n1 = k + 1, w2 = 2 * n1;
  // The padded width of the sums' rows (4, 8, 12 or 16 columns in registers; w2 above 16: w2 itself).
  const int W = w2 <= 16 ? (w2 + 3) / 4 * 4 : w2;
  const bool have_prior = prior != nullptr && prior->valid;
  const double inf = std::numeric_limits<double>::infinity();
  out.lo.resize(nL);
  out.hi.resize(nL);
  // Affine functions of u side by side: a piece's (fp_) or a quantity's (fq_) lower and upper bound, w2 entries of
  // rows of W; the previous layer's outputs as the terms of a coefficient c > 0 (fz_: [lower | upper], padded to W) and
  // of c < 0 ([upper | lower]), 2 W entries a row.
  std::vector<double>& g = g_;
  g.resize(n1);
  live_out_.clear();  // the previous layer's outputs whose affine bounds are not both zero
  if (attribute) slopes_.resize(nL);
  for (int l = start; l < nL; ++l) {
    const Layer& L = layers[l];
    const int P = L.total_pieces();
    if (attribute) slopes_[l].assign(static_cast<size_t>(P) * k, 0.0);
    const int nlive = static_cast<int>(live_out_.size());
    // Affine bounds of every piece of the layer.
    at_least(fp_, static_cast<size_t>(P) * W);
    for (int p = 0; p < P; ++p) {
      double* ab = &fp_[static_cast<size_t>(p) * W];
      if (l == start) {
        std::copy(pieces + static_cast<size_t>(p) * n1, pieces + static_cast<size_t>(p + 1) * n1, ab);
        std::copy(pieces + static_cast<size_t>(p) * n1, pieces + static_cast<size_t>(p + 1) * n1, ab + n1);
      } else {
        std::fill(ab, ab + W, 0.0);
        ab[k] = ab[n1 + k] = L.c[p];
        if (!L.zero_piece[p])
          bounds_sum(&L.A[static_cast<size_t>(p) * L.in_dim], live_out_.data(), nlive, fz_.data(), W, ab);
      }
    }
    // The quantities' bounds: p1 - p0 for K = 2 (its affine bounds: lower of p1 minus upper of p0, exact when p0
    // is a zero piece), each piece for K > 2.
    nlo_.assign(P, -inf);
    nhi_.assign(P, inf);
    std::vector<double>&nlo = nlo_, &nhi = nhi_;
    at_least(fq_, static_cast<size_t>(P) * W);  // the rows of the quantities' slots are written, the others unused
    const bool pri = have_prior && l < static_cast<int>(prior->lo.size()) && !prior->lo[l].empty();
    for (int i = 0; i < L.n_units; ++i) {
      const int p0 = L.piece_start[i], K = L.n_pieces(i);
      if (K == 1) continue;
      for (int j = (K == 2 ? 1 : 0); j < K; ++j) {
        const int s = p0 + j;
        double* a = &fq_[static_cast<size_t>(s) * W];
        double* b = a + n1;
        const double* ps = &fp_[static_cast<size_t>(s) * W];
        if (K == 2) {
          if (l == start || L.zero_piece[p0]) {
            // exact difference when both sides are exact (l == start) or p0 is identically 0
            const double* pz = &fp_[static_cast<size_t>(p0) * W];
            for (int t = 0; t < n1; ++t) {
              a[t] = ps[t] - pz[n1 + t];
              b[t] = ps[n1 + t] - pz[t];
            }
            if (l == start) std::copy(a, a + n1, b);
          } else {  // the difference's own affine bounds from the layer's inputs
            const double* w1 = &L.A[static_cast<size_t>(s) * L.in_dim];
            const double* w0 = &L.A[static_cast<size_t>(p0) * L.in_dim];
            at_least(dw_, L.in_dim);
            for (int t = 0; t < nlive; ++t) dw_[live_out_[t]] = w1[live_out_[t]] - w0[live_out_[t]];
            std::fill(a, a + W, 0.0);
            a[k] = b[k] = L.c[s] - L.c[p0];
            bounds_sum(dw_.data(), live_out_.data(), nlive, fz_.data(), W, a);
          }
        } else {
          std::copy(ps, ps + w2, a);
        }
        if (attribute && K == 2) {
          double* sl = &slopes_[l][static_cast<size_t>(s) * k];
          for (int t = 0; t < k; ++t) sl[t] = 0.5 * (std::fabs(a[t]) + std::fabs(b[t]));
        }
        double lo_s = min_over_box(a, k, lo, hi);
        for (int t = 0; t < n1; ++t) g[t] = -b[t];
        double hi_s = -min_over_box(g.data(), k, lo, hi);
        widen(lo_s, hi_s);
        if (pri) lo_s = std::max(lo_s, prior->lo[l][s]), hi_s = std::min(hi_s, prior->hi[l][s]);
        nlo[s] = lo_s, nhi[s] = hi_s;
      }
    }
    // One layer after start, the forward bounds are the back-substituted ones (the same relaxation of layer start,
    // chosen per sign of each coefficient, over exact pieces): refine from two layers after start on.
    const bool refined = mode == Mode::Backward && l > start + 1;
    if (refined) refine(l, start, k, pieces, lo, hi, out, nlo, nhi);
    if (set_min && !refined) {  // refine() tightened its own quantities on the set; here the forward bounds'
      for (int i = 0; i < L.n_units; ++i) {
        if (L.n_pieces(i) != 2) continue;
        const int s = L.piece_start[i] + 1;
        const double* q = &fq_[static_cast<size_t>(s) * W];
        for (int t = 0; t < n1; ++t) g[t] = -q[n1 + t];
        tighten_on_set(q, g.data(), nlo[s], nhi[s]);
      }
    }
    // The outputs' affine bounds through each unit's relaxation, as the next layer's terms (fz_).
    if (l + 1 < nL) {
      at_least(fz_, static_cast<size_t>(L.n_units) * 2 * W);
      live_out_.clear();
    }
    for (int i = 0; l + 1 < nL && i < L.n_units; ++i) {
      const int p0 = L.piece_start[i], K = L.n_pieces(i);
      double* a = &fz_[static_cast<size_t>(i) * 2 * W];
      double* b = a + n1;
      if (K == 1) {
        std::copy(&fp_[static_cast<size_t>(p0) * W], &fp_[static_cast<size_t>(p0 + 1) * W], a);
      } else if (K == 2) {
        // z = p0 + relu(d), d = p1 - p0 in [dl, du].
        const double dl = nlo[p0 + 1], du = nhi[p0 + 1];
        const double* al = &fq_[static_cast<size_t>(p0 + 1) * W];
        const double* au = al + n1;
        std::copy(&fp_[static_cast<size_t>(p0) * W], &fp_[static_cast<size_t>(p0 + 1) * W], a);
        if (dl >= 0.0) {
          for (int t = 0; t < n1; ++t) a[t] += al[t], b[t] += au[t];
        } else if (du > 0.0) {
          const double sl = du > -dl ? 1.0 : 0.0, su = du / (du - dl);
          for (int t = 0; t < n1; ++t) a[t] += sl * al[t], b[t] += su * au[t];
          b[k] -= su * dl;
        }
      } else {
        int best = 0;
        for (int j = 1; j < K; ++j)
          if (nlo[p0 + j] > nlo[p0 + best]) best = j;
        bool dominant = true;
        double top = -inf;
        for (int j = 0; j < K; ++j) {
          top = std::max(top, nhi[p0 + j]);
          if (j != best && nhi[p0 + j] > nlo[p0 + best]) dominant = false;
        }
        const double* pb = &fp_[static_cast<size_t>(p0 + best) * W];
        std::copy(pb, pb + n1, a);
        if (dominant) {
          std::copy(pb + n1, pb + w2, b);
        } else {
          std::fill(b, b + n1, 0.0);
          b[k] = top;
        }
      }
      bool zero = true;
      for (int t = 0; t < w2 && zero; ++t) zero = a[t] == 0.0;
      if (zero) continue;  // a stably inactive ReLU contributes nothing to the next layer
      live_out_.push_back(i);
      std::fill(a + w2, a + W, 0.0);
      std::copy(b, b + n1, a + W);  // the terms of c < 0: [upper | lower]
      std::copy(a, a + n1, a + W + n1);
      std::fill(a + W + w2, a + 2 * W, 0.0);
    }
    out.lo[l].swap(nlo_);
    out.hi[l].swap(nhi_);
  }
  for (int l = 0; l < start; ++l) out.lo[l].clear(), out.hi[l].clear();
  out.valid = true;
}

void Relaxation::bound_layers(int start, int k, const double* pieces, const double* lo, const double* hi,
                              const LayerBounds* prior, LayerBounds& out) {
  forward_layers(start, k, pieces, lo, hi, prior, out);
}

void Relaxation::lower_linear(int start, int k, const double* pieces, const LayerBounds& bounds, int q,
                              const double* C, const double* d, std::vector<double>& G) {
  const auto& layers = net_->layers();
  const int nL = static_cast<int>(layers.size());
  const Layer& last = layers[nL - 1];
  const int m = last.n_units;
  // C z_{L-1}: the last layer's units by their lower / upper relaxations, per sign of the coefficient.
  const int nl = static_cast<int>(last.live.size());
  lam_.assign(static_cast<size_t>(q) * nl, 0.0);  // coefficients on the last layer's live pieces
  std::vector<double> cst(q, 0.0), a(net_->max_pieces());
  const double* blo = bounds.lo[nL - 1].data();
  const double* bhi = bounds.hi[nL - 1].data();
  for (int r = 0; r < q; ++r) {
    cst[r] = d ? d[r] : 0.0;
    int t = 0;  // the live piece
    for (int i = 0; i < m; ++i) {
      const double c = C[static_cast<size_t>(r) * m + i];
      const int p0 = last.piece_start[i];
      if (c != 0.0) {
        double b;
        unit_relaxation(last, i, blo, bhi, c >= 0.0, a.data(), b, c >= 0.0 ? point_slope(last, i) : -1);
        cst[r] += c * b;
      }
      for (int j = 0; j < last.n_pieces(i); ++j) {
        if (last.zero_piece[p0 + j]) continue;
        if (c != 0.0) lam_[static_cast<size_t>(r) * nl + t] += c * a[j];
        ++t;
      }
    }
  }
  if (attribute) {
    unit_weights_.resize(nL);
    unit_weights_[nL - 1].assign(C, C + static_cast<size_t>(q) * m);
  }
  backsub(nL - 1, start, k, pieces, bounds, q, lam_, cst, G, false, attribute);
}

int Relaxation::point_slope(const Layer& L, int i) const {
  if (point_slopes_.empty()) return -1;
  const size_t l = static_cast<size_t>(&L - net_->layers().data());
  return l < point_slopes_.size() && !point_slopes_[l].empty() ? point_slopes_[l][static_cast<size_t>(i)] : -1;
}

void Relaxation::point_slopes(int start, int k, const double* pieces, const double* u, std::vector<double>* y) {
  point_slopes_.assign(net_->layers().size(), std::vector<int8_t>());
  std::vector<double> z, out;
  forward_pieces(*net_, start, k, pieces, u, z, y ? *y : out, [&](size_t l, const std::vector<double>& v) {
    const Layer& L = net_->layers()[l];
    point_slopes_[l].assign(L.n_units, -1);
    for (int i = 0; i < L.n_units; ++i)
      if (L.n_pieces(i) == 2) point_slopes_[l][i] = v[L.piece_start[i] + 1] > v[L.piece_start[i]] ? 1 : 0;
  });
}

void Relaxation::input_looseness(int start, int k, const LayerBounds& bounds, const double* lo, const double* hi,
                                 double* score) const {
  const auto& layers = net_->layers();
  const int nL = static_cast<int>(layers.size());
  if (static_cast<int>(slopes_.size()) != nL || static_cast<int>(unit_weights_.size()) != nL) return;
  const int rows = static_cast<int>(unit_weights_[nL - 1].size() / layers[nL - 1].n_units);  // lower_linear's q
  std::vector<double> part(k);
  for (int l = start; l < nL; ++l) {
    const Layer& L = layers[l];
    const int n = L.n_units;
    const std::vector<double>& w = unit_weights_[l];
    if (slopes_[l].size() != static_cast<size_t>(L.total_pieces()) * k ||
        w.size() != static_cast<size_t>(rows) * n)
      continue;
    for (int i = 0; i < n; ++i) {
      if (L.n_pieces(i) != 2) continue;
      const int s = L.piece_start[i] + 1;
      const double l_d = bounds.lo[l][s], u_d = bounds.hi[l][s];
      if (!(l_d < 0.0 && u_d > 0.0) || !std::isfinite(l_d) || !std::isfinite(u_d)) continue;
      const double upper_gap = u_d * (-l_d) / (u_d - l_d), lower_gap = std::min(u_d, -l_d);
      double range = 0.0;
      for (int j = 0; j < k; ++j) range += part[j] = slopes_[l][static_cast<size_t>(s) * k + j] * (hi[j] - lo[j]);
      if (!(range > 0.0) || !std::isfinite(range)) continue;
      double cost = 0.0;
      for (int r = 0; r < rows; ++r) {
        const double m = w[static_cast<size_t>(r) * n + i];
        cost += std::fabs(m) * (m < 0.0 ? upper_gap : lower_gap);
      }
      if (!(cost > 0.0) || !std::isfinite(cost)) continue;
      for (int j = 0; j < k; ++j) score[j] += cost * part[j] / range;
    }
  }
}

void forward_from(const Network& net, int start, int k, const double* pieces, const double* u, std::vector<double>& z,
                  std::vector<double>& y) {
  forward_pieces(net, start, k, pieces, u, z, y, [](size_t, const std::vector<double>&) {});
}

}  // namespace relutope
