// Throughput of the integer fixed-point M1 (TransformerModel<16>) and of the
// int16 dot kernels under it, against the machine's measured int16
// multiply-accumulate peak.  Built as eqinfo_m1_benchmarks; docs/performance.md
// ("M1 kernel") has the numbers and what they mean.
//
//   M1/peak/...      register-resident loop of the kernel's instruction
//                    (AVX-512 VNNI vpdpwssd zmm: 32 MACs; AVX2 vpmaddwd +
//                    vpaddd ymm: 16 MACs) on 4, 8 or 12 independent
//                    accumulators.  1 MAC = one int16 x int16 product
//                    accumulated.  Counter GMAC/s.
//   M1/clock         a chain of dependent integer adds (1 cycle each): the
//                    core's clock while it runs, so MACs/cycle = peak / GHz.
//   M1/matmul/...    m1::packed_gemm ("simd") and m1::matmul_reference
//                    ("scalar") on the M1 shapes, R rows; .../model/R:k
//                    every product of one M1 row in turn (2.4 MB of weights).
//   M1/rowop/...     one call of a per-row step: RMSNorm, attention at
//                    position t, the frequency table (time column only).
//   M1/encode/...    Equal-Info encode (b = 16, N = 16) of 4 KiB of text,
//                    with the encoder's look-ahead (predict_each) or one
//                    model call per offered symbol ("sequential").
//   M1/decode/...    its decode, windows in batches of B.
//   M1/rows/...      predict_batch on B contexts with one pending symbol each
//                    (at position kPrefix), or one context with 16 pending.
//
// Every GMAC/s counter of the model benchmarks counts the model's matrix
// MACs only: per row n_layers * (4 d^2 + 2 d F), plus V * d for each row
// whose frequency table is computed (the last pending row of a context);
// attention (q.k and a.v over the cached positions) is not counted, and its
// share is reported separately as attn_frac (its MACs / matrix MACs).
// of_peak = GMAC/s / the one-core peak measured once at startup with the
// M1/peak loop (12 accumulators, best of 8 runs, in thread CPU time).
//
// Time base, chosen for a shared machine: single-threaded benchmarks use
// Google Benchmark's default, the thread's CPU time, so their rates are per
// core-second actually received (a busy neighbour does not halve them); the
// model on 2 threads uses wall-clock time (its worker thread does not show in
// the main thread's CPU time), and process CPU time for the CPU column.
// Counter cores = process CPU time / wall time over the timed loop: < 1 on
// one thread means the core was shared, and on 2 threads it is how many
// cores the run actually got.  MinTime is small (0.2-0.3 s) so the whole
// suite runs in about a minute.  The model file is the bundled M1
// (models/bundled.json, role "m1"), or $EQINFO_M1_MODEL if set; the model
// benchmarks are skipped (with an error line) when it is missing.
//
// This header holds what both files of the suite share
// (m1_kernel_benchmark.cpp: M1/peak, M1/clock, M1/matmul, M1/rowop;
// m1_model_benchmark.cpp: M1/rows, M1/encode, M1/decode): the peak loop and
// the one-core peak that of_peak divides by, timers, the cores counter, the
// MAC counters and the registration helpers.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "eqinfo/m1/dot_kernels.hpp"

// Inline functions in a named namespace (not an anonymous one): both
// translation units share one peak measurement.
namespace eqinfo::bench {

inline constexpr double kMinTime = 0.3;
inline constexpr double kKernelMinTime = 0.2;

// ---------------------------------------------------------------------------
// The SIMD peak: the kernel's multiply-accumulate instruction, register to
// register, on N independent accumulators (inline asm, so the compiler can
// neither drop nor reschedule it).

#if defined(EQINFO_DOT_AVX512VNNI)
using Vec = __m512i;
inline constexpr double kMacsPerStep = 32;  // 16 int32 lanes x 2 int16 products
inline constexpr const char* kPeakInstruction = "vpdpwssd_zmm";
#define EQINFO_MAC(a) "vpdpwssd %[y], %[x], %[" #a "]\n\t"
#define EQINFO_SCRATCH
inline Vec vec_set(int v) { return _mm512_set1_epi16(static_cast<short>(v)); }
inline std::int64_t vec_sum(Vec v) { return _mm512_reduce_add_epi32(v); }
#elif defined(EQINFO_DOT_AVX2)
using Vec = __m256i;
inline constexpr double kMacsPerStep = 16;  // 8 int32 lanes x 2 int16 products
inline constexpr const char* kPeakInstruction = "vpmaddwd+vpaddd_ymm";
#define EQINFO_MAC(a) "vpmaddwd %[y], %[x], %[t]\n\tvpaddd %[t], %[" #a "], %[" #a "]\n\t"
#define EQINFO_SCRATCH , [t] "=&v"(scratch)
inline Vec vec_set(int v) { return _mm256_set1_epi16(static_cast<short>(v)); }
inline std::int64_t vec_sum(Vec v) {
  alignas(32) std::int32_t l[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), v);
  std::int64_t s = 0;
  for (auto x : l) s += x;
  return s;
}
#endif

