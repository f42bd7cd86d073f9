// Tests for include/eqinfo/m1/attention.hpp: m1::attend, scalar and SIMD,
// against a naive transcription of docs/integer_m1.md (Forward step 3) on
// random small shapes and contexts past the 2^13 positions where the SIMD
// path changes divisor, plus hand-computed cases: one position, equal scores
// (rounding half away from zero), a halved weight, a dominating position,
// the relative-bucket clip at max_distance, and the activation clamp.
#include "eqinfo/m1/attention.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using eqinfo::m1::AttentionParams;
using eqinfo::m1::KernelKind;

namespace {

constexpr std::int64_t kA = 4095;  // the activation clamp A

// exp2_lut as the exporter defines it: round(2^15 · 2^(-i/1024)), so
// entry 0 is 2^15 and the table decreases.
std::vector<std::int32_t> exp2_table() {
  std::vector<std::int32_t> lut(1024);
  for (int i = 0; i < 1024; ++i) lut[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(std::lround(32768.0 * std::exp2(-i / 1024.0)));
  return lut;
}

// Everything one attend() call reads, owned.
struct Case {
  std::size_t heads = 1, head_dim = 1, t = 0, max_distance = 0;
  std::size_t window = 0;  // the span W of format v2; 0: every position (v1)
  std::int32_t score_mult = 1;
  int score_shift = 0;
  std::vector<std::int32_t> rel_bias{0}, rel_bucket{0}, lut = exp2_table();
  std::vector<std::int16_t> q, keys, values;  // [d], [t + 1][d], [t + 1][d]

  [[nodiscard]] std::size_t d() const { return heads * head_dim; }
  [[nodiscard]] AttentionParams params() const {
    return {d(), heads, head_dim, max_distance, window, score_mult, score_shift, rel_bias, rel_bucket, lut};
  }
};

// floor(a / b) for b > 0, written out rather than with the library's shifts.
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b != 0 && a < 0); }

// docs/integer_m1.md, "Attention span": the sink, or within the W - 1 latest.
bool in_span(const Case& c, std::size_t tau) { return c.window == 0 || tau == 0 || c.t - tau <= c.window - 2; }

// docs/integer_m1.md, Forward step 3, one line per formula; keys outside the
// span get weight 0 (their score is never the maximum).
std::vector<std::int16_t> naive_attend(const Case& c) {
  const std::size_t d = c.d(), hd = c.head_dim;
  std::vector<std::int16_t> out(d);
  for (std::size_t h = 0; h < c.heads; ++h) {
    std::vector<std::int64_t> u(c.t + 1, INT64_MIN);
    for (std::size_t tau = 0; tau <= c.t; ++tau) {
      if (!in_span(c, tau)) continue;
      std::int64_t dot = 0;
      for (std::size_t j = 0; j < hd; ++j) dot += std::int64_t{c.q[h * hd + j]} * c.keys[tau * d + h * hd + j];
      const std::int64_t score = floor_div(dot * c.score_mult + (c.score_shift ? std::int64_t{1} << (c.score_shift - 1) : 0),
                                           std::int64_t{1} << c.score_shift);
      const auto bucket = static_cast<std::size_t>(c.rel_bucket[std::min(c.t - tau, c.max_distance)]);
      u[tau] = score + c.rel_bias[bucket * c.heads + h];
    }
    const std::int64_t m = *std::max_element(u.begin(), u.end());
    std::int64_t total = 0;
    std::vector<std::int64_t> num(hd);
    for (std::size_t tau = 0; tau <= c.t; ++tau) {
      if (!in_span(c, tau)) continue;
      const std::int64_t delta = m - u[tau];
      const std::int64_t e = delta / 1024 >= 31 ? 0 : c.lut[static_cast<std::size_t>(delta % 1024)] / (std::int64_t{1} << (delta / 1024));
      total += e;
      for (std::size_t j = 0; j < hd; ++j) num[j] += e * c.values[tau * d + h * hd + j];
    }
    for (std::size_t j = 0; j < hd; ++j) {
      const std::int64_t mag = (std::abs(num[j]) + total / 2) / total;  // half away from zero
      out[h * hd + j] = static_cast<std::int16_t>(std::clamp(num[j] < 0 ? -mag : mag, -kA, kA));
    }
  }
  return out;
}

