// TransformerModel<P>: the byte-level transformer M1 as a Model policy, run
// by an integer fixed-point kernel so that its frequency tables are identical
// on every machine, SIMD width, batch shape and code path
// (docs/integer_m1.md is the arithmetic; this file is the plumbing).
//
// A Context is one window's KV cache.  reset() starts it with EOS (M1's
// start-of-context symbol); advance() only queues a symbol; predict() runs
// the queued positions (teacher-forced, several at once if several are
// queued) and returns the table for the next symbol.  predict_batch() runs the
// queued positions of many contexts as one batch of rows, so every weight
// matrix is streamed once per step for the whole batch.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "eqinfo/fingerprint.hpp"
#include "eqinfo/frequency_table.hpp"
#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/m1/integer_ops.hpp"
#include "eqinfo/m1/transformer_weights.hpp"
#include "eqinfo/model.hpp"
#include "eqinfo/safetensors.hpp"
#include "eqinfo/thread_pool.hpp"

namespace eqinfo {

namespace m1 {

// Weights widened to int16 once at load, in the layout the dot kernels read.
struct WideLinear {
  std::vector<std::int16_t> weight;  // [out][in]
  std::span<const std::int32_t> mult;
  int shift = 0;
  std::size_t out = 0, in = 0;

  explicit WideLinear(const QuantizedLinear& q)
      : weight(q.weight.begin(), q.weight.end()), mult(q.mult), shift(q.shift), out(q.out), in(q.in) {}
};

struct WideLayer {
  WideLinear q, k, v, o, w1, w2;
  std::int32_t score_mult;
  int score_shift;
  std::span<const std::int32_t> rel_bias;
  explicit WideLayer(const TransformerLayer& l)
      : q(l.q), k(l.k), v(l.v), o(l.o), w1(l.w1), w2(l.w2), score_mult(l.score_mult), score_shift(l.score_shift),
        rel_bias(l.rel_bias) {}
};

// RMSNorm with the gain folded into the next weights: Q.10 x -> unit-RMS n on a 2^-8 grid.
inline void rmsnorm(const std::int32_t* x, std::size_t d, std::int16_t* n) noexcept {
  std::int64_t ss = 0;
  for (std::size_t i = 0; i < d; ++i) ss += std::int64_t{x[i]} * x[i];  // < 256 * 2^46
  const std::int64_t ms = std::max<std::int64_t>(ss / static_cast<std::int64_t>(d), 1);
  const auto r = static_cast<std::int64_t>(isqrt(static_cast<std::uint64_t>(ms) << 16));  // rms * 2^8, >= 256
  for (std::size_t i = 0; i < d; ++i)
    n[i] = static_cast<std::int16_t>(clamp32(div_round(std::int64_t{x[i]} << 16, r), -kActivationClamp, kActivationClamp));
}

// The frequency table at precision P from Q.10 log2-unit logits.
template <unsigned P>
void logits_to_table(const std::int64_t* logits, std::span<const std::int32_t> lut, FrequencyTable<P>& table) {
  std::int64_t m = logits[0];
  for (std::size_t s = 1; s < kAlphabetSize; ++s) m = std::max(m, logits[s]);
  std::array<std::int64_t, kAlphabetSize> e;
  std::int64_t total = 0;
  std::size_t argmax = 0;
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    e[s] = exp2_neg(m - logits[s], lut);
    total += e[s];
    if (e[s] > e[argmax]) argmax = s;
  }
  constexpr std::int64_t spare = (std::int64_t{1} << P) - static_cast<std::int64_t>(kAlphabetSize);
  std::array<std::uint32_t, kAlphabetSize> f;
  std::int64_t sum = 0;
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    f[s] = static_cast<std::uint32_t>(1 + e[s] * spare / total);
    sum += f[s];
  }
  f[argmax] += static_cast<std::uint32_t>((std::int64_t{1} << P) - sum);
  table.set_frequencies(f);
}

}  // namespace m1

template <unsigned FrequencyBits = 16>
class TransformerModel {
 public:
  static constexpr unsigned kFrequencyBits = FrequencyBits;
  using Table = FrequencyTable<FrequencyBits>;

