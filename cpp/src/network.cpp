#include "relutope/network.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include "relutope/certify.hpp"
#include "relutope/sparse_rows.hpp"
#include "relutope/wide.hpp"

namespace relutope {

Network::Network(std::vector<Layer> layers) : layers_(std::move(layers)) {
  if (layers_.empty()) throw std::invalid_argument("layers: a network needs at least one layer");
  for (size_t l = 0; l < layers_.size(); ++l) {
    Layer& L = layers_[l];
    const std::string where = "layers[" + std::to_string(l) + "]";
    if (L.in_dim < 1 || L.n_units < 1) throw std::invalid_argument(where + ": empty layer");
    if (static_cast<int>(L.piece_start.size()) != L.n_units + 1 || L.piece_start[0] != 0)
      throw std::invalid_argument(where + ": piece offsets do not match the number of units");
    for (int k = 0; k < L.n_units; ++k) {
      int K = L.n_pieces(k);
      if (K < 1 || K > 127) throw std::invalid_argument(where + ": a unit must have 1 to 127 pieces");
      max_pieces_ = std::max(max_pieces_, K);
    }
    const size_t P = static_cast<size_t>(L.total_pieces());
    if (L.A.size() != P * static_cast<size_t>(L.in_dim) || L.c.size() != P)
      throw std::invalid_argument(where + ": piece arrays have the wrong size");
    for (double v : L.A)
      if (!std::isfinite(v)) throw std::invalid_argument(where + ": A contains NaN or inf");
    for (double v : L.c)
      if (!std::isfinite(v)) throw std::invalid_argument(where + ": c contains NaN or inf");
    if (l > 0 && L.in_dim != layers_[l - 1].n_units)
      throw std::invalid_argument(where + ": input size does not match the previous layer's units");
    L.zero_piece.assign(P, 0);
    for (size_t p = 0; p < P; ++p) {
      bool zero = L.c[p] == 0.0;
      for (int j = 0; zero && j < L.in_dim; ++j) zero = L.A[p * L.in_dim + j] == 0.0;
      L.zero_piece[p] = zero ? 1 : 0;
    }
    L.live.clear(), L.live_unit.clear();
    for (int u = 0; u < L.n_units; ++u)
      for (int p = L.piece_start[u]; p < L.piece_start[u + 1]; ++p)
        if (!L.zero_piece[p]) L.live.push_back(p), L.live_unit.push_back(u);
    const size_t nl = L.live.size(), ns = (nl + 15) / 16 * 16;
    L.live_is_units = static_cast<int>(nl) == L.n_units;
    for (size_t t = 0; t < nl && L.live_is_units; ++t) L.live_is_units = L.live_unit[t] == static_cast<int>(t);
    L.live_stride = static_cast<int>(ns);
    L.live_T.assign(ns * static_cast<size_t>(L.in_dim), 0.0);
    L.live_c.assign(ns, 0.0);
    for (size_t t = 0; t < nl; ++t) {
      L.live_c[t] = L.c[static_cast<size_t>(L.live[t])];
      for (int j = 0; j < L.in_dim; ++j) L.live_T[j * ns + t] = L.A[static_cast<size_t>(L.live[t]) * L.in_dim + j];
    }
    unit_offset_.push_back(n_units_);
    n_units_ += L.n_units;
  }
  std::vector<int> n_pieces;
  n_pieces.reserve(n_units_);
  for (const Layer& L : layers_)
    for (int k = 0; k < L.n_units; ++k) n_pieces.push_back(L.n_pieces(k));
  layout_ = PatternLayout(n_pieces);
}

template <typename Visit>
void Network::walk(const int8_t* pattern, Visit&& visit) const {
  const int d = in_dim();
  std::vector<double> M(static_cast<size_t>(d) * d, 0.0), m(d, 0.0), M2, m2;
  for (int i = 0; i < d; ++i) M[static_cast<size_t>(i) * d + i] = 1.0;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    visit(static_cast<int>(l), M, m);
    M2.assign(static_cast<size_t>(L.n_units) * d, 0.0);
    m2.assign(L.n_units, 0.0);
    for (int k = 0; k < L.n_units; ++k) {
      const int r = pattern[unit_offset_[l] + k];
      if (r < 0 || r >= L.n_pieces(k)) throw std::invalid_argument("pattern: piece index out of range");
      const int p = L.piece_start[k] + r;
      if (L.zero_piece[p]) continue;
      piece_in_x(L, p, M, m, d, &M2[static_cast<size_t>(k) * d], &m2[k]);
    }
    M.swap(M2);
    m.swap(m2);
  }
  visit(static_cast<int>(layers_.size()), M, m);
}

