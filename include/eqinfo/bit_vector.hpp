// A growable sequence of bits, most significant bit first, with the one
// arithmetic operation an arithmetic coder needs: adding 1 to the number the
// bits spell (carry propagation into bits that were already written).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace eqinfo {

class BitVector {
 public:
  BitVector() = default;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t ones() const noexcept { return ones_; }

  void clear() noexcept {
    words_.clear();
    size_ = 0;
    ones_ = 0;
  }
  void reserve(std::size_t bits) { words_.reserve((bits + 63) / 64); }

  [[nodiscard]] bool operator[](std::size_t i) const noexcept {
    return (words_[i >> 6] >> (63 - (i & 63))) & 1u;
  }
  // Bit i, or `fill` for any position at or past the end.  Decoders read a
  // codeword as if it were followed by an infinite run of `fill`.
  [[nodiscard]] bool get_or(std::size_t i, bool fill) const noexcept {
    return i < size_ ? (*this)[i] : fill;
  }

  void push_back(bool bit) {
    if ((size_ & 63) == 0) words_.push_back(0);
    if (bit) {
      words_.back() |= std::uint64_t{1} << (63 - (size_ & 63));
      ++ones_;
    }
    ++size_;
  }

  // Appends the low `count` bits of `value` (count <= 64), most significant first.
  void append_bits(std::uint64_t value, unsigned count) {
    if (count == 0) return;
    if (count < 64) value &= (std::uint64_t{1} << count) - 1;
    ones_ += static_cast<std::size_t>(std::popcount(value));
    const unsigned used = static_cast<unsigned>(size_ & 63);  // bits already in the last word
    if (used == 0) {
      words_.push_back(value << (64 - count));
    } else {
      const unsigned room = 64 - used;
      if (count <= room) {
        words_.back() |= value << (room - count);
      } else {
        words_.back() |= value >> (count - room);
        words_.push_back(value << (64 - (count - room)));
      }
    }
    size_ += count;
  }

  void append(const BitVector& other) {
    for (std::size_t i = 0; i < other.size_; i += 64) {
      const unsigned count = static_cast<unsigned>(std::min<std::size_t>(64, other.size_ - i));
      append_bits(other.read_bits(i, count), count);
    }
  }

  // Adds 1 to the size()-bit unsigned number these bits spell.  Throws if the
  // number is all ones: for a coder that would mean the coding interval left
  // [0, 1), which its invariants rule out.
  void increment() {
    if (ones_ == size_) throw std::logic_error("BitVector::increment: carry out of the most significant bit");
    std::size_t i = size_;
    // Trailing ones become zeros; the last zero becomes one.
    while (i > 0 && (*this)[i - 1]) {
      --i;
      words_[i >> 6] &= ~(std::uint64_t{1} << (63 - (i & 63)));
      --ones_;
    }
    --i;
    words_[i >> 6] |= std::uint64_t{1} << (63 - (i & 63));
    ++ones_;
  }

  // The `count` bits starting at `pos` as an integer (count <= 64); positions
  // past the end read as zero.
  [[nodiscard]] std::uint64_t read_bits(std::size_t pos, unsigned count) const noexcept {
    if (count == 0 || pos >= size_) return 0;
    const std::size_t w = pos >> 6;
    const unsigned off = static_cast<unsigned>(pos & 63);
    // The 64 bits starting at pos; words past the end and unused bits are zero.
    std::uint64_t window = words_[w] << off;
    if (off != 0 && w + 1 < words_.size()) window |= words_[w + 1] >> (64 - off);
    return count == 64 ? window : window >> (64 - count);
  }

  friend bool operator==(const BitVector& a, const BitVector& b) noexcept {
    return a.size_ == b.size_ && a.words_ == b.words_;
  }

 private:
  std::vector<std::uint64_t> words_;  // unused low bits of the last word are always zero
  std::size_t size_ = 0;
  std::size_t ones_ = 0;              // popcount, kept so invariant checks are O(1)
};

}  // namespace eqinfo
