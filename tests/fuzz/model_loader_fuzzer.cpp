// libFuzzer target for the M1 model loader: the input is a whole safetensors
// file, read from memory (scripts/fuzz.sh builds and runs it):
//
//   clang++ -std=c++20 -g -O1 -march=native -fsanitize=fuzzer,address,undefined \
//           -Iinclude tests/fuzz/model_loader_fuzzer.cpp -o build-fuzz/model_loader_fuzzer
//
//   1. SafetensorsFile::from_bytes: it accepts the file or refuses it with a
//      std::runtime_error naming the file ("model 'fuzz-input': ..."); what
//      it accepts has every tensor in 8-byte-aligned storage of exactly
//      elements x dtype-size bytes.
//   2. TransformerModel<16> on it (kSimd): the metadata, every tensor's
//      bounds, then the self-test, which runs the model on the file's inputs.
//      The same refusal rule.  A file refused by the self-test is loaded again
//      with kScalar, which must refuse it with the very same message (the same
//      table hash: SIMD == scalar on arbitrary weights); a file accepted gives
//      the same tables with both kernels on a few inputs.
//
// Anything else (another exception type, an empty message, a sanitizer
// report, a leak) aborts, which libFuzzer reports as a crash.
//
// Seeds: EQINFO_FUZZ_WRITE_SEEDS=DIR build-fuzz/model_loader_fuzzer writes
// tiny valid M1 files (d_model 2 and 4, self-test hashes computed by this
// loader), a valid non-M1 safetensors file and a few structural cases to DIR,
// then exits.
//
// The loader limits the self-test to 64 inputs of 4,096 bytes in all, checked
// before any runs; scripts/fuzz.sh also caps the input at 16 KB.
//
// Every input is tried as given and again sealed (its content_hash and
// eqinfo_sha256 recomputed), so that mutations get past the digests.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/safetensors.hpp"
#include "eqinfo/sha256.hpp"
#include "eqinfo/transformer_model.hpp"

#include "fuzz_seeds.hpp"

