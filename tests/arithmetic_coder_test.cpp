// Tests for include/eqinfo/arithmetic_coder.hpp: exact interval arithmetic
// (checked against unsigned __int128), round trips under arbitrary
// continuations, exact and minimal termination, and golden codewords.
// One generic body runs over many (StateBits Q, FrequencyBits P) pairs.
#include "eqinfo/arithmetic_coder.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "eqinfo/invariants.hpp"
#include "test_support.hpp"

using eqinfo::ArithmeticDecoder;
using eqinfo::ArithmeticEncoder;
using eqinfo::BitSource;
using eqinfo::BitVector;
using eqinfo::FrequencyTable;
using eqinfo::kAlphabetSize;
using eqinfo::kEos;
using eqinfo::Symbol;

namespace {

using u128 = unsigned __int128;

template <unsigned Q, unsigned P>
struct Precision {
  static constexpr unsigned kStateBits = Q;
  static constexpr unsigned kFrequencyBits = P;
};

using eqinfo_test::bits_to_string;
using eqinfo_test::string_to_bits;

u128 bits_value(const BitVector& v) {
  EQINFO_FAST_REQUIRE(v.size() <= 127);
  u128 x = 0;
  for (std::size_t i = 0; i < v.size(); ++i) x = (x << 1) | static_cast<u128>(v[i]);
  return x;
}

// The encoder's interval [low, low + range) in units of 2^-scale, where
// scale = emitted bits + Q.  Exact as long as scale <= 126.
struct ExactInterval {
  u128 low = 0;
  u128 range = 0;
  std::size_t scale = 0;
};

template <class Encoder, unsigned Q>
ExactInterval exact_interval(const Encoder& e) {
  ExactInterval x;
  x.scale = e.emitted_bits() + Q;
  EQINFO_FAST_REQUIRE(x.scale <= 126);
  x.low = (bits_value(e.emitted()) << Q) + e.low();
  x.range = e.range();
  return x;
}

// Smallest m such that some m-bit dyadic cell lies inside the interval, and
// the index of the lowest such cell (brute force over m).
struct ShortestCell {
  std::size_t bits = 0;
  u128 index = 0;
};

ShortestCell shortest_cell(const ExactInterval& x) {
  for (std::size_t m = 0; m <= x.scale; ++m) {
    const std::size_t t = x.scale - m;  // cell = 2^t units
    const u128 cell = u128{1} << t;
    const u128 first = (x.low + cell - 1) >> t;  // ceil(low / 2^t)
    if (((first << t) + cell) <= x.low + x.range) return {m, first};
  }
  FAIL("no cell inside the interval");
  return {};
}

template <unsigned P>
FrequencyTable<P> skewed_table(Symbol peak) {
  return eqinfo_test::peaked_table<P>(peak);
}

// A random valid table of one of several shapes.
template <unsigned P>
FrequencyTable<P> random_table(std::mt19937_64& rng) {
  switch (rng() % 5) {
    case 0:
      return FrequencyTable<P>{};
    case 1: {  // extremely skewed: one symbol 2^P - 256, the rest 1
      return skewed_table<P>(static_cast<Symbol>(rng() % kAlphabetSize));
    }
    case 2: {  // random dense counts
      std::array<std::uint64_t, kAlphabetSize> c;
      for (auto& x : c) x = rng() % 1000;
      return FrequencyTable<P>::from_counts(c);
    }
    case 3: {  // a few heavy symbols
      std::array<std::uint64_t, kAlphabetSize> c{};
      for (int i = 0; i < 4; ++i) c[rng() % kAlphabetSize] = 1 + rng() % 100000;
      return FrequencyTable<P>::from_counts(c);
    }
    default: {  // heavy-tailed counts
      std::array<std::uint64_t, kAlphabetSize> c;
      for (auto& x : c) x = (rng() >> (rng() % 64)) >> 20;
      return FrequencyTable<P>::from_counts(c);
    }
  }
}

// A symbol drawn from the table's own distribution (so skewed tables give long
// runs of the likely symbol), or uniformly, or the least likely one.
template <unsigned P>
Symbol pick_symbol(const FrequencyTable<P>& t, std::mt19937_64& rng, int how) {
  switch (how) {
    case 0:
      return t.symbol_for(static_cast<std::uint32_t>(rng() % FrequencyTable<P>::kTotal));
    case 1:
      return static_cast<Symbol>(rng() % kAlphabetSize);
    default: {
      Symbol best = 0;
      for (std::size_t s = 0; s < kAlphabetSize; ++s)
        if (t.frequency(static_cast<Symbol>(s)) < t.frequency(best)) best = static_cast<Symbol>(s);
      return best;
    }
  }
}

template <class Encoder>
void check_termination_accounting(const Encoder& e) {
  const BitVector word = e.terminate();
  EQINFO_FAST_REQUIRE(word.size() == e.termination_bits());
  EQINFO_FAST_REQUIRE(e.termination_bits() >= e.emitted_bits());
  EQINFO_FAST_REQUIRE(e.termination_bits() - e.emitted_bits() <= 2);
}

}  // namespace

