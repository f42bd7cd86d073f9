// The Segmenter policy: documents <-> one bitstream.  What every segmenter
// (Equal-Info windows, NoWindows, GZip) has in common: the concept, the
// window statistics an encoder reports, the coder's state width, and the
// check of the zero padding between documents.
//
//   seg.encode_document(doc, bits, &stats);        // appends doc's bits
//   seg.encode_documents(docs, outs, &stats);      // outs[i] gets docs[i]'s bits
//   std::size_t used = seg.decode(bits, result);   // documents from bits[0, used)
//
// decode is total: it never throws on bits, it reports what is wrong in
// result.issues (decode_result.hpp), and it returns how many bits the
// documents it found occupy; ChunkedTokenizer checks what lies beyond.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string_view>

#include "eqinfo/bit_vector.hpp"
#include "eqinfo/decode_result.hpp"

namespace eqinfo {

// Coder state bits Q of every segmenter (Q >= P + 2 and Q + P <= 63, see
// arithmetic_coder.hpp): 32 leaves room for P up to 16.
inline constexpr unsigned kDefaultStateBits = 32;

// What an encoder reports about the windows it closed (all zero for
// segmenters without windows, except `symbols`).
struct WindowStats {
  std::size_t windows = 0;
  std::size_t symbols = 0;           // symbols placed in windows (bytes + EOS)
  std::size_t greedy_symbols = 0;    // what greedy filling (K per window) would have placed
  std::size_t fallback_windows = 0;  // windows closed below K

  WindowStats& operator+=(const WindowStats& o) {
    windows += o.windows;
    symbols += o.symbols;
    greedy_symbols += o.greedy_symbols;
    fallback_windows += o.fallback_windows;
    return *this;
  }
  friend bool operator==(const WindowStats&, const WindowStats&) = default;
};

template <class S>
concept Segmenter = requires(const S& seg, std::string_view document, std::span<const std::string_view> documents,
                             std::span<BitVector> outs, BitVector& out, const BitVector& bits, DecodeResult& result,
                             WindowStats* stats) {
  { seg.encode_document(document, out, stats) };
  { seg.encode_documents(documents, outs, stats) };
  { seg.decode(bits, result) } -> std::same_as<std::size_t>;
};

// A segmenter that ChunkedTokenizer can build, per call, from what it owns
// (`Source`: the model, or for GZip its framing), the token size N and the
// decode batch.  Segmenters are cheap views: they point at the source.
template <class S, class Source>
concept SegmenterFrom = Segmenter<S> && requires(const Source& source, unsigned token_bits, std::size_t decode_batch) {
  { S::from_settings(source, token_bits, decode_batch) } -> std::same_as<S>;
};

// encode_documents for segmenters whose documents are independent and that
// gain nothing from seeing several at once: one encode_document each.
template <class S>
void encode_each_document(const S& seg, std::span<const std::string_view> documents, std::span<BitVector> outs, WindowStats* stats) {
  if (outs.size() != documents.size()) throw std::invalid_argument("encode_documents: one output per document");
  for (std::size_t i = 0; i < documents.size(); ++i) seg.encode_document(documents[i], outs[i], stats);
}

// Segmenters that end each document on an `alignment`-bit boundary (the
// token size) pad with zeros: a set bit in [from, to) is flagged, since no
// encoder writes it.
inline void check_zero_padding(const BitVector& bits, std::size_t from, std::size_t to, DecodeResult& result) {
  for (std::size_t i = from; i < to && i < bits.size(); ++i)
    if (bits[i]) {
      result.issues |= kNonzeroPadding;
      return;
    }
}

}  // namespace eqinfo
