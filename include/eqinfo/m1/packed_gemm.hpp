// The matrix product of the fixed-point M1, acc = x · Wᵀ, in two forms:
//
//   matmul_reference  the plain definition, one exact int32 dot product per
//                     (row, output), reading the int8 weights as stored.
//                     `--kernel scalar` runs this; it is the reference the
//                     fast kernel is tested against.
//   packed_gemm       the fast kernel.  The weights are repacked once at load
//                     (PackedWeights) so that one SIMD register holds the
//                     weights of 16 consecutive outputs for one input pair;
//                     the pair of activations is broadcast and vpdpwssd
//                     (AVX-512 VNNI) or vpmaddwd (AVX2) adds x[2k]·W[j][2k] +
//                     x[2k+1]·W[j][2k+1] into output j's own int32 lane.  Every
//                     lane is one output's running sum, so no horizontal
//                     reduction remains, and a register block of up to
//                     4 rows × 64 outputs reuses each weight load for 4 rows
//                     and each broadcast for 4 registers.
//
// Both give identical results: every partial sum of Σ_k x[k]·W[j][k] is
// bounded by A · Σ_k |W[j][k]| < 2^31 (docs/integer_m1.md), so int32 addition
// is exact in any order.  The weights stay int8 in memory (half the bytes to
// stream) and are widened to int16 in registers (vpmovsxbw).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "eqinfo/m1/dot_kernels.hpp"

namespace eqinfo::m1 {

// acc[r][j] = Σ_k x[r][k] · w[j][k]   x: [rows][in] int16, w: [out][in] int8,
// acc: [rows][ld_acc] int32 (the first `out` columns written).
inline void matmul_reference(const std::int16_t* x, std::size_t rows, std::size_t in, const std::int8_t* w, std::size_t out,
                             std::int32_t* acc, std::size_t ld_acc) noexcept {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < out; ++j) {
      std::int32_t s = 0;
      for (std::size_t k = 0; k < in; ++k) s += std::int32_t{x[r * in + k]} * std::int32_t{w[j * in + k]};
      acc[r * ld_acc + j] = s;
    }
}

// One linear layer's int8 weights W[out][in] in the broadcast layout:
// panels of 16 outputs; panel p stores, for every input pair k, the 32 bytes
// W[16p + c][2k + e] at [k][c][e] (c < 16, e < 2), i.e. data is
// [panels][pairs][16][2].  Outputs past `out` and the odd input's partner
// (in odd) are zero, so they add nothing.
class PackedWeights {
 public:
  static constexpr std::size_t kPanel = 16;                  // outputs per panel: one zmm of int32 sums
  static constexpr std::size_t kPanelPairBytes = kPanel * 2;  // one input pair of one panel

  PackedWeights() = default;
  PackedWeights(const std::int8_t* w, std::size_t out, std::size_t in)
      : out_(out), in_(in), pairs_((in + 1) / 2), panels_((out + kPanel - 1) / kPanel), data_(allocate(panels_ * pairs_ * kPanelPairBytes)) {
    std::fill_n(data_.get(), panels_ * pairs_ * kPanelPairBytes, std::int8_t{0});
    for (std::size_t j = 0; j < out; ++j)
      for (std::size_t k = 0; k < in; ++k)
        data_[((j / kPanel) * pairs_ + k / 2) * kPanelPairBytes + (j % kPanel) * 2 + k % 2] = w[j * in + k];
  }

  [[nodiscard]] std::size_t out() const noexcept { return out_; }
  [[nodiscard]] std::size_t in() const noexcept { return in_; }
  [[nodiscard]] std::size_t pairs() const noexcept { return pairs_; }
  [[nodiscard]] std::size_t panels() const noexcept { return panels_; }
  // Panel p: [pairs][16][2] int8, 64-byte aligned.
  [[nodiscard]] const std::int8_t* panel(std::size_t p) const noexcept { return data_.get() + p * pairs_ * kPanelPairBytes; }

