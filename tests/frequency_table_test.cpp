// Tests for include/eqinfo/frequency_table.hpp: validation, the order-0
// quantiser from_counts, and symbol lookup, over many precisions P.
#include "eqinfo/frequency_table.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>

using eqinfo::FrequencyTable;
using eqinfo::kAlphabetSize;
using eqinfo::Symbol;

namespace {

using Counts = std::array<std::uint64_t, kAlphabetSize>;
using Freqs = std::array<std::uint32_t, kAlphabetSize>;

template <unsigned P>
void check_valid(const FrequencyTable<P>& t) {
  REQUIRE(t.cumulative(0) == 0);
  REQUIRE(t.cumulative(kAlphabetSize) == (std::uint32_t{1} << P));
  std::uint64_t sum = 0;
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    REQUIRE(t.frequency(static_cast<Symbol>(s)) >= 1);
    REQUIRE(t.low(static_cast<Symbol>(s)) == t.cumulative(s));
    REQUIRE(t.cumulative(s + 1) == t.cumulative(s) + t.frequency(static_cast<Symbol>(s)));
    sum += t.frequency(static_cast<Symbol>(s));
  }
  REQUIRE(sum == (std::uint64_t{1} << P));
}

// Independent model of from_counts' contract: floor share of 2^P - 257 in
// proportion to the counts, plus 1 each, plus 1 for the largest remainders
// (ties to the lower symbol).  Written with a plain O(n^2) selection instead
// of sorting.
template <unsigned P>
Freqs reference_quantise(const Counts& counts) {
  unsigned __int128 total = 0;
  for (auto c : counts) total += c;
  Freqs f{};
  const std::uint64_t budget = (std::uint64_t{1} << P) - kAlphabetSize;
  std::array<unsigned __int128, kAlphabetSize> rem{};
  std::uint64_t used = 0;
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    const unsigned __int128 scaled = static_cast<unsigned __int128>(counts[s]) * budget;
    f[s] = static_cast<std::uint32_t>(1 + scaled / total);
    rem[s] = scaled % total;
    used += f[s];
  }
  std::array<bool, kAlphabetSize> taken{};
  while (used < (std::uint64_t{1} << P)) {
    std::size_t best = kAlphabetSize;
    for (std::size_t s = 0; s < kAlphabetSize; ++s)
      if (!taken[s] && (best == kAlphabetSize || rem[s] > rem[best])) best = s;
    taken[best] = true;
    ++f[best];
    ++used;
  }
  return f;
}

}  // namespace