void Network::local_affine_map(const int8_t* pattern, double* A_out, double* b_out) const {
  walk(pattern, [&](int l, const std::vector<double>& M, const std::vector<double>& m) {
    if (l != static_cast<int>(layers_.size())) return;
    std::copy(M.begin(), M.end(), A_out);
    std::copy(m.begin(), m.end(), b_out);
  });
}

int Network::region_halfspaces(const int8_t* pattern, std::vector<double>& G, std::vector<double>& h) const {
  const int d = in_dim();
  int rows = 0;
  std::vector<double> fp(d), fs(d);
  walk(pattern, [&](int l, const std::vector<double>& M, const std::vector<double>& m) {
    if (l == static_cast<int>(layers_.size())) return;
    const Layer& L = layers_[l];
    for (int k = 0; k < L.n_units; ++k) {
      const int K = L.n_pieces(k);
      if (K < 2) continue;
      const int r = pattern[unit_offset_[l] + k];
      if (r < 0 || r >= K) throw std::invalid_argument("pattern: piece index out of range");
      double cp, cs;
      piece_in_x(L, L.piece_start[k] + r, M, m, d, fp.data(), &cp);
      for (int s = 0; s < K; ++s) {
        if (s == r) continue;
        piece_in_x(L, L.piece_start[k] + s, M, m, d, fs.data(), &cs);
        for (int j = 0; j < d; ++j) G.push_back(fs[j] - fp[j]);
        h.push_back(cp - cs);
        ++rows;
      }
    }
  });
  return rows;
}

int Network::region_rows(const int8_t* pattern, const double* x0, const double* Q, int k, std::vector<double>& G,
                         std::vector<double>& h, std::vector<int>& unit, std::vector<int8_t>& piece) const {
  // Layer l's input as a function of u, transposed: Mt is (k + 1) x in_dim(l), row t < k the coefficients of u_t,
  // row k the offsets. Every non-zero piece is then k + 1 contiguous dot products, computed once.
  const int d = in_dim();
  const int n = k + 1;
  std::vector<double> Mt(static_cast<size_t>(n) * d), next, F;
  for (int i = 0; i < d; ++i) {
    for (int t = 0; t < k; ++t) Mt[static_cast<size_t>(t) * d + i] = Q[static_cast<size_t>(i) * k + t];
    Mt[static_cast<size_t>(k) * d + i] = x0[i];
  }
  int rows = 0;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    const int in = L.in_dim;
    const bool last = l + 1 == layers_.size();
    F.assign(static_cast<size_t>(L.total_pieces()) * n, 0.0);
    next.assign(last ? 0 : static_cast<size_t>(n) * L.n_units, 0.0);
    for (int j = 0; j < L.n_units; ++j) {
      const int K = L.n_pieces(j);
      const int r = pattern[unit_offset_[l] + j];
      if (r < 0 || r >= K) throw std::invalid_argument("pattern: piece index out of range");
      if (K < 2 && last) continue;
      for (int s = 0; s < K; ++s) {
        const int p = L.piece_start[j] + s;
        if (L.zero_piece[p]) continue;
        const double* a = &L.A[static_cast<size_t>(p) * in];
        double* f = &F[static_cast<size_t>(p) * n];
        for (int t = 0; t < n; ++t) {
          const double* mt = &Mt[static_cast<size_t>(t) * in];
          double acc = 0.0;
          for (int i = 0; i < in; ++i) acc += a[i] * mt[i];
          f[t] = acc;
        }
        f[k] += L.c[p];
      }
      const double* fp = &F[static_cast<size_t>(L.piece_start[j] + r) * n];
      if (!last)
        for (int t = 0; t < n; ++t) next[static_cast<size_t>(t) * L.n_units + j] = fp[t];
      for (int s = 0; s < K; ++s) {
        if (s == r || K < 2) continue;
        const double* fs = &F[static_cast<size_t>(L.piece_start[j] + s) * n];
        for (int t = 0; t < k; ++t) G.push_back(fs[t] - fp[t]);
        h.push_back(fp[k] - fs[k]);
        unit.push_back(unit_offset_[l] + j);
        piece.push_back(static_cast<int8_t>(s));
        ++rows;
      }
    }
    Mt.swap(next);
  }
  return rows;
}

