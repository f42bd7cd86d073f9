// Tests for include/eqinfo/no_windows_segmenter.hpp: plain arithmetic coding
// of whole documents (the paper's AC / StaticAC), each ended by the shortest
// terminating codeword and zero-padded to the token alignment.
#include "eqinfo/no_windows_segmenter.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "eqinfo/static_model.hpp"
#include "eqinfo/uniform_model.hpp"
#include "test_support.hpp"

using eqinfo::ArithmeticEncoder;
using eqinfo::BitVector;
using eqinfo::DecodeResult;
using eqinfo::kEos;
using eqinfo::NoWindowsSegmenter;
using eqinfo::StaticModel;
using eqinfo::UniformModel;
using eqinfo::WindowStats;
using eqinfo_test::DocShape;

namespace {

// What the segmenter must write for one document: the coder's shortest
// terminating codeword for bytes + EOS, then zeros up to the alignment.
template <class M>
BitVector expected_document_bits(const M& model, const std::string& doc, std::size_t alignment) {
  ArithmeticEncoder<eqinfo::kDefaultStateBits, M::kFrequencyBits> e;
  e.reset();
  auto ctx = model.new_context();
  model.reset(ctx);
  for (unsigned char c : doc) {
    e.encode(model.predict(ctx), c);
    model.advance(ctx, c);
  }
  e.encode(model.predict(ctx), kEos);
  BitVector bits = e.terminate();
  REQUIRE(bits.size() == e.termination_bits());
  while (bits.size() % alignment) bits.push_back(false);
  return bits;
}

template <class M>
void check_stream(const M& model, const std::vector<std::string>& docs, std::size_t alignment) {
  const NoWindowsSegmenter<M> segmenter(model, alignment);
  REQUIRE(segmenter.alignment_bits() == alignment);
  BitVector bits;
  WindowStats stats;
  std::size_t symbols = 0;
  for (const auto& d : docs) {
    const std::size_t before = bits.size();
    REQUIRE(before % alignment == 0);  // every document starts on a token boundary
    segmenter.encode_document(d, bits, &stats);
    symbols += d.size() + 1;
    BitVector own;
    for (std::size_t i = before; i < bits.size(); ++i) own.push_back(bits[i]);
    REQUIRE(own == expected_document_bits(model, d, alignment));
  }
  REQUIRE(bits.size() % alignment == 0);
  CHECK(stats.symbols == symbols);
  CHECK(stats.windows == 0);
  DecodeResult r;
  REQUIRE(segmenter.decode(bits, r) == bits.size());
  REQUIRE(r.issues == eqinfo::kDecodeOk);
  REQUIRE(r.windows == 0);
  REQUIRE(r.documents == docs);
}

std::vector<std::string> mixed_documents(std::mt19937_64& rng) {
  std::vector<std::string> docs;
  for (DocShape shape : eqinfo_test::kAllDocShapes) docs.push_back(eqinfo_test::make_document(shape, 200 + rng() % 300, rng));
  docs.push_back("");
  docs.push_back("");
  docs.push_back(std::string(1, '\0'));
  return docs;
}

}  // namespace

TEST_CASE("NoWindows round trips single documents with every model", "[no_windows]") {
  std::mt19937_64 rng(1);
  const auto text = eqinfo_test::make_document(DocShape::kText, 3000, rng);
  for (DocShape shape : eqinfo_test::kAllDocShapes) {
    const std::string doc = eqinfo_test::make_document(shape, 400, rng);
    INFO("shape " << eqinfo_test::shape_name(shape));
    check_stream(UniformModel<14>{}, {doc}, 1);
    check_stream(UniformModel<9>{}, {doc}, 8);
    check_stream(StaticModel<14>(eqinfo_test::counts_of(text)), {doc}, 16);
    check_stream(StaticModel<16>(eqinfo_test::skewed_counts(doc.empty() ? 0 : doc[0])), {doc}, 7);
    check_stream(eqinfo_test::PeakedHashModel<16>(3), {doc}, 16);
    check_stream(eqinfo_test::WrongPeakModel<12>{}, {doc}, 3);
  }
  const eqinfo_test::PeakedHashModel<16> peaked(4);
  check_stream(peaked, {peaked.make_document(5000, 0.999, rng)}, 16);
}

TEST_CASE("NoWindows multi-document streams at every alignment 1..16", "[no_windows]") {
  std::mt19937_64 rng(2);
  const auto docs = mixed_documents(rng);
  eqinfo::SymbolCounts counts{};
  for (const auto& d : docs) eqinfo::count_document(counts, d);
  const StaticModel<14> counted(counts);
  const UniformModel<14> uniform;
  for (std::size_t alignment = 1; alignment <= 16; ++alignment) {
    INFO("alignment " << alignment);
    check_stream(uniform, docs, alignment);
    check_stream(counted, docs, alignment);
  }
  // Alignment 0 is treated as 1.
  CHECK(NoWindowsSegmenter<UniformModel<14>>(uniform, 0).alignment_bits() == 1);
}

TEST_CASE("NoWindows codewords are exactly as long as termination needs", "[no_windows]") {
  // The empty document is EOS alone: with a uniform model EOS is the top
  // symbol of [0, 1), so its shortest codeword is about log2(257) bits.
  const UniformModel<14> uniform;
  BitVector bits;
  NoWindowsSegmenter<UniformModel<14>>(uniform, 1).encode_document("", bits);
  CHECK(bits.size() >= 8);
  CHECK(bits.size() <= 10);
  // Longer documents cost about 8.006 bits per symbol plus at most 2.
  std::mt19937_64 rng(3);
  const std::string doc = eqinfo_test::make_document(DocShape::kBinary, 1000, rng);
  BitVector long_bits;
  NoWindowsSegmenter<UniformModel<14>>(uniform, 1).encode_document(doc, long_bits);
  const double ideal = 1001 * 8.0056;
  CHECK(static_cast<double>(long_bits.size()) < ideal + 3);
  CHECK(static_cast<double>(long_bits.size()) > ideal - 3);
}

