// M1's look-ahead schedule (the LookaheadSchedule of model.hpp): how many
// rows each model call of the Equal-Info encoder runs, and how many
// documents it encodes in lockstep.  Speed only: the tables, and so the
// tokens, are the same for every schedule.
//
// Why these numbers (docs/performance.md, "The look-ahead schedule"):
//   * One document alone: a row costs less in a call of >= 2 rows than alone,
//     so one call per offered symbol wastes time, while rows past the window's
//     end are computed for nothing.  Windows vary by about ±2 symbols, so the
//     first call of a window covers half the offers of the previous window and
//     later calls a quarter, at least 2.  The first window of a document
//     assumes 6 offers (b = 16 with M1: ~5.7).  With a window's positions 0-2
//     copied (the prefix cache and the pair memo), the first call usually runs
//     no row at all.
//   * Many documents in lockstep: the call already holds rows of every
//     document in flight, so look-ahead adds only rows thrown away (60 KB of
//     real English: 0.642 rows/byte with the chunks above, 0.521 one offer at
//     a time, -19 %; x1.14 KB/s at 16 lanes): from kOneOfferFrom documents per
//     call on, each document offers one symbol per call.  16 lanes then put
//     ~4 rows in a call (a window's first offers run none: positions 0-2 are
//     copied), and their KV caches stay in L2; 32 were no faster.
#pragma once

#include <algorithm>
#include <cstddef>

namespace eqinfo::m1 {

struct EncodeSchedule {
  static constexpr std::size_t kOneOfferFrom = 8;
  static constexpr std::size_t first_chunk(std::size_t expected, std::size_t sharing) noexcept {
    return sharing >= kOneOfferFrom ? 1 : std::max<std::size_t>(expected / 2, 1);
  }
  static constexpr std::size_t later_chunk(std::size_t expected, std::size_t sharing) noexcept {
    return sharing >= kOneOfferFrom ? 1 : std::max<std::size_t>(expected / 4, 2);
  }
  static constexpr std::size_t kFirstWindowOffers = 6;
  static constexpr std::size_t kLanes = 16;
};

}  // namespace eqinfo::m1
