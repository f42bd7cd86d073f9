// Tests for include/eqinfo/bit_vector.hpp: the MSB-first growable bit
// sequence, its append/read helpers and the carry-propagating increment.
#include "eqinfo/bit_vector.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using eqinfo::BitVector;

namespace {

BitVector from_string(const std::string& s) {
  BitVector v;
  for (char c : s) v.push_back(c == '1');
  return v;
}

std::string to_string(const BitVector& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += v[i] ? '1' : '0';
  return s;
}

// Reference increment on a string of '0'/'1' (MSB first).
std::string increment_string(std::string s) {
  std::size_t i = s.size();
  while (i > 0 && s[i - 1] == '1') s[--i] = '0';
  REQUIRE(i > 0);
  s[i - 1] = '1';
  return s;
}

std::size_t count_ones(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '1';
  return n;
}

}  // namespace

TEST_CASE("A new BitVector is empty", "[bit_vector]") {
  BitVector v;
  CHECK(v.empty());
  CHECK(v.size() == 0);
  CHECK(v.ones() == 0);
  CHECK(v == BitVector{});
  CHECK(v.get_or(0, true));
  CHECK_FALSE(v.get_or(0, false));
  CHECK(v.read_bits(0, 64) == 0);
}

TEST_CASE("push_back stores bits most significant first and counts ones", "[bit_vector]") {
  std::mt19937_64 rng(1);
  for (std::size_t length : {1u, 7u, 63u, 64u, 65u, 127u, 128u, 129u, 1000u}) {
    std::string ref;
    BitVector v;
    for (std::size_t i = 0; i < length; ++i) {
      const bool bit = rng() & 1;
      ref += bit ? '1' : '0';
      v.push_back(bit);
    }
    CHECK(v.size() == length);
    CHECK_FALSE(v.empty());
    CHECK(v.ones() == count_ones(ref));
    CHECK(to_string(v) == ref);
  }
}

TEST_CASE("append_bits appends the low bits of a value, MSB first", "[bit_vector]") {
  BitVector v;
  v.append_bits(0b1011, 4);
  CHECK(to_string(v) == "1011");
  v.append_bits(0b1011, 2);  // only the low 2 bits: "11"
  CHECK(to_string(v) == "101111");
  v.append_bits(0xFFFF, 0);  // zero bits: nothing
  CHECK(v.size() == 6);
  v.append_bits(1, 3);
  CHECK(to_string(v) == "101111001");
  v.append_bits(~std::uint64_t{0}, 64);
  CHECK(v.size() == 73);
  CHECK(v.ones() == 6 + 64);  // "101111001" has 6 ones
  CHECK(v.read_bits(9, 64) == ~std::uint64_t{0});
}

TEST_CASE("read_bits reads any window across word boundaries, zeros past the end", "[bit_vector]") {
  std::mt19937_64 rng(2);
  std::string ref;
  BitVector v;
  for (int i = 0; i < 300; ++i) {
    const bool bit = rng() & 1;
    ref += bit ? '1' : '0';
    v.push_back(bit);
  }
  for (int trial = 0; trial < 2000; ++trial) {
    const std::size_t pos = rng() % 320;  // may start past the end
    const unsigned count = static_cast<unsigned>(rng() % 65);
    std::uint64_t expected = 0;
    for (unsigned i = 0; i < count; ++i)
      expected = (expected << 1) | static_cast<std::uint64_t>(pos + i < ref.size() && ref[pos + i] == '1');
    INFO("pos " << pos << " count " << count);
    REQUIRE(v.read_bits(pos, count) == expected);
  }
}

TEST_CASE("get_or reads past the end as the fill bit", "[bit_vector]") {
  const BitVector v = from_string("1010");
  for (bool fill : {false, true}) {
    CHECK(v.get_or(0, fill) == true);
    CHECK(v.get_or(1, fill) == false);
    CHECK(v.get_or(3, fill) == false);
    CHECK(v.get_or(4, fill) == fill);
    CHECK(v.get_or(1000, fill) == fill);
  }
}

