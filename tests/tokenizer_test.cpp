// Tests for include/eqinfo/tokenizer.hpp: EqualInfoTokenizer and
// ArithmeticTokenizer (AC / StaticAC) end to end: round trips, multi-document
// streams, decoding of arbitrary token sequences, golden token vectors, a
// large document, and a real-text fixture from ../shared/data (skipped without it).
#include "eqinfo/static_ac_tokenizer.hpp"
#include "eqinfo/tokenizer.hpp"
#include "eqinfo/uniform_model.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "test_support.hpp"

using eqinfo::ArithmeticTokenizer;
using eqinfo::DecodeResult;
using eqinfo::EqualInfoTokenizer;
using eqinfo::StaticModel;
using eqinfo::SymbolCounts;
using eqinfo::Token;
using eqinfo::UniformModel;
using eqinfo::WindowStats;
using eqinfo_test::DocShape;
using eqinfo_test::views;

namespace {

std::vector<std::string> sample_documents(std::mt19937_64& rng) {
  auto docs = eqinfo_test::every_shape_documents(rng, 100, 200);
  docs.push_back("");
  docs.push_back(std::string(2, '\0'));
  docs.push_back("The last document.");
  return docs;
}

template <class Tok>
void check_round_trip(const Tok& tok, const std::vector<std::string>& docs, unsigned token_bits) {
  WindowStats stats;
  const auto tokens = tok.encode_documents(views(docs), &stats);
  for (Token t : tokens) EQINFO_FAST_REQUIRE(t < (1u << token_bits));
  std::size_t symbols = 0;
  for (const auto& d : docs) symbols += d.size() + 1;
  CHECK(stats.symbols == symbols);
  const DecodeResult r = tok.decode(tokens);
  INFO(r.describe());
  REQUIRE(r.ok());
  CHECK(r.describe() == "ok");
  REQUIRE(r.documents == docs);
  std::string joined;
  for (const auto& d : docs) joined += d;
  CHECK(r.joined() == joined);
  // One document at a time gives the same tokens as a one-element batch.
  for (const auto& d : docs) {
    const auto single = tok.encode(d);
    const std::vector<std::string_view> one{d};
    REQUIRE(single == tok.encode_documents(one));
    const DecodeResult back = tok.decode(single);
    REQUIRE(back.ok());
    REQUIRE(back.documents == std::vector<std::string>{d});
  }
}

template <class M, unsigned B, unsigned N>
void check_equal_info(const M& model, const std::vector<std::string>& docs) {
  INFO("EqualInfo b=" << B << " N=" << N);
  const EqualInfoTokenizer<M, B, N> tok(model);
  STATIC_REQUIRE(EqualInfoTokenizer<M, B, N>::kWindowBits == B);
  STATIC_REQUIRE(EqualInfoTokenizer<M, B, N>::kTokenBits == N);
  check_round_trip(tok, docs, N);
  // Token count is exactly ceil(windows * b / N).
  WindowStats stats;
  const auto tokens = tok.encode_documents(views(docs), &stats);
  CHECK(tokens.size() == (stats.windows * B + N - 1) / N);
  CHECK(tok.decode(tokens).windows == stats.windows);
  // Any decode batch size gives the same result.
  const EqualInfoTokenizer<M, B, N> one_at_a_time(model, 1);
  CHECK(one_at_a_time.encode_documents(views(docs)) == tokens);
  CHECK(one_at_a_time.decode(tokens).documents == docs);
}

template <class M, unsigned N>
void check_ac(const M& model, const std::vector<std::string>& docs) {
  INFO("AC N=" << N);
  const ArithmeticTokenizer<M, N> tok(model);
  STATIC_REQUIRE(ArithmeticTokenizer<M, N>::kTokenBits == N);
  check_round_trip(tok, docs, N);
}

}  // namespace

