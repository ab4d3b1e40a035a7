// Rigorous bounds for the decisions of the enumerator: LP dual certificates checked in floating point with a
// priori error bounds, valid for the exact rows the floating-point rows approximate.
//
// The Chebyshev LP of a cell {t : a_i . t <= b_i} is  max r  s.t.  a_i . t + ||a_i|| r <= b_i. For multipliers
// y >= 0 and any point t of the cell holding a ball of radius r >= 0, summing the rows gives
//     r * sum_i y_i ||a_i||  <=  sum_i y_i b_i - (sum_i y_i a_i) . t,
// and over a box t in [-half, half] containing the cell the right-hand side is at most
//     N = y . b + sum_j |(A^T y)_j| half_j.
// With rational lower bounds l_i <= ||a_i|| and D = sum_i y_i l_i > 0, every ball in the cell has radius
// r <= rho = N / D, and rho < 0 proves the cell empty (weak duality: Neumaier & Shcherbina, "Safe bounds in
// linear and mixed-integer linear programming", Mathematical Programming 99, 2004, Section 2, where an
// approximate dual y of a float LP gives a rigorous bound once the residual A^T y is bounded over a box).
// chebyshev_dual_bound() returns a float >= rho computed with the a priori bounds of floating-point sums,
// |fl(sum x_i) - sum x_i| <= gamma_n sum |x_i|, gamma_n = n u / (1 - n u) (Higham, "Accuracy and Stability of
// Numerical Algorithms", 2nd ed., 2002, Section 3.1; valid for any summation order and with fused multiply-adds),
// and with entrywise bounds e_i of the distance of the float rows (g_i, h_i) from the exact rows (a_i, b_i).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace relutope {

struct Layer;  // network.hpp

