// Helpers shared by the eqinfo tests: a cheap assertion for hot loops,
// bit-string conversions, random documents of many shapes, and adversarial
// models that implement the Model concept.
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/bit_vector.hpp"
#include "eqinfo/fingerprint.hpp"
#include "eqinfo/frequency_table.hpp"
#include "eqinfo/model.hpp"
#include "eqinfo/sha256.hpp"
#include "eqinfo/symbols.hpp"

// REQUIRE only when the condition fails: Catch2's per-assertion bookkeeping
// dominates Debug runtime in loops of millions of checks.  `cond` must be
// free of side effects (it is evaluated again on failure for the report).
#define EQINFO_FAST_REQUIRE(cond) \
  do {                            \
    if (!(cond)) REQUIRE(cond);   \
  } while (0)

namespace eqinfo_test {

// Skipping (tests/CMakeLists.txt, eqinfo_add_test ... SKIPPABLE): a test
// whose precondition is missing says why and exits with 77, which its ctest
// entry reports as "Skipped".  Only for test cases with a hidden tag that
// their own ctest entry runs: the exit ends the executable.
inline constexpr int kSkipReturnCode = 77;

[[noreturn]] inline void skip(const std::string& why) {
  std::printf("skipped: %s\n", why.c_str());
  std::fflush(stdout);
  std::exit(kSkipReturnCode);
}

// `name` in the shared corpora (EQINFO_SHARED_DATA_DIR, ../shared/data by
// default); skips the test when the file is not there.
inline std::filesystem::path shared_data_file(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(EQINFO_SHARED_DATA_DIR) / name;
  if (!std::filesystem::exists(path)) skip(path.string() + " not found (shared corpora absent)");
  return path;
}

// A file in the system temp directory, removed when it goes out of scope.
// The name ends with `suffix`, for readers that choose a format by it.
class TempFile {
 public:
  explicit TempFile(const std::string& suffix = "") {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("eqinfo_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + suffix))
                .string();
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  void write(const std::string& bytes) const {
    std::ofstream out(path_, std::ios::binary);
    out << bytes;
  }
  [[nodiscard]] std::string read() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

 private:
  std::string path_;
};

inline std::string bits_to_string(const eqinfo::BitVector& v) {
  std::string s;
  s.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) s += v[i] ? '1' : '0';
  return s;
}

inline eqinfo::BitVector string_to_bits(const std::string& s) {
  eqinfo::BitVector v;
  for (char c : s) v.push_back(c == '1');
  return v;
}

enum class DocShape { kEmpty, kOneByte, kBinary, kInvalidUtf8, kRun, kText, kRunsAndNoise };
inline constexpr std::array<DocShape, 7> kAllDocShapes{DocShape::kEmpty,       DocShape::kOneByte, DocShape::kBinary,
                                                       DocShape::kInvalidUtf8, DocShape::kRun,     DocShape::kText,
                                                       DocShape::kRunsAndNoise};

inline const char* shape_name(DocShape s) {
  switch (s) {
    case DocShape::kEmpty: return "empty";
    case DocShape::kOneByte: return "one byte";
    case DocShape::kBinary: return "binary with NULs";
    case DocShape::kInvalidUtf8: return "invalid UTF-8";
    case DocShape::kRun: return "run of one byte";
    case DocShape::kText: return "text-like";
    case DocShape::kRunsAndNoise: return "runs and noise";
  }
  return "?";
}

// A random document of the given shape, about `length` bytes.
inline std::string make_document(DocShape shape, std::size_t length, std::mt19937_64& rng) {
  std::string d;
  switch (shape) {
    case DocShape::kEmpty:
      break;
    case DocShape::kOneByte:
      d.push_back(static_cast<char>(rng() % 256));
      break;
    case DocShape::kBinary:
      for (std::size_t i = 0; i < length; ++i) d.push_back(static_cast<char>(rng() % 4 == 0 ? 0 : rng() % 256));
      break;
    case DocShape::kInvalidUtf8: {
      // Stray continuation bytes, truncated sequences, overlongs, 0xFF/0xFE.
      static constexpr unsigned char kBad[] = {0x80, 0xBF, 0xC0, 0xC1, 0xE2, 0x82, 0xF5, 0xFE, 0xFF, 0xED, 0xA0};
      for (std::size_t i = 0; i < length; ++i)
        d.push_back(static_cast<char>(rng() % 2 ? kBad[rng() % sizeof kBad] : 'a' + rng() % 26));
      break;
    }
    case DocShape::kRun:
      d.assign(length, static_cast<char>(rng() % 256));
      break;
    case DocShape::kText: {
      static const char* kWords[] = {"the", "of", "and", "window", "equal", "information", "token", "a",
                                     "compression", "model", "arithmetic", "coder", "is", "in", "bits", "text"};
      while (d.size() < length) {
        if (!d.empty()) d += rng() % 9 == 0 ? ". " : " ";
        d += kWords[rng() % 16];
      }
      d.resize(length);
      break;
    }
    case DocShape::kRunsAndNoise:
      while (d.size() < length) {
        const std::size_t run = rng() % 64;
        d.append(run, static_cast<char>(rng() % 4));
        for (std::size_t i = rng() % 8; i > 0; --i) d.push_back(static_cast<char>(rng() % 256));
      }
      d.resize(length);
      break;
  }
  return d;
}

// Views of documents, as encode_documents takes them (`docs` must outlive them).
inline std::vector<std::string_view> views(const std::vector<std::string>& docs) { return {docs.begin(), docs.end()}; }

// "", one document of every DocShape (min_length + rng() % length_spread bytes each), "": the
// edge cases a multi-document round trip starts from; tests append their own.
inline std::vector<std::string> every_shape_documents(std::mt19937_64& rng, std::size_t min_length,
                                                      std::size_t length_spread) {
  std::vector<std::string> docs{""};
  for (DocShape shape : kAllDocShapes) docs.push_back(make_document(shape, min_length + rng() % length_spread, rng));
  docs.push_back("");
  return docs;
}

// Symbols of a document as coded: its bytes, then EOS.
inline std::vector<eqinfo::Symbol> document_symbols(const std::string& d) {
  std::vector<eqinfo::Symbol> s;
  s.reserve(d.size() + 1);
  for (unsigned char c : d) s.push_back(c);
  s.push_back(eqinfo::kEos);
  return s;
}

inline std::array<std::uint64_t, eqinfo::kAlphabetSize> counts_of(const std::string& d) {
  std::array<std::uint64_t, eqinfo::kAlphabetSize> c{};
  for (unsigned char x : d) ++c[x];
  ++c[eqinfo::kEos];
  return c;
}

// Counts that make one byte overwhelmingly likely: skewed static models.
inline std::array<std::uint64_t, eqinfo::kAlphabetSize> skewed_counts(unsigned char peak) {
  std::array<std::uint64_t, eqinfo::kAlphabetSize> c{};
  c[peak] = 1000000;
  c[eqinfo::kEos] = 1;
  return c;
}

template <unsigned P>
eqinfo::FrequencyTable<P> peaked_table(eqinfo::Symbol peak) {
  std::array<std::uint32_t, eqinfo::kAlphabetSize> f;
  f.fill(1);
  f[peak] = (std::uint32_t{1} << P) - 256;
  eqinfo::FrequencyTable<P> t;
  t.set_frequencies(f);
  return t;
}

inline std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb93fe51a87d9ULL;
  x ^= x >> 33;
  return x;
}

// ADVERSARIAL model 1: context-dependent and deterministic.  At every step a
// pseudo-random byte, a hash of the last two symbols since reset (a reset
// context hashes as "nothing seen"), gets probability (2^P - 256) / 2^P and
// every other symbol, EOS included, gets 2^-P.  Documents from
// `make_document` follow that chain: within a window they are long runs of
// extremely likely symbols (hundreds per bit at P = 16), while the first
// symbols after every window reset are out of sync and cost P bits each.
template <unsigned P>
class PeakedHashModel {
 public:
  static constexpr unsigned kFrequencyBits = P;
  static constexpr unsigned kNothing = 0x1ff;
  struct Context {
    unsigned prev2 = kNothing, prev1 = kNothing;
    const eqinfo::FrequencyTable<P>* table = nullptr;
  };

