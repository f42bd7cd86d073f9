// M1's look-ahead schedule (the LookaheadSchedule of model.hpp): how many
// rows each model call of the Equal-Info encoder runs, and how many
// documents it encodes in lockstep.  Speed only: the tables, and so the
// tokens, are the same for every schedule.
//
// Why these numbers (measured on a Zen 4 core, b = 16; docs/performance.md):
//   * A row costs ~30 µs in a call of >= 2 rows and ~41 µs alone, so one call
//     per offered symbol wastes time, while rows past the window's end are
//     computed for nothing.  Windows vary by about ±2 symbols, so the first
//     call of a window covers half the offers of the previous window and later
//     calls a quarter, at least 2 — per window about 20 % less time than one
//     call per offer.  The first window of a document assumes 6 offers (b = 16
//     with M1: ~5.7).
//   * 8-16 lanes in lockstep (25-50 rows per call) are as fast as any more on
//     one thread (benchmark M1/encode/simd/lockstep:128/lanes:L); 16 leaves 8
//     per thread on two.
#pragma once

#include <algorithm>
#include <cstddef>

namespace eqinfo::m1 {

struct EncodeSchedule {
  static constexpr std::size_t first_chunk(std::size_t expected) noexcept { return std::max<std::size_t>(expected / 2, 1); }
  static constexpr std::size_t later_chunk(std::size_t expected) noexcept { return std::max<std::size_t>(expected / 4, 2); }
  static constexpr std::size_t kFirstWindowOffers = 6;
  static constexpr std::size_t kLanes = 16;
};

}  // namespace eqinfo::m1
