// TransformerModel (the integer M1 kernel): load-time validation and
// self-test, and the determinism matrix — the same frequency tables and
// tokens for scalar vs SIMD, incremental (decode path) vs teacher-forced
// (predict_each, the encoder's look-ahead), batch 1 vs 64, and 1 vs 2
// threads.  The -O0 vs
// -O3 -march=native leg is m1_build_determinism_test (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <eqinfo/equal_info_segmenter.hpp>
#include <eqinfo/tokenizer.hpp>
#include <eqinfo/transformer_model.hpp>

#include "test_support.hpp"

namespace {

using eqinfo::TransformerModel;
using eqinfo::m1::KernelKind;
using Model = TransformerModel<16>;

const std::string kModelPath = std::string(EQINFO_MODELS_DIR) + "/m1-3m.safetensors";

// One shared load per kernel/thread setting: loading runs the self-test.
const Model& model(KernelKind kernel = KernelKind::kSimd, std::size_t threads = 1) {
  static const Model simd(kModelPath, KernelKind::kSimd, 1);
  static const Model scalar(kModelPath, KernelKind::kScalar, 1);
  static const Model simd2(kModelPath, KernelKind::kSimd, 2);
  if (kernel == KernelKind::kScalar) return scalar;
  return threads == 1 ? simd : simd2;
}

std::vector<std::string> random_contexts(std::size_t count, std::size_t max_len, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  const std::string words[] = {"the ", "window ", "equal ", "info ", "coder ", "자연어 ", "处理 ", "\x00\xff", ". "};
  for (std::size_t i = 0; i < count; ++i) {
    std::string s;
    const std::size_t len = 1 + rng() % max_len;
    while (s.size() < len) s += (rng() % 4 == 0) ? std::string(1, static_cast<char>(rng())) : words[rng() % std::size(words)];
    s.resize(len);
    out.push_back(s);
  }
  return out;
}

// Tables at every position of [EOS] + text, one position at a time (the
// incremental / KV-cache path the decoder uses).
std::vector<Model::Table> incremental_tables(const Model& m, const std::string& text) {
  auto ctx = m.new_context();
  m.reset(ctx);
  std::vector<Model::Table> out{m.predict(ctx)};
  for (unsigned char c : text) {
    m.advance(ctx, c);
    out.push_back(m.predict(ctx));
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = std::string(EQINFO_TEST_TMP_DIR) + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string load_error(const std::string& path) {
  try {
    Model m(path);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// The message after "model 'PATH': " of loading `bytes`, written as `name`.
std::string refusal(const char* name, const std::string& bytes) {
  const std::string path = write_temp(name, bytes);
  const std::string error = load_error(path), prefix = "model '" + path + "': ";
  REQUIRE(error.starts_with(prefix));
  return error.substr(prefix.size());
}

}  // namespace

TEST_CASE("M1 loads, passes its self-test, and has one fingerprint for every kernel", "[m1]") {
  REQUIRE(model(KernelKind::kSimd).fingerprint() == model(KernelKind::kScalar).fingerprint());
  REQUIRE(model().config().d_model == 256);
  REQUIRE(model().config().n_layers == 3);
  REQUIRE(model().config().frequency_bits == 16);
}

TEST_CASE("M1 tables: scalar == SIMD and incremental == teacher-forced", "[m1]") {
  for (const auto& text : random_contexts(6, 40, 7)) {
    const auto simd = incremental_tables(model(KernelKind::kSimd), text);
    const auto scalar = incremental_tables(model(KernelKind::kScalar), text);
    REQUIRE(simd == scalar);
    // Teacher-forced: queue every symbol, then one predict runs them as rows of one batch.
    const Model& m = model();
    auto ctx = m.new_context();
    m.reset(ctx);
    for (unsigned char c : text) m.advance(ctx, c);
    REQUIRE(m.predict(ctx) == simd.back());
    // And split in two teacher-forced chunks.
    m.reset(ctx);
    const std::size_t half = text.size() / 2;
    for (std::size_t i = 0; i < half; ++i) m.advance(ctx, static_cast<unsigned char>(text[i]));
    REQUIRE(m.predict(ctx) == simd[half]);
    for (std::size_t i = half; i < text.size(); ++i) m.advance(ctx, static_cast<unsigned char>(text[i]));
    REQUIRE(m.predict(ctx) == simd.back());
  }
}

TEST_CASE("The window-prefix cache changes nothing: tables and Equal-Info tokens with it == without it", "[m1][prefix]") {
  for (const auto kernel : {KernelKind::kSimd, KernelKind::kScalar}) {
    Model uncached = model(kernel);  // a copy: same weights, its own switch
    uncached.set_prefix_cache(false);
    REQUIRE(model(kernel).prefix_cache());
    auto contexts = random_contexts(8, 12, 21);
    contexts.push_back("");                           // [EOS] alone: the cached root
    contexts.push_back(std::string(1, '\0'));         // every entry of position 1 is reachable:
    contexts.push_back(std::string(1, '\xff'));       // the first and last byte values
    for (const auto& text : contexts) {
      REQUIRE(incremental_tables(model(kernel), text) == incremental_tables(uncached, text));
      // Queued as one call (positions 0 and 1 copied, the rest computed after them), with each table.
      auto cached_ctx = model(kernel).new_context(), plain_ctx = uncached.new_context();
      model(kernel).reset(cached_ctx);
      uncached.reset(plain_ctx);
      for (unsigned char c : text) {
        model(kernel).advance(cached_ctx, c);
        uncached.advance(plain_ctx, c);
      }
      const auto a = model(kernel).predict_each(cached_ctx);
      const auto b = uncached.predict_each(plain_ctx);
      REQUIRE(std::vector<Model::Table>(a.begin(), a.end()) == std::vector<Model::Table>(b.begin(), b.end()));
    }
    // A context whose position 0 is not EOS (never made by reset) is computed, not copied.
    auto odd = model(kernel).new_context(), odd_plain = uncached.new_context();
    model(kernel).advance(odd, 'x');
    uncached.advance(odd_plain, 'x');
    model(kernel).advance(odd, 'y');
    uncached.advance(odd_plain, 'y');
    REQUIRE(model(kernel).predict(odd) == uncached.predict(odd_plain));
  }
  // Equal-Info: every window starts a context, so the cache serves two rows of each.
  auto docs = random_contexts(10, 400, 23);
  docs.push_back(std::string(500, 'a'));
  const std::vector<std::string_view> views(docs.begin(), docs.end());
  Model uncached = model();
  uncached.set_prefix_cache(false);
  const eqinfo::EqualInfoSegmenter<Model, 16> with(model()), without(uncached);
  for (auto d : views) {
    eqinfo::BitVector x, y;
    with.encode_document(d, x);
    without.encode_document(d, y);
    REQUIRE(x == y);
  }
  // Position 2 (the pair memo, m1/pair_memo.hpp): those windows kept the states after their
  // first two bytes, so encoding the documents again copies position 2 of most windows; the
  // tokens stay those computed without any cache.
  REQUIRE(model().prefix_pairs_kept() > 0);
  REQUIRE(uncached.prefix_pairs_kept() == model().prefix_pairs_kept());  // copies share it, but never use it off
  for (auto d : views) {
    eqinfo::BitVector x, y;
    with.encode_document(d, x);
    without.encode_document(d, y);
    REQUIRE(x == y);
  }
  // A context of a pair met before copies position 2, one of a pair never met computes it (and
  // keeps it), and both give the tables of the uncached model. A freshly loaded model, so that
  // what the other tests met is not in its memo (its self-test is: 7 pairs).
  for (const auto kernel : {KernelKind::kSimd, KernelKind::kScalar}) {
    const Model fresh(kModelPath, kernel, 1);
    Model plain = fresh;  // shares the memo, never uses it
    plain.set_prefix_cache(false);
    const std::size_t kept = fresh.prefix_pairs_kept();
    for (const std::string text : {"\x01\xfe!", "\x01\xfe?x"}) {
      for (int round = 0; round < 2; ++round) {
        auto ctx = fresh.new_context(), ref = plain.new_context();
        fresh.reset(ctx);
        plain.reset(ref);
        for (unsigned char c : text) {
          fresh.advance(ctx, c);
          plain.advance(ref, c);
        }
        // [EOS, 01, fe, ...]: position 2 is fe after 01; kept by the first call, copied after.
        REQUIRE(fresh.copies_prefix_row(ctx, 2) == (round == 1 || text != "\x01\xfe!"));
        REQUIRE_FALSE(plain.copies_prefix_row(ref, 2));
        const auto a = fresh.predict_each(ctx);
        const auto b = plain.predict_each(ref);
        REQUIRE(std::vector<Model::Table>(a.begin(), a.end()) == std::vector<Model::Table>(b.begin(), b.end()));
      }
    }
    REQUIRE(fresh.prefix_pairs_kept() == kept + 1);
  }
}

TEST_CASE("M1 predict_each: the table after every queued symbol == one at a time", "[m1]") {
  for (const auto& kernel : {KernelKind::kSimd, KernelKind::kScalar})
    for (const auto& text : random_contexts(6, 30, 9)) {
      const Model& m = model(kernel);
      const auto want = incremental_tables(m, text);
      auto ctx = m.new_context();
      m.reset(ctx);
      // [EOS] + the first part in one call, then the rest in chunks of 1..4.
      const std::size_t first = text.size() / 3;
      for (std::size_t i = 0; i < first; ++i) m.advance(ctx, static_cast<unsigned char>(text[i]));
      std::vector<Model::Table> got;
      const auto collect = [&] {
        const auto tables = m.predict_each(ctx);
        got.insert(got.end(), tables.begin(), tables.end());
        REQUIRE(m.predict(ctx) == got.back());  // predict's table is the last one
      };
      collect();
      for (std::size_t i = first, chunk = 1; i < text.size(); i += chunk, chunk = chunk % 4 + 1) {
        for (std::size_t j = i; j < std::min(text.size(), i + chunk); ++j) m.advance(ctx, static_cast<unsigned char>(text[j]));
        collect();
      }
      REQUIRE(got == want);
    }
}

// The model without predict_each: the Equal-Info encoder then makes one call
// per offered symbol, the behaviour the look-ahead must reproduce.
class OneAtATime {
 public:
  static constexpr unsigned kFrequencyBits = Model::kFrequencyBits;
  using Context = Model::Context;
  explicit OneAtATime(const Model& m) : m_(&m) {}
  [[nodiscard]] Context new_context() const { return m_->new_context(); }
  void reset(Context& c) const { m_->reset(c); }
  void advance(Context& c, eqinfo::Symbol s) const { m_->advance(c, s); }
  const Model::Table& predict(Context& c) const { return m_->predict(c); }
  [[nodiscard]] std::uint64_t fingerprint() const { return m_->fingerprint(); }

 private:
  const Model* m_;
};
static_assert(eqinfo::Model<OneAtATime> && !eqinfo::LookaheadModel<OneAtATime>);

TEST_CASE("Equal-Info encode with look-ahead == one call per symbol, for b = 16..128 and model resets every 1 or 3 windows", "[m1]") {
  auto docs = random_contexts(12, 300, 13);
  docs.push_back("");
  docs.push_back(std::string(700, 'a'));  // long, very predictable windows
  std::vector<std::string_view> views(docs.begin(), docs.end());
  const auto same = [&]<unsigned B, unsigned K>() {
    eqinfo::WindowStats fast_stats, slow_stats;
    for (auto d : views) {
      eqinfo::BitVector fast, slow;
      eqinfo::EqualInfoSegmenter<Model, B, K>(model()).encode_document(d, fast, &fast_stats);
      const OneAtATime sequential(model());
      eqinfo::EqualInfoSegmenter<OneAtATime, B, K>(sequential).encode_document(d, slow, &slow_stats);
      REQUIRE(fast == slow);
    }
    REQUIRE(fast_stats.windows == slow_stats.windows);
    REQUIRE(fast_stats.fallback_windows == slow_stats.fallback_windows);
  };
  same.template operator()<16, 1>();
  same.template operator()<32, 1>();
  same.template operator()<128, 1>();
  same.template operator()<16, 3>();
}

TEST_CASE("Equal-Info encode_documents in lockstep == encode_document per document, for b = 16..128 and resets every 1 or 3", "[m1]") {
  std::mt19937_64 rng(17);
  std::string random_bytes(333, '\0');
  for (auto& c : random_bytes) c = static_cast<char>(rng());
  std::string binary(64, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 37 % 7 == 0 ? 0 : 0xff - i);
  auto docs = random_contexts(20, 200, 23);
  docs.insert(docs.begin() + 3, "");
  docs.insert(docs.begin() + 5, "x");
  docs.push_back("");
  docs.push_back("The window closes when the next byte no longer fits; the decoder needs nothing else. "
                 "Equal-Info Windows split text into windows that each compress to exactly b bits.");
  docs.push_back(random_bytes);
  docs.push_back(binary);
  docs.push_back(std::string(900, 'a'));
  docs.push_back("\x01");
  std::vector<std::string_view> views(docs.begin(), docs.end());
  const auto same = [&]<unsigned B, unsigned K>(const Model& m) {
    eqinfo::EqualInfoSegmenter<Model, B, K> seg(m);
    eqinfo::WindowStats one_stats;
    std::vector<eqinfo::BitVector> one(views.size());
    for (std::size_t i = 0; i < views.size(); ++i) seg.encode_document(views[i], one[i], &one_stats);
    for (std::size_t lanes : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{8}, std::size_t{1000}}) {
      eqinfo::WindowStats stats;
      std::vector<eqinfo::BitVector> many(views.size());
      seg.encode_documents(views, many, &stats, lanes);
      for (std::size_t i = 0; i < views.size(); ++i) REQUIRE(many[i] == one[i]);
      REQUIRE(stats.windows == one_stats.windows);
      REQUIRE(stats.symbols == one_stats.symbols);
      REQUIRE(stats.greedy_symbols == one_stats.greedy_symbols);
      REQUIRE(stats.fallback_windows == one_stats.fallback_windows);
    }
    // The fallback (a model without batches or look-ahead) gives the same bits.
    const OneAtATime sequential(m);
    std::vector<eqinfo::BitVector> slow(views.size());
    eqinfo::EqualInfoSegmenter<OneAtATime, B, K>(sequential).encode_documents(views, slow);
    for (std::size_t i = 0; i < views.size(); ++i) REQUIRE(slow[i] == one[i]);
  };
  same.template operator()<16, 1>(model());
  same.template operator()<32, 1>(model());
  same.template operator()<128, 1>(model());
  same.template operator()<16, 3>(model());
  same.template operator()<16, 1>(model(KernelKind::kSimd, 2));
  // The tokenizer's batch path (lockstep) == its documents one by one.
  const eqinfo::EqualInfoTokenizer<Model, 16, 16> tok(model());
  eqinfo::BitVector bits;
  for (auto d : views) eqinfo::EqualInfoSegmenter<Model, 16>(model()).encode_document(d, bits);
  REQUIRE(tok.encode_documents(views) == eqinfo::chunk_bits(bits, 16));
  REQUIRE(tok.decode(tok.encode_documents(views)).documents == docs);
}

TEST_CASE("M1 predict_each_batch: each context's tables == predict_each alone, read back without recomputing", "[m1]") {
  const auto texts = random_contexts(16, 12, 29);
  const Model& m = model();
  std::vector<Model::Context> ctx(texts.size());
  std::vector<Model::Context*> batch;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    ctx[i] = m.new_context();
    m.reset(ctx[i]);
    for (unsigned char c : texts[i]) m.advance(ctx[i], c);
    batch.push_back(&ctx[i]);
  }
  m.predict_each_batch(batch);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto alone = incremental_tables(m, texts[i]);
    const auto tables = m.predict_each(ctx[i]);
    REQUIRE(tables.size() == alone.size());
    for (std::size_t k = 0; k < alone.size(); ++k) REQUIRE(tables[k] == alone[k]);
    REQUIRE(m.predict(ctx[i]) == alone.back());
  }
}

TEST_CASE("M1 tables: batch of 64 in lockstep == each context alone, on 1 and 2 threads", "[m1]") {
  const auto texts = random_contexts(64, 24, 11);
  std::vector<std::vector<Model::Table>> alone;
  for (const auto& t : texts) alone.push_back(incremental_tables(model(), t));
  for (std::size_t threads : {1u, 2u}) {
    const Model& m = model(KernelKind::kSimd, threads);
    std::vector<Model::Context> ctx(texts.size());
    std::vector<Model::Context*> batch;
    for (auto& c : ctx) {
      c = m.new_context();
      m.reset(c);
      batch.push_back(&c);
    }
    for (std::size_t step = 0;; ++step) {
      m.predict_batch(batch);
      bool any = false;
      for (std::size_t i = 0; i < texts.size(); ++i) {
        if (step > texts[i].size()) continue;
        REQUIRE(m.predict(ctx[i]) == alone[i][step]);
        if (step < texts[i].size()) {
          m.advance(ctx[i], static_cast<unsigned char>(texts[i][step]));
          any = true;
        }
      }
      if (!any) break;
    }
  }
}

TEST_CASE("Equal-Info with M1 round-trips English, Korean, Chinese and binary for every b and N", "[m1]") {
  std::mt19937_64 rng(5);
  std::string binary(96, '\0');
  for (auto& c : binary) c = static_cast<char>(rng());
  const std::vector<std::string> docs{
      "The window closes when the next byte no longer fits; the decoder needs nothing else.",
      "토큰화는 텍스트를 작은 단위로 나누는 과정입니다.", "神经网络压缩文本。", binary, ""};
  std::vector<std::string_view> views(docs.begin(), docs.end());
  const auto check = [&](const auto& tokenizer) {
    eqinfo::WindowStats stats;
    const auto tokens = tokenizer.encode_documents(views, &stats);
    const auto back = tokenizer.decode(tokens);
    REQUIRE(back.ok());
    REQUIRE(back.documents == docs);
    REQUIRE(back.windows == stats.windows);
    return tokens;
  };
  check(eqinfo::EqualInfoTokenizer<Model, 16, 8>(model()));
  const auto t16 = check(eqinfo::EqualInfoTokenizer<Model, 16, 16>(model()));
  check(eqinfo::EqualInfoTokenizer<Model, 32, 16>(model()));
  check(eqinfo::EqualInfoTokenizer<Model, 64, 8>(model()));
  check(eqinfo::EqualInfoTokenizer<Model, 128, 16>(model()));
  // Same tokens from the scalar kernel, and decoding one window at a time.
  REQUIRE(eqinfo::EqualInfoTokenizer<Model, 16, 16>(model(KernelKind::kScalar)).encode_documents(views) == t16);
  REQUIRE(eqinfo::EqualInfoTokenizer<Model, 16, 16>(model(), /*decode_batch=*/1).decode(t16).documents == docs);
}

TEST_CASE("M1 metadata numbers are read strictly: out of range is refused, never wrapped", "[m1]") {
  const std::string good = read_file(kModelPath);
  const auto refused = [&](const char* name, auto edit) { return refusal(name, eqinfo_test::with_eqinfo_metadata(good, edit)); };
  const std::uint64_t wraps_to_16 = (std::uint64_t{1} << 32) + 16;  // get<unsigned> read it as 16
  CHECK(refused("m1_p_wraps.safetensors", [&](auto& m) { m["frequency_bits"] = wraps_to_16; }) ==
        "metadata 'frequency_bits' must be an integer in [0, 16], not 4294967312");
  CHECK(refused("m1_self_test_p_wraps.safetensors", [&](auto& m) { m["self_test"]["frequency_bits"] = wraps_to_16; }) ==
        "self_test 'frequency_bits' must be an integer in [0, 16], not 4294967312");
  CHECK(refused("m1_p_float.safetensors", [&](auto& m) { m["frequency_bits"] = 16.0; }) ==
        "metadata 'frequency_bits' must be an integer in [0, 16], not 16.0");
  CHECK(refused("m1_d_negative.safetensors", [&](auto& m) { m["architecture"]["d_model"] = -1; }) ==
        "architecture 'd_model' must be an integer in [0, 4294967296], not -1");
  CHECK(refused("m1_no_heads.safetensors", [&](auto& m) { m["architecture"].erase("n_heads"); }) == "architecture lacks 'n_heads'");
  // Self-test inputs are strict hex (std::stoul took "+f" and threw a bare "stoul" for "zz").
  for (const char* hex : {"+f", " f", "zz", "0x"})
    CHECK(refused("m1_self_test_hex.safetensors", [&](auto& m) { m["self_test"]["inputs"][0] = hex; }) ==
          "self_test input 0 is not hex");
  // A field of another JSON type: a message naming the file, not nlohmann's type_error.
  CHECK(refused("m1_format_number.safetensors", [&](auto& m) { m["format"] = 5; }) == "format is not 'eqinfo-m1'");
  CHECK(refused("m1_self_test_p_string.safetensors", [&](auto& m) { m["self_test"]["frequency_bits"] = "16"; }) ==
        "self_test 'frequency_bits' must be an integer in [0, 16], not \"16\"");
}

TEST_CASE("M1 loader refuses damaged and foreign files, saying why", "[m1]") {
  const std::string good = read_file(kModelPath);
  REQUIRE(good.size() > 100000);
  CHECK_THAT(load_error(std::string(EQINFO_TEST_TMP_DIR) + "/no-such-model.safetensors"), Catch::Contains("cannot open"));
  CHECK_THAT(load_error(write_temp("m1_truncated.safetensors", good.substr(0, good.size() / 2))), Catch::Contains("truncated"));
  CHECK_THAT(load_error(write_temp("m1_tiny.safetensors", good.substr(0, 5))), Catch::Contains("truncated"));
  std::string garbage_header = good;
  garbage_header[20] = '\x01';  // inside the JSON header
  CHECK_THAT(load_error(write_temp("m1_header.safetensors", garbage_header)), Catch::Contains("corrupt"));
  // A flipped byte deep inside the weights: structurally valid, numerically
  // wrong, caught by the content hash before any value is read.
  std::string flipped = good;
  flipped[good.size() - 3000] ^= 0x40;
  CHECK_THAT(load_error(write_temp("m1_flipped.safetensors", flipped)), Catch::Contains("the file's content_hash is") &&
                                                                           Catch::Contains("the file is damaged"));
  // A valid safetensors file that is not an M1 export.
  const std::string header = R"({"x":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})";
  std::string foreign(8, '\0');
  foreign[0] = static_cast<char>(header.size());
  foreign += header + "ab";
  CHECK_THAT(load_error(write_temp("m1_foreign.safetensors", foreign)), Catch::Contains("no 'eqinfo' metadata"));
  // Another precision than the file's.
  try {
    TransformerModel<14> wrong(kModelPath);
    FAIL("loaded 16-bit tables as 14-bit");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("16-bit"));
  }
}