  // peak_frequency: the peak's share of 2^P; the default is the most a
  // table allows (every other symbol at the floor of 1).  Any other value
  // spreads the rest evenly over the 256 other symbols.
  explicit PeakedHashModel(std::uint64_t seed = 1, std::uint32_t peak_frequency = (std::uint32_t{1} << P) - 256)
      : seed_(seed), peak_frequency_(peak_frequency) {
    for (unsigned a = 0; a < 257; ++a)
      for (unsigned b = 0; b < 257; ++b) peak_[a * 257 + b] = static_cast<std::uint8_t>(mix64(seed_ ^ (a << 9 | b)) % 256);
    const std::uint32_t rest = (std::uint32_t{1} << P) - peak_frequency;
    for (unsigned x = 0; x < 256; ++x) {
      std::array<std::uint32_t, eqinfo::kAlphabetSize> f;
      for (std::size_t s = 0, i = 0; s < eqinfo::kAlphabetSize; ++s)
        if (s != x) f[s] = rest / 256 + (i++ < rest % 256 ? 1u : 0u);
      f[x] = peak_frequency;
      tables_[x].set_frequencies(f);
    }
  }

  [[nodiscard]] Context new_context() const { return {}; }
  void reset(Context& ctx) const {
    ctx.prev2 = ctx.prev1 = kNothing;
    ctx.table = &tables_[peak(ctx.prev2, ctx.prev1)];
  }
  [[nodiscard]] const eqinfo::FrequencyTable<P>& predict(Context& ctx) const { return *ctx.table; }
  void advance(Context& ctx, eqinfo::Symbol s) const {
    ctx.prev2 = ctx.prev1;
    ctx.prev1 = s;
    ctx.table = &tables_[peak(ctx.prev2, ctx.prev1)];
  }
  [[nodiscard]] std::uint64_t fingerprint() const {
    return eqinfo::Fnv1a64{}.text("peaked-hash").u64(P).u64(seed_).u64(peak_frequency_).value();
  }

