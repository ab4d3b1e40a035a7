#include "relutope/network.hpp"

#include <algorithm>
#include <cmath>
#include <string>

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
    unit_offset_.push_back(n_units_);
    n_units_ += L.n_units;
  }
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

}  // namespace relutope
