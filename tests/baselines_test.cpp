// Tests for include/eqinfo/bytes_tokenizer.hpp and gzip_tokenizer.hpp: the
// Bytes and GZip baselines, round trips and decoding of damaged input.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/bytes_tokenizer.hpp"
#include "eqinfo/gzip_tokenizer.hpp"
#include "test_support.hpp"

using eqinfo::BytesTokenizer;
using eqinfo::DecodeResult;
using eqinfo::GzipTokenizer;
using eqinfo::Token;
using eqinfo_test::DocShape;
using eqinfo_test::views;

namespace {

std::vector<std::string> sample_documents(std::mt19937_64& rng) {
  auto docs = eqinfo_test::every_shape_documents(rng, 300, 700);
  docs.push_back(std::string(5000, 'z'));
  docs.push_back("end");
  return docs;
}

const char* framing_name(GzipTokenizer::Framing f) { return f == GzipTokenizer::Framing::kGzip ? "gzip" : "raw"; }

}  // namespace

TEST_CASE("Bytes: one token per byte plus EOS = 256", "[baselines][bytes]") {
  const BytesTokenizer tok;
  STATIC_REQUIRE(BytesTokenizer::kVocabularySize == 257);
  CHECK(tok.encode("ab") == std::vector<Token>{'a', 'b', 256});
  CHECK(tok.encode("") == std::vector<Token>{256});
  CHECK(tok.encode(std::string("\0\xff", 2)) == std::vector<Token>{0, 255, 256});
  std::mt19937_64 rng(1);
  const auto docs = sample_documents(rng);
  const auto tokens = tok.encode_documents(views(docs));
  std::size_t expected = 0;
  for (const auto& d : docs) expected += d.size() + 1;
  CHECK(tokens.size() == expected);
  const DecodeResult r = tok.decode(tokens);
  CHECK(r.ok());
  CHECK(r.documents == docs);
  CHECK(r.windows == 0);
}

TEST_CASE("Bytes: damaged input", "[baselines][bytes]") {
  const BytesTokenizer tok;
  SECTION("a token above 256 stops decoding before it") {
    const DecodeResult r = tok.decode(std::vector<Token>{'h', 'i', 256, 'x', 257, 'y', 256});
    CHECK(r.issues == (eqinfo::kInvalidToken | eqinfo::kUnterminatedDocument));
    CHECK(r.documents == std::vector<std::string>{"hi", "x"});
    const DecodeResult s = tok.decode(std::vector<Token>{'h', 256, 0xFFFF});
    CHECK(s.issues == eqinfo::kInvalidToken);
    CHECK(s.documents == std::vector<std::string>{"h"});
  }
  SECTION("a missing final EOS") {
    const DecodeResult r = tok.decode(std::vector<Token>{'a', 256, 'b', 'c'});
    CHECK(r.issues == eqinfo::kUnterminatedDocument);
    CHECK(r.documents == std::vector<std::string>{"a", "bc"});
  }
  SECTION("nothing, and EOS alone") {
    CHECK(tok.decode(std::vector<Token>{}).documents.empty());
    CHECK(tok.decode(std::vector<Token>{}).ok());
    CHECK(tok.decode(std::vector<Token>{256, 256}).documents == std::vector<std::string>{"", ""});
  }
}

TEST_CASE("GZip round trips, both framings, N in {1, 5, 8, 12, 16}", "[baselines][gzip]") {
  std::mt19937_64 rng(2);
  const auto docs = sample_documents(rng);
  for (auto framing : {GzipTokenizer::Framing::kGzip, GzipTokenizer::Framing::kRaw}) {
    for (unsigned n : {1u, 5u, 8u, 12u, 16u}) {
      INFO(framing_name(framing) << " N=" << n);
      const GzipTokenizer tok(n, framing);
      CHECK(tok.token_bits() == n);
      CHECK(tok.framing() == framing);
      const auto tokens = tok.encode_documents(views(docs));
      for (Token t : tokens) EQINFO_FAST_REQUIRE(t < (1u << n));
      const DecodeResult r = tok.decode(tokens);
      INFO(r.describe());
      REQUIRE(r.ok());
      REQUIRE(r.documents == docs);
      // Documents are padded to whole tokens: encoding one at a time and
      // concatenating gives the same stream.
      std::vector<Token> concatenated;
      for (const auto& d : docs) {
        const auto one = tok.encode(d);
        concatenated.insert(concatenated.end(), one.begin(), one.end());
      }
      REQUIRE(concatenated == tokens);
    }
  }
}