TEST_CASE("M1 metadata is sealed: a changed or missing eqinfo_sha256 is refused", "[m1]") {
  const std::string good = read_file(kModelPath);
  // One byte of an informational field changed (no check reads "training").
  std::string edited = eqinfo_test::with_eqinfo_metadata(good, [](auto& m) { m["training"]["note"] = "x"; });
  const std::string sealed = eqinfo_test::with_eqinfo_metadata(good, [](auto& m) { m["training"]["note"] = "y"; });
  CHECK(load_error(write_temp("m1_sealed_edit.safetensors", sealed)).empty());  // sealed again: accepted
  const std::size_t at = edited.find("note\\\":\\\"x");
  REQUIRE(at != std::string::npos);
  edited[at + 9] = 'y';  // the same edit without resealing
  CHECK(refusal("m1_unsealed_edit.safetensors", edited) == "'eqinfo' metadata does not match its eqinfo_sha256: the file is damaged");
  std::string unsealed = edited;
  const std::size_t key = unsealed.find("eqinfo_sha256");
  REQUIRE(key != std::string::npos);
  unsealed[key + 12] = '7';  // the key renamed: a file exported before the seal
  CHECK_THAT(refusal("m1_no_seal.safetensors", unsealed),
             Catch::StartsWith("lacks 'eqinfo_sha256'") && Catch::Contains("python -m eqinfo.m1.export --reseal"));
}

