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
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "eqinfo/frequency_table.hpp"
#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/m1/integer_ops.hpp"
#include "eqinfo/symbols.hpp"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__FMA__)
#include <immintrin.h>
#define EQINFO_ROW_OPS_AVX512 1
#endif

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

// floor(n / d) for n < 2^50 and 1 <= d < 2^32 in double arithmetic, for
// the AVX-512 row steps (8 quotients per instruction, against Divisor40's
// chain of 64-bit integer multiplies, compares and blends).  Exactness: n and
// d are exact doubles; inv = fl(1/d) = (1/d)(1 + e1) and the product
// fl(n · inv) = (n/d)(1 + e1)(1 + e2) with |e1|, |e2| <= 2^-53, so it is
// within (n/d) · 2^-51.9 < 2^50 · 2^-51.9 < 0.3 of n/d and its floor q is
// floor(n/d) - 1, floor(n/d) or floor(n/d) + 1.  The remainder n - q·d is an
// integer of magnitude < 2d < 2^33, which the fused multiply-add computes
// with one rounding, i.e. exactly; one step down (remainder < 0) or up
// (remainder >= d) therefore lands on floor(n/d).  No platform rounding mode
// or flag enters: every operation is IEEE round-to-nearest on exact inputs
// (-ffast-math would break the argument, and the build never sets it).
class F64Divisor {
 public:
  static constexpr std::uint64_t kDividendLimit = std::uint64_t{1} << 50, kDivisorLimit = std::uint64_t{1} << 32;

  explicit F64Divisor(std::uint64_t d) noexcept : d_(static_cast<double>(d)), inv_(1.0 / static_cast<double>(d)) {}
  [[nodiscard]] std::uint64_t divide(std::uint64_t n) const noexcept {
    const double x = static_cast<double>(n);
    double q = std::floor(x * inv_);
    const double rem = std::fma(-q, d_, x);
    q += rem < 0 ? -1.0 : rem >= d_ ? 1.0 : 0.0;
    return static_cast<std::uint64_t>(q);
  }
#if defined(EQINFO_ROW_OPS_AVX512)
  // Eight dividends at once (each an integer-valued double in [0, 2^50)).
  [[nodiscard]] __m512d divide(__m512d x) const noexcept {
    const __m512d d = _mm512_set1_pd(d_);
    __m512d q = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(inv_)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m512d rem = _mm512_fnmadd_pd(q, d, x);
    q = _mm512_mask_sub_pd(q, _mm512_cmp_pd_mask(rem, _mm512_setzero_pd(), _CMP_LT_OQ), q, _mm512_set1_pd(1.0));
    q = _mm512_mask_add_pd(q, _mm512_cmp_pd_mask(rem, d, _CMP_GE_OQ), q, _mm512_set1_pd(1.0));
    return q;
  }
  // clamp(div_round(a, d), -A, A) for eight int32 a with |a| · scale + d/2 < 2^50, where
  // a is multiplied by `scale` (a power of two, exact) first: RMSNorm's x · 2^16 / r.
  [[nodiscard]] __m256i div_round_clamped(__m256i a, double scale, std::int32_t limit) const noexcept {
    const __m512d x = _mm512_cvtepi32_pd(_mm256_abs_epi32(a));
    const __m512d q = divide(_mm512_fmadd_pd(x, _mm512_set1_pd(scale), _mm512_set1_pd(std::floor(d_ / 2))));
    // Clamped while still a double: a quotient past 2^31 would not convert to int32.
    const __m256i m = _mm512_cvttpd_epi32(_mm512_min_pd(q, _mm512_set1_pd(limit)));
    return _mm256_sign_epi32(m, a);  // a's sign; 0 stays 0
  }
#endif

 private:
  double d_, inv_;
};

// isqrt(n) of integer_ops.hpp for n <= 2^62, from the double square root: fl(n) is within
// 2^-53 of n relatively and sqrt halves that, so the estimate is within one of floor(sqrt(n))
// (< 2^31), and one comparison each way corrects it; (r + 1)^2 <= 2^62 + 2^32 + 1 does not
// overflow.  A few instructions against isqrt's 31 data-dependent branches.
inline std::uint64_t isqrt_from_double(std::uint64_t n) noexcept {
  auto r = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(n)));
  while (r * r > n) --r;
  while ((r + 1) * (r + 1) <= n) ++r;
  return r;
}

