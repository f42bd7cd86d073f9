// Run-time choice of tokenizer, for tools and bindings that take the method,
// b, N, model and precision as settings rather than template arguments.
//
//   auto tok = eqinfo::make_tokenizer({.method = Method::kEqualInfo,
//                                      .window_bits = 16, .token_bits = 16,
//                                      .model = "static:counts.json"});
//   auto tokens = tok->encode(text);
//   auto back = tok->decode(tokens);
//
// Every combination is one of the compile-time tokenizers underneath; the
// model comes from the model registry (model_registry.hpp).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "eqinfo/any_tokenizer.hpp"
#include "eqinfo/bytes_tokenizer.hpp"
#include "eqinfo/equal_info_window.hpp"
#include "eqinfo/gzip_tokenizer.hpp"
#include "eqinfo/method.hpp"
#include "eqinfo/model_registry.hpp"
#include "eqinfo/token_file.hpp"
#include "eqinfo/tokenizer.hpp"

namespace eqinfo {

// Window sizes and precisions compiled in.  P <= b is the precision
// constraint of the termination proof; combinations that break it are
// rejected with an explanation.
inline constexpr std::array<unsigned, 7> kSupportedWindowBits{12, 16, 24, 32, 48, 64, 128};
inline constexpr std::array<unsigned, 3> kSupportedFrequencyBits{12, 14, 16};
inline constexpr unsigned kDefaultFrequencyBits = 14;  // the paper's P (a model that fixes none)

struct TokenizerSpec {
  Method method = Method::kEqualInfo;
  unsigned window_bits = 16;        // b (equalinfo only)
  unsigned token_bits = 16;         // N (not bytes)
  std::string model = "uniform";    // a model registry spec: "uniform" | "static:PATH" | "m1:PATH.safetensors"
  // P; unset: the model's own (an M1 file fixes one), else kDefaultFrequencyBits.
  std::optional<unsigned> frequency_bits;
  std::size_t decode_batch = 64;
  m1::KernelKind kernel = m1::KernelKind::kSimd;  // M1 only: same tokens either way
  std::size_t threads = 1;                         // M1 worker threads: same tokens either way
};

namespace detail {

template <class F, std::size_t... I>
auto dispatch_index(std::size_t index, F&& f, std::index_sequence<I...>) {
  using R = decltype(f(std::integral_constant<std::size_t, 0>{}));
  R result{};
  ((index == I ? (result = f(std::integral_constant<std::size_t, I>{}), true) : false) || ...);
  return result;
}

template <std::size_t N>
std::size_t index_of(const std::array<unsigned, N>& values, unsigned v, const char* what) {
  for (std::size_t i = 0; i < N; ++i)
    if (values[i] == v) return i;
  std::string list;
  for (auto x : values) list += (list.empty() ? "" : ", ") + std::to_string(x);
  throw std::invalid_argument(std::string(what) + " " + std::to_string(v) + " is not supported (choose from " + list + ")");
}

// The tokenizer of spec.method over `model` (AC/StaticAC: NoWindows;
// Equal-Info: windows of spec.window_bits).
template <unsigned P, Model M>
std::unique_ptr<AnyTokenizer> model_tokenizer(M model, const TokenizerSpec& spec, TokenFileHeader header) {
  header.fingerprint = model.fingerprint();
  if (spec.method != Method::kEqualInfo)
    return make_any_tokenizer(ChunkedTokenizer<NoWindowsSegmenter<M>, M>(std::move(model), spec.token_bits, spec.decode_batch), header);
  const std::size_t b_index = index_of(kSupportedWindowBits, spec.window_bits, "window bits (b)");
  return dispatch_index(b_index, [&](auto i) -> std::unique_ptr<AnyTokenizer> {
    constexpr unsigned B = kSupportedWindowBits[decltype(i)::value];
    if constexpr (!kWindowFitsEverySymbol<B, P>) {
      throw std::invalid_argument("a " + std::to_string(B) + "-bit window cannot hold every symbol at " + std::to_string(P) +
                                  "-bit precision: a symbol of probability 2^-P needs P bits, so Equal-Info needs "
                                  "frequency bits (P) <= window bits (b); lower P or raise b");
    } else {
      return make_any_tokenizer(ChunkedTokenizer<EqualInfoSegmenter<M, B>, M>(model, spec.token_bits, spec.decode_batch), header);
    }
  }, std::make_index_sequence<kSupportedWindowBits.size()>{});
}

// AC, StaticAC and Equal-Info: the registry's loader for spec.model fixes or
// takes P, then builds the model at that P.
inline std::unique_ptr<AnyTokenizer> make_model_tokenizer(const TokenizerSpec& spec, TokenFileHeader header) {
  return with_model_loader(spec.model, [&](auto loader) -> std::unique_ptr<AnyTokenizer> {
    using Loader = decltype(loader);
    if (spec.method == Method::kStaticAc && !Loader::kOrderZero) throw std::invalid_argument("staticac needs an order-0 model (a static model JSON file, from eqinfo-build-static-model)");
    const auto fixed = Loader::fixed_frequency_bits(spec.model);
    if (fixed && spec.frequency_bits && *fixed != *spec.frequency_bits)
      throw std::invalid_argument("the M1 file's tables are " + std::to_string(*fixed) + "-bit: use frequency bits " +
                                  std::to_string(*fixed));
    const unsigned p = spec.frequency_bits.value_or(fixed.value_or(kDefaultFrequencyBits));
    header.frequency_bits = static_cast<std::uint8_t>(p);
    const std::size_t p_index = index_of(kSupportedFrequencyBits, p, "frequency bits (P)");
    return dispatch_index(p_index, [&](auto i) {
      constexpr unsigned P = kSupportedFrequencyBits[decltype(i)::value];
      return model_tokenizer<P>(Loader::template load<P>(spec.model, ModelOptions{spec.kernel, spec.threads}), spec, header);
    }, std::make_index_sequence<kSupportedFrequencyBits.size()>{});
  });
}

}  // namespace detail

// Builds the tokenizer a spec describes; throws std::invalid_argument (bad
// settings) or std::runtime_error (unreadable model) with the reason.
inline std::unique_ptr<AnyTokenizer> make_tokenizer(TokenizerSpec spec) {
  if (uses_model(spec.method)) spec.model = resolve_model_spec(spec.model);
  TokenFileHeader header;
  header.method = static_cast<std::uint8_t>(spec.method);
  switch (spec.method) {
    case Method::kBytes:
      header.token_bits = 8;
      return make_any_tokenizer(BytesTokenizer{}, header);
    case Method::kGzip:
    case Method::kGzipRaw:
      check_token_bits(spec.token_bits);
      header.token_bits = static_cast<std::uint8_t>(spec.token_bits);
      return make_any_tokenizer(GzipTokenizer(spec.token_bits, spec.method == Method::kGzip ? GzipFraming::kGzip : GzipFraming::kRaw),
                                header);
    case Method::kAc:
    case Method::kStaticAc:
    case Method::kEqualInfo:
      check_token_bits(spec.token_bits);
      header.token_bits = static_cast<std::uint8_t>(spec.token_bits);
      if (spec.method == Method::kEqualInfo) header.window_bits = static_cast<std::uint16_t>(spec.window_bits);
      return detail::make_model_tokenizer(spec, header);
  }
  throw std::invalid_argument("unknown method");
}

}  // namespace eqinfo
