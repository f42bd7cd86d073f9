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
//                    ("scalar") on the M1 shapes, R rows.
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
// suite runs in about a minute.  The model file is
// EQINFO_MODELS_DIR/m1-3m.safetensors, or $EQINFO_M1_MODEL if set; the model
// benchmarks are skipped (with an error line) when it is missing.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <ctime>
#include <string_view>
#include <vector>

#include "bench_text.hpp"
#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/m1/packed_gemm.hpp"
#include "eqinfo/tokenizer.hpp"
#include "eqinfo/transformer_model.hpp"

#ifndef EQINFO_MODELS_DIR
#define EQINFO_MODELS_DIR "models"
#endif

namespace {

using namespace eqinfo;
using Tm = TransformerModel<16>;

constexpr double kMinTime = 0.3;
constexpr double kKernelMinTime = 0.2;
constexpr std::size_t kTextBytes = 4096;
constexpr unsigned kWindowBits = 16;
constexpr unsigned kTokenBits = 16;
constexpr std::size_t kPrefix = 8;  // M1/rows: positions already cached (about one b = 16 window)

// ---------------------------------------------------------------------------
// The SIMD peak: the kernel's multiply-accumulate instruction, register to
// register, on N independent accumulators (inline asm, so the compiler can
// neither drop nor reschedule it).

#if defined(EQINFO_DOT_AVX512VNNI)
using Vec = __m512i;
constexpr double kMacsPerStep = 32;  // 16 int32 lanes x 2 int16 products
constexpr const char* kPeakInstruction = "vpdpwssd_zmm";
#define EQINFO_MAC(a) "vpdpwssd %[y], %[x], %[" #a "]\n\t"
#define EQINFO_SCRATCH
inline Vec vec_set(int v) { return _mm512_set1_epi16(static_cast<short>(v)); }
inline std::int64_t vec_sum(Vec v) { return _mm512_reduce_add_epi32(v); }
#elif defined(EQINFO_DOT_AVX2)
using Vec = __m256i;
constexpr double kMacsPerStep = 16;  // 8 int32 lanes x 2 int16 products
constexpr const char* kPeakInstruction = "vpmaddwd+vpaddd_ymm";
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
std::int64_t peak_loop(std::uint64_t steps) {
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
constexpr double kMacsPerStep = 1;
constexpr const char* kPeakInstruction = "scalar_imul_add";
template <int N>
std::int64_t peak_loop(std::uint64_t steps) {
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

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double wall_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// One core's peak in GMAC/s: the best of 8 runs of ~25 ms (thread CPU time)
// of the 12-accumulator loop.
double measure_peak_gmacs() {
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

double peak_gmacs() {
  static const double peak = measure_peak_gmacs();
  return peak;
}

// GMAC/s and the fraction of the one-core peak, as rates over the run's time.
void set_mac_counters(benchmark::State& state, double macs_total) {
  state.counters["GMAC/s"] = benchmark::Counter(macs_total / 1e9, benchmark::Counter::kIsRate);
  state.counters["of_peak"] = benchmark::Counter(macs_total / 1e9 / peak_gmacs(), benchmark::Counter::kIsRate);
}

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

const char* kind_name(m1::KernelKind k) { return k == m1::KernelKind::kSimd ? "simd" : "scalar"; }

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

// ---------------------------------------------------------------------------
// The model.

std::string model_path() {
  if (const char* p = std::getenv("EQINFO_M1_MODEL"); p && *p) return p;
  return std::string(EQINFO_MODELS_DIR) + "/m1-3m.safetensors";
}

struct Loaded {
  std::unique_ptr<Tm> model;
  std::string error;
};

// One model per thread count (its ThreadPool); kernels are switched on copies.
const Loaded& loaded(std::size_t threads) {
  static Loaded cache[3];
  Loaded& l = cache[std::min<std::size_t>(threads, 2)];
  if (!l.model && l.error.empty()) {
    try {
      l.model = std::make_unique<Tm>(model_path(), m1::KernelKind::kSimd, threads);
    } catch (const std::exception& e) {
      l.error = model_path() + ": " + e.what();
    }
  }
  return l;
}

std::optional<Tm> model_or_skip(benchmark::State& state, std::size_t threads, m1::KernelKind kind) {
  const Loaded& l = loaded(threads);
  if (!l.model) {
    state.SkipWithError(l.error.c_str());
    return std::nullopt;
  }
  Tm m = *l.model;
  m.set_kernel(kind);
  return m;
}

struct MacCount {
  double matrix = 0, attention = 0, rows = 0;
};

std::size_t layer_macs(const m1::TransformerConfig& c) {
  return c.n_layers * (4 * c.d_model * c.d_model + 2 * c.d_model * c.mlp_dim);
}
std::size_t out_macs(const m1::TransformerConfig& c) { return c.vocab_size * c.d_model; }

// The MACs of running a context's pending symbols (see the header comment);
// every_table: predict_each, which computes a table for every pending row.
void count_pending(const Tm& m, const Tm::Context& c, MacCount& n, bool every_table = false) {
  if (c.pending.empty()) return;
  const auto& cfg = m.config();
  const double p = static_cast<double>(c.pending.size());
  n.rows += p;
  n.matrix += p * static_cast<double>(layer_macs(cfg)) + (every_table ? p : 1.0) * static_cast<double>(out_macs(cfg));
  // positions length .. length + p - 1 attend over pos + 1 cached positions, d MACs each for q.k and for a.v
  for (std::size_t pos = c.length; pos < c.length + c.pending.size(); ++pos)
    n.attention += static_cast<double>(cfg.n_layers * 2 * cfg.d_model * (pos + 1));
}

// The transformer behind the Model interface, optionally counting the MACs
// of what it runs (n != nullptr: used once, untimed, to get the MACs of an
// encode or decode).  Lookahead = false hides predict_each, so the
// Equal-Info encoder falls back to one model call per offered symbol: the
// "sequential" encode, and the count of the MACs an encode needs at least.
template <bool Lookahead>
class WrappedModel {
 public:
  static constexpr unsigned kFrequencyBits = Tm::kFrequencyBits;
  using Context = Tm::Context;
  explicit WrappedModel(const Tm& m, MacCount* n = nullptr) : m_(&m), n_(n) {}
  [[nodiscard]] Context new_context() const { return m_->new_context(); }
  void reset(Context& c) const { m_->reset(c); }
  void advance(Context& c, Symbol s) const { m_->advance(c, s); }
  const Tm::Table& predict(Context& c) const {
    if (n_) count_pending(*m_, c, *n_);
    return m_->predict(c);
  }
  std::span<const Tm::Table> predict_each(Context& c) const
    requires Lookahead
  {
    if (n_) count_pending(*m_, c, *n_, true);
    return m_->predict_each(c);
  }
  void predict_batch(std::span<Context* const> batch) const {
    if (n_)
      for (const Context* c : batch) count_pending(*m_, *c, *n_);
    m_->predict_batch(batch);
  }
  [[nodiscard]] std::uint64_t fingerprint() const { return m_->fingerprint(); }

 private:
  const Tm* m_;
  MacCount* n_;
};
static_assert(LookaheadModel<WrappedModel<true>> && BatchModel<WrappedModel<true>>);
static_assert(!LookaheadModel<WrappedModel<false>> && BatchModel<WrappedModel<false>>);

template <class M>
using Tokenizer = EqualInfoTokenizer<M, kWindowBits, kTokenBits>;

const std::string& text() {
  static const std::string t = bench::make_english_text(kTextBytes);
  return t;
}

void set_model_counters(benchmark::State& state, const MacCount& per_iteration) {
  const double it = static_cast<double>(state.iterations());
  set_mac_counters(state, it * per_iteration.matrix);
  state.counters["rows/s"] = benchmark::Counter(it * per_iteration.rows, benchmark::Counter::kIsRate);
  state.counters["attn_frac"] = per_iteration.attention / per_iteration.matrix;
}

// Encode; lookahead = false: one model call per offered symbol.  GMAC/s and
// of_peak count the MACs run (with lookahead, including the rows computed
// past a window's end); needed_of_peak counts only the MACs of the
// one-call-per-symbol encoder — the work the tokens need — over the same time.
void BM_Encode(benchmark::State& state, std::size_t threads, m1::KernelKind kind, bool lookahead) {
  const auto m = model_or_skip(state, threads, kind);
  if (!m) return;
  MacCount run, needed;
  WindowStats stats;
  Tokenizer<WrappedModel<false>>(WrappedModel<false>(*m, &needed)).encode(text(), &stats);
  if (lookahead)
    Tokenizer<WrappedModel<true>>(WrappedModel<true>(*m, &run)).encode(text());
  else
    run = needed;
  const Tokenizer<Tm> tok(*m);
  const Tokenizer<WrappedModel<false>> sequential{WrappedModel<false>(*m)};
  std::vector<Token> tokens;
  const CoresUsed cores;
  for (auto _ : state) {
    tokens = lookahead ? tok.encode(text()) : sequential.encode(text());
    benchmark::DoNotOptimize(tokens.data());
  }
  cores.report(state);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text().size()));
  set_model_counters(state, run);
  state.counters["needed_of_peak"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * needed.matrix / 1e9 / peak_gmacs(), benchmark::Counter::kIsRate);
  state.counters["bytes_per_token"] = static_cast<double>(text().size()) / static_cast<double>(tokens.size());
  state.counters["symbols_per_window"] = static_cast<double>(stats.symbols) / static_cast<double>(stats.windows);
  state.counters["rows_per_byte"] = run.rows / static_cast<double>(text().size());
}

// Lockstep encode of K documents (EqualInfoSegmenter::encode_documents): a
// 16 KiB text cut into K documents at byte boundaries, all K in lockstep, so
// each model call carries the look-ahead rows of K windows.  The rows run
// are those of the one-document look-ahead encoder (same chunks), so the
// counters mean what they mean for M1/encode/.../lookahead.
constexpr std::size_t kLockstepTextBytes = 16384;

const std::string& lockstep_text() {
  static const std::string t = bench::make_english_text(kLockstepTextBytes);
  return t;
}

void BM_EncodeLockstep(benchmark::State& state, std::size_t documents, std::size_t lanes) {
  const auto m = model_or_skip(state, 1, m1::KernelKind::kSimd);
  if (!m) return;
  const std::string& all = lockstep_text();
  std::vector<std::string_view> docs;
  for (std::size_t i = 0; i < documents; ++i)
    docs.push_back(std::string_view(all).substr(i * all.size() / documents, (i + 1) * all.size() / documents - i * all.size() / documents));
  MacCount run, needed;
  WindowStats stats;
  {
    std::vector<BitVector> outs(docs.size());
    const WrappedModel<false> counting_needed(*m, &needed);
    EqualInfoSegmenter<WrappedModel<false>, kWindowBits>(counting_needed).encode_documents(docs, outs, &stats);
    const WrappedModel<true> counting_run(*m, &run);
    EqualInfoSegmenter<WrappedModel<true>, kWindowBits>(counting_run).encode_documents(docs, outs);
  }
  const EqualInfoSegmenter<Tm, kWindowBits> seg(*m);
  std::vector<BitVector> outs(docs.size());
  std::size_t bits = 0;
  const CoresUsed cores;
  for (auto _ : state) {
    for (auto& o : outs) o = BitVector{};
    seg.encode_documents(docs, outs, nullptr, lanes);
    bits = 0;
    for (const auto& o : outs) bits += o.size();
    benchmark::DoNotOptimize(outs.data());
  }
  cores.report(state);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * all.size()));
  set_model_counters(state, run);
  state.counters["needed_of_peak"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * needed.matrix / 1e9 / peak_gmacs(), benchmark::Counter::kIsRate);
  state.counters["bytes_per_token"] = static_cast<double>(all.size()) / (static_cast<double>(bits) / kTokenBits);
  state.counters["symbols_per_window"] = static_cast<double>(stats.symbols) / static_cast<double>(stats.windows);
  state.counters["rows_per_byte"] = run.rows / static_cast<double>(all.size());
}