// RMSNorm with the gain folded into the next weights: Q.10 x [d] -> unit-RMS
// n [d] on a 2^-8 grid.
template <KernelKind K>
void rmsnorm(const std::int32_t* x, std::size_t d, std::int16_t* n) noexcept {
  std::int64_t ss = 0;
  std::size_t i0 = 0;
#if defined(EQINFO_ROW_OPS_AVX512)
  if constexpr (K == KernelKind::kSimd) {
    // vpmuldq squares the even int32 lanes into int64 and, after a 32-bit shift, the odd ones
    // (GCC's own loop widened first and used the slower 64-bit vpmullq).
    __m512i sum = _mm512_setzero_si512();
    for (; i0 + 16 <= d; i0 += 16) {
      const __m512i v = _mm512_loadu_si512(x + i0), odd = _mm512_srli_epi64(v, 32);
      sum = _mm512_add_epi64(sum, _mm512_add_epi64(_mm512_mul_epi32(v, v), _mm512_mul_epi32(odd, odd)));
    }
    ss = _mm512_reduce_add_epi64(sum);
  }
#endif
  for (std::size_t i = i0; i < d; ++i) ss += std::int64_t{x[i]} * x[i];  // < 256 * 2^46
  const std::int64_t ms = std::max<std::int64_t>(ss / static_cast<std::int64_t>(d), 1);
  // rms * 2^8, in [256, 2^31]; ms <= 2^46, so the argument is <= 2^62.
  const auto root = K == KernelKind::kScalar ? isqrt(static_cast<std::uint64_t>(ms) << 16) : isqrt_from_double(static_cast<std::uint64_t>(ms) << 16);
  const auto r = static_cast<std::int64_t>(root);
  // |x_i| · 2^16 + r / 2 < 2^39 + 2^30: inside Divisor40's range.
  if constexpr (K == KernelKind::kScalar) {
    for (std::size_t i = 0; i < d; ++i)
      n[i] = static_cast<std::int16_t>(clamp32(div_round(std::int64_t{x[i]} << 16, r), -kActivationClamp, kActivationClamp));
  } else {
    std::size_t tail = 0;  // the elements from here on go through Divisor40
#if defined(EQINFO_ROW_OPS_AVX512)
    // |x_i| · 2^16 + r/2 < 2^39 + 2^30 < 2^50 and r < 2^32: F64Divisor's range.
    const F64Divisor by_r(static_cast<std::uint64_t>(r));
    tail = d - d % 8;
    for (std::size_t i = 0; i < tail; i += 8) {
      const __m256i xi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(n + i), _mm256_cvtepi32_epi16(by_r.div_round_clamped(xi, 65536.0, kActivationClamp)));
    }
#endif
    const Divisor40 by_r40(static_cast<std::uint64_t>(r));
    for (std::size_t i = tail; i < d; ++i)
      n[i] = static_cast<std::int16_t>(clamp32(by_r40.div_round(std::int64_t{x[i]} << 16), -kActivationClamp, kActivationClamp));
  }
}

#if defined(EQINFO_ROW_OPS_AVX512)
// The integer helpers of integer_ops.hpp on eight int64 lanes, shared by the AVX-512 row steps
// here and by attention's head kernel (attention.hpp).
namespace detail {
// rshift_round's addend 2^(shift-1) (0 for shift 0) in every lane.
inline __m512i rounding(int shift) noexcept { return _mm512_set1_epi64(shift == 0 ? 0 : std::int64_t{1} << (shift - 1)); }
// requant(a, m, shift) = rshift_round(a · m, shift) for the int32 in the low half of each
// int64 lane of a and m (vpmuldq: the exact 64-bit product); round = rounding(shift), count =
// shift as vpsraq reads it.
inline __m512i requant8(__m512i a, __m512i m, __m512i round, __m128i count) noexcept {
  return _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, m), round), count);
}
// exp2_neg(delta, lut) in the lanes of `valid` (0 elsewhere) for delta >= 0: the table entry
// gathered by delta's low 10 bits, shifted right by the rest, 0 from a shift of 31 on.
inline __m512i exp2_neg8(__m512i delta, const std::int32_t* lut, __mmask8 valid) noexcept {
  const __m512i whole = _mm512_srli_epi64(delta, kExpLutBits);
  const __m512i index = _mm512_and_si512(delta, _mm512_set1_epi64((1 << kExpLutBits) - 1));
  const __m512i entry = _mm512_cvtepi32_epi64(_mm512_mask_i64gather_epi32(_mm256_setzero_si256(), valid, index, lut, 4));
  return _mm512_maskz_srlv_epi64(static_cast<__mmask8>(valid & _mm512_cmplt_epi64_mask(whole, _mm512_set1_epi64(31))), entry, whole);
}
// clamp(requant(a_j, m_j, shift), lo, hi) for 16 int32 lanes, in int32 lanes: the even lanes
// and (shifted down) the odd ones through requant8, each clamped in int64, then blended back
// (the odd ones shifted up again).
inline __m512i requant16(__m512i a, __m512i m, __m512i round, __m128i count, __m512i lo, __m512i hi) noexcept {
  const auto one = [&](__m512i x, __m512i y) { return _mm512_min_epi64(_mm512_max_epi64(requant8(x, y, round, count), lo), hi); };
  const __m512i even = one(a, m), odd = one(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(m, 32));
  return _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64(odd, 32));
}
}  // namespace detail
#endif