void Network::pattern_across(const double* x, const double* dx, double tau, int8_t* pattern) const {
  // Values and slopes carry magnitudes (sum |a_i| |in_i| + |c|, sum |a_i| |din_i|) for the rounding bound of
  // certify.hpp's composed_zero: a gap or a slope within its rounding may be an exact zero (a unit exactly 0 on
  // the region across: its float value and slope are rounding noise), and is not let decide; a gap and a slope
  // both within their rounding are a tie, which goes to the lower piece.
  std::vector<double> in(x, x + in_dim()), din(dx, dx + in_dim()), out, dout;
  std::vector<double> mag(in_dim()), dmag(in_dim()), omag, odmag;
  for (int i = 0; i < in_dim(); ++i) {
    mag[i] = std::fabs(x[i]);
    dmag[i] = std::fabs(dx[i]);
  }
  int terms = 1;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    terms += L.in_dim + 1;
    out.assign(L.n_units, 0.0);
    dout.assign(L.n_units, 0.0);
    omag.assign(L.n_units, 0.0);
    odmag.assign(L.n_units, 0.0);
    for (int j = 0; j < L.n_units; ++j) {
      int best = 0;
      double best_v = 0.0, best_d = 0.0, best_m = 0.0, best_dm = 0.0;
      for (int r = 0; r < L.n_pieces(j); ++r) {
        const int p = L.piece_start[j] + r;
        const double* a = &L.A[static_cast<size_t>(p) * L.in_dim];
        double v = L.c[p], dv = 0.0, m = std::fabs(L.c[p]), dm = 0.0;
        for (int i = 0; i < L.in_dim; ++i) {
          v += a[i] * in[i];
          dv += a[i] * din[i];
          m += std::fabs(a[i]) * mag[i];
          dm += std::fabs(a[i]) * dmag[i];
        }
        bool wins = r == 0;
        if (!wins) {
          const double gap = v - best_v, slope = dv - best_d;
          const bool gap_zero = std::fabs(gap) <= rigorous::composed_zero(terms, m + best_m);
          const bool slope_zero = std::fabs(slope) <= rigorous::composed_zero(terms, dm + best_dm);
          if (!gap_zero && (slope_zero || std::fabs(gap) > tau * std::fabs(slope)))
            wins = gap > 0.0;
          else
            wins = !slope_zero && slope > 0.0;
        }
        if (wins) {
          best = r;
          best_v = v;
          best_d = dv;
          best_m = m;
          best_dm = dm;
        }
      }
      pattern[unit_offset_[l] + j] = static_cast<int8_t>(best);
      out[j] = best_v;
      dout[j] = best_d;
      omag[j] = best_m;
      odmag[j] = best_dm;
    }
    in.swap(out);
    din.swap(dout);
    mag.swap(omag);
    dmag.swap(odmag);
  }
}

