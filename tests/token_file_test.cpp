// Tests for include/eqinfo/token_file.hpp: the 32-byte header + uint16 body
// (docs/formats.md), written and read through std::stringstream.
#include "eqinfo/token_file.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using eqinfo::Token;
using eqinfo::TokenFileHeader;

namespace {

TokenFileHeader sample_header() {
  TokenFileHeader h;
  h.method = 6;
  h.token_bits = 16;
  h.window_bits = 0x1234;
  h.frequency_bits = 14;
  h.fingerprint = 0x0123456789abcdefULL;
  return h;
}

std::string write(const TokenFileHeader& h, const std::vector<Token>& tokens) {
  std::ostringstream out(std::ios::binary);
  eqinfo::write_token_file(out, h, tokens);
  return out.str();
}

void put_le(std::string& s, std::size_t at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
}

// A stream that cannot seek, like a pipe: the reader cannot learn the body's
// size up front and must check the count as the bytes arrive.
class PipeBuf : public std::stringbuf {
 public:
  explicit PipeBuf(const std::string& bytes) : std::stringbuf(bytes, std::ios::in | std::ios::binary) {}

 protected:
  pos_type seekoff(off_type, std::ios::seekdir, std::ios::openmode) override { return pos_type(off_type(-1)); }
  pos_type seekpos(pos_type, std::ios::openmode) override { return pos_type(off_type(-1)); }
};

void check_read_fails(const std::string& bytes, const std::string& why) {
  std::vector<Token> tokens{1, 2, 3};
  INFO(bytes.size() << " bytes");
  std::istringstream in(bytes, std::ios::binary);
  CHECK_THROWS_AS(eqinfo::read_token_file(in, tokens), std::runtime_error);
  std::istringstream again(bytes, std::ios::binary);
  CHECK_THROWS_WITH(eqinfo::read_token_file(again, tokens), Catch::Matchers::Contains(why));
  PipeBuf pipe(bytes);
  std::istream from_pipe(&pipe);
  CHECK_THROWS_WITH(eqinfo::read_token_file(from_pipe, tokens), Catch::Matchers::Contains(why));
}

}  // namespace

TEST_CASE("Token files round-trip header and tokens", "[token_file]") {
  std::mt19937_64 rng(1);
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{1000}}) {
    std::vector<Token> tokens(count);
    for (auto& t : tokens) t = static_cast<Token>(rng());
    if (count >= 2) {
      tokens[0] = 0;
      tokens[1] = 0xFFFF;
    }
    TokenFileHeader h = sample_header();
    h.token_count = 99999;  // ignored: the writer stores tokens.size()
    const std::string bytes = write(h, tokens);
    REQUIRE(bytes.size() == 32 + 2 * count);
    std::istringstream in(bytes, std::ios::binary);
    std::vector<Token> back{7, 7, 7};
    const TokenFileHeader read = eqinfo::read_token_file(in, back);
    CHECK(back == tokens);
    TokenFileHeader expected = sample_header();
    expected.token_count = count;
    CHECK(read == expected);
  }
}

TEST_CASE("Token file layout is the documented one, byte for byte", "[token_file]") {
  const std::string bytes = write(sample_header(), {0x0102, 0xA0B0});
  const std::string expected_header =
      std::string("EQTK", 4) + std::string("\x01\x00", 2) +  // version 1
      std::string("\x06\x10", 2) +                         // method 6, N = 16
      std::string("\x34\x12", 2) +                         // b = 0x1234
      std::string("\x0e", 1) +                             // P = 14
      std::string(5, '\0') +                               // reserved
      std::string("\xef\xcd\xab\x89\x67\x45\x23\x01", 8) +  // fingerprint
      std::string("\x02\0\0\0\0\0\0\0", 8);                // token count 2
  REQUIRE(bytes.size() == 36);
  CHECK(bytes.substr(0, 32) == expected_header);
  CHECK(bytes.substr(32) == std::string("\x02\x01\xb0\xa0", 4));
}

TEST_CASE("Reading rejects files that are not token files", "[token_file]") {
  const std::string good = write(sample_header(), {1, 2, 3});

  SECTION("shorter than the header") {
    check_read_fails("", "shorter than its 32-byte header");
    check_read_fails(good.substr(0, 31), "shorter than its 32-byte header");
  }
  SECTION("bad magic") {
    std::string bad = good;
    bad[0] = 'X';
    check_read_fails(bad, "bad magic");
    check_read_fails(std::string(40, '\0'), "bad magic");
  }
  SECTION("another version") {
    std::string bad = good;
    put_le(bad, 4, 2, 2);
    check_read_fails(bad, "version 2 is not supported");
    put_le(bad, 4, 0, 2);
    check_read_fails(bad, "version 0");
  }
  SECTION("a reserved header byte is not zero") {
    for (std::size_t at = 11; at < 16; ++at) {
      std::string bad = good;
      bad[at] = '\x01';
      INFO("byte " << at);
      check_read_fails(bad, "reserved header bytes are not zero (byte " + std::to_string(at) + ")");
    }
  }
  SECTION("body length does not match the token count") {
    check_read_fails(good + std::string(2, '\0'), "damaged");   // one token too many
    check_read_fails(good.substr(0, good.size() - 2), "damaged");  // one too few
    check_read_fails(good.substr(0, 32), "header says 3 tokens");
  }
  SECTION("odd body") {
    check_read_fails(good + std::string(1, '\x05'), "damaged");
    check_read_fails(good.substr(0, good.size() - 1), "damaged");
  }
  SECTION("a huge token count in the header does not overflow or allocate") {
    for (std::uint64_t huge : {std::numeric_limits<std::uint64_t>::max(), std::uint64_t{1} << 63,
                               (std::numeric_limits<std::uint64_t>::max() / 2) + 2, std::uint64_t{1} << 40}) {
      std::string bad = good;
      put_le(bad, 24, huge, 8);
      INFO("token count " << huge);
      check_read_fails(bad, "damaged");
    }
    // 2^63 + 3 tokens would be 6 body bytes if 2 * count wrapped around.
    std::string wrap = good;
    put_le(wrap, 24, (std::uint64_t{1} << 63) + 3, 8);
    check_read_fails(wrap, "damaged");
  }
}

TEST_CASE("Reading from a stream that cannot seek (a pipe) gives the same tokens", "[token_file]") {
  std::mt19937_64 rng(3);
  std::vector<Token> tokens(200001);  // more than one 64 KiB block, an odd count
  for (auto& t : tokens) t = static_cast<Token>(rng());
  const std::string bytes = write(sample_header(), tokens);
  PipeBuf pipe(bytes);
  std::istream in(&pipe);
  std::vector<Token> back;
  CHECK(eqinfo::read_token_file(in, back).token_count == tokens.size());
  CHECK(back == tokens);
  // The header's count on a pipe is believed only as far as the bytes go:
  // 2^40 tokens announced, 3 sent, is refused without allocating 2 TiB.
  std::string bomb = write(sample_header(), {1, 2, 3});
  put_le(bomb, 24, std::uint64_t{1} << 40, 8);
  PipeBuf bomb_pipe(bomb);
  std::istream bomb_in(&bomb_pipe);
  CHECK_THROWS_WITH(eqinfo::read_token_file(bomb_in, back), "token file is damaged: header says 1099511627776 tokens, body holds 6 bytes");
}

TEST_CASE("Writing to a failed stream throws", "[token_file]") {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  CHECK_THROWS_AS(eqinfo::write_token_file(out, sample_header(), {1, 2}), std::runtime_error);
}