namespace {

using namespace eqinfo;
using M1 = TransformerModel<16>;

const std::string kLabel = "fuzz-input";
const std::string kPrefix = "model '" + kLabel + "': ";

[[noreturn]] void fail(const std::string& what, const std::string& detail = {}) {
  std::fprintf(stderr, "model_loader_fuzzer: %s%s%s\n", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

// Runs f; true if it returned, false if it refused as the loaders must (a
// std::runtime_error whose message names the file), with the message in *why.
template <class F>
bool accepted(F&& f, std::string* why = nullptr) {
  try {
    f();
    return true;
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    if (msg.size() <= kPrefix.size() || msg.compare(0, kPrefix.size(), kPrefix) != 0)
      fail("a refusal does not name the file", msg);
    if (why) *why = msg;
    return false;
  } catch (const std::exception& e) {
    fail("refused with an exception that is not a std::runtime_error", e.what());
  }
}

void check_tensors(const SafetensorsFile& file) {
  for (const auto& [name, t] : file.tensors()) {
    if (t.bytes.size() != t.elements() * dtype_size(t.dtype)) fail("tensor '" + name + "' has the wrong byte count");
    if (reinterpret_cast<std::uintptr_t>(t.bytes.data()) % 8 != 0) fail("tensor '" + name + "' is not 8-byte aligned");
    std::uint8_t x = 0;
    for (auto b : t.bytes) x ^= b;  // every byte readable (ASan)
    (void)x;
  }
}

// ---- seeds ----------------------------------------------------------------

struct Tensor {
  std::string name, dtype;
  std::vector<std::size_t> shape;
  std::string bytes;
};

template <class T>
std::string le_bytes(const std::vector<T>& v) {
  std::string out(v.size() * sizeof(T), '\0');
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::string safetensors(const std::vector<Tensor>& tensors, const nlohmann::json& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.is_null()) header["__metadata__"] = metadata;
  std::string data;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  const std::string text = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(text.size() >> (8 * i));
  return out + text + data;
}

// `bytes` with the digests an exporter of its tensors and metadata would
// write (content_hash, then eqinfo_sha256), or nothing when it is no
// safetensors file with an "eqinfo" JSON object. The fuzz body loads the
// input as given and then sealed, so mutations reach the checks behind the
// digests (bounds, self-test) instead of stopping at a hash mismatch.
std::optional<std::string> sealed(std::string_view bytes) {
  std::optional<SafetensorsFile> file;
  try {
    file.emplace(SafetensorsFile::from_bytes(bytes, kLabel));
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  const auto raw = file->metadata().find("eqinfo");
  if (raw == file->metadata().end()) return std::nullopt;
  auto meta = nlohmann::json::parse(raw->second, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return std::nullopt;
  Sha256 content;
  for (const auto& [name, t] : file->tensors()) content.bytes(t.bytes);
  meta["content_hash"] = content.hex();
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  auto header = nlohmann::json::parse(bytes.substr(8, n), nullptr, false);
  if (header.is_discarded() || !header.is_object()) return std::nullopt;
  const std::string text = meta.dump();
  header["__metadata__"]["eqinfo"] = text;
  header["__metadata__"]["eqinfo_sha256"] = sha256_hex(text);
  const std::string h = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(h.size() >> (8 * i));
  return out + h + std::string(bytes.substr(8 + n));
}
std::string sealed(const std::string& bytes) {
  auto out = sealed(std::string_view(bytes));
  if (!out) fail("seed: cannot seal");
  return *out;
}

struct TinyConfig {
  std::size_t d, heads, mlp, layers, buckets, max_distance;
};

std::string tiny_m1(const TinyConfig& c, const std::vector<std::string>& hashes, const std::vector<std::string>& inputs) {
  std::mt19937 rng(static_cast<unsigned>(c.d * 131 + c.layers));
  const auto ints = [&](std::size_t n, int lo, int hi) {
    std::uniform_int_distribution<int> dist(lo, hi);
    std::vector<std::int32_t> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
  };
  std::vector<Tensor> t;
  const auto i32 = [&](const std::string& name, std::vector<std::size_t> shape, const std::vector<std::int32_t>& v) {
    t.push_back({name, "I32", std::move(shape), le_bytes(v)});
  };
  const auto linear = [&](const std::string& name, std::size_t out, std::size_t in) {
    std::vector<std::int8_t> w(out * in);
    for (auto& x : w) x = static_cast<std::int8_t>(std::uniform_int_distribution<int>(-127, 127)(rng));
    t.push_back({name + ".weight", "I8", {out, in}, le_bytes(w)});
    i32(name + ".mult", {out}, ints(out, 1 << 14, 1 << 16));
    i32(name + ".shift", {1}, {22});
  };
  const std::size_t V = 257;
  i32("embed", {V, c.d}, ints(V * c.d, -4096, 4096));
  std::vector<std::int32_t> bucket(c.max_distance + 1);
  for (std::size_t i = 0; i < bucket.size(); ++i) bucket[i] = static_cast<std::int32_t>(std::min(i, c.buckets - 1));
  i32("rel_bucket", {c.max_distance + 1}, bucket);
  std::vector<std::int32_t> lut(1024);
  for (std::size_t f = 0; f < lut.size(); ++f) lut[f] = static_cast<std::int32_t>(std::lround(32768.0 * std::exp2(-double(f) / 1024.0)));
  i32("exp2_lut", {1024}, lut);
  for (std::size_t l = 0; l < c.layers; ++l) {
    const std::string p = "l" + std::to_string(l) + ".";
    for (const char* name : {"q", "k", "v", "o"}) linear(p + name, c.d, c.d);
    linear(p + "w1", c.mlp, c.d);
    linear(p + "w2", c.d, c.mlp);
    i32(p + "score.mult", {1}, {1 << 15});
    i32(p + "score.shift", {1}, {20});
    i32(p + "rel_bias", {c.buckets, c.heads}, ints(c.buckets * c.heads, -2048, 2048));
  }
  linear("out", V, c.d);
  const nlohmann::json eqinfo = {
      {"format", "eqinfo-m1"},
      {"version", 1},
      {"frequency_bits", 16},
      {"architecture",
       {{"d_model", c.d}, {"n_heads", c.heads}, {"n_layers", c.layers}, {"mlp_dim", c.mlp}, {"vocab_size", V},
        {"rel_num_buckets", c.buckets}, {"rel_max_distance", c.max_distance}}},
      {"self_test", {{"frequency_bits", 16}, {"inputs", inputs}, {"table_hashes", hashes}}}};
  return sealed(safetensors(t, {{"eqinfo", eqinfo.dump()}}));
}

// A tiny M1 file whose self-test passes: the hashes are read back from this
// loader's refusals ("tables hash to X"), one input at a time.
std::string valid_tiny_m1(const TinyConfig& c) {
  std::string all_bytes;  // every embedding row must take part in the self-test
  for (int b = 0; b < 256; ++b) all_bytes += "0123456789abcdef"[b >> 4], all_bytes += "0123456789abcdef"[b & 15];
  const std::vector<std::string> inputs = {"", "48656c6c6f2c20776f726c64210a", "00ff7f80e8aa9e0a", all_bytes};
  std::vector<std::string> hashes(inputs.size(), "0000000000000000");
  for (std::size_t attempt = 0; attempt <= inputs.size(); ++attempt) {
    const std::string bytes = tiny_m1(c, hashes, inputs);
    try {
      M1 m(SafetensorsFile::from_bytes(bytes, kLabel));
      return bytes;
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      const auto at = msg.find("on input "), hash = msg.find("tables hash to ");
      if (at == std::string::npos || hash == std::string::npos) fail("seed refused", msg);
      hashes[std::stoul(msg.substr(at + 9))] = msg.substr(hash + 15, 16);
    }
  }
  fail("seed: the self-test hashes do not settle");
}

void write_seeds(const std::string& dir) {
  const auto put = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
  };
  put("m1-d2", valid_tiny_m1({2, 1, 2, 1, 2, 2}));
  put("m1-d4-l2", valid_tiny_m1({4, 2, 8, 2, 4, 8}));
  put("plain", safetensors({{"a", "F32", {2, 2}, std::string(16, '\1')}, {"b", "I64", {1}, std::string(8, '\2')},
                            {"c", "U8", {3}, "xyz"}, {"d", "I16", {0}, ""}},
                           {{"note", "not an M1 file"}}));
  put("empty-header", safetensors({}, nullptr));
  put("metadata-only", safetensors({}, {{"eqinfo", "{\"format\": \"eqinfo-m1\", \"version\": 1}"}}));
  put("short", std::string("\x02\0\0\0\0\0\0\0{}", 10));
}

}  // namespace

EQINFO_FUZZ_SEED_WRITER(write_seeds)

namespace {

void fuzz_one(std::string_view bytes) {
  std::optional<SafetensorsFile> file;
  if (!accepted([&] { file.emplace(SafetensorsFile::from_bytes(bytes, kLabel)); })) return;
  if (file->path() != kLabel) fail("path() is not the label");
  check_tensors(*file);

  std::optional<M1> simd;
  std::string why;
  if (!accepted([&] { simd.emplace(std::move(*file), m1::KernelKind::kSimd); }, &why)) {
    if (why.find("self-test failed") == std::string::npos) return;
    std::string scalar_why;
    if (accepted([&] { M1 m(SafetensorsFile::from_bytes(bytes, kLabel), m1::KernelKind::kScalar); }, &scalar_why))
      fail("the self-test refuses the file with kSimd and accepts it with kScalar", why);
    if (scalar_why != why) fail("kSimd and kScalar refuse the file differently", why + " | " + scalar_why);
    return;
  }
  // Accepted: both kernels give the same tables.
  static const std::vector<std::vector<std::uint8_t>> probes = {{}, {'a', 'b', 'c'}, {0xff, 0x00, '\n', 0x80}};
  for (const auto& probe : probes) {
    simd->set_kernel(m1::KernelKind::kSimd);
    const std::uint64_t a = simd->context_tables_hash(probe);
    simd->set_kernel(m1::KernelKind::kScalar);
    if (simd->context_tables_hash(probe) != a) fail("kSimd and kScalar tables differ on an accepted file");
  }
  return;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fuzz_one(bytes);
  if (const auto resealed = sealed(bytes)) fuzz_one(*resealed);
  return 0;
}
