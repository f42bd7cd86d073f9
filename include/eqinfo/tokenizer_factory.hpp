// Run-time choice of tokenizer, for tools and bindings that take the method,
// b, N, model and precision as settings rather than template arguments.
//
//   auto tok = eqinfo::make_tokenizer({.method = Method::kEqualInfo,
//                                      .window_bits = 16, .token_bits = 16,
//                                      .model = "static:counts.json"});
//   auto tokens = tok->encode(text);
//   auto back = tok->decode(tokens);
//
// Every combination is one of the compile-time tokenizers underneath.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "eqinfo/bytes_tokenizer.hpp"
#include "eqinfo/gzip_tokenizer.hpp"
#include "eqinfo/token_file.hpp"
#include "eqinfo/tokenizer.hpp"
#include "eqinfo/transformer_model.hpp"

namespace eqinfo {

enum class Method : std::uint8_t { kBytes = 1, kGzip = 2, kGzipRaw = 3, kAc = 4, kStaticAc = 5, kEqualInfo = 6 };

inline constexpr std::array<std::pair<Method, std::string_view>, 6> kMethodNames{{
    {Method::kBytes, "bytes"},
    {Method::kGzip, "gzip"},
    {Method::kGzipRaw, "gzip-raw"},
    {Method::kAc, "ac"},
    {Method::kStaticAc, "staticac"},
    {Method::kEqualInfo, "equalinfo"},
}};

inline std::optional<Method> parse_method(std::string_view name) {
  for (auto [m, n] : kMethodNames)
    if (n == name) return m;
  return std::nullopt;
}
inline std::string_view method_name(Method method) {
  for (auto [m, n] : kMethodNames)
    if (m == method) return n;
  return "unknown";
}

// Window sizes and precisions compiled in.  P <= b is the precision
// constraint of the termination proof; combinations that break it are
// rejected with an explanation.
inline constexpr std::array<unsigned, 7> kSupportedWindowBits{12, 16, 24, 32, 48, 64, 128};
inline constexpr std::array<unsigned, 3> kSupportedFrequencyBits{12, 14, 16};

struct TokenizerSpec {
  Method method = Method::kEqualInfo;
  unsigned window_bits = 16;        // b (equalinfo only)
  unsigned token_bits = 16;         // N (not bytes)
  std::string model = "uniform";    // "uniform" | "static:PATH" | "m1:PATH.safetensors" (ac, staticac, equalinfo)
  unsigned frequency_bits = 14;     // P (an M1 file fixes its own; see model_frequency_bits)
  std::size_t decode_batch = 64;
  m1::KernelKind kernel = m1::KernelKind::kSimd;  // M1 only: same tokens either way
  std::size_t threads = 1;                         // M1 only: same tokens either way
};

// The precision a model spec fixes, if it fixes one: an M1 file's tables are
// exported at one P.  Reads only the file's metadata.
inline std::optional<unsigned> model_frequency_bits(const std::string& model) {
  if (!model.starts_with("m1:")) return std::nullopt;
  const SafetensorsFile file(model.substr(3));
  const auto it = file.metadata().find("eqinfo");
  if (it == file.metadata().end()) throw file.error("no 'eqinfo' metadata: not an eqinfo M1 export");
  const auto meta = nlohmann::json::parse(it->second, nullptr, false);
  if (meta.is_discarded() || !meta.contains("frequency_bits") || !meta["frequency_bits"].is_number_unsigned())
    throw file.error("metadata lacks 'frequency_bits'");
  return meta["frequency_bits"].get<unsigned>();
}

class AnyTokenizer {
 public:
  virtual ~AnyTokenizer() = default;
  virtual std::vector<Token> encode_documents(std::span<const std::string_view> documents,
                                              WindowStats* stats = nullptr) const = 0;
  virtual DecodeResult decode(std::span<const Token> tokens) const = 0;
  // The header a token file written by this tokenizer carries.
  [[nodiscard]] virtual TokenFileHeader header() const = 0;

  std::vector<Token> encode(std::string_view document, WindowStats* stats = nullptr) const {
    return encode_documents(std::span<const std::string_view>(&document, 1), stats);
  }
  // Each document's tokens on their own: element i == encode(documents[i]).
  // Equal-Info with M1 computes them in lockstep (one model call for the
  // current windows of many documents).
  virtual std::vector<std::vector<Token>> encode_each(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    std::vector<std::vector<Token>> tokens(documents.size());
    for (std::size_t i = 0; i < documents.size(); ++i) tokens[i] = encode(documents[i], stats);
    return tokens;
  }
  [[nodiscard]] std::size_t vocabulary_size() const {
    const auto h = header();
    return static_cast<Method>(h.method) == Method::kBytes ? BytesTokenizer::kVocabularySize : std::size_t{1} << h.token_bits;
  }
  // Why a token file's header does not fit this tokenizer, or "" if it does.
  [[nodiscard]] std::string mismatch(const TokenFileHeader& file) const {
    const auto mine = header();
    const auto field = [](const char* name, auto file_value, auto my_value) {
      return std::string(name) + " is " + std::to_string(file_value) + " in the file but " + std::to_string(my_value) + " here";
    };
    if (file.method != mine.method)
      return "method is '" + std::string(method_name(static_cast<Method>(file.method))) + "' in the file but '" +
             std::string(method_name(static_cast<Method>(mine.method))) + "' here";
    if (file.token_bits != mine.token_bits) return field("token bits (N)", file.token_bits, mine.token_bits);
    if (file.window_bits != mine.window_bits) return field("window bits (b)", file.window_bits, mine.window_bits);
    if (file.frequency_bits != mine.frequency_bits) return field("frequency bits (P)", file.frequency_bits, mine.frequency_bits);
    if (file.fingerprint != mine.fingerprint) return "the model differs (fingerprint mismatch): decode with the model used to encode";
    return "";
  }
};

namespace detail {

template <class Tok>
class AnyTokenizerOf final : public AnyTokenizer {
 public:
  AnyTokenizerOf(Tok tokenizer, TokenFileHeader header) : tokenizer_(std::move(tokenizer)), header_(header) {}
  std::vector<Token> encode_documents(std::span<const std::string_view> documents, WindowStats* stats) const override {
    if constexpr (requires { tokenizer_.encode_documents(documents, stats); })
      return tokenizer_.encode_documents(documents, stats);
    else
      return tokenizer_.encode_documents(documents);
  }
  std::vector<std::vector<Token>> encode_each(std::span<const std::string_view> documents, WindowStats* stats) const override {
    if constexpr (requires { tokenizer_.encode_each(documents, stats); })
      return tokenizer_.encode_each(documents, stats);
    else
      return AnyTokenizer::encode_each(documents, stats);
  }
  DecodeResult decode(std::span<const Token> tokens) const override { return tokenizer_.decode(tokens); }
  TokenFileHeader header() const override { return header_; }

