// Tests for include/eqinfo/static_model.hpp: counting, the order-0 model, and
// its JSON file with a self-test (from a file and from memory).
#include "eqinfo/static_model.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include <sys/stat.h>

#include "eqinfo/uniform_model.hpp"
#include "test_support.hpp"

using eqinfo::kEos;
using eqinfo::StaticModel;
using eqinfo::SymbolCounts;
namespace fs = std::filesystem;
namespace file = eqinfo::static_model_file;

namespace {

using eqinfo_test::TempFile;

SymbolCounts sample_counts() {
  SymbolCounts c{};
  const std::string text = "The quick brown fox jumps over the lazy dog. \x00\xff";
  eqinfo::count_document(c, text);
  eqinfo::count_document(c, "");
  c[200] = 123456789012ULL;  // larger than 32 bits
  return c;
}

// A valid model file as JSON, to be damaged by the tests.
nlohmann::json valid_json(const SymbolCounts& counts) {
  TempFile f(".json");
  file::save(counts, f.path());
  return nlohmann::json::parse(f.read());
}

void check_load_fails(const std::string& text, const std::string& why) {
  TempFile f(".json");
  f.write(text);
  INFO("file text: " << text.substr(0, 200));
  CHECK_THROWS_AS(file::load(f.path()), std::runtime_error);
  CHECK_THROWS_WITH(file::load(f.path()), Catch::Matchers::Contains(why) && Catch::Matchers::Contains(f.path()));
  CHECK_THROWS_AS(StaticModel<14>::load(f.path()), std::runtime_error);
  // The text from memory is refused with the very same message.
  std::string from_file, from_text;
  try {
    file::load(f.path());
  } catch (const std::runtime_error& e) {
    from_file = e.what();
  }
  try {
    file::from_text(text, f.path());
  } catch (const std::runtime_error& e) {
    from_text = e.what();
  }
  CHECK(from_text == from_file);
}

}  // namespace

TEST_CASE("count_document counts every byte and one EOS", "[static_model]") {
  SymbolCounts c{};
  eqinfo::count_document(c, std::string("aab\0\xff", 5));
  CHECK(c['a'] == 2);
  CHECK(c['b'] == 1);
  CHECK(c[0] == 1);
  CHECK(c[255] == 1);
  CHECK(c[kEos] == 1);
  eqinfo::count_document(c, "");
  CHECK(c[kEos] == 2);
  std::uint64_t total = 0;
  for (auto x : c) total += x;
  CHECK(total == 7);
}

TEST_CASE("StaticModel predicts the quantised table at every position", "[static_model]") {
  const SymbolCounts counts = sample_counts();
  const StaticModel<14> model(counts);
  CHECK(model.table() == eqinfo::FrequencyTable<14>::from_counts(counts));
  auto ctx = model.new_context();
  model.reset(ctx);
  const auto* first = &model.predict(ctx);
  model.advance(ctx, 'T');
  model.advance(ctx, kEos);
  CHECK(&model.predict(ctx) == first);
  CHECK(model.predict(ctx) == model.table());
  CHECK(model.fingerprint() == eqinfo::table_fingerprint(model.table()));
}

TEST_CASE("StaticModel fingerprints follow the quantised table", "[static_model]") {
  SymbolCounts counts{};
  eqinfo::count_document(counts, "fingerprints follow the quantised table");
  SymbolCounts more = counts;
  more['z'] += 10;
  CHECK(StaticModel<14>(counts).fingerprint() == StaticModel<14>(counts).fingerprint());
  CHECK(StaticModel<14>(counts).fingerprint() != StaticModel<14>(more).fingerprint());
  CHECK(StaticModel<14>(counts).fingerprint() != StaticModel<16>(counts).fingerprint());
  // Scaling all counts leaves the table, and so the fingerprint, unchanged.
  SymbolCounts doubled = counts;
  for (auto& x : doubled) x *= 2;
  CHECK(StaticModel<12>(counts).fingerprint() == StaticModel<12>(doubled).fingerprint());
  // A uniform model's fingerprint is not any static model's.
  CHECK(eqinfo::UniformModel<14>{}.fingerprint() != StaticModel<14>(SymbolCounts{}).fingerprint());
}

