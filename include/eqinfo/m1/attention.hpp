// One row's attention in the fixed-point M1 (docs/integer_m1.md, Forward
// step 3): the query at position t over the cached keys and values of its
// span, per head: positions 0..t (format v1), or the sink 0 and the W - 1
// latest positions (format v2, "Attention span").
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/m1/integer_ops.hpp"
#include "eqinfo/m1/row_ops.hpp"

namespace eqinfo::m1 {

struct AttentionParams {
  std::size_t d = 0, heads = 0, head_dim = 0, max_distance = 0;
  std::size_t window = 0;  // W of format v2; 0: unbounded (v1)
  std::int32_t score_mult = 0;
  int score_shift = 0;
  std::span<const std::int32_t> rel_bias;    // [num_buckets][H]
  std::span<const std::int32_t> rel_bucket;  // [max_distance + 1]
  std::span<const std::int32_t> exp2_lut;    // [1024]
};

// The first of the latest positions the query at t attends to, besides the
// sink 0 (docs/integer_m1.md, "Attention span"): max(1, t - W + 2), or 1
// when the span is unbounded (W = 0).
inline std::size_t span_first(std::size_t window, std::size_t t) noexcept {
  return window == 0 || t + 2 <= window ? 1 : t + 2 - window;
}

// Where a context's cache keeps `position`: row 0 holds position 0 (the
// sink), row 1 + τ - base position τ >= base. With an unbounded span nothing
// is evicted, base stays 1 and row τ is position τ.
inline std::size_t cache_row(std::size_t position, std::size_t base) noexcept { return position == 0 ? 0 : 1 + position - base; }

// One layer's cache of a context, as the span reads it (rows by cache_row).
struct KvRows {
  const std::int16_t* keys;    // [rows][d], head-major columns
  const std::int16_t* values;  // [rows][d]
  std::size_t base = 1;
  [[nodiscard]] std::size_t row(std::size_t position) const noexcept { return cache_row(position, base); }
};

// What attend() reuses between calls (one per thread): the scores, later the weights, of the
// keys of one head, and each key's relative-bias row offset.
struct AttentionScratch {
  std::vector<std::int64_t> scores;
  std::vector<std::int32_t> bucket_bias;
};

namespace detail {

// The AVX-512 head kernel needs vpdpwssd (dot_kernels.hpp) and the AVX-512 row helpers
// (row_ops.hpp: F64Divisor's vector divide, requant8, exp2_neg8).
#if defined(EQINFO_DOT_AVX512VNNI) && defined(EQINFO_ROW_OPS_AVX512)
#define EQINFO_ATTENTION_AVX512 1
// num[c] = Σ_i e[i] · v[i][c] for c < 16 · Chunks, the weighted sum of one head's value rows.  Exact and in any order, like the int64 loop it
// replaces: e ≤ 2^15 (exp2_lut[0], checked at load) and |v| ≤ A = 4095, so each product is
// below 2^27 and 16 of them below 2^31.  The sums therefore run in int32 lanes held in
// registers, 16 keys at a time, and only then widen into the int64 numerators: one
// vpmovsxwd + vpmulld + vpaddd per 16 components and key, against the int64 loop's two
// widenings, a 64-bit multiply and a stored accumulator (AVX-512 only: on AVX2 the int32
// variant measured 0.82-0.94x, docs/performance.md).
//
// Key i's row is v + row(i) · stride: the sink (row 0) for i = 0, row skip + i after it (the
// span's latest positions are consecutive cache rows; KvRows::row).
template <std::size_t Chunks>
void weighted_value_sum(const std::int64_t* e, const std::int16_t* v, std::size_t stride, std::size_t skip, std::size_t keys,
                        std::int64_t* num) {
  static_assert(Chunks >= 1 && Chunks <= 8);
  constexpr std::size_t kBlock = 16;  // keys per int32 block
  __m512i wide[Chunks][2];
  for (std::size_t ch = 0; ch < Chunks; ++ch) wide[ch][0] = wide[ch][1] = _mm512_setzero_si512();
  for (std::size_t first = 0; first < keys; first += kBlock) {
    __m512i sum[Chunks];
    for (std::size_t ch = 0; ch < Chunks; ++ch) sum[ch] = _mm512_setzero_si512();
    const std::size_t last = std::min(keys, first + kBlock);
    for (std::size_t i = first; i < last; ++i) {
      if (e[i] == 0) continue;
      const __m512i ei = _mm512_set1_epi32(static_cast<std::int32_t>(e[i]));
      const std::int16_t* vi = v + (i == 0 ? 0 : skip + i) * stride;
      for (std::size_t ch = 0; ch < Chunks; ++ch) {
        const __m512i x = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(vi + 16 * ch)));
        sum[ch] = _mm512_add_epi32(sum[ch], _mm512_mullo_epi32(x, ei));
      }
    }
    for (std::size_t ch = 0; ch < Chunks; ++ch) {
      wide[ch][0] = _mm512_add_epi64(wide[ch][0], _mm512_cvtepi32_epi64(_mm512_castsi512_si256(sum[ch])));
      wide[ch][1] = _mm512_add_epi64(wide[ch][1], _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(sum[ch], 1)));
    }
  }
  for (std::size_t ch = 0; ch < Chunks; ++ch) {
    _mm512_storeu_si512(num + 16 * ch, wide[ch][0]);
    _mm512_storeu_si512(num + 16 * ch + 8, wide[ch][1]);
  }
}