TEST_CASE("M1 self-test: every embedding row is exercised, and its size is limited before it runs", "[m1]") {
  const std::string good = read_file(kModelPath);
  // The byte 0xc8 occurs only in the all-bytes input: its embedding row,
  // changed by 4.0 (Q.10) and resealed, is caught there.
  const std::string row200 = eqinfo_test::with_tensor_bytes(good, "embed", [](std::string& b) { b[200 * 256 * 4 + 1] ^= 0x10; });
  CHECK_THAT(refusal("m1_row200.safetensors", row200), Catch::StartsWith("self-test failed on input 6: "));
  // Without that input, the other six use 72 byte values: refused.
  const auto drop_last = [](auto& m) {
    m["self_test"]["inputs"].erase(6);
    m["self_test"]["table_hashes"].erase(6);
  };
  CHECK_THAT(refusal("m1_uncovered.safetensors", eqinfo_test::with_eqinfo_metadata(good, drop_last)),
             Catch::StartsWith("self_test inputs use 72 of the 256 byte values"));
  // A 20,000-byte input took 292 s to load; now it is refused before it runs.
  const auto long_input = [](auto& m) { m["self_test"]["inputs"][5] = std::string(40000, '6'); };
  CHECK(refusal("m1_long_self_test.safetensors", eqinfo_test::with_eqinfo_metadata(good, long_input)) ==
        "self_test inputs exceed the limit of 4096 bytes in all");
  const auto many_inputs = [](auto& m) {
    for (int i = 0; i < 60; ++i) {
      m["self_test"]["inputs"].push_back("");
      m["self_test"]["table_hashes"].push_back(m["self_test"]["table_hashes"][0]);
    }
  };
  CHECK(refusal("m1_many_self_tests.safetensors", eqinfo_test::with_eqinfo_metadata(good, many_inputs)) ==
        "self_test has 67 inputs, over the limit of 64");
}