TEST_CASE("Static model files round-trip", "[static_model]") {
  const SymbolCounts counts = sample_counts();
  TempFile f(".json");
  file::save(counts, f.path());
  CHECK(file::load(f.path()) == counts);
  const auto model = StaticModel<16>::load(f.path());
  CHECK(model.table() == StaticModel<16>(counts).table());
  CHECK(model.fingerprint() == StaticModel<16>(counts).fingerprint());
  // The file is the documented JSON.
  const auto j = nlohmann::json::parse(f.read());
  CHECK(j.at("format") == "eqinfo-static-model");
  CHECK(j.at("version") == 2);
  CHECK(j.at("counts").size() == 257);
  CHECK(j.at("self_test").at("counts_fnv1a64").get<std::string>().size() == 16);
  // One table fingerprint for every precision a FrequencyTable takes.
  CHECK(j.at("self_test").at("table_fnv1a64").size() == 16);
  for (unsigned p = 9; p <= 24; ++p) CHECK(j.at("self_test").at("table_fnv1a64").at(std::to_string(p)).get<std::string>().size() == 16);
  CHECK(j.at("self_test").at("table_fnv1a64").at("16") == file::hex64(eqinfo::table_fingerprint(StaticModel<16>(counts).table())));
  // All-zero counts are valid (a uniform table).
  TempFile z(".json");
  file::save(SymbolCounts{}, z.path());
  CHECK(file::load(z.path()) == SymbolCounts{});
}

TEST_CASE("Static model text in memory: to_text is what save writes, from_text what load reads", "[static_model]") {
  const SymbolCounts counts = sample_counts();
  TempFile f(".json");
  file::save(counts, f.path());
  CHECK(file::to_text(counts) == f.read());
  CHECK(file::from_text(file::to_text(counts), "in-memory") == counts);
  CHECK_THROWS_WITH(file::from_text("[]", "in-memory"), "static model 'in-memory': not a JSON object");
}

TEST_CASE("Static model loading rejects damaged or foreign files", "[static_model]") {
  const SymbolCounts counts = sample_counts();
  const nlohmann::json good = valid_json(counts);

  SECTION("missing file") {
    const std::string path = (fs::temp_directory_path() / "eqinfo_static_model_test_no_such_file.json").string();
    CHECK_THROWS_AS(file::load(path), std::runtime_error);
    CHECK_THROWS_WITH(file::load(path), Catch::Matchers::Contains("cannot open") && Catch::Matchers::Contains(path));
  }
  SECTION("not JSON") { check_load_fails("this is not json {", "not a JSON object"); }
  SECTION("empty file") { check_load_fails("", "not a JSON object"); }
  SECTION("JSON but not an object") { check_load_fails("[1, 2, 3]", "not a JSON object"); }
  SECTION("wrong format") {
    auto j = good;
    j["format"] = "something-else";
    check_load_fails(j.dump(), "format");
    j.erase("format");
    check_load_fails(j.dump(), "format");
  }
  SECTION("wrong version") {
    auto j = good;
    j["version"] = 3;
    check_load_fails(j.dump(), "unsupported version (expected 2)");
    // Version 1 checked the 14-bit table only: refused, saying how to rebuild.
    j["version"] = 1;
    check_load_fails(j.dump(), "version 1 fingerprints only the 14-bit table; rebuild it with eqinfo-build-static-model");
    j.erase("version");
    check_load_fails(j.dump(), "version");
  }
  SECTION("256 counts") {
    auto j = good;
    j["counts"].erase(256);
    check_load_fails(j.dump(), "257");
  }
  SECTION("258 counts") {
    auto j = good;
    j["counts"].push_back(1);
    check_load_fails(j.dump(), "257");
  }
  SECTION("counts missing or not an array") {
    auto j = good;
    j["counts"] = 5;
    check_load_fails(j.dump(), "counts");
    j.erase("counts");
    check_load_fails(j.dump(), "counts");
  }
  SECTION("a negative count") {
    auto j = good;
    j["counts"][65] = -1;
    check_load_fails(j.dump(), "counts[65]");
  }
  SECTION("a fractional or string count") {
    auto j = good;
    j["counts"][3] = 1.5;
    check_load_fails(j.dump(), "counts[3]");
    j["counts"][3] = "7";
    check_load_fails(j.dump(), "counts[3]");
  }
  SECTION("tampered counts fail the self-test") {
    auto j = good;
    j["counts"]['e'] = j["counts"]['e'].get<std::uint64_t>() + 2000000000ULL;
    check_load_fails(j.dump(), "self-test failed");
    j = good;
    j["counts"][200] = 5;  // the large count made small
    check_load_fails(j.dump(), "self-test failed");
  }
  SECTION("a change too small to move the 14-bit table fails the self-test") {
    // Version 1 fingerprinted the 14-bit table only and accepted this count,
    // which changes the 16-bit table (the P = 16 tokens).
    // The smallest growing step of one count that moves the 16-bit table:
    // it leaves the 14-bit one as it was (4x coarser).
    SymbolCounts changed = counts;
    for (std::uint64_t add = 1; StaticModel<16>(changed).table() == StaticModel<16>(counts).table(); add += add / 8 + 1)
      changed['e'] = counts['e'] + add;
    REQUIRE(StaticModel<14>(changed).table() == StaticModel<14>(counts).table());
    auto j = good;
    j["counts"]['e'] = changed['e'];
    check_load_fails(j.dump(), "self-test failed: counts fingerprint");
  }
  SECTION("a quantiser that changed at one precision fails the self-test there") {
    // A stored table fingerprint that differs (as a quantiser change at P = 20 would make it).
    auto j = good;
    std::string fp = j["self_test"]["table_fnv1a64"]["20"];
    fp[0] = fp[0] == '0' ? '1' : '0';
    j["self_test"]["table_fnv1a64"]["20"] = fp;
    check_load_fails(j.dump(), "self-test failed: 20-bit table fingerprint");
    j = good;
    j["self_test"]["table_fnv1a64"].erase("9");
    check_load_fails(j.dump(), "self-test failed: 9-bit table fingerprint");
  }
  SECTION("tampered counts fingerprint fails the self-test") {
    auto j = good;
    std::string fp = j["self_test"]["counts_fnv1a64"];
    fp[0] = fp[0] == '0' ? '1' : '0';
    j["self_test"]["counts_fnv1a64"] = fp;
    check_load_fails(j.dump(), "self-test failed: counts fingerprint");
  }
  SECTION("missing self-test") {
    auto j = good;
    j["self_test"].erase("table_fnv1a64");
    check_load_fails(j.dump(), "self-test failed");
    j.erase("self_test");
    check_load_fails(j.dump(), "missing self_test");
  }
  SECTION("fields of the wrong JSON type are refused as bad files, not type errors") {
    auto j = good;
    j["version"] = "1";
    check_load_fails(j.dump(), "version");
    j = good;
    j["format"] = 7;
    check_load_fails(j.dump(), "format");
    j = good;
    j["self_test"]["counts_fnv1a64"] = 14;
    check_load_fails(j.dump(), "self-test failed");
    j = good;
    j["self_test"]["table_fnv1a64"] = "14";
    check_load_fails(j.dump(), "self-test failed");
  }
}