TEMPLATE_TEST_CASE("Arithmetic coder: exact intervals, round trips, minimal termination", "[arithmetic_coder]",
                   (Precision<16, 9>), (Precision<24, 12>), (Precision<32, 14>), (Precision<32, 16>),
                   (Precision<40, 20>), (Precision<48, 14>), (Precision<39, 24>)) {
  constexpr unsigned Q = TestType::kStateBits;
  constexpr unsigned P = TestType::kFrequencyBits;
  using Encoder = ArithmeticEncoder<Q, P>;
  using Decoder = ArithmeticDecoder<Q, P>;
  using Table = FrequencyTable<P>;
  std::mt19937_64 rng(Q * 100 + P);

  SECTION("the empty message terminates in 0 bits") {
    Encoder e;
    e.reset();
    CHECK(e.emitted_bits() == 0);
    CHECK(e.low() == 0);
    CHECK(e.range() == Encoder::kFull);
    CHECK(e.termination_bits() == 0);
    CHECK(e.terminate().size() == 0);
  }

  SECTION("every step narrows to exactly the symbol's child, and termination is exact and minimal") {
    // Messages short enough that the whole interval fits in unsigned __int128.
    std::size_t carries = 0, steps = 0;
    for (int trial = 0; trial < 150; ++trial) {
      const bool fixed_table = trial % 2 == 0;
      Table table = random_table<P>(rng);
      const int how = static_cast<int>(rng() % 3);
      Encoder e;
      e.reset();
      for (int step = 0; step < 120 && e.emitted_bits() + Q + P + 2 <= 126; ++step) {
        if (!fixed_table) table = random_table<P>(rng);
        const Symbol s = pick_symbol(table, rng, how);
        const ExactInterval before = exact_interval<Encoder, Q>(e);
        const BitVector emitted_before = e.emitted();
        e.encode(table, s);
        ++steps;
        // Invariants, independently of the library's own checks.
        EQINFO_FAST_REQUIRE(e.range() > Encoder::kHalf);
        EQINFO_FAST_REQUIRE(e.range() <= Encoder::kFull);
        EQINFO_FAST_REQUIRE(e.low() < Encoder::kFull);
        const ExactInterval after = exact_interval<Encoder, Q>(e);
        EQINFO_FAST_REQUIRE(after.scale >= before.scale);
        const std::size_t grow = after.scale - before.scale;
        const u128 lo = (before.range * table.low(s)) >> P;
        const u128 hi = (before.range * (table.low(s) + table.frequency(s))) >> P;
        EQINFO_FAST_REQUIRE(after.low == ((before.low + lo) << grow));
        EQINFO_FAST_REQUIRE(after.range == ((hi - lo) << grow));
        EQINFO_FAST_REQUIRE(after.low + after.range <= (u128{1} << after.scale));  // inside [0, 1)
        // A carry changed a bit that had already been emitted.
        for (std::size_t i = 0; i < emitted_before.size(); ++i)
          if (emitted_before[i] != e.emitted()[i]) {
            ++carries;
            break;
          }
        // Exact and minimal termination.
        check_termination_accounting(e);
        const ShortestCell best = shortest_cell(after);
        EQINFO_FAST_REQUIRE(e.termination_bits() == best.bits);
        EQINFO_FAST_REQUIRE(bits_value(e.terminate()) == best.index);
      }
    }
    INFO("steps " << steps << ", steps with a carry " << carries);
    CHECK(steps > 1500);  // the loop really ran
    CHECK(carries > 0);  // the carry path was exercised
  }

  SECTION("codeword + any continuation decodes to the message") {
    for (int trial = 0; trial < 60; ++trial) {
      const bool fixed_table = trial % 2 == 0;
      const int how = static_cast<int>(rng() % 3);
      const std::size_t length = trial < 6 ? static_cast<std::size_t>(trial) : 1 + rng() % 400;
      std::vector<Table> tables;
      std::vector<Symbol> message;
      std::vector<std::size_t> emitted_after;
      std::vector<std::uint64_t> range_after;
      Table table = random_table<P>(rng);
      Encoder e;
      e.reset();
      for (std::size_t i = 0; i < length; ++i) {
        if (!fixed_table) table = random_table<P>(rng);
        const Symbol s = pick_symbol(table, rng, how);
        tables.push_back(table);
        message.push_back(s);
        e.encode(table, s);
        emitted_after.push_back(e.emitted_bits());
        range_after.push_back(e.range());
      }
      check_termination_accounting(e);
      const BitVector word = e.terminate();
      for (int continuation = 0; continuation < 4; ++continuation) {
        BitVector stream = word;
        const std::size_t extra = continuation == 0 ? 0 : rng() % 200;
        for (std::size_t i = 0; i < extra; ++i) stream.push_back(rng() & 1);
        const bool fill = continuation % 2 == 1;
        // Also decode from an offset inside a larger vector.
        BitVector shifted;
        const std::size_t offset = continuation == 3 ? 1 + rng() % 70 : 0;
        for (std::size_t i = 0; i < offset; ++i) shifted.push_back(rng() & 1);
        shifted.append(stream);
        Decoder d;
        d.reset(BitSource{&shifted, offset, shifted.size(), fill});
        for (std::size_t i = 0; i < length; ++i) {
          INFO("trial " << trial << " continuation " << continuation << " symbol " << i << " of " << length);
          EQINFO_FAST_REQUIRE(d.peek(tables[i]) == message[i]);
          EQINFO_FAST_REQUIRE(d.decode(tables[i]) == message[i]);
          EQINFO_FAST_REQUIRE(d.shifted_bits() == emitted_after[i]);
          EQINFO_FAST_REQUIRE(d.range() == range_after[i]);
        }
      }
    }
  }

  SECTION("long runs of the most likely symbol of a skewed table, then rare symbols") {
    const Table peaked = skewed_table<P>(kEos);
    const Table low_peak = skewed_table<P>(0);
    std::vector<const Table*> tables;
    std::vector<Symbol> message;
    Encoder e;
    e.reset();
    for (int block = 0; block < 6; ++block) {
      const Table& t = block % 2 ? peaked : low_peak;
      const Symbol likely = block % 2 ? kEos : 0;
      for (int i = 0; i < 3000; ++i) {
        tables.push_back(&t);
        message.push_back(likely);
      }
      for (int i = 0; i < 5; ++i) {
        tables.push_back(&t);
        message.push_back(static_cast<Symbol>(1 + rng() % 255));
      }
    }
    for (std::size_t i = 0; i < message.size(); ++i) e.encode(*tables[i], message[i]);
    check_termination_accounting(e);
    BitVector stream = e.terminate();
    for (int i = 0; i < 100; ++i) stream.push_back(rng() & 1);
    Decoder d;
    d.reset(BitSource{&stream, 0, stream.size(), true});
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < message.size(); ++i) mismatches += d.decode(*tables[i]) != message[i];
    CHECK(mismatches == 0);
  }
}