TEST_CASE("M1 loader re-checks the int32 bounds of docs/integer_m1.md instead of trusting the file", "[m1]") {
  const std::string good = read_file(kModelPath);
  const auto set_i32 = [](std::int32_t value, std::size_t index = 0) {
    return [=](std::string& b) { std::memcpy(b.data() + 4 * index, &value, 4); };
  };
  // Each edit is resealed (content hash and metadata), so only the bound can refuse it.
  CHECK(refusal("m1_score_bound.safetensors", eqinfo_test::with_tensor_bytes(good, "l1.score.shift", set_i32(1))) ==
        "layer 1: attention scores may exceed 2^30 (docs/integer_m1.md bounds)");
  CHECK(refusal("m1_bias_bound.safetensors", eqinfo_test::with_tensor_bytes(good, "l0.rel_bias", set_i32(1 << 30, 3))) ==
        "layer 0: attention scores may exceed 2^30 (docs/integer_m1.md bounds)");
  CHECK(refusal("m1_residual_bound.safetensors", eqinfo_test::with_tensor_bytes(good, "l2.w2.shift", set_i32(1))) ==
        "layer 2: a residual update may overflow int32 (docs/integer_m1.md bounds)");
  CHECK(refusal("m1_logit_bound.safetensors", eqinfo_test::with_tensor_bytes(good, "out.shift", set_i32(1))) ==
        "logits may exceed 2^30 (docs/integer_m1.md bounds)");
  // One head of 256: q.k of 256 terms of up to A^2 overflowed int32 (UBSan, in the self-test).
  CHECK(refusal("m1_one_head.safetensors", eqinfo_test::with_eqinfo_metadata(good, [](auto& m) { m["architecture"]["n_heads"] = 1; })) ==
        "head size d_model / n_heads > 128 breaks the q.k bound (h A^2 < 2^31)");
}

