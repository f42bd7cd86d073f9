// The integer M1 as stored in its safetensors file (docs/integer_m1.md):
// configuration from the "eqinfo" metadata, tensors as views into the file's
// in-memory copy (SafetensorsFile), everything validated at load.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "eqinfo/m1/integer_ops.hpp"
#include "eqinfo/safetensors.hpp"
#include "eqinfo/sha256.hpp"

namespace eqinfo::m1 {

struct TransformerConfig {
  std::size_t d_model = 0, n_heads = 0, n_layers = 0, mlp_dim = 0, vocab_size = 257;
  std::size_t rel_num_buckets = 32, rel_max_distance = 128;
  std::size_t attention_window = 0;  // W of format v2 (docs/integer_m1.md, "Attention span"); 0 in v1: unbounded
  unsigned format_version = 1;
  unsigned frequency_bits = 0;
  [[nodiscard]] std::size_t head_dim() const { return d_model / n_heads; }
};

// A quantised linear layer: int8 rows W[out][in] and the requantisation of
// their int32 accumulators (per-row multiplier, shared shift).
struct QuantizedLinear {
  std::span<const std::int8_t> weight;
  std::span<const std::int32_t> mult;
  int shift = 0;
  std::size_t out = 0, in = 0;
};

struct TransformerLayer {
  QuantizedLinear q, k, v, o, w1, w2;
  std::int32_t score_mult = 0;
  int score_shift = 0;
  std::span<const std::int32_t> rel_bias;  // [num_buckets][H]
};

// How to give a file exported before a check existed what it lacks.
inline constexpr const char* kResealHint = "re-seal it: python -m eqinfo.m1.export --reseal PATH";

// The "eqinfo" metadata of an M1 file as a JSON object, after checking it
// against its SHA-256 ("eqinfo_sha256", a safetensors metadata key of its
// own): a damaged byte anywhere in it, informational fields included, is
// refused rather than read (docs/integer_m1.md, "File").
inline nlohmann::json eqinfo_metadata(const SafetensorsFile& file) {
  const auto it = file.metadata().find("eqinfo");
  if (it == file.metadata().end()) throw file.error("no 'eqinfo' metadata: not an eqinfo M1 export");
  const auto digest = file.metadata().find("eqinfo_sha256");
  if (digest == file.metadata().end()) throw file.error(std::string("lacks 'eqinfo_sha256' (exported before it was checked): ") + kResealHint);
  if (sha256_hex(it->second) != digest->second)
    throw file.error("'eqinfo' metadata does not match its eqinfo_sha256: the file is damaged");
  auto metadata = nlohmann::json::parse(it->second, nullptr, false);
  if (metadata.is_discarded() || !metadata.is_object()) throw file.error("'eqinfo' metadata is not a JSON object");
  return metadata;
}

// Field `key` of `object` (called `where` in errors) as an integer in
// [0, max].  Anything else is refused, naming the file: a float, a string, a
// negative number, or a number too large (nlohmann's get<unsigned> would cut
// 2^32 + 16 to 16).
inline std::uint64_t unsigned_field(const SafetensorsFile& file, const nlohmann::json& object, const std::string& key,
                                    const std::string& where, std::uint64_t max) {
  const auto it = object.find(key);
  if (it == object.end()) throw file.error(where + " lacks '" + key + "'");
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() > max)
    throw file.error(where + " '" + key + "' must be an integer in [0, " + std::to_string(max) + "], not " + it->dump());
  return it->get<std::uint64_t>();
}

// The precision P of the file's tables (metadata "frequency_bits"); P <= 16
// is the FrequencyTable bound, which values make_tokenizer supports it says.
inline unsigned frequency_bits_field(const SafetensorsFile& file, const nlohmann::json& metadata) {
  return static_cast<unsigned>(unsigned_field(file, metadata, "frequency_bits", "metadata", 16));
}

struct TransformerWeights {
  TransformerConfig config;
  std::span<const std::int32_t> embed;       // [V][d] Q.10
  std::span<const std::int32_t> rel_bucket;  // [max_distance + 1]
  std::span<const std::int32_t> exp2_lut;    // [1024]
  std::vector<TransformerLayer> layers;
  QuantizedLinear out;
  nlohmann::json metadata;  // the parsed "eqinfo" metadata

