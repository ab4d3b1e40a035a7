// Euclidean norms that neither overflow nor underflow: rows of the core's cells, in the domain's frame, can have
// entries near 1e300 (a box of half-width 1e300 around a unit-scale network) or 1e-300, whose squares leave the
// float64 range (a row taken as zero, or divided by inf, is a wrong cell).
#pragma once

#include <cmath>

namespace relutope {

// sqrt(sum x_j^2), the plain sum when it is well inside the float64 range (the common case: one pass), otherwise
// recomputed on the entries scaled by a power of two near the largest one (exact scaling, so the result is the
// plain formula's to rounding wherever that does not overflow or underflow). inf when an entry is inf, NaN when
// one is NaN.
inline double stable_norm(const double* x, int n) {
  double s = 0.0;
  for (int j = 0; j < n; ++j) s += x[j] * x[j];
  if (s < 1e290 && s > 1e-290) return std::sqrt(s);
  if (s == 0.0) {  // every entry zero, or each below ~1e-162 (its square underflowed)
    bool all_zero = true;
    for (int j = 0; j < n && all_zero; ++j) all_zero = x[j] == 0.0;
    if (all_zero) return 0.0;
  }
  double m = 0.0;
  for (int j = 0; j < n; ++j) {
    const double a = std::fabs(x[j]);
    if (!(a <= m)) m = a;  // (a NaN entry makes m NaN)
  }
  if (!std::isfinite(m)) return m;
  int e = 0;
  std::frexp(m, &e);  // m = f 2^e, 1/2 <= f < 1
  double t = 0.0;
  for (int j = 0; j < n; ++j) {
    const double q = std::ldexp(x[j], -e);
    t += q * q;
  }
  return std::ldexp(std::sqrt(t), e);
}

// The exponent e of a power-of-two scaling 2^-e that brings a magnitude m (> 0, finite) into [1/2, 1), or 0 when
// m already lies in [2^(lo-1), 2^hi) (or is 0, inf or NaN): the LP solver's tolerances are absolute, so an LP
// whose coefficients are of size m is solved on them times 2^-e (exactly) and its result scaled back, and an LP
// of ordinary size is left bit for bit as it is.
inline int scale_exponent(double m, int lo = -7, int hi = 8) {
  int e = 0;
  if (m > 0.0 && std::isfinite(m)) {
    std::frexp(m, &e);  // m = f 2^e, 1/2 <= f < 1
    if (e >= lo && e <= hi) e = 0;
  }
  return e;
}

}  // namespace relutope
