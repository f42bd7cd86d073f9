// Tests for include/eqinfo/tokenizer_factory.hpp: run-time construction of
// every tokenizer, its token-file header, and the settings it refuses.
#include "eqinfo/tokenizer_factory.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "test_support.hpp"

using eqinfo::DecodeResult;
using eqinfo::make_tokenizer;
using eqinfo::Method;
using eqinfo::Token;
using eqinfo::TokenFileHeader;
using eqinfo::TokenizerSpec;
using eqinfo_test::views;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kDocs{"A small text for the factory.", "", std::string("bin\0ary\xff", 8), "end"};

class TempModelFile {
 public:
  explicit TempModelFile(const eqinfo::SymbolCounts& counts) {
    static std::atomic<int> counter{0};
    path_ = (fs::temp_directory_path() /
             ("eqinfo_factory_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".json"))
                .string();
    eqinfo::static_model_file::save(counts, path_);
  }
  ~TempModelFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  TempModelFile(const TempModelFile&) = delete;
  TempModelFile& operator=(const TempModelFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

eqinfo::SymbolCounts doc_counts() {
  eqinfo::SymbolCounts c{};
  for (const auto& d : kDocs) eqinfo::count_document(c, d);
  return c;
}

std::vector<Token> round_trip(const eqinfo::AnyTokenizer& tok) {
  eqinfo::WindowStats stats;
  const auto tokens = tok.encode_documents(views(kDocs), &stats);
  for (Token t : tokens) REQUIRE(t < tok.vocabulary_size());
  const DecodeResult r = tok.decode(tokens);
  INFO(r.describe());
  REQUIRE(r.ok());
  REQUIRE(r.documents == kDocs);
  CHECK(tok.encode(kDocs[0]) == tok.encode_documents(std::vector<std::string_view>{kDocs[0]}));
  CHECK(tok.mismatch(tok.header()).empty());
  return tokens;
}

template <unsigned P, unsigned B, unsigned N, class M>
std::vector<Token> compile_time_equal_info(const M& model) {
  if constexpr (P <= B && N <= B)
    return eqinfo::EqualInfoTokenizer<M, B, N>(model).encode_documents(views(kDocs));
  else
    return {};
}

}  // namespace

TEST_CASE("parse_method and method_name are inverse", "[factory]") {
  for (auto [method, name] : eqinfo::kMethodNames) {
    CHECK(eqinfo::parse_method(name) == method);
    CHECK(eqinfo::method_name(method) == name);
  }
  CHECK_FALSE(eqinfo::parse_method("EqualInfo").has_value());
  CHECK_FALSE(eqinfo::parse_method("").has_value());
  CHECK(eqinfo::method_name(static_cast<Method>(99)) == "unknown");
}

TEST_CASE("Bytes and GZip from the factory", "[factory]") {
  SECTION("bytes") {
    const auto tok = make_tokenizer({.method = Method::kBytes, .token_bits = 3});  // N is ignored
    round_trip(*tok);
    const auto h = tok->header();
    CHECK(h.method == static_cast<std::uint8_t>(Method::kBytes));
    CHECK(h.token_bits == 8);
    CHECK(h.window_bits == 0);
    CHECK(h.frequency_bits == 0);
    CHECK(h.fingerprint == 0);
    CHECK(tok->vocabulary_size() == 257);
    CHECK(tok->encode_documents(views(kDocs)) == eqinfo::BytesTokenizer{}.encode_documents(views(kDocs)));
  }
  for (auto method : {Method::kGzip, Method::kGzipRaw}) {
    for (unsigned n : {5u, 8u, 12u, 16u}) {
      INFO(eqinfo::method_name(method) << " N=" << n);
      const auto tok = make_tokenizer({.method = method, .token_bits = n});
      const auto tokens = round_trip(*tok);
      const auto h = tok->header();
      CHECK(h.method == static_cast<std::uint8_t>(method));
      CHECK(h.token_bits == n);
      CHECK(h.window_bits == 0);
      CHECK(h.frequency_bits == 0);
      CHECK(h.fingerprint == 0);
      CHECK(tok->vocabulary_size() == (std::size_t{1} << n));
      const auto framing = method == Method::kGzip ? eqinfo::GzipTokenizer::Framing::kGzip : eqinfo::GzipTokenizer::Framing::kRaw;
      CHECK(tokens == eqinfo::GzipTokenizer(n, framing).encode_documents(views(kDocs)));
    }
  }
}

TEST_CASE("AC and StaticAC from the factory", "[factory]") {
  const TempModelFile model_file(doc_counts());
  for (unsigned p : eqinfo::kSupportedFrequencyBits) {
    for (unsigned n : {1u, 8u, 16u}) {
      INFO("P=" << p << " N=" << n);
      const auto ac = make_tokenizer({.method = Method::kAc, .token_bits = n, .model = "uniform", .frequency_bits = p});
      round_trip(*ac);
      CHECK(ac->header().method == static_cast<std::uint8_t>(Method::kAc));
      CHECK(ac->header().token_bits == n);
      CHECK(ac->header().window_bits == 0);
      CHECK(ac->header().frequency_bits == p);
      CHECK(ac->vocabulary_size() == (std::size_t{1} << n));
      const auto sac = make_tokenizer({.method = Method::kStaticAc, .token_bits = n, .model = "static:" + model_file.path(),
                                       .frequency_bits = p});
      round_trip(*sac);
      CHECK(sac->header().method == static_cast<std::uint8_t>(Method::kStaticAc));
      CHECK(sac->header().fingerprint != ac->header().fingerprint);
    }
  }
  // The factory's tokenizers are the compile-time ones.
  const auto ac14 = make_tokenizer({.method = Method::kAc, .token_bits = 8, .frequency_bits = 14});
  CHECK(ac14->header().fingerprint == eqinfo::UniformModel<14>{}.fingerprint());
  CHECK(ac14->encode_documents(views(kDocs)) ==
        eqinfo::ArithmeticTokenizer<eqinfo::UniformModel<14>, 8>(eqinfo::UniformModel<14>{}).encode_documents(views(kDocs)));
  const auto sac16 = make_tokenizer({.method = Method::kStaticAc, .token_bits = 16, .model = "static:" + model_file.path(),
                                     .frequency_bits = 16});
  const eqinfo::StaticModel<16> model16(doc_counts());
  CHECK(sac16->header().fingerprint == model16.fingerprint());
  CHECK(sac16->encode_documents(views(kDocs)) ==
        eqinfo::ArithmeticTokenizer<eqinfo::StaticModel<16>, 16>(model16).encode_documents(views(kDocs)));
}

TEST_CASE("EqualInfo from the factory for every supported b, P and N in {8, 16}", "[factory]") {
  const TempModelFile model_file(doc_counts());
  std::size_t built = 0, refused = 0;
  for (unsigned b : eqinfo::kSupportedWindowBits) {
    for (unsigned p : eqinfo::kSupportedFrequencyBits) {
      for (unsigned n : {8u, 16u}) {
        for (const std::string& model : {std::string("uniform"), "static:" + model_file.path()}) {
          INFO("b=" << b << " P=" << p << " N=" << n << " model " << model);
          const TokenizerSpec spec{.method = Method::kEqualInfo, .window_bits = b, .token_bits = n, .model = model,
                                   .frequency_bits = p, .decode_batch = 3};
          if (p > b) {
            CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
            CHECK_THROWS_WITH(make_tokenizer(spec), Catch::Matchers::Contains("frequency bits (P) <= window bits (b)") &&
                                                        Catch::Matchers::Contains(std::to_string(b) + "-bit window"));
            ++refused;
            continue;
          }
          if (n > b) {
            CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
            CHECK_THROWS_WITH(make_tokenizer(spec), Catch::Matchers::Contains("must not exceed window bits"));
            ++refused;
            continue;
          }
          const auto tok = make_tokenizer(spec);
          const auto tokens = round_trip(*tok);
          ++built;
          const auto h = tok->header();
          CHECK(h.method == static_cast<std::uint8_t>(Method::kEqualInfo));
          CHECK(h.token_bits == n);
          CHECK(h.window_bits == b);
          CHECK(h.frequency_bits == p);
          CHECK(tok->vocabulary_size() == (std::size_t{1} << n));
          CHECK(tok->decode(tokens).windows * b <= tokens.size() * n);
        }
      }
    }
  }
  // b = 12: only P = 12 and N = 8 (x 2 models); b = 16..128 (6 sizes): 3 P x 2 N x 2 models.
  CHECK(built == 2 + 6 * 12);
  CHECK(refused > 0);
  // Same tokens as the compile-time tokenizer.
  const auto eq = make_tokenizer({.method = Method::kEqualInfo, .window_bits = 24, .token_bits = 16, .frequency_bits = 12});
  CHECK(eq->encode_documents(views(kDocs)) == compile_time_equal_info<12, 24, 16>(eqinfo::UniformModel<12>{}));
  const auto eqs = make_tokenizer({.method = Method::kEqualInfo, .window_bits = 16, .token_bits = 8,
                                   .model = "static:" + model_file.path(), .frequency_bits = 14});
  CHECK(eqs->encode_documents(views(kDocs)) == compile_time_equal_info<14, 16, 8>(eqinfo::StaticModel<14>(doc_counts())));
}

TEST_CASE("The factory refuses invalid settings with informative messages", "[factory]") {
  using Catch::Matchers::Contains;
  SECTION("P > b") {
    const TokenizerSpec spec{.method = Method::kEqualInfo, .window_bits = 12, .frequency_bits = 14};
    CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
    CHECK_THROWS_WITH(make_tokenizer(spec), Contains("12-bit window") && Contains("14-bit precision") && Contains("lower P or raise b"));
  }
  SECTION("N > b") {
    const TokenizerSpec spec{.method = Method::kEqualInfo, .window_bits = 12, .token_bits = 16, .frequency_bits = 12};
    CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
    CHECK_THROWS_WITH(make_tokenizer(spec), Contains("N = 16") && Contains("b = 12"));
  }
  SECTION("unknown b") {
    const TokenizerSpec spec{.method = Method::kEqualInfo, .window_bits = 20};
    CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
    CHECK_THROWS_WITH(make_tokenizer(spec), Contains("window bits (b) 20 is not supported") &&
                                                Contains("12, 16, 24, 32, 48, 64, 128"));
  }
  SECTION("unknown P") {
    for (Method m : {Method::kEqualInfo, Method::kAc}) {
      const TokenizerSpec spec{.method = m, .frequency_bits = 13};
      CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
      CHECK_THROWS_WITH(make_tokenizer(spec), Contains("frequency bits (P) 13 is not supported") && Contains("12, 14, 16"));
    }
  }
  SECTION("N outside [1, 16]") {
    for (Method m : {Method::kEqualInfo, Method::kAc, Method::kGzip, Method::kGzipRaw}) {
      for (unsigned n : {0u, 17u}) {
        const TokenizerSpec spec{.method = m, .token_bits = n};
        CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
        CHECK_THROWS_WITH(make_tokenizer(spec), Contains("token bits must be in [1, 16]"));
      }
    }
  }
  SECTION("staticac with the uniform model") {
    const TokenizerSpec spec{.method = Method::kStaticAc, .model = "uniform"};
    CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
    CHECK_THROWS_WITH(make_tokenizer(spec), Contains("staticac needs an order-0 model"));
  }
  SECTION("unknown model string") {
    for (Method m : {Method::kEqualInfo, Method::kAc, Method::kStaticAc}) {
      const TokenizerSpec spec{.method = m, .model = "transformer"};
      CHECK_THROWS_AS(make_tokenizer(spec), std::invalid_argument);
      CHECK_THROWS_WITH(make_tokenizer(spec), Contains("unknown model 'transformer'") && Contains("static:PATH"));
    }
  }
  SECTION("unreadable static model") {
    const std::string path = (fs::temp_directory_path() / "eqinfo_factory_test_missing_model.json").string();
    const TokenizerSpec spec{.method = Method::kStaticAc, .model = "static:" + path};
    CHECK_THROWS_AS(make_tokenizer(spec), std::runtime_error);
    CHECK_THROWS_WITH(make_tokenizer(spec), Contains(path));
  }
  SECTION("unknown method") {
    CHECK_THROWS_AS(make_tokenizer({.method = static_cast<Method>(42)}), std::invalid_argument);
  }
}

TEST_CASE("mismatch() names the first header field that differs", "[factory]") {
  const TempModelFile model_file(doc_counts());
  const auto tok = make_tokenizer({.method = Method::kEqualInfo, .window_bits = 16, .token_bits = 16, .frequency_bits = 14});
  const TokenFileHeader mine = tok->header();
  CHECK(tok->mismatch(mine).empty());
  TokenFileHeader file = mine;
  file.token_count = 12345;  // the count is not a setting
  CHECK(tok->mismatch(file).empty());

  file = mine;
  file.method = static_cast<std::uint8_t>(Method::kAc);
  CHECK(tok->mismatch(file) == "method is 'ac' in the file but 'equalinfo' here");
  file = mine;
  file.token_bits = 8;
  CHECK(tok->mismatch(file) == "token bits (N) is 8 in the file but 16 here");
  file = mine;
  file.window_bits = 32;
  CHECK(tok->mismatch(file) == "window bits (b) is 32 in the file but 16 here");
  file = mine;
  file.frequency_bits = 12;
  CHECK(tok->mismatch(file) == "frequency bits (P) is 12 in the file but 14 here");
  file = mine;
  file.fingerprint ^= 1;
  {  // both fingerprints are named, the file's first
    char want[80];
    std::snprintf(want, sizeof want, "model fingerprint is %016llx in the file but %016llx here",
                  static_cast<unsigned long long>(file.fingerprint), static_cast<unsigned long long>(mine.fingerprint));
    CHECK(tok->mismatch(file) == std::string(want) + ": decode with the model used to encode");
  }
  // A file written with a static model does not fit the uniform tokenizer.
  const auto other = make_tokenizer({.method = Method::kEqualInfo, .window_bits = 16, .token_bits = 16,
                                     .model = "static:" + model_file.path(), .frequency_bits = 14});
  CHECK_THAT(tok->mismatch(other->header()), Catch::Matchers::Contains("fingerprint"));
  // Several fields differ: the method is reported first.
  file = mine;
  file.method = static_cast<std::uint8_t>(Method::kBytes);
  file.token_bits = 8;
  CHECK(tok->mismatch(file) == "method is 'bytes' in the file but 'equalinfo' here");
}

TEST_CASE("encode_each == encode of each document, for M1 in lockstep and for the other tokenizers", "[factory][m1]") {
  std::vector<std::string> docs = kDocs;
  docs.push_back("x");
  docs.push_back(std::string(400, 'z'));
  for (int i = 0; i < 20; ++i) docs.push_back("document " + std::to_string(i * 7919) + " of the batch; " + std::string(i, 'q'));
  const auto each_matches = [&](const eqinfo::AnyTokenizer& tok) {
    const auto v = views(docs);
    const auto each = tok.encode_each(v);
    REQUIRE(each.size() == docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) REQUIRE(each[i] == tok.encode(docs[i]));
  };
  const std::string m1 = "m1:" + std::string(EQINFO_MODELS_DIR) + "/m1-3m.safetensors";
  for (unsigned b : {16u, 32u})
    for (unsigned n : {8u, 16u})
      for (std::size_t threads : {std::size_t{1}, std::size_t{2}})
        each_matches(*make_tokenizer({.method = Method::kEqualInfo, .window_bits = b, .token_bits = n, .model = m1,
                                      .frequency_bits = 16, .threads = threads}));
  each_matches(*make_tokenizer({.method = Method::kEqualInfo, .window_bits = 16, .token_bits = 16, .model = "uniform"}));
  each_matches(*make_tokenizer({.method = Method::kAc, .token_bits = 16, .model = m1, .frequency_bits = 16}));
  each_matches(*make_tokenizer({.method = Method::kBytes}));
}

TEST_CASE("Document-parallel encode: any thread count gives the tokens, stream, bits and stats of one thread", "[factory][m1]") {
  std::vector<std::string> docs = kDocs;
  for (int i = 0; i < 37; ++i) docs.push_back("parallel document " + std::to_string(i * 104729) + std::string(i % 9, '!'));
  const auto v = views(docs);
  const auto same_for_any_threads = [&](const eqinfo::AnyTokenizer& tok) {
    eqinfo::WindowStats one_stats;
    const auto each = tok.encode_each(v, &one_stats);
    const auto stream = tok.encode_documents(v);
    for (std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{8}}) {
      INFO("threads " << threads);
      eqinfo::WindowStats stats, stream_stats;
      CHECK(tok.encode_each(v, threads, &stats) == each);
      CHECK(stats == one_stats);
      CHECK(tok.encode_documents(v, threads, &stream_stats) == stream);
      CHECK(stream_stats == one_stats);
      const std::vector<std::vector<Token>> streams(each.begin(), each.end());
      const auto decoded = tok.decode_each(streams, threads);
      REQUIRE(decoded.size() == docs.size());
      for (std::size_t i = 0; i < docs.size(); ++i) CHECK(decoded[i].documents == std::vector<std::string>{docs[i]});
    }
    if (static_cast<Method>(tok.header().method) == Method::kBytes) {
      CHECK_THROWS_AS(tok.encode_bits(v), std::invalid_argument);  // not a bitstream method
      return;
    }
    // Chunking each document's bits gives its tokens.
    const auto bits = tok.encode_bits(v, 2);
    REQUIRE(bits.size() == docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) CHECK(eqinfo::chunk_bits(bits[i], tok.header().token_bits) == each[i]);
  };
  const std::string m1 = "m1:" + std::string(EQINFO_MODELS_DIR) + "/m1-3m.safetensors";
  same_for_any_threads(*make_tokenizer({.method = Method::kEqualInfo, .window_bits = 16, .token_bits = 16, .model = m1}));
  same_for_any_threads(*make_tokenizer({.method = Method::kEqualInfo, .window_bits = 24, .token_bits = 16, .model = "uniform"}));
  same_for_any_threads(*make_tokenizer({.method = Method::kAc, .token_bits = 7, .model = "uniform"}));
  same_for_any_threads(*make_tokenizer({.method = Method::kGzip, .token_bits = 16}));
  same_for_any_threads(*make_tokenizer({.method = Method::kBytes}));
  CHECK_THROWS_AS(make_tokenizer({.method = Method::kBytes})->encode_each(v, std::size_t{0}), std::invalid_argument);
}

TEST_CASE("The model registry: each loader takes its prefix, an M1 file fixes P, unknown specs are named", "[factory]") {
  const std::string m1 = "m1:" + std::string(EQINFO_MODELS_DIR) + "/m1-3m.safetensors";
  CHECK(eqinfo::model_frequency_bits(m1) == 16u);
  CHECK_FALSE(eqinfo::model_frequency_bits("uniform").has_value());
  CHECK_FALSE(eqinfo::model_frequency_bits("static:/nonexistent.json").has_value());  // takes any P; read at load
  CHECK_THROWS_WITH(eqinfo::model_frequency_bits("gpt:weights"), Catch::Contains("unknown model 'gpt:weights'"));
  // The P an M1 file fixes is read strictly: 2^32 + 16 is refused, not cut to 16.
  {
    std::ifstream in(m1.substr(3), std::ios::binary);
    const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    eqinfo_test::TempFile wrapped(".safetensors");
    wrapped.write(eqinfo_test::with_eqinfo_metadata(good, [](auto& m) { m["frequency_bits"] = (std::uint64_t{1} << 32) + 16; }));
    CHECK_THROWS_WITH(eqinfo::model_frequency_bits("m1:" + wrapped.path()),
                      "model '" + wrapped.path() + "': metadata 'frequency_bits' must be an integer in [0, 16], not 4294967312");
  }
  // P unset: the M1 file's own; set and different: refused with the file's P.
  CHECK(make_tokenizer({.method = Method::kEqualInfo, .model = m1})->header().frequency_bits == 16);
  CHECK(make_tokenizer({.method = Method::kEqualInfo, .model = "uniform"})->header().frequency_bits == eqinfo::kDefaultFrequencyBits);
  CHECK_THROWS_WITH(make_tokenizer({.method = Method::kEqualInfo, .model = m1, .frequency_bits = 14}),
                    Catch::Contains("tables are 16-bit"));
  CHECK_THROWS_WITH(make_tokenizer({.method = Method::kStaticAc, .model = m1}), Catch::Contains("staticac needs an order-0 model"));
}

TEST_CASE("Decode stops at the output limit for every method, keeping a prefix of the text", "[factory][limits]") {
  const TempModelFile model_file(doc_counts());
  const std::vector<std::string> docs{std::string(3000, 'a'), "A second document, with more words in it.", "",
                                      std::string("bin\0ary\xff", 8), "end"};
  std::string all;
  for (const auto& d : docs) all += d;
  const std::vector<TokenizerSpec> specs{
      {.method = Method::kBytes},
      {.method = Method::kGzip, .token_bits = 8},
      {.method = Method::kGzipRaw, .token_bits = 13},
      {.method = Method::kAc, .token_bits = 16, .model = "uniform"},
      {.method = Method::kStaticAc, .token_bits = 8, .model = "static:" + model_file.path()},
      {.method = Method::kEqualInfo, .window_bits = 16, .token_bits = 16, .model = "uniform"},
      {.method = Method::kEqualInfo, .window_bits = 32, .token_bits = 8, .model = "static:" + model_file.path()},
  };
  for (const auto& spec : specs) {
    const auto tok = make_tokenizer(spec);
    INFO(eqinfo::method_name(spec.method) << " b=" << spec.window_bits << " N=" << spec.token_bits);
    const auto tokens = tok->encode_documents(views(docs));
    for (std::size_t limit : {all.size(), all.size() - 1, std::size_t{3001}, std::size_t{2999}, std::size_t{1}, std::size_t{0}}) {
      INFO("limit " << limit);
      const DecodeResult r = tok->decode(tokens, eqinfo::DecodeLimits{.max_output_bytes = limit});
      std::string got;
      for (const auto& d : r.documents) got += d;
      CHECK(r.output_bytes == got.size());
      if (limit == all.size()) {
        CHECK(r.ok());
        CHECK(r.documents == docs);
      } else {
        // Stopped at the limit with nothing else flagged, the documents a
        // prefix of the text: exactly `limit` bytes of it (gzip cuts its last
        // inflate block there), except that Equal-Info decodes a batch of
        // windows in lockstep and keeps those before the first unfinished one.
        CHECK(r.issues == eqinfo::kOutputLimit);
        CHECK(got.size() <= limit);
        CHECK(got == all.substr(0, got.size()));
        if (spec.method != Method::kEqualInfo) CHECK(got.size() == limit);
        CHECK_THAT(r.describe(), Catch::Contains("output limit reached"));
      }
    }
    // Decoding from a token vector given up (eqinfo-decode's path) is the same decode.
    std::vector<Token> owned = tokens;
    const DecodeResult moved = tok->decode(std::move(owned));
    CHECK(moved.documents == docs);
    CHECK(moved.output_bytes == all.size());
  }
}
