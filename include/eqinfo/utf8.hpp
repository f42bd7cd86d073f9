// UTF-8 validation, for the outputs that must hold Unicode (eqinfo-decode
// --output-format jsonl): decoded text is bytes, and a JSON writer that
// replaced what is not UTF-8 would change it silently.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace eqinfo {

// The offset of the first byte of `text` that is not valid UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), if any.
inline std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char b = byte(i);
    std::size_t length = 1;
    unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      length = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b == 0xe0) low = 0xa0;   // overlong
      if (b == 0xed) high = 0x9f;  // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b == 0xf0) low = 0x90;   // overlong
      if (b == 0xf4) high = 0x8f;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) return i;
    for (std::size_t k = 2; k < length; ++k)
      if ((byte(i + k) & 0xc0) != 0x80) return i;
    i += length;
  }
  return std::nullopt;
}

}  // namespace eqinfo
