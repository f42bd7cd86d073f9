// AnyTokenizer: one run-time interface over every compile-time tokenizer,
// for the tools and the binding (make_tokenizer in tokenizer_factory.hpp
// builds them).  It also owns the document-parallel encode and decode, so
// the CLI and the binding share one scheduler.
//
//   tok->encode(text)                        // one document
//   tok->encode_documents(docs[, threads])   // one stream (a token file's body)
//   tok->encode_each(docs, threads)          // each document's own tokens, documents on threads
//   tok->encode_bits(docs[, threads])        // each document's bitstream, before chunking
//   tok->decode(tokens), tok->decode_each(streams, threads)
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eqinfo/bit_chunker.hpp"
#include "eqinfo/bit_vector.hpp"
#include "eqinfo/bytes_tokenizer.hpp"
#include "eqinfo/decode_result.hpp"
#include "eqinfo/method.hpp"
#include "eqinfo/parallel_map.hpp"
#include "eqinfo/segmenter.hpp"
#include "eqinfo/token_file.hpp"

namespace eqinfo {

class AnyTokenizer {
  using Documents = std::span<const std::string_view>;

  // fn(group, stats) for groups of consecutive documents on `threads`
  // threads; the per-document results in document order, the stats summed.
  template <class F>
  auto in_groups(std::span<const std::string_view> documents, std::size_t threads, WindowStats* stats, F&& fn) const {
    check_threads(threads);
    using Results = decltype(fn(documents, stats));
    struct Part {
      Results results;
      WindowStats stats;
    };
    const std::size_t group = document_group_size(documents.size(), threads);
    const std::size_t groups = (documents.size() + group - 1) / group;
    auto parts = parallel_map<Part>(groups, threads, [&](std::size_t g) {
      Part p;
      const std::size_t begin = g * group, end = std::min(documents.size(), begin + group);
      p.results = fn(documents.subspan(begin, end - begin), &p.stats);
      return p;
    });
    Results all;
    all.reserve(documents.size());
    for (auto& p : parts) {
      for (auto& r : p.results) all.push_back(std::move(r));
      if (stats) *stats += p.stats;
    }
    return all;
  }

 public:
  virtual ~AnyTokenizer() = default;

  std::vector<Token> encode(std::string_view document, WindowStats* stats = nullptr) const {
    return encode_documents(std::span<const std::string_view>(&document, 1), stats);
  }
  std::vector<Token> encode_documents(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    return do_encode_documents(documents, stats);
  }
  // Each document's tokens on their own: element i == encode(documents[i]).
  // Equal-Info with M1 computes them in lockstep (one model call for the
  // current windows of many documents).
  std::vector<std::vector<Token>> encode_each(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    return do_encode_each(documents, stats);
  }
  // The same, with the documents spread over `threads` threads: groups of
  // consecutive documents are handed out one at a time (document_group_size),
  // and each group is encoded with encode_each.  Every document's tokens are
  // those of encode(document) whatever the grouping, and the statistics are
  // sums, so nothing depends on the thread count.
  std::vector<std::vector<Token>> encode_each(std::span<const std::string_view> documents, std::size_t threads,
                                              WindowStats* stats = nullptr) const {
    return in_groups(documents, threads, stats, [&](Documents group, WindowStats* s) { return encode_each(group, s); });
  }
  // encode_documents(documents) with the documents spread over `threads`
  // threads: each document's bits are computed apart (encode_bits), then
  // joined and chunked, so a token may still span two documents.
  std::vector<Token> encode_documents(std::span<const std::string_view> documents, std::size_t threads,
                                      WindowStats* stats = nullptr) const {
    if (threads == 1 || documents.size() <= 1) return encode_documents(documents, stats);
    std::vector<Token> tokens;
    if (static_cast<Method>(header().method) == Method::kBytes) {
      for (const auto& t : encode_each(documents, threads, stats)) tokens.insert(tokens.end(), t.begin(), t.end());
      return tokens;
    }
    BitVector bits;
    for (const auto& b : encode_bits(documents, threads, stats)) bits.append(b);
    return chunk_bits(bits, header().token_bits);
  }
  // Each document's bitstream before chunking (the segmenter's output).
  // Bytes is not bit-level: std::invalid_argument.
  std::vector<BitVector> encode_bits(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    return do_encode_bits(documents, stats);
  }
  std::vector<BitVector> encode_bits(std::span<const std::string_view> documents, std::size_t threads, WindowStats* stats = nullptr) const {
    return in_groups(documents, threads, stats, [&](Documents group, WindowStats* s) { return encode_bits(group, s); });
  }