 private:
  struct AlignedDelete {
    void operator()(std::int8_t* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
  };
  // Cache-line aligned, so no 32-byte weight load straddles two lines.
  static std::unique_ptr<std::int8_t[], AlignedDelete> allocate(std::size_t bytes) {
    return std::unique_ptr<std::int8_t[], AlignedDelete>(static_cast<std::int8_t*>(::operator new[](std::max<std::size_t>(bytes, 1), std::align_val_t{64})));
  }

  std::size_t out_ = 0, in_ = 0, pairs_ = 0, panels_ = 0;
  std::unique_ptr<std::int8_t[], AlignedDelete> data_;
};

namespace detail {

// Input pair k of row x as the int32 the broadcast reads: x[2k] in the low
// half, x[2k+1] in the high half (zero past an odd `in`).
inline std::int32_t input_pair(const std::int16_t* x, std::size_t k, std::size_t in) noexcept {
  if (2 * k + 1 < in) {
    std::int32_t v;
    std::memcpy(&v, x + 2 * k, sizeof v);
    return v;
  }
  return static_cast<std::int32_t>(static_cast<std::uint16_t>(x[2 * k]));
}

#if defined(EQINFO_DOT_AVX512VNNI)
// acc + vpdpwssd(a, b).  With GCC (12) the intrinsic _mm512_dpwssd_epi32 in
// the register-blocked loop below comes out with a register copy around
// every accumulator update and two of the 16 accumulators spilled to the
// stack, re-loaded and stored every iteration; that loop-carried trip
// through memory, not the multiply-adds or their companions, held the
// kernel at ~51 % of the core's peak.  The same instruction as inline asm
// (accumulator tied in place, "+v") compiles to the clean loop: ~92 %.
inline __m512i dpwssd(__m512i acc, __m512i a, __m512i b) noexcept {
#if defined(__GNUC__)
  asm("vpdpwssd {%2, %1, %0|%0, %1, %2}" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
#else
  return _mm512_dpwssd_epi32(acc, a, b);
#endif
}
// Rows × (Panels·16) outputs: Rows·Panels zmm accumulators (≤ 16 of 32).
// Fewer than 8 independent accumulators cannot cover vpdpwssd's latency at
// two per cycle, so the small blocks (the 1-3 row remainders, the last
// panels) keep Sets = 2 sets, one for even and one for odd input pairs,
// added at the end: the same exact sum in another order.
template <std::size_t Rows, std::size_t Panels>
void gemm_block(const PackedWeights& w, std::size_t first_panel, const std::int16_t* x, std::int32_t* acc, std::size_t ld_acc) noexcept {
  constexpr std::size_t Sets = Rows * Panels < 8 ? 2 : 1;
  const std::size_t in = w.in(), pairs = w.pairs(), full = in / 2;
  __m512i sum[Sets][Rows][Panels];
  for (std::size_t s = 0; s < Sets; ++s)
    for (std::size_t r = 0; r < Rows; ++r)
      for (std::size_t p = 0; p < Panels; ++p) sum[s][r][p] = _mm512_setzero_si512();
  const std::int8_t* panel[Panels];
  for (std::size_t p = 0; p < Panels; ++p) panel[p] = w.panel(first_panel + p);
  const auto step = [&](std::size_t s, std::size_t k, const std::int32_t* pair) {
    __m512i wk[Panels];
    for (std::size_t p = 0; p < Panels; ++p)
      wk[p] = _mm512_cvtepi8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(panel[p] + k * PackedWeights::kPanelPairBytes)));
    for (std::size_t r = 0; r < Rows; ++r) {
      const __m512i xr = _mm512_set1_epi32(pair[r]);
      for (std::size_t p = 0; p < Panels; ++p) sum[s][r][p] = dpwssd(sum[s][r][p], xr, wk[p]);
    }
  };
  std::int32_t pair[Rows];
  std::size_t k = 0;
  for (; k + Sets <= full; k += Sets)
    for (std::size_t s = 0; s < Sets; ++s) {
      for (std::size_t r = 0; r < Rows; ++r) std::memcpy(&pair[r], x + r * in + 2 * (k + s), sizeof(std::int32_t));
      step(s, k + s, pair);
    }
  for (; k < pairs; ++k) {
    for (std::size_t r = 0; r < Rows; ++r) pair[r] = input_pair(x + r * in, k, in);
    step(0, k, pair);
  }
  for (std::size_t p = 0; p < Panels; ++p) {
    const std::size_t col = (first_panel + p) * PackedWeights::kPanel;
    const std::size_t valid = std::min(PackedWeights::kPanel, w.out() - col);
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1);
    for (std::size_t r = 0; r < Rows; ++r) {
      __m512i total = sum[0][r][p];
      for (std::size_t s = 1; s < Sets; ++s) total = _mm512_add_epi32(total, sum[s][r][p]);
      _mm512_mask_storeu_epi32(acc + r * ld_acc + col, mask, total);
    }
  }
}
inline constexpr std::size_t kMaxBlockPanels = 4;  // 4 rows × 64 outputs
#elif defined(EQINFO_DOT_AVX2)
// acc + vpmaddwd(x, w).  With the intrinsics, GCC (12) fills all 16 ymm
// registers in the 4-row block (8 accumulators, 2 weights, 4 broadcasts,
// 2 products), keeps one accumulator on the stack, loaded and stored every
// iteration, and copies every other accumulator after its add: the
// store-to-load trip through memory is loop-carried, and held the kernel at
// ~0.40 of the core's peak at every row count.  The product and its sum as
// one asm statement (accumulator tied in place, "+x") leave nothing to spill.
// The product goes to a fixed scratch register, ymm15, declared clobbered:
// given it as an output operand instead ("=&x"), GCC swapped it with the
// accumulator and copied the sum back after every add (9 vmovdqa in the
// 4-row loop's 33 instructions; 24 without them: the 2-64-row products
// x1.0-1.2 faster in the benchmark suite, docs/performance.md).  Reusing one register costs nothing:
// the core renames it per instruction.
inline __m256i madd_add(__m256i acc, __m256i x, __m256i w) noexcept {
#if defined(__GNUC__) && defined(__x86_64__)  // ymm15 exists in 64-bit mode only
  asm("vpmaddwd {%2, %1, %%ymm15|ymm15, %1, %2}\n\tvpaddd {%%ymm15, %0, %0|%0, %0, ymm15}" : "+x"(acc) : "x"(x), "x"(w) : "xmm15");
  return acc;
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w));
#endif
}
// Rows × 16 outputs: a panel is two ymm of 8 sums, so Rows·2 accumulators
// (≤ 8 of 16 registers, leaving room for the weights and the broadcast).
template <std::size_t Rows, std::size_t Panels>
void gemm_block(const PackedWeights& w, std::size_t first_panel, const std::int16_t* x, std::int32_t* acc, std::size_t ld_acc) noexcept {
  static_assert(Panels == 1);
  const std::size_t in = w.in(), pairs = w.pairs(), full = in / 2;
  __m256i lo[Rows], hi[Rows];
  for (std::size_t r = 0; r < Rows; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
  const std::int8_t* panel = w.panel(first_panel);
  const auto step = [&](std::size_t k, const std::int32_t* pair) {
    const std::int8_t* wk = panel + k * PackedWeights::kPanelPairBytes;
    const __m256i w_lo = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(wk)));
    const __m256i w_hi = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(wk + 16)));
    for (std::size_t r = 0; r < Rows; ++r) {
      const __m256i xr = _mm256_set1_epi32(pair[r]);
      lo[r] = madd_add(lo[r], xr, w_lo);
      hi[r] = madd_add(hi[r], xr, w_hi);
    }
  };
  std::int32_t pair[Rows];
  for (std::size_t k = 0; k < full; ++k) {
    for (std::size_t r = 0; r < Rows; ++r) std::memcpy(&pair[r], x + r * in + 2 * k, sizeof(std::int32_t));
    step(k, pair);
  }
  if (full < pairs) {
    for (std::size_t r = 0; r < Rows; ++r) pair[r] = input_pair(x + r * in, full, in);
    step(full, pair);
  }
  const std::size_t col = first_panel * PackedWeights::kPanel;
  const std::size_t valid = std::min(PackedWeights::kPanel, w.out() - col);
  alignas(32) std::int32_t tmp[PackedWeights::kPanel];
  for (std::size_t r = 0; r < Rows; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), lo[r]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 8), hi[r]);
    std::copy_n(tmp, valid, acc + r * ld_acc + col);
  }
}
inline constexpr std::size_t kMaxBlockPanels = 1;
#else
// No SIMD instruction set: the same blocking in plain C++ (what the compiler
// makes of it is its business; the result is the same exact sum).
template <std::size_t Rows, std::size_t Panels>
void gemm_block(const PackedWeights& w, std::size_t first_panel, const std::int16_t* x, std::int32_t* acc, std::size_t ld_acc) noexcept {
  static_assert(Panels == 1);
  constexpr std::size_t kP = PackedWeights::kPanel;
  const std::size_t in = w.in();
  std::int32_t sum[Rows][kP] = {};
  const std::int8_t* panel = w.panel(first_panel);
  for (std::size_t k = 0; k < w.pairs(); ++k) {
    const std::int8_t* wk = panel + k * PackedWeights::kPanelPairBytes;
    for (std::size_t r = 0; r < Rows; ++r) {
      const std::int32_t x0 = x[r * in + 2 * k], x1 = 2 * k + 1 < in ? x[r * in + 2 * k + 1] : 0;
      for (std::size_t c = 0; c < kP; ++c) sum[r][c] += x0 * wk[2 * c] + x1 * wk[2 * c + 1];
    }
  }
  const std::size_t col = first_panel * kP;
  const std::size_t valid = std::min(kP, w.out() - col);
  for (std::size_t r = 0; r < Rows; ++r) std::copy_n(sum[r], valid, acc + r * ld_acc + col);
}
inline constexpr std::size_t kMaxBlockPanels = 1;
#endif