TEST_CASE("EqualInfoTokenizer round trips across b, N and models", "[tokenizer]") {
  std::mt19937_64 rng(1);
  const auto docs = sample_documents(rng);
  SymbolCounts counts{};
  for (const auto& d : docs) eqinfo::count_document(counts, d);
  const UniformModel<14> uniform;
  const StaticModel<14> counted(counts);
  check_equal_info<UniformModel<14>, 16, 16>(uniform, docs);
  check_equal_info<UniformModel<14>, 16, 8>(uniform, docs);
  check_equal_info<UniformModel<14>, 16, 7>(uniform, docs);
  check_equal_info<UniformModel<14>, 16, 1>(uniform, docs);
  check_equal_info<StaticModel<14>, 16, 16>(counted, docs);
  check_equal_info<StaticModel<14>, 24, 16>(counted, docs);
  check_equal_info<StaticModel<14>, 24, 7>(counted, docs);
  check_equal_info<UniformModel<14>, 32, 16>(uniform, docs);
  check_equal_info<StaticModel<14>, 32, 8>(counted, docs);
  check_equal_info<StaticModel<14>, 64, 16>(counted, docs);
  check_equal_info<UniformModel<14>, 128, 16>(uniform, docs);
  check_equal_info<UniformModel<12>, 12, 8>(UniformModel<12>{}, docs);
  check_equal_info<eqinfo_test::PeakedHashModel<16>, 32, 16>(eqinfo_test::PeakedHashModel<16>(2), docs);
  check_equal_info<eqinfo_test::WrongPeakModel<14>, 16, 5>(eqinfo_test::WrongPeakModel<14>{}, docs);
}

TEST_CASE("ArithmeticTokenizer (AC, StaticAC) round trips across N and models", "[tokenizer]") {
  std::mt19937_64 rng(2);
  const auto docs = sample_documents(rng);
  SymbolCounts counts{};
  for (const auto& d : docs) eqinfo::count_document(counts, d);
  const UniformModel<14> uniform;
  const StaticModel<14> counted(counts);
  check_ac<UniformModel<14>, 1>(uniform, docs);
  check_ac<UniformModel<14>, 7>(uniform, docs);
  check_ac<UniformModel<14>, 8>(uniform, docs);
  check_ac<UniformModel<14>, 16>(uniform, docs);
  check_ac<StaticModel<14>, 8>(counted, docs);
  check_ac<StaticModel<14>, 13>(counted, docs);
  check_ac<StaticModel<16>, 16>(StaticModel<16>(counts), docs);
  check_ac<eqinfo_test::PeakedHashModel<14>, 16>(eqinfo_test::PeakedHashModel<14>(4), docs);
  // StaticAcTokenizer is ArithmeticTokenizer over a StaticModel.
  STATIC_REQUIRE(std::is_same_v<eqinfo::StaticAcTokenizer<14, 8>, ArithmeticTokenizer<StaticModel<14>, 8>>);
  const eqinfo::StaticAcTokenizer<14, 8> static_ac(counted);
  CHECK(static_ac.encode_documents(views(docs)) == ArithmeticTokenizer<StaticModel<14>, 8>(counted).encode_documents(views(docs)));
  CHECK(static_ac.model().fingerprint() == counted.fingerprint());
}

TEST_CASE("An empty batch of documents is zero tokens, and zero tokens are zero documents", "[tokenizer]") {
  const EqualInfoTokenizer<UniformModel<14>, 16, 16> eq(UniformModel<14>{});
  const ArithmeticTokenizer<UniformModel<14>, 8> ac(UniformModel<14>{});
  CHECK(eq.encode_documents({}).empty());
  CHECK(ac.encode_documents({}).empty());
  const auto e = eq.decode(std::span<const eqinfo::Token>{});
  CHECK(e.ok());
  CHECK(e.documents.empty());
  const auto a = ac.decode(std::span<const eqinfo::Token>{});
  CHECK(a.ok());
  CHECK(a.documents.empty());
  // The empty document is not zero tokens: its EOS is coded.
  CHECK(eq.encode("").size() == 1);
  CHECK(!ac.encode("").empty());
}

