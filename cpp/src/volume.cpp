#include "relutope/volume.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "relutope/bits.hpp"
#include "relutope/parallel.hpp"

namespace relutope {

const char* volume_status_name(VolumeStatus s) {
  switch (s) {
    case VolumeStatus::Complete: return "complete";
    case VolumeStatus::Interrupted: return "interrupted";
    case VolumeStatus::Numerical: return "numerical";
    case VolumeStatus::Unbounded: return "unbounded";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;

// A hash map from bitsets of W words to ints, open addressing, reset (not freed) between uses.
class BitsetMap {
 public:
  void reset(int W) {
    W_ = W;
    keys_.clear();
    vals_.clear();
    if (slots_.size() < 64)
      slots_.assign(64, -1);
    else
      std::fill(slots_.begin(), slots_.end(), -1);
  }
  const int* find(const Word* key) const {
    const size_t mask = slots_.size() - 1;
    for (size_t s = hash(key) & mask;; s = (s + 1) & mask) {
      const int e = slots_[s];
      if (e < 0) return nullptr;
      if (std::equal(key, key + W_, keys_.begin() + static_cast<ptrdiff_t>(e) * W_)) return &vals_[static_cast<size_t>(e)];
    }
  }
  void insert(const Word* key, int val) {  // key not present
    if (2 * (vals_.size() + 1) > slots_.size()) grow();
    const int e = static_cast<int>(vals_.size());
    keys_.insert(keys_.end(), key, key + W_);
    vals_.push_back(val);
    place(e);
  }

 private:
  int W_ = 1;
  std::vector<Word> keys_;
  std::vector<int> vals_, slots_;
  size_t hash(const Word* key) const { return hash_words(key, W_); }
  void place(int e) {
    const size_t mask = slots_.size() - 1;
    size_t s = hash(&keys_[static_cast<size_t>(e) * W_]) & mask;
    while (slots_[s] >= 0) s = (s + 1) & mask;
    slots_[s] = e;
  }
  void grow() {
    slots_.assign(slots_.size() * 2, -1);
    for (int e = 0; e < static_cast<int>(vals_.size()); ++e) place(e);
  }
};

// Regions per chunk of the parallel loop (a region's measures cost far more than its facets' bookkeeping).
constexpr int64_t kVolumeChunk = 64;
// The most rays the double description may hold at once (a guard against a blow-up on garbage input).
constexpr size_t kMaxRays = size_t{1} << 20;
// Facet measures' weighted outward normals must sum to zero within this share of the boundary measure.
constexpr double kMinkowskiTol = 1e-7;

// The measures of one region at a time, with scratch kept between regions (one per worker).
class Measurer {
 public:
  explicit Measurer(int k) : k_(k), d_(k + 1) {}

  const std::string& message() const { return message_; }

  // Region {u : rows u <= rhs} (m rows) with interior point c. Appends its vertices (in u) to `verts` when asked.
  VolumeStatus region(const double* rows, const double* rhs, int m, const double* c, bool want_vertices,
                      std::vector<double>& verts, double& volume, double& surface) {
    message_.clear();
    VolumeStatus st = normalise(rows, rhs, m, c);
    if (st != VolumeStatus::Complete) return st;
    st = double_description();
    if (st != VolumeStatus::Complete) return st;
    st = extract_vertices();
    if (st != VolumeStatus::Complete) return st;
    double vol = 0.0, surf = 0.0;
    if (!lattice_volume(vol, surf)) return fail("a face's vertex set is not consistent with its rows");
    double ns = 0.0;
    for (double x : normal_sum_) ns += x * x;
    if (!(vol > 0) || !std::isfinite(vol)) return fail("non-positive volume");
    if (k_ > 1 && !(std::sqrt(ns) <= kMinkowskiTol * surf))
      return fail("the facets do not close (outward normals weighted by facet measures sum to " +
                  std::to_string(std::sqrt(ns) / surf) + " of the boundary measure)");
    volume = vol * std::pow(s_, k_);
    surface = surf * std::pow(s_, k_ - 1);
    if (want_vertices) {
      order_vertices();
      for (int v : order_)
        for (int j = 0; j < k_; ++j) verts.push_back(c[j] + s_ * Y(v)[j]);
    }
    return VolumeStatus::Complete;
  }

 private:
  int k_, d_;
  int m_ = 0, M_ = 0, W_ = 0, Wv_ = 0;  // rows, cone rows (m + 1), words per ray's row set, per row's vertex set
  double s_ = 1.0, tau_ = 0.0, ftol_ = 0.0;
  std::vector<double> C_;              // M x d: (g_i, -h'_i), then (0, ..., 0, -1) for t >= 0
  std::vector<double> Z_, Zn_;         // rays (n x d), unit length
  std::vector<Word> B_, Bn_;           // rows tight at each ray (n x W)
  std::vector<double> val_;
  std::vector<int8_t> sgn_;
  std::vector<int> pos_, neg_;
  int nr_ = 0;                         // rays
  std::vector<double> Yv_;             // vertices (nv x k), in the normalised frame
  std::vector<Word> rowv_;             // vertices on each row (m x Wv)
  int nv_ = 0;
  std::vector<double> normal_sum_;
  std::vector<int> order_;
  std::string message_;

  const double* Y(int v) const { return &Yv_[static_cast<size_t>(v) * k_]; }
  bool on_row(int i, int v) const { return (rowv_[static_cast<size_t>(i) * Wv_ + v / 64] >> (v % 64)) & 1; }

  VolumeStatus fail(const std::string& why) {
    message_ = why;
    return VolumeStatus::Numerical;
  }

  // Move to c, scale by the largest facet distance s; unit rows.
  VolumeStatus normalise(const double* rows, const double* rhs, int m, const double* c) {
    m_ = m;
    M_ = m + 1;
    W_ = (M_ + 63) / 64;
    C_.assign(static_cast<size_t>(M_) * d_, 0.0);
    std::vector<double> dist(static_cast<size_t>(m));
    double hmax = 0.0, cn = 0.0;
    for (int j = 0; j < k_; ++j) cn += c[j] * c[j];
    s_ = 0.0;
    for (int i = 0; i < m; ++i) {
      const double* g = rows + static_cast<size_t>(i) * k_;
      double nrm = 0.0, gc = 0.0;
      for (int j = 0; j < k_; ++j) {
        nrm += g[j] * g[j];
        gc += g[j] * c[j];
      }
      nrm = std::sqrt(nrm);
      if (!(nrm > 0) || !std::isfinite(nrm) || !std::isfinite(rhs[i]))
        return fail("row " + std::to_string(i) + " is zero or not finite");
      dist[static_cast<size_t>(i)] = (rhs[i] - gc) / nrm;
      if (!(dist[static_cast<size_t>(i)] > 0))
        return fail("the centre is not strictly inside row " + std::to_string(i));
      hmax = std::max(hmax, std::fabs(rhs[i]) / nrm);
      s_ = std::max(s_, dist[static_cast<size_t>(i)]);
      double* r = &C_[static_cast<size_t>(i) * d_];
      for (int j = 0; j < k_; ++j) r[j] = g[j] / nrm;
    }
    if (m < k_ + 1) return VolumeStatus::Unbounded;
    for (int i = 0; i < m; ++i) C_[static_cast<size_t>(i) * d_ + k_] = -dist[static_cast<size_t>(i)] / s_;
    C_[static_cast<size_t>(m) * d_ + k_] = -1.0;
    // The magnitude of the terms in the original coordinates, in units of s: rows evaluated there round at it.
    tau_ = kVolumeEps * (hmax + std::sqrt(cn)) / s_;
    return VolumeStatus::Complete;
  }

  // Value of cone row i at ray z (unit length), and its tolerance: relative to the terms, to the ray's own
  // rounding (a value far below the ray's length is zero even when every term is small), and to the magnitudes of
  // the region's original coordinates (tau_, per unit of t).
  double value(int i, const double* z, double& tol) const {
    const double* r = &C_[static_cast<size_t>(i) * d_];
    if (i == m_) {  // t >= 0: zero when t is negligible against the ray's y part
      double wn = 0.0;
      for (int j = 0; j < k_; ++j) wn += std::fabs(z[j]);
      tol = kVolumeEps * (wn + 1.0);
      return -z[k_];
    }
    double v = 0.0, mag = 0.0;
    for (int j = 0; j < d_; ++j) {
      const double t = r[j] * z[j];
      v += t;
      mag += std::fabs(t);
    }
    tol = kVolumeEps * (mag + 1.0) + tau_ * std::fabs(z[k_]);  // + 1: the rounding of the (unit) ray itself
    return v;
  }

  static void set_bit(Word* b, int i) { b[i / 64] |= Word{1} << (i % 64); }

  VolumeStatus double_description() {
    const int d = d_, W = W_;
    // k + 1 independent rows by pivoted Gram-Schmidt (the best conditioned first).
    std::vector<int> basis;
    std::vector<double> q(static_cast<size_t>(d) * d, 0.0), res(C_);
    std::vector<char> used(static_cast<size_t>(M_), 0);
    for (int step = 0; step < d; ++step) {
      int best = -1;
      double bestn = 0.0;
      for (int i = 0; i < M_; ++i) {
        if (used[static_cast<size_t>(i)]) continue;
        double n2 = 0.0, o2 = 0.0;
        for (int j = 0; j < d; ++j) {
          n2 += res[static_cast<size_t>(i) * d + j] * res[static_cast<size_t>(i) * d + j];
          o2 += C_[static_cast<size_t>(i) * d + j] * C_[static_cast<size_t>(i) * d + j];
        }
        const double rel = std::sqrt(n2 / o2);
        if (rel > bestn) {
          bestn = rel;
          best = i;
        }
      }
      if (best < 0 || bestn < 1e-9) return VolumeStatus::Unbounded;  // the rows do not span: a line in the region
      used[static_cast<size_t>(best)] = 1;
      basis.push_back(best);
      double* e = &q[static_cast<size_t>(step) * d];
      double n2 = 0.0;
      for (int j = 0; j < d; ++j) n2 += res[static_cast<size_t>(best) * d + j] * res[static_cast<size_t>(best) * d + j];
      for (int j = 0; j < d; ++j) e[j] = res[static_cast<size_t>(best) * d + j] / std::sqrt(n2);
      for (int i = 0; i < M_; ++i) {
        if (used[static_cast<size_t>(i)]) continue;
        double* r = &res[static_cast<size_t>(i) * d];
        double p = 0.0;
        for (int j = 0; j < d; ++j) p += r[j] * e[j];
        for (int j = 0; j < d; ++j) r[j] -= p * e[j];
      }
    }
    // The simplicial cone {B z <= 0}: its rays are the columns of -B^{-1} (Gauss-Jordan, partial pivoting).
    std::vector<double> A(static_cast<size_t>(d) * 2 * d, 0.0);
    for (int a = 0; a < d; ++a) {
      for (int j = 0; j < d; ++j) A[static_cast<size_t>(a) * 2 * d + j] = C_[static_cast<size_t>(basis[a]) * d + j];
      A[static_cast<size_t>(a) * 2 * d + d + a] = 1.0;
    }
    for (int col = 0; col < d; ++col) {
      int piv = col;
      for (int a = col + 1; a < d; ++a)
        if (std::fabs(A[static_cast<size_t>(a) * 2 * d + col]) > std::fabs(A[static_cast<size_t>(piv) * 2 * d + col]))
          piv = a;
      if (piv != col)
        for (int j = 0; j < 2 * d; ++j)
          std::swap(A[static_cast<size_t>(piv) * 2 * d + j], A[static_cast<size_t>(col) * 2 * d + j]);
      const double p = A[static_cast<size_t>(col) * 2 * d + col];
      for (int j = 0; j < 2 * d; ++j) A[static_cast<size_t>(col) * 2 * d + j] /= p;
      for (int a = 0; a < d; ++a) {
        if (a == col) continue;
        const double f = A[static_cast<size_t>(a) * 2 * d + col];
        if (f == 0.0) continue;
        for (int j = 0; j < 2 * d; ++j) A[static_cast<size_t>(a) * 2 * d + j] -= f * A[static_cast<size_t>(col) * 2 * d + j];
      }
    }
    nr_ = d;
    Z_.assign(static_cast<size_t>(d) * d, 0.0);
    B_.assign(static_cast<size_t>(d) * W, 0);
    for (int r = 0; r < d; ++r) {
      double* z = &Z_[static_cast<size_t>(r) * d];
      double n2 = 0.0;
      for (int j = 0; j < d; ++j) {
        z[j] = -A[static_cast<size_t>(j) * 2 * d + d + r];
        n2 += z[j] * z[j];
      }
      const double inv = 1.0 / std::sqrt(n2);
      for (int j = 0; j < d; ++j) z[j] *= inv;
      for (int a = 0; a < d; ++a)
        if (a != r) set_bit(&B_[static_cast<size_t>(r) * W], basis[a]);
    }
    // The other rows, t >= 0 first.
    std::vector<int> order;
    if (!used[static_cast<size_t>(m_)]) order.push_back(m_);
    for (int i = 0; i < m_; ++i)
      if (!used[static_cast<size_t>(i)]) order.push_back(i);
    std::vector<Word> common(static_cast<size_t>(W));
    std::vector<int> zero;
    for (int i : order) {
      val_.resize(static_cast<size_t>(nr_));
      sgn_.resize(static_cast<size_t>(nr_));
      pos_.clear();
      neg_.clear();
      zero.clear();
      for (int r = 0; r < nr_; ++r) {
        double tol;
        const double v = value(i, &Z_[static_cast<size_t>(r) * d], tol);
        val_[static_cast<size_t>(r)] = v;
        sgn_[static_cast<size_t>(r)] = v > tol ? 1 : (v < -tol ? -1 : 0);
        if (v > tol)
          pos_.push_back(r);
        else if (v < -tol)
          neg_.push_back(r);
        else
          zero.push_back(r);
      }
      if (pos_.empty()) {
        for (int r : zero) set_bit(&B_[static_cast<size_t>(r) * W], i);
        continue;
      }
      if (neg_.empty()) return fail("a row leaves the region no interior");
      // The rays not outside the row stay, those on it with the row added to their sets.
      Zn_.clear();
      Bn_.clear();
      for (int r = 0; r < nr_; ++r) {
        if (sgn_[static_cast<size_t>(r)] > 0) continue;
        Zn_.insert(Zn_.end(), Z_.begin() + static_cast<ptrdiff_t>(r) * d, Z_.begin() + static_cast<ptrdiff_t>(r + 1) * d);
        const size_t at = Bn_.size();
        Bn_.insert(Bn_.end(), B_.begin() + static_cast<ptrdiff_t>(r) * W, B_.begin() + static_cast<ptrdiff_t>(r + 1) * W);
        if (sgn_[static_cast<size_t>(r)] == 0) set_bit(&Bn_[at], i);
      }
      for (int p : pos_) {
        const Word* bp = &B_[static_cast<size_t>(p) * W];
        for (int n : neg_) {
          const Word* bn = &B_[static_cast<size_t>(n) * W];
          int cnt = 0;
          for (int w = 0; w < W; ++w) {
            common[static_cast<size_t>(w)] = bp[w] & bn[w];
            cnt += popcount(common[static_cast<size_t>(w)]);
          }
          if (cnt < d - 2) continue;
          bool adjacent = true;
          for (int r = 0; r < nr_ && adjacent; ++r) {
            if (r == p || r == n) continue;
            const Word* br = &B_[static_cast<size_t>(r) * W];
            bool contains = true;
            for (int w = 0; w < W && contains; ++w) contains = (common[static_cast<size_t>(w)] & ~br[w]) == 0;
            if (contains) adjacent = false;
          }
          if (!adjacent) continue;
          const double a = val_[static_cast<size_t>(p)], b = -val_[static_cast<size_t>(n)];
          const double* zp = &Z_[static_cast<size_t>(p) * d];
          const double* zn = &Z_[static_cast<size_t>(n) * d];
          const size_t at = Zn_.size();
          double n2 = 0.0;
          for (int j = 0; j < d; ++j) {
            const double x = a * zn[j] + b * zp[j];
            Zn_.push_back(x);
            n2 += x * x;
          }
          const double inv = 1.0 / std::sqrt(n2);
          for (int j = 0; j < d; ++j) Zn_[at + j] *= inv;
          const size_t bat = Bn_.size();
          Bn_.insert(Bn_.end(), common.begin(), common.end());
          set_bit(&Bn_[bat], i);
        }
      }
      std::swap(Z_, Zn_);
      std::swap(B_, Bn_);
      nr_ = static_cast<int>(Z_.size() / d);
      if (static_cast<size_t>(nr_) > kMaxRays) return fail("too many vertices");
    }
    return VolumeStatus::Complete;
  }

  // Rays to vertices (t > 0; a ray with t ~ 0 is a recession direction), near-duplicates merged, incidences.
  VolumeStatus extract_vertices() {
    const int d = d_, W = W_, k = k_;
    Yv_.clear();
    std::vector<Word> vb;
    double ymax = 0.0;
    for (int r = 0; r < nr_; ++r) {
      const double* z = &Z_[static_cast<size_t>(r) * d];
      double wn = 0.0;
      for (int j = 0; j < k; ++j) wn += std::fabs(z[j]);
      if (!(z[k] > kVolumeEps * wn)) return VolumeStatus::Unbounded;
      double y2 = 0.0;
      for (int j = 0; j < k; ++j) {
        Yv_.push_back(z[j] / z[k]);
        y2 += (z[j] / z[k]) * (z[j] / z[k]);
      }
      ymax = std::max(ymax, std::sqrt(y2));
    }
    ftol_ = 100.0 * (kVolumeEps * (1.0 + ymax) + tau_);
    // Merge vertices closer than ftol (a degenerate vertex found twice within rounding).
    std::vector<int> keep;
    std::vector<Word> bits;
    std::vector<double> Y;
    for (int r = 0; r < nr_; ++r) {
      const double* y = &Yv_[static_cast<size_t>(r) * k];
      int into = -1;
      for (size_t q = 0; q < keep.size() && into < 0; ++q) {
        double dmax = 0.0;
        for (int j = 0; j < k; ++j) dmax = std::max(dmax, std::fabs(y[j] - Y[q * k + j]));
        if (dmax <= ftol_) into = static_cast<int>(q);
      }
      if (into >= 0) {
        for (int w = 0; w < W; ++w) bits[static_cast<size_t>(into) * W + w] |= B_[static_cast<size_t>(r) * W + w];
        continue;
      }
      keep.push_back(r);
      Y.insert(Y.end(), y, y + k);
      bits.insert(bits.end(), B_.begin() + static_cast<ptrdiff_t>(r) * W, B_.begin() + static_cast<ptrdiff_t>(r + 1) * W);
    }
    Yv_.swap(Y);
    nv_ = static_cast<int>(keep.size());
    if (nv_ < k + 1) return fail("fewer than k + 1 vertices");
    Wv_ = (nv_ + 63) / 64;
    rowv_.assign(static_cast<size_t>(m_) * Wv_, 0);
    for (int v = 0; v < nv_; ++v)
      for (int i = 0; i < m_; ++i)
        if ((bits[static_cast<size_t>(v) * W + i / 64] >> (i % 64)) & 1)
          set_bit(&rowv_[static_cast<size_t>(i) * Wv_], v);
    return VolumeStatus::Complete;
  }

  // Orthonormal basis (rank x k, rows) of the affine hull of the vertices T, from T[0], by Gram-Schmidt with
  // pivoting (the farthest residual next); stops at `most` vectors or when the residuals are within ftol.
  int affine_basis(const std::vector<int>& T, int most, std::vector<double>& E) {
    const int k = k_;
    const size_t n = T.size();
    R_.resize(n * k);
    double* R = R_.data();
    const double* o = Y(T[0]);
    for (size_t a = 0; a < n; ++a)
      for (int j = 0; j < k; ++j) R[a * k + j] = Y(T[a])[j] - o[j];
    E.clear();
    e_.resize(static_cast<size_t>(k));
    double* e = e_.data();
    int rank = 0;
    while (rank < most) {
      size_t best = 0;
      double bn = 0.0;
      for (size_t a = 0; a < n; ++a) {
        double n2 = 0.0;
        for (int j = 0; j < k; ++j) n2 += R[a * k + j] * R[a * k + j];
        if (n2 > bn) {
          bn = n2;
          best = a;
        }
      }
      if (!(std::sqrt(bn) > ftol_)) break;
      std::copy(R + best * k, R + (best + 1) * k, e);
      for (int pass = 0; pass < 2; ++pass)  // re-orthogonalised against the basis so far
        for (int b = 0; b < rank; ++b) {
          double p = 0.0;
          for (int j = 0; j < k; ++j) p += e[j] * E[static_cast<size_t>(b) * k + j];
          for (int j = 0; j < k; ++j) e[j] -= p * E[static_cast<size_t>(b) * k + j];
        }
      double en = 0.0;
      for (int j = 0; j < k; ++j) en += e[j] * e[j];
      en = std::sqrt(en);
      for (int j = 0; j < k; ++j) e[j] /= en;
      E.insert(E.end(), e, e + k);
      ++rank;
      for (size_t a = 0; a < n; ++a) {
        double p = 0.0;
        for (int j = 0; j < k; ++j) p += R[a * k + j] * e[j];
        for (int j = 0; j < k; ++j) R[a * k + j] -= p * e[j];
      }
    }
    return rank;
  }
  std::vector<double> R_, e_;

  // A j-face of the region: its vertices (as a set and a list), an orthonormal basis of its directions (j x k),
  // its centroid, its j-volume, and its facets (faces of the next level) with their distances to the centroid.
  // Faces are pooled per level (nfaces_[j] in use) so that their buffers are reused from region to region.
  struct Face {
    std::vector<Word> bits;
    std::vector<int> verts;
    std::vector<double> E, cen;
    double vol = 0.0;
    std::vector<std::pair<int, double>> kids;
  };
  std::vector<std::vector<Face>> levels_;  // levels_[j][0 .. nfaces_[j]): the j-faces reached
  std::vector<int> nfaces_;
  std::vector<BitsetMap> seen_;            // per level: vertex set -> face, or -1 (lower-dimensional)
  std::vector<Word> cands_;                // the current face's facets (vertex sets), with their faces in idx_
  std::vector<int> idx_, tv_;
  std::vector<Word> T_;
  std::vector<double> ET_, q_;

  Face& new_face(int j) {
    std::vector<Face>& L = levels_[static_cast<size_t>(j)];
    const int n = nfaces_[static_cast<size_t>(j)]++;
    if (static_cast<size_t>(n) == L.size()) L.emplace_back();
    Face& F = L[static_cast<size_t>(n)];
    F.kids.clear();
    return F;
  }

  // The k-volume by the recursive facet decomposition, each face once (faces found from several parents are
  // shared, their volumes being intrinsic); the facets' measures and weighted outward normals at the top.
  bool lattice_volume(double& volume, double& surface) {
    const int k = k_, Wv = Wv_;
    if (levels_.size() < static_cast<size_t>(k) + 1) {
      levels_.resize(static_cast<size_t>(k) + 1);
      seen_.resize(static_cast<size_t>(k) + 1);
    }
    nfaces_.assign(static_cast<size_t>(k) + 1, 0);
    for (int j = 0; j <= k; ++j) seen_[static_cast<size_t>(j)].reset(Wv);
    {
      Face& top = new_face(k);
      top.bits.assign(static_cast<size_t>(Wv), 0);
      top.verts.clear();
      for (int v = 0; v < nv_; ++v) {
        top.bits[static_cast<size_t>(v / 64)] |= Word{1} << (v % 64);
        top.verts.push_back(v);
      }
      top.E.assign(static_cast<size_t>(k) * k, 0.0);
      for (int j = 0; j < k; ++j) top.E[static_cast<size_t>(j) * k + j] = 1.0;
    }
    T_.resize(static_cast<size_t>(Wv));
    Word* T = T_.data();
    for (int j = k; j >= 2; --j) {
      BitsetMap& seen = seen_[static_cast<size_t>(j) - 1];
      for (int fi = 0; fi < nfaces_[static_cast<size_t>(j)]; ++fi) {
        {
          Face& F = levels_[static_cast<size_t>(j)][static_cast<size_t>(fi)];
          F.cen.assign(static_cast<size_t>(k), 0.0);
          for (int v : F.verts)
            for (int a = 0; a < k; ++a) F.cen[static_cast<size_t>(a)] += Y(v)[a];
          for (int a = 0; a < k; ++a) F.cen[static_cast<size_t>(a)] /= static_cast<double>(F.verts.size());
        }
        cands_.clear();
        idx_.clear();
        for (int i = 0; i < m_; ++i) {
          const Face& F = levels_[static_cast<size_t>(j)][static_cast<size_t>(fi)];
          const Word* rb = &rowv_[static_cast<size_t>(i) * Wv];
          int cnt = 0;
          for (int w = 0; w < Wv; ++w) {
            T[w] = F.bits[static_cast<size_t>(w)] & rb[w];
            cnt += popcount(T[w]);
          }
          if (cnt < j || cnt == static_cast<int>(F.verts.size())) continue;
          bool dup = false;
          for (size_t c = 0; c < idx_.size() && !dup; ++c)
            dup = std::equal(T, T + Wv, cands_.begin() + static_cast<ptrdiff_t>(c * Wv));
          if (dup) continue;
          int g;
          if (const int* found = seen.find(T)) {
            g = *found;
          } else {
            tv_.clear();
            for (int w = 0; w < Wv; ++w)
              for (Word bb = T[w]; bb; bb &= bb - 1) tv_.push_back(w * 64 + __builtin_ctzll(bb));
            const int rank = affine_basis(tv_, j, ET_);
            if (rank == j) return false;  // a row tight on a j-dimensional part of the face, not on all of it
            g = -1;
            if (rank == j - 1) {
              g = nfaces_[static_cast<size_t>(j) - 1];
              Face& G = new_face(j - 1);  // may move level j - 1's faces, not level j's
              G.bits.assign(T, T + Wv);
              G.verts = tv_;
              G.E = ET_;
            }
            seen.insert(T, g);
          }
          if (g < 0) continue;
          cands_.insert(cands_.end(), T, T + Wv);
          idx_.push_back(g);
        }
        Face& P = levels_[static_cast<size_t>(j)][static_cast<size_t>(fi)];
        for (size_t c = 0; c < idx_.size(); ++c) {
          bool inside_other = false;  // the same facet cut out with fewer vertices by a row that misses some
          for (size_t e = 0; e < idx_.size() && !inside_other; ++e) {
            if (e == c) continue;
            bool sub = true;
            for (int w = 0; w < Wv && sub; ++w) sub = (cands_[c * Wv + w] & ~cands_[e * Wv + w]) == 0;
            inside_other = sub;
          }
          if (inside_other) continue;
          const Face& G = levels_[static_cast<size_t>(j) - 1][static_cast<size_t>(idx_[c])];
          P.kids.emplace_back(idx_[c], height(P.cen, G, j - 1));
        }
      }
    }
    for (int fi = 0; fi < nfaces_[1]; ++fi) {  // edges (or the whole interval for k = 1)
      Face& F = levels_[1][static_cast<size_t>(fi)];
      double lo = INFINITY, hi = -INFINITY;
      for (int v : F.verts) {
        double p = 0.0;
        for (int a = 0; a < k; ++a) p += Y(v)[a] * F.E[static_cast<size_t>(a)];
        lo = std::min(lo, p);
        hi = std::max(hi, p);
      }
      F.vol = hi - lo;
    }
    for (int j = 2; j <= k; ++j)
      for (int fi = 0; fi < nfaces_[static_cast<size_t>(j)]; ++fi) {
        Face& F = levels_[static_cast<size_t>(j)][static_cast<size_t>(fi)];
        double t = 0.0;
        for (const auto& kid : F.kids)
          t += kid.second * levels_[static_cast<size_t>(j) - 1][static_cast<size_t>(kid.first)].vol;
        F.vol = t / j;
      }
    const Face& P = levels_[static_cast<size_t>(k)][0];
    volume = P.vol;
    surface = 0.0;
    normal_sum_.assign(static_cast<size_t>(k), 0.0);
    if (k == 1) {
      surface = 2.0;
      return true;
    }
    for (const auto& kid : P.kids) {
      const Face& G = levels_[static_cast<size_t>(k) - 1][static_cast<size_t>(kid.first)];
      const double h = height(P.cen, G, k - 1);  // q_: from the facet's hull to the centroid
      surface += G.vol;
      if (h > 0)
        for (int a = 0; a < k; ++a) normal_sum_[static_cast<size_t>(a)] -= G.vol * q_[static_cast<size_t>(a)] / h;
    }
    return true;
  }

  // Distance from p to the affine hull of face G (of dimension jg); q_: the vector from that hull to p.
  double height(const std::vector<double>& p, const Face& G, int jg) {
    const int k = k_;
    q_.resize(static_cast<size_t>(k));
    double* q = q_.data();
    const double* o = Y(G.verts[0]);
    for (int a = 0; a < k; ++a) q[a] = p[static_cast<size_t>(a)] - o[a];
    for (int pass = 0; pass < 2; ++pass)
      for (int b = 0; b < jg; ++b) {
        const double* e = &G.E[static_cast<size_t>(b) * k];
        double t = 0.0;
        for (int a = 0; a < k; ++a) t += q[a] * e[a];
        for (int a = 0; a < k; ++a) q[a] -= t * e[a];
      }
    double h = 0.0;
    for (int a = 0; a < k; ++a) h += q[a] * q[a];
    return std::sqrt(h);
  }

  // Output order: k = 1 lower end first, k = 2 counter-clockwise around the centroid, else as found.
  void order_vertices() {
    order_.resize(static_cast<size_t>(nv_));
    for (int v = 0; v < nv_; ++v) order_[static_cast<size_t>(v)] = v;
    if (k_ == 1) {
      std::sort(order_.begin(), order_.end(), [&](int a, int b) { return Y(a)[0] < Y(b)[0]; });
    } else if (k_ == 2) {
      double cx = 0.0, cy = 0.0;
      for (int v = 0; v < nv_; ++v) {
        cx += Y(v)[0];
        cy += Y(v)[1];
      }
      cx /= nv_;
      cy /= nv_;
      std::vector<double> ang(static_cast<size_t>(nv_));
      for (int v = 0; v < nv_; ++v) ang[static_cast<size_t>(v)] = std::atan2(Y(v)[1] - cy, Y(v)[0] - cx);
      std::sort(order_.begin(), order_.end(),
                [&](int a, int b) { return ang[static_cast<size_t>(a)] < ang[static_cast<size_t>(b)]; });
    }
  }
};

// The measures of the regions of one chunk.
struct Part {
  std::vector<int64_t> vertex_offsets{0};
  std::vector<double> vertices, volume, surface;
  VolumeStatus status = VolumeStatus::Complete;
  int64_t failed_region = -1;
  std::string message;
};

}  // namespace

PolytopeMeasures polytope_measures(int k, int64_t R, const int64_t* offsets, const double* rows, const double* rhs,
                                   const double* centers, const VolumeOptions& opt, const Checkpoint& checkpoint) {
  if (k < 1 || k > 16) throw std::invalid_argument("k: the regions' dimension must be in 1..16");
  if (R < 0) throw std::invalid_argument("offsets: negative region count");
  if (opt.threads < 1) throw std::invalid_argument("threads: must be at least 1");
  if (R > 0 && offsets[0] != 0) throw std::invalid_argument("offsets: must start at 0");
  for (int64_t r = 0; r < R; ++r)
    if (offsets[r + 1] < offsets[r]) throw std::invalid_argument("offsets: must be non-decreasing");
  const auto t0 = Clock::now();
  const int64_t n = (R + kVolumeChunk - 1) / kVolumeChunk;
  std::vector<Part> parts(static_cast<size_t>(n));
  const int workers = static_cast<int>(std::min<int64_t>(opt.threads, std::max<int64_t>(n, 1)));
  std::vector<std::unique_ptr<Measurer>> measurers;
  for (int w = 0; w < workers; ++w) measurers.push_back(std::make_unique<Measurer>(k));
  auto work = [&](int w, int64_t c) -> bool {
    Part& part = parts[static_cast<size_t>(c)];
    for (int64_t r = c * kVolumeChunk; r < std::min(R, (c + 1) * kVolumeChunk); ++r) {
      double vol = 0.0, surf = 0.0;
      const int m = static_cast<int>(offsets[r + 1] - offsets[r]);
      const VolumeStatus st = measurers[static_cast<size_t>(w)]->region(
          rows + offsets[r] * k, rhs + offsets[r], m, centers + r * k, opt.vertices, part.vertices, vol, surf);
      if (st != VolumeStatus::Complete) {
        part.status = st;
        part.failed_region = r;
        part.message = measurers[static_cast<size_t>(w)]->message();
        part.vertices.resize(static_cast<size_t>(part.vertex_offsets.back()) * k);
        return false;
      }
      part.volume.push_back(vol);
      part.surface.push_back(surf);
      if (opt.vertices) part.vertex_offsets.push_back(static_cast<int64_t>(part.vertices.size()) / k);
    }
    return true;
  };
  std::vector<int8_t> state(static_cast<size_t>(n), 0);
  bool interrupted = false;
  if (workers <= 1) {  // the calling thread alone, with the checkpoints of the parallel loop
    int64_t mark = opt.checkpoint_every;
    for (int64_t c = 0; c < n; ++c) {
      state[static_cast<size_t>(c)] = work(0, c) ? 1 : 2;
      if (state[static_cast<size_t>(c)] == 2) break;
      const int64_t done = std::min(R, (c + 1) * kVolumeChunk);
      while (opt.checkpoint_every > 0 && checkpoint && !interrupted && mark <= done && mark < R) {
        if (!checkpoint(mark)) interrupted = true;
        mark += opt.checkpoint_every;
      }
      if (interrupted) break;
    }
  } else {
    state = parallel_chunks(R, kVolumeChunk, workers, opt.checkpoint_every, checkpoint, interrupted, work);
  }
  PolytopeMeasures out;
  out.k = k;
  out.vertex_offsets.assign(1, 0);
  for (int64_t c = 0; c < n; ++c) {
    Part& part = parts[static_cast<size_t>(c)];
    if (state[static_cast<size_t>(c)] == 0) {
      out.status = VolumeStatus::Interrupted;
      break;
    }
    if (opt.vertices) {
      const int64_t V0 = out.vertex_offsets.back();
      for (size_t r = 1; r < part.vertex_offsets.size(); ++r) out.vertex_offsets.push_back(V0 + part.vertex_offsets[r]);
      out.vertices.insert(out.vertices.end(), part.vertices.begin(), part.vertices.end());
    }
    out.volume.insert(out.volume.end(), part.volume.begin(), part.volume.end());
    out.surface.insert(out.surface.end(), part.surface.begin(), part.surface.end());
    if (state[static_cast<size_t>(c)] == 2) {
      out.status = part.status;
      out.failed_region = part.failed_region;
      out.message = part.message;
      break;
    }
    part = Part();  // freed once copied
  }
  if (interrupted && out.status == VolumeStatus::Complete && out.regions() < R) out.status = VolumeStatus::Interrupted;
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace relutope