TEMPLATE_TEST_CASE("FrequencyTable properties hold at every precision", "[frequency_table]",
                   (std::integral_constant<unsigned, 9>), (std::integral_constant<unsigned, 12>),
                   (std::integral_constant<unsigned, 14>), (std::integral_constant<unsigned, 16>),
                   (std::integral_constant<unsigned, 20>), (std::integral_constant<unsigned, 24>)) {
  constexpr unsigned P = TestType::value;
  using Table = FrequencyTable<P>;
  constexpr std::uint32_t total = std::uint32_t{1} << P;
  STATIC_REQUIRE(Table::kTotal == total);
  STATIC_REQUIRE(Table::kBits == P);
  std::mt19937_64 rng(P);

  SECTION("the default table is valid and as uniform as possible, remainder to the lowest symbols") {
    const Table t;
    check_valid(t);
    const std::uint32_t base = total / kAlphabetSize, extra = total % kAlphabetSize;
    for (std::size_t s = 0; s < kAlphabetSize; ++s)
      REQUIRE(t.frequency(static_cast<Symbol>(s)) == base + (s < extra ? 1u : 0u));
  }

  SECTION("set_frequencies installs a valid table exactly") {
    Freqs f;
    f.fill(1);
    f[200] = total - 256;
    Table t;
    t.set_frequencies(f);
    check_valid(t);
    for (std::size_t s = 0; s < kAlphabetSize; ++s) REQUIRE(t.frequency(static_cast<Symbol>(s)) == f[s]);
    CHECK(t.low(201) == 200 + (total - 256));
  }

  SECTION("set_frequencies rejects a zero frequency, naming the symbol") {
    Freqs f;
    f.fill(1);
    f[0] = total - 256;  // sum is right ...
    f[17] = 0;           // ... but symbol 17 is uncodable
    f[18] = 2;
    Table t;
    CHECK_THROWS_WITH(t.set_frequencies(f), Catch::Matchers::Contains("symbol 17") && Catch::Matchers::Contains("frequency 0"));
    CHECK_THROWS_AS(t.set_frequencies(f), std::invalid_argument);
  }

  SECTION("set_frequencies rejects sums other than 2^P, saying what the sum was") {
    Freqs f;
    f.fill(1);
    f[5] = total - 256 + 1;  // one too many
    Table t;
    CHECK_THROWS_AS(t.set_frequencies(f), std::invalid_argument);
    CHECK_THROWS_WITH(t.set_frequencies(f), Catch::Matchers::Contains(std::to_string(total + 1)) &&
                                                 Catch::Matchers::Contains("2^" + std::to_string(P)));
    f[5] = total - 256 - 1;  // one too few
    CHECK_THROWS_WITH(t.set_frequencies(f), Catch::Matchers::Contains(std::to_string(total - 1)));
  }

  SECTION("from_counts: valid, every symbol >= 1, matches the reference quantiser") {
    for (int trial = 0; trial < 40; ++trial) {
      Counts counts{};
      const int shape = trial % 5;
      for (auto& c : counts) {
        switch (shape) {
          case 0: c = rng() % 1000; break;                          // dense
          case 1: c = (rng() % 10 == 0) ? rng() % 100000 : 0; break;  // sparse
          case 2: c = rng() % 3; break;                              // tiny
          case 3: c = rng() >> (rng() % 64); break;                  // huge, up to 2^64-1
          default: c = 7; break;                                     // all equal (ties everywhere)
        }
      }
      if (shape == 1) counts[rng() % kAlphabetSize] = 1;  // never all zero
      const Table t = Table::from_counts(counts);
      check_valid(t);
      const Freqs expected = reference_quantise<P>(counts);
      for (std::size_t s = 0; s < kAlphabetSize; ++s) {
        INFO("trial " << trial << " symbol " << s);
        REQUIRE(t.frequency(static_cast<Symbol>(s)) == expected[s]);
      }
    }
  }

  SECTION("from_counts is proportional: each share is within 1 of the exact share") {
    for (int trial = 0; trial < 20; ++trial) {
      Counts counts{};
      for (auto& c : counts) c = rng() % 5000;
      long double sum = 0;
      for (auto c : counts) sum += static_cast<long double>(c);
      const Table t = Table::from_counts(counts);
      const long double budget = static_cast<long double>(total - kAlphabetSize);
      for (std::size_t s = 0; s < kAlphabetSize; ++s) {
        const long double exact = 1 + static_cast<long double>(counts[s]) * budget / sum;
        const long double got = t.frequency(static_cast<Symbol>(s));
        // floor(exact share) + 1 + (0 or 1 from the leftover) lies strictly within 1 of it.
        REQUIRE(got > exact - 1);
        REQUIRE(got < exact + 1);
      }
      // A symbol counted more never gets less.
      std::size_t inversions = 0;
      for (std::size_t a = 0; a < kAlphabetSize; ++a)
        for (std::size_t b = 0; b < kAlphabetSize; ++b)
          inversions += counts[a] > counts[b] && t.frequency(static_cast<Symbol>(a)) < t.frequency(static_cast<Symbol>(b));
      REQUIRE(inversions == 0);
    }
  }

  SECTION("from_counts breaks remainder ties toward the lower symbol, deterministically") {
    Counts counts;
    counts.fill(1);  // every remainder equal: the leftover goes to symbols 0, 1, ...
    const Table t = Table::from_counts(counts);
    const std::uint32_t budget = total - kAlphabetSize;
    const std::uint32_t base = 1 + budget / kAlphabetSize;
    const std::uint32_t leftover = budget % kAlphabetSize;
    for (std::size_t s = 0; s < kAlphabetSize; ++s)
      REQUIRE(t.frequency(static_cast<Symbol>(s)) == base + (s < leftover ? 1u : 0u));
    // Counts only on high symbols: ties among them still go low-first.
    Counts high{};
    high[250] = high[251] = high[252] = 1;
    const Table h = Table::from_counts(high);
    const std::uint32_t share = budget / 3, left = budget % 3;
    CHECK(h.frequency(250) == 1 + share + (left > 0 ? 1u : 0u));
    CHECK(h.frequency(251) == 1 + share + (left > 1 ? 1u : 0u));
    CHECK(h.frequency(252) == 1 + share);
    CHECK(h.frequency(0) == 1);
    CHECK(h.frequency(256) == 1);
    // Same counts, same table, every time.
    CHECK(Table::from_counts(high) == h);
    CHECK(Table::from_counts(counts) == t);
  }

  SECTION("from_counts of all-zero counts is the default (uniform) table") {
    const Counts zero{};
    CHECK(Table::from_counts(zero) == Table{});
  }

  SECTION("from_counts of a single counted symbol gives it everything but the floor") {
    Counts one{};
    one[42] = 123456789;
    const Table t = Table::from_counts(one);
    CHECK(t.frequency(42) == total - 256);
    for (std::size_t s = 0; s < kAlphabetSize; ++s)
      if (s != 42) REQUIRE(t.frequency(static_cast<Symbol>(s)) == 1);
  }

  SECTION("symbol_for is exact on every boundary") {
    Counts counts{};
    for (auto& c : counts) c = rng() % 300;
    for (const Table& t : {Table{}, Table::from_counts(counts)}) {
      for (std::size_t s = 0; s < kAlphabetSize; ++s) {
        const Symbol sym = static_cast<Symbol>(s);
        const std::uint32_t lo = t.cumulative(s), hi = t.cumulative(s + 1);
        REQUIRE(t.symbol_for(lo) == sym);
        REQUIRE(t.symbol_for(hi - 1) == sym);
        REQUIRE(t.symbol_for(lo + (hi - lo) / 2) == sym);
        if (s > 0) REQUIRE(t.symbol_for(lo - 1) == sym - 1);
      }
      REQUIRE(t.symbol_for(0) == 0);
      REQUIRE(t.symbol_for(total - 1) == 256);
    }
  }
}

TEST_CASE("FrequencyTable equality distinguishes tables", "[frequency_table]") {
  Counts a{}, b{};
  a[1] = 10;
  b[2] = 10;
  CHECK(FrequencyTable<14>::from_counts(a) != FrequencyTable<14>::from_counts(b));
  CHECK(FrequencyTable<14>::from_counts(a) == FrequencyTable<14>::from_counts(a));
}