TEST_CASE("Decoding flags what differs from encoder output", "[tokenizer][garbage]") {
  std::mt19937_64 rng(3);
  const UniformModel<14> uniform;
  const std::vector<std::string> docs{"first document", "", "third: " + eqinfo_test::make_document(DocShape::kText, 100, rng)};

  SECTION("kInvalidToken: decoding stops before a value >= 2^N") {
    const EqualInfoTokenizer<UniformModel<14>, 16, 8> tok(uniform);
    const auto tokens = tok.encode_documents(views(docs));
    for (std::size_t at : {std::size_t{0}, std::size_t{5}, tokens.size() - 1, tokens.size()}) {
      auto bad = tokens;
      bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(at), Token{256});
      const DecodeResult r = tok.decode(bad);
      CHECK((r.issues & eqinfo::kInvalidToken));
      const std::vector<Token> prefix(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(at));
      const DecodeResult p = tok.decode(prefix);
      CHECK(r.documents == p.documents);
      CHECK(r.issues == (p.issues | eqinfo::kInvalidToken));
    }
    const ArithmeticTokenizer<UniformModel<14>, 12> ac(uniform);
    auto ac_tokens = ac.encode_documents(views(docs));
    ac_tokens.push_back(Token{4096});
    ac_tokens.push_back(Token{1});
    const DecodeResult r = ac.decode(ac_tokens);
    CHECK(r.issues == eqinfo::kInvalidToken);
    CHECK(r.documents == docs);
  }
  SECTION("kNonzeroPadding: set bits after the last whole window") {
    // b = 24, N = 16: one window is 24 bits = 2 tokens with 8 padding bits.
    const EqualInfoTokenizer<UniformModel<14>, 24, 16> tok(uniform);
    std::string doc;  // the shortest "abc..." with an odd number of windows
    WindowStats stats;
    do {
      doc.push_back(static_cast<char>('a' + doc.size()));
      stats = {};
      tok.encode(doc, &stats);
    } while (stats.windows % 2 == 0 && doc.size() < 20);
    REQUIRE(stats.windows % 2 == 1);
    auto tokens = tok.encode(doc);
    REQUIRE((tokens.back() & 0xFF) == 0);
    tokens.back() |= 0x01;
    const DecodeResult r = tok.decode(tokens);
    CHECK(r.issues == eqinfo::kNonzeroPadding);
    CHECK(r.documents == std::vector<std::string>{doc});
    // AC: padding within the last token is part of the last document's
    // codeword continuation, which any bits may follow.
    const ArithmeticTokenizer<UniformModel<14>, 16> ac(uniform);
    auto ac_tokens = ac.encode("ab");
    ac_tokens.back() |= 0x01;
    const DecodeResult a = ac.decode(ac_tokens);
    CHECK(a.documents.at(0) == "ab");
  }
  SECTION("kExtraTokens: a whole token after the last window") {
    const EqualInfoTokenizer<UniformModel<14>, 24, 8> tok(uniform);
    auto tokens = tok.encode_documents(views(docs));
    tokens.push_back(0);
    DecodeResult r = tok.decode(tokens);
    CHECK(r.issues == eqinfo::kExtraTokens);
    CHECK(r.documents == docs);
    tokens.back() = 0x80;  // a non-zero extra token is both
    r = tok.decode(tokens);
    CHECK(r.issues == (eqinfo::kExtraTokens | eqinfo::kNonzeroPadding));
    CHECK(r.documents == docs);
    // With N = b an extra token is a whole extra window: a new document that
    // lacks its EOS (or a complete one, if the window decodes to EOS).
    const EqualInfoTokenizer<UniformModel<14>, 16, 16> whole(uniform);
    auto whole_tokens = whole.encode_documents(views(docs));
    // Under the uniform 14-bit model bytes 0..192 cost exactly 8 bits, so the
    // all-zero window is the cell of "\0\0" and decodes to two NULs, no EOS.
    whole_tokens.push_back(0x0000);
    r = whole.decode(whole_tokens);
    CHECK(r.issues == eqinfo::kUnterminatedDocument);
    REQUIRE(r.documents.size() == docs.size() + 1);
    CHECK(r.documents.back() == std::string(2, '\0'));
  }
  SECTION("kUnterminatedDocument: the stream ends inside a document") {
    const EqualInfoTokenizer<UniformModel<14>, 16, 16> tok(uniform);
    auto tokens = tok.encode_documents(views(docs));
    tokens.pop_back();
    DecodeResult r = tok.decode(tokens);
    CHECK(r.issues == eqinfo::kUnterminatedDocument);
    REQUIRE(r.documents.size() == docs.size());
    CHECK(docs.back().starts_with(r.documents.back()));
    const ArithmeticTokenizer<UniformModel<14>, 8> ac(uniform);
    auto ac_tokens = ac.encode_documents(views(docs));
    ac_tokens.resize(ac_tokens.size() - 3);
    r = ac.decode(ac_tokens);
    CHECK(r.issues == eqinfo::kUnterminatedDocument);
    REQUIRE(r.documents.size() == docs.size());
    CHECK(r.documents[0] == docs[0]);
  }
  SECTION("AC: a stray token after the last document reads as an unterminated document") {
    const ArithmeticTokenizer<UniformModel<14>, 16> ac(uniform);
    auto tokens = ac.encode_documents(views(docs));
    tokens.push_back(0);
    const DecodeResult r = ac.decode(tokens);
    CHECK(r.issues == eqinfo::kUnterminatedDocument);
    REQUIRE(r.documents.size() == docs.size() + 1);
    CHECK(std::vector<std::string>(r.documents.begin(), r.documents.end() - 1) == docs);
  }
  SECTION("describe() names every issue") {
    DecodeResult r;
    r.issues = eqinfo::kUnterminatedDocument | eqinfo::kNonzeroPadding | eqinfo::kExtraTokens | eqinfo::kInvalidToken |
               eqinfo::kCorruptStream;
    const std::string d = r.describe();
    CHECK_FALSE(r.ok());
    for (const char* what : {"unterminated", "padding", "extra tokens", "out of range", "corrupt"}) CHECK_THAT(d, Catch::Matchers::Contains(what));
  }
}