// The widest head the AVX-512 head kernel takes (8 chunks of int32 sums in registers).
inline constexpr std::size_t kMaxSummedWidth = 128;

// Lane j of the result = the sum of the 16 int32 lanes of v[j] (a 16 x 16 transpose folded
// into additions: 45 instructions for 16 keys, against ~8 per key for a reduction each).
inline __m512i sum_lanes_16(const __m512i (&v)[16]) noexcept {
  __m512i pairs[8], quads[4];
  for (int k = 0; k < 8; ++k)  // per 128-bit lane: partial sums of keys 2k, 2k+1
    pairs[k] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * k], v[2 * k + 1]), _mm512_unpackhi_epi32(v[2 * k], v[2 * k + 1]));
  for (int k = 0; k < 4; ++k)  // per 128-bit lane L: keys 4k..4k+3, each summed over lane L
    quads[k] = _mm512_add_epi32(_mm512_unpacklo_epi64(pairs[2 * k], pairs[2 * k + 1]), _mm512_unpackhi_epi64(pairs[2 * k], pairs[2 * k + 1]));
  const auto fold = [](__m512i a, __m512i b) {  // lanes (a.0+a.1, a.2+a.3, b.0+b.1, b.2+b.3)
    return _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
  };
  return fold(fold(quads[0], quads[1]), fold(quads[2], quads[3]));
}

