// The model registry: which model a spec string names, and how to load it.
//
//   "uniform"                  UniformModel<P>
//   "static:PATH"              StaticModel<P> (counts JSON, eqinfo-build-static-model)
//   "m1:PATH.safetensors"      TransformerModel<P> (the integer M1)
//   "PATH"                     either file, recognised by its content (resolve_model_spec)
//
// Each loader is one row: the spec prefix it takes, the precision P its file
// fixes (an M1 export is quantised at one P; the others take any), and how
// to build the model at a compile-time P.  make_tokenizer asks the row once
// for P and once for the model.  A new kind of model is one more loader in
// ModelLoaders.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>

#include "eqinfo/file_io.hpp"
#include "eqinfo/m1/dot_kernels.hpp"
#include "eqinfo/safetensors.hpp"
#include "eqinfo/static_model.hpp"
#include "eqinfo/transformer_model.hpp"
#include "eqinfo/uniform_model.hpp"

namespace eqinfo {

// What a loader may need besides the path (M1 only, token-neutral).
struct ModelOptions {
  m1::KernelKind kernel = m1::KernelKind::kSimd;
  std::size_t threads = 1;
};

struct UniformModelLoader {
  static constexpr std::string_view kPrefix = "uniform";  // the whole spec, no path
  static constexpr bool kOrderZero = false;                // not the StaticAC model
  static bool accepts(std::string_view spec) { return spec == kPrefix; }
  static std::optional<unsigned> fixed_frequency_bits(std::string_view) { return std::nullopt; }
  template <unsigned P>
  static UniformModel<P> load(std::string_view, const ModelOptions&) {
    return {};
  }
};

struct StaticModelLoader {
  static constexpr std::string_view kPrefix = "static:";
  static constexpr bool kOrderZero = true;
  static bool accepts(std::string_view spec) { return spec.starts_with(kPrefix); }
  static std::optional<unsigned> fixed_frequency_bits(std::string_view) { return std::nullopt; }
  template <unsigned P>
  static StaticModel<P> load(std::string_view spec, const ModelOptions&) {
    return StaticModel<P>::load(std::string(spec.substr(kPrefix.size())));
  }
};

struct M1ModelLoader {
  static constexpr std::string_view kPrefix = "m1:";
  static constexpr bool kOrderZero = false;
  static bool accepts(std::string_view spec) { return spec.starts_with(kPrefix); }
  // The precision the file's tables were exported at, from its metadata. It
  // reads the whole file (SafetensorsFile copies it), and load() reads it
  // again: a header-only read would halve that I/O (noted on issue 11).
  static std::optional<unsigned> fixed_frequency_bits(std::string_view spec) {
    const SafetensorsFile file{std::string(spec.substr(kPrefix.size()))};
    return m1::frequency_bits_field(file, m1::eqinfo_metadata(file));
  }
  template <unsigned P>
  static TransformerModel<P> load(std::string_view spec, const ModelOptions& options) {
    return TransformerModel<P>(std::string(spec.substr(kPrefix.size())), options.kernel, options.threads);
  }
};

using ModelLoaders = std::tuple<UniformModelLoader, StaticModelLoader, M1ModelLoader>;

// Calls fn(Loader{}) with the loader that accepts `spec` and returns its
// result; std::invalid_argument naming the known kinds if none does.
template <class F>
auto with_model_loader(std::string_view spec, F&& fn) {
  using R = decltype(fn(std::get<0>(ModelLoaders{})));
  return std::apply(
      [&](auto... loaders) -> R {
        std::optional<R> result;
        ((!result && decltype(loaders)::accepts(spec) ? (result.emplace(fn(loaders)), true) : false) || ...);
        if (!result) throw std::invalid_argument("unknown model '" + std::string(spec) + "' (expected 'uniform', a model file, 'static:PATH' or 'm1:PATH')");
        return std::move(*result);
      },
      ModelLoaders{});
}

// A model spec with its kind made explicit: "uniform" and prefixed specs as they are; a bare
// path by what the file holds, so `--model models/m1-3m.safetensors` and `--model counts.json`
// need no prefix. The first bytes decide: a safetensors file starts with its header length (8
// bytes, little-endian) and then '{'; a static model is JSON, '{' after optional whitespace. The
// prefixes stay as overrides (a file is then loaded, and refused, as that kind).
inline std::string resolve_model_spec(std::string_view spec) {
  bool prefixed = false;
  std::apply([&](auto... loaders) { prefixed = (decltype(loaders)::accepts(spec) || ...); }, ModelLoaders{});
  if (prefixed) return std::string(spec);
  const std::string path(spec);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw std::invalid_argument("unknown model '" + path +
                                "': no such file (expected 'uniform', a model file, 'static:PATH' or 'm1:PATH')");
  const FileDescriptor fd = open_regular_file(path, "model '" + path + "'");
  std::array<unsigned char, 64> head{};
  std::size_t got = 0;
  while (got < head.size()) {
    const ssize_t r = ::read(fd.get(), head.data() + got, head.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw file_errno_error("model '" + path + "'", "cannot read", errno);
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  if (got > 8 && head[8] == '{') {
    std::uint64_t header_length = 0;
    for (int i = 7; i >= 0; --i) header_length = header_length << 8 | head[static_cast<std::size_t>(i)];
    if (header_length >= 2) return std::string(M1ModelLoader::kPrefix) + path;
  }
  for (std::size_t i = 0; i < got; ++i) {
    if (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r') continue;
    if (head[i] == '{') return std::string(StaticModelLoader::kPrefix) + path;
    break;
  }
  throw std::invalid_argument("model '" + path + "' is neither an M1 safetensors export nor a static model JSON file (" +
                              (got == 0 ? std::string("it is empty") : std::string("its first bytes are neither")) +
                              "); use 'uniform', or m1:PATH / static:PATH to force a kind");
}

// The precision a model spec fixes, if it fixes one (an M1 file).
inline std::optional<unsigned> model_frequency_bits(std::string_view spec) {
  return with_model_loader(spec, [&](auto loader) { return decltype(loader)::fixed_frequency_bits(spec); });
}

}  // namespace eqinfo
