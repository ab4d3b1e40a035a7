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