// out[r][j] = clamp(requant(max(acc[r][j], floor), mult[j], shift), lo, hi) as
// int16, for r < rows, j < cols.  acc: [rows][ld_acc], out: [rows][ld_out].
// floor = INT32_MIN is the plain requant, 0 the ReLU of the MLP.
inline void requant_rows(const std::int32_t* acc, std::size_t ld_acc, std::size_t rows, std::size_t cols, const std::int32_t* mult,
                         int shift, std::int32_t floor, std::int32_t lo, std::int32_t hi, std::int16_t* out, std::size_t ld_out) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int32_t* a = acc + r * ld_acc;
    std::int16_t* o = out + r * ld_out;
    std::size_t j = 0;
#if defined(EQINFO_ROW_OPS_AVX512)
    const __m512i round = detail::rounding(shift), f = _mm512_set1_epi32(floor), vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
    const __m128i count = _mm_cvtsi32_si128(shift);
    for (; j + 16 <= cols; j += 16) {
      const __m512i v = _mm512_max_epi32(_mm512_loadu_si512(a + j), f);
      const __m512i q = detail::requant16(v, _mm512_loadu_si512(mult + j), round, count, vlo, vhi);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + j), _mm512_cvtepi32_epi16(q));  // |q| <= hi < 2^15
    }
#endif
    for (; j < cols; ++j) o[j] = static_cast<std::int16_t>(clamp32(requant(std::max(a[j], floor), mult[j], shift), lo, hi));
  }
}

// The residual update x[r][j] = clamp(x[r][j] + requant(acc[r][j], mult[j], shift), -R, R);
// x and acc: [rows][d].
inline void add_to_residual(const std::int32_t* acc, std::size_t rows, std::size_t d, const std::int32_t* mult, int shift,
                            std::int32_t* x) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    std::size_t j = 0;
#if defined(EQINFO_ROW_OPS_AVX512)
    // requant is clamped to ±2^30 before the add: |x| <= R < 2^23, so a q beyond ±2^30 puts
    // x + q beyond ±R either way and clamp(x + q, -R, R) is unchanged; x + q then fits int32.
    const __m512i round = detail::rounding(shift), vlo = _mm512_set1_epi64(-(std::int64_t{1} << 30)), vhi = _mm512_set1_epi64(std::int64_t{1} << 30);
    const __m512i rlo = _mm512_set1_epi32(-kResidualClamp), rhi = _mm512_set1_epi32(kResidualClamp);
    const __m128i count = _mm_cvtsi32_si128(shift);
    for (; j + 16 <= d; j += 16) {
      const __m512i q = detail::requant16(_mm512_loadu_si512(acc + r * d + j), _mm512_loadu_si512(mult + j), round, count, vlo, vhi);
      const __m512i sum = _mm512_add_epi32(_mm512_loadu_si512(x + r * d + j), q);
      _mm512_storeu_si512(x + r * d + j, _mm512_min_epi32(_mm512_max_epi32(sum, rlo), rhi));
    }
#endif
    for (; j < d; ++j) x[r * d + j] = clamp32(x[r * d + j] + requant(acc[r * d + j], mult[j], shift), -kResidualClamp, kResidualClamp);
  }
}

// The last step of the frequency rule: the 2^P - Σ f_s left by the floors go to the symbol
// with the largest e_s, the lowest such index on ties; then the table is installed.
template <unsigned P>
void finish_table(const std::array<std::int64_t, kAlphabetSize>& e, std::array<std::uint32_t, kAlphabetSize>& f, FrequencyTable<P>& table) {
  std::size_t argmax = 0;
  std::int64_t sum = 0;
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    if (e[s] > e[argmax]) argmax = s;
    sum += f[s];
  }
  f[argmax] += static_cast<std::uint32_t>((std::int64_t{1} << P) - sum);
  table.set_frequencies(f);
}