// attend() for the row at c.t, on an output buffer and scratch that start
// full of junk, with a guard after the d outputs that must stay untouched.
std::vector<std::int16_t> run_attend(const Case& c, KernelKind kind) {
  std::vector<std::int16_t> a(c.d() + 8, 0x5a5a);
  eqinfo::m1::AttentionScratch scratch{std::vector<std::int64_t>(3, -77), std::vector<std::int32_t>(5, -9)};
  eqinfo::m1::attend(c.params(), c.t, c.q.data(), eqinfo::m1::KvRows{c.keys.data(), c.values.data(), 1}, a.data(), scratch, kind);
  for (std::size_t i = c.d(); i < a.size(); ++i) CHECK(a[i] == 0x5a5a);
  a.resize(c.d());
  return a;
}

void check_all_kernels(const Case& c, const std::vector<std::int16_t>& expected) {
  CHECK(run_attend(c, KernelKind::kScalar) == expected);
  CHECK(run_attend(c, KernelKind::kSimd) == expected);
}

// A case with random q, k, v in [-A, A] (sometimes all at ±A), random
// scores scale, buckets and biases within the bounds the exporter
// guarantees (|score| + max|bias| < 2^30).
Case random_case(std::size_t heads, std::size_t head_dim, std::size_t t, std::mt19937_64& rng) {
  Case c;
  c.heads = heads;
  c.head_dim = head_dim;
  c.t = t;
  c.max_distance = rng() % 24;
  const std::size_t buckets = 1 + rng() % 8;
  c.rel_bucket.resize(c.max_distance + 1);
  for (auto& b : c.rel_bucket) b = static_cast<std::int32_t>(rng() % buckets);
  c.rel_bias.resize(buckets * heads);
  for (auto& b : c.rel_bias) b = static_cast<std::int32_t>(rng() % 6001) - 3000;
  c.score_mult = static_cast<std::int32_t>(1 + rng() % (1u << 16));
  c.score_shift = 17 + static_cast<int>(rng() % 24);  // |dot| < 2^30, so |score| < 2^29
  const bool extreme = rng() % 5 == 0;
  const auto value = [&] { return static_cast<std::int16_t>(extreme ? (rng() % 2 ? kA : -kA) : static_cast<std::int64_t>(rng() % (2 * kA + 1)) - kA); };
  const std::size_t d = c.d();
  c.q.resize(d);
  c.keys.resize((t + 1) * d);
  c.values.resize((t + 1) * d);
  for (auto* v : {&c.q, &c.keys, &c.values})
    for (auto& x : *v) x = value();
  return c;
}

// Two positions, one head of one component, all scores 0: weights equal.
Case equal_scores(std::vector<std::int16_t> values) {
  Case c;
  c.t = values.size() - 1;
  c.q = {0};
  c.keys.assign(values.size(), 0);
  c.values = std::move(values);
  return c;
}

}  // namespace

TEST_CASE("attend equals the spec's naive formulas on random shapes, scalar and SIMD", "[m1][attention]") {
  std::mt19937_64 rng(1);
  // head_dim 1..128 covers the SIMD dot's tails (16 or 32 lanes) and the AVX-512 head kernel (multiples of 32).
  for (const std::size_t heads : {1, 2, 4})
    for (const std::size_t head_dim : {1, 3, 8, 16, 17, 32, 33, 64, 96, 128})
      for (const std::size_t t : {0, 1, 2, 5, 31, 100}) {
        const Case c = random_case(heads, head_dim, t, rng);
        INFO("heads " << heads << ", head_dim " << head_dim << ", t " << t << ", max_distance " << c.max_distance << ", shift "
                      << c.score_shift);
        check_all_kernels(c, naive_attend(c));
      }
}

