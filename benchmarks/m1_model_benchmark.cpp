// The M1 model benchmarks: M1/rows/... (predict_batch), M1/encode/...
// (one document with and without look-ahead, and lockstep over many) and
// M1/decode/....  m1_bench_common.hpp describes the counters; the model file
// is the bundled M1 (models/bundled.json, role "m1"), or $EQINFO_M1_MODEL if
// set, and these benchmarks are skipped (with an error line) when it is
// missing.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench_text.hpp"
#include "eqinfo/bundled_models.hpp"
#include "eqinfo/tokenizer.hpp"
#include "eqinfo/transformer_model.hpp"
#include "m1_bench_common.hpp"

namespace {

using namespace eqinfo;
using namespace eqinfo::bench;
using Tm = TransformerModel<16>;

constexpr std::size_t kTextBytes = 4096;
constexpr unsigned kWindowBits = 16;
constexpr unsigned kTokenBits = 16;
constexpr std::size_t kPrefix = 8;  // M1/rows: positions already cached (about one b = 16 window)

std::string model_path() {
  if (const char* p = std::getenv("EQINFO_M1_MODEL"); p && *p) return p;
  return bundled_models::path("m1").string();
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

std::optional<Tm> model_or_skip(benchmark::State& state, std::size_t threads, m1::KernelKind kind, bool prefix_cache = true) {
  const Loaded& l = loaded(threads);
  if (!l.model) {
    state.SkipWithError(l.error.c_str());
    return std::nullopt;
  }
  Tm m = *l.model;
  m.set_kernel(kind);
  m.set_prefix_cache(prefix_cache);
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
  // Rows the window-prefix cache copies instead of running (positions 0 and 1 of a context that
  // starts with EOS: TransformerModel::PrefixCache) are not MACs run: taken back out.
  for (std::size_t pos = c.length; pos < c.length + c.pending.size() && m.copies_prefix_row(c, pos); ++pos) {
    const bool table = every_table || pos + 1 == c.length + c.pending.size();
    n.rows -= 1;
    n.matrix -= static_cast<double>(layer_macs(cfg)) + (table ? static_cast<double>(out_macs(cfg)) : 0.0);
    n.attention -= static_cast<double>(cfg.n_layers * 2 * cfg.d_model * (pos + 1));
  }
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
  // The model's own chunk sizes, so that the rows counted are the rows the timed encode runs
  // (without it the encoder would take OneSymbolSchedule and count no look-ahead waste).
  using LookaheadSchedule = Tm::LookaheadSchedule;
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
void BM_Encode(benchmark::State& state, std::size_t threads, m1::KernelKind kind, bool lookahead, bool prefix_cache) {
  const auto m = model_or_skip(state, threads, kind, prefix_cache);
  if (!m) return;
  // One encode first, so that the pair memo holds this text's window starts (position 2) as in
  // every timed iteration: the counts below are then those of the timed encodes.
  (void)Tokenizer<Tm>(*m).encode(text());
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
    EqualInfoSegmenter<Tm, kWindowBits>(*m).encode_documents(docs, outs);  // warms the pair memo, as in BM_Encode
    const WrappedModel<false> counting_needed(*m, &needed);
    EqualInfoSegmenter<WrappedModel<false>, kWindowBits>(counting_needed).encode_documents(docs, outs, &stats);
    const WrappedModel<true> counting_run(*m, &run);
    EqualInfoSegmenter<WrappedModel<true>, kWindowBits>(counting_run).encode_documents(docs, outs, nullptr, lanes);
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

void BM_Decode(benchmark::State& state, std::size_t threads, std::size_t batch, m1::KernelKind kind, bool prefix_cache) {
  const auto m = model_or_skip(state, threads, kind, prefix_cache);
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
  rewind();
  m->predict_batch(batch);  // once first: the pair memo then holds what every timed call copies
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

int register_all() {
  using benchmark::RegisterBenchmark;
  const m1::KernelKind kinds[] = {m1::KernelKind::kSimd, m1::KernelKind::kScalar};
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
                                BM_Encode, threads, kind, lookahead, true),
              threads, kMinTime)
            ->Unit(benchmark::kMillisecond);

  // The same encode and decode without the window-prefix cache: its gain, as a ratio in one run.
  timed(RegisterBenchmark(name("M1/encode/simd/lookahead/threads:1/no_prefix_cache").c_str(), BM_Encode, std::size_t{1},
                          m1::KernelKind::kSimd, true, false),
        1, kMinTime)
      ->Unit(benchmark::kMillisecond);
  timed(RegisterBenchmark(name("M1/decode/simd/threads:1/batch:64/no_prefix_cache").c_str(), BM_Decode, std::size_t{1}, std::size_t{64},
                          m1::KernelKind::kSimd, false),
        1, kMinTime)
      ->Unit(benchmark::kMillisecond);

  for (std::size_t documents : {1, 8, 32})
    timed(RegisterBenchmark((name("M1/encode/simd/lockstep:") + std::to_string(documents) + "/threads:1").c_str(), BM_EncodeLockstep,
                            documents, documents),
          1, kMinTime)
        ->Unit(benchmark::kMillisecond);
  // 128 documents, at most `lanes` of them in flight (the rest wait for a lane).
  for (std::size_t lanes : {4, 8, 16, 32, 64})
    timed(RegisterBenchmark((name("M1/encode/simd/lockstep:128/lanes:") + std::to_string(lanes) + "/threads:1").c_str(),
                            BM_EncodeLockstep, std::size_t{128}, lanes),
          1, kMinTime)
        ->Unit(benchmark::kMillisecond);

  for (std::size_t threads : {1, 2})
    for (std::size_t batch : {1, 8, 64, 256})
      timed(RegisterBenchmark((name("M1/decode/simd/threads:") + std::to_string(threads) + "/batch:" + std::to_string(batch)).c_str(),
                              BM_Decode, threads, batch, m1::KernelKind::kSimd, true),
            threads, kMinTime)
          ->Unit(benchmark::kMillisecond);
  timed(RegisterBenchmark("M1/decode/scalar/threads:1/batch:64", BM_Decode, std::size_t{1}, std::size_t{64}, m1::KernelKind::kScalar, true),
        1, kMinTime)
      ->Unit(benchmark::kMillisecond);
  return 0;
}


const int registered = register_all();

}  // namespace