  // The byte made likely after the two given symbols (kNothing = none).
  [[nodiscard]] unsigned peak(unsigned prev2, unsigned prev1) const {
    return peak_[(prev2 == kNothing ? 256 : prev2) * 257 + (prev1 == kNothing ? 256 : prev1)];
  }

  // Follows the peak chain (on the document's own history, which a model
  // only sees in full inside one window) with probability `follow`.
  [[nodiscard]] std::string make_document(std::size_t length, double follow, std::mt19937_64& rng) const {
    std::string d;
    unsigned p2 = kNothing, p1 = kNothing;
    std::uniform_real_distribution<double> u(0, 1);
    for (std::size_t i = 0; i < length; ++i) {
      const unsigned c = u(rng) < follow ? peak(p2, p1) : static_cast<unsigned>(rng() % 256);
      d.push_back(static_cast<char>(c));
      p2 = p1;
      p1 = c;
    }
    return d;
  }

 private:
  std::uint64_t seed_;
  std::uint32_t peak_frequency_;
  std::vector<std::uint8_t> peak_ = std::vector<std::uint8_t>(257 * 257);
  std::vector<eqinfo::FrequencyTable<P>> tables_ = std::vector<eqinfo::FrequencyTable<P>>(256);
};

// ADVERSARIAL model 2: order-1 and always wrong about documents built by
// `successor_document`: after byte x it puts its peak on x + 2 (mod 256)
// while the document continues with x + 1, and at a window start it peaks
// on a byte the document never starts with.  It alternates between two peak
// heights so that the tables differ step to step.  Every real symbol costs
// about P bits: the extreme "unlikely run" case.
template <unsigned P>
class WrongPeakModel {
 public:
  static constexpr unsigned kFrequencyBits = P;
  struct Context {
    std::size_t steps = 0;
    const eqinfo::FrequencyTable<P>* table = nullptr;
  };