// The frequency table at precision P from the output layer's accumulators
// (one row of V = 257): logit_s = requant(acc_s, M_s, s), then the exp2 rule.
template <unsigned P, KernelKind K>
void logits_to_table(const std::int32_t* acc, std::span<const std::int32_t> mult, int shift, std::span<const std::int32_t> lut,
                     FrequencyTable<P>& table) {
  constexpr std::size_t V = kAlphabetSize;
  constexpr std::int64_t spare = (std::int64_t{1} << P) - static_cast<std::int64_t>(V);
  std::array<std::int64_t, V> logit;
  std::array<std::int64_t, V> e;
  std::array<std::uint32_t, V> f;
#if defined(EQINFO_ROW_OPS_AVX512)
  if constexpr (K == KernelKind::kSimd) {
    // The same integers eight symbols at a time (the 257th below): requant in int64 lanes
    // (vpmuldq of the int32 accumulator and multiplier, arithmetic shift), the exp2 rule with a
    // gathered table entry and a variable shift, and the shares through F64Divisor
    // (e_s · spare < 2^15 · 2^24 < 2^50, E < 2^24 < 2^32: its range).
    constexpr std::size_t kVec = (V / 8) * 8;
    const __m512i round = detail::rounding(shift);
    const __m128i count = _mm_cvtsi32_si128(shift);
    __m512i mx = _mm512_set1_epi64(INT64_MIN);
    for (std::size_t s = 0; s < kVec; s += 8) {
      const __m512i a = _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + s)));
      const __m512i m = _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(mult.data() + s)));
      const __m512i l = detail::requant8(a, m, round, count);
      _mm512_storeu_si512(logit.data() + s, l);
      mx = _mm512_max_epi64(mx, l);
    }
    std::int64_t m = _mm512_reduce_max_epi64(mx);
    for (std::size_t s = kVec; s < V; ++s) m = std::max(m, logit[s] = requant(acc[s], mult[s], shift));
    const __m512i vm = _mm512_set1_epi64(m);
    __m512i sum = _mm512_setzero_si512();
    for (std::size_t s = 0; s < kVec; s += 8) {
      const __m512i es = detail::exp2_neg8(_mm512_sub_epi64(vm, _mm512_loadu_si512(logit.data() + s)), lut.data(), 0xff);
      _mm512_storeu_si512(e.data() + s, es);
      sum = _mm512_add_epi64(sum, es);
    }
    std::int64_t total = _mm512_reduce_add_epi64(sum);
    for (std::size_t s = kVec; s < V; ++s) total += e[s] = exp2_neg(m - logit[s], lut);
    const F64Divisor by_total(static_cast<std::uint64_t>(total));
    const __m512d spare_pd = _mm512_set1_pd(static_cast<double>(spare));
    for (std::size_t s = 0; s < kVec; s += 8) {
      const __m512d share = by_total.divide(_mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_loadu_si512(e.data() + s)), spare_pd));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(f.data() + s), _mm256_add_epi32(_mm512_cvttpd_epu32(share), _mm256_set1_epi32(1)));
    }
    for (std::size_t s = kVec; s < V; ++s) f[s] = static_cast<std::uint32_t>(1 + by_total.divide(static_cast<std::uint64_t>(e[s] * spare)));
    finish_table(e, f, table);
    return;
  }
#endif
  for (std::size_t s = 0; s < V; ++s) logit[s] = requant(acc[s], mult[s], shift);
  const std::int64_t m = *std::max_element(logit.begin(), logit.end());
  std::int64_t total = 0;
  for (std::size_t s = 0; s < V; ++s) {
    e[s] = exp2_neg(m - logit[s], lut);
    total += e[s];
  }
  // e_s · spare < 2^15 · 2^24 and 2^15 <= E < 2^24: inside Divisor40's range.
  const Divisor40 by_total(static_cast<std::uint64_t>(total));
  for (std::size_t s = 0; s < V; ++s) {
    std::int64_t share;
    if constexpr (K == KernelKind::kScalar)
      share = e[s] * spare / total;
    else
      share = static_cast<std::int64_t>(by_total.divide(static_cast<std::uint64_t>(e[s] * spare)));
    f[s] = static_cast<std::uint32_t>(1 + share);
  }
  finish_table(e, f, table);
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
