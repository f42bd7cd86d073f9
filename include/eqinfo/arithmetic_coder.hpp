// Integer arithmetic coder with binary output and exact bit accounting.
//
// State (Witten-Neal-Cleary style, with carry propagation instead of pending
// bits): n emitted bits `Out`, and an interval [low, low + range) measured in
// units of 2^-(n+Q) on top of them, so the absolute interval is
//     [(Out * 2^Q + low) * 2^-(n+Q),  (Out * 2^Q + low + range) * 2^-(n+Q)).
// Invariants after every step (checked in debug builds):
//     2^(Q-1) < range <= 2^Q,   0 <= low < 2^Q,
//     the absolute interval lies in [0, 1)  (Out = 2^n - 1  =>  low + range <= 2^Q).
// A symbol with cumulative frequency [c, c + f) of 2^P narrows the interval to
//     [low + floor(range * c / 2^P),  low + floor(range * (c + f) / 2^P)),
// so the 257 children partition the parent exactly: no gaps, no overlap.
// This exact partition is what the Equal-Info termination proof relies on
// (docs/design.md).
//
// Coders know nothing about models: integers (cumulative frequency, frequency)
// cross the boundary, as in constriction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "eqinfo/bit_vector.hpp"
#include "eqinfo/frequency_table.hpp"
#include "eqinfo/invariants.hpp"

namespace eqinfo {

template <unsigned StateBits, unsigned FrequencyBits>
struct CoderPrecision {
  // range > 2^(Q-1) >= 2^P gives every child at least floor(range / 2^P) >= 1 unit.
  static_assert(StateBits >= FrequencyBits + 1, "StateBits must exceed FrequencyBits");
  // range * cumulative < 2^(Q+1) * 2^P must fit in 64 bits.
  static_assert(StateBits + FrequencyBits <= 63, "StateBits + FrequencyBits must be <= 63");
  static constexpr unsigned kStateBits = StateBits;
  static constexpr unsigned kFrequencyBits = FrequencyBits;
  static constexpr std::uint64_t kFull = std::uint64_t{1} << StateBits;
  static constexpr std::uint64_t kHalf = kFull >> 1;

  // Offset of the child boundary with cumulative frequency `cum` inside an
  // interval of `range` units.
  static constexpr std::uint64_t boundary(std::uint64_t range, std::uint32_t cum) noexcept {
    return (range * cum) >> FrequencyBits;
  }
};

template <unsigned StateBits = 32, unsigned FrequencyBits = 16>
class ArithmeticEncoder : public CoderPrecision<StateBits, FrequencyBits> {
  using Base = CoderPrecision<StateBits, FrequencyBits>;

 public:
  using Base::kFull;
  using Base::kHalf;
  using Table = FrequencyTable<FrequencyBits>;

  void reset() {
    out_.clear();
    low_ = 0;
    range_ = kFull;
  }

  // Codes the symbol with cumulative frequency [cum, cum + freq) of 2^P.
  void encode(std::uint32_t cum, std::uint32_t freq) {
    const std::uint64_t lo = Base::boundary(range_, cum);
    const std::uint64_t hi = Base::boundary(range_, cum + freq);
    low_ += lo;
    range_ = hi - lo;
    if (low_ >= kFull) {  // carry into the bits already written
      out_.increment();
      low_ -= kFull;
    }
    while (range_ <= kHalf) {
      out_.push_back(low_ >= kHalf);
      low_ = (low_ << 1) & (kFull - 1);
      range_ <<= 1;
    }
    check_invariants();
  }
  void encode(const Table& table, Symbol s) { encode(table.low(s), table.frequency(s)); }

  [[nodiscard]] std::uint64_t low() const noexcept { return low_; }
  [[nodiscard]] std::uint64_t range() const noexcept { return range_; }
  [[nodiscard]] const BitVector& emitted() const noexcept { return out_; }
  [[nodiscard]] std::size_t emitted_bits() const noexcept { return out_.size(); }

  // Largest s in [0, Q] such that an aligned block of 2^s units fits inside
  // the interval, i.e. the coarsest dyadic cell the interval contains.
  [[nodiscard]] unsigned largest_cell_shift() const noexcept {
    for (unsigned s = StateBits;; --s) {
      if (aligned_block_fits(s)) return s;
      if (s == 0) return 0;  // unreachable: range >= 1 unit
    }
  }

  // Exact bit accounting: the length of the shortest codeword that ends the
  // message here, i.e. the smallest m such that some m-bit dyadic cell
  // [c 2^-m, (c+1) 2^-m) lies inside the interval.  Always n, n+1 or n+2.
  [[nodiscard]] std::size_t termination_bits() const noexcept {
    return out_.size() + StateBits - largest_cell_shift();
  }

  // That shortest codeword (the lowest such cell).
  [[nodiscard]] BitVector terminate() const {
    const unsigned s = largest_cell_shift();
    return codeword_for_cell(first_aligned(s), out_.size() + StateBits - s);
  }