#if defined(EQINFO_DOT_AVX512VNNI) || defined(EQINFO_DOT_AVX2)
template <int N>
inline std::int64_t peak_loop(std::uint64_t steps) {
  static_assert(N == 4 || N == 8 || N == 12);
  Vec x = vec_set(3), y = vec_set(5);
  Vec a0 = vec_set(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  [[maybe_unused]] Vec scratch;
  asm volatile("" : "+v"(x), "+v"(y));
  for (std::uint64_t i = 0; i < steps; ++i) {
    if constexpr (N == 4)
      asm volatile(EQINFO_MAC(a0) EQINFO_MAC(a1) EQINFO_MAC(a2) EQINFO_MAC(a3)
                   : [a0] "+v"(a0), [a1] "+v"(a1), [a2] "+v"(a2), [a3] "+v"(a3) EQINFO_SCRATCH
                   : [x] "v"(x), [y] "v"(y));
    else if constexpr (N == 8)
      asm volatile(EQINFO_MAC(a0) EQINFO_MAC(a1) EQINFO_MAC(a2) EQINFO_MAC(a3) EQINFO_MAC(a4) EQINFO_MAC(a5) EQINFO_MAC(a6)
                       EQINFO_MAC(a7)
                   : [a0] "+v"(a0), [a1] "+v"(a1), [a2] "+v"(a2), [a3] "+v"(a3), [a4] "+v"(a4), [a5] "+v"(a5), [a6] "+v"(a6),
                     [a7] "+v"(a7) EQINFO_SCRATCH
                   : [x] "v"(x), [y] "v"(y));
    else
      asm volatile(EQINFO_MAC(a0) EQINFO_MAC(a1) EQINFO_MAC(a2) EQINFO_MAC(a3) EQINFO_MAC(a4) EQINFO_MAC(a5) EQINFO_MAC(a6)
                       EQINFO_MAC(a7) EQINFO_MAC(a8) EQINFO_MAC(a9) EQINFO_MAC(a10) EQINFO_MAC(a11)
                   : [a0] "+v"(a0), [a1] "+v"(a1), [a2] "+v"(a2), [a3] "+v"(a3), [a4] "+v"(a4), [a5] "+v"(a5), [a6] "+v"(a6),
                     [a7] "+v"(a7), [a8] "+v"(a8), [a9] "+v"(a9), [a10] "+v"(a10), [a11] "+v"(a11) EQINFO_SCRATCH
                   : [x] "v"(x), [y] "v"(y));
  }
  return vec_sum(a0) + vec_sum(a1) + vec_sum(a2) + vec_sum(a3) + vec_sum(a4) + vec_sum(a5) + vec_sum(a6) + vec_sum(a7) +
         vec_sum(a8) + vec_sum(a9) + vec_sum(a10) + vec_sum(a11);
}
#else
// No SIMD kernel compiled in: the "peak" is the scalar multiply-add.
inline constexpr double kMacsPerStep = 1;
inline constexpr const char* kPeakInstruction = "scalar_imul_add";
template <int N>
inline std::int64_t peak_loop(std::uint64_t steps) {
  std::int32_t acc[N] = {}, x = 3, y = 5;
  for (std::uint64_t i = 0; i < steps; ++i)
    for (int k = 0; k < N; ++k) {
      acc[k] += x * y;
      asm volatile("" : "+r"(acc[k]));
    }
  std::int64_t s = 0;
  for (auto a : acc) s += a;
  return s;
}
#endif

inline double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
inline double wall_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// One core's peak in GMAC/s: the best of 8 runs of ~25 ms (thread CPU time)
// of the 12-accumulator loop.
inline double measure_peak_gmacs() {
  std::uint64_t steps = 1 << 16;
  for (;;) {
    const double t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    benchmark::DoNotOptimize(peak_loop<12>(steps));
    if (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0 > 0.025) break;
    steps *= 2;
  }
  double best = 0;
  for (int trial = 0; trial < 8; ++trial) {
    const double t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    benchmark::DoNotOptimize(peak_loop<12>(steps));
    best = std::max(best, static_cast<double>(steps) * 12 * kMacsPerStep / (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0) / 1e9);
  }
  return best;
}

// Process CPU time / wall time over a benchmark's timed loop.
class CoresUsed {
 public:
  CoresUsed() : cpu0_(cpu_seconds(CLOCK_PROCESS_CPUTIME_ID)), wall0_(wall_seconds()) {}
  void report(benchmark::State& state) const {
    state.counters["cores"] = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0_) / (wall_seconds() - wall0_);
  }

 private:
  double cpu0_, wall0_;
};

inline double peak_gmacs() {
  static const double peak = measure_peak_gmacs();
  return peak;
}

// GMAC/s and the fraction of the one-core peak, as rates over the run's time.
inline void set_mac_counters(benchmark::State& state, double macs_total) {
  state.counters["GMAC/s"] = benchmark::Counter(macs_total / 1e9, benchmark::Counter::kIsRate);
  state.counters["of_peak"] = benchmark::Counter(macs_total / 1e9 / peak_gmacs(), benchmark::Counter::kIsRate);
}

inline const char* kind_name(m1::KernelKind k) { return k == m1::KernelKind::kSimd ? "simd" : "scalar"; }

inline std::string name(std::string_view s) { return std::string(s); }

// Single-threaded: thread CPU time (the default); the model on more threads: wall clock.
inline benchmark::internal::Benchmark* timed(benchmark::internal::Benchmark* b, std::size_t threads, double min_time) {
  b->MinTime(min_time);
  if (threads > 1) b->UseRealTime()->MeasureProcessCPUTime();
  return b;
}

}  // namespace eqinfo::bench
