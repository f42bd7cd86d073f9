// One row's attention in the fixed-point M1 (docs/integer_m1.md, Forward
// step 3): the query at position t over the cached keys and values of its
// span, per head: positions 0..t (format v1), or the sink 0 and the W - 1
// latest positions (format v2, "Attention span").
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/m1/integer_ops.hpp"
#include "eqinfo/m1/row_ops.hpp"

namespace eqinfo::m1 {

struct AttentionParams {
  std::size_t d = 0, heads = 0, head_dim = 0, max_distance = 0;
  std::size_t window = 0;  // W of format v2; 0: unbounded (v1)
  std::int32_t score_mult = 0;
  int score_shift = 0;
  std::span<const std::int32_t> rel_bias;    // [num_buckets][H]
  std::span<const std::int32_t> rel_bucket;  // [max_distance + 1]
  std::span<const std::int32_t> exp2_lut;    // [1024]
};

// The first of the latest positions the query at t attends to, besides the
// sink 0 (docs/integer_m1.md, "Attention span"): max(1, t - W + 2), or 1
// when the span is unbounded (W = 0).
inline std::size_t span_first(std::size_t window, std::size_t t) noexcept {
  return window == 0 || t + 2 <= window ? 1 : t + 2 - window;
}

// Where a context's cache keeps `position`: row 0 holds position 0 (the
// sink), row 1 + τ - base position τ >= base. With an unbounded span nothing
// is evicted, base stays 1 and row τ is position τ.
inline std::size_t cache_row(std::size_t position, std::size_t base) noexcept { return position == 0 ? 0 : 1 + position - base; }

// One layer's cache of a context, as the span reads it (rows by cache_row).
struct KvRows {
  const std::int16_t* keys;    // [rows][d], head-major columns
  const std::int16_t* values;  // [rows][d]
  std::size_t base = 1;
  [[nodiscard]] std::size_t row(std::size_t position) const noexcept { return cache_row(position, base); }
};

// q [d] at position t; kv holds every position of its span; a [d] receives
// the output on v's grid. `u` is scratch, one score per key of the span.
template <KernelKind K>
void attend(const AttentionParams& p, std::size_t t, const std::int16_t* q, const KvRows& kv, std::int16_t* a,
            std::vector<std::int64_t>& u) {
  const std::size_t d = p.d, hd = p.head_dim;
  // The keys: the sink, then first..t (none when t = 0); key i is position pos(i).
  const std::size_t first = span_first(p.window, t), keys = 1 + (t >= first ? t - first + 1 : 0);
  const auto pos = [&](std::size_t i) { return i == 0 ? std::size_t{0} : first + i - 1; };
  u.resize(keys);
  std::array<std::int64_t, 256> num;  // hd <= d <= 256
  for (std::size_t h = 0; h < p.heads; ++h) {
    std::int64_t mx = INT64_MIN;
    for (std::size_t i = 0; i < keys; ++i) {
      const std::size_t tau = pos(i);
      const std::int32_t dot = m1::dot<K>(q + h * hd, kv.keys + kv.row(tau) * d + h * hd, hd);
      const auto bucket = static_cast<std::size_t>(p.rel_bucket[std::min(t - tau, p.max_distance)]);
      u[i] = requant(dot, p.score_mult, p.score_shift) + p.rel_bias[bucket * p.heads + h];
      mx = std::max(mx, u[i]);
    }
    std::int64_t total = 0;
    std::fill_n(num.begin(), hd, 0);
    for (std::size_t i = 0; i < keys; ++i) {
      const std::int64_t e = exp2_neg(mx - u[i], p.exp2_lut);
      if (e == 0) continue;
      total += e;
      const std::int16_t* vt = kv.values + kv.row(pos(i)) * d + h * hd;
      for (std::size_t j = 0; j < hd; ++j) num[j] += e * vt[j];
    }
    // |num_j| <= S · A with S <= keys · 2^15: Divisor40 (vectorised) up to
    // 2^13 keys, ExactDivisor (|num_j| < 2^62) beyond.
    std::int16_t* ah = a + h * hd;
    const auto divide_all = [&](const auto& by_total) {
      for (std::size_t j = 0; j < hd; ++j)
        ah[j] = static_cast<std::int16_t>(clamp32(by_total.div_round(num[j]), -kActivationClamp, kActivationClamp));
    };
    if constexpr (K == KernelKind::kScalar) {
      for (std::size_t j = 0; j < hd; ++j)
        ah[j] = static_cast<std::int16_t>(clamp32(div_round(num[j], total), -kActivationClamp, kActivationClamp));
    } else {
      if (keys <= (std::size_t{1} << 13))
        divide_all(Divisor40(static_cast<std::uint64_t>(total)));
      else
        divide_all(ExactDivisor(static_cast<std::uint64_t>(total)));
    }
  }
}

// The run-time choice, for tests and tools (the model picks K once per call: m1/backend.hpp).
inline void attend(const AttentionParams& p, std::size_t t, const std::int16_t* q, const KvRows& kv, std::int16_t* a,
                   std::vector<std::int64_t>& u, KernelKind kind) {
  kind == KernelKind::kScalar ? attend<KernelKind::kScalar>(p, t, q, kv, a, u) : attend<KernelKind::kSimd>(p, t, q, kv, a, u);
}

}  // namespace eqinfo::m1
