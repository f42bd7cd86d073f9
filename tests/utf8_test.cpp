// Tests for include/eqinfo/utf8.hpp: RFC 3629's valid forms are accepted,
// and each kind of invalid sequence is found at its first byte.
#include "eqinfo/utf8.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using eqinfo::first_invalid_utf8;

TEST_CASE("Valid UTF-8 is accepted: ASCII, 2-, 3- and 4-byte forms and their extremes", "[utf8]") {
  CHECK_FALSE(first_invalid_utf8("").has_value());
  CHECK_FALSE(first_invalid_utf8(std::string("a\0b", 3)).has_value());
  CHECK_FALSE(first_invalid_utf8("caf\xc3\xa9 \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80").has_value());
  CHECK_FALSE(first_invalid_utf8("\xc2\x80\xdf\xbf").has_value());              // U+0080, U+07FF
  CHECK_FALSE(first_invalid_utf8("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80").has_value());  // U+0800, U+D7FF, U+E000
  CHECK_FALSE(first_invalid_utf8("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf").has_value());      // U+10000, U+10FFFF
}

TEST_CASE("Invalid UTF-8 is found at the first byte of the bad sequence", "[utf8]") {
  const struct {
    const char* what;
    std::string text;
    std::size_t at;
  } cases[] = {
      {"lone continuation byte", "ab\x80", 2},
      {"0xff", "ab\xff" "cd", 2},
      {"overlong 2-byte (0xc0, 0xc1)", "\xc0\xaf", 0},
      {"overlong 3-byte", "x\xe0\x9f\xbf", 1},
      {"overlong 4-byte", "\xf0\x8f\xbf\xbf", 0},
      {"UTF-16 surrogate", "ok\xed\xa0\x80", 2},
      {"above U+10FFFF", "\xf4\x90\x80\x80", 0},
      {"0xf5 lead byte", "\xf5\x80\x80\x80", 0},
      {"truncated 2-byte at the end", "abc\xc3", 3},
      {"truncated 4-byte at the end", "\xf0\x9f\x98", 0},
      {"bad third byte", "\xe4\xb8" "a", 0},
      {"after valid multi-byte text", "\xc3\xa9\xe4\xb8\xad\xff", 5},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(first_invalid_utf8(c.text) == std::optional<std::size_t>(c.at));
  }
}
