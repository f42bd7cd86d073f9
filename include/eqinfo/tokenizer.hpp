// The tokenizers: model -> arithmetic coder -> segmenter -> bit-chunker.
//
//   EqualInfoTokenizer<Model, WindowBits, TokenBits>  Equal-Info windows (the method)
//   ArithmeticTokenizer<Model, TokenBits>             plain AC per document ("AC";
//                                                     with StaticModel, "StaticAC":
//                                                     static_ac_tokenizer.hpp)
// and, behind the same interface, the baselines in bytes_tokenizer.hpp and
// gzip_tokenizer.hpp.  Every tokenizer has
//   std::vector<Token> encode(std::string_view document) const;   // document + EOS
//   std::vector<Token> encode_documents(std::span<const std::string_view>, WindowStats* = nullptr) const;
//   std::vector<std::vector<Token>> encode_each(std::span<const std::string_view>, WindowStats* = nullptr) const;
//   DecodeResult decode(std::span<const Token>, DecodeLimits = {}) const;  // total, see decode_result.hpp
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
#include "eqinfo/segmenter.hpp"

namespace eqinfo {

// A segmenter plus N-bit chunking (BitChunker), N chosen at run time.  Owns
// the segmenter's source (its model; for GZip, its framing) and builds the
// segmenter from it for each call (cheap: a segmenter only points at it).
template <class Seg, class Source>
  requires SegmenterFrom<Seg, Source>
class ChunkedTokenizer {
 public:
  ChunkedTokenizer(Source source, unsigned token_bits, std::size_t decode_batch = 64)
      : source_(std::move(source)), chunker_(token_bits), decode_batch_(decode_batch) {
    (void)segmenter();  // reject settings the segmenter cannot serve, now rather than at first use
  }

  std::vector<Token> encode(std::string_view document, WindowStats* stats = nullptr) const {
    return encode_documents(std::span<const std::string_view>(&document, 1), stats);
  }
  // The documents as one stream: their bits back to back, then chunked (so a
  // token may hold the end of one document and the start of the next).
  std::vector<Token> encode_documents(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    BitVector bits;
    for (const auto& part : encode_bits(documents, stats)) bits.append(part);
    return chunker_.chunk(bits);
  }
  // Each document's tokens on their own (what encode(documents[i]) returns),
  // computed together: Equal-Info with M1 encodes them in lockstep.
  std::vector<std::vector<Token>> encode_each(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    std::vector<std::vector<Token>> tokens;
    tokens.reserve(documents.size());
    for (const auto& part : encode_bits(documents, stats)) tokens.push_back(chunker_.chunk(part));
    return tokens;
  }
  // Each document's bitstream, before chunking.
  std::vector<BitVector> encode_bits(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    std::vector<BitVector> bits(documents.size());
    segmenter().encode_documents(documents, std::span<BitVector>(bits), stats);
    return bits;
  }

  // Tokens -> bits -> documents, then the checks on what follows the last
  // document: set padding bits, and whole tokens no encoder would write.
  DecodeResult decode(std::span<const Token> tokens, DecodeLimits limits = {}) const {
    BitVector bits;
    const bool all_valid = chunker_.unchunk(tokens, bits) == tokens.size();
    return decode_bits(bits, all_valid, limits);
  }
  // The same, letting go of `tokens` once they are bits: a large token file
  // is then held once (as bits) while its documents grow.
  DecodeResult decode(std::vector<Token>&& tokens, DecodeLimits limits = {}) const {
    BitVector bits;
    const bool all_valid = chunker_.unchunk(tokens, bits) == tokens.size();
    std::vector<Token>().swap(tokens);
    return decode_bits(bits, all_valid, limits);
  }

  [[nodiscard]] const Source& source() const noexcept { return source_; }
  [[nodiscard]] const Source& model() const noexcept
    requires Model<Source>
  {
    return source_;
  }
  [[nodiscard]] unsigned token_bits() const noexcept { return chunker_.token_bits(); }
  [[nodiscard]] const BitChunker& chunker() const noexcept { return chunker_; }

 private:
  [[nodiscard]] Seg segmenter() const { return Seg::from_settings(source_, chunker_.token_bits(), decode_batch_); }

  DecodeResult decode_bits(const BitVector& bits, bool all_valid, DecodeLimits limits) const {
    DecodeResult result;
    result.output_limit = limits.max_output_bytes;
    if (!all_valid) result.issues |= kInvalidToken;
    const std::size_t consumed = segmenter().decode(bits, result);
    if (result.stopped_at_limit()) return result;  // what follows the limit was never read
    check_zero_padding(bits, consumed, bits.size(), result);
    if (bits.size() - consumed >= chunker_.token_bits()) result.issues |= kExtraTokens;
    return result;
  }

  Source source_;
  BitChunker chunker_;
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

// Plain AC per document ("AC"; with StaticModel, the paper's "StaticAC").
template <Model M, unsigned TokenBits = 16>
class ArithmeticTokenizer : public ChunkedTokenizer<NoWindowsSegmenter<M>, M> {
  static_assert(TokenBits >= 1 && TokenBits <= 16, "TokenBits must be in [1, 16]");

 public:
  static constexpr unsigned kTokenBits = TokenBits;
  using Segmenter = NoWindowsSegmenter<M>;

  explicit ArithmeticTokenizer(M model) : ChunkedTokenizer<Segmenter, M>(std::move(model), TokenBits) {}
};

}  // namespace eqinfo