void Network::witnesses_agree(const double* x0, const double* Q, int k, const double* u, const uint8_t* packed,
                              int64_t R, int threads, uint8_t* agree) const {
  // Layer 0 folded through the domain's map: F (P0 x k) and f (P0).
  const Layer& L0 = layers_.front();
  const int P0 = L0.total_pieces(), d = in_dim();
  std::vector<double> F(static_cast<size_t>(P0) * k, 0.0), f(L0.c.begin(), L0.c.end());
  const SparseRows Qs(Q, d, k);  // (a box's Q: one non-zero per column)
  for (int p = 0; p < P0; ++p) {
    const double* a = &L0.A[static_cast<size_t>(p) * d];
    double* Fp = &F[static_cast<size_t>(p) * k];
    for (int i = 0; i < d; ++i) {
      if (a[i] == 0.0) continue;
      for (int e = Qs.ptr[i]; e < Qs.ptr[i + 1]; ++e) Fp[Qs.col[e]] += a[i] * Qs.val[e];
      f[p] += a[i] * x0[i];
    }
  }
  const size_t B = layout_.row_bytes();
  int widest = k;
  for (const Layer& L : layers_) widest = std::max(widest, L.n_units);
  // Blocks of NB points at a time, the inner loops over the block (each point's sums in the usual order, the
  // points side by side in the vector registers).
  constexpr int NB = 8;
  auto rows = [&](int64_t r0, int64_t r1) {
    std::vector<int8_t> pattern(static_cast<size_t>(NB) * n_units_);
    std::vector<double> in(static_cast<size_t>(NB) * widest), out(static_cast<size_t>(NB) * widest);
    double val[NB], best_v[NB] = {};
    int best[NB];
    bool ok[NB], valid[NB];
    for (int64_t s = r0; s < r1; s += NB) {
      const int nb = static_cast<int>(std::min<int64_t>(NB, r1 - s));
      std::fill(in.begin(), in.end(), 0.0);
      for (int r = 0; r < nb; ++r) {
        int8_t* pr = &pattern[static_cast<size_t>(r) * n_units_];
        valid[r] = true;
        try {  // (no exception may leave a worker thread)
          layout_.unpack(packed + static_cast<size_t>(s + r) * B, pr);
        } catch (const std::invalid_argument&) {  // a piece its unit does not have
          valid[r] = false;
          std::fill(pr, pr + n_units_, int8_t(0));
        }
        ok[r] = valid[r];
        for (int i = 0; i < k; ++i) in[static_cast<size_t>(i) * NB + r] = u[static_cast<size_t>(s + r) * k + i];
      }
      for (size_t l = 0; l < layers_.size(); ++l) {
        const Layer& L = layers_[l];
        const int n_in = l == 0 ? k : L.in_dim;
        for (int j = 0; j < L.n_units; ++j) {
          for (int q = 0; q < L.n_pieces(j); ++q) {
            const int p = L.piece_start[j] + q;
            if (L.zero_piece[p]) {
              std::fill(val, val + NB, 0.0);
            } else {
              const double* a = l == 0 ? &F[static_cast<size_t>(p) * k] : &L.A[static_cast<size_t>(p) * L.in_dim];
              std::fill(val, val + NB, l == 0 ? f[p] : L.c[p]);
              for (int i = 0; i < n_in; ++i) {
                const double ai = a[i];
                if (ai == 0.0) continue;
                const double* x = &in[static_cast<size_t>(i) * NB];
                for (int r = 0; r < NB; ++r) val[r] += ai * x[r];
              }
            }
            for (int r = 0; r < NB; ++r)
              if (q == 0 || val[r] > best_v[r]) best[r] = q, best_v[r] = val[r];
          }
          const int g = unit_offset_[l] + j;
          for (int r = 0; r < nb; ++r) ok[r] = ok[r] && best[r] == pattern[static_cast<size_t>(r) * n_units_ + g];
          for (int r = 0; r < NB; ++r) out[static_cast<size_t>(j) * NB + r] = best_v[r];
        }
        in.swap(out);
      }
      for (int r = 0; r < nb; ++r) agree[s + r] = !valid[r] ? 2 : ok[r] ? 1 : 0;
    }
  };
  const int64_t chunk = 4096;
  const int T = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, (R + chunk - 1) / chunk)));
  if (T <= 1) {
    rows(0, R);
    return;
  }
  std::atomic<int64_t> next{0};
  auto loop = [&] {
    for (int64_t r0; (r0 = next.fetch_add(chunk)) < R;) rows(r0, std::min(R, r0 + chunk));
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < T; ++t) pool.emplace_back(loop);
  loop();
  for (std::thread& t : pool) t.join();
}

