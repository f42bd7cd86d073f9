// TransformerModel<P>: the byte-level transformer M1 as a Model policy, run
// by an integer fixed-point kernel so that its frequency tables are identical
// on every machine, SIMD width, batch shape and code path
// (docs/integer_m1.md is the arithmetic; this file is the plumbing).
//
// A Context is one window's KV cache.  reset() starts it with EOS (M1's
// start-of-context symbol); advance() only queues a symbol; predict() runs
// the queued positions (teacher-forced, several at once if several are
// queued) and returns the table for the next symbol; predict_each() returns
// the table after every queued position (the encoder's look-ahead).
// predict_batch() runs the queued positions of many contexts as one batch of
// rows, so every weight matrix is streamed once per step for the whole batch.
//
// Kernels: the KernelKind picks a backend (m1/backend.hpp) once per forward
// call: kSimd runs the matrix products with packed_gemm (weights repacked at
// load) and the per-row divisions by reciprocal; kScalar is the plain
// reference (matmul_reference on the int8 weights as stored, div_round).
// Both follow docs/integer_m1.md to the bit.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/fingerprint.hpp"
#include "eqinfo/frequency_table.hpp"
#include "eqinfo/m1/attention.hpp"
#include "eqinfo/m1/backend.hpp"
#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/m1/encode_schedule.hpp"
#include "eqinfo/m1/integer_ops.hpp"
#include "eqinfo/m1/packed_gemm.hpp"
#include "eqinfo/m1/pair_memo.hpp"
#include "eqinfo/m1/row_ops.hpp"
#include "eqinfo/m1/transformer_weights.hpp"
#include "eqinfo/model.hpp"
#include "eqinfo/safetensors.hpp"
#include "eqinfo/thread_pool.hpp"

namespace eqinfo {

namespace m1 {

// q, k and v share their input, so their weights are one [3d][d] matrix
// (rows q, then k, then v) and one product per layer; the requantisations
// stay per tensor.
struct KernelLayer {
  std::vector<std::int8_t> qkv_weight;  // [3d][d]
  KernelLinear qkv, o, w1, w2;
  const TransformerLayer* source;  // mult/shift of every tensor, score requant, rel_bias

  explicit KernelLayer(const TransformerLayer& l)
      : qkv_weight(concat(l)), qkv(qkv_weight, 3 * l.q.out, l.q.in), o(l.o.weight, l.o.out, l.o.in), w1(l.w1.weight, l.w1.out, l.w1.in),
        w2(l.w2.weight, l.w2.out, l.w2.in), source(&l) {}
  KernelLayer(const KernelLayer&) = delete;
  KernelLayer& operator=(const KernelLayer&) = delete;

 private:
  static std::vector<std::int8_t> concat(const TransformerLayer& l) {
    std::vector<std::int8_t> w(l.q.weight.begin(), l.q.weight.end());
    w.insert(w.end(), l.k.weight.begin(), l.k.weight.end());
    w.insert(w.end(), l.v.weight.begin(), l.v.weight.end());
    return w;
  }
};

// The bytes written as `hex` (two lowercase or uppercase hex digits each),
// or nothing if it is anything else: std::stoul would take " f", "+f" or
// "0x" pieces and throw a bare "stoul" for others.
inline std::optional<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view hex) {
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2) return std::nullopt;
  std::vector<std::uint8_t> bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return bytes;
}

}  // namespace m1

template <unsigned FrequencyBits = 16>
class TransformerModel {
 public:
  static constexpr unsigned kFrequencyBits = FrequencyBits;
  using Table = FrequencyTable<FrequencyBits>;
  using LookaheadSchedule = m1::EncodeSchedule;  // look-ahead rows per call and lockstep lanes

