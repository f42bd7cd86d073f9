// GZip baseline: each document deflated by zlib at level 9, its bytes
// chunked into N-bit tokens.  Framing::kGzip keeps the gzip header and
// CRC/length footer (18 bytes per document); Framing::kRaw is the bare
// deflate stream.  Deflate streams end themselves, so no EOS is needed; each
// document is zero-padded to a token boundary, as in NoWindowsSegmenter.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/bit_chunker.hpp"
#include "eqinfo/decode_result.hpp"
#include "eqinfo/symbols.hpp"

namespace eqinfo {

class GzipTokenizer {
 public:
  enum class Framing { kRaw, kGzip };

  explicit GzipTokenizer(unsigned token_bits, Framing framing = Framing::kGzip)
      : token_bits_(token_bits), framing_(framing) {
    check_token_bits(token_bits);
  }

  [[nodiscard]] unsigned token_bits() const noexcept { return token_bits_; }
  [[nodiscard]] Framing framing() const noexcept { return framing_; }

  std::vector<Token> encode(std::string_view document) const {
    return encode_documents(std::span<const std::string_view>(&document, 1));
  }
  std::vector<Token> encode_documents(std::span<const std::string_view> documents) const {
    BitVector bits;
    for (auto d : documents) {
      for (unsigned char byte : deflate(d)) bits.append_bits(byte, 8);
      while (bits.size() % token_bits_) bits.push_back(false);
    }
    return chunk_bits(bits, token_bits_);
  }

  DecodeResult decode(std::span<const Token> tokens) const {
    DecodeResult result;
    BitVector bits;
    if (unchunk_tokens(tokens, token_bits_, bits) < tokens.size()) result.issues |= kInvalidToken;
    std::size_t pos = 0;
    while (pos < bits.size()) {
      std::string document;
      const auto [status, consumed] = inflate(bits, pos, document);
      result.documents.push_back(std::move(document));
      if (status != Z_STREAM_END) {
        result.issues |= (status == Z_BUF_ERROR ? kUnterminatedDocument : kCorruptStream);
        return result;
      }
      pos += (8 * consumed + token_bits_ - 1) / token_bits_ * token_bits_;
    }
    // Every document is padded to a whole token, so nothing can be left over.
    return result;
  }

 private:
  [[nodiscard]] int window_bits() const noexcept { return framing_ == Framing::kGzip ? 15 + 16 : -15; }

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
  // consumed.
  std::pair<int, std::size_t> inflate(const BitVector& bits, std::size_t pos, std::string& out) const {
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
      out.append(reinterpret_cast<char*>(buf), sizeof buf - zs.avail_out);
    }
    const std::size_t consumed = zs.total_in;
    inflateEnd(&zs);
    return {rc, consumed};
  }

  unsigned token_bits_;
  Framing framing_;
};

}  // namespace eqinfo
