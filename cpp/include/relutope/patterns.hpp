// Packed activation patterns: the storage form of the patterns of many regions.
//
// A pattern holds one piece index per unit; stored as int8 it costs one byte per unit per region, which for wide
// networks dwarfs everything else a partition keeps (a 2-D slice of [784, 10000, 10] has 10,010 units: 10 kB per
// region, 5 GB at 500k regions). Packed, unit i (K_i pieces) takes w_i = ceil(log2 K_i) bits (1 for a ReLU, 0 for
// a single-piece unit, at most 7 for K <= 127) at bit offsets off_i = w_0 + ... + w_{i-1} of a row of
// row_bytes = ceil(sum_i w_i / 8) bytes. Bit b of the row is bit b % 8 (least significant first) of byte b / 8,
// and the piece index is written least significant bit first: numpy's unpackbits(row, bitorder="little") gives
// the row's bits in order, and unit i's piece is sum_j bit[off_i + j] << j. Padding bits are zero, so two
// patterns are equal exactly when their packed rows are (rows can be hashed or sorted as bytes).
//
// BlockVector: append-only storage for the per-region results of an enumeration. A std::vector that doubles
// holds its old and new buffers at once while it copies (twice the data, briefly) and can end with up to half
// its capacity unused; a BlockVector grows by blocks that never move, and take() copies the blocks into one
// exact-size std::vector, freeing each block once copied, so the peak stays near the data plus one block (the
// exact-size buffer's pages are only touched, and counted, as they are written).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace relutope {

class PatternLayout {
 public:
  PatternLayout() = default;

  // From the number of pieces of every unit (each 1 to 128); throws std::invalid_argument otherwise.
  explicit PatternLayout(const std::vector<int>& n_pieces) {
    width_.reserve(n_pieces.size());
    for (size_t i = 0; i < n_pieces.size(); ++i) {
      const int K = n_pieces[i];
      if (K < 1 || K > 128)
        throw std::invalid_argument("n_pieces: unit " + std::to_string(i) + " has " + std::to_string(K) +
                                    " pieces (1 to 128 can be packed)");
      int w = 0;
      while ((1 << w) < K) ++w;
      width_.push_back(static_cast<uint8_t>(w));
      pieces_.push_back(static_cast<uint8_t>(K - 1));
      bits_ += w;
    }
    row_bytes_ = static_cast<size_t>((bits_ + 7) / 8);
    run1_.assign(width_.size() + 1, 0);
    for (size_t i = width_.size(); i-- > 0;) run1_[i] = width_[i] == 1 ? run1_[i + 1] + 1 : 0;
  }

  int n_units() const { return static_cast<int>(width_.size()); }
  int64_t bits() const { return bits_; }
  size_t row_bytes() const { return row_bytes_; }

  // Pack one pattern (n_units piece indices) into `row` (row_bytes bytes, overwritten). Throws
  // std::invalid_argument for a piece index a unit does not have.
  void pack(const int8_t* pattern, uint8_t* row) const {
    uint64_t acc = 0;  // bits not yet written (fewer than 8 between units), least significant first
    int nacc = 0;
    uint8_t* out = row;
    const size_t n = width_.size();
    for (size_t i = 0; i < n;) {
      if (kLittleEndian && run1_[i] >= 8) {  // eight two-piece units at once: byte j (0 or 1) to bit j
        uint64_t x;
        std::memcpy(&x, pattern + i, 8);
        if (x & 0xFEFEFEFEFEFEFEFEull)
          for (size_t j = i; j < i + 8; ++j)
            if (pattern[j] != 0 && pattern[j] != 1) throw std::invalid_argument(bad_piece("pattern", j, pattern[j]));
        acc |= ((x * 0x0102040810204080ull) >> 56) << nacc;
        nacc += 8;
        i += 8;
      } else {
        const int v = pattern[i];
        if (v < 0 || v > pieces_[i]) throw std::invalid_argument(bad_piece("pattern", i, v));
        acc |= static_cast<uint64_t>(v) << nacc;
        nacc += width_[i];
        ++i;
      }
      while (nacc >= 8) {
        *out++ = static_cast<uint8_t>(acc);
        acc >>= 8;
        nacc -= 8;
      }
    }
    if (nacc > 0) *out = static_cast<uint8_t>(acc);  // the padding bits are zero
  }

