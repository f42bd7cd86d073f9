// The per-row steps of the integer M1 (include/eqinfo/m1/row_ops.hpp): the
// reciprocal divisions (Divisor40, ExactDivisor) equal plain integer
// division over their whole stated ranges, edges included, and RMSNorm and
// the frequency table give the same results through them (KernelKind::kSimd)
// as through the spec's div_round (KernelKind::kScalar).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

#include <eqinfo/m1/row_ops.hpp>

#include "test_support.hpp"

using namespace eqinfo::m1;

TEST_CASE("ExactDivisor == integer division for every uint64 dividend", "[m1][row_ops]") {
  std::mt19937_64 rng(31);
  const std::uint64_t edges[] = {0, 1, 2, 3, 255, 256, 65535, (std::uint64_t{1} << 40) - 1, ~std::uint64_t{0} - 1, ~std::uint64_t{0}};
  for (std::uint64_t d : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{7}, std::uint64_t{32768},
                          (std::uint64_t{1} << 32) + 1, ~std::uint64_t{0}}) {
    const ExactDivisor by(d);
    for (std::uint64_t n : edges) EQINFO_FAST_REQUIRE(by.divide(n) == n / d);
  }
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t d = 1 + (rng() >> (rng() % 64)), n = rng() >> (rng() % 64);
    EQINFO_FAST_REQUIRE(ExactDivisor(d).divide(n) == n / d);
    // div_round's domain (integer_ops.hpp): 0 < d and |a| + d/2 < 2^63, so d < 2^62 here.
    const std::uint64_t d62 = d >> 2 | 1;
    const auto a = static_cast<std::int64_t>(rng() >> (2 + rng() % 62)) * (rng() % 2 ? 1 : -1);
    EQINFO_FAST_REQUIRE(ExactDivisor(d62).div_round(a) == div_round(a, static_cast<std::int64_t>(d62)));
  }
}

// by.divide(n) == n / d for every divisor d, at the edges of the dividend range [0, limit) and
// around every quotient boundary on a geometric grid.
template <class Divisor>
void check_boundaries(std::initializer_list<std::uint64_t> divisors, std::uint64_t limit) {
  for (std::uint64_t d : divisors) {
    const Divisor by(d);
    for (std::uint64_t n : {std::uint64_t{0}, d - 1, d, d + 1, limit - d, limit - 2, limit - 1}) EQINFO_FAST_REQUIRE(by.divide(n) == n / d);
    for (std::uint64_t q = 0; q < limit / d; q += 1 + q / 3)
      for (std::uint64_t n : {q * d, q * d + d - 1})
        if (n < limit) EQINFO_FAST_REQUIRE(by.divide(n) == n / d);
  }
}

TEST_CASE("Divisor40 == integer division for dividends < 2^40 and divisors in [256, 2^32)", "[m1][row_ops]") {
  std::mt19937_64 rng(32);
  constexpr std::uint64_t kLimit = Divisor40::kDividendLimit;
  check_boundaries<Divisor40>({256, 257, 4095, 32768, 65536, (std::uint64_t{1} << 31) - 1, std::uint64_t{1} << 31, (std::uint64_t{1} << 32) - 1},
                              kLimit);
  for (int i = 0; i < 500000; ++i) {
    const std::uint64_t d = Divisor40::kMinDivisor + (rng() >> (32 + rng() % 32)) % ((std::uint64_t{1} << 32) - Divisor40::kMinDivisor);
    const std::uint64_t n = (rng() >> (rng() % 40)) % kLimit;
    EQINFO_FAST_REQUIRE(Divisor40(d).divide(n) == n / d);
    const auto a = static_cast<std::int64_t>(n >> 1) * (rng() % 2 ? 1 : -1);
    EQINFO_FAST_REQUIRE(Divisor40(d).div_round(a) == div_round(a, static_cast<std::int64_t>(d)));
  }
}