  WrongPeakModel() {
    for (int x = 0; x < 256; ++x) {
      std::array<std::uint32_t, eqinfo::kAlphabetSize> f;
      f.fill(1);
      f[(x + 2) % 256] = (std::uint32_t{1} << P) - 256;
      tall_[x].set_frequencies(f);
      // A lower peak: the mass beyond the floor of 1 split 1/2, 1/4, 1/4
      // over the wrong byte, its neighbour and EOS.
      f.fill(1);
      const std::uint32_t rest = (std::uint32_t{1} << P) - 254;
      f[(x + 2) % 256] = rest / 2;
      f[(x + 3) % 256] = rest / 4;
      f[eqinfo::kEos] = rest - rest / 2 - rest / 4;
      short_[x].set_frequencies(f);
    }
  }

  [[nodiscard]] Context new_context() const { return {}; }
  void reset(Context& ctx) const {
    ctx.steps = 0;
    ctx.table = &start_;
  }
  [[nodiscard]] const eqinfo::FrequencyTable<P>& predict(Context& ctx) const { return *ctx.table; }
  void advance(Context& ctx, eqinfo::Symbol s) const {
    ++ctx.steps;
    ctx.table = &(ctx.steps % 2 ? tall_ : short_)[s % 256];
  }
  [[nodiscard]] std::uint64_t fingerprint() const { return eqinfo::Fnv1a64{}.text("wrong-peak").u64(P).value(); }

  // x, x+1, x+2, ... (mod 256), never starting with byte 255 (the start peak).
  static std::string successor_document(std::size_t length, unsigned char first) {
    if (first == 255) first = 0;
    std::string d;
    for (std::size_t i = 0; i < length; ++i) d.push_back(static_cast<char>(static_cast<unsigned char>(first + i)));
    return d;
  }

 private:
  eqinfo::FrequencyTable<P> start_ = peaked_table<P>(255);
  std::array<eqinfo::FrequencyTable<P>, 256> tall_, short_;
};

static_assert(eqinfo::Model<PeakedHashModel<14>>);
static_assert(eqinfo::Model<WrongPeakModel<14>>);

// `safetensors` (the bytes of an M1 file) with its "eqinfo" metadata passed
// through edit(nlohmann::json&) and sealed again (its "eqinfo_sha256"), as
// the exporter would write it, so that the loader's later checks see the
// edit: the header is rewritten, the tensor data (addressed relative to the
// header's end) kept as it is.
template <class F>
std::string with_eqinfo_metadata(const std::string& safetensors, F&& edit) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(safetensors[static_cast<std::size_t>(i)]);
  auto header = nlohmann::json::parse(safetensors.substr(8, n));
  auto metadata = nlohmann::json::parse(header["__metadata__"]["eqinfo"].get<std::string>());
  edit(metadata);
  header["__metadata__"]["eqinfo"] = metadata.dump();
  header["__metadata__"]["eqinfo_sha256"] = eqinfo::sha256_hex(metadata.dump());
  const std::string text = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(text.size() >> (8 * i));
  return out + text + safetensors.substr(8 + n);
}

// `safetensors` (an M1 file) with tensor `name`'s bytes passed through
// edit(std::string&) (keeping their size), its content_hash recomputed and
// the metadata sealed again: the file an exporter of the edited tensors would
// write, so that the loader's checks after the hashes see the edit.
template <class F>
std::string with_tensor_bytes(const std::string& safetensors, const std::string& name, F&& edit) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(safetensors[static_cast<std::size_t>(i)]);
  const auto header = nlohmann::json::parse(safetensors.substr(8, n));
  std::string data = safetensors.substr(8 + n);
  const auto range = [&](const std::string& tensor) {
    const auto& offsets = header.at(tensor).at("data_offsets");
    return std::pair{offsets[0].get<std::size_t>(), offsets[1].get<std::size_t>() - offsets[0].get<std::size_t>()};
  };
  const auto [begin, size] = range(name);
  std::string bytes = data.substr(begin, size);
  edit(bytes);
  REQUIRE(bytes.size() == size);
  data.replace(begin, size, bytes);
  eqinfo::Sha256 content;  // nlohmann's objects iterate in ascending key order, as content_hash needs
  for (const auto& [tensor, entry] : header.items())
    if (tensor != "__metadata__") content.text(std::string_view(data).substr(range(tensor).first, range(tensor).second));
  const std::string hash = content.hex();
  return with_eqinfo_metadata(safetensors.substr(0, 8 + n) + data, [&](auto& m) { m["content_hash"] = hash; });
}

}  // namespace eqinfo_test