  // Binds and validates every tensor of `file` (which must outlive this).
  explicit TransformerWeights(const SafetensorsFile& file) {
    metadata = eqinfo_metadata(file);
    if (!metadata.contains("format") || metadata["format"] != "eqinfo-m1") throw file.error("format is not 'eqinfo-m1'");
    if (!metadata.contains("version") || (metadata["version"] != 1 && metadata["version"] != 2))
      throw file.error("unsupported M1 format version (expected 1 or 2)");
    const auto& arch = metadata["architecture"];
    if (!arch.is_object()) throw file.error("metadata lacks 'architecture'");
    config.format_version = metadata["version"] == 2 ? 2 : 1;
    // Version 1 attends to every position, version 2 to a span of W: a file
    // is never read with the other's meaning.
    if (config.format_version == 1 && arch.contains("attention_window"))
      throw file.error("a version-1 file has no attention_window (the span is format version 2)");
    if (config.format_version == 2) {
      config.attention_window = static_cast<std::size_t>(unsigned_field(file, arch, "attention_window", "architecture", 65536));
      if (config.attention_window < 2) throw file.error("architecture 'attention_window' must be in [2, 65536]");
    }
    // Bounds far above any valid size: they only keep a huge value from
    // wrapping below; the exact limits are checked next.
    const auto size_field = [&](const char* key) {
      return static_cast<std::size_t>(unsigned_field(file, arch, key, "architecture", std::uint64_t{1} << 32));
    };
    auto& c = config;
    c.d_model = size_field("d_model");
    c.n_heads = size_field("n_heads");
    c.n_layers = size_field("n_layers");
    c.mlp_dim = size_field("mlp_dim");
    c.vocab_size = size_field("vocab_size");
    c.rel_num_buckets = size_field("rel_num_buckets");
    c.rel_max_distance = size_field("rel_max_distance");
    c.frequency_bits = frequency_bits_field(file, metadata);
    // The integer bounds of docs/integer_m1.md hold for these sizes only.
    if (c.vocab_size != 257) throw file.error("vocab_size must be 257");
    if (c.n_heads == 0 || c.d_model == 0 || c.d_model % c.n_heads != 0) throw file.error("d_model must be a multiple of n_heads");
    if (c.d_model > 256) throw file.error("d_model > 256 breaks the RMSNorm bound (sum of squares in int64)");
    if (c.mlp_dim == 0 || c.mlp_dim > 1024) throw file.error("mlp_dim must be in [1, 1024] (int32 accumulator bound)");
    if (c.n_layers == 0 || c.n_layers > 64) throw file.error("n_layers must be in [1, 64]");
    if (c.rel_num_buckets == 0 || c.rel_max_distance == 0 || c.rel_max_distance > 65536) throw file.error("bad relative-bias sizes");

    if (c.head_dim() > kMaxHeadDim) throw file.error("head size d_model / n_heads > 128 breaks the q.k bound (h A^2 < 2^31)");
    verify_content_hash(file, metadata);

    const std::size_t d = c.d_model, F = c.mlp_dim, V = c.vocab_size, H = c.n_heads;
    embed = file.tensor("embed", TensorDType::kI32, {V, d}).as<std::int32_t>();
    rel_bucket = file.tensor("rel_bucket", TensorDType::kI32, {c.rel_max_distance + 1}).as<std::int32_t>();
    exp2_lut = file.tensor("exp2_lut", TensorDType::kI32, {1024}).as<std::int32_t>();
    for (auto e : embed)
      if (e < -kResidualClamp || e > kResidualClamp) throw file.error("embed exceeds the residual clamp");
    for (auto b : rel_bucket)
      if (b < 0 || static_cast<std::size_t>(b) >= c.rel_num_buckets) throw file.error("rel_bucket entry out of range");
    // exp2_lut must be round(2^15 2^(-f/1024)): check its shape of values with
    // integers (the self-test checks the exact entries through the tables).
    if (exp2_lut[0] != 32768 || exp2_lut[1023] < 16384) throw file.error("exp2_lut is not 2^15 * 2^(-f/1024)");
    for (std::size_t f = 1; f < 1024; ++f)
      if (exp2_lut[f] > exp2_lut[f - 1]) throw file.error("exp2_lut is not decreasing");

    const auto linear = [&](const std::string& name, std::size_t out, std::size_t in) {
      QuantizedLinear l;
      l.weight = file.tensor(name + ".weight", TensorDType::kI8, {out, in}).as<std::int8_t>();
      l.mult = file.tensor(name + ".mult", TensorDType::kI32, {out}).as<std::int32_t>();
      l.shift = file.tensor(name + ".shift", TensorDType::kI32, {1}).as<std::int32_t>()[0];
      l.out = out;
      l.in = in;
      for (auto w : l.weight)
        if (w == -128) throw file.error(name + ".weight holds -128 (weights must be in [-127, 127])");
      for (auto m : l.mult)
        if (m < 0) throw file.error(name + ".mult holds a negative multiplier");
      if (l.shift < 1 || l.shift > 62) throw file.error(name + ".shift out of [1, 62]");
      return l;
    };
    for (std::size_t i = 0; i < c.n_layers; ++i) {
      const std::string p = "l" + std::to_string(i) + ".";
      TransformerLayer layer;
      layer.q = linear(p + "q", d, d);
      layer.k = linear(p + "k", d, d);
      layer.v = linear(p + "v", d, d);
      layer.o = linear(p + "o", d, d);
      layer.w1 = linear(p + "w1", F, d);
      layer.w2 = linear(p + "w2", d, F);
      layer.score_mult = file.tensor(p + "score.mult", TensorDType::kI32, {1}).as<std::int32_t>()[0];
      layer.score_shift = file.tensor(p + "score.shift", TensorDType::kI32, {1}).as<std::int32_t>()[0];
      if (layer.score_mult < 0 || layer.score_shift < 1 || layer.score_shift > 62) throw file.error(p + "score requantisation out of range");
      layer.rel_bias = file.tensor(p + "rel_bias", TensorDType::kI32, {c.rel_num_buckets, H}).as<std::int32_t>();
      layers.push_back(layer);
    }
    out = linear("out", V, d);
    check_bounds(file);
  }