// Hidden tag: ctest runs it as arithmetic_coder_test.invariants, skipped in a
// build without the checks (a plain release build) rather than passing there.
TEST_CASE("Decoder invariant checks are active in this build and catch a wrong symbol", "[arithmetic_coder][.invariants]") {
  if constexpr (!EQINFO_CHECK_INVARIANTS) eqinfo_test::skip("invariant checks are off in this build (EQINFO_CHECK_INVARIANTS)");
  const FrequencyTable<14> table;
  ArithmeticEncoder<32, 14> e;
  e.reset();
  e.encode(table, 'a');
  const BitVector word = e.terminate();
  ArithmeticDecoder<32, 14> d;
  d.reset(BitSource{&word, 0, word.size(), false});
  REQUIRE(d.peek(table) == 'a');
  CHECK_THROWS_AS(d.consume(table, 'b'), std::logic_error);
}

TEST_CASE("BitSource reads a slice followed by its fill bit", "[arithmetic_coder]") {
  const BitVector v = string_to_bits("0110");
  const BitSource zeros{&v, 1, 3, false};
  CHECK(zeros.at(0) == true);
  CHECK(zeros.at(1) == true);
  CHECK(zeros.at(2) == false);  // position 3 is past `end`, although v has it
  CHECK(zeros.at(50) == false);
  const BitSource ones{&v, 3, 3, true};
  CHECK(ones.at(0) == true);
}

