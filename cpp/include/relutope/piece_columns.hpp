// The layers' pieces in the column layout of the vertex-based paths (polygon2d.cpp, polytope.cpp): per layer,
// one row of P entries (P: the layer's pieces) per coefficient of the pieces as affine functions of the domain
// coordinates (slopes, then the offset), then two rows of their magnitudes (certify.hpp, composed_zero: the slope
// magnitudes, then the offset magnitudes). Layer l+1's rows are composed from layer l's by axpys over contiguous
// rows of P, with layer l+1's weights transposed.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "relutope/network.hpp"

namespace relutope {

// A layer's weights A (P x in_dim, row-major) transposed, then |A| transposed: 2 in_dim rows of P entries.
inline std::vector<double> transposed_weights(const Layer& layer) {
  const int P = layer.total_pieces();
  std::vector<double> At(static_cast<size_t>(2 * layer.in_dim) * P);
  for (int p = 0; p < P; ++p)
    for (int i = 0; i < layer.in_dim; ++i) {
      const double a = layer.A[static_cast<size_t>(p) * layer.in_dim + i];
      At[static_cast<size_t>(i) * P + p] = a;
      At[static_cast<size_t>(layer.in_dim + i) * P + p] = std::fabs(a);
    }
  return At;
}

// The magnitudes of layer `nxt`'s pieces from those of the layer before it, `cur` (certify.hpp): m = |A| m_cur +
// (0, |c|) over the units of `cur` whose piece in `pattern` (cur's units, one piece index each) is not zero, in
// unit order (the order the paths compose the pieces in). mag_cur: 2 rows of cur's pieces; abs_t: |A| transposed
// of `nxt` (transposed_weights, its second half); mag_nxt: 2 rows of nxt's pieces, overwritten.
inline void compose_magnitude_columns(const Layer& cur, const Layer& nxt, const int8_t* pattern,
                                      const double* mag_cur, const double* abs_t, double* mag_nxt) {
  const int Pc = cur.total_pieces(), Pn = nxt.total_pieces();
  for (int p = 0; p < Pn; ++p) {
    mag_nxt[p] = 0.0;
    mag_nxt[Pn + p] = std::fabs(nxt.c[p]);
  }
  for (int i = 0; i < cur.n_units; ++i) {
    const int pc = cur.piece_start[i] + pattern[i];
    if (cur.zero_piece[pc]) continue;
    const double mg = mag_cur[pc], mc = mag_cur[Pc + pc];
    const double* a = abs_t + static_cast<size_t>(i) * Pn;
    for (int p = 0; p < Pn; ++p) {
      mag_nxt[p] += a[p] * mg;
      mag_nxt[Pn + p] += a[p] * mc;
    }
  }
}

// The magnitudes of layers valid+1..l from those of layer `valid` (then valid = l): F[j] holds layer j's pieces in
// `rows` rows (the domain's coordinates and the offset) then its magnitudes, At[j] its transposed weights
// (transposed_weights) and `pattern` every unit's piece (the network's unit order).
inline void compose_magnitudes_to(const Network& net, const std::vector<std::vector<double>>& At,
                                  std::vector<std::vector<double>>& F, size_t rows, const int8_t* pattern,
                                  int& valid, int l) {
  const auto& layers = net.layers();
  for (; valid < l; ++valid) {
    const Layer& cur = layers[valid];
    const Layer& nxt = layers[valid + 1];
    const size_t Pn = static_cast<size_t>(nxt.total_pieces());
    compose_magnitude_columns(cur, nxt, pattern + net.unit_offset(valid), F[valid].data() + rows * cur.total_pieces(),
                              At[valid + 1].data() + static_cast<size_t>(nxt.in_dim) * Pn, F[valid + 1].data() + rows * Pn);
  }
}

}  // namespace relutope