const std::vector<Token>& encoded_text() {
  static const std::vector<Token> tokens = Tokenizer<Tm>(*loaded(1).model).encode(text());
  return tokens;
}

void BM_Decode(benchmark::State& state, std::size_t threads, std::size_t batch, m1::KernelKind kind) {
  const auto m = model_or_skip(state, threads, kind);
  if (!m) return;
  const auto& tokens = encoded_text();
  const Tokenizer<Tm> tok(*m, batch);
  {  // correctness, once, outside the timing
    const DecodeResult r = tok.decode(tokens);
    if (!r.ok() || r.documents.size() != 1 || r.documents[0] != text()) {
      state.SkipWithError("round trip failed");
      return;
    }
  }
  MacCount n;
  Tokenizer<WrappedModel<false>>(WrappedModel<false>(*m, &n), batch).decode(tokens);
  const CoresUsed cores;
  for (auto _ : state) {
    DecodeResult r = tok.decode(tokens);
    benchmark::DoNotOptimize(r.documents.data());
  }
  cores.report(state);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text().size()));
  set_model_counters(state, n);
  state.counters["rows_per_byte"] = n.rows / static_cast<double>(text().size());
}

// predict_batch on `contexts` contexts with `pending` queued symbols each.
// pending == 1: each context holds kPrefix positions (EOS + text bytes,
// different bytes per context) and runs position kPrefix; pending > 1: each
// context runs positions 0 .. pending-1 (a teacher-forced window).  Every
// iteration rewinds `length` so the same positions are recomputed (run()
// overwrites the cache from `length` on, so the state is that of a fresh
// context that has run the same prefix).
void BM_Rows(benchmark::State& state, std::size_t threads, m1::KernelKind kind, std::size_t contexts, std::size_t pending) {
  const auto m = model_or_skip(state, threads, kind);
  if (!m) return;
  const std::string& t = text();
  std::vector<Tm::Context> ctx;
  std::vector<std::vector<Symbol>> queued(contexts);
  std::size_t base = 0;
  for (std::size_t i = 0; i < contexts; ++i) {
    const std::size_t at = (i * 13) % (t.size() - kPrefix - pending);
    ctx.push_back(m->new_context());
    m->reset(ctx.back());
    if (pending == 1) {
      for (std::size_t j = 0; j + 1 < kPrefix; ++j) m->advance(ctx.back(), static_cast<unsigned char>(t[at + j]));
      m->predict(ctx.back());
      base = kPrefix;
      queued[i].assign(1, static_cast<unsigned char>(t[at + kPrefix - 1]));
    } else {
      queued[i].assign(1, kEos);
      for (std::size_t j = 0; j + 1 < pending; ++j) queued[i].push_back(static_cast<unsigned char>(t[at + j]));
    }
  }
  std::vector<Tm::Context*> batch;
  for (auto& c : ctx) batch.push_back(&c);
  const auto rewind = [&] {
    for (std::size_t i = 0; i < contexts; ++i) {
      ctx[i].length = base;
      ctx[i].pending = queued[i];
    }
  };
  MacCount n;
  rewind();
  for (const auto* c : batch) count_pending(*m, *c, n);
  const CoresUsed cores;
  for (auto _ : state) {
    rewind();
    m->predict_batch(batch);
    benchmark::DoNotOptimize(ctx.data());
    benchmark::ClobberMemory();
  }
  cores.report(state);
  set_model_counters(state, n);
}