TEST_CASE("Every single-bit flip of the bundled M1 file is refused", "[m1][damage]") {
  // The corpus-damage test of issue 11: bits in the header (JSON, metadata,
  // the length) and in the tensor data, chosen by a fixed seed.
  const std::string good = read_file(kModelPath);
  std::uint64_t header_end = 0;
  for (int i = 7; i >= 0; --i) header_end = (header_end << 8) | static_cast<unsigned char>(good[static_cast<std::size_t>(i)]);
  header_end += 8;
  std::mt19937_64 rng(2026);
  const std::string path = std::string(EQINFO_TEST_TMP_DIR) + "/m1_bit_flip.safetensors";
  std::size_t refused = 0, flips = 0;
  for (int i = 0; i < 240; ++i, ++flips) {
    // Two thirds of the flips in the header, which is 0.5 % of the file.
    const std::size_t at = i % 3 != 0 ? rng() % header_end : header_end + rng() % (good.size() - header_end);
    std::string damaged = good;
    damaged[at] = static_cast<char>(damaged[at] ^ (1 << (rng() % 8)));
    std::ofstream(path, std::ios::binary) << damaged;
    const std::string error = load_error(path);
    INFO("bit flip at byte " << at);
    CHECK_FALSE(error.empty());
    refused += !error.empty();
  }
  CHECK(refused == flips);
}