  // The largest head size h for which a q.k dot product of h terms, each at
  // most A^2, fits int32: 128 A^2 < 2^31 <= 129 A^2.
  static constexpr std::size_t kMaxHeadDim = 128;

 private:
  // "content_hash": SHA-256 of every tensor's bytes, tensors in ascending
  // byte order of their names (the order of file.tensors()). Checked before
  // any value is read, so a flipped bit is named for what it is.
  static void verify_content_hash(const SafetensorsFile& file, const nlohmann::json& metadata) {
    const auto stored = metadata.find("content_hash");
    if (stored == metadata.end() || !stored->is_string()) throw file.error("metadata lacks 'content_hash'");
    Sha256 h;
    for (const auto& [name, tensor] : file.tensors()) h.bytes(tensor.bytes);
    const std::string actual = h.hex();
    if (actual != stored->get<std::string>())
      throw file.error("tensors hash to " + actual + ", the file's content_hash is " + stored->dump() + ": the file is damaged");
  }

  // The bounds of docs/integer_m1.md that let the kernel use int32 where the
  // spec says int32 (integer_model.check_bounds in the reference): the
  // exporter guarantees them, and a file that breaks them would overflow, so
  // the loader re-checks them instead of trusting the file. With every
  // accumulator |acc_j| <= A sum_i |W[j, i]|:
  // |score requant| + max |rel_bias| <= 2^30 - 1, |logit| <= 2^30 - 1, and
  // |residual update| + R < 2^31.
  void check_bounds(const SafetensorsFile& file) const {
    constexpr std::int64_t kHalfRange = (std::int64_t{1} << 30) - 1, kInt32Range = std::int64_t{1} << 31;
    // Largest |requant(acc, M, s)| over |acc| <= acc_bound (rounding adds at most 1);
    // acc_bound < 2^31 and M < 2^31, so the product fits int64.
    const auto requant_bound = [](std::int64_t acc_bound, std::int64_t mult, int shift) { return ((acc_bound * mult) >> shift) + 1; };
    const auto output_bound = [&](const QuantizedLinear& l) {
      std::int64_t worst = 0;
      for (std::size_t j = 0; j < l.out; ++j) {
        std::int64_t abs_sum = 0;
        for (std::size_t i = 0; i < l.in; ++i) abs_sum += std::abs(std::int64_t{l.weight[j * l.in + i]});
        worst = std::max(worst, requant_bound(kActivationClamp * abs_sum, l.mult[j], l.shift));
      }
      return worst;
    };
    const std::int64_t dot_bound = static_cast<std::int64_t>(config.head_dim()) * kActivationClamp * kActivationClamp;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      std::int64_t bias = 0;
      for (auto b : l.rel_bias) bias = std::max(bias, std::abs(std::int64_t{b}));
      if (requant_bound(dot_bound, l.score_mult, l.score_shift) + bias > kHalfRange)
        throw file.error("layer " + std::to_string(i) + ": attention scores may exceed 2^30 (docs/integer_m1.md bounds)");
      if (output_bound(l.o) + kResidualClamp >= kInt32Range || output_bound(l.w2) + kResidualClamp >= kInt32Range)
        throw file.error("layer " + std::to_string(i) + ": a residual update may overflow int32 (docs/integer_m1.md bounds)");
    }
    if (output_bound(out) > kHalfRange) throw file.error("logits may exceed 2^30 (docs/integer_m1.md bounds)");
  }
};

}  // namespace eqinfo::m1
