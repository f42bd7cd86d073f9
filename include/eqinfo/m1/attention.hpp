// One row's attention in the fixed-point M1 (docs/integer_m1.md, Forward
// step 3): the query at position t over the cached keys and values of
// positions 0..t of its context, per head.
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
  std::int32_t score_mult = 0;
  int score_shift = 0;
  std::span<const std::int32_t> rel_bias;    // [num_buckets][H]
  std::span<const std::int32_t> rel_bucket;  // [max_distance + 1]
  std::span<const std::int32_t> exp2_lut;    // [1024]
};

// q [d] at position t; keys, values: [t + 1][d] (head-major columns); a [d]
// receives the output on v's grid.  `u` is scratch, resized to t + 1.
template <KernelKind K>
void attend(const AttentionParams& p, std::size_t t, const std::int16_t* q, const std::int16_t* keys, const std::int16_t* values,
            std::int16_t* a, std::vector<std::int64_t>& u) {
  const std::size_t d = p.d, hd = p.head_dim;
  u.resize(t + 1);
  std::array<std::int64_t, 256> num;  // hd <= d <= 256
  for (std::size_t h = 0; h < p.heads; ++h) {
    std::int64_t mx = INT64_MIN;
    for (std::size_t tau = 0; tau <= t; ++tau) {
      const std::int32_t dot = m1::dot<K>(q + h * hd, keys + tau * d + h * hd, hd);
      const auto bucket = static_cast<std::size_t>(p.rel_bucket[std::min(t - tau, p.max_distance)]);
      u[tau] = requant(dot, p.score_mult, p.score_shift) + p.rel_bias[bucket * p.heads + h];
      mx = std::max(mx, u[tau]);
    }
    std::int64_t total = 0;
    std::fill_n(num.begin(), hd, 0);
    for (std::size_t tau = 0; tau <= t; ++tau) {
      const std::int64_t e = exp2_neg(mx - u[tau], p.exp2_lut);
      if (e == 0) continue;
      total += e;
      const std::int16_t* vt = values + tau * d + h * hd;
      for (std::size_t j = 0; j < hd; ++j) num[j] += e * vt[j];
    }
    // |num_j| <= S · A with S <= (t + 1) · 2^15: Divisor40 (vectorised) up
    // to 2^13 positions, ExactDivisor (|num_j| < 2^62) beyond.
    std::int16_t* ah = a + h * hd;
    const auto divide_all = [&](const auto& by_total) {
      for (std::size_t j = 0; j < hd; ++j)
        ah[j] = static_cast<std::int16_t>(clamp32(by_total.div_round(num[j]), -kActivationClamp, kActivationClamp));
    };
    if constexpr (K == KernelKind::kScalar) {
      for (std::size_t j = 0; j < hd; ++j)
        ah[j] = static_cast<std::int16_t>(clamp32(div_round(num[j], total), -kActivationClamp, kActivationClamp));
    } else {
      if (t < (std::size_t{1} << 13))
        divide_all(Divisor40(static_cast<std::uint64_t>(total)));
      else
        divide_all(ExactDivisor(static_cast<std::uint64_t>(total)));
    }
  }
}

// The run-time choice, for tests and tools (the model picks K once per call: m1/backend.hpp).
inline void attend(const AttentionParams& p, std::size_t t, const std::int16_t* q, const std::int16_t* keys, const std::int16_t* values,
                   std::int16_t* a, std::vector<std::int64_t>& u, KernelKind kind) {
  kind == KernelKind::kScalar ? attend<KernelKind::kScalar>(p, t, q, keys, values, a, u)
                              : attend<KernelKind::kSimd>(p, t, q, keys, values, a, u);
}

}  // namespace eqinfo::m1