TEST_CASE("Every single-bit flip of the committed static model is refused", "[static_model][damage]") {
  // The corpus-damage test of issue 11, over every byte of the file.
  const std::string path = std::string(EQINFO_MODELS_DIR) + "/static_en_train.json";
  const std::string good = eqinfo::read_regular_file(path);
  REQUIRE(good.size() > 1000);
  REQUIRE_NOTHROW(file::load(path));
  std::mt19937_64 rng(2026);
  TempFile f(".json");
  std::size_t refused = 0, flips = 0;
  for (std::size_t at = 0; at < good.size(); ++at, ++flips) {
    std::string damaged = good;
    damaged[at] = static_cast<char>(damaged[at] ^ (1 << (rng() % 8)));
    f.write(damaged);
    INFO("bit flip at byte " << at << ": " << good.substr(at > 20 ? at - 20 : 0, 40));
    try {
      file::load(f.path());
      FAIL_CHECK("accepted");
    } catch (const std::runtime_error&) {
      ++refused;
    }
  }
  CHECK(refused == flips);
}

TEST_CASE("A static model file over the size limit is refused before it is read to the end", "[static_model]") {
  TempFile f(".json");
  f.write(std::string(file::kMaxFileBytes + 1, ' '));
  CHECK_THROWS_WITH(file::load(f.path()),
                    "static model '" + f.path() + "': is larger than the limit of " + std::to_string(file::kMaxFileBytes) + " bytes");
}

TEST_CASE("A static model path that is a FIFO or a device is refused at once", "[static_model]") {
  TempFile fifo(".fifo");
  REQUIRE(::mkfifo(fifo.path().c_str(), 0600) == 0);
  // ifstream's open would wait for a writer forever; /dev/zero was read until std::bad_alloc.
  CHECK_THROWS_WITH(file::load(fifo.path()), "static model '" + fifo.path() + "': is a FIFO, not a regular file");
  CHECK_THROWS_WITH(file::load("/dev/zero"), "static model '/dev/zero': is a character device, not a regular file");
}

TEST_CASE("save reports a full disk (the stream was checked before its flush)", "[static_model]") {
  CHECK_THROWS_WITH(file::save(sample_counts(), "/dev/full"), "/dev/full: cannot write: No space left on device");
}

TEST_CASE("save reports an unwritable path", "[static_model]") {
  const std::string path = (fs::temp_directory_path() / "eqinfo_no_such_dir_for_tests" / "x.json").string();
  CHECK_THROWS_AS(file::save(sample_counts(), path), std::runtime_error);
  CHECK_THROWS_WITH(file::save(sample_counts(), path), Catch::Matchers::Contains(path));
}