  struct Context {
    // Per layer: [rows][d]. Row 0 is position 0 (the sink), row 1 + τ - kv_base
    // position τ (m1::cache_row). Format v1 keeps every position (kv_base 1);
    // v2 evicts what left every future span, a block at a time (evict()).
    std::vector<std::vector<std::int16_t>> keys, values;
    std::size_t kv_base = 1;
    std::size_t length = 0;                               // positions already run
    std::vector<Symbol> pending;                          // queued, not yet run
    Table table;                                          // after the last position run
    std::vector<Table> tables;                            // predict_each: after each position of its run
    bool each = false;                                    // the running call wants `tables`
    bool eos_start = false;                               // position 0 is EOS (the prefix cache applies)
    Symbol second = 0;                                    // the symbol at position 1, once run (the pair memo's key)
  };

  // Loads and validates a model exported by python -m eqinfo.m1.export.
  // threads: workers for predict_batch (contexts are split between them;
  // every context is computed by one thread, so results do not depend on it).
  explicit TransformerModel(const std::string& path, m1::KernelKind kernel = m1::KernelKind::kSimd, std::size_t threads = 1)
      : TransformerModel(SafetensorsFile(path), kernel, threads) {}
  // The same from a file already read (SafetensorsFile::from_bytes: no file
  // needed), with the same checks and errors.
  explicit TransformerModel(SafetensorsFile file, m1::KernelKind kernel = m1::KernelKind::kSimd, std::size_t threads = 1)
      : impl_(std::make_shared<Impl>(std::move(file))), kernel_(kernel), pool_(std::make_shared<ThreadPool>(threads)) {
    if (impl_->weights.config.frequency_bits != FrequencyBits)
      throw impl_->file.error("its tables are " + std::to_string(impl_->weights.config.frequency_bits) +
                              "-bit, this model type is " + std::to_string(FrequencyBits) + "-bit");
    prefix_ = compute_prefix_cache();
    run_self_test();  // through the prefix cache: its positions are checked against the file too
  }

  // FNV-1a 64 of the tables at every position of the context [EOS] + input,
  // each table as 257 uint32 little-endian (docs/integer_m1.md, "File").
  [[nodiscard]] std::uint64_t context_tables_hash(std::span<const std::uint8_t> input) const {
    Fnv1a64 h;
    auto ctx = new_context();
    reset(ctx);
    const auto add = [&](const Table& t) {
      for (std::size_t s = 0; s < kAlphabetSize; ++s) {
        const std::uint32_t f = t.frequency(static_cast<Symbol>(s));
        const std::uint8_t le[4] = {std::uint8_t(f), std::uint8_t(f >> 8), std::uint8_t(f >> 16), std::uint8_t(f >> 24)};
        h.bytes(le);
      }
    };
    add(predict(ctx));
    for (auto b : input) {
      advance(ctx, b);
      add(predict(ctx));
    }
    return h.value();
  }

  [[nodiscard]] Context new_context() const {
    Context c;
    c.keys.resize(impl_->layers.size());
    c.values.resize(impl_->layers.size());
    return c;
  }
  void reset(Context& c) const {
    for (auto& k : c.keys) k.clear();
    for (auto& v : c.values) v.clear();
    c.kv_base = 1;
    c.length = 0;
    c.pending.assign(1, kEos);  // every M1 context starts with EOS
  }
  void advance(Context& c, Symbol s) const { c.pending.push_back(s); }

