// What every tokenizer's decode() returns.  decode() is total: for any token
// sequence it returns the documents it could recover plus a set of issues,
// and never throws, crashes or loops without bound (docs/design.md, "Garbage
// in").  The issues say how far the input is from anything an encoder writes.
#pragma once

#include <cstddef>
#include <cstdint>
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
};

struct DecodeResult {
  std::vector<std::string> documents;
  std::uint32_t issues = kDecodeOk;
  std::size_t windows = 0;  // Equal-Info windows decoded (0 for other methods)

  [[nodiscard]] bool ok() const noexcept { return issues == kDecodeOk; }

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