TEST_CASE("GZip framing: gzip header bytes vs a bare deflate stream", "[baselines][gzip]") {
  const GzipTokenizer gz(16, GzipTokenizer::Framing::kGzip);
  const GzipTokenizer raw(16, GzipTokenizer::Framing::kRaw);
  const std::string text = "hello hello hello hello";
  const auto g = gz.encode(text);
  const auto r = raw.encode(text);
  REQUIRE(!g.empty());
  CHECK(g[0] == 0x1f8b);               // gzip magic
  CHECK((g[1] >> 8) == Z_DEFLATED);    // compression method 8
  CHECK(g.size() * 2 >= r.size() * 2 + 18);  // 18 bytes of header and footer
  CHECK(g.size() * 2 <= r.size() * 2 + 18 + 2);
  // Each decoder refuses the other's stream.
  CHECK((gz.decode(r).issues & eqinfo::kCorruptStream));
  CHECK_FALSE(raw.decode(g).ok());
}

TEST_CASE("GZip decodes large, highly compressible documents followed by more documents", "[baselines][gzip]") {
  // A few hundred bytes of deflate expanding to hundreds of KB: inflate runs
  // out of input long before it has written all of its output.
  std::mt19937_64 rng(3);
  std::vector<std::string> docs;
  docs.push_back(std::string(300000, 'a'));
  docs.push_back("between");
  std::string runs;
  while (runs.size() < 200000) runs.append(1000 + rng() % 20000, static_cast<char>('a' + rng() % 3));
  docs.push_back(runs);
  docs.push_back(std::string(65536 * 3, '\0'));
  docs.push_back("after");
  for (auto framing : {GzipTokenizer::Framing::kGzip, GzipTokenizer::Framing::kRaw}) {
    for (unsigned n : {5u, 8u, 16u}) {
      INFO(framing_name(framing) << " N=" << n);
      const GzipTokenizer tok(n, framing);
      const DecodeResult r = tok.decode(tok.encode_documents(views(docs)));
      INFO(r.describe());
      CHECK(r.ok());
      REQUIRE(r.documents.size() == docs.size());
      for (std::size_t i = 0; i < docs.size(); ++i) {
        INFO("document " << i);
        CHECK(r.documents[i].size() == docs[i].size());
        CHECK(r.documents[i] == docs[i]);
      }
    }
  }
}