  struct Context {
    std::vector<std::vector<std::int16_t>> keys, values;  // per layer: [positions][d]
    std::size_t length = 0;                               // positions already run
    std::vector<Symbol> pending;                          // queued, not yet run
    Table table;
  };

  // Loads and validates a model exported by python -m eqinfo.m1.export.
  // threads: workers for the batched forward (rows are split between them;
  // every row is computed by one thread, so results do not depend on it).
  explicit TransformerModel(const std::string& path, m1::KernelKind kernel = m1::KernelKind::kSimd, std::size_t threads = 1)
      : impl_(std::make_shared<Impl>(path)), kernel_(kernel), pool_(std::make_shared<ThreadPool>(threads)) {
    if (impl_->weights.config.frequency_bits != FrequencyBits)
      throw impl_->file.error("its tables are " + std::to_string(impl_->weights.config.frequency_bits) +
                              "-bit, this model type is " + std::to_string(FrequencyBits) + "-bit");
    run_self_test();
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
    c.length = 0;
    c.pending.assign(1, kEos);  // every M1 context starts with EOS
  }
  void advance(Context& c, Symbol s) const { c.pending.push_back(s); }

  const Table& predict(Context& c) const {
    if (!c.pending.empty()) {
      Context* one = &c;
      run(std::span<Context* const>(&one, 1));
    }
    return c.table;
  }
  void predict_batch(std::span<Context* const> batch) const { run(batch); }

  [[nodiscard]] std::uint64_t fingerprint() const { return impl_->fingerprint; }
  [[nodiscard]] const m1::TransformerConfig& config() const { return impl_->weights.config; }
  [[nodiscard]] const nlohmann::json& metadata() const { return impl_->weights.metadata; }
  [[nodiscard]] m1::KernelKind kernel() const { return kernel_; }
  void set_kernel(m1::KernelKind k) { kernel_ = k; }

 private:
  // The sentencepiece habit: the file carries inputs and the hashes of the
  // tables the exporter's reference computed for them; a model that computes
  // anything else (damaged weights, a kernel bug, another spec) is refused.
  void run_self_test() const {
    const nlohmann::json& meta = impl_->weights.metadata;
    const nlohmann::json st = meta.contains("self_test") ? meta["self_test"] : nlohmann::json();
    if (!st.is_object() || !st.contains("inputs") || !st.contains("table_hashes") || !st["inputs"].is_array() ||
        !st["table_hashes"].is_array() || st["inputs"].size() != st["table_hashes"].size() || st["inputs"].empty())
      throw impl_->file.error("metadata lacks a usable self_test");
    if (st.value("frequency_bits", 0u) != FrequencyBits) throw impl_->file.error("self_test is for another precision");
    for (std::size_t i = 0; i < st["inputs"].size(); ++i) {
      const nlohmann::json& hex = st["inputs"][i];
      const nlohmann::json& want = st["table_hashes"][i];
      if (!hex.is_string() || !want.is_string()) throw impl_->file.error("malformed self_test entry");
      std::vector<std::uint8_t> input;
      const std::string& hs = hex.get_ref<const std::string&>();
      if (hs.size() % 2) throw impl_->file.error("malformed self_test input");
      for (std::size_t j = 0; j < hs.size(); j += 2) input.push_back(static_cast<std::uint8_t>(std::stoul(hs.substr(j, 2), nullptr, 16)));
      char got[17];
      std::snprintf(got, sizeof got, "%016llx", static_cast<unsigned long long>(context_tables_hash(input)));
      if (want.get<std::string>() != got)
        throw impl_->file.error("self-test failed on input " + std::to_string(i) + ": tables hash to " + got + ", the file expects " +
                                want.get<std::string>() + " (damaged file, or a kernel that does not follow docs/integer_m1.md)");
    }
  }

  struct Impl {
    SafetensorsFile file;
    m1::TransformerWeights weights;
    std::vector<m1::WideLayer> layers;
    m1::WideLinear out;
    std::uint64_t fingerprint;