// One head of attend() (docs/integer_m1.md, Forward step 3) for head widths that are a
// multiple of 32 up to kMaxSummedWidth, and fewer than 2^17 keys, on the same integers:
//   scores   16 keys at a time: vpdpwssd partial sums per key, added across lanes by
//            sum_lanes_16; requant in int64 lanes; the relative bias gathered by bucket;
//   weights  the exp2 rule with a gathered table entry and a variable shift;
//   values   weighted_value_sum;
//   output   div_round by S through F64Divisor: |num| <= S · A < 2^17 · 2^15 · 2^12 < 2^50
//            and S < 2^32, its range; the quotient is clamped to A as a double.
// u (>= keys) receives the scores, then the weights; bucket_bias[i] = rel_bucket(t - pos(i)) · H.
template <std::size_t Pairs32>  // hd / 32
void attend_head_avx512(const AttentionParams& p, std::size_t h, const std::int16_t* qh, const KvRows& kv, std::size_t skip,
                        std::size_t keys, const std::int32_t* bucket_bias, std::int64_t* u, std::int16_t* ah) {
  constexpr std::size_t hd = 32 * Pairs32;
  const std::size_t d = p.d;
  __m512i q[Pairs32];
  for (std::size_t c = 0; c < Pairs32; ++c) q[c] = _mm512_loadu_si512(qh + 32 * c);
  const auto key_row = [&](std::size_t i) { return kv.keys + (i == 0 ? 0 : skip + i) * d + h * hd; };
  const __m512i round = rounding(p.score_shift);
  const __m128i shift = _mm_cvtsi32_si128(p.score_shift);
  const __m512i mult = _mm512_set1_epi64(p.score_mult);
  __m512i mx = _mm512_set1_epi64(INT64_MIN);
  for (std::size_t first = 0; first < keys; first += 16) {
    const std::size_t n = std::min<std::size_t>(16, keys - first);
    __m512i part[16];
    for (std::size_t j = 0; j < 16; ++j) {
      part[j] = _mm512_setzero_si512();
      if (j < n)
        for (std::size_t c = 0; c < Pairs32; ++c) part[j] = _mm512_dpwssd_epi32(part[j], q[c], _mm512_loadu_si512(key_row(first + j) + 32 * c));
    }
    const __m512i dots = sum_lanes_16(part);
    const __mmask16 valid = static_cast<__mmask16>(n == 16 ? 0xffffu : (1u << n) - 1);
    const __m512i bias = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, _mm512_maskz_loadu_epi32(valid, bucket_bias + first),
                                                     p.rel_bias.data() + h, 4);
    for (int half = 0; half < 2; ++half) {
      const __m256i d32 = half == 0 ? _mm512_castsi512_si256(dots) : _mm512_extracti64x4_epi64(dots, 1);
      const __m256i b32 = half == 0 ? _mm512_castsi512_si256(bias) : _mm512_extracti64x4_epi64(bias, 1);
      const __m512i score = _mm512_add_epi64(requant8(_mm512_cvtepi32_epi64(d32), mult, round, shift), _mm512_cvtepi32_epi64(b32));
      const auto m8 = static_cast<__mmask8>(half == 0 ? valid & 0xff : valid >> 8);
      _mm512_mask_storeu_epi64(u + first + 8 * half, m8, score);
      mx = _mm512_mask_max_epi64(mx, m8, mx, score);
    }
  }
  const __m512i vm = _mm512_set1_epi64(_mm512_reduce_max_epi64(mx));
  __m512i sum = _mm512_setzero_si512();
  for (std::size_t i = 0; i < keys; i += 8) {
    const auto m8 = static_cast<__mmask8>(keys - i >= 8 ? 0xff : (1u << (keys - i)) - 1);
    const __m512i e = exp2_neg8(_mm512_sub_epi64(vm, _mm512_maskz_loadu_epi64(m8, u + i)), p.exp2_lut.data(), m8);
    _mm512_mask_storeu_epi64(u + i, m8, e);
    sum = _mm512_add_epi64(sum, e);
  }
  const std::int64_t total = _mm512_reduce_add_epi64(sum);
  alignas(64) std::int64_t num[hd];
  weighted_value_sum<hd / 16>(u, kv.values + h * hd, d, skip, keys, num);
  const F64Divisor by_total(static_cast<std::uint64_t>(total));
  const __m512d half_total = _mm512_set1_pd(static_cast<double>(total / 2)), limit = _mm512_set1_pd(kActivationClamp);
  for (std::size_t j = 0; j < hd; j += 8) {
    const __m512i a = _mm512_load_si512(num + j);
    const __m512d q8 = _mm512_min_pd(by_total.divide(_mm512_add_pd(_mm512_cvtepi64_pd(_mm512_abs_epi64(a)), half_total)), limit);
    const __m256i q32 = _mm512_cvttpd_epi32(q8);
    const __m256i signed8 = _mm256_mask_sub_epi32(q32, _mm512_cmplt_epi64_mask(a, _mm512_setzero_si512()), _mm256_setzero_si256(), q32);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(ah + j), _mm256_cvtepi32_epi16(signed8));
  }
}
#endif

}  // namespace detail