TEST_CASE("M1 from a file already in memory (SafetensorsFile::from_bytes) loads and refuses as from its path", "[m1]") {
  const std::string good = read_file(kModelPath);
  const Model from_memory(eqinfo::SafetensorsFile::from_bytes(good, kModelPath));
  CHECK(from_memory.fingerprint() == model().fingerprint());
  const std::vector<std::uint8_t> probe = {'H', 'i', '\n'};
  CHECK(from_memory.context_tables_hash(probe) == model().context_tables_hash(probe));
  std::string flipped = good;
  flipped[good.size() - 3000] ^= 0x40;
  const std::string path = write_temp("m1_flipped_memory.safetensors", flipped);
  std::string error;
  try {
    Model m(eqinfo::SafetensorsFile::from_bytes(flipped, path));
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  CHECK_THAT(error, Catch::Contains("the file is damaged"));
  CHECK(error == load_error(path));
}

// ---- format version 2: the bounded attention span ---------------------------

namespace {

// A tiny M1 in format v2 with a span of W = 16 (tests/golden/make_m1_tiny_v2.py):
// its self-test, which the loader checks, holds the NumPy reference's tables on
// 8 contexts, one of 132 positions, so loading it is the C++ == NumPy parity.
const std::string kTinyV2Path = std::string(EQINFO_MODELS_DIR) + "/../tests/golden/m1_tiny_v2.safetensors";

}  // namespace

TEST_CASE("Format v2 loads with its span, and a span is never read into a v1 file or left out of a v2 one", "[m1][v2]") {
  const Model v2(kTinyV2Path);
  CHECK(v2.config().format_version == 2);
  CHECK(v2.config().attention_window == 16);
  CHECK(model().config().format_version == 1);
  CHECK(model().config().attention_window == 0);
  const std::string good = read_file(kTinyV2Path);
  const auto refusal_of = [&](const char* name, auto edit) { return refusal(name, eqinfo_test::with_eqinfo_metadata(good, edit)); };
  CHECK(refusal_of("v2_as_v1.safetensors", [](auto& m) { m["version"] = 1; }) ==
        "a version-1 file has no attention_window (the span is format version 2)");
  CHECK(refusal_of("v2_no_window.safetensors", [](auto& m) { m["architecture"].erase("attention_window"); }) ==
        "architecture lacks 'attention_window'");
  CHECK(refusal_of("v2_window_1.safetensors", [](auto& m) { m["architecture"]["attention_window"] = 1; }) ==
        "architecture 'attention_window' must be in [2, 65536]");
  CHECK(refusal_of("v3.safetensors", [](auto& m) { m["version"] = 3; }) == "unsupported M1 format version (expected 1 or 2)");
  // Read as unbounded, its own self-test fails at the first input longer than
  // the span (input 3, 40 bytes: 41 positions > W = 16): the span matters, and
  // the inputs within it (0..2) agree with v1 semantics.
  CHECK_THAT(refusal_of("v2_unbounded.safetensors",
                        [](auto& m) {
                          m["version"] = 1;
                          m["architecture"].erase("attention_window");
                        }),
             Catch::StartsWith("self-test failed on input 3"));
}

TEST_CASE("Format v2: the determinism matrix holds past the span, and the cache stays bounded", "[m1][v2]") {
  const Model simd(kTinyV2Path, KernelKind::kSimd, 1), scalar(kTinyV2Path, KernelKind::kScalar, 1), two(kTinyV2Path, KernelKind::kSimd, 2);
  const std::size_t W = simd.config().attention_window;
  for (const auto& text : random_contexts(5, 300, 17)) {
    INFO("context of " << text.size() << " bytes");
    const auto one_at_a_time = incremental_tables(simd, text);
    CHECK(incremental_tables(scalar, text) == one_at_a_time);
    // Teacher-forced: the whole context queued as one call of many rows, and in chunks of 7.
    for (const std::size_t chunk : {text.size() + 1, std::size_t{7}}) {
      auto ctx = simd.new_context();
      simd.reset(ctx);
      std::vector<Model::Table> tables;
      for (const auto& t : simd.predict_each(ctx)) tables.push_back(t);
      for (std::size_t at = 0; at < text.size(); at += chunk) {
        for (std::size_t i = at; i < std::min(text.size(), at + chunk); ++i) simd.advance(ctx, static_cast<unsigned char>(text[i]));
        for (const auto& t : simd.predict_each(ctx)) tables.push_back(t);
      }
      CHECK(tables == one_at_a_time);
      // The sink plus at most ~2W + the rows of one call, whatever the length.
      CHECK(ctx.keys[0].size() / simd.config().d_model <= 1 + 2 * W + chunk);
    }
  }
  // A batch of contexts in lockstep, on one and two threads, equals each alone.
  const auto texts = random_contexts(9, 120, 18);
  for (const Model* m : {&simd, &two}) {
    std::vector<Model::Context> ctxs;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      ctxs.push_back(m->new_context());
      m->reset(ctxs.back());
    }
    std::vector<std::vector<Model::Table>> got(texts.size());
    for (std::size_t pos = 0;; ++pos) {
      std::vector<Model::Context*> batch;
      for (std::size_t i = 0; i < texts.size(); ++i)
        if (pos <= texts[i].size()) batch.push_back(&ctxs[i]);
      if (batch.empty()) break;
      m->predict_batch(batch);
      for (std::size_t i = 0; i < texts.size(); ++i) {
        if (pos > texts[i].size()) continue;
        got[i].push_back(m->predict(ctxs[i]));
        if (pos < texts[i].size()) m->advance(ctxs[i], static_cast<unsigned char>(texts[i][pos]));
      }
    }
    for (std::size_t i = 0; i < texts.size(); ++i) CHECK(got[i] == incremental_tables(simd, texts[i]));
  }
}

