// The GZip baseline's segmenter: each document deflated by zlib at level 9,
// its bytes as bits, zero-padded to the token size so that every document
// starts on a token boundary (as in NoWindowsSegmenter).  Framing::kGzip
// keeps the gzip header and CRC/length footer (18 bytes per document);
// Framing::kRaw is the bare deflate stream.  Deflate streams end themselves,
// so no EOS is needed.  As a segmenter inside ChunkedTokenizer it gets the
// same token and padding checks as the arithmetic-coded methods.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eqinfo/bit_vector.hpp"
#include "eqinfo/decode_result.hpp"
#include "eqinfo/segmenter.hpp"

namespace eqinfo {

enum class GzipFraming { kRaw, kGzip };

class GzipSegmenter {
 public:
  GzipSegmenter(GzipFraming framing, std::size_t alignment_bits) : framing_(framing), alignment_(alignment_bits == 0 ? 1 : alignment_bits) {}

  // For ChunkedTokenizer, whose source is the framing: documents are aligned to tokens.
  static GzipSegmenter from_settings(const GzipFraming& framing, unsigned token_bits, std::size_t /*decode_batch*/) {
    return GzipSegmenter(framing, token_bits);
  }

  void encode_document(std::string_view document, BitVector& out, WindowStats* /*stats: no windows, no symbols*/ = nullptr) const {
    for (unsigned char byte : deflate(document)) out.append_bits(byte, 8);
    while (out.size() % alignment_) out.push_back(false);
  }
  void encode_documents(std::span<const std::string_view> docs, std::span<BitVector> outs, WindowStats* stats = nullptr) const {
    encode_each_document(*this, docs, outs, stats);
  }

  // Inflates documents from bits[0, size) until the bits run out; returns the
  // bits consumed (all of them when a stream is broken or cut short).
  std::size_t decode(const BitVector& bits, DecodeResult& result) const {
    std::size_t pos = 0;
    while (pos < bits.size()) {
      std::string document;
      const auto [status, consumed] = inflate(bits, pos, document, result);
      result.add_document(std::move(document));
      if (result.stopped_at_limit()) return bits.size();
      if (status != Z_STREAM_END) {
        result.issues |= (status == Z_BUF_ERROR ? kUnterminatedDocument : kCorruptStream);
        return bits.size();
      }
      const std::size_t end = pos + 8 * consumed;
      pos = std::min(pos + (8 * consumed + alignment_ - 1) / alignment_ * alignment_, bits.size());
      check_zero_padding(bits, end, pos, result);
    }
    return pos;
  }

  [[nodiscard]] GzipFraming framing() const noexcept { return framing_; }

 private:
  [[nodiscard]] int window_bits() const noexcept { return framing_ == GzipFraming::kGzip ? 15 + 16 : -15; }

  std::vector<unsigned char> deflate(std::string_view text) const {
    z_stream zs{};
    if (deflateInit2(&zs, 9, Z_DEFLATED, window_bits(), 9, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("zlib deflateInit2 failed");
    std::vector<unsigned char> out(deflateBound(&zs, static_cast<uLong>(text.size())));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = ::deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("zlib deflate failed");
    out.resize(zs.total_out);
    return out;
  }

  // Inflates one stream whose first byte starts at bit `pos` (documents start
  // on token boundaries, which need not be byte boundaries), feeding zlib a
  // slice at a time.  Returns zlib's final status (Z_STREAM_END when the
  // stream ended; Z_BUF_ERROR when the input ran out first) and the bytes it
  // consumed. Stops, cutting `out` at the limit, once it would pass
  // `result`'s output limit: deflate expands up to ~1,032x, so a 1 MB token
  // file could ask for a gigabyte.
  std::pair<int, std::size_t> inflate(const BitVector& bits, std::size_t pos, std::string& out, DecodeResult& result) const {
    z_stream zs{};
    if (inflateInit2(&zs, window_bits()) != Z_OK) throw std::runtime_error("zlib inflateInit2 failed");
    const std::size_t total_bytes = (bits.size() - pos) / 8;
    std::vector<unsigned char> in;
    std::size_t fed = 0;
    unsigned char buf[1 << 14];
    int rc = Z_OK;
    while (rc == Z_OK) {
      // With the input used up, inflate is still called: output it could not
      // fit last time may be pending.  It returns Z_BUF_ERROR once it can make
      // no progress without more input.
      if (zs.avail_in == 0 && fed < total_bytes) {
        in.resize(std::min<std::size_t>(4096, total_bytes - fed));
        for (auto& byte : in) byte = static_cast<unsigned char>(bits.read_bits(pos + 8 * fed++, 8));
        zs.next_in = in.data();
        zs.avail_in = static_cast<uInt>(in.size());
      }
      zs.next_out = buf;
      zs.avail_out = sizeof buf;
      rc = ::inflate(&zs, Z_NO_FLUSH);
      const std::size_t produced = sizeof buf - zs.avail_out;
      if (!result.room_for(out.size() + produced)) {
        out.append(reinterpret_cast<char*>(buf), result.output_limit - result.output_bytes - out.size());
        break;
      }
      out.append(reinterpret_cast<char*>(buf), produced);
    }
    const std::size_t consumed = zs.total_in;
    inflateEnd(&zs);
    return {rc, consumed};
  }

  GzipFraming framing_;
  std::size_t alignment_;
};

}  // namespace eqinfo