void piece_in_x(const Layer& L, int p, const std::vector<double>& M, const std::vector<double>& m, int d,
                double* out, double* off) {
  std::fill(out, out + d, 0.0);
  *off = L.c[p];
  const double* a = &L.A[static_cast<size_t>(p) * L.in_dim];
  for (int i = 0; i < L.in_dim; ++i) {
    if (a[i] == 0.0) continue;
    const double* mi = &M[static_cast<size_t>(i) * d];
    for (int j = 0; j < d; ++j) out[j] += a[i] * mi[j];
    *off += a[i] * m[i];
  }
}

namespace {

// v[live[t0 + e]] = live_c + the sum over the inputs J (in order) of live_T's entries times h, for B pieces from t0
// (of which those below nl are written): B sums side by side, in registers (B / 4 chains of 4-wide additions, to
// hide the adder's latency).
template <int B>
RELUTOPE_INLINE void live_block(const Layer& L, const double* h, const int* J, int nJ, int t0, int nl, double* v) {
  const int ns = L.live_stride;
  double out[B];
#ifdef RELUTOPE_HAVE_V4D
  constexpr int V = B / 4;
  v4d s[V];
  for (int q = 0; q < V; ++q) load4(s[q], &L.live_c[static_cast<size_t>(t0 + 4 * q)]);
  for (int i = 0; i < nJ; ++i) {
    const double xs = h[J[i]];
    const v4d x = {xs, xs, xs, xs};
    const double* col = &L.live_T[static_cast<size_t>(J[i]) * ns + t0];
    for (int q = 0; q < V; ++q) {
      v4d c;
      load4(c, col + 4 * q);
      s[q] += c * x;
    }
  }
  for (int q = 0; q < V; ++q) store4(out + 4 * q, s[q]);
#else
  for (int e = 0; e < B; ++e) out[e] = L.live_c[t0 + e];
  for (int i = 0; i < nJ; ++i) {
    const double x = h[J[i]];
    const double* col = &L.live_T[static_cast<size_t>(J[i]) * ns + t0];
    for (int e = 0; e < B; ++e) out[e] += col[e] * x;
  }
#endif
  for (int e = 0; e < B && t0 + e < nl; ++e) v[L.live[t0 + e]] = out[e];
}

}  // namespace

RELUTOPE_WIDE_VECTORS
void piece_values(const Layer& L, const double* h, double* v) {
  const int P = L.total_pieces(), n = L.in_dim, nl = static_cast<int>(L.live.size()), ns = L.live_stride;
  // The inputs that are not 0 (on the stack for up to 512 inputs).
  int local[512];
  std::vector<int> heap;
  int* J = local;
  if (n > 512) heap.resize(n), J = heap.data();
  int nJ = 0;
  for (int j = 0; j < n; ++j) J[nJ] = j, nJ += h[j] != 0.0;  // no branch: after a ReLU layer, as good as random
  for (int p = 0; p < P; ++p) v[p] = L.c[p];  // the identically zero pieces' (the others' are set next)
  // 32 sums side by side: 8 chains of 4-wide additions, enough to hide the adder's latency.
  int t0 = 0;
  for (; t0 + 32 <= ns; t0 += 32) live_block<32>(L, h, J, nJ, t0, nl, v);
  if (t0 < ns) live_block<16>(L, h, J, nJ, t0, nl, v);
}

}  // namespace relutope
