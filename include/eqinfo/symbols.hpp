// The alphabet every model and coder in eqinfo speaks: 256 byte values plus
// an end-of-document symbol.  Documents are coded as their bytes followed by
// kEos, so a decoder always knows where a document ends.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eqinfo {

using Symbol = std::uint16_t;          // 0..255 = byte value, 256 = kEos
using Token = std::uint16_t;           // an N-bit token (N <= 16)

inline constexpr Symbol kEos = 256;
inline constexpr std::size_t kAlphabetSize = 257;

}  // namespace eqinfo