  // The first multiple of 2^s at or above low (may equal 2^Q: a carry).
  [[nodiscard]] std::uint64_t first_aligned(unsigned s) const noexcept {
    const std::uint64_t mask = (std::uint64_t{1} << s) - 1;
    return (low_ + mask) & ~mask;
  }
  [[nodiscard]] bool aligned_block_fits(unsigned s) const noexcept {
    return first_aligned(s) + (std::uint64_t{1} << s) <= low_ + range_;
  }

  // The cell_bits-bit codeword of the cell that starts `offset` units above
  // Out * 2^Q (offset may be >= 2^Q, which carries into Out).  When the cell
  // is finer than a unit (cell_bits > n + Q) the codeword is Out, the Q bits
  // of offset, then zeros.
  [[nodiscard]] BitVector codeword_for_cell(std::uint64_t offset, std::size_t cell_bits) const {
    BitVector word = out_;
    if (offset >= kFull) {
      word.increment();
      offset -= kFull;
    }
    const std::size_t n = out_.size();
    if (cell_bits < n) throw std::logic_error("codeword_for_cell: cell coarser than the emitted bits");
    if (cell_bits <= n + StateBits) {
      const unsigned shift = static_cast<unsigned>(n + StateBits - cell_bits);
      word.append_bits(offset >> shift, StateBits - shift);
    } else {
      word.append_bits(offset, StateBits);
      for (std::size_t i = n + StateBits; i < cell_bits; ++i) word.push_back(false);
    }
    return word;
  }

 private:
  void check_invariants() const {
    EQINFO_INVARIANT(range_ > kHalf && range_ <= kFull, "encoder range out of (2^(Q-1), 2^Q]");
    EQINFO_INVARIANT(low_ < kFull, "encoder low >= 2^Q after carry resolution");
    EQINFO_INVARIANT(out_.ones() != out_.size() || low_ + range_ <= kFull, "encoder interval left [0, 1)");
  }

  BitVector out_;
  std::uint64_t low_ = 0;
  std::uint64_t range_ = kFull;
};

// Where a decoder reads its bits: positions [begin, end) of a BitVector,
// followed by an endless run of `fill`.
struct BitSource {
  const BitVector* bits = nullptr;
  std::size_t begin = 0;
  std::size_t end = 0;
  bool fill = false;

  [[nodiscard]] bool at(std::size_t i) const noexcept {
    const std::size_t p = begin + i;
    return p < end ? (*bits)[p] : fill;
  }
};

// Decodes the point x = 0.b0 b1 b2 ... given by a BitSource.  It mirrors the
// encoder's range exactly and keeps diff = floor((x - low) * 2^(n+Q)), so
// 0 <= diff < range whenever x lies inside the interval.
template <unsigned StateBits = 32, unsigned FrequencyBits = 16>
class ArithmeticDecoder : public CoderPrecision<StateBits, FrequencyBits> {
  using Base = CoderPrecision<StateBits, FrequencyBits>;

 public:
  using Base::kFull;
  using Base::kHalf;
  using Table = FrequencyTable<FrequencyBits>;

  void reset(BitSource source) {
    source_ = source;
    range_ = kFull;
    diff_ = 0;
    for (unsigned i = 0; i < StateBits; ++i) diff_ = (diff_ << 1) | source_.at(i);
    next_bit_ = StateBits;
    shifts_ = 0;
  }

  // The symbol whose child interval contains the point.
  [[nodiscard]] Symbol peek(const Table& table) const noexcept {
    // cum_j <= target  <=>  floor(range * cum_j / 2^P) <= diff.
    const std::uint64_t target = (((diff_ + 1) << FrequencyBits) - 1) / range_;
    return table.symbol_for(static_cast<std::uint32_t>(target));
  }

  // Narrows to the child of `s` (which must contain the point for the decoder
  // to keep tracking it; the window decoder only consumes peeked symbols).
  void consume(std::uint32_t cum, std::uint32_t freq) {
    const std::uint64_t lo = Base::boundary(range_, cum);
    const std::uint64_t hi = Base::boundary(range_, cum + freq);
    EQINFO_INVARIANT(diff_ >= lo && diff_ < hi, "decoder point outside the consumed symbol's interval");
    diff_ -= lo;
    range_ = hi - lo;
    while (range_ <= kHalf) {
      range_ <<= 1;
      diff_ = (diff_ << 1) | source_.at(next_bit_++);
      ++shifts_;
    }
    EQINFO_INVARIANT(diff_ < range_ && range_ > kHalf && range_ <= kFull, "decoder state out of range");
  }
  void consume(const Table& table, Symbol s) { consume(table.low(s), table.frequency(s)); }

  Symbol decode(const Table& table) {
    const Symbol s = peek(table);
    consume(table, s);
    return s;
  }

  // n: how many bits the encoder has emitted at this point of the message.
  [[nodiscard]] std::size_t shifted_bits() const noexcept { return shifts_; }
  [[nodiscard]] std::uint64_t range() const noexcept { return range_; }

 private:
  BitSource source_{};
  std::uint64_t range_ = kFull;
  std::uint64_t diff_ = 0;
  std::size_t next_bit_ = 0;
  std::size_t shifts_ = 0;
};

}  // namespace eqinfo
