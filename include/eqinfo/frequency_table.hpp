// FrequencyTable<P>: the only thing that crosses the model -> coder boundary.
//
// A table holds one integer frequency per symbol of the 257-symbol alphabet.
// Frequencies sum to exactly 2^P and each is >= 1, so every symbol stays
// codable and the coder never has to normalise anything itself.  Keeping the
// boundary integer-only is what makes encoder and decoder agree bit for bit.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>

#include "eqinfo/symbols.hpp"

namespace eqinfo {

template <unsigned FrequencyBits>
class FrequencyTable {
  // 2^P must leave room for the floor of 1 on each of the 257 symbols; the
  // coder's 64-bit products cap P from above (see ArithmeticEncoder).
  static_assert(FrequencyBits >= 9 && FrequencyBits <= 24, "FrequencyBits must be in [9, 24]");

 public:
  static constexpr unsigned kBits = FrequencyBits;
  static constexpr std::uint32_t kTotal = std::uint32_t{1} << FrequencyBits;

  // The uniform-as-possible table: 2^P split over 257 symbols, the remainder
  // going to the lowest symbols.
  FrequencyTable() {
    std::array<std::uint32_t, kAlphabetSize> f;
    for (std::size_t s = 0; s < kAlphabetSize; ++s)
      f[s] = kTotal / kAlphabetSize + (s < kTotal % kAlphabetSize ? 1u : 0u);
    set_frequencies(f);
  }

  // Validates and installs a table.  Throws std::invalid_argument on a zero
  // frequency or a sum other than 2^P: a model bug must not become a silent
  // decoding failure.
  void set_frequencies(std::span<const std::uint32_t, kAlphabetSize> freq) {
    std::uint64_t sum = 0;
    for (std::size_t s = 0; s < kAlphabetSize; ++s) {
      if (freq[s] == 0) throw std::invalid_argument("FrequencyTable: symbol " + std::to_string(s) + " has frequency 0");
      cumulative_[s] = static_cast<std::uint32_t>(sum);
      sum += freq[s];
    }
    if (sum != kTotal)
      throw std::invalid_argument("FrequencyTable: frequencies sum to " + std::to_string(sum) + ", expected 2^" +
                                  std::to_string(FrequencyBits));
    cumulative_[kAlphabetSize] = kTotal;
  }

  // Order-0 quantisation of arbitrary non-negative counts into a valid table:
  // every symbol gets 1, the other 2^P - 257 are shared in proportion to the
  // counts (floor), and the few left over go to the largest remainders, ties
  // to the lower symbol.  Integer-only, so every platform gets the same table.
  static FrequencyTable from_counts(std::span<const std::uint64_t, kAlphabetSize> counts) {
    const unsigned __int128 total = std::accumulate(counts.begin(), counts.end(), static_cast<unsigned __int128>(0));
    if (total == 0) return FrequencyTable{};
    constexpr std::uint64_t budget = kTotal - kAlphabetSize;
    std::array<std::uint32_t, kAlphabetSize> f;
    std::array<unsigned __int128, kAlphabetSize> remainder;
    std::uint64_t used = 0;
    for (std::size_t s = 0; s < kAlphabetSize; ++s) {
      const unsigned __int128 scaled = static_cast<unsigned __int128>(counts[s]) * budget;
      f[s] = 1 + static_cast<std::uint32_t>(scaled / total);
      remainder[s] = scaled % total;
      used += f[s];
    }
    std::array<std::uint16_t, kAlphabetSize> order;
    std::iota(order.begin(), order.end(), std::uint16_t{0});
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return remainder[a] > remainder[b]; });
    for (std::size_t i = 0; used < kTotal; ++i, ++used) ++f[order[i]];
    FrequencyTable table;
    table.set_frequencies(f);
    return table;
  }

  [[nodiscard]] std::uint32_t low(Symbol s) const noexcept { return cumulative_[s]; }
  [[nodiscard]] std::uint32_t frequency(Symbol s) const noexcept { return cumulative_[s + 1] - cumulative_[s]; }
  // cumulative(i) = sum of the frequencies of symbols < i; i in [0, 257].
  [[nodiscard]] std::uint32_t cumulative(std::size_t i) const noexcept { return cumulative_[i]; }

  // The symbol s with cumulative(s) <= target < cumulative(s + 1).
  [[nodiscard]] Symbol symbol_for(std::uint32_t target) const noexcept {
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
    return static_cast<Symbol>(it - cumulative_.begin() - 1);
  }

  friend bool operator==(const FrequencyTable&, const FrequencyTable&) = default;

 private:
  std::array<std::uint32_t, kAlphabetSize + 1> cumulative_{};
};

}  // namespace eqinfo
