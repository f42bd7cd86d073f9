// One Equal-Info window: the termination rule as an encoder and a decoder of
// exactly b bits.  Model and coder restart at every window, so a window
// decodes on its own from its b bits and the model alone.
//
// The rule (docs/design.md §3.1; proofs §3.2-3.3):
//   * A window's b bits name a cell C = [c 2^-b, (c+1) 2^-b) of [0, 1).
//   * DECODER: emit the next symbol while C lies wholly inside one child
//     interval of the current interval; stop at the first step where C
//     straddles a child boundary, and right after decoding EOS.  Testing
//     "C inside one child" = decoding the two points c.000... and c.111...
//     and checking that they agree.
//   * ENCODER: with s_1..s_k coded (interval I_k), the window may end after
//     s_k iff s_k = EOS and I_k contains a whole cell, or some whole cell of
//     I_k straddles a boundary between two children of I_k.  The encoder adds
//     symbols greedily while the next symbol's interval still contains a
//     whole cell (K symbols), and closes the window at the largest k <= K at
//     which it may end, choosing the lowest such cell as the codeword.
//   * PROGRESS: with P <= b every root child is a union of whole cells; if no
//     k <= K could end the window, every I_k would be cell-aligned and so
//     would I_{K+1}, which then holds a whole cell, contradicting the choice
//     of K.  Hence every window holds >= 1 symbol and a codeword always exists.
//
// Nothing else is needed to decode: no lengths, no look-ahead, no side
// channel, and every b-bit string decodes to >= 1 symbol.  How documents are
// cut into windows is equal_info_segmenter.hpp's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "eqinfo/arithmetic_coder.hpp"
#include "eqinfo/invariants.hpp"
#include "eqinfo/segmenter.hpp"
#include "eqinfo/symbols.hpp"

namespace eqinfo {

// The precision constraint of the termination proof: every symbol, even at
// probability 2^-P, must cover at least one whole b-bit cell at the root.
template <unsigned WindowBits, unsigned FrequencyBits>
inline constexpr bool kWindowFitsEverySymbol = FrequencyBits <= WindowBits;

// A loose upper bound on the symbols one window can hold (and so on the steps
// any decoder takes on any window): every child has at most
// 1 - 256/2^P + 2^-(Q-1)*256 <= 1 - 128/2^P of its parent's width, both
// decoder points stay 2^-b apart, so after (b+1) 2^P/128 steps they must part.
template <unsigned WindowBits, unsigned FrequencyBits>
inline constexpr std::size_t kMaxWindowSymbols = (std::size_t{WindowBits} + 1) * (std::size_t{1} << FrequencyBits) / 128 + 16;

// Builds one window, one symbol at a time.  A state machine rather than a
// loop over the model so that drivers can batch many windows, or feed
// predictions computed ahead of time.
template <unsigned WindowBits, unsigned FrequencyBits, unsigned StateBits = kDefaultStateBits>
class EqualInfoWindowEncoder {
  static_assert(StateBits >= FrequencyBits + 2, "the window step bound (kMaxWindowSymbols) needs StateBits >= FrequencyBits + 2");
  static_assert(kWindowFitsEverySymbol<WindowBits, FrequencyBits>,
                "Equal-Info windows need FrequencyBits <= WindowBits: a symbol of probability 2^-P must fit in one "
                "b-bit window (docs/design.md, precision constraint)");

 public:
  using Table = FrequencyTable<FrequencyBits>;
  using Encoder = ArithmeticEncoder<StateBits, FrequencyBits>;
  enum class Offer { kAccepted, kClosed };

  EqualInfoWindowEncoder() { steps_.reserve(64); }

  void begin() {
    encoder_.reset();
    steps_.clear();
    best_k_ = 0;
    best_cum_ = 0;
    best_is_eos_ = false;
    greedy_k_ = 0;
  }

  // Offers the next symbol `s`, with the table that predicts it.
  //   kAccepted: s is in the window; offer the next one.
  //   kClosed:   the window is complete and holds window_symbols() of the
  //              symbols offered (the rest belong to the next window).
  Offer offer(const Table& table, Symbol s) {
    const std::size_t k = steps_.size();
    // May the window end after s_1..s_k?  `table` partitions I_k into its children.
    if (k >= 1) {
      if (auto cum = straddled_boundary(table)) {
        best_k_ = k;
        best_cum_ = *cum;
        best_is_eos_ = false;
      }
    }
    encoder_.encode(table, s);
    if (!holds_whole_cell()) {
      greedy_k_ = k;
      close();
      return Offer::kClosed;
    }
    steps_.emplace_back(table.low(s), table.frequency(s));
    EQINFO_INVARIANT((steps_.size() <= kMaxWindowSymbols<WindowBits, FrequencyBits>), "window exceeds its symbol bound");
    if (s == kEos) {
      best_k_ = greedy_k_ = k + 1;
      best_is_eos_ = true;
      close();
      return Offer::kClosed;
    }
    return Offer::kAccepted;
  }

