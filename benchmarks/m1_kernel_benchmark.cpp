// The M1 kernel benchmarks: M1/peak/... (the SIMD multiply-accumulate
// peak), M1/clock and M1/matmul/... (m1::packed_gemm and
// m1::matmul_reference on the M1 shapes).  m1_bench_common.hpp describes the
// counters.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_text.hpp"
#include "eqinfo/m1/packed_gemm.hpp"
#include "m1_bench_common.hpp"

namespace {

using namespace eqinfo;
using namespace eqinfo::bench;

template <int N>
void BM_Peak(benchmark::State& state) {
  constexpr std::uint64_t kSteps = 1 << 16;
  for (auto _ : state) benchmark::DoNotOptimize(peak_loop<N>(kSteps));
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kSteps * N * kMacsPerStep / 1e9,
                                                benchmark::Counter::kIsRate);
}

// 16 dependent adds per step: 16 cycles per step on any core with 1-cycle adds.
void BM_Clock(benchmark::State& state) {
  constexpr std::uint64_t kSteps = 1 << 16;
  std::uint64_t c = 0;
  for (auto _ : state) {
    for (std::uint64_t i = 0; i < kSteps; ++i)
      asm volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          : "+r"(c));
    benchmark::DoNotOptimize(c);
  }
  state.counters["GHz"] = benchmark::Counter(static_cast<double>(state.iterations()) * kSteps * 16 / 1e9, benchmark::Counter::kIsRate);
  // peak / clock = seconds / (cycles / peak MAC/s): an inverted rate.
  state.counters["peak_MAC/cycle"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kSteps * 16 / (peak_gmacs() * 1e9),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---------------------------------------------------------------------------
// The matrix kernels on the M1 shapes: m1::packed_gemm (simd) and
// m1::matmul_reference (scalar).

void BM_Matmul(benchmark::State& state, std::size_t rows, std::size_t in, std::size_t out, m1::KernelKind kind) {
  bench::Rng rng(rows * 1000003 + in * 1009 + out);
  std::vector<std::int16_t> x(rows * in);
  std::vector<std::int8_t> w(out * in);
  for (auto& v : x) v = static_cast<std::int16_t>(static_cast<int>(rng.below(2 * 4095 + 1)) - 4095);  // activation range
  for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(rng.below(255)) - 127);            // int8 weights
  const m1::PackedWeights packed(w.data(), out, in);
  std::vector<std::int32_t> acc(rows * out);
  for (auto _ : state) {
    if (kind == m1::KernelKind::kSimd)
      m1::packed_gemm(packed, x.data(), rows, acc.data(), out);
    else
      m1::matmul_reference(x.data(), rows, in, w.data(), out, acc.data(), out);
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  set_mac_counters(state, static_cast<double>(state.iterations()) * static_cast<double>(rows * in * out));
}

int register_all() {
  using benchmark::RegisterBenchmark;
  const std::string peak = name("M1/peak/") + kPeakInstruction;
  RegisterBenchmark((peak + "/acc:4").c_str(), BM_Peak<4>)->MinTime(kKernelMinTime);
  RegisterBenchmark((peak + "/acc:8").c_str(), BM_Peak<8>)->MinTime(kKernelMinTime);
  RegisterBenchmark((peak + "/acc:12").c_str(), BM_Peak<12>)->MinTime(kKernelMinTime);
  // Both cores at once, wall clock: what the machine gives two threads now.
  RegisterBenchmark((peak + "/acc:12").c_str(), BM_Peak<12>)->MinTime(kKernelMinTime)->Threads(2)->UseRealTime();
  RegisterBenchmark("M1/clock", BM_Clock)->MinTime(kKernelMinTime);

  const m1::KernelKind kinds[] = {m1::KernelKind::kSimd, m1::KernelKind::kScalar};
  struct Shape {
    std::size_t in, out;
  };
  const Shape shapes[] = {{256, 256}, {256, 768}, {256, 1024}, {1024, 256}, {256, 257}};
  for (auto kind : kinds)
    for (auto s : shapes)
      // R = 2: most look-ahead calls of a single document's encode (the 2-row blocks take
      // most of its time in a profile); R >= 16: decode batches and lockstep.
      for (std::size_t rows : {1, 2, 4, 16, 64})
        timed(RegisterBenchmark((name("M1/matmul/") + kind_name(kind) + "/" + std::to_string(s.in) + "x" +
                                 std::to_string(s.out) + "/R:" + std::to_string(rows))
                                    .c_str(),
                                BM_Matmul, rows, s.in, s.out, kind),
              1, kKernelMinTime)
            ->Unit(benchmark::kMicrosecond);
  return 0;
}

const int registered = register_all();

}  // namespace