    explicit Impl(const std::string& path)
        : file(path), weights(file), out(weights.out), fingerprint(compute_fingerprint()) {
      for (const auto& l : weights.layers) layers.emplace_back(l);
    }
    // FNV-1a 64 over every tensor's name and bytes, in name order, plus P.
    [[nodiscard]] std::uint64_t compute_fingerprint() const {
      Fnv1a64 h;
      h.text("eqinfo-m1").u64(FrequencyBits);
      for (const auto& [name, t] : file.tensors()) h.text(name).bytes(t.bytes);
      return h.value();
    }
  };

  // One queued position of one context.
  struct Row {
    Context* ctx;
    std::size_t pos;
    Symbol symbol;
    bool last;  // the context's last queued position: its table is wanted
  };

  // One row's attention in layer li: query q [d] at position t over the
  // context's cached keys/values 0..t, output a [d] on v's grid.
  void attend(std::size_t li, const Context& c, std::size_t t, const std::int16_t* q, std::int16_t* a) const {
    const auto& cfg = impl_->weights.config;
    const auto& L = impl_->layers[li];
    const auto lut = impl_->weights.exp2_lut;
    const std::size_t d = cfg.d_model, H = cfg.n_heads, hd = cfg.head_dim();
    std::vector<std::int64_t> u(t + 1);
    std::array<std::int64_t, 256> num;  // hd <= d <= 256
    for (std::size_t h = 0; h < H; ++h) {
      std::int64_t mx = INT64_MIN;
      for (std::size_t tau = 0; tau <= t; ++tau) {
        const std::int32_t dot = m1::dot(q + h * hd, &c.keys[li][tau * d + h * hd], hd, kernel_);
        const auto bucket = static_cast<std::size_t>(impl_->weights.rel_bucket[std::min(t - tau, cfg.rel_max_distance)]);
        u[tau] = m1::requant(dot, L.score_mult, L.score_shift) + L.rel_bias[bucket * H + h];
        mx = std::max(mx, u[tau]);
      }
      std::int64_t total = 0;
      std::fill_n(num.begin(), hd, 0);
      for (std::size_t tau = 0; tau <= t; ++tau) {
        const std::int64_t e = m1::exp2_neg(mx - u[tau], lut);
        if (e == 0) continue;
        total += e;
        const std::int16_t* vt = &c.values[li][tau * d + h * hd];
        for (std::size_t j = 0; j < hd; ++j) num[j] += e * vt[j];
      }
      for (std::size_t j = 0; j < hd; ++j)
        a[h * hd + j] = static_cast<std::int16_t>(m1::clamp32(m1::div_round(num[j], total), -m1::kActivationClamp, m1::kActivationClamp));
    }
  }

  void linear(const m1::WideLinear& l, const std::vector<std::int16_t>& x, std::size_t rows, std::vector<std::int32_t>& acc) const {
    acc.resize(rows * l.out);
    pool_->parallel_for(rows, [&](std::size_t begin, std::size_t end) {
      m1::matmul_rows(x.data() + begin * l.in, end - begin, l.in, l.weight.data(), l.out, acc.data() + begin * l.out, kernel_);
    });
  }

