// The token file: a 32-byte header, then the tokens as little-endian uint16.
// Layout and field meanings are documented in docs/formats.md.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <istream>
#include <iterator>
#include <limits>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "eqinfo/symbols.hpp"

namespace eqinfo {

struct TokenFileHeader {
  static constexpr std::array<char, 4> kMagic{'E', 'Q', 'T', 'K'};
  static constexpr std::uint16_t kVersion = 1;
  static constexpr std::size_t kSize = 32;
  static constexpr std::size_t kReservedBegin = 11, kReservedEnd = 16;  // bytes [11, 16), zero

  std::uint8_t method = 0;           // tokenizer_factory.hpp: Method
  std::uint8_t token_bits = 0;       // N
  std::uint16_t window_bits = 0;     // b, 0 when the method has no windows
  std::uint8_t frequency_bits = 0;   // P, 0 when the method has no model
  std::uint64_t fingerprint = 0;     // model fingerprint, 0 when the method has no model
  std::uint64_t token_count = 0;

  friend bool operator==(const TokenFileHeader&, const TokenFileHeader&) = default;
};

namespace detail {
inline void put_le(unsigned char* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint64_t get_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes; i-- > 0;) v = (v << 8) | p[i];
  return v;
}
// The bytes left in `in` if it can seek (a file), else nothing (a pipe).
inline std::optional<std::uint64_t> remaining_bytes(std::istream& in) {
  const auto here = in.tellg();
  if (here == std::istream::pos_type(-1)) {
    in.clear();
    return std::nullopt;
  }
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  in.clear();
  in.seekg(here);
  if (end == std::istream::pos_type(-1) || end < here || !in) {
    in.clear();
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(end - here);
}
}  // namespace detail

inline void write_token_file(std::ostream& out, TokenFileHeader header, const std::vector<Token>& tokens) {
  header.token_count = tokens.size();
  unsigned char h[TokenFileHeader::kSize] = {};
  std::memcpy(h, TokenFileHeader::kMagic.data(), 4);
  detail::put_le(h + 4, TokenFileHeader::kVersion, 2);
  h[6] = header.method;
  h[7] = header.token_bits;
  detail::put_le(h + 8, header.window_bits, 2);
  h[10] = header.frequency_bits;
  detail::put_le(h + 16, header.fingerprint, 8);
  detail::put_le(h + 24, header.token_count, 8);
  out.write(reinterpret_cast<const char*>(h), sizeof h);
  std::vector<unsigned char> body(tokens.size() * 2);
  for (std::size_t i = 0; i < tokens.size(); ++i) detail::put_le(&body[2 * i], tokens[i], 2);
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  if (!out) throw std::runtime_error("error writing token file");
}

// Reads a whole token file; throws std::runtime_error saying what is wrong
// with a file that is not one (bad magic, other version, reserved bytes not
// zero, truncated, trailing bytes).
inline TokenFileHeader read_token_file(std::istream& in, std::vector<Token>& tokens) {
  unsigned char h[TokenFileHeader::kSize];
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (in.gcount() != static_cast<std::streamsize>(sizeof h)) throw std::runtime_error("not a token file: shorter than its 32-byte header");
  if (std::memcmp(h, TokenFileHeader::kMagic.data(), 4) != 0) throw std::runtime_error("not a token file: bad magic (expected 'EQTK')");
  const auto version = detail::get_le(h + 4, 2);
  if (version != TokenFileHeader::kVersion)
    throw std::runtime_error("token file version " + std::to_string(version) + " is not supported (expected 1)");
  // Bytes 11..15 are reserved for later versions: a writer of this version
  // leaves them zero, so anything else is damage or a newer file.
  for (std::size_t i = TokenFileHeader::kReservedBegin; i < TokenFileHeader::kReservedEnd; ++i)
    if (h[i] != 0) throw std::runtime_error("token file is damaged: reserved header bytes are not zero (byte " + std::to_string(i) + ")");
  TokenFileHeader header;
  header.method = h[6];
  header.token_bits = h[7];
  header.window_bits = static_cast<std::uint16_t>(detail::get_le(h + 8, 2));
  header.frequency_bits = h[10];
  header.fingerprint = detail::get_le(h + 16, 8);
  header.token_count = detail::get_le(h + 24, 8);
  // The body goes straight into `tokens`, a block at a time, so a file is
  // held once. When the stream knows its size (a file), the header's count is
  // checked against it before anything is allocated; otherwise (a pipe) the
  // count is trusted only as far as the bytes that arrive.
  const auto damaged = [&](std::uint64_t body_bytes) {
    return std::runtime_error("token file is damaged: header says " + std::to_string(header.token_count) + " tokens, body holds " +
                              std::to_string(body_bytes) + " bytes");
  };
  // 2 * count without wrapping (2^63 + 3 tokens is not 6 bytes): a count no
  // stream can hold expects more bytes than any stream has.
  const std::uint64_t expected_bytes = header.token_count > std::numeric_limits<std::uint64_t>::max() / 2
                                           ? std::numeric_limits<std::uint64_t>::max()
                                           : 2 * header.token_count;
  const auto body_size = detail::remaining_bytes(in);
  if (body_size && *body_size != expected_bytes) throw damaged(*body_size);
  tokens.clear();
  tokens.reserve(body_size ? header.token_count : std::min<std::uint64_t>(header.token_count, std::uint64_t{1} << 20));
  std::array<unsigned char, 1 << 16> block;
  std::uint64_t body_bytes = 0;
  bool odd = false;  // a byte of the next token is pending in `low`
  unsigned char low = 0;
  while (in) {
    in.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(block.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    body_bytes += got;
    if (body_bytes > expected_bytes) continue;  // counted on to the end for the message, not kept
    for (std::size_t i = 0; i < got; ++i) {
      if (odd) tokens.push_back(static_cast<Token>(low | (Token{block[i]} << 8)));
      else low = block[i];
      odd = !odd;
    }
  }
  if (in.bad()) throw std::runtime_error("cannot read the token file");
  if (body_bytes != expected_bytes) throw damaged(body_bytes);
  return header;
}

}  // namespace eqinfo
