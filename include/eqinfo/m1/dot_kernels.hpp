// Integer dot products, the inner loop of the fixed-point M1: int16
// activations against int16 (widened int8) weights or int16 keys, summed
// exactly in int32.  The bounds of docs/integer_m1.md keep every partial sum
// inside int32, so the scalar and SIMD kernels — which add in different
// orders — return identical results.
//
// SIMD: AVX-512 VNNI (vpdpwssd) or AVX2 (vpmaddwd), chosen at compile time;
// xsimd has no widening multiply-add of int16 pairs, so these are intrinsics.
// Without either, the "SIMD" kernel is the scalar one.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define EQINFO_DOT_AVX512VNNI 1
#elif defined(__AVX2__)
#include <immintrin.h>
#define EQINFO_DOT_AVX2 1
#endif

namespace eqinfo::m1 {

enum class KernelKind { kScalar, kSimd };

inline const char* simd_kernel_name() {
#if defined(EQINFO_DOT_AVX512VNNI)
  return "avx512-vnni";
#elif defined(EQINFO_DOT_AVX2)
  return "avx2";
#else
  return "scalar (no SIMD instruction set enabled at compile time)";
#endif
}

inline std::int32_t dot_scalar(const std::int16_t* a, const std::int16_t* b, std::size_t n) noexcept {
  std::int32_t s = 0;
  for (std::size_t i = 0; i < n; ++i) s += std::int32_t{a[i]} * std::int32_t{b[i]};
  return s;
}

// Four dot products of `a` with rows b0..b3, sharing the loads of `a`.
inline void dot4_simd(const std::int16_t* a, const std::int16_t* b0, const std::int16_t* b1, const std::int16_t* b2,
                      const std::int16_t* b3, std::size_t n, std::int32_t* out) noexcept {
  std::size_t i = 0;
  std::int32_t tail[4] = {0, 0, 0, 0};
#if defined(EQINFO_DOT_AVX512VNNI)
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 32 <= n; i += 32) {
    const __m512i x = _mm512_loadu_si512(a + i);
    s0 = _mm512_dpwssd_epi32(s0, x, _mm512_loadu_si512(b0 + i));
    s1 = _mm512_dpwssd_epi32(s1, x, _mm512_loadu_si512(b1 + i));
    s2 = _mm512_dpwssd_epi32(s2, x, _mm512_loadu_si512(b2 + i));
    s3 = _mm512_dpwssd_epi32(s3, x, _mm512_loadu_si512(b3 + i));
  }
  tail[0] = _mm512_reduce_add_epi32(s0);
  tail[1] = _mm512_reduce_add_epi32(s1);
  tail[2] = _mm512_reduce_add_epi32(s2);
  tail[3] = _mm512_reduce_add_epi32(s3);
#elif defined(EQINFO_DOT_AVX2)
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 16 <= n; i += 16) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + i))));
    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + i))));
    s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b2 + i))));
    s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b3 + i))));
  }
  const auto hsum = [](__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
  };
  tail[0] = hsum(s0);
  tail[1] = hsum(s1);
  tail[2] = hsum(s2);
  tail[3] = hsum(s3);
#endif
  out[0] = tail[0] + dot_scalar(a + i, b0 + i, n - i);
  out[1] = tail[1] + dot_scalar(a + i, b1 + i, n - i);
  out[2] = tail[2] + dot_scalar(a + i, b2 + i, n - i);
  out[3] = tail[3] + dot_scalar(a + i, b3 + i, n - i);
}

inline std::int32_t dot_simd(const std::int16_t* a, const std::int16_t* b, std::size_t n) noexcept {
  std::size_t i = 0;
  std::int32_t head = 0;
#if defined(EQINFO_DOT_AVX512VNNI)
  __m512i s = _mm512_setzero_si512();
  for (; i + 32 <= n; i += 32) s = _mm512_dpwssd_epi32(s, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
  head = _mm512_reduce_add_epi32(s);
#elif defined(EQINFO_DOT_AVX2)
  __m256i s = _mm256_setzero_si256();
  for (; i + 16 <= n; i += 16)
    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)),
                                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i))));
  __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
  head = _mm_cvtsi128_si32(h);
#endif
  return head + dot_scalar(a + i, b + i, n - i);
}

inline std::int32_t dot(const std::int16_t* a, const std::int16_t* b, std::size_t n, KernelKind kind) noexcept {
  return kind == KernelKind::kScalar ? dot_scalar(a, b, n) : dot_simd(a, b, n);
}

// acc[r][j] = sum_k x[r][k] * w[j][k]  for r < rows, j < out; x is [rows][in],
// w is [out][in] (int16), acc is [rows][out].
inline void matmul_rows(const std::int16_t* x, std::size_t rows, std::size_t in, const std::int16_t* w, std::size_t out,
                        std::int32_t* acc, KernelKind kind) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int16_t* xr = x + r * in;
    std::int32_t* ar = acc + r * out;
    std::size_t j = 0;
    if (kind == KernelKind::kSimd)
      for (; j + 4 <= out; j += 4) dot4_simd(xr, w + j * in, w + (j + 1) * in, w + (j + 2) * in, w + (j + 3) * in, in, ar + j);
    for (; j < out; ++j) ar[j] = dot_scalar(xr, w + j * in, in);
  }
}

}  // namespace eqinfo::m1
