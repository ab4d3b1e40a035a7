// Bitsets of 64-bit words: the incidence sets of the polytope path and the volume kernel.
#pragma once

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

}  // namespace relutope
