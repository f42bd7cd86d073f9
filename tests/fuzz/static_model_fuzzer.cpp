// libFuzzer target for the static model file (static_model.hpp), read from
// memory (scripts/fuzz.sh builds and runs it):
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//           tests/fuzz/static_model_fuzzer.cpp -o build-fuzz/static_model_fuzzer
//
// The input is the file's text.  static_model_file::from_text (what load()
// runs on a file's bytes) must accept it or refuse it with a
// std::runtime_error naming the file ("static model 'fuzz-input': ...").
// The input is then tried a second time with its self-test fingerprint set
// to the one its counts give (when it is a JSON object with a self_test
// object), so that arbitrary counts get past the self-test into the
// quantiser.  Whatever is accepted must save (to_text, what save() writes)
// to a text that loads to the same counts and is a fixed point of to_text,
// and give a StaticModel at P = 12, 14 and 16 or a std::runtime_error.
//
// Anything else (another exception type, an empty message, a sanitizer
// report, a leak) aborts, which libFuzzer reports as a crash.
//
// Seeds: models/static_en_train.json (scripts/fuzz.sh copies it), and
// EQINFO_FUZZ_WRITE_SEEDS=DIR build-fuzz/static_model_fuzzer writes valid
// files for edge-case counts (all zero, one symbol, every count 2^64 - 1)
// and a few damaged ones to DIR, then exits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "eqinfo/static_model.hpp"

#include "fuzz_seeds.hpp"

namespace {

using namespace eqinfo;

const std::string kLabel = "fuzz-input";
const std::string kPrefix = "static model '" + kLabel + "': ";

[[noreturn]] void fail(const std::string& what, const std::string& detail = {}) {
  std::fprintf(stderr, "static_model_fuzzer: %s%s%s\n", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

// The counts of `text`, or false if it is refused as a loader must refuse:
// with a std::runtime_error whose message names the file.
bool load(std::string_view text, SymbolCounts& counts) {
  try {
    counts = static_model_file::from_text(text, kLabel);
    return true;
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    if (msg.size() <= kPrefix.size() || msg.compare(0, kPrefix.size(), kPrefix) != 0)
      fail("a refusal does not name the file", msg);
    return false;
  } catch (const std::exception& e) {
    fail("refused with an exception that is not a std::runtime_error", e.what());
  }
}

template <unsigned P>
void model_at(const SymbolCounts& counts) {
  try {
    const StaticModel<P> m(counts);
    if (m.table().cumulative(kAlphabetSize) != (std::uint32_t{1} << P)) fail("the table does not sum to 2^P");
    for (std::size_t s = 0; s < kAlphabetSize; ++s)
      if (m.table().frequency(static_cast<Symbol>(s)) == 0) fail("a symbol has frequency 0");
  } catch (const std::runtime_error&) {
  } catch (const std::exception& e) {
    fail("StaticModel refused counts with an exception that is not a std::runtime_error", e.what());
  }
}

void check_accepted(const SymbolCounts& counts) {
  const std::string saved = static_model_file::to_text(counts);
  SymbolCounts again{};
  if (!load(saved, again)) fail("a loaded model saves to a file that does not load", saved);
  if (again != counts) fail("a loaded model saves to a file with other counts", saved);
  if (static_model_file::to_text(again) != saved) fail("to_text is not a fixed point", saved);
  model_at<12>(counts);
  model_at<14>(counts);
  model_at<16>(counts);
}

void write_seeds(const std::string& dir) {
  const auto put = [&](const std::string& name, const std::string& text) { std::ofstream(dir + "/" + name, std::ios::binary) << text; };
  SymbolCounts counts{};
  put("zero", static_model_file::to_text(counts));
  counts['e'] = 1;
  put("one-symbol", static_model_file::to_text(counts));
  counts.fill(std::numeric_limits<std::uint64_t>::max());
  put("max", static_model_file::to_text(counts));
  for (std::size_t s = 0; s < kAlphabetSize; ++s) counts[s] = s * s * 1000 + 1;
  const std::string ramp = static_model_file::to_text(counts);
  put("ramp", ramp);
  nlohmann::json j = nlohmann::json::parse(ramp);
  j["version"] = 2;
  put("ramp-version2", j.dump());
  j["version"] = 1;
  j.erase("self_test");
  put("ramp-no-self-test", j.dump());
  put("not-json", "{\"format\": \"eqinfo-static-model\", \"counts\": [1, 2");
}

}  // namespace

EQINFO_FUZZ_SEED_WRITER(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  SymbolCounts counts{};
  if (load(text, counts)) check_accepted(counts);

  // Again with the fingerprint its counts give, if it has counts to give one.
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("self_test") || !j["self_test"].is_object()) return 0;
  const auto it = j.find("counts");
  if (it == j.end() || !it->is_array() || it->size() != kAlphabetSize) return 0;
  SymbolCounts c{};
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    if (!(*it)[s].is_number_unsigned()) return 0;
    c[s] = (*it)[s].get<std::uint64_t>();
  }
  j["self_test"]["counts_fnv1a64"] = static_model_file::hex64(static_model_file::counts_fingerprint(c));
  j["self_test"]["table_fnv1a64"] = static_model_file::table_fingerprints(c);
  if (load(j.dump(), counts)) {
    if (counts != c) fail("loaded other counts than the file holds");
    check_accepted(counts);
  }
  return 0;
}
