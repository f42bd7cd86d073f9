// Tests for include/eqinfo/bit_chunker.hpp: bits <-> N-bit tokens, MSB first,
// zero-padded last token, invalid-token detection.
#include "eqinfo/bit_chunker.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

using eqinfo::BitChunker;
using eqinfo::BitVector;
using eqinfo::Token;

namespace {

template <unsigned N>
void check_chunker(std::mt19937_64& rng) {
  const BitChunker chunker(N);
  REQUIRE(chunker.token_bits() == N);
  REQUIRE(chunker.vocabulary_size() == (std::size_t{1} << N));
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t length = trial < 20 ? static_cast<std::size_t>(trial) : rng() % 500;
    std::string ref;
    for (std::size_t i = 0; i < length; ++i) ref += (rng() & 1) ? '1' : '0';
    const BitVector bits = eqinfo_test::string_to_bits(ref);
    const std::vector<Token> tokens = chunker.chunk(bits);
    INFO("N " << N << ", " << length << " bits");
    // ceil(length / N) tokens, each < 2^N, spelling the bits MSB first.
    REQUIRE(tokens.size() == (length + N - 1) / N);
    std::string spelled;
    for (Token t : tokens) {
      REQUIRE(t < (1u << N));
      for (unsigned b = N; b-- > 0;) spelled += ((t >> b) & 1) ? '1' : '0';
    }
    // The last token is zero-padded.
    REQUIRE(spelled.size() == tokens.size() * N);
    REQUIRE(spelled.substr(0, length) == ref);
    REQUIRE(spelled.substr(length) == std::string(spelled.size() - length, '0'));
    // Unchunking appends exactly those bits.
    BitVector back;
    back.push_back(true);  // appends to what is already there
    REQUIRE(chunker.unchunk(tokens, back) == tokens.size());
    REQUIRE(eqinfo_test::bits_to_string(back) == "1" + spelled);
  }
}

template <unsigned... N>
void check_all(std::mt19937_64& rng, std::integer_sequence<unsigned, N...>) {
  (check_chunker<N + 1>(rng), ...);
}

}  // namespace

TEST_CASE("BitChunker round-trips bits for every N in 1..16", "[bit_chunker]") {
  std::mt19937_64 rng(1);
  check_all(rng, std::make_integer_sequence<unsigned, 16>{});
}

TEST_CASE("BitChunker token values for known bit patterns", "[bit_chunker]") {
  const BitVector bits = eqinfo_test::string_to_bits("1011001110001111");
  CHECK(BitChunker(16).chunk(bits) == std::vector<Token>{0xB38F});
  CHECK(BitChunker(8).chunk(bits) == std::vector<Token>{0xB3, 0x8F});
  CHECK(BitChunker(5).chunk(bits) == std::vector<Token>{0b10110, 0b01110, 0b00111, 0b10000});
  CHECK(BitChunker(1).chunk(eqinfo_test::string_to_bits("101")) == std::vector<Token>{1, 0, 1});
  CHECK(BitChunker(12).chunk(BitVector{}).empty());
}

TEST_CASE("unchunk stops at the first token that does not fit in N bits", "[bit_chunker]") {
  std::mt19937_64 rng(2);
  for (unsigned n = 1; n <= 15; ++n) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<Token> tokens(1 + rng() % 30);
      for (auto& t : tokens) t = static_cast<Token>(rng() % (1u << n));
      const std::size_t bad = rng() % tokens.size();
      tokens[bad] = static_cast<Token>((1u << n) + rng() % ((1u << 16) - (1u << n)));  // >= 2^N
      if (trial % 2) tokens.push_back(static_cast<Token>(1u << n));  // a second bad one after it
      BitVector bits;
      INFO("n " << n << " bad index " << bad);
      REQUIRE(eqinfo::unchunk_tokens(tokens, n, bits) == bad);
      REQUIRE(bits.size() == bad * n);  // the tokens before it were appended
      for (std::size_t t = 0; t < bad; ++t) REQUIRE(bits.read_bits(t * n, n) == tokens[t]);
    }
  }
  // N = 16: every 16-bit value fits.
  const std::vector<Token> all_ones{0xFFFF, 0xFFFF};
  BitVector bits;
  CHECK(eqinfo::unchunk_tokens(all_ones, 16, bits) == 2);
  CHECK(bits.size() == 32);
  CHECK(bits.ones() == 32);
  // Largest valid value for N = 5 is accepted; 32 is not.
  BitVector five;
  CHECK(BitChunker(5).unchunk(std::vector<Token>{31, 32}, five) == 1);
  CHECK(eqinfo_test::bits_to_string(five) == "11111");
}

TEST_CASE("Runtime token bits outside [1, 16] are rejected", "[bit_chunker]") {
  const BitVector bits = eqinfo_test::string_to_bits("1010");
  BitVector out;
  for (unsigned bad : {0u, 17u, 32u}) {
    INFO("N " << bad);
    CHECK_THROWS_AS(eqinfo::chunk_bits(bits, bad), std::invalid_argument);
    CHECK_THROWS_WITH(eqinfo::check_token_bits(bad), Catch::Matchers::Contains(std::to_string(bad)) &&
                                                       Catch::Matchers::Contains("[1, 16]"));
    CHECK_THROWS_AS(eqinfo::unchunk_tokens(std::vector<Token>{1}, bad, out), std::invalid_argument);
  }
  CHECK_NOTHROW(eqinfo::check_token_bits(1));
  CHECK_NOTHROW(eqinfo::check_token_bits(16));
}