TEST_CASE("A bounded span (format v2) attends to the sink and the W - 1 latest positions only", "[m1][attention]") {
  using eqinfo::m1::KvRows;
  using eqinfo::m1::span_first;
  CHECK(span_first(0, 5000) == 1);  // v1: every position
  CHECK(span_first(8, 0) == 1);
  CHECK(span_first(8, 6) == 1);     // t <= W - 2: every position
  CHECK(span_first(8, 7) == 1);     // t = W - 1: still all W of them
  CHECK(span_first(8, 8) == 2);     // then position 1 leaves
  CHECK(span_first(8, 100) == 94);  // 0 and 94..100: W keys
  std::mt19937_64 rng(4);
  for (const std::size_t window : {2, 3, 8, 64})
    for (const std::size_t t : {0, 1, 5, 7, 8, 9, 63, 64, 65, 300}) {
      Case c = random_case(1 + rng() % 4, 1 + rng() % 40, t, rng);
      c.window = window;
      INFO("W " << window << ", t " << t);
      const auto expected = naive_attend(c);
      check_all_kernels(c, expected);
      // The same from a cache that evicted what left the span: row 0 the
      // sink, then positions base..t (base anywhere up to the span's first).
      const std::size_t first = span_first(window, t), base = t == 0 ? 1 : 1 + rng() % first, d = c.d();
      std::vector<std::int16_t> keys(c.keys.begin(), c.keys.begin() + static_cast<std::ptrdiff_t>(d));
      std::vector<std::int16_t> values(c.values.begin(), c.values.begin() + static_cast<std::ptrdiff_t>(d));
      for (std::size_t tau = base; tau <= t; ++tau) {
        keys.insert(keys.end(), c.keys.begin() + static_cast<std::ptrdiff_t>(tau * d), c.keys.begin() + static_cast<std::ptrdiff_t>((tau + 1) * d));
        values.insert(values.end(), c.values.begin() + static_cast<std::ptrdiff_t>(tau * d),
                      c.values.begin() + static_cast<std::ptrdiff_t>((tau + 1) * d));
      }
      for (const auto kind : {KernelKind::kScalar, KernelKind::kSimd}) {
        std::vector<std::int16_t> a(d);
        eqinfo::m1::AttentionScratch scratch;
        eqinfo::m1::attend(c.params(), t, c.q.data(), KvRows{keys.data(), values.data(), base}, a.data(), scratch, kind);
        CHECK(a == expected);
      }
    }
}

TEST_CASE("attend equals the naive formulas on both sides of 2^13 positions, where SIMD changes divisor", "[m1][attention]") {
  std::mt19937_64 rng(2);
  for (const std::size_t t : {8191, 8192, 9000}) {
    Case c = random_case(2, 4, t, rng);
    c.score_shift = 40;  // scores near 0: thousands of non-zero weights, S near its maximum
    INFO("t " << t);
    check_all_kernels(c, naive_attend(c));
  }
}

TEST_CASE("At the first position attention returns that position's value", "[m1][attention]") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 50; ++i) {
    const Case c = random_case(1 + rng() % 4, 1 + rng() % 64, 0, rng);
    check_all_kernels(c, c.values);  // e = 2^15 = S, so a = v exactly
  }
}

