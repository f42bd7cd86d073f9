// m1::packed_gemm (the fast matrix kernel of the integer M1) against
// m1::matmul_reference (the plain definition): identical int32 results on
// random shapes — odd and tiny sizes, row counts around the 4-row block,
// outputs around the 16- and 64-output panels — on the extreme values the
// spec allows (activations ±4095, weights ±127, so sums reach the int32
// bound of docs/integer_m1.md), on every small block (the two-accumulator-
// set path), and on any split of the outputs by panels (the thread split).
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include <eqinfo/m1/integer_ops.hpp>
#include <eqinfo/m1/packed_gemm.hpp>

#include "test_support.hpp"

namespace {

using eqinfo::m1::kActivationClamp;
using eqinfo::m1::matmul_reference;
using eqinfo::m1::packed_gemm;
using eqinfo::m1::PackedWeights;

struct Case {
  std::vector<std::int16_t> x;  // [rows][in]
  std::vector<std::int8_t> w;   // [out][in]
  std::size_t rows, in, out;
};

// extreme: every activation ±A and every weight ±127 with one sign per
// output, so |acc| = A · 127 · in (the largest sum the bounds permit).
Case random_case(std::mt19937_64& rng, std::size_t rows, std::size_t in, std::size_t out, bool extreme) {
  Case c{std::vector<std::int16_t>(rows * in), std::vector<std::int8_t>(out * in), rows, in, out};
  for (auto& v : c.x)
    v = static_cast<std::int16_t>(extreme ? (rng() % 2 ? kActivationClamp : -kActivationClamp)
                                          : static_cast<int>(rng() % (2 * kActivationClamp + 1)) - kActivationClamp);
  for (std::size_t j = 0; j < out; ++j)
    for (std::size_t k = 0; k < in; ++k)
      c.w[j * in + k] = static_cast<std::int8_t>(extreme ? ((c.x[k] > 0) == (j % 2 == 0) ? 127 : -127) : static_cast<int>(rng() % 255) - 127);
  return c;
}

// Both kernels into a buffer with a wider row stride (ld = out + 3), whose
// spare columns must stay untouched.
void require_same(const Case& c) {
  const std::size_t ld = c.out + 3;
  std::vector<std::int32_t> want(c.rows * ld, 0x5a5a5a5a), got(c.rows * ld, 0x5a5a5a5a);
  matmul_reference(c.x.data(), c.rows, c.in, c.w.data(), c.out, want.data(), ld);
  const PackedWeights packed(c.w.data(), c.out, c.in);
  REQUIRE(packed.panels() == (c.out + 15) / 16);
  packed_gemm(packed, c.x.data(), c.rows, got.data(), ld);
  INFO("rows " << c.rows << " in " << c.in << " out " << c.out);
  REQUIRE(got == want);
}

}  // namespace

TEST_CASE("packed_gemm == matmul_reference on random shapes, odd sizes included", "[m1][gemm]") {
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t rows = 1 + rng() % 9, in = 1 + rng() % 70, out = 1 + rng() % 150;
    require_same(random_case(rng, rows, in, out, false));
  }
}

TEST_CASE("packed_gemm == matmul_reference on the M1 shapes", "[m1][gemm]") {
  std::mt19937_64 rng(18);
  const std::size_t shapes[][2] = {{256, 768}, {256, 256}, {256, 1024}, {1024, 256}, {256, 257}};
  for (const auto& s : shapes)
    for (std::size_t rows : {1u, 3u, 4u, 6u, 17u}) require_same(random_case(rng, rows, s[0], s[1], false));
}

// The 1-3 row remainders and blocks of few panels keep two accumulator sets
// (even and odd input pairs) and finish the odd pairs one at a time: every
// such block (rows 1-7 → remainders 1-3 after a 4-row block; out 1-64 →
// 1-4 panels) on input lengths with an even or odd number of full pairs, an
// odd input included.
TEST_CASE("packed_gemm on every small block and input-pair parity", "[m1][gemm]") {
  std::mt19937_64 rng(21);
  for (std::size_t rows = 1; rows <= 7; ++rows)
    for (std::size_t out : {1u, 16u, 17u, 32u, 40u, 48u, 64u})
      for (std::size_t in : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 254u, 255u, 256u, 257u}) require_same(random_case(rng, rows, in, out, false));
  for (std::size_t rows : {1u, 2u, 3u})
    for (std::size_t in : {255u, 256u, 257u}) {
      const Case c = random_case(rng, rows, in, 40, true);
      require_same(c);
    }
}

TEST_CASE("packed_gemm is exact at the int32 bound of the spec", "[m1][gemm]") {
  std::mt19937_64 rng(19);
  // in = 1024: |acc| = 4095 · 127 · 1024 = 532,520,960, the largest sum the bounds allow.
  for (std::size_t in : {1024u, 1023u, 255u}) {
    const Case c = random_case(rng, 5, in, 33, true);
    require_same(c);
    std::vector<std::int32_t> acc(5 * 33);
    packed_gemm(PackedWeights(c.w.data(), 33, in), c.x.data(), 5, acc.data(), 33);
    REQUIRE(acc[0] == std::int32_t{kActivationClamp} * 127 * static_cast<std::int32_t>(in));
    REQUIRE(acc[1] == -std::int32_t{kActivationClamp} * 127 * static_cast<std::int32_t>(in));
  }
}

TEST_CASE("packed_gemm by panel ranges (the thread split) == the whole product", "[m1][gemm]") {
  std::mt19937_64 rng(20);
  const Case c = random_case(rng, 7, 96, 200, false);
  const PackedWeights packed(c.w.data(), c.out, c.in);
  std::vector<std::int32_t> whole(c.rows * c.out), split(c.rows * c.out, 0);
  packed_gemm(packed, c.x.data(), c.rows, whole.data(), c.out);
  for (std::size_t begin = 0; begin < packed.panels(); begin += 3)
    packed_gemm(packed, c.x.data(), c.rows, split.data(), c.out, begin, begin + 3);
  REQUIRE(split == whole);
}
