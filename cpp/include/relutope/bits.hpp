// Bitsets of 64-bit words: the incidence sets of the polytope path and the volume kernel.
#pragma once

#include <cstddef>
#include <cstdint>

namespace relutope {

using Word = uint64_t;

// Bits set in a word, without the library call that __builtin_popcountll becomes on baseline x86-64 (SWAR count,
// Warren, "Hacker's Delight", 2nd ed., section 5-1).
inline int popcount(Word w) {
  w = w - ((w >> 1) & 0x5555555555555555ULL);
  w = (w & 0x3333333333333333ULL) + ((w >> 2) & 0x3333333333333333ULL);
  w = (w + (w >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<int>((w * 0x0101010101010101ULL) >> 56);
}

// Hash of a key of W words, for open-addressing tables of incidence sets (a boost::hash_combine-style mix of
// each word, finished by a splitmix64 multiplier and shift).
inline size_t hash_words(const Word* key, int W) {
  Word h = 0x9E3779B97F4A7C15ULL;
  for (int t = 0; t < W; ++t) {
    h ^= key[t] + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ULL;
  }
  return static_cast<size_t>(h ^ (h >> 31));
}

}  // namespace relutope