TEST_CASE("Equal scores average the values, rounding half away from zero", "[m1][attention]") {
  struct Golden {
    std::vector<std::int16_t> values;
    std::int16_t expected;
  };
  const Golden cases[] = {
      {{1, 2}, 2},      // 1.5 -> 2
      {{-1, -2}, -2},   // -1.5 -> -2
      {{1, -2}, -1},    // -0.5 -> -1
      {{0, 1}, 1},      // 0.5 -> 1
      {{1, 1, 2}, 1},   // 1.33 -> 1
      {{2, 2, 1}, 2},   // 1.67 -> 2
      {{4095, -4095, 7}, 2},  // 2.33 -> 2
  };
  for (const auto& g : cases) {
    INFO("values " << Catch::Detail::stringify(g.values));
    check_all_kernels(equal_scores(g.values), {g.expected});
  }
}

TEST_CASE("A score one unit of log2 lower halves a position's weight", "[m1][attention]") {
  // Distance 0 (the current position) has bias 0, distance 1 has -1024 (Q.10:
  // one bit less): weights 2^14 for position 0 and 2^15 for position 1.
  Case c = equal_scores({0, 3});
  c.max_distance = 1;
  c.rel_bucket = {0, 1};
  c.rel_bias = {0, -1024};
  check_all_kernels(c, {2});  // (2^14 · 0 + 2^15 · 3) / (3 · 2^14) = 2
  c.values = {3, 0};
  check_all_kernels(c, {1});  // 2^14 · 3 / (3 · 2^14) = 1
}

TEST_CASE("A position ahead by 16 or more log2 units takes all the weight", "[m1][attention]") {
  // The others weigh 2^15 >> 16 = 0; a huge gap must not shift by 64 or more.
  Case c = equal_scores({-100, 200, 300, 4000});
  c.max_distance = 1;
  c.rel_bucket = {0, 1};
  for (const std::int32_t gap : {16 * 1024, 31 * 1024, 1 << 29}) {
    c.rel_bias = {gap, 0};  // the current position (distance 0) is ahead
    INFO("gap " << gap);
    check_all_kernels(c, {4000});
  }
  c.rel_bias = {15 * 1024, 0};  // the others weigh 1 each against 2^15
  check_all_kernels(c, {4000});   // (4000 · 2^15 + 400) / (2^15 + 3) = 3999.6
  c.values = {4095, 4095, 4095, -4095};
  check_all_kernels(c, {-4094});  // (-4095 · 2^15 + 3 · 4095) / (2^15 + 3) = -4094.25
}

TEST_CASE("Distances past max_distance share the last bucket", "[m1][attention]") {
  // Buckets by distance 0, 1, >=2: bias 0, 0, +40 bits.  Positions 0..2 of a
  // 5-position context lie at distance >= 2 and share the weight equally;
  // positions 3 and 4 get none.
  Case c = equal_scores({10, 20, 60, 1000, -1000});
  c.max_distance = 2;
  c.rel_bucket = {0, 0, 1};
  c.rel_bias = {0, 40 * 1024};
  check_all_kernels(c, {30});
}

TEST_CASE("Outputs are clamped to the activation range", "[m1][attention]") {
  // Values past A (the cache never holds them, but the clamp is the last step).
  check_all_kernels(equal_scores({32767}), {4095});
  check_all_kernels(equal_scores({-32768}), {-4095});
  check_all_kernels(equal_scores({32767, 32767}), {4095});
}

TEST_CASE("Each head attends over its own slice of q, k and v", "[m1][attention]") {
  // Head 0 sees keys that favour position 0, head 1 keys that favour
  // position 1; each returns that position's slice of v.
  Case c;
  c.heads = 2;
  c.head_dim = 2;
  c.t = 1;
  c.rel_bias = {0, 0};
  c.score_mult = 1;
  c.score_shift = 0;
  c.q = {100, 100, 100, 100};
  c.keys = {400, 400, -400, -400,    // position 0: head 0 likes it, head 1 not
            -400, -400, 400, 400};   // position 1: the reverse
  c.values = {1, 2, 3, 4, 5, 6, 7, 8};
  check_all_kernels(c, {1, 2, 7, 8});  // score gap 160000 Q.10 units: the other weight is 0
}
