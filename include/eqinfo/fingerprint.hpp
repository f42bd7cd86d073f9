// 64-bit FNV-1a, used to fingerprint models and settings in token files.
// Not cryptographic: it guards against honest mix-ups (decoding with the
// wrong model), not against forgery.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace eqinfo {

class Fnv1a64 {
 public:
  Fnv1a64& bytes(std::span<const std::uint8_t> data) noexcept {
    for (auto b : data) {
      hash_ ^= b;
      hash_ *= 0x100000001b3ULL;
    }
    return *this;
  }
  Fnv1a64& text(std::string_view s) noexcept {
    return bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }
  // Little-endian, so the hash is the same on every platform.
  Fnv1a64& u64(std::uint64_t v) noexcept {
    std::uint8_t le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<std::uint8_t>(v >> (8 * i));
    return bytes(le);
  }
  [[nodiscard]] std::uint64_t value() const noexcept { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace eqinfo