  const Table& predict(Context& c) const {
    if (!c.pending.empty()) {
      Context* one = &c;
      forward(std::span<Context* const>(&one, 1));
    }
    return c.table;
  }
  // Runs the queued positions and returns the table after each of them, in
  // order: tables[i] predicts the symbol that follows the i-th queued one
  // (the last is also predict's table).  The Equal-Info encoder's look-ahead:
  // a window's candidate symbols as one call of many rows instead of one call
  // per symbol.  Valid until the next call on c.  With nothing queued it
  // returns the tables of the last run if that run wanted them
  // (predict_each_batch), and none after a predict / predict_batch run.
  std::span<const Table> predict_each(Context& c) const {
    if (!c.pending.empty()) {
      c.tables.resize(c.pending.size());
      c.each = true;
      Context* one = &c;
      forward(std::span<Context* const>(&one, 1));
      c.each = false;
    }
    return c.tables;
  }
  // predict_each for many contexts as one batch of rows (the encoder's
  // lockstep look-ahead over many documents): afterwards predict_each(*c)
  // returns each context's tables without recomputing them.
  void predict_each_batch(std::span<Context* const> batch) const {
    for (Context* c : batch) {
      c->tables.resize(c->pending.size());
      c->each = true;
    }
    predict_batch(batch);
    for (Context* c : batch) c->each = false;
  }
  // Contexts are independent, so with several threads each runs the whole
  // forward of its share of them: one fork/join per call.
  void predict_batch(std::span<Context* const> batch) const {
    pool_->parallel_for(batch.size(), [&](std::size_t begin, std::size_t end) { forward(batch.subspan(begin, end - begin)); });
  }

  [[nodiscard]] std::uint64_t fingerprint() const { return impl_->fingerprint; }
  [[nodiscard]] const m1::TransformerConfig& config() const { return impl_->weights.config; }
  [[nodiscard]] const nlohmann::json& metadata() const { return impl_->weights.metadata; }
  [[nodiscard]] m1::KernelKind kernel() const { return kernel_; }
  void set_kernel(m1::KernelKind k) { kernel_ = k; }
  // The window-prefix cache (on by default; see PrefixCache): tables and tokens are the same
  // either way, so this only exists to measure it and to test that it changes nothing.
  void set_prefix_cache(bool on) { use_prefix_ = on; }
  [[nodiscard]] bool prefix_cache() const { return use_prefix_; }
  // Whether the next predict copies position `pos` of c (queued, not yet run) from the prefix
  // cache instead of running it: the one rule forward() follows and the benchmarks count by.
  // Positions 0 and 1 always; position 2 when the pair memo holds its two bytes.
  [[nodiscard]] bool copies_prefix_row(const Context& c, std::size_t pos) const {
    if (pos < c.length || pos - c.length >= c.pending.size()) return false;  // not queued
    const Symbol second = pos != 2 ? 0 : c.length == 2 ? c.second : c.pending[1 - c.length];  // position 1: run, or queued before 2
    const auto kind = row_source(c, pos, second, c.pending[pos - c.length], use_prefix_ && prefix_ != nullptr).kind;
    return kind == RowSource::kPrefixCache || kind == RowSource::kPairMemo;
  }
  // Window states at position 2 the pair memo keeps now (m1/pair_memo.hpp), for tests and benchmarks.
  [[nodiscard]] std::size_t prefix_pairs_kept() const { return pairs_->size(); }

 private:
  // Limits on the self-test a file may ask for (docs/formats.md, "What the
  // tools check"): the exporter's is 7 inputs of 545 bytes in all, and
  // version 2 adds one of 2W + 100 bytes (612 for W = 256).
  static constexpr std::size_t kMaxSelfTestInputs = 64, kMaxSelfTestBytes = 4096;