  // Unpack one row into `pattern` (n_units entries). Throws std::invalid_argument when the row holds a piece
  // index a unit does not have (a row that pack() did not write).
  void unpack(const uint8_t* row, int8_t* pattern) const {
    uint64_t acc = 0;  // bits read and not yet used, least significant first
    int nacc = 0;
    const uint8_t* in = row;
    const size_t n = width_.size();
    for (size_t i = 0; i < n;) {
      if (kLittleEndian && run1_[i] >= 8) {  // bit j of the next byte to byte j of eight two-piece units
        if (nacc < 8) {
          acc |= static_cast<uint64_t>(*in++) << nacc;
          nacc += 8;
        }
        const uint64_t m = acc & 0xFF;
        const uint64_t x = (((m & 0x7F) * 0x0002040810204081ull) & 0x0101010101010101ull) | ((m >> 7) << 56);
        std::memcpy(pattern + i, &x, 8);
        acc >>= 8;
        nacc -= 8;
        i += 8;
      } else {
        const int w = width_[i];
        if (nacc < w) {
          acc |= static_cast<uint64_t>(*in++) << nacc;
          nacc += 8;
        }
        const int v = static_cast<int>(acc & ((1u << w) - 1));
        acc >>= w;
        nacc -= w;
        if (v > pieces_[i]) throw std::invalid_argument(bad_piece("packed pattern", i, v));
        pattern[i] = static_cast<int8_t>(v);
        ++i;
      }
    }
  }

 private:
  std::vector<uint8_t> width_;   // n_units: bits of every unit
  std::vector<uint8_t> pieces_;  // n_units: K - 1, the largest piece index
  std::vector<int> run1_;        // n_units: how many one-bit units follow from each unit on (itself included)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  static constexpr bool kLittleEndian = true;  // the eight-at-a-time paths read 8 int8 as one uint64
#else
  static constexpr bool kLittleEndian = false;
#endif
  int64_t bits_ = 0;
  size_t row_bytes_ = 0;

  std::string bad_piece(const char* what, size_t unit, int v) const {
    return std::string(what) + ": unit " + std::to_string(unit) + " has piece " + std::to_string(v) + ", but only " +
           std::to_string(pieces_[unit] + 1) + " pieces";
  }
};

template <typename T>
class BlockVector {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // n new value-initialised elements, contiguous; the pointer is valid until the next extend()/take().
  T* extend(size_t n) {
    if (blocks_.empty() || blocks_.back().capacity() - blocks_.back().size() < n) {
      blocks_.emplace_back();
      // Blocks double with the data (few blocks for small results), capped so one block stays small.
      blocks_.back().reserve(std::max(n, std::min(std::max(size_, kMinBlock), kMaxBlock)));
    }
    std::vector<T>& b = blocks_.back();
    const size_t at = b.size();
    b.resize(at + n);
    size_ += n;
    return b.data() + at;
  }

  void push_back(const T& v) { *extend(1) = v; }
  void append(const T* p, size_t n) { std::copy(p, p + n, extend(n)); }

  // The elements in order as one exact-size vector; the BlockVector is left empty.
  std::vector<T> take() {
    std::vector<T> out;
    if (blocks_.size() == 1 && blocks_[0].capacity() - blocks_[0].size() <= kMinBlock) {
      out = std::move(blocks_[0]);
    } else {
      out.reserve(size_);
      for (std::vector<T>& b : blocks_) {
        out.insert(out.end(), b.begin(), b.end());
        std::vector<T>().swap(b);
      }
    }
    blocks_.clear();
    size_ = 0;
    return out;
  }

 private:
  static constexpr size_t kMinBlock = (size_t(64) << 10) / sizeof(T);  // 64 KiB
  static constexpr size_t kMaxBlock = (size_t(16) << 20) / sizeof(T);  // 16 MiB
  std::vector<std::vector<T>> blocks_;
  size_t size_ = 0;
};

}  // namespace relutope