TEST_CASE("Format v2: AC and Equal-Info round-trip long documents, and only the span is attended", "[m1][v2]") {
  const Model v2(kTinyV2Path);
  std::mt19937_64 rng(19);
  std::string long_doc;
  while (long_doc.size() < 3000) long_doc += "the cat sat on a mat. ";
  const std::vector<std::string> docs{long_doc, "short", ""};
  std::vector<std::string_view> views(docs.begin(), docs.end());
  const eqinfo::ArithmeticTokenizer<Model, 16> ac(v2);
  const auto tokens = ac.encode_documents(views);
  const auto back = ac.decode(tokens);
  REQUIRE(back.ok());
  CHECK(back.documents == docs);
  const eqinfo::EqualInfoTokenizer<Model, 16, 16> eq(v2);
  CHECK(eq.decode(eq.encode_documents(views)).documents == docs);
  // A byte that has left every span (L layers reach L (W - 2) back, besides the sink)
  // changes no later table.
  const std::size_t L = v2.config().n_layers, W = v2.config().attention_window, j = 5, reach = j + L * (W - 2);
  std::string changed = long_doc.substr(0, 200);
  const auto before = incremental_tables(v2, changed);
  changed[j] = 'X';
  const auto after = incremental_tables(v2, changed);
  // tables[t] follows position t = byte t - 1 (position 0 is EOS)
  CHECK(std::vector<Model::Table>(after.begin() + static_cast<std::ptrdiff_t>(reach + 2), after.end()) ==
        std::vector<Model::Table>(before.begin() + static_cast<std::ptrdiff_t>(reach + 2), before.end()));
  CHECK(after[j + 1] != before[j + 1]);
}