  void run(std::span<Context* const> batch) const {
    const auto& cfg = impl_->weights.config;
    const std::size_t d = cfg.d_model, F = cfg.mlp_dim;
    const auto lut = impl_->weights.exp2_lut;
    std::vector<Row> rows;
    for (Context* c : batch) {
      for (std::size_t i = 0; i < c->pending.size(); ++i)
        rows.push_back({c, c->length + i, c->pending[i], i + 1 == c->pending.size()});
    }
    if (rows.empty()) return;
    const std::size_t R = rows.size();

    std::vector<std::int32_t> x(R * d), acc;
    std::vector<std::int16_t> n(R * d), q(R * d), a(R * d), hid(R * F);
    for (std::size_t r = 0; r < R; ++r)
      std::copy_n(impl_->weights.embed.begin() + static_cast<std::ptrdiff_t>(rows[r].symbol * d), d, x.begin() + static_cast<std::ptrdiff_t>(r * d));

    for (std::size_t li = 0; li < impl_->layers.size(); ++li) {
      const auto& L = impl_->layers[li];
      for (std::size_t r = 0; r < R; ++r) m1::rmsnorm(&x[r * d], d, &n[r * d]);
      // q, k, v; k and v go straight into each context's cache at their position.
      const auto project = [&](const m1::WideLinear& l, auto&& store) {
        linear(l, n, R, acc);
        for (std::size_t r = 0; r < R; ++r)
          for (std::size_t j = 0; j < d; ++j)
            store(r, j, static_cast<std::int16_t>(m1::clamp32(m1::requant(acc[r * d + j], l.mult[j], l.shift),
                                                              -m1::kActivationClamp, m1::kActivationClamp)));
      };
      for (std::size_t r = 0; r < R; ++r) {
        auto& c = *rows[r].ctx;
        c.keys[li].resize(std::max(c.keys[li].size(), (rows[r].pos + 1) * d));
        c.values[li].resize(std::max(c.values[li].size(), (rows[r].pos + 1) * d));
      }
      project(L.q, [&](std::size_t r, std::size_t j, std::int16_t v) { q[r * d + j] = v; });
      project(L.k, [&](std::size_t r, std::size_t j, std::int16_t v) { rows[r].ctx->keys[li][rows[r].pos * d + j] = v; });
      project(L.v, [&](std::size_t r, std::size_t j, std::int16_t v) { rows[r].ctx->values[li][rows[r].pos * d + j] = v; });

      // Attention of each row over its context's positions 0..pos.
      pool_->parallel_for(R, [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) attend(li, *rows[r].ctx, rows[r].pos, &q[r * d], &a[r * d]);
      });
      // Output projection into the residual stream.
      linear(L.o, a, R, acc);
      for (std::size_t i = 0; i < R * d; ++i)
        x[i] = m1::clamp32(x[i] + m1::requant(acc[i], L.o.mult[i % d], L.o.shift), -m1::kResidualClamp, m1::kResidualClamp);
      // MLP.
      for (std::size_t r = 0; r < R; ++r) m1::rmsnorm(&x[r * d], d, &n[r * d]);
      linear(L.w1, n, R, acc);
      for (std::size_t i = 0; i < R * F; ++i)
        hid[i] = static_cast<std::int16_t>(
            m1::clamp32(m1::requant(std::max(acc[i], 0), L.w1.mult[i % F], L.w1.shift), 0, m1::kActivationClamp));
      linear(L.w2, hid, R, acc);
      for (std::size_t i = 0; i < R * d; ++i)
        x[i] = m1::clamp32(x[i] + m1::requant(acc[i], L.w2.mult[i % d], L.w2.shift), -m1::kResidualClamp, m1::kResidualClamp);
    }

    // Logits and tables, only for each context's last queued position.
    std::vector<std::int16_t> nl;
    std::vector<std::size_t> wanted;
    for (std::size_t r = 0; r < R; ++r)
      if (rows[r].last) {
        wanted.push_back(r);
        nl.resize(nl.size() + d);
        m1::rmsnorm(&x[r * d], d, &nl[nl.size() - d]);
      }
    linear(impl_->out, nl, wanted.size(), acc);
    std::array<std::int64_t, kAlphabetSize> logits;
    for (std::size_t w = 0; w < wanted.size(); ++w) {
      for (std::size_t s = 0; s < kAlphabetSize; ++s)
        logits[s] = m1::requant(acc[w * kAlphabetSize + s], impl_->out.mult[s], impl_->out.shift);
      auto& c = *rows[wanted[w]].ctx;
      m1::logits_to_table<FrequencyBits>(logits.data(), lut, c.table);
    }
    for (Context* c : batch) {
      c->length += c->pending.size();
      c->pending.clear();
    }
  }

  std::shared_ptr<const Impl> impl_;
  m1::KernelKind kernel_;
  std::shared_ptr<ThreadPool> pool_;
};

static_assert(Model<TransformerModel<16>>);
static_assert(BatchModel<TransformerModel<16>>);

}  // namespace eqinfo