  [[nodiscard]] std::size_t window_symbols() const noexcept { return best_k_; }
  [[nodiscard]] std::size_t greedy_symbols() const noexcept { return greedy_k_; }
  [[nodiscard]] const BitVector& codeword() const noexcept { return codeword_; }

 private:
  // log2 of the cell size in coder units (2^-(n+Q)); <= 0 means cells are no
  // larger than a unit, so every child boundary sits on the cell grid.
  [[nodiscard]] static long cell_shift(const Encoder& e) noexcept {
    return static_cast<long>(e.emitted_bits()) + long{StateBits} - long{WindowBits};
  }

  [[nodiscard]] bool holds_whole_cell() const noexcept {
    const long s = cell_shift(encoder_);
    if (s <= 0) return true;  // range > 2^(Q-1) units >= one cell
    if (s > long{StateBits}) return false;
    return encoder_.aligned_block_fits(static_cast<unsigned>(s));
  }

  // A child boundary of the current interval lying strictly inside a whole
  // cell of it, as its cumulative frequency; nullopt if there is none.
  [[nodiscard]] std::optional<std::uint32_t> straddled_boundary(const Table& table) const noexcept {
    const long shift = cell_shift(encoder_);
    if (shift <= 0 || shift > long{StateBits}) return std::nullopt;
    const unsigned s = static_cast<unsigned>(shift);
    const std::uint64_t mask = (std::uint64_t{1} << s) - 1;
    const std::uint64_t low = encoder_.low(), range = encoder_.range();
    const std::uint64_t first = encoder_.first_aligned(s);        // first whole cell starts here
    const std::uint64_t end = (low + range) & ~mask;                // last whole cell ends here
    if (first >= end) return std::nullopt;                          // no whole cell
    const auto point = [&](std::size_t j) { return low + Encoder::boundary(range, table.cumulative(j)); };
    // Boundaries rise with j: binary-search the first internal one above `first`.
    std::size_t lo = 1, hi = kAlphabetSize;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (point(mid) > first) hi = mid; else lo = mid + 1;
    }
    for (std::size_t j = lo; j < kAlphabetSize && point(j) < end; ++j)
      if (point(j) & mask) return table.cumulative(j);
    return std::nullopt;
  }

  void close() {
    EQINFO_INVARIANT(best_k_ >= 1, "Equal-Info progress guarantee violated: no valid codeword");
    if (best_k_ == 0) throw std::logic_error("EqualInfoWindowEncoder: no codeword (progress guarantee violated)");
    Encoder replay;
    for (std::size_t i = 0; i < best_k_; ++i) replay.encode(steps_[i].first, steps_[i].second);
    const long shift = cell_shift(replay);
    std::uint64_t offset;
    if (best_is_eos_) {
      // Any whole cell of I_k will do: EOS stops the decoder.
      offset = shift <= 0 ? replay.low() : replay.first_aligned(static_cast<unsigned>(shift));
    } else {
      const std::uint64_t mask = (std::uint64_t{1} << shift) - 1;
      offset = (replay.low() + Encoder::boundary(replay.range(), best_cum_)) & ~mask;
    }
    codeword_ = replay.codeword_for_cell(offset, WindowBits);
    EQINFO_INVARIANT(codeword_.size() == WindowBits, "window codeword is not exactly b bits");
  }

  Encoder encoder_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> steps_;  // (cumulative, frequency) of each accepted symbol
  std::size_t best_k_ = 0;
  std::uint32_t best_cum_ = 0;
  bool best_is_eos_ = false;
  std::size_t greedy_k_ = 0;
  BitVector codeword_;
};

// Reads one window back: feed it the prediction for the next symbol, get the
// symbol, or nullopt once the window holds no more.
template <unsigned WindowBits, unsigned FrequencyBits, unsigned StateBits = kDefaultStateBits>
class EqualInfoWindowDecoder {
  static_assert(StateBits >= FrequencyBits + 2, "the window step bound (kMaxWindowSymbols) needs StateBits >= FrequencyBits + 2");

 public:
  using Table = FrequencyTable<FrequencyBits>;

  // The window is bits[begin, begin + WindowBits).
  void begin(const BitVector& bits, std::size_t begin) {
    low_point_.reset({&bits, begin, begin + WindowBits, false});  // c.000...
    high_point_.reset({&bits, begin, begin + WindowBits, true});  // c.111... = just below (c+1) 2^-b
    steps_ = 0;
    done_ = false;
  }

  std::optional<Symbol> next(const Table& table) {
    if (done_) return std::nullopt;
    const Symbol s = low_point_.peek(table);
    if (s != high_point_.peek(table) || steps_ == kMaxWindowSymbols<WindowBits, FrequencyBits>) {
      done_ = true;  // the cell straddles a boundary: the window ends here
      return std::nullopt;
    }
    low_point_.consume(table, s);
    high_point_.consume(table, s);
    ++steps_;
    if (s == kEos) done_ = true;
    return s;
  }

  [[nodiscard]] bool done() const noexcept { return done_; }

 private:
  ArithmeticDecoder<StateBits, FrequencyBits> low_point_, high_point_;
  std::size_t steps_ = 0;
  bool done_ = false;
};

}  // namespace eqinfo