// q [d] at position t; kv holds every position of its span; a [d] receives
// the output on v's grid. `scratch` is reused between calls (its contents do not matter).
template <KernelKind K>
void attend(const AttentionParams& p, std::size_t t, const std::int16_t* q, const KvRows& kv, std::int16_t* a, AttentionScratch& scratch) {
  const std::size_t d = p.d, hd = p.head_dim;
  // The keys: the sink, then first..t (none when t = 0); key i is position pos(i).
  const std::size_t first = span_first(p.window, t), keys = 1 + (t >= first ? t - first + 1 : 0);
  const auto pos = [&](std::size_t i) { return i == 0 ? std::size_t{0} : first + i - 1; };
  std::vector<std::int64_t>& u = scratch.scores;
  u.resize(keys);
#if defined(EQINFO_ATTENTION_AVX512)
  if (K == KernelKind::kSimd && hd % 32 == 0 && hd <= detail::kMaxSummedWidth && keys < (std::size_t{1} << 17)) {
    auto& bucket_bias = scratch.bucket_bias;
    bucket_bias.resize(keys);
    for (std::size_t i = 0; i < keys; ++i)
      bucket_bias[i] = p.rel_bucket[std::min(t - pos(i), p.max_distance)] * static_cast<std::int32_t>(p.heads);
    const std::size_t skip = kv.row(first) - 1;  // key i >= 1 is cache row skip + i (KvRows::row)
    for (std::size_t h = 0; h < p.heads; ++h) {
      switch (hd / 32) {
        case 1: detail::attend_head_avx512<1>(p, h, q + h * hd, kv, skip, keys, bucket_bias.data(), u.data(), a + h * hd); break;
        case 2: detail::attend_head_avx512<2>(p, h, q + h * hd, kv, skip, keys, bucket_bias.data(), u.data(), a + h * hd); break;
        case 3: detail::attend_head_avx512<3>(p, h, q + h * hd, kv, skip, keys, bucket_bias.data(), u.data(), a + h * hd); break;
        case 4: detail::attend_head_avx512<4>(p, h, q + h * hd, kv, skip, keys, bucket_bias.data(), u.data(), a + h * hd); break;
        default: break;
      }
    }
    return;
  }
#endif
  std::array<std::int64_t, 256> num;  // hd <= d <= 256
  for (std::size_t h = 0; h < p.heads; ++h) {
    std::int64_t mx = INT64_MIN;
    for (std::size_t i = 0; i < keys; ++i) {
      const std::size_t tau = pos(i);
      const std::int32_t dot = m1::dot<K>(q + h * hd, kv.keys + kv.row(tau) * d + h * hd, hd);
      const auto bucket = static_cast<std::size_t>(p.rel_bucket[std::min(t - tau, p.max_distance)]);
      u[i] = requant(dot, p.score_mult, p.score_shift) + p.rel_bias[bucket * p.heads + h];
      mx = std::max(mx, u[i]);
    }
    std::int64_t total = 0;
    std::fill_n(num.begin(), hd, 0);
    for (std::size_t i = 0; i < keys; ++i) {
      const std::int64_t e = exp2_neg(mx - u[i], p.exp2_lut);
      if (e == 0) continue;
      total += e;
      const std::int16_t* vt = kv.values + kv.row(pos(i)) * d + h * hd;
      for (std::size_t j = 0; j < hd; ++j) num[j] += e * vt[j];
    }
    // |num_j| <= S · A with S <= keys · 2^15: Divisor40 (vectorised) up to
    // 2^13 keys, ExactDivisor (|num_j| < 2^62) beyond.
    std::int16_t* ah = a + h * hd;
    const auto divide_all = [&](const auto& by_total) {
      for (std::size_t j = 0; j < hd; ++j)
        ah[j] = static_cast<std::int16_t>(clamp32(by_total.div_round(num[j]), -kActivationClamp, kActivationClamp));
    };
    if constexpr (K == KernelKind::kScalar) {
      for (std::size_t j = 0; j < hd; ++j)
        ah[j] = static_cast<std::int16_t>(clamp32(div_round(num[j], total), -kActivationClamp, kActivationClamp));
    } else {
      if (keys <= (std::size_t{1} << 13))
        divide_all(Divisor40(static_cast<std::uint64_t>(total)));
      else
        divide_all(ExactDivisor(static_cast<std::uint64_t>(total)));
    }
  }
}

// The run-time choice, for tests and tools (the model picks K once per call: m1/backend.hpp).
inline void attend(const AttentionParams& p, std::size_t t, const std::int16_t* q, const KvRows& kv, std::int16_t* a,
                   AttentionScratch& scratch, KernelKind kind) {
  kind == KernelKind::kScalar ? attend<KernelKind::kScalar>(p, t, q, kv, a, scratch) : attend<KernelKind::kSimd>(p, t, q, kv, a, scratch);
}

}  // namespace eqinfo::m1
