// The tokenizers: model -> arithmetic coder -> segmenter -> bit-chunker.
//
//   EqualInfoTokenizer<Model, WindowBits, TokenBits>  Equal-Info windows (the method)
//   ArithmeticTokenizer<Model, TokenBits>             plain AC per document ("AC";
//                                                     with StaticModel, "StaticAC")
// and, behind the same interface, the baselines in bytes_tokenizer.hpp and
// gzip_tokenizer.hpp.  Every tokenizer has
//   std::vector<Token> encode(std::string_view document) const;   // document + EOS
//   std::vector<Token> encode_documents(std::span<const std::string>) const;
//   DecodeResult decode(std::span<const Token>) const;             // total, see decode_result.hpp
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eqinfo/bit_chunker.hpp"
#include "eqinfo/decode_result.hpp"
#include "eqinfo/equal_info_segmenter.hpp"
#include "eqinfo/model.hpp"
#include "eqinfo/no_windows_segmenter.hpp"
#include "eqinfo/static_model.hpp"
#include "eqinfo/uniform_model.hpp"

namespace eqinfo {

namespace detail {

template <class Segmenter>
std::vector<Token> encode_documents(const Segmenter& segmenter, std::span<const std::string_view> documents,
                                    unsigned token_bits, WindowStats* stats) {
  BitVector bits;
  if constexpr (requires(std::span<BitVector> outs) { segmenter.encode_documents(documents, outs, stats); }) {
    // Many documents at once (Equal-Info with M1: in lockstep, one model call
    // for the current windows of many documents); the same bits as one by one.
    if (documents.size() > 1) {
      std::vector<BitVector> parts(documents.size());
      segmenter.encode_documents(documents, std::span<BitVector>(parts), stats);
      for (const auto& p : parts) bits.append(p);
      return chunk_bits(bits, token_bits);
    }
  }
  for (auto d : documents) segmenter.encode_document(d, bits, stats);
  return chunk_bits(bits, token_bits);
}

// Shared by every bit-level method: tokens -> bits -> documents, then the
// checks on what follows the last document.
template <class Segmenter>
DecodeResult decode_tokens(const Segmenter& segmenter, std::span<const Token> tokens, unsigned token_bits) {
  DecodeResult result;
  BitVector bits;
  if (unchunk_tokens(tokens, token_bits, bits) < tokens.size()) result.issues |= kInvalidToken;
  const std::size_t consumed = segmenter.decode(bits, result);
  bool nonzero = false;
  for (std::size_t i = consumed; i < bits.size(); ++i) nonzero |= bits[i];
  if (nonzero) result.issues |= kNonzeroPadding;
  if (bits.size() - consumed >= token_bits) result.issues |= kExtraTokens;
  return result;
}

}  // namespace detail

// A segmenter plus N-bit chunking, N chosen at run time; owns its model.
// Segmenter::from_settings(model, token_bits, decode_batch) builds the
// segmenter for each call (cheap: it only points at the model).
template <class Segmenter, Model M>
class ChunkedTokenizer {
 public:
  ChunkedTokenizer(M model, unsigned token_bits, std::size_t decode_batch = 64)
      : model_(std::move(model)), token_bits_(token_bits), decode_batch_(decode_batch) {
    check_token_bits(token_bits);
    (void)segmenter();  // reject settings the segmenter cannot serve, now rather than at first use
  }

  std::vector<Token> encode(std::string_view document, WindowStats* stats = nullptr) const {
    return encode_documents(std::span<const std::string_view>(&document, 1), stats);
  }
  std::vector<Token> encode_documents(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    return detail::encode_documents(segmenter(), documents, token_bits_, stats);
  }
  // Each document's tokens on their own (what encode(documents[i]) returns),
  // computed together: Equal-Info with M1 encodes them in lockstep.
  std::vector<std::vector<Token>> encode_each(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    std::vector<std::vector<Token>> tokens(documents.size());
    const Segmenter seg = segmenter();
    if constexpr (requires(std::span<BitVector> outs) { seg.encode_documents(documents, outs, stats); }) {
      std::vector<BitVector> bits(documents.size());
      seg.encode_documents(documents, std::span<BitVector>(bits), stats);
      for (std::size_t i = 0; i < documents.size(); ++i) tokens[i] = chunk_bits(bits[i], token_bits_);
    } else {
      for (std::size_t i = 0; i < documents.size(); ++i) tokens[i] = encode(documents[i], stats);
    }
    return tokens;
  }
  DecodeResult decode(std::span<const Token> tokens) const { return detail::decode_tokens(segmenter(), tokens, token_bits_); }
  [[nodiscard]] const M& model() const noexcept { return model_; }
  [[nodiscard]] unsigned token_bits() const noexcept { return token_bits_; }

 private:
  [[nodiscard]] Segmenter segmenter() const { return Segmenter::from_settings(model_, token_bits_, decode_batch_); }

  M model_;
  unsigned token_bits_;
  std::size_t decode_batch_;
};

template <Model M, unsigned WindowBits, unsigned TokenBits = 16>
class EqualInfoTokenizer : public ChunkedTokenizer<EqualInfoSegmenter<M, WindowBits>, M> {
  static_assert(TokenBits >= 1 && TokenBits <= 16, "TokenBits must be in [1, 16]");
  // Padding is < N bits; with N <= b it can never hold a whole window, so the
  // window count is floor(bits / b) without ambiguity.
  static_assert(TokenBits <= WindowBits, "TokenBits must not exceed WindowBits");

 public:
  static constexpr unsigned kWindowBits = WindowBits;
  static constexpr unsigned kTokenBits = TokenBits;
  using Segmenter = EqualInfoSegmenter<M, WindowBits>;

  explicit EqualInfoTokenizer(M model, std::size_t decode_batch = 64)
      : ChunkedTokenizer<Segmenter, M>(std::move(model), TokenBits, decode_batch) {}
};

template <Model M, unsigned TokenBits = 16>
class ArithmeticTokenizer : public ChunkedTokenizer<NoWindowsSegmenter<M>, M> {
  static_assert(TokenBits >= 1 && TokenBits <= 16, "TokenBits must be in [1, 16]");

 public:
  static constexpr unsigned kTokenBits = TokenBits;
  using Segmenter = NoWindowsSegmenter<M>;

  explicit ArithmeticTokenizer(M model) : ChunkedTokenizer<Segmenter, M>(std::move(model), TokenBits) {}
};

// The paper's StaticAC: plain AC driven by an order-0 byte model.
template <unsigned FrequencyBits = 14, unsigned TokenBits = 16>
using StaticAcTokenizer = ArithmeticTokenizer<StaticModel<FrequencyBits>, TokenBits>;

}  // namespace eqinfo