TEST_CASE("NoWindows on truncated and garbage streams", "[no_windows]") {
  std::mt19937_64 rng(4);
  const UniformModel<14> uniform;

  SECTION("cutting into the last document's codeword flags it unterminated") {
    const NoWindowsSegmenter<UniformModel<14>> seg(uniform, 8);
    std::size_t trials = 0, flagged = 0;
    for (int trial = 0; trial < 60; ++trial) {
      const std::string first = eqinfo_test::make_document(DocShape::kText, 50, rng);
      const std::string last = eqinfo_test::make_document(DocShape::kBinary, 1 + rng() % 100, rng);
      BitVector bits;
      seg.encode_document(first, bits);
      const std::size_t boundary = bits.size();
      seg.encode_document(last, bits);
      const BitVector word = expected_document_bits(uniform, last, 1);  // unpadded codeword
      // Keep whole tokens of the last document, losing >= 1 codeword bit.
      const std::size_t keep_tokens = rng() % ((word.size() - 1) / 8 + 1);
      BitVector cut;
      for (std::size_t i = 0; i < boundary + keep_tokens * 8; ++i) cut.push_back(bits[i]);
      DecodeResult r;
      REQUIRE(seg.decode(cut, r) == cut.size());
      ++trials;
      if (keep_tokens == 0) {
        // Nothing of the last document is left: a clean one-document stream.
        CHECK(r.ok());
        REQUIRE(r.documents.size() == 1);
        continue;
      }
      REQUIRE(r.documents.size() == 2);
      CHECK(r.documents[0] == first);
      flagged += (r.issues & eqinfo::kUnterminatedDocument) != 0;
      // Never the original document presented as complete.
      CHECK_FALSE((r.ok() && r.documents[1] == last));
      CHECK((r.issues & eqinfo::kUnterminatedDocument));
    }
    CHECK(flagged > 0);
  }
  SECTION("cutting only padding bits still decodes the document") {
    const NoWindowsSegmenter<UniformModel<14>> seg(uniform, 16);
    for (int trial = 0; trial < 30; ++trial) {
      const std::string doc = eqinfo_test::make_document(DocShape::kBinary, rng() % 50, rng);
      BitVector bits;
      seg.encode_document(doc, bits);
      const std::size_t codeword = expected_document_bits(uniform, doc, 1).size();
      BitVector cut;
      for (std::size_t i = 0; i < codeword; ++i) cut.push_back(bits[i]);
      DecodeResult r;
      REQUIRE(seg.decode(cut, r) == cut.size());
      CHECK(r.ok());
      REQUIRE(r.documents.size() == 1);
      CHECK(r.documents[0] == doc);
    }
  }
  SECTION("random bits never throw; the decoder consumes the whole stream") {
    const eqinfo_test::PeakedHashModel<14> peaked(9);
    for (int trial = 0; trial < 200; ++trial) {
      BitVector bits;
      const std::size_t n = trial < 20 ? static_cast<std::size_t>(trial) : rng() % 600;
      const int fill = trial % 3;  // random, all zero, all one
      for (std::size_t i = 0; i < n; ++i) bits.push_back(fill == 0 ? (rng() & 1) : fill == 2);
      DecodeResult r;
      // Trailing bits are read as the start of another document, so the
      // whole stream is always consumed (padding of a cut-short last
      // document included).
      REQUIRE(NoWindowsSegmenter<UniformModel<14>>(uniform, 8).decode(bits, r) == bits.size());
      if (!bits.empty()) REQUIRE(!r.documents.empty());
      DecodeResult p;
      REQUIRE(NoWindowsSegmenter<eqinfo_test::PeakedHashModel<14>>(peaked, 1).decode(bits, p) == bits.size());
    }
  }
  SECTION("an empty stream holds no documents") {
    DecodeResult r;
    CHECK(NoWindowsSegmenter<UniformModel<14>>(uniform, 8).decode(BitVector{}, r) == 0);
    CHECK(r.ok());
    CHECK(r.documents.empty());
  }
}

TEST_CASE("NoWindows: a set bit between a codeword and the next token boundary is flagged, the documents still decode", "[no_windows]") {
  // Any point of the codeword's cell decodes the same symbols, so the bits
  // after the codeword do not change the document; only an encoder's zero
  // padding is canonical.
  const UniformModel<14> uniform;
  const std::vector<std::string> docs{"padding test", "second"};
  BitVector bare;
  NoWindowsSegmenter<UniformModel<14>>(uniform, 1).encode_document(docs[0], bare);
  const std::size_t m = bare.size();
  for (std::size_t alignment : {5u, 8u, 16u}) {
    const NoWindowsSegmenter<UniformModel<14>> seg(uniform, alignment);
    BitVector bits;
    for (const auto& d : docs) seg.encode_document(d, bits);
    INFO("alignment " << alignment << ", codeword " << m << " bits");
    DecodeResult clean;
    CHECK(seg.decode(bits, clean) == bits.size());
    CHECK(clean.ok());
    if (m % alignment == 0) continue;
    BitVector damaged;
    for (std::size_t i = 0; i < bits.size(); ++i) damaged.push_back(i == m ? true : bool(bits[i]));
    DecodeResult r;
    seg.decode(damaged, r);
    CHECK(r.issues == eqinfo::kNonzeroPadding);
    CHECK(r.documents == docs);
  }
}
