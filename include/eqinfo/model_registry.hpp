// The model registry: which model a spec string names, and how to load it.
//
//   "uniform"                  UniformModel<P>
//   "static:PATH"              StaticModel<P> (counts JSON, eqinfo-build-static-model)
//   "m1:PATH.safetensors"      TransformerModel<P> (the integer M1)
//
// Each loader is one row: the spec prefix it takes, the precision P its file
// fixes (an M1 export is quantised at one P; the others take any), and how
// to build the model at a compile-time P.  make_tokenizer asks the row once
// for P and once for the model.  A new kind of model is one more loader in
// ModelLoaders.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>

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
        if (!result) throw std::invalid_argument("unknown model '" + std::string(spec) + "' (expected 'uniform', 'static:PATH' or 'm1:PATH')");
        return std::move(*result);
      },
      ModelLoaders{});
}

// The precision a model spec fixes, if it fixes one (an M1 file).
inline std::optional<unsigned> model_frequency_bits(std::string_view spec) {
  return with_model_loader(spec, [&](auto loader) { return decltype(loader)::fixed_frequency_bits(spec); });
}

}  // namespace eqinfo