namespace {

// Token sequences an M2 might sample: empty, single tokens, out-of-range
// values, long runs of 0 and of 2^N - 1, random.
std::vector<std::vector<Token>> garbage_sequences(unsigned n, std::mt19937_64& rng) {
  const Token max = static_cast<Token>((1u << n) - 1);
  std::vector<std::vector<Token>> out;
  out.push_back({});
  out.push_back({0});
  out.push_back({max});
  out.push_back({static_cast<Token>(max / 3)});
  if (n < 16) out.push_back({static_cast<Token>(max + 1)});
  out.push_back({0xFFFF});
  out.push_back(std::vector<Token>(300, 0));
  out.push_back(std::vector<Token>(300, max));
  for (int i = 0; i < 20; ++i) {
    std::vector<Token> t(rng() % 200);
    for (auto& x : t) x = static_cast<Token>(rng() % (1u << n));
    if (i % 4 == 0 && !t.empty()) t[rng() % t.size()] = static_cast<Token>(rng() % 65536);  // maybe out of range
    out.push_back(t);
  }
  return out;
}

// window_bits: the bits one document needs at least (b for Equal-Info, where
// fewer bits hold no whole window; 1 for AC).
template <class Tok>
void check_garbage(const Tok& tok, unsigned n, std::size_t window_bits, std::mt19937_64& rng) {
  for (const auto& tokens : garbage_sequences(n, rng)) {
    DecodeResult r;
    REQUIRE_NOTHROW(r = tok.decode(tokens));
    bool out_of_range = false;
    std::size_t valid = 0;
    for (Token t : tokens) {
      if (t >> n) {
        out_of_range = true;
        break;
      }
      ++valid;
    }
    INFO(tokens.size() << " tokens, " << r.describe());
    CHECK(((r.issues & eqinfo::kInvalidToken) != 0) == out_of_range);
    CHECK((r.issues & eqinfo::kCorruptStream) == 0);
    CHECK(r.documents.empty() == (valid * n < window_bits));
    if (!r.ok()) CHECK(r.describe() != "ok");
    // Decoding is a function of the input.
    CHECK(tok.decode(tokens).documents == r.documents);
  }
}

}  // namespace

TEST_CASE("Decoding arbitrary token sequences never throws and reports issues", "[tokenizer][garbage]") {
  std::mt19937_64 rng(4);
  const UniformModel<14> uniform;
  const StaticModel<14> skewed(eqinfo_test::skewed_counts(0));
  check_garbage(EqualInfoTokenizer<UniformModel<14>, 16, 16>(uniform), 16, 16, rng);
  check_garbage(EqualInfoTokenizer<UniformModel<14>, 24, 8>(uniform), 8, 24, rng);
  check_garbage(EqualInfoTokenizer<StaticModel<14>, 16, 7>(skewed), 7, 16, rng);
  check_garbage(EqualInfoTokenizer<StaticModel<14>, 32, 1>(skewed), 1, 32, rng);
  check_garbage(EqualInfoTokenizer<eqinfo_test::WrongPeakModel<12>, 64, 16>(eqinfo_test::WrongPeakModel<12>{}), 16, 64, rng);
  check_garbage(ArithmeticTokenizer<UniformModel<14>, 16>(uniform), 16, 1, rng);
  check_garbage(ArithmeticTokenizer<UniformModel<14>, 8>(uniform), 8, 1, rng);
  check_garbage(ArithmeticTokenizer<StaticModel<14>, 7>(skewed), 7, 1, rng);
  check_garbage(ArithmeticTokenizer<StaticModel<14>, 1>(skewed), 1, 1, rng);
}

