#include "relutope/certify.hpp"

#include "relutope/network.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace relutope {

using rigorous::gamma;
using rigorous::inflate;
using rigorous::kTiny;
using rigorous::kUnit;

double chebyshev_dual_bound(int k, int n_mult, const int* idx, const double* y, const double* G, size_t ldg,
                            const double* h, const double* E, size_t lde, const double* nl, const double* half) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const int m = n_mult;
  for (int t = 0; t < m; ++t)
    if (!(y[t] >= 0.0) || !std::isfinite(y[t]) || !(nl[idx[t]] >= 0.0) || !std::isfinite(nl[idx[t]])) return kInf;
  // c = sum_t y_t g_t (the float residual A^T y), with |c_exact - c| <= eps: gamma_m sum |y g| (the rounding of
  // the sums) plus sum y e (the rows' own errors).
  std::vector<double> c(k, 0.0), cabs(k, 0.0), cerr(k, 0.0);
  double T1 = 0.0, S1 = 0.0, T2 = 0.0, D = 0.0;
  for (int t = 0; t < m; ++t) {
    const int r = idx[t];
    const double yt = y[t];
    if (yt == 0.0) continue;
    const double* g = G + static_cast<size_t>(r) * ldg;
    for (int j = 0; j < k; ++j) {
      c[j] += yt * g[j];
      cabs[j] += yt * std::fabs(g[j]);
    }
    if (E) {
      const double* e = E + static_cast<size_t>(r) * lde;
      for (int j = 0; j < k; ++j) cerr[j] += yt * e[j];
      T2 += yt * e[k];
    }
    T1 += yt * h[r];
    S1 += yt * std::fabs(h[r]);
    D += yt * nl[r];
  }
  // The box term sum_j |c_exact_j| half_j <= sum_j (|c_j| + eps_j) half_j.
  const double gm = gamma(m + 1);
  double B = 0.0;
  for (int j = 0; j < k; ++j) {
    const double eps = inflate(gm * inflate(cabs[j], m) + inflate(cerr[j], m), 2);
    B += (std::fabs(c[j]) + eps) * half[j];
  }
  // y.b_exact <= T1 + gamma_m S1 + sum y |b - h|.
  const double X = inflate(inflate(B, 2 * k) + inflate(gm * inflate(S1, m), 1) + inflate(T2, m), 3);
  const double N = T1 + X;
  const double N_up = N + inflate(gamma(2) * (std::fabs(T1) + X), 2);
  if (!std::isfinite(N_up)) return kInf;
  if (N_up >= 0.0) {
    const double D_low = D * (1.0 - 4.0 * gamma(m + 2)) - (m + 2) * 4.0 * kTiny;
    if (!(D_low > 0.0)) return kInf;
    return (N_up / D_low) * (1.0 + 4.0 * kUnit) + kTiny;
  }
  const double D_up = inflate(D, m);
  if (!(D_up > 0.0) || !std::isfinite(D_up)) return kInf;
  return (N_up / D_up) * (1.0 - 4.0 * kUnit);  // negative: towards zero
}

double norm_lower_bound(int k, const double* g, const double* e) {
  double s = 0.0, se = 0.0;
  for (int j = 0; j < k; ++j) {
    s += g[j] * g[j];
    if (e) se += e[j] * e[j];
  }
  const double low = std::sqrt(std::max(0.0, s * (1.0 - 4.0 * gamma(k + 2)))) * (1.0 - 2.0 * kUnit);
  const double up = e ? std::sqrt(inflate(se, k, se == 0.0)) * (1.0 + 2.0 * kUnit) : 0.0;
  const double d = (low - up) * (1.0 - 2.0 * kUnit);
  return d > 0.0 ? d : 0.0;
}

void affine_range(int k, const double* f, const double* e, const double* half, double& lo, double& hi,
                  bool& zero) {
  double S = 0.0;
  zero = f[k] == 0.0 && (!e || e[k] == 0.0);
  for (int j = 0; j < k; ++j) {
    const double ej = e ? e[j] : 0.0;
    S += (std::fabs(f[j]) + ej) * half[j];
    zero = zero && f[j] == 0.0 && ej == 0.0;
  }
  if (zero) {
    lo = hi = 0.0;
    return;
  }
  const double ek = e ? e[k] : 0.0;
  const double spread = inflate(S, 2 * k) + ek;
  const double slack = inflate(gamma(3) * (std::fabs(f[k]) + spread), 3);
  hi = (f[k] + spread) + slack;
  lo = (f[k] - spread) - slack;
}

std::vector<double> rigorous::magnitude_bounds(const std::vector<Layer>& layers, double first) {
  std::vector<double> bounds(layers.size(), 0.0);
  if (bounds.empty()) return bounds;
  bounds[0] = first;
  for (size_t l = 1; l < layers.size(); ++l) {
    const Layer& la = layers[l];
    double row_norm = 0.0;
    for (int p = 0; p < la.total_pieces(); ++p) {
      double t = 0.0;
      for (int i = 0; i < la.in_dim; ++i) t += std::fabs(la.A[static_cast<size_t>(p) * la.in_dim + i]);
      row_norm = std::max(row_norm, t);
    }
    bounds[l] = magnitude_bound(row_norm, bounds[l - 1], la.in_dim);
  }
  return bounds;
}

}  // namespace relutope
