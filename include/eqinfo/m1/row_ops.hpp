// The per-row integer steps of the fixed-point M1 between its matrix
// products (docs/integer_m1.md, "Forward"): RMSNorm, requantisation into the
// activation grid or the residual stream, and logits -> frequency table.
//
// They run once per element per row, so they are written as flat loops over
// contiguous rows with per-column multipliers (which the compiler vectorises),
// and the divisions by a per-row (or per-table) divisor — RMSNorm's r, the
// table's E, attention's S — multiply by a reciprocal with an exact
// correction (Divisor40, ExactDivisor): one 64-bit division per divisor
// instead of one per element.  KernelKind::kScalar keeps the plain
// div_round of the spec, so the scalar == SIMD tests check the reciprocal too.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "eqinfo/frequency_table.hpp"
#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/m1/integer_ops.hpp"
#include "eqinfo/symbols.hpp"

namespace eqinfo::m1 {

// floor(n / d) for any uint64 n and fixed d > 0, by multiplying with
// inv = floor((2^64 - 1) / d).  Exactness: inv <= 2^64 / d, so the estimate
// q = floor(n · inv / 2^64) never exceeds n / d, i.e. q <= floor(n / d) and
// n - q·d >= 0 without overflow; and inv > 2^64 / d - 2, so
// q > n / d - 2n / 2^64 - 1 > floor(n / d) - 3.  Adding 1 while the
// remainder is still >= d (at most twice) therefore lands on floor(n / d).
class ExactDivisor {
 public:
  explicit ExactDivisor(std::uint64_t d) noexcept : d_(d), inv_(~std::uint64_t{0} / d) {}
  [[nodiscard]] std::uint64_t divide(std::uint64_t n) const noexcept {
    std::uint64_t q = static_cast<std::uint64_t>((static_cast<unsigned __int128>(n) * inv_) >> 64);
    std::uint64_t rem = n - q * d_;
    while (rem >= d_) {
      ++q;
      rem -= d_;
    }
    return q;
  }
  // div_round(a, d) of integer_ops.hpp: sign(a) · floor((|a| + floor(d/2)) / d), for |a| < 2^62.
  [[nodiscard]] std::int64_t div_round(std::int64_t a) const noexcept {
    const std::uint64_t half = d_ / 2;
    return a >= 0 ? static_cast<std::int64_t>(divide(static_cast<std::uint64_t>(a) + half))
                  : -static_cast<std::int64_t>(divide(static_cast<std::uint64_t>(-a) + half));
  }

 private:
  std::uint64_t d_, inv_;
};

// floor(n / d) for n < 2^40 and 256 <= d < 2^32 — the ranges of RMSNorm's
// and the table's divisions, and of attention's up to 2^13 positions —
// using only 32 × 32 -> 64-bit multiplies and no branches, so that loops of
// it vectorise.  Exactness: with n8 = floor(n / 2^8) < 2^32 and
// inv = floor(2^39 / d) <= 2^31, est = floor(n8 · inv / 2^31) (product
// < 2^63) satisfies est <= n / d (both factors round down) and
// est > n / d - n / 2^39 - 2 > n / d - 4, so floor(n / d) - 3 <= est <=
// floor(n / d) < 2^32; three conditional steps on the remainder
// n - est · d (>= 0) then give floor(n / d).
class Divisor40 {
 public:
  static constexpr std::uint64_t kMinDivisor = 256, kDividendLimit = std::uint64_t{1} << 40;

  explicit Divisor40(std::uint64_t d) noexcept : d_(d), inv_((std::uint64_t{1} << 39) / d) {}
  [[nodiscard]] std::uint64_t divide(std::uint64_t n) const noexcept {
    std::uint64_t q = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(n >> 8)) * static_cast<std::uint32_t>(inv_)) >> 31;
    std::uint64_t rem = n - static_cast<std::uint64_t>(static_cast<std::uint32_t>(q)) * static_cast<std::uint32_t>(d_);
    for (int step = 0; step < 3; ++step) {
      const bool up = rem >= d_;
      q += up;
      rem -= up ? d_ : 0;
    }
    return q;
  }
  // div_round(a, d) for |a| + floor(d / 2) < 2^40.
  [[nodiscard]] std::int64_t div_round(std::int64_t a) const noexcept {
    const auto q = static_cast<std::int64_t>(divide(static_cast<std::uint64_t>(a < 0 ? -a : a) + d_ / 2));
    return a < 0 ? -q : q;
  }

 private:
  std::uint64_t d_, inv_;
};