 private:
  Tok tokenizer_;
  TokenFileHeader header_;
};

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

template <unsigned P>
std::unique_ptr<AnyTokenizer> make_model_tokenizer(const TokenizerSpec& spec, TokenFileHeader header) {
  const auto build = [&](auto model) -> std::unique_ptr<AnyTokenizer> {
    using M = std::remove_cvref_t<decltype(model)>;
    header.fingerprint = model.fingerprint();
    if (spec.method != Method::kEqualInfo)
      return std::make_unique<AnyTokenizerOf<ChunkedTokenizer<NoWindowsSegmenter<M>, M>>>(
          ChunkedTokenizer<NoWindowsSegmenter<M>, M>(std::move(model), spec.token_bits, spec.decode_batch), header);
    const std::size_t b_index = index_of(kSupportedWindowBits, spec.window_bits, "window bits (b)");
    return dispatch_index(b_index, [&](auto i) -> std::unique_ptr<AnyTokenizer> {
      constexpr unsigned B = kSupportedWindowBits[decltype(i)::value];
      if constexpr (!kWindowFitsEverySymbol<B, P>) {
        throw std::invalid_argument("a " + std::to_string(B) + "-bit window cannot hold every symbol at " + std::to_string(P) +
                                    "-bit precision: a symbol of probability 2^-P needs P bits, so Equal-Info needs "
                                    "frequency bits (P) <= window bits (b); lower P or raise b");
      } else {
        using Impl = ChunkedTokenizer<EqualInfoSegmenter<M, B>, M>;
        return std::make_unique<AnyTokenizerOf<Impl>>(Impl(model, spec.token_bits, spec.decode_batch), header);
      }
    }, std::make_index_sequence<kSupportedWindowBits.size()>{});
  };
  if (spec.model == "uniform") {
    if (spec.method == Method::kStaticAc) throw std::invalid_argument("staticac needs --model static:PATH");
    return build(UniformModel<P>{});
  }
  if (spec.model.starts_with("static:")) return build(StaticModel<P>::load(spec.model.substr(7)));
  if (spec.model.starts_with("m1:")) {
    if (spec.method == Method::kStaticAc) throw std::invalid_argument("staticac needs --model static:PATH");
    if (const auto file_p = model_frequency_bits(spec.model); file_p != P)
      throw std::invalid_argument("the M1 file's tables are " + std::to_string(*file_p) + "-bit: use frequency bits " +
                                  std::to_string(*file_p));
    return build(TransformerModel<P>(spec.model.substr(3), spec.kernel, spec.threads));
  }
  throw std::invalid_argument("unknown model '" + spec.model + "' (expected 'uniform', 'static:PATH' or 'm1:PATH')");
}

}  // namespace detail

// Builds the tokenizer a spec describes; throws std::invalid_argument (bad
// settings) or std::runtime_error (unreadable model) with the reason.
inline std::unique_ptr<AnyTokenizer> make_tokenizer(const TokenizerSpec& spec) {
  TokenFileHeader header;
  header.method = static_cast<std::uint8_t>(spec.method);
  switch (spec.method) {
    case Method::kBytes:
      header.token_bits = 8;
      return std::make_unique<detail::AnyTokenizerOf<BytesTokenizer>>(BytesTokenizer{}, header);
    case Method::kGzip:
    case Method::kGzipRaw:
      check_token_bits(spec.token_bits);
      header.token_bits = static_cast<std::uint8_t>(spec.token_bits);
      return std::make_unique<detail::AnyTokenizerOf<GzipTokenizer>>(
          GzipTokenizer(spec.token_bits, spec.method == Method::kGzip ? GzipTokenizer::Framing::kGzip : GzipTokenizer::Framing::kRaw),
          header);
    case Method::kAc:
    case Method::kStaticAc:
    case Method::kEqualInfo: {
      check_token_bits(spec.token_bits);
      header.token_bits = static_cast<std::uint8_t>(spec.token_bits);
      header.frequency_bits = static_cast<std::uint8_t>(spec.frequency_bits);
      if (spec.method == Method::kEqualInfo) header.window_bits = static_cast<std::uint16_t>(spec.window_bits);
      const std::size_t p_index = detail::index_of(kSupportedFrequencyBits, spec.frequency_bits, "frequency bits (P)");
      return detail::dispatch_index(p_index, [&](auto i) {
        return detail::make_model_tokenizer<kSupportedFrequencyBits[decltype(i)::value]>(spec, header);
      }, std::make_index_sequence<kSupportedFrequencyBits.size()>{});
    }
  }
  throw std::invalid_argument("unknown method");
}

}  // namespace eqinfo