TEST_CASE("rmsnorm: reciprocal (simd) == div_round (scalar), extremes included", "[m1][row_ops]") {
  std::mt19937_64 rng(33);
  std::vector<std::int32_t> x(256);
  std::vector<std::int16_t> want(256), got(256);
  for (int trial = 0; trial < 20000; ++trial) {
    const std::size_t d = 1 + rng() % 256;
    const int shape = trial % 5;
    for (std::size_t i = 0; i < d; ++i) {
      const auto any = [&](std::int64_t m) { return static_cast<std::int32_t>(static_cast<std::int64_t>(rng() % (2 * m + 1)) - m); };
      x[i] = shape == 0   ? any(kResidualClamp)
             : shape == 1 ? any(1000)
             : shape == 2 ? any(1)                                              // rms below 1: ms clamps to 1, r = 256
             : shape == 3 ? (i == 0 ? kResidualClamp : any(2))                 // one outlier: clamps at ±A
                          : (rng() % 2 ? kResidualClamp : -kResidualClamp);  // every element at the residual clamp
    }
    rmsnorm(x.data(), d, want.data(), KernelKind::kScalar);
    rmsnorm(x.data(), d, got.data(), KernelKind::kSimd);
    for (std::size_t i = 0; i < d; ++i) EQINFO_FAST_REQUIRE(got[i] == want[i]);
  }
}

template <unsigned P>
void check_tables_agree(std::mt19937_64& rng, int trials) {
  std::vector<std::int32_t> lut(1024);
  for (std::size_t f = 0; f < 1024; ++f) lut[f] = static_cast<std::int32_t>(32768.0 * std::exp2(-static_cast<double>(f) / 1024) + 0.5);
  std::vector<std::int32_t> mult(eqinfo::kAlphabetSize), acc(eqinfo::kAlphabetSize);
  for (int trial = 0; trial < trials; ++trial) {
    const std::int32_t spread = trial % 3 == 0 ? 100 : trial % 3 == 1 ? 100000 : 1 << 24;
    const int shift = trial % 4 == 0 ? 0 : trial % 4 == 1 ? 1 : trial % 4 == 2 ? 20 : 31;
    const bool ties = trial % 5 == 0;  // many equal logits: the remainder goes to the lowest index
    for (std::size_t s = 0; s < eqinfo::kAlphabetSize; ++s) {
      mult[s] = static_cast<std::int32_t>(rng() % (1u << 20)) * (trial % 7 == 0 && rng() % 2 ? -1 : 1);
      acc[s] = ties ? static_cast<std::int32_t>(rng() % 3) : static_cast<std::int32_t>(rng() % (2 * static_cast<std::uint64_t>(spread) + 1)) - spread;
    }
    eqinfo::FrequencyTable<P> want, got;
    logits_to_table<P>(acc.data(), mult, shift, lut, want, KernelKind::kScalar);
    logits_to_table<P>(acc.data(), mult, shift, lut, got, KernelKind::kSimd);
    EQINFO_FAST_REQUIRE(got == want);
  }
}

TEST_CASE("logits_to_table: reciprocal (simd) == division (scalar)", "[m1][row_ops]") {
  std::mt19937_64 rng(34);
  check_tables_agree<16>(rng, 4000);
  check_tables_agree<12>(rng, 1000);
  check_tables_agree<24>(rng, 1000);
}

TEST_CASE("F64Divisor == integer division for dividends < 2^50 and divisors in [1, 2^32)", "[m1][row_ops]") {
  std::mt19937_64 rng(35);
  constexpr std::uint64_t kLimit = F64Divisor::kDividendLimit;
  check_boundaries<F64Divisor>({1, 2, 3, 255, 256, 257, 4095, 32768, 65536, (std::uint64_t{1} << 31) - 1, std::uint64_t{1} << 31,
                               (std::uint64_t{1} << 32) - 1},
                              kLimit);
  for (int i = 0; i < 500000; ++i) {
    const std::uint64_t d = 1 + (rng() >> (32 + rng() % 32)) % (F64Divisor::kDivisorLimit - 1);
    const std::uint64_t n = (rng() >> (rng() % 50)) % kLimit;
    EQINFO_FAST_REQUIRE(F64Divisor(d).divide(n) == n / d);
  }
}

