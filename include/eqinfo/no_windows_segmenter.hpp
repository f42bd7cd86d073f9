// NoWindows: plain arithmetic coding of each whole document (its bytes then
// EOS) with one model context, ended by the shortest codeword that identifies
// its final interval (exact bit accounting).  This is the paper's "AC"
// method, and with a StaticModel its "StaticAC".
//
// Each document's codeword is zero-padded to a multiple of `alignment_bits`
// (the token size), so every document starts on a token boundary.  That keeps
// multi-document streams unambiguous: a decoder knows where each document
// ends (it recomputes the termination length) and where the next one starts,
// and trailing padding can never be mistaken for a short document.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "eqinfo/arithmetic_coder.hpp"
#include "eqinfo/decode_result.hpp"
#include "eqinfo/model.hpp"
#include "eqinfo/segmenter.hpp"

namespace eqinfo {

template <Model M, unsigned StateBits = kDefaultStateBits>
class NoWindowsSegmenter {
 public:
  static constexpr unsigned kFrequencyBits = M::kFrequencyBits;
  using Encoder = ArithmeticEncoder<StateBits, kFrequencyBits>;
  using Decoder = ArithmeticDecoder<StateBits, kFrequencyBits>;

  NoWindowsSegmenter(const M& model, std::size_t alignment_bits)
      : model_(&model), alignment_(alignment_bits == 0 ? 1 : alignment_bits) {}

  // For ChunkedTokenizer: documents are aligned to tokens.
  static NoWindowsSegmenter from_settings(const M& model, unsigned token_bits, std::size_t /*decode_batch*/) {
    return NoWindowsSegmenter(model, token_bits);
  }

  void encode_document(std::string_view document, BitVector& out, WindowStats* stats = nullptr) const {
    auto ctx = model_->new_context();
    model_->reset(ctx);
    Encoder encoder;
    for (unsigned char c : document) {
      encoder.encode(model_->predict(ctx), c);
      model_->advance(ctx, c);
    }
    encoder.encode(model_->predict(ctx), kEos);
    const BitVector word = encoder.terminate();
    out.append(word);
    pad(out);
    if (stats) stats->symbols += document.size() + 1;
  }

  // Documents are coded independently and one model context at a time.
  void encode_documents(std::span<const std::string_view> docs, std::span<BitVector> outs, WindowStats* stats = nullptr) const {
    encode_each_document(*this, docs, outs, stats);
  }

  // Decodes documents from bits[0, size) until the bits run out; returns the
  // bits consumed (all of them when the last document is unterminated).
  std::size_t decode(const BitVector& bits, DecodeResult& result) const {
    std::size_t pos = 0;
    auto ctx = model_->new_context();
    while (pos < bits.size()) {
      const std::size_t available = bits.size() - pos;
      model_->reset(ctx);
      Decoder decoder;
      decoder.reset({&bits, pos, bits.size(), false});
      Encoder mirror;  // replays the encoder to learn where the codeword ends
      std::string document;
      bool terminated = false;
      // The encoder has emitted >= decoder.shifted_bits() bits by now, so once
      // that exceeds what is left the document cannot end inside the stream.
      while (mirror.emitted_bits() <= available) {
        const auto& table = model_->predict(ctx);
        const Symbol s = decoder.decode(table);
        mirror.encode(table, s);
        if (s == kEos) {
          terminated = mirror.termination_bits() <= available;
          break;
        }
        if (!result.room_for(document.size() + 1)) break;
        document.push_back(static_cast<char>(s));
        model_->advance(ctx, s);
      }
      result.add_document(std::move(document));
      if (result.stopped_at_limit()) return bits.size();
      if (!terminated) {
        result.issues |= kUnterminatedDocument;
        return bits.size();  // the broken document owns the rest of the stream
      }
      const std::size_t end = pos + mirror.termination_bits();
      pos = std::min(pos + round_up(mirror.termination_bits()), bits.size());  // the padding itself may be cut short
      check_zero_padding(bits, end, pos, result);
    }
    return pos;
  }

  [[nodiscard]] std::size_t alignment_bits() const noexcept { return alignment_; }

 private:
  [[nodiscard]] std::size_t round_up(std::size_t n) const noexcept { return (n + alignment_ - 1) / alignment_ * alignment_; }
  void pad(BitVector& out) const {
    while (out.size() % alignment_) out.push_back(false);
  }

  const M* model_;
  std::size_t alignment_;
};

}  // namespace eqinfo