namespace rigorous {
constexpr double kUnit = 1.1102230246251565e-16;   // 2^-53, the unit roundoff of float64
constexpr double kTiny = 4.9406564584124654e-324;  // 2^-1074: bounds the absolute error of an underflow
// gamma_n of Higham (3.8), rounded up generously.
inline double gamma(int n) { return (n * kUnit) / (1.0 - n * kUnit) * (1.0 + 1e-8); }
// An upper bound of a sum of n non-negative terms whose floating-point evaluation gave s (0 stays 0 only when
// `exact`: every term was an exact zero).
inline double inflate(double s, int n, bool exact = false) {
  if (s == 0.0 && exact) return 0.0;
  return s * (1.0 + 4.0 * gamma(n + 2)) + (n + 2) * 4.0 * kTiny;
}

// The rounding of the pieces each enumeration path composes layer by layer in float64 (the LP, polytope and
// polygon paths): F_0 = A_0 (x0 + Q u) + c_0 and F_{l+1} = A_{l+1} M_l + c_{l+1}, M_l the pieces of layer l chosen
// by the pattern. Alongside, each path has per piece two magnitudes, m = |A_0| (|Q|, |x0|) + (0, |c_0|) and
// m_{l+1} = |A_{l+1}| m_l + (0, |c_{l+1}|), summed over the slope entries (one number) and for the offset (one);
// layer 0's are computed once, the others composed from the pattern only for a row that composed_nonconstant()
// below cannot rule out.
// The error analysis of inner products (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., 2002,
// Section 3.1) gives |fl(F_l) - F_l| <= gamma_{N_l} m_l entrywise, with N_l = sum_{j <= l} (d_j + 1) (d_j: the
// fan-in of layer j), and for a difference h = f_r - f_s of two pieces |fl(h) - h| <= gamma_{N_l + 1} (m_r + m_s).
// So a row whose exact slope (offset) is zero has a computed slope of 2-norm (offset of modulus) at most
// composed_zero(N_l + 1, m_r + m_s); the factor 2 covers the rounding of the norm and of the magnitudes. The paths
// call a row constant, and a constant row's offset zero (a tie: piece 0), at or below these bounds; the certified
// LP path then proves the side it took (cert_constant) or records the decision for an exact re-decision.
inline double composed_zero(int terms, double magnitude) { return 2.0 * gamma(terms) * magnitude; }
// Whether a composed difference row (slope of 2-norm grad_norm, offset `offset`; N_l + 1 = terms, magnitudes
// m_r + m_s of its slopes and of its offset) is constant within rounding; then `sign` is its offset's sign beyond
// the rounding (0 within it: a tie). A row not constant leaves `sign` alone.
inline bool composed_constant(double grad_norm, double offset, int terms, double slope_mag, double offset_mag,
                              int& sign) {
  if (grad_norm > std::max(composed_zero(terms, slope_mag), 1e-300)) return false;
  const double t = composed_zero(terms, offset_mag);
  sign = offset > t ? 1 : (offset < -t ? -1 : 0);
  return true;
}
// The prefilter of composed_constant() that lets the paths compose the magnitudes lazily: with `bound` >= the
// computed slope magnitude of every piece of the layer, a row whose slope exceeds composed_zero(terms, 2 bound)
// is not constant. It never rules out a row that composed_constant() would call constant: m_r, m_s <= bound give
// fl(m_r + m_s) <= fl(bound + bound) = 2 bound and fl(2 gamma * x) is non-decreasing in x (rounding is monotone),
// so the threshold of composed_constant() is at most this one. A NaN or infinite bound rules nothing out.
inline bool composed_nonconstant(double grad_norm, int terms, double bound) {
  return grad_norm > std::max(composed_zero(terms, bound + bound), 1e-300);
}
// The bound of composed_nonconstant() for layer l+1 from layer l's: every computed slope magnitude of layer l+1,
// m = fl(sum_i |a_pi| m_i) over the units i with a non-zero piece, m_i <= bound_l, is at most the same sum over
// every unit with bound_l for m_i (monotone rounding; non-negative terms only add), which is at most
// (1 + gamma_n) row_norm bound_l (Higham, Section 3.1, n = fan_in terms) plus the absolute errors of underflows;
// `row_norm` is the computed max_p sum_i |a_pi| (at least (1 - gamma_n) of the exact one), and inflate() covers
// both relative errors, the product's rounding and the underflows.
inline double magnitude_bound(double row_norm, double bound, int fan_in) {
  return inflate(row_norm * bound, fan_in + 1);
}
// Every layer's bound of composed_nonconstant(): `first` (layer 0's largest computed slope magnitude) for layer 0,
// then magnitude_bound() of each layer's largest row 1-norm of |A|. One entry per layer.
std::vector<double> magnitude_bounds(const std::vector<Layer>& layers, double first);
}  // namespace rigorous

// rho of the header comment for the rows idx[0..n_mult-1] with multipliers y (n_mult entries): row r has its k
// coefficients at G + r * ldg, its right-hand side h[r], its k + 1 error bounds (coefficients, then right-hand
// side) at E + r * lde (E = nullptr: exact rows) and the lower bound nl[r] of its exact norm. The cell lies in
// the box [-half, half] (k entries). Returns +infinity when the certificate proves nothing (a multiplier
// negative or not finite, D not provably positive); otherwise a float >= rho: a negative value proves the exact
// cell empty, a value v >= 0 that every ball in it has radius <= v.
double chebyshev_dual_bound(int k, int n_mult, const int* idx, const double* y, const double* G, size_t ldg,
                            const double* h, const double* E, size_t lde, const double* nl, const double* half);

// A lower bound of ||a|| for every a with |a_j - g_j| <= e_j (k entries; e = nullptr: a = g), >= 0.
double norm_lower_bound(int k, const double* g, const double* e);

// Bounds of the affine function f(t) = f_0 . t + f_k over t in [-half, half] for every exact f within e of the
// float f (k + 1 entries each): lo <= f(t) <= hi. `zero` is set when f and e are exactly zero (f == 0 exactly).
void affine_range(int k, const double* f, const double* e, const double* half, double& lo, double& hi, bool& zero);

}  // namespace relutope