// ---------------------------------------------------------------------------
// Golden token vectors.  Generated once, with the library at commit 8cfac4e,
// by a scratch program holding verbatim copies of kGoldenSentence and
// golden_counts() below, which printed each tokenizer's encode(kGoldenSentence);
// pasted here so that any change to the coder, the window rule, the chunker
// or the quantiser fails this test.

namespace {

constexpr std::string_view kGoldenSentence =
    "Equal-Info Windows split text into windows that each compress to exactly b bits.";

SymbolCounts golden_counts() {
  SymbolCounts c{};
  eqinfo::count_document(c, kGoldenSentence);
  return c;
}

}  // namespace

TEST_CASE("Golden token vectors", "[tokenizer][golden]") {
  const UniformModel<14> uniform;
  const StaticModel<14> counted(golden_counts());
  const std::vector<Token> uniform_eq16 = {
      17777, 30049, 27693, 18798, 26223, 8279, 26990, 25711, 30579, 8307, 28780, 26996, 8308, 25976,
      29728, 26990, 29807, 8311, 26990, 25711, 30579, 8308, 26721, 29728, 25953, 25448, 8291, 28525,
      28786, 25971, 29472, 29807, 8293, 30817, 25460, 27769, 8290, 8290, 26996, 29486, 65284};
  const std::vector<Token> uniform_eq24 = {
      17777, 30049, 27693, 18798, 26223, 8279, 26990, 25711, 30579, 8307, 28780, 26996, 8308, 25976,
      29728, 26990, 29807, 8311, 26990, 25711, 30579, 8308, 26721, 29728, 25953, 25448, 8291, 28525,
      28786, 25971, 29472, 29807, 8293, 30817, 25460, 27769, 8290, 8290, 26996, 29486, 49663, 1024};
  const std::vector<Token> uniform_ac8 = {
      69, 113, 117, 97, 108, 45, 73, 110, 102, 111, 32, 87, 105, 110, 100, 111, 119, 115, 32, 115,
      112, 108, 105, 116, 32, 116, 101, 120, 116, 32, 105, 110, 116, 111, 32, 119, 105, 110, 100, 111,
      119, 115, 32, 116, 104, 97, 116, 32, 101, 97, 99, 104, 32, 99, 111, 109, 112, 114, 101, 115,
      115, 32, 116, 111, 32, 101, 120, 97, 99, 116, 108, 121, 32, 98, 32, 98, 105, 116, 115, 46, 255,
      128};
  const std::vector<Token> static_eq16 = {
      11975, 58778, 32647, 12674, 26365, 13460, 22152, 47192, 33435, 54250, 51937, 55739, 30514,
      43134, 54395, 51824, 19687, 20216, 44575, 25139, 55696, 62166, 55223, 2630, 17882, 47429, 64736};
  const std::vector<Token> static_eq24 = {
      11982, 46719, 35072, 26365, 58999, 13488, 47192, 33658, 62346, 51938, 49954, 64802, 43134,
      50537, 55438, 14882, 63905, 6987, 25140, 16143, 10502, 55222, 55050, 45446, 11326, 15360};
  const std::vector<Token> static_ac8 = {
      46, 206, 182, 113, 47, 240, 234, 156, 126, 178, 211, 114, 18, 160, 25, 125, 41, 193, 172, 66,
      200, 244, 33, 215, 142, 204, 10, 69, 199, 247, 45, 82, 234, 203, 168, 155, 60, 219, 17, 221,
      178, 60, 110, 255, 64};
  CHECK(EqualInfoTokenizer<UniformModel<14>, 16, 16>(uniform).encode(kGoldenSentence) == uniform_eq16);
  CHECK(EqualInfoTokenizer<UniformModel<14>, 24, 16>(uniform).encode(kGoldenSentence) == uniform_eq24);
  CHECK(ArithmeticTokenizer<UniformModel<14>, 8>(uniform).encode(kGoldenSentence) == uniform_ac8);
  CHECK(EqualInfoTokenizer<StaticModel<14>, 16, 16>(counted).encode(kGoldenSentence) == static_eq16);
  CHECK(EqualInfoTokenizer<StaticModel<14>, 24, 16>(counted).encode(kGoldenSentence) == static_eq24);
  CHECK(ArithmeticTokenizer<StaticModel<14>, 8>(counted).encode(kGoldenSentence) == static_ac8);
  // And they decode back.
  CHECK(EqualInfoTokenizer<StaticModel<14>, 24, 16>(counted).decode(static_eq24).documents ==
        std::vector<std::string>{std::string(kGoldenSentence)});
  CHECK(ArithmeticTokenizer<UniformModel<14>, 8>(uniform).decode(uniform_ac8).documents ==
        std::vector<std::string>{std::string(kGoldenSentence)});
}