// Golden codewords.  Generated once, with the library at commit 99167ec, by a
// scratch program holding verbatim copies of golden_codeword() and
// golden_skewed_codeword() below that printed each result; the strings were
// pasted here (64 bits per line) so that any change to the coder's
// arithmetic, rounding, carry handling or termination fails this test.
namespace {
constexpr std::string_view kGoldenText = "Equal-Info windows: b bits each, no look-ahead.";

template <unsigned P>
FrequencyTable<P> golden_table() {
  std::array<std::uint64_t, kAlphabetSize> counts{};
  for (std::size_t s = 0; s < kAlphabetSize; ++s) counts[s] = (s * 37) % 101;  // some zero counts
  for (unsigned char c : kGoldenText) counts[c] += 50;
  counts[kEos] = 3;
  return FrequencyTable<P>::from_counts(counts);
}

template <unsigned Q, unsigned P>
std::string golden_codeword(std::string_view text) {
  const auto table = golden_table<P>();
  ArithmeticEncoder<Q, P> e;
  e.reset();
  for (unsigned char c : text) e.encode(table, c);
  e.encode(table, kEos);
  return bits_to_string(e.terminate());
}

// A skewed table and a message of mostly-likely symbols, so carries occur.
template <unsigned Q, unsigned P>
std::string golden_skewed_codeword() {
  const auto table = skewed_table<P>(128);
  ArithmeticEncoder<Q, P> e;
  e.reset();
  std::uint64_t x = 12345;
  for (int i = 0; i < 400; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;  // fixed LCG, no std:: distribution
    e.encode(table, (x >> 60) == 0 ? static_cast<Symbol>((x >> 40) % kAlphabetSize) : Symbol{128});
  }
  return bits_to_string(e.terminate());
}
}  // namespace

TEST_CASE("Golden codewords", "[arithmetic_coder][golden]") {
  CHECK(golden_codeword<32, 16>(kGoldenText) == "0100010011101110011101111011011001011000001101101011100010110001"
        "1011111100110111011100101111101011010100000111010010101111000100"
        "0101111111110001000001000110111110110011100101000000001011010100"
        "1000100000010000011001000001100101001101111010011000110010110101"
        "010001101100011110010000010001110101100000001110111001011111011");
  CHECK(golden_codeword<24, 12>(kGoldenText) == "0100010011111000011000010001010100101001000001011100100010100000"
        "0011111010101101101101011101011011110101111010101001001001101100"
        "1001111011111001011000000001001101100010110001010010011111010111"
        "0110010010111001111111010101011011000101111011100101001110011010"
        "0000111101101110110100100100111100110111100011010110000111100001");
  CHECK(golden_codeword<16, 9>(kGoldenText) == "0100010101111000101111010001100000110010010101010110111001110011"
        "1100101011010000001110000111001001010110010101100001001110001101"
        "1011101000011100001000101101110101111011011011110100010011010001"
        "0110110001011010011001100110111111100001011011100100100010010110"
        "1110000001000101101000101111100111011111011001100001001001000110"
        "011100100101101110011");
  CHECK(golden_codeword<32, 14>("") == "111111111111");
  CHECK(golden_skewed_codeword<32, 14>() == "0010001011001010010000100000101000101101000110111101000111100100"
        "0010000100010000000101101000011111000111011110111011010101001001"
        "1100010101001010001111110011101000000100011001110110001010110110"
        "1100111100011100000111001001011100110101111001011111000100110001"
        "01000011000011111011010001110111011110001110010000010100000101");
  CHECK(golden_skewed_codeword<48, 14>() == "0010001011001010010000100001000111110001111001101110011100111110"
        "0101100100000011100000101001100100001010010111100111001100000110"
        "1111110011011000101101111010001111011010110111110101101010000011"
        "1111000011101000011011011100101000001010100001010110010110101001"
        "00000111100111001111111101100011010010100101110000110001100010");
}