inline constexpr std::size_t kMaxBlockRows = 4;

template <std::size_t Rows>
void gemm_rows(const PackedWeights& w, std::size_t first_panel, std::size_t panels, const std::int16_t* x, std::int32_t* acc,
               std::size_t ld_acc) noexcept {
  switch (panels) {
    case 1: return gemm_block<Rows, 1>(w, first_panel, x, acc, ld_acc);
#if defined(EQINFO_DOT_AVX512VNNI)
    case 2: return gemm_block<Rows, 2>(w, first_panel, x, acc, ld_acc);
    case 3: return gemm_block<Rows, 3>(w, first_panel, x, acc, ld_acc);
    case 4: return gemm_block<Rows, 4>(w, first_panel, x, acc, ld_acc);
#endif
    default: return;
  }
}

}  // namespace detail

// acc[r][j] = Σ_k x[r][k] · W[j][k] for r < rows and the outputs of panels
// [panel_begin, panel_end) (all of them by default; threads split by panels).
// x: [rows][in] int16; acc: [rows][ld_acc] int32.
//
// Loop order: for each group of (up to) 4 panels, every block of 4 rows —
// the group's weights (64 outputs · in bytes ≤ 64 KiB) stay in L1/L2 while
// the rows go by, so each weight byte comes from memory once per call.
inline void packed_gemm(const PackedWeights& w, const std::int16_t* x, std::size_t rows, std::int32_t* acc, std::size_t ld_acc,
                        std::size_t panel_begin = 0, std::size_t panel_end = SIZE_MAX) noexcept {
  panel_end = std::min(panel_end, w.panels());
  for (std::size_t p = panel_begin; p < panel_end; p += detail::kMaxBlockPanels) {
    const std::size_t panels = std::min(detail::kMaxBlockPanels, panel_end - p);
    std::size_t r = 0;
    for (; r + detail::kMaxBlockRows <= rows; r += detail::kMaxBlockRows)
      detail::gemm_rows<4>(w, p, panels, x + r * w.in(), acc + r * ld_acc, ld_acc);
    switch (rows - r) {
      case 3: detail::gemm_rows<3>(w, p, panels, x + r * w.in(), acc + r * ld_acc, ld_acc); break;
      case 2: detail::gemm_rows<2>(w, p, panels, x + r * w.in(), acc + r * ld_acc, ld_acc); break;
      case 1: detail::gemm_rows<1>(w, p, panels, x + r * w.in(), acc + r * ld_acc, ld_acc); break;
      default: break;
    }
  }
}

}  // namespace eqinfo::m1