TEST_CASE("append concatenates bit vectors of any lengths", "[bit_vector]") {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::string a, b;
    const std::size_t la = rng() % 150, lb = rng() % 150;
    for (std::size_t i = 0; i < la; ++i) a += (rng() & 1) ? '1' : '0';
    for (std::size_t i = 0; i < lb; ++i) b += (rng() & 1) ? '1' : '0';
    BitVector v = from_string(a);
    v.append(from_string(b));
    REQUIRE(to_string(v) == a + b);
    REQUIRE(v.ones() == count_ones(a + b));
    REQUIRE(v == from_string(a + b));
  }
}

TEST_CASE("increment adds one with carries across word boundaries", "[bit_vector]") {
  SECTION("simple carries") {
    BitVector v = from_string("0011");
    v.increment();
    CHECK(to_string(v) == "0100");
    CHECK(v.ones() == 1);
    v.increment();
    CHECK(to_string(v) == "0101");
    CHECK(v.ones() == 2);
  }
  SECTION("a carry running through a whole 64-bit word into the previous one") {
    // bit 63 is 0, bits 64..191 are 1: the carry crosses two word boundaries.
    std::string s(63, '1');
    s += '0';
    s += std::string(128, '1');
    BitVector v = from_string(s);
    v.increment();
    std::string expected(63, '1');
    expected += '1';
    expected += std::string(128, '0');
    CHECK(to_string(v) == expected);
    CHECK(v.ones() == 64);
    CHECK(v.size() == 192);
  }
  SECTION("carry stops exactly at a word boundary") {
    std::string s = std::string(64, '0') + std::string(64, '1');
    BitVector v = from_string(s);
    v.increment();
    CHECK(to_string(v) == std::string(63, '0') + "1" + std::string(64, '0'));
    CHECK(v.ones() == 1);
  }
  SECTION("random vectors against a string reference") {
    std::mt19937_64 rng(4);
    for (int trial = 0; trial < 300; ++trial) {
      const std::size_t length = 1 + rng() % 200;
      std::string s;
      for (std::size_t i = 0; i < length; ++i) s += (rng() & 1) ? '1' : '0';
      // Force long trailing runs of ones sometimes.
      if (trial % 3 == 0) {
        const std::size_t run = rng() % length;
        for (std::size_t i = length - run; i < length; ++i) s[i] = '1';
      }
      if (count_ones(s) == s.size()) s[0] = '0';
      BitVector v = from_string(s);
      v.increment();
      const std::string expected = increment_string(s);
      REQUIRE(to_string(v) == expected);
      REQUIRE(v.ones() == count_ones(expected));
      // Equality must still hold against a freshly built vector (unused bits stay zero).
      REQUIRE(v == from_string(expected));
    }
  }
}

TEST_CASE("increment of an all-ones (or empty) vector throws and leaves it intact", "[bit_vector]") {
  for (std::size_t length : {0u, 1u, 5u, 64u, 65u, 130u}) {
    BitVector v = from_string(std::string(length, '1'));
    INFO("length " << length);
    CHECK_THROWS_AS(v.increment(), std::logic_error);
    CHECK(to_string(v) == std::string(length, '1'));
    CHECK(v.ones() == length);
  }
}

TEST_CASE("Equality compares length and bits", "[bit_vector]") {
  CHECK(from_string("0") != from_string("00"));
  CHECK(from_string("") != from_string("0"));
  CHECK(from_string("101") == from_string("101"));
  CHECK(from_string("101") != from_string("100"));
  BitVector v = from_string("1111");
  v.clear();
  CHECK(v.empty());
  CHECK(v.ones() == 0);
  CHECK(v == BitVector{});
  v.push_back(false);
  CHECK(v == from_string("0"));
}
