// SHA-256 (FIPS 180-4), streaming, for the integrity checks of model files:
// an M1 file's `content_hash` (its tensors) and `eqinfo_sha256` (its
// metadata) are SHA-256 digests that the Python exporter writes with hashlib
// and the C++ loader recomputes (docs/integer_m1.md, "File").
//
// Why SHA-256 and not the FNV-1a 64 of fingerprint.hpp: FNV is a fingerprint
// for telling models apart, not a check that catches every damaged file; the
// digest also has to match what hashlib prints, so that one number names a
// model file in both languages.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace eqinfo {

class Sha256 {
 public:
  Sha256& bytes(std::span<const std::uint8_t> data) {
    total_bytes_ += data.size();
    std::size_t i = 0;
    if (filled_ > 0) {  // complete the block begun by an earlier call
      const std::size_t take = std::min(data.size(), block_.size() - filled_);
      std::memcpy(block_.data() + filled_, data.data(), take);
      filled_ += take;
      i = take;
      if (filled_ < block_.size()) return *this;
      compress(block_.data());
      filled_ = 0;
    }
    for (; i + 64 <= data.size(); i += 64) compress(data.data() + i);
    std::memcpy(block_.data(), data.data() + i, data.size() - i);
    filled_ = data.size() - i;
    return *this;
  }
  Sha256& text(std::string_view s) { return bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}); }

  // The digest as 64 lower-case hex digits (hashlib's hexdigest()); the
  // object is spent afterwards.
  [[nodiscard]] std::string hex() {
    const std::uint64_t bits = total_bytes_ * 8;
    const std::uint8_t pad = 0x80;
    bytes({&pad, 1});
    const std::uint8_t zero = 0;
    while (filled_ != 56) bytes({&zero, 1});
    std::uint8_t length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
    bytes(length);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::uint32_t word : state_)
      for (int shift = 28; shift >= 0; shift -= 4) out += kDigits[(word >> shift) & 0xf];
    return out;
  }

 private:
  void compress(const std::uint8_t* block) {
    static constexpr std::array<std::uint32_t, 64> k{
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
        0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
        0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
        0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
        0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
        0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::array<std::uint32_t, 64> w;
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t{block[4 * i]} << 24 | std::uint32_t{block[4 * i + 1]} << 16 | std::uint32_t{block[4 * i + 2]} << 8 |
             std::uint32_t{block[4 * i + 3]};
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = std::rotr(w[i - 15], 7) ^ std::rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = std::rotr(w[i - 2], 17) ^ std::rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    auto [a, b, c, d, e, f, g, h] = state_;
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = h + (std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    const std::array<std::uint32_t, 8> add{a, b, c, d, e, f, g, h};
    for (int i = 0; i < 8; ++i) state_[i] += add[i];
  }

  std::array<std::uint32_t, 8> state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<std::uint8_t, 64> block_{};
  std::size_t filled_ = 0;
  std::uint64_t total_bytes_ = 0;
};

inline std::string sha256_hex(std::string_view data) { return Sha256().text(data).hex(); }

}  // namespace eqinfo