TEST_CASE("GZip: damaged input", "[baselines][gzip]") {
  std::mt19937_64 rng(4);
  const std::vector<std::string> docs{"first document, first document", eqinfo_test::make_document(DocShape::kText, 400, rng),
                                      "third"};
  for (auto framing : {GzipTokenizer::Framing::kGzip, GzipTokenizer::Framing::kRaw}) {
    for (unsigned n : {8u, 16u, 12u, 5u}) {
      INFO(framing_name(framing) << " N=" << n);
      const GzipTokenizer tok(n, framing);
      const auto tokens = tok.encode_documents(views(docs));
      const auto first_len = tok.encode(docs[0]).size();
      const auto second_len = tok.encode(docs[1]).size();

      {  // truncated inside the second document
        const std::vector<Token> cut(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(first_len + second_len / 2));
        const DecodeResult r = tok.decode(cut);
        CHECK(r.issues == eqinfo::kUnterminatedDocument);
        REQUIRE(r.documents.size() == 2);
        CHECK(r.documents[0] == docs[0]);
        CHECK(docs[1].starts_with(r.documents[1]));
      }
      {  // corrupt deflate data
        // All-ones tokens where the second document starts: for raw deflate
        // that is block type 3 (reserved); for gzip a bad magic.
        auto bad = tokens;
        for (std::size_t i = first_len; i < first_len + 4; ++i) bad[i] = static_cast<Token>((1u << n) - 1);
        const DecodeResult r = tok.decode(bad);
        CHECK((r.issues & eqinfo::kCorruptStream));
        REQUIRE(r.documents.size() == 2);  // decoding stops at the broken document
        CHECK(r.documents[0] == docs[0]);
      }
      if (n < 16) {  // a token that does not fit in N bits (every value fits when N = 16)
        auto bad = tokens;
        bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(first_len), static_cast<Token>(1u << n));
        const DecodeResult r = tok.decode(bad);
        CHECK(r.issues == eqinfo::kInvalidToken);
        CHECK(r.documents == std::vector<std::string>{docs[0]});
      }
    }
  }
  SECTION("token 257 for Bytes-sized N=8 streams is out of range") {
    const GzipTokenizer tok(8);
    auto tokens = tok.encode("x");
    tokens.push_back(257);
    const DecodeResult r = tok.decode(tokens);
    CHECK(r.issues == eqinfo::kInvalidToken);
    CHECK(r.documents == std::vector<std::string>{"x"});
  }
  SECTION("random token sequences never throw") {
    for (auto framing : {GzipTokenizer::Framing::kGzip, GzipTokenizer::Framing::kRaw}) {
      for (unsigned n : {5u, 8u, 16u}) {
        const GzipTokenizer tok(n, framing);
        for (int trial = 0; trial < 40; ++trial) {
          std::vector<Token> t(trial < 3 ? trial : rng() % 300);
          for (auto& x : t) x = static_cast<Token>(trial % 5 == 0 ? 0 : rng() % (1u << n));
          DecodeResult r;
          REQUIRE_NOTHROW(r = tok.decode(t));
          if (t.empty()) CHECK(r.ok());
          // Decoding stops at the first problem, so at most one document is broken.
          // (A random raw-deflate stream may also decode, then flag its padding.)
          if (!r.ok()) CHECK((r.issues & (eqinfo::kCorruptStream | eqinfo::kUnterminatedDocument | eqinfo::kNonzeroPadding)));
        }
      }
    }
  }
  CHECK_THROWS_AS(GzipTokenizer(0), std::invalid_argument);
  CHECK_THROWS_AS(GzipTokenizer(17), std::invalid_argument);
}

TEST_CASE("GZip raw framing: a last document whose output fills inflate's buffer exactly", "[baselines][gzip]") {
  // Regression: a bare deflate stream whose input is used up while inflate
  // still holds output that did not fit its 16 KiB buffer (runs just over a
  // multiple of 16384 bytes) was reported as unterminated.
  const GzipTokenizer raw(8, GzipTokenizer::Framing::kRaw);
  std::size_t failures = 0;
  for (std::size_t length = 16384; length < 16384 + 200; ++length) {
    const std::string doc(length, 'a');
    const DecodeResult r = raw.decode(raw.encode(doc));
    failures += !(r.ok() && r.documents.size() == 1 && r.documents[0] == doc);
  }
  CHECK(failures == 0);
}

TEST_CASE("GZip as a segmenter: a set bit in a document's padding is flagged, the documents still decode", "[baselines][gzip]") {
  // Every document is zero-padded to a token boundary; ChunkedTokenizer's
  // checks apply to GZip as to the arithmetic-coded methods.
  for (auto framing : {GzipTokenizer::Framing::kGzip, GzipTokenizer::Framing::kRaw}) {
    for (unsigned n : {5u, 7u}) {  // N < 8: the padding is what lies past the last whole byte
      const GzipTokenizer tok(n, framing);
      const std::vector<std::string> docs{"first document", "x"};
      const auto first = tok.encode(docs[0]);
      auto tokens = tok.encode_documents(views(docs));
      const std::size_t deflated_bits = 8 * ((first.size() * n) / 8);  // the first stream's bytes, padding excluded
      const std::size_t padding = first.size() * n - deflated_bits;
      INFO(framing_name(framing) << " N " << n << ", padding " << padding);
      CHECK(tok.decode(tokens).ok());
      if (padding == 0) continue;
      tokens[first.size() - 1] ^= 1;  // the last bit of the first document's last token is padding
      const DecodeResult r = tok.decode(tokens);
      CHECK(r.issues == eqinfo::kNonzeroPadding);
      CHECK(r.documents == docs);
    }
  }
}