  DecodeResult decode(std::span<const Token> tokens, DecodeLimits limits = {}) const { return do_decode(tokens, limits); }
  // The same, letting go of `tokens` as soon as they are no longer needed
  // (eqinfo-decode: a token file is held once while its documents grow).
  DecodeResult decode(std::vector<Token>&& tokens, DecodeLimits limits = {}) const { return do_decode_owned(std::move(tokens), limits); }
  // decode of each stream, the streams spread over `threads` threads.
  std::vector<DecodeResult> decode_each(std::span<const std::vector<Token>> streams, std::size_t threads) const {
    check_threads(threads);
    return parallel_map<DecodeResult>(streams.size(), threads,
                                      [&](std::size_t i) { return decode(std::span<const Token>(streams[i])); });
  }

  // The header a token file written by this tokenizer carries.
  [[nodiscard]] virtual TokenFileHeader header() const = 0;

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
    if (file.fingerprint != mine.fingerprint) {
      char both[80];
      std::snprintf(both, sizeof both, "model fingerprint is %016llx in the file but %016llx here",
                    static_cast<unsigned long long>(file.fingerprint), static_cast<unsigned long long>(mine.fingerprint));
      return std::string(both) + ": decode with the model used to encode";
    }
    return "";
  }

  static void check_threads(std::size_t threads) {
    if (threads < 1 || threads > 256) throw std::invalid_argument("threads must be in [1, 256], got " + std::to_string(threads));
  }
  // Documents per group of the threaded encode: about 4 groups per thread,
  // so that long documents do not leave threads idle at the end, and at most
  // 32 (two lockstep batches of M1's 16 lanes: more buys no speed).
  static std::size_t document_group_size(std::size_t documents, std::size_t threads) {
    return std::clamp<std::size_t>((documents + 4 * threads - 1) / (4 * threads), 1, 32);
  }

 private:
  virtual std::vector<Token> do_encode_documents(std::span<const std::string_view> documents, WindowStats* stats) const = 0;
  virtual std::vector<std::vector<Token>> do_encode_each(std::span<const std::string_view> documents, WindowStats* stats) const = 0;
  virtual std::vector<BitVector> do_encode_bits(std::span<const std::string_view> documents, WindowStats* stats) const = 0;
  virtual DecodeResult do_decode(std::span<const Token> tokens, DecodeLimits limits) const = 0;
  virtual DecodeResult do_decode_owned(std::vector<Token>&& tokens, DecodeLimits limits) const = 0;
};

// Tokenizers whose tokens are a chunked bitstream (all but Bytes).
template <class Tok>
concept BitTokenizer = requires(const Tok& tok, std::span<const std::string_view> documents, WindowStats* stats) {
  { tok.encode_bits(documents, stats) } -> std::same_as<std::vector<BitVector>>;
};

namespace detail {

template <class Tok>
class AnyTokenizerOf final : public AnyTokenizer {
 public:
  AnyTokenizerOf(Tok tokenizer, TokenFileHeader header) : tokenizer_(std::move(tokenizer)), header_(header) {}
  TokenFileHeader header() const override { return header_; }

 private:
  std::vector<Token> do_encode_documents(std::span<const std::string_view> documents, WindowStats* stats) const override {
    return tokenizer_.encode_documents(documents, stats);
  }
  std::vector<std::vector<Token>> do_encode_each(std::span<const std::string_view> documents, WindowStats* stats) const override {
    return tokenizer_.encode_each(documents, stats);
  }
  std::vector<BitVector> do_encode_bits(std::span<const std::string_view> documents, WindowStats* stats) const override {
    if constexpr (BitTokenizer<Tok>)
      return tokenizer_.encode_bits(documents, stats);
    else
      throw std::invalid_argument("method '" + std::string(method_name(static_cast<Method>(header_.method))) +
                                  "' has no bitstream: its tokens are not chunked bits");
  }
  DecodeResult do_decode(std::span<const Token> tokens, DecodeLimits limits) const override { return tokenizer_.decode(tokens, limits); }
  DecodeResult do_decode_owned(std::vector<Token>&& tokens, DecodeLimits limits) const override {
    if constexpr (BitTokenizer<Tok>) {
      return tokenizer_.decode(std::move(tokens), limits);
    } else {  // Bytes decodes its tokens in place
      DecodeResult result = tokenizer_.decode(std::span<const Token>(tokens), limits);
      std::vector<Token>().swap(tokens);
      return result;
    }
  }

  Tok tokenizer_;
  TokenFileHeader header_;
};

}  // namespace detail

template <class Tok>
std::unique_ptr<AnyTokenizer> make_any_tokenizer(Tok tokenizer, TokenFileHeader header) {
  return std::make_unique<detail::AnyTokenizerOf<Tok>>(std::move(tokenizer), header);
}

}  // namespace eqinfo