// ---------------------------------------------------------------------------

std::string name(std::string_view s) { return std::string(s); }

// Single-threaded: thread CPU time (the default); the model on more threads: wall clock.
benchmark::internal::Benchmark* timed(benchmark::internal::Benchmark* b, std::size_t threads, double min_time) {
  b->MinTime(min_time);
  if (threads > 1) b->UseRealTime()->MeasureProcessCPUTime();
  return b;
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
      for (std::size_t rows : {1, 4, 16, 64})
        timed(RegisterBenchmark((name("M1/matmul/") + kind_name(kind) + "/" + std::to_string(s.in) + "x" +
                                 std::to_string(s.out) + "/R:" + std::to_string(rows))
                                    .c_str(),
                                BM_Matmul, rows, s.in, s.out, kind),
              1, kKernelMinTime)
            ->Unit(benchmark::kMicrosecond);

  for (auto kind : kinds)
    for (std::size_t threads : {1, 2}) {
      const std::string prefix = name("M1/rows/") + kind_name(kind) + "/threads:" + std::to_string(threads);
      for (std::size_t contexts : {1, 16, 64, 256})
        timed(RegisterBenchmark((prefix + "/contexts:" + std::to_string(contexts)).c_str(), BM_Rows, threads, kind, contexts,
                                std::size_t{1}),
              threads, kMinTime)
            ->Unit(benchmark::kMicrosecond);
      timed(RegisterBenchmark((prefix + "/teacher_forced:16").c_str(), BM_Rows, threads, kind, std::size_t{1}, std::size_t{16}),
            threads, kMinTime)
          ->Unit(benchmark::kMicrosecond);
    }

  for (auto kind : kinds)
    for (std::size_t threads : {1, 2})
      for (bool lookahead : {true, false})
        timed(RegisterBenchmark((name("M1/encode/") + kind_name(kind) + (lookahead ? "/lookahead" : "/sequential") + "/threads:" +
                                 std::to_string(threads))
                                    .c_str(),
                                BM_Encode, threads, kind, lookahead),
              threads, kMinTime)
            ->Unit(benchmark::kMillisecond);

  for (std::size_t documents : {1, 8, 32})
    timed(RegisterBenchmark((name("M1/encode/simd/lockstep:") + std::to_string(documents) + "/threads:1").c_str(), BM_EncodeLockstep,
                            documents, documents),
          1, kMinTime)
        ->Unit(benchmark::kMillisecond);
  // 128 documents, at most `lanes` of them in flight (the rest wait for a lane).
  for (std::size_t lanes : {4, 8, 16, 64})
    timed(RegisterBenchmark((name("M1/encode/simd/lockstep:128/lanes:") + std::to_string(lanes) + "/threads:1").c_str(),
                            BM_EncodeLockstep, std::size_t{128}, lanes),
          1, kMinTime)
        ->Unit(benchmark::kMillisecond);

  for (std::size_t threads : {1, 2})
    for (std::size_t batch : {1, 8, 64, 256})
      timed(RegisterBenchmark((name("M1/decode/simd/threads:") + std::to_string(threads) + "/batch:" + std::to_string(batch)).c_str(),
                              BM_Decode, threads, batch, m1::KernelKind::kSimd),
            threads, kMinTime)
          ->Unit(benchmark::kMillisecond);
  timed(RegisterBenchmark("M1/decode/scalar/threads:1/batch:64", BM_Decode, std::size_t{1}, std::size_t{64}, m1::KernelKind::kScalar),
        1, kMinTime)
      ->Unit(benchmark::kMillisecond);
  return 0;
}

const int registered = register_all();

}  // namespace
