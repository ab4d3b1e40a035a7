// Inner loops compiled twice, for AVX2 and for the baseline, chosen at load time (GCC function multiversioning):
// AVX2 runs them 4 doubles wide instead of SSE2's 2, without FMA contraction (the "avx2" target does not enable
// FMA), so their results are the same to the bit on both.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RELUTOPE_WIDE_VECTORS __attribute__((target_clones("avx2", "default")))
#else
#define RELUTOPE_WIDE_VECTORS
#endif
// Helpers of those loops, inlined into each clone (so compiled for its target).
#if defined(__GNUC__)
#define RELUTOPE_INLINE inline __attribute__((always_inline))
#else
#define RELUTOPE_INLINE inline
#endif

// Four doubles as one value (GCC / Clang vector extensions; SSE2 makes it two registers, AVX2 one), and its
// unaligned load and store. Without them (RELUTOPE_HAVE_V4D undefined) the loops that use it fall back to scalars.
#if defined(__GNUC__)
#define RELUTOPE_HAVE_V4D 1
#include <cstring>
namespace relutope {
typedef double v4d __attribute__((vector_size(32)));
// (v by reference, not returned: a vector return value would depend on the target, -Wpsabi)
RELUTOPE_INLINE void load4(v4d& v, const double* p) { std::memcpy(&v, p, sizeof v); }
RELUTOPE_INLINE void store4(double* p, const v4d& v) { std::memcpy(p, &v, sizeof v); }
}  // namespace relutope
#endif