// RMSNorm with the gain folded into the next weights: Q.10 x [d] -> unit-RMS
// n [d] on a 2^-8 grid.
template <KernelKind K>
void rmsnorm(const std::int32_t* x, std::size_t d, std::int16_t* n) noexcept {
  std::int64_t ss = 0;
  for (std::size_t i = 0; i < d; ++i) ss += std::int64_t{x[i]} * x[i];  // < 256 * 2^46
  const std::int64_t ms = std::max<std::int64_t>(ss / static_cast<std::int64_t>(d), 1);
  const auto r = static_cast<std::int64_t>(isqrt(static_cast<std::uint64_t>(ms) << 16));  // rms * 2^8, in [256, 2^31]
  // |x_i| · 2^16 + r / 2 < 2^39 + 2^30: inside Divisor40's range.
  if constexpr (K == KernelKind::kScalar) {
    for (std::size_t i = 0; i < d; ++i)
      n[i] = static_cast<std::int16_t>(clamp32(div_round(std::int64_t{x[i]} << 16, r), -kActivationClamp, kActivationClamp));
  } else {
    const Divisor40 by_r(static_cast<std::uint64_t>(r));
    for (std::size_t i = 0; i < d; ++i)
      n[i] = static_cast<std::int16_t>(clamp32(by_r.div_round(std::int64_t{x[i]} << 16), -kActivationClamp, kActivationClamp));
  }
}

// out[r][j] = clamp(requant(max(acc[r][j], floor), mult[j], shift), lo, hi) as
// int16, for r < rows, j < cols.  acc: [rows][ld_acc], out: [rows][ld_out].
// floor = INT32_MIN is the plain requant, 0 the ReLU of the MLP.
inline void requant_rows(const std::int32_t* acc, std::size_t ld_acc, std::size_t rows, std::size_t cols, const std::int32_t* mult,
                         int shift, std::int32_t floor, std::int32_t lo, std::int32_t hi, std::int16_t* out, std::size_t ld_out) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int32_t* a = acc + r * ld_acc;
    std::int16_t* o = out + r * ld_out;
    for (std::size_t j = 0; j < cols; ++j)
      o[j] = static_cast<std::int16_t>(clamp32(requant(std::max(a[j], floor), mult[j], shift), lo, hi));
  }
}

// The residual update x[r][j] = clamp(x[r][j] + requant(acc[r][j], mult[j], shift), -R, R);
// x and acc: [rows][d].
inline void add_to_residual(const std::int32_t* acc, std::size_t rows, std::size_t d, const std::int32_t* mult, int shift,
                            std::int32_t* x) noexcept {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < d; ++j)
      x[r * d + j] = clamp32(x[r * d + j] + requant(acc[r * d + j], mult[j], shift), -kResidualClamp, kResidualClamp);
}

// The frequency table at precision P from the output layer's accumulators
// (one row of V = 257): logit_s = requant(acc_s, M_s, s), then the exp2 rule.
template <unsigned P, KernelKind K>
void logits_to_table(const std::int32_t* acc, std::span<const std::int32_t> mult, int shift, std::span<const std::int32_t> lut,
                     FrequencyTable<P>& table) {
  std::array<std::int64_t, kAlphabetSize> logit;
  for (std::size_t s = 0; s < kAlphabetSize; ++s) logit[s] = requant(acc[s], mult[s], shift);
  const std::int64_t m = *std::max_element(logit.begin(), logit.end());
  std::array<std::int64_t, kAlphabetSize> e;
  std::int64_t total = 0;
  std::size_t argmax = 0;
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    e[s] = exp2_neg(m - logit[s], lut);
    total += e[s];
    if (e[s] > e[argmax]) argmax = s;
  }
  constexpr std::int64_t spare = (std::int64_t{1} << P) - static_cast<std::int64_t>(kAlphabetSize);
  std::array<std::uint32_t, kAlphabetSize> f;
  std::int64_t sum = 0;
  // e_s · spare < 2^15 · 2^24 and 2^15 <= E < 2^24: inside Divisor40's range.
  const Divisor40 by_total(static_cast<std::uint64_t>(total));
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    std::int64_t share;
    if constexpr (K == KernelKind::kScalar)
      share = e[s] * spare / total;
    else
      share = static_cast<std::int64_t>(by_total.divide(static_cast<std::uint64_t>(e[s] * spare)));
    f[s] = static_cast<std::uint32_t>(1 + share);
    sum += f[s];
  }
  f[argmax] += static_cast<std::uint32_t>((std::int64_t{1} << P) - sum);
  table.set_frequencies(f);
}

// The run-time choices, for tests and tools (the model picks K once per call: m1/backend.hpp).
inline void rmsnorm(const std::int32_t* x, std::size_t d, std::int16_t* n, KernelKind kind) noexcept {
  kind == KernelKind::kScalar ? rmsnorm<KernelKind::kScalar>(x, d, n) : rmsnorm<KernelKind::kSimd>(x, d, n);
}
template <unsigned P>
void logits_to_table(const std::int32_t* acc, std::span<const std::int32_t> mult, int shift, std::span<const std::int32_t> lut,
                     FrequencyTable<P>& table, KernelKind kind) {
  kind == KernelKind::kScalar ? logits_to_table<P, KernelKind::kScalar>(acc, mult, shift, lut, table)
                              : logits_to_table<P, KernelKind::kSimd>(acc, mult, shift, lut, table);
}

}  // namespace eqinfo::m1