TEST_CASE("A 1 MB binary document round-trips", "[tokenizer][large]") {
  std::mt19937_64 rng(5);
  std::string doc(1 << 20, '\0');
  for (std::size_t i = 0; i < doc.size(); i += 8) {
    const std::uint64_t x = rng();
    for (std::size_t j = 0; j < 8 && i + j < doc.size(); ++j) doc[i + j] = static_cast<char>(x >> (8 * j));
  }
  // Some long runs and NULs in the middle.
  for (std::size_t i = 300000; i < 340000; ++i) doc[i] = '\0';
  SymbolCounts counts{};
  eqinfo::count_document(counts, doc);
  const EqualInfoTokenizer<StaticModel<14>, 32, 16> tok{StaticModel<14>(counts)};
  WindowStats stats;
  const auto start = std::chrono::steady_clock::now();
  const auto tokens = tok.encode(doc, &stats);
  const DecodeResult r = tok.decode(tokens);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(r.ok());
  REQUIRE(r.documents.size() == 1);
  CHECK(r.documents[0].size() == doc.size());
  CHECK(r.documents[0] == doc);
  CHECK(stats.symbols == doc.size() + 1);
  CHECK(tokens.size() == stats.windows * 2);
  INFO("encode + decode of 1 MiB took " << seconds << " s");
  SUCCEED();
}

// Hidden tag: ctest runs it as tokenizer_test.shared_data, skipped without the corpora.
TEST_CASE("Real text from the shared C4 fixture round-trips through EqualInfo b16", "[tokenizer][.shared_data]") {
  const std::filesystem::path path = eqinfo_test::shared_data_file("c4_sample30_olmo_testfixture.jsonl.gz");
  // Read documents (field "text") until ~50 KB of text.
  std::vector<std::string> docs;
  std::size_t total = 0;
  gzFile file = gzopen(path.string().c_str(), "rb");
  REQUIRE(file != nullptr);
  std::string line;
  char buffer[1 << 14];
  while (total < 50000 && gzgets(file, buffer, sizeof buffer) != nullptr) {
    line += buffer;
    if (line.empty() || line.back() != '\n') continue;  // a line longer than the buffer
    const auto j = nlohmann::json::parse(line, nullptr, false);
    line.clear();
    REQUIRE_FALSE(j.is_discarded());
    docs.push_back(j.at("text").get<std::string>());
    total += docs.back().size();
  }
  gzclose(file);
  REQUIRE(docs.size() >= 2);
  REQUIRE(total >= 20000);
  SymbolCounts counts{};
  for (const auto& d : docs) eqinfo::count_document(counts, d);
  const EqualInfoTokenizer<StaticModel<14>, 16, 16> tok{StaticModel<14>(counts)};
  WindowStats stats;
  const auto tokens = tok.encode_documents(views(docs), &stats);
  const DecodeResult r = tok.decode(tokens);
  REQUIRE(r.ok());
  REQUIRE(r.documents == docs);
  // An order-0 byte model costs ~4.6-5 bits per byte of English, so a 16-bit
  // window holds about 3 bytes (paper, StaticAC at v = 65k: 3.46 bytes/token).
  const double bytes_per_token = static_cast<double>(total) / static_cast<double>(tokens.size());
  INFO("bytes per token " << bytes_per_token);
  CHECK(bytes_per_token > 2.5);
  CHECK(bytes_per_token < 4.5);
  CHECK(stats.fallback_windows <= stats.windows / 100);
}