  // The sentencepiece habit: the file carries inputs and the hashes of the
  // tables the exporter's reference computed for them; a model that computes
  // anything else (damaged weights, a kernel bug, another spec) is refused.
  void run_self_test() const {
    const nlohmann::json& meta = impl_->weights.metadata;
    const nlohmann::json st = meta.contains("self_test") ? meta["self_test"] : nlohmann::json();
    if (!st.is_object() || !st.contains("inputs") || !st.contains("table_hashes") || !st["inputs"].is_array() ||
        !st["table_hashes"].is_array() || st["inputs"].size() != st["table_hashes"].size() || st["inputs"].empty())
      throw impl_->file.error("metadata lacks a usable self_test");
    if (m1::unsigned_field(impl_->file, st, "frequency_bits", "self_test", 16) != FrequencyBits)
      throw impl_->file.error("self_test is for another precision");
    // Every input is parsed and the limits checked before anything runs: the
    // inputs come from the file, and a 20,000-byte input took 292 s to load.
    if (st["inputs"].size() > kMaxSelfTestInputs)
      throw impl_->file.error("self_test has " + std::to_string(st["inputs"].size()) + " inputs, over the limit of " +
                              std::to_string(kMaxSelfTestInputs));
    std::vector<std::vector<std::uint8_t>> inputs;
    std::size_t total = 0;
    std::array<bool, 256> seen{};
    for (std::size_t i = 0; i < st["inputs"].size(); ++i) {
      const nlohmann::json& hex = st["inputs"][i];
      if (!hex.is_string() || !st["table_hashes"][i].is_string()) throw impl_->file.error("malformed self_test entry");
      auto parsed = m1::parse_hex_bytes(hex.get_ref<const std::string&>());
      if (!parsed) throw impl_->file.error("self_test input " + std::to_string(i) + " is not hex");
      total += parsed->size();
      if (total > kMaxSelfTestBytes)
        throw impl_->file.error("self_test inputs exceed the limit of " + std::to_string(kMaxSelfTestBytes) + " bytes in all");
      for (auto b : *parsed) seen[b] = true;
      inputs.push_back(std::move(*parsed));
    }
    // Every embedding row must take part (EOS's, row 256, starts every
    // context): a self-test that skips a byte cannot see that byte's row damaged.
    const auto covered = static_cast<std::size_t>(std::count(seen.begin(), seen.end(), true));
    if (covered != seen.size())
      throw impl_->file.error("self_test inputs use " + std::to_string(covered) + " of the 256 byte values (every embedding row must be " +
                              "exercised): " + m1::kResealHint);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const nlohmann::json& want = st["table_hashes"][i];
      char got[17];
      std::snprintf(got, sizeof got, "%016llx", static_cast<unsigned long long>(context_tables_hash(inputs[i])));
      if (want.get<std::string>() != got)
        throw impl_->file.error("self-test failed on input " + std::to_string(i) + ": tables hash to " + got + ", the file expects " +
                                want.get<std::string>() + " (damaged file, or a kernel that does not follow docs/integer_m1.md)");
    }
  }

  struct Impl {
    SafetensorsFile file;
    m1::TransformerWeights weights;
    std::vector<std::unique_ptr<const m1::KernelLayer>> layers;
    std::vector<m1::AttentionParams> attention;  // per layer
    m1::KernelLinear out;
    std::uint64_t fingerprint;

    explicit Impl(SafetensorsFile&& f)
        : file(std::move(f)), weights(file), out(weights.out.weight, weights.out.out, weights.out.in), fingerprint(compute_fingerprint()) {
      const auto& c = weights.config;
      for (const auto& l : weights.layers) {
        layers.push_back(std::make_unique<const m1::KernelLayer>(l));
        attention.push_back({c.d_model, c.n_heads, c.head_dim(), c.rel_max_distance, c.attention_window, l.score_mult,
                             l.score_shift, l.rel_bias, weights.rel_bucket, weights.exp2_lut});
      }
    }
    // FNV-1a 64 over every tensor's name and bytes, in name order, plus P.
    [[nodiscard]] std::uint64_t compute_fingerprint() const {
      Fnv1a64 h;
      h.text("eqinfo-m1").u64(FrequencyBits);
      for (const auto& [name, t] : file.tensors()) h.text(name).bytes(t.bytes);
      return h.value();
    }
  };

  // What is the same for every context: position 0 is always EOS and position 1 one of 257
  // symbols, so their cache rows (every layer's key and value) and the tables after them are
  // computed once, at load, and copied in instead of recomputed. Every Equal-Info window starts
  // a new context ([EOS] + its bytes), so this removes the first two rows of every window (and
  // of every look-ahead over a window's first byte). A row depends only on the positions it
  // attends to, and the kernel is exact integer arithmetic, so a copied row is bit-identical to a
  // recomputed one (the determinism tests compare both; the self-test runs through the cache).
  struct PrefixCache {
    // Per layer: [1 + kAlphabetSize][d]: entry 0 is position 0 ([EOS]), entry 1 + s position 1
    // holding symbol s.
    std::vector<std::vector<std::int16_t>> keys, values;
    std::vector<Table> tables;  // [1 + kAlphabetSize]: after [EOS], after [EOS, s]
  };
  static constexpr std::size_t kPrefixEntries = 1 + kAlphabetSize;

  [[nodiscard]] std::shared_ptr<const PrefixCache> compute_prefix_cache() const {
    const std::size_t d = impl_->weights.config.d_model;
    std::vector<Context> contexts(kAlphabetSize, new_context());
    std::vector<Context*> batch;
    for (std::size_t s = 0; s < kAlphabetSize; ++s) {
      reset(contexts[s]);
      advance(contexts[s], static_cast<Symbol>(s));
      contexts[s].tables.resize(2);
      contexts[s].each = true;
      batch.push_back(&contexts[s]);
    }
    forward(batch, /*use_prefix=*/false);
    auto cache = std::make_shared<PrefixCache>();
    cache->keys.assign(impl_->layers.size(), std::vector<std::int16_t>(kPrefixEntries * d));
    cache->values.assign(impl_->layers.size(), std::vector<std::int16_t>(kPrefixEntries * d));
    cache->tables.resize(kPrefixEntries);
    for (std::size_t s = 0; s < kAlphabetSize; ++s) {
      const Context& c = contexts[s];
      for (std::size_t li = 0; li < impl_->layers.size(); ++li)
        for (std::size_t pos = 0; pos < 2; ++pos) {
          const std::size_t entry = pos == 0 ? 0 : 1 + s, row = m1::cache_row(pos, c.kv_base);
          std::copy_n(&c.keys[li][row * d], d, &cache->keys[li][entry * d]);
          std::copy_n(&c.values[li][row * d], d, &cache->values[li][entry * d]);
        }
      cache->tables[1 + s] = c.tables[1];
      if (s == 0) cache->tables[0] = c.tables[0];
    }
    return cache;
  }

  // Position 2 of a window, [EOS, s1, s2]: one of 65,536 states, so not computed at load but
  // kept the first time a window meets it (m1/pair_memo.hpp says why, and why that is exact).
  struct PairState {
    std::vector<std::int16_t> keys, values;  // [n_layers][d]: position 2's cache row in every layer
    Table table;                             // after [EOS, s1, s2]
  };
  [[nodiscard]] const PairState* find_pair(Symbol first, Symbol second) const {
    if (first >= 256 || second >= 256) return nullptr;  // EOS inside a window's first bytes: not kept
    return pairs_->find(m1::PairMemo<PairState>::key(static_cast<std::uint8_t>(first), static_cast<std::uint8_t>(second)));
  }
  // Keeps position 2 of c (just run; its table is `table`) in the pair memo.
  void keep_pair(const Context& c, Symbol symbol, const Table& table) const {
    if (c.second >= 256 || symbol >= 256 || pairs_->full()) return;
    const std::size_t d = impl_->weights.config.d_model, row = m1::cache_row(2, c.kv_base) * d;
    PairState state{std::vector<std::int16_t>(impl_->layers.size() * d), std::vector<std::int16_t>(impl_->layers.size() * d), table};
    for (std::size_t li = 0; li < impl_->layers.size(); ++li) {
      std::copy_n(&c.keys[li][row], d, &state.keys[li * d]);
      std::copy_n(&c.values[li][row], d, &state.values[li * d]);
    }
    pairs_->insert(m1::PairMemo<PairState>::key(static_cast<std::uint8_t>(c.second), static_cast<std::uint8_t>(symbol)), std::move(state));
  }

  // Position `pos` of c copied in: its cache row in layer li from key_of(li) and value_of(li)
  // (d int16 each), and `from` into `table` if that is wanted.
  template <class KeyOf, class ValueOf>
  void install_row(Context& c, std::size_t pos, KeyOf key_of, ValueOf value_of, const Table& from, Table* table) const {
    const std::size_t d = impl_->weights.config.d_model;
    const std::size_t end = (m1::cache_row(pos, c.kv_base) + 1) * d;
    for (std::size_t li = 0; li < impl_->layers.size(); ++li) {
      if (c.keys[li].size() < end) c.keys[li].resize(end);
      if (c.values[li].size() < end) c.values[li].resize(end);
      std::copy_n(key_of(li), d, &c.keys[li][end - d]);
      std::copy_n(value_of(li), d, &c.values[li][end - d]);
    }
    if (table) *table = from;
  }
  // Position `pos` (0 or 1) of c holding `symbol`, from the prefix cache.
  void install_prefix_row(Context& c, std::size_t pos, Symbol symbol, Table* table) const {
    const std::size_t d = impl_->weights.config.d_model, entry = pos == 0 ? 0 : 1 + symbol;
    install_row(
        c, pos, [&](std::size_t li) { return &prefix_->keys[li][entry * d]; }, [&](std::size_t li) { return &prefix_->values[li][entry * d]; },
        prefix_->tables[entry], table);
  }
  // Position 2 of c from the pair memo.
  void install_pair_row(Context& c, const PairState& state, Table* table) const {
    const std::size_t d = impl_->weights.config.d_model;
    install_row(
        c, 2, [&](std::size_t li) { return &state.keys[li * d]; }, [&](std::size_t li) { return &state.values[li * d]; }, state.table, table);
  }

  // Where queued position `pos` of c, holding `symbol`, comes from, given the symbol at its
  // position 1 (`second`): the one rule forward() follows and copies_prefix_row() reports.
  // A window's positions 0 and 1 are the same for every window (PrefixCache); its position 2
  // is copied when a window met the same two bytes before, else run and then kept (PairState).
  struct RowSource {
    enum Kind { kCompute, kComputeAndKeep, kPrefixCache, kPairMemo } kind;
    const PairState* pair = nullptr;  // kPairMemo: the state copied
  };
  RowSource row_source(const Context& c, std::size_t pos, Symbol second, Symbol symbol, bool use_prefix) const {
    if (!use_prefix || pos > 2 || !starts_with_eos(c)) return {RowSource::kCompute};
    if (pos < 2) return {RowSource::kPrefixCache};
    if (const PairState* state = find_pair(second, symbol)) return {RowSource::kPairMemo, state};
    return {RowSource::kComputeAndKeep};
  }

  // One queued position of one context.
  struct Row {
    Context* ctx;
    std::size_t pos;
    Symbol symbol;
    Table* table;  // where its frequency table goes; nullptr: not wanted
    bool keep;     // position 2 of a window the pair memo lacks: kept once run
  };

  // A thread's buffers for forward(), kept between calls (no allocation per
  // call once they have grown to the batch size).
  struct Workspace {
    std::vector<Row> rows;
    std::vector<std::size_t> wanted;
    std::vector<std::int32_t> x, acc;             // [R][d] residual; [R][max(3d, F, V)] accumulators
    std::vector<std::int16_t> n, q, a, hid;       // [R][d] x3, [R][F]
    m1::AttentionScratch scores;                  // attention scratch
  };

  // Position 0 of c is EOS: queued now, or run earlier (reset() queues it; nothing else should).
  static bool starts_with_eos(const Context& c) { return c.length == 0 ? !c.pending.empty() && c.pending[0] == kEos : c.eos_start; }

  static Workspace& workspace() {
    static thread_local Workspace ws;
    return ws;
  }

  // Format v2: drops the cached rows no row of this call or a later one can
  // attend to (positions before the span of the first queued one), once they
  // are W rows or more, so the cache holds at most ~2W + the queued rows:
  // constant memory per context, amortised O(d) per position. The rows of
  // one call are written before any of them attends, so the cut is made for
  // the earliest of them.
  void evict(Context& c) const {
    const std::size_t window = impl_->weights.config.attention_window;
    if (window == 0) return;
    const std::size_t keep_from = m1::span_first(window, c.length);
    if (keep_from < c.kv_base + window) return;
    const std::size_t d = impl_->weights.config.d_model, dropped = keep_from - c.kv_base;
    for (auto* cache : {&c.keys, &c.values})
      for (auto& rows : *cache) {
        const auto from = rows.begin() + static_cast<std::ptrdiff_t>(d);  // row 0, the sink, stays
        rows.erase(from, from + static_cast<std::ptrdiff_t>(std::min(dropped * d, rows.size() - d)));
      }
    c.kv_base = keep_from;
  }

  // Runs the queued positions of `batch` as one set of rows, on this thread,
  // with the backend of the model's kernel (chosen here, once per call).
  void forward(std::span<Context* const> batch) const { forward(batch, use_prefix_ && prefix_ != nullptr); }
  void forward(std::span<Context* const> batch, bool use_prefix) const {
    switch (kernel_) {
      case m1::KernelKind::kSimd: return forward_on<m1::SimdBackend>(batch, use_prefix);
      case m1::KernelKind::kScalar: return forward_on<m1::ScalarBackend>(batch, use_prefix);
    }
  }

  template <class Backend>
  void forward_on(std::span<Context* const> batch, bool use_prefix) const {
    auto& rows = workspace().rows;
    rows.clear();
    for (Context* c : batch)
      for (std::size_t i = 0; i < c->pending.size(); ++i) {
        const bool last = i + 1 == c->pending.size();
        Table* table = c->each ? &c->tables[i] : last ? &c->table : nullptr;
        const std::size_t pos = c->length + i;
        if (pos == 1) c->second = c->pending[i];
        const RowSource source = row_source(*c, pos, c->second, c->pending[i], use_prefix);
        switch (source.kind) {
          case RowSource::kPrefixCache: install_prefix_row(*c, pos, c->pending[i], table); break;
          case RowSource::kPairMemo: install_pair_row(*c, *source.pair, table); break;
          case RowSource::kCompute:
          case RowSource::kComputeAndKeep:
            rows.push_back({c, pos, c->pending[i], table, source.kind == RowSource::kComputeAndKeep && table != nullptr});
        }
      }
    if (!rows.empty()) compute_rows<Backend>(batch);
    for (const Row& r : rows)
      if (r.keep) keep_pair(*r.ctx, r.symbol, *r.table);
    for (Context* c : batch) {
      if (c->length == 0 && !c->pending.empty()) c->eos_start = c->pending[0] == kEos;
      if (c->each && !c->pending.empty()) c->table = c->tables.back();
      if (!c->each) c->tables.clear();  // predict_each then has no stale tables to return
      c->length += c->pending.size();
      c->pending.clear();
    }
  }

  // The rows of ws.rows (queued positions of the contexts of `batch`): their cache rows, and the
  // tables of those that want one.
  template <class Backend>
  void compute_rows(std::span<Context* const> batch) const {
    const auto& cfg = impl_->weights.config;
    const std::size_t d = cfg.d_model, F = cfg.mlp_dim, V = kAlphabetSize;
    constexpr std::int32_t A = m1::kActivationClamp;
    auto& ws = workspace();
    auto& rows = ws.rows;
    for (Context* c : batch) evict(*c);
    const std::size_t R = rows.size(), ld_acc = std::max({3 * d, F, V});
    ws.x.resize(R * d);
    ws.acc.resize(R * ld_acc);
    ws.n.resize(R * d);
    ws.q.resize(R * d);
    ws.a.resize(R * d);
    ws.hid.resize(R * F);
    std::int32_t* x = ws.x.data();
    std::int32_t* acc = ws.acc.data();
    std::int16_t *n = ws.n.data(), *q = ws.q.data(), *a = ws.a.data(), *hid = ws.hid.data();
    for (std::size_t r = 0; r < R; ++r) std::copy_n(&impl_->weights.embed[rows[r].symbol * d], d, x + r * d);

    for (std::size_t li = 0; li < impl_->layers.size(); ++li) {
      const m1::KernelLayer& L = *impl_->layers[li];
      const m1::TransformerLayer& T = *L.source;
      for (std::size_t r = 0; r < R; ++r) Backend::rmsnorm(x + r * d, d, n + r * d);
      // q, k, v in one product (acc row = [q | k | v]); k and v go straight
      // into each context's cache at their position.
      Backend::linear(L.qkv, n, R, acc, ld_acc);
      m1::requant_rows(acc, ld_acc, R, d, T.q.mult.data(), T.q.shift, INT32_MIN, -A, A, q, d);
      for (std::size_t r = 0; r < R; ++r) {
        auto& c = *rows[r].ctx;
        const std::size_t end = (m1::cache_row(rows[r].pos, c.kv_base) + 1) * d;
        if (c.keys[li].size() < end) c.keys[li].resize(end);
        if (c.values[li].size() < end) c.values[li].resize(end);
        m1::requant_rows(acc + r * ld_acc + d, ld_acc, 1, d, T.k.mult.data(), T.k.shift, INT32_MIN, -A, A, &c.keys[li][end - d], d);
        m1::requant_rows(acc + r * ld_acc + 2 * d, ld_acc, 1, d, T.v.mult.data(), T.v.shift, INT32_MIN, -A, A, &c.values[li][end - d], d);
      }
      // Attention of each row over its span of its context's positions.
      for (std::size_t r = 0; r < R; ++r) {
        const Context& c = *rows[r].ctx;
        Backend::attend(impl_->attention[li], rows[r].pos, q + r * d, m1::KvRows{c.keys[li].data(), c.values[li].data(), c.kv_base},
                        a + r * d, ws.scores);
      }
      // Output projection into the residual stream.
      Backend::linear(L.o, a, R, acc, d);
      m1::add_to_residual(acc, R, d, T.o.mult.data(), T.o.shift, x);
      // MLP.
      for (std::size_t r = 0; r < R; ++r) Backend::rmsnorm(x + r * d, d, n + r * d);
      Backend::linear(L.w1, n, R, acc, F);
      m1::requant_rows(acc, F, R, F, T.w1.mult.data(), T.w1.shift, 0, 0, A, hid, F);
      Backend::linear(L.w2, hid, R, acc, d);
      m1::add_to_residual(acc, R, d, T.w2.mult.data(), T.w2.shift, x);
    }

    // Logits and tables, only for the rows whose table is wanted.
    auto& wanted = ws.wanted;
    wanted.clear();
    for (std::size_t r = 0; r < R; ++r)
      if (rows[r].table) {
        Backend::rmsnorm(x + r * d, d, n + wanted.size() * d);
        wanted.push_back(r);
      }
    Backend::linear(impl_->out, n, wanted.size(), acc, V);
    const auto& out = impl_->weights.out;
    for (std::size_t w = 0; w < wanted.size(); ++w)
      Backend::template logits_to_table<FrequencyBits>(acc + w * V, out.mult, out.shift, impl_->weights.exp2_lut, *rows[wanted[w]].table);
  }

  std::shared_ptr<const Impl> impl_;
  m1::KernelKind kernel_;
  std::shared_ptr<ThreadPool> pool_;
  std::shared_ptr<const PrefixCache> prefix_;  // null only while it is being computed
  std::shared_ptr<m1::PairMemo<PairState>> pairs_ = std::make_shared<m1::PairMemo<PairState>>();  // shared by copies
  bool use_prefix_ = true;
};

static_assert(Model<TransformerModel<16>>);
static_assert(BatchModel<TransformerModel<16>>);
static_assert(LookaheadModel<TransformerModel<16>>);
static_assert(LookaheadBatchModel<TransformerModel<16>>);

}  // namespace eqinfo
