// The integer primitives of the fixed-point M1 (docs/integer_m1.md,
// "Rounding and helpers").  Each has exactly one definition, used by both the
// scalar and the SIMD kernels, and mirrored bit for bit by
// python/eqinfo/m1/integer_model.py.
#pragma once

#include <cstdint>
#include <span>

namespace eqinfo::m1 {

inline constexpr std::int32_t kActivationClamp = 4095;         // A: 13-bit signed activations
inline constexpr std::int32_t kResidualClamp = (1 << 23) - 1;  // R
inline constexpr int kExpLutBits = 10;                          // Q.10 log2 units
inline constexpr std::int64_t kExpOne = std::int64_t{1} << 15;  // exp2_lut[0]

// floor((a + 2^(s-1)) / 2^s): rounds half up, also for negative a.  C++20
// defines >> on negative values as an arithmetic (flooring) shift.
constexpr std::int64_t rshift_round(std::int64_t a, int s) noexcept {
  return s == 0 ? a : (a + (std::int64_t{1} << (s - 1))) >> s;
}

// sign(a) * floor((|a| + floor(b/2)) / b), b > 0: rounds half away from zero.
constexpr std::int64_t div_round(std::int64_t a, std::int64_t b) noexcept {
  return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b);
}

constexpr std::int64_t requant(std::int64_t acc, std::int32_t multiplier, int shift) noexcept {
  return rshift_round(acc * multiplier, shift);
}

constexpr std::int32_t clamp32(std::int64_t a, std::int64_t lo, std::int64_t hi) noexcept {
  return static_cast<std::int32_t>(a < lo ? lo : a > hi ? hi : a);
}

// floor(sqrt(n)), integers only (bit-by-bit), so no platform's sqrt rounding
// can leak into the model.
constexpr std::uint64_t isqrt(std::uint64_t n) noexcept {
  std::uint64_t root = 0, bit = std::uint64_t{1} << 62;
  while (bit > n) bit >>= 2;
  while (bit != 0) {
    if (n >= root + bit) {
      n -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  return root;
}

// 2^(-delta/1024) in Q15 for delta >= 0, via the exported 1024-entry table.
inline std::int64_t exp2_neg(std::int64_t delta, std::span<const std::int32_t> lut) noexcept {
  const std::int64_t whole = delta >> kExpLutBits;
  return whole >= 31 ? 0 : std::int64_t{lut[static_cast<std::size_t>(delta & ((1 << kExpLutBits) - 1))]} >> whole;
}

}  // namespace eqinfo::m1
