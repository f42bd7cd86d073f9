// The M1 backend seam: the operations of one forward pass whose code may
// differ between backends, all bit-identical to docs/integer_m1.md.  A
// backend is a type with
//   static void linear(const KernelLinear&, const int16_t* x, size_t rows, int32_t* acc, size_t ld_acc);
//   static void rmsnorm(const int32_t* x, size_t d, int16_t* n);
//   static void attend(const AttentionParams&, size_t t, const int16_t* q, const KvRows& cache,
//                      int16_t* a, AttentionScratch& scratch);
//   template <unsigned P> static void logits_to_table(const int32_t* acc, span mult, int shift, span lut, FrequencyTable<P>&);
// TransformerModel::forward is written once over a backend and picks one per
// call from its KernelKind, so no operation branches on the kernel inside.
// Today: ScalarBackend (the plain reference: matmul_reference on the int8
// weights as stored, exact divisions) and SimdBackend (packed_gemm over
// weights repacked at load, divisions by reciprocal, SIMD dot products).  A
// GPU or other backend is one more such type plus its case in
// TransformerModel::forward.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "eqinfo/frequency_table.hpp"
#include "eqinfo/m1/attention.hpp"
#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/m1/packed_gemm.hpp"
#include "eqinfo/m1/row_ops.hpp"

namespace eqinfo::m1 {

// One linear layer as both kernels read it: the int8 weights [out][in] as
// stored (the reference kernel) and packed for packed_gemm, with the
// requantisation of the accumulators.
struct KernelLinear {
  std::span<const std::int8_t> weight;  // [out][in]
  PackedWeights packed;
  std::size_t out = 0, in = 0;

  KernelLinear(std::span<const std::int8_t> w, std::size_t out_, std::size_t in_)
      : weight(w), packed(w.data(), out_, in_), out(out_), in(in_) {}
};

// The CPU backends, one per KernelKind.
template <KernelKind K>
struct CpuBackend {
  static constexpr KernelKind kKind = K;

  // acc[r][0..l.out) = x[r] · l.weightᵀ, x: [rows][l.in], acc: [rows][ld_acc].
  static void linear(const KernelLinear& l, const std::int16_t* x, std::size_t rows, std::int32_t* acc, std::size_t ld_acc) {
    if constexpr (K == KernelKind::kSimd)
      packed_gemm(l.packed, x, rows, acc, ld_acc);
    else
      matmul_reference(x, rows, l.in, l.weight.data(), l.out, acc, ld_acc);
  }
  static void rmsnorm(const std::int32_t* x, std::size_t d, std::int16_t* n) noexcept { m1::rmsnorm<K>(x, d, n); }
  static void attend(const AttentionParams& p, std::size_t t, const std::int16_t* q, const KvRows& cache, std::int16_t* a,
                     AttentionScratch& scratch) {
    m1::attend<K>(p, t, q, cache, a, scratch);
  }
  template <unsigned P>
  static void logits_to_table(const std::int32_t* acc, std::span<const std::int32_t> mult, int shift, std::span<const std::int32_t> lut,
                              FrequencyTable<P>& table) {
    m1::logits_to_table<P, K>(acc, mult, shift, lut, table);
  }
};

using ScalarBackend = CpuBackend<KernelKind::kScalar>;
using SimdBackend = CpuBackend<KernelKind::kSimd>;

}  // namespace eqinfo::m1
