// Tests for include/eqinfo/segmenter.hpp: every segmenter satisfies the
// Segmenter concept, WindowStats adds up, the zero-padding check, and the
// per-document encode_documents.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/equal_info_segmenter.hpp"
#include "eqinfo/gzip_segmenter.hpp"
#include "eqinfo/no_windows_segmenter.hpp"
#include "eqinfo/segmenter.hpp"
#include "eqinfo/static_model.hpp"
#include "eqinfo/transformer_model.hpp"
#include "eqinfo/uniform_model.hpp"
#include "test_support.hpp"

using eqinfo::BitVector;
using eqinfo::DecodeResult;
using eqinfo::WindowStats;

static_assert(eqinfo::SegmenterFrom<eqinfo::EqualInfoSegmenter<eqinfo::UniformModel<14>, 16>, eqinfo::UniformModel<14>>);
static_assert(eqinfo::SegmenterFrom<eqinfo::EqualInfoSegmenter<eqinfo::StaticModel<16>, 128, 3>, eqinfo::StaticModel<16>>);
static_assert(eqinfo::SegmenterFrom<eqinfo::EqualInfoSegmenter<eqinfo::TransformerModel<16>, 16>, eqinfo::TransformerModel<16>>);
static_assert(eqinfo::SegmenterFrom<eqinfo::NoWindowsSegmenter<eqinfo::StaticModel<14>>, eqinfo::StaticModel<14>>);
static_assert(eqinfo::SegmenterFrom<eqinfo::GzipSegmenter, eqinfo::GzipFraming>);
// The schedule a model declares is the one the Equal-Info encoder uses; a
// model without look-ahead gets one offer per call.
static_assert(std::is_same_v<eqinfo::lookahead_schedule_t<eqinfo::TransformerModel<16>>, eqinfo::m1::EncodeSchedule>);
static_assert(std::is_same_v<eqinfo::lookahead_schedule_t<eqinfo::StaticModel<14>>, eqinfo::OneSymbolSchedule>);

TEST_CASE("WindowStats adds field by field", "[segmenter]") {
  WindowStats a{.windows = 1, .symbols = 2, .greedy_symbols = 3, .fallback_windows = 4};
  a += WindowStats{.windows = 10, .symbols = 20, .greedy_symbols = 30, .fallback_windows = 40};
  CHECK(a == WindowStats{.windows = 11, .symbols = 22, .greedy_symbols = 33, .fallback_windows = 44});
}

TEST_CASE("check_zero_padding flags a set bit in [from, to) only", "[segmenter]") {
  const BitVector bits = eqinfo_test::string_to_bits("1100010");
  const auto flagged = [&](std::size_t from, std::size_t to) {
    DecodeResult r;
    eqinfo::check_zero_padding(bits, from, to, r);
    return r.issues == eqinfo::kNonzeroPadding;
  };
  CHECK_FALSE(flagged(2, 5));
  CHECK(flagged(2, 6));
  CHECK(flagged(0, 1));
  CHECK_FALSE(flagged(6, 7));
  CHECK_FALSE(flagged(6, 100));  // past the end: nothing to check
  CHECK_FALSE(flagged(4, 4));
}

TEST_CASE("encode_each_document: one encode_document per output, and a size mismatch is refused", "[segmenter]") {
  const eqinfo::UniformModel<14> uniform;
  const eqinfo::NoWindowsSegmenter<eqinfo::UniformModel<14>> seg(uniform, 8);
  const std::vector<std::string_view> docs{"one", "", "three"};
  std::vector<BitVector> outs(docs.size());
  WindowStats stats;
  eqinfo::encode_each_document(seg, std::span<const std::string_view>(docs), std::span<BitVector>(outs), &stats);
  for (std::size_t i = 0; i < docs.size(); ++i) {
    BitVector alone;
    seg.encode_document(docs[i], alone);
    CHECK(outs[i] == alone);
  }
  CHECK(stats.symbols == 3 + 1 + 0 + 1 + 5 + 1);
  std::vector<BitVector> short_outs(2);
  CHECK_THROWS_AS(eqinfo::encode_each_document(seg, std::span<const std::string_view>(docs), std::span<BitVector>(short_outs), nullptr),
                  std::invalid_argument);
}
