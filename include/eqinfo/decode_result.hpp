// What every tokenizer's decode() returns.  decode() is total: for any token
// sequence it returns the documents it could recover plus a set of issues,
// and never throws, crashes or loops without bound (docs/design.md, "Garbage
// in").  The issues say how far the input is from anything an encoder writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace eqinfo {

enum DecodeIssue : std::uint32_t {
  kDecodeOk = 0,
  // The stream ended inside a document: the last document has no EOS (or its
  // codeword runs past the end).  Its bytes so far are still returned.
  kUnterminatedDocument = 1u << 0,
  // Bits after the last complete window/document are not all zero.
  kNonzeroPadding = 1u << 1,
  // At least one whole token more than an encoder would have written.
  kExtraTokens = 1u << 2,
  // A token value does not fit in N bits (or is not a byte/EOS for Bytes);
  // decoding stopped before it.
  kInvalidToken = 1u << 3,
  // The method's own format is broken (a deflate error); decoding stopped.
  kCorruptStream = 1u << 4,
  // The documents reached DecodeLimits::max_output_bytes; decoding stopped
  // there (the documents hold what was decoded up to the limit).
  kOutputLimit = 1u << 5,
};

// Limits a decode runs under: a few kilobytes of tokens can ask for gigabytes
// of output (a gzip bomb, a model that is sure of every byte), so the caller
// says how much it will take (eqinfo-decode --max-output, docs/formats.md).
struct DecodeLimits {
  std::size_t max_output_bytes = std::numeric_limits<std::size_t>::max();
};

struct DecodeResult {
  std::vector<std::string> documents;
  std::uint32_t issues = kDecodeOk;
  std::size_t windows = 0;  // Equal-Info windows decoded (0 for other methods)
  std::size_t output_bytes = 0;  // bytes in `documents`
  std::size_t output_limit = std::numeric_limits<std::size_t>::max();  // DecodeLimits::max_output_bytes

  [[nodiscard]] bool ok() const noexcept { return issues == kDecodeOk; }

  // Whether the documents can take `pending` more bytes (those of the
  // document being decoded, the next one included); if not, flags
  // kOutputLimit and the decoder stops.
  [[nodiscard]] bool room_for(std::size_t pending) noexcept {
    if (pending <= output_limit - output_bytes) return true;
    issues |= kOutputLimit;
    return false;
  }
  [[nodiscard]] bool stopped_at_limit() const noexcept { return (issues & kOutputLimit) != 0; }

  // Appends a finished document. Its spare capacity is given back, so that a
  // decode's memory follows its output (a string grown byte by byte holds up
  // to twice its size).
  void add_document(std::string&& document) {
    output_bytes += document.size();
    document.shrink_to_fit();
    documents.push_back(std::move(document));
  }

  [[nodiscard]] std::string describe() const {
    if (ok()) return "ok";
    std::string s;
    const auto add = [&](std::uint32_t flag, const char* what) {
      if (issues & flag) s += (s.empty() ? "" : ", ") + std::string(what);
    };
    add(kUnterminatedDocument, "unterminated final document");
    add(kNonzeroPadding, "non-zero padding bits");
    add(kExtraTokens, "extra tokens after the last document");
    add(kInvalidToken, "token value out of range");
    add(kCorruptStream, "corrupt stream");
    add(kOutputLimit, "output limit reached (decoding stopped)");
    return s;
  }

  // All documents joined; convenient when a stream holds one document.
  [[nodiscard]] std::string joined() const {
    std::string all;
    for (const auto& d : documents) all += d;
    return all;
  }
};

}  // namespace eqinfo
