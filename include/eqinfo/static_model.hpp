// StaticModel<P>: an order-0 byte unigram counted from a corpus (the paper's
// StaticAC).  The same table is used at every position, so "reset" is a no-op.
//
// File format (JSON, small and human-readable):
//   {"format": "eqinfo-static-model", "version": 2,
//    "counts": [257 integers: bytes 0..255, then EOS = documents],
//    "self_test": {"counts_fnv1a64": "<16 hex digits>",
//                  "table_fnv1a64": {"9": "<16 hex digits>", ..., "24": ...}}}
// The self-test is the fingerprint of the counts themselves and of the
// quantised table at every precision P a FrequencyTable takes (9..24); load()
// recomputes them all, so a file damaged in transit (any count, even one that
// leaves some table unchanged), or a quantiser changed without a format
// bump, is refused at load (the sentencepiece habit). Version 1 fingerprinted
// the 14-bit table only: a changed count that kept it changed the P = 16
// tokens unseen, so version 1 files are refused with the way to rebuild them.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "eqinfo/file_io.hpp"
#include "eqinfo/fingerprint.hpp"
#include "eqinfo/frequency_table.hpp"
#include "eqinfo/model.hpp"

namespace eqinfo {

using SymbolCounts = std::array<std::uint64_t, kAlphabetSize>;

// Adds one document's bytes and its EOS to `counts`.
inline void count_document(SymbolCounts& counts, std::string_view document) {
  for (unsigned char c : document) ++counts[c];
  ++counts[kEos];
}

template <unsigned FrequencyBits>
std::uint64_t table_fingerprint(const FrequencyTable<FrequencyBits>& table) {
  Fnv1a64 h;
  h.u64(FrequencyBits);
  for (std::size_t s = 0; s <= kAlphabetSize; ++s) h.u64(table.cumulative(s));
  return h.value();
}

namespace static_model_file {
inline constexpr std::string_view kFormat = "eqinfo-static-model";
inline constexpr int kVersion = 2;
// Every precision FrequencyTable accepts (its static_assert).
inline constexpr unsigned kMinSelfTestBits = 9, kMaxSelfTestBits = 24;
// Far above any real file (~2 KB) and far below memory: a larger "model" is
// refused before it is read to the end.
inline constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20;

inline std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

inline std::uint64_t counts_fingerprint(const SymbolCounts& counts) {
  Fnv1a64 h;
  for (auto c : counts) h.u64(c);
  return h.value();
}

// {"9": fingerprint of the 9-bit table, ..., "24": ...}
inline nlohmann::json table_fingerprints(const SymbolCounts& counts) {
  nlohmann::json out = nlohmann::json::object();
  [&]<unsigned... I>(std::integer_sequence<unsigned, I...>) {
    ((out[std::to_string(kMinSelfTestBits + I)] =
          hex64(table_fingerprint(FrequencyTable<kMinSelfTestBits + I>::from_counts(counts)))),
     ...);
  }(std::make_integer_sequence<unsigned, kMaxSelfTestBits - kMinSelfTestBits + 1>{});
  return out;
}

// The file's text for `counts` (what save() writes).
inline std::string to_text(const SymbolCounts& counts) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["counts"] = counts;
  j["self_test"] = {{"counts_fnv1a64", hex64(counts_fingerprint(counts))}, {"table_fnv1a64", table_fingerprints(counts)}};
  return j.dump() + '\n';
}

inline void save(const SymbolCounts& counts, const std::string& path) {
  const std::string text = to_text(counts);
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

// The counts of a file's text already in memory, with load()'s checks and
// errors; `path` names the file in them.
inline SymbolCounts from_text(std::string_view text, const std::string& path) {
  const auto fail = [&](const std::string& why) { return std::runtime_error("static model '" + path + "': " + why); };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw fail("not a JSON object");
  // Field `key` of `o` if present with the JSON type `ok` checks, else null: a
  // field of another type is damage like any other (json::value() would throw
  // nlohmann's type_error, which is no std::runtime_error and names no file).
  const auto field = [](const nlohmann::json& o, const char* key, bool (nlohmann::json::*ok)() const noexcept) {
    const auto it = o.find(key);
    return it != o.end() && ((*it).*ok)() ? *it : nlohmann::json();
  };
  if (field(j, "format", &nlohmann::json::is_string) != std::string(kFormat))
    throw fail("format is not '" + std::string(kFormat) + "'");
  const auto version = field(j, "version", &nlohmann::json::is_number_integer);
  if (version == 1)
    throw fail("version 1 fingerprints only the 14-bit table; rebuild it with eqinfo-build-static-model (version 2)");
  if (version != kVersion) throw fail("unsupported version (expected 2)");
  const auto& c = j["counts"];
  if (!c.is_array() || c.size() != kAlphabetSize) throw fail("'counts' must be an array of 257 integers");
  SymbolCounts counts{};
  for (std::size_t s = 0; s < kAlphabetSize; ++s) {
    if (!c[s].is_number_unsigned()) throw fail("counts[" + std::to_string(s) + "] is not a non-negative integer");
    counts[s] = c[s].get<std::uint64_t>();
  }
  const auto& st = j["self_test"];
  if (!st.is_object()) throw fail("missing self_test");
  const auto stored_counts = field(st, "counts_fnv1a64", &nlohmann::json::is_string);
  const std::string actual_counts = hex64(counts_fingerprint(counts));
  if (stored_counts != actual_counts)
    throw fail("self-test failed: counts fingerprint " + actual_counts + " != stored " + stored_counts.dump());
  const auto stored_tables = field(st, "table_fnv1a64", &nlohmann::json::is_object);
  const nlohmann::json actual_tables = table_fingerprints(counts);  // named: items() would dangle on a temporary
  for (const auto& [bits, actual] : actual_tables.items()) {
    const auto stored = stored_tables.is_object() ? field(stored_tables, bits.c_str(), &nlohmann::json::is_string) : nlohmann::json();
    if (stored != actual)
      throw fail("self-test failed: " + bits + "-bit table fingerprint " + actual.get<std::string>() + " != stored " + stored.dump());
  }
  return counts;
}

inline SymbolCounts load(const std::string& path) {
  return from_text(read_regular_file(path, "static model '" + path + "'", kMaxFileBytes), path);
}
}  // namespace static_model_file

template <unsigned FrequencyBits = 14>
class StaticModel {
 public:
  static constexpr unsigned kFrequencyBits = FrequencyBits;
  struct Context {};

  explicit StaticModel(const SymbolCounts& counts)
      : table_(FrequencyTable<FrequencyBits>::from_counts(counts)), fingerprint_(table_fingerprint(table_)) {}
  static StaticModel load(const std::string& path) { return StaticModel(static_model_file::load(path)); }

  [[nodiscard]] Context new_context() const { return {}; }
  void reset(Context&) const {}
  [[nodiscard]] const FrequencyTable<FrequencyBits>& predict(Context&) const { return table_; }
  void advance(Context&, Symbol) const {}
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint_; }
  [[nodiscard]] const FrequencyTable<FrequencyBits>& table() const { return table_; }

 private:
  FrequencyTable<FrequencyBits> table_;
  std::uint64_t fingerprint_;
};

static_assert(Model<StaticModel<14>>);

}  // namespace eqinfo
