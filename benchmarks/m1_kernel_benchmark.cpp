// The M1 kernel benchmarks: M1/peak/... (the SIMD multiply-accumulate
// peak), M1/clock, M1/matmul/... (m1::packed_gemm and m1::matmul_reference
// on the M1 shapes, one matrix at a time, its weights hot in L1/L2),
// M1/matmul/simd/model/R:k (every product of one M1 row in turn: 2.4 MB of
// weights, more than a Zen 4 core's 1 MB L2, as in a model call) and
// M1/rowop/... (the per-row steps between the products: RMSNorm, attention,
// the frequency table).  m1_bench_common.hpp describes the counters.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_text.hpp"
#include "eqinfo/frequency_table.hpp"
#include "eqinfo/m1/attention.hpp"
#include "eqinfo/m1/packed_gemm.hpp"
#include "eqinfo/m1/row_ops.hpp"
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

// Every product of one M1 row in the order a model call runs them (per layer qkv, o, w1, w2;
// then the output layer), on R rows: m1-3m's / m1-v2's shapes, d = 256, F = 1024, 3 layers,
// V = 257, random int8 weights. The 2.4 MB of weights do not fit a 1 MB L2, so each call
// streams them from L3, and R rows share each weight byte: the ceiling of the products of
// a call of R rows (a single document's look-ahead calls hold 2-4 rows).
void BM_ModelProducts(benchmark::State& state, std::size_t rows) {
  constexpr std::size_t d = 256, F = 1024, V = 257, layers = 3;
  struct Shape {
    std::size_t in, out;
  };
  std::vector<Shape> shapes;
  for (std::size_t l = 0; l < layers; ++l) shapes.insert(shapes.end(), {{d, 3 * d}, {d, d}, {d, F}, {F, d}});
  shapes.push_back({d, V});
  bench::Rng rng(rows);
  std::vector<m1::PackedWeights> weights;
  double macs = 0;
  for (const Shape& s : shapes) {
    std::vector<std::int8_t> w(s.out * s.in);
    for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(rng.below(255)) - 127);
    weights.emplace_back(w.data(), s.out, s.in);
    macs += static_cast<double>(rows * s.in * s.out);
  }
  std::vector<std::int16_t> x(rows * F);
  for (auto& v : x) v = static_cast<std::int16_t>(static_cast<int>(rng.below(2 * 4095 + 1)) - 4095);
  std::vector<std::int32_t> acc(rows * F);
  for (auto _ : state) {
    for (const auto& w : weights) m1::packed_gemm(w, x.data(), rows, acc.data(), w.out());
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  set_mac_counters(state, static_cast<double>(state.iterations()) * macs);
}

// The per-row steps between the products, one row: RMSNorm of d = 256 residuals, attention
// (4 heads of 64) at position t over t + 1 cached positions, and the frequency table from
// V = 257 logits; the time column is one call. A row of M1 runs 7 RMSNorms, 3 attentions and
// (when its table is wanted) one table.
void BM_RmsNorm(benchmark::State& state, m1::KernelKind kind) {
  constexpr std::size_t d = 256;
  bench::Rng rng(1);
  std::vector<std::int32_t> x(d);
  for (auto& v : x) v = static_cast<std::int32_t>(rng.below(1 << 20)) - (1 << 19);
  std::vector<std::int16_t> n(d);
  for (auto _ : state) {
    m1::rmsnorm(x.data(), d, n.data(), kind);
    benchmark::DoNotOptimize(n.data());
    benchmark::ClobberMemory();
  }
}

std::vector<std::int32_t> exp2_table() {
  std::vector<std::int32_t> lut(1024);
  for (std::size_t i = 0; i < lut.size(); ++i) lut[i] = static_cast<std::int32_t>(std::lround(32768.0 * std::exp2(-static_cast<double>(i) / 1024.0)));
  return lut;
}

void BM_Attend(benchmark::State& state, std::size_t t, m1::KernelKind kind) {
  constexpr std::size_t d = 256, heads = 4, max_distance = 128;
  bench::Rng rng(t);
  const auto value = [&] { return static_cast<std::int16_t>(static_cast<int>(rng.below(2 * 4095 + 1)) - 4095); };
  std::vector<std::int16_t> q(d), keys((t + 1) * d), values((t + 1) * d), a(d);
  for (auto* v : {&q, &keys, &values})
    for (auto& e : *v) e = value();
  std::vector<std::int32_t> bucket(max_distance + 1), bias(32 * heads);
  for (std::size_t i = 0; i <= max_distance; ++i) bucket[i] = static_cast<std::int32_t>(std::min<std::size_t>(i, 31));
  for (auto& b : bias) b = static_cast<std::int32_t>(rng.below(6001)) - 3000;
  const auto lut = exp2_table();
  const m1::AttentionParams p{d, heads, d / heads, max_distance, 256, 1 << 14, 24, bias, bucket, lut};
  m1::AttentionScratch scratch;
  for (auto _ : state) {
    m1::attend(p, t, q.data(), m1::KvRows{keys.data(), values.data(), 1}, a.data(), scratch, kind);
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
}

void BM_Table(benchmark::State& state, m1::KernelKind kind) {
  constexpr std::size_t V = 257;
  bench::Rng rng(2);
  std::vector<std::int32_t> acc(V), mult(V);
  for (auto& v : acc) v = static_cast<std::int32_t>(rng.below(1 << 22)) - (1 << 21);
  for (auto& m : mult) m = 1 << 14;
  const auto lut = exp2_table();
  FrequencyTable<16> table;
  for (auto _ : state) {
    m1::logits_to_table<16>(acc.data(), mult, 12, lut, table, kind);
    benchmark::DoNotOptimize(&table);
    benchmark::ClobberMemory();
  }
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
  for (std::size_t rows : {1, 2, 3, 4, 8, 16, 32})
    timed(RegisterBenchmark((name("M1/matmul/simd/model/R:") + std::to_string(rows)).c_str(), BM_ModelProducts, rows), 1,
          kKernelMinTime)
        ->Unit(benchmark::kMicrosecond);
  for (auto kind : kinds) {
    const std::string k = kind_name(kind);
    timed(RegisterBenchmark(("M1/rowop/" + k + "/rmsnorm").c_str(), BM_RmsNorm, kind), 1, kKernelMinTime)->Unit(benchmark::kNanosecond);
    for (std::size_t t : {4, 16, 255})
      timed(RegisterBenchmark(("M1/rowop/" + k + "/attend/t:" + std::to_string(t)).c_str(), BM_Attend, t, kind), 1, kKernelMinTime)
          ->Unit(benchmark::kNanosecond);
    timed(RegisterBenchmark(("M1/rowop/" + k + "/table").c_str(), BM_Table, kind), 1, kKernelMinTime)->Unit(benchmark::kNanosecond);
  }
  return 0;
}

const int registered = register_all();

}  // namespace
