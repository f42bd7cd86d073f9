// The kernel choice of the fixed-point M1 (KernelKind, the instruction set
// picked at compile time) and the int16 dot product of attention's q·k,
// summed exactly in int32.  The bounds of docs/integer_m1.md keep every
// partial sum inside int32, so the scalar and SIMD kernels — which add in
// different orders — return identical results.  The matrix products are in
// packed_gemm.hpp.
//
// SIMD: AVX-512 VNNI (vpdpwssd) or AVX2 (vpmaddwd), chosen at compile time;
// xsimd has no widening multiply-add of int16 pairs, so these are intrinsics.
// Without either, the "SIMD" kernel is the scalar one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define EQINFO_DOT_AVX512VNNI 1
#elif defined(__AVX2__)
#include <immintrin.h>
#define EQINFO_DOT_AVX2 1
#endif

namespace eqinfo::m1 {

enum class KernelKind { kScalar, kSimd };

// The kernel a setting names ("simd" | "scalar"), for the tools and the binding.
inline std::optional<KernelKind> parse_kernel_kind(std::string_view name) noexcept {
  if (name == "simd") return KernelKind::kSimd;
  if (name == "scalar") return KernelKind::kScalar;
  return std::nullopt;
}

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

template <KernelKind K>
std::int32_t dot(const std::int16_t* a, const std::int16_t* b, std::size_t n) noexcept {
  if constexpr (K == KernelKind::kScalar)
    return dot_scalar(a, b, n);
  else
    return dot_simd(a, b, n);
}
// The run-time choice, for tests and tools (the model picks K once per call: m1/backend.hpp).
inline std::int32_t dot(const std::int16_t* a, const std::int16_t* b, std::size_t n, KernelKind kind) noexcept {
  return kind == KernelKind::kScalar ? dot<KernelKind::kScalar>(a, b, n) : dot<KernelKind::kSimd>(a, b, n);
}

}  // namespace eqinfo::m1
