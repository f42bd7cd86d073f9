// GZip baseline: GzipSegmenter (zlib level 9 per document, gzip or raw
// framing) chunked into N-bit tokens by ChunkedTokenizer.
#pragma once

#include "eqinfo/gzip_segmenter.hpp"
#include "eqinfo/tokenizer.hpp"

namespace eqinfo {

class GzipTokenizer : public ChunkedTokenizer<GzipSegmenter, GzipFraming> {
 public:
  using Framing = GzipFraming;

  explicit GzipTokenizer(unsigned token_bits, Framing framing = Framing::kGzip)
      : ChunkedTokenizer<GzipSegmenter, GzipFraming>(framing, token_bits) {}

  [[nodiscard]] Framing framing() const noexcept { return source(); }
};

}  // namespace eqinfo