TEST_CASE("isqrt_from_double == isqrt up to 2^62, squares and their neighbours included", "[m1][row_ops]") {
  std::mt19937_64 rng(36);
  for (std::uint64_t r = 0; r <= (std::uint64_t{1} << 31); r += 1 + r / 1000) {
    for (std::uint64_t n : {r * r, r * r + 1, r * r + 2 * r, r * r + 2 * r + 1}) {
      if (n > (std::uint64_t{1} << 62)) continue;
      EQINFO_FAST_REQUIRE(isqrt_from_double(n) == isqrt(n));
      if (n > 0) EQINFO_FAST_REQUIRE(isqrt_from_double(n - 1) == isqrt(n - 1));
    }
  }
  for (int i = 0; i < 500000; ++i) {
    const std::uint64_t n = (rng() >> (2 + rng() % 62));
    EQINFO_FAST_REQUIRE(isqrt_from_double(n) == isqrt(n));
  }
}

// requant_rows and add_to_residual serve both kernels (their AVX-512 loops included), so they
// are checked against the spec's formulas directly: random and extreme accumulators and
// multipliers, every shift the exporter can write, widths with and without a vector tail.
TEST_CASE("requant_rows and add_to_residual == the spec's formulas", "[m1][row_ops]") {
  std::mt19937_64 rng(37);
  const auto any32 = [&] {
    switch (rng() % 4) {
      case 0: return static_cast<std::int32_t>(rng());
      case 1: return rng() % 2 ? INT32_MAX : INT32_MIN;
      default: return static_cast<std::int32_t>(static_cast<std::int64_t>(rng() % 200001) - 100000);
    }
  };
  for (int trial = 0; trial < 3000; ++trial) {
    const std::size_t rows = 1 + rng() % 3, cols = 1 + rng() % 70, ld = cols + rng() % 3;
    const int shift = static_cast<int>(rng() % 40);
    const std::int32_t floor = rng() % 2 ? INT32_MIN : 0;
    std::vector<std::int32_t> acc(rows * ld), mult(cols), x(rows * cols);
    for (auto& a : acc) a = any32();
    for (auto& m : mult) m = any32();
    for (auto& v : x) v = static_cast<std::int32_t>(static_cast<std::int64_t>(rng() % (2 * kResidualClamp + 1)) - kResidualClamp);
    std::vector<std::int16_t> out(rows * cols);
    requant_rows(acc.data(), ld, rows, cols, mult.data(), shift, floor, -kActivationClamp, kActivationClamp, out.data(), cols);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < cols; ++j) {
        const std::int64_t want = std::clamp<std::int64_t>(rshift_round(std::int64_t{std::max(acc[r * ld + j], floor)} * mult[j], shift),
                                                           -kActivationClamp, kActivationClamp);
        EQINFO_FAST_REQUIRE(out[r * cols + j] == want);
      }
    std::vector<std::int32_t> acc_rows(rows * cols);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < cols; ++j) acc_rows[r * cols + j] = acc[r * ld + j];
    std::vector<std::int32_t> updated = x;
    add_to_residual(acc_rows.data(), rows, cols, mult.data(), shift, updated.data());
    for (std::size_t i = 0; i < rows * cols; ++i) {
      const std::int64_t want = std::clamp<std::int64_t>(x[i] + rshift_round(std::int64_t{acc_rows[i]} * mult[i % cols], shift), -kResidualClamp,
                                                         kResidualClamp);
      EQINFO_FAST_REQUIRE(updated[i] == want);
    }
  }
}
